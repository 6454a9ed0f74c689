"""Eviction (orchestrator/service/service_evict.c, docs/lifecycle.md
"Eviction"): a node down longer than its cluster's node_ttl leaves the
orchestrator's view with an "evict" event; with evict_removenode the
"removenode" task (`nodetool removenode <host id>` through a live node's
agent) runs first and the record goes only once it succeeded.  A node a
live peer sees UN (agent_down) is never evicted.  Three simulated nodes
with real sshd and agents, the real orchestrator."""
import json
import subprocess
import time

from agentutil import RINGAGENT, orch_nodes, simlib, sim_factory, wait_for  # noqa: F401
from orch import orch_factory  # noqa: F401
from test_agent_tasks import prepare


def start(sim_factory, orch_factory, tmp_path, monkeypatch, **settings):  # noqa: F811
    c = sim_factory(nodes=3)
    # The sweep submits removenode itself: the orchestrator's default
    # agent command is what reaches the simulated nodes.
    monkeypatch.setenv("RINGMASTER_AGENT", f"{RINGAGENT} -f {tmp_path}/confs/{{address}}.conf")
    o = orch_factory(conf={"heartbeat_timeout": "4s"})
    prepare(c, o, tmp_path)
    o.ok("PATCH", "/api/v1/clusters/sim", {"settings": settings})
    got = o.ok("GET", "/api/v1/clusters/sim")["settings"]
    for k, v in settings.items():
        assert got[k] == v, got
    return c, o


def events(o, kind):
    return [e for e in o.ok("GET", "/api/v1/events?cluster=sim&limit=500")["items"]
            if e["kind"] == kind]


def test_down_node_is_evicted_after_node_ttl_and_agent_down_is_not(
        sim_factory, orch_factory, tmp_path, monkeypatch):  # noqa: F811
    c, o = start(sim_factory, orch_factory, tmp_path, monkeypatch, node_ttl="8s")
    n2, n3 = c.address(c.names[1]), c.address(c.names[2])
    hid3 = orch_nodes(o)[n3]["host_id"]
    simlib.stop_agent(c.dir, c.names[1])     # Cassandra runs on: peers see UN
    c.kill(c.names[2])                        # dead: peers see DN
    wait_for(lambda: orch_nodes(o)[n3]["state"] == "down", "node3 down", timeout=30)
    assert not events(o, "evict"), "evicted before node_ttl"
    wait_for(lambda: n3 not in orch_nodes(o), "node3 evicted", timeout=60)

    ev = events(o, "evict")
    assert len(ev) == 1, ev
    e = ev[0]
    assert (e["target"], e["result"], e["actor"]) == (n3, "evicted", "ringmaster"), e
    d = e["detail"] if isinstance(e["detail"], dict) else json.loads(e["detail"])
    assert d["host_id"] == hid3 and d["node_ttl_ms"] == 8000, d
    assert d["removenode_task"] is None and "node_ttl" in d["reason"], d
    assert o.ok("GET", "/api/v1/clusters/sim")["nodes"] == 2
    assert "\nringmaster_evictions_total 1\n" in o.get("/metrics").text
    # No removenode without evict_removenode.
    assert not [t for t in o.ok("GET", "/api/v1/clusters/sim/tasks")["items"]
                if t["type"] == "removenode"]

    # node2's agent has been silent as long: agent_down, never evicted.
    n = orch_nodes(o)[n2]
    assert n["state"] == "agent_down", n
    time.sleep(4)    # more sweeps (every second) past node2's node_ttl
    assert n2 in orch_nodes(o) and len(events(o, "evict")) == 1


def test_evict_removenode_removes_from_the_ring_first(
        sim_factory, orch_factory, tmp_path, monkeypatch):  # noqa: F811
    c, o = start(sim_factory, orch_factory, tmp_path, monkeypatch, node_ttl="6s",
                 evict_removenode=True)
    n1, n3 = c.address(c.names[0]), c.address(c.names[2])
    hid1 = orch_nodes(o)[n1]["host_id"]
    hid3 = orch_nodes(o)[n3]["host_id"]

    # A live node is never removed: refused, not retried.
    t = o.submit("sim", "removenode", host_id=hid1)
    t = o.wait_task(t["id"], states=("succeeded", "failed"), timeout=60)
    assert t["state"] == "failed" and "refused" in t["error"] and n1 in t["error"], t
    assert t["steps"][0]["attempts"] == 1, t

    c.kill(c.names[2])
    wait_for(lambda: n3 not in orch_nodes(o), "node3 evicted", timeout=90)
    rn = [t for t in o.ok("GET", "/api/v1/clusters/sim/tasks")["items"]
          if t["type"] == "removenode" and t["params"]["host_id"] == hid3]
    assert len(rn) == 1 and rn[0]["state"] == "succeeded", rn
    t = o.task(rn[0]["id"])
    assert f"removed host {hid3} ({n3}) from the ring through" in t["steps"][0]["message"], t
    e = [e for e in events(o, "evict") if e["target"] == n3]
    assert len(e) == 1 and e[0]["result"] == "evicted", e
    d = e[0]["detail"] if isinstance(e[0]["detail"], dict) else json.loads(e[0]["detail"])
    assert d["removenode_task"] == rn[0]["id"], d
    # Cassandra's view (the sim's): node3 is gone from the ring.
    out = subprocess.run([c.nodetool_path(c.names[0]), "status"], capture_output=True,
                         text=True, timeout=60).stdout
    assert hid3 not in out and hid1 in out, out
    # The host comes back with its old data: removed from the ring, its
    # host id has a tombstone, so its agent's check-in is refused.
    c.start(c.names[2], agent=str(RINGAGENT))
    wait_for(lambda: [e for e in events(o, "checkin")
                      if e["target"] == n3 and e["result"] == "refused"],
             "node3's check-in refused", timeout=60)
    assert n3 not in orch_nodes(o)


def test_node_whose_agent_reports_cassandra_down_is_dated_from_when_it_went_down(
        sim_factory, orch_factory, tmp_path, monkeypatch):  # noqa: F811
    """Its agent heartbeats on (status down), so its last heartbeat is
    always fresh: the node_ttl counts from when the sweep first saw it
    down, never from the last heartbeat (which would never be old)."""
    c, o = start(sim_factory, orch_factory, tmp_path, monkeypatch, node_ttl="10s")
    n3 = c.address(c.names[2])
    c.stop_cassandra(c.names[2])
    wait_for(lambda: orch_nodes(o)[n3]["state"] == "down", "node3 down", timeout=30)
    t0 = time.monotonic()
    wait_for(lambda: [e for e in events(o, "evict") if e["target"] == n3],
             "node3 evicted although its agent heartbeats", timeout=60)
    assert time.monotonic() - t0 >= 8, "evicted before node_ttl"
    e = [e for e in events(o, "evict") if e["target"] == n3][0]
    d = e["detail"] if isinstance(e["detail"], dict) else json.loads(e["detail"])
    assert d["down_ms"] > 10000 and d["node_ttl_ms"] == 10000, d
