/* Time zones for the KPI's months, read from the tz database (/usr/share/zoneinfo, package
 * tzdata) without touching TZ: localtime_r follows the process-wide TZ, which a threaded server
 * must not set at run time, so a zone is read once (at setup) from its TZif file into an
 * immutable table of UTC offsets, which any thread may then use.
 *
 * A zone is its file's transitions (TZif version 2 or later, 64-bit times) followed, past the
 * last one, by those of the file's footer rule (POSIX TZ string: "WITA-8", or
 * "CET-1CEST,M3.5.0,M10.5.0/3"), generated up to the year 2200. "UTC" needs no file. */
#ifndef KPI_KPI_TZ_H
#define KPI_KPI_TZ_H

#include <stdint.h>

#include "core/err.h"

#define KPI_TZ_NAME_MAX  64      /* "America/Argentina/ComodRivadavia" */
#define KPI_TZ_FILE_MAX  1048576 /* bytes of a TZif file read at most */
#define KPI_TZ_LAST_YEAR 2200    /* footer rules are expanded up to this year */

typedef struct kpi_zone kpi_zone;

/* Reads zone name ("UTC", "Asia/Makassar") from dir (NULL: $TZDIR, else /usr/share/zoneinfo).
 * INVALID_ARGUMENT for a name that is not a tz database name (empty, too long, "..", a leading
 * '/', characters other than letters, digits, '/', '_', '-', '+'), a missing or unreadable file
 * ("is package tzdata installed?"), or one that is not TZif or uses a footer rule we do not read
 * (only the M month.week.day form). Caller frees with kpi_zone_free(). */
int kpi_zone_load(const char *name, const char *dir, kpi_zone **out, hd_err *err);

/* NULL is a no-op. */
void kpi_zone_free(kpi_zone *z);

/* The zone's name, as loaded. Borrowed for the zone's life. */
const char *kpi_zone_name(const kpi_zone *z);

/* The UTC offset in seconds (east positive: Asia/Makassar +28800) in force at utc_s. */
int32_t kpi_zone_offset_at(const kpi_zone *z, int64_t utc_s);

/* The earliest UTC second whose local time is at or after local_s (local seconds counted like
 * Unix time): for a local time that exists once, that moment; for one skipped by a clock change,
 * the change itself; for one that occurs twice, its first occurrence. */
int64_t kpi_zone_utc_of_local(const kpi_zone *z, int64_t local_s);

/* Days since 1970-01-01 of a civil date (proleptic Gregorian), and back. */
int64_t kpi_days_from_civil(int64_t y, unsigned m, unsigned d);
void kpi_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* Days in month m (1..12) of year y. */
unsigned kpi_days_in_month(int64_t y, unsigned m);

#endif
