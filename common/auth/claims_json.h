/* A strict, bounded JSON reader for JWT headers and claims: one flat object whose values
 * are strings, whole numbers or arrays of strings. Internal to common/auth. */
#ifndef HD_AUTH_CLAIMS_JSON_H
#define HD_AUTH_CLAIMS_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_JSON_MAX_MEMBERS 16 /* members of the object */
#define AUTH_JSON_MAX_ITEMS   16 /* strings across all arrays */

typedef enum auth_json_type { AUTH_JSON_STRING, AUTH_JSON_INT, AUTH_JSON_STRINGS } auth_json_type;

/* Bytes of an unescaped string; not NUL-terminated. Borrowed from the parsed buffer. */
typedef struct auth_json_span {
  const char *p;
  size_t len;
} auth_json_span;

typedef struct auth_json_member {
  auth_json_span key;
  auth_json_type type;
  auth_json_span str;  /* AUTH_JSON_STRING */
  int64_t num;         /* AUTH_JSON_INT */
  size_t first, count; /* AUTH_JSON_STRINGS: items[first .. first + count) of the object */
} auth_json_member;

typedef struct auth_json_object {
  auth_json_member members[AUTH_JSON_MAX_MEMBERS];
  size_t n_members;
  auth_json_span items[AUTH_JSON_MAX_ITEMS];
  size_t n_items;
} auth_json_object;

/* Parses buf[0..len) as exactly one such object (surrounding whitespace allowed).
 * Strings are unescaped in place, so buf is overwritten and every span in *out borrows from
 * it. Refused (-1, *why set to a short static reason): invalid UTF-8, control characters
 * in strings, unknown escapes, \u0000, lone surrogates, nested objects, booleans, null,
 * fractions and exponents, numbers outside int64, duplicate keys, more than the limits
 * above, and anything after the object. */
int auth_json_parse(char *buf, size_t len, auth_json_object *out, const char **why);

/* The member named key, or NULL. Borrowed from o. */
const auth_json_member *auth_json_find(const auth_json_object *o, const char *key);

/* True when span s holds exactly the NUL-terminated string z. */
bool auth_json_span_is(auth_json_span s, const char *z);

#endif
