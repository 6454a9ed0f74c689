#!/usr/bin/python3
"""Chaos run: backups, restores and repairs on a simulated 4.1 cluster of
three nodes while the orchestrator, the agents' jobs and daemons, a node's
sshd and the S3 server are killed (SIGKILL) at random points; then the
invariants are checked.

    tests/chaos/chaos.py [--seed N] [--duration S] [--iterations N] [--dir DIR] [--self-check]

One iteration submits one operation (backup, restore of a complete backup
to one node, or repair; seeded choice), waits a random 0-15 s, kills one thing
(seeded choice), brings it back after 0.5-4 s, and waits for the task to
end.  The run stops after --iterations or --duration seconds, whichever
comes first (the iteration under way finishes), heals everything, waits for
every task to end, and checks:

  1. every task ended succeeded, failed or cancelled; a failed one says why
     (a non-empty error) - none is left queued or running;
  2. every backup the orchestrator lists as complete has its cluster
     manifest, each node manifest it names, and every file those name, in
     S3 with the manifest's size and SHA-256;
  3. no data object was stored twice (s3rver logs each stored object;
     content is immutable and deduplicated, so a second PUT of one key
     means a resumed upload did not see what it had already sent);
  4. no live node was replaced or removed: the same three host ids, no
     replace or removenode task, every simulated Cassandra still running;
  5. the orchestrator's store passes PRAGMA integrity_check.

Exit 0 when all hold; 1 with the broken invariants listed; the seed is in
the first line so a failure can be replayed, and so is the work directory,
which is kept (logs of the orchestrator, s3rver, agents) when run by hand.  The environment is the
backup tests' (tests/e2e/bkenv.py): s3rver, sim cluster with sshd and
agents, orchestrator; its addresses come from the process id like theirs.
"""
import argparse
import hashlib
import json
import os
import random
import re
import signal
import sqlite3
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))

from agentutil import RINGAGENT, orch_nodes, simlib  # noqa: E402
from bkenv import backup_env  # noqa: E402
from s3util import BUCKET  # noqa: E402

SIMCTL = HERE.parent / "sim" / "simctl"
CL = "chaos"
PREFIX = "chaos"
OPS = ("backup", "backup", "restore", "repair")
FAULTS = ("orchestrator", "agent-jobs", "agent-daemon", "sshd", "s3")
END = ("succeeded", "failed", "cancelled", "partial")


def log(msg):
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ---- the things that get killed --------------------------------------------

def s3_kill(e):
    if e.s3.proc is not None and e.s3.proc.poll() is None:
        os.killpg(e.s3.proc.pid, signal.SIGKILL)
        e.s3.proc.wait()


def s3_start_same_port(e):
    """s3rver again on its old port, over the same data."""
    e.s3.restart()


def job_pids(e, node):
    """The node's op processes: jobs started over SSH run the agent with
    the per-address config the tasks name."""
    return simlib.pids_referencing(f"{e.confs}/{e.c.address(node)}.conf")


def inject(e, rng, fault, node):
    """Kill one thing; return the function that brings it back."""
    if fault == "orchestrator":
        e.o.kill9()
        return lambda: e.o.start(timeout=60)
    if fault == "agent-jobs":
        pids = job_pids(e, node)
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # None running is a fault that missed (the op was elsewhere):
        # the log says so, so a run's real count can be read from it.
        log(f"  {len(pids)} job processes on {node} killed")
        return lambda: None     # the orchestrator's poll finds the job lost
    if fault == "agent-daemon":
        simlib.stop_agent(e.c.dir, node, hard=True)
        return lambda: simlib.start_agent(e.c.dir, node, agent=str(RINGAGENT))
    if fault == "sshd":
        simlib.stop_sshd(e.c.dir, node, hard=True)
        return lambda: simlib.start_sshd(e.c.dir, node)
    if fault == "s3":
        s3_kill(e)
        return lambda: s3_start_same_port(e)
    raise ValueError(fault)


# ---- operations ------------------------------------------------------------

def submit(e, type_, params):
    params = dict(params, agent=e.agent, max_attempts=3)
    for _ in range(60):
        try:
            r = e.o.post(f"/api/v1/clusters/{CL}/tasks", {"type": type_, "params": params})
        except Exception:
            time.sleep(0.5)     # the orchestrator is being restarted
            continue
        if r.status_code == 202:
            return r.json()["id"]
        if r.status_code >= 500:
            time.sleep(0.5)
            continue
        return None, r.status_code, r.text
    raise AssertionError(f"cannot submit {type_}: orchestrator unreachable")


def pages(e, path):
    """Every item of a paged listing."""
    out, cursor = [], None
    while True:
        q = "?limit=500" + (f"&cursor={cursor}" if cursor else "")
        page = e.o.ok("GET", path + q)
        out += page["items"]
        cursor = page.get("next")
        if not cursor:
            return out


def complete_backups(e):
    return [b for b in pages(e, f"/api/v1/clusters/{CL}/backups") if b["state"] == "complete"]


def pick_op(e, rng):
    op = rng.choice(OPS)
    if op == "restore":
        done = complete_backups(e)
        if not done:
            op = "backup"
        else:
            b = rng.choice(done)
            node = rng.choice(e.c.names)
            return op, {"backup_id": b["id"], "nodes": [e.c.address(node)],
                        "keyspaces": ["ks1"]}
    if op == "repair":
        return op, {"keyspace": "ks1", "timeout_s": 60}
    return "backup", {}


def all_tasks(e):
    """Every task of the cluster, the ones the orchestrator submitted
    itself (automatic replacement) too."""
    return pages(e, f"/api/v1/clusters/{CL}/tasks")


def task_get(e, tid, timeout=30):
    deadline = time.time() + timeout
    while True:
        try:
            r = e.o.get(f"/api/v1/tasks/{tid}")
            if r.status_code == 200:
                return r.json()
        except Exception:
            pass
        if time.time() > deadline:
            raise AssertionError(f"task {tid}: orchestrator does not answer")
        time.sleep(0.5)


def wait_end(e, tid, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        t = task_get(e, tid)
        if t["state"] in END:
            return t
        time.sleep(0.5)
    return task_get(e, tid)


# ---- invariants ------------------------------------------------------------

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def check(e, tids, host_ids, cass_pids, dead=None):
    """dead: (address, host id) of the node the replacement stage killed,
    the one node that may be replaced."""
    bad = []
    # 1. tasks ended, with a reason when failed
    for tid in sorted(set(tids) | {t["id"] for t in all_tasks(e)}):
        t = task_get(e, tid)
        if t["state"] not in END:
            bad.append(f"task {tid} ({t['type']}) still {t['state']}")
        elif t["state"] in ("failed", "partial") and not (t.get("error") or "").strip():
            bad.append(f"task {tid} ({t['type']}) {t['state']} without an error")
    # 2. complete backups are whole
    obj = lambda key: e.s3.object_path(f"{PREFIX}/{key}")  # noqa: E731
    for b in complete_backups(e):
        cpath = obj(f"{CL}/backups/{b['id']}/cluster.json")
        if not cpath.exists():
            bad.append(f"backup {b['id']} listed complete without its cluster manifest")
            continue
        cm = json.loads(cpath.read_text())
        for n in cm["nodes"]:
            npath = obj(n["manifest"])
            if not npath.exists():
                bad.append(f"backup {b['id']}: node manifest {n['manifest']} missing")
                continue
            nm = json.loads(npath.read_text())
            for f in nm["files"]:
                p = obj(f["key"])
                if not p.exists():
                    bad.append(f"backup {b['id']}: {f['key']} missing from S3")
                elif p.stat().st_size != f["size"] or sha256(p) != f["sha256"]:
                    bad.append(f"backup {b['id']}: {f['key']} differs from its manifest")
    # 3. no data object stored twice
    stored = {}
    for m in re.finditer(r'Stored object "([^"]+)"', e.s3.log_path.read_text(errors="replace")):
        k = m.group(1)
        if f"/{CL}/data/" in f"/{k}":
            stored[k] = stored.get(k, 0) + 1
    twice = sorted(k for k, n in stored.items() if n > 1)
    if twice:
        bad.append(f"{len(twice)} data objects stored more than once, e.g. {twice[:3]}")
    # 4. no live node replaced or removed: only the dead one may go
    now = {v.get("host_id") for v in orch_nodes(e.o, CL).values()}
    kept = host_ids - {dead[1]} if dead else host_ids
    if not kept <= now:
        bad.append(f"live nodes' host ids gone: {sorted(kept - now)}")
    if not dead and now != host_ids:
        bad.append(f"host ids changed: {sorted(host_ids)} -> {sorted(now)}")
    for t in all_tasks(e):
        if t["type"] == "removenode":
            bad.append(f"task {t['id']} removes a node")
        elif t["type"] == "replace" and (not dead or t["params"].get("node") != dead[0]):
            bad.append(f"task {t['id']} replaces {t['params'].get('node')}, which was live")
    for n in cass_pids:
        if not e.c.node(n).get("up"):
            bad.append(f"simulated Cassandra of {n} is no longer up")
    # 5. the store is sound
    for db in e.o.data_dir.glob("*.db"):
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
        try:
            res = con.execute("PRAGMA integrity_check").fetchall()
        finally:
            con.close()
        if res != [("ok",)]:
            bad.append(f"{db.name}: integrity_check: {res[:5]}")
    return bad, len(stored)


def replacement(e, rng, tids, cass_pids):
    """The last stage: a node dies for good (its simulated Cassandra and
    agent killed); the cluster's replace_after submits its replacement,
    during which the orchestrator, or the new host's way to S3 or SSH,
    is killed once.  Returns (address, host id) of the dead node, and
    whether the replacement succeeded with the new node up."""
    victim = e.c.names[-1]
    addr = e.c.address(victim)
    hid = orch_nodes(e.o, CL)[addr]["host_id"]
    log(f"replacement: {victim} ({addr}) dies")
    e.c.kill(victim)
    cass_pids.remove(victim)
    deadline = time.time() + 240
    rt = None
    while time.time() < deadline and rt is None:
        try:
            rt = next((t for t in all_tasks(e) if t["type"] == "replace"), None)
        except Exception:
            pass
        time.sleep(1)
    if rt is None:
        return (addr, hid), ["replacement: no replace task within 240 s of the node dying"]
    tids.append(rt["id"])
    fault = rng.choice(("orchestrator", "orchestrator", "s3", "agent-jobs"))
    time.sleep(rng.uniform(0, 8))
    log(f"replacement {rt['id']}: kill {fault} mid-way")
    heal = inject(e, rng, fault, e.c.names[0])
    time.sleep(rng.uniform(0.5, 3))
    heal()
    t = wait_end(e, rt["id"], 300)
    log(f"replacement {rt['id']}: {t['state']}"
        + (f": {(t.get('error') or '')[:600]}" if t["state"] == "failed" else ""))
    bad = []
    if t["state"] != "succeeded":
        bad.append(f"replacement {rt['id']} of {addr} ended {t['state']}: {t.get('error')}")
    else:
        nodes = orch_nodes(e.o, CL)
        if addr in nodes and nodes[addr].get("host_id") == hid:
            bad.append(f"replacement {rt['id']} succeeded but {addr} keeps its old host id")
        if sum(1 for v in nodes.values() if v["state"] == "up") < 3:
            bad.append(f"after the replacement fewer than 3 nodes are up: {nodes}")
    return (addr, hid), bad


def self_check(e, tids, host_ids, cass_pids, dead):
    """Break what the checks guard, once, after the real check passed, and
    make sure check() says so: a checker that cannot fail proves nothing.
    One data object of a complete backup goes, and a second store of
    another is written into s3rver's log."""
    done = complete_backups(e)
    if not done:
        return ["self-check: no complete backup to damage"]
    cm = json.loads(e.s3.object_path(f"{PREFIX}/{CL}/backups/{done[0]['id']}/cluster.json")
                    .read_text())
    nm = json.loads(e.s3.object_path(f"{PREFIX}/{cm['nodes'][0]['manifest']}").read_text())
    gone = e.s3.object_path(f"{PREFIX}/{nm['files'][0]['key']}")
    twice = f"{PREFIX}/{nm['files'][-1]['key']}"
    gone.rename(gone.with_name(gone.name + ".aside"))
    with open(e.s3.log_path, "a") as f:
        f.write(f'chaos self-check: Stored object "{twice}" in bucket "{BUCKET}"\n')
    bad, _ = check(e, tids, host_ids, cass_pids, dead)
    out = []
    if not any("missing from S3" in b for b in bad):
        out.append("self-check: a missing object of a complete backup went unnoticed")
    if not any("stored more than once" in b for b in bad):
        out.append("self-check: a data object stored twice went unnoticed")
    if not out:
        log("self-check: a removed object and a second store were both caught")
    return out


def run(args, tmp):
    rng = random.Random(args.seed)
    net = 30 + (os.getpid() + 101) % 200
    log(f"seed {args.seed}, at most {args.iterations} iterations or {args.duration} s, "
        f"network 127.0.{net}.0/24, in {tmp}")
    with backup_env(tmp, CL, PREFIX, net=net, host=41, heartbeat_timeout="30s") as e:
        # Automatic replacement is on the whole time: a node whose agent
        # or sshd is killed for seconds must never be taken for dead.
        prov = tmp / "provider-sim"
        prov.write_text(f"#!/bin/sh\nexec {SIMCTL} provision {e.c.dir} --like {e.c.names[0]} "
                        f"--agent {RINGAGENT} --bootstrap-seconds 2\n")
        prov.chmod(0o755)
        e.o.ok("PATCH", f"/api/v1/clusters/{CL}", {"settings": {
            "replace_after": "15s", "provider": "sim", "provider_command": str(prov)}})
        host_ids = {v.get("host_id") for v in orch_nodes(e.o, CL).values()}
        cass_pids = [n for n in e.c.names if e.c.node(n).get("up")]
        assert len(cass_pids) == 3, "not every simulated node is up at the start"
        tids, counts = [], {}
        start = time.time()
        for i in range(args.iterations):
            if time.time() - start > args.duration:
                break
            op, params = pick_op(e, rng)
            fault, node = rng.choice(FAULTS), rng.choice(e.c.names)
            # A backup takes 10-30 s here: faults land in any of its steps.
            delay, outage = rng.uniform(0, 15), rng.uniform(0.5, 4)
            tid = submit(e, op, params)
            if not isinstance(tid, str):
                log(f"#{i} {op} refused: {tid}")
                continue
            tids.append(tid)
            time.sleep(delay)
            log(f"#{i} {op} {tid}: kill {fault} ({node}) after {delay:.1f}s for {outage:.1f}s")
            heal = inject(e, rng, fault, node)
            time.sleep(outage)
            heal()
            t = wait_end(e, tid, args.task_timeout)
            counts[(op, t["state"])] = counts.get((op, t["state"]), 0) + 1
            log(f"#{i} {op} {tid}: {t['state']}"
                + (f": {(t.get('error') or '')[:600]}" if t["state"] == "failed" else ""))
        # Everything is back; let the last ones finish.
        for tid in tids:
            wait_end(e, tid, args.task_timeout)
        dead, rbad = None, []
        if getattr(args, "replace", True):
            dead, rbad = replacement(e, rng, tids, cass_pids)
        bad, nstored = check(e, tids, host_ids, cass_pids, dead)
        bad = rbad + bad
        if getattr(args, "self_check", False) and not bad:
            bad += self_check(e, tids, host_ids, cass_pids, dead)
        log("outcomes: " + ", ".join(f"{op} {st} {n}" for (op, st), n in sorted(counts.items())))
        log(f"{len(tids)} tasks in {time.time() - start:.0f} s, {nstored} data objects "
            f"stored, {len(complete_backups(e))} complete backups checked")
        return bad, tids, counts


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, default=int(os.environ.get("RM_CHAOS_SEED", 1)))
    ap.add_argument("--duration", type=float, default=180, help="seconds (default 180)")
    ap.add_argument("--iterations", type=int, default=1000)
    ap.add_argument("--task-timeout", type=float, default=150,
                    help="seconds a task may take after its fault healed")
    ap.add_argument("--dir", help="work directory (default: a new one in /tmp)")
    ap.add_argument("--no-replace", dest="replace", action="store_false",
                    help="leave out the closing replacement stage")
    ap.add_argument("--self-check", action="store_true",
                    help="after the checks pass, damage a backup and make sure they fail")
    a = ap.parse_args(argv)
    import tempfile
    tmp = Path(a.dir or tempfile.mkdtemp(prefix="rm-chaos-"))
    bad, _, _ = run(a, tmp)
    if bad:
        log(f"FAILED (seed {a.seed}):\n  " + "\n  ".join(bad))
        return 1
    log(f"all invariants hold (seed {a.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
