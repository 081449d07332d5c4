#!/usr/bin/python3
"""Server reflection and Health/Watch of the four Helpdesk services, from a client that shares no
code with ours: Debian's python3-grpcio, with the reflection protos compiled by Debian's protoc
(python3-grpcio ships no reflection client) and google.protobuf's descriptor_pb2 and
descriptor_pool to read what the servers send.

The test runs its own private MariaDB and Redis (scripts/servers.sh in a temporary folder) and
its own four services, because it stops MariaDB and starts it again: make test's stack is never
touched. For each service it checks:
  - grpc.reflection.v1 and v1alpha list exactly the service, grpc.health.v1.Health and the two
    reflection services (the listing is printed);
  - a file fetched by symbol (the service's name, one of its methods, one of its messages) comes
    with its imports, builds in a fresh descriptor pool, and declares the same methods, with the
    same types, as the .proto compiled here by protoc; a file by its name, too;
  - unknown names get an error_response NOT_FOUND, not a broken stream;
  - Health/Watch sends SERVING for "", the service's name and "liveness", and SERVICE_UNKNOWN
    (a message, not an error) for an unknown name;
then that Watch("") on every service sees NOT_SERVING when MariaDB stops and SERVING again when
it is back, while Watch("liveness") stays SERVING (the transcript is printed); and last that a
Watch open at SIGTERM sees NOT_SERVING, then ends UNAVAILABLE, and each service exits 0.
Ends with "N passed, N failed" (tests/python/hdserver.py's runner).
"""
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import hdserver
import hdstubs

ROOT = hdserver.ROOT
SERVICES = (
    # (short name, full gRPC service name, its .proto, a message of it)
    ("tickets", "helpdesk.v1.TicketService", "helpdesk/v1/tickets.proto", "helpdesk.v1.Ticket"),
    ("routing", "helpdesk.v1.RoutingService", "helpdesk/v1/routing.proto", None),
    ("accounts", "helpdesk.v1.AccountService", "helpdesk/v1/accounts.proto", None),
    ("kpi", "helpdesk.v1.KpiService", "helpdesk/v1/kpi.proto", None),
)
BUILTIN = ("grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
           "grpc.reflection.v1alpha.ServerReflection")
NOT_FOUND = 5
TIMEOUT = 10

hdstubs.load(["grpc/health/v1/health.proto", "grpc/reflection/v1/reflection.proto",
              "grpc/reflection/v1alpha/reflection.proto", "helpdesk/v1/common.proto"]
             + [s[2] for s in SERVICES])
import grpc  # noqa: E402
from google.protobuf import descriptor_pb2, descriptor_pool  # noqa: E402
from grpc.health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from grpc.reflection.v1 import reflection_pb2 as v1, reflection_pb2_grpc as v1_grpc  # noqa: E402
from grpc.reflection.v1alpha import reflection_pb2 as v1a  # noqa: E402
from grpc.reflection.v1alpha import reflection_pb2_grpc as v1a_grpc  # noqa: E402
from helpdesk.v1 import accounts_pb2, kpi_pb2, routing_pb2, tickets_pb2  # noqa: E402

LOCAL = {"helpdesk/v1/tickets.proto": tickets_pb2, "helpdesk/v1/routing.proto": routing_pb2,
         "helpdesk/v1/accounts.proto": accounts_pb2, "helpdesk/v1/kpi.proto": kpi_pb2}
STATUS = health_pb2.HealthCheckResponse.ServingStatus.Name

state = {"tmp": None, "servers": None, "svc": {}}


def servers(cmd):
    """scripts/servers.sh start|stop on the test's own folder; start returns its environment."""
    out = subprocess.run([os.path.join(ROOT, "scripts", "servers.sh"), cmd, state["servers"]],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    env = {}
    for line in out.splitlines():
        if line.startswith("export "):
            k, _, v = line[len("export "):].partition("=")
            env[k] = v
    return env


def stop_mariadb():
    """SIGTERM to the private mariadbd, waits until it has exited (Redis keeps running)."""
    pidfile = os.path.join(state["servers"], "mariadb.pid")
    with open(pidfile) as f:
        pid = int(f.read().strip())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise RuntimeError("mariadbd did not exit within 60 s of SIGTERM")


def setup():
    state["tmp"] = tempfile.mkdtemp(prefix="hd-reflwatch-")
    state["servers"] = os.path.join(state["tmp"], "servers")
    os.environ.update(servers("start"))
    for name, *_ in SERVICES:
        state["svc"][name] = hdserver.Service(name, "rw" + name).start()


def teardown():
    for s in state["svc"].values():
        s.cleanup()
    if state["servers"]:
        subprocess.run([os.path.join(ROOT, "scripts", "servers.sh"), "stop", state["servers"]],
                       check=False)
    if state["tmp"]:
        shutil.rmtree(state["tmp"], ignore_errors=True)


def channel(name):
    return grpc.insecure_channel(f"127.0.0.1:{state['svc'][name].port}")


def reflect(name, requests, alpha=False):
    """Sends requests (reflection request messages) on one ServerReflectionInfo stream."""
    mod, mod_grpc = (v1a, v1a_grpc) if alpha else (v1, v1_grpc)
    with channel(name) as ch:
        stub = mod_grpc.ServerReflectionStub(ch)
        return list(stub.ServerReflectionInfo(iter(requests), timeout=TIMEOUT))


def listing(name, alpha=False):
    mod = v1a if alpha else v1
    (resp,) = reflect(name, [mod.ServerReflectionRequest(list_services="")], alpha)
    assert resp.WhichOneof("message_response") == "list_services_response", resp
    return [s.name for s in resp.list_services_response.service]


def pool_of(resp):
    """A fresh descriptor pool holding the files of a file_descriptor_response (any order)."""
    assert resp.WhichOneof("message_response") == "file_descriptor_response", resp
    files = [descriptor_pb2.FileDescriptorProto.FromString(b)
             for b in resp.file_descriptor_response.file_descriptor_proto]
    pool, added, pending = descriptor_pool.DescriptorPool(), set(), list(files)
    while pending:
        ready = [f for f in pending if all(d in added for d in f.dependency)]
        assert ready, "the response lacks imports of " + ", ".join(f.name for f in pending)
        for f in ready:
            pool.Add(f)
            added.add(f.name)
            pending.remove(f)
    return files, pool


def same_service(pool, full, proto):
    """The service in pool declares what protoc compiled here declares."""
    ours = pool.FindServiceByName(full)
    local = LOCAL[proto].DESCRIPTOR.services_by_name[full.rsplit(".", 1)[1]]
    got = [(m.name, m.input_type.full_name, m.output_type.full_name) for m in ours.methods]
    want = [(m.name, m.input_type.full_name, m.output_type.full_name) for m in local.methods]
    assert got == want, f"{full}: reflection says {got}, the .proto says {want}"
    return ours


def make_listing_test(name, full, alpha):
    def test():
        got = listing(name, alpha)
        print(f"     {name} {'v1alpha' if alpha else 'v1'} list_services: {', '.join(got)}")
        assert sorted(got) == sorted((full,) + BUILTIN), got
    test.__name__ = f"test_{name}_{'v1alpha' if alpha else 'v1'}_lists_its_service_health_and_reflection"
    return test


def make_symbol_test(name, full, proto, message):
    def test():
        local = LOCAL[proto].DESCRIPTOR.services_by_name[full.rsplit(".", 1)[1]]
        method = f"{full}.{local.methods[0].name}"
        msg = message or local.methods[0].input_type.full_name
        symbols = [full, method, msg]
        resps = reflect(name, [v1.ServerReflectionRequest(file_containing_symbol=s) for s in symbols]
                        + [v1.ServerReflectionRequest(file_by_filename=proto)])
        assert len(resps) == 4, resps
        for sym, resp in zip(symbols + [proto], resps):
            files, pool = pool_of(resp)
            assert files[0].name == proto, f"{sym}: first file is {files[0].name}, not {proto}"
            same_service(pool, full, proto)
        print(f"     {name}: {symbols[1]} is in {files[0].name}, sent with "
              f"{', '.join(f.name for f in files[1:]) or 'no imports'}")
        # The same from v1alpha.
        (resp,) = reflect(name, [v1a.ServerReflectionRequest(file_containing_symbol=full)], True)
        same_service(pool_of(resp)[1], full, proto)
    test.__name__ = f"test_{name}_file_by_symbol_and_filename_match_the_proto"
    return test


def make_unknown_test(name):
    def test():
        reqs = [v1.ServerReflectionRequest(file_containing_symbol="helpdesk.v1.NoSuchThing"),
                v1.ServerReflectionRequest(file_by_filename="helpdesk/v1/nothing.proto"),
                v1.ServerReflectionRequest(file_containing_extension=v1.ExtensionRequest(
                    containing_type="helpdesk.v1.Ticket", extension_number=100)),
                v1.ServerReflectionRequest()]
        resps = reflect(name, reqs)
        codes = [r.error_response.error_code for r in resps]
        assert all(r.WhichOneof("message_response") == "error_response" for r in resps), resps
        assert codes == [NOT_FOUND, NOT_FOUND, NOT_FOUND, 3], codes
        assert "helpdesk.v1.NoSuchThing" in resps[0].error_response.error_message
        assert resps[0].original_request == reqs[0]
        if name == "routing":  # another service's file is not served here
            (r,) = reflect(name, [v1.ServerReflectionRequest(file_by_filename="helpdesk/v1/kpi.proto")])
            assert r.error_response.error_code == NOT_FOUND, r
    test.__name__ = f"test_{name}_unknown_names_get_error_responses_not_found"
    return test


class Watcher:
    """One Health/Watch stream read on a thread into a queue of (seconds, status name)."""

    def __init__(self, name, service, t0):
        self.name, self.service, self.t0 = name, service, t0
        self.ch = channel(name)
        self.q = queue.Queue()
        self.call = health_pb2_grpc.HealthStub(self.ch).Watch(
            health_pb2.HealthCheckRequest(service=service), timeout=300)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for resp in self.call:
                self.q.put((time.monotonic() - self.t0, STATUS(resp.status)))
        except grpc.RpcError as e:
            self.q.put((time.monotonic() - self.t0, "ended " + e.code().name))

    def next(self, timeout):
        try:
            at, status = self.q.get(timeout=timeout)
        except queue.Empty:
            return None
        print(f"     {at:6.2f}s {self.name:8} Watch({self.service!r}): {status}", flush=True)
        return status

    def close(self):
        self.call.cancel()
        self.ch.close()


def make_watch_test(name, full):
    def test():
        t0 = time.monotonic()
        for service, want in (("", "SERVING"), (full, "SERVING"), ("liveness", "SERVING"),
                              ("helpdesk.v1.NoSuchService", "SERVICE_UNKNOWN")):
            w = Watcher(name, service, t0)
            try:
                got = w.next(TIMEOUT)
                assert got == want, f"Watch({service!r}) first sent {got}, not {want}"
                assert w.next(0.5) is None, "a second status with nothing changed"
            finally:
                w.close()
    test.__name__ = f"test_{name}_watch_sends_the_current_status_and_service_unknown"
    return test


def test_watch_sees_not_serving_when_mariadb_stops_and_serving_after():
    t0 = time.monotonic()
    ready = [Watcher(name, "", t0) for name, *_ in SERVICES]
    alive = Watcher("tickets", "liveness", t0)
    try:
        for w in ready + [alive]:
            assert w.next(TIMEOUT) == "SERVING", f"{w.name} did not start SERVING"
        print(f"     {time.monotonic() - t0:6.2f}s stopping MariaDB", flush=True)
        stop_mariadb()
        for w in ready:
            got = w.next(60)
            assert got == "NOT_SERVING", f"{w.name}: after MariaDB stopped, Watch sent {got}"
        print(f"     {time.monotonic() - t0:6.2f}s starting MariaDB", flush=True)
        servers("start")
        for w in ready:
            got = w.next(90)
            assert got == "SERVING", f"{w.name}: after MariaDB came back, Watch sent {got}"
        got = alive.next(0)
        assert got is None, f"Watch('liveness') changed to {got} while MariaDB was down"
    finally:
        for w in ready + [alive]:
            w.close()


def test_sigterm_ends_open_watch_streams_and_each_service_exits_0():
    """Last: stops the four services. A Watch open at SIGTERM sees NOT_SERVING (draining, while
    calls are still served) and then ends UNAVAILABLE; the process drains and exits 0."""
    t0 = time.monotonic()
    ws = [Watcher(name, "", t0) for name, *_ in SERVICES]
    try:
        for w in ws:
            assert w.next(TIMEOUT) == "SERVING", f"{w.name} did not start SERVING"
        print(f"     {time.monotonic() - t0:6.2f}s SIGTERM to the four services", flush=True)
        rcs = {}
        stops = [threading.Thread(target=lambda n=n: rcs.__setitem__(n, state["svc"][n].stop()))
                 for n, *_ in SERVICES]
        for t in stops:
            t.start()
        for w in ws:
            seen = [w.next(60), w.next(60)]
            assert seen == ["NOT_SERVING", "ended UNAVAILABLE"], f"{w.name}: Watch saw {seen}"
        for t in stops:
            t.join()
        print(f"     {time.monotonic() - t0:6.2f}s exit statuses: {rcs}", flush=True)
        assert all(rc == 0 for rc in rcs.values()), rcs
    finally:
        for w in ws:
            w.close()


def main():
    tests = []
    for name, full, proto, message in SERVICES:
        tests += [make_listing_test(name, full, False), make_listing_test(name, full, True),
                  make_symbol_test(name, full, proto, message), make_unknown_test(name),
                  make_watch_test(name, full)]
    tests.append(test_watch_sees_not_serving_when_mariadb_stops_and_serving_after)
    tests.append(test_sigterm_ends_open_watch_streams_and_each_service_exits_0)
    return hdserver.run_tests(tests, setup, teardown)


if __name__ == "__main__":
    sys.exit(main())
