/* One slow reader cannot take the memory: clients that open many streams and never read their
 * 4 MiB replies get at most HELPDESK_MAX_STREAMS streams per connection, and the large replies the
 * server holds unread stay within half of HELPDESK_MEMORY_LIMIT_BYTES: past it calls answer
 * RESOURCE_EXHAUSTED (a small status, which the client does receive) instead of piling up. The
 * server runs in-process (the echo service on the shared runtime); its RSS is reported. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "echo_service.h"
#include "svc_fixture.h"

#define CHANNELS     8
#define PER_CHANNEL  12 /* more than MAX_STREAMS: the rest wait on the client */
#define MAX_STREAMS  "8"
#define MEMORY_LIMIT (64LL << 20)
#define REPLY_BYTES  (4u << 20)

typedef struct slow_call {
  grpc_call *call;
  grpc_metadata_array trailing;
  grpc_status_code status;
  grpc_slice details;
  bool done;
} slow_call;

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) kib = atol(line + 6);
  if (f) fclose(f);
  return kib;
}

static void test_unread_replies_stay_within_the_memory_limit(void **state) {
  (void)state;
  char limit[32];
  snprintf(limit, sizeof limit, "%lld", MEMORY_LIMIT);
  setenv("HELPDESK_MAX_STREAMS", MAX_STREAMS, 1);
  setenv("HELPDESK_MEMORY_LIMIT_BYTES", limit, 1);
  setenv("HELPDESK_MAX_MESSAGE_BYTES", "16777216", 1);
  hd_fixture f;
  assert_int_equal(hd_fixture_start(&f, &hd_test_echo_def), 0);
  char *tok = hd_fixture_token(&f, "acme", "agent-1", HD_ROLE_AGENT);
  char auth[2048];
  snprintf(auth, sizeof auth, "Bearer %s", tok);

  /* One request, sent on every stream: text of REPLY_BYTES, echoed back. */
  char *text = malloc(REPLY_BYTES + 1);
  memset(text, 'r', REPLY_BYTES);
  text[REPLY_BYTES] = '\0';
  Hdtest__V1__EchoRequest req = HDTEST__V1__ECHO_REQUEST__INIT;
  req.text = text;
  size_t len = protobuf_c_message_get_packed_size(&req.base);
  grpc_slice payload = grpc_slice_malloc(len);
  protobuf_c_message_pack(&req.base, GRPC_SLICE_START_PTR(payload));
  free(text);

  long rss_before = rss_kib();
  grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
  grpc_channel_credentials *creds = grpc_insecure_credentials_create();
  grpc_arg arg = {.type = GRPC_ARG_INTEGER,
                  .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
                  .value.integer = 16 << 20};
  grpc_arg local = {.type = GRPC_ARG_INTEGER,
                    .key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL,
                    .value.integer = 1}; /* one connection per channel */
  grpc_arg both[] = {arg, local};
  grpc_channel_args cargs = {.num_args = 2, .args = both};
  grpc_channel *ch[CHANNELS];
  static slow_call calls[CHANNELS * PER_CHANNEL];
  grpc_slice method = grpc_slice_from_static_string(HD_TEST_ECHO);
  grpc_metadata md = {.key = grpc_slice_from_static_string("authorization"),
                      .value = grpc_slice_from_copied_string(auth)};
  for (int c = 0; c < CHANNELS; c++) {
    ch[c] = grpc_channel_create(f.target, creds, &cargs);
    for (int k = 0; k < PER_CHANNEL; k++) {
      slow_call *sc = &calls[c * PER_CHANNEL + k];
      sc->call = grpc_channel_create_call(ch[c], NULL, GRPC_PROPAGATE_DEFAULTS, cq, method, NULL,
                                          gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
      grpc_metadata_array_init(&sc->trailing);
      grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&payload, 1);
      grpc_op ops[4];
      memset(ops, 0, sizeof ops);
      ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
      ops[0].data.send_initial_metadata.count = 1;
      ops[0].data.send_initial_metadata.metadata = &md;
      ops[1].op = GRPC_OP_SEND_MESSAGE;
      ops[1].data.send_message.send_message = bb;
      ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
      ops[3].op = GRPC_OP_RECV_STATUS_ON_CLIENT; /* never GRPC_OP_RECV_MESSAGE: a slow reader */
      ops[3].data.recv_status_on_client.trailing_metadata = &sc->trailing;
      ops[3].data.recv_status_on_client.status = &sc->status;
      ops[3].data.recv_status_on_client.status_details = &sc->details;
      assert_int_equal(grpc_call_start_batch(sc->call, ops, 4, sc, NULL), GRPC_CALL_OK);
      grpc_byte_buffer_destroy(bb);
    }
  }
  /* Let the server take what it will: every call it answered with a status has told us so. */
  int exhausted = 0, other = 0;
  gpr_timespec until =
      gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_seconds(8, GPR_TIMESPAN));
  for (;;) {
    grpc_event ev = grpc_completion_queue_next(cq, until, NULL);
    if (ev.type != GRPC_OP_COMPLETE) break;
    slow_call *sc = ev.tag;
    sc->done = true;
    if (sc->status == GRPC_STATUS_RESOURCE_EXHAUSTED) {
      if (exhausted++ == 0)
        fprintf(stderr, "first refusal: %.*s\n", (int)GRPC_SLICE_LENGTH(sc->details),
                (const char *)GRPC_SLICE_START_PTR(sc->details));
    } else {
      if (other++ == 0)
        fprintf(stderr, "first other: %d %.*s\n", (int)sc->status,
                (int)GRPC_SLICE_LENGTH(sc->details),
                (const char *)GRPC_SLICE_START_PTR(sc->details));
    }
  }
  long rss_held = rss_kib();
  int pending = CHANNELS * PER_CHANNEL - exhausted - other;
  fprintf(stderr,
          "slow readers: %d calls of %u MiB replies on %d connections (max %s streams each, "
          "limit %lld MiB): %d RESOURCE_EXHAUSTED, %d other, %d unread or waiting for a stream; "
          "process RSS %ld MiB before, %ld MiB while held (+%ld MiB, client and server)\n",
          CHANNELS * PER_CHANNEL, REPLY_BYTES >> 20, CHANNELS, MAX_STREAMS, MEMORY_LIMIT >> 20,
          exhausted, other, pending, rss_before >> 10, rss_held >> 10,
          (rss_held - rss_before) >> 10);
  /* Refused: RESOURCE_EXHAUSTED by the reply budget, or streams gRPC's quota reclaimed. */
  assert_true(exhausted + other > 0);
  /* At most the reply budget of replies held: the rest were refused or never got a stream. */
  assert_true(pending <= CHANNELS * atoi(MAX_STREAMS));
  /* Client and server share the process: the bound is loose, the figures are reported. */
  assert_true((rss_held - rss_before) * 1024 < 4 * MEMORY_LIMIT);

  for (int i = 0; i < CHANNELS * PER_CHANNEL; i++) grpc_call_cancel(calls[i].call, NULL);
  for (int left = pending; left > 0;) {
    grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type == GRPC_OP_COMPLETE) left--;
  }
  for (int i = 0; i < CHANNELS * PER_CHANNEL; i++) {
    grpc_call_unref(calls[i].call);
    grpc_metadata_array_destroy(&calls[i].trailing);
    grpc_slice_unref(calls[i].details);
  }
  for (int c = 0; c < CHANNELS; c++) grpc_channel_destroy(ch[c]);
  grpc_channel_credentials_release(creds);
  grpc_completion_queue_shutdown(cq);
  while (grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL).type !=
         GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(cq);
  grpc_slice_unref(payload);
  grpc_slice_unref(md.value);
  free(tok);
  hd_fixture_stop(&f);
  unsetenv("HELPDESK_MAX_STREAMS");
  unsetenv("HELPDESK_MEMORY_LIMIT_BYTES");
  unsetenv("HELPDESK_MAX_MESSAGE_BYTES");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unread_replies_stay_within_the_memory_limit),
  };
  return cmocka_run_group_tests_name("slow_readers", tests, NULL, NULL);
}
