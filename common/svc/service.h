/* What every service's main does, once: configuration, logging, connections per worker,
 * migrations, health probing of MariaDB and Redis, the gRPC server, background loops,
 * signal handling and graceful drain. A service's main.c only describes itself. */
#ifndef HD_SVC_SERVICE_H
#define HD_SVC_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "auth/auth.h"
#include "clock/clock.h"
#include "config/config.h"
#include "db/db.h"
#include "db/migrate.h"
#include "kv/kv.h"
#include "metrics/metrics.h"
#include "rpc/server.h"

/* Shared by all handlers of a service; read-only once the service has started.
 * Handlers reach it as call->service. */
typedef struct hd_svc_env {
  hd_common_config config;
  hd_auth_config auth;
  hd_clock *clock; /* the real clock, or the test's manual clock */
  hd_db_config db;
  hd_kv_config kv;
  hd_metrics *metrics; /* the service's Prometheus registry: count db/redis errors, set gauges */
  void *app;           /* the service's own context, from hd_service_def.setup */
} hd_svc_env;

/* Per worker thread: lazy connections that reconnect by themselves. call->worker. */
typedef struct hd_worker {
  hd_db *db;
  hd_kv *kv;
} hd_worker;

static inline hd_svc_env *hd_call_env(const hd_call *c) { return (hd_svc_env *)c->service; }
static inline hd_worker *hd_call_worker(const hd_call *c) { return (hd_worker *)c->worker; }

/* A background loop (outbox relay, timer scheduler): run until *stop becomes true, on its own
 * thread with its own connections in w. Should wake at least every 200 ms to look at *stop. */
typedef void (*hd_loop_fn)(hd_svc_env *env, hd_worker *w, const _Atomic bool *stop);

typedef struct hd_service_def {
  const char *name;                             /* "tickets" */
  int default_port;                             /* 50051 */
  const ProtobufCServiceDescriptor *descriptor; /* &helpdesk__v1__ticket_service__descriptor */
  const hd_method_impl *methods;
  size_t n_methods;
  const hd_migration *migrations; /* terminated by version 0 */
  /* Optional: builds env->app from configuration. Caller (the runtime) frees it with teardown. */
  int (*setup)(hd_svc_env *env, hd_err *err);
  void (*teardown)(hd_svc_env *env);
  const hd_loop_fn *loops; /* background loops, may be NULL */
  size_t n_loops;
  /* Event consumers (svc/consumer.h), each run as a background loop; may be NULL. */
  const struct hd_consumer_def *consumers;
  size_t n_consumers;
  /* Readiness follows what the service cannot work without: MariaDB (and its migrations) always,
   * Redis only when this is true (routing's claims). When false, a Redis outage is logged
   * (health.redis_down) and counted (helpdesk_redis_errors_total) but the service stays SERVING. */
  bool needs_redis;
  /* Streaming methods of descriptor (rpc/stream.h), e.g. WatchTickets; may be NULL. */
  const hd_stream_impl *streams;
  size_t n_streams;
} hd_service_def;

/* Options a test passes to run a service in-process. */
typedef struct hd_svc_options {
  const char *listen_addr; /* overrides the configured address ("127.0.0.1:0" for a free port) */
  hd_clock *clock;         /* NULL → the real clock */
  const char *db_name;     /* overrides the configured database name */
} hd_svc_options;

typedef struct hd_svc hd_svc;

/* Loads configuration, applies migrations (when MariaDB is reachable; otherwise retried by the
 * health loop until it is, and the service reports NOT_SERVING meanwhile), starts the server and
 * the loops. Caller stops and frees with hd_svc_stop(). */
int hd_svc_start(const hd_service_def *def, const hd_svc_options *opts, hd_svc **out, hd_err *err);

/* The bound port, and the environment handlers see (for tests). */
int hd_svc_port(const hd_svc *s);

/* The bound port of the /metrics endpoint: HELPDESK_METRICS_ADDR, by default the gRPC host and
 * the gRPC port + 1000 (port 0 when the gRPC port is 0: a free one); 0 when it is "off". */
int hd_svc_metrics_port(const hd_svc *s);
hd_svc_env *hd_svc_env_of(hd_svc *s);

/* Drains and stops the server, stops the loops, closes everything, frees. NULL is a no-op. */
void hd_svc_stop(hd_svc *s);

/* The whole of a service's main: block signals, start, wait for SIGTERM/SIGINT, drain, exit
 * status 0 (or 1 when it cannot start, with the reason logged). On SIGTERM readiness turns
 * NOT_SERVING while calls are still served for HELPDESK_SHUTDOWN_DELAY (load balancers move away),
 * then the server stops accepting and in-flight calls finish within HELPDESK_SHUTDOWN_GRACE.
 * SIGINT (a developer's Ctrl-C) skips the delay. */
int hd_service_main(const hd_service_def *def);

#endif
