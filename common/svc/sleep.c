/* The stop-aware sleep of background loops (see sleep.h). */
#include "svc/sleep.h"

#include <errno.h>
#include <time.h>

bool hd_svc_sleep(int64_t us, const _Atomic bool *stop) {
  for (int64_t slept = 0; slept < us; slept += HD_SVC_SLEEP_STEP_US) {
    if (atomic_load(stop)) return true;
    const int64_t step = us - slept < HD_SVC_SLEEP_STEP_US ? us - slept : HD_SVC_SLEEP_STEP_US;
    struct timespec ts = {.tv_sec = 0, .tv_nsec = (long)(step * 1000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
      /* a signal: sleep the rest of this step */
    }
  }
  return atomic_load(stop);
}
