#!/usr/bin/python3
"""bench_backup.py - backup benchmarks against s3rver on loopback.

  1. throughput: `ringagent backup-upload` of one simulated node (SIZE_MIB of
     SSTables) vs 8 parallel curl PUTs of the same files vs boto3's transfer
     manager with 8 threads (when python3-boto3 is installed), in one run;
  2. agent peak RSS (wait4 ru_maxrss) during that upload;
  3. an unchanged second backup of 3 nodes x SSTABLES SSTables (8 files each),
     the three agents run at once as the upload step runs them.

The agent is run directly (no SSH, no orchestrator): these figures are the
agent's own.  Knobs (environment): SIZE_MIB (1024), SSTABLES (1000),
PARALLEL (8), ROUNDS (2: agent, curl and boto3 take turns, the best of each
is kept, so a busy moment does not decide a ratio).  The agent's CPU time
(user + system) is printed too: on a shared machine it moves less than the
wall time.  Prints numbers and the commands that made them; never asserts.

  make bench   or   BIN=bin tests/bench/bench_backup.py
"""
import concurrent.futures
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("BIN", REPO / "bin"))
S3RVER = REPO / "tests/s3/node_modules/.bin/s3rver"
sys.path.insert(0, str(REPO / "tests/sim"))
import simlib  # noqa: E402

SIZE_MIB = int(os.environ.get("SIZE_MIB", "1024"))
SSTABLES = int(os.environ.get("SSTABLES", "1000"))
PAR = int(os.environ.get("PARALLEL", "8"))
ROUNDS = max(1, int(os.environ.get("ROUNDS", "2")))
BUCKET = "bench"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_s3(d):
    port = free_port()
    env = dict(os.environ, NODE_OPTIONS="--openssl-legacy-provider")
    p = subprocess.Popen([str(S3RVER), "-d", str(d), "-a", "127.0.0.1", "-p", str(port),
                          "--configure-bucket", BUCKET, "--silent"], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True)
    deadline, delay = time.monotonic() + 20, 0.05
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return p, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(delay)
            delay = min(delay * 2, 1)
    raise SystemExit("s3rver did not start")


def agent_conf(c, n):
    nd = Path(c.node_dir(n))
    conf = nd / "bench-agent.conf"
    conf.write_text(f"nodetool = {nd / 'bin' / 'nodetool'}\ndata_dirs = {nd / 'data'}\n"
                    f"state_dir = {nd / 'agent-state'}\naddress = {c.address(n)}\n"
                    "nodetool_timeout = 60s\n")
    return conf


def upload(c, n, ep, bid, tag, prev=None, prefix="p1"):
    """Run backup-upload; returns (seconds, result data, peak RSS KiB, command,
    CPU seconds)."""
    argv = [str(BIN / "ringagent"), "-f", str(agent_conf(c, n)), "backup-upload", "--json",
            "--store", f"s3://{BUCKET}/{prefix}", "--endpoint", ep, "--cluster", "bench",
            "--backup-id", bid, "--tag", tag, "--parallel", str(PAR)]
    if prev:
        argv += ["--previous", prev]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    out = p.stdout.read().decode()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    dt = time.monotonic() - t0
    res = json.loads(out.splitlines()[-1])
    if not res["ok"]:
        raise SystemExit(f"backup-upload failed: {res}")
    return dt, res["data"], ru.ru_maxrss, " ".join(argv), ru.ru_utime + ru.ru_stime


def snapshot_files(c, n, tag):
    return sorted(p for p in Path(c.data_dir(n)).rglob(f"snapshots/{tag}/*")
                  if p.is_file() and p.name not in ("manifest.json", "schema.cql"))


def curl_puts(files, ep, prefix):
    def put(i_f):
        i, f = i_f
        subprocess.run(["curl", "-s", "-o", "/dev/null", "-X", "PUT", "-T", str(f),
                        f"{ep}/{BUCKET}/{prefix}/{i}-{f.name}"], check=True)
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(PAR) as ex:
        list(ex.map(put, enumerate(files)))
    return time.monotonic() - t0


def boto3_puts(files, ep, prefix):
    try:
        import boto3
        from boto3.s3.transfer import TransferConfig
    except ImportError:
        return None
    s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id="S3RVER",
                      aws_secret_access_key="S3RVER", region_name="us-east-1")
    cfg = TransferConfig(max_concurrency=PAR)
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(PAR) as ex:
        list(ex.map(lambda i_f: s3.upload_file(str(i_f[1]), BUCKET,
                                                f"{prefix}/{i_f[0]}-{i_f[1].name}", Config=cfg),
                    enumerate(files)))
    return time.monotonic() - t0


def main():
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "S3RVER")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "S3RVER")
    tmp = Path(tempfile.mkdtemp(prefix="bench_backup."))
    s3p, ep = start_s3(tmp / "s3")
    clusters = []
    try:
        # 1 + 2: one node, SIZE_MIB of data in 32 MiB-ish SSTables.
        per = 32
        nss = max(1, SIZE_MIB // per)
        c = simlib.SimCluster.create(tmp / "one", nodes=1, keyspaces=1, tables=1, sstables=nss,
                                     sstable_size=f"{per}M",
                                     base_address=f"127.0.{40 + os.getpid() % 150}.11")
        clusters.append(c)
        c.start_cassandra("node1")
        subprocess.run([str(BIN / "ringagent"), "-f", str(agent_conf(c, "node1")), "snapshot",
                        "--tag", "b1", "--json"], check=True, stdout=subprocess.DEVNULL)
        files = snapshot_files(c, "node1", "b1")
        mib = sum(f.stat().st_size for f in files) / 1048576
        dt = dt_c = dt_b = rss = None
        for r in range(ROUNDS):
            got = upload(c, "node1", ep, "b1", "b1", prefix=f"p1r{r}")
            if dt is None or got[0] < dt:
                dt, data, _, cmd, cpu = got
            # Linux keeps ru_maxrss across exec: a child forked once this
            # process holds boto3 starts from its size.  The least is the
            # agent's own.
            rss = got[2] if rss is None else min(rss, got[2])
            t = curl_puts(files, ep, f"curl{r}")
            dt_c = t if dt_c is None else min(dt_c, t)
            t = boto3_puts(files, ep, f"boto3{r}")
            dt_b = t if dt_b is None or t is None else min(dt_b, t)
        print(f"data: 1 node, {len(files)} files, {mib:.0f} MiB (SIZE_MIB={SIZE_MIB}), "
              f"best of {ROUNDS} rounds")
        print(f"ringagent backup-upload   {mib / dt:8.1f} MiB/s  ({dt:.2f} s, {PAR} threads, "
              f"SHA-256 of every file included)")
        print(f"  agent CPU               {cpu:8.2f} s  (user + system)")
        print(f"  agent peak RSS          {rss / 1024:8.1f} MiB")
        print(f"  command: {cmd}")
        print(f"8 parallel curl PUTs      {mib / dt_c:8.1f} MiB/s  ({dt_c:.2f} s)")
        if dt_b is None:
            print("boto3 transfer manager    (python3-boto3 not installed)")
        else:
            print(f"boto3 transfer manager    {mib / dt_b:8.1f} MiB/s  ({dt_b:.2f} s, "
                  f"{PAR} threads)")
        print(f"ratio agent/curl {dt_c / dt:.2f}" + (f", agent/boto3 {dt_b / dt:.2f}"
                                                      if dt_b else ""))
        c.cleanup()

        # 3: 3 nodes x SSTABLES SSTables, unchanged second backup.
        tables = 10
        c3 = simlib.SimCluster.create(tmp / "three", nodes=3, keyspaces=1, tables=tables,
                                      sstables=max(1, SSTABLES // tables), sstable_size="1K",
                                      base_address=f"127.0.{41 + os.getpid() % 150}.11")
        clusters.append(c3)
        for n in c3.names:
            c3.start_cassandra(n)

        def both(n):
            conf = agent_conf(c3, n)
            for tag in ("s1", "s2"):
                subprocess.run([str(BIN / "ringagent"), "-f", str(conf), "snapshot", "--tag",
                                tag, "--json"], check=True, stdout=subprocess.DEVNULL)
            d1 = upload(c3, n, ep, "b1", "s1", prefix="p3")
            return d1

        with concurrent.futures.ThreadPoolExecutor(3) as ex:
            firsts = list(ex.map(both, c3.names))
        nfiles = sum(f[1]["files"] for f in firsts)
        hosts = {n: f[1]["host_id"] for n, f in zip(c3.names, firsts)}
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(3) as ex:
            seconds = list(ex.map(lambda n: upload(
                c3, n, ep, "b2", "s2", prefix="p3",
                prev=f"bench/backups/b1/nodes/{hosts[n]}.json"), c3.names))
        dt2 = time.monotonic() - t0
        up = sum(s[1]["files_uploaded"] for s in seconds)
        print(f"unchanged second backup: 3 nodes x {SSTABLES} SSTables ({nfiles} files): "
              f"{dt2:.2f} s wall, {up} files uploaded (first backup: "
              f"{max(f[0] for f in firsts):.2f} s)")
        print(f"  command per node: {seconds[0][3]}")
    finally:
        for c in clusters:
            c.cleanup()
        os.killpg(s3p.pid, signal.SIGTERM)
        s3p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
