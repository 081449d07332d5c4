/* A server-streaming client for tests: the kit's hd_client_stream on a client of its own, every
 * step bounded so that a hung server fails the test instead of hanging it. */
#include "stream_client.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rpc/client.h"

#define SC_WAIT_MS (30 * 1000) /* the longest any one step may take */

struct sc_stream {
  hd_client *client;
  hd_client_stream *stream;
  char details[HD_ERR_MSG_MAX];
};

sc_stream *sc_open(const char *target, const char *method, const char *token,
                   const ProtobufCMessage *req) {
  sc_stream *s = calloc(1, sizeof *s);
  assert_non_null(s);
  const hd_client_config cfg = {.target = target};
  hd_err err = {0};
  if (hd_client_new(&cfg, &s->client, &err) != 0) fail_msg("client: %s", err.msg);
  if (hd_client_stream_open(s->client, method, token, 0, req, &s->stream, &err) != 0)
    fail_msg("stream %s: %s", method, err.msg);
  return s;
}

ProtobufCMessage *sc_recv(sc_stream *s, const ProtobufCMessageDescriptor *desc, int64_t wait_ms,
                          bool *timed_out) {
  if (timed_out) *timed_out = false;
  ProtobufCMessage *in_arena = NULL;
  hd_client_stream_got what = HD_CLIENT_STREAM_ENDED;
  hd_err err = {0};
  hd_arena *arena = hd_arena_new(16u << 20); /* the message read, copied out below */
  assert_non_null(arena);
  if (hd_client_stream_read(s->stream, desc, wait_ms, arena, &in_arena, &what, &err) != 0)
    fail_msg("read: %s", err.msg);
  if (what == HD_CLIENT_STREAM_WAITING && timed_out) *timed_out = true;
  if (what != HD_CLIENT_STREAM_MESSAGE) {
    hd_arena_free(arena);
    return NULL;
  }
  /* The caller frees what it gets with protobuf_c_message_free_unpacked: a heap copy. */
  const size_t n = protobuf_c_message_get_packed_size(in_arena);
  uint8_t *buf = malloc(n ? n : 1);
  assert_non_null(buf);
  protobuf_c_message_pack(in_arena, buf);
  ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, n, buf);
  free(buf);
  assert_non_null(m);
  hd_arena_free(arena);
  return m;
}

grpc_status_code sc_status(sc_stream *s, const char **details) {
  hd_err err = {0};
  bool waiting = false;
  const int rc = hd_client_stream_finish(s->stream, SC_WAIT_MS, &waiting, &err);
  if (waiting) fail_msg("%s", err.msg);
  snprintf(s->details, sizeof s->details, "%s", rc == 0 ? "" : err.msg);
  if (details) *details = s->details;
  return rc == 0 ? GRPC_STATUS_OK : (grpc_status_code)err.code;
}

void sc_cancel(sc_stream *s) { hd_client_stream_cancel(s->stream); }

void sc_free(sc_stream *s) {
  hd_client_stream_free(s->stream);
  hd_client_destroy(s->client);
  free(s);
}
