/* The scenarios hd-bench can run. Adding one: write its op (and prepare when it needs objects
 * made beforehand), and list it in bench_scenarios below. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_accounts.h"
#include "bench_kpi.h"
#include "bench_rate_limit.h"
#include "bench_routing_claims.h"
#include "bench_routing_escalate.h"
#include "bench_tickets.h"
#include "config/config.h"
#include "grpc/health/v1/health.pb-c.h"

int bench_kv_open(hd_kv **out, hd_err *err) {
  hd_kv_config cfg;
  if (hd_config_kv(&cfg, err)) return -1;
  return hd_kv_new(&cfg, out, err);
}

void bench_kv_workers_cleanup(void *shared) {
  bench_kv_workers *s = shared;
  if (!s) return;
  for (unsigned i = 0; s->kv && i < s->n; i++) hd_kv_close(s->kv[i]);
  free(s->kv);
  free(s);
}

int bench_kv_workers_prepare(const bench_opts *o, hd_client *c, void **shared, hd_err *err) {
  (void)c;
  bench_kv_workers *s = calloc(1, sizeof *s);
  *shared = s;
  if (!s || !(s->kv = calloc(o->concurrency, sizeof *s->kv)))
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  s->n = o->concurrency;
  for (unsigned i = 0; i < o->concurrency; i++)
    if (bench_kv_open(&s->kv[i], err) || hd_kv_ping(s->kv[i], err)) return -1;
  return 0;
}

static int health_op(bench_worker *w, hd_arena *a, hd_err *err) {
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  ProtobufCMessage *resp = NULL;
  return hd_client_call(w->client, "/grpc.health.v1.Health/Check", NULL, 0, &req.base,
                        &grpc__health__v1__health_check_response__descriptor, a, &resp, err);
}

static const bench_scenario health = {
    .name = "health",
    .what = "grpc.health.v1.Health/Check: the floor of gRPC itself",
    .op = health_op};

const bench_scenario *const bench_scenarios[] = {&health,
                                                 &bench_create,
                                                 &bench_get,
                                                 &bench_list,
                                                 &bench_list_status,
                                                 &bench_list_owner,
                                                 &bench_list_my_open,
                                                 &bench_list_unassigned,
                                                 &bench_list_followed,
                                                 &bench_list_updated,
                                                 &bench_workloop,
                                                 &bench_account_get,
                                                 &bench_account_verify,
                                                 &bench_service_action_check,
                                                 &bench_service_action_record,
                                                 &bench_kpi_team_summary,
                                                 &bench_kpi_half_year,
                                                 &bench_escalate,
                                                 &bench_claim,
                                                 &bench_queue_latency,
                                                 &bench_redis_script,
                                                 &bench_rate_limit_script,
                                                 NULL};
