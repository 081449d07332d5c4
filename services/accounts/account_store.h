/* The accounts table and the rows an account holds (services, cloud resources, bills, payment
 * methods): the one place that turns them into the contract's messages and back.
 *
 * Every function takes the tenant and puts it in every WHERE: an account of another tenant is
 * NOT_FOUND exactly like a missing one. Writes run inside the caller's transaction (hd_call_tx),
 * which also writes the audit row of the change (account_audit.h), so a failure anywhere rolls
 * back both. Strings passed in are borrowed for the call and were validated by the handlers
 * (lengths, UTF-8, enums); strings handed out live in the caller's arena. */
#ifndef ACCOUNTS_ACCOUNT_STORE_H
#define ACCOUNTS_ACCOUNT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"
#include "helpdesk/v1/accounts.pb-c.h"
#include "json/json.h"

/* Who makes a change, as the audit records it. Strings borrowed. */
typedef struct account_actor {
  const char *user_id;
  const char *role; /* the caller's highest role: "tenant_admin", ..., "customer" */
} account_actor;

/* The actor for principal p (borrowed from p). */
account_actor account_actor_of(const hd_principal *p);

/* A new account (CreateAccount). "" / NULL for what is not given. */
typedef struct account_new {
  const char *uid;
  const char *region;
  Helpdesk__V1__AccountType type;
  bool real_name_verified;
  const char *main_uid;
  const char *bd_contact;
  const char *partner_name;
  const char *email;
  const char *phone;
} account_new;

/* Inserts a at now_us (version 1). ALREADY_EXISTS "account 'u' already exists in this tenant". */
int account_store_insert(hd_db *db, const char *tenant, const account_new *a, int64_t now_us,
                         hd_err *err);

/* Reads account uid; for_update locks its row until the transaction ends (every change of an
 * account, and of what it holds, locks it first, so changes of one account are serialised).
 * NOT_FOUND "account 'u' not found". *out in arena. */
int account_store_get(hd_db *db, const char *tenant, const char *uid, bool for_update,
                      hd_arena *arena, Helpdesk__V1__Account **out, hd_err *err);

/* A change of the account row; NULL / false leaves a column as it is. */
typedef struct account_change {
  const char *email;
  const char *phone;
  const char *enterprise_name; /* with to_enterprise */
  bool to_enterprise;          /* PERSONAL → ENTERPRISE; nothing here ever goes back */
  bool deleted;                /* marks it deleted at now_us, for good */
} account_change;

/* Applies ch to the locked account *a (version + 1, updated at now_us) and updates *a to match.
 * ABORTED when the row changed since it was read (it was not locked). */
int account_store_update(hd_db *db, const char *tenant, Helpdesk__V1__Account *a,
                         const account_change *ch, int64_t now_us, hd_err *err);

/* The account as the audit's JSON object (every field of Account). New reference: caller
 * json_decref()s it; NULL when out of memory. */
json_t *account_store_json(const Helpdesk__V1__Account *a);

/* ---- what an account holds: at most ACCOUNT_ITEMS_MAX rows of each, oldest first ---- */

/* Which rows of a kind to count (account_store_count). */
typedef enum account_items {
  ACCOUNT_ITEMS_SERVICES,
  ACCOUNT_ITEMS_RESOURCES,
  ACCOUNT_ITEMS_BILLS,
  ACCOUNT_ITEMS_PAYMENT_METHODS
} account_items;

/* How many rows of kind the account has; for the ACCOUNT_ITEMS_MAX rule at each add. */
int account_store_count(hd_db *db, const char *tenant, const char *uid, account_items kind,
                        int64_t *out, hd_err *err);

/* The account's services. *out an array of *n in arena. */
int account_store_services(hd_db *db, const char *tenant, const char *uid, hd_arena *arena,
                           Helpdesk__V1__HeldService ***out, size_t *n, hd_err *err);

/* The account's resources; unreleased_only leaves out the released ones. */
int account_store_resources(hd_db *db, const char *tenant, const char *uid, bool unreleased_only,
                            hd_arena *arena, Helpdesk__V1__Resource ***out, size_t *n, hd_err *err);

/* The account's bills; unsettled_only leaves out the settled ones. */
int account_store_bills(hd_db *db, const char *tenant, const char *uid, bool unsettled_only,
                        hd_arena *arena, Helpdesk__V1__Bill ***out, size_t *n, hd_err *err);

/* The account's payment methods with an id above after_id, at most limit of them. */
int account_store_payment_methods(hd_db *db, const char *tenant, const char *uid, int64_t after_id,
                                  int64_t limit, hd_arena *arena,
                                  Helpdesk__V1__PaymentMethod ***out, size_t *n, hd_err *err);

/* Inserts s (its id and create time are set here, uid and the rest from s). */
int account_store_add_service(hd_db *db, const char *tenant, Helpdesk__V1__HeldService *s,
                              int64_t now_us, hd_err *err);

/* The account's service with id service_id (when > 0), else its DOMAIN service of domain (when
 * not empty), else its SERVER, VPS or HOSTING service of hostname; *out NULL when it holds none
 * such (not an error). domain and hostname are compared as given (lowercase them first). */
int account_store_find_service(hd_db *db, const char *tenant, const char *uid, int64_t service_id,
                               const char *domain, const char *hostname, hd_arena *arena,
                               Helpdesk__V1__HeldService **out, hd_err *err);

/* The account's resource resource_id, released or not, without a lock; *out NULL when none. */
int account_store_find_resource(hd_db *db, const char *tenant, const char *uid,
                                const char *resource_id, hd_arena *arena,
                                Helpdesk__V1__Resource **out, hd_err *err);

/* Inserts r (id and create time set here). ALREADY_EXISTS "resource 'i-1' is already recorded
 * in this tenant". */
int account_store_add_resource(hd_db *db, const char *tenant, Helpdesk__V1__Resource *r,
                               int64_t now_us, hd_err *err);

/* Reads resource resource_id of account uid, locking it. NOT_FOUND "resource 'i-1' not found on
 * account 'u'". */
int account_store_get_resource(hd_db *db, const char *tenant, const char *uid,
                               const char *resource_id, hd_arena *arena,
                               Helpdesk__V1__Resource **out, hd_err *err);

/* Marks the locked resource *r released at now_us and updates *r. */
int account_store_release_resource(hd_db *db, const char *tenant, Helpdesk__V1__Resource *r,
                                   int64_t now_us, hd_err *err);

/* Inserts b, unsettled (id and create time set here). */
int account_store_add_bill(hd_db *db, const char *tenant, Helpdesk__V1__Bill *b, int64_t now_us,
                           hd_err *err);

/* Reads bill id of account uid, locking it. NOT_FOUND "bill 7 not found on account 'u'". */
int account_store_get_bill(hd_db *db, const char *tenant, const char *uid, int64_t id,
                           hd_arena *arena, Helpdesk__V1__Bill **out, hd_err *err);

/* Marks the locked bill *b settled at now_us and updates *b. */
int account_store_settle_bill(hd_db *db, const char *tenant, Helpdesk__V1__Bill *b, int64_t now_us,
                              hd_err *err);

/* Inserts m (id and create time set here). */
int account_store_add_payment_method(hd_db *db, const char *tenant, Helpdesk__V1__PaymentMethod *m,
                                     int64_t now_us, hd_err *err);

/* Reads payment method id of account uid. NOT_FOUND "payment method 7 not found on account 'u'". */
int account_store_get_payment_method(hd_db *db, const char *tenant, const char *uid, int64_t id,
                                     hd_arena *arena, Helpdesk__V1__PaymentMethod **out,
                                     hd_err *err);

/* The audit's JSON objects of the held rows. New references (caller json_decref()s); NULL when
 * out of memory. */
json_t *account_store_service_json(const Helpdesk__V1__HeldService *s);
json_t *account_store_resource_json(const Helpdesk__V1__Resource *r);
json_t *account_store_bill_json(const Helpdesk__V1__Bill *b);
json_t *account_store_payment_method_json(const Helpdesk__V1__PaymentMethod *m);

/* The short name of an enum value of the contract ("PERSONAL"), "" for 0 or an unknown value. */
const char *account_enum_name(const ProtobufCEnumDescriptor *d, int value);

#endif
