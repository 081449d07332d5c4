/* Lists of "host:port" settings (HELPDESK_DB_NODES, HELPDESK_REDIS_SENTINELS): one parser for
 * every module that takes several servers. */
#ifndef HD_CORE_HOSTPORT_H
#define HD_CORE_HOSTPORT_H

#include <stddef.h>

#include "core/err.h"

#define HD_HOSTPORT_MAX      16u  /* entries in a list */
#define HD_HOSTPORT_HOST_MAX 255u /* bytes of one host */
#define HD_HOSTPORT_TEXT     2048 /* bytes of a list's text, its NUL included */

typedef struct hd_hostport_list {
  size_t n;
  char *host[HD_HOSTPORT_MAX]; /* owned */
  unsigned port[HD_HOSTPORT_MAX];
  char text[HD_HOSTPORT_TEXT]; /* the list as given, for messages */
} hd_hostport_list;

/* Parses list, "h1:p1,h2:p2,..." ("[v6]:port" too; the last ':' separates the port), into *out
 * (zeroed first; its text the list as given): 1 to HD_HOSTPORT_MAX entries, each a host of 1 to
 * HD_HOSTPORT_HOST_MAX bytes and a port 1..65535. setting and entry name the setting and one of its
 * entries in messages (entry in the singular; "s" makes the plural), e.g. ("HELPDESK_DB_NODES",
 * "node"): INVALID_ARGUMENT "HELPDESK_DB_NODES: 'h:0' is not host:port (port 1..65535)", "... more
 * than 16 nodes", "... names no node (host:port,...)", "... is longer than 2047 bytes";
 * RESOURCE_EXHAUSTED out of memory. On failure *out holds nothing. Free with hd_hostport_list_free.
 */
int hd_hostport_list_parse(const char *setting, const char *entry, const char *list,
                           hd_hostport_list *out, hd_err *err);

/* Frees the hosts and empties l. NULL is a no-op. */
void hd_hostport_list_free(hd_hostport_list *l);

#endif
