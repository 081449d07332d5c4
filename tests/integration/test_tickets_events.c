/* The ticket service's events leave through the outbox: a change writes its outbox row in the
 * change's transaction, the relay loop publishes it to the Redis stream helpdesk:events:tickets
 * once (and marks the row), and /metrics shows the calls and the outbox gauges. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "test_env.h"
#include "ticket_fixture.h"

#define STREAM "helpdesk:events:tickets"

/* How many entries of the stream carry tenant and event type (and, when given, the text
 * `needle` in their payload). */
static size_t stream_count(hd_kv *kv, const char *tenant, const char *type, const char *needle) {
  const char *argv[] = {"XREVRANGE", STREAM, "+", "-", "COUNT", "10000"};
  hd_kv_reply *r = NULL;
  hd_err err = {0};
  assert_int_equal(hd_kv_cmd(kv, 6, argv, NULL, true, &r, &err), 0);
  size_t found = 0;
  for (size_t i = 0; i < r->n; i++) {
    const hd_kv_reply *fields = r->elems[i]->elems[1];
    bool tenant_ok = false, type_ok = false, needle_ok = needle == NULL;
    for (size_t f = 0; f + 1 < fields->n; f += 2) {
      const char *k = fields->elems[f]->str, *v = fields->elems[f + 1]->str;
      if (strcmp(k, "tenant") == 0) tenant_ok = strcmp(v, tenant) == 0;
      if (strcmp(k, "type") == 0) type_ok = strcmp(v, type) == 0;
      if (strcmp(k, "payload") == 0 && needle) needle_ok = strstr(v, needle) != NULL;
    }
    if (tenant_ok && type_ok && needle_ok) found++;
  }
  hd_kv_reply_free(r);
  return found;
}

static double sample(const char *text, const char *series) {
  const size_t sl = strlen(series);
  for (const char *p = text; p && *p;) {
    if (strncmp(p, series, sl) == 0 && p[sl] == ' ') return strtod(p + sl + 1, NULL);
    p = strchr(p, '\n');
    if (p) p++;
  }
  return -1;
}

/* ---- fixture: a service, a tenant of this test's own (the stream is shared), Redis ---- */

typedef struct ev {
  tf t;
  char tenant[64];
  char *agent; /* agent-1 of tenant */
  hd_kv *kv;   /* the test's own connection, to read the stream */
} ev;

static int setup(void **state) {
  ev *e = calloc(1, sizeof *e);
  if (!e || tf_start(&e->t) != 0) {
    free(e);
    return -1;
  }
  hd_test_unique(e->tenant, sizeof e->tenant, "events");
  e->agent = hd_fixture_token(&e->t.f, e->tenant, "agent-1", HD_ROLE_AGENT);
  hd_kv_config kc;
  hd_test_kv_config(&kc);
  hd_err err = {0};
  *state = e;
  return e->agent && hd_kv_new(&kc, &e->kv, &err) == 0 ? 0 : -1;
}

static int teardown(void **state) {
  ev *e = *state;
  if (!e) return 0;
  hd_kv_close(e->kv);
  free(e->agent);
  tf_stop(&e->t);
  free(e);
  return 0;
}

/* ---- tests ---- */

static void test_a_created_ticket_is_published_once_to_the_event_stream(void **state) {
  ev *e = *state;
  tf *t = &e->t;
  const Helpdesk__V1__Ticket *tk = tf_create(t, e->agent, "cust-1", "Invoice charged twice");
  char needle[64];
  snprintf(needle, sizeof needle, "\"ticket_id\":%" PRId64, tk->id);
  /* the relay polls every 100 ms: wait at most 5 s */
  size_t n = 0;
  for (int i = 0; i < 100 && n == 0; i++) {
    n = stream_count(e->kv, e->tenant, "ticket.created", needle);
    if (n == 0) usleep(50 * 1000);
  }
  assert_int_equal(n, 1);
  /* the relay marks the row in the transaction that published it: the mark may commit a moment
   * after the entry shows in the stream */
  int64_t marked = 0;
  for (int i = 0; i < 100 && marked != 1; i++) {
    marked = tf_sql(t, "SELECT COUNT(*) FROM outbox WHERE published_at_us IS NOT NULL");
    if (marked != 1) usleep(20 * 1000);
  }
  assert_int_equal(marked, 1);
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM outbox WHERE published_at_us IS NULL"), 0);
  /* a second relay round does not publish it again */
  usleep(300 * 1000);
  assert_int_equal(stream_count(e->kv, e->tenant, "ticket.created", needle), 1);

  /* /metrics: the call is counted and the outbox has nothing pending */
  char *resp = NULL;
  const char *body = NULL;
  int status = 0;
  double pending = -1;
  for (int i = 0; i < 40; i++) {
    free(resp);
    resp = NULL;
    assert_int_equal(
        hd_test_http_get(hd_svc_metrics_port(t->f.svc), "/metrics", &status, &resp, &body), 0);
    pending = sample(body, "helpdesk_outbox_pending");
    if (pending == 0) break;
    usleep(100 * 1000);
  }
  assert_int_equal(status, 200);
  assert_true(pending == 0);
  assert_true(sample(body, "helpdesk_outbox_lag_seconds") == 0);
  assert_true(sample(body,
                     "helpdesk_rpc_requests_total{method=\"/helpdesk.v1.TicketService/"
                     "CreateTicket\",code=\"OK\"}") >= 1);
  free(resp);
}

/* A batch larger than one marking statement (16 ids): every event is published once and every
 * outbox row is marked. */
static void test_a_batch_of_events_is_published_and_marked_exactly_once(void **state) {
  ev *e = *state;
  tf *t = &e->t;
  for (int i = 0; i < 37; i++) tf_create(t, e->agent, "cust-1", "Invoice charged twice");
  int64_t unpublished = -1;
  for (int i = 0; i < 100 && unpublished != 0; i++) {
    unpublished = tf_sql(t, "SELECT COUNT(*) FROM outbox WHERE published_at_us IS NULL");
    if (unpublished) usleep(50 * 1000);
  }
  assert_int_equal(unpublished, 0);
  assert_int_equal(tf_sql(t, "SELECT COUNT(*) FROM outbox"), 37);
  assert_int_equal(stream_count(e->kv, e->tenant, "ticket.created", NULL), 37);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_a_created_ticket_is_published_once_to_the_event_stream,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_a_batch_of_events_is_published_and_marked_exactly_once,
                                      setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
