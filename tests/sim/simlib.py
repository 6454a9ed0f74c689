#!/usr/bin/python3
"""simlib: the simulated Cassandra cluster used by Ringmaster's tests and demo.

Python 3 standard library only.  See README.md in this directory for the layout.

A cluster lives in one directory:

    <cluster_dir>/cluster.json          shared state (keyspaces, tables, nodes, up/down)
    <cluster_dir>/.lock                 fcntl lock guarding cluster.json read-modify-write
    <cluster_dir>/ssh/id_ed25519[.pub]  client key authorised on every node
    <cluster_dir>/ssh/authorized_keys
    <cluster_dir>/nodes/<name>/         one directory per node (see make_node)

Every write goes to a temporary file that is renamed over the old one, so a reader
never sees a half-written file; read-modify-write cycles hold the lock.
"""

import contextlib
import datetime
import fcntl
import json
import os
import random
import re
import signal
import time
import zlib


class _Lazy:
    """A module imported at its first use: the simulated nodetool runs once
    per call of the agent, and most calls need none of these (shutil,
    subprocess, socket and uuid cost a third of its start-up)."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        mod = __import__(self._name)
        globals()[self._name] = mod
        return getattr(mod, attr)


shutil = _Lazy("shutil")
socket = _Lazy("socket")
subprocess = _Lazy("subprocess")
uuid = _Lazy("uuid")

SIM_DIR = os.path.dirname(os.path.realpath(__file__))
NODETOOL = os.path.join(SIM_DIR, "nodetool")
SIMCTL = os.path.join(SIM_DIR, "simctl")
PYTHON = "/usr/bin/python3"
SSHD = "/usr/sbin/sshd"
SSH_KEYGEN = "/usr/bin/ssh-keygen"

MIN_TOKEN = -(2 ** 63)
MAX_TOKEN = 2 ** 63 - 1
RING_SIZE = 2 ** 64

# What each simulated major version looks like.
VERSIONS = {
    "3.11": {"release": "3.11.4", "sstable": "md", "format": "big"},
    "4.0": {"release": "4.0.11", "sstable": "nb", "format": "big"},
    "4.1": {"release": "4.1.0", "sstable": "nb", "format": "big"},
    "5.0": {"release": "5.0.2", "sstable": "oa", "format": "big"},
}

BIG_COMPONENTS = ["CompressionInfo.db", "Data.db", "Digest.crc32", "Filter.db",
                  "Index.db", "Statistics.db", "Summary.db", "TOC.txt"]
BTI_COMPONENTS = ["CompressionInfo.db", "Data.db", "Digest.crc32", "Filter.db",
                  "Partitions.db", "Rows.db", "Statistics.db", "TOC.txt"]
# Order Cassandra writes TOC.txt in (a hash-set order, kept stable here).
BIG_TOC_ORDER = ["Data.db", "Statistics.db", "Digest.crc32", "TOC.txt",
                 "CompressionInfo.db", "Filter.db", "Index.db", "Summary.db"]
BTI_TOC_ORDER = ["Data.db", "Statistics.db", "Digest.crc32", "TOC.txt",
                 "CompressionInfo.db", "Filter.db", "Partitions.db", "Rows.db"]

SSTABLE_RE = re.compile(r"^([a-z]{2})-(\d+|[0-9a-z]{4}_[0-9a-z]{4}_[0-9a-z]{18})-(big|bti)-(.+)$")

SYSTEM_KEYSPACES = ["system_schema", "system", "system_auth", "system_distributed", "system_traces"]
LOCAL_SYSTEM_KEYSPACES = ["system_schema", "system"]

# A compact but realistic set of system tables.  (name, small sstable count)
SYSTEM_TABLES = {
    "system_schema": [("keyspaces", 1), ("tables", 1), ("columns", 1), ("types", 0),
                      ("functions", 0), ("aggregates", 0), ("indexes", 0),
                      ("triggers", 0), ("views", 0), ("dropped_columns", 0)],
    "system": [("local", 1), ("peers_v2", 1), ("peers", 1), ("compaction_history", 1),
               ("size_estimates", 1), ("table_estimates", 0), ("sstable_activity", 0),
               ("sstable_activity_v2", 0),
               ("IndexInfo", 0), ("batches", 0), ("paxos", 0), ("repairs", 0),
               ("prepared_statements", 0), ("available_ranges_v2", 0)],
    "system_auth": [("roles", 1), ("role_members", 0), ("role_permissions", 0),
                    ("resource_role_permissons_index", 0), ("network_permissions", 0)],
    "system_distributed": [("repair_history", 0), ("parent_repair_history", 0),
                           ("view_build_status", 0)],
    "system_traces": [("sessions", 0), ("events", 0)],
}
SYSTEM_REPLICATION = {
    "system_schema": {"class": "LocalStrategy"},
    "system": {"class": "LocalStrategy"},
    "system_auth": {"class": "SimpleStrategy", "replication_factor": 1},
    "system_distributed": {"class": "SimpleStrategy", "replication_factor": 3},
    "system_traces": {"class": "SimpleStrategy", "replication_factor": 2},
}


# The ring every node made by create_cluster belongs to.  A fresh node that can reach no
# other seed than itself forms a ring of its own (see start_cassandra).
MAIN_RING = "main"

# System tables that get memtable data of their own while a node runs: after a start
# (local state, peers, size estimates, SSTable read rates), then every
# system_churn_interval seconds (SSTable read rates), and after a compaction
# (compaction_history).  The next flush that covers them (a flush or a snapshot without
# -sf of their keyspace) writes SSTables, as real 4.1.1 does (shared/cassandra notes:
# the first snapshot of all keyspaces after a start wrote 7 system SSTables, one right
# after it none, one 20 s later 2 in sstable_activity{,_v2}).
CHURN_TABLES = [("system", "local"), ("system", "size_estimates"), ("system", "table_estimates"),
                ("system", "sstable_activity"), ("system", "sstable_activity_v2"),
                ("system", "peers_v2"), ("system", "peers")]
PERIODIC_TABLES = [("system", "sstable_activity"), ("system", "sstable_activity_v2")]
SYSTEM_CHURN_INTERVAL = 5.0


class SimError(Exception):
    """A simctl-level error (bad arguments, missing cluster...)."""


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------

def parse_size(text):
    """'1M' -> 1048576; accepts K/M/G/T with optional 'iB'/'B', and plain bytes."""
    s = str(text).strip()
    m = re.match(r"^([0-9]*\.?[0-9]+)\s*([kKmMgGtT]?)(i?[bB])?$", s)
    if not m:
        raise SimError("bad size: %r" % text)
    mult = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2).lower()]
    return int(float(m.group(1)) * mult)


def _fmt_num(v):
    # Java DecimalFormat("#.##")
    s = "%.2f" % v
    s = s.rstrip("0").rstrip(".")
    return s


def stringify_file_size(value):
    """FileUtils.stringifyFileSize: '#.##' then TiB/GiB/MiB/KiB/bytes."""
    value = float(value)
    for unit, mult in (("TiB", 1 << 40), ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if value >= mult:
            return "%s %s" % (_fmt_num(value / mult), unit)
    return "%s bytes" % _fmt_num(value)


def wait_until(pred, timeout=10.0, first=0.01, factor=1.6, cap=0.5, what="condition"):
    """Poll pred() with growing intervals under one deadline.  Returns pred()'s value."""
    deadline = time.monotonic() + timeout
    delay = first
    while True:
        v = pred()
        if v:
            return v
        now = time.monotonic()
        if now >= deadline:
            raise TimeoutError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(min(delay, deadline - now))
        delay = min(delay * factor, cap)


def iso_instant(ts):
    """java.time.Instant.toString() of an epoch float (millisecond precision)."""
    ms = int(round(ts * 1000))
    dt = datetime.datetime.fromtimestamp(ms // 1000, tz=datetime.timezone.utc)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if ms % 1000:
        base += ".%03d" % (ms % 1000)
    return base + "Z"


def parse_iso_instant(s):
    if not s:
        return None
    s = s.rstrip("Z")
    if "." in s:
        main, frac = s.split(".", 1)
    else:
        main, frac = s, "0"
    dt = datetime.datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=datetime.timezone.utc)
    return dt.timestamp() + float("0." + frac)


def atomic_write(path, data, mode=0o644):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.dirname(path) or "."
    tmp = os.path.join(d, ".%s.tmp.%d.%d" % (os.path.basename(path), os.getpid(), random.getrandbits(32)))
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
    os.chmod(tmp, mode)
    os.rename(tmp, path)


def write_json(path, obj):
    atomic_write(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def read_json(path):
    with open(path) as f:
        return json.load(f)


@contextlib.contextmanager
def file_lock(path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def time_uuid():
    return uuid.uuid1()


def table_id_hex():
    return uuid.uuid1().hex


def hex_to_uuid(h):
    return str(uuid.UUID(hex=h))


def _b36(n, width):
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = digits[r] + out
    return out.rjust(width, "0")[-width:]


def uuid_generation():
    """A 5.0 UUIDBasedSSTableId-looking identifier: dddd_ssss_rrrrrrrrrrrrrrrrrr."""
    now = time.time()
    days = int(now // 86400)
    secs = int(now % 86400)
    rest = int((now % 1) * 1e6) * (36 ** 12) + random.getrandbits(60) % (36 ** 12)
    return "%s_%s_%s" % (_b36(days, 4), _b36(secs, 4), _b36(rest, 18))


# ---------------------------------------------------------------------------
# random content
# ---------------------------------------------------------------------------

_POOL = None
_CHUNK = 1 << 20


def _pool():
    global _POOL
    if _POOL is None:
        _POOL = os.urandom(8 << 20)
    return _POOL


def write_random_file(path, size, want_crc=False):
    """Write `size` incompressible bytes in 1 MiB chunks; return crc32 if asked."""
    pool = _pool()
    crc = 0
    left = size
    with open(path, "wb") as f:
        while left > 0:
            n = min(_CHUNK, left)
            if n <= 64:
                chunk = os.urandom(n)
            else:
                off = random.randrange(0, len(pool) - n + 1)
                chunk = os.urandom(32) + pool[off + 32:off + n]
            f.write(chunk)
            if want_crc:
                crc = zlib.crc32(chunk, crc)
            left -= n
    return crc


# ---------------------------------------------------------------------------
# SSTables
# ---------------------------------------------------------------------------

def parse_sstable_name(fname):
    m = SSTABLE_RE.match(fname)
    if not m:
        return None
    gen = m.group(2)
    return {"version": m.group(1), "gen": int(gen) if gen.isdigit() else gen,
            "format": m.group(3), "component": m.group(4)}


def sstable_prefix(version, gen, fmt):
    return "%s-%s-%s-" % (version, gen, fmt)


def write_sstable(table_dir, sst_version, gen, data_size, fmt="big"):
    """Write one SSTable with every component.  Returns the list of file names."""
    prefix = sstable_prefix(sst_version, gen, fmt)
    comps = BIG_COMPONENTS if fmt == "big" else BTI_COMPONENTS
    toc = BIG_TOC_ORDER if fmt == "big" else BTI_TOC_ORDER
    names = []
    crc = write_random_file(os.path.join(table_dir, prefix + "Data.db"), data_size, want_crc=True)
    chunks = max(1, (data_size + 16383) // 16384)
    sizes = {
        "CompressionInfo.db": 43 + 8 * chunks,
        "Filter.db": max(16, data_size // 2000),
        "Index.db": max(8, data_size // 100),
        "Partitions.db": max(8, data_size // 120),
        "Rows.db": max(8, data_size // 400),
        "Statistics.db": 4700 + random.randrange(0, 800),
        "Summary.db": max(56, data_size // 20000),
    }
    for comp in comps:
        p = os.path.join(table_dir, prefix + comp)
        names.append(prefix + comp)
        if comp == "Data.db":
            continue
        if comp == "Digest.crc32":
            atomic_write(p, str(crc))
        elif comp == "TOC.txt":
            atomic_write(p, "".join(c + "\n" for c in toc))
        else:
            write_random_file(p, sizes[comp])
    return names


def list_sstables(table_dir):
    """{gen: {'version','format','components':{comp: filename}}} for live files."""
    out = {}
    try:
        entries = os.listdir(table_dir)
    except FileNotFoundError:
        return out
    for f in entries:
        info = parse_sstable_name(f)
        if not info:
            continue
        e = out.setdefault(info["gen"], {"version": info["version"], "format": info["format"],
                                         "components": {}})
        e["components"][info["component"]] = f
    return out


def dir_bytes(path):
    total = 0
    try:
        with os.scandir(path) as it:
            for e in it:
                if e.is_file(follow_symlinks=False):
                    total += e.stat(follow_symlinks=False).st_size
    except FileNotFoundError:
        pass
    return total


# ---------------------------------------------------------------------------
# tokens and ring
# ---------------------------------------------------------------------------

def allocate_tokens(num_nodes, num_tokens, rng):
    """Spread num_nodes*num_tokens tokens over the Murmur3 ring; list per node."""
    total = num_nodes * num_tokens
    step = RING_SIZE // total
    per_node = [[] for _ in range(num_nodes)]
    j = 0
    for _r in range(num_tokens):
        order = list(range(num_nodes))
        rng.shuffle(order)
        for n in order:
            base = MIN_TOKEN + step * j + step // 2
            jitter = rng.randrange(-(step // 4), step // 4 + 1) if step > 8 else 0
            per_node[n].append(max(MIN_TOKEN + 1, min(MAX_TOKEN, base + jitter)))
            j += 1
    for t in per_node:
        t.sort()
    return per_node


def ring_members(cluster):
    return [n for n in cluster["nodes"] if n.get("status", "Normal") != "Joining"]


def build_ring(cluster):
    ring = []
    for n in ring_members(cluster):
        for t in n["tokens"]:
            ring.append((t, n["name"]))
    ring.sort()
    return ring


def range_width(a, b):
    w = (b - a) % RING_SIZE
    return RING_SIZE if w == 0 else w


def replicas_for(cluster, ks_name, ring, idx, node_by_name):
    """Replica node names for the range ending at ring[idx]."""
    ks = cluster["keyspaces"][ks_name]
    rep = ks["replication"]
    cls = rep["class"]
    n = len(ring)
    if cls in ("LocalStrategy",):
        return []
    if cls == "EverywhereStrategy":
        return sorted({name for _, name in ring})
    if cls == "SimpleStrategy":
        rf = int(rep.get("replication_factor", 1))
        out = []
        for k in range(n):
            name = ring[(idx + k) % n][1]
            if name not in out:
                out.append(name)
                if len(out) >= rf:
                    break
        return out
    # NetworkTopologyStrategy
    out = []
    for dc, rf in rep.items():
        if dc in ("class",):
            continue
        rf = int(rf)
        walk = []
        for k in range(n):
            name = ring[(idx + k) % n][1]
            if node_by_name[name]["dc"] == dc and name not in walk:
                walk.append(name)
        chosen, racks = [], set()
        for name in walk:
            if len(chosen) >= rf:
                break
            r = node_by_name[name]["rack"]
            if r not in racks:
                chosen.append(name)
                racks.add(r)
        for name in walk:
            if len(chosen) >= rf:
                break
            if name not in chosen:
                chosen.append(name)
        out.extend(chosen)
    return out


def token_ranges(cluster, ks_name):
    """[(start, end, owner_of_end, [replicas])] in ring order."""
    ring = build_ring(cluster)
    by_name = {n["name"]: n for n in cluster["nodes"]}
    out = []
    for i, (tok, owner) in enumerate(ring):
        prev = ring[i - 1][0]
        out.append((prev, tok, owner, replicas_for(cluster, ks_name, ring, i, by_name)))
    return out


def effective_ownership(cluster, ks_name):
    own = {n["name"]: 0.0 for n in cluster["nodes"]}
    for a, b, _owner, reps in token_ranges(cluster, ks_name):
        w = range_width(a, b) / RING_SIZE
        for r in reps:
            own[r] += w
    return own


def user_keyspaces(cluster):
    return [k for k, v in cluster["keyspaces"].items() if not v.get("system")]


def replication_key(rep):
    return json.dumps(rep, sort_keys=True)


def ownership_keyspace(cluster):
    """The keyspace `status`/`ring` use without an argument, or raise ValueError
    with Cassandra's message when user keyspaces differ in replication."""
    uks = user_keyspaces(cluster)
    if not uks:
        return "system_traces"
    first = replication_key(cluster["keyspaces"][uks[0]]["replication"])
    for k in uks:
        if replication_key(cluster["keyspaces"][k]["replication"]) != first:
            raise ValueError("Non-system keyspaces don't have the same replication settings, "
                             "effective ownership information is meaningless")
    return uks[0]


def replication_factor(cluster, ks_name):
    rep = cluster["keyspaces"][ks_name]["replication"]
    if rep["class"] == "LocalStrategy":
        return 1
    if rep["class"] == "SimpleStrategy":
        return int(rep.get("replication_factor", 1))
    if rep["class"] == "EverywhereStrategy":
        return len(cluster["nodes"])
    return sum(int(v) for k, v in rep.items() if k != "class")


# ---------------------------------------------------------------------------
# cluster state
# ---------------------------------------------------------------------------

def cluster_json(cluster_dir):
    return os.path.join(cluster_dir, "cluster.json")


def load_cluster(cluster_dir):
    return read_json(cluster_json(cluster_dir))


def save_cluster(cluster_dir, cluster):
    write_json(cluster_json(cluster_dir), cluster)


@contextlib.contextmanager
def locked_cluster(cluster_dir):
    """Read-modify-write cluster.json under the cluster lock."""
    with file_lock(os.path.join(cluster_dir, ".lock")):
        c = load_cluster(cluster_dir)
        yield c
        save_cluster(cluster_dir, c)


def node_dir(cluster_dir, name):
    return os.path.join(cluster_dir, "nodes", name)


def load_node(ndir):
    return read_json(os.path.join(ndir, "node.json"))


@contextlib.contextmanager
def locked_node(ndir):
    with file_lock(os.path.join(ndir, ".lock")):
        n = load_node(ndir)
        yield n
        write_json(os.path.join(ndir, "node.json"), n)


def find_node(cluster, name):
    for n in cluster["nodes"]:
        if n["name"] == name:
            return n
    raise SimError("no node %r in cluster %r" % (name, cluster.get("cluster_name")))


def set_node_state(cluster_dir, name, **fields):
    """Update fields of one node in cluster.json and node.json together."""
    with locked_cluster(cluster_dir) as c:
        n = find_node(c, name)
        n.update(fields)
    with locked_node(node_dir(cluster_dir, name)) as nj:
        for k, v in fields.items():
            if k in ("up", "status", "drained", "state"):
                nj[k] = v


def table_dir_name(table, tid):
    return "%s-%s" % (table, tid)


def data_file_directory(ndir):
    return os.path.join(ndir, "data", "data")


def table_path(ndir, ks, table, tid):
    return os.path.join(data_file_directory(ndir), ks, table_dir_name(table, tid))


def next_generation(ndir, tdir, uuid_gen=False):
    """A fresh SSTable generation for tdir, never reused (persisted counter)."""
    if uuid_gen:
        return uuid_generation()
    gens_path = os.path.join(ndir, "generations.json")
    with file_lock(os.path.join(ndir, ".genlock")):
        try:
            gens = read_json(gens_path)
        except FileNotFoundError:
            gens = {}
        key = os.path.basename(tdir)
        taken = set()
        for sub in (tdir, os.path.join(tdir, "backups")):
            taken |= {g for g in list_sstables(sub) if isinstance(g, int)}
        if key in gens:
            # Cassandra's in-memory counter: files dropped in by hand (not yet live) do
            # not move it, only names already taken are skipped
            hi = gens[key]
        else:
            hi = max(taken | {0})
            snaps = os.path.join(tdir, "snapshots")
            if os.path.isdir(snaps):
                for tag in os.listdir(snaps):
                    for g in list_sstables(os.path.join(snaps, tag)):
                        if isinstance(g, int):
                            hi = max(hi, g)
        hi += 1
        while hi in taken:
            hi += 1
        gens[key] = hi
        write_json(gens_path, gens)
        return hi


def node_sstable_style(nj):
    v = VERSIONS[nj["version"]]
    fmt = nj.get("sstable_format") or v["format"]
    sst_version = "da" if fmt == "bti" else v["sstable"]
    return sst_version, fmt, bool(nj.get("uuid_sstable_identifiers"))


def add_sstable(ndir, nj, tdir, size):
    """Write a new SSTable in tdir as Cassandra itself would (flush, compaction): it is
    live at once."""
    sst_version, fmt, uuid_gen = node_sstable_style(nj)
    gen = next_generation(ndir, tdir, uuid_gen)
    names = write_sstable(tdir, sst_version, gen, size, fmt)
    mark_live(ndir, tdir, [gen])
    return names


# The live set.  Cassandra serves the SSTables it wrote or loaded (flush, compaction,
# import, refresh, start-up), not whatever lies in a table directory: files put there by
# hand stay invisible (tablestats, snapshots, Load) until `refresh` or a restart.
# <node_dir>/live.json: {"<ks>/<table>-<id>": ["<gen>", ...]}.  A directory with no entry
# serves nothing (a staging directory is no table); only a node without live.json (made
# before the live set existed) counts every complete SSTable as live.

def live_key(tdir):
    return "%s/%s" % (os.path.basename(os.path.dirname(tdir.rstrip("/"))), os.path.basename(tdir.rstrip("/")))


def _live_path(ndir):
    return os.path.join(ndir, "live.json")


def _read_live(ndir):
    """The live set, or None when the node has none (every complete SSTable is live)."""
    try:
        return read_json(_live_path(ndir))
    except (FileNotFoundError, ValueError):
        return None


def mark_live(ndir, tdir, gens, replace=False):
    """Record gens as live in tdir (replace=True: exactly these)."""
    with file_lock(os.path.join(ndir, ".genlock")):
        live = _read_live(ndir) or {}
        key = live_key(tdir)
        cur = [] if replace else live.get(key, [])
        for g in gens:
            if str(g) not in cur:
                cur.append(str(g))
        live[key] = cur
        write_json(_live_path(ndir), live)


def unmark_live(ndir, tdir, gens):
    with file_lock(os.path.join(ndir, ".genlock")):
        live = _read_live(ndir) or {}
        key = live_key(tdir)
        drop = {str(g) for g in gens}
        live[key] = [g for g in live.get(key, []) if g not in drop]
        write_json(_live_path(ndir), live)


def live_sstables(ndir, tdir, live=None):
    """list_sstables(tdir) restricted to what the node serves: complete (Data.db present)
    and in the live set."""
    if live is None:
        live = _read_live(ndir)
    known = None if live is None else live.get(live_key(tdir), [])
    out = {}
    for g, e in list_sstables(tdir).items():
        if "Data.db" not in e["components"]:
            continue
        if known is not None and str(g) not in known:
            continue
        out[g] = e
    return out


def load_all_live(ndir):
    """Start-up: Cassandra opens every complete SSTable in its table directories."""
    base = data_file_directory(ndir)
    live = {}
    try:
        kss = sorted(os.listdir(base))
    except FileNotFoundError:
        kss = []
    for ks in kss:
        kp = os.path.join(base, ks)
        if ks.startswith(".") or not os.path.isdir(kp):
            continue
        for t in sorted(os.listdir(kp)):
            tdir = os.path.join(kp, t)
            if os.path.isdir(tdir):
                live[live_key(tdir)] = [str(g) for g, e in list_sstables(tdir).items()
                                        if "Data.db" in e["components"]]
    with file_lock(os.path.join(ndir, ".genlock")):
        write_json(_live_path(ndir), live)


def sstable_bytes(tdir, ssts):
    total = 0
    for e in ssts.values():
        for f in e["components"].values():
            try:
                total += os.stat(os.path.join(tdir, f)).st_size
            except FileNotFoundError:
                pass
    return total


def node_load(ndir):
    """Bytes of live SSTables (not snapshots, not backups, not unloaded files)."""
    base = data_file_directory(ndir)
    total = 0
    try:
        kss = os.listdir(base)
    except FileNotFoundError:
        return 0
    live = _read_live(ndir)
    for ks in kss:
        kp = os.path.join(base, ks)
        if ks.startswith(".") or not os.path.isdir(kp):
            continue
        for t in os.listdir(kp):
            tdir = os.path.join(kp, t)
            total += sstable_bytes(tdir, live_sstables(ndir, tdir, live))
    try:
        total += int(load_node(ndir).get("load_extra", 0))
    except (OSError, ValueError):
        pass
    return total


# ---------------------------------------------------------------------------
# creating clusters and nodes
# ---------------------------------------------------------------------------

def parse_dcs(spec):
    """'dc1:3,dc2:3' -> [('dc1',3),('dc2',3)]"""
    out = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        name, _, cnt = part.partition(":")
        out.append((name, int(cnt or 1)))
    return out


def default_replication(index, dcs):
    """Keyspace i (1-based): NTS min(3,dc size); SimpleStrategy 2; SimpleStrategy 1; repeat."""
    total = sum(c for _, c in dcs)
    kind = (index - 1) % 3
    if kind == 0:
        rep = {"class": "NetworkTopologyStrategy"}
        for dc, cnt in dcs:
            rep[dc] = min(3, cnt)
        return rep
    if kind == 1:
        return {"class": "SimpleStrategy", "replication_factor": min(2, total)}
    return {"class": "SimpleStrategy", "replication_factor": 1}


def user_table_columns():
    return [("id", "int", True), ("customer", "text", False), ("total", "decimal", False)]


def make_keyspace_def(replication, tables):
    return {"replication": replication, "system": False,
            "tables": {t: {"id": table_id_hex()} for t in tables}}


def ip_add(base, k):
    parts = [int(x) for x in base.split(".")]
    val = (parts[0] << 24 | parts[1] << 16 | parts[2] << 8 | parts[3]) + k
    addr = "%d.%d.%d.%d" % (val >> 24 & 255, val >> 16 & 255, val >> 8 & 255, val & 255)
    if not addr.startswith("127."):
        raise SimError("address %s leaves 127.0.0.0/8" % addr)
    return addr


def address_is_used(cluster_dir, address):
    try:
        c = load_cluster(cluster_dir)
    except FileNotFoundError:
        return False
    return any(n["address"] == address for n in c["nodes"])


def free_port(addresses=("127.0.0.1",), tries=50):
    """A TCP port free on every given address (bind to 0, release, check others)."""
    for _ in range(tries):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addresses[0], 0))
        port = s.getsockname()[1]
        s.close()
        ok = True
        for a in addresses:
            t = socket.socket()
            try:
                t.bind((a, port))
            except OSError:
                ok = False
            finally:
                t.close()
            if not ok:
                break
        if ok:
            return port
    raise SimError("no free port found on %s" % (addresses,))


def gen_system_data(ndir, nj, cluster):
    for ks, kdef in cluster["keyspaces"].items():
        if not kdef.get("system"):
            continue
        for t, tdef in kdef["tables"].items():
            tdir = table_path(ndir, ks, t, tdef["id"])
            os.makedirs(os.path.join(tdir, "backups"), exist_ok=True)
            mark_live(ndir, tdir, [])
            for _ in range(tdef.get("sstables", 0)):
                add_sstable(ndir, nj, tdir, random.randrange(2000, 9000))


def gen_user_data(ndir, nj, cluster, sstables, size, keyspaces=None):
    for ks, kdef in cluster["keyspaces"].items():
        if kdef.get("system") or (keyspaces is not None and ks not in keyspaces):
            continue
        for t, tdef in kdef["tables"].items():
            tdir = table_path(ndir, ks, t, tdef["id"])
            os.makedirs(os.path.join(tdir, "backups"), exist_ok=True)
            mark_live(ndir, tdir, [])
            for _ in range(sstables):
                add_sstable(ndir, nj, tdir, size)


def seeds_line(version, seeds):
    """The seeds parameter as cassandra.yaml writes it: 4.x with the storage port."""
    port = "" if version == "3.11" else ":7000"
    return '      - seeds: "%s"' % ",".join(a + port for a in seeds)


def cassandra_yaml_text(nj, seeds):
    ndir = nj["node_dir"]
    return ("cluster_name: '%s'\nnum_tokens: %d\n"
            "seed_provider:\n  - class_name: org.apache.cassandra.locator.SimpleSeedProvider\n"
            "    parameters:\n%s\n"
            "listen_address: %s\nrpc_address: %s\n"
            "data_file_directories:\n    - %s\ncommitlog_directory: %s\n"
            "hints_directory: %s\nsaved_caches_directory: %s\nendpoint_snitch: %s\n"
            % (nj["cluster_name"], len(nj["tokens"]), seeds_line(nj["version"], seeds),
               nj["address"], nj["address"],
               data_file_directory(ndir), os.path.join(ndir, "data", "commitlog"),
               os.path.join(ndir, "data", "hints"), os.path.join(ndir, "data", "saved_caches"),
               nj.get("snitch", "SimpleSnitch")))


SEEDS_RE = re.compile(r"^\s*-?\s*seeds:\s*(.*?)\s*$")


def read_seeds(ndir):
    """Seed addresses from conf/cassandra.yaml (read once, at start, like Cassandra):
    `- seeds: "a:7000,b"`; ports and quotes dropped.  Raises SimError when there is none."""
    path = os.path.join(ndir, "conf", "cassandra.yaml")
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise SimError("cannot read %s: %s" % (path, e))
    for ln in lines:
        if ln.lstrip().startswith("#"):
            continue
        m = SEEDS_RE.match(ln)
        if not m:
            continue
        val = m.group(1).strip().strip("'\"")
        out = []
        for part in val.split(","):
            a = part.strip().strip("'\"[]")
            if not a:
                continue
            if a.count(":") == 1:
                a = a.split(":", 1)[0]
            out.append(a)
        if out:
            return out
    raise SimError("%s: no seeds (seed_provider parameters '- seeds: \"...\"')" % path)


def write_node_files(cluster_dir, nj, seeds=None):
    """(Re)write the node's wrapper scripts, sshd config and conf."""
    ndir = nj["node_dir"]
    os.makedirs(os.path.join(ndir, "bin"), exist_ok=True)
    os.makedirs(os.path.join(ndir, "ssh"), exist_ok=True)
    os.makedirs(os.path.join(ndir, "conf"), exist_ok=True)
    os.makedirs(os.path.join(ndir, "logs"), exist_ok=True)
    for sub in ("data", "commitlog", "hints", "saved_caches"):
        os.makedirs(os.path.join(ndir, "data", sub), exist_ok=True)
    atomic_write(os.path.join(ndir, "bin", "nodetool"),
                 "#!/bin/sh\nexec %s -S %s --sim-node %s \"$@\"\n" % (PYTHON, NODETOOL, ndir), 0o755)
    atomic_write(os.path.join(ndir, "bin", "cassandra-start"),
                 "#!/bin/sh\nexec %s %s start-cassandra %s %s\n" % (PYTHON, SIMCTL, cluster_dir, nj["name"]),
                 0o755)
    atomic_write(os.path.join(ndir, "bin", "cassandra-stop"),
                 "#!/bin/sh\nexec %s %s stop-cassandra %s %s\n" % (PYTHON, SIMCTL, cluster_dir, nj["name"]),
                 0o755)
    atomic_write(os.path.join(ndir, "conf", "cassandra.yaml"), cassandra_yaml_text(nj, seeds or [nj["address"]]))
    atomic_write(os.path.join(ndir, "conf", "cassandra-rackdc.properties"),
                 "dc=%s\nrack=%s\n" % (nj["dc"], nj["rack"]))
    key = os.path.join(ndir, "ssh", "ssh_host_ed25519_key")
    if not os.path.exists(key):
        subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "sim-" + nj["name"], "-f", key],
                       check=True, stdin=subprocess.DEVNULL)


def sshd_config_text(cluster_dir, nj, port):
    ndir = nj["node_dir"]
    return "\n".join([
        "Port %d" % port,
        "ListenAddress %s" % nj["address"],
        "HostKey %s" % os.path.join(ndir, "ssh", "ssh_host_ed25519_key"),
        "PidFile %s" % os.path.join(ndir, "sshd.pid"),
        "AuthorizedKeysFile %s" % os.path.join(cluster_dir, "ssh", "authorized_keys"),
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
        "Subsystem sftp internal-sftp",
        # bash sources ~/.bashrc for commands run over ssh when SHLVL < 2;
        # starting it at 1 keeps the test host user's dotfiles (and
        # whatever they hang on) out of every command a test node runs.
        "SetEnv SHLVL=1",
        "",
    ])


def make_node(cluster_dir, cluster, name, address, dc, rack, tokens, version, rng=None,
              status="Normal", seeds=None, joined=True):
    ndir = node_dir(cluster_dir, name)
    os.makedirs(ndir, exist_ok=True)
    now = time.time()
    nj = {
        "name": name,
        "address": address,
        "dc": dc,
        "rack": rack,
        "host_id": str(uuid.uuid4()),
        "tokens": tokens,
        "version": version,
        "release_version": VERSIONS[version]["release"],
        "cluster_name": cluster["cluster_name"],
        "cluster_dir": os.path.abspath(cluster_dir),
        "node_dir": os.path.abspath(ndir),
        "data_dir": os.path.join(os.path.abspath(ndir), "data"),
        "data_file_directory": data_file_directory(os.path.abspath(ndir)),
        "snitch": cluster["snitch"].rsplit(".", 1)[-1],
        "state": "stopped",
        "up": False,
        "status": status,
        "drained": False,
        "started_at": now,
        "generation": int(now),
        "repair_command": 0,
        "percent_repaired": 0.0,
        "fault": {"mode": "none"},
        "flush_size": 64 * 1024,
        "nodetool_delay_ms": int(cluster.get("nodetool_delay_ms", 0) or 0),
        "system_churn": True,
        # joined: has been a ring member (saved peers); a fresh node joins through its seeds
        "joined": bool(joined),
    }
    write_json(os.path.join(ndir, "node.json"), nj)
    write_node_files(cluster_dir, nj, seeds)
    entry = {k: nj[k] for k in ("name", "address", "dc", "rack", "host_id", "tokens", "version",
                                "release_version", "up", "status", "drained")}
    entry["dir"] = os.path.join("nodes", name)
    entry["ring"] = MAIN_RING
    return nj, entry


def system_keyspace_defs(version):
    out = {}
    for ks in SYSTEM_KEYSPACES:
        tables = {}
        for t, cnt in SYSTEM_TABLES[ks]:
            if version == "3.11" and t in ("network_permissions", "peers_v2", "available_ranges_v2",
                                           "resource_role_permissons_index", "table_estimates"):
                continue
            if version in ("3.11", "4.0") and t == "sstable_activity_v2":
                continue
            tables[t] = {"id": uuid.uuid3(uuid.NAMESPACE_OID, ks + "." + t).hex, "sstables": cnt}
        out[ks] = {"replication": dict(SYSTEM_REPLICATION[ks]), "system": True, "tables": tables}
    return out


def create_cluster(cluster_dir, cluster_name="Test Cluster", nodes=3, version="4.1", dcs=None,
                   dc="datacenter1", racks=1, keyspaces=2, tables=3, sstables=4,
                   sstable_size="1M", base_address="127.0.0.11", num_tokens=16, seed=None,
                   ssh_port=None, keyspace_defs=None, sstable_format=None, uuid_generations=False,
                   nodetool_delay_ms=0):
    """Create a cluster directory with every node's data.  Returns the cluster dict."""
    if version not in VERSIONS:
        raise SimError("unknown version %r (have %s)" % (version, ", ".join(VERSIONS)))
    cluster_dir = os.path.abspath(cluster_dir)
    if os.path.exists(cluster_json(cluster_dir)):
        raise SimError("%s already holds a cluster" % cluster_dir)
    os.makedirs(os.path.join(cluster_dir, "nodes"), exist_ok=True)
    os.makedirs(os.path.join(cluster_dir, "ssh"), exist_ok=True)
    rng = random.Random(seed)
    if dcs:
        dc_list = parse_dcs(dcs) if isinstance(dcs, str) else list(dcs)
    else:
        dc_list = [(dc, int(nodes))]
    total = sum(c for _, c in dc_list)
    multi = len(dc_list) > 1 or racks > 1
    snitch = ("org.apache.cassandra.locator.GossipingPropertyFileSnitch" if multi
              else "org.apache.cassandra.locator.SimpleSnitch")
    size = parse_size(sstable_size)
    cluster = {
        "cluster_name": cluster_name,
        "version": version,
        "partitioner": "org.apache.cassandra.dht.Murmur3Partitioner",
        "snitch": snitch,
        "schema_version": str(uuid.uuid4()),
        "num_tokens": num_tokens,
        "ssh_port": None,
        "keyspaces": system_keyspace_defs(version),
        "nodes": [],
        "default_sstables": sstables,
        "default_sstable_size": size,
        "nodetool_delay_ms": int(nodetool_delay_ms or 0),
    }
    if keyspace_defs:
        for ks, kd in keyspace_defs.items():
            cluster["keyspaces"][ks] = make_keyspace_def(kd["replication"], kd["tables"])
    else:
        for i in range(1, keyspaces + 1):
            cluster["keyspaces"]["ks%d" % i] = make_keyspace_def(
                default_replication(i, dc_list), ["t%d" % j for j in range(1, tables + 1)])
    # system_distributed / system_traces RF never exceed sensible values
    all_tokens = allocate_tokens(total, num_tokens, rng)
    # Seeds: the first node of each datacenter, as an operator would write them.
    seeds, k = [], 0
    for dcname, cnt in dc_list:
        if cnt:
            seeds.append(ip_add(base_address, k))
        k += cnt
    k = 0
    node_objs = []
    for dcname, cnt in dc_list:
        for j in range(cnt):
            name = "node%d" % (k + 1)
            rack = "rack%d" % (j % racks + 1)
            address = ip_add(base_address, k)
            nj, entry = make_node(cluster_dir, cluster, name, address, dcname, rack,
                                  all_tokens[k], version, seeds=seeds)
            if sstable_format or uuid_generations:
                with locked_node(nj["node_dir"]) as n2:
                    if sstable_format:
                        n2["sstable_format"] = sstable_format
                    n2["uuid_sstable_identifiers"] = bool(uuid_generations)
                nj = load_node(nj["node_dir"])
            cluster["nodes"].append(entry)
            node_objs.append(nj)
            k += 1
    # client key
    key = os.path.join(cluster_dir, "ssh", "id_ed25519")
    subprocess.run([SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", "ringmaster-sim", "-f", key],
                   check=True, stdin=subprocess.DEVNULL)
    with open(key + ".pub") as f:
        atomic_write(os.path.join(cluster_dir, "ssh", "authorized_keys"), f.read(), 0o600)
    addrs = [n["address"] for n in cluster["nodes"]]
    cluster["ssh_port"] = int(ssh_port) if ssh_port else free_port(addrs)
    save_cluster(cluster_dir, cluster)
    open(os.path.join(cluster_dir, ".lock"), "a").close()
    for nj in node_objs:
        gen_system_data(nj["node_dir"], nj, cluster)
        gen_user_data(nj["node_dir"], nj, cluster, sstables, size)
    return cluster


def gen_node_data(cluster_dir, name, keyspaces=1, tables=1, gib=1.0, sstables=None):
    """Give NODE N keyspaces x N tables holding about `gib` GiB of data in total.
    New keyspaces are named gen_ks<i> (SimpleStrategy RF=1) if they don't exist."""
    ndir = node_dir(cluster_dir, name)
    nj = load_node(ndir)
    names = []
    with locked_cluster(cluster_dir) as c:
        for i in range(1, keyspaces + 1):
            ks = "gen_ks%d" % i
            if ks not in c["keyspaces"]:
                c["keyspaces"][ks] = make_keyspace_def(
                    {"class": "SimpleStrategy", "replication_factor": 1},
                    ["gen_t%d" % j for j in range(1, tables + 1)])
            names.append(ks)
    c = load_cluster(cluster_dir)
    total = int(gib * (1 << 30))
    per_table = max(1, total // max(1, keyspaces * tables))
    n_sst = sstables or max(1, min(8, per_table // (256 << 20) + 1))
    per_sst = max(1, per_table // n_sst)
    for ks in names:
        for t, tdef in list(c["keyspaces"][ks]["tables"].items())[:tables]:
            tdir = table_path(ndir, ks, t, tdef["id"])
            os.makedirs(os.path.join(tdir, "backups"), exist_ok=True)
            mark_live(ndir, tdir, [])
            for _ in range(n_sst):
                add_sstable(ndir, nj, tdir, per_sst)
    return names


def add_keyspace(cluster_dir, ks, replication, tables, sstables=0, sstable_size="64K"):
    """Add a user keyspace with tables to the schema and create its dirs on every node."""
    with locked_cluster(cluster_dir) as c:
        if ks in c["keyspaces"]:
            raise SimError("keyspace %s exists" % ks)
        c["keyspaces"][ks] = make_keyspace_def(replication, tables)
        c["schema_version"] = str(uuid.uuid4())
    c = load_cluster(cluster_dir)
    for n in c["nodes"]:
        ndir = node_dir(cluster_dir, n["name"])
        gen_user_data(ndir, load_node(ndir), c, sstables, parse_size(sstable_size), keyspaces=[ks])


def add_node(cluster_dir, name, address=None, dc=None, rack=None, version=None, replace=None,
             sstables=0, sstable_size="64K"):
    """Add a node (status Joining until started; with replace=DEAD it takes the dead
    node's tokens, as replace_address_first_boot does)."""
    c = load_cluster(cluster_dir)
    if any(n["name"] == name for n in c["nodes"]):
        raise SimError("node %s exists" % name)
    dead = find_node(c, replace) if replace else None
    if address is None:
        # A host that left the ring (replaced, decommissioned) may still
        # run its sshd and agent on its address: never hand it out again.
        used = {n["address"] for n in c["nodes"]}
        nodes_dir = os.path.join(cluster_dir, "nodes")
        for d in os.listdir(nodes_dir) if os.path.isdir(nodes_dir) else ():
            try:
                used.add(load_node(os.path.join(nodes_dir, d))["address"])
            except (OSError, ValueError, KeyError):
                pass
        base = c["nodes"][0]["address"]
        k = 1
        while ip_add(base, k) in used:
            k += 1
        address = ip_add(base, k)
    dc = dc or (dead["dc"] if dead else c["nodes"][0]["dc"])
    rack = rack or (dead["rack"] if dead else c["nodes"][0]["rack"])
    version = version or (dead["version"] if dead else c["version"])
    if dead:
        tokens = list(dead["tokens"])
    else:
        rng = random.Random()
        tokens = sorted(rng.randrange(MIN_TOKEN + 1, MAX_TOKEN) for _ in range(c.get("num_tokens", 16)))
    main = [n for n in c["nodes"] if n.get("ring", MAIN_RING) == MAIN_RING] or c["nodes"]
    seeds = [main[0]["address"]] if main else [address]
    nj, entry = make_node(cluster_dir, c, name, address, dc, rack, tokens, version,
                          status="Joining", seeds=seeds, joined=False)
    if replace:
        with locked_node(nj["node_dir"]) as n2:
            n2["replace_address"] = dead["address"]
        nj = load_node(nj["node_dir"])
    with locked_cluster(cluster_dir) as c2:
        c2["nodes"].append(entry)
    c2 = load_cluster(cluster_dir)
    gen_system_data(nj["node_dir"], nj, c2)
    gen_user_data(nj["node_dir"], nj, c2, sstables, parse_size(sstable_size))
    return nj


def make_fresh(cluster_dir, name, bootstrap_seconds=0.0):
    """A new host: Cassandra stopped, never joined, empty data directories (what an agent
    must see to be given bootstrap or replace)."""
    ndir = node_dir(cluster_dir, name)
    data = os.path.join(ndir, "data", "data")
    shutil.rmtree(data, ignore_errors=True)
    os.makedirs(data)
    set_node_state(cluster_dir, name, up=False, state="stopped", status="Joining")
    with locked_node(ndir) as nj:
        nj["joined"] = False
    set_knob(cluster_dir, name, "bootstrap_seconds", bootstrap_seconds)


def _agent_conf_like(cluster_dir, like, nj):
    """The agent.conf of node `like` rewritten for the new node nj (its paths, address,
    dc and rack)."""
    src_dir = node_dir(cluster_dir, like)
    with open(os.path.join(src_dir, "agent.conf")) as f:
        text = f.read()
    out = []
    for ln in text.splitlines():
        key, sep, val = ln.partition("=")
        k = key.strip()
        if sep and k in ("address", "dc", "rack"):
            ln = "%s = %s" % (k, nj[k])
        elif sep:
            ln = "%s=%s" % (key, val.replace(src_dir, nj["node_dir"]))
        out.append(ln)
    return "\n".join(out) + "\n"


def provision_node(cluster_dir, dc, rack, key=None, like=None, agent=None, bootstrap_seconds=0.0):
    """The sim's provider: a new, empty host in dc/rack with sshd and (when node `like` has
    an agent.conf) an agent started, as a cloud would boot one.  Idempotent by key: asked
    again with the same key it answers the same host.  Every call is journaled in
    cluster.json `provisions` ({key, name, address, at, again}).  Calls are serialised (a
    second call with the same key while the first runs waits for it and answers its host, as
    an idempotent cloud API would).  Returns the node.json."""
    with file_lock(os.path.join(cluster_dir, ".provision.lock")):
        return _provision_node(cluster_dir, dc, rack, key, like, agent, bootstrap_seconds)


def _provision_node(cluster_dir, dc, rack, key, like, agent, bootstrap_seconds):
    c = load_cluster(cluster_dir)
    if not any(n["dc"] == dc for n in c["nodes"]):
        raise SimError("provision: no node of this cluster is in dc %r" % dc)
    for p in c.get("provisions", []):
        if key and p.get("key") == key and not p.get("again"):
            with locked_cluster(cluster_dir) as c2:
                c2.setdefault("provisions", []).append(dict(p, at=time.time(), again=True))
            return load_node(node_dir(cluster_dir, p["name"]))
    k = 1
    names = {n["name"] for n in c["nodes"]} | set(os.listdir(os.path.join(cluster_dir, "nodes")))
    while "p%d" % k in names:
        k += 1
    name = "p%d" % k
    nj = add_node(cluster_dir, name, dc=dc, rack=rack)
    make_fresh(cluster_dir, name, bootstrap_seconds)
    nj = load_node(nj["node_dir"])
    if like and os.path.exists(os.path.join(node_dir(cluster_dir, like), "agent.conf")):
        atomic_write(os.path.join(nj["node_dir"], "agent.conf"), _agent_conf_like(cluster_dir, like, nj))
        jvm = os.path.join(nj["node_dir"], "conf", "jvm-server.options")
        if not os.path.exists(jvm):
            atomic_write(jvm, "-ea\n-Xss256k\n")
    start_sshd(cluster_dir, name)
    start_agent(cluster_dir, name, agent)
    with locked_cluster(cluster_dir) as c2:
        c2.setdefault("provisions", []).append(
            {"key": key, "name": name, "address": nj["address"], "at": time.time(), "again": False})
    return nj


def remove_node(cluster_dir, name):
    """Remove a (stopped) node from the ring, as `nodetool removenode` would."""
    kill_node(cluster_dir, name)
    with locked_cluster(cluster_dir) as c:
        c["nodes"] = [n for n in c["nodes"] if n["name"] != name]


# ---------------------------------------------------------------------------
# processes: sshd, the agent hook
# ---------------------------------------------------------------------------

def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie is not alive
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read().rsplit(")", 1)[1].split()[0]
        return st != "Z"
    except OSError:
        return False


def read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def port_open(address, port, timeout=0.3):
    s = socket.socket()
    s.settimeout(timeout)
    try:
        s.connect((address, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _children_map():
    kids = {}
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        kids.setdefault(ppid, []).append(int(p))
    return kids


def descendants(pid):
    kids = _children_map()
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        for c in kids.get(p, []):
            out.append(c)
            stack.append(c)
    return out


def pids_referencing(path):
    """Processes whose command line mentions path (e.g. nodetool --sim-node DIR)."""
    out = []
    me = os.getpid()
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == me:
            continue
        try:
            with open("/proc/%s/cmdline" % p, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if path in cmd:
            out.append(int(p))
    return out


def node_pids(ndir):
    """Processes whose command line names the node dir (not node1 for node10)."""
    ndir = os.path.abspath(ndir)
    return sorted(set(pids_referencing(ndir + "/") + pids_referencing(ndir + " ")))


def terminate(pids, timeout=5.0):
    """SIGTERM, wait with growing intervals, then SIGKILL what is left."""
    pids = [p for p in pids if p and pid_alive(p)]
    for p in pids:
        try:
            os.kill(p, signal.SIGTERM)
        except ProcessLookupError:
            pass
    try:
        wait_until(lambda: not any(pid_alive(p) for p in pids), timeout=timeout, what="exit")
    except TimeoutError:
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_until(lambda: not any(pid_alive(p) for p in pids), timeout=5, what="kill")


def start_sshd(cluster_dir, name, timeout=10.0):
    c = load_cluster(cluster_dir)
    n = find_node(c, name)
    ndir = node_dir(cluster_dir, name)
    nj = load_node(ndir)
    port = c["ssh_port"]
    pidfile = os.path.join(ndir, "sshd.pid")
    pid = read_pid(pidfile)
    if pid and pid_alive(pid) and port_open(n["address"], port):
        return pid
    os.makedirs("/run/sshd", exist_ok=True)
    conf = os.path.join(ndir, "ssh", "sshd_config")
    atomic_write(conf, sshd_config_text(cluster_dir, nj, port))
    log = os.path.join(ndir, "logs", "sshd.log")
    try:
        os.unlink(pidfile)
    except FileNotFoundError:
        pass
    r = subprocess.run([SSHD, "-f", conf, "-E", log], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise SimError("sshd failed to start for %s: %s %s" % (name, r.stdout, _tail(log)))
    try:
        wait_until(lambda: port_open(n["address"], port), timeout=timeout,
                   what="sshd on %s:%d" % (n["address"], port))
        wait_until(lambda: read_pid(pidfile), timeout=timeout, what="sshd pid file")
    except TimeoutError:
        raise SimError("sshd for %s did not listen on %s:%d: %s" % (name, n["address"], port, _tail(log)))
    return read_pid(pidfile)


def _tail(path, n=5):
    try:
        with open(path) as f:
            return " | ".join(f.read().splitlines()[-n:])
    except OSError:
        return ""


def stop_sshd(cluster_dir, name, hard=False):
    ndir = node_dir(cluster_dir, name)
    pid = read_pid(os.path.join(ndir, "sshd.pid"))
    if not pid or not pid_alive(pid):
        return
    if hard:
        victims = [pid] + descendants(pid)
        for p in victims:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_until(lambda: not any(pid_alive(p) for p in victims), timeout=5, what="sshd killed")
    else:
        terminate([pid])


def start_agent(cluster_dir, name, agent=None):
    ndir = node_dir(cluster_dir, name)
    conf = os.path.join(ndir, "agent.conf")
    agent = agent or os.environ.get("RINGAGENT")
    if not agent or not os.path.exists(conf):
        return None
    pidf = os.path.join(ndir, "agent.pid")
    old = read_pid(pidf)
    if old and pid_alive(old):
        return old
    logf = open(os.path.join(ndir, "agent.log"), "ab")
    p = subprocess.Popen([agent, "-d", "-f", conf], stdin=subprocess.DEVNULL, stdout=logf,
                         stderr=logf, start_new_session=True, cwd=ndir)
    logf.close()
    atomic_write(pidf, "%d\n" % p.pid)
    atomic_write(os.path.join(ndir, ".agent.pgid"), "%d\n" % p.pid)
    return p.pid


def stop_agent(cluster_dir, name, hard=False):
    ndir = node_dir(cluster_dir, name)
    pids = []
    for f in ("agent.pid", ".agent.pgid"):
        p = read_pid(os.path.join(ndir, f))
        if p and p not in pids:
            pids.append(p)
    pgid = read_pid(os.path.join(ndir, ".agent.pgid"))
    if pgid:
        try:
            os.killpg(pgid, signal.SIGKILL if hard else signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            pass
    if hard:
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
        wait_until(lambda: not any(pid_alive(p) for p in pids), timeout=5, what="agent killed")
    else:
        terminate(pids)
    for f in (".agent.pgid",):
        try:
            os.unlink(os.path.join(ndir, f))
        except FileNotFoundError:
            pass


def choose_ring(cluster, me, nj, seeds):
    """Which ring a starting node ends up in, from the seeds its cassandra.yaml names.

    A member that has joined before rejoins its ring through its saved peers whatever its
    seeds say.  A fresh node joins the ring of the first seed (other than itself) whose
    Cassandra is up; when none is up but it is in its own seed list it forms a one-node
    ring of its own ("Unable to gossip with any peers but continuing anyway since node is
    in its own seed list"), which the other nodes never see; otherwise it cannot start."""
    if nj.get("joined", True):
        return me.get("ring", MAIN_RING)
    for a in seeds:
        if a == me["address"]:
            continue
        for n in cluster["nodes"]:
            if n["address"] == a and n["name"] != me["name"] and n.get("up"):
                return n.get("ring", MAIN_RING)
    if me["address"] in seeds:
        return "ring-%s-%s" % (me["name"], me["host_id"][:8])
    raise SimError("%s: Unable to contact any seeds: [%s] (none of them is up)"
                   % (me["name"], ", ".join("/%s:7000" % a for a in seeds)))


def start_cassandra(cluster_dir, name):
    """The Cassandra process starts: UN.  It reads its seeds from conf/cassandra.yaml
    (choose_ring), opens every complete SSTable in its table directories, and its churning
    system tables get memtable data.  A node added with --replace takes over the dead
    node's tokens and the dead node leaves the ring; a Joining node becomes Normal after
    node.json's bootstrap_seconds (0 = at once)."""
    ndir = node_dir(cluster_dir, name)
    nj = load_node(ndir)
    # A real start takes 7-40 s before JMX answers (captures/rolling-restart.txt).
    time.sleep(float(nj.get("start_delay", 0) or 0))
    now = time.time()
    seeds = read_seeds(ndir)
    installed = nj.get("installed_release")
    load_all_live(ndir)
    jvm_replace = None if nj.get("joined", True) else read_jvm_replace(ndir)
    if nj.get("decommissioned"):
        # Real 4.x refuses to start a node that left the ring with its data.
        raise SimError("%s: This node was decommissioned and will not rejoin the ring unless "
                       "cassandra.override_decommission=true has been set, or all existing data "
                       "is removed and the node is bootstrapped again" % name)
    with locked_cluster(cluster_dir) as c:
        n = find_node(c, name)
        n["ring"] = choose_ring(c, n, nj, seeds)
        replace = nj.get("replace_address")
        boot = float(nj.get("bootstrap_seconds", 0) or 0)
        if jvm_replace and not replace:
            # -Dcassandra.replace_address_first_boot on an empty node's first start.
            dead = next((x for x in c["nodes"] if x["address"] == jvm_replace
                         and x["name"] != name and x.get("ring", MAIN_RING) == n["ring"]), None)
            if dead is None:
                raise SimError("%s: Cannot replace_address /%s because it doesn't exist in gossip"
                               % (name, jvm_replace))
            if dead.get("up") and dead.get("gossip", True):
                # Real 4.1 waits ~60 s for the dead node's gossip, then fails this way.
                raise SimError("%s: java.lang.UnsupportedOperationException: Cannot replace a "
                               "live node... " % name)
            n["tokens"] = list(dead["tokens"])
            n["host_id"] = n.get("host_id") or nj.get("host_id")
            if boot > 0:
                # Streaming: invisible in status, the dead node still shows DN.
                n["replacing"] = jvm_replace
            else:
                record_ghost(c, dead, n)
                c["nodes"] = [x for x in c["nodes"] if x["address"] != jvm_replace]
            c.setdefault("replacements", []).append(
                {"name": name, "dead": jvm_replace, "start": now, "until": now + boot})
        if replace:
            c["nodes"] = [x for x in c["nodes"] if x["address"] != replace or x["name"] == name]
        if n.get("status") == "Joining" and not nj.get("joined", True) and not replace \
                and not jvm_replace:
            # Real 4.1 refuses to bootstrap while another node of its ring is
            # joining (4.1-behaviour.md, "bootstrap"); the real check is racy,
            # the sim's is not, so an overlap the orchestrator allowed shows.
            busy = [x["name"] for x in c["nodes"] if x["name"] != name and x.get("up")
                    and x.get("ring", MAIN_RING) == n["ring"] and x.get("status") == "Joining"
                    and x.get("joining_until", now + 1) > now]
            if busy:
                raise SimError("%s: Other bootstrapping/leaving/moving nodes detected, cannot "
                               "bootstrap while cassandra.consistent.rangemovement is true (%s)"
                               % (name, ", ".join(busy)))
        if n.get("status") == "Joining" and not replace and not jvm_replace:
            # A restart in the middle of a join resumes it: journaled too.
            c.setdefault("joins", []).append({"name": name, "start": now, "until": now + boot})
        if n.get("status") == "Joining" and boot > 0:
            n["joining_until"] = now + boot
        else:
            n["status"] = "Normal"
            n.pop("joining_until", None)
        n.update(up=True, drained=False, gossip=True, binary=True)
        if installed:
            # The version installed while it was down is what runs now.
            n["release_version"] = installed
            if release_family(installed):
                n["version"] = release_family(installed)
    with locked_node(ndir) as nj2:
        # Real Cassandra keeps its generation in system.local and makes
        # each start's strictly greater than the last (max(now, last + 1)),
        # even for two starts in one second: what tells a restart apart.
        gen = max(int(now), int(nj2.get("generation", 0)) + 1)
        nj2.update(up=True, drained=False, state="running", status=n["status"], started_at=now,
                   generation=gen, joined=True, seeds=seeds)
        if installed:
            nj2["release_version"] = installed
            if release_family(installed):
                nj2["version"] = release_family(installed)
        if jvm_replace:
            nj2["tokens"] = list(n["tokens"])
        nj2.pop("replace_address", None)
        nj2["system_dirty"] = sorted(set(nj2.get("system_dirty", [])) |
                                     {"%s.%s" % kt for kt in CHURN_TABLES})
        nj2["system_flushed_at"] = {}
    return n


def read_jvm_replace(ndir):
    """The address of an active -Dcassandra.replace_address_first_boot= line in the node's
    jvm options (the agent writes conf/jvm-server.options), or None."""
    for f in ("jvm-server.options", "jvm.options", "jvm11-server.options"):
        try:
            with open(os.path.join(ndir, "conf", f)) as fh:
                for ln in fh:
                    ln = ln.strip()
                    key = "-Dcassandra.replace_address_first_boot="
                    if ln.startswith(key) and ln[len(key):].strip():
                        return ln[len(key):].strip()
        except FileNotFoundError:
            continue
    return None


def record_ghost(c, dead, new):
    """Real 4.1: after a replacement by a host with another address, live peers keep the
    dead address's system.peers_v2 row (its host id, the tokens the new node took),
    invisible while the new node lives, until `nodetool assassinate` of the address
    (docs/lifecycle.md, "Cassandra 4.1 and replaced addresses").  Kept in cluster.json
    "ghosts" so tests can see whether the product cleared it."""
    if dead["address"] == new["address"]:
        return
    c.setdefault("ghosts", {})[dead["address"]] = {
        "host_id": dead.get("host_id"), "by": new["name"],
        "holders": sorted(x["name"] for x in c["nodes"] if x.get("up")
                          and x["name"] not in (dead["name"], new["name"]))}


def settle_joining(cluster_dir, cluster):
    """Joining nodes whose bootstrap time has passed become Normal (persisted)."""
    now = time.time()
    due = [n["name"] for n in cluster["nodes"]
           if n.get("status") == "Joining" and n.get("up") and n.get("joining_until", now + 1) <= now]
    if not due:
        return cluster
    with locked_cluster(cluster_dir) as c:
        for n in c["nodes"]:
            if n["name"] in due:
                n["status"] = "Normal"
                n.pop("joining_until", None)
        # A replacement that has streamed: the dead node leaves the ring, the new one shows.
        repl = {n.pop("replacing"): n for n in c["nodes"] if n["name"] in due and n.get("replacing")}
        for dead in c["nodes"]:
            if dead["address"] in repl and dead["name"] != repl[dead["address"]]["name"]:
                record_ghost(c, dead, repl[dead["address"]])
        c["nodes"] = [n for n in c["nodes"] if n["address"] not in repl
                      or n["name"] == repl[n["address"]]["name"]]
    return load_cluster(cluster_dir)


def stop_cassandra(cluster_dir, name):
    time.sleep(float(load_node(node_dir(cluster_dir, name)).get("stop_delay", 0) or 0))
    set_node_state(cluster_dir, name, up=False, state="stopped")


def release_family(release):
    """"4.1.3" -> "4.1" when the sim imitates that family, else None."""
    m = re.match(r"^(\d+)\.(\d+)", release or "")
    fam = "%s.%s" % (m.group(1), m.group(2)) if m else None
    return fam if fam in VERSIONS else None


def install_version(cluster_dir, name, release):
    """What an upgrade_command does: install Cassandra `release` on the node.  Like a
    package upgrade, the running process keeps its version; the new one runs from the
    next start (nodetool version, describecluster)."""
    if not re.match(r"^\d+\.\d+(\.\d+)?(-[0-9A-Za-z.]+)?$", release or ""):
        raise SimError("install-version: %r is not a Cassandra version" % release)
    with locked_node(node_dir(cluster_dir, name)) as nj:
        nj["installed_release"] = release
        nj.setdefault("installs", []).append({"release": release, "at": time.time(),
                                              "running": nj.get("state") == "running"})


def start_node(cluster_dir, name, agent=None, timeout=10.0):
    start_sshd(cluster_dir, name, timeout=timeout)
    start_cassandra(cluster_dir, name)
    start_agent(cluster_dir, name, agent)


def stop_node(cluster_dir, name):
    stop_agent(cluster_dir, name)
    stop_cassandra(cluster_dir, name)
    stop_sshd(cluster_dir, name)


def kill_node(cluster_dir, name):
    """The node dies: DN, and every process of it is killed at once."""
    ndir = node_dir(cluster_dir, name)
    set_node_state(cluster_dir, name, up=False, state="killed")
    stop_agent(cluster_dir, name, hard=True)
    stop_sshd(cluster_dir, name, hard=True)
    for p in node_pids(ndir):
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass


FAULT_MODES = ("none", "hang", "fail", "garbage", "slow", "snapshot-partial")


def set_fault(cluster_dir, name, mode, command=None, delay=None, message=None):
    """Store a nodetool fault in node.json.  snapshot-partial[:N]: `snapshot` snapshots N
    tables (default 1), then fails like a real server error (exit 2) without touching
    the others."""
    tables = None
    if mode.startswith("snapshot-partial"):
        base, _, num = mode.partition(":")
        if base != "snapshot-partial" or (num and not num.isdigit()):
            raise SimError("bad fault %r: snapshot-partial[:N], N tables done before the failure" % mode)
        mode, tables = "snapshot-partial", int(num or 1)
        if command and command != "snapshot":
            raise SimError("snapshot-partial applies to the snapshot command only")
        command = "snapshot"
    if mode not in FAULT_MODES:
        raise SimError("unknown fault mode %r (have %s, snapshot-partial:N)" % (mode, ", ".join(FAULT_MODES)))
    with locked_node(node_dir(cluster_dir, name)) as nj:
        f = {"mode": mode}
        if tables is not None:
            f["tables"] = tables
        if command:
            f["command"] = command
        if delay is not None:
            f["delay"] = float(delay)
        if message:
            f["message"] = message
        nj["fault"] = f


KNOBS = {
    # name: (type, check, help)
    "nodetool_delay_ms": (int, lambda v: v >= 0, "ms every nodetool call sleeps first (real: 600-1200)"),
    "flush_size": (int, lambda v: v > 0, "bytes of Data.db per flushed SSTable"),
    "repair_delay": (float, lambda v: v >= 0, "seconds per repair session"),
    "repair_slow_count": (int, lambda v: v >= 0, "the next N -st/-et repairs are slow"),
    "repair_slow_delay": (float, lambda v: v >= 0, "seconds a slow -st/-et repair takes more"),
    "drain_delay": (float, lambda v: v >= 0, "seconds drain takes"),
    "incremental_backups": (bool, lambda v: True, "hard-link flushed/imported SSTables into backups/"),
    "percent_repaired": (float, lambda v: 0 <= v <= 100, "info/tablestats Percent repaired"),
    "release_version": (str, lambda v: bool(v), "version string nodetool reports"),
    "bootstrap_seconds": (float, lambda v: v >= 0, "seconds a started Joining node stays UJ"),
    "system_churn": (bool, lambda v: True, "system tables get SSTables on flush/snapshot"),
    "system_churn_interval": (float, lambda v: v >= 0, "s after which sstable_activity has new data (5)"),
    "start_delay": (float, lambda v: v >= 0, "seconds start-cassandra takes before the node is UN"),
    "stop_delay": (float, lambda v: v >= 0, "seconds stop-cassandra takes before the node is down"),
    "pending_compactions": (int, lambda v: v >= 0, "compactionstats pending tasks"),
    "upgradesstables_delay": (float, lambda v: v >= 0, "seconds upgradesstables takes"),
}
KNOBS.update({
    "decommission_seconds": (float, lambda v: v >= 0, "seconds decommission keeps the node UL (0.5)"),
    "cleanup_seconds": (float, lambda v: v >= 0, "seconds each cleanup takes (0)"),
    "load_extra": (int, lambda v: v >= 0, "bytes added to the node's Load (disk-space checks)"),
})
KNOBS.update({
    "auto_repair": (str, lambda v: v == "off" or (bool(v) and all(
        t in ("full", "incremental", "preview_repaired") for t in v.split(","))),
        "CEP-37 auto-repair (trunk): 'off' or the types it runs (full,incremental,"
        "preview_repaired); unset: no getautorepairconfig, as 4.1"),
})


def set_load(cluster_dir, name, keyspace, reads, writes, now=None):
    """Clients read `reads` and write `writes` rows a second on the node's keyspace from now
    on (0 0: no more).  tablestats counts them as Cassandra does: each table's Local read /
    write count since the node's Cassandra started (a restart resets them to 0), the
    keyspace's Read / Write Count the sum of its tables'.  The rate is spread evenly over
    the keyspace's tables; what a previous rate counted is kept (node.json `load`)."""
    if not isinstance(reads, (int, float)) or not isinstance(writes, (int, float)) or \
            isinstance(reads, bool) or isinstance(writes, bool) or reads < 0 or writes < 0:
        raise SimError("load: reads and writes are rates >= 0 per second, not %r %r" % (reads, writes))
    cluster = load_cluster(cluster_dir)
    kd = cluster["keyspaces"].get(keyspace)
    if kd is None:
        raise SimError("load: no keyspace %r (have %s)" % (keyspace, ", ".join(sorted(cluster["keyspaces"]))))
    now = time.time() if now is None else now
    with locked_node(node_dir(cluster_dir, name)) as nj:
        tables = sorted(kd["tables"])
        counted = load_counts(nj, keyspace, tables, now, exact=True)
        nj.setdefault("load", {})[keyspace] = {
            "reads": float(reads), "writes": float(writes), "since": now,
            "started_at": nj.get("started_at"), "counted": counted}


def load_counts(nj, keyspace, tables, now, exact=False):
    """{table: [reads, writes]} counted since the node's Cassandra started, from node.json's
    `load` (whole numbers unless exact: what set_load carries over to the next rate)."""
    e = (nj.get("load") or {}).get(keyspace)
    out = {t: [0.0, 0.0] for t in tables}
    if not e or not tables:
        return out if exact else {t: [0, 0] for t in tables}
    if e.get("started_at") != nj.get("started_at"):
        # started again since the rate was set: the counts begin at that start
        counted, since = {}, float(nj.get("started_at") or now)
    else:
        counted, since = e.get("counted") or {}, float(e["since"])
    dt = max(0.0, now - since)
    for t in tables:
        r0, w0 = counted.get(t, [0.0, 0.0])
        out[t] = [r0 + e["reads"] / len(tables) * dt, w0 + e["writes"] / len(tables) * dt]
    return out if exact else {t: [int(r), int(w)] for t, (r, w) in out.items()}


def set_knob(cluster_dir, name, key, value):
    """Set one node.json knob, checked against KNOBS (unknown keys are refused)."""
    if key not in KNOBS:
        raise SimError("unknown knob %r (have %s)" % (key, ", ".join(sorted(KNOBS))))
    typ, ok, _ = KNOBS[key]
    if typ is bool:
        good = isinstance(value, bool)
    elif typ is float:
        good = isinstance(value, (int, float)) and not isinstance(value, bool)
    else:
        good = isinstance(value, typ) and not isinstance(value, bool)
    if not good or not ok(value):
        raise SimError("knob %s: bad value %r (%s)" % (key, value, KNOBS[key][2]))
    with locked_node(node_dir(cluster_dir, name)) as nj:
        nj[key] = value


def write_seeds(ndir, seeds):
    nj = load_node(ndir)
    path = os.path.join(ndir, "conf", "cassandra.yaml")
    with open(path) as f:
        lines = f.read().splitlines()
    out, done = [], False
    for ln in lines:
        if not done and SEEDS_RE.match(ln) and not ln.lstrip().startswith("#"):
            out.append(seeds_line(nj["version"], seeds))
            done = True
        else:
            out.append(ln)
    if not done:
        raise SimError("%s has no seeds line to rewrite" % path)
    atomic_write(path, "\n".join(out) + "\n")


def cluster_status_lines(cluster_dir):
    c = load_cluster(cluster_dir)
    lines = ["cluster %s  version %s  ssh port %s" % (c["cluster_name"], c["version"], c["ssh_port"])]
    for n in c["nodes"]:
        ndir = node_dir(cluster_dir, n["name"])
        pid = read_pid(os.path.join(ndir, "sshd.pid"))
        sshd = "sshd:up" if pid and pid_alive(pid) else "sshd:down"
        apid = read_pid(os.path.join(ndir, "agent.pid"))
        agent = "agent:up" if apid and pid_alive(apid) else "agent:-"
        st = ("U" if n.get("up") and not n.get("drained") else "D") + n.get("status", "Normal")[0]
        lines.append("%-8s %-15s %-12s %-8s %s %s %s %s %s" % (
            n["name"], n["address"], n["dc"], n["rack"], st, n["version"], sshd, agent,
            stringify_file_size(node_load(ndir))))
    return lines


# ---------------------------------------------------------------------------
# a convenience object for tests
# ---------------------------------------------------------------------------

class SimCluster:
    """Handle on a simulated cluster for Python tests.

        with SimCluster.create(tmp_path / "c", nodes=3, version="4.1") as c:
            c.start_all()
            r = c.nodetool("node1", "status")
            r = c.ssh("node2", c.nodetool_path("node2") + " info")
            c.kill("node3")
        # leaving the block stops every process the cluster started
    """

    def __init__(self, cluster_dir):
        self.dir = os.path.abspath(str(cluster_dir))

    @classmethod
    def create(cls, cluster_dir, **kw):
        create_cluster(str(cluster_dir), **kw)
        return cls(cluster_dir)

    # state
    @property
    def state(self):
        return load_cluster(self.dir)

    @property
    def ssh_port(self):
        return self.state["ssh_port"]

    @property
    def names(self):
        return [n["name"] for n in self.state["nodes"]]

    @property
    def key(self):
        return os.path.join(self.dir, "ssh", "id_ed25519")

    def node(self, name):
        return load_node(node_dir(self.dir, name))

    def node_dir(self, name):
        return node_dir(self.dir, name)

    def address(self, name):
        return find_node(self.state, name)["address"]

    def nodetool_path(self, name):
        return os.path.join(self.node_dir(name), "bin", "nodetool")

    def data_dir(self, name):
        return data_file_directory(self.node_dir(name))

    def table_dir(self, name, ks, table):
        tid = self.state["keyspaces"][ks]["tables"][table]["id"]
        return table_path(self.node_dir(name), ks, table, tid)

    # lifecycle
    def start(self, name, agent=None):
        start_node(self.dir, name, agent)

    def start_all(self, agent=None):
        for n in self.names:
            self.start(n, agent)

    def stop(self, name):
        stop_node(self.dir, name)

    def kill(self, name):
        kill_node(self.dir, name)

    def start_cassandra(self, name):
        start_cassandra(self.dir, name)

    def stop_cassandra(self, name):
        stop_cassandra(self.dir, name)

    def fault(self, name, mode, command=None, delay=None, message=None):
        set_fault(self.dir, name, mode, command, delay, message)

    def set(self, name, key, value):
        """Set a node.json knob (see README: nodetool_delay_ms, flush_size, ...)."""
        set_knob(self.dir, name, key, value)

    def load(self, name, keyspace, reads, writes):
        """Client reads and writes a second on the node's keyspace (tablestats counts)."""
        set_load(self.dir, name, keyspace, reads, writes)

    def seeds(self, name):
        return read_seeds(self.node_dir(name))

    def set_seeds(self, name, seeds):
        """Rewrite the seeds in the node's cassandra.yaml (read at its next start)."""
        write_seeds(self.node_dir(name), seeds)

    def live_sstables(self, name, ks, table):
        return live_sstables(self.node_dir(name), self.table_dir(name, ks, table))

    def add_node(self, name, **kw):
        return add_node(self.dir, name, **kw)

    def add_keyspace(self, ks, replication, tables, **kw):
        add_keyspace(self.dir, ks, replication, tables, **kw)

    def cleanup(self):
        """Stop every process of every node (hard).  Safe to call twice."""
        # Every node directory: a replaced node has left cluster.json.
        try:
            names = sorted(set(self.names) | set(os.listdir(os.path.join(self.dir, "nodes"))))
        except FileNotFoundError:
            return
        for n in names:
            try:
                stop_agent(self.dir, n, hard=True)
            except Exception:
                pass
            try:
                stop_sshd(self.dir, n, hard=True)
            except Exception:
                pass
            for p in node_pids(self.node_dir(n)):
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    # running things
    def nodetool(self, name, *args, timeout=30, input=None):
        return subprocess.run([self.nodetool_path(name)] + [str(a) for a in args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout, input=input)

    def ssh_argv(self, name, command):
        return ["ssh", "-i", self.key, "-p", str(self.ssh_port),
                "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "BatchMode=yes", "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=5",
                "root@%s" % self.address(name), command]

    def ssh(self, name, command, timeout=30):
        return subprocess.run(self.ssh_argv(name, command), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
