/* How a fuzz input reads: its method and its caller (see fuzz_input.h). */
#include "fuzz_input.h"

#include <stdio.h>
#include <string.h>

#include "accounts_service.h"
#include "kpi_service.h"
#include "routing_service.h"
#include "tickets_service.h"

static const hd_service_def *const fuzz__services[] = {
    &tickets_service_def,
    &routing_service_def,
    &accounts_service_def,
    &kpi_service_def,
};
#define FUZZ_N_SERVICES (sizeof fuzz__services / sizeof fuzz__services[0])

const hd_service_def *const *fuzz_services(size_t *n) {
  *n = FUZZ_N_SERVICES;
  return fuzz__services;
}

size_t fuzz_methods_count(void) {
  size_t n = 0;
  for (size_t s = 0; s < FUZZ_N_SERVICES; s++) n += fuzz__services[s]->descriptor->n_methods;
  return n;
}

/* The table's entry for method name, as the server matches them (rpc_server_add_methods). */
static const hd_method_impl *fuzz__impl(const hd_service_def *def, const char *name) {
  for (size_t k = 0; k < def->n_methods; k++)
    if (strcmp(def->methods[k].name, name) == 0) return &def->methods[k];
  return NULL;
}

int fuzz_method_at(size_t i, fuzz_method *out) {
  for (size_t s = 0; s < FUZZ_N_SERVICES; s++) {
    const hd_service_def *def = fuzz__services[s];
    if (i < def->descriptor->n_methods) {
      out->def = def;
      out->md = &def->descriptor->methods[i];
      out->impl = fuzz__impl(def, out->md->name);
      out->service_index = s;
      return 0;
    }
    i -= def->descriptor->n_methods;
  }
  return -1;
}

int fuzz_method_find(const char *service, const char *method, size_t *i) {
  size_t base = 0;
  for (size_t s = 0; s < FUZZ_N_SERVICES; s++) {
    const ProtobufCServiceDescriptor *d = fuzz__services[s]->descriptor;
    if (strcmp(fuzz__services[s]->name, service) == 0)
      for (unsigned k = 0; k < d->n_methods; k++)
        if (strcmp(d->methods[k].name, method) == 0) {
          *i = base + k;
          return 0;
        }
    base += d->n_methods;
  }
  return -1;
}

void fuzz_caller(size_t i, hd_principal *out) {
  static const struct {
    const char *user;
    unsigned roles;
  } callers[FUZZ_N_CALLERS] = {
      {"cust-1", HD_ROLE_CUSTOMER},
      {"agent-1", HD_ROLE_AGENT},
      {"lead-1", HD_ROLE_TEAM_LEAD},
      {"super-1", HD_ROLE_SUPERVISOR},
      {"admin-1", HD_ROLE_TENANT_ADMIN},
      {"routing", HD_ROLE_SERVICE},
      {"root-1", HD_ROLE_CUSTOMER | HD_ROLES_STAFF},
      {"nobody-1", 0},
  };
  i %= FUZZ_N_CALLERS;
  memset(out, 0, sizeof *out);
  snprintf(out->tenant, sizeof out->tenant, "acme");
  snprintf(out->user_id, sizeof out->user_id, "%s", callers[i].user);
  out->roles = callers[i].roles;
  out->expires_at_s = FUZZ_CLOCK_START_US / HD_US_PER_S + 3600;
}
