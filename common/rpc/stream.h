/* Streaming calls (server-streaming, client-streaming and bidi) on the same edge as unary ones.
 *
 * A streaming method is an entry of the service's stream table (hd_stream_impl, given to
 * hd_server_add_streams, or hd_service_def.streams), with HD_METHOD_STREAM_IN in flags when the
 * client streams too (bidi):
 *   {"WatchTickets", tickets_watch_tickets, 0, STAFF, "the change feed is for staff"}, The
 * dispatcher runs the one edge of every call before the handler: the deadline, the bearer token
 * (unless HD_METHOD_PUBLIC), the method's roles; then the cap on open streams
 * (hd_server_config.max_stream_calls: past it RESOURCE_EXHAUSTED, and the handler never runs). The
 * call ends with one status, one log line ("rpc", with sent= and received= counts) and one
 * observation in the metrics, like a unary call.
 *
 * The contract a stream handler keeps (WatchTickets, Health/Watch, ServerReflectionInfo):
 *  - It runs on a thread of its own (one per open stream, at most max_stream_calls of them), never
 *    on a unary worker, so it may wait as long as the stream lasts. call->worker is that thread's
 *    own worker state (hd_server_config.worker_init ran on it): its own MariaDB and Redis
 *    connections; call->arena lives as long as the stream (keep per-message data out of it).
 *  - For a method without HD_METHOD_STREAM_IN req is the one request, unpacked and
 *    checked as a unary request is; with HD_METHOD_STREAM_IN it is NULL and the handler reads
 *    the client's messages with hd_stream_recv.
 *  - hd_stream_send queues a message in the stream's bounded buffer
 *    (hd_server_config.stream_buffer_messages and _bytes) and returns; the runtime writes it as
 *    the client reads. A client that reads too slowly fills the buffer: hd_stream_send then fails
 *    with RESOURCE_EXHAUSTED and the handler returns -1, which cuts the client off (it resumes
 *    from what it last received); a slow client never holds more than the buffer.
 *  - The stream is over when the client cancels or goes away (CANCELLED), its deadline passes
 *    (DEADLINE_EXCEEDED) or the server stops (UNAVAILABLE: reconnect, another replica serves it).
 *    Every hd_stream_* call then fails with call->err set to that status, and the handler must
 *    return -1 soon: a handler that waits on something else (Redis, a condition) waits at most
 *    200 ms at a time and calls hd_stream_wait or hd_stream_over in between.
 *  - Returning 0 ends the stream OK once the buffer is written; returning -1 ends it with
 *    call->err (what is still buffered is written first, while the client reads).
 *  All hd_stream_* functions are for the handler's thread only. */
#ifndef HD_RPC_STREAM_H
#define HD_RPC_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "rpc/server.h"

/* hd_stream_recv's results besides -1. */
enum { HD_STREAM_END = 0, HD_STREAM_MESSAGE = 1, HD_STREAM_TIMEOUT = 2 };

/* Packs msg and queues it in the stream's buffer; msg may be freed or reused once this returns.
 * When the buffer is full, waits up to wait_us (0: not at all) for the client to read. 0, or -1
 * with the call's err: RESOURCE_EXHAUSTED (the buffer stayed full: the client reads too slowly),
 * or the status that ended the stream (see above). */
int hd_stream_send(hd_stream *st, const ProtobufCMessage *msg, int64_t wait_us);

/* Waits up to wait_us (INT64_MAX: as long as the stream lasts) for the client's next message and
 * unpacks it as desc (checked as a unary request is) into an arena of the stream's: *msg is valid
 * until the next hd_stream_recv or the handler's return. HD_STREAM_MESSAGE; HD_STREAM_END when
 * the client has closed its side (*msg NULL); HD_STREAM_TIMEOUT when nothing came in wait_us (the
 * read goes on: call again); -1 with the call's err (INVALID_ARGUMENT for a malformed message, or
 * the status that ended the stream). Only for HD_METHOD_STREAM_IN methods. */
int hd_stream_recv(hd_stream *st, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **msg,
                   int64_t wait_us);

/* Waits up to wait_us while writing the buffer, returning early when the stream is over: 0, or
 * -1 with the call's err set to the status that ended it. For handlers that wait for news. */
int hd_stream_wait(hd_stream *st, int64_t wait_us);

/* Whether the stream is over (client gone, deadline passed, server stopping), without waiting;
 * when it is, the call's err holds the status to return with. */
bool hd_stream_over(hd_stream *st);

/* Messages queued by hd_stream_send and not yet taken by the transport (for tests, metrics). */
size_t hd_stream_buffered(const hd_stream *st);

#endif
