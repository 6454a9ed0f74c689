"""Repair of real nodes, in segments (defect 5: the summary of a successful
repair said "repaired : 0 sessions")."""
import re

from realenv import KS


def test_segmented_repair_succeeds_and_counts_sessions(real):
    # one table: the point is the segments and their summary, and every
    # segment is a nodetool JVM per range (4 tokens: 2 ranges a segment)
    # parallelism 1: the per-node steps (the default is the scheduler,
    # test_default_repair_schedules_every_keyspace below)
    t = real.run("repair", keyspace=KS, table=["orders"], segments_per_node=2, full=True,
                 parallelism=1, timeout=600)
    # the last step runs what was postponed while a node was down: nothing
    assert t["steps"][-1]["name"] == "postponed segments", t["steps"][-1]
    assert t["steps"][-1]["message"].startswith("no segment was postponed"), t["steps"][-1]
    steps = t["steps"][:-1]
    assert len(steps) == 6, [s["name"] for s in steps]
    assert {s["node"] for s in steps} == {n.address for n in real.nodes}
    for s in steps:
        msg = s["message"] or ""
        assert s["state"] == "succeeded", s
        counts = [int(x) for x in re.findall(r"(\d+) sessions?\b", msg)]
        assert counts and all(c > 0 for c in counts), f"no session counted: {msg!r}"
        assert re.search(rf"repaired {KS}\b", msg), msg


def test_default_repair_schedules_every_keyspace(real):
    """No params: the segment scheduler over every keyspace nodetool repair
    repairs without one, read from the real describecluster (system_auth is
    RF 1 on a fresh cluster: named, not repaired)."""
    t = real.run("repair", timeout=900)
    assert [s["name"] for s in t["steps"]] == ["repair segments"], t["steps"]
    s = t["steps"][0]
    assert s["state"] == "succeeded", s
    assert s["message"].startswith("all ") and " segments repaired" in s["message"], s["message"]
    recs = s.get("nodes") or []
    kss = {r["phase"].split(" keyspace ", 1)[1].split(" on ", 1)[0] for r in recs}
    assert KS in kss and "system_distributed" not in kss, kss
    for r in recs:
        assert r["state"] == "done", r
        counts = [int(x) for x in re.findall(r"(\d+) sessions?\b", r["message"])]
        assert counts and all(c > 0 for c in counts), r
