/* Several MariaDB nodes for one handle (HELPDESK_DB_NODES="h1:p1,h2:p2,h3:p3", a Galera cluster
 * without a Service in front): the handle uses one node; when its connection is lost it moves to
 * the next node that answers and is ready (wsrep_ready ON, or not a Galera node at all), trying
 * each node once per connect, the one it lost last. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db_internal.h"

#define DB_NODES_MAX     16u  /* nodes in a list */
#define DB_NODES_TEXT    2048 /* bytes of the list's text */
#define DB_NODE_HOST_MAX 255u /* bytes of one node's host */

struct db_nodes {
  size_t n;
  char *host[DB_NODES_MAX]; /* owned */
  unsigned port[DB_NODES_MAX];
  size_t current; /* the node of the last connection */
  bool connected; /* a connection was made before: the next connect starts after current */
  char text[DB_NODES_TEXT]; /* the list as given, for messages */
};

void db_nodes_free(db_nodes *nodes) {
  if (!nodes) return;
  for (size_t i = 0; i < nodes->n; i++) free(nodes->host[i]);
  free(nodes);
}

/* One "host:port" or "[v6]:port" of len bytes at s into nodes' next slot. */
static int db_nodes__one(db_nodes *nodes, const char *s, size_t len, hd_err *err) {
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
  if (host_len == 0 || host_len > DB_NODE_HOST_MAX || !end || *end || errno || port < 1 ||
      port > 65535)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "HELPDESK_DB_NODES: '%.*s' is not host:port (port 1..65535)",
                      (int)(len > 80 ? 80 : len), s);
  if (nodes->n == DB_NODES_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "HELPDESK_DB_NODES: more than %u nodes",
                      DB_NODES_MAX);
  char *copy = strndup(host, host_len);
  if (!copy) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading the DB nodes");
  nodes->host[nodes->n] = copy;
  nodes->port[nodes->n] = (unsigned)port;
  nodes->n++;
  return 0;
}

int db_nodes_new(const char *list, db_nodes **out, hd_err *err) {
  int rc = -1;
  *out = NULL;
  db_nodes *nodes = calloc(1, sizeof *nodes);
  if (!nodes) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading the DB nodes");
  const size_t total = strlen(list);
  if (total >= sizeof nodes->text) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "HELPDESK_DB_NODES is longer than %d bytes",
               DB_NODES_TEXT - 1);
    goto done;
  }
  memcpy(nodes->text, list, total + 1);
  for (const char *p = list; *p;) {
    const char *comma = strchr(p, ',');
    const size_t len = comma ? (size_t)(comma - p) : strlen(p);
    if (db_nodes__one(nodes, p, len, err) != 0) goto done;
    p += len;
    if (*p == ',') p++;
  }
  if (nodes->n == 0) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "HELPDESK_DB_NODES names no node (host:port,...)");
    goto done;
  }
  *out = nodes;
  nodes = NULL;
  rc = 0;
done:
  db_nodes_free(nodes);
  return rc;
}

/* True when the connected node may serve the application: Galera is off there (wsrep_on OFF, or
 * a server without it), or wsrep_ready is ON. A node that is joining, donating without being
 * ready, or cut off from the primary component says OFF. */
static bool db_nodes__ready(MYSQL *m) {
  static const char sql[] =
      "SELECT @@GLOBAL.wsrep_on, (SELECT variable_value FROM information_schema.global_status "
      "WHERE variable_name = 'WSREP_READY')";
  if (mysql_real_query(m, sql, sizeof sql - 1) != 0) return mysql_errno(m) == DB_ER_UNKNOWN_VAR;
  MYSQL_RES *res = mysql_store_result(m);
  if (!res) return false;
  MYSQL_ROW row = mysql_fetch_row(res);
  const bool ready =
      row && (!row[0] || strcmp(row[0], "0") == 0 || (row[1] && strcmp(row[1], "ON") == 0));
  mysql_free_result(res);
  return ready;
}

int db_nodes_connect(hd_db *db, db_connect_fn connect, hd_err *err) {
  db_nodes *nodes = db->nodes;
  const size_t start = nodes->connected ? (nodes->current + 1) % nodes->n : nodes->current;
  char last[HD_ERR_MSG_MAX] = "";
  for (size_t k = 0; k < nodes->n; k++) {
    const size_t i = (start + k) % nodes->n;
    char *host = strdup(nodes->host[i]);
    if (!host) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory connecting");
    free(db->host);
    db->host = host;
    db->port = nodes->port[i];
    hd_err_clear(err);
    if (connect(db, err) != 0) {
      snprintf(last, sizeof last, "%s", err->msg);
      continue;
    }
    if (!db_nodes__ready(db->m)) {
      snprintf(last, sizeof last, "node %s:%u is not ready (wsrep_ready is not ON)", db->host,
               db->port);
      db_drop(db);
      continue;
    }
    nodes->current = i;
    nodes->connected = true;
    return 0;
  }
  /* Next time, start over from the node after the last one tried. */
  nodes->current = (start + nodes->n - 1) % nodes->n;
  nodes->connected = true;
  return hd_err_set(err, HD_UNAVAILABLE, "database unavailable: no node of %s is ready; last: %s",
                    nodes->text, last);
}
