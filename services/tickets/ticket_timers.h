/* Durable ticket timers: the follow-ups of a PENDING_FEEDBACK ticket and the auto-close of a
 * TO_BE_CONFIRMED one. Due times live in MariaDB (tickets.timer_kind / timer_due_us) and are fired
 * by the kit's timer loop (common/svc/timer.h: SKIP LOCKED batches, Redis wake-ups in the set
 * tickets_timer_zset names, the sweep, a failing ticket set aside), so a lost or wiped Redis
 * delays a timer by at most one sweep and never loses it.
 *
 * Silence is counted from what happened, not from what was scheduled: a timer that fires late (the
 * service was down, the sweep came late) sends its follow-up when it fires, and the next one is due
 * a full interval after that send; the auto-close is due the full configured silence after the
 * ticket entered TO_BE_CONFIRMED. So after an outage the customer gets one reminder, not all the
 * missed ones at once, and a ticket never closes before the full silence has passed. */
#ifndef TICKETS_TICKET_TIMERS_H
#define TICKETS_TICKET_TIMERS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "svc/service.h"
#include "svc/timer.h"

/* The ticket service's timer source: names its wake-up set and its log lines and metric label. */
#define TICKETS_TIMER_SOURCE "tickets"

/* The timer loop (an hd_loop_fn, on its own thread with its own connections in w): the kit's
 * hd_timer_run over tickets.timer_due_us, polling Redis every HELPDESK_TICKETS_TIMER_POLL of real
 * time and sweeping MariaDB every HELPDESK_TICKETS_TIMER_SWEEP of the service's clock. At the
 * sweep's pace it also deletes up to 1,000 idempotency keys older than their 24-hour window. */
void tickets_timer_loop(hd_svc_env *env, hd_worker *w, const _Atomic bool *stop);

/* Fires every timer due at now_us, in transactions of up to 100 tickets on w->db (FOR UPDATE
 * SKIP LOCKED, so replicas never fire one timer twice), each change made at now_us:
 *  - AUTO_CLOSE on a TO_BE_CONFIRMED ticket: AUTO_CLOSE → CLOSED (ticket.auto_closed);
 *  - FOLLOW_UP on a PENDING_FEEDBACK ticket: the system's follow-up comment ("... follow-up N of
 *    M"), follow_up_count + 1, and either the next FOLLOW_UP at now_us + follow_up_interval or,
 *    for the configured last one, TO_BE_CONFIRMED with AUTO_CLOSE at now_us + auto_close_after
 *    (from the send, not from the due time: see the top);
 *  - a timer that no longer fits the ticket's status is cleared (no status change).
 * Every change is made as actor {"system", "system"} with history rows and an outbox event.
 * The new due times are scheduled in Redis after each commit (best effort) and each fired timer
 * is logged (timer.fired). A ticket whose timer fails for good (a damaged row; not a deadlock or
 * a lost connection) is logged, counted and set aside for an hour (doubling per failure the loop
 * has seen, at most a day), so it never holds back the others.
 * *fired (may be NULL) receives how many due timers were handled (cleared ones included), also
 * on failure (those committed before it). 0, or -1 with err set (what committed stays). */
int tickets_timers_fire_due(hd_svc_env *env, hd_worker *w, int64_t now_us, size_t *fired,
                            hd_err *err);

#endif
