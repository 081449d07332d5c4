/* google.rpc.Status details from an hd_err and back (see status_details.h). */
#include "rpc/status_details.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "google/rpc/error_details.pb-c.h"
#include "google/rpc/status.pb-c.h"

#define TYPE_PREFIX      "type.googleapis.com/"
#define TYPE_BAD_REQUEST TYPE_PREFIX "google.rpc.BadRequest"
#define TYPE_ERROR_INFO  TYPE_PREFIX "google.rpc.ErrorInfo"
#define TYPE_RETRY_INFO  TYPE_PREFIX "google.rpc.RetryInfo"
#define DETAIL_BYTES     2048 /* one packed detail: its texts are bounded by hd_err's sizes */
#define META_CURRENT_VER "current_version"

/* Packs m into buf (DETAIL_BYTES) as the value of any, typed url. */
static int details__any(const ProtobufCMessage *m, const char *url, uint8_t *buf,
                        Google__Protobuf__Any *any) {
  size_t n = protobuf_c_message_get_packed_size(m);
  if (n > DETAIL_BYTES) return -1;
  protobuf_c_message_pack(m, buf);
  google__protobuf__any__init(any);
  any->type_url = (char *)url;
  any->value.data = buf;
  any->value.len = n;
  return 0;
}

int hd_rpc_status_details_pack(hd_code code, const char *msg, const hd_err *err, grpc_slice *out) {
  uint8_t bufs[3][DETAIL_BYTES];
  Google__Protobuf__Any anys[3];
  Google__Protobuf__Any *list[3];
  size_t n = 0;

  Google__Rpc__BadRequest__FieldViolation fv = GOOGLE__RPC__BAD_REQUEST__FIELD_VIOLATION__INIT;
  Google__Rpc__BadRequest__FieldViolation *fvs[1] = {&fv};
  Google__Rpc__BadRequest bad = GOOGLE__RPC__BAD_REQUEST__INIT;
  if (err && err->field[0]) {
    fv.field = (char *)err->field;
    fv.description = (char *)(msg ? msg : "");
    bad.n_field_violations = 1;
    bad.field_violations = fvs;
    if (details__any(&bad.base, TYPE_BAD_REQUEST, bufs[n], &anys[n])) return -1;
    list[n] = &anys[n];
    n++;
  }

  char version[24];
  Google__Rpc__ErrorInfo__MetadataEntry meta = GOOGLE__RPC__ERROR_INFO__METADATA_ENTRY__INIT;
  Google__Rpc__ErrorInfo__MetadataEntry *metas[1] = {&meta};
  Google__Rpc__ErrorInfo info = GOOGLE__RPC__ERROR_INFO__INIT;
  if (err && err->reason[0]) {
    info.reason = (char *)err->reason;
    info.domain = HD_RPC_ERROR_DOMAIN;
    if (err->current_version > 0) {
      snprintf(version, sizeof version, "%" PRId64, err->current_version);
      meta.key = META_CURRENT_VER;
      meta.value = version;
      info.n_metadata = 1;
      info.metadata = metas;
    }
    if (details__any(&info.base, TYPE_ERROR_INFO, bufs[n], &anys[n])) return -1;
    list[n] = &anys[n];
    n++;
  }

  int64_t retry_ms = err ? err->retry_after_ms : 0;
  if (retry_ms <= 0 && code == HD_UNAVAILABLE) retry_ms = HD_RPC_RETRY_UNAVAILABLE_MS;
  Google__Protobuf__Duration delay = GOOGLE__PROTOBUF__DURATION__INIT;
  Google__Rpc__RetryInfo retry = GOOGLE__RPC__RETRY_INFO__INIT;
  if (retry_ms > 0) {
    delay.seconds = retry_ms / 1000;
    delay.nanos = (int32_t)(retry_ms % 1000) * 1000000;
    retry.retry_delay = &delay;
    if (details__any(&retry.base, TYPE_RETRY_INFO, bufs[n], &anys[n])) return -1;
    list[n] = &anys[n];
    n++;
  }

  Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
  st.code = (int32_t)code;
  st.message = (char *)(msg ? msg : "");
  st.n_details = n;
  st.details = n ? list : NULL;
  size_t len = protobuf_c_message_get_packed_size(&st.base);
  grpc_slice s = grpc_slice_malloc(len);
  protobuf_c_message_pack(&st.base, GRPC_SLICE_START_PTR(s));
  *out = s;
  return 0;
}

/* Copies the bytes of a string field into dst (cap bytes), cut at its limit. */
static void details__copy(char *dst, size_t cap, const char *src) {
  snprintf(dst, cap, "%s", src ? src : "");
}

/* Reads one Any into err's details; other types are skipped. */
static void details__read(const Google__Protobuf__Any *any, hd_err *err) {
  const char *url = any->type_url ? any->type_url : "";
  if (strcmp(url, TYPE_BAD_REQUEST) == 0) {
    Google__Rpc__BadRequest *b =
        google__rpc__bad_request__unpack(NULL, any->value.len, any->value.data);
    if (b && b->n_field_violations > 0)
      details__copy(err->field, sizeof err->field, b->field_violations[0]->field);
    if (b) google__rpc__bad_request__free_unpacked(b, NULL);
  } else if (strcmp(url, TYPE_ERROR_INFO) == 0) {
    Google__Rpc__ErrorInfo *e =
        google__rpc__error_info__unpack(NULL, any->value.len, any->value.data);
    if (e && e->domain && strcmp(e->domain, HD_RPC_ERROR_DOMAIN) == 0) {
      details__copy(err->reason, sizeof err->reason, e->reason);
      for (size_t i = 0; i < e->n_metadata; i++)
        if (e->metadata[i]->key && strcmp(e->metadata[i]->key, META_CURRENT_VER) == 0 &&
            e->metadata[i]->value)
          err->current_version = strtoll(e->metadata[i]->value, NULL, 10);
    }
    if (e) google__rpc__error_info__free_unpacked(e, NULL);
  } else if (strcmp(url, TYPE_RETRY_INFO) == 0) {
    Google__Rpc__RetryInfo *r =
        google__rpc__retry_info__unpack(NULL, any->value.len, any->value.data);
    if (r && r->retry_delay && r->retry_delay->seconds >= 0 &&
        r->retry_delay->seconds < INT64_MAX / 1000 - 1)
      err->retry_after_ms = r->retry_delay->seconds * 1000 + r->retry_delay->nanos / 1000000;
    if (r) google__rpc__retry_info__free_unpacked(r, NULL);
  }
}

int hd_rpc_status_details_unpack(const void *bytes, size_t len, hd_err *err) {
  if (len > HD_RPC_STATUS_DETAILS_MAX) return -1;
  Google__Rpc__Status *st = google__rpc__status__unpack(NULL, len, bytes);
  if (!st) return -1;
  if (err)
    for (size_t i = 0; i < st->n_details; i++) details__read(st->details[i], err);
  google__rpc__status__free_unpacked(st, NULL);
  return 0;
}
