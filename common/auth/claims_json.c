/* Strict JSON for JWT headers and claims: one flat object of strings, whole numbers and
 * arrays of strings. Anything else is refused rather than guessed at. */
#include "auth/claims_json.h"

#include <string.h>

#include "core/utf8.h"

typedef struct json__parser {
  char *buf;
  size_t len;
  size_t pos;
  const char *why; /* first failure reason; static */
  auth_json_object *obj;
} json__parser;

static int json__fail(json__parser *p, const char *why) {
  if (!p->why) p->why = why;
  return -1;
}

static bool json__is_digit(char c) { return c >= '0' && c <= '9'; }

static void json__skip_ws(json__parser *p) {
  while (p->pos < p->len) {
    char c = p->buf[p->pos];
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
    p->pos++;
  }
}

/* The next character, or '\0' at the end of the input. */
static char json__peek(const json__parser *p) { return p->pos < p->len ? p->buf[p->pos] : '\0'; }

/* Four hex digits at buf[at..at+4) → *out. */
static int json__hex4(json__parser *p, size_t at, unsigned *out) {
  if (at > p->len || p->len - at < 4) return json__fail(p, "unterminated \\u escape");
  unsigned v = 0;
  for (size_t i = at; i < at + 4; i++) {
    char c = p->buf[i];
    unsigned d;
    if (c >= '0' && c <= '9')
      d = (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f')
      d = (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F')
      d = (unsigned)(c - 'A' + 10);
    else
      return json__fail(p, "bad hex digit in a \\u escape");
    v = v << 4 | d;
  }
  *out = v;
  return 0;
}

/* Writes code point cp (valid, not a surrogate) as UTF-8 at w; returns the byte count. */
static size_t json__put_utf8(char *w, unsigned cp) {
  if (cp < 0x80) {
    w[0] = (char)cp;
    return 1;
  }
  if (cp < 0x800) {
    w[0] = (char)(0xC0 | cp >> 6);
    w[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
  }
  if (cp < 0x10000) {
    w[0] = (char)(0xE0 | cp >> 12);
    w[1] = (char)(0x80 | (cp >> 6 & 0x3F));
    w[2] = (char)(0x80 | (cp & 0x3F));
    return 3;
  }
  w[0] = (char)(0xF0 | cp >> 18);
  w[1] = (char)(0x80 | (cp >> 12 & 0x3F));
  w[2] = (char)(0x80 | (cp >> 6 & 0x3F));
  w[3] = (char)(0x80 | (cp & 0x3F));
  return 4;
}

/* The escape after a backslash at buf[*r - 1]; writes its bytes at *w. Every escape is at
 * least as long as what it stands for, so writing in place never overtakes reading. */
static int json__escape(json__parser *p, size_t *r, size_t *w) {
  char *b = p->buf;
  if (*r >= p->len) return json__fail(p, "unterminated string");
  char e = b[(*r)++];
  switch (e) {
    case '"':
      b[(*w)++] = '"';
      return 0;
    case '\\':
      b[(*w)++] = '\\';
      return 0;
    case '/':
      b[(*w)++] = '/';
      return 0;
    case 'b':
      b[(*w)++] = '\b';
      return 0;
    case 'f':
      b[(*w)++] = '\f';
      return 0;
    case 'n':
      b[(*w)++] = '\n';
      return 0;
    case 'r':
      b[(*w)++] = '\r';
      return 0;
    case 't':
      b[(*w)++] = '\t';
      return 0;
    case 'u':
      break;
    default:
      return json__fail(p, "unknown escape in a string");
  }
  unsigned cp;
  if (json__hex4(p, *r, &cp) != 0) return -1;
  *r += 4;
  if (cp >= 0xDC00 && cp <= 0xDFFF) return json__fail(p, "lone surrogate in a \\u escape");
  if (cp >= 0xD800 && cp <= 0xDBFF) {
    unsigned lo;
    if (*r + 1 >= p->len || b[*r] != '\\' || b[*r + 1] != 'u')
      return json__fail(p, "lone surrogate in a \\u escape");
    if (json__hex4(p, *r + 2, &lo) != 0) return -1;
    if (lo < 0xDC00 || lo > 0xDFFF) return json__fail(p, "lone surrogate in a \\u escape");
    *r += 6;
    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
  }
  if (cp == 0) return json__fail(p, "\\u0000 in a string");
  *w += json__put_utf8(b + *w, cp);
  return 0;
}

/* A string at the current position; unescaped in place into *out. */
static int json__string(json__parser *p, auth_json_span *out) {
  if (json__peek(p) != '"') return json__fail(p, "expected a string");
  char *b = p->buf;
  size_t start = p->pos + 1, r = start, w = start;
  for (;;) {
    if (r >= p->len) return json__fail(p, "unterminated string");
    unsigned char c = (unsigned char)b[r];
    if (c == '"') break;
    if (c < 0x20) return json__fail(p, "control character in a string");
    if (c == '\\') {
      r++;
      if (json__escape(p, &r, &w) != 0) return -1;
    } else {
      b[w++] = b[r++];
    }
  }
  out->p = b + start;
  out->len = w - start;
  p->pos = r + 1;
  return 0;
}

/* A whole number in int64 range: -?(0|[1-9][0-9]*), no fraction or exponent. */
static int json__int(json__parser *p, int64_t *out) {
  const char *b = p->buf;
  size_t i = p->pos;
  bool neg = false;
  if (i < p->len && b[i] == '-') {
    neg = true;
    i++;
  }
  if (i >= p->len || !json__is_digit(b[i])) return json__fail(p, "expected a value");
  if (b[i] == '0' && i + 1 < p->len && json__is_digit(b[i + 1]))
    return json__fail(p, "leading zero in a number");
  uint64_t v = 0;
  for (; i < p->len && json__is_digit(b[i]); i++) {
    uint64_t d = (uint64_t)(b[i] - '0');
    if (v > ((uint64_t)INT64_MAX - d) / 10) return json__fail(p, "number out of range");
    v = v * 10 + d;
  }
  if (i < p->len && (b[i] == '.' || b[i] == 'e' || b[i] == 'E'))
    return json__fail(p, "only whole numbers are accepted");
  *out = neg ? -(int64_t)v : (int64_t)v;
  p->pos = i;
  return 0;
}

/* An array of strings at the current position, appended to the object's items. */
static int json__strings(json__parser *p, auth_json_member *m) {
  auth_json_object *o = p->obj;
  p->pos++; /* '[' */
  m->first = o->n_items;
  m->count = 0;
  json__skip_ws(p);
  if (json__peek(p) == ']') {
    p->pos++;
    return 0;
  }
  for (;;) {
    json__skip_ws(p);
    if (json__peek(p) != '"') return json__fail(p, "arrays may hold only strings");
    if (o->n_items >= AUTH_JSON_MAX_ITEMS) return json__fail(p, "too many array items");
    if (json__string(p, &o->items[o->n_items]) != 0) return -1;
    o->n_items++;
    m->count++;
    json__skip_ws(p);
    char c = json__peek(p);
    p->pos++;
    if (c == ']') return 0;
    if (c != ',') return json__fail(p, "expected ',' or ']' in an array");
  }
}

static int json__value(json__parser *p, auth_json_member *m) {
  char c = json__peek(p);
  if (c == '"') {
    m->type = AUTH_JSON_STRING;
    return json__string(p, &m->str);
  }
  if (c == '[') {
    m->type = AUTH_JSON_STRINGS;
    return json__strings(p, m);
  }
  if (c == '-' || json__is_digit(c)) {
    m->type = AUTH_JSON_INT;
    return json__int(p, &m->num);
  }
  if (c == '{') return json__fail(p, "nested objects are not accepted");
  if (c == 't' || c == 'f' || c == 'n')
    return json__fail(p, "true, false and null are not accepted");
  return json__fail(p, "expected a value");
}

static bool json__span_eq(auth_json_span a, auth_json_span b) {
  return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static int json__member(json__parser *p) {
  auth_json_object *o = p->obj;
  auth_json_span key;
  if (json__string(p, &key) != 0) return -1;
  for (size_t i = 0; i < o->n_members; i++)
    if (json__span_eq(o->members[i].key, key)) return json__fail(p, "duplicate key");
  if (o->n_members >= AUTH_JSON_MAX_MEMBERS) return json__fail(p, "too many members");
  auth_json_member *m = &o->members[o->n_members];
  memset(m, 0, sizeof *m);
  m->key = key;
  json__skip_ws(p);
  if (json__peek(p) != ':') return json__fail(p, "expected ':' after a key");
  p->pos++;
  json__skip_ws(p);
  if (json__value(p, m) != 0) return -1;
  o->n_members++;
  return 0;
}

int auth_json_parse(char *buf, size_t len, auth_json_object *out, const char **why) {
  json__parser p = {.buf = buf, .len = len, .obj = out};
  memset(out, 0, sizeof *out);
  if (!buf || !hd_utf8_valid(buf, len, NULL)) {
    json__fail(&p, "not valid UTF-8");
    goto done;
  }
  json__skip_ws(&p);
  if (json__peek(&p) != '{') {
    json__fail(&p, "not a JSON object");
    goto done;
  }
  p.pos++;
  json__skip_ws(&p);
  if (json__peek(&p) == '}') {
    p.pos++;
  } else {
    for (;;) {
      json__skip_ws(&p);
      if (json__member(&p) != 0) goto done;
      json__skip_ws(&p);
      char c = json__peek(&p);
      p.pos++;
      if (c == '}') break;
      if (c != ',') {
        json__fail(&p, "expected ',' or '}' in the object");
        goto done;
      }
    }
  }
  json__skip_ws(&p);
  if (p.pos < p.len) json__fail(&p, "text after the object");

done:
  if (p.why && why) *why = p.why;
  return p.why ? -1 : 0;
}

const auth_json_member *auth_json_find(const auth_json_object *o, const char *key) {
  for (size_t i = 0; i < o->n_members; i++)
    if (auth_json_span_is(o->members[i].key, key)) return &o->members[i];
  return NULL;
}

bool auth_json_span_is(auth_json_span s, const char *z) {
  size_t n = strlen(z);
  return s.len == n && (n == 0 || memcmp(s.p, z, n) == 0);
}
