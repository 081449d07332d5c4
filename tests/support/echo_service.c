/* The echo service for runtime tests (see echo_service.h). */
#include "echo_service.h"

#include <unistd.h>

static int echo__echo(hd_call *call, const ProtobufCMessage *reqm, ProtobufCMessage *respm) {
  const Hdtest__V1__EchoRequest *req = (const void *)reqm;
  Hdtest__V1__EchoResponse *resp = (void *)respm;
  if (req->sleep_ms > 0) usleep((useconds_t)req->sleep_ms * 1000);
  if (req->fail_code)
    return hd_err_set(&call->err, (hd_code)req->fail_code, "asked to fail: %s", req->text);
  resp->text = call->principal ? hd_arena_printf(call->arena, "%s|%s|%s", req->text,
                                                 call->principal->tenant, call->principal->user_id)
                               : hd_arena_printf(call->arena, "%s|public", req->text);
  resp->request_id = hd_arena_strdup(call->arena, call->request_id);
  return 0;
}

/* SupervisorOnly's role is in the method table: the dispatcher refuses anyone else before the
 * request is unpacked, so the handler is the plain echo. */
static const hd_method_impl echo_methods[] = {
    {"Echo", echo__echo, 0, 0, NULL},
    {"SupervisorOnly", echo__echo, 0, HD_ROLE_SUPERVISOR, "the echo service's supervisor check"},
    {"PublicEcho", echo__echo, HD_METHOD_PUBLIC, 0, NULL},
};

const hd_service_def hd_test_echo_def = {
    .name = "echo",
    .default_port = 0,
    .descriptor = &hdtest__v1__rpc_test__descriptor,
    .methods = echo_methods,
    .n_methods = sizeof echo_methods / sizeof echo_methods[0],
};
