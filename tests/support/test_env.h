/* What the integration tests need to reach the real servers scripts/test.sh started. */
#ifndef HD_TEST_ENV_H
#define HD_TEST_ENV_H

#include <stdbool.h>

#include "db/db.h"
#include "kv/kv.h"

/* Fills cfg from HELPDESK_DB_* (as scripts/servers.sh prints them) with database `database`.
 * Strings are borrowed from the environment. */
void hd_test_db_config(hd_db_config *cfg, const char *database);

/* Drops database `name` (a test's own, made by hd_test_unique) over a connection of its own,
 * if it exists. 0, or -1 with the reason on stderr (a tear-down goes on). */
int hd_test_drop_database(const char *name);

/* Fills cfg from HELPDESK_REDIS_* (hd_config_kv; a bad setting fails the test). */
void hd_test_kv_config(hd_kv_config *cfg);

/* A name unique to this process and call, for databases, streams and keys:
 * "<prefix>_<pid>_<counter>" written into buf. */
const char *hd_test_unique(char *buf, size_t size, const char *prefix);

/* A loopback TCP port nothing listens on (bound to port 0, read, released); 0 on failure. For
 * "the server is down" tests: point a client there. */
int hd_test_free_port(void);

/* An outage for "MariaDB and Redis are down" tests: the datastore settings a service reads
 * (HELPDESK_DB_PORT, _REDIS_PORT, _DB_SOCKET, _DB_HOST, _DB_PASSWORD) are saved, then MariaDB and
 * Redis are pointed over TCP at loopback ports where nothing listens (db_port, redis_port: start
 * servers there to end the outage). */
#define HD_TEST_OUTAGE_VARS 5
typedef struct hd_test_outage {
  int db_port, redis_port;
  char *saved[HD_TEST_OUTAGE_VARS];
} hd_test_outage;

/* Saves the settings and points them at nothing. 0, or -1 when no free port was found. */
int hd_test_outage_begin(hd_test_outage *o);

/* Restores the saved settings (unset ones are unset again) and frees the copies. */
void hd_test_outage_end(hd_test_outage *o);

/* A private redis-server on a free port, for tests that wipe Redis (FLUSHALL) or read a stream
 * every service writes (helpdesk:events:<svc>) and so must not share the suite's Redis with the
 * tests ctest runs beside them. */
typedef struct hd_test_redis {
  unsigned port;
  char pidfile[96];
  hd_kv *kv;        /* a connection to it, for the test's own commands */
  char *saved_host; /* HELPDESK_REDIS_HOST / _PORT before start (NULL: unset), put back by stop */
  char *saved_port;
  bool pointed; /* the settings point at it */
} hd_test_redis;

/* Starts it (redis-server --daemonize, no persistence), waits up to 10 s until it answers PING,
 * and points HELPDESK_REDIS_HOST and HELPDESK_REDIS_PORT at it, so services started afterwards
 * use it. 0, or -1 (stopped again, settings unchanged). */
int hd_test_redis_start(hd_test_redis *r);

/* An outage: SHUTDOWN NOSAVE and r->kv closed, while the port and the settings stay (services
 * keep pointing at it). A stopped or zeroed r is a no-op. */
void hd_test_redis_down(hd_test_redis *r);

/* After hd_test_redis_down: redis-server again on the same port (empty), r->kv connected once
 * it answers. 0, or -1 (also when r is not down). */
int hd_test_redis_up(hd_test_redis *r);

/* SHUTDOWN NOSAVE, closes r->kv and puts the Redis settings back. A stopped or zeroed r is a
 * no-op. */
void hd_test_redis_stop(hd_test_redis *r);

#endif
