"""The state mirror (orchestrator/mirror/): generations of state.db in
file:// and in s3rver, written within state_mirror_delay of a change and
not without one, kept to state_mirror_keep; a failing store shows in the
metrics and the events while the orchestrator keeps serving; and recovery:
an orchestrator killed with -9 whose data directory is gone is carried on
by another with an empty data directory and the same mirror - clusters,
tokens, schedules and a running task come back, the task completes with no
step run twice, the schedule does not fire twice for its slot.  Then the
operator's `state list` and `state restore`, with a tampered object and a
wrong key."""
import os
import re
import shutil
import subprocess
import time
from datetime import datetime, timezone, timedelta
from pathlib import Path

import pytest

from agentutil import sim_factory  # noqa: F401
from orch import Orch, bin_path, orch_factory, wait_until  # noqa: F401
from s3util import BUCKET, KEY, SECRET, s3server  # noqa: F401
from test_node_jobs import all_jobs, running_step, slow_repair, starts
from test_repair import finished

KEY_HEX = "8f1c0a5e3b7d29c4e6a1f0b2d3c4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6"
OTHER_KEY_HEX = "0" * 63 + "1"


def metric(o, name):
    text = o.session.get(o.base + "/metrics", timeout=5).text
    m = re.search(rf"^{name} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def events(o, kind="state_mirror"):
    items = o.ok("GET", "/api/v1/events", params={"limit": 1000})["items"]
    return [e for e in items if e["kind"] == kind]


def file_latest(mdir):
    p = Path(mdir) / "latest"
    return p.read_text() if p.exists() else None


def file_gens(mdir):
    g = Path(mdir) / "generations"
    return sorted(x.name for x in g.iterdir()) if g.exists() else []


def s3_latest(path):
    """The generation s3rver's copy of `latest` names, once it is whole
    (s3rver writes the file as the body arrives)."""
    try:
        text = path.read_text()
    except OSError:
        return None
    return text.strip() if re.fullmatch(r"\d{16}\n", text) else None


def iso(t):
    return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def keyfile(tmp_path):
    p = tmp_path / "mirror.key"
    p.write_text(KEY_HEX + "\n")
    p.chmod(0o600)
    return p


def test_file_mirror_delay_no_change_and_retention(orch_factory, tmp_path):  # noqa: F811
    mdir = tmp_path / "mirror"
    o = orch_factory(conf={"state_mirror": f"file://{mdir}",
                           "state_mirror_delay": "1500ms",
                           "state_mirror_interval": "1h",
                           "state_mirror_keep": "3"})
    # A first generation at start.
    first = wait_until(lambda: file_latest(mdir), 10, "the first generation")
    assert re.fullmatch(r"\d{16}\n", first)
    gen = first.strip()
    man = (mdir / "generations" / gen / "manifest.json").read_text()
    assert f'"generation":"{gen}"' in man and '"encrypted":false' in man
    assert (mdir / "generations" / gen / "state.db").read_bytes()[:15] == b"SQLite format 3"
    # Nothing changes: no new generation (the interval is an hour).
    time.sleep(2.0)
    assert file_latest(mdir) == first, "a generation without a change"
    assert metric(o, "ringmaster_state_mirror_age_seconds") >= 1.5
    # A change appears within the delay (and some slack for a busy host).
    t0 = time.monotonic()
    o.create_cluster("c1")
    wait_until(lambda: file_latest(mdir) != first, 8, "a generation after the change")
    took = time.monotonic() - t0
    assert took >= 1.3, f"written {took:.2f}s after the change, before the delay"
    assert metric(o, "ringmaster_state_mirror_age_seconds") < 5
    assert metric(o, "ringmaster_state_mirror_last_bytes") > 4096
    assert metric(o, "ringmaster_state_mirror_failures_total") == 0
    # Retention: five more changes, three generations stay, latest among them.
    for i in range(5):
        before = file_latest(mdir)
        o.create_cluster(f"r{i}")
        wait_until(lambda: file_latest(mdir) != before, 8, f"generation {i}")
    gens = file_gens(mdir)
    assert len(gens) == 3, gens
    assert file_latest(mdir).strip() == gens[-1]
    # A burst of changes inside one delay makes one generation.
    before = file_latest(mdir)
    for i in range(5):
        o.create_cluster(f"b{i}")
    wait_until(lambda: file_latest(mdir) != before, 8, "the burst's generation")
    after = file_latest(mdir)
    time.sleep(2.5)
    assert file_latest(mdir) == after, "more than one generation for one burst"
    # No temporary snapshot is left in data_dir.
    assert not [p for p in o.data_dir.iterdir() if p.name.startswith(".mirror-")]


def test_s3_mirror_sealed_then_failure_and_recovery(orch_factory, s3server, keyfile,  # noqa: F811
                                                    monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    prefix = "mirror-fail"
    o = orch_factory(conf={"state_mirror": f"s3://{BUCKET}/{prefix}",
                           "state_mirror_endpoint": s3server.endpoint,
                           "state_mirror_region": "us-east-1",
                           "state_mirror_key_file": str(keyfile),
                           "state_mirror_delay": "500ms",
                           "state_mirror_interval": "1h"})
    latest = s3server.object_path(f"{prefix}/latest")
    gen = wait_until(lambda: s3_latest(latest), 15, "the first generation in s3rver")
    sealed = s3server.object_path(f"{prefix}/generations/{gen}/state.db.enc")
    assert sealed.exists()
    assert b"SQLite format 3" not in sealed.read_bytes()[:64]
    assert not s3server.object_path(f"{prefix}/generations/{gen}/state.db").exists()

    s3server.stop()
    try:
        o.create_cluster("while-down")
        wait_until(lambda: metric(o, "ringmaster_state_mirror_failures_total") >= 1, 30,
                   "a failure counted")
        ev = wait_until(lambda: [e for e in events(o) if e["result"] == "failed"], 10,
                        "a failed event")
        assert len(ev) == 1, ev
        assert ev[0]["detail"]["severity"] == "warn"
        assert "cannot upload" in ev[0]["detail"]["error"], ev[0]
        # The orchestrator keeps serving, reads and writes.
        o.create_cluster("still-serving")
        assert o.get("/api/v1/clusters/still-serving").status_code == 200
        assert "state mirror:" in o.log_path.read_text()
        assert "tries again" in o.log_path.read_text()
    finally:
        s3server.restart()
    rec = wait_until(lambda: [e for e in events(o) if e["result"] == "recovered"], 40,
                     "a recovered event")
    assert rec[0]["detail"]["severity"] == "info"
    wait_until(lambda: s3_latest(latest) not in (None, gen), 10, "a new latest")
    assert metric(o, "ringmaster_state_mirror_age_seconds") < 30
    # One failed event for the whole outage, not one per attempt.
    assert len([e for e in events(o) if e["result"] == "failed"]) == 1


def step_times(t):
    return [(s["name"], s["state"], s["attempts"], s["started_at"], s["finished_at"])
            for s in t["steps"]]


def test_recovery_on_a_fresh_host_after_kill9(orch_factory, s3server, keyfile,  # noqa: F811
                                              tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    prefix = "mirror-recover"
    conf = {"state_mirror": f"s3://{BUCKET}/{prefix}",
            "state_mirror_endpoint": s3server.endpoint,
            "state_mirror_key_file": str(keyfile),
            "state_mirror_delay": "1s", "state_mirror_interval": "1h"}
    a = orch_factory(conf=conf, name="host-a")
    latest = s3server.object_path(f"{prefix}/latest")
    wait_until(lambda: s3_latest(latest), 15, "the first generation")
    ops = a.create_token("operator", "ops")
    admin = a.admin_token
    a.create_cluster("prod")
    a.create_cluster("dev")
    start = time.time() + 4
    sched = a.ok("POST", "/api/v1/clusters/prod/schedules",
                 {"type": "noop", "params": {"duration_s": 0.5}, "every": "1h",
                  "start": iso(start)}, status=201)
    tid = a.submit("dev", duration_s=16, steps=4)["id"]

    def scheduled(o):
        items = o.ok("GET", "/api/v1/clusters/prod/tasks", params={"limit": 1000},
                     token=admin)["items"]
        return [t for t in items if t.get("schedule_id") == sched["id"]]

    # The schedule fires; the long task is in its second step.
    wait_until(lambda: len(scheduled(a)) == 1, 15, "the schedule's first run")
    wait_until(lambda: a.task(tid)["steps"][1]["state"] == "running", 20,
               "the long task's second step")
    before = a.task(tid)
    sched_before = a.ok("GET", "/api/v1/clusters/prod/schedules")["items"][0]
    # The mirror writes within its delay (nudged at once by the task state
    # changes); wait for a generation newer than the last change we made.
    mark = int(time.time() * 1000)
    wait_until(lambda: int(s3_latest(latest) or 0) > mark, 10, "a generation after the changes")
    a.kill9()
    shutil.rmtree(a.data_dir)

    b = Orch(tmp_path / "host-b", conf=conf)
    t0 = time.monotonic()
    b.start(timeout=30)
    recovery_s = time.monotonic() - t0
    try:
        log = b.log_path.read_text()
        assert re.search(r"restored generation \d{16} \(written .*sealed\)", log), log
        print(f"recovery: restore and start in {recovery_s:.2f}s")
        # Tokens: the old admin token and the operator token still work.
        assert b.get("/api/v1/clusters", token=admin).status_code == 200
        assert b.get("/api/v1/clusters", token=ops).status_code == 200
        assert b.get("/api/v1/clusters", token="not-a-token").status_code == 401
        names = {c["name"] for c in b.ok("GET", "/api/v1/clusters", token=admin)["items"]}
        assert {"prod", "dev"} <= names
        s = b.ok("GET", "/api/v1/clusters/prod/schedules", token=admin)["items"]
        assert [x["id"] for x in s] == [sched["id"]]
        assert s[0]["next_run_at"] == sched_before["next_run_at"]
        # The task completes; no step ran twice: steps finished before the
        # kill are untouched, the one running went on as the same attempt.
        done = wait_until(lambda: (lambda t: t if t["state"] == "succeeded" else None)(
            b.ok("GET", f"/api/v1/tasks/{tid}", token=admin)), 60, "the task to complete")
        for i, st in enumerate(done["steps"]):
            assert st["state"] == "succeeded" and st["attempts"] == 1, st
            if before["steps"][i]["state"] == "succeeded":
                assert (st["started_at"], st["finished_at"]) == (
                    before["steps"][i]["started_at"], before["steps"][i]["finished_at"])
        assert done["steps"][1]["started_at"] == before["steps"][1]["started_at"]
        # The schedule does not fire again for the slot it already ran.
        time.sleep(3)
        runs = scheduled(b)
        assert len(runs) == 1, runs
    finally:
        b.kill9()
        print(f"--- host-b log tail ---\n{b.log_tail()}")


def run(conf_path, *args):
    return subprocess.run([str(bin_path()), "-f", str(conf_path), *args],
                          capture_output=True, text=True, timeout=60)


def test_state_list_and_restore(orch_factory, tmp_path, keyfile):  # noqa: F811
    mdir = tmp_path / "mirror"
    o = orch_factory(conf={"state_mirror": f"file://{mdir}",
                           "state_mirror_key_file": str(keyfile),
                           "state_mirror_delay": "300ms",
                           "state_mirror_interval": "1h"})
    wait_until(lambda: file_latest(mdir), 10, "the first generation")
    first = file_latest(mdir).strip()
    o.create_cluster("one")
    wait_until(lambda: file_latest(mdir).strip() != first, 8, "a second generation")
    second = file_latest(mdir).strip()

    # Refused while the orchestrator runs on the data_dir.
    r = run(o.conf_path, "state", "restore")
    assert r.returncode != 0 and "stop it first" in r.stderr, r.stderr
    assert o.stop() == 0
    gens = file_gens(mdir)
    newest = gens[-1]

    r = run(o.conf_path, "state", "list")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split()[:5] == ["GENERATION", "CREATED", "BYTES", "ENCRYPTED", "STATE"]
    rows = [line.split() for line in lines[1:]]
    assert [x[0] for x in rows] == sorted(gens, reverse=True), r.stdout
    assert all(x[3] == "yes" and x[4] == "complete" for x in rows), r.stdout
    assert rows[0][-1] == "(latest)" and rows[0][0] == newest
    assert first in [x[0] for x in rows] and second in [x[0] for x in rows]

    # A generation cut short shows why.
    (mdir / "generations" / "0000000000000001").mkdir(parents=True)
    (mdir / "generations" / "0000000000000001" / "state.db.enc").write_bytes(b"x")
    r = run(o.conf_path, "state", "list")
    assert re.search(r"^0000000000000001 .*incomplete: no manifest", r.stdout, re.M), r.stdout

    db = o.data_dir / "state.db"
    # A named generation; the old state.db is moved aside, not deleted.
    r = run(o.conf_path, "state", "restore", "--generation", first)
    assert r.returncode == 0, r.stderr
    assert f"restored generation {first}" in r.stdout
    aside = list(o.data_dir.glob("state.db.before-restore-*"))
    assert [p for p in aside if not p.name.endswith(("-wal", "-shm"))], aside
    restored = db.read_bytes()

    # No such generation; not a generation.
    r = run(o.conf_path, "state", "restore", "--generation", "0000000000000002")
    assert r.returncode != 0 and "no generation 0000000000000002" in r.stderr, r.stderr
    r = run(o.conf_path, "state", "restore", "--generation", "latest")
    assert r.returncode != 0 and "16 digits" in r.stderr
    assert db.read_bytes() == restored, "a failed restore changed state.db"

    # A tampered object: refused by name; the default restore falls back.
    obj = mdir / "generations" / newest / "state.db.enc"
    data = bytearray(obj.read_bytes())
    data[len(data) // 2] ^= 0x55
    obj.write_bytes(bytes(data))
    r = run(o.conf_path, "state", "restore", "--generation", newest)
    assert r.returncode != 0 and ("SHA-256" in r.stderr or "checksum" in r.stderr), r.stderr
    assert db.read_bytes() == restored
    r = run(o.conf_path, "state", "restore")
    assert r.returncode == 0, r.stderr
    m = re.search(r"restored generation (\d{16})", r.stdout)
    assert m and m.group(1) != newest and m.group(1) in gens, r.stdout
    assert "could not be used" in r.stdout

    # A wrong key: the seal refuses it, nothing is replaced.
    bad = tmp_path / "other.key"
    bad.write_text(OTHER_KEY_HEX + "\n")
    o.settings["state_mirror_key_file"] = str(bad)
    o.write_config()
    now = db.read_bytes()
    r = run(o.conf_path, "state", "restore", "--generation", first)
    assert r.returncode != 0 and "failed authentication" in r.stderr, r.stderr
    assert db.read_bytes() == now

    # A fresh data_dir with the wrong key: the start stops rather than
    # starting empty over a mirror it cannot read.
    o.settings["data_dir"] = str(tmp_path / "fresh")
    o.write_config()
    p = subprocess.run([str(bin_path()), "-d", "-f", str(o.conf_path)],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "cannot restore" in o.log_path.read_text()
    assert not (tmp_path / "fresh" / "state.db").exists()

    # No mirror configured.
    del o.settings["state_mirror"]
    o.write_config()
    r = run(o.conf_path, "state", "list")
    assert r.returncode != 0 and "state_mirror is not set" in r.stderr


def test_config_checks(tmp_path):
    for line, words in [("state_mirror = http://x/y", ["state_mirror", "s3://"]),
                        ("state_mirror = file://rel/dir", ["state_mirror"]),
                        ("state_mirror_keep = 0", ["state_mirror_keep"]),
                        ("state_mirror_delay = 5x", ["state_mirror_delay"])]:
        conf = tmp_path / "bad.conf"
        conf.write_text(f"data_dir = {tmp_path}/data\n{line}\n")
        r = subprocess.run([str(bin_path()), "-n", "-f", str(conf)],
                           capture_output=True, text=True)
        assert r.returncode != 0, line
        for w in words:
            assert w in r.stderr, (line, r.stderr)
    # A key file that is not a key stops the start with its path.
    k = tmp_path / "k"
    k.write_text("secret\n")
    conf = tmp_path / "c.conf"
    conf.write_text(f"data_dir = {tmp_path}/data\nstate_mirror = file://{tmp_path}/m\n"
                    f"state_mirror_key_file = {k}\nlog_file = {tmp_path}/log\n")
    r = subprocess.run([str(bin_path()), "-d", "-f", str(conf)], capture_output=True,
                       text=True, timeout=20)
    assert r.returncode != 0
    assert str(k) in (tmp_path / "log").read_text()


def test_sigterm_writes_a_last_generation(orch_factory, tmp_path):  # noqa: F811
    mdir = tmp_path / "mirror"
    conf = {"state_mirror": f"file://{mdir}", "state_mirror_delay": "1h",
            "state_mirror_interval": "1h"}
    a = orch_factory(conf=conf, name="a")
    # Nothing written yet (the delay is an hour): the age says so.
    assert metric(a, "ringmaster_state_mirror_age_seconds") == -1
    assert file_latest(mdir) is None
    a.create_cluster("kept-by-sigterm")
    assert a.stop() == 0
    assert file_latest(mdir), "no generation written on SIGTERM"
    assert "writing a last generation before stopping" in a.log_path.read_text()
    b = orch_factory(conf=conf, name="b")
    assert "restored generation" in b.log_path.read_text()
    assert b.get("/api/v1/clusters/kept-by-sigterm", token=a.admin_token).status_code == 200


def test_recovery_reattaches_node_jobs(sim_factory, orch_factory, tmp_path):  # noqa: F811
    """A repair's node job runs when the orchestrator dies with its disk; the
    one restored on another data_dir (same address, so the agents' heartbeats
    reach it) attaches to the jobs instead of starting them again."""
    mdir = tmp_path / "mirror"
    conf = {"state_mirror": f"file://{mdir}", "state_mirror_delay": "500ms",
            "state_mirror_interval": "1h"}
    a = orch_factory(conf=conf, name="a")
    c = sim_factory(nodes=3)
    t, _ = slow_repair(c, a, tmp_path, 1.5)
    tid = t["id"]
    wait_until(lambda: running_step(a, tid) is not None, 30, "a step running")
    mark = int(time.time() * 1000)
    wait_until(lambda: int(file_latest(mdir) or 0) > mark, 10, "a generation after the step began")
    admin = a.admin_token
    a.kill9()
    shutil.rmtree(a.data_dir)
    b = orch_factory(conf={**conf, "listen": f"127.0.0.1:{a.port}"}, start=False, name="b")
    b.port = a.port
    b.start(timeout=30)
    # The admin token file is not in the mirror; the token is.
    (b.data_dir / "admin.token").write_text(admin + "\n")
    assert "restored generation" in b.log_path.read_text()
    t = finished(b, tid, timeout=180)
    assert t["state"] == "succeeded", t
    for s in t["steps"]:
        assert s["attempts"] == 1, s
    jobs = all_jobs(c, tid)
    assert len(jobs) == 3, jobs
    for (n, jid), ev in jobs.items():
        assert starts(ev) == 1, (n, jid, ev)


def test_commands_on_a_fresh_data_dir_wait_for_the_restore(tmp_path):
    """`token create` before the first start would make an empty state.db,
    and the start would then mirror it over the real state."""
    conf = tmp_path / "c.conf"
    conf.write_text(f"data_dir = {tmp_path}/data\nstate_mirror = file://{tmp_path}/m\n")
    r = run(conf, "token", "create", "--role", "admin", "--name", "early")
    assert r.returncode != 0 and "state restore" in r.stderr, r.stderr
    assert not (tmp_path / "data" / "state.db").exists()
    # Without a mirror the same command makes the store, as before.
    conf.write_text(f"data_dir = {tmp_path}/data2\n")
    r = run(conf, "token", "create", "--role", "admin", "--name", "early")
    assert r.returncode == 0, r.stderr


def test_clear_mirror_of_stored_secrets_warns(orch_factory, tmp_path, keyfile):  # noqa: F811
    mdir = tmp_path / "mirror"
    conf = {"state_mirror": f"file://{mdir}", "state_mirror_delay": "200ms"}
    o = orch_factory(conf=conf)
    warning = "state_mirror_key_file is not set"
    o.create_cluster("plain")
    assert o.stop() == 0
    o.start()
    assert warning not in o.log_path.read_text(), "warned with no secret stored"
    o.create_cluster("secret", settings={"storage_access_key_id": "AKIAEXAMPLEEXAMPLE12",
                                         "storage_secret_access_key": "s3cr3t-value-not-in-logs"})
    assert o.stop() == 0
    o.start()
    log = o.log_path.read_text()
    assert warning in log and "openssl rand -hex 32" in log
    assert "s3cr3t-value-not-in-logs" not in log
    # With a key: sealed, no warning.
    assert o.stop() == 0
    o.settings["state_mirror_key_file"] = str(keyfile)
    o.write_config()
    o.log_path.write_text("")
    o.start()
    assert warning not in o.log_path.read_text()


def test_leftovers_of_a_crash_are_removed(orch_factory, tmp_path):  # noqa: F811
    mdir = tmp_path / "mirror"
    o = orch_factory(conf={"state_mirror": f"file://{mdir}"}, start=False)
    o.data_dir.mkdir(parents=True)
    junk = [o.data_dir / ".mirror-0001000000000000.db",
            o.data_dir / ".mirror-0001000000000000.db.enc",
            o.data_dir / ".mirror-fetch-0001000000000000"]
    for j in junk:
        j.write_bytes(b"half a snapshot")
    keep = o.data_dir / "mirror-notes.txt"
    keep.write_text("not ours")
    o.start()
    assert not [j for j in junk if j.exists()]
    assert keep.exists()
