#!/usr/bin/python3
"""One ticket's whole life, walked from Python's gRPC (Debian's python3-grpcio) against the real
helpdesk-tickets binary: created PENDING_RESPONSE, assigned, acknowledged, information asked and
given, a solution proposed, then left unanswered: the timers send three follow-ups, move it to
TO_BE_CONFIRMED and close it by themselves. Each step prints what the service answered, and the
ticket's history is printed at the end.

The timers run on short settings here (follow-up every 1 s, auto-close after 2 s) so the walk
takes seconds; the rules are the same as with the defaults (24 h, 3 follow-ups, 3 days).

Run: HD_BINARY_DIR=build /usr/bin/python3 tests/python/ticket_walk.py
with MariaDB and Redis from HELPDESK_DB_* / HELPDESK_REDIS_* (scripts/servers.sh prints them).
"""
import subprocess
import sys
import time

import grpc

import hdserver
import hdstubs

hdstubs.load(["helpdesk/v1/common.proto", "helpdesk/v1/tickets.proto"])
from helpdesk.v1 import tickets_pb2 as pb  # noqa: E402
from helpdesk.v1 import tickets_pb2_grpc  # noqa: E402

TIMERS = {"HELPDESK_TICKETS_FOLLOW_UP_INTERVAL": "1s", "HELPDESK_TICKETS_FOLLOW_UPS": "3",
          "HELPDESK_TICKETS_AUTO_CLOSE_AFTER": "2s", "HELPDESK_TICKETS_TIMER_POLL": "50ms",
          "HELPDESK_TICKETS_TIMER_SWEEP": "1s"}
_ctx = {}


def token(user, roles):
    out = subprocess.run([hdserver.binary("tools/hd-token"), "--tenant", "acme", "--user", user,
                          "--roles", roles, "--ttl", "10m"], check=True, capture_output=True, text=True)
    return [("authorization", "Bearer " + out.stdout.strip())]


def status_name(s):
    return pb.TicketStatus.Name(s).replace("TICKET_STATUS_", "")


def show(step, what, t):
    print(f"  {step:<2} {what:<58} -> #{t.id} {status_name(t.status):<16} v{t.version} "
          f"owner={t.owner_id or '-'} follow_ups={t.follow_up_count}", flush=True)


def get(as_who="agent"):
    return _ctx["stub"].GetTicket(pb.GetTicketRequest(ticket_id=_ctx["id"]), metadata=_ctx[as_who], timeout=5)


def wait_for(pred, timeout=15.0):
    deadline = time.monotonic() + timeout
    t = get()
    while not pred(t) and time.monotonic() < deadline:
        time.sleep(0.05)
        t = get()
    return t


def setup():
    server = hdserver.Service("tickets", "pywalk", TIMERS).start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    grpc.channel_ready_future(channel).result(timeout=10)
    _ctx.update(server=server, channel=channel, stub=tickets_pb2_grpc.TicketServiceStub(channel),
                customer=token("cust-1", "customer"), agent=token("agent-1", "agent"),
                lead=token("lead-1", "agent,team_lead"))
    # The service answers NOT_SERVING until MariaDB and Redis answer and migrations ran.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            _ctx["stub"].ListTickets(pb.ListTicketsRequest(), metadata=_ctx["agent"], timeout=5)
            break
        except grpc.RpcError:
            time.sleep(0.1)
    # This walk is about the statuses and timers, not the account verification (verify_walk.py):
    # the tenant's replies go out without one.
    _ctx["stub"].UpdateTenantSettings(pb.UpdateTenantSettingsRequest(
        settings=pb.TenantSettings(account_verification_optional=True),
        update_mask={"paths": ["account_verification_optional"]}),
        metadata=token("admin-1", "tenant_admin"), timeout=5)


def teardown():
    _ctx["channel"].close()
    rc = _ctx["server"].stop()
    print(f"  helpdesk-tickets stopped with exit status {rc}")
    _ctx["server"].cleanup()


def test_a_customer_opens_a_ticket_and_it_is_pending_response():
    print("walk:")
    t = _ctx["stub"].CreateTicket(pb.CreateTicketRequest(
        idempotency_key="walk-1", subject="Emails to gmail.com bounce",
        description="Since yesterday every email to gmail.com comes back with 550.",
        product="Email Hosting", brand="Acme Mail", service_type=pb.SERVICE_TYPE_SHARED,
        issue_type=pb.ISSUE_TYPE_EMAIL), metadata=_ctx["customer"], timeout=5)
    _ctx["id"] = t.id
    show(1, "CreateTicket by the customer cust-1", t)
    assert t.status == pb.TICKET_STATUS_PENDING_RESPONSE


def test_the_owner_acknowledges_asks_and_the_customer_answers():
    s, id_ = _ctx["stub"], _ctx["id"]
    t = s.AssignTicket(pb.AssignTicketRequest(ticket_id=id_, owner_id="agent-1", department="email"),
                       metadata=_ctx["lead"], timeout=5)
    show(2, "AssignTicket to agent-1 by the team lead", t)
    assert t.owner_id == "agent-1" and t.status == pb.TICKET_STATUS_PENDING_RESPONSE
    r = s.ReplyToTicket(pb.ReplyToTicketRequest(ticket_id=id_, expected_version=t.version,
                                                intent=pb.REPLY_INTENT_ACKNOWLEDGE,
                                                body="I am checking the mail logs now."),
                        metadata=_ctx["agent"], timeout=5)
    show(3, "ReplyToTicket ACKNOWLEDGE by agent-1", r.ticket)
    assert r.ticket.status == pb.TICKET_STATUS_PROCESSING
    r = s.ReplyToTicket(pb.ReplyToTicketRequest(ticket_id=id_, intent=pb.REPLY_INTENT_REQUEST_INFO,
                                                body="Could you send one bounce message in full?"),
                        metadata=_ctx["agent"], timeout=5)
    show(4, "ReplyToTicket REQUEST_INFO", r.ticket)
    assert r.ticket.status == pb.TICKET_STATUS_PENDING_FEEDBACK and r.ticket.due_time_us > 0
    c = s.AddCustomerReply(pb.AddCustomerReplyRequest(ticket_id=id_, body="Here it is: 550 5.7.26 ..."),
                           metadata=_ctx["customer"], timeout=5)
    show(5, "AddCustomerReply by cust-1", c.ticket)
    assert c.ticket.status == pb.TICKET_STATUS_FEEDBACK and c.ticket.due_time_us == 0
    r = s.ReplyToTicket(pb.ReplyToTicketRequest(ticket_id=id_, intent=pb.REPLY_INTENT_PROPOSE_SOLUTION,
                                                body="Your domain has no DKIM record; add this TXT record."),
                        metadata=_ctx["agent"], timeout=5)
    show(6, "ReplyToTicket PROPOSE_SOLUTION (then silence)", r.ticket)
    assert r.ticket.status == pb.TICKET_STATUS_PENDING_FEEDBACK


def test_three_unanswered_follow_ups_move_it_to_to_be_confirmed():
    for n in (1, 2):
        t = wait_for(lambda t, n=n: t.follow_up_count >= n)
        show(6 + n, f"timer: follow-up {n} of 3 sent by the system", t)
        assert t.follow_up_count == n and t.status == pb.TICKET_STATUS_PENDING_FEEDBACK
    t = wait_for(lambda t: t.status != pb.TICKET_STATUS_PENDING_FEEDBACK)
    show(9, "timer: follow-up 3 of 3 unanswered", t)
    assert t.status == pb.TICKET_STATUS_TO_BE_CONFIRMED and t.follow_up_count == 3


def test_silence_in_to_be_confirmed_closes_it_by_itself():
    t = wait_for(lambda t: t.status == pb.TICKET_STATUS_CLOSED)
    show(10, "timer: auto-close after the configured silence", t)
    assert t.status == pb.TICKET_STATUS_CLOSED and t.close_time_us > 0


def test_the_customer_cannot_reply_to_the_closed_ticket():
    try:
        _ctx["stub"].AddCustomerReply(pb.AddCustomerReplyRequest(ticket_id=_ctx["id"], body="Still broken"),
                                      metadata=_ctx["customer"], timeout=5)
    except grpc.RpcError as e:
        print(f"  11 AddCustomerReply on the CLOSED ticket -> {e.code().name}: {e.details()}")
        assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    else:
        raise AssertionError("a reply to a CLOSED ticket was accepted")


def test_the_history_shows_every_change_with_who_and_when():
    h = _ctx["stub"].GetTicketHistory(pb.GetTicketHistoryRequest(ticket_id=_ctx["id"]),
                                      metadata=_ctx["agent"], timeout=5)
    print("history:")
    for e in h.entries:
        print(f"  {e.actor_id:<10} {e.action:<18} {e.field:<16} {e.from_value or '-'} -> {e.to_value or '-'}")
    actions = [e.action for e in h.entries]
    assert any(e.actor_id == "system" for e in h.entries)
    assert "AUTO_CLOSE" in actions


if __name__ == "__main__":
    sys.exit(hdserver.run_tests([
        test_a_customer_opens_a_ticket_and_it_is_pending_response,
        test_the_owner_acknowledges_asks_and_the_customer_answers,
        test_three_unanswered_follow_ups_move_it_to_to_be_confirmed,
        test_silence_in_to_be_confirmed_closes_it_by_itself,
        test_the_customer_cannot_reply_to_the_closed_ticket,
        test_the_history_shows_every_change_with_who_and_when], setup, teardown))
