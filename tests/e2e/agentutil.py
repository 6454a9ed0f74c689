"""Helpers for the agent and SSH end-to-end tests: simulated clusters with a
real sshd per node, agent configs pointing at a real orchestrator, and the
ssh client driver (UNIT_DIR/test_ssh --cli).

Every process is stopped in a finalizer, even when the test fails; waits
poll with growing intervals under a deadline (rmtest.wait_for).
"""
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import rmtest
from rmtest import BIN, REPO, UNIT_DIR, wait_for

sys.path.insert(0, str(REPO / "tests" / "sim"))
import simlib  # noqa: E402

RINGAGENT = BIN / "ringagent"


def base_address():
    """A loopback range per test process so parallel runs do not collide."""
    n = 20 + (os.getpid() % 200)
    return f"127.0.{n}.11"


@pytest.fixture
def sim_factory(tmp_path):
    """sim_factory(nodes=3, **kw) -> simlib.SimCluster; every cluster is
    cleaned up (processes killed) at teardown."""
    made = []

    def make(name="c", nodes=3, **kw):
        kw.setdefault("keyspaces", 1)
        kw.setdefault("tables", 2)
        kw.setdefault("sstables", 1)
        kw.setdefault("sstable_size", "8K")
        kw.setdefault("base_address", base_address())
        c = simlib.SimCluster.create(tmp_path / name, nodes=nodes, **kw)
        made.append(c)
        return c
    yield make
    for c in made:
        c.cleanup()
        for n in c.names:
            log = Path(c.node_dir(n)) / "agent.log"
            if log.exists():
                print(f"--- {n} agent.log ---\n" + "\n".join(
                    log.read_text(errors="replace").splitlines()[-30:]))


def write_agent_conf(cluster, name, orchestrator, token_file, cluster_name="sim",
                     **extra):
    """Write <node_dir>/agent.conf for node name; returns its path."""
    ndir = Path(cluster.node_dir(name))
    n = cluster.node(name)
    settings = {
        "orchestrator": orchestrator,
        "join_token_file": str(token_file),
        "cluster": cluster_name,
        "dc": n["dc"],
        "rack": n["rack"],
        "address": n["address"],
        "nodetool": str(ndir / "bin" / "nodetool"),
        "data_dirs": str(ndir / "data"),
        "cassandra_start": str(ndir / "bin" / "cassandra-start"),
        "cassandra_stop": str(ndir / "bin" / "cassandra-stop"),
        "cassandra_yaml": str(ndir / "conf" / "cassandra.yaml"),
        "jvm_options": str(ndir / "conf" / "jvm-server.options"),
        "state_dir": str(ndir / "agent-state"),
        "ssh_host_key": str(ndir / "ssh" / "ssh_host_ed25519_key.pub"),
        "heartbeat_interval": "500ms",
        "checkin_retry_max": "1s",
        "nodetool_timeout": "10s",
        "log_level": "debug",
    }
    settings.update(extra)
    path = ndir / "agent.conf"
    path.write_text("".join(f"{k} = {v}\n" for k, v in settings.items() if v is not None))
    jvm = ndir / "conf" / "jvm-server.options"
    if not jvm.exists():
        jvm.write_text("-ea\n-Xss256k\n")
    return path


def run_op(conf, *args, timeout=30, env=None):
    """Run `ringagent -f conf args...`; returns (exit, [json lines], stderr)."""
    cmd = [str(RINGAGENT)] + (["-f", str(conf)] if conf else []) + [str(a) for a in args]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, env=env)
    lines = [json.loads(ln) for ln in r.stdout.splitlines() if ln.startswith("{")]
    return r.returncode, lines, r.stderr


def host_key_line(cluster, name):
    return (Path(cluster.node_dir(name)) / "ssh" / "ssh_host_ed25519_key.pub").read_text().strip()


def ssh_cli(cluster, name, command, host_key=None, *opts, timeout=60):
    """Run one command through orchestrator/nodes/ssh.c (test_ssh --cli).  Returns
    (list of stdout lines, list of result dicts, exit status)."""
    hk = host_key if host_key is not None else host_key_line(cluster, name)
    argv = [str(UNIT_DIR / "test_ssh"), "--cli", cluster.address(name), str(cluster.ssh_port),
            "root", cluster.key, hk, command] + [str(o) for o in opts]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    out, results = [], []
    for ln in r.stdout.splitlines():
        if ln.startswith("out: "):
            out.append(ln[5:])
        elif ln.startswith("{"):
            results.append(json.loads(ln))
    assert results, f"test_ssh printed no result: {r.stdout!r} {r.stderr!r}"
    return out, results, r.returncode


def orch_nodes(o, cluster="sim"):
    r = o.get(f"/api/v1/clusters/{cluster}/nodes")
    if r.status_code != 200:
        return {}
    return {n["address"]: n for n in r.json()["items"]}


def agent_log(cluster, name):
    p = Path(cluster.node_dir(name)) / "agent.log"
    return p.read_text(errors="replace") if p.exists() else ""


__all__ = ["sim_factory", "write_agent_conf", "run_op", "ssh_cli", "host_key_line",
           "orch_nodes", "agent_log", "wait_for", "RINGAGENT", "simlib", "rmtest"]


class ScriptedOrchestrator:
    """An orchestrator that answers from a script, for the agent's side of
    the protocol: check-ins get the answers of `checkins` in turn (the last
    repeats); heartbeats get those of `beats` in turn (then the constant
    body).  Every request body is kept, with the time it came."""

    def __init__(self, checkins, beats=()):
        fake = self
        self.checkins, self.beats = [], []     # request bodies
        self.checkin_times, self.beat_times = [], []
        self.lock = threading.Lock()
        script_c, script_b = list(checkins), list(beats)

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                with fake.lock:
                    if self.path.endswith("/checkin"):
                        fake.checkins.append(body)
                        fake.checkin_times.append(time.monotonic())
                        ans = script_c[min(len(fake.checkins), len(script_c)) - 1]
                    else:
                        fake.beats.append(body)
                        fake.beat_times.append(time.monotonic())
                        n = len(fake.beats)
                        ans = script_b[n - 1] if n <= len(script_b) else {"status": "ok"}
                out = json.dumps(ans).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.base = f"http://127.0.0.1:{self.srv.server_address[1]}"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()
