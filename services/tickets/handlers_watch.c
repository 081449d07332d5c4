/* WatchTickets: the change feed. The caller's tenant's ticket events from the service's outbox
 * (svc/event_tail.h: resumable by event id, in id order, none skipped or repeated), each made a
 * typed TicketEvent from the payload ticket_store.c wrote, and filtered by ticket (in SQL),
 * department and owner (on the state the event carries). Staff and services only (the method
 * table): a customer's own tickets are served by GetTicket and ListTickets, and an event carries
 * internal facts (owner, department, internal records) a customer must not see. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "json/json.h"
#include "rpc/pb_enum.h"
#include "svc/event_tail.h"
#include "ticket_call.h"
#include "ticket_handlers.h"
#include "ticket_limits.h"

/* A message's arena: the payload's strings, at most a few times its bytes. */
#define WATCH_ARENA_BYTES (4 * (size_t)HD_OUTBOX_PAYLOAD_MAX + 16384)
#define WATCH_TYPE_PREFIX "ticket."

typedef struct watch_ctx {
  const Helpdesk__V1__WatchTicketsRequest *req;
} watch_ctx;

/* The payload's envelope and body members that have a field of their own in TicketEvent. */
static const char *const watch__known[] = {"event",      "tenant",  "ticket_id", "actor_id",
                                           "actor_role", "time_us", "version",   "action",
                                           "ticket",     "changes"};

static bool watch__is_known(const char *key) {
  for (size_t i = 0; i < sizeof watch__known / sizeof watch__known[0]; i++)
    if (strcmp(watch__known[i], key) == 0) return true;
  return false;
}

/* s copied into a, "" for NULL; NULL out of memory. */
static char *watch__str(hd_arena *a, const char *s) { return hd_arena_strdup(a, s ? s : ""); }

/* The enum value of a short name (0 for NULL or a name the enum lacks). */
static int watch__enum(const ProtobufCEnumDescriptor *d, const char *name) {
  int v = 0;
  if (name && hd_pb_enum_parse(d, name, strlen(name), &v) != 0) v = 0;
  return v;
}

/* Whether the filter want (NULL / "": any) matches field: its value after the change in ticket,
 * or the value it had before when the change set it. */
static bool watch__matches(const char *want, json_t *ticket, json_t *changes, const char *field) {
  if (!want || !*want) return true;
  const char *now = json_string_value(json_object_get(ticket, field));
  const char *was = json_string_value(json_object_get(json_object_get(changes, field), "from"));
  return (now && strcmp(now, want) == 0) || (was && strcmp(was, want) == 0);
}

/* The event's state of the ticket ("ticket" in the payload) as a Ticket in a. */
static Helpdesk__V1__Ticket *watch__ticket(hd_arena *a, json_t *tj, const hd_event_row *row,
                                           const char *tenant, int64_t version) {
  Helpdesk__V1__Ticket *t = hd_arena_new_message(a, &helpdesk__v1__ticket__descriptor);
  if (!t) return NULL;
  t->id = row->aggregate_id;
  t->tenant = watch__str(a, tenant);
  t->version = version;
  t->status = watch__enum(&helpdesk__v1__ticket_status__descriptor,
                          json_string_value(json_object_get(tj, "status")));
  t->owner_id = watch__str(a, json_string_value(json_object_get(tj, "owner_id")));
  t->department = watch__str(a, json_string_value(json_object_get(tj, "department")));
  t->customer_id = watch__str(a, json_string_value(json_object_get(tj, "customer_id")));
  t->category = watch__enum(&helpdesk__v1__category__descriptor,
                            json_string_value(json_object_get(tj, "category")));
  t->level = (int32_t)json_integer_value(json_object_get(tj, "level"));
  t->service_type = watch__enum(&helpdesk__v1__service_type__descriptor,
                                json_string_value(json_object_get(tj, "service_type")));
  t->issue_type = watch__enum(&helpdesk__v1__issue_type__descriptor,
                              json_string_value(json_object_get(tj, "issue_type")));
  t->create_time_us = json_integer_value(json_object_get(tj, "create_time_us"));
  if (!t->tenant || !t->owner_id || !t->department || !t->customer_id) return NULL;
  return t;
}

/* A member's value as text: strings as they are, numbers and booleans written out, null as "",
 * objects and arrays as compact JSON. NULL out of memory. */
static char *watch__text(hd_arena *a, json_t *v) {
  if (json_is_string(v)) return hd_arena_strdup(a, json_string_value(v));
  if (json_is_integer(v)) return hd_arena_printf(a, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
  if (json_is_null(v)) return hd_arena_strdup(a, "");
  char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
  char *out = s ? hd_arena_strdup(a, s) : NULL;
  free(s);
  return out;
}

/* changes ({field: {from, to}}) and the payload's other members into e. -1 out of memory. */
static int watch__changes_details(hd_arena *a, json_t *doc, Helpdesk__V1__TicketEvent *e) {
  json_t *changes = json_object_get(doc, "changes");
  const size_t nc = json_object_size(changes), nd = json_object_size(doc);
  e->changes = nc ? hd_arena_alloc(a, nc * sizeof *e->changes) : NULL;
  e->details = nd ? hd_arena_alloc(a, nd * sizeof *e->details) : NULL;
  if ((nc && !e->changes) || (nd && !e->details)) return -1;
  const char *key;
  json_t *v;
  json_object_foreach(changes, key, v) {
    Helpdesk__V1__TicketFieldChange *c =
        hd_arena_new_message(a, &helpdesk__v1__ticket_field_change__descriptor);
    if (!c) return -1;
    c->field = hd_arena_strdup(a, key);
    c->old_value = watch__str(a, json_string_value(json_object_get(v, "from")));
    c->new_value = watch__str(a, json_string_value(json_object_get(v, "to")));
    if (!c->field || !c->old_value || !c->new_value) return -1;
    e->changes[e->n_changes++] = c;
  }
  json_object_foreach(doc, key, v) {
    if (watch__is_known(key)) continue;
    Helpdesk__V1__TicketEvent__DetailsEntry *d =
        hd_arena_new_message(a, &helpdesk__v1__ticket_event__details_entry__descriptor);
    if (!d) return -1;
    d->key = hd_arena_strdup(a, key);
    d->value = watch__text(a, v);
    if (!d->key || !d->value) return -1;
    e->details[e->n_details++] = d;
  }
  return 0;
}

/* One outbox row: made a TicketEvent and sent, unless a filter leaves it out. */
static int watch__row(hd_call *call, hd_stream *st, const hd_event_row *row, void *arg) {
  const watch_ctx *x = arg;
  json_t *doc = NULL;
  hd_arena *a = NULL;
  int rc = -1;
  hd_err perr = {0};
  if (hd_json_parse_object(row->payload, row->payload_len, &HD_JSON_EVENT_LIMITS, &doc, &perr) !=
      0) {
    hd_err_set(&call->err, HD_INTERNAL, "event %s has a payload that does not parse: %s",
               row->event_id, perr.msg);
    goto done;
  }
  json_t *tj = json_object_get(doc, "ticket"), *changes = json_object_get(doc, "changes");
  if (!watch__matches(x->req->department, tj, changes, "department") ||
      !watch__matches(x->req->owner_id, tj, changes, "owner_id")) {
    rc = 0;
    goto done;
  }
  if (!(a = hd_arena_new(WATCH_ARENA_BYTES))) goto oom;
  Helpdesk__V1__TicketEvent e = HELPDESK__V1__TICKET_EVENT__INIT;
  e.event_id = (char *)row->event_id;
  e.type_name = (char *)row->event_type;
  const size_t plen = strlen(WATCH_TYPE_PREFIX);
  if (strncmp(row->event_type, WATCH_TYPE_PREFIX, plen) == 0) {
    char upper[64];
    size_t n = 0;
    for (const char *p = row->event_type + plen; *p && n + 1 < sizeof upper; p++)
      upper[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    upper[n] = '\0';
    e.type = watch__enum(&helpdesk__v1__ticket_event_type__descriptor, upper);
  }
  e.ticket_id = row->aggregate_id;
  e.version = json_integer_value(json_object_get(doc, "version"));
  e.actor_id = watch__str(a, json_string_value(json_object_get(doc, "actor_id")));
  e.actor_role = watch__str(a, json_string_value(json_object_get(doc, "actor_role")));
  e.time_us = json_integer_value(json_object_get(doc, "time_us"));
  e.action = watch__str(a, json_string_value(json_object_get(doc, "action")));
  if (!e.actor_id || !e.actor_role || !e.action) goto oom;
  if (json_is_object(tj) && !(e.ticket = watch__ticket(a, tj, row, tk_tenant(call), e.version)))
    goto oom;
  if (watch__changes_details(a, doc, &e) != 0) goto oom;
  rc = hd_stream_send(st, &e.base, HD_EVENT_TAIL_SEND_US);
  goto done;
oom:
  hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "out of memory building event %s", row->event_id);
done:
  hd_arena_free(a);
  json_decref(doc);
  return rc;
}

int tickets_watch_tickets(hd_call *call, hd_stream *st, const ProtobufCMessage *rq) {
  const Helpdesk__V1__WatchTicketsRequest *req = (const void *)rq;
  if (req->ticket_id < 0)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "ticket_id must be a ticket's id or 0 for any, got %" PRId64, req->ticket_id);
  if (hd_call_check_ident(call, "department", req->department, 0, TICKET_DEPARTMENT_MAX) != 0 ||
      hd_call_check_ident(call, "owner_id", req->owner_id, 0, TICKET_USER_ID_MAX) != 0 ||
      hd_call_check_text(call, "after_event_id", req->after_event_id, 0,
                         HD_OUTBOX_EVENT_ID_MAX - 1) != 0)
    return -1;
  const watch_ctx x = {.req = req};
  const hd_event_tail_opts o = {.service = hd_call_env(call)->config.service,
                                .tenant = tk_tenant(call),
                                .aggregate_id = req->ticket_id,
                                .after_event_id = req->after_event_id};
  return hd_event_tail_run(call, st, tk_db(call), &o, watch__row, (void *)&x);
}
