/* The per-call vocabulary every handler speaks: checks of a request's fields with messages a
 * person can act on (text, id, enum, and the one expected_version rule), one transaction on the
 * worker's connection, and role names for messages. Which roles an RPC needs is not checked
 * here: it is a field of the method table (hd_method_impl.roles), checked by the dispatcher
 * before the handler runs; handlers keep only the finer rules (owner, tenant admin, customer of
 * the row).
 *
 * A handler checks every field first, before any database work, then runs its body in one
 * transaction (the body may run again after a deadlock, so it writes only to the database and
 * to its arg):
 *
 *   if (hd_call_check_id(call, "ticket_id", rq->ticket_id) ||
 *       hd_call_check_version(call, "expected_version", rq->expected_version) ||
 *       hd_call_check_text(call, "body", rq->body, 1, BODY_MAX))
 *     return -1;
 *   return hd_call_tx(call, reply__tx, &ctx);
 */
#ifndef HD_RPC_CALL_H
#define HD_RPC_CALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "core/err.h"
#include "db/db.h"
#include "rpc/server.h"

/* Each check that fails names its field in call->err (hd_err_field): the rpc edge sends it as a
 * google.rpc.BadRequest field violation, so a portal can mark the field without reading text. */

/* INVALID_ARGUMENT "<field> must be a positive id, got 0" unless id > 0. 0 / -1 (call->err). */
int hd_call_check_id(hd_call *c, const char *field, int64_t id);

/* Checks s as UTF-8 text of min..max characters (code points). INVALID_ARGUMENT
 * "<field> is not valid UTF-8", "<field> is required", "<field> has 3 characters; at least 5 are
 * needed", "<field> has 20001 characters; at most 20000 are allowed". NULL counts as "". Required
 * text (min > 0) made only of white space (hd_text_is_blank: a subject of "   ") is refused too,
 * "<field> is blank ...". */
int hd_call_check_text(hd_call *c, const char *field, const char *s, size_t min, size_t max);

/* hd_call_check_text for a field that names something (a user id, a key, a department): also
 * INVALID_ARGUMENT "<field> ends with whitespace (U+0020); identifiers are compared exactly, ..."
 * when its first or last character is whitespace or a control character (hd_ident_check), since
 * identifiers are compared byte for byte and one must not pass for another. */
int hd_call_check_ident(hd_call *c, const char *field, const char *s, size_t min, size_t max);

/* Checks a protobuf enum value: defined by desc, and not 0 (UNSPECIFIED) unless allow_zero.
 * INVALID_ARGUMENT "<field> is required" or "<field> has no value 42". */
int hd_call_check_enum(hd_call *c, const char *field, const ProtobufCEnumDescriptor *desc,
                       int value, bool allow_zero);

/* The one rule of an expected_version field (optimistic concurrency): 0 means "don't check",
 * anything else is a version the caller read (>= 1). INVALID_ARGUMENT "<field> must be 0 (don't
 * check) or the version you read, got -1" for a negative value. */
int hd_call_check_version(hd_call *c, const char *field, int64_t expected);

/* The same rule against the row, once it is locked: ABORTED "<what> 42 was changed by someone
 * else: version is now 7, you sent 5" unless expected is 0 or the row's version, with reason
 * VERSION_CONFLICT and current_version 7 (google.rpc.ErrorInfo, so a client re-reads and retries
 * without parsing the message). Inside a transaction body, hence err rather than a call.
 * 0 / -1. */
int hd_call_check_current(const char *what, int64_t id, int64_t version, int64_t expected,
                          hd_err *err);

/* The same for a row named otherwise than by an id: fmt and its arguments say what changed,
 * verb included ("agent %s was changed by someone else", "the scores of %s for %s were changed
 * by someone else"), and ": version is now 7, you sent 5" follows. 0 / -1 as above. */
int hd_call_check_seen(hd_err *err, int64_t version, int64_t expected, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Runs fn(db, arg, &call->err) in one transaction (hd_db_tx, retried on deadlock) on the
 * worker's MariaDB connection: for services run by the svc runtime, whose call->worker is an
 * hd_worker. 0, or -1 with call->err set (INTERNAL when the body failed without saying why). */
int hd_call_tx(hd_call *c, hd_db_tx_fn fn, void *arg);

/* The names of the roles in bit set roles (hd_role), for messages: "agent",
 * "team_lead or supervisor", "agent, team_lead or supervisor"; "" for none. Writes at most cap
 * bytes to buf (whole names only, cut short when they do not fit) and returns buf. */
const char *hd_call_roles_text(unsigned roles, char *buf, size_t cap);

#endif
