"""Rolling operations (orchestrator/tasks/rolling.c, gate.c, agent/rolling.c)
against simulated nodes with real sshd, agents and the real orchestrator:
rolling-restart in its order with nodetool status sampled throughout (never
two nodes down), config-change (files, backups, refusals), upgrade
(nodetool version, upgradesstables, a skipped major refused), a node that
does not come back, kill -9 of the orchestrator in the middle of a node,
pause between nodes, per_rack refused for an unsafe keyspace and allowed
for safe ones."""
import json
import os
import re
import subprocess
import threading
import time
from datetime import datetime
from pathlib import Path

from agentutil import (RINGAGENT, orch_nodes, sim_factory, simlib,  # noqa: F401
                       wait_for, write_agent_conf)
from orch import orch, orch_factory  # noqa: F401
from test_ringsh_common import clean_env, run as run_sh

SIMCTL = str(simlib.__file__).replace("simlib.py", "simctl")
DONE = ("succeeded", "failed", "cancelled")


def prepare(c, o, tmp_path, per_node=None, **extra):
    """The cluster with the sim's SSH settings, agents whose configs carry an
    upgrade_command and count Cassandra starts in <node dir>/starts.log;
    returns the agent command template."""
    o.ok("POST", "/api/v1/clusters", {
        "name": "sim", "storage": {"url": f"file://{tmp_path}/store"},
        "ssh": {"user": "root", "port": c.ssh_port, "key_file": c.key}}, status=201)
    tok = tmp_path / "join.token"
    tok.write_text(o.join_token + "\n")
    confs = tmp_path / "confs"
    confs.mkdir()
    for n in c.names:
        nd = Path(c.node_dir(n))
        settings = {
            "cassandra_start": f"echo start >> {nd}/starts.log && {nd}/bin/cassandra-start",
            "upgrade_command": f"/usr/bin/python3 {SIMCTL} install-version {c.dir} {n} {{version}}",
            "start_timeout": "20s",
        }
        settings.update(extra)
        settings.update((per_node or {}).get(n, {}))
        conf = write_agent_conf(c, n, o.base, tok, **settings)
        os.symlink(conf, confs / f"{c.address(n)}.conf")
    c.start_all(agent=str(RINGAGENT))
    wait_for(lambda: len([v for v in orch_nodes(o).values() if v["state"] == "up"])
             == len(c.names), "every node up", timeout=40)
    # Versions come with the heartbeats; the upgrade's admit reads them.
    wait_for(lambda: all(v.get("version") for v in orch_nodes(o).values()),
             "every node's version recorded", timeout=20)
    return f"{RINGAGENT} -f {confs}/{{address}}.conf"


def noseeds(text):
    return [ln for ln in text.splitlines() if "seeds:" not in ln]


def starts(c, n):
    p = Path(c.node_dir(n)) / "starts.log"
    return len(p.read_text().splitlines()) if p.exists() else 0


def finished(o, tid, timeout=240):
    return o.wait_task(tid, states=DONE, timeout=timeout)


def knob(c, key, value):
    for n in c.names:
        c.set(n, key, value)


class Sampler:
    """nodetool status from every node whose Cassandra answers, all the
    time: the most nodes any view showed down at once."""

    def __init__(self, c):
        self.c = c
        self.max_down = 0
        self.samples = 0
        self.seen_down = set()
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            for n in self.c.names:
                r = subprocess.run([str(Path(self.c.node_dir(n)) / "bin" / "nodetool"), "status"],
                                   capture_output=True, text=True)
                if r.returncode != 0:
                    continue
                rows = [ln.split() for ln in r.stdout.splitlines()
                        if re.match(r"^[UD][NLJM] ", ln)]
                down = [x[1] for x in rows if x[0][0] == "D"]
                self.samples += 1
                self.seen_down.update(down)
                self.max_down = max(self.max_down, len(down))

    def __enter__(self):
        self.t.start()
        return self

    def __exit__(self, *a):
        self.stop.set()
        self.t.join(10)


def test_rolling_restart_order_gates_and_never_two_down(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3, racks=3)
    agent = prepare(c, orch, tmp_path)
    knob(c, "start_delay", 1.0)
    knob(c, "stop_delay", 0.3)
    addr = {n: c.address(n) for n in c.names}
    seeds = {a for a, v in orch_nodes(orch).items() if v.get("is_seed")}
    before = {n: c.node(n)["generation"] for n in c.names}

    with Sampler(c) as s:
        t = finished(orch, orch.submit("sim", "rolling-restart", agent=agent, timeout_s=120,
                                       gate_timeout_s=60)["id"])
    assert t["state"] == "succeeded", json.dumps(t, indent=1)
    # gate, restart, back per node; rack by rack, seeds last.
    names = [(st["name"], st["node"]) for st in t["steps"]]
    order = [nd for nm, nd in names if nm == "restart"]
    assert names == [(p, a) for a in order for p in ("gate", "restart")], names
    assert sorted(order) == sorted(addr.values())
    assert [a in seeds for a in order] == sorted(a in seeds for a in order), (order, seeds)
    racks = [c.node(n)["rack"] for a in order for n in c.names if addr[n] == a
             and a not in seeds]
    assert racks == sorted(racks)
    # Each node restarted once, checked by the gate afterwards.
    for n in c.names:
        assert starts(c, n) == 1, n
        assert c.node(n)["generation"] > before[n], n
    back = [st for st in t["steps"] if st["name"] == "restart"]
    assert all("met" in st["message"] and "gossip and native transport on" in st["message"]
               for st in back), back
    # The sampler saw every node down once, never two at a time.
    assert s.samples > 20 and s.seen_down == set(addr.values()), (s.samples, s.seen_down)
    assert s.max_down == 1, s.max_down
    # The daemons never started Cassandra on their own.
    for n in c.names:
        log = (Path(c.node_dir(n)) / "agent.log").read_text()
        assert "starting Cassandra (" not in log, n

    # ringsh: the shortcut submits the same type; watch shows node by node
    # which step and phase, with its message.
    env = clean_env(tmp_path, url=orch.base, token=orch.admin_token)
    r = run_sh(env, "-C", "sim", "-c", f"watch {t['id']}")
    assert r.returncode == 0, r.stderr
    for a in order:
        assert a in r.stdout, r.stdout
    assert all(f"{a}: restart succeeded [{a} back]" in r.stdout for a in order), r.stdout
    r = run_sh(env, "-C", "sim", "--json", "-c",
               f"restart --node {order[0]} agent='{agent}' timeout_s=60")
    assert r.returncode == 0, r.stderr
    t2 = finished(orch, json.loads(r.stdout)["id"])
    assert t2["type"] == "rolling-restart" and t2["state"] == "succeeded", t2
    assert t2["params"]["nodes"] == [order[0]]
    assert [st["node"] for st in t2["steps"]] == [order[0]] * 2


def test_gate_waits_for_a_down_node_then_fails_naming_it(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3)
    agent = prepare(c, orch, tmp_path)
    c.stop_cassandra("node3")
    t = finished(orch, orch.submit("sim", "rolling-restart", agent=agent, timeout_s=60,
                                   gate_timeout_s=8)["id"], timeout=120)
    assert t["state"] == "failed", t
    a3 = c.address("node3")
    assert re.search(rf"{re.escape(a3)}('s Cassandra does not answer nodetool| is DN in)", t["error"]), t
    assert "the task stopped before touching the next node" in t["error"], t
    assert t["steps"][0]["name"] == "gate" and t["steps"][0]["state"] == "failed"
    assert all(st["state"] in ("cancelled", "pending", "skipped") for st in t["steps"][1:]), t
    assert all(starts(c, n) == 0 for n in c.names)


def test_gate_timeout_counts_across_an_orchestrator_restart(sim_factory, orch_factory, tmp_path):  # noqa: F811
    """A gate step resumed after kill -9 keeps the time it already waited:
    the task fails gate_timeout_s after the gate began, not after the
    restart."""
    o = orch_factory()
    c = sim_factory(nodes=3)
    agent = prepare(c, o, tmp_path)
    c.stop_cassandra("node3")
    tid = o.submit("sim", "rolling-restart", agent=agent, timeout_s=120, gate_timeout_s=16)["id"]
    wait_for(lambda: o.task(tid)["steps"][0]["state"] == "running", "the gate running", timeout=30)
    time.sleep(12)
    o.kill9()
    o.start()
    t = finished(o, tid, timeout=120)
    assert t["state"] == "failed" and "the task stopped before touching the next node" in t["error"], t
    gate = t["steps"][0]
    assert gate["name"] == "gate" and gate["attempts"] == 1, gate
    began = datetime.fromisoformat(gate["started_at"]).timestamp()
    ended = datetime.fromisoformat(t["finished_at"]).timestamp()
    # 16 s from the gate's start, checked at the end of a round (one
    # every 5 s, slower on a loaded host), so at the first round after the
    # restart; a timeout started again at the restart would end 28 s or
    # more after the gate began.
    assert 15 <= ended - began < 27, (began, ended, t["error"])


def test_pending_compactions_gate(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=2)
    agent = prepare(c, orch, tmp_path)
    c.set("node2", "pending_compactions", 40)
    t = finished(orch, orch.submit("sim", "rolling-restart", agent=agent, timeout_s=60,
                                   gate_timeout_s=6, max_pending_compactions=10)["id"], timeout=90)
    assert t["state"] == "failed", t
    assert f"{c.address('node2')} has 40 pending compactions (max_pending_compactions 10)" in t["error"]
    assert all(starts(c, n) == 0 for n in c.names)


def test_node_that_does_not_come_back_stops_the_task(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3)
    # node2's start command starts nothing: the node never comes back.
    nd2 = c.node_dir("node2")
    agent = prepare(c, orch, tmp_path, per_node={
        "node2": {"cassandra_start": f"echo start >> {nd2}/starts.log", "start_timeout": "3s"}})
    a1, a2, a3 = (c.address(n) for n in ("node1", "node2", "node3"))
    gen3 = c.node("node3")["generation"]
    t = finished(orch, orch.submit("sim", "rolling-restart", agent=agent, timeout_s=60,
                                   nodes=[a2, a3])["id"], timeout=120)
    assert t["state"] == "failed", t
    assert f"{a2}: start failed" in t["error"] and "did not come up" in t["error"], t["error"]
    assert "the task stopped before touching the next node" in t["error"]
    steps = {(st["name"], st["node"]): st for st in t["steps"]}
    assert steps[("restart", a2)]["state"] == "failed"
    assert steps[("gate", a3)]["state"] != "succeeded"
    # node3 never touched: not drained, not restarted.
    assert starts(c, "node3") == 0 and c.node("node3")["generation"] == gen3
    assert not c.node("node3").get("drained")
    assert starts(c, "node2") >= 1 and c.node("node2")["state"] == "stopped"
    # The failure is an event of the cluster, with the task's id.
    ev = wait_for(lambda: [e for e in orch.ok("GET", "/api/v1/events?cluster=sim&limit=500")["items"]
                           if e["kind"] == "task" and e["target"] == t["id"] and e["result"] == "failed"],
                  "the task's failed event", timeout=10)
    assert ev, ev
    del a1


def test_kill9_mid_node_resumes_there_and_never_repeats_a_node(sim_factory, orch_factory, tmp_path):  # noqa: F811
    o = orch_factory()
    c = sim_factory(nodes=3)
    agent = prepare(c, o, tmp_path)
    knob(c, "start_delay", 3.0)
    t = o.submit("sim", "rolling-restart", agent=agent, timeout_s=120, gate_timeout_s=60)

    def on_second():
        cur = o.task(t["id"])
        st = [s for s in cur["steps"] if s["state"] == "running"]
        return st and st[0]["name"] == "restart" and st[0]["idx"] >= 3 and \
            any(starts(c, n) for n in c.names if c.address(n) == st[0]["node"])
    wait_for(on_second, "the second node's restart under way (its start issued)", timeout=120)
    first = o.task(t["id"])["steps"][1]["node"]
    second = [s for s in o.task(t["id"])["steps"] if s["state"] == "running"][0]["node"]
    o.kill9()
    o.start()
    t = finished(o, t["id"], timeout=240)
    assert t["state"] == "succeeded", t
    # Every node started exactly once: the first was not repeated, the
    # second resumed at its start phase instead of a second restart.
    for n in c.names:
        assert starts(c, n) == 1, (n, starts(c, n))
    steps = {(s["name"], s["node"]): s for s in t["steps"]}
    assert steps[("restart", first)]["attempts"] == 1
    assert steps[("restart", second)]["state"] == "succeeded"


def test_pause_acts_between_nodes(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=2)
    agent = prepare(c, orch, tmp_path)
    knob(c, "start_delay", 2.0)
    t = orch.submit("sim", "rolling-restart", agent=agent, timeout_s=120, gate_timeout_s=60)
    wait_for(lambda: any(s["name"] == "restart" and s["state"] == "running"
                         for s in orch.task(t["id"])["steps"]), "first restart running", timeout=60)
    orch.ok("POST", f"/api/v1/tasks/{t['id']}/pause", {})
    p = orch.wait_task(t["id"], states=("paused",) + DONE, timeout=120)
    assert p["state"] == "paused", p
    # Paused only once the node was back: its gate and restart succeeded.
    assert [s["state"] for s in p["steps"][:2]] == ["succeeded"] * 2, p["steps"]
    assert "gossip and native transport on" in p["steps"][1]["message"], p["steps"][1]
    assert p["steps"][2]["state"] == "pending"
    first = p["steps"][0]["node"]
    assert all(c.node(n)["state"] == "running" for n in c.names)
    assert sum(starts(c, n) for n in c.names) == 1
    orch.ok("POST", f"/api/v1/tasks/{t['id']}/resume", {})
    t = finished(orch, t["id"])
    assert t["state"] == "succeeded", t
    assert all(starts(c, n) == 1 for n in c.names), first


def test_config_change_validated_applied_with_backups(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=2)
    agent = prepare(c, orch, tmp_path)
    yamls = {n: Path(c.node_dir(n)) / "conf" / "cassandra.yaml" for n in c.names}
    jvms = {n: Path(c.node_dir(n)) / "conf" / "jvm-server.options" for n in c.names}
    y0 = {n: p.read_text() for n, p in yamls.items()}
    j0 = {n: p.read_text() for n, p in jvms.items()}

    # Refused at submission: nothing changes.
    for params, why in [({"yaml": {"num_tokens": 8}}, "num_tokens"),
                        ({"yaml": {"concurrent_reads": "ten"}}, "takes an integer"),
                        ({"jvm": ["-Xmx8G -Dx=1"]}, "params.jvm"),
                        ({"jvm": ["--help"]}, "is not one a config change takes"),
                        ({}, "needs params.yaml"),
                        ({"yaml": {"concurrent_reads": 64}, "per_rack": True, "nodes": [c.address("node1")]},
                         "do not go together")]:
        r = orch.post("/api/v1/clusters/sim/tasks", {"type": "config-change", "params": dict(params, agent=agent)})
        assert r.status_code == 400 and why in r.text, (params, r.status_code, r.text)
    # (the seeds line aside: heartbeats may rewrite it meanwhile)
    assert {n: noseeds(p.read_text()) for n, p in yamls.items()} == {n: noseeds(v) for n, v in y0.items()}
    assert {n: p.read_text() for n, p in jvms.items()} == j0

    t = finished(orch, orch.submit("sim", "config-change", agent=agent, timeout_s=60,
                                   yaml={"concurrent_reads": 64, "hinted_handoff_enabled": False},
                                   jvm=["-Xmx1G", "-XX:+UseG1GC"])["id"])
    assert t["state"] == "succeeded", t
    assert [s["name"] for s in t["steps"]] == ["gate", "config"] * 2
    for n in c.names:
        y = yamls[n].read_text()
        assert "\nconcurrent_reads: 64\n" in y and "\nhinted_handoff_enabled: false\n" in y, y
        assert "-Xmx1G" in jvms[n].read_text().splitlines()
        assert "-XX:+UseG1GC" in jvms[n].read_text().splitlines()
        # The backup is the file as it was just before (the agent's
        # heartbeats may have rewritten its seeds line since y0 was read).
        baks = sorted(yamls[n].parent.glob("cassandra.yaml.rm-bak-*"))
        assert len(baks) == 1, baks
        # (the seeds line aside: a heartbeat may rewrite it after the backup)
        old = noseeds(baks[0].read_text())
        assert set(noseeds(y)) - set(old) == {"concurrent_reads: 64", "hinted_handoff_enabled: false"}
        assert set(old) <= set(noseeds(y)) and "concurrent_reads: 64" not in old
        jb = sorted(jvms[n].parent.glob("jvm-server.options.rm-bak-*"))
        assert len(jb) == 1 and jb[0].read_text() == j0[n]
        assert starts(c, n) == 1


def test_upgrade_checks_the_version_and_refuses_a_skipped_major(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=2, version="4.1")
    agent = prepare(c, orch, tmp_path)
    for v, why in [("6.0.1", "skips a major version"), ("3.11.4", "downgrade")]:
        r = orch.post("/api/v1/clusters/sim/tasks", {"type": "upgrade", "params": {"agent": agent, "version": v}})
        assert r.status_code == 409 and why in r.text, (v, r.text)
    r = orch.post("/api/v1/clusters/sim/tasks", {"type": "upgrade", "params": {"agent": agent, "version": "4.1;x"}})
    assert r.status_code == 400, r.text
    r = orch.post("/api/v1/clusters/sim/tasks", {"type": "upgrade", "params": {"agent": agent}})
    assert r.status_code == 400 and "needs params.version" in r.text, r.text

    t = finished(orch, orch.submit("sim", "upgrade", agent=agent, timeout_s=60, version="4.1.3",
                                   upgradesstables=True)["id"])
    assert t["state"] == "succeeded", t
    assert [s["name"] for s in t["steps"]] == ["gate", "upgrade", "upgradesstables"] * 2
    for n in c.names:
        out = subprocess.run([str(Path(c.node_dir(n)) / "bin" / "nodetool"), "version"],
                             capture_output=True, text=True, check=True).stdout
        assert out.strip() == "ReleaseVersion: 4.1.3", out
        nj = c.node(n)
        assert [i["release"] for i in nj["installs"]] == ["4.1.3"] and not nj["installs"][0]["running"]
        assert [r["release"] for r in nj["upgradesstables_runs"]] == ["4.1.3"]
        assert starts(c, n) == 1

    # An upgrade_command that installs something else: the start's version
    # check fails the node, and the task stops there.
    c.set("node1", "release_version", "4.1.3")
    bad = Path(tmp_path) / "confs" / f"{c.address('node1')}.conf"
    text = bad.read_text().replace("{version}", "4.1.4")
    Path(os.path.realpath(bad)).write_text(text)
    t = finished(orch, orch.submit("sim", "upgrade", agent=agent, timeout_s=60, version="4.1.5",
                                   nodes=[c.address("node1"), c.address("node2")])["id"])
    assert t["state"] == "failed", t
    assert "nodetool version shows 4.1.4, not 4.1.5" in t["error"], t["error"]
    assert starts(c, "node2") == 1


def test_per_rack_refused_for_an_unsafe_keyspace_and_run_for_safe_ones(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=4, racks=2, keyspaces=2)
    agent = prepare(c, orch, tmp_path)
    t = finished(orch, orch.submit("sim", "rolling-restart", agent=agent, timeout_s=60,
                                   per_rack=True)["id"], timeout=120)
    assert t["state"] == "failed", t
    assert "per_rack refused: keyspace '" in t["error"] and "uses SimpleStrategy" in t["error"], t["error"]
    assert "nothing was touched" in t["error"]
    assert t["steps"][0]["name"] == "rack-safety"
    assert all(starts(c, n) == 0 for n in c.names)

    # Every keyspace rack-safe (NTS, RF <= 2 racks): a rack at a time.
    with simlib.locked_cluster(c.dir) as cl:
        for ks in cl["keyspaces"].values():
            if ks["replication"].get("class") != "LocalStrategy":
                ks["replication"] = {"class": "NetworkTopologyStrategy", "datacenter1": 2}
    with Sampler(c) as s:
        t = finished(orch, orch.submit("sim", "rolling-restart", agent=agent, timeout_s=60,
                                       per_rack=True)["id"], timeout=240)
    assert t["state"] == "succeeded", t
    names = [s_["name"] for s_ in t["steps"]]
    assert names == ["rack-safety", "gate rack datacenter1/rack1", "restart rack datacenter1/rack1",
                     "gate rack datacenter1/rack2", "restart rack datacenter1/rack2"], names
    assert all(starts(c, n) == 1 for n in c.names)
    assert s.max_down <= 2, s.max_down
