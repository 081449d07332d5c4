#!/usr/bin/python3
"""The plan of each ListTickets query, and how many index entries it touches, on the tenant
`scale` that bench/load-tickets.sh loaded (after `make bench`, or by hand):

    . .run/env && bench/list-plans.py [TENANT]   (default scale; or with the HELPDESK_DB_* that
                                                  scripts/servers.sh prints)

For every listing, the first page of 50 and a page 60% deep into the tenant: the indexes EXPLAIN
names, the index entries read (Handler_read_key + _next + _prev + index-condition attempts, the
page's primary-key reads included) and the rows sorted. A page that costs the same at the
millionth ticket as at the first touches about 150-360 entries whatever the table's size.
The queries are written here in the shape services/tickets/ticket_query.c builds (the page's ids
and sort keys from the index its FORCE INDEX names, then those tickets by primary key: both reads
are counted);
change both together. Not a test.
"""
import os
import subprocess
import sys

SOCK = os.environ.get("HELPDESK_DB_SOCKET")
DB = os.environ.get("HELPDESK_TICKETS_DB_NAME", "helpdesk_tickets")
TENANT = sys.argv[1] if len(sys.argv) > 1 else "scale"
if not SOCK:
    raise SystemExit("list-plans: no HELPDESK_DB_SOCKET: source .run/env (make run) or the "
                     "output of scripts/servers.sh start")


def sql(q):
    return subprocess.run(["mariadb", f"--socket={SOCK}", "-u", os.environ.get("HELPDESK_DB_USER", "root"),
                           DB, "-N", "-B", "-e", q], check=True, text=True, capture_output=True).stdout
maxu = int(sql(f"SELECT MAX(updated_at_us) FROM tickets WHERE tenant='{TENANT}'"))
n = int(sql(f"SELECT COUNT(*) FROM tickets WHERE tenant='{TENANT}'"))
# A page 60% deep: load-tickets.sh gives ticket i the creation time base + i seconds.
lo, hi = (int(v) for v in sql(f"SELECT MIN(id), MAX(id) FROM tickets WHERE tenant='{TENANT}'").split())
XID = lo + int((hi - lo) * 0.6)
X = int(sql(f"SELECT created_at_us FROM tickets WHERE id = {XID}"))
COLS = "t.*, (f.agent_id IS NOT NULL) AS followed"
HEAD = f"SELECT {COLS} FROM tickets t FORCE INDEX (PRIMARY) LEFT JOIN follows f ON f.ticket_id = t.id AND f.agent_id = 'bench-agent' WHERE t.tenant = '{TENANT}'"
def keyset(key, idc, deep):
    return f" AND ({key} > {X} OR ({key} = {X} AND {idc} > {XID}))" if deep else ""
def keys(filters, deep, followed=False, key="t.created_at_us", idc="t.id", lim=51,
         index="ix_tickets_tenant_created"):
    if followed:
        if key == "t.created_at_us":
            key, idc = "f.ticket_created_at_us", "f.ticket_id"
        s = (f"SELECT t.id, {key} AS k FROM follows f FORCE INDEX (ix_follows_agent_created) "
             f"JOIN tickets t FORCE INDEX (PRIMARY) ON t.id = f.ticket_id "
             f"WHERE f.tenant = '{TENANT}' AND f.agent_id = 'bench-agent' AND t.tenant = '{TENANT}'")
    else:
        s = f"SELECT t.id, {key} AS k FROM tickets t FORCE INDEX ({index}) WHERE t.tenant = '{TENANT}'"
    return s + filters + keyset(key, idc, deep) + f" ORDER BY {key} ASC, {idc} ASC LIMIT {lim}"


def outer(k, key=None):
    return k


def union(statuses, extra, deep, index="ix_tickets_status"):
    br = [keys(f" AND t.status IN ('{s}')" + extra, deep, index=index) for s in statuses]
    return "(" + ") UNION ALL (".join(br) + ") ORDER BY k ASC, id ASC LIMIT 51"


OPEN = ["PENDING_RESPONSE", "PROCESSING", "PENDING_FEEDBACK", "FEEDBACK", "TO_BE_CONFIRMED", "SUSPENDED"]
shapes = {
    "list (all)": lambda d: outer(keys("", d)),
    "status PENDING_RESPONSE": lambda d: outer(keys(" AND t.status IN ('PENDING_RESPONSE')", d, index="ix_tickets_status")),
    "owner bench-owner": lambda d: outer(keys(" AND t.owner_id = 'bench-owner'", d, index="ix_tickets_owner")),
    "my open (owner + open_only)": lambda d: outer(union(OPEN, " AND t.owner_id = 'bench-owner'", d, "ix_tickets_owner_status")),
    "open_only (any owner)": lambda d: outer(union(OPEN, "", d)),
    "unassigned": lambda d: outer(keys(" AND t.owner_id IS NULL", d, index="ix_tickets_owner")),
    "unassigned + open_only": lambda d: outer(union(OPEN, " AND t.owner_id IS NULL", d, "ix_tickets_owner_status")),
    "followed": lambda d: outer(keys("", d, followed=True)),
    "followed + open_only": lambda d: outer(keys(" AND t.status IN ('" + "', '".join(OPEN) + "')", d, followed=True)),
    "updated_since (last hour)": lambda d: outer(keys(f" AND t.updated_at_us >= {maxu - 3600*1000000}", False, key="t.updated_at_us", index="ix_tickets_updated"), key="t.updated_at_us"),
    "updated_since (last 40%)": lambda d: outer(keys(f" AND t.updated_at_us >= {maxu - int(n*0.4)*1000000}", False, key="t.updated_at_us", index="ix_tickets_updated"), key="t.updated_at_us"),
    "updated_since (all), deep page": lambda d: outer(keys(f" AND t.updated_at_us >= 1" + keyset("t.updated_at_us", "t.id", True), False, key="t.updated_at_us", index="ix_tickets_updated"), key="t.updated_at_us"),
}
STATUS = ("'Handler_read_next','Handler_read_prev','Handler_icp_attempts','Handler_read_key',"
          "'Sort_rows'")


def counted(q):
    out = sql("FLUSH STATUS; " + q + f"; SHOW SESSION STATUS WHERE Variable_name IN ({STATUS})")
    lines = out.splitlines()
    st = dict(l.split("\t") for l in lines[-5:])
    touched = sum(int(st[k]) for k in ("Handler_read_next", "Handler_read_prev",
                                         "Handler_icp_attempts", "Handler_read_key"))
    return lines[:-5], touched, int(st["Sort_rows"])


print(f"tenant {TENANT}: {n} tickets")
print("| listing | page | index (EXPLAIN of the ids) | index entries read | rows sorted |")
print("|---|---|---|---:|---:|")
for name, mk in shapes.items():
    for deep in (False, True):
        if "updated" in name and deep:
            continue
        q = mk(deep)
        ex = sql("EXPLAIN " + q)
        idx = ", ".join(sorted({f"{c[5]} ({c[3]})" for c in (l.split("\t") for l in ex.splitlines())
                                if c[5] not in ("NULL", "PRIMARY")}))
        rows, t1, s1 = counted(q)
        ids = [r.split("\t")[0] for r in rows][:50]
        t2, s2 = 0, 0
        if ids:
            _, t2, s2 = counted(HEAD + " AND t.id IN (" + ", ".join(ids) + ")")
        print(f"| {name} | {'60% deep' if deep else 'first'} | {idx} | {t1 + t2} | {s1 + s2} |")
