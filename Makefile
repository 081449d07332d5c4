# A thin front over CMake (as Neovim's is): the commands a newcomer needs.
#   make run     install missing Debian packages, build, start MariaDB, Redis and the four services
#   make stop    stop what `make run` started
#   make test    the whole test suite (unit, integration, Python interop) with its own servers
#   make test-cluster  the services on a three-node Galera cluster and Redis with Sentinel, with a
#                node killed under load (scripts/test-cluster.sh; about 5 minutes)
#   make         build only (into build/)
#   make asan    the rpc, auth and ticket tests built with ASan+UBSan (into build-asan/)
#   make valgrind  the same tests under valgrind
#   make fuzz    fuzz the request edge of every RPC (libFuzzer, ASan, UBSan; into build-fuzz/) for
#                FUZZ_TIME seconds (default 600), or FUZZ_RUNS inputs if that comes first
#   make deps    install the missing Debian packages
#   make bench   the benchmarks against the `make run` stack; writes BENCHMARKS.md
#   make clean   remove build/, build-asan/ and build-fuzz/ (with its corpus)
# CI=1 (any non-empty value) turns warnings into errors.

BUILD_DIR ?= build
ASAN_DIR ?= build-asan
FUZZ_DIR ?= build-fuzz
FUZZ_TIME ?= 600
FUZZ_RUNS ?=
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# The tests `make asan` and `make valgrind` run: the gRPC runtime, its request edge and call
# vocabulary, the core (the arena), auth, JSON, the kit (kv, consumer, timers, idempotency and
# outbox), the service runtime and every service's store and handler tests.
SANITIZE_TESTS ?= ^test_(rpc.*|core|auth.*|principal_cache|rate_limit|rate_reserve|mtls|base64url|ident|json|pb_json|wire_check|kv.*|svc_.*|service_health|ticket_store|tickets_.*|routing_.*|accounts_.*|kpi_.*)$$

WERROR := $(if $(CI),ON,OFF)

.DEFAULT_GOAL := build
.PHONY: deps build run stop test test-cluster bench asan valgrind fuzz clean

deps:
	scripts/deps.sh

build:
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DHD_WERROR=$(WERROR) -DHD_SANITIZE=OFF
	cmake --build $(BUILD_DIR) -j$(JOBS)

run:
	scripts/run.sh

stop:
	scripts/stop.sh

test:
	scripts/test.sh

test-cluster:
	BUILD_DIR=$(BUILD_DIR) scripts/test-cluster.sh

bench:
	bench/run_all.py

asan:
	scripts/deps.sh
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DHD_WERROR=$(WERROR) -DHD_SANITIZE=ON
	cmake --build $(ASAN_DIR) -j$(JOBS)
	scripts/check-memory.sh asan $(ASAN_DIR) '$(SANITIZE_TESTS)'

valgrind: build
	scripts/check-memory.sh valgrind $(BUILD_DIR) '$(SANITIZE_TESTS)'

fuzz:
	HD_FUZZ_BUILD_DIR=$(abspath $(FUZZ_DIR)) HD_FUZZ_WERROR=$(WERROR) \
	  scripts/fuzz.sh --time $(FUZZ_TIME) $(if $(FUZZ_RUNS),--runs $(FUZZ_RUNS))

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR)
