/* The start-up and shutdown every service shares (see service.h). */
#include "svc/service.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/principal_cache.h"
#include "auth/runtime.h"
#include "log/log.h"
#include "rpc/rate_limit.h"
#include "svc/consumer.h"

/* The health probe's own connections and whether the schema is in place. */
typedef struct svc_probe {
  hd_worker conns;
  const hd_service_def *def;
  hd_metrics *metrics; /* borrowed: counts the probe's failed pings */
  bool migrated;
  bool db_down, redis_down,
      migrations_failing; /* as of the last probe: log changes, not every probe */
} svc_probe;

struct hd_svc {
  const hd_service_def *def;
  hd_svc_env env;
  hd_clock real_clock;
  hd_server *server;
  hd_metrics_http *metrics_http; /* NULL when HELPDESK_METRICS_ADDR=off */
  svc_probe probe;
  hd_rate_limits rate_limits; /* the server's edge checks them */
  pthread_t *loop_threads;
  size_t n_loops;
  _Atomic bool stop_loops;
  char listen_override[128];
  char db_name_override[65];
  char metrics_addr[160];
  hd_principal_cache *principal_cache; /* env.auth.cache: tokens verified once per expiry */
  hd_auth_runtime auth; /* owns the JWKS and signing key env->auth borrows (issue 18) */
};

static int svc__worker_open(const hd_svc_env *env, hd_worker *w, hd_err *err) {
  memset(w, 0, sizeof *w);
  if (hd_db_new(&env->db, &w->db, err) != 0) return -1;
  if (hd_kv_new(&env->kv, &w->kv, err) != 0) {
    hd_db_close(w->db);
    w->db = NULL;
    return -1;
  }
  return 0;
}

/* The rate limits' way to a worker's Redis connection (rate_limit.h). */
static hd_kv *svc__worker_kv(void *w) { return ((hd_worker *)w)->kv; }

static void svc__worker_close(hd_worker *w) {
  hd_db_close(w->db);
  hd_kv_close(w->kv);
  w->db = NULL;
  w->kv = NULL;
}

static int svc__worker_init(void *arg, void **out, hd_err *err) {
  hd_worker *w = malloc(sizeof *w);
  if (!w) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  if (svc__worker_open(arg, w, err) != 0) {
    free(w);
    return -1;
  }
  *out = w;
  return 0;
}

static void svc__worker_fini(void *arg, void *wp) {
  (void)arg;
  hd_worker *w = wp;
  if (!w) return;
  svc__worker_close(w);
  free(w);
}

/* Applies the kit's migrations (common/svc/migrations: the tables every service shares), then the
 * service's own; each set is recorded apart (see hd_migrate). */
static int svc__migrate(svc_probe *p, hd_err *err) {
  if (p->migrated) return 0;
  size_t kit = 0, own = 0;
  if (hd_migrate(p->conns.db, HD_MIGRATE_SET_KIT, hd_kit_migrations, hd_kit_migrations_count, &kit,
                 err) != 0)
    return -1;
  if (p->def->migrations) {
    size_t n = 0;
    while (p->def->migrations[n].version != 0) n++;
    if (hd_migrate(p->conns.db, NULL, p->def->migrations, n, &own, err) != 0) return -1;
  }
  char kit_buf[24], own_buf[24];
  snprintf(kit_buf, sizeof kit_buf, "%zu", kit);
  snprintf(own_buf, sizeof own_buf, "%zu", own);
  hd_log_info("db.migrated", "kit_applied", kit_buf, "applied", own_buf);
  p->migrated = true;
  return 0;
}

/* One line when a dependency goes down (with the reason and what it does to readiness) and one
 * when it is back, however many probes fail in between (each failed ping still counts in the
 * metrics). */
static void svc__note(bool *down, bool now_down, const char *down_event, const char *up_event,
                      const char *readiness, const hd_err *err) {
  if (now_down && !*down) hd_log_warn(down_event, "reason", err->msg, "readiness", readiness);
  if (!now_down && *down) hd_log_info(up_event);
  *down = now_down;
}

/* Runs on the server's probe thread: MariaDB must answer and the schema be current; Redis must
 * answer only for a service that needs it (hd_service_def.needs_redis). */
static bool svc__probe(void *arg) {
  svc_probe *p = arg;
  hd_err err = {0};
  bool db_ok = hd_db_ping(p->conns.db, &err) == 0;
  if (!db_ok) hd_metrics_db_error(p->metrics);
  svc__note(&p->db_down, !db_ok, "health.db_down", "health.db_up", "NOT_SERVING", &err);
  bool migrated = false;
  if (db_ok) {
    hd_err_clear(&err);
    migrated = svc__migrate(p, &err) == 0;
    svc__note(&p->migrations_failing, !migrated, "health.migrations_pending",
              "health.migrations_done", "NOT_SERVING", &err);
  }
  hd_err_clear(&err);
  bool kv_ok = hd_kv_ping(p->conns.kv, &err) == 0;
  if (!kv_ok) hd_metrics_redis_error(p->metrics);
  svc__note(&p->redis_down, !kv_ok, "health.redis_down", "health.redis_up",
            p->def->needs_redis ? "NOT_SERVING" : "unaffected", &err);
  return db_ok && migrated && (kv_ok || !p->def->needs_redis);
}

typedef struct loop_arg {
  hd_svc *svc;
  hd_loop_fn fn;
  const hd_consumer_def *consumer; /* instead of fn: an event consumer's loop */
} loop_arg;

static void *svc__loop_main(void *argp) {
  loop_arg *a = argp;
  hd_worker w;
  hd_err err = {0};
  if (svc__worker_open(&a->svc->env, &w, &err) != 0) {
    hd_log_error("loop.start_failed", "reason", err.msg);
    free(a);
    return NULL;
  }
  if (a->consumer)
    hd_consumer_loop(&a->svc->env, &w, a->consumer, &a->svc->stop_loops);
  else
    a->fn(&a->svc->env, &w, &a->svc->stop_loops);
  svc__worker_close(&w);
  free(a);
  return NULL;
}

/* The /metrics address: HELPDESK_METRICS_ADDR, else the gRPC listen host with its port + 1000
 * (0 stays 0: a free port). Writes "" for "off". */
static int svc__metrics_addr(const char *listen, char *buf, size_t size, hd_err *err) {
  const char *set = hd_config_str("HELPDESK_METRICS_ADDR", NULL);
  if (set) {
    if (strcmp(set, "off") == 0) set = "";
    if ((size_t)snprintf(buf, size, "%s", set) >= size)
      return hd_err_set(err, HD_INVALID_ARGUMENT, "HELPDESK_METRICS_ADDR is longer than %zu bytes",
                        size - 1);
    return 0;
  }
  const char *colon = strrchr(listen, ':');
  char *end = NULL;
  long port = colon ? strtol(colon + 1, &end, 10) : -1;
  if (!colon || !end || *end != '\0' || end == colon + 1 || port < 0 || port > 65535)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "cannot derive a metrics port from listen address %s; "
                      "set HELPDESK_METRICS_ADDR",
                      listen);
  if (port > 0) port += 1000;
  if (port > 65535)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "the gRPC port + 1000 is past 65535; set HELPDESK_METRICS_ADDR");
  if ((size_t)snprintf(buf, size, "%.*s:%ld", (int)(colon - listen), listen, port) >= size)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "listen address %s is too long", listen);
  return 0;
}

int hd_svc_start(const hd_service_def *def, const hd_svc_options *opts, hd_svc **out, hd_err *err) {
  hd_svc *s = calloc(1, sizeof *s);
  if (!s) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  s->def = def;
  hd_svc_env *env = &s->env;
  if (hd_common_config_load(def->name, def->default_port, &env->config, err) != 0) goto fail;
  if (opts && opts->listen_addr) {
    snprintf(s->listen_override, sizeof s->listen_override, "%s", opts->listen_addr);
    env->config.listen_addr = s->listen_override;
  }
  if (opts && opts->db_name) {
    snprintf(s->db_name_override, sizeof s->db_name_override, "%s", opts->db_name);
    env->config.db_name = s->db_name_override;
  }
  if (svc__metrics_addr(env->config.listen_addr, s->metrics_addr, sizeof s->metrics_addr, err) != 0)
    goto fail;
  if (hd_metrics_new(&env->metrics, err) != 0) goto fail;
  hd_clock_init_real(&s->real_clock);
  env->clock = (opts && opts->clock) ? opts->clock : &s->real_clock;
  /* auth (issue 18): secret, JWKS, audience and claims checked once; outside development mode
   * no service starts on the built-in development secret. */
  if (hd_auth_runtime_open(&env->config, hd_clock_now_us(env->clock) / HD_US_PER_S, &s->auth,
                           err) != 0)
    goto fail;
  if (hd_principal_cache_new(HD_PRINCIPAL_CACHE_DEFAULT, &s->principal_cache, err) != 0) goto fail;
  env->auth = s->auth.cfg;
  env->auth.cache = s->principal_cache;
  env->db = (hd_db_config){.host = env->config.db_host,
                           .port = (unsigned)env->config.db_port,
                           .socket = env->config.db_socket,
                           .user = env->config.db_user,
                           .password = env->config.db_password,
                           .database = env->config.db_name,
                           .nodes = env->config.db_nodes,
                           .tls_ca_file = env->config.db_tls_ca,
                           .tls_cert_file = env->config.db_tls_cert,
                           .tls_key_file = env->config.db_tls_key};
  env->kv = env->config.kv;
  if (hd_rate_limits_load(&s->rate_limits, env->metrics, svc__worker_kv, err) != 0) goto fail;
  if (def->setup && def->setup(env, err) != 0) goto fail;

  s->probe.def = def;
  s->probe.metrics = env->metrics;
  /* The probe's own connections wait on a store only briefly: a hung MariaDB or Redis makes the
   * probe fail (NOT_SERVING) instead of holding its last answer. */
  hd_svc_env probe_env = *env;
  probe_env.db.connect_timeout_s = 2;
  probe_env.db.rw_timeout_s = 10; /* the probe also applies migrations */
  probe_env.kv.timeout_ms = 1000;
  if (svc__worker_open(&probe_env, &s->probe.conns, err) != 0) goto fail;
  hd_err merr = {0};
  if (hd_db_ping(s->probe.conns.db, &merr) == 0 && svc__migrate(&s->probe, &merr) != 0 &&
      merr.code != HD_UNAVAILABLE) {
    *err = merr;
    goto fail;
  }
  if (merr.code != HD_OK)
    hd_log_warn("db.not_ready", "reason", merr.msg, "then", "serving NOT_SERVING until it is");

  /* Streams (rpc/stream.h): HELPDESK_MAX_STREAM_CALLS open at once. */
  int64_t max_stream_calls = 64;
  if (hd_config_int("HELPDESK_MAX_STREAM_CALLS", 64, 1, 4096, &max_stream_calls, err) != 0)
    goto fail;
  hd_server_config scfg = {
      .listen_addr = env->config.listen_addr,
      .workers = (unsigned)env->config.workers,
      .max_message_bytes = env->config.max_message_bytes,
      .grace_us = env->config.grace_us,
      .auth = &env->auth,
      .clock = env->clock,
      .tls_cert_file = hd_config_str("HELPDESK_TLS_CERT", NULL),
      .tls_key_file = hd_config_str("HELPDESK_TLS_KEY", NULL),
      .tls_client_ca_file = hd_config_str("HELPDESK_TLS_CLIENT_CA", NULL),
      .worker_init = svc__worker_init,
      .worker_fini = svc__worker_fini,
      .worker_arg = env,
      .health_probe = svc__probe,
      .health_arg = &s->probe,
      .metrics = env->metrics,
      .max_streams = (unsigned)env->config.max_streams,
      .memory_limit_bytes = env->config.memory_limit,
      .max_stream_calls = (unsigned)max_stream_calls,
      .rate_limits = &s->rate_limits,
  };
  if (hd_server_new(&scfg, &s->server, err) != 0) goto fail;
  if (hd_server_add_service(s->server, def->descriptor, def->methods, def->n_methods, env, err) !=
      0)
    goto fail;
  if (def->n_streams &&
      hd_server_add_streams(s->server, def->descriptor, def->streams, def->n_streams, err) != 0)
    goto fail;
  if (hd_server_start(s->server, err) != 0) goto fail;
  if (s->metrics_addr[0] &&
      hd_metrics_http_start(env->metrics, s->metrics_addr, &s->metrics_http, err) != 0)
    goto fail;

  if (def->n_loops + def->n_consumers) {
    s->loop_threads = calloc(def->n_loops + def->n_consumers, sizeof *s->loop_threads);
    if (!s->loop_threads) {
      hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
      goto fail;
    }
    for (size_t i = 0; i < def->n_loops + def->n_consumers; i++) {
      loop_arg *a = calloc(1, sizeof *a);
      if (!a) {
        hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
        goto fail;
      }
      a->svc = s;
      if (i < def->n_loops)
        a->fn = def->loops[i];
      else
        a->consumer = &def->consumers[i - def->n_loops];
      if (pthread_create(&s->loop_threads[i], NULL, svc__loop_main, a) != 0) {
        free(a);
        hd_err_set(err, HD_INTERNAL, "cannot start a background loop");
        goto fail;
      }
      s->n_loops++;
    }
  }
  *out = s;
  return 0;
fail:
  hd_svc_stop(s);
  return -1;
}

int hd_svc_port(const hd_svc *s) { return hd_server_port(s->server); }

int hd_svc_metrics_port(const hd_svc *s) {
  return s->metrics_http ? hd_metrics_http_port(s->metrics_http) : 0;
}

hd_svc_env *hd_svc_env_of(hd_svc *s) { return &s->env; }

void hd_svc_stop(hd_svc *s) {
  if (!s) return;
  hd_server_destroy(s->server); /* drains in-flight calls first */
  atomic_store(&s->stop_loops, true);
  for (size_t i = 0; i < s->n_loops; i++) pthread_join(s->loop_threads[i], NULL);
  free(s->loop_threads);
  svc__worker_close(&s->probe.conns);
  if (s->def->teardown) s->def->teardown(&s->env);
  hd_auth_runtime_close(&s->auth);
  hd_metrics_http_stop(s->metrics_http); /* scrapeable until the very end of the drain */
  hd_metrics_free(s->env.metrics);
  hd_principal_cache_free(s->principal_cache);
  hd_rate_limits_fini(&s->rate_limits);
  free(s);
}

int hd_service_main(const hd_service_def *def) {
  hd_signals_block();
  hd_log_setup(def->name, hd_log_level_parse(hd_config_str("HELPDESK_LOG_LEVEL", "info")));
  hd_svc *s = NULL;
  hd_err err = {0};
  if (hd_svc_start(def, NULL, &s, &err) != 0) {
    hd_log_error("start_failed", "status", hd_code_name(err.code), "reason", err.msg);
    return 1;
  }
  int sig = hd_signals_wait();
  hd_log_info("stopping", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT");
  if (sig == SIGTERM && s->env.config.shutdown_delay_us > 0) {
    /* NOT_SERVING while still serving: probes and load balancers see it before we stop. */
    hd_server_drain_begin(s->server);
    char ms[24];
    snprintf(ms, sizeof ms, "%lld", (long long)(s->env.config.shutdown_delay_us / 1000));
    hd_log_info("draining", "readiness", "NOT_SERVING", "serving_for_ms", ms);
    struct timespec d = {.tv_sec = (time_t)(s->env.config.shutdown_delay_us / HD_US_PER_S),
                         .tv_nsec = (long)(s->env.config.shutdown_delay_us % HD_US_PER_S) * 1000};
    while (nanosleep(&d, &d) != 0) {
    }
  }
  hd_svc_stop(s);
  hd_log_info("stopped");
  return 0;
}
