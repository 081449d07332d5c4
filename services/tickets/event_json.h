/* A small JSON writer for outbox event payloads: objects of strings, integers and booleans, with
 * proper escaping and a hard size cap. Errors are sticky: write everything, check once at
 * event_json_finish(). */
#ifndef TICKETS_EVENT_JSON_H
#define TICKETS_EVENT_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

#define EVENT_JSON_MAX_DEPTH   8
#define EVENT_JSON_DEFAULT_MAX 65535 /* an outbox payload is a TEXT column */

typedef struct event_json {
  char *buf; /* malloc'ed; owned until event_json_free() */
  size_t len;
  size_t cap;
  size_t max; /* bytes the document may reach */
  unsigned depth;
  bool need_comma[EVENT_JSON_MAX_DEPTH + 1];
  hd_code failed; /* HD_OK while fine */
  const char *why;
} event_json;

/* Starts an empty document that may grow to max bytes (0 → EVENT_JSON_DEFAULT_MAX).
 * Release with event_json_free() whatever happens. */
void event_json_init(event_json *j, size_t max);

/* Frees the buffer. Safe on a zeroed or already freed writer. */
void event_json_free(event_json *j);

/* Opens an object: the root when key is NULL at depth 0, else a member `key` of the current one. */
void event_json_open(event_json *j, const char *key);

/* Closes the innermost open object. */
void event_json_close(event_json *j);

/* Members of the current object. A NULL string is written as null. Strings must be valid
 * UTF-8 (an invalid one fails the document with INTERNAL: text is validated at the edge). */
void event_json_str(event_json *j, const char *key, const char *value);
void event_json_strn(event_json *j, const char *key, const char *value, size_t len);
void event_json_int(event_json *j, const char *key, int64_t value);
void event_json_bool(event_json *j, const char *key, bool value);

/* The finished document (every object closed): *out borrowed from j, NUL-terminated, valid until
 * event_json_free(). INTERNAL for invalid UTF-8 or unbalanced objects, RESOURCE_EXHAUSTED past
 * the cap or out of memory. */
int event_json_finish(event_json *j, const char **out, size_t *len, hd_err *err);

#endif
