/* The NUL walk over a request's wire format (see wire_check.h). */
#include "rpc/wire_check.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The field path so far, "task.attachments.filename"; truncated (never overrun) when long. */
typedef struct wire_path {
  char buf[256];
  size_t len;
} wire_path;

enum { WIRE_OK = 0, WIRE_FOUND = 1, WIRE_MALFORMED = 2 };

/* Reads a varint at *pos; false when it runs past end or past 10 bytes. */
static bool wire__varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *out) {
  uint64_t v = 0;
  for (unsigned shift = 0; shift < 70 && *pos < len; shift += 7) {
    uint8_t b = buf[(*pos)++];
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

static size_t wire__push(wire_path *p, const char *name) {
  size_t was = p->len;
  int n = snprintf(p->buf + p->len, sizeof p->buf - p->len, "%s%s", p->len ? "." : "", name);
  if (n > 0) p->len += (size_t)n < sizeof p->buf - p->len ? (size_t)n : sizeof p->buf - 1 - p->len;
  return was;
}

static int wire__walk(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                      unsigned depth, wire_path *path, hd_err *err) {
  if (depth > HD_WIRE_MAX_DEPTH) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "the request nests messages deeper than %d levels",
               HD_WIRE_MAX_DEPTH);
    return WIRE_FOUND;
  }
  size_t pos = 0;
  while (pos < len) {
    uint64_t key, n;
    if (!wire__varint(buf, len, &pos, &key)) return WIRE_MALFORMED;
    unsigned wtype = (unsigned)(key & 7);
    uint64_t number = key >> 3;
    switch (wtype) {
      case 0: /* varint */
        if (!wire__varint(buf, len, &pos, &n)) return WIRE_MALFORMED;
        continue;
      case 1: /* 64-bit */
        if (len - pos < 8) return WIRE_MALFORMED;
        pos += 8;
        continue;
      case 5: /* 32-bit */
        if (len - pos < 4) return WIRE_MALFORMED;
        pos += 4;
        continue;
      case 2: /* length-delimited: the only kind that can be a string or a message */
        if (!wire__varint(buf, len, &pos, &n) || n > len - pos) return WIRE_MALFORMED;
        break;
      default: /* groups (protobuf-c has none) and invalid types: unpack refuses them */
        return WIRE_MALFORMED;
    }
    const uint8_t *val = buf + pos;
    pos += (size_t)n;
    const ProtobufCFieldDescriptor *f =
        number <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(desc, (unsigned)number)
                             : NULL;
    if (!f) continue; /* unknown field: kept as bytes by unpack, never read as a string */
    if (f->type == PROTOBUF_C_TYPE_STRING) {
      if (memchr(val, '\0', (size_t)n)) {
        size_t was = wire__push(path, f->name);
        hd_err_set(err, HD_INVALID_ARGUMENT,
                   "%s contains a NUL byte (\\0); text fields must not contain NUL", path->buf);
        path->len = was;
        return WIRE_FOUND;
      }
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
      size_t was = wire__push(path, f->name);
      int rc = wire__walk(f->descriptor, val, (size_t)n, depth + 1, path, err);
      path->len = was;
      path->buf[was] = '\0';
      if (rc != WIRE_OK) return rc;
    }
    /* bytes and packed repeated scalars: any byte is allowed */
  }
  return WIRE_OK;
}

int hd_wire_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                          hd_err *err) {
  wire_path path = {.len = 0};
  path.buf[0] = '\0';
  return wire__walk(desc, buf, len, 0, &path, err) == WIRE_FOUND ? -1 : 0;
}
