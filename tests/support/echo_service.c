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

static int echo__supervisor_only(hd_call *call, const ProtobufCMessage *reqm,
                                 ProtobufCMessage *respm) {
  if (hd_call_require(call, HD_ROLE_SUPERVISOR) != 0) return -1;
  return echo__echo(call, reqm, respm);
}

static const hd_method_impl echo_methods[] = {
    {"Echo", echo__echo, 0},
    {"SupervisorOnly", echo__supervisor_only, 0},
    {"PublicEcho", echo__echo, HD_METHOD_PUBLIC},
};

const hd_service_def hd_test_echo_def = {
    .name = "echo",
    .default_port = 0,
    .descriptor = &hdtest__v1__rpc_test__descriptor,
    .methods = echo_methods,
    .n_methods = sizeof echo_methods / sizeof echo_methods[0],
};
