/* The routing service's own settings (HELPDESK_ROUTING_*), read once at start-up. */
#ifndef ROUTING_ROUTING_CONFIG_H
#define ROUTING_ROUTING_CONFIG_H

#include <stdint.h>

#include "core/err.h"

#define ROUTING_WEIGHT_MAX 100 /* the largest weight a category may count for */

typedef struct routing_config {
  /* HELPDESK_ROUTING_WEIGHT_LOWER / _MEDIUM / _HARD (defaults 1 / 2 / 3, 0..100): what an open
   * ticket of that category counts for against its owner's capacity. An uncategorised ticket
   * counts HELPDESK_ROUTING_WEIGHT_UNCATEGORISED (default 1, 0..100). */
  int64_t weight_lower;
  int64_t weight_medium;
  int64_t weight_hard;
  int64_t weight_uncategorised;
  /* HELPDESK_ROUTING_CLAIM_LEASE (default 5m, 1s..1h): a claim's lease when ClaimNext or
   * RenewClaim gives no lease_seconds. */
  int64_t claim_lease_us;
} routing_config;

/* Reads the variables above; INVALID_ARGUMENT naming a malformed one. */
int routing_config_load(routing_config *out, hd_err *err);

/* The weight an open ticket of category (the short name: "LOWER", "MEDIUM", "HARD"; "" or NULL
 * for none) counts for under cfg. An unknown name counts as uncategorised. */
int routing_config_weight(const routing_config *cfg, const char *category);

#endif
