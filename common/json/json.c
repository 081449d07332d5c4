/* JSON through jansson: the bounded strict reader, the compact capped writer, typed getters
 * (see json.h). */
#include "json/json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const hd_json_limits HD_JSON_EVENT_LIMITS = {.max_bytes = HD_JSON_EVENT_MAX_BYTES,
                                             .max_depth = HD_JSON_MAX_DEPTH};

static int json__check_limits(const hd_json_limits *l, hd_err *err) {
  if (!l || l->max_bytes == 0 || l->max_depth == 0 || l->max_depth > HD_JSON_MAX_DEPTH)
    return hd_err_set(err, HD_INTERNAL, "JSON limits must allow 1 or more bytes and 1 to %d levels",
                      HD_JSON_MAX_DEPTH);
  return 0;
}

/* True when v holds containers deeper than max, v being at level `level`. Recurses at most
 * max + 1 levels whatever the document. */
static bool json__too_deep(const json_t *v, size_t level, size_t max) {
  if (!json_is_object(v) && !json_is_array(v)) return false;
  if (level > max) return true;
  if (json_is_array(v)) {
    for (size_t i = 0; i < json_array_size(v); i++)
      if (json__too_deep(json_array_get(v, i), level + 1, max)) return true;
    return false;
  }
  /* jansson's iterator takes a non-const object; iterating does not change it. */
  for (void *it = json_object_iter((json_t *)v); it; it = json_object_iter_next((json_t *)v, it))
    if (json__too_deep(json_object_iter_value(it), level + 1, max)) return true;
  return false;
}

/* A jansson load error as our reason: the rules we promise (UTF-8, no NUL, unique keys, ranges,
 * one value) in our words, other syntax errors in jansson's, without its "near '<text>'" (which
 * would quote the input), and the byte position in both. */
static int json__load_failed(const json_error_t *je, hd_err *err) {
  char text[JSON_ERROR_TEXT_LENGTH];
  const char *why = text;
  switch (json_error_code(je)) {
    case json_error_out_of_memory:
      return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading JSON");
    case json_error_stack_overflow:
      return hd_err_set(err, HD_INVALID_ARGUMENT, "nests deeper than %d levels", HD_JSON_MAX_DEPTH);
    case json_error_invalid_utf8:
      why = "not valid UTF-8";
      break;
    case json_error_null_character:
      why = "\\u0000 in a string";
      break;
    case json_error_duplicate_key:
      why = "duplicate key";
      break;
    case json_error_numeric_overflow:
      why = "number out of range";
      break;
    case json_error_end_of_input_expected:
      why = "text after the object";
      break;
    default:
      snprintf(text, sizeof text, "%s", je->text);
      char *near = strstr(text, " near ");
      if (near) *near = '\0';
      break;
  }
  return hd_err_set(err, HD_INVALID_ARGUMENT, "%s at byte %d", why, je->position);
}

int hd_json_parse_object(const char *text, size_t len, const hd_json_limits *limits, json_t **out,
                         hd_err *err) {
  json_t *doc = NULL;
  int rc = -1;
  *out = NULL;
  if (json__check_limits(limits, err) != 0) goto done;
  if (!text) len = 0;
  if (len > limits->max_bytes) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "JSON text is %zu bytes; at most %zu", len,
               limits->max_bytes);
    goto done;
  }
  /* jansson would also take an array; say plainly when it is not an object at all. */
  size_t i = 0;
  while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) i++;
  if (i == len || text[i] != '{') {
    hd_err_set(err, HD_INVALID_ARGUMENT, "not a JSON object");
    goto done;
  }
  json_error_t je;
  doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
  if (!doc) {
    json__load_failed(&je, err);
    goto done;
  }
  if (!json_is_object(doc)) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "not a JSON object");
    goto done;
  }
  if (json__too_deep(doc, 1, limits->max_depth)) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "nests deeper than %zu levels", limits->max_depth);
    goto done;
  }
  *out = doc;
  doc = NULL;
  rc = 0;
done:
  json_decref(doc);
  return rc;
}

int hd_json_dump(const json_t *doc, const hd_json_limits *limits, char **out, size_t *len,
                 hd_err *err) {
  const size_t flags = JSON_COMPACT;
  *out = NULL;
  if (len) *len = 0;
  if (json__check_limits(limits, err) != 0) return -1;
  if (!json_is_object(doc) && !json_is_array(doc))
    return hd_err_set(err, HD_INTERNAL, "a JSON document to write must be an object or an array");
  if (json__too_deep(doc, 1, limits->max_depth))
    return hd_err_set(err, HD_INTERNAL, "JSON document nests too deep (more than %zu levels)",
                      limits->max_depth);
  const size_t n = json_dumpb(doc, NULL, 0, flags); /* measures only */
  if (n == 0) return hd_err_set(err, HD_INTERNAL, "could not write a JSON document");
  if (n > limits->max_bytes)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "JSON document is %zu bytes; at most %zu", n,
                      limits->max_bytes);
  char *buf = malloc(n + 1);
  if (!buf) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory writing JSON");
  if (json_dumpb(doc, buf, n, flags) != n) {
    free(buf);
    return hd_err_set(err, HD_INTERNAL, "could not write a JSON document");
  }
  buf[n] = '\0';
  *out = buf;
  if (len) *len = n;
  return 0;
}

int hd_json_pack_failed(const json_error_t *je, const char *what, hd_err *err) {
  if (json_error_code(je) == json_error_out_of_memory)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory building %s", what);
  return hd_err_set(err, HD_INTERNAL, "%s cannot be built: %s", what, je->text);
}

/* ---- getters ---- */

const char *hd_json_type_name(const json_t *v) {
  switch (json_typeof(v)) {
    case JSON_OBJECT:
      return "an object";
    case JSON_ARRAY:
      return "an array";
    case JSON_STRING:
      return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
      return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
      return "true or false";
    case JSON_NULL:
      break;
  }
  return "null";
}

/* The member key of obj → *v; NOT_FOUND when missing (nothing set in err when optional). */
static int json__member(const json_t *obj, const char *key, bool optional, const json_t **v,
                        hd_err *err) {
  *v = NULL;
  if (!json_is_object(obj))
    return hd_err_set(err, HD_INVALID_ARGUMENT, "cannot read member \"%s\" of %s", key,
                      obj ? hd_json_type_name(obj) : "nothing");
  *v = json_object_get(obj, key);
  if (!*v && !optional) return hd_err_set(err, HD_NOT_FOUND, "no member \"%s\"", key);
  return 0;
}

static int json__wrong_type(const char *key, const json_t *v, const char *want, hd_err *err) {
  return hd_err_set(err, HD_INVALID_ARGUMENT, "member \"%s\" is %s, not %s", key,
                    hd_json_type_name(v), want);
}

int hd_json_get_str(const json_t *obj, const char *key, const char **s, size_t *len, hd_err *err) {
  const json_t *v;
  *s = NULL;
  if (len) *len = 0;
  if (json__member(obj, key, false, &v, err) != 0) return -1;
  if (!json_is_string(v)) return json__wrong_type(key, v, "a string", err);
  *s = json_string_value(v);
  if (len) *len = json_string_length(v);
  return 0;
}

int hd_json_get_opt_str(const json_t *obj, const char *key, const char **s, size_t *len,
                        hd_err *err) {
  const json_t *v;
  *s = NULL;
  if (len) *len = 0;
  if (json__member(obj, key, true, &v, err) != 0) return -1;
  if (!v || json_is_null(v)) return 0;
  if (!json_is_string(v)) return json__wrong_type(key, v, "a string or null", err);
  *s = json_string_value(v);
  if (len) *len = json_string_length(v);
  return 0;
}

int hd_json_get_int(const json_t *obj, const char *key, int64_t *out, hd_err *err) {
  const json_t *v;
  if (json__member(obj, key, false, &v, err) != 0) return -1;
  if (!json_is_integer(v)) {
    if (json_is_real(v))
      return hd_err_set(err, HD_INVALID_ARGUMENT, "member \"%s\" is not a whole number", key);
    return json__wrong_type(key, v, "a whole number", err);
  }
  *out = (int64_t)json_integer_value(v);
  return 0;
}

int hd_json_get_bool(const json_t *obj, const char *key, bool *out, hd_err *err) {
  const json_t *v;
  if (json__member(obj, key, false, &v, err) != 0) return -1;
  if (!json_is_boolean(v)) return json__wrong_type(key, v, "true or false", err);
  *out = json_is_true(v);
  return 0;
}

/* A member of type `type` (an object or an array), borrowed. */
static int json__get_typed(const json_t *obj, const char *key, json_type type, const char *want,
                           const json_t **out, hd_err *err) {
  const json_t *v;
  *out = NULL;
  if (json__member(obj, key, false, &v, err) != 0) return -1;
  if (json_typeof(v) != type) return json__wrong_type(key, v, want, err);
  *out = v;
  return 0;
}

int hd_json_get_object(const json_t *obj, const char *key, const json_t **out, hd_err *err) {
  return json__get_typed(obj, key, JSON_OBJECT, "an object", out, err);
}

int hd_json_get_array(const json_t *obj, const char *key, const json_t **out, hd_err *err) {
  return json__get_typed(obj, key, JSON_ARRAY, "an array", out, err);
}
