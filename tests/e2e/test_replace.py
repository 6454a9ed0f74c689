"""Replacing a dead node on simulated nodes with real agents: the replace
task takes the cluster's slot, gets a host (from the cluster's provider,
or a new empty node that checks in), waits parked until the new node is UN
in its own and a live peer's view with the dead node's tokens, then drops
the dead node's record.  Shown from the sim's own ring (cluster.json and
`nodetool status` of a live node), the orchestrator's nodes, the task and
the events."""
import json
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from agentutil import (RINGAGENT, agent_log, orch_nodes, sim_factory, simlib,  # noqa: F401
                       wait_for, write_agent_conf)
from orch import orch_factory  # noqa: F401

SIMCTL = Path(__file__).resolve().parents[1] / "sim" / "simctl"
# Above a sim heartbeat's worst case on a loaded machine (three nodetool
# runs), low enough that a killed node is judged down quickly.
HB_TIMEOUT = "6s"


@pytest.fixture(autouse=True)
def agent_by_address(tmp_path, monkeypatch):
    """The orchestrator's default agent command (RINGMASTER_AGENT, read at
    its start): the agent of whichever sim node has the address, hosts the
    provider adds included.  start_cluster() says which sim cluster."""
    script = tmp_path / "agent-by-address"
    script.write_text(f"""#!/bin/sh
a="$1"; shift
for d in $(cat {tmp_path}/simdir)/nodes/*/; do
  if grep -q "\\"address\\": \\"$a\\"" "$d/node.json"; then exec {RINGAGENT} -f "$d/agent.conf" "$@"; fi
done
echo "no sim node at $a" >&2
exit 127
""")
    script.chmod(0o755)
    monkeypatch.setenv("RINGMASTER_AGENT", f"{script} {{address}}")
    return script


def create_sim(orch, c, **settings):
    """Cluster "sim" with the sim's SSH settings: the replace task's forget
    step runs the agent on the nodes."""
    return orch.create_cluster("sim", ssh={"user": "root", "port": c.ssh_port, "key_file": c.key},
                               **({"settings": settings} if settings else {}))


def start_cluster(sim_factory, orch, nodes=3, c=None, **kw):
    c = c or sim_factory(nodes=nodes, **kw)
    tok = orch.tmp / "join.token"
    tok.write_text(orch.join_token + "\n")
    (orch.tmp.parent / "simdir").write_text(str(c.dir))
    if orch.get("/api/v1/clusters/sim").status_code == 404:
        create_sim(orch, c)
    for n in c.names:
        write_agent_conf(c, n, orch.base, tok)
    c.start_all(agent=str(RINGAGENT))

    def all_up():
        ns = orch_nodes(orch)
        return len(ns) == nodes and all(x["state"] == "up" for x in ns.values())
    wait_for(all_up, f"{nodes} nodes up in the orchestrator", timeout=90)
    return c


def sim_provider(orch, c, boot=2.0, delay=0):
    """The sim provider: a script that boots a new, empty sim host with an
    agent in $RM_DC/$RM_RACK and prints its address (tests/sim/simctl);
    delay: seconds it takes before it starts (a cloud API is slow)."""
    p = orch.tmp / "provider-sim"
    p.write_text(f"#!/bin/sh\nsleep {delay}\nexec {SIMCTL} provision {c.dir} --like node1 "
                 f"--agent {RINGAGENT} --bootstrap-seconds {boot}\n")
    p.chmod(0o755)
    return p


def provisions(c):
    return c.state.get("provisions", [])


def kill_and_wait_down(c, orch, name):
    addr = c.address(name)
    c.kill(name)
    wait_for(lambda: orch_nodes(orch).get(addr, {}).get("state") == "down",
             f"{addr} judged down", timeout=90)
    return addr


def status_rows(c, name):
    """{address: (status, state)} of `nodetool status` on node name."""
    r = c.nodetool(name, "status")
    rows = {}
    for ln in r.stdout.splitlines():
        parts = ln.split()
        if len(parts) > 2 and len(parts[0]) == 2 and parts[0][0] in "UD":
            rows[parts[1]] = parts[0]
    return rows


def events(orch, kind, cluster="sim"):
    items = orch.ok("GET", "/api/v1/events", params={"cluster": cluster, "limit": 500})["items"]
    return [e for e in items if e["kind"] == kind]


def assert_replaced(c, orch, dead_addr, dead_tokens, new_name):
    new_addr = c.address(new_name)
    # The sim's ring: the new node has the dead node's tokens; the dead one is gone.
    st = c.state
    assert dead_addr not in [n["address"] for n in st["nodes"]], st["nodes"]
    new = next(n for n in st["nodes"] if n["name"] == new_name)
    assert sorted(new["tokens"]) == sorted(dead_tokens)
    assert new["status"] == "Normal" and new["up"]
    rows = status_rows(c, "node1")
    assert rows.get(new_addr) == "UN" and dead_addr not in rows, rows
    # The orchestrator: the dead node's record (and its host-key pin) gone.
    ns = orch_nodes(orch)
    assert dead_addr not in ns, ns.keys()
    assert ns[new_addr]["state"] == "up", ns[new_addr]
    done = [e for e in events(orch, "replace") if e["result"] == "done"]
    assert len(done) == 1 and done[0]["target"] == dead_addr, done
    assert done[0]["detail"]["new_address"] == new_addr, done
    slot = [(e["target"], e["result"]) for e in events(orch, "slot")]
    # Oldest first: the replacement took the slot (for the dead address),
    # the new host claimed it (when it checked in for it), the task freed it.
    assert slot[0] == (dead_addr, "taken") and slot[-1] == (new_addr, "freed"), slot
    assert [r for _, r in slot].count("freed") == 1, slot
    # Gossip forgot the dead address (the forget step's nodetool assassinate): no live
    # peer keeps the system.peers_v2 row real 4.1 leaves, and every live node's gossip
    # holds the address as LEFT.
    assert dead_addr not in st.get("ghosts", {}), st.get("ghosts")
    for n in st["nodes"]:
        if n.get("up") and not n.get("removed"):
            out = c.nodetool(n["name"], "gossipinfo").stdout
            block = out.split("/" + dead_addr + "\n", 1)
            assert len(block) == 2 and "STATUS_WITH_PORT:188:LEFT," in block[1].split("\n/")[0], \
                (n["name"], out)


def test_operator_replace_with_provider_none_and_an_empty_node(sim_factory, orch_factory):  # noqa: F811
    orch = orch_factory(conf={"heartbeat_timeout": HB_TIMEOUT})
    c = start_cluster(sim_factory, orch)
    dead = "node3"
    dead_tokens = list(c.node(dead)["tokens"])
    dc, rack = c.node(dead)["dc"], c.node(dead)["rack"]
    dead_addr = kill_and_wait_down(c, orch, dead)

    t = orch.submit("sim", "replace", node=dead_addr)
    assert t["params"]["timeout_s"] > 0          # the service filled it in
    # Provider none: the task waits parked for a host, holding the slot.
    def waiting_for_host():
        d = orch.task(t["id"])
        steps = {s["name"]: s for s in d["steps"]}
        return steps["join"]["state"] == "running" and \
            "waiting for a new, empty node" in (steps["join"].get("message") or "")
    wait_for(waiting_for_host, "the replace task waiting for a host", timeout=30)

    # The "bring your own host" case: an empty node boots in the same dc/rack.
    samples, stop = [], threading.Event()

    def sample():
        while not stop.is_set():
            try:
                samples.append(status_rows(c, "node1"))
            except Exception:
                pass
            time.sleep(0.3)
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        nj = simlib.provision_node(c.dir, dc, rack, like="node1", agent=str(RINGAGENT),
                                   bootstrap_seconds=3)
        new_addr = nj["address"]
        orch.wait_task(t["id"], timeout=120)
    finally:
        stop.set()
        th.join()
    assert "as replace" in agent_log(c, nj["name"]) or "replace" in agent_log(c, nj["name"])
    jvm = (Path(nj["node_dir"]) / "conf" / "jvm-server.options").read_text()
    assert f"-Dcassandra.replace_address_first_boot={dead_addr}" in jvm, jvm
    # While it streamed the new node was invisible and the dead one DN (real 4.1).
    during = [s for s in samples if s.get(dead_addr) == "DN" and new_addr not in s]
    assert during, samples[:5]
    # (An empty host that has not started shows DJ in the sim; never up
    # while the dead node is still listed.)
    assert not any(s.get(new_addr, "D")[0] == "U" and dead_addr in s for s in samples), \
        "the new node showed up while the dead one was still listed"
    assert_replaced(c, orch, dead_addr, dead_tokens, nj["name"])
    steps = {s["name"]: s for s in orch.task(t["id"])["steps"]}
    assert all(s["attempts"] == 1 for s in steps.values()), steps


def test_replace_refused_while_a_peer_sees_the_node_up(sim_factory, orch_factory):  # noqa: F811
    orch = orch_factory(conf={"heartbeat_timeout": HB_TIMEOUT})
    c = start_cluster(sim_factory, orch)
    addr = c.address("node3")
    # Its agent dies, Cassandra runs on: peers still see it UN.
    simlib.stop_agent(c.dir, "node3", hard=True)
    wait_for(lambda: orch_nodes(orch).get(addr, {}).get("state") == "agent_down",
             "node3 agent_down", timeout=90)
    before = len(orch.ok("GET", "/api/v1/clusters/sim/tasks")["items"])
    r = orch.post("/api/v1/clusters/sim/tasks", {"type": "replace", "params": {"node": addr}})
    assert r.status_code == 409, r.text
    msg = r.json()["error"]["message"]
    assert "agent_down" in msg and "UN" in msg, msg
    assert len(orch.ok("GET", "/api/v1/clusters/sim/tasks")["items"]) == before
    # Bad input: refused, nothing recorded.
    for bad, word in (({}, "params.node"), ({"node": "a;b"}, "params.node"),
                      ({"node": addr, "new_address": addr}, "new_address"),
                      ({"node": "10.9.9.9"}, "not a node")):
        r = orch.post("/api/v1/clusters/sim/tasks", {"type": "replace", "params": bad})
        assert r.status_code in (400, 409), (bad, r.text)
        assert word in r.json()["error"]["message"], (bad, r.text)
    assert len(orch.ok("GET", "/api/v1/clusters/sim/tasks")["items"]) == before
    assert events(orch, "slot") == []


def test_sim_refuses_to_replace_a_live_node(sim_factory):  # noqa: F811
    """Like real 4.1 ('Cannot replace a live node...'): the sim's own rule,
    which a replacement the orchestrator allowed wrongly would hit."""
    c = sim_factory(nodes=3)
    c.start_all()
    nj = simlib.add_node(c.dir, "n9", dc=c.node("node2")["dc"], rack=c.node("node2")["rack"])
    simlib.make_fresh(c.dir, "n9")
    Path(nj["node_dir"], "conf", "jvm-server.options").write_text(
        f"-Xss256k\n-Dcassandra.replace_address_first_boot={c.address('node2')}\n")
    try:
        simlib.start_cassandra(c.dir, "n9")
        raise AssertionError("the sim replaced a live node")
    except simlib.SimError as e:
        assert "Cannot replace a live node" in str(e), e
    assert status_rows(c, "node1").get(c.address("node2")) == "UN"
    assert sorted(c.node("n9")["tokens"]) != sorted(c.node("node2")["tokens"])


def test_automatic_replacement_after_replace_after_with_the_sim_provider(sim_factory, orch_factory):  # noqa: F811
    orch = orch_factory(conf={"heartbeat_timeout": HB_TIMEOUT})
    c = sim_factory(nodes=3)
    create_sim(orch, c, **{"replace_after": "4s", "provider": "sim",
                                         "provider_command": str(sim_provider(orch, c))})
    start_cluster(sim_factory, orch, c=c)
    dead_tokens = list(c.node("node3")["tokens"])
    dc, rack = c.node("node3")["dc"], c.node("node3")["rack"]
    dead_addr = kill_and_wait_down(c, orch, "node3")
    down_at = time.time()

    def replace_task():
        ts = [t for t in orch.ok("GET", "/api/v1/clusters/sim/tasks")["items"]
              if t["type"] == "replace"]
        return ts or None
    ts = wait_for(replace_task, "a replace task submitted by the orchestrator", timeout=60)
    # Not before replace_after (4 s) of being down (the API's "down" came a
    # moment after the orchestrator's verdict, hence the slack).
    assert time.time() - down_at >= 2.5
    t = orch.wait_task(ts[0]["id"], timeout=120)
    assert t["params"]["node"] == dead_addr
    p = provisions(c)
    assert len(p) == 1 and p[0]["key"] == t["id"] and not p[0]["again"], p
    new = c.node(p[0]["name"])
    assert (new["dc"], new["rack"]) == (dc, rack)
    assert_replaced(c, orch, dead_addr, dead_tokens, p[0]["name"])
    sub = [e for e in events(orch, "replace") if e["result"] == "submitted"]
    assert len(sub) == 1 and sub[0]["target"] == dead_addr, sub
    assert "replace_after 4 s" in sub[0]["detail"]["reason"], sub
    # Once: no second task for the node, before or after.
    time.sleep(2)
    ts = [x for x in orch.ok("GET", "/api/v1/clusters/sim/tasks")["items"] if x["type"] == "replace"]
    assert len(ts) == 1, ts


def test_kill_9_mid_replacement_resumes_and_asks_the_provider_once(sim_factory, orch_factory):  # noqa: F811
    orch = orch_factory(conf={"heartbeat_timeout": HB_TIMEOUT})
    c = sim_factory(nodes=3)
    create_sim(orch, c, **{"provider": "sim",
                                         "provider_command": str(sim_provider(orch, c, boot=8))})
    start_cluster(sim_factory, orch, c=c)
    dead_tokens = list(c.node("node3")["tokens"])
    dead_addr = kill_and_wait_down(c, orch, "node3")
    t = orch.submit("sim", "replace", node=dead_addr)

    def streaming():
        d = orch.task(t["id"])
        steps = {s["name"]: s for s in d["steps"]}
        return steps["host"]["state"] == "succeeded" and provisions(c)
    wait_for(streaming, "the provider answered", timeout=60)
    assert orch.task(t["id"])["state"] == "running"     # killed mid-replacement
    orch.kill9()
    time.sleep(1)
    orch.start()
    t = orch.wait_task(t["id"], timeout=120)
    p = provisions(c)
    assert len(p) == 1 and not p[0]["again"], p          # asked once
    assert_replaced(c, orch, dead_addr, dead_tokens, p[0]["name"])
    steps = {s["name"]: s for s in t["steps"]}
    assert all(s["attempts"] == 1 for s in steps.values()), steps


def test_command_provider_failing_with_a_message(sim_factory, orch_factory):  # noqa: F811
    orch = orch_factory(conf={"heartbeat_timeout": HB_TIMEOUT})
    c = sim_factory(nodes=3)
    prov = orch.tmp / "provider-fails"
    prov.write_text("#!/bin/sh\necho \"asking the cloud for $RM_DC/$RM_RACK\"\n"
                    "echo \"no capacity left in $RM_DC (quota 0) for $RM_DEAD_ADDRESS\" >&2\n"
                    "exit 4\n")
    prov.chmod(0o755)
    create_sim(orch, c, **{"provider": "command", "provider_command": str(prov)})
    start_cluster(sim_factory, orch, c=c)
    dc = c.node("node3")["dc"]
    dead_addr = kill_and_wait_down(c, orch, "node3")
    t = orch.submit("sim", "replace", node=dead_addr)
    t = orch.wait_task(t["id"], states=("failed",), timeout=60)
    assert f"no capacity left in {dc} (quota 0) for {dead_addr}" in t["error"], t["error"]
    assert "exit 4" in t["error"] and str(prov) in t["error"], t["error"]
    assert "slot is freed" in t["error"], t["error"]
    # The slot is free again, the dead node still known and down.
    slot = [(e["target"], e["result"]) for e in events(orch, "slot")]
    assert slot == [(dead_addr, "taken"), (dead_addr, "freed")], slot
    failed = [e for e in events(orch, "replace") if e["result"] == "failed"]
    assert len(failed) == 1 and "no capacity" in failed[0]["detail"]["reason"], failed
    assert orch_nodes(orch)[dead_addr]["state"] == "down"
    # A new empty host checking in now is not given the dead node's place.
    assert provisions(c) == []


# ---- the slot and cancel, with scripted agents (no sim: HTTP check-ins and
# heartbeats carrying the peers' views, as test_orch_agents.py does) ------

def _checkin(o, address, cluster="prod", dc="dc1", rack="r1", **extra):
    body = {"cluster": cluster, "address": address, "dc": dc, "rack": rack,
            "cassandra_version": "4.1.3", "ssh_host_key": "ssh-ed25519 AAAA" + address}
    body.update(extra)
    return orch_ok(o, "POST", "/api/v1/agents/checkin", body)


def orch_ok(o, method, path, body):
    return o.ok(method, path, body, token="agent")


def _peers(rows):
    return {"datacenters": [{"name": "dc1", "nodes": [
        {"address": a, "status": st, "state": sa} for a, st, sa in rows]}]}


class Beater:
    """Heartbeats every 0.3 s for each node in `views` ({address: [(peer,
    status, state)]}), changed by the test while it runs."""

    def __init__(self, o):
        self.o, self.views, self.stop = o, {}, threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop.is_set():
            for a, rows in list(self.views.items()):
                own = [r for r in rows if r[0] == a]
                status = "up" if own and own[0][1:] == ("up", "normal") else "joining"
                self.o.post("/api/v1/agents/heartbeat", {
                    "cluster": "prod", "address": a, "status": status, "tokens": 4,
                    "peers": _peers(rows)}, token="agent")
            self.stop.wait(0.3)

    def close(self):
        self.stop.set()
        self.t.join()


def test_replace_waits_parked_for_a_bootstrap_and_cancel_frees_the_slot(orch_factory):  # noqa: F811
    o = orch_factory(conf={"heartbeat_timeout": "3s"})
    o.create_cluster("prod")
    b = Beater(o)
    try:
        a, c, j = "10.0.7.1", "10.0.7.3", "10.0.7.5"
        assert _checkin(o, a)["role"] == "bootstrap"
        b.views[a] = [(a, "up", "normal")]
        assert _checkin(o, c, host_id="hid-c")["role"] == "rejoin"
        b.views[a] = b.views[c] = [(a, "up", "normal"), (c, "up", "normal")]
        wait_for(lambda: [e["result"] for e in events(o, "slot", "prod")] == ["taken", "freed"],
                 "the first node's slot freed", timeout=20)
        # j joins and holds the slot (never UN); c dies, seen DN by a.
        assert _checkin(o, j)["role"] == "bootstrap"
        b.views[j] = [(a, "up", "normal"), (j, "up", "joining")]
        del b.views[c]
        b.views[a] = [(a, "up", "normal"), (c, "down", "normal"), (j, "up", "joining")]
        wait_for(lambda: orch_nodes(o, "prod").get(c, {}).get("state") == "down",
                 "c judged down", timeout=30)

        t = o.submit("prod", "replace", node=c)

        def slot_wait():
            s = {x["name"]: x for x in o.task(t["id"])["steps"]}["slot"]
            return s["state"] == "running" and "bootstrap of 10.0.7.5 holds it" in (s["message"] or "")
        wait_for(slot_wait, "the replace waiting for the slot", timeout=30)
        # Parked: it holds no worker while it waits.
        m = o.get("/metrics").text
        assert "\nringmaster_workers_busy 0\n" in m, [ln for ln in m.splitlines() if "busy" in ln]
        # j joins: its slot is freed, the replacement takes it.
        b.views[a] = [(a, "up", "normal"), (c, "down", "normal"), (j, "up", "normal")]
        b.views[j] = [(a, "up", "normal"), (j, "up", "normal")]

        def join_wait():
            s = {x["name"]: x for x in o.task(t["id"])["steps"]}["join"]
            return s["state"] == "running" and "waiting for a new, empty node" in (s["message"] or "")
        wait_for(join_wait, "the replace waiting for a host", timeout=30)
        # A new node in another rack is not given the place: it waits.
        w = _checkin(o, "10.0.7.9", rack="r2")
        assert w["role"] == "wait" and "replacement of 10.0.7.3" in w["reason"], w
        # Cancel: the slot is freed, the node still down.
        o.ok("POST", f"/api/v1/tasks/{t['id']}/cancel")
        o.wait_task(t["id"], states=("cancelled",), timeout=20)
        evs = [(e["target"], e["result"]) for e in events(o, "slot", "prod")]
        assert evs[-2:] == [(c, "taken"), (c, "freed")], evs
        freed = events(o, "slot", "prod")[-1]
        assert "cancelled" in freed["detail"]["reason"], freed
        assert orch_nodes(o, "prod")[c]["state"] == "down"
        # The slot is free: the waiting node is now let in.
        assert _checkin(o, "10.0.7.9", rack="r2")["role"] == "bootstrap"
    finally:
        b.close()


def member_down(o, b, a, c):
    """a bootstraps the cluster, c rejoins as a member, then a's view says c
    is DN and c is silent: c is judged down."""
    assert _checkin(o, a)["role"] == "bootstrap"
    b.views[a] = [(a, "up", "normal")]
    assert _checkin(o, c, host_id="hid-c")["role"] == "rejoin"
    b.views[a] = [(a, "up", "normal"), (c, "down", "normal")]
    wait_for(lambda: orch_nodes(o, "prod").get(c, {}).get("state") == "down",
             "c judged down", timeout=30)


def test_a_node_that_comes_back_before_a_host_took_its_place_is_not_replaced(orch_factory):  # noqa: F811
    o = orch_factory(conf={"heartbeat_timeout": "3s"})
    o.create_cluster("prod")
    b = Beater(o)
    try:
        a, c = "10.0.8.1", "10.0.8.3"
        member_down(o, b, a, c)
        t = o.submit("prod", "replace", node=c)
        wait_for(lambda: {x["name"]: x for x in o.task(t["id"])["steps"]}["join"]["state"]
                 == "running", "the replace waiting for a host", timeout=30)
        # Its agent heartbeats again, Cassandra UN.
        b.views[c] = b.views[a] = [(a, "up", "normal"), (c, "up", "normal")]
        t = o.wait_task(t["id"], states=("failed",), timeout=30)
        assert f"node {c} is up again before any host took its place" in t["error"], t["error"]
        assert "slot is freed" in t["error"]
        assert [e["result"] for e in events(o, "slot", "prod")][-2:] == ["taken", "freed"]
        assert orch_nodes(o, "prod")[c]["state"] == "up"
    finally:
        b.close()


def test_a_provider_answering_a_member_or_garbage_fails_the_replacement(orch_factory):  # noqa: F811
    o = orch_factory(conf={"heartbeat_timeout": "3s"})
    a, c = "10.0.9.1", "10.0.9.3"
    member = o.tmp / "provider-member"
    member.write_text(f"#!/bin/sh\necho '{{\"address\": \"{a}\"}}'\n")
    member.chmod(0o755)
    garbage = o.tmp / "provider-garbage"
    garbage.write_text("#!/bin/sh\necho 'made a host, somewhere'\n")
    garbage.chmod(0o755)
    o.create_cluster("prod", settings={"provider": "command", "provider_command": str(member)})
    b = Beater(o)
    try:
        member_down(o, b, a, c)
        t = o.wait_task(o.submit("prod", "replace", node=c)["id"], states=("failed",), timeout=30)
        assert f"answered {a}, which is already a node of cluster 'prod'" in t["error"], t["error"]
        o.ok("PATCH", "/api/v1/clusters/prod", {"settings": {"provider_command": str(garbage)}})
        t = o.wait_task(o.submit("prod", "replace", node=c)["id"], states=("failed",), timeout=30)
        assert "exited 0 but its last line is not a JSON object" in t["error"], t["error"]
        # Each freed the slot; the member was never told to replace anything.
        assert [e["result"] for e in events(o, "slot", "prod")][-4:] == \
            ["taken", "freed", "taken", "freed"]
        assert orch_nodes(o, "prod")[a]["state"] == "up"
    finally:
        b.close()


def test_a_replacement_past_its_timeout_fails_and_frees_the_slot(orch_factory):  # noqa: F811
    # timeout_s comes from bootstrap_timeout when not given.
    o = orch_factory(conf={"heartbeat_timeout": "3s", "bootstrap_timeout": "3s"})
    o.create_cluster("prod")
    b = Beater(o)
    try:
        a, c = "10.0.10.1", "10.0.10.3"
        member_down(o, b, a, c)
        t = o.submit("prod", "replace", node=c)
        assert t["params"]["timeout_s"] == 3
        t = o.wait_task(t["id"], states=("failed",), timeout=30)
        assert f"the replacement of {c} did not finish within timeout_s (3 s): no new node " \
               "checked in for it" in t["error"], t["error"]
        assert "slot is freed" in t["error"]
        slot = events(o, "slot", "prod")
        assert [e["result"] for e in slot][-2:] == ["taken", "freed"], slot
        assert "did not finish within timeout_s" in slot[-1]["detail"]["reason"]
        failed = [e for e in events(o, "replace", "prod") if e["result"] == "failed"]
        assert len(failed) == 1 and failed[0]["target"] == c, failed
        assert orch_nodes(o, "prod")[c]["state"] == "down"
    finally:
        b.close()


def test_kill_9_while_the_provider_runs_asks_it_again_with_the_same_key(sim_factory, orch_factory):  # noqa: F811
    """The one window where a provider is asked twice: the orchestrator dies
    while the command runs, before its answer is recorded.  It is asked again
    with the same idempotency key and must answer the same host (the sim's
    does): one host is made, not two."""
    orch = orch_factory(conf={"heartbeat_timeout": HB_TIMEOUT})
    c = sim_factory(nodes=3)
    create_sim(orch, c, **{"provider": "sim",
                                         "provider_command": str(sim_provider(orch, c, delay=3))})
    start_cluster(sim_factory, orch, c=c)
    dead_tokens = list(c.node("node3")["tokens"])
    dead_addr = kill_and_wait_down(c, orch, "node3")
    t = orch.submit("sim", "replace", node=dead_addr)
    wait_for(lambda: "asked provider sim" in ({s["name"]: s for s in orch.task(t["id"])["steps"]}
                                             ["host"].get("message") or ""),
             "the provider asked", timeout=30)
    orch.kill9()                  # its command runs on, in its own process group
    assert provisions(c) == []    # and has not answered yet (it sleeps 3 s first)
    orch.start()
    t = orch.wait_task(t["id"], timeout=120)
    p = provisions(c)
    assert [x["again"] for x in p] == [False, True], p
    assert len({x["name"] for x in p}) == 1 and all(x["key"] == t["id"] for x in p), p
    assert "provider_command was running when the orchestrator stopped" in orch.log_tail(400)
    assert_replaced(c, orch, dead_addr, dead_tokens, p[0]["name"])


def test_a_replacement_whose_agents_cannot_run_ends_done_and_says_what_is_left(
        sim_factory, orch_factory):  # noqa: F811
    """The forget step comes after Cassandra finished the replacement: an
    agent that cannot be run there must not fail it.  The task succeeds, a
    replace event gossip_kept says what is left to do, and the sim's ghost
    row of the dead address is honestly still there."""
    orch = orch_factory(conf={"heartbeat_timeout": HB_TIMEOUT})
    c = sim_factory(nodes=3)
    create_sim(orch, c, **{"provider": "sim", "provider_command": str(sim_provider(orch, c))})
    start_cluster(sim_factory, orch, c=c)
    dead_addr = kill_and_wait_down(c, orch, "node3")
    t = orch.submit("sim", "replace", node=dead_addr, agent="/nonexistent/ringagent {address}")
    t = orch.wait_task(t["id"], states=("succeeded", "failed"), timeout=180)
    assert t["state"] == "succeeded", t
    forget = {s["name"]: s for s in t["steps"]}["forget"]
    assert "cannot make gossip forget" in forget["message"], forget
    kept = [e for e in events(orch, "replace") if e["result"] == "gossip_kept"]
    assert len(kept) == 1 and kept[0]["target"] == dead_addr, kept
    assert "nonexistent" in kept[0]["detail"]["reason"], kept
    assert [e["result"] for e in events(orch, "replace")].count("done") == 1
    assert dead_addr in c.state.get("ghosts", {}), c.state.get("ghosts")
