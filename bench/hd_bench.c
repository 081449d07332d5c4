/* hd-bench driver: threads, pacing, latency percentiles, the report.
 *   hd-bench --target 127.0.0.1:50051 --scenario health --concurrency 8 --duration 10
 * Prints one line of figures per run (and a machine-readable "RESULT" line for scripts). */
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "bench.h"
#include "clock/clock.h"
#include "config/config.h"

typedef struct thread_result {
  uint64_t *lat_us; /* one per operation */
  uint64_t n, cap;
  uint64_t errors;
  char first_error[HD_ERR_MSG_MAX + 32];
} thread_result;

typedef struct run_ctx {
  const bench_opts *opts;
  const bench_scenario *sc;
  void *shared;
  int64_t start_us, end_us;
  _Atomic uint64_t issued;
} run_ctx;

typedef struct thread_arg {
  run_ctx *run;
  unsigned index;
  thread_result res;
} thread_arg;

static void record(thread_result *r, uint64_t us) {
  if (r->n == r->cap) {
    uint64_t cap = r->cap ? r->cap * 2 : 65536;
    uint64_t *p = realloc(r->lat_us, cap * sizeof *p);
    if (!p) return;
    r->lat_us = p;
    r->cap = cap;
  }
  r->lat_us[r->n++] = us;
}

static void *bench__thread(void *argp) {
  thread_arg *t = argp;
  run_ctx *run = t->run;
  const bench_opts *o = run->opts;
  hd_client_config cc = {.target = o->target, .default_timeout_us = 30 * HD_US_PER_S};
  hd_err err = {0};
  bench_worker w = {.opts = o, .index = t->index, .shared = run->shared};
  if (hd_client_new(&cc, &w.client, &err) != 0) {
    snprintf(t->res.first_error, sizeof t->res.first_error, "%s", err.msg);
    t->res.errors++;
    return NULL;
  }
  hd_arena *a = NULL;
  double per_op_us = o->rate > 0 ? 1e6 * o->concurrency / o->rate : 0;
  int64_t next = hd_monotonic_us();
  for (;;) {
    if (o->calls) {
      if (atomic_fetch_add(&run->issued, 1) >= o->calls) break;
    } else if (hd_monotonic_us() >= run->end_us) {
      break;
    }
    if (per_op_us > 0) {
      int64_t now = hd_monotonic_us();
      if (next > now) usleep((useconds_t)(next - now));
      next += (int64_t)per_op_us;
    }
    a = hd_arena_new(64u << 20);
    hd_err_clear(&err);
    w.measured_us = -1;
    int64_t t0 = hd_monotonic_us();
    int rc = run->sc->op(&w, a, &err);
    int64_t t1 = hd_monotonic_us();
    if (w.measured_us >= 0) t1 = t0 + w.measured_us;
    w.seq++;
    hd_arena_free(a);
    if (rc != 0) {
      if (t->res.errors++ == 0)
        snprintf(t->res.first_error, sizeof t->res.first_error, "%s: %s", hd_code_name(err.code),
                 err.msg);
      continue;
    }
    record(&t->res, (uint64_t)(t1 - t0));
  }
  hd_client_destroy(w.client);
  return NULL;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct(const uint64_t *v, uint64_t n, double p) {
  if (!n) return 0;
  uint64_t i = (uint64_t)ceil(p / 100.0 * (double)n);
  if (i > 0) i--;
  if (i >= n) i = n - 1;
  return (double)v[i] / 1000.0;
}

static void usage(FILE *f) {
  fprintf(
      f,
      "usage: hd-bench --target HOST:PORT --scenario NAME [--concurrency N] [--duration S | "
      "--calls N]\n"
      "                [--rate OPS_PER_S] [--prepare N] [--tenant T] [--tickets-target HOST:PORT]\n"
      "The token is minted from HELPDESK_AUTH_SECRET / HELPDESK_AUTH_ISSUER (as the services "
      "read them).\n"
      "--tickets-target (default HD_BENCH_TICKETS_TARGET, else 127.0.0.1:50051) is the ticket "
      "service for scenarios aimed at another service.\n"
      "scenarios:\n");
  for (size_t i = 0; bench_scenarios[i]; i++)
    fprintf(f, "  %-12s %s\n", bench_scenarios[i]->name, bench_scenarios[i]->what);
}

int main(int argc, char **argv) {
  bench_opts o = {.target = "127.0.0.1:50051",
                  .scenario = "health",
                  .concurrency = 1,
                  .duration_s = 5,
                  .prepare = 2000,
                  .tenant = "bench",
                  .tickets_target = hd_config_str("HD_BENCH_TICKETS_TARGET", "127.0.0.1:50051")};
  static const struct option longopts[] = {{"target", required_argument, NULL, 't'},
                                           {"scenario", required_argument, NULL, 's'},
                                           {"concurrency", required_argument, NULL, 'c'},
                                           {"duration", required_argument, NULL, 'd'},
                                           {"calls", required_argument, NULL, 'n'},
                                           {"rate", required_argument, NULL, 'r'},
                                           {"prepare", required_argument, NULL, 'p'},
                                           {"tenant", required_argument, NULL, 'T'},
                                           {"tickets-target", required_argument, NULL, 'K'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  int ch;
  while ((ch = getopt_long(argc, argv, "t:s:c:d:n:r:p:T:K:h", longopts, NULL)) != -1) {
    switch (ch) {
      case 't':
        o.target = optarg;
        break;
      case 's':
        o.scenario = optarg;
        break;
      case 'c':
        o.concurrency = (unsigned)strtoul(optarg, NULL, 10);
        break;
      case 'd':
        o.duration_s = strtod(optarg, NULL);
        break;
      case 'n':
        o.calls = strtoull(optarg, NULL, 10);
        break;
      case 'r':
        o.rate = strtod(optarg, NULL);
        break;
      case 'p':
        o.prepare = strtoull(optarg, NULL, 10);
        break;
      case 'T':
        o.tenant = optarg;
        break;
      case 'K':
        o.tickets_target = optarg;
        break;
      case 'h':
        usage(stdout);
        return 0;
      default:
        usage(stderr);
        return 2;
    }
  }
  if (o.concurrency < 1 || o.concurrency > 1024 || (o.calls == 0 && o.duration_s <= 0)) {
    usage(stderr);
    return 2;
  }
  signal(SIGPIPE, SIG_IGN); /* hiredis writes to sockets Redis may have closed (kv.h) */
  const bench_scenario *sc = NULL;
  for (size_t i = 0; bench_scenarios[i]; i++)
    if (strcmp(bench_scenarios[i]->name, o.scenario) == 0) sc = bench_scenarios[i];
  if (!sc) {
    fprintf(stderr, "hd-bench: unknown scenario %s\n", o.scenario);
    usage(stderr);
    return 2;
  }

  /* A token good for the run: staff roles, so every scenario may act. */
  const char *secret = hd_config_str("HELPDESK_AUTH_SECRET", "helpdesk-local-development-secret");
  hd_auth_config auth = {.secret = secret,
                         .secret_len = strlen(secret),
                         .issuer = hd_config_str("HELPDESK_AUTH_ISSUER", "helpdesk")};
  hd_principal p = {.roles = HD_ROLE_AGENT | HD_ROLE_SUPERVISOR | HD_ROLE_SERVICE};
  snprintf(p.tenant, sizeof p.tenant, "%s", o.tenant);
  snprintf(p.user_id, sizeof p.user_id, "bench-agent");
  char *token = NULL;
  hd_err err = {0};
  if (hd_auth_sign(&auth, &p, (int64_t)time(NULL), 86400, &token, &err) != 0) {
    fprintf(stderr, "hd-bench: cannot mint a token: %s\n", err.msg);
    return 1;
  }
  o.token = token;
  o.auth = &auth;

  run_ctx run = {.opts = &o, .sc = sc};
  int rc = 1;
  thread_arg *args = calloc(o.concurrency, sizeof *args);
  pthread_t *th = calloc(o.concurrency, sizeof *th);
  if (!args || !th) goto done;
  if (sc->prepare) {
    hd_client *c = NULL;
    hd_client_config cc = {.target = o.target, .default_timeout_us = 60 * HD_US_PER_S};
    if (hd_client_new(&cc, &c, &err) != 0 || sc->prepare(&o, c, &run.shared, &err) != 0) {
      fprintf(stderr, "hd-bench: prepare failed: %s: %s\n", hd_code_name(err.code), err.msg);
      hd_client_destroy(c);
      goto done;
    }
    hd_client_destroy(c);
  }
  run.start_us = hd_monotonic_us();
  run.end_us = run.start_us + (int64_t)(o.duration_s * 1e6);
  for (unsigned i = 0; i < o.concurrency; i++) {
    args[i].run = &run;
    args[i].index = i;
    pthread_create(&th[i], NULL, bench__thread, &args[i]);
  }
  uint64_t total = 0, errors = 0;
  const char *first_error = NULL;
  for (unsigned i = 0; i < o.concurrency; i++) {
    pthread_join(th[i], NULL);
    total += args[i].res.n;
    errors += args[i].res.errors;
    if (args[i].res.errors && !first_error) first_error = args[i].res.first_error;
  }
  double elapsed = (double)(hd_monotonic_us() - run.start_us) / 1e6;
  uint64_t *all = malloc((total ? total : 1) * sizeof *all);
  if (!all) goto done;
  uint64_t k = 0;
  for (unsigned i = 0; i < o.concurrency; i++) {
    memcpy(all + k, args[i].res.lat_us, args[i].res.n * sizeof *all);
    k += args[i].res.n;
  }
  qsort(all, total, sizeof *all, cmp_u64);
  double ops = (double)total / elapsed;
  printf(
      "scenario=%s concurrency=%u ops=%llu errors=%llu seconds=%.2f ops_per_s=%.0f p50_ms=%.3f "
      "p99_ms=%.3f "
      "p999_ms=%.3f max_ms=%.3f\n",
      sc->name, o.concurrency, (unsigned long long)total, (unsigned long long)errors, elapsed, ops,
      pct(all, total, 50), pct(all, total, 99), pct(all, total, 99.9),
      total ? (double)all[total - 1] / 1000.0 : 0);
  if (first_error) printf("first_error=\"%s\"\n", first_error);
  free(all);
  rc = errors && !total ? 1 : 0;
  if (sc->finish) {
    hd_client *c = NULL;
    hd_client_config cc = {.target = o.target, .default_timeout_us = 60 * HD_US_PER_S};
    hd_err_clear(&err);
    if (hd_client_new(&cc, &c, &err) != 0 || sc->finish(&o, c, run.shared, &err) != 0) {
      printf("check_failed=\"%s: %s\"\n", hd_code_name(err.code), err.msg);
      rc = 1;
    }
    hd_client_destroy(c);
  }
done:
  if (sc && sc->cleanup) sc->cleanup(run.shared);
  for (unsigned i = 0; args && i < o.concurrency; i++) free(args[i].res.lat_us);
  free(args);
  free(th);
  free(token);
  return rc;
}
