/* A server-streaming client for integration tests, over the kit's hd_client_stream: open a call
 * with its one request, read its messages one at a time (with a bound on each wait), cancel it (a
 * client that goes away), read its status. Every failure to do so fails the test. */
#ifndef HD_TEST_STREAM_CLIENT_H
#define HD_TEST_STREAM_CLIENT_H

#include <grpc/grpc.h>
#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct sc_stream sc_stream;

/* Opens method ("/pkg.Service/Method") on target as token (NULL: none) and sends req, closing
 * the client's side. Fails the test unless the call starts. Caller frees with sc_free. */
sc_stream *sc_open(const char *target, const char *method, const char *token,
                   const ProtobufCMessage *req);

/* The next message unpacked as desc, waiting up to wait_ms: caller frees it with
 * protobuf_c_message_free_unpacked. NULL when the server ended the stream (read sc_status), or
 * when nothing came in wait_ms (*timed_out set; the read goes on: call again). timed_out may be
 * NULL. */
ProtobufCMessage *sc_recv(sc_stream *s, const ProtobufCMessageDescriptor *desc, int64_t wait_ms,
                          bool *timed_out);

/* The call's status once the server ended it (waits, bounded); details (may be NULL) receive
 * its message, valid until sc_free. */
grpc_status_code sc_status(sc_stream *s, const char **details);

/* Cancels the call, as a client that disconnects. */
void sc_cancel(sc_stream *s);

/* Frees the call, its queue and channel. */
void sc_free(sc_stream *s);

#endif
