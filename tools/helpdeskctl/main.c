/* helpdeskctl: the Helpdesk services from a shell. A generic call on any method with a JSON
 * request, and verbs for an agent's daily work; `helpdeskctl --help` and `helpdeskctl VERB
 * --help` say how. */
#include <stdio.h>
#include <string.h>

#include "ctl.h"

/* One verb: its words, the options it takes besides the global ones, its arguments. */
typedef struct ctl_verb {
  const char *words[2]; /* "ticket", "reply"; a one-word verb has NULL second */
  const char *usage;
  const char *help;
  uint64_t options;
  int min_args, max_args; /* positional arguments after the words */
  int (*run)(ctl *c, const ctl_args *a);
} ctl_verb;

static const ctl_verb ctl__verbs[] = {
    {{"call", NULL},
     "call SERVICE/METHOD [JSON | @FILE | -]",
     "Calls any method of the four services with a JSON request (protobuf's JSON mapping:\n"
     "lowerCamelCase or proto field names, enums by name or number, 64-bit integers as strings\n"
     "or numbers, bytes as base64) and prints the reply as JSON. SERVICE is TicketService,\n"
     "RoutingService, AccountService, KpiService or Health, short or in full\n"
     "(helpdesk.v1.TicketService). The request is the argument, a file (@FILE) or stdin (-);\n"
     "none means {}. An unknown field is refused before anything is sent.\n"
     "  --service S   where Health is asked (tickets, routing, accounts, kpi; default tickets)\n"
     "Example: helpdeskctl call TicketService/GetTicket '{\"ticketId\": 7}'\n",
     CTL_BIT(CTL_O_SERVICE),
     1,
     2,
     ctl_call_main},
    {{"watch", NULL},
     "watch SERVICE/METHOD [JSON | @FILE | -] [--limit N]",
     "Opens a server-streaming method (TicketService/WatchTickets, RoutingService's watches,\n"
     "Health/Watch) with a JSON request as `call` reads one, and prints each message as one line\n"
     "of JSON (--output table: its \"name: value\" lines) as it comes, until the server ends\n"
     "the stream (exit 0 when it ends OK), Ctrl-C (exit 0), --limit N messages (1-500, exit 0),\n"
     "or --timeout D (given: the stream's deadline; its end is exit 0). A failure is exit 1.\n"
     "  --service S   where Health is asked (tickets, routing, accounts, kpi; default tickets)\n"
     "Example: helpdeskctl watch TicketService/WatchTickets '{\"department\": \"BILLING\"}'\n",
     CTL_BIT(CTL_O_SERVICE) | CTL_BIT(CTL_O_LIMIT),
     1,
     2,
     ctl_watch_main},
    {{"tickets", "list"},
     "tickets list [--mine | --owner U | --unassigned] [--open] [--status S] [--department D]\n"
     "             [--newest] [--limit N] [--page-token T]",
     "Lists the tenant's tickets (ListTickets), oldest first.\n"
     "  --mine          the caller's own tickets (the token's subject)\n"
     "  --owner U       agent U's tickets;  --unassigned  tickets nobody owns\n"
     "  --open          only tickets that are not closed or cancelled\n"
     "  --status S      one status: PENDING_RESPONSE, PROCESSING, PENDING_FEEDBACK, ...\n"
     "  --department D  one department;  --newest  newest first\n"
     "  --limit N       page size (1-500, default 50); --page-token T continues a listing\n",
     CTL_BIT(CTL_O_MINE) | CTL_BIT(CTL_O_OPEN) | CTL_BIT(CTL_O_UNASSIGNED) | CTL_BIT(CTL_O_STATUS) |
         CTL_BIT(CTL_O_OWNER) | CTL_BIT(CTL_O_DEPARTMENT) | CTL_BIT(CTL_O_LIMIT) |
         CTL_BIT(CTL_O_PAGE_TOKEN) | CTL_BIT(CTL_O_NEWEST),
     0,
     0,
     ctl_tickets_list},
    {{"ticket", "show"},
     "ticket show ID [--comments]",
     "Shows a ticket (GetTicket); --comments adds its conversation (ListComments).\n",
     CTL_BIT(CTL_O_COMMENTS),
     1,
     1,
     ctl_ticket_show},
    {{"ticket", "reply"},
     "ticket reply ID (--ack | --request-info | --propose | --follow-up | --final) TEXT\n"
     "             [--resolved] [--expected-version V]",
     "Answers the customer (ReplyToTicket); the option says what the reply does:\n"
     "  --ack TEXT           acknowledge: I am working on it (→ PROCESSING)\n"
     "  --request-info TEXT  ask the customer for information (→ PENDING_FEEDBACK)\n"
     "  --propose TEXT       propose a solution (→ PENDING_FEEDBACK)\n"
     "  --follow-up TEXT     chase an unanswered PENDING_FEEDBACK ticket\n"
     "  --final TEXT         the final answer (→ TO_BE_CONFIRMED); --resolved: fully resolved\n"
     "  --expected-version V refuse (ABORTED) if the ticket changed since version V\n",
     CTL_BIT(CTL_O_ACK) | CTL_BIT(CTL_O_REQUEST_INFO) | CTL_BIT(CTL_O_PROPOSE) |
         CTL_BIT(CTL_O_FOLLOW_UP) | CTL_BIT(CTL_O_FINAL) | CTL_BIT(CTL_O_RESOLVED) |
         CTL_BIT(CTL_O_EXPECTED_VERSION),
     1,
     1,
     ctl_ticket_reply},
    {{"claim", "next"},
     "claim next [--queue DEPARTMENT] [--lease SECONDS] [--idempotency-key K]",
     "Takes the oldest ticket waiting in one of your departments' queues (routing's\n"
     "ClaimNext) and assigns it to you; no ticket waiting is not an error (message says so).\n"
     "  --queue D            take from department D's queue only (TECHNICAL, BILLING, ...)\n"
     "  --lease SECONDS      the claim's lease (1-3600; default the service's)\n"
     "  --idempotency-key K  a retry with K returns the same claim\n",
     CTL_BIT(CTL_O_QUEUE) | CTL_BIT(CTL_O_LEASE) | CTL_BIT(CTL_O_IDEMPOTENCY_KEY),
     0,
     0,
     ctl_claim_next},
    {{"escalate", NULL},
     "escalate ID --to DEPARTMENT --context TEXT [--thread URL] [--mode assign|consult]\n"
     "             [--product P] [--brand B] [--expected-version V] [--idempotency-key K]",
     "Escalates a ticket to a department (routing's EscalateToDepartment).\n"
     "  --to D        the receiving department (BILLING, TECHNICAL, ...)\n"
     "  --context T   what the department needs to know (required)\n"
     "  --thread URL  the thread opened in the department's group chat (https; required to\n"
     "                CONSULT)\n"
     "  --mode M      assign (default: the ticket moves to D) or consult (it stays)\n",
     CTL_BIT(CTL_O_TO) | CTL_BIT(CTL_O_CONTEXT) | CTL_BIT(CTL_O_THREAD) | CTL_BIT(CTL_O_MODE) |
         CTL_BIT(CTL_O_PRODUCT) | CTL_BIT(CTL_O_BRAND) | CTL_BIT(CTL_O_EXPECTED_VERSION) |
         CTL_BIT(CTL_O_IDEMPOTENCY_KEY),
     1,
     1,
     ctl_escalate},
    {{"handover", "show"},
     "handover show [--from AGENT] [--department D] [--limit N] [--page-token T]",
     "What the last shifts handed over (routing's GetHandOver), oldest first.\n",
     CTL_BIT(CTL_O_FROM) | CTL_BIT(CTL_O_DEPARTMENT) | CTL_BIT(CTL_O_LIMIT) |
         CTL_BIT(CTL_O_PAGE_TOKEN),
     0,
     0,
     ctl_handover_show},
    {{"handover", NULL},
     "handover --note ID=TEXT [--note ID=TEXT ...] [--agent A] [--idempotency-key K]",
     "Hands over your shift (routing's HandOverShift): one --note per open ticket you own;\n"
     "each ticket moves to its team and you go OFF_DUTY. A missing note moves nothing.\n"
     "  --agent A  hand over agent A's shift instead (team_lead or supervisor)\n",
     CTL_BIT(CTL_O_NOTE) | CTL_BIT(CTL_O_AGENT) | CTL_BIT(CTL_O_IDEMPOTENCY_KEY),
     0,
     0,
     ctl_handover},
    {{"health", NULL},
     "health [--service S]",
     "Asks each service's grpc.health.v1.Health/Check (no token needed); exits 1 unless all\n"
     "are SERVING. --service S asks one of tickets, routing, accounts, kpi.\n",
     CTL_BIT(CTL_O_SERVICE),
     0,
     0,
     ctl_health},
};

#define CTL_N_VERBS (sizeof ctl__verbs / sizeof ctl__verbs[0])

static const char ctl__global_help[] =
    "Options of every verb:\n"
    "  --target HOST:PORT  the service's address; else HELPDESK_<SERVICE>_TARGET\n"
    "                      (HELPDESK_TICKETS_TARGET, _ROUTING_, _ACCOUNTS_, _KPI_), else\n"
    "                      HELPDESK_TARGET, else 127.0.0.1:50051 (tickets), 50052 (routing),\n"
    "                      50053 (accounts), 50054 (kpi)\n"
    "  --token T           the bearer token; else HELPDESK_TOKEN\n"
    "  --dev-token --tenant T --subject S [--role R[,R]]\n"
    "                      mint a one-hour token signed with HELPDESK_AUTH_SECRET (default:\n"
    "                      the development secret), as hd-token does; role default agent\n"
    "  --output json|table the reply as JSON (call's default) or a table (the verbs')\n"
    "  --timeout D         each call's deadline (default 10s; watch: none unless given)\n"
    "  --tls-ca FILE       speak TLS, trusting this CA; else HELPDESK_TLS_CA; else plaintext\n"
    "Exit status: 0 done; 1 a call failed (\"helpdeskctl: CODE: message\" on stderr, CODE the\n"
    "gRPC status, e.g. FAILED_PRECONDITION); 2 bad usage or a request refused before sending.\n";

static void ctl__usage(FILE *f) {
  fprintf(f, "usage: helpdeskctl VERB [ARGS] [OPTIONS]\n\nVerbs:\n");
  for (size_t i = 0; i < CTL_N_VERBS; i++) fprintf(f, "  %s\n", ctl__verbs[i].usage);
  fprintf(f, "\n%s\n'helpdeskctl VERB --help' for a verb's options.\n", ctl__global_help);
}

static void ctl__verb_help(FILE *f, const ctl_verb *v) {
  fprintf(f, "usage: helpdeskctl %s\n\n%s\n%s", v->usage, v->help, ctl__global_help);
}

/* The verb the words name (two-word verbs first), and how many words it took. */
static const ctl_verb *ctl__find(const ctl_args *a, int *n_words) {
  for (size_t i = 0; i < CTL_N_VERBS; i++) {
    const ctl_verb *v = &ctl__verbs[i];
    if (a->n_words < 1 || strcmp(a->words[0], v->words[0]) != 0) continue;
    if (!v->words[1]) {
      *n_words = 1;
      return v;
    }
    if (a->n_words >= 2 && strcmp(a->words[1], v->words[1]) == 0) {
      *n_words = 2;
      return v;
    }
  }
  return NULL;
}

/* The first option given that v does not take; CTL_O_COUNT when none. */
static ctl_opt ctl__stray(const ctl_verb *v, const ctl_args *a) {
  uint64_t stray = a->seen & ~(v->options | CTL_GLOBAL_OPTS);
  for (int o = 0; o < CTL_O_COUNT; o++)
    if (stray & CTL_BIT(o)) return (ctl_opt)o;
  return CTL_O_COUNT;
}

int main(int argc, char **argv) {
  static ctl_args a; /* large (the notes): not on the stack */
  if (ctl_args_parse(argc, argv, &a, stderr) != 0) {
    fprintf(stderr, "run 'helpdeskctl --help' for usage\n");
    return CTL_EXIT_USAGE;
  }
  int n_words = 0;
  const ctl_verb *v = ctl__find(&a, &n_words);
  if (!v) {
    if (a.help || a.n_words == 0) {
      ctl__usage(a.help ? stdout : stderr);
      return a.help ? CTL_EXIT_OK : CTL_EXIT_USAGE;
    }
    fprintf(stderr, "helpdeskctl: no verb \"%s%s%s\"; run 'helpdeskctl --help'\n", a.words[0],
            a.n_words > 1 ? " " : "", a.n_words > 1 ? a.words[1] : "");
    return CTL_EXIT_USAGE;
  }
  if (a.help) {
    ctl__verb_help(stdout, v);
    return CTL_EXIT_OK;
  }
  int n_args = a.n_words - n_words;
  ctl_opt stray = ctl__stray(v, &a);
  if (stray != CTL_O_COUNT || n_args < v->min_args || n_args > v->max_args) {
    if (stray != CTL_O_COUNT)
      fprintf(stderr, "helpdeskctl: %s%s%s takes no --%s\n", v->words[0], v->words[1] ? " " : "",
              v->words[1] ? v->words[1] : "", ctl_opt_name(stray));
    else
      fprintf(stderr, "helpdeskctl: wrong number of arguments\n");
    fprintf(stderr, "usage: helpdeskctl %s\n", v->usage);
    return CTL_EXIT_USAGE;
  }
  ctl c = {.out = stdout, .diag = stderr};
  int rc = ctl_open(&c, &a) == 0 ? v->run(&c, &a) : CTL_EXIT_USAGE;
  ctl_close(&c);
  return rc;
}
