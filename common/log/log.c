/* logfmt lines to stderr, one write(2) each so concurrent lines never interleave. */
#include "log/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Runtime setup state: written once by hd_log_setup() before threads start, read after. */
static const char *log_service = "helpdesk";
static hd_log_level log_min = HD_LOG_INFO;

void hd_log_setup(const char *service, hd_log_level min_level) {
  log_service = service;
  log_min = min_level;
}

hd_log_level hd_log_level_parse(const char *s) {
  if (!s) return HD_LOG_INFO;
  if (!strcasecmp(s, "debug")) return HD_LOG_DEBUG;
  if (!strcasecmp(s, "warn") || !strcasecmp(s, "warning")) return HD_LOG_WARN;
  if (!strcasecmp(s, "error")) return HD_LOG_ERROR;
  return HD_LOG_INFO;
}

typedef struct line_buf {
  char data[4096];
  size_t len;
} line_buf;

static void line__raw(line_buf *b, const char *s, size_t n) {
  size_t room = sizeof b->data - 2 - b->len; /* keep room for '\n' */
  if (n > room) n = room;
  memcpy(b->data + b->len, s, n);
  b->len += n;
}

static void line__value(line_buf *b, const char *v) {
  if (!v) v = "";
  int quote = (*v == '\0');
  for (const char *p = v; *p; p++)
    if (*p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20) quote = 1;
  if (!quote) {
    line__raw(b, v, strlen(v));
    return;
  }
  line__raw(b, "\"", 1);
  for (const char *p = v; *p; p++) {
    char esc[8];
    unsigned char c = (unsigned char)*p;
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      line__raw(b, esc, 2);
    } else if (c == '\n') {
      line__raw(b, "\\n", 2);
    } else if (c < 0x20) {
      snprintf(esc, sizeof esc, "\\x%02x", c);
      line__raw(b, esc, 4);
    } else {
      line__raw(b, (const char *)p, 1);
    }
  }
  line__raw(b, "\"", 1);
}

static void line__pair(line_buf *b, const char *k, const char *v) {
  line__raw(b, " ", 1);
  line__raw(b, k, strlen(k));
  line__raw(b, "=", 1);
  line__value(b, v);
}

void hd_log(hd_log_level level, const char *event, ...) {
  static const char *const names[] = {"debug", "info", "warn", "error"};
  if (level < log_min) return;
  line_buf b;
  b.len = 0;
  struct timeval tv;
  gettimeofday(&tv, NULL);
  struct tm tm;
  gmtime_r(&tv.tv_sec, &tm);
  char ts[96];
  snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)tv.tv_usec);
  line__raw(&b, "ts=", 3);
  line__raw(&b, ts, strlen(ts));
  line__pair(&b, "level", names[level]);
  line__pair(&b, "svc", log_service);
  line__pair(&b, "event", event);
  va_list ap;
  va_start(ap, event);
  for (;;) {
    const char *k = va_arg(ap, const char *);
    if (!k) break;
    const char *v = va_arg(ap, const char *);
    line__pair(&b, k, v);
  }
  va_end(ap);
  b.data[b.len++] = '\n';
  ssize_t w = write(STDERR_FILENO, b.data, b.len);
  (void)w;
}
