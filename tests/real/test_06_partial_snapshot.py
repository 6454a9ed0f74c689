"""Defect 2: a snapshot that failed halfway counted as a complete backup.

How it is made to fail on real Cassandra 4.1.1: a regular file named
`snapshots` in one table's directory, so Cassandra cannot create
`snapshots/<tag>/` there.  By hand, on a node with shop.orders broken that
way, `nodetool snapshot -t x shop` printed

    Requested creating snapshot(s) for [shop] with snapshot name [x] ...
    error: Unable to create directory <table dir>/snapshots/x
    -- StackTrace --
    java.io.IOException: Unable to create directory ...
        at org.apache.cassandra.db.Directories.getOrCreate(Directories.java:1244)
        ...
        at org.apache.cassandra.db.Keyspace.snapshot(Keyspace.java:248)

and exited 2.  Tables are snapshotted one after the other in an order of
Cassandra's own (a hash map of table ids), so whether the other tables got
their snapshot depends on which table is broken; the test first finds a
table whose failure leaves another table snapshotted, checks that with
nodetool itself, and only then runs the backup.  The backup must fail
naming that table, must not be listed complete, and must leave no snapshot
on any node.
"""
from realenv import KS, TABLES


def snapshotted(node, tag):
    return {t for t in TABLES
            if (node.real.table_dir(KS, t) / "snapshots" / tag).is_dir()}


def break_one_table(n):
    """Put the blocking file in a table whose failure leaves another
    table's snapshot made; returns (table, blocking file)."""
    # TRUNCATE leaves snapshots/truncated-*/ behind (auto_snapshot)
    n.real.nodetool("clearsnapshot", "--all")
    for t in TABLES:
        block = n.real.table_dir(KS, t) / "snapshots"
        if block.is_dir():
            assert not any(block.iterdir()), f"{block} not empty before the test"
            block.rmdir()
        block.write_text("not a directory\n")
        p = n.real.nodetool("snapshot", "-t", "probe", KS, check=False)
        done = snapshotted(n, "probe")
        n.real.nodetool("clearsnapshot", "-t", "probe")
        assert p.returncode == 2 and "Unable to create directory" in p.stderr + p.stdout, \
            (p.returncode, p.stdout, p.stderr[-1500:])
        if done:
            assert t not in done
            return t, block
        block.unlink()
    raise AssertionError("no table of shop fails its snapshot after another succeeded")


def test_backup_with_a_snapshot_failed_halfway_is_not_complete(real):
    n = real.node("n3")
    table, block = break_one_table(n)
    try:
        # Two attempts show the failure is for good; the type's five only wait.
        t = real.run("backup", want="failed", timeout=300, max_attempts=2)
        err = t["error"] or ""
        assert table in err, f"the failure does not name {KS}.{table}: {err}"
        listed = [b for b in real.backups() if b.get("task_id") == t["id"]]
        assert all(b["state"] != "complete" for b in listed), listed
        for node in real.nodes:
            left = [str(p) for p in node.real.table_root.glob("*/*/snapshots/rm-*")]
            assert not left, f"{node.name}: snapshot left behind: {left}"
            out = node.real.nodetool("listsnapshots").stdout
            assert "rm-" not in out, f"{node.name} lists a snapshot:\n{out}"
    finally:
        if block.is_file():
            block.unlink()
        for node in real.nodes:
            node.real.nodetool("clearsnapshot", "--all", check=False)
