"""Real Apache Cassandra 4.1 nodes for tests, from ../shared/cassandra-4.1.

One module starts and stops real nodes so every test that needs one (the
real-node suite in tests/real/, the sim-vs-real agreement tests) allocates
addresses the same way and never collides with another run on this host:

- a *network* is 127.0.N.0/24 for one N in 100..249, held by an flock on
  /tmp/ringmaster-realnet-N.lock for as long as the RealNet object lives, so
  two test runs (two work trees, CI and a developer) never share addresses;
- node i of that network listens on 127.0.N.(i+1) with the default storage
  (7000) and CQL (9042) ports, which are per address;
- its JMX port, on 127.0.0.1 for every node, is 17000 + (N - 100) * 16 + i.

Each node directory gets bin/nodetool, a wrapper that runs the real nodetool
against that node, which is what an agent's `nodetool` key points at.

    net = RealNet.acquire()          # or skip: available() says why not
    n1 = net.node(base_dir, "n1")
    n1.setup(seeds=[n1.address]); n1.start()
    n1.cqlsh("CREATE KEYSPACE ...")
    net.close()                      # kills what it started, frees the lock
"""
import fcntl
import os
import shutil
import subprocess
import time
from pathlib import Path

import rmtest

CASS_HOME = rmtest.SHARED / "cassandra-4.1"
CASS = CASS_HOME / "cass"
NET_FIRST, NET_LAST = 100, 249
JMX_BASE = 17000


def available():
    """(True, "") when real nodes can run here, else (False, why)."""
    if not CASS.exists():
        return False, f"{CASS} is missing (../shared/cassandra-4.1 not present)"
    if shutil.which("java") is None:
        return False, "java is not installed (apt-get install -y openjdk-17-jre-headless)"
    return True, ""


class RealError(Exception):
    pass


def system_path_env(env=None):
    """env (default: this process's) with Debian's own directories first in
    PATH: `cass cqlsh` runs whatever `python3` PATH finds, and a version
    manager's shim there (pyenv's costs about half a second of CPU per
    call) would run before every cqlsh of the suite."""
    env = dict(os.environ if env is None else env)
    env["PATH"] = "/usr/bin:/bin:" + env.get("PATH", "")
    return env


def _run(args, timeout, check=True, env=None):
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True,
                       timeout=timeout, env=system_path_env(env))
    if check and p.returncode != 0:
        raise RealError(f"{' '.join(str(a) for a in args)} exited {p.returncode}:\n"
                        f"{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return p


class RealNode:
    def __init__(self, net, index, directory, name):
        self.net = net
        self.index = index
        self.dir = Path(directory)
        self.name = name
        self.address = f"127.0.{net.n}.{index + 1}"
        self.jmx_port = JMX_BASE + (net.n - NET_FIRST) * 16 + index

    # --- paths an agent is configured with ---------------------------------
    @property
    def nodetool_path(self):
        return self.dir / "bin" / "nodetool"

    @property
    def data_dir(self):
        """What an agent calls data_dirs: holds data/<ks>/<table>-<id>/."""
        return self.dir / "data"

    @property
    def table_root(self):
        return self.dir / "data" / "data"

    @property
    def cassandra_yaml(self):
        return self.dir / "conf" / "cassandra.yaml"

    @property
    def jvm_options(self):
        return self.dir / "conf" / "jvm.options"

    # --- life cycle --------------------------------------------------------
    def setup(self, seeds, dc="dc1", rack="rack1", tokens=4, cluster="test",
              heap="512m", force=False, ring_delay_ms=None):
        args = [CASS, "setup", self.dir, self.name, self.address,
                "--jmx-port", self.jmx_port, "--dc", dc, "--rack", rack,
                "--seeds", ",".join(seeds), "--tokens", tokens,
                "--cluster", cluster, "--heap", heap]
        if force:
            args.append("--force")
        _run(args, timeout=60)
        self._relax_timeouts()
        if ring_delay_ms is not None:
            self._ring_delay(ring_delay_ms)
        b = self.dir / "bin"
        b.mkdir(exist_ok=True)
        w = b / "nodetool"
        w.write_text(f'#!/bin/sh\nexec "{CASS}" nodetool "{self.dir}" "$@"\n')
        w.chmod(0o755)
        self.net.started.add(self)
        return self

    # Server-side request timeouts for test nodes.  The defaults (2 s for a
    # write) are for production hardware; on a 2-core host running three JVMs,
    # the orchestrator and the tests, a coordinator can wait longer than that
    # for a replica and the test would fail on a WriteTimeout that says
    # nothing about the product.
    TEST_TIMEOUTS = {
        "read_request_timeout": "20000ms",
        "range_request_timeout": "30000ms",
        "write_request_timeout": "20000ms",
        "counter_write_request_timeout": "20000ms",
        "truncate_request_timeout": "120000ms",
        "request_timeout": "30000ms",
    }

    def _relax_timeouts(self):
        y = self.cassandra_yaml
        lines = y.read_text().splitlines()
        seen = set()
        for i, line in enumerate(lines):
            key = line.split(":", 1)[0].strip()
            if key in self.TEST_TIMEOUTS and not line.startswith((" ", "#")):
                lines[i] = f"{key}: {self.TEST_TIMEOUTS[key]}"
                seen.add(key)
        lines += [f"{k}: {v}" for k, v in self.TEST_TIMEOUTS.items() if k not in seen]
        y.write_text("\n".join(lines) + "\n")

    def _ring_delay(self, ms):
        """The node's ring delay (the build's jvm.options say 1 s): how long a
        joining node waits for the ring's gossip before it bootstraps."""
        opts = self.jvm_options
        lines = [ln for ln in opts.read_text().splitlines()
                 if not ln.startswith("-Dcassandra.ring_delay_ms=")]
        lines.append(f"-Dcassandra.ring_delay_ms={ms}")
        opts.write_text("\n".join(lines) + "\n")

    def start(self, replace=None, timeout=180, wait=True, jvm_opts=None):
        args = [CASS, "start", self.dir, "--timeout", timeout]
        if replace:
            args += ["--replace", replace]
        if not wait:
            args.append("--no-wait")
        env = dict(os.environ)
        if jvm_opts:
            env["CASS_JVM_OPTS"] = jvm_opts
        self.net.started.add(self)
        for attempt in range(3):
            p = _run(args, timeout=timeout + 30, env=env, check=False)
            if p.returncode == 0:
                return self
            # With the test ring delay of 1 s, a seed on a loaded host can
            # answer gossip too late and a *fresh* node gives up at once
            # ("Unable to contact any seeds"); it has joined nothing, so
            # starting it again is what an operator would do.
            if "Unable to contact any seeds" not in p.stdout + p.stderr:
                break
            time.sleep(2)
        raise RealError(f"cass start {self.dir} exited {p.returncode}:\n"
                        f"{p.stdout[-3000:]}\n{p.stderr[-3000:]}")

    def stop(self, timeout=60):
        _run([CASS, "stop", self.dir, "--timeout", timeout], timeout=timeout + 30,
             check=False)

    def kill(self):
        _run([CASS, "kill", self.dir], timeout=30, check=False)

    def wipe(self):
        _run([CASS, "wipe", self.dir], timeout=60)

    def running(self):
        return _run([CASS, "status", self.dir], timeout=30, check=False).returncode in (0, 1)

    def cql_up(self):
        return _run([CASS, "status", self.dir], timeout=30, check=False).returncode == 0

    # --- talking to it -----------------------------------------------------
    def nodetool(self, *args, check=True, timeout=120):
        """The real nodetool: CompletedProcess (stdout, stderr, returncode)."""
        return _run([CASS, "nodetool", self.dir, *args], timeout=timeout, check=check)

    def cqlsh(self, cql, check=True, timeout=120, request_timeout=None):
        """Run CQL statements (one string, ';'-separated); returns stdout.
        request_timeout (seconds) raises cqlsh's own 10 s per-request
        limit, which TRUNCATE or a count at ALL can pass on a busy host."""
        extra = [f"--request-timeout={request_timeout}"] if request_timeout else []
        p = _run([CASS, "cqlsh", self.dir, *extra, "-e", cql], timeout=timeout, check=check)
        return p.stdout if check else p

    def count(self, table, consistency="ALL", request_timeout=60):
        """SELECT count(*) of ks.table at the given consistency, as an int."""
        out = self.cqlsh(f"CONSISTENCY {consistency}; SELECT count(*) FROM {table};",
                         timeout=request_timeout + 60, request_timeout=request_timeout)
        for line in out.splitlines():
            s = line.strip()
            if s.isdigit():
                return int(s)
        raise RealError(f"no count in cqlsh output for {table}:\n{out}")

    def log(self, lines=80):
        p = self.dir / "logs" / "system.log"
        if not p.exists():
            return ""
        return "\n".join(p.read_text(errors="replace").splitlines()[-lines:])

    def table_dir(self, ks, table):
        """The live directory of ks.table (<ks>/<table>-<32 hex>/), or None."""
        d = self.table_root / ks
        if not d.is_dir():
            return None
        for e in sorted(d.iterdir()):
            if e.is_dir() and e.name.rsplit("-", 1)[0] == table:
                return e
        return None

    def sstables(self, ks, table):
        """Names of the live Data.db files of ks.table."""
        d = self.table_dir(ks, table)
        if d is None:
            return []
        return sorted(f.name for f in d.iterdir() if f.name.endswith("-Data.db"))

    def host_id(self):
        out = self.nodetool("info").stdout
        for line in out.splitlines():
            if line.startswith("ID"):
                return line.split(":", 1)[1].strip()
        raise RealError(f"no ID in nodetool info:\n{out}")

    def status_of(self, address):
        """Two letters (UN, DN, UJ, ...) this node's `nodetool status` shows
        for address, or None when it does not list it."""
        p = self.nodetool("status", check=False)
        for line in p.stdout.splitlines():
            f = line.split()
            if len(f) >= 2 and f[1] == address and len(f[0]) == 2:
                return f[0]
        return None

    def __repr__(self):
        return f"RealNode({self.name}, {self.address}, jmx {self.jmx_port})"

    def __hash__(self):
        return hash(self.address)


class RealNet:
    """One 127.0.N.0/24 network held for this process."""

    def __init__(self, n, fd):
        self.n = n
        self._fd = fd
        self.started = set()
        self.nodes = {}

    @classmethod
    def acquire(cls):
        ok, why = available()
        if not ok:
            raise RealError(why)
        for n in range(NET_FIRST, NET_LAST + 1):
            path = f"/tmp/ringmaster-realnet-{n}.lock"
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            net = cls(n, fd)
            # A run that died without cleaning up may have left JVMs holding
            # this network's addresses; the lock says they are orphans.
            net._kill_orphans()
            return net
        raise RealError("no free 127.0.N.0/24 test network (all locks held)")

    def _kill_orphans(self):
        prefix = f"127.0.{self.n}."
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if not cmd or not cmd[0].endswith(b"java"):
                continue
            if any(f"-Dcassandra.jmx.local.port={JMX_BASE + (self.n - NET_FIRST) * 16 + i}"
                   .encode() == c for c in cmd for i in range(16)) or \
               any(c.startswith(b"-Dcassandra.listen_address=" + prefix.encode()) for c in cmd):
                try:
                    os.kill(int(pid), 9)
                except OSError:
                    pass

    def node(self, base_dir, name, index=None):
        if index is None:
            index = len(self.nodes)
        if index >= 16:
            raise RealError("at most 16 nodes per test network")
        nd = RealNode(self, index, Path(base_dir) / name, name)
        self.nodes[name] = nd
        return nd

    def close(self):
        for nd in list(self.started):
            nd.kill()
        self._kill_orphans()
        self.started.clear()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def wait_status(node, address, want, timeout=120):
    """Wait until node's `nodetool status` shows address as want (e.g. "UN",
    or None for "not listed")."""
    def ok():
        return node.status_of(address) == want
    return rmtest.wait_until(ok, timeout=timeout, cap=2.0,
                             what=f"{address} {want} in {node.name}'s status")


def start_in_order(nodes, timeout=180):
    """Start nodes one at a time, each after the previous is UN in the first
    node's view (Cassandra must bootstrap one node at a time)."""
    for i, nd in enumerate(nodes):
        nd.start(timeout=timeout)
        if i:
            wait_status(nodes[0], nd.address, "UN", timeout=timeout)
    return nodes


def now():
    return time.monotonic()
