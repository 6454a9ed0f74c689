"""A step found running at start-up continues as the same attempt, but an
orchestrator killed under the same attempt three times in a row fails that
attempt (the step may be what kills it), so the type's attempt limit
applies; a clean stop (SIGTERM) does not count.  The real orchestrator with
a one-step noop that waits for an hour."""
import re

from orch import orch, orch_factory, wait_until  # noqa: F401

FOUND = re.compile(r"task (\S+): step '([^']+)' found running at start-up, "
                   r"attempt (\d+) \((\d+) of 3 starts")


def found_lines(o, tid):
    text = o.log_path.read_text(errors="replace") if o.log_path.exists() else ""
    return [m for m in FOUND.finditer(text) if m.group(1) == tid]


def step0(o, tid):
    return o.task(tid)["steps"][0]


def restart(o, tid, clean, seen):
    """Stop (SIGTERM or kill -9), start, and wait until the engine has
    picked the task up again (its log line), so the next stop falls on a
    counted start.  Returns the lines seen so far."""
    if clean:
        assert o.stop() == 0
    else:
        o.kill9()
    o.start()
    wait_until(lambda: len(found_lines(o, tid)) > seen, 20,
               "the task picked up after the restart")
    return len(found_lines(o, tid))


def test_kill9_three_times_fails_the_attempt_and_retries(orch):  # noqa: F811
    orch.create_cluster("c1")
    t = orch.submit("c1", duration_s=3600)
    tid = t["id"]
    wait_until(lambda: step0(orch, tid)["state"] == "running", 10, "running")
    seen = 0
    for i in (1, 2):
        seen = restart(orch, tid, False, seen)
        m = found_lines(orch, tid)[-1]
        assert (int(m.group(3)), int(m.group(4))) == (1, i), m.group(0)
        s = step0(orch, tid)
        assert (s["state"], s["attempts"]) == ("running", 1), s
    seen = restart(orch, tid, False, seen)
    assert int(found_lines(orch, tid)[-1].group(4)) == 3
    # The third: the attempt failed without being run, and the retry
    # (attempt 2, after noop's short backoff) runs.
    wait_until(lambda: step0(orch, tid)["attempts"] == 2 and
               step0(orch, tid)["state"] == "running", 20, "attempt 2")
    log = orch.log_path.read_text(errors="replace")
    assert ("step 'noop-1' was running when the orchestrator stopped 3 "
            "times; it may be what stops it") in log, orch.log_tail()
    assert orch.task(tid)["state"] == "running"
    # A new attempt counts from 0 again.
    restart(orch, tid, False, seen)
    m = found_lines(orch, tid)[-1]
    assert (int(m.group(3)), int(m.group(4))) == (2, 1), m.group(0)
    orch.ok("POST", f"/api/v1/tasks/{tid}/cancel")
    assert orch.wait_task(tid, ("cancelled",))["state"] == "cancelled"


def test_clean_stops_do_not_count(orch):  # noqa: F811
    orch.create_cluster("c1")
    tid = orch.submit("c1", duration_s=3600)["id"]
    wait_until(lambda: step0(orch, tid)["state"] == "running", 10, "running")
    seen = 0
    for _ in range(4):
        seen = restart(orch, tid, True, seen)
        m = found_lines(orch, tid)[-1]
        # Each clean stop set the count back: every start is the first.
        assert (int(m.group(3)), int(m.group(4))) == (1, 1), m.group(0)
    s = step0(orch, tid)
    assert (s["state"], s["attempts"]) == ("running", 1), s
    # A kill after the clean stops counts from there: 2, not failed.
    seen = restart(orch, tid, False, seen)
    m = found_lines(orch, tid)[-1]
    assert (int(m.group(3)), int(m.group(4))) == (1, 2), m.group(0)
    assert step0(orch, tid)["attempts"] == 1
