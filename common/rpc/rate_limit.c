/* The edge's rate limits: settings per role, the two buckets of a call, and failing open when
 * Redis does not answer (rate_limit.h). */
#include "rpc/rate_limit.h"

#include <stdio.h>
#include <string.h>

#include "clock/clock.h"
#include "config/config.h"
#include "log/log.h"

/* One role's setting and its default. */
static const struct {
  hd_role role;
  const char *var;
  hd_kv_rate def;
} rate__roles[HD_RATE_ROLES] = {
    {HD_ROLE_CUSTOMER, "HELPDESK_RATE_LIMIT_CUSTOMER", {100, 1000}},
    {HD_ROLE_AGENT, "HELPDESK_RATE_LIMIT_AGENT", {500, 2000}},
    {HD_ROLE_TEAM_LEAD, "HELPDESK_RATE_LIMIT_TEAM_LEAD", {500, 2000}},
    {HD_ROLE_SUPERVISOR, "HELPDESK_RATE_LIMIT_SUPERVISOR", {500, 2000}},
    {HD_ROLE_TENANT_ADMIN, "HELPDESK_RATE_LIMIT_TENANT_ADMIN", {500, 2000}},
    {HD_ROLE_SERVICE, "HELPDESK_RATE_LIMIT_SERVICE", {20000, 40000}},
};
static const hd_kv_rate rate__tenant_default = {5000, 10000};

int hd_rate_limits_load(hd_rate_limits *out, hd_metrics *metrics, hd_kv *(*worker_kv)(void *),
                        hd_err *err) {
  memset(out, 0, sizeof *out);
  out->metrics = metrics;
  out->worker_kv = worker_kv;
  const char *on = hd_config_str("HELPDESK_RATE_LIMITS", "on");
  if (strcmp(on, "on") != 0 && strcmp(on, "off") != 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "HELPDESK_RATE_LIMITS=%s must be on or off", on);
  out->enabled = strcmp(on, "on") == 0;
  if (hd_config_rate("HELPDESK_RATE_LIMIT_TENANT", rate__tenant_default.rate_per_s,
                     rate__tenant_default.burst, &out->tenant.rate_per_s, &out->tenant.burst,
                     err) != 0)
    return -1;
  for (size_t i = 0; i < HD_RATE_ROLES; i++) {
    if (rate__roles[i].role != (hd_role)(1u << i))
      return hd_err_set(err, HD_INTERNAL, "the rate-limit role table is out of order");
    if (hd_config_rate(rate__roles[i].var, rate__roles[i].def.rate_per_s, rate__roles[i].def.burst,
                       &out->role[i].rate_per_s, &out->role[i].burst, err) != 0)
      return -1;
  }
  static const char *const tenant_label[] = {"bucket", "tenant", NULL};
  static const char *const caller_label[] = {"bucket", "caller", NULL};
  if (hd_metrics_counter_add(metrics, HD_METRIC_RATE_LIMITED, tenant_label, 0, err) != 0 ||
      hd_metrics_counter_add(metrics, HD_METRIC_RATE_LIMITED, caller_label, 0, err) != 0 ||
      hd_metrics_counter_add(metrics, HD_METRIC_RATE_LIMIT_FAIL_OPEN, NULL, 0, err) != 0 ||
      hd_metrics_gauge_describe(metrics, HD_METRIC_RATE_LIMITED,
                                "Calls refused RESOURCE_EXHAUSTED by a rate limit, by bucket",
                                err) != 0 ||
      hd_metrics_gauge_describe(metrics, HD_METRIC_RATE_LIMIT_FAIL_OPEN,
                                "Calls let through unchecked because Redis did not answer the "
                                "rate-limit check",
                                err) != 0)
    return -1;
  if (out->enabled && hd_rate_reserve_new(HD_RATE_RESERVE_SLOTS, &out->reserve, err) != 0)
    return -1;
  return 0;
}

void hd_rate_limits_fini(hd_rate_limits *rl) {
  if (!rl) return;
  hd_rate_reserve_free(rl->reserve);
  rl->reserve = NULL;
}

/* a more generous than b: unlimited beats any rate, then the higher rate, then the larger burst. */
static bool rate__more(hd_kv_rate a, hd_kv_rate b) {
  if (b.rate_per_s == 0) return false;
  if (a.rate_per_s == 0) return true;
  return a.rate_per_s > b.rate_per_s || (a.rate_per_s == b.rate_per_s && a.burst > b.burst);
}

void hd_rate_limits_for(const hd_rate_limits *rl, const hd_principal *p, hd_kv_rate *tenant,
                        hd_kv_rate *caller) {
  bool any = false;
  *caller = (hd_kv_rate){0, 0};
  for (size_t i = 0; i < HD_RATE_ROLES; i++) {
    if (!(p->roles & (1u << i))) continue;
    if (!any || rate__more(rl->role[i], *caller)) *caller = rl->role[i];
    any = true;
  }
  /* A token with no role (auth refuses those today) gets the least generous role's limit. */
  if (!any) *caller = rl->role[0];
  *tenant = hd_principal_has(p, HD_ROLE_SERVICE) ? (hd_kv_rate){0, 0} : rl->tenant;
}

/* Fail open: the call goes on, counted; the first failure of an outage is logged, and when Redis
 * did not answer (UNAVAILABLE) it is not asked again for HD_RATE_LIMIT_BACKOFF_US. */
static void rate__fail_open(hd_rate_limits *rl, const hd_err *why) {
  hd_metrics_counter_add(rl->metrics, HD_METRIC_RATE_LIMIT_FAIL_OPEN, NULL, 1, NULL);
  if (!why) return;
  if (why->code == HD_UNAVAILABLE)
    atomic_store(&rl->skip_until_us, hd_monotonic_us() + HD_RATE_LIMIT_BACKOFF_US);
  if (!atomic_exchange(&rl->failing, true))
    hd_log_warn("rate_limit.fail_open", "reason", why->msg, "then",
                "calls are not rate-limited until redis answers");
}

/* The largest lease of a caller with these limits: a twentieth of a second's worth of the slower
 * checked bucket, at least one (rate_reserve.h clamps it to HD_RATE_LEASE_MAX). */
static int64_t rate__lease_cap(hd_kv_rate tenant, hd_kv_rate caller) {
  int64_t cap = HD_RATE_LEASE_MAX;
  const hd_kv_rate b[2] = {tenant, caller};
  for (size_t i = 0; i < 2; i++)
    if (b[i].rate_per_s > 0 && b[i].rate_per_s / 20 < cap) cap = b[i].rate_per_s / 20;
  return cap < 1 ? 1 : cap;
}

int hd_rate_limit_admit(hd_rate_limits *rl, void *worker, const hd_principal *p, hd_err *err) {
  if (!rl || !rl->enabled || !p) return 0;
  hd_kv_rate tenant, caller;
  hd_rate_limits_for(rl, p, &tenant, &caller);
  if (tenant.rate_per_s == 0 && caller.rate_per_s == 0) return 0;
  /* The edge admits a stream before it has a worker: its thread asks again with one (stream.c). */
  if (!worker) return 0;
  hd_kv *kv = rl->worker_kv ? rl->worker_kv(worker) : NULL;
  if (!kv) {
    static const hd_err no_kv = {.code = HD_UNAVAILABLE, .msg = "this worker has no redis handle"};
    rate__fail_open(rl, &no_kv);
    return 0;
  }
  if (hd_monotonic_us() < atomic_load(&rl->skip_until_us)) {
    rate__fail_open(rl, NULL);
    return 0;
  }
  const int64_t now_us = hd_monotonic_us();
  int64_t want = 1, granted = 0;
  if (hd_rate_reserve_spend(rl->reserve, p->tenant, p->user_id, rate__lease_cap(tenant, caller),
                            now_us, &want))
    return 0;
  hd_kv_rate_bucket refused = HD_KV_RATE_ALLOWED;
  int64_t wait_us = 0;
  hd_err kerr = {0};
  if (hd_kv_rate_take_n(kv, p->tenant, p->user_id, tenant, caller, want, &granted, &refused,
                        &wait_us, &kerr) != 0) {
    rate__fail_open(rl, &kerr);
    return 0;
  }
  if (refused == HD_KV_RATE_ALLOWED)
    hd_rate_reserve_hold(rl->reserve, p->tenant, p->user_id, granted, now_us);
  if (atomic_exchange(&rl->failing, false)) hd_log_info("rate_limit.redis_back");
  if (refused == HD_KV_RATE_ALLOWED) return 0;
  const bool by_tenant = refused == HD_KV_RATE_TENANT;
  const hd_kv_rate l = by_tenant ? tenant : caller;
  const char *const labels[] = {"bucket", by_tenant ? "tenant" : "caller", NULL};
  hd_metrics_counter_add(rl->metrics, HD_METRIC_RATE_LIMITED, labels, 1, NULL);
  const int64_t wait_ms = (wait_us + 999) / 1000;
  if (by_tenant)
    hd_err_set(err, HD_RESOURCE_EXHAUSTED,
               "rate limit of tenant %s reached (%lld calls/s, burst %lld); retry in %lld ms",
               p->tenant, (long long)l.rate_per_s, (long long)l.burst, (long long)wait_ms);
  else
    hd_err_set(err, HD_RESOURCE_EXHAUSTED,
               "rate limit of caller %s in tenant %s reached (%lld calls/s, burst %lld); retry "
               "in %lld ms",
               p->user_id, p->tenant, (long long)l.rate_per_s, (long long)l.burst,
               (long long)wait_ms);
  hd_err_retry_after(err, wait_ms);
  return -1;
}
