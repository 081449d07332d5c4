#!/usr/bin/python3
"""The routing rules table as ListRoutingRules returns it, from Python's gRPC (Debian's
python3-grpcio) against the real helpdesk-routing binary, and a few RouteTicket answers that
follow it: which rule matched, why, and what to do first.

Run: HD_BINARY_DIR=build /usr/bin/python3 tests/python/routing_rules.py
with MariaDB and Redis from HELPDESK_DB_* / HELPDESK_REDIS_* (scripts/servers.sh prints them).
"""
import subprocess
import sys
import time

import grpc

import hdserver
import hdstubs

hdstubs.load(["helpdesk/v1/common.proto", "helpdesk/v1/tickets.proto", "helpdesk/v1/routing.proto"])
from helpdesk.v1 import routing_pb2 as rpb  # noqa: E402
from helpdesk.v1 import routing_pb2_grpc  # noqa: E402
from helpdesk.v1 import tickets_pb2 as tpb  # noqa: E402

_ctx = {}


def token(user, roles):
    out = subprocess.run([hdserver.binary("tools/hd-token"), "--tenant", "acme", "--user", user,
                          "--roles", roles, "--ttl", "10m"], check=True, capture_output=True, text=True)
    return [("authorization", "Bearer " + out.stdout.strip())]


def short(enum, value, prefix):
    return enum.Name(value).replace(prefix, "")


def names(enum, values, prefix):
    return ",".join(short(enum, v, prefix) for v in values)


def conditions(r):
    parts = []
    if r.issue_types:
        parts.append("issue " + names(tpb.IssueType, r.issue_types, "ISSUE_TYPE_"))
    if r.service_types:
        parts.append("service " + names(tpb.ServiceType, r.service_types, "SERVICE_TYPE_"))
    for label, facts in (("all", r.all_facts), ("any", r.any_facts), ("none", r.none_facts)):
        if facts:
            parts.append(f"{label} " + names(rpb.RoutingFact, facts, "ROUTING_FACT_"))
    return "; ".join(parts) or "(none)"


def setup():
    server = hdserver.Service("routing", "pyrules").start()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    grpc.channel_ready_future(channel).result(timeout=10)
    _ctx.update(server=server, channel=channel, stub=routing_pb2_grpc.RoutingServiceStub(channel),
                agent=token("agent-1", "agent"))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # NOT_SERVING until MariaDB, Redis and migrations
        try:
            _ctx["stub"].ListDepartments(rpb.ListDepartmentsRequest(), metadata=_ctx["agent"], timeout=5)
            break
        except grpc.RpcError:
            time.sleep(0.1)


def teardown():
    _ctx["channel"].close()
    rc = _ctx["server"].stop()
    print(f"  helpdesk-routing stopped with exit status {rc}")
    _ctx["server"].cleanup()


def test_list_routing_rules_prints_the_default_table():
    rules = _ctx["stub"].ListRoutingRules(rpb.ListRoutingRulesRequest(), metadata=_ctx["agent"],
                                          timeout=5).rules
    print("ListRoutingRules (tried top to bottom, the first match decides):")
    print(f"  {'rule':<30} {'prio':>4}  {'action':<18} {'department':<14} {'conditions':<62} extra")
    for r in rules:
        extra = []
        if r.urgent:
            extra.append("urgent, flag " + ",".join(r.flag_departments))
        if r.customer_request:
            extra.append("ask: " + r.customer_request)
        if r.estimate_required:
            extra.append("give an estimate")
        print(f"  {r.name:<30} {r.priority:>4}  {short(rpb.RoutingAction, r.action, 'ROUTING_ACTION_'):<18} "
              f"{r.department or '-':<14} {conditions(r):<62} {'; '.join(extra)}")
    assert [r.name for r in rules][0] == "cancellation" and rules[-1].name == "otherwise"
    assert len(rules) == 13 and all(r.builtin and r.version == 1 for r in rules)
    assert [r.priority for r in rules] == sorted((r.priority for r in rules), reverse=True)


def test_route_ticket_answers_which_rule_matched_and_why():
    cases = [
        (tpb.ISSUE_TYPE_BILLING, tpb.SERVICE_TYPE_SHARED, [rpb.ROUTING_FACT_DISPUTE], "billing-urgent"),
        (tpb.ISSUE_TYPE_BILLING, 0, [rpb.ROUTING_FACT_PAYMENT_ERROR], "payment-error-ask-first"),
        (tpb.ISSUE_TYPE_ACTIVATION, tpb.SERVICE_TYPE_VPS, [rpb.ROUTING_FACT_HOSTNAME_MISSING],
         "server-activation-no-hostname"),
        (tpb.ISSUE_TYPE_EMAIL, tpb.SERVICE_TYPE_SHARED, [], "otherwise"),
    ]
    print("RouteTicket:")
    for issue, service, facts, want in cases:
        r = _ctx["stub"].RouteTicket(rpb.RouteTicketRequest(issue_type=issue, service_type=service,
                                                            facts=facts), metadata=_ctx["agent"], timeout=5)
        print(f"  -> {r.department or '(back to the customer)':<15} {r.explanation}")
        assert r.rule.name == want


if __name__ == "__main__":
    sys.exit(hdserver.run_tests([
        test_list_routing_rules_prints_the_default_table,
        test_route_ticket_answers_which_rule_matched_and_why], setup, teardown))
