"""Backups while a node is down (docs/backups.md, "While a node is down"):
three simulated nodes with real sshd, s3rver, the orchestrator and one
agent per node.  The tests of this module share one environment and run
in order: n3 is stopped first, later n2's agent alone.

- down_policy require_all (the default) fails the check step naming the
  node that is not up;
- skip_down backs up the nodes that are up; the backup is listed partial
  (never complete) with the missing node named in the index, GET of one
  backup, the cluster manifest and `ringsh backups`;
- a restore of it is refused unless "nodes" names only nodes it holds;
- an agent_down node (agent silent, Cassandra UN in its peers' views) is
  left out too: nothing can snapshot it without its agent;
- the cluster's backup_down_policy setting is the default of the task's
  down_policy.
"""
import json
import os

import pytest

from agentutil import orch_nodes, simlib
from orch import wait_until
from bkenv import backup_env
from test_ringsh_common import clean_env
from test_ringsh_common import run as rs_run

CL = "sim"
PREFIX = "rm"



@pytest.fixture(scope="module")
def env(tmp_path_factory):
    # Short enough to see a stopped node judged down within the test,
    # long enough that a loaded machine's slow sim heartbeat is not.
    with backup_env(tmp_path_factory.mktemp("backup_down"), CL, PREFIX,
                    net=30 + os.getpid() % 200, host=21, keyspaces=1, sstable_size="8K",
                    heartbeat_timeout="6s") as e:
        e.n1, e.n2, e.n3 = (e.c.address(n) for n in e.c.names)
        e.host_ids = {a: v["host_id"] for a, v in orch_nodes(e.o, CL).items()}
        yield e


def submit(e, type_, **params):
    if type_ != "backup-index":   # it reads storage alone: no node params
        params.setdefault("agent", e.agent)
    return e.o.post(f"/api/v1/clusters/{CL}/tasks", {"type": type_, "params": params})


def run(e, type_, timeout=120, want="succeeded", **params):
    r = submit(e, type_, **params)
    assert r.status_code == 202, r.text
    t = e.o.wait_task(r.json()["id"], states=("succeeded", "failed", "cancelled"),
                      timeout=timeout)
    assert t["state"] == want, json.dumps(t, indent=1)
    return t


def backups(e):
    return {b["id"]: b for b in e.o.ok("GET", f"/api/v1/clusters/{CL}/backups")["items"]}


def backup_of(e, tid):
    got = [b for b in backups(e).values() if b["task_id"] == tid]
    assert len(got) == 1, backups(e)
    return got[0]


def s3_json(e, key):
    return json.loads(e.s3.object_path(f"{PREFIX}/{key}").read_text())


def state(e, addr):
    return orch_nodes(e.o, CL)[addr]["state"]


def test_bad_down_policy_is_refused_and_nothing_is_queued(env):
    e = env
    before = e.o.ok("GET", f"/api/v1/clusters/{CL}/tasks")["items"]
    r = submit(e, "backup", down_policy="some")
    assert r.status_code == 400, r.text
    msg = r.json()["error"]["message"]
    assert "down_policy 'some'" in msg and "skip_down" in msg, msg
    assert e.o.ok("GET", f"/api/v1/clusters/{CL}/tasks")["items"] == before


def test_require_all_fails_the_check_naming_the_down_node(env):
    e = env
    e.c.stop(e.c.names[2])
    wait_until(lambda: state(e, e.n3) == "down", 60, "n3 judged down")
    r = submit(e, "backup")   # the cluster's default policy: require_all
    assert r.status_code == 202, r.text
    tid = r.json()["id"]

    def check_failed():
        t = e.o.task(tid)
        c = t["steps"][0]
        if t["state"] == "failed" or (c["attempts"] >= 1 and c["state"] != "running"
                                      and e.n3 in (c["message"] or "")):
            return t
        return None
    t = wait_until(check_failed, 60, "the check step to fail naming n3")
    c = t["steps"][0]
    assert "not every node is up" in c["message"] and f"{e.n3} is down" in c["message"], c
    e.o.ok("POST", f"/api/v1/tasks/{tid}/cancel")
    t = e.o.wait_task(tid, states=("failed", "cancelled"), timeout=60)
    assert all(s["state"] != "succeeded" for s in t["steps"]), t
    b = backup_of(e, tid)
    assert b["state"] not in ("complete", "partial"), b
    assert b["missing_nodes"] == [], b


def test_skip_down_backs_up_the_others_and_is_listed_partial(env):
    e = env
    t = run(e, "backup", down_policy="skip_down")
    check = t["steps"][0]
    assert f"{e.n3} (down)" in check["message"] and "partial" in check["message"], check
    done = [s for s in t["steps"] if s["name"] == "complete"][0]
    assert done["message"].startswith("backup ") and " partial: 2 nodes" in done["message"], done
    assert "complete" not in done["message"], done
    # Only the two up nodes took part in any step.
    for s in t["steps"]:
        assert e.n3 not in {n["node"] for n in s.get("nodes") or []}, s

    b = backup_of(e, t["id"])
    e.partial_id = b["id"]
    want = [{"address": e.n3, "host_id": e.host_ids[e.n3], "state": "down"}]
    assert b["state"] == "partial" and b["nodes"] == 2, b
    assert b["missing_nodes"] == want, b
    one = e.o.ok("GET", f"/api/v1/clusters/{CL}/backups/{b['id']}")
    assert one["state"] == "partial" and one["missing_nodes"] == want, one

    cm = s3_json(e, f"{CL}/backups/{b['id']}/cluster.json")
    assert cm["missing_nodes"] == want, cm
    assert sorted(n["address"] for n in cm["nodes"]) == sorted([e.n1, e.n2]), cm
    assert not e.s3.object_path(
        f"{PREFIX}/{CL}/backups/{b['id']}/nodes/{e.host_ids[e.n3]}.json").exists()

    out = rs_run(clean_env(e.tmp, url=e.o.base, token=e.o.admin_token), "-C", CL,
                 "-c", "backups")
    assert out.returncode == 0, out.stderr
    row = [ln for ln in out.stdout.splitlines() if ln.startswith(b["id"])]
    assert row and row[0].split()[1] == "partial" and row[0].split()[-1] == e.n3, out.stdout
    # A rebuilt index reads the same from storage.
    run(e, "backup-index")
    b = backups(e)[b["id"]]
    assert b["state"] == "partial" and b["missing_nodes"] == want, b


def test_restore_of_a_partial_backup_needs_the_nodes_it_holds(env):
    e = env
    bid = e.partial_id
    for extra in ({}, {"backup_id": bid}):
        r = submit(e, "restore", **extra)
        assert r.status_code == 409, r.text
        msg = r.json()["error"]["message"]
        assert f"backup {bid} of '{CL}' is partial" in msg and e.n3 in msg, msg
        assert '"nodes"' in msg and '"backup_id"' in msg, msg
    r = submit(e, "restore", backup_id=bid, nodes=[e.n1, e.n3])
    assert r.status_code == 409, r.text
    assert f"node {e.n3} is not in backup {bid}" in r.json()["error"]["message"], r.text
    t = run(e, "restore", backup_id=bid, nodes=[e.n1], timeout=180)
    last = t["steps"][-1]
    assert last["message"].startswith("restore done on 1 nodes"), last
    assert {n["node"] for n in last["nodes"]} == {e.n1}, last


def test_agent_down_node_is_left_out_and_named(env):
    e = env
    simlib.stop_agent(e.c.dir, e.c.names[1])
    wait_until(lambda: state(e, e.n2) == "agent_down", 60, "n2 judged agent_down")
    t = run(e, "backup", down_policy="skip_down")
    b = backup_of(e, t["id"])
    got = {m["address"]: m["state"] for m in b["missing_nodes"]}
    assert got == {e.n2: "agent_down", e.n3: "down"}, b
    assert b["state"] == "partial" and b["nodes"] == 1, b


def test_cluster_setting_backup_down_policy_is_the_default(env):
    e = env
    e.o.ok("PATCH", f"/api/v1/clusters/{CL}", {"settings": {"backup_down_policy": "skip_down"}})
    try:
        t = run(e, "backup")    # no down_policy: the cluster's decides
        b = backup_of(e, t["id"])
        assert b["state"] == "partial", b
        assert {m["address"] for m in b["missing_nodes"]} == {e.n2, e.n3}, b
        # The task's own policy wins over the cluster's.
        r = submit(e, "backup", down_policy="require_all")
        assert r.status_code == 202, r.text
        tid = r.json()["id"]

        def check_failed():
            c = e.o.task(tid)["steps"][0]
            return c if c["attempts"] >= 1 and "not every node is up" in (c["message"] or "") \
                else None
        wait_until(check_failed, 60, "the require_all check to fail")
        e.o.ok("POST", f"/api/v1/tasks/{tid}/cancel")
        e.o.wait_task(tid, states=("failed", "cancelled"), timeout=60)
    finally:
        e.o.ok("PATCH", f"/api/v1/clusters/{CL}", {"settings": {"backup_down_policy": None}})


def test_no_node_up_fails_even_skip_down(env):
    e = env
    e.c.stop(e.c.names[0])
    wait_until(lambda: state(e, e.n1) != "up", 60, "n1 no longer up")
    r = submit(e, "backup", down_policy="skip_down")
    assert r.status_code == 202, r.text
    tid = r.json()["id"]

    def check_failed():
        c = e.o.task(tid)["steps"][0]
        return c if c["attempts"] >= 1 and "no node is up" in (c["message"] or "") else None
    c = wait_until(check_failed, 60, "the check step to say no node is up")
    assert e.n1 in c["message"], c
    e.o.ok("POST", f"/api/v1/tasks/{tid}/cancel")
    e.o.wait_task(tid, states=("failed", "cancelled"), timeout=60)
