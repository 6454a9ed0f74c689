"""A node whose Cassandra is killed: the orchestrator reports it down and a
backup is refused naming it; then it is started again (last test: it
restores what it breaks)."""
from realenv import CL, realcass, wait_until


def refusal(real, r, address):
    """The reason a backup submitted while `address` is down was refused:
    the 4xx answer, the failed task's error, or (the check step retries
    with growing waits for a minute or more) the message of its first
    failed attempt, after which the task is cancelled."""
    if r.status_code != 202:
        assert 400 <= r.status_code < 500, (r.status_code, r.text)
        return r.text, None
    tid = r.json()["id"]

    def refused():
        t = real.o.task(tid)
        if t["state"] in ("succeeded", "failed", "cancelled"):
            return t
        check = [s for s in t["steps"] if s["name"] == "check"]
        if check and check[0]["attempts"] >= 1 and address in (check[0]["message"] or ""):
            return t
        return None
    t = wait_until(refused, 240, "the backup to fail or refuse its check", cap=2.0)
    assert t["state"] != "succeeded", t
    why = t["error"] or [s for s in t["steps"] if s["name"] == "check"][0]["message"]
    if t["state"] not in ("failed", "cancelled"):
        real.o.ok("POST", f"/api/v1/tasks/{tid}/cancel")
        t = real.o.wait_task(tid, states=("failed", "cancelled"), timeout=120)
    assert all(s["state"] != "succeeded" for s in t["steps"] if s["name"] != "check"), t
    return why, tid


def test_killed_node_is_reported_down_and_a_backup_refused(real):
    n3 = real.node("n3")
    n3.real.kill()
    try:
        wait_until(lambda: real.orch_nodes()[n3.address]["state"] == "down", 180,
                   "the orchestrator to report n3 down", cap=2.0)
        c = real.o.ok("GET", f"/api/v1/clusters/{CL}")
        assert c["nodes_down"] == 1 and c["nodes_up"] == 2, c
        why, tid = refusal(real, real.submit("backup"), n3.address)
        assert n3.address in why, why
        assert all(b["task_id"] != tid or b["state"] != "complete" for b in real.backups())
    finally:
        n3.real.start(timeout=240)
        realcass.wait_status(real.nodes[0].real, n3.address, "UN", timeout=120)
    wait_until(lambda: real.orch_nodes()[n3.address]["state"] == "up", 180,
               "the orchestrator to report n3 up again", cap=2.0)
