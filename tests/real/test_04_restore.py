"""Restores into real nodes, loaded by Cassandra's own `nodetool import`
(the defect: files were staged in <table dir>/.rm-restore-<id>/, which
import takes for an index directory: it exits 0, prints nothing and loads
nothing).  Success is judged by Cassandra: rows at CONSISTENCY ALL and the
live SSTable count `nodetool tablestats` reports, never the task's word."""
import hashlib
import shutil

from realenv import KS, TABLES, realcass, sstable_count, wait_until


def sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def no_staging_left(real):
    for n in real.nodes:
        left = [str(p) for p in n.real.data_dir.rglob(".rm-restore-*")]
        assert not left, f"{n.name}: staging left behind: {left}"


def test_restore_of_a_truncated_table_brings_every_row_back(real):
    want = real.rows["orders"]
    assert real.count("orders") == want
    real.nodes[0].real.cqlsh(f"TRUNCATE {KS}.orders;", request_timeout=120, timeout=200)
    assert real.count("orders") == 0
    for n in real.nodes:
        assert sstable_count(n, "orders") == 0, n.name
    t = real.run("restore", backup_id=real.backup_ids[-1], tables=[f"{KS}.orders"], timeout=300)
    assert [s["name"] for s in t["steps"]] == ["map", "space", "restore"], t["steps"]
    for n in real.nodes:
        assert sstable_count(n, "orders") > 0, f"{n.name}: Cassandra loaded nothing"
    assert real.count("orders") == want
    assert real.count("customers") == real.rows["customers"]
    no_staging_left(real)


def test_restore_of_a_node_whose_files_were_wiped(real):
    """n2 is drained and stopped, its shop SSTables deleted (and its commit
    log, which could otherwise replay the rows and hide a restore that
    loaded nothing), then started empty; the restore onto n2 alone must
    give its tables back.  No read touches shop before the restore is
    checked on n2 itself: a read at ALL would repair n2 from its peers."""
    n2 = real.node("n2")
    bid = real.backup_ids[-1]
    nm = real.node_manifests(bid)[n2.address]
    n2.real.nodetool("drain", timeout=180)
    n2.real.stop(timeout=120)
    for f in real.live_files(n2).values():
        f.unlink()
    for sub in ("commitlog", "saved_caches"):
        d = n2.real.data_dir / sub
        if d.is_dir():
            shutil.rmtree(d)
            d.mkdir()
    assert not real.live_files(n2)
    n2.real.start(timeout=240)
    realcass.wait_status(real.nodes[0].real, n2.address, "UN", timeout=120)
    wait_until(lambda: real.orch_nodes()[n2.address]["state"] == "up", 90,
               "the orchestrator to see n2 up again", cap=2.0)
    for t in TABLES:
        assert sstable_count(n2, t) == 0, f"n2 still has {KS}.{t} SSTables"

    real.run("restore", backup_id=bid, nodes=[n2.address], keyspaces=[KS], timeout=300)
    for t in TABLES:
        assert sstable_count(n2, t) > 0, f"n2: Cassandra loaded nothing into {KS}.{t}"
    # import renames files to new generations: compare contents
    want = sorted(f["sha256"] for f in nm["files"]
                  if f["keyspace"] == KS and f["name"].endswith("-Data.db"))
    got = sorted(sha(p) for (_, name), p in real.live_files(n2).items()
                 if name.endswith("-Data.db"))
    assert got == want
    no_staging_left(real)
    for t in TABLES:
        assert real.count(t, node=n2) == real.rows[t], t
