/* Report periods: a month ("YYYY-MM") or a half year of the tenant's time zone, as UTC bounds,
 * and the working days they count. */
#ifndef KPI_KPI_PERIOD_H
#define KPI_KPI_PERIOD_H

#include <stdint.h>

#include "core/err.h"
#include "kpi_config.h"
#include "kpi_tz.h"

#define KPI_YEAR_MIN 1970
#define KPI_YEAR_MAX 2199

typedef struct kpi_period {
  char label[8]; /* "2026-01", "2026-H1" */
  int64_t year;
  unsigned month;   /* the first month, 1..12 */
  unsigned months;  /* 1 or 6 */
  int64_t start_us; /* UTC: local midnight of the first day */
  int64_t end_us;   /* UTC: local midnight of the first day after it (exclusive) */
  int32_t working_days;
} kpi_period;

/* Parses "YYYY-MM" (KPI_YEAR_MIN..KPI_YEAR_MAX) into *y and *m. INVALID_ARGUMENT "<field> must be
 * a month YYYY-MM (2026-01), got ..." otherwise. */
int kpi_month_parse(const char *field, const char *text, int64_t *y, unsigned *m, hd_err *err);

/* The period of `months` months (1 or 6) from month m of year y in zone, with its working days
 * by cfg's calendar counted from its first day up to the day of now_us (local) when that falls
 * inside it (none before it starts). */
void kpi_period_make(int64_t y, unsigned m, unsigned months, const kpi_zone *zone,
                     const kpi_config *cfg, int64_t now_us, kpi_period *out);

/* Working days (cfg's weekdays less its holidays) among local days first..last (days since the
 * epoch, inclusive). */
int32_t kpi_working_days(const kpi_config *cfg, int64_t first, int64_t last);

#endif
