/* A per-call memory arena with a hard cap: everything a handler allocates for one
 * call lives here and is freed at once when the call ends, so a handler cannot leak. */
#ifndef HD_CORE_ARENA_H
#define HD_CORE_ARENA_H

#include <stdarg.h>
#include <stddef.h>

#include <protobuf-c/protobuf-c.h>

typedef struct hd_arena hd_arena;

/* Creates an arena that refuses to grow past cap bytes. Caller frees with hd_arena_free().
 * Returns NULL when out of memory. */
hd_arena *hd_arena_new(size_t cap);

/* Frees the arena and everything allocated from it. NULL is a no-op. */
void hd_arena_free(hd_arena *a);

/* Zeroed memory valid until hd_arena_free(); NULL past the cap or out of memory. */
void *hd_arena_alloc(hd_arena *a, size_t size);

/* Copies of strings and byte ranges (NUL-terminated) owned by the arena. */
char *hd_arena_strdup(hd_arena *a, const char *s);
char *hd_arena_strndup(hd_arena *a, const char *s, size_t n);
void *hd_arena_memdup(hd_arena *a, const void *p, size_t n);
char *hd_arena_printf(hd_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Bytes handed out so far (for tests and metrics). */
size_t hd_arena_used(const hd_arena *a);

/* A protobuf-c allocator drawing on the arena; its free is a no-op.
 * Borrowed: valid while the arena lives. */
ProtobufCAllocator hd_arena_pb_allocator(hd_arena *a);

/* Allocates a message of desc's type in the arena and initialises it. */
void *hd_arena_new_message(hd_arena *a, const ProtobufCMessageDescriptor *desc);

/* An array of n pointers in the arena (for repeated fields). */
#define HD_ARENA_ARRAY(a, type, n) ((type *)hd_arena_alloc((a), sizeof(type) * (n)))

#endif
