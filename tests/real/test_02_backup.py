"""Backups of real nodes: what the node manifests list against the SSTables
Cassandra wrote, deduplication of user tables between two backups, and
verification.  The backups made here are the ones the restore tests load.

Real Cassandra writes SSTables of system tables on its own between two
backups (size_estimates, sstable_activity, compaction history...), so every
count here is about the user keyspace `shop` only.
"""
import hashlib
import json

from realenv import CL, KS, load_data, flush_all


def sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def shop_entries(nm):
    return [f for f in nm["files"] if f["keyspace"] == KS]


def no_snapshot_left(real):
    for n in real.nodes:
        left = [str(p) for p in n.real.table_root.glob("*/*/snapshots/rm-*")]
        assert not left, f"{n.name} still has backup snapshots: {left}"


def test_first_backup_is_complete_and_lists_every_user_sstable(real):
    t = real.run("backup", timeout=300)
    items = real.backups()
    assert items and items[0]["state"] == "complete", items
    b = items[0]
    assert b["task_id"] == t["id"] and b["nodes"] == 3, b
    real.backup_ids.append(b["id"])
    manifests = real.node_manifests(b["id"])
    assert set(manifests) == {n.address for n in real.nodes}
    for n in real.nodes:
        nm = manifests[n.address]
        assert nm["host_id"] == real.host_ids[n.name] and nm["cassandra_version"] == "4.1.1", nm
        live = real.live_files(n)
        got = {(f["table_dir"], f["name"]): f for f in shop_entries(nm)}
        assert set(got) == set(live), (n.name, sorted(set(got) ^ set(live)))
        assert any(name.endswith("-Data.db") for _, name in got), got
        for k, f in got.items():
            assert f["size"] == live[k].stat().st_size and f["sha256"] == sha(live[k]), f
            assert real.obj(f["key"]).stat().st_size == f["size"], f["key"]
        tables = {tb["table_dir"].rsplit("-", 1)[0] for tb in nm["tables"] if tb["keyspace"] == KS}
        assert tables == {"orders", "customers", "items"}, nm["tables"]
    no_snapshot_left(real)


def test_second_backup_uploads_only_the_new_user_sstables(real):
    before = {n.name: set(real.live_files(n)) for n in real.nodes}
    more = {"orders": 300, "customers": 60, "items": 150}
    load_data(real.nodes[0].real, real.tmp, start=100000, rows=more)
    flush_all(real)
    new = {}
    for n in real.nodes:
        new[n.name] = set(real.live_files(n)) - before[n.name]
        assert new[n.name], f"{n.name}: the flush wrote no new SSTable"
    for t, c in more.items():
        real.rows[t] += c
    t = real.run("backup", timeout=300)
    b = real.backups()[0]
    assert b["task_id"] == t["id"] and b["state"] == "complete", b
    real.backup_ids.append(b["id"])
    manifests = real.node_manifests(b["id"])
    # what was PUT for shop, per node, against what the flush wrote
    hosts = {real.host_ids[n.name]: n.name for n in real.nodes}
    put = {n.name: set() for n in real.nodes}
    for key, _size in real.journal_puts(b["id"]):
        parts = key.split("/")
        # <cluster>/data/<host id>/<keyspace>/<table dir>/<file>
        if len(parts) == 6 and parts[0] == CL and parts[1] == "data" and parts[3] == KS:
            put[hosts[parts[2]]].add((parts[4], parts[5]))
    for n in real.nodes:
        assert put[n.name] == new[n.name], (n.name, sorted(put[n.name] ^ new[n.name]))
        nm = manifests[n.address]
        fresh = {(f["table_dir"], f["name"]) for f in shop_entries(nm) if not f.get("reused")}
        assert fresh == new[n.name], (n.name, sorted(fresh ^ new[n.name]))
        assert {(f["table_dir"], f["name"]) for f in shop_entries(nm)} == set(real.live_files(n))
    no_snapshot_left(real)


def test_verify_of_the_newest_backup_succeeds(real):
    bid = real.backup_ids[-1]
    for download in (False, True):
        t = real.run("verify", backup_id=bid, download=download, timeout=300)
        # the report the task wrote to the store, not the step's message
        # (which can still show a late progress line)
        rep = real.obj(f"{CL}/backups/{bid}/verify/{t['id']}.json")
        assert rep.exists(), f"verify wrote no report at {rep}"
        report = json.loads(rep.read_text())
        assert report["files"] > 0 and report["missing"] == [] and report["corrupt"] == [], report
    assert real.backups()[0]["state"] == "complete"
