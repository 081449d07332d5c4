/* Calling codes of the known regions and E.164 parsing (see phone_region.h). */
#include "phone_region.h"

#include <stdio.h>
#include <string.h>

/* The regions the service knows, with the length of their national numbers (mobile and fixed
 * lines together). Regions that share a calling code are listed next to each other. */
static const phone_region phone__table[] = {
    {"SG", "65", 8, 8},   {"HK", "852", 8, 8},  {"MO", "853", 8, 8},  {"TW", "886", 9, 9},
    {"CN", "86", 10, 11}, {"ID", "62", 9, 12},  {"MY", "60", 9, 10},  {"TH", "66", 8, 9},
    {"PH", "63", 10, 10}, {"VN", "84", 9, 10},  {"IN", "91", 10, 10}, {"JP", "81", 9, 10},
    {"KR", "82", 9, 10},  {"AU", "61", 9, 9},   {"NZ", "64", 8, 10},  {"US", "1", 10, 10},
    {"CA", "1", 10, 10},  {"GB", "44", 10, 10}, {"DE", "49", 7, 12},  {"FR", "33", 9, 9},
    {"AE", "971", 8, 9},  {"SA", "966", 9, 9},
};
#define PHONE_TABLE_N (sizeof phone__table / sizeof phone__table[0])

const phone_region *phone_region_find(const char *region) {
  if (!region) return NULL;
  for (size_t i = 0; i < PHONE_TABLE_N; i++)
    if (strcmp(phone__table[i].region, region) == 0) return &phone__table[i];
  return NULL;
}

bool phone_region_closed(const char *region) { return region && strcmp(region, "IN") == 0; }

/* The first entry whose calling code starts digits; codes are prefix-free (E.164). */
static const phone_region *phone__by_code(const char *digits) {
  for (size_t i = 0; i < PHONE_TABLE_N; i++) {
    const size_t n = strlen(phone__table[i].calling_code);
    if (strncmp(phone__table[i].calling_code, digits, n) == 0) return &phone__table[i];
  }
  return NULL;
}

int phone_parse(const char *field, const char *s, phone_number *out, hd_err *err) {
  static const char form[] =
      "must be in E.164 form: + then the country calling code and the number, digits only, such "
      "as +6591234567";
  const size_t len = s ? strlen(s) : 0;
  if (len < 2 || s[0] != '+') return hd_err_set(err, HD_INVALID_ARGUMENT, "%s %s", field, form);
  const char *d = s + 1;
  const size_t n = len - 1;
  for (size_t i = 0; i < n; i++)
    if (d[i] < '0' || d[i] > '9')
      return hd_err_set(err, HD_INVALID_ARGUMENT,
                        "%s has a character other than a digit after "
                        "the +; it %s",
                        field, form);
  if (d[0] == '0')
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s: no country calling code starts with 0; it %s",
                      field, form);
  if (n < PHONE_DIGITS_MIN || n > PHONE_DIGITS_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "%s has %zu digits; an E.164 number has %d to %d, calling code included",
                      field, n, PHONE_DIGITS_MIN, PHONE_DIGITS_MAX);
  const phone_region *r = phone__by_code(d);
  if (!r)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "%s %s has no country calling code we know (regions: SG +65, HK +852, ID "
                      "+62, MY +60, US/CA +1, CN +86, GB +44, ...)",
                      field, s);
  const size_t cc = strlen(r->calling_code), nsn = n - cc;
  if (nsn < r->nsn_min || nsn > r->nsn_max) {
    if (r->nsn_min == r->nsn_max)
      return hd_err_set(err, HD_INVALID_ARGUMENT,
                        "%s: a +%s (%s) number has %u digits after +%s, this one has %zu", field,
                        r->calling_code, r->region, r->nsn_min, r->calling_code, nsn);
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "%s: a +%s (%s) number has %u to %u digits after +%s, this one has %zu",
                      field, r->calling_code, r->region, r->nsn_min, r->nsn_max, r->calling_code,
                      nsn);
  }
  if (out) {
    memset(out, 0, sizeof *out);
    memcpy(out->calling_code, r->calling_code, cc);
    memcpy(out->national, d + cc, nsn);
    out->first = r;
  }
  return 0;
}

int phone_check_for_region(const char *field, const char *s, const char *region, hd_err *err) {
  const phone_region *own = phone_region_find(region);
  if (!own) return hd_err_set(err, HD_INVALID_ARGUMENT, "region %s is not one we know", region);
  phone_number pn;
  if (phone_parse(field, s, &pn, err)) return -1;
  if (strcmp(pn.calling_code, own->calling_code) == 0) return 0;
  /* Name every region of the number's code ("US/CA"). */
  char regions[32] = "";
  size_t used = 0;
  for (size_t i = 0; i < PHONE_TABLE_N; i++) {
    if (strcmp(phone__table[i].calling_code, pn.calling_code) != 0) continue;
    const int w = snprintf(regions + used, sizeof regions - used, "%s%s", used ? "/" : "",
                           phone__table[i].region);
    if (w < 0 || (size_t)w >= sizeof regions - used) break;
    used += (size_t)w;
  }
  return hd_err_set(err, HD_FAILED_PRECONDITION,
                    "the phone number must match the account's registered region: an account "
                    "registered in %s can bind only a +%s number; %s is a number of %s (+%s)",
                    own->region, own->calling_code, s, regions, pn.calling_code);
}
