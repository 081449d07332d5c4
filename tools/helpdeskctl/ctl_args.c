/* helpdeskctl's command line: one table of every option (global and per verb), parsed in one
 * pass so that options may come before or after the verb; the verb then refuses the ones that
 * are not its own (main.c). */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "ctl.h"
#include "helpdesk/v1/tickets.pb-c.h"

#define CTL_OPT_VAL(o) (1000 + (int)(o))

static const struct option ctl__longopts[] = {
    {"target", required_argument, NULL, CTL_OPT_VAL(CTL_O_TARGET)},
    {"token", required_argument, NULL, CTL_OPT_VAL(CTL_O_TOKEN)},
    {"dev-token", no_argument, NULL, CTL_OPT_VAL(CTL_O_DEV_TOKEN)},
    {"tenant", required_argument, NULL, CTL_OPT_VAL(CTL_O_TENANT)},
    {"subject", required_argument, NULL, CTL_OPT_VAL(CTL_O_SUBJECT)},
    {"role", required_argument, NULL, CTL_OPT_VAL(CTL_O_ROLE)},
    {"output", required_argument, NULL, CTL_OPT_VAL(CTL_O_OUTPUT)},
    {"timeout", required_argument, NULL, CTL_OPT_VAL(CTL_O_TIMEOUT)},
    {"tls-ca", required_argument, NULL, CTL_OPT_VAL(CTL_O_TLS_CA)},
    {"help", no_argument, NULL, CTL_OPT_VAL(CTL_O_HELP)},
    {"mine", no_argument, NULL, CTL_OPT_VAL(CTL_O_MINE)},
    {"open", no_argument, NULL, CTL_OPT_VAL(CTL_O_OPEN)},
    {"unassigned", no_argument, NULL, CTL_OPT_VAL(CTL_O_UNASSIGNED)},
    {"status", required_argument, NULL, CTL_OPT_VAL(CTL_O_STATUS)},
    {"owner", required_argument, NULL, CTL_OPT_VAL(CTL_O_OWNER)},
    {"department", required_argument, NULL, CTL_OPT_VAL(CTL_O_DEPARTMENT)},
    {"limit", required_argument, NULL, CTL_OPT_VAL(CTL_O_LIMIT)},
    {"page-token", required_argument, NULL, CTL_OPT_VAL(CTL_O_PAGE_TOKEN)},
    {"newest", no_argument, NULL, CTL_OPT_VAL(CTL_O_NEWEST)},
    {"comments", no_argument, NULL, CTL_OPT_VAL(CTL_O_COMMENTS)},
    {"ack", required_argument, NULL, CTL_OPT_VAL(CTL_O_ACK)},
    {"request-info", required_argument, NULL, CTL_OPT_VAL(CTL_O_REQUEST_INFO)},
    {"propose", required_argument, NULL, CTL_OPT_VAL(CTL_O_PROPOSE)},
    {"follow-up", required_argument, NULL, CTL_OPT_VAL(CTL_O_FOLLOW_UP)},
    {"final", required_argument, NULL, CTL_OPT_VAL(CTL_O_FINAL)},
    {"resolved", no_argument, NULL, CTL_OPT_VAL(CTL_O_RESOLVED)},
    {"expected-version", required_argument, NULL, CTL_OPT_VAL(CTL_O_EXPECTED_VERSION)},
    {"queue", required_argument, NULL, CTL_OPT_VAL(CTL_O_QUEUE)},
    {"lease", required_argument, NULL, CTL_OPT_VAL(CTL_O_LEASE)},
    {"idempotency-key", required_argument, NULL, CTL_OPT_VAL(CTL_O_IDEMPOTENCY_KEY)},
    {"to", required_argument, NULL, CTL_OPT_VAL(CTL_O_TO)},
    {"thread", required_argument, NULL, CTL_OPT_VAL(CTL_O_THREAD)},
    {"context", required_argument, NULL, CTL_OPT_VAL(CTL_O_CONTEXT)},
    {"mode", required_argument, NULL, CTL_OPT_VAL(CTL_O_MODE)},
    {"product", required_argument, NULL, CTL_OPT_VAL(CTL_O_PRODUCT)},
    {"brand", required_argument, NULL, CTL_OPT_VAL(CTL_O_BRAND)},
    {"note", required_argument, NULL, CTL_OPT_VAL(CTL_O_NOTE)},
    {"agent", required_argument, NULL, CTL_OPT_VAL(CTL_O_AGENT)},
    {"from", required_argument, NULL, CTL_OPT_VAL(CTL_O_FROM)},
    {"service", required_argument, NULL, CTL_OPT_VAL(CTL_O_SERVICE)},
    {NULL, 0, NULL, 0}};

/* A whole number in [lo, hi] for option `name`; -1 with a message otherwise. */
static int ctl__number(const char *name, const char *text, int64_t lo, int64_t hi, int64_t *out,
                       FILE *diag) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (!*text || *end || errno == ERANGE || v < lo || v > hi) {
    fprintf(diag, "helpdeskctl: --%s %s is not a whole number from %lld to %lld\n", name, text,
            (long long)lo, (long long)hi);
    return -1;
  }
  *out = v;
  return 0;
}

/* --ack and the other reply intents: one of them, with its text. */
static int ctl__intent(ctl_args *a, int intent, const char *text, FILE *diag) {
  if (a->reply_intent) {
    fprintf(diag,
            "helpdeskctl: give one of --ack, --request-info, --propose, --follow-up, "
            "--final\n");
    return -1;
  }
  a->reply_intent = intent;
  a->reply_body = text;
  return 0;
}

const char *ctl_opt_name(ctl_opt o) {
  for (const struct option *p = ctl__longopts; p->name; p++)
    if (p->val == CTL_OPT_VAL(o)) return p->name;
  return "?";
}

int ctl_args_parse(int argc, char **argv, ctl_args *a, FILE *diag) {
  int opt;
  a->timeout_us = CTL_TIMEOUT_DEFAULT;
  optind = 1;
  opterr = 1;
  while ((opt = getopt_long(argc, argv, "h", ctl__longopts, NULL)) != -1) {
    if (opt == 'h') opt = CTL_OPT_VAL(CTL_O_HELP);
    if (opt < CTL_OPT_VAL(0) || opt >= CTL_OPT_VAL(CTL_O_COUNT)) return -1; /* getopt said why */
    ctl_opt o = (ctl_opt)(opt - CTL_OPT_VAL(0));
    a->seen |= CTL_BIT(o);
    switch (o) {
      case CTL_O_TARGET:
        a->target = optarg;
        break;
      case CTL_O_TOKEN:
        a->token = optarg;
        break;
      case CTL_O_DEV_TOKEN:
        a->dev_token = true;
        break;
      case CTL_O_TENANT:
        a->tenant = optarg;
        break;
      case CTL_O_SUBJECT:
        a->subject = optarg;
        break;
      case CTL_O_ROLE:
        a->roles = optarg;
        break;
      case CTL_O_TLS_CA:
        a->tls_ca = optarg;
        break;
      case CTL_O_HELP:
        a->help = true;
        break;
      case CTL_O_OUTPUT:
        if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0) {
          fprintf(diag, "helpdeskctl: --output %s: json or table\n", optarg);
          return -1;
        }
        a->output = optarg[0];
        break;
      case CTL_O_TIMEOUT:
        if (hd_parse_duration_us(optarg, &a->timeout_us) != 0 || a->timeout_us <= 0 ||
            a->timeout_us > 600 * HD_US_PER_S) {
          fprintf(diag, "helpdeskctl: --timeout %s is not a duration from 1us to 10m\n", optarg);
          return -1;
        }
        break;
      case CTL_O_MINE:
        a->mine = true;
        break;
      case CTL_O_OPEN:
        a->open = true;
        break;
      case CTL_O_UNASSIGNED:
        a->unassigned = true;
        break;
      case CTL_O_STATUS:
        a->status = optarg;
        break;
      case CTL_O_OWNER:
        a->owner = optarg;
        break;
      case CTL_O_DEPARTMENT:
        a->department = optarg;
        break;
      case CTL_O_LIMIT:
        if (ctl__number("limit", optarg, 1, 500, &a->limit, diag)) return -1;
        break;
      case CTL_O_PAGE_TOKEN:
        a->page_token = optarg;
        break;
      case CTL_O_NEWEST:
        a->newest = true;
        break;
      case CTL_O_COMMENTS:
        a->comments = true;
        break;
      case CTL_O_ACK:
        if (ctl__intent(a, HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_ACKNOWLEDGE, optarg, diag))
          return -1;
        break;
      case CTL_O_REQUEST_INFO:
        if (ctl__intent(a, HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_REQUEST_INFO, optarg, diag))
          return -1;
        break;
      case CTL_O_PROPOSE:
        if (ctl__intent(a, HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_PROPOSE_SOLUTION, optarg, diag))
          return -1;
        break;
      case CTL_O_FOLLOW_UP:
        if (ctl__intent(a, HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_FOLLOW_UP, optarg, diag))
          return -1;
        break;
      case CTL_O_FINAL:
        if (ctl__intent(a, HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_FINAL_ANSWER, optarg, diag))
          return -1;
        break;
      case CTL_O_RESOLVED:
        a->resolved = true;
        break;
      case CTL_O_EXPECTED_VERSION:
        if (ctl__number("expected-version", optarg, 0, INT64_MAX, &a->expected_version, diag))
          return -1;
        break;
      case CTL_O_QUEUE:
        a->queue = optarg;
        break;
      case CTL_O_LEASE:
        if (ctl__number("lease", optarg, 1, 3600, &a->lease, diag)) return -1;
        break;
      case CTL_O_IDEMPOTENCY_KEY:
        a->idempotency_key = optarg;
        break;
      case CTL_O_TO:
        a->to = optarg;
        break;
      case CTL_O_THREAD:
        a->thread = optarg;
        break;
      case CTL_O_CONTEXT:
        a->context = optarg;
        break;
      case CTL_O_MODE:
        a->mode = optarg;
        break;
      case CTL_O_PRODUCT:
        a->product = optarg;
        break;
      case CTL_O_BRAND:
        a->brand = optarg;
        break;
      case CTL_O_NOTE:
        if (a->n_notes == CTL_NOTES_MAX) {
          fprintf(diag, "helpdeskctl: at most %d --note\n", CTL_NOTES_MAX);
          return -1;
        }
        a->notes[a->n_notes++] = optarg;
        break;
      case CTL_O_AGENT:
        a->agent = optarg;
        break;
      case CTL_O_FROM:
        a->from = optarg;
        break;
      case CTL_O_SERVICE:
        a->service = optarg;
        break;
      case CTL_O_COUNT:
        return -1;
    }
  }
  a->words = argv + optind;
  a->n_words = argc - optind;
  return 0;
}
