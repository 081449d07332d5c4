#!/usr/bin/python3
"""Work on a customer's hosting service under the WHG SOP's policy (sections 1.3, 4, 6, 7), walked
from Python's gRPC (Debian's python3-grpcio) against the real helpdesk-accounts binary, pointed at
a real helpdesk-tickets (consents, internal records, attachments) and a real helpdesk-routing (the
escalations), each step printing what the services answered:

  1. a DNS change on a shared service refused without the customer's consent, then recorded with
     it (and its internal record on the ticket);
  2. a restart of an unmanaged server refused while the customer can reach it, then escalated to
     INFRASTRUCTURE once the customer cannot (asked twice: one escalation in routing);
  3. an email test on a dummy mailbox, sent to the designated support address, its screenshot
     attached to the ticket, and the dummy's deletion recorded;
  4. the policy table as CheckServiceAction answers it: one row per hosting type and action (and
     the modifiers the SOP rules on apart).

Run: HD_BINARY_DIR=build /usr/bin/python3 tests/python/service_action_walk.py
with MariaDB and Redis from HELPDESK_DB_* / HELPDESK_REDIS_* (scripts/servers.sh prints them).
"""
import subprocess
import sys
import time

import grpc

import hdserver
import hdstubs

hdstubs.load(["helpdesk/v1/common.proto", "helpdesk/v1/accounts.proto", "helpdesk/v1/tickets.proto",
              "helpdesk/v1/routing.proto"])
from helpdesk.v1 import accounts_pb2 as pb  # noqa: E402
from helpdesk.v1 import accounts_pb2_grpc  # noqa: E402
from helpdesk.v1 import routing_pb2 as rpb  # noqa: E402
from helpdesk.v1 import routing_pb2_grpc  # noqa: E402
from helpdesk.v1 import tickets_pb2 as tpb  # noqa: E402
from helpdesk.v1 import tickets_pb2_grpc  # noqa: E402

UID = "walk-host"  # the customer: the account's uid and the tickets' customer_id
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
_ctx = {}


def token(user, roles):
    out = subprocess.run([hdserver.binary("tools/hd-token"), "--tenant", "acme", "--user", user,
                          "--roles", roles, "--ttl", "10m"], check=True, capture_output=True, text=True)
    return [("authorization", "Bearer " + out.stdout.strip())]


def call(rpc, req, who="agent"):
    return getattr(_ctx["stub"], rpc)(req, metadata=_ctx[who], timeout=10)


def tickets(rpc, req, who="agent"):
    return getattr(_ctx["tickets"], rpc)(req, metadata=_ctx[who], timeout=10)


def refused(rpc, req, code, who="agent"):
    try:
        call(rpc, req, who)
    except grpc.RpcError as e:
        assert e.code() == code, f"{rpc}: want {code.name}, got {e.code().name}: {e.details()}"
        return e.details()
    raise AssertionError(f"{rpc} was accepted")


def name(enum, v, prefix):
    return enum.Name(v).replace(prefix, "")


def setup():
    tsvc = hdserver.Service("tickets", "pysat").start()
    rsvc = hdserver.Service("routing", "pysar", {"HELPDESK_TICKETS_TARGET": f"127.0.0.1:{tsvc.port}"}).start()
    server = hdserver.Service("accounts", "pysaa", {
        "HELPDESK_TICKETS_TARGET": f"127.0.0.1:{tsvc.port}",
        "HELPDESK_ROUTING_TARGET": f"127.0.0.1:{rsvc.port}"}).start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    grpc.channel_ready_future(channel).result(timeout=10)
    tch = grpc.insecure_channel(f"127.0.0.1:{tsvc.port}")
    rch = grpc.insecure_channel(f"127.0.0.1:{rsvc.port}")
    _ctx.update(server=server, channel=channel, stub=accounts_pb2_grpc.AccountServiceStub(channel),
                tsvc=tsvc, rsvc=rsvc, tch=tch, rch=rch, tickets=tickets_pb2_grpc.TicketServiceStub(tch),
                routing=routing_pb2_grpc.RoutingServiceStub(rch), customer=token(UID, "customer"),
                agent=token("agent-1", "agent"), lead=token("lead-1", "agent,team_lead"),
                console=token("svc-console", "service"))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # NOT_SERVING (UNAVAILABLE) until the migrations ran
        try:
            call("GetAccount", pb.GetAccountRequest(uid="nobody"))
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND:
                break
            time.sleep(0.1)
    call("CreateAccount", pb.CreateAccountRequest(uid=UID, region="SG", type=pb.ACCOUNT_TYPE_PERSONAL,
                                                  real_name_verified=True, email=f"{UID}@example.com"),
         "console")
    svc = {}
    for t in (pb.HOSTING_TYPE_SHARED, pb.HOSTING_TYPE_RESELLER, pb.HOSTING_TYPE_MANAGED,
              pb.HOSTING_TYPE_UNMANAGED):
        svc[t] = call("AddService", pb.AddServiceRequest(
            uid=UID, kind=pb.HELD_SERVICE_KIND_HOSTING, hosting_type=t,
            package="Reseller Pro" if t == pb.HOSTING_TYPE_RESELLER else "",
            hostname=f"{name(pb.HostingType, t, 'HOSTING_TYPE_').lower()}.walk-host.example.com"),
            "console").id
    _ctx["svc"] = svc


def teardown():
    for ch in ("channel", "tch", "rch"):
        _ctx[ch].close()
    for svc in ("server", "rsvc", "tsvc"):
        rc = _ctx[svc].stop()
        print(f"  helpdesk-{_ctx[svc].svc} stopped with exit status {rc}")
        _ctx[svc].cleanup()


def ticket(key, subject):
    t = tickets("CreateTicket", tpb.CreateTicketRequest(
        idempotency_key=key, subject=subject, description=subject, product="Web Hosting",
        brand="WHG", service_type=tpb.SERVICE_TYPE_SHARED, issue_type=tpb.ISSUE_TYPE_TECHNICAL),
        "customer")
    return tickets("AssignTicket", tpb.AssignTicketRequest(ticket_id=t.id, owner_id="agent-1"), "lead")


def consent(t, scope, words):
    return tickets("RecordConsent", tpb.RecordConsentRequest(ticket_id=t.id, scope=scope, customer_words=words))


def records(t):
    return tickets("ListInternalRecords", tpb.ListInternalRecordsRequest(ticket_id=t.id)).records


def show(step, what, r):
    extra = []
    if r.consent_id:
        extra.append(f"consent #{r.consent_id}")
    if r.escalation_department:
        extra.append(f"escalated to {r.escalation_department} (routing #{r.routing_escalation_id})")
    if r.attachment_id:
        extra.append(f"attachment #{r.attachment_id}")
    if r.cleanup:
        extra.append(f"owes {name(pb.ServiceActionCleanup, r.cleanup, 'SERVICE_ACTION_CLEANUP_')}"
                     + (" (recorded)" if r.cleanup_time_us else ""))
    print(f"  {step:<3} {what:<48} -> action #{r.id} "
          f"{name(pb.ServiceActionOutcome, r.outcome, 'SERVICE_ACTION_OUTCOME_')} "
          f"rule {r.rule_id}; internal record #{r.internal_record_id}"
          + ("; " + ", ".join(extra) if extra else "")
          + (f"; pending: {r.last_error}" if r.last_error else ""), flush=True)


def test_a_dns_change_is_refused_without_consent_then_recorded_with_it():
    print("a DNS change on a shared service:")
    t = ticket("walk-sa-dns", "My domain points to the old server")
    req = pb.RecordServiceActionRequest(
        idempotency_key="walk-dns-1", ticket_id=t.id, uid=UID, service_id=_ctx["svc"][pb.HOSTING_TYPE_SHARED],
        action=pb.SERVICE_ACTION_CHANGE_DNS, outcome=pb.SERVICE_ACTION_OUTCOME_DONE,
        description="A record of walk-host.example.com: 192.0.2.1 -> 192.0.2.7")
    msg = refused("RecordServiceAction", req, grpc.StatusCode.FAILED_PRECONDITION)
    print(f"  1a  RecordServiceAction CHANGE_DNS, no consent yet -> FAILED_PRECONDITION: {msg}")
    c = consent(t, tpb.CONSENT_SCOPE_SERVICE_CHANGE, "Yes, please point my domain to the new server.")
    print(f"  1b  RecordConsent SERVICE_CHANGE on ticket #{t.id} -> consent #{c.id}")
    r = call("RecordServiceAction", req)
    show("1c", "RecordServiceAction CHANGE_DNS, with it", r)
    again = call("RecordServiceAction", req)
    show("1d", "the same call again (a retry)", again)
    rec = records(t)
    print(f"  1e  ticket #{t.id} internal records: {len(rec)}: {rec[0].body.splitlines()[0]}")
    assert r.consent_id == c.id and again.id == r.id and len(rec) == 1


def test_a_restart_on_unmanaged_is_refused_while_reachable_then_escalated():
    print("a restart of an unmanaged server:")
    t = ticket("walk-sa-restart", "Please restart my server")
    req = pb.RecordServiceActionRequest(
        idempotency_key="walk-restart-1", ticket_id=t.id, uid=UID,
        service_id=_ctx["svc"][pb.HOSTING_TYPE_UNMANAGED], action=pb.SERVICE_ACTION_RESTART_SERVER,
        description="The customer asks for a restart; the site answers")
    msg = refused("RecordServiceAction", req, grpc.StatusCode.FAILED_PRECONDITION)
    print(f"  2a  RecordServiceAction RESTART_SERVER, customer reaches it -> FAILED_PRECONDITION: {msg}")
    req.modifier = pb.SERVICE_ACTION_MODIFIER_CUSTOMER_CANNOT_REACH_SERVER
    req.description = "The customer cannot reach the server: ping and SSH time out"
    req.idempotency_key = "walk-restart-2"
    first = call("RecordServiceAction", req)
    show("2b", "RESTART_SERVER, customer cannot reach it", first)
    second = call("RecordServiceAction", req)
    show("2c", "the same call again", second)
    es = _ctx["routing"].ListEscalations(rpb.ListEscalationsRequest(ticket_id=t.id),
                                         metadata=_ctx["lead"], timeout=5).escalations
    for x in es:
        print(f"  2d  routing ListEscalations(ticket #{t.id}) -> #{x.id} {rpb.EscalationMode.Name(x.mode)} "
              f"to {x.to_department} by {x.created_by_role}")
    assert first.escalation_department == "INFRASTRUCTURE" and first.routing_escalation_id > 0
    assert [x.id for x in es] == [first.routing_escalation_id] == [second.routing_escalation_id]


def test_an_email_test_on_a_dummy_account_records_its_deletion():
    print("an email test on a dummy mailbox:")
    t = ticket("walk-sa-mail", "My emails bounce")
    c = consent(t, tpb.CONSENT_SCOPE_MAILBOX_TEST,
                "Don't use my mailbox, but you may create a temporary test mailbox.")
    print(f"  3a  RecordConsent MAILBOX_TEST on ticket #{t.id} -> consent #{c.id}")
    e = pb.EmailTest(target=pb.EMAIL_TEST_TARGET_CUSTOMER_GIVEN, target_address="agent-1@staff.example.com",
                     dummy_account="supporttest@walk-host.example.com", screenshot_filename="sent.png",
                     screenshot=PNG, result="Sent and received in 3 seconds; SPF passes")
    req = pb.RecordServiceActionRequest(
        idempotency_key="walk-mail-1", ticket_id=t.id, uid=UID, service_id=_ctx["svc"][pb.HOSTING_TYPE_SHARED],
        action=pb.SERVICE_ACTION_EMAIL_TEST_DUMMY_ACCOUNT, outcome=pb.SERVICE_ACTION_OUTCOME_DONE,
        description="Made supporttest@walk-host.example.com and sent a test mail", email_test=e)
    msg = refused("RecordServiceAction", req, grpc.StatusCode.FAILED_PRECONDITION)
    print(f"  3b  to the agent's own address -> FAILED_PRECONDITION: {msg}")
    req.email_test.target = pb.EMAIL_TEST_TARGET_SUPPORT_ADDRESS
    req.email_test.target_address = "emailtest@support.example.com"
    r = call("RecordServiceAction", req)
    show("3c", "to the designated support address", r)
    d = call("RecordServiceActionCleanup", pb.RecordServiceActionCleanupRequest(
        action_id=r.id, note="Deleted supporttest@walk-host.example.com in cPanel"))
    show("3d", "RecordServiceActionCleanup (dummy deleted)", d)
    att = tickets("ListAttachments", tpb.ListAttachmentsRequest(ticket_id=t.id)).attachments
    rec = records(t)
    print(f"  3e  ticket #{t.id}: attachments {[a.filename for a in att]}, internal records {len(rec)}:")
    for x in rec:
        print(f"        {x.body.splitlines()[0]}")
    assert r.attachment_id == att[0].id and d.cleanup_time_us > 0 and len(rec) == 2


def test_the_policy_table_as_check_service_action_answers_it():
    print("the policy table, as CheckServiceAction answers it:")
    rules = call("ListServiceActionRules", pb.ListServiceActionRulesRequest()).rules
    keys = [(r.hosting_type, r.action, r.modifier) for r in rules]
    print(f"  {'type':<10} {'action':<28} {'modifier':<28} {'verdict':<22} {'rule':<50} sop")
    n = 0
    for t in (pb.HOSTING_TYPE_SHARED, pb.HOSTING_TYPE_RESELLER, pb.HOSTING_TYPE_MANAGED,
              pb.HOSTING_TYPE_UNMANAGED):
        for a in range(pb.SERVICE_ACTION_CHANGE_CONFIGURATION, pb.SERVICE_ACTION_EMAIL_TEST_DUMMY_ACCOUNT + 1):
            mods = [0] + sorted(m for (kt, ka, m) in keys if kt == t and ka == a and m)
            for m in mods:
                d = call("CheckServiceAction", pb.CheckServiceActionRequest(
                    uid=UID, service_id=_ctx["svc"][t], action=a, modifier=m))
                v = name(pb.ServiceActionVerdict, d.verdict, "SERVICE_ACTION_VERDICT_")
                if d.verdict == pb.SERVICE_ACTION_VERDICT_ESCALATE:
                    v += " " + d.rule.department
                if d.verdict == pb.SERVICE_ACTION_VERDICT_NEEDS_CUSTOMER_CONSENT:
                    v = "CONSENT " + tpb.ConsentScope.Name(d.rule.consent_scope).replace("CONSENT_SCOPE_", "")
                print(f"  {name(pb.HostingType, t, 'HOSTING_TYPE_'):<10} "
                      f"{name(pb.ServiceAction, a, 'SERVICE_ACTION_'):<28} "
                      f"{name(pb.ServiceActionModifier, m, 'SERVICE_ACTION_MODIFIER_').replace('UNSPECIFIED', '-'):<28} "
                      f"{v:<22} {d.rule.rule_id:<50} {d.rule.sop_section}")
                assert d.rule.rule_id != "default-forbidden"
                n += 1
    print(f"  {n} rows; the table holds {len(rules)} rules")
    assert n == len(rules)


if __name__ == "__main__":
    sys.exit(hdserver.run_tests([
        test_a_dns_change_is_refused_without_consent_then_recorded_with_it,
        test_a_restart_on_unmanaged_is_refused_while_reachable_then_escalated,
        test_an_email_test_on_a_dummy_account_records_its_deletion,
        test_the_policy_table_as_check_service_action_answers_it], setup, teardown))
