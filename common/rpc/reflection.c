/* Server reflection, grpc.reflection.v1 and v1alpha ServerReflectionInfo (a bidi stream,
 * rpc/stream.h): lists the services registered on this server, and answers a file by its name or
 * by a symbol it declares (with its imports), from the FileDescriptorSet that the build makes
 * from protos/ (protoc --descriptor_set_out --include_imports, embedded as hd_descriptor_set).
 * Only the files of this server's services and what they import are served. Public, like
 * health: the descriptors are the API's published contract, and tools ask before any token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/protobuf/descriptor.pb-c.h"
#include "grpc/reflection/v1/reflection.pb-c.h"
#include "grpc/reflection/v1alpha/reflection.pb-c.h"
#include "log/log.h"
#include "rpc/server_internal.h"
#include "rpc/stream.h"

extern const uint8_t hd_descriptor_set[];
extern const size_t hd_descriptor_set_len;

/* How long a response may wait for the client to read the last one. */
#define REFL_SEND_US 5000000
/* Per request: its response's arena (the largest file with its imports fits many times). */
#define REFL_ARENA_CAP (4u << 20)
/* Names in requests are cut at this in error messages. */
#define REFL_NAME_SHOWN 200

typedef struct refl_file {
  const Google__Protobuf__FileDescriptorProto *fd; /* in set */
  ProtobufCBinaryData bytes; /* the serialized FileDescriptorProto, in hd_descriptor_set */
  size_t *deps;              /* indexes of the files it imports; owned */
  size_t n_deps;
  bool served; /* a file of this server's services, or one they import */
} refl_file;

typedef struct refl_symbol {
  char *name; /* fully qualified, no leading dot; owned */
  size_t file;
  bool is_message;
} refl_symbol;

struct rpc_reflection {
  Google__Protobuf__FileDescriptorSet *set; /* unpacked; protobuf_c_message_free_unpacked */
  refl_file *files;
  size_t n_files;
  refl_symbol *syms; /* sorted by name */
  size_t n_syms, cap_syms;
};

static int refl__add(struct rpc_reflection *r, size_t file, bool is_message, const char *scope,
                     const char *name) {
  if (r->n_syms == r->cap_syms) {
    size_t cap = r->cap_syms ? r->cap_syms * 2 : 256;
    refl_symbol *n = realloc(r->syms, cap * sizeof *n);
    if (!n) return -1;
    r->syms = n;
    r->cap_syms = cap;
  }
  size_t len = strlen(scope) + strlen(name) + 2;
  char *full = malloc(len);
  if (!full) return -1;
  snprintf(full, len, "%s%s%s", scope, scope[0] ? "." : "", name);
  r->syms[r->n_syms++] = (refl_symbol){full, file, is_message};
  return 0;
}

static int refl__add_enum(struct rpc_reflection *r, size_t file, const char *scope,
                          const Google__Protobuf__EnumDescriptorProto *e) {
  if (refl__add(r, file, false, scope, e->name) != 0) return -1;
  /* Enum values are siblings of their enum (C++ scoping). */
  for (size_t i = 0; i < e->n_value; i++)
    if (refl__add(r, file, false, scope, e->value[i]->name) != 0) return -1;
  return 0;
}

static int refl__add_message(struct rpc_reflection *r, size_t file, const char *scope,
                             const Google__Protobuf__DescriptorProto *m) {
  if (refl__add(r, file, true, scope, m->name) != 0) return -1;
  const char *full = r->syms[r->n_syms - 1].name;
  for (size_t i = 0; i < m->n_field; i++)
    if (refl__add(r, file, false, full, m->field[i]->name) != 0) return -1;
  for (size_t i = 0; i < m->n_enum_type; i++)
    if (refl__add_enum(r, file, full, m->enum_type[i]) != 0) return -1;
  for (size_t i = 0; i < m->n_nested_type; i++) /* full is the symbol's own string: it stays */
    if (refl__add_message(r, file, full, m->nested_type[i]) != 0) return -1;
  return 0;
}

static int refl__sym_cmp(const void *a, const void *b) {
  return strcmp(((const refl_symbol *)a)->name, ((const refl_symbol *)b)->name);
}

static const refl_symbol *refl__find_symbol(const struct rpc_reflection *r, const char *name) {
  if (name[0] == '.') name++;
  refl_symbol key = {(char *)name, 0, false};
  return bsearch(&key, r->syms, r->n_syms, sizeof *r->syms, refl__sym_cmp);
}

static long refl__find_file(const struct rpc_reflection *r, const char *name) {
  for (size_t i = 0; i < r->n_files; i++)
    if (strcmp(r->files[i].fd->name, name) == 0) return (long)i;
  return -1;
}

/* The byte ranges of the set's files (field 1, length-delimited), in the set's order. */
static int refl__split(struct rpc_reflection *r, hd_err *err) {
  size_t at = 0, k = 0;
  while (at < hd_descriptor_set_len && k < r->n_files) {
    if (hd_descriptor_set[at++] != 0x0a) break;
    uint64_t len = 0;
    for (int shift = 0; at < hd_descriptor_set_len && shift < 64; shift += 7) {
      uint8_t b = hd_descriptor_set[at++];
      len |= (uint64_t)(b & 0x7f) << shift;
      if (!(b & 0x80)) break;
    }
    if (len > hd_descriptor_set_len - at) break;
    r->files[k].bytes.data = (uint8_t *)&hd_descriptor_set[at];
    r->files[k].bytes.len = (size_t)len;
    at += (size_t)len;
    k++;
  }
  if (k != r->n_files || at != hd_descriptor_set_len)
    return hd_err_set(err, HD_INTERNAL, "the embedded descriptor set is malformed");
  return 0;
}

static void refl__mark_served(struct rpc_reflection *r, size_t f) {
  if (r->files[f].served) return;
  r->files[f].served = true;
  for (size_t i = 0; i < r->files[f].n_deps; i++) refl__mark_served(r, r->files[f].deps[i]);
}

void rpc_reflection_free(hd_server *s) {
  struct rpc_reflection *r = s->reflection;
  if (!r) return;
  for (size_t i = 0; i < r->n_files; i++) free(r->files[i].deps);
  free(r->files);
  for (size_t i = 0; i < r->n_syms; i++) free(r->syms[i].name);
  free(r->syms);
  if (r->set) protobuf_c_message_free_unpacked(&r->set->base, NULL);
  free(r);
  s->reflection = NULL;
}

int rpc_reflection_start(hd_server *s, hd_err *err) {
  struct rpc_reflection *r = calloc(1, sizeof *r);
  if (!r) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory indexing descriptors");
  s->reflection = r;
  r->set =
      google__protobuf__file_descriptor_set__unpack(NULL, hd_descriptor_set_len, hd_descriptor_set);
  if (!r->set) goto malformed;
  r->n_files = r->set->n_file;
  r->files = calloc(r->n_files ? r->n_files : 1, sizeof *r->files);
  if (!r->files) goto oom;
  for (size_t i = 0; i < r->n_files; i++) r->files[i].fd = r->set->file[i];
  if (refl__split(r, err) != 0) goto fail;
  for (size_t i = 0; i < r->n_files; i++) {
    const Google__Protobuf__FileDescriptorProto *fd = r->files[i].fd;
    r->files[i].deps = calloc(fd->n_dependency ? fd->n_dependency : 1, sizeof(size_t));
    if (!r->files[i].deps) goto oom;
    for (size_t d = 0; d < fd->n_dependency; d++) {
      long k = refl__find_file(r, fd->dependency[d]);
      if (k < 0) goto malformed; /* --include_imports puts every import in the set */
      r->files[i].deps[r->files[i].n_deps++] = (size_t)k;
    }
  }
  for (size_t i = 0; i < r->n_files; i++) {
    const Google__Protobuf__FileDescriptorProto *fd = r->files[i].fd;
    for (size_t k = 0; k < fd->n_service; k++) {
      char full[300];
      snprintf(full, sizeof full, "%s%s%s", fd->package ? fd->package : "",
               fd->package && fd->package[0] ? "." : "", fd->service[k]->name);
      for (size_t n = 0; n < s->n_services; n++)
        if (strcmp(s->service_names[n], full) == 0) refl__mark_served(r, i);
    }
  }
  for (size_t i = 0; i < r->n_files; i++) {
    if (!r->files[i].served) continue;
    const Google__Protobuf__FileDescriptorProto *fd = r->files[i].fd;
    const char *pkg = fd->package ? fd->package : "";
    for (size_t k = 0; k < fd->n_message_type; k++)
      if (refl__add_message(r, i, pkg, fd->message_type[k]) != 0) goto oom;
    for (size_t k = 0; k < fd->n_enum_type; k++)
      if (refl__add_enum(r, i, pkg, fd->enum_type[k]) != 0) goto oom;
    for (size_t k = 0; k < fd->n_service; k++) {
      const Google__Protobuf__ServiceDescriptorProto *sv = fd->service[k];
      if (refl__add(r, i, false, pkg, sv->name) != 0) goto oom;
      const char *svc = r->syms[r->n_syms - 1].name; /* its own string: stays put */
      for (size_t m = 0; m < sv->n_method; m++)
        if (refl__add(r, i, false, svc, sv->method[m]->name) != 0) goto oom;
    }
  }
  qsort(r->syms, r->n_syms, sizeof *r->syms, refl__sym_cmp);
  return 0;
oom:
  hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory indexing descriptors");
  goto fail;
malformed:
  hd_err_set(err, HD_INTERNAL, "the embedded descriptor set is malformed");
fail:
  rpc_reflection_free(s);
  return -1;
}

/* Sets resp to an error_response of code and a message. */
static void refl__error(hd_arena *a, Grpc__Reflection__V1__ServerReflectionResponse *resp,
                        hd_code code, const char *msg) {
  Grpc__Reflection__V1__ErrorResponse *e =
      hd_arena_new_message(a, &grpc__reflection__v1__error_response__descriptor);
  if (!e) return;
  e->error_code = (int32_t)code;
  e->error_message = hd_arena_strdup(a, msg);
  resp->message_response_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ERROR_RESPONSE;
  resp->error_response = e;
}

/* Appends file f and, after it, every file it imports (each once). */
static void refl__collect(const struct rpc_reflection *r, size_t f, bool *seen,
                          Grpc__Reflection__V1__FileDescriptorResponse *out) {
  if (seen[f]) return;
  seen[f] = true;
  out->file_descriptor_proto[out->n_file_descriptor_proto++] = r->files[f].bytes;
  for (size_t i = 0; i < r->files[f].n_deps; i++) refl__collect(r, r->files[f].deps[i], seen, out);
}

static int refl__files(hd_arena *a, const struct rpc_reflection *r, size_t f,
                       Grpc__Reflection__V1__ServerReflectionResponse *resp) {
  Grpc__Reflection__V1__FileDescriptorResponse *fr =
      hd_arena_new_message(a, &grpc__reflection__v1__file_descriptor_response__descriptor);
  bool *seen = HD_ARENA_ARRAY(a, bool, r->n_files);
  if (!fr || !seen) return -1;
  fr->file_descriptor_proto = HD_ARENA_ARRAY(a, ProtobufCBinaryData, r->n_files);
  if (!fr->file_descriptor_proto) return -1;
  refl__collect(r, f, seen, fr);
  resp->message_response_case =
      GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_FILE_DESCRIPTOR_RESPONSE;
  resp->file_descriptor_response = fr;
  return 0;
}

/* Fills resp, the answer to req; -1 only when out of memory. */
static int refl__answer(hd_server *s, hd_arena *a,
                        const Grpc__Reflection__V1__ServerReflectionRequest *req,
                        Grpc__Reflection__V1__ServerReflectionResponse *resp) {
  const struct rpc_reflection *r = s->reflection;
  char msg[HD_ERR_MSG_MAX];
  resp->valid_host = req->host;
  resp->original_request = (Grpc__Reflection__V1__ServerReflectionRequest *)req;
  switch (req->message_request_case) {
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_LIST_SERVICES: {
      Grpc__Reflection__V1__ListServiceResponse *ls =
          hd_arena_new_message(a, &grpc__reflection__v1__list_service_response__descriptor);
      if (!ls) return -1;
      ls->service = HD_ARENA_ARRAY(a, Grpc__Reflection__V1__ServiceResponse *, s->n_services + 1);
      if (!ls->service) return -1;
      for (size_t i = 0; i < s->n_services; i++) {
        Grpc__Reflection__V1__ServiceResponse *one =
            hd_arena_new_message(a, &grpc__reflection__v1__service_response__descriptor);
        if (!one) return -1;
        one->name = s->service_names[i];
        ls->service[ls->n_service++] = one;
      }
      resp->message_response_case =
          GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_LIST_SERVICES_RESPONSE;
      resp->list_services_response = ls;
      return 0;
    }
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_BY_FILENAME: {
      long f = refl__find_file(r, req->file_by_filename);
      if (f >= 0 && r->files[f].served) return refl__files(a, r, (size_t)f, resp);
      snprintf(msg, sizeof msg, "no file named \"%.*s\" is served here", REFL_NAME_SHOWN,
               req->file_by_filename);
      refl__error(a, resp, HD_NOT_FOUND, msg);
      return 0;
    }
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_SYMBOL: {
      const refl_symbol *sym = refl__find_symbol(r, req->file_containing_symbol);
      if (sym) return refl__files(a, r, sym->file, resp);
      snprintf(msg, sizeof msg,
               "no symbol named \"%.*s\" here (give a full name: package.Message, "
               "package.Service or package.Service.Method)",
               REFL_NAME_SHOWN, req->file_containing_symbol);
      refl__error(a, resp, HD_NOT_FOUND, msg);
      return 0;
    }
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_FILE_CONTAINING_EXTENSION: {
      const Grpc__Reflection__V1__ExtensionRequest *x = req->file_containing_extension;
      snprintf(msg, sizeof msg, "no extension %d of \"%.*s\" here (these protos declare none)",
               x ? x->extension_number : 0, REFL_NAME_SHOWN, x ? x->containing_type : "");
      refl__error(a, resp, HD_NOT_FOUND, msg);
      return 0;
    }
    case GRPC__REFLECTION__V1__SERVER_REFLECTION_REQUEST__MESSAGE_REQUEST_ALL_EXTENSION_NUMBERS_OF_TYPE: {
      const refl_symbol *sym = refl__find_symbol(r, req->all_extension_numbers_of_type);
      if (sym && sym->is_message) {
        Grpc__Reflection__V1__ExtensionNumberResponse *en =
            hd_arena_new_message(a, &grpc__reflection__v1__extension_number_response__descriptor);
        if (!en) return -1;
        en->base_type_name = sym->name; /* no extensions: the list is empty */
        resp->message_response_case =
            GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__MESSAGE_RESPONSE_ALL_EXTENSION_NUMBERS_RESPONSE;
        resp->all_extension_numbers_response = en;
        return 0;
      }
      snprintf(msg, sizeof msg, "no message type named \"%.*s\" here", REFL_NAME_SHOWN,
               req->all_extension_numbers_of_type);
      refl__error(a, resp, HD_NOT_FOUND, msg);
      return 0;
    }
    default:
      refl__error(a, resp, HD_INVALID_ARGUMENT,
                  "the request sets none of file_by_filename, file_containing_symbol, "
                  "file_containing_extension, all_extension_numbers_of_type, list_services");
      return 0;
  }
}

/* ServerReflectionInfo, v1 and v1alpha alike (their messages are the same on the wire): one
 * response per request, until the client closes its side. */
static int refl__info(hd_call *call, hd_stream *st, const ProtobufCMessage *unused) {
  (void)unused;
  hd_server *s = call->service;
  for (;;) {
    ProtobufCMessage *m;
    int got = hd_stream_recv(st, &grpc__reflection__v1__server_reflection_request__descriptor, &m,
                             INT64_MAX);
    if (got == HD_STREAM_END) return 0;
    if (got != HD_STREAM_MESSAGE) return -1;
    hd_arena *a = hd_arena_new(REFL_ARENA_CAP);
    if (!a) return hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "out of memory");
    Grpc__Reflection__V1__ServerReflectionResponse resp =
        GRPC__REFLECTION__V1__SERVER_REFLECTION_RESPONSE__INIT;
    int rc = refl__answer(s, a, (const void *)m, &resp);
    if (rc != 0)
      hd_err_set(&call->err, HD_RESOURCE_EXHAUSTED, "out of memory answering a reflection request");
    else
      rc = hd_stream_send(st, &resp.base, REFL_SEND_US);
    hd_arena_free(a);
    if (rc != 0) return -1;
  }
}

int rpc_reflection_register(hd_server *s, hd_err *err) {
  static const hd_stream_impl impls[] = {
      {"ServerReflectionInfo", refl__info, HD_METHOD_PUBLIC | HD_METHOD_STREAM_IN, 0, NULL}};
  const ProtobufCServiceDescriptor *descs[] = {
      &grpc__reflection__v1__server_reflection__descriptor,
      &grpc__reflection__v1alpha__server_reflection__descriptor};
  for (size_t i = 0; i < 2; i++)
    if (rpc_server_add_methods(s, descs[i], NULL, 0, s, true, err) != 0 ||
        hd_server_add_streams(s, descs[i], impls, 1, err) != 0)
      return -1;
  return 0;
}
