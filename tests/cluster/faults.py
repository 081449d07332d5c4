#!/usr/bin/python3
"""The faults of make test-cluster (scripts/test-cluster.sh), against the cluster scripts/cluster.sh
started in CLUSTER_DIR (its env exported: HELPDESK_DB_NODES, HELPDESK_REDIS_SENTINELS, ...):

  galera    helpdesk-tickets on HELPDESK_DB_NODES under create load (callers that retry each
            idempotency key until it is acknowledged, as a client must); Galera node 1, the one
            the service uses, is SIGKILLed, then restarted. Counted: creates acknowledged, rows of
            the load's tenant on each surviving node and on the restarted one after it rejoined,
            lost (acknowledged, not stored), doubled (stored more than once for one key), and
            the seconds until creates succeed again and until the node is Synced.
  single    the same create load against one node alone (HELPDESK_DB_HOST/PORT), no fault: the
            figure to compare with.
  sentinel  helpdesk-tickets and helpdesk-routing on Sentinel under claim load (hd-bench claim:
            agents racing ClaimNext); once a third of the tickets are claimed the Redis primary
            is SIGKILLed. Counted: claims before and
            after the kill, claims returned twice (must be 0), owners that are not the claimer,
            seconds until Sentinel names the new primary and until claims succeed again.

Each prints one "RESULT key=value ..." line; the exit status is 1 when an invariant broke.
Usage: faults.py galera|single|sentinel
"""
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request

import grpc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import hdserver  # noqa: E402
import hdstubs  # noqa: E402

hdstubs.load(["helpdesk/v1/common.proto", "helpdesk/v1/tickets.proto"])
from helpdesk.v1 import tickets_pb2 as pb  # noqa: E402
from helpdesk.v1 import tickets_pb2_grpc  # noqa: E402

ROOT = hdserver.ROOT
CLUSTER = os.path.join(ROOT, "scripts", "cluster.sh")
DIR = os.environ["CLUSTER_DIR"]
CALLERS = int(os.environ.get("HD_FAULT_CALLERS", "4"))


def ports():
    out = {}
    with open(os.path.join(DIR, "ports")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            out[k] = int(v)
    return out


def sql(port, statement):
    """Rows of statement on the node at port (tab-separated), or None when it does not answer."""
    r = subprocess.run(["mariadb", "--no-defaults", "--protocol=tcp", "-h127.0.0.1", f"-P{port}",
                        "-uroot", "-N", "-B", "-e", statement], capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        return None
    return [line.split("\t") for line in r.stdout.splitlines()]


def token(tenant, user, roles):
    out = subprocess.run([hdserver.binary("tools/hd-token"), "--tenant", tenant, "--user", user,
                          "--roles", roles, "--ttl", "1h"], check=True, capture_output=True,
                         text=True)
    return [("authorization", "Bearer " + out.stdout.strip())]


def wait_serving(stub, meta, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            stub.ListTickets(pb.ListTicketsRequest(), metadata=meta, timeout=5)
            return
        except grpc.RpcError:
            time.sleep(0.2)
    raise RuntimeError("the ticket service did not serve within 60 s")


class CreateLoad:
    """CALLERS threads creating tickets; each key is retried until acknowledged (or the load is
    told to give up, which only happens at the very end)."""

    def __init__(self, target, meta, tag):
        self.target, self.meta, self.tag = target, meta, tag
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acked = {}         # key -> ticket id
        self.failures = []      # (monotonic time, status) of failed attempts
        self.ack_times = []     # monotonic time of each acknowledgement
        self.unacked = 0        # keys given up at the very end (none expected)

    def caller(self, n):
        channel = grpc.insecure_channel(self.target)
        stub = tickets_pb2_grpc.TicketServiceStub(channel)
        i = 0
        while not self.stop.is_set():
            key = f"{self.tag}-{n}-{i}"
            i += 1
            give_up = time.monotonic() + 120
            while True:
                try:
                    t = stub.CreateTicket(pb.CreateTicketRequest(
                        idempotency_key=key, subject="Site down after the deploy",
                        description="Every page answers 500 since 09:00.", product="Web Hosting",
                        brand="Cluster", service_type=pb.SERVICE_TYPE_SHARED,
                        issue_type=pb.ISSUE_TYPE_TECHNICAL), metadata=self.meta, timeout=10)
                    with self.lock:
                        self.acked[key] = t.id
                        self.ack_times.append(time.monotonic())
                    break
                except grpc.RpcError as e:
                    with self.lock:
                        self.failures.append((time.monotonic(), e.code().name))
                    if time.monotonic() > give_up:
                        with self.lock:
                            self.unacked += 1
                        break
                    time.sleep(0.05)
        channel.close()

    def start(self):
        self.threads = [threading.Thread(target=self.caller, args=(n,)) for n in range(CALLERS)]
        for t in self.threads:
            t.start()
        return self

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join()


def count_rows(port, db, tenant, acked_ids):
    rows = sql(port, f"SELECT id FROM `{db}`.tickets WHERE tenant = '{tenant}'")
    if rows is None:
        return None
    ids = [int(r[0]) for r in rows]
    stored = set(ids)
    return {"rows": len(ids), "lost": len(acked_ids - stored), "extra": len(stored - acked_ids),
            "keys": None}


def doubled(port, db, tenant):
    """Tickets more than one per idempotency key: rows of the tenant minus distinct keys' results."""
    rows = sql(port, f"SELECT COUNT(*) FROM `{db}`.tickets WHERE tenant = '{tenant}'")
    keys = sql(port, f"SELECT COUNT(*) FROM `{db}`.idempotency_keys WHERE tenant = '{tenant}'")
    if rows is None or keys is None:
        return None
    return int(rows[0][0]) - int(keys[0][0])


def create_run(fault):
    p = ports()
    tag = f"{fault}{os.getpid()}"
    tenant = f"fault-{tag}"
    env = {}
    if fault == "single":
        env["HELPDESK_DB_NODES"] = ""
        env["HELPDESK_DB_HOST"] = "127.0.0.1"
        env["HELPDESK_DB_PORT"] = str(p["DB2"])
    service = hdserver.Service("tickets", tag, env)
    service.start()
    meta = token(tenant, "cust-1", "customer")
    target = f"127.0.0.1:{service.port}"
    channel = grpc.insecure_channel(target)
    wait_serving(tickets_pb2_grpc.TicketServiceStub(channel), meta)
    load = CreateLoad(target, meta, tag).start()
    duration = float(os.environ.get("HD_FAULT_LOAD_S", "8"))
    killed_at = recovered_at = synced_at = None
    if fault == "galera":
        time.sleep(duration / 2)
        killed_at = time.monotonic()
        subprocess.run([CLUSTER, "galera-kill", DIR, "1"], check=True)
        # Recovered: the first acknowledgement after the kill.
        while recovered_at is None and time.monotonic() - killed_at < 60:
            with load.lock:
                later = [t for t in load.ack_times if t > killed_at]
            if later:
                recovered_at = min(later)
            else:
                time.sleep(0.05)
        time.sleep(duration / 2)
    else:
        time.sleep(duration)
    load.finish()
    elapsed = time.monotonic() - (killed_at or 0)
    acked = set(load.acked.values())
    db = service.db_name
    result = {"fault": fault, "callers": CALLERS, "acked": len(load.acked),
              "failed_attempts": len(load.failures), "unacked": load.unacked}
    nodes = [1, 2, 3] if fault == "galera" else [2]
    for n in nodes:
        if fault == "galera" and n == 1:
            continue
        c = count_rows(p[f"DB{n}"], db, tenant, acked)
        result[f"node{n}_rows"] = c["rows"] if c else "down"
        result[f"node{n}_lost"] = c["lost"] if c else "down"
        result[f"node{n}_doubled"] = doubled(p[f"DB{n}"], db, tenant)
    if fault == "galera":
        # Recovery: from the kill to the first acknowledgement after the last failed attempt
        # (a call in flight at the kill may be acknowledged at once: that is not recovery), and
        # the longest pause between two acknowledgements around the kill.
        fails_after = [t for t, _ in load.failures if t >= killed_at]
        acks = sorted(load.ack_times)
        if recovered_at and fails_after:
            later = [t for t in acks if t > max(fails_after)]
            recovered_at = later[0] if later else None
        result["recover_s"] = round(recovered_at - killed_at, 2) if recovered_at else "never"
        near = [t for t in acks if killed_at - 1 <= t <= killed_at + 30]
        result["longest_pause_s"] = round(max((b - a for a, b in zip(near, near[1:])),
                                              default=0), 2)
        t0 = time.monotonic()
        subprocess.run([CLUSTER, "galera-start", DIR, "1"], check=True)
        synced_at = time.monotonic()
        result["rejoin_s"] = round(synced_at - t0, 2)
        c = count_rows(p["DB1"], db, tenant, acked)
        result["node1_rows"] = c["rows"] if c else "down"
        result["node1_lost"] = c["lost"] if c else "down"
        result["node1_doubled"] = doubled(p["DB1"], db, tenant)
        fails = [s for t, s in load.failures if t >= killed_at]
        result["failed_after_kill"] = len(fails)
    else:
        result["creates_per_s"] = round(len(load.acked) / duration, 1)
        lat = sorted(b - a for a, b in zip([0] + load.ack_times, load.ack_times))
    if fault == "galera":
        result["creates_per_s"] = round(len(load.acked) / duration, 1)
    channel.close()
    service.stop()
    ok = load.unacked == 0
    for n in (1, 2, 3):
        if f"node{n}_rows" in result:
            ok = ok and result[f"node{n}_rows"] == len(load.acked) and result[f"node{n}_lost"] == 0 \
                and result[f"node{n}_doubled"] == 0
    result["ok"] = ok
    del elapsed
    print("RESULT " + " ".join(f"{k}={v}" for k, v in result.items()), flush=True)
    return 0 if ok else 1


def metric(port, name, labels):
    """Sum of a Prometheus counter's samples whose labels include every given key=value."""
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    except OSError:
        return None
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def sentinel_primary(p):
    r = subprocess.run(["redis-cli", "-p", str(p["S1"]), "sentinel", "get-master-addr-by-name",
                        os.environ.get("HELPDESK_REDIS_MASTER_NAME", "helpdesk")],
                       capture_output=True, text=True)
    parts = r.stdout.split()
    return int(parts[1]) if len(parts) == 2 else None


def sentinel_run():
    p = ports()
    tag = f"claim{os.getpid()}"
    tenant = f"claims-{tag}"
    primary = sentinel_primary(p)
    name = "primary" if primary == p["R1"] else "replica"
    metrics_port = hdserver_free_port()
    # The ticket events earlier runs left in the stream would make routing work through them
    # before this run's tickets: start from an empty stream.
    subprocess.run(["redis-cli", "-p", str(primary), "DEL", "helpdesk:events:tickets"],
                   check=True, capture_output=True)
    tickets = hdserver.Service("tickets", tag + "t", {}).start()
    routing = hdserver.Service("routing", tag + "r")
    routing.env["HELPDESK_TICKETS_TARGET"] = f"127.0.0.1:{tickets.port}"
    routing.env["HELPDESK_METRICS_ADDR"] = f"127.0.0.1:{metrics_port}"
    routing.start()
    env = dict(os.environ, HELPDESK_REDIS_HOST="127.0.0.1", HELPDESK_REDIS_PORT=str(primary))
    duration = float(os.environ.get("HD_FAULT_CLAIM_S", "16"))
    prepare = int(os.environ.get("HD_FAULT_CLAIM_TICKETS", "1000"))
    bench = subprocess.Popen([hdserver.binary("bench/hd-bench"), "--target",
                              f"127.0.0.1:{routing.port}", "--tickets-target",
                              f"127.0.0.1:{tickets.port}", "--scenario", "claim", "--concurrency",
                              str(CALLERS), "--duration", str(duration), "--prepare", str(prepare),
                              "--tenant", tenant], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    # The claims start when the tickets are queued (hd-bench says so on stderr).
    err_lines = []
    for line in bench.stderr:
        err_lines.append(line)
        if "created and queued" in line:
            break
    else:
        sys.stderr.write("hd-bench ended before its claims:\n" + "".join(err_lines) +
                         bench.stdout.read())
        routing.cleanup()
        tickets.cleanup()
        return 1
    started = time.monotonic()
    owned_sql = (f"SELECT COUNT(*) FROM `{tickets.db_name}`.tickets WHERE tenant = '{tenant}' "
                 "AND owner_id IS NOT NULL AND owner_id <> ''")

    def owned():
        rows = sql(p["DB2"], owned_sql)
        return int(rows[0][0]) if rows else None

    # The kill comes once a third of the tickets are claimed (not after a fixed time: ClaimNext
    # claimed all 1,000 in less than the third of the run it used to wait), so two thirds are
    # left to be claimed through the new primary.
    while time.monotonic() - started < duration and (owned() or 0) < prepare // 3:
        time.sleep(0.02)
    before = owned()
    killed_at = time.monotonic()
    subprocess.run([CLUSTER, "redis-kill", DIR, name], check=True)
    new_primary_at = recovered_at = None
    while time.monotonic() - killed_at < 60 and (new_primary_at is None or recovered_at is None):
        if new_primary_at is None and sentinel_primary(p) not in (None, primary):
            new_primary_at = time.monotonic()
        now_claims = owned()
        if recovered_at is None and new_primary_at is not None and now_claims is not None \
                and before is not None and now_claims > before + 0 and \
                time.monotonic() - killed_at > 0.5:
            recovered_at = time.monotonic()
        time.sleep(0.05)
    out, rest = bench.communicate(timeout=300)
    err_lines.append(rest)
    total = owned()
    check = re.search(r"check=claim .*", out)
    fields = dict(kv.split("=", 1) for kv in check.group(0).split()[1:]) if check else {}
    runline = re.search(r"scenario=claim .*", out)
    run = dict(kv.split("=", 1) for kv in runline.group(0).split()) if runline else {}
    result = {"fault": "sentinel", "agents": CALLERS, "tickets": prepare,
              "claims_before_kill": int(before or 0),
              "claims_after_kill": int((total or 0) - (before or 0)),
              "claims_checked": fields.get("claims", "?"), "duplicates": fields.get("duplicates", "?"),
              "owner_wrong": fields.get("owner_wrong", "?"), "claim_errors": run.get("errors", "?"),
              "new_primary_s": round(new_primary_at - killed_at, 2) if new_primary_at else "never",
              "claims_again_s": round(recovered_at - killed_at, 2) if recovered_at else "never"}
    ok = fields.get("duplicates") == "0" and fields.get("owner_wrong") == "0" and \
        recovered_at is not None
    result["ok"] = ok
    if not check:
        sys.stderr.write(out + "".join(err_lines))
    routing.cleanup()
    tickets.cleanup()
    del started
    print("RESULT " + " ".join(f"{k}={v}" for k, v in result.items()), flush=True)
    return 0 if ok else 1


def hdserver_free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else ""
    if what in ("galera", "single"):
        sys.exit(create_run(what))
    if what == "sentinel":
        sys.exit(sentinel_run())
    sys.stderr.write(__doc__)
    sys.exit(2)
