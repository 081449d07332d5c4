/* HELPDESK_KPI_* into a kpi_config (kpi_config.h). */
#include "kpi_config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock/clock.h"
#include "config/config.h"

#define CONFIG_LIST_MAX 8192 /* bytes of a list variable */

static const char *const MEASURE_NAMES[KPI_M_COUNT] = {"resolution_performance_index",
                                                       "response_efficiency_metric",
                                                       "effective_escalation",
                                                       "individual_productivity",
                                                       "customer_satisfaction",
                                                       "personal_dynamic_index",
                                                       "performance_impact_service",
                                                       "adaptability",
                                                       "initiative",
                                                       "sop_compliance"};

const char *kpi_measure_name(kpi_measure m) {
  return (unsigned)m < KPI_M_COUNT ? MEASURE_NAMES[m] : "unknown";
}

kpi_category kpi_category_of(const char *name) {
  if (!name) return KPI_CAT_NONE;
  if (strcmp(name, "LOWER") == 0) return KPI_CAT_LOWER;
  if (strcmp(name, "MEDIUM") == 0) return KPI_CAT_MEDIUM;
  if (strcmp(name, "HARD") == 0) return KPI_CAT_HARD;
  return KPI_CAT_NONE;
}

/* A number in [min, max] from text s (the whole of it). */
static int config__number(const char *s, double min, double max, double *out) {
  char *end = NULL;
  const double v = strtod(s, &end);
  if (!end || end == s || *end || !isfinite(v) || v < min || v > max) return -1;
  *out = v;
  return 0;
}

static int config__double(const char *name, double def, double min, double max, double *out,
                          hd_err *err) {
  const char *s = hd_config_str(name, NULL);
  *out = def;
  if (!s) return 0;
  if (config__number(s, min, max, out))
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s must be a number from %g to %g, got \"%s\"",
                      name, min, max, s);
  return 0;
}

/* Copies a list variable into buf (NULL when unset). */
static const char *config__list(const char *name, char *buf, size_t cap, hd_err *err) {
  const char *s = hd_config_str(name, NULL);
  if (!s) return NULL;
  if (strlen(s) >= cap) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "%s is longer than %zu bytes", name, cap - 1);
    return buf; /* non-NULL with err set: the caller checks err */
  }
  snprintf(buf, cap, "%s", s);
  return buf;
}

static int config__overall(kpi_config *cfg, hd_err *err) {
  for (int m = 0; m < KPI_M_COUNT; m++) cfg->overall_weights[m] = m < KPI_M_PDI ? 14 : 6;
  char buf[CONFIG_LIST_MAX];
  const char *v = config__list("HELPDESK_KPI_OVERALL_WEIGHTS", buf, sizeof buf, err);
  if (!v || err->code) return err->code ? -1 : 0;
  char *save = NULL;
  for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(item, '=');
    int m = -1;
    if (eq) {
      *eq = '\0';
      for (int i = 0; i < KPI_M_COUNT; i++)
        if (strcmp(item, MEASURE_NAMES[i]) == 0) m = i;
    }
    if (m < 0 || config__number(eq + 1, 0, 1000, &cfg->overall_weights[m]))
      return hd_err_set(err, HD_INVALID_ARGUMENT,
                        "HELPDESK_KPI_OVERALL_WEIGHTS takes measure=weight pairs (weights 0..1000) "
                        "separated by commas, measures among resolution_performance_index, "
                        "response_efficiency_metric, effective_escalation, "
                        "individual_productivity, customer_satisfaction, personal_dynamic_index, "
                        "performance_impact_service, adaptability, initiative, sop_compliance; "
                        "\"%s\" is not one",
                        item);
  }
  return 0;
}

static int config__weekdays(kpi_config *cfg, hd_err *err) {
  static const char *const DAYS[7] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};
  cfg->weekdays = 0x3e; /* Monday..Friday */
  char buf[256];
  const char *v = config__list("HELPDESK_KPI_WORKING_WEEKDAYS", buf, sizeof buf, err);
  if (!v || err->code) return err->code ? -1 : 0;
  cfg->weekdays = 0;
  char *save = NULL;
  for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    int d = -1;
    for (int i = 0; i < 7; i++)
      if (strcmp(item, DAYS[i]) == 0) d = i;
    if (d < 0)
      return hd_err_set(
          err, HD_INVALID_ARGUMENT,
          "HELPDESK_KPI_WORKING_WEEKDAYS takes days among MON,TUE,WED,THU,FRI,SAT,SUN "
          "separated by commas; \"%s\" is not one",
          item);
    cfg->weekdays |= 1u << d;
  }
  return 0;
}

static int config__cmp_day(const void *a, const void *b) {
  const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static int config__holidays(kpi_config *cfg, hd_err *err) {
  char buf[CONFIG_LIST_MAX];
  const char *v = config__list("HELPDESK_KPI_HOLIDAYS", buf, sizeof buf, err);
  if (!v || err->code) return err->code ? -1 : 0;
  char *save = NULL;
  for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    int y = 0, m = 0, d = 0, n = 0;
    if (sscanf(item, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 || (size_t)n != strlen(item) ||
        y < 1970 || y > 2199 || m < 1 || m > 12 || d < 1 ||
        (unsigned)d > kpi_days_in_month(y, (unsigned)m) || cfg->n_holidays == KPI_HOLIDAYS_MAX)
      return hd_err_set(err, HD_INVALID_ARGUMENT,
                        "HELPDESK_KPI_HOLIDAYS takes up to %d dates YYYY-MM-DD separated by "
                        "commas; \"%s\" is not one",
                        KPI_HOLIDAYS_MAX, item);
    cfg->holidays[cfg->n_holidays++] = kpi_days_from_civil(y, (unsigned)m, (unsigned)d);
  }
  qsort(cfg->holidays, cfg->n_holidays, sizeof cfg->holidays[0], config__cmp_day);
  return 0;
}

static int config__zones(kpi_config *cfg, hd_err *err) {
  hd_err zerr = {0};
  if (kpi_zone_load(hd_config_str("HELPDESK_KPI_TIME_ZONE", "UTC"), NULL, &cfg->zone, &zerr))
    return hd_err_set(err, HD_INVALID_ARGUMENT, "HELPDESK_KPI_TIME_ZONE: %s", zerr.msg);
  char buf[CONFIG_LIST_MAX];
  const char *v = config__list("HELPDESK_KPI_TENANT_TIME_ZONES", buf, sizeof buf, err);
  if (!v || err->code) return err->code ? -1 : 0;
  char *save = NULL;
  for (char *item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(item, '=');
    if (!eq || eq == item || eq - item > 64 || cfg->n_zones == KPI_ZONES_MAX)
      return hd_err_set(err, HD_INVALID_ARGUMENT,
                        "HELPDESK_KPI_TENANT_TIME_ZONES takes up to %d tenant=Zone pairs "
                        "separated by commas (acme=Asia/Makassar); \"%s\" is not one",
                        KPI_ZONES_MAX, item);
    *eq = '\0';
    kpi_tenant_zone *tz = &cfg->zones[cfg->n_zones];
    snprintf(tz->tenant, sizeof tz->tenant, "%s", item);
    if (kpi_zone_load(eq + 1, NULL, &tz->zone, &zerr))
      return hd_err_set(err, HD_INVALID_ARGUMENT, "HELPDESK_KPI_TENANT_TIME_ZONES, tenant %s: %s",
                        item, zerr.msg);
    cfg->n_zones++;
  }
  return 0;
}

int kpi_config_load(kpi_config *cfg, hd_err *err) {
  memset(cfg, 0, sizeof *cfg);
  static const char *const WEIGHT_VARS[KPI_CAT_COUNT] = {
      "HELPDESK_KPI_WEIGHT_UNCATEGORISED", "HELPDESK_KPI_WEIGHT_LOWER",
      "HELPDESK_KPI_WEIGHT_MEDIUM", "HELPDESK_KPI_WEIGHT_HARD"};
  static const double WEIGHT_DEFAULTS[KPI_CAT_COUNT] = {1, 1, 2, 3};
  for (int c = 0; c < KPI_CAT_COUNT; c++)
    if (config__double(WEIGHT_VARS[c], WEIGHT_DEFAULTS[c], 0, 100, &cfg->weights[c], err))
      goto fail;
  if (hd_config_duration_us("HELPDESK_KPI_FIRST_RESPONSE_TARGET", 3600 * HD_US_PER_S,
                            &cfg->first_response_target_us, err) ||
      config__double("HELPDESK_KPI_TARGET_RESOLVED_POINTS_PER_DAY", 6, 0.01, 10000,
                     &cfg->resolved_points_per_day, err) ||
      config__double("HELPDESK_KPI_TARGET_HANDLED_PER_DAY", 8, 0.01, 10000, &cfg->handled_per_day,
                     err) ||
      config__overall(cfg, err) || config__weekdays(cfg, err) || config__holidays(cfg, err) ||
      config__zones(cfg, err))
    goto fail;
  if (cfg->first_response_target_us <= 0) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "HELPDESK_KPI_FIRST_RESPONSE_TARGET must be positive");
    goto fail;
  }
  return 0;
fail:
  kpi_config_free(cfg);
  return -1;
}

void kpi_config_free(kpi_config *cfg) {
  kpi_zone_free(cfg->zone);
  cfg->zone = NULL;
  for (size_t i = 0; i < cfg->n_zones; i++) kpi_zone_free(cfg->zones[i].zone);
  cfg->n_zones = 0;
}

const kpi_zone *kpi_config_zone(const kpi_config *cfg, const char *tenant) {
  for (size_t i = 0; i < cfg->n_zones; i++)
    if (strcmp(cfg->zones[i].tenant, tenant) == 0) return cfg->zones[i].zone;
  return cfg->zone;
}
