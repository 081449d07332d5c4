/* "host:port" lists (see hostport.h). */
#include "core/hostport.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void hd_hostport_list_free(hd_hostport_list *l) {
  if (!l) return;
  for (size_t i = 0; i < l->n; i++) free(l->host[i]);
  *l = (hd_hostport_list){0};
}

/* One "host:port" or "[v6]:port" of len bytes at s into l's next slot. */
static int hostport__one(const char *setting, const char *entry, const char *s, size_t len,
                         hd_hostport_list *l, hd_err *err) {
  const char *colon = NULL;
  for (size_t i = len; i > 0; i--)
    if (s[i - 1] == ':') {
      colon = s + i - 1;
      break;
    }
  const char *host = s;
  size_t host_len = colon ? (size_t)(colon - s) : 0;
  if (host_len >= 2 && host[0] == '[' && host[host_len - 1] == ']') {
    host++;
    host_len -= 2;
  }
  char port_text[8] = "";
  const size_t port_len = colon ? len - (size_t)(colon - s) - 1 : 0;
  if (port_len > 0 && port_len < sizeof port_text) memcpy(port_text, colon + 1, port_len);
  char *end = NULL;
  errno = 0;
  const long port = port_text[0] ? strtol(port_text, &end, 10) : 0;
  if (host_len == 0 || host_len > HD_HOSTPORT_HOST_MAX || !end || *end || errno || port < 1 ||
      port > 65535)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s: '%.*s' is not host:port (port 1..65535)",
                      setting, (int)(len > 80 ? 80 : len), s);
  if (l->n == HD_HOSTPORT_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s: more than %u %ss", setting, HD_HOSTPORT_MAX,
                      entry);
  if (!(l->host[l->n] = strndup(host, host_len)))
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading %s", setting);
  l->port[l->n++] = (unsigned)port;
  return 0;
}

int hd_hostport_list_parse(const char *setting, const char *entry, const char *list,
                           hd_hostport_list *out, hd_err *err) {
  *out = (hd_hostport_list){0};
  if (strlen(list) >= HD_HOSTPORT_TEXT)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s is longer than %d bytes", setting,
                      HD_HOSTPORT_TEXT - 1);
  for (const char *p = list; *p;) {
    const char *comma = strchr(p, ',');
    const size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (hostport__one(setting, entry, p, len, out, err) != 0) {
      hd_hostport_list_free(out);
      return -1;
    }
    p += len;
    if (*p == ',') p++;
  }
  if (out->n == 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s names no %s (host:port,...)", setting, entry);
  memcpy(out->text, list, strlen(list) + 1);
  return 0;
}
