/* Verified tokens by SHA-256 (see principal_cache.h). */
#include "auth/principal_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#define CACHE_STRIPES 16u /* mutexes; slot i is guarded by stripe i % CACHE_STRIPES */

typedef struct cache__slot {
  bool used;
  unsigned char digest[SHA256_DIGEST_LENGTH]; /* of the token */
  int64_t verified_at_s;                      /* now_s when it verified */
  hd_principal principal;
} cache__slot;

struct hd_principal_cache {
  size_t n;
  cache__slot *slots;
  pthread_mutex_t locks[CACHE_STRIPES];
  atomic_uint_fast64_t hits, misses;
};

int hd_principal_cache_new(size_t slots, hd_principal_cache **out, hd_err *err) {
  if (slots < 1 || slots > HD_PRINCIPAL_CACHE_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "a principal cache has 1 to %u slots, not %zu",
                      HD_PRINCIPAL_CACHE_MAX, slots);
  hd_principal_cache *c = calloc(1, sizeof *c);
  if (c) c->slots = calloc(slots, sizeof *c->slots);
  if (!c || !c->slots) {
    free(c);
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory for a principal cache");
  }
  c->n = slots;
  for (size_t i = 0; i < CACHE_STRIPES; i++) pthread_mutex_init(&c->locks[i], NULL);
  atomic_init(&c->hits, 0);
  atomic_init(&c->misses, 0);
  *out = c;
  return 0;
}

void hd_principal_cache_free(hd_principal_cache *c) {
  if (!c) return;
  for (size_t i = 0; i < CACHE_STRIPES; i++) pthread_mutex_destroy(&c->locks[i]);
  free(c->slots);
  free(c);
}

/* Whether a principal verified at verified_at_s with expiry exp_s still holds at now_s: the
 * clock has not gone back, it was verified at most HD_PRINCIPAL_CACHE_TTL_S ago (so a key taken
 * out of the JWKS stops working within that time, not at its tokens' expiry), and
 * exp > now - leeway (jwt.c's rule). */
static bool cache__fresh(int64_t verified_at_s, int64_t exp_s, int64_t now_s, int64_t leeway) {
  if (now_s < verified_at_s || now_s - verified_at_s > HD_PRINCIPAL_CACHE_TTL_S) return false;
  const int64_t oldest = now_s >= INT64_MIN + leeway ? now_s - leeway : INT64_MIN;
  return exp_s > oldest;
}

int hd_principal_cache_verify(hd_principal_cache *c, const hd_auth_config *cfg, const char *token,
                              size_t len, int64_t now_s, hd_principal *out, hd_err *err) {
  unsigned char d[SHA256_DIGEST_LENGTH];
  SHA256((const unsigned char *)token, len, d);
  uint64_t h;
  memcpy(&h, d, sizeof h);
  const size_t i = (size_t)(h % c->n);
  pthread_mutex_t *lock = &c->locks[i % CACHE_STRIPES];
  const int64_t leeway = cfg->leeway_s > 0 ? cfg->leeway_s : 0;
  cache__slot *s = &c->slots[i];
  bool hit = false;
  pthread_mutex_lock(lock);
  if (s->used && memcmp(s->digest, d, sizeof d) == 0 &&
      cache__fresh(s->verified_at_s, s->principal.expires_at_s, now_s, leeway)) {
    *out = s->principal;
    hit = true;
  }
  pthread_mutex_unlock(lock);
  if (hit) {
    atomic_fetch_add(&c->hits, 1);
    return 0;
  }
  atomic_fetch_add(&c->misses, 1);
  hd_principal p;
  if (hd_auth_verify(cfg, token, len, now_s, &p, err) != 0) return -1;
  pthread_mutex_lock(lock);
  s->used = true;
  memcpy(s->digest, d, sizeof d);
  s->verified_at_s = now_s;
  s->principal = p;
  pthread_mutex_unlock(lock);
  *out = p;
  return 0;
}

void hd_principal_cache_counts(hd_principal_cache *c, uint64_t *hits, uint64_t *misses) {
  *hits = atomic_load(&c->hits);
  *misses = atomic_load(&c->misses);
}
