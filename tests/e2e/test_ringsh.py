"""ringsh against the real orchestrator: every command it serves, through
-c, -f and a pipe, with --json checked against the API itself, and each
error (refused, 401, 403, 404, 409) explained in one line."""
import json
import os
import re

import pytest

from agentutil import RINGAGENT, sim_factory, write_agent_conf  # noqa: F401
from orch import orch, orch_factory, wait_until  # noqa: F401
from test_ringsh_common import clean_env, run

TASK_ID = re.compile(r"started task (t-[0-9a-f]+)")


def rs_env(o, tmp_path, token="admin", **extra):
    tok = o.admin_token if token == "admin" else token
    return clean_env(tmp_path, url=o.base, token=tok, **extra)


def rsh(o, tmp_path, *args, token="admin", input=None, **extra):
    return run(rs_env(o, tmp_path, token, **extra), *args, input=input)


def ok(r):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r.stdout


def checkin(o, address, cluster="prod", dc="dc1", token="agent"):
    body = {"cluster": cluster, "address": address, "dc": dc, "rack": "r1",
            "cassandra_version": "4.1.3", "ssh_host_key": "ssh-ed25519 AAAA" + address}
    return o.ok("POST", "/api/v1/agents/checkin", body, token=token)


def started_id(out):
    m = TASK_ID.search(out)
    assert m, out
    return m.group(1)


def test_health_and_metrics(orch, tmp_path):
    out = ok(rsh(orch, tmp_path, "-c", "health"))
    assert re.match(r"ok  ringmaster \S+  up \S+.*  at " + re.escape(orch.base), out)
    got = json.loads(ok(rsh(orch, tmp_path, "--json", "-c", "health")))
    assert got["status"] == "ok" and got["version"] == orch.get("/health").json()["version"]
    # Prefix and --json anywhere on the line.
    assert json.loads(ok(rsh(orch, tmp_path, "-c", "hea --json")))["status"] == "ok"
    out = ok(rsh(orch, tmp_path, "-c", "metrics"))
    assert out == orch.get("/metrics").text or "# TYPE" in out


def test_clusters_create_list_show_delete(orch, tmp_path):
    store = f"file://{tmp_path}/store"
    out = ok(rsh(orch, tmp_path, "-c",
                 f"clusters create prod --storage {store} --ssh-user cassandra "
                 "--ssh-port 2222 --ssh-key /etc/ringmaster/id_ed25519"))
    assert out == "created cluster 'prod' — select it with 'use prod'\n"
    c = orch.ok("GET", "/api/v1/clusters/prod")
    assert c["storage"]["url"] == store
    assert c["ssh"] == {"user": "cassandra", "port": 2222,
                        "key_file": "/etc/ringmaster/id_ed25519"}
    ok(rsh(orch, tmp_path, "-c", "cl cr staging --storage s3://bk/pfx --endpoint "
           "http://127.0.0.1:9000 --region eu-west-1 --ssh-user u --ssh-key /k"))
    s = orch.ok("GET", "/api/v1/clusters/staging")["storage"]
    assert s == {"url": "s3://bk/pfx", "endpoint": "http://127.0.0.1:9000",
                 "region": "eu-west-1"}

    lines = ok(rsh(orch, tmp_path, "-c", "clusters")).splitlines()
    assert lines[0].split()[:2] == ["NAME", "STORAGE"]
    assert [l.split()[0] for l in lines[1:]] == ["prod", "staging"]
    assert "just now" in lines[1]
    api = orch.ok("GET", "/api/v1/clusters")
    assert json.loads(ok(rsh(orch, tmp_path, "-c", "clusters list --json"))) == api

    out = ok(rsh(orch, tmp_path, "-c", "clusters show prod"))
    assert re.search(r"^name +prod$", out, re.M)
    assert re.search(r"^ssh +cassandra@port 2222, key /etc/ringmaster/id_ed25519$", out, re.M)
    assert re.search(r"^created +\d{4}-\d\d-\d\dT\S+Z \(just now\)$", out, re.M)
    # The current cluster (-C) stands in for the argument.
    assert ok(rsh(orch, tmp_path, "-C", "prod", "-c", "clusters show")) == out
    assert json.loads(ok(rsh(orch, tmp_path, "-c", "clusters show staging --json"))) == \
        orch.ok("GET", "/api/v1/clusters/staging")

    assert ok(rsh(orch, tmp_path, "-c", "clusters delete staging")) == \
        "deleted cluster 'staging'\n"
    assert orch.get("/api/v1/clusters/staging").status_code == 404


def test_clusters_update_gives_an_agent_created_cluster_its_settings(orch, tmp_path):
    # Only an admin's check-in creates a cluster (docs/security.md).
    checkin(orch, "10.0.0.1", cluster="auto", token="admin")
    out = ok(rsh(orch, tmp_path, "-C", "auto", "-c",
                 "clusters update --storage s3://bk/auto --region eu-west-1 "
                 "--ssh-user ops --ssh-port 2200 --ssh-key /keys/id"))
    assert out == ("updated cluster 'auto': storage s3://bk/auto region eu-west-1, "
                   "ssh ops port 2200 key /keys/id\n")
    c = orch.ok("GET", "/api/v1/clusters/auto")
    assert c["storage"] == {"url": "s3://bk/auto", "endpoint": None, "region": "eu-west-1"}
    assert c["ssh"] == {"user": "ops", "port": 2200, "key_file": "/keys/id"}
    got = json.loads(ok(rsh(orch, tmp_path, "-c", "cl up auto --no-region --json")))
    assert got["storage"]["region"] is None and got["ssh"]["user"] == "ops"
    # Refused by the orchestrator: explained in one line, nothing changed.
    r = rsh(orch, tmp_path, "-c", "clusters update auto --storage s3://")
    assert r.returncode == 1 and "storage.url" in r.stderr and "(400)" in r.stderr
    r = rsh(orch, tmp_path, "-c", "clusters update nope --ssh-user x")
    assert r.returncode == 1 and "nope" in r.stderr and "404" in r.stderr
    viewer = orch.create_token("viewer", "v1")
    r = rsh(orch, tmp_path, "-c", "clusters update auto --ssh-user x", token=viewer)
    assert r.returncode == 1 and "403" in r.stderr and "PATCH" in r.stderr
    t = orch.submit("auto", duration_s=30, steps=30)
    wait_until(lambda: orch.task(t["id"])["state"] == "running", 10, "task running")
    r = rsh(orch, tmp_path, "-c", "clusters update auto --ssh-user x")
    assert r.returncode == 1 and t["id"] in r.stderr and "409" in r.stderr
    orch.ok("POST", f"/api/v1/tasks/{t['id']}/cancel")
    assert orch.ok("GET", "/api/v1/clusters/auto")["ssh"]["user"] == "ops"


def test_clusters_lifecycle_settings_as_key_value_words(orch, tmp_path):
    out = ok(rsh(orch, tmp_path, "-c", "clusters create heal --storage s3://bk/heal "
                 "--ssh-user ops --ssh-key /keys/id replace_after=30m provider=sim"))
    assert out.startswith("created cluster 'heal'")
    got = orch.ok("GET", "/api/v1/clusters/heal")["settings"]
    assert got["replace_after"] == "30m" and got["provider"] == "sim"
    ok(rsh(orch, tmp_path, "-c", "clusters update heal evict_removenode=true provider="))
    got = orch.ok("GET", "/api/v1/clusters/heal")["settings"]
    assert got["evict_removenode"] is True and got["provider"] == "none"
    out = ok(rsh(orch, tmp_path, "-c", "clusters show heal"))
    assert re.search(r"^  replace_after +30m$", out, re.M), out
    assert re.search(r"^  evict_removenode +true$", out, re.M), out
    assert re.search(r"^  provider_command +-$", out, re.M), out
    r = rsh(orch, tmp_path, "-c", "clusters update heal provider=aws")
    assert r.returncode == 1 and "none|command|sim" in r.stderr and "(400)" in r.stderr, r.stderr
    assert orch.ok("GET", "/api/v1/clusters/heal")["settings"]["provider"] == "none"


def test_seeds_pin_and_unpin(orch, tmp_path):
    orch.create_cluster("prod")
    for a in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        checkin(orch, a)
    assert ok(rsh(orch, tmp_path, "-C", "prod", "-c", "seeds --pin 10.0.0.3,10.0.0.2")) == \
        "10.0.0.3\n10.0.0.2\n"
    assert orch.ok("GET", "/api/v1/clusters/prod/seeds")["seeds"] == ["10.0.0.3", "10.0.0.2"]
    r = rsh(orch, tmp_path, "-C", "prod", "-c", "seeds --pin 10.0.0.9")
    assert r.returncode == 1 and "10.0.0.9 is not a node" in r.stderr and "(400)" in r.stderr
    r = rsh(orch, tmp_path, "-C", "prod", "-c", "seeds --pin 10.0.0.1 --unpin")
    assert r.returncode == 2 and "not both" in r.stderr, r.stderr
    ok(rsh(orch, tmp_path, "-C", "prod", "-c", "seeds --unpin"))
    assert not any(n["is_seed"] for n in
                   orch.ok("GET", "/api/v1/clusters/prod/nodes")["items"])
    body = ok(rsh(orch, tmp_path, "-c", "events --cluster prod"))
    assert re.search(r"^\S+ seeds of prod pinned by admin: \[\"10.0.0.3\",\"10.0.0.2\"\]$",
                     body, re.M), body
    assert re.search(r"^\S+ seeds of prod unpinned by admin: \[\]$", body, re.M), body
    assert re.search(r"^\S+ bootstrap slot of prod taken \(10.0.0.1\)$", body, re.M), body


def test_nodes_and_seeds(orch, tmp_path):
    orch.create_cluster("prod")
    out = ok(rsh(orch, tmp_path, "-C", "prod", "-c", "nodes"))
    assert out.startswith("no nodes yet")
    checkin(orch, "10.0.0.1")
    checkin(orch, "10.0.0.2")
    lines = ok(rsh(orch, tmp_path, "-c", "nodes prod")).splitlines()
    assert lines[0].split()[:4] == ["ADDRESS", "DC", "RACK", "STATE"]
    assert sorted(l.split()[0] for l in lines[1:]) == ["10.0.0.1", "10.0.0.2"]
    assert all(l.split()[1:3] == ["dc1", "r1"] for l in lines[1:])
    api = orch.ok("GET", "/api/v1/clusters/prod/nodes")
    assert json.loads(ok(rsh(orch, tmp_path, "-C", "prod", "--json", "-c", "nodes")))["items"] \
        == api["items"]
    for addr in ("10.0.0.1", "10.0.0.2"):
        orch.post("/api/v1/agents/heartbeat", {"cluster": "prod", "address": addr,
                                               "status": "up"}, token="agent")
    seeds = wait_until(lambda: orch.ok("GET", "/api/v1/clusters/prod/seeds")["seeds"],
                       what="seeds")
    assert json.loads(ok(rsh(orch, tmp_path, "-c", "seeds prod --json")))["seeds"] == seeds
    assert ok(rsh(orch, tmp_path, "-C", "prod", "-c", "seeds")).split() == seeds


def test_run_show_list_and_watch_a_task(orch, tmp_path):
    orch.create_cluster("prod")
    out = ok(rsh(orch, tmp_path, "-C", "prod", "-c", "run noop steps=3 duration_s=0.3"))
    tid = started_id(out)
    assert f"follow it with 'watch {tid}'" in out
    t = orch.task(tid)
    assert t["type"] == "noop" and t["params"]["steps"] == 3
    assert t["params"]["duration_s"] == 0.3
    # watch off a terminal: plain lines, a closing line, status 0.
    out = ok(rsh(orch, tmp_path, "-c", f"watch {tid}"))
    assert out.splitlines()[-1].startswith(f"task {tid} succeeded after ")
    assert "\x1b[" not in out
    assert f"{tid} succeeded 3/3 100%" in out

    out = ok(rsh(orch, tmp_path, "-c", f"tasks show {tid}"))
    assert re.search(r"^state +succeeded$", out, re.M)
    assert re.search(r"^progress +3/3$", out, re.M)
    assert re.search(r"^created +\S+Z \((just now|\d+s ago)\)$", out, re.M)
    steps = [l.split()[:3] for l in out.split("\n\n", 1)[1].splitlines()[1:]]
    assert steps == [["noop-1", "-", "succeeded"], ["noop-2", "-", "succeeded"],
                     ["noop-3", "-", "succeeded"]]
    assert json.loads(ok(rsh(orch, tmp_path, "-c", f"tasks show {tid} --json"))) == orch.task(tid)

    lines = ok(rsh(orch, tmp_path, "-C", "prod", "-c", "tasks")).splitlines()
    assert lines[0].split()[:3] == ["ID", "TYPE", "STATE"]
    assert lines[1].split()[:4] == [tid, "noop", "succeeded", "3/3"]
    out = ok(rsh(orch, tmp_path, "-c", "tasks list --state failed --cluster prod"))
    assert out == "no tasks in that state\n"
    got = json.loads(ok(rsh(orch, tmp_path, "-C", "prod", "-c", "ta li --st succeeded --json")))
    assert [x["id"] for x in got["items"]] == [tid]


def test_run_watch_exit_status_follows_the_task(orch, tmp_path):
    orch.create_cluster("prod")
    r = rsh(orch, tmp_path, "-C", "prod", "-c", "run noop fail_attempts=5 --watch")
    assert r.returncode == 1, r.stdout + r.stderr
    assert re.search(r"^task t-\S+ failed after", r.stdout, re.M)
    r = rsh(orch, tmp_path, "-C", "prod", "-c", "run noop --watch")
    assert r.returncode == 0
    assert re.search(r"^task t-\S+ succeeded after", r.stdout, re.M)
    # --json with --watch: the final task object only.
    r = rsh(orch, tmp_path, "-C", "prod", "--json", "-c", "run noop steps=2 --watch")
    t = json.loads(ok(r))
    assert t["state"] == "succeeded" and t["progress"] == {"done": 2, "total": 2}


def test_pause_resume_cancel(orch, tmp_path):
    orch.create_cluster("prod")
    tid = started_id(ok(rsh(orch, tmp_path, "-C", "prod", "-c",
                            "run noop steps=50 duration_s=50")))
    orch.wait_task(tid, states=("running",))
    # A running task is asked to pause; it is not said to be paused.
    out = ok(rsh(orch, tmp_path, "-c", f"tasks pause {tid}"))
    assert out == (f"asked task {tid} to pause; it is still running and pauses at "
                   f"its next checkpoint (follow it with 'watch {tid}')\n")
    orch.wait_task(tid, states=("paused",))
    assert ok(rsh(orch, tmp_path, "-c", f"tasks resume {tid}")) == \
        f"resumed task {tid}: queued again, it goes on from its first unfinished step\n"
    orch.wait_task(tid, states=("running",))
    got = json.loads(ok(rsh(orch, tmp_path, "-c", f"tasks cancel {tid} --json")))
    assert got["id"] == tid
    orch.wait_task(tid, states=("cancelled",))
    # Watching a cancelled task ends at once with a failure status.
    r = rsh(orch, tmp_path, "-c", f"watch {tid}")
    assert r.returncode == 1 and f"task {tid} cancelled" in r.stdout


def test_schedules_create_list_delete(orch, tmp_path):
    orch.create_cluster("prod")
    out = ok(rsh(orch, tmp_path, "-C", "prod", "-c",
                 "schedules create noop --every 6h steps=2"))
    m = re.match(r"created schedule (\S+): noop every 6h on 'prod'$", out.strip())
    assert m, out
    sid = m.group(1)
    out = ok(rsh(orch, tmp_path, "-C", "prod", "-c",
                 "sched cr noop --cron '0 3 * * *'"))
    assert "noop cron 0 3 * * * on 'prod'" in out
    api = orch.ok("GET", "/api/v1/clusters/prod/schedules")["items"]
    assert {s["id"]: s.get("every") for s in api}[sid] == "6h"
    assert [s for s in api if s["id"] == sid][0]["params"]["steps"] == 2
    lines = ok(rsh(orch, tmp_path, "-C", "prod", "-c", "schedules")).splitlines()
    assert lines[0].split()[:3] == ["ID", "TYPE", "WHEN"]
    body = "\n".join(lines[1:])
    assert "every 6h" in body and "cron 0 3 * * *" in body
    assert all(re.search(r"  in \d+[smhd]  ", l) for l in lines[1:]), "next run ahead"
    assert ok(rsh(orch, tmp_path, "-c", f"schedules delete {sid}")) == \
        f"deleted schedule {sid}; the tasks it made stay\n"
    left = orch.ok("GET", "/api/v1/clusters/prod/schedules")["items"]
    assert [s["id"] for s in left] != [] and sid not in [s["id"] for s in left]
    # The orchestrator's own checks come back as one explained line.
    r = rsh(orch, tmp_path, "-C", "prod", "-c", "schedules create noop --every 1h bogus=1")
    assert r.returncode == 1
    assert r.stderr == ("ringsh: the orchestrator rejected POST /api/v1/clusters/prod/"
                        "schedules: unknown parameter 'bogus' for noop (allowed: "
                        "duration_s, steps, per_node, fail_attempts, max_attempts) (400) — "
                        "'types' lists the task types, 'types TYPE' a type's "
                        "params\n")


def test_events(orch, tmp_path):
    orch.create_cluster("prod")
    orch.create_cluster("other")
    tid = orch.submit("prod")["id"]
    orch.wait_task(tid)
    lines = ok(rsh(orch, tmp_path, "-c", "events --since 1h --cluster prod")).splitlines()
    # Sentences in time order, no JSON.
    assert all(re.match(r"\d\d:\d\d:\d\d ", l) for l in lines), lines
    assert [l[:8] for l in lines] == sorted(l[:8] for l in lines)
    assert not any('{"' in l for l in lines), lines
    body = "\n".join(lines)
    assert "admin POST /api/v1/clusters" in body
    assert re.search(rf"^\S+ noop {tid} queued → running$", body, re.M), body
    assert re.search(rf"^\S+ noop {tid} running → succeeded$", body, re.M), body
    assert "other" not in body
    got = json.loads(ok(rsh(orch, tmp_path, "-c", "events --json --cluster prod")))
    assert {e["cluster"] for e in got["items"]} == {"prod"}
    assert json.loads(ok(rsh(orch, tmp_path, "-c", "events --since 2999-01-01T00:00:00Z --json"))
                      )["items"] == []


def test_task_shortcuts_reach_the_orchestrator(orch, tmp_path):
    """backup/restore/verify/repair post their task type with params the
    orchestrator accepts (a bad param would be refused with 400)."""
    orch.create_cluster("prod")
    # Tasks that touch nodes need one; an agent's check-in adds it.
    orch.ok("POST", "/api/v1/agents/checkin", token="agent", body={
        "cluster": "prod", "address": "127.0.0.1", "dc": "dc1", "rack": "r1",
        "cassandra_version": "4.1.0", "ssh_host_key": "ssh-ed25519 AAAA"})
    for line in ("backup --keyspace ks --table ks.t1 --rate-limit 5",
                 "restore --backup b-1 --keyspace ks --node 127.0.0.1",
                 "verify --download", "repair --incremental --segments 2"):
        r = rsh(orch, tmp_path, "-C", "prod", "-c", line)
        assert r.returncode == 0, f"{line}: {r.stderr}"
        tid = started_id(r.stdout)
        task = orch.task(tid)
        assert task["type"] == line.split()[0]
        if task["state"] in ("queued", "running", "paused"):
            # It may end on its own (no agent there) between the read and
            # the cancel: then the refusal names its end state.
            c = orch.req("POST", f"/api/v1/tasks/{tid}/cancel")
            assert c.status_code in (200, 202) or (
                c.status_code == 409 and orch.task(tid)["state"] in
                ("failed", "succeeded", "cancelled")), c.text


def test_repair_shortcut_flags_become_params(orch, tmp_path):
    """Every scheduler setting has its flag; a bad value is refused by the
    shell or the orchestrator and no task is made."""
    orch.create_cluster("prod")
    orch.ok("POST", "/api/v1/agents/checkin", token="agent", body={
        "cluster": "prod", "address": "127.0.0.1", "dc": "dc1", "rack": "r1",
        "cassandra_version": "4.1.0", "ssh_host_key": "ssh-ed25519 AAAA"})
    r = rsh(orch, tmp_path, "-C", "prod", "-c",
            "repair --keyspace ks1 --parallelism 2 --segments 3 --intensity 0.5 "
            "--segment-timeout 30m --max-pending-compactions 20 --down-deadline 0")
    assert r.returncode == 0, r.stderr
    task = orch.task(started_id(r.stdout))
    p = task["params"]
    assert (p["keyspace"], p["parallelism"], p["segments_per_node"], p["intensity"],
            p["segment_timeout"], p["max_pending_compactions"], p["down_deadline"]) == (
        "ks1", 2, 3, 0.5, "30m", 20, "0"), p
    orch.req("POST", f"/api/v1/tasks/{task['id']}/cancel")
    # the default: the scheduler over every keyspace
    r = rsh(orch, tmp_path, "-C", "prod", "-c", "repair")
    assert r.returncode == 0, r.stderr
    task = orch.task(started_id(r.stdout))
    assert task["params"]["parallelism"] == 0 and "keyspace" not in task["params"], task
    assert [s["name"] for s in task["steps"]] == ["repair segments"], task["steps"]
    orch.req("POST", f"/api/v1/tasks/{task['id']}/cancel")

    before = len(orch.ok("GET", "/api/v1/clusters/prod/tasks")["items"])
    for line, words in (("repair --intensity half", "--intensity wants a number"),
                        ("repair --segment-timeout soon", "--segment-timeout wants a duration"),
                        ("repair --parallelism x", "--parallelism wants a number"),
                        ("repair --intensity 1.5", "intensity"),
                        ("repair --parallelism 1 --segment-timeout 1m", "needs the segment scheduler"),
                        ("repair --down-deadline 12h", "up to 11h")):
        r = rsh(orch, tmp_path, "-C", "prod", "-c", line)
        assert r.returncode != 0 and words in r.stdout + r.stderr, (line, r.stdout, r.stderr)
    assert len(orch.ok("GET", "/api/v1/clusters/prod/tasks")["items"]) == before


def test_errors_are_explained_in_one_line(orch, orch_factory, tmp_path):
    orch.create_cluster("prod")
    # connection refused: a stopped orchestrator's port.
    dead = orch_factory(start=False)
    r = run(clean_env(tmp_path, url=dead.base, token="x"), "-c", "clusters")
    assert r.returncode == 1
    assert r.stderr == (f"ringsh: cannot reach {dead.base}/api/v1/clusters: connection "
                        "refused — is ringmaster running? check the URL with "
                        "'connections'\n")
    # 401 with no token, then with a wrong one.
    r = run(clean_env(tmp_path, url=orch.base), "-c", "clusters")
    assert r.returncode == 1
    assert r.stderr.startswith(f"ringsh: {orch.base}/api/v1/clusters wants a token "
                               "(401 unauthorized) — set RINGMASTER_TOKEN")
    r = rsh(orch, tmp_path, "-c", "clusters", token="wrong")
    assert r.returncode == 1
    assert "refused the token of connection 'default' (401 unauthorized)" in r.stderr
    # 403: a viewer may read but not create.
    viewer = orch.create_token("viewer", "ops-viewer")
    ok(rsh(orch, tmp_path, "-c", "clusters", token=viewer))
    r = rsh(orch, tmp_path, "-c", "clusters delete prod", token=viewer)
    assert r.returncode == 1
    assert r.stderr.startswith("ringsh: the token of connection 'default' may not DELETE "
                               "/api/v1/clusters/prod (403 forbidden")
    assert r.stderr.rstrip().endswith("— this needs a token with the admin role: "
                                      "'connect URL --token-file FILE' with one")
    # An operator may run tasks but not change a cluster: admin, not "operator".
    op = orch.create_token("operator", "ops-op")
    r = rsh(orch, tmp_path, "-c", "clusters update prod --ssh-user x", token=op)
    assert r.returncode == 1 and "may not PATCH /api/v1/clusters/prod" in r.stderr
    assert "needs a token with the admin role" in r.stderr
    assert "operator or admin" not in r.stderr
    # 404 names the object and where to look.
    r = rsh(orch, tmp_path, "-c", "clusters show nope")
    assert r.returncode == 1
    assert "nope" in r.stderr and "(404 not found) — list them with 'clusters'" in r.stderr
    r = rsh(orch, tmp_path, "-c", "tasks show t-0000000000000000")
    assert "(404 not found) — list them with 'tasks list'" in r.stderr
    # A short id that matches nothing is answered before anything is asked of it.
    r = rsh(orch, tmp_path, "-c", "tasks show t-0000")
    assert r.returncode == 1
    assert r.stderr == ("ringsh: no task on any cluster matches 't-0000' — list them "
                        "with 'tasks', or say 'last' for the newest\n")
    # 409: deleting a cluster while a task runs.
    tid = orch.submit("prod", duration_s=30)["id"]
    orch.wait_task(tid, states=("running",))
    r = rsh(orch, tmp_path, "-c", "clusters delete prod")
    assert r.returncode == 1
    assert "(409 conflict) — wait for the running task to end or cancel it (see " \
           "'tasks --state running'), then retry" in r.stderr
    assert len(r.stderr.splitlines()) == 1
    orch.ok("POST", f"/api/v1/tasks/{tid}/cancel")


def test_pipe_and_file_modes(orch, tmp_path):
    orch.create_cluster("prod")
    script = "# a comment\n\nuse prod\ntasks\nhealth\n"
    r = rsh(orch, tmp_path, input=script)
    out = ok(r)
    assert out.startswith("using cluster 'prod' on 'default'\n")
    assert "no tasks yet" in out and "ok  ringmaster" in out
    assert "> " not in out, "no prompt on a pipe"
    assert not (tmp_path / "history").exists(), "no history off a terminal"
    # The first failing command stops the run with a non-zero status.
    r = rsh(orch, tmp_path, input="health\nclusters show nope\nhealth\n")
    assert r.returncode == 1
    assert r.stdout.count("ok  ringmaster") == 1
    f = tmp_path / "cmds"
    f.write_text("use prod\nrun noop steps=2 --watch\ntasks list --state succeeded\n")
    out = ok(rsh(orch, tmp_path, "-f", str(f)))
    assert "succeeded after" in out and "noop" in out.splitlines()[-1]
    f.write_text("health\nnodes 'bad/name'\nhealth\n")
    r = rsh(orch, tmp_path, "-f", str(f))
    assert r.returncode == 2
    assert f"ringsh: stopped at {f}:2" in r.stderr
    # -c takes several commands separated by ';'.
    out = ok(rsh(orch, tmp_path, "-c", "use prod; seeds; connections"))
    assert "* " in out and orch.base in out


def test_config_file_connections_and_use(orch_factory, tmp_path):
    a, b = orch_factory(name="a"), orch_factory(name="b")
    a.create_cluster("main")
    b.create_cluster("edge")
    (tmp_path / "a.token").write_text(a.admin_token + "\n")
    (tmp_path / "b.token").write_text(b.admin_token)
    conf = tmp_path / "ringsh.conf"
    conf.write_text(f"# two orchestrators\n"
                    f"prod {a.base} token_file={tmp_path}/a.token cluster=main\n"
                    f"lab  {b.base}/ token_file={tmp_path}/b.token\n")
    os.chmod(conf, 0o600)
    env = clean_env(tmp_path, RINGSH_CONFIG=conf)
    out = ok(run(env, "-c", "connections"))
    rows = [l.split() for l in out.splitlines()[1:]]
    assert rows[0][:4] == ["*", "prod", a.base, "main"]
    assert rows[1][:3] == ["lab", b.base, "-"]
    # The first connection is current, with its cluster.
    assert "main" in ok(run(env, "-c", "clusters show")).split("\n")[0]
    out = ok(run(env, "-c", "use lab/edge; clusters show; use prod; clusters"))
    assert "using cluster 'edge' on 'lab'" in out
    assert re.search(r"^name +edge$", out, re.M)
    assert "using connection 'prod'" in out and re.search(r"^main ", out, re.M)
    # use CLUSTER checks it exists on the current connection.
    r = run(env, "-c", "use edge")
    assert r.returncode == 1 and "404 not found" in r.stderr
    # connect adds one at run time, with a token file.
    out = ok(run(env, "-c", f"connect {b.base} as lab2 --token-file {tmp_path}/b.token; "
                            "use edge; connections"))
    assert f"connected to {b.base} as 'lab2'" in out
    assert re.search(r"^\* +lab2 +\S+ +edge", out, re.M)
    # -u picks the configured connection for that URL, with its token.
    assert "edge" in ok(run(env, "-u", b.base, "-c", "clusters"))
    # A config file others can read is refused, with the fix.
    os.chmod(conf, 0o644)
    r = run(env, "-c", "health")
    assert r.returncode == 1
    assert r.stderr == (f"ringsh: {conf} is readable or writable by group or others "
                        f"(mode 0644); refusing it: run 'chmod 600 {conf}'\n")
    os.chmod(conf, 0o600)
    conf.write_text(f"prod {a.base} colour=blue\n")
    r = run(env, "-c", "health")
    assert r.returncode == 1 and f"{conf}:1: unknown setting 'colour=blue'" in r.stderr


def test_token_file_option_and_env(orch, tmp_path):
    orch.create_cluster("prod")
    tf = tmp_path / "tok"
    tf.write_text(orch.admin_token)
    env = clean_env(tmp_path, url=orch.base)
    assert "prod" in ok(run(env, "-t", str(tf), "-c", "clusters"))
    r = run(env, "-t", str(tmp_path / "missing"), "-c", "clusters")
    assert r.returncode == 1 and "cannot read token file" in r.stderr
    r = run(clean_env(tmp_path), "-c", "clusters")
    assert r.returncode == 1
    assert "not connected — use 'connect URL', -u URL or RINGMASTER_URL" in r.stderr


def test_help_is_generated_from_the_table(orch, tmp_path):
    out = ok(rsh(orch, tmp_path, "-c", "help"))
    for c in ("clusters", "tasks", "backup", "restore", "verify", "repair", "backups",
              "schedules", "events", "metrics", "connect", "use", "watch", "run"):
        assert re.search(rf"^  {c} ", out, re.M), c
    out = ok(rsh(orch, tmp_path, "-c", "help tasks"))
    assert "usage: tasks {list|show|watch|cancel|pause|resume}" in out
    out = ok(rsh(orch, tmp_path, "-c", "help sched cr"))
    assert "usage: schedules create TYPE [--every DURATION] [--cron EXPR]" in out
    r = rsh(orch, tmp_path, "-c", "help nothing")
    assert r.returncode == 2 and "unknown command 'nothing'" in r.stderr


def test_sigint_leaves_a_one_shot_watch_with_130(orch, tmp_path):
    import signal
    import subprocess
    from test_ringsh_common import ringsh_path
    orch.create_cluster("prod")
    tid = orch.submit("prod", duration_s=60, steps=10)["id"]
    orch.wait_task(tid, states=("running",))
    p = subprocess.Popen([str(ringsh_path()), "-c", f"watch {tid}"], env=rs_env(orch, tmp_path),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = p.stdout.readline()
        assert first.startswith(f"{tid} running 0/10"), first
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 130, err
    assert f"left the watch; task {tid} goes on" in out
    assert orch.task(tid)["state"] == "running"
    orch.ok("POST", f"/api/v1/tasks/{tid}/cancel")


def test_watch_shows_per_node_progress_of_a_real_backup(sim_factory, orch, tmp_path):  # noqa: F811
    """A backup on three simulated nodes watched by ringsh: when the
    orchestrator sends per-node progress ("nodes" in a step), each node gets
    its own line and the closing line says what moved.  Skipped, with the
    reason, while the orchestrator does not send "nodes"."""
    c = sim_factory(nodes=3)
    tok = tmp_path / "join.token"
    tok.write_text(orch.join_token + "\n")
    orch.ensure_cluster("sim")
    confs = tmp_path / "confs"
    confs.mkdir()
    for n in c.names:
        conf = write_agent_conf(c, n, orch.base, tok, cluster_name="sim")
        os.symlink(conf, confs / f"{c.address(n)}.conf")
    c.start_all(agent=str(RINGAGENT))
    wait_until(lambda: len([v for v in orch.ok("GET", "/api/v1/clusters/sim/nodes")["items"]
                            if v["state"] == "up" and v.get("host_id")]) == 3
               if orch.get("/api/v1/clusters/sim").status_code == 200 else False,
               30, "three nodes up")
    ok(rsh(orch, tmp_path, "-c", f"clusters update sim --storage file://{tmp_path}/store "
           f"--ssh-user root --ssh-port {c.ssh_port} --ssh-key {c.key}"))
    r = run(rs_env(orch, tmp_path), "-C", "sim", "-c",
            f"backup agent='{RINGAGENT} -f {confs}/{{address}}.conf' --watch", timeout=180)
    out = r.stdout
    assert r.returncode == 0, f"{out}\n{r.stderr}"
    tid = re.search(r"task (t-[0-9a-f]+) succeeded after ", out).group(1)
    task = orch.task(tid)
    with_nodes = [s for s in task["steps"] if isinstance(s.get("nodes"), list) and s["nodes"]]
    if not with_nodes:
        pytest.skip("the orchestrator does not send per-step 'nodes' in GET /api/v1/tasks/{id} "
                    "yet: nothing per node to render")
    last = out.splitlines()[-1]
    moved = sum(n.get("files_done") or 0 for s in with_nodes for n in s["nodes"])
    if moved:
        assert f"; moved {moved} file" in last, last
    # Off a terminal the plain lines name each node of a per-node step.
    addrs = {n["node"] for s in with_nodes for n in s["nodes"]}
    assert any(all(a in line for a in addrs) for line in out.splitlines()), out
