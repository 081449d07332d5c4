/* WatchEscalations: the escalations' change feed. The caller's tenant's escalation events from
 * routing's outbox (svc/event_tail.h: resumable by event id, in id order, none skipped or
 * repeated), each made a typed EscalationEvent from the payload escal_event wrote, filtered by
 * escalation (in SQL), ticket and department (on the escalation the event carries). Staff and
 * services only (the method table). */
#include <inttypes.h>
#include <string.h>

#include "escalation_store.h"
#include "helpdesk/v1/routing.pb-c.h"
#include "routing_call.h"
#include "routing_handlers.h"
#include "rpc/pb_enum.h"
#include "svc/event_tail.h"

#define WATCH_TYPE_PREFIX "routing.escalation_"
#define WATCH_DEPT_MAX    64

/* The enum value of a short name (0 for NULL or a name the enum lacks). */
static int watch__enum(const ProtobufCEnumDescriptor *d, const char *name) {
  int v = 0;
  if (name && hd_pb_enum_parse(d, name, strlen(name), &v) != 0) v = 0;
  return v;
}

/* A string member of doc, "" when absent or not a string (borrowed from doc). */
static char *watch__s(json_t *doc, const char *key) {
  const char *s = json_string_value(json_object_get(doc, key));
  return (char *)(s ? s : "");
}

static int64_t watch__i(json_t *doc, const char *key) {
  return json_integer_value(json_object_get(doc, key));
}

/* One outbox row of routing.escalation_*: made an EscalationEvent and sent, unless a filter
 * leaves it out. Every string borrowed from the parsed payload until the send returns. */
static int watch__row(hd_call *call, hd_stream *st, const hd_event_row *row, void *arg) {
  const Helpdesk__V1__WatchEscalationsRequest *req = arg;
  json_t *doc = NULL;
  hd_err perr = {0};
  int rc = -1;
  if (hd_json_parse_object(row->payload, row->payload_len, &HD_JSON_EVENT_LIMITS, &doc, &perr) !=
      0) {
    hd_err_set(&call->err, HD_INTERNAL, "event %s has a payload that does not parse: %s",
               row->event_id, perr.msg);
    goto done;
  }
  Helpdesk__V1__Escalation x = HELPDESK__V1__ESCALATION__INIT;
  x.id = row->aggregate_id;
  x.ticket_id = watch__i(doc, "ticket_id");
  x.kind = watch__enum(&helpdesk__v1__escalation_kind__descriptor, watch__s(doc, "kind"));
  x.mode = watch__enum(&helpdesk__v1__escalation_mode__descriptor, watch__s(doc, "mode"));
  x.from_department = watch__s(doc, "from_department");
  x.to_department = watch__s(doc, "to_department");
  x.status = watch__enum(&helpdesk__v1__escalation_status__descriptor, watch__s(doc, "status"));
  x.due_time_us = watch__i(doc, "due_time_us");
  x.overdue = json_is_true(json_object_get(doc, "overdue"));
  x.created_by = watch__s(doc, "created_by");
  x.create_time_us = watch__i(doc, "create_time_us");
  x.acknowledge_time_us = watch__i(doc, "acknowledge_time_us");
  x.resolve_time_us = watch__i(doc, "resolve_time_us");
  const char *dept = req->department;
  if ((req->ticket_id && x.ticket_id != req->ticket_id) ||
      (dept && *dept && strcmp(x.to_department, dept) != 0 &&
       strcmp(x.from_department, dept) != 0)) {
    rc = 0;
    goto done;
  }
  Helpdesk__V1__EscalationEvent e = HELPDESK__V1__ESCALATION_EVENT__INIT;
  e.event_id = (char *)row->event_id;
  e.type_name = (char *)row->event_type;
  const size_t plen = strlen(WATCH_TYPE_PREFIX);
  if (strncmp(row->event_type, WATCH_TYPE_PREFIX, plen) == 0) {
    char upper[64];
    size_t n = 0;
    for (const char *p = row->event_type + plen; *p && n + 1 < sizeof upper; p++)
      upper[n++] = (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
    upper[n] = '\0';
    e.type = watch__enum(&helpdesk__v1__escalation_event_type__descriptor, upper);
  }
  e.escalation_id = row->aggregate_id;
  e.ticket_id = x.ticket_id;
  e.actor_id = watch__s(doc, "actor_id");
  e.actor_role = watch__s(doc, "actor_role");
  e.time_us = watch__i(doc, "time_us");
  e.escalation = &x;
  rc = hd_stream_send(st, &e.base, HD_EVENT_TAIL_SEND_US);
done:
  json_decref(doc);
  return rc;
}

int routing_watch_escalations(hd_call *call, hd_stream *st, const ProtobufCMessage *rq) {
  const Helpdesk__V1__WatchEscalationsRequest *req = (const void *)rq;
  if (req->escalation_id < 0 || req->ticket_id < 0)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT,
                      "escalation_id and ticket_id must be ids or 0 for any, got %" PRId64
                      " and %" PRId64,
                      req->escalation_id, req->ticket_id);
  if (hd_call_check_ident(call, "department", req->department, 0, WATCH_DEPT_MAX) != 0 ||
      hd_call_check_text(call, "after_event_id", req->after_event_id, 0,
                         HD_OUTBOX_EVENT_ID_MAX - 1) != 0)
    return -1;
  const hd_event_tail_opts o = {.service = hd_call_env(call)->config.service,
                                .tenant = rt_tenant(call),
                                .aggregate_id = req->escalation_id,
                                .type_prefix = WATCH_TYPE_PREFIX,
                                .after_event_id = req->after_event_id};
  return hd_event_tail_run(call, st, hd_call_worker(call)->db, &o, watch__row, (void *)req);
}
