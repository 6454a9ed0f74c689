"""Agents: check-in (roles, seeds, auto-created clusters), heartbeats that
show at once, batch writes that survive a restart, failure detection."""
from datetime import datetime, timezone

from orch import orch, orch_factory, wait_until  # noqa: F401


def checkin(o, address, cluster="prod", dc="dc1", rack="r1", **extra):
    body = {"cluster": cluster, "address": address, "dc": dc, "rack": rack,
            "cassandra_version": "4.1.3", "ssh_host_key": "ssh-ed25519 AAAA" + address}
    body.update(extra)
    return o.ok("POST", "/api/v1/agents/checkin", body, token="agent")


def beat(o, address, cluster="prod", status="up", **extra):
    body = {"cluster": cluster, "address": address, "status": status}
    body.update(extra)
    return o.post("/api/v1/agents/heartbeat", body, token="agent")


def nodes(o, cluster="prod"):
    return {n["address"]: n for n in o.ok("GET", f"/api/v1/clusters/{cluster}/nodes")["items"]}


def test_checkin_roles_and_seeds(orch):
    orch.create_cluster("prod")
    assert orch.ok("GET", "/api/v1/clusters/prod")["nodes"] == 0
    a = checkin(orch, "10.0.0.1")
    assert a["role"] == "bootstrap"
    assert a["seeds"] == ["10.0.0.1"]  # the first node seeds itself
    assert a["heartbeat_interval_s"] == 1
    beat(orch, "10.0.0.1")
    b = checkin(orch, "10.0.0.2")
    assert b["role"] == "bootstrap" and b["seeds"] == ["10.0.0.1"]
    c = orch.ok("GET", "/api/v1/clusters/prod")
    assert c["nodes"] == 2 and c["nodes_up"] == 1
    # A node that had joined (it has a host id) rejoins with its data.
    r = checkin(orch, "10.0.0.1", host_id="6f1c2a52-0000-4000-8000-000000000001")
    assert r["role"] == "rejoin"
    r = checkin(orch, "10.0.0.1")
    assert r["role"] == "rejoin"
    n = nodes(orch)["10.0.0.1"]
    for k in ("host_id", "address", "dc", "rack", "state", "version",
              "last_heartbeat", "load_bytes", "is_seed"):
        assert k in n, k
    assert n["dc"] == "dc1" and n["version"] == "4.1.3"


def test_seeds_up_to_two_live_nodes_per_dc(orch):
    orch.create_cluster("prod")
    for addr, dc in [("10.0.1.1", "dc1"), ("10.0.1.2", "dc1"), ("10.0.1.3", "dc1"),
                     ("10.0.2.1", "dc2"), ("10.0.2.2", "dc2"), ("10.0.2.3", "dc2")]:
        checkin(orch, addr, dc=dc)
        assert beat(orch, addr).status_code == 200
    seeds = orch.ok("GET", "/api/v1/clusters/prod/seeds")["seeds"]
    assert seeds == ["10.0.1.1", "10.0.1.2", "10.0.2.1", "10.0.2.2"]
    beat(orch, "10.0.1.1", status="down")
    seeds = orch.ok("GET", "/api/v1/clusters/prod/seeds")["seeds"]
    assert seeds == ["10.0.1.2", "10.0.1.3", "10.0.2.1", "10.0.2.2"]


def test_checkin_into_unknown_cluster_creates_it(orch):
    checkin(orch, "10.0.0.1", cluster="fresh")
    c = orch.ok("GET", "/api/v1/clusters/fresh")
    assert c["name"] == "fresh" and c["queue_depth"] == 0
    evs = orch.ok("GET", "/api/v1/events", params={"cluster": "fresh"})["items"]
    assert any(e["kind"] == "cluster" and e["result"] == "created" for e in evs)
    # Its queue exists: a task runs.
    t = orch.submit("fresh", duration_s=0, steps=1)
    orch.wait_task(t["id"])


def test_heartbeat_shows_at_once_and_is_written_in_batches(orch):
    orch.create_cluster("prod")
    checkin(orch, "10.0.0.1")
    assert beat(orch, "10.0.0.5").status_code == 404  # never checked in
    assert beat(orch, "10.0.0.1", cluster="nope").status_code == 404
    t0 = datetime.now(timezone.utc).timestamp()
    r = beat(orch, "10.0.0.1", load_bytes=123456789,
             host_id="6f1c2a52-0000-4000-8000-00000000000a", cassandra_version="4.1.4")
    assert r.status_code == 200
    n = nodes(orch)["10.0.0.1"]   # read right after: no wait for the flush
    assert n["state"] == "up" and n["load_bytes"] == 123456789
    # A host id learnt from heartbeats makes the next check-in a rejoin.
    assert n["host_id"] == "6f1c2a52-0000-4000-8000-00000000000a"
    assert n["version"] == "4.1.4"
    hb = datetime.fromisoformat(n["last_heartbeat"].replace("Z", "+00:00")).timestamp()
    assert hb >= t0 - 1
    c = orch.ok("GET", "/api/v1/clusters/prod")
    assert c["nodes_up"] == 1 and c["nodes_down"] == 0
    # After a clean restart the flushed heartbeat is still there.
    assert orch.stop() == 0
    orch.start()
    n2 = nodes(orch)["10.0.0.1"]
    assert n2["load_bytes"] == 123456789 and n2["last_heartbeat"] == n["last_heartbeat"]


def test_missed_heartbeats_mark_node_down_then_up(orch):
    orch.create_cluster("prod")
    checkin(orch, "10.0.0.1")
    checkin(orch, "10.0.0.2")
    beat(orch, "10.0.0.1")
    beat(orch, "10.0.0.2")

    # Keep 10.0.0.2 alive; 10.0.0.1 goes silent (heartbeat_timeout = 3s).
    def down():
        beat(orch, "10.0.0.2")
        return nodes(orch)["10.0.0.1"]["state"] == "down"
    wait_until(down, 10, "10.0.0.1 marked down")
    assert nodes(orch)["10.0.0.2"]["state"] == "up"
    c = orch.ok("GET", "/api/v1/clusters/prod")
    assert c["nodes_down"] == 1 and c["nodes_up"] == 1

    def event(result):
        evs = orch.ok("GET", "/api/v1/events", params={"cluster": "prod"})["items"]
        return [e for e in evs if e["kind"] == "node" and e["target"] == "10.0.0.1"
                and e["result"] == result]
    wait_until(lambda: event("down"), 5, "a node-down event")
    beat(orch, "10.0.0.1")
    assert nodes(orch)["10.0.0.1"]["state"] == "up"
    wait_until(lambda: event("up"), 5, "a node-up event")


def test_delete_cluster_forgets_its_nodes(orch):
    orch.create_cluster("prod")
    checkin(orch, "10.0.0.1")
    assert orch.delete("/api/v1/clusters/prod").status_code == 204
    assert beat(orch, "10.0.0.1").status_code == 404
    m = orch.get("/metrics", token=None).text
    assert 'ringmaster_nodes{state="joining"} 0' in m


def test_a_node_that_has_run_is_never_told_to_bootstrap(orch):
    """The first check-in of a running cluster: every node is unknown, but
    what each says of itself (host id, data, system keyspace, Cassandra
    running) makes it a rejoin; only a new, empty, stopped node bootstraps."""
    orch.create_cluster("prod")
    cases = [
        ("10.0.3.1", {"host_id": "6f1c2a52-0000-4000-8000-000000000031"}, "rejoin"),
        ("10.0.3.2", {"cassandra_running": True}, "rejoin"),
        ("10.0.3.3", {"has_data": True, "cassandra_running": False}, "rejoin"),
        ("10.0.3.4", {"system_keyspace": True, "has_data": False,
                      "cassandra_running": False}, "rejoin"),
        ("10.0.3.5", {"has_data": False, "system_keyspace": False,
                      "cassandra_running": False}, "bootstrap"),
        ("10.0.3.6", {"has_data": None}, "bootstrap"),  # null: not said
    ]
    for addr, extra, role in cases:
        assert checkin(orch, addr, **extra)["role"] == role, (addr, extra)
    ns = nodes(orch)
    assert ns["10.0.3.1"]["state"] == "up" and ns["10.0.3.2"]["state"] == "up"
    # Stopped rejoins are not up until their heartbeats say so.
    assert ns["10.0.3.3"]["state"] == "unknown" and ns["10.0.3.4"]["state"] == "unknown"
    assert ns["10.0.3.5"]["state"] == "joining"
    bad = {"cluster": "prod", "address": "10.0.3.9", "dc": "dc1", "rack": "r1",
           "cassandra_version": "4.1.3", "has_data": "yes"}
    r = orch.post("/api/v1/agents/checkin", bad, token="agent")
    assert r.status_code == 400 and r.json()["error"]["code"] == "wrong_type"
    assert "10.0.3.9" not in nodes(orch)
