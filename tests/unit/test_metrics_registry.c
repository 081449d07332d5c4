/* common/metrics: the registry's counters, histogram buckets, gauges and their limits, the text
 * format (HELP/TYPE, escaping, grouping), thread safety, and the HTTP endpoint's answers. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "http_client.h"
#include "metrics/metrics.h"

static char *render(hd_metrics *m) {
  char *out = NULL;
  size_t len = 0;
  hd_err err = {0};
  assert_int_equal(hd_metrics_render(m, &out, &len, &err), 0);
  assert_int_equal(strlen(out), len);
  return out;
}

/* The value of the sample line that starts with `series ` in text, or -1 when there is none. */
static double sample(const char *text, const char *series) {
  size_t sl = strlen(series);
  for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    if (strncmp(p, series, sl) == 0 && p[sl] == ' ') return strtod(p + sl + 1, NULL);
  }
  return -1;
}

static size_t count_of(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

static hd_metrics *new_registry(void) {
  hd_metrics *m = NULL;
  hd_err err = {0};
  assert_int_equal(hd_metrics_new(&m, &err), 0);
  return m;
}

static void test_rpc_calls_are_counted_by_method_and_code(void **state) {
  (void)state;
  hd_metrics *m = new_registry();
  hd_metrics_observe_rpc(m, "/a.S/One", HD_OK, 10);
  hd_metrics_observe_rpc(m, "/a.S/One", HD_OK, 10);
  hd_metrics_observe_rpc(m, "/a.S/One", HD_NOT_FOUND, 10);
  hd_metrics_observe_rpc(m, "/a.S/Two", HD_UNAUTHENTICATED, 10);
  hd_metrics_observe_rpc(m, "/a.S/Two", (hd_code)99, 10); /* not a code: counted as UNKNOWN */
  char *t = render(m);
  assert_non_null(strstr(t, "# HELP helpdesk_rpc_requests_total "));
  assert_non_null(strstr(t, "# TYPE helpdesk_rpc_requests_total counter\n"));
  assert_true(sample(t, "helpdesk_rpc_requests_total{method=\"/a.S/One\",code=\"OK\"}") == 2);
  assert_true(sample(t, "helpdesk_rpc_requests_total{method=\"/a.S/One\",code=\"NOT_FOUND\"}") ==
              1);
  assert_true(
      sample(t, "helpdesk_rpc_requests_total{method=\"/a.S/Two\",code=\"UNAUTHENTICATED\"}") == 1);
  assert_true(sample(t, "helpdesk_rpc_requests_total{method=\"/a.S/Two\",code=\"UNKNOWN\"}") == 1);
  assert_true(sample(t, "helpdesk_rpc_requests_total{method=\"/a.S/Two\",code=\"OK\"}") == -1);
  assert_true(sample(t, "helpdesk_db_errors_total") == 0);
  assert_true(sample(t, "helpdesk_redis_errors_total") == 0);
  free(t);
  hd_metrics_free(m);
}

static void test_duration_lands_in_the_first_bucket_it_does_not_exceed(void **state) {
  (void)state;
  hd_metrics *m = new_registry();
  hd_metrics_observe_rpc(m, "/x", HD_OK, 500);     /* on the first bound: le 0.0005 */
  hd_metrics_observe_rpc(m, "/x", HD_OK, 501);     /* one past it: le 0.001 */
  hd_metrics_observe_rpc(m, "/x", HD_OK, 5000000); /* on the last bound: le 5 */
  hd_metrics_observe_rpc(m, "/x", HD_OK, 5000001); /* one past it: +Inf only */
  hd_metrics_observe_rpc(m, "/x", HD_OK, -7);      /* a clock step back counts as 0 */
  char *t = render(m);
  assert_non_null(strstr(t, "# TYPE helpdesk_rpc_duration_seconds histogram\n"));
  assert_true(sample(t, "helpdesk_rpc_duration_seconds_bucket{method=\"/x\",le=\"0.0005\"}") == 2);
  assert_true(sample(t, "helpdesk_rpc_duration_seconds_bucket{method=\"/x\",le=\"0.001\"}") == 3);
  assert_true(sample(t, "helpdesk_rpc_duration_seconds_bucket{method=\"/x\",le=\"2.5\"}") == 3);
  assert_true(sample(t, "helpdesk_rpc_duration_seconds_bucket{method=\"/x\",le=\"5\"}") == 4);
  assert_true(sample(t, "helpdesk_rpc_duration_seconds_bucket{method=\"/x\",le=\"+Inf\"}") == 5);
  assert_true(sample(t, "helpdesk_rpc_duration_seconds_count{method=\"/x\"}") == 5);
  /* 500 + 501 + 5000000 + 5000001 µs, exact */
  assert_non_null(strstr(t, "helpdesk_rpc_duration_seconds_sum{method=\"/x\"} 10.001002\n"));
  assert_int_equal(count_of(t, "helpdesk_rpc_duration_seconds_bucket{method=\"/x\""),
                   HD_METRICS_N_BUCKETS + 1);
  free(t);
  hd_metrics_free(m);
}

static void test_method_series_past_the_cap_fold_into_other(void **state) {
  (void)state;
  hd_metrics *m = new_registry();
  char name[32];
  for (int i = 0; i < HD_METRICS_MAX_METHODS; i++) {
    snprintf(name, sizeof name, "/m/%d", i);
    hd_metrics_observe_rpc(m, name, HD_OK, 1);
  }
  hd_metrics_observe_rpc(m, "/m/one-past", HD_OK, 1);
  hd_metrics_observe_rpc(m, "/m/two-past", HD_OK, 1);
  hd_metrics_observe_rpc(m, "/m/0", HD_OK, 1); /* known ones still count as themselves */
  char *t = render(m);
  snprintf(name, sizeof name, "/m/%d", HD_METRICS_MAX_METHODS - 1);
  char series[96];
  snprintf(series, sizeof series, "helpdesk_rpc_requests_total{method=\"%s\",code=\"OK\"}", name);
  assert_true(sample(t, series) == 1);
  assert_true(sample(t, "helpdesk_rpc_requests_total{method=\"/m/0\",code=\"OK\"}") == 2);
  assert_null(strstr(t, "one-past"));
  assert_true(sample(t, "helpdesk_rpc_requests_total{method=\"_other\",code=\"OK\"}") == 2);
  free(t);
  hd_metrics_free(m);
}

static void test_method_label_is_cut_at_its_cap_and_made_printable(void **state) {
  (void)state;
  hd_metrics *m = new_registry();
  char at[HD_METRICS_MAX_METHOD + 1], past[HD_METRICS_MAX_METHOD + 2];
  memset(at, 'a', HD_METRICS_MAX_METHOD);
  at[HD_METRICS_MAX_METHOD] = '\0';
  memset(past, 'a', HD_METRICS_MAX_METHOD + 1);
  past[HD_METRICS_MAX_METHOD + 1] = '\0';
  hd_metrics_observe_rpc(m, at, HD_OK, 1);
  hd_metrics_observe_rpc(m, past, HD_OK, 1); /* cut to the same value */
  hd_metrics_observe_rpc(m, "/bad\"\n\x01\xff", HD_OK, 1);
  char *t = render(m);
  char series[HD_METRICS_MAX_METHOD + 64];
  snprintf(series, sizeof series, "helpdesk_rpc_requests_total{method=\"%s\",code=\"OK\"}", at);
  assert_true(sample(t, series) == 2);
  /* the quote stays, escaped; control and non-ASCII bytes become '_' */
  assert_true(sample(t, "helpdesk_rpc_requests_total{method=\"/bad\\\"___\",code=\"OK\"}") == 1);
  free(t);
  hd_metrics_free(m);
}

static void test_error_counters_count_each_failure(void **state) {
  (void)state;
  hd_metrics *m = new_registry();
  hd_metrics_db_error(m);
  hd_metrics_db_error(m);
  hd_metrics_redis_error(m);
  char *t = render(m);
  assert_non_null(strstr(t, "# TYPE helpdesk_db_errors_total counter\n"));
  assert_true(sample(t, "helpdesk_db_errors_total") == 2);
  assert_true(sample(t, "helpdesk_redis_errors_total") == 1);
  free(t);
  hd_metrics_free(m);
}

static void test_gauge_label_values_are_escaped(void **state) {
  (void)state;
  hd_metrics *m = new_registry();
  hd_err err = {0};
  const char *labels[] = {"queue", "a\"b\\c\nd", NULL};
  assert_int_equal(hd_metrics_gauge_set(m, HD_METRIC_QUEUE_DEPTH, labels, 3, &err), 0);
  char *t = render(m);
  assert_non_null(strstr(t, "helpdesk_queue_depth{queue=\"a\\\"b\\\\c\\nd\"} 3\n"));
  assert_non_null(strstr(t, "# HELP helpdesk_queue_depth Tickets waiting in a queue.\n"));
  assert_non_null(strstr(t, "# TYPE helpdesk_queue_depth gauge\n"));
  free(t);
  hd_metrics_free(m);
}

static void test_gauge_set_again_replaces_and_label_order_is_one_series(void **state) {
  (void)state;
  hd_metrics *m = new_registry();
  hd_err err = {0};
  const char *ab[] = {"a", "1", "b", "2", NULL};
  const char *ba[] = {"b", "2", "a", "1", NULL};
  assert_int_equal(hd_metrics_gauge_set(m, "g", ab, 1, &err), 0);
  assert_int_equal(hd_metrics_gauge_set(m, "g", ba, 7, &err), 0);
  assert_int_equal(hd_metrics_gauge_set(m, HD_METRIC_OUTBOX_PENDING, NULL, 4, &err), 0);
  assert_int_equal(hd_metrics_gauge_set(m, HD_METRIC_OUTBOX_PENDING, NULL, 5, &err), 0);
  char *t = render(m);
  assert_int_equal(count_of(t, "\ng{"), 1);
  assert_true(sample(t, "g{a=\"1\",b=\"2\"}") == 7);
  assert_true(sample(t, "helpdesk_outbox_pending") == 5);
  assert_non_null(strstr(t, "# HELP g A gauge the service sets.\n"));
  free(t);
  hd_metrics_free(m);
}

static void test_gauge_series_of_one_family_render_together_under_one_help(void **state) {
  (void)state;
  hd_metrics *m = new_registry();
  hd_err err = {0};
  const char *qb[] = {"queue", "b", NULL}, *qa[] = {"queue", "a", NULL};
  assert_int_equal(hd_metrics_gauge_set(m, HD_METRIC_QUEUE_DEPTH, qb, 2, &err), 0);
  assert_int_equal(hd_metrics_gauge_set(m, HD_METRIC_OUTBOX_LAG_SECONDS, NULL, 0.25, &err), 0);
  assert_int_equal(hd_metrics_gauge_set(m, HD_METRIC_QUEUE_DEPTH, qa, 1, &err), 0);
  char *t = render(m);
  assert_int_equal(count_of(t, "# HELP helpdesk_queue_depth "), 1);
  assert_int_equal(count_of(t, "# TYPE helpdesk_queue_depth "), 1);
  const char *a = strstr(t, "helpdesk_queue_depth{queue=\"a\"} 1\n");
  const char *b = strstr(t, "helpdesk_queue_depth{queue=\"b\"} 2\n");
  assert_non_null(a);
  assert_non_null(b);
  assert_true(b == strchr(a, '\n') + 1); /* adjacent, sorted */
  assert_non_null(strstr(t, "helpdesk_outbox_lag_seconds 0.25\n"));
  free(t);
  hd_metrics_free(m);
}

static void test_gauge_values_round_trip_and_special_values_are_spelled_out(void **state) {
  (void)state;
  hd_metrics *m = new_registry();
  hd_err err = {0};
  assert_int_equal(hd_metrics_gauge_set(m, "g_tenth", NULL, 0.1, &err), 0);
  assert_int_equal(hd_metrics_gauge_set(m, "g_third", NULL, 1.0 / 3.0, &err), 0);
  assert_int_equal(hd_metrics_gauge_set(m, "g_nan", NULL, NAN, &err), 0);
  assert_int_equal(hd_metrics_gauge_set(m, "g_pinf", NULL, INFINITY, &err), 0);
  assert_int_equal(hd_metrics_gauge_set(m, "g_ninf", NULL, -INFINITY, &err), 0);
  assert_int_equal(hd_metrics_gauge_set(m, "g_big", NULL, 1e300, &err), 0);
  char *t = render(m);
  assert_non_null(strstr(t, "\ng_tenth 0.1\n"));
  assert_true(sample(t, "g_third") == 1.0 / 3.0);
  assert_non_null(strstr(t, "\ng_nan NaN\n"));
  assert_non_null(strstr(t, "\ng_pinf +Inf\n"));
  assert_non_null(strstr(t, "\ng_ninf -Inf\n"));
  assert_non_null(strstr(t, "\ng_big 1e+300\n"));
  free(t);
  hd_metrics_free(m);
}

static void test_gauge_names_and_labels_are_checked_at_their_limits(void **state) {
  (void)state;
  hd_metrics *m = new_registry();
  hd_err err = {0};
  char name[HD_METRICS_MAX_NAME + 2];
  memset(name, 'n', sizeof name);
  name[HD_METRICS_MAX_NAME] = '\0';
  assert_int_equal(hd_metrics_gauge_set(m, name, NULL, 1, &err), 0);
  name[HD_METRICS_MAX_NAME] = 'n';
  name[HD_METRICS_MAX_NAME + 1] = '\0';
  assert_int_equal(hd_metrics_gauge_set(m, name, NULL, 1, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);

  const char *bad_names[] = {"",
                             "1abc",
                             "a-b",
                             "a b",
                             "helpdesk_rpc_requests_total",
                             "helpdesk_rpc_duration_seconds_bucket",
                             "helpdesk_db_errors_total"};
  for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
    hd_err_clear(&err);
    assert_int_equal(hd_metrics_gauge_set(m, bad_names[i], NULL, 1, &err), -1);
    assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  }
  assert_int_equal(hd_metrics_gauge_set(m, "ns:sub_1", NULL, 1, &err),
                   0); /* colons are allowed in names */

  const char *four[] = {"a", "1", "b", "2", "c", "3", "d", "4", NULL};
  const char *five[] = {"a", "1", "b", "2", "c", "3", "d", "4", "e", "5", NULL};
  assert_int_equal(hd_metrics_gauge_set(m, "g", four, 1, &err), 0);
  assert_int_equal(hd_metrics_gauge_set(m, "g", five, 1, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);

  char value[HD_METRICS_MAX_LABEL_VALUE + 2];
  memset(value, 'v', sizeof value);
  value[HD_METRICS_MAX_LABEL_VALUE] = '\0';
  const char *at[] = {"q", value, NULL};
  assert_int_equal(hd_metrics_gauge_set(m, "g", at, 1, &err), 0);
  value[HD_METRICS_MAX_LABEL_VALUE] = 'v';
  value[HD_METRICS_MAX_LABEL_VALUE + 1] = '\0';
  assert_int_equal(hd_metrics_gauge_set(m, "g", at, 1, &err), -1);
  assert_int_equal(err.code, HD_INVALID_ARGUMENT);

  const char *dup[] = {"q", "1", "q", "2", NULL};
  const char *reserved[] = {"__name__", "x", NULL};
  const char *colon[] = {"a:b", "x", NULL};
  const char *no_value[] = {"q", NULL};
  const char *not_utf8[] = {"q", "\xc3\x28", NULL};
  const char *const *bad_labels[] = {dup, reserved, colon, no_value, not_utf8};
  for (size_t i = 0; i < sizeof bad_labels / sizeof bad_labels[0]; i++) {
    hd_err_clear(&err);
    assert_int_equal(hd_metrics_gauge_set(m, "g", bad_labels[i], 1, &err), -1);
    assert_int_equal(err.code, HD_INVALID_ARGUMENT);
  }
  const char *utf8[] = {"q", "caf\xc3\xa9", NULL};
  assert_int_equal(hd_metrics_gauge_set(m, "g", utf8, 1, &err), 0);
  hd_metrics_free(m);
}

static void test_gauge_series_up_to_the_cap_are_kept_and_one_past_is_refused(void **state) {
  (void)state;
  hd_metrics *m = new_registry();
  hd_err err = {0};
  char v[16];
  const char *labels[] = {"q", v, NULL};
  for (int i = 0; i < HD_METRICS_MAX_GAUGES; i++) {
    snprintf(v, sizeof v, "%d", i);
    assert_int_equal(hd_metrics_gauge_set(m, "g", labels, i, &err), 0);
  }
  snprintf(v, sizeof v, "one-past");
  assert_int_equal(hd_metrics_gauge_set(m, "g", labels, 1, &err), -1);
  assert_int_equal(err.code, HD_RESOURCE_EXHAUSTED);
  snprintf(v, sizeof v, "7"); /* existing series can still be updated */
  assert_int_equal(hd_metrics_gauge_set(m, "g", labels, 70, &err), 0);
  char *t = render(m);
  assert_true(sample(t, "g{q=\"7\"}") == 70);
  assert_int_equal(count_of(t, "\ng{"), HD_METRICS_MAX_GAUGES);
  free(t);
  hd_metrics_free(m);
}

static void test_gauge_help_is_described_and_escaped(void **state) {
  (void)state;
  hd_metrics *m = new_registry();
  hd_err err = {0};
  assert_int_equal(hd_metrics_gauge_describe(m, "g", "line one\nback\\slash \"quoted\"", &err), 0);
  assert_int_equal(hd_metrics_gauge_describe(m, "g", "replaced \\ once\nmore", &err), 0);
  assert_int_equal(hd_metrics_gauge_describe(m, "helpdesk_redis_errors_total", "no", &err), -1);
  assert_int_equal(hd_metrics_gauge_set(m, "g", NULL, 1, &err), 0);
  char *t = render(m);
  assert_non_null(strstr(t, "# HELP g replaced \\\\ once\\nmore\n"));
  free(t);
  hd_metrics_free(m);
}

static void test_null_registry_is_a_no_op(void **state) {
  (void)state;
  hd_err err = {0};
  hd_metrics_observe_rpc(NULL, "/x", HD_OK, 1);
  hd_metrics_db_error(NULL);
  hd_metrics_redis_error(NULL);
  assert_int_equal(hd_metrics_gauge_set(NULL, "g", NULL, 1, &err), 0);
  assert_int_equal(hd_metrics_gauge_describe(NULL, "g", "h", &err), 0);
  hd_metrics_free(NULL);
  hd_metrics_http_stop(NULL);
}

typedef struct hammer_arg {
  hd_metrics *m;
  int id;
} hammer_arg;

#define HAMMER_THREADS 4
#define HAMMER_CALLS   20000

static void *hammer(void *p) {
  hammer_arg *a = p;
  char name[16];
  snprintf(name, sizeof name, "/t/%d", a->id % 2);
  for (int i = 0; i < HAMMER_CALLS; i++) {
    hd_metrics_observe_rpc(a->m, name, HD_OK, i % 3000);
    if (i % 100 == 0) hd_metrics_db_error(a->m);
  }
  return NULL;
}

static void test_concurrent_observations_are_all_counted(void **state) {
  (void)state;
  hd_metrics *m = new_registry();
  pthread_t th[HAMMER_THREADS];
  hammer_arg args[HAMMER_THREADS];
  for (int i = 0; i < HAMMER_THREADS; i++) {
    args[i] = (hammer_arg){.m = m, .id = i};
    assert_int_equal(pthread_create(&th[i], NULL, hammer, &args[i]), 0);
  }
  for (int k = 0; k < 20; k++) free(render(m)); /* rendering while they write */
  for (int i = 0; i < HAMMER_THREADS; i++) pthread_join(th[i], NULL);
  char *t = render(m);
  double per_method = (double)HAMMER_CALLS * HAMMER_THREADS / 2;
  assert_true(sample(t, "helpdesk_rpc_requests_total{method=\"/t/0\",code=\"OK\"}") == per_method);
  assert_true(sample(t, "helpdesk_rpc_duration_seconds_count{method=\"/t/1\"}") == per_method);
  assert_true(sample(t, "helpdesk_db_errors_total") == HAMMER_THREADS * HAMMER_CALLS / 100);
  free(t);
  hd_metrics_free(m);
}

/* ---- the HTTP endpoint ---- */

static hd_metrics_http *start_http(hd_metrics *m) {
  hd_metrics_http *h = NULL;
  hd_err err = {0};
  assert_int_equal(hd_metrics_http_start(m, "127.0.0.1:0", &h, &err), 0);
  assert_true(hd_metrics_http_port(h) > 0);
  return h;
}

static void test_http_get_metrics_answers_200_in_text_format_and_closes(void **state) {
  (void)state;
  hd_metrics *m = new_registry();
  hd_metrics_observe_rpc(m, "/a.S/One", HD_OK, 5);
  hd_metrics_http *h = start_http(m);
  int status = 0;
  char *resp = NULL;
  const char *body = NULL;
  assert_int_equal(hd_test_http_get(hd_metrics_http_port(h), "/metrics", &status, &resp, &body), 0);
  assert_int_equal(status, 200);
  assert_non_null(strstr(resp, "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"));
  assert_non_null(strstr(resp, "\r\nConnection: close\r\n"));
  char cl[64];
  snprintf(cl, sizeof cl, "\r\nContent-Length: %zu\r\n", strlen(body));
  assert_non_null(strstr(resp, cl));
  assert_true(sample(body, "helpdesk_rpc_requests_total{method=\"/a.S/One\",code=\"OK\"}") == 1);
  free(resp);
  /* a query string is ignored */
  assert_int_equal(hd_test_http_get(hd_metrics_http_port(h), "/metrics?x=1", &status, &resp, &body),
                   0);
  assert_int_equal(status, 200);
  free(resp);
  hd_metrics_http_stop(h);
  hd_metrics_free(m);
}

static void test_http_other_paths_are_404_other_methods_405_garbage_400(void **state) {
  (void)state;
  hd_metrics *m = new_registry();
  hd_metrics_http *h = start_http(m);
  int port = hd_metrics_http_port(h), status = 0;
  char *resp = NULL;
  const char *paths[] = {"/", "/metricsx", "/metric", "/metrics/", "/healthz"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
    assert_int_equal(hd_test_http_get(port, paths[i], &status, &resp, NULL), 0);
    assert_int_equal(status, 404);
    free(resp);
  }
  size_t len = 0;
  const char post[] = "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
  assert_int_equal(hd_test_http_raw(port, post, sizeof post - 1, &resp, &len), 0);
  assert_int_equal(strncmp(resp, "HTTP/1.1 405 ", 13), 0);
  free(resp);
  const char *garbage[] = {"hello\r\n\r\n", "GET /metrics\r\n\r\n", "GET /metrics SPDY/3\r\n\r\n"};
  for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
    assert_int_equal(hd_test_http_raw(port, garbage[i], strlen(garbage[i]), &resp, &len), 0);
    assert_int_equal(strncmp(resp, "HTTP/1.1 400 ", 13), 0);
    free(resp);
  }
  const char nul[] = "GET /met\0rics HTTP/1.1\r\n\r\n";
  assert_int_equal(hd_test_http_raw(port, nul, sizeof nul - 1, &resp, &len), 0);
  assert_int_equal(strncmp(resp, "HTTP/1.1 400 ", 13), 0);
  free(resp);
  hd_metrics_http_stop(h);
  hd_metrics_free(m);
}

/* A request head of n bytes in all: GET /metrics with one padding header. */
static char *request_of(size_t n) {
  const char *head = "GET /metrics HTTP/1.1\r\nX-Pad: ";
  const char *tail = "\r\n\r\n";
  char *r = malloc(n + 1);
  assert_non_null(r);
  size_t hl = strlen(head), tl = strlen(tail);
  memcpy(r, head, hl);
  memset(r + hl, 'p', n - hl - tl);
  memcpy(r + n - tl, tail, tl);
  r[n] = '\0';
  return r;
}

static void test_http_request_head_up_to_8_kib_is_served_and_one_byte_more_is_431(void **state) {
  (void)state;
  hd_metrics *m = new_registry();
  hd_metrics_http *h = start_http(m);
  int port = hd_metrics_http_port(h);
  char *resp = NULL;
  size_t len = 0;
  char *at = request_of(8192), *past = request_of(8193);
  assert_int_equal(hd_test_http_raw(port, at, 8192, &resp, &len), 0);
  assert_int_equal(strncmp(resp, "HTTP/1.1 200 ", 13), 0);
  free(resp);
  assert_int_equal(hd_test_http_raw(port, past, 8193, &resp, &len), 0);
  assert_int_equal(strncmp(resp, "HTTP/1.1 431 ", 13), 0);
  free(resp);
  free(at);
  free(past);
  hd_metrics_http_stop(h);
  hd_metrics_free(m);
}

static void test_http_stop_returns_promptly_with_an_idle_client_connected(void **state) {
  (void)state;
  hd_metrics *m = new_registry();
  hd_metrics_http *h = start_http(m);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)hd_metrics_http_port(h))};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
  assert_int_equal(send(fd, "GET /met", 8, 0), 8); /* and then nothing */
  usleep(50000);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  hd_metrics_http_stop(h);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  assert_true(took < 1.0);
  close(fd);
  hd_metrics_free(m);
}

static void test_http_address_in_use_or_malformed_fails_with_a_reason(void **state) {
  (void)state;
  hd_metrics *m = new_registry();
  hd_metrics_http *h = start_http(m), *h2 = NULL;
  hd_err err = {0};
  char addr[32];
  snprintf(addr, sizeof addr, "127.0.0.1:%d", hd_metrics_http_port(h));
  assert_int_equal(hd_metrics_http_start(m, addr, &h2, &err), -1);
  assert_int_equal(err.code, HD_UNAVAILABLE);
  assert_non_null(strstr(err.msg, addr));
  const char *bad[] = {"nocolon", "127.0.0.1:", "127.0.0.1:http", "127.0.0.1:70000"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    hd_err_clear(&err);
    assert_int_equal(hd_metrics_http_start(m, bad[i], &h2, &err), -1);
    assert_int_not_equal(err.code, HD_OK);
  }
  hd_metrics_http_stop(h);
  /* IPv6 literal in brackets */
  hd_err_clear(&err);
  if (hd_metrics_http_start(m, "[::1]:0", &h2, &err) == 0)
    hd_metrics_http_stop(h2);
  else
    assert_int_equal(err.code, HD_UNAVAILABLE); /* a host without IPv6 */
  hd_metrics_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rpc_calls_are_counted_by_method_and_code),
      cmocka_unit_test(test_duration_lands_in_the_first_bucket_it_does_not_exceed),
      cmocka_unit_test(test_method_series_past_the_cap_fold_into_other),
      cmocka_unit_test(test_method_label_is_cut_at_its_cap_and_made_printable),
      cmocka_unit_test(test_error_counters_count_each_failure),
      cmocka_unit_test(test_gauge_label_values_are_escaped),
      cmocka_unit_test(test_gauge_set_again_replaces_and_label_order_is_one_series),
      cmocka_unit_test(test_gauge_series_of_one_family_render_together_under_one_help),
      cmocka_unit_test(test_gauge_values_round_trip_and_special_values_are_spelled_out),
      cmocka_unit_test(test_gauge_names_and_labels_are_checked_at_their_limits),
      cmocka_unit_test(test_gauge_series_up_to_the_cap_are_kept_and_one_past_is_refused),
      cmocka_unit_test(test_gauge_help_is_described_and_escaped),
      cmocka_unit_test(test_null_registry_is_a_no_op),
      cmocka_unit_test(test_concurrent_observations_are_all_counted),
      cmocka_unit_test(test_http_get_metrics_answers_200_in_text_format_and_closes),
      cmocka_unit_test(test_http_other_paths_are_404_other_methods_405_garbage_400),
      cmocka_unit_test(test_http_request_head_up_to_8_kib_is_served_and_one_byte_more_is_431),
      cmocka_unit_test(test_http_stop_returns_promptly_with_an_idle_client_connected),
      cmocka_unit_test(test_http_address_in_use_or_malformed_fails_with_a_reason),
  };
  return cmocka_run_group_tests_name("metrics_registry", tests, NULL, NULL);
}
