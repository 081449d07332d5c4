/* Test environment from HELPDESK_* variables set by scripts/test.sh. */
#include "test_env.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/config.h"

void hd_test_db_config(hd_db_config *cfg, const char *database) {
  int64_t port = 3306;
  hd_config_int("HELPDESK_DB_PORT", 3306, 1, 65535, &port, NULL);
  *cfg = (hd_db_config){
      .host = hd_config_str("HELPDESK_DB_HOST", "127.0.0.1"),
      .port = (unsigned)port,
      .socket = hd_config_str("HELPDESK_DB_SOCKET", NULL),
      .user = hd_config_str("HELPDESK_DB_USER", "root"),
      .password = hd_config_str("HELPDESK_DB_PASSWORD", ""),
      .database = database,
  };
}

void hd_test_kv_config(hd_kv_config *cfg) {
  int64_t port = 6379;
  hd_config_int("HELPDESK_REDIS_PORT", 6379, 1, 65535, &port, NULL);
  *cfg = (hd_kv_config){.host = hd_config_str("HELPDESK_REDIS_HOST", "127.0.0.1"),
                        .port = (unsigned)port};
}

const char *hd_test_unique(char *buf, size_t size, const char *prefix) {
  static unsigned counter; /* test process only */
  snprintf(buf, size, "%s_%d_%u", prefix, (int)getpid(), ++counter);
  return buf;
}

int hd_test_free_port(void) {
  int port = 0;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

static const char *const outage__vars[HD_TEST_OUTAGE_VARS] = {
    "HELPDESK_DB_PORT", "HELPDESK_REDIS_PORT", "HELPDESK_DB_SOCKET", "HELPDESK_DB_HOST",
    "HELPDESK_DB_PASSWORD"};

int hd_test_outage_begin(hd_test_outage *o) {
  memset(o, 0, sizeof *o);
  o->db_port = hd_test_free_port();
  o->redis_port = hd_test_free_port();
  if (o->db_port <= 0 || o->redis_port <= 0) return -1;
  for (int i = 0; i < HD_TEST_OUTAGE_VARS; i++) {
    const char *v = getenv(outage__vars[i]);
    o->saved[i] = v ? strdup(v) : NULL;
  }
  char port[16];
  snprintf(port, sizeof port, "%d", o->db_port);
  setenv("HELPDESK_DB_PORT", port, 1);
  snprintf(port, sizeof port, "%d", o->redis_port);
  setenv("HELPDESK_REDIS_PORT", port, 1);
  setenv("HELPDESK_DB_SOCKET", "", 1); /* TCP, to the port where nothing listens */
  setenv("HELPDESK_DB_HOST", "127.0.0.1", 1);
  return 0;
}

void hd_test_outage_end(hd_test_outage *o) {
  for (int i = 0; i < HD_TEST_OUTAGE_VARS; i++) {
    if (o->saved[i])
      setenv(outage__vars[i], o->saved[i], 1);
    else
      unsetenv(outage__vars[i]);
    free(o->saved[i]);
    o->saved[i] = NULL;
  }
}
