/* Identifiers (tenants, user ids, keys, department names) are compared byte for byte everywhere,
 * so one that only looks like another must not get in: none may begin or end with whitespace or a
 * control character. */
#ifndef HD_CORE_IDENT_H
#define HD_CORE_IDENT_H

#include <stddef.h>

#include "core/err.h"

/* Checks s[0..len) (NULL counts as "") as an identifier: valid UTF-8 whose first and last
 * characters are neither whitespace (Unicode White_Space, and the invisible U+200B..U+200D,
 * U+2060 and U+FEFF) nor a control character (U+0000..U+001F, U+007F..U+009F). Empty passes:
 * whether one is required, and how long it may be, is the caller's rule. 0, or -1 with err (may
 * be NULL) set to code and a message naming what (e.g. "owner_id", "token tenant (tenant)"):
 * "<what> ends with whitespace (U+0020); identifiers are compared exactly, so send it without
 * whitespace or control characters at either end", "<what> begins with a control character
 * (U+0009); ...", "<what> is not valid UTF-8". */
int hd_ident_check(const char *what, const char *s, size_t len, hd_code code, hd_err *err);

#endif
