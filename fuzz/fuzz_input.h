/* How a fuzz input of fuzz_edge reads, shared with its seed generator (fuzz_seeds):
 *   byte 0  the method: its place, modulo fuzz_methods_count(), among every method of every
 *           service in one fixed order (the services of fuzz_services(), each in its descriptor's
 *           order). The methods come from each hd_service_def (descriptor and method table), so a
 *           handler added to a service's table is fuzzed without a change here;
 *   byte 1  the caller, modulo FUZZ_N_CALLERS (fuzz_caller);
 *   the rest: the request message as it comes off the wire. */
#ifndef HD_FUZZ_FUZZ_INPUT_H
#define HD_FUZZ_FUZZ_INPUT_H

#include <stddef.h>

#include "auth/auth.h"
#include "svc/service.h"

#define FUZZ_INPUT_HEADER 2 /* the selector bytes before the request */
#define FUZZ_MAX_METHODS  256
#define FUZZ_N_CALLERS    8
/* 2024-03-01T09:00:00Z: the manual clock's time in the target (token expiry is set from it). */
#define FUZZ_CLOCK_START_US 1709283600000000LL

typedef struct fuzz_method {
  const hd_service_def *def;           /* the service; borrowed (static) */
  const ProtobufCMethodDescriptor *md; /* its name and message types; borrowed (static) */
  const hd_method_impl *impl;          /* the table's entry; NULL when no handler yet */
  size_t service_index;                /* the service's place in fuzz_services() */
} fuzz_method;

/* The services fuzzed (tickets, routing, accounts, kpi) and how many. Static, read-only. */
const hd_service_def *const *fuzz_services(size_t *n);

/* How many methods all services have together. */
size_t fuzz_methods_count(void);

/* The i-th method (i < fuzz_methods_count()): 0, or -1 when i is out of range. */
int fuzz_method_at(size_t i, fuzz_method *out);

/* The place of service/method ("tickets", "CreateTicket") in the order: 0 with *i, or -1. */
int fuzz_method_find(const char *service, const char *method, size_t *i);

/* Caller i (< FUZZ_N_CALLERS) of tenant "acme": customer, agent, team_lead, supervisor,
 * tenant_admin, service, every role, no role. */
void fuzz_caller(size_t i, hd_principal *out);

#endif
