/* What the files of the gRPC client share (client.c, client_stream.c). Not for use outside
 * common/rpc. */
#ifndef HD_RPC_CLIENT_INTERNAL_H
#define HD_RPC_CLIENT_INTERNAL_H

#include <grpc/grpc.h>
#include <grpc/support/time.h>

#include "rpc/client.h"

struct hd_client {
  grpc_channel *channel;
  int64_t default_timeout_us;
};

/* The server's google.rpc.Status details (grpc-status-details-bin), when it sent any, into err's
 * details; err keeps the status line's code and message. */
void client_read_details(const grpc_metadata_array *md, hd_err *err);

/* md as the header "authorization: Bearer <token>"; md->value owned by the caller
 * (grpc_slice_unref). */
void client_bearer(const char *token, grpc_metadata *md);

/* The absolute deadline timeout_us from now, for the core (GPR_CLOCK_MONOTONIC). */
gpr_timespec client_deadline(int64_t timeout_us);

#endif
