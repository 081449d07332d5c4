/* A server-streaming client for tests, on one call, its own channel and a pluck queue. */
#include "stream_client.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc_security.h>

#define SC_WAIT_S 30 /* the longest any one step may take: a hung server fails the test */

struct sc_stream {
  grpc_channel *channel;
  grpc_completion_queue *cq;
  grpc_call *call;
  grpc_metadata_array init_md, trail_md;
  grpc_status_code status;
  grpc_slice details;
  char details_text[1024];
  grpc_byte_buffer *recv; /* the pending read's message */
  bool reading;           /* a read is in flight (tag &recv) */
  char auth[2048];
};

static gpr_timespec sc__in_ms(int64_t ms) {
  return gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

static bool sc__batch(sc_stream *s, grpc_op *ops, size_t n, void *tag) {
  assert_int_equal(grpc_call_start_batch(s->call, ops, n, tag, NULL), GRPC_CALL_OK);
  grpc_event ev = grpc_completion_queue_pluck(s->cq, tag, sc__in_ms(SC_WAIT_S * 1000), NULL);
  assert_int_equal(ev.type, GRPC_OP_COMPLETE);
  return ev.success;
}

sc_stream *sc_open(const char *target, const char *method, const char *token,
                   const ProtobufCMessage *req) {
  sc_stream *s = calloc(1, sizeof *s);
  assert_non_null(s);
  grpc_channel_credentials *creds = grpc_insecure_credentials_create();
  s->channel = grpc_channel_create(target, creds, NULL);
  grpc_channel_credentials_release(creds);
  s->cq = grpc_completion_queue_create_for_pluck(NULL);
  grpc_metadata_array_init(&s->init_md);
  grpc_metadata_array_init(&s->trail_md);
  s->details = grpc_empty_slice();
  s->call = grpc_channel_create_call(s->channel, NULL, GRPC_PROPAGATE_DEFAULTS, s->cq,
                                     grpc_slice_from_static_string(method), NULL,
                                     gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  grpc_metadata md;
  memset(&md, 0, sizeof md);
  grpc_op ops[4];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  if (token) {
    snprintf(s->auth, sizeof s->auth, "Bearer %s", token);
    md.key = grpc_slice_from_static_string("authorization");
    md.value = grpc_slice_from_static_string(s->auth);
    ops[0].data.send_initial_metadata.count = 1;
    ops[0].data.send_initial_metadata.metadata = &md;
  }
  size_t size = protobuf_c_message_get_packed_size(req);
  grpc_slice body = grpc_slice_malloc(size);
  protobuf_c_message_pack(req, GRPC_SLICE_START_PTR(body));
  grpc_byte_buffer *b = grpc_raw_byte_buffer_create(&body, 1);
  grpc_slice_unref(body);
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = b;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &s->init_md;
  /* The initial metadata arrives with the first message or the status: read it later, with them
   * (a separate tag), so opening never waits for the server's first event. */
  assert_int_equal(grpc_call_start_batch(s->call, ops, 3, s, NULL), GRPC_CALL_OK);
  grpc_event ev = grpc_completion_queue_pluck(s->cq, s, sc__in_ms(SC_WAIT_S * 1000), NULL);
  assert_int_equal(ev.type, GRPC_OP_COMPLETE);
  grpc_byte_buffer_destroy(b);
  assert_int_equal(grpc_call_start_batch(s->call, &ops[3], 1, &s->init_md, NULL), GRPC_CALL_OK);
  return s;
}

ProtobufCMessage *sc_recv(sc_stream *s, const ProtobufCMessageDescriptor *desc, int64_t wait_ms,
                          bool *timed_out) {
  if (timed_out) *timed_out = false;
  if (!s->reading) {
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &s->recv;
    s->recv = NULL;
    assert_int_equal(grpc_call_start_batch(s->call, &op, 1, &s->recv, NULL), GRPC_CALL_OK);
    s->reading = true;
  }
  grpc_event ev = grpc_completion_queue_pluck(s->cq, &s->recv, sc__in_ms(wait_ms), NULL);
  if (ev.type == GRPC_QUEUE_TIMEOUT) {
    if (timed_out) *timed_out = true;
    return NULL;
  }
  assert_int_equal(ev.type, GRPC_OP_COMPLETE);
  s->reading = false;
  if (!s->recv) return NULL;
  grpc_byte_buffer_reader r;
  grpc_byte_buffer_reader_init(&r, s->recv);
  grpc_slice raw = grpc_byte_buffer_reader_readall(&r);
  grpc_byte_buffer_reader_destroy(&r);
  grpc_byte_buffer_destroy(s->recv);
  s->recv = NULL;
  ProtobufCMessage *m =
      protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(raw), GRPC_SLICE_START_PTR(raw));
  grpc_slice_unref(raw);
  assert_non_null(m);
  return m;
}

grpc_status_code sc_status(sc_stream *s, const char **details) {
  grpc_op op;
  memset(&op, 0, sizeof op);
  op.op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  op.data.recv_status_on_client.trailing_metadata = &s->trail_md;
  op.data.recv_status_on_client.status = &s->status;
  op.data.recv_status_on_client.status_details = &s->details;
  assert_true(sc__batch(s, &op, 1, &s->status));
  size_t n = GRPC_SLICE_LENGTH(s->details);
  if (n >= sizeof s->details_text) n = sizeof s->details_text - 1;
  memcpy(s->details_text, GRPC_SLICE_START_PTR(s->details), n);
  s->details_text[n] = '\0';
  if (details) *details = s->details_text;
  return s->status;
}

void sc_cancel(sc_stream *s) { grpc_call_cancel(s->call, NULL); }

void sc_free(sc_stream *s) {
  grpc_call_cancel(s->call, NULL);
  /* Every batch completes once the call is cancelled: collect the ones still out. */
  grpc_completion_queue_pluck(s->cq, &s->init_md, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  if (s->reading)
    grpc_completion_queue_pluck(s->cq, &s->recv, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
  grpc_call_unref(s->call);
  grpc_completion_queue_shutdown(s->cq);
  while (grpc_completion_queue_pluck(s->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
         GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(s->cq);
  grpc_channel_destroy(s->channel);
  if (s->recv) grpc_byte_buffer_destroy(s->recv);
  grpc_metadata_array_destroy(&s->init_md);
  grpc_metadata_array_destroy(&s->trail_md);
  grpc_slice_unref(s->details);
  free(s);
}
