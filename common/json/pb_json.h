/* Protobuf messages as JSON and back, through the protobuf-c descriptors and jansson, following
 * protobuf's canonical JSON mapping (https://protobuf.dev/programming-guides/json/), for tools
 * (helpdeskctl), tests and a future HTTP gateway.
 *
 * Reading (JSON → message):
 *  - a field is named by its lowerCamelCase JSON name ("ticketId") or its proto name
 *    ("ticket_id"); both for one field, an unknown name, or two members of one oneof are
 *    INVALID_ARGUMENT naming the field and the message type;
 *  - null is the field's default (an empty list for a repeated field);
 *  - integers: a JSON number or a string of one ("7", "-3"); 64-bit values beyond 2^63 only as
 *    strings; a value outside the field's type (int32, uint32, int64, uint64) or with a fraction
 *    is INVALID_ARGUMENT "…: 4294967296 is out of range for int32";
 *  - float and double: a number, a numeric string, or "NaN", "Infinity", "-Infinity";
 *  - bool: true or false;
 *  - enums: the value's name ("TICKET_STATUS_OPEN"), its short name as hd_pb_enum_name gives it
 *    ("OPEN"), or its number;
 *  - bytes: base64, standard or URL-safe alphabet, padding optional;
 *  - repeated fields: arrays; messages: objects; google.protobuf.FieldMask: a string of
 *    comma-separated lowerCamelCase paths ("subject,issueType").
 * Writing (message → JSON): lowerCamelCase names in field order; fields at their default (0, "",
 * false, the zero enum, an empty list, an absent message) omitted, except a set oneof member;
 * enums by name (a number the descriptor does not define as the number); int64, uint64 and
 * their fixed / zigzag forms as decimal strings; bytes as standard base64 with padding; NaN and
 * the infinities as strings. Maps and google.protobuf types other than FieldMask are not mapped
 * (our protos use neither): a message using them is INVALID_ARGUMENT / INTERNAL by name. */
#ifndef HD_JSON_PB_JSON_H
#define HD_JSON_PB_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "core/arena.h"
#include "core/err.h"
#include "json/json.h"

/* Requests as a person or a script types them: 4 MiB, 8 levels. */
extern const hd_json_limits HD_PB_JSON_LIMITS;

/* Reads obj (a JSON object) as a message of type desc. *out and everything it points to live in
 * arena (freed with it). INVALID_ARGUMENT with a message naming the field's path
 * ("notes[1].ticketId: \"x\" is not an integer", "unknown field \"tikcetId\" in
 * helpdesk.v1.GetTicketRequest"); RESOURCE_EXHAUSTED when the arena is full. */
int hd_pb_json_read(const ProtobufCMessageDescriptor *desc, const json_t *obj, hd_arena *arena,
                    ProtobufCMessage **out, hd_err *err);

/* hd_pb_json_read on text[0..len), parsed with hd_json_parse_object within HD_PB_JSON_LIMITS
 * (its INVALID_ARGUMENT for text that is not one JSON object). */
int hd_pb_json_parse(const ProtobufCMessageDescriptor *desc, const char *text, size_t len,
                     hd_arena *arena, ProtobufCMessage **out, hd_err *err);

/* Writes msg as a new JSON object. Caller frees *out with json_decref(). INTERNAL for a field
 * of a type not mapped, RESOURCE_EXHAUSTED when out of memory. */
int hd_pb_json_write(const ProtobufCMessage *msg, json_t **out, hd_err *err);

/* Decodes base64 text[0..len), standard ('+', '/') or URL-safe ('-', '_') alphabet (not mixed),
 * '=' padding optional. *out (len *out_len, plus a NUL not counted) lives in arena.
 * INVALID_ARGUMENT "not base64: '*' at character 3" / "... truncated". */
int hd_pb_json_base64_decode(const char *text, size_t len, hd_arena *arena, uint8_t **out,
                             size_t *out_len, hd_err *err);

#endif
