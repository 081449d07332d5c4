/* The request edge of a call, the part of the dispatcher that needs no gRPC: the method table's
 * role check, then the NUL check of the raw request and unpacking with the method's input
 * descriptor. rpc_dispatch (dispatch.c) runs them on every call, in this order, around its token
 * and payload handling; the fuzz target (fuzz/fuzz_edge.c) runs them on raw bytes. */
#ifndef HD_RPC_EDGE_H
#define HD_RPC_EDGE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "rpc/server.h"

/* The role check of a method table entry (hd_method_impl.roles, any of them; roles_why may be
 * NULL) on call->principal, which must be set: 0, or -1 with call->err PERMISSION_DENIED naming
 * the roles needed and held, then roles_why in parentheses. */
int hd_rpc_edge_roles(hd_call *call, unsigned roles, const char *roles_why);

/* Checks raw[0..len) for a string field holding a NUL (hd_wire_check_strings) and unpacks it as
 * input into call->arena, which must be set: 0 with *req in the arena (valid until the arena is
 * freed), or -1 with call->err INVALID_ARGUMENT naming the field or the message type, *req NULL.
 * raw is only read, and may be freed once this returns. */
int hd_rpc_edge_unpack(hd_call *call, const ProtobufCMessageDescriptor *input, const uint8_t *raw,
                       size_t len, ProtobufCMessage **req);

#endif
