/* Routing's queues in Redis, and their rebuild and gauges from MariaDB (see queues.h). */
#include "queues.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "metrics/metrics.h"

void routing_queue_group(const char *tenant, char buf[ROUTING_QUEUE_GROUP_MAX]) {
  const bool plain = tenant[0] != '~' && !strpbrk(tenant, "{}") && strlen(tenant) <= 64;
  if (plain) {
    snprintf(buf, ROUTING_QUEUE_GROUP_MAX, "%s", tenant);
    return;
  }
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  buf[o++] = '~';
  for (const unsigned char *p = (const unsigned char *)tenant;
       *p && o + 3 <= ROUTING_QUEUE_GROUP_MAX; p++) {
    buf[o++] = hex[*p >> 4];
    buf[o++] = hex[*p & 15];
  }
  buf[o] = '\0';
}

void routing_queue_member(int64_t ticket_id, char buf[ROUTING_QUEUE_MEMBER_MAX]) {
  snprintf(buf, ROUTING_QUEUE_MEMBER_MAX, "%020" PRId64, ticket_id);
}

int routing_queue_member_id(const char *member, int64_t *ticket_id, hd_err *err) {
  int64_t v = 0;
  size_t n = 0;
  for (; member[n]; n++) {
    const int d = member[n] - '0';
    if (d < 0 || d > 9 || n >= ROUTING_QUEUE_MEMBER_MAX - 1 || v > (INT64_MAX - d) / 10)
      return hd_err_set(err, HD_INTERNAL, "queue member '%.40s' is not a ticket id", member);
    v = v * 10 + d;
  }
  if (n == 0 || v <= 0)
    return hd_err_set(err, HD_INTERNAL, "queue member '%.40s' is not a ticket id", member);
  *ticket_id = v;
  return 0;
}

int routing_queue_put(hd_kv *kv, const char *tenant, const char *department, int64_t ticket_id,
                      int64_t created_us, hd_err *err) {
  char group[ROUTING_QUEUE_GROUP_MAX], member[ROUTING_QUEUE_MEMBER_MAX];
  routing_queue_group(tenant, group);
  routing_queue_member(ticket_id, member);
  return hd_kv_queue_add(kv, group, department, member, created_us, NULL, err);
}

int routing_queue_drop(hd_kv *kv, const char *tenant, const char *department, int64_t ticket_id,
                       hd_err *err) {
  char group[ROUTING_QUEUE_GROUP_MAX], member[ROUTING_QUEUE_MEMBER_MAX];
  routing_queue_group(tenant, group);
  routing_queue_member(ticket_id, member);
  return hd_kv_queue_remove(kv, group, department, member, NULL, err);
}

/* Keyset pages over the waiting tickets, in the order of ix_routing_tickets_waiting. */
static const char SQL_WAITING[] =
    "SELECT queue, tenant, created_at_us, ticket_id FROM routing_tickets "
    "WHERE queue <> '' AND (queue, tenant, created_at_us, ticket_id) > (?, ?, ?, ?) "
    "ORDER BY queue, tenant, created_at_us, ticket_id LIMIT ?";

int routing_queues_rebuild(hd_db *db, hd_kv *kv, int64_t *added, hd_err *err) {
  int rc = -1;
  hd_db_rows *rows = NULL;
  char queue[65] = "", tenant[65] = "";
  int64_t created = INT64_MIN, id = 0, n_added = 0;
  for (;;) {
    const hd_db_param p[] = {hd_db_text(queue), hd_db_text(tenant), hd_db_int(created),
                             hd_db_int(id), hd_db_int(ROUTING_QUEUE_REBUILD_PAGE)};
    hd_db_rows_free(rows);
    rows = NULL;
    if (hd_db_query(db, SQL_WAITING, p, 5, ROUTING_QUEUE_REBUILD_PAGE, &rows, err)) goto done;
    const size_t n = hd_db_rows_count(rows);
    for (size_t i = 0; i < n; i++) {
      char group[ROUTING_QUEUE_GROUP_MAX], member[ROUTING_QUEUE_MEMBER_MAX];
      routing_queue_group(hd_db_str(rows, i, 1, NULL), group);
      routing_queue_member(hd_db_i64(rows, i, 3), member);
      bool was_added = false;
      if (hd_kv_queue_add(kv, group, hd_db_str(rows, i, 0, NULL), member, hd_db_i64(rows, i, 2),
                          &was_added, err))
        goto done;
      n_added += was_added;
    }
    if (n < ROUTING_QUEUE_REBUILD_PAGE) break;
    snprintf(queue, sizeof queue, "%s", hd_db_str(rows, n - 1, 0, NULL));
    snprintf(tenant, sizeof tenant, "%s", hd_db_str(rows, n - 1, 1, NULL));
    created = hd_db_i64(rows, n - 1, 2);
    id = hd_db_i64(rows, n - 1, 3);
  }
  if (added) *added = n_added;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

void routing_queue_marker(const char *database, char buf[ROUTING_QUEUE_MARKER_MAX]) {
  snprintf(buf, ROUTING_QUEUE_MARKER_MAX, "helpdesk:{routing}:queues:%s", database);
}

int routing_queues_ensure(hd_db *db, hd_kv *kv, const char *marker, bool force, bool *rebuilt,
                          int64_t *added, hd_err *err) {
  int rc = -1;
  hd_kv_reply *r = NULL;
  if (rebuilt) *rebuilt = false;
  if (added) *added = 0;
  const char *exists[] = {"EXISTS", marker};
  if (hd_kv_cmd(kv, 2, exists, NULL, true, &r, err)) goto done;
  if (!force && r->type == HD_KV_INT && r->integer == 1) {
    rc = 0;
    goto done;
  }
  const char *set[] = {"SET", marker, "1"};
  if (hd_kv_cmd(kv, 3, set, NULL, true, NULL, err) || routing_queues_rebuild(db, kv, added, err))
    goto done;
  if (rebuilt) *rebuilt = true;
  rc = 0;
done:
  hd_kv_reply_free(r);
  return rc;
}

static const char SQL_GAUGES[] =
    "SELECT queue, COUNT(*), MIN(created_at_us) FROM routing_tickets WHERE queue <> '' "
    "GROUP BY queue ORDER BY queue LIMIT ?";

static int queues__gauge(hd_svc_env *env, const char *queue, double depth, double age_s,
                         hd_err *err) {
  const char *labels[] = {"queue", queue, NULL};
  return hd_metrics_gauge_set(env->metrics, HD_METRIC_QUEUE_DEPTH, labels, depth, err) ||
                 hd_metrics_gauge_set(env->metrics, HD_METRIC_QUEUE_OLDEST_AGE_SECONDS, labels,
                                      age_s, err)
             ? -1
             : 0;
}

int routing_queues_gauges(hd_svc_env *env, hd_db *db, int64_t now_us, routing_queue_seen *seen,
                          hd_err *err) {
  int rc = -1;
  hd_db_rows *rows = NULL;
  const hd_db_param p[] = {hd_db_int(ROUTING_QUEUE_GAUGES_MAX)};
  if (hd_db_query(db, SQL_GAUGES, p, 1, ROUTING_QUEUE_GAUGES_MAX, &rows, err)) goto done;
  const size_t n = hd_db_rows_count(rows);
  for (size_t s = 0; s < seen->n; s++) { /* queues that emptied since the last time */
    bool still = false;
    for (size_t i = 0; i < n && !still; i++)
      still = strcmp(seen->names[s], hd_db_str(rows, i, 0, NULL)) == 0;
    if (!still && queues__gauge(env, seen->names[s], 0, 0, err)) goto done;
  }
  seen->n = 0;
  for (size_t i = 0; i < n; i++) {
    const char *q = hd_db_str(rows, i, 0, NULL);
    const int64_t oldest = hd_db_i64(rows, i, 2);
    const double age_s = now_us > oldest ? (double)(now_us - oldest) / 1e6 : 0;
    if (queues__gauge(env, q, (double)hd_db_i64(rows, i, 1), age_s, err)) goto done;
    snprintf(seen->names[seen->n++], sizeof seen->names[0], "%s", q);
  }
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}
