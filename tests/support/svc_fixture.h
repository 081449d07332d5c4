/* Runs a real service in-process for integration tests: its gRPC server on a free loopback port,
 * its own fresh database on the test MariaDB, the test Redis, and a manual clock the test moves. */
#ifndef HD_SVC_FIXTURE_H
#define HD_SVC_FIXTURE_H

#include "rpc/client.h"
#include "svc/service.h"

typedef struct hd_fixture {
  hd_svc *svc;
  hd_client *client;
  hd_clock clock; /* manual; starts at 2026-01-05T00:00:00Z */
  char db_name[64];
  char target[64];
} hd_fixture;

/* Starts def with a unique database and waits (bounded) until it reports SERVING. On failure
 * (-1) it has stopped what it started and dropped the database; calling hd_fixture_stop too is
 * harmless. */
int hd_fixture_start(hd_fixture *f, const hd_service_def *def);

/* As hd_fixture_start without waiting for SERVING: for services started during an outage. */
int hd_fixture_start_unready(hd_fixture *f, const hd_service_def *def);

/* Stops the service, drops its database, frees the client. */
void hd_fixture_stop(hd_fixture *f);

/* A token for tenant/user with roles, valid for a year of the fixture's clock. Caller frees. */
char *hd_fixture_token(hd_fixture *f, const char *tenant, const char *user, unsigned roles);

/* One unary call; returns the status code (HD_OK or the server's), err holds the message.
 * The reply lives in arena a. */
hd_code hd_fixture_call(hd_fixture *f, const char *method, const char *token,
                        const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                        hd_arena *a, ProtobufCMessage **resp, hd_err *err);

/* Health of the whole server: 1 SERVING, 2 NOT_SERVING, -1 when the call failed. */
int hd_fixture_health(hd_fixture *f);

/* Runs one SQL query on the service's database and returns the first column of the first row as
 * an integer (0 when no row): for tests that check what was (not) written. */
int64_t hd_fixture_sql_i64(hd_fixture *f, const char *sql);

#endif
