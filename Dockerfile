# syntax=docker/dockerfile:1
# Helpdesk: one image with the four services (helpdesk-tickets, -routing, -accounts, -kpi) and the
# tools hd-token (mints bearer tokens) and hd-health (gRPC health probe for container health checks).
#
# One image rather than one per service: the four binaries share the same libraries and almost all
# of their code (hd_common), so one image is built, scanned and cached once, every service runs the
# exact same build, and a release is one tag. Each container / Deployment picks its binary with
# `command`. Four images would be four copies of the same layers that could drift apart.
#
#   docker build -t helpdesk:dev .
#   docker run --rm helpdesk:dev helpdesk-tickets     (needs MariaDB and Redis: see docker-compose.yml)

ARG DEBIAN_RELEASE=bookworm

# ---- build: compilers and -dev packages, a Release build of the six binaries ----
FROM debian:${DEBIAN_RELEASE} AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ca-certificates \
      libgrpc-dev protobuf-c-compiler libprotobuf-c-dev \
      libhiredis-dev libmariadb-dev libssl-dev libcmocka-dev libjansson-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release \
 && cmake --build /build -j"$(nproc)" --target \
      helpdesk-tickets helpdesk-routing helpdesk-accounts helpdesk-kpi hd-token hd-health \
 && install -d /out \
 && install -s -m 0755 \
      /build/services/helpdesk-tickets /build/services/helpdesk-routing \
      /build/services/helpdesk-accounts /build/services/helpdesk-kpi \
      /build/tools/hd-token /build/tools/hd-health /out/

# ---- runtime: only the shared libraries the binaries load, and an unprivileged user ----
FROM debian:${DEBIAN_RELEASE}-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgrpc29 libprotobuf-c1 libhiredis0.14 libmariadb3 libssl3 libjansson4 ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 helpdesk \
 && useradd --system --uid 10001 --gid helpdesk --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin helpdesk
COPY --from=build /out/ /usr/local/bin/
# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# gRPC: tickets 50051, routing 50052, accounts 50053, kpi 50054; /metrics on the gRPC port + 1000.
EXPOSE 50051 50052 50053 50054 51051 51052 51053 51054
# The services drain in-flight calls on SIGTERM (HELPDESK_SHUTDOWN_GRACE) and exit 0.
STOPSIGNAL SIGTERM
CMD ["helpdesk-tickets"]
