/* RebuildFacts: one page of tickets (from the ticket service's history) or escalations (from
 * routing's records) written again through the same code as the events (kpi_facts.c). */
#include <inttypes.h>
#include <string.h>

#include "helpdesk/v1/routing.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "kpi_app.h"
#include "kpi_facts.h"
#include "kpi_handlers.h"
#include "rpc/call.h"
#include "rpc/page.h"

#define REBUILD_HISTORY_MAX 20000 /* history entries of one ticket read at most */
#define REBUILD_ATTEMPTS    3     /* reads of a ticket that keeps changing */

#define TICKETS_METHOD(name) "/helpdesk.v1.TicketService/" name
#define ROUTING_METHOD(name) "/helpdesk.v1.RoutingService/" name

/* ---- tickets ---- */

typedef struct rebuild_ticket {
  const Helpdesk__V1__Ticket *ticket;
  Helpdesk__V1__HistoryEntry **entries; /* in the call's arena */
  size_t n;
  int64_t version; /* the version the history is complete up to */
} rebuild_ticket;

/* Reads every page of ticket id's history into r (oldest first). */
static int rebuild__history(hd_call *c, int64_t id, rebuild_ticket *r, hd_err *err) {
  hd_peer *tickets = kpi_app_of(c)->tickets;
  const char *token = "";
  size_t cap = 0;
  r->n = 0;
  do {
    Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
    page.page_size = HD_PAGE_SIZE_MAX;
    page.page_token = (char *)token;
    Helpdesk__V1__GetTicketHistoryRequest rq = HELPDESK__V1__GET_TICKET_HISTORY_REQUEST__INIT;
    rq.ticket_id = id;
    rq.page = &page;
    Helpdesk__V1__GetTicketHistoryResponse *resp = NULL;
    if (hd_peer_call_for(tickets, c, TICKETS_METHOD("GetTicketHistory"), true, &rq.base,
                         &helpdesk__v1__get_ticket_history_response__descriptor,
                         (ProtobufCMessage **)&resp, err))
      return -1;
    if (r->n + resp->n_entries > REBUILD_HISTORY_MAX)
      return hd_err_set(err, HD_RESOURCE_EXHAUSTED,
                        "ticket %" PRId64 " has more than %d history entries", id,
                        REBUILD_HISTORY_MAX);
    if (r->n + resp->n_entries > cap) {
      const size_t ncap = (r->n + resp->n_entries) * 2;
      Helpdesk__V1__HistoryEntry **e = HD_ARENA_ARRAY(c->arena, Helpdesk__V1__HistoryEntry *, ncap);
      if (!e) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the ticket's history is too large");
      if (r->n) memcpy(e, r->entries, r->n * sizeof *e);
      r->entries = e;
      cap = ncap;
    }
    memcpy(r->entries + r->n, resp->entries, resp->n_entries * sizeof *resp->entries);
    r->n += resp->n_entries;
    token = resp->page && resp->page->next_page_token ? resp->page->next_page_token : "";
  } while (*token);
  return 0;
}

/* The history of a ticket whose version did not move while it was read: GetTicket after the
 * history must show the version the listing (or the last read) showed. */
static int rebuild__read_ticket(hd_call *c, const Helpdesk__V1__Ticket *listed, rebuild_ticket *r,
                                hd_err *err) {
  int64_t version = listed->version;
  r->ticket = listed;
  for (int attempt = 0; attempt < REBUILD_ATTEMPTS; attempt++) {
    if (rebuild__history(c, listed->id, r, err)) return -1;
    Helpdesk__V1__GetTicketRequest rq = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
    rq.ticket_id = listed->id;
    Helpdesk__V1__Ticket *now = NULL;
    if (hd_peer_call_for(kpi_app_of(c)->tickets, c, TICKETS_METHOD("GetTicket"), true, &rq.base,
                         &helpdesk__v1__ticket__descriptor, (ProtobufCMessage **)&now, err))
      return -1;
    if (now->version == version) {
      r->version = version;
      return 0;
    }
    version = now->version; /* it changed while we read: read it again */
    r->ticket = now;
  }
  return hd_err_set(err, HD_ABORTED,
                    "ticket %" PRId64
                    " kept changing while its history was read; call "
                    "RebuildFacts again with the same page token",
                    listed->id);
}

/* Writes the facts of one ticket from its history, in the caller's transaction. */
static int rebuild__ticket_facts(hd_db *db, const char *tenant, const rebuild_ticket *r,
                                 int64_t now_us, hd_err *err) {
  const int64_t id = r->ticket->id;
  if (kpi_facts_forget(db, tenant, id, r->version, err)) return -1;
  const char *status = "", *owner = "", *department = "", *category = "";
  for (size_t i = 0; i < r->n; i++) {
    const Helpdesk__V1__HistoryEntry *e = r->entries[i];
    const char *field = e->field ? e->field : "";
    const char *to = e->to_value ? e->to_value : "";
    kpi_step s = {.seq = KPI_REBUILT_SEQ_BASE + (int64_t)i + 1,
                  .time_us = e->create_time_us,
                  .actor_id = e->actor_id,
                  .actor_role = e->actor_role,
                  .action = e->action,
                  .customer_id = r->ticket->customer_id};
    if (strcmp(field, "status") == 0) {
      status = to;
      s.status_changed = true;
      s.created = e->action && strcmp(e->action, "CREATE") == 0;
    } else if (strcmp(field, "owner_id") == 0) {
      s.owner_changed = true;
      s.owner_from = e->from_value;
      owner = to;
    } else if (strcmp(field, "department") == 0) {
      department = to;
    } else if (strcmp(field, "category") == 0) {
      s.category_changed = true;
      category = to;
    } else if (strcmp(field, "comment") == 0) {
      s.comment = true;
    }
    s.status = status;
    s.owner_id = owner;
    s.department = department;
    s.category = category;
    bool applied = false;
    if (kpi_facts_apply(db, tenant, id, &s, now_us, &applied, err)) return -1;
  }
  return kpi_facts_set_floor(db, tenant, id, r->version, now_us, err);
}

typedef struct rebuild_page {
  hd_call *call;
  const rebuild_ticket *tickets;
  size_t n;
  const Helpdesk__V1__Escalation *const *escalations;
  size_t n_escalations;
} rebuild_page;

static int rebuild__tickets_tx(hd_db *db, void *arg, hd_err *err) {
  const rebuild_page *x = arg;
  const int64_t now = hd_clock_now_us(hd_call_env(x->call)->clock);
  for (size_t i = 0; i < x->n; i++)
    if (rebuild__ticket_facts(db, kpi_tenant(x->call), &x->tickets[i], now, err)) return -1;
  return 0;
}

static int rebuild__tickets(hd_call *c, const Helpdesk__V1__PageRequest *page,
                            Helpdesk__V1__RebuildFactsResponse *out) {
  Helpdesk__V1__ListTicketsRequest rq = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  rq.page = (Helpdesk__V1__PageRequest *)page;
  Helpdesk__V1__ListTicketsResponse *list = NULL;
  if (hd_peer_call_for(kpi_app_of(c)->tickets, c, TICKETS_METHOD("ListTickets"), true, &rq.base,
                       &helpdesk__v1__list_tickets_response__descriptor, (ProtobufCMessage **)&list,
                       &c->err))
    return -1;
  rebuild_ticket *r = HD_ARENA_ARRAY(c->arena, rebuild_ticket, list->n_tickets + 1);
  if (!r) return hd_err_set(&c->err, HD_RESOURCE_EXHAUSTED, "the page is too large");
  for (size_t i = 0; i < list->n_tickets; i++)
    if (rebuild__read_ticket(c, list->tickets[i], &r[i], &c->err)) return -1;
  rebuild_page x = {.call = c, .tickets = r, .n = list->n_tickets};
  if (hd_call_tx(c, rebuild__tickets_tx, &x)) return -1;
  out->rebuilt = (int32_t)list->n_tickets;
  return hd_page_info(c->arena, list->page ? list->page->next_page_token : "", &out->page, &c->err);
}

/* ---- escalations ---- */

/* An enum value's short name ("RESOLVED" of ESCALATION_STATUS_RESOLVED); "" when unknown. */
static const char *rebuild__enum(const ProtobufCEnumDescriptor *d, int v, const char *prefix) {
  const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
  if (!ev || v == 0) return "";
  const size_t n = strlen(prefix);
  return strncmp(ev->name, prefix, n) == 0 ? ev->name + n : ev->name;
}

static int rebuild__escalations_tx(hd_db *db, void *arg, hd_err *err) {
  const rebuild_page *x = arg;
  const char *tenant = kpi_tenant(x->call);
  const int64_t now = hd_clock_now_us(hd_call_env(x->call)->clock);
  for (size_t i = 0; i < x->n_escalations; i++) {
    const Helpdesk__V1__Escalation *e = x->escalations[i];
    const kpi_escalation f = {.id = e->id,
                              .ticket_id = e->ticket_id,
                              .kind = rebuild__enum(&helpdesk__v1__escalation_kind__descriptor,
                                                    (int)e->kind, "ESCALATION_KIND_"),
                              .status = rebuild__enum(&helpdesk__v1__escalation_status__descriptor,
                                                      (int)e->status, "ESCALATION_STATUS_"),
                              .created_by = e->created_by,
                              .created_at_us = e->create_time_us,
                              .acknowledged_at_us = e->acknowledge_time_us,
                              .ended_at_us = e->resolve_time_us};
    const hd_db_param key[] = {hd_db_text(tenant), hd_db_int(e->id)};
    if (hd_db_exec(db, "DELETE FROM escalation_facts WHERE tenant = ? AND escalation_id = ?", key,
                   2, NULL, NULL, err) ||
        kpi_facts_escalation(db, tenant, &f, now, err))
      return -1;
  }
  return 0;
}

static int rebuild__escalations(hd_call *c, const Helpdesk__V1__PageRequest *page,
                                Helpdesk__V1__RebuildFactsResponse *out) {
  Helpdesk__V1__ListEscalationsRequest rq = HELPDESK__V1__LIST_ESCALATIONS_REQUEST__INIT;
  rq.page = (Helpdesk__V1__PageRequest *)page;
  Helpdesk__V1__ListEscalationsResponse *list = NULL;
  if (hd_peer_call_for(kpi_app_of(c)->routing, c, ROUTING_METHOD("ListEscalations"), true, &rq.base,
                       &helpdesk__v1__list_escalations_response__descriptor,
                       (ProtobufCMessage **)&list, &c->err))
    return -1;
  rebuild_page x = {.call = c,
                    .escalations = (const Helpdesk__V1__Escalation *const *)list->escalations,
                    .n_escalations = list->n_escalations};
  if (hd_call_tx(c, rebuild__escalations_tx, &x)) return -1;
  out->rebuilt = (int32_t)list->n_escalations;
  return hd_page_info(c->arena, list->page ? list->page->next_page_token : "", &out->page, &c->err);
}

int kpi_rebuild_facts(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp) {
  const Helpdesk__V1__RebuildFactsRequest *rq = (const Helpdesk__V1__RebuildFactsRequest *)req;
  Helpdesk__V1__RebuildFactsResponse *out = (Helpdesk__V1__RebuildFactsResponse *)resp;
  size_t size = 0;
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  if (rq->page) page = *rq->page;
  if (!page.page_token) page.page_token = "";
  if (hd_call_check_enum(call, "source", &helpdesk__v1__fact_source__descriptor, (int)rq->source,
                         false) ||
      hd_page_size(page.page_size, &size, &call->err) ||
      hd_call_check_text(call, "page.page_token", page.page_token, 0, HD_PAGE_TOKEN_MAX))
    return -1;
  page.page_size = (int32_t)size;
  if (rq->source == HELPDESK__V1__FACT_SOURCE__FACT_SOURCE_TICKETS)
    return rebuild__tickets(call, &page, out);
  return rebuild__escalations(call, &page, out);
}
