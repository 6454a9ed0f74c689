"""The gate asks only the node it waits for the whole health report; every
other node gives `health --view`, its `nodetool status` alone (one run of
nodetool where the report takes two or three).  An agent from before
--view refuses it as a usage error, and the gate asks every node the whole
report from the next round on (orchestrator/tasks/gate.c)."""
import json
import os
from pathlib import Path

from agentutil import RINGAGENT, run_op, sim_factory  # noqa: F401
from orch import orch, orch_factory  # noqa: F401
from test_rolling import finished, prepare, starts


def test_health_view_runs_only_nodetool_status(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3)
    prepare(c, orch, tmp_path)
    conf = Path(c.node_dir("node1")) / "agent.conf"
    # info fails on this node: the view never runs it.
    c.fault("node1", "fail", command="info", message="info is broken here")
    code, lines, err = run_op(conf, "health", "--view", "--json")
    assert code == 0, (code, lines, err)
    d = lines[-1]["data"] if "data" in lines[-1] else lines[-1]
    assert d["process_up"] is True and d["status"] == "up", d
    assert d["errors"] == [], d
    assert "host_id" not in d and "cassandra_version" not in d, d
    peers = [n["address"] for dc in d["peers"]["datacenters"] for n in dc["nodes"]]
    assert sorted(peers) == sorted(c.address(n) for n in c.names), peers
    # The whole report runs info and says what failed.
    code, lines, err = run_op(conf, "health", "--json")
    d = lines[-1]["data"] if "data" in lines[-1] else lines[-1]
    assert any("info is broken here" in e for e in d["errors"]), d
    c.fault("node1", "none")
    # A stopped Cassandra: the view says so.
    c.stop_cassandra("node1")
    code, lines, err = run_op(conf, "health", "--view", "--json")
    d = lines[-1]["data"] if "data" in lines[-1] else lines[-1]
    assert d["process_up"] is False and d["status"] == "down" and d["errors"], d


def _wrapper(tmp_path, refuse_view):
    """An agent command that logs its arguments; with refuse_view, its
    health jobs answer --view as an agent from before it would: the job
    runs and the operation exits with a usage error (an option it does not
    know: the wrapper passes one that no agent knows)."""
    log = tmp_path / "agent-args.log"
    w = tmp_path / "agent-wrapper"
    body = f'echo "$*" >> {log}\n'
    if refuse_view:
        body += ('for a; do shift; [ "$a" = --view ] && a=--no-such-option; '
                 'set -- "$@" "$a"; done\n')
    w.write_text(f'#!/bin/sh\n{body}exec {RINGAGENT} "$@"\n')
    w.chmod(0o755)
    return w, log


def _health_calls(log):
    """The distinct health requests in the wrapper's log, in order, as
    (node's conf file, nonce, view?): a node job is started and then
    followed with the same arguments, so one request shows many times."""
    seen, out = set(), []
    for ln in log.read_text().splitlines():
        f = ln.split()
        if "--" not in f or "health" not in f[f.index("--"):]:
            continue
        cmd = f[f.index("--") + 1:]
        nonce = cmd[cmd.index("--nonce") + 1] if "--nonce" in cmd else ""
        key = (os.path.basename(f[1]), nonce, "--view" in cmd)
        if key not in seen:
            seen.add(key)
            out.append(key)
    return out


def _rolling_restart(sim_factory, orch_factory, tmp_path, refuse_view):  # noqa: F811
    """A rolling restart of three simulated nodes through the wrapper;
    (cluster, task, its gates' health requests but the restart probes)."""
    c = sim_factory(nodes=3)
    o = orch_factory()
    agent = prepare(c, o, tmp_path)
    w, log = _wrapper(tmp_path, refuse_view=refuse_view)
    t = finished(o, o.submit("sim", "rolling-restart", agent=agent.replace(str(RINGAGENT), str(w)),
                             timeout_s=120)["id"])
    assert t["state"] == "succeeded", json.dumps(t, indent=1)
    assert all(starts(c, n) == 1 for n in c.names)
    return c, t, [k for k in _health_calls(log) if not k[1].startswith("probe-")]


def test_gates_ask_the_view_of_every_node_but_the_one_back(sim_factory, orch_factory,  # noqa: F811
                                                           tmp_path):
    c, t, calls = _rolling_restart(sim_factory, orch_factory, tmp_path, refuse_view=False)
    full = [k for k in calls if not k[2]]
    view = [k for k in calls if k[2]]
    # A gate before each node and one after it: the one after asks that
    # node the whole report (once per round until it is met), every other
    # node of every round gives its view.
    for n in c.names:
        assert [k for k in full if k[0] == f"{c.address(n)}.conf"], (n, calls)
    assert len(view) >= 2 * len(full), calls


def test_an_agent_without_view_gets_the_whole_report(sim_factory, orch_factory, tmp_path):  # noqa: F811
    c, t, calls = _rolling_restart(sim_factory, orch_factory, tmp_path, refuse_view=True)
    view = [k for k in calls if k[2]]
    # Each gate (its memo lives as long as its step) asks --view until the
    # first refusal: from then on, in the same round (its jobs are still
    # being followed) or the next, every node is asked the whole report.
    gates = [s_ for s_ in t["steps"] if s_["name"] in ("gate", "restart")]
    rounds = list(dict.fromkeys(k[1] for k in calls))
    view_rounds = list(dict.fromkeys(k[1] for k in calls if k[2]))
    assert 1 <= len(view_rounds) <= len(gates), (view_rounds, gates)
    for r in view_rounds:
        nxt = rounds[rounds.index(r) + 1:rounds.index(r) + 2]
        for conf in {k[0] for k in calls if k[1] == r and k[2]}:
            assert (conf, r, False) in calls or (nxt and (conf, nxt[0], False) in calls), \
                (conf, r, calls)
