/* Routing rules as data: the built-in rules (tenant '') every tenant shares and a tenant's own,
 * which replace a built-in rule of the same name for that tenant; the one matcher that decides
 * where a ticket goes (RouteTicket, the consumer routing created tickets, the hand-over). The
 * only code that reads or writes the routing_rules table.
 *
 * A rule matches when each condition it has holds (see RoutingRule in routing.proto); enabled
 * rules are tried by descending priority, then name, and the first match decides. The built-in
 * "otherwise" rule has no condition, so a tenant that keeps it always gets an answer. */
#ifndef ROUTING_ROUTING_RULES_H
#define ROUTING_ROUTING_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"
#include "helpdesk/v1/routing.pb-c.h"
#include "json/json.h"

#define ROUTING_RULES_OWN_MAX   200 /* rules of a tenant's own */
#define ROUTING_RULES_MAX       300 /* rules a tenant sees, built-in ones included */
#define ROUTING_RULE_LIST_MAX   16  /* issue types, service types, or facts of one condition */
#define ROUTING_RULE_FLAGS_MAX  8   /* flag_departments of one rule */
#define ROUTING_RULE_TEXT_MAX   500 /* reason, customer_request */
#define ROUTING_ROUTE_FACTS_MAX 32  /* facts one RouteTicket request may state */
#define ROUTING_PRIORITY_MAX    1000000
#define ROUTING_FACT_VALUE_MAX  63 /* facts are kept as bits of a uint64_t */

/* What a ticket is routed on. */
typedef struct routing_input {
  Helpdesk__V1__IssueType issue_type;     /* UNSPECIFIED matches only rules without issue types */
  Helpdesk__V1__ServiceType service_type; /* likewise */
  uint64_t facts;                         /* bit v set: RoutingFact v holds */
} routing_input;

/* The bit of fact v in routing_input.facts; 0 for a value past ROUTING_FACT_VALUE_MAX. */
static inline uint64_t routing_fact_bit(int v) {
  return v > 0 && v <= ROUTING_FACT_VALUE_MAX ? (uint64_t)1 << v : 0;
}

/* The rules tenant sees, in the order they are tried; disabled ones only with include_disabled.
 * *out (an array of *n) in arena. */
int routing_rules_list(hd_db *db, const char *tenant, bool include_disabled, hd_arena *arena,
                       Helpdesk__V1__RoutingRule ***out, size_t *n, hd_err *err);

/* Whether rule r matches in. When it does and why is not NULL, a description of the conditions
 * that held ("issue type ACTIVATION; service type VPS; facts HOSTNAME_MISSING") goes into
 * why[0..cap) ("no condition" for a rule without one). */
bool routing_rule_matches(const Helpdesk__V1__RoutingRule *r, const routing_input *in, char *why,
                          size_t cap);

/* Routes in by tenant's enabled rules: the first that matches fills *out (department, action,
 * rule, explanation, urgency, what to ask; issue_type/service_type/facts are the caller's).
 * FAILED_PRECONDITION when no rule matches (a tenant that disabled "otherwise"). *out in arena. */
int routing_route(hd_db *db, const char *tenant, const routing_input *in, hd_arena *arena,
                  Helpdesk__V1__RouteTicketResponse *out, hd_err *err);

/* The department that takes a ticket no person routes (the ticket-event consumer for a created
 * ticket without one, HandOverShift for each ticket handed over), by routing_route on in:
 *  - ROUTE and ASK_CUSTOMER_FIRST: the rule's department (asking the customer is the work of the
 *    agent who takes it there; RouteTicket tells them what to ask);
 *  - RETURN_TO_CUSTOMER (no department): ROUTING_FALLBACK_DEPARTMENT, level 1, whose agent sends
 *    it back;
 *  - no enabled rule matches (a tenant that disabled "otherwise"): ROUTING_FALLBACK_DEPARTMENT,
 *    so that a ticket always has a queue.
 * *dept and *rule (the rule's name, "" when none matched) in arena. */
#define ROUTING_FALLBACK_DEPARTMENT "TECHNICAL"
int routing_route_team(hd_db *db, const char *tenant, const routing_input *in, hd_arena *arena,
                       const char **dept, const char **rule, hd_err *err);

/* Writes tenant's own row for r (fields checked by the caller; departments are checked here)
 * inside the caller's transaction, as routing_department_put does for departments: the version
 * the tenant sees (0 when new) must equal expected_version unless that is 0; the row gets it + 1.
 * NOT_FOUND for a department that does not exist; FAILED_PRECONDITION past ROUTING_RULES_OWN_MAX;
 * ABORTED for a stale version. *before (NULL when new) and *after in arena. */
int routing_rule_put(hd_db *db, const char *tenant, const Helpdesk__V1__RoutingRule *r,
                     int64_t expected_version, const char *updated_by, int64_t now_us,
                     hd_arena *arena, Helpdesk__V1__RoutingRule **before,
                     Helpdesk__V1__RoutingRule **after, hd_err *err);

/* The rule as JSON for audit rows. Caller frees with json_decref; NULL when out of memory. */
json_t *routing_rule_json(const Helpdesk__V1__RoutingRule *r);

#endif
