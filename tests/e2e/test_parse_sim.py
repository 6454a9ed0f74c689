"""The nodetool parsers (agent/nodetool.c) against the simulated node.

For each Cassandra version the simulator imitates, a fresh cluster is
created with tests/sim/simctl in a temporary directory; its nodetool output
is parsed with the C parsers (through `test_nodetool --parse KIND`) and the
JSON must have the same structure as the JSON of the real samples in
shared/cassandra, plus the values the cluster was created with.  A parse
failure of simulated output means either the simulator or the parser is
wrong, and the message says which line.

Structure: the same keys at every level, the same JSON types; a null (a
value nodetool printed as "?" or not at all) matches any type; maps whose
keys are data (options, caches, schema versions) compare by value type only.
"""
import json
import subprocess
import time
from pathlib import Path

import pytest

import rmtest

VERSIONS = ["3.11", "4.0", "4.1", "5.0"]
NODES = 3
TABLES = 3
SIMCTL = rmtest.SIM / "simctl"

# JSON members whose keys are data, not structure.
MAPS = {"other", "options", "schema_versions", "database_versions", "pending_by_table"}


def samples_dir():
    d = rmtest.SHARED
    return d / "cassandra" if (d / "cassandra" / "README.md").exists() else d


def parser():
    exe = rmtest.UNIT_DIR / "test_nodetool"
    assert exe.exists(), f"{exe} is missing: run make units"
    return exe


def parse(kind, text):
    """JSON of text parsed as kind; fails the test with the parser's error."""
    p = subprocess.run([str(parser()), "--parse", kind], input=text.encode(),
                       capture_output=True, timeout=30)
    assert p.returncode == 0, (f"nodetool {kind} output did not parse: {p.stderr.decode().strip()}\n"
                               f"--- output ---\n{text}")
    return json.loads(p.stdout)


def parse_fails(kind, text):
    p = subprocess.run([str(parser()), "--parse", kind], input=text.encode(),
                       capture_output=True, timeout=30)
    return p.returncode != 0, p.stderr.decode()


def sample(name):
    """A shared sample without the '[exit N]' line the 4.1.0-real captures end with."""
    lines = (samples_dir() / name).read_text().splitlines(keepends=True)
    while lines and not lines[-1].strip():
        lines.pop()
    if lines and lines[-1].startswith("[exit "):
        lines.pop()
    return "".join(lines)


def kind_of(v):
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    if isinstance(v, dict):
        return "object"
    return "null"


def differences(got, ref, path="$", key=None):
    """Where got's structure differs from ref's (empty list: the same)."""
    if got is None or ref is None:
        return []
    if kind_of(got) != kind_of(ref):
        return [f"{path}: {kind_of(got)} where the sample has {kind_of(ref)}"]
    out = []
    if isinstance(got, dict) and key in MAPS:
        refs = list(ref.values())[:1]
        for k, v in got.items():
            for r in refs:
                out += differences(v, r, f"{path}.{k}")
    elif isinstance(got, dict):
        for k in sorted(set(got) ^ set(ref)):
            out.append(f"{path}.{k}: only in the {'simulator' if k in got else 'sample'}")
        for k in sorted(set(got) & set(ref)):
            out += differences(got[k], ref[k], f"{path}.{k}", k)
    elif isinstance(got, list):
        for i, v in enumerate(got):
            for r in ref[:1]:
                out += differences(v, r, f"{path}[{i}]")
    return out


def same_structure(kind, got, sample_name):
    ref = parse(kind, sample(sample_name))
    diff = differences(got, ref)
    assert not diff, f"nodetool {kind} vs {sample_name}:\n" + "\n".join(diff)


class Sim:
    def __init__(self, root, version):
        self.dir = root / f"c-{version.replace('.', '')}"
        self.version = version
        self.simctl("create", str(self.dir), "--version", version, "--nodes", str(NODES),
                    "--keyspaces", "2", "--tables", str(TABLES), "--seed", "7")
        for i in range(1, NODES + 1):
            self.simctl("start-cassandra", str(self.dir), f"node{i}")
        self.cluster = json.loads(self.simctl("status", str(self.dir), "--json"))

    def simctl(self, *args):
        p = subprocess.run([str(SIMCTL), *args], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0, f"simctl {' '.join(args)}: {p.stderr}{p.stdout}"
        return p.stdout

    def nodetool(self, *args, rc=0, node="node1"):
        p = subprocess.run([str(self.dir / "nodes" / node / "bin" / "nodetool"), *args],
                           capture_output=True, text=True, timeout=60)
        assert p.returncode == rc, (f"nodetool {' '.join(args)}: exit {p.returncode}, want {rc}\n"
                                    f"{p.stdout}{p.stderr}")
        # the agent reads stdout and stderr together, as the captures do
        return p.stdout + p.stderr

    def node(self, name):
        return next(n for n in self.cluster["nodes"] if n["name"] == name)


@pytest.fixture(scope="module", params=VERSIONS)
def sim(request, tmp_path_factory):
    assert SIMCTL.exists(), f"{SIMCTL} is missing"
    return Sim(tmp_path_factory.mktemp("parse-sim"), request.param)


def all_nodes(status):
    return [n for dc in status["datacenters"] for n in dc["nodes"]]


def test_status(sim):
    got = parse("status", sim.nodetool("status"))
    same_structure("status", got, "4.1.0-real/status.txt")
    nodes = all_nodes(got)
    assert sorted(n["address"] for n in nodes) == sorted(n["address"] for n in sim.cluster["nodes"])
    assert {n["host_id"] for n in nodes} == {n["host_id"] for n in sim.cluster["nodes"]}
    assert [dc["name"] for dc in got["datacenters"]] == ["datacenter1"]
    for n in nodes:
        assert (n["status"], n["state"], n["tokens"]) == ("up", "normal", 16)
        assert n["load_bytes"] > 0 and n["owns_pct"] is None and n["rack"] == "rack1"
    assert not got["owns_effective"]


def test_status_keyspace(sim):
    got = parse("status", sim.nodetool("status", "ks1"))
    same_structure("status", got, "4.1.0-real/status-ks.txt")
    assert got["owns_effective"]
    assert all(n["owns_pct"] is not None and 0 < n["owns_pct"] <= 100 for n in all_nodes(got))


def test_info(sim):
    got = parse("info", sim.nodetool("info"))
    v3 = sim.version == "3.11"
    same_structure("info", got, "info-3.x.txt" if v3 else "4.1.0-real/info.txt")
    me = sim.node("node1")
    assert got["id"] == me["host_id"]
    assert got["datacenter"] == me["dc"] and got["rack"] == me["rack"]
    assert got["gossip_active"] and got["native_transport_active"]
    assert (got["thrift_active"] is not None) == v3
    assert got["token_count"] == len(me["tokens"])
    assert got["load_bytes"] > 0


def test_describecluster(sim):
    got = parse("describecluster", sim.nodetool("describecluster"))
    v3 = sim.version == "3.11"
    same_structure("describecluster", got,
                   "describecluster-3.x.txt" if v3 else "4.1.0-real/describecluster.txt")
    assert got["name"] == sim.cluster["cluster_name"]
    assert got["schema_versions"] == {
        sim.cluster["schema_version"]: sorted(n["address"] for n in sim.cluster["nodes"])}
    assert got["unreachable"] == []
    if not v3:
        assert got["stats"]["live"] == NODES and got["stats"]["unreachable"] == 0
        assert {k["name"] for k in got["keyspaces"]} == set(sim.cluster["keyspaces"])


def test_ring(sim):
    got = parse("ring", sim.nodetool("ring"))
    same_structure("ring", got, "4.1.0-real/ring.txt")
    entries = got["datacenters"][0]["entries"]
    tokens = sorted(t for n in sim.cluster["nodes"] for t in n["tokens"])
    assert len(entries) == len(tokens) == NODES * 16
    assert [int(e["token"]) for e in entries] == sorted(int(t) for t in tokens)
    assert got["datacenters"][0]["last_token"] == entries[-1]["token"]


def test_version(sim):
    got = parse("version", sim.nodetool("version"))
    same_structure("version", got, "4.1.0-real/version.txt")
    assert got["release"].startswith(sim.version)
    assert "%d.%d" % (got["major"], got["minor"]) == sim.version


def test_compactionstats(sim):
    got = parse("compactionstats", sim.nodetool("compactionstats"))
    same_structure("compactionstats", got, "4.1.0-real/compactionstats.txt")
    assert got["pending_tasks"] == 0 and got["active"] == []


def test_listsnapshots(sim):
    times = sim.version not in ("3.11", "4.0")
    ref = "4.1.0-real/listsnapshots.txt" if times else "listsnapshots-4.0.txt"
    tag = "e2e-parse"
    if "There are no snapshots" in sim.nodetool("listsnapshots"):
        empty = parse("listsnapshots", sim.nodetool("listsnapshots"))
        assert empty["snapshots"] == []
    sim.nodetool("snapshot", "-t", tag, "ks1")
    got = parse("listsnapshots", sim.nodetool("listsnapshots"))
    same_structure("listsnapshots", got, ref)
    mine = [s for s in got["snapshots"] if s["name"] == tag]
    assert sorted(s["table"] for s in mine) == sorted(sim.cluster["keyspaces"]["ks1"]["tables"])
    assert all(s["keyspace"] == "ks1" and s["size_on_disk_bytes"] > 0 for s in mine)
    assert got["has_times"] == times
    if times:
        assert all(s["created"] and s["expires"] is None for s in mine)


def test_repair(sim):
    v3 = sim.version == "3.11"
    got = parse("repair", sim.nodetool("repair", "-full", "ks1"))
    same_structure("repair", got, "repair-3.x.txt" if v3 else "4.1.0-real/repair-full.txt")
    assert got["result"] == "succeeded" and got["error"] is None
    (cmd,) = got["commands"]
    assert cmd["keyspace"] == "ks1" and cmd["finished"] and not cmd["failed"]
    assert cmd["options"]["incremental"] == "false"
    assert cmd["sessions"] >= 1

    got = parse("repair", sim.nodetool("repair", "system_auth"))
    same_structure("repair", got, "4.1.0-real/repair-rf1.txt")
    assert got["result"] == "nothing-to-do" and got["not_needed"] == ["system_auth"]


def test_errors(sim):
    out = sim.nodetool("repair", "nosuchks", rc=1)
    assert parse("error", out)["kind"] == "usage"
    failed, err = parse_fails("repair", out)
    assert failed and "nodetool reported an error" in err


KINDS = ["status", "info", "describecluster", "ring", "listsnapshots", "compactionstats",
         "repair", "version"]


def test_unknown_keyspace(sim):
    out = sim.nodetool("status", "nosuchks", rc=1)
    failed, err = parse_fails("status", out)
    assert failed and "nodetool reported an error" in err
    got = parse("error", out)
    assert got["kind"] == "usage" and "nosuchks" in got["message"]


def test_faults(sim):
    """Random lines (exit 0) must not parse as anything; a server failure names itself."""
    try:
        sim.simctl("fault", str(sim.dir), "node2", "garbage")
        for kind in KINDS:
            out = sim.nodetool(kind, node="node2")
            failed, err = parse_fails(kind, out)
            assert failed, f"garbage parsed as {kind}:\n{out}"
            assert err.startswith(f"nodetool {kind}: line ") or "empty output" in err, err
        sim.simctl("fault", str(sim.dir), "node2", "fail", "--message", "JMX is sulking")
        out = sim.nodetool("status", node="node2", rc=2)
        failed, err = parse_fails("status", out)
        assert failed and "nodetool reported an error" in err
        assert parse("error", out) == {"kind": "server", "message": "JMX is sulking"}
    finally:
        sim.simctl("fault", str(sim.dir), "node2", "none")


def counts_add_up(got):
    """Each keyspace's Read/Write Count is the sum of its tables' local counts (as on the
    real capture: 2,200 writes = 200 + 2,000).  Returns {keyspace: (reads, writes)}."""
    out = {}
    for k in got["keyspaces"]:
        tables = [t for t in got["tables"] if t["keyspace"] == k["name"]]
        assert k["read_count"] == sum(t["read_count"] for t in tables), (k, tables)
        assert k["write_count"] == sum(t["write_count"] for t in tables), (k, tables)
        out[k["name"]] = (k["read_count"], k["write_count"])
    return out


def test_tablestats_counts_and_load(sim):
    """tablestats parses like the real capture, its keyspace counts are the sums of the
    tables' local counts, and `simctl load` makes them move; a restart resets them."""
    real = parse("tablestats", sample("4.1.0-real/tablestats-shop.txt"))
    assert counts_add_up(real) == {"shop": (0, 2200)}
    got = parse("tablestats", sim.nodetool("tablestats", node="node2"))
    same_structure("tablestats", got, "4.1.0-real/tablestats-shop.txt")
    assert set(counts_add_up(got)) == set(sim.cluster["keyspaces"])
    assert counts_add_up(got)["ks1"] == (0, 0)       # no load yet

    sim.simctl("load", str(sim.dir), "node2", "ks1", "300", "120")
    try:
        t0 = time.monotonic()
        first = counts_add_up(parse("tablestats", sim.nodetool("tablestats", node="node2")))
        time.sleep(1.0)
        second = counts_add_up(parse("tablestats", sim.nodetool("tablestats", node="node2")))
        dt = time.monotonic() - t0
        (r1, w1), (r2, w2) = first["ks1"], second["ks1"]
        assert r2 > r1 > 0 and w2 > w1 > 0, (first, second)
        # 300 and 120 a second, give or take the time nodetool takes to start
        assert 0.5 * 300 <= (r2 - r1) / dt <= 1.5 * 300, (r1, r2, dt)
        assert 0.5 * 120 <= (w2 - w1) / dt <= 1.5 * 120, (w1, w2, dt)
        assert second["ks2"] == (0, 0), second
        # a table filter still prints the whole keyspace's counts
        one = parse("tablestats", sim.nodetool("tablestats", "ks1.t1", node="node2"))
        k = one["keyspaces"][0]
        assert k["read_count"] > one["tables"][0]["read_count"] > 0, one

        sim.simctl("stop-cassandra", str(sim.dir), "node2")
        sim.simctl("start-cassandra", str(sim.dir), "node2")
        after = counts_add_up(parse("tablestats", sim.nodetool("tablestats", node="node2")))
        assert after["ks1"][0] < r2 and after["ks1"][1] < w2, (second, after)
    finally:
        sim.simctl("load", str(sim.dir), "node2", "ks1", "0", "0")


def test_node_down(sim):
    """Last in the module: it stops a node for good."""
    down = sim.node("node3")
    sim.simctl("stop-cassandra", str(sim.dir), "node3")
    try:
        got = parse("status", sim.nodetool("status", "ks1"))
        same_structure("status", got, "4.1.0-real/status-down-node.txt")
        by_addr = {n["address"]: n for n in all_nodes(got)}
        assert by_addr[down["address"]]["status"] == "down"
        assert sum(n["status"] == "up" for n in by_addr.values()) == NODES - 1

        got = parse("describecluster", sim.nodetool("describecluster"))
        if sim.version != "3.11":
            same_structure("describecluster", got, "4.1.0-real/describecluster-down-node.txt")
            assert got["stats"]["unreachable"] == 1
        assert got["unreachable"] == [down["address"]]

        out = sim.nodetool("repair", "-full", "ks1", rc=2)
        got = parse("repair", out)
        if sim.version != "3.11":
            same_structure("repair", got, "4.1.0-real/repair-peer-down.txt")
        assert got["result"] == "failed"
        assert "Endpoint not alive" in got["error"]
        assert parse("error", out)["kind"] == "server"
    finally:
        sim.simctl("start-cassandra", str(sim.dir), "node3")
