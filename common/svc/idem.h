/* Exactly-once creates for every service (CreateTicket, an escalation, an approval): an
 * idempotency key is a unique row (tenant, caller, key → request hash, result id, created_at) in
 * the service's own database (the kit's table idempotency_keys, common/svc/migrations), written
 * in the same transaction as the result it names. So:
 *  - a retry finds the row and returns the same result, writing nothing;
 *  - a concurrent duplicate blocks on the unique key until the first transaction ends, then
 *    returns the winner's result (or, when the winner rolled back, claims the key itself);
 *  - the same key with another request → ALREADY_EXISTS;
 *  - a key is remembered HD_IDEM_WINDOW_US (24 h): an older row counts as absent (claimed
 *    again), and the kit's relay loop (hd_outbox_relay_loop) purges such rows, at most
 *    HD_IDEM_PURGE_BATCH at a time about once a minute.
 * Redis is not involved: it could only make this faster, never right.
 *
 * In a hd_db_tx body (it may run again after a deadlock, so reset what it outputs):
 *   const hd_idem_key k = {.tenant = t, .caller_id = user, .key = rq->idempotency_key,
 *                          .result_kind = "approval"};
 *   char hash[HD_IDEM_HASH_SIZE];
 *   hd_idem_hash_request(&rq->base, hash, err);        // before the transaction
 *   int64_t id = 0;
 *   if (hd_idem_claim(db, &k, hash, now, &id, err)) return -1;   // ALREADY_EXISTS, ...
 *   if (id > 0) return read_approval(db, id, ...);       // a retry: the first call's result
 *   insert_approval(db, ..., &id, err);                  // claimed: do the work
 *   hd_idem_set_result(db, &k, id, err);                 // and record what it made */
#ifndef HD_SVC_IDEM_H
#define HD_SVC_IDEM_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "core/err.h"
#include "db/db.h"

#define HD_IDEM_WINDOW_US   (24LL * 3600 * 1000000) /* how long a key is remembered */
#define HD_IDEM_PURGE_BATCH 1000                    /* rows one purge deletes at most */
#define HD_IDEM_KEY_MAX     128 /* characters of a key (the column is VARCHAR(128)) */
#define HD_IDEM_CALLER_MAX  128
#define HD_IDEM_TENANT_MAX  64
#define HD_IDEM_HASH_SIZE   65 /* lowercase hex SHA-256 and its NUL */

/* Whose key it is; every string borrowed. Keys compare byte for byte (utf8mb4_bin). */
typedef struct hd_idem_key {
  const char *tenant;      /* 1..64 characters */
  const char *caller_id;   /* 1..128: the principal's user id */
  const char *key;         /* 1..128: the request's idempotency key */
  const char *result_kind; /* what a result id names, for messages: "ticket", "approval" */
} hd_idem_key;

/* Claims k for a request whose hash is request_hash (HD_IDEM_HASH_SIZE - 1 hex digits), inside
 * the caller's transaction, at now_us:
 *  - *result_id = 0: the key is this call's (new, or its row was older than the window and is
 *    replaced). Do the work, then record it with hd_idem_set_result in the same transaction.
 *  - *result_id > 0: the key is in use for this very request (a retry, or a concurrent twin that
 *    committed first: the claim waited for it): return that result and write nothing.
 * ALREADY_EXISTS "idempotency_key 'k' was already used for a different request (ticket 42); use
 * a new key for a new ticket" when the hash differs; ABORTED when the key's row is this
 * transaction's own claim without a result yet, or changed twice while being claimed (retry);
 * INVALID_ARGUMENT for an empty or too long tenant, caller, key or a malformed hash. */
int hd_idem_claim(hd_db *db, const hd_idem_key *k, const char *request_hash, int64_t now_us,
                  int64_t *result_id, hd_err *err);

/* The claim and its result in one statement, for a key that is almost always new: inside the
 * caller's transaction, after the work made result_id (> 0), inserts k's row with it. A
 * concurrent twin's uncommitted row makes it wait, as hd_idem_claim does. ALREADY_EXISTS when k
 * already has a row (a retry, a twin that committed first, a row older than the window): roll
 * the transaction back and run it again with hd_idem_claim first, which answers each of those.
 * Checks as hd_idem_claim (INVALID_ARGUMENT). One statement fewer than claim + set_result. */
int hd_idem_record(hd_db *db, const hd_idem_key *k, const char *request_hash, int64_t now_us,
                   int64_t result_id, hd_err *err);

/* Records the result (> 0) of a key this transaction claimed. NOT_FOUND when it was not claimed. */
int hd_idem_set_result(hd_db *db, const hd_idem_key *k, int64_t result_id, hd_err *err);

/* Deletes at most limit keys whose window had ended by now_us (created before now_us -
 * HD_IDEM_WINDOW_US), oldest first; *deleted (may be NULL) gets how many. Not in a transaction
 * of the caller's: each batch commits by itself. */
int hd_idem_purge(hd_db *db, int64_t now_us, size_t limit, uint64_t *deleted, hd_err *err);

/* The request hash: SHA-256 of req packed (protobuf packing is deterministic for equal values),
 * as lowercase hex in out. Normalise the request first (a defaulted field filled in) when two
 * spellings mean the same request. RESOURCE_EXHAUSTED when out of memory. */
int hd_idem_hash_request(const ProtobufCMessage *req, char out[HD_IDEM_HASH_SIZE], hd_err *err);

/* Lowercase hex SHA-256 (OpenSSL) of p[0..n): the request hash's digest, and any content digest
 * (an attachment's). */
int hd_idem_sha256_hex(const void *p, size_t n, char out[HD_IDEM_HASH_SIZE], hd_err *err);

#endif
