"""Simulated `nodetool` for Ringmaster's tests (run through the launcher
tests/sim/nodetool): prints what Apache Cassandra's nodetool
prints for the version the node imitates (3.11, 4.0, 4.1, 5.0).

Which node: `nodetool --sim-node NODE_DIR <nodetool args>` (the generated
NODE_DIR/bin/nodetool wrapper does this) or the RINGSIM_NODE environment variable.
Connection flags (-h -p -u -pw -pwf) are accepted and ignored, like a local JMX call.
"""

import os
import random
import sys
import time
import datetime
import json

sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
import simlib as S  # noqa: E402
shutil = S.shutil  # noqa: E305 - lazy (simlib._Lazy)


# ---------------------------------------------------------------------------
# errors, stack traces
# ---------------------------------------------------------------------------

class Usage(Exception):
    """A usage error: `nodetool: <msg>` + help hint on stdout, exit 1."""


class ServerError(Exception):
    """An error from the server: `error: <msg>`, -- StackTrace --, trace on stderr, exit 2."""

    def __init__(self, msg, exc="java.lang.RuntimeException", frames=None):
        Exception.__init__(self, msg)
        self.msg = msg
        self.exc = exc
        self.frames = frames if frames is not None else JMX_FRAMES


class Exit(Exception):
    def __init__(self, code):
        Exception.__init__(self, code)
        self.code = code


JMX_FRAMES = """java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)
java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke(NativeMethodAccessorImpl.java:77)
java.base/jdk.internal.reflect.DelegatingMethodAccessorImpl.invoke(DelegatingMethodAccessorImpl.java:43)
java.base/java.lang.reflect.Method.invoke(Method.java:569)
sun.reflect.misc.Trampoline.invoke(MethodUtil.java:72)
jdk.internal.reflect.GeneratedMethodAccessor3.invoke(Unknown Source)
java.base/jdk.internal.reflect.DelegatingMethodAccessorImpl.invoke(DelegatingMethodAccessorImpl.java:43)
java.base/java.lang.reflect.Method.invoke(Method.java:569)
java.base/sun.reflect.misc.MethodUtil.invoke(MethodUtil.java:262)
java.management/com.sun.jmx.mbeanserver.StandardMBeanIntrospector.invokeM2(StandardMBeanIntrospector.java:112)
java.management/com.sun.jmx.mbeanserver.StandardMBeanIntrospector.invokeM2(StandardMBeanIntrospector.java:46)
java.management/com.sun.jmx.mbeanserver.MBeanIntrospector.invokeM(MBeanIntrospector.java:237)
java.management/com.sun.jmx.mbeanserver.PerInterface.invoke(PerInterface.java:138)
java.management/com.sun.jmx.mbeanserver.MBeanSupport.invoke(MBeanSupport.java:252)
java.management/com.sun.jmx.interceptor.DefaultMBeanServerInterceptor.invoke(DefaultMBeanServerInterceptor.java:814)
java.management/com.sun.jmx.mbeanserver.JmxMBeanServer.invoke(JmxMBeanServer.java:802)
java.management.rmi/javax.management.remote.rmi.RMIConnectionImpl.doOperation(RMIConnectionImpl.java:1472)
java.management.rmi/javax.management.remote.rmi.RMIConnectionImpl$PrivilegedOperation.run(RMIConnectionImpl.java:1310)
java.management.rmi/javax.management.remote.rmi.RMIConnectionImpl.doPrivilegedOperation(RMIConnectionImpl.java:1405)
java.management.rmi/javax.management.remote.rmi.RMIConnectionImpl.invoke(RMIConnectionImpl.java:829)
java.base/jdk.internal.reflect.GeneratedMethodAccessor8.invoke(Unknown Source)
java.base/jdk.internal.reflect.DelegatingMethodAccessorImpl.invoke(DelegatingMethodAccessorImpl.java:43)
java.base/java.lang.reflect.Method.invoke(Method.java:569)
java.rmi/sun.rmi.server.UnicastServerRef.dispatch(UnicastServerRef.java:360)
java.rmi/sun.rmi.transport.Transport$1.run(Transport.java:200)
java.rmi/sun.rmi.transport.Transport$1.run(Transport.java:197)
java.base/java.security.AccessController.doPrivileged(AccessController.java:712)
java.rmi/sun.rmi.transport.Transport.serviceCall(Transport.java:196)
java.rmi/sun.rmi.transport.tcp.TCPTransport.handleMessages(TCPTransport.java:587)
java.rmi/sun.rmi.transport.tcp.TCPTransport$ConnectionHandler.run0(TCPTransport.java:828)
java.rmi/sun.rmi.transport.tcp.TCPTransport$ConnectionHandler.lambda$run$0(TCPTransport.java:705)
java.base/java.security.AccessController.doPrivileged(AccessController.java:399)
java.rmi/sun.rmi.transport.tcp.TCPTransport$ConnectionHandler.run(TCPTransport.java:704)
java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1136)
java.base/java.util.concurrent.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:635)
java.base/java.lang.Thread.run(Thread.java:840)""".splitlines()

REPAIR_FRAMES = """org.apache.cassandra.tools.RepairRunner.progress(RepairRunner.java:137)
org.apache.cassandra.utils.progress.jmx.JMXNotificationProgressListener.handleNotification(JMXNotificationProgressListener.java:77)
java.management/com.sun.jmx.remote.internal.ClientNotifForwarder$NotifFetcher.dispatchNotification(ClientNotifForwarder.java:636)
java.management/com.sun.jmx.remote.internal.ClientNotifForwarder$NotifFetcher.doRun(ClientNotifForwarder.java:558)
java.management/com.sun.jmx.remote.internal.ClientNotifForwarder$NotifFetcher.run(ClientNotifForwarder.java:477)
java.management/com.sun.jmx.remote.internal.ClientNotifForwarder$LinearExecutor.lambda$execute$0(ClientNotifForwarder.java:109)
java.base/java.lang.Thread.run(Thread.java:840)""".splitlines()


def client_frames(cls, line):
    return ["org.apache.cassandra.tools.nodetool.%s.execute(%s.java:%d)" % (cls, cls, line),
            "org.apache.cassandra.tools.NodeTool$NodeToolCmd.runInternal(NodeTool.java:371)",
            "org.apache.cassandra.tools.NodeTool$NodeToolCmd.run(NodeTool.java:356)",
            "org.apache.cassandra.tools.NodeTool.execute(NodeTool.java:259)",
            "org.apache.cassandra.tools.NodeTool.main(NodeTool.java:83)"]


def server_frames(*top):
    return list(top) + JMX_FRAMES


def java8(frame):
    """Cassandra 3.11 runs on Java 8: no module prefixes, sun.reflect accessors."""
    for mod in ("java.base/", "java.management.rmi/", "java.management/", "java.rmi/"):
        if frame.startswith(mod):
            frame = frame[len(mod):]
    frame = frame.replace("jdk.internal.reflect.", "sun.reflect.")
    frame = frame.replace("Thread.java:840", "Thread.java:748")
    return frame


def gen_uuid():
    return str(S.time_uuid())


# ---------------------------------------------------------------------------
# context
# ---------------------------------------------------------------------------

class Ctx:
    def __init__(self, ndir, print_port=False):
        self.ndir = os.path.abspath(ndir)
        self.nj = S.load_node(self.ndir)
        self.cdir = self.nj["cluster_dir"]
        cluster = S.settle_joining(self.cdir, S.load_cluster(self.cdir))
        me = S.find_node(cluster, self.nj["name"])
        # A node sees only the ring it joined (a fresh node that seeded itself forms its
        # own); a ring other than the cluster's main one holds no user keyspaces.
        ring = me.get("ring", S.MAIN_RING)
        # A node replacing another is invisible in status until it has streamed (real 4.1:
        # only the dead node shows, DN); it appears UN when its replacement is done.
        # A node removed (removenode) is in no view.
        cluster["nodes"] = [n for n in cluster["nodes"] if n.get("ring", S.MAIN_RING) == ring
                            and not n.get("replacing") and not n.get("removed")]
        if ring != S.MAIN_RING:
            cluster["keyspaces"] = {k: v for k, v in cluster["keyspaces"].items() if v.get("system")}
        self.cluster = cluster
        self.me = me
        self.ver = self.nj["version"]
        self.print_port = print_port
        self.out = sys.stdout

    @property
    def v3(self):
        return self.ver == "3.11"

    def at_least(self, v):
        return tuple(int(x) for x in self.ver.split(".")) >= tuple(int(x) for x in v.split("."))

    def w(self, text):
        self.out.write(text)

    def line(self, text=""):
        self.out.write(text + "\n")
        self.out.flush()

    def ks(self):
        return self.cluster["keyspaces"]

    def node_up(self, n):
        return bool(n.get("up")) and not n.get("drained") and n.get("gossip", True)

    def endpoint(self, n):
        return "/" + n["address"] + ("" if self.v3 else ":7000")

    def addr(self, n):
        return n["address"] + (":7000" if self.print_port and not self.v3 else "")

    def nodedir_of(self, n):
        return S.node_dir(self.cdir, n["name"])

    def server_error(self, msg, exc="java.lang.RuntimeException", frames=None):
        return ServerError(msg, exc, frames)

    def table_dirs(self, keyspaces=None, tables=None, system=True):
        """[(ks, table, dir)] for the given keyspaces (all if None)."""
        out = []
        for ks, kd in self.ks().items():
            if keyspaces is not None and ks not in keyspaces:
                continue
            if not system and kd.get("system"):
                continue
            for t, td in kd["tables"].items():
                if tables and t not in tables:
                    continue
                out.append((ks, t, S.table_path(self.ndir, ks, t, td["id"])))
        return out

    def save_node(self, **fields):
        with S.locked_node(self.ndir) as nj:
            nj.update(fields)
        self.nj.update(fields)


def ts():
    now = time.time()
    return datetime.datetime.fromtimestamp(now).strftime("%Y-%m-%d %H:%M:%S") + ",%03d" % (int(now * 1000) % 1000)


def system_log(ctx, source, msg, level="INFO"):
    """Append a line to the node's logs/system.log in Cassandra's logback layout."""
    now = time.time()
    stamp = datetime.datetime.fromtimestamp(now).strftime("%Y-%m-%d %H:%M:%S") + ",%03d" % (int(now * 1000) % 1000)
    line = "%-5s [RMI TCP Connection(%d)-127.0.0.1] %s %s - %s\n" % (level, os.getpid() % 1000, stamp, source, msg)
    try:
        os.makedirs(os.path.join(ctx.ndir, "logs"), exist_ok=True)
        with open(os.path.join(ctx.ndir, "logs", "system.log"), "a") as f:
            f.write(line)
    except OSError:
        pass


def jlist(items):
    return "[" + ", ".join(str(i) for i in items) + "]"


def duration_words(ms):
    """DurationFormatUtils.formatDurationWords(ms, true, true)."""
    secs = int(ms // 1000)
    days, secs = divmod(secs, 86400)
    hours, secs = divmod(secs, 3600)
    mins, secs = divmod(secs, 60)
    parts = [(days, "day"), (hours, "hour"), (mins, "minute"), (secs, "second")]
    while len(parts) > 1 and parts[0][0] == 0:
        parts.pop(0)
    while len(parts) > 1 and parts[-1][0] == 0:
        parts.pop()
    return " ".join("%d %s%s" % (v, u, "" if v == 1 else "s") for v, u in parts)


def table_fmt(rows, delim):
    """TableBuilder: every cell padded to its column width (the last one too)."""
    widths = [0] * max(len(r) for r in rows)
    for r in rows:
        for i, c in enumerate(r):
            widths[i] = max(widths[i], len(c))
    out = []
    for r in rows:
        cells = [(r[i] if i < len(r) else "").ljust(widths[i]) for i in range(len(widths))]
        out.append(delim.join(cells))
    return out


def check_keyspace(ctx, ks):
    if ks not in ctx.ks():
        raise Usage("Keyspace [%s] does not exist." % ks)


def check_tables(ctx, ks, tables):
    for t in tables:
        if t not in ctx.ks()[ks]["tables"]:
            raise ServerError("Unknown keyspace/cf pair (%s.%s)" % (ks, t), "java.lang.IllegalArgumentException",
                              server_frames("org.apache.cassandra.db.Keyspace.getColumnFamilyStore(Keyspace.java:199)",
                                            "org.apache.cassandra.service.StorageService.getValidColumnFamilies(StorageService.java:3722)"))


# ---------------------------------------------------------------------------
# status / info / describecluster / ring / version
# ---------------------------------------------------------------------------

def ownership(ctx, ks):
    """(ownership map or None, error-note string)"""
    if ks:
        kd = ctx.ks()[ks]
        if kd["replication"]["class"] == "LocalStrategy":
            return None, "Note: Ownership values for keyspaces with LocalStrategy are meaningless\n"
        return S.effective_ownership(ctx.cluster, ks), ""
    try:
        k = S.ownership_keyspace(ctx.cluster)
    except ValueError as e:
        return None, "Note: %s\n" % e
    return S.effective_ownership(ctx.cluster, k), ""


def node_loads(ctx):
    return {n["name"]: S.node_load(ctx.nodedir_of(n)) for n in ctx.cluster["nodes"]}


def ip_key(n):
    return tuple(int(x) for x in n["address"].split("."))


def state_letter(n):
    return {"Normal": "N", "Leaving": "L", "Joining": "J", "Moving": "M"}.get(n.get("status", "Normal"), "N")


def cmd_status(ctx, o, args):
    if len(args) > 1:
        raise Usage("Found unexpected parameters: %s" % jlist(args[1:]))
    ks = args[0] if args else None
    if ks and ks not in ctx.ks():
        ctx.w("\nError: The keyspace %s, does not exist\n" % ks)
        raise Exit(1)
    own, errors = ownership(ctx, ks)
    eff = own is not None
    loads = node_loads(ctx)
    dcs = {}
    for n in ctx.cluster["nodes"]:
        dcs.setdefault(n["dc"], []).append(n)
    owns_hdr = "Owns (effective)" if eff else "Owns"

    def row(n):
        st = ("U" if ctx.node_up(n) else "D") + state_letter(n)
        ow = ("%.1f%%" % (own[n["name"]] * 100)) if eff else "?"
        return [st, ctx.addr(n), S.stringify_file_size(loads[n["name"]]), str(len(n["tokens"])), ow,
                n["host_id"], n["rack"]]

    if ctx.v3:
        maxaddr = max(len(ctx.addr(n)) for n in ctx.cluster["nodes"])
        fmt = "%%s  %%-%ds  %%-9s  %%-11s  %%-%ds  %%-36s  %%s\n" % (maxaddr, 16 if eff else 6)
        for dc in sorted(dcs):
            hdr = "Datacenter: %s" % dc
            ctx.w(hdr + "\n" + "=" * len(hdr) + "\n")
            ctx.w("Status=Up/Down\n|/ State=Normal/Leaving/Joining/Moving\n")
            ctx.w(fmt % ("--", "Address", "Load", "Tokens", owns_hdr, "Host ID", "Rack"))
            for n in sorted(dcs[dc], key=ip_key):
                ctx.w(fmt % tuple(row(n)))
        ctx.w("\n" + errors)
        return
    # 4.0+: TableBuilder shared between datacenters, two-space delimiter
    blocks = []
    allrows = []
    for dc in sorted(dcs):
        rows = [["--", "Address", "Load", "Tokens", owns_hdr, "Host ID", "Rack"]]
        rows += [row(n) for n in sorted(dcs[dc], key=ip_key)]
        blocks.append((dc, len(rows)))
        allrows += rows
    lines = table_fmt(allrows, "  ")
    i = 0
    first = True
    for dc, cnt in blocks:
        if not first:
            ctx.w("\n")
        first = False
        hdr = "Datacenter: %s" % dc
        ctx.w(hdr + "\n" + "=" * len(hdr) + "\n")
        ctx.w("Status=Up/Down\n|/ State=Normal/Leaving/Joining/Moving\n")
        for ln in lines[i:i + cnt]:
            ctx.w(ln + "\n")
        i += cnt
    ctx.w("\n" + errors)


def cmd_info(ctx, o, args):
    nj, me = ctx.nj, ctx.me
    now = time.time()
    load = S.node_load(ctx.ndir)
    up = not me.get("drained")
    lines = []

    def add(label, value):
        lines.append("%-23s: %s" % (label, value))

    add("ID", me["host_id"])
    add("Gossip active", "true" if up and me.get("gossip", True) else "false")
    if ctx.v3:
        add("Thrift active", "false")
    add("Native Transport active", "true" if up and me.get("binary", True) else "false")
    add("Load", S.stringify_file_size(load))
    add("Generation No", nj.get("generation", int(now)))
    add("Uptime (seconds)", max(0, int(now - nj.get("started_at", now))))
    rnd = random.Random(me["host_id"])
    heap_max = 512.0 if not ctx.v3 else 975.13
    add("Heap Memory (MB)", "%.2f / %.2f" % (rnd.uniform(90, 300), heap_max))
    add("Off Heap Memory (MB)", "%.2f" % (load / 1048576.0 * 0.002))
    add("Data Center", me["dc"])
    add("Rack", me["rack"])
    add("Exceptions", 0)
    entries = rnd.randrange(10, 60)
    hits = rnd.randrange(100, 400)
    req = hits + rnd.randrange(20, 100)
    add("Key Cache", "entries %d, size %s, capacity %s, %d hits, %d requests, %.3f recent hit rate, "
        "14400 save period in seconds" % (entries, S.stringify_file_size(entries * 88),
                                          "48 MiB" if ctx.v3 else "25 MiB", hits, req, hits / req))
    add("Row Cache", "entries 0, size 0 bytes, capacity 0 bytes, 0 hits, 0 requests, NaN recent hit rate, "
        "0 save period in seconds")
    add("Counter Cache", "entries 0, size 0 bytes, capacity %s, 0 hits, 0 requests, NaN recent hit rate, "
        "7200 save period in seconds" % ("24 MiB" if ctx.v3 else "12 MiB"))
    if ctx.ver in ("3.11", "4.0"):
        add("Chunk Cache", "entries 20, size 1.25 MiB, capacity 211 MiB, 138 misses, 898 requests, "
            "0.846 recent hit rate, NaN microseconds miss latency")
    if ctx.ver == "5.0":
        add("Network Cache", "size 8 MiB, overflow size: 0 bytes, capacity 128 MiB")
    add("Percent Repaired", repr(float(nj.get("percent_repaired", 0.0))) + "%")
    if o.get("tokens"):
        for t in me["tokens"]:
            add("Token", t)
    else:
        add("Token", "(invoke with -T/--tokens to see all %d tokens)" % len(me["tokens"]))
    if ctx.ver == "5.0":
        add("Bootstrap state", "COMPLETED" if me.get("status") != "Joining" else "IN_PROGRESS")
        add("Bootstrap failed", "false")
        add("Decommissioning", "true" if me.get("status") == "Leaving" else "false")
        add("Decommission failed", "false")
    ctx.w("".join(l + "\n" for l in lines))


def rep_string(rep):
    cls = rep["class"]
    params = ", ".join("%s=%s" % (k, v) for k, v in rep.items() if k != "class")
    return "Replication class: %s {%s}" % (cls, params)


def cmd_describecluster(ctx, o, args):
    c = ctx.cluster
    nodes = sorted(c["nodes"], key=ip_key)
    live = [n for n in nodes if ctx.node_up(n)]
    down = [n for n in nodes if not ctx.node_up(n)]
    ctx.w("Cluster Information:\n")
    ctx.w("\tName: %s\n" % c["cluster_name"])
    ctx.w("\tSnitch: %s\n" % c["snitch"])
    ctx.w("\tDynamicEndPointSnitch: enabled\n")
    ctx.w("\tPartitioner: %s\n" % c["partitioner"])
    ctx.w("\tSchema versions:\n")
    ctx.w("\t\t%s: %s\n\n" % (c["schema_version"], jlist(n["address"] for n in live)))
    if down:
        ctx.w("\t\tUNREACHABLE: %s\n\n" % jlist(n["address"] for n in down))
    if ctx.v3:
        return
    ctx.w("Stats for all nodes:\n")
    ctx.w("\tLive: %d\n" % len(live))
    ctx.w("\tJoining: %d\n" % sum(1 for n in nodes if n.get("status") == "Joining"))
    ctx.w("\tMoving: %d\n" % sum(1 for n in nodes if n.get("status") == "Moving"))
    ctx.w("\tLeaving: %d\n" % sum(1 for n in nodes if n.get("status") == "Leaving"))
    ctx.w("\tUnreachable: %d\n" % len(down))
    try:
        S.ownership_keyspace(c)
    except ValueError as e:
        ctx.w("Error: %s\n" % e)
    ctx.w("\nData Centers: \n")
    dcs = {}
    for n in nodes:
        dcs.setdefault(n["dc"], []).append(n)
    for dc in sorted(dcs):
        # Cassandra 4.x compares addresses with and without port here, so #Down stays 0.
        ctx.w("\t%s #Nodes: %d #Down: 0\n" % (dc, len(dcs[dc])))
    ctx.w("\nDatabase versions:\n")
    vers = {}
    for n in nodes:
        vers.setdefault(n.get("release_version", S.VERSIONS[n["version"]]["release"]), []).append(n)
    for v in sorted(vers):
        ctx.w("\t%s: %s\n" % (v, jlist(n["address"] + ":7000" for n in vers[v])))
    ctx.w("\nKeyspaces:\n")
    for ks, kd in c["keyspaces"].items():
        ctx.w("\t%s -> %s\n" % (ks, rep_string(kd["replication"])))


def cmd_ring(ctx, o, args):
    if len(args) > 1:
        raise Usage("Found unexpected parameters: %s" % jlist(args[1:]))
    ks = args[0] if args else None
    if ks and ks not in ctx.ks():
        ctx.w("\nError: The keyspace %s, does not exist\n" % ks)
        raise Exit(1)
    own, errors = ownership(ctx, ks)
    loads = node_loads(ctx)
    members = S.ring_members(ctx.cluster)
    by_name = {n["name"]: n for n in ctx.cluster["nodes"]}
    if ctx.at_least("4.1"):
        maxaddr = max(len(n["address"] + ":7000") for n in members)
    else:
        maxaddr = max(len(n["address"]) for n in members)
    fmt = "%%-%ds  %%-12s%%-7s%%-8s%%-16s%%-20s%%-44s\n" % maxaddr
    vnodes = any(len(n["tokens"]) > 1 for n in members)
    ctx.w("\n")
    dcs = {}
    for n in members:
        dcs.setdefault(n["dc"], []).append(n)
    for dc in sorted(dcs):
        ring = sorted((t, n["name"]) for n in dcs[dc] for t in n["tokens"])
        ctx.w("Datacenter: %s\n==========\n" % dc)
        ctx.w(fmt % ("Address", "Rack", "Status", "State", "Load", "Owns", "Token"))
        if len(ring) > 1:
            ctx.w(fmt % ("", "", "", "", "", "", ring[-1][0]))
        else:
            ctx.w("\n")
        for t, name in ring:
            n = by_name[name]
            ow = ("%.2f%%" % (own[name] * 100)) if own is not None else "?"
            ctx.w(fmt % (ctx.addr(n), n["rack"], "Up" if ctx.node_up(n) else "Down",
                         n.get("status", "Normal"), S.stringify_file_size(loads[name]), ow, t))
        ctx.w("\n")
    if vnodes:
        ctx.w("  Warning: \"nodetool ring\" is used to output all the tokens of a node.\n")
        ctx.w("  To view status related info of a node use \"nodetool status\" instead.\n\n")
    ctx.w("\n  " + errors)


def cmd_version(ctx, o, args):
    ctx.w("ReleaseVersion: %s\n" % ctx.nj.get("release_version", S.VERSIONS[ctx.ver]["release"]))


def cmd_statusgossip(ctx, o, args):
    ctx.w("running\n" if not ctx.me.get("drained") and ctx.me.get("gossip", True) else "not running\n")


def cmd_statusbinary(ctx, o, args):
    ctx.w("running\n" if not ctx.me.get("drained") and ctx.me.get("binary", True) else "not running\n")


def cmd_statusbackup(ctx, o, args):
    ctx.w("running\n" if ctx.nj.get("incremental_backups") else "not running\n")


def _set_cluster_field(ctx, **fields):
    S.set_node_state(ctx.cdir, ctx.nj["name"], **fields)


def cmd_enablegossip(ctx, o, args):
    _set_cluster_field(ctx, gossip=True)


def cmd_disablegossip(ctx, o, args):
    _set_cluster_field(ctx, gossip=False)


def cmd_enablebinary(ctx, o, args):
    _set_cluster_field(ctx, binary=True)


def cmd_disablebinary(ctx, o, args):
    _set_cluster_field(ctx, binary=False)


def cmd_enablebackup(ctx, o, args):
    ctx.save_node(incremental_backups=True)


def cmd_disablebackup(ctx, o, args):
    ctx.save_node(incremental_backups=False)


def cmd_drain(ctx, o, args):
    time.sleep(float(ctx.nj.get("drain_delay", 0.05)))
    with S.file_lock(os.path.join(ctx.ndir, ".datalock")):
        system_flush(ctx, set(ctx.ks()))          # drain flushes every memtable
    _set_cluster_field(ctx, drained=True)


def cmd_upgradesstables(ctx, o, args):
    """4.1 prints nothing and exits 0; each run is journaled in node.json (the files
    themselves are not rewritten)."""
    time.sleep(float(ctx.nj.get("upgradesstables_delay", 0.05)))
    with S.locked_node(ctx.ndir) as nj:
        nj.setdefault("upgradesstables_runs", []).append(
            {"at": time.time(), "release": nj.get("release_version", S.VERSIONS[ctx.ver]["release"]),
             "args": list(args)})


def cmd_removenode(ctx, o, args):
    """4.1: `removenode <host id>` of a dead node streams its ranges away
    (about 5 s on the real test cluster) and the node leaves every view;
    of a live node it is refused (captures/removenode*.txt).  The node's
    entry stays in cluster.json marked "removed" (simlib still finds it)."""
    if not args:
        raise Usage("Missing required parameter: <status>|<force>|<ID>")
    if args[0] == "status":
        ctx.w("RemovalStatus: No token removals in process.\n")
        return
    if args[0] == "force":
        ctx.w("RemovalStatus: No token removals in process.\n")
        return
    hid = args[0]
    target = [n for n in ctx.cluster["nodes"] if n.get("host_id") == hid]
    if not target:
        raise ServerError("Host ID not found.", "java.lang.UnsupportedOperationException")
    n = target[0]
    if n["name"] == ctx.me["name"]:
        raise ServerError("Cannot remove self", "java.lang.UnsupportedOperationException")
    if ctx.node_up(n):
        raise ServerError("Node %s is alive and owns this ID. Use decommission command to remove it "
                          "from the ring" % ctx.endpoint(n), "java.lang.UnsupportedOperationException")
    time.sleep(float(ctx.nj.get("removenode_delay", 0.2)))
    with S.locked_cluster(ctx.cdir) as c:
        for x in c["nodes"]:
            if x.get("host_id") == hid:
                x["removed"] = True


def cmd_stopdaemon(ctx, o, args):
    S.set_node_state(ctx.cdir, ctx.nj["name"], up=False, state="stopped")
    ctx.w("Cassandra has shutdown.\n")


def cmd_compactionstats(ctx, o, args):
    if ctx.ver == "5.0":
        rows = [["concurrent compactors", "2"], ["pending tasks", "0"],
                ["compactions completed", str(ctx.nj.get("compactions", 0))],
                ["data compacted", S.stringify_file_size(ctx.nj.get("compacted_bytes", 0))],
                ["compactions aborted", "0"], ["compactions reduced", "0"],
                ["sstables dropped from compaction", "0"], ["15 minute rate", "0.00/minute"],
                ["mean rate", "0.00/hour"], ["compaction throughput (MiB/s)", "64.0"]]
        for ln in table_fmt(rows, " "):
            ctx.w(ln.rstrip() + "\n")
        ctx.w("\n")
        return
    pending = int(ctx.nj.get("pending_compactions", 0) or 0)
    ctx.w("pending tasks: %d\n" % pending)
    if pending and not ctx.v3:
        # 4.x lists the tables with pending tasks under the total.
        uks = sorted(k for k in ctx.ks() if k not in S.SYSTEM_KEYSPACES)
        if uks:
            ctx.w("- %s.%s: %d\n" % (uks[0], sorted(ctx.cluster["keyspaces"][uks[0]]["tables"])[0], pending))
    ctx.w("\n")


def cmd_gossipinfo(ctx, o, args):
    """Live members, then (sorted together by address) addresses gossip holds as LEFT:
    after `assassinate`, every node lists the address with STATUS_WITH_PORT LEFT, a
    generation a minute ahead, heartbeat 9999 and no tokens; the node that ran it also
    prints STATUS (real 4.1.1: tests/unit/samples/gossipinfo-4.1.1-assassinated*.txt)."""
    entries = [(n["address"], n, None) for n in ctx.cluster["nodes"]]
    live = {n["address"] for n in ctx.cluster["nodes"]}
    entries += [(a, None, x) for a, x in ctx.cluster.get("left", {}).items() if a not in live]
    for addr, n, left in sorted(entries, key=lambda e: ip_key({"address": e[0]})):
        if left is not None:
            ctx.w("/%s\n  generation:%d\n  heartbeat:9999\n" % (addr, left["generation"]))
            value = "LEFT,%d,%d" % (left["token"], left["expire"])
            if left.get("by") == ctx.me["name"]:
                ctx.w("  STATUS:%d:%s\n" % (left["version"] + 1, value))
            ctx.w("  STATUS_WITH_PORT:%d:%s\n  TOKENS: not present\n" % (left["version"], value))
            continue
        up = ctx.node_up(n)
        ctx.w("/%s\n" % n["address"])
        ctx.w("  generation:%d\n" % S.load_node(ctx.nodedir_of(n)).get("generation", 0))
        ctx.w("  heartbeat:%d\n" % (random.randrange(100, 900) if up else 0))
        st = {"Normal": "NORMAL", "Leaving": "LEAVING", "Joining": "BOOT", "Moving": "MOVING"}[n.get("status", "Normal")]
        ctx.w("  STATUS:19:%s,%d\n" % (st, n["tokens"][0]))
        ctx.w("  LOAD:161:%.1f\n" % S.node_load(ctx.nodedir_of(n)))
        ctx.w("  SCHEMA:130:%s\n" % ctx.cluster["schema_version"])
        ctx.w("  DC:9:%s\n  RACK:11:%s\n" % (n["dc"], n["rack"]))
        ctx.w("  RELEASE_VERSION:6:%s\n" % n.get("release_version", ""))
        ctx.w("  RPC_ADDRESS:5:%s\n" % n["address"])
        ctx.w("  NET_VERSION:2:%d\n" % (11 if n["version"] == "3.11" else 12))
        ctx.w("  HOST_ID:3:%s\n" % n["host_id"])
        ctx.w("  RPC_READY:21:%s\n" % ("true" if up else "false"))
        if n["version"] != "3.11":
            ctx.w("  NATIVE_ADDRESS_AND_PORT:4:%s:9042\n" % n["address"])
            ctx.w("  STATUS_WITH_PORT:18:%s,%d\n" % (st, n["tokens"][0]))
        ctx.w("  TOKENS:17:<hidden>\n")
    ctx.w("\n")


def cmd_assassinate(ctx, o, args):
    """`assassinate <address>`: gossip holds the address as LEFT on every node (for three
    days in 4.1) and every peer drops what it kept of it, including the system.peers_v2
    row a replacement with a new address leaves behind (simlib "ghosts").  Real 4.1.1
    does not check that the address is dead, nor that it was ever a member; it prints
    nothing and exits 0 (5 s on the real test cluster, RING_DELAY at most)."""
    if len(args) != 1:
        raise Usage("Missing required parameter: <ip_address>" if not args else
                    "Too many arguments: %s" % " ".join(args[1:]))
    addr = args[0]
    time.sleep(float(ctx.nj.get("assassinate_delay", 0.2)))
    now = time.time()
    with S.locked_cluster(ctx.cdir) as c:
        for x in c["nodes"]:
            if x["address"] == addr:
                # Real Cassandra takes a live node out of the ring too; the agent
                # refuses before it gets here.
                x["removed"] = True
        c.setdefault("left", {})[addr] = {
            "generation": int(now) + 60, "version": 188,
            "token": random.randrange(-2 ** 63, 2 ** 63),
            "expire": int((now + 3 * 86400) * 1000), "by": ctx.me["name"]}
        c.get("ghosts", {}).pop(addr, None)


def cmd_describering(ctx, o, args):
    if not args:
        raise Usage("Required arguments are missing: 'keyspace'")
    if len(args) > 1:
        raise Usage("Found unexpected parameters: %s" % jlist(args[1:]))
    ks = args[0]
    frames = server_frames("org.apache.cassandra.service.StorageService.describeRingJMX(StorageService.java:2056)")
    if ks not in ctx.ks():
        raise ServerError("No such keyspace: %s" % ks, "java.io.IOException", frames)
    if ctx.ks()[ks]["replication"]["class"] == "LocalStrategy":
        raise ServerError("There is no ring for the keyspace: %s" % ks, "java.io.IOException", frames)
    by = {n["name"]: n for n in ctx.cluster["nodes"]}
    ctx.w("Schema Version:%s\n" % ctx.cluster["schema_version"])
    ctx.w("TokenRange: \n")
    for a, b, owner, reps in S.token_ranges(ctx.cluster, ks):
        eps = [by[r]["address"] for r in reps]
        det = ", ".join("EndpointDetails(host:%s, datacenter:%s, rack:%s)" % (by[r]["address"], by[r]["dc"],
                                                                              by[r]["rack"]) for r in reps)
        ctx.w("\tTokenRange(start_token:%d, end_token:%d, endpoints:[%s], rpc_endpoints:[%s], "
              "endpoint_details:[%s])\n" % (a, b, ", ".join(eps), ", ".join(eps), det))


def cmd_tablestats(ctx, o, args):
    """tablestats [ks[.table] ...]: the 4.1 layout; 3.11 lacks the repaired-bytes lines."""
    want = {}
    for a in args:
        ks, _, t = a.partition(".")
        if ks not in ctx.ks():
            raise Usage("Unknown keyspace: %s" % ks)
        want.setdefault(ks, set())
        if t:
            want[ks].add(t)
    for ks, ts_ in want.items():
        bad = sorted(t for t in ts_ if t not in ctx.ks()[ks]["tables"])
        if bad:
            raise Usage("Unknown tables: %s in keyspace: %s" % (jlist(bad), ks))
    human = o.get("human")

    def size(v):
        return S.stringify_file_size(v) if human else str(v)

    total_tables = sum(len(kd["tables"]) for kd in ctx.ks().values())
    ctx.w("Total number of tables: %d\n----------------\n" % total_tables)
    now = time.time()
    for ks in sorted(ctx.ks()):
        if want and ks not in want:
            continue
        kd = ctx.ks()[ks]
        rnd = random.Random(ks)
        # Counted since this Cassandra started (simctl load); the keyspace's counts are
        # the sums over all its tables, also when only some are asked for (real 4.1.1).
        counts = S.load_counts(ctx.nj, ks, sorted(kd["tables"]), now)
        reads = sum(r for r, _ in counts.values())
        writes = sum(w for _, w in counts.values())

        def latency(n):
            return repr(rnd.uniform(0.01, 0.09)) if n else "NaN"
        ctx.w("Keyspace : %s\n" % ks)
        ctx.w("\tRead Count: %d\n\tRead Latency: %s ms\n\tWrite Count: %d\n" % (reads, latency(reads), writes))
        ctx.w("\tWrite Latency: %s ms\n\tPending Flushes: 0\n" % latency(writes))
        for t in sorted(kd["tables"]):
            if want.get(ks) and t not in want[ks]:
                continue
            d = S.table_path(ctx.ndir, ks, t, kd["tables"][t]["id"])
            ssts = S.live_sstables(ctx.ndir, d)
            live = S.sstable_bytes(d, ssts)
            data = sum(os.stat(os.path.join(d, e["components"]["Data.db"])).st_size
                       for e in ssts.values() if "Data.db" in e["components"])
            snap_true = 0
            sd = os.path.join(d, "snapshots")
            if os.path.isdir(sd):
                for tag in os.listdir(sd):
                    snap_true += snapshot_sizes(os.path.join(sd, tag), d)[2]
            filt = sum(os.stat(os.path.join(d, e["components"]["Filter.db"])).st_size
                       for e in ssts.values() if "Filter.db" in e["components"])
            parts = data // 35
            rep = float(ctx.nj.get("percent_repaired", 0.0))
            lines = [("Table", t), ("SSTable count", len(ssts))]
            if not ctx.v3:
                lines.append(("Old SSTable count", 0))
            lines += [("Space used (live)", size(live)), ("Space used (total)", size(live)),
                      ("Space used by snapshots (total)", size(snap_true)),
                      ("Off heap memory used (total)", size(filt + 8 * len(ssts))),
                      ("SSTable Compression Ratio", repr(0.47 if ssts else -1.0)),
                      ("Number of partitions (estimate)", parts),
                      ("Memtable cell count", 0), ("Memtable data size", size(0)),
                      ("Memtable off heap memory used", 0), ("Memtable switch count", len(ssts)),
                      ("Local read count", counts[t][0]),
                      ("Local read latency", "0.050 ms" if counts[t][0] else "NaN ms"),
                      ("Local write count", counts[t][1]),
                      ("Local write latency", "0.050 ms" if counts[t][1] else "NaN ms"),
                      ("Pending flushes", 0), ("Percent repaired", repr(rep))]
            if not ctx.v3:
                lines += [("Bytes repaired", "%.3fKiB" % (data * rep / 100 / 1024)),
                          ("Bytes unrepaired", "%.3fKiB" % (data * (100 - rep) / 100 / 1024)),
                          ("Bytes pending repair", "0.000KiB")]
            lines += [("Bloom filter false positives", 0), ("Bloom filter false ratio", "0.00000"),
                      ("Bloom filter space used", size(filt)), ("Bloom filter off heap memory used", size(filt)),
                      ("Index summary off heap memory used", size(8 * len(ssts))),
                      ("Compression metadata off heap memory used", size(8 * len(ssts))),
                      ("Compacted partition minimum bytes", 30 if ssts else 0),
                      ("Compacted partition maximum bytes", 42 if ssts else 0),
                      ("Compacted partition mean bytes", 42 if ssts else 0),
                      ("Average live cells per slice (last five minutes)", "NaN"),
                      ("Maximum live cells per slice (last five minutes)", 0),
                      ("Average tombstones per slice (last five minutes)", "NaN"),
                      ("Maximum tombstones per slice (last five minutes)", 0),
                      ("Dropped Mutations", size(0) if not ctx.v3 else 0)]
            if not ctx.v3:
                lines.append(("Droppable tombstone ratio", "0.00000"))
            ctx.w("".join("\t\t%s: %s\n" % kv for kv in lines))
            ctx.w("\n")
        ctx.w("----------------\n")


def cmd_getendpoints(ctx, o, args):
    if len(args) != 3:
        raise Usage("getendpoints requires keyspace, table and partition key arguments")
    ks, t, key = args
    check_keyspace(ctx, ks)
    import zlib
    h = zlib.crc32(key.encode()) * 2654435761 % S.RING_SIZE + S.MIN_TOKEN
    for a, b, owner, reps in S.token_ranges(ctx.cluster, ks):
        inside = (a < h <= b) if a < b else (h > a or h <= b)
        if inside:
            by = {n["name"]: n for n in ctx.cluster["nodes"]}
            for r in reps:
                ctx.w(by[r]["address"] + "\n")
            return


# ---------------------------------------------------------------------------
# snapshots
# ---------------------------------------------------------------------------

def parse_ttl(s):
    import re
    m = re.match(r"^(\d+)(d|h|m|s)$", s or "")
    if not m:
        raise Usage("Invalid duration: %s Accepted units:[SECONDS, MINUTES, HOURS, DAYS]" % s)
    v = int(m.group(1)) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[m.group(2)]
    if v < 60:
        raise ServerError("ttl for snapshot must be at least 1 minute", "java.lang.IllegalArgumentException",
                          client_frames("Snapshot", 102))
    return v


def schema_cql(ctx, ks, table, tid):
    cols = S.user_table_columns()
    idu = S.hex_to_uuid(tid)
    if ctx.v3:
        lines = ["CREATE TABLE IF NOT EXISTS %s.%s (" % (ks, table)]
        for name, typ, pk in cols:
            lines.append("\t%s %s," % (name, typ))
        lines.append("\tPRIMARY KEY (%s))" % cols[0][0])
        lines.append("\tWITH ID = %s" % idu)
        for opt in ["bloom_filter_fp_chance = 0.01", "dclocal_read_repair_chance = 0.1",
                    "crc_check_chance = 1.0", "default_time_to_live = 0", "gc_grace_seconds = 864000",
                    "min_index_interval = 128", "max_index_interval = 2048",
                    "memtable_flush_period_in_ms = 0", "read_repair_chance = 0.0",
                    "speculative_retry = '99PERCENTILE'", "comment = ''",
                    "caching = { 'keys': 'ALL', 'rows_per_partition': 'NONE' }",
                    "compaction = { 'max_threshold': '32', 'min_threshold': '4', 'class': "
                    "'org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy' }",
                    "compression = { 'chunk_length_in_kb': '64', 'class': "
                    "'org.apache.cassandra.io.compress.LZ4Compressor' }",
                    "cdc = false", "extensions = {  };"]:
            lines.append("\tAND " + opt)
        return "\n".join(lines) + "\n"
    lines = ["CREATE TABLE IF NOT EXISTS %s.%s (" % (ks, table)]
    for i, (name, typ, pk) in enumerate(cols):
        lines.append("    %s %s%s%s" % (name, typ, " PRIMARY KEY" if pk else "", "," if i < len(cols) - 1 else ""))
    lines.append(") WITH ID = %s" % idu)
    opts = ["additional_write_policy = '99p'"]
    if ctx.ver == "5.0":
        opts.append("allow_auto_snapshot = true")
    opts += ["bloom_filter_fp_chance = 0.01",
             "caching = {'keys': 'ALL', 'rows_per_partition': 'NONE'}",
             "cdc = false", "comment = ''",
             "compaction = {'class': 'org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy', "
             "'max_threshold': '32', 'min_threshold': '4'}",
             "compression = {'chunk_length_in_kb': '16', 'class': 'org.apache.cassandra.io.compress.LZ4Compressor'}"]
    if ctx.at_least("4.1"):
        opts.append("memtable = 'default'")
    opts += ["crc_check_chance = 1.0", "default_time_to_live = 0", "extensions = {}",
             "gc_grace_seconds = 864000"]
    if ctx.ver == "5.0":
        opts.append("incremental_backups = true")
    opts += ["max_index_interval = 2048", "memtable_flush_period_in_ms = 0", "min_index_interval = 128",
             "read_repair = 'BLOCKING'", "speculative_retry = '99p';"]
    for opt in opts:
        lines.append("    AND " + opt)
    return "\n".join(lines) + "\n"


def manifest_json(ctx, files, created, expires):
    if ctx.at_least("4.1"):
        return json.dumps({"files": files, "created_at": S.iso_instant(created),
                           "expires_at": S.iso_instant(expires) if expires else None},
                          separators=(",", ":"))
    return json.dumps({"files": files}, separators=(",", ":"))


def take_snapshot(ctx, ks, table, tdir, tag, created, expires):
    sdir = os.path.join(tdir, "snapshots", tag)
    os.makedirs(sdir, exist_ok=True)
    data_files = []
    for gen, e in sorted(S.live_sstables(ctx.ndir, tdir).items(), key=lambda kv: str(kv[0]).zfill(30)):
        for comp, fname in e["components"].items():
            os.link(os.path.join(tdir, fname), os.path.join(sdir, fname))
            if comp == "Data.db":
                data_files.append(fname)
    S.atomic_write(os.path.join(sdir, "manifest.json"), manifest_json(ctx, data_files, created, expires))
    if not ctx.ks()[ks].get("system"):
        S.atomic_write(os.path.join(sdir, "schema.cql"), schema_cql(ctx, ks, table, ctx.ks()[ks]["tables"][table]["id"]))


def snapshot_frames():
    return server_frames("org.apache.cassandra.service.StorageService.takeSnapshot(StorageService.java:4095)",
                         "org.apache.cassandra.service.StorageService.takeSnapshot(StorageService.java:3984)")


def cmd_snapshot(ctx, o, args):
    tag = o.get("tag") or str(int(time.time() * 1000))
    kt = o.get("kt")
    table = o.get("table")
    keyspaces = list(args)
    opts = "{skipFlush=%s" % ("true" if o.get("sf") else "false")
    expires = None
    created = time.time()
    if o.get("ttl"):
        if not ctx.at_least("4.1"):
            raise Usage("Found unexpected parameters: [--ttl, %s]" % o["ttl"])
        expires = created + parse_ttl(o["ttl"])
        opts += ", ttl=%s" % o["ttl"]
    opts += "}"
    if kt:
        kt = kt.replace(" ", "")
        if keyspaces or table:
            raise ServerError("When specifying the Keyspace columfamily list for a snapshot, you should not "
                              "specify columnfamily", "java.io.IOException", client_frames("Snapshot", 79))
        what = "[%s]" % kt
    else:
        what = "[all keyspaces]" if not keyspaces else "[%s]" % ", ".join(keyspaces)
    ctx.line("Requested creating snapshot(s) for %s with snapshot name [%s] and options %s" % (what, tag, opts))
    targets = []
    if kt:
        for item in kt.split(","):
            if not item:
                continue
            parts = item.split(".")
            if len(parts) != 2:
                raise ServerError("Cannot take a snapshot on secondary index or invalid column family name. "
                                  "You must supply a column family name in the form of keyspace.columnfamily",
                                  "java.lang.IllegalArgumentException", snapshot_frames())
            ks, t = parts
            if ks not in ctx.ks():
                raise ServerError("Keyspace %s does not exist" % ks, "java.io.IOException", snapshot_frames())
            if t not in ctx.ks()[ks]["tables"]:
                raise ServerError("Unknown keyspace/cf pair (%s.%s)" % (ks, t),
                                  "java.lang.IllegalArgumentException", snapshot_frames())
            targets.append((ks, t, S.table_path(ctx.ndir, ks, t, ctx.ks()[ks]["tables"][t]["id"])))
        for ks, t, d in targets:
            if os.path.isdir(os.path.join(d, "snapshots", tag)):
                raise ServerError("Snapshot %s already exists." % tag, "java.io.IOException", snapshot_frames())
    else:
        if table and len(keyspaces) != 1:
            raise ServerError("When specifying the table for a snapshot, you must specify one and only one keyspace",
                              "java.io.IOException", snapshot_frames())
        for ks in keyspaces:
            if ks not in ctx.ks():
                raise ServerError("Keyspace %s does not exist" % ks, "java.io.IOException", snapshot_frames())
        if table and table not in ctx.ks()[keyspaces[0]]["tables"]:
            raise ServerError("Unknown keyspace/cf pair (%s.%s)" % (keyspaces[0], table),
                              "java.lang.IllegalArgumentException", snapshot_frames())
        kss = keyspaces or list(ctx.ks())
        for ks in kss:
            for k2, t, d in ctx.table_dirs([ks]):
                if os.path.isdir(os.path.join(d, "snapshots", tag)):
                    raise ServerError("Snapshot %s already exists." % tag, "java.io.IOException", snapshot_frames())
        targets = ctx.table_dirs(kss, [table] if table else None)
    fault = ctx.nj.get("fault") or {}
    partial = int(fault.get("tables", 1)) if fault.get("mode") == "snapshot-partial" else None
    with S.file_lock(os.path.join(ctx.ndir, ".datalock")):
        if not o.get("sf"):
            # skipFlush=false: the tables' memtables are flushed first (user tables hold
            # none in the sim; churning system tables do)
            system_flush(ctx, {ks for ks, _t, _d in targets}, {(ks, t) for ks, t, _d in targets})
        for i, (ks, t, d) in enumerate(targets):
            if partial is not None and i >= partial:
                # what 4.1.1 prints when a table's snapshot directory cannot be made
                # (captured with a file in the way); the tables before it are done
                sdir = os.path.join(d, "snapshots", tag)
                msg = fault.get("message") or "Unable to create directory %s" % sdir
                raise ServerError(msg, "java.io.IOException", server_frames(
                    "org.apache.cassandra.db.Directories.getOrCreate(Directories.java:1244)",
                    "org.apache.cassandra.db.Directories.getSnapshotDirectory(Directories.java:549)",
                    "org.apache.cassandra.db.Directories.getSnapshotDirectory(Directories.java:527)",
                    "org.apache.cassandra.db.ColumnFamilyStore.snapshotWithoutMemtable(ColumnFamilyStore.java:1952)",
                    "org.apache.cassandra.db.ColumnFamilyStore.snapshot(ColumnFamilyStore.java:2094)",
                    "org.apache.cassandra.service.StorageService.takeMultipleTableSnapshot(StorageService.java:4158)",
                    "org.apache.cassandra.service.StorageService.takeSnapshot(StorageService.java:3980)"))
            take_snapshot(ctx, ks, t, d, tag, created, expires)
    ctx.line("Snapshot directory: %s" % tag)


def snapshot_entries(ctx):
    """[(tag, ks, table, sdir, tdir)] of every snapshot on this node."""
    out = []
    for ks, t, d in ctx.table_dirs():
        sd = os.path.join(d, "snapshots")
        if not os.path.isdir(sd):
            continue
        for tag in sorted(os.listdir(sd)):
            p = os.path.join(sd, tag)
            if os.path.isdir(p):
                out.append((tag, ks, t, p, d))
    return out


def snapshot_meta(sdir):
    try:
        m = S.read_json(os.path.join(sdir, "manifest.json"))
    except (OSError, ValueError):
        m = {}
    created = S.parse_iso_instant(m.get("created_at")) if m.get("created_at") else os.stat(sdir).st_mtime
    expires = S.parse_iso_instant(m.get("expires_at")) if m.get("expires_at") else None
    return created, expires


def purge_expired(ctx):
    if not ctx.at_least("4.1"):
        return
    now = time.time()
    for tag, ks, t, sdir, tdir in snapshot_entries(ctx):
        created, expires = snapshot_meta(sdir)
        if expires and expires <= now:
            shutil.rmtree(sdir, ignore_errors=True)


def snapshot_sizes(sdir, tdir):
    live = set(os.listdir(tdir))
    on_disk = true = sst_true = 0
    for f in os.listdir(sdir):
        p = os.path.join(sdir, f)
        if not os.path.isfile(p):
            continue
        sz = os.stat(p).st_size
        on_disk += sz
        if f not in live:
            true += sz
            if f not in ("manifest.json", "schema.cql"):
                sst_true += sz
    return true, on_disk, sst_true


def cmd_listsnapshots(ctx, o, args):
    purge_expired(ctx)
    ctx.w("Snapshot Details: \n")
    entries = snapshot_entries(ctx)
    if not entries:
        ctx.w("There are no snapshots" + ("" if ctx.v3 else "\n"))
        return
    total = 0
    rows = []
    for tag, ks, t, sdir, tdir in sorted(entries, key=lambda e: (e[0], e[1], e[2])):
        true, disk, sst_true = snapshot_sizes(sdir, tdir)
        total += sst_true
        created, expires = snapshot_meta(sdir)
        if o.get("nottl") and expires:
            continue
        row = [tag, ks, t, S.stringify_file_size(true), S.stringify_file_size(disk)]
        if ctx.at_least("4.1"):
            row += [S.iso_instant(created), S.iso_instant(expires) if expires else ""]
        rows.append(row)
    header = ["Snapshot name", "Keyspace name", "Column family name", "True size", "Size on disk"]
    if ctx.at_least("4.1"):
        header += ["Creation time", "Expiration time"]
    if ctx.v3:
        for r in [header] + rows:
            ctx.w("%-20s%-29s%-29s%-19s%-19s\n" % tuple(r))
    else:
        for ln in table_fmt([header] + rows, " "):
            ctx.w(ln + "\n")
    ctx.w("\nTotal TrueDiskSpaceUsed: %s\n\n" % S.stringify_file_size(total))


def cmd_clearsnapshot(ctx, o, args):
    tag = o.get("tag") or ""
    clear_all = bool(o.get("all"))
    if not ctx.v3:
        if not tag and not clear_all:
            raise ServerError("Specify snapshot name or --all", "java.lang.RuntimeException",
                              client_frames("ClearSnapshot", 50))
        if tag and clear_all:
            raise ServerError("Specify only one of snapshot name or --all", "java.lang.RuntimeException",
                              client_frames("ClearSnapshot", 53))
    what = "[all keyspaces]" if not args else "[%s]" % ", ".join(args)
    msg = "Requested clearing snapshot(s) for %s" % what
    if tag:
        msg += " with snapshot name [%s]" % tag
    elif not ctx.v3:
        msg += " with [all snapshots]"
    ctx.line(msg)
    older = None
    if o.get("older_than"):
        older = time.time() - parse_ttl(o["older_than"])
    with S.file_lock(os.path.join(ctx.ndir, ".datalock")):
        for stag, ks, t, sdir, tdir in snapshot_entries(ctx):
            if args and ks not in args:
                continue
            if tag and stag != tag:
                continue
            if older is not None and snapshot_meta(sdir)[0] > older:
                continue
            shutil.rmtree(sdir, ignore_errors=True)


# ---------------------------------------------------------------------------
# flush / compact / refresh / import
# ---------------------------------------------------------------------------

def ks_tables_targets(ctx, args, system=False):
    if args:
        check_keyspace(ctx, args[0])
        check_tables(ctx, args[0], args[1:])
        return ctx.table_dirs([args[0]], args[1:] or None)
    return ctx.table_dirs(system=system)


def link_backup(ctx, tdir, names):
    if not ctx.nj.get("incremental_backups"):
        return
    b = os.path.join(tdir, "backups")
    os.makedirs(b, exist_ok=True)
    for f in names:
        try:
            os.link(os.path.join(tdir, f), os.path.join(b, f))
        except FileExistsError:
            pass


def compact_dir(ctx, d, ssts):
    """Replace ssts (live SSTables of d) by one new SSTable holding their Data.db bytes."""
    size = 0
    for e in ssts.values():
        df = e["components"].get("Data.db")
        if df:
            size += os.stat(os.path.join(d, df)).st_size
    S.add_sstable(ctx.ndir, ctx.nj, d, max(1, size))
    for e in ssts.values():
        for f in e["components"].values():
            try:
                os.unlink(os.path.join(d, f))
            except FileNotFoundError:
                pass
    S.unmark_live(ctx.ndir, d, list(ssts))
    return size


SYSTEM_FLUSHABLE = S.CHURN_TABLES + [("system", "compaction_history")]


def system_flush(ctx, keyspaces, tables=None):
    """Flush the memtables of churning system tables in keyspaces (optionally only those
    (ks, table) pairs): each one with data gets a small new SSTable, and a table that
    reaches 4 live SSTables is compacted (size-tiered, min_threshold 4), which writes to
    system.compaction_history.  Real 4.1 does this on every flush or snapshot that
    covers the system keyspace; an idle node writes none on its own."""
    nj = ctx.nj
    if not nj.get("system_churn", True):
        return
    now = time.time()
    interval = float(nj.get("system_churn_interval", S.SYSTEM_CHURN_INTERVAL))
    flushed = dict(nj.get("system_flushed_at") or {})
    dirty = set(nj.get("system_dirty") or [])
    changed = False
    for ks, t in SYSTEM_FLUSHABLE:
        key = "%s.%s" % (ks, t)
        if ks not in keyspaces or ks not in ctx.ks() or t not in ctx.ks()[ks]["tables"]:
            continue
        if tables is not None and (ks, t) not in tables:
            continue
        pending = key in dirty or ((ks, t) in S.PERIODIC_TABLES and now - flushed.get(key, 0) >= interval)
        if not pending:
            continue
        d = S.table_path(ctx.ndir, ks, t, ctx.ks()[ks]["tables"][t]["id"])
        os.makedirs(d, exist_ok=True)
        S.add_sstable(ctx.ndir, nj, d, random.randrange(120, 6000))
        dirty.discard(key)
        flushed[key] = now
        changed = True
        live = S.live_sstables(ctx.ndir, d)
        if len(live) >= 4:
            compact_dir(ctx, d, live)
            dirty.add("system.compaction_history")
    if changed:
        ctx.save_node(system_dirty=sorted(dirty), system_flushed_at=flushed)


def cmd_flush(ctx, o, args):
    targets = ks_tables_targets(ctx, args, system=True)
    size = int(ctx.nj.get("flush_size", 65536))
    with S.file_lock(os.path.join(ctx.ndir, ".datalock")):
        system_flush(ctx, {ks for ks, _t, _d in targets}, {(ks, t) for ks, t, _d in targets})
        for ks, t, d in targets:
            if ctx.ks()[ks].get("system"):
                continue
            os.makedirs(d, exist_ok=True)
            names = S.add_sstable(ctx.ndir, ctx.nj, d, size)
            link_backup(ctx, d, names)


def cmd_compact(ctx, o, args):
    targets = ks_tables_targets(ctx, args)
    total_in = 0
    count = 0
    with S.file_lock(os.path.join(ctx.ndir, ".datalock")):
        for ks, t, d in targets:
            ssts = S.live_sstables(ctx.ndir, d)
            if not ssts:
                continue
            total_in += compact_dir(ctx, d, ssts)
            count += 1
    if count:
        ctx.save_node(compactions=ctx.nj.get("compactions", 0) + count,
                      compacted_bytes=ctx.nj.get("compacted_bytes", 0) + total_in,
                      system_dirty=sorted(set(ctx.nj.get("system_dirty") or []) | {"system.compaction_history"}))


def load_new(ctx, tdir, found, copy=False):
    """Give each (src_dir, entry) SSTable a fresh generation in tdir, moved (or copied)
    there, and make it live.  Returns the new Data.db paths."""
    loaded = []
    for src_dir, e in found:
        _v, _fmt, uuid_gen = S.node_sstable_style(ctx.nj)
        newgen = S.next_generation(ctx.ndir, tdir, uuid_gen)
        names = []
        # Data.db last: a half-moved SSTable is never complete in tdir
        for comp, fname in sorted(e["components"].items(), key=lambda kv: kv[0] == "Data.db"):
            new = S.sstable_prefix(e["version"], newgen, e["format"]) + comp
            src, dst = os.path.join(src_dir, fname), os.path.join(tdir, new)
            if copy:
                shutil.copyfile(src, dst)
            else:
                try:
                    os.rename(src, dst)
                except OSError:
                    shutil.move(src, dst)
            names.append(new)
        S.mark_live(ctx.ndir, tdir, [newgen])
        link_backup(ctx, tdir, names)
        loaded.append(os.path.join(tdir, S.sstable_prefix(e["version"], newgen, e["format"]) + "Data.db"))
    return loaded


def sorted_sstables(d):
    return sorted(S.list_sstables(d).items(), key=lambda kv: str(kv[0]).zfill(30))


def cmd_refresh(ctx, o, args):
    """Complete SSTables lying in the table directory that the node does not serve yet
    become live, under new generations (what 4.x's refresh, an import of the table's own
    directories, and 3.11's loadNewSSTables do)."""
    if len(args) != 2:
        raise Usage("refresh requires ks and cf args")
    if not ctx.v3:
        ctx.line("nodetool refresh is deprecated, use nodetool import instead")
    ks, t = args
    if ks not in ctx.ks() or t not in ctx.ks()[ks]["tables"]:
        raise Usage("Unknown keyspace/cf pair (%s.%s)" % (ks, t))     # as 4.1.1 prints it
    tdir = S.table_path(ctx.ndir, ks, t, ctx.ks()[ks]["tables"][t]["id"])
    with S.file_lock(os.path.join(ctx.ndir, ".datalock")):
        live = S.live_sstables(ctx.ndir, tdir)
        found = [(tdir, e) for g, e in sorted_sstables(tdir)
                 if g not in live and "Data.db" in e["components"]]
        if not ctx.v3:
            system_log(ctx, "SSTableImporter.java:72", "Loading new SSTables for %s/%s: Options{srcPaths='[]', "
                       "resetLevel=true, clearRepaired=false, verifySSTables=false, verifyTokens=false, "
                       "invalidateCaches=false, extendedVerify=false, copyData= false}" % (ks, t))
        if not found:
            system_log(ctx, "SSTableImporter.java:173" if not ctx.v3 else "ColumnFamilyStore.java:795",
                       "No new SSTables were found for %s/%s" % (ks, t))
            return
        loaded = load_new(ctx, tdir, found)
        system_log(ctx, "SSTableImporter.java:190" if not ctx.v3 else "ColumnFamilyStore.java:850",
                   "Done loading load new SSTables for %s/%s (%d)" % (ks, t, len(loaded)))


def sstable_dir_owner(d):
    """(keyspace, table) Cassandra reads from a directory of SSTables: the last two path
    components `<ks>/<table>-<id>` (the table name is what precedes the first '-').  A
    directory whose name starts with '.' is a secondary index directory: its name is
    appended to the table name (so it never matches a table); `backups/` and
    `snapshots/<tag>/` stand for their table directory."""
    d = os.path.abspath(d)
    index = ""
    if os.path.basename(d).startswith("."):
        index = os.path.basename(d)
        d = os.path.dirname(d)
    parent = os.path.dirname(d)
    if os.path.basename(d) == "backups" and "-" in os.path.basename(parent):
        d = parent
    elif os.path.basename(parent) == "snapshots" and "-" in os.path.basename(os.path.dirname(parent)):
        d = os.path.dirname(parent)
    return os.path.basename(os.path.dirname(d)), os.path.basename(d).split("-")[0] + index


def cmd_import(ctx, o, args):
    """4.x import with the real path rules (captured on 4.1.1): SSTables are taken only
    from directories whose last two components name this keyspace and table; found ones
    are moved (--copy-data: copied) into the live directory under new generations.
    Nothing found: exit 0, nothing printed, one line in logs/system.log."""
    if len(args) < 3:
        raise Usage("import requires keyspace, table name and directories")
    ks, t, dirs = args[0], args[1], args[2:]
    if ks not in ctx.ks() or t not in ctx.ks()[ks]["tables"]:
        sys.stdout.flush()
        sys.stderr.write("ColumnFamilyStore for %s/%s not found.\n" % (ks, t))
        raise Exit(1)
    frames = server_frames("org.apache.cassandra.db.SSTableImporter.getSSTableListers(SSTableImporter.java:238)",
                           "org.apache.cassandra.db.SSTableImporter.importNewSSTables(SSTableImporter.java:75)",
                           "org.apache.cassandra.db.ColumnFamilyStore.importNewSSTables(ColumnFamilyStore.java:864)")
    copy = bool(o.get("copy"))
    system_log(ctx, "SSTableImporter.java:72", "Loading new SSTables for %s/%s: Options{srcPaths='%s', "
               "resetLevel=%s, clearRepaired=%s, verifySSTables=%s, verifyTokens=%s, invalidateCaches=%s, "
               "extendedVerify=%s, copyData= %s}" % (
                   ks, t, jlist(dirs), str(not o.get("keep_level")).lower(), str(not o.get("keep_repaired")).lower(),
                   str(not o.get("no_verify")).lower(), str(not o.get("no_tokens")).lower(),
                   str(not o.get("no_inval")).lower(), str(bool(o.get("extended"))).lower(), str(copy).lower()))
    for d in dirs:
        if not os.path.exists(d):
            raise ServerError("Directory %s does not exist" % d, "java.lang.RuntimeException", frames)
        if not os.path.isdir(d) or not os.access(d, os.R_OK | os.W_OK | os.X_OK):
            raise ServerError("Insufficient permissions on directory %s" % d, "java.lang.RuntimeException",
                              [frames[0].replace(":238)", ":242)")] + frames[1:])
    tdir = S.table_path(ctx.ndir, ks, t, ctx.ks()[ks]["tables"][t]["id"])
    os.makedirs(tdir, exist_ok=True)
    failed = []
    loaded = []
    with S.file_lock(os.path.join(ctx.ndir, ".datalock")):
        found = []
        for d in dirs:
            if sstable_dir_owner(d) != (ks, t):
                continue
            found += [(d, e) for g, e in sorted_sstables(d) if "Data.db" in e["components"]]
        if not found:
            system_log(ctx, "SSTableImporter.java:173", "No new SSTables were found for %s/%s" % (ks, t))
            return
        for d, e in found:
            try:
                loaded += load_new(ctx, tdir, [(d, e)], copy)
            except OSError:
                if d not in failed:
                    failed.append(d)
    if loaded:
        system_log(ctx, "SSTableImporter.java:177", "Loading new SSTables and building secondary indexes for %s/%s: %s"
                   % (ks, t, jlist("BigTableReader(path='%s')" % p for p in loaded)))
        system_log(ctx, "SSTableImporter.java:190", "Done loading load new SSTables for %s/%s" % (ks, t))
    if failed:
        ctx.line("Some directories failed to import, check server logs for details:")
        for d in failed:
            ctx.line(d)
        raise Exit(1)


# ---------------------------------------------------------------------------
# repair
# ---------------------------------------------------------------------------

def in_range(a, b, x):
    """x in (a, b] on the ring."""
    if a < b:
        return a < x <= b
    return x > a or x <= b


def intervals(a, b):
    """(a, b] as non-wrapping half-open integer intervals (lo, hi] on [MIN-1, MAX]."""
    if a < b:
        return [(a, b)]
    if a == b:
        return [(S.MIN_TOKEN - 1, S.MAX_TOKEN)]
    out = [(a, S.MAX_TOKEN)]
    if b > S.MIN_TOKEN - 1:
        out.append((S.MIN_TOKEN - 1, b))
    return out


def rng_intersects(r1, r2):
    for lo1, hi1 in intervals(*r1):
        for lo2, hi2 in intervals(*r2):
            if max(lo1, lo2) < min(hi1, hi2):
                return True
    return False


def rng_contains(outer, inner):
    outs = intervals(*outer)
    for lo, hi in intervals(*inner):
        if not any(olo <= lo and hi <= ohi for olo, ohi in outs):
            return False
    return True


def rstr(r):
    return "(%d,%d]" % r


def repair_options(ctx, o, full, tables, nranges):
    par = "sequential" if o.get("seq") else ("dc_parallel" if o.get("dcpar") else "parallel")
    dcs = o.get("dc") or []
    if o.get("local"):
        dcs = [ctx.me["dc"]]
    hosts = o.get("hosts") or []
    parts = ["parallelism: %s" % par,
             "primary range: %s" % ("true" if o.get("pr") else "false"),
             "incremental: %s" % ("false" if full else "true"),
             "job threads: %s" % o.get("jobs", "1"),
             "ColumnFamilies: %s" % jlist(tables),
             "dataCenters: %s" % jlist(dcs),
             "hosts: %s" % jlist(hosts)]
    if not ctx.v3:
        parts.append("previewKind: %s" % ("ALL" if o.get("preview") else ("REPAIRED" if o.get("validate") else "NONE")))
    parts.append("# of ranges: %d" % nranges)
    parts.append("pull repair: %s" % ("true" if o.get("pull") else "false"))
    if not ctx.v3:
        parts.append("force repair: %s" % ("true" if o.get("force") else "false"))
        parts.append("optimise streams: %s" % ("true" if o.get("os") else "false"))
        parts.append("ignore unreplicated keyspaces: %s" % ("true" if o.get("iuk") else "false"))
    if ctx.at_least("4.1"):
        parts.append("repairPaxos: %s" % ("false" if o.get("skip_paxos") else "true"))
        parts.append("paxosOnly: %s" % ("true" if o.get("paxos_only") else "false"))
    return "(" + ", ".join(parts) + ")"


def default_repair_keyspaces(ctx):
    out = []
    for ks, kd in ctx.ks().items():
        if kd["replication"]["class"] == "LocalStrategy":
            continue
        if ks == "system_distributed" and not ctx.v3:
            continue
        out.append(ks)
    # system_auth first, then users and system_traces as Cassandra lists them
    return sorted(out, key=lambda k: (k != "system_auth", k == "system_traces"))


def cmd_repair(ctx, o, args):
    full = bool(o.get("full"))
    if ctx.v3 and not o.get("full") and o.get("inc") is None:
        full = False
    if args:
        check_keyspace(ctx, args[0])
        kslist = [args[0]]
        tables = args[1:]
    else:
        kslist = default_repair_keyspaces(ctx)
        tables = []
    st, et = o.get("st"), o.get("et")
    if (st is None) != (et is None):
        raise Usage("Both the start_token and end_token must be set or unset" if False else
                    "Start and end tokens must be specified together")
    delay = float(ctx.nj.get("repair_delay", 0.02))
    by_name = {n["name"]: n for n in ctx.cluster["nodes"]}
    me = ctx.nj["name"]
    any_ok = False
    # 4.1.1 (real node): -pr with -dc is refused before anything else,
    # even for an RF 1 keyspace; --in-local-dc with -pr is accepted
    if o.get("pr") and o.get("dc"):
        raise ServerError("Primary range repair should be performed on all nodes in the cluster.",
                          "java.lang.RuntimeException", JMX_FRAMES)
    for ks in kslist:
        check_tables(ctx, ks, tables)
        rf = S.replication_factor(ctx.cluster, ks)
        if ctx.ks()[ks]["replication"]["class"] == "LocalStrategy" or rf < 2:
            ctx.line("[%s] Replication factor is 1. No repair is needed for keyspace '%s'" % (ts(), ks))
            continue
        # -dc without this node's own dc (an unknown dc alone, too): refused
        # after the RF check, as the real node does
        if o.get("dc") and ctx.me["dc"] not in o.get("dc"):
            raise ServerError("the local data center must be part of the repair",
                              "java.lang.IllegalArgumentException", JMX_FRAMES)
        # then every dc named must exist: "-dc dc1 -dc dc2" on a ring
        # without dc2 (real 4.1.1)
        unknown = [d for d in (o.get("dc") or [])
                   if d not in {n["dc"] for n in ctx.cluster["nodes"]}]
        if unknown:
            raise ServerError("data center(s) [%s] not found" % ", ".join(unknown),
                              "java.lang.IllegalArgumentException", JMX_FRAMES)
        with S.locked_node(ctx.ndir) as nj:
            nj["repair_command"] = nj.get("repair_command", 0) + 1
            cmd = nj["repair_command"]
        all_ranges = S.token_ranges(ctx.cluster, ks)
        local = [(a, b, reps) for a, b, owner, reps in all_ranges if me in reps]
        # the wrapping range first, then in ring order
        local.sort(key=lambda r: (r[0] < r[1], r[1]))
        if o.get("pr") and o.get("local"):
            # -pr --in-local-dc: the primary ranges within this dc, those
            # whose first replica in this dc is this node (Cassandra's
            # getPrimaryRangeForEndpointWithinDC), so the nodes of one dc
            # together cover the ring
            mine = [(a, b, reps) for a, b, owner, reps in all_ranges
                    if next((r for r in reps if by_name[r]["dc"] == ctx.me["dc"]), None) == me]
            mine.sort(key=lambda r: (r[0] < r[1], r[1]))
        elif o.get("pr"):
            mine = [(a, b, reps) for a, b, owner, reps in all_ranges if owner == me]
            mine.sort(key=lambda r: (r[0] < r[1], r[1]))
        else:
            mine = local
        if st is not None:
            try:
                req = (int(st), int(et))
            except ValueError:
                raise ServerError("For input string: \"%s\"" % st, "java.lang.NumberFormatException", JMX_FRAMES)
            nranges = 1
        else:
            nranges = len(mine)
        start = time.time()
        parent = gen_uuid()
        ctx.line("[%s] Starting repair command #%d (%s), repairing keyspace %s with repair options %s"
                 % (ts(), cmd, parent, ks, repair_options(ctx, o, full, tables, nranges)))
        if not full and not ctx.v3:
            # 4.x incremental repair: a consistent session, listed by repair_admin
            # until it is finalized (the sim's server dies with nodetool, so a
            # killed nodetool leaves it REPAIRING, as a real server keeps it running).
            ir_session(ctx, parent, "REPAIRING", [by_name[r]["address"] for r in replica_names(ctx, ks)])
        if full and not ctx.v3:
            # a full repair runs on in the server after nodetool is killed, until
            # it ends or forceTerminateAllRepairSessions (nodetool sjk) stops it
            full_repair(ctx, parent, "RUNNING")
        error = None
        sessions = []
        dcs = o.get("dc") or ([ctx.me["dc"]] if o.get("local") else None)
        if st is not None:
            sup = None
            for a, b, reps in local:
                if rng_contains((a, b), req):
                    sup = (a, b, reps)
                    break
                if rng_intersects((a, b), req):
                    error = ("Requested range %s intersects a local range (%s) but is not fully contained in one; "
                             "this would lead to imprecise repair. keyspace: %s" % (rstr(req), rstr((a, b)), ks))
                    break
            if error is None and sup is None:
                error = "Nothing to repair for %s in %s - aborting" % (rstr(req), ks)
            if error is None:
                sessions = [([req], sup[2])]
        else:
            groups = {}
            order = []
            for a, b, reps in mine:
                key = tuple(sorted(reps))
                if key not in groups:
                    groups[key] = []
                    order.append(key)
                groups[key].append((a, b))
            sessions = [(groups[k], list(k)) for k in order]
        hosts = o.get("hosts")
        if error is None and dcs:
            # only the replicas in those dcs take part; a range left with
            # no other one there is "Nothing to repair" (real 4.1.1 with
            # -dc on a node whose dc holds no other replica)
            kept = []
            for ranges, reps in sessions:
                reps = [r for r in reps if by_name[r]["dc"] in dcs]
                if len(reps) < 2:
                    error = "Nothing to repair for %s in %s - aborting" % (rstr(ranges[0]), ks)
                    break
                kept.append((ranges, reps))
            sessions = kept
        if error is None:
            for ranges, reps in sessions:
                for r in sorted(reps, key=lambda x: ip_key(by_name[x])):
                    n = by_name[r]
                    if r == me or (dcs and n["dc"] not in dcs) or (hosts and n["address"] not in hosts):
                        continue
                    if not ctx.node_up(n):
                        error = "Endpoint not alive: %s" % ctx.endpoint(n)
                        break
                if error:
                    break
        if error:
            if full and not ctx.v3:
                full_repair(ctx, parent, "FAILED")
            msg = "Repair command #%d failed with error %s" % (cmd, error)
            ctx.line("[%s] %s" % (ts(), msg))
            ctx.line("[%s] Repair command #%d finished with error" % (ts(), cmd))
            full_msg = "Repair job has failed with the error message: %s" % msg
            if not ctx.v3:
                full_msg += ". Check the logs on the repair participants for further details"
            raise ServerError(full_msg, "java.lang.RuntimeException", REPAIR_FRAMES)
        nsess = len(sessions)
        t_begin = time.time()
        if st is not None:
            # a slow segment: the next repair_slow_count -st/-et repairs
            # on this node each take repair_slow_delay seconds more
            with S.locked_node(ctx.ndir) as nj:
                slow = int(nj.get("repair_slow_count", 0) or 0)
                if slow > 0:
                    nj["repair_slow_count"] = slow - 1
            if slow > 0:
                time.sleep(float(ctx.nj.get("repair_slow_delay", 30)))
        for i, (ranges, reps) in enumerate(sessions, 1):
            time.sleep(delay)
            pct = int(100 * 4 * i / (7 * nsess)) if not ctx.v3 else int(100 * i / (nsess + 1))
            ctx.line("[%s] Repair session %s for range [%s] finished (progress: %d%%)"
                     % (ts(), gen_uuid(), ", ".join(rstr(r) for r in ranges), pct))
        ctx.line("[%s] Repair completed successfully" % ts())
        if st is not None:
            repair_record(ctx, ks, req, sessions[0][1], t_begin)
        if not full and not ctx.v3:
            ir_session(ctx, parent, "FINALIZED")
        if full and not ctx.v3:
            full_repair(ctx, parent, "COMPLETED")
        ctx.line("[%s] Repair command #%d finished in %s" % (ts(), cmd, duration_words((time.time() - start) * 1000)))
        if not ctx.v3:
            ctx.line("[%s] condition satisfied queried for parent session status and discovered repair completed." % ts())
            ctx.line("[%s] Repair completed successfully" % ts())
        any_ok = True
    if any_ok and not full and st is None:
        ctx.save_node(percent_repaired=100.0)


def repair_record(ctx, ks, rng, replicas, t_begin):
    """What ran when: one JSON line per -st/-et repair in the cluster's
    repair_log.jsonl (coordinator, range, replicas, start and end times),
    so tests can see how many repairs each node took part in at once."""
    line = json.dumps({"coordinator": ctx.nj["name"], "keyspace": ks, "range": list(rng),
                       "replicas": sorted(replicas), "start": t_begin, "end": time.time()})
    fd = os.open(os.path.join(ctx.cdir, "repair_log.jsonl"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def replica_names(ctx, ks):
    """Nodes sharing a range of ks with this one (repair_admin's participants)."""
    me = ctx.nj["name"]
    return sorted({r for a, b, owner, reps in S.token_ranges(ctx.cluster, ks) if me in reps for r in reps})


def ir_session(ctx, sid, state, participants=None):
    """Record an incremental repair session in node.json (repair_admin)."""
    with S.locked_node(ctx.ndir) as nj:
        ss = nj.setdefault("ir_sessions", [])
        for x in ss:
            if x["id"] == sid:
                x["state"], x["last"] = state, int(time.time())
                return
        ss.append({"id": sid, "state": state, "last": int(time.time()),
                   "coordinator": ctx.me["address"], "participants": participants or []})


def full_repair(ctx, parent, state):
    """A 4.x full repair's state in node.json (full_repairs): RUNNING while it runs,
    COMPLETED or FAILED at its end, TERMINATED by forceTerminateAllRepairSessions."""
    with S.locked_node(ctx.ndir) as nj:
        rs = nj.setdefault("full_repairs", [])
        for x in rs:
            if x["id"] == parent:
                if x["state"] != "TERMINATED":
                    x["state"], x["last"] = state, time.time()
                return
        rs.append({"id": parent, "state": state, "last": time.time()})


# CEP-37 (Cassandra trunk) GetAutoRepairConfig's output; the settings after
# "enabled" are printed only for an enabled type, with trunk's defaults here.
AUTO_REPAIR_TYPES = ("full", "incremental", "preview_repaired")
AUTO_REPAIR_TYPE_SETTINGS = [
    ("min_repair_interval", "24h"), ("repair_by_keyspace", "true"), ("number_of_repair_threads", "1"),
    ("sstable_upper_threshold", "10000"), ("table_max_repair_time", "6h"), ("ignore_dcs", "[]"),
    ("repair_primary_token_range_only", "true"), ("parallel_repair_count", "3"),
    ("parallel_repair_percentage", "3"), ("materialized_view_repair_enabled", "false"),
    ("initial_scheduler_delay", "5m"), ("repair_session_timeout", "3h"), ("force_repair_new_node", "false"),
    ("token_range_splitter", "org.apache.cassandra.repair.autorepair.RepairTokenRangeSplitter")]


def cmd_getautorepairconfig(ctx, o, args):
    """Trunk's `nodetool getautorepairconfig` for the auto_repair knob: "off" (the
    scheduler is off) or the comma-separated types it runs.  Without the knob the
    node is a build before CEP-37 and main() answers as real 4.1.1 does."""
    knob = ctx.nj["auto_repair"]
    if knob == "off":
        ctx.line("Auto-repair is not enabled")
        return
    on = set(t for t in knob.split(",") if t)
    out = ["repair scheduler configuration:", "\trepair_check_interval: 5m", "\trepair_max_retries: 3",
           "\trepair_retry_backoff: 30s", "\trepair_task_min_duration: 5s",
           "\thistory_clear_delete_hosts_buffer_interval: 2h"]
    for t in AUTO_REPAIR_TYPES:
        out.append("configuration for repair_type: %s" % t)
        out.append("\tenabled: %s" % ("true" if t in on else "false"))
        if t in on:
            out.extend("\t%s: %s" % kv for kv in AUTO_REPAIR_TYPE_SETTINGS)
    ctx.line("\n".join(out))


SS_BEAN = "org.apache.cassandra.db:type=StorageService"


def cmd_sjk(ctx, o, args):
    """4.1.1's bundled SJK, only `mx -b BEAN -mc -op OP` on StorageService.  As on the
    real 4.1.1 build it exits 0 either way: the bean's name, then "null" for a void
    operation that ran, or a Java exception on stderr for one that does not exist."""
    if args[:1] != ["mx"] or "-mc" not in args or "-op" not in args or "-b" not in args:
        sys.stderr.write("The simulator's sjk knows only `mx -b BEAN -mc -op OP`\n")
        raise Exit(1)
    bean = args[args.index("-b") + 1] if args.index("-b") + 1 < len(args) else ""
    op = args[args.index("-op") + 1] if args.index("-op") + 1 < len(args) else ""
    ctx.line(bean)
    if bean != SS_BEAN or op != "forceTerminateAllRepairSessions":
        sys.stdout.flush()
        sys.stderr.write("java.lang.IllegalArgumentException: Operation %s/0 not found for %s\n" % (op, bean))
        return
    with S.locked_node(ctx.ndir) as nj:
        for x in nj.get("full_repairs", []):
            if x["state"] == "RUNNING":
                x["state"], x["last"] = "TERMINATED", time.time()
    ctx.line("null")


def cmd_repair_admin(ctx, o, args):
    """4.1's repair_admin list [--all] and cancel --session ID [--force]; the
    table is 4.1's: columns padded to their width and joined with ' | '."""
    sub = args[0] if args else "list"
    if args[1:] or sub not in ("list", "cancel"):
        raise Usage("Found unexpected parameters: %s" % jlist(args))
    sessions = ctx.nj.get("ir_sessions", [])
    if sub == "list":
        rows = [x for x in sessions if o.get("all") or x["state"] not in ("FINALIZED", "FAILED")]
        if not rows:
            ctx.line("no sessions")
            return
        now = int(time.time())
        table = [["id", "state", "last activity", "coordinator", "participants", "participants_wp"]]
        for x in rows:
            parts = [p for p in x["participants"]]
            table.append([x["id"], x["state"], "%d (s)" % (now - x["last"]), "/%s:7000" % x["coordinator"],
                          ",".join(parts), ",".join("%s:7000" % p for p in parts)])
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
        for r in table:
            ctx.line(" | ".join(c.ljust(w) for c, w in zip(r, widths)))
        return
    sid = o.get("session")
    if not sid:
        raise Usage("Required option '-s' is missing")
    found = [x for x in sessions if x["id"] == sid]
    if not found:
        raise Usage("Session {} does not exist [%s]" % sid)
    x = found[0]
    if x["coordinator"] != ctx.me["address"] and not o.get("force"):
        raise Usage("Cancel session %s from it's coordinator (/%s:7000) or use --force" % (sid, x["coordinator"]))
    if x["state"] in ("FINALIZED", "FAILED"):
        raise Usage("Invalid state transition %s -> FAILED" % x["state"])
    ir_session(ctx, sid, "FAILED")


# ---------------------------------------------------------------------------
# command table and argument parsing
# ---------------------------------------------------------------------------

# option spec: flag -> (key, kind, title); kind: 'flag', 'value', 'multi'
TAG = ("tag", "value", "tag")

# --- scale: decommission, cleanup, netstats (4.1-behaviour.md, captures/decommission*.txt) ---

def sim_mode(ctx):
    """What netstats' Mode line says of this node."""
    me = ctx.me
    if me.get("decommissioned"):
        return "DECOMMISSIONED"
    if me.get("drained"):
        return "DRAINED"
    return {"Leaving": "LEAVING", "Joining": "JOINING", "Moving": "MOVING"}.get(
        me.get("status", "Normal"), "NORMAL")


def cmd_netstats(ctx, o, args):
    ctx.w("Mode: %s\nNot sending any streams.\nRead Repair Statistics:\nAttempted: 0\n"
          "Mismatch (Blocking): 0\nMismatch (Background): 0\n" % sim_mode(ctx))
    rows = [["Pool Name", "Active", "Pending", "Completed", "Dropped"],
            ["Large messages", "n/a", "0", "0", "0"],
            ["Small messages", "n/a", "0", "0", "0"],
            ["Gossip messages", "n/a", "0", "0", "0"]]
    for ln in table_fmt(rows, "   "):
        ctx.w(ln + "\n")


def cmd_decommission(ctx, o, args):
    """4.1: the node shows UL in every view while it streams its ranges away (about 8 s on
    the real test cluster), then it is gone from the others' status and its own netstats
    says DECOMMISSIONED (the process keeps running until stopped; a restart refuses).
    Refused when a keyspace's RF could no longer be met by the nodes that stay."""
    if args:
        raise Usage("Found unexpected parameters: %s" % jlist(args))
    me = ctx.me
    if me.get("decommissioned") or me.get("status") != "Normal" and me.get("status"):
        raise ServerError("Node %s is in %s state; wait for status to become normal or restart"
                          % (ctx.endpoint(me), sim_mode(ctx)), "java.lang.UnsupportedOperationException")
    # As 4.1's StorageService.decommission without --force: every keyspace but the
    # LocalStrategy ones, N the ring's nodes now (this one included; in its DC for NTS).
    now = [n for n in ctx.cluster["nodes"] if n.get("status", "Normal") != "Joining"
           and not n.get("decommissioned")]
    for ks, kd in sorted(ctx.ks().items()):
        rep = kd["replication"]
        if rep["class"] == "NetworkTopologyStrategy":
            rf = int(rep.get(me["dc"], 0))
            n_now = sum(1 for n in now if n["dc"] == me["dc"])
        elif rep["class"] == "SimpleStrategy":
            rf = int(rep.get("replication_factor", 1))
            n_now = len(now)
        else:
            continue
        if rf > 0 and n_now <= rf:
            raise ServerError("Not enough live nodes to maintain replication factor in keyspace "
                              "%s (RF = %d, N = %d). Perform a forceful decommission to ignore."
                              % (ks, rf, n_now), "java.lang.UnsupportedOperationException")
    S.set_node_state(ctx.cdir, me["name"], status="Leaving")
    time.sleep(float(ctx.nj.get("decommission_seconds", 0.5)))
    with S.locked_cluster(ctx.cdir) as c:
        x = S.find_node(c, me["name"])
        x.update(status="Normal", decommissioned=True, removed=True)
        c.setdefault("decommissions", []).append({"name": me["name"], "at": time.time()})
    with S.locked_node(ctx.ndir) as nj:
        nj.update(status="Normal", decommissioned=True)


def cmd_cleanup(ctx, o, args):
    """`cleanup [ks [tables]]`: nothing to drop in the sim (no foreign ranges are kept);
    prints the jobs warning per keyspace as captured (captures/cleanup.txt)."""
    kss = [args[0]] if args else [k for k, v in ctx.ks().items() if not v.get("system")]
    if args and args[0] not in ctx.ks():
        raise Usage("Keyspace [%s] does not exist." % args[0])
    time.sleep(float(ctx.nj.get("cleanup_seconds", 0.0)))
    for _ in kss:
        ctx.w("jobs (2) is bigger than configured concurrent_compactors (1) on the host, "
              "using at most 1 threads\n")
    with S.locked_node(ctx.ndir) as nj:
        nj["cleanups"] = nj.get("cleanups", 0) + 1


COMMANDS = {
    "status": (cmd_status, {"-r": ("resolve", "flag", ""), "--resolve-ip": ("resolve", "flag", ""),
                            "-s": ("sort", "value", "sort"), "--sort": ("sort", "value", "sort"),
                            "-o": ("order", "value", "order"), "--order": ("order", "value", "order")}, True),
    "info": (cmd_info, {"-T": ("tokens", "flag", ""), "--tokens": ("tokens", "flag", "")}, False),
    "describecluster": (cmd_describecluster, {}, False),
    "ring": (cmd_ring, {"-r": ("resolve", "flag", ""), "--resolve-ip": ("resolve", "flag", "")}, True),
    "version": (cmd_version, {"-v": ("verbose", "flag", ""), "--verbose": ("verbose", "flag", "")}, False),
    "snapshot": (cmd_snapshot, {"-t": TAG, "--tag": TAG,
                                "-kt": ("kt", "value", "ktlist"), "--kt-list": ("kt", "value", "ktlist"),
                                "-kc": ("kt", "value", "kclist"), "--kc.list": ("kt", "value", "kclist"),
                                "-cf": ("table", "value", "table"), "--column-family": ("table", "value", "table"),
                                "--table": ("table", "value", "table"),
                                "-sf": ("sf", "flag", ""), "--skip-flush": ("sf", "flag", ""),
                                "--ttl": ("ttl", "value", "ttl")}, True),
    "listsnapshots": (cmd_listsnapshots, {"-nt": ("nottl", "flag", ""), "--no-ttl": ("nottl", "flag", ""),
                                          "-e": ("ephemeral", "flag", ""), "--ephemeral": ("ephemeral", "flag", "")},
                      False),
    "clearsnapshot": (cmd_clearsnapshot, {"-t": TAG, "--all": ("all", "flag", ""),
                                          "--older-than": ("older_than", "value", "older_than"),
                                          "--older-than-timestamp": ("older_ts", "value", "older_than_timestamp")},
                      True),
    "flush": (cmd_flush, {}, True),
    "compact": (cmd_compact, {"-s": ("split", "flag", ""), "--split-output": ("split", "flag", ""),
                              "--user-defined": ("user_defined", "flag", ""),
                              "-st": ("st", "value", "start_token"), "--start-token": ("st", "value", "start_token"),
                              "-et": ("et", "value", "end_token"), "--end-token": ("et", "value", "end_token"),
                              "--partition": ("partition", "value", "partition_key")}, True),
    "repair": (cmd_repair, {"-full": ("full", "flag", ""), "--full": ("full", "flag", ""),
                            "-pr": ("pr", "flag", ""), "--partitioner-range": ("pr", "flag", ""),
                            "-st": ("st", "value", "start_token"), "--start-token": ("st", "value", "start_token"),
                            "-et": ("et", "value", "end_token"), "--end-token": ("et", "value", "end_token"),
                            "-seq": ("seq", "flag", ""), "--sequential": ("seq", "flag", ""),
                            "-dcpar": ("dcpar", "flag", ""), "--dc-parallel": ("dcpar", "flag", ""),
                            "-j": ("jobs", "value", "job_threads"), "--job-threads": ("jobs", "value", "job_threads"),
                            "-dc": ("dc", "multi", "specific_dc"), "--in-dc": ("dc", "multi", "specific_dc"),
                            "-local": ("local", "flag", ""), "--in-local-dc": ("local", "flag", ""),
                            "-hosts": ("hosts", "multi", "specific_host"), "--in-hosts": ("hosts", "multi", "specific_host"),
                            "-pl": ("pull", "flag", ""), "--pull": ("pull", "flag", ""),
                            "-force": ("force", "flag", ""), "--force": ("force", "flag", ""),
                            "-os": ("os", "flag", ""), "--optimise-streams": ("os", "flag", ""),
                            "-iuk": ("iuk", "flag", ""), "--ignore-unreplicated-keyspaces": ("iuk", "flag", ""),
                            "-prv": ("preview", "flag", ""), "--preview": ("preview", "flag", ""),
                            "-vd": ("validate", "flag", ""), "--validate": ("validate", "flag", ""),
                            "-tr": ("trace", "flag", ""), "--trace": ("trace", "flag", ""),
                            "-inc": ("inc", "flag", ""),
                            "--paxos-only": ("paxos_only", "flag", ""), "--skip-paxos": ("skip_paxos", "flag", "")},
               True),
    "repair_admin": (cmd_repair_admin, {"-a": ("all", "flag", ""), "--all": ("all", "flag", ""),
                                        "-s": ("session", "value", "session"), "--session": ("session", "value", "session"),
                                        "-f": ("force", "flag", ""), "--force": ("force", "flag", "")}, True),
    "refresh": (cmd_refresh, {"--reset-levels": ("reset", "flag", "")}, True),
    "import": (cmd_import, {"-l": ("keep_level", "flag", ""), "--keep-level": ("keep_level", "flag", ""),
                            "-r": ("keep_repaired", "flag", ""), "--keep-repaired": ("keep_repaired", "flag", ""),
                            "-v": ("no_verify", "flag", ""), "--no-verify": ("no_verify", "flag", ""),
                            "-t": ("no_tokens", "flag", ""), "--no-tokens": ("no_tokens", "flag", ""),
                            "-c": ("no_inval", "flag", ""), "--no-invalidate-caches": ("no_inval", "flag", ""),
                            "-q": ("quick", "flag", ""), "--quick": ("quick", "flag", ""),
                            "-e": ("extended", "flag", ""), "--extended-verify": ("extended", "flag", ""),
                            "--copy-data": ("copy", "flag", "")}, True),
    "compactionstats": (cmd_compactionstats, {"-H": ("human", "flag", ""), "--human-readable": ("human", "flag", "")},
                        False),
    "drain": (cmd_drain, {}, False),
    "upgradesstables": (cmd_upgradesstables, {"-a": ("all", "flag", ""), "--include-all-sstables": ("all", "flag", "")}, True),
    "removenode": (cmd_removenode, {}, True),
    "stopdaemon": (cmd_stopdaemon, {}, False),
    "statusgossip": (cmd_statusgossip, {}, False),
    "statusbinary": (cmd_statusbinary, {}, False),
    "statusbackup": (cmd_statusbackup, {}, False),
    "enablegossip": (cmd_enablegossip, {}, False),
    "disablegossip": (cmd_disablegossip, {}, False),
    "enablebinary": (cmd_enablebinary, {}, False),
    "disablebinary": (cmd_disablebinary, {}, False),
    "enablebackup": (cmd_enablebackup, {}, False),
    "disablebackup": (cmd_disablebackup, {}, False),
    "gossipinfo": (cmd_gossipinfo, {}, False),
    "assassinate": (cmd_assassinate, {}, True),
    "getendpoints": (cmd_getendpoints, {}, True),
    "tablestats": (cmd_tablestats, {"-H": ("human", "flag", ""), "--human-readable": ("human", "flag", ""),
                                    "-i": ("ignore", "flag", ""), "-F": ("format", "value", "format"),
                                    "--format": ("format", "value", "format")}, True),
    "cfstats": (cmd_tablestats, {"-H": ("human", "flag", ""), "--human-readable": ("human", "flag", "")}, True),
    "describering": (cmd_describering, {"-pp": ("pp", "flag", "")}, True),
}
COMMANDS.update({
    "netstats": (cmd_netstats, {"-H": ("human", "flag", ""), "--human-readable": ("human", "flag", "")}, False),
    "decommission": (cmd_decommission, {"-f": ("force", "flag", ""), "--force": ("force", "flag", "")}, False),
    "cleanup": (cmd_cleanup, {"-j": ("jobs", "value", "jobs"), "--jobs": ("jobs", "value", "jobs")}, True),
})
COMMANDS.update({
    "getautorepairconfig": (cmd_getautorepairconfig, {}, False),
    "sjk": (cmd_sjk, {}, True),
})
# commands that exist only from some version on
SINCE = {"import": "4.0", "repair_admin": "4.0", "sjk": "4.0"}
# commands that exist only in a build with a feature: the node.json knob that says so
# (getautorepairconfig: CEP-37, in trunk; without it, as real 4.1.1 answers)
NEEDS_KNOB = {"getautorepairconfig": "auto_repair"}

GLOBAL_VALUE = {"-h": "host", "--host": "host", "-p": "port", "--port": "port", "-u": "username",
                "--username": "username", "-pw": "password", "--password": "password",
                "-pwf": "password_file", "--password-file": "password_file"}
GLOBAL_FLAG = {"-pp": "print_port", "--print-port": "print_port"}

HELP = """usage: nodetool [(-h <host> | --host <host>)] [(-p <port> | --port <port>)]
        [(-pw <password> | --password <password>)]
        [(-pwf <passwordFilePath> | --password-file <passwordFilePath>)]
        [(-u <username> | --username <username>)] [(-pp | --print-port)] <command> [<args>]

The most commonly used nodetool commands are:
"""


def split_globals(argv):
    g = {}
    rest = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            rest.extend(argv[i:])
            break
        key = a.split("=", 1)[0] if a.startswith("--") else a
        if key in GLOBAL_VALUE:
            if "=" in a and a.startswith("--"):
                g[GLOBAL_VALUE[key]] = a.split("=", 1)[1]
            else:
                if i + 1 >= len(argv):
                    raise Usage("Required values for option '%s' not provided" % GLOBAL_VALUE[key])
                g[GLOBAL_VALUE[key]] = argv[i + 1]
                i += 1
        elif a in GLOBAL_FLAG:
            g[GLOBAL_FLAG[a]] = True
        else:
            rest.append(a)
        i += 1
    return g, rest


def parse_command(name, tokens, spec):
    o, args, unexpected = {}, [], []
    i = 0
    while i < len(tokens):
        a = tokens[i]
        if a == "--":
            args.extend(tokens[i + 1:])
            break
        if a.startswith("-") and len(a) > 1 and not a.lstrip("-").isdigit():
            key, eq, val = (a.partition("=") if a.startswith("--") else (a, "", ""))
            if key not in spec:
                unexpected.append(a)
                i += 1
                continue
            okey, kind, title = spec[key]
            if kind == "flag":
                o[okey] = True
            else:
                if not eq:
                    if i + 1 >= len(tokens):
                        raise Usage("Required values for option '%s' not provided" % title)
                    val = tokens[i + 1]
                    i += 1
                if kind == "multi":
                    o.setdefault(okey, []).extend(v for v in val.split(",") if v)
                else:
                    o[okey] = val
        else:
            args.append(a)
        i += 1
    return o, args, unexpected


def connect_error(ctx_host, port, ver):
    msg = "Connection refused (Connection refused)" if ver == "3.11" else "Connection refused"
    sys.stderr.write("nodetool: Failed to connect to '%s:%s' - ConnectException: '%s'.\n" % (ctx_host, port, msg))
    sys.stderr.flush()


def apply_fault(nj, command):
    f = nj.get("fault") or {}
    mode = f.get("mode", "none")
    if mode == "none" or (f.get("command") and f["command"] != command):
        return
    if mode == "hang":
        while True:
            time.sleep(3600)
    if mode == "slow":
        time.sleep(float(f.get("delay", 5)))
        return
    if mode == "fail":
        raise ServerError(f.get("message") or "Operation timed out - received only 0 responses.",
                          f.get("exception") or "java.lang.RuntimeException", JMX_FRAMES)
    if mode == "garbage":
        rnd = random.Random()
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789 #$%&*+-=<>?@~"
        for _ in range(rnd.randrange(3, 12)):
            sys.stdout.write("".join(rnd.choice(alphabet) for _ in range(rnd.randrange(5, 70))) + "\n")
        sys.stdout.flush()
        raise Exit(0)


def print_server_error(e, ver):
    frames = [java8(f) for f in e.frames] if ver == "3.11" else e.frames
    exc = e.exc
    text = "error: %s\n-- StackTrace --\n%s: %s\n" % (e.msg, exc, e.msg)
    text += "".join("\tat %s\n" % f for f in frames)
    text += "\n"
    sys.stdout.flush()
    sys.stderr.write(text)
    sys.stderr.flush()


def main(argv):
    ndir = os.environ.get("RINGSIM_NODE")
    if argv and argv[0] == "--sim-node":
        if len(argv) < 2:
            sys.stderr.write("nodetool: --sim-node needs a directory\n")
            return 1
        ndir, argv = argv[1], argv[2:]
    elif argv and argv[0].startswith("--sim-node="):
        ndir, argv = argv[0].split("=", 1)[1], argv[1:]
    ver = "4.1"
    try:
        g, rest = split_globals(argv)
        if not ndir or not os.path.exists(os.path.join(ndir, "node.json")):
            sys.stderr.write("nodetool: Failed to connect to '%s:%s' - ConnectException: 'Connection refused'.\n"
                             % (g.get("host", "127.0.0.1"), g.get("port", "7199")))
            return 1
        nj = S.load_node(ndir)
        ver = nj["version"]
        delay = nj.get("nodetool_delay_ms", 0)
        if isinstance(delay, (int, float)) and delay > 0:
            time.sleep(delay / 1000.0)   # a real nodetool call starts a JVM: 0.6-1.2 s
        if not rest or rest[0] == "help":
            sys.stdout.write(HELP + "".join("    %s\n" % c for c in sorted(COMMANDS)) + "\n"
                             "See 'nodetool help <command>' for more information on a specific command.\n\n")
            return 0
        command = rest[0]
        if command not in COMMANDS or (command in SINCE and ver == "3.11") or \
                (command in NEEDS_KNOB and NEEDS_KNOB[command] not in nj):
            raise Usage("Found unexpected parameters: %s" % jlist(rest))
        handler, spec, takes_args = COMMANDS[command]
        o, args, unexpected = parse_command(command, rest[1:], spec)
        if command == "sjk":
            o, args, unexpected = {}, rest[1:], []   # sjk parses its own options
        if command == "import":
            # 4.1.1's import takes an unknown dash word (e.g. "-ci") for a positional
            # argument: `import -ci shop t DIR` fails with "ColumnFamilyStore for -ci/shop".
            args, unexpected = [a for a in rest[1:] if a in unexpected or a in args], []
        if not takes_args and args:
            unexpected += args
        if unexpected:
            raise Usage("Found unexpected parameters: %s" % jlist(unexpected))
        apply_fault(nj, command)
        ctx = Ctx(ndir, print_port=bool(g.get("print_port")))
        if not ctx.me.get("up"):
            connect_error(g.get("host", "127.0.0.1"), g.get("port", "7199"), ver)
            return 1
        handler(ctx, o, args)
        sys.stdout.flush()
        return 0
    except Usage as e:
        sys.stdout.write("nodetool: %s\nSee 'nodetool help' or 'nodetool help <command>'.\n" % e)
        sys.stdout.flush()
        return 1
    except ServerError as e:
        print_server_error(e, ver)
        return 2
    except Exit as e:
        sys.stdout.flush()
        return e.code
    except BrokenPipeError:
        return 1


def run(argv):
    """The exit status of one nodetool command line (the launcher,
    tests/sim/nodetool, calls this)."""
    try:
        return main(argv)
    except KeyboardInterrupt:
        return 130
