/* grpc.health.v1.Health/Check and Watch, answered on the health thread (server.c) from the result
 * the probe thread keeps: SERVING only while the service's probe (what the service cannot work
 * without) succeeds, its result is recent, and the server is not draining. It never waits on a
 * store or a worker. It recovers by itself when the dependencies come back. The pseudo-service
 * HD_HEALTH_LIVENESS is SERVING whenever the server answers (liveness probes). Watch (a stream,
 * rpc/stream.h) sends the status Check would answer, then each change of it; an unknown name is
 * SERVICE_UNKNOWN as a message (the health protocol), not an error.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "clock/clock.h"
#include "grpc/health/v1/health.pb-c.h"
#include "log/log.h"
#include "rpc/server_internal.h"
#include "rpc/stream.h"

/* How often Watch looks at the status (the probe runs every health_interval_us). */
#define HEALTH_WATCH_POLL_US 100000
/* How long Watch waits for a client to read a status before cutting it off. */
#define HEALTH_WATCH_SEND_US 5000000

/* A probe result older than this is no answer: a probe stuck on a store (each waits at most its
 * connection's timeout) turns readiness NOT_SERVING instead of keeping the last SERVING. */
static int64_t health__stale_us(const hd_server *s) {
  return 3 * s->cfg.health_interval_us + 15 * HD_US_PER_S;
}

typedef Grpc__Health__V1__HealthCheckResponse__ServingStatus health__status_t;

/* What Check answers for name (NULL or "" is readiness): SERVING, NOT_SERVING, or
 * SERVICE_UNKNOWN for a name that is not a service of this server. */
static health__status_t health__status(hd_server *s, const char *name) {
  if (name && strcmp(name, HD_HEALTH_LIVENESS) == 0)
    /* Answering at all is the proof of life: a MariaDB or Redis outage must not get us restarted.
     */
    return GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
  if (name && name[0]) {
    bool known = false;
    for (size_t i = 0; i < s->n_services; i++)
      if (strcmp(s->service_names[i], name) == 0) known = true;
    if (!known) return GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
  }
  int64_t probed = atomic_load(&s->probe_at_us);
  bool fresh = probed > 0 && hd_monotonic_us() - probed < health__stale_us(s);
  bool up = atomic_load(&s->healthy) && fresh && !atomic_load(&s->draining);
  return up ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
            : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
}

static int health__check(hd_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm) {
  hd_server *s = call->service;
  const Grpc__Health__V1__HealthCheckRequest *req = (const void *)reqm;
  Grpc__Health__V1__HealthCheckResponse *resp = (void *)respm;
  resp->status = health__status(s, req->service);
  if (resp->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN)
    return hd_err_set(&call->err, HD_NOT_FOUND, "no service named \"%.200s\" here", req->service);
  return 0;
}

/* Health/Watch: the status now, then each change, until the client goes, its deadline passes or
 * the server stops (UNAVAILABLE; a draining server sends NOT_SERVING first). */
static int health__watch(hd_call *call, hd_stream *st, const ProtobufCMessage *reqm) {
  hd_server *s = call->service;
  const Grpc__Health__V1__HealthCheckRequest *req = (const void *)reqm;
  Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
  bool sent = false;
  for (;;) {
    health__status_t now = health__status(s, req->service);
    if (!sent || now != resp.status) {
      resp.status = now;
      if (hd_stream_send(st, &resp.base, HEALTH_WATCH_SEND_US) != 0) return -1;
      sent = true;
    }
    if (hd_stream_wait(st, HEALTH_WATCH_POLL_US) != 0) return -1;
  }
}

int rpc_health_register(hd_server *s, hd_err *err) {
  static const hd_method_impl impls[] = {{"Check", health__check, HD_METHOD_PUBLIC, 0, NULL}};
  static const hd_stream_impl streams[] = {{"Watch", health__watch, HD_METHOD_PUBLIC, 0, NULL}};
  if (rpc_server_add_methods(s, &grpc__health__v1__health__descriptor, impls, 1, s, true, err) != 0)
    return -1;
  return hd_server_add_streams(s, &grpc__health__v1__health__descriptor, streams, 1, err);
}

static void *health__loop(void *arg) {
  hd_server *s = arg;
  bool last = false, first = true;
  while (!atomic_load(&s->stopping)) {
    bool up = s->cfg.health_probe ? s->cfg.health_probe(s->cfg.health_arg) : true;
    atomic_store(&s->healthy, up);
    atomic_store(&s->probe_at_us, hd_monotonic_us());
    if (first || up != last) hd_log_info("health", "status", up ? "SERVING" : "NOT_SERVING");
    last = up;
    first = false;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    int64_t ns = until.tv_nsec + (s->cfg.health_interval_us % 1000000) * 1000;
    until.tv_sec += (time_t)(s->cfg.health_interval_us / 1000000 + ns / 1000000000);
    until.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&s->mu);
    while (!atomic_load(&s->stopping))
      if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT) break;
    pthread_mutex_unlock(&s->mu);
  }
  return NULL;
}

int rpc_health_start(hd_server *s, hd_err *err) {
  if (pthread_create(&s->health_thread, NULL, health__loop, s) != 0)
    return hd_err_set(err, HD_INTERNAL, "cannot start the health thread");
  s->health_started = true;
  return 0;
}

void rpc_health_stop(hd_server *s) {
  if (!s->health_started) return;
  pthread_mutex_lock(&s->mu);
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  pthread_join(s->health_thread, NULL);
  s->health_started = false;
}
