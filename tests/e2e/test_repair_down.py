"""Repair while a node is down (orchestrator/tasks/repair.c, docs/repair.md
"While a node is down"): three simulated nodes with real sshd, agents and
the real orchestrator.

A segment whose node is not up, or whose repair Cassandra refuses because a
replica is not alive ("Endpoint not alive"), is postponed, not failed; the
last step, "postponed segments", runs them once the node is back, parked in
between, or after down_deadline ends the task naming what it did not
repair.  down_deadline "0" keeps the old behaviour (the task fails)."""
from agentutil import sim_factory, wait_for  # noqa: F401
from orch import orch, orch_factory  # noqa: F401
from test_agent_tasks import prepare

POSTPONED = "postponed segments"


def repair(o, agent, **params):
    # the per-node steps: parallelism 0 (the scheduler) is the default and
    # test_repair_parallel.py's subject
    params.setdefault("parallelism", 1)
    return o.submit("sim", "repair", agent=agent, timeout_s=60, **params)


def finished(o, tid, timeout=180):
    return o.wait_task(tid, states=("succeeded", "failed", "cancelled", "partial"),
                       timeout=timeout)


def node_state(o, addr):
    return {n["address"]: n for n in o.ok("GET", "/api/v1/clusters/sim/nodes")["items"]}[addr]["state"]


def test_down_node_postpones_segments_until_it_returns(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3)
    agent = prepare(c, orch, tmp_path)
    down = c.address(c.names[1])

    c.stop_cassandra(c.names[1])
    wait_for(lambda: node_state(orch, down) == "down", "node2 down in the orchestrator",
             timeout=30)
    t = repair(orch, agent, keyspace="ks1", down_deadline="10m")
    assert [s["name"] for s in t["steps"]] == ["repair"] * 3 + [POSTPONED], t["steps"]

    # Every segment ends (none failed); the task parks in its last step.
    def waiting():
        cur = orch.task(t["id"])
        last = cur["steps"][-1]
        if last["state"] == "running" and "wait for their nodes" in (last["message"] or ""):
            return cur
        assert cur["state"] == "running", cur
        return None
    cur = wait_for(waiting, "the last step to wait for node2", timeout=120)
    segs = cur["steps"][:3]
    assert all(s["state"] == "succeeded" for s in segs), segs
    own = [s for s in segs if s["node"] == down][0]
    assert own["message"].startswith(f"postponed: waiting for {down} (down)"), own
    postponed = [s for s in segs if s["message"].startswith("postponed: waiting for ")]
    for s in postponed:
        assert s["message"].startswith(f"postponed: waiting for {down} "), s
    others = [s for s in postponed if s["node"] != down]
    assert others, segs   # ks1 has RF 3 on three nodes: node2 is in every range
    for s in others:   # Cassandra's own words name the dead replica
        assert "Endpoint not alive" in s["message"] and down in s["message"], s
    assert cur["steps"][-1]["attempts"] == 1, cur["steps"][-1]

    c.start_cassandra(c.names[1])
    t = finished(orch, t["id"])
    assert t["state"] == "succeeded", t
    last = t["steps"][-1]
    assert last["message"] == (f"all {len(postponed)} postponed segments repaired once "
                               f"their nodes were back"), last
    assert last["attempts"] == 1, last
    nodes = {n["node"] for n in last.get("nodes") or []}
    assert nodes <= {s["node"] for s in postponed}, last


def n_postponed(t):
    return len([s for s in t["steps"] if (s["message"] or "").startswith("postponed: ")])


def test_node_that_never_returns_ends_the_task_partial(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3)
    agent = prepare(c, orch, tmp_path)
    down = c.address(c.names[2])
    c.stop_cassandra(c.names[2])
    wait_for(lambda: node_state(orch, down) == "down", "node3 down in the orchestrator",
             timeout=30)

    # down_deadline "0": the old rule, a down replica fails the task.
    t = finished(orch, repair(orch, agent, keyspace="ks1", down_deadline="0")["id"])
    assert t["state"] == "failed", t
    assert POSTPONED not in [s["name"] for s in t["steps"]]

    t = finished(orch, repair(orch, agent, keyspace="ks1", down_deadline="5s")["id"])
    assert t["state"] == "partial", t
    assert t["error"].startswith(f"{n_postponed(t)} of {n_postponed(t)} postponed segments "
                                 "not repaired"), t
    last = t["steps"][-1]
    assert last["name"] == POSTPONED and last["message"].startswith("partial: "), last
    n = len([s for s in t["steps"][:3] if s["message"].startswith("postponed: ")])
    assert n >= 1
    assert f"{n} of {n} postponed segments not repaired" in last["message"], last
    assert f"repair on {down} (waiting for {down})" in last["message"], last
    assert "down_deadline (5s)" in last["message"], last


def test_bad_down_deadline_is_refused(sim_factory, orch, tmp_path):  # noqa: F811
    orch.create_cluster("sim")
    for bad in ("soon", "12h", "-1s"):
        r = orch.post("/api/v1/clusters/sim/tasks",
                      {"type": "repair", "params": {"down_deadline": bad}})
        assert r.status_code == 400 and "down_deadline" in r.text, (bad, r.text)
