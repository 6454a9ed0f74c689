"""Cancel of an incremental repair on real nodes (issue #17; docs/repair.md,
"Cancelling inside Cassandra"): the task's cancel must leave no incremental
session running in Cassandra, on any node, which `nodetool repair_admin
list` is the witness of.

A real repair of a few MB is over in a second, so this one is held open:

- a keyspace of its own (`ircancel`, replicated to every node, one table
  without compression) gets ~40 MB of fresh, unrepaired rows, and every
  node's compaction throughput is set to 1 MB/s.  An incremental repair
  of a node's primary ranges first anticompacts the unrepaired SSTables of
  every participant (its session is PREPARING there), at that 1 MB/s:
  ~40 s;
- once the coordinator lists the session, the Cassandra JVM of one other
  participant is stopped (SIGSTOP) in the middle of its anticompaction.
  The coordinator then waits for that participant's prepare answer with no
  time limit: on 4.1.1 the session stayed PREPARED for the 114 s a node
  was stopped by hand, the node DN, and nothing but a cancel ended it.  (Stopping a node before the
  session exists does not work: the parent session's own prepare gives up
  after the request timeout, "Did not get replies from all endpoints", and
  no incremental session is ever opened.  After the prepare, a stopped
  node is convicted by the failure detector and the session fails by
  itself.)

The task is cancelled through the API while the participant is still
stopped: the coordinator's agent fails the session (`repair_admin cancel`),
the coordinator and the running participant list it FAILED at once, and the
stopped one does so as soon as it runs again.  Whatever happens, the
stopped JVM is resumed, the throughput put back, any session of the test's
still running failed by hand and the keyspace dropped, with every node UN."""
import json
import os
import re
import signal
import time

from realenv import wait_until

KS3 = "ircancel"
TABLE = "blob"
ROWS = 10000             # ~4 KB each: ~40 MB a node, ~40 s of anticompaction at 1 MB/s
THROUGHPUT_MB = 1
RUNNING = {"PREPARING", "PREPARED", "REPAIRING", "FINALIZE_PROMISED"}
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def admin_list(node, all_=False):
    """(stdout, {session id: state}) of `nodetool repair_admin list [--all]`."""
    args = ["repair_admin", "list"] + (["--all"] if all_ else [])
    out = node.real.nodetool(*args, timeout=120).stdout
    rows = {}
    for ln in out.splitlines():
        f = [c.strip() for c in ln.split("|")]
        if len(f) >= 2 and UUID.match(f[0]):
            rows[f[0]] = f[1]
    return out, rows


def jvm_pid(node):
    return int((node.dir / "pid").read_text().split()[0])


def jvm_stopped(pid):
    """True when the process is stopped (state T in /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("T", "t")
    except OSError:
        return False


def all_un(node, nodes):
    """True when node's `nodetool status` shows every one of nodes UN."""
    out = node.real.nodetool("status", check=False).stdout
    seen = {f[1]: f[0] for f in (ln.split() for ln in out.splitlines()) if len(f) >= 2}
    return all(seen.get(n.address) == "UN" for n in nodes)


def compaction_throughput(node):
    out = node.real.nodetool("getcompactionthroughput").stdout
    m = re.search(r"(\d+)", out)
    assert m, out
    return int(m.group(1))


def load_rows(real):
    n1 = real.nodes[0].real
    n1.cqlsh(f"CREATE KEYSPACE IF NOT EXISTS {KS3} WITH replication = "
             f"{{'class': 'NetworkTopologyStrategy', 'dc1': {len(real.nodes)}}}; "
             f"CREATE TABLE IF NOT EXISTS {KS3}.{TABLE} (k int PRIMARY KEY, v text) "
             "WITH compression = {'enabled': 'false'};", request_timeout=60)
    csv = real.tmp / "ircancel.csv"
    with open(csv, "w") as f:
        for i in range(ROWS):
            f.write(f"{i},{os.urandom(2048).hex()}\n")
    # one row a batch: 80 rows of 4 KB pass batch_size_fail_threshold
    out = n1.cqlsh(f"COPY {KS3}.{TABLE} (k, v) FROM '{csv}' WITH MAXBATCHSIZE=1 "
                   "AND MINBATCHSIZE=1", timeout=600)
    assert f"{ROWS} rows imported" in out, out[-2000:]
    csv.unlink()
    for n in real.nodes:
        n.real.nodetool("flush", KS3)


def job_result(node, tid):
    """The result line of the repair job task tid ran on node (the agent
    keeps each job's JSON lines in <state_dir>/jobs/<job id>/out)."""
    for d in sorted((node.state_dir / "jobs").glob(f"{tid}.*")):
        if json.loads((d / "argv").read_text())[0] != "repair":
            continue
        for ln in (d / "out").read_text().splitlines():
            m = json.loads(ln)
            if m.get("type") == "result":
                return m
    raise AssertionError(f"no result of a repair job of {tid} on {node.name}")


def running_step_node(real, tid):
    t = real.o.task(tid)
    if t["state"] not in ("queued", "running"):
        raise AssertionError(f"task ended before its step ran: {t}")
    return next((s["node"] for s in t["steps"] if s["state"] == "running" and s["node"]), None)


def test_cancel_leaves_no_incremental_session_running(real):
    nodes = list(real.nodes)
    assert len(nodes) >= 3, [n.address for n in nodes]
    before_tp = {n.name: compaction_throughput(n) for n in nodes}
    stopped = None        # (node, pid) while a JVM is stopped
    tid = sid = None
    t0 = time.monotonic()
    try:
        load_rows(real)
        for n in nodes:
            n.real.nodetool("setcompactionthroughput", str(THROUGHPUT_MB))
        print(f"cancel: {ROWS} rows loaded, throughput {THROUGHPUT_MB} MB/s after "
              f"{time.monotonic() - t0:.0f}s")

        r = real.submit("repair", keyspace=KS3, full=False, parallelism=1, segments_per_node=1)
        assert r.status_code == 202, r.text
        tid = r.json()["id"]
        t_submit = time.monotonic()
        coord_addr = wait_until(lambda: running_step_node(real, tid), 120,
                                "the repair's first step on its node", cap=1.0)
        coord = real.by_address(coord_addr)
        part = [n for n in nodes if n is not coord][-1]

        # The session on the coordinator: PREPARING while the anticompaction runs.
        def listed():
            out, rows = admin_list(coord)
            live = {k: v for k, v in rows.items() if v in RUNNING}
            return (out, live) if live else None
        out_open, live = wait_until(listed, 120, f"an incremental session on {coord.name}",
                                    cap=0.5)
        t_open = time.monotonic()
        assert len(live) == 1, out_open
        sid = next(iter(live))
        pid = jvm_pid(part)
        os.kill(pid, signal.SIGSTOP)
        stopped = (part, pid)
        print(f"cancel: session {sid} {live[sid]} on {coord.name} "
              f"{t_open - t_submit:.0f}s after the submit, {part.name}'s JVM stopped:\n{out_open}")

        # Held: still waiting for the stopped node's prepare a while later.
        time.sleep(5)
        out_held, rows = admin_list(coord)
        assert rows.get(sid) in ("PREPARING", "PREPARED"), (
            "the session went past its prepare before the participant was stopped "
            f"(more rows or a lower throughput needed):\n{out_held}")
        print(f"cancel: held on {coord.name}:\n{out_held}")

        r = real.o.req("POST", f"/api/v1/tasks/{tid}/cancel")
        assert r.status_code == 200, r.text
        t_cancel = time.monotonic()
        t = real.o.wait_task(tid, states=("succeeded", "failed", "cancelled", "partial"),
                             timeout=300)
        assert t["state"] == "cancelled", t
        print(f"cancel: task cancelled {time.monotonic() - t_cancel:.0f}s after the cancel; "
              f"steps: {[(s['node'], s['state'], s['message']) for s in t['steps']]}")

        # The stopped node still stopped: only the cancel can have ended it.
        assert jvm_stopped(pid)
        after = {}
        for n in nodes:
            if n is part:
                continue

            def failed_here(n=n):
                out, rows = admin_list(n, all_=True)
                return out if rows.get(sid) == "FAILED" else None
            after[n.name] = wait_until(failed_here, 60, f"{sid} FAILED on {n.name}", cap=2.0)
            out, rows = admin_list(n)
            assert not rows, f"{n.name} lists a session not ended:\n{out}"
        # ... by the agent: its job's result names the session it failed
        res = job_result(coord, tid)
        assert res["error"]["code"] == "cancelled", res
        assert res["data"]["cancelled_sessions"] == [sid], res
        print(f"cancel: FAILED on the running nodes {time.monotonic() - t_cancel:.0f}s after "
              "the cancel:\n" + "\n".join(f"{k}:\n{v}" for k, v in after.items()))

        os.kill(pid, signal.SIGCONT)
        stopped = None
        t_cont = time.monotonic()

        def failed_there():
            out, rows = admin_list(part, all_=True)
            return out if rows.get(sid) == "FAILED" else None
        out_part = wait_until(failed_there, 120, f"{sid} FAILED on {part.name}", cap=2.0)
        out, rows = admin_list(part)
        assert not rows, f"{part.name} lists a session not ended:\n{out}"
        print(f"cancel: FAILED on {part.name} {time.monotonic() - t_cont:.0f}s after it ran "
              f"again (stopped {t_cont - t_open:.0f}s):\n{out_part}\nlist:\n{out}")
    finally:
        if stopped is not None:
            os.kill(stopped[1], signal.SIGCONT)
        restore(real, nodes, before_tp, tid, sid)


def restore(real, nodes, before_tp, tid, sid):
    """Put the cluster back whatever happened: no stopped JVM, every node UN,
    the task ended, no session of the test running, the keyspace gone and
    the throughput as it was.  Each part is tried even if another fails;
    the first failure is raised at the end."""
    errors = []

    def attempt(what, fn):
        try:
            fn()
        except Exception as e:  # noqa: BLE001 - raised below, after the rest
            errors.append(f"{what}: {e}")

    for n in nodes:
        pid = jvm_pid(n)
        if jvm_stopped(pid):
            os.kill(pid, signal.SIGCONT)
    if tid is not None:
        attempt("cancel the task", lambda: real.o.req("POST", f"/api/v1/tasks/{tid}/cancel"))
        attempt("the task's end", lambda: real.o.wait_task(
            tid, states=("succeeded", "failed", "cancelled", "partial"), timeout=300))
    for n in nodes:
        attempt(f"every node UN for {n.name}", lambda n=n: wait_until(
            lambda: all_un(n, nodes), 180, f"every node UN in {n.name}'s status", cap=3.0))
    if sid is not None:
        for n in nodes:
            def end(n=n):
                _, rows = admin_list(n)
                if rows.get(sid) in RUNNING:
                    n.real.nodetool("repair_admin", "cancel", "--session", sid, "--force",
                                    check=False)
                wait_until(lambda: admin_list(n)[1].get(sid) not in RUNNING, 60,
                           f"{sid} ended on {n.name}", cap=2.0)
            attempt(f"no running session on {n.name}", end)
    for n in nodes:
        attempt(f"throughput of {n.name}", lambda n=n: n.real.nodetool(
            "setcompactionthroughput", str(before_tp[n.name])))
    attempt("drop the keyspace", lambda: nodes[0].real.cqlsh(
        f"DROP KEYSPACE IF EXISTS {KS3};", request_timeout=60))
    for n in nodes:
        attempt(f"snapshots of {n.name}", lambda n=n: n.real.nodetool(
            "clearsnapshot", "--all", "--", KS3, check=False))
    assert not errors, "; ".join(errors)
