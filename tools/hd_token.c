/* hd-token: mints a bearer token for local use, scripts and tests, signed with
 * HELPDESK_AUTH_SECRET for HELPDESK_AUTH_ISSUER (the same defaults the services use). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "clock/clock.h"
#include "config/config.h"

#define TOKEN_TTL_DEFAULT_S 3600

typedef struct token_opts {
  const char *tenant;
  const char *user;
  const char *roles;
  int64_t ttl_s;
} token_opts;

static void token__usage(FILE *f) {
  fprintf(f,
          "usage: hd-token --tenant T --user U --roles ROLE[,ROLE...] [--ttl 3600]\n"
          "\n"
          "Prints a bearer token (JWT HS256) to stdout.\n"
          "  --tenant T    tenant id (1-%d printable ASCII characters, no '\"' or '\\')\n"
          "  --user U      user id (1-%d printable ASCII characters, no '\"' or '\\')\n"
          "  --roles R,..  customer, agent, team_lead, supervisor, tenant_admin, service\n"
          "  --ttl D       lifetime: seconds, or a duration such as 30m, 12h, 7d (default %d)\n"
          "  --help        this text\n"
          "\n"
          "Environment: HELPDESK_AUTH_SECRET (signing secret), HELPDESK_AUTH_ISSUER (issuer).\n"
          "Use: grpcurl -H \"authorization: Bearer $(hd-token ...)\" ...\n",
          HD_TENANT_MAX, HD_USER_ID_MAX, TOKEN_TTL_DEFAULT_S);
}

/* Fills o from argv; 1 when --help was asked for, -1 (message on stderr) on bad arguments. */
static int token__parse_args(int argc, char **argv, token_opts *o) {
  static const struct option longopts[] = {
      {"tenant", required_argument, NULL, 't'}, {"user", required_argument, NULL, 'u'},
      {"roles", required_argument, NULL, 'r'},  {"ttl", required_argument, NULL, 'l'},
      {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
  int c;
  int64_t ttl_us;
  o->ttl_s = TOKEN_TTL_DEFAULT_S;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
      case 't':
        o->tenant = optarg;
        break;
      case 'u':
        o->user = optarg;
        break;
      case 'r':
        o->roles = optarg;
        break;
      case 'l':
        if (hd_parse_duration_us(optarg, &ttl_us) != 0 || ttl_us < HD_US_PER_S) {
          fprintf(stderr,
                  "hd-token: --ttl %s is not a duration of at least 1s (e.g. 3600, 30m, 12h, 7d)\n",
                  optarg);
          return -1;
        }
        o->ttl_s = ttl_us / HD_US_PER_S;
        break;
      case 'h':
        return 1;
      default:
        return -1; /* getopt_long has said what was wrong */
    }
  }
  if (optind < argc) {
    fprintf(stderr, "hd-token: unexpected argument \"%s\"\n", argv[optind]);
    return -1;
  }
  if (!o->tenant || !o->user || !o->roles) {
    fprintf(stderr, "hd-token: --tenant, --user and --roles are required\n");
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  token_opts o = {0};
  int parsed = token__parse_args(argc, argv, &o);
  if (parsed == 1) {
    token__usage(stdout);
    return 0;
  }
  if (parsed != 0) {
    fprintf(stderr, "run 'hd-token --help' for usage\n");
    return 2;
  }

  const char *secret = hd_config_str("HELPDESK_AUTH_SECRET", "helpdesk-local-development-secret");
  hd_auth_config cfg = {.secret = secret,
                        .secret_len = strlen(secret),
                        .issuer = hd_config_str("HELPDESK_AUTH_ISSUER", "helpdesk")};
  unsigned roles = 0;
  hd_err err = {0};
  if (hd_auth_roles_parse(o.roles, &roles, &err) != 0) {
    fprintf(stderr, "hd-token: %s\n", err.msg);
    return 2;
  }
  char *token = NULL;
  if (hd_auth_mint(&cfg, o.tenant, o.user, roles, (int64_t)time(NULL), o.ttl_s, &token, &err) !=
      0) {
    fprintf(stderr, "hd-token: %s\n", err.msg);
    return err.code == HD_INVALID_ARGUMENT ? 2 : 1;
  }
  int rc = printf("%s\n", token) < 0 || fflush(stdout) != 0 ? 1 : 0;
  free(token);
  return rc;
}
