"""`ringagent repair --range ST:ET` (agent/repair.c) against three simulated
nodes: explicit ranges, a wrap-around one among them, each repaired by its
own `nodetool repair -st -et` in the order given (the sim's session lines
name the range it repaired); bad ranges and --range with --segment refused
before nodetool runs; a range that crosses two ring ranges fails with
nodetool's own words."""
import json
from pathlib import Path

import pytest

from agentutil import run_op, sim_factory, simlib, write_agent_conf  # noqa: F401


@pytest.fixture
def three(sim_factory, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3, keyspaces=2, num_tokens=4)
    for n in c.names:
        c.start_cassandra(n)
    tok = tmp_path / "token"
    tok.write_text("nothing\n")
    conf = write_agent_conf(c, "node1", "http://127.0.0.1:9", tok)
    return c, conf


def result(lines):
    assert lines and lines[-1]["type"] == "result", lines
    return lines[-1]


def commands_run(c, name):
    """How many repair commands the sim's node has started."""
    nj = json.loads((Path(c.node_dir(name)) / "node.json").read_text())
    return nj.get("repair_command", 0)


def session_ranges(lines):
    """The ranges the sim's nodetool said each session repaired, in order."""
    out = []
    for ln in lines:
        msg = ln.get("message") or ""
        if ln.get("type") == "progress" and "Repair session" in msg and "for range [" in msg:
            head = msg.split("for range [", 1)[1].split("]", 1)[0]
            a, b = head.strip("(").split(",")
            out.append((int(a), int(b)))
    return out


def test_repair_explicit_ranges(three, tmp_path):
    c, _ = three
    cluster = simlib.load_cluster(c.dir)
    ranges = simlib.token_ranges(cluster, "ks1")
    # the node that holds the wrap-around range, so that one is always tried
    wrap = [(a, b, reps) for a, b, _o, reps in ranges if a > b]
    assert len(wrap) == 1, ranges
    me = sorted(wrap[0][2])[0]
    conf = write_agent_conf(c, me, "http://127.0.0.1:9", tmp_path / "token")
    plain = [(a, b) for a, b, _o, reps in ranges if me in reps and a < b]
    assert len(plain) >= 2, ranges
    # the wrapping range, a whole range, and the second half of another
    # cut where no ring token is
    a, b = plain[0]
    mid = a + (b - a) // 2
    want = [wrap[0][:2], plain[-1], (mid, b)]
    before = commands_run(c, me)
    args = ["repair", "--json", "--keyspace", "ks1", "--table", "t1"]
    for s, e in want:
        args += ["--range", f"{s}:{e}"]
    rc, lines, err = run_op(conf, *args, timeout=120)
    r = result(lines)
    assert rc == 0 and r["ok"], (lines, err)
    d = r["data"]
    assert d["ranges"] == [{"start": str(s), "end": str(e)} for s, e in want]
    assert "segment" not in d and d["repaired"] == ["ks1"] and d["commands"] == len(want)
    # nodetool ran once per range, each repairing exactly that range
    assert commands_run(c, me) == before + len(want)
    assert session_ranges(lines) == want
    msgs = [ln.get("message", "") for ln in lines if ln["type"] == "progress"]
    for i, (s, e) in enumerate(want, 1):
        assert f"range {i}/{len(want)} ({s},{e}]" in msgs, msgs


@pytest.mark.parametrize("args, words", [
    (["--range", "5:5"], "same token"),
    (["--range", " 1:2"], "Murmur3 token"),
    (["--range", "1:+2"], "Murmur3 token"),
    (["--range", "9223372036854775808:0"], "Murmur3 token"),
    (["--range", "1,2"], "not ST:ET"),
    (["--range", "1:2", "--range", "1:2"], "given twice"),
    (["--range", "1:2", "--segment", "1/2"], "--range and --segment"),
    (["--segment", "1/2", "--range", "1:2"], "--range and --segment"),
    ([f"--range={i}:{i + 1}" for i in range(1025)], "more than 1024 --range"),
])
def test_repair_bad_ranges_change_nothing(three, args, words):
    c, conf = three
    before = commands_run(c, "node1")
    rc, lines, err = run_op(conf, "repair", "--json", "--keyspace", "ks1", *args)
    r = result(lines)
    assert rc == 2 and r["error"]["code"] == "usage", (lines, err)
    assert words in r["error"]["message"], r["error"]["message"]
    assert commands_run(c, "node1") == before


def test_repair_range_across_ring_ranges_fails(three):
    c, conf = three
    cluster = simlib.load_cluster(c.dir)
    plain = [(a, b) for a, b, _o, reps in simlib.token_ranges(cluster, "ks1")
             if "node1" in reps and a < b]
    a, b = plain[0]
    ok = (a + (b - a) // 2, b)
    # (a+1, b+1] ends past a ring token: Cassandra refuses to repair it
    rc, lines, err = run_op(conf, "repair", "--json", "--keyspace", "ks1",
                            "--range", f"{ok[0]}:{ok[1]}", "--range", f"{a + 1}:{b + 1}",
                            timeout=120)
    r = result(lines)
    assert rc == 1 and not r["ok"], (lines, err)
    assert "intersects a local range" in r["error"]["message"], r["error"]["message"]
    assert r["data"]["ranges_done"] == 1
    assert r["data"]["ranges"][0] == {"start": str(ok[0]), "end": str(ok[1])}
