/* Unary gRPC calls on the C core client: one channel per target, a pluck queue per call. */
#include "rpc/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>

struct hd_client {
  grpc_channel *channel;
  int64_t default_timeout_us;
};

static int client__read_file(const char *path, char **out, hd_err *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return hd_err_set(err, HD_FAILED_PRECONDITION, "cannot open CA file %s", path);
  char *buf = malloc((1 << 20) + 1);
  size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
  fclose(f);
  if (!buf) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
  buf[n] = '\0';
  *out = buf;
  return 0;
}

int hd_client_new(const hd_client_config *cfg, hd_client **out, hd_err *err) {
  hd_client *c = calloc(1, sizeof *c);
  if (!c) return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory creating a client");
  c->default_timeout_us = cfg->default_timeout_us > 0 ? cfg->default_timeout_us : 5000000;
  int64_t max = cfg->max_message_bytes > 0 ? cfg->max_message_bytes : (16 << 20);
  grpc_init();
  grpc_arg args[2];
  args[0].type = GRPC_ARG_INTEGER;
  args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
  args[0].value.integer = max > INT32_MAX ? INT32_MAX : (int)max;
  args[1].type = GRPC_ARG_INTEGER;
  args[1].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
  args[1].value.integer = -1; /* let the server decide what is too large */
  grpc_channel_args chargs = {.num_args = 2, .args = args};
  grpc_channel_credentials *creds;
  if (cfg->tls_ca_file) {
    char *pem = NULL;
    if (client__read_file(cfg->tls_ca_file, &pem, err) != 0) {
      free(c);
      grpc_shutdown();
      return -1;
    }
    creds = grpc_ssl_credentials_create(pem, NULL, NULL, NULL);
    free(pem);
  } else {
    creds = grpc_insecure_credentials_create();
  }
  c->channel = grpc_channel_create(cfg->target, creds, &chargs);
  grpc_channel_credentials_release(creds);
  *out = c;
  return 0;
}

void hd_client_destroy(hd_client *c) {
  if (!c) return;
  grpc_channel_destroy(c->channel);
  free(c);
  grpc_shutdown();
}

int hd_client_call_raw(hd_client *c, const char *method, const char *token, int64_t timeout_us,
                       const void *req, size_t req_len, hd_arena *arena, void **resp_bytes,
                       size_t *resp_len, hd_err *err) {
  int rc = -1;
  grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
  if (timeout_us <= 0) timeout_us = c->default_timeout_us;
  gpr_timespec deadline =
      gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_micros(timeout_us, GPR_TIMESPAN));
  grpc_slice mslice = grpc_slice_from_copied_string(method);
  grpc_call *call = grpc_channel_create_call(c->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq, mslice,
                                             NULL, deadline, NULL);
  grpc_slice_unref(mslice);

  grpc_slice req_slice = grpc_slice_from_copied_buffer(req, req_len);
  grpc_byte_buffer *send = grpc_raw_byte_buffer_create(&req_slice, 1);
  grpc_slice_unref(req_slice);

  grpc_metadata auth_md;
  char *auth_value = NULL;
  size_t n_md = 0;
  if (token) {
    size_t tl = strlen(token);
    auth_value = malloc(tl + 8);
    if (!auth_value) {
      hd_err_set(err, HD_RESOURCE_EXHAUSTED, "out of memory");
      goto done;
    }
    memcpy(auth_value, "Bearer ", 7);
    memcpy(auth_value + 7, token, tl + 1);
    auth_md.key = grpc_slice_from_static_string("authorization");
    auth_md.value = grpc_slice_from_copied_string(auth_value);
    n_md = 1;
  }

  grpc_metadata_array initial_md, trailing_md;
  grpc_metadata_array_init(&initial_md);
  grpc_metadata_array_init(&trailing_md);
  grpc_byte_buffer *recv = NULL;
  grpc_status_code status = GRPC_STATUS_UNKNOWN;
  grpc_slice details = grpc_empty_slice();

  grpc_op ops[6];
  memset(ops, 0, sizeof ops);
  ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
  ops[0].data.send_initial_metadata.count = n_md;
  ops[0].data.send_initial_metadata.metadata = n_md ? &auth_md : NULL;
  ops[1].op = GRPC_OP_SEND_MESSAGE;
  ops[1].data.send_message.send_message = send;
  ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
  ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
  ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
  ops[4].op = GRPC_OP_RECV_MESSAGE;
  ops[4].data.recv_message.recv_message = &recv;
  ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
  ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
  ops[5].data.recv_status_on_client.status = &status;
  ops[5].data.recv_status_on_client.status_details = &details;
  int tag = 1;
  grpc_call_error e = grpc_call_start_batch(call, ops, 6, &tag, NULL);
  if (e != GRPC_CALL_OK) {
    hd_err_set(err, HD_INTERNAL, "could not start the call to %s (error %d)", method, (int)e);
  } else {
    grpc_event ev = grpc_completion_queue_pluck(cq, &tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
    if (ev.type != GRPC_OP_COMPLETE || !ev.success) {
      hd_err_set(err, HD_INTERNAL, "the call to %s did not complete", method);
    } else if (status != GRPC_STATUS_OK) {
      int dl = (int)GRPC_SLICE_LENGTH(details);
      hd_err_set(err, (hd_code)status, "%.*s", dl, (const char *)GRPC_SLICE_START_PTR(details));
    } else if (!recv) {
      hd_err_set(err, HD_INTERNAL, "%s answered OK without a message", method);
    } else {
      grpc_byte_buffer_reader reader;
      grpc_byte_buffer_reader_init(&reader, recv);
      grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
      grpc_byte_buffer_reader_destroy(&reader);
      *resp_len = GRPC_SLICE_LENGTH(all);
      *resp_bytes = hd_arena_memdup(arena, GRPC_SLICE_START_PTR(all), *resp_len);
      grpc_slice_unref(all);
      if (!*resp_bytes && *resp_len)
        hd_err_set(err, HD_RESOURCE_EXHAUSTED, "reply of %zu bytes does not fit the arena",
                   *resp_len);
      else
        rc = 0;
    }
  }
  grpc_slice_unref(details);
  grpc_metadata_array_destroy(&initial_md);
  grpc_metadata_array_destroy(&trailing_md);
  if (recv) grpc_byte_buffer_destroy(recv);
  if (n_md) grpc_slice_unref(auth_md.value);
done:
  free(auth_value);
  grpc_byte_buffer_destroy(send);
  grpc_call_unref(call);
  grpc_completion_queue_shutdown(cq);
  grpc_completion_queue_destroy(cq);
  return rc;
}

int hd_client_call(hd_client *c, const char *method, const char *token, int64_t timeout_us,
                   const ProtobufCMessage *req, const ProtobufCMessageDescriptor *resp_desc,
                   hd_arena *arena, ProtobufCMessage **resp, hd_err *err) {
  size_t len = protobuf_c_message_get_packed_size(req);
  uint8_t *buf = hd_arena_alloc(arena, len ? len : 1);
  if (!buf)
    return hd_err_set(err, HD_RESOURCE_EXHAUSTED, "request of %zu bytes does not fit the arena",
                      len);
  protobuf_c_message_pack(req, buf);
  void *rb = NULL;
  size_t rl = 0;
  if (hd_client_call_raw(c, method, token, timeout_us, buf, len, arena, &rb, &rl, err) != 0)
    return -1;
  ProtobufCAllocator alloc = hd_arena_pb_allocator(arena);
  *resp = protobuf_c_message_unpack(resp_desc, &alloc, rl, rb);
  if (!*resp)
    return hd_err_set(err, HD_INTERNAL, "the reply of %s is not a valid %s", method,
                      resp_desc->name);
  return 0;
}
