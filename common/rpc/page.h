/* Pages of every list RPC in one place: the page-size rule, opaque keyset page tokens bound to
 * the listing they belong to, and PageInfo building.
 *
 * A token carries where the previous page ended (a sort key and the last item's id) and a hash
 * of the listing's scope: its name, its tenant, and every filter and order that shapes it. A
 * token replayed against another list, another tenant, other filters or another order is
 * INVALID_ARGUMENT. Tokens are opaque to callers; their form may change between versions.
 *
 * A list handler reads like this (all of it before or inside one read):
 *
 *   hd_page_scope scope;
 *   hd_page_scope_init(&scope, "comments", tenant);
 *   hd_page_scope_int(&scope, ticket_id);
 *   hd_page pg;
 *   if (hd_page_start_pb(rq->page, &scope, &pg, &call->err)) return -1;
 *   ... SELECT ... WHERE id > pg.after.id ORDER BY id LIMIT hd_page_fetch(&pg) ...
 *   const size_t shown = hd_page_shown(&pg, rows);
 *   char *next;
 *   if (hd_page_next(&pg, rows > shown ? &(hd_page_pos){.id = last_id} : NULL, arena, &next, err)
 *       || hd_page_info(arena, next, &out->page, err)) ...
 */
#ifndef HD_RPC_PAGE_H
#define HD_RPC_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "helpdesk/v1/common.pb-c.h"

#define HD_PAGE_SIZE_DEFAULT 50   /* page_size 0 */
#define HD_PAGE_SIZE_MAX     500  /* the largest page_size */
#define HD_PAGE_TOKEN_MAX    256  /* characters a page token may have */
#define HD_PAGE_SCOPE_MAX    2048 /* bytes of a listing's scope (tenant and filters together) */
#define HD_PAGE_HASH_HEX     16   /* hex digits of the scope hash a token carries */

/* Where a page ended: the sort key (a creation time, or 0 for lists ordered by id alone) and the
 * id of the last item. */
typedef struct hd_page_pos {
  int64_t key;
  int64_t id;
} hd_page_pos;

/* What a listing is, built part by part (each part length-prefixed, so "ab"+"c" and "a"+"bc"
 * are two scopes). Too many bytes make hd_page_start refuse the listing. */
typedef struct hd_page_scope {
  char bytes[HD_PAGE_SCOPE_MAX];
  size_t len;
  bool too_long;
} hd_page_scope;

/* Starts the scope of list `list` ("tickets", "comments") of tenant. */
void hd_page_scope_init(hd_page_scope *s, const char *list, const char *tenant);

/* Adds a filter or order to the scope: text (NULL as "") or a number. */
void hd_page_scope_str(hd_page_scope *s, const char *part);
void hd_page_scope_int(hd_page_scope *s, int64_t part);

/* One page of one listing, as the request asked for it. */
typedef struct hd_page {
  size_t size;       /* items on this page, 1..HD_PAGE_SIZE_MAX */
  bool continued;    /* a token was given: the page starts after `after` */
  hd_page_pos after; /* {0, 0} on the first page */
  char scope_hash[HD_PAGE_HASH_HEX + 1];
} hd_page;

/* The page-size rule: 0 → HD_PAGE_SIZE_DEFAULT; 1..HD_PAGE_SIZE_MAX as asked; anything else
 * INVALID_ARGUMENT "page_size must be between 1 and 500 (0 for 50), got 501". */
int hd_page_size(int32_t requested, size_t *out, hd_err *err);

/* Starts a page of the listing scope from a request's page_size and page_token (NULL or "" =
 * the first page). INVALID_ARGUMENT for a bad size, "page.page_token has 257 characters; at
 * most 256 are allowed", "page_token is malformed" for anything we did not make, and
 * "page_token belongs to another listing ..." for a token of another scope; also when the scope
 * is too long ("list filters are too long"). */
int hd_page_start(int32_t page_size, const char *page_token, const hd_page_scope *scope,
                  hd_page *out, hd_err *err);

/* hd_page_start from a PageRequest (NULL: the first page of the default size). */
int hd_page_start_pb(const Helpdesk__V1__PageRequest *req, const hd_page_scope *scope, hd_page *out,
                     hd_err *err);

/* Rows to read for the page: one more than its size, to know whether another page follows. */
int64_t hd_page_fetch(const hd_page *pg);

/* How many of the fetched rows belong to the page (at most its size). */
size_t hd_page_shown(const hd_page *pg, size_t fetched);

/* The token of the page after the one that ended at last (NULL: this was the last page, the
 * token is ""). *out in arena, NUL-terminated. RESOURCE_EXHAUSTED when the arena is full. */
int hd_page_next(const hd_page *pg, const hd_page_pos *last, hd_arena *arena, char **out,
                 hd_err *err);

/* A PageInfo in arena carrying next (borrowed: it must live as long as the reply; NULL → "").
 * RESOURCE_EXHAUSTED "the reply is too large" when the arena is full. */
int hd_page_info(hd_arena *arena, char *next, Helpdesk__V1__PageInfo **out, hd_err *err);

#endif
