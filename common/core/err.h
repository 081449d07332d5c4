/* Status codes and the error struct every call fills on failure.
 * Codes mirror gRPC's numbering so the rpc edge maps them in one cast. */
#ifndef HD_CORE_ERR_H
#define HD_CORE_ERR_H

#include <stddef.h>
#include <stdint.h>

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

#define HD_ERR_MSG_MAX    512
#define HD_ERR_REASON_MAX 64 /* "VERSION_CONFLICT": upper case, digits and '_' */
#define HD_ERR_FIELD_MAX  96 /* a field path: "notes[2].note" */

/* The stable reasons (ErrorInfo.reason) the services send, one list for every service: a program
 * acts on these, never on the message. The README's "Errors a program can act on" says what each
 * means and with which code it comes; add a reason there when you add one here. */
#define HD_REASON_VERSION_CONFLICT     "VERSION_CONFLICT"     /* ABORTED, with current_version */
#define HD_REASON_INVALID_TRANSITION   "INVALID_TRANSITION"   /* FAILED_PRECONDITION */
#define HD_REASON_OWNER_REQUIRED       "OWNER_REQUIRED"       /* FAILED_PRECONDITION */
#define HD_REASON_NOT_OWNER            "NOT_OWNER"            /* PERMISSION_DENIED */
#define HD_REASON_ACCOUNT_NOT_VERIFIED "ACCOUNT_NOT_VERIFIED" /* FAILED_PRECONDITION */
#define HD_REASON_CONSENT_REQUIRED     "CONSENT_REQUIRED"     /* FAILED_PRECONDITION */
#define HD_REASON_ACTION_FORBIDDEN     "ACTION_FORBIDDEN"     /* FAILED_PRECONDITION */

/* The error of one call: a code and a message a person can act on, and what a program can act
 * on: the rpc edge sends the details as google.rpc.Status details (grpc-status-details-bin).
 * Each detail is empty or 0 when unset. */
typedef struct hd_err {
  hd_code code;
  char msg[HD_ERR_MSG_MAX];
  char reason[HD_ERR_REASON_MAX]; /* ErrorInfo.reason, stable: "VERSION_CONFLICT" */
  char field[HD_ERR_FIELD_MAX];   /* BadRequest: the request field at fault */
  int64_t current_version;        /* ErrorInfo metadata "current_version" (ABORTED), when > 0 */
  int64_t retry_after_ms;         /* RetryInfo.retry_delay, when > 0: retrying later helps */
} hd_err;

/* Fills err (may be NULL) with code and message, clears its details, and returns -1, so callers
 * can write `return hd_err_set(err, HD_NOT_FOUND, "ticket %s not found", id);`. */
int hd_err_set(hd_err *err, hd_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Details, set after hd_err_set; each returns -1 like it (err may be NULL; a text too long is
 * cut at its limit):
 *   return hd_err_reason(err, "ACCOUNT_NOT_VERIFIED") after hd_err_set(err, ...). */
int hd_err_reason(hd_err *err, const char *reason);
int hd_err_field(hd_err *err, const char *field);
int hd_err_current_version(hd_err *err, int64_t version);
int hd_err_retry_after(hd_err *err, int64_t ms);

/* ABORTED for an optimistic write that found another version than the caller read: the message
 * as hd_err_set's, reason VERSION_CONFLICT and current_version (sent when > 0) set, so a program
 * reads again and retries without parsing the text. Returns -1:
 *   return hd_err_conflict(err, seen, "agent %s was changed by someone else: ...", id, ...); */
int hd_err_conflict(hd_err *err, int64_t current_version, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copies src's details (reason, field, current version, retry delay) onto err, whose code and
 * message stay: for a caller that wraps another call's error in a message of its own with
 * hd_err_set, which clears them. Returns -1 like hd_err_set (err or src may be NULL):
 *   hd_err_set(err, sub.code, "accounts: %s", sub.msg); return hd_err_keep_details(err, &sub); */
int hd_err_keep_details(hd_err *err, const hd_err *src);

/* Resets err to HD_OK with an empty message and no details. */
void hd_err_clear(hd_err *err);

/* "INVALID_ARGUMENT" etc.; never NULL. */
const char *hd_code_name(hd_code code);

#endif
