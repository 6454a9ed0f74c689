"""Forming a cluster on simulated nodes: new nodes booting in any order are
ordered by the orchestrator's one bootstrap slot into one ring, and the
joins never overlap - shown from the sim's own journal of joins, from
`nodetool status` sampled during the test, and from the slot's events."""
import random
import shutil
import threading
import time
from pathlib import Path

from agentutil import (RINGAGENT, agent_log, orch_nodes, sim_factory, simlib,  # noqa: F401
                       wait_for, write_agent_conf)
from orch import orch_factory  # noqa: F401


def make_fresh(c, name, boot_s):
    """A new host: Cassandra stopped, never joined, empty data dirs."""
    data = Path(c.node_dir(name)) / "data" / "data"
    shutil.rmtree(data)
    data.mkdir()
    simlib.set_node_state(c.dir, name, up=False, state="stopped", status="Joining")
    with simlib.locked_node(c.node_dir(name)) as nj:
        nj["joined"] = False
    simlib.set_knob(c.dir, name, "bootstrap_seconds", boot_s)


def joining_now(c):
    now = time.time()
    return [n["name"] for n in c.state["nodes"]
            if n.get("up") and n.get("status") == "Joining" and n.get("joining_until", now + 1) > now]


def test_six_new_nodes_in_random_order_form_one_ring(sim_factory, orch_factory):  # noqa: F811
    # A long heartbeat timeout: on a loaded machine a sim heartbeat (three
    # nodetool runs) can take seconds, and a node judged silent is not "up".
    orch = orch_factory(conf={"heartbeat_timeout": "30s"})
    c = sim_factory(nodes=6, dcs=[("dc1", 3), ("dc2", 3)], racks=2)
    for n in c.names:
        make_fresh(c, n, 1.5)
    tok = orch.tmp / "join.token"
    tok.write_text(orch.join_token + "\n")
    orch.ensure_cluster("sim")
    for n in c.names:
        write_agent_conf(c, n, orch.base, tok)
        simlib.start_sshd(c.dir, n)

    samples, stop = [], threading.Event()

    def sample():
        # What the nodes themselves say: UJ rows in a live node's status.
        while not stop.is_set():
            j = joining_now(c)
            up = [n for n in c.state["nodes"] if n.get("up")]
            uj = 0
            if up:
                r = c.nodetool(up[0]["name"], "status")
                uj = sum(1 for ln in r.stdout.splitlines() if ln.startswith("UJ"))
            samples.append((len(j), uj))
            time.sleep(0.2)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()

    order = list(c.names)
    random.shuffle(order)
    starters = []
    for n in order:   # all within ~100 ms, in random order
        t = threading.Thread(target=simlib.start_agent, args=(c.dir, n, str(RINGAGENT)))
        t.start()
        starters.append(t)
        time.sleep(random.uniform(0, 0.02))
    for t in starters:
        t.join()

    # One of them restarts in the middle of its join.
    victim = {}

    def someone_joining_not_first():
        j = joining_now(c)
        joins = c.state.get("joins", [])
        if j and len(joins) >= 2:
            victim["name"] = j[0]
            return True
        return False
    wait_for(someone_joining_not_first, "a second node joining", timeout=60)
    v = victim["name"]
    simlib.stop_agent(c.dir, v, hard=True)
    simlib.set_node_state(c.dir, v, up=False, state="killed")
    simlib.start_agent(c.dir, v, str(RINGAGENT))

    def all_up():
        ns = orch_nodes(orch)
        return len(ns) == 6 and all(x["state"] == "up" for x in ns.values())
    try:
        wait_for(all_up, "six nodes up in the orchestrator", timeout=300)
    finally:
        stop.set()
        sampler.join()
    st = c.state
    # One ring (the first node's: it seeded itself), every node Normal.
    rings = {n.get("ring", "main") for n in st["nodes"]}
    assert len(rings) == 1, [(n["name"], n.get("ring")) for n in st["nodes"]]
    assert all(n["status"] == "Normal" and n["up"] for n in st["nodes"]), st["nodes"]
    # Joins never overlapped: the sim's journal (a restart resumes its own join).
    joins = sorted(st["joins"], key=lambda j: j["start"])
    assert len({j["name"] for j in joins}) == 6, joins
    for a, b in zip(joins, joins[1:]):
        if a["name"] != b["name"]:
            assert b["start"] >= a["until"], f"{b['name']} started joining while {a['name']} was"
    assert sum(1 for j in joins if j["name"] == v) == 2, (v, joins)
    # ... nor in what the nodes showed while it happened.
    assert samples and max(s[0] for s in samples) <= 1 and max(s[1] for s in samples) <= 1, samples
    assert any(s[0] == 1 for s in samples), "the sampler never saw a join"
    # ... nor in the slot's events: taken and freed alternate.
    # The last slot is freed at its holder's next heartbeat after the join
    # shows done, which may come after the ring looks whole: wait for it.
    def slot_events():
        return [e for e in orch.ok("GET", "/api/v1/events",
                                   params={"cluster": "sim", "limit": 500})["items"]
                if e["kind"] == "slot"]
    wait_for(lambda: len(slot_events()) >= 12, "the last join's slot freed", timeout=60)
    evs = slot_events()
    results = [e["result"] for e in evs]
    assert results == ["taken", "freed"] * 6, [(e["target"], e["result"]) for e in evs]
    # The first node seeded itself; every other one was given live seeds.
    first = evs[0]["target"]
    for n in c.names:
        log = agent_log(c, n)
        assert "as bootstrap" in log, log
        if c.address(n) != first:
            assert "says wait" in log or "as bootstrap" in log
    seeds = orch.ok("GET", "/api/v1/clusters/sim/seeds")["seeds"]
    # seeds_per_dc = 3 over 2 racks: every node of these 3-node DCs.
    assert sorted(seeds) == sorted(c.address(n) for n in c.names), seeds
