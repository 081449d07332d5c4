#!/usr/bin/python3
"""helpdeskctl against the real services: the generic call on a method of each of the four
services (JSON in, JSON out: 64-bit ids as strings, enums by name), every verb (tickets list,
ticket show, ticket reply, claim next, escalate, handover, handover show, health), watch on a
server stream (the ticket feed line by line, resumed after an event, ended by Ctrl-C), and the
failures (an unknown field refused before sending, a gRPC status printed as CODE: message with
a non-zero exit). Prints the session as an agent would see it, for the closing note.

The four services share the Redis of the environment: give the walk one no other ticket
service publishes to (make test gives each walk a Redis of its own, emptied first), so that
routing queues exactly this ticket service's tickets.

Run: HD_BINARY_DIR=build /usr/bin/python3 tests/python/helpdeskctl_walk.py
with MariaDB and Redis from HELPDESK_DB_* / HELPDESK_REDIS_* (scripts/servers.sh prints them).
"""
import json
import os
import shlex
import subprocess
import sys
import time

import hdserver

_ctx = {}


def as_user(subject, role):
    return ["--dev-token", "--tenant", "acme", "--subject", subject, "--role", role]


def ctl(*args, user=None, expect=0, show=True, stdin=None, lines=40):
    """Runs helpdeskctl with args (as user: (subject, role)); checks the exit status; returns
    (stdout, stderr). Prints the command line and its output (its first `lines` lines) as a
    session transcript."""
    cmd = [hdserver.binary("tools/helpdeskctl"), *args, *(as_user(*user) if user else [])]
    p = subprocess.run(cmd, capture_output=True, text=True, env=_ctx["env"], input=stdin, timeout=60)
    if show:
        who = f"[{user[0]}] " if user else ""
        print(f"  {who}$ helpdeskctl {' '.join(shlex.quote(a) for a in args)}")
        output = (p.stdout + p.stderr).rstrip("\n").splitlines()
        for line in output[:lines]:
            print(f"    {line}")
        if len(output) > lines:
            print(f"    ... ({len(output) - lines} more lines)")
    if p.returncode != expect:
        raise AssertionError(f"exit {p.returncode}, expected {expect}: {p.stderr.strip()}")
    return p.stdout, p.stderr


def call_json(method, request, user, show=True, lines=40):
    out, _ = ctl("call", method, json.dumps(request), user=user, show=show, lines=lines)
    return json.loads(out)


AGENT = ("agent-1", "agent")
BILLING = ("billing-1", "agent")
LEAD = ("lead-1", "agent,team_lead")
SUP = ("sup-1", "agent,supervisor")
CUSTOMER = ("cust-1", "customer")
CONSOLE = ("console", "service")


def setup():
    try:
        start()
    except Exception:
        teardown()
        raise


def start():
    # The Redis of the environment (make test gives each walk one of its own, emptied first).
    base = {"HELPDESK_OUTBOX_POLL": "20ms"}
    t = hdserver.Service("tickets", "ctlt", base).start()
    r = hdserver.Service("routing", "ctlr", dict(base, HELPDESK_TICKETS_TARGET=f"127.0.0.1:{t.port}")).start()
    a = hdserver.Service("accounts", "ctla", dict(base, HELPDESK_ROUTING_TARGET=f"127.0.0.1:{r.port}")).start()
    k = hdserver.Service("kpi", "ctlk", dict(base, HELPDESK_TICKETS_TARGET=f"127.0.0.1:{t.port}")).start()
    _ctx.update(svcs=[t, r, a, k])
    env = {key: v for key, v in os.environ.items() if not key.startswith("HELPDESK_") or key.startswith("HELPDESK_AUTH")}
    env.update(HELPDESK_TICKETS_TARGET=f"127.0.0.1:{t.port}", HELPDESK_ROUTING_TARGET=f"127.0.0.1:{r.port}",
               HELPDESK_ACCOUNTS_TARGET=f"127.0.0.1:{a.port}", HELPDESK_KPI_TARGET=f"127.0.0.1:{k.port}")
    _ctx["env"] = env
    deadline = time.monotonic() + 30
    while True:  # every service SERVING (MariaDB reached, migrations applied)
        p = subprocess.run([hdserver.binary("tools/helpdeskctl"), "health", "--timeout", "2s"],
                           capture_output=True, text=True, env=env)
        if p.returncode == 0:
            break
        if time.monotonic() > deadline:
            raise RuntimeError("the services are not SERVING:\n" + p.stdout + p.stderr)
        time.sleep(0.2)
    # This walk is about the command line, not the account verification (verify_walk.py): the
    # tenant's replies go out without one.
    ctl("call", "TicketService/UpdateTenantSettings",
        json.dumps({"settings": {"accountVerificationOptional": True},
                    "updateMask": "accountVerificationOptional"}),
        user=("admin-1", "tenant_admin"), show=False)


def teardown():
    for svc in reversed(_ctx.get("svcs", [])):
        rc = svc.stop()
        print(f"  helpdesk-{svc.svc} stopped with exit status {rc}")
        svc.cleanup()


def test_the_generic_call_reaches_a_method_of_each_of_the_four_services():
    print("generic call, one method of each service:")
    # routing: register the agents (enums by name, repeated strings).
    for agent, dept in (("agent-1", "TECHNICAL"), ("billing-1", "BILLING")):
        a = call_json("RoutingService/UpsertAgent", {"agentId": agent, "departments": [dept],
                                                     "level": "AGENT_LEVEL_L1", "capacity": 10}, SUP)
        assert a["agentId"] == agent and a["departments"] == [dept] and a["level"] == "AGENT_LEVEL_L1"
    # the full service name, a short enum name, the proto field name.
    a = call_json("helpdesk.v1.RoutingService/SetPresence", {"presence": "AVAILABLE"}, AGENT)
    assert a["presence"] == "PRESENCE_AVAILABLE"
    call_json("RoutingService/SetPresence", {"agent_id": "billing-1", "presence": 1}, LEAD, show=False)
    # tickets: a customer's ticket; the id comes back as a string (int64).
    created = []
    for i, subject in enumerate(("VPN drops every ten minutes", "Mail server rejects TLS 1.3")):
        t = call_json("TicketService/CreateTicket", {
            "idempotencyKey": f"ctl-{i}", "subject": subject, "description": subject + ", since Monday",
            "product": "Shared Hosting Pro", "brand": "Acme Hosting", "serviceType": "SERVICE_TYPE_SHARED",
            "issueType": "ISSUE_TYPE_TECHNICAL"}, CUSTOMER, show=i == 0)
        assert isinstance(t["id"], str) and int(t["id"]) > 0 and t["status"] == "TICKET_STATUS_PENDING_RESPONSE"
        created.append(int(t["id"]))
    _ctx["created"] = created
    got = call_json("TicketService/GetTicket", {"ticketId": created[0]}, AGENT, show=False)
    assert got["id"] == str(created[0]) and "ownerId" not in got  # defaults are left out
    out, _ = ctl("call", "TicketService/GetTicket", "-", user=AGENT, show=False,
                 stdin=json.dumps({"ticket_id": str(created[1])}))  # from stdin, by the proto name
    assert json.loads(out)["id"] == str(created[1])
    # accounts: register and read back.
    acct = call_json("AccountService/CreateAccount", {"uid": "ctl-sg-1", "region": "SG",
                                                      "type": "ACCOUNT_TYPE_PERSONAL", "realNameVerified": True,
                                                      "email": "ctl-sg-1@example.com"}, CONSOLE)
    assert acct["uid"] == "ctl-sg-1"
    got = call_json("AccountService/GetAccount", {"uid": "ctl-sg-1"}, AGENT, show=False)
    assert got["account"]["email"] == "ctl-sg-1@example.com"
    # kpi: this month's team summary (a team lead's view).
    summary = call_json("KpiService/GetTeamSummary", {"month": time.strftime("%Y-%m", time.gmtime())}, LEAD,
                        lines=12)
    assert isinstance(summary, dict)
    # Health, asked of one service.
    h = call_json("Health/Check", {}, None, show=False)
    assert h["status"] == "SERVING"


def test_an_unknown_field_is_refused_before_anything_is_sent():
    print("refusals:")
    _, err = ctl("call", "TicketService/GetTicket", '{"tikcetId": 7}', user=AGENT, expect=2)
    assert 'unknown field "tikcetId" in helpdesk.v1.GetTicketRequest' in err and "INVALID_ARGUMENT" in err
    _, err = ctl("call", "TicketService/GetTicket", '{"ticketId": "9223372036854775808"}', user=AGENT,
                 expect=2)
    assert "out of range for int64" in err
    _, err = ctl("ticket", "show", "999999", user=AGENT, expect=1)
    assert err.startswith("helpdeskctl: NOT_FOUND: "), err
    _, err = ctl("tickets", "list", "--mine", "--ack", "x", user=AGENT, expect=2)
    assert "takes no --ack" in err


def test_claim_next_takes_the_oldest_ticket_of_the_queue():
    print("session: claim, list my open tickets, reply, escalate, hand over:")
    deadline = time.monotonic() + 30
    while True:  # routing queues a ticket once it has read the ticket.created event
        out, _ = ctl("claim", "next", "--queue", "TECHNICAL", "--idempotency-key", "claim-1", "--output", "json",
                     user=AGENT, show=False)
        claim = json.loads(out).get("claim")
        if claim or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert claim and int(claim["ticketId"]) == _ctx["created"][0], claim
    # The same key again: the same claim, shown as the table an agent sees.
    out, _ = ctl("claim", "next", "--queue", "TECHNICAL", "--idempotency-key", "claim-1", user=AGENT)
    assert f"claim.ticketId: {_ctx['created'][0]}" in out
    out, _ = ctl("claim", "next", "--queue", "TECHNICAL", user=AGENT)
    assert f"claim.ticketId: {_ctx['created'][1]}" in out
    _ctx["claimed"] = _ctx["created"][:2]


def test_tickets_list_mine_open_shows_the_claimed_tickets():
    out, _ = ctl("tickets", "list", "--mine", "--open", user=AGENT)
    for tid in _ctx["claimed"]:
        assert any(line.split()[:1] == [str(tid)] for line in out.splitlines()), out
    js, _ = ctl("tickets", "list", "--mine", "--open", "--output", "json", user=AGENT, show=False)
    ids = [int(t["id"]) for t in json.loads(js)["tickets"]]
    assert ids == _ctx["claimed"]
    out, _ = ctl("tickets", "list", "--owner", "billing-1", user=LEAD, show=False)
    assert out.strip() == "(none)"


def test_ticket_reply_acknowledges_and_ticket_show_has_the_conversation():
    tid = _ctx["claimed"][0]
    out, _ = ctl("ticket", "reply", str(tid), "--ack", "Thanks, I am looking at the VPN logs now.", user=AGENT)
    assert "ticket.status: TICKET_STATUS_PROCESSING" in out
    js, _ = ctl("ticket", "reply", str(_ctx["claimed"][1]), "--request-info", "Which mail client?",
                "--output", "json", user=AGENT, show=False)
    assert json.loads(js)["ticket"]["status"] == "TICKET_STATUS_PENDING_FEEDBACK"
    out, _ = ctl("ticket", "show", str(tid), "--comments", user=AGENT)
    assert "status: TICKET_STATUS_PROCESSING" in out and "looking at the VPN logs" in out
    js, _ = ctl("ticket", "show", str(tid), "--comments", "--output", "json", user=AGENT, show=False)
    doc = json.loads(js)
    assert doc["ticket"]["status"] == "TICKET_STATUS_PROCESSING" and len(doc["comments"]) == 1
    _, err = ctl("ticket", "reply", str(tid), "--ack", "again", "--expected-version", "1", user=AGENT, expect=1)
    assert err.startswith("helpdeskctl: ABORTED: "), err


def test_escalate_moves_the_ticket_to_billing():
    tid = _ctx["claimed"][0]
    out, _ = ctl("escalate", str(tid), "--to", "BILLING", "--context", "Customer was charged twice; invoice 2211",
                 "--thread", "https://chat.example.test/billing/thread/17", user=AGENT)
    assert "toDepartment: BILLING" in out and "mode: ESCALATION_MODE_ASSIGN" in out
    js, _ = ctl("ticket", "show", str(tid), "--output", "json", user=AGENT, show=False)
    assert json.loads(js)["department"] == "BILLING"
    _, err = ctl("escalate", str(tid), "--to", "BILLING", "--context", "again", user=AGENT, expect=1)
    assert err.split(":")[1].strip() in ("FAILED_PRECONDITION", "INVALID_ARGUMENT", "PERMISSION_DENIED"), err


def test_handover_needs_every_note_then_hands_over_the_shift():
    js, _ = ctl("tickets", "list", "--mine", "--open", "--output", "json", user=AGENT, show=False)
    mine = [int(t["id"]) for t in json.loads(js).get("tickets", [])]
    assert mine, "agent-1 owns no open ticket"
    _, err = ctl("handover", "--note", f"{mine[0]}=only one note", user=AGENT,
                 expect=1 if len(mine) > 1 else 0, show=len(mine) > 1)
    if len(mine) > 1:
        assert err.startswith("helpdeskctl: FAILED_PRECONDITION: "), err
    else:
        return
    notes = []
    for tid in mine:
        notes += ["--note", f"{tid}=Asked for details; waiting on the customer (#{tid})"]
    out, _ = ctl("handover", *notes, "--idempotency-key", "ctl-shift-1", user=AGENT)
    assert "agent.presence: PRESENCE_OFF_DUTY" in out
    out, _ = ctl("handover", "show", "--from", "agent-1", user=LEAD)
    for tid in mine:
        assert any(line.split()[:1] == [str(tid)] for line in out.splitlines()), out


def test_health_reports_each_service_serving():
    out, _ = ctl("health")
    assert out.count("SERVING") == 4, out
    js, _ = ctl("health", "--service", "kpi", "--output", "json", show=False)
    assert json.loads(js)["services"][0]["status"] == "SERVING"


def test_watch_prints_the_feed_a_line_an_event_and_resumes_after_one():
    print("watch (a server stream, one JSON line a message):")
    cmd = [hdserver.binary("tools/helpdeskctl"), "watch", "TicketService/WatchTickets", "{}", "--limit", "1",
           *as_user(*LEAD)]
    w = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_ctx["env"])
    made = []
    for i in range(40):  # until the stream, opened meanwhile, has seen one
        t = call_json("TicketService/CreateTicket", {
            "idempotencyKey": f"watch-{i}", "subject": "Watched", "description": "Seen on the feed",
            "serviceType": "SERVICE_TYPE_SHARED", "issueType": "ISSUE_TYPE_TECHNICAL"}, CUSTOMER, show=False)
        made.append(t["id"])
        if w.poll() is not None:
            break
        time.sleep(0.25)
    out, err = w.communicate(timeout=30)
    assert w.returncode == 0, err
    lines = out.splitlines()
    assert len(lines) == 1, out
    first = json.loads(lines[0])
    print(f"  [lead-1] $ helpdeskctl watch TicketService/WatchTickets '{{}}' --limit 1\n    {lines[0][:160]}...")
    assert first["type"] == "TICKET_EVENT_TYPE_CREATED" and first["ticketId"] in made, first
    # resume right after that event: the next one is the next ticket made after it (one more is
    # made here: the loop above may have stopped right after the ticket the watch saw)
    made.append(call_json("TicketService/CreateTicket", {
        "idempotencyKey": "watch-after", "subject": "Watched", "description": "Seen after the first",
        "serviceType": "SERVICE_TYPE_SHARED", "issueType": "ISSUE_TYPE_TECHNICAL"}, CUSTOMER, show=False)["id"])
    out, _ = ctl("watch", "TicketService/WatchTickets", json.dumps({"afterEventId": first["eventId"]}),
                 "--limit", "1", user=LEAD, lines=1)
    after = json.loads(out)
    assert int(after["eventId"].rsplit("-", 1)[1]) > int(first["eventId"].rsplit("-", 1)[1]), (first, after)
    assert int(after["ticketId"]) > int(first["ticketId"]), (first, after)
    # a table instead of JSON
    out, _ = ctl("watch", "TicketService/WatchTickets", json.dumps({"afterEventId": first["eventId"]}),
                 "--limit", "1", "--output", "table", user=LEAD, show=False)
    assert f"eventId: {after['eventId']}" in out, out
    # an id that is not of this feed: the stream's status, exit 1
    _, err = ctl("watch", "TicketService/WatchTickets", '{"afterEventId": "nope"}', user=LEAD, expect=1)
    assert err.startswith("helpdeskctl: INVALID_ARGUMENT: "), err
    # Ctrl-C ends a quiet watch at once, with 0
    w = subprocess.Popen(cmd[:4] + cmd[6:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=_ctx["env"])
    time.sleep(1)
    w.send_signal(2)
    _, err = w.communicate(timeout=10)
    assert w.returncode == 0, (w.returncode, err)
    # --timeout: the stream's deadline, its end asked for
    ctl("watch", "TicketService/WatchTickets", "{}", "--timeout", "300ms", user=LEAD, show=False)
    out, _ = ctl("watch", "Health/Watch", "{}", "--limit", "1", "--service", "routing")
    assert json.loads(out)["status"] == "SERVING"


def test_every_verb_has_help():
    for verb in (["call"], ["watch"], ["tickets", "list"], ["ticket", "show"], ["ticket", "reply"], ["claim", "next"],
                 ["escalate"], ["handover"], ["handover", "show"], ["health"]):
        out, _ = ctl(*verb, "--help", show=False)
        assert out.startswith("usage: helpdeskctl " + " ".join(verb)), out


if __name__ == "__main__":
    sys.exit(hdserver.run_tests([
        test_the_generic_call_reaches_a_method_of_each_of_the_four_services,
        test_an_unknown_field_is_refused_before_anything_is_sent,
        test_claim_next_takes_the_oldest_ticket_of_the_queue,
        test_tickets_list_mine_open_shows_the_claimed_tickets,
        test_ticket_reply_acknowledges_and_ticket_show_has_the_conversation,
        test_escalate_moves_the_ticket_to_billing,
        test_handover_needs_every_note_then_hands_over_the_shift,
        test_health_reports_each_service_serving,
        test_watch_prints_the_feed_a_line_an_event_and_resumes_after_one,
        test_every_verb_has_help], setup, teardown))
