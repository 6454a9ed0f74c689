"""Eviction with removenode on real nodes (docs/lifecycle.md, "Eviction"):
one of the two nodes test_08 added is killed; with node_ttl and
evict_removenode set, the orchestrator's sweep runs the removenode task
(`ringagent removenode` on a live node: real `nodetool removenode`, checked
with `nodetool status`) and only then forgets the node, with an evict
event.  Runs after test_08 and takes the cluster back to its three
original nodes plus one."""
import pytest

from realenv import CL, wait_until


def test_killed_node_is_removed_from_the_ring_then_evicted(real):
    extra = [n for n in real.nodes if n.name in ("n4", "n5")]
    if len(extra) < 2:
        pytest.skip("needs the two nodes test_08 adds (run the whole suite)")
    victim = extra[-1]
    hid = real.orch_nodes()[victim.address]["host_id"]
    assert hid, real.orch_nodes()[victim.address]
    real.o.ok("PATCH", f"/api/v1/clusters/{CL}",
              {"settings": {"node_ttl": "20s", "evict_removenode": True}})
    try:
        victim.real.kill()
        wait_until(lambda: victim.address not in real.orch_nodes(), 900,
                   "the killed node to be removed and evicted", cap=5.0)
    finally:
        real.o.ok("PATCH", f"/api/v1/clusters/{CL}",
                  {"settings": {"node_ttl": None, "evict_removenode": None}})
    tasks = [t for t in real.o.ok("GET", f"/api/v1/clusters/{CL}/tasks",
                                  params={"limit": 200})["items"]
             if t["type"] == "removenode" and t["params"].get("host_id") == hid]
    assert tasks and tasks[-1]["state"] == "succeeded", tasks
    msg = real.o.task(tasks[-1]["id"])["steps"][0]["message"]
    assert f"removed host {hid}" in msg, msg
    evs = [e for e in real.o.ok("GET", "/api/v1/events",
                                params={"cluster": CL, "limit": 500})["items"]
           if e["kind"] == "evict" and e["target"] == victim.address]
    assert [e["result"] for e in evs] == ["evicted"], evs
    # Cassandra's own view: the host is gone from the ring.
    out = real.nodes[0].real.nodetool("status", timeout=120).stdout
    assert hid not in out and victim.address not in out, out
