"""Backups end to end: three simulated nodes with real sshd, s3rver, the
orchestrator and one agent per node.  The tests of this module share one
environment and run in order, each building on the store the previous ones
left (backup, change, second backup, restore, verify, retention).

Upload counts come from each agent's journal (<state_dir>/backup-<id>.journal,
one line per completed PUT), byte identity from the sim's own files.
"""
import collections
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from agentutil import RINGAGENT, orch_nodes, simlib, write_agent_conf
from orch import wait_until
from rmtest import SIM
from bkenv import S3_SECRETS, Env, backup_env
from s3util import BUCKET, S3rver

CL = "sim"
PREFIX = "rm"



def sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def live_files(c, node, ks=None):
    """{(ks, table_dir, name): path} of a node's live SSTable files."""
    out = {}
    root = Path(c.data_dir(node))
    if (root / "data").is_dir():
        root = root / "data"
    for kd in root.iterdir():
        if not kd.is_dir() or (ks and kd.name != ks):
            continue
        for td in kd.iterdir():
            if not td.is_dir():
                continue
            for f in td.iterdir():
                if f.is_file():
                    out[(kd.name, td.name, f.name)] = f
    return out


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with backup_env(tmp_path_factory.mktemp("backup"), CL, PREFIX,
                    net=30 + os.getpid() % 200, host=11) as e:
        e.backups = []
        yield e


def run(e, type_, timeout=120, want="succeeded", **params):
    params.setdefault("agent", e.agent)
    t = e.o.ok("POST", f"/api/v1/clusters/{CL}/tasks", {"type": type_, "params": params},
               status=202)
    t = e.o.wait_task(t["id"], states=("succeeded", "failed", "cancelled"), timeout=timeout)
    assert t["state"] == want, json.dumps(t, indent=1)
    return t


def journal_puts(e):
    """Every completed PUT of every agent: list of keys (duplicates kept)."""
    keys = []
    for n in e.c.names:
        for j in (Path(e.c.node_dir(n)) / "agent-state").glob("backup-*.journal"):
            keys += [ln.split()[1] for ln in j.read_text().splitlines() if ln.startswith("put ")]
    return keys


def backups(e):
    return e.o.ok("GET", f"/api/v1/clusters/{CL}/backups")["items"]


def obj(e, key):
    return e.s3.object_path(f"{PREFIX}/{key}")


def stored_keys(e, sub):
    root = e.s3.data / BUCKET / PREFIX / CL / sub
    return {str(p.relative_to(e.s3.data / BUCKET / PREFIX))[:-len("._S3rver_object")]
            for p in root.rglob("*._S3rver_object")}


def manifest(e, bid, what="cluster"):
    p = obj(e, f"{CL}/backups/{bid}/cluster.json" if what == "cluster" else what)
    return json.loads(p.read_text())


def test_bad_params_are_400(env):
    e = env
    for params in ({"upload_parallelism": 0}, {"tables": ["nodot"]}, {"retention": {"keep": 1}},
                   {"frobnicate": 1}, {"keyspaces": ["../x"]}, {"agent": "x; rm -rf /"}):
        r = e.o.post(f"/api/v1/clusters/{CL}/tasks", {"type": "backup", "params": params})
        assert r.status_code == 400, (params, r.text)
    r = e.o.post(f"/api/v1/clusters/{CL}/tasks", {"type": "purge", "params": {}})
    assert r.status_code == 400 and "backup_ids" in r.text
    assert e.o.get("/api/v1/clusters/nosuch/backups").status_code == 404
    assert e.o.ok("GET", f"/api/v1/clusters/{CL}/backups") == {"items": [], "next": None}


def test_first_backup_uploads_every_file(env):
    e = env
    t = run(e, "backup")
    assert [s["name"] for s in t["steps"]] == ["check", "snapshot", "upload", "manifests",
                                               "complete", "clear-snapshots", "retention"]
    items = backups(e)
    assert len(items) == 1 and items[0]["state"] == "complete", items
    b = items[0]
    e.backups.append(b["id"])
    assert b["nodes"] == 3 and b["files"] > 0
    assert b["bytes_uploaded"] == b["bytes"] and b["files_uploaded"] == b["files"]
    # Every live file of every node was stored, with its checksum.
    cm = manifest(e, b["id"])
    total = 0
    for n in cm["nodes"]:
        nm = json.loads(obj(e, n["manifest"]).read_text())
        node = [x for x in e.c.names if e.c.address(x) == n["address"]][0]
        live = live_files(e.c, node)
        assert {(f["keyspace"], f["table_dir"], f["name"]) for f in nm["files"]} == set(live)
        for f in nm["files"]:
            assert f["sha256"] == sha(live[(f["keyspace"], f["table_dir"], f["name"])])
            assert obj(e, f["key"]).stat().st_size == f["size"]
        assert nm["tokens"] and nm["dc"] and nm["cassandra_version"] == "4.1.0"
        assert any((tb.get("schema") or "").startswith("CREATE TABLE") for tb in nm["tables"])
        total += len(nm["files"])
    assert total == b["files"] == len(journal_puts(e))
    # The snapshots are gone.
    for n in e.c.names:
        assert not list(Path(e.c.data_dir(n)).rglob("snapshots/rm-*")), n


def user_keys(keys):
    """The keys of user tables among object keys
    <cluster>/data/<host id>/<keyspace>/<table dir>/<name>: system tables
    get SSTables of their own between two backups (as on real Cassandra),
    so "only what changed" holds for user tables only."""
    return [k for k in keys if not k.split("/")[3].startswith("system")]


def puts_since(e, before):
    """The PUTs of every agent's journals that were not in `before` (a
    journal_puts() list), duplicates kept."""
    left = collections.Counter(before)
    out = []
    for k in journal_puts(e):
        if left[k] > 0:
            left[k] -= 1
        else:
            out.append(k)
    return out


def test_second_backup_uploads_only_new_files(env):
    e = env
    user = lambda files: {f for f in files if not f[0].startswith("system")}  # noqa: E731
    before = {n: user(live_files(e.c, n)) for n in e.c.names}
    puts_before = journal_puts(e)
    assert e.c.nodetool("node1", "flush", "ks1").returncode == 0
    assert e.c.nodetool("node2", "compact", "ks2").returncode == 0
    after = {n: user(live_files(e.c, n)) for n in e.c.names}
    new = sum(len(after[n] - before[n]) for n in e.c.names)
    assert new > 0
    run(e, "backup")
    b = backups(e)[0]
    e.backups.append(b["id"])
    assert b["id"] != e.backups[0] and b["state"] == "complete"
    puts = puts_since(e, puts_before)
    assert b["files_uploaded"] == len(puts), (b, puts)
    uploaded = sorted(tuple(k.split("/")[3:6]) for k in user_keys(puts))
    assert uploaded == sorted(f for n in e.c.names for f in after[n] - before[n])
    assert b["files"] >= sum(len(after[n]) for n in e.c.names)


def test_unchanged_backup_uploads_nothing(env):
    e = env
    puts_before = journal_puts(e)
    t0 = time.monotonic()
    run(e, "backup")
    b = backups(e)[0]
    e.backups.append(b["id"])
    puts = puts_since(e, puts_before)
    assert user_keys(puts) == [], puts
    assert b["files_uploaded"] == len(puts), (b, puts)
    print(f"unchanged backup of 3 nodes took {time.monotonic() - t0:.2f}s; "
          f"{len(puts)} system-table files uploaded")


def test_restore_into_wiped_node_is_byte_identical(env):
    e = env
    node = "node2"
    want = {}
    for (ks, td, name), p in live_files(e.c, node, "ks1").items():
        comp = name.split("-", 3)[-1]
        want.setdefault((td, comp), []).append(sha(p))
        p.unlink()
    assert want and not live_files(e.c, node, "ks1")
    ckey = f"{CL}/backups/{e.backups[-1]}/cluster.json"
    reads = s3_reads(e, ckey)
    t = run(e, "restore", nodes=[e.c.address(node)], keyspaces=["ks1"])
    assert [s["name"] for s in t["steps"]] == ["map", "space", "restore"]
    # One read of the cluster manifest per step, however often the steps
    # were called while their node jobs ran.
    assert s3_reads(e, ckey) - reads == 3
    got = {}
    for (ks, td, name), p in live_files(e.c, node, "ks1").items():
        got.setdefault((td, name.split("-", 3)[-1]), []).append(sha(p))
    assert {k: sorted(v) for k, v in got.items()} == {k: sorted(v) for k, v in want.items()}
    # Nothing else was touched, and no staging directory is left.
    assert not list((Path(e.c.node_dir(node)) / "data").rglob(".rm-restore-*"))


def test_restore_refuses_when_the_disk_is_too_small(env):
    """The agent's space check, run as the restore's "space" step runs it,
    with a margin no disk can meet (loopback disks cannot be filled here)."""
    e = env
    b = e.backups[-1]
    cm = manifest(e, b)
    n = [x for x in cm["nodes"] if x["address"] == e.c.address("node1")][0]
    conf = Path(e.c.node_dir("node1")) / "agent.conf"
    r = subprocess.run([str(RINGAGENT), "-f", str(conf), "backup-restore", "--json",
                        "--store", f"s3://{BUCKET}/{PREFIX}", "--endpoint", e.s3.endpoint,
                        "--manifest", n["manifest"], "--mode", "check",
                        "--space-margin", "1e12"], capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60)
    last = json.loads(r.stdout.splitlines()[-1])
    assert r.returncode == 1 and "not enough disk space" in last["error"]["message"], r.stdout
    assert "free" in last["error"]["message"] and last["data"]["bytes_needed"] > 0


def test_restore_manifest_with_dotdot_is_refused(env):
    e = env
    good = manifest(e, e.backups[-1])
    nkey = good["nodes"][0]["manifest"]
    nm = json.loads(obj(e, nkey).read_text())
    bad_id = "20000101T000000Z-evil00"
    nm["backup_id"] = bad_id
    nm["files"][0]["name"] = "../../../../etc/evil"
    bad_node_key = f"{CL}/backups/{bad_id}/nodes/{nm['host_id']}.json"
    good["backup_id"] = bad_id
    good["nodes"] = [dict(good["nodes"][0], manifest=bad_node_key)]
    base = f"{e.s3.endpoint}/{BUCKET}/{PREFIX}"
    assert requests.put(f"{base}/{bad_node_key}", data=json.dumps(nm)).status_code == 200
    assert requests.put(f"{base}/{CL}/backups/{bad_id}/cluster.json",
                        data=json.dumps(good)).status_code == 200
    node = [x for x in e.c.names if e.c.address(x) == good["nodes"][0]["address"]][0]
    t = run(e, "restore", want="failed", backup_id=bad_id, nodes=[e.c.address(node)])
    assert "refused" in (t["error"] or ""), t
    assert not (Path("/etc/evil")).exists()
    # The orchestrator's own readers refuse it too: the key variant.
    nm["files"][0]["name"] = "ok-Data.db"
    nm["files"][0]["key"] = f"{CL}/data/../../x"
    assert requests.put(f"{base}/{bad_node_key}", data=json.dumps(nm)).status_code == 200
    t = run(e, "verify", want="failed", backup_id=bad_id)
    assert "refused" in (t["error"] or "") or "refused" in json.dumps(t["steps"]), t
    # Clean up the forgery so the retention test sees only real backups.
    for p in (e.s3.data / BUCKET / PREFIX / CL / "backups" / bad_id).rglob("*"):
        if p.is_file():
            p.unlink()
    shutil.rmtree(e.s3.data / BUCKET / PREFIX / CL / "backups" / bad_id, ignore_errors=True)


def test_verify_finds_missing_and_truncated_objects(env):
    e = env
    bid = e.backups[-1]
    t = run(e, "verify", backup_id=bid)
    assert "verified" in t["steps"][0]["message"]
    cm = manifest(e, bid)
    files = json.loads(obj(e, cm["nodes"][0]["manifest"]).read_text())["files"]
    gone, cut = files[0]["key"], files[1]["key"]
    saved = {k: obj(e, k).read_bytes() for k in (gone, cut)}
    obj(e, gone).unlink()
    with open(obj(e, cut), "r+b") as f:
        f.truncate(max(0, files[1]["size"] // 2))
    try:
        t = run(e, "verify", want="failed", backup_id=bid)
        err = t["error"] or ""
        assert f"missing {gone}" in err and f"corrupt {cut}" in err, err
        assert "1 missing, 1 corrupt" in err
        t = run(e, "verify", want="failed", backup_id=bid, download=True)
        assert f"missing {gone}" in (t["error"] or "") and cut in (t["error"] or ""), t["error"]
    finally:
        for k, data in saved.items():
            obj(e, k).write_bytes(data)
    run(e, "verify", backup_id=bid, download=True)


def s3_reads(e, key):
    """Reads of bucket key `key` so far: s3rver logs each response as "...<key>
    <status> <ms> <size>" (its method cut off), and of the responses for a
    manifest only a GET's has a body (a PUT's is "0b"; nothing HEADs them)."""
    want = f"/{PREFIX}/{key} 200 "
    return sum(1 for ln in e.s3.log_path.read_text(errors="replace").splitlines()
               if want in ln and not ln.rstrip().endswith(" 0b"))


def job_dirs(e, tid, op):
    """The node job directories of task tid running agent operation op."""
    out = []
    for n in e.c.names:
        for d in (Path(e.c.node_dir(n)) / "agent-state" / "jobs").glob(f"*{tid[2:]}*"):
            argv = d / "argv"
            if argv.exists() and op in argv.read_text():
                out.append(d)
    return out


def test_fan_out_step_reads_storage_once_per_attempt(env):
    """A step that fans out over node jobs is called again at every poll of
    them; verify reads the cluster manifest and the node manifests once per
    attempt however often it is called (counted in s3rver's request log),
    while its jobs are polled many times (attach events on the nodes)."""
    e = env
    bid = e.backups[-1]
    cm = manifest(e, bid)
    keys = [f"{CL}/backups/{bid}/cluster.json"] + [n["manifest"] for n in cm["nodes"]]
    before = {k: s3_reads(e, k) for k in keys}
    # The complete step read the node manifests: the log shows reads.
    assert before[keys[1]] > 0, "s3rver's log shows no reads: " + e.s3.log_tail(5)
    r = e.o.ok("POST", f"/api/v1/clusters/{CL}/tasks", {
        "type": "verify", "params": {"agent": e.agent, "backup_id": bid, "download": True,
                                     "download_parallelism": 1}}, status=202)
    tid = r["id"]
    # Once every node's job exists the manifests were read; then storage
    # freezes for a while, so the jobs run on and the step is polled.
    wait_until(lambda: len(job_dirs(e, tid, "backup-verify")) == 3, 60, "three verify jobs")
    os.killpg(e.s3.proc.pid, signal.SIGSTOP)
    try:
        time.sleep(3)
    finally:
        os.killpg(e.s3.proc.pid, signal.SIGCONT)
    t = e.o.wait_task(tid, states=("succeeded", "failed", "cancelled"), timeout=120)
    assert t["state"] == "succeeded", json.dumps(t, indent=1)
    assert t["steps"][0]["attempts"] == 1, t["steps"][0]
    polls = [sum(1 for ln in (d / "events").read_text().splitlines() if '"attach"' in ln)
             for d in job_dirs(e, tid, "backup-verify")]
    assert max(polls) >= 3, f"the step was not called again: attaches {polls}"
    got = {k: s3_reads(e, k) - before[k] for k in keys}
    # The orchestrator reads each once; each node's agent reads its own manifest.
    assert got == {k: 1 if k == keys[0] else 2 for k in keys}, got


def test_restore_into_a_new_cluster_of_the_same_shape(env):
    """A second simulated cluster (same keyspaces and tables, other table
    ids, other tokens) gets the backup of the first: nodes paired by dc,
    rack and token order, files loaded into its own table directories."""
    e = env
    c2 = simlib.SimCluster.create(e.tmp / "c2", nodes=3, version="4.1", keyspaces=2, tables=2,
                                  sstables=1, sstable_size="8K",
                                  base_address=f"127.0.{31 + os.getpid() % 200}.11")
    try:
        e.o.ok("POST", "/api/v1/clusters", {
            "name": "sim2", "storage": {"url": f"s3://{BUCKET}/{PREFIX}",
                                        "endpoint": e.s3.endpoint, "region": "us-east-1"},
            "ssh": {"user": "root", "port": c2.ssh_port, "key_file": c2.key},
            "settings": dict(S3_SECRETS)}, status=201)
        tok = e.tmp / "join.token"
        for n in c2.names:
            conf = write_agent_conf(c2, n, e.o.base, tok, cluster_name="sim2")
            os.symlink(conf, e.tmp / "confs" / f"{c2.address(n)}.conf")
        c2.start_all(agent=str(RINGAGENT))
        wait_until(lambda: len([v for v in orch_nodes(e.o, "sim2").values()
                                if v["state"] == "up" and v.get("host_id")]) == 3,
                   30, "three sim2 nodes up")
        before = {n: set(live_files(c2, n, "ks1")) for n in c2.names}
        bid = e.backups[-1]
        t = e.o.ok("POST", "/api/v1/clusters/sim2/tasks", {"type": "restore", "params": {
            "agent": e.agent, "source_cluster": CL, "backup_id": bid,
            "keyspaces": ["ks1"]}}, status=202)
        t = e.o.wait_task(t["id"], states=("succeeded", "failed"), timeout=120)
        assert t["state"] == "succeeded", json.dumps(t, indent=1)
        cm = manifest(e, bid)
        src = {}
        for n in cm["nodes"]:
            nm = json.loads(obj(e, n["manifest"]).read_text())
            src[nm["tokens"][0]] = sorted(f["sha256"] for f in nm["files"]
                                          if f["keyspace"] == "ks1")
        got = []
        for n in c2.names:
            new = {k: p for k, p in live_files(c2, n, "ks1").items() if k not in before[n]}
            got.append(sorted(sha(p) for p in new.values()))
        # Every target received exactly one source node's files, all of them.
        assert sorted(got) == sorted(src.values())
    finally:
        c2.cleanup()


def test_retention_purges_exactly_what_no_kept_backup_uses(env):
    e = env
    ids = [b["id"] for b in backups(e) if b["state"] == "complete"]
    assert len(ids) >= 3
    keep = ids[0]  # newest
    refs = {}
    for bid in ids:
        cm = manifest(e, bid)
        refs[bid] = {f["key"] for n in cm["nodes"]
                     for f in json.loads(obj(e, n["manifest"]).read_text())["files"]}
    before = stored_keys(e, "data")
    assert set().union(*refs.values()) == before
    run(e, "purge", retention={"keep_last": 1})
    assert [b["id"] for b in backups(e)] == [keep]
    after = stored_keys(e, "data")
    assert after == refs[keep], (len(after), len(refs[keep]))
    assert before - after == set().union(*refs.values()) - refs[keep]
    # And the kept backup restores and verifies intact.
    run(e, "verify", backup_id=keep, download=True)


def test_delete_route_queues_a_purge(env):
    e = env
    run(e, "backup")
    ids = [b["id"] for b in backups(e)]
    assert len(ids) == 2
    r = e.o.delete(f"/api/v1/clusters/{CL}/backups/{ids[1]}")
    assert r.status_code == 202 and r.json()["type"] == "purge", r.text
    e.o.wait_task(r.json()["id"], timeout=60)
    assert [b["id"] for b in backups(e)] == [ids[0]]
    assert e.o.delete(f"/api/v1/clusters/{CL}/backups/{ids[1]}").status_code == 404
    assert e.o.delete(f"/api/v1/clusters/{CL}/backups/..").status_code in (400, 404)


def test_kill9_during_upload_resumes_without_uploading_twice(env):
    e = env
    # Bigger files and a rate limit make the upload last a few seconds.
    subprocess.run([str(SIM / "simctl"), "add-keyspace", str(e.c.dir), "big", "--class",
                    "SimpleStrategy", "--rf", "3", "--tables", "a,b", "--sstables", "3",
                    "--sstable-size", "256K"], check=True, capture_output=True)
    puts_before = journal_puts(e)
    t = e.o.ok("POST", f"/api/v1/clusters/{CL}/tasks", {"type": "backup", "params": {
        "agent": e.agent, "rate_limit_mib": 0.5, "upload_parallelism": 1}}, status=202)
    wait_until(lambda: len(journal_puts(e)) >= len(puts_before) + 3, 60, "first uploads")
    e.o.kill9()
    mid = journal_puts(e)
    assert len(mid) > len(puts_before)
    e.o.start()
    t = e.o.wait_task(t["id"], states=("succeeded", "failed"), timeout=180)
    assert t["state"] == "succeeded", json.dumps(t, indent=1)
    new = puts_since(e, puts_before)
    assert len(new) == len(set(new)), "a file was uploaded twice"
    b = backups(e)[0]
    assert b["state"] == "complete" and b["files_uploaded"] == len(new) >= 3 * 2 * 8, b


def agent_conf(e, node):
    return Path(e.c.node_dir(node)) / "agent.conf"


def store_args(e):
    return ["--store", f"s3://{BUCKET}/{PREFIX}", "--endpoint", e.s3.endpoint]


def node_manifest_of(e, bid, node):
    cm = manifest(e, bid)
    n = [x for x in cm["nodes"] if x["address"] == e.c.address(node)][0]
    return n["manifest"], json.loads(obj(e, n["manifest"]).read_text())


def snap_dirs(e, node, tag):
    return sorted(str(p.relative_to(e.c.data_dir(node)))
                  for p in Path(e.c.data_dir(node)).glob(f"*/*/snapshots/{tag}"))


def test_partial_snapshot_is_cleared_and_taken_again(env):
    """A tag that exists for one keyspace only (a snapshot that failed
    partway) is not accepted for "all keyspaces": it is cleared and taken
    again, and the result lists every table Cassandra has."""
    e = env
    tag = "rm-partial"
    assert e.c.nodetool("node1", "snapshot", "-t", tag, "ks1").returncode == 0
    partial = snap_dirs(e, "node1", tag)
    assert partial and all(p.startswith("ks1/") for p in partial)
    rc, prog, res = agent_op(agent_conf(e, "node1"), "snapshot", "--tag", tag)
    d = res["data"]
    assert d["already"] is False and d["attempts"] == 2, d
    assert any("incomplete" in p["message"] for p in prog), prog
    want = {f"{ks}.{t}" for ks in ("ks1", "ks2") for t in ("t1", "t2")}
    assert want <= set(d["table_names"]), d["table_names"]
    assert d["tables"] == len(d["table_names"]) == len(snap_dirs(e, "node1", tag))
    # A file listed by a table's manifest.json gone: incomplete again.
    sdir = Path(e.c.data_dir("node1")) / snap_dirs(e, "node1", tag)[0]
    listed = json.loads((sdir / "manifest.json").read_text())["files"]
    if listed:
        (sdir / listed[0]).unlink()
        rc, prog, res = agent_op(agent_conf(e, "node1"), "snapshot", "--tag", tag)
        assert res["data"]["already"] is False, res
        assert (sdir / listed[0]).exists()
    agent_op(agent_conf(e, "node1"), "clear-snapshot", "--tag", tag)
    assert not snap_dirs(e, "node1", tag)


def test_failing_snapshot_is_cleared_and_fails_naming_tables(env):
    e = env
    tag = "rm-failing"
    e.c.fault("node1", "fail", command="snapshot")
    try:
        rc, prog, res = agent_op(agent_conf(e, "node1"), "snapshot", "--tag", tag,
                                 "--keyspace", "ks2", check=False)
    finally:
        e.c.fault("node1", "none")
    assert rc == 1, res
    msg = res["error"]["message"]
    assert "still incomplete after 3 attempts" in msg and "ks2.t1" in msg, msg
    assert "system.log" in msg
    assert not snap_dirs(e, "node1", tag)


def test_upload_never_references_an_excluded_object(env):
    """--exclude: a file whose previous object a verify found bad is stored
    afresh under another key; the bad object is left as it is."""
    e = env
    bid_prev = [b["id"] for b in backups(e) if b["state"] == "complete"][0]
    prev_key, prev = node_manifest_of(e, bid_prev, "node1")
    bad = [f for f in prev["files"] if f["keyspace"] == "ks1"][0]
    bad_bytes = obj(e, bad["key"]).read_bytes()
    base = f"{e.s3.endpoint}/{BUCKET}/{PREFIX}"
    excl = f"{CL}/backups/{bid_prev}/verify/exclude-test.json"
    assert requests.put(f"{base}/{excl}", data=json.dumps(
        {"keys": [bad["key"]]})).status_code == 200
    tag = "rm-excl"
    conf = agent_conf(e, "node1")
    agent_op(conf, "snapshot", "--tag", tag)
    bid = "20261205T010000Z-exclude01"
    rc, prog, res = agent_op(conf, "backup-upload", *store_args(e), "--cluster", CL,
                             "--backup-id", bid, "--tag", tag, "--previous", prev_key,
                             "--exclude", excl)
    d = res["data"]
    assert d["files_excluded_reuse"] == 1 and d["files_uploaded"] >= 1, d
    nm = json.loads(obj(e, d["manifest"]).read_text())
    f = [x for x in nm["files"] if (x["keyspace"], x["table_dir"], x["name"]) ==
         (bad["keyspace"], bad["table_dir"], bad["name"])][0]
    assert f["key"] != bad["key"] and not f["reused"], f
    assert f["key"].startswith(bad["key"] + ".") or bad["key"].startswith(f["key"]), f
    assert obj(e, f["key"]).stat().st_size == f["size"]
    assert obj(e, bad["key"]).read_bytes() == bad_bytes
    # The unchanged files are still reused.
    assert d["files_reused"] >= 1, d
    agent_op(conf, "clear-snapshot", "--tag", tag)
    e.excl = (excl, bad, bid_prev)


def test_restore_modes_exclude_cleanup_and_pipelined_restore(env):
    """--mode restore on one node, with an excluded object: its whole
    SSTable is skipped and named, everything else is loaded table by table;
    then --mode cleanup is idempotent."""
    e = env
    excl, bad, bid = e.excl
    node = [x for x in e.c.names if e.c.address(x) ==
            [n for n in manifest(e, bid)["nodes"] if bad["key"] in
             obj(e, n["manifest"]).read_text()][0]["address"]][0]
    key, nm = node_manifest_of(e, bid, node)
    conf = agent_conf(e, node)
    for p in live_files(e.c, node, "ks1").values():
        p.unlink()
    rc, prog, res = agent_op(conf, "backup-restore", *store_args(e), "--manifest", key,
                             "--mode", "restore", "--keyspace", "ks1", "--exclude", excl,
                             "--run-id", "t-run1")
    d = res["data"]
    gen = bad["name"].rsplit("-", 1)[0] + "-"
    skipped = {s["name"] for s in d["skipped"]}
    assert bad["name"] in skipped and all(n.startswith(gen) for n in skipped), skipped
    assert len(skipped) == len([f for f in nm["files"] if f["keyspace"] == "ks1" and
                                f["table_dir"] == bad["table_dir"] and
                                f["name"].startswith(gen)])
    ks1 = [f for f in nm["files"] if f["keyspace"] == "ks1"]
    assert d["files_total"] == len(ks1) - len(skipped) == d["files_done"]
    assert d["tables_loaded"] == len({f["table_dir"] for f in ks1}), d
    assert all(t["state"] == "loaded" and t["sstables_after"] > t["sstables_before"]
               for t in d["tables"]), d["tables"]
    assert d["summary"].startswith(f"{d['files_total']}/{d['files_total']} files downloaded, ")
    phases = [p.get("phase") for p in prog]
    assert "download" in phases and phases[-1] == "done", phases
    assert any("tables_loaded" in p for p in prog)
    for p in prog:
        if p.get("phase") == "download":
            for k in ("files_done", "files_total", "bytes_done", "bytes_total", "rate_bps"):
                assert isinstance(p[k], int), (k, p)
    shas = {sha(p) for p in live_files(e.c, node, "ks1").values()}
    want = {f["sha256"] for f in ks1 if f["name"] not in skipped}
    assert want <= shas, "a restored file differs from the backup"
    root = Path(e.c.node_dir(node)) / "data"
    assert not list(root.glob(".rm-restore-*"))
    # Run again (an orchestrator retry: the same run id): nothing fetched or
    # loaded twice.
    live = set(live_files(e.c, node, "ks1"))
    rc, prog, res = agent_op(conf, "backup-restore", *store_args(e), "--manifest", key,
                             "--mode", "restore", "--keyspace", "ks1", "--exclude", excl,
                             "--run-id", "t-run1")
    d2 = res["data"]
    assert d2["files_downloaded"] == 0 and d2["tables_already_loaded"] == d["tables_loaded"], d2
    assert set(live_files(e.c, node, "ks1")) == live
    # The data is lost again; a new restore (another run) of the same
    # backup must load everything again, not trust the first run's record.
    for p in live_files(e.c, node, "ks1").values():
        p.unlink()
    rc, prog, res = agent_op(conf, "backup-restore", *store_args(e), "--manifest", key,
                             "--mode", "restore", "--keyspace", "ks1", "--exclude", excl,
                             "--run-id", "t-run2")
    d3 = res["data"]
    assert d3["tables_already_loaded"] == 0 and d3["tables_loaded"] == d["tables_loaded"], d3
    assert {sha(p) for p in live_files(e.c, node, "ks1").values()} >= want

    # Download only (staging stays), then cleanup twice.
    rc, prog, res = agent_op(conf, "backup-restore", *store_args(e), "--manifest", key,
                             "--mode", "download", "--keyspace", "ks2")
    staged = list(root.glob(f".rm-restore-{bid}/ks2/*/*"))
    assert staged and res["data"]["files_downloaded"] == len(staged), res["data"]
    for _ in range(2):
        rc, prog, res = agent_op(conf, "backup-restore", *store_args(e), "--manifest",
                                 key, "--mode", "cleanup")
        assert not list(root.glob(".rm-restore-*"))
    assert res["data"]["removed"] == []
    rc, prog, res = agent_op(conf, "backup-restore", "--mode", "cleanup",
                             "--backup-id", bid)
    assert rc == 0


def test_load_that_cassandra_ignores_is_an_error(env):
    """import that exits 0 having loaded nothing (as real 4.x does for a
    path it does not take): the load fails naming the table and system.log,
    and the staged files stay for a look."""
    e = env
    bid = [b["id"] for b in backups(e) if b["state"] == "complete"][0]
    key, nm = node_manifest_of(e, bid, "node3")
    conf = agent_conf(e, "node3")
    agent_op(conf, "backup-restore", *store_args(e), "--manifest", key,
             "--mode", "download", "--keyspace", "ks2")
    e.c.fault("node3", "garbage", command="import")
    try:
        rc, prog, res = agent_op(conf, "backup-restore", *store_args(e), "--manifest",
                                 key, "--mode", "load", "--keyspace", "ks2", check=False)
    finally:
        e.c.fault("node3", "none")
    msg = res["error"]["message"]
    assert rc == 1 and "Cassandra did not load them" in msg and "system.log" in msg, msg
    assert "ks2" in msg
    root = Path(e.c.node_dir("node3")) / "data"
    assert list(root.glob(f".rm-restore-{bid}/ks2/*/*"))
    agent_op(conf, "backup-restore", *store_args(e), "--manifest", key, "--mode", "cleanup")
    assert not list(root.glob(".rm-restore-*"))


def test_restore_into_cassandra_3_11_uses_refresh(env):
    """3.11 has no import: the staged files move into the table directory
    and `nodetool refresh` loads them; tablestats must then show them."""
    e = env
    c3 = simlib.SimCluster.create(e.tmp / "c311", nodes=1, version="3.11", keyspaces=1,
                                  tables=2, sstables=2, sstable_size="8K",
                                  base_address=f"127.0.{32 + os.getpid() % 200}.11")
    try:
        c3.start_cassandra("node1")
        nd = Path(c3.node_dir("node1"))
        conf = nd / "op-agent.conf"
        conf.write_text(f"nodetool = {nd / 'bin' / 'nodetool'}\ndata_dirs = {nd / 'data'}\n"
                        f"state_dir = {nd / 'agent-state'}\n")
        agent_op(conf, "snapshot", "--tag", "b311", "--keyspace", "ks1")
        rc, prog, res = agent_op(conf, "backup-upload", *store_args(e), "--cluster", "v311",
                                 "--backup-id", "20261205T020000Z-v311", "--tag", "b311",
                                 "--keyspace", "ks1")
        key = res["data"]["manifest"]
        before = {k: sha(p) for k, p in live_files(c3, "node1", "ks1").items()}
        for p in live_files(c3, "node1", "ks1").values():
            p.unlink()
        rc, prog, res = agent_op(conf, "backup-restore", *store_args(e), "--manifest", key,
                                 "--mode", "restore")
        d = res["data"]
        assert d["loader"] == "refresh" and d["tables_loaded"] == 2, d
        assert all(t["sstables_after"] > t["sstables_before"] == 0 for t in d["tables"]), d
        after = {k: sha(p) for k, p in live_files(c3, "node1", "ks1").items()}
        assert after == before, "3.11 refresh keeps the names and bytes"
        assert not list((nd / "data").glob(".rm-restore-*"))
    finally:
        c3.cleanup()


# ---------------------------------------------------------------------------
# A real Cassandra 4.1 node (tests/e2e/realcass.py): the agent's snapshot,
# upload and pipelined restore must load data Cassandra then serves.
# ---------------------------------------------------------------------------

def agent_op(conf, *args, check=True, timeout=300):
    """Run `ringagent -f conf <op> --json ...`: (exit, progress lines, result)."""
    r = subprocess.run([str(RINGAGENT), "-f", str(conf), *args, "--json"],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL,
                       timeout=timeout)
    lines = [json.loads(ln) for ln in r.stdout.splitlines() if ln.startswith("{")]
    assert lines and lines[-1]["type"] == "result", (r.stdout, r.stderr)
    if check:
        assert r.returncode == 0, json.dumps(lines[-1], indent=1)
    return r.returncode, lines[:-1], lines[-1]


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    import realcass
    ok, why = realcass.available()
    if not ok:
        pytest.skip(why)
    tmp = tmp_path_factory.mktemp("real")
    e = Env()
    e.s3 = S3rver(tmp / "s3").start()
    old = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ["AWS_ACCESS_KEY_ID"] = os.environ["AWS_SECRET_ACCESS_KEY"] = "S3RVER"
    net = realcass.RealNet.acquire()
    try:
        n1 = net.node(tmp, "n1")
        n1.setup(seeds=[n1.address])
        n1.start()
        e.node = n1
        e.conf = tmp / "agent.conf"
        e.conf.write_text(f"nodetool = {n1.nodetool_path}\ndata_dirs = {n1.data_dir}\n"
                          f"state_dir = {tmp / 'agent-state'}\nnodetool_timeout = 120s\n")
        e.store = ["--store", f"s3://{BUCKET}/{PREFIX}", "--endpoint", e.s3.endpoint]
        yield e
    finally:
        if hasattr(e, "node"):
            print("--- n1 system.log ---\n" + e.node.log(40))
        net.close()
        e.s3.stop()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_real_node_snapshot_upload_truncate_restore(real):
    """Rows in two tables (one with a secondary index), a complete
    snapshot, an upload, TRUNCATE, then `backup-restore --mode restore`:
    Cassandra serves every row again, the index answers, and the agent's
    result shows each table's SSTable count grown."""
    e = real
    n1 = e.node
    n1.cqlsh("CREATE KEYSPACE shop WITH replication = {'class':'SimpleStrategy',"
             "'replication_factor':1}; CREATE TABLE shop.orders (id int PRIMARY KEY, "
             "cust text, total int); CREATE INDEX orders_cust ON shop.orders (cust); "
             "CREATE TABLE shop.customers (id int PRIMARY KEY, name text);")
    orders = ";".join(f"INSERT INTO shop.orders (id, cust, total) VALUES ({i}, 'c{i % 50}', {i})"
                      for i in range(500))
    custs = ";".join(f"INSERT INTO shop.customers (id, name) VALUES ({i}, 'n{i}')"
                     for i in range(100))
    n1.cqlsh(f"BEGIN UNLOGGED BATCH {orders}; APPLY BATCH; "
             f"BEGIN UNLOGGED BATCH {custs}; APPLY BATCH;")
    n1.nodetool("flush", "shop")

    rc, prog, res = agent_op(e.conf, "snapshot", "--tag", "rm-real1", "--keyspace", "shop")
    names = res["data"]["table_names"]
    assert sorted(names) == ["shop.customers", "shop.orders"], res
    assert res["data"]["already"] is False
    # Taken again: accepted because it is complete, not retaken.
    rc, prog, res = agent_op(e.conf, "snapshot", "--tag", "rm-real1", "--keyspace", "shop")
    assert res["data"]["already"] is True

    bid = "20261205T000000Z-real01"
    rc, prog, res = agent_op(e.conf, "backup-upload", *e.store, "--cluster", "real",
                             "--backup-id", bid, "--tag", "rm-real1", "--keyspace", "shop")
    key = res["data"]["manifest"]
    assert res["data"]["files_uploaded"] == res["data"]["files"] > 0
    assert any(p.get("phase") == "upload" and p["files_done"] == p["files_total"]
               for p in prog), prog
    nm = json.loads(obj(e, key).read_text())
    idx = [f for f in nm["files"] if f.get("subdir")]
    assert idx and all(f["subdir"] == ".orders_cust" and "/.orders_cust/" in f["key"]
                       for f in idx), idx

    n1.cqlsh("TRUNCATE shop.orders; TRUNCATE shop.customers;")
    assert n1.count("shop.orders") == 0 and n1.count("shop.customers") == 0

    rc, prog, res = agent_op(e.conf, "backup-restore", *e.store, "--manifest", key,
                             "--mode", "restore", "--parallel", "4")
    d = res["data"]
    assert d["loader"] == "import" and d["tables_loaded"] == 2, d
    assert d["files_done"] == d["files_total"] == len(nm["files"])
    assert d["summary"] == f"{len(nm['files'])}/{len(nm['files'])} files downloaded, 2 tables loaded"
    for t in d["tables"]:
        assert t["state"] == "loaded" and t["sstables_after"] > t["sstables_before"], t
    # The last progress line tells the final state, not a stale count.
    assert prog[-1]["files_done"] == prog[-1]["files_total"], prog[-1]
    assert n1.count("shop.orders") == 500 and n1.count("shop.customers") == 100
    out = n1.cqlsh("SELECT count(*) FROM shop.orders WHERE cust = 'c7';")
    assert any(line.strip() == "10" for line in out.splitlines()), out
    assert not list(Path(n1.data_dir).glob(".rm-restore-*"))
    assert not list(Path(n1.table_root).rglob(".rm-restore-*"))
