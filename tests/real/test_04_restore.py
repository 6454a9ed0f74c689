"""Restores into real nodes, loaded by Cassandra's own `nodetool import`
(the defect: files were staged in <table dir>/.rm-restore-<id>/, which
import takes for an index directory: it exits 0, prints nothing and loads
nothing).  Success is judged by Cassandra: rows at CONSISTENCY ALL and the
live SSTable count `nodetool tablestats` reports, never the task's word.

The restore onto a node whose files were wiped is in test_07_node_down.py:
it shares that module's outage of n3 (a real node's restart is the
costliest step of this suite)."""
from realenv import KS, sstable_count


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
