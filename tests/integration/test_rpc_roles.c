/* The roles of the method table, checked by the dispatcher before a handler runs: on the real
 * ticket service, a caller without one of an RPC's roles gets PERMISSION_DENIED naming them,
 * whatever the request holds (even bytes that are no message at all), and nothing is written. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rpc/call.h"
#include "ticket_fixture.h"
#include "tickets_service.h"

static const char STAFF_ROLES[] =
    "this call needs the role agent, team_lead, supervisor, "
    "tenant_admin or service";

/* The table's entry for a method of the contract; fails the test when there is none. */
static const hd_method_impl *entry_of(const char *name) {
  for (size_t i = 0; i < tickets_service_def.n_methods; i++)
    if (strcmp(tickets_service_def.methods[i].name, name) == 0)
      return &tickets_service_def.methods[i];
  fail_msg("%s has no entry in the ticket service's method table", name);
  return NULL;
}

/* The stream table's entry for a streaming method (WatchTickets), or NULL. */
static const hd_stream_impl *stream_entry_of(const char *name) {
  for (size_t i = 0; i < tickets_service_def.n_streams; i++)
    if (strcmp(tickets_service_def.streams[i].name, name) == 0)
      return &tickets_service_def.streams[i];
  return NULL;
}

static void test_every_ticket_rpc_requires_roles_in_its_table_entry(void **state) {
  (void)state;
  const ProtobufCServiceDescriptor *d = &helpdesk__v1__ticket_service__descriptor;
  assert_int_equal(tickets_service_def.n_methods + tickets_service_def.n_streams, d->n_methods);
  for (unsigned i = 0; i < d->n_methods; i++) {
    const hd_stream_impl *st = stream_entry_of(d->methods[i].name);
    if (st) {
      assert_non_null(st->fn);
      assert_int_equal(st->flags & HD_METHOD_PUBLIC, 0);
      assert_int_not_equal(st->roles, 0);
      continue;
    }
    const hd_method_impl *m = entry_of(d->methods[i].name);
    assert_non_null(m->fn);
    assert_int_equal(m->flags & HD_METHOD_PUBLIC, 0);
    assert_int_not_equal(m->roles, 0);
  }
}

/* An empty request is a valid message of every type with every field zero: a handler would
 * refuse it (ticket_id 0) with INVALID_ARGUMENT, so PERMISSION_DENIED can only come from the
 * dispatcher. */
static hd_code call_empty(tf *t, const char *rpc, const char *token, hd_err *err) {
  const ProtobufCServiceDescriptor *d = &helpdesk__v1__ticket_service__descriptor;
  const ProtobufCMethodDescriptor *md = protobuf_c_service_descriptor_get_method_by_name(d, rpc);
  assert_non_null(md);
  Helpdesk__V1__GetTicketRequest empty = HELPDESK__V1__GET_TICKET_REQUEST__INIT;
  return tf_call(t, rpc, token, &empty.base, md->output, NULL, err);
}

static void test_customer_on_a_staff_rpc_is_refused_before_the_handler_and_writes_nothing(
    void **state) {
  tf *t = *state;
  tf_create(t, t->customer, NULL, "my printer");
  char *before = tf_fingerprint(t);
  size_t refused = 0;
  for (size_t i = 0; i < tickets_service_def.n_methods; i++) {
    const hd_method_impl *m = &tickets_service_def.methods[i];
    hd_err err;
    const hd_code got = call_empty(t, m->name, t->customer, &err);
    if (m->roles & HD_ROLE_CUSTOMER) {
      if (got == HD_PERMISSION_DENIED) fail_msg("%s refused a customer: %s", m->name, err.msg);
      continue;
    }
    refused++;
    if (got != HD_PERMISSION_DENIED) fail_msg("%s: %s %s", m->name, hd_code_name(got), err.msg);
    /* the roles needed, the roles held, and the table's reason when it gives one */
    char needed[160];
    hd_call_roles_text(m->roles, needed, sizeof needed);
    assert_non_null(strstr(err.msg, needed));
    assert_non_null(strstr(err.msg, "user \"cust-1\" of tenant \"acme\" has customer"));
    if (m->roles_why) assert_non_null(strstr(err.msg, m->roles_why));
  }
  assert_true(refused >= 10); /* history, settings, comments, consents, tasks, merge, ... */
  tf_expect_unchanged(t, before);
}

static void test_staff_rpc_names_the_staff_roles_and_its_reason(void **state) {
  tf *t = *state;
  hd_err err;
  assert_int_equal(call_empty(t, "GetTicketHistory", t->customer, &err), HD_PERMISSION_DENIED);
  char want[HD_ERR_MSG_MAX];
  snprintf(want, sizeof want,
           "%s; user \"cust-1\" of tenant \"acme\" has customer (a ticket's history is for staff; "
           "customers see the conversation instead)",
           STAFF_ROLES);
  assert_string_equal(err.msg, want);
  /* The same request from staff reaches the handler, which judges the request itself. */
  assert_int_equal(call_empty(t, "GetTicketHistory", t->agent, &err), HD_INVALID_ARGUMENT);
  assert_string_equal(err.msg, "ticket_id must be a positive id, got 0");
}

static void test_token_without_a_role_is_refused_on_every_rpc(void **state) {
  tf *t = *state;
  tf_create(t, t->customer, NULL, "my printer");
  char *nobody = hd_fixture_token(&t->f, "acme", "agent-1", 0);
  char *before = tf_fingerprint(t);
  for (size_t i = 0; i < tickets_service_def.n_methods; i++) {
    hd_err err;
    const char *name = tickets_service_def.methods[i].name;
    const hd_code got = call_empty(t, name, nobody, &err);
    if (got != HD_PERMISSION_DENIED) fail_msg("%s: %s %s", name, hd_code_name(got), err.msg);
    assert_non_null(strstr(err.msg, "has no role"));
  }
  free(nobody);
  tf_expect_unchanged(t, before);
}

static void test_refusal_comes_before_the_request_is_unpacked(void **state) {
  tf *t = *state;
  static const unsigned char garbage[] = {0xff, 0xff, 0xff, 0xff};
  static const char method[] = "/helpdesk.v1.TicketService/MergeTickets";
  hd_arena *a = hd_arena_new(1 << 16);
  void *out = NULL;
  size_t out_len = 0;
  hd_err err = {0};
  char *before = tf_fingerprint(t);
  assert_int_equal(hd_client_call_raw(t->f.client, method, t->customer, 0, garbage, sizeof garbage,
                                      a, &out, &out_len, &err),
                   -1);
  assert_int_equal(err.code, HD_PERMISSION_DENIED);
  assert_non_null(strstr(err.msg, STAFF_ROLES));
  assert_non_null(strstr(err.msg, "customers cannot merge tickets"));
  /* Staff get as far as unpacking, which refuses the bytes. */
  assert_int_equal(hd_client_call_raw(t->f.client, method, t->lead, 0, garbage, sizeof garbage, a,
                                      &out, &out_len, &err),
                   -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  assert_non_null(strstr(err.msg, "is not a valid helpdesk.v1.MergeTicketsRequest message"));
  hd_arena_free(a);
  tf_expect_unchanged(t, before);
}

static void test_agent_changing_settings_is_refused_naming_the_tenant_admin_role(void **state) {
  tf *t = *state;
  hd_err err;
  for (int i = 0; i < 3; i++)
    assert_int_equal(call_empty(t, "UpdateTenantSettings", t->agent, &err), HD_PERMISSION_DENIED);
  assert_non_null(strstr(err.msg, "this call needs the role tenant_admin"));
  assert_non_null(strstr(err.msg, "(changing tenant settings is for a tenant_admin)"));
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM tenant_settings"), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, tf_setup, tf_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_ticket_rpc_requires_roles_in_its_table_entry),
      T(test_customer_on_a_staff_rpc_is_refused_before_the_handler_and_writes_nothing),
      T(test_staff_rpc_names_the_staff_roles_and_its_reason),
      T(test_token_without_a_role_is_refused_on_every_rpc),
      T(test_refusal_comes_before_the_request_is_unpacked),
      T(test_agent_changing_settings_is_refused_naming_the_tenant_admin_role),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
