/* Escalations to other departments (SOP 2.3): EscalateToDepartment (ASSIGN moves the ticket to
 * the department and tells the customer; CONSULT leaves it and adds an internal note with the
 * thread link), AcknowledgeEscalation and ResolveEscalation for the receiving department,
 * ListEscalations and ListOverdueEscalations, and the timer that marks an escalation overdue
 * when its department's response window passes without an update. */
#ifndef ROUTING_ESCALATIONS_H
#define ROUTING_ESCALATIONS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc/server.h"
#include "svc/service.h"

/* The escalation timer's source name (its wake-up set, logs, metric label). */
#define ESCAL_TIMER_SOURCE "escalations"

int routing_escalate_to_department(hd_call *call, const ProtobufCMessage *req,
                                   ProtobufCMessage *resp);
int routing_acknowledge_escalation(hd_call *call, const ProtobufCMessage *req,
                                   ProtobufCMessage *resp);
int routing_resolve_escalation(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int routing_list_escalations(hd_call *call, const ProtobufCMessage *req, ProtobufCMessage *resp);
int routing_list_overdue_escalations(hd_call *call, const ProtobufCMessage *req,
                                     ProtobufCMessage *resp);

/* Marks overdue every OPEN or ACKNOWLEDGED escalation whose last update + window is at or before
 * now_us (overdue = 1, the timer cleared, a routing.escalation_overdue event), in the kit's
 * batches on w->db; an escalation updated meanwhile gets its new due time instead. *fired (may
 * be NULL) gets how many rows were handled. 0, or -1 with err set. */
int routing_escalation_timers_fire_due(hd_svc_env *env, hd_worker *w, int64_t now_us, size_t *fired,
                                       hd_err *err);

/* Sets the gauges helpdesk_escalations_open and helpdesk_escalations_overdue for every department
 * name of the catalog (every tenant's together; at most ROUTING_ESCALATION_GAUGES_MAX names, in
 * name order), 0 where none is open, so a department whose escalations were all resolved drops
 * to 0. Reads one covering index (migration 003). */
#define ROUTING_ESCALATION_GAUGES_MAX 64
int routing_escalations_gauges(hd_svc_env *env, hd_db *db, hd_err *err);

/* The timer loop (an hd_loop_fn): hd_timer_run over escalations.due_at_us. */
void routing_escalation_timer_loop(hd_svc_env *env, hd_worker *w, const _Atomic bool *stop);

/* Schedules the wake-up of escalation id at due_us, after its transaction committed. */
void routing_escalation_wake(hd_call *c, int64_t id, int64_t due_us);

#endif
