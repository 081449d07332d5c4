#!/usr/bin/python3
"""The accounts service's procedures, walked from Python's gRPC (Debian's python3-grpcio) against
the real helpdesk-accounts binary, each step printing what the service answered:

  1. a lost phone on a card-paying account: internal approval, what to ask for, approved;
  2. a lost phone on a partner (distributor end-user) account paying by quota: the BD contact
     endorses inside the same approval before it can be approved;
  3. a deletion refused while an ECS subscription and a bill remain, then allowed;
  4. an enterprise upgrade by link: an expired link refused, a new one completed by the main
     account;
  5. a card's verification charge past its refund date: escalated once to the L2 consulting team
     through the real helpdesk-routing (pointed at a real helpdesk-tickets), however often asked.

Time runs on short settings here (the upgrade link lives 2 s, the card refund is expected 1 s
after binding) so the walk takes seconds; the rules are the same as with the defaults (3 days,
7 days).

Run: HD_BINARY_DIR=build /usr/bin/python3 tests/python/accounts_walk.py
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

SETTINGS = {"HELPDESK_ACCOUNTS_UPGRADE_LINK_TTL": "2s", "HELPDESK_ACCOUNTS_CARD_REFUND_AFTER": "1s"}
_ctx = {}


def token(user, roles):
    out = subprocess.run([hdserver.binary("tools/hd-token"), "--tenant", "acme", "--user", user,
                          "--roles", roles, "--ttl", "10m"], check=True, capture_output=True, text=True)
    return [("authorization", "Bearer " + out.stdout.strip())]


def call(rpc, req, who):
    return getattr(_ctx["stub"], rpc)(req, metadata=_ctx[who] if isinstance(who, str) else who, timeout=5)


def refused(rpc, req, who, code):
    try:
        call(rpc, req, who)
    except grpc.RpcError as e:
        assert e.code() == code, f"{rpc}: want {code.name}, got {e.code().name}: {e.details()}"
        return e.details()
    raise AssertionError(f"{rpc} was accepted")


def enum(e, v, prefix):
    return e.Name(v).replace(prefix, "")


def account(uid, region, verified=True, bd=""):
    return call("CreateAccount", pb.CreateAccountRequest(
        uid=uid, region=region, type=pb.ACCOUNT_TYPE_PERSONAL, real_name_verified=verified,
        bd_contact=bd, partner_name="Lion City Cloud Partners" if bd else "",
        email=f"{uid}@example.com"), "console")


def method(uid, kind, label=""):
    return call("AddPaymentMethod", pb.AddPaymentMethodRequest(uid=uid, type=kind, label=label), "console")


def setup():
    # The overdue refund is escalated through routing, which writes its note on the ticket.
    tsvc = hdserver.Service("tickets", "pyacctt").start()
    rsvc = hdserver.Service("routing", "pyacctr", {"HELPDESK_TICKETS_TARGET": f"127.0.0.1:{tsvc.port}"}).start()
    server = hdserver.Service("accounts", "pyaccounts",
                              dict(SETTINGS, HELPDESK_ROUTING_TARGET=f"127.0.0.1:{rsvc.port}")).start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    grpc.channel_ready_future(channel).result(timeout=10)
    tch = grpc.insecure_channel(f"127.0.0.1:{tsvc.port}")
    rch = grpc.insecure_channel(f"127.0.0.1:{rsvc.port}")
    _ctx.update(server=server, channel=channel, stub=accounts_pb2_grpc.AccountServiceStub(channel),
                tsvc=tsvc, rsvc=rsvc, tch=tch, rch=rch, tickets=tickets_pb2_grpc.TicketServiceStub(tch),
                routing=routing_pb2_grpc.RoutingServiceStub(rch), customer=token("sg-ref", "customer"),
                agent=token("agent-1", "agent"), lead=token("lead-1", "agent,team_lead"),
                bd=token("bd-lee", "agent"), console=token("svc-console", "service"))
    # The service answers NOT_SERVING (UNAVAILABLE) until MariaDB answers and migrations ran.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            call("GetAccount", pb.GetAccountRequest(uid="nobody"), "agent")
        except grpc.RpcError as e:
            if e.code() == grpc.StatusCode.NOT_FOUND:
                break
            time.sleep(0.1)


def teardown():
    for ch in ("channel", "tch", "rch"):
        _ctx[ch].close()
    for svc in ("server", "rsvc", "tsvc"):
        rc = _ctx[svc].stop()
        print(f"  helpdesk-{_ctx[svc].svc} stopped with exit status {rc}")
        _ctx[svc].cleanup()


def show_change(step, what, r):
    c = r.request
    print(f"  {step:<3} {what:<44} -> request #{c.id} "
          f"{enum(pb.ContactChangePath, c.path, 'CONTACT_CHANGE_PATH_')} "
          f"{enum(pb.ContactChangeStatus, c.status, 'CONTACT_CHANGE_STATUS_')}"
          f"{' endorsed by ' + c.endorsed_by if c.endorsed_by else ''}", flush=True)


def test_lost_phone_of_a_card_paying_account_goes_through_the_internal_approval():
    print("lost phone, card-paying account:")
    account("sg-card", "SG")
    method("sg-card", pb.PAYMENT_METHOD_TYPE_BANK_CARD, "4242")
    r = call("RequestContactChange", pb.RequestContactChangeRequest(
        idempotency_key="walk-lost-1", uid="sg-card", field=pb.CONTACT_FIELD_PHONE,
        new_value="+6587654321", reason="Lost the phone; cannot receive the login code."), "agent")
    show_change("1a", "RequestContactChange by agent-1", r)
    for item in r.ask_customer_for:
        print(f"        ask for: {item}")
    assert r.request.path == pb.CONTACT_CHANGE_PATH_INTERNAL_APPROVAL
    assert any("last four digits" in a for a in r.ask_customer_for)
    assert call("GetAccount", pb.GetAccountRequest(uid="sg-card"), "agent").account.phone == ""
    r = call("ApproveContactChange", pb.ApproveContactChangeRequest(
        idempotency_key="walk-approve-1", request_id=r.request.id), "lead")
    show_change("1b", "ApproveContactChange by lead-1", r)
    phone = call("GetAccount", pb.GetAccountRequest(uid="sg-card"), "agent").account.phone
    print(f"  1c  GetAccount: phone is now {phone}")
    assert phone == "+6587654321"


def test_lost_phone_of_a_partner_account_needs_the_bd_endorsement_first():
    print("lost phone, partner (quota) account:")
    account("sg-eu", "SG", bd="bd-lee")
    method("sg-eu", pb.PAYMENT_METHOD_TYPE_QUOTA)
    r = call("RequestContactChange", pb.RequestContactChangeRequest(
        idempotency_key="walk-lost-2", uid="sg-eu", field=pb.CONTACT_FIELD_PHONE,
        new_value="+6581112222", reason="Lost the phone."), "agent")
    show_change("2a", "RequestContactChange by agent-1", r)
    print(f"        next: {r.next_steps}")
    assert r.request.path == pb.CONTACT_CHANGE_PATH_PARTNER_APPROVAL and r.request.bd_contact == "bd-lee"
    msg = refused("ApproveContactChange", pb.ApproveContactChangeRequest(
        idempotency_key="walk-approve-2", request_id=r.request.id), "lead",
        grpc.StatusCode.FAILED_PRECONDITION)
    print(f"  2b  ApproveContactChange before the endorsement -> FAILED_PRECONDITION: {msg}")
    e = call("EndorseContactChange", pb.EndorseContactChangeRequest(
        request_id=r.request.id, note="Partner confirmed the end user's identity."), "bd")
    show_change("2c", "EndorseContactChange by bd-lee", e)
    a = call("ApproveContactChange", pb.ApproveContactChangeRequest(
        idempotency_key="walk-approve-3", request_id=r.request.id), "lead")
    show_change("2d", "ApproveContactChange by lead-1", a)
    assert call("GetAccount", pb.GetAccountRequest(uid="sg-eu"), "agent").account.phone == "+6581112222"


def test_a_deletion_is_refused_then_allowed():
    print("account deletion:")
    account("sg-del", "SG")
    call("AddResource", pb.AddResourceRequest(
        uid="sg-del", resource_type="ECS", resource_id="i-t4n0walk", billing=pb.BILLING_METHOD_SUBSCRIPTION,
        expire_time_us=int((time.time() + 90 * 86400) * 1e6)), "console")
    bill = call("AddBill", pb.AddBillRequest(uid="sg-del", description="ECS i-t4n0walk, this month",
                                             amount_minor=1999, currency="USD"), "console")
    c = call("CheckAccountDeletion", pb.CheckAccountDeletionRequest(uid="sg-del"), "agent")
    print(f"  3a  CheckAccountDeletion -> eligible={c.eligible}")
    for b in c.blockers:
        print(f"        blocker: {b.message}")
    print(f"        reminder: {c.backup_reminder}")
    assert not c.eligible and len(c.blockers) == 2
    customer = token("sg-del", "customer")
    msg = refused("DeleteAccount", pb.DeleteAccountRequest(uid="sg-del"), customer,
                  grpc.StatusCode.FAILED_PRECONDITION)
    print(f"  3b  DeleteAccount by the customer -> FAILED_PRECONDITION: {msg}")
    call("ReleaseResource", pb.ReleaseResourceRequest(uid="sg-del", resource_id="i-t4n0walk"), "console")
    call("SettleBill", pb.SettleBillRequest(uid="sg-del", bill_id=bill.id), "console")
    c = call("CheckAccountDeletion", pb.CheckAccountDeletionRequest(uid="sg-del"), "agent")
    print(f"  3c  instance released, bill settled; CheckAccountDeletion -> eligible={c.eligible}")
    d = call("DeleteAccount", pb.DeleteAccountRequest(uid="sg-del"), customer)
    print(f"  3d  DeleteAccount by the customer -> deleted={d.account.deleted}")
    assert c.eligible and d.account.deleted


def test_an_enterprise_upgrade_by_link_with_an_expired_link_refused():
    print("enterprise upgrade by link:")
    account("sg-up", "SG", verified=False)
    u = call("RequestEnterpriseUpgrade", pb.RequestEnterpriseUpgradeRequest(uid="sg-up"), "agent")
    print(f"  4a  RequestEnterpriseUpgrade -> {enum(pb.UpgradePath, u.path, 'UPGRADE_PATH_')} "
          f"{u.link[:60]}...")
    for r in u.reminders:
        print(f"        remind: {r}")
    assert u.path == pb.UPGRADE_PATH_LINK and len(u.reminders) == 3
    main = token("sg-up", "customer")
    time.sleep(2.2)  # the link lives 2 s here (3 days by default)
    msg = refused("CompleteEnterpriseUpgrade", pb.CompleteEnterpriseUpgradeRequest(
        token=u.token, enterprise_name="Lion Rock Trading Pte. Ltd."), main, grpc.StatusCode.FAILED_PRECONDITION)
    print(f"  4b  CompleteEnterpriseUpgrade after the link expired -> FAILED_PRECONDITION: {msg}")
    u = call("RequestEnterpriseUpgrade", pb.RequestEnterpriseUpgradeRequest(uid="sg-up"), "agent")
    a = call("CompleteEnterpriseUpgrade", pb.CompleteEnterpriseUpgradeRequest(
        token=u.token, enterprise_name="Lion Rock Trading Pte. Ltd."), main)
    print(f"  4c  a new link, completed by the main account -> "
          f"{enum(pb.AccountType, a.type, 'ACCOUNT_TYPE_')} ({a.enterprise_name})")
    assert a.type == pb.ACCOUNT_TYPE_ENTERPRISE


def test_an_overdue_card_refund_is_escalated_once_when_asked_twice():
    print("card verification refund:")
    account("sg-ref", "SG")
    m = method("sg-ref", pb.PAYMENT_METHOD_TYPE_BANK_CARD, "4242")
    v = m.card_verification
    print(f"  5a  AddPaymentMethod BANK_CARD -> charge {v.amount_minor / 100:.2f} {v.currency}, "
          f"{enum(pb.RefundStatus, v.status, 'REFUND_STATUS_')}")
    t = _ctx["tickets"].CreateTicket(tpb.CreateTicketRequest(
        idempotency_key="walk-refund-1", subject="When is my 1 dollar returned?",
        description="I bound my credit card more than a week ago", product="ECS", brand="Acme Cloud",
        service_type=tpb.SERVICE_TYPE_OTHER, issue_type=tpb.ISSUE_TYPE_BILLING), metadata=_ctx["customer"], timeout=5)
    time.sleep(1.2)  # the refund is expected 1 s after binding here (7 days by default)
    req = pb.CheckCardVerificationRefundRequest(uid="sg-ref", payment_method_id=m.payment_method.id,
                                                ticket_id=t.id)
    first, second = call("CheckCardVerificationRefund", req, "agent"), call("CheckCardVerificationRefund", req, "agent")
    for n, r in (("5b", first), ("5c", second)):
        e = r.escalation
        print(f"  {n}  CheckCardVerificationRefund on ticket #{t.id} -> "
              f"{enum(pb.RefundStatus, r.status, 'REFUND_STATUS_')}, escalation "
              f"{enum(pb.EscalationState, e.state, 'ESCALATION_STATE_')} to {e.department} "
              f"key={e.idempotency_key} routing_escalation={e.routing_escalation_id} attempts={e.attempts}"
              + (f" last_error={e.last_error}" if e.last_error else ""))
    assert first.status == pb.REFUND_STATUS_OVERDUE
    assert first.escalation.state == pb.ESCALATION_STATE_SENT, first.escalation.last_error
    assert first.escalation.idempotency_key == second.escalation.idempotency_key
    assert first.escalation.request_time_us == second.escalation.request_time_us
    assert second.escalation.routing_escalation_id == first.escalation.routing_escalation_id
    assert second.escalation.attempts == 1
    es = _ctx["routing"].ListEscalations(rpb.ListEscalationsRequest(ticket_id=t.id),
                                         metadata=_ctx["lead"], timeout=5).escalations
    for x in es:
        print(f"  5d  routing ListEscalations(ticket #{t.id}) -> #{x.id} "
              f"{rpb.EscalationMode.Name(x.mode)} to {x.to_department} by {x.created_by_role}: {x.context}")
    assert [x.id for x in es] == [first.escalation.routing_escalation_id]


if __name__ == "__main__":
    sys.exit(hdserver.run_tests([
        test_lost_phone_of_a_card_paying_account_goes_through_the_internal_approval,
        test_lost_phone_of_a_partner_account_needs_the_bd_endorsement_first,
        test_a_deletion_is_refused_then_allowed,
        test_an_enterprise_upgrade_by_link_with_an_expired_link_refused,
        test_an_overdue_card_refund_is_escalated_once_when_asked_twice], setup, teardown))
