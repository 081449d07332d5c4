/* HELPDESK_TICKETS_* settings (see tickets_config.h). */
#include "tickets_config.h"

#include "clock/clock.h"
#include "config/config.h"
#include "ticket_limits.h"

int tickets_config_load(tickets_config *out, hd_err *err) {
  tickets_config c = {0};
  if (hd_config_duration_us("HELPDESK_TICKETS_FOLLOW_UP_INTERVAL", 24 * 3600 * HD_US_PER_S,
                            &c.follow_up_interval_us, err) ||
      hd_config_int("HELPDESK_TICKETS_FOLLOW_UPS", TICKET_FOLLOW_UPS_DEFAULT, 1, 20, &c.follow_ups,
                    err) ||
      hd_config_duration_us("HELPDESK_TICKETS_AUTO_CLOSE_AFTER", TICKET_AUTO_CLOSE_DEFAULT_US,
                            &c.auto_close_after_us, err) ||
      hd_config_duration_us("HELPDESK_TICKETS_TIMER_POLL", 200 * HD_US_PER_MS, &c.timer_poll_us,
                            err) ||
      hd_config_duration_us("HELPDESK_TICKETS_TIMER_SWEEP", 30 * HD_US_PER_S, &c.timer_sweep_us,
                            err) ||
      hd_config_duration_us("HELPDESK_TICKETS_URGE_COOLDOWN", 15 * 60 * HD_US_PER_S,
                            &c.urge_cooldown_us, err))
    return -1;
  if (c.urge_cooldown_us < 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "HELPDESK_TICKETS_URGE_COOLDOWN must not be negative");
  if (c.follow_up_interval_us <= 0 || c.auto_close_after_us <= 0 || c.timer_poll_us <= 0 ||
      c.timer_sweep_us <= 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "HELPDESK_TICKETS_* durations must be greater than zero");
  *out = c;
  return 0;
}
