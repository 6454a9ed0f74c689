"""The segment scheduler on real nodes (docs/repair.md, "Parallel repair";
issue #17): a keyspace of replication factor 2 on the five nodes test_08
left, so that segments whose replica sets do not meet can run at once.

Cassandra itself is the witness, not the orchestrator's records:
system_distributed.repair_history has one row per range repaired, with its
coordinator, its participants and when it ran.  Every ring range of the
keyspace must be there, repaired among exactly its replicas (nodetool
describering), and no node may take part in two sessions that ran at the
same time.  Runs after test_09 (five nodes UN) and leaves them so."""
import re
from datetime import datetime

from realenv import realcass

KS2 = "rp"
TABLE = "kv"
RANGE = re.compile(r"TokenRange\(start_token:(-?\d+), end_token:(-?\d+), endpoints:\[([^\]]*)\]")


def ring_ranges(node):
    """{(start, end): frozenset(replicas)} from nodetool describering."""
    out = node.nodetool("describering", KS2).stdout
    got = {(int(s), int(e)): frozenset(x.strip() for x in eps.split(",") if x.strip())
           for s, e, eps in RANGE.findall(out)}
    assert got, out
    return got


def when(text):
    """cqlsh's timestamp, '2026-12-07 02:41:53.123000+0000', in seconds."""
    return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S.%f%z").timestamp()


def history(node):
    """The rows of repair_history for KS2.TABLE: dicts of the columns."""
    out = node.cqlsh("CONSISTENCY ALL; PAGING OFF; SELECT range_begin, range_end, coordinator, "
                     "participants, status, started_at, finished_at FROM "
                     f"system_distributed.repair_history WHERE keyspace_name = '{KS2}' "
                     f"AND columnfamily_name = '{TABLE}';", request_timeout=60)
    lines = [ln for ln in out.splitlines() if " | " in ln]
    assert lines, out
    head = [c.strip() for c in lines[0].split("|")]
    rows = []
    for ln in lines[1:]:
        cells = [c.strip() for c in ln.split("|")]
        if len(cells) != len(head):
            continue
        r = dict(zip(head, cells))
        r["participants"] = frozenset(re.findall(r"'([^']+)'", r["participants"]))
        rows.append(r)
    return rows


def test_parallel_repair_runs_disjoint_replica_sets_at_once(real):
    nodes = [n for n in real.nodes]
    assert len(nodes) == 5, ("the five nodes test_08 leaves", [n.address for n in nodes])
    n1 = nodes[0].real
    n1.cqlsh(f"CREATE KEYSPACE IF NOT EXISTS {KS2} WITH replication = "
             "{'class': 'NetworkTopologyStrategy', 'dc1': 2}; "
             f"CREATE TABLE IF NOT EXISTS {KS2}.{TABLE} (k int PRIMARY KEY, v text); "
             + " ".join(f"INSERT INTO {KS2}.{TABLE} (k, v) VALUES ({i}, 'v{i}');" for i in range(40)),
             request_timeout=60)
    for n in nodes:
        realcass.wait_status(n1, n.address, "UN", timeout=120)
    ring = ring_ranges(n1)
    # 5 nodes x 4 tokens: 20 ranges of two replicas each.
    assert len(ring) == 20 and all(len(r) == 2 for r in ring.values()), ring

    t = real.run("repair", keyspace=KS2, table=[TABLE], full=True, parallelism=0,
                 segments_per_node=2, timeout=1200)
    msgs = [s["message"] or "" for s in t["steps"]]
    m = next((m for m in (re.search(r"all (\d+) segments repaired in \d+ ms, up to (\d+) "
                                    r"at once", x) for x in msgs) if m), None)
    assert m, msgs
    # segments_per_node 2: about ten segments, each one or more ranges
    assert 1 <= int(m.group(1)) <= 20, msgs
    # Five nodes, two replicas a range: two sets that do not meet exist.
    assert int(m.group(2)) >= 2, msgs

    rows = [r for r in history(n1) if when(r["started_at"]) >= datetime.fromisoformat(
        t["started_at"]).timestamp() - 1]
    assert all(r["status"] == "SUCCESS" for r in rows), rows
    # Every range once, among its replicas, coordinated by one of them.
    done = {}
    for r in rows:
        key = (int(r["range_begin"]), int(r["range_end"]))
        assert key in ring, (key, sorted(ring))
        assert key not in done, f"range {key} repaired twice"
        members = r["participants"] | {r["coordinator"].split(":")[0].lstrip("/")}
        assert members == ring[key], (key, members, ring[key])
        done[key] = (when(r["started_at"]), when(r["finished_at"]), members)
    assert set(done) == set(ring), sorted(set(ring) - set(done))
    # No node in two sessions that ran at the same time.
    items = sorted(done.items(), key=lambda kv: kv[1][0])
    for i, (ka, (sa, ea, ma)) in enumerate(items):
        for kb, (sb, eb, mb) in items[i + 1:]:
            if sb < ea and sa < eb:
                assert not (ma & mb), f"{sorted(ma & mb)} in {ka} and {kb} at once"
