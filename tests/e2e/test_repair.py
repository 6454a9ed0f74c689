"""The repair task type (orchestrator/tasks/repair.c, agent/repair.c) against
three simulated nodes with real sshd, agents and the real orchestrator:
whole-cluster repair with nodetool's own progress, segments that tile each
node's primary ranges, RF 1, bad params, kill -9 and resume, a node down,
cancel during a segment."""
import json
import subprocess
import time

from agentutil import RINGAGENT, sim_factory, simlib, wait_for  # noqa: F401
from orch import orch, orch_factory  # noqa: F401
from test_agent_tasks import prepare

SIMCTL = str(simlib.__file__).replace("simlib.py", "simctl")


def set_knob(c, key, value):
    for n in c.names:
        subprocess.run(["/usr/bin/python3", SIMCTL, "set", str(c.dir), n, key, value],
                       check=True, capture_output=True)


def repair(o, agent, **params):
    # the per-node steps: parallelism 0 (the scheduler) is the default and
    # test_repair_parallel.py's subject
    params.setdefault("parallelism", 1)
    return o.submit("sim", "repair", agent=agent, timeout_s=60, **params)


def finished(o, tid, timeout=180):
    return o.wait_task(tid, states=("succeeded", "failed", "cancelled"), timeout=timeout)


def segments(t):
    """The segment steps of a repair task; its last step, "postponed
    segments" (test_repair_down.py), found nothing postponed."""
    last = t["steps"][-1]
    assert last["name"] == "postponed segments" and last["node"] is None, last
    if t["state"] == "succeeded":
        assert last["message"] == "no segment was postponed: every node was up", last
    return t["steps"][:-1]


def parse_ranges(message):
    """'segment 2/4 ranges (a,b] (c,d]: ...' -> [(a, b), (c, d)]"""
    head = message.split("ranges ", 1)[1].split(":", 1)[0]
    out = []
    for r in head.split():
        a, b = r.strip("(]").split(",")
        out.append((int(a), int(b)))
    return out


def test_repair_whole_cluster_segments_rf1_and_bad_params(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3, keyspaces=3, num_tokens=4)
    agent = prepare(c, orch, tmp_path)
    addrs = {c.address(n): n for n in c.names}

    # The whole cluster: one step per node, nodetool's own words in each.
    t = finished(orch, repair(orch, agent)["id"])
    assert t["state"] == "succeeded", t
    assert {s["node"] for s in segments(t)} == set(addrs)
    for s in segments(t):
        assert s["name"] == "repair" and s["attempts"] == 1, s
        assert s["message"].startswith("repaired ks1 ks2"), s["message"]
        assert "sessions" in s["message"] and "ks3 (RF 1)" in s["message"], s["message"]
    assert t["params"]["full"] is True and t["params"]["segments_per_node"] == 1

    # Four segments per node: 12 steps whose ranges tile the primary ranges.
    t = finished(orch, repair(orch, agent, keyspace="ks1", segments_per_node=4,
                              table=["t1", "t2"], full=False)["id"])
    assert t["state"] == "succeeded", t
    assert len(segments(t)) == 12
    assert [s["name"] for s in t["steps"][:3]] == ["repair segment 1/4"] * 3
    got = {a: [] for a in addrs}
    for s in segments(t):
        assert "repaired ks1" in s["message"], s["message"]
        got[s["node"]] += parse_ranges(s["message"])
    cluster = simlib.load_cluster(c.dir)
    for a, name in addrs.items():
        want = sorted((s, e) for s, e, owner, _ in simlib.token_ranges(cluster, "ks1")
                      if owner == name)
        assert sorted(got[a]) == want, a

    # RF 1: nothing to do, and that is a success.
    t = finished(orch, repair(orch, agent, keyspace="ks3")["id"])
    assert t["state"] == "succeeded", t
    for s in segments(t):
        assert s["message"].startswith("nothing to do"), s["message"]
        assert "ks3" in s["message"]

    # Bad params: 400 and no task.
    before = len(orch.ok("GET", "/api/v1/clusters/sim/tasks")["items"])
    for bad in ({"segments_per_node": 0}, {"segments_per_node": 1025},
                {"segments_per_node": "4"}, {"full": "yes"}, {"intensity": 0},
                {"intensity": 1.5}, {"table": "t1"}, {"keyspace": "ks1; rm -rf /"},
                {"keyspace": "ks1", "table": ["t1", 3]}, {"parallelism": 1025},
                {"colour": "red"}, {"agent": "ringagent; reboot"}):
        r = orch.post("/api/v1/clusters/sim/tasks", {"type": "repair", "params": bad})
        assert r.status_code == 400, (bad, r.text)
        assert "params" in r.text or "parameter" in r.text, r.text
    assert len(orch.ok("GET", "/api/v1/clusters/sim/tasks")["items"]) == before


def test_repair_resumes_after_kill9_without_rerunning_finished_segments(
        sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3, num_tokens=4)
    agent = prepare(c, orch, tmp_path)
    set_knob(c, "repair_delay", "0.4")
    t = repair(orch, agent, keyspace="ks1", segments_per_node=2)
    wait_for(lambda: sum(s["state"] == "succeeded" for s in orch.task(t["id"])["steps"]) >= 2,
             "two segments done", timeout=60)
    at_kill = orch.task(t["id"])["steps"]
    orch.kill9()
    done = {s["idx"]: s for s in at_kill if s["state"] == "succeeded"}
    assert 2 <= len(done) < 6, at_kill
    orch.start()
    t = finished(orch, t["id"], timeout=90)
    assert t["state"] == "succeeded", t
    steps = {s["idx"]: s for s in segments(t)}
    assert len(steps) == 6
    for i, s in done.items():
        # finished before the kill: not run again
        assert steps[i]["attempts"] == 1, steps[i]
        assert steps[i]["started_at"] == s["started_at"], (steps[i], s)
        assert steps[i]["finished_at"] == s["finished_at"], (steps[i], s)
    rerun = [s for s in steps.values() if s["attempts"] > 1]
    # only the segment running at the kill ran again (at most one)
    assert len(rerun) <= 1, steps
    for s in rerun:
        assert at_kill[s["idx"]]["state"] in ("running", "pending"), at_kill


def test_repair_node_down_fails_naming_it_and_cancel_stops_a_segment(
        sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3)
    agent = prepare(c, orch, tmp_path)

    # Cancel while a segment runs: the step ends cancelled, the rest too.
    set_knob(c, "repair_delay", "3")
    t = repair(orch, agent, keyspace="ks1")
    wait_for(lambda: "repairing the primary ranges" in (orch.task(t["id"])["steps"][0]["message"]
                                                        or ""), "a repair started", timeout=30)
    time.sleep(1)  # nodetool is inside a session now (3 s each)
    t0 = time.monotonic()
    orch.ok("POST", f"/api/v1/tasks/{t['id']}/cancel")
    t = finished(orch, t["id"], timeout=30)
    assert t["state"] == "cancelled", t
    assert time.monotonic() - t0 < 8, "cancel waited for the repair to end"
    assert [s["state"] for s in segments(t)] == ["cancelled"] * 3, t["steps"]
    assert t["steps"][-1]["state"] == "cancelled", t["steps"]
    n1 = c.node_dir(c.names[0])
    def repairs():
        out = []
        for p in simlib.node_pids(n1):
            try:
                cmd = open(f"/proc/{p}/cmdline").read().replace("\0", " ")
            except OSError:
                continue
            if " repair" in cmd:
                out.append(cmd)
        return out
    wait_for(lambda: not repairs(), "nodetool repair killed", timeout=10)

    # A replica down: Cassandra refuses at once; the task fails naming it.
    set_knob(c, "repair_delay", "0.02")
    c.stop_cassandra(c.names[1])
    down = c.address(c.names[1])
    # down_deadline "0": the segment fails instead of waiting for the
    # node (test_repair_down.py covers the waiting).
    t = finished(orch, repair(orch, agent, keyspace="ks1", down_deadline="0")["id"],
                 timeout=60)
    assert t["state"] == "failed", t
    assert "Endpoint not alive" in t["error"] and down in t["error"], t["error"]
    assert t["steps"][0]["state"] == "failed"


# Real 4.1.1 output (captures/repair-full.txt) with the JMX notifications
# nodetool can miss cut out: no "Starting" line, no session lines.
MISSED = """[2026-12-05 20:29:45,740] Repair completed successfully
[2026-12-05 20:29:45,743] Repair command #1 finished in 0 seconds
[2026-12-05 20:29:45,751] condition satisfied queried for parent session status and discovered repair completed.
[2026-12-05 20:29:45,751] Repair completed successfully
"""
SESSIONS_ONLY = """[2026-12-05 20:29:45,687] Repair session 9bdb9ab0-f0ea-11f1-a347-5542d5bb3ca0 for range [(-7241431704199881464,-6527416172599064061]] finished (progress: 57%)
[2026-12-05 20:29:45,706] Repair session 9be00780-f0ea-11f1-a347-5542d5bb3ca0 for range [(-4757157886623084234,-4569015060176603786]] finished (progress: 57%)
[2026-12-05 20:29:45,740] Repair completed successfully
[2026-12-05 20:29:45,743] Repair command #1 finished in 0 seconds
"""


def test_agent_repair_counts_work_when_nodetool_missed_lines(tmp_path):
    """`ringagent repair` with a nodetool whose output lost notifications:
    a repair that ran is never reported as 0 sessions or nothing to do."""
    out = tmp_path / "out.txt"
    nt = tmp_path / "nodetool"
    nt.write_text(f"#!/bin/sh\ncat {out}\n")
    nt.chmod(0o755)
    conf = tmp_path / "agent.conf"
    conf.write_text(f"nodetool = {nt}\ndata_dirs = {tmp_path}\naddress = 127.0.0.1\n")
    for text, keyspace, sessions, exact in ((MISSED, "shop", 1, False),
                                            (SESSIONS_ONLY, "shop", 2, True),
                                            (MISSED, None, 1, False)):
        out.write_text(text)
        args = [str(RINGAGENT), "-f", str(conf), "repair", "--json"]
        if keyspace:
            args += ["--keyspace", keyspace]
        r = subprocess.run(args, capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stdout + r.stderr
        res = [ln for ln in r.stdout.splitlines() if '"type":"result"' in ln][-1]
        d = json.loads(res)["data"]
        assert d["commands"] == 1 and d["nothing_to_do"] is False, d
        assert d["sessions"] == sessions and d["sessions_exact"] is exact, d
        if keyspace:
            assert d["repaired"] == [keyspace] and d["unnamed_commands"] == 0, d
        else:
            assert d["repaired"] == [] and d["unnamed_commands"] == 1, d
