/* One call, end to end: deadline, token, the edge (roles, NUL check, unpack with the method's
 * protobuf-c descriptor: edge.h), handler, pack, and the single reply batch. Internal errors
 * become a gRPC status here. */
#include <stdio.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/support/time.h>

#include "clock/clock.h"
#include "log/log.h"
#include "rpc/edge.h"
#include "rpc/rate_limit.h"
#include "rpc/server_internal.h"
#include "rpc/status_details.h"
#include "rpc/wire_check.h"

/* Per-call arena cap: the largest request plus what a handler builds for its reply. */
#define RPC_ARENA_SLACK (64u << 20)

static bool dispatch__md_value(const grpc_metadata_array *md, const char *key, const char **val,
                               size_t *len) {
  for (size_t i = 0; i < md->count; i++) {
    if (grpc_slice_str_cmp(md->metadata[i].key, key) == 0) {
      *val = (const char *)GRPC_SLICE_START_PTR(md->metadata[i].value);
      *len = GRPC_SLICE_LENGTH(md->metadata[i].value);
      return true;
    }
  }
  return false;
}

/* Remaining time before the call's deadline, in microseconds (INT64_MAX when none). */
static int64_t dispatch__remaining_us(gpr_timespec deadline) {
  if (gpr_time_cmp(deadline, gpr_inf_future(deadline.clock_type)) == 0) return INT64_MAX;
  gpr_timespec now = gpr_now(deadline.clock_type);
  gpr_timespec left = gpr_time_sub(deadline, now);
  return (int64_t)left.tv_sec * 1000000 + left.tv_nsec / 1000;
}

/* The call's request id into rid (cap bytes): its x-request-id (1-79 bytes, anything outside
 * printable ASCII made '_'), else one made up from the port and a sequence number. */
static void dispatch__request_id(hd_server *s, const rpc_call *c, char *rid, size_t cap) {
  const char *v;
  size_t vl;
  if (dispatch__md_value(&c->md, "x-request-id", &v, &vl) && vl > 0 && vl < cap) {
    memcpy(rid, v, vl);
    rid[vl] = '\0';
    for (size_t i = 0; i < vl; i++)
      if (rid[i] < 0x21 || rid[i] > 0x7e) rid[i] = '_';
  } else {
    snprintf(rid, cap, "%d-%lu", s->port, atomic_fetch_add(&s->request_seq, 1) + 1);
  }
}

size_t rpc_status_trailer(rpc_call *c, hd_code code, const char *msg, const hd_err *err,
                          const char *rid) {
  size_t nt = 0;
  if (rid && rid[0]) {
    c->trailer[nt].key = grpc_slice_from_static_string("x-request-id");
    c->trailer[nt].value = grpc_slice_from_copied_string(rid);
    nt++;
  }
  if (code != HD_OK && hd_rpc_status_details_pack(code, msg, err, &c->trailer[nt].value) == 0) {
    c->trailer[nt].key = grpc_slice_from_static_string(HD_RPC_STATUS_DETAILS_KEY);
    nt++;
  }
  return nt;
}

/* Starts the reply batch: initial metadata, message (on OK), status, and receive-close. The
 * trailing metadata echoes the request id rid and, on failure, carries google.rpc.Status with
 * err's details (status_details.h; err NULL: none); both are held in c until it is freed. */
static void dispatch__send(hd_server *s, rpc_call *c, grpc_status_code code, const char *msg,
                           const hd_err *err, const char *rid) {
  grpc_op ops[4];
  size_t n = 0;
  memset(ops, 0, sizeof ops);
  ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
  n++;
  if (code == GRPC_STATUS_OK && c->reply) {
    ops[n].op = GRPC_OP_SEND_MESSAGE;
    ops[n].data.send_message.send_message = c->reply;
    n++;
  }
  c->status_details = grpc_slice_from_copied_string(msg ? msg : "");
  const size_t nt = rpc_status_trailer(c, (hd_code)code, msg, err, rid);
  ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
  ops[n].data.send_status_from_server.status = code;
  ops[n].data.send_status_from_server.status_details = &c->status_details;
  ops[n].data.send_status_from_server.trailing_metadata_count = nt;
  ops[n].data.send_status_from_server.trailing_metadata = c->trailer;
  n++;
  ops[n].op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  ops[n].data.recv_close_on_server.cancelled = &c->cancelled;
  n++;
  c->kind = RPC_TAG_REPLY_SENT;
  grpc_call_error e = grpc_call_start_batch(c->call, ops, n, c, NULL);
  if (e != GRPC_CALL_OK) {
    char ebuf[16];
    snprintf(ebuf, sizeof ebuf, "%d", (int)e);
    hd_log_error("rpc.reply_failed", "call_error", ebuf);
    rpc_call_free(c);
    pthread_mutex_lock(&s->mu);
    atomic_fetch_sub(&s->inflight, 1);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
  }
}

static void dispatch__log(const hd_server *s, const char *method, const char *metric_method,
                          hd_code code, int64_t started_us, const char *tenant,
                          const char *request_id, const char *msg) {
  rpc_log_call(s, method, metric_method, code, started_us, tenant, request_id, msg, NULL);
}

void rpc_log_call(const hd_server *s, const char *method, const char *metric_method, hd_code code,
                  int64_t started_us, const char *tenant, const char *request_id, const char *msg,
                  const char *stream_counts) {
  int64_t took_us = hd_monotonic_us() - started_us;
  hd_metrics_observe_rpc(s->cfg.metrics, metric_method, code, took_us);
  char dur[32];
  snprintf(dur, sizeof dur, "%.3f", (double)took_us / 1000.0);
  if (stream_counts && code == HD_OK)
    hd_log_info("rpc", "method", method, "status", hd_code_name(code), "ms", dur, "tenant", tenant,
                "request_id", request_id, "stream", stream_counts);
  else if (stream_counts)
    hd_log_info("rpc", "method", method, "status", hd_code_name(code), "ms", dur, "tenant", tenant,
                "request_id", request_id, "stream", stream_counts, "error", msg);
  else if (code == HD_OK)
    hd_log_info("rpc", "method", method, "status", hd_code_name(code), "ms", dur, "tenant", tenant,
                "request_id", request_id);
  else
    hd_log_info("rpc", "method", method, "status", hd_code_name(code), "ms", dur, "tenant", tenant,
                "request_id", request_id, "error", msg);
}

/* The method table's role check, before the request is unpacked (Redis checks a command's flags
 * before calling it): PERMISSION_DENIED with hd_auth_require's message (the roles needed, the
 * roles held), then the method's reason when the table gives one. */
int hd_rpc_edge_roles(hd_call *call, unsigned roles, const char *roles_why) {
  if (!roles || hd_auth_require(call->principal, roles, &call->err) == 0) return 0;
  if (roles_why) {
    char base[HD_ERR_MSG_MAX];
    memcpy(base, call->err.msg, sizeof base);
    base[sizeof base - 1] = '\0';
    hd_err_set(&call->err, HD_PERMISSION_DENIED, "%s (%s)", base, roles_why);
  }
  return -1;
}

int hd_rpc_edge_unpack(hd_call *call, const ProtobufCMessageDescriptor *input, const uint8_t *raw,
                       size_t len, ProtobufCMessage **req) {
  *req = NULL;
  /* Before unpacking: protobuf-c would cut a string at an embedded NUL without a word. */
  if (hd_wire_check_strings(input, raw, len, &call->err) != 0) return -1;
  ProtobufCAllocator alloc = hd_arena_pb_allocator(call->arena);
  *req = protobuf_c_message_unpack(input, &alloc, len, raw);
  if (!*req)
    return hd_err_set(&call->err, HD_INVALID_ARGUMENT, "the request is not a valid %s message",
                      input->name);
  return 0;
}

void rpc_send_status(hd_server *s, rpc_call *c, hd_code code, const char *msg, const hd_err *err,
                     const char *rid) {
  dispatch__send(s, c, (grpc_status_code)code, msg, err, rid);
}

void rpc_reply_unimplemented(hd_server *s, rpc_call *c) {
  char msg[300];
  char method[200];
  size_t ml = GRPC_SLICE_LENGTH(c->details.method);
  if (ml >= sizeof method) ml = sizeof method - 1;
  memcpy(method, GRPC_SLICE_START_PTR(c->details.method), ml);
  method[ml] = '\0';
  snprintf(msg, sizeof msg, "method %s is not served here", method);
  char rid[RPC_REQUEST_ID_MAX];
  dispatch__request_id(s, c, rid, sizeof rid);
  dispatch__log(s, method, "unregistered", HD_UNIMPLEMENTED, hd_monotonic_us(), "", rid, msg);
  dispatch__send(s, c, GRPC_STATUS_UNIMPLEMENTED, msg, NULL, rid);
}

void rpc_reply_status(hd_server *s, rpc_call *c, hd_code code, const char *msg) {
  const char *method = c->method ? c->method->path : "unregistered";
  char rid[RPC_REQUEST_ID_MAX];
  dispatch__request_id(s, c, rid, sizeof rid);
  hd_err details;
  hd_err_clear(&details);
  /* Refused at admission: the reply budget is full of unread replies, which drain. */
  if (code == HD_RESOURCE_EXHAUSTED) hd_err_retry_after(&details, HD_RPC_RETRY_UNAVAILABLE_MS);
  dispatch__log(s, method, method, code, hd_monotonic_us(), "", rid, msg);
  dispatch__send(s, c, (grpc_status_code)code, msg, &details, rid);
}

void rpc_reply_stopping(hd_server *s, rpc_call *c) {
  static const char msg[] =
      "the server is stopping and no longer accepts calls; retry (another "
      "replica takes it)";
  char method[200] = "unregistered";
  if (c->method) {
    snprintf(method, sizeof method, "%s", c->method->path);
  } else if (c->has_details) {
    size_t ml = GRPC_SLICE_LENGTH(c->details.method);
    if (ml >= sizeof method) ml = sizeof method - 1;
    memcpy(method, GRPC_SLICE_START_PTR(c->details.method), ml);
    method[ml] = '\0';
  }
  char rid[RPC_REQUEST_ID_MAX];
  dispatch__request_id(s, c, rid, sizeof rid);
  dispatch__log(s, method, c->method ? c->method->path : "unregistered", HD_UNAVAILABLE,
                hd_monotonic_us(), "", rid, msg);
  dispatch__send(s, c, GRPC_STATUS_UNAVAILABLE, msg, NULL, rid);
}

int rpc_edge_begin(hd_server *s, rpc_call *c, hd_call *call, hd_principal *principal,
                   char rid[RPC_REQUEST_ID_MAX], const char **tenant, int64_t started,
                   bool worker_ok) {
  const rpc_method *m = c->method;
  call->method = m->path;
  call->service = m->service;
  dispatch__request_id(s, c, rid, RPC_REQUEST_ID_MAX);
  call->request_id = rid;
  *tenant = "";

  int64_t left = dispatch__remaining_us(c->deadline);
  call->deadline_us = left == INT64_MAX ? INT64_MAX : started + left;
  if (left <= 0)
    return hd_err_set(&call->err, HD_DEADLINE_EXCEEDED,
                      "the call's deadline had passed before it was served");
  if (!m->fn && !m->stream_fn)
    return hd_err_set(&call->err, HD_UNIMPLEMENTED,
                      "%s is in this service's contract but this server registers no handler "
                      "for it",
                      m->path);
  if (!worker_ok)
    return hd_err_set(&call->err, HD_UNAVAILABLE, "this worker could not start; retry");
  if (!(m->flags & HD_METHOD_PUBLIC)) {
    const char *auth = NULL;
    size_t alen = 0;
    dispatch__md_value(&c->md, "authorization", &auth, &alen);
    int64_t now_s =
        s->cfg.clock ? hd_clock_now_us(s->cfg.clock) / HD_US_PER_S : (int64_t)time(NULL);
    if (hd_auth_bearer(s->cfg.auth, auth, alen, now_s, principal, &call->err) != 0) return -1;
    call->principal = principal;
    *tenant = principal->tenant;
    if (s->tls && s->cfg.tls_client_ca_file &&
        rpc_peer_service_check(c->call, principal, &call->err) != 0)
      return -1;
    if (hd_rpc_edge_roles(call, m->roles, m->roles_why) != 0) return -1;
    if (hd_rate_limit_admit(s->cfg.rate_limits, call->worker, principal, &call->err) != 0)
      return -1;
  }
  return 0;
}

void rpc_dispatch(hd_server *s, rpc_call *c, void *worker, bool worker_ok) {
  const rpc_method *m = c->method;
  int64_t started = hd_monotonic_us();
  hd_principal principal;
  hd_call call;
  memset(&call, 0, sizeof call);
  call.worker = worker;
  char rid[RPC_REQUEST_ID_MAX];
  const char *tenant = "";
  if (rpc_edge_begin(s, c, &call, &principal, rid, &tenant, started, worker_ok) != 0) goto fail;
  if (!c->payload) {
    hd_err_set(&call.err, HD_INVALID_ARGUMENT, "the call carried no request message");
    goto fail;
  }
  size_t payload_len = grpc_byte_buffer_length(c->payload);
  c->arena = hd_arena_new(payload_len * 2 + RPC_ARENA_SLACK);
  if (!c->arena) {
    hd_err_set(&call.err, HD_RESOURCE_EXHAUSTED, "out of memory");
    goto fail;
  }
  call.arena = c->arena;

  grpc_byte_buffer_reader reader;
  if (!grpc_byte_buffer_reader_init(&reader, c->payload)) {
    hd_err_set(&call.err, HD_INVALID_ARGUMENT, "the request could not be decompressed");
    goto fail;
  }
  grpc_slice raw = grpc_byte_buffer_reader_readall(&reader);
  grpc_byte_buffer_reader_destroy(&reader);
  grpc_byte_buffer_destroy(c->payload); /* raw is a copy: do not hold the request twice */
  c->payload = NULL;
  ProtobufCMessage *req;
  int unpacked =
      hd_rpc_edge_unpack(&call, m->input, GRPC_SLICE_START_PTR(raw), GRPC_SLICE_LENGTH(raw), &req);
  grpc_slice_unref(raw);
  if (unpacked != 0) goto fail;
  ProtobufCMessage *resp = hd_arena_new_message(c->arena, m->output);
  if (!resp) {
    hd_err_set(&call.err, HD_RESOURCE_EXHAUSTED, "out of memory");
    goto fail;
  }
  if (m->fn(&call, req, resp) != 0) {
    if (call.err.code == HD_OK)
      hd_err_set(&call.err, HD_INTERNAL, "the handler failed without saying why");
    goto fail;
  }
  size_t size = protobuf_c_message_get_packed_size(resp);
  /* Counted before it is packed (a reply with no room is never built), with the arena while both
   * are held. */
  if (rpc_reply_budget_set(s, c, size, hd_arena_used(c->arena), &call.err) != 0) goto fail;
  grpc_slice out = grpc_slice_malloc(size);
  protobuf_c_message_pack(resp, GRPC_SLICE_START_PTR(out));
  c->reply = grpc_raw_byte_buffer_create(&out, 1);
  grpc_slice_unref(out);
  /* The reply is packed: nothing reads the arena any more, and a client slow to read the reply
   * must not keep the handler's memory too. */
  hd_arena_free(c->arena);
  c->arena = NULL;
  rpc_reply_budget_set(s, c, size, 0, NULL); /* less than before: cannot fail */
  dispatch__log(s, m->path, m->path, HD_OK, started, tenant, rid, NULL);
  dispatch__send(s, c, GRPC_STATUS_OK, NULL, NULL, rid);
  return;

fail:
  dispatch__log(s, m->path, m->path, call.err.code, started, tenant, rid, call.err.msg);
  dispatch__send(s, c, (grpc_status_code)call.err.code, call.err.msg, &call.err, rid);
}

int hd_call_check_deadline(hd_call *call) {
  if (call->deadline_us != INT64_MAX && hd_monotonic_us() >= call->deadline_us)
    return hd_err_set(&call->err, HD_DEADLINE_EXCEEDED,
                      "the call's deadline passed while it was served");
  return 0;
}

int hd_call_require(hd_call *call, unsigned any_of) {
  if (!call->principal)
    return hd_err_set(&call->err, HD_UNAUTHENTICATED, "this call needs a bearer token");
  return hd_auth_require(call->principal, any_of, &call->err);
}
