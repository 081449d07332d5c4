#!/usr/bin/python3
"""Machine-readable errors as a portal reads them with Python's grpcio (Debian's python3-grpcio,
no grpc_status package): a failed call's google.rpc.Status from the trailing metadata
"grpc-status-details-bin", decoded with the google.rpc protos of protos/google/rpc (stubs made by
scripts/gen-python-stubs.sh), against the real helpdesk-tickets binary:

  1. a blank subject: INVALID_ARGUMENT with BadRequest naming the field "subject";
  2. a stale expected_version: ABORTED with ErrorInfo VERSION_CONFLICT and the current version,
     which a retry sends and succeeds with;
  3. a final answer before the account is verified: ErrorInfo ACCOUNT_NOT_VERIFIED;
  4. the accounts service down: UNAVAILABLE with RetryInfo (retry after 1 s);
  5. x-request-id echoed in the trailing metadata, the caller's or one made up, on OK and on error.

Run: HD_BINARY_DIR=build /usr/bin/python3 tests/python/error_details.py
with MariaDB and Redis from HELPDESK_DB_* / HELPDESK_REDIS_* (scripts/servers.sh prints them).
"""
import socket
import subprocess
import sys

import grpc
from google.protobuf import text_format

import hdserver
import hdstubs

hdstubs.load(["helpdesk/v1/common.proto", "helpdesk/v1/tickets.proto", "google/rpc/status.proto",
              "google/rpc/error_details.proto"])
from google.rpc import error_details_pb2, status_pb2  # noqa: E402
from helpdesk.v1 import tickets_pb2 as pb  # noqa: E402
from helpdesk.v1 import tickets_pb2_grpc  # noqa: E402

DETAILS_KEY = "grpc-status-details-bin"
_ctx = {}


def token(user, roles):
    out = subprocess.run([hdserver.binary("tools/hd-token"), "--tenant", "acme", "--user", user,
                          "--roles", roles, "--ttl", "10m"], check=True, capture_output=True, text=True)
    return ("authorization", "Bearer " + out.stdout.strip())


def call(rpc, req, who, request_id=None):
    md = [_ctx[who]] + ([("x-request-id", request_id)] if request_id else [])
    return getattr(_ctx["stub"], rpc).with_call(req, metadata=md, timeout=10)


def refused(rpc, req, who, code, request_id=None):
    """The RpcError of a call that must fail with code."""
    try:
        call(rpc, req, who, request_id)
    except grpc.RpcError as e:
        assert e.code() == code, f"{rpc}: want {code.name}, got {e.code().name}: {e.details()}"
        return e
    raise AssertionError(f"{rpc} was accepted")


def status_of(e):
    """google.rpc.Status of a failed call, and its details by type name."""
    raw = dict(e.trailing_metadata()).get(DETAILS_KEY)
    assert raw is not None, f"no {DETAILS_KEY} in {e.trailing_metadata()}"
    st = status_pb2.Status.FromString(raw)
    assert st.code == e.code().value[0] and st.message == e.details(), st
    found = {}
    for any_ in st.details:
        for cls in (error_details_pb2.BadRequest, error_details_pb2.ErrorInfo, error_details_pb2.RetryInfo):
            if any_.Is(cls.DESCRIPTOR):
                m = cls()
                any_.Unpack(m)
                found[cls.DESCRIPTOR.name] = m
    return st, found


def show(step, e, found):
    print(f"  {step}  {e.code().name}: {e.details()}")
    for name, m in found.items():
        print(f"      {name} {text_format.MessageToString(m, as_one_line=True)}")


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def setup():
    svc = hdserver.Service("tickets", "pyerrors", {"HELPDESK_ACCOUNTS_TARGET": f"127.0.0.1:{closed_port()}",
                                                   "HELPDESK_PEER_ATTEMPTS": "2"}).start()
    _ctx["svc"] = svc
    ch = grpc.insecure_channel(f"127.0.0.1:{svc.port}")
    _ctx.update(ch=ch, stub=tickets_pb2_grpc.TicketServiceStub(ch), customer=token("cust-1", "customer"),
                agent=token("agent-1", "agent"), lead=token("lead-1", "agent,team_lead"))
    hdserver.until(lambda: call("ListTickets", pb.ListTicketsRequest(), "agent"), grpc.RpcError)


def teardown():
    if "ch" in _ctx:
        _ctx["ch"].close()
    if "svc" in _ctx:
        print(f"  helpdesk-tickets stopped with exit status {_ctx['svc'].stop()}")
        _ctx["svc"].cleanup()


def owned_ticket(key):
    t, _ = call("CreateTicket", pb.CreateTicketRequest(
        idempotency_key=key, subject="My shop answers 500", description="Since this morning.",
        service_type=pb.SERVICE_TYPE_SHARED, issue_type=pb.ISSUE_TYPE_TECHNICAL), "customer")
    t, _ = call("AssignTicket", pb.AssignTicketRequest(ticket_id=t.id, owner_id="agent-1"), "lead")
    return t


def test_a_blank_subject_is_a_field_violation_of_subject():
    print("a bad field:")
    e = refused("CreateTicket", pb.CreateTicketRequest(idempotency_key="err-1", subject="   ",
                                                      description="x"), "customer",
                grpc.StatusCode.INVALID_ARGUMENT)
    _, found = status_of(e)
    show("1", e, found)
    v = found["BadRequest"].field_violations
    assert len(v) == 1 and v[0].field == "subject" and v[0].description == e.details(), v
    assert "ErrorInfo" not in found


def test_a_stale_version_is_version_conflict_with_the_current_version():
    print("a stale version:")
    t = owned_ticket("err-2")
    e = refused("TransferTicket", pb.TransferTicketRequest(ticket_id=t.id, expected_version=1,
                                                          new_owner_id="agent-2"), "lead",
                grpc.StatusCode.ABORTED, request_id="portal-7f3a")
    st, found = status_of(e)
    _ctx["printed"] = st
    show("2a", e, found)
    info = found["ErrorInfo"]
    assert info.reason == "VERSION_CONFLICT" and info.domain == "helpdesk.v1", info
    assert int(info.metadata["current_version"]) == t.version, (info, t.version)
    r, _ = call("TransferTicket", pb.TransferTicketRequest(
        ticket_id=t.id, expected_version=int(info.metadata["current_version"]), new_owner_id="agent-2"), "lead")
    print(f"  2b  TransferTicket again with expected_version={info.metadata['current_version']} -> "
          f"owner {r.owner_id} v{r.version}")
    assert r.owner_id == "agent-2"


def test_a_final_answer_before_verification_is_account_not_verified():
    print("the reply gate:")
    t = owned_ticket("err-3")
    e = refused("ReplyToTicket", pb.ReplyToTicketRequest(ticket_id=t.id, intent=pb.REPLY_INTENT_FINAL_ANSWER,
                                                        body="Fixed."), "agent",
                grpc.StatusCode.FAILED_PRECONDITION)
    _, found = status_of(e)
    show("3", e, found)
    assert found["ErrorInfo"].reason == "ACCOUNT_NOT_VERIFIED", found


def test_the_accounts_service_down_says_retry_after_a_second():
    print("a peer down:")
    t = owned_ticket("err-4")
    e = refused("VerifyTicketAccount", pb.VerifyTicketAccountRequest(ticket_id=t.id, domain="shop.example"),
                "agent", grpc.StatusCode.UNAVAILABLE)
    _, found = status_of(e)
    show("4", e, found)
    d = found["RetryInfo"].retry_delay
    assert d.seconds == 1 and d.nanos == 0, d


def test_the_request_id_is_echoed_on_ok_and_on_error():
    print("the request id:")
    _, c = call("ListTickets", pb.ListTicketsRequest(), "agent", request_id="portal-req-1")
    got = dict(c.trailing_metadata()).get("x-request-id")
    print(f"  5a  ListTickets with x-request-id portal-req-1 -> trailing x-request-id {got}")
    assert got == "portal-req-1"
    _, c = call("ListTickets", pb.ListTicketsRequest(), "agent")
    made = dict(c.trailing_metadata()).get("x-request-id")
    print(f"  5b  ListTickets without one -> trailing x-request-id {made} (made up)")
    assert made and made != got
    e = refused("GetTicket", pb.GetTicketRequest(ticket_id=999999), "agent", grpc.StatusCode.NOT_FOUND,
                request_id="portal-req-2")
    got = dict(e.trailing_metadata()).get("x-request-id")
    print(f"  5c  GetTicket 999999 with x-request-id portal-req-2 -> NOT_FOUND, trailing x-request-id {got}")
    assert got == "portal-req-2"


def print_one():
    st = _ctx.get("printed")
    if st is None:
        return
    print("one decoded grpc-status-details-bin (google.rpc.Status, details unpacked):")
    print(f"  code: {st.code} ({grpc.StatusCode.ABORTED.name})\n  message: {st.message!r}")
    for any_ in st.details:
        m = error_details_pb2.ErrorInfo()
        if any_.Unpack(m):
            print(f"  details[{any_.type_url}]:\n" + text_format.MessageToString(m, indent=4), end="")


if __name__ == "__main__":
    rc = hdserver.run_tests([
        test_a_blank_subject_is_a_field_violation_of_subject,
        test_a_stale_version_is_version_conflict_with_the_current_version,
        test_a_final_answer_before_verification_is_account_not_verified,
        test_the_accounts_service_down_says_retry_after_a_second,
        test_the_request_id_is_echoed_on_ok_and_on_error], setup, teardown)
    print_one()
    sys.exit(rc)
