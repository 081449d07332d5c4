/* gRPC server lifecycle on the C core: registration, worker threads over one completion queue,
 * request posting, graceful drain. The handling of one call is in dispatch.c. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "clock/clock.h"
#include "log/log.h"
#include "rpc/server_internal.h"

/* Requests kept posted per method so that calls never wait for one to be re-posted. */
#define RPC_POSTED_PER_METHOD   4u
#define RPC_POSTED_UNREGISTERED 2u
#define RPC_POSTED_HEALTH       8u
/* Posted once more per method when shutdown begins: a call the core still holds unmatched when
 * shutdown starts is cancelled by it (CANCELLED, which clients do not retry); one we hold is
 * answered. */
#define RPC_POSTED_AT_SHUTDOWN 16u
/* Stopping holds new calls until every call being served has finished and none has arrived for
 * RPC_HOLD_QUIET_US, at most RPC_HOLD_MAX_US and the grace (see hd_server_shutdown). */
#define RPC_HOLD_QUIET_US 100000
#define RPC_HOLD_MAX_US   2000000
/* Replies smaller than this are not counted against the reply budget: health and the ordinary
 * answers always go out; what slow readers can pile up is the large ones. */
#define RPC_REPLY_SMALL          (64u << 10)
#define RPC_DEFAULT_MAX_STREAMS  64u
#define RPC_DEFAULT_MEMORY_LIMIT (256LL << 20)

int hd_server_new(const hd_server_config *cfg, hd_server **out, hd_err *err) {
  hd_server *s = calloc(1, sizeof *s);
  if (!s) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory creating the server");
  s->cfg = *cfg;
  if (!s->cfg.workers) s->cfg.workers = 4;
  if (!s->cfg.health_interval_us) s->cfg.health_interval_us = 1000000;
  if (s->cfg.max_message_bytes <= 0) s->cfg.max_message_bytes = 8 << 20;
  if (!s->cfg.max_streams) s->cfg.max_streams = RPC_DEFAULT_MAX_STREAMS;
  if (s->cfg.memory_limit_bytes <= 0) s->cfg.memory_limit_bytes = RPC_DEFAULT_MEMORY_LIMIT;
  s->reply_budget = s->cfg.memory_limit_bytes / 2;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  s->shutdown_tag.kind = RPC_TAG_SHUTDOWN;
  grpc_init();

  /* gRPC's own buffers (reads, call arenas) stay within half the memory limit. */
  grpc_resource_quota *quota = grpc_resource_quota_create("helpdesk");
  grpc_resource_quota_resize(quota, (size_t)(s->cfg.memory_limit_bytes / 2));
  grpc_arg args[4];
  args[0].type = GRPC_ARG_INTEGER;
  args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
  args[0].value.integer =
      s->cfg.max_message_bytes > INT32_MAX ? INT32_MAX : (int)s->cfg.max_message_bytes;
  args[1].type = GRPC_ARG_INTEGER;
  args[1].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
  args[1].value.integer = args[0].value.integer;
  args[2].type = GRPC_ARG_INTEGER;
  args[2].key = GRPC_ARG_MAX_CONCURRENT_STREAMS;
  args[2].value.integer = s->cfg.max_streams > INT32_MAX ? INT32_MAX : (int)s->cfg.max_streams;
  args[3].type = GRPC_ARG_POINTER;
  args[3].key = GRPC_ARG_RESOURCE_QUOTA;
  args[3].value.pointer.p = quota;
  args[3].value.pointer.vtable = grpc_resource_quota_arg_vtable();
  grpc_channel_args chargs = {.num_args = 4, .args = args};
  s->server = grpc_server_create(&chargs, NULL);
  grpc_resource_quota_unref(quota); /* the server holds its own reference */
  s->cq = grpc_completion_queue_create_for_next(NULL);
  grpc_server_register_completion_queue(s->server, s->cq, NULL);
  s->health_cq = grpc_completion_queue_create_for_next(NULL);
  grpc_server_register_completion_queue(s->server, s->health_cq, NULL);
  if (rpc_health_register(s, err) != 0 || rpc_reflection_register(s, err) != 0) {
    hd_server_destroy(s);
    return -1;
  }
  *out = s;
  return 0;
}

static int server__add_method(hd_server *s, const char *path, const hd_method_impl *impl,
                              const ProtobufCMessageDescriptor *in,
                              const ProtobufCMessageDescriptor *outd, void *service,
                              bool own_thread, hd_err *err) {
  if (s->n_methods == s->cap_methods) {
    size_t cap = s->cap_methods ? s->cap_methods * 2 : 16;
    rpc_method *m = realloc(s->methods, cap * sizeof *m);
    if (!m) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory registering %s", path);
    s->methods = m;
    s->cap_methods = cap;
  }
  rpc_method *m = &s->methods[s->n_methods];
  memset(m, 0, sizeof *m);
  m->path = strdup(path);
  if (!m->path) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory registering %s", path);
  /* The payload is read by us once the call is ours (RPC_TAG_PAYLOAD): a call the core still
   * reads for us when shutdown begins would be cancelled by it, and large requests take a while. */
  m->handle = grpc_server_register_method(s->server, m->path, NULL, GRPC_SRM_PAYLOAD_NONE, 0);
  if (!m->handle) {
    free(m->path);
    return hd_err_set(err, HD_INTERNAL, "gRPC refused to register %s (registered twice?)", path);
  }
  if (impl) {
    m->fn = impl->fn;
    m->flags = impl->flags;
    m->roles = impl->roles;
    m->roles_why = impl->roles_why;
  }
  m->input = in;
  m->output = outd;
  m->service = service;
  m->own_thread = own_thread;
  s->n_methods++;
  return 0;
}

int rpc_server_add_methods(hd_server *s, const ProtobufCServiceDescriptor *desc,
                           const hd_method_impl *impls, size_t n_impls, void *service,
                           bool own_thread, hd_err *err) {
  for (size_t k = 0; k < n_impls; k++) {
    bool known = false;
    for (unsigned i = 0; i < desc->n_methods; i++)
      if (strcmp(desc->methods[i].name, impls[k].name) == 0) known = true;
    if (!known)
      return hd_err_set(err, HD_INTERNAL, "handler %s is not a method of %s", impls[k].name,
                        desc->name);
    if ((impls[k].flags & HD_METHOD_PUBLIC) && impls[k].roles)
      return hd_err_set(err, HD_INTERNAL, "%s is public (no token) and cannot require roles",
                        impls[k].name);
  }
  for (unsigned i = 0; i < desc->n_methods; i++) {
    const ProtobufCMethodDescriptor *md = &desc->methods[i];
    const hd_method_impl *impl = NULL;
    for (size_t k = 0; k < n_impls; k++)
      if (strcmp(impls[k].name, md->name) == 0) impl = &impls[k];
    char path[256];
    snprintf(path, sizeof path, "/%s/%s", desc->name, md->name);
    if (server__add_method(s, path, impl, md->input, md->output, service, own_thread, err) != 0)
      return -1;
  }
  char **names = realloc(s->service_names, (s->n_services + 1) * sizeof *names);
  if (!names)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory registering %s", desc->name);
  s->service_names = names;
  names[s->n_services] = strdup(desc->name);
  if (!names[s->n_services]) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  s->n_services++;
  return 0;
}

int hd_server_add_service(hd_server *s, const ProtobufCServiceDescriptor *desc,
                          const hd_method_impl *impls, size_t n_impls, void *service, hd_err *err) {
  if (s->started)
    return hd_err_set(err, HD_FAILED_PRECONDITION, "add services before starting the server");
  return rpc_server_add_methods(s, desc, impls, n_impls, service, false, err);
}

/* Posts one request for a new call of method m (NULL: any unregistered path). */
static void server__post(hd_server *s, rpc_method *m) {
  if (atomic_load(&s->stopping)) return;
  rpc_call *c = calloc(1, sizeof *c);
  if (!c) {
    hd_log_error("rpc.post_failed", "reason", "out of memory");
    return;
  }
  c->srv = s;
  c->method = m;
  grpc_metadata_array_init(&c->md);
  grpc_call_error e;
  if (m) {
    grpc_completion_queue *cq = m->own_thread ? s->health_cq : s->cq;
    c->kind = RPC_TAG_NEW_REGISTERED;
    e = grpc_server_request_registered_call(s->server, m->handle, &c->call, &c->deadline, &c->md,
                                            NULL, cq, cq, c);
  } else {
    c->kind = RPC_TAG_NEW_UNREGISTERED;
    grpc_call_details_init(&c->details);
    c->has_details = true;
    e = grpc_server_request_call(s->server, &c->call, &c->details, &c->md, s->cq, s->cq, c);
  }
  if (e != GRPC_CALL_OK) {
    hd_log_error("rpc.post_failed", "method", m ? m->path : "(unregistered)");
    rpc_call_free(c);
  }
}

void rpc_call_free(rpc_call *c) {
  if (!c) return;
  if (c->reply_charged) atomic_fetch_sub(&c->srv->reply_bytes, (int64_t)c->reply_charged);
  if (c->call) grpc_call_unref(c->call);
  grpc_metadata_array_destroy(&c->md);
  if (c->has_details) grpc_call_details_destroy(&c->details);
  if (c->payload) grpc_byte_buffer_destroy(c->payload);
  if (c->reply) grpc_byte_buffer_destroy(c->reply);
  grpc_slice_unref(c->status_details);
  for (size_t i = 0; i < 2; i++) grpc_slice_unref(c->trailer[i].value); /* zero: a no-op */
  hd_arena_free(c->arena);
  free(c);
}

/* Changes c's charge by delta bytes; taking fails with RESOURCE_EXHAUSTED past the budget. */
static int server__budget_change(hd_server *s, rpc_call *c, int64_t delta, hd_err *err) {
  if (delta > 0) {
    int64_t held = atomic_fetch_add(&s->reply_bytes, delta) + delta;
    if (held > s->reply_budget) {
      atomic_fetch_sub(&s->reply_bytes, delta);
      return hd_err_set(err, HD_RESOURCE_EXHAUSTED,
                        "the server holds %lld MiB of large replies being built or not yet read "
                        "by their clients (the budget is half of HELPDESK_MEMORY_LIMIT_BYTES); "
                        "read your replies, or retry later",
                        (long long)((held - delta) >> 20));
    }
  } else if (delta < 0) {
    atomic_fetch_add(&s->reply_bytes, delta);
  }
  c->reply_charged = (size_t)((int64_t)c->reply_charged + delta);
  return 0;
}

int rpc_reply_budget_set(hd_server *s, rpc_call *c, size_t reply_bytes, size_t extra, hd_err *err) {
  bool large = reply_bytes >= RPC_REPLY_SMALL;
  atomic_store(&c->method->reply_estimate, large ? (int64_t)reply_bytes : 0);
  int64_t want = large ? (int64_t)(reply_bytes + extra) : 0;
  return server__budget_change(s, c, want - (int64_t)c->reply_charged, err);
}

/* Admits a new call of a method whose last reply was large only when the budget has room for
 * what it will build (its reply, and the arena it is built from): else RESOURCE_EXHAUSTED at
 * once, before the request is read or a handler runs, so refused calls cost no memory. */
static int server__admit(hd_server *s, rpc_call *c, hd_err *err) {
  int64_t estimate = atomic_load(&c->method->reply_estimate);
  return estimate > 0 ? server__budget_change(s, c, 2 * estimate, err) : 0;
}

/* A call has ended (its reply sent, or it never got one): wakes a drain that waits for it. */
static void server__call_done(hd_server *s) {
  pthread_mutex_lock(&s->mu);
  atomic_fetch_sub(&s->inflight, 1);
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

/* Starts reading the request message of a call that has just become ours. */
static void server__read_payload(hd_server *s, rpc_call *c) {
  grpc_op op;
  memset(&op, 0, sizeof op);
  op.op = GRPC_OP_RECV_MESSAGE;
  op.data.recv_message.recv_message = &c->payload;
  c->kind = RPC_TAG_PAYLOAD; /* completes on the queue the call was requested on */
  if (grpc_call_start_batch(c->call, &op, 1, c, NULL) != GRPC_CALL_OK) {
    hd_log_error("rpc.read_failed", "method", c->method->path);
    rpc_call_free(c);
    server__call_done(s);
  }
}

/* A call that arrived while stopping: held (neither served nor refused) until the core's GOAWAY
 * is out, then answered UNAVAILABLE (server__release_held); at once when it is out already. */
static void server__hold(hd_server *s, rpc_call *c) {
  pthread_mutex_lock(&s->mu);
  bool late = s->held_released;
  if (!late) {
    c->next_held = s->held;
    s->held = c;
    s->n_held++;
    pthread_cond_broadcast(&s->cv);
  }
  pthread_mutex_unlock(&s->mu);
  if (late) rpc_reply_stopping(s, c);
}

/* One completion-queue event, on a worker (wstate its state) or on the health thread. */
static void server__event(hd_server *s, grpc_event ev, void *wstate, bool wok) {
  enum rpc_tag_kind kind = *(enum rpc_tag_kind *)ev.tag;
  if (kind == RPC_TAG_SHUTDOWN) {
    pthread_mutex_lock(&s->mu);
    s->shutdown_tag_seen = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return;
  }
  if (kind == RPC_TAG_STREAM_OP) { /* streams (stream.c) */
    rpc_stream_event(ev.tag, ev.success);
    return;
  }
  rpc_call *c = ev.tag;
  if (kind == RPC_TAG_REPLY_SENT) {
    rpc_call_free(c);
    server__call_done(s);
    return;
  }
  if (kind == RPC_TAG_PAYLOAD) {
    /* The stream ended before its message arrived: the client cancelled it, or gRPC reset it
     * (its resource quota reclaims streams under memory pressure). Not a request without a
     * message (that is INVALID_ARGUMENT, in rpc_dispatch). */
    if (!ev.success || (!c->payload && grpc_call_failed_before_recv_message(c->call))) {
      hd_log_info("rpc.cancelled_before_request", "method", c->method->path, "reason",
                  "the stream was cancelled or reset before its request arrived");
      rpc_call_free(c);
      server__call_done(s);
      return;
    }
    rpc_dispatch(s, c, wstate, wok);
    return;
  }
  if (!ev.success) { /* the server is shutting down: the posted request is void */
    rpc_call_free(c);
    return;
  }
  atomic_fetch_add(&s->inflight, 1);
  atomic_store(&s->arrived_at_us, hd_monotonic_us());
  server__post(s, c->method); /* keep one posted in its place */
  if (atomic_load(&s->holding)) {
    server__hold(s, c);
    return;
  }
  hd_err err = {0};
  if (kind != RPC_TAG_NEW_REGISTERED)
    rpc_reply_unimplemented(s, c);
  else if (c->method->stream_fn) /* streams (stream.c) */
    rpc_stream_begin(s, c);
  else if (server__admit(s, c, &err) != 0)
    rpc_reply_status(s, c, err.code, err.msg);
  else
    server__read_payload(s, c);
}

static void *server__worker(void *arg) {
  hd_server *s = arg;
  void *wstate = NULL;
  bool wok = true;
  if (s->cfg.worker_init) {
    hd_err err = {0};
    if (s->cfg.worker_init(s->cfg.worker_arg, &wstate, &err) != 0) {
      hd_log_error("rpc.worker_init_failed", "reason", err.msg);
      wok = false;
    }
  }
  for (;;) {
    grpc_event ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
    if (ev.type == GRPC_OP_COMPLETE) server__event(s, ev, wstate, wok);
  }
  if (s->cfg.worker_fini && wok) s->cfg.worker_fini(s->cfg.worker_arg, wstate);
  return NULL;
}

/* Serves health calls from their own queue: answered from the last probe's result, so they never
 * wait behind handlers blocked on a store (every worker on a row lock, say). */
static void *server__health_serve(void *arg) {
  hd_server *s = arg;
  for (;;) {
    grpc_event ev =
        grpc_completion_queue_next(s->health_cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
    if (ev.type == GRPC_OP_COMPLETE) server__event(s, ev, NULL, true);
  }
  return NULL;
}

static int server__credentials(hd_server *s, grpc_server_credentials **out, hd_err *err);

int hd_server_start(hd_server *s, hd_err *err) {
  if (rpc_reflection_start(s, err) != 0) return -1; /* server reflection (reflection.c) */
  grpc_server_credentials *creds = NULL;
  if (server__credentials(s, &creds, err) != 0) return -1;
  s->port = grpc_server_add_http2_port(s->server, s->cfg.listen_addr, creds);
  grpc_server_credentials_release(creds);
  if (s->port <= 0)
    return hd_err_set(err, HD_UNAVAILABLE, "cannot listen on %s (address in use or invalid?)",
                      s->cfg.listen_addr);
  grpc_server_start(s->server);
  s->started = true;
  unsigned per = s->cfg.workers < RPC_POSTED_PER_METHOD ? s->cfg.workers : RPC_POSTED_PER_METHOD;
  for (size_t i = 0; i < s->n_methods; i++)
    for (unsigned k = 0; k < (s->methods[i].own_thread ? RPC_POSTED_HEALTH : per); k++)
      server__post(s, &s->methods[i]);
  for (unsigned k = 0; k < RPC_POSTED_UNREGISTERED; k++) server__post(s, NULL);
  if (pthread_create(&s->health_serve_thread, NULL, server__health_serve, s) != 0) {
    hd_err_set(err, HD_INTERNAL, "cannot start the health thread: %s", strerror(errno));
    hd_server_shutdown(s);
    return -1;
  }
  s->health_serve_started = true;

  s->workers = calloc(s->cfg.workers, sizeof *s->workers);
  if (!s->workers) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory starting workers");
  for (unsigned i = 0; i < s->cfg.workers; i++) {
    if (pthread_create(&s->workers[i], NULL, server__worker, s) != 0) {
      hd_err_set(err, HD_INTERNAL, "cannot start worker thread %u: %s", i, strerror(errno));
      hd_server_shutdown(s);
      return -1;
    }
    s->n_workers++;
  }
  if (rpc_health_start(s, err) != 0) {
    hd_server_shutdown(s);
    return -1;
  }
  char port[16];
  snprintf(port, sizeof port, "%d", s->port);
  hd_log_info("rpc.listening", "addr", s->cfg.listen_addr, "port", port, "tls",
              !s->tls                     ? "off"
              : s->cfg.tls_client_ca_file ? "on, client certificates required"
                                          : "on");
  return 0;
}

int hd_server_port(const hd_server *s) { return s->port; }

static void server__abs_deadline(struct timespec *ts, int64_t from_now_us) {
  clock_gettime(CLOCK_REALTIME, ts);
  int64_t ns = ts->tv_nsec + (from_now_us % 1000000) * 1000;
  ts->tv_sec += (time_t)(from_now_us / 1000000 + ns / 1000000000);
  ts->tv_nsec = (long)(ns % 1000000000);
}

void hd_server_drain_begin(hd_server *s) {
  if (s) atomic_store(&s->draining, true);
}

/* Takes every event of q until it is shut down, freeing the calls (nobody else polls it). */
static void server__drain_queue(grpc_completion_queue *q) {
  for (;;) {
    grpc_event ev = grpc_completion_queue_next(q, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type == GRPC_QUEUE_SHUTDOWN) break;
    if (ev.type == GRPC_OP_COMPLETE && *(enum rpc_tag_kind *)ev.tag != RPC_TAG_SHUTDOWN)
      rpc_call_free(ev.tag);
  }
}

/* The first step of stopping. gRPC core 1.51 cancels (CANCELLED, which clients do not retry) a
 * call whose headers it reads after grpc_server_shutdown_and_notify began and before that
 * connection's GOAWAY went out (Server::CallData::StartNewRpc finds ShutdownCalled() and kills
 * the call as a zombie), and the C API cannot send the GOAWAY first. So that no call arrives in
 * that moment: calls that arrive from now on are held, neither served nor refused, so that
 * clients wait on them instead of sending more, until every call being served has finished and
 * none has arrived for RPC_HOLD_QUIET_US (at most max_us). The held calls are answered
 * UNAVAILABLE once the GOAWAY is out (server__release_held), so their retries go to another
 * connection, not back into that moment. */
static void server__hold_new_calls(hd_server *s, int64_t max_us) {
  /* Take every call the core may still hold unmatched (it would cancel them at shutdown), and
   * keep spare requests posted so that what arrives is ours at once. */
  for (size_t i = 0; i < s->n_methods; i++)
    for (unsigned k = 0; k < RPC_POSTED_AT_SHUTDOWN; k++) server__post(s, &s->methods[i]);
  for (unsigned k = 0; k < RPC_POSTED_UNREGISTERED; k++) server__post(s, NULL);
  atomic_store(&s->holding, true);
  int64_t began = hd_monotonic_us();
  pthread_mutex_lock(&s->mu);
  for (;;) {
    int64_t now = hd_monotonic_us();
    bool served = atomic_load(&s->inflight) <= s->n_held; /* only held calls left */
    if ((served && now - atomic_load(&s->arrived_at_us) >= RPC_HOLD_QUIET_US) ||
        now - began >= max_us)
      break;
    struct timespec tick;
    server__abs_deadline(&tick, RPC_HOLD_QUIET_US / 4);
    pthread_cond_timedwait(&s->cv, &s->mu, &tick);
  }
  long held = s->n_held;
  pthread_mutex_unlock(&s->mu);
  char ms[24], n[24];
  snprintf(ms, sizeof ms, "%.1f", (double)(hd_monotonic_us() - began) / 1000.0);
  snprintf(n, sizeof n, "%ld", held);
  hd_log_info("rpc.stop_accepting", "held_calls", n, "held_for_ms", ms);
}

/* After grpc_server_shutdown_and_notify: its GOAWAY is queued on every connection ahead of our
 * answers, and the listener is closed. The held calls get UNAVAILABLE. */
static void server__release_held(hd_server *s) {
  pthread_mutex_lock(&s->mu);
  rpc_call *c = s->held;
  s->held = NULL;
  s->n_held = 0;
  s->held_released = true;
  pthread_mutex_unlock(&s->mu);
  while (c) {
    rpc_call *next = c->next_held;
    rpc_reply_stopping(s, c);
    c = next;
  }
}

void hd_server_shutdown(hd_server *s) {
  if (!s || s->shut_down) return;
  s->shut_down = true;
  atomic_store(&s->draining, true);
  atomic_store(&s->healthy, false);
  /* The grace counts from here: calls being served go on while new ones are held. */
  struct timespec until;
  server__abs_deadline(&until, s->cfg.grace_us);
  /* Streams (stream.c) end first, UNAVAILABLE: they would hold the drain for their whole life. */
  if (s->started) rpc_streams_stop(s, s->cfg.grace_us);
  if (s->started && s->n_workers > 0)
    server__hold_new_calls(s,
                           s->cfg.grace_us < RPC_HOLD_MAX_US ? s->cfg.grace_us : RPC_HOLD_MAX_US);
  atomic_store(&s->stopping, true);
  if (s->started) {
    grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
    server__release_held(s);
    /* Let in-flight calls finish within the grace period, then cancel the rest. */
    pthread_mutex_lock(&s->mu);
    while (atomic_load(&s->inflight) > 0 && s->n_workers > 0)
      if (pthread_cond_timedwait(&s->cv, &s->mu, &until) == ETIMEDOUT) break;
    long left = atomic_load(&s->inflight);
    pthread_mutex_unlock(&s->mu);
    if (left > 0) {
      char n[24];
      snprintf(n, sizeof n, "%ld", left);
      hd_log_warn("rpc.drain_timeout", "cancelled_calls", n);
      grpc_server_cancel_all_calls(s->server);
    }
    pthread_mutex_lock(&s->mu);
    while (!s->shutdown_tag_seen && s->n_workers > 0) pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
  }
  rpc_health_stop(s);
  grpc_server_destroy(s->server);
  s->server = NULL;
  grpc_completion_queue_shutdown(s->cq);
  grpc_completion_queue_shutdown(s->health_cq);
  if (s->n_workers == 0) server__drain_queue(s->cq); /* nobody drains the queue: do it here */
  if (s->health_serve_started)
    pthread_join(s->health_serve_thread, NULL);
  else
    server__drain_queue(s->health_cq);
  for (unsigned i = 0; i < s->n_workers; i++) pthread_join(s->workers[i], NULL);
  grpc_completion_queue_destroy(s->cq);
  grpc_completion_queue_destroy(s->health_cq);
  s->cq = NULL;
  s->health_cq = NULL;
  hd_log_info("rpc.stopped", "addr", s->cfg.listen_addr);
}

void hd_server_destroy(hd_server *s) {
  if (!s) return;
  hd_server_shutdown(s);
  for (size_t i = 0; i < s->n_methods; i++) free(s->methods[i].path);
  free(s->methods);
  for (size_t i = 0; i < s->n_services; i++) free(s->service_names[i]);
  free(s->service_names);
  rpc_reflection_free(s);
  free(s->workers);
  rpc_tls_free(s->tls); /* the fetcher's state: after the server, which called it */
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
  free(s);
  grpc_shutdown();
}

/* Plaintext, or TLS through server_tls.c (certificates reloaded when their files change; client
 * certificates required and verified when a client CA is configured). */
static int server__credentials(hd_server *s, grpc_server_credentials **out, hd_err *err) {
  const hd_server_config *cfg = &s->cfg;
  if (!cfg->tls_cert_file || !cfg->tls_key_file) {
    *out = grpc_insecure_server_credentials_create();
    return 0;
  }
  return rpc_tls_new(cfg->tls_cert_file, cfg->tls_key_file, cfg->tls_client_ca_file, &s->tls, out,
                     err);
}

void hd_signals_block(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
}

int hd_signals_wait(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  return sig;
}
