/* Rows that hang off a ticket and are written by more than one handler: the conversation's
 * comments (replies, customer replies, AddComment) and internal records (AddInternalRecord,
 * TransferTicket's hand-over note). Call inside the handler's transaction; the handler also
 * changes the ticket (ticket_store_update) so the version, history and event follow. */
#ifndef TICKETS_TICKET_RECORDS_H
#define TICKETS_TICKET_RECORDS_H

#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "db/db.h"
#include "helpdesk/v1/tickets.pb-c.h"
#include "ticket_store.h"

/* Inserts a comment by actor; *out (may be NULL) receives it, allocated in arena. body is
 * validated by the caller. */
int ticket_comment_insert(hd_db *db, const char *tenant, int64_t ticket_id,
                          const ticket_actor *actor, const char *body, int64_t now_us,
                          hd_arena *arena, Helpdesk__V1__Comment **out, hd_err *err);

/* Inserts an internal record by author_id; *out (may be NULL) in arena. */
int ticket_record_insert(hd_db *db, const char *tenant, int64_t ticket_id, const char *author_id,
                         const char *body, int64_t now_us, hd_arena *arena,
                         Helpdesk__V1__InternalRecord **out, hd_err *err);

#endif
