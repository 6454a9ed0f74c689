#!/usr/bin/python3
"""Failover benchmark: N kill -9 of the active orchestrator under a steady
load of heartbeats and task submissions (docs/performance.md).

Two ringmaster daemons (ha = etcd, one file:// state mirror), a real etcd
on loopback.  Load, for the whole run, each client following the active:
- heartbeats of NODES nodes every 250 ms each (their credentials from a
  check-in);
- a noop task (2 steps of 0.5 s) submitted every 0.5 s, spread over 4
  clusters.
Each round: find the active, kill -9 it, time until the other serves
(GET /api/v1/ha says active and serving), start the killed one again (it
comes back as a standby), let the load run 3 s.

At the end every task whose submission was answered 202 must exist on the
active and succeed (a task missing is lost); a step with attempts > 1 ran
twice.  Prints failover p50 and max, tasks lost, steps run twice, and the
heartbeats refused during failovers.

    tests/bench/run failover      (or: BIN=$PWD/bin /usr/bin/python3 tests/bench/bench_failover.py --rounds 10)
"""
import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))

from orch import Orch, wait_until  # noqa: E402
from rmtest import free_port  # noqa: E402
from test_ha_etcd import Etcd  # noqa: E402
from test_failover import ha_conf, serving  # noqa: E402

NODES = 20
CLUSTERS = ["c0", "c1", "c2", "c3"]


class Group:
    def __init__(self, tmp):
        self.etcd = Etcd()
        prefix = f"/rm-bench/{os.getpid()}"
        self.orchs = []
        for name in ("a", "b"):
            port = free_port()
            self.orchs.append(Orch(Path(tmp) / name,
                                   conf=ha_conf(Path(tmp), self.etcd.url, port, prefix),
                                   port=port))

    def active(self):
        for o in self.orchs:
            if o.proc is not None and o.proc.poll() is None and serving(o):
                return o
        return None

    def close(self):
        for o in self.orchs:
            o.kill9()
        self.etcd.stop()


class Load:
    """Clients that send to whichever orchestrator serves, as agents and
    ringsh given every URL do (a 307 is followed, a refused connection or a
    503 moves to the next)."""

    def __init__(self, group, admin, creds):
        self.g = group
        self.admin = admin
        self.creds = creds
        self.stop = threading.Event()
        self.accepted = []          # task ids answered 202
        self.unknown = 0            # submissions without an answer
        self.beats_ok = self.beats_failed = 0
        self.lock = threading.Lock()
        self.s = requests.Session()

    def send(self, method, path, token, body):
        for o in self.g.orchs:
            try:
                r = self.s.request(method, o.base + path, json=body, timeout=10,
                                   allow_redirects=False,
                                   headers={"Authorization": f"Bearer {token}"})
            except requests.RequestException:
                continue
            if r.status_code == 307:
                continue    # the other one in the list is the active
            if r.status_code == 503:
                continue
            return r
        return None

    def beats(self):
        while not self.stop.is_set():
            for addr, (cluster, cred) in self.creds.items():
                r = self.send("POST", "/api/v1/agents/heartbeat", cred,
                              {"cluster": cluster, "address": addr, "status": "up"})
                with self.lock:
                    if r is not None and r.status_code == 200:
                        self.beats_ok += 1
                    else:
                        self.beats_failed += 1
            self.stop.wait(0.25)

    def tasks(self):
        i = 0
        while not self.stop.is_set():
            c = CLUSTERS[i % len(CLUSTERS)]
            i += 1
            try:
                r = self.send("POST", f"/api/v1/clusters/{c}/tasks", self.admin,
                              {"type": "noop", "params": {"duration_s": 1, "steps": 2}})
            except Exception:
                r = None
            with self.lock:
                if r is not None and r.status_code == 202:
                    self.accepted.append(r.json()["id"])
                elif r is None:
                    self.unknown += 1
            self.stop.wait(0.5)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=10)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="rm-failover-bench-")
    g = Group(tmp)
    try:
        a = g.orchs[0].start()
        wait_until(lambda: serving(a), 20, "the first active")
        g.orchs[1].start()
        admin = a.admin_token
        for c in CLUSTERS:
            a.create_cluster(c)
        creds = {}
        join = (Path(tmp) / "join.token").read_text().strip()
        for n in range(NODES):
            addr = f"10.77.0.{n + 1}"
            c = CLUSTERS[n % len(CLUSTERS)]
            r = a.post("/api/v1/agents/checkin", {
                "cluster": c, "address": addr, "dc": "dc1", "rack": "r1",
                "cassandra_version": "4.1.3", "ssh_host_key": "ssh-ed25519 AAAA" + addr,
                "wants_credential": True}, token=join)
            assert r.status_code == 200, r.text
            creds[addr] = (c, r.json()["credential"])
        load = Load(g, admin, creds)
        threads = [threading.Thread(target=load.beats, daemon=True),
                   threading.Thread(target=load.tasks, daemon=True)]
        for t in threads:
            t.start()
        time.sleep(3)
        times = []
        for rnd in range(args.rounds):
            act = wait_until(g.active, 30, "an active orchestrator")
            other = [o for o in g.orchs if o is not act][0]
            wait_until(lambda: other.proc.poll() is None and
                       other.session.get(other.base + "/api/v1/ha", timeout=3).json()
                       ["role"] == "standby", 30, "the standby")
            act.kill9()
            t0 = time.monotonic()
            wait_until(lambda: serving(other), 60, "the takeover")
            took = time.monotonic() - t0
            times.append(took)
            print(f"round {rnd + 1}: {act.base} killed, {other.base} serving after "
                  f"{took:.2f} s", flush=True)
            act.start()
            time.sleep(3)
        load.stop.set()
        for t in threads:
            t.join()
        act = wait_until(g.active, 30, "an active orchestrator")
        lost, twice, failed = [], 0, []

        def settled():
            for tid in load.accepted:
                r = act.get(f"/api/v1/tasks/{tid}")
                if r.status_code == 404:
                    continue
                if r.json()["state"] not in ("succeeded", "failed", "cancelled"):
                    return False
            return True
        wait_until(settled, 120, "every accepted task to end")
        for tid in load.accepted:
            r = act.get(f"/api/v1/tasks/{tid}")
            if r.status_code == 404:
                lost.append(tid)
                continue
            t = r.json()
            if t["state"] != "succeeded":
                failed.append((tid, t["state"]))
            twice += sum(1 for s in t["steps"] if s["attempts"] > 1)
        times.sort()
        print()
        print(f"failovers: {len(times)}; kill -9 to serving: p50 "
              f"{statistics.median(times):.2f} s, max {max(times):.2f} s "
              f"(ha_lease_ttl 3s)")
        print(f"tasks accepted: {len(load.accepted)}; lost: {len(lost)}; not succeeded: "
              f"{len(failed)}; submissions with no answer: {load.unknown}")
        print(f"steps run twice: {twice}")
        print(f"heartbeats: {load.beats_ok} accepted, {load.beats_failed} refused or "
              f"unanswered (during failovers)")
        return 0 if not lost and not failed and twice == 0 else 1
    finally:
        g.close()


if __name__ == "__main__":
    sys.exit(main())
