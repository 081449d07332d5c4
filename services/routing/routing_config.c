/* HELPDESK_ROUTING_* (see routing_config.h). */
#include "routing_config.h"

#include <string.h>

#include "clock/clock.h"
#include "config/config.h"

int routing_config_load(routing_config *out, hd_err *err) {
  routing_config c = {0};
  if (hd_config_int("HELPDESK_ROUTING_WEIGHT_LOWER", 1, 0, ROUTING_WEIGHT_MAX, &c.weight_lower,
                    err) ||
      hd_config_int("HELPDESK_ROUTING_WEIGHT_MEDIUM", 2, 0, ROUTING_WEIGHT_MAX, &c.weight_medium,
                    err) ||
      hd_config_int("HELPDESK_ROUTING_WEIGHT_HARD", 3, 0, ROUTING_WEIGHT_MAX, &c.weight_hard,
                    err) ||
      hd_config_int("HELPDESK_ROUTING_WEIGHT_UNCATEGORISED", 1, 0, ROUTING_WEIGHT_MAX,
                    &c.weight_uncategorised, err) ||
      hd_config_duration_us("HELPDESK_ROUTING_CLAIM_LEASE", 5 * 60 * HD_US_PER_S, &c.claim_lease_us,
                            err))
    return -1;
  if (c.claim_lease_us < HD_US_PER_S || c.claim_lease_us > 3600 * HD_US_PER_S)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "HELPDESK_ROUTING_CLAIM_LEASE must be between 1s and 1h");
  *out = c;
  return 0;
}

int routing_config_weight(const routing_config *cfg, const char *category) {
  if (category && strcmp(category, "LOWER") == 0) return (int)cfg->weight_lower;
  if (category && strcmp(category, "MEDIUM") == 0) return (int)cfg->weight_medium;
  if (category && strcmp(category, "HARD") == 0) return (int)cfg->weight_hard;
  return (int)cfg->weight_uncategorised;
}
