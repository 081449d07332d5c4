/* Configuration from HELPDESK_* environment variables, with defaults that work locally.
 * Every accessor validates and reports a bad value instead of silently using a default. */
#ifndef HD_CONFIG_CONFIG_H
#define HD_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "core/err.h"
#include "kv/kv.h"

/* The value of env var `name`, or def when unset or empty. Borrowed (environment or def). */
const char *hd_config_str(const char *name, const char *def);

/* Integer in [min, max]; INVALID_ARGUMENT naming the variable when malformed or out of range. */
int hd_config_int(const char *name, int64_t def, int64_t min, int64_t max, int64_t *out,
                  hd_err *err);

/* Duration such as "250ms", "30s", "5m", "72h", "3d" (bare number = seconds), in microseconds. */
int hd_config_duration_us(const char *name, int64_t def_us, int64_t *out_us, hd_err *err);

/* Parses a duration string as above; -1 when malformed. */
int hd_parse_duration_us(const char *s, int64_t *out_us);

/* ---- rate limits (rpc/rate_limit.h) ---- */

/* Most tokens per second, and most burst, a rate-limit setting may give. */
#define HD_CONFIG_RATE_MAX  1000000
#define HD_CONFIG_BURST_MAX 10000000

/* A token-bucket setting "<rate>/s:<burst>" (rate tokens a second, at most burst held),
 * "<rate>/s" (burst = rate), or "0" / "off" (unlimited: *rate_per_s = *burst = 0); def_rate and
 * def_burst when unset or empty. Whole numbers, rate 1..HD_CONFIG_RATE_MAX, burst
 * 1..HD_CONFIG_BURST_MAX; INVALID_ARGUMENT naming the variable otherwise. */
int hd_config_rate(const char *name, int64_t def_rate, int64_t def_burst, int64_t *rate_per_s,
                   int64_t *burst, hd_err *err);

/* The Redis connection every HELPDESK_REDIS_* setting describes (host, port, the Sentinels and
 * their login, the user and password, TLS), for a program that connects as the services do but
 * loads no service's settings (the load generator, the tests). Strings are borrowed from the
 * environment. INVALID_ARGUMENT naming HELPDESK_REDIS_PORT when it is not a port. */
int hd_config_kv(hd_kv_config *out, hd_err *err);

/* Settings every service shares; filled by hd_common_config_load(). Strings are borrowed
 * from the environment or are literals. */
typedef struct hd_common_config {
  const char *service;       /* "tickets" etc. */
  const char *listen_addr;   /* HELPDESK_<SVC>_ADDR, default 0.0.0.0:<port> */
  int64_t workers;           /* HELPDESK_WORKERS, default 8 */
  int64_t max_message_bytes; /* HELPDESK_MAX_MESSAGE_BYTES, default 8 MiB */
  int64_t grace_us;          /* HELPDESK_SHUTDOWN_GRACE, default 10s */
  int64_t shutdown_delay_us; /* HELPDESK_SHUTDOWN_DELAY, default 5s: NOT_SERVING, still serving */
  int64_t max_streams;       /* HELPDESK_MAX_STREAMS, default 64: concurrent calls a connection */
  int64_t memory_limit;      /* HELPDESK_MEMORY_LIMIT_BYTES, default 256 MiB (see server.h) */
  const char *db_host;       /* HELPDESK_DB_HOST, default 127.0.0.1 */
  int64_t db_port;           /* HELPDESK_DB_PORT, default 3306 */
  const char *db_socket;     /* HELPDESK_DB_SOCKET, default none */
  const char *db_user;       /* HELPDESK_DB_USER, default root */
  const char *db_password;   /* HELPDESK_DB_PASSWORD, default empty */
  const char *db_name;       /* HELPDESK_<SVC>_DB_NAME, default helpdesk_<svc> */
  /* Redis: every HELPDESK_REDIS_* setting, as hd_config_kv reads them (host 127.0.0.1 and port
   * 6379 by default; HELPDESK_REDIS_SENTINELS, _MASTER_NAME and the Sentinels' login beyond one
   * machine, README "High availability"; the ACL user, password and TLS). */
  hd_kv_config kv;
  const char *auth_secret; /* HELPDESK_AUTH_SECRET, default a local development secret */
  const char *auth_issuer; /* HELPDESK_AUTH_ISSUER, default "helpdesk" */
  const char *log_level;   /* HELPDESK_LOG_LEVEL, default info */
  /* ---- auth (issue 18): read here, checked and opened by hd_auth_runtime_open (auth/runtime.h) */
  bool dev_mode;                 /* HELPDESK_DEV_MODE=1: the development secret is allowed */
  bool auth_secret_given;        /* HELPDESK_AUTH_SECRET was set (auth_secret is not the default) */
  bool auth_hs256;               /* HELPDESK_AUTH_HS256, default 1: accept HS256 tokens */
  const char *auth_audience;     /* HELPDESK_AUTH_AUDIENCE, default none (required outside dev) */
  const char *auth_jwks;         /* HELPDESK_AUTH_JWKS: JWKS file or directory, default none */
  int64_t auth_jwks_recheck_us;  /* HELPDESK_AUTH_JWKS_RECHECK, default 10s */
  int64_t auth_max_lifetime_us;  /* HELPDESK_AUTH_MAX_LIFETIME, default 24h */
  const char *auth_tenant_claim; /* HELPDESK_AUTH_TENANT_CLAIM, default "tenant" */
  const char *auth_roles_claim;  /* HELPDESK_AUTH_ROLES_CLAIM, default "roles" */
  const char *auth_signing_key;  /* HELPDESK_AUTH_SIGNING_KEY: PEM the service signs its own
                                    tokens with instead of the secret, default none */
  const char *auth_signing_kid;  /* HELPDESK_AUTH_SIGNING_KID: that key's kid in the JWKS */
  /* ---- end auth */
  /* Beyond one machine (README "High availability"): */
  const char *db_nodes; /* HELPDESK_DB_NODES "h1:p1,h2:p2": Galera nodes, default none */
  /* Store logins and TLS (unset by default; a TLS link is on when its CA is set). */
  const char *db_tls_ca;   /* HELPDESK_DB_TLS_CA: TLS to MariaDB (required, server verified) */
  const char *db_tls_cert; /* HELPDESK_DB_TLS_CERT / _KEY: client certificate */
  const char *db_tls_key;
  char listen_buf_[128]; /* storage behind listen_addr when defaulted */
  char db_name_buf_[64]; /* storage behind db_name when defaulted */
} hd_common_config;

/* Loads the shared settings for `service` whose default port is default_port. */
int hd_common_config_load(const char *service, int default_port, hd_common_config *out,
                          hd_err *err);

#endif
