"""ringsh tells the truth (pipe and -c): each message checked against the
state it describes — 409 per conflict, 403 per route, pause/cancel/resume
per task state, a backup delete that only queues a purge — short task ids
(prefix, the part that differs, 'last', ambiguity), events as sentences,
'status', --ca-file on the command line, the task types help offers, a
watch that rides out an orchestrator restart, and node-status honouring
the orchestrator's agent setting."""
import json
import re
import subprocess
import threading

import pytest

from orch import orch, orch_factory, wait_until  # noqa: F401
from test_ringsh_common import Recorder, clean_env, ringsh_path, run


def rsh(o, tmp_path, *args, token=None):
    env = clean_env(tmp_path, url=o.base, token=token or o.admin_token)
    return run(env, *args)


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r.stdout


def checkin(o, address, cluster="prod"):
    body = {"cluster": cluster, "address": address, "dc": "dc1", "rack": "r1",
            "cassandra_version": "4.1.3", "ssh_host_key": "ssh-ed25519 AAAA" + address}
    return o.ok("POST", "/api/v1/agents/checkin", body, token="agent")


@pytest.fixture
def fake():
    made = []

    def make(routes, **kw):
        r = Recorder(routes, **kw)
        made.append(r)
        return r
    yield make
    for r in made:
        r.close()


def fake_env(tmp_path, rec, **kw):
    return clean_env(tmp_path, url=rec.url, token="tok-1", **kw)


# ---- actions on tasks, per state ----

def test_actions_per_task_state(orch, tmp_path):
    """Every action on every state a task can be in, each line checked
    against what the orchestrator then holds."""
    orch.create_cluster("prod")

    def act(action, tid):
        return ok(rsh(orch, tmp_path, "-c", f"tasks {action} {tid}")).rstrip("\n")

    run_id = orch.submit("prod", duration_s=60, steps=60)["id"]
    orch.wait_task(run_id, states=("running",))
    q = orch.submit("prod")["id"]                     # queued behind it
    # queued
    assert act("resume", q) == f"task {q} is queued, not paused: nothing to resume"
    assert orch.task(q)["state"] == "queued"
    assert act("pause", q) == (f"paused task {q} — resume it with 'tasks resume {q}' "
                               f"or cancel it with 'tasks cancel {q}'")
    assert orch.task(q)["state"] == "paused"
    # paused
    assert act("pause", q).startswith(f"already paused: task {q} — ")
    assert act("resume", q) == (f"resumed task {q}: queued again, it goes on from its "
                                "first unfinished step")
    assert orch.task(q)["state"] == "queued"
    assert act("cancel", q) == f"cancelled task {q}"
    assert orch.task(q)["state"] == "cancelled"
    # running
    assert act("resume", run_id) == f"task {run_id} is running, not paused: nothing to resume"
    assert act("pause", run_id) == (f"asked task {run_id} to pause; it is still running and "
                                    f"pauses at its next checkpoint (follow it with "
                                    f"'watch {run_id}')")
    assert orch.task(run_id)["state"] in ("running", "paused")
    orch.wait_task(run_id, states=("paused",))
    assert act("cancel", run_id) == f"cancelled task {run_id}"
    run2 = orch.submit("prod", duration_s=60, steps=60)["id"]
    orch.wait_task(run2, states=("running",))
    assert act("cancel", run2).startswith(f"asked task {run2} to stop; it is still running")
    orch.wait_task(run2, states=("cancelled",))
    # ended: succeeded, failed, cancelled — nothing to do, and no talk of waiting.
    good = orch.submit("prod")["id"]
    orch.wait_task(good)
    bad = orch.submit("prod", fail_attempts=100)["id"]
    orch.wait_task(bad, states=("failed",), timeout=60)
    for tid, state in ((good, "succeeded"), (bad, "failed"), (q, "cancelled")):
        for action in ("cancel", "pause", "resume"):
            r = rsh(orch, tmp_path, "-c", f"tasks {action} {tid}")
            assert r.returncode == 1
            assert r.stderr == (f"ringsh: cannot {action} task '{tid}': it is {state} (409 "
                                f"conflict) — it has ended, so there is nothing to "
                                f"{action}; see how it ended with 'tasks show {tid}'\n")
            assert orch.task(tid)["state"] == state


# ---- 403 and 409, against the real routes ----

def test_403_names_the_role_the_route_wants(orch, tmp_path):
    orch.create_cluster("prod")
    viewer = orch.create_token("viewer", "v1")
    op = orch.create_token("operator", "o1")
    r = rsh(orch, tmp_path, "-C", "prod", "-c", "run noop", token=viewer)
    assert r.returncode == 1
    assert r.stderr.rstrip().endswith("— this needs a token with the operator or admin "
                                      "role: 'connect URL --token-file FILE' with one")
    for line in ("clusters update prod --ssh-user x", "clusters delete prod",
                 "clusters create x --storage file:///tmp/x --ssh-user u --ssh-key /k"):
        r = rsh(orch, tmp_path, "-c", line, token=op)
        assert r.returncode == 1, line
        assert "(403 forbidden: token 'o1' has role operator" in r.stderr
        assert "— this needs a token with the admin role:" in r.stderr, r.stderr


def test_409_says_what_to_do_about_each_conflict(orch, tmp_path):
    orch.create_cluster("prod")
    r = rsh(orch, tmp_path, "-c",
            "clusters create prod --storage file:///tmp/x --ssh-user u --ssh-key /k")
    assert r.returncode == 1
    assert r.stderr.rstrip().endswith("(409 conflict) — pick another name, or change "
                                      "the existing cluster with 'clusters update NAME'")
    tid = orch.submit("prod", duration_s=60, steps=60)["id"]
    orch.wait_task(tid, states=("running",))
    r = rsh(orch, tmp_path, "-c", "clusters update prod --ssh-user x")
    assert r.returncode == 1
    assert r.stderr.rstrip().endswith(f"(409 conflict) — wait for task {tid} to end "
                                      f"('watch {tid}') or cancel it with 'tasks cancel "
                                      f"{tid}', then retry")
    orch.ok("POST", f"/api/v1/tasks/{tid}/cancel")


def test_404_points_at_what_is_missing(orch, tmp_path):
    # Under .../backups the cluster is what is missing: list clusters, not backups.
    for line in ("backups --cluster nope", "schedules --cluster nope", "tasks --cluster nope"):
        r = rsh(orch, tmp_path, "-c", line)
        assert r.returncode == 1
        assert r.stderr == ("ringsh: cluster 'nope' not found (404 not found) — list them "
                            "with 'clusters'\n"), line
    r = rsh(orch, tmp_path, "-c", "tasks show t-0000000000000001")
    assert r.stderr == ("ringsh: task 't-0000000000000001' not found (404 not found) — "
                        "list them with 'tasks list'\n")


def test_409_for_a_damaged_backup_points_at_force(tmp_path, fake):
    rec = fake({("POST", "/api/v1/clusters/prod/tasks"): (409, {"error": {
        "code": "conflict", "message": "backup b-1 of 'prod' is damaged: 2 files lost "
        "or corrupt; pass \"force\": true"}})})
    r = run(fake_env(tmp_path, rec), "-C", "prod", "-c", "restore")
    assert r.returncode == 1
    assert r.stderr.rstrip().endswith("(409 conflict) — add --force to restore what is "
                                      "sound, or pick another backup with --backup ID "
                                      "(see 'backups')")


def test_backups_delete_says_a_purge_was_queued(tmp_path, fake):
    purge = {"id": "t-019a000000010000", "type": "purge", "state": "queued"}
    items = {"items": [{"id": "20261121T231926Z-019a000000000000", "state": "complete"},
                       {"id": "20261122T231926Z-019a111100000000", "state": "complete"}],
             "next": None}
    rec = fake({("GET", "/api/v1/clusters/prod/backups"): (200, items),
                ("DELETE", "/api/v1/clusters/prod/backups/"
                 "20261122T231926Z-019a111100000000"): (202, purge)})
    r = run(fake_env(tmp_path, rec), "-C", "prod", "-c", "backups delete 20261122")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ("queued purge task t-019a000000010000 for backup "
                        "20261122T231926Z-019a111100000000 of 'prod'; files other backups "
                        "use stay — follow it with 'watch t-019a000000010000'\n")
    assert "deleted" not in r.stdout
    # An ambiguous prefix is refused with the candidates; nothing is deleted.
    r = run(fake_env(tmp_path, rec), "-C", "prod", "-c", "backups delete 2026112")
    assert r.returncode == 1
    assert r.stderr == ("ringsh: '2026112' matches 2 backups of cluster 'prod': "
                        "20261121T231926Z-019a000000000000, "
                        "20261122T231926Z-019a111100000000 — type more of the id\n")
    assert [q["method"] for q in rec.requests].count("DELETE") == 1


# ---- short ids ----

def test_short_task_ids_last_and_ambiguity(orch, tmp_path):
    orch.create_cluster("prod")
    orch.create_cluster("other")
    ids = [orch.submit("prod")["id"] for _ in range(3)]
    for t in ids:
        orch.wait_task(t)
    newest = ids[-1]
    # 'last' is the newest task of the current cluster.
    out = ok(rsh(orch, tmp_path, "-C", "prod", "-c", "tasks show last"))
    assert re.search(rf"^id +{newest}$", out, re.M), out
    # The part that tells it apart is enough, with or without "t-".
    uniq = next(n for n in range(3, 17)
                if sum(newest[2:].find(newest[-n - 4:-4]) >= 0 and
                       o[2:].find(newest[-n - 4:-4]) >= 0 for o in ids) == 1)
    part = newest[-uniq - 4:-4]
    out = ok(rsh(orch, tmp_path, "-C", "prod", "-c", f"tasks show {part}"))
    assert re.search(rf"^id +{newest}$", out, re.M), (part, out)
    out = ok(rsh(orch, tmp_path, "-c", f"watch {newest[:-2]}"))   # no cluster: all
    assert f"task {newest} succeeded" in out
    # An ambiguous prefix lists the candidates and sends nothing else.
    r = rsh(orch, tmp_path, "-C", "prod", "-c", "tasks cancel t-")
    assert r.returncode == 1
    assert r.stderr.startswith("ringsh: 't-' matches 3 tasks of cluster 'prod': ")
    assert all(t in r.stderr for t in ids)
    assert r.stderr.rstrip().endswith("— type more of the id")
    r = rsh(orch, tmp_path, "-C", "other", "-c", "tasks show last")
    assert r.returncode == 1
    assert r.stderr == ("ringsh: cluster 'other' has no tasks yet, so there is no "
                        "'last' — start one with 'run TYPE'\n")


# ---- events ----

def test_events_json_is_unchanged_and_text_is_sentences(orch, tmp_path):
    orch.create_cluster("prod")
    tid = orch.submit("prod")["id"]
    orch.wait_task(tid)
    api = orch.ok("GET", "/api/v1/events?cluster=prod")
    got = json.loads(ok(rsh(orch, tmp_path, "-c", "events --json --cluster prod")))
    assert got["items"] == api["items"]
    out = ok(rsh(orch, tmp_path, "-c", "events --cluster prod"))
    assert f"noop {tid} queued → running\n" in out
    assert '{"type"' not in out


# ---- help and options ----

def test_help_run_offers_exactly_the_registered_types(orch, tmp_path):
    out = ok(rsh(orch, tmp_path, "-c", "help run"))
    (line,) = [l for l in out.splitlines() if l.startswith("task types:")]
    offered = line.split(":", 1)[1].split()
    # ringsh keeps no list: it offers what the orchestrator registers.
    assert offered == sorted(t["name"] for t in
                             orch.ok("GET", "/api/v1/task-types")["items"])
    assert "noop" in offered and "repair" in offered
    # Each is a type the orchestrator knows: an unknown type says so (400).
    orch.create_cluster("prod")
    for t in offered:
        r = orch.post("/api/v1/clusters/prod/tasks", {"type": t, "params": {}})
        assert "unknown task type" not in r.text, (t, r.text)
    r = orch.post("/api/v1/clusters/prod/tasks", {"type": "no-such-type", "params": {}})
    assert r.status_code == 400 and "unknown task type" in r.text, r.text


def test_ca_file_on_the_command_line(tmp_path, fake):
    key, crt = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", str(key), "-out", str(crt), "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    rec = fake({("GET", "/health"): (200, {"status": "ok", "version": "t", "uptime_s": 1})},
               tls=(str(crt), str(key)))
    env = clean_env(tmp_path)
    tok = tmp_path / "tok"
    tok.write_text("tok-1\n")
    r = run(env, "--url", rec.url, "--token-file", str(tok), "-c", "health")
    assert r.returncode == 1 and "--ca-file FILE" in r.stderr
    r = run(env, "--url", rec.url, "--token-file", str(tok), "--ca-file", str(crt),
            "-c", "health")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("ok  ringmaster t")
    assert rec.requests[-1]["auth"] == "Bearer tok-1"
    r = run(env, "--url", rec.url, "--ca-file", str(tmp_path / "nope.pem"), "-c", "health")
    assert r.returncode == 1
    assert r.stderr.startswith(f"ringsh: cannot read CA file {tmp_path}/nope.pem: ")
    r = run(env, "--ca-file", str(crt), "-c", "health")
    assert r.returncode == 1 and "--ca-file needs a connection" in r.stderr


# ---- status ----

def test_status_one_screen_with_what_needs_a_person(tmp_path, fake):
    now = "2026-01-01T00:00:00Z"
    routes = {
        ("GET", "/api/v1/clusters/prod/nodes"): (200, {"items": [
            {"address": "10.0.0.1", "state": "up", "last_heartbeat": now},
            {"address": "10.0.0.2", "state": "up", "last_heartbeat": now},
            {"address": "10.0.0.3", "state": "down", "last_heartbeat": now}], "next": None}),
        ("GET", "/api/v1/clusters/prod/tasks"): (200, {"items": [
            {"id": "t-6", "type": "repair", "state": "partial", "finished_at": now,
             "created_at": "2026-01-01T00:06:00Z",
             "error": "2 of 12 segments not repaired (0 failed after their attempts, "
                      "2 postponed past down_deadline): (1,2]"},
            {"id": "t-5", "type": "backup", "state": "running", "started_at": now,
             "progress": {"done": 3, "total": 12}, "created_at": "2026-01-01T00:05:00Z"},
            {"id": "t-4", "type": "verify", "state": "queued", "created_at": now},
            {"id": "t-3", "type": "repair", "state": "failed", "created_at": now,
             "finished_at": now, "error": "node 10.0.0.3 down"},
            {"id": "t-2", "type": "repair", "state": "succeeded",
             "created_at": "2025-12-31T00:00:00Z", "finished_at": "2025-12-31T01:00:00Z"},
        ], "next": None}),
        ("GET", "/api/v1/clusters/prod/backups"): (200, {"items": [
            {"id": "b-2", "state": "damaged", "damaged_files": 2, "finished_at": now,
             "last_verified_at": now, "last_verify": "damaged"},
            {"id": "b-1", "state": "complete", "finished_at": "2025-12-30T00:00:00Z",
             "last_verified_at": "2025-12-30T02:00:00Z", "last_verify": "ok"},
        ], "next": None}),
        ("GET", "/api/v1/clusters/prod/schedules"): (200, {"items": [
            {"id": "s-1", "type": "repair", "every": "7d", "next_run_at": "2999-01-01T00:00:00Z",
             "last_task_id": "t-3"}], "next": None}),
    }
    rec = fake(routes)
    r = run(fake_env(tmp_path, rec), "-C", "prod", "-c", "status")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert out.startswith("cluster prod\n")
    assert re.search(r"^  nodes +3: 2 up; 1 down$", out, re.M), out
    assert re.search(r"^  tasks +running backup t-5 3/12, started .*; queued verify t-4$",
                     out, re.M), out
    assert re.search(r"^  backup +last complete b-1, finished \S+ ago$", out, re.M), out
    assert re.search(r"^  verify +\S+ ago: damaged of b-2$", out, re.M), out
    assert re.search(r"^  repair +last succeeded \S+ ago \(t-2\)$", out, re.M), out
    assert re.search(r"^  schedules +repair every 7d, next in \S+ \(s-1\)$", out, re.M), out
    need = out.split("  needs a person:\n", 1)[1].splitlines()
    assert any(l.startswith("    node 10.0.0.3 is down") for l in need), need
    assert any(l.startswith("    repair t-3 failed") and "node 10.0.0.3 down" in l
               for l in need), need
    assert any(l.startswith("    backup b-2 is damaged (2 files lost or corrupt)")
               for l in need), need
    assert any(l.startswith("    schedule s-1 (repair every 7d): its last task t-3 failed")
               for l in need), need
    assert any(l.startswith("    repair t-6 ended partial") and
               l.endswith(": 2 of 12 segments not repaired (0 failed after their attempts, "
                          "2 postponed past down_deadline): (1,2] — see 'tasks show t-6'")
               for l in need), need
    assert len(need) == 5, need
    # Only reads.
    assert {q["method"] for q in rec.requests} == {"GET"}


def test_status_names_queued_tasks_in_run_order(tmp_path, fake):
    empty = (200, {"items": [], "next": None})
    tasks = [{"id": f"t-{i}", "type": "noop", "state": "queued"} for i in (5, 4, 3, 2)]
    rec = fake({("GET", "/api/v1/clusters/prod/nodes"): empty,
                ("GET", "/api/v1/clusters/prod/tasks"): (200, {"items": tasks, "next": None}),
                ("GET", "/api/v1/clusters/prod/backups"): empty,
                ("GET", "/api/v1/clusters/prod/schedules"): empty})
    r = run(fake_env(tmp_path, rec), "-C", "prod", "-c", "status")
    assert r.returncode == 0, r.stderr
    assert re.search(r"^  tasks +queued noop t-2, noop t-3, noop t-4 and 1 more$",
                     r.stdout, re.M), r.stdout
    assert re.search(r"^  nodes +0 \(agents add them when they check in\)$", r.stdout, re.M)


def test_status_of_a_quiet_cluster_needs_nobody_but_a_first_backup(orch, tmp_path):
    orch.create_cluster("prod")
    checkin(orch, "10.0.0.1")
    orch.post("/api/v1/agents/heartbeat", {"cluster": "prod", "address": "10.0.0.1",
                                           "status": "up"}, token="agent")
    orch.ok("POST", "/api/v1/clusters/prod/schedules", {"type": "noop", "every": "6h"},
            status=201)
    out = ok(rsh(orch, tmp_path, "-c", "status"))      # no cluster: every one
    assert out.startswith("cluster prod\n")
    assert re.search(r"^  tasks +none running or queued$", out, re.M), out
    assert re.search(r"^  schedules +noop every 6h, next in \S+ \(s-\w+\)$", out, re.M), out
    assert "no complete backup to restore from" in out


# ---- watch across an orchestrator restart ----

def test_watch_survives_an_orchestrator_restart(orch, tmp_path):
    orch.create_cluster("prod")
    tid = orch.submit("prod", duration_s=8, steps=8)["id"]
    orch.wait_task(tid, states=("running",))
    env = clean_env(tmp_path, url=orch.base, token=orch.admin_token)
    p = subprocess.Popen([str(ringsh_path()), "-c", f"watch {tid}"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err_lines = []
    reader = threading.Thread(target=lambda: err_lines.extend(p.stderr), daemon=True)
    reader.start()
    try:
        wait_until(lambda: orch.task(tid)["progress"]["done"] >= 1, 20, "some progress")
        orch.stop()
        # Down until the watch has noticed, so the outage cannot fall between polls.
        wait_until(lambda: any("lost the orchestrator" in l for l in err_lines), 30,
                   "the watch to notice")
        orch.start()
        out = p.stdout.read()
        p.wait(timeout=120)
        reader.join(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
    err = "".join(err_lines)
    assert p.returncode == 0, (out, err)
    assert f"ringsh: lost the orchestrator (cannot reach {orch.base}/api/v1/tasks/{tid}" in err
    assert "retrying for up to 2m" in err
    assert re.search(r"ringsh: reconnected after \S+; watching task " + tid + " again", err)
    assert f"task {tid} succeeded after" in out


def test_watch_gives_up_after_its_deadline(orch, tmp_path):
    orch.create_cluster("prod")
    tid = orch.submit("prod", duration_s=30, steps=30)["id"]
    orch.wait_task(tid, states=("running",))
    env = clean_env(tmp_path, url=orch.base, token=orch.admin_token)
    p = subprocess.Popen([str(ringsh_path()), "-c", f"watch {tid} --reconnect-for 2s"],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: orch.task(tid)["progress"]["done"] >= 1, 20, "some progress")
        orch.kill9()
        out, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 1, (out, err)
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith("ringsh: lost the orchestrator (cannot reach ")
    assert lines[0].endswith(f"task {tid} goes on there — retrying for up to 2s")
    assert re.match(rf"ringsh: gave up on task {tid} after \d+s without the orchestrator: "
                    rf"cannot reach .*connection refused.* — the task goes on there; "
                    rf"watch it again with 'watch {tid}'$", lines[1]), lines[1]


# ---- node-status and the orchestrator's agent setting ----

def test_node_status_takes_the_orchestrators_agent(orch_factory, tmp_path, monkeypatch):
    monkeypatch.setenv("RINGMASTER_AGENT", "/opt/rm/bin/ringagent -f /etc/rm/{address}.conf")
    o = orch_factory()
    o.create_cluster("prod")
    checkin(o, "10.0.0.1")
    r = o.post("/api/v1/clusters/prod/tasks", {"type": "node-status", "params": {}})
    assert r.status_code == 202, r.text
    t = o.task(r.json()["id"])
    assert t["params"]["agent"] == "/opt/rm/bin/ringagent -f /etc/rm/{address}.conf"
    # A task's own agent still wins.
    r = o.post("/api/v1/clusters/prod/tasks", {"type": "node-status",
                                               "params": {"agent": "/x/ringagent"}})
    assert o.task(r.json()["id"])["params"]["agent"] == "/x/ringagent"


def test_nodes_say_why_a_silent_node_has_its_state(tmp_path, fake):
    now = "2026-01-01T00:00:00Z"
    routes = {
        ("GET", "/api/v1/clusters/prod/nodes"): (200, {"items": [
            {"address": "10.0.0.1", "state": "up", "last_heartbeat": now},
            {"address": "10.0.0.2", "state": "agent_down", "last_heartbeat": now,
             "state_reason": "no heartbeat for 40 s but 1 live peer (10.0.0.1) sees "
                             "Cassandra up: its agent is down, not the node"}],
            "next": None}),
    }
    rec = fake(routes)
    r = run(fake_env(tmp_path, rec), "-C", "prod", "-c", "nodes")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert any("agent_down" in ln and ln.startswith("10.0.0.2") for ln in lines), r.stdout
    assert lines[-1] == ("10.0.0.2 agent_down: no heartbeat for 40 s but 1 live peer "
                         "(10.0.0.1) sees Cassandra up: its agent is down, not the node"), r.stdout
    assert not any(ln.startswith("10.0.0.1 up:") for ln in lines), r.stdout
