#!/usr/bin/env python3
"""Parallel repair against one at a time: a 6-node simulated cluster
(TOKENS vnodes each, ks1 NetworkTopologyStrategy datacenter1: 3), real sshd
and agents, the real orchestrator.  The same keyspace is repaired with
parallelism 1 (one step per node and segment) and then with the default
(parallelism 0: the segment scheduler, as many at once as disjoint replica
sets allow), both with SEGMENTS_PER_NODE, each `-st/-et` repair taking
DELAY seconds in the sim.  Prints each run's wall time, its segment count,
and the most repairs any one node took part in at once (from the sim's
repair_log.jsonl; the scheduler's must be 1).

    bench_repair_par.py [SEGMENTS_PER_NODE [DELAY [TOKENS]]]   default 8 0.5 4

With one token per node and SEGMENTS_PER_NODE 43 both runs have 258
segments (the issue's 256, rounded to what 6 nodes divide evenly).
"""
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "e2e"))
sys.path.insert(0, str(HERE.parent / "sim"))
import simlib  # noqa: E402
from agentutil import RINGAGENT, write_agent_conf  # noqa: E402
from orch import Orch  # noqa: E402


def most_at_once(log):
    worst = 0
    for n in {r for e in log for r in e["replicas"]}:
        ev = sorted([(e["start"], 1) for e in log if n in e["replicas"]] +
                    [(e["end"], -1) for e in log if n in e["replicas"]])
        cur = 0
        for _, d in ev:
            cur += d
            worst = max(worst, cur)
    return worst


def read_log(c):
    p = Path(c.dir) / "repair_log.jsonl"
    return [json.loads(ln) for ln in p.read_text().splitlines()] if p.exists() else []


def run(o, c, agent, spn, par):
    start = len(read_log(c))
    t0 = time.monotonic()
    params = {} if par is None else {"parallelism": par}
    t = o.submit("sim", "repair", agent=agent, timeout_s=3600, keyspace="ks1",
                 segments_per_node=spn, **params)
    t = o.wait_task(t["id"], states=("succeeded", "failed", "cancelled"), timeout=7200)
    took = time.monotonic() - t0
    log = read_log(c)[start:]
    return t, took, log


def main():
    spn = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    delay = float(sys.argv[2]) if len(sys.argv) > 2 else 0.5
    tokens = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    with tempfile.TemporaryDirectory(prefix="bench-repair-") as tmp:
        tmp = Path(tmp)
        c = simlib.SimCluster.create(tmp / "sim", nodes=6, keyspaces=1, tables=1,
                                     sstables=1, sstable_size="1K", num_tokens=tokens,
                                     base_address=f"127.0.{200 + os.getpid() % 20}.11")
        o = None
        try:
            for n in c.names:
                c.set(n, "repair_delay", delay)
            o = Orch(tmp / "orch", {"workers": "4", "log_level": "info"})
            o.start()
            o.ok("POST", "/api/v1/clusters", {
                "name": "sim", "storage": {"url": f"file://{tmp}/store"},
                "ssh": {"user": "root", "port": c.ssh_port, "key_file": c.key}}, status=201)
            tok = tmp / "join.token"
            tok.write_text(o.join_token + "\n")
            confs = tmp / "confs"
            confs.mkdir()
            for n in c.names:
                conf = write_agent_conf(c, n, o.base, tok, log_level="info")
                os.symlink(conf, confs / f"{c.address(n)}.conf")
            c.start_all(agent=str(RINGAGENT))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                up = [x for x in o.ok("GET", "/api/v1/clusters/sim/nodes")["items"]
                      if x["state"] == "up"]
                if len(up) == 6:
                    break
                time.sleep(0.5)
            agent = f"{RINGAGENT} -f {confs}/{{address}}.conf"
            rc = 0
            print(f"load average at the start: {os.getloadavg()[0]:.1f}", flush=True)
            for par in (1, None):
                t, took, log = run(o, c, agent, spn, par)
                steps = t["steps"]
                nseg = len(log)
                print(f"parallelism {'1' if par else 'default'}: {t['state']} in {took:.1f} s; "
                      f"{nseg} -st/-et repairs ({len(steps)} steps); most repairs one node "
                      f"was in at once: {most_at_once(log)}; load average "
                      f"{os.getloadavg()[0]:.1f}", flush=True)
                if par is None:
                    assert t["params"]["parallelism"] == 0, t["params"]
                    print(f"  {steps[0]['message'][:200]}")
                if t["state"] != "succeeded":
                    rc = 1
            print(f"  reproduce: tests/bench/bench_repair_par.py {spn} {delay} {tokens}")
            return rc
        finally:
            if o is not None:
                o.stop(timeout=60)
            c.cleanup()


if __name__ == "__main__":
    sys.exit(main())
