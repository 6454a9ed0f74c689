"""ringagent against simulated nodes and a real orchestrator: one-shot
operations and their JSON lines and exit codes, check-in and heartbeats,
a refused join token, and a node whose orchestrator is down."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from agentutil import (RINGAGENT, ScriptedOrchestrator, agent_log, orch_nodes,  # noqa: F401
                       run_op, sim_factory, simlib, wait_for, write_agent_conf)
from orch import Orch, orch, orch_factory  # noqa: F401


@pytest.fixture
def one_node(sim_factory, tmp_path):  # noqa: F811
    c = sim_factory(nodes=1)
    c.start_cassandra("node1")
    tok = tmp_path / "token"
    tok.write_text("nothing\n")
    conf = write_agent_conf(c, "node1", "http://127.0.0.1:9", tok)
    return c, conf


def nodetool_pids(c, name):
    """Processes of the simulated nodetool of one node."""
    want = "--sim-node\0" + c.node_dir(name)
    pids = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    if want in f.read().decode(errors="replace"):
                        pids.append(int(d))
            except OSError:
                pass
    return pids


def result(lines):
    assert lines and lines[-1]["type"] == "result", lines
    return lines[-1]


def test_status_and_nodetool_check_report_the_node(one_node):
    c, conf = one_node
    rc, lines, _ = run_op(conf, "status", "--json")
    r = result(lines)
    assert rc == 0 and r["ok"] and r["exit"] == 0
    d = r["data"]
    n = c.node("node1")
    assert d["host_id"] == n["host_id"] and d["address"] == n["address"]
    assert d["status"] == "up" and d["process_up"] and d["gossip"] and d["native_transport"]
    assert d["cassandra_version"] == "4.1.0" and d["tokens"] == 16
    assert d["has_data"] is True and d["load_bytes"] > 0
    assert d["disks"][0]["free_bytes"] > 0
    assert d["peers"]["datacenters"][0]["nodes"][0]["address"] == n["address"]

    rc, lines, _ = run_op(conf, "nodetool-check", "--json")
    r = result(lines)
    assert rc == 0 and r["data"]["reachable"] and r["data"]["release"] == "4.1.0"
    assert r["data"]["major"] == 4 and r["data"]["minor"] == 1


def test_config_from_env_and_errors_have_exit_codes(one_node, tmp_path):
    c, conf = one_node
    env = dict(os.environ, RINGAGENT_CONF=str(conf))
    rc, lines, _ = run_op(None, "nodetool-check", "--json", env=env)
    assert rc == 0 and result(lines)["ok"]

    rc, lines, _ = run_op(tmp_path / "missing.conf", "status", "--json")
    r = result(lines)
    assert rc == 5 and r["error"]["code"] == "config" and "missing.conf" in r["error"]["message"]

    bad = tmp_path / "bad.conf"
    bad.write_text("nodetool = /x\nfrobnicate = 1\n")
    rc, lines, _ = run_op(bad, "status", "--json")
    assert rc == 5 and "frobnicate" in result(lines)["error"]["message"]

    rc, lines, _ = run_op(conf, "snapshot", "--json")
    assert rc == 2 and "--tag" in result(lines)["error"]["message"]
    rc, lines, _ = run_op(conf, "snapshot", "--json", "--tag", "../x")
    assert rc == 2
    rc, lines, _ = run_op(conf, "frobnicate", "--json")
    assert rc == 2 and "unknown operation 'frobnicate'" in result(lines)["error"]["message"]

    # Cassandra down: nodetool cannot connect, exit 3, and the report says down.
    c.stop_cassandra("node1")
    rc, lines, _ = run_op(conf, "status", "--json")
    r = result(lines)
    assert rc == 3 and r["error"]["code"] == "nodetool_unreachable"
    assert "nodetool info" in r["error"]["message"]
    assert r["data"]["status"] == "down" and r["data"]["process_up"] is False
    rc, lines, _ = run_op(conf, "nodetool-check", "--json")
    assert rc == 3 and result(lines)["data"]["reachable"] is False

    # A nodetool that does not exist is unreachable too, naming the path.
    nt = tmp_path / "nt.conf"
    nt.write_text(conf.read_text().replace(str(c.nodetool_path("node1")), "/nonexistent/nodetool"))
    rc, lines, _ = run_op(nt, "nodetool-check", "--json")
    assert rc == 3 and "/nonexistent/nodetool" in result(lines)["error"]["message"]


def test_garbage_output_names_command_and_line(one_node):
    c, conf = one_node
    c.fault("node1", "garbage")
    for op, cmd in (("status", "nodetool info"), ("list-snapshots", "nodetool listsnapshots"),
                    ("nodetool-check", "nodetool version")):
        rc, lines, err = run_op(conf, op, "--json")
        r = result(lines)
        assert rc == 4, (op, rc, lines, err)
        assert r["error"]["code"] == "nodetool_unparseable"
        assert r["error"]["message"].startswith(cmd + ": line "), r["error"]["message"]


def test_snapshot_is_idempotent_and_verified(one_node):
    c, conf = one_node
    rc, lines, _ = run_op(conf, "snapshot", "--json", "--tag", "b1", "--keyspace", "ks1")
    r = result(lines)
    assert rc == 0 and r["data"]["already"] is False, lines
    assert r["data"]["keyspaces"] == ["ks1"] and r["data"]["tables"] == 2
    assert r["data"]["files"] > 0
    assert any(ln["type"] == "progress" for ln in lines)
    for t in ("t1", "t2"):
        assert (Path(c.table_dir("node1", "ks1", t)) / "snapshots" / "b1").is_dir()

    # Again: reported, not retaken (a step that runs twice must succeed).
    rc, lines, _ = run_op(conf, "snapshot", "--json", "--tag", "b1", "--keyspace", "ks1")
    assert rc == 0 and result(lines)["data"]["already"] is True

    rc, lines, _ = run_op(conf, "list-snapshots", "--json")
    snaps = result(lines)["data"]["snapshots"]
    assert {(s["name"], s["keyspace"], s["table"]) for s in snaps} == {
        ("b1", "ks1", "t1"), ("b1", "ks1", "t2")}

    rc, lines, _ = run_op(conf, "clear-snapshot", "--json", "--tag", "b1")
    assert rc == 0 and result(lines)["data"]["cleared_tables"] == 2
    assert not (Path(c.table_dir("node1", "ks1", "t1")) / "snapshots" / "b1").exists()
    rc, lines, _ = run_op(conf, "clear-snapshot", "--json", "--tag", "b1")
    assert rc == 0 and result(lines)["data"]["cleared_tables"] == 0


def test_assassinate_refuses_a_live_address_and_checks_gossip(sim_factory, tmp_path):  # noqa: F811
    """`assassinate` never sends a live address (not this node's, not one up in its
    ring); an address gossip does not hold is assassinated and must then read LEFT on
    this node and (gossip-check) on the other."""
    c = sim_factory(nodes=2)
    for n in c.names:
        c.start_cassandra(n)
    tok = tmp_path / "token"
    tok.write_text("nothing\n")
    conf1 = write_agent_conf(c, "node1", "http://127.0.0.1:9", tok)
    conf2 = write_agent_conf(c, "node2", "http://127.0.0.1:9", tok)
    a1, a2 = c.address("node1"), c.address("node2")

    for addr, why in ((a1, "own address"), (a2, "is up (UN)")):
        rc, lines, _ = run_op(conf1, "assassinate", "--address", addr, "--json")
        r = result(lines)
        assert rc == 1 and not r["ok"] and why in r["error"]["message"], r
    assert "left" not in c.state, c.state.get("left")
    for bad in (["--address", "10.0.0.x"], ["--address"], [], ["--address", a2, "x"],
                ["--round", "2", "--address", a2]):
        rc, lines, _ = run_op(conf1, "assassinate", *bad, "--json")
        assert rc == 2 and result(lines)["error"]["code"] == "usage", (bad, lines)

    gone = "127.0.0.250"
    rc, lines, _ = run_op(conf2, "gossip-check", "--address", gone, "--round", "1", "--json")
    r = result(lines)
    assert rc == 0 and r["data"]["state"] == "absent" and r["data"]["ring"] is None, r
    rc, lines, _ = run_op(conf1, "assassinate", "--address", gone, "--json")
    r = result(lines)
    assert rc == 0 and r["data"]["assassinated"] is True and r["data"]["state"] == "left", r
    assert gone in c.state["left"], c.state
    # The other node hears it (gossip-check), and a second run sends nothing.
    rc, lines, _ = run_op(conf2, "gossip-check", "--address", gone, "--json")
    r = result(lines)
    assert rc == 0 and r["data"]["state"] == "left" and r["data"]["status"] == "LEFT", r
    rc, lines, _ = run_op(conf1, "assassinate", "--address", gone, "--json")
    r = result(lines)
    assert rc == 0 and r["data"]["assassinated"] is False and r["data"]["state"] == "left", r


def test_cancel_by_signal_kills_nodetool(one_node):
    c, conf = one_node
    c.fault("node1", "hang")
    p = subprocess.Popen([str(RINGAGENT), "-f", str(conf), "status", "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: nodetool_pids(c, "node1"), "nodetool running", timeout=10)
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 6, out
    r = json.loads(out.splitlines()[-1])
    assert r["error"]["code"] == "cancelled"
    wait_for(lambda: not nodetool_pids(c, "node1"), "nodetool killed", timeout=5)


def test_daemon_flags(tmp_path, one_node):
    c, conf = one_node
    r = subprocess.run([str(RINGAGENT), "-n", "-f", str(conf)], capture_output=True, text=True)
    assert r.returncode == 0 and "configuration OK" in r.stdout
    bad = tmp_path / "a.conf"
    bad.write_text("cluster = x\naddress = 1.2.3.4\nnodetool = /x\n")
    r = subprocess.run([str(RINGAGENT), "-n", "-f", str(bad)], capture_output=True, text=True)
    assert r.returncode == 1 and "'orchestrator' is required" in r.stderr
    bad.write_text("orchestrator = ftp://x\n")
    r = subprocess.run([str(RINGAGENT), "-n", "-f", str(bad)], capture_output=True, text=True)
    assert r.returncode == 1 and "a.conf:1: key 'orchestrator'" in r.stderr
    r = subprocess.run([str(RINGAGENT), "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "snapshot" in r.stdout and "heartbeat_interval" in r.stdout
    r = subprocess.run([str(RINGAGENT), "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("ringagent ")


def test_three_nodes_check_in_and_heartbeat(sim_factory, orch):  # noqa: F811
    c = sim_factory(nodes=3)
    tok = orch.tmp / "join.token"
    tok.write_text(orch.join_token + "\n")
    orch.ensure_cluster("sim")
    for n in c.names:
        write_agent_conf(c, n, orch.base, tok)
    c.start_all(agent=str(RINGAGENT))

    def all_up():
        ns = orch_nodes(orch)
        # Running nodes check in as rejoin, "up" at once: wait for a heartbeat's load.
        ok = len(ns) == 3 and all(v["state"] == "up" and v["version"] == "4.1.0"
                                  and v["load_bytes"] for v in ns.values())
        return ns if ok else None
    ns = wait_for(all_up, "three nodes up in the orchestrator", timeout=30)
    for n in c.names:
        v = ns[c.address(n)]
        node = c.node(n)
        assert v["dc"] == node["dc"] and v["rack"] == node["rack"]
        assert v["host_id"] == node["host_id"]
        assert v["load_bytes"] and v["load_bytes"] > 0
        assert "checked in with" in agent_log(c, n)
    # Heartbeats keep coming.
    first = {a: v["last_heartbeat"] for a, v in ns.items()}
    wait_for(lambda: all(v["last_heartbeat"] != first[a] for a, v in orch_nodes(orch).items()),
             "a newer heartbeat from every node", timeout=15)


def test_wrong_join_token_is_refused_and_node_never_appears(sim_factory, orch):  # noqa: F811
    c = sim_factory(nodes=1)
    tok = orch.tmp / "wrong.token"
    tok.write_text("not-the-token\n")
    write_agent_conf(c, "node1", orch.base, tok)
    c.start("node1", agent=str(RINGAGENT))
    wait_for(lambda: "join token refused" in agent_log(c, "node1"), "401 in the agent log",
             timeout=20)
    assert "401" in agent_log(c, "node1")
    wait_for(lambda: agent_log(c, "node1").count("join token refused") >= 2,
             "a second refused attempt", timeout=20)
    assert orch_nodes(orch) == {}
    # The node holds data: Cassandra is not kept down by the refusal.
    assert c.node("node1")["up"] is True


def test_orchestrator_down_data_node_starts_and_checks_in_later(sim_factory, tmp_path):  # noqa: F811
    c = sim_factory(nodes=1)
    o = Orch(tmp_path / "orch")
    tok = tmp_path / "join.token"
    tok.write_text("will-be-replaced\n")
    write_agent_conf(c, "node1", o.base, tok)
    # sshd and the agent, but not Cassandra: the agent must start it.
    simlib.start_sshd(c.dir, "node1")
    assert c.node("node1")["up"] is False
    simlib.start_agent(c.dir, "node1", str(RINGAGENT))
    try:
        wait_for(lambda: c.node("node1")["up"], "Cassandra started by the agent", timeout=20)
        assert "did not answer: rejoin as before" in agent_log(c, "node1")
        wait_for(lambda: agent_log(c, "node1").count("next check-in attempt") >= 2,
                 "retries", timeout=20)
        o.start()
        tok.write_text(o.join_token + "\n")
        o.ensure_cluster("sim")
        wait_for(lambda: orch_nodes(o).get(c.address("node1"), {}).get("state") == "up",
                 "node checked in once the orchestrator is back", timeout=30)
        assert "checked in with" in agent_log(c, "node1")
    finally:
        o.kill9()
        print(o.log_tail())


def test_empty_node_waits_then_bootstraps_with_seeds(sim_factory, tmp_path):  # noqa: F811
    c = sim_factory(nodes=2)
    o = Orch(tmp_path / "orch")
    tok = tmp_path / "join.token"
    tok.write_text("x\n")
    # node2 is new: wipe its data.
    import shutil
    shutil.rmtree(Path(c.node_dir("node2")) / "data" / "data")
    (Path(c.node_dir("node2")) / "data" / "data").mkdir()
    write_agent_conf(c, "node2", o.base, tok)
    simlib.start_sshd(c.dir, "node2")
    simlib.start_agent(c.dir, "node2", str(RINGAGENT))
    try:
        wait_for(lambda: agent_log(c, "node2").count("next check-in attempt") >= 2,
                 "check-in retries", timeout=20)
        assert c.node("node2")["up"] is False, "an empty node must wait for its answer"
        assert "are empty (new node)" in agent_log(c, "node2")
        o.start()
        tok.write_text(o.join_token + "\n")
        o.ensure_cluster("sim")
        wait_for(lambda: c.node("node2")["up"], "Cassandra started after the answer", timeout=30)
        yaml = (Path(c.node_dir("node2")) / "conf" / "cassandra.yaml").read_text()
        assert "seed_provider:" in yaml and f'- seeds: "{c.address("node2")}"' in yaml, yaml
        assert "checked in with" in agent_log(c, "node2") and "as bootstrap" in agent_log(c, "node2")
    finally:
        o.kill9()
        print(o.log_tail())


def yaml_bytes(c):
    return {n: (Path(c.node_dir(n)) / "conf" / "cassandra.yaml").read_bytes() for n in c.names}


def saved_role(c, name):
    p = Path(c.node_dir(name)) / "agent-state" / "state.json"
    return json.loads(p.read_text()).get("role") if p.exists() else None


def test_first_checkin_of_running_cluster_changes_nothing(sim_factory, orch):  # noqa: F811
    """A running cluster with data meets its agents for the first time: no
    node is told to bootstrap and check-in changes no cassandra.yaml by one
    byte.  Heartbeat answers may then bring the orchestrator's seeds
    (docs/lifecycle.md, "Seeds"): only the seeds line may change, for the
    next start, and the agent logs it."""
    c = sim_factory(nodes=3)
    for n in c.names:
        simlib.start_sshd(c.dir, n)
        c.start_cassandra(n)
    before = yaml_bytes(c)
    tok = orch.tmp / "join.token"
    tok.write_text(orch.join_token + "\n")
    orch.ensure_cluster("sim")
    for n in c.names:
        write_agent_conf(c, n, orch.base, tok)
    for n in c.names:
        simlib.start_agent(c.dir, n, str(RINGAGENT))
    wait_for(lambda: all(saved_role(c, n) for n in c.names) and len(orch_nodes(orch)) == 3,
             "three agents checked in", timeout=30)
    for n in c.names:
        assert saved_role(c, n) == "rejoin", agent_log(c, n)
        assert "as rejoin" in agent_log(c, n) and "as bootstrap" not in agent_log(c, n)
        assert "seeds written" not in agent_log(c, n)
    assert_only_heartbeat_seeds(c, before)
    ns = orch_nodes(orch)
    assert all(v["state"] != "joining" for v in ns.values()), ns
    wait_for(lambda: all(v["state"] == "up" for v in orch_nodes(orch).values()),
             "three nodes up", timeout=15)
    # The heartbeats bring the seeds: each agent takes them (or finds them
    # there already) without touching the rest of the file.
    wait_for(lambda: all("seeds in '" in agent_log(c, n) or "seeds generation" in agent_log(c, n)
                         for n in c.names), "the heartbeats' seeds taken", timeout=30)
    assert_only_heartbeat_seeds(c, before)


def assert_only_heartbeat_seeds(c, before):
    """Each cassandra.yaml is as before, or differs only in its seeds line
    and its agent logged the heartbeat's seeds (a first heartbeat may come
    before the test looks on a loaded host)."""
    now = yaml_bytes(c)
    for n in c.names:
        if now[n] == before[n]:
            continue
        def rest(b):
            return [ln for ln in b.decode().splitlines() if "- seeds:" not in ln]
        assert rest(now[n]) == rest(before[n]), f"{n}: more than its seeds changed"
        assert "Cassandra reads them at its next start" in agent_log(c, n), agent_log(c, n)


@pytest.mark.parametrize("running", [True, False])
def test_bootstrap_answer_never_rewrites_a_member(sim_factory, tmp_path, running):  # noqa: F811
    """Told to bootstrap, a node whose Cassandra runs (or that holds data)
    leaves cassandra.yaml as it is, logs what it would have changed, and a
    stopped one with data starts as a rejoin."""
    c = sim_factory(nodes=1)
    # An orchestrator that gets the decision wrong, for the agent's own guard.
    fake = ScriptedOrchestrator([{"role": "bootstrap", "seeds": ["127.9.9.9"],
                                  "heartbeat_interval_s": 1}])
    try:
        simlib.start_sshd(c.dir, "node1")
        if running:
            c.start_cassandra("node1")
        tok = tmp_path / "join.token"
        tok.write_text("t\n")
        write_agent_conf(c, "node1", fake.base, tok)
        before = yaml_bytes(c)
        simlib.start_agent(c.dir, "node1", str(RINGAGENT))
        wait_for(lambda: saved_role(c, "node1") == "bootstrap", "check-in answered", timeout=20)
        log = agent_log(c, "node1")
        assert "not rewriting the seeds" in log and "127.9.9.9" in log, log
        assert yaml_bytes(c) == before
        body = fake.checkins[0]
        assert body["has_data"] is True and body["system_keyspace"] is True
        assert body["cassandra_running"] is running
        if running:
            assert body["host_id"] == c.node("node1")["host_id"]
            assert "Cassandra is running on this node" in log
        else:
            wait_for(lambda: c.node("node1")["up"], "Cassandra started as a rejoin", timeout=20)
            assert "rejoin as it is" in agent_log(c, "node1")
        assert yaml_bytes(c) == before
    finally:
        fake.close()
