/* The metrics registry (see metrics.h): rpc counters and latency histograms by method, error
 * counters, named gauges, one mutex, and the text exposition format 0.0.4. */
#include "metrics/metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"

#define METRICS_N_CODES    17   /* OK .. UNAUTHENTICATED */
#define METRICS_HASH_SLOTS 512u /* > 2 × (HD_METRICS_MAX_METHODS + 1), a power of two */
#define METRICS_OTHER      "_other"

static const int64_t metrics_bucket_us[HD_METRICS_N_BUCKETS] = {
    500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000};

/* One method label value: its calls by code and its latency histogram (counts not cumulative). */
typedef struct metrics_method {
  char name[HD_METRICS_MAX_METHOD + 1];
  uint64_t by_code[METRICS_N_CODES];
  uint64_t buckets[HD_METRICS_N_BUCKETS];
  uint64_t count;
  uint64_t sum_us;
} metrics_method;

/* One gauge series: the family name and its rendered, escaped, sorted labels (`a="1",b="2"`). */
typedef struct metrics_gauge {
  char *name;   /* owned */
  char *labels; /* owned; "" when none */
  double value;
  bool counter; /* a counter series (hd_metrics_counter_add), rendered with TYPE counter */
} metrics_gauge;

typedef struct metrics_help {
  char *name; /* owned */
  char *help; /* owned */
} metrics_help;

struct hd_metrics {
  pthread_mutex_t mu;
  metrics_method *methods; /* HD_METRICS_MAX_METHODS + 1 (the last is "_other") at most */
  size_t n_methods, cap_methods;
  uint16_t slots[METRICS_HASH_SLOTS]; /* index + 1 into methods, 0 = empty */
  metrics_gauge *gauges;
  size_t n_gauges, cap_gauges;
  metrics_help *helps;
  size_t n_helps, cap_helps;
  uint64_t db_errors;
  uint64_t redis_errors;
};

static const struct {
  const char *name;
  const char *help;
} metrics_known_help[] = {
    {HD_METRIC_OUTBOX_LAG_SECONDS,
     "Age in seconds of the oldest outbox row not yet published to the event stream."},
    {HD_METRIC_OUTBOX_PENDING, "Outbox rows not yet published to the event stream."},
    {HD_METRIC_EVENT_STREAM_LAG, "Event stream entries a consumer group has not read yet."},
    {HD_METRIC_QUEUE_DEPTH, "Tickets waiting in a queue."},
    {HD_METRIC_QUEUE_OLDEST_AGE_SECONDS, "Age in seconds of the oldest ticket waiting in a queue."},
    {HD_METRIC_ESCALATIONS_OPEN,
     "Escalations to a department not resolved or bounced yet (open or acknowledged)."},
    {HD_METRIC_ESCALATIONS_OVERDUE,
     "Open escalations to a department past their response window without an update."},
    {HD_METRIC_EVENTS_APPLIED, "Events a consumer group applied (committed and acknowledged)."},
    {HD_METRIC_EVENTS_DUPLICATES,
     "Events a consumer group had already applied, acknowledged and skipped."},
    {HD_METRIC_EVENTS_DEAD_LETTERED,
     "Events a consumer group moved to its dead-letter stream after failing."},
    {HD_METRIC_PEER_REQUESTS,
     "Attempts of calls to another service, by peer, method and the status the peer answered."},
};

/* The families this file renders itself: a gauge may not take their names. */
static const char *const metrics_builtin[] = {
    "helpdesk_rpc_requests_total", "helpdesk_rpc_duration_seconds", "helpdesk_db_errors_total",
    "helpdesk_redis_errors_total"};

int hd_metrics_new(hd_metrics **out, hd_err *err) {
  hd_metrics *m = calloc(1, sizeof *m);
  if (!m)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory creating the metrics registry");
  if (pthread_mutex_init(&m->mu, NULL) != 0) {
    free(m);
    return hd_err_set(err, HD_INTERNAL, "cannot create the metrics registry's mutex");
  }
  *out = m;
  return 0;
}

void hd_metrics_free(hd_metrics *m) {
  if (!m) return;
  for (size_t i = 0; i < m->n_gauges; i++) {
    free(m->gauges[i].name);
    free(m->gauges[i].labels);
  }
  for (size_t i = 0; i < m->n_helps; i++) {
    free(m->helps[i].name);
    free(m->helps[i].help);
  }
  free(m->gauges);
  free(m->helps);
  free(m->methods);
  pthread_mutex_destroy(&m->mu);
  free(m);
}

static uint32_t metrics__hash(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

/* The entry for method (already cleaned), created when new; "_other" once the cap is reached.
 * NULL only when out of memory. Called with m->mu held. */
static metrics_method *metrics__method(hd_metrics *m, const char *name) {
  uint32_t slot = metrics__hash(name) & (METRICS_HASH_SLOTS - 1);
  while (m->slots[slot]) {
    metrics_method *e = &m->methods[m->slots[slot] - 1];
    if (strcmp(e->name, name) == 0) return e;
    slot = (slot + 1) & (METRICS_HASH_SLOTS - 1);
  }
  if (m->n_methods >= HD_METRICS_MAX_METHODS && strcmp(name, METRICS_OTHER) != 0)
    return metrics__method(m, METRICS_OTHER);
  if (m->n_methods == m->cap_methods) {
    size_t cap = m->cap_methods ? m->cap_methods * 2 : 16;
    if (cap > HD_METRICS_MAX_METHODS + 1) cap = HD_METRICS_MAX_METHODS + 1;
    metrics_method *grown = realloc(m->methods, cap * sizeof *grown);
    if (!grown) return NULL;
    m->methods = grown;
    m->cap_methods = cap;
  }
  metrics_method *e = &m->methods[m->n_methods];
  memset(e, 0, sizeof *e);
  snprintf(e->name, sizeof e->name, "%s", name);
  m->n_methods++;
  m->slots[slot] = (uint16_t)m->n_methods;
  return e;
}

void hd_metrics_observe_rpc(hd_metrics *m, const char *method, hd_code code, int64_t duration_us) {
  if (!m) return;
  /* The label value: printable ASCII only (so always valid UTF-8), cut at the cap. */
  char name[HD_METRICS_MAX_METHOD + 1];
  size_t n = 0;
  for (const char *p = method ? method : ""; *p && n < HD_METRICS_MAX_METHOD; p++, n++)
    name[n] = (*p >= 0x20 && *p <= 0x7e) ? *p : '_';
  name[n] = '\0';
  unsigned c = (unsigned)code < METRICS_N_CODES ? (unsigned)code : (unsigned)HD_UNKNOWN;
  uint64_t us = duration_us > 0 ? (uint64_t)duration_us : 0;
  size_t b = 0;
  while (b < HD_METRICS_N_BUCKETS && us > (uint64_t)metrics_bucket_us[b]) b++;
  pthread_mutex_lock(&m->mu);
  metrics_method *e = metrics__method(m, name);
  if (e) {
    e->by_code[c]++;
    if (b < HD_METRICS_N_BUCKETS) e->buckets[b]++;
    e->count++;
    e->sum_us += us;
  }
  pthread_mutex_unlock(&m->mu);
}

void hd_metrics_db_error(hd_metrics *m) {
  if (!m) return;
  pthread_mutex_lock(&m->mu);
  m->db_errors++;
  pthread_mutex_unlock(&m->mu);
}

void hd_metrics_redis_error(hd_metrics *m) {
  if (!m) return;
  pthread_mutex_lock(&m->mu);
  m->redis_errors++;
  pthread_mutex_unlock(&m->mu);
}

/* A growing text buffer with a hard cap; once past it every later add is dropped and `over` set. */
typedef struct metrics_buf {
  char *p;
  size_t len, cap, max;
  bool over;
} metrics_buf;

static void buf__add(metrics_buf *b, const char *s, size_t n) {
  if (b->over) return;
  if (b->len + n + 1 > b->max) {
    b->over = true;
    return;
  }
  if (b->len + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + n + 1) cap *= 2;
    if (cap > b->max) cap = b->max;
    char *grown = realloc(b->p, cap);
    if (!grown) {
      b->over = true;
      return;
    }
    b->p = grown;
    b->cap = cap;
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}

static void buf__str(metrics_buf *b, const char *s) { buf__add(b, s, strlen(s)); }

static void buf__printf(metrics_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf__printf(metrics_buf *b, const char *fmt, ...) {
  char tmp[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof tmp) {
    b->over = true;
    return;
  }
  buf__add(b, tmp, (size_t)n);
}

/* A label value or HELP text, escaped: backslash and newline always, the double quote in
 * label values only (the format says so). */
static void buf__escaped(metrics_buf *b, const char *s, bool quote) {
  for (; *s; s++) {
    if (*s == '\\')
      buf__add(b, "\\\\", 2);
    else if (*s == '\n')
      buf__add(b, "\\n", 2);
    else if (quote && *s == '"')
      buf__add(b, "\\\"", 2);
    else
      buf__add(b, s, 1);
  }
}

/* A sample value: the shortest of %.15g / %.17g that reads back exactly; NaN and ±Inf spelled
 * as the format wants. */
static void buf__value(metrics_buf *b, double v) {
  if (isnan(v)) {
    buf__str(b, "NaN");
    return;
  }
  if (isinf(v)) {
    buf__str(b, v > 0 ? "+Inf" : "-Inf");
    return;
  }
  char tmp[40];
  snprintf(tmp, sizeof tmp, "%.15g", v);
  if (strtod(tmp, NULL) != v) snprintf(tmp, sizeof tmp, "%.17g", v);
  buf__str(b, tmp);
}

static void buf__family(metrics_buf *b, const char *name, const char *type, const char *help) {
  buf__str(b, "# HELP ");
  buf__str(b, name);
  buf__str(b, " ");
  buf__escaped(b, help, false);
  buf__str(b, "\n# TYPE ");
  buf__str(b, name);
  buf__str(b, " ");
  buf__str(b, type);
  buf__str(b, "\n");
}

static bool metrics__name_ok(const char *s, bool label) {
  size_t n = strlen(s);
  if (n == 0 || n > HD_METRICS_MAX_NAME) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (!label && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return !(label && n >= 2 && s[0] == '_' && s[1] == '_'); /* "__" names are Prometheus' own */
}

static bool metrics__builtin(const char *name) {
  for (size_t i = 0; i < sizeof metrics_builtin / sizeof metrics_builtin[0]; i++)
    if (strncmp(name, metrics_builtin[i], strlen(metrics_builtin[i])) == 0) return true;
  return false;
}

/* Renders labels (validated, sorted by name) as `a="1",b="2"` into *out (caller frees). */
static int metrics__labels(const char *const *labels, char **out, hd_err *err) {
  const char *names[HD_METRICS_MAX_LABELS], *values[HD_METRICS_MAX_LABELS];
  size_t n = 0;
  for (size_t i = 0; labels && labels[i]; i += 2) {
    if (n == HD_METRICS_MAX_LABELS)
      return hd_err_set(err, HD_INVALID_ARGUMENT, "a gauge series takes at most %d labels",
                        HD_METRICS_MAX_LABELS);
    const char *k = labels[i], *v = labels[i + 1];
    if (!v) return hd_err_set(err, HD_INVALID_ARGUMENT, "label %.64s has no value", k);
    if (!metrics__name_ok(k, true))
      return hd_err_set(err, HD_INVALID_ARGUMENT, "\"%.64s\" is not a valid label name", k);
    size_t vl = strlen(v);
    if (vl > HD_METRICS_MAX_LABEL_VALUE)
      return hd_err_set(err, HD_INVALID_ARGUMENT,
                        "the value of label %s is %zu bytes, more than %d", k, vl,
                        HD_METRICS_MAX_LABEL_VALUE);
    if (!hd_utf8_valid(v, vl, NULL))
      return hd_err_set(err, HD_INVALID_ARGUMENT, "the value of label %s is not valid UTF-8", k);
    size_t j = n;
    while (j > 0 && strcmp(names[j - 1], k) > 0) {
      names[j] = names[j - 1];
      values[j] = values[j - 1];
      j--;
    }
    if (j > 0 && strcmp(names[j - 1], k) == 0)
      return hd_err_set(err, HD_INVALID_ARGUMENT, "label %s is given twice", k);
    names[j] = k;
    values[j] = v;
    n++;
  }
  metrics_buf b = {
      .max =
          HD_METRICS_MAX_LABELS * (HD_METRICS_MAX_NAME + 2 * HD_METRICS_MAX_LABEL_VALUE + 4) + 1};
  buf__add(&b, "", 0);
  for (size_t i = 0; i < n; i++) {
    if (i) buf__str(&b, ",");
    buf__str(&b, names[i]);
    buf__str(&b, "=\"");
    buf__escaped(&b, values[i], true);
    buf__str(&b, "\"");
  }
  if (b.over) {
    free(b.p);
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory rendering gauge labels");
  }
  *out = b.p;
  return 0;
}

/* Sets (add false) or adds to (add true) the series name{labels} of that kind, creating it. */
static int metrics__series(hd_metrics *m, const char *name, const char *const *labels, bool counter,
                           bool add, double value, hd_err *err) {
  if (!name || !metrics__name_ok(name, false))
    return hd_err_set(err, HD_INVALID_ARGUMENT, "\"%.64s\" is not a valid metric name",
                      name ? name : "");
  if (metrics__builtin(name))
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s is a metric of the runtime, not a gauge", name);
  char *rendered = NULL;
  if (metrics__labels(labels, &rendered, err) != 0) return -1;
  int rc = -1;
  pthread_mutex_lock(&m->mu);
  for (size_t i = 0; i < m->n_gauges; i++) {
    if (strcmp(m->gauges[i].name, name) != 0) continue;
    if (m->gauges[i].counter != counter) {
      hd_err_set(err, HD_INVALID_ARGUMENT, "%s is a %s, not a %s", name,
                 counter ? "gauge" : "counter", counter ? "counter" : "gauge");
      goto done;
    }
    if (strcmp(m->gauges[i].labels, rendered) == 0) {
      m->gauges[i].value = add ? m->gauges[i].value + value : value;
      rc = 0;
      goto done;
    }
  }
  if (m->n_gauges == HD_METRICS_MAX_GAUGES) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "already %d gauge series; %s{%s} is not kept",
               HD_METRICS_MAX_GAUGES, name, rendered);
    goto done;
  }
  if (m->n_gauges == m->cap_gauges) {
    size_t cap = m->cap_gauges ? m->cap_gauges * 2 : 16;
    metrics_gauge *grown = realloc(m->gauges, cap * sizeof *grown);
    if (!grown) {
      hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory adding gauge %s", name);
      goto done;
    }
    m->gauges = grown;
    m->cap_gauges = cap;
  }
  char *name_copy = strdup(name);
  if (!name_copy) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory adding gauge %s", name);
    goto done;
  }
  m->gauges[m->n_gauges++] =
      (metrics_gauge){.name = name_copy, .labels = rendered, .value = value, .counter = counter};
  rendered = NULL;
  rc = 0;
done:
  pthread_mutex_unlock(&m->mu);
  free(rendered);
  return rc;
}

int hd_metrics_gauge_set(hd_metrics *m, const char *name, const char *const *labels, double value,
                         hd_err *err) {
  if (!m) return 0;
  return metrics__series(m, name, labels, false, false, value, err);
}

int hd_metrics_counter_add(hd_metrics *m, const char *name, const char *const *labels, double delta,
                           hd_err *err) {
  if (!m) return 0;
  if (!(delta >= 0))
    return hd_err_set(err, HD_INVALID_ARGUMENT, "a counter only grows: %s by %g", name ? name : "",
                      delta);
  return metrics__series(m, name, labels, true, true, delta, err);
}

int hd_metrics_gauge_describe(hd_metrics *m, const char *name, const char *help, hd_err *err) {
  if (!m) return 0;
  if (!name || !metrics__name_ok(name, false) || metrics__builtin(name))
    return hd_err_set(err, HD_INVALID_ARGUMENT, "\"%.64s\" is not a gauge name", name ? name : "");
  if (!help || strlen(help) > 1024 || !hd_utf8_valid(help, strlen(help), NULL))
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "the help of %s must be UTF-8 of at most 1024 bytes", name);
  int rc = -1;
  char *copy = strdup(help);
  char *name_copy = NULL;
  pthread_mutex_lock(&m->mu);
  if (!copy) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory describing %s", name);
    goto done;
  }
  for (size_t i = 0; i < m->n_helps; i++) {
    if (strcmp(m->helps[i].name, name) == 0) {
      free(m->helps[i].help);
      m->helps[i].help = copy;
      copy = NULL;
      rc = 0;
      goto done;
    }
  }
  if (m->n_helps == HD_METRICS_MAX_GAUGES) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "already %d described gauges", HD_METRICS_MAX_GAUGES);
    goto done;
  }
  if (m->n_helps == m->cap_helps) {
    size_t cap = m->cap_helps ? m->cap_helps * 2 : 8;
    metrics_help *grown = realloc(m->helps, cap * sizeof *grown);
    if (!grown) {
      hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory describing %s", name);
      goto done;
    }
    m->helps = grown;
    m->cap_helps = cap;
  }
  name_copy = strdup(name);
  if (!name_copy) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory describing %s", name);
    goto done;
  }
  m->helps[m->n_helps++] = (metrics_help){.name = name_copy, .help = copy};
  name_copy = NULL;
  copy = NULL;
  rc = 0;
done:
  pthread_mutex_unlock(&m->mu);
  free(copy);
  free(name_copy);
  return rc;
}

static const char *metrics__gauge_help(const hd_metrics *m, const char *name) {
  for (size_t i = 0; i < m->n_helps; i++)
    if (strcmp(m->helps[i].name, name) == 0) return m->helps[i].help;
  for (size_t i = 0; i < sizeof metrics_known_help / sizeof metrics_known_help[0]; i++)
    if (strcmp(metrics_known_help[i].name, name) == 0) return metrics_known_help[i].help;
  return "A gauge the service sets.";
}

static int metrics__gauge_cmp(const void *a, const void *b) {
  const metrics_gauge *x = *(const metrics_gauge *const *)a, *y = *(const metrics_gauge *const *)b;
  int c = strcmp(x->name, y->name);
  return c ? c : strcmp(x->labels, y->labels);
}

static void metrics__render_rpc(const hd_metrics *m, metrics_buf *b) {
  if (m->n_methods == 0) return;
  buf__family(b, "helpdesk_rpc_requests_total", "counter",
              "gRPC calls served, by method and status code.");
  for (size_t i = 0; i < m->n_methods; i++) {
    const metrics_method *e = &m->methods[i];
    for (unsigned c = 0; c < METRICS_N_CODES; c++) {
      if (!e->by_code[c]) continue;
      buf__str(b, "helpdesk_rpc_requests_total{method=\"");
      buf__escaped(b, e->name, true);
      buf__printf(b, "\",code=\"%s\"} %llu\n", hd_code_name((hd_code)c),
                  (unsigned long long)e->by_code[c]);
    }
  }
  buf__family(b, "helpdesk_rpc_duration_seconds", "histogram",
              "Time from a call's arrival to its reply being queued, in seconds, by method.");
  for (size_t i = 0; i < m->n_methods; i++) {
    const metrics_method *e = &m->methods[i];
    uint64_t cumulative = 0;
    for (size_t k = 0; k <= HD_METRICS_N_BUCKETS; k++) {
      buf__str(b, "helpdesk_rpc_duration_seconds_bucket{method=\"");
      buf__escaped(b, e->name, true);
      if (k < HD_METRICS_N_BUCKETS) {
        cumulative += e->buckets[k];
        buf__printf(b, "\",le=\"%g\"} %llu\n", (double)metrics_bucket_us[k] / 1e6,
                    (unsigned long long)cumulative);
      } else {
        buf__printf(b, "\",le=\"+Inf\"} %llu\n", (unsigned long long)e->count);
      }
    }
    buf__str(b, "helpdesk_rpc_duration_seconds_sum{method=\"");
    buf__escaped(b, e->name, true);
    buf__printf(b, "\"} %llu.%06llu\n", (unsigned long long)(e->sum_us / 1000000),
                (unsigned long long)(e->sum_us % 1000000));
    buf__str(b, "helpdesk_rpc_duration_seconds_count{method=\"");
    buf__escaped(b, e->name, true);
    buf__printf(b, "\"} %llu\n", (unsigned long long)e->count);
  }
}

int hd_metrics_render(hd_metrics *m, char **out, size_t *len, hd_err *err) {
  metrics_buf b = {.max = HD_METRICS_MAX_RENDER};
  const metrics_gauge **sorted = NULL;
  int rc = -1;
  pthread_mutex_lock(&m->mu);
  if (m->n_gauges) {
    sorted = malloc(m->n_gauges * sizeof *sorted);
    if (!sorted) {
      hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory rendering metrics");
      goto done;
    }
    for (size_t i = 0; i < m->n_gauges; i++) sorted[i] = &m->gauges[i];
    qsort(sorted, m->n_gauges, sizeof *sorted, metrics__gauge_cmp);
  }
  buf__add(&b, "", 0);
  metrics__render_rpc(m, &b);
  buf__family(&b, "helpdesk_db_errors_total", "counter", "MariaDB operations that failed.");
  buf__printf(&b, "helpdesk_db_errors_total %llu\n", (unsigned long long)m->db_errors);
  buf__family(&b, "helpdesk_redis_errors_total", "counter", "Redis operations that failed.");
  buf__printf(&b, "helpdesk_redis_errors_total %llu\n", (unsigned long long)m->redis_errors);
  for (size_t i = 0; i < m->n_gauges; i++) {
    const metrics_gauge *g = sorted[i];
    if (i == 0 || strcmp(sorted[i - 1]->name, g->name) != 0)
      buf__family(&b, g->name, g->counter ? "counter" : "gauge", metrics__gauge_help(m, g->name));
    buf__str(&b, g->name);
    if (g->labels[0]) {
      buf__str(&b, "{");
      buf__str(&b, g->labels);
      buf__str(&b, "}");
    }
    buf__str(&b, " ");
    buf__value(&b, g->value);
    buf__str(&b, "\n");
  }
  if (b.over) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "the metrics do not fit in %u bytes (or out of memory)",
               HD_METRICS_MAX_RENDER);
    goto done;
  }
  *out = b.p;
  *len = b.len;
  b.p = NULL;
  rc = 0;
done:
  pthread_mutex_unlock(&m->mu);
  free(sorted);
  free(b.p);
  return rc;
}
