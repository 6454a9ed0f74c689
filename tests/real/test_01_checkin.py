"""Defect 4: the first check-in of a cluster that already runs.

The session's agents start only after the three nodes have run for a while
and hold data (conftest.py), as when Ringmaster is installed beside an
existing cluster.  Such a node must be told to rejoin as it is: its seeds in
cassandra.yaml stay exactly as they were (the bug answered each node
`bootstrap` with itself as the only seed, which rewrote every node's seeds
to itself: at its next start a node would form a cluster of its own).
"""
import difflib

from realenv import CL


def test_first_checkin_of_a_running_cluster_keeps_every_seed(real):
    for n in real.nodes:
        after = n.real.cassandra_yaml.read_bytes()
        diff = "".join(difflib.unified_diff(
            real.yaml_before[n.name].decode().splitlines(True), after.decode().splitlines(True),
            "cassandra.yaml before", "after the first check-in"))
        assert after == real.yaml_before[n.name], f"{n.name}: cassandra.yaml changed:\n{diff}"
        assert f'"{real.nodes[0].address}:7000"'.encode() in after or \
            real.nodes[0].address.encode() in after, "the yaml never named the first seed"


def test_no_node_with_data_is_answered_bootstrap(real):
    nodes = real.orch_nodes()
    for n in real.nodes:
        st = n.agent_state()
        assert st is not None, f"{n.name}: the agent saved no state after checking in"
        assert st["role"] == "rejoin", f"{n.name} holds data and a host id but was answered {st}"
        log = n.agent_log.read_text(errors="replace")
        assert "checked in" in log, f"{n.name}: no check-in in agent.log"
        assert " as bootstrap" not in log and "bootstrap: seeds" not in log, \
            f"{n.name}: agent.log shows a bootstrap:\n{log[-3000:]}"
        o = nodes[n.address]
        assert o["host_id"] == real.host_ids[n.name], (n.name, o)
        assert o["state"] == "up", (n.name, o)
        assert (o["dc"], o["rack"]) == ("dc1", n.rack), o


def test_each_agent_holds_its_own_credential(real):
    """The join token only registered the nodes: each agent got a node
    credential of its own at its first check-in, kept 0600, and it is
    taken only for its own node (docs/security.md)."""
    import stat
    creds = {}
    for n in real.nodes:
        f = n.state_dir / "node.credential"
        assert f.exists(), f"{n.name}: no node credential after checking in"
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, oct(f.stat().st_mode)
        creds[n.address] = f.read_text().strip()
        assert creds[n.address].startswith("rmn_")
    assert len(set(creds.values())) == len(real.nodes)
    a, b = real.nodes[0].address, real.nodes[1].address
    r = real.o.post("/api/v1/agents/heartbeat", {"cluster": CL, "address": b,
                                                 "status": "down"}, token=creds[a])
    assert r.status_code == 403, r.text
    r = real.o.post("/api/v1/agents/heartbeat", {"cluster": CL, "address": a,
                                                 "status": "down"}, token="join")
    assert r.status_code == 403, r.text
    assert real.orch_nodes()[b]["state"] == "up"
