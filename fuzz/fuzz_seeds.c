/* The seed corpus of fuzz_edge: for every method of every service and every caller its role
 * check lets through, a valid request with every field set to a value of the kind the tests send
 * (taken by field name: ids, versions, texts, a PDF for an attachment's content), plus the empty
 * request. Each file is one fuzz input (fuzz_input.h: method byte, caller byte, packed request).
 *   fuzz_seeds DIR     writes the files into DIR (which must exist); prints how many */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "fuzz_input.h"

#define SEEDS_MAX_DEPTH 4 /* nested messages filled; deeper ones stay unset */

/* Values by field name, as the tests send them: the first entry whose name matches wins; a name
 * ending in "_id" that matches none is a user id (strings) or a row id (numbers). */
typedef struct seeds_text {
  const char *field;
  const char *value;
} seeds_text;

static const seeds_text seeds__texts[] = {
    {"idempotency_key", "create-1"},
    {"customer_id", "cust-1"},
    {"owner_id", "agent-1"},
    {"new_owner_id", "agent-2"},
    {"assignee_id", "agent-1"},
    {"subject", "Cannot log in to the control panel"},
    {"title", "Check the mail server logs"},
    {"description", "Since this morning the panel refuses my password."},
    {"body", "We reset your password; please try again."},
    {"note", "Billing questions go to the billing team."},
    {"product", "Hosting Plus"},
    {"brand", "Acme Hosting"},
    {"department", "support"},
    {"filename", "invoice.pdf"},
    {"review_link", "https://reviews.example.com/acme"},
    {"page_token", ""},
    {"tenant", "acme"},
};

static const char seeds__pdf[] = "%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n";

static const char *seeds__text_for(const char *name) {
  for (size_t i = 0; i < sizeof seeds__texts / sizeof seeds__texts[0]; i++)
    if (strcmp(seeds__texts[i].field, name) == 0) return seeds__texts[i].value;
  size_t n = strlen(name);
  if (n > 3 && strcmp(name + n - 3, "_id") == 0) return "agent-1";
  return "seed";
}

/* Numbers by field name: a page size of 10, times a day after the target's clock, 1 for the rest
 * (ids, versions, fences, levels); an element of a repeated field is 2, so that a list of ids
 * differs from the single id beside it (MergeTickets' sources and target). */
static int64_t seeds__int_for(const char *name, bool element) {
  size_t n = strlen(name);
  if (strcmp(name, "page_size") == 0 || strcmp(name, "size") == 0) return 10;
  if (n > 3 && strcmp(name + n - 3, "_us") == 0) return FUZZ_CLOCK_START_US + 86400LL * 1000000;
  return element ? 2 : 1;
}

static void seeds__fill(hd_arena *a, ProtobufCMessage *msg, int depth);

/* One value of field f at p (a scalar slot, or an element of a repeated field's array). Bools stay
 * false: a flag set asks for a combination (resolved, clear_assignee) the seed need not satisfy. */
static int seeds__value(hd_arena *a, const ProtobufCFieldDescriptor *f, void *p, int depth) {
  const bool element = f->label == PROTOBUF_C_LABEL_REPEATED;
  switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
      *(int32_t *)p = (int32_t)seeds__int_for(f->name, element);
      return 0;
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
      *(uint32_t *)p = (uint32_t)seeds__int_for(f->name, element);
      return 0;
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
      *(int64_t *)p = seeds__int_for(f->name, element);
      return 0;
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      *(uint64_t *)p = (uint64_t)seeds__int_for(f->name, element);
      return 0;
    case PROTOBUF_C_TYPE_FLOAT:
      *(float *)p = 1.5f;
      return 0;
    case PROTOBUF_C_TYPE_DOUBLE:
      *(double *)p = 1.5;
      return 0;
    case PROTOBUF_C_TYPE_BOOL:
      *(protobuf_c_boolean *)p = 0;
      return 0;
    case PROTOBUF_C_TYPE_ENUM: {
      /* The first value after UNSPECIFIED: a defined, required-looking choice. */
      const ProtobufCEnumDescriptor *e = f->descriptor;
      *(int *)p = e->n_values > 1 ? e->values[1].value : e->values[0].value;
      return 0;
    }
    case PROTOBUF_C_TYPE_STRING:
      *(char **)p = hd_arena_strdup(a, seeds__text_for(f->name));
      return *(char **)p ? 0 : -1;
    case PROTOBUF_C_TYPE_BYTES: {
      ProtobufCBinaryData *b = p;
      b->data = hd_arena_memdup(a, seeds__pdf, sizeof seeds__pdf - 1);
      b->len = sizeof seeds__pdf - 1;
      return b->data ? 0 : -1;
    }
    case PROTOBUF_C_TYPE_MESSAGE: {
      if (depth >= SEEDS_MAX_DEPTH) return 1; /* left unset */
      ProtobufCMessage *sub = hd_arena_new_message(a, f->descriptor);
      if (!sub) return -1;
      seeds__fill(a, sub, depth + 1);
      *(ProtobufCMessage **)p = sub;
      return 0;
    }
  }
  return 1;
}

static size_t seeds__size(ProtobufCType t) {
  switch (t) {
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
      return 8;
    case PROTOBUF_C_TYPE_DOUBLE:
      return sizeof(double);
    case PROTOBUF_C_TYPE_BOOL:
      return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_ENUM:
      return sizeof(int);
    case PROTOBUF_C_TYPE_STRING:
      return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
      return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
      return sizeof(ProtobufCMessage *);
    default:
      return 4;
  }
}

/* Sets every field of msg (one element in a repeated field, the first member of a oneof). */
static void seeds__fill(hd_arena *a, ProtobufCMessage *msg, int depth) {
  const ProtobufCMessageDescriptor *d = msg->descriptor;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    char *slot = (char *)msg + f->offset;
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
      uint32_t *which = (uint32_t *)((char *)msg + f->quantifier_offset);
      if (*which != 0) continue; /* an earlier member is set */
      if (seeds__value(a, f, slot, depth) == 0) *which = f->id;
      continue;
    }
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
      void *elems = hd_arena_alloc(a, seeds__size(f->type));
      if (elems && seeds__value(a, f, elems, depth) == 0) {
        *(size_t *)((char *)msg + f->quantifier_offset) = 1;
        *(void **)slot = elems;
      }
      continue;
    }
    seeds__value(a, f, slot, depth);
  }
}

/* Writes one input: method byte, caller byte, the packed message. 0 / -1. */
static int seeds__write(const char *dir, const char *name, size_t method, size_t caller,
                        const ProtobufCMessage *msg) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  size_t n = protobuf_c_message_get_packed_size(msg);
  uint8_t *buf = malloc(FUZZ_INPUT_HEADER + n);
  int rc = -1;
  FILE *f = NULL;
  if (!buf) goto done;
  buf[0] = (uint8_t)method;
  buf[1] = (uint8_t)caller;
  protobuf_c_message_pack(msg, buf + FUZZ_INPUT_HEADER);
  f = fopen(path, "wb");
  if (!f || fwrite(buf, 1, FUZZ_INPUT_HEADER + n, f) != FUZZ_INPUT_HEADER + n) goto done;
  rc = 0;
done:
  if (f && fclose(f) != 0) rc = -1;
  if (rc) fprintf(stderr, "fuzz_seeds: cannot write %s\n", path);
  free(buf);
  return rc;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: fuzz_seeds DIR\n");
    return 2;
  }
  const char *dir = argv[1];
  size_t written = 0;
  int rc = 1;
  hd_arena *a = NULL;
  for (size_t i = 0; i < fuzz_methods_count(); i++) {
    fuzz_method m;
    if (fuzz_method_at(i, &m) != 0) goto done;
    hd_arena_free(a);
    a = hd_arena_new(1u << 20);
    ProtobufCMessage *empty = a ? hd_arena_new_message(a, m.md->input) : NULL;
    ProtobufCMessage *full = a ? hd_arena_new_message(a, m.md->input) : NULL;
    if (!empty || !full) goto done;
    seeds__fill(a, full, 0);
    char name[256];
    for (size_t c = 0; c < FUZZ_N_CALLERS; c++) {
      hd_principal p;
      fuzz_caller(c, &p);
      unsigned need = m.impl ? m.impl->roles : 0;
      if (need && !(p.roles & need)) continue; /* refused before unpacking: nothing to seed */
      snprintf(name, sizeof name, "%s-%s-%s-full", m.def->name, m.md->name, p.user_id);
      if (seeds__write(dir, name, i, c, full) != 0) goto done;
      snprintf(name, sizeof name, "%s-%s-%s-empty", m.def->name, m.md->name, p.user_id);
      if (seeds__write(dir, name, i, c, empty) != 0) goto done;
      written += 2;
    }
  }
  printf("fuzz_seeds: %zu inputs for %zu methods in %s\n", written, fuzz_methods_count(), dir);
  rc = 0;
done:
  hd_arena_free(a);
  return rc;
}
