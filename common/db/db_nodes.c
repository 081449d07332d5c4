/* Several MariaDB nodes for one handle (HELPDESK_DB_NODES="h1:p1,h2:p2,h3:p3", a Galera cluster
 * without a Service in front): the handle uses one node; when its connection is lost it moves to
 * the next node that answers and is ready (wsrep_ready ON, or not a Galera node at all), trying
 * each node once per connect, the one it lost last. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hostport.h"
#include "db/db_internal.h"

struct db_nodes {
  hd_hostport_list list;
  size_t current; /* the node of the last connection */
  bool connected; /* a connection was made before: the next connect starts after current */
};

void db_nodes_free(db_nodes *nodes) {
  if (!nodes) return;
  hd_hostport_list_free(&nodes->list);
  free(nodes);
}

int db_nodes_new(const char *list, db_nodes **out, hd_err *err) {
  *out = NULL;
  db_nodes *nodes = calloc(1, sizeof *nodes);
  if (!nodes) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading the DB nodes");
  if (hd_hostport_list_parse("HELPDESK_DB_NODES", "node", list, &nodes->list, err) != 0) {
    db_nodes_free(nodes);
    return -1;
  }
  *out = nodes;
  return 0;
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
  const size_t start = nodes->connected ? (nodes->current + 1) % nodes->list.n : nodes->current;
  char last[HD_ERR_MSG_MAX] = "";
  for (size_t k = 0; k < nodes->list.n; k++) {
    const size_t i = (start + k) % nodes->list.n;
    char *host = strdup(nodes->list.host[i]);
    if (!host) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory connecting");
    free(db->host);
    db->host = host;
    db->port = nodes->list.port[i];
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
  nodes->current = (start + nodes->list.n - 1) % nodes->list.n;
  nodes->connected = true;
  return hd_err_set(err, HD_UNAVAILABLE, "database unavailable: no node of %s is ready; last: %s",
                    nodes->list.text, last);
}
