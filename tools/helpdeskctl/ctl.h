/* helpdeskctl's shared pieces: the parsed command line, the connection to the four services
 * (targets, token, one hd_client per service), calls by method name, and output as JSON or a
 * table. The verbs (ctl_verbs.c) and the generic call (ctl_call.c) are built on these. */
#ifndef HD_CTL_H
#define HD_CTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>
#include <protobuf-c/protobuf-c.h>

#include "core/arena.h"
#include "core/err.h"
#include "rpc/client.h"

/* Exit statuses: 0 done, 1 a call failed (its status printed), 2 bad usage. */
enum { CTL_EXIT_OK = 0, CTL_EXIT_FAILED = 1, CTL_EXIT_USAGE = 2 };

#define CTL_NOTES_MAX       500      /* --note of one hand-over (HandOverShift takes 500) */
#define CTL_TIMEOUT_DEFAULT 10000000 /* a call's deadline, us */
#define CTL_ARENA_CAP       (64u << 20)
#define CTL_TOKEN_TTL_S     3600

/* The services helpdeskctl talks to; CTL_HEALTH is grpc.health.v1.Health, served by each. */
typedef enum ctl_svc { CTL_TICKETS, CTL_ROUTING, CTL_ACCOUNTS, CTL_KPI, CTL_SVC_COUNT } ctl_svc;

/* Every option of every verb: the bit of each in ctl_args.seen and ctl_verb.options. */
typedef enum ctl_opt {
  /* global: accepted by every verb */
  CTL_O_TARGET,
  CTL_O_TOKEN,
  CTL_O_DEV_TOKEN,
  CTL_O_TENANT,
  CTL_O_SUBJECT,
  CTL_O_ROLE,
  CTL_O_OUTPUT,
  CTL_O_TIMEOUT,
  CTL_O_TLS_CA,
  CTL_O_HELP,
  /* the verbs' own */
  CTL_O_MINE,
  CTL_O_OPEN,
  CTL_O_UNASSIGNED,
  CTL_O_STATUS,
  CTL_O_OWNER,
  CTL_O_DEPARTMENT,
  CTL_O_LIMIT,
  CTL_O_PAGE_TOKEN,
  CTL_O_NEWEST,
  CTL_O_COMMENTS,
  CTL_O_ACK,
  CTL_O_REQUEST_INFO,
  CTL_O_PROPOSE,
  CTL_O_FOLLOW_UP,
  CTL_O_FINAL,
  CTL_O_RESOLVED,
  CTL_O_EXPECTED_VERSION,
  CTL_O_QUEUE,
  CTL_O_LEASE,
  CTL_O_IDEMPOTENCY_KEY,
  CTL_O_TO,
  CTL_O_THREAD,
  CTL_O_CONTEXT,
  CTL_O_MODE,
  CTL_O_PRODUCT,
  CTL_O_BRAND,
  CTL_O_NOTE,
  CTL_O_AGENT,
  CTL_O_FROM,
  CTL_O_SERVICE,
  CTL_O_COUNT
} ctl_opt;

#define CTL_BIT(o)      (UINT64_C(1) << (o))
#define CTL_GLOBAL_OPTS (CTL_BIT(CTL_O_HELP + 1) - 1)

/* The command line, parsed once (ctl_args_parse): option values borrowed from argv. */
typedef struct ctl_args {
  uint64_t seen; /* CTL_BIT of each option given */
  const char *target, *token, *tenant, *subject, *roles, *tls_ca;
  bool dev_token, help;
  int output; /* 0 the verb's default, 'j' json, 't' table */
  int64_t timeout_us;
  bool mine, open, unassigned, newest, comments, resolved;
  const char *status, *owner, *department, *page_token, *queue, *idempotency_key, *to, *thread,
      *context, *mode, *product, *brand, *agent, *from, *service;
  int reply_intent;       /* ReplyIntent of --ack and the others; 0 none */
  const char *reply_body; /* its text */
  int64_t limit, lease, expected_version;
  const char *notes[CTL_NOTES_MAX]; /* "ID=TEXT" */
  size_t n_notes;
  char **words; /* what is left: the verb's words and its arguments */
  int n_words;
} ctl_args;

/* One run: where the services are, the token, the output form, and the calls' memory. */
typedef struct ctl {
  const ctl_args *args;
  char *token;       /* NULL: calls carry no token; freed by ctl_close */
  char subject[256]; /* the token's sub when known ("" else): --mine */
  char target[CTL_SVC_COUNT][256];
  hd_client *clients[CTL_SVC_COUNT]; /* opened on first use */
  hd_arena *arena;                   /* requests and replies */
  FILE *out;                         /* replies (stdout) */
  FILE *diag;                        /* failures (stderr) */
} ctl;

/* Parses argv (after the program name) into *a: options anywhere, the rest into a->words.
 * 0, or -1 with the reason on diag. */
int ctl_args_parse(int argc, char **argv, ctl_args *a, FILE *diag);

/* The long name of option o ("queue"), static storage. */
const char *ctl_opt_name(ctl_opt o);

/* Resolves the targets and the token (flags, environment, --dev-token) and makes the arena.
 * 0, or -1 with the reason on c->diag. Caller frees with ctl_close(). */
int ctl_open(ctl *c, const ctl_args *a);
void ctl_close(ctl *c);

/* "tickets", "routing", "accounts", "kpi"; ctl_svc_parse: -1 when none. */
const char *ctl_svc_name(ctl_svc s);
int ctl_svc_parse(const char *name, ctl_svc *out);

/* The generated descriptor of a service's gRPC service. */
const ProtobufCServiceDescriptor *ctl_svc_descriptor(ctl_svc s);

/* The client of svc's target (made on first use, freed by ctl_close). 0, or -1 (err). */
int ctl_client(ctl *c, ctl_svc svc, hd_client **out, hd_err *err);

/* Adds "(tickets at 127.0.0.1:50051)" to err when it says the service is unavailable or too
 * slow, so the reader knows which address failed. Returns -1. */
int ctl_where(ctl *c, ctl_svc svc, hd_err *err);

/* Calls full_method ("/helpdesk.v1.TicketService/GetTicket") on svc's target with c's token;
 * *resp (of type resp_desc) lives in c->arena. 0, or -1 with err the status and message. */
int ctl_rpc_raw(ctl *c, ctl_svc svc, const char *full_method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp, hd_err *err);

/* Calls method ("GetTicket") of svc's service with req (of the method's input type). */
int ctl_rpc(ctl *c, ctl_svc svc, const char *method, const ProtobufCMessage *req,
            ProtobufCMessage **resp, hd_err *err);

/* Prints "helpdeskctl: CODE: message" on c->diag; returns CTL_EXIT_FAILED. */
int ctl_fail(ctl *c, const hd_err *err);

/* How a reply is shown as a table: the member holding the rows (dotted for nested:
 * "handOver.items"; NULL: none) and their columns (JSON names, NULL-terminated; NULL: every
 * scalar member), then "name: value" lines for the members in `lines` (dotted paths,
 * NULL-terminated; NULL: every member but the rows). */
typedef struct ctl_table {
  const char *rows;
  const char *const *columns;
  const char *const *lines;
} ctl_table;

/* Prints msg on c->out as indented JSON (json output) or a table / "name: value" lines.
 * as_table_default: the verb's default form when --output is not given. 0 or -1 (err). */
int ctl_print(ctl *c, const ProtobufCMessage *msg, const ctl_table *table, bool as_table_default,
              hd_err *err);

/* Prints doc (an object: the verb built it from several replies) as ctl_print would. Takes the
 * reference to doc. */
int ctl_print_json(ctl *c, json_t *doc, const ctl_table *table, bool as_table_default);

/* The generic call: `call SERVICE/METHOD [JSON | @FILE | -]`. */
int ctl_call_main(ctl *c, const ctl_args *a);

/* The generic stream: `watch SERVICE/METHOD [JSON | @FILE | -]`, one line per message. */
int ctl_watch_main(ctl *c, const ctl_args *a);

/* The verbs (ctl_verbs.c). Each returns a CTL_EXIT_ status. */
int ctl_tickets_list(ctl *c, const ctl_args *a);
int ctl_ticket_show(ctl *c, const ctl_args *a);
int ctl_ticket_reply(ctl *c, const ctl_args *a);
int ctl_claim_next(ctl *c, const ctl_args *a);
int ctl_escalate(ctl *c, const ctl_args *a);
int ctl_handover(ctl *c, const ctl_args *a);
int ctl_handover_show(ctl *c, const ctl_args *a);
int ctl_health(ctl *c, const ctl_args *a);

/* Parses text as a positive int64 id for `what` ("ticket id"); -1 with a message on diag. */
int ctl_parse_id(ctl *c, const char *what, const char *text, int64_t *out);

#endif
