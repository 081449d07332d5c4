/* The upgrade of a personal main account to enterprise: CONSOLE for a verified account, an
 * upgrade link for an unverified one (valid HELPDESK_ACCOUNTS_UPGRADE_LINK_TTL, completed by the
 * main account), never for a sub-account, and never back. Links keep only their token's
 * SHA-256; a newer link revokes the older unused ones. */
#include <inttypes.h>
#include <string.h>

#include <openssl/rand.h>

#include "account_audit.h"
#include "account_call.h"
#include "account_handlers.h"
#include "account_limits.h"
#include "svc/idem.h"

#define UPGRADE_TOKEN_BYTES 32 /* 64 hex digits */
#define TYPE(t)             HELPDESK__V1__ACCOUNT_TYPE__ACCOUNT_TYPE_##t

/* FAILED_PRECONDITION unless a can be upgraded: an active PERSONAL main account. */
static int upgrade__eligible(const Helpdesk__V1__Account *a, hd_err *err) {
  if (ac_account_active(a, err)) return -1;
  if (a->main_uid[0])
    return hd_err_set(err, HD_FAILED_PRECONDITION,
                      "account '%s' is a sub-account of '%s': only a main account can be "
                      "upgraded to enterprise; the holder of the main account asks for it",
                      a->uid, a->main_uid);
  if (a->type == TYPE(ENTERPRISE))
    return hd_err_set(err, HD_FAILED_PRECONDITION, "account '%s' is an ENTERPRISE account already",
                      a->uid);
  return 0;
}

/* ---- RequestEnterpriseUpgrade ---- */

typedef struct request__ctx {
  hd_call *call;
  const char *uid;
  Helpdesk__V1__RequestEnterpriseUpgradeResponse *out;
} request__ctx;

/* A fresh token as hex in arena, and its SHA-256 (hex) in hash. */
static int upgrade__token(hd_arena *arena, char **token, char hash[HD_IDEM_HASH_SIZE],
                          hd_err *err) {
  unsigned char raw[UPGRADE_TOKEN_BYTES];
  static const char hex[] = "0123456789abcdef";
  char *t = hd_arena_alloc(arena, 2 * UPGRADE_TOKEN_BYTES + 1);
  if (!t) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  if (RAND_bytes(raw, sizeof raw) != 1)
    return hd_err_set(err, HD_INTERNAL, "no random bytes for the upgrade link's token");
  for (size_t i = 0; i < sizeof raw; i++) {
    t[2 * i] = hex[raw[i] >> 4];
    t[2 * i + 1] = hex[raw[i] & 15];
  }
  t[2 * UPGRADE_TOKEN_BYTES] = '\0';
  *token = t;
  return hd_idem_sha256_hex(t, 2 * UPGRADE_TOKEN_BYTES, hash, err);
}

static int upgrade__reminders(hd_call *c, Helpdesk__V1__RequestEnterpriseUpgradeResponse *out,
                              const char *const *text, size_t n) {
  out->reminders = HD_ARENA_ARRAY(c->arena, char *, n);
  if (!out->reminders) return hd_err_set(&c->err, HD_RESOURCE_EXHAUSTED, "out of memory");
  for (size_t i = 0; i < n; i++) out->reminders[i] = (char *)text[i];
  out->n_reminders = n;
  return 0;
}

static int request__tx(hd_db *db, void *arg, hd_err *err) {
  request__ctx *x = arg;
  hd_call *c = x->call;
  const char *tenant = ac_tenant(c);
  const account_actor actor = ac_actor(c);
  const accounts_config *cfg = ac_config(c);
  const int64_t now = ac_now(c);
  Helpdesk__V1__Account *a = NULL;
  Helpdesk__V1__RequestEnterpriseUpgradeResponse *out = x->out;
  helpdesk__v1__request_enterprise_upgrade_response__init(out);
  if (ac_account_load(c, db, x->uid, true, &a, err) || upgrade__eligible(a, err)) return -1;
  if (a->real_name_verified) {
    static const char *const console[] = {
        "The account is real-name verified: the customer upgrades it in the console themself, "
        "under Account > Real-name verification > Upgrade to enterprise, by submitting the "
        "enterprise's details (no link is needed).",
        "Once converted to an enterprise account, it cannot be switched back to a personal "
        "account."};
    out->path = HELPDESK__V1__UPGRADE_PATH__UPGRADE_PATH_CONSOLE;
    return upgrade__reminders(c, out, console, 2);
  }
  char *token = NULL;
  char hash[HD_IDEM_HASH_SIZE];
  const int64_t expires = now + cfg->upgrade_link_ttl_us;
  if (upgrade__token(c->arena, &token, hash, err)) return -1;
  const hd_db_param rp[] = {hd_db_int(now), hd_db_text(tenant), hd_db_text(a->uid)};
  uint64_t revoked = 0, id = 0;
  const hd_db_param ip[] = {hd_db_text(tenant), hd_db_text(a->uid),        hd_db_text(hash),
                            hd_db_int(expires), hd_db_text(actor.user_id), hd_db_int(now)};
  if (hd_db_exec(db,
                 "UPDATE upgrade_links SET revoked_at_us = ? WHERE tenant = ? AND uid = ? AND "
                 "used_at_us IS NULL AND revoked_at_us IS NULL",
                 rp, 3, &revoked, NULL, err) ||
      hd_db_exec(db,
                 "INSERT INTO upgrade_links (tenant, uid, token_sha256, expires_at_us, "
                 "created_by, created_at_us) VALUES (?, ?, ?, ?, ?, ?)",
                 ip, 6, NULL, &id, err))
    return -1;
  json_error_t je;
  /* The audit names the link, never its token. */
  json_t *after =
      json_pack_ex(&je, 0, "{s:I, s:I, s:I}", "link_id", (json_int_t)id, "expire_time_us",
                   (json_int_t)expires, "revoked_links", (json_int_t)revoked);
  if (account_audit_take(db, tenant, &actor, a->uid, "CREATE_UPGRADE_LINK", "upgrade_link",
                         ac_id_text(c, (int64_t)id), NULL, false, after, true, now, err))
    return -1;
  const char *const reminders[] = {
      "Once converted to an enterprise account, the account cannot be switched back to a "
      "personal account.",
      hd_arena_printf(c->arena,
                      "The upgrade link is valid for a limited time: %s (until %s); after that a "
                      "new link is needed.",
                      ac_duration(c, cfg->upgrade_link_ttl_us), ac_datetime(c, expires)),
      "The main account must be used to complete the upgrade through the link (a sub-account "
      "cannot)."};
  if (!reminders[1]) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  out->path = HELPDESK__V1__UPGRADE_PATH__UPGRADE_PATH_LINK;
  out->token = token;
  out->link = hd_arena_printf(c->arena, "%s%s", cfg->upgrade_link_base, token);
  out->expire_time_us = expires;
  if (!out->link) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  return upgrade__reminders(c, out, reminders, 3);
}

/* RequestEnterpriseUpgrade: CONSOLE or a new link, for staff. */
int accounts_request_enterprise_upgrade(hd_call *call, const ProtobufCMessage *req,
                                        ProtobufCMessage *resp) {
  const Helpdesk__V1__RequestEnterpriseUpgradeRequest *rq =
      (const Helpdesk__V1__RequestEnterpriseUpgradeRequest *)req;
  if (hd_call_check_ident(call, "uid", rq->uid, 1, ACCOUNT_UID_MAX)) return -1;
  request__ctx x = {
      .call = call, .uid = rq->uid, .out = (Helpdesk__V1__RequestEnterpriseUpgradeResponse *)resp};
  return hd_call_tx(call, request__tx, &x);
}

/* ---- CompleteEnterpriseUpgrade ---- */

typedef struct complete__ctx {
  hd_call *call;
  char hash[HD_IDEM_HASH_SIZE]; /* of the token */
  const char *enterprise_name;
  Helpdesk__V1__Account *out;
} complete__ctx;

static int complete__tx(hd_db *db, void *arg, hd_err *err) {
  complete__ctx *x = arg;
  hd_call *c = x->call;
  const char *tenant = ac_tenant(c);
  const account_actor actor = ac_actor(c);
  const int64_t now = ac_now(c);
  x->out = NULL;
  const hd_db_param p[] = {hd_db_text(x->hash), hd_db_text(tenant)};
  hd_db_rows *rows = NULL;
  if (hd_db_query(db,
                  "SELECT id, uid, expires_at_us, used_at_us, revoked_at_us FROM upgrade_links "
                  "WHERE token_sha256 = ? AND tenant = ? FOR UPDATE",
                  p, 2, 1, &rows, err))
    return -1;
  int rc = -1;
  if (hd_db_rows_count(rows) == 0) {
    hd_err_set(err, HD_NOT_FOUND,
               "this upgrade link is not one we issued: check it was copied whole, or ask "
               "support for a new one");
    goto done;
  }
  const int64_t id = hd_db_i64(rows, 0, 0);
  const char *uid = hd_arena_strdup(c->arena, hd_db_str(rows, 0, 1, NULL));
  const int64_t expires = hd_db_i64(rows, 0, 2);
  if (!uid) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  if (strcmp(uid, actor.user_id) != 0) {
    hd_err_set(err, HD_PERMISSION_DENIED,
               "only the main account '%s' may complete this upgrade: sign in with the main "
               "account and open the link again",
               uid);
    goto done;
  }
  if (!hd_db_is_null(rows, 0, 3)) {
    hd_err_set(err, HD_FAILED_PRECONDITION,
               "this upgrade link was used already (at %s); the account was upgraded then",
               ac_datetime(c, hd_db_i64(rows, 0, 3)));
    goto done;
  }
  if (!hd_db_is_null(rows, 0, 4)) {
    hd_err_set(err, HD_FAILED_PRECONDITION,
               "this upgrade link was replaced by a newer one: use the latest link support sent");
    goto done;
  }
  if (now >= expires) {
    hd_err_set(err, HD_FAILED_PRECONDITION,
               "this upgrade link expired at %s: ask support for a new link",
               ac_datetime(c, expires));
    goto done;
  }
  Helpdesk__V1__Account *a = NULL;
  if (account_store_get(db, tenant, uid, true, c->arena, &a, err) || upgrade__eligible(a, err))
    goto done;
  json_t *before = account_store_json(a);
  const account_change ch = {.to_enterprise = true, .enterprise_name = x->enterprise_name};
  const hd_db_param up[] = {hd_db_int(now), hd_db_text(tenant), hd_db_int(id)};
  /* FORCE INDEX: otherwise MariaDB estimates a range in the index by tenant and account at every
   * execution (an UPDATE by primary key is not a const read). */
  if (account_store_update(db, tenant, a, &ch, now, err) ||
      hd_db_exec(db,
                 "UPDATE upgrade_links FORCE INDEX (PRIMARY) SET used_at_us = ? "
                 "WHERE tenant = ? AND id = ?",
                 up, 3, NULL, NULL, err)) {
    json_decref(before);
    goto done;
  }
  if (account_audit_take(db, tenant, &actor, a->uid, "COMPLETE_ENTERPRISE_UPGRADE", "account", "",
                         before, true, account_store_json(a), true, now, err))
    goto done;
  x->out = a;
  rc = 0;
done:
  hd_db_rows_free(rows);
  return rc;
}

/* CompleteEnterpriseUpgrade: the main account with the link's token. */
int accounts_complete_enterprise_upgrade(hd_call *call, const ProtobufCMessage *req,
                                         ProtobufCMessage *resp) {
  const Helpdesk__V1__CompleteEnterpriseUpgradeRequest *rq =
      (const Helpdesk__V1__CompleteEnterpriseUpgradeRequest *)req;
  if (hd_call_check_ident(call, "token", rq->token, 1, ACCOUNT_TOKEN_MAX) ||
      hd_call_check_text(call, "enterprise_name", rq->enterprise_name, 1,
                         ACCOUNT_ENTERPRISE_NAME_MAX))
    return -1;
  complete__ctx x = {.call = call, .enterprise_name = rq->enterprise_name};
  if (hd_idem_sha256_hex(rq->token, strlen(rq->token), x.hash, &call->err) ||
      hd_call_tx(call, complete__tx, &x))
    return -1;
  *(Helpdesk__V1__Account *)resp = *x.out;
  return 0;
}
