"""Tasks through the engine: serial per cluster, parallel across clusters,
cancel/pause/resume on queued and running tasks, and resume after kill -9
at the first unfinished step."""
from datetime import datetime

from orch import orch, orch_factory, wait_until  # noqa: F401

TERMINAL = ("succeeded", "failed", "cancelled")


def ts(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def test_task_object_shape(orch):
    orch.create_cluster("prod")
    t = orch.submit("prod", duration_s=0, steps=3)
    assert t["id"].startswith("t-")
    assert t["cluster"] == "prod" and t["type"] == "noop"
    assert t["state"] in ("queued", "running", "succeeded")
    assert t["params"]["steps"] == 3
    assert t["created_at"].endswith("Z")
    assert t["progress"]["total"] == 3
    done = orch.wait_task(t["id"])
    assert done["progress"] == {"done": 3, "total": 3}
    assert done["error"] is None
    assert len(done["steps"]) == 3
    for s in done["steps"]:
        assert s["state"] == "succeeded" and s["attempts"] == 1
        assert s["started_at"] and s["finished_at"]
    listed = orch.ok("GET", "/api/v1/clusters/prod/tasks")
    assert [x["id"] for x in listed["items"]] == [t["id"]]
    assert orch.ok("GET", "/api/v1/clusters/prod/tasks",
                   params={"state": "queued"})["items"] == []
    assert orch.get("/api/v1/tasks/t-doesnotexist").status_code == 404
    assert orch.post("/api/v1/clusters/nope/tasks", {"type": "noop"}).status_code == 404
    # Every state change is an event.
    evs = orch.ok("GET", "/api/v1/events", params={"cluster": "prod"})["items"]
    results = [e["result"] for e in evs if e["kind"] == "task" and e["target"] == t["id"]]
    assert results[0] == "queued" and "running" in results and results[-1] == "succeeded"


def test_serial_per_cluster_parallel_across_clusters(orch):
    for c in ("a", "b", "c"):
        orch.create_cluster(c)
    a = [orch.submit("a", duration_s=1, steps=1)["id"] for _ in range(3)]
    b = orch.submit("b", duration_s=1, steps=1)["id"]
    c = orch.submit("c", duration_s=1, steps=1)["id"]
    tasks = {i: orch.wait_task(i, timeout=30) for i in a + [b, c]}
    spans = {i: (ts(t["started_at"]), ts(t["finished_at"])) for i, t in tasks.items()}
    # Cluster a: one at a time, in arrival order.
    for first, second in zip(a, a[1:]):
        assert spans[first][1] <= spans[second][0], (spans[first], spans[second])
    # Clusters b and c ran beside a's first task, not after it.
    for other in (b, c):
        assert spans[other][0] < spans[a[0]][1], (spans[other], spans[a[0]])
    # Queue listing agrees with the run order.
    listed = orch.ok("GET", "/api/v1/clusters/a/tasks")["items"]
    assert [x["id"] for x in listed] == list(reversed(a))


def test_cancel_queued_and_running(orch):
    orch.create_cluster("prod")
    run = orch.submit("prod", duration_s=30, steps=2)["id"]
    queued = orch.submit("prod", duration_s=0, steps=1)["id"]
    orch.wait_task(run, ("running",))
    c = orch.ok("POST", f"/api/v1/tasks/{queued}/cancel")
    assert c["state"] == "cancelled"
    orch.ok("POST", f"/api/v1/tasks/{run}/cancel")
    t = orch.wait_task(run, ("cancelled",), timeout=10)
    assert all(s["state"] in ("cancelled", "succeeded") for s in t["steps"])
    assert t["steps"][-1]["state"] == "cancelled"
    # A finished task cannot be cancelled again.
    r = orch.post(f"/api/v1/tasks/{run}/cancel")
    assert r.status_code == 409
    assert orch.task(queued)["started_at"] is None
    c = orch.ok("GET", "/api/v1/clusters/prod")
    assert c["queue_depth"] == 0 and c["running_task"] is None


def test_pause_and_resume_queued_task(orch):
    orch.create_cluster("prod")
    first = orch.submit("prod", duration_s=1, steps=1)["id"]
    paused = orch.submit("prod", duration_s=0, steps=1)["id"]
    third = orch.submit("prod", duration_s=0, steps=1)["id"]
    assert orch.ok("POST", f"/api/v1/tasks/{paused}/pause")["state"] == "paused"
    orch.wait_task(third, timeout=15)
    assert orch.task(paused)["state"] == "paused"
    assert orch.task(first)["state"] == "succeeded"
    assert orch.ok("POST", f"/api/v1/tasks/{paused}/resume")["state"] in (
        "queued", "running", "succeeded")
    orch.wait_task(paused)


def test_pause_and_resume_running_task_keeps_finished_steps(orch):
    orch.create_cluster("prod")
    t = orch.submit("prod", duration_s=3, steps=3)["id"]
    behind = orch.submit("prod", duration_s=0, steps=1)["id"]
    wait_until(lambda: orch.task(t)["steps"][0]["state"] == "succeeded", 10,
               "first step done")
    orch.ok("POST", f"/api/v1/tasks/{t}/pause")
    paused = orch.wait_task(t, ("paused",), timeout=10)
    first_started = paused["steps"][0]["started_at"]
    # A started task that is paused keeps the head: nothing behind it runs.
    assert orch.task(behind)["state"] == "queued"
    orch.ok("POST", f"/api/v1/tasks/{t}/resume")
    done = orch.wait_task(t, timeout=15)
    assert done["steps"][0]["attempts"] == 1
    assert done["steps"][0]["started_at"] == first_started
    assert orch.wait_task(behind)["state"] == "succeeded"


def test_resume_after_kill9_at_first_unfinished_step(orch):
    orch.create_cluster("prod")
    t = orch.submit("prod", duration_s=6, steps=4)["id"]  # 1.5 s a step
    q1 = orch.submit("prod", duration_s=0, steps=1)["id"]
    q2 = orch.submit("prod", duration_s=0, steps=1)["id"]
    wait_until(lambda: orch.task(t)["steps"][1]["state"] == "running", 15,
               "second step running")
    before = orch.task(t)
    orch.kill9()
    orch.start()
    done = orch.wait_task(t, timeout=30)
    s0 = done["steps"][0]
    assert s0["attempts"] == 1 and s0["started_at"] == before["steps"][0]["started_at"]
    assert s0["finished_at"] == before["steps"][0]["finished_at"]
    # The interrupted step ran again from the start; later ones once.
    assert done["steps"][1]["attempts"] >= 1
    assert [s["state"] for s in done["steps"]] == ["succeeded"] * 4
    assert done["steps"][2]["attempts"] == 1 and done["steps"][3]["attempts"] == 1
    # The queued tasks stayed queued, then ran in order after it.
    a, b = orch.wait_task(q1), orch.wait_task(q2)
    assert ts(done["finished_at"]) <= ts(a["started_at"]) <= ts(b["started_at"])


def test_sigterm_leaves_running_task_for_resume(orch):
    orch.create_cluster("prod")
    t = orch.submit("prod", duration_s=20, steps=2)["id"]
    orch.wait_task(t, ("running",))
    assert orch.stop() == 0
    orch.start()
    t2 = orch.task(t)
    assert t2["state"] in ("running", "queued")
    orch.ok("POST", f"/api/v1/tasks/{t}/cancel")
    orch.wait_task(t, ("cancelled",))


def test_max_attempts_bounds_a_step_s_retries(orch):
    """max_attempts, taken by every type: a step that needs 3 attempts
    fails after 2 when the task says 2, succeeds with the type's 5."""
    orch.create_cluster("prod")
    t = orch.submit("prod", fail_attempts=2, max_attempts=2)
    got = orch.wait_task(t["id"], states=("failed",), timeout=30)
    assert "failed after 2 attempts" in got["error"], got
    assert got["params"]["max_attempts"] == 2
    t = orch.submit("prod", fail_attempts=2)
    got = orch.wait_task(t["id"], timeout=30)
    assert got["steps"][0]["attempts"] == 3, got
    for bad in (0, 21, "2"):
        r = orch.post("/api/v1/clusters/prod/tasks", {"type": "noop", "params": {"max_attempts": bad}})
        assert r.status_code == 400 and "max_attempts" in r.text, r.text
