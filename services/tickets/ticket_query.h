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

/* Whose tickets, by owner (ListTicketsRequest.OwnerFilter once the handler has read it). */
typedef enum ticket_owner_match {
  TICKET_OWNER_ANY,  /* assigned or not */
  TICKET_OWNER_NONE, /* nobody owns it (owner_id NULL) */
  TICKET_OWNER_THIS  /* owner_id's; an empty owner_id reads as ANY (the older field alone) */
} ticket_owner_match;

/* The most statuses one listing may name: every status once (NONE aside). */
#define TICKET_LIST_STATUSES_MAX (TICKET_STATUS_COUNT - 1)

/* ListTickets' filters and page. Empty or NULL strings, NONE, 0 and false mean "any". */
typedef struct ticket_list_query {
  ticket_status status;     /* one status */
  unsigned status_set;      /* several: bit (1u << s) per status s; ORed with status */
  ticket_owner_match owner; /* TICKET_OWNER_ANY (0) by default */
  const char *owner_id;     /* set: only this owner's tickets (unless owner is NONE) */
  const char *department;
  const char *customer_id;  /* the handler sets the caller's own id for a customer */
  bool followed_only;       /* only the tickets viewer_id follows (none when viewer_id is empty) */
  int64_t updated_since_us; /* > 0: only updated_at_us >= it, ordered by (update time, id) */
  bool newest_first;        /* default oldest first, by (create time, id) */
  int32_t page_size;        /* 0 → 50; 1..500; else INVALID_ARGUMENT (rpc/page.h) */
  const char *page_token;   /* NULL or "" → the first page */
  const char *viewer_id;    /* fills Ticket.followed for this agent; NULL → false */
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
 * Every filter is served by an index of migrations 001 and 003 whose order is the listing's:
 * several statuses read one ordered range per status (at most a page from each, merged), the
 * followed tickets are read from the viewer's follows in their tickets' creation order, and
 * updated_since_us from (tenant, updated_at_us, id); a page costs the same at the millionth
 * ticket as at the first. The token is bound to every filter (the status set as a set: order
 * and repeats do not matter) and to the viewer for followed_only.
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
