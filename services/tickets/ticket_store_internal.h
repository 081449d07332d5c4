/* What the store shares with its own readers (ticket_query.c) and nobody else: the head of a
 * list query and the reading of its rows, so that the columns a ticket read selects and their
 * order stay in ticket_store.c alone. */
#ifndef TICKETS_TICKET_STORE_INTERNAL_H
#define TICKETS_TICKET_STORE_INTERNAL_H

#include <stddef.h>

#include "ticket_store.h"

/* "SELECT <every ticket column, the description as ''>, <followed> FROM tickets t LEFT JOIN
 * follows f ... WHERE t.tenant = ?": parameters the viewer's id (NULL: followed is false) and
 * the tenant; the caller appends its filters, order and LIMIT. */
extern const char ticket_store_sql_list_head[];

/* Row r of a ticket_store_sql_list_head query → *out in arena, associated_ticket_ids read (a
 * plain read). 0 / -1. */
int ticket_store_row_proto(hd_db *db, const hd_db_rows *rows, size_t r, hd_arena *arena,
                           Helpdesk__V1__Ticket **out, hd_err *err);

#endif
