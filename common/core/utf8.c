/* Strict UTF-8 decoder (RFC 3629). */
#include "core/utf8.h"

bool hd_utf8_valid(const char *str, size_t len, size_t *chars) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0, n = 0;
  while (i < len) {
    unsigned char c = s[i];
    size_t extra;
    unsigned cp;
    if (c < 0x80) {
      i++;
      n++;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (len - i <= extra) return false;
    for (size_t k = 1; k <= extra; k++) {
      if ((s[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if ((extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += extra + 1;
    n++;
  }
  if (chars) *chars = n;
  return true;
}

/* The code point at s[*i] (valid UTF-8 assumed, as checked by hd_utf8_valid); advances *i. */
static unsigned utf8__next(const unsigned char *s, size_t len, size_t *i) {
  unsigned char c = s[*i];
  size_t extra = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;
  unsigned cp = extra == 0 ? c : extra == 1 ? (c & 0x1Fu) : extra == 2 ? (c & 0x0Fu) : (c & 0x07u);
  (*i)++;
  for (size_t k = 0; k < extra && *i < len; k++, (*i)++) cp = (cp << 6) | (s[*i] & 0x3Fu);
  return cp;
}

static bool utf8__is_space(unsigned cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200B) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

bool hd_text_is_blank(const char *str, size_t len) {
  const unsigned char *s = (const unsigned char *)str;
  for (size_t i = 0; i < len;)
    if (!utf8__is_space(utf8__next(s, len, &i))) return false;
  return true;
}
