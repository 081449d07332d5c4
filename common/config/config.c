/* HELPDESK_* environment configuration. */
#include "config/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *hd_config_str(const char *name, const char *def) {
  const char *v = getenv(name);
  return (v && *v) ? v : def;
}

int hd_config_int(const char *name, int64_t def, int64_t min, int64_t max, int64_t *out, hd_err *err) {
  const char *v = getenv(name);
  if (!v || !*v) {
    *out = def;
    return 0;
  }
  char *end = NULL;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno || end == v || *end != '\0')
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s=%s is not a whole number", name, v);
  if (x < min || x > max)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "%s=%s is out of range [%lld, %lld]", name, v,
                      (long long)min, (long long)max);
  *out = x;
  return 0;
}

int hd_parse_duration_us(const char *s, int64_t *out_us) {
  if (!s || !*s) return -1;
  char *end = NULL;
  errno = 0;
  double x = strtod(s, &end);
  if (errno || end == s || x < 0) return -1;
  double mult;
  if (*end == '\0' || strcmp(end, "s") == 0) mult = 1e6;
  else if (strcmp(end, "ms") == 0) mult = 1e3;
  else if (strcmp(end, "us") == 0) mult = 1;
  else if (strcmp(end, "m") == 0) mult = 60e6;
  else if (strcmp(end, "h") == 0) mult = 3600e6;
  else if (strcmp(end, "d") == 0) mult = 86400e6;
  else return -1;
  double us = x * mult;
  if (us > 9.0e18) return -1;
  *out_us = (int64_t)us;
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

int hd_common_config_load(const char *service, int default_port, hd_common_config *c, hd_err *err) {
  char upper[32], var[96];
  size_t i;
  memset(c, 0, sizeof *c);
  for (i = 0; service[i] && i < sizeof upper - 1; i++) upper[i] = (char)toupper((unsigned char)service[i]);
  upper[i] = '\0';
  c->service = service;

  snprintf(c->listen_buf_, sizeof c->listen_buf_, "0.0.0.0:%d", default_port);
  snprintf(var, sizeof var, "HELPDESK_%s_ADDR", upper);
  c->listen_addr = hd_config_str(var, c->listen_buf_);

  snprintf(c->db_name_buf_, sizeof c->db_name_buf_, "helpdesk_%s", service);
  snprintf(var, sizeof var, "HELPDESK_%s_DB_NAME", upper);
  c->db_name = hd_config_str(var, c->db_name_buf_);

  if (hd_config_int("HELPDESK_WORKERS", 8, 1, 256, &c->workers, err)) return -1;
  if (hd_config_int("HELPDESK_MAX_MESSAGE_BYTES", 8 << 20, 1024, 1 << 30, &c->max_message_bytes, err))
    return -1;
  if (hd_config_duration_us("HELPDESK_SHUTDOWN_GRACE", 10 * 1000000LL, &c->grace_us, err)) return -1;
  c->db_host = hd_config_str("HELPDESK_DB_HOST", "127.0.0.1");
  if (hd_config_int("HELPDESK_DB_PORT", 3306, 1, 65535, &c->db_port, err)) return -1;
  c->db_socket = hd_config_str("HELPDESK_DB_SOCKET", NULL);
  c->db_user = hd_config_str("HELPDESK_DB_USER", "root");
  c->db_password = hd_config_str("HELPDESK_DB_PASSWORD", "");
  c->redis_host = hd_config_str("HELPDESK_REDIS_HOST", "127.0.0.1");
  if (hd_config_int("HELPDESK_REDIS_PORT", 6379, 1, 65535, &c->redis_port, err)) return -1;
  c->auth_secret = hd_config_str("HELPDESK_AUTH_SECRET", "helpdesk-local-development-secret");
  c->auth_issuer = hd_config_str("HELPDESK_AUTH_ISSUER", "helpdesk");
  c->log_level = hd_config_str("HELPDESK_LOG_LEVEL", "info");
  return 0;
}
