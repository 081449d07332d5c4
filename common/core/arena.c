/* Per-call arena: a chain of blocks, bump allocation, one free. Under AddressSanitizer (make asan,
 * make fuzz) what is not handed out stays poisoned and each allocation is followed by a poisoned
 * gap, so that reading past a request's string is reported as with malloc. */
#include "core/arena.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif
#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
/* Poisoned bytes after each allocation, beyond its alignment padding. */
#define ARENA_REDZONE 16u
#else
#define ASAN_POISON_MEMORY_REGION(p, n)   ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define ARENA_REDZONE                     0u
#endif

#define ARENA_BLOCK 8192u
#define ARENA_ALIGN 16u

typedef struct arena_block {
  struct arena_block *next;
  size_t size;
  size_t used;
  _Alignas(16) unsigned char data[];
} arena_block;

struct hd_arena {
  arena_block *head;
  size_t cap;
  size_t total;
};

hd_arena *hd_arena_new(size_t cap) {
  hd_arena *a = calloc(1, sizeof *a);
  if (a) a->cap = cap;
  return a;
}

void hd_arena_free(hd_arena *a) {
  if (!a) return;
  arena_block *b = a->head;
  while (b) {
    arena_block *next = b->next;
    ASAN_UNPOISON_MEMORY_REGION(b->data, b->size);
    free(b);
    b = next;
  }
  free(a);
}

void *hd_arena_alloc(hd_arena *a, size_t size) {
  if (!a) return NULL;
  if (size == 0) size = 1;
  size_t need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
  /* total <= cap always, so cap - total cannot wrap; total + need could. */
  if (need < size || need > a->cap - a->total) return NULL;
  const size_t step = need + ARENA_REDZONE;
  if (step < need) return NULL;
  arena_block *b = a->head;
  if (!b || b->size - b->used < step) {
    size_t bsize = need > ARENA_BLOCK / 2 ? step : ARENA_BLOCK;
    if (bsize > SIZE_MAX - sizeof *b) return NULL;
    b = malloc(sizeof *b + bsize);
    if (!b) return NULL;
    b->size = bsize;
    b->used = 0;
    ASAN_POISON_MEMORY_REGION(b->data, bsize);
    if (need > ARENA_BLOCK / 2 && a->head) {
      /* A big block goes behind the head so the head keeps serving small ones. */
      b->next = a->head->next;
      a->head->next = b;
    } else {
      b->next = a->head;
      a->head = b;
    }
  }
  void *p = b->data + b->used;
  ASAN_UNPOISON_MEMORY_REGION(p, size);
  b->used += step;
  a->total += need;
  memset(p, 0, size);
  return p;
}

char *hd_arena_strndup(hd_arena *a, const char *s, size_t n) {
  if (n == SIZE_MAX) return NULL;
  char *p = hd_arena_alloc(a, n + 1);
  if (!p) return NULL;
  if (n) memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *hd_arena_strdup(hd_arena *a, const char *s) {
  return hd_arena_strndup(a, s ? s : "", s ? strlen(s) : 0);
}

void *hd_arena_memdup(hd_arena *a, const void *p, size_t n) {
  void *q = hd_arena_alloc(a, n);
  if (q && n) memcpy(q, p, n);
  return q;
}

char *hd_arena_printf(hd_arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return NULL;
  char *p = hd_arena_alloc(a, (size_t)n + 1);
  if (!p) return NULL;
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}

size_t hd_arena_used(const hd_arena *a) { return a ? a->total : 0; }

static void *arena__pb_alloc(void *data, size_t size) { return hd_arena_alloc(data, size); }
static void arena__pb_free(void *data, void *p) {
  (void)data;
  (void)p;
}

ProtobufCAllocator hd_arena_pb_allocator(hd_arena *a) {
  ProtobufCAllocator al = {.alloc = arena__pb_alloc, .free = arena__pb_free, .allocator_data = a};
  return al;
}

void *hd_arena_new_message(hd_arena *a, const ProtobufCMessageDescriptor *desc) {
  ProtobufCMessage *m = hd_arena_alloc(a, desc->sizeof_message);
  if (m) desc->message_init(m);
  return m;
}
