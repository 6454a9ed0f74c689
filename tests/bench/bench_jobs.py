#!/usr/bin/env python3
"""Following node jobs: JOBS tasks, each with one node-status step whose job
on the node runs SECONDS, all at once on a daemon with 4 workers.  The node
is one simulated node's real sshd; the agent is a stand-in script that
speaks `ringagent job start ID --offset N --json -- OP` (its job "runs"
until SECONDS passed since its first start), so the figures are the
orchestrator's own: its CPU per job-second, its threads, and how many polls
it made.  Every task must succeed.

    bench_jobs.py [JOBS [SECONDS]]     default 200 30
"""
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))
sys.path.insert(0, str(HERE.parent / "sim"))
sys.path.insert(0, str(HERE))
import simlib  # noqa: E402
from orch import Orch  # noqa: E402
from benchlib import cpu_s, fan, proc_status  # noqa: E402

FAKE = r"""#!/bin/sh
# stand-in agent: job start ID --offset N --json -- OP ...
state=@STATE@
id=$3
mkdir -p "$state"
echo x >> "$state/polls"
if [ ! -f "$state/$id" ]; then date +%s > "$state/$id"; started=true; else started=false; fi
t0=$(cat "$state/$id"); now=$(date +%s)
if [ $((now - t0)) -ge @SECONDS@ ]; then
  echo '{"type":"result","ok":true,"data":{"status":"up","cassandra_version":"4.1.1","load_bytes":1}}'
  echo "{\"type\":\"job\",\"id\":\"$id\",\"state\":\"done\",\"started\":$started,\"offset\":0,\"exit\":0}"
else
  echo "{\"type\":\"job\",\"id\":\"$id\",\"state\":\"running\",\"started\":$started,\"offset\":0,\"exit\":null}"
fi
"""


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    secs = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    with tempfile.TemporaryDirectory(prefix="bench-jobs-") as tmp:
        tmp = Path(tmp)
        c = simlib.SimCluster.create(tmp / "sim", nodes=1, keyspaces=1, tables=1,
                                     sstables=1, sstable_size="1K",
                                     base_address=f"127.0.{230 + os.getpid() % 20}.11")
        o = None
        try:
            name = c.names[0]
            simlib.start_sshd(c.dir, name)
            addr = c.address(name)
            hostkey = (Path(c.node_dir(name)) / "ssh" / "ssh_host_ed25519_key.pub").read_text().strip()
            fake = tmp / "fakeagent"
            fake.write_text(FAKE.replace("@STATE@", str(tmp / "jobs")).replace("@SECONDS@", str(secs)))
            fake.chmod(0o755)
            o = Orch(tmp / "orch", {"workers": "4", "log_level": "info"})
            o.start()
            names = [f"j{i:04d}" for i in range(n)]

            def setup(cl):
                o.ok("POST", "/api/v1/clusters", {
                    "name": cl, "storage": {"url": f"file://{tmp}/store"},
                    "ssh": {"user": "root", "port": c.ssh_port, "key_file": c.key}}, status=201)
                o.ok("POST", "/api/v1/agents/checkin", {
                    "cluster": cl, "address": addr, "dc": "dc1", "rack": "r1",
                    "cassandra_version": "4.1.1", "ssh_host_key": hostkey}, token="agent")
            fan(setup, names)
            pid = o.proc.pid
            cpu0 = cpu_s(pid)
            ids = []
            lock = threading.Lock()

            def submit(cl):
                t = o.submit(cl, "node-status", agent=str(fake), timeout_s=secs * 4)
                with lock:
                    ids.append(t["id"])
            t0 = time.monotonic()
            fan(submit, names)
            peak_threads = proc_status(pid, "Threads")
            done = {}
            while time.monotonic() < t0 + secs * 3 + 60 and len(done) < n:
                time.sleep(1)
                peak_threads = max(peak_threads, proc_status(pid, "Threads"))
                for tid in ids:
                    if tid not in done:
                        t = o.task(tid)
                        if t["state"] in ("succeeded", "failed", "cancelled"):
                            done[tid] = t
            took = time.monotonic() - t0
            cpu = cpu_s(pid) - cpu0
            polls = len((tmp / "jobs" / "polls").read_text().splitlines())
            bad = [t for t in done.values() if t["state"] != "succeeded"]
            job_s = n * secs
            print(f"jobs: {n} node jobs of {secs} s followed at once, 4 workers: "
                  f"{len(done) - len(bad)} succeeded in {took:.1f} s; daemon CPU "
                  f"{cpu:.2f} s = {cpu / job_s * 1000:.2f} ms per job-second; "
                  f"{polls} polls ({polls / job_s:.2f} per job-second); "
                  f"{peak_threads} threads at most")
            print(f"  reproduce: tests/bench/bench_jobs.py {n} {secs}")
            if bad or len(done) < n:
                print(f"  not succeeded: {len(bad)} failed, {n - len(done)} unfinished; "
                      f"e.g. {json.dumps(bad[0] if bad else None)[:400]}")
                return 1
        finally:
            if o is not None:
                o.stop(timeout=60)
            c.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
