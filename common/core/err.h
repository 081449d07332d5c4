/* Status codes and the error struct every call fills on failure.
 * Codes mirror gRPC's numbering so the rpc edge maps them in one cast. */
#ifndef HD_CORE_ERR_H
#define HD_CORE_ERR_H

#include <stddef.h>

typedef enum hd_code {
  HD_OK = 0,
  HD_CANCELLED = 1,
  HD_UNKNOWN = 2,
  HD_INVALID_ARGUMENT = 3,
  HD_DEADLINE_EXCEEDED = 4,
  HD_NOT_FOUND = 5,
  HD_ALREADY_EXISTS = 6,
  HD_PERMISSION_DENIED = 7,
  HD_RESOURCE_EXHAUSTED = 8,
  HD_FAILED_PRECONDITION = 9,
  HD_ABORTED = 10,
  HD_OUT_OF_RANGE = 11,
  HD_UNIMPLEMENTED = 12,
  HD_INTERNAL = 13,
  HD_UNAVAILABLE = 14,
  HD_DATA_LOSS = 15,
  HD_UNAUTHENTICATED = 16
} hd_code;

#define HD_ERR_MSG_MAX 512

/* The error of one call: a code and a message a person can act on. */
typedef struct hd_err {
  hd_code code;
  char msg[HD_ERR_MSG_MAX];
} hd_err;

/* Fills err (may be NULL) and returns -1, so callers can write
 * `return hd_err_set(err, HD_NOT_FOUND, "ticket %s not found", id);`. */
int hd_err_set(hd_err *err, hd_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Resets err to HD_OK with an empty message. */
void hd_err_clear(hd_err *err);

/* "INVALID_ARGUMENT" etc.; never NULL. */
const char *hd_code_name(hd_code code);

#endif
