/* Rate-limit tokens leased ahead, by caller (see rate_reserve.h). */
#include "rpc/rate_reserve.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kv/kv.h"

#define RESERVE_STRIPES 16u /* mutexes; slot i is guarded by stripe i % RESERVE_STRIPES */
#define RESERVE_KEY_MAX (2 * HD_KV_MAX_NAME + 1) /* tenant, a NUL, subject */

typedef struct reserve__slot {
  size_t key_len; /* 0: unused */
  char key[RESERVE_KEY_MAX];
  int64_t held;       /* spare tokens of the last lease */
  int64_t leased_us;  /* when the last lease was granted */
  int64_t next_lease; /* the size of the next lease, 1..HD_RATE_LEASE_MAX */
} reserve__slot;

struct hd_rate_reserve {
  size_t n;
  reserve__slot *slots;
  pthread_mutex_t locks[RESERVE_STRIPES];
};

int hd_rate_reserve_new(size_t slots, hd_rate_reserve **out, hd_err *err) {
  if (slots < 1 || slots > HD_RATE_RESERVE_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "a rate reserve has 1 to %u slots, not %zu",
                      HD_RATE_RESERVE_MAX, slots);
  hd_rate_reserve *r = calloc(1, sizeof *r);
  if (r) r->slots = calloc(slots, sizeof *r->slots);
  if (!r || !r->slots) {
    free(r);
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory for a rate reserve");
  }
  r->n = slots;
  for (size_t i = 0; i < RESERVE_STRIPES; i++) pthread_mutex_init(&r->locks[i], NULL);
  *out = r;
  return 0;
}

void hd_rate_reserve_free(hd_rate_reserve *r) {
  if (!r) return;
  for (size_t i = 0; i < RESERVE_STRIPES; i++) pthread_mutex_destroy(&r->locks[i]);
  free(r->slots);
  free(r);
}

/* The key "<tenant>\0<subject>" into buf; 0 when it does not fit (never leased then). */
static size_t reserve__key(const char *tenant, const char *subject, char *buf) {
  const size_t t = strlen(tenant), s = strlen(subject);
  if (t > HD_KV_MAX_NAME || s > HD_KV_MAX_NAME) return 0;
  memcpy(buf, tenant, t);
  buf[t] = '\0';
  memcpy(buf + t + 1, subject, s);
  return t + 1 + s;
}

static uint64_t reserve__hash(const char *key, size_t len) {
  uint64_t h = 14695981039346656037ull; /* FNV-1a */
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)key[i]) * 1099511628211ull;
  return h;
}

static int64_t reserve__clamp(int64_t v, int64_t cap) {
  if (cap > HD_RATE_LEASE_MAX) cap = HD_RATE_LEASE_MAX;
  if (v > cap) v = cap;
  return v < 1 ? 1 : v;
}

bool hd_rate_reserve_spend(hd_rate_reserve *r, const char *tenant, const char *subject, int64_t cap,
                           int64_t now_us, int64_t *want) {
  *want = 1;
  char key[RESERVE_KEY_MAX];
  const size_t len = reserve__key(tenant, subject, key);
  if (!r || len == 0) return false;
  const size_t i = (size_t)(reserve__hash(key, len) % r->n);
  reserve__slot *s = &r->slots[i];
  pthread_mutex_t *m = &r->locks[i % RESERVE_STRIPES];
  bool spent = false;
  pthread_mutex_lock(m);
  if (s->key_len != len || memcmp(s->key, key, len) != 0) {
    /* Another caller's slot, or an unused one: this caller's now, nothing held. */
    s->key_len = len;
    memcpy(s->key, key, len);
    s->held = 0;
    s->leased_us = 0;
    s->next_lease = 1;
  } else {
    const bool fresh = now_us >= s->leased_us && now_us - s->leased_us < HD_RATE_RESERVE_US;
    if (fresh && s->held > 0) {
      s->held--;
      spent = true;
    } else if (fresh) {
      s->next_lease *= 2; /* spent within its lifetime: lease more */
    } else if (s->held > 0) {
      s->next_lease /= 2; /* dropped unspent: lease less */
      s->held = 0;
    }
  }
  if (!spent) *want = s->next_lease = reserve__clamp(s->next_lease, cap);
  pthread_mutex_unlock(m);
  return spent;
}

void hd_rate_reserve_hold(hd_rate_reserve *r, const char *tenant, const char *subject,
                          int64_t granted, int64_t now_us) {
  char key[RESERVE_KEY_MAX];
  const size_t len = reserve__key(tenant, subject, key);
  if (!r || len == 0 || granted < 1) return;
  const size_t i = (size_t)(reserve__hash(key, len) % r->n);
  reserve__slot *s = &r->slots[i];
  pthread_mutex_t *m = &r->locks[i % RESERVE_STRIPES];
  pthread_mutex_lock(m);
  if (s->key_len == len && memcmp(s->key, key, len) == 0) {
    const bool fresh = now_us >= s->leased_us && now_us - s->leased_us < HD_RATE_RESERVE_US;
    /* Two calls that leased at once both hold theirs; a stale remainder is dropped. */
    s->held = (fresh ? s->held : 0) + granted - 1;
    s->leased_us = now_us;
  }
  pthread_mutex_unlock(m);
}
