"""Maintenance windows on repair (params.windows, orchestrator/tasks/window.c,
repair_win.c; docs/repair.md "Maintenance windows") against three simulated
nodes with real sshd, agents and orchestrator.  The windows are computed
from the clock when the test runs: one closed now (the repair waits and
says so, ringsh shows why, a cancel ends it at once), one open now (the
repair runs), and one that opens a few seconds later (no segment starts
before it opens, in both the per-node steps and the scheduler).  Bad
windows are refused with 400 on tasks and schedules, and nothing is
created."""
import re
import time
from datetime import datetime, timedelta, timezone

from agentutil import sim_factory, wait_for  # noqa: F401
from orch import orch, orch_factory  # noqa: F401
from test_agent_tasks import prepare
from test_repair_parallel import repair_log
from test_ringsh_common import clean_env, run

KOLKATA = timezone(timedelta(hours=5, minutes=30))


def hms(t, tz=timezone.utc):
    return datetime.fromtimestamp(t, tz).strftime("%H:%M:%S")


def window(start, end, tz=None, days="*"):
    w = {"days": days, "start": start, "end": end}
    if tz:
        w["tz"] = tz
    return w


def finished(o, tid, timeout=120):
    return o.wait_task(tid, states=("succeeded", "failed", "cancelled"), timeout=timeout)


def running_message(o, tid):
    for s in o.task(tid)["steps"]:
        if s["state"] == "running":
            return s["message"] or ""
    return ""


def test_closed_window_waits_says_why_and_cancel_ends_it(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3, num_tokens=4)
    agent = prepare(c, orch, tmp_path)
    now = int(time.time())
    opens = now + 7200
    t = orch.submit("sim", "repair", agent=agent, timeout_s=60, keyspace="ks1",
                    segments_per_node=2, parallelism=1,
                    windows=[window(hms(opens, KOLKATA), hms(opens + 3600, KOLKATA),
                                    tz="Asia/Kolkata")])
    wait_for(lambda: running_message(orch, t["id"]).startswith("waiting for maintenance"),
             "the repair waits for its window", timeout=30)
    msg = running_message(orch, t["id"])
    iso = datetime.fromtimestamp(opens, KOLKATA).strftime("%Y-%m-%dT%H:%M:%S+05:30")
    want = (f"waiting for maintenance window daily {hms(opens, KOLKATA)}-"
            f"{hms(opens + 3600, KOLKATA)} Asia/Kolkata: opens in ")
    assert msg.startswith(want), msg
    assert re.fullmatch(r"(1h59m|2h0m) \(" + re.escape(iso) + r"\)", msg[len(want):]), msg
    time.sleep(2)
    assert repair_log(c) == [], "a segment ran outside its window"
    task = orch.task(t["id"])
    assert task["state"] == "running", task
    assert [s["state"] for s in task["steps"]][:2] == ["running", "pending"], task["steps"]

    # ringsh: the task list says why it waits; task show has the message
    env = clean_env(tmp_path, url=orch.base, token=orch.admin_token)
    r = run(env, "-C", "sim", "-c", "tasks list")
    assert r.returncode == 0, r.stderr
    head, *rows = r.stdout.splitlines()
    assert head.split()[-1] == "NOTE", head
    row = [ln for ln in rows if ln.startswith(t["id"])]
    assert row and "running" in row[0] and "waiting for maintenance window daily" in row[0], \
        r.stdout
    r = run(env, "-C", "sim", "-c", f"tasks show {t['id']}")
    assert r.returncode == 0 and "waiting for maintenance window" in r.stdout, r.stdout

    # cancel while waiting: at once, nothing repaired
    t0 = time.time()
    orch.ok("POST", f"/api/v1/tasks/{t['id']}/cancel")
    task = finished(orch, t["id"], timeout=30)
    assert task["state"] == "cancelled", task
    assert time.time() - t0 < 10, "cancel waited for the window"
    assert repair_log(c) == []


def test_open_window_runs_and_bad_windows_are_refused(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3, num_tokens=4)
    agent = prepare(c, orch, tmp_path)
    now = int(time.time())
    t = orch.submit("sim", "repair", agent=agent, timeout_s=60, keyspace="ks1",
                    segments_per_node=2,
                    windows=[window(hms(now - 3600), hms(now + 3600), tz="UTC"),
                             window("01:00", "02:00", days=["sat", "sun"],
                                    tz="Europe/Berlin")])
    t = finished(orch, t["id"])
    assert t["state"] == "succeeded", t
    assert not any("waiting for" in (s["message"] or "") for s in t["steps"]), t["steps"]
    assert len(repair_log(c)) > 0

    bads = [
        ([], "params.windows must be an array of 1 to 32"),
        ({"days": "*"}, "params.windows must be an array"),
        ([window("22:00", "06:00", days="moonday")], "params.windows[0].days"),
        ([window("22:00", "06:00"), window("25:00", "06:00")],
         "params.windows[1].start must be a time of day"),
        ([window("22:00", "06:00", tz="Mars/Olympus_Mons")],
         "time zone 'Mars/Olympus_Mons'"),
        ([window("22:00", "06:00", tz="../../etc/passwd")], "not a zone name"),
        ([dict(window("22:00", "06:00"), zone="UTC")], "unknown key 'zone'"),
        ([window("22:00", "06:00")] * 33, "1 to 32"),
    ]
    tasks_before = len(orch.ok("GET", "/api/v1/clusters/sim/tasks")["items"])
    for bad, want in bads:
        r = orch.post("/api/v1/clusters/sim/tasks",
                      {"type": "repair", "params": {"windows": bad}})
        assert r.status_code == 400 and want in r.json()["error"]["message"], (bad, r.text)
        # schedules carry task params: checked when the schedule is made
        r = orch.post("/api/v1/clusters/sim/schedules",
                      {"type": "repair", "params": {"windows": bad}, "every": "1h"})
        assert r.status_code == 400 and want in r.json()["error"]["message"], (bad, r.text)
    assert len(orch.ok("GET", "/api/v1/clusters/sim/tasks")["items"]) == tasks_before
    assert orch.ok("GET", "/api/v1/clusters/sim/schedules")["items"] == []
    # a good one is accepted and keeps its windows
    w = [window("22:00", "06:00", tz="Europe/Berlin", days="mon-fri")]
    s = orch.ok("POST", "/api/v1/clusters/sim/schedules",
                {"type": "repair", "params": {"keyspace": "ks1", "windows": w},
                 "cron": "0 3 * * *"}, status=201)
    assert s["params"]["windows"] == w, s


def test_window_opening_later_starts_segments_only_then(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3, num_tokens=4)
    agent = prepare(c, orch, tmp_path)
    for parallelism in (1, 0):
        before = len(repair_log(c))
        opens = int(time.time()) + 12
        t = orch.submit("sim", "repair", agent=agent, timeout_s=60, keyspace="ks1",
                        segments_per_node=2, parallelism=parallelism,
                        windows=[window(hms(opens), hms(opens + 3600))])
        seen = set()
        deadline = time.time() + 120
        while orch.task(t["id"])["state"] in ("queued", "running") and time.time() < deadline:
            seen.add(running_message(orch, t["id"]))
            time.sleep(0.2)
        iso = datetime.fromtimestamp(opens, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        assert any(m.startswith("waiting for maintenance window daily ") and
                   f"({iso}+00:00)" in m for m in seen), (parallelism, seen)
        t = finished(orch, t["id"])
        assert t["state"] == "succeeded", t
        log = repair_log(c)[before:]
        assert log, "nothing was repaired"
        first = min(e["start"] for e in log)
        assert first >= opens, (parallelism, first, opens)
        # and not long after: the step woke when the window opened
        assert first < opens + 5, (parallelism, first, opens)
