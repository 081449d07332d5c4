/* HELPDESK_* environment configuration. */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool config__is_digit(char c) { return c >= '0' && c <= '9'; }

const char *hd_config_str(const char *name, const char *def) {
  const char *v = getenv(name);
  return (v && *v) ? v : def;
}

int hd_config_int(const char *name, int64_t def, int64_t min, int64_t max, int64_t *out,
                  hd_err *err) {
  const char *v = getenv(name);
  if (!v || !*v) {
    *out = def;
    return 0;
  }
  /* Only an optional '-' and digits: strtoll alone would also take spaces and '+'. */
  if (*v != '-' && !config__is_digit(*v))
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s=%s is not a whole number", name, v);
  char *end = NULL;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (end == v || *end != '\0' || (errno && errno != ERANGE))
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s=%s is not a whole number", name, v);
  if (errno == ERANGE || x < min || x > max)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s=%s is out of range [%lld, %lld]", name, v,
                      (long long)min, (long long)max);
  *out = x;
  return 0;
}

/* Microseconds per unit suffix; 0 when the suffix is unknown. A bare number is seconds. */
static int64_t config__unit_us(const char *unit) {
  static const struct {
    const char *suffix;
    int64_t us;
  } units[] = {{"", 1000000LL},   {"s", 1000000LL},    {"ms", 1000LL},      {"us", 1LL},
               {"m", 60000000LL}, {"h", 3600000000LL}, {"d", 86400000000LL}};
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strcmp(unit, units[i].suffix) == 0) return units[i].us;
  return 0;
}

/* Digits, an optional fraction of at most CONFIG_FRACTION_DIGITS digits, then a unit.
 * Integer arithmetic throughout: no locale, no NaN, no rounding surprises. */
#define CONFIG_FRACTION_DIGITS 6

int hd_parse_duration_us(const char *s, int64_t *out_us) {
  if (!s || !out_us || !config__is_digit(*s)) return -1;
  const char *p = s;
  int64_t whole = 0, frac = 0, scale = 1;
  for (; config__is_digit(*p); p++) {
    int64_t d = *p - '0';
    if (whole > (INT64_MAX - d) / 10) return -1;
    whole = whole * 10 + d;
  }
  if (*p == '.') {
    p++;
    if (!config__is_digit(*p)) return -1;
    for (int n = 0; config__is_digit(*p); p++, n++) {
      if (n == CONFIG_FRACTION_DIGITS) return -1;
      frac = frac * 10 + (*p - '0');
      scale *= 10;
    }
  }
  int64_t unit = config__unit_us(p);
  if (unit == 0 || whole > INT64_MAX / unit) return -1;
  int64_t us = whole * unit;
  int64_t part = frac * unit / scale; /* frac < 10^6 and unit <= 8.64e10: no overflow */
  if (us > INT64_MAX - part) return -1;
  *out_us = us + part;
  return 0;
}

int hd_config_duration_us(const char *name, int64_t def_us, int64_t *out_us, hd_err *err) {
  const char *v = getenv(name);
  if (!v || !*v) {
    *out_us = def_us;
    return 0;
  }
  if (hd_parse_duration_us(v, out_us) != 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "%s=%s is not a duration (use e.g. 500ms, 30s, 5m, 72h, 3d)", name, v);
  return 0;
}

/* ---- rate limits ---- */

/* Reads a whole number of at most 9 digits from *p, advancing it; -1 when there is none. */
static int config__small_uint(const char **p, int64_t *out) {
  int64_t x = 0;
  int n = 0;
  for (; config__is_digit(**p); (*p)++, n++) {
    if (n == 9) return -1;
    x = x * 10 + (**p - '0');
  }
  if (n == 0) return -1;
  *out = x;
  return 0;
}

int hd_config_kv(hd_kv_config *out, hd_err *err) {
  int64_t port = 6379;
  *out = (hd_kv_config){0};
  if (hd_config_int("HELPDESK_REDIS_PORT", 6379, 1, 65535, &port, err)) return -1;
  *out =
      (hd_kv_config){.host = hd_config_str("HELPDESK_REDIS_HOST", "127.0.0.1"),
                     .port = (unsigned)port,
                     .sentinels = hd_config_str("HELPDESK_REDIS_SENTINELS", NULL),
                     .master_name = hd_config_str("HELPDESK_REDIS_MASTER_NAME", "helpdesk"),
                     .sentinel_user = hd_config_str("HELPDESK_REDIS_SENTINEL_USER", NULL),
                     .sentinel_password = hd_config_str("HELPDESK_REDIS_SENTINEL_PASSWORD", NULL),
                     .user = hd_config_str("HELPDESK_REDIS_USER", NULL),
                     .password = hd_config_str("HELPDESK_REDIS_PASSWORD", NULL),
                     .tls_ca_file = hd_config_str("HELPDESK_REDIS_TLS_CA", NULL),
                     .tls_cert_file = hd_config_str("HELPDESK_REDIS_TLS_CERT", NULL),
                     .tls_key_file = hd_config_str("HELPDESK_REDIS_TLS_KEY", NULL)};
  return 0;
}

int hd_config_rate(const char *name, int64_t def_rate, int64_t def_burst, int64_t *rate_per_s,
                   int64_t *burst, hd_err *err) {
  const char *v = getenv(name);
  if (!v || !*v) {
    *rate_per_s = def_rate;
    *burst = def_burst;
    return 0;
  }
  if (strcmp(v, "0") == 0 || strcmp(v, "off") == 0) {
    *rate_per_s = *burst = 0;
    return 0;
  }
  const char *p = v;
  int64_t r = 0, b = 0;
  bool ok = config__small_uint(&p, &r) == 0 && strncmp(p, "/s", 2) == 0;
  if (ok) p += 2;
  if (ok && *p == ':') {
    p++;
    ok = config__small_uint(&p, &b) == 0;
  } else {
    b = r;
  }
  if (!ok || *p != '\0')
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "%s=%s is not a rate limit (use <rate>/s:<burst> such as 50/s:100, or 0 "
                      "for none)",
                      name, v);
  if (r < 1 || r > HD_CONFIG_RATE_MAX || b < 1 || b > HD_CONFIG_BURST_MAX)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "%s=%s is out of range: rate 1..%d per second, burst 1..%d (0 for none)",
                      name, v, HD_CONFIG_RATE_MAX, HD_CONFIG_BURST_MAX);
  *rate_per_s = r;
  *burst = b;
  return 0;
}

int hd_common_config_load(const char *service, int default_port, hd_common_config *c, hd_err *err) {
  char upper[32], var[96];
  size_t i;
  memset(c, 0, sizeof *c);
  if (!service || !*service || strlen(service) >= sizeof upper)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "service name must be 1 to %zu characters",
                      sizeof upper - 1);
  for (i = 0; service[i]; i++) upper[i] = (char)toupper((unsigned char)service[i]);
  upper[i] = '\0';
  c->service = service;

  snprintf(c->listen_buf_, sizeof c->listen_buf_, "0.0.0.0:%d", default_port);
  snprintf(var, sizeof var, "HELPDESK_%s_ADDR", upper);
  c->listen_addr = hd_config_str(var, c->listen_buf_);

  snprintf(c->db_name_buf_, sizeof c->db_name_buf_, "helpdesk_%s", service);
  snprintf(var, sizeof var, "HELPDESK_%s_DB_NAME", upper);
  c->db_name = hd_config_str(var, c->db_name_buf_);

  if (hd_config_int("HELPDESK_WORKERS", 8, 1, 256, &c->workers, err)) return -1;
  if (hd_config_int("HELPDESK_MAX_MESSAGE_BYTES", 8 << 20, 1024, 1 << 30, &c->max_message_bytes,
                    err))
    return -1;
  if (hd_config_duration_us("HELPDESK_SHUTDOWN_GRACE", 10 * 1000000LL, &c->grace_us, err))
    return -1;
  if (hd_config_duration_us("HELPDESK_SHUTDOWN_DELAY", 5 * 1000000LL, &c->shutdown_delay_us, err))
    return -1;
  if (hd_config_int("HELPDESK_MAX_STREAMS", 64, 1, 65536, &c->max_streams, err)) return -1;
  if (hd_config_int("HELPDESK_MEMORY_LIMIT_BYTES", 256LL << 20, 16LL << 20, 64LL << 30,
                    &c->memory_limit, err))
    return -1;
  c->db_host = hd_config_str("HELPDESK_DB_HOST", "127.0.0.1");
  if (hd_config_int("HELPDESK_DB_PORT", 3306, 1, 65535, &c->db_port, err)) return -1;
  c->db_socket = hd_config_str("HELPDESK_DB_SOCKET", NULL);
  c->db_user = hd_config_str("HELPDESK_DB_USER", "root");
  c->db_password = hd_config_str("HELPDESK_DB_PASSWORD", "");
  if (hd_config_kv(&c->kv, err)) return -1;
  c->auth_secret = hd_config_str("HELPDESK_AUTH_SECRET", "helpdesk-local-development-secret");
  c->auth_issuer = hd_config_str("HELPDESK_AUTH_ISSUER", "helpdesk");
  c->log_level = hd_config_str("HELPDESK_LOG_LEVEL", "info");
  /* ---- auth (issue 18) */
  int64_t flag = 0;
  if (hd_config_int("HELPDESK_DEV_MODE", 0, 0, 1, &flag, err)) return -1;
  c->dev_mode = flag == 1;
  c->auth_secret_given = hd_config_str("HELPDESK_AUTH_SECRET", NULL) != NULL;
  if (hd_config_int("HELPDESK_AUTH_HS256", 1, 0, 1, &flag, err)) return -1;
  c->auth_hs256 = flag == 1;
  c->auth_audience = hd_config_str("HELPDESK_AUTH_AUDIENCE", NULL);
  c->auth_jwks = hd_config_str("HELPDESK_AUTH_JWKS", NULL);
  if (hd_config_duration_us("HELPDESK_AUTH_JWKS_RECHECK", 10 * 1000000LL, &c->auth_jwks_recheck_us,
                            err))
    return -1;
  if (hd_config_duration_us("HELPDESK_AUTH_MAX_LIFETIME", 24 * 3600 * 1000000LL,
                            &c->auth_max_lifetime_us, err))
    return -1;
  if (c->auth_max_lifetime_us < 1000000LL)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "HELPDESK_AUTH_MAX_LIFETIME must be at least 1s");
  c->auth_tenant_claim = hd_config_str("HELPDESK_AUTH_TENANT_CLAIM", "tenant");
  c->auth_roles_claim = hd_config_str("HELPDESK_AUTH_ROLES_CLAIM", "roles");
  c->auth_signing_key = hd_config_str("HELPDESK_AUTH_SIGNING_KEY", NULL);
  c->auth_signing_kid = hd_config_str("HELPDESK_AUTH_SIGNING_KID", NULL);
  /* ---- end auth */
  c->db_nodes = hd_config_str("HELPDESK_DB_NODES", NULL);
  c->db_tls_ca = hd_config_str("HELPDESK_DB_TLS_CA", NULL);
  c->db_tls_cert = hd_config_str("HELPDESK_DB_TLS_CERT", NULL);
  c->db_tls_key = hd_config_str("HELPDESK_DB_TLS_KEY", NULL);
  return 0;
}
