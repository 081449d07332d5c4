/* The routing service and the ticket service in-process (routing_pair.h). */
#include "routing_pair.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "routing_service.h"
#include "test_env.h"

int rp_setup(void **state) {
  rp *p = calloc(1, sizeof *p);
  if (!p || tf_start(&p->t) != 0) goto fail;
  /* routing's peer (HELPDESK_TICKETS_TARGET, read by its setup) is the ticket fixture. */
  setenv("HELPDESK_TICKETS_TARGET", p->t.f.target, 1);
  if (hd_fixture_start(&p->r, &routing_service_def) != 0) goto fail;
  hd_db_config cfg;
  hd_test_db_config(&cfg, p->r.db_name);
  hd_err err = {0};
  if (hd_db_new(&cfg, &p->rdb, &err) != 0 || hd_db_new(&cfg, &p->w.db, &err) != 0) goto fail;
  hd_kv_config kc;
  hd_test_kv_config(&kc);
  if (hd_kv_new(&kc, &p->w.kv, &err) != 0) goto fail;
  *state = p;
  return 0;
fail:
  *state = p;
  rp_teardown(state);
  *state = NULL;
  return -1;
}

int rp_teardown(void **state) {
  rp *p = *state;
  if (!p) return 0;
  hd_db_close(p->rdb);
  hd_db_close(p->w.db);
  hd_kv_close(p->w.kv);
  hd_fixture_stop(&p->r);
  tf_stop(&p->t);
  free(p);
  return 0;
}

hd_code rp_call(rp *p, const char *rpc, const char *token, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_desc, void *resp) {
  char method[128];
  snprintf(method, sizeof method, "/helpdesk.v1.RoutingService/%s", rpc);
  ProtobufCMessage *out = NULL;
  memset(&p->t.err, 0, sizeof p->t.err);
  const hd_code rc =
      hd_fixture_call(&p->r, method, token, req, resp_desc, p->t.arena, &out, &p->t.err);
  if (resp) *(ProtobufCMessage **)resp = rc == HD_OK ? out : NULL;
  return rc;
}

void rp_exec(rp *p, const char *fmt, ...) {
  char sql[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sql, sizeof sql, fmt, ap);
  va_end(ap);
  hd_err err = {0};
  if (hd_db_exec(p->rdb, sql, NULL, 0, NULL, NULL, &err) != 0) fail_msg("%s: %s", sql, err.msg);
}

int64_t rp_sqlf(rp *p, const char *fmt, ...) {
  char sql[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(sql, sizeof sql, fmt, ap);
  va_end(ap);
  hd_err err = {0};
  hd_db_rows *rows = NULL;
  if (hd_db_query(p->rdb, sql, NULL, 0, 1000, &rows, &err) != 0) fail_msg("%s: %s", sql, err.msg);
  const int64_t v = hd_db_rows_count(rows) ? hd_db_i64(rows, 0, 0) : 0;
  hd_db_rows_free(rows);
  return v;
}

void rp_agent(rp *p, const char *agent_id, const char *departments, const char *presence) {
  rp_exec(p,
          "INSERT INTO agents (tenant, agent_id, level, presence, presence_at_us, updated_by, "
          "created_at_us, updated_at_us) VALUES ('acme', '%s', 'L1', '%s', 0, 'test', 0, 0)",
          agent_id, presence);
  char list[256];
  snprintf(list, sizeof list, "%s", departments);
  int pos = 0;
  for (char *save = NULL, *d = strtok_r(list, ",", &save); d; d = strtok_r(NULL, ",", &save))
    rp_exec(p,
            "INSERT INTO agent_departments (tenant, agent_id, department, position) VALUES "
            "('acme', '%s', '%s', %d)",
            agent_id, d, pos++);
}

Helpdesk__V1__ListCommentsResponse *rp_comments(rp *p, int64_t ticket_id) {
  Helpdesk__V1__ListCommentsRequest rq = HELPDESK__V1__LIST_COMMENTS_REQUEST__INIT;
  rq.ticket_id = ticket_id;
  return (Helpdesk__V1__ListCommentsResponse *)tf_must(
      &p->t, "ListComments", p->t.lead, &rq.base,
      &helpdesk__v1__list_comments_response__descriptor);
}

int64_t rp_advance(rp *p, int64_t us) {
  hd_clock_advance(&p->r.clock, us);
  return hd_clock_now_us(&p->r.clock);
}
