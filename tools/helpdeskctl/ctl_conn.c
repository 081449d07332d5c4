/* helpdeskctl's connection: each service's target (flag, environment, default port), the bearer
 * token (flag, HELPDESK_TOKEN, or minted with --dev-token), one client per service, and unary
 * calls by method name through the generated service descriptors. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "config/config.h"
#include "ctl.h"
#include "helpdesk/v1/accounts.pb-c.h"
#include "helpdesk/v1/kpi.pb-c.h"
#include "helpdesk/v1/routing.pb-c.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "json/json.h"
#include "json/pb_json.h"

static const struct {
  const char *name;
  const ProtobufCServiceDescriptor *desc;
  int port; /* scripts/services.sh's */
} ctl__svcs[CTL_SVC_COUNT] = {
    [CTL_TICKETS] = {"tickets", &helpdesk__v1__ticket_service__descriptor, 50051},
    [CTL_ROUTING] = {"routing", &helpdesk__v1__routing_service__descriptor, 50052},
    [CTL_ACCOUNTS] = {"accounts", &helpdesk__v1__account_service__descriptor, 50053},
    [CTL_KPI] = {"kpi", &helpdesk__v1__kpi_service__descriptor, 50054},
};

const char *ctl_svc_name(ctl_svc s) { return ctl__svcs[s].name; }

const ProtobufCServiceDescriptor *ctl_svc_descriptor(ctl_svc s) { return ctl__svcs[s].desc; }

int ctl_svc_parse(const char *name, ctl_svc *out) {
  for (int i = 0; i < CTL_SVC_COUNT; i++)
    if (strcmp(name, ctl__svcs[i].name) == 0) {
      *out = (ctl_svc)i;
      return 0;
    }
  return -1;
}

/* The token's sub claim, read without checking the signature (the server checks it): for
 * --mine. "" when the token is not a JWT with a string sub. */
static void ctl__token_subject(ctl *c) {
  const char *dot1 = strchr(c->token, '.');
  const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
  uint8_t *payload = NULL;
  size_t len = 0;
  json_t *claims = NULL;
  hd_err err = {0};
  const char *sub = NULL;
  if (!dot2 || hd_pb_json_base64_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), c->arena, &payload,
                                        &len, &err) != 0)
    return;
  if (hd_json_parse_object((const char *)payload, len, &HD_JSON_EVENT_LIMITS, &claims, &err) == 0 &&
      hd_json_get_str(claims, "sub", &sub, NULL, &err) == 0)
    snprintf(c->subject, sizeof c->subject, "%s", sub);
  json_decref(claims);
}

/* --dev-token: a token for --tenant/--subject/--role signed with HELPDESK_AUTH_SECRET (the
 * development secret by default), as hd-token mints it. */
static int ctl__mint(ctl *c, const ctl_args *a) {
  if (!a->tenant || !a->subject) {
    fprintf(c->diag,
            "helpdeskctl: --dev-token needs --tenant and --subject (and --role, default "
            "agent)\n");
    return -1;
  }
  const char *secret = hd_config_str("HELPDESK_AUTH_SECRET", "helpdesk-local-development-secret");
  hd_auth_config cfg = {.secret = secret,
                        .secret_len = strlen(secret),
                        .issuer = hd_config_str("HELPDESK_AUTH_ISSUER", "helpdesk")};
  unsigned roles = 0;
  hd_err err = {0};
  if (hd_auth_roles_parse(a->roles ? a->roles : "agent", &roles, &err) != 0 ||
      hd_auth_mint(&cfg, a->tenant, a->subject, roles, (int64_t)time(NULL), CTL_TOKEN_TTL_S,
                   &c->token, &err) != 0) {
    fprintf(c->diag, "helpdeskctl: --dev-token: %s\n", err.msg);
    return -1;
  }
  return 0;
}

int ctl_open(ctl *c, const ctl_args *a) {
  c->args = a;
  c->arena = hd_arena_new(CTL_ARENA_CAP);
  if (!c->arena) {
    fprintf(c->diag, "helpdeskctl: out of memory\n");
    return -1;
  }
  const char *one = a->target ? a->target : getenv("HELPDESK_TARGET");
  for (int i = 0; i < CTL_SVC_COUNT; i++) {
    char var[64];
    snprintf(var, sizeof var, "HELPDESK_%s_TARGET", ctl__svcs[i].name);
    for (char *p = var; *p; p++)
      if (*p >= 'a' && *p <= 'z') *p = (char)(*p - 'a' + 'A');
    const char *own = a->target ? NULL : getenv(var);
    if (own && *own)
      snprintf(c->target[i], sizeof c->target[i], "%s", own);
    else if (one && *one)
      snprintf(c->target[i], sizeof c->target[i], "%s", one);
    else
      snprintf(c->target[i], sizeof c->target[i], "127.0.0.1:%d", ctl__svcs[i].port);
  }
  if ((a->tenant || a->subject || a->roles) && !a->dev_token) {
    fprintf(c->diag, "helpdeskctl: --tenant, --subject and --role go with --dev-token\n");
    return -1;
  }
  if (a->dev_token && a->token) {
    fprintf(c->diag, "helpdeskctl: give --token or --dev-token, not both\n");
    return -1;
  }
  if (a->dev_token) {
    if (ctl__mint(c, a)) return -1;
  } else {
    const char *t = a->token ? a->token : getenv("HELPDESK_TOKEN");
    if (t && *t) {
      c->token = strdup(t);
      if (!c->token) {
        fprintf(c->diag, "helpdeskctl: out of memory\n");
        return -1;
      }
    }
  }
  if (c->token) ctl__token_subject(c);
  return 0;
}

void ctl_close(ctl *c) {
  for (int i = 0; i < CTL_SVC_COUNT; i++) hd_client_destroy(c->clients[i]);
  free(c->token);
  hd_arena_free(c->arena);
}

int ctl_client(ctl *c, ctl_svc svc, hd_client **out, hd_err *err) {
  if (!c->clients[svc]) {
    const char *ca = c->args->tls_ca ? c->args->tls_ca : getenv("HELPDESK_TLS_CA");
    hd_client_config cfg = {.target = c->target[svc],
                            .tls_ca_file = ca && *ca ? ca : NULL,
                            .default_timeout_us = c->args->timeout_us};
    if (hd_client_new(&cfg, &c->clients[svc], err) != 0) return -1;
  }
  *out = c->clients[svc];
  return 0;
}

int ctl_where(ctl *c, ctl_svc svc, hd_err *err) {
  if (err->code == HD_UNAVAILABLE || err->code == HD_DEADLINE_EXCEEDED) {
    char msg[HD_ERR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", err->msg);
    hd_err_set(err, err->code, "%s (%s at %s)", msg, ctl__svcs[svc].name, c->target[svc]);
  }
  return -1;
}

int ctl_rpc_raw(ctl *c, ctl_svc svc, const char *full_method, const ProtobufCMessage *req,
                const ProtobufCMessageDescriptor *resp_desc, ProtobufCMessage **resp, hd_err *err) {
  hd_client *client = NULL;
  if (ctl_client(c, svc, &client, err) != 0) return -1;
  if (hd_client_call(client, full_method, c->token, c->args->timeout_us, req, resp_desc, c->arena,
                     resp, err) != 0)
    return ctl_where(c, svc, err);
  return 0;
}

int ctl_rpc(ctl *c, ctl_svc svc, const char *method, const ProtobufCMessage *req,
            ProtobufCMessage **resp, hd_err *err) {
  const ProtobufCServiceDescriptor *sd = ctl__svcs[svc].desc;
  const ProtobufCMethodDescriptor *m = protobuf_c_service_descriptor_get_method_by_name(sd, method);
  if (!m || m->input != req->descriptor)
    return hd_err_set(err, HD_INTERNAL, "%s has no method %s taking %s", sd->name, method,
                      req->descriptor->name);
  char path[256];
  snprintf(path, sizeof path, "/%s/%s", sd->name, m->name);
  return ctl_rpc_raw(c, svc, path, req, m->output, resp, err);
}

int ctl_fail(ctl *c, const hd_err *err) {
  fprintf(c->diag, "helpdeskctl: %s: %s\n", hd_code_name(err->code), err->msg);
  return CTL_EXIT_FAILED;
}

int ctl_parse_id(ctl *c, const char *what, const char *text, int64_t *out) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (!*text || *end || errno == ERANGE || v <= 0) {
    fprintf(c->diag, "helpdeskctl: %s \"%s\" is not a positive whole number\n", what, text);
    return -1;
  }
  *out = v;
  return 0;
}
