/* A client for calls between services (and tests, tools, the benchmark): a channel, unary calls
 * with a deadline and a bearer token, protobuf-c packing. */
#ifndef HD_RPC_CLIENT_H
#define HD_RPC_CLIENT_H

#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "core/arena.h"
#include "core/err.h"

typedef struct hd_client hd_client;

typedef struct hd_client_config {
  const char *target;         /* "127.0.0.1:50051" */
  const char *tls_ca_file;    /* NULL → plaintext */
  int64_t default_timeout_us; /* per-call deadline when the call gives none; default 5s */
  int64_t max_message_bytes;  /* default 16 MiB */
} hd_client_config;

/* Creates a channel (grpc_init is called here). Caller frees with hd_client_destroy(). */
int hd_client_new(const hd_client_config *cfg, hd_client **out, hd_err *err);
void hd_client_destroy(hd_client *c);

/* Calls method ("/pkg.Service/Method") with req; on OK unpacks the reply into *resp using the
 * arena (lives as long as the arena). token may be NULL (no authorization header).
 * timeout_us 0 → the default. On a non-OK status returns -1 with err = the status code and the
 * server's message. Thread-safe: several threads may call on one client. */
int hd_client_call(hd_client *c, const char *method, const char *token, int64_t timeout_us,
                   const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                   hd_arena *arena, ProtobufCMessage **resp, hd_err *err);

/* Same, with raw request bytes (for tests that send garbage). The reply is returned raw:
 * *resp_bytes in the arena. */
int hd_client_call_raw(hd_client *c, const char *method, const char *token, int64_t timeout_us,
                       const void *req, size_t req_len, hd_arena *arena, void **resp_bytes,
                       size_t *resp_len, hd_err *err);

#endif
