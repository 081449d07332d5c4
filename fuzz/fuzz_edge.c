/* libFuzzer target for the request edge of every method of every service: the raw bytes go
 * through the method table's role check, the NUL check and unpacking (rpc/edge.h, the code
 * rpc_dispatch runs) and then the method's handler, whose validation runs up to its first store
 * call. The worker's MariaDB and Redis handles are real ones pointed at a local port that is bound
 * and never listens, so the first store call fails at once with UNAVAILABLE: what is fuzzed past
 * validation is the handlers' path for an unreachable store, which must not crash or leak.
 *
 * Input (fuzz_input.h): byte 0 picks the method, byte 1 the caller, the rest is the request
 * message as it comes off the wire.
 *
 * Findings abort (libFuzzer saves the input): what ASan and UBSan report, and a handler breaking
 * the dispatcher's contract (failing without a status, answering OK with a status set). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_input.h"
#include "log/log.h"
#include "rpc/edge.h"

/* The same cap rpc_dispatch gives a call's arena. */
#define FUZZ_ARENA_SLACK  (64u << 20)
#define FUZZ_MAX_SERVICES 8

/* What every input shares, built once by LLVMFuzzerInitialize and only read afterwards: libFuzzer
 * gives its entry point no context, so this one static is where it lives. */
typedef struct fuzz_ctx {
  int closed_port_fd; /* bound to 127.0.0.1:closed_port, never listening: connects are refused */
  unsigned closed_port;
  hd_clock clock;
  hd_svc_env env[FUZZ_MAX_SERVICES];
  hd_worker worker; /* db and kv pointed at closed_port */
  hd_principal callers[FUZZ_N_CALLERS];
  size_t n_methods;
  bool verbose; /* HD_FUZZ_VERBOSE set: one line per input saying how its call ended */
} fuzz_ctx;

static fuzz_ctx fuzz__ctx;

/* Binds a TCP socket to a free local port without listening on it: a connect to that port is
 * refused at once, and no other process can take the port while the fuzzer runs. */
static int fuzz__closed_port(fuzz_ctx *x) {
  x->closed_port_fd = socket(AF_INET, SOCK_STREAM, 0);
  if (x->closed_port_fd < 0) return -1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof a;
  if (bind(x->closed_port_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
      getsockname(x->closed_port_fd, (struct sockaddr *)&a, &alen) != 0)
    return -1;
  x->closed_port = ntohs(a.sin_port);
  return 0;
}

/* Builds the environment of every service as hd_svc_start does (its configuration and its own
 * setup), with the manual clock and the stores pointed at the closed port. */
static int fuzz__init(fuzz_ctx *x, hd_err *err) {
  x->verbose = getenv("HD_FUZZ_VERBOSE") != NULL;
  hd_log_setup("fuzz", HD_LOG_ERROR); /* a log line per refused input would be the run's cost */
  if (fuzz__closed_port(x) != 0)
    return hd_err_set(err, HD_INTERNAL, "cannot bind a local port for the stores to miss");
  hd_clock_init_manual(&x->clock, FUZZ_CLOCK_START_US);
  size_t n_services;
  const hd_service_def *const *services = fuzz_services(&n_services);
  if (n_services > FUZZ_MAX_SERVICES)
    return hd_err_set(err, HD_INTERNAL, "raise FUZZ_MAX_SERVICES to %zu", n_services);
  for (size_t s = 0; s < n_services; s++) {
    const hd_service_def *def = services[s];
    hd_svc_env *env = &x->env[s];
    if (hd_common_config_load(def->name, def->default_port, &env->config, err) != 0) return -1;
    if (hd_metrics_new(&env->metrics, err) != 0) return -1;
    env->clock = &x->clock;
    env->auth = (hd_auth_config){.secret = "fuzz", .secret_len = 4, .issuer = "fuzz"};
    env->db = (hd_db_config){.host = "127.0.0.1",
                             .port = x->closed_port,
                             .user = "fuzz",
                             .database = "hd_fuzz",
                             .connect_timeout_s = 1,
                             .rw_timeout_s = 1};
    env->kv = (hd_kv_config){.host = "127.0.0.1", .port = x->closed_port, .timeout_ms = 100};
    if (def->setup && def->setup(env, err) != 0) return -1;
  }
  /* One worker serves every service: its handles hold no state of a service. */
  if (hd_db_new(&x->env[0].db, &x->worker.db, err) != 0) return -1;
  if (hd_kv_new(&x->env[0].kv, &x->worker.kv, err) != 0) return -1;
  for (size_t i = 0; i < FUZZ_N_CALLERS; i++) fuzz_caller(i, &x->callers[i]);
  x->n_methods = fuzz_methods_count();
  if (x->n_methods == 0) return hd_err_set(err, HD_INTERNAL, "no service has a method");
  if (x->n_methods > FUZZ_MAX_METHODS)
    return hd_err_set(err, HD_INTERNAL, "%zu methods: the selector needs a second byte",
                      x->n_methods);
  return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  hd_err err = {0};
  if (fuzz__init(&fuzz__ctx, &err) != 0) {
    fprintf(stderr, "fuzz_edge: cannot start: %s\n", err.msg);
    exit(1);
  }
  return 0;
}

/* Stops the run on a handler that breaks the dispatcher's contract. */
static void fuzz__broken(const fuzz_method *m, const hd_call *call, const char *what) {
  fprintf(stderr, "fuzz_edge: %s/%s %s (code %d, \"%s\")\n", m->def->name, m->md->name, what,
          (int)call->err.code, call->err.msg);
  abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const fuzz_ctx *x = &fuzz__ctx;
  if (size < FUZZ_INPUT_HEADER) return 0;
  fuzz_method m;
  if (fuzz_method_at(data[0] % x->n_methods, &m) != 0) abort();
  const uint8_t *raw = data + FUZZ_INPUT_HEADER;
  const size_t len = size - FUZZ_INPUT_HEADER;

  char path[256];
  snprintf(path, sizeof path, "/%s/%s", m.def->descriptor->name, m.md->name);
  hd_call call;
  memset(&call, 0, sizeof call);
  call.method = path;
  call.request_id = "fuzz";
  call.deadline_us = INT64_MAX;
  call.service = (void *)&x->env[m.service_index];
  call.worker = (void *)&x->worker;
  /* A public method runs without a principal, as the dispatcher runs it. */
  if (!m.impl || !(m.impl->flags & HD_METHOD_PUBLIC))
    call.principal = &x->callers[data[1] % FUZZ_N_CALLERS];
  call.arena = hd_arena_new(len * 2 + FUZZ_ARENA_SLACK);
  if (!call.arena) abort();

  ProtobufCMessage *req = NULL;
  if (m.impl && call.principal && hd_rpc_edge_roles(&call, m.impl->roles, m.impl->roles_why) != 0)
    goto done;
  if (hd_rpc_edge_unpack(&call, m.md->input, raw, len, &req) != 0) goto done;
  if (!m.impl || !m.impl->fn) goto done; /* no handler yet: UNIMPLEMENTED after the edge */
  ProtobufCMessage *resp = hd_arena_new_message(call.arena, m.md->output);
  if (!resp) abort();
  if (m.impl->fn(&call, req, resp) != 0) {
    if (call.err.code == HD_OK) fuzz__broken(&m, &call, "failed without a status");
    if (call.err.msg[0] == '\0') fuzz__broken(&m, &call, "failed without a message");
  } else {
    if (call.err.code != HD_OK) fuzz__broken(&m, &call, "answered OK with a status set");
    /* What the dispatcher does next with an answer: pack it. */
    size_t n = protobuf_c_message_get_packed_size(resp);
    uint8_t *out = malloc(n ? n : 1);
    if (!out) abort();
    if (protobuf_c_message_pack(resp, out) != n) fuzz__broken(&m, &call, "packed a short reply");
    free(out);
  }
done:
  if (x->verbose)
    fprintf(stderr, "fuzz_edge: %s/%s as %s: %s %s\n", m.def->name, m.md->name,
            call.principal ? call.principal->user_id : "(public)", hd_code_name(call.err.code),
            call.err.msg);
  hd_arena_free(call.arena);
  return 0;
}
