#!/usr/bin/python3
"""Verify the customer's account and service before working a ticket (the WHG SOP, 1.3 and 4),
walked from Python's gRPC (Debian's python3-grpcio) against the real helpdesk-tickets and
helpdesk-accounts binaries, each step printing what the services answered:

  1. a ticket whose owner's reply is refused until the account is verified, then allowed: the
     acknowledgement goes out, a proposed solution is refused, a verification of a domain the
     customer does not hold is recorded as a "no" (still refused), a verification of the domain
     they hold opens the replies, and the proposed solution goes out;
  2. a deleted account: recorded as a "no", the replies stay refused;
  3. the accounts service down: VerifyTicketAccount is UNAVAILABLE naming it, nothing recorded;
  4. the ticket's history with its VERIFY_ACCOUNT entries.

Run: HD_BINARY_DIR=build /usr/bin/python3 tests/python/verify_walk.py
with MariaDB and Redis from HELPDESK_DB_* / HELPDESK_REDIS_* (scripts/servers.sh prints them).
"""
import subprocess
import sys
import time

import grpc

import hdserver
import hdstubs

hdstubs.load(["helpdesk/v1/common.proto", "helpdesk/v1/accounts.proto", "helpdesk/v1/tickets.proto"])
from helpdesk.v1 import accounts_pb2 as apb  # noqa: E402
from helpdesk.v1 import accounts_pb2_grpc  # noqa: E402
from helpdesk.v1 import tickets_pb2 as pb  # noqa: E402
from helpdesk.v1 import tickets_pb2_grpc  # noqa: E402

_ctx = {}


def token(user, roles):
    out = subprocess.run([hdserver.binary("tools/hd-token"), "--tenant", "acme", "--user", user,
                          "--roles", roles, "--ttl", "10m"], check=True, capture_output=True, text=True)
    return [("authorization", "Bearer " + out.stdout.strip())]


def tickets(rpc, req, who):
    return getattr(_ctx["tickets"], rpc)(req, metadata=_ctx[who], timeout=10)


def accounts(rpc, req):
    return getattr(_ctx["accounts"], rpc)(req, metadata=_ctx["console"], timeout=5)


def refused(rpc, req, who, code):
    try:
        tickets(rpc, req, who)
    except grpc.RpcError as e:
        assert e.code() == code, f"{rpc}: want {code.name}, got {e.code().name}: {e.details()}"
        return e.details()
    raise AssertionError(f"{rpc} was accepted")


def status(s):
    return pb.TicketStatus.Name(s).replace("TICKET_STATUS_", "")


def reason(r):
    return pb.AccountVerificationReason.Name(r).replace("ACCOUNT_VERIFICATION_REASON_", "")


def ready(call):
    deadline = time.monotonic() + 20
    while True:
        try:
            return call()
        except grpc.RpcError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def setup():
    asvc = hdserver.Service("accounts", "pyverifya").start()
    _ctx["asvc"] = asvc
    tsvc = hdserver.Service("tickets", "pyverifyt",
                            {"HELPDESK_ACCOUNTS_TARGET": f"127.0.0.1:{asvc.port}",
                             "HELPDESK_PEER_ATTEMPTS": "2"}).start()
    _ctx["tsvc"] = tsvc
    ach = grpc.insecure_channel(f"127.0.0.1:{asvc.port}")
    tch = grpc.insecure_channel(f"127.0.0.1:{tsvc.port}")
    _ctx.update(ach=ach, tch=tch, accounts=accounts_pb2_grpc.AccountServiceStub(ach),
                tickets=tickets_pb2_grpc.TicketServiceStub(tch), console=token("svc-console", "service"),
                agent=token("agent-1", "agent"), lead=token("lead-1", "agent,team_lead"),
                customer=token("sg-shop", "customer"), gone=token("sg-gone", "customer"))
    ready(lambda: tickets("ListTickets", pb.ListTicketsRequest(), "agent"))
    # The accounts service answers NOT_SERVING (UNAVAILABLE) until its migrations ran.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            accounts("GetAccount", apb.GetAccountRequest(uid="nobody"))
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND:
                break
            time.sleep(0.1)


def teardown():
    for ch in ("ach", "tch"):
        if ch in _ctx:
            _ctx[ch].close()
    for svc in ("tsvc", "asvc"):
        if svc in _ctx:
            rc = _ctx[svc].stop()
            print(f"  helpdesk-{_ctx[svc].svc} stopped with exit status {rc}")
            _ctx[svc].cleanup()


def ticket_for(customer, subject):
    t = tickets("CreateTicket", pb.CreateTicketRequest(
        idempotency_key=f"verify-walk-{customer}", subject=subject,
        description="Since this morning the shop answers 500 on every page.", product="Web Hosting",
        brand="Acme Host", service_type=pb.SERVICE_TYPE_SHARED, issue_type=pb.ISSUE_TYPE_TECHNICAL),
        customer)
    return tickets("AssignTicket", pb.AssignTicketRequest(ticket_id=t.id, owner_id="agent-1"), "lead")


def reply(id_, intent, body):
    return pb.ReplyToTicketRequest(ticket_id=id_, intent=intent, body=body)


def verify(id_, **what):
    return tickets("VerifyTicketAccount", pb.VerifyTicketAccountRequest(ticket_id=id_, **what), "agent")


def show_verification(step, what, r):
    v = r.verification
    print(f"  {step:<3} {what:<52} -> verification #{v.id} verified={v.verified} {reason(v.reason)} "
          f"(ticket v{r.ticket.version}): {v.message}", flush=True)


def test_the_owners_reply_is_refused_until_the_account_is_verified_then_allowed():
    print("a reply refused until the account is verified, then allowed:")
    accounts("CreateAccount", apb.CreateAccountRequest(
        uid="sg-shop", region="SG", type=apb.ACCOUNT_TYPE_PERSONAL, real_name_verified=True,
        email="sg-shop@example.com"))
    s = accounts("AddService", apb.AddServiceRequest(uid="sg-shop", kind=apb.HELD_SERVICE_KIND_DOMAIN,
                                                     domain="lion-shop.example"))
    print(f"  1a  accounts: sg-shop holds DOMAIN {s.domain} (service #{s.id})")
    settings = tickets("GetTenantSettings", pb.GetTenantSettingsRequest(), "agent")
    print(f"  1b  GetTenantSettings -> account_verification_optional={settings.account_verification_optional}")
    assert not settings.account_verification_optional
    t = ticket_for("customer", "My shop answers 500")
    _ctx["id"] = t.id
    print(f"  1c  CreateTicket by sg-shop, AssignTicket to agent-1 -> #{t.id} {status(t.status)} v{t.version}")
    r = tickets("ReplyToTicket", reply(t.id, pb.REPLY_INTENT_ACKNOWLEDGE, "I am looking into it now."), "agent")
    print(f"  1d  ReplyToTicket ACKNOWLEDGE by agent-1 -> {status(r.ticket.status)} v{r.ticket.version}")
    assert r.ticket.status == pb.TICKET_STATUS_PROCESSING
    proposal = reply(t.id, pb.REPLY_INTENT_PROPOSE_SOLUTION, "PHP was reset to 7.4 by the deploy; set it to 8.2.")
    msg = refused("ReplyToTicket", proposal, "agent", grpc.StatusCode.FAILED_PRECONDITION)
    print(f"  1e  ReplyToTicket PROPOSE_SOLUTION -> FAILED_PRECONDITION: {msg}")
    assert "must be verified first (VerifyTicketAccount)" in msg
    r = verify(t.id, domain="other-shop.example")
    show_verification("1f", "VerifyTicketAccount domain other-shop.example", r)
    assert not r.verification.verified and r.verification.reason == pb.ACCOUNT_VERIFICATION_REASON_NOT_HELD
    msg = refused("ReplyToTicket", proposal, "agent", grpc.StatusCode.FAILED_PRECONDITION)
    print(f"  1g  ReplyToTicket PROPOSE_SOLUTION -> FAILED_PRECONDITION: {msg}")
    r = verify(t.id, domain="lion-shop.example")
    show_verification("1h", "VerifyTicketAccount domain lion-shop.example", r)
    assert r.verification.verified and r.verification.matched_service_id == s.id
    g = tickets("GetAccountVerification", pb.GetAccountVerificationRequest(ticket_id=t.id), "agent")
    print(f"  1i  GetAccountVerification -> latest #{g.latest.id} verified={g.latest.verified} by "
          f"{g.latest.verified_by}, required={g.required}, replies_allowed={g.replies_allowed}")
    assert g.replies_allowed
    r = tickets("ReplyToTicket", proposal, "agent")
    print(f"  1j  ReplyToTicket PROPOSE_SOLUTION -> {status(r.ticket.status)} v{r.ticket.version} "
          f"(comment #{r.comment.id})")
    assert r.ticket.status == pb.TICKET_STATUS_PENDING_FEEDBACK


def test_a_deleted_account_is_recorded_as_a_no():
    print("a deleted account:")
    accounts("CreateAccount", apb.CreateAccountRequest(
        uid="sg-gone", region="SG", type=apb.ACCOUNT_TYPE_PERSONAL, real_name_verified=True,
        email="sg-gone@example.com"))
    _ctx["accounts"].DeleteAccount(apb.DeleteAccountRequest(uid="sg-gone"), metadata=_ctx["gone"], timeout=5)
    print("  2a  accounts: sg-gone created, then deleted by the customer")
    t = ticket_for("gone", "Restore my site please")
    r = verify(t.id, domain="gone-shop.example")
    show_verification("2b", "VerifyTicketAccount domain gone-shop.example", r)
    assert not r.verification.verified and r.verification.reason == pb.ACCOUNT_VERIFICATION_REASON_ACCOUNT_DELETED
    msg = refused("ReplyToTicket", reply(t.id, pb.REPLY_INTENT_FINAL_ANSWER, "Restored."), "agent",
                  grpc.StatusCode.FAILED_PRECONDITION)
    print(f"  2c  ReplyToTicket FINAL_ANSWER -> FAILED_PRECONDITION: {msg}")


def test_the_accounts_service_down_is_unavailable_and_records_nothing():
    print("the accounts service down:")
    id_ = _ctx["id"]
    before = tickets("GetTicket", pb.GetTicketRequest(ticket_id=id_), "agent").version
    rc = _ctx["asvc"].stop()
    print(f"  3a  helpdesk-accounts stopped (exit status {rc})")
    msg = refused("VerifyTicketAccount", pb.VerifyTicketAccountRequest(ticket_id=id_, domain="lion-shop.example"),
                  "agent", grpc.StatusCode.UNAVAILABLE)
    print(f"  3b  VerifyTicketAccount -> UNAVAILABLE: {msg}")
    after = tickets("GetTicket", pb.GetTicketRequest(ticket_id=id_), "agent").version
    print(f"  3c  ticket #{id_} version {before} before, {after} after: nothing recorded")
    assert "the accounts service" in msg and before == after


def test_the_history_shows_the_verifications():
    print(f"history of ticket #{_ctx['id']}:")
    h = tickets("GetTicketHistory", pb.GetTicketHistoryRequest(ticket_id=_ctx["id"]), "agent")
    for e in h.entries:
        print(f"  {e.actor_id:<10} {e.action:<16} {e.field:<21} {e.from_value or '-'} -> {e.to_value}")
    assert sum(1 for e in h.entries if e.action == "VERIFY_ACCOUNT" and e.field == "account_verification") == 2


if __name__ == "__main__":
    sys.exit(hdserver.run_tests([
        test_the_owners_reply_is_refused_until_the_account_is_verified_then_allowed,
        test_a_deleted_account_is_recorded_as_a_no,
        test_the_accounts_service_down_is_unavailable_and_records_nothing,
        test_the_history_shows_the_verifications], setup, teardown))
