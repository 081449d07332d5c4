/* Real and manual clocks. */
#include "clock/clock.h"

#include <time.h>

static int64_t clock__real_now(const hd_clock *self) {
  (void)self;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * HD_US_PER_S + ts.tv_nsec / 1000;
}

static int64_t clock__manual_now(const hd_clock *self) {
  return atomic_load(&((hd_clock *)self)->manual_us);
}

void hd_clock_init_real(hd_clock *c) {
  c->now_us = clock__real_now;
  atomic_store(&c->manual_us, 0);
}

void hd_clock_init_manual(hd_clock *c, int64_t start_us) {
  c->now_us = clock__manual_now;
  atomic_store(&c->manual_us, start_us);
}

void hd_clock_advance(hd_clock *c, int64_t delta_us) { atomic_fetch_add(&c->manual_us, delta_us); }

void hd_clock_set(hd_clock *c, int64_t t_us) { atomic_store(&c->manual_us, t_us); }

int64_t hd_monotonic_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * HD_US_PER_S + ts.tv_nsec / 1000;
}
