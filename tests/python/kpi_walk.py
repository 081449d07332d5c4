#!/usr/bin/python3
"""A month of ticket work for three agents, from Python's gRPC (Debian's python3-grpcio) against
the real helpdesk-tickets and helpdesk-kpi binaries, and the team summary it gives.

Sixty tickets (a month's volume for a team of three) are opened by customers, assigned by the
team lead, answered, categorised LOWER / MEDIUM / HARD, given a final answer and closed; a few
are transferred to a colleague, one is reopened and closed again, some stay open. Customers rate
most closed tickets 1..5, the lead records each agent's five individual scores. The ticket
service publishes its events; the KPI service consumes them and GetTeamSummary prints every
agent's row and the team's totals. The binaries run on the real clock, so all of the work falls
in the current month (first responses are seconds, not hours, apart).

The two services get a Redis of their own (redis-server on a free port): the KPI's consumer group
then reads only this walk's events, whatever else runs on the test Redis.

Run: HD_BINARY_DIR=build /usr/bin/python3 tests/python/kpi_walk.py
with MariaDB from HELPDESK_DB_* (scripts/servers.sh prints them).
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import grpc

import hdserver
import hdstubs

hdstubs.load(["helpdesk/v1/common.proto", "helpdesk/v1/tickets.proto", "helpdesk/v1/kpi.proto"])
from helpdesk.v1 import kpi_pb2 as kpb  # noqa: E402
from helpdesk.v1 import kpi_pb2_grpc  # noqa: E402
from helpdesk.v1 import tickets_pb2 as pb  # noqa: E402
from helpdesk.v1 import tickets_pb2_grpc  # noqa: E402

TENANT = "kpiwalk"
AGENTS = ["ayu", "budi", "citra"]
TICKETS = 60
_ctx = {}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def token(user, roles):
    out = subprocess.run([hdserver.binary("tools/hd-token"), "--tenant", TENANT, "--user", user,
                          "--roles", roles, "--ttl", "10m"], check=True, capture_output=True, text=True)
    return [("authorization", "Bearer " + out.stdout.strip())]


def start_redis():
    port, folder = free_port(), tempfile.mkdtemp(prefix="hd-pykpi-redis-")
    # The suite's Redis login (HELPDESK_REDIS_USER / _PASSWORD) works here too; the default user
    # stays open for redis-cli below.
    acl = []
    if os.environ.get("HELPDESK_REDIS_PASSWORD"):
        acl = ["--user", os.environ.get("HELPDESK_REDIS_USER", "default"), "on",
               ">" + os.environ["HELPDESK_REDIS_PASSWORD"], "~*", "&*", "+@all"]
    subprocess.run(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                    "--appendonly", "no", "--daemonize", "yes", "--dir", folder,
                    "--pidfile", os.path.join(folder, "redis.pid")] + acl, check=True,
                   stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True,
                          text=True).stdout.strip() == "PONG":
            return port, folder
        time.sleep(0.05)
    raise RuntimeError("redis-server did not answer")


def ready(call):
    return hdserver.until(call, grpc.RpcError)


def setup():
    try:
        start()
    except Exception:
        teardown()  # run_tests does not tear down after a failed set-up
        raise


def start():
    redis_port, redis_dir = start_redis()
    _ctx.update(redis_port=redis_port, redis_dir=redis_dir)
    env = {"HELPDESK_REDIS_HOST": "127.0.0.1", "HELPDESK_REDIS_PORT": str(redis_port),
           "HELPDESK_OUTBOX_POLL": "20ms"}
    tickets = hdserver.Service("tickets", "kpiwalkt", env).start()
    _ctx["tickets_server"] = tickets
    kpi = hdserver.Service("kpi", "kpiwalkk", dict(env, HELPDESK_TICKETS_TARGET=f"127.0.0.1:{tickets.port}")).start()
    _ctx["kpi_server"] = kpi
    tch = grpc.insecure_channel(f"127.0.0.1:{tickets.port}")
    kch = grpc.insecure_channel(f"127.0.0.1:{kpi.port}")
    _ctx.update(tch=tch, kch=kch, tickets=tickets_pb2_grpc.TicketServiceStub(tch),
                kpi=kpi_pb2_grpc.KpiServiceStub(kch), lead=token("lead-1", "agent,team_lead"),
                sup=token("sup-1", "agent,supervisor"),
                agents={a: token(a, "agent") for a in AGENTS},
                customers={c: token(c, "customer") for c in ("cust-1", "cust-2", "cust-3", "cust-4")})
    ready(lambda: _ctx["tickets"].ListTickets(pb.ListTicketsRequest(), metadata=_ctx["lead"], timeout=5))
    # The walk is about the KPI, not the account verification (verify_walk.py): the tenant's
    # replies go out without one.
    _ctx["tickets"].UpdateTenantSettings(pb.UpdateTenantSettingsRequest(
        settings=pb.TenantSettings(account_verification_optional=True),
        update_mask={"paths": ["account_verification_optional"]}),
        metadata=token("admin-1", "tenant_admin"), timeout=5)
    ready(lambda: _ctx["kpi"].GetTeamSummary(kpb.GetTeamSummaryRequest(month=month()),
                                             metadata=_ctx["lead"], timeout=5))


def teardown():
    if _ctx.get("down"):
        return
    _ctx["down"] = True
    for ch in ("tch", "kch"):
        if ch in _ctx:
            _ctx[ch].close()
    for name in ("kpi_server", "tickets_server"):
        if name in _ctx:
            rc = _ctx[name].stop()
            print(f"  helpdesk-{name.split('_')[0]} stopped with exit status {rc}")
            _ctx[name].cleanup()
    if "redis_port" in _ctx:
        subprocess.run(["redis-cli", "-p", str(_ctx["redis_port"]), "shutdown", "nosave"],
                       capture_output=True)
        shutil.rmtree(_ctx["redis_dir"], ignore_errors=True)


def month():
    return time.strftime("%Y-%m", time.gmtime())


def test_a_month_of_work_for_three_agents_goes_through_the_ticket_service():
    t, lead = _ctx["tickets"], _ctx["lead"]
    customers = list(_ctx["customers"].items())
    closed = []
    for i in range(TICKETS):
        owner = AGENTS[i % 3]
        cust_id, cust = customers[i % len(customers)]
        tk = t.CreateTicket(pb.CreateTicketRequest(
            idempotency_key=f"walk-{i}", subject=f"Case {i}: email bounces",
            description="Every email to gmail.com comes back with 550.",
            service_type=pb.SERVICE_TYPE_SHARED, issue_type=pb.ISSUE_TYPE_EMAIL),
            metadata=cust, timeout=5)
        t.AssignTicket(pb.AssignTicketRequest(ticket_id=tk.id, owner_id=owner), metadata=lead, timeout=5)
        t.ReplyToTicket(pb.ReplyToTicketRequest(ticket_id=tk.id, intent=pb.REPLY_INTENT_ACKNOWLEDGE,
                                                body="Checking the mail logs now."),
                        metadata=_ctx["agents"][owner], timeout=5)
        if i % 5:
            t.SetCategory(pb.SetCategoryRequest(ticket_id=tk.id, category=1 + i % 3), metadata=lead, timeout=5)
        if i % 10 == 4:  # end of a shift: handed to the next agent
            owner = AGENTS[(i + 1) % 3]
            t.TransferTicket(pb.TransferTicketRequest(ticket_id=tk.id, new_owner_id=owner,
                                                      note="Waiting on the DNS change."),
                             metadata=lead, timeout=5)
        if i % 7 == 6:
            continue  # still open at the month's end
        t.ReplyToTicket(pb.ReplyToTicketRequest(ticket_id=tk.id, intent=pb.REPLY_INTENT_FINAL_ANSWER,
                                                body="Fixed: DKIM added.", resolved=True),
                        metadata=_ctx["agents"][owner], timeout=5)
        t.CloseTicket(pb.CloseTicketRequest(ticket_id=tk.id), metadata=cust, timeout=5)
        if i == 12:
            t.RestartTicket(pb.RestartTicketRequest(ticket_id=tk.id), metadata=lead, timeout=5)
            t.ReplyToTicket(pb.ReplyToTicketRequest(ticket_id=tk.id, intent=pb.REPLY_INTENT_FINAL_ANSWER,
                                                    body="Fixed again."),
                            metadata=_ctx["agents"][owner], timeout=5)
            t.CloseTicket(pb.CloseTicketRequest(ticket_id=tk.id), metadata=cust, timeout=5)
        closed.append((tk.id, cust, i))
    _ctx["closed"] = closed
    print(f"  {TICKETS} tickets worked, {len(closed)} closed, {TICKETS - len(closed)} open")
    assert len(closed) == TICKETS - len([i for i in range(TICKETS) if i % 7 == 6])


def wait_resolved(n, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        s = _ctx["kpi"].GetTeamSummary(kpb.GetTeamSummaryRequest(month=month()), metadata=_ctx["lead"], timeout=10)
        if s.team.resolution.resolved >= n or time.monotonic() > deadline:
            return s
        time.sleep(0.1)


def test_customers_rate_closed_tickets_once():
    wait_resolved(len(_ctx["closed"]))
    rated = 0
    for tid, cust, i in _ctx["closed"]:
        if i % 4 == 3:
            continue
        _ctx["kpi"].RecordSatisfaction(kpb.RecordSatisfactionRequest(ticket_id=tid, score=1 + (i * 7) % 5,
                                                                     comment="thanks"),
                                       metadata=cust, timeout=5)
        rated += 1
    tid, cust, _ = _ctx["closed"][0]
    try:
        _ctx["kpi"].RecordSatisfaction(kpb.RecordSatisfactionRequest(ticket_id=tid, score=5),
                                       metadata=cust, timeout=5)
    except grpc.RpcError as e:
        print(f"  a second rating of ticket {tid} -> {e.code().name}: {e.details()}")
        assert e.code() == grpc.StatusCode.ALREADY_EXISTS
    else:
        raise AssertionError("a ticket was rated twice")
    print(f"  {rated} ratings recorded")


def test_the_lead_records_individual_scores():
    for n, a in enumerate(AGENTS):
        _ctx["kpi"].RecordIndividualScores(kpb.RecordIndividualScoresRequest(
            agent_id=a, month=month(), personal_dynamic_index=70 + 5 * n, performance_impact_service=80,
            adaptability=75, initiative=60 + 10 * n, sop_compliance=90, comment="one-on-one"),
            metadata=_ctx["lead"], timeout=5)


def test_an_agent_cannot_read_a_colleagues_kpi():
    try:
        _ctx["kpi"].GetAgentKpi(kpb.GetAgentKpiRequest(agent_id="budi", month=month()),
                                metadata=_ctx["agents"]["ayu"], timeout=5)
    except grpc.RpcError as e:
        print(f"  ayu reads budi's KPI -> {e.code().name}: {e.details()}")
        assert e.code() == grpc.StatusCode.PERMISSION_DENIED
    else:
        raise AssertionError("an agent read a colleague's KPI")


def row(k):
    r, e, p, c, o = k.resolution, k.response, k.productivity, k.satisfaction, k.overall
    return (f"  {k.agent_id or 'TEAM':<6} resolved {r.resolved:>3} (L{r.resolved_lower} M{r.resolved_medium} "
            f"H{r.resolved_hard} U{r.resolved_uncategorised}) pts {r.weighted_resolved:>5.1f} RPI {r.score:>5.1f} | "
            f"1st resp {e.first_responses:>3} in target {e.within_target:>3} median {e.median_first_response_us / 1e6:6.3f}s "
            f"REM {e.score:>5.1f} | handled {p.handled:>3} {p.per_working_day:5.2f}/day IP {p.score:>5.1f} | "
            f"CSAT {c.mean:4.2f} (n={c.count}) {c.score:>5.1f} | reopened {r.reopened} handed over "
            f"{r.transferred_away} | overall {o.score:5.1f}")


def test_the_team_summary_shows_every_agent_and_the_totals():
    s = wait_resolved(len(_ctx["closed"]))
    print(f"team summary {s.month} ({s.time_zone}, {s.team.working_days} working days so far):")
    for k in s.agents:
        print(row(k))
    print(row(s.team))
    assert [k.agent_id for k in s.agents] == AGENTS and s.agent_count == 3
    assert s.team.resolution.resolved == len(_ctx["closed"])
    assert s.team.response.first_responses == TICKETS
    assert s.team.response.within_target == TICKETS  # seconds apart, the target is an hour
    assert s.team.resolution.reopened == 1
    assert s.team.resolution.transferred_away == len([i for i in range(TICKETS) if i % 10 == 4])
    assert sum(k.satisfaction.count for k in s.agents) == s.team.satisfaction.count > 0
    assert all(k.individual_scores.months == 1 for k in s.agents)


if __name__ == "__main__":
    sys.exit(hdserver.run_tests([
        test_a_month_of_work_for_three_agents_goes_through_the_ticket_service,
        test_customers_rate_closed_tickets_once,
        test_the_lead_records_individual_scores,
        test_an_agent_cannot_read_a_colleagues_kpi,
        test_the_team_summary_shows_every_agent_and_the_totals], setup, teardown))
