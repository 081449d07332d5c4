/* Group commit of CreateTicket: creates that arrive while another create's transaction runs
 * wait for it, then share one transaction (ticket_store_insert_many, and their idempotency keys
 * in one multi-row INSERT with their results), one commit, each caller answered from its own
 * rows after the commit. A create that finds nothing running goes alone, exactly as before (a
 * batch of one costs what a create costs). When a shared transaction fails for any reason (a key
 * already used, a lock conflict, a lost connection), it rolls back whole and each of its
 * members then runs alone, with the same code as a single create: one bad call never fails its
 * neighbours, and exactly-once holds by the keys (a member whose batch did commit after all
 * finds its key and answers with that ticket).
 *
 * The batch sizes seen are counted in the metric helpdesk_tickets_create_batches_total{size}. */
#ifndef TICKETS_TICKET_STORE_BATCH_H
#define TICKETS_TICKET_STORE_BATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "db/db.h"
#include "metrics/metrics.h"
#include "svc/idem.h"
#include "ticket_store.h"

#define TICKET_BATCH_RUNNING 4 /* create transactions the batcher lets run at once */

typedef struct ticket_batch ticket_batch;

/* One create. Inputs borrowed for the call (validated by the handler); id is the output. */
typedef struct ticket_batch_create {
  ticket_new_in row;     /* the ticket, its tenant, time and actor */
  const char *caller_id; /* the principal: whose idempotency key */
  const char *key;       /* the idempotency key */
  const char *hash;      /* hd_idem_hash_request of the request */
  int64_t id;            /* > 0: created and committed in a shared transaction */
  bool holds_turn;       /* running alone on the batcher's turn: ticket_batch_release after */
} ticket_batch_create;

/* A batcher counting batch sizes in m (may be NULL). Caller frees with ticket_batch_free(). */
int ticket_batch_new(hd_metrics *m, ticket_batch **out, hd_err *err);

/* NULL is a no-op; no call may be using it. */
void ticket_batch_free(ticket_batch *b);

/* Runs c with the creates that arrive meanwhile, on db (the caller's connection, outside a
 * transaction). Afterwards either c->id > 0 (committed; answer with it) or c->id == 0: create it
 * alone in a transaction of its own (the single create), then, when c->holds_turn, call
 * ticket_batch_release. Waits only while other creates run. */
void ticket_batch_run(ticket_batch *b, hd_db *db, ticket_batch_create *c);

/* Ends the turn a create that ran alone held (c->holds_turn), letting the creates waiting meanwhile
 * go as one batch. */
void ticket_batch_release(ticket_batch *b, ticket_batch_create *c);

#endif
