/* hd-health: asks a service's grpc.health.v1.Health/Check and exits 0 when it is SERVING.
 * The container health check of docker-compose (Kubernetes uses its native gRPC probe). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "core/arena.h"
#include "grpc/health/v1/health.pb-c.h"
#include "rpc/client.h"

enum { HEALTH_SERVING = 0, HEALTH_NOT_SERVING = 1, HEALTH_FAILED = 2 };

static void health__usage(FILE *f) {
  fprintf(f,
          "usage: hd-health [--ca FILE] [--timeout 2s] HOST:PORT [SERVICE]\n"
          "\n"
          "Calls grpc.health.v1.Health/Check on HOST:PORT for SERVICE (default: the whole server)\n"
          "and prints the status. Exit status: 0 SERVING, 1 NOT_SERVING or unknown service,\n"
          "2 the call failed (nothing listening, TLS mismatch, timeout) or bad usage.\n"
          "  --ca FILE      speak TLS and trust this CA (PEM); HOST must match the certificate\n"
          "  --timeout D    deadline of the call: 500ms, 2s, ... (default 2s)\n"
          "  --help         this text\n");
}

int main(int argc, char **argv) {
  static const struct option longopts[] = {{"ca", required_argument, NULL, 'c'},
                                           {"timeout", required_argument, NULL, 't'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
  const char *ca = NULL;
  int64_t timeout_us = 2000000;
  int opt;
  while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (opt) {
      case 'c':
        ca = optarg;
        break;
      case 't':
        if (hd_parse_duration_us(optarg, &timeout_us) != 0 || timeout_us <= 0 ||
            timeout_us > 60000000) {
          fprintf(stderr, "hd-health: --timeout %s is not a duration between 1us and 60s\n",
                  optarg);
          return HEALTH_FAILED;
        }
        break;
      case 'h':
        health__usage(stdout);
        return HEALTH_SERVING;
      default:
        health__usage(stderr);
        return HEALTH_FAILED;
    }
  }
  if (argc - optind < 1 || argc - optind > 2) {
    health__usage(stderr);
    return HEALTH_FAILED;
  }
  const char *target = argv[optind];
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  if (argc - optind == 2) req.service = argv[optind + 1];

  int rc = HEALTH_FAILED;
  hd_client *client = NULL;
  hd_arena *arena = hd_arena_new(1 << 16);
  hd_err err = {0};
  ProtobufCMessage *resp = NULL;
  hd_client_config cfg = {.target = target, .tls_ca_file = ca, .default_timeout_us = timeout_us};
  if (!arena) {
    fprintf(stderr, "hd-health: out of memory\n");
    goto done;
  }
  if (hd_client_new(&cfg, &client, &err) != 0) {
    fprintf(stderr, "hd-health: %s\n", err.msg);
    goto done;
  }
  if (hd_client_call(client, "/grpc.health.v1.Health/Check", NULL, timeout_us, &req.base,
                     &grpc__health__v1__health_check_response__descriptor, arena, &resp,
                     &err) != 0) {
    if (err.code == HD_NOT_FOUND) {
      printf("SERVICE_UNKNOWN\n");
      rc = HEALTH_NOT_SERVING;
    } else {
      fprintf(stderr, "hd-health: %s: %s: %s\n", target, hd_code_name(err.code), err.msg);
    }
    goto done;
  }
  const Grpc__Health__V1__HealthCheckResponse *r = (const void *)resp;
  const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
      &grpc__health__v1__health_check_response__serving_status__descriptor, (int)r->status);
  printf("%s\n", v ? v->name : "UNKNOWN");
  rc = r->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
           ? HEALTH_SERVING
           : HEALTH_NOT_SERVING;
done:
  hd_client_destroy(client);
  hd_arena_free(arena);
  return rc;
}
