/* helpdeskctl's verbs for the daily work: each builds one request (or two), calls the service
 * that owns it and prints the reply as a table (or JSON with --output json). */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "grpc/health/v1/health.pb-c.h"
#include "helpdesk/v1/routing.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "json/pb_json.h"
#include "rpc/pb_enum.h"

/* An enum value of d named short ("PROCESSING"), in full ("TICKET_STATUS_PROCESSING") or in
 * lower case ("processing"), for option `opt`. -1 with the choices on diag. */
static int verbs__enum(ctl *c, const char *opt, const ProtobufCEnumDescriptor *d, const char *text,
                       int *out) {
  char upper[128];
  size_t n = strlen(text);
  if (n < sizeof upper) {
    for (size_t i = 0; i <= n; i++)
      upper[i] = text[i] >= 'a' && text[i] <= 'z' ? (char)(text[i] - 'a' + 'A')
                 : text[i] == '-'                 ? '_'
                                                  : text[i];
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value_by_name(d, upper);
    if (v && v->value != 0) {
      *out = v->value;
      return 0;
    }
    if (hd_pb_enum_parse(d, upper, n, out) == 0 && *out != 0) return 0;
  }
  fprintf(c->diag, "helpdeskctl: --%s %s: one of", opt, text);
  for (unsigned i = 0; i < d->n_values; i++)
    if (d->values[i].value != 0) fprintf(c->diag, " %s", hd_pb_enum_name(d, d->values[i].value));
  fprintf(c->diag, "\n");
  return -1;
}

/* The verb's one positional id ("7"). */
static int verbs__id(ctl *c, const ctl_args *a, int word, const char *what, int64_t *id) {
  return ctl_parse_id(c, what, a->words[word], id);
}

static const char *const ticket_columns[] = {"id",      "status",     "ownerId", "department",
                                             "version", "customerId", "subject", NULL};

int ctl_tickets_list(ctl *c, const ctl_args *a) {
  Helpdesk__V1__ListTicketsRequest rq = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  if ((a->mine + (a->owner != NULL) + a->unassigned) > 1) {
    fprintf(c->diag, "helpdeskctl: give one of --mine, --owner, --unassigned\n");
    return CTL_EXIT_USAGE;
  }
  if (a->mine) {
    if (!c->subject[0]) {
      fprintf(c->diag,
              "helpdeskctl: --mine needs a token whose subject is known (--token, "
              "HELPDESK_TOKEN, or --dev-token --subject)\n");
      return CTL_EXIT_USAGE;
    }
    rq.owner_id = c->subject;
  }
  if (a->owner) rq.owner_id = (char *)a->owner;
  if (rq.owner_id[0])
    rq.owner_filter = HELPDESK__V1__LIST_TICKETS_REQUEST__OWNER_FILTER__OWNER_FILTER_THIS;
  if (a->unassigned)
    rq.owner_filter = HELPDESK__V1__LIST_TICKETS_REQUEST__OWNER_FILTER__OWNER_FILTER_NONE;
  rq.open_only = a->open;
  int status = 0;
  if (a->status) {
    if (verbs__enum(c, "status", &helpdesk__v1__ticket_status__descriptor, a->status, &status))
      return CTL_EXIT_USAGE;
    rq.status = (Helpdesk__V1__TicketStatus)status;
  }
  if (a->department) rq.department = (char *)a->department;
  rq.newest_first = a->newest;
  if (a->limit || a->page_token) {
    page.page_size = (int32_t)a->limit;
    if (a->page_token) page.page_token = (char *)a->page_token;
    rq.page = &page;
  }
  ProtobufCMessage *resp = NULL;
  hd_err err = {0};
  if (ctl_rpc(c, CTL_TICKETS, "ListTickets", &rq.base, &resp, &err)) return ctl_fail(c, &err);
  static const char *const lines[] = {"page.nextPageToken", NULL};
  ctl_table t = {.rows = "tickets", .columns = ticket_columns, .lines = lines};
  return ctl_print(c, resp, &t, true, &err) ? ctl_fail(c, &err) : CTL_EXIT_OK;
}

int ctl_ticket_show(ctl *c, const ctl_args *a) {
  Helpdesk__V1__GetTicketRequest rq = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
  if (verbs__id(c, a, 2, "ticket id", &rq.ticket_id)) return CTL_EXIT_USAGE;
  ProtobufCMessage *ticket = NULL, *comments = NULL;
  hd_err err = {0};
  if (ctl_rpc(c, CTL_TICKETS, "GetTicket", &rq.base, &ticket, &err)) return ctl_fail(c, &err);
  if (!a->comments) return ctl_print(c, ticket, NULL, true, &err) ? ctl_fail(c, &err) : 0;
  Helpdesk__V1__ListCommentsRequest lc = HELPDESK__V1__LIST_COMMENTS_REQUEST__INIT;
  lc.ticket_id = rq.ticket_id;
  if (ctl_rpc(c, CTL_TICKETS, "ListComments", &lc.base, &comments, &err)) return ctl_fail(c, &err);
  /* One document: {"ticket": {...}, "comments": [...]}. */
  json_t *tj = NULL, *cj = NULL, *doc = json_object();
  if (!doc || hd_pb_json_write(ticket, &tj, &err) || hd_pb_json_write(comments, &cj, &err)) {
    json_decref(doc);
    json_decref(tj);
    json_decref(cj);
    return ctl_fail(c, &err);
  }
  json_t *list = json_object_get(cj, "comments");
  json_object_set_new(doc, "ticket", tj);
  json_object_set(doc, "comments", list ? list : json_array());
  json_decref(cj);
  static const char *const comment_columns[] = {"id", "authorId", "authorRole", "body", NULL};
  if (a->output == 'j') return ctl_print_json(c, doc, NULL, true);
  ctl_print_json(c, json_incref(json_object_get(doc, "ticket")), NULL, true);
  ctl_table t = {.rows = "comments", .columns = comment_columns, .lines = (const char *[]){NULL}};
  fprintf(c->out, "comments:\n");
  return ctl_print_json(c, doc, &t, true);
}

int ctl_ticket_reply(ctl *c, const ctl_args *a) {
  Helpdesk__V1__ReplyToTicketRequest rq = HELPDESK__V1__REPLY_TO_TICKET_REQUEST__INIT;
  if (verbs__id(c, a, 2, "ticket id", &rq.ticket_id)) return CTL_EXIT_USAGE;
  if (!a->reply_intent) {
    fprintf(c->diag,
            "helpdeskctl: ticket reply needs what the reply does: --ack, "
            "--request-info, --propose, --follow-up or --final, with its text\n");
    return CTL_EXIT_USAGE;
  }
  rq.intent = (Helpdesk__V1__ReplyIntent)a->reply_intent;
  rq.body = (char *)a->reply_body;
  rq.resolved = a->resolved;
  rq.expected_version = a->expected_version;
  ProtobufCMessage *resp = NULL;
  hd_err err = {0};
  if (ctl_rpc(c, CTL_TICKETS, "ReplyToTicket", &rq.base, &resp, &err)) return ctl_fail(c, &err);
  static const char *const lines[] = {"ticket.id",  "ticket.status", "ticket.version",
                                      "comment.id", "reviewLink",    NULL};
  ctl_table t = {.lines = lines};
  return ctl_print(c, resp, &t, true, &err) ? ctl_fail(c, &err) : CTL_EXIT_OK;
}

int ctl_claim_next(ctl *c, const ctl_args *a) {
  Helpdesk__V1__ClaimNextRequest rq = HELPDESK__V1__CLAIM_NEXT_REQUEST__INIT;
  if (a->queue) rq.department = (char *)a->queue;
  rq.lease_seconds = a->lease;
  if (a->idempotency_key) rq.idempotency_key = (char *)a->idempotency_key;
  ProtobufCMessage *resp = NULL;
  hd_err err = {0};
  if (ctl_rpc(c, CTL_ROUTING, "ClaimNext", &rq.base, &resp, &err)) return ctl_fail(c, &err);
  static const char *const lines[] = {
      "claim.ticketId",      "claim.department",   "claim.agentId", "claim.fence",
      "claim.ticketVersion", "claim.expireTimeUs", "message",       NULL};
  ctl_table t = {.lines = lines};
  return ctl_print(c, resp, &t, true, &err) ? ctl_fail(c, &err) : CTL_EXIT_OK;
}

static const char *const escalation_lines[] = {"id",
                                               "ticketId",
                                               "mode",
                                               "status",
                                               "fromDepartment",
                                               "toDepartment",
                                               "threadLink",
                                               "responseWindowSeconds",
                                               "version",
                                               NULL};

int ctl_escalate(ctl *c, const ctl_args *a) {
  Helpdesk__V1__EscalateToDepartmentRequest rq = HELPDESK__V1__ESCALATE_TO_DEPARTMENT_REQUEST__INIT;
  if (verbs__id(c, a, 1, "ticket id", &rq.ticket_id)) return CTL_EXIT_USAGE;
  if (!a->to || !a->context) {
    fprintf(c->diag,
            "helpdeskctl: escalate needs --to DEPARTMENT and --context TEXT (what the "
            "department needs to know)\n");
    return CTL_EXIT_USAGE;
  }
  int mode = HELPDESK__V1__ESCALATION_MODE__ESCALATION_MODE_ASSIGN;
  if (a->mode && verbs__enum(c, "mode", &helpdesk__v1__escalation_mode__descriptor, a->mode, &mode))
    return CTL_EXIT_USAGE;
  rq.mode = (Helpdesk__V1__EscalationMode)mode;
  rq.department = (char *)a->to;
  rq.context = (char *)a->context;
  if (a->thread) rq.thread_link = (char *)a->thread;
  if (a->product) rq.product = (char *)a->product;
  if (a->brand) rq.brand = (char *)a->brand;
  if (a->idempotency_key) rq.idempotency_key = (char *)a->idempotency_key;
  rq.expected_version = a->expected_version;
  ProtobufCMessage *resp = NULL;
  hd_err err = {0};
  if (ctl_rpc(c, CTL_ROUTING, "EscalateToDepartment", &rq.base, &resp, &err))
    return ctl_fail(c, &err);
  ctl_table t = {.lines = escalation_lines};
  return ctl_print(c, resp, &t, true, &err) ? ctl_fail(c, &err) : CTL_EXIT_OK;
}

static const char *const handover_columns[] = {
    "ticketId", "department", "rule", "currentStatus", "currentOwnerId", "note", NULL};

int ctl_handover(ctl *c, const ctl_args *a) {
  Helpdesk__V1__HandOverShiftRequest rq = HELPDESK__V1__HAND_OVER_SHIFT_REQUEST__INIT;
  Helpdesk__V1__HandOverNote *notes =
      a->n_notes ? HD_ARENA_ARRAY(c->arena, Helpdesk__V1__HandOverNote, a->n_notes) : NULL;
  Helpdesk__V1__HandOverNote **ptrs =
      a->n_notes ? HD_ARENA_ARRAY(c->arena, Helpdesk__V1__HandOverNote *, a->n_notes) : NULL;
  if (a->n_notes && (!notes || !ptrs)) {
    fprintf(c->diag, "helpdeskctl: out of memory\n");
    return CTL_EXIT_FAILED;
  }
  for (size_t i = 0; i < a->n_notes; i++) {
    const char *eq = strchr(a->notes[i], '=');
    char *id_text = eq ? hd_arena_strndup(c->arena, a->notes[i], (size_t)(eq - a->notes[i])) : NULL;
    helpdesk__v1__hand_over_note__init(&notes[i]);
    if (!eq || !id_text || ctl_parse_id(c, "--note ticket id", id_text, &notes[i].ticket_id)) {
      fprintf(c->diag,
              "helpdeskctl: --note %s: write TICKET_ID=TEXT, e.g. --note "
              "\"12=refund sent; confirm with the customer\"\n",
              a->notes[i]);
      return CTL_EXIT_USAGE;
    }
    notes[i].note = (char *)eq + 1;
    ptrs[i] = &notes[i];
  }
  rq.n_notes = a->n_notes;
  rq.notes = ptrs;
  if (a->agent) rq.agent_id = (char *)a->agent;
  if (a->idempotency_key) rq.idempotency_key = (char *)a->idempotency_key;
  ProtobufCMessage *resp = NULL;
  hd_err err = {0};
  if (ctl_rpc(c, CTL_ROUTING, "HandOverShift", &rq.base, &resp, &err)) return ctl_fail(c, &err);
  static const char *const lines[] = {"handOver.id", "agent.agentId", "agent.presence", NULL};
  ctl_table t = {.rows = "handOver.items", .columns = handover_columns, .lines = lines};
  return ctl_print(c, resp, &t, true, &err) ? ctl_fail(c, &err) : CTL_EXIT_OK;
}

int ctl_handover_show(ctl *c, const ctl_args *a) {
  Helpdesk__V1__GetHandOverRequest rq = HELPDESK__V1__GET_HAND_OVER_REQUEST__INIT;
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  if (a->from) rq.from_agent_id = (char *)a->from;
  if (a->department) rq.department = (char *)a->department;
  if (a->limit || a->page_token) {
    page.page_size = (int32_t)a->limit;
    if (a->page_token) page.page_token = (char *)a->page_token;
    rq.page = &page;
  }
  ProtobufCMessage *resp = NULL;
  hd_err err = {0};
  if (ctl_rpc(c, CTL_ROUTING, "GetHandOver", &rq.base, &resp, &err)) return ctl_fail(c, &err);
  static const char *const columns[] = {"ticketId",      "department", "fromAgentId", "rule",
                                        "currentStatus", "note",       NULL};
  static const char *const lines[] = {"page.nextPageToken", NULL};
  ctl_table t = {.rows = "items", .columns = columns, .lines = lines};
  return ctl_print(c, resp, &t, true, &err) ? ctl_fail(c, &err) : CTL_EXIT_OK;
}

int ctl_health(ctl *c, const ctl_args *a) {
  int first = 0, last = CTL_SVC_COUNT - 1;
  ctl_svc only = CTL_TICKETS;
  if (a->service) {
    if (ctl_svc_parse(a->service, &only) != 0) {
      fprintf(c->diag, "helpdeskctl: --service %s: tickets, routing, accounts or kpi\n",
              a->service);
      return CTL_EXIT_USAGE;
    }
    first = last = (int)only;
  } else if (a->target) {
    last = 0; /* one address: one answer */
  }
  json_t *rows = json_array();
  int rc = rows ? CTL_EXIT_OK : CTL_EXIT_FAILED;
  for (int i = first; rows && i <= last; i++) {
    Grpc__Health__V1__HealthCheckRequest rq = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    hd_err err = {0};
    char status[HD_ERR_MSG_MAX + 32];
    if (ctl_rpc_raw(c, (ctl_svc)i, "/grpc.health.v1.Health/Check", &rq.base,
                    &grpc__health__v1__health_check_response__descriptor, &resp, &err) != 0) {
      snprintf(status, sizeof status, "%s: %s", hd_code_name(err.code), err.msg);
      rc = CTL_EXIT_FAILED;
    } else {
      const Grpc__Health__V1__HealthCheckResponse *r = (const void *)resp;
      const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
          &grpc__health__v1__health_check_response__serving_status__descriptor, (int)r->status);
      snprintf(status, sizeof status, "%s", v ? v->name : "UNKNOWN");
      if (r->status != GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING)
        rc = CTL_EXIT_FAILED;
    }
    json_array_append_new(rows, json_pack("{s:s, s:s, s:s}", "service",
                                          a->target && !a->service ? "target" : ctl_svc_name(i),
                                          "target", c->target[i], "status", status));
  }
  if (!rows) return CTL_EXIT_FAILED;
  json_t *doc = json_pack("{s:o}", "services", rows);
  static const char *const columns[] = {"service", "target", "status", NULL};
  ctl_table t = {.rows = "services", .columns = columns, .lines = (const char *[]){NULL}};
  ctl_print_json(c, doc, &t, true);
  return rc;
}
