/* Comments and internal records (see ticket_records.h). */
#include "ticket_records.h"

#include <string.h>

static const char SQL_COMMENT_INSERT[] =
    "INSERT INTO comments (tenant, ticket_id, author_id, author_role, body, created_at_us) "
    "VALUES (?, ?, ?, ?, ?, ?)";
static const char SQL_RECORD_INSERT[] =
    "INSERT INTO internal_records (tenant, ticket_id, author_id, body, created_at_us) "
    "VALUES (?, ?, ?, ?, ?)";

int ticket_comment_insert(hd_db *db, const char *tenant, int64_t ticket_id,
                          const ticket_actor *actor, const char *body, int64_t now_us,
                          hd_arena *arena, Helpdesk__V1__Comment **out, hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant),         hd_db_int(ticket_id),
                           hd_db_text(actor->user_id), hd_db_text(actor->role),
                           hd_db_text(body),           hd_db_int(now_us)};
  uint64_t id = 0;
  if (hd_db_exec(db, SQL_COMMENT_INSERT, p, 6, NULL, &id, err)) return -1;
  if (!out) return 0;
  Helpdesk__V1__Comment *c = hd_arena_new_message(arena, &helpdesk__v1__comment__descriptor);
  if (!c) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  c->id = (int64_t)id;
  c->ticket_id = ticket_id;
  c->author_id = hd_arena_strdup(arena, actor->user_id);
  c->author_role = hd_arena_strdup(arena, actor->role);
  c->body = hd_arena_strdup(arena, body);
  c->create_time_us = now_us;
  if (!c->author_id || !c->author_role || !c->body)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  *out = c;
  return 0;
}

int ticket_record_insert(hd_db *db, const char *tenant, int64_t ticket_id, const char *author_id,
                         const char *body, int64_t now_us, hd_arena *arena,
                         Helpdesk__V1__InternalRecord **out, hd_err *err) {
  const hd_db_param p[] = {hd_db_text(tenant), hd_db_int(ticket_id), hd_db_text(author_id),
                           hd_db_text(body), hd_db_int(now_us)};
  uint64_t id = 0;
  if (hd_db_exec(db, SQL_RECORD_INSERT, p, 5, NULL, &id, err)) return -1;
  if (!out) return 0;
  Helpdesk__V1__InternalRecord *r =
      hd_arena_new_message(arena, &helpdesk__v1__internal_record__descriptor);
  if (!r) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  r->id = (int64_t)id;
  r->ticket_id = ticket_id;
  r->author_id = hd_arena_strdup(arena, author_id);
  r->body = hd_arena_strdup(arena, body);
  r->create_time_us = now_us;
  if (!r->author_id || !r->body)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the reply is too large");
  *out = r;
  return 0;
}
