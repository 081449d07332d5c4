/* Structured logging: one line per event, logfmt (key=value), to stderr.
 * Values are quoted and escaped when they need it. Never pass a token or a secret. */
#ifndef HD_LOG_LOG_H
#define HD_LOG_LOG_H

typedef enum hd_log_level { HD_LOG_DEBUG = 0, HD_LOG_INFO, HD_LOG_WARN, HD_LOG_ERROR } hd_log_level;

/* Runtime setup, called once from a service's main before any thread starts:
 * the service name stamped on every line and the lowest level written. */
void hd_log_setup(const char *service, hd_log_level min_level);

/* Parses "debug", "info", "warn", "error"; unknown → HD_LOG_INFO. */
hd_log_level hd_log_level_parse(const char *s);

/* Writes one line: ts=... level=... svc=... event=<event> then the key/value pairs given
 * as const char* arguments, terminated by NULL. Thread-safe (one write(2) per line). */
void hd_log(hd_log_level level, const char *event, ...) __attribute__((sentinel));

#define hd_log_info(...)  hd_log(HD_LOG_INFO, __VA_ARGS__, (const char *)NULL)
#define hd_log_warn(...)  hd_log(HD_LOG_WARN, __VA_ARGS__, (const char *)NULL)
#define hd_log_error(...) hd_log(HD_LOG_ERROR, __VA_ARGS__, (const char *)NULL)
#define hd_log_debug(...) hd_log(HD_LOG_DEBUG, __VA_ARGS__, (const char *)NULL)

#endif
