/* Prepared statements: the per-connection cache keyed by SQL text, parameter binding, running a
 * statement (once more on a new connection when the old one died before it could run), and
 * fetching every row of a result without buffering more than max_rows + 1 of them. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_internal.h"

#define STMT_MAX_PARAMS  65535u /* the protocol's limit */
#define STMT_STACK_BINDS 16u    /* parameters bound without an allocation */
/* Bytes of a cell fetched in the first pass; longer ones are re-read. */
#define STMT_SCRATCH 64u

/* One call of hd_db_exec / hd_db_query. */
typedef struct stmt_call {
  const char *sql;
  const hd_db_param *params;
  size_t n;
  bool query; /* fetch rows (and the statement is a read, safe to run twice) */
  size_t max_rows;
  hd_db_rows *rows; /* query: the result, owned by the call until handed out */
  uint64_t affected, insert_id;
} stmt_call;

/* Where the first-pass fetch of a column lands. */
typedef struct stmt_col {
  char scratch[STMT_SCRATCH];
  double d;
  float f;
  unsigned long len;
  my_bool is_null, error;
} stmt_col;

static uint64_t stmt__hash(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ull;
  }
  return h;
}

/* Fails the call with the statement's own error; the statement stays cached unless the
 * connection is gone (then db_fail drops both). */
static int stmt__fail(hd_db *db, MYSQL_STMT *st, const char *sql, hd_err *err) {
  unsigned e = mysql_stmt_errno(st);
  char msg[MYSQL_ERRMSG_SIZE];
  snprintf(msg, sizeof msg, "%s", e ? mysql_stmt_error(st) : mysql_error(db->m));
  if (!e) e = mysql_errno(db->m);
  if (!e) e = 2000; /* CR_UNKNOWN_ERROR */
  if (!db_errno_gone(e)) mysql_stmt_free_result(st);
  return db_fail(db, e, msg, sql, err);
}

/* The cached statement for sql, prepared now when missing (evicting the least recently used
 * one when the cache is full). *out is borrowed: valid until the next db_drop(). */
static int stmt__get(hd_db *db, const char *sql, MYSQL_STMT **out, hd_err *err) {
  const size_t len = strlen(sql);
  const uint64_t h = stmt__hash(sql, len);
  db->use_clock++;
  for (size_t i = 0; i < db->n_cached; i++) {
    db_cached_stmt *e = &db->cache[i];
    if (e->hash == h && e->len == len && memcmp(e->sql, sql, len) == 0) {
      e->last_use = db->use_clock;
      *out = e->st;
      return 0;
    }
  }
  MYSQL_STMT *st = mysql_stmt_init(db->m);
  char *copy = malloc(len + 1);
  if (!st || !copy) {
    if (st) mysql_stmt_close(st);
    free(copy);
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory preparing a statement");
  }
  memcpy(copy, sql, len + 1);
  if (mysql_stmt_prepare(st, sql, (unsigned long)len) != 0) {
    const unsigned e = mysql_stmt_errno(st);
    char msg[MYSQL_ERRMSG_SIZE];
    snprintf(msg, sizeof msg, "%s", mysql_stmt_error(st));
    mysql_stmt_close(st);
    free(copy);
    return db_fail(db, e, msg, sql, err);
  }
  size_t slot = db->n_cached;
  if (slot == DB_STMT_CACHE_MAX) {
    slot = 0;
    for (size_t i = 1; i < db->n_cached; i++)
      if (db->cache[i].last_use < db->cache[slot].last_use) slot = i;
    mysql_stmt_close(db->cache[slot].st);
    free(db->cache[slot].sql);
  } else {
    db->n_cached++;
  }
  db->cache[slot] =
      (db_cached_stmt){.sql = copy, .len = len, .hash = h, .last_use = db->use_clock, .st = st};
  *out = st;
  return 0;
}

static int stmt__bind_params(const stmt_call *c, MYSQL_BIND *b, unsigned long *lens, hd_err *err) {
  static const char empty[1] = "";
  for (size_t i = 0; i < c->n; i++) {
    const hd_db_param *p = &c->params[i];
    memset(&b[i], 0, sizeof b[i]);
    switch (p->type) {
      case HD_DB_NULL:
        b[i].buffer_type = MYSQL_TYPE_NULL;
        break;
      case HD_DB_INT:
        b[i].buffer_type = MYSQL_TYPE_LONGLONG;
        b[i].buffer = (void *)&p->i;
        break;
      case HD_DB_DOUBLE:
        b[i].buffer_type = MYSQL_TYPE_DOUBLE;
        b[i].buffer = (void *)&p->d;
        break;
      case HD_DB_TEXT:
      case HD_DB_BLOB:
        if (!p->s && p->len)
          return hd_err_set(err, HD_INTERNAL, "parameter %zu has %zu bytes but no pointer", i + 1,
                            p->len);
        b[i].buffer_type = p->type == HD_DB_TEXT ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
        b[i].buffer = (void *)(p->s ? p->s : empty);
        b[i].buffer_length = (unsigned long)p->len;
        lens[i] = (unsigned long)p->len;
        b[i].length = &lens[i];
        break;
      default:
        return hd_err_set(err, HD_INTERNAL, "parameter %zu has an unknown type %d", i + 1,
                          (int)p->type);
    }
  }
  return 0;
}

/* The shortest text of v that reads back as v. */
static size_t stmt__double_text(double v, char *buf, size_t size) {
  int n = 0;
  for (int prec = 15; prec <= 17; prec++) {
    n = snprintf(buf, size, "%.*g", prec, v);
    if (strtod(buf, NULL) == v) break;
  }
  return n > 0 ? (size_t)n : 0;
}

static size_t stmt__float_text(float v, char *buf, size_t size) {
  int n = 0;
  for (int prec = 6; prec <= 9; prec++) {
    n = snprintf(buf, size, "%.*g", prec, (double)v);
    if (strtof(buf, NULL) == v) break;
  }
  return n > 0 ? (size_t)n : 0;
}

/* Copies the current row's cells into rows (cols: the first-pass fetch; long cells are read
 * again at their full length with mysql_stmt_fetch_column). */
static int stmt__store_row(hd_db *db, MYSQL_STMT *st, const MYSQL_FIELD *fields, stmt_col *cols,
                           size_t ncols, hd_db_rows *rows, const char *sql, hd_err *err) {
  if (db_rows_begin_row(rows) != 0)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory fetching rows");
  for (size_t c = 0; c < ncols; c++) {
    const stmt_col *col = &cols[c];
    if (col->is_null) continue;
    char num[40];
    const char *src = NULL;
    size_t len = 0;
    if (fields[c].type == MYSQL_TYPE_DOUBLE) {
      len = stmt__double_text(col->d, num, sizeof num);
      src = num;
    } else if (fields[c].type == MYSQL_TYPE_FLOAT) {
      len = stmt__float_text(col->f, num, sizeof num);
      src = num;
    } else {
      len = col->len;
      if (!col->error && len <= STMT_SCRATCH) src = col->scratch;
    }
    char *dst = db_rows_reserve(rows, len);
    if (!dst)
      return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory fetching a %zu-byte value", len);
    if (src) {
      memcpy(dst, src, len);
    } else {
      unsigned long got = 0;
      my_bool is_null = 0, error = 0;
      MYSQL_BIND b = {.buffer_type = MYSQL_TYPE_STRING,
                      .buffer = dst,
                      .buffer_length = (unsigned long)len + 1,
                      .length = &got,
                      .is_null = &is_null,
                      .error = &error};
      if (mysql_stmt_fetch_column(st, &b, (unsigned)c, 0) != 0) return stmt__fail(db, st, sql, err);
      if (error || got != len)
        return hd_err_set(err, HD_INTERNAL, "column %zu of \"%.40s\" changed length while fetched",
                          c + 1, sql);
    }
    db_rows_commit(rows, c, len);
  }
  return 0;
}

/* Fetches every row of the executed statement into c->rows. */
static int stmt__fetch(hd_db *db, MYSQL_STMT *st, stmt_call *c, hd_err *err) {
  int rc = -1;
  MYSQL_RES *meta = NULL;
  MYSQL_BIND *b = NULL;
  stmt_col *cols = NULL;
  const size_t ncols = mysql_stmt_field_count(st);
  hd_db_rows *rows = db_rows_new(ncols);
  if (!rows) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory fetching rows");
    goto done;
  }
  if (ncols > 0) {
    meta = mysql_stmt_result_metadata(st);
    b = calloc(ncols, sizeof *b);
    cols = calloc(ncols, sizeof *cols);
    if (!meta || !b || !cols) {
      if (!meta && mysql_stmt_errno(st)) {
        stmt__fail(db, st, c->sql, err);
      } else {
        hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory fetching rows");
      }
      goto done;
    }
    const MYSQL_FIELD *fields = mysql_fetch_fields(meta);
    for (size_t i = 0; i < ncols; i++) {
      b[i].length = &cols[i].len;
      b[i].is_null = &cols[i].is_null;
      b[i].error = &cols[i].error;
      if (fields[i].type == MYSQL_TYPE_DOUBLE) {
        b[i].buffer_type = MYSQL_TYPE_DOUBLE;
        b[i].buffer = &cols[i].d;
      } else if (fields[i].type == MYSQL_TYPE_FLOAT) {
        b[i].buffer_type = MYSQL_TYPE_FLOAT;
        b[i].buffer = &cols[i].f;
      } else {
        b[i].buffer_type = MYSQL_TYPE_STRING;
        b[i].buffer = cols[i].scratch;
        b[i].buffer_length = STMT_SCRATCH;
      }
    }
    if (mysql_stmt_bind_result(st, b) != 0) {
      stmt__fail(db, st, c->sql, err);
      goto done;
    }
    for (;;) {
      const int f = mysql_stmt_fetch(st);
      if (f == MYSQL_NO_DATA) break;
      if (f != 0 && f != MYSQL_DATA_TRUNCATED) {
        stmt__fail(db, st, c->sql, err);
        goto done;
      }
      if (hd_db_rows_count(rows) == c->max_rows) {
        char what[DB_SQL_QUOTE_MAX + 8];
        db_sql_quote(c->sql, what, sizeof what);
        hd_err_set(err, HD_RESOURCE_EXHAUSTED, "\"%s\" returned more than %zu rows", what,
                   c->max_rows);
        goto done;
      }
      if (stmt__store_row(db, st, fields, cols, ncols, rows, c->sql, err) != 0) goto done;
    }
  }
  c->rows = rows;
  rows = NULL;
  rc = 0;
done:
  /* Reads off what is left of the result (unless the connection is gone, which freed st). */
  if (db->m) mysql_stmt_free_result(st);
  if (meta) mysql_free_result(meta);
  free(b);
  free(cols);
  hd_db_rows_free(rows);
  return rc;
}

/* One attempt on the current connection. *sent: the request may have reached the server. */
static int stmt__attempt(hd_db *db, stmt_call *c, bool *sent, hd_err *err) {
  int rc = -1;
  MYSQL_BIND stack_binds[STMT_STACK_BINDS];
  unsigned long stack_lens[STMT_STACK_BINDS];
  MYSQL_BIND *b = stack_binds;
  unsigned long *lens = stack_lens;
  MYSQL_STMT *st = NULL;
  *sent = false;
  db->last_errno = 0;
  if (stmt__get(db, c->sql, &st, err) != 0) goto done;
  if (mysql_stmt_param_count(st) != c->n) {
    char what[DB_SQL_QUOTE_MAX + 8];
    db_sql_quote(c->sql, what, sizeof what);
    hd_err_set(err, HD_INTERNAL, "\"%s\" takes %lu parameters, %zu given", what,
               mysql_stmt_param_count(st), c->n);
    goto done;
  }
  if (c->n > STMT_STACK_BINDS) {
    b = calloc(c->n, sizeof *b);
    lens = calloc(c->n, sizeof *lens);
    if (!b || !lens) {
      hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory binding %zu parameters", c->n);
      goto done;
    }
  }
  if (c->n > 0) {
    if (stmt__bind_params(c, b, lens, err) != 0) goto done;
    if (mysql_stmt_bind_param(st, b) != 0) {
      stmt__fail(db, st, c->sql, err);
      goto done;
    }
  }
  *sent = true;
  if (mysql_stmt_execute(st) != 0) {
    stmt__fail(db, st, c->sql, err);
    goto done;
  }
  if (c->query) {
    if (stmt__fetch(db, st, c, err) != 0) goto done;
  } else {
    if (mysql_stmt_field_count(st) > 0) mysql_stmt_free_result(st);
    c->affected = mysql_stmt_affected_rows(st);
    c->insert_id = mysql_stmt_insert_id(st);
  }
  db->last_errno = 0;
  rc = 0;
done:
  if (b != stack_binds) free(b);
  if (lens != stack_lens) free(lens);
  return rc;
}

static int stmt__run(hd_db *db, stmt_call *c, hd_err *err) {
  if (!c->sql) return hd_err_set(err, HD_INTERNAL, "no statement given");
  if (c->n > 0 && !c->params)
    return hd_err_set(err, HD_INTERNAL, "%zu parameters announced but none given", c->n);
  if (c->n > STMT_MAX_PARAMS)
    return hd_err_set(err, HD_INTERNAL, "%zu parameters exceed %u", c->n, STMT_MAX_PARAMS);
  for (int attempt = 0;; attempt++) {
    bool reused = false, sent = false;
    if (db_ready(db, &reused, err) != 0) return -1;
    if (stmt__attempt(db, c, &sent, err) == 0) return 0;
    /* Once more on a new connection only when the old one was found dead and running the
     * statement again cannot apply it twice; never inside a transaction (it died with it). */
    const unsigned e = db->last_errno;
    const bool again = attempt == 0 && reused && db->tx == DB_TX_NONE && db_errno_gone(e) &&
                       (!sent || c->query || db_errno_not_run(e));
    if (!again) return -1;
  }
}

int hd_db_exec(hd_db *db, const char *sql, const hd_db_param *params, size_t n, uint64_t *affected,
               uint64_t *insert_id, hd_err *err) {
  stmt_call c = {.sql = sql, .params = params, .n = n};
  const int rc = stmt__run(db, &c, err);
  if (rc == 0 && affected) *affected = c.affected;
  if (rc == 0 && insert_id) *insert_id = c.insert_id;
  return rc;
}

int hd_db_query(hd_db *db, const char *sql, const hd_db_param *params, size_t n, size_t max_rows,
                hd_db_rows **out, hd_err *err) {
  stmt_call c = {.sql = sql, .params = params, .n = n, .query = true, .max_rows = max_rows};
  *out = NULL;
  const int rc = stmt__run(db, &c, err);
  if (rc == 0) *out = c.rows;
  return rc;
}
