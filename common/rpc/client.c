/* Unary gRPC calls on the C core client (one channel per target, a pluck queue per call), and
 * calls between services on them (hd_peer: identity, deadline, retries, the status table). */
#include "rpc/client.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

#include "config/config.h"
#include "log/log.h"
#include "rpc/client_internal.h"
#include "rpc/status_details.h"

static int client__read_file(const char *path, char **out, hd_err *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return hd_err_set(err, HD_FAILED_PRECONDITION, "cannot open TLS file %s", path);
  char *buf = malloc((1 << 20) + 1);
  size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
  fclose(f);
  if (!buf) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  buf[n] = '\0';
  *out = buf;
  return 0;
}

int hd_client_new(const hd_client_config *cfg, hd_client **out, hd_err *err) {
  hd_client *c = calloc(1, sizeof *c);
  if (!c) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory creating a client");
  c->default_timeout_us = cfg->default_timeout_us > 0 ? cfg->default_timeout_us : 5000000;
  int64_t max = cfg->max_message_bytes > 0 ? cfg->max_message_bytes : (16 << 20);
  grpc_init();
  grpc_arg args[5];
  size_t n_args = 2;
  args[0].type = GRPC_ARG_INTEGER;
  args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
  args[0].value.integer = max > INT32_MAX ? INT32_MAX : (int)max;
  args[1].type = GRPC_ARG_INTEGER;
  args[1].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
  args[1].value.integer = -1;      /* let the server decide what is too large */
  if (cfg->reconnect_max_ms > 0) { /* a restarted peer is reached again within that */
    char *keys[3] = {GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, GRPC_ARG_MIN_RECONNECT_BACKOFF_MS,
                     GRPC_ARG_MAX_RECONNECT_BACKOFF_MS};
    for (size_t i = 0; i < 3; i++) {
      args[n_args].type = GRPC_ARG_INTEGER;
      args[n_args].key = keys[i];
      args[n_args].value.integer = i < 2 ? 100 : cfg->reconnect_max_ms;
      n_args++;
    }
  }
  grpc_channel_args chargs = {.num_args = n_args, .args = args};
  grpc_channel_credentials *creds;
  if (cfg->tls_ca_file) {
    char *pem = NULL, *cert = NULL, *key = NULL;
    const bool pair = cfg->tls_cert_file && cfg->tls_key_file;
    if (client__read_file(cfg->tls_ca_file, &pem, err) != 0 ||
        (pair && (client__read_file(cfg->tls_cert_file, &cert, err) != 0 ||
                  client__read_file(cfg->tls_key_file, &key, err) != 0))) {
      free(pem);
      free(cert);
      free(key);
      free(c);
      grpc_shutdown();
      return -1;
    }
    grpc_ssl_pem_key_cert_pair kc = {.private_key = key, .cert_chain = cert};
    creds = grpc_ssl_credentials_create(pem, pair ? &kc : NULL, NULL, NULL);
    free(pem);
    free(cert);
    free(key);
  } else {
    creds = grpc_insecure_credentials_create();
  }
  c->channel = grpc_channel_create(cfg->target, creds, &chargs);
  grpc_channel_credentials_release(creds);
  *out = c;
  return 0;
}

void hd_client_destroy(hd_client *c) {
  if (!c) return;
  grpc_channel_destroy(c->channel);
  free(c);
  grpc_shutdown();
}

void client_read_details(const grpc_metadata_array *md, hd_err *err) {
  for (size_t i = 0; i < md->count; i++)
    if (grpc_slice_str_cmp(md->metadata[i].key, HD_RPC_STATUS_DETAILS_KEY) == 0) {
      const grpc_slice v = md->metadata[i].value;
      hd_rpc_status_details_unpack(GRPC_SLICE_START_PTR(v), GRPC_SLICE_LENGTH(v), err);
      return;
    }
}

/* One unary call: initial metadata md[0..n_md), the absolute deadline (GPR_CLOCK_MONOTONIC),
 * the request bytes. On OK the reply bytes are in the arena; otherwise -1 with err = the status
 * code and the server's message. */
static int client__unary(hd_client *c, const char *method, grpc_metadata *md, size_t n_md,
                         gpr_timespec deadline, const void *req, size_t req_len, hd_arena *arena,
                         void **resp_bytes, size_t *resp_len, hd_err *err) {
  int rc = -1;
  grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
  grpc_slice mslice = grpc_slice_from_copied_string(method);
  grpc_call *call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, mslice,
                                             NULL, deadline, NULL);
  grpc_slice_unref(mslice);

  grpc_slice req_slice = grpc_slice_from_copied_buffer(req, req_len);
  grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&req_slice, 1);
  grpc_slice_unref(req_slice);

  grpc_metadata_array initial_md, trailing_md;
  grpc_metadata_array_init(&initial_md);
  grpc_metadata_array_init(&trailing_md);
  grpc_byte_buffer *recv = NULL;
  grpc_status_code status = GRPC_STATUS_UNKNOWN;
  grpc_slice details = grpc_empty_slice();

  grpc_op ops[6];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[0].data.send_initial_metadata.count = n_md;
  ops[0].data.send_initial_metadata.metadata = n_md ? md : NULL;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = send;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
  ops[4].op = GRPC_OP_RECV_MESSAGE;
  ops[4].data.recv_message.recv_message = &recv;
  ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
  ops[5].data.recv_status_on_client.status = &status;
  ops[5].data.recv_status_on_client.status_details = &details;
  int tag = 1;
  grpc_call_error e = grpc_call_start_batch(call, ops, 6, &tag, NULL);
  if (e != GRPC_CALL_OK) {
    hd_err_set(err, HD_INTERNAL, "could not start the call to %s (error %d)", method, (int)e);
  } else {
    grpc_event ev = grpc_completion_queue_pluck(cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type != GRPC_OP_COMPLETE || !ev.success) {
      hd_err_set(err, HD_INTERNAL, "the call to %s did not complete", method);
    } else if (status != GRPC_STATUS_OK) {
      int dl = (int)GRPC_SLICE_LENGTH(details);
      hd_err_set(err, (hd_code)status, "%.*s", dl, (const char *)GRPC_SLICE_START_PTR(details));
      client_read_details(&trailing_md, err);
    } else if (!recv) {
      hd_err_set(err, HD_INTERNAL, "%s answered OK without a message", method);
    } else {
      grpc_byte_buffer_reader reader;
      grpc_byte_buffer_reader_init(&reader, recv);
      grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
      grpc_byte_buffer_reader_destroy(&reader);
      *resp_len = GRPC_SLICE_LENGTH(all);
      *resp_bytes = hd_arena_memdup(arena, GRPC_SLICE_START_PTR(all), *resp_len);
      grpc_slice_unref(all);
      if (!*resp_bytes && *resp_len)
        hd_err_set(err, HD_RESOURCE_EXHAUSTED, "reply of %zu bytes does not fit the arena",
                   *resp_len);
      else
        rc = 0;
    }
  }
  grpc_slice_unref(details);
  grpc_metadata_array_destroy(&initial_md);
  grpc_metadata_array_destroy(&trailing_md);
  if (recv) grpc_byte_buffer_destroy(recv);
  grpc_byte_buffer_destroy(send);
  grpc_call_unref(call);
  grpc_completion_queue_shutdown(cq);
  grpc_completion_queue_destroy(cq);
  return rc;
}

gpr_timespec client_deadline(int64_t timeout_us) {
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_micros(timeout_us, GPR_TIMESPAN));
}

void client_bearer(const char *token, grpc_metadata *md) {
  static const char prefix[] = "Bearer ";
  const size_t n = strlen(token);
  memset(md, 0, sizeof *md);
  md->key = grpc_slice_from_static_string("authorization");
  md->value = grpc_slice_malloc(sizeof prefix - 1 + n);
  memcpy(GRPC_SLICE_START_PTR(md->value), prefix, sizeof prefix - 1);
  memcpy(GRPC_SLICE_START_PTR(md->value) + sizeof prefix - 1, token, n);
}

int hd_client_call_raw(hd_client *c, const char *method, const char *token, int64_t timeout_us,
                       const void *req, size_t req_len, hd_arena *arena, void **resp_bytes,
                       size_t *resp_len, hd_err *err) {
  grpc_metadata md;
  if (token) client_bearer(token, &md);
  if (timeout_us <= 0) timeout_us = c->default_timeout_us;
  const int rc = client__unary(c, method, &md, token ? 1 : 0, client_deadline(timeout_us), req,
                               req_len, arena, resp_bytes, resp_len, err);
  if (token) grpc_slice_unref(md.value);
  return rc;
}

/* Packs req into the arena. */
static int client__pack(const ProtobufCMessage *req, hd_arena *arena, uint8_t **out, size_t *len,
                        hd_err *err) {
  *len = protobuf_c_message_get_packed_size(req);
  *out = hd_arena_alloc(arena, *len ? *len : 1);
  if (!*out)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "request of %zu bytes does not fit the arena",
                      *len);
  protobuf_c_message_pack(req, *out);
  return 0;
}

int hd_client_call(hd_client *c, const char *method, const char *token, int64_t timeout_us,
                   const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                   hd_arena *arena, ProtobufCMessage **resp, hd_err *err) {
  uint8_t *buf = NULL;
  size_t len = 0;
  if (client__pack(req, arena, &buf, &len, err) != 0) return -1;
  void *rb = NULL;
  size_t rl = 0;
  if (hd_client_call_raw(c, method, token, timeout_us, buf, len, arena, &rb, &rl, err) != 0)
    return -1;
  ProtobufCAllocator alloc = hd_arena_pb_allocator(arena);
  *resp = protobuf_c_message_unpack(resp_desc, &alloc, rl, rb);
  if (!*resp)
    return hd_err_set(err, HD_INTERNAL, "the reply of %s is not a valid %s", method,
                      resp_desc->name);
  return 0;
}

/* ---- calls between services ---- */

struct hd_peer {
  char name[HD_PEER_NAME_MAX + 1];
  char target[256];
  hd_client *client;
  hd_auth_identity *identity; /* borrowed */
  const hd_clock *clock;      /* borrowed; NULL → the real time */
  hd_metrics *metrics;        /* borrowed, may be NULL */
  int64_t timeout_cap_us, backoff_base_us, backoff_max_us;
  int max_attempts;
  _Atomic uint64_t jitter_seq;
};

typedef enum peer_retry {
  PEER_RETRY_NEVER,
  PEER_RETRY_ALWAYS,     /* any call: the peer applied nothing */
  PEER_RETRY_IDEMPOTENT, /* only a call marked idempotent */
} peer_retry;

/* A status of the peer, as our service answers it. */
typedef struct peer_status {
  hd_code remote;
  hd_code local;
  peer_retry retry;
  const char *says; /* NULL: the peer's message passes through as it is; else what ours says */
  const char *hint; /* NULL, or what an operator should look at, after the peer's message */
} peer_status;

/* The one mapping of a peer's status to ours (see hd_peer_call in client.h). */
static const peer_status peer__statuses[] = {
    {HD_CANCELLED, HD_UNAVAILABLE, PEER_RETRY_IDEMPOTENT, "cancelled the call", NULL},
    {HD_UNKNOWN, HD_INTERNAL, PEER_RETRY_NEVER, "failed", NULL},
    {HD_INVALID_ARGUMENT, HD_INVALID_ARGUMENT, PEER_RETRY_NEVER, NULL, NULL},
    {HD_DEADLINE_EXCEEDED, HD_DEADLINE_EXCEEDED, PEER_RETRY_IDEMPOTENT, "did not answer in time",
     NULL},
    {HD_NOT_FOUND, HD_NOT_FOUND, PEER_RETRY_NEVER, NULL, NULL},
    {HD_ALREADY_EXISTS, HD_ALREADY_EXISTS, PEER_RETRY_NEVER, NULL, NULL},
    {HD_PERMISSION_DENIED, HD_FAILED_PRECONDITION, PEER_RETRY_NEVER, "refused this service's call",
     NULL},
    {HD_RESOURCE_EXHAUSTED, HD_RESOURCE_EXHAUSTED, PEER_RETRY_NEVER, NULL, NULL},
    {HD_FAILED_PRECONDITION, HD_FAILED_PRECONDITION, PEER_RETRY_NEVER, NULL, NULL},
    {HD_ABORTED, HD_ABORTED, PEER_RETRY_NEVER, NULL, NULL},
    {HD_OUT_OF_RANGE, HD_OUT_OF_RANGE, PEER_RETRY_NEVER, NULL, NULL},
    {HD_UNIMPLEMENTED, HD_INTERNAL, PEER_RETRY_NEVER, "does not serve this method",
     "is it of another version than this service?"},
    {HD_INTERNAL, HD_INTERNAL, PEER_RETRY_NEVER, "failed", NULL},
    {HD_UNAVAILABLE, HD_UNAVAILABLE, PEER_RETRY_ALWAYS, "is unavailable", NULL},
    {HD_DATA_LOSS, HD_INTERNAL, PEER_RETRY_NEVER, "failed", NULL},
    {HD_UNAUTHENTICATED, HD_INTERNAL, PEER_RETRY_NEVER, "refused this service's token",
     "HELPDESK_AUTH_SECRET and HELPDESK_AUTH_ISSUER must be the same for every service"},
};

static const peer_status peer__unknown = {HD_UNKNOWN, HD_INTERNAL, PEER_RETRY_NEVER,
                                          "answered a status this service does not know", NULL};

static const peer_status *peer__status(hd_code remote) {
  for (size_t i = 0; i < sizeof peer__statuses / sizeof peer__statuses[0]; i++)
    if (peer__statuses[i].remote == remote) return &peer__statuses[i];
  return &peer__unknown;
}

static bool peer__name_ok(const char *name) {
  size_t n = name ? strlen(name) : 0;
  if (n == 0 || n > HD_PEER_NAME_MAX) return false;
  for (size_t i = 0; i < n; i++)
    if (!((name[i] >= 'a' && name[i] <= 'z') || name[i] == '_')) return false;
  return true;
}

int hd_peer_new(const hd_peer_config *cfg, hd_peer **out, hd_err *err) {
  if (!peer__name_ok(cfg->name))
    return hd_err_set(err, HD_INVALID_ARGUMENT, "a peer's name is 1-%d of [a-z_], not \"%.40s\"",
                      HD_PEER_NAME_MAX, cfg->name ? cfg->name : "");
  if (!cfg->target || !cfg->target[0] || strlen(cfg->target) >= sizeof((hd_peer *)0)->target)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "peer %s needs a target host:port under %zu bytes",
                      cfg->name, sizeof((hd_peer *)0)->target);
  if (!cfg->identity)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "peer %s needs this service's identity", cfg->name);
  int attempts = cfg->max_attempts ? cfg->max_attempts : HD_PEER_ATTEMPTS_DEFAULT;
  if (attempts < 1 || attempts > HD_PEER_ATTEMPTS_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "peer %s: %d attempts is not within 1..%d",
                      cfg->name, attempts, HD_PEER_ATTEMPTS_MAX);
  int64_t cap = cfg->timeout_cap_us ? cfg->timeout_cap_us : HD_PEER_TIMEOUT_DEFAULT;
  if (cap < HD_PEER_MIN_ATTEMPT_US)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "peer %s: a timeout of %lld us is too short",
                      cfg->name, (long long)cap);
  hd_peer *p = calloc(1, sizeof *p);
  if (!p) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory opening peer %s", cfg->name);
  snprintf(p->name, sizeof p->name, "%s", cfg->name);
  snprintf(p->target, sizeof p->target, "%s", cfg->target);
  p->identity = cfg->identity;
  p->clock = cfg->clock;
  p->metrics = cfg->metrics;
  p->timeout_cap_us = cap;
  p->max_attempts = attempts;
  p->backoff_base_us = cfg->backoff_base_us > 0 ? cfg->backoff_base_us : HD_PEER_BACKOFF_BASE_US;
  p->backoff_max_us = cfg->backoff_max_us > 0 ? cfg->backoff_max_us : HD_PEER_BACKOFF_MAX_US;
  hd_client_config cc = {.target = p->target,
                         .tls_ca_file = cfg->tls_ca_file,
                         .tls_cert_file = cfg->tls_cert_file,
                         .tls_key_file = cfg->tls_key_file,
                         .default_timeout_us = cap,
                         .max_message_bytes = cfg->max_message_bytes,
                         .reconnect_max_ms = 2000};
  if (hd_client_new(&cc, &p->client, err) != 0) {
    free(p);
    return -1;
  }
  *out = p;
  return 0;
}

int hd_peer_open(const char *name, int default_port, hd_auth_identity *identity,
                 const hd_clock *clock, hd_metrics *metrics, hd_peer **out, hd_err *err) {
  if (!peer__name_ok(name))
    return hd_err_set(err, HD_INVALID_ARGUMENT, "a peer's name is 1-%d of [a-z_], not \"%.40s\"",
                      HD_PEER_NAME_MAX, name ? name : "");
  char var[HD_PEER_NAME_MAX + 32], def[32];
  size_t n = (size_t)snprintf(var, sizeof var, "HELPDESK_");
  for (const char *c = name; *c; c++) var[n++] = (char)(*c == '_' ? '_' : *c - 'a' + 'A');
  snprintf(var + n, sizeof var - n, "_TARGET");
  snprintf(def, sizeof def, "127.0.0.1:%d", default_port);
  int64_t timeout_us = 0, attempts = 0;
  if (hd_config_duration_us("HELPDESK_PEER_TIMEOUT", HD_PEER_TIMEOUT_DEFAULT, &timeout_us, err) !=
          0 ||
      hd_config_int("HELPDESK_PEER_ATTEMPTS", HD_PEER_ATTEMPTS_DEFAULT, 1, HD_PEER_ATTEMPTS_MAX,
                    &attempts, err) != 0)
    return -1;
  if (timeout_us < 10 * HD_PEER_MIN_ATTEMPT_US)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "HELPDESK_PEER_TIMEOUT must be at least %d ms",
                      10 * HD_PEER_MIN_ATTEMPT_US / 1000);
  hd_peer_config cfg = {
      .name = name,
      .target = hd_config_str(var, def),
      .tls_ca_file = hd_config_str("HELPDESK_TLS_CA", hd_config_str("HELPDESK_TLS_CERT", NULL)),
      .tls_cert_file =
          hd_config_str("HELPDESK_TLS_CLIENT_CERT", hd_config_str("HELPDESK_TLS_CERT", NULL)),
      .tls_key_file =
          hd_config_str("HELPDESK_TLS_CLIENT_KEY", hd_config_str("HELPDESK_TLS_KEY", NULL)),
      .timeout_cap_us = timeout_us,
      .max_attempts = (int)attempts,
      .identity = identity,
      .clock = clock,
      .metrics = metrics,
  };
  return hd_peer_new(&cfg, out, err);
}

void hd_peer_free(hd_peer *p) {
  if (!p) return;
  hd_client_destroy(p->client);
  free(p);
}

const char *hd_peer_name(const hd_peer *p) { return p->name; }
const char *hd_peer_target(const hd_peer *p) { return p->target; }

/* A request id the peer keeps as it is (as the dispatcher reads x-request-id): 1-79 printable
 * ASCII characters without spaces. Any other is not forwarded: the peer makes one up. */
static bool peer__request_id_ok(const char *rid) {
  size_t n = rid ? strlen(rid) : 0;
  if (n == 0 || n >= 80) return false;
  for (size_t i = 0; i < n; i++)
    if (rid[i] < 0x21 || rid[i] > 0x7e) return false;
  return true;
}

/* "AssignTicket" of "/helpdesk.v1.TicketService/AssignTicket". */
static const char *peer__short(const char *method) {
  const char *slash = strrchr(method, '/');
  return slash ? slash + 1 : method;
}

/* The back-off before attempt (attempt + 1): base·2^(attempt-1), at most max, jittered to
 * [half, whole] so that callers that failed together do not come back together. */
static int64_t peer__backoff_us(hd_peer *p, int attempt) {
  int64_t d = p->backoff_base_us;
  for (int i = 1; i < attempt && d < p->backoff_max_us; i++) d *= 2;
  if (d > p->backoff_max_us) d = p->backoff_max_us;
  uint64_t x = atomic_fetch_add(&p->jitter_seq, 1) + (uint64_t)hd_monotonic_us();
  x += 0x9e3779b97f4a7c15ull; /* splitmix64 */
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  return d / 2 + (int64_t)(x % (uint64_t)(d / 2 + 1));
}

/* The timeout to give the core for us of time left, such that the peer's deadline does not pass
 * ours. The core sends a timeout in a few digits, rounded up (and from a clock it reads only now
 * and then): 1.95 s goes out as 2 S, and 1.9 s read a few ms late goes out as 2 S too. One step
 * of that precision less than us rounded down to it always goes out at most at us: steps of 1 ms
 * below 1 s, 100 ms below 10 s, 1 s below 100 s, 10 s below 1000 s, a minute above. */
static int64_t peer__wire_us(int64_t us) {
  int64_t step = us < 1000000      ? 1000
                 : us < 10000000   ? 100000
                 : us < 100000000  ? 1000000
                 : us < 1000000000 ? 10000000
                                   : 60000000;
  int64_t v = us - us % step - step;
  return v > 0 ? v : 1;
}

static void peer__sleep_us(int64_t us) {
  struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static void peer__count(hd_peer *p, const char *method, hd_code code) {
  const char *labels[] = {"peer", p->name, "method", method, "code", hd_code_name(code), NULL};
  hd_metrics_counter_add(p->metrics, HD_METRIC_PEER_REQUESTS, labels, 1, NULL);
}

/* What of the peer's details our answer keeps: its reason, current version and retry delay when
 * our code is the peer's (a reason means what it says only with its code), never its field (a
 * field of the request we sent, not of our caller's); and a retry delay for every UNAVAILABLE. */
static int peer__keep_details(const peer_status *st, const hd_err *remote, hd_err *err) {
  if (st->local == remote->code) {
    hd_err_keep_details(err, remote);
    if (err) err->field[0] = '\0';
  }
  if (st->local == HD_UNAVAILABLE && (!err || err->retry_after_ms <= 0))
    hd_err_retry_after(err, HD_PEER_RETRY_AFTER_MS);
  return -1;
}

/* Fills err with our status for the peer's last answer (remote holds its code, message and
 * details). */
static int peer__fail(const hd_peer *p, const char *method, const hd_err *remote, int attempts,
                      int64_t budget_us, hd_err *err) {
  const peer_status *st = peer__status(remote->code);
  const char *m = peer__short(method);
  if (!st->says) {
    hd_err_set(err, st->local, "%s %s: %s", p->name, m, remote->msg);
    return peer__keep_details(st, remote, err);
  }
  char extra[64] = "";
  if (attempts > 1)
    snprintf(extra, sizeof extra, " after %d attempts", attempts);
  else if (remote->code == HD_DEADLINE_EXCEEDED)
    snprintf(extra, sizeof extra, " within %lld ms", (long long)(budget_us / 1000));
  hd_err_set(err, st->local, "%s %s %s (%s%s): %s%s%s", p->name, m, st->says,
             hd_code_name(remote->code), extra, remote->msg, st->hint ? "; " : "",
             st->hint ? st->hint : "");
  return peer__keep_details(st, remote, err);
}

int hd_peer_call(hd_peer *p, const char *method, const hd_peer_call_opts *opts,
                 const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                 hd_arena *arena, ProtobufCMessage **resp, hd_err *err) {
  int rc = -1;
  size_t n_md = 0;
  grpc_metadata md[2];
  char token[HD_AUTH_TOKEN_MAX];
  int64_t start = hd_monotonic_us();
  int64_t budget = p->timeout_cap_us;
  if (opts->deadline_us > 0 && opts->deadline_us != INT64_MAX) {
    int64_t left = opts->deadline_us - start;
    int64_t margin = left / 10 < HD_PEER_MARGIN_MAX_US ? left / 10 : HD_PEER_MARGIN_MAX_US;
    if (left - margin < budget) budget = left - margin;
  }
  if (budget < HD_PEER_MIN_ATTEMPT_US) {
    hd_err_set(err, HD_DEADLINE_EXCEEDED,
               "no time left to call %s %s: the call's deadline is %lld ms away", p->name,
               peer__short(method), (long long)((opts->deadline_us - start) / 1000));
    goto done;
  }
  int64_t end = start + budget;
  uint8_t *buf = NULL;
  size_t len = 0;
  if (client__pack(req, arena, &buf, &len, err) != 0) goto done;

  int64_t now_s = p->clock ? hd_clock_now_us(p->clock) / HD_US_PER_S : (int64_t)time(NULL);
  hd_err merr = {0};
  if (hd_auth_identity_token(p->identity, opts->tenant, now_s, token, sizeof token, &merr) != 0) {
    hd_err_set(err, HD_INTERNAL, "cannot make this service's token to call %s %s: %s", p->name,
               peer__short(method), merr.msg);
    goto done;
  }
  client_bearer(token, &md[n_md++]);
  if (peer__request_id_ok(opts->request_id)) {
    md[n_md].key = grpc_slice_from_static_string("x-request-id");
    md[n_md].value = grpc_slice_from_copied_string(opts->request_id);
    n_md++;
  }

  hd_err last = {0};
  int attempt = 0;
  for (;;) {
    attempt++;
    int64_t left = end - hd_monotonic_us();
    bool own_timeout =
        opts->idempotent && opts->attempt_timeout_us > 0 && opts->attempt_timeout_us < left;
    int64_t this_us = peer__wire_us(own_timeout ? opts->attempt_timeout_us : left);
    void *rb = NULL;
    size_t rl = 0;
    hd_err_clear(&last);
    int urc = client__unary(p->client, method, md, n_md, client_deadline(this_us), buf, len, arena,
                            &rb, &rl, &last);
    peer__count(p, method, urc == 0 ? HD_OK : last.code);
    if (urc == 0) {
      ProtobufCAllocator alloc = hd_arena_pb_allocator(arena);
      *resp = protobuf_c_message_unpack(resp_desc, &alloc, rl, rb);
      if (!*resp) {
        hd_err_set(err, HD_INTERNAL, "%s %s answered with a reply that is not a valid %s", p->name,
                   peer__short(method), resp_desc->name);
        goto done;
      }
      rc = 0;
      goto done;
    }
    const peer_status *st = peer__status(last.code);
    bool retry =
        st->retry == PEER_RETRY_ALWAYS || (st->retry == PEER_RETRY_IDEMPOTENT && opts->idempotent &&
                                           (last.code != HD_DEADLINE_EXCEEDED || own_timeout));
    if (!retry || attempt >= p->max_attempts) break;
    int64_t pause = peer__backoff_us(p, attempt);
    if (hd_monotonic_us() + pause + HD_PEER_MIN_ATTEMPT_US > end) break;
    hd_log_warn("peer.retry", "peer", p->name, "method", method, "status", hd_code_name(last.code),
                "request_id", opts->request_id ? opts->request_id : "", "error", last.msg);
    peer__sleep_us(pause);
  }
  peer__fail(p, method, &last, attempt, budget, err);
  if (last.code == HD_UNAUTHENTICATED || last.code == HD_UNIMPLEMENTED)
    hd_log_error("peer.refused", "peer", p->name, "method", method, "status",
                 hd_code_name(last.code), "error", last.msg);

done:
  for (size_t i = 0; i < n_md; i++) grpc_slice_unref(md[i].value);
  return rc;
}

int hd_peer_call_for(hd_peer *p, const hd_call *in, const char *method, bool idempotent,
                     const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                     ProtobufCMessage **resp, hd_err *err) {
  if (!in->principal)
    return hd_err_set(err, HD_INTERNAL, "calling %s %s needs a caller's tenant to act for", p->name,
                      peer__short(method));
  hd_peer_call_opts o = {.tenant = in->principal->tenant,
                         .request_id = in->request_id,
                         .deadline_us = in->deadline_us,
                         .idempotent = idempotent};
  return hd_peer_call(p, method, &o, req, resp_desc, in->arena, resp, err);
}
