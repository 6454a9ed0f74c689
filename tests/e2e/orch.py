"""Start and stop a real ringmaster daemon for end-to-end tests.

Each Orch gets its own temporary directory (config, data_dir, log) and a
free loopback port.  start() waits for GET /health with growing intervals
under a deadline; the `orch` fixture kills the daemon in its finalizer even
when the test fails, and prints the daemon's log tail on failure.
"""
import json
import os
import re
import signal
import subprocess
from pathlib import Path

import pytest
import requests

from rmtest import free_port, wait_until  # noqa: F401 (re-exported)

REPO = Path(__file__).resolve().parents[2]


def _seconds(duration):
    """Seconds of a duration the tests write ("500ms", "6s", "2m")."""
    m = re.fullmatch(r"(\d+)(ms|s|m)", str(duration))
    assert m, f"test duration {duration!r}: use ms, s or m"
    return int(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60}[m.group(2)]


def bin_path(name="ringmaster"):
    return Path(os.environ.get("BIN", REPO / "bin")) / name


class Orch:
    def __init__(self, tmp, conf=None, port=None):
        self.tmp = Path(tmp)
        self.tmp.mkdir(parents=True, exist_ok=True)
        self.data_dir = self.tmp / "data"
        self.port = port or free_port()
        self.conf_path = self.tmp / "ringmaster.conf"
        self.log_path = self.tmp / "ringmaster.log"
        self.proc = None
        self.session = requests.Session()
        self.node_creds = {}    # (cluster, address) -> node credential
        settings = {
            "listen": f"127.0.0.1:{self.port}",
            "data_dir": str(self.data_dir),
            "log_file": str(self.log_path),
            "log_level": "debug",
            "workers": "4",
            # Every simulated node's agent runs two nodetool processes per
            # heartbeat: at 1 s they took about a third of the CPU of the
            # phase; at 2 s a test that waits for a node's state waits up
            # to a second longer.
            "heartbeat_interval": "2s",
            # Far above the interval: on a loaded host (two pytest workers,
            # load average 20 and more) 3 s was missed and backup tests
            # failed on "node down".  A test about the timeout itself sets
            # a short one (test_orch_agents.py), and then keeps the 1 s
            # interval (below).
            "heartbeat_timeout": "15s",
            "heartbeat_flush": "200ms",
            "checkin_retry_after": "1s",
        }
        settings.update(conf or {})
        if (conf and "heartbeat_timeout" in conf and "heartbeat_interval" not in conf
                and _seconds(conf["heartbeat_timeout"]) < 8):
            settings["heartbeat_interval"] = "1s"
        self.settings = settings
        self.write_config()

    def write_config(self):
        lines = ["# written by tests/e2e/orch.py"]
        lines += [f"{k} = {v}" for k, v in self.settings.items() if v is not None]
        self.conf_path.write_text("\n".join(lines) + "\n")

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def run(self, *args, check=False, timeout=30):
        """Run `ringmaster -f CONF args...` to completion."""
        return subprocess.run([str(bin_path()), "-f", str(self.conf_path), *args],
                              capture_output=True, text=True, timeout=timeout,
                              check=check)

    def start(self, timeout=15.0):
        assert self.proc is None or self.proc.poll() is not None
        self.logf = open(self.tmp / "stderr.log", "ab")
        self.proc = subprocess.Popen(
            [str(bin_path()), "-d", "-f", str(self.conf_path)],
            stdout=self.logf, stderr=self.logf)

        def healthy():
            if self.proc.poll() is not None:
                raise RuntimeError(f"ringmaster exited with {self.proc.returncode}:\n"
                                   + self.log_tail())
            r = self.session.get(self.base + "/health", timeout=2)
            return r.status_code == 200
        wait_until(healthy, timeout, "GET /health")
        return self

    def stop(self, timeout=15.0):
        """SIGTERM and wait; returns the exit status."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("ringmaster did not exit on SIGTERM")

    def kill9(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def log_tail(self, n=60):
        out = []
        for p in (self.tmp / "stderr.log", self.log_path):
            if p.exists():
                out += p.read_text(errors="replace").splitlines()[-n:]
        return "\n".join(out)

    # tokens
    @property
    def admin_token(self):
        return (self.data_dir / "admin.token").read_text().strip()

    @property
    def join_token(self):
        return (self.data_dir / "join.token").read_text().strip()

    def create_token(self, role, name):
        r = self.run("token", "create", "--role", role, "--name", name)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip().splitlines()[-1]

    # HTTP
    AGENT_PATHS = ("/api/v1/agents/checkin", "/api/v1/agents/heartbeat")

    def req(self, method, path, token="admin", body=None, data=None,
            headers=None, params=None):
        """token: "admin"; "join" (the join token); "agent": what a real
        agent sends - its node's credential once a check-in through this
        helper gave one (kept per cluster and address), else the join
        token, with a check-in body asking for a credential; any other
        string is sent as it is."""
        h = dict(headers or {})
        node = None
        if token == "agent" and path in self.AGENT_PATHS and isinstance(body, dict):
            node = (body.get("cluster"), body.get("address"))
            if path.endswith("/checkin"):
                body = {"wants_credential": True, **body}
            token = self.node_creds.get(node) or self.join_token
        elif token == "admin":
            token = self.admin_token
        elif token in ("agent", "join"):
            token = self.join_token
        if token:
            h["Authorization"] = f"Bearer {token}"
        if body is not None:
            data = json.dumps(body)
        if data is not None:
            h.setdefault("Content-Type", "application/json")
        r = self.session.request(method, self.base + path, data=data,
                                 headers=h, params=params, timeout=10)
        if node is not None and r.status_code == 200:
            cred = r.json().get("credential")
            if cred:
                self.node_creds[node] = cred
        return r

    def ensure_cluster(self, name):
        """register_cluster(name) unless it exists: agents only join
        registered clusters."""
        if self.get(f"/api/v1/clusters/{name}").status_code == 404:
            self.register_cluster(name)

    def register_cluster(self, name):
        """Create cluster name as an agent's check-in did before check-ins
        stopped making clusters: storage and SSH key under data_dir."""
        return self.ok("POST", "/api/v1/clusters", {
            "name": name, "storage": {"url": f"file://{self.data_dir}/backups/{name}"},
            "ssh": {"user": "cassandra", "key_file": f"{self.data_dir}/ssh/id_ed25519"}},
            status=201)

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.req("POST", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.req("DELETE", path, **kw)

    def ok(self, method, path, body=None, status=None, **kw):
        r = self.req(method, path, body=body, **kw)
        want = status or (200, 201, 202, 204)
        want = (want,) if isinstance(want, int) else want
        assert r.status_code in want, f"{method} {path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    # helpers
    def create_cluster(self, name, **extra):
        body = {"name": name, "storage": {"url": f"file://{self.tmp}/store-{name}"},
                "ssh": {"user": "cassandra", "key_file": "/etc/ringmaster/id_ed25519"}}
        body.update(extra)
        return self.ok("POST", "/api/v1/clusters", body, status=201)

    def submit(self, cluster, type_="noop", **params):
        return self.ok("POST", f"/api/v1/clusters/{cluster}/tasks",
                       {"type": type_, "params": params}, status=202)

    def task(self, tid):
        return self.ok("GET", f"/api/v1/tasks/{tid}")

    def wait_task(self, tid, states=("succeeded",), timeout=20.0):
        def done():
            t = self.task(tid)
            return t if t["state"] in states else None
        return wait_until(done, timeout, f"task {tid} in {states}")


@pytest.fixture
def orch_factory(tmp_path):
    """Make daemons: orch_factory(conf={...}, start=True).  All are killed
    at teardown; on failure their log tails are printed."""
    made = []

    def make(conf=None, start=True, name=None, port=None):
        kw = {} if port is None else {"port": port}
        o = Orch(tmp_path / (name or f"orch{len(made)}"), conf, **kw)
        made.append(o)
        if start:
            o.start()
        return o
    yield make
    for o in made:
        if o.proc is not None and o.proc.poll() is None:
            o.proc.send_signal(signal.SIGCONT)  # a paused one must die too
            o.proc.kill()
            o.proc.wait()
        # pytest shows captured output only when the test failed.
        print(f"--- {o.tmp} log tail ---\n{o.log_tail(80)}")


@pytest.fixture
def orch(orch_factory):
    return orch_factory()
