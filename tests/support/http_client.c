/* Plain-socket HTTP client for tests (see http_client.h). */
#include "http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define HTTP_TEST_MAX (16u << 20)

int hd_test_http_raw(int port, const char *req, size_t len, char **resp, size_t *resp_len) {
  int rc = -1;
  char *buf = NULL;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) goto done;
  for (size_t off = 0; off < len;) {
    ssize_t w = send(fd, req + off, len - off, MSG_NOSIGNAL);
    if (w <= 0) break; /* the server may answer (431) before reading it all */
    off += (size_t)w;
  }
  size_t cap = 4096, n = 0;
  buf = malloc(cap);
  if (!buf) goto done;
  for (;;) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 5000) <= 0) goto done;
    if (n + 1 == cap) {
      if (cap >= HTTP_TEST_MAX) goto done;
      char *grown = realloc(buf, cap * 2);
      if (!grown) goto done;
      buf = grown;
      cap *= 2;
    }
    ssize_t r = recv(fd, buf + n, cap - n - 1, 0);
    if (r < 0) goto done;
    if (r == 0) break;
    n += (size_t)r;
  }
  buf[n] = '\0';
  *resp = buf;
  *resp_len = n;
  buf = NULL;
  rc = 0;
done:
  free(buf);
  close(fd);
  return rc;
}

int hd_test_http_get(int port, const char *path, int *status, char **resp, const char **body) {
  char req[512];
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: hd-test\r\n\r\n", path);
  if (n < 0 || (size_t)n >= sizeof req) return -1;
  size_t len = 0;
  if (hd_test_http_raw(port, req, (size_t)n, resp, &len) != 0) return -1;
  if (sscanf(*resp, "HTTP/1.1 %d", status) != 1) *status = -1;
  const char *b = strstr(*resp, "\r\n\r\n");
  if (body) *body = b ? b + 4 : NULL;
  return 0;
}
