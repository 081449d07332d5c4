/* The routing service's context (routing_call.h): settings, identity, the ticket peer; the
 * caller's role for audit rows; the audit row itself; the forms of department and rule names. */
#include "routing_call.h"

#include <stdlib.h>
#include <string.h>

#define RT_NAME_MAX 64

int routing_app_setup(hd_svc_env *env, hd_err *err) {
  routing_app *app = calloc(1, sizeof *app);
  if (!app) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  const hd_auth_identity_config ic = {.auth = &env->auth, .service = "routing"};
  if (routing_config_load(&app->config, err) || hd_auth_identity_new(&ic, &app->identity, err) ||
      hd_peer_open("tickets", 50051, app->identity, env->clock, env->metrics, &app->tickets, err)) {
    hd_auth_identity_free(app->identity);
    free(app);
    return -1;
  }
  env->app = app;
  return 0;
}

void routing_app_teardown(hd_svc_env *env) {
  routing_app *app = env->app;
  if (!app) return;
  hd_peer_free(app->tickets);
  hd_auth_identity_free(app->identity);
  free(app);
  env->app = NULL;
}

static const char SQL_AUDIT[] =
    "INSERT INTO routing_audit (tenant, actor_id, actor_role, action, entity, entity_key, "
    "from_value, to_value, created_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)";

int rt_audit(hd_db *db, const hd_call *c, const char *action, const char *entity, const char *key,
             const json_t *from, const json_t *to, hd_err *err) {
  int rc = -1;
  char *from_s = NULL, *to_s = NULL;
  size_t from_len = 0, to_len = 0;
  if (from && hd_json_dump(from, &HD_JSON_EVENT_LIMITS, &from_s, &from_len, err)) goto done;
  if (to && hd_json_dump(to, &HD_JSON_EVENT_LIMITS, &to_s, &to_len, err)) goto done;
  const hd_db_param p[] = {hd_db_text(rt_tenant(c)),
                           hd_db_text(c->principal->user_id),
                           hd_db_text(hd_principal_role(c->principal)),
                           hd_db_text(action),
                           hd_db_text(entity),
                           hd_db_text(key),
                           from_s ? hd_db_textn(from_s, from_len) : hd_db_null(),
                           to_s ? hd_db_textn(to_s, to_len) : hd_db_null(),
                           hd_db_int(rt_now(c))};
  rc = hd_db_exec(db, SQL_AUDIT, p, sizeof p / sizeof p[0], NULL, NULL, err);
done:
  free(from_s);
  free(to_s);
  return rc;
}

/* 0 when s[1..] are all of the class: upper (A-Z0-9_) or lower (a-z0-9-). */
static int rt__name_rest_ok(const char *s, bool upper) {
  for (const char *q = s + 1; *q; q++) {
    const char ch = *q;
    const bool ok = upper ? ((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_')
                          : ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-');
    if (!ok) return -1;
  }
  return 0;
}

static int rt__check_name(hd_call *c, const char *field, const char *s, bool upper) {
  if (hd_call_check_ident(c, field, s, 1, RT_NAME_MAX)) return -1;
  const char first = s[0];
  const bool first_ok = upper ? (first >= 'A' && first <= 'Z') : (first >= 'a' && first <= 'z');
  if (!first_ok || rt__name_rest_ok(s, upper))
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      upper ? "%s '%s' is not a department code: an uppercase letter, then "
                              "uppercase letters, digits or '_' (like BILLING)"
                            : "%s '%s' is not a rule name: a lowercase letter, then lowercase "
                              "letters, digits or '-' (like billing-urgent)",
                      field, s);
  return 0;
}

int rt_check_department_name(hd_call *c, const char *field, const char *s) {
  return rt__check_name(c, field, s, true);
}

int rt_check_rule_name(hd_call *c, const char *field, const char *s) {
  return rt__check_name(c, field, s, false);
}
