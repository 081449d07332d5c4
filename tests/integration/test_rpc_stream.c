/* Streaming calls (rpc/stream.h) over real loopback gRPC, called with the core's client API:
 * server-streaming and bidi, the edge (token), the cap on open streams, that streams never hold
 * the unary workers, client cancel, deadline, a slow reader cut off by its bounded buffer, and
 * shutdown ending open streams UNAVAILABLE. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "clock/clock.h"
#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/health/v1/health.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "rpc/client.h"
#include "rpc/server.h"
#include "rpc/status_details.h"
#include "rpc/stream.h"
#include "rpctest.pb-c.h"

#define SECRET   "test-secret-0123456789"
#define T0       1900000000LL
#define CAP      2
#define BUF_MSGS 4
#define WAIT_S   30 /* the most any wait of these tests takes: generous, never a timing claim */

typedef struct fixture {
  hd_server *server;
  hd_client *client;
  hd_auth_config auth;
  hd_clock clock;
  char target[64];
  char *token;
  grpc_channel *channel;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int ended;           /* Count handlers that returned */
  hd_code last_code;   /* what the last one returned with */
  unsigned long sends; /* messages the last one queued */
  _Atomic bool healthy;
} fixture;

static bool probe(void *arg) { return atomic_load(&((fixture *)arg)->healthy); }

static void count__ended(fixture *f, hd_code code, unsigned long sends) {
  pthread_mutex_lock(&f->mu);
  f->ended++;
  f->last_code = code;
  f->sends = sends;
  pthread_cond_broadcast(&f->cv);
  pthread_mutex_unlock(&f->mu);
}

static int count(hd_call *call, hd_stream *st, const ProtobufCMessage *reqm) {
  fixture *f = call->service;
  const Hdtest__V1__CountRequest *req = (const void *)reqm;
  if (req->count < 0) { /* a refusal with a detail, for the end status's trailing metadata */
    hd_err_set(&call->err, HD_INVALID_ARGUMENT, "count must be 0 or more, got %d", req->count);
    count__ended(f, HD_INVALID_ARGUMENT, 0);
    return hd_err_field(&call->err, "count");
  }
  uint8_t *pad = calloc(1, (size_t)req->size + 1);
  unsigned long sent = 0;
  int rc = 0;
  for (int i = 0; i < req->count && rc == 0; i++) {
    Hdtest__V1__CountReply r = HDTEST__V1__COUNT_REPLY__INIT;
    r.n = i;
    r.padding.data = pad;
    r.padding.len = (size_t)req->size;
    rc = hd_stream_send(st, &r.base, (int64_t)req->send_wait_ms * 1000);
    if (rc == 0) sent++;
  }
  free(pad);
  while (rc == 0 && req->hold) rc = hd_stream_wait(st, 100000);
  count__ended(f, rc == 0 ? HD_OK : call->err.code, sent);
  return rc;
}

static int chat(hd_call *call, hd_stream *st, const ProtobufCMessage *unused) {
  (void)unused;
  for (;;) {
    ProtobufCMessage *m;
    int got = hd_stream_recv(st, &hdtest__v1__echo_request__descriptor, &m, INT64_MAX);
    if (got == HD_STREAM_END) return 0;
    if (got != HD_STREAM_MESSAGE) return -1;
    const Hdtest__V1__EchoRequest *req = (const void *)m;
    Hdtest__V1__EchoResponse r = HDTEST__V1__ECHO_RESPONSE__INIT;
    char text[300];
    snprintf(text, sizeof text, "%s|%s", req->text, call->principal->tenant);
    r.text = text;
    r.request_id = (char *)call->request_id;
    if (hd_stream_send(st, &r.base, HD_US_PER_S) != 0) return -1;
  }
}

static int echo(hd_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm) {
  const Hdtest__V1__EchoRequest *req = (const void *)reqm;
  Hdtest__V1__EchoResponse *resp = (void *)respm;
  resp->text = hd_arena_strdup(call->arena, req->text);
  return 0;
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  pthread_mutex_init(&f->mu, NULL);
  pthread_cond_init(&f->cv, NULL);
  atomic_store(&f->healthy, true);
  f->auth = (hd_auth_config){.secret = SECRET, .secret_len = strlen(SECRET), .issuer = "helpdesk"};
  hd_clock_init_manual(&f->clock, T0 * HD_US_PER_S);
  static const hd_method_impl impls[] = {{"Echo", echo, 0, 0, NULL}};
  static const hd_stream_impl streams[] = {{"Count", count, 0, 0, NULL},
                                           {"Chat", chat, HD_METHOD_STREAM_IN, 0, NULL}};
  hd_server_config cfg = {.listen_addr = "127.0.0.1:0",
                          .workers = 1, /* one unary worker: streams must not take it */
                          .max_message_bytes = 1 << 20,
                          .grace_us = WAIT_S * HD_US_PER_S,
                          .auth = &f->auth,
                          .clock = &f->clock,
                          .health_interval_us = 20000,
                          .health_probe = probe,
                          .health_arg = f,
                          .max_stream_calls = CAP,
                          .stream_buffer_messages = BUF_MSGS};
  hd_err err = {0};
  assert_int_equal(hd_server_new(&cfg, &f->server, &err), 0);
  assert_int_equal(
      hd_server_add_service(f->server, &hdtest__v1__rpc_test__descriptor, impls, 1, f, &err), 0);
  assert_int_equal(
      hd_server_add_streams(f->server, &hdtest__v1__rpc_test__descriptor, streams, 2, &err), 0);
  assert_int_equal(hd_server_start(f->server, &err), 0);
  snprintf(f->target, sizeof f->target, "127.0.0.1:%d", hd_server_port(f->server));
  hd_client_config ccfg = {.target = f->target};
  assert_int_equal(hd_client_new(&ccfg, &f->client, &err), 0);
  hd_principal p = {.roles = HD_ROLE_AGENT};
  snprintf(p.tenant, sizeof p.tenant, "acme");
  snprintf(p.user_id, sizeof p.user_id, "u1");
  assert_int_equal(hd_auth_sign(&f->auth, &p, T0, 600, &f->token, &err), 0);
  grpc_channel_credentials *creds = grpc_insecure_credentials_create();
  f->channel = grpc_channel_create(f->target, creds, NULL);
  grpc_channel_credentials_release(creds);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  grpc_channel_destroy(f->channel);
  hd_client_destroy(f->client);
  hd_server_destroy(f->server);
  free(f->token);
  pthread_mutex_destroy(&f->mu);
  pthread_cond_destroy(&f->cv);
  free(f);
  return 0;
}

/* --- a small streaming client on the core API, one batch at a time --------------------------- */

typedef struct tstream {
  grpc_call *call;
  grpc_completion_queue *cq;
  grpc_metadata_array init_md, trail_md;
  grpc_status_code status;
  grpc_slice details;
  bool got_md;
  char auth[1024];
} tstream;

static bool ts__batch(tstream *t, grpc_op *ops, size_t n) {
  assert_int_equal(grpc_call_start_batch(t->call, ops, n, t, NULL), GRPC_CALL_OK);
  grpc_event ev = grpc_completion_queue_pluck(
      t->cq, t,
      gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_seconds(WAIT_S, GPR_TIMESPAN)), NULL);
  assert_int_equal(ev.type, GRPC_OP_COMPLETE);
  return ev.success;
}

/* Opens a call of method (token NULL: none) with a deadline timeout_us away (0: none). */
static tstream *ts_open(fixture *f, const char *method, const char *token, int64_t timeout_us) {
  tstream *t = calloc(1, sizeof *t);
  t->cq = grpc_completion_queue_create_for_pluck(NULL);
  grpc_metadata_array_init(&t->init_md);
  grpc_metadata_array_init(&t->trail_md);
  grpc_slice m = grpc_slice_from_static_string(method);
  gpr_timespec dl = timeout_us ? gpr_time_add(gpr_now(GPR_CLOCK_REALTIME),
                                              gpr_time_from_micros(timeout_us, GPR_TIMESPAN))
                               : gpr_inf_future(GPR_CLOCK_REALTIME);
  t->call =
      grpc_channel_create_call(f->channel, NULL, GRPC_PROPAGATE_DEFAULTS, t->cq, m, NULL, dl, NULL);
  grpc_metadata md;
  memset(&md, 0, sizeof md);
  grpc_op op;
  memset(&op, 0, sizeof op);
  op.op = GRPC_OP_SEND_INITIAL_METADATA;
  if (token) {
    snprintf(t->auth, sizeof t->auth, "Bearer %s", token);
    md.key = grpc_slice_from_static_string("authorization");
    md.value = grpc_slice_from_static_string(t->auth);
    op.data.send_initial_metadata.count = 1;
    op.data.send_initial_metadata.metadata = &md;
  }
  assert_true(ts__batch(t, &op, 1));
  return t;
}

static bool ts_send(tstream *t, const ProtobufCMessage *msg) {
  size_t size = protobuf_c_message_get_packed_size(msg);
  grpc_slice s = grpc_slice_malloc(size);
  protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(s));
  grpc_byte_buffer *b = grpc_raw_byte_buffer_create(&s, 1);
  grpc_slice_unref(s);
  grpc_op op;
  memset(&op, 0, sizeof op);
  op.op = GRPC_OP_SEND_MESSAGE;
  op.data.send_message.send_message = b;
  bool ok = ts__batch(t, &op, 1);
  grpc_byte_buffer_destroy(b);
  return ok;
}

static void ts_close_send(tstream *t) {
  grpc_op op;
  memset(&op, 0, sizeof op);
  op.op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ts__batch(t, &op, 1);
}

/* The next message unpacked as desc (caller frees with protobuf_c_message_free_unpacked), or NULL
 * when the server has ended the stream. */
static ProtobufCMessage *ts_recv(tstream *t, const ProtobufCMessageDescriptor *desc) {
  grpc_op ops[2];
  size_t n = 0;
  memset(ops, 0, sizeof ops);
  grpc_byte_buffer *b = NULL;
  if (!t->got_md) {
    ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[n].data.recv_initial_metadata.recv_initial_metadata = &t->init_md;
    n++;
    t->got_md = true;
  }
  ops[n].op = GRPC_OP_RECV_MESSAGE;
  ops[n].data.recv_message.recv_message = &b;
  n++;
  ts__batch(t, ops, n);
  if (!b) return NULL;
  grpc_byte_buffer_reader r;
  grpc_byte_buffer_reader_init(&r, b);
  grpc_slice raw = grpc_byte_buffer_reader_readall(&r);
  grpc_byte_buffer_reader_destroy(&r);
  grpc_byte_buffer_destroy(b);
  ProtobufCMessage *m =
      protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(raw), GRPC_SLICE_START_PTR(raw));
  grpc_slice_unref(raw);
  assert_non_null(m);
  return m;
}

/* The call's status (waits for it). */
static grpc_status_code ts_status(tstream *t) {
  grpc_op ops[2];
  size_t n = 0;
  memset(ops, 0, sizeof ops);
  if (!t->got_md) { /* the core completes the status only once the headers are read */
    ops[n].op = GRPC_OP_RECV_INITIAL_METADATA;
    ops[n].data.recv_initial_metadata.recv_initial_metadata = &t->init_md;
    n++;
    t->got_md = true;
  }
  ops[n].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[n].data.recv_status_on_client.trailing_metadata = &t->trail_md;
  ops[n].data.recv_status_on_client.status = &t->status;
  ops[n].data.recv_status_on_client.status_details = &t->details;
  n++;
  assert_true(ts__batch(t, ops, n));
  return t->status;
}

static void ts_free(tstream *t) {
  grpc_call_unref(t->call);
  grpc_completion_queue_shutdown(t->cq);
  while (grpc_completion_queue_pluck(t->cq, NULL, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
         GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(t->cq);
  grpc_metadata_array_destroy(&t->init_md);
  grpc_metadata_array_destroy(&t->trail_md);
  grpc_slice_unref(t->details);
  free(t);
}

static tstream *open_count(fixture *f, int count, int size, bool hold, int send_wait_ms,
                           int64_t timeout_us) {
  tstream *t = ts_open(f, "/hdtest.v1.RpcTest/Count", f->token, timeout_us);
  Hdtest__V1__CountRequest req = HDTEST__V1__COUNT_REQUEST__INIT;
  req.count = count;
  req.size = size;
  req.hold = hold;
  req.send_wait_ms = send_wait_ms;
  /* Not asserted: a stream refused at once (the cap) may be closed before its request is sent;
   * what the tests read next says. */
  ts_send(t, &req.base);
  ts_close_send(t);
  return t;
}

/* Waits until `ended` Count handlers have returned; returns the last one's code. */
static hd_code wait_ended(fixture *f, int ended) {
  int64_t until = hd_monotonic_us() + WAIT_S * HD_US_PER_S;
  pthread_mutex_lock(&f->mu);
  while (f->ended < ended && hd_monotonic_us() < until) {
    pthread_mutex_unlock(&f->mu);
    usleep(10000);
    pthread_mutex_lock(&f->mu);
  }
  assert_int_equal(f->ended, ended);
  hd_code code = f->last_code;
  pthread_mutex_unlock(&f->mu);
  return code;
}

static int32_t reply_n(ProtobufCMessage *m) {
  int32_t n = ((Hdtest__V1__CountReply *)m)->n;
  protobuf_c_message_free_unpacked(m, NULL);
  return n;
}

/* --- tests ---------------------------------------------------------------------------------------
 */

static void test_server_stream_sends_every_message_in_order_then_ok(void **state) {
  fixture *f = *state;
  tstream *t = open_count(f, 10, 100, false, 1000, 0);
  for (int i = 0; i < 10; i++) {
    ProtobufCMessage *m = ts_recv(t, &hdtest__v1__count_reply__descriptor);
    assert_non_null(m);
    assert_int_equal(reply_n(m), i);
  }
  assert_null(ts_recv(t, &hdtest__v1__count_reply__descriptor));
  assert_int_equal(ts_status(t), GRPC_STATUS_OK);
  assert_int_equal(wait_ended(f, 1), HD_OK);
  ts_free(t);
}

/* The value of trailing metadata key in t (after ts_status), copied into buf; false when absent. */
static bool ts_trailer(const tstream *t, const char *key, char *buf, size_t cap, size_t *len) {
  for (size_t i = 0; i < t->trail_md.count; i++) {
    const grpc_metadata *m = &t->trail_md.metadata[i];
    if (!grpc_slice_str_cmp(m->key, key)) {
      size_t n = GRPC_SLICE_LENGTH(m->value);
      if (n >= cap) n = cap - 1;
      memcpy(buf, GRPC_SLICE_START_PTR(m->value), n);
      buf[n] = '\0';
      *len = n;
      return true;
    }
  }
  return false;
}

/* A stream ends like a unary call: its status carries the request id and, on failure, the
 * error's details (here the field at fault). */
static void test_a_stream_ends_with_the_request_id_and_the_errors_details(void **state) {
  fixture *f = *state;
  char buf[512];
  size_t len = 0;
  tstream *t = open_count(f, 2, 10, false, 1000, 0);
  for (int i = 0; i < 2; i++) {
    ProtobufCMessage *m = ts_recv(t, &hdtest__v1__count_reply__descriptor);
    assert_non_null(m);
    protobuf_c_message_free_unpacked(m, NULL);
  }
  assert_null(ts_recv(t, &hdtest__v1__count_reply__descriptor));
  assert_int_equal(ts_status(t), GRPC_STATUS_OK);
  assert_true(ts_trailer(t, "x-request-id", buf, sizeof buf, &len));
  assert_true(len > 0);
  assert_false(ts_trailer(t, HD_RPC_STATUS_DETAILS_KEY, buf, sizeof buf, &len));
  assert_int_equal(wait_ended(f, 1), HD_OK);
  ts_free(t);

  t = open_count(f, -1, 0, false, 1000, 0);
  assert_null(ts_recv(t, &hdtest__v1__count_reply__descriptor));
  assert_int_equal(ts_status(t), GRPC_STATUS_INVALID_ARGUMENT);
  assert_true(ts_trailer(t, "x-request-id", buf, sizeof buf, &len));
  assert_true(ts_trailer(t, HD_RPC_STATUS_DETAILS_KEY, buf, sizeof buf, &len));
  hd_err got = {0};
  assert_int_equal(hd_rpc_status_details_unpack(buf, len, &got), 0);
  assert_string_equal(got.field, "count");
  assert_int_equal(wait_ended(f, 2), HD_INVALID_ARGUMENT);
  ts_free(t);
}

static void test_bidi_echoes_each_message_until_the_client_closes(void **state) {
  fixture *f = *state;
  tstream *t = ts_open(f, "/hdtest.v1.RpcTest/Chat", f->token, 0);
  const char *words[] = {"one", "two", "three"};
  for (int i = 0; i < 3; i++) {
    Hdtest__V1__EchoRequest req = HDTEST__V1__ECHO_REQUEST__INIT;
    req.text = (char *)words[i];
    assert_true(ts_send(t, &req.base));
    Hdtest__V1__EchoResponse *r = (void *)ts_recv(t, &hdtest__v1__echo_response__descriptor);
    assert_non_null(r);
    char want[32];
    snprintf(want, sizeof want, "%s|acme", words[i]);
    assert_string_equal(r->text, want);
    assert_true(r->request_id[0] != '\0');
    protobuf_c_message_free_unpacked(&r->base, NULL);
  }
  ts_close_send(t);
  assert_null(ts_recv(t, &hdtest__v1__echo_response__descriptor));
  assert_int_equal(ts_status(t), GRPC_STATUS_OK);
  ts_free(t);
}

static void test_stream_without_token_is_unauthenticated_and_never_runs(void **state) {
  fixture *f = *state;
  tstream *t = ts_open(f, "/hdtest.v1.RpcTest/Count", NULL, 0);
  assert_int_equal(ts_status(t), GRPC_STATUS_UNAUTHENTICATED);
  ts_free(t);
  pthread_mutex_lock(&f->mu);
  assert_int_equal(f->ended, 0);
  pthread_mutex_unlock(&f->mu);
}

static void test_streams_past_the_cap_are_resource_exhausted_and_unary_calls_still_served(
    void **state) {
  fixture *f = *state;
  tstream *open[CAP];
  for (int i = 0; i < CAP; i++) {
    open[i] = open_count(f, 1, 0, true, 1000, 0);
    ProtobufCMessage *m = ts_recv(open[i], &hdtest__v1__count_reply__descriptor);
    assert_non_null(m); /* admitted: its handler runs */
    protobuf_c_message_free_unpacked(m, NULL);
  }
  tstream *over = open_count(f, 1, 0, true, 1000, 0);
  assert_int_equal(ts_status(over), GRPC_STATUS_RESOURCE_EXHAUSTED);
  char details[300];
  snprintf(details, sizeof details, "%.*s", (int)GRPC_SLICE_LENGTH(over->details),
           (const char *)GRPC_SLICE_START_PTR(over->details));
  assert_non_null(strstr(details, "HELPDESK_MAX_STREAM_CALLS"));
  ts_free(over);

  /* The one unary worker is free: the streams have threads of their own. */
  Hdtest__V1__EchoRequest req = HDTEST__V1__ECHO_REQUEST__INIT;
  req.text = "still here";
  hd_arena *a = hd_arena_new(1 << 16);
  ProtobufCMessage *resp = NULL;
  hd_err err = {0};
  assert_int_equal(
      hd_client_call(f->client, "/hdtest.v1.RpcTest/Echo", f->token, WAIT_S * HD_US_PER_S,
                     &req.base, &hdtest__v1__echo_response__descriptor, a, &resp, &err),
      0);
  assert_string_equal(((Hdtest__V1__EchoResponse *)resp)->text, "still here");
  hd_arena_free(a);

  /* A stream that ends makes room. */
  grpc_call_cancel(open[0]->call, NULL);
  assert_int_equal(ts_status(open[0]), GRPC_STATUS_CANCELLED);
  assert_int_equal(wait_ended(f, 1), HD_CANCELLED);
  ts_free(open[0]);
  open[0] = open_count(f, 1, 0, true, 1000, 0);
  ProtobufCMessage *m = ts_recv(open[0], &hdtest__v1__count_reply__descriptor);
  assert_non_null(m);
  protobuf_c_message_free_unpacked(m, NULL);
  for (int i = 0; i < CAP; i++) {
    grpc_call_cancel(open[i]->call, NULL);
    ts_status(open[i]);
    ts_free(open[i]);
  }
  wait_ended(f, CAP + 1);
}

static void test_client_cancel_ends_the_handler_with_cancelled(void **state) {
  fixture *f = *state;
  tstream *t = open_count(f, 1, 0, true, 1000, 0);
  ProtobufCMessage *m = ts_recv(t, &hdtest__v1__count_reply__descriptor);
  assert_non_null(m);
  protobuf_c_message_free_unpacked(m, NULL);
  grpc_call_cancel(t->call, NULL);
  assert_int_equal(wait_ended(f, 1), HD_CANCELLED);
  ts_status(t);
  ts_free(t);
}

static void test_deadline_ends_a_held_stream_with_deadline_exceeded(void **state) {
  fixture *f = *state;
  tstream *t = open_count(f, 1, 0, true, 1000, 300000);
  ProtobufCMessage *m = ts_recv(t, &hdtest__v1__count_reply__descriptor);
  assert_non_null(m);
  protobuf_c_message_free_unpacked(m, NULL);
  assert_int_equal(ts_status(t), GRPC_STATUS_DEADLINE_EXCEEDED);
  hd_code code = wait_ended(f, 1);
  /* The handler sees its deadline, or the core's cancel at the deadline first. */
  assert_true(code == HD_DEADLINE_EXCEEDED || code == HD_CANCELLED);
  ts_free(t);
}

static void test_a_reader_that_never_reads_is_cut_off_by_its_bounded_buffer(void **state) {
  fixture *f = *state;
  /* 2000 messages of 64 KiB (125 MiB) to a client that reads none: the transport's windows take
   * a few, the buffer BUF_MSGS more, then hd_stream_send fails. */
  tstream *t = open_count(f, 2000, 64 << 10, false, 100, 0);
  assert_int_equal(wait_ended(f, 1), HD_RESOURCE_EXHAUSTED);
  pthread_mutex_lock(&f->mu);
  unsigned long sends = f->sends;
  pthread_mutex_unlock(&f->mu);
  assert_true(sends < 2000);
  /* The client reads now: what it gets ends with the status, never all 2000. */
  int got = 0;
  ProtobufCMessage *m;
  while ((m = ts_recv(t, &hdtest__v1__count_reply__descriptor)) != NULL) {
    assert_int_equal(reply_n(m), got);
    got++;
  }
  assert_true(got <= (int)sends);
  assert_int_equal(ts_status(t), GRPC_STATUS_RESOURCE_EXHAUSTED);
  ts_free(t);
}

typedef struct stopper {
  hd_server *server;
  int64_t took_us;
} stopper;

static void *stop_server(void *arg) {
  stopper *s = arg;
  int64_t t0 = hd_monotonic_us();
  hd_server_shutdown(s->server);
  s->took_us = hd_monotonic_us() - t0;
  return NULL;
}

static void test_shutdown_ends_open_streams_unavailable_without_waiting_the_grace(void **state) {
  fixture *f = *state;
  tstream *t[CAP];
  for (int i = 0; i < CAP; i++) {
    t[i] = open_count(f, 1, 0, true, 1000, 0);
    ProtobufCMessage *m = ts_recv(t[i], &hdtest__v1__count_reply__descriptor);
    assert_non_null(m);
    protobuf_c_message_free_unpacked(m, NULL);
  }
  stopper s = {.server = f->server};
  pthread_t th;
  pthread_create(&th, NULL, stop_server, &s);
  for (int i = 0; i < CAP; i++) {
    assert_null(ts_recv(t[i], &hdtest__v1__count_reply__descriptor));
    assert_int_equal(ts_status(t[i]), GRPC_STATUS_UNAVAILABLE);
    ts_free(t[i]);
  }
  pthread_join(th, NULL);
  assert_int_equal(wait_ended(f, CAP), HD_UNAVAILABLE);
  /* The grace is WAIT_S: a shutdown that waited for the streams would take all of it. */
  assert_true(s.took_us < (WAIT_S - 5) * HD_US_PER_S);
}

static int watch_next(tstream *t) {
  Grpc__Health__V1__HealthCheckResponse *r =
      (void *)ts_recv(t, &grpc__health__v1__health_check_response__descriptor);
  assert_non_null(r);
  int status = r->status;
  protobuf_c_message_free_unpacked(&r->base, NULL);
  return status;
}

/* Opens a Watch of service. A Watch opened the moment the server has started has once been
 * refused before its request went out (its send failed, on a loaded machine; cause not found):
 * such a stream is closed and opened again, a few times, each refusal's status printed. */
static tstream *open_watch(fixture *f, const char *service) {
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  req.service = (char *)service;
  for (int attempt = 1;; attempt++) {
    tstream *t = ts_open(f, "/grpc.health.v1.Health/Watch", NULL, 0);
    if (ts_send(t, &req.base)) {
      ts_close_send(t);
      return t;
    }
    const grpc_status_code code = ts_status(t);
    fprintf(stderr, "open_watch: attempt %d refused before its request went out (status %d)\n",
            attempt, (int)code);
    ts_free(t);
    assert_true(attempt < 5);
    usleep(100000);
  }
}

/* Waits until fewer than CAP streams are open (a cancelled one has ended on the server). */
static void wait_no_streams(fixture *f) {
  for (int i = 0; i < WAIT_S * 100; i++) {
    tstream *probe_t = open_watch(f, "");
    ProtobufCMessage *m = ts_recv(probe_t, &grpc__health__v1__health_check_response__descriptor);
    grpc_call_cancel(probe_t->call, NULL);
    ts_status(probe_t);
    ts_free(probe_t);
    if (m) {
      protobuf_c_message_free_unpacked(m, NULL);
      usleep(100000); /* and the probe's own stream has ended */
      return;
    }
    usleep(10000);
  }
  fail_msg("a cancelled stream never ended on the server");
}

static void test_health_watch_sends_the_status_then_each_change_of_the_probe(void **state) {
  fixture *f = *state;
  tstream *t = open_watch(f, ""); /* and liveness: the cap is CAP (2) streams */
  tstream *live = open_watch(f, HD_HEALTH_LIVENESS);
  assert_int_equal(watch_next(t), GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
  assert_int_equal(watch_next(live),
                   GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
  atomic_store(&f->healthy, false);
  assert_int_equal(watch_next(t),
                   GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING);
  atomic_store(&f->healthy, true);
  assert_int_equal(watch_next(t), GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
  grpc_call_cancel(live->call, NULL); /* liveness stayed SERVING: it sent nothing more */
  assert_null(ts_recv(live, &grpc__health__v1__health_check_response__descriptor));
  ts_status(live);
  ts_free(live);
  wait_no_streams(f);
  tstream *unknown = open_watch(f, "hdtest.v1.NoSuch");
  assert_int_equal(watch_next(unknown),
                   GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN);
  tstream *all[] = {t, unknown};
  for (int i = 0; i < 2; i++) {
    grpc_call_cancel(all[i]->call, NULL);
    ts_status(all[i]);
    ts_free(all[i]);
  }
}

/* One reflection request on a v1 stream, its response (caller frees). */
static Grpc__Reflection__V1__ServerReflectionResponse *reflect(
    tstream *t, const Grpc__Reflection__V1__ServerReflectionRequest *req) {
  assert_true(ts_send(t, &req->base));
  void *r = ts_recv(t, &grpc__reflection__v1__server_reflection_response__descriptor);
  assert_non_null(r);
  return r;
}

static void test_reflection_lists_services_and_finds_files_by_name_and_symbol(void **state) {
  fixture *f = *state;
  tstream *t = ts_open(f, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", NULL, 0);
  Grpc__Reflection__V1__ServerReflectionRequest req =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__INIT;
  req.message_request_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES;
  req.list_services = "";
  Grpc__Reflection__V1__ServerReflectionResponse *r = reflect(t, &req);
  assert_int_equal(
      r->message_response_case,
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE);
  const char *want[] = {"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                        "grpc.reflection.v1alpha.ServerReflection", "hdtest.v1.RpcTest"};
  assert_int_equal(r->list_services_response->n_service, 4);
  for (int i = 0; i < 4; i++) {
    bool found = false;
    for (size_t k = 0; k < 4; k++)
      found = found || strcmp(r->list_services_response->service[k]->name, want[i]) == 0;
    assert_true(found);
  }
  protobuf_c_message_free_unpacked(&r->base, NULL);

  /* A symbol of the embedded set: the file that declares it, first. */
  req.message_request_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL;
  req.file_containing_symbol = "grpc.health.v1.HealthCheckResponse.ServingStatus";
  r = reflect(t, &req);
  assert_int_equal(
      r->message_response_case,
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE);
  assert_true(r->file_descriptor_response->n_file_descriptor_proto >= 1);
  ProtobufCBinaryData *b = &r->file_descriptor_response->file_descriptor_proto[0];
  Google__Protobuf__FileDescriptorProto *fd =
      google__protobuf__file_descriptor_proto__unpack(NULL, b->len, b->data);
  assert_non_null(fd);
  assert_string_equal(fd->name, "grpc/health/v1/health.proto");
  assert_int_equal(fd->n_service, 1);
  assert_int_equal(fd->service[0]->n_method, 2); /* Check and Watch */
  protobuf_c_message_free_unpacked(&fd->base, NULL);
  protobuf_c_message_free_unpacked(&r->base, NULL);

  /* The test service is not in the set built from protos/: NOT_FOUND, and the stream goes on. */
  req.file_containing_symbol = "hdtest.v1.RpcTest";
  r = reflect(t, &req);
  assert_int_equal(
      r->message_response_case,
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE);
  assert_int_equal(r->error_response->error_code, HD_NOT_FOUND);
  protobuf_c_message_free_unpacked(&r->base, NULL);
  req.message_request_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME;
  req.file_by_filename = "helpdesk/v1/tickets.proto"; /* in the set, not a file of this server */
  r = reflect(t, &req);
  assert_int_equal(r->error_response->error_code, HD_NOT_FOUND);
  protobuf_c_message_free_unpacked(&r->base, NULL);
  ts_close_send(t);
  assert_null(ts_recv(t, &grpc__reflection__v1__server_reflection_response__descriptor));
  assert_int_equal(ts_status(t), GRPC_STATUS_OK);
  ts_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_server_stream_sends_every_message_in_order_then_ok,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_stream_ends_with_the_request_id_and_the_errors_details,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_bidi_echoes_each_message_until_the_client_closes, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_stream_without_token_is_unauthenticated_and_never_runs,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_streams_past_the_cap_are_resource_exhausted_and_unary_calls_still_served, setup,
          teardown),
      cmocka_unit_test_setup_teardown(test_client_cancel_ends_the_handler_with_cancelled, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_deadline_ends_a_held_stream_with_deadline_exceeded,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_a_reader_that_never_reads_is_cut_off_by_its_bounded_buffer, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_shutdown_ends_open_streams_unavailable_without_waiting_the_grace, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_health_watch_sends_the_status_then_each_change_of_the_probe, setup, teardown),
      cmocka_unit_test_setup_teardown(
          test_reflection_lists_services_and_finds_files_by_name_and_symbol, setup, teardown),
  };
  return cmocka_run_group_tests_name("rpc_stream", tests, NULL, NULL);
}
