/* TLS to Redis for hiredis 0.14, which has none of its own (redisInitiateSSL came with 1.0).
 * hiredis still makes the TCP connection (redisConnectWithTimeout, and redisSetTimeout puts the
 * timeouts on the socket); OpenSSL runs the handshake on that socket; a command is formatted by
 * redisFormatCommandArgv, written with SSL_write, and its reply parsed by a hiredis redisReader
 * fed from SSL_read. The kit only ever sends one command and waits for its reply on a blocking
 * context, so this is the whole of what hiredis's own TLS would do for it.
 * Failures are written into the context (err = REDIS_ERR_IO, errstr) as hiredis does, so the
 * caller reports them like a plain connection's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "kv/kv_internal.h"

#define KV_TLS_READ_CHUNK 16384

struct kv_tls {
  SSL_CTX *ctx;        /* per handle: trust, client certificate */
  SSL *ssl;            /* per connection; NULL between connections */
  redisReader *reader; /* per connection */
};

/* The first queued OpenSSL error, or `fallback`, into c->errstr as an I/O error. */
static void kv_tls__fail(redisContext *c, const char *what, const char *fallback) {
  char detail[120];
  const unsigned long e = ERR_get_error();
  if (e)
    ERR_error_string_n(e, detail, sizeof detail);
  else
    snprintf(detail, sizeof detail, "%s", fallback);
  ERR_clear_error();
  c->err = REDIS_ERR_IO;
  snprintf(c->errstr, sizeof c->errstr, "TLS %s: %s", what, detail);
}

/* "certificate verify failed" and its like carry the reason in the verify result. */
static void kv_tls__fail_verify(redisContext *c, const SSL *ssl) {
  const long v = SSL_get_verify_result(ssl);
  if (v != X509_V_OK) {
    ERR_clear_error();
    c->err = REDIS_ERR_IO;
    snprintf(c->errstr, sizeof c->errstr, "TLS handshake: server certificate refused: %s",
             X509_verify_cert_error_string(v));
    return;
  }
  kv_tls__fail(c, "handshake", "connection closed");
}

int kv_tls_new(const hd_kv_config *cfg, kv_tls **out, hd_err *err) {
  int rc = -1;
  kv_tls *t = NULL;
  *out = NULL;
  if (!cfg || !cfg->tls_ca_file || !cfg->tls_ca_file[0]) return 0;
  const bool has_cert = cfg->tls_cert_file && cfg->tls_cert_file[0];
  const bool has_key = cfg->tls_key_file && cfg->tls_key_file[0];
  if (has_cert != has_key) {
    hd_err_set(err, HD_INVALID_ARGUMENT,
               "redis TLS: a client certificate needs its key and a key its certificate "
               "(HELPDESK_REDIS_TLS_CERT and HELPDESK_REDIS_TLS_KEY)");
    goto done;
  }
  t = calloc(1, sizeof *t);
  if (!t || !(t->ctx = SSL_CTX_new(TLS_client_method()))) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory creating the redis TLS context");
    goto done;
  }
  SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(t->ctx, SSL_VERIFY_PEER, NULL);
  if (SSL_CTX_load_verify_locations(t->ctx, cfg->tls_ca_file, NULL) != 1) {
    hd_err_set(err, HD_FAILED_PRECONDITION, "redis TLS: cannot read the CA certificates in %s",
               cfg->tls_ca_file);
    goto done;
  }
  if (has_cert && (SSL_CTX_use_certificate_chain_file(t->ctx, cfg->tls_cert_file) != 1 ||
                   SSL_CTX_use_PrivateKey_file(t->ctx, cfg->tls_key_file, SSL_FILETYPE_PEM) != 1 ||
                   SSL_CTX_check_private_key(t->ctx) != 1)) {
    hd_err_set(err, HD_FAILED_PRECONDITION,
               "redis TLS: client certificate %s with key %s is not a readable PEM pair",
               cfg->tls_cert_file, cfg->tls_key_file);
    goto done;
  }
  *out = t;
  t = NULL;
  rc = 0;
done:
  ERR_clear_error();
  kv_tls_free(t);
  return rc;
}

void kv_tls_end(kv_tls *t) {
  if (!t) return;
  if (t->ssl) SSL_free(t->ssl); /* no close_notify: the socket may be dead, hiredis closes it */
  t->ssl = NULL;
  if (t->reader) redisReaderFree(t->reader);
  t->reader = NULL;
}

void kv_tls_free(kv_tls *t) {
  if (!t) return;
  kv_tls_end(t);
  SSL_CTX_free(t->ctx);
  free(t);
}

int kv_tls_start(kv_tls *t, redisContext *c, const char *host) {
  kv_tls_end(t);
  unsigned char ip[16];
  const bool is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
  if (!(t->ssl = SSL_new(t->ctx)) || !(t->reader = redisReaderCreate())) {
    kv_tls_end(t);
    c->err = REDIS_ERR_OOM;
    snprintf(c->errstr, sizeof c->errstr, "out of memory starting TLS");
    return -1;
  }
  /* The server's certificate must name the host we dialled (a SAN IP for an address). */
  const int named =
      is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host)
            : (SSL_set_tlsext_host_name(t->ssl, host) == 1 && SSL_set1_host(t->ssl, host) == 1);
  if (named != 1 || SSL_set_fd(t->ssl, c->fd) != 1) {
    kv_tls__fail(c, "set-up", "cannot set the server name");
    kv_tls_end(t);
    return -1;
  }
  errno = 0;
  if (SSL_connect(t->ssl) != 1) {
    const int saved = errno;
    kv_tls__fail_verify(c, t->ssl);
    kv_tls_end(t);
    errno = saved;
    return -1;
  }
  return 0;
}

/* An I/O failure of SSL_read / SSL_write (n its result): a timeout keeps errno EAGAIN for the
 * caller's message. */
static void kv_tls__io_fail(kv_tls *t, redisContext *c, int n, const char *what) {
  const int saved = errno;
  const int e = SSL_get_error(t->ssl, n);
  if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && saved == 0)) {
    ERR_clear_error();
    c->err = REDIS_ERR_EOF;
    snprintf(c->errstr, sizeof c->errstr, "Server closed the connection");
  } else if (e == SSL_ERROR_SYSCALL) {
    ERR_clear_error();
    c->err = REDIS_ERR_IO;
    snprintf(c->errstr, sizeof c->errstr, "TLS %s: %s", what, strerror(saved));
  } else {
    kv_tls__fail(c, what, "TLS error");
  }
  errno = saved;
}

redisReply *kv_tls_command(kv_tls *t, redisContext *c, int argc, const char **argv,
                           const size_t *argvlen) {
  char *cmd = NULL;
  void *reply = NULL;
  const int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);
  if (len < 0) {
    c->err = REDIS_ERR_OOM;
    snprintf(c->errstr, sizeof c->errstr, "Out of memory");
    goto done;
  }
  errno = 0;
  const int w = SSL_write(t->ssl, cmd, len); /* without partial writes: all of it, or a failure */
  if (w != len) {
    kv_tls__io_fail(t, c, w, "write");
    goto done;
  }
  for (;;) {
    if (redisReaderGetReply(t->reader, &reply) != REDIS_OK) {
      c->err = REDIS_ERR_PROTOCOL;
      snprintf(c->errstr, sizeof c->errstr, "%s", t->reader->errstr);
      reply = NULL;
      goto done;
    }
    if (reply) break;
    char buf[KV_TLS_READ_CHUNK];
    errno = 0;
    const int n = SSL_read(t->ssl, buf, sizeof buf);
    if (n <= 0) {
      kv_tls__io_fail(t, c, n, "read");
      goto done;
    }
    if (redisReaderFeed(t->reader, buf, (size_t)n) != REDIS_OK) {
      c->err = REDIS_ERR_PROTOCOL;
      snprintf(c->errstr, sizeof c->errstr, "%s", t->reader->errstr);
      goto done;
    }
  }
done:
  if (cmd) redisFreeCommand(cmd);
  return reply;
}
