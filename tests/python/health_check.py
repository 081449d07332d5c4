#!/usr/bin/python3
"""Interop test: Python's gRPC (Debian's python3-grpcio, a different gRPC implementation from our
C core server) calls grpc.health.v1.Health/Check on each of the four Helpdesk services.

For each service it checks that the whole server ("") and the service's own full name answer
SERVING, and that an unknown name and another service's name answer NOT_FOUND. One line per
check, then "N passed, N failed"; exit status 0 only when every check passed.

usage: health_check.py [--wait SECONDS] [--timeout SECONDS] [--tickets HOST:PORT] [--routing ...]
                       [--accounts ...] [--kpi ...]
An address not given comes from HELPDESK_<SVC>_ADDR (0.0.0.0 is called on 127.0.0.1), else the
service's default port on 127.0.0.1.
"""
import argparse
import os
import sys
import time

import hdstubs

SERVICES = (
    # (short name, default port, full gRPC service name)
    ("tickets", 50051, "helpdesk.v1.TicketService"),
    ("routing", 50052, "helpdesk.v1.RoutingService"),
    ("accounts", 50053, "helpdesk.v1.AccountService"),
    ("kpi", 50054, "helpdesk.v1.KpiService"),
)
UNKNOWN_SERVICE = "helpdesk.v1.NoSuchService"


def default_addr(name, port):
    addr = os.environ.get("HELPDESK_%s_ADDR" % name.upper()) or "127.0.0.1:%d" % port
    host, _, p = addr.rpartition(":")
    if host in ("", "0.0.0.0", "[::]"):
        host = "127.0.0.1"
    return "%s:%s" % (host, p)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wait", type=float, default=0.0,
                    help="seconds to wait for each server to answer SERVING before checking (default 0)")
    ap.add_argument("--timeout", type=float, default=5.0, help="deadline of each call in seconds (default 5)")
    for name, port, _ in SERVICES:
        ap.add_argument("--" + name, metavar="HOST:PORT", default=default_addr(name, port),
                        help="address of helpdesk-%s" % name)
    return ap.parse_args(argv)


def main(argv):
    args = parse_args(argv)
    hdstubs.load(["grpc/health/v1/health.proto"])
    import grpc
    from grpc.health.v1 import health_pb2, health_pb2_grpc

    serving = health_pb2.HealthCheckResponse.SERVING
    status_name = health_pb2.HealthCheckResponse.ServingStatus.Name
    passed = failed = 0

    def report(ok, what, detail):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
        print("%s %s: %s" % ("ok  " if ok else "FAIL", what, detail), flush=True)

    def check(stub, service):
        """(status name or None, gRPC code name) of one Check call."""
        try:
            resp = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=args.timeout)
            return status_name(resp.status), "OK"
        except grpc.RpcError as e:
            return None, "%s (%s)" % (e.code().name, e.details())

    def wait_serving(stub):
        deadline = time.monotonic() + args.wait
        while True:
            status, _ = check(stub, "")
            if status == "SERVING" or time.monotonic() >= deadline:
                return
            time.sleep(0.2)

    for i, (name, _, full) in enumerate(SERVICES):
        addr = getattr(args, name)
        other = SERVICES[(i + 1) % len(SERVICES)][2]
        with grpc.insecure_channel(addr) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            if args.wait > 0:
                wait_serving(stub)
            for service in ("", full):
                status, code = check(stub, service)
                report(status == status_name(serving), '%s %s Check("%s") is SERVING' % (name, addr, service),
                       status or code)
            for service in (UNKNOWN_SERVICE, other):
                status, code = check(stub, service)
                report(code.startswith("NOT_FOUND"), '%s %s Check("%s") is NOT_FOUND' % (name, addr, service),
                       code if status is None else "answered %s" % status)

    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
