#!/usr/bin/env python3
"""Memory of a loaded orchestrator: CLUSTERS clusters x NODES nodes check in
(clusters are created by the check-ins), then every node heartbeats once per
INTERVAL seconds for CYCLES intervals; prints the daemon's VmRSS.

    bench_http_rss.py BASE_URL JOIN_TOKEN PID [CLUSTERS NODES INTERVAL CYCLES]
"""
import json
import sys
import threading
import time
import http.client
from urllib.parse import urlparse


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def worker(url, token, bodies, path, errors):
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    hdr = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    for b in bodies:
        conn.request("POST", path, body=b, headers=hdr)
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            errors.append(r.status)
    conn.close()


def fan_out(url, token, bodies, path, nthreads=8):
    errors = []
    chunks = [bodies[i::nthreads] for i in range(nthreads)]
    ts = [threading.Thread(target=worker, args=(url, token, c, path, errors)) for c in chunks]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return errors


def main():
    url, token, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
    clusters, nodes, interval, cycles = (int(x) for x in (sys.argv[4:8] or (1000, 10, 10, 3)))
    addrs = [(f"c{c:04d}", f"10.{c // 250}.{c % 250}.{n + 1}")
             for c in range(clusters) for n in range(nodes)]
    print(f"rss before check-ins: {rss_kib(pid) / 1024:.1f} MiB")
    t0 = time.time()
    errs = fan_out(url, token, [json.dumps({
        "cluster": c, "address": a, "dc": "dc1", "rack": "r1",
        "cassandra_version": "4.1.3"}) for c, a in addrs], "/api/v1/agents/checkin")
    print(f"{len(addrs)} check-ins in {time.time() - t0:.1f}s, {len(errs)} errors")
    hb = [json.dumps({"cluster": c, "address": a, "status": "up", "load_bytes": 10 ** 9})
          for c, a in addrs]
    for cycle in range(cycles):
        start = time.time()
        errs = fan_out(url, token, hb, "/api/v1/agents/heartbeat")
        took = time.time() - start
        print(f"cycle {cycle + 1}: {len(hb)} heartbeats in {took:.1f}s, {len(errs)} errors, "
              f"rss {rss_kib(pid) / 1024:.1f} MiB")
        if took < interval:
            time.sleep(interval - took)
    final = rss_kib(pid) / 1024
    print(f"RSS after {clusters} clusters x {nodes} nodes heartbeating every {interval}s: "
          f"{final:.1f} MiB (target < 64 MiB): {'PASS' if final < 64 else 'FAIL'}")


if __name__ == "__main__":
    main()
