/* CreateTicket's group commit (see ticket_store_batch.h). */
#include "ticket_store_batch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/log.h"

#define BATCH_MAX TICKET_STORE_MANY_MAX

/* A create waiting for its turn or its batch. */
typedef struct batch__job {
  ticket_batch_create *c;
  struct batch__job *next;
  bool done; /* its batch ended (c->id says how) */
} batch__job;

struct ticket_batch {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  batch__job *head, *tail; /* waiting, oldest first */
  unsigned running;        /* turns in use: creates alone, and batches */
  hd_metrics *m;
  atomic_int ids_ok; /* -1 unknown, 0 a multi-row INSERT's ids may not be consecutive, 1 they are */
};

int ticket_batch_new(hd_metrics *m, ticket_batch **out, hd_err *err) {
  ticket_batch *b = calloc(1, sizeof *b);
  if (!b) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  pthread_mutex_init(&b->mu, NULL);
  pthread_cond_init(&b->cv, NULL);
  b->m = m;
  atomic_init(&b->ids_ok, -1);
  *out = b;
  return 0;
}

void ticket_batch_free(ticket_batch *b) {
  if (!b) return;
  pthread_cond_destroy(&b->cv);
  pthread_mutex_destroy(&b->mu);
  free(b);
}

/* Counts a batch of n in the size histogram (failed: it rolled back, its members ran alone). */
static void batch__count(ticket_batch *b, size_t n, bool failed) {
  char size[8];
  snprintf(size, sizeof size, "%zu", n);
  const char *labels[] = {"size", size, NULL};
  hd_err ignored = {0};
  hd_metrics_counter_add(b->m,
                         failed ? "helpdesk_tickets_create_batch_failures_total"
                                : "helpdesk_tickets_create_batches_total",
                         labels, 1, &ignored);
}

/* Whether one multi-row INSERT's ids are consecutive on this server (asked once). */
static bool batch__ids_consecutive(ticket_batch *b, hd_db *db) {
  int ok = atomic_load(&b->ids_ok);
  if (ok >= 0) return ok == 1;
  hd_db_rows *rows = NULL;
  hd_err err = {0};
  if (hd_db_query(db, "SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment", NULL, 0, 1,
                  &rows, &err) != 0)
    return false; /* asked again next time */
  ok = hd_db_rows_count(rows) == 1 && hd_db_i64(rows, 0, 0) <= 1 && hd_db_i64(rows, 0, 1) == 1;
  hd_db_rows_free(rows);
  if (!ok)
    hd_log_warn("tickets.batch_off", "reason",
                "innodb_autoinc_lock_mode is 2 or auto_increment_increment is not 1: every "
                "create runs alone");
  atomic_store(&b->ids_ok, ok ? 1 : 0);
  return ok;
}

typedef struct batch__tx_ctx {
  batch__job **jobs;
  size_t n;
  int64_t ids[BATCH_MAX];
} batch__tx_ctx;

/* The tickets, then their keys with their results: a key used meanwhile fails the INSERT (the
 * batch rolls back and its members run alone, where the key is claimed as for one create). */
static int batch__tx(hd_db *db, void *arg, hd_err *err) {
  batch__tx_ctx *x = arg;
  ticket_new_in in[BATCH_MAX];
  for (size_t i = 0; i < x->n; i++) in[i] = x->jobs[i]->c->row;
  if (ticket_store_insert_many(db, in, x->n, x->ids, err)) return -1;
  enum { KEY_COLS = 6 };
  static const char head[] =
      "INSERT INTO idempotency_keys (tenant, caller_id, idem_key, "
      "request_hash, result_id, created_at_us) VALUES ";
  static const char row[] = "(?, ?, ?, ?, ?, ?)";
  char sql[sizeof head + BATCH_MAX * sizeof row + 2 * BATCH_MAX];
  size_t used = (size_t)snprintf(sql, sizeof sql, "%s", head);
  hd_db_param p[BATCH_MAX * KEY_COLS];
  for (size_t i = 0; i < x->n; i++) {
    const ticket_batch_create *c = x->jobs[i]->c;
    used += (size_t)snprintf(sql + used, sizeof sql - used, "%s%s", i ? ", " : "", row);
    const hd_db_param k[KEY_COLS] = {hd_db_text(c->row.tenant), hd_db_text(c->caller_id),
                                     hd_db_text(c->key),        hd_db_text(c->hash),
                                     hd_db_int(x->ids[i]),      hd_db_int(c->row.now_us)};
    memcpy(&p[i * KEY_COLS], k, sizeof k);
  }
  return hd_db_exec(db, sql, p, x->n * KEY_COLS, NULL, NULL, err);
}

/* Runs jobs[0..n) (n >= 2) as one transaction on db; each c->id is its ticket, or 0 for all
 * when it rolled back. */
static void batch__commit(ticket_batch *b, hd_db *db, batch__job **jobs, size_t n) {
  batch__tx_ctx x = {.jobs = jobs, .n = n};
  hd_err err = {0};
  const bool ok = batch__ids_consecutive(b, db) && hd_db_tx(db, batch__tx, &x, 1, &err) == 0;
  for (size_t i = 0; i < n; i++) jobs[i]->c->id = ok ? x.ids[i] : 0;
  batch__count(b, n, !ok);
}

void ticket_batch_run(ticket_batch *b, hd_db *db, ticket_batch_create *c) {
  c->id = 0;
  c->holds_turn = false;
  batch__job me = {.c = c};
  pthread_mutex_lock(&b->mu);
  if (b->running < TICKET_BATCH_RUNNING && !b->head) {
    b->running++; /* nothing waits: alone, at once */
    pthread_mutex_unlock(&b->mu);
    c->holds_turn = true;
    batch__count(b, 1, false);
    return;
  }
  if (b->tail)
    b->tail->next = &me;
  else
    b->head = &me;
  b->tail = &me;
  while (!me.done) {
    if (b->running < TICKET_BATCH_RUNNING && b->head == &me) {
      batch__job *take[BATCH_MAX];
      size_t n = 0;
      while (b->head && n < BATCH_MAX) {
        take[n++] = b->head;
        b->head = b->head->next;
      }
      if (!b->head) b->tail = NULL;
      b->running++;
      pthread_mutex_unlock(&b->mu);
      if (n == 1) { /* only this one: alone on the turn, as a create always was */
        c->holds_turn = true;
        batch__count(b, 1, false);
        return;
      }
      batch__commit(b, db, take, n);
      pthread_mutex_lock(&b->mu);
      b->running--;
      for (size_t i = 0; i < n; i++) take[i]->done = true;
      pthread_cond_broadcast(&b->cv);
      continue;
    }
    pthread_cond_wait(&b->cv, &b->mu);
  }
  pthread_mutex_unlock(&b->mu);
}

void ticket_batch_release(ticket_batch *b, ticket_batch_create *c) {
  if (!c->holds_turn) return;
  c->holds_turn = false;
  pthread_mutex_lock(&b->mu);
  b->running--;
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
}
