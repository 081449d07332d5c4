/* Redis through Sentinel (HELPDESK_REDIS_SENTINELS, HELPDESK_REDIS_MASTER_NAME): hiredis has no
 * Sentinel support, so this is the discovery step only. At each connect the handle asks the
 * Sentinels, in turn, SENTINEL get-master-addr-by-name, connects to the answer and checks with
 * ROLE that it is a primary; kv.c connects anew after a connection error or a READONLY reply,
 * which is how it follows a failover (Sentinel's own job). Fencing tokens stay correct across a
 * failover that lost writes, because the database refuses a fence that is not above the one it
 * stores (kv_queue.c, kv_lease.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "kv/kv_internal.h"

#define KV_SENTINELS_MAX  16u  /* Sentinels in a list */
#define KV_SENTINEL_TEXT  2048 /* bytes of the list's text */
#define KV_SENTINEL_HOST  255u /* bytes of one host */
#define KV_MASTER_NAME_MX 128u /* bytes of the primary's name */

struct kv_sentinel {
  size_t n;
  char *host[KV_SENTINELS_MAX]; /* owned */
  unsigned port[KV_SENTINELS_MAX];
  size_t current; /* the Sentinel that answered last: asked first */
  char master[KV_MASTER_NAME_MX + 1];
  char text[KV_SENTINEL_TEXT]; /* the list as given, for messages */
  char *user, *password;       /* owned; password NULL: no AUTH */
};

void kv_sentinel_free(kv_sentinel *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n; i++) free(s->host[i]);
  free(s->user);
  free(s->password);
  free(s);
}

/* One "host:port" or "[v6]:port" of len bytes at p into s's next slot. */
static int kv_sentinel__one(kv_sentinel *s, const char *p, size_t len, hd_err *err) {
  const char *colon = NULL;
  for (size_t i = len; i > 0; i--)
    if (p[i - 1] == ':') {
      colon = p + i - 1;
      break;
    }
  const char *host = p;
  size_t host_len = colon ? (size_t)(colon - p) : 0;
  if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
    host++;
    host_len -= 2;
  }
  char port_text[8] = "";
  const size_t port_len = colon ? len - (size_t)(colon - p) - 1 : 0;
  if (port_len > 0 && port_len < sizeof port_text) memcpy(port_text, colon + 1, port_len);
  char *end = NULL;
  errno = 0;
  const long port = port_text[0] ? strtol(port_text, &end, 10) : 0;
  if (host_len == 0 || host_len > KV_SENTINEL_HOST || !end || *end || errno || port < 1 ||
      port > 65535)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "HELPDESK_REDIS_SENTINELS: '%.*s' is not host:port (port 1..65535)",
                      (int)(len > 80 ? 80 : len), p);
  if (s->n == KV_SENTINELS_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "HELPDESK_REDIS_SENTINELS: more than %u",
                      KV_SENTINELS_MAX);
  if (!(s->host[s->n] = strndup(host, host_len)))
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading the Sentinels");
  s->port[s->n++] = (unsigned)port;
  return 0;
}

int kv_sentinel_new(const char *list, const char *master, const char *user, const char *password,
                    kv_sentinel **out, hd_err *err) {
  int rc = -1;
  *out = NULL;
  kv_sentinel *s = calloc(1, sizeof *s);
  if (!s) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading the Sentinels");
  if ((password && password[0] && !(s->password = strdup(password))) ||
      (user && user[0] && !(s->user = strdup(user)))) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading the Sentinels' login");
    goto done;
  }
  const char *name = master && master[0] ? master : "helpdesk";
  const size_t total = strlen(list), name_len = strlen(name);
  if (total >= sizeof s->text) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "HELPDESK_REDIS_SENTINELS is longer than %d bytes",
               KV_SENTINEL_TEXT - 1);
    goto done;
  }
  if (name_len > KV_MASTER_NAME_MX || strpbrk(name, " \t\r\n")) {
    hd_err_set(err, HD_INVALID_ARGUMENT,
               "HELPDESK_REDIS_MASTER_NAME must be 1 to %u bytes without white space",
               KV_MASTER_NAME_MX);
    goto done;
  }
  memcpy(s->text, list, total + 1);
  memcpy(s->master, name, name_len + 1);
  for (const char *p = list; *p;) {
    const char *comma = strchr(p, ',');
    const size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (kv_sentinel__one(s, p, len, err) != 0) goto done;
    p += len;
    if (*p == ',') p++;
  }
  if (s->n == 0) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "HELPDESK_REDIS_SENTINELS names no Sentinel");
    goto done;
  }
  *out = s;
  s = NULL;
  rc = 0;
done:
  kv_sentinel_free(s);
  return rc;
}

/* Asks Sentinel i for the primary: *host (caller frees with free()) and *port. -1 with why in
 * why[HD_ERR_MSG_MAX] when it cannot say. */
static int kv_sentinel__ask(const kv_sentinel *s, size_t i, unsigned timeout_ms, char **host,
                            unsigned *port, char *why) {
  int rc = -1;
  redisReply *r = NULL;
  const struct timeval tv = {.tv_sec = (time_t)(timeout_ms / 1000u),
                             .tv_usec = (suseconds_t)((timeout_ms % 1000u) * 1000u)};
  redisContext *c = redisConnectWithTimeout(s->host[i], (int)s->port[i], tv);
  if (!c || c->err) {
    snprintf(why, HD_ERR_MSG_MAX, "Sentinel %s:%u: %s", s->host[i], s->port[i],
             c ? c->errstr : "out of memory");
    goto done;
  }
  if (redisSetTimeout(c, tv) != REDIS_OK) {
    snprintf(why, HD_ERR_MSG_MAX, "Sentinel %s:%u: cannot set the timeout", s->host[i], s->port[i]);
    goto done;
  }
  if (s->password) {
    const char *auth[] = {"AUTH", s->user ? s->user : "default", s->password};
    r = redisCommandArgv(c, 3, auth, NULL);
    if (!r || r->type == REDIS_REPLY_ERROR) {
      /* the password is never quoted */
      snprintf(why, HD_ERR_MSG_MAX,
               "Sentinel %s:%u refused the login of user %s: %.100s (check "
               "HELPDESK_REDIS_SENTINEL_USER and HELPDESK_REDIS_SENTINEL_PASSWORD)",
               s->host[i], s->port[i], auth[1], r ? r->str : c->errstr);
      goto done;
    }
    freeReplyObject(r);
    r = NULL;
  }
  const char *argv[] = {"SENTINEL", "get-master-addr-by-name", s->master};
  r = redisCommandArgv(c, 3, argv, NULL);
  if (!r) {
    snprintf(why, HD_ERR_MSG_MAX, "Sentinel %s:%u: %s", s->host[i], s->port[i], c->errstr);
    goto done;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
      r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING) {
    snprintf(why, HD_ERR_MSG_MAX, "Sentinel %s:%u knows no primary named '%s'%s%.100s", s->host[i],
             s->port[i], s->master, r->type == REDIS_REPLY_ERROR ? ": " : "",
             r->type == REDIS_REPLY_ERROR ? r->str : "");
    goto done;
  }
  char *end = NULL;
  errno = 0;
  const long p = strtol(r->element[1]->str, &end, 10);
  if (errno || !end || *end || p < 1 || p > 65535 || r->element[0]->len == 0 ||
      r->element[0]->len > KV_SENTINEL_HOST) {
    snprintf(why, HD_ERR_MSG_MAX, "Sentinel %s:%u answered an address that is not host:port",
             s->host[i], s->port[i]);
    goto done;
  }
  if (!(*host = strndup(r->element[0]->str, r->element[0]->len))) {
    snprintf(why, HD_ERR_MSG_MAX, "out of memory");
    goto done;
  }
  *port = (unsigned)p;
  rc = 0;
done:
  if (r) freeReplyObject(r);
  if (c) redisFree(c);
  return rc;
}

int kv_sentinel_primary(kv_sentinel *s, unsigned timeout_ms, char **host, unsigned *port,
                        hd_err *err) {
  char why[HD_ERR_MSG_MAX] = "";
  for (size_t k = 0; k < s->n; k++) {
    const size_t i = (s->current + k) % s->n;
    char *found = NULL;
    unsigned found_port = 0;
    if (kv_sentinel__ask(s, i, timeout_ms, &found, &found_port, why) != 0) continue;
    free(*host);
    *host = found;
    *port = found_port;
    s->current = i;
    return 0;
  }
  return hd_err_set(err, HD_UNAVAILABLE,
                    "redis unavailable: no Sentinel of %s named the primary '%s'; last: %s",
                    s->text, s->master, why);
}

int kv_sentinel_check_role(redisContext *c, const char *addr, hd_err *err) {
  const char *argv[] = {"ROLE"};
  redisReply *r = redisCommandArgv(c, 1, argv, NULL);
  const bool primary = r && r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
                       r->element[0]->type == REDIS_REPLY_STRING &&
                       strcmp(r->element[0]->str, "master") == 0;
  if (r) freeReplyObject(r);
  if (primary) return 0;
  return hd_err_set(err, HD_UNAVAILABLE,
                    "redis unavailable: %s, named by Sentinel, is not a primary (a failover is "
                    "under way)",
                    addr);
}

bool kv_sentinel_readonly(const redisReply *r) {
  return r->type == REDIS_REPLY_ERROR && r->str && strncmp(r->str, "READONLY", 8) == 0;
}
