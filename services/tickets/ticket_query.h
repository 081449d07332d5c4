/* Reading tickets in pages: ListTickets' filtered keyset listing and a ticket's history. Read
 * only (no locks); the page rules and tokens are rpc/page.h's, each token bound to its tenant,
 * filters and order. Strings handed out live in the caller's arena. */
#ifndef TICKETS_TICKET_QUERY_H
#define TICKETS_TICKET_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "ticket_state.h"

/* ---- list ---- */

/* ListTickets' filters and page. Empty or NULL strings and NONE mean "any". */
typedef struct ticket_list_query {
  ticket_status status;
  const char *owner_id;
  const char *department;
  const char *customer_id; /* the handler sets the caller's own id for a customer */
  bool newest_first;       /* default oldest first, by (create time, id) */
  int32_t page_size;       /* 0 → 50; 1..500; else INVALID_ARGUMENT (rpc/page.h) */
  const char *page_token;  /* NULL or "" → the first page */
  const char *viewer_id;   /* fills Ticket.followed for this agent; NULL → false */
} ticket_list_query;

/* A page of tickets, in arena. */
typedef struct ticket_page {
  Helpdesk__V1__Ticket **tickets;
  size_t n;
  char *next_page_token; /* "" on the last page */
} ticket_page;

/* The tenant's tickets matching q, one page, keyset-paginated (stable under inserts: a ticket
 * created meanwhile never shifts a page). Tickets in a list carry no description (an empty
 * string: up to 500 tickets × 20,000 characters would not fit a reply); GetTicket has it.
 * INVALID_ARGUMENT for a bad page size or a token that is malformed or from another listing. */
int ticket_query_list(hd_db *db, const char *tenant, const ticket_list_query *q, hd_arena *arena,
                      ticket_page *out, hd_err *err);

/* ---- history ---- */

/* A page of ticket_id's history, oldest first (by id). page_size and page_token as for lists;
 * *next_token "" on the last page. Does not check that the ticket exists (the handler has read it).
 */
int ticket_query_history(hd_db *db, const char *tenant, int64_t ticket_id, int32_t page_size,
                         const char *page_token, hd_arena *arena, Helpdesk__V1__HistoryEntry ***out,
                         size_t *n, char **next_token, hd_err *err);

#endif
