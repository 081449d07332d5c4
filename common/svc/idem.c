/* Idempotency keys in the service's database (see idem.h). */
#include "svc/idem.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/utf8.h"

#define IDEM_HASH_LEN (HD_IDEM_HASH_SIZE - 1)

/* A key's row as read under a shared lock. */
typedef struct idem__row {
  char request_hash[HD_IDEM_HASH_SIZE];
  int64_t result_id;
  int64_t created_at_us;
} idem__row;

/* s is 1..max characters of valid UTF-8. */
static int idem__check_text(const char *what, const char *s, size_t max, hd_err *err) {
  size_t chars = 0;
  const size_t len = s ? strnlen(s, max * 4 + 1) : 0;
  if (len == 0) return hd_err_set(err, HD_INVALID_ARGUMENT, "the idempotency %s is empty", what);
  if (!hd_utf8_valid(s, len, &chars) || chars > max)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "the idempotency %s must be 1 to %zu characters of UTF-8", what, max);
  return 0;
}

static int idem__check_key(const hd_idem_key *k, hd_err *err) {
  if (!k) return hd_err_set(err, HD_INVALID_ARGUMENT, "no idempotency key given");
  return idem__check_text("tenant", k->tenant, HD_IDEM_TENANT_MAX, err) ||
                 idem__check_text("caller", k->caller_id, HD_IDEM_CALLER_MAX, err) ||
                 idem__check_text("key", k->key, HD_IDEM_KEY_MAX, err)
             ? -1
             : 0;
}

static bool idem__is_hash(const char *h) {
  if (!h || strnlen(h, HD_IDEM_HASH_SIZE) != IDEM_HASH_LEN) return false;
  for (size_t i = 0; i < IDEM_HASH_LEN; i++)
    if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f'))) return false;
  return true;
}

/* Reads the key's row with a shared lock: a locking read sees the latest committed row, and
 * waits for a transaction that holds the key. */
static int idem__read(hd_db *db, const hd_db_param key[3], idem__row *out, bool *found,
                      hd_err *err) {
  hd_db_rows *rows = NULL;
  int rc = -1;
  *found = false;
  if (hd_db_query(db,
                  "SELECT request_hash, result_id, created_at_us FROM idempotency_keys "
                  "WHERE tenant = ? AND caller_id = ? AND idem_key = ? LOCK IN SHARE MODE",
                  key, 3, 1, &rows, err) != 0)
    goto done;
  if (hd_db_rows_count(rows) == 1) {
    size_t len = 0;
    const char *hash = hd_db_str(rows, 0, 0, &len);
    if (len != IDEM_HASH_LEN) {
      hd_err_set(err, HD_INTERNAL, "idempotency key row has a malformed request hash");
      goto done;
    }
    memcpy(out->request_hash, hash, IDEM_HASH_LEN);
    out->request_hash[IDEM_HASH_LEN] = '\0';
    out->result_id = hd_db_i64(rows, 0, 1);
    out->created_at_us = hd_db_i64(rows, 0, 2);
    *found = true;
  }
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

/* What a row found for the key means for this request (see hd_idem_claim). */
static int idem__seen(const hd_idem_key *k, const char *request_hash, const idem__row *seen,
                      int64_t *result_id, hd_err *err) {
  const char *kind = k->result_kind ? k->result_kind : "result";
  if (strcmp(seen->request_hash, request_hash) != 0)
    return hd_err_set(err, HD_ALREADY_EXISTS,
                      "idempotency_key '%s' was already used for a different request (%s "
                      "%" PRId64 "); use a new key for a new %s",
                      k->key, kind, seen->result_id, kind);
  if (seen->result_id <= 0)
    return hd_err_set(err, HD_ABORTED,
                      "idempotency_key '%s' is being used by a call that has not finished; retry",
                      k->key);
  *result_id = seen->result_id;
  return 0;
}

int hd_idem_claim(hd_db *db, const hd_idem_key *k, const char *request_hash, int64_t now_us,
                  int64_t *result_id, hd_err *err) {
  *result_id = 0;
  if (idem__check_key(k, err) != 0) return -1;
  if (!idem__is_hash(request_hash))
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "an idempotency request hash is %d lowercase hex digits", IDEM_HASH_LEN);
  const hd_db_param row[] = {hd_db_text(k->tenant), hd_db_text(k->caller_id), hd_db_text(k->key),
                             hd_db_text(request_hash), hd_db_int(now_us)};
  const int64_t not_before_us = now_us - HD_IDEM_WINDOW_US;
  /* Twice at most: a second round only after an expired row was deleted, or a row vanished
   * between the duplicate-key error and the read (purged meanwhile). */
  for (int round = 0; round < 2; round++) {
    hd_err insert_err = {0};
    /* The INSERT comes first: a concurrent twin blocks here, on the unique key, until this
     * transaction ends. */
    if (hd_db_exec(db,
                   "INSERT INTO idempotency_keys (tenant, caller_id, idem_key, request_hash, "
                   "result_id, created_at_us) VALUES (?, ?, ?, ?, 0, ?)",
                   row, 5, NULL, NULL, &insert_err) == 0)
      return 0;
    if (insert_err.code != HD_ALREADY_EXISTS)
      return hd_err_set(err, insert_err.code, "%s", insert_err.msg);
    idem__row seen;
    bool found = false;
    if (idem__read(db, row, &seen, &found, err) != 0) return -1;
    if (found && seen.created_at_us >= not_before_us)
      return idem__seen(k, request_hash, &seen, result_id, err);
    if (found && hd_db_exec(db,
                            "DELETE FROM idempotency_keys WHERE tenant = ? AND caller_id = ? AND "
                            "idem_key = ?",
                            row, 3, NULL, NULL, err) != 0)
      return -1;
  }
  return hd_err_set(err, HD_ABORTED, "idempotency key changed while being claimed: retry");
}

int hd_idem_record(hd_db *db, const hd_idem_key *k, const char *request_hash, int64_t now_us,
                   int64_t result_id, hd_err *err) {
  if (idem__check_key(k, err) != 0) return -1;
  if (!idem__is_hash(request_hash))
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "an idempotency request hash is %d lowercase hex digits", IDEM_HASH_LEN);
  if (result_id <= 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "an idempotency key's result id must be positive");
  const hd_db_param row[] = {hd_db_text(k->tenant),    hd_db_text(k->caller_id), hd_db_text(k->key),
                             hd_db_text(request_hash), hd_db_int(result_id),     hd_db_int(now_us)};
  return hd_db_exec(db,
                    "INSERT INTO idempotency_keys (tenant, caller_id, idem_key, request_hash, "
                    "result_id, created_at_us) VALUES (?, ?, ?, ?, ?, ?)",
                    row, 6, NULL, NULL, err);
}

int hd_idem_set_result(hd_db *db, const hd_idem_key *k, int64_t result_id, hd_err *err) {
  if (idem__check_key(k, err) != 0) return -1;
  if (result_id <= 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "an idempotency key's result id must be positive");
  const hd_db_param p[] = {hd_db_int(result_id), hd_db_text(k->tenant), hd_db_text(k->caller_id),
                           hd_db_text(k->key)};
  uint64_t affected = 0;
  if (hd_db_exec(db,
                 "UPDATE idempotency_keys SET result_id = ? WHERE tenant = ? AND caller_id = ? AND "
                 "idem_key = ?",
                 p, 4, &affected, NULL, err) != 0)
    return -1;
  if (affected != 1) return hd_err_set(err, HD_NOT_FOUND, "idempotency key was not claimed");
  return 0;
}

int hd_idem_purge(hd_db *db, int64_t now_us, size_t limit, uint64_t *deleted, hd_err *err) {
  if (deleted) *deleted = 0;
  if (limit == 0) return 0;
  const hd_db_param p[] = {hd_db_int(now_us - HD_IDEM_WINDOW_US),
                           hd_db_int(limit > INT64_MAX ? INT64_MAX : (int64_t)limit)};
  return hd_db_exec(db,
                    "DELETE FROM idempotency_keys WHERE created_at_us < ? ORDER BY created_at_us "
                    "LIMIT ?",
                    p, 2, deleted, NULL, err);
}

int hd_idem_hash_request(const ProtobufCMessage *req, char out[HD_IDEM_HASH_SIZE], hd_err *err) {
  const size_t n = protobuf_c_message_get_packed_size(req);
  uint8_t *buf = malloc(n ? n : 1);
  if (!buf) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the request is too large to hash");
  protobuf_c_message_pack(req, buf);
  const int rc = hd_idem_sha256_hex(buf, n, out, err);
  free(buf);
  return rc;
}

int hd_idem_sha256_hex(const void *p, size_t n, char out[HD_IDEM_HASH_SIZE], hd_err *err) {
  static const char hex[] = "0123456789abcdef";
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned md_len = 0;
  if (EVP_Digest(p, n, md, &md_len, EVP_sha256(), NULL) != 1 || md_len != 32)
    return hd_err_set(err, HD_INTERNAL, "SHA-256 failed");
  for (size_t i = 0; i < 32; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 0xF];
  }
  out[IDEM_HASH_LEN] = '\0';
  return 0;
}
