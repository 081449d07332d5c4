/* The per-call checks and the per-call transaction (see call.h). */
#include "rpc/call.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "core/ident.h"
#include "core/utf8.h"
#include "svc/service.h"

int hd_call_check_id(hd_call *c, const char *field, int64_t id) {
  if (id > 0) return 0;
  hd_err_set(&c->err, HD_INVALID_ARGUMENT, "%s must be a positive id, got %" PRId64, field, id);
  return hd_err_field(&c->err, field);
}

/* The checks of hd_call_check_text, the field named in call->err only when one fails. */
static int call__text(hd_call *c, const char *field, const char *s, size_t min, size_t max) {
  const size_t len = strlen(s);
  size_t chars = 0;
  if (!hd_utf8_valid(s, len, &chars))
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT, "%s is not valid UTF-8", field);
  if (chars == 0 && min > 0)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT, "%s is required", field);
  if (min > 0 && hd_text_is_blank(s, len))
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "%s is blank: it has only white space; write the text", field);
  if (chars < min)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "%s has %zu characters; at least %zu are needed", field, chars, min);
  if (chars > max)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "%s has %zu characters; at most %zu are allowed", field, chars, max);
  return 0;
}

int hd_call_check_text(hd_call *c, const char *field, const char *s, size_t min, size_t max) {
  if (call__text(c, field, s ? s : "", min, max)) return hd_err_field(&c->err, field);
  return 0;
}

int hd_call_check_ident(hd_call *c, const char *field, const char *s, size_t min, size_t max) {
  if (hd_call_check_text(c, field, s, min, max)) return -1;
  if (hd_ident_check(field, s, s ? strlen(s) : 0, HD_INVALID_ARGUMENT, &c->err))
    return hd_err_field(&c->err, field);
  return 0;
}

int hd_call_check_enum(hd_call *c, const char *field, const ProtobufCEnumDescriptor *desc,
                       int value, bool allow_zero) {
  if (value == 0) {
    if (allow_zero) return 0;
    hd_err_set(&c->err, HD_INVALID_ARGUMENT, "%s is required", field);
    return hd_err_field(&c->err, field);
  }
  if (!protobuf_c_enum_descriptor_get_value(desc, value)) {
    hd_err_set(&c->err, HD_INVALID_ARGUMENT, "%s has no value %d", field, value);
    return hd_err_field(&c->err, field);
  }
  return 0;
}

int hd_call_check_version(hd_call *c, const char *field, int64_t expected) {
  if (expected >= 0) return 0;
  hd_err_set(&c->err, HD_INVALID_ARGUMENT,
             "%s must be 0 (don't check) or the version you read, got %" PRId64, field, expected);
  return hd_err_field(&c->err, field);
}

int hd_call_check_seen(hd_err *err, int64_t version, int64_t expected, const char *fmt, ...) {
  if (expected == 0 || expected == version) return 0;
  char what[HD_ERR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  return hd_err_conflict(err, version, "%s: version is now %" PRId64 ", you sent %" PRId64, what,
                         version, expected);
}

int hd_call_check_current(const char *what, int64_t id, int64_t version, int64_t expected,
                          hd_err *err) {
  return hd_call_check_seen(err, version, expected, "%s %" PRId64 " was changed by someone else",
                            what, id);
}

int hd_call_tx(hd_call *c, hd_db_tx_fn fn, void *arg) {
  if (hd_db_tx(hd_call_worker(c)->db, fn, arg, 0, &c->err)) {
    if (c->err.code == HD_OK) hd_err_set(&c->err, HD_INTERNAL, "the transaction failed");
    return -1;
  }
  return 0;
}

const char *hd_call_roles_text(unsigned roles, char *buf, size_t cap) {
  static const hd_role all[] = {HD_ROLE_CUSTOMER,   HD_ROLE_AGENT,        HD_ROLE_TEAM_LEAD,
                                HD_ROLE_SUPERVISOR, HD_ROLE_TENANT_ADMIN, HD_ROLE_SERVICE};
  size_t total = 0, done = 0, used = 0;
  if (cap == 0) return buf;
  buf[0] = '\0';
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    if (roles & all[i]) total++;
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    if (!(roles & all[i])) continue;
    const char *sep = done == 0 ? "" : done + 1 == total ? " or " : ", ";
    const int n = snprintf(buf + used, cap - used, "%s%s", sep, hd_role_name(all[i]));
    if (n < 0 || (size_t)n >= cap - used) {
      buf[used] = '\0'; /* whole names only */
      break;
    }
    used += (size_t)n;
    done++;
  }
  return buf;
}
