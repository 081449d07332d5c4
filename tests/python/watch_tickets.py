#!/usr/bin/python3
"""WatchTickets, the ticket service's change feed, from Python's gRPC (Debian's python3-grpcio)
against the real helpdesk-tickets binary, printing the stream as an integrator sees it:

  1. a feed from now: a ticket created and assigned arrives as typed TicketEvents;
  2. the client disconnects after two events; while it is away the ticket is transferred,
     commented and another is opened (and another tenant's ticket, which it never sees);
  3. it resumes with after_event_id = the last event it got: every event written meanwhile, each
     once, in order, then a live one;
  4. a filtered feed (owner_id) and a customer refused.

Run: HD_BINARY_DIR=build /usr/bin/python3 tests/python/watch_tickets.py
with MariaDB and Redis from HELPDESK_DB_* / HELPDESK_REDIS_* (scripts/servers.sh prints them).
"""
import subprocess
import sys

import grpc

import hdserver
import hdstubs

hdstubs.load(["helpdesk/v1/common.proto", "helpdesk/v1/tickets.proto"])
from helpdesk.v1 import tickets_pb2 as pb  # noqa: E402
from helpdesk.v1 import tickets_pb2_grpc  # noqa: E402

_ctx = {}


def token(user, roles, tenant="acme"):
    out = subprocess.run([hdserver.binary("tools/hd-token"), "--tenant", tenant, "--user", user,
                          "--roles", roles, "--ttl", "10m"], check=True, capture_output=True, text=True)
    return [("authorization", "Bearer " + out.stdout.strip())]


def tickets(rpc, req, who):
    return getattr(_ctx["stub"], rpc)(req, metadata=_ctx[who], timeout=10)


def setup():
    svc = hdserver.Service("tickets", "pywatch").start()
    _ctx["svc"] = svc
    ch = grpc.insecure_channel(f"127.0.0.1:{svc.port}")
    _ctx.update(ch=ch, stub=tickets_pb2_grpc.TicketServiceStub(ch), agent=token("agent-1", "agent"),
                lead=token("lead-1", "agent,team_lead"), integrator=token("svc-crm", "service"),
                customer=token("cust-1", "customer"), globex=token("agent-9", "agent", "globex"))
    hdserver.until(lambda: tickets("ListTickets", pb.ListTicketsRequest(), "agent"), grpc.RpcError)


def teardown():
    if "ch" in _ctx:
        _ctx["ch"].close()
    if "svc" in _ctx:
        rc = _ctx["svc"].stop()
        print(f"  helpdesk-tickets stopped with exit status {rc}")
        _ctx["svc"].cleanup()


def create(who, subject, department=""):
    _ctx["n"] = _ctx.get("n", 0) + 1
    return tickets("CreateTicket", pb.CreateTicketRequest(
        idempotency_key=f"watch-{_ctx['n']}", customer_id="cust-1", subject=subject,
        description="Every mail to the shop bounces since noon.", service_type=pb.SERVICE_TYPE_SHARED,
        issue_type=pb.ISSUE_TYPE_TECHNICAL, department=department), who)


def show(e):
    t = e.ticket
    changes = ", ".join(f"{c.field} {c.old_value or '-'} -> {c.new_value or '-'}" for c in e.changes)
    print(f"    {e.event_id:<28} {pb.TicketEventType.Name(e.type):<34} ticket #{e.ticket_id} "
          f"v{e.version} by {e.actor_id}: {pb.TicketStatus.Name(t.status).replace('TICKET_STATUS_', '')} "
          f"owner={t.owner_id or '-'} dept={t.department or '-'}" + (f" [{changes}]" if changes else ""),
          flush=True)


def watch(who, timeout=30, **req):
    return _ctx["stub"].WatchTickets(pb.WatchTicketsRequest(**req), metadata=_ctx[who], timeout=timeout)


def read(stream, n):
    out = []
    for e in stream:
        show(e)
        out.append(e)
        if len(out) == n:
            break
    return out


def start_of_feed():
    """The event id of a marker ticket's creation, read from a feed opened from now: the walk's
    feeds start right after it. A feed from now starts at the newest event when the server opens
    it, so a marker written before that is not in it: then another marker, on a new feed."""
    for attempt in range(10):
        s = watch("integrator", timeout=3)
        t = create("agent", f"Marker {attempt}")
        try:
            first = next(iter(s))
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.DEADLINE_EXCEEDED, e
            continue
        s.cancel()
        assert first.ticket_id == t.id
        return first.event_id
    raise AssertionError("no feed from now ever showed its marker")


def test_a_feed_resumed_after_a_disconnect_loses_and_repeats_nothing():
    print("a feed, a disconnect, and a resume from the last event received:")
    start = start_of_feed()
    s = watch("integrator", after_event_id=start)
    a = create("agent", "Mail bounces", "TECHNICAL")
    tickets("AssignTicket", pb.AssignTicketRequest(ticket_id=a.id, owner_id="agent-1"), "lead")
    print(f"  1  CreateTicket #{a.id}, AssignTicket to agent-1; the feed (after {start}):")
    got = read(s, 2)
    s.cancel()
    last = got[-1].event_id
    print(f"  2  the client disconnects after {last}; meanwhile:")
    tickets("TransferTicket", pb.TransferTicketRequest(ticket_id=a.id, new_owner_id="agent-3",
                                                      department="BILLING",
                                                      note="An invoice problem, not mail."), "lead")
    tickets("AddComment", pb.AddCommentRequest(ticket_id=a.id, body="Moved to billing."), "lead")
    b = create("agent", "Invoice twice", "BILLING")
    create("globex", "Globex's own")
    print(f"     TransferTicket #{a.id} to agent-3 in BILLING, AddComment, CreateTicket #{b.id}, and a globex ticket")
    print(f"  3  WatchTickets after_event_id={last}:")
    s = watch("integrator", after_event_id=last)
    resumed = read(s, 3)
    tickets("AssignTicket", pb.AssignTicketRequest(ticket_id=b.id, owner_id="agent-2"), "lead")
    print("     and live:")
    resumed += read(s, 1)
    s.cancel()
    ids = [int(e.event_id.rsplit("-", 1)[1]) for e in got + resumed]
    assert ids == sorted(set(ids)), f"repeated or out of order: {ids}"
    assert [e.type for e in resumed] == [pb.TICKET_EVENT_TYPE_TRANSFERRED, pb.TICKET_EVENT_TYPE_COMMENTED,
                                         pb.TICKET_EVENT_TYPE_CREATED, pb.TICKET_EVENT_TYPE_ASSIGNED]
    assert all(e.ticket.tenant == "acme" for e in got + resumed)
    _ctx.update(start=start, a=a.id, b=b.id)


def test_a_feed_filtered_by_owner_and_a_customer_refused():
    print("filtered by owner_id=agent-2, from the start of the walk:")
    s = watch("integrator", after_event_id=_ctx["start"], owner_id="agent-2")
    got = read(s, 1)
    s.cancel()
    assert got[0].ticket_id == _ctx["b"] and got[0].ticket.owner_id == "agent-2"
    try:
        next(iter(watch("customer")))
        raise AssertionError("a customer was served the feed")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.PERMISSION_DENIED, e
        print(f"  a customer -> PERMISSION_DENIED: {e.details()}")
    try:
        next(iter(watch("integrator", after_event_id="tickets-000000000000-7")))
        raise AssertionError("another database's event id was accepted")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.FAILED_PRECONDITION, e
        print(f"  another database's event id -> FAILED_PRECONDITION: {e.details()}")


if __name__ == "__main__":
    sys.exit(hdserver.run_tests([
        test_a_feed_resumed_after_a_disconnect_loses_and_repeats_nothing,
        test_a_feed_filtered_by_owner_and_a_customer_refused], setup, teardown))
