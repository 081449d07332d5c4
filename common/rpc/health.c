/* grpc.health.v1.Health/Check, answered on the health thread (server.c) from the result the probe
 * thread keeps: SERVING only while the service's probe (what the service cannot work without)
 * succeeds, its result is recent, and the server is not draining. It never waits on a store or a
 * worker. It recovers by itself when the dependencies come back.
 * The pseudo-service HD_HEALTH_LIVENESS is SERVING whenever the server answers (liveness probes).
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "clock/clock.h"
#include "grpc/health/v1/health.pb-c.h"
#include "log/log.h"
#include "rpc/server_internal.h"

/* A probe result older than this is no answer: a probe stuck on a store (each waits at most its
 * connection's timeout) turns readiness NOT_SERVING instead of keeping the last SERVING. */
static int64_t health__stale_us(const hd_server *s) {
  return 3 * s->cfg.health_interval_us + 15 * HD_US_PER_S;
}

static int health__check(hd_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm) {
  hd_server *s = call->service;
  const Grpc__Health__V1__HealthCheckRequest *req = (const void *)reqm;
  Grpc__Health__V1__HealthCheckResponse *resp = (void *)respm;
  if (req->service && strcmp(req->service, HD_HEALTH_LIVENESS) == 0) {
    /* Answering at all is the proof of life: a MariaDB or Redis outage must not get us restarted.
     */
    resp->status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
    return 0;
  }
  if (req->service && req->service[0]) {
    bool known = false;
    for (size_t i = 0; i < s->n_services; i++)
      if (strcmp(s->service_names[i], req->service) == 0) known = true;
    if (!known)
      return hd_err_set(&call->err, HD_NOT_FOUND, "no service named \"%.200s\" here", req->service);
  }
  int64_t probed = atomic_load(&s->probe_at_us);
  bool fresh = probed > 0 && hd_monotonic_us() - probed < health__stale_us(s);
  bool up = atomic_load(&s->healthy) && fresh && !atomic_load(&s->draining);
  resp->status = up ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
                    : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
  return 0;
}

int rpc_health_register(hd_server *s, hd_err *err) {
  static const hd_method_impl impls[] = {{"Check", health__check, HD_METHOD_PUBLIC, 0, NULL}};
  return rpc_server_add_methods(s, &grpc__health__v1__health__descriptor, impls, 1, s, true, err);
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
