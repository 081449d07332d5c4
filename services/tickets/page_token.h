/* Keyset pagination for the ticket service's lists: the page size rule and opaque page tokens
 * that carry the last item's position and a hash of the listing they belong to, so a token
 * cannot be replayed against other filters, another order or another tenant. */
#ifndef TICKETS_PAGE_TOKEN_H
#define TICKETS_PAGE_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"

#define PAGE_SIZE_DEFAULT 50
#define PAGE_SIZE_MAX     500
#define PAGE_TOKEN_MAX    256 /* characters a token may have */

/* Where a page ended: the sort key (a creation time, or 0 for lists ordered by id alone) and
 * the id of the last item. */
typedef struct page_pos {
  int64_t key;
  int64_t id;
} page_pos;

/* requested 0 → PAGE_SIZE_DEFAULT; 1..PAGE_SIZE_MAX as is; anything else → INVALID_ARGUMENT. */
int page_size_resolve(int32_t requested, size_t *out, hd_err *err);

/* Encodes pos for the listing described by scope[0..scope_len) (any bytes that name the list
 * and its filters and order exactly; the caller builds it the same way for every page).
 * *out in the arena, NUL-terminated. RESOURCE_EXHAUSTED when the arena is full. */
int page_token_encode(const page_pos *pos, const void *scope, size_t scope_len, hd_arena *arena,
                      char **out, hd_err *err);

/* Decodes token[0..len) issued by page_token_encode for the same scope. INVALID_ARGUMENT
 * "page_token is malformed" for anything not made by us, "page_token belongs to another
 * listing ..." when the scope differs. */
int page_token_decode(const char *token, size_t len, const void *scope, size_t scope_len,
                      page_pos *out, hd_err *err);

#endif
