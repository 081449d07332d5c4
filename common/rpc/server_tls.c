/* The server's TLS credentials through gRPC's certificate config fetcher, so that a certificate,
 * key or client CA rewritten on disk (a renewed certificate, a Kubernetes Secret updated in
 * place) is used from the next handshake on, without a restart. The core calls the fetcher at
 * every new connection; it looks at the files' identity (inode, size, mtime) and reads them
 * again only when one changed. A set that does not load (half written, a key of another
 * certificate) is logged once and the last good one kept. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <grpc/grpc_security.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "log/log.h"
#include "rpc/server_internal.h"

#define TLS_FILE_MAX (1u << 20) /* bytes of one PEM file */

typedef struct tls__stamp {
  dev_t dev;
  ino_t ino;
  off_t size;
  struct timespec mtime;
} tls__stamp;

struct rpc_tls {
  char *cert_file, *key_file, *ca_file; /* owned; ca_file NULL: no client certificates */
  pthread_mutex_t mu;                   /* the fetcher runs on the core's threads */
  tls__stamp stamps[3];                 /* of the set last looked at */
  bool loaded;                          /* a set was handed to the core */
  unsigned reloads;                     /* sets handed over after the first */
};

static void tls__stamp_of(const char *path, tls__stamp *st) {
  struct stat sb;
  memset(st, 0, sizeof *st);
  if (!path || stat(path, &sb) != 0) return;
  *st = (tls__stamp){.dev = sb.st_dev, .ino = sb.st_ino, .size = sb.st_size, .mtime = sb.st_mtim};
}

static bool tls__stamp_same(const tls__stamp *a, const tls__stamp *b) {
  return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
         a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

/* The whole of path, NUL-terminated, into *out (caller frees with free()). */
static int tls__read(const char *path, char **out, hd_err *err) {
  int rc = -1;
  char *buf = NULL;
  FILE *f = fopen(path, "rb");
  *out = NULL;
  if (!f)
    return hd_err_set(err, HD_FAILED_PRECONDITION, "cannot open %s: %s", path, strerror(errno));
  if (!(buf = malloc(TLS_FILE_MAX + 1))) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory reading %s", path);
    goto done;
  }
  const size_t n = fread(buf, 1, TLS_FILE_MAX + 1, f);
  if (ferror(f) || n > TLS_FILE_MAX) {
    hd_err_set(err, HD_FAILED_PRECONDITION, "TLS file %s is unreadable or over %u bytes", path,
               TLS_FILE_MAX);
    goto done;
  }
  buf[n] = '\0';
  *out = buf;
  buf = NULL;
  rc = 0;
done:
  free(buf);
  fclose(f);
  return rc;
}

static int tls__no_passphrase(char *buf, int size, int rwflag, void *u) {
  (void)buf, (void)size, (void)rwflag, (void)u;
  return 0;
}

/* The core only finds a bad set when it handshakes; checking here names the file at fault. */
static int tls__check(const rpc_tls *t, const char *cert, const char *key, const char *ca,
                      hd_err *err) {
  int rc = -1;
  BIO *cb = BIO_new_mem_buf(cert, -1), *kb = BIO_new_mem_buf(key, -1);
  BIO *ab = ca ? BIO_new_mem_buf(ca, -1) : NULL;
  X509 *x = cb ? PEM_read_bio_X509(cb, NULL, tls__no_passphrase, NULL) : NULL;
  EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, tls__no_passphrase, NULL) : NULL;
  X509 *a = ab ? PEM_read_bio_X509(ab, NULL, tls__no_passphrase, NULL) : NULL;
  if (!x)
    hd_err_set(err, HD_FAILED_PRECONDITION, "TLS certificate %s is not a PEM certificate",
               t->cert_file);
  else if (!k)
    hd_err_set(err, HD_FAILED_PRECONDITION, "TLS key %s is not an unencrypted PEM private key",
               t->key_file);
  else if (X509_check_private_key(x, k) != 1)
    hd_err_set(err, HD_FAILED_PRECONDITION, "TLS key %s does not belong to certificate %s",
               t->key_file, t->cert_file);
  else if (ca && !a)
    hd_err_set(err, HD_FAILED_PRECONDITION, "TLS client CA %s holds no PEM certificate",
               t->ca_file);
  else
    rc = 0;
  ERR_clear_error();
  X509_free(x);
  X509_free(a);
  EVP_PKEY_free(k);
  BIO_free(cb);
  BIO_free(kb);
  BIO_free(ab);
  return rc;
}

/* Reads and checks the set: *out (owned by the caller, or handed to the core) on success. */
static int tls__load(rpc_tls *t, grpc_ssl_server_certificate_config **out, hd_err *err) {
  int rc = -1;
  char *cert = NULL, *key = NULL, *ca = NULL;
  *out = NULL;
  if (tls__read(t->cert_file, &cert, err) != 0 || tls__read(t->key_file, &key, err) != 0 ||
      (t->ca_file && tls__read(t->ca_file, &ca, err) != 0) ||
      tls__check(t, cert, key, ca, err) != 0)
    goto done;
  grpc_ssl_pem_key_cert_pair pair = {.private_key = key, .cert_chain = cert};
  /* The core asserts root certificates in a fetched config even when it asks for no client
   * certificate; then its own certificate stands in, and is never used. */
  *out = grpc_ssl_server_certificate_config_create(ca ? ca : cert, &pair, 1); /* copies them */
  if (!*out) {
    hd_err_set(err, HD_FAILED_PRECONDITION, "TLS certificate %s or key %s is not valid",
               t->cert_file, t->key_file);
    goto done;
  }
  rc = 0;
done:
  free(cert);
  free(key);
  free(ca);
  return rc;
}

/* The core's fetcher: UNCHANGED while the files are the ones last looked at, NEW with a fresh
 * set when one changed and loads, UNCHANGED (the old set stays) when it does not. */
static grpc_ssl_certificate_config_reload_status tls__fetch(
    void *arg, grpc_ssl_server_certificate_config **config) {
  rpc_tls *t = arg;
  grpc_ssl_certificate_config_reload_status st = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED;
  tls__stamp now[3];
  pthread_mutex_lock(&t->mu);
  tls__stamp_of(t->cert_file, &now[0]);
  tls__stamp_of(t->key_file, &now[1]);
  tls__stamp_of(t->ca_file, &now[2]);
  bool same = t->loaded;
  for (int i = 0; i < 3 && same; i++) same = tls__stamp_same(&now[i], &t->stamps[i]);
  if (!same) {
    hd_err err = {0};
    memcpy(t->stamps, now, sizeof now); /* a bad set is reported once, not at every handshake */
    if (tls__load(t, config, &err) == 0) {
      if (t->loaded) {
        t->reloads++;
        hd_log_info("rpc.tls_reloaded", "cert", t->cert_file, "client_ca",
                    t->ca_file ? t->ca_file : "(none)");
      }
      t->loaded = true;
      st = GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_NEW;
    } else {
      hd_log_warn("rpc.tls_reload_failed", "reason", err.msg, "then",
                  t->loaded ? "keeping the certificates loaded before" : "refusing handshakes");
      st = t->loaded ? GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_UNCHANGED
                     : GRPC_SSL_CERTIFICATE_CONFIG_RELOAD_FAIL;
    }
  }
  pthread_mutex_unlock(&t->mu);
  return st;
}

static char *tls__dup(const char *s) { return s ? strdup(s) : NULL; }

int rpc_tls_new(const char *cert_file, const char *key_file, const char *client_ca_file,
                rpc_tls **out, grpc_server_credentials **creds, hd_err *err) {
  int rc = -1;
  grpc_ssl_server_certificate_config *first = NULL;
  grpc_ssl_server_credentials_options *opts = NULL;
  rpc_tls *t = calloc(1, sizeof *t);
  *out = NULL;
  *creds = NULL;
  if (!t || !(t->cert_file = tls__dup(cert_file)) || !(t->key_file = tls__dup(key_file)) ||
      (client_ca_file && !(t->ca_file = tls__dup(client_ca_file)))) {
    hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory setting up TLS");
    if (t) {
      free(t->cert_file);
      free(t->key_file);
      free(t);
    }
    return -1;
  }
  pthread_mutex_init(&t->mu, NULL);
  /* Loaded once here so a bad file stops the start with its name; the core asks again. */
  if (tls__load(t, &first, err) != 0) goto done;
  grpc_ssl_server_certificate_config_destroy(first);
  opts = grpc_ssl_server_credentials_create_options_using_config_fetcher(
      t->ca_file ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
                 : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
      tls__fetch, t);
  if (!opts || !(*creds = grpc_ssl_server_credentials_create_with_options(opts))) {
    opts = NULL; /* taken by the call even when it fails */
    hd_err_set(err, HD_FAILED_PRECONDITION, "TLS certificate %s or key %s is not valid",
               t->cert_file, t->key_file);
    goto done;
  }
  *out = t;
  t = NULL;
  rc = 0;
done:
  rpc_tls_free(t);
  return rc;
}

unsigned rpc_tls_reloads(rpc_tls *t) {
  if (!t) return 0;
  pthread_mutex_lock(&t->mu);
  const unsigned n = t->reloads;
  pthread_mutex_unlock(&t->mu);
  return n;
}

void rpc_tls_free(rpc_tls *t) {
  if (!t) return;
  pthread_mutex_destroy(&t->mu);
  free(t->cert_file);
  free(t->key_file);
  free(t->ca_file);
  free(t);
}
