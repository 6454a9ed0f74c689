"""A node whose Cassandra dies, then comes back empty (last module: it
puts the node back as it found it, holding its data).

n3 is drained and killed: the orchestrator must report it down and refuse
a backup naming it, and a skip_down backup must be listed partial naming
it.  While it is down its shop SSTables are deleted (and
its commit log, which could otherwise replay the rows and hide a restore
that loaded nothing); it is started empty and seen up again, and a
restore onto n3 alone must give its tables back (the defect: files were
staged where `nodetool import` finds nothing, so it loaded nothing and
exited 0).  No read touches shop before the restore is checked on n3
itself: a read at ALL would repair n3 from its peers.

The tests share one outage because a real node's restart, and the
orchestrator noticing it (at the node's next heartbeat, every 30 s), is
the costliest step of this suite.  They run in file order; the second
starts n3 again even when the first failed."""
import hashlib
import shutil

import pytest

from realenv import CL, KS, TABLES, realcass, sstable_count, wait_until


def sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def refusal(real, r, address):
    """The reason a backup submitted while `address` is down was refused:
    the 4xx answer, the failed task's error, or (the check step retries
    with growing waits for a minute or more) the message of its first
    failed attempt, after which the task is cancelled."""
    if r.status_code != 202:
        assert 400 <= r.status_code < 500, (r.status_code, r.text)
        return r.text, None
    tid = r.json()["id"]

    def refused():
        t = real.o.task(tid)
        if t["state"] in ("succeeded", "failed", "cancelled"):
            return t
        check = [s for s in t["steps"] if s["name"] == "check"]
        if check and check[0]["attempts"] >= 1 and address in (check[0]["message"] or ""):
            return t
        return None
    t = wait_until(refused, 240, "the backup to fail or refuse its check", cap=2.0)
    assert t["state"] != "succeeded", t
    why = t["error"] or [s for s in t["steps"] if s["name"] == "check"][0]["message"]
    if t["state"] not in ("failed", "cancelled"):
        real.o.ok("POST", f"/api/v1/tasks/{tid}/cancel")
        t = real.o.wait_task(tid, states=("failed", "cancelled"), timeout=120)
    assert all(s["state"] != "succeeded" for s in t["steps"] if s["name"] != "check"), t
    return why, tid


@pytest.fixture(scope="module")
def n3_down(real):
    """n3, drained (so that everything it holds is in SSTables) and then
    killed; started again at the end of the module if a test left it down."""
    n3 = real.node("n3")
    n3.real.nodetool("drain", timeout=180)
    n3.real.kill()
    yield n3
    if not n3.real.running():
        n3.real.start(timeout=240)


def test_killed_node_is_reported_down_and_a_backup_refused(real, n3_down):
    n3 = n3_down
    wait_until(lambda: real.orch_nodes()[n3.address]["state"] == "down", 180,
               "the orchestrator to report n3 down", cap=2.0)
    c = real.o.ok("GET", f"/api/v1/clusters/{CL}")
    assert c["nodes_down"] == 1 and c["nodes_up"] == 2, c
    why, tid = refusal(real, real.submit("backup"), n3.address)
    assert n3.address in why, why
    assert all(b["task_id"] != tid or b["state"] != "complete" for b in real.backups())


def test_skip_down_backup_is_partial_and_names_the_stopped_node(real, n3_down):
    """With down_policy skip_down the two live nodes are backed up and the
    backup is listed partial with n3 named: never complete, and a restore
    of it without "nodes" is refused (docs/backups.md)."""
    n3 = n3_down
    wait_until(lambda: real.orch_nodes()[n3.address]["state"] == "down", 180,
               "the orchestrator to report n3 down", cap=2.0)
    hid = real.orch_nodes()[n3.address]["host_id"]
    t = real.run("backup", down_policy="skip_down", timeout=600)
    b = [x for x in real.backups() if x["task_id"] == t["id"]]
    assert len(b) == 1, real.backups()
    b = b[0]
    assert b["state"] == "partial" and b["nodes"] == 2, b
    assert b["missing_nodes"] == [{"address": n3.address, "host_id": hid,
                                   "state": "down"}], b
    assert b["files"] > 0, b
    r = real.submit("restore", backup_id=b["id"])
    assert r.status_code == 409 and n3.address in r.text and "partial" in r.text, r.text


def test_restore_of_a_node_whose_files_were_wiped(real, n3_down):
    n3 = n3_down
    bid = real.backup_ids[-1]
    nm = real.node_manifests(bid)[n3.address]
    for f in real.live_files(n3).values():
        f.unlink()
    for sub in ("commitlog", "saved_caches"):
        d = n3.real.data_dir / sub
        if d.is_dir():
            shutil.rmtree(d)
            d.mkdir()
    assert not real.live_files(n3)
    n3.real.start(timeout=240)
    realcass.wait_status(real.nodes[0].real, n3.address, "UN", timeout=120)
    wait_until(lambda: real.orch_nodes()[n3.address]["state"] == "up", 180,
               "the orchestrator to report n3 up again", cap=2.0)
    for t in TABLES:
        assert sstable_count(n3, t) == 0, f"n3 still has {KS}.{t} SSTables"

    real.run("restore", backup_id=bid, nodes=[n3.address], keyspaces=[KS], timeout=300)
    for t in TABLES:
        assert sstable_count(n3, t) > 0, f"n3: Cassandra loaded nothing into {KS}.{t}"
    # import renames files to new generations: compare contents
    want = sorted(f["sha256"] for f in nm["files"]
                  if f["keyspace"] == KS and f["name"].endswith("-Data.db"))
    got = sorted(sha(p) for (_, name), p in real.live_files(n3).items()
                 if name.endswith("-Data.db"))
    assert got == want
    for n in real.nodes:
        left = [str(p) for p in n.real.data_dir.rglob(".rm-restore-*")]
        assert not left, f"{n.name}: staging left behind: {left}"
    for t in TABLES:
        assert real.count(t, node=n3) == real.rows[t], t
