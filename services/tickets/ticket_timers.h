/* Durable ticket timers: the follow-ups of a PENDING_FEEDBACK ticket and the auto-close of a
 * TO_BE_CONFIRMED one. Due times live in MariaDB (tickets.timer_kind / timer_due_us); Redis only
 * schedules wake-ups (the sorted set tickets_timer_zset names), so a lost or wiped Redis delays a
 * timer by at most one sweep and never loses it. */
#ifndef TICKETS_TICKET_TIMERS_H
#define TICKETS_TICKET_TIMERS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "svc/service.h"

/* The timer loop (an hd_loop_fn, on its own thread with its own connections in w). Every
 * timer_poll_us of real time it asks Redis for the earliest wake-up; when that is due on the
 * service's clock, or timer_sweep_us of the service's clock passed since the last sweep (the
 * first round always sweeps), or Redis failed, it runs tickets_timers_fire_due and then removes
 * the wake-ups due by now. Errors are logged and counted (helpdesk_db_errors_total /
 * helpdesk_redis_errors_total), never fatal; after a failure it waits 1 s. At the sweep's pace
 * it also deletes up to 1,000 idempotency keys older than their 24-hour window. Looks at *stop at
 * least every 50 ms. */
void tickets_timer_loop(hd_svc_env *env, hd_worker *w, const _Atomic bool *stop);

/* Fires every timer due at now_us, in transactions of up to 100 tickets on w->db (FOR UPDATE
 * SKIP LOCKED, so replicas never fire one timer twice):
 *  - AUTO_CLOSE on a TO_BE_CONFIRMED ticket: AUTO_CLOSE → CLOSED (ticket.auto_closed);
 *  - FOLLOW_UP on a PENDING_FEEDBACK ticket: the system's follow-up comment ("... follow-up N of
 *    M"), follow_up_count + 1, and either the next FOLLOW_UP at due + follow_up_interval or, for
 *    the configured last one, TO_BE_CONFIRMED with AUTO_CLOSE at due + auto_close_after (from the
 *    timer's due time, so a late sweep does not stretch the customer's silence);
 *  - a timer that no longer fits the ticket's status is cleared (no status change).
 * Every change is made as actor {"system", "system"} with history rows and an outbox event.
 * Batches repeat while one came back full or re-armed a timer that is already due. The new due
 * times are scheduled in Redis after each commit (best effort) and each fired timer is logged.
 * A ticket whose timer fails for good (a damaged row; not a deadlock or a lost connection) is
 * logged, counted as a database error and set aside for an hour, so it never holds back the
 * others.
 * *fired (may be NULL) receives how many due timers were handled (cleared ones included), also
 * on failure (those committed before it). 0, or -1 with err set (what committed stays). */
int tickets_timers_fire_due(hd_svc_env *env, hd_worker *w, int64_t now_us, size_t *fired,
                            hd_err *err);

#endif
