/* Protobuf messages ↔ canonical JSON through the protobuf-c descriptors (see pb_json.h). */
#include "json/pb_json.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "rpc/pb_enum.h"

const hd_json_limits HD_PB_JSON_LIMITS = {.max_bytes = 4u << 20, .max_depth = HD_JSON_MAX_DEPTH};

#define PBJ_PATH_MAX  256 /* bytes of a field path in a message ("notes[12].ticketId") */
#define PBJ_NAME_MAX  128 /* bytes of a field's JSON name */
#define PBJ_SHOW_MAX  48  /* characters of a value or key quoted in a message */
#define PBJ_FIELDMASK "google.protobuf.FieldMask"

/* One read or write: the arena (reads), the error, and the path of the field being handled. */
typedef struct pbj_ctx {
  hd_arena *arena;
  hd_err *err;
  char path[PBJ_PATH_MAX];
  size_t path_len;
} pbj_ctx;

/* Appends a segment to the path; returns the length to restore with pbj__pop. A path too long
 * for the buffer is cut (messages stay readable; the depth is bounded by the reader anyway). */
static size_t pbj__push(pbj_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t pbj__push(pbj_ctx *c, const char *fmt, ...) {
  size_t before = c->path_len;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(c->path + before, sizeof c->path - before, fmt, ap);
  va_end(ap);
  if (n > 0)
    c->path_len = before + (size_t)n < sizeof c->path ? before + (size_t)n : sizeof c->path - 1;
  return before;
}

static void pbj__pop(pbj_ctx *c, size_t len) {
  c->path_len = len;
  c->path[len] = '\0';
}

/* Fills the error as "<path>: <message>" (the message alone at the top) and returns -1. */
static int pbj__fail(pbj_ctx *c, hd_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int pbj__fail(pbj_ctx *c, hd_code code, const char *fmt, ...) {
  char msg[HD_ERR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (c->path_len) return hd_err_set(c->err, code, "%s: %s", c->path, msg);
  return hd_err_set(c->err, code, "%s", msg);
}

/* "ticket_id" → "ticketId" into out (cap bytes, cut short if longer). */
static void pbj__camel(const char *name, char *out, size_t cap) {
  size_t o = 0;
  bool up = false;
  for (const char *p = name; *p && o + 1 < cap; p++) {
    if (*p == '_') {
      up = true;
      continue;
    }
    out[o++] = up && *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p;
    up = false;
  }
  out[o] = '\0';
}

static bool pbj__is_fieldmask(const ProtobufCMessageDescriptor *d) {
  return strcmp(d->name, PBJ_FIELDMASK) == 0;
}

/* google.protobuf types other than FieldMask have JSON forms of their own we do not map. */
static bool pbj__unmapped_wkt(const ProtobufCMessageDescriptor *d) {
  return strncmp(d->name, "google.protobuf.", 16) == 0 && !pbj__is_fieldmask(d);
}

/* Bytes one element of a field of type t takes in a message or a repeated array. */
static size_t pbj__elem_size(ProtobufCType t) {
  switch (t) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
      return 4;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      return 8;
    case PROTOBUF_C_TYPE_FLOAT:
      return sizeof(float);
    case PROTOBUF_C_TYPE_DOUBLE:
      return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
      return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
      return sizeof(int);
    case PROTOBUF_C_TYPE_STRING:
      return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
      return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
      return sizeof(ProtobufCMessage *);
  }
  return 0;
}

/* ---- base64 ---- */

int hd_pb_json_base64_decode(const char *text, size_t len, hd_arena *arena, uint8_t **out,
                             size_t *out_len, hd_err *err) {
  size_t n = len, pad = 0;
  while (n > 0 && text[n - 1] == '=' && pad < 2) {
    n--;
    pad++;
  }
  if (pad && len % 4 != 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "not base64: padding '=' before the end");
  if (n % 4 == 1) return hd_err_set(err, HD_INVALID_ARGUMENT, "not base64: truncated");
  if (n > (SIZE_MAX - 8) / 2 || n / 4 * 3 + 3 > INT32_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "not base64: too long");
  size_t padded = (n + 3) / 4 * 4;
  char *std = hd_arena_alloc(arena, padded + 1);
  uint8_t *bin = hd_arena_alloc(arena, padded / 4 * 3 + 1);
  if (!std || !bin) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory decoding base64");
  int alphabet = 0; /* 1 standard, 2 URL-safe: one of them, not both */
  for (size_t i = 0; i < n; i++) {
    char ch = text[i];
    int kind = ch == '+' || ch == '/' ? 1 : ch == '-' || ch == '_' ? 2 : 0;
    bool plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
    if (!plain && !kind) {
      if (ch >= 0x21 && ch <= 0x7e)
        return hd_err_set(err, HD_INVALID_ARGUMENT, "not base64: '%c' at character %zu", ch, i + 1);
      return hd_err_set(err, HD_INVALID_ARGUMENT, "not base64: byte 0x%02x at character %zu",
                        (unsigned)(unsigned char)ch, i + 1);
    }
    if (kind && alphabet && kind != alphabet)
      return hd_err_set(err, HD_INVALID_ARGUMENT,
                        "not base64: '%c' at character %zu mixes the standard and URL-safe "
                        "alphabets",
                        ch, i + 1);
    if (kind) alphabet = kind;
    std[i] = ch == '-' ? '+' : ch == '_' ? '/' : ch;
  }
  for (size_t i = n; i < padded; i++) std[i] = '=';
  std[padded] = '\0';
  int got = padded ? EVP_DecodeBlock(bin, (const unsigned char *)std, (int)padded) : 0;
  if (got < 0) return hd_err_set(err, HD_INVALID_ARGUMENT, "not base64");
  size_t bytes = (size_t)got - (padded - n);
  bin[bytes] = '\0';
  *out = bin;
  *out_len = bytes;
  return 0;
}

/* ---- reading ---- */

static int pbj__read_message(pbj_ctx *c, const ProtobufCMessageDescriptor *d, const json_t *obj,
                             ProtobufCMessage *msg);

/* A JSON value shown in a message: a string quoted and cut, a number as it is, else its type. */
static void pbj__show(const json_t *v, char *buf, size_t cap) {
  if (json_is_string(v))
    snprintf(buf, cap, "\"%.*s\"%s", PBJ_SHOW_MAX, json_string_value(v),
             json_string_length(v) > PBJ_SHOW_MAX ? "..." : "");
  else if (json_is_integer(v))
    snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  else if (json_is_real(v))
    snprintf(buf, cap, "%.17g", json_real_value(v));
  else
    snprintf(buf, cap, "%s", hd_json_type_name(v));
}

/* An integer field's value: a JSON integer, an integral real, or a string of decimal digits with
 * an optional '-'. Signed fields get *s within [lo, hi]; unsigned ones (is_unsigned) *u within
 * [0, uhi]. `type` names the field's type in messages. */
static int pbj__integer(pbj_ctx *c, const json_t *v, bool is_unsigned, int64_t lo, int64_t hi,
                        uint64_t uhi, const char *type, int64_t *s, uint64_t *u) {
  char shown[PBJ_SHOW_MAX + 8];
  pbj__show(v, shown, sizeof shown);
  bool neg = false, range = true;
  uint64_t mag = 0; /* the magnitude, with neg its sign */
  if (json_is_integer(v)) {
    json_int_t i = json_integer_value(v);
    neg = i < 0;
    mag = neg ? (uint64_t)(-(i + 1)) + 1 : (uint64_t)i;
  } else if (json_is_real(v)) {
    double r = json_real_value(v);
    if (r != floor(r)) return pbj__fail(c, HD_INVALID_ARGUMENT, "%s is not a whole number", shown);
    neg = r < 0;
    double m = fabs(r);
    if (m >= 18446744073709551616.0)
      range = false;
    else
      mag = (uint64_t)m;
  } else if (json_is_string(v)) {
    const char *t = json_string_value(v);
    neg = *t == '-';
    const char *digits = neg ? t + 1 : t;
    if (*digits < '0' || *digits > '9')
      return pbj__fail(c, HD_INVALID_ARGUMENT, "%s is not an integer", shown);
    char *end = NULL;
    errno = 0;
    unsigned long long parsed = strtoull(digits, &end, 10);
    if (*end != '\0') return pbj__fail(c, HD_INVALID_ARGUMENT, "%s is not an integer", shown);
    if (errno == ERANGE) range = false;
    mag = parsed;
  } else {
    return pbj__fail(c, HD_INVALID_ARGUMENT, "%s, not an integer (%s)", hd_json_type_name(v), type);
  }
  if (is_unsigned) {
    if (!range || (neg && mag != 0) || mag > uhi)
      return pbj__fail(c, HD_INVALID_ARGUMENT, "%s is out of range for %s", shown, type);
    *u = mag;
    return 0;
  }
  if (!range || (!neg && mag > (uint64_t)hi) || (neg && mag > (uint64_t)(-(lo + 1)) + 1))
    return pbj__fail(c, HD_INVALID_ARGUMENT, "%s is out of range for %s", shown, type);
  *s = neg ? (mag == 0 ? 0 : -(int64_t)(mag - 1) - 1) : (int64_t)mag;
  return 0;
}

/* A float or double: a number, a numeric string, "NaN", "Infinity" or "-Infinity". */
static int pbj__real(pbj_ctx *c, const json_t *v, bool is_float, double *out) {
  char shown[PBJ_SHOW_MAX + 8];
  pbj__show(v, shown, sizeof shown);
  const char *type = is_float ? "float" : "double";
  if (json_is_number(v)) {
    *out = json_number_value(v);
  } else if (json_is_string(v)) {
    const char *t = json_string_value(v);
    if (strcmp(t, "NaN") == 0) {
      *out = NAN;
      return 0;
    }
    if (strcmp(t, "Infinity") == 0 || strcmp(t, "-Infinity") == 0) {
      *out = *t == '-' ? -INFINITY : INFINITY;
      return 0;
    }
    char *end = NULL;
    bool starts = (*t >= '0' && *t <= '9') || *t == '-' || *t == '.';
    errno = 0;
    *out = starts ? strtod(t, &end) : 0;
    if (!starts || *end != '\0' || !isfinite(*out))
      return pbj__fail(c, HD_INVALID_ARGUMENT, "%s is not a number (%s)", shown, type);
  } else {
    return pbj__fail(c, HD_INVALID_ARGUMENT, "%s, not a number (%s)", hd_json_type_name(v), type);
  }
  if (is_float && isfinite(*out) && fabs(*out) > FLT_MAX)
    return pbj__fail(c, HD_INVALID_ARGUMENT, "%s is out of range for float", shown);
  return 0;
}

/* An enum: its full name, its short name (hd_pb_enum_parse) or its number (an int32). */
static int pbj__enum(pbj_ctx *c, const ProtobufCEnumDescriptor *ed, const json_t *v, int *out) {
  if (json_is_string(v)) {
    const char *name = json_string_value(v);
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(ed, name);
    if (ev) {
      *out = ev->value;
      return 0;
    }
    if (hd_pb_enum_parse(ed, name, strlen(name), out) == 0) return 0;
    char shown[PBJ_SHOW_MAX + 8];
    pbj__show(v, shown, sizeof shown);
    char names[320] = "";
    size_t used = 0;
    for (unsigned i = 0; i < ed->n_values && used + 2 < sizeof names; i++) {
      const char *short_name = hd_pb_enum_name(ed, ed->values[i].value);
      int n = snprintf(names + used, sizeof names - used, "%s%s", i ? ", " : "",
                       short_name ? short_name : ed->values[i].name);
      if (n < 0) break;
      used += (size_t)n;
      if (used >= sizeof names) used = sizeof names - 1;
    }
    return pbj__fail(c, HD_INVALID_ARGUMENT, "%s is not a value of %s (one of %s)", shown, ed->name,
                     names);
  }
  if (json_is_number(v)) {
    int64_t n = 0;
    if (pbj__integer(c, v, false, INT32_MIN, INT32_MAX, 0, ed->name, &n, NULL)) return -1;
    *out = (int)n;
    return 0;
  }
  return pbj__fail(c, HD_INVALID_ARGUMENT, "%s, not a value of %s", hd_json_type_name(v), ed->name);
}

/* google.protobuf.FieldMask from "a,bC": its paths, each lowerCamelCase turned to snake_case. */
static int pbj__read_fieldmask(pbj_ctx *c, const ProtobufCMessageDescriptor *d, const json_t *v,
                               ProtobufCMessage *msg) {
  const ProtobufCFieldDescriptor *f = protobuf_c_message_descriptor_get_field_by_name(d, "paths");
  if (!f) return pbj__fail(c, HD_INTERNAL, "%s has no field paths", d->name);
  if (!json_is_string(v))
    return pbj__fail(c, HD_INVALID_ARGUMENT, "%s, not a string of comma-separated paths (%s)",
                     hd_json_type_name(v), d->name);
  const char *t = json_string_value(v);
  size_t len = json_string_length(v), n = *t ? 1 : 0;
  for (size_t i = 0; i < len; i++) n += t[i] == ',';
  char **paths = n ? HD_ARENA_ARRAY(c->arena, char *, n) : NULL;
  if (n && !paths) return pbj__fail(c, HD_RESOURCE_EXHAUSTED, "out of memory");
  const char *p = t;
  for (size_t k = 0; k < n; k++) {
    const char *end = strchr(p, ',');
    size_t plen = end ? (size_t)(end - p) : strlen(p);
    char *snake = hd_arena_alloc(c->arena, plen * 2 + 1);
    if (!snake) return pbj__fail(c, HD_RESOURCE_EXHAUSTED, "out of memory");
    size_t o = 0;
    for (size_t i = 0; i < plen; i++) {
      char ch = p[i];
      if (ch >= 'A' && ch <= 'Z') {
        snake[o++] = '_';
        ch = (char)(ch - 'A' + 'a');
      } else if (ch == '_') {
        return pbj__fail(c, HD_INVALID_ARGUMENT,
                         "path \"%.*s\" must be lowerCamelCase in JSON (no '_')", (int)plen, p);
      }
      snake[o++] = ch;
    }
    if (o == 0) return pbj__fail(c, HD_INVALID_ARGUMENT, "an empty path in \"%s\"", t);
    paths[k] = snake;
    p = end ? end + 1 : p + plen;
  }
  *(size_t *)((char *)msg + f->quantifier_offset) = n;
  *(char ***)((char *)msg + f->offset) = paths;
  return 0;
}

/* One value of field f from v into slot (the field's storage, or one element of its array). */
static int pbj__read_value(pbj_ctx *c, const ProtobufCFieldDescriptor *f, const json_t *v,
                           void *slot) {
  int64_t s = 0;
  uint64_t u = 0;
  double r = 0;
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
      if (pbj__integer(c, v, false, INT32_MIN, INT32_MAX, 0, "int32", &s, NULL)) return -1;
      *(int32_t *)slot = (int32_t)s;
      return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
      if (pbj__integer(c, v, true, 0, 0, UINT32_MAX, "uint32", NULL, &u)) return -1;
      *(uint32_t *)slot = (uint32_t)u;
      return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
      if (pbj__integer(c, v, false, INT64_MIN, INT64_MAX, 0, "int64", &s, NULL)) return -1;
      *(int64_t *)slot = s;
      return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      if (pbj__integer(c, v, true, 0, 0, UINT64_MAX, "uint64", NULL, &u)) return -1;
      *(uint64_t *)slot = u;
      return 0;
    case PROTOBUF_C_TYPE_FLOAT:
      if (pbj__real(c, v, true, &r)) return -1;
      *(float *)slot = (float)r;
      return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
      if (pbj__real(c, v, false, &r)) return -1;
      *(double *)slot = r;
      return 0;
    case PROTOBUF_C_TYPE_BOOL:
      if (!json_is_boolean(v))
        return pbj__fail(c, HD_INVALID_ARGUMENT, "%s, not true or false", hd_json_type_name(v));
      *(protobuf_c_boolean *)slot = json_is_true(v);
      return 0;
    case PROTOBUF_C_TYPE_ENUM:
      return pbj__enum(c, f->descriptor, v, (int *)slot);
    case PROTOBUF_C_TYPE_STRING: {
      if (!json_is_string(v))
        return pbj__fail(c, HD_INVALID_ARGUMENT, "%s, not a string", hd_json_type_name(v));
      size_t len = json_string_length(v);
      if (memchr(json_string_value(v), '\0', len))
        return pbj__fail(c, HD_INVALID_ARGUMENT, "\\u0000 in a string");
      char *copy = hd_arena_strndup(c->arena, json_string_value(v), len);
      if (!copy) return pbj__fail(c, HD_RESOURCE_EXHAUSTED, "out of memory");
      *(char **)slot = copy;
      return 0;
    }
    case PROTOBUF_C_TYPE_BYTES: {
      if (!json_is_string(v))
        return pbj__fail(c, HD_INVALID_ARGUMENT, "%s, not a base64 string", hd_json_type_name(v));
      ProtobufCBinaryData *b = slot;
      hd_err e = {0};
      if (hd_pb_json_base64_decode(json_string_value(v), json_string_length(v), c->arena, &b->data,
                                   &b->len, &e))
        return pbj__fail(c, e.code, "%s", e.msg);
      return 0;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
      const ProtobufCMessageDescriptor *md = f->descriptor;
      if (pbj__unmapped_wkt(md))
        return pbj__fail(c, HD_INVALID_ARGUMENT, "%s is not mapped to JSON here", md->name);
      ProtobufCMessage *sub = hd_arena_new_message(c->arena, md);
      if (!sub) return pbj__fail(c, HD_RESOURCE_EXHAUSTED, "out of memory");
      int rc = pbj__is_fieldmask(md) ? pbj__read_fieldmask(c, md, v, sub)
                                     : pbj__read_message(c, md, v, sub);
      if (rc) return -1;
      *(ProtobufCMessage **)slot = sub;
      return 0;
    }
  }
  return pbj__fail(c, HD_INTERNAL, "field type %d is not mapped", (int)f->type);
}

/* The field of d that key names, by JSON name or proto name; NULL when none. */
static const ProtobufCFieldDescriptor *pbj__field(const ProtobufCMessageDescriptor *d,
                                                  const char *key) {
  char camel[PBJ_NAME_MAX];
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    pbj__camel(f->name, camel, sizeof camel);
    if (strcmp(key, camel) == 0 || strcmp(key, f->name) == 0) return f;
  }
  return NULL;
}

/* A repeated field from an array: elements in the arena, the count beside them. */
static int pbj__read_repeated(pbj_ctx *c, const ProtobufCFieldDescriptor *f, const json_t *v,
                              ProtobufCMessage *msg) {
  if (!json_is_array(v))
    return pbj__fail(c, HD_INVALID_ARGUMENT, "%s, not an array (a repeated field)",
                     hd_json_type_name(v));
  size_t n = json_array_size(v), size = pbj__elem_size(f->type);
  char *elems = n ? hd_arena_alloc(c->arena, n * size) : NULL;
  if (n && !elems) return pbj__fail(c, HD_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const json_t *e = json_array_get(v, i);
    size_t mark = pbj__push(c, "[%zu]", i);
    if (json_is_null(e)) return pbj__fail(c, HD_INVALID_ARGUMENT, "null in a repeated field");
    if (pbj__read_value(c, f, e, elems + i * size)) return -1;
    pbj__pop(c, mark);
  }
  *(size_t *)((char *)msg + f->quantifier_offset) = n;
  *(void **)((char *)msg + f->offset) = elems;
  return 0;
}

static int pbj__read_message(pbj_ctx *c, const ProtobufCMessageDescriptor *d, const json_t *obj,
                             ProtobufCMessage *msg) {
  if (!json_is_object(obj))
    return pbj__fail(c, HD_INVALID_ARGUMENT, "%s, not an object (%s)", hd_json_type_name(obj),
                     d->name);
  const ProtobufCFieldDescriptor **seen =
      d->n_fields ? HD_ARENA_ARRAY(c->arena, const ProtobufCFieldDescriptor *, d->n_fields) : NULL;
  if (d->n_fields && !seen) return pbj__fail(c, HD_RESOURCE_EXHAUSTED, "out of memory");
  const char *key;
  const json_t *v;
  /* jansson's iteration macro takes a non-const object; reading does not change it. */
  json_object_foreach((json_t *)obj, key, v) {
    const ProtobufCFieldDescriptor *f = pbj__field(d, key);
    if (!f)
      return pbj__fail(c, HD_INVALID_ARGUMENT, "unknown field \"%.*s%s\" in %s", PBJ_SHOW_MAX, key,
                       strlen(key) > PBJ_SHOW_MAX ? "..." : "", d->name);
    size_t idx = (size_t)(f - d->fields);
    char camel[PBJ_NAME_MAX];
    pbj__camel(f->name, camel, sizeof camel);
    if (seen[idx])
      return pbj__fail(c, HD_INVALID_ARGUMENT, "field %s given twice (as %s and %s) in %s", camel,
                       camel, f->name, d->name);
    seen[idx] = f;
    if (json_is_null(v)) continue; /* the default */
    size_t mark = pbj__push(c, "%s%s", c->path_len ? "." : "", camel);
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
      uint32_t *which = (uint32_t *)((char *)msg + f->quantifier_offset);
      if (*which && *which != f->id) {
        const ProtobufCFieldDescriptor *other = protobuf_c_message_descriptor_get_field(d, *which);
        char other_camel[PBJ_NAME_MAX];
        pbj__camel(other ? other->name : "?", other_camel, sizeof other_camel);
        return pbj__fail(c, HD_INVALID_ARGUMENT, "%s and %s are one oneof of %s: give one",
                         other_camel, camel, d->name);
      }
      *which = f->id;
    }
    int rc = f->label == PROTOBUF_C_LABEL_REPEATED
                 ? pbj__read_repeated(c, f, v, msg)
                 : pbj__read_value(c, f, v, (char *)msg + f->offset);
    if (rc) return -1;
    if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
        !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && f->type != PROTOBUF_C_TYPE_MESSAGE &&
        f->type != PROTOBUF_C_TYPE_STRING)
      *(protobuf_c_boolean *)((char *)msg + f->quantifier_offset) = 1; /* proto2 has_ */
    pbj__pop(c, mark);
  }
  return 0;
}

int hd_pb_json_read(const ProtobufCMessageDescriptor *desc, const json_t *obj, hd_arena *arena,
                    ProtobufCMessage **out, hd_err *err) {
  pbj_ctx c = {.arena = arena, .err = err};
  ProtobufCMessage *msg = hd_arena_new_message(arena, desc);
  if (!msg) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  if (pbj__read_message(&c, desc, obj, msg)) return -1;
  *out = msg;
  return 0;
}

int hd_pb_json_parse(const ProtobufCMessageDescriptor *desc, const char *text, size_t len,
                     hd_arena *arena, ProtobufCMessage **out, hd_err *err) {
  json_t *obj = NULL;
  if (hd_json_parse_object(text, len, &HD_PB_JSON_LIMITS, &obj, err)) return -1;
  int rc = hd_pb_json_read(desc, obj, arena, out, err);
  json_decref(obj);
  return rc;
}

/* ---- writing ---- */

static int pbj__write_message(pbj_ctx *c, const ProtobufCMessage *msg, json_t **out);

/* Standard base64 with padding of b as a new JSON string. */
static json_t *pbj__base64(const ProtobufCBinaryData *b) {
  if (b->len > (size_t)INT32_MAX / 4 * 3 - 3) return NULL;
  size_t cap = (b->len + 2) / 3 * 4 + 1;
  unsigned char *text = malloc(cap);
  if (!text) return NULL;
  int n = b->len ? EVP_EncodeBlock(text, b->data, (int)b->len) : 0;
  json_t *s = json_stringn((const char *)text, (size_t)n);
  free(text);
  return s;
}

/* A double as JSON: a number when finite, else "NaN", "Infinity" or "-Infinity". */
static json_t *pbj__real_json(double r) {
  if (isnan(r)) return json_string("NaN");
  if (isinf(r)) return json_string(r < 0 ? "-Infinity" : "Infinity");
  return json_real(r);
}

static int pbj__write_fieldmask(pbj_ctx *c, const ProtobufCMessage *msg, json_t **out) {
  const ProtobufCFieldDescriptor *f =
      protobuf_c_message_descriptor_get_field_by_name(msg->descriptor, "paths");
  if (!f) return pbj__fail(c, HD_INTERNAL, "%s has no field paths", msg->descriptor->name);
  size_t n = *(const size_t *)((const char *)msg + f->quantifier_offset);
  char *const *paths = *(char *const *const *)((const char *)msg + f->offset);
  size_t total = 1;
  for (size_t i = 0; i < n; i++) total += strlen(paths[i]) + 1;
  char *text = malloc(total), *o = text;
  if (!text) return pbj__fail(c, HD_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < n; i++) {
    if (i) *o++ = ',';
    pbj__camel(paths[i], o, total - (size_t)(o - text));
    o += strlen(o);
  }
  *o = '\0';
  *out = json_string(text);
  free(text);
  return *out ? 0 : pbj__fail(c, HD_INTERNAL, "a path is not valid UTF-8");
}

/* One value of field f at slot as a new JSON value. */
static int pbj__write_value(pbj_ctx *c, const ProtobufCFieldDescriptor *f, const void *slot,
                            json_t **out) {
  char num[32];
  json_t *v = NULL;
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
      v = json_integer(*(const int32_t *)slot);
      break;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
      v = json_integer(*(const uint32_t *)slot);
      break;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
      snprintf(num, sizeof num, "%" PRId64, *(const int64_t *)slot);
      v = json_string(num);
      break;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      snprintf(num, sizeof num, "%" PRIu64, *(const uint64_t *)slot);
      v = json_string(num);
      break;
    case PROTOBUF_C_TYPE_FLOAT:
      v = pbj__real_json(*(const float *)slot);
      break;
    case PROTOBUF_C_TYPE_DOUBLE:
      v = pbj__real_json(*(const double *)slot);
      break;
    case PROTOBUF_C_TYPE_BOOL:
      v = json_boolean(*(const protobuf_c_boolean *)slot);
      break;
    case PROTOBUF_C_TYPE_ENUM: {
      int e = *(const int *)slot;
      const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, e);
      v = ev ? json_string(ev->name) : json_integer(e);
      break;
    }
    case PROTOBUF_C_TYPE_STRING: {
      const char *s = *(char *const *)slot;
      v = json_string(s ? s : "");
      if (!v) return pbj__fail(c, HD_INTERNAL, "not valid UTF-8");
      break;
    }
    case PROTOBUF_C_TYPE_BYTES:
      v = pbj__base64(slot);
      break;
    case PROTOBUF_C_TYPE_MESSAGE: {
      const ProtobufCMessage *sub = *(ProtobufCMessage *const *)slot;
      const ProtobufCMessageDescriptor *md = f->descriptor;
      if (pbj__unmapped_wkt(md))
        return pbj__fail(c, HD_INTERNAL, "%s is not mapped to JSON here", md->name);
      if (!sub) {
        v = json_object();
        break;
      }
      return pbj__is_fieldmask(md) ? pbj__write_fieldmask(c, sub, out)
                                   : pbj__write_message(c, sub, out);
    }
  }
  if (!v) return pbj__fail(c, HD_RESOURCE_EXHAUSTED, "out of memory writing JSON");
  *out = v;
  return 0;
}

/* True when a singular field holds its default (then it is left out). */
static bool pbj__is_default(const ProtobufCFieldDescriptor *f, const void *slot) {
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
      return *(const uint32_t *)slot == 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      return *(const uint64_t *)slot == 0;
    case PROTOBUF_C_TYPE_FLOAT:
      return *(const float *)slot == 0 && !signbit(*(const float *)slot);
    case PROTOBUF_C_TYPE_DOUBLE:
      return *(const double *)slot == 0 && !signbit(*(const double *)slot);
    case PROTOBUF_C_TYPE_BOOL:
      return !*(const protobuf_c_boolean *)slot;
    case PROTOBUF_C_TYPE_ENUM:
      return *(const int *)slot == 0;
    case PROTOBUF_C_TYPE_STRING: {
      const char *s = *(char *const *)slot;
      return !s || !*s;
    }
    case PROTOBUF_C_TYPE_BYTES:
      return ((const ProtobufCBinaryData *)slot)->len == 0;
    case PROTOBUF_C_TYPE_MESSAGE:
      return *(ProtobufCMessage *const *)slot == NULL;
  }
  return true;
}

/* Whether field f of msg is written: a repeated one when not empty, a oneof member when set, a
 * proto2 optional scalar when has_ is set, any other when not at its default. */
static bool pbj__present(const ProtobufCFieldDescriptor *f, const ProtobufCMessage *msg) {
  const char *base = (const char *)msg;
  if (f->label == PROTOBUF_C_LABEL_REPEATED)
    return *(const size_t *)(base + f->quantifier_offset) != 0;
  if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
    return *(const uint32_t *)(base + f->quantifier_offset) == f->id;
  if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->quantifier_offset &&
      f->type != PROTOBUF_C_TYPE_MESSAGE && f->type != PROTOBUF_C_TYPE_STRING)
    return *(const protobuf_c_boolean *)(base + f->quantifier_offset);
  if (f->label == PROTOBUF_C_LABEL_REQUIRED) return true;
  return !pbj__is_default(f, base + f->offset);
}

static int pbj__write_message(pbj_ctx *c, const ProtobufCMessage *msg, json_t **out) {
  const ProtobufCMessageDescriptor *d = msg->descriptor;
  json_t *obj = json_object();
  int rc = -1;
  if (!obj) return pbj__fail(c, HD_RESOURCE_EXHAUSTED, "out of memory writing JSON");
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (!pbj__present(f, msg)) continue;
    char camel[PBJ_NAME_MAX];
    pbj__camel(f->name, camel, sizeof camel);
    size_t mark = pbj__push(c, "%s%s", c->path_len ? "." : "", camel);
    const char *slot = (const char *)msg + f->offset;
    json_t *v = NULL;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      size_t n = *(const size_t *)((const char *)msg + f->quantifier_offset);
      const char *elems = *(const char *const *)slot;
      size_t size = pbj__elem_size(f->type);
      v = json_array();
      if (!v) {
        pbj__fail(c, HD_RESOURCE_EXHAUSTED, "out of memory writing JSON");
        goto done;
      }
      for (size_t k = 0; k < n; k++) {
        json_t *e = NULL;
        size_t at = pbj__push(c, "[%zu]", k);
        if (pbj__write_value(c, f, elems + k * size, &e)) {
          json_decref(v);
          goto done;
        }
        if (json_array_append_new(v, e)) { /* e is freed by jansson */
          json_decref(v);
          pbj__fail(c, HD_RESOURCE_EXHAUSTED, "out of memory writing JSON");
          goto done;
        }
        pbj__pop(c, at);
      }
    } else if (pbj__write_value(c, f, slot, &v)) {
      goto done;
    }
    if (json_object_set_new(obj, camel, v)) {
      pbj__fail(c, HD_RESOURCE_EXHAUSTED, "out of memory writing JSON");
      goto done;
    }
    pbj__pop(c, mark);
  }
  rc = 0;
done:
  if (rc)
    json_decref(obj);
  else
    *out = obj;
  return rc;
}

int hd_pb_json_write(const ProtobufCMessage *msg, json_t **out, hd_err *err) {
  hd_err local = {0};
  pbj_ctx c = {.err = err ? err : &local};
  hd_err_clear(c.err);
  if (pbj__unmapped_wkt(msg->descriptor))
    return hd_err_set(err, HD_INTERNAL, "%s is not mapped to JSON here", msg->descriptor->name);
  if (pbj__is_fieldmask(msg->descriptor)) return pbj__write_fieldmask(&c, msg, out);
  return pbj__write_message(&c, msg, out);
}
