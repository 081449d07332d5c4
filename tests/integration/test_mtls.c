/* mTLS between services: a service started with HELPDESK_TLS_CLIENT_CA requires a client
 * certificate from that CA on every connection, and accepts a `service` token only over a
 * certificate naming the same service. Certificates (a CA, the server's, clients "routing" and
 * "accounts", and a "routing" from another CA) are made with openssl at test time; the client CA
 * file is replaced while the service runs to show it is read again without a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "echo_service.h"
#include "svc_fixture.h"
#include "test_env.h"

typedef struct mtls_env {
  char dir[64];
  hd_clock clock;
  char db_name[64];
  hd_svc *svc;
  char target[64];
} mtls_env;

static const char *path_of(const mtls_env *e, const char *name, char *buf, size_t size) {
  snprintf(buf, size, "%s/%s", e->dir, name);
  return buf;
}

/* The certificates, in e->dir: ca and ca2 (CAs), server (for 127.0.0.1, from ca), routing and
 * accounts (clients from ca), routing2 (a client named routing from ca2). */
static int make_certs(const mtls_env *e) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "cd %s && (openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mtls-ca "
           "-keyout ca.key -out ca.pem && "
           "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=mtls-ca2 "
           "-keyout ca2.key -out ca2.pem && "
           "mk() { openssl req -newkey rsa:2048 -nodes -subj /CN=$1 -keyout $1.key -out $1.csr "
           "&& printf \"subjectAltName=$3\\nextendedKeyUsage=serverAuth,clientAuth\\n\" >$1.ext "
           "&& openssl x509 -req -in $1.csr -CA $2.pem -CAkey $2.key -CAcreateserial -days 2 "
           "-extfile $1.ext -out $1.pem; } && "
           "mk server ca IP:127.0.0.1,DNS:localhost && mk routing ca DNS:routing && "
           "mk accounts ca DNS:accounts && "
           "openssl req -newkey rsa:2048 -nodes -subj /CN=routing -keyout routing2.key "
           "-out routing2.csr && openssl x509 -req -in routing2.csr -CA ca2.pem -CAkey ca2.key "
           "-CAcreateserial -days 2 -extfile routing.ext -out routing2.pem) >certs.log 2>&1",
           e->dir);
  return system(cmd) == 0 ? 0 : -1;
}

static int group_setup(void **state) {
  mtls_env *e = calloc(1, sizeof *e);
  if (!e) return -1;
  *state = e;
  snprintf(e->dir, sizeof e->dir, "/tmp/hd-mtls-XXXXXX");
  if (!mkdtemp(e->dir)) {
    e->dir[0] = '\0';
    return -1;
  }
  if (make_certs(e) != 0) {
    fprintf(stderr, "mtls: openssl could not make the certificates (see %s/certs.log)\n", e->dir);
    return -1;
  }
  char cert[128], key[128], ca[128];
  setenv("HELPDESK_TLS_CERT", path_of(e, "server.pem", cert, sizeof cert), 1);
  setenv("HELPDESK_TLS_KEY", path_of(e, "server.key", key, sizeof key), 1);
  setenv("HELPDESK_TLS_CLIENT_CA", path_of(e, "ca.pem", ca, sizeof ca), 1);
  hd_clock_init_manual(&e->clock, 1767571200LL * HD_US_PER_S);
  hd_test_unique(e->db_name, sizeof e->db_name, "hdt_mtls");
  hd_svc_options opts = {.listen_addr = "127.0.0.1:0", .clock = &e->clock, .db_name = e->db_name};
  hd_err err = {0};
  const int rc = hd_svc_start(&hd_test_echo_def, &opts, &e->svc, &err);
  unsetenv("HELPDESK_TLS_CERT");
  unsetenv("HELPDESK_TLS_KEY");
  unsetenv("HELPDESK_TLS_CLIENT_CA");
  if (rc != 0) {
    fprintf(stderr, "mtls: %s\n", err.msg);
    return -1;
  }
  snprintf(e->target, sizeof e->target, "127.0.0.1:%d", hd_svc_port(e->svc));
  return 0;
}

static int group_teardown(void **state) {
  mtls_env *e = *state;
  if (!e) return 0;
  hd_svc_stop(e->svc);
  if (e->db_name[0]) {
    hd_test_drop_database(e->db_name);
  }
  if (e->dir[0]) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", e->dir);
    if (system(cmd) != 0) fprintf(stderr, "mtls: could not remove %s\n", e->dir);
  }
  free(e);
  *state = NULL;
  return 0;
}

/* A token for user (roles) of tenant acme; caller frees. */
static char *token(mtls_env *e, const char *user, unsigned roles) {
  hd_principal p = {.roles = roles};
  snprintf(p.tenant, sizeof p.tenant, "acme");
  snprintf(p.user_id, sizeof p.user_id, "%s", user);
  char *tok = NULL;
  hd_err err = {0};
  assert_int_equal(hd_auth_sign(&hd_svc_env_of(e->svc)->auth, &p,
                                hd_clock_now_us(&e->clock) / HD_US_PER_S, 3600, &tok, &err),
                   0);
  return tok;
}

/* Echo over a fresh channel showing client certificate `client` (NULL: none) with a token for
 * user (roles): the status, the echoed text into text (when OK) and the message into err. */
static hd_code echo_as(mtls_env *e, const char *client, const char *user, unsigned roles,
                       char *text, size_t text_size, hd_err *err) {
  char ca[128], cert[128], key[128], name[64];
  path_of(e, "ca.pem", ca, sizeof ca);
  hd_client_config cfg = {.target = e->target, .tls_ca_file = ca};
  if (client) {
    snprintf(name, sizeof name, "%s.pem", client);
    cfg.tls_cert_file = path_of(e, name, cert, sizeof cert);
    snprintf(name, sizeof name, "%s.key", client);
    cfg.tls_key_file = path_of(e, name, key, sizeof key);
  }
  char *tok = token(e, user, roles);
  hd_client *c = NULL;
  hd_err_clear(err);
  assert_int_equal(hd_client_new(&cfg, &c, err), 0);
  hd_arena *a = hd_arena_new(1 << 16);
  Hdtest__V1__EchoRequest req = HDTEST__V1__ECHO_REQUEST__INIT;
  req.text = "mtls";
  ProtobufCMessage *resp = NULL;
  if (hd_client_call(c, HD_TEST_ECHO, tok, 3 * HD_US_PER_S, &req.base,
                     &hdtest__v1__echo_response__descriptor, a, &resp, err) == 0 &&
      text)
    snprintf(text, text_size, "%s", ((Hdtest__V1__EchoResponse *)resp)->text);
  printf("mtls: client cert %-9s token %-8s %-7s -> %s%s%s\n", client ? client : "(none)", user,
         roles == HD_ROLE_SERVICE ? "service" : "agent", hd_code_name(err->code),
         err->code ? ": " : "", err->code ? err->msg : "");
  hd_arena_free(a);
  hd_client_destroy(c);
  free(tok);
  return err->code;
}

static void test_service_token_over_the_certificate_of_that_service_is_accepted(void **state) {
  mtls_env *e = *state;
  char text[128] = "";
  hd_err err;
  assert_int_equal(echo_as(e, "routing", "routing", HD_ROLE_SERVICE, text, sizeof text, &err),
                   HD_OK);
  assert_string_equal(text, "mtls|acme|routing");
}

static void test_service_token_over_another_services_certificate_is_permission_denied(
    void **state) {
  mtls_env *e = *state;
  hd_err err;
  assert_int_equal(echo_as(e, "accounts", "routing", HD_ROLE_SERVICE, NULL, 0, &err),
                   HD_PERMISSION_DENIED);
  assert_non_null(strstr(err.msg, "\"routing\""));
  assert_non_null(strstr(err.msg, "\"accounts\""));
}

static void test_other_roles_are_not_tied_to_the_certificate_name(void **state) {
  mtls_env *e = *state;
  char text[128] = "";
  hd_err err;
  assert_int_equal(echo_as(e, "accounts", "agent-1", HD_ROLE_AGENT, text, sizeof text, &err),
                   HD_OK);
  assert_string_equal(text, "mtls|acme|agent-1");
}

static void test_a_connection_without_a_client_certificate_is_refused(void **state) {
  mtls_env *e = *state;
  hd_err err;
  assert_int_equal(echo_as(e, NULL, "routing", HD_ROLE_SERVICE, NULL, 0, &err), HD_UNAVAILABLE);
  assert_int_equal(echo_as(e, NULL, "agent-1", HD_ROLE_AGENT, NULL, 0, &err), HD_UNAVAILABLE);
}

static void test_a_client_certificate_from_another_ca_is_refused(void **state) {
  mtls_env *e = *state;
  hd_err err;
  assert_int_equal(echo_as(e, "routing2", "routing", HD_ROLE_SERVICE, NULL, 0, &err),
                   HD_UNAVAILABLE);
}

/* Replaces the client CA file as a Secret update does (a new file renamed over the old): from
 * the next connection on, certificates of the added CA are accepted, with no restart. */
static void test_a_replaced_client_ca_file_is_used_without_a_restart(void **state) {
  mtls_env *e = *state;
  hd_err err;
  assert_int_equal(echo_as(e, "routing2", "routing", HD_ROLE_SERVICE, NULL, 0, &err),
                   HD_UNAVAILABLE);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "cd %s && cat ca.pem ca2.pem >ca.new && mv ca.new ca.pem", e->dir);
  assert_int_equal(system(cmd), 0);
  char text[128] = "";
  assert_int_equal(echo_as(e, "routing2", "routing", HD_ROLE_SERVICE, text, sizeof text, &err),
                   HD_OK);
  assert_string_equal(text, "mtls|acme|routing");
  /* And back: ca2 is no longer trusted once it leaves the file. */
  snprintf(cmd, sizeof cmd, "cd %s && openssl x509 -in ca.pem -out ca.new && mv ca.new ca.pem",
           e->dir);
  assert_int_equal(system(cmd), 0);
  assert_int_equal(echo_as(e, "routing2", "routing", HD_ROLE_SERVICE, NULL, 0, &err),
                   HD_UNAVAILABLE);
  assert_int_equal(echo_as(e, "routing", "routing", HD_ROLE_SERVICE, NULL, 0, &err), HD_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_service_token_over_the_certificate_of_that_service_is_accepted),
      cmocka_unit_test(test_service_token_over_another_services_certificate_is_permission_denied),
      cmocka_unit_test(test_other_roles_are_not_tied_to_the_certificate_name),
      cmocka_unit_test(test_a_connection_without_a_client_certificate_is_refused),
      cmocka_unit_test(test_a_client_certificate_from_another_ca_is_refused),
      cmocka_unit_test(test_a_replaced_client_ca_file_is_used_without_a_restart),
  };
  return cmocka_run_group_tests_name("mtls", tests, group_setup, group_teardown);
}
