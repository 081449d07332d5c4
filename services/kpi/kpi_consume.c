/* Ticket and escalation events into facts (kpi_consume.h). */
#include "kpi_consume.h"

#include <stdio.h>
#include <string.h>

#include "json/json.h"
#include "kpi_facts.h"

/* A member that is a string, or null / missing (→ ""). INVALID_ARGUMENT for another type. */
static int consume__str(const json_t *o, const char *key, const char **out, hd_err *err) {
  const char *s = NULL;
  if (hd_json_get_opt_str(o, key, &s, NULL, err)) return -1;
  *out = s ? s : "";
  return 0;
}

/* A whole number member, 0 when missing or null. */
static int consume__int(const json_t *o, const char *key, int64_t *out, hd_err *err) {
  *out = 0;
  const json_t *v = json_object_get(o, key);
  if (!v || json_is_null(v)) return 0;
  return hd_json_get_int(o, key, out, err);
}

/* err (a reading error) as INVALID_ARGUMENT naming the event. Returns -1. */
static int consume__bad(const hd_event *ev, const char *what, hd_err *err) {
  char msg[HD_ERR_MSG_MAX];
  snprintf(msg, sizeof msg, "%s", err->msg);
  return hd_err_set(err, HD_INVALID_ARGUMENT, "%s event %s (%s): %s", what, ev->event_id, ev->type,
                    msg);
}

int kpi_consume_ticket_event(hd_db *db, const hd_event *ev, void *app, hd_err *err) {
  (void)app;
  const json_t *ticket = json_object_get(ev->json, "ticket");
  if (!ticket || ev->version == 0) return 0; /* not a change of the ticket's state */
  if (!json_is_object(ticket))
    return hd_err_set(err, HD_INVALID_ARGUMENT, "event %s: its ticket is %s, not an object",
                      ev->event_id, hd_json_type_name(ticket));
  kpi_step s = {.seq = ev->version, .created = strcmp(ev->type, "ticket.created") == 0};
  const json_t *changes = json_object_get(ev->json, "changes");
  if (changes && !json_is_object(changes))
    return hd_err_set(err, HD_INVALID_ARGUMENT, "event %s: its changes are %s, not an object",
                      ev->event_id, hd_json_type_name(changes));
  int64_t time_us = 0;
  if (consume__str(ev->json, "action", &s.action, err) ||
      consume__str(ev->json, "actor_id", &s.actor_id, err) ||
      consume__str(ev->json, "actor_role", &s.actor_role, err) ||
      consume__int(ev->json, "time_us", &time_us, err) ||
      consume__str(ticket, "status", &s.status, err) ||
      consume__str(ticket, "owner_id", &s.owner_id, err) ||
      consume__str(ticket, "department", &s.department, err) ||
      consume__str(ticket, "customer_id", &s.customer_id, err) ||
      consume__str(ticket, "category", &s.category, err))
    goto bad;
  s.time_us = time_us > 0 ? time_us : ev->created_at_us;
  if (!*s.status) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "the ticket has no status");
    goto bad;
  }
  s.status_changed = s.created || (changes && json_object_get(changes, "status"));
  s.category_changed = changes && json_object_get(changes, "category");
  const json_t *owner = changes ? json_object_get(changes, "owner_id") : NULL;
  if (owner) {
    if (!json_is_object(owner)) {
      hd_err_set(err, HD_INVALID_ARGUMENT, "changes.owner_id is %s, not an object",
                 hd_json_type_name(owner));
      goto bad;
    }
    s.owner_changed = true;
    if (consume__str(owner, "from", &s.owner_from, err)) goto bad;
  }
  s.comment = json_object_get(ev->json, "comment_id") != NULL;
  bool applied = false;
  return kpi_facts_apply(db, ev->tenant, ev->aggregate_id, &s, ev->applied_at_us, &applied, err);
bad:
  return consume__bad(ev, "ticket", err);
}

int kpi_consume_routing_event(hd_db *db, const hd_event *ev, void *app, hd_err *err) {
  (void)app;
  const size_t plen = strlen(KPI_EV_ESCALATION_PREFIX);
  if (strncmp(ev->type, KPI_EV_ESCALATION_PREFIX, plen) != 0) return 0;
  const char *what = ev->type + plen;
  kpi_escalation e = {.id = ev->aggregate_id};
  int64_t time_us = 0;
  const char *actor = NULL;
  if (consume__int(ev->json, "time_us", &time_us, err) ||
      consume__str(ev->json, "actor_id", &actor, err) ||
      consume__int(ev->json, "ticket_id", &e.ticket_id, err) ||
      consume__str(ev->json, "kind", &e.kind, err) ||
      consume__str(ev->json, "status", &e.status, err) ||
      consume__str(ev->json, "created_by", &e.created_by, err) ||
      consume__int(ev->json, "create_time_us", &e.created_at_us, err) ||
      consume__int(ev->json, "acknowledge_time_us", &e.acknowledged_at_us, err) ||
      consume__int(ev->json, "resolve_time_us", &e.ended_at_us, err))
    goto bad;
  if (time_us <= 0) time_us = ev->created_at_us;
  /* Routing's payload carries the record's created_by and times (escalation_store.c), the values
   * ListEscalations gives a rebuild; an event without them falls back on its envelope: the
   * creation's actor escalated, each step happened at its event's time. */
  if (strcmp(what, "created") == 0) {
    if (!*e.created_by) e.created_by = actor;
    if (!e.created_at_us) e.created_at_us = time_us;
  } else if (strcmp(what, "acknowledged") == 0) {
    if (!e.acknowledged_at_us) e.acknowledged_at_us = time_us;
  } else if (strcmp(what, "resolved") == 0 || strcmp(what, "bounced") == 0) {
    if (!e.ended_at_us) e.ended_at_us = time_us;
  }
  return kpi_facts_escalation(db, ev->tenant, &e, ev->applied_at_us, err);
bad:
  return consume__bad(ev, "routing", err);
}
