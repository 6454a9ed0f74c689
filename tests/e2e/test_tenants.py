"""Tenants (docs/tenants.md): shuffle-shard placement through the API on a
pool of simulated nodes with real sshd and agents, the real orchestrator.

- 9 nodes hold 12 tenants with k = 3, overlap 1 (the packing number); the
  13th is refused with the bound's numbers; bad bodies are refused with
  400 and create nothing; DELETE frees a shard for a new tenant.
- Isolation: tenant B's nodes go down one by one; every other tenant keeps
  at least k - 1 of its services up, and GET says so (B: degraded, then
  down).
- Shards survive an orchestrator restart unchanged.
- A node declared down for tenant_repair_after is swapped out of the
  shards that hold it, and only those, keeping the overlap bound.
- Tenants of one cluster with different k and overlap share the pool,
  each pair of shards within the smaller overlap, across a restart.
"""
import itertools
import json
import time

from agentutil import RINGAGENT, orch_nodes, sim_factory, wait_for, write_agent_conf  # noqa: F401
from orch import orch_factory  # noqa: F401

CL = "sim"
T = f"/api/v1/clusters/{CL}/tenants"


def start(sim_factory, orch_factory, tmp_path, nodes, **settings):  # noqa: F811
    c = sim_factory(nodes=nodes)
    o = orch_factory()
    o.ok("POST", "/api/v1/clusters", {
        "name": CL, "storage": {"url": f"file://{tmp_path}/store"},
        "ssh": {"user": "root", "port": c.ssh_port, "key_file": c.key}}, status=201)
    if settings:
        o.ok("PATCH", f"/api/v1/clusters/{CL}", {"settings": settings})
    tok = tmp_path / "join.token"
    tok.write_text(o.join_token + "\n")
    for n in c.names:
        write_agent_conf(c, n, o.base, tok)
    c.start_all(agent=str(RINGAGENT))
    wait_for(lambda: len([v for v in orch_nodes(o).values() if v["state"] == "up"]) == nodes,
             f"{nodes} nodes up", timeout=90)
    return c, o


def members(t):
    return frozenset(s["address"] for s in t["shard"])


def check_overlap(tenants):
    """Each shard has its k services; two share at most the smaller of
    their overlaps."""
    for t in tenants:
        assert len(members(t)) == t["k"] and t["services"] == t["k"], t
    for a, b in itertools.combinations(tenants, 2):
        assert len(members(a) & members(b)) <= min(a["overlap"], b["overlap"]), \
            (a["name"], b["name"])


def tenants(o):
    return {t["name"]: t for t in o.ok("GET", T)["items"]}


def test_twelve_tenants_on_nine_nodes_are_isolated(
        sim_factory, orch_factory, tmp_path):  # noqa: F811
    c, o = start(sim_factory, orch_factory, tmp_path, 9, tenant_repair_after="off")
    names = [f"t{i:02d}" for i in range(12)]
    for i, n in enumerate(names):
        body = {"name": n, "keyspaces": [f"ks_{n}"]} if i % 2 else \
            {"name": n, "prefix": f"{n}_"}
        t = o.ok("POST", T, body, status=201)
        assert t["k"] == 3 and t["overlap"] == 1 and t["health"] == "ok", t
        assert t["limits"] == {"default": 4000, "current": 4000, "max": 100000,
                               "confirmed": False}, t
        assert t["autoscale"] is True and t["services_target"] == 3, t
        assert t["min_services"] == 3 and t["max_services"] == 16 and t["demand"] is None, t
    all12 = tenants(o)
    assert list(all12) == names
    check_overlap(all12.values())

    # The 13th: no shard fits, and the answer has the numbers.
    r = o.post(T, {"name": "t12", "prefix": "x"})
    assert r.status_code == 409, r.text
    assert "9 services, k = 3, overlap ≤ 1 holds at most 12 tenants; 12 placed" in \
        r.json()["error"]["message"], r.text

    # Bad bodies: 400 (404, 409 for the cluster, the name), nothing created.
    for body, words in [
            ({"name": "bad", "keyspaces": ["a"], "prefix": "p"}, "not both"),
            ({"name": "bad"}, "either 'keyspaces'"),
            ({"name": "bad", "keyspaces": []}, "empty"),
            ({"name": "bad", "keyspaces": ["no-dash"]}, "not a keyspace name"),
            ({"name": "bad", "keyspaces": ["a", "a"]}, "listed twice"),
            ({"name": "bad", "keyspaces": [3]}, "not a string"),
            ({"name": "bad", "prefix": "p", "k": 3, "overlap": 3}, "less than k"),
            ({"name": "bad", "prefix": "p", "k": 17}, "k"),
            ({"name": "bad", "prefix": "p", "min_services": 4}, "min <= k <= max"),
            ({"name": "bad", "prefix": "p", "limit_default": 5, "limit_max": 4}, "above"),
            ({"name": "b a d", "prefix": "p"}, "name"),
            ({"prefix": "p"}, "name")]:
        r = o.post(T, body)
        assert r.status_code == 400, (body, r.text)
        assert words in r.json()["error"]["message"], (body, r.text)
    r = o.post(T, {"name": "t00", "prefix": "p"})
    assert r.status_code == 409 and "already has a tenant 't00'" in r.text, r.text
    r = o.post("/api/v1/clusters/nope/tenants", {"name": "x", "prefix": "p"})
    assert r.status_code == 404, r.text
    assert o.get(f"{T}/nope").status_code == 404
    assert tenants(o) == all12

    # Isolation: B's nodes go down one by one.
    b = all12["t01"]
    down = []
    for step, addr in enumerate(sorted(members(b)), 1):
        name = [n for n in c.names if c.address(n) == addr][0]
        c.stop_cassandra(name)
        down.append(addr)
        wait_for(lambda: o.ok("GET", f"{T}/t01")["services_up"] == 3 - step,
                 f"t01 with {3 - step} services up", timeout=60)
        now = tenants(o)
        tb = now["t01"]
        assert tb["health"] == ("down" if step == 3 else "degraded"), tb
        assert {s["address"]: s["up"] for s in tb["shard"]} == \
            {a: a not in down for a in members(b)}, tb
        for n, t in now.items():
            if n == "t01":
                continue
            up = [s for s in t["shard"] if s["up"]]
            assert len(up) >= 2 and t["services_up"] == len(up), t
            lost = members(t) & set(down)
            assert len(lost) <= 1, t
            assert t["health"] == ("ok" if not lost else "degraded"), t
            for s in t["shard"]:
                assert s["up"] == (s["address"] not in down), t
    # The metrics say the same; no demand is known, so no demand sample.
    m = o.get("/metrics").text
    assert 'ringmaster_tenant_services{cluster="sim",tenant="t01"} 3\n' in m, m
    assert 'ringmaster_tenant_services_up{cluster="sim",tenant="t01"} 0\n' in m, m
    assert 'ringmaster_tenant_limit_ops{cluster="sim",tenant="t05"} 4000\n' in m, m
    for n, t in tenants(o).items():
        assert f'ringmaster_tenant_services_up{{cluster="sim",tenant="{n}"}} ' \
            f'{t["services_up"]}\n' in m, (n, m)
    assert "# TYPE ringmaster_tenant_demand_ops gauge" in m
    assert "ringmaster_tenant_demand_ops{" not in m, m
    # Nothing repaired (tenant_repair_after off): the shards are as placed.
    assert {n: members(t) for n, t in tenants(o).items()} == \
        {n: members(t) for n, t in all12.items()}

    # A restart: the same shards, rebuilt from the store.
    o.stop()
    o.start()
    again = tenants(o)
    assert {n: members(t) for n, t in again.items()} == \
        {n: members(t) for n, t in all12.items()}

    # Repair now: on a full pool no service keeps the overlap bound, so
    # every shard holding a dead node keeps it, each with an event
    # saying why; the shards and their health stay as they were.
    o.ok("PATCH", f"/api/v1/clusters/{CL}", {"settings": {"tenant_repair_after": "1s"}})
    holders = {n for n, t in all12.items() if members(t) & set(down)}

    def not_repaired():
        ev = [e for e in o.ok("GET", f"/api/v1/events?cluster={CL}&limit=1000")["items"]
              if e["kind"] == "tenant"]
        return ev if {e["target"] for e in ev} == holders else None
    wait_for(not_repaired, "a not_repaired event for every holder", timeout=60)
    time.sleep(3)   # more sweeps: each dead node is tried once, not every second
    ev = not_repaired()
    assert len(ev) == sum(len(members(all12[n]) & set(down)) for n in holders), ev
    for e in ev:
        d = e["detail"] if isinstance(e["detail"], dict) else json.loads(e["detail"])
        assert e["result"] == "not_repaired" and d["service"] in down, e
        assert "keeps overlap ≤ 1" in d["why_not"] and "down for" in d["reason"], e
    now = tenants(o)
    assert {n: members(t) for n, t in now.items()} == \
        {n: members(t) for n, t in all12.items()}
    assert now["t01"]["health"] == "down"

    # DELETE frees the shard: the next tenant gets exactly it back (the
    # only triple of this pool left with no pair covered), once its
    # nodes are up again (a dead node takes no new shard).
    for n in c.names:
        if c.address(n) in down:
            c.start_cassandra(n)
    wait_for(lambda: o.ok("GET", f"{T}/t01")["health"] == "ok", "t01 ok", timeout=60)
    o.ok("DELETE", f"{T}/t01", status=204)
    assert o.get(f"{T}/t01").status_code == 404
    assert o.delete(f"{T}/t01").status_code == 404
    t = o.ok("POST", T, {"name": "t12", "prefix": "x"}, status=201)
    assert members(t) == members(b), t
    check_overlap(tenants(o).values())
    ev = [e for e in o.ok("GET", f"/api/v1/events?cluster={CL}&limit=500")["items"]
          if e["route"] and "/tenants" in e["route"]]
    assert [e["method"] for e in ev].count("POST") >= 13, ev
    assert any(e["method"] == "DELETE" and e["result"] == "204" for e in ev), ev


def test_a_down_node_is_swapped_out_of_only_its_shards(
        sim_factory, orch_factory, tmp_path):  # noqa: F811
    c, o = start(sim_factory, orch_factory, tmp_path, 9, tenant_repair_after="3s")
    for i in range(5):
        o.ok("POST", T, {"name": f"r{i}", "prefix": f"r{i}"}, status=201)
    before = tenants(o)
    check_overlap(before.values())
    # The node held by the most shards.
    load = {}
    for t in before.values():
        for a in members(t):
            load[a] = load.get(a, 0) + 1
    dead = max(sorted(load), key=lambda a: load[a])
    held = {n for n, t in before.items() if dead in members(t)}
    assert held
    name = [n for n in c.names if c.address(n) == dead][0]
    t0 = time.monotonic()
    c.stop_cassandra(name)
    wait_for(lambda: all(dead not in members(t) for t in tenants(o).values()),
             f"{dead} swapped out", timeout=90)
    assert time.monotonic() - t0 >= 3, "repaired before tenant_repair_after"
    after = tenants(o)
    check_overlap(after.values())
    for n, t in after.items():
        if n in held:
            assert len(members(t) & members(before[n])) == 2, (before[n], t)
            assert t["health"] == "ok", t
        else:
            assert members(t) == members(before[n]), (before[n], t)
    ev = [e for e in o.ok("GET", f"/api/v1/events?cluster={CL}&limit=500")["items"]
          if e["kind"] == "tenant"]
    assert {e["target"] for e in ev if e["result"] == "repaired"} == held, ev
    for e in ev:
        d = e["detail"] if isinstance(e["detail"], dict) else json.loads(e["detail"])
        assert d["from"] == dead and "down for" in d["reason"], e


def test_a_removed_node_is_swapped_out_at_once(
        sim_factory, orch_factory, tmp_path):  # noqa: F811
    """tenant_repair_after off: a down node stays in its shards; once it
    leaves the cluster (evicted after node_ttl) it is repaired at once."""
    c, o = start(sim_factory, orch_factory, tmp_path, 9, tenant_repair_after="off",
                 node_ttl="6s")
    for i in range(4):
        o.ok("POST", T, {"name": f"e{i}", "prefix": f"e{i}"}, status=201)
    before = tenants(o)
    dead = sorted(members(before["e0"]))[0]
    held = {n for n, t in before.items() if dead in members(t)}
    name = [n for n in c.names if c.address(n) == dead][0]
    c.stop_cassandra(name)
    wait_for(lambda: o.ok("GET", f"{T}/e0")["health"] == "degraded", "e0 degraded",
             timeout=60)
    assert {n: members(t) for n, t in tenants(o).items()} == \
        {n: members(t) for n, t in before.items()}, "repaired while only down"
    wait_for(lambda: dead not in orch_nodes(o), f"{dead} evicted", timeout=60)
    wait_for(lambda: all(dead not in members(t) for t in tenants(o).values()),
             f"{dead} swapped out", timeout=30)
    after = tenants(o)
    check_overlap(after.values())
    for n, t in after.items():
        if n in held:
            assert len(members(t) & members(before[n])) == 2 and t["health"] == "ok", t
        else:
            assert members(t) == members(before[n]), t
    ev = [e for e in o.ok("GET", f"/api/v1/events?cluster={CL}&limit=500")["items"]
          if e["kind"] == "tenant"]
    assert {e["target"] for e in ev} == held, ev
    for e in ev:
        d = e["detail"] if isinstance(e["detail"], dict) else json.loads(e["detail"])
        assert e["result"] == "repaired" and d["reason"] == f"node {dead} left the cluster", e


def test_tenants_of_several_shapes_share_the_pool(
        sim_factory, orch_factory, tmp_path):  # noqa: F811
    """A tenant asking for another k or overlap than the cluster's first is
    placed beside the others, not refused; the packing of the first
    tenant's shape fills what is left, and a restart changes nothing."""
    c, o = start(sim_factory, orch_factory, tmp_path, 12, tenant_repair_after="off")
    for name, k, m in [("a0", 3, 1), ("alone", 2, 0), ("wide", 4, 1), ("loose", 4, 2)]:
        t = o.ok("POST", T, {"name": name, "prefix": name, "k": k, "overlap": m},
                 status=201)
        assert (t["k"], t["overlap"], t["services"]) == (k, m, k), t
        check_overlap(tenants(o).values())
    alone = members(tenants(o)["alone"])
    # The first tenant's shape until no shard fits; the refusal says the
    # packing bound is that of a pool of one shape.
    n = 0
    while True:
        r = o.post(T, {"name": f"t{n:02d}", "prefix": f"t{n:02d}"})
        if r.status_code != 201:
            break
        n += 1
        check_overlap(tenants(o).values())
    assert r.status_code == 409, r.text
    msg = r.json()["error"]["message"]
    assert "k = 3, overlap ≤ 1: no shard fits beside the" in msg and \
        "a pool of this shape alone holds at most" in msg, msg
    assert n >= 2, n
    now = tenants(o)
    assert all(not (members(t) & alone) for name, t in now.items() if name != "alone"), now

    o.stop()
    o.start()
    assert {n: members(t) for n, t in tenants(o).items()} == \
        {n: members(t) for n, t in now.items()}
    # Without the wide one there is room for the first shape again: no
    # other shard held two of its services.
    o.ok("DELETE", f"{T}/wide", status=204)
    t = o.ok("POST", T, {"name": "after", "prefix": "after"}, status=201)
    assert t["k"] == 3 and t["overlap"] == 1, t
    check_overlap(tenants(o).values())
