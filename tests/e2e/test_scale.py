"""Scaling and remediation on simulated nodes with real agents: scale-in
and decommission (nodes one by one: gate, nodetool decommission, gone
from every live peer's view, forgotten), refused for disk and RF with the
numbers; scale-out through the sim provider one bootstrap slot at a time,
then cleanup on the old nodes; remediate (every node replaced, one by
one); a node that does not come back; kill -9 between nodes."""
import re
import time

from agentutil import RINGAGENT, orch_nodes, sim_factory, wait_for  # noqa: F401
from orch import orch_factory  # noqa: F401
from test_replace import HB_TIMEOUT, events, start_cluster, status_rows


def make_cluster(sim_factory, orch_factory, nodes=3, settings=None, provider=False):  # noqa: F811
    """A sim cluster with agents checked in, the orchestrator with the sim's
    SSH settings; returns (c, orch, agent command template).  The template
    finds a node's agent config by its address, so the hosts the provider
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
    # The agent of any sim node, found by its address (new hosts too).
    agent = orch.tmp / "agent-by-address"
    agent.write_text(f"""#!/bin/sh
a="$1"; shift
for d in {c.dir}/nodes/*/; do
  if grep -q "\\"address\\": \\"$a\\"" "$d/node.json"; then exec {RINGAGENT} -f "$d/agent.conf" "$@"; fi
done
echo "no sim node at $a" >&2
exit 127
""")
    agent.chmod(0o755)
    return c, orch, f"{agent} {{address}}"


def steps_of(t):
    return [(s["name"], s["node"], s["state"]) for s in t["steps"]]


def void_provider(orch):
    """Make the cluster's provider answer a host where nothing runs: it
    never checks in."""
    prov = orch.tmp / "provider-void"
    prov.write_text('#!/bin/sh\necho \'{"address": "127.0.0.254"}\'\n')
    prov.chmod(0o755)
    orch.ok("PATCH", "/api/v1/clusters/sim", {"settings": {"provider": "command",
                                                          "provider_command": str(prov)}})


def kill9_when(orch, cond, what):
    """kill -9 the orchestrator once cond() holds, start it again on the
    same data directory."""
    wait_for(cond, what, timeout=240)
    orch.kill9()
    time.sleep(1)
    orch.start()


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
    time.sleep(5)       # flushed to the store, which the plan reads
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
    # The API shows heartbeats not yet flushed; submission reads the store,
    # which the flusher writes every heartbeat_flush (1 s): a few flushes.
    time.sleep(5)
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


def joins_never_overlap(c):
    joins = sorted(c.state.get("joins", []), key=lambda j: j["start"])
    for a, b in zip(joins, joins[1:]):
        assert b["start"] >= a["until"], joins
    return joins


def test_scale_out_adds_nodes_one_slot_at_a_time_then_cleans_up(sim_factory, orch_factory):  # noqa: F811
    c, orch, agent = make_cluster(sim_factory, orch_factory, provider=True)
    old = [c.address(n) for n in c.names]
    t = orch.submit("sim", "scale-out", count=2, agent=agent)
    t = orch.wait_task(t["id"], timeout=240)
    p = c.state.get("provisions", [])
    assert len(p) == 2 and not any(x["again"] for x in p), p
    joins = joins_never_overlap(c)
    assert [j["name"] for j in joins] == [x["name"] for x in p], joins
    ns = orch_nodes(orch)
    for x in p:
        assert ns[x["address"]]["state"] == "up", ns[x["address"]]
        assert status_rows(c, "node1")[x["address"]] == "UN"
    # cleanup on each old node, in order, after the last join; none on the new ones
    for a in old:
        name = next(n for n in c.names if c.address(n) == a)
        assert c.node(name).get("cleanups", 0) >= 1, name
    for x in p:
        assert not c.node(x["name"]).get("cleanups"), x
    names = [s["name"] for s in t["steps"]]
    assert names == ["gate", "add-1", "add-2"] + ["gate", "cleanup"] * 3, names
    assert [s["node"] for s in t["steps"] if s["name"] == "cleanup"] == sorted(old, key=lambda a: tuple(
        int(x) for x in a.split("."))), t["steps"]
    joined = [e for e in events(orch, "scale-out") if e["result"] == "joined"]
    assert [e["target"] for e in joined] == [x["address"] for x in p], joined


def test_a_new_node_that_never_joins_stops_scale_out_before_the_next(sim_factory, orch_factory):  # noqa: F811
    c, orch, agent = make_cluster(sim_factory, orch_factory)
    void_provider(orch)
    t = orch.submit("sim", "scale-out", count=2, join_timeout_s=5, agent=agent)
    t = orch.wait_task(t["id"], states=("failed",), timeout=120)
    assert "new node 127.0.0.254 did not join within join_timeout_s (5 s)" in t["error"], t["error"]
    assert "127.0.0.254 has not checked in yet" in t["error"], t["error"]
    st = {s["name"]: s["state"] for s in t["steps"]}
    assert st["add-1"] == "failed" and st["add-2"] != "succeeded", st
    assert not any(s["name"] == "cleanup" and s["state"] == "succeeded" for s in t["steps"])
    failed = [e for e in events(orch, "scale-out") if e["result"] == "failed"]
    assert len(failed) == 1 and failed[0]["detail"]["task"] == t["id"], failed
    assert not any(c.node(n).get("cleanups") for n in c.names)


def test_kill_9_between_nodes_resumes_without_repeating_a_node(sim_factory, orch_factory):  # noqa: F811
    c, orch, agent = make_cluster(sim_factory, orch_factory, nodes=5)
    a4, a5 = c.address("node4"), c.address("node5")
    c.set("node5", "decommission_seconds", 5.0)
    t = orch.submit("sim", "decommission", nodes=[a4, a5], agent=agent)

    def second_leaving():
        d = orch.task(t["id"])
        steps = {(s["name"], s["node"]): s["state"] for s in d["steps"]}
        return steps[("forget", a4)] == "succeeded" and steps[("decommission", a5)] == "running"
    kill9_when(orch, second_leaving, "node4 done, node5 leaving")
    d = orch.wait_task(t["id"], timeout=180)
    assert decommissions(c) == ["node4", "node5"], c.state.get("decommissions")
    for name in ("node4", "node5"):
        assert_left(c, orch, name)
    first = [s for s in d["steps"] if s["node"] == a4]
    assert all(s["attempts"] == 1 for s in first), first


def test_remediate_replaces_every_node_one_by_one(sim_factory, orch_factory):  # noqa: F811
    c, orch, agent = make_cluster(sim_factory, orch_factory, provider=True)
    old = {c.address(n): list(c.node(n)["tokens"]) for n in c.names}
    t = orch.submit("sim", "remediate", agent=agent, gate_timeout_s=120)
    down_seen = []

    def done():
        viewer = sorted(n["name"] for n in c.state["nodes"] if n.get("up"))[0]
        rows = status_rows(c, viewer)
        # DN only: the sim lists a provisioned host DJ until it starts
        down_seen.append((sum(1 for v in rows.values() if v == "DN"), viewer, rows))
        return orch.task(t["id"])["state"] in ("succeeded", "failed")
    wait_for(done, "remediate done", timeout=600)
    t = orch.task(t["id"])
    assert t["state"] == "succeeded", t
    # never two nodes down at once
    assert max(d[0] for d in down_seen) <= 1, [d for d in down_seen if d[0] > 1]
    reps = sorted(c.state.get("replacements", []), key=lambda r: r["start"])
    assert sorted(r["dead"] for r in reps) == sorted(old), reps
    for a, b in zip(reps, reps[1:]):
        assert b["start"] >= a["until"], reps
    ring = {n["address"]: n for n in c.state["nodes"] if not n.get("removed")}
    for dead, tokens in old.items():
        assert dead not in ring and dead not in orch_nodes(orch)
        new = [n for n in ring.values() if sorted(n["tokens"]) == sorted(tokens)]
        assert len(new) == 1 and new[0]["up"] and new[0]["status"] == "Normal", new
    done_ev = [e["target"] for e in events(orch, "remediate") if e["result"] == "done"]
    assert sorted(done_ev) == sorted(old), done_ev


def test_pause_between_nodes_touches_no_further_node_until_resumed(sim_factory, orch_factory):  # noqa: F811
    c, orch, agent = make_cluster(sim_factory, orch_factory, nodes=5)
    a4, a5 = c.address("node4"), c.address("node5")
    c.set("node4", "decommission_seconds", 3.0)
    t = orch.submit("sim", "decommission", nodes=[a4, a5], agent=agent)
    wait_for(lambda: {(s["name"], s["node"]): s["state"] for s in orch.task(t["id"])["steps"]}
             [("decommission", a4)] == "running", "node4 leaving", timeout=120)
    orch.ok("POST", f"/api/v1/tasks/{t['id']}/pause")
    # node4 finishes its steps; the task stops before node5.
    wait_for(lambda: orch.task(t["id"])["state"] == "paused", "paused", timeout=120)
    time.sleep(3)
    assert decommissions(c) == ["node4"], c.state.get("decommissions")
    assert status_rows(c, "node1")[a5] == "UN"
    steps = {(s["name"], s["node"]): s["state"] for s in orch.task(t["id"])["steps"]}
    assert steps[("decommission", a5)] == "pending", steps
    orch.ok("POST", f"/api/v1/tasks/{t['id']}/resume")
    orch.wait_task(t["id"], timeout=180)
    assert decommissions(c) == ["node4", "node5"]


def step_states(orch, tid):
    return {(s["name"], s["node"]): s["state"] for s in orch.task(tid)["steps"]}


def test_remediate_paused_mid_replacement_finishes_that_node_first(sim_factory, orch_factory):  # noqa: F811
    c, orch, agent = make_cluster(sim_factory, orch_factory, provider=True)
    a2, a3 = c.address("node2"), c.address("node3")
    t = orch.submit("sim", "remediate", nodes=[a3, a2], agent=agent, gate_timeout_s=120)
    # Paused while node3 is down and its replacement is on its way: the
    # pause waits until the new host is in, then stops before node2.
    wait_for(lambda: step_states(orch, t["id"])[("stop", a3)] == "succeeded",
             "node3 stopped", timeout=120)
    orch.ok("POST", f"/api/v1/tasks/{t['id']}/pause")
    wait_for(lambda: orch.task(t["id"])["state"] == "paused", "paused", timeout=240)
    steps = step_states(orch, t["id"])
    for name in ("slot", "host", "join", "finish", "retire"):
        assert steps[(name, a3)] == "succeeded", steps
    assert steps[("gate", a2)] != "succeeded" and steps[("stop", a2)] == "pending", steps
    time.sleep(3)
    assert status_rows(c, "node1")[a2] == "UN"
    reps = c.state.get("replacements", [])
    assert [r["dead"] for r in reps] == [a3], reps
    new = c.node(reps[0]["name"])
    assert new.get("up") and status_rows(c, "node1")[new["address"]] == "UN", new
    orch.ok("POST", f"/api/v1/tasks/{t['id']}/resume")
    d = orch.wait_task(t["id"], states=("succeeded", "failed"), timeout=300)
    assert d["state"] == "succeeded", d
    assert sorted(r["dead"] for r in c.state.get("replacements", [])) == sorted([a2, a3])


def test_remediate_stops_when_a_new_host_never_joins(sim_factory, orch_factory):  # noqa: F811
    c, orch, agent = make_cluster(sim_factory, orch_factory)
    a2, a3 = c.address("node2"), c.address("node3")
    void_provider(orch)
    t = orch.submit("sim", "remediate", nodes=[a3, a2], agent=agent, timeout_s=8,
                    gate_timeout_s=60)
    d = orch.wait_task(t["id"], states=("failed",), timeout=240)
    assert f"the replacement of {a3} did not finish within timeout_s (8 s)" in d["error"], d["error"]
    assert "127.0.0.254" in d["error"], d["error"]
    assert f"stopped at {a3}" in d["error"] and "not touched" in d["error"], d["error"]
    steps = {(s["name"], s["node"]): s["state"] for s in d["steps"]}
    assert steps[("join", a3)] == "failed", steps
    assert all(v != "succeeded" for (name, node), v in steps.items() if node == a2), steps
    # node2 untouched: never stopped, still UN; the slot is free again.
    assert status_rows(c, "node1")[a2] == "UN"
    assert c.node("node2").get("up") and not c.node("node2").get("drained"), c.node("node2")
    failed = [e for e in events(orch, "remediate") if e["result"] == "failed"]
    assert len(failed) == 1 and failed[0]["target"] == a3, failed
    assert failed[0]["detail"]["task"] == t["id"], failed
    assert [e for e in events(orch, "slot") if e["result"] == "freed"], events(orch, "slot")


def test_remediate_after_kill_9_resumes_on_its_node_and_repeats_none(sim_factory, orch_factory):  # noqa: F811
    c, orch, agent = make_cluster(sim_factory, orch_factory, provider=True)
    a2, a3 = c.address("node2"), c.address("node3")
    t = orch.submit("sim", "remediate", nodes=[a3, a2], agent=agent, gate_timeout_s=120)
    # Killed while the second node is being replaced.
    kill9_when(orch, lambda: step_states(orch, t["id"]).get(("join", a2)) == "running",
               "node2's replacement joining")
    d = orch.wait_task(t["id"], states=("succeeded", "failed"), timeout=300)
    assert d["state"] == "succeeded", d
    first = [s for s in d["steps"] if s["node"] == a3]
    assert all(s["attempts"] == 1 for s in first), first
    # The provider was asked once per node, each node replaced once.
    p = c.state.get("provisions", [])
    assert len(p) == 2 and not any(x["again"] for x in p), p
    reps = c.state.get("replacements", [])
    assert sorted(r["dead"] for r in reps) == sorted([a2, a3]), reps
    ns = orch_nodes(orch)
    assert a2 not in ns and a3 not in ns
    assert all(ns[x["address"]]["state"] == "up" for x in p), ns


def test_a_decommission_that_never_ends_stops_before_the_next_node(sim_factory, orch_factory):  # noqa: F811
    c, orch, agent = make_cluster(sim_factory, orch_factory, nodes=5)
    a4, a5 = c.address("node4"), c.address("node5")
    c.set("node4", "decommission_seconds", 600.0)
    t = orch.submit("sim", "decommission", nodes=[a4, a5], agent=agent, timeout_s=6,
                    max_attempts=1)
    d = orch.wait_task(t["id"], states=("failed",), timeout=180)
    assert a4 in d["error"], d["error"]
    steps = {(s["name"], s["node"]): s["state"] for s in d["steps"]}
    assert steps[("decommission", a4)] == "failed", steps
    assert all(v != "succeeded" for (name, node), v in steps.items() if node == a5), steps
    # node5 untouched, still UN; nothing left the ring.
    assert status_rows(c, "node1")[a5] == "UN"
    assert decommissions(c) == [], c.state.get("decommissions")
    assert "decommission timed out after 6 s" in d["error"], d["error"]
    assert f"stopped at {a4}; the nodes after it were not touched" in d["error"], d["error"]
    failed = [e for e in events(orch, "scale") if e["result"] == "failed"]
    assert [e["target"] for e in failed] == [a4], failed
    assert failed[0]["detail"]["task"] == t["id"], failed


def test_scale_out_after_kill_9_adds_no_host_twice(sim_factory, orch_factory):  # noqa: F811
    c, orch, agent = make_cluster(sim_factory, orch_factory, provider=True)
    t = orch.submit("sim", "scale-out", count=2, agent=agent)
    kill9_when(orch, lambda: step_states(orch, t["id"]).get(("add-2", None)) == "running",
               "the second host being added")
    d = orch.wait_task(t["id"], states=("succeeded", "failed"), timeout=300)
    assert d["state"] == "succeeded", d
    # One host per add step: the provider, asked again with the same key
    # after the restart, answers the host it booted.
    p = c.state.get("provisions", [])
    new = [x for x in p if not x["again"]]
    assert len(new) == 2, p
    assert [s["attempts"] for s in d["steps"] if s["name"] == "add-1"] == [1], d["steps"]
    joins = joins_never_overlap(c)
    assert [j["name"] for j in joins] == [x["name"] for x in new], joins
    ns = orch_nodes(orch)
    assert all(ns[x["address"]]["state"] == "up" for x in new), ns
