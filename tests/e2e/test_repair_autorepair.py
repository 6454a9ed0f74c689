"""Cassandra's own auto-repair (CEP-37) and the repair task (docs/repair.md,
"Cassandra's own auto-repair"; orchestrator/tasks/repair_auto.c,
agent/autorepair.c), and the cancel of a full repair reaching its sessions
inside Cassandra (agent/repair_admin.c), on three simulated nodes with real
sshd, agents and orchestrator.

The sim's auto_repair knob makes a node a build with CEP-37 that runs the
types named; without it the sim answers getautorepairconfig exactly as real
4.1.1 does (an unknown command, exit 1)."""
import json
import subprocess
import time
from pathlib import Path

from agentutil import RINGAGENT, sim_factory, wait_for  # noqa: F401
from orch import orch, orch_factory  # noqa: F401
from test_agent_tasks import prepare


def finished(o, tid, timeout=240):
    return o.wait_task(tid, states=("succeeded", "failed", "cancelled"), timeout=timeout)


def node_json(c, name):
    return json.loads((Path(c.node_dir(name)) / "node.json").read_text())


def repair_commands(c):
    """How many repair commands each node's "Cassandra" has started."""
    return {n: node_json(c, n).get("repair_command", 0) for n in c.names}


def autorepair(c, name):
    """`ringagent autorepair --json` on the node: its result line's data."""
    conf = Path(c.node_dir(name)) / "agent.conf"
    p = subprocess.run([str(RINGAGENT), "-f", str(conf), "autorepair", "--json"],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, (p.stdout, p.stderr)
    last = json.loads(p.stdout.strip().splitlines()[-1])
    return last["data"]


def test_auto_repair_refused_forced_and_absent_on_41(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3, num_tokens=2)   # few segments: the test is about the gate
    agent = prepare(c, orch, tmp_path)
    n2 = c.names[1]
    addr2 = c.address(n2)

    # 4.1: no getautorepairconfig; the agent says so and the repair runs.
    assert autorepair(c, c.names[0]) == {"source": "no_command", "scheduler": False,
                                         "types": {}, "enabled": []}
    t = finished(orch, orch.submit("sim", "repair", agent=agent, timeout_s=60,
                                   keyspace="ks1")["id"])
    assert t["state"] == "succeeded", t

    # A node whose Cassandra runs its own full auto-repair: refused before
    # anything is repaired, naming the node and the type, not retried.
    c.set(n2, "auto_repair", "full")
    d = autorepair(c, n2)
    assert d["source"] == "nodetool" and d["enabled"] == ["full"], d
    assert d["types"] == {"full": True, "incremental": False, "preview_repaired": False}, d
    before = repair_commands(c)
    for par in (1, 0):
        t = finished(orch, orch.submit("sim", "repair", agent=agent, timeout_s=60,
                                       keyspace="ks1", parallelism=par)["id"])
        assert t["state"] == "failed", t
        # the engine puts "step 'repair' on A failed after 1 attempt: " first
        assert t["error"].split(" attempt: ", 1)[1].startswith(
            f"{addr2} runs Cassandra's own full auto-repair (CEP-37): a repair here would "
            "repair the same ranges twice; disable it (nodetool setautorepairconfig -t full "
            "enabled false"), t["error"]
        assert "or pass force: true" in t["error"], t["error"]
        assert t["steps"][0]["attempts"] == 1, t["steps"][0]
        assert all(s["state"] != "succeeded" for s in t["steps"]), t["steps"]
    assert repair_commands(c) == before

    # An incremental repair does not repeat a full auto-repair.
    t = finished(orch, orch.submit("sim", "repair", agent=agent, timeout_s=60,
                                   keyspace="ks1", full=False)["id"])
    assert t["state"] == "succeeded", t

    # force: true repairs, and the first step's final word keeps the warning.
    for par in (1, 0):
        before = repair_commands(c)
        t = finished(orch, orch.submit("sim", "repair", agent=agent, timeout_s=60,
                                       keyspace="ks1", parallelism=par, force=True)["id"])
        assert t["state"] == "succeeded", t
        msg = t["steps"][0]["message"]
        assert msg.endswith(f"; warning: {addr2} runs Cassandra's own full auto-repair "
                            "(CEP-37): a repair here would repair the same ranges twice; "
                            "disable it (nodetool setautorepairconfig -t full enabled "
                            "false, on that node) or pass force: true; repaired anyway "
                            "(force: true)"), msg
        assert sum(repair_commands(c).values()) > sum(before.values())

    # The scheduler off: nothing to repeat.
    c.set(n2, "auto_repair", "off")
    assert autorepair(c, n2)["scheduler"] is False
    t = finished(orch, orch.submit("sim", "repair", agent=agent, timeout_s=60,
                                   keyspace="ks1")["id"])
    assert t["state"] == "succeeded", t


def test_auto_repair_read_from_cassandra_yaml_when_nodetool_cannot_answer(
        sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3)
    prepare(c, orch, tmp_path)
    n3 = c.names[2]
    c.set(n3, "auto_repair", "full")
    c.stop_cassandra(n3)
    yaml = Path(c.node_dir(n3)) / "conf" / "cassandra.yaml"
    yaml.write_text(yaml.read_text() + "auto_repair:\n  enabled: true\n"
                    "  global_settings:\n    enabled: false\n"
                    "  repair_type_overrides:\n    incremental:\n      enabled: true\n")
    d = autorepair(c, n3)
    assert d["source"] == "cassandra.yaml", d
    assert d["enabled"] == ["incremental"], d
    # neither source: "unknown", with both reasons
    yaml.write_text(yaml.read_text() + "auto_repair: {enabled: true}\n")
    d = autorepair(c, n3)
    assert d["source"] == "unknown" and "getautorepairconfig" in d["error"], d
    assert "cassandra.yaml" in d["error"], d


def cancelled_in_flight(sim_factory, orch, tmp_path, full):  # noqa: F811
    """A repair of node1 cancelled while its session runs inside "Cassandra";
    returns the cluster, node1's name and the cancelled task."""
    c = sim_factory(nodes=3)
    agent = prepare(c, orch, tmp_path)
    for n in c.names:
        c.set(n, "repair_delay", 3.0)
    # the per-node steps: node1's repair is the first
    t = orch.submit("sim", "repair", agent=agent, timeout_s=60, keyspace="ks1", parallelism=1,
                    full=full)
    n1 = c.names[0]
    key, state = ("full_repairs", "RUNNING") if full else ("ir_sessions", "REPAIRING")
    wait_for(lambda: any(x["state"] == state for x in node_json(c, n1).get(key, [])),
             f"the repair's {key} entry {state} in Cassandra", timeout=30)
    orch.ok("POST", f"/api/v1/tasks/{t['id']}/cancel")
    t = finished(orch, t["id"], timeout=30)
    assert t["state"] == "cancelled", t
    return c, n1, t


def test_cancel_of_a_full_repair_terminates_its_sessions(sim_factory, orch, tmp_path):  # noqa: F811
    c, n1, t = cancelled_in_flight(sim_factory, orch, tmp_path, full=True)
    # nodetool was killed, and the repair it started inside "Cassandra" was
    # ended with forceTerminateAllRepairSessions (nodetool sjk)
    wait_for(lambda: [x["state"] for x in node_json(c, n1).get("full_repairs", [])] == ["TERMINATED"],
             "the full repair terminated", timeout=15)
    time.sleep(0.5)
    assert all(x["state"] != "RUNNING" for n in c.names
               for x in node_json(c, n).get("full_repairs", []))


def test_cancel_of_an_incremental_repair_names_the_sessions_it_failed(sim_factory, orch,
                                                                       tmp_path):  # noqa: F811
    c, n1, t = cancelled_in_flight(sim_factory, orch, tmp_path, full=False)
    failed = [x["id"] for x in node_json(c, n1).get("ir_sessions", []) if x["state"] == "FAILED"]
    assert len(failed) == 1, node_json(c, n1).get("ir_sessions")
    # the task says what the node did about it, naming the session: only
    # the job's output on the node said so before
    msgs = " ".join(s.get("message") or "" for s in t["steps"])
    assert ("cancelled: %s: nodetool repair cancelled; 1 incremental repair session(s) it "
            "started failed in Cassandra with repair_admin cancel (sessions %s)"
            % (c.address(n1), failed[0])) in msgs, t["steps"]
