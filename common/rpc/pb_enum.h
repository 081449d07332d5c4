/* Names of a contract's enum values as a schema stores them and messages show them: the value's
 * proto name without its enum prefix ("PERSONAL" for ACCOUNT_TYPE_PERSONAL), the prefix being
 * what the zero value "<PREFIX>UNSPECIFIED" has before UNSPECIFIED. The same rule as the ticket
 * service's ticket_enum (services/tickets/ticket_enum.c), for every other service. */
#ifndef HD_RPC_PB_ENUM_H
#define HD_RPC_PB_ENUM_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* The short name of value in d ("UNSPECIFIED" for 0); NULL when d has no such value.
 * Static storage (the generated descriptor's strings). */
const char *hd_pb_enum_name(const ProtobufCEnumDescriptor *d, int value);

/* Parses name[0..len), a short name as hd_pb_enum_name gives it (exact, case-sensitive).
 * 0 and *out set, or -1 when d has no such value. */
int hd_pb_enum_parse(const ProtobufCEnumDescriptor *d, const char *name, size_t len, int *out);

#endif
