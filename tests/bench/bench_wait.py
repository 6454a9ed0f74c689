#!/usr/bin/env python3
"""Waiting holds no worker: CLUSTERS clusters, each with one noop task whose
single step waits WAIT_S seconds, on a daemon with WORKERS workers.  Every
task must succeed; the figure is the time from the first submission to the
last success (target: within WAIT_S + 5 s for 1,000 x 30 s on 4 workers),
with the daemon's CPU time and peak RSS over the run.

    bench_wait.py [CLUSTERS [WAIT_S [WORKERS]]]     default 1000 30 4
"""
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from orch import Orch  # noqa: E402
from benchlib import cpu_s, fan, proc_status  # noqa: E402


def ts(iso):
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    wait_s = float(sys.argv[2]) if len(sys.argv) > 2 else 30.0
    workers = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    with tempfile.TemporaryDirectory(prefix="bench-wait-") as tmp:
        o = Orch(tmp, {"workers": str(workers), "log_level": "info"})
        o.start()
        try:
            names = [f"c{i:04d}" for i in range(n)]
            fan(lambda c: o.create_cluster(c), names)
            pid = o.proc.pid
            cpu0 = cpu_s(pid)
            ids = []
            lock = threading.Lock()

            def submit(c):
                t = o.submit(c, duration_s=wait_s)
                with lock:
                    ids.append(t["id"])
            t0 = time.monotonic()
            fan(submit, names)
            t_sub = time.monotonic() - t0
            deadline = t0 + wait_s * 3 + 60
            done = 0
            while time.monotonic() < deadline:
                time.sleep(0.5)
                m = o.req("GET", "/metrics").text
                done = sum(float(line.rsplit(" ", 1)[1]) for line in m.splitlines()
                           if line.startswith("ringmaster_tasks{")
                           and 'state="succeeded"' in line)
                if done >= n:
                    break
            cpu = cpu_s(pid) - cpu0
            hwm = proc_status(pid, "VmHWM")
            threads = proc_status(pid, "Threads")
            tasks = {}
            fan(lambda tid: tasks.__setitem__(tid, o.task(tid)), ids)
            pending = [t for t in tasks.values() if t["state"] != "succeeded"]
            first = min(ts(t["created_at"]) for t in tasks.values())
            last = max(ts(t["finished_at"]) for t in tasks.values()
                       if t["finished_at"])
            took = last - first
            failed = [t["id"] for t in pending]
            print(f"wait: {n} clusters x 1 task waiting {wait_s:g} s, "
                  f"{workers} workers: all {n - len(failed)} succeeded "
                  f"{took:.1f} s after the first submission (submitting "
                  f"took {t_sub:.1f} s); daemon CPU {cpu:.1f} s, peak RSS "
                  f"{hwm / 1024:.1f} MiB, {threads} threads")
            print(f"  reproduce: tests/bench/bench_wait.py {n} {wait_s:g} "
                  f"{workers}")
            if failed:
                print(f"  {len(failed)} tasks not succeeded, e.g. "
                      f"{o.task(failed[0])}")
                return 1
        finally:
            o.stop(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
