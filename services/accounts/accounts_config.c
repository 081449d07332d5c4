/* HELPDESK_ACCOUNTS_* settings (see accounts_config.h). */
#include "accounts_config.h"

#include <stdio.h>
#include <string.h>

#include "clock/clock.h"
#include "config/config.h"
#include "core/ident.h"

#define DAY_US (24LL * 3600 * HD_US_PER_S)

/* Copies the text variable name (default def) into buf of cap bytes; INVALID_ARGUMENT when it
 * is longer. */
static int config__text(const char *name, const char *def, char *buf, size_t cap, hd_err *err) {
  const char *v = hd_config_str(name, def);
  if (strlen(v) >= cap)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s has more than %zu characters", name, cap - 1);
  snprintf(buf, cap, "%s", v);
  return 0;
}

int accounts_config_load(accounts_config *out, hd_err *err) {
  accounts_config c = {0};
  if (hd_config_duration_us("HELPDESK_ACCOUNTS_UPGRADE_LINK_TTL", 3 * DAY_US,
                            &c.upgrade_link_ttl_us, err) ||
      hd_config_duration_us("HELPDESK_ACCOUNTS_CARD_REFUND_AFTER", 7 * DAY_US,
                            &c.card_refund_after_us, err) ||
      hd_config_int("HELPDESK_ACCOUNTS_CARD_VERIFICATION_AMOUNT", 100, 1, 1000000,
                    &c.card_verification_amount_minor, err) ||
      config__text("HELPDESK_ACCOUNTS_UPGRADE_LINK_BASE",
                   "https://console.example.com/upgrade?token=", c.upgrade_link_base,
                   sizeof c.upgrade_link_base, err) ||
      config__text("HELPDESK_ACCOUNTS_CARD_VERIFICATION_CURRENCY", "USD",
                   c.card_verification_currency, sizeof c.card_verification_currency, err) ||
      config__text("HELPDESK_ACCOUNTS_REFUND_DEPARTMENT", "ESCALATED", c.refund_department,
                   sizeof c.refund_department, err) ||
      config__text("HELPDESK_ACCOUNTS_RESTORE_ESCALATION_DEPARTMENT", "INFRASTRUCTURE",
                   c.restore_department, sizeof c.restore_department, err) ||
      config__text("HELPDESK_ACCOUNTS_EMAIL_TEST_ADDRESS", "emailtest@support.example.com",
                   c.email_test_address, sizeof c.email_test_address, err) ||
      config__text("HELPDESK_ACCOUNTS_STAFF_EMAIL_DOMAINS", "staff.example.com",
                   c.staff_email_domains, sizeof c.staff_email_domains, err))
    return -1;
  if (c.upgrade_link_ttl_us <= 0 || c.card_refund_after_us <= 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "HELPDESK_ACCOUNTS_UPGRADE_LINK_TTL and HELPDESK_ACCOUNTS_CARD_REFUND_AFTER "
                      "must be greater than zero");
  const char *cur = c.card_verification_currency;
  if (strlen(cur) != 3 || cur[0] < 'A' || cur[0] > 'Z' || cur[1] < 'A' || cur[1] > 'Z' ||
      cur[2] < 'A' || cur[2] > 'Z')
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "HELPDESK_ACCOUNTS_CARD_VERIFICATION_CURRENCY must be three capital letters "
                      "(ISO 4217, such as USD)");
  if (!c.refund_department[0])
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "HELPDESK_ACCOUNTS_REFUND_DEPARTMENT must name a department");
  if (hd_ident_check("HELPDESK_ACCOUNTS_REFUND_DEPARTMENT", c.refund_department,
                     strlen(c.refund_department), HD_INVALID_ARGUMENT, err))
    return -1;
  if (!c.restore_department[0])
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "HELPDESK_ACCOUNTS_RESTORE_ESCALATION_DEPARTMENT must name a department");
  if (hd_ident_check("HELPDESK_ACCOUNTS_RESTORE_ESCALATION_DEPARTMENT", c.restore_department,
                     strlen(c.restore_department), HD_INVALID_ARGUMENT, err))
    return -1;
  if (!strchr(c.email_test_address, '@'))
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "HELPDESK_ACCOUNTS_EMAIL_TEST_ADDRESS must be an email address");
  *out = c;
  return 0;
}
