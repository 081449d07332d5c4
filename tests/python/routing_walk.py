#!/usr/bin/python3
"""An escalation and a shift hand-over, walked from Python's gRPC (Debian's python3-grpcio)
against the real helpdesk-tickets and helpdesk-routing binaries (routing calls the ticket service
with its own service token). Agent agent-2 claims the oldest of two waiting tickets (a retry
with the same key returns the same claim), renews the lease, consults Billing (the ticket stays,
an internal note carries the thread link) and releases it. Agent agent-1 owns two tickets; they escalate one to BILLING (ASSIGN:
the customer is told by the tenant's template), Billing resolves it (the customer is told again),
they escalate the other to Level 2 with the investigation note; going off duty without a note for
every open ticket is refused and moves nothing; with the notes, each ticket moves to its team and
agent-1 is OFF_DUTY. The customer-visible comments are printed as the ticket service has them.

Run: HD_BINARY_DIR=build /usr/bin/python3 tests/python/routing_walk.py
with MariaDB and Redis from HELPDESK_DB_* / HELPDESK_REDIS_* (scripts/servers.sh prints them).
"""
import os
import shutil
import subprocess
import sys

import grpc

import hdserver
import hdstubs

hdstubs.load(["helpdesk/v1/common.proto", "helpdesk/v1/tickets.proto", "helpdesk/v1/routing.proto"])
from helpdesk.v1 import routing_pb2 as rpb  # noqa: E402
from helpdesk.v1 import routing_pb2_grpc  # noqa: E402
from helpdesk.v1 import tickets_pb2 as pb  # noqa: E402
from helpdesk.v1 import tickets_pb2_grpc  # noqa: E402

_ctx = {}


def token(user, roles):
    out = subprocess.run([hdserver.binary("tools/hd-token"), "--tenant", "acme", "--user", user,
                          "--roles", roles, "--ttl", "10m"], check=True, capture_output=True, text=True)
    return [("authorization", "Bearer " + out.stdout.strip())]


def ready(call):
    """call() until it answers: a service still starting (RpcError), or a ticket not yet in its
    queue (AssertionError from the caller's check), for up to 20 s."""
    return hdserver.until(call, (grpc.RpcError, AssertionError))


def register_agent(agent_id, department):
    _ctx["routing"].UpsertAgent(rpb.UpsertAgentRequest(agent_id=agent_id, departments=[department],
                                                       level=rpb.AGENT_LEVEL_L1),
                                metadata=_ctx["sup"], timeout=5)


def setup():
    tsvc = hdserver.Service("tickets", "rwalkt").start()
    rsvc = hdserver.Service("routing", "rwalkr",
                            {"HELPDESK_TICKETS_TARGET": f"127.0.0.1:{tsvc.port}"}).start()
    tch = grpc.insecure_channel(f"127.0.0.1:{tsvc.port}")
    rch = grpc.insecure_channel(f"127.0.0.1:{rsvc.port}")
    _ctx.update(tsvc=tsvc, rsvc=rsvc, tch=tch, rch=rch,
                tickets=tickets_pb2_grpc.TicketServiceStub(tch),
                routing=routing_pb2_grpc.RoutingServiceStub(rch),
                customer=token("cust-1", "customer"), agent=token("agent-1", "agent"),
                lead=token("lead-1", "agent,team_lead"), sup=token("sup-1", "agent,supervisor"),
                billing=token("billing-1", "agent"), agent2=token("agent-2", "agent"))
    ready(lambda: _ctx["tickets"].ListTickets(pb.ListTicketsRequest(), metadata=_ctx["agent"], timeout=5))
    ready(lambda: _ctx["routing"].GetRoutingSettings(rpb.GetRoutingSettingsRequest(),
                                                     metadata=_ctx["agent"], timeout=5))
    register_agent("agent-1", "TECHNICAL")
    register_agent("billing-1", "BILLING")
    register_agent("agent-2", "TECHNICAL")


def teardown():
    for ch in ("tch", "rch"):
        _ctx[ch].close()
    for svc in ("rsvc", "tsvc"):
        rc = _ctx[svc].stop()
        print(f"  helpdesk-{_ctx[svc].svc} stopped with exit status {rc}")
        _ctx[svc].cleanup()


def owned_ticket(key, subject, issue):
    t = _ctx["tickets"].CreateTicket(pb.CreateTicketRequest(
        idempotency_key=key, subject=subject, description=subject, product="Shared Hosting Pro",
        brand="Acme Hosting", service_type=pb.SERVICE_TYPE_SHARED, issue_type=issue),
        metadata=_ctx["customer"], timeout=5)
    return _ctx["tickets"].AssignTicket(pb.AssignTicketRequest(ticket_id=t.id, owner_id="agent-1",
                                                               department="TECHNICAL"),
                                        metadata=_ctx["lead"], timeout=5)


def print_comments(tid):
    cs = _ctx["tickets"].ListComments(pb.ListCommentsRequest(ticket_id=tid), metadata=_ctx["customer"],
                                      timeout=5)
    print(f"  customer-visible comments on ticket #{tid} (read by the customer):")
    for c in cs.comments:
        print(f"    [{c.author_id}/{c.author_role}] {c.body}")
    return [c.body for c in cs.comments]


def test_a_claim_takes_the_oldest_and_a_consult_leaves_it_in_place():
    print("claim and consult:")
    ids = [_ctx["tickets"].CreateTicket(pb.CreateTicketRequest(
        idempotency_key=f"rwalk-c{i}", subject=subject, description=subject,
        service_type=pb.SERVICE_TYPE_SHARED, issue_type=pb.ISSUE_TYPE_TECHNICAL),
        metadata=_ctx["customer"], timeout=5).id
        for i, subject in enumerate(["Site shows a 500 error", "FTP login refused"])]
    agent = _ctx["agent2"]
    _ctx["routing"].SetPresence(rpb.SetPresenceRequest(presence=rpb.PRESENCE_AVAILABLE), metadata=agent,
                                timeout=5)
    c = ready(lambda: _claimed(_ctx["routing"].ClaimNext(
        rpb.ClaimNextRequest(lease_seconds=600, idempotency_key="a2-shift-1"), metadata=agent,
        timeout=5)))
    print(f"  ClaimNext by agent-2 -> ticket #{c.ticket_id} from {c.department}, fence {c.fence}, "
          f"ticket version {c.ticket_version}")
    assert c.ticket_id == ids[0], "the oldest ticket comes first"
    again = _ctx["routing"].ClaimNext(rpb.ClaimNextRequest(lease_seconds=600, idempotency_key="a2-shift-1"),
                                      metadata=agent, timeout=5).claim
    print(f"  ClaimNext again with the same key -> ticket #{again.ticket_id}, fence {again.fence}")
    assert (again.ticket_id, again.fence) == (c.ticket_id, c.fence)
    r = _ctx["routing"].RenewClaim(rpb.RenewClaimRequest(ticket_id=c.ticket_id, fence=c.fence,
                                                         lease_seconds=600), metadata=agent, timeout=5)
    print(f"  RenewClaim -> lease until {r.expire_time_us} (was {c.expire_time_us})")
    e = _ctx["routing"].EscalateToDepartment(rpb.EscalateToDepartmentRequest(
        ticket_id=c.ticket_id, department="BILLING", mode=rpb.ESCALATION_MODE_CONSULT,
        context="Customer says the 500 started after the invoice was paid late",
        thread_link="https://chat.example.test/billing/thread/981", idempotency_key="esc-981"),
        metadata=agent, timeout=5)
    t = _ctx["tickets"].GetTicket(pb.GetTicketRequest(ticket_id=c.ticket_id), metadata=agent, timeout=5)
    print(f"  EscalateToDepartment CONSULT -> escalation #{e.id} {rpb.EscalationStatus.Name(e.status)}; "
          f"ticket stays in {t.department}, owner {t.owner_id}")
    assert t.department == "TECHNICAL" and t.owner_id == "agent-2"
    recs = _ctx["tickets"].ListInternalRecords(pb.ListInternalRecordsRequest(ticket_id=c.ticket_id),
                                               metadata=agent, timeout=5)
    for rec in recs.records:
        body = rec.body.replace("\n", " | ")
        print(f"    internal record [{rec.author_id}]: {body}")
    assert any("thread/981" in rec.body for rec in recs.records)
    rel = _ctx["routing"].ReleaseClaim(rpb.ReleaseClaimRequest(ticket_id=c.ticket_id, fence=c.fence),
                                       metadata=agent, timeout=5)
    print(f"  ReleaseClaim -> ticket #{rel.ticket_id} back in {rel.department}'s queue")
    assert rel.department == "TECHNICAL"


def _claimed(resp):
    if not resp.HasField("claim"):
        raise AssertionError(f"nothing to claim yet: {resp.message}")
    return resp.claim


def test_an_escalation_to_billing_tells_the_customer_twice():
    print("escalation:")
    t = owned_ticket("rwalk-1", "Charged twice for the renewal", pb.ISSUE_TYPE_TECHNICAL)
    _ctx["t1"] = t.id
    e = _ctx["routing"].EscalateToDepartment(rpb.EscalateToDepartmentRequest(
        ticket_id=t.id, department="BILLING", mode=rpb.ESCALATION_MODE_ASSIGN,
        context="Customer was charged twice on renewal; invoice 2211",
        thread_link="https://chat.example.test/billing/thread/17"), metadata=_ctx["agent"], timeout=5)
    print(f"  EscalateToDepartment ASSIGN -> escalation #{e.id} {rpb.EscalationStatus.Name(e.status)} "
          f"{e.from_department} -> {e.to_department}, window {e.response_window_seconds} s")
    now = _ctx["tickets"].GetTicket(pb.GetTicketRequest(ticket_id=t.id), metadata=_ctx["lead"], timeout=5)
    print(f"  ticket #{t.id} department is now {now.department}, owner {now.owner_id}")
    assert now.department == "BILLING"
    r = _ctx["routing"].ResolveEscalation(rpb.ResolveEscalationRequest(
        escalation_id=e.id, outcome=rpb.ESCALATION_OUTCOME_RESOLVED,
        resolution="the duplicate charge was refunded to the card"), metadata=_ctx["billing"], timeout=5)
    print(f"  ResolveEscalation by billing-1 -> {rpb.EscalationStatus.Name(r.status)}")
    bodies = print_comments(t.id)
    assert len(bodies) == 2 and "BILLING team" in bodies[0] and "refunded" in bodies[1]


def test_level2_needs_the_investigation_note():
    print("level 2:")
    t = owned_ticket("rwalk-2", "Login fails after password reset", pb.ISSUE_TYPE_ACCOUNT)
    _ctx["t2"] = t.id
    try:
        _ctx["routing"].EscalateToLevel2(rpb.EscalateToLevel2Request(ticket_id=t.id, note="   "),
                                         metadata=_ctx["agent"], timeout=5)
        raise AssertionError("a blank Level 2 note was accepted")
    except grpc.RpcError as e:
        print(f"  EscalateToLevel2 with a blank note -> {e.code().name}: {e.details()}")
        assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
    try:
        _ctx["tickets"].TransferTicket(pb.TransferTicketRequest(ticket_id=t.id, new_owner_id="agent-2",
                                                                department="ESCALATED"),
                                       metadata=_ctx["agent"], timeout=5)
        raise AssertionError("TransferTicket to ESCALATED without a note was accepted")
    except grpc.RpcError as e:
        print(f"  TransferTicket to ESCALATED without a note -> {e.code().name}: {e.details()}")
        assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    r = _ctx["routing"].EscalateToLevel2(rpb.EscalateToLevel2Request(
        ticket_id=t.id, note="Reset token is accepted but the session cookie is dropped; "
                             "reproduced in two browsers"), metadata=_ctx["agent"], timeout=5)
    print(f"  EscalateToLevel2 with the note -> escalation #{r.escalation.id}, ticket in {r.ticket.department}")
    assert r.ticket.department == "ESCALATED"


def test_a_hand_over_without_every_note_moves_nothing_then_moves_each_to_its_team():
    print("hand-over:")
    t3 = owned_ticket("rwalk-3", "Card binding fails", pb.ISSUE_TYPE_BILLING)
    notes = [rpb.HandOverNote(ticket_id=_ctx["t1"], note="Billing refunded; confirm with the customer"),
             rpb.HandOverNote(ticket_id=_ctx["t2"], note="With Level 2; cookie issue, see internal note")]
    try:
        _ctx["routing"].HandOverShift(rpb.HandOverShiftRequest(notes=notes), metadata=_ctx["agent"],
                                      timeout=10)
        raise AssertionError("a hand-over with a missing note was accepted")
    except grpc.RpcError as e:
        print(f"  HandOverShift missing a note -> {e.code().name}: {e.details()}")
        assert e.code() == grpc.StatusCode.FAILED_PRECONDITION and str(t3.id) in e.details()
    still = _ctx["tickets"].GetTicket(pb.GetTicketRequest(ticket_id=t3.id), metadata=_ctx["lead"], timeout=5)
    assert still.department == "TECHNICAL"
    notes.append(rpb.HandOverNote(ticket_id=t3.id, note="Asked for the exact error message; none yet"))
    r = _ctx["routing"].HandOverShift(rpb.HandOverShiftRequest(notes=notes, idempotency_key="shift-1"),
                                      metadata=_ctx["agent"], timeout=10)
    print(f"  HandOverShift -> hand-over #{r.hand_over.id}, agent-1 is "
          f"{rpb.Presence.Name(r.agent.presence)}")
    for it in r.hand_over.items:
        print(f"    ticket #{it.ticket_id} -> {it.department:<10} by rule {it.rule:<14} "
              f"({pb.TicketStatus.Name(it.status_at_hand_over)}): {it.note}")
    assert r.agent.presence == rpb.PRESENCE_OFF_DUTY
    g = _ctx["routing"].GetHandOver(rpb.GetHandOverRequest(from_agent_id="agent-1"),
                                    metadata=_ctx["lead"], timeout=5)
    print("  GetHandOver for the next shift (oldest first):")
    for it in g.items:
        print(f"    #{it.ticket_id} {it.department:<10} now {pb.TicketStatus.Name(it.current_status)}")
    assert [it.ticket_id for it in g.items] == sorted(it.ticket_id for it in g.items)
    for tid in (_ctx["t1"], _ctx["t2"], t3.id):
        print_comments(tid)


if __name__ == "__main__":
    sys.exit(hdserver.run_tests([
        test_a_claim_takes_the_oldest_and_a_consult_leaves_it_in_place,
        test_an_escalation_to_billing_tells_the_customer_twice,
        test_level2_needs_the_investigation_note,
        test_a_hand_over_without_every_note_moves_nothing_then_moves_each_to_its_team], setup, teardown))
