/* The identifier rule (see ident.h): nothing invisible at either end. */
#include "core/ident.h"

#include <stdbool.h>
#include <stdint.h>

#include "core/utf8.h"

/* Whitespace: Unicode's White_Space property, plus the zero-width characters that show as
 * nothing (U+200B..U+200D, U+2060 word joiner, U+FEFF byte order mark). */
static bool ident__space(uint32_t cp) {
  return cp == 0x20 || (cp >= 0x09 && cp <= 0x0D) || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200D) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x2060 || cp == 0x3000 || cp == 0xFEFF;
}

/* Controls (Unicode general category Cc): C0, DEL and C1. */
static bool ident__control(uint32_t cp) { return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F); }

/* The code point starting at s[0] of well-formed UTF-8 (checked by the caller). */
static uint32_t ident__decode(const unsigned char *s) {
  if (s[0] < 0x80) return s[0];
  if (s[0] < 0xE0) return (uint32_t)(s[0] & 0x1F) << 6 | (s[1] & 0x3F);
  if (s[0] < 0xF0)
    return (uint32_t)(s[0] & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
  return (uint32_t)(s[0] & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
         (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
}

/* Refuses cp at the given end when it is whitespace or a control character. */
static int ident__edge(const char *what, uint32_t cp, const char *end, hd_code code, hd_err *err) {
  const char *kind = ident__space(cp)     ? "whitespace"
                     : ident__control(cp) ? "a control character"
                                          : NULL;
  if (!kind) return 0;
  return hd_err_set(err, code,
                    "%s %s with %s (U+%04X); identifiers are compared exactly, so send it without "
                    "whitespace or control characters at either end",
                    what, end, kind, (unsigned)cp);
}

int hd_ident_check(const char *what, const char *s, size_t len, hd_code code, hd_err *err) {
  if (!s || len == 0) return 0;
  if (!hd_utf8_valid(s, len, NULL)) return hd_err_set(err, code, "%s is not valid UTF-8", what);
  const unsigned char *u = (const unsigned char *)s;
  size_t last = len - 1;
  while (last > 0 && (u[last] & 0xC0) == 0x80) last--; /* back to the last character's lead */
  if (ident__edge(what, ident__decode(u), "begins", code, err) ||
      ident__edge(what, ident__decode(u + last), "ends", code, err))
    return -1;
  return 0;
}
