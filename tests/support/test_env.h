/* What the integration tests need to reach the real servers scripts/test.sh started. */
#ifndef HD_TEST_ENV_H
#define HD_TEST_ENV_H

#include "db/db.h"
#include "kv/kv.h"

/* Fills cfg from HELPDESK_DB_* (as scripts/servers.sh prints them) with database `database`.
 * Strings are borrowed from the environment. */
void hd_test_db_config(hd_db_config *cfg, const char *database);

/* Fills cfg from HELPDESK_REDIS_*. */
void hd_test_kv_config(hd_kv_config *cfg);

/* A name unique to this process and call, for databases, streams and keys:
 * "<prefix>_<pid>_<counter>" written into buf. */
const char *hd_test_unique(char *buf, size_t size, const char *prefix);

/* A loopback TCP port nothing listens on (bound to port 0, read, released); 0 on failure. For
 * "the server is down" tests: point a client there. */
int hd_test_free_port(void);

#endif
