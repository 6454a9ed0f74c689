"""A dead real node replaced by a fresh real node through the replace task
and the `none` provider (the "bring your own host" case): the node's
Cassandra and agent are killed, the orchestrator judges it down from its
peers' views, the operator submits `replace`, and a new, empty node whose
agent checks in in the same dc and rack is told to replace it: it starts
with -Dcassandra.replace_address_first_boot, streams, and takes the dead
node's tokens.  Checked with `nodetool status`/`ring` on a peer (the new
node UN with exactly the dead node's tokens, the dead one gone), the rows
at CONSISTENCY ALL, the orchestrator (task, events, nodes), and
system.peers_v2 on every live node (the forget step: no row of the dead
address, docs/lifecycle.md "Cassandra 4.1 and replaced addresses").

Self-contained: it kills the session's last node (the one test_08 added
that test_10 left, else n3) and leaves the cluster as big as it found it."""
import os

from realenv import (CL, HEARTBEAT_S, JOIN_RING_DELAY_MS, TABLES, Node, realcass,
                     start_agent, start_sshd, stop_agent, wait_until, write_agent_conf)


def ring_tokens(node):
    """{address: sorted tokens} of `nodetool ring` on node."""
    out = node.real.nodetool("ring", timeout=120).stdout
    toks = {}
    for ln in out.splitlines():
        f = ln.split()
        if len(f) >= 7 and f[0].count(".") == 3 and f[-1].lstrip("-").isdigit():
            toks.setdefault(f[0].split(":")[0], []).append(int(f[-1]))
    return {a: sorted(t) for a, t in toks.items()}


def test_a_killed_node_is_replaced_by_a_fresh_node(real):
    peer = real.nodes[0]
    dead = real.nodes[-1]
    assert dead is not peer
    dead_tokens = ring_tokens(peer)[dead.address]
    assert len(dead_tokens) == 4, dead_tokens
    # The node dies: its agent and Cassandra, and its sshd with the host.
    # Judged down: silent past heartbeat_timeout (two intervals here) and
    # DN in a live peer's view.
    with real.heartbeat_timeout(2 * HEARTBEAT_S):
        stop_agent(dead)
        dead.real.kill()
        if dead.sshd_pid:
            try:
                os.kill(dead.sshd_pid, 9)
            except ProcessLookupError:
                pass
        realcass.wait_status(peer.real, dead.address, "DN", timeout=180)
        wait_until(lambda: real.orch_nodes()[dead.address]["state"] == "down", 600,
                   f"{dead.address} judged down", cap=5.0)

    r = real.o.req("POST", f"/api/v1/clusters/{CL}/tasks",
                   body={"type": "replace", "params": {"node": dead.address}})
    assert r.status_code == 202, r.text
    tid = r.json()["id"]

    # A fresh host in the dead node's dc and rack, seeding only itself as a
    # new install would: the replace answer gives it the cluster's seeds.
    rn = real.net.node(real.tmp / "nodes", "n9")
    new = Node(rn, dead.rack)
    rn.setup(seeds=[rn.address], dc="dc1", rack=dead.rack, tokens=4, cluster=CL,
             ring_delay_ms=JOIN_RING_DELAY_MS)
    real.nodes.append(new)                 # the session's teardown stops it
    real.net.started.add(rn)
    start_sshd(new, real.ssh_port, real.tmp / "ssh" / "authorized_keys")
    write_agent_conf(new, real.o.base, real.tmp / "join.token")
    os.symlink(new.conf, real.tmp / "confs" / f"{new.address}.conf")
    start_agent(new)

    t = real.o.wait_task(tid, states=("succeeded", "failed", "cancelled"), timeout=900)
    assert t["state"] == "succeeded", t
    log = new.agent_log.read_text(errors="replace")
    assert f"as replace of {dead.address}" in log, log[-3000:]
    assert f"-Dcassandra.replace_address_first_boot={dead.address}" in \
        rn.jvm_options.read_text()

    # Cassandra's own view, from a peer: the new node UN with the dead
    # node's exact tokens, the dead one gone.
    realcass.wait_status(peer.real, new.address, "UN", timeout=120)
    assert peer.real.status_of(dead.address) is None
    toks = ring_tokens(peer)
    assert toks.get(new.address) == dead_tokens, toks
    assert dead.address not in toks
    for table in TABLES:
        assert real.count(table) == real.rows[table], table

    # The orchestrator: the dead node's record gone, the new node up.
    ns = real.orch_nodes()
    assert dead.address not in ns, sorted(ns)
    assert ns[new.address]["state"] == "up" and ns[new.address].get("host_id")
    evs = real.o.ok("GET", "/api/v1/events", params={"cluster": CL, "limit": 500})["items"]
    done = [e for e in evs if e["kind"] == "replace" and e["result"] == "done"]
    assert len(done) == 1 and done[0]["target"] == dead.address, done
    assert done[0]["detail"]["new_address"] == new.address, done
    # Gossip forgot the dead address (the forget step's nodetool
    # assassinate): no live node keeps its system.peers_v2 row, which 4.1
    # leaves on some peers and brings back as a DN ghost after a restart.
    steps = {s["name"]: s for s in t["steps"]}
    assert steps["forget"]["state"] == "succeeded", steps
    assert f"no live node holds {dead.address} any more" in steps["forget"]["message"], steps
    for n in real.nodes:
        if n is not dead:
            peers = n.real.cqlsh("SELECT peer FROM system.peers_v2;")
            assert dead.address not in peers, (n.address, peers)
    real.nodes.remove(dead)
    real.dead_nodes = getattr(real, "dead_nodes", []) + [dead]
