/* The accounts service's own settings (HELPDESK_ACCOUNTS_*), read once at start-up into
 * env->app. Every duration of a rule is here, with the seed's value as its default. */
#ifndef ACCOUNTS_ACCOUNTS_CONFIG_H
#define ACCOUNTS_ACCOUNTS_CONFIG_H

#include <stdint.h>

#include "core/err.h"

#define ACCOUNTS_LINK_BASE_MAX  200
#define ACCOUNTS_DEPARTMENT_MAX 64
#define ACCOUNTS_EMAIL_MAX      254
#define ACCOUNTS_DOMAINS_MAX    1000

typedef struct accounts_config {
  /* HELPDESK_ACCOUNTS_UPGRADE_LINK_TTL (default 3d): how long an enterprise upgrade link works,
   * from the moment it was made; at that moment exactly it no longer does. */
  int64_t upgrade_link_ttl_us;
  /* HELPDESK_ACCOUNTS_UPGRADE_LINK_BASE (default https://console.example.com/upgrade?token=):
   * the link is this followed by the token. */
  char upgrade_link_base[ACCOUNTS_LINK_BASE_MAX + 1];
  /* HELPDESK_ACCOUNTS_CARD_REFUND_AFTER (default 7d): a card's verification charge is expected
   * back this long after binding; past it (strictly) and not refunded, it is overdue. */
  int64_t card_refund_after_us;
  /* HELPDESK_ACCOUNTS_CARD_VERIFICATION_AMOUNT (default 100, in minor units: 1 USD) and
   * HELPDESK_ACCOUNTS_CARD_VERIFICATION_CURRENCY (default USD): the verification charge. */
  int64_t card_verification_amount_minor;
  char card_verification_currency[4];
  /* HELPDESK_ACCOUNTS_REFUND_DEPARTMENT (default ESCALATED, routing's Level 2): the routing
   * department consulted (EscalateToDepartment, mode CONSULT) on an overdue refund: the L2
   * consulting team. */
  char refund_department[ACCOUNTS_DEPARTMENT_MAX + 1];
  /* HELPDESK_ACCOUNTS_RESTORE_ESCALATION_DEPARTMENT (default INFRASTRUCTURE): where a failed
   * restore is escalated (SOP 6.3: the System Administrator team). */
  char restore_department[ACCOUNTS_DEPARTMENT_MAX + 1];
  /* HELPDESK_ACCOUNTS_EMAIL_TEST_ADDRESS (default emailtest@support.example.com): the designated
   * support address email tests are sent to (SOP 4.3 Email Issues). */
  char email_test_address[ACCOUNTS_EMAIL_MAX + 1];
  /* HELPDESK_ACCOUNTS_STAFF_EMAIL_DOMAINS (default staff.example.com): comma-separated domains
   * of the staff's own mailboxes; an email test is never sent to one (SOP 7.3), the designated
   * support address excepted. */
  char staff_email_domains[ACCOUNTS_DOMAINS_MAX + 1];
} accounts_config;

/* Reads the variables above; INVALID_ARGUMENT naming a malformed one. */
int accounts_config_load(accounts_config *out, hd_err *err);

#endif
