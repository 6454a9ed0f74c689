"""Eviction with removenode on real nodes (docs/lifecycle.md, "Eviction"):
the newest of the nodes added after the session's three (test_08 adds two,
test_10 decommissions one, test_11 replaces the other by a fresh one) is
killed; with node_ttl and evict_removenode set, the orchestrator's sweep
runs the removenode task (`ringagent removenode` on a live node: real
`nodetool removenode`, checked with `nodetool status`) and only then
forgets the node, with an evict event.  Removed from the ring, its host id
has a tombstone: its agent, still running, checks in again and is refused,
never listed again.  Then a peer restarts: it lists neither the evicted
node nor the address test_11's node replaced (docs/lifecycle.md,
"Cassandra 4.1 and replaced addresses").  Leaves the session's three
nodes, all up (the killed node leaves `real.nodes`)."""
import pytest

from realenv import CL, realcass, stop_agent, wait_until


def test_killed_node_is_removed_from_the_ring_then_evicted(real):
    # The session's own three stay: the other modules build on them.
    extra = real.nodes[3:]
    if not extra:
        pytest.skip("needs a node test_08 added (run the whole suite)")
    victim = extra[-1]
    hid = real.orch_nodes()[victim.address]["host_id"]
    assert hid, real.orch_nodes()[victim.address]
    real.o.ok("PATCH", f"/api/v1/clusters/{CL}",
              {"settings": {"node_ttl": "20s", "evict_removenode": True}})
    def evicted():
        return [e for e in real.o.ok("GET", "/api/v1/events",
                                     params={"cluster": CL, "limit": 500})["items"]
                if e["kind"] == "evict" and e["target"] == victim.address]
    try:
        # Cassandra dies, its agent lives on and reports it down (so the
        # node is dated from the first sweep that saw it down).
        victim.real.kill()
        evs = wait_until(evicted, 900, "the killed node to be removed and evicted",
                         cap=5.0)
    finally:
        real.o.ok("PATCH", f"/api/v1/clusters/{CL}",
                  {"settings": {"node_ttl": None, "evict_removenode": None}})
    tasks = [t for t in real.o.ok("GET", f"/api/v1/clusters/{CL}/tasks",
                                  params={"limit": 200})["items"]
             if t["type"] == "removenode" and t["params"].get("host_id") == hid]
    assert len(tasks) == 1 and tasks[0]["state"] == "succeeded", tasks
    msg = real.o.task(tasks[0]["id"])["steps"][0]["message"]
    assert f"removed host {hid}" in msg, msg
    assert [e["result"] for e in evs] == ["evicted"], evs
    d = evs[0]["detail"]
    assert d["removenode_task"] == tasks[0]["id"] and d["down_ms"] > 20000, d
    # Cassandra's own view: the host is gone from the ring.
    out = real.nodes[0].real.nodetool("status", timeout=120).stdout
    assert hid not in out and victim.address not in out, out
    # Its agent still runs: answered "who are you?", it checks in again
    # and is refused (the tombstone), never listed again.
    wait_until(lambda: [e for e in real.o.ok("GET", "/api/v1/events",
                                             params={"cluster": CL, "limit": 500})["items"]
                        if e["kind"] == "checkin" and e["target"] == victim.address
                        and e["result"] == "refused"],
               120, "the evicted node's check-in refused", cap=2.0)
    assert victim.address not in real.orch_nodes()
    stop_agent(victim)
    real.nodes.remove(victim)
    real.dead_nodes = getattr(real, "dead_nodes", []) + [victim]
    # The case 4.1 got wrong before the replace task's forget step: the
    # node that replaced another (test_11) is now removed; a peer that
    # restarts reloads system.peers_v2 and would list the replaced address
    # again, DN with its tokens.  It lists no dead node at all.
    peer = real.nodes[1]
    peer.real.stop()
    peer.real.start()
    for other in real.nodes:
        realcass.wait_status(peer.real, other.address, "UN", timeout=300)
    out = peer.real.nodetool("status", timeout=120).stdout
    for gone in real.dead_nodes:
        assert gone.address not in out, (gone.address, out)
    peers = peer.real.cqlsh("SELECT peer FROM system.peers_v2;")
    for gone in real.dead_nodes:
        assert gone.address not in peers, (gone.address, peers)
    wait_until(lambda: real.orch_nodes()[peer.address]["state"] == "up", 300,
               f"{peer.address} up again in the orchestrator", cap=5.0)
