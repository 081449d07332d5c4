/* JSON writer for outbox payloads (see event_json.h). */
#include "event_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

static void ej__fail(event_json *j, hd_code code, const char *why) {
  if (j->failed != HD_OK) return;
  j->failed = code;
  j->why = why;
}

static void ej__put(event_json *j, const char *p, size_t n) {
  if (j->failed != HD_OK) return;
  if (n > j->max - j->len) {
    ej__fail(j, HD_RESOURCE_EXHAUSTED, "event payload is too large");
    return;
  }
  if (j->len + n + 1 > j->cap) {
    size_t cap = j->cap ? j->cap : 256;
    while (cap < j->len + n + 1) cap *= 2;
    if (cap > j->max + 1) cap = j->max + 1;
    char *nb = realloc(j->buf, cap);
    if (!nb) {
      ej__fail(j, HD_RESOURCE_EXHAUSTED, "out of memory writing an event payload");
      return;
    }
    j->buf = nb;
    j->cap = cap;
  }
  memcpy(j->buf + j->len, p, n);
  j->len += n;
  j->buf[j->len] = '\0';
}

static void ej__puts(event_json *j, const char *s) { ej__put(j, s, strlen(s)); }

static void ej__string(event_json *j, const char *s, size_t n) {
  if (!hd_utf8_valid(s, n, NULL)) {
    ej__fail(j, HD_INTERNAL, "event payload text is not valid UTF-8");
    return;
  }
  ej__put(j, "\"", 1);
  size_t run = 0; /* bytes copied as they are */
  for (size_t i = 0; i < n; i++) {
    const unsigned char c = (unsigned char)s[i];
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    ej__put(j, s + run, i - run);
    run = i + 1;
    char esc[8];
    switch (c) {
      case '"':
        ej__put(j, "\\\"", 2);
        break;
      case '\\':
        ej__put(j, "\\\\", 2);
        break;
      case '\n':
        ej__put(j, "\\n", 2);
        break;
      case '\r':
        ej__put(j, "\\r", 2);
        break;
      case '\t':
        ej__put(j, "\\t", 2);
        break;
      default:
        snprintf(esc, sizeof esc, "\\u%04x", c);
        ej__put(j, esc, 6);
    }
  }
  ej__put(j, s + run, n - run);
  ej__put(j, "\"", 1);
}

/* The comma and the key before a member (no key at the root). */
static void ej__member(event_json *j, const char *key) {
  if (j->depth == 0) {
    ej__fail(j, HD_INTERNAL, "event payload member outside an object");
    return;
  }
  if (j->need_comma[j->depth]) ej__put(j, ",", 1);
  j->need_comma[j->depth] = true;
  ej__string(j, key, strlen(key));
  ej__put(j, ":", 1);
}

void event_json_init(event_json *j, size_t max) {
  memset(j, 0, sizeof *j);
  j->max = max ? max : EVENT_JSON_DEFAULT_MAX;
}

void event_json_free(event_json *j) {
  if (!j) return;
  free(j->buf);
  j->buf = NULL;
  j->len = j->cap = 0;
}

void event_json_open(event_json *j, const char *key) {
  if (j->depth >= EVENT_JSON_MAX_DEPTH) {
    ej__fail(j, HD_INTERNAL, "event payload nests too deep");
    return;
  }
  if (key) {
    ej__member(j, key);
  } else if (j->depth != 0 || j->len != 0) {
    ej__fail(j, HD_INTERNAL, "event payload has a second root");
    return;
  }
  ej__put(j, "{", 1);
  j->depth++;
  j->need_comma[j->depth] = false;
}

void event_json_close(event_json *j) {
  if (j->depth == 0) {
    ej__fail(j, HD_INTERNAL, "event payload closes more objects than it opened");
    return;
  }
  ej__put(j, "}", 1);
  j->depth--;
}

void event_json_strn(event_json *j, const char *key, const char *value, size_t len) {
  ej__member(j, key);
  if (value)
    ej__string(j, value, len);
  else
    ej__puts(j, "null");
}

void event_json_str(event_json *j, const char *key, const char *value) {
  event_json_strn(j, key, value, value ? strlen(value) : 0);
}

void event_json_int(event_json *j, const char *key, int64_t value) {
  char num[24];
  ej__member(j, key);
  snprintf(num, sizeof num, "%" PRId64, value);
  ej__puts(j, num);
}

void event_json_bool(event_json *j, const char *key, bool value) {
  ej__member(j, key);
  ej__puts(j, value ? "true" : "false");
}

int event_json_finish(event_json *j, const char **out, size_t *len, hd_err *err) {
  if (j->failed == HD_OK && (j->depth != 0 || j->len == 0))
    ej__fail(j, HD_INTERNAL, "event payload has unclosed objects");
  if (j->failed != HD_OK) return hd_err_set(err, j->failed, "%s", j->why);
  *out = j->buf;
  if (len) *len = j->len;
  return 0;
}
