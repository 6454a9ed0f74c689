"""The agent's side of forming and healing a cluster, against a scripted
orchestrator: a new node told to `wait` keeps Cassandra stopped and asks
again; a node that holds data is never kept down; seeds sent in a heartbeat
answer are written into cassandra.yaml without restarting Cassandra, and a
bad list is refused whole."""
import json
import os
import shutil
import signal
import time
from pathlib import Path

from agentutil import (RINGAGENT, ScriptedOrchestrator, agent_log, sim_factory,  # noqa: F401
                       simlib, wait_for, write_agent_conf)


def empty(c, name):
    d = Path(c.node_dir(name)) / "data" / "data"
    shutil.rmtree(d)
    d.mkdir()


def start(c, name, fake, tmp_path):
    tok = tmp_path / "join.token"
    tok.write_text("t\n")
    write_agent_conf(c, name, fake.base, tok)
    simlib.start_sshd(c.dir, name)
    simlib.start_agent(c.dir, name, str(RINGAGENT))


def yaml_seeds(c, name):
    text = (Path(c.node_dir(name)) / "conf" / "cassandra.yaml").read_text()
    return [ln.strip() for ln in text.splitlines() if "- seeds:" in ln]


def test_new_node_told_to_wait_stays_stopped_then_bootstraps(sim_factory, tmp_path):  # noqa: F811
    c = sim_factory(nodes=2)
    empty(c, "node2")
    me, seed = c.address("node2"), c.address("node1")
    c.start_cassandra("node1")
    fake = ScriptedOrchestrator([
        {"role": "wait", "retry_after_s": 1, "reason": "the join of 10.1.1.1 holds the slot"},
        {"role": "wait", "retry_after_s": 1, "reason": "still joining"},
        {"role": "bootstrap", "seeds": [seed], "heartbeat_interval_s": 1},
    ])
    try:
        start(c, "node2", fake, tmp_path)
        wait_for(lambda: len(fake.checkins) >= 2, "a second check-in after the wait", timeout=20)
        assert c.node("node2")["up"] is False, "a node told to wait must not start Cassandra"
        log = agent_log(c, "node2")
        assert "says wait: the join of 10.1.1.1 holds the slot" in log, log
        assert "Cassandra stays stopped" in log
        gap = fake.checkin_times[1] - fake.checkin_times[0]
        assert 0.9 <= gap <= 3.0, f"asked again after {gap:.1f} s, want retry_after_s=1 (+10%)"
        wait_for(lambda: c.node("node2")["up"], "Cassandra started once told to bootstrap",
                 timeout=20)
        assert len(fake.checkins) == 3
        assert yaml_seeds(c, "node2") == [f'- seeds: "{seed}:7000"'] or \
            yaml_seeds(c, "node2") == [f'- seeds: "{seed}"'], yaml_seeds(c, "node2")
        assert "as bootstrap" in agent_log(c, "node2")
        assert me not in "".join(yaml_seeds(c, "node2"))
        # Waiting is not being checked in: no heartbeat came before the bootstrap.
        assert all(t > fake.checkin_times[2] for t in fake.beat_times)
    finally:
        fake.close()


def test_node_with_data_told_to_wait_starts_as_rejoin(sim_factory, tmp_path):  # noqa: F811
    c = sim_factory(nodes=1)
    fake = ScriptedOrchestrator([{"role": "wait", "retry_after_s": 30, "reason": "mistake"}])
    try:
        start(c, "node1", fake, tmp_path)
        wait_for(lambda: c.node("node1")["up"], "Cassandra started although told to wait",
                 timeout=20)
        assert "this node holds data: starting Cassandra as a rejoin" in agent_log(c, "node1")
    finally:
        fake.close()


def test_heartbeat_seeds_rewrite_yaml_without_restart(sim_factory, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3)
    a1, a2, a3 = (c.address(n) for n in c.names)
    c.start_cassandra("node1")
    started_before = c.node("node1")["started_at"]
    good = {"status": "ok", "seeds": [a2, a3], "seeds_gen": 7}
    bad = {"status": "ok", "seeds": [a1, "not an address;rm -rf /"], "seeds_gen": 8}
    fake = ScriptedOrchestrator([{"role": "rejoin", "seeds": [a1], "heartbeat_interval_s": 1}],
                                [{"status": "ok"}, good, {"status": "ok"}, bad])
    try:
        before = yaml_seeds(c, "node1")
        start(c, "node1", fake, tmp_path)
        wait_for(lambda: len(fake.beats) >= 5, "five heartbeats", timeout=30)
        log = agent_log(c, "node1")
        want = yaml_seeds(c, "node1")
        assert want != before and a2 in want[0] and a3 in want[0] and a1 not in want[0], want
        assert "(generation 7): Cassandra reads them at its next start" in log, log
        # The running node was not restarted for it.
        assert c.node("node1")["up"] is True and c.node("node1")["started_at"] == started_before
        # Heartbeats before the answer said 0; after it, 7; the bad list changed nothing.
        gens = [b.get("seeds_gen") for b in fake.beats]
        assert gens[0] == 0 and gens[1] == 0 and gens[2] == 7, gens
        assert "seed 1 is not an address" in log, log
        assert yaml_seeds(c, "node1") == want
        assert gens[-1] == 7, gens
    finally:
        fake.close()


def test_failed_starts_are_counted_at_check_in(sim_factory, tmp_path):  # noqa: F811
    """A new node whose Cassandra will not start tells the orchestrator at
    each check-in how many starts failed in a row and the last error, so the
    orchestrator can free the bootstrap slot."""
    c = sim_factory(nodes=2)
    empty(c, "node2")
    seed = c.address("node1")
    c.start_cassandra("node1")
    fake = ScriptedOrchestrator([{"role": "bootstrap", "seeds": [seed], "heartbeat_interval_s": 1}])
    try:
        tok = tmp_path / "join.token"
        tok.write_text("t\n")
        broken = tmp_path / "start-fails"
        broken.write_text("#!/bin/sh\necho 'Unable to contact any seeds' >&2\nexit 3\n")
        broken.chmod(0o755)
        write_agent_conf(c, "node2", fake.base, tok, cassandra_start=str(broken))
        simlib.start_sshd(c.dir, "node2")
        simlib.start_agent(c.dir, "node2", str(RINGAGENT))
        wait_for(lambda: len(fake.checkins) >= 4, "four check-ins of a node that will not start",
                 timeout=60)
        got = [b.get("start_failures", 0) for b in fake.checkins[:4]]
        assert got == [0, 1, 2, 3], got
        assert "Unable to contact any seeds" in fake.checkins[3]["start_error"], fake.checkins[3]
        assert c.node("node2")["up"] is False
    finally:
        fake.close()


def beats_with(fake, key):
    with fake.lock:
        return [b for b in fake.beats if key in b]


def test_tenants_answer_writes_limits_runs_hook_and_reports_demand(sim_factory, tmp_path):  # noqa: F811
    """A heartbeat answer's tenants make the agent write the limits this node serves to
    its limits file and run limits_hook on it; later heartbeats say which limits are
    applied, and a load on a tenant's keyspace shows as that tenant's demand."""
    c = sim_factory(nodes=1)
    c.start_cassandra("node1")
    ks = sorted(k for k in c.state["keyspaces"] if not k.startswith("system"))[0]
    tenants = {"status": "ok", "tenants_gen": 7, "demand_interval_s": 1, "tenants": [
        {"name": "t1", "keyspaces": [ks], "limit": 4000},
        {"name": "t2", "prefix": "nosuch_"}]}
    fake = ScriptedOrchestrator([{"role": "rejoin", "seeds": [c.address("node1")],
                                  "heartbeat_interval_s": 1}],
                                [{"status": "ok"}, tenants])
    hook = tmp_path / "hook.sh"
    seen = tmp_path / "hook.seen"
    # the copy appears last and whole (rename), so seeing it means the hook has finished
    hook.write_text("#!/bin/sh\necho \"$RINGAGENT_LIMITS_FILE\" >> '%s.env'\n"
                    "cp \"$1\" '%s.tmp' && mv '%s.tmp' '%s'\n" % (seen, seen, seen, seen))
    hook.chmod(0o755)
    limits = Path(c.node_dir("node1")) / "agent-state" / "limits.json"
    try:
        tok = tmp_path / "join.token"
        tok.write_text("t\n")
        write_agent_conf(c, "node1", fake.base, tok, limits_hook=str(hook))
        simlib.start_sshd(c.dir, "node1")
        simlib.start_agent(c.dir, "node1", str(RINGAGENT))
        wait_for(lambda: seen.exists(), "limits_hook run on the limits file", timeout=30)
        doc = json.loads(limits.read_text())
        assert doc["format"] == 1 and doc["gen"] == 7 and doc["node"] == c.address("node1")
        assert doc["tenants"] == [{"name": "t1", "keyspaces": [ks], "limit_ops": 4000}], doc
        assert json.loads(seen.read_text()) == doc
        assert Path(str(seen) + ".env").read_text().strip() == str(limits)

        wait_for(lambda: beats_with(fake, "limits_applied"), "limits_applied in a heartbeat",
                 timeout=20)
        first = fake.beats[0]
        # before any list: none of the tenants' fields (an orchestrator without
        # tenants would refuse them as unknown)
        assert not {"tenants_gen", "limits_applied", "limits_error", "demand"} & set(first), first
        applied = beats_with(fake, "limits_applied")[0]
        assert applied["tenants_gen"] == 7 and applied["limits_applied"] == {"t1": 4000}, applied
        assert "limits_error" not in applied

        # No load yet: demand 0.  Then clients on the keyspace: demand follows.
        wait_for(lambda: beats_with(fake, "demand"), "a first demand", timeout=20)
        d0 = beats_with(fake, "demand")[0]["demand"]
        assert d0["ops"] == {"t1": 0.0, "t2": 0.0} and d0["window_s"] > 0, d0
        c.load("node1", ks, 200, 100)

        def loaded():
            return [b["demand"] for b in beats_with(fake, "demand")
                    if b["demand"]["ops"].get("t1", 0) > 0]
        wait_for(lambda: len(loaded()) >= 2, "demand of the loaded tenant", timeout=30)
        d = loaded()[-1]          # the first window may start before the load
        assert 0.5 * 300 <= d["ops"]["t1"] <= 1.5 * 300, d
        assert d["ops"]["t2"] == 0.0, d
        # Each window is about the demand interval (1 s, plus the heartbeat's own time).
        windows = [b["demand"]["window_s"] for b in beats_with(fake, "demand")]
        assert all(0.5 <= w <= 5 for w in windows), windows
        log = agent_log(c, "node1")
        assert "tenants generation 7: 2 tenants, 1 served by this node" in log, log
    finally:
        fake.close()


def one_tenant_node(sim_factory, gen, limit):  # noqa: F811
    """One running node and a scripted orchestrator whose heartbeat answers
    give it tenant t1 (prefix ks) at limit in tenants generation gen."""
    c = sim_factory(nodes=1)
    c.start_cassandra("node1")
    fake = ScriptedOrchestrator([{"role": "rejoin", "seeds": [c.address("node1")],
                                  "heartbeat_interval_s": 1}],
                                [{"status": "ok", "tenants_gen": gen, "tenants": [
                                    {"name": "t1", "prefix": "ks", "limit": limit}]}])
    return c, fake


def test_failing_limits_hook_is_reported_and_retried(sim_factory, tmp_path):  # noqa: F811
    c, fake = one_tenant_node(sim_factory, 3, 500)
    hook = tmp_path / "hook.sh"
    runs = tmp_path / "runs"
    hook.write_text("#!/bin/sh\necho x >> '%s'\necho 'limiter is down' >&2\nexit 3\n" % runs)
    hook.chmod(0o755)
    try:
        tok = tmp_path / "join.token"
        tok.write_text("t\n")
        write_agent_conf(c, "node1", fake.base, tok, limits_hook=str(hook))
        simlib.start_sshd(c.dir, "node1")
        simlib.start_agent(c.dir, "node1", str(RINGAGENT))
        wait_for(lambda: beats_with(fake, "limits_error"), "limits_error in a heartbeat",
                 timeout=30)
        b = beats_with(fake, "limits_error")[0]
        assert b["limits_error"] == "limits_hook '%s' exited 3: limiter is down" % hook, b
        assert b["tenants_gen"] == 3 and b["limits_applied"] == {}, b
        # retried, but not at every 1 s heartbeat: every 10 s
        time.sleep(12)
        n = len(runs.read_text().split())
        assert 2 <= n <= 3, n
        hook.write_text("#!/bin/sh\nexit 0\n")
        wait_for(lambda: any(x.get("limits_applied") == {"t1": 500} and "limits_error" not in x
                             for x in fake.beats[-3:]), "the limits applied once the hook works",
                 timeout=30)
    finally:
        fake.close()


def test_sighup_takes_a_new_limits_hook_and_file(sim_factory, tmp_path):  # noqa: F811
    """A rate limiter installed after the agent started: its hook and a new
    limits_file are set in the config and the agent is sent SIGHUP; the
    tenants' limits it holds are written to the new file and handed to the
    new hook, with no restart and no new list from the orchestrator."""
    c, fake = one_tenant_node(sim_factory, 5, 700)
    first = Path(c.node_dir("node1")) / "agent-state" / "limits.json"
    moved = tmp_path / "proxy" / "limits.json"
    moved.parent.mkdir()
    hook = tmp_path / "hook.sh"
    took = tmp_path / "took"
    hook.write_text("#!/bin/sh\ncp \"$1\" '%s.tmp' && mv '%s.tmp' '%s'\n" % (took, took, took))
    hook.chmod(0o755)
    try:
        tok = tmp_path / "join.token"
        tok.write_text("t\n")
        conf = write_agent_conf(c, "node1", fake.base, tok)
        simlib.start_sshd(c.dir, "node1")
        simlib.start_agent(c.dir, "node1", str(RINGAGENT))
        wait_for(lambda: any(b.get("limits_applied") == {"t1": 700} for b in fake.beats),
                 "the limit applied with no hook", timeout=30)
        assert first.exists() and not took.exists()
        log_of = lambda: agent_log(c, "node1")  # noqa: E731
        # Unchanged keys: the limits are not applied again.
        pid = int((Path(c.node_dir("node1")) / "agent.pid").read_text())
        os.kill(pid, signal.SIGHUP)
        wait_for(lambda: "the orchestrator list is unchanged" in log_of(), "the SIGHUP", timeout=10)
        assert "limits_file now" not in log_of()
        with open(conf, "a") as f:
            f.write(f"limits_file = {moved}\nlimits_hook = {hook}\n")
        os.kill(pid, signal.SIGHUP)
        wait_for(lambda: took.exists(), "the new hook run on the new file", timeout=20)
        doc = json.loads(moved.read_text())
        assert doc["gen"] == 5 and [(t["name"], t["limit_ops"]) for t in doc["tenants"]] == [
            ("t1", 700)], doc
        assert json.loads(took.read_text()) == doc
        assert (f"SIGHUP: limits_file now '{moved}' (was '{first}'), limits_hook now '{hook}' "
                "(was 'none'); applying the tenants' limits through them") in log_of(), log_of()
        n = len(fake.beats)
        wait_for(lambda: len(fake.beats) > n + 1, "heartbeats after the SIGHUP", timeout=20)
        assert fake.beats[-1].get("limits_applied") == {"t1": 700} and \
            "limits_error" not in fake.beats[-1], fake.beats[-1]
    finally:
        fake.close()
