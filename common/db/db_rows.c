/* A fully fetched result: one array of cells (offset, length, null flag) and one byte buffer
 * holding every cell's bytes followed by a NUL, grown by doubling while rows arrive. */
#include <stdlib.h>
#include <string.h>

#include "db/db_internal.h"

typedef struct db_cell {
  size_t off; /* into data */
  size_t len;
  bool null;
} db_cell;

struct hd_db_rows {
  size_t nrows, ncols;
  size_t rows_cap;
  db_cell *cells; /* rows_cap * ncols, row-major */
  char *data;
  size_t data_len, data_cap;
};

hd_db_rows *db_rows_new(size_t ncols) {
  hd_db_rows *r = calloc(1, sizeof *r);
  if (r) r->ncols = ncols;
  return r;
}

void hd_db_rows_free(hd_db_rows *r) {
  if (!r) return;
  free(r->cells);
  free(r->data);
  free(r);
}

int db_rows_begin_row(hd_db_rows *r) {
  if (r->nrows == r->rows_cap) {
    const size_t cap = r->rows_cap ? r->rows_cap * 2 : 16;
    if (cap < r->rows_cap || (r->ncols && cap > SIZE_MAX / sizeof(db_cell) / r->ncols)) return -1;
    const size_t bytes = cap * r->ncols * sizeof(db_cell);
    db_cell *grown = realloc(r->cells, bytes ? bytes : 1);
    if (!grown) return -1;
    r->cells = grown;
    r->rows_cap = cap;
  }
  db_cell *row = r->cells + r->nrows * r->ncols;
  for (size_t c = 0; c < r->ncols; c++) row[c] = (db_cell){.off = 0, .len = 0, .null = true};
  r->nrows++;
  return 0;
}

char *db_rows_reserve(hd_db_rows *r, size_t len) {
  if (len > SIZE_MAX - 1 - r->data_len) return NULL;
  const size_t need = r->data_len + len + 1;
  if (need > r->data_cap) {
    size_t cap = r->data_cap ? r->data_cap : 256;
    while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    char *grown = realloc(r->data, cap);
    if (!grown) return NULL;
    r->data = grown;
    r->data_cap = cap;
  }
  return r->data + r->data_len;
}

void db_rows_commit(hd_db_rows *r, size_t col, size_t len) {
  db_cell *cell = r->cells + (r->nrows - 1) * r->ncols + col;
  *cell = (db_cell){.off = r->data_len, .len = len, .null = false};
  r->data[r->data_len + len] = '\0';
  r->data_len += len + 1;
}

size_t hd_db_rows_count(const hd_db_rows *r) { return r ? r->nrows : 0; }

size_t hd_db_rows_columns(const hd_db_rows *r) { return r ? r->ncols : 0; }

static const db_cell *rows__cell(const hd_db_rows *r, size_t row, size_t col) {
  if (!r || row >= r->nrows || col >= r->ncols) return NULL;
  return r->cells + row * r->ncols + col;
}

bool hd_db_is_null(const hd_db_rows *r, size_t row, size_t col) {
  const db_cell *c = rows__cell(r, row, col);
  return !c || c->null;
}

const char *hd_db_str(const hd_db_rows *r, size_t row, size_t col, size_t *len) {
  const db_cell *c = rows__cell(r, row, col);
  if (!c || c->null) {
    if (len) *len = 0;
    return "";
  }
  if (len) *len = c->len;
  return r->data + c->off;
}

int64_t hd_db_i64(const hd_db_rows *r, size_t row, size_t col) {
  return strtoll(hd_db_str(r, row, col, NULL), NULL, 10);
}

double hd_db_f64(const hd_db_rows *r, size_t row, size_t col) {
  return strtod(hd_db_str(r, row, col, NULL), NULL);
}
