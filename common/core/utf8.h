/* UTF-8 validation and character counting for text stored from requests. */
#ifndef HD_CORE_UTF8_H
#define HD_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF).
 * On success *chars (may be NULL) receives the number of code points. */
bool hd_utf8_valid(const char *s, size_t len, size_t *chars);

/* True when s[0..len) (valid UTF-8) holds nothing but white space: the Unicode White_Space
 * characters (ASCII space, tab, line breaks, U+00A0, U+1680, U+2000..U+200A, U+2028, U+2029,
 * U+202F, U+205F, U+3000) and the invisible U+200B and U+FEFF. True for len 0. For required text
 * (a subject of "   " is no subject); a field that may be empty should not be checked with it. */
bool hd_text_is_blank(const char *s, size_t len);

#endif
