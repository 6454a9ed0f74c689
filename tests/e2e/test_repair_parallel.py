"""Parallel repair through the segment scheduler (orchestrator/tasks/repair_par.c,
docs/repair.md "The scheduler"): six simulated nodes, ks1 with
NetworkTopologyStrategy datacenter1: 3, real sshd, agents and orchestrator.

The sim's nodetool writes one line per -st/-et repair to the cluster's
repair_log.jsonl (who coordinated, which replicas, start and end), so the
test sees what ran when: no node is ever in two repairs at once, every ring
range is repaired, and more than one segment ran at a time.  A down node
postpones the segments it replicates until it is back."""
import json
import os
import time
from datetime import datetime
from pathlib import Path

from agentutil import RINGAGENT, sim_factory, simlib, wait_for, write_agent_conf  # noqa: F401
from orch import orch, orch_factory  # noqa: F401

STEP = "repair segments"


def prepare(c, o, tmp_path):
    """The cluster with the sim's SSH settings and every agent checked in;
    returns the agent command template."""
    o.ok("POST", "/api/v1/clusters", {
        "name": "sim", "storage": {"url": f"file://{tmp_path}/store"},
        "ssh": {"user": "root", "port": c.ssh_port, "key_file": c.key}}, status=201)
    tok = tmp_path / "join.token"
    tok.write_text(o.join_token + "\n")
    confs = tmp_path / "confs"
    confs.mkdir()
    for n in c.names:
        conf = write_agent_conf(c, n, o.base, tok)
        os.symlink(conf, confs / f"{c.address(n)}.conf")
    c.start_all(agent=str(RINGAGENT))
    wait_for(lambda: len([n for n in nodes(o).values() if n["state"] == "up"]) == len(c.names),
             "every node up", timeout=60)
    return f"{RINGAGENT} -f {confs}/{{address}}.conf"


def nodes(o):
    return {n["address"]: n for n in o.ok("GET", "/api/v1/clusters/sim/nodes")["items"]}


def repair_log(c):
    p = Path(c.dir) / "repair_log.jsonl"
    if not p.exists():
        return []
    return [json.loads(ln) for ln in p.read_text().splitlines() if ln.strip()]


def most_at_once(log):
    """The most repairs any one node took part in at the same time."""
    worst = 0
    names = {r for e in log for r in e["replicas"]}
    for n in names:
        mine = sorted((e["start"], e["end"]) for e in log if n in e["replicas"])
        events = sorted([(s, 1) for s, _ in mine] + [(e, -1) for _, e in mine],
                        key=lambda x: (x[0], x[1]))
        cur = 0
        for _, d in events:
            cur += d
            worst = max(worst, cur)
    return worst


W = 1 << 64


def width(a, b):
    return (b - a) % W or W


def inside(r, p):
    """Piece p lies in ring range r (both (start, end], r may wrap)."""
    ws = (p[0] - r[0]) % W
    we = (p[1] - r[0]) % W or W
    return ws < we <= width(*r)


def check_tiling(log, ranges):
    """Every piece lies in one ring range of ks1, on that range's replicas,
    and the pieces of each range add up to exactly the range."""
    total = {(a, b): 0 for a, b, _o, _r in ranges}
    for e in log:
        p = tuple(e["range"])
        hits = [(a, b, reps) for a, b, _o, reps in ranges if inside((a, b), p)]
        assert len(hits) == 1, (p, hits)
        a, b, reps = hits[0]
        assert sorted(reps) == e["replicas"] and e["coordinator"] in reps, (e, reps)
        total[(a, b)] += width(*p)
    for (a, b), w in total.items():
        assert w == width(a, b), ((a, b), w, log)


def counts(msg):
    """{"done": N, "running": N, ...} of the step's "segments: ..." message."""
    if not msg.startswith("segments: "):
        return None
    out = {}
    for part in msg[len("segments: "):].split(", "):
        n, word = part.split(" ", 1)
        out[word] = int(n)
    return out


def finished(o, tid, timeout=300):
    return o.wait_task(tid, states=("succeeded", "failed", "cancelled", "partial"),
                       timeout=timeout)


def test_parallel_repair_never_puts_a_node_in_two_segments(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=6, num_tokens=4)
    for n in c.names:
        c.set(n, "repair_delay", 0.3)
    agent = prepare(c, orch, tmp_path)
    t = orch.submit("sim", "repair", agent=agent, timeout_s=120, keyspace="ks1",
                    parallelism=0, segments_per_node=2)
    assert [s["name"] for s in t["steps"]] == [STEP], t["steps"]
    t = finished(orch, t["id"])
    assert t["state"] == "succeeded", t
    msg = t["steps"][0]["message"]
    assert msg.startswith("all ") and "segments repaired" in msg, msg
    # the scheduler ran several at once (6 nodes, RF 3: two disjoint sets)
    at_once = int(msg.split("up to ", 1)[1].split(" ", 1)[0])
    assert at_once >= 2, msg

    log = repair_log(c)
    nseg = int(msg.split("all ", 1)[1].split(" ", 1)[0])
    assert most_at_once(log) == 1, log
    # every range of ks1 was repaired, whole, by its own replicas
    check_tiling(log, simlib.token_ranges(simlib.load_cluster(c.dir), "ks1"))

    # one record per segment in the step's "nodes": ranges, replicas, the
    # node it ran on, its state, and how long it took
    recs = t["steps"][0].get("nodes") or []
    assert len(recs) == nseg, recs
    assert sorted(r["node"] for r in recs) == sorted(f"segment {i}" for i in range(1, nseg + 1))
    # one -st/-et repair per range of every segment
    assert len(log) == ranges_of(recs), (len(log), recs)
    for r in recs:
        assert r["state"] == "done", r
        assert r["phase"].startswith("ranges (") and " replicas " in r["phase"], r
        on = r["phase"].rsplit(" on ", 1)[1]
        assert on in r["phase"].split(" replicas ", 1)[1].split(" ")[0].split(","), r
        assert r["message"].startswith("repaired ks1: ") and " ms" in r["message"], r


def test_parallelism_one_at_a_time_and_bad_values_refused(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=6, num_tokens=2)
    for n in c.names:
        c.set(n, "repair_delay", 0.1)
    agent = prepare(c, orch, tmp_path)
    t = finished(orch, orch.submit("sim", "repair", agent=agent, timeout_s=120,
                                   keyspace="ks1", parallelism=2)["id"])
    assert t["state"] == "succeeded", t
    assert "up to 2 at once" in t["steps"][0]["message"], t["steps"][0]
    assert most_at_once(repair_log(c)) == 1

    for params, words in (({"parallelism": -1, "keyspace": "ks1"}, "parallelism"),
                          ({"parallelism": 2000, "keyspace": "ks1"}, "parallelism"),
                          ({"parallelism": "2", "keyspace": "ks1"}, "parallelism"),
                          ({"parallelism": 1, "segment_timeout": "1m"},
                           "needs the segment scheduler"),
                          ({"parallelism": 0, "keyspace": "ks1", "retry_backoff": "2h"},
                           "params.retry_backoff '2h' is not a duration up to 1h"),
                          ({"parallelism": 0, "keyspace": "ks1", "retry_backoff": "soon"},
                           "retry_backoff"),
                          ({"keyspace": "ks1", "parallelism": 1, "retry_backoff": "5s"},
                           "params.retry_backoff needs the segment scheduler"),
                          ({"parallelism": 0, "keyspace": "ks1", "resume": "x"},
                           "params.resume 'x' is not a task id")):
        before = len(orch.ok("GET", "/api/v1/clusters/sim/tasks")["items"])
        r = orch.post("/api/v1/clusters/sim/tasks", {"type": "repair", "params": params})
        assert r.status_code == 400 and words in r.text, (params, r.text)
        assert len(orch.ok("GET", "/api/v1/clusters/sim/tasks")["items"]) == before


def test_default_repairs_every_keyspace_nodetool_would_with_its_own_replicas(sim_factory, orch, tmp_path):  # noqa: F811
    """No params: the scheduler (parallelism 0) over every keyspace nodetool
    repair without one repairs: ks1 (NTS datacenter1: 3) and system_traces
    (SimpleStrategy 2), each range on its own keyspace's replicas;
    system_auth (RF 1) named as nothing to do; system_distributed and the
    LocalStrategy keyspaces left out."""
    c = sim_factory(nodes=6, num_tokens=2)
    for n in c.names:
        c.set(n, "repair_delay", 0.1)
    agent = prepare(c, orch, tmp_path)
    t = orch.submit("sim", "repair", agent=agent, timeout_s=120)
    assert t["params"]["parallelism"] == 0, t["params"]
    assert [s["name"] for s in t["steps"]] == [STEP], t["steps"]
    t = finished(orch, t["id"])
    assert t["state"] == "succeeded", t
    msg = t["steps"][0]["message"]
    assert msg.startswith("all ") and msg.endswith("; nothing to do for system_auth (RF 1)"), msg
    log = repair_log(c)
    assert sorted({e["keyspace"] for e in log}) == ["ks1", "system_traces"], log
    assert most_at_once(log) == 1, log
    state = simlib.load_cluster(c.dir)
    for ks in ("ks1", "system_traces"):
        check_tiling([e for e in log if e["keyspace"] == ks], simlib.token_ranges(state, ks))
    recs = t["steps"][0].get("nodes") or []
    assert len(recs) == int(msg.split("all ", 1)[1].split(" ", 1)[0]), (recs, msg)
    assert len(log) == ranges_of(recs), (len(log), recs)
    # 16 vnodes' ranges grouped by replica set: far fewer segments than
    # ranges (2 tokens x 6 nodes = 12 ranges a keyspace, 6 wanted)
    assert len(recs) < len(log), (len(recs), len(log))
    for r in recs:
        ks = r["phase"].split(" keyspace ", 1)[1].split(" on ", 1)[0]
        assert ks in ("ks1", "system_traces") and r["message"].startswith(f"repaired {ks}: "), r

    # the keyspaces it repaired completely have their last success: its end
    m = metric_values(orch)
    for ks in ("ks1", "system_traces"):
        assert abs(m[last_success(ks)] - epoch(t["finished_at"])) < 1.01, (ks, m)
    assert last_success("system_auth") not in m and last_success("system_distributed") not in m


def test_default_on_cassandra_3_is_the_per_node_steps(sim_factory, orch, tmp_path):  # noqa: F811
    """Cassandra 3.11 cannot give the keyspaces' replication: parallelism 0
    plans the per-node steps, which say why; the scheduler's own params are
    refused, and an explicit parallelism 2 fails with repair-ring's reason."""
    c = sim_factory(nodes=3, num_tokens=2, version="3.11")
    agent = prepare(c, orch, tmp_path)
    wait_for(lambda: all((n.get("version") or "").startswith("3.") for n in nodes(orch).values()),
             "every node's version reported", timeout=30)
    t = orch.submit("sim", "repair", agent=agent, timeout_s=120)
    assert [s["name"] for s in t["steps"]] == ["repair"] * 3 + ["postponed segments"], t["steps"]
    t = finished(orch, t["id"])
    assert t["state"] == "succeeded", t
    for s in t["steps"][:3]:
        assert s["message"].startswith("repaired ") and " ks1 " in s["message"] and s["message"].endswith(
            "(parallelism 0 on Cassandra 3.x: per-node steps)"), s

    r = orch.post("/api/v1/clusters/sim/tasks", {"type": "repair",
                                                  "params": {"segment_timeout": "1m"}})
    assert r.status_code == 400 and "cannot run on Cassandra 3.x" in r.text, r.text
    t = finished(orch, orch.submit("sim", "repair", agent=agent, timeout_s=120, keyspace="ks1",
                                   parallelism=2)["id"])
    assert t["state"] == "failed" and "3.x" in json.dumps(t["steps"][0]), t


def test_down_node_postpones_its_segments_until_it_is_back(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=6, num_tokens=2)
    for n in c.names:
        c.set(n, "repair_delay", 0.05)
    agent = prepare(c, orch, tmp_path)
    down = c.names[2]
    c.stop_cassandra(down)
    wait_for(lambda: nodes(orch)[c.address(down)]["state"] == "down",
             "the node down in the orchestrator", timeout=30)
    t = orch.submit("sim", "repair", agent=agent, timeout_s=120, keyspace="ks1",
                    parallelism=0, down_deadline="10m")

    def waiting():
        cur = orch.task(t["id"])
        assert cur["state"] == "running", cur
        n = counts(cur["steps"][0]["message"] or "")
        if n and n["running"] == 0 and n["pending"] == 0 and n["postponed"] > 0:
            return cur
        return None
    cur = wait_for(waiting, "only the down node's segments left, postponed", timeout=120)
    assert counts(cur["steps"][0]["message"])["failed"] == 0, cur
    recs = cur["steps"][0].get("nodes") or []
    waiting_recs = [r for r in recs if r["state"] == "postponed"]
    assert waiting_recs, recs
    for r in waiting_recs:
        assert c.address(down) in r["phase"] and "waiting for " + c.address(down) in r["message"], r
    log = repair_log(c)
    assert log, cur
    assert all(down not in e["replicas"] for e in log), log

    c.start_cassandra(down)
    t = finished(orch, t["id"])
    assert t["state"] == "succeeded", t
    msg = t["steps"][0]["message"]
    assert msg.startswith("all ") and "segments repaired" in msg, msg
    log = repair_log(c)
    assert any(down in e["replicas"] for e in log), log
    assert most_at_once(log) == 1
    check_tiling(log, simlib.token_ranges(simlib.load_cluster(c.dir), "ks1"))


def test_down_node_past_down_deadline_ends_partial(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=6, num_tokens=2)
    agent = prepare(c, orch, tmp_path)
    down = c.names[4]
    c.stop_cassandra(down)
    wait_for(lambda: nodes(orch)[c.address(down)]["state"] == "down",
             "the node down in the orchestrator", timeout=30)
    t = finished(orch, orch.submit("sim", "repair", agent=agent, timeout_s=120,
                                   keyspace="ks1", parallelism=0,
                                   down_deadline="5s")["id"])
    assert t["state"] == "partial", t
    msg = t["steps"][0]["message"]
    assert msg.startswith("partial: ") and "unrepaired ranges: (" in msg, msg
    assert "postponed past down_deadline" in msg, msg
    # the task's error says what is missing and how to resume it
    assert "segments not repaired" in t["error"] and f'"resume": "{t["id"]}"' in t["error"], t

    # the history names exactly the ranges the down node replicates
    ranges = simlib.token_ranges(simlib.load_cluster(c.dir), "ks1")
    want = merged([(a, b) for a, b, _o, reps in ranges if down in reps])
    h = orch.ok("GET", "/api/v1/clusters/sim/repairs")
    assert h["next"] is None and len(h["items"]) == 1, h
    r = h["items"][0]
    assert r["id"] == t["id"] and r["state"] == "partial" and r["outcome"] == "partial", r
    assert r["keyspace"] == "ks1" and r["parallelism"] == 0, r
    got = [(int(x["start"]), int(x["end"])) for x in r["unrepaired_ranges"]]
    assert got == want, (got, want)
    segs = r["segments"]
    assert segs["done"] > 0 and segs["postponed"] + segs["pending"] > 0 and segs["failed"] == 0, r
    assert r["summary"] == t["error"] and r["finished_at"], r
    assert all(down not in e["replicas"] for e in repair_log(c))

    # the same in the metrics
    m = metric_values(orch)
    assert m[('ringmaster_repair_ranges_unrepaired', 'cluster="sim",keyspace="ks1"')] == len(want), m
    for state in ("done", "failed", "postponed", "pending", "split"):
        key = ("ringmaster_repair_segments", f'cluster="sim",keyspace="ks1",state="{state}"')
        assert m[key] == segs[state], (state, m)
    # and as a task state: counted, listed by ?state=
    assert m[("ringmaster_task_partial_total", 'type="repair"')] == 1, m
    assert m[("ringmaster_tasks", 'type="repair",state="partial"')] == 1, m
    listed = orch.ok("GET", "/api/v1/clusters/sim/tasks?state=partial")["items"]
    assert [x["id"] for x in listed] == [t["id"]], listed
    assert orch.ok("GET", "/api/v1/clusters/sim/tasks?state=succeeded")["items"] == []
    # partial: ks1 was not repaired completely
    assert last_success("ks1") not in m, m

    # once the node is back, a complete repair of ks1 (the per-node steps)
    # is its last success
    c.start_cassandra(down)
    wait_for(lambda: nodes(orch)[c.address(down)]["state"] == "up", "the node back", timeout=60)
    t2 = finished(orch, orch.submit("sim", "repair", agent=agent, timeout_s=120,
                                    keyspace="ks1", parallelism=1)["id"])
    assert t2["state"] == "succeeded", t2
    m = metric_values(orch)
    assert abs(m[last_success("ks1")] - epoch(t2["finished_at"])) < 1.01, m


def ranges_of(recs):
    """How many ranges the segment records hold ("ranges (a,b] (c,d] replicas ...")."""
    return sum(r["phase"].split(" replicas ", 1)[0].count("(") for r in recs)


def last_success(ks):
    return ("ringmaster_repair_last_success_timestamp_seconds", f'cluster="sim",keyspace="{ks}"')


def epoch(iso):
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def metric_values(o):
    """{(name, labels): value} of GET /metrics."""
    r = o.get("/metrics")
    assert r.status_code == 200, r.text
    out = {}
    for ln in r.text.splitlines():
        if ln.startswith("#") or not ln.strip():
            continue
        name, value = ln.rsplit(" ", 1)
        labels = ""
        if "{" in name:
            name, labels = name[:-1].split("{", 1)
        out[(name, labels)] = float(value)
    return out


def merged(ranges):
    """Sorted by start, (a,b] (b,c] joined, as the history gives them."""
    v = sorted(ranges)
    out = []
    for a, b in v:
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def test_repair_history(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=6, num_tokens=2)
    agent = prepare(c, orch, tmp_path)
    ids = []
    for params in ({"parallelism": 0}, {"parallelism": 1}, {"parallelism": 3}):
        t = finished(orch, orch.submit("sim", "repair", agent=agent, timeout_s=120,
                                       keyspace="ks1", **params)["id"])
        assert t["state"] == "succeeded", t
        ids.append(t["id"])
    noop = orch.submit("sim", "noop")
    orch.wait_task(noop["id"], states=("succeeded",), timeout=30)

    h = orch.ok("GET", "/api/v1/clusters/sim/repairs")
    assert [r["id"] for r in h["items"]] == ids[::-1] and h["next"] is None, h
    for r in h["items"]:
        assert r["outcome"] == "succeeded" and r["state"] == "succeeded", r
    sched = [r for r in h["items"] if r["parallelism"] != 1]
    assert len(sched) == 2
    for r in sched:
        assert r["unrepaired_ranges"] == [] and r["segments"]["done"] > 0, r
        assert r["segments"]["failed"] == 0 and r["summary"].startswith("all "), r
    legacy = [r for r in h["items"] if r["parallelism"] == 1][0]
    assert legacy["unrepaired_ranges"] is None and legacy["segments"] is None, legacy

    # pages: one at a time, following next
    seen, cur = [], None
    while True:
        q = "/api/v1/clusters/sim/repairs?limit=1" + (f"&cursor={cur}" if cur else "")
        p = orch.ok("GET", q)
        seen += [r["id"] for r in p["items"]]
        cur = p["next"]
        if cur is None:
            break
        assert len(seen) <= 3, seen
    assert seen == ids[::-1], seen

    for path, status in (("/api/v1/clusters/nope/repairs", 404),
                         ("/api/v1/clusters/sim/repairs?limit=0", 400),
                         ("/api/v1/clusters/sim/repairs?cursor=x", 400)):
        r = orch.get(path)
        assert r.status_code == status, (path, r.text)


def test_segment_past_its_timeout_is_cancelled_and_split(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=6, num_tokens=2)
    for n in c.names:
        c.set(n, "repair_delay", 0.05)
    # node1's next -st/-et repair hangs for two minutes; the others take
    # well under segment_timeout even on a loaded host (an SSH session and
    # a job start each: a few seconds at worst)
    c.set("node1", "repair_slow_count", 1)
    c.set("node1", "repair_slow_delay", 120)
    agent = prepare(c, orch, tmp_path)
    t0 = time.time()
    t = finished(orch, orch.submit("sim", "repair", agent=agent, timeout_s=240, segments_per_node=2,
                                   keyspace="ks1", parallelism=0,
                                   segment_timeout="15s")["id"], timeout=240)
    assert t["state"] == "succeeded", t
    msg = t["steps"][0]["message"]
    assert msg.startswith("all ") and "1 timeouts, 1 splits" in msg, msg
    assert time.time() - t0 < 110, "the slow segment was waited for, not cancelled"
    nj = json.loads((Path(c.node_dir("node1")) / "node.json").read_text())
    assert nj["repair_slow_count"] == 0, nj
    recs = t["steps"][0].get("nodes") or []
    split = [r for r in recs if r["state"] == "split"]
    assert len(split) == 1 and "past segment_timeout: split in two" in split[0]["message"], recs
    assert all(r["state"] in ("done", "split") for r in recs), recs
    log = repair_log(c)
    # the halves were repaired instead of the whole: still an exact tiling
    check_tiling(log, simlib.token_ranges(simlib.load_cluster(c.dir), "ks1"))
    assert most_at_once(log) == 1


def test_replica_over_max_pending_compactions_holds_its_segments(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=6, num_tokens=2)
    for n in c.names:
        c.set(n, "repair_delay", 0.05)
    busy = "node3"
    c.set(busy, "pending_compactions", 100)
    agent = prepare(c, orch, tmp_path)
    t = orch.submit("sim", "repair", agent=agent, timeout_s=120, keyspace="ks1",
                    parallelism=0, max_pending_compactions=10)

    def held():
        cur = orch.task(t["id"])
        assert cur["state"] == "running", cur
        n = counts(cur["steps"][0]["message"] or "")
        if n and n["running"] == 0 and n["pending"] == 0 and n["postponed"] > 0:
            return cur
        return None
    wait_for(held, "only the busy node's segments left, held back", timeout=120)
    log = repair_log(c)
    assert log and all(busy not in e["replicas"] for e in log), log

    released = time.time()
    c.set(busy, "pending_compactions", 0)
    t = finished(orch, t["id"])
    assert t["state"] == "succeeded", t
    log = repair_log(c)
    mine = [e for e in log if busy in e["replicas"]]
    assert mine and all(e["start"] >= released for e in mine), mine
    check_tiling(log, simlib.token_ranges(simlib.load_cluster(c.dir), "ks1"))
    assert most_at_once(log) == 1


# segments_per_node 2 below: 12 ranges, 12 segments, one range each (with
# fewer wanted than ranges, ranges of one replica set share a segment).
def test_incremental_segment_cancelled_on_timeout_fails_its_sessions(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=6, num_tokens=2)
    for n in c.names:
        c.set(n, "repair_delay", 0.05)
    c.set("node2", "repair_slow_count", 1)
    c.set("node2", "repair_slow_delay", 120)
    agent = prepare(c, orch, tmp_path)
    t = finished(orch, orch.submit("sim", "repair", agent=agent, timeout_s=240, segments_per_node=2,
                                   keyspace="ks1", parallelism=0, full=False,
                                   segment_timeout="15s")["id"], timeout=240)
    assert t["state"] == "succeeded", t
    assert "1 timeouts, 1 splits" in t["steps"][0]["message"], t["steps"][0]
    # the cancelled segment's incremental session was failed inside
    # "Cassandra" (nodetool repair_admin cancel), the others finalized
    nj = json.loads((Path(c.node_dir("node2")) / "node.json").read_text())
    states = sorted(s["state"] for s in nj.get("ir_sessions", []))
    assert states.count("FAILED") == 1 and "REPAIRING" not in states, states
    assert states.count("FINALIZED") >= 1, states


def test_restart_does_not_repeat_finished_segments(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=6, num_tokens=2)
    for n in c.names:
        c.set(n, "repair_delay", 0.6)
    agent = prepare(c, orch, tmp_path)
    t = orch.submit("sim", "repair", agent=agent, timeout_s=120, segments_per_node=2, keyspace="ks1",
                    parallelism=0)
    wait_for(lambda: len(repair_log(c)) >= 3, "three segments repaired", timeout=90)
    orch.kill9()
    before = len(repair_log(c))
    orch.start()
    t = finished(orch, t["id"])
    assert t["state"] == "succeeded", t
    msg = t["steps"][0]["message"]
    assert msg.startswith("all "), msg
    log = repair_log(c)
    nseg = int(msg.split("all ", 1)[1].split(" ", 1)[0])
    # every segment repaired exactly once: the finished ones were not run
    # again, the running ones were waited for, not started anew
    ranges = [tuple(e["range"]) for e in log]
    assert len(ranges) == len(set(ranges)) == nseg, (before, log)
    assert before < nseg, (before, nseg)
    check_tiling(log, simlib.token_ranges(simlib.load_cluster(c.dir), "ks1"))
    assert most_at_once(log) == 1


def test_failed_segment_is_retried_on_another_replica(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=6, num_tokens=2)
    agent = prepare(c, orch, tmp_path)
    bad = "node2"
    # every repair node2 coordinates fails: its segments' retries go to
    # their next replica
    c.fault(bad, "fail", command="repair", message="Repair session failed (sim)")
    tid = orch.submit("sim", "repair", agent=agent, timeout_s=120, keyspace="ks1",
                      segments_per_node=2, parallelism=0, retry_backoff="3s")["id"]
    # a failed segment waits its backoff, and its record says for how long
    said = set()
    t0 = time.time()
    while time.time() - t0 < 120:
        t = orch.task(tid)
        for r in (t["steps"][0].get("nodes") or []):
            if "; retry in " in (r["message"] or ""):
                said.add((r["node"], r["state"], r["message"].rsplit("; ", 1)[1]))
        if t["state"] not in ("queued", "running"):
            break
        time.sleep(0.2)
    assert t["state"] == "succeeded", t
    assert said and {s[1:] for s in said} == {("pending", "retry in 3 s")}, said
    msg = t["steps"][0]["message"]
    ranges = simlib.token_ranges(simlib.load_cluster(c.dir), "ks1")
    assert msg.startswith(f"all {len(ranges)} segments repaired"), msg
    log = repair_log(c)
    assert len(log) == len(ranges) and most_at_once(log) == 1, log
    mine = {(a, b) for a, b, owner, _r in ranges if owner == bad}
    assert mine, ranges
    for e in log:
        assert e["coordinator"] != bad, e
    check_tiling(log, ranges)
    # the retries of node2's segments started 3 s after their first try
    # at the earliest (which was after the first segments started)
    first = min(e["start"] for e in log)
    retried = [e for e in log if any(inside(r, tuple(e["range"])) for r in mine)]
    assert retried and all(e["start"] >= first + 3 for e in retried), (first, retried)


def test_segments_failing_every_attempt_end_partial(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=6, num_tokens=2)
    agent = prepare(c, orch, tmp_path)
    # the three replicas of one range fail every repair they coordinate:
    # that range (and any other with the same replicas) fails on every
    # try; the others succeed on a replica outside the three
    ranges = simlib.token_ranges(simlib.load_cluster(c.dir), "ks1")
    bad = set(ranges[0][3])
    assert len(bad) == 3, ranges
    for n in bad:
        c.fault(n, "fail", command="repair", message="Repair session failed (sim)")
    t = finished(orch, orch.submit("sim", "repair", agent=agent, timeout_s=120,
                                   keyspace="ks1", parallelism=0, retry_backoff="1s",
                                   segments_per_node=2)["id"])
    assert t["state"] == "partial", t
    msg = t["steps"][0]["message"]
    lost = [(a, b) for a, b, _o, reps in ranges if set(reps) <= bad]
    ok = [(a, b) for a, b, _o, reps in ranges if not set(reps) <= bad]
    assert lost and ok, ranges
    assert msg.startswith(f"partial: {len(lost)} of {len(ranges)} segments not repaired "
                          f"({len(lost)} failed after their attempts, 0 postponed"), msg
    h = orch.ok("GET", "/api/v1/clusters/sim/repairs")["items"][0]
    assert h["outcome"] == "partial" and h["segments"]["failed"] == len(lost), h
    got = [(int(x["start"]), int(x["end"])) for x in h["unrepaired_ranges"]]
    assert got == merged(lost), (got, lost)
    recs = [r for r in t["steps"][0]["nodes"] if r["state"] == "failed"]
    assert len(recs) == len(lost), recs
    for r in recs:
        assert "Repair session failed (sim)" in r["message"], r
    log = repair_log(c)
    assert sorted(tuple(e["range"]) for e in log) == sorted(ok), log
    assert most_at_once(log) == 1


def test_resume_repairs_only_what_a_partial_repair_left(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(nodes=6, num_tokens=2)
    agent = prepare(c, orch, tmp_path)
    down = c.names[4]
    c.stop_cassandra(down)
    wait_for(lambda: nodes(orch)[c.address(down)]["state"] == "down",
             "the node down in the orchestrator", timeout=30)
    first = finished(orch, orch.submit("sim", "repair", agent=agent, timeout_s=120,
                                       keyspace="ks1", parallelism=0,
                                       down_deadline="5s")["id"])
    assert first["state"] == "partial", first
    ranges = simlib.token_ranges(simlib.load_cluster(c.dir), "ks1")
    left = merged([(a, b) for a, b, _o, reps in ranges if down in reps])
    h = [r for r in orch.ok("GET", "/api/v1/clusters/sim/repairs")["items"]
         if r["id"] == first["id"]][0]
    assert [(int(x["start"]), int(x["end"])) for x in h["unrepaired_ranges"]] == left, h
    before = len(repair_log(c))

    # refused, and nothing created: an unknown task, another type, a
    # different keyspace or table, a schedule
    n_tasks = len(orch.ok("GET", "/api/v1/clusters/sim/tasks")["items"])
    for params, status, words in (
            ({"resume": "t-00000000000000ff"}, 400,
             "params.resume: task 't-00000000000000ff' not found"),
            ({"resume": first["id"], "keyspace": "system_auth"}, 400,
             "params.keyspace differs"),
            ({"resume": first["id"], "table": "t2"}, 400, "params.table differs"),
            ({"resume": first["id"], "parallelism": 1}, 400, "parallelism 1 cannot")):
        r = orch.post("/api/v1/clusters/sim/tasks", {"type": "repair", "params": params})
        assert r.status_code == status and words in r.text, (params, r.text)
    r = orch.post("/api/v1/clusters/sim/schedules",
                  {"type": "repair", "every": "1h", "params": {"resume": first["id"]}})
    assert r.status_code == 400 and "a schedule cannot resume" in r.text, r.text
    assert len(orch.ok("GET", "/api/v1/clusters/sim/tasks")["items"]) == n_tasks

    # the node back, the resume repairs exactly what was left, with its
    # own parallelism and the first task's keyspace
    c.start_cassandra(down)
    wait_for(lambda: nodes(orch)[c.address(down)]["state"] == "up",
             "the node up again", timeout=60)
    t = finished(orch, orch.submit("sim", "repair", agent=agent, timeout_s=120,
                                   resume=first["id"], parallelism=2)["id"])
    assert t["state"] == "succeeded", t
    assert t["params"]["keyspace"] == "ks1" and t["params"]["parallelism"] == 2, t["params"]
    log = repair_log(c)
    again = log[before:]
    assert again and merged([tuple(e["range"]) for e in again]) == left, (again, left)
    assert all(down in e["replicas"] for e in again), again
    # across both tasks every range was repaired exactly once
    check_tiling(log, ranges)
    assert most_at_once(log) == 1

    # a succeeded repair has nothing left; the partial one may not be
    # resumed for another cluster's sake either
    r = orch.post("/api/v1/clusters/sim/tasks",
                  {"type": "repair", "params": {"resume": t["id"]}})
    assert r.status_code == 409 and "nothing is left to resume" in r.text, r.text
    orch.create_cluster("other")
    r = orch.post("/api/v1/clusters/other/tasks",
                  {"type": "repair", "params": {"resume": first["id"]}})
    assert r.status_code == 400 and "is a task of cluster 'sim', not 'other'" in r.text, r.text
