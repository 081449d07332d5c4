/* The KPI's event consumers: ticket events (helpdesk:events:tickets) and routing's escalation
 * events (helpdesk:events:routing) become facts (kpi_facts.h). Declared in kpi_service_def;
 * exported so that tests can run them on streams of their own. */
#ifndef KPI_KPI_CONSUME_H
#define KPI_KPI_CONSUME_H

#include "svc/consumer.h"

#define KPI_CONSUMER_GROUP "kpi"

/* The escalation events routing publishes (aggregate escalation_id). */
#define KPI_EV_ESCALATION_PREFIX "routing.escalation_"

/* hd_consumer_apply_fn for ticket events: every event that carries the ticket's state ("ticket"
 * and "version": all that ticket_store_insert and ticket_store_update write) becomes one step;
 * others are acknowledged without effect. INVALID_ARGUMENT for a payload of the wrong shape. */
int kpi_consume_ticket_event(hd_db *db, const hd_event *ev, void *app, hd_err *err);

/* hd_consumer_apply_fn for routing events: routing.escalation_* events update the escalation's
 * facts; the others (claims, hand-overs) are acknowledged without effect. */
int kpi_consume_routing_event(hd_db *db, const hd_event *ev, void *app, hd_err *err);

#endif
