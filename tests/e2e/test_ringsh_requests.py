"""ringsh against a recording fake orchestrator: what goes on the wire.

The real orchestrator is used everywhere it serves the route (see
test_ringsh.py).  This file covers what it cannot show:
  * a line that does not parse sends nothing at all;
  * the exact request shapes of the task shortcuts and of the backups
    routes -- FAKE: ringmaster has no /backups routes yet, so these pin the
    contract in /work/shared/api.md until it does;
  * list paging through "next" cursors, TLS failures.
"""
import json
import subprocess

import pytest

from test_ringsh_common import Recorder, clean_env, run

TASK = {"id": "t-1", "cluster": "prod", "type": "backup", "state": "queued",
        "params": {}, "created_at": "2026-01-01T00:00:00Z", "started_at": None,
        "finished_at": None, "progress": {"done": 0, "total": 3}, "error": None,
        "steps": []}


@pytest.fixture
def fake():
    made = []

    def make(routes=None, tls=None):
        r = Recorder(routes, tls)
        made.append(r)
        return r
    yield make
    for r in made:
        r.close()


def env_for(tmp_path, rec, **kw):
    return clean_env(tmp_path, url=rec.url, token="tok-1", **kw)


BAD_LINES = [
    ("tasks show", "missing ID", "usage: tasks show ID"),
    ("tasks list --state bogus", "--state wants one of", "usage: tasks list"),
    ("clusters create c1 --storage file:///x --ssh-user u",
     "missing --ssh-key FILE", "usage: clusters create CLUSTER --storage URL"),
    ("clusters create c1 --storage file:///x --ssh-user u --ssh-key k --ssh-port 99999",
     "--ssh-port wants 1..65535", "usage: clusters create"),
    ("schedules create backup", "give exactly one of --every and --cron",
     "usage: schedules create TYPE"),
    ("schedules create backup --every 1h --cron '0 3 * * *'",
     "give exactly one of --every and --cron", "usage: schedules create"),
    ("schedules create backup --cron '0 3 * *'", "--cron wants 5 fields",
     "usage: schedules create"),
    ("schedules create backup --every never", "--every wants a duration",
     "usage: schedules create"),
    ("run noop 'bad key=1'", "not a param name", "usage: run TYPE"),
    ("run noop a=1 a=2", "param 'a' given twice", "usage: run TYPE"),
    ("backup --keyspace", "--keyspace needs a value", "usage: backup"),
    ("restore --backup", "--backup needs a value", "usage: restore [--backup ID]"),
    ("clusters update prod", "nothing to change", "usage: clusters update [CLUSTER]"),
    ("clusters update prod --ssh-port 0", "--ssh-port wants 1..65535",
     "usage: clusters update"),
    ("clusters update prod --region r --no-region", "not both", "usage: clusters update"),
    ("clusters update 'a b' --ssh-user u", "not a cluster name", "usage: clusters update"),
    ("repair --incremental=1", "--incremental takes no value", "usage: repair"),
    ("events --since yesterday", "--since wants an RFC 3339 time", "usage: events"),
    ("tasks frob", "unknown subcommand of 'tasks' 'frob'",
     "usage: tasks {list|show|watch|cancel|pause|resume}"),
    ("nodes 'no/such'", "not a cluster name", "usage: nodes [CLUSTER]"),
    ("backups delete", "missing ID", "usage: backups delete ID"),
    ("c", "ambiguous command 'c': connect, connections, clusters", None),
    ("frobnicate", "unknown command 'frobnicate'", None),
    ("health 'oops", "unterminated single quote", None),
]


@pytest.mark.parametrize("line,reason,usage", BAD_LINES)
def test_a_line_that_does_not_parse_sends_nothing(tmp_path, fake, line, reason, usage):
    rec = fake()
    r = run(env_for(tmp_path, rec, RINGMASTER_CLUSTER="prod"), "-C", "prod",
            "-c", line)
    assert r.returncode == 2, r.stderr
    assert reason in r.stderr
    if usage:
        assert usage in r.stderr
    assert r.stdout == ""
    assert rec.requests == [], "a bad line must not reach the orchestrator"


def test_bad_line_on_a_pipe_stops_before_later_commands(tmp_path, fake):
    rec = fake({("GET", "/health"): (200, {"status": "ok", "version": "x",
                                           "uptime_s": 1})})
    r = run(env_for(tmp_path, rec), input="health\ntasks show\nhealth\n")
    assert r.returncode == 2
    assert [q["path"] for q in rec.requests] == ["/health"]


def test_no_cluster_selected_sends_nothing(tmp_path, fake):
    rec = fake()
    for line in ("tasks", "backup", "backups", "schedules", "run noop",
                 "nodes", "seeds", "clusters show"):
        r = run(env_for(tmp_path, rec), "-c", line)
        assert r.returncode == 1
        assert "no cluster selected — name one with --cluster CLUSTER or " \
               "'use CLUSTER'" in r.stderr
    assert rec.requests == []


@pytest.mark.parametrize("line,params", [
    ("backup", {}),
    ("backup --keyspace ks1,ks2 --table ks3.t1 --cluster prod",
     {"keyspaces": ["ks1", "ks2"], "tables": ["ks3.t1"]}),
    ("backup --rate-limit 12", {"rate_limit_mib": 12}),
    ("backup tag=nightly retries=3", {"tag": "nightly", "retries": 3}),
    ("restore --backup b-20260101 --keyspace ks1 --node 10.0.0.1,10.0.0.2 --from old",
     {"backup_id": "b-20260101", "keyspaces": ["ks1"], "nodes": ["10.0.0.1", "10.0.0.2"],
      "source_cluster": "old"}),
    ("restore", {}),  # the orchestrator picks the newest complete backup
    ("restore --force --backup b-1", {"backup_id": "b-1", "force": True}),
    ("verify", {}),
    ("verify --backup b-1 --download", {"backup_id": "b-1", "download": True}),
    ("repair --incremental --keyspace ks1 --table a,b --segments 4",
     {"full": False, "keyspace": "ks1", "table": ["a", "b"], "segments_per_node": 4}),
    ("repair ratio=0.5 hosts='[\"10.0.0.1\"]'", {"ratio": 0.5, "hosts": ["10.0.0.1"]}),
    ("replace 10.0.0.3", {"node": "10.0.0.3"}),
    ("replace 10.0.0.3 10.0.0.9 timeout_s=600",
     {"node": "10.0.0.3", "new_address": "10.0.0.9", "timeout_s": 600}),
])
def test_task_shortcuts_post_the_type_and_params(tmp_path, fake, line, params):
    # --backup takes a short id too: looked up in the list of the cluster
    # the backup lives in (--from's for a restore from another cluster).
    ids = {"items": [{"id": "b-1"}, {"id": "b-20260101"}], "next": None}
    rec = fake({("POST", "/api/v1/clusters/prod/tasks"): (202, TASK),
                ("GET", "/api/v1/clusters/prod/backups"): (200, ids),
                ("GET", "/api/v1/clusters/old/backups"): (200, ids)})
    r = run(env_for(tmp_path, rec), "-C", "prod", "-c", line)
    assert r.returncode == 0, r.stderr
    assert "started task t-1" in r.stdout
    lookups = [q for q in rec.requests if q["method"] == "GET"]
    if "--backup" in line:
        want = "old" if "--from" in line else "prod"
        assert [q["path"] for q in lookups] == [f"/api/v1/clusters/{want}/backups"]
    else:
        assert lookups == []
    (req,) = [q for q in rec.requests if q["method"] == "POST"]
    assert req["method"] == "POST"
    assert req["path"] == "/api/v1/clusters/prod/tasks"
    assert req["body"] == {"type": line.split()[0], "params": params}
    assert req["auth"] == "Bearer tok-1"


BACKUPS = {"items": [
    {"id": "b-2", "started_at": "2026-01-02T03:00:00Z",
     "finished_at": "2026-01-02T03:10:00Z", "state": "succeeded",
     "nodes": 3, "files": 120, "bytes": 5 * 1024 ** 3, "bytes_uploaded": 1536 * 1024},
    {"id": "b-1", "started_at": "2026-01-01T03:00:00Z", "finished_at": None,
     "state": "failed", "nodes": ["10.0.0.1", "10.0.0.2"], "files": 7,
     "bytes": 900, "bytes_uploaded": 0},
], "next": None}


def test_backups_list_and_delete_fake(tmp_path, fake):
    """FAKE: ringmaster does not serve /backups yet; this pins the request
    shape from api.md and the rendering (human sizes, node counts)."""
    purge = dict(TASK, id="t-9", type="purge", state="queued")
    rec = fake({("GET", "/api/v1/clusters/prod/backups"): (200, BACKUPS),
                ("DELETE", "/api/v1/clusters/prod/backups/b-1"): (202, purge)})
    env = env_for(tmp_path, rec)
    r = run(env, "-C", "prod", "-c", "backups")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].split() == ["ID", "STATE", "STARTED", "FINISHED", "NODES",
                                "FILES", "SIZE", "UPLOADED", "MISSING"]
    assert lines[1].split()[:2] == ["b-2", "succeeded"]
    assert "5.0 GiB" in lines[1] and "1.5 MiB" in lines[1]
    assert "900 B" in lines[2] and " 2 " in lines[2]
    r = run(env, "-C", "prod", "--json", "-c", "backups list")
    assert json.loads(r.stdout) == BACKUPS
    r = run(env, "-c", "backups delete b-1 --cluster prod")
    assert r.returncode == 0, r.stderr
    # 202: a purge was queued; nothing is deleted yet.
    assert r.stdout == ("queued purge task t-9 for backup b-1 of 'prod'; files other "
                        "backups use stay — follow it with 'watch t-9'\n")
    assert [(q["method"], q["path"]) for q in rec.requests] == [
        ("GET", "/api/v1/clusters/prod/backups"),
        ("GET", "/api/v1/clusters/prod/backups"),
        ("GET", "/api/v1/clusters/prod/backups"),
        ("DELETE", "/api/v1/clusters/prod/backups/b-1")]


def test_lists_follow_next_cursors(tmp_path, fake):
    page = lambda ids, nxt: (200, {"items": [dict(TASK, id=i) for i in ids],
                                   "next": nxt})
    rec = fake({
        ("GET", "/api/v1/clusters/prod/tasks?state=queued"): page(["t-1", "t-2"], "c2"),
        ("GET", "/api/v1/clusters/prod/tasks?state=queued&cursor=c2"): page(["t-3"], None),
    })
    r = run(env_for(tmp_path, rec), "-C", "prod", "--json", "-c",
            "tasks list --state queued")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    assert [t["id"] for t in got["items"]] == ["t-1", "t-2", "t-3"]
    assert got["next"] is None


def test_tls_failure_is_explained(tmp_path, fake):
    key, crt = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", str(key), "-out", str(crt), "-days", "1",
                    "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    rec = fake({("GET", "/health"): (200, {"status": "ok", "version": "t",
                                           "uptime_s": 1})}, tls=(str(crt), str(key)))
    env = env_for(tmp_path, rec)
    r = run(env, "-c", "health")
    assert r.returncode == 1
    (line,) = r.stderr.splitlines()
    assert line.startswith(f"ringsh: TLS with {rec.url}/health failed (")
    assert "--ca-file FILE" in line
    # Trusting the certificate fixes it.
    r = run(env, "-c", f"connect {rec.url} as lab --ca-file {crt}; health")
    assert r.returncode == 0, r.stderr
    assert "connected to" in r.stdout and "ok  ringmaster t" in r.stdout


def test_server_errors_are_one_line(tmp_path, fake):
    rec = fake({
        ("GET", "/api/v1/clusters"): (500, {"error": {"code": "internal",
                                                      "message": "disk full"}}),
        ("DELETE", "/api/v1/clusters/prod"): (409, {"error": {
            "code": "conflict", "message": "cluster 'prod' has a running task"}}),
    })
    env = env_for(tmp_path, rec)
    r = run(env, "-c", "clusters")
    assert r.returncode == 1
    assert r.stderr == (f"ringsh: the orchestrator at {rec.url}/api/v1/clusters "
                        "failed on GET /api/v1/clusters: disk full (500) — see its log\n")
    r = run(env, "-c", "clusters delete prod")
    assert r.returncode == 1
    assert r.stderr.startswith("ringsh: cluster 'prod' has a running task (409 conflict)"
                               " — wait for the running task to end or cancel it")
    assert "'tasks cancel ID'" not in r.stderr


CLUSTER = {"name": "prod", "storage": {"url": "s3://b/p", "endpoint": None, "region": "r1"},
           "ssh": {"user": "ops", "port": 2222, "key_file": "/k"}, "nodes": 0,
           "nodes_up": 0, "nodes_down": 0, "queue_depth": 0, "running_task": None}


@pytest.mark.parametrize("line,body", [
    ("clusters update prod --storage s3://b/p --region r1",
     {"storage": {"url": "s3://b/p", "region": "r1"}}),
    ("clusters update --ssh-user ops --ssh-port 2222 --ssh-key /k",
     {"ssh": {"user": "ops", "port": 2222, "key_file": "/k"}}),
    ("cl up prod --no-endpoint --endpoint=", None),  # both: refused before sending
    ("clusters update prod --no-endpoint --no-region",
     {"storage": {"endpoint": None, "region": None}}),
])
def test_clusters_update_patches_only_what_is_given(tmp_path, fake, line, body):
    rec = fake({("PATCH", "/api/v1/clusters/prod"): (200, CLUSTER)})
    r = run(env_for(tmp_path, rec), "-C", "prod", "-c", line)
    if body is None:
        assert r.returncode == 2 and rec.requests == [], r.stderr
        return
    assert r.returncode == 0, r.stderr
    (req,) = rec.requests
    assert req["method"] == "PATCH" and req["path"] == "/api/v1/clusters/prod"
    assert req["body"] == body
    assert "updated cluster 'prod': storage s3://b/p region r1, ssh ops port 2222 key /k" \
        in r.stdout
