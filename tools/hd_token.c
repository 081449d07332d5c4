/* hd-token: mints a bearer token for local use, scripts and tests: HS256 signed with
 * HELPDESK_AUTH_SECRET (the services' development default when unset), or RS256 / ES256 signed
 * with a local PEM key (--key, --kid) whose public half `hd-token jwks` writes as a JWKS, for a
 * development stand-in of an identity provider. Issuer, audience and claim names follow the same
 * HELPDESK_AUTH_* settings the services read. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "auth/key.h"
#include "auth/runtime.h"
#include "clock/clock.h"
#include "config/config.h"

#define TOKEN_TTL_DEFAULT_S 3600
#define TOKEN_KEYS_MAX      16

typedef struct token_opts {
  const char *tenant;
  const char *user;
  const char *roles;
  int64_t ttl_s;
  const char *keys[TOKEN_KEYS_MAX]; /* --key, one per --kid */
  const char *kids[TOKEN_KEYS_MAX];
  size_t n_keys, n_kids;
  const char *audience; /* --aud, else HELPDESK_AUTH_AUDIENCE */
} token_opts;

static void token__usage(FILE *f) {
  fprintf(f,
          "usage: hd-token --tenant T --user U --roles ROLE[,ROLE...] [--ttl 3600]\n"
          "                [--key k.pem --kid k1] [--aud A]\n"
          "       hd-token jwks --key k.pem --kid k1 [--key k2.pem --kid k2 ...]\n"
          "\n"
          "Prints a bearer token to stdout: JWT HS256 with HELPDESK_AUTH_SECRET, or RS256 / ES256\n"
          "with --key (an RSA 2048+ or EC P-256 private key in PEM) and its --kid.\n"
          "  --tenant T    tenant id (1-%d printable ASCII characters, no '\"' or '\\')\n"
          "  --user U      user id (1-%d printable ASCII characters, no '\"' or '\\')\n"
          "  --roles R,..  customer, agent, team_lead, supervisor, tenant_admin, service\n"
          "  --ttl D       lifetime: seconds, or a duration such as 30m, 12h (default %d; the\n"
          "                services refuse more than HELPDESK_AUTH_MAX_LIFETIME, 24h by default)\n"
          "  --key F       sign with this PEM private key (RS256 for RSA, ES256 for EC P-256)\n"
          "  --kid K       the key id put in the header, and in the JWKS\n"
          "  --aud A       the audience (default HELPDESK_AUTH_AUDIENCE; none when unset)\n"
          "  --help        this text\n"
          "\n"
          "jwks: prints the public JWKS {\"keys\":[...]} of the keys, for HELPDESK_AUTH_JWKS.\n"
          "Make a key: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out k.pem\n"
          "        or: openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out k.pem\n"
          "\n"
          "Environment: HELPDESK_AUTH_SECRET, HELPDESK_AUTH_ISSUER, HELPDESK_AUTH_AUDIENCE,\n"
          "HELPDESK_AUTH_TENANT_CLAIM, HELPDESK_AUTH_ROLES_CLAIM.\n"
          "Use: grpcurl -H \"authorization: Bearer $(hd-token ...)\" ...\n",
          HD_TENANT_MAX, HD_USER_ID_MAX, TOKEN_TTL_DEFAULT_S);
}

/* Fills o from argv (after the subcommand, if any); 1 when --help was asked for, -1 (message
 * on stderr) on bad arguments. */
static int token__parse_args(int argc, char **argv, token_opts *o) {
  static const struct option longopts[] = {{"tenant", required_argument, NULL, 't'},
                                           {"user", required_argument, NULL, 'u'},
                                           {"roles", required_argument, NULL, 'r'},
                                           {"ttl", required_argument, NULL, 'l'},
                                           {"key", required_argument, NULL, 'k'},
                                           {"kid", required_argument, NULL, 'i'},
                                           {"aud", required_argument, NULL, 'a'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
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
      case 'k':
      case 'i':
        if ((c == 'k' ? o->n_keys : o->n_kids) == TOKEN_KEYS_MAX) {
          fprintf(stderr, "hd-token: at most %d keys\n", TOKEN_KEYS_MAX);
          return -1;
        }
        if (c == 'k')
          o->keys[o->n_keys++] = optarg;
        else
          o->kids[o->n_kids++] = optarg;
        break;
      case 'a':
        o->audience = optarg;
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
  if (o->n_keys != o->n_kids) {
    fprintf(stderr, "hd-token: each --key needs its --kid\n");
    return -1;
  }
  return 0;
}

/* hd-token jwks: the public JWKS of the keys given. */
static int token__jwks(const token_opts *o) {
  int rc = 1;
  hd_err err = {0};
  if (o->n_keys == 0) {
    fprintf(stderr, "hd-token jwks: give at least one --key k.pem --kid k1\n");
    return 2;
  }
  printf("{\"keys\":[");
  for (size_t i = 0; i < o->n_keys; i++) {
    hd_auth_key *k = NULL;
    char *jwk = NULL;
    if (hd_auth_key_load(o->keys[i], o->kids[i], &k, &err) != 0 ||
        hd_auth_key_jwk(k, &jwk, &err) != 0) {
      hd_auth_key_free(k);
      fprintf(stderr, "\nhd-token jwks: %s\n", err.msg);
      return 2;
    }
    printf("%s%s", i ? "," : "", jwk);
    free(jwk);
    hd_auth_key_free(k);
  }
  printf("]}\n");
  rc = fflush(stdout) != 0 ? 1 : 0;
  return rc;
}

int main(int argc, char **argv) {
  token_opts o = {0};
  const bool jwks = argc > 1 && strcmp(argv[1], "jwks") == 0;
  int parsed = jwks ? token__parse_args(argc - 1, argv + 1, &o) : token__parse_args(argc, argv, &o);
  if (parsed == 1) {
    token__usage(stdout);
    return 0;
  }
  if (parsed != 0) {
    fprintf(stderr, "run 'hd-token --help' for usage\n");
    return 2;
  }
  if (jwks) return token__jwks(&o);
  if (!o.tenant || !o.user || !o.roles) {
    fprintf(stderr, "hd-token: --tenant, --user and --roles are required\n");
    return 2;
  }
  if (o.n_keys > 1) {
    fprintf(stderr, "hd-token: a token is signed with one --key\n");
    return 2;
  }

  const char *secret = hd_config_str("HELPDESK_AUTH_SECRET", HD_AUTH_DEV_SECRET);
  hd_auth_config cfg = {
      .secret = secret,
      .secret_len = strlen(secret),
      .issuer = hd_config_str("HELPDESK_AUTH_ISSUER", "helpdesk"),
      .audience = o.audience ? o.audience : hd_config_str("HELPDESK_AUTH_AUDIENCE", NULL),
      .tenant_claim = hd_config_str("HELPDESK_AUTH_TENANT_CLAIM", "tenant"),
      .roles_claim = hd_config_str("HELPDESK_AUTH_ROLES_CLAIM", "roles")};
  hd_principal p = {0};
  hd_err err = {0};
  hd_auth_key *key = NULL;
  char *token = NULL;
  int rc = 2;
  if (hd_auth_roles_parse(o.roles, &p.roles, &err) != 0) goto fail;
  if (strlen(o.tenant) > HD_TENANT_MAX || strlen(o.user) > HD_USER_ID_MAX) {
    hd_err_set(&err, HD_INVALID_ARGUMENT, "tenant is limited to %d characters and user id to %d",
               HD_TENANT_MAX, HD_USER_ID_MAX);
    goto fail;
  }
  snprintf(p.tenant, sizeof p.tenant, "%s", o.tenant);
  snprintf(p.user_id, sizeof p.user_id, "%s", o.user);
  if (o.n_keys == 1 && hd_auth_key_load(o.keys[0], o.kids[0], &key, &err) != 0) goto fail;
  if ((key ? hd_auth_sign_with_key(&cfg, key, &p, (int64_t)time(NULL), o.ttl_s, &token, &err)
           : hd_auth_sign(&cfg, &p, (int64_t)time(NULL), o.ttl_s, &token, &err)) != 0) {
    rc = err.code == HD_INVALID_ARGUMENT ? 2 : 1;
    goto fail;
  }
  rc = printf("%s\n", token) < 0 || fflush(stdout) != 0 ? 1 : 0;
  free(token);
  hd_auth_key_free(key);
  return rc;
fail:
  fprintf(stderr, "hd-token: %s\n", err.msg);
  hd_auth_key_free(key);
  return rc;
}
