/* Health answers while every worker waits: with all HELPDESK_WORKERS handler workers blocked on a
 * row lock that the test's own MariaDB connection holds (SELECT ... FOR UPDATE), readiness and
 * liveness still answer at once, because health is served on its own thread from the last probe's
 * result. The test waits until MariaDB shows every worker in LOCK WAIT before it measures. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock/clock.h"
#include "grpc/health/v1/health.pb-c.h"
#include "ticket_fixture.h"

#define WORKERS   "4"
#define N_BLOCKED 4

typedef struct blocked_call {
  tf *t;
  int64_t ticket_id;
  hd_code code;
} blocked_call;

/* AssignTicket locks the ticket's row (FOR UPDATE): it waits for the test's lock. */
static void *assign_blocked(void *arg) {
  blocked_call *b = arg;
  hd_arena *a = hd_arena_new(1 << 20);
  Helpdesk__V1__AssignTicketRequest req = HELPDESK__V1__ASSIGN_TICKET_REQUEST__INIT;
  req.ticket_id = b->ticket_id;
  req.owner_id = "agent-1";
  ProtobufCMessage *resp = NULL;
  hd_err err = {0};
  b->code = hd_client_call(b->t->f.client, "/helpdesk.v1.TicketService/AssignTicket", b->t->lead,
                           60 * HD_US_PER_S, &req.base, &helpdesk__v1__ticket__descriptor, a, &resp,
                           &err) == 0
                ? HD_OK
                : err.code;
  hd_arena_free(a);
  return NULL;
}

/* One Check of service; returns its latency in microseconds and *status. */
static int64_t timed_check(tf *t, const char *service, int *status) {
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  req.service = (char *)service;
  hd_arena *a = hd_arena_new(1 << 16);
  ProtobufCMessage *resp = NULL;
  hd_err err = {0};
  int64_t t0 = hd_monotonic_us();
  int rc =
      hd_client_call(t->f.client, "/grpc.health.v1.Health/Check", NULL, 5 * HD_US_PER_S, &req.base,
                     &grpc__health__v1__health_check_response__descriptor, a, &resp, &err);
  int64_t took = hd_monotonic_us() - t0;
  *status = rc == 0 ? (int)((Grpc__Health__V1__HealthCheckResponse *)resp)->status : -(int)err.code;
  hd_arena_free(a);
  return took;
}

static void test_health_answers_within_a_second_while_every_worker_waits_on_a_row_lock(
    void **state) {
  (void)state;
  setenv("HELPDESK_WORKERS", WORKERS, 1);
  tf t;
  assert_int_equal(tf_start(&t), 0);
  Helpdesk__V1__Ticket *tk = tf_create(&t, t.customer, NULL, "Locked while health is asked");
  hd_db *lock = tf_db_open(&t);
  char sql[160];
  hd_err err = {0};
  snprintf(sql, sizeof sql,
           "START TRANSACTION;\nSELECT id FROM tickets WHERE id = %lld FOR UPDATE;\n",
           (long long)tk->id);
  assert_int_equal(hd_db_exec_script(lock, sql, &err), 0);

  pthread_t th[N_BLOCKED];
  blocked_call calls[N_BLOCKED];
  for (int i = 0; i < N_BLOCKED; i++) {
    calls[i] = (blocked_call){.t = &t, .ticket_id = tk->id, .code = HD_UNKNOWN};
    assert_int_equal(pthread_create(&th[i], NULL, assign_blocked, &calls[i]), 0);
  }
  /* Every worker is in a handler waiting for the lock (MariaDB says so), not merely busy. */
  int64_t waiting = 0;
  for (int i = 0; i < 200 && waiting < N_BLOCKED; i++) {
    usleep(50000);
    waiting = tf_sql(&t,
                     "SELECT COUNT(*) FROM information_schema.innodb_trx "
                     "WHERE trx_state = 'LOCK WAIT'");
  }
  assert_int_equal(waiting, N_BLOCKED);

  int64_t worst = 0, sum = 0;
  const int rounds = 10;
  for (int i = 0; i < rounds; i++) {
    int st = 0;
    int64_t took = timed_check(&t, "", &st);
    assert_int_equal(st, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    int64_t took_live = timed_check(&t, HD_HEALTH_LIVENESS, &st);
    assert_int_equal(st, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    if (took_live > took) took = took_live;
    if (took > worst) worst = took;
    sum += took;
  }
  /* still blocked while we measured */
  assert_int_equal(tf_sql(&t,
                          "SELECT COUNT(*) FROM information_schema.innodb_trx "
                          "WHERE trx_state = 'LOCK WAIT'"),
                   N_BLOCKED);
  fprintf(stderr,
          "health with %d of %s workers blocked on a row lock: worst %.3f ms, mean %.3f ms\n",
          N_BLOCKED, WORKERS, (double)worst / 1000.0, (double)sum / rounds / 1000.0);
  assert_true(worst < HD_US_PER_S);

  assert_int_equal(hd_db_exec_script(lock, "ROLLBACK;\n", &err), 0);
  for (int i = 0; i < N_BLOCKED; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(calls[i].code, HD_OK); /* the blocked calls were served once the lock went */
  }
  hd_db_close(lock);
  tf_stop(&t);
  unsetenv("HELPDESK_WORKERS");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_health_answers_within_a_second_while_every_worker_waits_on_a_row_lock),
  };
  return cmocka_run_group_tests_name("health_workers_blocked", tests, NULL, NULL);
}
