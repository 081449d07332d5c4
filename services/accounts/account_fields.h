/* Checks of the accounts contract's own kinds of field, with messages a person can act on: an
 * email, a domain or hostname, a region, a currency. Each is 0, or -1 with call->err set to
 * INVALID_ARGUMENT naming the field (phones: phone_region.h). */
#ifndef ACCOUNTS_ACCOUNT_FIELDS_H
#define ACCOUNTS_ACCOUNT_FIELDS_H

#include <stdbool.h>

#include "rpc/call.h"

/* An email of at most ACCOUNT_EMAIL_MAX characters: one "@", 1..64 characters before it, a
 * domain with a dot after it, no white space or control character. Empty passes unless
 * required. */
int ac_check_email(hd_call *c, const char *field, const char *s, bool required);

/* A domain or hostname of at most ACCOUNT_DOMAIN_MAX characters: labels of 1..63 letters,
 * digits and '-' (not at a label's ends) joined by '.'; need_dot asks for two labels at least (a
 * domain). Empty passes unless required. */
int ac_check_domain(hd_call *c, const char *field, const char *s, bool required, bool need_dot);

/* s in lowercase, in call->arena (domains and hostnames compare in lowercase); NULL when full. */
char *ac_lower(hd_call *c, const char *s);

/* A region the service knows (phone_region_find): two capitals; "sg" is refused with a hint. */
int ac_check_region(hd_call *c, const char *field, const char *s);

/* An ISO 4217 currency: three capitals. */
int ac_check_currency(hd_call *c, const char *field, const char *s);

#endif
