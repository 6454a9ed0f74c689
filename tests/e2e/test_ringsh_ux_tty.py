"""ringsh on a terminal (tmux): `watch` drawing one line per node for a
node-wide step and its final state and summary; Tab completing a task id
from the part that tells it apart, and 'last'; `status` on one screen."""
import re
import shutil

import pytest

from orch import orch, orch_factory  # noqa: F401
from test_ringsh_common import Recorder, clean_env
from test_ringsh_tty import Term, env_of, term_factory  # noqa: F401

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux not installed")

TID = "t-019af00000010000"


def node(addr, state, done, total, rate, msg=None):
    return {"node": addr, "phase": "upload", "files_done": done, "files_total": total,
            "bytes_done": done * 1024, "bytes_total": total * 1024, "rate_bps": rate,
            "state": state, "message": msg}


def frame(state, nodes, step_state, msg=None, finished=None):
    return {"id": TID, "cluster": "prod", "type": "backup", "state": state,
            "params": {}, "created_at": "2026-01-01T00:00:00Z",
            "started_at": "2026-01-01T00:00:00Z", "finished_at": finished,
            "progress": {"done": 1 if step_state == "succeeded" else 0, "total": 1},
            "error": None,
            "steps": [{"idx": 0, "name": "upload", "node": None, "state": step_state,
                       "attempts": 1, "message": msg, "nodes": nodes}]}


def test_watch_draws_a_line_per_node_and_the_final_state(tmp_path, term_factory):
    frames = [
        frame("running", [node("127.0.0.11", "running", 3, 10, 512.0),
                          node("127.0.0.12", "running", 1, 10, 256.0)], "running", "4/20 files"),
        frame("running", [node("127.0.0.11", "done", 10, 10, 0.0, "10 files uploaded"),
                          node("127.0.0.12", "running", 6, 10, 256.0)], "running", "16/20"),
        frame("succeeded", [node("127.0.0.11", "done", 10, 10, 0.0, "10 files uploaded"),
                            node("127.0.0.12", "done", 10, 10, 0.0, "10 files uploaded")],
              "succeeded", "20 files, 20.0 KiB uploaded", finished="2026-01-01T00:01:03Z"),
    ]
    calls = {"n": 0}

    def task(_body):
        # Each frame holds for a few polls so the terminal can be read.
        calls["n"] += 1
        return frames[min((calls["n"] - 1) // 8, len(frames) - 1)]

    rec = Recorder({("GET", f"/api/v1/tasks/{TID}"): (200, task)})
    try:
        env = clean_env(tmp_path / "home", url=rec.url, token="tok-1",
                        RINGSH_HISTORY=tmp_path / "hist")
        t = term_factory(env)
        t.start("-C", "prod")
        t.type(f"watch {TID}")
        t.keys("Enter")
        s = t.wait(lambda s: "127.0.0.12" in s and "files 1/10" in s, "per-node lines")
        assert re.search(r"^  127\.0\.0\.11 +upload +running +1 +upload  files 3/10  "
                         r"3\.0 KiB/10 KiB  512 B/s  ETA \d+s", s, re.M), s
        assert re.search(r"^  127\.0\.0\.12 +upload +running +1 +upload  files 1/10", s, re.M), s
        s = t.wait(lambda s: "files 6/10" in s, "the next frame, in place")
        assert re.search(r"^  127\.0\.0\.11 +upload +done +1 +upload  files 10/10 .*10 files "
                         r"uploaded$", s, re.M), s
        s = t.wait_text(f"task {TID} succeeded after 1m 3s")
        final = s[s.rindex(f"task {TID}  backup on prod  succeeded"):]
        # The final screen: no ETA anywhere, each node's true last word, a summary.
        assert "ETA -" in final and not re.search(r"ETA \d", final), final
        assert final.count("10 files uploaded") == 2, final
        # The step's own final word, not the last progress it sent.
        assert re.search(r"^  - +upload +succeeded +1 +20 files, 20\.0 KiB uploaded$",
                         final, re.M), final
        assert "16/20" not in final and "4/20 files" not in final
        assert f"task {TID} succeeded after 1m 3s; moved 20 files, 20 KiB on 2 nodes" in final
        assert len(re.findall(rf"^task {TID}  backup", s, re.M)) == 1, "redrawn in place"
    finally:
        rec.close()


def test_tab_completes_a_task_id_from_its_unique_part(orch, tmp_path, term_factory):
    orch.create_cluster("prod")
    ids = [orch.submit("prod")["id"] for _ in range(3)]
    for i in ids:
        orch.wait_task(i)
    target = ids[1]
    # Digits of the target that no other id holds.
    part = next(target[k:k + n] for n in range(3, 14) for k in range(2, 18 - n)
                if sum(target[k:k + n] in o for o in ids) == 1)
    t = term_factory(env_of(orch, tmp_path))
    t.start("-C", "prod")
    t.type(f"tasks show {part}")
    t.keys("Tab")
    t.wait(lambda s: s.rstrip().endswith(f"> tasks show {target}"), "the whole id")
    t.keys("Enter")
    t.wait(lambda s: re.search(rf"^id +{target}$", s, re.M), "the task shown")
    # 'last' completes too, and names the newest task.
    t.type("watch la")
    t.keys("Tab")
    t.wait(lambda s: s.rstrip().endswith("> watch last"), "last")
    t.keys("Enter")
    t.wait_text(f"task {ids[-1]} succeeded after")
    # A shared prefix lists the candidates on a second Tab.
    t.type("tasks show t-")
    t.keys("Tab")
    t.keys("Tab")
    t.wait(lambda s: all(i in s for i in ids), "the candidates")


def test_status_on_a_terminal(orch, tmp_path, term_factory):
    orch.create_cluster("prod")
    orch.ok("POST", "/api/v1/agents/checkin", token="agent", body={
        "cluster": "prod", "address": "10.0.0.1", "dc": "dc1", "rack": "r1",
        "cassandra_version": "4.1.3", "ssh_host_key": "ssh-ed25519 AAAA1"})
    tid = orch.submit("prod", duration_s=30, steps=30)["id"]
    orch.wait_task(tid, states=("running",))
    t = term_factory(env_of(orch, tmp_path))
    t.start("-C", "prod")
    t.type("status")
    t.keys("Enter")
    s = t.wait_text("needs a person:")
    assert re.search(r"^cluster prod$", s, re.M), s
    assert re.search(rf"^  tasks +running noop {tid} \d+/30, started ", s, re.M), s
    assert re.search(r"^  nodes +1: ", s, re.M), s
    assert "no complete backup to restore from" in s
    orch.ok("POST", f"/api/v1/tasks/{tid}/cancel")
