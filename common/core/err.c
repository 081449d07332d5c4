/* Error struct helpers. */
#include "core/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void err__clear_details(hd_err *err) {
  err->reason[0] = '\0';
  err->field[0] = '\0';
  err->current_version = 0;
  err->retry_after_ms = 0;
}

/* code and the formatted message, details cleared. */
static void err__vset(hd_err *err, hd_code code, const char *fmt, va_list ap) {
  err->code = code;
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  err__clear_details(err);
}

int hd_err_set(hd_err *err, hd_code code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    err__vset(err, code, fmt, ap);
    va_end(ap);
  }
  return -1;
}

int hd_err_conflict(hd_err *err, int64_t current_version, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    err__vset(err, HD_ABORTED, fmt, ap);
    va_end(ap);
    hd_err_reason(err, HD_REASON_VERSION_CONFLICT);
    hd_err_current_version(err, current_version);
  }
  return -1;
}

int hd_err_reason(hd_err *err, const char *reason) {
  if (err && reason) snprintf(err->reason, sizeof err->reason, "%s", reason);
  return -1;
}

int hd_err_field(hd_err *err, const char *field) {
  if (err && field) snprintf(err->field, sizeof err->field, "%s", field);
  return -1;
}

int hd_err_current_version(hd_err *err, int64_t version) {
  if (err) err->current_version = version;
  return -1;
}

int hd_err_retry_after(hd_err *err, int64_t ms) {
  if (err) err->retry_after_ms = ms;
  return -1;
}

int hd_err_keep_details(hd_err *err, const hd_err *src) {
  if (err && src && err != src) {
    memcpy(err->reason, src->reason, sizeof err->reason);
    memcpy(err->field, src->field, sizeof err->field);
    err->current_version = src->current_version;
    err->retry_after_ms = src->retry_after_ms;
  }
  return -1;
}

void hd_err_clear(hd_err *err) {
  if (err) {
    err->code = HD_OK;
    err->msg[0] = '\0';
    err__clear_details(err);
  }
}

const char *hd_code_name(hd_code code) {
  static const char *const names[] = {"OK",
                                      "CANCELLED",
                                      "UNKNOWN",
                                      "INVALID_ARGUMENT",
                                      "DEADLINE_EXCEEDED",
                                      "NOT_FOUND",
                                      "ALREADY_EXISTS",
                                      "PERMISSION_DENIED",
                                      "RESOURCE_EXHAUSTED",
                                      "FAILED_PRECONDITION",
                                      "ABORTED",
                                      "OUT_OF_RANGE",
                                      "UNIMPLEMENTED",
                                      "INTERNAL",
                                      "UNAVAILABLE",
                                      "DATA_LOSS",
                                      "UNAUTHENTICATED"};
  if ((unsigned)code < sizeof names / sizeof names[0]) return names[code];
  return "UNKNOWN";
}
