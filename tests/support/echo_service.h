/* A whole service on the shared runtime (hd_svc_start) whose methods are the test protos'
 * hdtest.v1.RpcTest: for tests of what the runtime does around real handlers (metrics, logs,
 * TLS) while the product services' RPCs are still being written. Its database has no tables. */
#ifndef HD_TEST_ECHO_SERVICE_H
#define HD_TEST_ECHO_SERVICE_H

#include "rpctest.pb-c.h"
#include "svc/service.h"

/* Echo (needs a token; sleeps sleep_ms, fails with fail_code when set), SupervisorOnly (needs the
 * supervisor role), PublicEcho (no token), NotBuilt (no handler: UNIMPLEMENTED), Flaky (counts
 * the attempts of each key and fails or sleeps through the first ones; says what it saw). */
extern const hd_service_def hd_test_echo_def;

#define HD_TEST_ECHO            "/hdtest.v1.RpcTest/Echo"
#define HD_TEST_SUPERVISOR_ONLY "/hdtest.v1.RpcTest/SupervisorOnly"
#define HD_TEST_PUBLIC_ECHO     "/hdtest.v1.RpcTest/PublicEcho"
#define HD_TEST_NOT_BUILT       "/hdtest.v1.RpcTest/NotBuilt"
#define HD_TEST_FLAKY           "/hdtest.v1.RpcTest/Flaky"

/* Distinct Flaky keys counted; past it Flaky answers RESOURCE_EXHAUSTED. */
#define HD_TEST_FLAKY_KEYS 256

/* How many Flaky attempts the running echo service env has seen with key (0 when none). */
int hd_test_echo_attempts(hd_svc_env *env, const char *key);

#endif
