/* Names of the contract's enum values as the tickets schema stores them: the value's proto name
 * without its enum prefix ("PENDING_RESPONSE" for TICKET_STATUS_PENDING_RESPONSE, "HARD" for
 * CATEGORY_HARD), so SQL stays readable and the numbers in the .proto stay free to grow. */
#ifndef TICKETS_TICKET_ENUM_H
#define TICKETS_TICKET_ENUM_H

#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

/* The short name of value in d ("UNSPECIFIED" for 0); NULL when d has no such value.
 * Static storage (the generated descriptor's strings). */
const char *ticket_enum_name(const ProtobufCEnumDescriptor *d, int value);

/* Parses name[0..len), a short name as ticket_enum_name gives it (exact, case-sensitive).
 * 0 and *out set, or -1 when d has no such value. */
int ticket_enum_parse(const ProtobufCEnumDescriptor *d, const char *name, size_t len, int *out);

#endif
