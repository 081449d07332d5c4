/* Field checks of the accounts contract (see account_fields.h). */
#include "account_fields.h"

#include <string.h>

#include "account_limits.h"
#include "phone_region.h"

int ac_check_email(hd_call *c, const char *field, const char *s, bool required) {
  if (hd_call_check_ident(c, field, s, required ? 1 : 0, ACCOUNT_EMAIL_MAX)) return -1;
  if (!s || !*s) return 0;
  const char *at = strchr(s, '@');
  const char *bad = "";
  if (!at || strchr(at + 1, '@'))
    bad = "must have exactly one @";
  else if (at == s || (size_t)(at - s) > ACCOUNT_EMAIL_LOCAL_MAX)
    bad = "must have 1 to 64 characters before the @";
  else if (!strchr(at + 1, '.') || at[1] == '.' || s[strlen(s) - 1] == '.')
    bad = "must have a domain with a dot after the @ (name@example.com)";
  for (const unsigned char *p = (const unsigned char *)s; !*bad && *p; p++)
    if (*p <= 0x20 || *p == 0x7F) bad = "must not contain spaces or control characters";
  if (*bad) return hd_err_set(&c->err, HD_INVALID_ARGUMENT, "%s %s", field, bad);
  return 0;
}

int ac_check_domain(hd_call *c, const char *field, const char *s, bool required, bool need_dot) {
  if (hd_call_check_ident(c, field, s, required ? 1 : 0, ACCOUNT_DOMAIN_MAX)) return -1;
  if (!s || !*s) return 0;
  size_t label = 0, labels = 1;
  for (const char *p = s;; p++) {
    const char ch = *p;
    if (ch == '.' || ch == '\0') {
      if (label == 0 || label > 63 || p[-1] == '-')
        return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                          "%s must be labels of 1 to 63 letters, digits or '-' (not at a label's "
                          "start or end) joined by dots, such as shop.example.com",
                          field);
      if (ch == '\0') break;
      labels++;
      label = 0;
      continue;
    }
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || (ch == '-' && label > 0);
    if (!ok)
      return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                        "%s has '%c' where a letter, digit, '-' or '.' is expected", field,
                        (ch > 0x20 && ch < 0x7F) ? ch : '?');
    label++;
  }
  if (need_dot && labels < 2)
    return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                      "%s must be a domain with a dot, such as example.com", field);
  return 0;
}

char *ac_lower(hd_call *c, const char *s) {
  char *out = hd_arena_strdup(c->arena, s ? s : "");
  if (!out) return NULL;
  for (char *p = out; *p; p++)
    if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
  return out;
}

int ac_check_region(hd_call *c, const char *field, const char *s) {
  if (hd_call_check_text(c, field, s, 1, 2)) return -1;
  if (phone_region_find(s)) return 0;
  const bool lower = strlen(s) == 2 && s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z';
  return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                    "%s '%s' is not a region we know%s (ISO 3166-1 alpha-2 in capitals: SG, HK, "
                    "ID, MY, US, CA, CN, GB, ...)",
                    field, s, lower ? ": write it in capitals" : "");
}

int ac_check_currency(hd_call *c, const char *field, const char *s) {
  if (hd_call_check_text(c, field, s, 1, 3)) return -1;
  if (strlen(s) == 3 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' && s[2] >= 'A' &&
      s[2] <= 'Z')
    return 0;
  return hd_err_set(&c->err, HD_INVALID_ARGUMENT,
                    "%s must be an ISO 4217 code of three capital letters, such as USD", field);
}
