/* Regions and their phone numbers: the table of country calling codes for the regions the
 * service knows (an account's region must be one of them), E.164 parsing, and the rule that an
 * account binds only a number of its own region (a Singapore account cannot bind +852).
 * Pure functions over a static table; no state. */
#ifndef ACCOUNTS_PHONE_REGION_H
#define ACCOUNTS_PHONE_REGION_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"

#define PHONE_DIGITS_MIN 8  /* digits of an E.164 number, calling code included */
#define PHONE_DIGITS_MAX 15 /* E.164's maximum */

/* One region of the table. */
typedef struct phone_region {
  const char *region;       /* ISO 3166-1 alpha-2: "SG" */
  const char *calling_code; /* digits without "+": "65" */
  unsigned nsn_min;         /* digits of the national number after the calling code */
  unsigned nsn_max;
} phone_region;

/* A parsed E.164 number. */
typedef struct phone_number {
  char calling_code[4];                /* "65" */
  char national[PHONE_DIGITS_MAX + 1]; /* the digits after it */
  const phone_region *first;           /* the first region of the table with that code ("US"
                                        * for +1, which CA shares) */
} phone_number;

/* The table's entry of region ("SG"), or NULL when the service does not know it. */
const phone_region *phone_region_find(const char *region);

/* Whether the registration region is closed to new accounts ("IN": registration in India is
 * closed, as PAYTM is no longer supported). */
bool phone_region_closed(const char *region);

/* Parses s as E.164: "+", then PHONE_DIGITS_MIN..PHONE_DIGITS_MAX digits, the first not 0, a
 * calling code of the table and a national number of that region's length. INVALID_ARGUMENT
 * naming field and what is wrong ("phone must be in E.164 form: + then the country calling code
 * and the number, digits only, such as +6591234567", "phone +99912345678 has no country calling
 * code we know", "phone: a +65 (SG) number has 8 digits after +65, this one has 7"). */
int phone_parse(const char *field, const char *s, phone_number *out, hd_err *err);

/* phone_parse, then the region rule: FAILED_PRECONDITION "an account registered in SG can bind
 * only a +65 number; +85291234567 is a number of HK (+852)" when the number's calling code is
 * not region's. region must be one phone_region_find knows (INVALID_ARGUMENT otherwise). */
int phone_check_for_region(const char *field, const char *s, const char *region, hd_err *err);

#endif
