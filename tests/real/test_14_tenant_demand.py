"""Tenant demand and limits on real nodes (docs/tenants.md, "Demand" and
"Limits on the node"): a tenant of a keyspace of its own; each agent gets
the tenant in a heartbeat answer, writes its limits file (the shard's three
nodes: all of them) and samples real `nodetool tablestats`; rows written
with cqlsh raise the keyspace's Write Count, and the demand the agents
report reaches the orchestrator's view of the tenant.  The keyspace is new
and dropped at the end, so the other modules' counts do not move."""
import json
import subprocess
import time

from realenv import CL, HEARTBEAT_S, realcass, wait_until

KS_T = "tenant_demo"
ROWS = 3000


def cql(node, text, timeout=300):
    p = subprocess.run([str(realcass.CASS), "cqlsh", str(node.real.dir), "--request-timeout=60",
                        "-e", text], capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0 and "Error" not in p.stderr, \
        f"cqlsh -e failed ({p.returncode}): {p.stdout[-1000:]}\n{p.stderr[-1000:]}"


def write_rows(node, tmp, start, count):
    lines = []
    for b in range(start, start + count, 100):
        lines.append("BEGIN UNLOGGED BATCH")
        lines += [f"INSERT INTO {KS_T}.kv (k, v) VALUES ({i}, 'row {i}');"
                  for i in range(b, min(b + 100, start + count))]
        lines.append("APPLY BATCH;")
    f = tmp / f"tenant-rows-{start}.cql"
    f.write_text("\n".join(lines) + "\n")
    p = subprocess.run([str(realcass.CASS), "cqlsh", str(node.real.dir), "--request-timeout=60",
                        "-f", str(f)], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0 and "Error" not in p.stderr, p.stderr[-2000:]


def test_demand_of_a_real_keyspace_reaches_the_tenant(real):
    n1 = real.nodes[0]
    nodes = real.nodes[:3]
    cql(n1, f"CREATE KEYSPACE IF NOT EXISTS {KS_T} WITH replication = "
            f"{{'class': 'NetworkTopologyStrategy', 'dc1': 3}}; "
            f"CREATE TABLE IF NOT EXISTS {KS_T}.kv (k int PRIMARY KEY, v text);")
    T = f"/api/v1/clusters/{CL}/tenants"
    real.o.ok("PATCH", f"/api/v1/clusters/{CL}", {"settings": {
        "tenant_demand_interval": "5s", "autoscale_interval": "off"}})
    try:
        t = real.o.ok("POST", T, {"name": "demo", "keyspaces": [KS_T]}, status=201)
        shard = {s["address"] for s in t["shard"]}
        assert shard == {n.address for n in nodes}, (shard, [n.address for n in nodes])

        # Each agent learns the tenant from a heartbeat answer and writes
        # its limits file; the orchestrator then sees the limit applied.
        def files():
            out = {}
            for n in nodes:
                p = n.state_dir / "limits.json"
                if p.exists():
                    out[n.address] = json.loads(p.read_text())
            return out if len(out) == len(nodes) else None
        got = wait_until(files, 4 * HEARTBEAT_S, "every node's limits file", cap=2.0)
        for addr, f in got.items():
            assert f["node"] == addr and f["cluster"] == CL, f
            assert f["tenants"] == [{"name": "demo", "keyspaces": [KS_T], "limit_ops": 4000}], f
        # (confirmed by the orchestrator's sweep within a second of the
        # last node's report)
        wait_until(lambda: (lambda g: g["limits"]["confirmed"] and all(
            s["limit_applied"] == 4000 for s in g["shard"]))(
                real.o.ok("GET", f"{T}/demo")),
                   4 * HEARTBEAT_S, "the limit applied on every node and confirmed", cap=2.0)

        # Writes between two samples: every replica counts them (RF 3).
        t0 = time.monotonic()
        deadline = t0 + 6 * HEARTBEAT_S
        start = 0
        while True:
            write_rows(n1, real.tmp, start, ROWS)
            start += ROWS
            d = real.o.ok("GET", f"{T}/demo")["demand"]
            if d and d["ops"] > 0:
                break
            assert time.monotonic() < deadline, \
                f"no demand reported after {start} rows in {time.monotonic() - t0:.0f}s"
            time.sleep(5)
        assert d["ops"] > 0, d
    finally:
        real.o.req("DELETE", f"{T}/demo")
        real.o.ok("PATCH", f"/api/v1/clusters/{CL}", {"settings": {
            "tenant_demand_interval": None, "autoscale_interval": None}})
        cql(n1, f"DROP KEYSPACE IF EXISTS {KS_T};")
