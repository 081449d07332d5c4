/* Idempotency keys of routing's calls: the read before the ticket-side work, and the claim
 * (routing_idem.h). */
#include "routing_idem.h"

#include <inttypes.h>
#include <string.h>

#include "helpdesk/v1/routing.pb-c.h"
#include "routing_call.h"

int rt_idem_lookup(hd_call *c, const char *key, const char *hash, const char *kind,
                   int64_t *result_id) {
  *result_id = 0;
  if (!key || !key[0]) return 0;
  const hd_db_param p[] = {hd_db_text(rt_tenant(c)), hd_db_text(c->principal->user_id),
                           hd_db_text(key), hd_db_int(rt_now(c) - HD_IDEM_WINDOW_US)};
  hd_db_rows *rows = NULL;
  if (hd_db_query(hd_call_worker(c)->db,
                  "SELECT request_hash, result_id FROM idempotency_keys WHERE tenant = ? AND "
                  "caller_id = ? AND idem_key = ? AND created_at_us >= ?",
                  p, 4, 1, &rows, &c->err))
    return -1;
  int rc = 0;
  if (hd_db_rows_count(rows) == 1) {
    const int64_t id = hd_db_i64(rows, 0, 1);
    if (strcmp(hd_db_str(rows, 0, 0, NULL), hash) != 0)
      rc = hd_err_set(&c->err, HD_ALREADY_EXISTS,
                      "idempotency_key '%s' was already used for a different request (%s %" PRId64
                      "); use a new key for a new request",
                      key, kind, id);
    else
      *result_id = id;
  }
  hd_db_rows_free(rows);
  return rc;
}

int rt_idem_claim(hd_db *db, hd_call *c, const char *key, const char *hash, const char *kind,
                  hd_idem_key *k, int64_t *result_id, hd_err *err) {
  *k = (hd_idem_key){
      .tenant = rt_tenant(c), .caller_id = c->principal->user_id, .key = key, .result_kind = kind};
  *result_id = 0;
  return key[0] ? hd_idem_claim(db, k, hash, rt_now(c), result_id, err) : 0;
}
