"""The simulated Cassandra node (tests/sim) against what real Cassandra prints.

Real samples live in shared/cassandra/ (4.1.0-real/ is a capture from a real 4.1.0
cluster).  A cluster shaped like the captured one (keyspaces shop, single, k, ks2 on
127.0.0.1 and 127.0.0.2) lets most outputs be compared line for line once values
(timestamps, UUIDs, addresses, sizes, numbers) are masked.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(os.environ.get("RM_REPO", Path(__file__).resolve().parents[2]))
SIM = REPO / "tests" / "sim"
SHARED = Path(os.environ.get("RM_SHARED", REPO.parent / "shared"))
REAL = SHARED / "cassandra" / "4.1.0-real"
SAMPLES = SHARED / "cassandra"

sys.path.insert(0, str(SIM))
import simlib  # noqa: E402

VERSIONS = ["3.11", "4.0", "4.1", "5.0"]

SHOP_SCHEMA = {
    "k": {"replication": {"class": "SimpleStrategy", "replication_factor": 1}, "tables": ["t", "z"]},
    "ks2": {"replication": {"class": "SimpleStrategy", "replication_factor": 2}, "tables": ["t"]},
    "shop": {"replication": {"class": "NetworkTopologyStrategy", "datacenter1": 2},
             "tables": ["orders", "customers"]},
    "single": {"replication": {"class": "SimpleStrategy", "replication_factor": 1}, "tables": ["events"]},
}


# ---------------------------------------------------------------------------
# fixtures and helpers
# ---------------------------------------------------------------------------

@pytest.fixture
def make_cluster(tmp_path):
    """Factory: make_cluster(name, **create_cluster kwargs) -> SimCluster; every
    process a cluster started is killed at teardown, even when the test fails."""
    made = []

    def make(name="c", start=True, **kw):
        kw.setdefault("sstables", 1)
        kw.setdefault("sstable_size", "16K")
        kw.setdefault("keyspaces", 2)
        kw.setdefault("tables", 2)
        c = simlib.SimCluster.create(tmp_path / name, **kw)
        made.append(c)
        if start:
            for n in c.names:
                c.start_cassandra(n)   # nodetool answers; no sshd needed
        return c

    yield make
    for c in made:
        c.cleanup()


@pytest.fixture
def shop(make_cluster):
    """Two 4.1 nodes shaped like the real capture."""
    return make_cluster("shop", nodes=2, version="4.1", base_address="127.0.0.1",
                        keyspace_defs=SHOP_SCHEMA)


def run(c, node, *args, timeout=30):
    """nodetool with stdout and stderr merged (as the samples were captured) + [exit N]."""
    p = subprocess.run([c.nodetool_path(node)] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=timeout)
    return p.stdout + "[exit %d]\n" % p.returncode


def sample(name):
    return (REAL / name).read_text()


MASKS = [
    (r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\]", "[TS]"),
    (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "ISO"),
    (r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "UUID"),
    (r"\b\d+\.\d+\.\d+\.\d+(:\d+)?\b", "IP"),
    (r"IP(, IP)+", "IP"),
    (r"\d+(\.\d+)? (bytes|KiB|MiB|GiB|TiB)", "SIZE"),
    (r"\d+(\.\d+)?%", "PCT"),
    (r"(\d+ (day|hour|minute|second)s? ?)+", "DURATION"),
    (r"-?\d+", "N"),
]


def norm(text, extra=()):
    """Mask values, squeeze runs of spaces, fold repeated identical rows into one."""
    out = []
    for ln in text.splitlines():
        ln = ln.rstrip()
        for pat, rep in list(extra) + MASKS:
            ln = re.sub(pat, rep, ln)
        ln = re.sub(r" +", " ", ln)
        if out and ln and out[-1] == ln:
            continue
        out.append(ln)
    return out


KS_LINE = (r"^\t\w+ -> Replication class: \w+ \{.*\}$", "\tKS -> Replication class: C {..}")


def assert_same_shape(got, want, extra=()):
    g, w = norm(got, extra), norm(want, extra)
    assert g == w, "\n--- sim ---\n%s\n--- real ---\n%s" % ("\n".join(g), "\n".join(w))


def exit_code(text):
    return int(re.search(r"\[exit (\d+)\]\s*$", text).group(1))


def sstables(d):
    return simlib.list_sstables(d)


# ---------------------------------------------------------------------------
# 4.1 against the real 4.1.0 capture
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("args,sample_name", [
    (["status"], "status.txt"),
    (["status", "shop"], "status-ks.txt"),
    (["info"], "info.txt"),
    (["describecluster"], "describecluster.txt"),
    (["ring"], "ring.txt"),
    (["version"], "version.txt"),
    (["statusgossip"], "statusgossip.txt"),
    (["statusbinary"], "statusbinary.txt"),
    (["compactionstats"], "compactionstats.txt"),
    (["describering", "shop"], "describering.txt"),
    (["tablestats", "shop"], "tablestats-shop.txt"),
    (["frobnicate"], "unknown-cmd.txt"),
    (["clearsnapshot"], "clearsnapshot-noargs.txt"),
    (["flush", "shop"], "flush-ks.txt"),
    (["compact", "shop"], "compact-ks.txt"),
    (["refresh", "shop", "orders"], "refresh.txt"),
    (["import", "shop", "orders", "/nonexistent/dir"], "import-badpath.txt"),
    (["repair", "nosuchks"], "repair-unknown-ks.txt"),
    (["repair", "-full", "single"], "repair-rf1.txt"),
    (["repair", "-pr", "shop"], "repair-pr.txt"),
    (["repair", "-full", "shop", "orders"], "repair-full.txt"),
    (["repair", "-full", "-st", "-9223372036854775808", "-et", "-4611686018427387904", "shop"],
     "repair-st-et.txt"),
])
def test_41_matches_real_capture(shop, args, sample_name):
    if args[0] == "tablestats":
        # the capture was taken after 2,200 writes since that Cassandra started (no
        # reads): the sim counts only what its load knob makes clients do
        shop.load("node1", "shop", 0, 100000)
        time.sleep(0.05)
    got = run(shop, "node1", *args)
    assert_same_shape(got, sample(sample_name), extra=[KS_LINE])
    assert exit_code(got) == exit_code(sample(sample_name))


def test_41_exact_bytes_where_no_values(shop):
    for args, name in ((["frobnicate"], "unknown-cmd.txt"), (["clearsnapshot"], "clearsnapshot-noargs.txt"),
                       (["refresh", "shop", "orders"], "refresh.txt"),
                       (["import", "shop", "orders", "/nonexistent/dir"], "import-badpath.txt"),
                       (["repair", "nosuchks"], "repair-unknown-ks.txt"),
                       (["version"], "version.txt")):
        assert run(shop, "node1", *args) == sample(name), args


def test_41_status_header_trailing_space_and_columns(shop):
    out = run(shop, "node1", "status")
    header = [l for l in out.splitlines() if l.startswith("--")][0]
    real_header = [l for l in sample("status.txt").splitlines() if l.startswith("--")][0]
    assert header == real_header          # same widths: '--  Address    Load ... Rack '
    assert header.endswith("Rack ")
    assert "Owns (effective)" in run(shop, "node1", "status", "shop")
    assert out.splitlines()[-2].startswith("Note: ")


def test_41_snapshots_match_capture(shop):
    assert run(shop, "node1", "snapshot", "-t", "rm-all") == sample("snapshot-all.txt")
    assert run(shop, "node1", "snapshot", "-t", "rm-ks", "--", "shop") == sample("snapshot-ks.txt")
    assert run(shop, "node1", "snapshot", "-t", "rm-kt", "-kt", "shop.orders,shop.customers") == \
        sample("snapshot-kt.txt")
    assert run(shop, "node1", "snapshot", "-t", "rm-ks", "--", "shop") == sample("snapshot-dup.txt")
    got = run(shop, "node1", "listsnapshots")
    real = sample("listsnapshots.txt")
    row = re.compile(r"^\S+ +\S+ +\S+ +\d+(\.\d+)? (bytes|KiB|MiB|GiB) +\d+(\.\d+)? (bytes|KiB|MiB|GiB) +"
                     r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z {16}$")
    for text in (got, real):
        lines = text.splitlines()
        assert lines[0] == "Snapshot Details: "
        assert lines[1].split() == ["Snapshot", "name", "Keyspace", "name", "Column", "family", "name", "True",
                                    "size", "Size", "on", "disk", "Creation", "time", "Expiration", "time"]
        rows = lines[2:lines.index("")]
        assert rows and all(row.match(r) for r in rows), rows
        assert lines[-4:] == ["", "Total TrueDiskSpaceUsed: 0 bytes", "", "[exit 0]"]
    tags = [l.split()[0] for l in got.splitlines()[2:] if l and not l.startswith(("Total", "[exit"))]
    assert set(tags) == {"rm-all", "rm-ks", "rm-kt"}
    assert run(shop, "node1", "clearsnapshot", "-t", "rm-kt") == sample("clearsnapshot-tag.txt")
    assert "rm-kt" not in run(shop, "node1", "listsnapshots")


def test_41_snapshot_files_manifest_schema(shop):
    run(shop, "node1", "snapshot", "-t", "rm-ks", "--", "shop")
    tdir = shop.table_dir("node1", "shop", "orders")
    sdir = os.path.join(tdir, "snapshots", "rm-ks")
    live = sorted(f for f in os.listdir(tdir) if simlib.parse_sstable_name(f))
    snap = sorted(f for f in os.listdir(sdir) if simlib.parse_sstable_name(f))
    assert live == snap and len(live) == 8
    for f in live:
        assert os.stat(os.path.join(tdir, f)).st_ino == os.stat(os.path.join(sdir, f)).st_ino
        assert re.match(r"^nb-\d+-big-(CompressionInfo\.db|Data\.db|Digest\.crc32|Filter\.db|Index\.db|"
                        r"Statistics\.db|Summary\.db|TOC\.txt)$", f)
    m = json.load(open(os.path.join(sdir, "manifest.json")))
    real_m = json.loads(sample("snapshot-manifest.json"))
    assert list(m) == list(real_m) == ["files", "created_at", "expires_at"]
    assert m["files"] == [f for f in snap if f.endswith("-Data.db")]
    assert m["expires_at"] is None
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$", m["created_at"])
    raw = open(os.path.join(sdir, "manifest.json")).read()
    assert raw.startswith('{"files":["nb-') and '"expires_at":null}' in raw
    schema = open(os.path.join(sdir, "schema.cql")).read()
    real_schema = sample("snapshot-schema.cql")
    tid = shop.state["keyspaces"]["shop"]["tables"]["orders"]["id"]
    assert "WITH ID = %s" % simlib.hex_to_uuid(tid) in schema
    mask = lambda s: re.sub(r"[0-9a-f-]{36}", "UUID", s)  # noqa: E731
    assert mask(schema) == mask(real_schema)
    # Digest.crc32 is the real crc32 of Data.db
    import zlib
    for gen, e in sstables(tdir).items():
        data = open(os.path.join(tdir, e["components"]["Data.db"]), "rb").read()
        digest = open(os.path.join(tdir, e["components"]["Digest.crc32"])).read()
        assert int(digest) == zlib.crc32(data)
        toc = open(os.path.join(tdir, e["components"]["TOC.txt"])).read().split()
        assert sorted(toc) == sorted(e["components"])


def test_repair_admin_list_as_real(shop):
    """repair_admin list of a session in flight, against 4.1.1's: the same
    columns, each padded to its width and joined with ' | ', the
    coordinator with its slash and port, participants_wp with the port only."""
    real = (Path(__file__).resolve().parents[1] / "unit" / "samples" /
            "repair_admin-list-4.1.1-preparing.txt").read_text()
    addrs = [shop.address(n) for n in shop.names]
    with simlib.locked_node(shop.node_dir("node1")) as nj:
        nj.setdefault("ir_sessions", []).append({
            "id": "659644c0-f223-11f1-8f0e-cdd7fc8cd65d", "state": "PREPARING",
            "last": int(time.time()) - 10, "coordinator": addrs[0], "participants": addrs})
    got = run(shop, "node1", "repair_admin", "list")

    def cells(text):
        lines = [ln for ln in text.splitlines() if ln and not ln.startswith("[exit")]
        return [[c.strip() for c in ln.split(" | ")] for ln in lines], lines

    (gh, grow), glines = cells(got)
    (rh, rrow), rlines = cells(real)
    assert gh == rh and got.endswith("[exit 0]\n") and real.endswith("[exit 0]\n")
    assert grow[:2] == rrow[:2] and re.fullmatch(r"\d+ \(s\)", grow[2]), grow
    # each address list shaped as the real one (the capture had three nodes)
    shape = lambda cell: {re.sub(r"\d+\.\d+\.\d+\.\d+", "IP", x) for x in cell.split(",")}  # noqa: E731
    for g, r in zip(grow[3:], rrow[3:]):
        assert shape(g) == shape(r), (g, r)
    assert grow[3] == "/%s:7000" % addrs[0]
    assert grow[5] == ",".join("%s:7000" % a for a in addrs)
    # every line is as long as the others, the separators line up
    for lines in (glines, rlines):
        assert len({ln.index(" | ") for ln in lines}) == 1, lines
        assert len({len(ln) for ln in lines}) == 1, lines


def test_generation_is_the_start_time(shop):
    """Real 4.1's rule (checked on real nodes in tests/real/test_09_rolling.py):
    a start takes the wall-clock second it starts at as its gossip generation,
    and always one greater than the last (two starts within a second)."""
    gen = lambda: int(re.search(r"Generation No\s*:\s*(\d+)", run(shop, "node1", "info")).group(1))  # noqa: E731
    before = gen()
    for _ in range(2):  # twice within a second: the second start still goes up
        shop.stop_cassandra("node1")
        t0 = time.time()
        shop.start_cassandra("node1")
        now = gen()
        assert before < now and (now == before + 1 or t0 - 1 <= now <= time.time() + 1), (before, now)
        before = now


def test_41_down_node(shop):
    shop.stop_cassandra("node2")
    # row order within a datacenter is a Java hash order in the capture: compare as sets
    got = run(shop, "node1", "status", "shop")
    assert sorted(norm(got)) == sorted(norm(sample("status-down-node.txt")))
    # widths follow the values (a Load of 9 characters narrows its column), so the header is
    # checked by Cassandra's rule instead: each cell starts where its column's cells start,
    # and the line keeps the delimiter after its last cell, as the capture does
    hdr, rows = got.splitlines()[4], got.splitlines()[5:7]
    real_hdr = sample("status-down-node.txt").splitlines()[4]
    assert hdr.split() == real_hdr.split() and hdr.endswith("Rack ") == real_hdr.endswith("Rack ")
    def starts(line):  # cells are separated by two spaces at least
        return [m.start() for m in re.finditer(r"(?<=  )\S|^\S", line)]
    assert len(starts(hdr)) == 7
    for r in rows:
        assert starts(r) == starts(hdr), (hdr, r)
    assert_same_shape(run(shop, "node1", "describecluster"), sample("describecluster-down-node.txt"),
                      extra=[KS_LINE])
    got = run(shop, "node1", "repair", "-full", "shop")
    assert_same_shape(got, sample("repair-peer-down.txt"))
    assert "Endpoint not alive: /127.0.0.2:7000" in got
    # the stopped node itself refuses connections
    out = run(shop, "node2", "status")
    assert out == "nodetool: Failed to connect to '127.0.0.1:7199' - ConnectException: " \
                  "'Connection refused'.\n[exit 1]\n"


def test_41_repair_default_and_ranges(shop):
    got = run(shop, "node1", "repair")
    assert exit_code(got) == 0
    lines = got.splitlines()
    assert "Replication factor is 1. No repair is needed for keyspace 'system_auth'" in lines[0]
    started = [l for l in lines if "Starting repair command" in l]
    assert {re.search(r"keyspace (\S+) with", l).group(1) for l in started} == {"shop", "ks2", "system_traces"}
    # every repaired keyspace has the 6-line block of the real capture
    real_block = norm(sample("repair-full.txt"), extra=[(r"keyspace \w+", "keyspace K"),
                                                        (r"ColumnFamilies: \[\w*\]", "CF")])[:-1]
    for i, l in enumerate(lines):
        if "Starting repair command" in l:
            block = "\n".join(lines[i:i + 6])
            assert norm(block, extra=[(r"keyspace \w+", "keyspace K"), (r"ColumnFamilies: \[\w*\]", "CF"),
                                      (r"incremental: true", "incremental: false")]) == real_block
    # -pr repairs the node's own 16 ranges, full the 32 it replicates
    assert "# of ranges: 16" in run(shop, "node1", "repair", "-pr", "shop")
    assert "# of ranges: 32" in run(shop, "node1", "repair", "-full", "shop")
    # a range inside one local range succeeds
    node = shop.node("node1")
    toks = sorted(node["tokens"])
    st, et = toks[3] - 1000, toks[3]
    out = run(shop, "node1", "repair", "-full", "-st", str(st), "-et", str(et), "shop")
    assert exit_code(out) == 0, out
    assert "for range [(%d,%d]]" % (st, et) in out and "# of ranges: 1" in out


# ---------------------------------------------------------------------------
# every version
# ---------------------------------------------------------------------------

INFO_LABELS = {
    "3.11": [l[:23].rstrip() for l in (SAMPLES / "info-3.x.txt").read_text().splitlines()],
    "4.0": None,
    "4.1": [l[:23].rstrip() for l in (REAL / "info.txt").read_text().splitlines()[:-1]],
    "5.0": None,
}


@pytest.mark.parametrize("version", VERSIONS)
def test_versions_common_shapes(make_cluster, version):
    c = make_cluster("v" + version.replace(".", ""), nodes=3, version=version)
    # info: %-23s labels
    info = run(c, "node1", "info")
    labels = [l[:23].rstrip() for l in info.splitlines()[:-1]]
    assert all(re.match(r"^.{23}: ", l) for l in info.splitlines()[:-1])
    assert ("Thrift active" in labels) == (version == "3.11")
    assert ("Chunk Cache" in labels) == (version in ("3.11", "4.0"))
    assert ("Network Cache" in labels) == (version == "5.0")
    if INFO_LABELS[version]:
        assert labels == INFO_LABELS[version]
    else:
        base = [l for l in INFO_LABELS["4.1"]]
        assert [l for l in labels if l not in ("Chunk Cache", "Network Cache", "Bootstrap state",
                                               "Bootstrap failed", "Decommissioning",
                                               "Decommission failed")] == base
    # status
    st = run(c, "node1", "status")
    lines = st.splitlines()
    assert lines[:4] == ["Datacenter: datacenter1", "=======================", "Status=Up/Down",
                         "|/ State=Normal/Leaving/Joining/Moving"]
    assert lines[4].split() == ["--", "Address", "Load", "Tokens", "Owns", "Host", "ID", "Rack"]
    rows = lines[5:8]
    for r in rows:
        assert re.match(r"^UN  127\.0\.0\.1\d  +\d+(\.\d+)? (bytes|KiB|MiB|GiB) +16 +\? +[0-9a-f-]{36}  rack1$", r), r
    assert lines[8] == "" and lines[9].startswith("Note: Non-system keyspaces")
    if version == "3.11":
        assert "Tokens       Owns" in lines[4]          # the fixed %-11s of 3.x
    else:
        assert lines[4].endswith("Rack ")                # TableBuilder pads the last column
    # describecluster: tabs, 3.x stops after the schema versions
    dc = run(c, "node1", "describecluster")
    if version == "3.11":
        real = (SAMPLES / "describecluster-3.x.txt").read_text()
        assert dc.endswith("\n\n[exit 0]\n")    # Cassandra prints a blank line after each version
        assert_same_shape(dc[:-len("\n[exit 0]\n")], real.rstrip("\n"))
        assert "Stats for all nodes:" not in dc
    else:
        for section in ("Stats for all nodes:", "Data Centers: ", "Database versions:", "Keyspaces:"):
            assert section + "\n" in dc
        assert_same_shape(dc, sample("describecluster.txt"), extra=[KS_LINE])
    # 4.0 against the 4.0 doc samples (k8ssandra): TableBuilder status, ring address width len(ip)+2
    if version == "4.0":
        hdr = [l for l in run(c, "node1", "status", "ks1").splitlines() if l.startswith("--")][0]
        real_hdr = (SAMPLES / "status-4.x-vnodes.txt").read_text().splitlines()[0]
        assert hdr.split() == real_hdr.split() and "Tokens  Owns (effective)  Host ID" in hdr
        ring = run(c, "node1", "ring").splitlines()
        real_ring = (SAMPLES / "ring-4.x.txt").read_text().splitlines()
        assert re.sub(r"^Address +", "", ring[3]).rstrip() == re.sub(r"^Address +", "", real_ring[2]).rstrip()
        assert ring[3].startswith("Address" + " " * (len("127.0.0.11") + 2 - len("Address")) + "Rack")
        assert real_ring[2].startswith("Address" + " " * (len("172.17.0.13") + 2 - len("Address")) + "Rack")
    # version
    assert re.match(r"^ReleaseVersion: %s\.\d+\n\[exit 0\]\n$" % re.escape(version), run(c, "node1", "version"))
    # unknown command, unknown flag, missing argument
    for args, msg in ((["frobnicate"], "Found unexpected parameters: [frobnicate]"),
                      (["info", "--bogus"], "Found unexpected parameters: [--bogus]"),
                      (["snapshot", "-t"], "Required values for option 'tag' not provided"),
                      (["refresh", "ks1"], "refresh requires ks and cf args")):
        out = run(c, "node1", *args)
        assert out == "nodetool: %s\nSee 'nodetool help' or 'nodetool help <command>'.\n[exit 1]\n" % msg
    # connection flags are accepted and ignored
    assert exit_code(run(c, "node1", "-h", "127.0.0.11", "-p", "7199", "-u", "u", "-pw", "p", "status")) == 0


@pytest.mark.parametrize("version", VERSIONS)
def test_versions_snapshots(make_cluster, version):
    c = make_cluster("s" + version.replace(".", ""), nodes=1, version=version)
    prefix = {"3.11": "md", "4.0": "nb", "4.1": "nb", "5.0": "oa"}[version]
    tdir = c.table_dir("node1", "ks1", "t1")
    assert all(f.startswith(prefix + "-") for f in os.listdir(tdir) if simlib.parse_sstable_name(f))
    out = run(c, "node1", "snapshot", "-t", "b1", "ks1")
    assert out == ("Requested creating snapshot(s) for [ks1] with snapshot name [b1] and options "
                   "{skipFlush=false}\nSnapshot directory: b1\n[exit 0]\n")
    m = json.load(open(os.path.join(tdir, "snapshots", "b1", "manifest.json")))
    if version in ("3.11", "4.0"):
        assert list(m) == ["files"]
    else:
        assert list(m) == ["files", "created_at", "expires_at"]
    ls = run(c, "node1", "listsnapshots").splitlines()
    assert ls[0] == "Snapshot Details: "
    cols = {"3.11": 5, "4.0": 5, "4.1": 7, "5.0": 7}[version]
    assert len(re.findall(r"(?:Snapshot name|Keyspace name|Column family name|True size|Size on disk|"
                          r"Creation time|Expiration time)", ls[1])) == cols
    if version == "3.11":
        assert ls[1] == "%-20s%-29s%-29s%-19s%-19s" % ("Snapshot name", "Keyspace name", "Column family name",
                                                        "True size", "Size on disk")
    if version == "4.0":
        real = (SAMPLES / "listsnapshots-4.0.txt").read_text().splitlines()
        assert ls[1].split() == real[1].split()
    if version in ("4.1", "5.0"):
        real = (SAMPLES / "listsnapshots-4.1.txt").read_text().splitlines()
        assert ls[1].split() == real[1].split()
    assert ls[-4:] == ["", "Total TrueDiskSpaceUsed: 0 bytes", "", "[exit 0]"]
    # clearsnapshot without arguments: 3.11 clears everything, 4.0+ refuses
    out = run(c, "node1", "clearsnapshot")
    if version == "3.11":
        assert out == "Requested clearing snapshot(s) for [all keyspaces]\n[exit 0]\n"
        assert not os.path.exists(os.path.join(tdir, "snapshots", "b1"))
    else:
        assert out.startswith("error: Specify snapshot name or --all\n-- StackTrace --\n")
        assert exit_code(out) == 2
        assert os.path.isdir(os.path.join(tdir, "snapshots", "b1"))
        out = run(c, "node1", "clearsnapshot", "--all")
        assert out == "Requested clearing snapshot(s) for [all keyspaces] with [all snapshots]\n[exit 0]\n"
        assert not os.path.exists(os.path.join(tdir, "snapshots", "b1"))
    # refresh deprecation (4.x+) and import (4.0+ only)
    ref = run(c, "node1", "refresh", "ks1", "t1")
    imp = run(c, "node1", "import", "ks1", "t1", "/nonexistent/dir")
    if version == "3.11":
        assert ref == "[exit 0]\n"
        assert imp.startswith("nodetool: Found unexpected parameters: [import")
    else:
        assert ref == sample("refresh.txt")
        assert norm(imp) == norm(sample("import-badpath.txt"))


@pytest.mark.parametrize("version", VERSIONS)
def test_versions_repair(make_cluster, version):
    c = make_cluster("r" + version.replace(".", ""), nodes=3, version=version)
    out = run(c, "node1", "repair", "ks1")
    assert exit_code(out) == 0, out
    lines = out.splitlines()[:-1]
    ts = r"^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}\] "
    assert all(re.match(ts, l) for l in lines)
    assert re.match(ts + r"Starting repair command #1 \([0-9a-f-]{36}\), repairing keyspace ks1 with repair "
                    r"options \(parallelism: parallel, primary range: false, incremental: true, job threads: 1, "
                    r"ColumnFamilies: \[\], dataCenters: \[\], hosts: \[\], ", lines[0])
    assert re.search(r" finished \(progress: \d+%\)$", lines[1])
    if version == "3.11":
        real = (SAMPLES / "repair-3.x.txt").read_text()
        sim = "\n".join(l for l in lines if "Repair session" not in l)
        assert_same_shape(sim, real, extra=[(r"keyspace \w+", "keyspace K")])
        assert "previewKind" not in lines[0]
    else:
        assert lines[0].endswith("force repair: false, optimise streams: false, ignore unreplicated keyspaces: "
                                 "false%s)" % (", repairPaxos: true, paxosOnly: false" if version != "4.0" else ""))
        assert lines[-2].endswith("condition satisfied queried for parent session status and discovered "
                                  "repair completed.")
    rf1 = run(c, "node1", "repair", "ks3") if "ks3" in c.state["keyspaces"] else None
    assert rf1 is None
    c.stop_cassandra("node2")
    out = run(c, "node1", "repair", "-full", "ks1")
    assert exit_code(out) == 2
    port = "" if version == "3.11" else ":7000"
    assert "failed with error Endpoint not alive: /127.0.0.12%s" % port in out
    assert "\nerror: Repair job has failed with the error message: " in out
    assert "\n-- StackTrace --\njava.lang.RuntimeException: Repair job has failed" in out


def test_multi_dc_status_and_ownership(make_cluster):
    c = make_cluster("mdc", dcs="dc1:3,dc2:2", racks=3, version="4.1", keyspaces=1)
    st = run(c, "node1", "status")
    lines = st.splitlines()
    assert lines[0] == "Datacenter: dc1" and lines[1] == "=" * len("Datacenter: dc1")
    i = lines.index("Datacenter: dc2")
    assert lines[i - 1] == ""                                    # blank between datacenters
    # one keyspace only -> effective ownership without naming it; NTS dc1:3 dc2:2 = 100% each
    assert "Owns (effective)" in st and "Note:" not in st
    owns = re.findall(r"  (\d+\.\d)%  ", st)
    assert owns == ["100.0"] * 5
    # header widths shared between the two tables
    headers = [l for l in lines if l.startswith("--")]
    assert len(headers) == 2 and headers[0] == headers[1]
    own = simlib.effective_ownership(c.state, "ks1")
    assert abs(sum(own.values()) - 5.0) < 1e-9


def test_flush_adds_compact_replaces(make_cluster):
    c = make_cluster("fc", nodes=1, version="4.1", sstables=3, sstable_size="8K")
    tdir = c.table_dir("node1", "ks1", "t1")
    before = sstables(tdir)
    assert len(before) == 3
    assert run(c, "node1", "snapshot", "-t", "keep", "ks1") .endswith("[exit 0]\n")
    assert run(c, "node1", "flush", "ks1", "t1") == "[exit 0]\n"
    after = sstables(tdir)
    assert len(after) == 4 and max(after) > max(before)
    assert len(sstables(c.table_dir("node1", "ks1", "t2"))) == 3          # only t1 flushed
    total = sum(os.stat(os.path.join(tdir, e["components"]["Data.db"])).st_size for e in after.values())
    assert run(c, "node1", "compact", "ks1", "t1") == "[exit 0]\n"
    compacted = sstables(tdir)
    assert len(compacted) == 1
    gen, e = next(iter(compacted.items()))
    assert gen > max(after)
    assert os.stat(os.path.join(tdir, e["components"]["Data.db"])).st_size == total
    assert len(e["components"]) == 8
    # the snapshot still holds the old files (hard links survive compaction)
    snap = sstables(os.path.join(tdir, "snapshots", "keep"))
    assert sorted(snap) == sorted(before)
    # generations are never reused
    run(c, "node1", "flush", "ks1", "t1")
    assert max(sstables(tdir)) > gen
    # unknown keyspace
    assert run(c, "node1", "flush", "nope").startswith("nodetool: Keyspace [nope] does not exist.")


def test_import_moves_and_renames(make_cluster, tmp_path):
    c = make_cluster("imp", nodes=1, version="4.1")
    tdir = c.table_dir("node1", "ks1", "t1")
    src = tmp_path / "incoming" / "ks1" / os.path.basename(tdir)       # <ks>/<table>-<id>/
    src.mkdir(parents=True)
    simlib.write_sstable(str(src), "nb", 1, 4096)
    simlib.write_sstable(str(src), "nb", 2, 4096)
    before = set(sstables(tdir))
    assert run(c, "node1", "import", "ks1", "t1", str(src)) == "[exit 0]\n"
    new = set(sstables(tdir)) - before
    assert len(new) == 2 and min(new) > max(before)
    assert set(c.live_sstables("node1", "ks1", "t1")) == before | new
    assert os.listdir(src) == []
    # a flat directory of SSTables names no table: nothing is imported, exit 0, silence
    flat = tmp_path / "flat"
    flat.mkdir()
    simlib.write_sstable(str(flat), "nb", 7, 4096)
    assert run(c, "node1", "import", "ks1", "t1", str(flat)) == "[exit 0]\n"
    assert len(os.listdir(flat)) == 8 and set(sstables(tdir)) == before | new
    log = open(os.path.join(c.node_dir("node1"), "logs", "system.log")).read()
    assert log.rstrip().endswith("SSTableImporter.java:173 - No new SSTables were found for ks1/t1")


def test_load_tracks_bytes(make_cluster):
    c = make_cluster("load", nodes=2, version="4.1", sstables=2, sstable_size="1M")
    ndir = c.node_dir("node1")
    load = simlib.node_load(ndir)
    assert load > 4 * 2 * (1 << 20)
    info = run(c, "node1", "info")
    assert "Load                   : %s\n" % simlib.stringify_file_size(load) in info
    assert simlib.stringify_file_size(444070) == "433.66 KiB"
    assert simlib.stringify_file_size(1001) == "1001 bytes"
    assert simlib.stringify_file_size(5.8 * 1024) == "5.8 KiB"
    assert simlib.stringify_file_size(25 * 1024 * 1024) == "25 MiB"


def test_gen_large_is_streamed(make_cluster):
    c = make_cluster("big", nodes=1, version="4.1", keyspaces=0)
    t0 = time.monotonic()
    simlib.gen_node_data(c.dir, "node1", keyspaces=1, tables=2, gib=0.25)
    assert time.monotonic() - t0 < 20
    tdir = c.table_dir("node1", "gen_ks1", "gen_t1")
    data = sum(os.stat(os.path.join(tdir, e["components"]["Data.db"])).st_size
               for e in sstables(tdir).values())
    assert data == (1 << 30) // 8


def test_concurrent_nodetool_never_sees_half_state(make_cluster):
    c = make_cluster("conc", nodes=3, version="4.1")
    errors = []

    def worker(i):
        for j in range(2):
            out = run(c, "node%d" % (i % 3 + 1), "status")
            if exit_code(out) != 0:
                errors.append(out)
            if j == 0:
                (c.stop_cassandra if i % 2 else c.start_cassandra)("node3")

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not [e for e in errors if "Failed to connect" not in e]
    json.load(open(os.path.join(c.dir, "cluster.json")))


# ---------------------------------------------------------------------------
# processes: sshd, stop, kill, faults
# ---------------------------------------------------------------------------

def test_sshd_start_stop_kill(make_cluster):
    c = make_cluster("ssh", nodes=3, version="4.1", start=False)
    port = c.ssh_port
    c.start_all()
    for n in c.names:
        assert simlib.port_open(c.address(n), port)
    r = c.ssh("node2", c.nodetool_path("node2") + " status")
    assert r.returncode == 0, r.stderr
    assert len(re.findall(r"^UN  127\.0\.0\.1[123] ", r.stdout, re.M)) == 3
    # the exact command line the brief documents
    r = subprocess.run(["ssh", "-i", c.key, "-p", str(port), "-o", "StrictHostKeyChecking=no",
                        "-o", "UserKnownHostsFile=/dev/null", "root@" + c.address("node1"),
                        c.nodetool_path("node1") + " version"], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.startswith("ReleaseVersion: 4.1.0"), r.stderr
    # a wrong key is refused
    other = os.path.join(c.dir, "other_key")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other], check=True)
    bad = c.ssh_argv("node1", "true")
    bad[bad.index(c.key)] = other
    assert subprocess.run(bad, stdin=subprocess.DEVNULL, capture_output=True, timeout=30).returncode == 255
    # stop: DN for everyone else, sshd gone
    c.stop("node2")
    assert not simlib.port_open(c.address("node2"), port)
    assert re.search(r"^DN  127\.0\.0\.12 ", run(c, "node1", "status"), re.M)
    # kill: DN, and a hung nodetool started through ssh dies with the node
    c.fault("node3", "hang")
    p = subprocess.Popen(c.ssh_argv("node3", c.nodetool_path("node3") + " status"), stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ndir = c.node_dir("node3")
        simlib.wait_until(lambda: [q for q in simlib.pids_referencing(ndir) if q != p.pid], timeout=10,
                          what="hung nodetool")
        c.kill("node3")
        assert simlib.wait_until(lambda: not simlib.pids_referencing(ndir + " "), timeout=10, what="killed")
        assert not simlib.port_open(c.address("node3"), port)
        assert re.search(r"^DN  127\.0\.0\.13 ", run(c, "node1", "status"), re.M)
    finally:
        p.kill()
        p.wait()
    # restart works and marks UN again
    c.fault("node3", "none")
    c.start("node3")
    assert re.search(r"^UN  127\.0\.0\.13 ", run(c, "node1", "status"), re.M)


def test_simctl_cli_and_agent_hook(tmp_path):
    d = tmp_path / "cli"
    simctl = [str(SIM / "simctl")]
    fake_agent = tmp_path / "fake-agent"
    fake_agent.write_text("#!/bin/sh\necho \"agent $@\"\nexec sleep 300\n")
    fake_agent.chmod(0o755)
    c = simlib.SimCluster(d)
    try:
        r = subprocess.run(simctl + ["create", str(d), "--cluster", "cli", "--nodes", "2", "--version", "5.0",
                                     "--dc", "dc9", "--racks", "2", "--keyspaces", "1", "--tables", "1",
                                     "--sstables", "1", "--sstable-size", "4K", "--base-address", "127.0.0.41"],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        (d / "nodes" / "node1" / "agent.conf").write_text("x=1\n")
        r = subprocess.run(simctl + ["start", str(d), "node1", "--agent", str(fake_agent)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        ndir = d / "nodes" / "node1"
        pid = simlib.read_pid(str(ndir / "agent.pid"))
        assert pid and simlib.pid_alive(pid)
        simlib.wait_until(lambda: "agent -d -f %s" % (ndir / "agent.conf") in (ndir / "agent.log").read_text(),
                          timeout=10, what="agent log")
        st = subprocess.run(simctl + ["status", str(d)], capture_output=True, text=True).stdout
        assert re.search(r"node1 .*UN .*sshd:up agent:up", st) and re.search(r"node2 .*DN .*sshd:down", st)
        out = run(c, "node1", "status")
        assert "Datacenter: dc9" in out and "DN  127.0.0.42" in out
        assert subprocess.run(simctl + ["stop-cassandra", str(d), "node1"]).returncode == 0
        assert "Failed to connect" in run(c, "node1", "status")
        assert subprocess.run([str(ndir / "bin" / "cassandra-start")]).returncode == 0
        assert exit_code(run(c, "node1", "status")) == 0
        assert subprocess.run(simctl + ["stop", str(d), "node1"]).returncode == 0
        simlib.wait_until(lambda: not simlib.pid_alive(pid), timeout=10, what="agent stopped")
        assert "free-port" in subprocess.run(simctl + ["--help"], capture_output=True, text=True).stdout
        port = int(subprocess.run(simctl + ["free-port", "127.0.0.41", "127.0.0.42"], capture_output=True,
                                  text=True).stdout)
        assert 0 < port < 65536
    finally:
        c.cleanup()


def test_fault_modes(make_cluster):
    c = make_cluster("faults", nodes=2, version="4.1")
    # fail
    c.fault("node1", "fail", message="Operation timed out - received only 0 responses.")
    out = run(c, "node1", "status")
    assert out.startswith("error: Operation timed out - received only 0 responses.\n-- StackTrace --\n")
    assert exit_code(out) == 2
    # only one command
    c.fault("node1", "fail", command="repair")
    assert exit_code(run(c, "node1", "status")) == 0
    assert exit_code(run(c, "node1", "repair", "ks1")) == 2
    # garbage: exit 0, but not nodetool's format
    c.fault("node1", "garbage")
    out = run(c, "node1", "status")
    assert exit_code(out) == 0 and "Datacenter:" not in out and out.strip() != "[exit 0]"
    # slow
    c.fault("node1", "slow", delay=0.4)
    t0 = time.monotonic()
    assert exit_code(run(c, "node1", "version")) == 0
    assert time.monotonic() - t0 >= 0.4
    # hang: never returns, killable
    c.fault("node1", "hang", command="snapshot")
    assert exit_code(run(c, "node1", "version")) == 0
    p = subprocess.Popen([c.nodetool_path("node1"), "snapshot", "-t", "x"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    with pytest.raises(subprocess.TimeoutExpired):
        p.wait(timeout=0.7)
    p.send_signal(signal.SIGTERM)
    assert p.wait(timeout=5) != 0
    c.fault("node1", "none")
    assert exit_code(run(c, "node1", "snapshot", "-t", "x")) == 0
    # simctl fault stores it in node.json
    r = subprocess.run([str(SIM / "simctl"), "fault", c.dir, "node2", "slow", "--command", "info",
                        "--delay", "0.1"], capture_output=True, text=True)
    assert r.returncode == 0 and c.node("node2")["fault"] == {"mode": "slow", "command": "info", "delay": 0.1}


def test_add_node_replace_and_states(make_cluster):
    c = make_cluster("repl", nodes=3, version="4.1")
    c.kill("node3")
    dead = c.node("node3")
    nj = c.add_node("node4", replace="node3")
    assert nj["tokens"] == dead["tokens"] and nj["replace_address"] == dead["address"]
    st = run(c, "node1", "status")
    assert re.search(r"^UJ  127\.0\.0\.14 ", st, re.M) is None       # Joining, but not started yet: DJ
    assert re.search(r"^DJ  127\.0\.0\.14 ", st, re.M)
    c.start_cassandra("node4")           # replacement done: the dead node leaves the ring
    st = run(c, "node1", "status")
    assert re.search(r"^UN  127\.0\.0\.14 ", st, re.M) and "127.0.0.13" not in st
    assert c.names == ["node1", "node2", "node4"]
    # a plain new node bootstraps for bootstrap_seconds, then is Normal
    c.add_node("node5")
    subprocess.run([str(SIM / "simctl"), "set", c.dir, "node5", "bootstrap_seconds", "3"], check=True)
    c.start_cassandra("node5")
    assert re.search(r"^UJ  127\.0\.0\.1[35] ", run(c, "node1", "status"), re.M)
    simlib.wait_until(lambda: re.search(r"^UN  127\.0\.0\.1[35] ", run(c, "node1", "status"), re.M),
                      timeout=10, what="node5 Normal")
    simlib.remove_node(c.dir, "node5")
    assert c.names == ["node1", "node2", "node4"]
    simlib.set_node_state(c.dir, "node2", status="Leaving")
    assert re.search(r"^UL  127\.0\.0\.12 ", run(c, "node1", "status"), re.M)
    assert "\tLeaving: 1\n" in run(c, "node1", "describecluster")


def test_drain_stopdaemon_backups_and_print_port(make_cluster):
    c = make_cluster("drain", nodes=2, version="4.1")
    assert run(c, "node2", "-pp", "status").count("127.0.0.11:7000") == 1
    # incremental backups: a flushed SSTable is hard-linked into backups/
    assert run(c, "node1", "statusbackup") == "not running\n[exit 0]\n"
    assert run(c, "node1", "enablebackup") == "[exit 0]\n"
    assert run(c, "node1", "statusbackup") == "running\n[exit 0]\n"
    run(c, "node1", "flush", "ks1", "t1")
    tdir = c.table_dir("node1", "ks1", "t1")
    newest = max(sstables(tdir))
    bk = sstables(os.path.join(tdir, "backups"))
    assert list(bk) == [newest]
    f = bk[newest]["components"]["Data.db"]
    assert os.stat(os.path.join(tdir, f)).st_ino == os.stat(os.path.join(tdir, "backups", f)).st_ino
    # drain: gossip and native transport stop, the others see it down
    assert run(c, "node1", "drain") == "[exit 0]\n"
    assert run(c, "node1", "statusgossip") == "not running\n[exit 0]\n"
    assert run(c, "node1", "statusbinary") == "not running\n[exit 0]\n"
    assert re.search(r"^DN  127\.0\.0\.11 ", run(c, "node2", "status"), re.M)
    # stopdaemon: the process ends, JMX refuses
    assert run(c, "node1", "stopdaemon") == "Cassandra has shutdown.\n[exit 0]\n"
    assert "Failed to connect to '127.0.0.1:7199'" in run(c, "node1", "info")
    c.start_cassandra("node1")
    assert run(c, "node1", "statusgossip") == "running\n[exit 0]\n"
    assert re.search(r"^UN  127\.0\.0\.11 ", run(c, "node2", "status"), re.M)


# ---------------------------------------------------------------------------
# sim and real agree: each rule the product depends on, run against the
# simulated node and against a real Cassandra 4.1.1 node (tests/e2e/realcass.py),
# with the same assertions.  The real pair is shared by the whole module.
# ---------------------------------------------------------------------------

import realcass  # noqa: E402

AGREE_SCHEMA = {"shop": {"replication": {"class": "SimpleStrategy", "replication_factor": 2},
                         "tables": ["customers", "orders"]}}
_tags = iter(range(1, 10 ** 6))


def new_tag(what):
    return "%s%d" % (what, next(_tags))


class SimBackend:
    """Nodes "a" and "b" of a two-node simulated 4.1 cluster."""
    kind = "sim"

    def __init__(self, c):
        self.c = c
        self.names = {"a": "node1", "b": "node2"}

    def nodetool(self, node, *args):
        return self.c.nodetool(self.names[node], *args, timeout=60)

    def table_dir(self, node, ks, table):
        return Path(self.c.table_dir(self.names[node], ks, table))

    def table_root(self, node):
        return Path(self.c.data_dir(self.names[node]))

    def log_text(self, node):
        p = Path(self.c.node_dir(self.names[node])) / "logs" / "system.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def address(self, node):
        return self.c.address(self.names[node])

    def break_snapshot_of(self, node, ks, table):
        self.c.fault(self.names[node], "snapshot-partial:1")

    def unbreak_snapshot_of(self, node, ks, table):
        self.c.fault(self.names[node], "none")

    def start_fresh_self_seeded(self):
        """A new node whose seeds name only itself; returns (name, address)."""
        nj = self.c.add_node("node3")
        self.c.set_seeds("node3", [nj["address"]])
        self.c.start_cassandra("node3")
        self.names["c"] = "node3"
        return "c", nj["address"]

    def discard(self, node):
        simlib.remove_node(self.c.dir, self.names.pop(node))

    def restart_with_seeds(self, node, seed_nodes):
        name = self.names[node]
        self.c.stop_cassandra(name)
        self.c.set_seeds(name, [self.address(n) for n in seed_nodes])
        self.c.start_cassandra(name)


class RealBackend:
    kind = "real"

    def __init__(self, net, base, n1, n2):
        self.net, self.base = net, base
        self.nodes = {"a": n1, "b": n2}
        self._away = None

    def nodetool(self, node, *args):
        return self.nodes[node].nodetool(*args, check=False)

    def table_dir(self, node, ks, table):
        return self.nodes[node].table_dir(ks, table)

    def table_root(self, node):
        return self.nodes[node].table_root

    def log_text(self, node):
        p = self.nodes[node].dir / "logs" / "system.log"
        return p.read_text(errors="replace") if p.exists() else ""

    def address(self, node):
        return self.nodes[node].address

    def break_snapshot_of(self, node, ks, table):
        """A file where the table's snapshots/ directory belongs: the snapshot of that
        table fails (captured: "Unable to create directory ...")."""
        snaps = self.table_dir(node, ks, table) / "snapshots"
        if snaps.exists():
            self._away = snaps.with_name("snapshots.away")
            snaps.rename(self._away)
        snaps.write_text("")

    def unbreak_snapshot_of(self, node, ks, table):
        snaps = self.table_dir(node, ks, table) / "snapshots"
        if snaps.is_file():
            snaps.unlink()
        if self._away is not None:
            self._away.rename(snaps)
            self._away = None

    def start_fresh_self_seeded(self):
        n3 = self.net.node(self.base, "n3")
        n3.setup(seeds=[n3.address])
        n3.start()
        self.nodes["c"] = n3
        return "c", n3.address

    def discard(self, node):
        self.nodes.pop(node).kill()

    def restart_with_seeds(self, node, seed_nodes):
        nd = self.nodes[node]
        nd.stop()
        nd.setup(seeds=[self.address(n) for n in seed_nodes], force=True)
        nd.start()


@pytest.fixture(scope="module")
def sim_pair(tmp_path_factory):
    c = simlib.SimCluster.create(tmp_path_factory.mktemp("agree") / "sim", nodes=2, version="4.1",
                                 base_address="127.0.0.41", keyspace_defs=AGREE_SCHEMA,
                                 sstables=1, sstable_size="16K")
    try:
        for n in c.names:
            c.start_cassandra(n)
        yield SimBackend(c)
    finally:
        c.cleanup()


@pytest.fixture(scope="module")
def real_pair(tmp_path_factory):
    ok, why = realcass.available()
    if not ok:
        pytest.skip("no real Cassandra here: " + why)
    net = realcass.RealNet.acquire()
    try:
        base = tmp_path_factory.mktemp("real")
        n1, n2 = net.node(base, "n1"), net.node(base, "n2")
        n1.setup(seeds=[n1.address])
        n2.setup(seeds=[n1.address])
        n1.start()
        try:
            n2.start()
        except realcass.RealError:
            # on a loaded host the first gossip round can time out ("Unable to gossip
            # with any peers"): one more try from an empty node
            n2.kill()
            n2.wipe()
            n2.start()
        realcass.wait_status(n1, n2.address, "UN")
        rows = " ".join("INSERT INTO shop.customers (id, name) VALUES (%d, 'c%d');" % (i, i) for i in range(50))
        n1.cqlsh("CREATE KEYSPACE shop WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2};"
                 "CREATE TABLE shop.customers (id int PRIMARY KEY, name text);"
                 "CREATE TABLE shop.orders (id int PRIMARY KEY, total int);"
                 "BEGIN UNLOGGED BATCH " + rows + " APPLY BATCH;"
                 "INSERT INTO shop.orders (id, total) VALUES (1, 10);")
        for nd in (n1, n2):
            nd.nodetool("flush", "shop")
            # the tests count SSTables after imports; size-tiered compaction would merge
            # them behind their back (the sim never compacts user tables on its own)
            nd.nodetool("disableautocompaction", "shop")
        yield RealBackend(net, base, n1, n2)
    finally:
        net.close()


@pytest.fixture(params=["sim", "real"])
def backend(request):
    return request.getfixturevalue(request.param + "_pair")


def ok(p):
    assert p.returncode == 0, "exit %d\n%s\n%s" % (p.returncode, p.stdout, p.stderr)
    return p


def sstable_count(b, node, ks, table):
    """'SSTable count' of ks.table in `nodetool tablestats ks.table`."""
    out = ok(b.nodetool(node, "tablestats", "%s.%s" % (ks, table))).stdout
    m = re.search(r"^\t\tSSTable count: (\d+)$", out, re.M)
    assert m, out
    return int(m.group(1))


def data_files(d):
    return sorted(f.name for f in Path(d).iterdir() if f.name.endswith("-Data.db"))


def snapshot_source(b, node, ks="shop", table="customers"):
    """A fresh snapshot of ks.table: (its directory, the SSTable files in it)."""
    tag = new_tag("src")
    ok(b.nodetool(node, "snapshot", "-t", tag, "-kt", "%s.%s" % (ks, table)))
    d = b.table_dir(node, ks, table) / "snapshots" / tag
    files = sorted(f for f in d.iterdir() if re.match(r"^[a-z]{2}-\d+-big-", f.name))
    assert any(f.name.endswith("-Data.db") for f in files), sorted(os.listdir(d))
    return d, files


def stage(files, dest):
    dest.mkdir(parents=True, exist_ok=True)
    for f in files:
        shutil.copyfile(f, dest / f.name)
    return dest


def test_agree_import_loads_a_staging_tree_under_the_data_dir(backend):
    """<data dir>/.rm-restore-<id>/<ks>/<table>-<id>/: the dot is on an ancestor, so the
    last two components name the table: the files are moved in under new generations."""
    b = backend
    _src, files = snapshot_source(b, "a")
    tdir = b.table_dir("a", "shop", "customers")
    st = stage(files, b.table_root("a") / (".rm-restore-" + new_tag("t")) / "shop" / tdir.name)
    n = sum(f.name.endswith("-Data.db") for f in files)
    live_before, count_before = data_files(tdir), sstable_count(b, "a", "shop", "customers")
    p = b.nodetool("a", "import", "shop", "customers", str(st))
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    assert os.listdir(st) == []                                       # moved, not copied
    assert sstable_count(b, "a", "shop", "customers") == count_before + n
    new = set(data_files(tdir)) - set(live_before)
    assert len(new) == n and not new & {f.name for f in files}        # new generations


@pytest.mark.parametrize("where", ["dot-dir-in-table-dir", "flat-dir", "other-table-dir", "other-keyspace-dir"])
def test_agree_import_finds_nothing_silently(backend, tmp_path, where):
    """Directories whose last two components do not name <ks>/<table>: exit 0, nothing
    printed, nothing moved, nothing loaded; system.log says so."""
    b = backend
    _src, files = snapshot_source(b, "a")
    tdir = b.table_dir("a", "shop", "customers")
    tag = new_tag("n")
    dest = {"dot-dir-in-table-dir": tdir / (".rm-restore-" + tag),
            "flat-dir": tmp_path / tag,
            "other-table-dir": tmp_path / tag / "shop" / b.table_dir("a", "shop", "orders").name,
            "other-keyspace-dir": tmp_path / tag / "other" / tdir.name}[where]
    st = stage(files, dest)
    count_before = sstable_count(b, "a", "shop", "customers")
    said = b.log_text("a").count("No new SSTables were found for shop/customers")
    try:
        p = b.nodetool("a", "import", "shop", "customers", str(st))
        assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
        assert sorted(os.listdir(st)) == sorted(f.name for f in files)
        assert sstable_count(b, "a", "shop", "customers") == count_before
        assert b.log_text("a").count("No new SSTables were found for shop/customers") == said + 1
    finally:
        if where == "dot-dir-in-table-dir":
            for f in st.iterdir():
                f.unlink()
            st.rmdir()


def test_agree_import_table_dir_without_id_and_copy_data(backend, tmp_path):
    """`<ks>/<table>` (no id) names the table too; --copy-data leaves the source; `-ci`
    is not an option in 4.1.1 (taken for the keyspace)."""
    b = backend
    _src, files = snapshot_source(b, "a")
    n = sum(f.name.endswith("-Data.db") for f in files)
    count = sstable_count(b, "a", "shop", "customers")
    st = stage(files, tmp_path / "plain" / "shop" / "customers")
    assert ok(b.nodetool("a", "import", "shop", "customers", str(st))).stdout == ""
    assert os.listdir(st) == [] and sstable_count(b, "a", "shop", "customers") == count + n
    st2 = stage(files, tmp_path / "copy" / "shop" / b.table_dir("a", "shop", "customers").name)
    assert ok(b.nodetool("a", "import", "--copy-data", "shop", "customers", str(st2))).stdout == ""
    assert sorted(os.listdir(st2)) == sorted(f.name for f in files)
    assert sstable_count(b, "a", "shop", "customers") == count + 2 * n
    p = b.nodetool("a", "import", "-ci", "shop", "customers", str(st2))
    assert (p.returncode, p.stdout, p.stderr) == (1, "", "ColumnFamilyStore for -ci/shop not found.\n")


def test_agree_import_errors(backend):
    b = backend
    p = b.nodetool("a", "import", "shop", "customers", "/nonexistent/rm-dir")
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.startswith("error: Directory /nonexistent/rm-dir does not exist\n-- StackTrace --\n"
                               "java.lang.RuntimeException: Directory /nonexistent/rm-dir does not exist\n"
                               "\tat org.apache.cassandra.db.SSTableImporter.getSSTableListers("), p.stderr
    p = b.nodetool("a", "import", "shop", "nosuch", "/tmp")
    assert (p.returncode, p.stdout, p.stderr) == (1, "", "ColumnFamilyStore for shop/nosuch not found.\n")


def test_agree_refresh_loads_files_put_in_the_table_dir(backend):
    """Files copied into the live directory are not served until `refresh`, which loads
    them under new generations."""
    b = backend
    _src, files = snapshot_source(b, "a")
    n = sum(f.name.endswith("-Data.db") for f in files)
    tdir = b.table_dir("a", "shop", "customers")
    count = sstable_count(b, "a", "shop", "customers")
    for f in files:
        shutil.copyfile(f, tdir / re.sub(r"^([a-z]{2})-(\d+)-", lambda m: "%s-%d-" % (m.group(1), 9000 + int(m.group(2))),
                                     f.name))
    assert sstable_count(b, "a", "shop", "customers") == count           # not live yet
    p = ok(b.nodetool("a", "refresh", "shop", "customers"))
    assert (p.stdout, p.stderr) == ("nodetool refresh is deprecated, use nodetool import instead\n", "")
    assert sstable_count(b, "a", "shop", "customers") == count + n
    assert not list(tdir.glob("*-9[0-9][0-9][0-9]-big-*"))                  # renamed
    p = b.nodetool("a", "refresh", "shop", "nosuch")
    assert (p.returncode, p.stdout) == (1, "nodetool refresh is deprecated, use nodetool import instead\n"
                                           "nodetool: Unknown keyspace/cf pair (shop.nosuch)\n"
                                           "See 'nodetool help' or 'nodetool help <command>'.\n")


def test_agree_snapshot_failing_partway_and_duplicate_tag(backend):
    """A snapshot that fails on its second table: exit 2 with a server error, the first
    table's snapshot is there (manifest and all), the second has none.  The same tag
    again fails as a duplicate."""
    b = backend
    tag = new_tag("part")
    cust, orders = b.table_dir("a", "shop", "customers"), b.table_dir("a", "shop", "orders")
    b.break_snapshot_of("a", "shop", "orders")
    try:
        p = b.nodetool("a", "snapshot", "-t", tag, "-kt", "shop.customers,shop.orders")
    finally:
        b.unbreak_snapshot_of("a", "shop", "orders")
    assert p.returncode == 2
    assert p.stdout == ("Requested creating snapshot(s) for [shop.customers,shop.orders] with snapshot name "
                        "[%s] and options {skipFlush=false}\n" % tag)
    assert re.match(r"error: Unable to create directory \S+/shop/orders-[0-9a-f]{32}/snapshots/%s\n"
                    r"-- StackTrace --\njava\.io\.IOException: Unable to create directory " % tag, p.stderr), p.stderr
    assert (cust / "snapshots" / tag / "manifest.json").is_file()
    assert data_files(cust / "snapshots" / tag)
    assert not (orders / "snapshots" / tag).exists()
    p = b.nodetool("a", "snapshot", "-t", tag, "shop")
    assert p.returncode == 2
    assert p.stderr.startswith("error: Snapshot %s already exists.\n-- StackTrace --\n"
                               "java.io.IOException: Snapshot %s already exists.\n" % (tag, tag)), p.stderr
    ok(b.nodetool("a", "clearsnapshot", "-t", tag))
    assert not (cust / "snapshots" / tag).exists()


def all_data_files(root):
    return {str(d.relative_to(root)): set(data_files(d)) for d in Path(root).glob("*/*-*") if d.is_dir()}


def test_agree_system_tables_change_between_snapshots(backend):
    """A snapshot of every keyspace flushes the system tables that have data of their
    own (after a start: system.local, size estimates, ...): new system SSTables, none in
    user tables.  "Nothing changed, nothing to upload" holds for user tables only."""
    b = backend
    root = b.table_root("b")
    before = all_data_files(root)
    tag = new_tag("all")
    ok(b.nodetool("b", "snapshot", "-t", tag))
    after = all_data_files(root)
    changed = sorted(k for k in after if after[k] - before.get(k, set()))
    assert any(k.startswith("system/local-") for k in changed), changed
    assert all(k.startswith("system") for k in changed), changed
    assert (b.table_dir("b", "system", "local") / "snapshots" / tag / "manifest.json").is_file()
    ok(b.nodetool("b", "clearsnapshot", "-t", tag))


TABLESTATS_KEYS = [ln.split(":")[0] for ln in (REAL / "tablestats-shop.txt").read_text().split("\t\tTable: orders")[0]
                   .splitlines() if ":" in ln]


def test_agree_tablestats_layout_and_space_used(backend):
    b = backend
    out = ok(b.nodetool("a", "tablestats", "shop.customers")).stdout
    lines = out.splitlines()
    assert re.match(r"^Total number of tables: \d+$", lines[0]) and lines[1] == "-" * 16
    assert [ln.split(":")[0] for ln in lines if ":" in ln] == TABLESTATS_KEYS
    assert lines[-2:] == ["", "-" * 16]
    # Space used (live) = every component of the live SSTables
    tdir = b.table_dir("a", "shop", "customers")
    live = int(re.search(r"^\t\tSpace used \(live\): (\d+)$", out, re.M).group(1))
    gens = {f.split("-")[1] for f in data_files(tdir)}
    assert live == sum(f.stat().st_size for f in tdir.iterdir()
                       if f.is_file() and f.name.count("-") >= 3 and f.name.split("-")[1] in gens)
    human = ok(b.nodetool("a", "tablestats", "-H", "shop.customers")).stdout
    assert "\t\tMemtable data size: 0 bytes\n" in human and "\t\tDropped Mutations: 0 bytes\n" in human
    for args, msg in ((["nosuch"], "Unknown keyspace: nosuch"),
                      (["shop.nosuch"], "Unknown tables: [nosuch] in keyspace: shop")):
        p = b.nodetool("a", "tablestats", *args)
        assert (p.returncode, p.stdout) == (1, "nodetool: %s\nSee 'nodetool help' or 'nodetool help <command>'.\n"
                                            % msg)


def listed(b, node):
    out = ok(b.nodetool(node, "status")).stdout
    return {f[1]: f[0] for f in (ln.split() for ln in out.splitlines())
            if len(f) > 2 and re.match(r"^[UD][NLJM]$", f[0])}


def test_agree_seeds_fresh_self_seeded_node_and_existing_member(backend):
    """A fresh node whose seeds name only itself forms its own one-node ring the others
    never see; an existing member restarted with itself as seed rejoins its ring."""
    b = backend
    a, bb = b.address("a"), b.address("b")
    name, addr = b.start_fresh_self_seeded()
    try:
        assert listed(b, name) == {addr: "UN"}
        assert listed(b, "a") == {a: "UN", bb: "UN"}
    finally:
        b.discard(name)
    b.restart_with_seeds("b", ["b"])
    simlib.wait_until(lambda: listed(b, "a").get(bb) == "UN", timeout=120, cap=2, what="b UN in a's view")
    assert listed(b, "b") == {a: "UN", bb: "UN"}


def test_sim_nodetool_delay_knob(tmp_path):
    c = simlib.SimCluster.create(tmp_path / "d", nodes=1, keyspaces=1, tables=1, sstables=0,
                                 nodetool_delay_ms=250)
    with c:
        c.start_cassandra("node1")
        assert c.node("node1")["nodetool_delay_ms"] == 250
        t0 = time.monotonic()
        assert c.nodetool("node1", "version").returncode == 0
        assert time.monotonic() - t0 >= 0.25
        r = subprocess.run([str(SIM / "simctl"), "set", c.dir, "node1", "nodetool_delay_ms", "0"],
                           capture_output=True, text=True)
        assert r.returncode == 0 and c.node("node1")["nodetool_delay_ms"] == 0
        r = subprocess.run([str(SIM / "simctl"), "set", c.dir, "node1", "nodetool_delay_ms", "-5"],
                           capture_output=True, text=True)
        assert r.returncode == 1 and "bad value -5" in r.stderr
        r = subprocess.run([str(SIM / "simctl"), "set", c.dir, "node1", "no_such_knob", "1"],
                           capture_output=True, text=True)
        assert r.returncode == 1 and "unknown knob 'no_such_knob'" in r.stderr
    r = subprocess.run([str(SIM / "simctl"), "create", str(tmp_path / "e"), "--nodes", "1", "--keyspaces", "0",
                        "--sstables", "0", "--nodetool-delay-ms", "700"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert simlib.load_node(str(tmp_path / "e" / "nodes" / "node1"))["nodetool_delay_ms"] == 700


def test_sim_churn_seeds_and_partial_fault_cli(make_cluster):
    c = make_cluster("churn", nodes=2, version="4.1", keyspaces=1, tables=2)
    root = c.data_dir("node1")
    act = c.table_dir("node1", "system", "sstable_activity")
    # right after a snapshot of everything, nothing new; after the interval, sstable_activity
    assert exit_code(run(c, "node1", "snapshot", "-t", "s1")) == 0
    before = all_data_files(root)
    assert exit_code(run(c, "node1", "snapshot", "-t", "s2")) == 0
    assert all_data_files(root) == before
    c.set("node1", "system_churn_interval", 0.2)
    time.sleep(0.3)
    assert exit_code(run(c, "node1", "flush", "system", "sstable_activity")) == 0
    assert len(data_files(act)) == 2
    # a churning system table reaching 4 SSTables is compacted into one, which writes
    # to compaction_history (flushed in the same pass)
    hist = c.table_dir("node1", "system", "compaction_history")
    n_hist = len(data_files(hist))
    for _ in range(2):
        time.sleep(0.3)
        run(c, "node1", "flush", "system")
    assert len(data_files(act)) == 1
    assert len(data_files(hist)) == n_hist + 1
    # -sf skips the flush
    time.sleep(0.3)
    before = all_data_files(root)
    assert exit_code(run(c, "node1", "snapshot", "-sf", "-t", "s3")) == 0
    assert all_data_files(root) == before
    # seeds: printed and rewritten by simctl; a fresh node none of whose seeds is up and
    # that is not its own seed cannot start
    simctl = [str(SIM / "simctl")]
    r = subprocess.run(simctl + ["seeds", c.dir, "node2"], capture_output=True, text=True)
    assert (r.returncode, r.stdout) == (0, "127.0.0.11\n")
    assert '      - seeds: "127.0.0.11:7000"\n' in open(os.path.join(c.node_dir("node2"), "conf",
                                                              "cassandra.yaml")).read()
    c.add_node("node3")
    assert subprocess.run(simctl + ["seeds", c.dir, "node3", "127.0.0.99"]).returncode == 0
    r = subprocess.run(simctl + ["start-cassandra", c.dir, "node3"], capture_output=True, text=True)
    assert r.returncode == 1 and "Unable to contact any seeds: [/127.0.0.99:7000]" in r.stderr
    assert "Failed to connect" in run(c, "node3", "status")
    # a fresh node seeded by a running member joins its ring
    assert subprocess.run(simctl + ["seeds", c.dir, "node3", "127.0.0.12"]).returncode == 0
    assert subprocess.run(simctl + ["start-cassandra", c.dir, "node3"]).returncode == 0
    assert re.search(r"^UN  127\.0\.0\.13 ", run(c, "node1", "status"), re.M)
    # snapshot-partial through the CLI
    r = subprocess.run(simctl + ["fault", c.dir, "node1", "snapshot-partial:x"], capture_output=True, text=True)
    assert r.returncode == 1 and "snapshot-partial[:N]" in r.stderr
    assert subprocess.run(simctl + ["fault", c.dir, "node1", "snapshot-partial:1"]).returncode == 0
    assert c.node("node1")["fault"] == {"mode": "snapshot-partial", "tables": 1, "command": "snapshot"}
    out = run(c, "node1", "snapshot", "-t", "p", "ks1")
    assert exit_code(out) == 2 and "error: Unable to create directory " in out
    done = [t for t in ("t1", "t2") if os.path.isdir(os.path.join(c.table_dir("node1", "ks1", t), "snapshots", "p"))]
    assert done == ["t1"]
    assert exit_code(run(c, "node1", "status")) == 0          # other commands unaffected
