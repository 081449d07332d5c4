/* Helpers every accounts handler shares (see account_call.h). */
#include "account_call.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "account_limits.h"

bool ac_is_customer_only(const hd_principal *p) {
  return (p->roles & HD_ROLE_CUSTOMER) && !(p->roles & HD_ROLES_STAFF);
}

int ac_check_uid(hd_call *c, const char *field, const char *uid) {
  if (hd_call_check_ident(c, field, uid, 1, ACCOUNT_UID_MAX)) return -1;
  if (ac_is_customer_only(c->principal) && strcmp(uid, c->principal->user_id) != 0)
    return hd_err_set(&c->err, HD_NOT_FOUND, "account '%s' not found", uid);
  return 0;
}

int ac_account_load(hd_call *c, hd_db *db, const char *uid, bool for_update,
                    Helpdesk__V1__Account **out, hd_err *err) {
  if (ac_is_customer_only(c->principal) && strcmp(uid, c->principal->user_id) != 0)
    return hd_err_set(err, HD_NOT_FOUND, "account '%s' not found", uid);
  return account_store_get(db, ac_tenant(c), uid, for_update, c->arena, out, err);
}

int ac_account_active(const Helpdesk__V1__Account *a, hd_err *err) {
  if (!a->deleted) return 0;
  return hd_err_set(err, HD_FAILED_PRECONDITION,
                    "account '%s' was deleted (at %" PRId64 " us); nothing can change on it",
                    a->uid, a->delete_time_us);
}

int ac_failed(hd_call *c) {
  if (c->err.code == HD_OK) hd_err_set(&c->err, HD_INTERNAL, "reading the account failed");
  return -1;
}

char *ac_id_text(hd_call *c, int64_t id) { return hd_arena_printf(c->arena, "%" PRId64, id); }

/* us as a UTC date (and time of day when with_time) in call->arena. */
static const char *call__time(hd_call *c, int64_t us, bool with_time) {
  const time_t t = (time_t)(us / 1000000);
  struct tm tm;
  char buf[48];
  if (!gmtime_r(&t, &tm)) return "";
  const size_t n = with_time ? strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm)
                             : strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  if (n == 0) return "";
  const char *out = hd_arena_strdup(c->arena, buf);
  return out ? out : "";
}

const char *ac_date(hd_call *c, int64_t us) { return call__time(c, us, false); }

const char *ac_datetime(hd_call *c, int64_t us) { return call__time(c, us, true); }

const char *ac_duration(hd_call *c, int64_t us) {
  static const struct {
    int64_t us;
    const char *unit;
  } units[] = {{86400LL * 1000000, "day"},
               {3600LL * 1000000, "hour"},
               {60LL * 1000000, "minute"},
               {1000000, "second"}};
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (us < units[i].us || us % units[i].us != 0) continue;
    const int64_t n = us / units[i].us;
    const char *out =
        hd_arena_printf(c->arena, "%" PRId64 " %s%s", n, units[i].unit, n == 1 ? "" : "s");
    return out ? out : "";
  }
  const char *out = hd_arena_printf(c->arena, "%" PRId64 " microseconds", us);
  return out ? out : "";
}
