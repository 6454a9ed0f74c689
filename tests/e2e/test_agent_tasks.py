"""A task runs `ringagent status` on every node over SSH (orchestrator/
nodeops.c, type "node-status"), with host keys pinned from check-in; a
node whose host key changed fails its step with "host key changed for"
and nothing runs there.  Skipped while the orchestrator does not register
the type (node-status, in orchestrator/tasks/registry.c)."""
import os
import subprocess
from pathlib import Path

import pytest

from agentutil import (RINGAGENT, orch_nodes, sim_factory, simlib, wait_for,  # noqa: F401
                       write_agent_conf)
from orch import orch, orch_factory  # noqa: F401


def prepare(c, o, tmp_path):
    """Create the cluster with the sim's SSH settings, let three agents check
    in, and return the agent command template."""
    o.ok("POST", "/api/v1/clusters", {
        "name": "sim", "storage": {"url": f"file://{tmp_path}/store"},
        "ssh": {"user": "root", "port": c.ssh_port, "key_file": c.key}}, status=201)
    r = o.post("/api/v1/clusters/sim/tasks", {"type": "node-status", "params": {}})
    if r.status_code == 400 and "unknown task type" in r.text:
        pytest.skip("orchestrator does not register node-status (tasks/registry.c)")
    tok = tmp_path / "join.token"
    tok.write_text(o.join_token + "\n")
    confs = tmp_path / "confs"
    confs.mkdir()
    for n in c.names:
        conf = write_agent_conf(c, n, o.base, tok)
        os.symlink(conf, confs / f"{c.address(n)}.conf")
    c.start_all(agent=str(RINGAGENT))
    wait_for(lambda: len([v for v in orch_nodes(o).values() if v["state"] == "up"]) == 3,
             "three nodes up", timeout=30)
    return f"{RINGAGENT} -f {confs}/{{address}}.conf"


def test_status_task_runs_on_every_node_over_ssh(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3)
    agent = prepare(c, orch, tmp_path)
    t = orch.submit("sim", "node-status", agent=agent, timeout_s=30)
    t = orch.wait_task(t["id"], states=("succeeded", "failed"), timeout=60)
    assert t["state"] == "succeeded", t
    steps = {s["node"]: s for s in t["steps"]}
    assert set(steps) == {c.address(n) for n in c.names}
    for s in steps.values():
        assert s["state"] == "succeeded" and s["attempts"] == 1
        assert s["message"].startswith("up 4.1.0"), s["message"]
        assert "sees 3 nodes" in s["message"]

    # node2's Cassandra down: still a result, reported as down.
    c.stop_cassandra("node2")
    t = orch.submit("sim", "node-status", agent=agent, timeout_s=30)
    t = orch.wait_task(t["id"], states=("succeeded", "failed"), timeout=60)
    steps = {s["node"]: s for s in t["steps"]}
    assert steps[c.address("node2")]["message"].startswith("down"), t


def test_changed_host_key_fails_the_step(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3)
    agent = prepare(c, orch, tmp_path)
    # node3 is rebuilt behind our back: new host key, same address.
    key = Path(c.node_dir("node3")) / "ssh" / "ssh_host_ed25519_key"
    simlib.stop_sshd(c.dir, "node3")
    for p in (key, Path(str(key) + ".pub")):
        p.unlink()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    simlib.start_sshd(c.dir, "node3")
    t = orch.submit("sim", "node-status", agent=agent, timeout_s=30)
    t = orch.wait_task(t["id"], states=("succeeded", "failed"), timeout=60)
    assert t["state"] == "failed", t
    steps = {s["node"]: s for s in t["steps"]}
    bad = steps[c.address("node3")]
    assert bad["state"] == "failed" and bad["attempts"] == 1, bad
    assert f"host key changed for {c.address('node3')}" in (bad["message"] or t["error"] or "")
    assert "nothing was run" in (bad["message"] or t["error"] or "")
