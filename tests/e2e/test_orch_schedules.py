"""Schedules fire, never stack, and run a missed slot once after downtime;
events filter by since and cluster."""
import time
from datetime import datetime, timezone

from orch import orch, orch_factory, wait_until  # noqa: F401


def ts(s):
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def sched_tasks(o, sid, cluster="prod"):
    items = o.ok("GET", f"/api/v1/clusters/{cluster}/tasks", params={"limit": 1000})["items"]
    return [t for t in items if t.get("schedule_id") == sid]


def test_every_fires_and_never_stacks(orch):
    orch.create_cluster("prod")
    s = orch.ok("POST", "/api/v1/clusters/prod/schedules",
                {"type": "noop", "params": {"duration_s": 2.5, "steps": 1},
                 "every": "1s"}, status=201)
    assert s["id"].startswith("s-") and s["next_run_at"]
    listed = orch.ok("GET", "/api/v1/clusters/prod/schedules")["items"]
    assert [x["id"] for x in listed] == [s["id"]]

    seen_max = 0

    def two_done():
        nonlocal seen_max
        ts_ = sched_tasks(orch, s["id"])
        unfinished = [t for t in ts_ if t["state"] in ("queued", "running", "paused")]
        seen_max = max(seen_max, len(unfinished))
        return len([t for t in ts_ if t["state"] == "succeeded"]) >= 2
    wait_until(two_done, 20, "two scheduled runs", cap=0.2)
    assert seen_max <= 1
    assert orch.delete(f"/api/v1/schedules/{s['id']}").status_code == 204
    assert orch.delete(f"/api/v1/schedules/{s['id']}").status_code == 404
    assert orch.ok("GET", "/api/v1/clusters/prod/schedules")["items"] == []


def test_cron_schedule_is_accepted_with_next_run(orch):
    orch.create_cluster("prod")
    s = orch.ok("POST", "/api/v1/clusters/prod/schedules",
                {"type": "noop", "cron": "0 3 * * *"}, status=201)
    assert s["cron"] == "0 3 * * *"
    nxt = ts(s["next_run_at"])
    assert time.time() < nxt <= time.time() + 86400 + 60
    assert datetime.fromtimestamp(nxt, timezone.utc).strftime("%H:%M") == "03:00"


def test_missed_slots_run_once_after_downtime(orch):
    orch.create_cluster("prod")
    s = orch.ok("POST", "/api/v1/clusters/prod/schedules",
                {"type": "noop", "params": {"duration_s": 0, "steps": 1},
                 "every": "2s"}, status=201)
    wait_until(lambda: any(t["state"] == "succeeded" for t in sched_tasks(orch, s["id"])),
               10, "a first scheduled run")
    assert orch.stop() == 0
    stopped = time.time()
    # Down for three slots or more.
    wait_until(lambda: time.time() - stopped > 6.5, 10, "downtime", first=0.5)
    restarted = time.time()
    orch.start()

    def after():
        return [t for t in sched_tasks(orch, s["id"]) if ts(t["created_at"]) >= restarted - 0.5]
    first = wait_until(after, 10, "the catch-up run")
    # The catch-up fired once: nothing else was created in the same tick.
    t0 = min(ts(t["created_at"]) for t in first)
    same_tick = [t for t in after() if ts(t["created_at"]) - t0 < 0.5]
    assert len(same_tick) == 1, same_tick
    sch = orch.ok("GET", "/api/v1/clusters/prod/schedules")["items"][0]
    assert ts(sch["next_run_at"]) > t0


def test_events_filter_by_since_and_cluster(orch):
    orch.create_cluster("early")
    # Move to the next whole second so 'since' splits the two clusters.
    start = time.time()
    wait_until(lambda: int(time.time()) > int(start), 3, "the next second", first=0.05)
    since = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    orch.create_cluster("late")
    evs = orch.ok("GET", "/api/v1/events", params={"since": since})["items"]
    assert evs and all(e["cluster"] != "early" for e in evs)
    assert any(e["cluster"] == "late" and e["route"] == "/api/v1/clusters" for e in evs)
    only = orch.ok("GET", "/api/v1/events", params={"cluster": "early"})["items"]
    assert only and all(e["cluster"] == "early" for e in only)
    ev = only[0]
    for k in ("id", "at", "actor", "kind", "method", "route", "target", "result"):
        assert k in ev, k
    assert ev["actor"] == "admin" and ev["result"] == "201" and ev["target"] == "early"
    page = orch.ok("GET", "/api/v1/events", params={"limit": 1})
    assert len(page["items"]) == 1 and page["next"]
