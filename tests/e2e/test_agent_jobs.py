"""`ringagent job` (agent/job.c) against simulated nodes: an operation
started under an id, detached from the caller, polled with byte offsets
(no line twice, none lost), attached to by a second start (one start
event), surviving the SSH session that started it, cancelled (exit 6, its
nodetool killed), lost when its supervisor and op are killed, removed by
retention (finished and lost jobs, and the temporary directories of starts
and removals that died half-way), an over-long output line passed over with
a marker, and bad ids and offsets refused."""
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from agentutil import RINGAGENT, sim_factory, simlib, wait_for, write_agent_conf  # noqa: F401
from orch import orch, orch_factory  # noqa: F401
from test_agent_tasks import prepare

SIMCTL = str(simlib.__file__).replace("simlib.py", "simctl")


def set_knob(c, key, value):
    for n in c.names:
        subprocess.run(["/usr/bin/python3", SIMCTL, "set", str(c.dir), n, key, value],
                       check=True, capture_output=True)


def job(conf, *args, timeout=30):
    """Run `ringagent -f conf job args...`; returns (exit, [lines], stderr)."""
    r = subprocess.run([str(RINGAGENT), "-f", str(conf), "job"] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.splitlines(), r.stderr


def status(lines):
    assert lines, "no output"
    st = json.loads(lines[-1])
    assert st["type"] == "job", lines[-1]
    return st


def jobdir(c, name, jid):
    return Path(c.node_dir(name)) / "agent-state" / "jobs" / jid


def events(c, name, jid):
    text = (jobdir(c, name, jid) / "events").read_text()
    return [json.loads(ln) for ln in text.splitlines() if ln]


def pids(c, name, jid):
    return json.loads((jobdir(c, name, jid) / "pid").read_text())


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


def nodetool_pids(c, name):
    want = "--sim-node\0" + c.node_dir(name)
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/cmdline", "rb") as f:
                    if want in f.read().decode(errors="replace"):
                        out.append(int(d))
            except OSError:
                pass
    return out


def poll_until_done(conf, jid, timeout=60):
    """Poll with offsets until done; returns (all op lines, last status)."""
    got, offset = [], 0
    deadline = time.monotonic() + timeout
    while True:
        rc, lines, err = job(conf, "poll", jid, "--offset", offset, "--json")
        assert rc == 0, err
        st = status(lines)
        assert st["offset"] >= offset
        got += lines[:-1]
        offset = st["offset"]
        if st["state"] != "running":
            return got, st
        assert time.monotonic() < deadline, f"job {jid} still running"
        time.sleep(0.3)


@pytest.fixture
def three(sim_factory, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3, keyspaces=1, num_tokens=4)
    tok = tmp_path / "token"
    tok.write_text("t\n")
    confs = {n: write_agent_conf(c, n, "http://127.0.0.1:9", tok) for n in c.names}
    c.start_all()  # sshd + Cassandra, no agent daemon
    return c, confs


def test_start_poll_offsets_and_attach(three):
    c, confs = three
    conf = confs["node1"]
    set_knob(c, "repair_delay", "0.4")
    t0 = time.monotonic()
    rc, lines, err = job(conf, "start", "rep-1", "--json", "--", "repair", "--full")
    assert rc == 0, err
    st = status(lines)
    assert st["id"] == "rep-1" and st["state"] == "running" and st["started"] is True
    assert st["exit"] is None and st["finished_at"] is None and st["signal"] is None
    assert st["started_at"] > 0
    assert time.monotonic() - t0 < 5, "job start waited for the op"

    # A second start of the same id attaches: nothing new runs.
    rc, lines, err = job(conf, "start", "rep-1", "--json", "--", "repair", "--full")
    assert rc == 0, err
    st2 = status(lines)
    assert st2["started"] is False and st2["started_at"] == st["started_at"]

    got, final = poll_until_done(conf, "rep-1")
    assert final["state"] == "done" and final["exit"] == 0 and final["signal"] is None
    assert final["finished_at"] >= final["started_at"]
    # Polled piecewise, the lines are exactly the op's whole output, in order.
    whole = (jobdir(c, "node1", "rep-1") / "out").read_text().splitlines()
    assert got == whole
    objs = [json.loads(ln) for ln in got]
    assert len(objs) >= 3 and objs[-1]["type"] == "result" and objs[-1]["ok"], objs
    assert all(o["type"] == "progress" for o in objs[:-1])
    assert final["offset"] == (jobdir(c, "node1", "rep-1") / "out").stat().st_size

    # Polling from the end prints only the status line; from 0, everything.
    rc, lines, _ = job(conf, "poll", "rep-1", "--offset", final["offset"], "--json")
    assert rc == 0 and len(lines) == 1 and status(lines)["offset"] == final["offset"]
    rc, lines, _ = job(conf, "poll", "rep-1", "--json")
    assert rc == 0 and lines[:-1] == whole

    ev = events(c, "node1", "rep-1")
    assert [e["event"] for e in ev].count("start") == 1, ev
    assert [e["event"] for e in ev].count("attach") == 1, ev
    assert ev[-1]["event"] == "end" and ev[-1]["exit"] == 0
    p = pids(c, "node1", "rep-1")
    assert ev[0]["pid"] == p["op"] and not alive(p["supervisor"]) and not alive(p["op"])
    res = json.loads((jobdir(c, "node1", "rep-1") / "result").read_text())
    assert res == {"exit": 0, "signal": None, "finished_at": final["finished_at"]}

    rc, lines, _ = job(conf, "list", "--json")
    rows = [json.loads(ln) for ln in lines]
    assert rc == 0 and [(r["id"], r["state"], r["op"]) for r in rows] == [("rep-1", "done", "repair")]


def test_concurrent_starts_start_once(three):
    c, confs = three
    conf = confs["node2"]
    c.fault("node2", "slow", command="info", delay=3)
    argv = [str(RINGAGENT), "-f", str(conf), "job", "start", "same", "--json", "--", "status"]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL) for _ in range(4)]
    outs = [p.communicate(timeout=30) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    started = [status(o.splitlines())["started"] for o, _ in outs]
    assert started.count(True) == 1, started
    _, final = poll_until_done(conf, "same")
    assert final["state"] == "done" and final["exit"] == 0
    ev = [e["event"] for e in events(c, "node2", "same")]
    assert ev.count("start") == 1 and ev.count("attach") == 3, ev
    # No half-built directories are left behind.
    assert sorted(os.listdir(jobdir(c, "node2", "same").parent)) == ["same"]


def test_job_survives_its_ssh_session(three):
    c, confs = three
    conf = confs["node3"]
    set_knob(c, "repair_delay", "0.5")
    marker = "61.25"  # a sleep only this test runs, to find the session
    cmd = f"{RINGAGENT} -f {conf} job start ssh-1 --json -- repair --full; exec sleep {marker}"
    ssh = subprocess.Popen(c.ssh_argv("node3", cmd), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    try:
        st = json.loads(ssh.stdout.readline())
        assert st["started"] is True and st["state"] == "running", st

        def sleeper():
            for d in os.listdir("/proc"):
                if d.isdigit():
                    try:
                        cl = Path(f"/proc/{d}/cmdline").read_bytes()
                    except OSError:
                        continue
                    if cl == b"sleep\0" + marker.encode() + b"\0":
                        return int(d)
            return None
        sp = wait_for(sleeper, "the session's sleep", timeout=10)
        sshd_session = int(Path(f"/proc/{sp}/stat").read_text().split(") ", 1)[1].split()[1])
        # The supervisor is in a session of its own, not the SSH session's.
        sup = pids(c, "node3", "ssh-1")["supervisor"]
        assert os.getsid(sup) == sup and os.getsid(sup) != os.getsid(sp)

        # The connection dies mid-op: client, sshd's session process, and
        # a hangup to what ran in the session.
        ssh.kill()
        os.killpg(os.getpgid(sp), signal.SIGHUP)
        try:
            os.kill(sshd_session, signal.SIGKILL)
        except ProcessLookupError:
            pass  # the hangup ended it first: the connection is gone all the same
        wait_for(lambda: not alive(sp), "the session's sleep gone", timeout=10)
    finally:
        if ssh.poll() is None:
            ssh.kill()
        ssh.wait()

    rc, lines, err = job(conf, "poll", "ssh-1", "--json")
    assert rc == 0, err
    assert status(lines)["state"] == "running", lines[-1]
    _, final = poll_until_done(conf, "ssh-1")
    assert final["state"] == "done" and final["exit"] == 0, final
    ev = [e["event"] for e in events(c, "node3", "ssh-1")]
    assert ev == ["start", "end"], ev


def test_cancel_kills_nodetool_and_exits_6(three):
    c, confs = three
    conf = confs["node1"]
    c.fault("node1", "hang")
    rc, lines, err = job(conf, "start", "hang-1", "--json", "--", "status")
    assert rc == 0 and status(lines)["state"] == "running", err
    wait_for(lambda: nodetool_pids(c, "node1"), "nodetool running", timeout=10)
    # Still running a moment later: stdin /dev/null and stdout a file do
    # not cancel a job's op, nor does a SIGHUP (which cancels an op over SSH).
    op = pids(c, "node1", "hang-1")["op"]
    assert b"RINGAGENT_JOB=hang-1\0" in Path(f"/proc/{op}/environ").read_bytes()
    os.kill(op, signal.SIGHUP)
    time.sleep(1.0)
    rc, lines, _ = job(conf, "poll", "hang-1", "--json")
    assert status(lines)["state"] == "running"
    assert alive(op) and nodetool_pids(c, "node1")

    rc, lines, err = job(conf, "cancel", "hang-1", "--wait", "15", "--json")
    assert rc == 0, err
    st = status(lines)
    assert st["state"] == "done" and st["exit"] == 6 and st["signal"] is None, st
    res = json.loads(lines[-2])
    assert res["type"] == "result" and res["error"]["code"] == "cancelled", res
    wait_for(lambda: not nodetool_pids(c, "node1"), "nodetool killed", timeout=5)
    ev = [e["event"] for e in events(c, "node1", "hang-1")]
    assert ev == ["start", "cancel", "end"], ev

    # Cancelling a finished job only reports it.
    rc, lines, _ = job(conf, "cancel", "hang-1", "--json")
    assert rc == 0 and status(lines)["exit"] == 6
    assert [e["event"] for e in events(c, "node1", "hang-1")].count("cancel") == 1


def test_killed_job_is_lost(three):
    c, confs = three
    conf = confs["node2"]
    c.fault("node2", "hang")
    rc, lines, err = job(conf, "start", "doomed", "--json", "--", "status")
    assert rc == 0, err
    p = pids(c, "node2", "doomed")
    os.kill(p["supervisor"], signal.SIGKILL)
    os.kill(p["op"], signal.SIGKILL)
    for n in nodetool_pids(c, "node2"):
        os.kill(n, signal.SIGKILL)
    wait_for(lambda: not alive(p["supervisor"]), "supervisor gone", timeout=5)
    rc, lines, err = job(conf, "poll", "doomed", "--json")
    assert rc == 0, err
    st = status(lines)
    assert st["state"] == "lost" and st["exit"] is None and st["finished_at"] is None, st
    # Attaching does not restart a lost job.
    rc, lines, _ = job(conf, "start", "doomed", "--json", "--", "status")
    assert status(lines)["state"] == "lost" and status(lines)["started"] is False
    assert [e["event"] for e in events(c, "node2", "doomed")].count("start") == 1


def test_cancel_of_lost_job_stops_the_orphaned_op(three):
    c, confs = three
    conf = confs["node3"]
    c.fault("node3", "hang")
    rc, lines, err = job(conf, "start", "orphan", "--json", "--", "status")
    assert rc == 0, err
    wait_for(lambda: nodetool_pids(c, "node3"), "nodetool running", timeout=10)
    p = pids(c, "node3", "orphan")
    os.kill(p["supervisor"], signal.SIGKILL)
    wait_for(lambda: not alive(p["supervisor"]), "supervisor gone", timeout=5)
    assert alive(p["op"])
    rc, lines, _ = job(conf, "poll", "orphan", "--json")
    assert status(lines)["state"] == "lost"
    rc, lines, err = job(conf, "cancel", "orphan", "--wait", "15", "--json")
    assert rc == 0, err
    assert status(lines)["state"] == "lost"
    wait_for(lambda: not alive(p["op"]), "orphaned op stopped", timeout=10)
    wait_for(lambda: not nodetool_pids(c, "node3"), "its nodetool killed", timeout=10)
    assert [e["event"] for e in events(c, "node3", "orphan")] == ["start", "cancel"]


def test_retention_removes_old_finished_jobs(three, tmp_path):
    c, confs = three
    conf = confs["node3"]
    for jid in ("old", "new"):
        rc, lines, err = job(conf, "start", jid, "--json", "--", "nodetool-check")
        assert rc == 0, err
        poll_until_done(conf, jid)
    # "old" finished eight days ago.
    rp = jobdir(c, "node3", "old") / "result"
    r = json.loads(rp.read_text())
    r["finished_at"] -= 8 * 86400 * 1000
    rp.write_text(json.dumps(r) + "\n")

    rc, lines, err = job(conf, "gc", "--json")
    assert rc == 0, err
    assert json.loads(lines[-1])["data"]["removed"] == ["old"]
    assert not jobdir(c, "node3", "old").exists() and jobdir(c, "node3", "new").exists()
    rc, lines, err = job(conf, "poll", "old", "--json")
    assert rc == 1 and "no job 'old'" in err
    assert json.loads(lines[-1])["ok"] is False

    # job_retention_s = 0 keeps everything; a start collects what is due.
    keep = Path(str(conf) + ".keep")
    keep.write_text(Path(conf).read_text() + "job_retention_s = 0\n")
    r = json.loads((jobdir(c, "node3", "new") / "result").read_text())
    r["finished_at"] -= 30 * 86400 * 1000
    (jobdir(c, "node3", "new") / "result").write_text(json.dumps(r) + "\n")
    rc, lines, _ = job(keep, "gc", "--json")
    assert json.loads(lines[-1])["data"]["removed"] == []
    rc, lines, err = job(conf, "start", "another", "--json", "--", "nodetool-check")
    assert rc == 0, err
    assert not jobdir(c, "node3", "new").exists()


def test_probe_jobs_are_kept_an_hour_not_the_retention(three):
    """A health probe's job (one every 5 s per replica while a repair checks
    max_pending_compactions) is removed an hour after it finished; other
    jobs keep the whole retention."""
    c, confs = three
    conf = confs["node3"]
    for jid, op in (("probe", ["health", "--nonce", "7", "--compactions"]),
                    ("work", ["nodetool-check"])):
        rc, lines, err = job(conf, "start", jid, "--json", "--", *op)
        assert rc == 0, err
        poll_until_done(conf, jid)

    def finished_ago(jid, seconds):
        rp = jobdir(c, "node3", jid) / "result"
        r = json.loads(rp.read_text())
        r["finished_at"] = int(time.time() * 1000) - seconds * 1000
        rp.write_text(json.dumps(r) + "\n")

    # 59 minutes: both stay; the listing says when the probe goes.
    finished_ago("probe", 59 * 60)
    finished_ago("work", 59 * 60)
    rc, lines, err = job(conf, "list", "--json")
    assert rc == 0, err
    listed = {j["id"]: j for j in map(json.loads, lines) if j.get("type") == "job"}
    assert listed["probe"]["op"] == "health"
    assert listed["probe"]["expires_at"] - listed["probe"]["finished_at"] == 3600 * 1000
    assert listed["work"]["expires_at"] - listed["work"]["finished_at"] == 604800 * 1000
    rc, lines, err = job(conf, "gc", "--json")
    assert json.loads(lines[-1])["data"]["removed"] == []
    # 61 minutes: the probe goes, the other job stays.
    finished_ago("probe", 61 * 60)
    finished_ago("work", 61 * 60)
    rc, lines, err = job(conf, "gc", "--json")
    assert rc == 0, err
    assert json.loads(lines[-1])["data"]["removed"] == ["probe"]
    assert not jobdir(c, "node3", "probe").exists() and jobdir(c, "node3", "work").exists()


def age(path, days):
    """Set the mtime of path and of every file in it `days` into the past."""
    t = time.time() - days * 86400
    for p in [path] + (list(path.iterdir()) if path.is_dir() else []):
        os.utime(p, (t, t))


def job_pids(jid):
    """Processes that run for job jid (RINGAGENT_JOB=jid in their environment)."""
    want, out = f"RINGAGENT_JOB={jid}".encode(), []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/environ", "rb") as f:
                    if want in f.read().split(b"\0"):
                        out.append(int(d))
            except OSError:
                pass
    return out


def test_retention_removes_lost_jobs_and_stale_temporaries(three):
    c, confs = three
    conf = confs["node2"]
    jobs = jobdir(c, "node2", "x").parent
    c.fault("node2", "hang")
    # Two lost jobs: one with nothing left running, one whose op outlived
    # its supervisor.
    for jid in ("gone", "orphaned"):
        rc, lines, err = job(conf, "start", jid, "--json", "--", "status")
        assert rc == 0, err
    wait_for(lambda: nodetool_pids(c, "node2"), "nodetool running", timeout=10)
    pg, po = pids(c, "node2", "gone"), pids(c, "node2", "orphaned")
    os.kill(pg["supervisor"], signal.SIGKILL)
    os.kill(pg["op"], signal.SIGKILL)
    for n in job_pids("gone"):
        os.kill(n, signal.SIGKILL)  # its nodetool, hung by the fault
    os.kill(po["supervisor"], signal.SIGKILL)
    wait_for(lambda: not alive(pg["supervisor"]) and not alive(pg["op"]) and
             not alive(po["supervisor"]), "supervisors gone", timeout=5)
    assert alive(po["op"])
    rc, lines, err = job(conf, "list", "--json")
    listed = {j["id"]: j for j in map(json.loads, lines)}
    assert listed["gone"]["state"] == "lost" and listed["gone"]["last_seen_at"] > 0
    assert listed["gone"]["expires_at"] == listed["gone"]["last_seen_at"] + 604800 * 1000
    assert listed["orphaned"]["state"] == "lost" and listed["orphaned"]["expires_at"] is None

    # Lost six days: kept; eight: removed, unless its op still runs.  The
    # events file does not count (a poll appends to it).
    age(jobdir(c, "node2", "gone"), 6)
    rc, lines, err = job(conf, "gc", "--json")
    assert rc == 0 and json.loads(lines[-1])["data"]["removed"] == [], lines
    age(jobdir(c, "node2", "gone"), 8)
    age(jobdir(c, "node2", "orphaned"), 8)
    (jobdir(c, "node2", "gone") / "events").touch()
    rc, lines, err = job(conf, "gc", "--json")
    data = json.loads(lines[-1])["data"]
    assert data == {"removed": ["gone"], "lost": ["gone"]}, data
    assert not jobdir(c, "node2", "gone").exists()
    assert jobdir(c, "node2", "orphaned").exists()
    # Once that op is stopped, the job goes too.
    rc, lines, err = job(conf, "cancel", "orphaned", "--wait", "15", "--json")
    assert rc == 0, err
    wait_for(lambda: not alive(po["op"]), "orphaned op stopped", timeout=10)
    age(jobdir(c, "node2", "orphaned"), 8)
    rc, lines, err = job(conf, "gc")
    assert rc == 0 and lines == ["removed orphaned (lost)"], lines
    c.fault("node2", "none")

    # Temporaries: a start whose process is gone (a PID no process has:
    # a child that exited), one whose process lives (this test), and a
    # removal that died half-way.
    dead = subprocess.Popen(["true"])
    dead.wait()
    made = {f".new-a.{dead.pid}": False, f".new-b.{os.getpid()}": True,
            f".gc-c.{os.getpid()}": False, ".new-d": True, ".keep": True}
    for name in made:
        (jobs / name).mkdir()
        (jobs / name / "argv").write_text("[]\n")
    rc, lines, err = job(conf, "gc", "--json")
    assert rc == 0, err
    assert {n: (jobs / n).exists() for n in made} == made
    # After an hour a start's directory goes whoever made it.
    age(jobs / f".new-b.{os.getpid()}", 2 / 24)
    age(jobs / ".new-d", 2 / 24)
    rc, lines, err = job(conf, "gc", "--json")
    assert not (jobs / f".new-b.{os.getpid()}").exists() and not (jobs / ".new-d").exists()
    assert (jobs / ".keep").exists()


def test_over_long_line_is_passed_over_with_a_marker(three):
    c, confs = three
    conf = confs["node1"]
    rc, lines, err = job(conf, "start", "long", "--json", "--", "nodetool-check")
    assert rc == 0, err
    got, st = poll_until_done(conf, "long")
    end = st["offset"]
    # Lines the op could have printed after: one of 17 MiB, one of 9 KiB,
    # a short one, and one still being written.
    out = jobdir(c, "node1", "long") / "out"
    big = b'{"type":"progress","message":"' + b"x" * (17 << 20) + b'"}\n'
    mid = b'{"type":"progress","message":"' + b"y" * 9000 + b'"}\n'
    with open(out, "ab") as f:
        f.write(big + mid + b'{"type":"progress","message":"short"}\n' + b"z" * 5000)
    rc, lines, err = job(conf, "poll", "long", "--offset", end, "--json", timeout=60)
    assert rc == 0, err
    mark = json.loads(lines[0])
    assert len(lines) == 2 and mark["type"] == "skipped", lines[0][:300]
    assert mark["offset"] == end and mark["bytes"] == len(big)
    assert mark["limit"] == 16 << 20 and mark["head"].startswith('{"type":"progress"')
    assert status(lines)["offset"] == end + len(big)
    # With --max-bytes the 9 KiB line is over the limit too; the short
    # one comes whole, and the unfinished one waits for its newline.
    off = status(lines)["offset"]
    rc, lines, err = job(conf, "poll", "long", "--offset", off, "--max-bytes", 4096,
                         "--json")
    mark = json.loads(lines[0])
    assert mark["type"] == "skipped" and mark["bytes"] == len(mid) and mark["limit"] == 4096
    off = status(lines)["offset"]
    rc, lines, err = job(conf, "poll", "long", "--offset", off, "--max-bytes", 4096,
                         "--json")
    assert json.loads(lines[0])["message"] == "short" and len(lines) == 2
    off = status(lines)["offset"]
    rc, lines, err = job(conf, "poll", "long", "--offset", off, "--max-bytes", 4096,
                         "--json")
    assert len(lines) == 1 and status(lines)["offset"] == off
    for bad in ("4095", str((16 << 20) + 1), "x"):
        rc, _, err = job(conf, "poll", "long", "--max-bytes", bad, "--json")
        assert rc == 2 and "--max-bytes" in err, err


FAKE_AGENT = r"""
import json, sys
args = sys.argv[2:]
with open(sys.argv[1], "a") as f:
    f.write(" ".join(args) + "\n")
i = args.index("job")
jid = args[i + 2]
print(json.dumps({"type": "progress", "message": "working"}))
print(json.dumps({"type": "skipped", "offset": 40, "bytes": 2000000, "limit": 983040,
                  "head": '{"type":"result","ok":true', "message": "a line of 2000000 "
                  "bytes at offset 40 is longer than the 983040 bytes a poll prints"}))
print(json.dumps({"type": "job", "id": jid, "state": "done", "started": True,
                  "offset": 2000040, "exit": 0, "signal": None, "started_at": 1,
                  "finished_at": 2}))
"""


def test_orchestrator_fails_a_job_whose_result_was_skipped(sim_factory, orch, tmp_path):  # noqa: F811
    """The orchestrator asks for what its SSH client reads (--max-bytes) and
    never passes a job whose result line it could not read: an agent that
    reports exit 0 after a skipped line fails the step, naming why."""
    c = sim_factory(nodes=3)
    prepare(c, orch, tmp_path)
    fake, calls = tmp_path / "fake_agent.py", tmp_path / "calls"
    fake.write_text(FAKE_AGENT)
    t = orch.submit("sim", "node-status", agent=f"/usr/bin/python3 {fake} {calls}",
                    timeout_s=30)
    t = orch.wait_task(t["id"], states=("succeeded", "failed"), timeout=60)
    assert t["state"] == "failed", t
    assert "result line was longer than the 983040 bytes a poll reads" in t["error"], t["error"]
    assert "ringagent job poll" in t["error"], t["error"]
    made = calls.read_text().splitlines()
    assert made and all(" --max-bytes 983040 " in m for m in made), made


def test_bad_ids_offsets_and_usage(three):
    c, confs = three
    conf = confs["node1"]
    jobs = jobdir(c, "node1", "x").parent
    for bad in ("", "a/b", "..", "x" * 101, "a b", "-"[:0] + "ü"):
        rc, lines, err = job(conf, "start", bad, "--json", "--", "status")
        assert rc == 2, (bad, err)
        assert "needs an ID" in err
    assert not jobs.exists() or os.listdir(jobs) == []
    rc, _, err = job(conf, "start", "new-id", "--offset", "10", "--json", "--", "status")
    assert rc == 2 and "past the end" in err
    assert not jobdir(c, "node1", "new-id").exists()
    rc, _, err = job(conf, "start", "ok-id", "--json")
    assert rc == 2 and "after '--'" in err
    rc, _, err = job(conf, "start", "ok-id", "--json", "--", "frobnicate")
    assert rc == 2 and "unknown operation" in err
    rc, _, err = job(conf, "poll", "ok-id", "--offset", "-3")
    assert rc == 2 and "not a byte offset" in err
    rc, _, err = job(conf, "poll", "nope", "--json")
    assert rc == 1 and "no job 'nope'" in err
    rc, _, err = job(conf, "frob")
    assert rc == 2 and "unknown job command" in err
    assert not jobs.exists() or os.listdir(jobs) == []

    rc, lines, err = job(conf, "start", "fine", "--json", "--", "nodetool-check")
    assert rc == 0, err
    _, st = poll_until_done(conf, "fine")
    rc, _, err = job(conf, "poll", "fine", "--offset", st["offset"] + 1)
    assert rc == 2 and "past the end" in err
    rc, _, err = job(conf, "poll", "fine", "--offset", 1)
    assert rc == 2 and "start of a line" in err

    rc, lines, err = job(Path(conf).parent / "missing.conf", "poll", "fine", "--json")
    assert rc == 5 and json.loads(lines[-1])["error"]["code"] == "config"


def test_cancel_incremental_repair_fails_its_sessions_in_cassandra(three):
    c, confs = three
    conf = confs["node1"]
    set_knob(c, "repair_delay", "3")
    # A session this node coordinates that was open before the repair is
    # not the repair's to cancel.
    nj_path = Path(c.node_dir("node1")) / "node.json"
    other = "0b0b0b0b-1111-11f1-8bd1-4fb29e73fc3f"
    nj = json.loads(nj_path.read_text())
    nj["ir_sessions"] = [{"id": other, "state": "REPAIRING", "last": int(time.time()),
                          "coordinator": c.address("node1"), "participants": []}]
    nj_path.write_text(json.dumps(nj))
    rc, lines, err = job(conf, "start", "ir-1", "--json", "--",
                         "repair", "--incremental", "--keyspace", "ks1")
    assert rc == 0, err

    def session():
        ss = json.loads(nj_path.read_text()).get("ir_sessions", [])
        return [s for s in ss if s["id"] != other] or None
    ss = wait_for(session, "an incremental session in Cassandra", timeout=20)
    assert len(ss) == 1 and ss[0]["state"] == "REPAIRING"
    rc, lines, err = job(conf, "cancel", "ir-1", "--wait", "30", "--json")
    assert rc == 0, err
    st = status(lines)
    assert st["state"] == "done" and st["exit"] == 6, st
    res = json.loads(lines[-2])
    assert res["error"]["code"] == "cancelled"
    assert res["data"]["cancelled_sessions"] == [ss[0]["id"]], res
    assert "failed in Cassandra with repair_admin cancel" in res["error"]["message"]
    after = json.loads(nj_path.read_text())["ir_sessions"]
    assert [(s["id"], s["state"]) for s in after] == [(other, "REPAIRING"), (ss[0]["id"], "FAILED")]
    assert not nodetool_pids(c, "node1")

    # A full repair's sessions are ended with forceTerminateAllRepairSessions
    # (nodetool sjk): the result says so, and the sim's server has no full
    # repair running any more.
    rc, lines, err = job(conf, "start", "full-1", "--json", "--", "repair", "--full", "--keyspace", "ks1")
    assert rc == 0, err
    wait_for(lambda: any(x["state"] == "RUNNING" for x in
                         json.loads(nj_path.read_text()).get("full_repairs", [])),
             "a full repair running in Cassandra", timeout=20)
    rc, lines, err = job(conf, "cancel", "full-1", "--wait", "30", "--json")
    st = status(lines)
    assert st["exit"] == 6, st
    res = json.loads(lines[-2])
    assert "terminated in Cassandra" in res["error"]["message"], res
    assert res["data"]["sessions_terminated"] is True, res
    assert "cancelled_sessions" not in res["data"]
    fulls = json.loads(nj_path.read_text())["full_repairs"]
    assert [x["state"] for x in fulls] == ["TERMINATED"], fulls
