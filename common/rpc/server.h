/* The gRPC server on the C core: one completion queue polled by N worker threads, a generic
 * dispatcher that maps a method path to a handler through the protobuf-c service descriptor,
 * bearer-token auth, deadlines, a request size cap, grpc.health.v1.Health, graceful drain. */
#ifndef HD_RPC_SERVER_H
#define HD_RPC_SERVER_H

#include <stdbool.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "auth/auth.h"
#include "clock/clock.h"
#include "core/arena.h"
#include "core/err.h"
#include "metrics/metrics.h"

typedef struct hd_server hd_server;

/* grpc.health.v1.Health/Check with this service name answers SERVING whenever the server answers
 * at all, whatever MariaDB and Redis do: for liveness probes, which must not restart a pod over a
 * dependency's outage. The empty name ("") is readiness: SERVING only with dependencies up. */
#define HD_HEALTH_LIVENESS "liveness"

/* What a handler sees of one call. Everything in it is valid until the handler returns, except
 * what is allocated in arena, which lives until the reply has been sent. */
typedef struct hd_call {
  hd_arena *arena;               /* allocate the reply's strings and sub-messages here */
  const hd_principal *principal; /* the verified caller; NULL only for HD_METHOD_PUBLIC methods */
  const char *method;            /* "/helpdesk.v1.TicketService/CreateTicket" */
  const char *request_id;        /* x-request-id from the caller, or one made up */
  int64_t deadline_us; /* absolute, on the monotonic clock (hd_monotonic_us); INT64_MAX if none */
  void *service;       /* the context given to hd_server_add_service */
  void *worker;        /* this worker thread's state from the service's worker_init */
  hd_err err;          /* set it (hd_err_set) and return -1 to fail the call */
} hd_call;

/* A handler: reads req (unpacked into the arena), fills resp (already initialised, of the
 * method's output type), returns 0, or -1 with call->err set to a status and a message a person
 * can act on. Runs on a worker thread; may block (MariaDB, Redis). */
typedef int (*hd_handler_fn)(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);

/* A streaming handler (rpc/stream.h says what it may do and must keep): req is the request of a
 * method without HD_METHOD_STREAM_IN, NULL with it; 0 ends the stream OK, -1 with
 * call->err set. Runs on a thread of its own. */
typedef struct hd_stream hd_stream;
typedef int (*hd_stream_fn)(hd_call *call, hd_stream *st, const ProtobufCMessage *req);

enum {
  HD_METHOD_PUBLIC = 1u << 0,   /* no token needed */
  HD_METHOD_STREAM_IN = 1u << 1 /* hd_stream_impl: the client streams too (bidi) */
};

/* One method of a service's table. Its strings are borrowed for the server's life (literals).
 * roles is what the RPC requires, the way a Redis command's flags are: the dispatcher checks it
 * after the token and before the request is unpacked, so a caller without one of them gets
 * PERMISSION_DENIED naming the roles (and roles_why) and the handler never runs. Handlers keep
 * only the finer rules (the row's owner, its customer, a tenant admin). */
typedef struct hd_method_impl {
  const char *name; /* the method's name in the .proto, e.g. "CreateTicket" */
  hd_handler_fn fn;
  unsigned flags;
  unsigned roles;        /* any-of mask of hd_role (auth/auth.h); 0 = any verified caller; none
                            with HD_METHOD_PUBLIC */
  const char *roles_why; /* optional: why those roles, added to the refusal in parentheses */
} hd_method_impl;

/* Per worker-thread state (database and Redis connections, say): init runs once on each worker
 * thread before it serves, fini when it stops; arg is hd_server_config.worker_arg. Both may be
 * NULL. A worker whose init fails answers its calls UNAVAILABLE. */
typedef int (*hd_worker_init_fn)(void *arg, void **worker, hd_err *err);
typedef void (*hd_worker_fini_fn)(void *arg, void *worker);

/* Health probe: called every interval on the runtime's health thread; returns true when the
 * service's dependencies answer. The service is SERVING only while it returns true. */
typedef bool (*hd_health_probe_fn)(void *arg);

typedef struct hd_server_config {
  const char *listen_addr;    /* "0.0.0.0:50051"; port 0 picks a free one (see hd_server_port) */
  unsigned workers;           /* worker threads, default 4 when 0 */
  int64_t max_message_bytes;  /* larger requests get RESOURCE_EXHAUSTED from the core */
  int64_t grace_us;           /* drain time on shutdown before in-flight calls are cancelled */
  const hd_auth_config *auth; /* borrowed */
  const hd_clock *clock;      /* borrowed; for token expiry */
  const char *tls_cert_file;  /* both set → TLS; NULL → plaintext */
  const char *tls_key_file;
  /* With TLS: PEM CA the clients' certificates must chain to; set → every client must present
   * one (mTLS), and a `service` token is accepted only over a certificate naming that service
   * (peer_cert.c). The three files are read again when they change. NULL → no client
   * certificates asked. */
  const char *tls_client_ca_file;
  hd_worker_init_fn worker_init;
  hd_worker_fini_fn worker_fini;
  void *worker_arg;
  hd_health_probe_fn health_probe;
  void *health_arg;
  int64_t health_interval_us; /* default 1s when 0 */
  hd_metrics *metrics;  /* optional, borrowed: every call is counted here by method and code */
  unsigned max_streams; /* concurrent calls per client connection (HTTP/2); default 64 when 0 */
  /* Memory for calls, default 256 MiB when 0: half is gRPC's resource quota (its buffers), half
   * bounds large replies packed but not yet read by their clients (RESOURCE_EXHAUSTED past it). */
  int64_t memory_limit_bytes;
  /* Streaming calls (rpc/stream.h): open at once, past it RESOURCE_EXHAUSTED (default 64 when 0);
   * each stream's buffer of messages not yet read by its client (default 64 messages, 1 MiB). */
  unsigned max_stream_calls;
  unsigned stream_buffer_messages;
  int64_t stream_buffer_bytes;
} hd_server_config;

/* Creates a server (grpc_init is called here). Caller frees with hd_server_destroy(). */
int hd_server_new(const hd_server_config *cfg, hd_server **out, hd_err *err);

/* A streaming method of a service's table (rpc/stream.h): like hd_method_impl, with flags
 * HD_METHOD_PUBLIC and HD_METHOD_STREAM_IN (bidi; without it the server streams). */
typedef struct hd_stream_impl {
  const char *name; /* the method's name in the .proto, e.g. "WatchTickets" */
  hd_stream_fn fn;
  unsigned flags;
  unsigned roles;        /* as hd_method_impl.roles */
  const char *roles_why; /* as hd_method_impl.roles_why */
} hd_stream_impl;

/* Registers every method of desc. impls maps method names to handlers; a method of desc with
 * no impl answers UNIMPLEMENTED. service is passed to handlers and worker init/fini as
 * call->service. The health service reports desc->name. Before hd_server_start(). */
int hd_server_add_service(hd_server *s, const ProtobufCServiceDescriptor *desc,
                          const hd_method_impl *impls, size_t n_impls, void *service, hd_err *err);

/* Makes the methods impls names streaming ones, served by their stream handlers
 * (rpc/stream.h); desc must have been added with hd_server_add_service (the methods named here
 * having no unary impl there). Before hd_server_start(). */
int hd_server_add_streams(hd_server *s, const ProtobufCServiceDescriptor *desc,
                          const hd_stream_impl *impls, size_t n_impls, hd_err *err);

/* Binds, starts the workers and the health thread. */
int hd_server_start(hd_server *s, hd_err *err);

/* The bound port (useful with port 0). */
int hd_server_port(const hd_server *s);

/* Starts draining: readiness answers NOT_SERVING from now on, while every call is still served
 * (load balancers move away before the server stops accepting). Any thread, any time. */
void hd_server_drain_begin(hd_server *s);

/* Stops accepting calls, lets in-flight calls finish within the grace period, cancels the rest,
 * joins the threads. Safe to call once from any thread but a worker. */
void hd_server_shutdown(hd_server *s);

/* Shuts down if still running and frees. NULL is a no-op. */
void hd_server_destroy(hd_server *s);

/* Blocks SIGTERM and SIGINT in the calling thread (so every thread started later inherits the
 * mask). Call first thing in main. */
void hd_signals_block(void);

/* Waits for SIGTERM or SIGINT (blocked with hd_signals_block); returns the signal number. */
int hd_signals_wait(void);

/* Convenience for a deadline check inside long handlers: DEADLINE_EXCEEDED when past. */
int hd_call_check_deadline(hd_call *call);

/* Sets call->err to PERMISSION_DENIED unless the caller holds one of any_of; returns 0 / -1. */
int hd_call_require(hd_call *call, unsigned any_of);

#endif
