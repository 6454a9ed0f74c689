"""The real-node suite: Ringmaster against a real Cassandra 4.1.1 cluster.

One cluster serves the whole session, because a real node costs ~850 MB and
10-40 s to start here.  The `real` fixture builds, in this order:

1. three real nodes from ../shared/cassandra-4.1 through realcass (one DC
   `dc1`, racks r1..r3, 4 tokens each): the seed first, then the other two
   at once (start_cluster: given their tokens, they need not bootstrap);
2. keyspace `shop` (NetworkTopologyStrategy dc1: 3, so every node holds
   every row and a count at CONSISTENCY ALL is exact) with three tables,
   a few thousand rows written by cqlsh from a generated file, flushed;
3. s3rver, the orchestrator, a real sshd per node listening on the node's
   own 127.0.N.x address (its own host key, one generated client key);
4. one ringagent daemon per node, started only now: the first check-in of
   a cluster that already runs and holds data, which test_01 checks.

Test modules are numbered and run in that order; each may build on what
the previous ones left (backups in the store) and the destructive ones
come last and put the cluster back as they found it.  Every process is
killed at the end of the session, even after a failure; log tails of the
orchestrator, the agents and the nodes are printed when the session ends.
"""
import contextlib
import json
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
import realcass  # noqa: E402
import rmtest  # noqa: E402
from rmtest import BIN, wait_until  # noqa: E402

CL = "real"          # the cluster's name in the orchestrator and in cassandra.yaml
PREFIX = "rm"        # key prefix in the bucket
KS = "shop"
TABLES = ("orders", "customers", "items")
ROWS = {"orders": 2000, "customers": 500, "items": 900}
RINGAGENT = BIN / "ringagent"
SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "/usr/bin/ssh-keygen"
# A node that joins a running ring (test_08, test_11) waits this long for
# the ring's gossip: with the build's 1 s, such nodes gave up three starts
# in a row ("Unable to contact any seeds": no seed's state arrived within
# the second) in two runs of one day.
JOIN_RING_DELAY_MS = 5000
HEARTBEAT_S = 30     # a heartbeat runs two nodetool JVMs (three after a restart): 10-50 s under load


class Node:
    """A real node and everything beside it (sshd, agent)."""

    def __init__(self, real, rack):
        self.real = real
        self.rack = rack
        self.dir = real.dir
        self.sshd_pid = None
        self.agent_proc = None

    @property
    def address(self):
        return self.real.address

    @property
    def name(self):
        return self.real.name

    @property
    def conf(self):
        return self.dir / "agent.conf"

    @property
    def state_dir(self):
        return self.dir / "agent-state"

    @property
    def agent_log(self):
        return self.dir / "agent.log"

    def agent_state(self):
        p = self.state_dir / "state.json"
        return json.loads(p.read_text()) if p.exists() else None


class Env:
    """What the tests share: env.nodes, env.o (Orch), env.s3, env.agent..."""

    def node(self, name):
        return [n for n in self.nodes if n.name == name][0]

    def by_address(self, address):
        return [n for n in self.nodes if n.address == address][0]

    # --- the orchestrator's API ----------------------------------------------
    def submit(self, type_, **params):
        params.setdefault("agent", self.agent)
        return self.o.req("POST", f"/api/v1/clusters/{CL}/tasks",
                          body={"type": type_, "params": params})

    def run(self, type_, want="succeeded", timeout=180, **params):
        """Submit a task, wait for it to end, assert its state; the task."""
        r = self.submit(type_, **params)
        assert r.status_code == 202, f"POST {type_}: {r.status_code} {r.text}"
        t = self.o.wait_task(r.json()["id"],
                             states=("succeeded", "failed", "cancelled", "partial"),
                             timeout=timeout)
        assert t["state"] == want, json.dumps(t, indent=1)
        return t

    @contextlib.contextmanager
    def heartbeat_timeout(self, seconds):
        """The orchestrator's heartbeat_timeout set to seconds for the
        block (a SIGHUP reloads it), then put back.  A test that kills a
        whole host waits that long for its silence; the session's 6x the
        interval is for the slow heartbeats of a loaded host, which the
        peers' views guard against here (a node they see UN and that is
        only late is judged agent_down, never down)."""
        old = self.o.settings["heartbeat_timeout"]
        self.o.settings["heartbeat_timeout"] = f"{seconds}s"
        self.o.write_config()
        self.o.signal(signal.SIGHUP)
        try:
            yield
        finally:
            self.o.settings["heartbeat_timeout"] = old
            self.o.write_config()
            self.o.signal(signal.SIGHUP)

    def backups(self):
        return self.o.ok("GET", f"/api/v1/clusters/{CL}/backups")["items"]

    def orch_nodes(self):
        r = self.o.get(f"/api/v1/clusters/{CL}/nodes")
        assert r.status_code == 200, r.text
        return {n["address"]: n for n in r.json()["items"]}

    # --- the store -------------------------------------------------------------
    def obj(self, key):
        return self.s3.object_path(f"{PREFIX}/{key}")

    def cluster_manifest(self, bid):
        return json.loads(self.obj(f"{CL}/backups/{bid}/cluster.json").read_text())

    def node_manifests(self, bid):
        """{address: node manifest} of backup bid."""
        cm = self.cluster_manifest(bid)
        return {n["address"]: json.loads(self.obj(n["manifest"]).read_text())
                for n in cm["nodes"]}

    def journal_puts(self, bid=None):
        """Completed PUTs of every agent (duplicates kept): [(key, size)],
        of backup bid only when given (each backup has its own journal,
        <state_dir>/backup-<id>.journal)."""
        out = []
        for n in self.nodes:
            for j in n.state_dir.glob(f"backup-{bid or '*'}.journal"):
                for ln in j.read_text().splitlines():
                    f = ln.split()
                    if len(f) >= 3 and f[0] == "put":
                        out.append((f[1], int(f[2])))
        return out

    # --- Cassandra -------------------------------------------------------------
    def count(self, table, node=None):
        return (node or self.nodes[0]).real.count(f"{KS}.{table}", "ALL")

    def live_files(self, node, tables=TABLES):
        """{(table_dir, file name): path} of the live SSTable files of shop."""
        out = {}
        for t in tables:
            d = node.real.table_dir(KS, t)
            assert d is not None, f"{node.name} has no directory for {KS}.{t}"
            for f in d.iterdir():
                if f.is_file() and realcass_sstable(f.name):
                    out[(d.name, f.name)] = f
        return out


def realcass_sstable(name):
    """True for a component of a 4.x SSTable (nb-<gen>-big-<Component>)."""
    return re.match(r"^[a-z]{2}-\d+-big-[A-Za-z0-9.]+$", name) is not None


def sstable_count(node, table):
    """The live SSTable count Cassandra itself reports for shop.table."""
    out = node.real.nodetool("tablestats", f"{KS}.{table}").stdout
    for ln in out.splitlines():
        s = ln.strip()
        if s.startswith("SSTable count:"):
            return int(s.split(":", 1)[1])
    raise AssertionError(f"no 'SSTable count' in tablestats of {KS}.{table}:\n{out}")


def port_free_on(addresses):
    """A TCP port that is free on every one of addresses right now."""
    for _ in range(50):
        port = rmtest.free_port()
        ok = True
        for a in addresses:
            with socket.socket() as s:
                try:
                    s.bind((a, port))
                except OSError:
                    ok = False
                    break
        if ok:
            return port
    raise AssertionError(f"no TCP port free on all of {addresses}")


def keygen(path, comment):
    subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
                   check=True, stdin=subprocess.DEVNULL, capture_output=True)


def start_sshd(node, port, authorized_keys):
    """sshd for node on its own address; its pid."""
    sdir = node.dir / "ssh"
    sdir.mkdir(exist_ok=True)
    key = sdir / "ssh_host_ed25519_key"
    if not key.exists():
        keygen(key, f"ringmaster-real-{node.name}")
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    pidfile = sdir / "sshd.pid"
    conf = sdir / "sshd_config"
    conf.write_text("\n".join([
        f"Port {port}",
        f"ListenAddress {node.address}",
        f"HostKey {key}",
        f"PidFile {pidfile}",
        f"AuthorizedKeysFile {authorized_keys}",
        "UsePAM no",
        "StrictModes no",
        "PermitRootLogin prohibit-password",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "PubkeyAuthentication yes",
        "UseDNS no",
        "LogLevel INFO",
        "MaxStartups 100:30:200",
        "MaxSessions 50",
        # As in the sim: bash reads ~/.bashrc for ssh commands when
        # SHLVL < 2; starting at 1 keeps the host user's dotfiles out.
        "SetEnv SHLVL=1",
        "",
    ]))
    r = subprocess.run([SSHD, "-f", str(conf), "-E", str(sdir / "sshd.log")],
                       capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert r.returncode == 0, f"sshd for {node.name} did not start: {r.stdout} {r.stderr}"
    wait_until(lambda: rmtest.port_open(node.address, port), 10, f"sshd on {node.address}:{port}")
    pid = wait_until(lambda: pidfile.exists() and int(pidfile.read_text().split()[0]), 10,
                     "sshd pid file")
    node.sshd_pid = pid
    return pid


def write_agent_conf(node, orch_base, token_file):
    settings = {
        "orchestrator": orch_base,
        "join_token_file": str(token_file),
        "cluster": CL,
        "dc": "dc1",
        "rack": node.rack,
        "address": node.address,
        "nodetool": str(node.real.nodetool_path),
        "data_dirs": str(node.real.data_dir),
        "cassandra_yaml": str(node.real.cassandra_yaml),
        "jvm_options": str(node.real.jvm_options),
        "cassandra_start": f"{realcass.CASS} start {node.dir}",
        "cassandra_stop": f"{realcass.CASS} stop {node.dir}",
        "state_dir": str(node.state_dir),
        "ssh_host_key": str(node.dir / "ssh" / "ssh_host_ed25519_key.pub"),
        "heartbeat_interval": f"{HEARTBEAT_S}s",
        "checkin_retry_max": "2s",
        # every nodetool call starts a JVM: seconds on this busy machine
        "nodetool_timeout": "120s",
        "start_timeout": "300s",
        "log_level": "debug",
        "log_file": str(node.agent_log),
    }
    node.conf.write_text("".join(f"{k} = {v}\n" for k, v in settings.items()))
    return node.conf


def start_agent(node):
    node.agent_proc = subprocess.Popen([str(RINGAGENT), "-d", "-f", str(node.conf)],
                                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=open(node.dir / "agent.stderr", "ab"),
                                       start_new_session=True, cwd=node.dir)


def stop_agent(node):
    p = node.agent_proc
    if p is not None and p.poll() is None:
        p.kill()
        p.wait()


def load_data(n1, tmp, start=0, rows=ROWS):
    """Write rows[t] rows into each table from start on, with cqlsh from one
    generated file of unlogged batches (a statement per row would take
    minutes through cqlsh)."""
    lines = []
    for t, count in rows.items():
        batch = []
        for i in range(start, start + count):
            if t == "orders":
                batch.append(f"INSERT INTO {KS}.orders (id, customer, total, note) VALUES "
                             f"({i}, {i % 797}, {i * 7 % 1000}.25, 'order {i} of the real suite');")
            elif t == "customers":
                batch.append(f"INSERT INTO {KS}.customers (id, name, email) VALUES "
                             f"({i}, 'customer {i}', 'c{i}@example.invalid');")
            else:
                batch.append(f"INSERT INTO {KS}.items (order_id, line, sku, qty) VALUES "
                             f"({i // 3}, {i % 3}, 'sku-{i % 101}', {1 + i % 9});")
            if len(batch) == 80:
                lines += ["BEGIN UNLOGGED BATCH"] + batch + ["APPLY BATCH;"]
                batch = []
        if batch:
            lines += ["BEGIN UNLOGGED BATCH"] + batch + ["APPLY BATCH;"]
    f = Path(tmp) / f"rows-{start}.cql"
    f.write_text("\n".join(lines) + "\n")
    p = subprocess.run([str(realcass.CASS), "cqlsh", str(n1.dir), "--request-timeout=60",
                        "-f", str(f)],
                       capture_output=True, text=True, timeout=600)
    # cqlsh -f keeps going after a failed statement: its stderr says so.
    assert p.returncode == 0 and "Error" not in p.stderr, \
        f"cqlsh -f {f} failed ({p.returncode}):\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}"


# one line: cqlsh -e takes ';'-separated statements, not newlines
SCHEMA = " ".join(f"""
CREATE KEYSPACE {KS} WITH replication = {{'class': 'NetworkTopologyStrategy', 'dc1': 3}};
CREATE TABLE {KS}.orders (id int PRIMARY KEY, customer int, total decimal, note text);
CREATE TABLE {KS}.customers (id int PRIMARY KEY, name text, email text);
CREATE TABLE {KS}.items (order_id int, line int, sku text, qty int, PRIMARY KEY (order_id, line));
""".split())


# Murmur3Partitioner's token range is [-2**63, 2**63 - 1].
TOKEN_MIN = -2 ** 63


def even_tokens(count, per_node):
    """Tokens for count nodes of per_node vnodes each, evenly spaced and
    interleaved over the ring: node i gets every count-th token from i on.
    [[tokens of node 0], [tokens of node 1], ...]"""
    step = 2 ** 64 // (count * per_node)
    # half a step in: the minimum token itself is the partitioner's
    # "minimum", not a token a node should own
    ring = [TOKEN_MIN + step // 2 + k * step for k in range(count * per_node)]
    return [ring[i::count] for i in range(count)]


def set_yaml_keys(path, keys):
    """Set top-level keys of a cassandra.yaml (replacing a line `key:` or
    `# key:`, else appending one), as `cass setup` does for its own keys."""
    text = Path(path).read_text()
    for k, v in keys.items():
        text, n = re.subn(rf"(?m)^#?[ \t]*{re.escape(k)}:.*$", f"{k}: {v}", text, count=1)
        if n == 0:
            text += f"\n{k}: {v}\n"
    Path(path).write_text(text)


def start_cluster(nodes, timeout=240):
    """Start a new cluster: the first node (the seed), then all the others
    at once.

    Cassandra lets only one node bootstrap at a time (a node starting while
    another is joining is refused), which made the start of three nodes
    three starts in a row.  A new cluster holds no data yet, so the later
    nodes need not bootstrap at all: each is given its tokens
    (initial_token, evenly spaced and interleaved, so no two nodes can pick
    the same ones) and auto_bootstrap: false, joins the ring as it is and
    may start beside the others.  Tests must still wait for every node to
    be UN in the first node's view, which this does."""
    tokens = even_tokens(len(nodes), 4)
    for i, nd in enumerate(nodes):
        keys = {"initial_token": ",".join(str(t) for t in tokens[i])}
        if i:
            keys["auto_bootstrap"] = "false"
        set_yaml_keys(nd.cassandra_yaml, keys)
    nodes[0].start(timeout=timeout)
    errors = {}

    def start(nd):
        try:
            nd.start(timeout=timeout)
        except Exception as e:  # noqa: BLE001 - raised below, after the join
            errors[nd.name] = e
    threads = [threading.Thread(target=start, args=(nd,)) for nd in nodes[1:]]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise AssertionError("nodes did not start: " + "; ".join(
            f"{name}: {e}" for name, e in sorted(errors.items())))
    for nd in nodes[1:]:
        realcass.wait_status(nodes[0], nd.address, "UN", timeout=timeout)
    return nodes


def flush_all(env):
    for n in env.nodes:
        n.real.nodetool("flush", KS)


