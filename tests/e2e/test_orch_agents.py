"""Agents: check-in (roles, seeds, clusters an admin's check-in creates), heartbeats
that show at once, batch writes that survive a restart, failure detection."""
import json
import re
from datetime import datetime, timezone

from orch import orch, orch_factory, wait_until  # noqa: F401


def checkin(o, address, cluster="prod", dc="dc1", rack="r1", token="agent", **extra):
    body = {"cluster": cluster, "address": address, "dc": dc, "rack": rack,
            "cassandra_version": "4.1.3", "ssh_host_key": "ssh-ed25519 AAAA" + address}
    body.update(extra)
    return o.ok("POST", "/api/v1/agents/checkin", body, token=token)


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
    assert a["heartbeat_interval_s"] == 2
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


def test_seeds_per_dc_spread_over_racks_stable_and_sent_in_heartbeats(orch):
    """Seeds: live normal nodes only, per DC one per rack first then a
    second per rack, up to seeds_per_dc (3); a dead seed is replaced in its
    rack and a seed stays one while it lives; an agent whose seeds_gen is
    old gets the list in its heartbeat answer, then the constant answer."""
    orch.create_cluster("prod")
    layout = [("10.0.1.1", "dc1", "r1"), ("10.0.1.2", "dc1", "r1"), ("10.0.1.3", "dc1", "r2"),
              ("10.0.1.4", "dc1", "r3"), ("10.0.2.1", "dc2", "r1"), ("10.0.2.2", "dc2", "r1")]
    for i, (addr, dc, rack) in enumerate(layout):
        # Members of a running cluster: they rejoin and need no slot.
        r = checkin(orch, addr, dc=dc, rack=rack, host_id=f"6f1c2a52-0000-4000-8000-{i:012d}")
        assert r["role"] == "rejoin", r
        assert beat(orch, addr).status_code == 200

    def seeds():
        return orch.ok("GET", "/api/v1/clusters/prod/seeds")["seeds"]
    assert seeds() == ["10.0.1.1", "10.0.1.3", "10.0.1.4", "10.0.2.1", "10.0.2.2"]
    r = orch.get("/api/v1/clusters/nope/seeds")
    assert r.status_code == 404 and "cluster 'nope' not found" in r.json()["error"]["message"], r.text
    r = beat(orch, "10.0.1.2", seeds_gen=0).json()
    assert r["seeds"] == seeds() and r["seeds_gen"] > 0, r
    gen = r["seeds_gen"]
    assert beat(orch, "10.0.1.2", seeds_gen=gen).json() == {"status": "ok"}
    # An agent that sends no seeds_gen (an older one) never gets seeds.
    assert beat(orch, "10.0.1.2").json() == {"status": "ok"}
    # A dead seed is replaced by a live node of its rack.
    beat(orch, "10.0.1.1", status="down")
    assert seeds() == ["10.0.1.2", "10.0.1.3", "10.0.1.4", "10.0.2.1", "10.0.2.2"]
    r = beat(orch, "10.0.1.3", seeds_gen=gen).json()
    assert r["seeds_gen"] > gen and "10.0.1.1" not in r["seeds"], r
    # Back up, it does not displace the seed that took its place.
    beat(orch, "10.0.1.1")
    assert seeds() == ["10.0.1.2", "10.0.1.3", "10.0.1.4", "10.0.2.1", "10.0.2.2"]


def test_operator_pins_seeds_and_unpins_them(orch_factory):  # noqa: F811
    """PUT /clusters/{name}/seeds: pinned seeds win as given, reach agents
    in heartbeat answers, survive a restart of the orchestrator; an unknown
    address refuses the whole change; [] hands the choice back."""
    o = orch_factory()
    o.create_cluster("prod")
    for i, addr in enumerate(["10.0.7.1", "10.0.7.2", "10.0.7.3", "10.0.7.4"]):
        checkin(o, addr, rack=f"r{i % 2}", host_id=f"6f1c2a52-0000-4000-8000-{i:012d}")
        assert beat(o, addr).status_code == 200

    def seeds():
        return o.ok("GET", "/api/v1/clusters/prod/seeds")["seeds"]
    chosen = seeds()
    gen = beat(o, "10.0.7.1", seeds_gen=0).json()["seeds_gen"]
    r = o.req("PUT", "/api/v1/clusters/prod/seeds", body={"seeds": ["10.0.7.4", "10.0.7.2"]})
    assert r.status_code == 200, r.text
    assert r.json()["seeds"] == ["10.0.7.4", "10.0.7.2"]
    assert seeds() == ["10.0.7.4", "10.0.7.2"]
    ans = beat(o, "10.0.7.1", seeds_gen=gen).json()
    assert ans["seeds"] == ["10.0.7.4", "10.0.7.2"] and ans["seeds_gen"] > gen, ans
    assert {a: n["is_seed"] for a, n in nodes(o).items()} == {
        "10.0.7.1": False, "10.0.7.2": True, "10.0.7.3": False, "10.0.7.4": True}
    ev = [e for e in o.ok("GET", "/api/v1/events", params={"cluster": "prod"})["items"]
          if e["kind"] == "seeds"]
    assert [e["result"] for e in ev] == ["pinned"] and ev[0]["actor"] == "admin", ev
    # Refused: nothing changes.
    bad = [({"seeds": ["10.0.7.1", "10.0.9.9"]}, 400, "10.0.9.9 is not a node"),
           ({"seeds": ["10.0.7.1", "10.0.7.1"]}, 400, "given twice"),
           ({"seeds": ["not an address!"]}, 400, "seeds[0]"),
           ({"seeds": "10.0.7.1"}, 400, "seeds"),
           ({}, 400, "seeds")]
    for body, code, says in bad:
        r = o.req("PUT", "/api/v1/clusters/prod/seeds", body=body)
        assert r.status_code == code and says in r.json()["error"]["message"], (body, r.text)
    r = o.req("PUT", "/api/v1/clusters/nope/seeds", body={"seeds": []})
    assert r.status_code == 404, r.text
    viewer = o.create_token("viewer", "v1")
    r = o.req("PUT", "/api/v1/clusters/prod/seeds", body={"seeds": []}, token=viewer)
    assert r.status_code == 403, r.text
    assert seeds() == ["10.0.7.4", "10.0.7.2"]
    # Kept across a restart (the store's is_seed).
    assert o.stop() == 0
    o.start()
    for addr in ["10.0.7.1", "10.0.7.2", "10.0.7.3", "10.0.7.4"]:
        beat(o, addr)
    assert seeds() == ["10.0.7.4", "10.0.7.2"]
    # Unpinned, the choice is the orchestrator's again: the seeds it had
    # stay while they live (both in rack r1), and rack r0 gets one.
    assert chosen == ["10.0.7.1", "10.0.7.2", "10.0.7.3"]
    r = o.req("PUT", "/api/v1/clusters/prod/seeds", body={"seeds": []})
    assert r.status_code == 200 and r.json()["seeds"] == ["10.0.7.1", "10.0.7.2", "10.0.7.4"], r.text
    assert not any(n["is_seed"] for n in nodes(o).values())


def test_bootstrap_slot_one_join_at_a_time(orch):
    """A new cluster's first node bootstraps alone as its own seed; the
    next new node takes the slot; a third waits until the second is UN in
    its own view and in a live peer's; the slot's life is in events."""
    orch.create_cluster("prod")
    a = checkin(orch, "10.0.4.1")
    assert a["role"] == "bootstrap" and a["seeds"] == ["10.0.4.1"], a
    # A second new node while the first is joining: wait.
    w = checkin(orch, "10.0.4.2")
    assert w["role"] == "wait" and w["retry_after_s"] == 1 and "10.0.4.1" in w["reason"], w
    assert nodes(orch)["10.0.4.2"]["state"] == "waiting"
    beat(orch, "10.0.4.1")            # UN, and no other node: joined
    b = checkin(orch, "10.0.4.2")
    assert b["role"] == "bootstrap" and b["seeds"] == ["10.0.4.1"], b
    c = checkin(orch, "10.0.4.3")
    assert c["role"] == "wait" and "10.0.4.2 holds" in c["reason"], c
    # UN in its own view only: still joining.
    beat(orch, "10.0.4.2")
    assert checkin(orch, "10.0.4.3")["role"] == "wait"
    # A live peer sees it UN: the next heartbeat of the holder frees the slot.
    beat(orch, "10.0.4.1", peers=peers(("10.0.4.1", "up", "normal"), ("10.0.4.2", "up", "normal")))
    beat(orch, "10.0.4.2")
    c = checkin(orch, "10.0.4.3")
    assert c["role"] == "bootstrap" and sorted(c["seeds"]) == ["10.0.4.1", "10.0.4.2"], c
    evs = [(e["target"], e["result"]) for e in
           orch.ok("GET", "/api/v1/events", params={"cluster": "prod"})["items"]
           if e["kind"] == "slot"]
    assert evs == [("10.0.4.1", "taken"), ("10.0.4.1", "freed"), ("10.0.4.2", "taken"),
                   ("10.0.4.2", "freed"), ("10.0.4.3", "taken")], evs
    m = orch.get("/metrics").text
    assert 'ringmaster_checkins_total{role="wait"} 3' in m, m
    assert 'ringmaster_checkins_total{role="bootstrap"} 3' in m, m
    assert 'ringmaster_nodes{cluster="prod",state="joining"} 1' in m, m


def test_a_new_node_that_will_not_start_gives_the_slot_up(orch):
    """A new node whose agent says its Cassandra failed to start three
    times in a row frees the bootstrap slot at once (not after
    bootstrap_timeout), is marked failed with the reason, and waits until
    its agent is restarted; the next new node joins."""
    orch.create_cluster("prod")
    checkin(orch, "10.0.6.1", host_id="6f1c2a52-0000-4000-8000-000000000001")
    beat(orch, "10.0.6.1")
    assert checkin(orch, "10.0.6.2")["role"] == "bootstrap"
    assert checkin(orch, "10.0.6.3")["role"] == "wait"
    # Fewer than three failures: it keeps the slot and is told again.
    assert checkin(orch, "10.0.6.2", start_failures=2, start_error="x")["role"] == "bootstrap"
    a = checkin(orch, "10.0.6.2", start_failures=3,
                start_error="cassandra-start exited 1: Unable to contact any seeds")
    assert a["role"] == "wait" and a["retry_after_s"] >= 60, a
    assert "failed to start 3 times" in a["reason"], a
    n = nodes(orch)["10.0.6.2"]
    assert n["state"] == "failed" and "restart its agent" in n["state_reason"], n
    ev = [e for e in orch.ok("GET", "/api/v1/events", params={"cluster": "prod"})["items"]
          if e["kind"] == "slot"]
    assert [(e["target"], e["result"]) for e in ev][-1] == ("10.0.6.2", "freed"), ev
    detail = ev[-1]["detail"]
    detail = detail if isinstance(detail, dict) else json.loads(detail)
    assert "Unable to contact any seeds" in detail["reason"], detail
    # The next new node takes the slot; the failed one does not take it back.
    assert checkin(orch, "10.0.6.3")["role"] == "bootstrap"
    assert checkin(orch, "10.0.6.2", start_failures=4)["role"] == "wait"
    # A member whose start fails is not given up on: it rejoins.
    r = checkin(orch, "10.0.6.1", host_id="6f1c2a52-0000-4000-8000-000000000001",
                start_failures=5, start_error="x")
    assert r["role"] == "rejoin", r
    r = orch.post("/api/v1/agents/checkin", {"cluster": "prod", "address": "10.0.6.9", "dc": "dc1",
                                              "rack": "r1", "cassandra_version": "4.1.3",
                                              "start_failures": -1}, token="agent")
    assert r.status_code == 400 and "start_failures" in r.text, r.text


def test_bootstrap_slot_expires_and_the_node_is_failed(orch_factory):  # noqa: F811
    o = orch_factory(conf={"bootstrap_timeout": "2s"})
    o.create_cluster("prod")
    assert checkin(o, "10.0.5.1")["role"] == "bootstrap"
    assert checkin(o, "10.0.5.2")["role"] == "wait"
    wait_until(lambda: checkin(o, "10.0.5.2")["role"] == "bootstrap", 10,
               "the slot freed after bootstrap_timeout")
    assert nodes(o)["10.0.5.1"]["state"] == "failed"
    ev = [e for e in o.ok("GET", "/api/v1/events", params={"cluster": "prod"})["items"]
          if e["kind"] == "slot" and e["result"] == "expired"]
    assert len(ev) == 1 and "did not become UN within bootstrap_timeout" in ev[0]["detail"]["reason"]


def test_checkin_into_unknown_cluster_creates_it_only_for_an_admin(orch):
    r = orch.post("/api/v1/agents/checkin", {
        "cluster": "fresh", "address": "10.0.0.1", "dc": "dc1", "rack": "r1",
        "cassandra_version": "4.1.3"}, token="join")
    assert r.status_code == 404 and "an admin creates it first" in r.text, r.text
    assert orch.get("/api/v1/clusters/fresh").status_code == 404
    checkin(orch, "10.0.0.1", cluster="fresh", token="admin")
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


def peers(*rows):
    """A heartbeat's peers report: rows of (address, "up"|"down", state)."""
    return {"datacenters": [{"name": "dc1", "nodes": [
        {"address": a, "status": st, "state": sa} for a, st, sa in rows]}]}


def test_missed_heartbeats_mark_node_down_then_up(orch_factory):  # noqa: F811
    orch = orch_factory(conf={"heartbeat_timeout": "3s"})  # noqa: F811
    orch.create_cluster("prod")
    checkin(orch, "10.0.0.1")
    checkin(orch, "10.0.0.2")
    beat(orch, "10.0.0.1")
    beat(orch, "10.0.0.2")

    # Keep 10.0.0.2 alive, seeing 10.0.0.1 DN; 10.0.0.1 goes silent
    # (heartbeat_timeout = 3s).
    def down():
        beat(orch, "10.0.0.2", peers=peers(("10.0.0.1", "down", "normal"),
                                           ("10.0.0.2", "up", "normal")))
        return nodes(orch)["10.0.0.1"]["state"] == "down"
    wait_until(down, 10, "10.0.0.1 marked down")
    assert "(10.0.0.2) sees it down (DN)" in nodes(orch)["10.0.0.1"]["state_reason"]
    assert nodes(orch)["10.0.0.2"]["state"] == "up"
    c = orch.ok("GET", "/api/v1/clusters/prod")
    assert c["nodes_down"] == 1 and c["nodes_up"] == 1

    def event(result):
        evs = orch.ok("GET", "/api/v1/events", params={"cluster": "prod"})["items"]
        return [e for e in evs if e["kind"] == "node" and e["target"] == "10.0.0.1"
                and e["result"] == result]
    wait_until(lambda: event("down"), 5, "a node-down event")
    assert "sees it down" in event("down")[0]["detail"]["reason"], event("down")
    beat(orch, "10.0.0.1")
    assert nodes(orch)["10.0.0.1"]["state"] == "up"
    assert "state_reason" not in nodes(orch)["10.0.0.1"]
    wait_until(lambda: event("up"), 5, "a node-up event")


def test_silent_agent_whose_peers_see_it_up_is_agent_down(orch_factory):
    """The agent died, Cassandra did not: its peers still see it UN.  It is
    agent_down, never down; when a peer sees it DN it becomes down; with no
    live peer to ask it is unreachable."""
    orch = orch_factory(conf={"heartbeat_timeout": "3s"})  # noqa: F811
    orch.create_cluster("prod")
    for a in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        checkin(orch, a)
        beat(orch, a)
    view = {"10.0.0.1": "up"}

    def keep_peers(want):
        for a in ("10.0.0.2", "10.0.0.3"):
            beat(orch, a, peers=peers(("10.0.0.1", view["10.0.0.1"], "normal"),
                                      ("10.0.0.2", "up", "normal"), ("10.0.0.3", "up", "normal")))
        return nodes(orch)["10.0.0.1"]["state"] == want
    wait_until(lambda: keep_peers("agent_down"), 10, "10.0.0.1 agent_down")
    n = nodes(orch)["10.0.0.1"]
    assert "2 live peers (" in n["state_reason"] and "its agent is down" in n["state_reason"], n
    c = orch.ok("GET", "/api/v1/clusters/prod")
    assert c["nodes_down"] == 0, c
    # One peer seeing it up is enough to keep it from down.
    view["10.0.0.1"] = "down"
    wait_until(lambda: keep_peers("down"), 10, "10.0.0.1 down once its peers see DN")
    assert orch.ok("GET", "/api/v1/clusters/prod")["nodes_down"] == 1
    evs = [e for e in orch.ok("GET", "/api/v1/events", params={"cluster": "prod"})["items"]
           if e["kind"] == "node" and e["target"] == "10.0.0.1"]
    assert [e["result"] for e in evs if e["result"] in ("agent_down", "down")] \
        in (["agent_down", "down"], ["down", "agent_down"]), evs
    # Every peer silent too: nothing can confirm anything.
    wait_until(lambda: nodes(orch)["10.0.0.1"]["state"] == "unreachable", 10,
               "10.0.0.1 unreachable once no live peer reports")
    assert "cannot tell whether Cassandra runs" in nodes(orch)["10.0.0.1"]["state_reason"]
    m = orch.get("/metrics").text
    assert re.search(r'ringmaster_nodes\{cluster="prod",state="unreachable"\} 3', m), \
        [ln for ln in m.splitlines() if "ringmaster_nodes{" in ln]


def test_heartbeat_extras_are_stored_and_shown(orch):
    orch.create_cluster("prod")
    checkin(orch, "10.0.0.1")
    beat(orch, "10.0.0.1", gossip=True, native_transport=False, process_up=True, tokens=16,
         disks=[{"path": "/var/lib/cassandra", "free_bytes": 5, "total_bytes": 10}])
    n = nodes(orch)["10.0.0.1"]
    st = n["status"]
    assert st["gossip"] is True and st["native_transport"] is False and st["tokens"] == 16, n
    assert st["disks"][0]["free_bytes"] == 5
    # Written through the batch: a restart still shows them.
    assert orch.stop() == 0
    orch.start()
    assert nodes(orch)["10.0.0.1"]["status"]["native_transport"] is False


def test_delete_cluster_forgets_its_nodes(orch):
    orch.create_cluster("prod")
    checkin(orch, "10.0.0.1")
    assert orch.delete("/api/v1/clusters/prod").status_code == 204
    # Its credential went with it; the join token finds no such node.
    assert beat(orch, "10.0.0.1").status_code == 401
    r = orch.post("/api/v1/agents/heartbeat", {"cluster": "prod", "address": "10.0.0.1",
                                               "status": "up"}, token="join")
    assert r.status_code == 404, r.text
    m = orch.get("/metrics", token=None).text
    # Node counts are labelled by cluster: nothing is counted for prod now.
    assert not re.search(r'ringmaster_nodes\{cluster="prod",state="[a-z]+"\} [1-9]', m), m


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
        # null: not said, so new too; the slot is 10.0.3.5's: it waits.
        ("10.0.3.6", {"has_data": None}, "wait"),
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


def cluster_settings(o, name):
    c = o.ok("GET", f"/api/v1/clusters/{name}")
    return {"storage": c["storage"], "ssh": c["ssh"]}


def patch(o, name, body, **kw):
    return o.req("PATCH", f"/api/v1/clusters/{name}", body=body, **kw)


def test_agent_created_cluster_gets_its_settings_by_patch(orch):
    """PATCH /clusters/{name}: an agent-created cluster gets real storage and
    SSH settings; the change is audited with what changed."""
    checkin(orch, "10.0.4.1", cluster="auto", token="admin")
    assert cluster_settings(orch, "auto")["ssh"]["user"] == "cassandra"
    r = patch(orch, "auto", {"storage": {"url": "s3://bucket/auto", "endpoint": "http://127.0.0.1:9000",
                                         "region": "eu-west-1"},
                             "ssh": {"user": "ops", "port": 2222, "key_file": "/keys/id"}})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["storage"] == {"url": "s3://bucket/auto", "endpoint": "http://127.0.0.1:9000",
                              "region": "eu-west-1"}
    assert got["ssh"] == {"user": "ops", "port": 2222, "key_file": "/keys/id"}
    assert got["nodes"] == 1 and "running_task" in got
    assert cluster_settings(orch, "auto") == {"storage": got["storage"], "ssh": got["ssh"]}
    # One field alone; null removes an optional one; the rest stays.
    got = patch(orch, "auto", {"storage": {"region": None}, "ssh": {"port": 22}}).json()
    assert got["storage"] == {"url": "s3://bucket/auto", "endpoint": "http://127.0.0.1:9000",
                              "region": None}
    assert got["ssh"] == {"user": "ops", "port": 22, "key_file": "/keys/id"}
    evs = orch.ok("GET", "/api/v1/events", params={"cluster": "auto"})["items"]
    req = [e for e in evs if e["kind"] == "request" and e["method"] == "PATCH"]
    assert [e["result"] for e in req] == ["200", "200"] and req[0]["actor"] == "admin"
    assert req[0]["route"] == "/api/v1/clusters/{name}" and req[0]["target"] == "auto"
    upd = [e for e in evs if e["kind"] == "cluster" and e["result"] == "updated"]
    assert len(upd) == 2
    first = upd[0]["detail"]
    first = first if isinstance(first, dict) else json.loads(first)
    assert first["changed"]["ssh.user"] == {"from": "cassandra", "to": "ops"}
    assert first["changed"]["storage.region"] == {"from": None, "to": "eu-west-1"}
    second = upd[1]["detail"]
    second = second if isinstance(second, dict) else json.loads(second)
    assert set(second["changed"]) == {"storage.region", "ssh.port"}


def test_patch_refuses_bad_values_and_changes_nothing(orch):
    orch.create_cluster("prod")
    before = cluster_settings(orch, "prod")
    bad = [
        ({"storage": {"url": "http://x/y"}}, "invalid_value", "storage.url"),
        ({"storage": {"url": "s3://"}}, "invalid_value", "storage.url"),
        ({"storage": {"url": None}}, "wrong_type", "storage.url"),  # as at create
        ({"storage": {"url": ""}}, "invalid_value", "storage.url"),
        ({"storage": {"endpoint": 5}}, "wrong_type", "storage.endpoint"),
        ({"ssh": {"port": 0}}, "invalid_value", "ssh.port"),
        ({"ssh": {"port": 65536}}, "invalid_value", "ssh.port"),
        ({"ssh": {"port": "22"}}, "wrong_type", "ssh.port"),
        ({"ssh": {"user": "bad user"}}, "invalid_name", "ssh.user"),
        ({"ssh": {"key_file": None}}, "wrong_type", "ssh.key_file"),
        ({"ssh": {"port": None}}, "invalid_value", "ssh.port"),
        ({"ssh": {"bogus": 1}}, "unknown_field", "ssh.bogus"),
        ({"name": "other"}, "unknown_field", "name"),
        ({}, "invalid_value", "nothing to change"),
        ({"ssh": {}}, "invalid_value", "nothing to change"),
        # a good value beside a bad one: nothing of it is applied
        ({"ssh": {"user": "ops", "port": -1}}, "invalid_value", "ssh.port"),
    ]
    for body, code, says in bad:
        r = patch(orch, "prod", body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"]["code"] == code, (body, r.text)
        assert says in r.json()["error"]["message"], (body, r.text)
    r = orch.req("PATCH", "/api/v1/clusters/prod", data="{not json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    assert cluster_settings(orch, "prod") == before
    evs = orch.ok("GET", "/api/v1/events", params={"cluster": "prod"})["items"]
    assert not [e for e in evs if e["kind"] == "cluster" and e["result"] == "updated"]


def test_patch_roles_unknown_cluster_and_running_task(orch):
    orch.create_cluster("prod")
    before = cluster_settings(orch, "prod")
    viewer = orch.create_token("viewer", "watcher")
    operator = orch.create_token("operator", "ops")
    for tok in (viewer, operator):
        r = patch(orch, "prod", {"ssh": {"user": "x"}}, token=tok)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", r.text
    r = patch(orch, "nope", {"ssh": {"user": "x"}})
    assert r.status_code == 404 and "nope" in r.json()["error"]["message"]
    r = patch(orch, "bad name", {"ssh": {"user": "x"}})
    assert r.status_code in (400, 404)
    r = orch.req("PUT", "/api/v1/clusters/prod", body={})
    assert r.status_code == 405 and "PATCH" in r.headers["Allow"]
    # While a task of the cluster runs: 409 naming it, nothing changed.
    t = orch.submit("prod", duration_s=30, steps=30)
    wait_until(lambda: orch.task(t["id"])["state"] == "running", 10, "task running")
    r = patch(orch, "prod", {"ssh": {"user": "ops"}})
    assert r.status_code == 409, r.text
    assert t["id"] in r.json()["error"]["message"]
    assert cluster_settings(orch, "prod") == before
    orch.ok("POST", f"/api/v1/tasks/{t['id']}/cancel")
    orch.wait_task(t["id"], states=("cancelled",))
    assert patch(orch, "prod", {"ssh": {"user": "ops"}}).status_code == 200
    assert cluster_settings(orch, "prod")["ssh"]["user"] == "ops"
    # Refusals are audited too (a 403 never reaches the handler, so it
    # carries the target but no cluster).
    evs = orch.ok("GET", "/api/v1/events")["items"]
    results = [(e["actor"], e["result"]) for e in evs if e["kind"] == "request"
               and e["method"] == "PATCH" and e["target"] == "prod"]
    assert results == [("watcher", "403"), ("ops", "403"), ("admin", "409"),
                       ("admin", "200")], results


SETTING_DEFAULTS = {"replace_after": "off", "provider": "none", "provider_command": "",
                    "node_ttl": "off", "evict_removenode": False,
                    "backup_down_policy": "require_all", "tenant_repair_after": "2m",
                    "autoscale_interval": "30s", "autoscale_up_cooldown": "30s",
                    "autoscale_down_cooldown": "2m", "autoscale_down_after": "5m",
                    "tenant_demand_interval": "30s"}


def test_lifecycle_settings_on_create_patch_and_get(orch):
    """Cluster settings: defaults shown, set at create, changed one key at a
    time by PATCH (audited), reset by null, and a bad one changes nothing."""
    assert orch.create_cluster("plain")["settings"] == SETTING_DEFAULTS
    got = orch.create_cluster("heal", settings={"replace_after": "120s", "provider": "sim",
                                                "evict_removenode": True})["settings"]
    assert got == dict(SETTING_DEFAULTS, replace_after="2m", provider="sim",
                       evict_removenode=True)
    r = patch(orch, "heal", {"settings": {"node_ttl": "7d", "provider": None}})
    assert r.status_code == 200, r.text
    want = dict(SETTING_DEFAULTS, replace_after="2m", node_ttl="7d", evict_removenode=True)
    assert r.json()["settings"] == want
    assert orch.ok("GET", "/api/v1/clusters/heal")["settings"] == want
    upd = [e for e in orch.ok("GET", "/api/v1/events", params={"cluster": "heal"})["items"]
           if e["kind"] == "cluster" and e["result"] == "updated"]
    detail = upd[-1]["detail"]
    detail = detail if isinstance(detail, dict) else json.loads(detail)
    assert detail["changed"] == {"settings.node_ttl": {"from": "off", "to": "7d"},
                                 "settings.provider": {"from": "sim", "to": "none"}}
    bad = [
        ({"settings": {"replace_after": "soon"}}, "invalid_value", "replace_after"),
        ({"settings": {"replace_after": "100ms"}}, "invalid_value", "at least 1s"),
        ({"settings": {"provider": "aws"}}, "invalid_value", "none|command|sim"),
        ({"settings": {"provider_command": "bin/x"}}, "invalid_value", "absolute path"),
        ({"settings": {"evict_removenode": "maybe"}}, "invalid_value", "true or false"),
        ({"settings": {"replace_after": 30}}, "wrong_type", "settings.replace_after"),
        ({"settings": {"bogus": "1"}}, "invalid_value", "unknown cluster setting 'bogus'"),
        # a good key beside a bad one: neither is applied
        ({"settings": {"node_ttl": "1d", "provider": "aws"}}, "invalid_value", "provider"),
        ({"settings": []}, "wrong_type", "settings"),
    ]
    for body, code, says in bad:
        r = patch(orch, "heal", body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"]["code"] == code, (body, r.text)
        assert says in r.json()["error"]["message"], (body, r.text)
    assert orch.ok("GET", "/api/v1/clusters/heal")["settings"] == want
    # A bad setting at create creates nothing.
    r = orch.post("/api/v1/clusters", {"name": "nope", "storage": {"url": "s3://b/p"},
                                       "ssh": {"user": "u", "key_file": "/k"},
                                       "settings": {"provider": "aws"}})
    assert r.status_code == 400 and "none|command|sim" in r.text, r.text
    assert orch.get("/api/v1/clusters/nope").status_code == 404


def test_lifecycle_settings_change_while_a_task_runs(orch):
    """Storage and SSH wait for a running task; lifecycle settings do not."""
    orch.create_cluster("busy")
    t = orch.submit("busy", duration_s=30, steps=30)
    wait_until(lambda: orch.task(t["id"])["state"] == "running", 10, "task running")
    r = patch(orch, "busy", {"settings": {"replace_after": "10m"}})
    assert r.status_code == 200, r.text
    assert r.json()["settings"]["replace_after"] == "10m"
    r = patch(orch, "busy", {"settings": {"node_ttl": "1d"}, "ssh": {"user": "ops"}})
    assert r.status_code == 409, r.text
    got = orch.ok("GET", "/api/v1/clusters/busy")
    assert got["settings"]["node_ttl"] == "off" and got["ssh"]["user"] == "cassandra"
    orch.ok("POST", f"/api/v1/tasks/{t['id']}/cancel")
    orch.wait_task(t["id"], states=("cancelled",))
