#!/usr/bin/python3
"""Runs every benchmark against the stack `make run` starts and writes BENCHMARKS.md.

    make bench                      (or: bench/run_all.py [--duration 10] [--out BENCHMARKS.md])

What it does, in order:
  1. `make run` (installs, builds, starts MariaDB, Redis and the four services; idempotent), then
     empties the ticket service's database so every run starts from the same state;
  2. scale: loads 10,000 tickets (bench/load-tickets.sh) and measures GetTicket and ListTickets
     (oldest first; by status; by owner; an owner's open tickets; unassigned; followed;
     updated_since), then loads up to 1,000,000 and measures them again;
  3. throughput: the health RPC, CreateTicket, GetTicket, ListTickets at 1, 8 and 16 concurrent
     callers, the owner's work loop (ACKNOWLEDGE, FINAL_ANSWER, CloseTicket) at 8;
  4. MariaDB's own one-row durable insert rate (mariadb-slap, autocommit, InnoDB with
     innodb_flush_log_at_trx_commit=1) at the same concurrencies, and CreateTicket as a ratio;
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


def slap(env, concurrency, queries):
    sql(env, "CREATE DATABASE IF NOT EXISTS hd_slap", db=None)
    sql(env, "DROP TABLE IF EXISTS t; CREATE TABLE t (id BIGINT AUTO_INCREMENT PRIMARY KEY, "
             "tenant VARCHAR(64) NOT NULL, body VARCHAR(200) NOT NULL, created_at_us BIGINT NOT NULL) "
             "ENGINE=InnoDB", db="hd_slap")
    out = subprocess.run(["mariadb-slap", f"--socket={env['HELPDESK_DB_SOCKET']}", "-u", "root",
                          "--create-schema=hd_slap", "--no-drop", f"--concurrency={concurrency}",
                          "--iterations=1", f"--number-of-queries={queries}",
                          "--query=INSERT INTO t (tenant, body, created_at_us) VALUES ('bench', 'one row', 1)"],
                         check=True, text=True, capture_output=True).stdout
    secs = float(re.search(r"Average number of seconds to run all queries: ([\d.]+)", out).group(1))
    rate = queries / secs if secs > 0 else 0.0
    print(f"  mariadb-slap concurrency={concurrency} inserts={queries} seconds={secs:.3f} inserts_per_s={rate:.0f}",
          flush=True)
    return rate


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


def run_scale(env, million, secs, target=TICKETS, load_env=None):
    """Loads 10,000 tickets into tenant scale, measures SCALE at 1 and 16 callers, loads up to
    million and measures again: {(size, scenario, callers): figures}."""
    print("== scale: 10,000 tickets, then a million", flush=True)
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
    L.append("| scenario | callers | p50 ms at 10k | p50 ms at 1M | p99 ms at 10k | p99 ms at 1M | "
             "calls/s at 10k | calls/s at 1M | p50 1M/10k |")
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
    ap.add_argument("--million", type=int, default=1_000_000, help="tickets for the large scale run")
    ap.add_argument("--out", default=None, help="the report (default BENCHMARKS.md)")
    ap.add_argument("--scale-only", action="store_true",
                    help="only the scale section, against running servers (see above)")
    ap.add_argument("--routing-only", action="store_true",
                    help="only the routing section, against running services (see above)")
    ap.add_argument("--target", default=None,
                    help="the ticket service with --scale-only, routing with --routing-only")
    ap.add_argument("--tickets-target", default=TICKETS, help="the ticket service with --routing-only")
    a = ap.parse_args()
    a.out_given = a.out is not None
    a.out = a.out or os.path.join(ROOT, "BENCHMARKS.md")
    if a.scale_only:
        a.target = a.target or TICKETS
        return scale_only(a)
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

    print("== throughput", flush=True)
    thr = {}
    for c in CONCURRENCY:
        thr[("health", c)] = bench("health", c, d)
        thr[("create", c)] = bench("create", c, d)
        thr[("get", c)] = bench("get", c, d, prepare=2000 if c == 1 else 0)
        thr[("list", c)] = bench("list", c, d)
    loop_calls = 1500
    thr[("workloop", 8)] = bench("workloop", 8, d, prepare=loop_calls, calls=loop_calls)

    print("== MariaDB's one-row durable inserts (mariadb-slap)", flush=True)
    slap_rate = {c: slap(env, c, 2000 * max(1, c)) for c in CONCURRENCY}
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
    L.append("\n## Scale: 10,000 and 1,000,000 tickets\n")
    L += scale_table(scale, a.million)
    L.append("\n## Against the targets (2-core machine)\n")
    ratios_c = [float(thr[("create", c)]["ops_per_s"]) / slap_rate[c] for c in CONCURRENCY]
    ratios_g = [float(thr[("get", c)]["ops_per_s"]) / float(thr[("health", c)]["ops_per_s"]) for c in CONCURRENCY]
    p99_reads = {sc: float(thr[(sc, 16)]["p99_ms"]) for sc in ("get", "list")}
    worst_scale = max(float(scale[(a.million, sc, c)]["p50_ms"]) / float(scale[(10_000, sc, c)]["p50_ms"])
                      for sc in SCALE for c in (1, 16))
    def verdict(ok):
        return "met" if ok else "**missed**"
    L.append("| target | measured | |")
    L.append("|---|---|---|")
    L.append(f"| CreateTicket >= 50% of MariaDB's one-row insert rate | "
             f"{min(ratios_c) * 100:.0f}-{max(ratios_c) * 100:.0f}% | {verdict(min(ratios_c) >= 0.5)} |")
    L.append(f"| GetTicket >= 30% of the health RPC's rate | "
             f"{min(ratios_g) * 100:.0f}-{max(ratios_g) * 100:.0f}% | {verdict(min(ratios_g) >= 0.3)} |")
    for sc, v in p99_reads.items():
        L.append(f"| {sc} p99 < 10 ms at 16 callers | {v:.1f} ms | {verdict(v < 10)} |")
    L.append(f"| ListTickets and GetTicket at 1M within 2x of 10k (p50) | at most {worst_scale:.2f}x | "
             f"{verdict(worst_scale <= 2)} |")

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
