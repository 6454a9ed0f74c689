"""Ordered start-up on real nodes: two new, empty nodes whose agents start
at the same moment join the running cluster one at a time through the
orchestrator's bootstrap slot.  Real 4.1 lets two nodes started together
both join (its own guard is racy, ../shared/cassandra/4.1-behaviour.md), so
the slot is what keeps the joins apart: the second node is told to wait,
and starts only after the first is UN in its own and a peer's view.

Runs last: it leaves the cluster two nodes bigger."""
import os
import random
import threading

from realenv import (CL, JOIN_RING_DELAY_MS, Node, realcass, start_agent, start_sshd,
                     wait_until, write_agent_conf)


def test_two_new_nodes_join_one_at_a_time(real):
    auth = real.tmp / "ssh" / "authorized_keys"
    tok = real.tmp / "join.token"
    fresh = []
    for i, rack in ((4, "r1"), (5, "r2")):
        rn = real.net.node(real.tmp / "nodes", f"n{i}")
        node = Node(rn, rack)
        # Its own address as seed, as a freshly installed host would have:
        # only the agent's bootstrap answer may point it at the cluster.
        rn.setup(seeds=[rn.address], dc="dc1", rack=rack, tokens=4, cluster=CL,
                 ring_delay_ms=JOIN_RING_DELAY_MS)
        # Tokens of its own: with the test ring delay of 1 s, the token
        # allocator of a node joining on a loaded host can miss a member's
        # tokens and pick one of them ("Bootstrap Token collision"), which
        # says nothing about the slot.
        toks = ",".join(str(random.randrange(-2**63 + 1, 2**63 - 1)) for _ in range(4))
        with open(rn.cassandra_yaml, "a") as y:
            y.write(f"initial_token: {toks}\n")
        real.nodes.append(node)        # the session's teardown stops it
        fresh.append(node)
        start_sshd(node, real.ssh_port, auth)
        write_agent_conf(node, real.o.base, tok)
        os.symlink(node.conf, real.tmp / "confs" / f"{node.address}.conf")
    # Sample nodetool status on a member while they join: never two UJ.
    most_uj, stop = [0], threading.Event()

    def sample():
        while not stop.is_set():
            r = real.nodes[0].real.nodetool("status", check=False, timeout=60)
            uj = sum(1 for ln in r.stdout.splitlines() if ln.startswith("UJ"))
            most_uj[0] = max(most_uj[0], uj)
            stop.wait(2)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    for n in fresh:
        start_agent(n)
    try:
        wait_until(lambda: all(real.orch_nodes().get(n.address, {}).get("state") == "up"
                               and real.orch_nodes()[n.address].get("host_id") for n in fresh),
                   600, "both new nodes up with host ids", cap=5.0)
    finally:
        stop.set()
        sampler.join()
    for n in fresh:
        realcass.wait_status(real.nodes[0].real, n.address, "UN", timeout=120)
        y = n.real.cassandra_yaml.read_text()
        assert real.nodes[0].address in y or real.nodes[1].address in y, \
            f"{n.name}: its seeds still name only itself:\n{y[-2000:]}"
    logs = {n.name: n.agent_log.read_text(errors="replace") for n in fresh}
    assert all("as bootstrap" in v for v in logs.values()), logs
    assert any("says wait" in v for v in logs.values()), "neither new node was told to wait"
    assert most_uj[0] <= 1, f"{most_uj[0]} nodes were UJ at once"
    # The slot is freed at the holder's first heartbeat that shows its join
    # finished (normal, UN in a peer's view), which may come after the
    # orchestrator already marks the node up: wait for it.
    def slot_events():
        return [(e["target"], e["result"]) for e in
                real.o.ok("GET", "/api/v1/events",
                          params={"cluster": CL, "limit": 500})["items"]
                if e["kind"] == "slot"]
    wait_until(lambda: len(slot_events()) >= 4, 120, "the second join's slot freed", cap=2.0)
    evs = slot_events()
    assert [r for _, r in evs] == ["taken", "freed", "taken", "freed"], evs
    assert evs[0][0] == evs[1][0] and evs[2][0] == evs[3][0] != evs[0][0], evs
