/* Server-streaming calls on an hd_client's channel: one call and its own pluck queue per stream.
 * The status batch is started with the request, so the end of the call is always collected; a
 * read in flight when the caller stops waiting stays in flight until the next read or the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>

#include "rpc/client_internal.h"

struct hd_client_stream {
  grpc_completion_queue *cq;
  grpc_call *call;
  grpc_metadata_array init_md, trail_md;
  grpc_status_code status;
  grpc_slice details;
  grpc_byte_buffer *recv; /* the read in flight's message (tag &recv) */
  bool reading;           /* a read is in flight */
  bool head_out;          /* the initial metadata's batch was started (tag &init_md) */
  bool ended;             /* a read found the end of the stream */
  bool finished;          /* the status batch completed (tag &status) */
  char method[256];       /* for messages */
};

static gpr_timespec stream__wait(int64_t wait_ms) {
  if (wait_ms < 0) return gpr_inf_future(GPR_CLOCK_MONOTONIC);
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(wait_ms, GPR_TIMESPAN));
}

/* Waits for tag's batch without end (it completes: the call ends or is cancelled). */
static void stream__collect(hd_client_stream *s, void *tag) {
  grpc_completion_queue_pluck(s->cq, tag, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
}

int hd_client_stream_open(hd_client *c, const char *method, const char *token, int64_t timeout_us,
                          const ProtobufCMessage *req, hd_client_stream **out, hd_err *err) {
  *out = NULL;
  const size_t size = protobuf_c_message_get_packed_size(req);
  hd_client_stream *s = calloc(1, sizeof *s);
  if (!s) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory opening a stream");
  snprintf(s->method, sizeof s->method, "%s", method);
  s->cq = grpc_completion_queue_create_for_pluck(NULL);
  grpc_metadata_array_init(&s->init_md);
  grpc_metadata_array_init(&s->trail_md);
  s->details = grpc_empty_slice();
  s->status = GRPC_STATUS_UNKNOWN;
  grpc_slice mslice = grpc_slice_from_copied_string(method);
  s->call = grpc_channel_create_call(
      c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, s->cq, mslice, NULL,
      timeout_us > 0 ? client_deadline(timeout_us) : gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
  grpc_slice_unref(mslice);
  grpc_slice body = grpc_slice_malloc(size);
  protobuf_c_message_pack(req, GRPC_SLICE_START_PTR(body));
  grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&body, 1);
  grpc_slice_unref(body);
  grpc_metadata md;
  if (token) client_bearer(token, &md);
  grpc_op ops[3];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[0].data.send_initial_metadata.count = token ? 1 : 0;
  ops[0].data.send_initial_metadata.metadata = token ? &md : NULL;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = send;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  grpc_op head = {.op = GRPC_OP_RECV_INITIAL_METADATA};
  head.data.recv_initial_metadata.recv_initial_metadata = &s->init_md;
  grpc_op end = {.op = GRPC_OP_RECV_STATUS_ON_CLIENT};
  end.data.recv_status_on_client.trailing_metadata = &s->trail_md;
  end.data.recv_status_on_client.status = &s->status;
  end.data.recv_status_on_client.status_details = &s->details;
  int rc = -1;
  grpc_call_error e = grpc_call_start_batch(s->call, ops, 3, send, NULL);
  if (e == GRPC_CALL_OK) {
    /* The request is sent once the batch completes (it never waits for the server's answer). */
    stream__collect(s, send);
    e = grpc_call_start_batch(s->call, &head, 1, &s->init_md, NULL);
    s->head_out = e == GRPC_CALL_OK;
  }
  if (e == GRPC_CALL_OK) e = grpc_call_start_batch(s->call, &end, 1, &s->status, NULL);
  if (e != GRPC_CALL_OK) {
    hd_err_set(err, HD_INTERNAL, "could not start the stream %s (error %d)", method, (int)e);
    s->finished = true; /* nothing of the status batch to collect */
    hd_client_stream_free(s);
  } else {
    *out = s;
    rc = 0;
  }
  if (token) grpc_slice_unref(md.value);
  grpc_byte_buffer_destroy(send);
  return rc;
}

int hd_client_stream_read(hd_client_stream *s, const ProtobufCMessageDescriptor *desc,
                          int64_t wait_ms, hd_arena *arena, ProtobufCMessage **msg,
                          hd_client_stream_got *what, hd_err *err) {
  *msg = NULL;
  *what = HD_CLIENT_STREAM_ENDED;
  if (s->ended) return 0;
  if (!s->reading) {
    grpc_op op = {.op = GRPC_OP_RECV_MESSAGE};
    op.data.recv_message.recv_message = &s->recv;
    s->recv = NULL;
    if (grpc_call_start_batch(s->call, &op, 1, &s->recv, NULL) != GRPC_CALL_OK) {
      s->ended = true;
      return 0;
    }
    s->reading = true;
  }
  const grpc_event ev = grpc_completion_queue_pluck(s->cq, &s->recv, stream__wait(wait_ms), NULL);
  if (ev.type == GRPC_QUEUE_TIMEOUT) {
    *what = HD_CLIENT_STREAM_WAITING;
    return 0;
  }
  s->reading = false;
  if (!s->recv) {
    s->ended = true;
    return 0;
  }
  grpc_byte_buffer_reader r;
  grpc_byte_buffer_reader_init(&r, s->recv);
  grpc_slice raw = grpc_byte_buffer_reader_readall(&r);
  grpc_byte_buffer_reader_destroy(&r);
  grpc_byte_buffer_destroy(s->recv);
  s->recv = NULL;
  ProtobufCAllocator alloc = hd_arena_pb_allocator(arena);
  *msg = protobuf_c_message_unpack(desc, &alloc, GRPC_SLICE_LENGTH(raw), GRPC_SLICE_START_PTR(raw));
  const size_t len = GRPC_SLICE_LENGTH(raw);
  grpc_slice_unref(raw);
  if (!*msg)
    return hd_err_set(err, HD_INTERNAL,
                      "a message of %zu bytes on %s is not a valid %s (or does not fit the arena)",
                      len, s->method, desc->name);
  *what = HD_CLIENT_STREAM_MESSAGE;
  return 0;
}

int hd_client_stream_finish(hd_client_stream *s, int64_t wait_ms, bool *waiting, hd_err *err) {
  if (waiting) *waiting = false;
  if (!s->finished) {
    const grpc_event ev =
        grpc_completion_queue_pluck(s->cq, &s->status, stream__wait(wait_ms), NULL);
    if (ev.type == GRPC_QUEUE_TIMEOUT) {
      if (waiting) *waiting = true;
      return hd_err_set(err, HD_DEADLINE_EXCEEDED, "%s has not ended within %lld ms", s->method,
                        (long long)wait_ms);
    }
    s->finished = true;
  }
  if (s->status == GRPC_STATUS_OK) return 0;
  const int n = (int)GRPC_SLICE_LENGTH(s->details);
  hd_err_set(err, (hd_code)s->status, "%.*s", n, (const char *)GRPC_SLICE_START_PTR(s->details));
  client_read_details(&s->trail_md, err);
  return -1;
}

void hd_client_stream_cancel(hd_client_stream *s) { grpc_call_cancel(s->call, NULL); }

void hd_client_stream_free(hd_client_stream *s) {
  if (!s) return;
  grpc_call_cancel(s->call, NULL);
  /* Every batch completes once the call is cancelled: collect the ones still out. */
  if (s->head_out) stream__collect(s, &s->init_md);
  if (s->reading) stream__collect(s, &s->recv);
  if (!s->finished) stream__collect(s, &s->status);
  grpc_call_unref(s->call);
  grpc_completion_queue_shutdown(s->cq);
  while (grpc_completion_queue_pluck(s->cq, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
         GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(s->cq);
  if (s->recv) grpc_byte_buffer_destroy(s->recv);
  grpc_metadata_array_destroy(&s->init_md);
  grpc_metadata_array_destroy(&s->trail_md);
  grpc_slice_unref(s->details);
  free(s);
}
