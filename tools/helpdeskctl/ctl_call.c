/* `helpdeskctl call SERVICE/METHOD [JSON]`: any unary method of the four services (and
 * grpc.health.v1.Health), the request read from JSON and the reply printed as JSON, both through
 * the generated descriptors (json/pb_json); `helpdeskctl watch SERVICE/METHOD [JSON]`: the same
 * for a server-streaming method, each message a line as it comes. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "grpc/health/v1/health.pb-c.h"
#include "json/pb_json.h"

/* The service a method name's service part names: full ("helpdesk.v1.TicketService") or short
 * ("TicketService"); Health is served by every service (*svc left as it is). */
static const ProtobufCServiceDescriptor *call__service(const char *name, size_t len, ctl_svc *svc,
                                                       bool *is_health) {
  const ProtobufCServiceDescriptor *health = &grpc__health__v1__health__descriptor;
  *is_health = false;
  for (int i = 0; i <= CTL_SVC_COUNT; i++) {
    const ProtobufCServiceDescriptor *d = i < CTL_SVC_COUNT ? ctl_svc_descriptor(i) : health;
    bool full = strlen(d->name) == len && memcmp(d->name, name, len) == 0;
    bool short_name = strlen(d->short_name) == len && memcmp(d->short_name, name, len) == 0;
    if (!full && !short_name) continue;
    if (i < CTL_SVC_COUNT)
      *svc = (ctl_svc)i;
    else
      *is_health = true;
    return d;
  }
  return NULL;
}

/* The request text: the argument, "-" for stdin, "@FILE" for a file; "{}" when none. *text in
 * c->arena. -1 with a message on diag. */
static int call__request_text(ctl *c, const char *arg, char **text, size_t *len) {
  if (!arg) {
    *text = hd_arena_strdup(c->arena, "{}");
    *len = 2;
    return *text ? 0 : -1;
  }
  if (strcmp(arg, "-") != 0 && arg[0] != '@') {
    *text = (char *)arg;
    *len = strlen(arg);
    return 0;
  }
  FILE *f = strcmp(arg, "-") == 0 ? stdin : fopen(arg + 1, "rb");
  if (!f) {
    fprintf(c->diag, "helpdeskctl: cannot read %s\n", arg + 1);
    return -1;
  }
  size_t cap = HD_PB_JSON_LIMITS.max_bytes + 1;
  char *buf = hd_arena_alloc(c->arena, cap + 1);
  size_t n = buf ? fread(buf, 1, cap, f) : 0;
  bool failed = !buf || ferror(f);
  if (f != stdin) fclose(f);
  if (failed || n == cap) {
    fprintf(c->diag, "helpdeskctl: the request in %s is unreadable or over %zu bytes\n",
            strcmp(arg, "-") == 0 ? "stdin" : arg + 1, HD_PB_JSON_LIMITS.max_bytes);
    return -1;
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return 0;
}

/* The method the first argument names and its request from the second, for verb ("call",
 * "watch"). CTL_EXIT_OK with *svc, *sd, *m and *req (in c->arena), else CTL_EXIT_USAGE with the
 * reason on diag. */
static int call__method(ctl *c, const ctl_args *a, const char *verb, ctl_svc *svc,
                        const ProtobufCServiceDescriptor **sd, const ProtobufCMethodDescriptor **m,
                        ProtobufCMessage **req) {
  const char *spec = a->words[1];
  if (spec[0] == '/') spec++;
  const char *slash = strrchr(spec, '/');
  if (!slash || slash == spec || !slash[1]) {
    fprintf(c->diag,
            "helpdeskctl: %s %s: name a method as Service/Method, e.g. "
            "TicketService/GetTicket\n",
            verb, a->words[1]);
    return CTL_EXIT_USAGE;
  }
  *svc = CTL_TICKETS;
  bool is_health = false;
  *sd = call__service(spec, (size_t)(slash - spec), svc, &is_health);
  if (!*sd) {
    fprintf(c->diag,
            "helpdeskctl: %s: no service \"%.*s\"; one of TicketService, RoutingService, "
            "AccountService, KpiService, Health (or their full names, helpdesk.v1.TicketService)\n",
            verb, (int)(slash - spec), spec);
    return CTL_EXIT_USAGE;
  }
  if (a->service && ctl_svc_parse(a->service, svc) != 0) {
    fprintf(c->diag, "helpdeskctl: --service %s: tickets, routing, accounts or kpi\n", a->service);
    return CTL_EXIT_USAGE;
  }
  if (a->service && !is_health) {
    fprintf(c->diag, "helpdeskctl: --service chooses where Health is asked; %s is served by %s\n",
            (*sd)->name, ctl_svc_name(*svc));
    return CTL_EXIT_USAGE;
  }
  *m = protobuf_c_service_descriptor_get_method_by_name(*sd, slash + 1);
  if (!*m) {
    fprintf(c->diag, "helpdeskctl: %s: %s has no method \"%s\"; it has:", verb, (*sd)->name,
            slash + 1);
    for (unsigned i = 0; i < (*sd)->n_methods; i++)
      fprintf(c->diag, "%s %s", i ? "," : "", (*sd)->methods[i].name);
    fprintf(c->diag, "\n");
    return CTL_EXIT_USAGE;
  }
  char *text = NULL;
  size_t len = 0;
  if (call__request_text(c, a->n_words > 2 ? a->words[2] : NULL, &text, &len))
    return CTL_EXIT_USAGE;
  hd_err err = {0};
  if (hd_pb_json_parse((*m)->input, text, len, c->arena, req, &err) != 0) {
    fprintf(c->diag, "helpdeskctl: %s: the request is not a %s: %s\n", hd_code_name(err.code),
            (*m)->input->name, err.msg);
    return CTL_EXIT_USAGE;
  }
  return CTL_EXIT_OK;
}

int ctl_call_main(ctl *c, const ctl_args *a) {
  ctl_svc svc = CTL_TICKETS;
  const ProtobufCServiceDescriptor *sd = NULL;
  const ProtobufCMethodDescriptor *m = NULL;
  ProtobufCMessage *req = NULL, *resp = NULL;
  const int usage = call__method(c, a, "call", &svc, &sd, &m, &req);
  if (usage != CTL_EXIT_OK) return usage;
  char path[256];
  snprintf(path, sizeof path, "/%s/%s", sd->name, m->name);
  hd_err err = {0};
  if (ctl_rpc_raw(c, svc, path, req, m->output, &resp, &err) != 0) return ctl_fail(c, &err);
  if (ctl_print(c, resp, NULL, false, &err) != 0) return ctl_fail(c, &err);
  return CTL_EXIT_OK;
}

/* ---- watch ---- */

#define WATCH_POLL_MS 200 /* how often a quiet stream checks for Ctrl-C */

/* Set by SIGINT / SIGTERM while a watch runs: the one piece of process state a signal handler
 * may touch (the watch then cancels its stream and ends with 0). */
static volatile sig_atomic_t watch__stop;

static void watch__on_signal(int sig) {
  (void)sig;
  watch__stop = 1;
}

/* Prints one message: a compact JSON line (json, the default), or its "name: value" lines and a
 * blank line (table). */
static int watch__print(ctl *c, const ProtobufCMessage *msg, hd_err *err) {
  if (c->args->output == 't') {
    if (ctl_print(c, msg, NULL, true, err) != 0) return -1;
    fputc('\n', c->out);
  } else {
    json_t *obj = NULL;
    if (hd_pb_json_write(msg, &obj, err) != 0) return -1;
    json_dumpf(obj, c->out, JSON_COMPACT | JSON_REAL_PRECISION(15));
    json_decref(obj);
    fputc('\n', c->out);
  }
  fflush(c->out);
  return 0;
}

int ctl_watch_main(ctl *c, const ctl_args *a) {
  ctl_svc svc = CTL_TICKETS;
  const ProtobufCServiceDescriptor *sd = NULL;
  const ProtobufCMethodDescriptor *m = NULL;
  ProtobufCMessage *req = NULL;
  const int usage = call__method(c, a, "watch", &svc, &sd, &m, &req);
  if (usage != CTL_EXIT_OK) return usage;
  char path[256];
  snprintf(path, sizeof path, "/%s/%s", sd->name, m->name);
  const bool timed = a->seen & CTL_BIT(CTL_O_TIMEOUT);
  hd_err err = {0};
  hd_client *client = NULL;
  hd_client_stream *st = NULL;
  if (ctl_client(c, svc, &client, &err) != 0 ||
      hd_client_stream_open(client, path, c->token, timed ? a->timeout_us : 0, req, &st, &err) != 0)
    return ctl_fail(c, &err);
  struct sigaction sa = {.sa_handler = watch__on_signal}, old_int, old_term;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  int rc = CTL_EXIT_OK;
  int64_t seen = 0;
  for (;;) {
    if (watch__stop || (a->limit > 0 && seen >= a->limit)) break; /* the reader stops: OK */
    hd_arena *arena = hd_arena_new(CTL_ARENA_CAP);
    ProtobufCMessage *msg = NULL;
    hd_client_stream_got got = HD_CLIENT_STREAM_ENDED;
    int r = arena ? hd_client_stream_read(st, m->output, WATCH_POLL_MS, arena, &msg, &got, &err)
                  : hd_err_set(&err, HD_RESOURCE_EXHAUSTED, "out of memory");
    if (r == 0 && got == HD_CLIENT_STREAM_MESSAGE) {
      r = watch__print(c, msg, &err);
      seen++;
    }
    hd_arena_free(arena);
    if (r != 0) {
      rc = ctl_fail(c, &err);
      break;
    }
    if (got != HD_CLIENT_STREAM_ENDED) continue;
    /* The server ended it: OK, or --timeout ran out (the end asked for), or a failure. */
    if (hd_client_stream_finish(st, -1, NULL, &err) != 0 &&
        !(timed && err.code == HD_DEADLINE_EXCEEDED)) {
      ctl_where(c, svc, &err);
      rc = ctl_fail(c, &err);
    }
    break;
  }
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  hd_client_stream_free(st);
  return rc;
}
