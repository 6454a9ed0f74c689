"""Datacenter-local repair (params.datacenter, params.local_dc;
orchestrator/tasks/repair_dc.c, docs/repair.md "Datacenter-local repair")
on a simulated cluster of two dcs, three nodes each, ks1 with
NetworkTopologyStrategy dc1: 3, dc2: 3.  The sim's nodetool takes -dc and
--in-local-dc as Cassandra 4.1.1 does (checked on the real build: -pr with
-dc refused, a -dc list without the node's own dc refused, a dc that does not
exist refused, only replicas in those dcs take part) and logs every -st/-et repair with its replicas."""
from agentutil import sim_factory, simlib, wait_for  # noqa: F401
from orch import orch, orch_factory  # noqa: F401
from test_repair_parallel import check_tiling, finished, nodes, prepare, repair_log

DCS = [("dc1", 3), ("dc2", 3)]


def dc_of(c):
    cl = simlib.load_cluster(c.dir)
    return {n["name"]: n["dc"] for n in cl["nodes"]}


def test_scheduler_repairs_only_inside_the_dcs_asked(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=6, dcs=DCS, num_tokens=2)
    agent = prepare(c, orch, tmp_path)
    dcs = dc_of(c)
    t = orch.submit("sim", "repair", agent=agent, timeout_s=60, keyspace="ks1",
                    parallelism=0, datacenter="dc2")
    t = finished(orch, t["id"])
    assert t["state"] == "succeeded", t
    log = repair_log(c)
    assert log, "nothing was repaired"
    for e in log:
        # the three dc2 replicas, coordinated by one of them
        assert len(e["replicas"]) == 3 and {dcs[r] for r in e["replicas"]} == {"dc2"}, e
        assert dcs[e["coordinator"]] == "dc2", e
    # every ring range repaired once, on its dc2 replicas
    ranges = [(a, b, o, sorted(r for r in reps if dcs[r] == "dc2"))
              for a, b, o, reps in simlib.token_ranges(simlib.load_cluster(c.dir), "ks1")]
    check_tiling(log, ranges)

    # both dcs by name: every replica takes part
    before = len(log)
    t = finished(orch, orch.submit("sim", "repair", agent=agent, timeout_s=60,
                                   keyspace="ks1", parallelism=2,
                                   datacenter=["dc1", "dc2"])["id"])
    assert t["state"] == "succeeded", t
    assert all(len(e["replicas"]) == 6 for e in repair_log(c)[before:])

    # a dc the ring lacks fails the task, naming it and the ring's dcs
    t = finished(orch, orch.submit("sim", "repair", agent=agent, timeout_s=60,
                                   keyspace="ks1", parallelism=0,
                                   datacenter="eu-west")["id"])
    assert t["state"] == "failed", t
    assert "datacenter 'eu-west' is not in the ring (its dcs: dc1, dc2)" in \
        t["steps"][0]["message"] + str(t["error"]), t


def test_local_dc_per_node_steps_and_refusals(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=6, dcs=DCS, num_tokens=2)
    agent = prepare(c, orch, tmp_path)
    dcs = dc_of(c)
    # a dc2 node down: with --in-local-dc the dc1 nodes repair without it
    # (without, Cassandra would refuse them with "Endpoint not alive" and
    # their steps would be postponed)
    down = [n for n in c.names if dcs[n] == "dc2"][0]
    c.stop_cassandra(down)
    wait_for(lambda: nodes(orch)[c.address(down)]["state"] == "down",
             "the node down in the orchestrator", timeout=30)
    t = orch.submit("sim", "repair", agent=agent, timeout_s=60, keyspace="ks1",
                    local_dc=True, parallelism=1)
    dc1 = {c.address(n) for n in c.names if dcs[n] == "dc1"}

    def dc1_done():
        steps = [s for s in orch.task(t["id"])["steps"] if s["node"] in dc1]
        return steps if all(s["state"] == "succeeded" for s in steps) else None
    steps = wait_for(dc1_done, "the dc1 nodes repaired", timeout=120)
    for s in steps:
        assert s["message"].startswith("repaired ks1"), s
    orch.ok("POST", f"/api/v1/tasks/{t['id']}/cancel")
    assert finished(orch, t["id"])["state"] == "cancelled"

    for bad, want in (({"datacenter": "dc1", "parallelism": 1},
                       "params.datacenter needs the segment scheduler"),
                      ({"datacenter": "dc1", "parallelism": 1, "keyspace": "ks1"},
                       "params.datacenter needs the segment scheduler"),
                      ({"local_dc": True, "parallelism": 0, "keyspace": "ks1"},
                       "params.local_dc needs parallelism 1"),
                      ({"local_dc": True},
                       "params.local_dc needs parallelism 1"),
                      ({"local_dc": True, "parallelism": 1, "segments_per_node": 4},
                       "params.local_dc needs segments_per_node 1"),
                      ({"datacenter": "dc 1", "parallelism": 0, "keyspace": "ks1"},
                       "params.datacenter"),
                      ({"datacenter": [], "parallelism": 0, "keyspace": "ks1"},
                       "params.datacenter")):
        r = orch.post("/api/v1/clusters/sim/tasks", {"type": "repair", "params": bad})
        assert r.status_code == 400 and want in r.json()["error"]["message"], (bad, r.text)


def test_sim_nodetool_dc_like_cassandra_4_1_1(sim_factory):  # noqa: F811
    c = sim_factory(nodes=6, dcs=DCS, num_tokens=2)
    c.start_all()
    n1 = c.names[0]
    mydc = dc_of(c)[n1]
    other = "dc2" if mydc == "dc1" else "dc1"
    r = c.nodetool(n1, "repair", "-full", "-pr", "-dc", mydc, "--", "ks1")
    assert r.returncode == 2, r
    assert "error: Primary range repair should be performed on all nodes in the cluster." in \
        r.stdout + r.stderr, r
    for dcl in (["-dc", other], ["-dc", "nosuch"]):
        r = c.nodetool(n1, "repair", "-full", *dcl, "--", "ks1")
        assert r.returncode == 2 and "the local data center must be part of the repair" in \
            r.stdout + r.stderr, (dcl, r)
    r = c.nodetool(n1, "repair", "-full", "-dc", mydc, "-dc", "nosuch", "--", "ks1")
    assert r.returncode == 2 and "data center(s) [nosuch] not found" in r.stdout + r.stderr, r
    r = c.nodetool(n1, "repair", "-full", "-pr", "--in-local-dc", "--", "ks1")
    assert r.returncode == 0, r
    r = c.nodetool(n1, "repair", "-full", "-dc", mydc, "-dc", other, "--", "ks1")
    assert r.returncode == 0, r
    # -pr --in-local-dc on every node of one dc: the primary ranges within
    # the dc, which together cover the ring once
    got = []
    for n in [x for x in c.names if dc_of(c)[x] == mydc]:
        r = c.nodetool(n, "repair", "-full", "-pr", "--in-local-dc", "--", "ks1")
        assert r.returncode == 0, r
        for ln in r.stdout.splitlines():
            if " for range [" in ln:
                for part in ln.split(" for range [", 1)[1].split("]]", 1)[0].split("], "):
                    a, b = part.strip("(]").split(",")
                    got.append((int(a), int(b)))
    ring = [(a, b) for a, b, _o, _r in simlib.token_ranges(simlib.load_cluster(c.dir), "ks1")]
    assert sorted(got) == sorted(ring), (got, ring)
    # -st/-et with --in-local-dc: only this dc's replicas take part
    a, b, _o, reps = [x for x in simlib.token_ranges(simlib.load_cluster(c.dir), "ks1")
                      if n1 in x[3]][0]
    r = c.nodetool(n1, "repair", "-full", "-st", a, "-et", b, "--in-local-dc", "--", "ks1")
    assert r.returncode == 0, r
    e = repair_log(c)[-1]
    assert e["replicas"] == sorted(x for x in reps if dc_of(c)[x] == mydc), (e, reps)
