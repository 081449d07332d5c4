/* UTF-8 validation and character counting for text stored from requests. */
#ifndef HD_CORE_UTF8_H
#define HD_CORE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when s[0..len) is well-formed UTF-8 (no overlongs, surrogates or > U+10FFFF).
 * On success *chars (may be NULL) receives the number of code points. */
bool hd_utf8_valid(const char *s, size_t len, size_t *chars);

#endif
