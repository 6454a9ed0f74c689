"""A live real node taken out of the ring by the decommission task
(docs/lifecycle.md, "Scaling and remediation"): gate, `ringagent
decommission` (real `nodetool decommission`: the node goes UL, streams
its ranges away, and its own netstats says DECOMMISSIONED), gone from every
live peer's `nodetool status`, forgotten by the orchestrator with a
`decommission` event and a tombstone, so its still-running agent's
check-in is refused.  The keyspaces are RF 3, so a fourth node is needed:
the one test_08 left, or one bootstrapped here.  Leaves the cluster with
the session's three nodes (and any others but the one it took out)."""
import os
import random
import threading

from realenv import CL, Node, start_agent, start_sshd, stop_agent, wait_until, write_agent_conf


def events(real, kind):
    return [e for e in real.o.ok("GET", "/api/v1/events",
                                 params={"cluster": CL, "limit": 500})["items"]
            if e["kind"] == kind]


def add_node(real):
    """A fresh node that joins through the bootstrap slot (as test_08 does)."""
    rn = real.net.node(real.tmp / "nodes", "n12")
    node = Node(rn, "r1")
    rn.setup(seeds=[rn.address], dc="dc1", rack="r1", tokens=4, cluster=CL)
    toks = ",".join(str(random.randrange(-2**63 + 1, 2**63 - 1)) for _ in range(4))
    with open(rn.cassandra_yaml, "a") as y:
        y.write(f"initial_token: {toks}\n")
    real.nodes.append(node)            # the session's teardown stops it
    start_sshd(node, real.ssh_port, real.tmp / "ssh" / "authorized_keys")
    write_agent_conf(node, real.o.base, real.tmp / "join.token")
    os.symlink(node.conf, real.tmp / "confs" / f"{node.address}.conf")
    start_agent(node)
    wait_until(lambda: real.orch_nodes().get(node.address, {}).get("state") == "up"
               and real.orch_nodes()[node.address].get("host_id"), 600,
               f"{node.address} up with a host id", cap=5.0)
    return node


def status_rows(node):
    out = node.real.nodetool("status", check=False, timeout=120).stdout
    return {f[1]: f[0] for f in (ln.split() for ln in out.splitlines())
            if len(f) > 2 and len(f[0]) == 2 and f[0][0] in "UD"}


def test_a_live_node_is_decommissioned(real):
    victim = real.nodes[-1] if len(real.nodes) > 3 else add_node(real)
    peers = [n for n in real.nodes if n is not victim]
    hid = real.orch_nodes()[victim.address]["host_id"]
    seen, stop = set(), threading.Event()

    def sample():
        while not stop.is_set():
            seen.add(status_rows(peers[0]).get(victim.address, "gone"))
            stop.wait(1)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        t = real.run("decommission", timeout=1200, nodes=[victim.address], timeout_s=1800)
    finally:
        stop.set()
        sampler.join()
    assert "UL" in seen and "gone" in seen, seen
    # Cassandra's own word on the node that left.
    out = victim.real.nodetool("netstats", timeout=120).stdout
    assert out.startswith("Mode: DECOMMISSIONED"), out[:300]
    for p in peers:
        rows = status_rows(p)
        assert victim.address not in rows and rows, (p.name, rows)
    assert victim.address not in real.orch_nodes()
    done = [e for e in events(real, "decommission") if e["target"] == victim.address]
    assert [e["result"] for e in done] == ["done"], done
    assert done[0]["detail"]["host_id"] == hid and done[0]["detail"]["task"] == t["id"], done
    # Its agent still runs: answered "who are you?", it checks in again and
    # is refused, never listed.
    wait_until(lambda: [e for e in events(real, "checkin")
                        if e["target"] == victim.address and e["result"] == "refused"],
               120, "the decommissioned node's check-in refused", cap=2.0)
    assert victim.address not in real.orch_nodes()
    stop_agent(victim)
    victim.real.stop()
    real.nodes.remove(victim)
    # the session's teardown kills the sshd of every node it still knows
    real.dead_nodes = getattr(real, "dead_nodes", []) + [victim]
