/* The accounts table and what an account holds (see account_store.h). */
#include "account_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "account_limits.h"
#include "rpc/pb_enum.h"

/* ---- shared ---- */

account_actor account_actor_of(const hd_principal *p) {
  return (account_actor){.user_id = p->user_id, .role = hd_principal_role(p)};
}

const char *account_enum_name(const ProtobufCEnumDescriptor *d, int value) {
  const char *n = value ? hd_pb_enum_name(d, value) : NULL;
  return n ? n : "";
}

/* The enum value whose short name is in cell (r, c); 0 when none. */
static int store__enum(const ProtobufCEnumDescriptor *d, const hd_db_rows *rows, size_t r,
                       size_t c) {
  size_t len = 0;
  const char *s = hd_db_str(rows, r, c, &len);
  int v = 0;
  return hd_pb_enum_parse(d, s, len, &v) == 0 ? v : 0;
}

/* A copy of a cell in the arena ("" for NULL); NULL when the arena is full. */
static char *store__cell(const hd_db_rows *rows, size_t r, size_t c, hd_arena *a) {
  size_t len = 0;
  const char *s = hd_db_str(rows, r, c, &len);
  return hd_arena_strndup(a, s, len);
}

static hd_db_param store__opt_text(const char *s) { return s && *s ? hd_db_text(s) : hd_db_null(); }

static int store__full(hd_err *err) {
  return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
}

/* ---- accounts ---- */

#define ACCOUNT_COLS                                                                          \
  "uid, region, type, real_name_verified, main_uid, bd_contact, partner_name, email, phone, " \
  "enterprise_name, deleted_at_us, version, created_at_us, updated_at_us"

int account_store_insert(hd_db *db, const char *tenant, const account_new *a, int64_t now_us,
                         hd_err *err) {
  const hd_db_param p[] = {
      hd_db_text(tenant),
      hd_db_text(a->uid),
      hd_db_text(a->region),
      hd_db_text(account_enum_name(&helpdesk__v1__account_type__descriptor, (int)a->type)),
      hd_db_int(a->real_name_verified ? 1 : 0),
      store__opt_text(a->main_uid),
      store__opt_text(a->bd_contact),
      hd_db_text(a->partner_name ? a->partner_name : ""),
      hd_db_text(a->email ? a->email : ""),
      hd_db_text(a->phone ? a->phone : ""),
      hd_db_int(now_us),
      hd_db_int(now_us)};
  if (hd_db_exec(db,
                 "INSERT INTO accounts (tenant, uid, region, type, real_name_verified, main_uid, "
                 "bd_contact, partner_name, email, phone, created_at_us, updated_at_us) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 p, sizeof p / sizeof p[0], NULL, NULL, err) == 0)
    return 0;
  if (err && err->code == HD_ALREADY_EXISTS)
    hd_err_set(err, HD_ALREADY_EXISTS, "account '%s' already exists in this tenant", a->uid);
  return -1;
}

/* Row r of an ACCOUNT_COLS query as a message in arena. */
static Helpdesk__V1__Account *store__account(const hd_db_rows *rows, size_t r, const char *tenant,
                                             hd_arena *arena) {
  Helpdesk__V1__Account *a = hd_arena_new_message(arena, &helpdesk__v1__account__descriptor);
  if (!a) return NULL;
  a->uid = store__cell(rows, r, 0, arena);
  a->tenant = hd_arena_strdup(arena, tenant);
  a->region = store__cell(rows, r, 1, arena);
  a->type = store__enum(&helpdesk__v1__account_type__descriptor, rows, r, 2);
  a->real_name_verified = hd_db_i64(rows, r, 3) != 0;
  a->main_uid = store__cell(rows, r, 4, arena);
  a->bd_contact = store__cell(rows, r, 5, arena);
  a->partner_name = store__cell(rows, r, 6, arena);
  a->email = store__cell(rows, r, 7, arena);
  a->phone = store__cell(rows, r, 8, arena);
  a->enterprise_name = store__cell(rows, r, 9, arena);
  a->deleted = !hd_db_is_null(rows, r, 10);
  a->delete_time_us = hd_db_i64(rows, r, 10);
  a->version = hd_db_i64(rows, r, 11);
  a->create_time_us = hd_db_i64(rows, r, 12);
  a->update_time_us = hd_db_i64(rows, r, 13);
  if (!a->uid || !a->tenant || !a->region || !a->main_uid || !a->bd_contact || !a->partner_name ||
      !a->email || !a->phone || !a->enterprise_name)
    return NULL;
  return a;
}

int account_store_get(hd_db *db, const char *tenant, const char *uid, bool for_update,
                      hd_arena *arena, Helpdesk__V1__Account **out, hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(uid)};
  hd_db_rows *rows = NULL;
  int rc = -1;
  *out = NULL;
  if (hd_db_query(db,
                  for_update ? "SELECT " ACCOUNT_COLS
                               " FROM accounts WHERE tenant = ? AND uid = ? FOR UPDATE"
                             : "SELECT " ACCOUNT_COLS " FROM accounts WHERE tenant = ? AND uid = ?",
                  p, 2, 1, &rows, err))
    goto done;
  if (hd_db_rows_count(rows) == 0) {
    hd_err_set(err, HD_NOT_FOUND, "account '%s' not found", uid);
    goto done;
  }
  *out = store__account(rows, 0, tenant, arena);
  rc = *out ? 0 : store__full(err);
done:
  hd_db_rows_free(rows);
  return rc;
}

int account_store_update(hd_db *db, const char *tenant, Helpdesk__V1__Account *a,
                         const account_change *ch, int64_t now_us, hd_err *err) {
  /* One statement for every change: a column given is set, one not given keeps its value. The
   * type only ever becomes ENTERPRISE. */
  const hd_db_param p[] = {store__opt_text(ch->email),
                           store__opt_text(ch->phone),
                           hd_db_int(ch->to_enterprise ? 1 : 0),
                           store__opt_text(ch->enterprise_name),
                           hd_db_int(ch->deleted ? 1 : 0),
                           hd_db_int(now_us),
                           hd_db_int(now_us),
                           hd_db_text(tenant),
                           hd_db_text(a->uid),
                           hd_db_int(a->version)};
  uint64_t changed = 0;
  /* FORCE INDEX, here and below: otherwise MariaDB estimates a range in each index starting
   * with the tenant at every execution; an UPDATE by primary key is not a const read. */
  if (hd_db_exec(db,
                 "UPDATE accounts FORCE INDEX (PRIMARY) SET email = COALESCE(?, email), "
                 "phone = COALESCE(?, phone), type = IF(? = 1, 'ENTERPRISE', type), "
                 "enterprise_name = COALESCE(?, enterprise_name), "
                 "deleted_at_us = IF(? = 1, ?, deleted_at_us), "
                 "version = version + 1, updated_at_us = ? "
                 "WHERE tenant = ? AND uid = ? AND version = ?",
                 p, sizeof p / sizeof p[0], &changed, NULL, err))
    return -1;
  if (changed != 1)
    return hd_err_set(err, HD_ABORTED,
                      "account '%s' was changed by someone else while this call read it; retry",
                      a->uid);
  if (ch->email) a->email = (char *)ch->email;
  if (ch->phone) a->phone = (char *)ch->phone;
  if (ch->to_enterprise) a->type = HELPDESK__V1__ACCOUNT_TYPE__ACCOUNT_TYPE_ENTERPRISE;
  if (ch->enterprise_name) a->enterprise_name = (char *)ch->enterprise_name;
  if (ch->deleted) {
    a->deleted = true;
    a->delete_time_us = now_us;
  }
  a->version++;
  a->update_time_us = now_us;
  return 0;
}

json_t *account_store_json(const Helpdesk__V1__Account *a) {
  json_error_t je;
  return json_pack_ex(&je, 0, "{s:s, s:s, s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:I}",
                      "uid", a->uid, "region", a->region, "type",
                      account_enum_name(&helpdesk__v1__account_type__descriptor, (int)a->type),
                      "real_name_verified", a->real_name_verified, "main_uid", a->main_uid,
                      "bd_contact", a->bd_contact, "partner_name", a->partner_name, "email",
                      a->email, "phone", a->phone, "enterprise_name", a->enterprise_name, "deleted",
                      a->deleted, "delete_time_us", (json_int_t)a->delete_time_us, "version",
                      (json_int_t)a->version);
}

/* ---- counts ---- */

int account_store_count(hd_db *db, const char *tenant, const char *uid, account_items kind,
                        int64_t *out, hd_err *err) {
  static const char *const sql[] = {
      [ACCOUNT_ITEMS_SERVICES] =
          "SELECT COUNT(*) FROM held_services "
          "FORCE INDEX (ix_held_services_account) WHERE tenant = ? AND uid = ?",
      [ACCOUNT_ITEMS_RESOURCES] =
          "SELECT COUNT(*) FROM cloud_resources FORCE INDEX "
          "(ix_cloud_resources_account) WHERE tenant = ? AND uid = ?",
      [ACCOUNT_ITEMS_BILLS] = "SELECT COUNT(*) FROM bills WHERE tenant = ? AND uid = ?",
      [ACCOUNT_ITEMS_PAYMENT_METHODS] =
          "SELECT COUNT(*) FROM payment_methods WHERE tenant = ? AND uid = ?"};
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(uid)};
  hd_db_rows *rows = NULL;
  if (hd_db_query(db, sql[kind], p, 2, 1, &rows, err)) return -1;
  *out = hd_db_i64(rows, 0, 0);
  hd_db_rows_free(rows);
  return 0;
}

/* ---- services ---- */

#define SERVICE_COLS "id, uid, kind, hosting_type, package, domain, hostname, created_at_us"

static Helpdesk__V1__HeldService *store__service(const hd_db_rows *rows, size_t r,
                                                 hd_arena *arena) {
  Helpdesk__V1__HeldService *s =
      hd_arena_new_message(arena, &helpdesk__v1__held_service__descriptor);
  if (!s) return NULL;
  s->id = hd_db_i64(rows, r, 0);
  s->uid = store__cell(rows, r, 1, arena);
  s->kind = store__enum(&helpdesk__v1__held_service_kind__descriptor, rows, r, 2);
  s->hosting_type = store__enum(&helpdesk__v1__hosting_type__descriptor, rows, r, 3);
  s->package = store__cell(rows, r, 4, arena);
  s->domain = store__cell(rows, r, 5, arena);
  s->hostname = store__cell(rows, r, 6, arena);
  s->create_time_us = hd_db_i64(rows, r, 7);
  return s->uid && s->package && s->domain && s->hostname ? s : NULL;
}

int account_store_services(hd_db *db, const char *tenant, const char *uid, hd_arena *arena,
                           Helpdesk__V1__HeldService ***out, size_t *n, hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(uid)};
  hd_db_rows *rows = NULL;
  int rc = -1;
  *out = NULL;
  *n = 0;
  if (hd_db_query(db,
                  "SELECT " SERVICE_COLS
                  " FROM held_services FORCE INDEX (ix_held_services_account) "
                  "WHERE tenant = ? AND uid = ? ORDER BY id",
                  p, 2, ACCOUNT_ITEMS_MAX, &rows, err))
    goto done;
  const size_t count = hd_db_rows_count(rows);
  Helpdesk__V1__HeldService **v =
      count ? HD_ARENA_ARRAY(arena, Helpdesk__V1__HeldService *, count) : NULL;
  if (count && !v) goto full;
  for (size_t i = 0; i < count; i++)
    if (!(v[i] = store__service(rows, i, arena))) goto full;
  *out = v;
  *n = count;
  rc = 0;
  goto done;
full:
  store__full(err);
done:
  hd_db_rows_free(rows);
  return rc;
}

int account_store_add_service(hd_db *db, const char *tenant, Helpdesk__V1__HeldService *s,
                              int64_t now_us, hd_err *err) {
  const char *hosting =
      account_enum_name(&helpdesk__v1__hosting_type__descriptor, (int)s->hosting_type);
  const hd_db_param p[] = {
      hd_db_text(tenant),
      hd_db_text(s->uid),
      hd_db_text(account_enum_name(&helpdesk__v1__held_service_kind__descriptor, (int)s->kind)),
      store__opt_text(hosting),
      hd_db_text(s->package ? s->package : ""),
      hd_db_text(s->domain ? s->domain : ""),
      hd_db_text(s->hostname ? s->hostname : ""),
      hd_db_int(now_us)};
  uint64_t id = 0;
  if (hd_db_exec(db,
                 "INSERT INTO held_services (tenant, uid, kind, hosting_type, package, domain, "
                 "hostname, created_at_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 p, sizeof p / sizeof p[0], NULL, &id, err))
    return -1;
  s->id = (int64_t)id;
  s->create_time_us = now_us;
  return 0;
}

int account_store_find_service(hd_db *db, const char *tenant, const char *uid, int64_t service_id,
                               const char *domain, const char *hostname, hd_arena *arena,
                               Helpdesk__V1__HeldService **out, hd_err *err) {
  hd_db_rows *rows = NULL;
  int rc = -1;
  *out = NULL;
  if (service_id > 0) {
    const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(uid), hd_db_int(service_id)};
    rc = hd_db_query(
        db, "SELECT " SERVICE_COLS " FROM held_services WHERE tenant = ? AND uid = ? AND id = ?", p,
        3, 1, &rows, err);
  } else if (domain && *domain) {
    const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(domain), hd_db_text(uid)};
    rc = hd_db_query(db,
                     "SELECT " SERVICE_COLS
                     " FROM held_services WHERE tenant = ? AND domain = ? AND uid = ? AND "
                     "kind = 'DOMAIN' ORDER BY id LIMIT 1",
                     p, 3, 1, &rows, err);
  } else {
    const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(hostname ? hostname : ""),
                             hd_db_text(uid)};
    rc = hd_db_query(db,
                     "SELECT " SERVICE_COLS
                     " FROM held_services WHERE tenant = ? AND hostname = ? AND uid = ? AND "
                     "kind IN ('SERVER', 'VPS', 'HOSTING') ORDER BY id LIMIT 1",
                     p, 3, 1, &rows, err);
  }
  if (rc) goto done;
  if (hd_db_rows_count(rows) && !(*out = store__service(rows, 0, arena))) rc = store__full(err);
done:
  hd_db_rows_free(rows);
  return rc;
}

json_t *account_store_service_json(const Helpdesk__V1__HeldService *s) {
  json_error_t je;
  return json_pack_ex(
      &je, 0, "{s:I, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)s->id, "kind",
      account_enum_name(&helpdesk__v1__held_service_kind__descriptor, (int)s->kind), "hosting_type",
      account_enum_name(&helpdesk__v1__hosting_type__descriptor, (int)s->hosting_type), "package",
      s->package ? s->package : "", "domain", s->domain ? s->domain : "", "hostname",
      s->hostname ? s->hostname : "");
}

/* ---- cloud resources ---- */

#define RESOURCE_COLS                                                            \
  "id, uid, resource_type, resource_id, billing, expire_at_us, released_at_us, " \
  "created_at_us"

static Helpdesk__V1__Resource *store__resource(const hd_db_rows *rows, size_t r, hd_arena *arena) {
  Helpdesk__V1__Resource *x = hd_arena_new_message(arena, &helpdesk__v1__resource__descriptor);
  if (!x) return NULL;
  x->id = hd_db_i64(rows, r, 0);
  x->uid = store__cell(rows, r, 1, arena);
  x->resource_type = store__cell(rows, r, 2, arena);
  x->resource_id = store__cell(rows, r, 3, arena);
  x->billing = store__enum(&helpdesk__v1__billing_method__descriptor, rows, r, 4);
  x->expire_time_us = hd_db_i64(rows, r, 5);
  x->released = !hd_db_is_null(rows, r, 6);
  x->release_time_us = hd_db_i64(rows, r, 6);
  x->create_time_us = hd_db_i64(rows, r, 7);
  return x->uid && x->resource_type && x->resource_id ? x : NULL;
}

int account_store_resources(hd_db *db, const char *tenant, const char *uid, bool unreleased_only,
                            hd_arena *arena, Helpdesk__V1__Resource ***out, size_t *n,
                            hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(uid)};
  hd_db_rows *rows = NULL;
  int rc = -1;
  *out = NULL;
  *n = 0;
  if (hd_db_query(db,
                  unreleased_only
                      ? "SELECT " RESOURCE_COLS
                        " FROM cloud_resources FORCE INDEX (ix_cloud_resources_account) "
                        "WHERE tenant = ? AND uid = ? AND released_at_us IS NULL ORDER BY id"
                      : "SELECT " RESOURCE_COLS
                        " FROM cloud_resources FORCE INDEX (ix_cloud_resources_account) "
                        "WHERE tenant = ? AND uid = ? ORDER BY id",
                  p, 2, ACCOUNT_ITEMS_MAX, &rows, err))
    goto done;
  const size_t count = hd_db_rows_count(rows);
  Helpdesk__V1__Resource **v =
      count ? HD_ARENA_ARRAY(arena, Helpdesk__V1__Resource *, count) : NULL;
  if (count && !v) goto full;
  for (size_t i = 0; i < count; i++)
    if (!(v[i] = store__resource(rows, i, arena))) goto full;
  *out = v;
  *n = count;
  rc = 0;
  goto done;
full:
  store__full(err);
done:
  hd_db_rows_free(rows);
  return rc;
}

int account_store_add_resource(hd_db *db, const char *tenant, Helpdesk__V1__Resource *r,
                               int64_t now_us, hd_err *err) {
  const hd_db_param p[] = {
      hd_db_text(tenant),
      hd_db_text(r->uid),
      hd_db_text(r->resource_type),
      hd_db_text(r->resource_id),
      hd_db_text(account_enum_name(&helpdesk__v1__billing_method__descriptor, (int)r->billing)),
      r->expire_time_us ? hd_db_int(r->expire_time_us) : hd_db_null(),
      hd_db_int(now_us)};
  uint64_t id = 0;
  if (hd_db_exec(db,
                 "INSERT INTO cloud_resources (tenant, uid, resource_type, resource_id, billing, "
                 "expire_at_us, created_at_us) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 p, sizeof p / sizeof p[0], NULL, &id, err)) {
    if (err && err->code == HD_ALREADY_EXISTS)
      hd_err_set(err, HD_ALREADY_EXISTS, "resource '%s' is already recorded in this tenant",
                 r->resource_id);
    return -1;
  }
  r->id = (int64_t)id;
  r->create_time_us = now_us;
  return 0;
}

int account_store_get_resource(hd_db *db, const char *tenant, const char *uid,
                               const char *resource_id, hd_arena *arena,
                               Helpdesk__V1__Resource **out, hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(uid), hd_db_text(resource_id)};
  hd_db_rows *rows = NULL;
  int rc = -1;
  *out = NULL;
  if (hd_db_query(db,
                  "SELECT " RESOURCE_COLS
                  " FROM cloud_resources WHERE tenant = ? AND uid = ? AND resource_id = ? "
                  "FOR UPDATE",
                  p, 3, 1, &rows, err))
    goto done;
  if (hd_db_rows_count(rows) == 0) {
    hd_err_set(err, HD_NOT_FOUND, "resource '%s' not found on account '%s'", resource_id, uid);
    goto done;
  }
  *out = store__resource(rows, 0, arena);
  rc = *out ? 0 : store__full(err);
done:
  hd_db_rows_free(rows);
  return rc;
}

int account_store_find_resource(hd_db *db, const char *tenant, const char *uid,
                                const char *resource_id, hd_arena *arena,
                                Helpdesk__V1__Resource **out, hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(uid), hd_db_text(resource_id)};
  hd_db_rows *rows = NULL;
  int rc = -1;
  *out = NULL;
  if (hd_db_query(db,
                  "SELECT " RESOURCE_COLS
                  " FROM cloud_resources WHERE tenant = ? AND uid = ? AND resource_id = ?",
                  p, 3, 1, &rows, err) == 0)
    rc = hd_db_rows_count(rows) && !(*out = store__resource(rows, 0, arena)) ? store__full(err) : 0;
  hd_db_rows_free(rows);
  return rc;
}

int account_store_release_resource(hd_db *db, const char *tenant, Helpdesk__V1__Resource *r,
                                   int64_t now_us, hd_err *err) {
  const hd_db_param p[] = {hd_db_int(now_us), hd_db_text(tenant), hd_db_int(r->id)};
  if (hd_db_exec(db,
                 "UPDATE cloud_resources FORCE INDEX (PRIMARY) SET released_at_us = ? "
                 "WHERE tenant = ? AND id = ? AND released_at_us IS NULL",
                 p, 3, NULL, NULL, err))
    return -1;
  r->released = true;
  r->release_time_us = now_us;
  return 0;
}

json_t *account_store_resource_json(const Helpdesk__V1__Resource *r) {
  json_error_t je;
  return json_pack_ex(&je, 0, "{s:I, s:s, s:s, s:s, s:I, s:b, s:I}", "id", (json_int_t)r->id,
                      "resource_type", r->resource_type, "resource_id", r->resource_id, "billing",
                      account_enum_name(&helpdesk__v1__billing_method__descriptor, (int)r->billing),
                      "expire_time_us", (json_int_t)r->expire_time_us, "released", r->released,
                      "release_time_us", (json_int_t)r->release_time_us);
}

/* ---- bills ---- */

#define BILL_COLS "id, uid, description, amount_minor, currency, settled_at_us, created_at_us"

static Helpdesk__V1__Bill *store__bill(const hd_db_rows *rows, size_t r, hd_arena *arena) {
  Helpdesk__V1__Bill *b = hd_arena_new_message(arena, &helpdesk__v1__bill__descriptor);
  if (!b) return NULL;
  b->id = hd_db_i64(rows, r, 0);
  b->uid = store__cell(rows, r, 1, arena);
  b->description = store__cell(rows, r, 2, arena);
  b->amount_minor = hd_db_i64(rows, r, 3);
  b->currency = store__cell(rows, r, 4, arena);
  b->settled = !hd_db_is_null(rows, r, 5);
  b->settle_time_us = hd_db_i64(rows, r, 5);
  b->create_time_us = hd_db_i64(rows, r, 6);
  return b->uid && b->description && b->currency ? b : NULL;
}

int account_store_bills(hd_db *db, const char *tenant, const char *uid, bool unsettled_only,
                        hd_arena *arena, Helpdesk__V1__Bill ***out, size_t *n, hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(uid)};
  hd_db_rows *rows = NULL;
  int rc = -1;
  *out = NULL;
  *n = 0;
  if (hd_db_query(db,
                  unsettled_only ? "SELECT " BILL_COLS
                                   " FROM bills WHERE tenant = ? AND uid = ? AND settled_at_us "
                                   "IS NULL ORDER BY id"
                                 : "SELECT " BILL_COLS
                                   " FROM bills WHERE tenant = ? AND uid = ? ORDER BY id",
                  p, 2, ACCOUNT_ITEMS_MAX, &rows, err))
    goto done;
  const size_t count = hd_db_rows_count(rows);
  Helpdesk__V1__Bill **v = count ? HD_ARENA_ARRAY(arena, Helpdesk__V1__Bill *, count) : NULL;
  if (count && !v) goto full;
  for (size_t i = 0; i < count; i++)
    if (!(v[i] = store__bill(rows, i, arena))) goto full;
  *out = v;
  *n = count;
  rc = 0;
  goto done;
full:
  store__full(err);
done:
  hd_db_rows_free(rows);
  return rc;
}

int account_store_add_bill(hd_db *db, const char *tenant, Helpdesk__V1__Bill *b, int64_t now_us,
                           hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant),         hd_db_text(b->uid),
                           hd_db_text(b->description), hd_db_int(b->amount_minor),
                           hd_db_text(b->currency),    hd_db_int(now_us)};
  uint64_t id = 0;
  if (hd_db_exec(db,
                 "INSERT INTO bills (tenant, uid, description, amount_minor, currency, "
                 "created_at_us) VALUES (?, ?, ?, ?, ?, ?)",
                 p, sizeof p / sizeof p[0], NULL, &id, err))
    return -1;
  b->id = (int64_t)id;
  b->create_time_us = now_us;
  return 0;
}

int account_store_get_bill(hd_db *db, const char *tenant, const char *uid, int64_t id,
                           hd_arena *arena, Helpdesk__V1__Bill **out, hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(uid), hd_db_int(id)};
  hd_db_rows *rows = NULL;
  int rc = -1;
  *out = NULL;
  if (hd_db_query(db,
                  "SELECT " BILL_COLS " FROM bills WHERE tenant = ? AND uid = ? AND id = ? "
                  "FOR UPDATE",
                  p, 3, 1, &rows, err))
    goto done;
  if (hd_db_rows_count(rows) == 0) {
    hd_err_set(err, HD_NOT_FOUND, "bill %" PRId64 " not found on account '%s'", id, uid);
    goto done;
  }
  *out = store__bill(rows, 0, arena);
  rc = *out ? 0 : store__full(err);
done:
  hd_db_rows_free(rows);
  return rc;
}

int account_store_settle_bill(hd_db *db, const char *tenant, Helpdesk__V1__Bill *b, int64_t now_us,
                              hd_err *err) {
  const hd_db_param p[] = {hd_db_int(now_us), hd_db_text(tenant), hd_db_int(b->id)};
  if (hd_db_exec(db,
                 "UPDATE bills FORCE INDEX (PRIMARY) SET settled_at_us = ? WHERE tenant = ? "
                 "AND id = ? AND settled_at_us IS NULL",
                 p, 3, NULL, NULL, err))
    return -1;
  b->settled = true;
  b->settle_time_us = now_us;
  return 0;
}

json_t *account_store_bill_json(const Helpdesk__V1__Bill *b) {
  json_error_t je;
  return json_pack_ex(&je, 0, "{s:I, s:s, s:I, s:s, s:b, s:I}", "id", (json_int_t)b->id,
                      "description", b->description, "amount_minor", (json_int_t)b->amount_minor,
                      "currency", b->currency, "settled", b->settled, "settle_time_us",
                      (json_int_t)b->settle_time_us);
}

/* ---- payment methods ---- */

#define METHOD_COLS "id, uid, type, label, created_at_us"

static Helpdesk__V1__PaymentMethod *store__method(const hd_db_rows *rows, size_t r,
                                                  hd_arena *arena) {
  Helpdesk__V1__PaymentMethod *m =
      hd_arena_new_message(arena, &helpdesk__v1__payment_method__descriptor);
  if (!m) return NULL;
  m->id = hd_db_i64(rows, r, 0);
  m->uid = store__cell(rows, r, 1, arena);
  m->type = store__enum(&helpdesk__v1__payment_method_type__descriptor, rows, r, 2);
  m->label = store__cell(rows, r, 3, arena);
  m->create_time_us = hd_db_i64(rows, r, 4);
  return m->uid && m->label ? m : NULL;
}

int account_store_payment_methods(hd_db *db, const char *tenant, const char *uid, int64_t after_id,
                                  int64_t limit, hd_arena *arena,
                                  Helpdesk__V1__PaymentMethod ***out, size_t *n, hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(uid), hd_db_int(after_id),
                           hd_db_int(limit)};
  hd_db_rows *rows = NULL;
  int rc = -1;
  *out = NULL;
  *n = 0;
  if (hd_db_query(db,
                  "SELECT " METHOD_COLS " FROM payment_methods WHERE tenant = ? AND uid = ? AND "
                  "id > ? ORDER BY id LIMIT ?",
                  p, 4, (size_t)limit, &rows, err))
    goto done;
  const size_t count = hd_db_rows_count(rows);
  Helpdesk__V1__PaymentMethod **v =
      count ? HD_ARENA_ARRAY(arena, Helpdesk__V1__PaymentMethod *, count) : NULL;
  if (count && !v) goto full;
  for (size_t i = 0; i < count; i++)
    if (!(v[i] = store__method(rows, i, arena))) goto full;
  *out = v;
  *n = count;
  rc = 0;
  goto done;
full:
  store__full(err);
done:
  hd_db_rows_free(rows);
  return rc;
}

int account_store_add_payment_method(hd_db *db, const char *tenant, Helpdesk__V1__PaymentMethod *m,
                                     int64_t now_us, hd_err *err) {
  const hd_db_param p[] = {
      hd_db_text(tenant), hd_db_text(m->uid),
      hd_db_text(account_enum_name(&helpdesk__v1__payment_method_type__descriptor, (int)m->type)),
      hd_db_text(m->label ? m->label : ""), hd_db_int(now_us)};
  uint64_t id = 0;
  if (hd_db_exec(db,
                 "INSERT INTO payment_methods (tenant, uid, type, label, created_at_us) "
                 "VALUES (?, ?, ?, ?, ?)",
                 p, sizeof p / sizeof p[0], NULL, &id, err))
    return -1;
  m->id = (int64_t)id;
  m->create_time_us = now_us;
  return 0;
}

int account_store_get_payment_method(hd_db *db, const char *tenant, const char *uid, int64_t id,
                                     hd_arena *arena, Helpdesk__V1__PaymentMethod **out,
                                     hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_text(uid), hd_db_int(id)};
  hd_db_rows *rows = NULL;
  int rc = -1;
  *out = NULL;
  if (hd_db_query(
          db, "SELECT " METHOD_COLS " FROM payment_methods WHERE tenant = ? AND uid = ? AND id = ?",
          p, 3, 1, &rows, err))
    goto done;
  if (hd_db_rows_count(rows) == 0) {
    hd_err_set(err, HD_NOT_FOUND, "payment method %" PRId64 " not found on account '%s'", id, uid);
    goto done;
  }
  *out = store__method(rows, 0, arena);
  rc = *out ? 0 : store__full(err);
done:
  hd_db_rows_free(rows);
  return rc;
}

json_t *account_store_payment_method_json(const Helpdesk__V1__PaymentMethod *m) {
  json_error_t je;
  return json_pack_ex(
      &je, 0, "{s:I, s:s, s:s}", "id", (json_int_t)m->id, "type",
      account_enum_name(&helpdesk__v1__payment_method_type__descriptor, (int)m->type), "label",
      m->label ? m->label : "");
}
