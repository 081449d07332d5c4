/* FollowTicket / UnfollowTicket, GetTicketHistory and the tenant settings through real gRPC
 * against the in-process ticket service: following is per agent, idempotent and no change of the
 * ticket; history is for staff; settings have defaults, only a tenant admin changes them, and
 * bad settings are refused. Every refused call is checked to leave the database unchanged. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ticket_fixture.h"

/* ---- fixture and helpers ---- */

static Helpdesk__V1__Ticket *follow(tf *t, const char *rpc, const char *token, int64_t id) {
  Helpdesk__V1__FollowTicketRequest r = HELPDESK__V1__FOLLOW_TICKET_REQUEST__INIT;
  r.ticket_id = id; /* FollowTicketRequest and UnfollowTicketRequest have the same wire form */
  return (Helpdesk__V1__Ticket *)tf_must(t, rpc, token, &r.base, &helpdesk__v1__ticket__descriptor);
}

static void expect_follow_refused(tf *t, const char *rpc, const char *token, int64_t id,
                                  hd_code code, const char *msg_part) {
  Helpdesk__V1__FollowTicketRequest r = HELPDESK__V1__FOLLOW_TICKET_REQUEST__INIT;
  r.ticket_id = id;
  tf_call_refused(t, rpc, token, &r.base, &helpdesk__v1__ticket__descriptor, code, msg_part);
}

static bool listed_as_followed(tf *t, const char *token, int64_t id) {
  Helpdesk__V1__ListTicketsRequest r = HELPDESK__V1__LIST_TICKETS_REQUEST__INIT;
  Helpdesk__V1__ListTicketsResponse *l = (Helpdesk__V1__ListTicketsResponse *)tf_must(
      t, "ListTickets", token, &r.base, &helpdesk__v1__list_tickets_response__descriptor);
  for (size_t i = 0; i < l->n_tickets; i++)
    if (l->tickets[i]->id == id) return l->tickets[i]->followed;
  fail_msg("ticket %" PRId64 " is not listed", id);
  return false;
}

static Helpdesk__V1__GetTicketHistoryResponse *history(tf *t, const char *token, int64_t id,
                                                       Helpdesk__V1__PageRequest *page) {
  Helpdesk__V1__GetTicketHistoryRequest r = HELPDESK__V1__GET_TICKET_HISTORY_REQUEST__INIT;
  r.ticket_id = id;
  r.page = page;
  Helpdesk__V1__GetTicketHistoryResponse *h = (Helpdesk__V1__GetTicketHistoryResponse *)tf_must(
      t, "GetTicketHistory", token, &r.base,
      &helpdesk__v1__get_ticket_history_response__descriptor);
  assert_non_null(h->page);
  return h;
}

static Helpdesk__V1__TenantSettings *settings_get(tf *t, const char *token) {
  Helpdesk__V1__GetTenantSettingsRequest r = HELPDESK__V1__GET_TENANT_SETTINGS_REQUEST__INIT;
  return (Helpdesk__V1__TenantSettings *)tf_must(t, "GetTenantSettings", token, &r.base,
                                                 &helpdesk__v1__tenant_settings__descriptor);
}

/* The mask naming paths[0..n) (n = 0: a mask with no path). */
static Google__Protobuf__FieldMask mask_of(const char *const *paths, size_t n) {
  Google__Protobuf__FieldMask m = GOOGLE__PROTOBUF__FIELD_MASK__INIT;
  m.paths = (char **)paths;
  m.n_paths = n;
  return m;
}

#define MASK(...)                             \
  mask_of((const char *const[]){__VA_ARGS__}, \
          sizeof((const char *const[]){__VA_ARGS__}) / sizeof(char *))

/* UpdateTenantSettings of the fields in mask (NULL: no mask at all). */
static Helpdesk__V1__TenantSettings *settings_update(tf *t, const char *token,
                                                     Helpdesk__V1__TenantSettings *s,
                                                     Google__Protobuf__FieldMask *mask) {
  Helpdesk__V1__UpdateTenantSettingsRequest r = HELPDESK__V1__UPDATE_TENANT_SETTINGS_REQUEST__INIT;
  r.settings = s;
  r.update_mask = mask;
  return (Helpdesk__V1__TenantSettings *)tf_must(t, "UpdateTenantSettings", token, &r.base,
                                                 &helpdesk__v1__tenant_settings__descriptor);
}

static void expect_update_refused(tf *t, const char *token, Helpdesk__V1__TenantSettings *s,
                                  Google__Protobuf__FieldMask *mask, hd_code code,
                                  const char *msg_part) {
  Helpdesk__V1__UpdateTenantSettingsRequest r = HELPDESK__V1__UPDATE_TENANT_SETTINGS_REQUEST__INIT;
  r.settings = s;
  r.update_mask = mask;
  tf_call_refused(t, "UpdateTenantSettings", token, &r.base,
                  &helpdesk__v1__tenant_settings__descriptor, code, msg_part);
}

/* Every field replaced (mask "*"). */
static Helpdesk__V1__TenantSettings *settings_put(tf *t, const char *token,
                                                  Helpdesk__V1__TenantSettings *s) {
  Google__Protobuf__FieldMask all = MASK("*");
  return settings_update(t, token, s, &all);
}

static void expect_settings_refused(tf *t, const char *token, Helpdesk__V1__TenantSettings *s,
                                    hd_code code, const char *msg_part) {
  Google__Protobuf__FieldMask all = MASK("*");
  expect_update_refused(t, token, s, &all, code, msg_part);
}

static Helpdesk__V1__TenantSettings settings_of(Helpdesk__V1__ReminderChannel channel,
                                                const char *target, const char *link) {
  Helpdesk__V1__TenantSettings s = HELPDESK__V1__TENANT_SETTINGS__INIT;
  s.reminder_channel = channel;
  s.reminder_target = (char *)target;
  s.review_link = (char *)link;
  return s;
}

/* ---- following ---- */

/* tickets.follower_count of ticket id. */
static int64_t followers(tf *t, int64_t id) {
  return tf_sqlf(t, "SELECT follower_count FROM tickets WHERE id = %" PRId64, id);
}

static void test_follow_and_unfollow_are_idempotent_and_keep_the_version(void **state) {
  tf *t = *state;
  Helpdesk__V1__Ticket *c = tf_create(t, t->customer, NULL, "Important customer");
  const int64_t history = tf_sql(t, "SELECT COUNT(*) FROM ticket_history");
  const int64_t events = tf_sql(t, "SELECT COUNT(*) FROM outbox");
  for (int i = 0; i < 2; i++) {
    Helpdesk__V1__Ticket *f = follow(t, "FollowTicket", t->agent, c->id);
    assert_int_equal(f->id, c->id);
    assert_true(f->followed);
    assert_int_equal(f->version, c->version);
    assert_int_equal(f->update_time_us, c->update_time_us);
    assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM follows"), 1);
    /* The ticket's count of followers moves with the row, not with the call (migration 007). */
    assert_int_equal(followers(t, c->id), 1);
  }
  assert_true(tf_get(t, t->agent, c->id)->followed);
  assert_true(listed_as_followed(t, t->agent, c->id));
  for (int i = 0; i < 2; i++) {
    Helpdesk__V1__Ticket *u = follow(t, "UnfollowTicket", t->agent, c->id);
    assert_false(u->followed);
    assert_int_equal(u->version, c->version);
    assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM follows"), 0);
    assert_int_equal(followers(t, c->id), 0);
  }
  assert_false(tf_get(t, t->agent, c->id)->followed);
  assert_false(listed_as_followed(t, t->agent, c->id));
  /* Not a change of the ticket: no history row, no event. */
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM ticket_history"), history);
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM outbox"), events);
  assert_int_equal(tf_get(t, t->agent, c->id)->version, 1);
}

static void test_followed_flag_is_per_agent(void **state) {
  tf *t = *state;
  Helpdesk__V1__Ticket *c = tf_create(t, t->customer, NULL, "Urgent: site hacked");
  follow(t, "FollowTicket", t->agent, c->id);
  follow(t, "FollowTicket", t->lead, c->id);
  follow(t, "FollowTicket", t->supervisor, c->id);
  assert_int_equal(followers(t, c->id), 3);
  assert_true(tf_get(t, t->agent, c->id)->followed);
  assert_true(tf_get(t, t->lead, c->id)->followed);
  assert_false(tf_get(t, t->agent2, c->id)->followed);
  assert_false(listed_as_followed(t, t->agent2, c->id));
  assert_true(listed_as_followed(t, t->supervisor, c->id));
  assert_false(tf_get(t, t->customer, c->id)->followed);
  /* One agent unfollowing leaves the others. */
  follow(t, "UnfollowTicket", t->lead, c->id);
  assert_false(tf_get(t, t->lead, c->id)->followed);
  assert_true(tf_get(t, t->agent, c->id)->followed);
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM follows"), 2);
  assert_int_equal(followers(t, c->id), 2);
}

/* A change's reply says whether its caller follows the ticket: read only when somebody does
 * (the count on the locked row), so the flag must stay right either way. */
static void test_a_changes_reply_says_whether_its_caller_follows(void **state) {
  tf *t = *state;
  Helpdesk__V1__Ticket *nobody = tf_create(t, t->customer, NULL, "Nobody follows this");
  Helpdesk__V1__Ticket *mine = tf_create(t, t->customer, NULL, "The lead follows this");
  Helpdesk__V1__Ticket *other = tf_create(t, t->customer, NULL, "Another agent follows this");
  follow(t, "FollowTicket", t->lead, mine->id);
  follow(t, "FollowTicket", t->agent2, other->id);
  assert_false(tf_assign(t, nobody->id, "agent-1")->followed);
  assert_true(tf_assign(t, mine->id, "agent-1")->followed);
  assert_false(tf_assign(t, other->id, "agent-1")->followed);
  follow(t, "UnfollowTicket", t->lead, mine->id);
  assert_int_equal(followers(t, mine->id), 0);
  assert_false(tf_assign(t, mine->id, "agent-2")->followed);
}

static void test_a_ticket_in_any_status_can_be_followed(void **state) {
  tf *t = *state;
  Helpdesk__V1__Ticket *c = tf_create(t, t->customer, NULL, "Closed already");
  tf_set_status(t, c->id, TF_STATUS(CLOSED));
  Helpdesk__V1__Ticket *f = follow(t, "FollowTicket", t->agent, c->id);
  assert_true(f->followed);
  assert_int_equal(f->status, HELPDESK__V1__TICKET_STATUS__TICKET_STATUS_CLOSED);
  assert_false(follow(t, "UnfollowTicket", t->agent, c->id)->followed);
}

static void test_only_agents_team_leads_and_supervisors_follow(void **state) {
  tf *t = *state;
  Helpdesk__V1__Ticket *c = tf_create(t, t->customer, NULL, "Follow me");
  follow(t, "FollowTicket", t->agent, c->id);
  const char *rpcs[] = {"FollowTicket", "UnfollowTicket"};
  for (size_t i = 0; i < 2; i++) {
    expect_follow_refused(t, rpcs[i], t->customer, c->id, HD_PERMISSION_DENIED,
                          "is for an agent, team_lead or supervisor");
    expect_follow_refused(t, rpcs[i], t->service, c->id, HD_PERMISSION_DENIED,
                          "is for an agent, team_lead or supervisor");
    expect_follow_refused(t, rpcs[i], t->admin, c->id, HD_PERMISSION_DENIED,
                          "is for an agent, team_lead or supervisor");
    /* A missing ticket, another tenant's, a bad id. */
    expect_follow_refused(t, rpcs[i], t->agent, c->id + 100, HD_NOT_FOUND, "not found");
    expect_follow_refused(t, rpcs[i], t->other_tenant, c->id, HD_NOT_FOUND, "not found");
    expect_follow_refused(t, rpcs[i], t->agent, 0, HD_INVALID_ARGUMENT,
                          "ticket_id must be a positive id");
  }
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM follows"), 1);
}

/* ---- history ---- */

/* History is append-only: later changes add rows and never touch the earlier ones (who, when,
 * what, from and to stay as they were written). */
static void test_history_rows_are_never_changed_by_later_changes(void **state) {
  tf *t = *state;
  const int64_t id = tf_create(t, t->customer, NULL, "Mail bounces")->id;
  tf_assign(t, id, "agent-1");
  static const char sum[] =
      "SELECT CONCAT(COUNT(*), ':', SUM(CRC32(CONCAT_WS('|', id, ticket_id, actor_id, actor_role, "
      "action, field, IFNULL(from_value, '-'), IFNULL(to_value, '-'), created_at_us)))) "
      "FROM ticket_history WHERE id <= %" PRId64;
  const int64_t last = tf_sqlf(t, "SELECT MAX(id) FROM ticket_history");
  const char *before = tf_sqlf_str(t, sum, last);
  tf_set_status(t, id, TF_STATUS(PROCESSING));
  tf_set_status(t, id, TF_STATUS(CLOSED));
  assert_true(tf_sqlf(t, "SELECT MAX(id) FROM ticket_history") > last);
  const char *after = tf_sqlf_str(t, sum, last);
  assert_string_equal(before, after);
}

static void test_history_lists_the_create_entry_oldest_first_for_staff(void **state) {
  tf *t = *state;
  Helpdesk__V1__CreateTicketRequest r = HELPDESK__V1__CREATE_TICKET_REQUEST__INIT;
  r.idempotency_key = "h-1";
  r.subject = "Billing question";
  r.description = "Why was I charged twice?";
  r.service_type = HELPDESK__V1__SERVICE_TYPE__SERVICE_TYPE_VPS;
  r.issue_type = HELPDESK__V1__ISSUE_TYPE__ISSUE_TYPE_BILLING;
  r.department = "billing";
  Helpdesk__V1__Ticket *c = (Helpdesk__V1__Ticket *)tf_must(t, "CreateTicket", t->customer, &r.base,
                                                            &helpdesk__v1__ticket__descriptor);
  const char *staff[] = {t->agent, t->lead, t->supervisor, t->admin, t->service};
  for (size_t i = 0; i < sizeof staff / sizeof staff[0]; i++) {
    Helpdesk__V1__GetTicketHistoryResponse *h = history(t, staff[i], c->id, NULL);
    assert_int_equal(h->n_entries, 2);
    assert_string_equal(h->page->next_page_token, "");
    const Helpdesk__V1__HistoryEntry *e = h->entries[0];
    assert_int_equal(e->ticket_id, c->id);
    assert_string_equal(e->action, "CREATE");
    assert_string_equal(e->field, "status");
    assert_string_equal(e->from_value, "");
    assert_string_equal(e->to_value, "PENDING_RESPONSE");
    assert_string_equal(e->actor_id, "cust-1");
    assert_string_equal(e->actor_role, "customer");
    assert_int_equal(e->create_time_us, c->create_time_us);
    assert_string_equal(h->entries[1]->field, "department");
    assert_string_equal(h->entries[1]->to_value, "billing");
    assert_true(h->entries[1]->id > e->id);
  }
  /* One entry a page, continued by the token. */
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_size = 1;
  Helpdesk__V1__GetTicketHistoryResponse *p1 = history(t, t->agent, c->id, &page);
  assert_int_equal(p1->n_entries, 1);
  assert_string_equal(p1->entries[0]->field, "status");
  assert_string_not_equal(p1->page->next_page_token, "");
  page.page_token = p1->page->next_page_token;
  Helpdesk__V1__GetTicketHistoryResponse *p2 = history(t, t->agent, c->id, &page);
  assert_int_equal(p2->n_entries, 1);
  assert_string_equal(p2->entries[0]->field, "department");
  assert_string_equal(p2->page->next_page_token, "");

  /* The token belongs to this ticket's history only. */
  Helpdesk__V1__Ticket *other = tf_create(t, t->customer, NULL, "Other");
  Helpdesk__V1__GetTicketHistoryRequest hr = HELPDESK__V1__GET_TICKET_HISTORY_REQUEST__INIT;
  hr.ticket_id = other->id;
  hr.page = &page;
  tf_call_refused(t, "GetTicketHistory", t->agent, &hr.base,
                  &helpdesk__v1__get_ticket_history_response__descriptor, HD_INVALID_ARGUMENT,
                  "page_token");
  page.page_token = "";
  page.page_size = 501;
  tf_call_refused(t, "GetTicketHistory", t->agent, &hr.base,
                  &helpdesk__v1__get_ticket_history_response__descriptor, HD_INVALID_ARGUMENT,
                  "500");
}

static void test_history_is_refused_to_a_customer_and_needs_a_visible_ticket(void **state) {
  tf *t = *state;
  Helpdesk__V1__Ticket *c = tf_create(t, t->customer, NULL, "My ticket");
  Helpdesk__V1__GetTicketHistoryRequest hr = HELPDESK__V1__GET_TICKET_HISTORY_REQUEST__INIT;
  hr.ticket_id = c->id;
  /* Even their own ticket. */
  tf_call_refused(t, "GetTicketHistory", t->customer, &hr.base,
                  &helpdesk__v1__get_ticket_history_response__descriptor, HD_PERMISSION_DENIED,
                  "history is for staff");
  tf_call_refused(t, "GetTicketHistory", t->other_tenant, &hr.base,
                  &helpdesk__v1__get_ticket_history_response__descriptor, HD_NOT_FOUND,
                  "not found");
  hr.ticket_id = c->id + 50;
  char msg[64];
  snprintf(msg, sizeof msg, "ticket %" PRId64 " not found", c->id + 50);
  tf_call_refused(t, "GetTicketHistory", t->agent, &hr.base,
                  &helpdesk__v1__get_ticket_history_response__descriptor, HD_NOT_FOUND, msg);
  hr.ticket_id = 0;
  tf_call_refused(t, "GetTicketHistory", t->agent, &hr.base,
                  &helpdesk__v1__get_ticket_history_response__descriptor, HD_INVALID_ARGUMENT,
                  "ticket_id must be a positive id");
}

/* ---- tenant settings ---- */

static void test_settings_default_to_no_reminder_and_no_review_link(void **state) {
  tf *t = *state;
  const char *staff[] = {t->agent, t->lead, t->supervisor, t->admin, t->service};
  for (size_t i = 0; i < sizeof staff / sizeof staff[0]; i++) {
    Helpdesk__V1__TenantSettings *s = settings_get(t, staff[i]);
    assert_string_equal(s->tenant, "acme");
    assert_int_equal(s->reminder_channel,
                     HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_UNSPECIFIED);
    assert_string_equal(s->reminder_target, "");
    assert_string_equal(s->review_link, "");
  }
  Helpdesk__V1__GetTenantSettingsRequest r = HELPDESK__V1__GET_TENANT_SETTINGS_REQUEST__INIT;
  tf_call_refused(t, "GetTenantSettings", t->customer, &r.base,
                  &helpdesk__v1__tenant_settings__descriptor, HD_PERMISSION_DENIED,
                  "tenant settings are for staff");
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM tenant_settings"), 0);
}

static void test_tenant_admin_replaces_settings_and_staff_read_them(void **state) {
  tf *t = *state;
  const char *link = "https://www.trustpilot.com/review/acme-hosting.example";
  Helpdesk__V1__TenantSettings s = settings_of(
      HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_EMAIL, "oncall@acme.example", link);
  s.tenant = "globex"; /* ignored: the caller's tenant is used */
  Helpdesk__V1__TenantSettings *out = settings_put(t, t->admin, &s);
  assert_string_equal(out->tenant, "acme");
  assert_int_equal(out->reminder_channel, HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_EMAIL);
  assert_string_equal(out->reminder_target, "oncall@acme.example");
  assert_string_equal(out->review_link, link);
  Helpdesk__V1__TenantSettings *seen = settings_get(t, t->agent);
  assert_int_equal(seen->reminder_channel, HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_EMAIL);
  assert_string_equal(seen->reminder_target, "oncall@acme.example");
  assert_string_equal(seen->review_link, link);
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM tenant_settings WHERE updated_by = 'admin-1'"),
                   1);
  /* Another tenant still has the defaults. */
  Helpdesk__V1__TenantSettings *globex = settings_get(t, t->other_tenant);
  assert_string_equal(globex->tenant, "globex");
  assert_int_equal(globex->reminder_channel, 0);
  assert_string_equal(globex->review_link, "");

  /* Replacing: SMS, then nothing at all. */
  s = settings_of(HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_SMS, "+6590001234", "");
  out = settings_put(t, t->admin, &s);
  assert_int_equal(out->reminder_channel, HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_SMS);
  assert_string_equal(out->review_link, "");
  s = settings_of(HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_UNSPECIFIED, "", "");
  out = settings_put(t, t->admin, &s);
  assert_int_equal(out->reminder_channel, 0);
  assert_string_equal(out->reminder_target, "");
  assert_int_equal(settings_get(t, t->supervisor)->reminder_channel, 0);
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM tenant_settings"), 1);
}

static void test_settings_update_is_for_a_tenant_admin_only(void **state) {
  tf *t = *state;
  Helpdesk__V1__TenantSettings s = settings_of(
      HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_EMAIL, "oncall@acme.example", "");
  const char *others[] = {t->agent, t->lead, t->supervisor, t->service, t->customer};
  for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
    expect_settings_refused(t, others[i], &s, HD_PERMISSION_DENIED, "is for a tenant_admin");
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM tenant_settings"), 0);
}

static void test_bad_settings_are_refused_and_write_nothing(void **state) {
  tf *t = *state;
  const Helpdesk__V1__ReminderChannel email =
      HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_EMAIL;
  const Helpdesk__V1__ReminderChannel none =
      HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_UNSPECIFIED;
  /* Something stored first, so a refused update must leave it as it was. */
  Helpdesk__V1__TenantSettings good =
      settings_of(email, "oncall@acme.example", "https://a.example/r");
  settings_put(t, t->admin, &good);
  Helpdesk__V1__TenantSettings s;

  s = settings_of(email, "", "");
  expect_settings_refused(t, t->admin, &s, HD_INVALID_ARGUMENT,
                          "reminder_target is required with a reminder_channel");
  s = settings_of(none, "oncall@acme.example", "");
  expect_settings_refused(t, t->admin, &s, HD_INVALID_ARGUMENT,
                          "reminder_target is set but reminder_channel is not");
  s = settings_of((Helpdesk__V1__ReminderChannel)9, "oncall@acme.example", "");
  expect_settings_refused(t, t->admin, &s, HD_INVALID_ARGUMENT, "reminder_channel has no value 9");
  s = settings_of(email, tf_repeat(t, "t", 201), "");
  expect_settings_refused(t, t->admin, &s, HD_INVALID_ARGUMENT,
                          "reminder_target has 201 characters; at most 200 are allowed");

  const char *bad_links[] = {"http://www.trustpilot.com/review/acme", "https://",
                             "ftp://files.example/review", "www.trustpilot.com/review/acme",
                             "javascript:alert(1)"};
  for (size_t i = 0; i < sizeof bad_links / sizeof bad_links[0]; i++) {
    s = settings_of(none, "", bad_links[i]);
    expect_settings_refused(t, t->admin, &s, HD_INVALID_ARGUMENT,
                            "review_link must be an https:// URL");
  }
  s = settings_of(none, "", "https://www.trustpilot.com/review/acme hosting");
  expect_settings_refused(t, t->admin, &s, HD_INVALID_ARGUMENT,
                          "review_link has a space or control character");
  s = settings_of(none, "", "https://www.trustpilot.com/review/acme\n");
  expect_settings_refused(t, t->admin, &s, HD_INVALID_ARGUMENT,
                          "review_link has a space or control character");
  /* 500 characters is the limit: "https://" + 492; one more is refused. */
  char *past = hd_arena_printf(t->arena, "https://%s", tf_repeat(t, "a", 493));
  s = settings_of(none, "", past);
  expect_settings_refused(t, t->admin, &s, HD_INVALID_ARGUMENT,
                          "review_link has 501 characters; at most 500 are allowed");
  Helpdesk__V1__UpdateTenantSettingsRequest missing =
      HELPDESK__V1__UPDATE_TENANT_SETTINGS_REQUEST__INIT;
  tf_call_refused(t, "UpdateTenantSettings", t->admin, &missing.base,
                  &helpdesk__v1__tenant_settings__descriptor, HD_INVALID_ARGUMENT,
                  "settings is required");
  assert_string_equal(settings_get(t, t->agent)->review_link, "https://a.example/r");

  /* The edges are accepted. */
  char *edge = hd_arena_printf(t->arena, "https://%s", tf_repeat(t, "a", 492));
  char *target = tf_repeat(t, "電", 200);
  s = settings_of(email, target, edge);
  Helpdesk__V1__TenantSettings *out = settings_put(t, t->admin, &s);
  assert_string_equal(out->review_link, edge);
  assert_string_equal(out->reminder_target, target);
  s = settings_of(email, "x", "HTTPS://Example.com/review?stars=5&lang=en");
  assert_string_equal(settings_put(t, t->admin, &s)->review_link,
                      "HTTPS://Example.com/review?stars=5&lang=en");
}

static void test_settings_update_changes_only_the_fields_in_its_mask(void **state) {
  tf *t = *state;
  const Helpdesk__V1__ReminderChannel email =
      HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_EMAIL;
  Helpdesk__V1__TenantSettings s = settings_of(email, "oncall@acme.example", "https://a.example/r");
  settings_put(t, t->admin, &s);

  /* The review link alone: the reminder channel and target stay. */
  Helpdesk__V1__TenantSettings link = HELPDESK__V1__TENANT_SETTINGS__INIT;
  link.review_link = "https://www.trustpilot.com/review/acme.example";
  Google__Protobuf__FieldMask m = MASK("review_link");
  Helpdesk__V1__TenantSettings *out = settings_update(t, t->admin, &link, &m);
  assert_int_equal(out->reminder_channel, email);
  assert_string_equal(out->reminder_target, "oncall@acme.example");
  assert_string_equal(out->review_link, "https://www.trustpilot.com/review/acme.example");
  Helpdesk__V1__TenantSettings *seen = settings_get(t, t->agent);
  assert_int_equal(seen->reminder_channel, email);
  assert_string_equal(seen->reminder_target, "oncall@acme.example");

  /* The channel and its target: the link stays. Fields outside the mask are ignored. */
  Helpdesk__V1__TenantSettings sms =
      settings_of(HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_SMS, "+6590001234",
                  "https://ignored.example");
  m = MASK("reminder_channel", "reminder_target");
  out = settings_update(t, t->admin, &sms, &m);
  assert_int_equal(out->reminder_channel, HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_SMS);
  assert_string_equal(out->reminder_target, "+6590001234");
  assert_string_equal(out->review_link, "https://www.trustpilot.com/review/acme.example");

  /* A field in the mask with its empty value clears it; a path named twice is one path. */
  Helpdesk__V1__TenantSettings empty = HELPDESK__V1__TENANT_SETTINGS__INIT;
  m = MASK("review_link", "review_link");
  out = settings_update(t, t->admin, &empty, &m);
  assert_string_equal(out->review_link, "");
  assert_string_equal(out->reminder_target, "+6590001234");
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM tenant_settings"), 1);

  /* A tenant's first update of one field: the others keep their defaults. */
  m = MASK("review_link");
  out = settings_update(t, t->other_tenant, &link, &m);
  assert_string_equal(out->tenant, "globex");
  assert_int_equal(out->reminder_channel, 0);
  assert_string_equal(out->reminder_target, "");
  assert_string_equal(out->review_link, "https://www.trustpilot.com/review/acme.example");
  assert_string_equal(settings_get(t, t->agent)->reminder_target, "+6590001234");
}

static void test_settings_update_mask_is_required_and_names_only_known_fields(void **state) {
  tf *t = *state;
  const Helpdesk__V1__ReminderChannel email =
      HELPDESK__V1__REMINDER_CHANNEL__REMINDER_CHANNEL_EMAIL;
  Helpdesk__V1__TenantSettings s = settings_of(email, "oncall@acme.example", "https://a.example/r");
  settings_put(t, t->admin, &s);
  Helpdesk__V1__TenantSettings link = HELPDESK__V1__TENANT_SETTINGS__INIT;
  link.review_link = "https://b.example/r";

  /* No mask, or a mask without paths: refused, nothing cleared. */
  expect_update_refused(t, t->admin, &link, NULL, HD_INVALID_ARGUMENT,
                        "update_mask is required: name the fields to change");
  Google__Protobuf__FieldMask m = mask_of(NULL, 0);
  expect_update_refused(t, t->admin, &link, &m, HD_INVALID_ARGUMENT, "update_mask is required");

  /* Unknown paths are named. */
  m = MASK("review_link", "reminder_chanel");
  expect_update_refused(t, t->admin, &link, &m, HD_INVALID_ARGUMENT,
                        "update_mask path \"reminder_chanel\" is not a field of TenantSettings "
                        "you can change: use reminder_channel, reminder_target, review_link or "
                        "\"*\"");
  m = MASK("tenant");
  expect_update_refused(t, t->admin, &link, &m, HD_INVALID_ARGUMENT,
                        "update_mask path \"tenant\" is not a field");
  m = MASK("settings.review_link");
  expect_update_refused(t, t->admin, &link, &m, HD_INVALID_ARGUMENT,
                        "update_mask path \"settings.review_link\"");
  m = MASK("");
  expect_update_refused(t, t->admin, &link, &m, HD_INVALID_ARGUMENT, "update_mask path \"\"");
  m = MASK("review_link", "review_link", "review_link", "review_link", "review_link", "review_link",
           "review_link", "review_link", "review_link");
  expect_update_refused(t, t->admin, &link, &m, HD_INVALID_ARGUMENT,
                        "update_mask has 9 paths; at most 8 are allowed");

  /* The settings after the change must hold together. */
  Helpdesk__V1__TenantSettings none = HELPDESK__V1__TENANT_SETTINGS__INIT;
  m = MASK("reminder_target");
  expect_update_refused(t, t->admin, &none, &m, HD_INVALID_ARGUMENT,
                        "reminder_target is required with a reminder_channel");
  m = MASK("reminder_channel");
  expect_update_refused(t, t->admin, &none, &m, HD_INVALID_ARGUMENT,
                        "reminder_target is set but reminder_channel is not");
  /* A field in the mask is checked; one outside it is not even read. */
  Helpdesk__V1__TenantSettings bad = settings_of((Helpdesk__V1__ReminderChannel)9, "", "ftp://x");
  m = MASK("review_link");
  expect_update_refused(t, t->admin, &bad, &m, HD_INVALID_ARGUMENT,
                        "review_link must be an https:// URL");
  bad.review_link = "https://c.example/r";
  assert_string_equal(settings_update(t, t->admin, &bad, &m)->review_link, "https://c.example/r");

  Helpdesk__V1__TenantSettings *now = settings_get(t, t->agent);
  assert_int_equal(now->reminder_channel, email);
  assert_string_equal(now->reminder_target, "oncall@acme.example");
}

int main(void) {
  const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, tf_setup, tf_teardown)
      T(test_follow_and_unfollow_are_idempotent_and_keep_the_version),
      T(test_followed_flag_is_per_agent),
      T(test_a_changes_reply_says_whether_its_caller_follows),
      T(test_a_ticket_in_any_status_can_be_followed),
      T(test_only_agents_team_leads_and_supervisors_follow),
      T(test_history_lists_the_create_entry_oldest_first_for_staff),
      T(test_history_rows_are_never_changed_by_later_changes),
      T(test_history_is_refused_to_a_customer_and_needs_a_visible_ticket),
      T(test_settings_default_to_no_reminder_and_no_review_link),
      T(test_tenant_admin_replaces_settings_and_staff_read_them),
      T(test_settings_update_is_for_a_tenant_admin_only),
      T(test_bad_settings_are_refused_and_write_nothing),
      T(test_settings_update_changes_only_the_fields_in_its_mask),
      T(test_settings_update_mask_is_required_and_names_only_known_fields),
#undef T
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
