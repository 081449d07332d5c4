#!/usr/bin/python3
"""Runs every benchmark against the stack `make run` starts and writes BENCHMARKS.md.

    make bench                      (or: bench/run_all.py [--duration 10] [--out BENCHMARKS.md])

What it does, in order:
  1. `make run` (installs, builds, starts MariaDB, Redis and the four services; idempotent), then
     empties the ticket service's database so every run starts from the same state;
  2. scale: loads 10,000 tickets (bench/load-tickets.sh) and measures GetTicket and ListTickets
     (oldest first; by status; by owner; an owner's open tickets; unassigned; followed;
     updated_since), then loads up to 10,000,000 (--million) and measures them again;
  3. throughput: the health RPC, CreateTicket, GetTicket, ListTickets and the owner's work loop
     (ACKNOWLEDGE, FINAL_ANSWER, CloseTicket) at 1, 8 and 16 concurrent callers;
  4. after each concurrency's scenarios, MariaDB's own floors at that concurrency for as long as
     a scenario ran (mariadb-slap: the one-row durable insert, autocommit, InnoDB with
     innodb_flush_log_at_trx_commit=1, and the primary-key read of one row), and each call
     against its serial floor 1/(1/health + 1/floor) (the work loop against three), with the
     CPU split between the service, MariaDB and the generator during CreateTicket;
  5. routing (bench/scenarios_routing_*.c): ClaimNext with 16 agents racing on one queue of
     10,000 tickets (then checked: no ticket returned twice, each owned by its claimer in the
     ticket service), EscalateToDepartment, the event-to-queue latency (CreateTicket's answer to
     the ticket waiting in its Redis queue), each beside its floors in the same run: routing's
     health RPC and the claim script on an empty queue (one EVALSHA);
  6. each service's peak RSS (VmHWM) after all of it.
Figures are printed as they come and written to the report with the machine's description.
Not a test: nothing here passes or fails on a number.

    bench/run_all.py --scale-only --target 127.0.0.1:PORT [--out FILE]

runs step 2 alone against servers already running: MariaDB named by the environment
(HELPDESK_DB_SOCKET ..., as scripts/servers.sh prints them) and a ticket service at --target
(whose tenant `scale` must be empty), and prints the scale table (to FILE too with --out).

    bench/run_all.py --throughput-only --target 127.0.0.1:PORT [--service-pid PID] [--out FILE]

runs steps 3 and 4 alone against a ticket service and the MariaDB the environment names, and
prints the throughput table and the serial-floor section (to FILE too with --out).

    bench/run_all.py --routing-only --target ROUTING --tickets-target TICKETS [--out FILE]

runs step 5 alone against services already running (routing pointed at that ticket service by
HELPDESK_TICKETS_TARGET, Redis named by HELPDESK_REDIS_HOST / HELPDESK_REDIS_PORT), and prints
the routing section (to FILE too with --out).
"""
import argparse
import os
import platform
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "build", "bench", "hd-bench")
TICKETS = "127.0.0.1:50051"
ROUTING = "127.0.0.1:50052"
CLAIM_AGENTS, CLAIM_TICKETS = 16, 10_000
LATENCY_RATE = 7  # event-to-queue at 1 caller: paced, so creates fall at any phase of the relay
CONCURRENCY = (1, 8, 16)
# The scale section's scenarios: the reads, then the lists an agent works from.
SCALE = ("get", "list", "list_status", "list_owner", "list_my_open", "list_unassigned",
         "list_followed", "list_updated")


def sh(cmd, env=None, **kw):
    return subprocess.run(cmd, shell=isinstance(cmd, str), check=True, text=True,
                          capture_output=True, cwd=ROOT, env=env, **kw).stdout


def run_env():
    env = dict(os.environ)
    with open(os.path.join(ROOT, ".run", "env")) as f:
        for line in f:
            m = re.match(r"export (\w+)=(.*)", line.strip())
            if m:
                env[m.group(1)] = m.group(2)
    return env


def sql(env, query, db="helpdesk_tickets"):
    return subprocess.run(["mariadb", f"--socket={env['HELPDESK_DB_SOCKET']}", "-u", env.get("HELPDESK_DB_USER", "root"),
                           "-N", "-e", query] + ([db] if db else []),
                          check=True, text=True, capture_output=True).stdout.strip()


def bench(scenario, concurrency, duration, tenant="bench", prepare=None, calls=None, target=TICKETS,
          env=None, rate=None, tickets_target=None):
    cmd = [BENCH, "--target", target, "--scenario", scenario, "--concurrency", str(concurrency),
           "--tenant", tenant]
    cmd += ["--calls", str(calls)] if calls else ["--duration", str(duration)]
    if prepare is not None:
        cmd += ["--prepare", str(prepare)]
    if rate:
        cmd += ["--rate", str(rate)]
    if tickets_target:
        cmd += ["--tickets-target", tickets_target]
    p = subprocess.run(cmd, text=True, capture_output=True, env=env)
    out = p.stdout
    lines = [l for l in out.splitlines() if l.startswith("scenario=")]
    if p.returncode != 0 or not lines:
        raise SystemExit(f"hd-bench {scenario} failed (exit {p.returncode}):\n{out}{p.stderr}")
    r = dict(kv.split("=", 1) for kv in lines[-1].split())
    err = [l for l in out.splitlines() if l.startswith("first_error=")]
    r["first_error"] = err[0].split("=", 1)[1] if err else ""
    check = [l for l in out.splitlines() if l.startswith("check=")]
    if check:
        r["check"] = dict(kv.split("=", 1) for kv in check[-1].split())
    print("  " + lines[-1] + (f" {err[0]}" if err else "") + (f"\n  {check[-1]}" if check else ""),
          flush=True)
    return r


SLAP_INSERT = "INSERT INTO t (tenant, body, created_at_us) VALUES ('bench', 'one row', 1)"
SLAP_READ = "SELECT tenant, body, created_at_us FROM t WHERE id = 4242"


def slap_once(env, concurrency, queries, query, schema="hd_slap"):
    out = subprocess.run(["mariadb-slap", f"--socket={env['HELPDESK_DB_SOCKET']}", "-u", "root",
                          f"--create-schema={schema}", "--no-drop", f"--concurrency={concurrency}",
                          "--iterations=1", f"--number-of-queries={queries}", "--delimiter=;",
                          f"--query={query}"],
                         check=True, text=True, capture_output=True).stdout
    return float(re.search(r"Average number of seconds to run all queries: ([\d.]+)", out).group(1))


def slap(env, concurrency, secs, query=SLAP_INSERT, what="inserts", schema="hd_slap", per=1):
    """MariaDB's own rate for query at concurrency, run for about secs seconds (the duration of
    the scenario it is compared with): a short run sizes the long one. query may be several
    statements ending with ';' (per of them: the rate is of the whole query)."""
    if schema == "hd_slap":
        sql(env, "CREATE DATABASE IF NOT EXISTS hd_slap", db=None)
        if query == SLAP_INSERT or sql(env, "SELECT COUNT(*) FROM t", db="hd_slap") == "0":
            sql(env, "DROP TABLE IF EXISTS t; CREATE TABLE t (id BIGINT AUTO_INCREMENT PRIMARY "
                     "KEY, tenant VARCHAR(64) NOT NULL, body VARCHAR(200) NOT NULL, created_at_us "
                     "BIGINT NOT NULL) ENGINE=InnoDB; INSERT INTO t (tenant, body, created_at_us) "
                     "SELECT 'bench', 'one row', seq FROM seq_1_to_10000", db="hd_slap")
    probe = 500 * max(1, concurrency) * per
    t = slap_once(env, concurrency, probe, query, schema)
    while 0 < t < min(0.5, secs / 4):
        probe *= 4
        t = slap_once(env, concurrency, probe, query, schema)
    queries = max(probe, int(probe * secs / t) // per * per) if t > 0 else probe
    secs_run = slap_once(env, concurrency, queries, query, schema)
    rate = queries / per / secs_run if secs_run > 0 else 0.0
    print(f"  mariadb-slap {what} concurrency={concurrency} queries={queries} seconds={secs_run:.3f} "
          f"per_s={rate:.0f}", flush=True)
    return rate


def slap_script(name, **subs):
    """bench/slap/<name>.sql as one mariadb-slap query (its comment lines dropped, each {KEY}
    replaced by subs[KEY]) and the number of statements in it."""
    with open(os.path.join(ROOT, "bench", "slap", name + ".sql")) as f:
        text = " ".join(l.strip() for l in f if l.strip() and not l.startswith("--"))
    for k, v in subs.items():
        text = text.replace("{" + k + "}", str(v))
    return text, text.count(";")


SLAP_TICKETS = "hd_slap_tickets"
SLAP_TABLES = ("tickets", "ticket_history", "idempotency_keys", "outbox", "comments", "follows",
               "tenant_settings")


def own_floors(env, c, secs, loop_secs, fresh=False):
    """MariaDB running exactly what the service sends it for a create, a read and a work loop
    (bench/slap/*.sql, tenant slap) at c connections, on copies of the ticket service's tables
    (CREATE TABLE ... LIKE: the same columns, indexes and checks, in database hd_slap_tickets, so
    the service's own tables and ids are left alone; made anew when fresh): the floors of the
    calls' own statements, {name: rate}."""
    if fresh:
        sql(env, f"DROP DATABASE IF EXISTS {SLAP_TICKETS}; CREATE DATABASE {SLAP_TICKETS}; " +
            " ".join(f"CREATE TABLE {SLAP_TICKETS}.{t} LIKE helpdesk_tickets.{t};"
                     for t in SLAP_TABLES), db=None)
    now = int(time.time() * 1e6)
    q, n = slap_script("create", NOW=now)
    out = {"create_writes": slap(env, c, secs, q, "a create's writes", SLAP_TICKETS, n)}
    lo, hi = (int(x) for x in sql(env, "SELECT MIN(id), MAX(id) FROM tickets",
                                  db=SLAP_TICKETS).split())
    q, n = slap_script("get", LO=lo, N=hi - lo + 1)
    out["get_read"] = slap(env, c, secs, q, "GetTicket's reads", SLAP_TICKETS, n)
    q, n = slap_script("workloop", LO=lo, N=hi - lo + 1, NOW=now)
    out["loop_writes"] = slap(env, c, loop_secs, q, "a work loop's writes", SLAP_TICKETS, n)
    return out


def serial(a, b):
    """The serial floor of two steps each call must take one after the other: 1/(1/a + 1/b)."""
    return 1.0 / (1.0 / a + 1.0 / b) if a > 0 and b > 0 else 0.0


def cpu_ticks(pid):
    """utime + stime of pid in seconds (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def children_cpu():
    import resource
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def with_cpu(pids, fn):
    """fn()'s figures with the CPU seconds each of pids ({name: pid}) and the generator (the
    children of this process) spent during it, per second of the run."""
    before = {k: cpu_ticks(v) for k, v in pids.items()}
    gen0, t0 = children_cpu(), time.time()
    r = fn()
    wall = time.time() - t0
    cpu = {k: (cpu_ticks(v) - before[k]) / wall for k, v in pids.items()}
    cpu["generator"] = (children_cpu() - gen0) / wall
    r["cpu"] = cpu
    print("  cpu (cores): " + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()), flush=True)
    return r


def run_throughput(env, d, target=TICKETS, pids=None):
    """Step 3 and 4: the scenarios at 1, 8 and 16 callers, each followed by its floors run for
    the same time in the same conditions: ({(scenario, callers): figures}, {(floor, callers):
    rate}). pids ({name: pid}) are the processes whose CPU is counted during CreateTicket."""
    pids = pids or {}
    thr, fl = {}, {}
    for c in CONCURRENCY:
        thr[("health", c)] = bench("health", c, d, target=target)
        thr[("create", c)] = with_cpu(pids, lambda: bench("create", c, d, target=target))
        thr[("get", c)] = bench("get", c, d, prepare=2000 if c == 1 else 0, target=target)
        thr[("list", c)] = bench("list", c, d, target=target)
        calls = 500 if c == 1 else 1500
        thr[("workloop", c)] = bench("workloop", c, d, prepare=calls, calls=calls, target=target)
        fl[("insert", c)] = slap(env, c, d)
        fl[("pk_read", c)] = slap(env, c, d, SLAP_READ, "primary-key reads")
        loop_secs = float(thr[("workloop", c)]["seconds"])
        fl[("health_loop", c)] = float(bench("health", c, loop_secs, target=target)["ops_per_s"])
        fl[("insert_loop", c)] = slap(env, c, loop_secs)
        for k, v in own_floors(env, c, d, loop_secs, fresh=c == CONCURRENCY[0]).items():
            fl[(k, c)] = v
    return thr, fl


def serial_section(thr, fl):
    """The section whose heading names the serial floor."""
    L = ["## Against the serial floor 1/(1/health + 1/insert)\n"]
    L.append("A call costs at least one gRPC call and one durable MariaDB step on the same cores, "
             "one after the other, so its floor at equal concurrency is the **serial floor** "
             "1 / (1/health + 1/floor): CreateTicket against health and `mariadb-slap`'s one-row "
             "durable insert (autocommit, InnoDB, `innodb_flush_log_at_trx_commit=1`), GetTicket "
             "against health and `mariadb-slap`'s primary-key read of one row, the work loop "
             "(three writes: ACKNOWLEDGE, FINAL_ANSWER, CloseTicket) against a third of the insert's "
             "serial floor. Each floor was measured right after its scenario, for as long as it "
             "ran (the work loop's floors for the work loop's duration).\n")
    L.append("| callers | health/s | inserts/s | pk reads/s | serial floor create | CreateTicket/s | "
             "ratio | p99 ms | serial floor get | GetTicket/s | ratio | p99 ms | floor loop (3 "
             "serial) | loops/s | ratio | p99 ms |")
    L.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in CONCURRENCY:
        h = float(thr[("health", c)]["ops_per_s"])
        cr, g, w = (thr[(k, c)] for k in ("create", "get", "workloop"))
        fc = serial(h, fl[("insert", c)])
        fg = serial(h, fl[("pk_read", c)])
        fw = serial(fl[("health_loop", c)], fl[("insert_loop", c)]) / 3
        def pct(x, f):
            return f"{100 * float(x['ops_per_s']) / f:.0f}%" if f > 0 else "-"
        L.append(f"| {c} | {h:.0f} | {fl[('insert', c)]:.0f} | {fl[('pk_read', c)]:.0f} | {fc:.0f} | "
                 f"{float(cr['ops_per_s']):.0f} | {pct(cr, fc)} | {ms(cr, 'p99_ms')} | {fg:.0f} | "
                 f"{float(g['ops_per_s']):.0f} | {pct(g, fg)} | {ms(g, 'p99_ms')} | {fw:.0f} | "
                 f"{float(w['ops_per_s']):.0f} | {pct(w, fw)} | {ms(w, 'p99_ms')} |")
    L.append("\n### Against the floors of each call's own statements\n")
    L.append("MariaDB alone, on the same cores, running exactly the statements the service sends "
             "for the call (`bench/slap/create.sql`, `get.sql`, `workloop.sql` through "
             "`mariadb-slap`, on copies of the ticket service's tables with their indexes, made "
             "by `CREATE TABLE ... LIKE` in `hd_slap_tickets`): a "
             "create's ticket, history row, idempotency key and outbox event in one transaction; "
             "GetTicket's one read; the work loop's three transactions (each: the ticket read "
             "FOR UPDATE, its comment, UPDATE, history rows and event). The serial floor is "
             "1/(1/health + 1/that rate): what a service that cost nothing but its gRPC call could "
             "reach while writing what the call must write.\n")
    L.append("| callers | a create's writes/s | of the insert floor | serial floor | CreateTicket "
             "| ratio | GetTicket's read/s | serial floor | GetTicket | ratio | a loop's writes/s "
             "| serial floor (3 calls) | loops/s | ratio |")
    L.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in CONCURRENCY:
        h = float(thr[("health", c)]["ops_per_s"])
        hl = fl[("health_loop", c)]
        cw, gr, lw = (fl[(k, c)] for k in ("create_writes", "get_read", "loop_writes"))
        fc, fg = serial(h, cw), serial(h, gr)
        fw = 1.0 / (3.0 / hl + 1.0 / lw) if hl > 0 and lw > 0 else 0.0
        cr, g, w = (float(thr[(k, c)]["ops_per_s"]) for k in ("create", "get", "workloop"))
        pc = lambda x, f: f"{100 * x / f:.0f}%" if f > 0 else "-"
        L.append(f"| {c} | {cw:.0f} | {pc(cw, fl[('insert', c)])} | {fc:.0f} | {cr:.0f} | "
                 f"{pc(cr, fc)} | {gr:.0f} | {fg:.0f} | {g:.0f} | {pc(g, fg)} | {lw:.0f} | "
                 f"{fw:.0f} | {w:.0f} | {pc(w, fw)} |")
    cpus = [(c, thr[("create", c)].get("cpu")) for c in CONCURRENCY]
    if any(cpu for _, cpu in cpus):
        names = list(next(cpu for _, cpu in cpus if cpu))
        L.append("\nThe CPU split during CreateTicket (cores busy, from /proc: 2 cores in all):\n")
        L.append("| callers | " + " | ".join(names) + " |")
        L.append("|---:|" + "---:|" * len(names))
        for c, cpu in cpus:
            if cpu:
                L.append(f"| {c} | " + " | ".join(f"{cpu[n]:.2f}" for n in names) + " |")
    return L


def throughput_only(a):
    """--throughput-only: steps 3 and 4 against servers already running."""
    env = dict(os.environ)
    pids = {}
    if a.service_pid:
        pids["helpdesk-tickets"] = a.service_pid
    try:
        with open(os.path.join(os.path.dirname(env["HELPDESK_DB_SOCKET"]), "mariadb.pid")) as f:
            pids["mariadbd"] = int(f.read().strip())
    except (OSError, ValueError, KeyError):
        pass
    thr, fl = run_throughput(env, a.duration, target=a.target, pids=pids)
    L = ["| scenario | callers | calls/s | p50 ms | p99 ms | p99.9 ms | errors |",
         "|---|---:|---:|---:|---:|---:|---:|"]
    for (sc, c), r in thr.items():
        L.append(f"| {sc} | {c} | {float(r['ops_per_s']):.0f} | {ms(r, 'p50_ms')} | "
                 f"{ms(r, 'p99_ms')} | {ms(r, 'p999_ms')} | {r['errors']} |")
    L.append("")
    L += serial_section(thr, fl)
    print("\n".join(L))
    if a.out_given:
        with open(a.out, "w") as f:
            f.write("\n".join(L) + "\n")
    return 0


def peak_rss_mb():
    out = {}
    for svc in ("tickets", "routing", "accounts", "kpi"):
        try:
            with open(os.path.join(ROOT, ".run", "pids", f"{svc}.pid")) as f:
                pid = f.read().strip()
            with open(f"/proc/{pid}/status") as f:
                kb = int(re.search(r"VmHWM:\s+(\d+) kB", f.read()).group(1))
            out[svc] = kb / 1024.0
        except (OSError, AttributeError, ValueError):
            out[svc] = None
    return out


def machine():
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.+)", f.read())
            cpu = m.group(1).strip() if m else cpu
    except OSError:
        pass
    with open("/proc/meminfo") as f:
        mem_gib = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1)) / 1024 / 1024
    mariadb = sh(["mariadb", "--version"]).strip()
    return f"{os.cpu_count()} cores ({cpu}), {mem_gib:.0f} GiB memory, {platform.system()} {platform.release()}; {mariadb}"


# About what one loaded ticket takes in InnoDB, rows and indexes (10,000,000: 2.4 GB of rows and
# 3.2 GB of indexes), with room for the pages being changed.
BYTES_PER_TICKET = 800


def pool_for_data(env, million):
    """Grows MariaDB's buffer pool (resized online) to hold million tickets' rows and indexes, at
    most half the machine's memory: a scale run measures the service, not the disk."""
    with open("/proc/meminfo") as f:
        mem = int(re.search(r"MemTotal:\s+(\d+)", f.read()).group(1)) * 1024
    want = min(million * BYTES_PER_TICKET, mem // 2)
    have = int(sql(env, "SELECT @@innodb_buffer_pool_size", db=None))
    if want > have:
        sql(env, f"SET GLOBAL innodb_buffer_pool_size = {want}", db=None)
        for _ in range(600):  # the resize runs in the background
            status = sql(env, "SHOW STATUS LIKE 'Innodb_buffer_pool_resize_status'", db=None)
            value = status.split("\t", 1)[1] if "\t" in status else ""
            if not value or "Completed" in value:
                break
            time.sleep(0.5)
        have = int(sql(env, "SELECT @@innodb_buffer_pool_size", db=None))
    print(f"  buffer pool {have / 2**30:.1f} GiB for {million:,} tickets", flush=True)
    return have


def run_scale(env, million, secs, target=TICKETS, load_env=None):
    """Loads 10,000 tickets into tenant scale, measures SCALE at 1 and 16 callers, loads up to
    million and measures again: {(size, scenario, callers): figures}."""
    print(f"== scale: 10,000 tickets, then {million:,}", flush=True)
    pool_for_data(env, million)
    scale = {}
    loaded = 0
    for size in (10_000, million):
        out = sh([os.path.join(ROOT, "bench", "load-tickets.sh"), str(size - loaded), "scale"],
                 env=load_env)
        print("  " + out.strip(), flush=True)
        loaded = size
        sql(env, "ANALYZE TABLE tickets, follows")
        for sc in SCALE:
            prep = 0 if sc == "get" else None
            scale[(size, sc, 1)] = bench(sc, 1, secs, tenant="scale", prepare=prep, target=target)
            scale[(size, sc, 16)] = bench(sc, 16, secs, tenant="scale", prepare=prep, target=target)
    return scale


def size_name(n):
    return f"{n // 1_000_000}M" if n % 1_000_000 == 0 else f"{n // 1000}k" if n % 1000 == 0 else str(n)


def scale_table(scale, million):
    L = []
    L.append("The tenant `scale` loaded by `bench/load-tickets.sh` (six statuses in turn, every tenth "
             "ticket owned by `bench-owner`, every seventh of the others by nobody, every hundredth "
             "followed by the benchmark's user). GetTicket reads a random ticket; each ListTickets "
             "scenario reads the first page of 50, oldest first: `list` all, `list_status` "
             "PENDING_RESPONSE, `list_owner` bench-owner's, `list_my_open` bench-owner's open "
             "tickets (open_only), `list_unassigned` OWNER_FILTER_NONE, `list_followed` "
             "followed_only, `list_updated` updated_since the newest ticket's update less an hour "
             "(by update time).\n")
    big = size_name(million)
    L.append(f"| scenario | callers | p50 ms at 10k | p50 ms at {big} | p99 ms at 10k | p99 ms at {big} | "
             f"calls/s at 10k | calls/s at {big} | p50 {big}/10k |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for sc in SCALE:
        for c in (1, 16):
            s, m = scale[(10_000, sc, c)], scale[(million, sc, c)]
            ratio = float(m["p50_ms"]) / float(s["p50_ms"]) if float(s["p50_ms"]) > 0 else 0
            L.append(f"| {sc} | {c} | {ms(s, 'p50_ms')} | {ms(m, 'p50_ms')} | {ms(s, 'p99_ms')} | "
                     f"{ms(m, 'p99_ms')} | {float(s['ops_per_s']):.0f} | {float(m['ops_per_s']):.0f} | "
                     f"{ratio:.2f}x |")
    return L


def scale_only(a):
    env = dict(os.environ)
    load_env = dict(env, HD_LOAD_FROM_ENV="1")
    have = int(sql(env, "SELECT COUNT(*) FROM tickets WHERE tenant = 'scale'") or 0)
    if have:
        # Deleting them would leave a million delete-marked index entries for purge to remove
        # while the lists are measured, and skew every figure.
        raise SystemExit(f"tenant scale already has {have} tickets: start from an empty ticket "
                         "database (drop it and restart the ticket service)")
    scale = run_scale(env, a.million, a.duration / 2, target=a.target, load_env=load_env)
    L = scale_table(scale, a.million)
    print("\n".join(L))
    if a.out_given:
        with open(a.out, "w") as f:
            f.write("\n".join(L) + "\n")
    return 0


def ms(r, key):
    return f"{float(r[key]):.2f}"


def run_routing(env, secs, routing=ROUTING, tickets=TICKETS):
    """Step 5: the routing scenarios beside their floors; {name: figures}."""
    print("== routing: claims, escalations, event-to-queue, and their floors", flush=True)
    env = dict(env, HD_BENCH_TICKETS_TARGET=tickets)
    tenant = f"rbench-{int(time.time())}"  # a fresh queue, agents and tenants per run
    kw = dict(target=routing, env=env, tickets_target=tickets)
    r = {}
    for c in (1, CLAIM_AGENTS):
        r[("health", c)] = bench("health", c, secs, **kw)
        r[("redis_script", c)] = bench("redis_script", c, secs, **kw)
    r[("claim", CLAIM_AGENTS)] = bench("claim", CLAIM_AGENTS, secs, tenant=tenant,
                                       prepare=CLAIM_TICKETS, calls=CLAIM_TICKETS, **kw)
    for c in (1, CLAIM_AGENTS):
        r[("escalate", c)] = bench("escalate", c, secs, tenant=tenant, prepare=64, **kw)
    r[("queue_latency", 1)] = bench("queue_latency", 1, secs, tenant=tenant, rate=LATENCY_RATE, **kw)
    r[("queue_latency", CLAIM_AGENTS)] = bench("queue_latency", CLAIM_AGENTS, secs, tenant=tenant,
                                               **kw)
    return r


def routing_section(r):
    L = ["## Routing: claims, escalations, event-to-queue\n"]
    L.append("Against the routing service, each beside its floors measured in the same run: "
             "routing's own health RPC, and the kit's claim script on an empty queue (one EVALSHA "
             "to Redis, `redis_script`), which is where every ClaimNext starts.\n")
    L.append("- `claim`: 16 agents (each registered with UpsertAgent, AVAILABLE, capacity 1,000, "
             "its own token and channel) race ClaimNext on one queue (TECHNICAL of a fresh tenant) "
             "of 10,000 tickets created beforehand through CreateTicket and waited for in the "
             "queue, until all are claimed. One ClaimNext: the claim script, a MariaDB transaction "
             "recording the fence, AssignTicket on the ticket service, a second transaction.")
    L.append("- `escalate`: EscalateToDepartment CONSULT as a service with an idempotency key "
             "(routing reads the ticket, writes the escalation, the ticket service writes the "
             "internal note).")
    L.append("- `queue_latency`: from CreateTicket's answer to the ticket waiting in its Redis "
             "queue (what ClaimNext's script takes from), polling the queue's depth every 50 us; "
             "each caller in a tenant of its own. At 1 caller paced at "
             f"{LATENCY_RATE}/s so the creates fall at every phase of the ticket service's outbox "
             "relay (HELPDESK_OUTBOX_POLL, 100 ms by default), at 16 in a closed loop.\n")
    L.append("| scenario | callers | calls/s | p50 ms | p99 ms | p99.9 ms | errors |")
    L.append("|---|---:|---:|---:|---:|---:|---:|")
    for (sc, c), x in r.items():
        name = "health (routing)" if sc == "health" else sc
        L.append(f"| {name} | {c} | {float(x['ops_per_s']):.0f} | {ms(x, 'p50_ms')} | "
                 f"{ms(x, 'p99_ms')} | {ms(x, 'p999_ms')} | {x['errors']} |")
    ck = r[("claim", CLAIM_AGENTS)].get("check", {})
    L.append(f"\nThe race, checked afterwards: {ck.get('agents', '?')} agents, "
             f"{ck.get('created', '?')} tickets, {ck.get('claims', '?')} claims, "
             f"{ck.get('created_claimed', '?')} of the tickets claimed, "
             f"**duplicates {ck.get('duplicates', '?')}** (no ticket returned by two claims), "
             f"owners {ck.get('owner_ok', '?')} right and {ck.get('owner_wrong', '?')} wrong "
             "(GetTicket on the ticket service names each claimed ticket's claimer).\n")
    h16, s16 = r[("health", CLAIM_AGENTS)], r[("redis_script", CLAIM_AGENTS)]
    h1, s1 = r[("health", 1)], r[("redis_script", 1)]
    cl, q1 = r[("claim", CLAIM_AGENTS)], r[("queue_latency", 1)]
    es = r[("escalate", CLAIM_AGENTS)]
    def rate_ratio(x, f):
        return f"{100 * float(x['ops_per_s']) / float(f['ops_per_s']):.1f}%"
    def lat_ratio(x, f, key="p50_ms"):
        return f"{float(x[key]) / float(f[key]):.0f}x" if float(f[key]) > 0 else "-"
    L.append("| measure | figure | floor: health RPC | ratio | floor: claim script | ratio |")
    L.append("|---|---:|---:|---:|---:|---:|")
    L.append(f"| ClaimNext/s, 16 callers | {float(cl['ops_per_s']):.0f} | "
             f"{float(h16['ops_per_s']):.0f} | {rate_ratio(cl, h16)} | "
             f"{float(s16['ops_per_s']):.0f} | {rate_ratio(cl, s16)} |")
    L.append(f"| ClaimNext p50 ms, 16 callers | {ms(cl, 'p50_ms')} | {ms(h16, 'p50_ms')} | "
             f"{lat_ratio(cl, h16)} | {ms(s16, 'p50_ms')} | {lat_ratio(cl, s16)} |")
    L.append(f"| ClaimNext p99 ms, 16 callers | {ms(cl, 'p99_ms')} | {ms(h16, 'p99_ms')} | "
             f"{lat_ratio(cl, h16, 'p99_ms')} | {ms(s16, 'p99_ms')} | {lat_ratio(cl, s16, 'p99_ms')} |")
    L.append(f"| EscalateToDepartment/s, 16 callers | {float(es['ops_per_s']):.0f} | "
             f"{float(h16['ops_per_s']):.0f} | {rate_ratio(es, h16)} | - | - |")
    L.append(f"| event-to-queue p50 ms, 1 caller | {ms(q1, 'p50_ms')} | {ms(h1, 'p50_ms')} | "
             f"{lat_ratio(q1, h1)} | {ms(s1, 'p50_ms')} | {lat_ratio(q1, s1)} |")
    L.append(f"| event-to-queue p99 ms, 1 caller | {ms(q1, 'p99_ms')} | {ms(h1, 'p99_ms')} | "
             f"{lat_ratio(q1, h1, 'p99_ms')} | {ms(s1, 'p99_ms')} | {lat_ratio(q1, s1, 'p99_ms')} |")
    return L


def routing_only(a):
    r = run_routing(dict(os.environ), a.duration, routing=a.target, tickets=a.tickets_target)
    L = routing_section(r)
    print("\n".join(L))
    if a.out_given:
        with open(a.out, "w") as f:
            f.write("\n".join(L) + "\n")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=float, default=10, help="seconds per throughput run (default 10)")
    ap.add_argument("--million", type=int, default=10_000_000,
                    help="tickets for the large scale run (default 10,000,000)")
    ap.add_argument("--out", default=None, help="the report (default BENCHMARKS.md)")
    ap.add_argument("--scale-only", action="store_true",
                    help="only the scale section, against running servers (see above)")
    ap.add_argument("--routing-only", action="store_true",
                    help="only the routing section, against running services (see above)")
    ap.add_argument("--target", default=None,
                    help="the ticket service with --scale-only, routing with --routing-only")
    ap.add_argument("--throughput-only", action="store_true",
                    help="only the throughput runs and the serial floors, against running servers")
    ap.add_argument("--service-pid", type=int, default=0,
                    help="with --throughput-only: the ticket service's pid, for the CPU split")
    ap.add_argument("--tickets-target", default=TICKETS, help="the ticket service with --routing-only")
    a = ap.parse_args()
    a.out_given = a.out is not None
    a.out = a.out or os.path.join(ROOT, "BENCHMARKS.md")
    if a.scale_only:
        a.target = a.target or TICKETS
        return scale_only(a)
    if a.throughput_only:
        a.target = a.target or TICKETS
        return throughput_only(a)
    if a.routing_only:
        a.target = a.target or ROUTING
        return routing_only(a)
    d = a.duration

    print("== make run, with an empty ticket database", flush=True)
    subprocess.run(["make", "--no-print-directory", "run"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    env = run_env()
    sql(env, "DROP DATABASE IF EXISTS helpdesk_tickets", db=None)
    # Restarts the services: the ticket service creates and migrates its database again.
    subprocess.run(["make", "--no-print-directory", "run"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    subprocess.run(["cmake", "--build", "build", "--target", "hd-bench"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)

    scale = run_scale(env, a.million, d / 2)

    print("== throughput, each scenario followed by its floors (mariadb-slap)", flush=True)
    pids = {}
    for name, f in (("helpdesk-tickets", os.path.join(ROOT, ".run", "pids", "tickets.pid")),
                    ("mariadbd", os.path.join(ROOT, ".run", "data", "mariadb.pid"))):
        try:
            with open(f) as fh:
                pids[name] = int(fh.read().strip())
        except (OSError, ValueError):
            pass
    thr, fl = run_throughput(env, d, pids=pids)
    slap_rate = {c: fl[("insert", c)] for c in CONCURRENCY}
    routing = run_routing(env, d)
    rss = peak_rss_mb()
    print("== peak RSS (MiB): " + ", ".join(f"{k} {v:.1f}" if v else f"{k} ?" for k, v in rss.items()))

    # ---- the report ----
    L = []
    L.append("# Benchmarks\n")
    L.append("Measured by `bench/run_all.py` (`make bench`) against the stack `make run` starts: the four "
             "services, MariaDB and Redis on one machine, the load generator `hd-bench` (gRPC C core "
             "client, one channel per caller) on the same machine. Every caller runs its operation in a "
             "closed loop; latency is per operation.\n")
    L.append(f"- Machine: {machine()}")
    L.append(f"- Date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {d:g} s per throughput run, "
             f"{d / 2:g} s per scale run")
    L.append("- Reproduce: `make bench` (or `bench/run_all.py --duration 10`)\n")
    L.append("## Throughput and latency\n")
    L.append("| scenario | callers | calls/s | p50 ms | p99 ms | p99.9 ms | errors |")
    L.append("|---|---:|---:|---:|---:|---:|---:|")
    for (sc, c), r in thr.items():
        L.append(f"| {sc} | {c} | {float(r['ops_per_s']):.0f} | {ms(r, 'p50_ms')} | {ms(r, 'p99_ms')} | "
                 f"{ms(r, 'p999_ms')} | {r['errors']} |")
    L.append("\nThe work loop is one operation of three calls (ReplyToTicket ACKNOWLEDGE, ReplyToTicket "
             "FINAL_ANSWER, CloseTicket) on tickets created beforehand, in a tenant whose replies do not wait "
             "for an account verification (account_verification_optional: the reply gate's settings "
             "read, no VerifyTicketAccount per ticket).\n")
    L.append("## CreateTicket against MariaDB's own limit\n")
    L.append("MariaDB's one-row durable insert: `mariadb-slap`, autocommit `INSERT` of one row into an "
             "InnoDB table with a primary key, `innodb_flush_log_at_trx_commit=1`, same server, same "
             "concurrency. CreateTicket writes more in its one transaction: the ticket (seven secondary "
             "indexes), its idempotency key, a history row and an outbox row, after reading the key.\n")
    L.append("| callers | MariaDB inserts/s | CreateTicket/s | ratio |")
    L.append("|---:|---:|---:|---:|")
    for c in CONCURRENCY:
        cr = float(thr[("create", c)]["ops_per_s"])
        L.append(f"| {c} | {slap_rate[c]:.0f} | {cr:.0f} | {100 * cr / slap_rate[c]:.0f}% |")
    L.append("\n## GetTicket against the health RPC\n")
    L.append("| callers | health calls/s | GetTicket/s | ratio |")
    L.append("|---:|---:|---:|---:|")
    for c in CONCURRENCY:
        h, g = float(thr[("health", c)]["ops_per_s"]), float(thr[("get", c)]["ops_per_s"])
        L.append(f"| {c} | {h:.0f} | {g:.0f} | {100 * g / h:.0f}% |")
    L.append("")
    L += serial_section(thr, fl)
    L.append(f"\n## Scale: 10,000 and {a.million:,} tickets\n")
    L += scale_table(scale, a.million)
    L.append("\n## Against the targets (2-core machine)\n")
    def floor_ratios(sc, fa, fb, div=1):
        return [float(thr[(sc, c)]["ops_per_s"]) / (serial(fa(c), fb(c)) / div) for c in CONCURRENCY]
    health = lambda c: float(thr[("health", c)]["ops_per_s"])
    ratios_c = floor_ratios("create", health, lambda c: fl[("insert", c)])
    ratios_g = floor_ratios("get", health, lambda c: fl[("pk_read", c)])
    ratios_w = floor_ratios("workloop", lambda c: fl[("health_loop", c)],
                            lambda c: fl[("insert_loop", c)], 3)
    p99 = {sc: float(thr[(sc, 16)]["p99_ms"]) for sc in ("get", "list", "create", "workloop")}
    worst_scale = max(float(scale[(a.million, sc, c)]["p50_ms"]) / float(scale[(10_000, sc, c)]["p50_ms"])
                      for sc in SCALE for c in (1, 16))
    def verdict(ok):
        return "met" if ok else "**missed**"
    def span(r):
        return f"{min(r) * 100:.0f}-{max(r) * 100:.0f}%"
    L.append("| target | measured | |")
    L.append("|---|---|---|")
    L.append(f"| CreateTicket >= 60% of its serial floor (health + insert) | {span(ratios_c)} | "
             f"{verdict(min(ratios_c) >= 0.6)} |")
    L.append(f"| GetTicket >= 60% of its serial floor (health + primary-key read) | {span(ratios_g)} | "
             f"{verdict(min(ratios_g) >= 0.6)} |")
    L.append(f"| work loop >= 60% of three serial floors | {span(ratios_w)} | "
             f"{verdict(min(ratios_w) >= 0.6)} |")
    for sc, v in p99.items():
        lim = 10 if sc in ("get", "list") else 20
        L.append(f"| {sc} p99 < {lim} ms at 16 callers | {v:.1f} ms | {verdict(v < lim)} |")
    L.append(f"| ListTickets and GetTicket at {size_name(a.million)} within 1.3x of 10k (p50) | "
             f"at most {worst_scale:.2f}x | {verdict(worst_scale <= 1.3)} |")

    L.append("")
    L += routing_section(routing)
    L.append("\n## Memory\n")
    L.append("Peak resident set (VmHWM) of each service after all the runs above:\n")
    L.append("| service | peak RSS MiB |")
    L.append("|---|---:|")
    for k, v in rss.items():
        L.append(f"| {k} | {v:.1f} |" if v else f"| {k} | not running |")
    L.append("")
    notes = os.path.join(ROOT, "bench", "NOTES.md")
    if os.path.exists(notes):
        with open(notes) as f:
            L.append(f.read())
    with open(a.out, "w") as f:
        f.write("\n".join(L) + "\n")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
