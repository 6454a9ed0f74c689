"""Storage secrets (issue 16, findings 2 and 4; docs/security.md, "Secrets"):
per-cluster credentials are write-only cluster settings; they reach an
agent on the SSH channel's stdin and never a command line, an environment,
task params, events, logs or a job directory; task params that carry
something secret-shaped are refused; a backup that S3 refuses says the
HTTP status and S3's code in its task error
(s3rver refuses an unknown access key id, 403 InvalidAccessKeyId; it does
not check v4 signatures, so SignatureDoesNotMatch is not reachable here).

One simulated three-node cluster with sshd and agents, s3rver and the
orchestrator (tests/e2e/bkenv.py), shared by the module."""
import json
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from agentutil import RINGAGENT
from bkenv import S3_SECRETS, backup_env
from orch import Orch, wait_until
from s3util import BUCKET

CL = "sec"
PREFIX = "sec"
SECRET = "S3RVER"     # s3rver's fixed key id and secret: what must never show
# A secret nothing else in the test produces, to scan for after a PATCH.
PATCHED = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with backup_env(tmp_path_factory.mktemp("secrets"), CL, PREFIX,
                    net=30 + os.getpid() % 200, host=31, keyspaces=1) as e:
        yield e


def cluster(e):
    return e.o.ok("GET", f"/api/v1/clusters/{CL}")


def events_text(e):
    return json.dumps(e.o.ok("GET", "/api/v1/events", params={"limit": 1000}))


def set_secrets(e, **settings):
    return e.o.ok("PATCH", f"/api/v1/clusters/{CL}", {"settings": settings})


def run(e, type_, want="succeeded", timeout=180, **params):
    params.setdefault("agent", e.agent)
    t = e.o.ok("POST", f"/api/v1/clusters/{CL}/tasks", {"type": type_, "params": params},
               status=202)
    t = e.o.wait_task(t["id"], states=("succeeded", "failed", "cancelled"), timeout=timeout)
    assert t["state"] == want, json.dumps(t, indent=1)
    return t


def agent_procs():
    """{pid: (cmdline, environ)} of every ringagent process readable now."""
    out = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            exe = os.readlink(d / "exe")
            if not exe.startswith(str(RINGAGENT)):
                continue
            out[int(d.name)] = ((d / "cmdline").read_bytes().replace(b"\0", b" ").decode(),
                                (d / "environ").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return out


def test_get_shows_set_never_the_value_and_patch_sets_replaces_clears(env):
    e = env
    s = cluster(e)["settings"]
    assert s["storage_access_key_id"] == "set" and s["storage_secret_access_key"] == "set", s
    assert "storage_session_token" not in s, s
    assert SECRET not in json.dumps(cluster(e))
    # the list and a viewer see no more
    viewer = e.o.create_token("viewer", "sec-viewer")
    r = e.o.get(f"/api/v1/clusters/{CL}", token=viewer)
    assert r.status_code == 200 and SECRET not in r.text, r.text
    assert SECRET not in e.o.get("/api/v1/clusters", token=viewer).text

    # Replace the secret key (with a value of the same shape), add a token,
    # then put everything back: the values never come back out.
    after = set_secrets(e, storage_secret_access_key=PATCHED, storage_session_token=PATCHED)
    assert after["settings"]["storage_secret_access_key"] == "set"
    assert after["settings"]["storage_session_token"] == "set"
    after = set_secrets(e, storage_session_token=None, **S3_SECRETS)
    assert "storage_session_token" not in after["settings"], after
    ev = events_text(e)
    assert PATCHED not in ev and SECRET not in ev
    changes = [x["detail"]["changed"] for x in e.o.ok("GET", "/api/v1/events",
                                                         params={"limit": 1000})["items"]
               if x.get("kind") == "cluster" and x.get("result") == "updated"]
    assert any(c.get("settings.storage_session_token") == "set" for c in changes), changes
    assert any(c.get("settings.storage_session_token") == "cleared" for c in changes), changes

    # A bad value is refused without being quoted back, and changes nothing.
    r = e.o.req("PATCH", f"/api/v1/clusters/{CL}",
                body={"settings": {"storage_secret_access_key": "has blank " + PATCHED}})
    assert r.status_code == 400 and PATCHED not in r.text, r.text
    assert "storage_secret_access_key" in r.json()["error"]["message"]
    assert PATCHED not in e.o.log_path.read_text()


def test_a_task_param_with_a_secret_is_refused(env):
    e = env
    before = e.o.ok("GET", f"/api/v1/clusters/{CL}/tasks")["items"]
    for agent in (f"env AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY={PATCHED} {RINGAGENT}",
                  f"{RINGAGENT} --access-key AKIAIOSFODNN7EXAMPLE"):
        for path, body in ((f"/api/v1/clusters/{CL}/tasks",
                            {"type": "backup", "params": {"agent": agent}}),
                           (f"/api/v1/clusters/{CL}/schedules",
                            {"type": "backup", "every": "1h", "params": {"agent": agent}})):
            r = e.o.post(path, body)
            assert r.status_code == 400, (path, r.text)
            msg = r.json()["error"]["message"]
            assert "storage_secret_access_key" in msg and "looks like a secret" in msg, msg
            assert PATCHED not in r.text and "AKIAIOSFODNN7EXAMPLE" not in r.text, r.text
    assert e.o.ok("GET", f"/api/v1/clusters/{CL}/tasks")["items"] == before
    assert e.o.ok("GET", f"/api/v1/clusters/{CL}/schedules")["items"] == []
    assert PATCHED not in e.o.log_path.read_text()
    assert "AKIAIOSFODNN7EXAMPLE" not in e.o.log_path.read_text()


def test_a_backup_leaks_no_secret_anywhere(env):
    """During a backup signed with the cluster's settings: no ringagent
    process has a secret in its command line or environment; afterwards
    none is in the task, its events, the log or a job directory."""
    e = env
    seen, stop = {}, threading.Event()

    def scan():
        while not stop.is_set():
            seen.update(agent_procs())
            time.sleep(0.01)

    th = threading.Thread(target=scan, daemon=True)
    th.start()
    try:
        t = run(e, "backup")
    finally:
        stop.set()
        th.join(5)
    ops = [c for c, _ in seen.values() if "backup-upload" in c]
    assert ops, f"the scan saw no backup-upload process: {sorted(c for c, _ in seen.values())}"
    assert any("--secrets-stdin" in c for c in ops), ops
    for pid, (cmd, environ) in seen.items():
        assert SECRET not in cmd and SECRET not in environ, (pid, cmd)
    # the backup did sign with the settings: it is listed
    assert e.o.ok("GET", f"/api/v1/clusters/{CL}/backups")["items"]
    detail = e.o.ok("GET", f"/api/v1/tasks/{t['id']}")
    assert SECRET not in json.dumps(detail) and SECRET not in json.dumps(detail["params"])
    assert SECRET not in events_text(e)
    assert SECRET not in e.o.log_path.read_text()
    for n in e.c.names:
        for f in (Path(e.c.node_dir(n)) / "agent-state" / "jobs").rglob("*"):
            if f.is_file():
                assert SECRET.encode() not in f.read_bytes(), f


def test_a_refused_backup_says_the_s3_status_and_code(env):
    """s3rver checks the access key id (403 InvalidAccessKeyId), not v4
    signatures: an unknown key id is how it refuses here."""
    e = env
    try:
        set_secrets(e, storage_access_key_id="AKIAIOSFODNN7EXAMPLE",
                    storage_secret_access_key=PATCHED)
        t = run(e, "backup", want="failed", max_attempts=1)
        err = t["error"]
        assert "HTTP 403" in err and "InvalidAccessKeyId" in err, err
        # the cause comes first, not after a command line
        assert "ringagent" not in err and "--store" not in err, err
        text = json.dumps(e.o.ok("GET", f"/api/v1/tasks/{t['id']}"))
        assert PATCHED not in text and "AKIAIOSFODNN7EXAMPLE" not in text
        # the orchestrator's log line has the cause too, and no secret
        log = e.o.log_path.read_text()
        assert any("InvalidAccessKeyId" in ln and t["id"] in ln for ln in log.splitlines())
        assert PATCHED not in log and "AKIAIOSFODNN7EXAMPLE" not in log
        # a restore refused by the store says so the same way
        bid = e.o.ok("GET", f"/api/v1/clusters/{CL}/backups")["items"][0]["id"]
        t = run(e, "restore", want="failed", max_attempts=1, backup_id=bid,
                nodes=[e.c.address("node1")], keyspaces=["ks1"])
        assert "HTTP 403" in t["error"] and "InvalidAccessKeyId" in t["error"], t["error"]
        assert "AKIAIOSFODNN7EXAMPLE" not in json.dumps(t)
    finally:
        set_secrets(e, **S3_SECRETS)
    run(e, "backup")


def test_the_agent_reports_the_s3_status_and_code_of_its_own_requests(env, tmp_path):
    """The agent's side of the same failure, as the orchestrator would
    start it (`job start --secrets-stdin`), with a wrong secret on stdin:
    the op's result names the HTTP status and S3's code, and neither the
    job directory nor the op's command line keeps the secret."""
    e = env
    conf = Path(e.c.node_dir("node1")) / "agent.conf"
    line = json.dumps({"type": "secrets", "storage": {"access_key_id": "AKIAIOSFODNN7EXAMPLE",
                                                      "secret_access_key": PATCHED}}) + "\n"
    envv = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    r = subprocess.run([str(RINGAGENT), "-f", str(conf), "job", "start", "sec-agent-403",
                        "--secrets-stdin", "--json", "--", "backup-verify", "--store",
                        f"s3://{BUCKET}/{PREFIX}", "--endpoint", e.s3.endpoint,
                        "--manifest", f"{CL}/backups/none/nodes/x.json"],
                       input=line, capture_output=True, text=True, env=envv, timeout=60)
    assert r.returncode == 0, (r.stdout, r.stderr)

    def done():
        p = subprocess.run([str(RINGAGENT), "-f", str(conf), "job", "poll", "sec-agent-403",
                            "--json"], capture_output=True, text=True, timeout=30)
        lines = [json.loads(x) for x in p.stdout.splitlines() if x.startswith("{")]
        return lines if lines and lines[-1].get("state") == "done" else None
    lines = wait_until(done, 60, "the job to end")
    res = [x for x in lines if x.get("type") == "result"][-1]
    msg = res["error"]["message"]
    assert "HTTP 403" in msg and "InvalidAccessKeyId" in msg, res
    jobdir = Path(e.c.node_dir("node1")) / "agent-state" / "jobs" / "sec-agent-403"
    for f in jobdir.iterdir():
        assert PATCHED.encode() not in f.read_bytes(), f
        assert b"AKIAIOSFODNN7EXAMPLE" not in f.read_bytes(), f
    # a malformed line is refused before anything starts
    r = subprocess.run([str(RINGAGENT), "-f", str(conf), "job", "start", "sec-agent-bad",
                        "--secrets-stdin", "--json", "--", "status"],
                       input="{\"type\":\"secrets\",\"storage\":{\"password\":\"x\"}}\n",
                       capture_output=True, text=True, env=envv, timeout=60)
    assert r.returncode == 2 and "unknown field" in r.stdout, r.stdout
    assert not (jobdir.parent / "sec-agent-bad").exists()


def test_an_orchestrator_started_with_a_secret_agent_command_refuses_its_tasks(tmp_path):
    o = Orch(tmp_path / "o")
    old = os.environ.get("RINGMASTER_AGENT")
    os.environ["RINGMASTER_AGENT"] = f"env AWS_SECRET_ACCESS_KEY={PATCHED} ringagent"
    try:
        o.start()
    finally:
        if old is None:
            os.environ.pop("RINGMASTER_AGENT")
        else:
            os.environ["RINGMASTER_AGENT"] = old
    try:
        o.create_cluster("c1")
        r = o.post("/api/v1/clusters/c1/tasks", {"type": "node-status", "params": {}})
        assert r.status_code == 400, r.text
        assert "RINGMASTER_AGENT" in r.text and PATCHED not in r.text, r.text
    finally:
        o.kill9()
