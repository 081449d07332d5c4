/* Routing with a private Redis and the ticket service, in-process (claims_fixture.h). */
#include "claims_fixture.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "routing_service.h"
#include "test_env.h"

static int cf__routing_db(cf *f) {
  hd_db_config cfg;
  hd_test_db_config(&cfg, f->r.db_name);
  hd_err err = {0};
  return hd_db_new(&cfg, &f->db, &err);
}

int cf_start(cf *f) {
  memset(f, 0, sizeof *f);
  if (hd_test_redis_start(&f->redis) || tf_start(&f->t)) goto fail;
  f->kv = f->redis.kv;
  setenv("HELPDESK_TICKETS_TARGET", f->t.f.target, 1);
  if (hd_fixture_start(&f->r, &routing_service_def) || cf__routing_db(f)) goto fail;
  return 0;
fail:
  fprintf(stderr, "routing fixture: start failed\n");
  cf_stop(f);
  return -1;
}

void cf_stop(cf *f) {
  if (f->r.svc) hd_fixture_stop(&f->r);
  hd_db_close(f->db);
  f->db = NULL;
  if (f->t.f.svc) tf_stop(&f->t);
  hd_test_redis_stop(&f->redis);
  f->kv = NULL;
}

int cf_restart_routing(cf *f) {
  hd_client_destroy(f->r.client);
  f->r.client = NULL;
  hd_svc_stop(f->r.svc);
  f->r.svc = NULL;
  hd_svc_options opts = {
      .listen_addr = "127.0.0.1:0", .clock = &f->r.clock, .db_name = f->r.db_name};
  hd_err err = {0};
  if (hd_svc_start(&routing_service_def, &opts, &f->r.svc, &err)) return -1;
  snprintf(f->r.target, sizeof f->r.target, "127.0.0.1:%d", hd_svc_port(f->r.svc));
  hd_client_config cc = {.target = f->r.target, .default_timeout_us = 20 * HD_US_PER_S};
  if (hd_client_new(&cc, &f->r.client, &err)) return -1;
  for (int i = 0; i < 500; i++) {
    if (hd_fixture_health(&f->r) == 1) return 0;
    usleep(10000);
  }
  return -1;
}

static int64_t cf__vsql(cf *f, const char *fmt, va_list ap) {
  char sql[2048];
  vsnprintf(sql, sizeof sql, fmt, ap);
  hd_db_rows *rows = NULL;
  hd_err err = {0};
  if (hd_db_query(f->db, sql, NULL, 0, 100000, &rows, &err)) {
    fprintf(stderr, "routing fixture: %s: %s\n", sql, err.msg);
    return -1;
  }
  const int64_t v = hd_db_rows_count(rows) ? hd_db_i64(rows, 0, 0) : 0;
  hd_db_rows_free(rows);
  return v;
}

int64_t cf_sqlf(cf *f, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const int64_t v = cf__vsql(f, fmt, ap);
  va_end(ap);
  return v;
}

int64_t cf_wait_sql(cf *f, int64_t want, const char *fmt, ...) {
  int64_t v = -1;
  for (int i = 0; i < 2000; i++) {
    va_list ap;
    va_start(ap, fmt);
    v = cf__vsql(f, fmt, ap);
    va_end(ap);
    if (v == want) break;
    usleep(10000);
  }
  return v;
}

void cf_agent(cf *f, const char *agent_id, const char *departments, int capacity,
              const char *presence) {
  cf_sqlf(f,
          "INSERT INTO agents (tenant, agent_id, level, capacity, presence, presence_at_us, "
          "updated_by, created_at_us, updated_at_us) VALUES ('acme', '%s', 'L1', %d, '%s', 0, "
          "'test', 0, 0) ON DUPLICATE KEY UPDATE capacity = VALUES(capacity), "
          "presence = VALUES(presence)",
          agent_id, capacity, presence);
  cf_sqlf(f, "DELETE FROM agent_departments WHERE tenant = 'acme' AND agent_id = '%s'", agent_id);
  char buf[512];
  snprintf(buf, sizeof buf, "%s", departments);
  int pos = 0;
  for (char *save = NULL, *d = strtok_r(buf, ",", &save); d; d = strtok_r(NULL, ",", &save))
    cf_sqlf(f,
            "INSERT INTO agent_departments (tenant, agent_id, department, position) VALUES "
            "('acme', '%s', '%s', %d)",
            agent_id, d, pos++);
}

char *cf_token(cf *f, const char *user, unsigned roles) {
  return hd_fixture_token(&f->r, "acme", user, roles);
}

void cf_create_queued(cf *f, int64_t *ids, int n) {
  const int64_t before = cf_sqlf(f, "SELECT COUNT(*) FROM routing_tickets");
  for (int i = 0; i < n; i++) {
    Helpdesk__V1__Ticket *t = tf_create(&f->t, f->t.customer, NULL, "routing test");
    if (ids) ids[i] = t->id;
  }
  cf_wait_sql(f, before + n, "SELECT COUNT(*) FROM routing_tickets");
}

hd_code cf_claim(cf *f, hd_client *client, const char *token, const char *department,
                 int64_t lease_s, hd_arena *a, Helpdesk__V1__Claim **claim, hd_err *err) {
  Helpdesk__V1__ClaimNextRequest rq = HELPDESK__V1__CLAIM_NEXT_REQUEST__INIT;
  rq.department = (char *)(department ? department : "");
  rq.lease_seconds = lease_s;
  Helpdesk__V1__ClaimNextResponse *rs = NULL;
  *claim = NULL;
  *err = (hd_err){0};
  if (hd_client_call(client ? client : f->r.client, "/helpdesk.v1.RoutingService/ClaimNext", token,
                     0, &rq.base, &helpdesk__v1__claim_next_response__descriptor, a,
                     (ProtobufCMessage **)&rs, err))
    return err->code;
  *claim = rs->claim;
  if (!rs->claim) snprintf(err->msg, sizeof err->msg, "%s", rs->message);
  return HD_OK;
}

void cf_flushall(cf *f) {
  hd_err err = {0};
  const char *argv[] = {"FLUSHALL"};
  (void)hd_kv_cmd(f->kv, 1, argv, NULL, false, NULL, &err);
}
