#!/usr/bin/python3
"""bench_restore.py - restore benchmark against s3rver on loopback.

One simulated node's backup (SIZE_MIB of SSTables) is uploaded once, then,
in one run and taking turns ROUNDS times (the best of each kept):

  1. `ringagent backup-restore --mode restore --parallel PARALLEL`: space
     check, every file streamed into the staging tree with its SHA-256
     checked on the way and fsynced, each table loaded (the sim's
     `nodetool import`, which renames) as soon as its files are in;
  2. PARALLEL parallel `curl` GETs of the same objects into a directory;
  3. boto3's transfer manager (download_file, PARALLEL threads), when
     python3-boto3 is installed.

Before each agent round the node's live SSTables are deleted, so every
round restores the whole node.  The agent's peak RSS (wait4 ru_maxrss) and
CPU time are printed too.  Knobs (environment): SIZE_MIB (1024), PARALLEL
(8), ROUNDS (2).  Prints numbers and the commands that made them; never
asserts.

  make bench BENCHES=restore   or   BIN=bin tests/bench/bench_restore.py
"""
import concurrent.futures
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_backup import (BUCKET, agent_conf, simlib, start_s3,  # noqa: E402
                          upload)

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("BIN", REPO / "bin"))
SIZE_MIB = int(os.environ.get("SIZE_MIB", "1024"))
PAR = int(os.environ.get("PARALLEL", "8"))
ROUNDS = max(1, int(os.environ.get("ROUNDS", "2")))


def wipe_live(c, n):
    for p in Path(c.data_dir(n)).glob("ks1/*/*"):
        if p.is_file():
            p.unlink()


def restore(c, n, ep, key):
    """backup-restore --mode restore: (seconds, data, peak RSS KiB, command,
    CPU seconds)."""
    argv = [str(BIN / "ringagent"), "-f", str(agent_conf(c, n)), "backup-restore", "--json",
            "--store", f"s3://{BUCKET}/p1", "--endpoint", ep, "--manifest", key,
            "--mode", "restore", "--parallel", str(PAR)]
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    out = p.stdout.read().decode()
    _, status, ru = os.wait4(p.pid, 0)
    dt = time.monotonic() - t0
    res = json.loads(out.splitlines()[-1])
    if not res["ok"]:
        raise SystemExit(f"backup-restore failed: {res}")
    return dt, res["data"], ru.ru_maxrss, " ".join(argv), ru.ru_utime + ru.ru_stime


def curl_gets(keys, ep, dest):
    dest.mkdir(parents=True, exist_ok=True)

    def get(i_k):
        i, k = i_k
        subprocess.run(["curl", "-s", "-f", "-o", str(dest / str(i)),
                        f"{ep}/{BUCKET}/p1/{k}"], check=True)
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(PAR) as ex:
        list(ex.map(get, enumerate(keys)))
    dt = time.monotonic() - t0
    shutil.rmtree(dest)
    return dt


def boto3_gets(keys, ep, dest):
    try:
        import boto3
        from boto3.s3.transfer import TransferConfig
    except ImportError:
        return None
    dest.mkdir(parents=True, exist_ok=True)
    s3 = boto3.client("s3", endpoint_url=ep, aws_access_key_id="S3RVER",
                      aws_secret_access_key="S3RVER", region_name="us-east-1")
    cfg = TransferConfig(max_concurrency=PAR)
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(PAR) as ex:
        list(ex.map(lambda i_k: s3.download_file(BUCKET, f"p1/{i_k[1]}",
                                                 str(dest / str(i_k[0])), Config=cfg),
                    enumerate(keys)))
    dt = time.monotonic() - t0
    shutil.rmtree(dest)
    return dt


def main():
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "S3RVER")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "S3RVER")
    tmp = Path(tempfile.mkdtemp(prefix="bench_restore."))
    s3p, ep = start_s3(tmp / "s3")
    c = None
    try:
        per = 32
        nss = max(1, SIZE_MIB // per)
        c = simlib.SimCluster.create(tmp / "one", nodes=1, keyspaces=1, tables=4,
                                     sstables=max(1, nss // 4), sstable_size=f"{per}M",
                                     base_address=f"127.0.{42 + os.getpid() % 150}.11")
        c.start_cassandra("node1")
        subprocess.run([str(BIN / "ringagent"), "-f", str(agent_conf(c, "node1")), "snapshot",
                        "--tag", "b1", "--keyspace", "ks1", "--json"], check=True,
                       stdout=subprocess.DEVNULL)
        _, up, _, _, _ = upload(c, "node1", ep, "b1", "b1", prefix="p1")
        key = up["manifest"]
        nm = json.loads((tmp / "s3" / BUCKET / "p1").joinpath(
            key + "._S3rver_object").read_text())
        keys = [f["key"] for f in nm["files"] if f["keyspace"] == "ks1"]
        mib = sum(f["size"] for f in nm["files"] if f["keyspace"] == "ks1") / 1048576
        dt = dt_c = dt_b = rss = None
        for r in range(ROUNDS):
            wipe_live(c, "node1")
            got = restore(c, "node1", ep, key)
            if dt is None or got[0] < dt:
                dt, data, _, cmd, cpu = got
            rss = got[2] if rss is None else min(rss, got[2])
            t = curl_gets(keys, ep, tmp / f"curl{r}")
            dt_c = t if dt_c is None else min(dt_c, t)
            t = boto3_gets(keys, ep, tmp / f"boto3{r}")
            dt_b = t if dt_b is None or t is None else min(dt_b, t)
        load = os.getloadavg()
        print(f"data: 1 node, {len(keys)} files in {data['tables_total']} tables, {mib:.0f} MiB "
              f"(SIZE_MIB={SIZE_MIB}), best of {ROUNDS} rounds, load average "
              f"{load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
        print(f"ringagent backup-restore  {mib / dt:8.1f} MiB/s  ({dt:.2f} s, {PAR} threads, "
              f"SHA-256 checked, fsync, {data['tables_loaded']} tables loaded)")
        print(f"  result: {data['summary']}")
        print(f"  agent CPU               {cpu:8.2f} s  (user + system)")
        print(f"  agent peak RSS          {rss / 1024:8.1f} MiB")
        print(f"  command: {cmd}")
        print(f"{PAR} parallel curl GETs     {mib / dt_c:8.1f} MiB/s  ({dt_c:.2f} s)")
        if dt_b is None:
            print("boto3 transfer manager    (python3-boto3 not installed)")
        else:
            print(f"boto3 transfer manager    {mib / dt_b:8.1f} MiB/s  ({dt_b:.2f} s, "
                  f"{PAR} threads)")
        print(f"ratio agent/curl {dt_c / dt:.2f}" + (f", agent/boto3 {dt_b / dt:.2f}"
                                                      if dt_b else ""))
    finally:
        if c is not None:
            c.cleanup()
        os.killpg(s3p.pid, signal.SIGTERM)
        s3p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
