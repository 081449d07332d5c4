/* In-process service fixture for integration tests. */
#include "svc_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grpc/health/v1/health.pb-c.h"
#include "test_env.h"

#define FIXTURE_T0_US (1767571200LL * HD_US_PER_S) /* 2026-01-05T00:00:00Z */

int hd_fixture_start_unready(hd_fixture *f, const hd_service_def *def) {
  memset(f, 0, sizeof *f);
  setenv("HELPDESK_DEV_MODE", "1", 0); /* the built-in token secret, also when run by hand */
  /* hd_fixture_token's tokens live a year, so that tests may move the clock by months. */
  setenv("HELPDESK_AUTH_MAX_LIFETIME", "366d", 0);
  hd_clock_init_manual(&f->clock, FIXTURE_T0_US);
  hd_test_unique(f->db_name, sizeof f->db_name, "hdt");
  hd_svc_options opts = {.listen_addr = "127.0.0.1:0", .clock = &f->clock, .db_name = f->db_name};
  hd_err err = {0};
  if (hd_svc_start(def, &opts, &f->svc, &err) != 0) {
    fprintf(stderr, "fixture: %s: %s\n", hd_code_name(err.code), err.msg);
    hd_fixture_stop(f); /* drops the database a start that failed half-way may have made */
    return -1;
  }
  snprintf(f->target, sizeof f->target, "127.0.0.1:%d", hd_svc_port(f->svc));
  hd_client_config cc = {.target = f->target, .default_timeout_us = 20 * HD_US_PER_S};
  if (hd_client_new(&cc, &f->client, &err) != 0) {
    fprintf(stderr, "fixture: client: %s\n", err.msg);
    hd_fixture_stop(f);
    return -1;
  }
  return 0;
}

int hd_fixture_start(hd_fixture *f, const hd_service_def *def) {
  if (hd_fixture_start_unready(f, def) != 0) return -1;
  for (int i = 0; i < 500; i++) {
    if (hd_fixture_health(f) == 1) return 0;
    usleep(10000);
  }
  fprintf(stderr, "fixture: %s never reported SERVING\n", def->name);
  /* Stops what was started and drops its database, so a failed start leaves nothing behind. */
  hd_fixture_stop(f);
  return -1;
}

void hd_fixture_stop(hd_fixture *f) {
  hd_client_destroy(f->client);
  f->client = NULL;
  hd_svc_stop(f->svc);
  f->svc = NULL;
  hd_db_config cfg;
  hd_test_db_config(&cfg, "mysql");
  hd_db *db = NULL;
  hd_err err = {0};
  char sql[128];
  snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS `%s`", f->db_name);
  if (hd_db_new(&cfg, &db, &err) == 0) hd_db_exec_script(db, sql, &err);
  hd_db_close(db);
}

char *hd_fixture_token(hd_fixture *f, const char *tenant, const char *user, unsigned roles) {
  hd_principal p = {.roles = roles};
  snprintf(p.tenant, sizeof p.tenant, "%s", tenant);
  snprintf(p.user_id, sizeof p.user_id, "%s", user);
  char *tok = NULL;
  hd_err err = {0};
  const hd_svc_env *env = hd_svc_env_of(f->svc);
  if (hd_auth_sign(&env->auth, &p, hd_clock_now_us(&f->clock) / HD_US_PER_S, 365LL * 86400, &tok,
                   &err) != 0)
    fprintf(stderr, "fixture: cannot mint a token: %s\n", err.msg);
  return tok;
}

hd_code hd_fixture_call(hd_fixture *f, const char *method, const char *token,
                        const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                        hd_arena *a, ProtobufCMessage **resp, hd_err *err) {
  hd_err_clear(err);
  ProtobufCMessage *r = NULL;
  if (hd_client_call(f->client, method, token, 0, req, resp_desc, a, &r, err) != 0)
    return err->code;
  if (resp) *resp = r;
  return HD_OK;
}

int hd_fixture_health(hd_fixture *f) {
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  hd_arena *a = hd_arena_new(1 << 16);
  ProtobufCMessage *resp = NULL;
  hd_err err = {0};
  int st = -1;
  if (hd_client_call(f->client, "/grpc.health.v1.Health/Check", NULL, HD_US_PER_S, &req.base,
                     &grpc__health__v1__health_check_response__descriptor, a, &resp, &err) == 0)
    st = (int)((Grpc__Health__V1__HealthCheckResponse *)resp)->status;
  hd_arena_free(a);
  return st;
}

int64_t hd_fixture_sql_i64(hd_fixture *f, const char *sql) {
  hd_db_config cfg;
  hd_test_db_config(&cfg, f->db_name);
  hd_db *db = NULL;
  hd_db_rows *rows = NULL;
  hd_err err = {0};
  int64_t v = -1;
  if (hd_db_new(&cfg, &db, &err) != 0) goto done;
  if (hd_db_query(db, sql, NULL, 0, 1000, &rows, &err) != 0) {
    fprintf(stderr, "fixture sql: %s\n", err.msg);
    goto done;
  }
  v = hd_db_rows_count(rows) ? hd_db_i64(rows, 0, 0) : 0;
done:
  hd_db_rows_free(rows);
  hd_db_close(db);
  return v;
}
