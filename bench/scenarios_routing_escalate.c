/* The rate of RoutingService/EscalateToDepartment. --target is the routing service; the tickets
 * it escalates are made beforehand on the ticket service at --tickets-target (bench.h), which
 * routing must be configured to call (HELPDESK_TICKETS_TARGET). Each operation is one CONSULT
 * escalation as a service caller with a fresh idempotency key: routing reads the ticket
 * (GetTicket), writes the escalation and its key, writes the internal note on the ticket service
 * (AddInternalRecord) and records it with the routing event: two services' durable writes per
 * operation. CONSULT leaves the ticket where it is, so tickets are reused. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "bench_routing_escalate.h"
#include "helpdesk/v1/routing.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"

#define ESC_TICKETS_DEFAULT 64 /* tickets escalated round robin when --prepare is 0 */

typedef struct esc_shared {
  int64_t *ids;
  size_t n;
} esc_shared;

static int esc__ticket(hd_client *c, const char *token, uint64_t i, hd_arena *a, int64_t *id,
                       hd_err *err) {
  char key[96];
  snprintf(key, sizeof key, "bench-esc-%ld-%" PRIu64, (long)getpid(), i);
  Helpdesk__V1__CreateTicketRequest req = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
  req.idempotency_key = key;
  req.customer_id = "bench-customer";
  req.subject = "Charged twice for the renewal";
  req.description = "Two charges on the card for one renewal.";
  req.service_type = HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_SHARED;
  req.issue_type = HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_BILLING;
  ProtobufCMessage *resp = NULL;
  if (hd_client_call(c, "/helpdesk.v1.TicketService/CreateTicket", token, 0, &req.base,
                     &helpdesk__v1__ticket__descriptor, a, &resp, err))
    return -1;
  *id = ((Helpdesk__V1__Ticket *)resp)->id;
  return 0;
}

/* Creates the tickets on the ticket service; caller frees *shared with esc_cleanup. */
static int esc_prepare(const bench_opts *o, hd_client *routing, void **shared, hd_err *err) {
  (void)routing;
  const hd_client_config cfg = {.target = o->tickets_target};
  hd_client *tickets = NULL;
  esc_shared *s = calloc(1, sizeof *s);
  const size_t n = o->prepare ? (size_t)o->prepare : ESC_TICKETS_DEFAULT;
  int rc = -1;
  if (!s || !(s->ids = calloc(n, sizeof *s->ids))) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
    goto done;
  }
  *shared = s;
  if (hd_client_new(&cfg, &tickets, err)) goto done;
  for (size_t i = 0; i < n; i++) {
    hd_arena *a = hd_arena_new(1u << 20);
    const int r = a ? esc__ticket(tickets, o->token, i, a, &s->ids[i], err)
                    : hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
    hd_arena_free(a);
    if (r) goto done;
    s->n++;
  }
  rc = 0;
done:
  if (!*shared) free(s);
  hd_client_destroy(tickets);
  return rc;
}

static void esc_cleanup(void *shared) {
  esc_shared *s = shared;
  if (!s) return;
  free(s->ids);
  free(s);
}

static int esc_op(bench_worker *w, hd_arena *a, hd_err *err) {
  const esc_shared *s = w->shared;
  char key[96];
  snprintf(key, sizeof key, "bench-esc-%ld-%u-%" PRIu64, (long)getpid(), w->index, w->seq);
  Helpdesk__V1__EscalateToDepartmentRequest req =
      HELPDESK__V1__ESCALATE_TO_DEPARTMENT_REQUEST__INIT;
  req.ticket_id = s->ids[(w->seq * 131 + w->index) % s->n];
  req.department = "BILLING";
  req.mode = HELPDESK__V1__ESCALATION_MODE__ESCALATION_MODE_CONSULT;
  req.context = "Customer was charged twice; please check the renewal invoice";
  req.thread_link = "https://chat.example.test/billing/thread/1";
  req.idempotency_key = key;
  ProtobufCMessage *resp = NULL;
  return hd_client_call(w->client, "/helpdesk.v1.RoutingService/EscalateToDepartment",
                        w->opts->token, 0, &req.base, &helpdesk__v1__escalation__descriptor, a,
                        &resp, err);
}

const bench_scenario bench_escalate = {
    .name = "escalate",
    .what =
        "RoutingService/EscalateToDepartment CONSULT as a service with an idempotency key "
        "(routing and tickets both write)",
    .prepare = esc_prepare,
    .op = esc_op,
    .cleanup = esc_cleanup};
