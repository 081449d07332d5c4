/* Customer estimates (SOP 1.3: tell the customer the expected escalation time, and update them
 * when it passes unresolved): SetCustomerEstimate, ListDueCustomerUpdates, and the timer that
 * makes a passed estimate DUE (a routing.customer_update_due event portals can show). */
#ifndef ROUTING_ESTIMATES_H
#define ROUTING_ESTIMATES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpc/server.h"
#include "svc/service.h"

#define ESTIMATE_TIMER_SOURCE "estimates"
#define ESTIMATE_EVENT_DUE    "routing.customer_update_due"

int routing_set_customer_estimate(hd_call *call, const ProtobufCMessage *req,
                                  ProtobufCMessage *resp);
int routing_list_due_customer_updates(hd_call *call, const ProtobufCMessage *req,
                                      ProtobufCMessage *resp);

/* Fires every PENDING estimate whose time is at or before now_us, on w->db in the kit's batches:
 * a ticket routing's records know as CLOSED or CANCELLED clears it (CLEARED); any other becomes
 * DUE (due since now_us) with a routing.customer_update_due event. *fired may be NULL. */
int routing_estimate_timers_fire_due(hd_svc_env *env, hd_worker *w, int64_t now_us, size_t *fired,
                                     hd_err *err);

/* The timer loop (an hd_loop_fn) over customer_estimates.due_at_us. */
void routing_estimate_timer_loop(hd_svc_env *env, hd_worker *w, const _Atomic bool *stop);

#endif
