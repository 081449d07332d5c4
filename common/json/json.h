/* JSON for every service, through jansson (libjansson-dev): a bounded, strict reader for what
 * arrives (token claims, events read from a stream), typed getters with messages a person can act
 * on, and a compact, size-capped writer for what leaves (event payloads, token claims). Values are
 * jansson's json_t: build them with json_pack_ex / json_object_set_new, read them with the getters
 * below or jansson's own accessors.
 *
 * What the reader refuses, whoever calls it:
 *  - more than limits->max_bytes bytes, or containers nested deeper than limits->max_depth;
 *  - anything but one object (leading and trailing whitespace allowed), text after it;
 *  - invalid UTF-8 anywhere (overlong forms, surrogates, beyond U+10FFFF), lone surrogate escapes;
 *  - \u0000 in a string (every string read is a C string);
 *  - duplicate keys in an object (JSON_REJECT_DUPLICATES);
 *  - integers outside int64, reals outside double;
 *  - every syntax error, with its byte position.
 *
 * Usage (an event read from a stream):
 *   json_t *ev = NULL;
 *   if (hd_json_parse_object(text, len, &HD_JSON_EVENT_LIMITS, &ev, err)) return -1;
 *   const char *tenant; int64_t version;
 *   int rc = hd_json_get_str(ev, "tenant", &tenant, NULL, err) ||
 *            hd_json_get_int(ev, "version", &version, err) ? -1 : 0;
 *   json_decref(ev);  // tenant is borrowed from ev: copy it before this */
#ifndef HD_JSON_JSON_H
#define HD_JSON_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "core/err.h"

/* Containers one document may nest (the root object is level 1). */
#define HD_JSON_MAX_DEPTH 8
/* The largest event payload: the outbox's payload is a TEXT column. */
#define HD_JSON_EVENT_MAX_BYTES 65535u

typedef struct hd_json_limits {
  size_t max_bytes; /* > 0 */
  size_t max_depth; /* 1..HD_JSON_MAX_DEPTH */
} hd_json_limits;

/* Events as the outbox writes them and a consumer reads them: 65,535 bytes, 8 levels. */
extern const hd_json_limits HD_JSON_EVENT_LIMITS;

/* Parses text[0..len) as one JSON object within limits. *out: caller frees with json_decref().
 * INVALID_ARGUMENT with a message naming the mistake and, for a syntax error, its byte position
 * ("':' expected at byte 7", "duplicate key at byte 10", "not valid UTF-8 at byte 8", "not a
 * JSON object", "nests deeper than 8 levels"); RESOURCE_EXHAUSTED when out of memory. The
 * message never quotes the text itself. */
int hd_json_parse_object(const char *text, size_t len, const hd_json_limits *limits, json_t **out,
                         hd_err *err);

/* Writes doc (an object or array) compactly: no whitespace, members in the order they were set,
 * strings in UTF-8 as they are (only '"', '\\' and control characters escaped), so equal values
 * built in equal order give equal bytes. *out NUL-terminated, *len (may be NULL) its length:
 * caller frees *out with free(). INTERNAL when doc is NULL or nests deeper than limits->max_depth
 * ("nests too deep"); RESOURCE_EXHAUSTED when the text would exceed limits->max_bytes or memory
 * runs out. */
int hd_json_dump(const json_t *doc, const hd_json_limits *limits, char **out, size_t *len,
                 hd_err *err);

/* The status for a failed json_pack_ex(&je, ...) that was building `what` ("the ticket.created
 * event"): INTERNAL naming what and jansson's reason (invalid UTF-8 in a string, a bad format),
 * RESOURCE_EXHAUSTED when out of memory. Text is validated at the edge of a call, so invalid
 * UTF-8 here is a bug, not bad input. Returns -1. */
int hd_json_pack_failed(const json_error_t *je, const char *what, hd_err *err);

/* ---- typed getters: obj must be an object; results are borrowed from it ----
 * A missing member → NOT_FOUND "no member \"key\""; one of another type → INVALID_ARGUMENT
 * "member \"key\" is a number, not a string" (null counts as a type of its own). */

/* A string member: *s NUL-terminated (never holds NUL), *len (may be NULL) its length. */
int hd_json_get_str(const json_t *obj, const char *key, const char **s, size_t *len, hd_err *err);

/* A string member that may be missing or null: then *s = NULL (and *len = 0). */
int hd_json_get_opt_str(const json_t *obj, const char *key, const char **s, size_t *len,
                        hd_err *err);

/* A whole-number member (a real, even 1.0, is INVALID_ARGUMENT). */
int hd_json_get_int(const json_t *obj, const char *key, int64_t *out, hd_err *err);

/* A true/false member. */
int hd_json_get_bool(const json_t *obj, const char *key, bool *out, hd_err *err);

/* An object or array member, borrowed. */
int hd_json_get_object(const json_t *obj, const char *key, const json_t **out, hd_err *err);
int hd_json_get_array(const json_t *obj, const char *key, const json_t **out, hd_err *err);

/* "an object", "an array", "a string", "a number", "true or false", "null" for v's type. */
const char *hd_json_type_name(const json_t *v);

#endif
