/* Streaming calls: a thread per open stream (at most max_stream_calls), so a stream never holds a
 * unary worker. The stream's operations on the core (send, receive, close) complete on the queue
 * the call arrived on; whoever polls it (a worker, or the health thread) hands the completion to
 * the stream's thread through its mutex and condition (rpc_stream_event). The stream's thread
 * alone starts operations and owns the buffer of messages not yet written. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/byte_buffer_reader.h>

#include "clock/clock.h"
#include "log/log.h"
#include "rpc/edge.h"
#include "rpc/rate_limit.h"
#include "rpc/server_internal.h"
#include "rpc/stream.h"

#define STREAM_DEFAULT_MAX      64u
#define STREAM_DEFAULT_MESSAGES 64u
#define STREAM_DEFAULT_BYTES    (1LL << 20)
/* How long a stream that ends may take to write what it has buffered, and then the message the
 * transport holds, before it is cut off. */
#define STREAM_FLUSH_US     5000000
#define STREAM_LAST_SEND_US 1000000
/* The most one received message may take in its arena, besides twice its size. */
#define STREAM_MSG_SLACK (1u << 20)
#define STREAM_ARENA_CAP (16u << 20)

enum { OP_SEND, OP_RECV, OP_CLOSE, OP_STATUS, OP_COUNT };

typedef struct stream_tag {
  enum rpc_tag_kind kind; /* RPC_TAG_STREAM_OP: first, as every tag */
  hd_stream *st;
  int op;
} stream_tag;

struct hd_stream {
  hd_server *srv;
  rpc_call *c; /* owned: the core's call, its metadata and the stream's arena */
  const rpc_method *m;
  hd_stream *prev, *next; /* srv->streams, under srv->mu */
  pthread_mutex_t mu;
  pthread_cond_t cv; /* on CLOCK_MONOTONIC */
  stream_tag tags[OP_COUNT];
  /* Under mu: which operations are started and not complete, which completed (and how). */
  bool pending[OP_COUNT], done[OP_COUNT], ok[OP_COUNT];
  /* The stream's thread alone: */
  grpc_byte_buffer **queue; /* ring of cap_msgs; queue[head] is being sent when pending[SEND] */
  size_t *sizes;            /* their sizes (the core empties a buffer it sends) */
  size_t head, n, cap_msgs;
  size_t bytes, cap_bytes;
  bool md_sent;     /* initial metadata went with a message */
  bool client_gone; /* the close completed before we sent a status: cancelled */
  bool send_failed;
  bool client_done; /* the client half-closed */
  grpc_byte_buffer *recv_buf;
  hd_arena *msg_arena; /* the last received message */
  hd_arena *req_arena; /* a server-streaming method's request, for the stream's life */
  grpc_slice status_details;
  hd_call call;
  hd_principal principal;
  char rid[RPC_REQUEST_ID_MAX];
  const char *tenant;
  int64_t started_us;
  unsigned long sent, received;
};

/* Starts a batch of n ops for operation op; under st->mu. */
static bool stream__start(hd_stream *st, int op, grpc_op *ops, size_t n) {
  st->tags[op].kind = RPC_TAG_STREAM_OP;
  st->tags[op].st = st;
  st->tags[op].op = op;
  st->done[op] = false;
  if (grpc_call_start_batch(st->c->call, ops, n, &st->tags[op], NULL) != GRPC_CALL_OK) {
    char o[8];
    snprintf(o, sizeof o, "%d", op);
    hd_log_error("rpc.stream_op_failed", "method", st->m->path, "op", o);
    return false;
  }
  st->pending[op] = true;
  return true;
}

void rpc_stream_event(void *tag, bool success) {
  stream_tag *t = tag;
  hd_stream *st = t->st;
  pthread_mutex_lock(&st->mu);
  st->pending[t->op] = false;
  st->done[t->op] = true;
  st->ok[t->op] = success;
  pthread_cond_broadcast(&st->cv);
  pthread_mutex_unlock(&st->mu);
}

/* Takes the completions of sends, and starts writing the next buffered message; under mu. */
static void stream__progress(hd_stream *st) {
  if (st->done[OP_SEND]) {
    st->done[OP_SEND] = false;
    if (!st->ok[OP_SEND]) st->send_failed = true;
    grpc_byte_buffer *b = st->queue[st->head];
    st->bytes -= st->sizes[st->head];
    grpc_byte_buffer_destroy(b);
    st->queue[st->head] = NULL;
    st->head = (st->head + 1) % st->cap_msgs;
    st->n--;
  }
  if (st->done[OP_CLOSE] && !st->pending[OP_STATUS] && !st->done[OP_STATUS]) st->client_gone = true;
  if (st->pending[OP_SEND] || st->n == 0 || st->client_gone || st->send_failed) return;
  grpc_op ops[2];
  size_t k = 0;
  memset(ops, 0, sizeof ops);
  if (!st->md_sent) {
    ops[k++].op = GRPC_OP_SEND_INITIAL_METADATA;
    st->md_sent = true;
  }
  ops[k].op = GRPC_OP_SEND_MESSAGE;
  ops[k].data.send_message.send_message = st->queue[st->head];
  k++;
  if (!stream__start(st, OP_SEND, ops, k)) st->send_failed = true;
}

/* Whether the stream is over, with call.err set to why; under mu. */
static bool stream__over_locked(hd_stream *st) {
  hd_call *call = &st->call;
  if (call->deadline_us != INT64_MAX && hd_monotonic_us() >= call->deadline_us) {
    hd_err_set(&call->err, HD_DEADLINE_EXCEEDED, "the stream's deadline passed");
    return true;
  }
  if (st->client_gone || st->send_failed) {
    hd_err_set(&call->err, HD_CANCELLED, "the client cancelled the stream or went away");
    return true;
  }
  if (atomic_load(&st->srv->streams_stopping)) {
    hd_err_set(&call->err, HD_UNAVAILABLE,
               "the server is stopping; call again (another replica serves the stream)");
    return true;
  }
  return false;
}

/* Waits on the stream's condition until until_us (monotonic) at the latest; under mu. */
static void stream__wait_until(hd_stream *st, int64_t until_us) {
  if (st->call.deadline_us < until_us) until_us = st->call.deadline_us;
  int64_t now = hd_monotonic_us();
  if (until_us <= now) return;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  int64_t left = until_us - now;
  int64_t ns = ts.tv_nsec + (left % 1000000) * 1000;
  ts.tv_sec += (time_t)(left / 1000000 + ns / 1000000000);
  ts.tv_nsec = (long)(ns % 1000000000);
  pthread_cond_timedwait(&st->cv, &st->mu, &ts);
}

static int64_t stream__until(int64_t wait_us) {
  int64_t now = hd_monotonic_us();
  return wait_us >= INT64_MAX - now ? INT64_MAX : now + (wait_us < 0 ? 0 : wait_us);
}

int hd_stream_send(hd_stream *st, const ProtobufCMessage *msg, int64_t wait_us) {
  size_t size = protobuf_c_message_get_packed_size(msg);
  if (size > st->cap_bytes || (int64_t)size > st->srv->cfg.max_message_bytes)
    return hd_err_set(&st->call.err, HD_RESOURCE_EXHAUSTED,
                      "a message of %zu bytes does not fit the stream's buffer (%zu bytes)", size,
                      st->cap_bytes);
  grpc_slice out = grpc_slice_malloc(size);
  protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(out));
  grpc_byte_buffer *b = grpc_raw_byte_buffer_create(&out, 1);
  grpc_slice_unref(out);
  int64_t until = stream__until(wait_us);
  int rc = -1;
  pthread_mutex_lock(&st->mu);
  for (;;) {
    stream__progress(st);
    if (stream__over_locked(st)) break;
    if (st->n < st->cap_msgs && st->bytes + size <= st->cap_bytes) {
      st->queue[(st->head + st->n) % st->cap_msgs] = b;
      st->sizes[(st->head + st->n) % st->cap_msgs] = size;
      st->n++;
      st->bytes += size;
      b = NULL;
      st->sent++;
      stream__progress(st);
      rc = 0;
      break;
    }
    if (hd_monotonic_us() >= until) {
      hd_err_set(&st->call.err, HD_RESOURCE_EXHAUSTED,
                 "the client reads too slowly: %zu messages (%zu bytes) wait in its stream's "
                 "buffer; call again and resume from the last message received",
                 st->n, st->bytes);
      break;
    }
    stream__wait_until(st, until);
  }
  pthread_mutex_unlock(&st->mu);
  if (b) grpc_byte_buffer_destroy(b);
  return rc;
}

int hd_stream_recv(hd_stream *st, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **msg,
                   int64_t wait_us) {
  *msg = NULL;
  if (st->client_done) return HD_STREAM_END;
  int64_t until = stream__until(wait_us);
  int rc = -1;
  pthread_mutex_lock(&st->mu);
  if (!st->pending[OP_RECV] && !st->done[OP_RECV]) {
    grpc_op op;
    memset(&op, 0, sizeof op);
    op.op = GRPC_OP_RECV_MESSAGE;
    op.data.recv_message.recv_message = &st->recv_buf;
    st->recv_buf = NULL;
    if (!stream__start(st, OP_RECV, &op, 1)) st->send_failed = true;
  }
  for (;;) {
    stream__progress(st);
    if (st->done[OP_RECV]) {
      st->done[OP_RECV] = false;
      rc = st->ok[OP_RECV] ? HD_STREAM_MESSAGE : -1;
      break;
    }
    if (stream__over_locked(st)) break;
    if (hd_monotonic_us() >= until) {
      rc = HD_STREAM_TIMEOUT;
      break;
    }
    stream__wait_until(st, until);
  }
  if (rc == -1 && st->call.err.code == HD_OK) stream__over_locked(st);
  if (rc == -1 && st->call.err.code == HD_OK)
    hd_err_set(&st->call.err, HD_CANCELLED, "the client cancelled the stream or went away");
  pthread_mutex_unlock(&st->mu);
  if (rc != HD_STREAM_MESSAGE) return rc;

  grpc_byte_buffer *b = st->recv_buf;
  st->recv_buf = NULL;
  if (!b) {
    st->client_done = true;
    return HD_STREAM_END;
  }
  grpc_byte_buffer_reader reader;
  if (!grpc_byte_buffer_reader_init(&reader, b)) {
    grpc_byte_buffer_destroy(b);
    return hd_err_set(&st->call.err, HD_INVALID_ARGUMENT, "a message could not be decompressed");
  }
  grpc_slice raw = grpc_byte_buffer_reader_readall(&reader);
  grpc_byte_buffer_reader_destroy(&reader);
  grpc_byte_buffer_destroy(b);
  hd_arena_free(st->msg_arena);
  st->msg_arena = hd_arena_new(GRPC_SLICE_LENGTH(raw) * 2 + STREAM_MSG_SLACK);
  if (!st->msg_arena) {
    grpc_slice_unref(raw);
    return hd_err_set(&st->call.err, HD_RESOURCE_EXHAUSTED, "out of memory");
  }
  hd_arena *keep = st->call.arena;
  st->call.arena = st->msg_arena;
  int unpacked =
      hd_rpc_edge_unpack(&st->call, desc, GRPC_SLICE_START_PTR(raw), GRPC_SLICE_LENGTH(raw), msg);
  st->call.arena = keep;
  grpc_slice_unref(raw);
  if (unpacked != 0) return -1;
  st->received++;
  return HD_STREAM_MESSAGE;
}

int hd_stream_wait(hd_stream *st, int64_t wait_us) {
  int64_t until = stream__until(wait_us);
  int rc = 0;
  pthread_mutex_lock(&st->mu);
  for (;;) {
    stream__progress(st);
    if (stream__over_locked(st)) {
      rc = -1;
      break;
    }
    if (hd_monotonic_us() >= until) break;
    stream__wait_until(st, until);
  }
  pthread_mutex_unlock(&st->mu);
  return rc;
}

bool hd_stream_over(hd_stream *st) {
  pthread_mutex_lock(&st->mu);
  stream__progress(st);
  bool over = stream__over_locked(st);
  pthread_mutex_unlock(&st->mu);
  return over;
}

size_t hd_stream_buffered(const hd_stream *st) { return st->n; }

/* Ends the stream with code and msg: writes what is buffered while the client reads (at most
 * STREAM_FLUSH_US), then the status; or cancels the call when the transport still holds a
 * message; then waits for every operation to complete. */
static void stream__end(hd_stream *st, hd_code code, const char *msg) {
  int64_t until = stream__until(STREAM_FLUSH_US);
  hd_err keep = st->call.err;
  pthread_mutex_lock(&st->mu);
  for (;;) {
    stream__progress(st);
    if (st->n == 0 || stream__over_locked(st) || hd_monotonic_us() >= until) break;
    stream__wait_until(st, until);
  }
  /* What the transport has not taken is dropped; the message it holds may still go. */
  size_t drop_from = st->pending[OP_SEND] ? 1 : 0;
  while (st->n > drop_from) {
    size_t i = (st->head + st->n - 1) % st->cap_msgs;
    st->bytes -= st->sizes[i];
    grpc_byte_buffer_destroy(st->queue[i]);
    st->queue[i] = NULL;
    st->n--;
  }
  until = stream__until(STREAM_LAST_SEND_US);
  while (st->pending[OP_SEND] && !st->client_gone && hd_monotonic_us() < until) {
    stream__wait_until(st, until);
    stream__progress(st);
  }
  stream__progress(st);
  bool cancel = st->pending[OP_SEND] && !st->client_gone;
  if (!st->client_gone && !cancel) {
    grpc_op ops[2];
    size_t k = 0;
    memset(ops, 0, sizeof ops);
    if (!st->md_sent) {
      ops[k++].op = GRPC_OP_SEND_INITIAL_METADATA;
      st->md_sent = true;
    }
    st->status_details = grpc_slice_from_copied_string(msg ? msg : "");
    ops[k].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
    ops[k].data.send_status_from_server.status = (grpc_status_code)code;
    ops[k].data.send_status_from_server.status_details = &st->status_details;
    /* as a unary reply's: the request id, and on failure the error's details */
    ops[k].data.send_status_from_server.trailing_metadata_count =
        rpc_status_trailer(st->c, code, msg, &keep, st->rid);
    ops[k].data.send_status_from_server.trailing_metadata = st->c->trailer;
    k++;
    if (!stream__start(st, OP_STATUS, ops, k)) cancel = true;
  }
  pthread_mutex_unlock(&st->mu);
  if (cancel) grpc_call_cancel_with_status(st->c->call, (grpc_status_code)code, msg, NULL);
  pthread_mutex_lock(&st->mu);
  for (;;) {
    stream__progress(st);
    bool any = false;
    for (int op = 0; op < OP_COUNT; op++) any = any || st->pending[op];
    if (!any) break;
    pthread_cond_wait(&st->cv, &st->mu);
  }
  pthread_mutex_unlock(&st->mu);
  st->call.err = keep;
}

static void stream__free(hd_stream *st) {
  for (size_t i = 0; i < st->n; i++)
    grpc_byte_buffer_destroy(st->queue[(st->head + i) % st->cap_msgs]);
  free(st->queue);
  free(st->sizes);
  if (st->recv_buf) grpc_byte_buffer_destroy(st->recv_buf);
  hd_arena_free(st->msg_arena);
  hd_arena_free(st->req_arena);
  grpc_slice_unref(st->status_details);
  rpc_call_free(st->c);
  pthread_mutex_destroy(&st->mu);
  pthread_cond_destroy(&st->cv);
  free(st);
}

static void *stream__thread(void *arg) {
  hd_stream *st = arg;
  hd_server *s = st->srv;
  const rpc_method *m = st->m;
  hd_call *call = &st->call;
  void *worker = NULL;
  bool have_worker = false;
  grpc_op op;
  memset(&op, 0, sizeof op);
  op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
  op.data.recv_close_on_server.cancelled = &st->c->cancelled;
  pthread_mutex_lock(&st->mu);
  bool closing = stream__start(st, OP_CLOSE, &op, 1);
  pthread_mutex_unlock(&st->mu);
  if (!closing) {
    hd_err_set(&call->err, HD_INTERNAL, "the stream could not be started");
    goto end;
  }
  if (!m->own_thread && s->cfg.worker_init) {
    if (s->cfg.worker_init(s->cfg.worker_arg, &worker, &call->err) != 0) {
      hd_log_error("rpc.worker_init_failed", "reason", call->err.msg);
      hd_err_set(&call->err, HD_UNAVAILABLE, "the stream's worker could not start; retry");
      goto end;
    }
    have_worker = true;
    call->worker = worker;
    /* The rate limits, now that the stream has a Redis connection (the edge admitted it before
     * it had one): opening a stream takes one token, as a unary call does. */
    if (hd_rate_limit_admit(s->cfg.rate_limits, worker, call->principal, &call->err) != 0) goto end;
  }
  ProtobufCMessage *req = NULL;
  if (!(m->flags & HD_METHOD_STREAM_IN)) {
    int got = hd_stream_recv(st, m->input, &req, INT64_MAX);
    if (got == HD_STREAM_END)
      hd_err_set(&call->err, HD_INVALID_ARGUMENT, "the call carried no request message");
    if (got != HD_STREAM_MESSAGE) goto end;
    st->received = 0; /* the request is not a message of the stream */
    /* Kept for the stream's life: the next hd_stream_recv would free its arena. */
    st->req_arena = st->msg_arena;
    st->msg_arena = NULL;
  }
  if (m->stream_fn(call, st, req) != 0 && call->err.code == HD_OK)
    hd_err_set(&call->err, HD_INTERNAL, "the handler failed without saying why");
end:;
  hd_code code = call->err.code;
  stream__end(st, code, code == HD_OK ? NULL : call->err.msg);
  if (st->client_gone && code == HD_OK) {
    code = HD_CANCELLED;
    hd_err_set(&call->err, HD_CANCELLED, "the client cancelled the stream or went away");
  }
  char counts[64];
  snprintf(counts, sizeof counts, "sent=%lu received=%lu", st->sent, st->received);
  rpc_log_call(s, m->path, m->path, code, st->started_us, st->tenant, st->rid, call->err.msg,
               counts);
  if (have_worker && s->cfg.worker_fini) s->cfg.worker_fini(s->cfg.worker_arg, worker);
  pthread_mutex_lock(&s->mu);
  if (st->prev)
    st->prev->next = st->next;
  else
    s->streams = st->next;
  if (st->next) st->next->prev = st->prev;
  s->n_streams--;
  pthread_mutex_unlock(&s->mu);
  stream__free(st);
  /* Last: the server may be freed once inflight is 0 and streams are gone. */
  pthread_mutex_lock(&s->mu);
  atomic_fetch_sub(&s->inflight, 1);
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

void rpc_stream_begin(hd_server *s, rpc_call *c) {
  int64_t started = hd_monotonic_us();
  hd_stream *st = calloc(1, sizeof *st);
  unsigned cap = s->cfg.max_stream_calls ? s->cfg.max_stream_calls : STREAM_DEFAULT_MAX;
  size_t msgs =
      s->cfg.stream_buffer_messages ? s->cfg.stream_buffer_messages : STREAM_DEFAULT_MESSAGES;
  if (!st || !(st->queue = calloc(msgs, sizeof *st->queue)) ||
      !(st->sizes = calloc(msgs, sizeof *st->sizes))) {
    if (st) free(st->queue);
    free(st);
    rpc_reply_status(s, c, HD_RESOURCE_EXHAUSTED, "out of memory starting a stream");
    return;
  }
  st->srv = s;
  st->c = c;
  st->m = c->method;
  st->cap_msgs = msgs;
  st->cap_bytes =
      (size_t)(s->cfg.stream_buffer_bytes > 0 ? s->cfg.stream_buffer_bytes : STREAM_DEFAULT_BYTES);
  st->started_us = started;
  st->tenant = "";
  st->status_details = grpc_empty_slice();
  pthread_mutex_init(&st->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&st->cv, &ca);
  pthread_condattr_destroy(&ca);
  hd_call *call = &st->call;
  bool admitted = false;
  if (rpc_edge_begin(s, c, call, &st->principal, st->rid, &st->tenant, started, true) != 0)
    goto refuse;
  if (!(c->arena = hd_arena_new(STREAM_ARENA_CAP))) {
    hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "out of memory starting a stream");
    goto refuse;
  }
  call->arena = c->arena;
  pthread_mutex_lock(&s->mu);
  if (atomic_load(&s->streams_stopping)) {
    hd_err_set(&call->err, HD_UNAVAILABLE,
               "the server is stopping; call again (another replica serves the stream)");
  } else if ((unsigned long)s->n_streams >= cap) {
    hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED,
               "this server has %ld streams open, the most it serves at once "
               "(HELPDESK_MAX_STREAM_CALLS); retry later or on another replica",
               s->n_streams);
  } else {
    st->next = s->streams;
    if (s->streams) s->streams->prev = st;
    s->streams = st;
    s->n_streams++;
    admitted = true;
  }
  pthread_mutex_unlock(&s->mu);
  if (!admitted) goto refuse;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_t th;
  int e = pthread_create(&th, &attr, stream__thread, st);
  pthread_attr_destroy(&attr);
  if (e == 0) return;
  pthread_mutex_lock(&s->mu);
  if (st->prev)
    st->prev->next = st->next;
  else
    s->streams = st->next;
  if (st->next) st->next->prev = st->prev;
  s->n_streams--;
  pthread_mutex_unlock(&s->mu);
  hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "cannot start the stream's thread: %s",
             strerror(e));

refuse:
  rpc_log_call(s, c->method->path, c->method->path, call->err.code, started, st->tenant, st->rid,
               call->err.msg, "sent=0 received=0");
  rpc_send_status(s, c, call->err.code, call->err.msg, &call->err, st->rid);
  st->c = NULL;
  free(st->queue);
  free(st->sizes);
  pthread_mutex_destroy(&st->mu);
  pthread_cond_destroy(&st->cv);
  free(st);
}

void rpc_streams_stop(hd_server *s, int64_t wait_us) {
  atomic_store(&s->streams_stopping, true);
  int64_t until = hd_monotonic_us() + wait_us;
  pthread_mutex_lock(&s->mu);
  for (;;) {
    for (hd_stream *st = s->streams; st; st = st->next) {
      pthread_mutex_lock(&st->mu);
      pthread_cond_broadcast(&st->cv);
      pthread_mutex_unlock(&st->mu);
    }
    int64_t now = hd_monotonic_us();
    if (s->n_streams == 0 || now >= until) break;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t step = until - now < 100000 ? until - now : 100000;
    int64_t ns = ts.tv_nsec + step * 1000;
    ts.tv_sec += (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    pthread_cond_timedwait(&s->cv, &s->mu, &ts);
  }
  long left = s->n_streams;
  pthread_mutex_unlock(&s->mu);
  if (left > 0) {
    char n[24];
    snprintf(n, sizeof n, "%ld", left);
    hd_log_warn("rpc.streams_stop_timeout", "open_streams", n);
  }
}

int hd_server_add_streams(hd_server *s, const ProtobufCServiceDescriptor *desc,
                          const hd_stream_impl *impls, size_t n_impls, hd_err *err) {
  if (s->started)
    return hd_err_set(err, HD_FAILED_PRECONDITION, "add streams before starting the server");
  for (size_t k = 0; k < n_impls; k++) {
    char path[256];
    snprintf(path, sizeof path, "/%s/%s", desc->name, impls[k].name);
    rpc_method *m = NULL;
    for (size_t i = 0; i < s->n_methods; i++)
      if (strcmp(s->methods[i].path, path) == 0) m = &s->methods[i];
    if (!m)
      return hd_err_set(err, HD_INTERNAL, "stream %s is not a method of a service added", path);
    if (m->fn) return hd_err_set(err, HD_INTERNAL, "%s has a unary handler already", path);
    if ((impls[k].flags & HD_METHOD_PUBLIC) && impls[k].roles)
      return hd_err_set(err, HD_INTERNAL, "%s is public (no token) and cannot require roles", path);
    m->stream_fn = impls[k].fn;
    m->flags = impls[k].flags;
    m->roles = impls[k].roles;
    m->roles_why = impls[k].roles_why;
  }
  return 0;
}
