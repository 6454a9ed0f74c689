"""Repair of real nodes, in segments (defect 5: the summary of a successful
repair said "repaired : 0 sessions")."""
import re

from realenv import KS


def test_segmented_repair_succeeds_and_counts_sessions(real):
    # one table: the point is the segments and their summary, and every
    # segment is a nodetool JVM per range (4 tokens: 2 ranges a segment)
    t = real.run("repair", keyspace=KS, table=["orders"], segments_per_node=2, full=True,
                 timeout=600)
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
