/* Time zones from TZif files (RFC 8536) and their POSIX footer rule: see kpi_tz.h. */
#include "kpi_tz.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZ_DEFAULT_DIR "/usr/share/zoneinfo"
#define TZ_MAX_TIMES   4096 /* transitions kept: tzdata's zones have a few hundred */

typedef struct tz_transition {
  int64_t at;  /* UTC seconds */
  int32_t off; /* the offset from then on */
} tz_transition;

struct kpi_zone {
  char name[KPI_TZ_NAME_MAX + 1];
  int32_t initial; /* before the first transition */
  tz_transition *t;
  size_t n, cap;
};

/* ---- civil dates (H. Hinnant's algorithms) ---- */

int64_t kpi_days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = (unsigned)(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

void kpi_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = (unsigned)(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

unsigned kpi_days_in_month(int64_t y, unsigned m) {
  static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : days[(m - 1) % 12];
}

/* ---- the table ---- */

static int tz__push(kpi_zone *z, int64_t at, int32_t off, hd_err *err) {
  if (z->n > 0 && at <= z->t[z->n - 1].at) return 0; /* only ever later ones */
  if (z->n == z->cap) {
    if (z->cap >= TZ_MAX_TIMES)
      return hd_err_set(err, HD_INVALID_ARGUMENT, "time zone %s has more than %d transitions",
                        z->name, TZ_MAX_TIMES);
    const size_t cap = z->cap ? z->cap * 2 : 64;
    tz_transition *t = realloc(z->t, cap * sizeof *t);
    if (!t) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading %s", z->name);
    z->t = t;
    z->cap = cap;
  }
  z->t[z->n++] = (tz_transition){at, off};
  return 0;
}

/* ---- TZif ---- */

static int64_t tz__be(const unsigned char *p, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; i++) v = (v << 8) | p[i];
  if (bytes == 4) return (int32_t)(uint32_t)v;
  return (int64_t)v;
}

typedef struct tz_counts {
  size_t isut, isstd, leap, time, type, chars;
} tz_counts;

static int tz__header(const unsigned char *p, size_t len, tz_counts *c, char *version) {
  if (len < 44 || memcmp(p, "TZif", 4) != 0) return -1;
  *version = (char)p[4];
  c->isut = (size_t)tz__be(p + 20, 4);
  c->isstd = (size_t)tz__be(p + 24, 4);
  c->leap = (size_t)tz__be(p + 28, 4);
  c->time = (size_t)tz__be(p + 32, 4);
  c->type = (size_t)tz__be(p + 36, 4);
  c->chars = (size_t)tz__be(p + 40, 4);
  if (c->time > 100000 || c->type == 0 || c->type > 256 || c->chars > 100000 || c->leap > 100000 ||
      c->isut > 256 || c->isstd > 256)
    return -1;
  return 0;
}

static size_t tz__block(const tz_counts *c, size_t tsize) {
  return c->time * tsize + c->time + c->type * 6 + c->chars + c->leap * (tsize + 4) + c->isstd +
         c->isut;
}

/* ---- the POSIX footer rule ---- */

typedef struct tz_rule {
  unsigned month, week, wday; /* Mm.w.d */
  int32_t time;               /* seconds after local midnight, may exceed a day or be negative */
} tz_rule;

static const char *tz__name(const char *s) {
  if (*s == '<') {
    while (*s && *s != '>') s++;
    return *s == '>' ? s + 1 : NULL;
  }
  const char *b = s;
  while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) s++;
  return s - b >= 3 ? s : NULL;
}

/* [+-]h[h][:mm[:ss]] as seconds (hours up to max_h). */
static const char *tz__hms(const char *s, int max_h, int32_t *out) {
  int sign = 1;
  if (*s == '+' || *s == '-') sign = *s++ == '-' ? -1 : 1;
  int h = 0, m = 0, sec = 0, digits = 0;
  while (*s >= '0' && *s <= '9' && digits < 3) h = h * 10 + (*s++ - '0'), digits++;
  if (digits == 0 || h > max_h) return NULL;
  if (*s == ':') {
    s++;
    if (!(s[0] >= '0' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9')) return NULL;
    m = (s[0] - '0') * 10 + (s[1] - '0');
    s += 2;
    if (*s == ':') {
      s++;
      if (!(s[0] >= '0' && s[0] <= '5' && s[1] >= '0' && s[1] <= '9')) return NULL;
      sec = (s[0] - '0') * 10 + (s[1] - '0');
      s += 2;
    }
  }
  *out = sign * (h * 3600 + m * 60 + sec);
  return s;
}

static const char *tz__rule(const char *s, tz_rule *r) {
  if (*s != 'M') return NULL; /* Jn and n are not used by tzdata's zones */
  char *end = NULL;
  const long m = strtol(s + 1, &end, 10);
  if (!end || *end != '.') return NULL;
  const long w = strtol(end + 1, &end, 10);
  if (!end || *end != '.') return NULL;
  const long d = strtol(end + 1, &end, 10);
  if (m < 1 || m > 12 || w < 1 || w > 5 || d < 0 || d > 6) return NULL;
  *r = (tz_rule){(unsigned)m, (unsigned)w, (unsigned)d, 7200};
  s = end;
  if (*s == '/' && !(s = tz__hms(s + 1, 167, &r->time))) return NULL;
  return s;
}

/* Local seconds (in the offset in force before it) of the rule's moment in year y. */
static int64_t tz__rule_local(const tz_rule *r, int64_t y) {
  const int64_t first = kpi_days_from_civil(y, r->month, 1);
  const unsigned wd_first = (unsigned)(((first % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
  unsigned day = 1 + (r->wday + 7 - wd_first) % 7 + (r->week - 1) * 7;
  while (day > kpi_days_in_month(y, r->month)) day -= 7;
  return (first + day - 1) * 86400 + r->time;
}

/* Reads the footer and appends its transitions from the year of the last one to
 * KPI_TZ_LAST_YEAR. An empty footer keeps the last offset. */
static int tz__footer(kpi_zone *z, const char *s, hd_err *err) {
  if (!*s) return 0;
  int32_t std = 0, dst = 0;
  const char *p = tz__name(s);
  if (!p || !(p = tz__hms(p, 24, &std))) goto bad;
  std = -std; /* POSIX counts west positive */
  if (!*p) {
    if (z->n == 0) z->initial = std;
    return tz__push(z, z->n ? z->t[z->n - 1].at + 1 : INT64_MIN / 2, std, err);
  }
  if (!(p = tz__name(p))) goto bad;
  dst = std + 3600;
  if (*p && *p != ',') {
    if (!(p = tz__hms(p, 24, &dst))) goto bad;
    dst = -dst;
  }
  tz_rule start, end;
  if (*p++ != ',' || !(p = tz__rule(p, &start)) || *p++ != ',' || !(p = tz__rule(p, &end)) || *p)
    goto bad;
  int64_t y0 = 1970;
  if (z->n) {
    int64_t yy;
    unsigned mm, dd;
    kpi_civil_from_days(z->t[z->n - 1].at / 86400, &yy, &mm, &dd);
    y0 = yy;
  }
  for (int64_t y = y0; y <= KPI_TZ_LAST_YEAR; y++) {
    const int64_t on = tz__rule_local(&start, y) - std, off = tz__rule_local(&end, y) - dst;
    const int64_t a = on < off ? on : off, b = on < off ? off : on;
    if (tz__push(z, a, on < off ? dst : std, err) || tz__push(z, b, on < off ? std : dst, err))
      return -1;
  }
  return 0;
bad:
  return hd_err_set(err, HD_INVALID_ARGUMENT,
                    "time zone %s: its rule \"%s\" is not one we read (POSIX TZ with M rules)",
                    z->name, s);
}

static int tz__parse(kpi_zone *z, const unsigned char *p, size_t len, hd_err *err) {
  tz_counts c;
  char version = 0;
  if (tz__header(p, len, &c, &version) != 0) goto bad;
  size_t at = 44;
  size_t tsize = 4;
  if (version >= '2') { /* skip the 32-bit block: the 64-bit one follows with its own header */
    at += tz__block(&c, 4);
    if (at > len || tz__header(p + at, len - at, &c, &version) != 0) goto bad;
    at += 44;
    tsize = 8;
  }
  if (at + tz__block(&c, tsize) > len) goto bad;
  const unsigned char *times = p + at, *idx = times + c.time * tsize, *types = idx + c.time;
  for (size_t i = 0; i < c.time; i++)
    if (idx[i] >= c.type) goto bad;
  z->initial = (int32_t)tz__be(types, 4);
  for (size_t i = 0; i < c.time; i++) {
    const int32_t off = (int32_t)tz__be(types + 6 * idx[i], 4);
    if (tz__push(z, tz__be(times + i * tsize, tsize), off, err)) return -1;
  }
  if (tsize == 8) {
    const char *foot = (const char *)p + at + tz__block(&c, tsize);
    const size_t rest = len - (size_t)(foot - (const char *)p);
    if (rest < 2 || foot[0] != '\n') goto bad;
    char rule[128];
    const char *nl = memchr(foot + 1, '\n', rest - 1);
    if (!nl || (size_t)(nl - foot - 1) >= sizeof rule) goto bad;
    memcpy(rule, foot + 1, (size_t)(nl - foot - 1));
    rule[nl - foot - 1] = '\0';
    if (tz__footer(z, rule, err)) return -1;
  }
  return 0;
bad:
  return hd_err_set(err, HD_INVALID_ARGUMENT, "time zone %s: its file is not a TZif file", z->name);
}

static bool tz__name_ok(const char *name) {
  const size_t n = strlen(name);
  if (n == 0 || n > KPI_TZ_NAME_MAX || name[0] == '/' || strstr(name, "..")) return false;
  for (size_t i = 0; i < n; i++) {
    const char ch = name[i];
    if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
          ch == '/' || ch == '_' || ch == '-' || ch == '+'))
      return false;
  }
  return true;
}

int kpi_zone_load(const char *name, const char *dir, kpi_zone **out, hd_err *err) {
  int rc = -1;
  kpi_zone *z = NULL;
  unsigned char *buf = NULL;
  FILE *f = NULL;
  *out = NULL;
  if (!name || !tz__name_ok(name)) {
    hd_err_set(err, HD_INVALID_ARGUMENT,
               "\"%s\" is not a time zone name of the tz database (such as UTC or "
               "Asia/Makassar)",
               name ? name : "");
    goto done;
  }
  z = calloc(1, sizeof *z);
  if (!z) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading time zone %s", name);
    goto done;
  }
  snprintf(z->name, sizeof z->name, "%s", name);
  if (strcmp(name, "UTC") == 0) { /* no file needed */
    *out = z;
    z = NULL;
    rc = 0;
    goto done;
  }
  if (!dir) dir = getenv("TZDIR");
  if (!dir || !*dir) dir = TZ_DEFAULT_DIR;
  char path[512];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = fopen(path, "rb");
  if (!f) {
    hd_err_set(err, HD_INVALID_ARGUMENT,
               "time zone %s: cannot read %s (%s); is it a tz database name, and is package "
               "tzdata installed?",
               name, path, strerror(errno));
    goto done;
  }
  buf = malloc(KPI_TZ_FILE_MAX);
  if (!buf) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading time zone %s", name);
    goto done;
  }
  const size_t len = fread(buf, 1, KPI_TZ_FILE_MAX, f);
  if (tz__parse(z, buf, len, err)) goto done;
  *out = z;
  z = NULL;
  rc = 0;
done:
  if (f) fclose(f);
  free(buf);
  kpi_zone_free(z);
  return rc;
}

void kpi_zone_free(kpi_zone *z) {
  if (!z) return;
  free(z->t);
  free(z);
}

const char *kpi_zone_name(const kpi_zone *z) { return z->name; }

/* The index of the last transition at or before t; -1 when none. */
static ptrdiff_t tz__find(const kpi_zone *z, int64_t t) {
  size_t lo = 0, hi = z->n;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (z->t[mid].at <= t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return (ptrdiff_t)lo - 1;
}

int32_t kpi_zone_offset_at(const kpi_zone *z, int64_t utc_s) {
  const ptrdiff_t i = tz__find(z, utc_s);
  return i < 0 ? z->initial : z->t[i].off;
}

int64_t kpi_zone_utc_of_local(const kpi_zone *z, int64_t local_s) {
  /* Pieces of constant offset, in order; offsets stay within ±26 h. */
  ptrdiff_t i = tz__find(z, local_s - 30 * 3600);
  for (; i < (ptrdiff_t)z->n; i++) {
    const int64_t from = i < 0 ? INT64_MIN / 2 : z->t[i].at;
    const int64_t to = i + 1 < (ptrdiff_t)z->n ? z->t[i + 1].at : INT64_MAX / 2;
    const int32_t off = i < 0 ? z->initial : z->t[i].off;
    const int64_t cand = local_s - off > from ? local_s - off : from;
    if (cand < to) return cand;
  }
  return local_s - kpi_zone_offset_at(z, local_s);
}
