/* Checks a request's raw protobuf bytes before they are unpacked: protobuf-c hands strings over
 * NUL-terminated, so a string with an embedded NUL would be silently cut ("before\0after" read as
 * "before"). The walk follows the method's input descriptor through nested messages, repeated
 * fields and maps (map entries are messages); bytes fields and unknown fields may hold anything. */
#ifndef HD_RPC_WIRE_CHECK_H
#define HD_RPC_WIRE_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "core/err.h"

/* Nesting deeper than this is refused (INVALID_ARGUMENT): the walk recurses once per level. */
#define HD_WIRE_MAX_DEPTH 32

/* 0 when no `string` field of desc (at any depth) in buf[0..len) holds a NUL byte; otherwise -1
 * with err INVALID_ARGUMENT naming the field by its path ("task.title"). Bytes it cannot parse
 * are left to protobuf_c_message_unpack to refuse (0 here). Reads only; allocates nothing. */
int hd_wire_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                          hd_err *err);

#endif
