/* The KPI service's configuration (HELPDESK_KPI_*): default category weights, targets, the
 * overall score's weights, the working-day calendar and the tenants' time zones. Read once at
 * setup; read-only afterwards, so every thread may use it. The README's KPI section lists every
 * variable with its default. */
#ifndef KPI_KPI_CONFIG_H
#define KPI_KPI_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "kpi_tz.h"

/* Categories as the facts hold them; the index of weights and counts. */
typedef enum kpi_category {
  KPI_CAT_NONE = 0, /* not categorised ('') */
  KPI_CAT_LOWER,
  KPI_CAT_MEDIUM,
  KPI_CAT_HARD,
  KPI_CAT_COUNT
} kpi_category;

/* "" / "LOWER" / "MEDIUM" / "HARD" → the category (an unknown name counts as none). */
kpi_category kpi_category_of(const char *name);

/* The ten measures of the overall score, in the contract's order. */
typedef enum kpi_measure {
  KPI_M_RESOLUTION = 0,
  KPI_M_RESPONSE,
  KPI_M_ESCALATION,
  KPI_M_PRODUCTIVITY,
  KPI_M_SATISFACTION,
  KPI_M_PDI,
  KPI_M_PIS,
  KPI_M_ADAPTABILITY,
  KPI_M_INITIATIVE,
  KPI_M_SOP,
  KPI_M_COUNT
} kpi_measure;

/* "resolution_performance_index" ... "sop_compliance". */
const char *kpi_measure_name(kpi_measure m);

#define KPI_HOLIDAYS_MAX 400 /* dates in HELPDESK_KPI_HOLIDAYS */
#define KPI_ZONES_MAX    256 /* tenants in HELPDESK_KPI_TENANT_TIME_ZONES */

typedef struct kpi_tenant_zone {
  char tenant[65];
  kpi_zone *zone;
} kpi_tenant_zone;

typedef struct kpi_config {
  double weights[KPI_CAT_COUNT];       /* HELPDESK_KPI_WEIGHT_{UNCATEGORISED,LOWER,MEDIUM,HARD} */
  int64_t first_response_target_us;    /* HELPDESK_KPI_FIRST_RESPONSE_TARGET, 1h */
  double resolved_points_per_day;      /* HELPDESK_KPI_TARGET_RESOLVED_POINTS_PER_DAY, 6 */
  double handled_per_day;              /* HELPDESK_KPI_TARGET_HANDLED_PER_DAY, 8 */
  double overall_weights[KPI_M_COUNT]; /* HELPDESK_KPI_OVERALL_WEIGHTS */
  unsigned weekdays;                   /* bit d: weekday d (0 Sunday) is a working day */
  int64_t holidays[KPI_HOLIDAYS_MAX];  /* days since the epoch, ascending */
  size_t n_holidays;
  kpi_zone *zone;                       /* HELPDESK_KPI_TIME_ZONE, UTC */
  kpi_tenant_zone zones[KPI_ZONES_MAX]; /* HELPDESK_KPI_TENANT_TIME_ZONES */
  size_t n_zones;
} kpi_config;

/* Reads the configuration from the environment into *cfg. INVALID_ARGUMENT naming the variable
 * and what it expects when one is malformed. On failure nothing is left to free; on success
 * free with kpi_config_free(). */
int kpi_config_load(kpi_config *cfg, hd_err *err);

/* Frees the zones. */
void kpi_config_free(kpi_config *cfg);

/* The time zone of tenant (its own, or the default). Borrowed from cfg. */
const kpi_zone *kpi_config_zone(const kpi_config *cfg, const char *tenant);

#endif
