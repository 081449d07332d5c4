/* Scripts of several statements (migrations): split where a line ends with the delimiter (';',
 * or what a "DELIMITER xx" line set, as the mariadb client does, for procedure bodies), "--"
 * comment lines left out, each statement run through the text protocol. Never used with input. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db/db_internal.h"

#define SCRIPT_DELIMITER_MAX 15 /* bytes of a delimiter */

static bool script__space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static bool script__blank(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!script__space(s[i])) return false;
  return true;
}

/* Runs the statement gathered in buf[0..len), unless it is blank. */
static int script__run(hd_db *db, char *buf, size_t len, hd_err *err) {
  buf[len] = '\0';
  return script__blank(buf, len) ? 0 : db_text(db, buf, len, err);
}

int hd_db_exec_script(hd_db *db, const char *sql, hd_err *err) {
  int rc = -1;
  if (!sql) return hd_err_set(err, HD_INTERNAL, "no script given");
  const size_t total = strlen(sql);
  char *buf = malloc(total + 1); /* one statement at a time; never longer than the script */
  size_t len = 0;
  char delim[SCRIPT_DELIMITER_MAX + 1] = ";";
  size_t delim_len = 1;
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
    if (last - first >= 2 && first[0] == '-' && first[1] == '-') {
      line = next;
      continue;
    }
    if (script__blank(buf, len) && last - first >= 9 && strncasecmp(first, "DELIMITER", 9) == 0 &&
        (last - first == 9 || script__space(first[9]))) {
      const char *d = first + 9;
      while (d < last && script__space(*d)) d++;
      const size_t n = (size_t)(last - d);
      if (n == 0 || n > SCRIPT_DELIMITER_MAX) {
        hd_err_set(err, HD_INTERNAL, "a DELIMITER line names no delimiter of 1 to %d bytes",
                   SCRIPT_DELIMITER_MAX);
        goto done;
      }
      memcpy(delim, d, n);
      delim[n] = '\0';
      delim_len = n;
      len = 0;
      line = next;
      continue;
    }
    const bool ends =
        (size_t)(last - first) >= delim_len && memcmp(last - delim_len, delim, delim_len) == 0;
    const char *copy_end = ends ? last - delim_len : next;
    memcpy(buf + len, line, (size_t)(copy_end - line));
    len += (size_t)(copy_end - line);
    if (ends) {
      if (script__run(db, buf, len, err) != 0) goto done;
      len = 0;
    }
    line = next;
  }
  if (len > 0 && script__run(db, buf, len, err) != 0) goto done;
  rc = 0;
done:
  free(buf);
  return rc;
}
