/* MariaDB errors → hd_err: the status each error number means, and messages that name the
 * statement by its first words and never carry a bound value (the server quotes values in
 * some of its messages, so those parts are blanked out). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "db/db_internal.h"

bool db_errno_gone(unsigned errnum) {
  switch (errnum) {
    case DB_CR_CONNECTION_ERROR:
    case DB_CR_CONN_HOST_ERROR:
    case DB_CR_SERVER_GONE_ERROR:
    case DB_CR_SERVER_LOST:
    case DB_CR_SERVER_LOST_EXTENDED:
    case DB_ER_CONNECTION_KILLED:
    case DB_ER_SERVER_SHUTDOWN:
    case DB_ER_WSREP_NOT_READY:
      return true;
    default:
      return false;
  }
}

bool db_errno_not_run(unsigned errnum) {
  /* 2006: the client could not send the request. 1927 / 1053: the server answered with the
   * kill instead of running it (a statement killed midway is rolled back, like any failed
   * statement). Not 2013: the connection broke while waiting for the answer, so the statement
   * may have been applied. */
  return errnum == DB_CR_SERVER_GONE_ERROR || errnum == DB_ER_CONNECTION_KILLED ||
         errnum == DB_ER_SERVER_SHUTDOWN || errnum == DB_ER_WSREP_NOT_READY;
}

bool db_errno_node_not_ready(unsigned errnum) { return errnum == DB_ER_WSREP_NOT_READY; }

bool db_errno_retryable(unsigned errnum) {
  return errnum == DB_ER_LOCK_DEADLOCK || errnum == DB_ER_LOCK_WAIT_TIMEOUT;
}

void db_sql_quote(const char *sql, char *buf, size_t size) {
  if (size == 0) return;
  size_t o = 0, i = 0;
  const size_t cap = size - 1 < DB_SQL_QUOTE_MAX ? size - 1 : DB_SQL_QUOTE_MAX;
  while (sql[i] == ' ' || sql[i] == '\t' || sql[i] == '\n' || sql[i] == '\r') i++;
  bool space = false;
  for (; sql[i] && o < cap; i++) {
    const char c = sql[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      space = true;
      continue;
    }
    if (space && o + 1 < cap) buf[o++] = ' ';
    space = false;
    buf[o++] = c;
  }
  /* Never end inside a UTF-8 sequence. */
  if (sql[i]) {
    size_t lead = o;
    while (lead > 0 && ((unsigned char)buf[lead - 1] & 0xC0) == 0x80) lead--;
    if (lead > 0 && ((unsigned char)buf[lead - 1] & 0xC0) == 0xC0) {
      const unsigned char b = (unsigned char)buf[lead - 1];
      const size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
      if (o - (lead - 1) < need) o = lead - 1;
    }
  }
  buf[o] = '\0';
  if (sql[i] && o + 3 < size) memcpy(buf + o, "...", 4);
}

/* True when the word just before in[q] (a quote) names an identifier: the quoted text is then
 * a column, key or table name, not a value. */
static bool db__identifier_context(const char *in, size_t q) {
  static const char *const words[] = {"column",    "key",   "constraint", "table",
                                      "database",  "index", "field",      "function",
                                      "procedure", "view",  "trigger",    "sequence"};
  size_t end = q;
  while (end > 0 && in[end - 1] == ' ') end--;
  size_t start = end;
  while (start > 0 && in[start - 1] != ' ' && in[start - 1] != '(') start--;
  const size_t n = end - start;
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (strlen(words[i]) == n && strncasecmp(in + start, words[i], n) == 0) return true;
  return false;
}

/* Where the value quoted from in[q] ends: the rightmost quote that is followed by the text the
 * server puts after a value, so a quote inside the value cannot end the blanking early. */
static size_t db__value_end(const char *in, size_t q) {
  static const char *const after[] = {"' for ", "' at row", "' in "};
  size_t best = 0;
  for (size_t i = 0; i < sizeof after / sizeof after[0]; i++) {
    for (const char *p = strstr(in + q + 1, after[i]); p; p = strstr(p + 1, after[i]))
      if ((size_t)(p - in) > best) best = (size_t)(p - in);
  }
  if (best) return best;
  const char *last = strrchr(in + q + 1, '\'');
  return last ? (size_t)(last - in) : strlen(in);
}

/* The server's message with every quoted value replaced by '?'. */
static void db__redact(const char *in, char *out, size_t size) {
  size_t o = 0;
  for (size_t i = 0; in[i] && o + 1 < size;) {
    if (in[i] != '\'') {
      out[o++] = in[i++];
      continue;
    }
    if (db__identifier_context(in, i)) {
      const char *close = strchr(in + i + 1, '\'');
      const size_t end = close ? (size_t)(close - in) + 1 : strlen(in);
      for (; i < end && o + 1 < size; i++) out[o++] = in[i];
      continue;
    }
    const size_t end = db__value_end(in, i);
    if (o + 3 >= size) break;
    memcpy(out + o, "'?'", 3);
    o += 3;
    i = in[end] ? end + 1 : end;
  }
  out[o] = '\0';
}

/* The key name of a duplicate-entry message ("... for key 'uq_email'"), or "". */
static void db__dup_key(const char *msg, char *out, size_t size) {
  out[0] = '\0';
  const char *k = NULL;
  for (const char *p = strstr(msg, "for key '"); p; p = strstr(p + 1, "for key '")) k = p;
  if (!k) return;
  k += strlen("for key '");
  const char *end = strrchr(k, '\'');
  const size_t n = end ? (size_t)(end - k) : strlen(k);
  snprintf(out, size, "%.*s", (int)(n < size ? n : size - 1), k);
}

int db_fail(hd_db *db, unsigned errnum, const char *errmsg, const char *sql, hd_err *err) {
  char what[DB_SQL_QUOTE_MAX + 8];
  db_sql_quote(sql ? sql : "", what, sizeof what);
  db->last_errno = errnum;
  char msg[300];
  if (db_errno_gone(errnum)) {
    db__redact(errmsg ? errmsg : "", msg, sizeof msg);
    const bool maybe_ran = !db_errno_not_run(errnum);
    hd_err_set(err, HD_UNAVAILABLE, "database unavailable: %s (during \"%s\"%s)", msg, what,
               maybe_ran ? "; it may or may not have been applied" : "");
    db_drop(db);
  } else if (errnum == DB_ER_DUP_ENTRY || errnum == DB_ER_DUP_KEY ||
             errnum == DB_ER_DUP_ENTRY_WITH_KEY_NAME) {
    char key[128];
    db__dup_key(errmsg ? errmsg : "", key, sizeof key);
    hd_err_set(err, HD_ALREADY_EXISTS, "duplicate key%s%s on \"%s\"", key[0] ? " " : "", key, what);
  } else if (errnum == DB_ER_LOCK_DEADLOCK) {
    hd_err_set(err, HD_ABORTED, "deadlock on \"%s\": the transaction was rolled back; run it again",
               what);
  } else if (errnum == DB_ER_LOCK_WAIT_TIMEOUT) {
    hd_err_set(err, HD_ABORTED, "lock wait timeout on \"%s\": run the transaction again", what);
  } else if (errnum == DB_CR_OUT_OF_MEMORY) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory in the database client on \"%s\"", what);
  } else {
    db__redact(errmsg ? errmsg : "", msg, sizeof msg);
    hd_err_set(err, HD_INTERNAL, "database error %u on \"%s\": %s", errnum, what, msg);
  }
  return -1;
}
