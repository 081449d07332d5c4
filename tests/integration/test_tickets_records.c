/* TicketService's conversation, internal records and consents through real gRPC calls against
 * MariaDB: who may add and read each, their limits at the edge and one past it (characters, not
 * bytes), closed tickets, paging, the version, history and event every added row writes, and
 * that every refused call leaves the database exactly as it was.
 *
 * Set-up goes through the real RPCs (ticket_fixture): tickets are opened with CreateTicket, given
 * an owner with AssignTicket (their status stays PENDING_RESPONSE) and closed or cancelled with
 * CloseTicket / CancelTicket. */
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

#define E_ACUTE  "\xC3\xA9"         /* é: 2 bytes, 1 character */
#define GRINNING "\xF0\x9F\x98\x80" /* 😀: 4 bytes, 1 character */

/* ---- set-up helpers ---- */

/* A new PENDING_RESPONSE ticket of cust-1 in acme, opened by them. */
static int64_t acme_ticket(tf *t) { return tf_create(t, t->customer, NULL, "Website down")->id; }

/* a followed by b, in the fixture's arena. */
static char *concat(tf *t, const char *a, const char *b) {
  char *s = hd_arena_printf(t->arena, "%s%s", a, b);
  assert_non_null(s);
  return s;
}

/* ---- calls ---- */

static hd_code add_comment(tf *t, const char *tok, int64_t id, int64_t version, const char *body,
                           Helpdesk__V1__Comment **out, hd_err *err) {
  Helpdesk__V1__AddCommentRequest req = HELPDESK__V1__ADD_COMMENT_REQUEST__INIT;
  req.ticket_id = id;
  req.expected_version = version;
  req.body = (char *)body;
  return tf_call(t, "AddComment", tok, &req.base, &helpdesk__v1__comment__descriptor, out, err);
}

static hd_code list_comments(tf *t, const char *tok, int64_t id, int32_t size, const char *token,
                             Helpdesk__V1__ListCommentsResponse **out, hd_err *err) {
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_size = size;
  page.page_token = (char *)(token ? token : "");
  Helpdesk__V1__ListCommentsRequest req = HELPDESK__V1__LIST_COMMENTS_REQUEST__INIT;
  req.ticket_id = id;
  req.page = &page;
  return tf_call(t, "ListComments", tok, &req.base,
                 &helpdesk__v1__list_comments_response__descriptor, out, err);
}

static hd_code add_record(tf *t, const char *tok, int64_t id, const char *body,
                          Helpdesk__V1__InternalRecord **out, hd_err *err) {
  Helpdesk__V1__AddInternalRecordRequest req = HELPDESK__V1__ADD_INTERNAL_RECORD_REQUEST__INIT;
  req.ticket_id = id;
  req.body = (char *)body;
  return tf_call(t, "AddInternalRecord", tok, &req.base, &helpdesk__v1__internal_record__descriptor,
                 out, err);
}

static hd_code list_records(tf *t, const char *tok, int64_t id, const char *token,
                            Helpdesk__V1__ListInternalRecordsResponse **out, hd_err *err) {
  Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
  page.page_token = (char *)(token ? token : "");
  Helpdesk__V1__ListInternalRecordsRequest req = HELPDESK__V1__LIST_INTERNAL_RECORDS_REQUEST__INIT;
  req.ticket_id = id;
  req.page = &page;
  return tf_call(t, "ListInternalRecords", tok, &req.base,
                 &helpdesk__v1__list_internal_records_response__descriptor, out, err);
}

static hd_code record_consent(tf *t, const char *tok, int64_t id, int64_t version, int scope,
                              const char *words, Helpdesk__V1__Consent **out, hd_err *err) {
  Helpdesk__V1__RecordConsentRequest req = HELPDESK__V1__RECORD_CONSENT_REQUEST__INIT;
  req.ticket_id = id;
  req.expected_version = version;
  req.scope = (Helpdesk__V1__ConsentScope)scope;
  req.customer_words = (char *)words;
  return tf_call(t, "RecordConsent", tok, &req.base, &helpdesk__v1__consent__descriptor, out, err);
}

static hd_code list_consents(tf *t, const char *tok, int64_t id,
                             Helpdesk__V1__ListConsentsResponse **out, hd_err *err) {
  Helpdesk__V1__ListConsentsRequest req = HELPDESK__V1__LIST_CONSENTS_REQUEST__INIT;
  req.ticket_id = id;
  return tf_call(t, "ListConsents", tok, &req.base,
                 &helpdesk__v1__list_consents_response__descriptor, out, err);
}

/* ReplyToTicket with intent, as tok; fails the test unless it succeeds. The ticket after it. */
static Helpdesk__V1__Ticket *must_reply(tf *t, const char *tok, int64_t id,
                                        Helpdesk__V1__ReplyIntent intent) {
  Helpdesk__V1__ReplyToTicketRequest req = HELPDESK__V1__REPLY_TO_TICKET_REQUEST__INIT;
  req.ticket_id = id;
  req.intent = intent;
  req.body = "Could you send us the error message?";
  return ((Helpdesk__V1__ReplyToTicketResponse *)tf_must(
              t, "ReplyToTicket", tok, &req.base,
              &helpdesk__v1__reply_to_ticket_response__descriptor))
      ->ticket;
}

#define INTENT(x) HELPDESK__V1__REPLY_INTENT__REPLY_INTENT_##x

/* ---- group fixture: one service for every test ---- */

static int teardown(void **state) {
  tf_teardown(state);
  hd_db_library_end();
  return 0;
}

/* ---- comments ---- */

static void test_comments_by_staff_list_oldest_first_and_each_bumps_the_version(void **state) {
  tf *t = *state;
  hd_err err;
  const int64_t id = acme_ticket(t);
  /* A customer answers with AddCustomerReply (which drives the status and stops the follow-ups),
   * never with AddComment: refused, nothing written. */
  char *fp = tf_fingerprint(t);
  tf_expect_code(add_comment(t, t->customer, id, 0, "hello?", NULL, &err), &err,
                 HD_PERMISSION_DENIED, "customers answer with AddCustomerReply");
  tf_expect_unchanged(t, fp);
  const int64_t v0 = tf_version(t, id);
  const char *tokens[] = {t->supervisor, t->agent, t->lead, t->service};
  const char *authors[] = {"sup-1", "agent-1", "lead-1", "svc-router"};
  const char *roles[] = {"supervisor", "agent", "team_lead", "service"};
  int64_t ids[4];
  for (int i = 0; i < 4; i++) {
    char body[64];
    snprintf(body, sizeof body, "comment %d", i);
    Helpdesk__V1__Comment *c = NULL;
    /* The version the caller saw passes the check. */
    tf_expect_ok(add_comment(t, tokens[i], id, v0 + i, body, &c, &err), &err);
    assert_int_equal(c->ticket_id, id);
    assert_string_equal(c->author_id, authors[i]);
    assert_string_equal(c->author_role, roles[i]);
    assert_string_equal(c->body, body);
    assert_int_equal(c->create_time_us, tf_now(t));
    assert_int_equal(tf_version(t, id), v0 + i + 1);
    ids[i] = c->id;
    /* One history row naming the comment, one event carrying its id. */
    assert_int_equal(tf_sqlf(t,
                             "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " "
                             "AND action = 'COMMENT' AND field = 'comment' AND to_value = "
                             "'%" PRId64 "' AND actor_id = '%s'",
                             id, c->id, authors[i]),
                     1);
    assert_int_equal(tf_sqlf(t,
                             "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64 " AND "
                             "event_type = 'ticket.commented' AND JSON_VALUE(payload, "
                             "'$.comment_id') = %" PRId64,
                             id, c->id),
                     1);
  }
  /* Nobody owns the ticket: nobody is asked to act, the status stays. */
  assert_int_equal(tf_sqlf(t,
                           "SELECT COUNT(*) FROM tickets WHERE id = %" PRId64 " AND status = "
                           "'PENDING_RESPONSE'",
                           id),
                   1);
  Helpdesk__V1__ListCommentsResponse *l = NULL;
  tf_expect_ok(list_comments(t, t->customer, id, 0, NULL, &l, &err), &err);
  assert_int_equal(l->n_comments, 4);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(l->comments[i]->id, ids[i]);
    assert_string_equal(l->comments[i]->author_id, authors[i]);
  }
  assert_string_equal(l->page->next_page_token, "");
  /* Staff of the tenant read it too. */
  tf_expect_ok(list_comments(t, t->agent2, id, 0, NULL, &l, &err), &err);
  assert_int_equal(l->n_comments, 4);
}

static void test_comment_body_is_1_to_20000_characters_of_utf8(void **state) {
  tf *t = *state;
  hd_err err;
  const int64_t id = acme_ticket(t);
  char *emoji = tf_repeat(t, GRINNING, 20000); /* 80,000 bytes */
  Helpdesk__V1__Comment *c = NULL;
  tf_expect_ok(add_comment(t, t->agent, id, 0, emoji, &c, &err), &err);
  Helpdesk__V1__ListCommentsResponse *l = NULL;
  tf_expect_ok(list_comments(t, t->agent, id, 0, NULL, &l, &err), &err);
  assert_int_equal(l->n_comments, 1);
  assert_string_equal(l->comments[0]->body, emoji);

  char *fp = tf_fingerprint(t);
  char *over = tf_repeat(t, E_ACUTE, 20001);
  tf_expect_code(add_comment(t, t->agent, id, 0, over, NULL, &err), &err, HD_INVALID_ARGUMENT,
                 "body has 20001 characters; at most 20000 are allowed");
  tf_expect_code(add_comment(t, t->agent, id, 0, "", NULL, &err), &err, HD_INVALID_ARGUMENT,
                 "body is required");
  tf_expect_code(add_comment(t, t->agent, id, 0, "bad \xC3\x28 byte", NULL, &err), &err,
                 HD_INVALID_ARGUMENT, "body is not valid UTF-8");
  tf_expect_code(add_comment(t, t->agent, id, -1, "hello", NULL, &err), &err, HD_INVALID_ARGUMENT,
                 "expected_version");
  tf_expect_unchanged(t, fp);
}

static void test_comment_on_a_closed_or_cancelled_ticket_is_refused_and_writes_nothing(
    void **state) {
  tf *t = *state;
  hd_err err;
  const char *statuses[] = {"CLOSED", "CANCELLED"};
  const Helpdesk__V1__TicketStatus finished[] = {TF_STATUS(CLOSED), TF_STATUS(CANCELLED)};
  for (int i = 0; i < 2; i++) {
    const int64_t id = acme_ticket(t);
    tf_expect_ok(add_comment(t, t->agent, id, 0, "before it closed", NULL, &err), &err);
    tf_set_status(t, id, finished[i]);
    char want[160];
    snprintf(want, sizeof want,
             "ticket %" PRId64
             " is %s: comments are closed; have it restarted or open a new "
             "ticket",
             id, statuses[i]);
    char *fp = tf_fingerprint(t);
    tf_expect_code(add_comment(t, t->lead, id, 0, "are you there?", NULL, &err), &err,
                   HD_FAILED_PRECONDITION, want);
    assert_string_equal(err.msg, want);
    tf_expect_code(add_comment(t, t->agent, id, 0, "one more thing", NULL, &err), &err,
                   HD_FAILED_PRECONDITION, want);
    tf_expect_unchanged(t, fp);
    /* The conversation stays readable. */
    Helpdesk__V1__ListCommentsResponse *l = NULL;
    tf_expect_ok(list_comments(t, t->customer, id, 0, NULL, &l, &err), &err);
    assert_int_equal(l->n_comments, 1);
  }
}

static void test_comments_of_another_customers_or_tenants_ticket_are_not_found(void **state) {
  tf *t = *state;
  hd_err err;
  const int64_t id = acme_ticket(t);
  char *fp = tf_fingerprint(t);
  tf_expect_code(add_comment(t, t->customer2, id, 0, "hi", NULL, &err), &err, HD_PERMISSION_DENIED,
                 "customers answer with AddCustomerReply");
  tf_expect_code(list_comments(t, t->customer2, id, 0, NULL, NULL, &err), &err, HD_NOT_FOUND,
                 "not found");
  tf_expect_code(add_comment(t, t->other_tenant, id, 0, "hi", NULL, &err), &err, HD_NOT_FOUND,
                 "not found");
  tf_expect_code(list_comments(t, t->other_tenant, id, 0, NULL, NULL, &err), &err, HD_NOT_FOUND,
                 "not found");
  tf_expect_code(add_comment(t, t->agent, 987654321, 0, "hi", NULL, &err), &err, HD_NOT_FOUND,
                 "ticket 987654321 not found");
  tf_expect_code(add_comment(t, t->agent, 0, 0, "hi", NULL, &err), &err, HD_INVALID_ARGUMENT,
                 "ticket_id must be a positive id");
  tf_expect_unchanged(t, fp);
}

static void test_comment_with_a_stale_expected_version_is_aborted_and_writes_nothing(void **state) {
  tf *t = *state;
  hd_err err;
  const int64_t id = acme_ticket(t);
  const int64_t v = tf_version(t, id);
  char *fp = tf_fingerprint(t);
  tf_expect_ok(add_comment(t, t->agent, id, v, "first", NULL, &err), &err);
  /* The fingerprint sees a change (so an equal one below means nothing was written). */
  char *after = tf_fingerprint(t);
  assert_string_not_equal(fp, after);
  free(fp);
  fp = after;
  char want[128];
  snprintf(want, sizeof want, "version is now %" PRId64 ", you sent %" PRId64, v + 1, v);
  tf_expect_code(add_comment(t, t->agent2, id, v, "second", NULL, &err), &err, HD_ABORTED, want);
  tf_expect_unchanged(t, fp);
}

static void test_comment_pages_follow_ids_and_a_token_is_bound_to_its_list(void **state) {
  tf *t = *state;
  hd_err err;
  const int64_t id = acme_ticket(t), other = acme_ticket(t);
  tf_assign(t, id, "agent-1");
  int64_t ids[5];
  for (int i = 0; i < 5; i++) {
    Helpdesk__V1__Comment *c = NULL;
    char body[16];
    snprintf(body, sizeof body, "c%d", i);
    tf_expect_ok(add_comment(t, t->agent, id, 0, body, &c, &err), &err);
    ids[i] = c->id;
  }
  tf_expect_ok(add_comment(t, t->agent, other, 0, "elsewhere", NULL, &err), &err);
  Helpdesk__V1__ListCommentsResponse *l = NULL;
  char *token = "";
  size_t seen = 0;
  char *first_token = NULL;
  for (int page = 0; page < 3; page++) {
    tf_expect_ok(list_comments(t, t->customer, id, 2, token, &l, &err), &err);
    assert_int_equal(l->n_comments, page < 2 ? 2 : 1);
    for (size_t i = 0; i < l->n_comments; i++) assert_int_equal(l->comments[i]->id, ids[seen++]);
    token = l->page->next_page_token;
    if (page == 0) first_token = token;
    if (page < 2) assert_string_not_equal(token, "");
  }
  assert_string_equal(token, "");
  assert_int_equal(seen, 5);
  /* A token continues only the list it came from. */
  tf_expect_code(list_comments(t, t->customer, other, 2, first_token, NULL, &err), &err,
                 HD_INVALID_ARGUMENT, "page_token belongs to another listing");
  tf_expect_code(list_records(t, t->admin, id, first_token, NULL, &err), &err, HD_INVALID_ARGUMENT,
                 "page_token belongs to another listing");
  tf_expect_code(list_comments(t, t->customer, id, 2, "zz", NULL, &err), &err, HD_INVALID_ARGUMENT,
                 "page_token is malformed");
  tf_expect_code(list_comments(t, t->customer, id, 501, NULL, NULL, &err), &err,
                 HD_INVALID_ARGUMENT, "page_size must be between 1 and 500");
  tf_expect_ok(list_comments(t, t->customer, id, 500, NULL, &l, &err), &err);
  assert_int_equal(l->n_comments, 5);
}

/* ---- internal records ---- */

static void test_internal_records_are_written_and_read_by_the_owner_and_a_tenant_admin(
    void **state) {
  tf *t = *state;
  hd_err err;
  const int64_t id = acme_ticket(t);
  tf_assign(t, id, "agent-1");
  const int64_t v0 = tf_version(t, id);
  Helpdesk__V1__InternalRecord *r1 = NULL, *r2 = NULL;
  tf_expect_ok(add_record(t, t->agent, id, "owner note: reseller plan, check quota", &r1, &err),
               &err);
  assert_string_equal(r1->author_id, "agent-1");
  assert_int_equal(r1->ticket_id, id);
  assert_int_equal(tf_version(t, id), v0 + 1);
  tf_expect_ok(add_record(t, t->admin, id, "admin note: VIP account", &r2, &err), &err);
  assert_string_equal(r2->author_id, "admin-1");
  assert_int_equal(tf_version(t, id), v0 + 2);
  const char *readers[] = {t->agent, t->admin};
  for (int i = 0; i < 2; i++) {
    Helpdesk__V1__ListInternalRecordsResponse *l = NULL;
    tf_expect_ok(list_records(t, readers[i], id, NULL, &l, &err), &err);
    assert_int_equal(l->n_records, 2);
    assert_int_equal(l->records[0]->id, r1->id);
    assert_string_equal(l->records[0]->body, "owner note: reseller plan, check quota");
    assert_int_equal(l->records[1]->id, r2->id);
    assert_string_equal(l->records[1]->author_id, "admin-1");
  }
  /* History and event name the record by id and never carry its body. */
  assert_int_equal(tf_sqlf(t,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "action = 'INTERNAL_RECORD' AND field = 'internal_record' AND to_value "
                           "IN ('%" PRId64 "', '%" PRId64 "')",
                           id, r1->id, r2->id),
                   2);
  assert_int_equal(tf_sqlf(t,
                           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64 " AND "
                           "event_type = 'ticket.internal_record_added' AND JSON_VALUE(payload, "
                           "'$.record_id') IN (%" PRId64 ", %" PRId64 ")",
                           id, r1->id, r2->id),
                   2);
  assert_int_equal(tf_sqlf(t,
                           "SELECT COUNT(*) FROM outbox WHERE payload LIKE '%%quota%%' OR payload "
                           "LIKE '%%VIP%%'"),
                   0);
  assert_int_equal(tf_sqlf(t,
                           "SELECT COUNT(*) FROM ticket_history WHERE to_value LIKE '%%quota%%' "
                           "OR to_value LIKE '%%VIP%%'"),
                   0);
}

static void test_internal_records_are_refused_to_everyone_but_the_owner_and_a_tenant_admin(
    void **state) {
  tf *t = *state;
  hd_err err;
  const int64_t id = acme_ticket(t);
  tf_assign(t, id, "agent-1");
  tf_expect_ok(add_record(t, t->agent, id, "owner's note", NULL, &err), &err);
  char *fp = tf_fingerprint(t);
  /* A service (routing) writes records it never reads: its notes are checked in
   * test_tickets_owner.c; here it is refused the reading only. */
  tf_expect_code(list_records(t, t->service, id, NULL, NULL, &err), &err, HD_PERMISSION_DENIED,
                 "internal records are for the ticket's owner (agent-1) or a tenant_admin");
  const char *denied[] = {t->agent2, t->lead, t->supervisor, t->customer};
  for (size_t i = 0; i < sizeof denied / sizeof denied[0]; i++) {
    tf_expect_code(add_record(t, denied[i], id, "may I?", NULL, &err), &err, HD_PERMISSION_DENIED,
                   "internal records are for the ticket's owner (agent-1) or a tenant_admin");
    assert_string_equal(err.msg,
                        "internal records are for the ticket's owner (agent-1) or a tenant_admin");
    tf_expect_code(list_records(t, denied[i], id, NULL, NULL, &err), &err, HD_PERMISSION_DENIED,
                   "internal records are for the ticket's owner (agent-1) or a tenant_admin");
  }
  /* Another customer and another tenant do not learn that the ticket exists. */
  const char *hidden[] = {t->customer2, t->other_tenant};
  for (size_t i = 0; i < 2; i++) {
    tf_expect_code(add_record(t, hidden[i], id, "may I?", NULL, &err), &err, HD_NOT_FOUND,
                   "not found");
    tf_expect_code(list_records(t, hidden[i], id, NULL, NULL, &err), &err, HD_NOT_FOUND,
                   "not found");
  }
  tf_expect_unchanged(t, fp);

  /* A ticket nobody owns yet: only a tenant_admin. */
  const int64_t unowned = acme_ticket(t);
  fp = tf_fingerprint(t);
  tf_expect_code(add_record(t, t->agent, unowned, "mine?", NULL, &err), &err, HD_PERMISSION_DENIED,
                 "has no owner yet");
  tf_expect_unchanged(t, fp);
  tf_expect_ok(add_record(t, t->admin, unowned, "admin's note", NULL, &err), &err);
}

static void test_internal_record_limit_is_20000_characters_not_bytes(void **state) {
  tf *t = *state;
  hd_err err;
  const int64_t id = acme_ticket(t);
  tf_assign(t, id, "agent-1");
  int64_t v = tf_version(t, id);
  const char *units[] = {"a", E_ACUTE, GRINNING};
  for (int i = 0; i < 3; i++) {
    char *at_limit = tf_repeat(t, units[i], 20000); /* 20,000, 40,000 and 80,000 bytes */
    Helpdesk__V1__InternalRecord *r = NULL;
    tf_expect_ok(add_record(t, t->agent, id, at_limit, &r, &err), &err);
    assert_int_equal(tf_version(t, id), ++v);
    Helpdesk__V1__ListInternalRecordsResponse *l = NULL;
    tf_expect_ok(list_records(t, t->agent, id, NULL, &l, &err), &err);
    assert_int_equal(l->n_records, (size_t)i + 1);
    assert_int_equal(l->records[i]->id, r->id);
    assert_string_equal(l->records[i]->body, at_limit);
  }
  char *fp = tf_fingerprint(t);
  for (int i = 0; i < 3; i++) {
    char *past = tf_repeat(t, units[i], 20001);
    tf_expect_code(add_record(t, t->agent, id, past, NULL, &err), &err, HD_INVALID_ARGUMENT,
                   "body has 20001 characters; at most 20000 are allowed");
  }
  /* 19,999 é and one 😀: 20,000 characters is fine; one more é is not. */
  char *mixed = concat(t, tf_repeat(t, E_ACUTE, 19999), GRINNING);
  char *mixed_past = concat(t, mixed, E_ACUTE);
  tf_expect_code(add_record(t, t->agent, id, mixed_past, NULL, &err), &err, HD_INVALID_ARGUMENT,
                 "body has 20001 characters");
  const char *invalid[] = {"half \xC3\x28 a character",   "overlong \xC0\xAF slash",
                           "surrogate \xED\xA0\x80 half", "past U+10FFFF \xF4\x90\x80\x80",
                           "cut short \xF0\x9F\x98",      "stray \x80 continuation"};
  for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
    tf_expect_code(add_record(t, t->agent, id, invalid[i], NULL, &err), &err, HD_INVALID_ARGUMENT,
                   "body is not valid UTF-8");
  tf_expect_code(add_record(t, t->agent, id, "", NULL, &err), &err, HD_INVALID_ARGUMENT,
                 "body is required");
  tf_expect_unchanged(t, fp);
  tf_expect_ok(add_record(t, t->agent, id, mixed, NULL, &err), &err);
}

static void test_internal_records_may_be_added_to_a_closed_ticket(void **state) {
  tf *t = *state;
  hd_err err;
  const int64_t id = acme_ticket(t);
  tf_assign(t, id, "agent-1");
  tf_set_status(t, id, TF_STATUS(CLOSED));
  const int64_t v = tf_version(t, id);
  tf_expect_ok(
      add_record(t, t->agent, id, "after the fact: root cause was a full disk", NULL, &err), &err);
  assert_int_equal(tf_version(t, id), v + 1);
  assert_int_equal(tf_sqlf(t,
                           "SELECT COUNT(*) FROM tickets WHERE id = %" PRId64 " AND status = "
                           "'CLOSED'",
                           id),
                   1);
}

static void test_a_customer_never_sees_internal_records(void **state) {
  tf *t = *state;
  hd_err err;
  const int64_t id = acme_ticket(t);
  tf_assign(t, id, "agent-1");
  tf_expect_ok(add_comment(t, t->agent, id, 0, "We are looking into it.", NULL, &err), &err);
  tf_expect_ok(
      add_record(t, t->agent, id, "INTERNAL-ONLY: suspect the customer's plugin", NULL, &err),
      &err);
  Helpdesk__V1__ListCommentsResponse *l = NULL;
  tf_expect_ok(list_comments(t, t->customer, id, 0, NULL, &l, &err), &err);
  assert_int_equal(l->n_comments, 1);
  assert_null(strstr(l->comments[0]->body, "INTERNAL-ONLY"));
  tf_expect_code(list_records(t, t->customer, id, NULL, NULL, &err), &err, HD_PERMISSION_DENIED,
                 "internal records are for the ticket's owner");
  /* Nor through the event stream: the event carries the id only. */
  assert_int_equal(tf_sqlf(t, "SELECT COUNT(*) FROM outbox WHERE payload LIKE '%%INTERNAL-ONLY%%'"),
                   0);
}

/* A page of internal records ends early, with a token, once its text reaches 4 MiB: 120 records of
 * 20,000 four-byte characters (9.6 MB) would not fit one reply (8 MiB), yet every record is
 * listed, in order, over three pages. */
static void test_record_pages_end_early_when_their_text_would_not_fit_a_reply(void **state) {
  tf *t = *state;
  hd_err err;
  const int64_t id = acme_ticket(t);
  tf_assign(t, id, "agent-1");
  char *big = tf_repeat(t, GRINNING, 20000); /* 80,000 bytes */
  int64_t ids[120];
  for (int i = 0; i < 120; i++) {
    Helpdesk__V1__InternalRecord *r = NULL;
    tf_expect_ok(add_record(t, t->agent, id, big, &r, &err), &err);
    ids[i] = r->id;
  }
  size_t seen = 0, pages = 0;
  const char *token = "";
  do {
    /* the largest page size: only the text cap can end these pages early */
    Helpdesk__V1__PageRequest page = HELPDESK__V1__PAGE_REQUEST__INIT;
    page.page_size = 500;
    page.page_token = (char *)token;
    Helpdesk__V1__ListInternalRecordsRequest req =
        HELPDESK__V1__LIST_INTERNAL_RECORDS_REQUEST__INIT;
    req.ticket_id = id;
    req.page = &page;
    Helpdesk__V1__ListInternalRecordsResponse *l = NULL;
    tf_expect_ok(tf_call(t, "ListInternalRecords", t->agent, &req.base,
                         &helpdesk__v1__list_internal_records_response__descriptor, &l, &err),
                 &err);
    /* 52 x 80,000 bytes fit 4 MiB, 53 do not */
    assert_int_equal(l->n_records, pages < 2 ? 52 : 16);
    for (size_t i = 0; i < l->n_records; i++) assert_int_equal(l->records[i]->id, ids[seen + i]);
    seen += l->n_records;
    pages++;
    token = l->page->next_page_token;
  } while (token[0] && pages < 10);
  assert_int_equal(seen, 120);
  assert_int_equal(pages, 3);
}

/* Owner powers are for staff: a ticket assigned (by mistake) to its own customer's id gives that
 * customer no access to internal records, and a token without any role reaches nothing. */
static void test_a_customer_assigned_as_owner_still_never_sees_internal_records(void **state) {
  tf *t = *state;
  hd_err err;
  const int64_t id = acme_ticket(t);
  tf_assign(t, id, "cust-1");
  char *fp = tf_fingerprint(t);
  tf_expect_code(add_record(t, t->customer, id, "let me in", NULL, &err), &err,
                 HD_PERMISSION_DENIED, "internal records are for the ticket's owner");
  tf_expect_code(list_records(t, t->customer, id, NULL, NULL, &err), &err, HD_PERMISSION_DENIED,
                 "internal records are for the ticket's owner");
  char *nobody = hd_fixture_token(&t->f, "acme", "agent-1", 0);
  tf_expect_code(list_records(t, nobody, id, NULL, NULL, &err), &err, HD_PERMISSION_DENIED, "");
  tf_expect_code(add_comment(t, nobody, id, 0, "hi", NULL, &err), &err, HD_PERMISSION_DENIED, "");
  Helpdesk__V1__UrgeTicketRequest urge = HELPDESK__V1__URGE_TICKET_REQUEST__INIT;
  urge.ticket_id = id;
  tf_expect_code(
      tf_call(t, "UrgeTicket", nobody, &urge.base, &helpdesk__v1__urge__descriptor, NULL, &err),
      &err, HD_PERMISSION_DENIED, "");
  free(nobody);
  tf_expect_unchanged(t, fp);
}

/* ---- consents ---- */

static void test_consent_round_trip_with_its_history_entry_and_event(void **state) {
  tf *t = *state;
  hd_err err;
  const int64_t id = acme_ticket(t);
  const int64_t v0 = tf_version(t, id);
  const char *words = "Yes, you may reset my DNS zone to the defaults. — Jane";
  Helpdesk__V1__Consent *c = NULL;
  tf_expect_ok(
      record_consent(t, t->agent, id, v0, HELPDESK__V1__CONSENT_SCOPE__CONSENT_SCOPE_SERVICE_CHANGE,
                     words, &c, &err),
      &err);
  assert_int_equal(c->ticket_id, id);
  assert_int_equal(c->scope, HELPDESK__V1__CONSENT_SCOPE__CONSENT_SCOPE_SERVICE_CHANGE);
  assert_string_equal(c->customer_words, words);
  assert_string_equal(c->recorded_by, "agent-1");
  assert_int_equal(c->create_time_us, tf_now(t));
  assert_int_equal(tf_version(t, id), v0 + 1);
  /* Stored under the scope's short name. */
  assert_int_equal(tf_sqlf(t,
                           "SELECT COUNT(*) FROM consents WHERE id = %" PRId64 " AND scope = "
                           "'SERVICE_CHANGE'",
                           c->id),
                   1);
  assert_int_equal(tf_sqlf(t,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "action = 'CONSENT' AND field = 'consent' AND to_value = '%" PRId64 "' "
                           "AND actor_id = 'agent-1'",
                           id, c->id),
                   1);
  assert_int_equal(tf_sqlf(t,
                           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64 " AND "
                           "event_type = 'ticket.consent_recorded' AND JSON_VALUE(payload, "
                           "'$.consent_id') = %" PRId64 " AND JSON_VALUE(payload, '$.scope') = "
                           "'SERVICE_CHANGE'",
                           id, c->id),
                   1);
  Helpdesk__V1__Consent *c2 = NULL;
  tf_expect_ok(record_consent(t, t->supervisor, id, 0,
                              HELPDESK__V1__CONSENT_SCOPE__CONSENT_SCOPE_MAILBOX_TEST,
                              "You can send a test mail to jane@example.com.", &c2, &err),
               &err);
  /* The customer and staff read them back, oldest first. */
  const char *readers[] = {t->customer, t->lead};
  for (int i = 0; i < 2; i++) {
    Helpdesk__V1__ListConsentsResponse *l = NULL;
    tf_expect_ok(list_consents(t, readers[i], id, &l, &err), &err);
    assert_int_equal(l->n_consents, 2);
    assert_int_equal(l->consents[0]->id, c->id);
    assert_int_equal(l->consents[0]->ticket_id, id);
    assert_int_equal(l->consents[0]->scope,
                     HELPDESK__V1__CONSENT_SCOPE__CONSENT_SCOPE_SERVICE_CHANGE);
    assert_string_equal(l->consents[0]->customer_words, words);
    assert_string_equal(l->consents[0]->recorded_by, "agent-1");
    assert_int_equal(l->consents[0]->create_time_us, c->create_time_us);
    assert_int_equal(l->consents[1]->id, c2->id);
    assert_int_equal(l->consents[1]->scope,
                     HELPDESK__V1__CONSENT_SCOPE__CONSENT_SCOPE_MAILBOX_TEST);
    assert_string_equal(l->consents[1]->recorded_by, "sup-1");
    assert_string_equal(l->page->next_page_token, "");
  }
}

static void test_consent_is_recorded_by_staff_on_open_tickets_with_a_scope_and_words(void **state) {
  tf *t = *state;
  hd_err err;
  const int scope = HELPDESK__V1__CONSENT_SCOPE__CONSENT_SCOPE_BACKUP_RESTORE;
  const int64_t id = acme_ticket(t);
  char *at_limit = tf_repeat(t, E_ACUTE, 2000);
  tf_expect_ok(record_consent(t, t->agent2, id, 0, scope, at_limit, NULL, &err), &err);
  const int64_t v = tf_version(t, id);

  char *fp = tf_fingerprint(t);
  tf_expect_code(record_consent(t, t->customer, id, 0, scope, "yes", NULL, &err), &err,
                 HD_PERMISSION_DENIED, "this call needs the role agent");
  tf_expect_code(record_consent(t, t->other_tenant, id, 0, scope, "yes", NULL, &err), &err,
                 HD_NOT_FOUND, "not found");
  tf_expect_code(list_consents(t, t->customer2, id, NULL, &err), &err, HD_NOT_FOUND, "not found");
  tf_expect_code(list_consents(t, t->other_tenant, id, NULL, &err), &err, HD_NOT_FOUND,
                 "not found");
  tf_expect_code(record_consent(t, t->agent, id, 0, 0, "yes", NULL, &err), &err,
                 HD_INVALID_ARGUMENT, "scope is required");
  tf_expect_code(record_consent(t, t->agent, id, 0, 99, "yes", NULL, &err), &err,
                 HD_INVALID_ARGUMENT, "scope has no value 99");
  char *past = tf_repeat(t, E_ACUTE, 2001);
  tf_expect_code(record_consent(t, t->agent, id, 0, scope, past, NULL, &err), &err,
                 HD_INVALID_ARGUMENT, "customer_words has 2001 characters; at most 2000");
  tf_expect_code(record_consent(t, t->agent, id, 0, scope, "", NULL, &err), &err,
                 HD_INVALID_ARGUMENT, "customer_words is required");
  tf_expect_code(record_consent(t, t->agent, id, 0, scope, "\xFF", NULL, &err), &err,
                 HD_INVALID_ARGUMENT, "customer_words is not valid UTF-8");
  tf_expect_code(record_consent(t, t->agent, id, v - 1, scope, "yes", NULL, &err), &err, HD_ABORTED,
                 "was changed by someone else");
  tf_expect_unchanged(t, fp);

  const char *statuses[] = {"CLOSED", "CANCELLED"};
  const Helpdesk__V1__TicketStatus finished[] = {TF_STATUS(CLOSED), TF_STATUS(CANCELLED)};
  for (int i = 0; i < 2; i++) {
    const int64_t done = acme_ticket(t);
    tf_set_status(t, done, finished[i]);
    char want[128];
    snprintf(want, sizeof want, "ticket %" PRId64 " is %s: consents are recorded on open tickets",
             done, statuses[i]);
    fp = tf_fingerprint(t);
    tf_expect_code(record_consent(t, t->agent, done, 0, scope, "yes", NULL, &err), &err,
                   HD_FAILED_PRECONDITION, want);
    tf_expect_unchanged(t, fp);
  }
}

/* ---- another engineer's comment (the seed's FEEDBACK) ---- */

static void test_a_comment_by_another_engineer_moves_a_worked_ticket_to_feedback_for_the_owner(
    void **state) {
  tf *t = *state;
  hd_err err;
  /* PROCESSING: the owner acknowledged it; a team lead adds a comment the customer sees. */
  int64_t id = acme_ticket(t);
  tf_assign(t, id, "agent-1");
  must_reply(t, t->agent, id, INTENT(ACKNOWLEDGE));
  Helpdesk__V1__Comment *c = NULL;
  tf_expect_ok(add_comment(t, t->lead, id, 0, "I checked the DNS: it is fine.", &c, &err), &err);
  Helpdesk__V1__Ticket *now = tf_get(t, t->lead, id);
  assert_int_equal(now->status, TF_STATUS(FEEDBACK));
  assert_string_equal(now->owner_id, "agent-1");
  assert_int_equal(tf_sqlf(t,
                           "SELECT COUNT(*) FROM ticket_history WHERE ticket_id = %" PRId64 " AND "
                           "action = 'COMMENT' AND field = 'status' AND from_value = 'PROCESSING' "
                           "AND to_value = 'FEEDBACK' AND actor_id = 'lead-1'",
                           id),
                   1);
  assert_int_equal(tf_sqlf(t,
                           "SELECT COUNT(*) FROM outbox WHERE aggregate_id = %" PRId64 " AND "
                           "event_type = 'ticket.commented' AND JSON_VALUE(payload, "
                           "'$.changes.status.to') = 'FEEDBACK'",
                           id),
                   1);

  /* PENDING_FEEDBACK with a follow-up armed and one sent: FEEDBACK, the follow-ups stop. */
  id = acme_ticket(t);
  tf_assign(t, id, "agent-1");
  must_reply(t, t->agent, id, INTENT(REQUEST_INFO));
  now = must_reply(t, t->agent, id, INTENT(FOLLOW_UP));
  assert_int_equal(now->follow_up_count, 1);
  assert_true(now->due_time_us > 0);
  const char *others[] = {t->supervisor, t->agent2, t->admin, t->service};
  tf_expect_ok(add_comment(t, others[0], id, 0, "Adding what the backend team said.", NULL, &err),
               &err);
  now = tf_get(t, t->lead, id);
  assert_int_equal(now->status, TF_STATUS(FEEDBACK));
  assert_int_equal(now->follow_up_count, 0);
  assert_int_equal(now->due_time_us, 0);
  assert_int_equal(tf_sqlf(t,
                           "SELECT COUNT(*) FROM tickets WHERE id = %" PRId64 " AND timer_kind IS "
                           "NULL AND timer_due_us IS NULL",
                           id),
                   1);

  /* TO_BE_CONFIRMED: the auto-close stops too. Any staff member but the owner counts. */
  for (size_t i = 1; i < sizeof others / sizeof others[0]; i++) {
    id = acme_ticket(t);
    tf_assign(t, id, "agent-1");
    now = must_reply(t, t->agent, id, INTENT(FINAL_ANSWER));
    assert_int_equal(now->status, TF_STATUS(TO_BE_CONFIRMED));
    assert_true(now->due_time_us > 0);
    tf_expect_ok(add_comment(t, others[i], id, 0, "One more thing.", NULL, &err), &err);
    now = tf_get(t, t->lead, id);
    assert_int_equal(now->status, TF_STATUS(FEEDBACK));
    assert_int_equal(now->due_time_us, 0);
  }
}

static void test_the_owners_comment_and_internal_records_leave_the_status_and_timers(void **state) {
  tf *t = *state;
  hd_err err;
  const int64_t id = acme_ticket(t);
  tf_assign(t, id, "agent-1");
  const Helpdesk__V1__Ticket *was = must_reply(t, t->agent, id, INTENT(REQUEST_INFO));
  assert_int_equal(was->status, TF_STATUS(PENDING_FEEDBACK));
  /* The owner's own comment, and internal records by the owner and a tenant admin. */
  tf_expect_ok(add_comment(t, t->agent, id, 0, "Reminder: send the log.", NULL, &err), &err);
  tf_expect_ok(add_record(t, t->agent, id, "asked backend about quota", NULL, &err), &err);
  tf_expect_ok(add_record(t, t->admin, id, "VIP account", NULL, &err), &err);
  const Helpdesk__V1__Ticket *now = tf_get(t, t->lead, id);
  assert_int_equal(now->status, TF_STATUS(PENDING_FEEDBACK));
  assert_int_equal(now->due_time_us, was->due_time_us);
  assert_int_equal(now->version, was->version + 3);

  /* Not picked up yet (owned, PENDING_RESPONSE) or on hold (SUSPENDED): the status stays. */
  const int64_t fresh = acme_ticket(t);
  tf_assign(t, fresh, "agent-1");
  tf_expect_ok(add_comment(t, t->lead, fresh, 0, "We will get back to you.", NULL, &err), &err);
  assert_int_equal(tf_get(t, t->lead, fresh)->status, TF_STATUS(PENDING_RESPONSE));
  tf_set_status(t, fresh, TF_STATUS(SUSPENDED));
  tf_expect_ok(add_comment(t, t->lead, fresh, 0, "Still on hold.", NULL, &err), &err);
  now = tf_get(t, t->lead, fresh);
  assert_int_equal(now->status, TF_STATUS(SUSPENDED));
  assert_int_equal(now->suspended_from, TF_STATUS(PENDING_RESPONSE));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_comments_by_staff_list_oldest_first_and_each_bumps_the_version),
      cmocka_unit_test(test_comment_body_is_1_to_20000_characters_of_utf8),
      cmocka_unit_test(test_comment_on_a_closed_or_cancelled_ticket_is_refused_and_writes_nothing),
      cmocka_unit_test(test_comments_of_another_customers_or_tenants_ticket_are_not_found),
      cmocka_unit_test(test_comment_with_a_stale_expected_version_is_aborted_and_writes_nothing),
      cmocka_unit_test(test_comment_pages_follow_ids_and_a_token_is_bound_to_its_list),
      cmocka_unit_test(test_internal_records_are_written_and_read_by_the_owner_and_a_tenant_admin),
      cmocka_unit_test(
          test_internal_records_are_refused_to_everyone_but_the_owner_and_a_tenant_admin),
      cmocka_unit_test(test_internal_record_limit_is_20000_characters_not_bytes),
      cmocka_unit_test(test_internal_records_may_be_added_to_a_closed_ticket),
      cmocka_unit_test(test_a_customer_never_sees_internal_records),
      cmocka_unit_test(test_a_customer_assigned_as_owner_still_never_sees_internal_records),
      cmocka_unit_test(test_record_pages_end_early_when_their_text_would_not_fit_a_reply),
      cmocka_unit_test(test_consent_round_trip_with_its_history_entry_and_event),
      cmocka_unit_test(test_consent_is_recorded_by_staff_on_open_tickets_with_a_scope_and_words),
      cmocka_unit_test(
          test_a_comment_by_another_engineer_moves_a_worked_ticket_to_feedback_for_the_owner),
      cmocka_unit_test(test_the_owners_comment_and_internal_records_leave_the_status_and_timers),
  };
  /* Replies go out without an account verification here (test_tickets_verify.c checks it). */
  return cmocka_run_group_tests(tests, tf_setup_verification_optional, teardown);
}
