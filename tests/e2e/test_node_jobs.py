"""Node operations are jobs on the node (orchestrator/nodes/nodeops.c,
agent `ringagent job`): a step's job keeps running when the orchestrator is
killed or a node's sshd goes away, and the step attaches to it again as the
same attempt; a cancel reaches the job on the node.  Three simulated nodes
with real sshd, agents and the real orchestrator; a slow repair gives a step
that runs for seconds."""
import json
import time
from pathlib import Path

from agentutil import sim_factory, simlib, wait_for  # noqa: F401
from orch import orch, orch_factory  # noqa: F401
from test_agent_tasks import prepare
from test_repair import finished, repair, set_knob


def jobs_of(c, name, task_id, op="repair"):
    """{job id: [events]} of a task's jobs of op in node name's journal (a
    repair's first step also runs `autorepair` on every node, docs/repair.md)."""
    d = Path(c.node_dir(name)) / "agent-state" / "jobs"
    out = {}
    for j in sorted(d.glob(task_id + ".*")) if d.is_dir() else []:
        try:
            argv = json.loads((j / "argv").read_text())
        except (OSError, ValueError):
            continue
        if not argv or argv[0] != op:
            continue
        ev = j / "events"
        lines = ev.read_text().splitlines() if ev.exists() else []
        out[j.name] = [json.loads(x) for x in lines if x.startswith("{")]
    return out


def all_jobs(c, task_id):
    out = {}
    for n in c.names:
        for k, v in jobs_of(c, n, task_id).items():
            out[(n, k)] = v
    return out


def starts(events):
    return sum(e.get("event") == "start" for e in events)


def slow_repair(c, o, tmp_path, delay):
    """A repair of ks1 whose sessions take delay seconds each, once the
    first node's job has started: (task, first node's name)."""
    agent = prepare(c, o, tmp_path)
    set_knob(c, "repair_delay", str(delay))
    first = c.names[0]
    t = repair(o, agent, keyspace="ks1")
    wait_for(lambda: any(starts(ev) for ev in jobs_of(c, first, t["id"]).values()),
             "the first node's job started", timeout=30)
    return t, first


def running_step(o, tid):
    t = o.task(tid)
    run = [s for s in t["steps"] if s["state"] == "running"]
    return run[0] if run else None


def test_kill9_mid_step_reattaches_as_the_same_attempt(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3)
    # A job runs on the first node: the orchestrator dies under it.
    t, _ = slow_repair(c, orch, tmp_path, 1.5)
    wait_for(lambda: running_step(orch, t["id"]) is not None, "a step running", timeout=30)
    orch.kill9()
    assert all_jobs(c, t["id"]), "no job on any node"
    time.sleep(2)
    # The job went on without the orchestrator.
    for (n, jid), ev in all_jobs(c, t["id"]).items():
        assert starts(ev) == 1, (n, jid, ev)
    orch.start()
    t = finished(orch, t["id"], timeout=120)
    assert t["state"] == "succeeded", t
    for s in t["steps"]:
        assert s["attempts"] == 1, s
    jobs = all_jobs(c, t["id"])
    assert len(jobs) == 3, jobs
    for (n, jid), ev in jobs.items():
        assert starts(ev) == 1, (n, jid, ev)
        ends = [e for e in ev if e.get("event") == "end"]
        assert len(ends) == 1 and ends[0].get("exit") == 0, (n, jid, ev)
    # The one running at the kill was attached again, not started again.
    assert any(any(e.get("event") == "attach" for e in ev) for ev in jobs.values()), jobs


def test_ssh_outage_mid_job_is_waited_out(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3)
    t, first = slow_repair(c, orch, tmp_path, 1.5)
    simlib.stop_sshd(c.dir, first, hard=True)
    time.sleep(10)
    # Ten seconds without SSH: the task still runs, its step not failed.
    mid = orch.task(t["id"])
    assert mid["state"] == "running", mid
    assert mid["steps"][0]["state"] == "running" and mid["steps"][0]["attempts"] == 1, mid
    simlib.start_sshd(c.dir, first)
    t = finished(orch, t["id"], timeout=120)
    assert t["state"] == "succeeded", t
    for s in t["steps"]:
        assert s["attempts"] == 1, s
    for (n, jid), ev in all_jobs(c, t["id"]).items():
        assert starts(ev) == 1, (n, jid, ev)
    assert "answers again" in orch.log_tail(400) or "lost contact" in orch.log_tail(400)


def test_cancel_reaches_the_job_on_the_node(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3)
    t, first = slow_repair(c, orch, tmp_path, 3)
    time.sleep(1)
    orch.ok("POST", f"/api/v1/tasks/{t['id']}/cancel")
    t = finished(orch, t["id"], timeout=30)
    assert t["state"] == "cancelled", t
    jobs = jobs_of(c, first, t["id"])
    assert len(jobs) == 1, jobs
    (jid, ev), = jobs.items()
    assert any(e.get("event") == "cancel" for e in ev), ev
    def ended():
        return [e for e in jobs_of(c, first, t["id"])[jid] if e.get("event") == "end"]
    wait_for(ended, "the job ended on the node", timeout=15)
    assert ended()[0].get("exit") == 6, ended()      # the op's "cancelled"
