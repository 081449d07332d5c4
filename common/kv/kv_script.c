/* Lua scripts: EVALSHA by the script's SHA-1, falling back to EVAL when Redis's script cache
 * does not have it (after a restart or SCRIPT FLUSH). */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "kv/kv_internal.h"

/* The script's SHA-1 in lowercase hex, as Redis names it. */
static int kv__sha1_hex(const char *script, char hex[41], hd_err *err) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  if (EVP_Digest(script, strlen(script), md, &md_len, EVP_sha1(), NULL) != 1 || md_len != 20)
    return hd_err_set(err, HD_INTERNAL, "cannot compute the SHA-1 of a redis script");
  static const char digits[] = "0123456789abcdef";
  for (unsigned i = 0; i < md_len; i++) {
    hex[2 * i] = digits[md[i] >> 4];
    hex[2 * i + 1] = digits[md[i] & 0x0f];
  }
  hex[40] = '\0';
  return 0;
}

static bool kv__is_noscript(const redisReply *r) {
  return r->type == REDIS_REPLY_ERROR && r->len >= 8 && memcmp(r->str, "NOSCRIPT", 8) == 0;
}

int kv_eval(hd_kv *kv, const char *script, int nkeys, const char *const *args, const size_t *lens,
            int n, bool idempotent, redisReply **out, hd_err *err) {
  int rc = -1;
  char sha[41];
  char nkeys_buf[KV_I64_BUF];
  const char *argv[3 + KV_EVAL_MAX_ARGS];
  size_t argvlen[3 + KV_EVAL_MAX_ARGS];
  *out = NULL;
  if (n < 0 || n > KV_EVAL_MAX_ARGS || nkeys < 0 || nkeys > n) {
    hd_err_set(err, HD_INTERNAL, "a redis script was given %d arguments (%d keys)", n, nkeys);
    goto done;
  }
  if (kv__sha1_hex(script, sha, err) != 0) goto done;
  argv[0] = "EVALSHA";
  argvlen[0] = 7;
  argv[1] = sha;
  argvlen[1] = 40;
  argv[2] = nkeys_buf;
  argvlen[2] = kv_fmt_i64(nkeys_buf, nkeys);
  for (int i = 0; i < n; i++) {
    argv[3 + i] = args[i];
    argvlen[3 + i] = lens[i];
  }
  if (kv_call(kv, 3 + n, argv, argvlen, idempotent, 0, out, err) != 0) goto done;
  if (kv__is_noscript(*out)) {
    freeReplyObject(*out);
    *out = NULL;
    argv[0] = "EVAL";
    argvlen[0] = 4;
    argv[1] = script;
    argvlen[1] = strlen(script);
    if (kv_call(kv, 3 + n, argv, argvlen, idempotent, 0, out, err) != 0) goto done;
  }
  rc = 0;
done:
  return rc;
}
