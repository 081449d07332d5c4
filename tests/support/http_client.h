/* A plain-socket HTTP/1.1 client for tests of the /metrics endpoint: sends raw bytes to a
 * loopback port and reads the whole answer (the server closes after one reply). */
#ifndef HD_TEST_HTTP_CLIENT_H
#define HD_TEST_HTTP_CLIENT_H

#include <stddef.h>

/* Sends req[0..len) to 127.0.0.1:port and reads until the server closes (at most 5 s, at most
 * 16 MiB). *resp is NUL-terminated; caller frees it with free(). Returns 0, or -1 when the
 * connection or the read failed. */
int hd_test_http_raw(int port, const char *req, size_t len, char **resp, size_t *resp_len);

/* GET path; *status is the HTTP status; *body (may be NULL) points into *resp, which the
 * caller frees with free(). Returns 0 or -1. */
int hd_test_http_get(int port, const char *path, int *status, char **resp, const char **body);

#endif
