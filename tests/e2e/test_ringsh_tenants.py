"""ringsh's tenant commands against the real orchestrator: tenants,
tenant create/show/set/delete, their --json against the API, usage errors that
send nothing, and the API's refusals in one line.  Nodes are registered
through the agent API (check-in and an "up" heartbeat): placement needs
only their state."""
import json

from orch import orch, orch_factory  # noqa: F401
from test_orch_agents import beat, checkin
from test_ringsh import ok, rsh

ADDRS = [f"10.7.0.{i}" for i in range(1, 8)]


def register_nodes(o):
    o.create_cluster("prod")
    for a in ADDRS:
        checkin(o, a)
        assert beat(o, a).status_code == 200


def test_tenant_create_list_show_delete(orch, tmp_path):  # noqa: F811
    register_nodes(orch)
    out = ok(rsh(orch, tmp_path, "-c", "tenant create alpha --keyspaces orders,users "
                 "--cluster prod"))
    assert out.startswith("created tenant alpha on 'prod': shard 10.7.0."), out
    out = ok(rsh(orch, tmp_path, "-c", "tenant create beta --prefix beta_ --k 3 "
                 "--overlap 1 --min 3 --max 5 --cluster prod"))
    api = orch.ok("GET", "/api/v1/clusters/prod/tenants/beta")
    assert api["max_services"] == 5 and api["prefix"] == "beta_", api
    shard = " ".join(s["address"] for s in api["shard"])
    assert out == f"created tenant beta on 'prod': shard {shard}\n", out

    out = ok(rsh(orch, tmp_path, "-c", "tenants --cluster prod"))
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "KEYSPACES", "HEALTH", "LIMIT", "SHARD"], out
    assert lines[1].split()[:4] == ["alpha", "orders,users", "ok", "(3/3"], out
    assert lines[2].split()[:2] == ["beta", "beta_*"] and "4000" in lines[2], out

    out = ok(rsh(orch, tmp_path, "-c", "tenant show beta --cluster prod"))
    assert "prefix" in out and "beta_" in out, out
    assert "ok (3/3 up)" in out and "k = 3, overlap <= 1" in out, out
    assert "4000 ops/s per service (default 4000, max 100000)" in out, out
    assert "3 to 5" in out and "not reported yet" in out, out
    for s in api["shard"]:
        assert f"{s['address']} (service {s['service']}): up" in out, out
    got = json.loads(ok(rsh(orch, tmp_path, "--json", "-c", "tenant show beta --cluster prod")))
    assert got == orch.ok("GET", "/api/v1/clusters/prod/tenants/beta")

    # Usage errors send nothing.
    r = rsh(orch, tmp_path, "-c", "tenant create gamma --cluster prod")
    assert r.returncode != 0 and "exactly one of --keyspaces" in r.stderr, r
    r = rsh(orch, tmp_path, "-c", "tenant create gamma --prefix g --k x --cluster prod")
    assert r.returncode != 0 and "--k wants a number, not 'x'" in r.stderr, r
    assert len(orch.ok("GET", "/api/v1/clusters/prod/tenants")["items"]) == 2
    # The API's refusals, in one line.
    r = rsh(orch, tmp_path, "-c", "tenant create gamma --prefix g --k 3 --overlap 3 "
            "--cluster prod")
    assert r.returncode != 0 and "less than k" in r.stderr, r
    r = rsh(orch, tmp_path, "-c", "tenant create alpha --prefix a --cluster prod")
    assert r.returncode != 0 and "already has a tenant 'alpha'" in r.stderr, r
    r = rsh(orch, tmp_path, "-c", "tenant show nope --cluster prod")
    assert r.returncode != 0 and "has no tenant 'nope'" in r.stderr, r

    # tenant set: PATCH, and the tenant as show prints it.
    out = ok(rsh(orch, tmp_path, "-c", "tenant set beta --autoscale off --limit-max 50000 "
                 "--max 4 --cluster prod"))
    assert "4000 ops/s per service (default 4000, max 50000)" in out, out
    assert "autoscale" in out and " off" in out and "3 (from 3 to 4)" in out, out
    api = orch.ok("GET", "/api/v1/clusters/prod/tenants/beta")
    assert api["autoscale"] is False and api["max_services"] == 4, api
    assert api["limits"]["max"] == 50000, api
    r = rsh(orch, tmp_path, "-c", "tenant set beta --cluster prod")
    assert r.returncode != 0 and "nothing to change" in r.stderr, r
    r = rsh(orch, tmp_path, "-c", "tenant set beta --autoscale maybe --cluster prod")
    assert r.returncode != 0 and "--autoscale wants on or off" in r.stderr, r
    r = rsh(orch, tmp_path, "-c", "tenant set beta --min 4 --max 4 --cluster prod")
    assert r.returncode != 0 and "min_services <= k <= max_services" in r.stderr, r
    assert orch.ok("GET", "/api/v1/clusters/prod/tenants/beta") == api

    out = ok(rsh(orch, tmp_path, "-c", "tenant delete alpha --cluster prod"))
    assert out == "deleted tenant alpha of 'prod'; its shard is free\n", out
    assert [t["name"] for t in orch.ok("GET", "/api/v1/clusters/prod/tenants")["items"]] == \
        ["beta"]
    out = ok(rsh(orch, tmp_path, "-c", "help tenant create"))
    assert "--keyspaces" in out and "--overlap" in out, out


def test_tenant_roles_and_audit(orch):  # noqa: F811
    """Operators create and delete tenants, viewers only read; each write,
    refused or not, is audited with the token's name."""
    register_nodes(orch)
    viewer = orch.create_token("viewer", "watcher")
    op = orch.create_token("operator", "ops")
    body = {"name": "gamma", "prefix": "g_"}
    r = orch.post("/api/v1/clusters/prod/tenants", body, token=viewer)
    assert r.status_code == 403, r.text
    assert orch.get("/api/v1/clusters/prod/tenants", token=viewer).json()["items"] == []
    r = orch.post("/api/v1/clusters/prod/tenants", body, token=op)
    assert r.status_code == 201, r.text
    assert orch.get("/api/v1/clusters/prod/tenants/gamma", token=viewer).status_code == 200
    assert orch.delete("/api/v1/clusters/prod/tenants/gamma", token=viewer).status_code == 403
    assert orch.delete("/api/v1/clusters/prod/tenants/gamma", token=op).status_code == 204
    evs = [(e["actor"], e["method"], e["target"], e["result"])
           for e in orch.ok("GET", "/api/v1/events?limit=500")["items"]
           if e["kind"] == "request" and (e["route"] or "").endswith(("/tenants", "/tenants/{tenant}"))]
    assert evs == [("watcher", "POST", "prod", "403"), ("ops", "POST", "prod/gamma", "201"),
                   ("watcher", "DELETE", "prod", "403"),
                   ("ops", "DELETE", "prod/gamma", "204")], evs
