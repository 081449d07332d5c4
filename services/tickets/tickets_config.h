/* The ticket service's own settings (HELPDESK_TICKETS_*), read once at start-up into env->app. */
#ifndef TICKETS_TICKETS_CONFIG_H
#define TICKETS_TICKETS_CONFIG_H

#include <stdint.h>

#include "core/err.h"

typedef struct tickets_config {
  /* HELPDESK_TICKETS_FOLLOW_UP_INTERVAL (default 24h): how long a PENDING_FEEDBACK ticket waits
   * for the customer before the next follow-up is due (and sent by the timer), counted from the
   * message before it as it was sent (a late follow-up pushes the next one back). */
  int64_t follow_up_interval_us;
  /* HELPDESK_TICKETS_FOLLOW_UPS (default 3, 1..20): the unanswered follow-up that moves the
   * ticket to TO_BE_CONFIRMED. */
  int64_t follow_ups;
  /* HELPDESK_TICKETS_AUTO_CLOSE_AFTER (default 3d): silence in TO_BE_CONFIRMED before CLOSED,
   * counted from the moment the ticket entered TO_BE_CONFIRMED. */
  int64_t auto_close_after_us;
  /* HELPDESK_TICKETS_TIMER_POLL (default 200ms, real time): how often the timer loop asks Redis
   * whether a timer is due. */
  int64_t timer_poll_us;
  /* HELPDESK_TICKETS_TIMER_SWEEP (default 30s, on the service's clock): how often the timer loop
   * asks MariaDB directly, so timers fire after a Redis wipe or a lost schedule. */
  int64_t timer_sweep_us;
  /* HELPDESK_TICKETS_URGE_COOLDOWN (default 15m, on the service's clock): after a reminder,
   * UrgeTicket on the same ticket is refused for this long (0 = never), so the owner is not
   * flooded by repeated calls. */
  int64_t urge_cooldown_us;
} tickets_config;

/* Reads the variables above; INVALID_ARGUMENT naming a malformed one. */
int tickets_config_load(tickets_config *out, hd_err *err);

#endif
