/* Calls to a gRPC server. Two layers:
 * - hd_client: a channel and plain unary calls with a deadline and a bearer token (tests, tools,
 *   the benchmark);
 * - hd_peer: how one service calls another. It carries the service's own `service` token for the
 *   tenant it acts for, the caller's deadline (less a margin) and request id, retries what is
 *   safe to retry, maps the peer's status to ours in one table, and counts every attempt in
 *   helpdesk_peer_requests_total{peer,method,code}. */
#ifndef HD_RPC_CLIENT_H
#define HD_RPC_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "auth/auth.h"
#include "clock/clock.h"
#include "core/arena.h"
#include "core/err.h"
#include "metrics/metrics.h"
#include "rpc/server.h"

typedef struct hd_client hd_client;

typedef struct hd_client_config {
  const char *target;         /* "127.0.0.1:50051" */
  const char *tls_ca_file;    /* NULL → plaintext */
  const char *tls_cert_file;  /* with TLS: the client certificate shown to a server asking for */
  const char *tls_key_file;   /* one (mTLS), and its key; NULL → none. Read when made */
  int64_t default_timeout_us; /* per-call deadline when the call gives none; default 5s */
  int64_t max_message_bytes;  /* default 16 MiB */
  int reconnect_max_ms;       /* 0 → gRPC's reconnect back-off; else 100 ms first, this at most */
} hd_client_config;

/* Creates a channel (grpc_init is called here). Caller frees with hd_client_destroy(). */
int hd_client_new(const hd_client_config *cfg, hd_client **out, hd_err *err);
void hd_client_destroy(hd_client *c);

/* Calls method ("/pkg.Service/Method") with req; on OK unpacks the reply into *resp using the
 * arena (lives as long as the arena). token may be NULL (no authorization header).
 * timeout_us 0 → the default. On a non-OK status returns -1 with err = the status code and the
 * server's message, and its details when it sent google.rpc.Status. Thread-safe: several threads
 * may call on one client. */
int hd_client_call(hd_client *c, const char *method, const char *token, int64_t timeout_us,
                   const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                   hd_arena *arena, ProtobufCMessage **resp, hd_err *err);

/* Same, with raw request bytes (for tests that send garbage). The reply is returned raw:
 * *resp_bytes in the arena. */
int hd_client_call_raw(hd_client *c, const char *method, const char *token, int64_t timeout_us,
                       const void *req, size_t req_len, hd_arena *arena, void **resp_bytes,
                       size_t *resp_len, hd_err *err);

/* ---- server-streaming calls (client_stream.c) ---- */

typedef struct hd_client_stream hd_client_stream;

/* Opens the server-streaming method ("/helpdesk.v1.TicketService/WatchTickets") on c as token
 * (NULL: no authorization header), sends req and closes the client's side. timeout_us 0: no
 * deadline (the stream runs until the server ends it or the caller cancels). Opening does not
 * wait for the server: a refusal comes as the stream's end (hd_client_stream_finish). *out owned
 * by the caller: hd_client_stream_free. INTERNAL when the call cannot start. One thread at a
 * time uses a stream; several streams may share c. */
int hd_client_stream_open(hd_client *c, const char *method, const char *token, int64_t timeout_us,
                          const ProtobufCMessage *req, hd_client_stream **out, hd_err *err);

/* What hd_client_stream_read found. */
typedef enum hd_client_stream_got {
  HD_CLIENT_STREAM_MESSAGE, /* *msg is the next message */
  HD_CLIENT_STREAM_WAITING, /* none came within wait_ms; the read goes on: call again */
  HD_CLIENT_STREAM_ENDED    /* the server ended the stream: hd_client_stream_finish says how */
} hd_client_stream_got;

/* Waits up to wait_ms (< 0: without end) for the next message, unpacked as desc into arena (it
 * lives as long as the arena). 0 with *what, or -1 with err when a message does not unpack as
 * desc or does not fit the arena (the stream is then of no further use: cancel and free it). */
int hd_client_stream_read(hd_client_stream *s, const ProtobufCMessageDescriptor *desc,
                          int64_t wait_ms, hd_arena *arena, ProtobufCMessage **msg,
                          hd_client_stream_got *what, hd_err *err);

/* The status the stream ended with, waited for up to wait_ms (< 0: without end): 0 for OK, else
 * -1 with err = the status code, the server's message and its details (as hd_client_call);
 * CANCELLED after hd_client_stream_cancel. When wait_ms passed first: -1, DEADLINE_EXCEEDED and
 * *waiting true (the stream goes on; waiting may be NULL), so that it is not taken for a server's
 * own DEADLINE_EXCEEDED, which leaves *waiting false. */
int hd_client_stream_finish(hd_client_stream *s, int64_t wait_ms, bool *waiting, hd_err *err);

/* Cancels the call, as a client that goes away; reads and finish then end. */
void hd_client_stream_cancel(hd_client_stream *s);

/* Cancels the call if it still runs and frees it. NULL is a no-op. */
void hd_client_stream_free(hd_client_stream *s);

/* ---- calls between services ---- */

typedef struct hd_peer hd_peer;

#define HD_PEER_NAME_MAX         32      /* "tickets": [a-z_], the env variable's middle */
#define HD_PEER_TIMEOUT_DEFAULT  5000000 /* the longest deadline of a call to a peer, in us */
#define HD_PEER_ATTEMPTS_DEFAULT 3       /* attempts of one call, the first included */
#define HD_PEER_ATTEMPTS_MAX     10
#define HD_PEER_MARGIN_MAX_US    50000 /* kept back from the caller's time: a tenth, at most this */
#define HD_PEER_MIN_ATTEMPT_US   2000  /* no attempt starts with less time than this left */
#define HD_PEER_BACKOFF_BASE_US  25000 /* back-off before attempt n+1: base·2^(n-1), ... */
#define HD_PEER_BACKOFF_MAX_US   1000000 /* ... at most this, jittered to [half, whole] */
#define HD_PEER_RETRY_AFTER_MS   1000    /* RetryInfo of our UNAVAILABLE when a peer is down */

typedef struct hd_peer_config {
  const char *name;           /* the peer service, "tickets": in messages and metrics */
  const char *target;         /* "host:port" */
  const char *tls_ca_file;    /* PEM the peer's certificate is checked with; NULL plaintext */
  const char *tls_cert_file;  /* our client certificate and key for a peer requiring them */
  const char *tls_key_file;   /* (mTLS; its name must be ours for our service tokens) */
  int64_t timeout_cap_us;     /* 0 → HD_PEER_TIMEOUT_DEFAULT */
  int max_attempts;           /* 0 → HD_PEER_ATTEMPTS_DEFAULT; 1..HD_PEER_ATTEMPTS_MAX */
  int64_t backoff_base_us;    /* 0 → HD_PEER_BACKOFF_BASE_US */
  int64_t backoff_max_us;     /* 0 → HD_PEER_BACKOFF_MAX_US */
  hd_auth_identity *identity; /* borrowed: our service's tokens; must outlive the peer */
  const hd_clock *clock;      /* borrowed: the time tokens are minted at */
  hd_metrics *metrics;        /* borrowed, may be NULL: attempts are counted here */
  int64_t max_message_bytes;  /* largest reply accepted; 0 → the client's default */
} hd_peer_config;

/* Opens the channel to a peer (connected lazily, reconnecting by itself, shared by every worker
 * thread). INVALID_ARGUMENT on a bad name, target or limit. Caller frees with hd_peer_free(). */
int hd_peer_new(const hd_peer_config *cfg, hd_peer **out, hd_err *err);

/* hd_peer_new from the environment, for a service's setup:
 *   HELPDESK_<NAME>_TARGET  host:port of the peer, default 127.0.0.1:<default_port>
 *   HELPDESK_TLS_CA         PEM CA of the peers' certificates; default HELPDESK_TLS_CERT when
 *                           that is set (the services share one TLS configuration); else plaintext
 *   HELPDESK_TLS_CLIENT_CERT / HELPDESK_TLS_CLIENT_KEY  our client certificate for peers that
 *                           require one (mTLS); default HELPDESK_TLS_CERT / HELPDESK_TLS_KEY
 *   HELPDESK_PEER_TIMEOUT   the longest deadline of a call to a peer, default 5s
 *   HELPDESK_PEER_ATTEMPTS  attempts of a retryable call, default 3 (1..10)
 * identity, clock and metrics as in hd_peer_config. */
int hd_peer_open(const char *name, int default_port, hd_auth_identity *identity,
                 const hd_clock *clock, hd_metrics *metrics, hd_peer **out, hd_err *err);

/* Closes the channel. NULL is a no-op. No call may be in flight. */
void hd_peer_free(hd_peer *p);

/* The peer's name and target (borrowed, valid while p is). */
const char *hd_peer_name(const hd_peer *p);
const char *hd_peer_target(const hd_peer *p);

/* How one call to a peer is made. */
typedef struct hd_peer_call_opts {
  const char *tenant;         /* the tenant we act for (the token's tenant); required */
  const char *request_id;     /* forwarded as x-request-id when 1-79 printable ASCII characters
                               * without spaces; else not (the peer makes one up) */
  int64_t deadline_us;        /* the incoming call's deadline (hd_call.deadline_us, absolute on
                               * hd_monotonic_us); 0 or INT64_MAX → none, the cap alone */
  bool idempotent;            /* true: repeating the call cannot apply it twice (it carries an
                               * idempotency key, or it only reads) */
  int64_t attempt_timeout_us; /* idempotent calls only: each attempt's own deadline, so an attempt
                               * that hangs is given up and retried; 0 → each gets all time left */
} hd_peer_call_opts;

/* Calls method ("/helpdesk.v1.TicketService/AssignTicket") on the peer and, on OK, unpacks the
 * reply into *resp in arena. The outgoing deadline is the caller's time left less a margin (a
 * tenth, at most HD_PEER_MARGIN_MAX_US), capped by the peer's timeout; DEADLINE_EXCEEDED without
 * calling when less than HD_PEER_MIN_ATTEMPT_US would be left.
 *
 * Retried, with jittered exponential back-off, never past the deadline, up to max_attempts:
 *   UNAVAILABLE, for every call: gRPC reports a call that never reached the peer so, and our
 *     services answer it only when they applied nothing (their transaction rolled back). A peer
 *     that dies mid-call also shows as UNAVAILABLE: a call that changes state between services
 *     is written to be conditional (an expected version, a fence, an idempotency key), so that a
 *     repeat is refused rather than applied twice;
 *   DEADLINE_EXCEEDED and CANCELLED, for idempotent calls only, when the attempt had its own
 *     timeout and time is left: a non-idempotent call that timed out may have been applied.
 * Nothing else is retried.
 *
 * On failure returns -1 with err mapped by the one table in client.c (the message names the peer
 * and the method, and carries the peer's message):
 *   INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, FAILED_PRECONDITION, OUT_OF_RANGE, ABORTED
 *     (e.g. "try the next ticket"), RESOURCE_EXHAUSTED: the same code;
 *   UNAVAILABLE (after the retries) and DEADLINE_EXCEEDED: the same code;
 *   CANCELLED: UNAVAILABLE;
 *   UNAUTHENTICATED (the peer refused our service's token: a key or issuer that differs),
 *     UNIMPLEMENTED (a peer of another version), INTERNAL, UNKNOWN, DATA_LOSS, any other: INTERNAL;
 *   PERMISSION_DENIED (the caller was fine, our service's call was refused by the peer's rules):
 *     FAILED_PRECONDITION.
 * The peer's google.rpc.Status details (status_details.h) are kept where the code is the same:
 * its reason, current version and retry delay, not its field (one of our request to the peer);
 * an UNAVAILABLE always says to retry after at least HD_PEER_RETRY_AFTER_MS.
 * Thread-safe. */
int hd_peer_call(hd_peer *p, const char *method, const hd_peer_call_opts *opts,
                 const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                 hd_arena *arena, ProtobufCMessage **resp, hd_err *err);

/* hd_peer_call on behalf of the handler's call in: its principal's tenant, its request id, its
 * deadline, its arena (the reply lives as long as the call). err may be &in->err. */
int hd_peer_call_for(hd_peer *p, const hd_call *in, const char *method, bool idempotent,
                     const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                     ProtobufCMessage **resp, hd_err *err);

#endif
