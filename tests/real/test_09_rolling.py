"""A rolling restart of the real nodes (orchestrator/tasks/rolling.c, gate.c,
agent/rolling.c) while a reader at CONSISTENCY QUORUM keeps reading, and
nodetool status is sampled throughout.

shop is NetworkTopologyStrategy dc1: 3, so with one node down a QUORUM
read still has two replicas: not one read may fail.  The reader is cqlsh
(what this suite has for CQL), and cqlsh talks to one coordinator: it
reads through a node the task is not on (the node of the task's running
step, gate or restart, is avoided), as a driver's load balancing would.
The sampler asks a node the task is not on for nodetool status and
records how many nodes it shows down: never more than one.  Runs after
test_08 (five nodes, all UN) and restarts the session's three.  The
cluster is left as it was found: every node UN."""
import re
import threading
import time

from realenv import KS, realcass, wait_until

READ = f"CONSISTENCY QUORUM; SELECT id, total FROM {KS}.orders WHERE id IN (1, 777, 1500, 1999);"


class Watch:
    """The reader and the sampler, each in its own thread, both avoiding
    the node the task is on.  Each rests PAUSE_S between its runs: cqlsh
    and nodetool back to back took about a core of the two a CI host has,
    and the restarts they watch waited for it (a node is down for tens of
    seconds, so samples every few seconds still see it).  3 s: at 1.5 s the
    two still took most of a core, which every restart waited for."""

    PAUSE_S = 3.0

    def __init__(self, env, tid, nodes):
        self.env, self.tid, self.nodes = env, tid, nodes
        self.reads = self.failures = 0
        self.failed = []
        self.samples = 0
        self.max_down = 0
        self.seen_down = set()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.read, daemon=True),
                        threading.Thread(target=self.sample, daemon=True)]

    def busy(self):
        """The nodes of the task's running steps (gate or restart)."""
        try:
            t = self.env.o.task(self.tid)
        except Exception:  # noqa: BLE001 - the orchestrator is busy: avoid nobody new
            return set()
        return {s["node"] for s in t["steps"] if s["state"] == "running" and s["node"]}

    def pick(self, k):
        free = [n for n in self.nodes if n.address not in self.busy()]
        return free[k % len(free)] if free else None

    def read(self):
        k = 0
        while not self.stop.is_set():
            n = self.pick(k)
            k += 1
            if n is None:
                time.sleep(0.5)
                continue
            p = n.real.cqlsh(READ, check=False, timeout=120, request_timeout=20)
            rows = len(re.findall(r"^\s*(1|777|1500|1999)\s*\|", p.stdout, re.M))
            self.reads += 1
            if p.returncode != 0 or rows != 4:
                self.failures += 1
                self.failed.append((n.address, p.returncode, p.stdout[-300:], p.stderr[-300:]))
            self.stop.wait(self.PAUSE_S)

    def sample(self):
        k = 0
        while not self.stop.is_set():
            n = self.pick(k + 1)
            k += 1
            if n is None:
                time.sleep(0.5)
                continue
            p = n.real.nodetool("status", check=False, timeout=120)
            self.stop.wait(self.PAUSE_S)
            if p.returncode != 0:
                continue
            down = {ln.split()[1] for ln in p.stdout.splitlines() if re.match(r"^D[NLJM] ", ln)}
            self.samples += 1
            self.seen_down |= down
            self.max_down = max(self.max_down, len(down))

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *a):
        self.stop.set()
        for t in self.threads:
            t.join(300)


def test_rolling_restart_keeps_quorum_reads_and_never_two_down(real):
    # The session's three nodes are restarted; the gate wants every
    # listed node (the two test_08 added too) UN.
    states = {a: v["state"] for a, v in real.orch_nodes().items()}
    assert all(v == "up" for v in states.values()), states
    nodes = real.nodes[:3]
    gens = {n.address: n.real.nodetool("info").stdout for n in nodes}
    t0 = time.time()
    r = real.submit("rolling-restart", nodes=[n.address for n in nodes], timeout_s=900,
                    gate_timeout_s=600)
    assert r.status_code == 202, r.text
    tid = r.json()["id"]
    with Watch(real, tid, nodes) as w:
        t = real.o.wait_task(tid, states=("succeeded", "failed", "cancelled"), timeout=1800)
    assert t["state"] == "succeeded", t
    # Node by node: each gate met, each node restarted and seen back.
    assert [s["name"] for s in t["steps"]] == ["gate", "restart"] * len(nodes)
    for s in t["steps"]:
        if s["name"] == "restart":
            assert "gossip and native transport on" in s["message"], s
    for n in nodes:
        info = n.real.nodetool("info").stdout
        gen = int(re.search(r"Generation No\s*:\s*(\d+)", info).group(1))
        old = int(re.search(r"Generation No\s*:\s*(\d+)", gens[n.address]).group(1))
        # the rule the agent's caches rely on (and the sim follows, test_sim.py
        # test_generation_is_the_start_time): a start takes the wall-clock
        # second it starts at, greater than any generation before
        assert old < gen and t0 - 1 <= gen <= time.time() + 1, (n.address, old, gen, t0)
        realcass.wait_status(nodes[0].real, n.address, "UN", timeout=120)
    # Not one QUORUM read failed; the sampler saw each node down, one at a time.
    assert w.reads >= 6, w.reads
    assert w.failures == 0, w.failed
    assert w.samples >= 5, w.samples
    assert w.max_down == 1, (w.max_down, w.seen_down)
    assert w.seen_down and w.seen_down <= {n.address for n in nodes}, w.seen_down
    # The agents never started Cassandra on their own meanwhile.
    for n in nodes:
        assert "starting Cassandra (" not in n.agent_log.read_text(errors="replace"), n.address
    wait_until(lambda: all(v["state"] == "up" for v in real.orch_nodes().values()), 180,
               "every node up in the orchestrator again", cap=2.0)
