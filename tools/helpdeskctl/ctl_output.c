/* helpdeskctl's output: a reply as indented canonical JSON (json/pb_json), or as a table of its
 * rows and "name: value" lines for the rest. */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "json/pb_json.h"

#define CTL_CELL_MAX   48 /* characters of a table cell before it is cut with "..." */
#define CTL_COLS_MAX   16 /* columns of a table */
#define CTL_CELL_BYTES (CTL_CELL_MAX * 4 + 8)

/* Characters (code points) of UTF-8 s. */
static size_t ctl__width(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

/* v as the text of a cell or a line: strings as they are, arrays of scalars joined by ",". */
static void ctl__text(const json_t *v, char *buf, size_t cap) {
  buf[0] = '\0';
  if (!v) return;
  switch (json_typeof(v)) {
    case JSON_STRING:
      snprintf(buf, cap, "%s", json_string_value(v));
      break;
    case JSON_INTEGER:
      snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
      break;
    case JSON_REAL:
      snprintf(buf, cap, "%.15g", json_real_value(v));
      break;
    case JSON_TRUE:
      snprintf(buf, cap, "true");
      break;
    case JSON_FALSE:
      snprintf(buf, cap, "false");
      break;
    case JSON_ARRAY: {
      size_t used = 0;
      for (size_t i = 0; i < json_array_size(v) && used + 1 < cap; i++) {
        char item[CTL_CELL_BYTES];
        ctl__text(json_array_get(v, i), item, sizeof item);
        int n = snprintf(buf + used, cap - used, "%s%s", i ? "," : "", item);
        if (n < 0) break;
        used += (size_t)n < cap - used ? (size_t)n : cap - used - 1;
      }
      break;
    }
    case JSON_OBJECT:
      snprintf(buf, cap, "{...}");
      break;
    case JSON_NULL:
      break;
  }
}

/* The member at dotted path ("claim.ticketId") of obj; NULL when absent. */
static const json_t *ctl__at(const json_t *obj, const char *path) {
  char key[128];
  while (obj && json_is_object(obj)) {
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    if (n >= sizeof key) return NULL;
    memcpy(key, path, n);
    key[n] = '\0';
    obj = json_object_get(obj, key);
    if (!dot) return obj;
    path = dot + 1;
  }
  return NULL;
}

/* Cuts s (UTF-8) to CTL_CELL_MAX characters, ending "..." when cut. */
static void ctl__cut(char *s) {
  size_t chars = 0;
  for (char *p = s; *p; p++) {
    if (((unsigned char)*p & 0xC0) == 0x80) continue;
    if (chars++ == CTL_CELL_MAX - 3) {
      memcpy(p, "...", 4);
      return;
    }
  }
}

/* "name: value" lines for obj, nested objects with dotted names, arrays of objects by index. */
static void ctl__lines(FILE *out, const json_t *obj, const char *prefix, const char *skip) {
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)obj, key, v) {
    if (skip && strcmp(key, skip) == 0) continue;
    char name[256];
    snprintf(name, sizeof name, "%s%s", prefix, key);
    if (json_is_object(v)) {
      char sub[260];
      snprintf(sub, sizeof sub, "%s.", name);
      ctl__lines(out, v, sub, NULL);
    } else if (json_is_array(v) && json_array_size(v) && json_is_object(json_array_get(v, 0))) {
      for (size_t i = 0; i < json_array_size(v); i++) {
        char sub[280];
        snprintf(sub, sizeof sub, "%s[%zu].", name, i);
        ctl__lines(out, json_array_get(v, i), sub, NULL);
      }
    } else {
      char text[4096];
      ctl__text(v, text, sizeof text);
      fprintf(out, "%s: %s\n", name, text);
    }
  }
}

/* The rows of array as a table with the given columns, or the scalar members of the rows. */
static void ctl__rows(FILE *out, const json_t *rows, const char *const *columns) {
  const char *cols[CTL_COLS_MAX];
  size_t n_cols = 0;
  if (columns) {
    for (; columns[n_cols] && n_cols < CTL_COLS_MAX; n_cols++) cols[n_cols] = columns[n_cols];
  } else {
    for (size_t r = 0; r < json_array_size(rows); r++) {
      const char *key;
      const json_t *v;
      json_object_foreach(json_array_get(rows, r), key, v) {
        if (json_is_object(v) || n_cols == CTL_COLS_MAX) continue;
        size_t k = 0;
        while (k < n_cols && strcmp(cols[k], key) != 0) k++;
        if (k == n_cols) cols[n_cols++] = key;
      }
    }
  }
  if (json_array_size(rows) == 0) {
    fprintf(out, "(none)\n");
    return;
  }
  size_t width[CTL_COLS_MAX];
  char cell[CTL_CELL_BYTES];
  for (size_t k = 0; k < n_cols; k++) {
    width[k] = ctl__width(cols[k]);
    for (size_t r = 0; r < json_array_size(rows); r++) {
      ctl__text(ctl__at(json_array_get(rows, r), cols[k]), cell, sizeof cell);
      ctl__cut(cell);
      size_t w = ctl__width(cell);
      if (w > width[k]) width[k] = w;
    }
  }
  for (size_t k = 0; k < n_cols; k++)
    fprintf(out, "%s%-*s", k ? "  " : "", k + 1 < n_cols ? (int)width[k] : 0, cols[k]);
  fputc('\n', out);
  for (size_t r = 0; r < json_array_size(rows); r++) {
    for (size_t k = 0; k < n_cols; k++) {
      ctl__text(ctl__at(json_array_get(rows, r), cols[k]), cell, sizeof cell);
      ctl__cut(cell);
      size_t pad = k + 1 < n_cols ? width[k] - ctl__width(cell) : 0;
      fprintf(out, "%s%s%*s", k ? "  " : "", cell, (int)pad, "");
    }
    fputc('\n', out);
  }
}

/* The members at the dotted paths as "name: value" lines (absent ones left out). */
static void ctl__chosen_lines(FILE *out, const json_t *obj, const char *const *paths) {
  for (size_t i = 0; paths[i]; i++) {
    const json_t *v = ctl__at(obj, paths[i]);
    if (!v) continue;
    char text[4096];
    ctl__text(v, text, sizeof text);
    fprintf(out, "%s: %s\n", paths[i], text);
  }
}

int ctl_print_json(ctl *c, json_t *doc, const ctl_table *table, bool as_table_default) {
  bool as_table = c->args->output ? c->args->output == 't' : as_table_default;
  if (!as_table) {
    json_dumpf(doc, c->out, JSON_INDENT(2) | JSON_REAL_PRECISION(15));
    fputc('\n', c->out);
  } else {
    if (table && table->rows) {
      const json_t *rows = ctl__at(doc, table->rows);
      json_t *empty = json_array();
      ctl__rows(c->out, rows && json_is_array(rows) ? rows : empty, table->columns);
      json_decref(empty);
    }
    if (table && table->lines)
      ctl__chosen_lines(c->out, doc, table->lines);
    else
      ctl__lines(c->out, doc, "", table ? table->rows : NULL);
  }
  json_decref(doc);
  fflush(c->out);
  return 0;
}

int ctl_print(ctl *c, const ProtobufCMessage *msg, const ctl_table *table, bool as_table_default,
              hd_err *err) {
  json_t *obj = NULL;
  if (hd_pb_json_write(msg, &obj, err)) return -1;
  return ctl_print_json(c, obj, table, as_table_default);
}
