"""Scaling and remediation on simulated nodes with real agents: scale-in
and decommission (nodes one by one: gate, nodetool decommission, gone
from every live peer's view, forgotten), refused for disk and RF with the
numbers; scale-out through the sim provider one bootstrap slot at a time,
then cleanup on the old nodes; remediate (every node replaced, one by
one); a node that does not come back; kill -9 between nodes."""
import os
import re

from agentutil import RINGAGENT, orch_nodes, sim_factory, wait_for  # noqa: F401
from orch import orch_factory  # noqa: F401
from test_replace import HB_TIMEOUT, events, start_cluster, status_rows


def make_cluster(sim_factory, orch_factory, nodes=3, settings=None, provider=False):  # noqa: F811
    """A sim cluster with agents checked in, the orchestrator with the sim's
    SSH settings; returns (c, orch, agent command template).  Agent configs
    are found by address through symlinks (links()) so nodes the provider
    adds are reached too."""
    from test_replace import sim_provider
    orch = orch_factory(conf={"heartbeat_timeout": HB_TIMEOUT})
    c = sim_factory(nodes=nodes)
    body = {"name": "sim", "storage": {"url": f"file://{orch.tmp}/store"},
            "ssh": {"user": "root", "port": c.ssh_port, "key_file": c.key}}
    if provider:
        body["settings"] = {"provider": "sim",
                            "provider_command": str(sim_provider(orch, c, boot=1.0))}
    if settings:
        body.setdefault("settings", {}).update(settings)
    orch.ok("POST", "/api/v1/clusters", body, status=201)
    start_cluster(sim_factory, orch, c=c, nodes=nodes)
    # The disk check needs every node's load from a heartbeat.
    wait_for(lambda: all(n.get("load_bytes", 0) > 0 for n in orch_nodes(orch).values()),
             "every node's load reported", timeout=30)
    confs = orch.tmp / "confs"
    confs.mkdir(exist_ok=True)
    links(c, confs)
    return c, orch, f"{RINGAGENT} -f {confs}/{{address}}.conf"


def links(c, confs):
    for n in c.state["nodes"]:
        conf = os.path.join(c.node_dir(n["name"]), "agent.conf")
        link = confs / f"{n['address']}.conf"
        if os.path.exists(conf) and not link.exists():
            os.symlink(conf, link)


def steps_of(t):
    return [(s["name"], s["node"], s["state"]) for s in t["steps"]]


def decommissions(c):
    return [d["name"] for d in c.state.get("decommissions", [])]


def assert_left(c, orch, name):
    """name left the ring (sim), no live node lists it, the orchestrator
    forgot it and kept a decommission event."""
    addr = c.address(name)
    assert name in decommissions(c), c.state.get("decommissions")
    for n in c.names:
        if n != name and c.node(n).get("up") and not c.node(n).get("decommissioned"):
            assert addr not in status_rows(c, n), (n, status_rows(c, n))
    assert addr not in orch_nodes(orch)
    done = [e for e in events(orch, "decommission") if e["target"] == addr]
    assert [e["result"] for e in done] == ["done"], done


def test_scale_in_takes_the_chosen_node_out_one_by_one(sim_factory, orch_factory):  # noqa: F811
    c, orch, agent = make_cluster(sim_factory, orch_factory, nodes=4)
    c.set("node3", "decommission_seconds", 2.0)
    # The choice (one rack, no pinned seed): the least load to stream.
    for n in ("node1", "node2", "node4"):
        c.set(n, "load_extra", 10 << 20)
    wait_for(lambda: all(orch_nodes(orch)[c.address(n)].get("load_bytes", 0) > 10 << 20
                         for n in ("node1", "node2", "node4")), "loads reported", timeout=30)
    t = orch.submit("sim", "scale-in", count=1, agent=agent)
    d = orch.task(t["id"])
    assert [s[:2] for s in steps_of(d)] == [("check", None)] + [
        (s, c.address("node3")) for s in ("gate", "decommission", "gone", "forget")], steps_of(d)

    seen_ul = []

    def leaving():
        rows = status_rows(c, "node1")
        if rows.get(c.address("node3")) == "UL":
            seen_ul.append(True)
        return orch.task(t["id"])["state"] in ("succeeded", "failed")
    wait_for(leaving, "scale-in done", timeout=120)
    t = orch.task(t["id"])
    assert t["state"] == "succeeded", t
    assert seen_ul, "node3 was never seen UL by a peer"
    assert_left(c, orch, "node3")
    assert decommissions(c) == ["node3"]
    # Its agent still runs: its heartbeats are answered "who are you?", its
    # check-in is refused (tombstone), and it is never listed again.
    addr = c.address("node3")
    wait_for(lambda: [e for e in events(orch, "checkin") if e["target"] == addr
                      and e["result"] == "refused"], "node3's check-in refused", timeout=60)
    ev = [e for e in events(orch, "checkin") if e["target"] == addr][0]
    assert ev["detail"]["task"] == t["id"] and ev["detail"]["reason"] == "decommissioned", ev
    assert addr not in orch_nodes(orch)


def test_decommission_refused_for_disk_with_the_numbers(sim_factory, orch_factory):  # noqa: F811
    c, orch, agent = make_cluster(sim_factory, orch_factory, nodes=4)
    c.set("node4", "load_extra", 1 << 60)           # 1 EiB: no disk holds it
    addr = c.address("node4")
    wait_for(lambda: orch_nodes(orch)[addr].get("load_bytes", 0) >= 1 << 60,
             "node4's load reported", timeout=30)
    r = orch.post("/api/v1/clusters/sim/tasks", {"type": "decommission",
                                                  "params": {"nodes": [addr], "agent": agent}})
    assert r.status_code == 409, r.text
    msg = r.json()["error"]["message"]
    assert "not enough disk in dc" in msg and str(1 << 60) in msg and "headroom" in msg, msg
    assert "1024.00 PiB" in msg, msg
    # Nothing recorded, nothing touched.
    assert orch.ok("GET", "/api/v1/clusters/sim/tasks")["items"] == []
    assert decommissions(c) == [] and status_rows(c, "node1")[addr] == "UN"


def test_decommission_refused_for_rf_with_the_numbers(sim_factory, orch_factory):  # noqa: F811
    c, orch, agent = make_cluster(sim_factory, orch_factory)   # ks1: NetworkTopologyStrategy RF 3
    addr = c.address("node3")
    t = orch.submit("sim", "decommission", nodes=[addr], agent=agent)
    t = orch.wait_task(t["id"], states=("failed",), timeout=60)
    # system_distributed (SimpleStrategy RF 3) and ks1 (NTS datacenter1: 3) both
    # need the three nodes; the first one in Cassandra's order is named.
    assert re.search(r"refused: keyspace \w+ has RF 3 .*but only 2 of its 3 node\(s\) would "
                     r"stay", t["error"]), t["error"]
    states = {(s["name"], s["node"]): s["state"] for s in t["steps"]}
    assert states[("decommission", addr)] != "succeeded", states
    assert decommissions(c) == [] and status_rows(c, "node1")[addr] == "UN"
    assert any(e["result"] == "refused" for e in events(orch, "scale")), events(orch, "scale")
