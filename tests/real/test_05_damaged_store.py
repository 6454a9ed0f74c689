"""Defect 3: a stored object that is lost (or corrupt) was referenced by
every later backup forever, because deduplication trusted the previous
manifest.  After verify reports the loss, a new backup must upload that
file afresh and reference an object that exists; the backup that lost it
is listed `damaged`, naming the file, and a restore of it is refused
unless `"force": true`."""
import json

from realenv import KS, sstable_count


def test_lost_object_is_reported_uploaded_again_and_the_backup_listed_damaged(real):
    bid = real.backup_ids[-1]
    n1 = real.node("n1")
    nm = real.node_manifests(bid)[n1.address]
    # a Data.db of shop.customers that is still live on n1, so the next
    # backup of n1 has it again
    live = real.live_files(n1, tables=("customers",))
    cands = [f for f in nm["files"] if f["keyspace"] == KS and f["name"].endswith("-Data.db")
             and (f["table_dir"], f["name"]) in live]
    assert cands, f"no live shop.customers Data.db of n1 in backup {bid}"
    lost = cands[0]
    p = real.obj(lost["key"])
    assert p.exists()
    p.unlink()

    t = real.run("verify", backup_id=bid, want="failed", timeout=300)
    assert lost["key"] in (t["error"] or "") or lost["name"] in (t["error"] or ""), t["error"]

    t = real.run("backup", timeout=300)
    items = real.backups()
    new = items[0]
    assert new["task_id"] == t["id"] and new["state"] == "complete", new
    real.backup_ids.append(new["id"])
    got = [f for f in real.node_manifests(new["id"])[n1.address]["files"]
           if (f["keyspace"], f["table_dir"], f["name"]) ==
           (KS, lost["table_dir"], lost["name"])]
    assert len(got) == 1, got
    f = got[0]
    assert real.obj(f["key"]).exists(), f"new backup references the missing object {f['key']}"
    assert real.obj(f["key"]).stat().st_size == f["size"] == lost["size"]
    assert f["sha256"] == lost["sha256"] and not f.get("reused"), f
    assert f["key"] in [k for k, _ in real.journal_puts(new["id"])], \
        "the lost file was not uploaded again"

    old = [b for b in items if b["id"] == bid]
    assert old and old[0]["state"] == "damaged", old
    assert lost["name"] in json.dumps(old[0]), f"the listing does not name the lost file: {old}"


def test_restore_of_a_damaged_backup_needs_force(real):
    bid = [b for b in real.backups() if b["state"] == "damaged"]
    assert bid, "no damaged backup listed (the previous test failed?)"
    bid = bid[0]["id"]
    n1 = real.node("n1")
    before = sstable_count(n1, "orders")
    r = real.submit("restore", backup_id=bid, nodes=[n1.address], keyspaces=[KS])
    if r.status_code == 202:
        t = real.o.wait_task(r.json()["id"], states=("succeeded", "failed", "cancelled"),
                             timeout=300)
        assert t["state"] == "failed", t
        why = t["error"] or ""
    else:
        assert 400 <= r.status_code < 500, (r.status_code, r.text)
        why = r.text
    assert "damaged" in why and "force" in why, why
    assert sstable_count(n1, "orders") == before, "a refused restore loaded something"

    # with force, what is whole can be restored (customers of n1 lost one
    # file: orders is intact)
    real.run("restore", backup_id=bid, nodes=[n1.address], tables=[f"{KS}.orders"],
             force=True, timeout=300)
    assert real.count("orders") == real.rows["orders"]
