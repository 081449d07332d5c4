/* A whole service on the shared runtime (hd_svc_start) whose methods are the test protos'
 * hdtest.v1.RpcTest: for tests of what the runtime does around real handlers (metrics, logs,
 * TLS) while the product services' RPCs are still being written. Its database has no tables. */
#ifndef HD_TEST_ECHO_SERVICE_H
#define HD_TEST_ECHO_SERVICE_H

#include "rpctest.pb-c.h"
#include "svc/service.h"

/* Echo (needs a token; sleeps sleep_ms, fails with fail_code when set), SupervisorOnly (needs the
 * supervisor role), PublicEcho (no token), NotBuilt (no handler: UNIMPLEMENTED). */
extern const hd_service_def hd_test_echo_def;

#define HD_TEST_ECHO            "/hdtest.v1.RpcTest/Echo"
#define HD_TEST_SUPERVISOR_ONLY "/hdtest.v1.RpcTest/SupervisorOnly"
#define HD_TEST_PUBLIC_ECHO     "/hdtest.v1.RpcTest/PublicEcho"
#define HD_TEST_NOT_BUILT       "/hdtest.v1.RpcTest/NotBuilt"

#endif
