/* The one stop-aware sleep of every background loop (outbox relay, timers, consumers): a loop
 * sleeps through this, so a service's stop is seen within HD_SVC_SLEEP_STEP_US. */
#ifndef HD_SVC_SLEEP_H
#define HD_SVC_SLEEP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* How often a sleeping loop looks at its stop flag. */
#define HD_SVC_SLEEP_STEP_US 50000

/* Sleeps us microseconds of real time (not the service's clock: a test's manual clock never
 * moves by itself) in steps of at most HD_SVC_SLEEP_STEP_US, returning early once *stop is set.
 * us <= 0 returns at once. Returns true when *stop was set (the loop should end), false when the
 * whole time was slept. Any thread; stop is only read. */
bool hd_svc_sleep(int64_t us, const _Atomic bool *stop);

#endif
