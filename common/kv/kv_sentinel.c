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

#include "core/hostport.h"
#include "kv/kv_internal.h"

#define KV_MASTER_NAME_MX 128u /* bytes of the primary's name */

struct kv_sentinel {
  hd_hostport_list list;
  size_t current; /* the Sentinel that answered last: asked first */
  char master[KV_MASTER_NAME_MX + 1];
  char *user, *password; /* owned; password NULL: no AUTH */
};

void kv_sentinel_free(kv_sentinel *s) {
  if (!s) return;
  hd_hostport_list_free(&s->list);
  free(s->user);
  free(s->password);
  free(s);
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
  const size_t name_len = strlen(name);
  if (name_len > KV_MASTER_NAME_MX || strpbrk(name, " \t\r\n")) {
    hd_err_set(err, HD_INVALID_ARGUMENT,
               "HELPDESK_REDIS_MASTER_NAME must be 1 to %u bytes without white space",
               KV_MASTER_NAME_MX);
    goto done;
  }
  memcpy(s->master, name, name_len + 1);
  if (hd_hostport_list_parse("HELPDESK_REDIS_SENTINELS", "Sentinel", list, &s->list, err) != 0)
    goto done;
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
  redisContext *c = redisConnectWithTimeout(s->list.host[i], (int)s->list.port[i], tv);
  if (!c || c->err) {
    snprintf(why, HD_ERR_MSG_MAX, "Sentinel %s:%u: %s", s->list.host[i], s->list.port[i],
             c ? c->errstr : "out of memory");
    goto done;
  }
  if (redisSetTimeout(c, tv) != REDIS_OK) {
    snprintf(why, HD_ERR_MSG_MAX, "Sentinel %s:%u: cannot set the timeout", s->list.host[i],
             s->list.port[i]);
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
               s->list.host[i], s->list.port[i], auth[1], r ? r->str : c->errstr);
      goto done;
    }
    freeReplyObject(r);
    r = NULL;
  }
  const char *argv[] = {"SENTINEL", "get-master-addr-by-name", s->master};
  r = redisCommandArgv(c, 3, argv, NULL);
  if (!r) {
    snprintf(why, HD_ERR_MSG_MAX, "Sentinel %s:%u: %s", s->list.host[i], s->list.port[i],
             c->errstr);
    goto done;
  }
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
      r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_STRING) {
    snprintf(why, HD_ERR_MSG_MAX, "Sentinel %s:%u knows no primary named '%s'%s%.100s",
             s->list.host[i], s->list.port[i], s->master, r->type == REDIS_REPLY_ERROR ? ": " : "",
             r->type == REDIS_REPLY_ERROR ? r->str : "");
    goto done;
  }
  char *end = NULL;
  errno = 0;
  const long p = strtol(r->element[1]->str, &end, 10);
  if (errno || !end || *end || p < 1 || p > 65535 || r->element[0]->len == 0 ||
      r->element[0]->len > HD_HOSTPORT_HOST_MAX) {
    snprintf(why, HD_ERR_MSG_MAX, "Sentinel %s:%u answered an address that is not host:port",
             s->list.host[i], s->list.port[i]);
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
  for (size_t k = 0; k < s->list.n; k++) {
    const size_t i = (s->current + k) % s->list.n;
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
                    s->list.text, s->master, why);
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
