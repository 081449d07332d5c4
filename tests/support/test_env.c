/* Test environment from HELPDESK_* variables set by scripts/test.sh. */
#include "test_env.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
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
  *cfg = (hd_kv_config){.host = hd_config_str("HELPDESK_REDIS_HOST", "127.0.0.1"), .port = (unsigned)port};
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
