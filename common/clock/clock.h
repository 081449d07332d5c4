/* Time as every rule reads it: a real clock in production, a manual one in tests,
 * so time-based rules (auto-close, follow-ups) are driven without sleeping. */
#ifndef HD_CLOCK_CLOCK_H
#define HD_CLOCK_CLOCK_H

#include <stdatomic.h>
#include <stdint.h>

typedef struct hd_clock {
  /* Microseconds since the Unix epoch, UTC. Thread-safe. */
  int64_t (*now_us)(const struct hd_clock *self);
  /* For the manual clock: its current time. */
  _Atomic int64_t manual_us;
} hd_clock;

/* Sets c to the system's real-time clock. */
void hd_clock_init_real(hd_clock *c);

/* Sets c to a manual clock that stands at start_us until moved. */
void hd_clock_init_manual(hd_clock *c, int64_t start_us);

/* Moves a manual clock forward (or back, with a negative delta). */
void hd_clock_advance(hd_clock *c, int64_t delta_us);

/* Sets a manual clock to t_us. */
void hd_clock_set(hd_clock *c, int64_t t_us);

static inline int64_t hd_clock_now_us(const hd_clock *c) { return c->now_us(c); }

#define HD_US_PER_MS 1000LL
#define HD_US_PER_S  1000000LL

/* Monotonic microseconds, for measuring durations (not a rule's time). */
int64_t hd_monotonic_us(void);

#endif
