/* Internals shared by the files of the rpc server (server.c, dispatch.c, health.c). */
#ifndef HD_RPC_SERVER_INTERNAL_H
#define HD_RPC_SERVER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <grpc/grpc.h>
#include <grpc/grpc_security.h>

#include "rpc/server.h"

/* One registered method: its path, the core's handle, its handler and message types. */
typedef struct rpc_method {
  char *path; /* "/helpdesk.v1.TicketService/CreateTicket"; owned */
  void *handle;
  hd_handler_fn fn;       /* NULL → UNIMPLEMENTED */
  hd_stream_fn stream_fn; /* a streaming method (stream.c) instead of fn */
  unsigned flags;
  unsigned roles;        /* hd_method_impl.roles */
  const char *roles_why; /* hd_method_impl.roles_why; borrowed */
  const ProtobufCMessageDescriptor *input;
  const ProtobufCMessageDescriptor *output;
  void *service;
  bool own_thread; /* health: posted on health_cq, served by the health thread, never a worker */
  /* Bytes of the method's last reply when it was a large one (0: small): a new call of it is
   * admitted only when the reply budget has room for what it will build (server.c). */
  _Atomic int64_t reply_estimate;
} rpc_method;

enum rpc_tag_kind {
  RPC_TAG_NEW_REGISTERED = 1,
  RPC_TAG_NEW_UNREGISTERED,
  RPC_TAG_PAYLOAD, /* the request message of a registered call has arrived */
  RPC_TAG_REPLY_SENT,
  RPC_TAG_SHUTDOWN,
  RPC_TAG_STREAM_OP /* an operation of an open stream has completed (stream.c) */
};

/* The state of one call, from the request posted to the core until the reply has been sent.
 * Its address is the completion-queue tag. */
typedef struct rpc_call {
  enum rpc_tag_kind kind;
  struct hd_server *srv;
  rpc_method *method; /* NULL for an unregistered path */
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array md;
  grpc_call_details details;
  bool has_details;
  grpc_byte_buffer *payload;
  grpc_byte_buffer *reply;
  grpc_slice status_details;
  grpc_metadata trailer[2]; /* x-request-id, grpc-status-details-bin: sent with the status */
  int cancelled;
  hd_arena *arena;
  /* Bytes counted for this call in hd_server.reply_bytes until it is freed: reserved when it is
   * admitted, then its reply (and the handler's arena while the reply is packed). */
  size_t reply_charged;
  struct rpc_call *next_held; /* hd_server.held: arrived while stopping, answered after GOAWAY */
} rpc_call;

struct hd_server {
  hd_server_config cfg;
  grpc_server *server;
  grpc_completion_queue *cq;
  int port;
  rpc_method *methods;
  size_t n_methods, cap_methods;
  char **service_names; /* for health: registered service full names; owned */
  size_t n_services;
  pthread_t *workers;
  unsigned n_workers;
  pthread_t health_thread; /* the probe loop (health.c) */
  bool health_started;
  grpc_completion_queue *health_cq; /* health calls only, polled by health_serve_thread */
  pthread_t health_serve_thread;
  bool health_serve_started;
  _Atomic bool draining;       /* hd_server_drain_begin or shutdown: readiness NOT_SERVING */
  _Atomic int64_t probe_at_us; /* monotonic time the last probe ended; 0 before the first */
  _Atomic int64_t reply_bytes; /* large replies packed and not yet sent (slow readers) */
  int64_t reply_budget;        /* the most reply_bytes may reach; from cfg.memory_limit_bytes */
  bool started;
  bool shut_down;
  _Atomic bool stopping;
  /* Stopping: calls that arrive from now on are held, not served (server.c, server__hold). */
  _Atomic bool holding;
  _Atomic int64_t arrived_at_us; /* monotonic time the last call arrived */
  rpc_call *held;                /* under mu: calls held, answered UNAVAILABLE after the GOAWAY */
  long n_held;                   /* under mu */
  bool held_released;            /* under mu: the GOAWAY is out, a late call is answered at once */
  _Atomic bool healthy;
  _Atomic long inflight;
  _Atomic unsigned long request_seq;
  bool shutdown_tag_seen;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct {
    enum rpc_tag_kind kind;
  } shutdown_tag;
  /* Streaming calls (stream.c), under mu: the open ones, to wake when the server stops. */
  struct hd_stream *streams;
  long n_streams;
  _Atomic bool streams_stopping;
  struct rpc_reflection *reflection; /* reflection.c: the index of the embedded descriptors */
  struct rpc_tls *tls; /* TLS files and their reload state (server_tls.c); NULL: plaintext */
};

/* Request ids (x-request-id, or one made up) are cut to fit this, with the NUL. */
#define RPC_REQUEST_ID_MAX 80

/* The edge every call passes before its request is read: the request id (into rid), the
 * deadline, whether the method is built, worker_ok, the bearer token (into *principal, *tenant)
 * and the method's roles; fills call's method, service, request_id, deadline_us, principal.
 * 0, or -1 with call->err set. */
int rpc_edge_begin(struct hd_server *s, rpc_call *c, hd_call *call, hd_principal *principal,
                   char rid[RPC_REQUEST_ID_MAX], const char **tenant, int64_t started,
                   bool worker_ok);

/* The call's one log line, and its metrics under metric_method (a registered path, or
 * "unregistered" so that made-up paths cannot grow the series without bound). stream_counts is
 * NULL for a unary call, "sent=3 received=1" for a stream. */
void rpc_log_call(const struct hd_server *s, const char *method, const char *metric_method,
                  hd_code code, int64_t started_us, const char *tenant, const char *request_id,
                  const char *msg, const char *stream_counts);

/* Fills c->trailer with the status's trailing metadata: x-request-id rid (when set) and, when code
 * is not OK, google.rpc.Status with err's details (status_details.h; err NULL: none). Returns how
 * many entries it filled (0-2); rpc_call_free releases them. For a unary reply and a stream's
 * end alike. */
size_t rpc_status_trailer(rpc_call *c, hd_code code, const char *msg, const hd_err *err,
                          const char *rid);

/* Starts the batch that ends call c with code and msg (no message), err's details
 * (status_details.h; NULL: none) and request id rid in its trailing metadata; c is freed when it
 * completes (RPC_TAG_REPLY_SENT). Logs nothing: the caller has. */
void rpc_send_status(struct hd_server *s, rpc_call *c, hd_code code, const char *msg,
                     const hd_err *err, const char *rid);

/* A call of a streaming method has arrived (on a worker or the health thread): runs the edge and
 * the cap, then starts the stream's thread, which owns c from then on. */
void rpc_stream_begin(struct hd_server *s, rpc_call *c);

/* An operation of a stream completed (tag is the stream's, from the completion queue). */
void rpc_stream_event(void *tag, bool success);

/* Ends every open stream (UNAVAILABLE: the server is stopping) and refuses new ones; returns once
 * they have all ended, or after wait_us (then the core's cancel_all_calls ends the rest). */
void rpc_streams_stop(struct hd_server *s, int64_t wait_us);

/* ---- TLS (server_tls.c) ---- */
typedef struct rpc_tls rpc_tls;

/* Reads and checks cert_file / key_file (and client_ca_file, may be NULL) and makes *creds, whose
 * certificate config fetcher reads them again when they change on disk; with a client CA, client
 * certificates are required and verified against it. *out (the fetcher's state) must outlive
 * the server: caller frees with rpc_tls_free() after grpc_server_destroy. *creds is released by
 * the caller once bound. FAILED_PRECONDITION naming the file at fault. */
int rpc_tls_new(const char *cert_file, const char *key_file, const char *client_ca_file,
                rpc_tls **out, grpc_server_credentials **creds, hd_err *err);

/* How many times a changed set was loaded after the first (for tests and logs). */
unsigned rpc_tls_reloads(rpc_tls *t);
void rpc_tls_free(rpc_tls *t);

/* ---- the service-certificate rule (peer_cert.c), checked after the token when the server
 * requires client certificates ---- */

/* 0 unless p holds the service role and call's connection has no verified client certificate
 * (UNAUTHENTICATED) or one that does not name p->user_id as its common name or a DNS name
 * (PERMISSION_DENIED); err says which and names both. */
int rpc_peer_service_check(grpc_call *call, const hd_principal *p, hd_err *err);

/* Handles a call that has just arrived: runs the handler and starts the reply batch.
 * Runs on a worker thread; worker is that thread's state. */
void rpc_dispatch(struct hd_server *s, rpc_call *c, void *worker, bool worker_ok);

/* Answers an unregistered path with UNIMPLEMENTED. */
void rpc_reply_unimplemented(struct hd_server *s, rpc_call *c);

/* Answers a call that arrived while the server was stopping with UNAVAILABLE (retry elsewhere). */
void rpc_reply_stopping(struct hd_server *s, rpc_call *c);

/* Answers a call with code and msg before its request is read (logged and counted like any). */
void rpc_reply_status(struct hd_server *s, rpc_call *c, hd_code code, const char *msg);

/* Frees a call once its reply batch has completed (or it never started). */
void rpc_call_free(rpc_call *c);

/* Registers one service's methods; used for ours and (own_thread) for the built-in health service,
 * whose calls are served on the health thread, apart from the workers. */
int rpc_server_add_methods(hd_server *s, const ProtobufCServiceDescriptor *desc,
                           const hd_method_impl *impls, size_t n_impls, void *service,
                           bool own_thread, hd_err *err);

/* Sets what call c counts against the server's reply budget, given its reply of reply_bytes (to be
 * packed, or packed) and extra bytes held with it (the handler's arena while the reply is packed):
 * nothing for a small reply, else reply_bytes + extra; and remembers reply_bytes as its method's
 * estimate. -1 with RESOURCE_EXHAUSTED (the charge unchanged) when the budget has no room for it:
 * clients have left too many replies unread. What is counted is given back when c is freed. */
int rpc_reply_budget_set(struct hd_server *s, rpc_call *c, size_t reply_bytes, size_t extra,
                         hd_err *err);

/* Server reflection (reflection.c): registers grpc.reflection.v1 and v1alpha; at start, indexes
 * the embedded descriptor set for the services registered then. */
int rpc_reflection_register(struct hd_server *s, hd_err *err);
int rpc_reflection_start(struct hd_server *s, hd_err *err);
void rpc_reflection_free(struct hd_server *s);

/* The health service: registers /grpc.health.v1.Health/Check and Watch; and the probe thread. */
int rpc_health_register(struct hd_server *s, hd_err *err);
int rpc_health_start(struct hd_server *s, hd_err *err);
void rpc_health_stop(struct hd_server *s);

#endif
