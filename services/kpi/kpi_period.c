/* Months and half years in a tenant's zone (kpi_period.h). */
#include "kpi_period.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"

int kpi_month_parse(const char *field, const char *text, int64_t *y, unsigned *m, hd_err *err) {
  int yy = 0, mm = 0, n = 0;
  if (!text || strlen(text) != 7 || sscanf(text, "%4d-%2d%n", &yy, &mm, &n) != 2 || n != 7 ||
      text[4] != '-' || yy < KPI_YEAR_MIN || yy > KPI_YEAR_MAX || mm < 1 || mm > 12)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "%s must be a month YYYY-MM from %d-01 to %d-12 (2026-01), got \"%.16s\"",
                      field, KPI_YEAR_MIN, KPI_YEAR_MAX, text ? text : "");
  *y = yy;
  *m = (unsigned)mm;
  return 0;
}

static int period__holiday(const kpi_config *cfg, int64_t day) {
  size_t lo = 0, hi = cfg->n_holidays;
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (cfg->holidays[mid] == day) return 1;
    if (cfg->holidays[mid] < day)
      lo = mid + 1;
    else
      hi = mid;
  }
  return 0;
}

int32_t kpi_working_days(const kpi_config *cfg, int64_t first, int64_t last) {
  int32_t n = 0;
  for (int64_t d = first; d <= last; d++) {
    const unsigned wd = (unsigned)(((d % 7) + 11) % 7); /* 1970-01-01 was a Thursday (4) */
    if ((cfg->weekdays >> wd & 1u) && !period__holiday(cfg, d)) n++;
  }
  return n;
}

static int64_t period__floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && a < 0); }

void kpi_period_make(int64_t y, unsigned m, unsigned months, const kpi_zone *zone,
                     const kpi_config *cfg, int64_t now_us, kpi_period *out) {
  memset(out, 0, sizeof *out);
  out->year = y;
  out->month = m;
  out->months = months;
  if (months == 1)
    snprintf(out->label, sizeof out->label, "%04d-%02u", (int)y, m);
  else
    snprintf(out->label, sizeof out->label, "%04d-H%u", (int)y, m <= 6 ? 1u : 2u);
  int64_t y2 = y;
  unsigned m2 = m + months;
  while (m2 > 12) m2 -= 12, y2++;
  const int64_t first = kpi_days_from_civil(y, m, 1), next = kpi_days_from_civil(y2, m2, 1);
  out->start_us = kpi_zone_utc_of_local(zone, first * 86400) * HD_US_PER_S;
  out->end_us = kpi_zone_utc_of_local(zone, next * 86400) * HD_US_PER_S;
  const int64_t now_s = period__floor_div(now_us, HD_US_PER_S);
  const int64_t today = period__floor_div(now_s + kpi_zone_offset_at(zone, now_s), 86400);
  const int64_t last = today < next - 1 ? today : next - 1;
  out->working_days = last >= first ? kpi_working_days(cfg, first, last) : 0;
}
