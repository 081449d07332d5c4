/* One slow reader cannot take the memory, on the real helpdesk-tickets binary in a process of its
 * own (HELPDESK_MAX_STREAMS 8, HELPDESK_MEMORY_LIMIT_BYTES 64 MiB): clients on several connections
 * open many GetAttachment calls for a 5 MiB attachment and never read the replies. The server's
 * own resident memory is read from /proc/<pid>/status: its peak (VmHWM, reset once the server is
 * warm and idle) stays within the idle baseline (VmRSS then) plus the memory limit, and the calls
 * past the limit are refused with RESOURCE_EXHAUSTED, which the client does receive. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "auth/auth.h"
#include "grpc/health/v1/health.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "rpc/client.h"
#include "test_env.h"

#define TICKETS_BIN  HD_BINARY_DIR "/services/helpdesk-tickets"
#define SVC          "/helpdesk.v1.TicketService/"
#define SECRET       "slow-readers-test-secret"
#define CHANNELS     8
#define PER_CHANNEL  12 /* more than MAX_STREAMS: the rest wait on the client */
#define MAX_STREAMS  "8"
#define MEMORY_LIMIT (64LL << 20)
#define FILE_BYTES   5242880 /* the most a ticket may hold */
/* Once no call has ended for this long, the server holds what it will hold. */
#define SETTLE_S 3

typedef struct server {
  pid_t pid;
  int port;
  char log_path[128];
  char db_name[64];
} server;

typedef struct slow_call {
  grpc_call *call;
  grpc_metadata_array initial, trailing;
  grpc_status_code status;
  grpc_slice details;
  bool done;
} slow_call;

/* A field of /proc/<pid>/status in KiB ("VmRSS:", "VmHWM:"); -1 when absent. */
static long proc_kib(pid_t pid, const char *field) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  long kib = -1;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, field, strlen(field)) == 0) kib = atol(line + strlen(field));
  if (f) fclose(f);
  return kib;
}

/* Resets the process's peak resident size (VmHWM) to its current one (proc(5), clear_refs 5). */
static void reset_peak(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/clear_refs", (int)pid);
  int fd = open(path, O_WRONLY);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "5", 1), 1);
  close(fd);
}

/* The whole log; caller frees. */
static char *read_log(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  rewind(f);
  char *buf = malloc((size_t)n + 1);
  size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
  if (buf) buf[got] = '\0';
  fclose(f);
  return buf;
}

static size_t count_of(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

/* Starts the binary, its stderr in s->log_path, and waits for its port. */
static void start_server(server *s) {
  char n[32];
  snprintf(s->log_path, sizeof s->log_path, "/tmp/hd-slow-%s.log",
           hd_test_unique(n, sizeof n, "r"));
  hd_test_unique(s->db_name, sizeof s->db_name, "hdt_slow");
  char limit[32];
  snprintf(limit, sizeof limit, "%lld", MEMORY_LIMIT);
  s->pid = fork();
  assert_true(s->pid >= 0);
  if (s->pid == 0) {
    int fd = open(s->log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0 || dup2(fd, STDERR_FILENO) < 0) _exit(127);
    setenv("HELPDESK_TICKETS_ADDR", "127.0.0.1:0", 1);
    setenv("HELPDESK_METRICS_ADDR", "off", 1);
    setenv("HELPDESK_TICKETS_DB_NAME", s->db_name, 1);
    setenv("HELPDESK_AUTH_SECRET", SECRET, 1);
    setenv("HELPDESK_MAX_STREAMS", MAX_STREAMS, 1);
    setenv("HELPDESK_MEMORY_LIMIT_BYTES", limit, 1);
    setenv("HELPDESK_WORKERS", "4", 1);
    setenv("HELPDESK_SHUTDOWN_DELAY", "0s", 1);
    setenv("HELPDESK_LOG_LEVEL", "info", 1);
    execl(TICKETS_BIN, TICKETS_BIN, (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 400 && s->port == 0; i++) {
    usleep(50000);
    char *log = read_log(s->log_path);
    const char *line = log ? strstr(log, "event=rpc.listening") : NULL;
    const char *port = line ? strstr(line, " port=") : NULL;
    if (port) s->port = atoi(port + 6);
    free(log);
  }
  assert_true(s->port > 0);
}

static void wait_serving(hd_client *c) {
  int status = -1;
  for (int i = 0; i < 400 && status != 1; i++) {
    Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
    hd_arena *a = hd_arena_new(1 << 16);
    ProtobufCMessage *resp = NULL;
    hd_err err = {0};
    if (hd_client_call(c, "/grpc.health.v1.Health/Check", NULL, 0, &req.base,
                       &grpc__health__v1__health_check_response__descriptor, a, &resp, &err) == 0)
      status = (int)((Grpc__Health__V1__HealthCheckResponse *)resp)->status;
    hd_arena_free(a);
    if (status != 1) usleep(50000);
  }
  assert_int_equal(status, 1);
}

/* A ticket with one attachment of FILE_BYTES (a PNG); its ids in *ticket and *att. */
static void make_attachment(hd_client *c, const char *tok, int64_t *ticket, int64_t *att) {
  hd_arena *a = hd_arena_new(32 << 20);
  hd_err err = {0};
  ProtobufCMessage *resp = NULL;
  char key[64];
  Helpdesk__V1__CreateTicketRequest ct = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
  ct.idempotency_key = (char *)hd_test_unique(key, sizeof key, "slow");
  ct.customer_id = "cust-1";
  ct.subject = "The screenshot of the error";
  ct.description = "Attached, 5 MiB";
  ct.service_type = HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_SHARED;
  ct.issue_type = HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_TECHNICAL;
  if (hd_client_call(c, SVC "CreateTicket", tok, 0, &ct.base, &helpdesk__v1__ticket__descriptor, a,
                     &resp, &err) != 0)
    fail_msg("CreateTicket: %s %s", hd_code_name(err.code), err.msg);
  *ticket = ((Helpdesk__V1__Ticket *)resp)->id;
  static const unsigned char png[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  uint8_t *bytes = calloc(1, FILE_BYTES);
  assert_non_null(bytes);
  memcpy(bytes, png, sizeof png);
  Helpdesk__V1__AddAttachmentRequest aa = HELPDESK__V1__ADD_ATTACHMENT_REQUEST__INIT;
  aa.ticket_id = *ticket;
  aa.filename = "screen.png";
  aa.content.data = bytes;
  aa.content.len = FILE_BYTES;
  if (hd_client_call(c, SVC "AddAttachment", tok, 0, &aa.base,
                     &helpdesk__v1__attachment__descriptor, a, &resp, &err) != 0)
    fail_msg("AddAttachment: %s %s", hd_code_name(err.code), err.msg);
  *att = ((Helpdesk__V1__Attachment *)resp)->id;
  free(bytes);
  hd_arena_free(a);
}

/* One GetAttachment read in full (the server warm: its workers have served one). */
static void read_attachment(hd_client *c, const char *tok, int64_t ticket, int64_t att) {
  hd_arena *a = hd_arena_new(32 << 20);
  hd_err err = {0};
  ProtobufCMessage *resp = NULL;
  Helpdesk__V1__GetAttachmentRequest ga = HELPDESK__V1__GET_ATTACHMENT_REQUEST__INIT;
  ga.ticket_id = ticket;
  ga.attachment_id = att;
  assert_int_equal(
      hd_client_call(c, SVC "GetAttachment", tok, 0, &ga.base,
                     &helpdesk__v1__get_attachment_response__descriptor, a, &resp, &err),
      0);
  assert_int_equal(((Helpdesk__V1__GetAttachmentResponse *)resp)->content.len, FILE_BYTES);
  hd_arena_free(a);
}

static void stop_server(server *s) {
  assert_int_equal(kill(s->pid, SIGTERM), 0);
  int wstatus = 0;
  assert_int_equal(waitpid(s->pid, &wstatus, 0), s->pid);
  s->pid = 0;
  assert_true(WIFEXITED(wstatus));
  assert_int_equal(WEXITSTATUS(wstatus), 0);
  hd_test_drop_database(s->db_name);
}

static int setup(void **state) {
  *state = calloc(1, sizeof(server));
  return *state ? 0 : -1;
}

/* A failed assertion leaves the server running: it is killed here. */
static int teardown(void **state) {
  server *s = *state;
  if (s->pid > 0) {
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    fprintf(stderr, "server log kept in %s\n", s->log_path);
  }
  free(s);
  return 0;
}

static void test_unread_replies_keep_the_server_within_its_memory_limit(void **state) {
  server *srv = *state;
  start_server(srv);
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%d", srv->port);
  hd_client_config cc = {.target = target, .default_timeout_us = 20 * HD_US_PER_S};
  hd_client *client = NULL;
  hd_err err = {0};
  assert_int_equal(hd_client_new(&cc, &client, &err), 0);
  wait_serving(client);
  long cold = proc_kib(srv->pid, "VmRSS:");
  hd_auth_config ac = {
      .secret = SECRET, .secret_len = strlen(SECRET), .issuer = "helpdesk", .leeway_s = 30};
  char *tok = NULL;
  assert_int_equal(
      hd_auth_mint(&ac, "acme", "agent-1", HD_ROLE_AGENT, time(NULL), 3600, &tok, &err), 0);
  int64_t ticket = 0, att = 0;
  make_attachment(client, tok, &ticket, &att);
  for (int i = 0; i < 4; i++) read_attachment(client, tok, ticket, att);

  /* The baseline: warm and idle. The peak is counted from here. */
  sleep(1);
  long baseline = proc_kib(srv->pid, "VmRSS:");
  reset_peak(srv->pid);

  Helpdesk__V1__GetAttachmentRequest ga = HELPDESK__V1__GET_ATTACHMENT_REQUEST__INIT;
  ga.ticket_id = ticket;
  ga.attachment_id = att;
  size_t len = protobuf_c_message_get_packed_size(&ga.base);
  grpc_slice payload = grpc_slice_malloc(len);
  protobuf_c_message_pack(&ga.base, GRPC_SLICE_START_PTR(payload));
  char auth[HD_AUTH_TOKEN_MAX + 16];
  snprintf(auth, sizeof auth, "Bearer %s", tok);

  grpc_completion_queue *cq = grpc_completion_queue_create_for_next(NULL);
  grpc_channel_credentials *creds = grpc_insecure_credentials_create();
  grpc_arg args[] = {
      {.type = GRPC_ARG_INTEGER,
       .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
       .value.integer = 16 << 20},
      {.type = GRPC_ARG_INTEGER,
       .key = GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL,
       .value.integer = 1}, /* one connection per channel */
  };
  grpc_channel_args cargs = {.num_args = 2, .args = args};
  grpc_channel *ch[CHANNELS];
  static slow_call calls[CHANNELS * PER_CHANNEL];
  grpc_slice method = grpc_slice_from_static_string(SVC "GetAttachment");
  grpc_metadata md = {.key = grpc_slice_from_static_string("authorization"),
                      .value = grpc_slice_from_copied_string(auth)};
  for (int c = 0; c < CHANNELS; c++) {
    ch[c] = grpc_channel_create(target, creds, &cargs);
    for (int k = 0; k < PER_CHANNEL; k++) {
      slow_call *sc = &calls[c * PER_CHANNEL + k];
      sc->call = grpc_channel_create_call(ch[c], NULL, GRPC_PROPAGATE_DEFAULTS, cq, method, NULL,
                                          gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
      grpc_metadata_array_init(&sc->initial);
      grpc_metadata_array_init(&sc->trailing);
      grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&payload, 1);
      grpc_op ops[5];
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
      /* Headers are read (gRPC core 1.51's client delivers no status without them). */
      ops[4].op = GRPC_OP_RECV_INITIAL_METADATA;
      ops[4].data.recv_initial_metadata.recv_initial_metadata = &sc->initial;
      assert_int_equal(grpc_call_start_batch(sc->call, ops, 5, sc, NULL), GRPC_CALL_OK);
      grpc_byte_buffer_destroy(bb);
    }
  }
  /* Until no call has ended for SETTLE_S: what is left is held by the server, unread. */
  int exhausted = 0, other = 0;
  long rss_max = 0;
  int64_t quiet_until = hd_monotonic_us() + SETTLE_S * HD_US_PER_S;
  while (hd_monotonic_us() < quiet_until) {
    grpc_event ev = grpc_completion_queue_next(
        cq, gpr_time_add(gpr_now(GPR_CLOCK_REALTIME), gpr_time_from_millis(100, GPR_TIMESPAN)),
        NULL);
    long rss = proc_kib(srv->pid, "VmRSS:");
    if (rss > rss_max) rss_max = rss;
    if (ev.type != GRPC_OP_COMPLETE) continue;
    quiet_until = hd_monotonic_us() + SETTLE_S * HD_US_PER_S;
    slow_call *sc = ev.tag;
    sc->done = true;
    if (sc->status == GRPC_STATUS_RESOURCE_EXHAUSTED) {
      if (exhausted++ == 0)
        fprintf(stderr, "first refusal: %.*s\n", (int)GRPC_SLICE_LENGTH(sc->details),
                (const char *)GRPC_SLICE_START_PTR(sc->details));
    } else if (other++ == 0) {
      fprintf(stderr, "first other: %d %.*s\n", (int)sc->status,
              (int)GRPC_SLICE_LENGTH(sc->details), (const char *)GRPC_SLICE_START_PTR(sc->details));
    }
  }
  long peak = proc_kib(srv->pid, "VmHWM:");
  long held = proc_kib(srv->pid, "VmRSS:");
  int pending = CHANNELS * PER_CHANNEL - exhausted - other;
  char *log = read_log(srv->log_path);
  assert_non_null(log);
  long refused_logged =
      (long)count_of(log, "method=" SVC "GetAttachment status=RESOURCE_EXHAUSTED");
  fprintf(
      stderr,
      "slow readers: %d GetAttachment calls of %d MiB on %d connections (max %s streams each, "
      "HELPDESK_MEMORY_LIMIT_BYTES %lld MiB): %d RESOURCE_EXHAUSTED (%ld in the server's log), "
      "%d other, %d unread or waiting for a stream; server RSS: %ld MiB cold, idle baseline (warm) "
      "%ld MiB, peak "
      "(VmHWM) %ld MiB (+%ld MiB), sampled max %ld MiB, while held %ld MiB\n",
      CHANNELS * PER_CHANNEL, FILE_BYTES >> 20, CHANNELS, MAX_STREAMS, MEMORY_LIMIT >> 20,
      exhausted, refused_logged, other, pending, cold >> 10, baseline >> 10, peak >> 10,
      (peak - baseline) >> 10, rss_max >> 10, held >> 10);
  /* Past the limit calls are refused, with a status the client receives, and the server says so */
  assert_true(exhausted > 0);
  assert_true(refused_logged >= exhausted);
  assert_int_equal(other, 0);
  /* At most MAX_STREAMS per connection are served at once: the rest wait on the client. */
  assert_true(pending <= CHANNELS * atoi(MAX_STREAMS));
  /* The server's own memory: its peak within the idle baseline plus the limit. */
  assert_true(baseline > 0 && peak >= baseline);
  assert_true((peak - baseline) * 1024LL <= MEMORY_LIMIT);
  /* A call the quota or the client reset is not logged as a request without a message. */
  assert_null(strstr(log, "the call carried no request message"));

  for (int i = 0; i < CHANNELS * PER_CHANNEL; i++) grpc_call_cancel(calls[i].call, NULL);
  for (int left = pending; left > 0;) {
    grpc_event ev = grpc_completion_queue_next(cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type == GRPC_OP_COMPLETE) left--;
  }
  for (int i = 0; i < CHANNELS * PER_CHANNEL; i++) {
    grpc_call_unref(calls[i].call);
    grpc_metadata_array_destroy(&calls[i].initial);
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
  hd_client_destroy(client);
  stop_server(srv);
  free(log);
  unlink(srv->log_path);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_unread_replies_keep_the_server_within_its_memory_limit,
                                      setup, teardown),
  };
  return cmocka_run_group_tests_name("slow_readers", tests, NULL, NULL);
}
