/* JWKS from a file or directory: JWK → EVP_PKEY through OSSL_PARAM / EVP_PKEY_fromdata, a stat
 * stamp to notice a change, and a mutex around the key set so workers share one copy. */
#include "auth/jwks.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "auth/base64url.h"
#include "json/json.h"
#include "log/log.h"

#define JWKS_PATH_MAX 4096
#define JWKS_RSA_MAX  1024u /* bytes of an RSA modulus (8192 bits) */
#define JWKS_EC_COORD 32u   /* bytes of a P-256 coordinate */

typedef struct jwks__key {
  char kid[HD_JWKS_KID_MAX + 1];
  size_t kid_len;
  hd_jws_alg alg; /* the JWK's "alg"; 0 when it names none */
  EVP_PKEY *pkey; /* owned */
} jwks__key;

typedef struct jwks__set {
  jwks__key keys[HD_JWKS_KEYS_MAX];
  size_t n;
} jwks__set;

struct hd_jwks {
  pthread_mutex_t mu;
  char path[JWKS_PATH_MAX];
  int64_t recheck_s;
  int64_t checked_s; /* when the source was last stat'ed */
  uint64_t stamp;    /* of the source as last stat'ed */
  jwks__set *set;    /* owned; replaced whole on a reload */
  unsigned long loads;
};

static void jwks__set_free(jwks__set *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n; i++) EVP_PKEY_free(s->keys[i].pkey);
  free(s);
}

/* ---- change detection ---- */

static uint64_t jwks__fnv(uint64_t h, const void *data, size_t n) {
  const unsigned char *p = data;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

static uint64_t jwks__fnv_stat(uint64_t h, const struct stat *st) {
  const int64_t f[] = {(int64_t)st->st_dev,          (int64_t)st->st_ino,
                       (int64_t)st->st_size,         (int64_t)st->st_mtim.tv_sec,
                       (int64_t)st->st_mtim.tv_nsec, (int64_t)st->st_ctim.tv_nsec};
  return jwks__fnv(h, f, sizeof f);
}

static int jwks__want(const struct dirent *d) {
  size_t n = strlen(d->d_name);
  return d->d_name[0] != '.' && n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

/* The *.json files of directory path, sorted: *names (caller frees each and the array), *n. */
static int jwks__scan(const char *path, struct dirent ***names, size_t *n, hd_err *err) {
  int k = scandir(path, names, jwks__want, alphasort);
  if (k < 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "cannot read the JWKS directory %s: %s", path,
                      strerror(errno));
  *n = (size_t)k;
  return 0;
}

static void jwks__scan_free(struct dirent **names, size_t n) {
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
}

/* A stamp of what path is now: the file's inode, size and times, or the directory's and those
 * of each *.json file in it (through symlinks, as a Kubernetes volume swaps them). */
static int jwks__stamp(const char *path, uint64_t *out, hd_err *err) {
  struct stat st;
  uint64_t h = 1469598103934665603ull;
  if (stat(path, &st) != 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "cannot read the JWKS %s: %s", path,
                      strerror(errno));
  h = jwks__fnv_stat(h, &st);
  if (S_ISDIR(st.st_mode)) {
    struct dirent **names = NULL;
    size_t n = 0;
    char file[JWKS_PATH_MAX];
    if (jwks__scan(path, &names, &n, err) != 0) return -1;
    for (size_t i = 0; i < n; i++) {
      h = jwks__fnv(h, names[i]->d_name, strlen(names[i]->d_name) + 1);
      snprintf(file, sizeof file, "%s/%s", path, names[i]->d_name);
      if (stat(file, &st) == 0) h = jwks__fnv_stat(h, &st);
    }
    jwks__scan_free(names, n);
  }
  *out = h;
  return 0;
}

/* ---- JWK → EVP_PKEY ---- */

/* Member key of jwk, base64url-decoded into buf (size bytes): *len bytes. */
static int jwks__b64_member(const json_t *jwk, const char *key, unsigned char *buf, size_t size,
                            size_t *len, const char *where, hd_err *err) {
  const char *s = NULL;
  size_t sl = 0;
  hd_err jerr = {0};
  if (hd_json_get_str(jwk, key, &s, &sl, &jerr) != 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s: \"%s\" is missing or not a string", where,
                      key);
  if (hd_b64url_decoded_max(sl) > size || hd_b64url_decode(s, sl, buf, size, len) != 0 || *len == 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s: \"%s\" is not base64url of at most %zu bytes",
                      where, key, size);
  return 0;
}

/* params → a public key of type name ("RSA", "EC"). Caller frees *out with EVP_PKEY_free(). */
static int jwks__fromdata(const char *name, OSSL_PARAM *params, EVP_PKEY **out) {
  int rc = -1;
  EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, name, NULL), *check = NULL;
  *out = NULL;
  if (!ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
      EVP_PKEY_fromdata(ctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1)
    goto done;
  check = EVP_PKEY_CTX_new_from_pkey(NULL, *out, NULL);
  if (!check || EVP_PKEY_public_check(check) != 1) goto done; /* e.g. a point off the curve */
  rc = 0;
done:
  if (rc != 0) {
    EVP_PKEY_free(*out);
    *out = NULL;
  }
  EVP_PKEY_CTX_free(check);
  EVP_PKEY_CTX_free(ctx);
  return rc;
}

static int jwks__rsa(const json_t *jwk, const char *where, EVP_PKEY **out, hd_err *err) {
  int rc = -1;
  unsigned char n[JWKS_RSA_MAX], e[16];
  size_t nl = 0, el = 0;
  BIGNUM *bn = NULL, *be = NULL;
  OSSL_PARAM_BLD *bld = NULL;
  OSSL_PARAM *params = NULL;
  if (jwks__b64_member(jwk, "n", n, sizeof n, &nl, where, err) != 0 ||
      jwks__b64_member(jwk, "e", e, sizeof e, &el, where, err) != 0)
    goto done;
  if (nl * 8 < HD_JWS_RSA_MIN_BITS) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "%s: the RSA key has %zu bits; at least %d are needed",
               where, nl * 8, HD_JWS_RSA_MIN_BITS);
    goto done;
  }
  bn = BN_bin2bn(n, (int)nl, NULL);
  be = BN_bin2bn(e, (int)el, NULL);
  bld = OSSL_PARAM_BLD_new();
  if (!bn || !be || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
      !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
      !(params = OSSL_PARAM_BLD_to_param(bld)) || jwks__fromdata("RSA", params, out) != 0) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "%s: not a valid RSA public key", where);
    goto done;
  }
  rc = 0;
done:
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn);
  BN_free(be);
  return rc;
}

static int jwks__ec(const json_t *jwk, const char *where, EVP_PKEY **out, hd_err *err) {
  int rc = -1;
  unsigned char pt[1 + 2 * JWKS_EC_COORD], buf[JWKS_EC_COORD + 8];
  size_t xl = 0, yl = 0;
  const char *crv = NULL;
  OSSL_PARAM_BLD *bld = NULL;
  OSSL_PARAM *params = NULL;
  hd_err jerr = {0};
  if (hd_json_get_str(jwk, "crv", &crv, NULL, &jerr) != 0 || strcmp(crv, "P-256") != 0) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "%s: an EC key must have \"crv\":\"P-256\"", where);
    goto done;
  }
  pt[0] = 0x04; /* uncompressed point: 04 || x || y */
  if (jwks__b64_member(jwk, "x", buf, sizeof buf, &xl, where, err) != 0) goto done;
  memcpy(pt + 1, buf, xl <= JWKS_EC_COORD ? xl : 0);
  if (jwks__b64_member(jwk, "y", buf, sizeof buf, &yl, where, err) != 0) goto done;
  memcpy(pt + 1 + JWKS_EC_COORD, buf, yl <= JWKS_EC_COORD ? yl : 0);
  if (xl != JWKS_EC_COORD || yl != JWKS_EC_COORD) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "%s: P-256 \"x\" and \"y\" must be 32 bytes each", where);
    goto done;
  }
  bld = OSSL_PARAM_BLD_new();
  if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof pt) ||
      !(params = OSSL_PARAM_BLD_to_param(bld)) || jwks__fromdata("EC", params, out) != 0) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "%s: not a valid P-256 public key (a point on the curve)",
               where);
    goto done;
  }
  rc = 0;
done:
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  return rc;
}

/* One JWK into set (skipped, returning 0, when it is not a signing key of ours). */
static int jwks__add(jwks__set *set, const json_t *jwk, const char *file, size_t index,
                     hd_err *err) {
  char where[JWKS_PATH_MAX + 64];
  const char *kty = NULL, *kid = NULL, *use = NULL, *alg = NULL;
  size_t kid_len = 0;
  hd_err jerr = {0};
  snprintf(where, sizeof where, "JWKS %s, key %zu", file, index + 1);
  if (!json_is_object(jwk))
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s is not a JSON object", where);
  if (hd_json_get_str(jwk, "kty", &kty, NULL, &jerr) != 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s has no \"kty\"", where);
  if (hd_json_get_opt_str(jwk, "use", &use, NULL, &jerr) != 0 ||
      hd_json_get_opt_str(jwk, "alg", &alg, NULL, &jerr) != 0 ||
      hd_json_get_opt_str(jwk, "kid", &kid, &kid_len, &jerr) != 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s: %s", where, jerr.msg);
  const bool rsa = strcmp(kty, "RSA") == 0, ec = strcmp(kty, "EC") == 0;
  const hd_jws_alg a = alg ? hd_jws_alg_parse(alg) : 0;
  if ((!rsa && !ec) || (use && strcmp(use, "sig") != 0) || (alg && a != HD_JWS_RS256 && rsa) ||
      (alg && a != HD_JWS_ES256 && ec))
    return 0; /* an encryption key, another key type or another algorithm: not for us */
  if (!kid || kid_len == 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s has no \"kid\"; tokens select keys by kid",
                      where);
  if (kid_len > HD_JWKS_KID_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s: \"kid\" is longer than %u bytes", where,
                      HD_JWKS_KID_MAX);
  for (size_t i = 0; i < set->n; i++)
    if (set->keys[i].kid_len == kid_len && memcmp(set->keys[i].kid, kid, kid_len) == 0)
      return hd_err_set(err, HD_INVALID_ARGUMENT, "%s: kid \"%.*s\" appears twice in the JWKS",
                        where, (int)(kid_len > 64 ? 64 : kid_len), kid);
  if (set->n == HD_JWKS_KEYS_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s: the JWKS holds more than %u keys", where,
                      HD_JWKS_KEYS_MAX);
  jwks__key *k = &set->keys[set->n];
  if ((rsa ? jwks__rsa(jwk, where, &k->pkey, err) : jwks__ec(jwk, where, &k->pkey, err)) != 0)
    return -1;
  memcpy(k->kid, kid, kid_len);
  k->kid[kid_len] = '\0';
  k->kid_len = kid_len;
  k->alg = a;
  set->n++;
  return 0;
}

/* The keys of one file: a JWKS object {"keys":[...]} or a single JWK. */
static int jwks__load_file(jwks__set *set, const char *file, hd_err *err) {
  static const hd_json_limits lim = {.max_bytes = HD_JWKS_FILE_MAX, .max_depth = 4};
  int rc = -1;
  char *text = NULL;
  json_t *doc = NULL;
  hd_err jerr = {0};
  FILE *f = fopen(file, "rb");
  if (!f) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "cannot read the JWKS %s: %s", file, strerror(errno));
    goto done;
  }
  text = malloc(HD_JWKS_FILE_MAX + 1);
  if (!text) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading the JWKS %s", file);
    goto done;
  }
  size_t n = fread(text, 1, HD_JWKS_FILE_MAX + 1, f);
  if (ferror(f) || n > HD_JWKS_FILE_MAX) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "the JWKS %s is unreadable or larger than %u bytes", file,
               HD_JWKS_FILE_MAX);
    goto done;
  }
  if (hd_json_parse_object(text, n, &lim, &doc, &jerr) != 0) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "the JWKS %s is not a JSON object: %s", file, jerr.msg);
    goto done;
  }
  const json_t *keys = json_object_get(doc, "keys");
  if (keys && !json_is_array(keys)) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "the JWKS %s: \"keys\" is not an array", file);
    goto done;
  }
  if (!keys) {
    if (jwks__add(set, doc, file, 0, err) != 0) goto done;
  } else {
    for (size_t i = 0; i < json_array_size(keys); i++)
      if (jwks__add(set, json_array_get(keys, i), file, i, err) != 0) goto done;
  }
  rc = 0;
done:
  json_decref(doc);
  free(text);
  if (f) fclose(f);
  return rc;
}

/* Every key at path. Caller frees *out with jwks__set_free(). */
static int jwks__load(const char *path, jwks__set **out, hd_err *err) {
  int rc = -1;
  struct stat st;
  struct dirent **names = NULL;
  size_t n = 0;
  char file[JWKS_PATH_MAX];
  jwks__set *set = calloc(1, sizeof *set);
  if (!set) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading the JWKS");
  if (stat(path, &st) != 0) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "cannot read the JWKS %s: %s", path, strerror(errno));
    goto done;
  }
  if (!S_ISDIR(st.st_mode)) {
    if (jwks__load_file(set, path, err) != 0) goto done;
  } else {
    if (jwks__scan(path, &names, &n, err) != 0) goto done;
    if (n > HD_JWKS_FILES_MAX) {
      hd_err_set(err, HD_INVALID_ARGUMENT, "the JWKS directory %s holds more than %u *.json files",
                 path, HD_JWKS_FILES_MAX);
      goto done;
    }
    for (size_t i = 0; i < n; i++) {
      snprintf(file, sizeof file, "%s/%s", path, names[i]->d_name);
      if (jwks__load_file(set, file, err) != 0) goto done;
    }
  }
  if (set->n == 0) {
    hd_err_set(err, HD_INVALID_ARGUMENT,
               "the JWKS %s holds no RSA or EC P-256 signing key (kty RSA or EC, use sig)", path);
    goto done;
  }
  *out = set;
  set = NULL;
  rc = 0;
done:
  jwks__scan_free(names, n);
  jwks__set_free(set);
  return rc;
}

/* ---- public ---- */

int hd_jwks_open(const char *path, int64_t recheck_s, int64_t now_s, hd_jwks **out, hd_err *err) {
  hd_jwks *j = NULL;
  if (!path || !path[0] || strlen(path) >= JWKS_PATH_MAX - 256)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "the JWKS path is empty or too long");
  if (recheck_s < 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "the JWKS recheck interval must not be negative");
  j = calloc(1, sizeof *j);
  if (!j) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory opening the JWKS");
  snprintf(j->path, sizeof j->path, "%s", path);
  j->recheck_s = recheck_s;
  j->checked_s = now_s;
  if (jwks__stamp(path, &j->stamp, err) != 0 || jwks__load(path, &j->set, err) != 0) {
    jwks__set_free(j->set);
    free(j);
    return -1;
  }
  if (pthread_mutex_init(&j->mu, NULL) != 0) {
    jwks__set_free(j->set);
    free(j);
    return hd_err_set(err, HD_INTERNAL, "cannot create the JWKS mutex");
  }
  j->loads = 1;
  *out = j;
  return 0;
}

void hd_jwks_free(hd_jwks *jwks) {
  if (!jwks) return;
  jwks__set_free(jwks->set);
  pthread_mutex_destroy(&jwks->mu);
  free(jwks);
}

/* Re-reads the source when it changed since the last look. Called with jwks->mu held. */
static void jwks__refresh(hd_jwks *j, int64_t now_s) {
  uint64_t stamp = 0;
  jwks__set *set = NULL;
  hd_err err = {0};
  char keys[24];
  if (now_s >= j->checked_s && now_s - j->checked_s < j->recheck_s) return;
  j->checked_s = now_s;
  if (jwks__stamp(j->path, &stamp, &err) != 0 || stamp == j->stamp) {
    if (err.code != HD_OK)
      hd_log_warn("auth.jwks_reload_failed", "reason", err.msg, "then", "keeping the loaded keys");
    return;
  }
  j->stamp = stamp; /* read a changed source once, whether or not it reads well */
  if (jwks__load(j->path, &set, &err) != 0) {
    hd_log_warn("auth.jwks_reload_failed", "reason", err.msg, "then", "keeping the loaded keys");
    return;
  }
  jwks__set_free(j->set);
  j->set = set;
  j->loads++;
  snprintf(keys, sizeof keys, "%zu", set->n);
  hd_log_info("auth.jwks_reloaded", "path", j->path, "keys", keys);
}

int hd_jwks_key(hd_jwks *jwks, const char *kid, size_t kid_len, hd_jws_alg alg, int64_t now_s,
                EVP_PKEY **out, hd_err *err) {
  int rc = -1;
  const int shown = (int)(kid_len > 64 ? 64 : kid_len);
  pthread_mutex_lock(&jwks->mu);
  jwks__refresh(jwks, now_s);
  const jwks__key *k = NULL;
  for (size_t i = 0; i < jwks->set->n && !k; i++)
    if (jwks->set->keys[i].kid_len == kid_len && memcmp(jwks->set->keys[i].kid, kid, kid_len) == 0)
      k = &jwks->set->keys[i];
  if (!k) {
    hd_err_set(err, HD_UNAUTHENTICATED,
               "token key id (kid) \"%.*s\" is not in the JWKS (HELPDESK_AUTH_JWKS); if the "
               "identity provider has rotated its keys, update the JWKS",
               shown, kid);
    goto done;
  }
  const char *why = hd_jws_key_mismatch(k->pkey, alg);
  if (why || (k->alg && k->alg != alg)) {
    hd_err_set(err, HD_UNAUTHENTICATED, "token key \"%.*s\" does not fit %s: %s", shown, kid,
               hd_jws_alg_name(alg), why ? why : "the key is for another algorithm");
    goto done;
  }
  if (EVP_PKEY_up_ref(k->pkey) != 1) {
    hd_err_set(err, HD_INTERNAL, "cannot take a reference to the token key");
    goto done;
  }
  *out = k->pkey;
  rc = 0;
done:
  pthread_mutex_unlock(&jwks->mu);
  return rc;
}

size_t hd_jwks_count(hd_jwks *jwks) {
  pthread_mutex_lock(&jwks->mu);
  size_t n = jwks->set->n;
  pthread_mutex_unlock(&jwks->mu);
  return n;
}

unsigned long hd_jwks_loads(hd_jwks *jwks) {
  pthread_mutex_lock(&jwks->mu);
  unsigned long n = jwks->loads;
  pthread_mutex_unlock(&jwks->mu);
  return n;
}

/* BIGNUM param name of key, padded to pad bytes (0: its own length), as base64url into out. */
static int jwks__bn_b64(EVP_PKEY *key, const char *name, size_t pad, char *out, size_t size) {
  int rc = -1;
  BIGNUM *bn = NULL;
  unsigned char buf[JWKS_RSA_MAX];
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) goto done;
  int n = pad ? BN_bn2binpad(bn, buf, (int)pad) : BN_bn2bin(bn, buf);
  if (n <= 0 || (size_t)n > sizeof buf) goto done;
  rc = hd_b64url_encode(buf, (size_t)n, out, size, NULL);
done:
  BN_free(bn);
  return rc;
}

int hd_jwk_public(EVP_PKEY *key, const char *kid, char **out, hd_err *err) {
  int rc = -1;
  char a[1400], b[1400];
  json_t *jwk = NULL;
  json_error_t je;
  const bool rsa = hd_jws_key_mismatch(key, HD_JWS_RS256) == NULL;
  const bool ec = hd_jws_key_mismatch(key, HD_JWS_ES256) == NULL;
  if (!kid || !kid[0] || strlen(kid) > HD_JWKS_KID_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "a JWK needs a kid of 1 to %u bytes",
                      HD_JWKS_KID_MAX);
  if (rsa) {
    if (jwks__bn_b64(key, OSSL_PKEY_PARAM_RSA_N, 0, a, sizeof a) != 0 ||
        jwks__bn_b64(key, OSSL_PKEY_PARAM_RSA_E, 0, b, sizeof b) != 0)
      return hd_err_set(err, HD_INTERNAL, "cannot read the RSA key's n and e");
    jwk = json_pack_ex(&je, 0, "{s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "kid", kid, "use",
                       "sig", "alg", "RS256", "n", a, "e", b);
  } else if (ec) {
    if (jwks__bn_b64(key, OSSL_PKEY_PARAM_EC_PUB_X, JWKS_EC_COORD, a, sizeof a) != 0 ||
        jwks__bn_b64(key, OSSL_PKEY_PARAM_EC_PUB_Y, JWKS_EC_COORD, b, sizeof b) != 0)
      return hd_err_set(err, HD_INTERNAL, "cannot read the EC key's x and y");
    jwk = json_pack_ex(&je, 0, "{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kty", "EC", "kid", kid,
                       "use", "sig", "alg", "ES256", "crv", "P-256", "x", a, "y", b);
  } else {
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "the key is neither RSA (2048 bits or more) nor EC P-256");
  }
  if (!jwk) return hd_json_pack_failed(&je, "the JWK", err);
  const hd_json_limits lim = {.max_bytes = 8192, .max_depth = 1};
  rc = hd_json_dump(jwk, &lim, out, NULL, err);
  json_decref(jwk);
  return rc;
}
