/* The rule that ties a `service` token to the connection it came over, when the server requires
 * client certificates (mTLS): the token's user id (the calling service's name, "routing") must
 * be named by the verified client certificate, as its common name or one of its DNS subject
 * alternative names, byte for byte. A token minted from a leaked key then still needs the
 * service's private key to be used. Other roles are not tied to a certificate. */
#include <string.h>

#include <grpc/grpc_security.h>

#include "rpc/server_internal.h"

/* True when a property `name` of ctx equals want (want_len bytes). The first common name is
 * copied into cn (for the message). */
static bool peer__names(const grpc_auth_context *ctx, const char *name, const char *want,
                        size_t want_len, char *cn, size_t cn_size) {
  grpc_auth_property_iterator it = grpc_auth_context_find_properties_by_name(ctx, name);
  const grpc_auth_property *prop;
  while ((prop = grpc_auth_property_iterator_next(&it)) != NULL) {
    if (cn && !cn[0]) {
      const size_t n = prop->value_length < cn_size - 1 ? prop->value_length : cn_size - 1;
      memcpy(cn, prop->value, n);
      cn[n] = '\0';
    }
    if (prop->value_length == want_len && memcmp(prop->value, want, want_len) == 0) return true;
  }
  return false;
}

int rpc_peer_service_check(grpc_call *call, const hd_principal *p, hd_err *err) {
  if (!(p->roles & HD_ROLE_SERVICE)) return 0;
  int rc = -1;
  grpc_auth_context *ctx = grpc_call_auth_context(call);
  const size_t len = strlen(p->user_id);
  char cn[HD_USER_ID_MAX + 1] = "";
  if (!ctx || !grpc_auth_context_peer_is_authenticated(ctx)) {
    hd_err_set(err, HD_UNAUTHENTICATED,
               "a service token for \"%s\" is accepted only over a verified client certificate "
               "of that service, and this connection presented none",
               p->user_id);
    goto done;
  }
  if (!peer__names(ctx, GRPC_X509_CN_PROPERTY_NAME, p->user_id, len, cn, sizeof cn) &&
      !peer__names(ctx, GRPC_PEER_DNS_PROPERTY_NAME, p->user_id, len, NULL, 0)) {
    hd_err_set(err, HD_PERMISSION_DENIED,
               "a service token for \"%s\" came over the client certificate of \"%s\": the "
               "certificate must name the same service (common name or DNS name)",
               p->user_id, cn[0] ? cn : "(no common name)");
    goto done;
  }
  rc = 0;
done:
  if (ctx) grpc_auth_context_release(ctx);
  return rc;
}
