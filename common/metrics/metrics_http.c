/* The /metrics endpoint: a minimal HTTP/1.1 server on its own thread (plain sockets and poll),
 * one connection at a time, one request per connection, bounded request size and time. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include "log/log.h"
#include "metrics/metrics.h"

#define HTTP_MAX_REQUEST 8192 /* bytes of request line + headers */
#define HTTP_CLIENT_TIMEOUT_MS \
  5000 /* a connection gets this long to send its request and read the reply */
#define HTTP_LINGER_MS    200 /* after the reply, how long the client's close is awaited */
#define HTTP_LINGER_BYTES (64u << 10)

struct hd_metrics_http {
  hd_metrics *metrics; /* borrowed */
  int listen_fd;
  int wake[2]; /* a byte written to wake[1] stops the thread */
  int port;
  pthread_t thread;
  bool started;
};

static int64_t http__now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits until fd is ready for events, the stop pipe fires, or the deadline passes.
 * Returns 1 ready, 0 stop or timeout, -1 error. */
static int http__wait(const hd_metrics_http *h, int fd, short events, int64_t deadline_ms) {
  for (;;) {
    int64_t left = deadline_ms - http__now_ms();
    if (left <= 0) return 0;
    struct pollfd p[2] = {{.fd = fd, .events = events}, {.fd = h->wake[0], .events = POLLIN}};
    int n = poll(p, 2, (int)left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return -1;
    if (p[1].revents) return 0;
    if (p[0].revents) return 1;
  }
}

static void http__send_all(const hd_metrics_http *h, int fd, const char *data, size_t len,
                           int64_t deadline_ms) {
  size_t off = 0;
  while (off < len) {
    ssize_t w = send(fd, data + off, len - off, MSG_NOSIGNAL);
    if (w > 0) {
      off += (size_t)w;
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
        http__wait(h, fd, POLLOUT, deadline_ms) == 1)
      continue;
    return; /* the client went away or was too slow: drop it */
  }
}

static void http__reply(const hd_metrics_http *h, int fd, const char *status, const char *type,
                        const char *body, size_t body_len, int64_t deadline_ms) {
  char head[256];
  int n = snprintf(
      head, sizeof head,
      "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", status,
      type, body_len);
  if (n < 0 || (size_t)n >= sizeof head) return;
  http__send_all(h, fd, head, (size_t)n, deadline_ms);
  http__send_all(h, fd, body, body_len, deadline_ms);
}

static void http__reply_text(const hd_metrics_http *h, int fd, const char *status, const char *text,
                             int64_t deadline_ms) {
  http__reply(h, fd, status, "text/plain; charset=utf-8", text, strlen(text), deadline_ms);
}

/* Reads the request head (up to the blank line), answers it, and returns; fd is closed by the
 * caller. */
static void http__serve_one(const hd_metrics_http *h, int fd) {
  int64_t deadline = http__now_ms() + HTTP_CLIENT_TIMEOUT_MS;
  char req[HTTP_MAX_REQUEST + 1];
  size_t len = 0;
  while (!memmem(req, len, "\r\n\r\n", 4) && !memmem(req, len, "\n\n", 2)) {
    if (len == HTTP_MAX_REQUEST) {
      http__reply_text(h, fd, "431 Request Header Fields Too Large", "request head too large\n",
                       deadline);
      return;
    }
    ssize_t r = recv(fd, req + len, HTTP_MAX_REQUEST - len, 0);
    if (r > 0) {
      len += (size_t)r;
      continue;
    }
    if (r == 0) return; /* closed before a whole request */
    if (errno == EINTR) continue;
    if ((errno == EAGAIN || errno == EWOULDBLOCK) && http__wait(h, fd, POLLIN, deadline) == 1)
      continue;
    return;
  }
  req[len] = '\0';
  /* Request line: METHOD SP TARGET SP HTTP/x.y (a NUL byte anywhere makes it malformed). */
  char *line_end = memchr(req, '\0', len) ? NULL : strpbrk(req, "\r\n");
  if (line_end) *line_end = '\0';
  char *sp1 = line_end ? strchr(req, ' ') : NULL;
  char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
  if (!sp1 || !sp2 || strncmp(sp2 + 1, "HTTP/1.", 7) != 0) {
    http__reply_text(h, fd, "400 Bad Request", "malformed request line\n", deadline);
    return;
  }
  *sp1 = '\0';
  *sp2 = '\0';
  const char *method = req, *target = sp1 + 1;
  size_t path_len = strcspn(target, "?");
  if (path_len != strlen("/metrics") || strncmp(target, "/metrics", path_len) != 0) {
    http__reply_text(h, fd, "404 Not Found", "not found; metrics are at /metrics\n", deadline);
    return;
  }
  if (strcmp(method, "GET") != 0) {
    http__reply_text(h, fd, "405 Method Not Allowed", "only GET\n", deadline);
    return;
  }
  char *body = NULL;
  size_t body_len = 0;
  hd_err err = {0};
  if (hd_metrics_render(h->metrics, &body, &body_len, &err) != 0) {
    hd_log_error("metrics.render_failed", "reason", err.msg);
    http__reply_text(h, fd, "500 Internal Server Error", "cannot render the metrics\n", deadline);
    return;
  }
  http__reply(h, fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body, body_len,
              deadline);
  free(body);
}

/* Ends a connection: our side first, then what the client still sends is read and dropped for a
 * moment, so that closing with unread bytes does not reset the connection before the client has
 * read the reply. */
static void http__close(const hd_metrics_http *h, int fd) {
  shutdown(fd, SHUT_WR);
  int64_t deadline = http__now_ms() + HTTP_LINGER_MS;
  char sink[4096];
  for (size_t dropped = 0; dropped < HTTP_LINGER_BYTES;) {
    ssize_t r = recv(fd, sink, sizeof sink, 0);
    if (r > 0) {
      dropped += (size_t)r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
        http__wait(h, fd, POLLIN, deadline) == 1)
      continue;
    break; /* the client closed, failed, or took too long */
  }
  close(fd);
}

/* The endpoint's thread: accepts and serves connections until the stop pipe fires. */
static void *http__main(void *arg) {
  hd_metrics_http *h = arg;
  for (;;) {
    struct pollfd p[2] = {{.fd = h->listen_fd, .events = POLLIN},
                          {.fd = h->wake[0], .events = POLLIN}};
    int n = poll(p, 2, -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || p[1].revents) break;
    if (!p[0].revents) continue;
    int fd = accept4(h->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) continue; /* the client gave up already, or out of descriptors: try the next */
    http__serve_one(h, fd);
    http__close(h, fd);
  }
  return NULL;
}

/* Splits "host:port" or "[v6]:port" into host (empty → any) and port. */
static int http__split(const char *addr, char *host, size_t host_size, char *port, size_t port_size,
                       hd_err *err) {
  const char *colon = strrchr(addr, ':');
  if (!colon || colon[1] == '\0')
    return hd_err_set(err, HD_INVALID_ARGUMENT, "metrics address \"%.100s\" is not host:port",
                      addr);
  const char *h = addr;
  size_t hl = (size_t)(colon - addr);
  if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
    h++;
    hl -= 2;
  }
  if (hl >= host_size || strlen(colon + 1) >= port_size)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "metrics address \"%.100s\" is too long", addr);
  if (strspn(colon + 1, "0123456789") != strlen(colon + 1) || atol(colon + 1) > 65535)
    return hd_err_set(err, HD_INVALID_ARGUMENT,
                      "metrics address \"%.100s\": the port is not 0..65535", addr);
  memcpy(host, h, hl);
  host[hl] = '\0';
  snprintf(port, port_size, "%s", colon + 1);
  return 0;
}

static int http__listen(const char *addr, int *fd_out, int *port_out, hd_err *err) {
  char host[256], port[16];
  if (http__split(addr, host, sizeof host, port, sizeof port, err) != 0) return -1;
  struct addrinfo hints = {
      .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *res = NULL;
  int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
  if (gai != 0)
    return hd_err_set(err, HD_INVALID_ARGUMENT, "metrics address %s: %s", addr, gai_strerror(gai));
  int fd = -1, rc = -1;
  const char *why = "no address";
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 64) == 0) break;
    why = strerror(errno);
    close(fd);
    fd = -1;
  }
  if (fd < 0) {
    hd_err_set(err, HD_UNAVAILABLE, "cannot listen for metrics on %s: %s", addr, why);
    goto done;
  }
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
    hd_err_set(err, HD_INTERNAL, "getsockname on the metrics socket: %s", strerror(errno));
    close(fd);
    goto done;
  }
  *port_out = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                       : ntohs(((struct sockaddr_in *)&ss)->sin_port);
  *fd_out = fd;
  rc = 0;
done:
  freeaddrinfo(res);
  return rc;
}

int hd_metrics_http_start(hd_metrics *m, const char *addr, hd_metrics_http **out, hd_err *err) {
  hd_metrics_http *h = calloc(1, sizeof *h);
  if (!h)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory starting the metrics endpoint");
  h->metrics = m;
  h->listen_fd = -1;
  h->wake[0] = h->wake[1] = -1;
  if (pipe2(h->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    hd_err_set(err, HD_INTERNAL, "pipe for the metrics endpoint: %s", strerror(errno));
    goto fail;
  }
  if (http__listen(addr, &h->listen_fd, &h->port, err) != 0) goto fail;
  if (pthread_create(&h->thread, NULL, http__main, h) != 0) {
    hd_err_set(err, HD_INTERNAL, "cannot start the metrics thread");
    goto fail;
  }
  h->started = true;
  char port[16];
  snprintf(port, sizeof port, "%d", h->port);
  hd_log_info("metrics.listening", "addr", addr, "port", port, "path", "/metrics");
  *out = h;
  return 0;
fail:
  hd_metrics_http_stop(h);
  return -1;
}

int hd_metrics_http_port(const hd_metrics_http *h) { return h->port; }

void hd_metrics_http_stop(hd_metrics_http *h) {
  if (!h) return;
  if (h->started) {
    ssize_t w;
    do {
      w = write(h->wake[1], "x", 1);
    } while (w < 0 && errno == EINTR);
    pthread_join(h->thread, NULL);
  }
  if (h->listen_fd >= 0) close(h->listen_fd);
  if (h->wake[0] >= 0) close(h->wake[0]);
  if (h->wake[1] >= 0) close(h->wake[1]);
  free(h);
}
