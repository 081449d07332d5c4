/* Streams with consumer groups: XADD with approximate trimming, XGROUP CREATE, XREADGROUP, XACK
 * and XAUTOCLAIM, with the nested replies turned into hd_kv_batch. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kv/kv_internal.h"
#include "log/log.h"

/* Deliveries of a claimed entry when XPENDING could not tell: it was delivered before. */
#define KV_STREAM_CLAIMED_DELIVERIES 2

static int kv_stream__oom(const char *cmd, hd_err *err) {
  return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading the reply to redis %s", cmd);
}

/* A NUL-terminated copy of a string reply. Caller frees with free(); NULL when out of memory. */
static char *kv_stream__dup(const redisReply *r) {
  char *s = malloc(r->len + 1);
  if (!s) return NULL;
  if (r->len) memcpy(s, r->str, r->len);
  s[r->len] = '\0';
  return s;
}

static void kv_stream__entry_free(hd_kv_entry *e) {
  for (size_t i = 0; i < e->n; i++) {
    free((void *)e->fields[i].name);
    free((void *)e->fields[i].value);
  }
  free(e->fields);
  free(e->id);
  memset(e, 0, sizeof *e);
}

void hd_kv_batch_free(hd_kv_batch *b) {
  if (!b) return;
  for (size_t i = 0; i < b->n; i++) kv_stream__entry_free(&b->entries[i]);
  free(b->entries);
  b->entries = NULL;
  b->n = 0;
}

/* Parses [id, [field, value, ...]] into e; the fields are nil for an entry deleted since it was
 * delivered (then n = 0). e owns what it holds: kv_stream__entry_free(); left empty on failure. */
static int kv_stream__entry(const redisReply *r, const char *cmd, int64_t deliveries,
                            hd_kv_entry *e, hd_err *err) {
  int rc = -1;
  memset(e, 0, sizeof *e);
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
      r->element[0]->type != REDIS_REPLY_STRING ||
      (r->element[1]->type != REDIS_REPLY_NIL &&
       (r->element[1]->type != REDIS_REPLY_ARRAY || r->element[1]->elements % 2 != 0))) {
    kv_reply_unexpected(cmd, err);
    goto done;
  }
  const redisReply *f = r->element[1];
  e->deliveries = deliveries;
  e->id = kv_stream__dup(r->element[0]);
  if (!e->id || (f->type == REDIS_REPLY_ARRAY && f->elements > 0 &&
                 !(e->fields = calloc(f->elements / 2, sizeof *e->fields)))) {
    kv_stream__oom(cmd, err);
    goto done;
  }
  for (size_t i = 0; f->type == REDIS_REPLY_ARRAY && i + 1 < f->elements; i += 2) {
    const redisReply *name = f->element[i], *value = f->element[i + 1];
    if (name->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING) {
      kv_reply_unexpected(cmd, err);
      goto done;
    }
    hd_kv_field *out = &e->fields[e->n];
    out->name = kv_stream__dup(name);
    out->value = kv_stream__dup(value);
    out->value_len = value->len;
    e->n++; /* counted now so a failure below frees both copies */
    if (!out->name || !out->value) {
      kv_stream__oom(cmd, err);
      goto done;
    }
  }
  rc = 0;
done:
  if (rc != 0) kv_stream__entry_free(e);
  return rc;
}

/* Appends the entries of list (an array of entries; nil elements, deleted entries in Redis 6.2's
 * XAUTOCLAIM, are skipped) to out. */
static int kv_stream__entries(const redisReply *list, const char *cmd, int64_t deliveries,
                              hd_kv_batch *out, hd_err *err) {
  if (list->type != REDIS_REPLY_ARRAY) return kv_reply_unexpected(cmd, err);
  if (list->elements == 0) return 0;
  hd_kv_entry *grown = realloc(out->entries, (out->n + list->elements) * sizeof *grown);
  if (!grown) return kv_stream__oom(cmd, err);
  out->entries = grown;
  for (size_t i = 0; i < list->elements; i++) {
    if (list->element[i]->type == REDIS_REPLY_NIL) continue;
    if (kv_stream__entry(list->element[i], cmd, deliveries, &out->entries[out->n], err) != 0)
      return -1;
    out->n++;
  }
  return 0;
}

int hd_kv_stream_add(hd_kv *kv, const char *stream, int64_t maxlen, const hd_kv_field *fields,
                     size_t n, char **id, hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  const char **argv = NULL;
  size_t *argvlen = NULL;
  char maxlen_buf[KV_I64_BUF];
  if (id) *id = NULL;
  if (kv_check_name("stream name", stream, err) != 0) goto done;
  if (maxlen < 1) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "stream maxlen %" PRId64 " must be at least 1", maxlen);
    goto done;
  }
  if (n < 1 || n > HD_KV_MAX_FIELDS || !fields) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "a stream entry takes 1..%d fields, got %zu",
               HD_KV_MAX_FIELDS, n);
    goto done;
  }
  for (size_t i = 0; i < n; i++) {
    if (kv_check_name("stream field name", fields[i].name, err) != 0) goto done;
    if (fields[i].value_len > HD_KV_MAX_VALUE || (!fields[i].value && fields[i].value_len > 0)) {
      hd_err_set(err, HD_INVALID_ARGUMENT,
                 "stream field %s: value is missing or longer than %u bytes", fields[i].name,
                 HD_KV_MAX_VALUE);
      goto done;
    }
  }
  const size_t argc = 6 + 2 * n;
  argv = malloc(argc * sizeof *argv);
  argvlen = malloc(argc * sizeof *argvlen);
  if (!argv || !argvlen) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory building an XADD");
    goto done;
  }
  const char *head[6] = {"XADD", stream, "MAXLEN", "~", maxlen_buf, "*"};
  const size_t head_len[6] = {4, strlen(stream), 6, 1, kv_fmt_i64(maxlen_buf, maxlen), 1};
  memcpy(argv, head, sizeof head);
  memcpy(argvlen, head_len, sizeof head_len);
  for (size_t i = 0; i < n; i++) {
    argv[6 + 2 * i] = fields[i].name;
    argvlen[6 + 2 * i] = strlen(fields[i].name);
    argv[7 + 2 * i] = fields[i].value ? fields[i].value : "";
    argvlen[7 + 2 * i] = fields[i].value_len;
  }
  /* Not idempotent: a repeat would add the entry twice. */
  if (kv_call(kv, (int)argc, argv, argvlen, false, 0, &r, err) != 0) goto done;
  if (r->type == REDIS_REPLY_ERROR) {
    kv_reply_error(r, "XADD", err);
    goto done;
  }
  if (r->type != REDIS_REPLY_STRING) {
    kv_reply_unexpected("XADD", err);
    goto done;
  }
  if (id) {
    *id = kv_stream__dup(r);
    if (!*id) {
      kv_stream__oom("XADD", err);
      goto done;
    }
  }
  rc = 0;
done:
  if (r) freeReplyObject(r);
  free(argv);
  free(argvlen);
  return rc;
}

int hd_kv_group_ensure(hd_kv *kv, const char *stream, const char *group, hd_err *err) {
  return hd_kv_group_ensure_at(kv, stream, group, "$", err);
}

int hd_kv_group_ensure_at(hd_kv *kv, const char *stream, const char *group, const char *start_id,
                          hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  if (kv_check_name("stream name", stream, err) != 0 ||
      kv_check_name("consumer group", group, err) != 0 ||
      kv_check_name("group start id", start_id, err) != 0)
    goto done;
  const char *argv[] = {"XGROUP", "CREATE", stream, group, start_id, "MKSTREAM"};
  /* Idempotent: a second create answers BUSYGROUP, which is success here. */
  if (kv_call(kv, 6, argv, NULL, true, 0, &r, err) != 0) goto done;
  if (r->type == REDIS_REPLY_ERROR) {
    if (r->len >= 9 && memcmp(r->str, "BUSYGROUP", 9) == 0) {
      rc = 0;
      goto done;
    }
    kv_reply_error(r, "XGROUP CREATE", err);
    goto done;
  }
  if (r->type != REDIS_REPLY_STATUS) {
    kv_reply_unexpected("XGROUP CREATE", err);
    goto done;
  }
  rc = 0;
done:
  if (r) freeReplyObject(r);
  return rc;
}

static int kv_stream__check_reader(const char *stream, const char *group, const char *consumer,
                                   size_t count, hd_err *err) {
  if (kv_check_name("stream name", stream, err) != 0 ||
      kv_check_name("consumer group", group, err) != 0 ||
      kv_check_name("consumer name", consumer, err) != 0)
    return -1;
  if (count < 1 || count > HD_KV_MAX_COUNT)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "count %zu is outside 1..%d", count,
                      HD_KV_MAX_COUNT);
  return 0;
}

/* XREADGROUP from start (">" new entries, "0" this consumer's pending ones); inputs checked by
 * the caller. *out as for hd_kv_stream_read. */
static int kv_stream__read(hd_kv *kv, const char *stream, const char *group, const char *consumer,
                           size_t count, int64_t block_ms, const char *start, hd_kv_batch *out,
                           hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  char count_buf[KV_I64_BUF], block_buf[KV_I64_BUF];
  kv_fmt_i64(count_buf, (int64_t)count);
  kv_fmt_i64(block_buf, block_ms);
  const char *argv[11] = {"XREADGROUP", "GROUP", group, consumer, "COUNT", count_buf};
  int argc = 6;
  if (block_ms > 0) {
    argv[argc++] = "BLOCK";
    argv[argc++] = block_buf;
  }
  argv[argc++] = "STREAMS";
  argv[argc++] = stream;
  argv[argc++] = start;
  /* Not retried: entries delivered in a lost reply stay pending and are claimed later. The socket
   * waits block_ms longer than usual for the blocked read. */
  if (kv_call(kv, argc, argv, NULL, false, block_ms > 0 ? block_ms : 0, &r, err) != 0) goto done;
  if (r->type == REDIS_REPLY_ERROR) {
    kv_reply_error(r, "XREADGROUP", err);
    goto done;
  }
  if (r->type != REDIS_REPLY_NIL) {
    if (r->type != REDIS_REPLY_ARRAY) {
      kv_reply_unexpected("XREADGROUP", err);
      goto done;
    }
    for (size_t i = 0; i < r->elements; i++) {
      const redisReply *s = r->element[i];
      if (s->type != REDIS_REPLY_ARRAY || s->elements != 2) {
        kv_reply_unexpected("XREADGROUP", err);
        goto done;
      }
      if (kv_stream__entries(s->element[1], "XREADGROUP", 1, out, err) != 0) goto done;
    }
  }
  rc = 0;
done:
  if (r) freeReplyObject(r);
  if (rc != 0) hd_kv_batch_free(out);
  return rc;
}

int hd_kv_stream_read(hd_kv *kv, const char *stream, const char *group, const char *consumer,
                      size_t count, int64_t block_ms, hd_kv_batch *out, hd_err *err) {
  *out = (hd_kv_batch){0};
  if (kv_stream__check_reader(stream, group, consumer, count, err) != 0) return -1;
  if (block_ms == 0 || block_ms > HD_KV_MAX_BLOCK_MS)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "block_ms %" PRId64
                      " is outside 1..%d (0 would wait forever; < 0 does not wait)",
                      block_ms, HD_KV_MAX_BLOCK_MS);
  return kv_stream__read(kv, stream, group, consumer, count, block_ms, ">", out, err);
}

int hd_kv_stream_ack(hd_kv *kv, const char *stream, const char *group, const char *id,
                     hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  if (kv_check_name("stream name", stream, err) != 0 ||
      kv_check_name("consumer group", group, err) != 0 ||
      kv_check_name("stream entry id", id, err) != 0)
    goto done;
  const char *argv[] = {"XACK", stream, group, id};
  /* Idempotent: acknowledging twice is acknowledging once. */
  if (kv_call(kv, 4, argv, NULL, true, 0, &r, err) != 0) goto done;
  if (r->type == REDIS_REPLY_ERROR) {
    kv_reply_error(r, "XACK", err);
    goto done;
  }
  if (r->type != REDIS_REPLY_INTEGER) {
    kv_reply_unexpected("XACK", err);
    goto done;
  }
  rc = 0;
done:
  if (r) freeReplyObject(r);
  return rc;
}

/* A stream id "<ms>-<seq>" as two numbers; -1 when it is not one. */
static int kv_stream__id_parse(const char *id, unsigned long long *ms, unsigned long long *seq) {
  char *end = NULL;
  *ms = strtoull(id, &end, 10);
  if (end == id || *end != '-') return -1;
  const char *s = end + 1;
  *seq = strtoull(s, &end, 10);
  if (end == s || *end != '\0') return -1;
  return 0;
}

int hd_kv_stream_id_parse(const char *id, uint64_t *ms, uint64_t *seq) {
  unsigned long long m = 0, q = 0;
  if (!id || kv_stream__id_parse(id, &m, &q) != 0) return -1;
  *ms = m;
  *seq = q;
  return 0;
}

/* Orders stream ids numerically (as Redis does); ids that do not parse compare as text. */
static int kv_stream__id_cmp(const char *a, const char *b) {
  unsigned long long am, as, bm, bs;
  if (kv_stream__id_parse(a, &am, &as) != 0 || kv_stream__id_parse(b, &bm, &bs) != 0)
    return strcmp(a, b);
  if (am != bm) return am < bm ? -1 : 1;
  if (as != bs) return as < bs ? -1 : 1;
  return 0;
}

/* Fills the deliveries of freshly claimed entries (sorted by id, as XAUTOCLAIM gives them) from
 * one XPENDING over their id range for this consumer. Entries it does not list keep theirs. */
static int kv_stream__deliveries(hd_kv *kv, const char *stream, const char *group,
                                 const char *consumer, hd_kv_batch *b, hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  char count_buf[KV_I64_BUF];
  kv_fmt_i64(count_buf, HD_KV_MAX_COUNT);
  const char *argv[] = {"XPENDING", stream,  group, b->entries[0].id, b->entries[b->n - 1].id,
                        count_buf,  consumer};
  if (kv_call(kv, 7, argv, NULL, true, 0, &r, err) != 0) goto done;
  if (r->type == REDIS_REPLY_ERROR) {
    kv_reply_error(r, "XPENDING", err);
    goto done;
  }
  if (r->type != REDIS_REPLY_ARRAY) {
    kv_reply_unexpected("XPENDING", err);
    goto done;
  }
  size_t e = 0;
  for (size_t i = 0; i < r->elements && e < b->n; i++) {
    const redisReply *row = r->element[i];
    if (row->type != REDIS_REPLY_ARRAY || row->elements != 4 ||
        row->element[0]->type != REDIS_REPLY_STRING ||
        row->element[3]->type != REDIS_REPLY_INTEGER) {
      kv_reply_unexpected("XPENDING", err);
      goto done;
    }
    const char *row_id = row->element[0]->str;
    while (e < b->n && kv_stream__id_cmp(b->entries[e].id, row_id) < 0) e++;
    if (e < b->n && kv_stream__id_cmp(b->entries[e].id, row_id) == 0)
      b->entries[e++].deliveries = row->element[3]->integer;
  }
  rc = 0;
done:
  if (r) freeReplyObject(r);
  return rc;
}

int hd_kv_stream_claim_stale(hd_kv *kv, const char *stream, const char *group, const char *consumer,
                             int64_t min_idle_ms, size_t count, hd_kv_batch *out, hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  char idle_buf[KV_I64_BUF], count_buf[KV_I64_BUF];
  *out = (hd_kv_batch){0};
  if (kv_stream__check_reader(stream, group, consumer, count, err) != 0) goto done;
  if (min_idle_ms < 0) {
    hd_err_set(err, HD_INVALID_ARGUMENT, "min_idle_ms %" PRId64 " must not be negative",
               min_idle_ms);
    goto done;
  }
  kv_fmt_i64(idle_buf, min_idle_ms);
  kv_fmt_i64(count_buf, (int64_t)count);
  const char *argv[] = {"XAUTOCLAIM", stream, group, consumer, idle_buf, "0-0", "COUNT", count_buf};
  /* Not retried: a repeat would find the entries just claimed no longer idle. */
  if (kv_call(kv, 8, argv, NULL, false, 0, &r, err) != 0) goto done;
  if (r->type == REDIS_REPLY_ERROR) {
    kv_reply_error(r, "XAUTOCLAIM", err);
    goto done;
  }
  /* [next-id, [entries], [deleted ids]] in Redis 7; the last element is missing in 6.2. */
  if (r->type != REDIS_REPLY_ARRAY || r->elements < 2) {
    kv_reply_unexpected("XAUTOCLAIM", err);
    goto done;
  }
  if (kv_stream__entries(r->element[1], "XAUTOCLAIM", KV_STREAM_CLAIMED_DELIVERIES, out, err) != 0)
    goto done;
  if (out->n > 0) {
    /* The claim has happened: the entries are ours now, so a failed XPENDING only costs the
     * exact delivery counts. */
    hd_err perr = {0};
    if (kv_stream__deliveries(kv, stream, group, consumer, out, &perr) != 0)
      hd_log_warn("kv.xpending_failed", "stream", stream, "reason", perr.msg);
  }
  rc = 0;
done:
  if (r) freeReplyObject(r);
  if (rc != 0) hd_kv_batch_free(out);
  return rc;
}

int hd_kv_stream_read_pending(hd_kv *kv, const char *stream, const char *group,
                              const char *consumer, size_t count, hd_kv_batch *out, hd_err *err) {
  *out = (hd_kv_batch){0};
  if (kv_stream__check_reader(stream, group, consumer, count, err) != 0) return -1;
  if (kv_stream__read(kv, stream, group, consumer, count, -1, "0", out, err) != 0) return -1;
  if (out->n > 0) {
    /* Re-read entries were delivered before: at least twice now, exactly when XPENDING tells. */
    for (size_t i = 0; i < out->n; i++) out->entries[i].deliveries = KV_STREAM_CLAIMED_DELIVERIES;
    hd_err perr = {0};
    if (kv_stream__deliveries(kv, stream, group, consumer, out, &perr) != 0)
      hd_log_warn("kv.xpending_failed", "stream", stream, "reason", perr.msg);
  }
  return 0;
}

/* The value after field `name` in a flat [name, value, ...] reply, or NULL. */
static const redisReply *kv_stream__info_field(const redisReply *row, const char *name) {
  for (size_t i = 0; i + 1 < row->elements; i += 2) {
    const redisReply *k = row->element[i];
    if ((k->type == REDIS_REPLY_STRING || k->type == REDIS_REPLY_STATUS) &&
        k->len == strlen(name) && memcmp(k->str, name, k->len) == 0)
      return row->element[i + 1];
  }
  return NULL;
}

int hd_kv_group_info_get(hd_kv *kv, const char *stream, const char *group, hd_kv_group_info *out,
                         hd_err *err) {
  int rc = -1;
  redisReply *r = NULL;
  *out = (hd_kv_group_info){.lag = -1};
  snprintf(out->last_delivered, sizeof out->last_delivered, "0-0");
  if (kv_check_name("stream name", stream, err) != 0 ||
      kv_check_name("consumer group", group, err) != 0)
    goto done;
  const char *argv[] = {"XINFO", "GROUPS", stream};
  if (kv_call(kv, 3, argv, NULL, true, 0, &r, err) != 0) goto done;
  if (r->type == REDIS_REPLY_ERROR) {
    /* "ERR no such key": the stream is gone (never made, deleted, or Redis was wiped). */
    if (strstr(r->str, "no such key")) {
      rc = 0;
      goto done;
    }
    kv_reply_error(r, "XINFO GROUPS", err);
    goto done;
  }
  if (r->type != REDIS_REPLY_ARRAY) {
    kv_reply_unexpected("XINFO GROUPS", err);
    goto done;
  }
  out->stream_exists = true;
  for (size_t i = 0; i < r->elements; i++) {
    const redisReply *row = r->element[i];
    if (row->type != REDIS_REPLY_ARRAY) {
      kv_reply_unexpected("XINFO GROUPS", err);
      goto done;
    }
    const redisReply *name = kv_stream__info_field(row, "name");
    if (!name || name->type != REDIS_REPLY_STRING || name->len != strlen(group) ||
        memcmp(name->str, group, name->len) != 0)
      continue;
    out->group_exists = true;
    const redisReply *last = kv_stream__info_field(row, "last-delivered-id");
    const redisReply *pending = kv_stream__info_field(row, "pending");
    const redisReply *lag = kv_stream__info_field(row, "lag");
    if (!last || last->type != REDIS_REPLY_STRING || last->len >= sizeof out->last_delivered ||
        !pending || pending->type != REDIS_REPLY_INTEGER) {
      kv_reply_unexpected("XINFO GROUPS", err);
      goto done;
    }
    memcpy(out->last_delivered, last->str, last->len);
    out->last_delivered[last->len] = '\0';
    out->pending = pending->integer;
    if (lag && lag->type == REDIS_REPLY_INTEGER) out->lag = lag->integer;
    break;
  }
  rc = 0;
done:
  if (r) freeReplyObject(r);
  return rc;
}
