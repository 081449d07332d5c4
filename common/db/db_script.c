/* Scripts of several statements (migrations): split where a line ends with ';', "--" comment
 * lines left out, each statement run through the text protocol. Never used with input. */
#include <stdlib.h>
#include <string.h>

#include "db/db_internal.h"

static bool script__space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static bool script__blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!script__space(s[i])) return false;
  return true;
}

int hd_db_exec_script(hd_db *db, const char *sql, hd_err *err) {
  int rc = -1;
  if (!sql) return hd_err_set(err, HD_INTERNAL, "no script given");
  const size_t total = strlen(sql);
  char *buf = malloc(total + 1); /* one statement at a time; never longer than the script */
  size_t len = 0;
  if (!buf) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory splitting a %zu-byte script", total);
    goto done;
  }
  for (const char *line = sql; *line;) {
    const char *nl = strchr(line, '\n');
    const char *eol = nl ? nl : line + strlen(line);
    const char *next = nl ? nl + 1 : eol;
    const char *first = line;
    while (first < eol && script__space(*first)) first++;
    const char *last = eol;
    while (last > first && script__space(last[-1])) last--;
    if (eol - first >= 2 && first[0] == '-' && first[1] == '-') {
      line = next;
      continue;
    }
    const bool ends = last > first && last[-1] == ';';
    const char *copy_end = ends ? last - 1 : next;
    memcpy(buf + len, line, (size_t)(copy_end - line));
    len += (size_t)(copy_end - line);
    if (ends) {
      buf[len] = '\0';
      if (!script__blank(buf, len) && db_text(db, buf, len, err) != 0) goto done;
      len = 0;
    }
    line = next;
  }
  if (len > 0 && !script__blank(buf, len)) {
    buf[len] = '\0';
    if (db_text(db, buf, len, err) != 0) goto done;
  }
  rc = 0;
done:
  free(buf);
  return rc;
}
