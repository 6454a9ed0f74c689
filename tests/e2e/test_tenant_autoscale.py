"""Tenant demand, limits and the autoscaler end to end (docs/tenants.md,
"Demand", "Limits on the node", "The controller"): simulated nodes with
real sshd and agents, the real orchestrator.

- demand -> decision -> limits file -> hook: a load on the tenant's
  keyspace makes the agents report demand; the controller raises the
  limit, then adds a service when the limit is at its maximum, then
  scales back down when the load stops; each decision is a scale-tenant
  task that succeeds only once the shard's services wrote the new limit
  to their limits file and ran their hook.
- A hook that fails: the scale is not confirmed, the task fails naming
  the limit, and GET shows the service's limits_error.
- PATCH turns autoscaling off and changes limits; bad bodies change nothing.
"""
import json
import os
import time
from pathlib import Path

from agentutil import (RINGAGENT, orch_nodes, sim_factory, simlib, wait_for,  # noqa: F401
                       write_agent_conf)
from orch import orch_factory  # noqa: F401

CL = "sim"
T = f"/api/v1/clusters/{CL}/tenants"

FAST = {"autoscale_interval": "1s", "autoscale_up_cooldown": "off",
        "autoscale_down_cooldown": "off", "autoscale_down_after": "1s",
        "tenant_demand_interval": "1s"}

HOOK = """#!/bin/sh
# the test's limits hook: keep a copy of each file it is given
f="$1"
[ "$f" = "$RINGAGENT_LIMITS_FILE" ] || { echo "argument $f is not $RINGAGENT_LIMITS_FILE" >&2; exit 4; }
[ -e "$(dirname "$0")/hook.fail" ] && { echo "proxy refused the limits" >&2; exit 3; }
cat "$f" >> "$(dirname "$0")/hook.log"
echo >> "$(dirname "$0")/hook.log"
"""


def start(sim_factory, orch_factory, tmp_path, nodes, settings=FAST):  # noqa: F811
    c = sim_factory(nodes=nodes)
    o = orch_factory()
    o.ok("POST", "/api/v1/clusters", {
        "name": CL, "storage": {"url": f"file://{tmp_path}/store"},
        "ssh": {"user": "root", "port": c.ssh_port, "key_file": c.key}}, status=201)
    o.ok("PATCH", f"/api/v1/clusters/{CL}", {"settings": settings})
    tok = tmp_path / "join.token"
    tok.write_text(o.join_token + "\n")
    for n in c.names:
        hook = Path(c.node_dir(n)) / "limits-hook"
        hook.write_text(HOOK)
        hook.chmod(0o755)
        write_agent_conf(c, n, o.base, tok, limits_hook=str(hook),
                         limits_file=str(Path(c.node_dir(n)) / "limits.json"))
    c.start_all(agent=str(RINGAGENT))
    wait_for(lambda: len([v for v in orch_nodes(o).values() if v["state"] == "up"]) == nodes,
             f"{nodes} nodes up", timeout=90)
    return c, o


def name_of(c, addr):
    return [n for n in c.names if c.address(n) == addr][0]


def limits_file(c, n):
    p = Path(c.node_dir(n)) / "limits.json"
    return json.loads(p.read_text()) if p.exists() else None


def limit_on(c, n, tenant):
    f = limits_file(c, n)
    for t in (f or {}).get("tenants", []):
        if t["name"] == tenant:
            return t["limit_ops"]
    return None


def hook_log(c, n):
    p = Path(c.node_dir(n)) / "hook.log"
    return p.read_text() if p.exists() else ""


def shard(o, tenant):
    return [s["address"] for s in o.ok("GET", f"{T}/{tenant}")["shard"]]


def scale_tasks(o):
    items = o.ok("GET", f"/api/v1/clusters/{CL}/tasks?limit=100")["items"]
    return [t for t in items if t["type"] == "scale-tenant"]


def test_demand_decides_limits_reach_nodes_and_hooks(sim_factory, orch_factory, tmp_path):  # noqa: F811
    c, o = start(sim_factory, orch_factory, tmp_path, 4)
    t = o.ok("POST", T, {"name": "t1", "keyspaces": ["ks1"], "limit_max": 10000},
             status=201)
    assert t["autoscale"] is True and t["limits"]["current"] == 4000, t
    members = shard(o, "t1")
    outside = [n for n in c.names if c.address(n) not in members]
    assert len(members) == 3 and len(outside) == 1

    # Every service of the shard writes the default limit and runs its
    # hook; the node outside the shard knows the tenant but enforces
    # nothing for it.
    for a in members:
        n = name_of(c, a)
        wait_for(lambda n=n: limit_on(c, n, "t1") == 4000, f"{n} enforces 4000", timeout=30)
        wait_for(lambda n=n: '"limit_ops": 4000' in hook_log(c, n).replace('":4000', '": 4000'),
                 f"{n}'s hook ran", timeout=30)
        f = limits_file(c, n)
        assert f["format"] == 1 and f["cluster"] == CL and f["node"] == a, f
        assert f["tenants"] == [{"name": "t1", "keyspaces": ["ks1"], "limit_ops": 4000}], f
    wait_for(lambda: limits_file(c, outside[0]) is not None and
             limit_on(c, outside[0], "t1") is None, "the outside node's file", timeout=30)
    # Confirmed, and shown per service.
    wait_for(lambda: all(s.get("limit_applied") == 4000 for s in o.ok("GET", f"{T}/t1")["shard"]),
             "every service shows 4000 applied", timeout=30)

    # No demand yet: nothing decided.
    time.sleep(3)
    assert scale_tasks(o) == []

    # A load of 15,000 ops/s on one node: 12,000 do not serve it; raise.
    c.load(name_of(c, members[0]), "ks1", 9000, 6000)
    try:
        wait_for(lambda: any(t["state"] == "succeeded" for t in scale_tasks(o)),
                 "a scale-tenant task succeeded", timeout=60)
    finally:
        print("TENANT", json.dumps(o.ok("GET", f"{T}/t1"), indent=1))
        print("TASKS", json.dumps(scale_tasks(o), indent=1))
        print(o.log_tail(80))
    first = scale_tasks(o)[-1]
    assert first["params"]["action"] == "raise", first
    got = o.ok("GET", f"{T}/t1")
    assert got["limits"]["current"] > 4000 and got["demand"]["ops"] > 10000, got
    new = got["limits"]["current"]
    for a in members:
        assert limit_on(c, name_of(c, a), "t1") == new, (a, limits_file(c, name_of(c, a)))
        assert f'{new}' in hook_log(c, name_of(c, a))
    detail = o.task(first["id"])
    assert "exceeds capacity 12,000" in json.dumps(detail), detail

    # 32,000 ops/s: 3 x 10,000 cannot serve it; a service is added (4 x
    # 10,000 serve it with its headroom; the pool has no 5th anyway).
    c.load(name_of(c, members[0]), "ks1", 20000, 12000)
    wait_for(lambda: o.ok("GET", f"{T}/t1")["services"] == 4, "4 services", timeout=90)
    wait_for(lambda: any(t["params"]["action"] == "add" and t["state"] == "succeeded"
                         for t in scale_tasks(o)), "the add task succeeded", timeout=60)
    grown = shard(o, "t1")
    added = [a for a in grown if a not in members]
    assert len(added) == 1 and added[0] == c.address(outside[0]), grown
    assert limit_on(c, outside[0], "t1") == 10000, limits_file(c, outside[0])

    # The load stops: back to 3 services and the default limit.
    c.load(name_of(c, members[0]), "ks1", 0, 0)
    wait_for(lambda: (lambda g: g["services"] == 3 and g["limits"]["current"] == 4000)(
        o.ok("GET", f"{T}/t1")), "back to 3 x 4,000", timeout=120)
    wait_for(lambda: all(t["state"] not in ("queued", "running") for t in scale_tasks(o)),
             "every scale-tenant task ended", timeout=60)
    acts = [t["params"]["action"] for t in scale_tasks(o)]
    assert "remove" in acts and "lower" in acts, acts
    assert all(t["state"] == "succeeded" for t in scale_tasks(o)), scale_tasks(o)
    wait_for(lambda: all(limit_on(c, name_of(c, a), "t1") == 4000 for a in shard(o, "t1")),
             "the shard enforces 4000 again", timeout=30)
    removed = [a for a in grown if a not in shard(o, "t1")][0]
    wait_for(lambda: limit_on(c, name_of(c, removed), "t1") is None,
             "the removed service enforces nothing for t1", timeout=30)


def test_no_decrease_while_a_node_reports_no_demand(sim_factory, orch_factory, tmp_path):  # noqa: F811
    """A node whose agent is down reports no demand, so the sum is a lower
    bound: the controller may not lower a limit on it, however low it
    looks; once every node reports again, the decrease goes ahead."""
    c, o = start(sim_factory, orch_factory, tmp_path, 3)
    o.ok("POST", T, {"name": "t1", "keyspaces": ["ks1"], "limit_max": 10000}, status=201)
    c.load(c.names[0], "ks1", 9000, 6000)
    wait_for(lambda: any(t["state"] == "succeeded" and t["params"]["action"] == "raise"
                         for t in scale_tasks(o)), "the limit raised", timeout=60)
    # The node with the load goes silent, and its load stops: what the
    # others report is all that is left, and it is far below the limit.
    simlib.stop_agent(c.dir, c.names[0])
    c.load(c.names[0], "ks1", 0, 0)
    wait_for(lambda: "only 2 of the cluster's 3 nodes reported its demand: no decrease on a "
             "partial sum" in o.log_tail(2000), "the controller holds the decrease", timeout=30)
    wait_for(lambda: all(t["state"] not in ("queued", "running") for t in scale_tasks(o)),
             "every scale-tenant task ended", timeout=60)
    raised = o.ok("GET", f"{T}/t1")["limits"]["current"]
    assert raised > 4000
    ntasks = len(scale_tasks(o))
    time.sleep(4)  # four rounds of autoscale_interval 1s with down_after 1s
    assert len(scale_tasks(o)) == ntasks, scale_tasks(o)
    assert o.ok("GET", f"{T}/t1")["limits"]["current"] == raised
    # Every node reports again: the limit comes down.
    simlib.start_agent(c.dir, c.names[0], str(RINGAGENT))
    wait_for(lambda: o.ok("GET", f"{T}/t1")["limits"]["current"] < raised,
             "the limit lowered once every node reports", timeout=90)
    assert any(t["params"]["action"] == "lower" for t in scale_tasks(o)), scale_tasks(o)


def test_failing_hook_is_not_confirmed(sim_factory, orch_factory, tmp_path):  # noqa: F811
    c, o = start(sim_factory, orch_factory, tmp_path, 3, settings={
        "autoscale_interval": "off", "tenant_demand_interval": "1s"})
    o.ok("POST", T, {"name": "t1", "prefix": "ks"}, status=201)
    wait_for(lambda: all(s.get("limit_applied") == 4000 for s in o.ok("GET", f"{T}/t1")["shard"]),
             "4000 applied everywhere", timeout=30)
    bad = c.names[1]
    (Path(c.node_dir(bad)) / "hook.fail").write_text("")
    task = o.ok("POST", f"/api/v1/clusters/{CL}/tasks", {"type": "scale-tenant", "params": {
        "tenant": "t1", "limit": 6000, "confirm_timeout_s": 5}}, status=202)
    done = o.wait_task(task["id"], states=("failed", "succeeded"), timeout=60)
    assert done["state"] == "failed", done
    assert "did not confirm 6000 ops/s" in done["error"], done
    got = o.ok("GET", f"{T}/t1")
    by = {s["address"]: s for s in got["shard"]}
    assert "exited 3" in by[c.address(bad)]["limits_error"], by
    assert "proxy refused the limits" in by[c.address(bad)]["limits_error"], by
    assert by[c.address(bad)]["limit_applied"] == 4000, by
    # The good nodes apply it too, however long the 5 s timeout was for
    # them on a loaded host.
    good = [c.address(n) for n in c.names if n != bad]
    wait_for(lambda: all({s["address"]: s for s in o.ok("GET", f"{T}/t1")["shard"]}[a]
                         ["limit_applied"] == 6000 for a in good),
             "the good nodes enforce 6000", timeout=60)
    # The hook works again: the same limit is confirmed with no new task.
    os.unlink(Path(c.node_dir(bad)) / "hook.fail")
    wait_for(lambda: o.ok("GET", f"{T}/t1")["shard"] and all(
        s.get("limit_applied") == 6000 and s.get("limits_error") is None
        for s in o.ok("GET", f"{T}/t1")["shard"]), "6000 applied everywhere", timeout=60)

    # Refused at once: no such tenant, a limit over the maximum.
    r = o.post(f"/api/v1/clusters/{CL}/tasks", {"type": "scale-tenant", "params": {
        "tenant": "nope", "limit": 6000}})
    assert r.status_code == 409 and "no tenant 'nope'" in r.text, r.text
    r = o.post(f"/api/v1/clusters/{CL}/tasks", {"type": "scale-tenant", "params": {
        "tenant": "t1", "limit": 200000}})
    assert r.status_code == 409 and "above its limit_max 100000" in r.text, r.text


def test_patch_tenant(sim_factory, orch_factory, tmp_path):  # noqa: F811
    c, o = start(sim_factory, orch_factory, tmp_path, 3)
    o.ok("POST", T, {"name": "t1", "keyspaces": ["ks1"]}, status=201)
    before = o.ok("GET", f"{T}/t1")
    for body, words in [({"k": 4}, "cannot be changed"),
                        ({"limit_default": 0}, "limit_default"),
                        ({"limit_default": 9000, "limit_max": 8000}, "above"),
                        ({"min_services": 5, "max_services": 4}, "min_services"),
                        ({"autoscale": "yes"}, "autoscale"),
                        ({"bogus": 1}, "bogus")]:
        r = o.req("PATCH", f"{T}/t1", body=body)
        assert r.status_code == 400, (body, r.text)
        assert words in r.text, (body, r.text)
    after = o.ok("GET", f"{T}/t1")
    assert {k: v for k, v in after.items() if k not in ("shard", "updated_at")} == \
        {k: v for k, v in before.items() if k not in ("shard", "updated_at")}
    got = o.ok("PATCH", f"{T}/t1", {"autoscale": False, "limit_max": 3000,
                                    "limit_default": 2000})
    assert got["autoscale"] is False and got["limits"] == {
        "default": 2000, "current": 3000, "max": 3000, "confirmed": False}, got
    assert o.req("PATCH", f"{T}/nope", body={"autoscale": False}).status_code == 404
    # Off: a load decides nothing.
    c.load(c.names[0], "ks1", 50000, 0)
    wait_for(lambda: (o.ok("GET", f"{T}/t1")["demand"] or {}).get("ops", 0) > 10000,
             "demand reported", timeout=30)
    time.sleep(3)
    assert scale_tasks(o) == []
    # The last tenant deleted: every node learns the empty list and its
    # limits file says it serves no tenant (the sweep's tenant-less path).
    wait_for(lambda: all(limit_on(c, n, "t1") == 3000 for n in c.names), "3000 applied",
             timeout=30)
    o.ok("DELETE", f"{T}/t1", status=204)
    wait_for(lambda: all((limits_file(c, n) or {}).get("tenants") == [] for n in c.names),
             "every limits file empty", timeout=30)
