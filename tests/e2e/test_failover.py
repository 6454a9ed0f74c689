"""Active/standby orchestrators (ha = etcd): real ringmaster daemons, a real
etcd (Debian's etcd-server) on loopback, one file:// state mirror shared by
the group.

- One is active, the other a standby that answers /health and /api/v1/ha,
  sends every other request to the active with 307 (path and query kept),
  and ringsh and an agent given both URLs reach the active through it.
- kill -9 of the active under a running task: the standby takes over within
  15 s, restores the newest generation, the task completes with no step run
  twice, tokens and clusters are there; the old host comes back as standby.
- A partition: the active loses etcd (its etcd endpoint goes through a
  proxy the test cuts) but not its clients: it stops serving by its own
  clock within the lease, the other takes over, and never are both active.
- Fencing: an active paused (SIGSTOP) past its lease starts no step when it
  runs again: its own state.db shows no step started after the pause.
"""
import os
import re
import socket
import sqlite3
import threading
import time

import pytest

from agentutil import RINGAGENT, agent_log, orch_nodes, sim_factory, write_agent_conf  # noqa: F401
from orch import orch_factory, wait_until  # noqa: F401 (fixture)
from rmtest import free_port
from test_ha_etcd import ETCD, Etcd

TTL = "3s"
pytestmark = pytest.mark.skipif(ETCD is None, reason="etcd not installed (make deps)")


@pytest.fixture
def etcd():
    e = Etcd()
    yield e
    e.stop()


class Proxy:
    """A TCP proxy 127.0.0.1:port -> target that the test can cut: cut()
    closes every connection and refuses new ones (a partition between one
    orchestrator and etcd), heal() lets them through again."""

    def __init__(self, target_port):
        self.target = target_port
        self.port = free_port()
        self.cut_ = False
        self.conns = []
        self.lock = threading.Lock()
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", self.port))
        self.srv.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _accept(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            if self.cut_:
                c.close()
                continue
            try:
                u = socket.create_connection(("127.0.0.1", self.target), timeout=2)
            except OSError:
                c.close()
                continue
            with self.lock:
                self.conns += [c, u]
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d or self.cut_:
                    break
                b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.close()
            except OSError:
                pass

    def cut(self):
        self.cut_ = True
        with self.lock:
            for s in self.conns:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.conns = []

    def heal(self):
        self.cut_ = False

    def close(self):
        self.cut()
        self.srv.close()


def ha_conf(tmp_path, etcd_url, port, prefix):
    return {"ha": "etcd", "etcd_endpoints": etcd_url, "ha_prefix": prefix,
            "ha_lease_ttl": TTL, "advertise_url": f"http://127.0.0.1:{port}",
            "state_mirror": f"file://{tmp_path}/mirror",
            "state_mirror_delay": "200ms", "state_mirror_interval": "1h",
            "join_token_file": str(tmp_path / "join.token")}


@pytest.fixture
def group(tmp_path, etcd, orch_factory):
    """make(name, etcd_url=None) -> a started Orch of the group; all killed
    at the end (orch_factory), their log tails printed."""
    prefix = f"/rm-test/{os.getpid()}-{time.monotonic_ns()}"

    def make(name, etcd_url=None, start=True):
        port = free_port()
        return orch_factory(conf=ha_conf(tmp_path, etcd_url or etcd.url, port, prefix),
                            start=start, name=name, port=port)
    return make


def ha(o):
    return o.session.get(o.base + "/api/v1/ha", timeout=3).json()


def serving(o):
    """The orchestrator answers the API itself (active with its stack up)."""
    try:
        return ha(o)["role"] == "active" and ha(o)["phase"] == "serving"
    except Exception:
        return False


def wait_active(o, timeout=20):
    return wait_until(lambda: serving(o), timeout, f"{o.base} to be active and serving")


def req(o, method, path, token, **kw):
    return o.session.request(method, o.base + path, allow_redirects=False, timeout=5,
                             headers={"Authorization": f"Bearer {token}"}, **kw)


def finished_on(o, tid, token, timeout=60):
    """The task once it succeeded on o (asked with token)."""
    return wait_until(lambda: (lambda t: t if t["state"] == "succeeded" else None)(
        o.ok("GET", f"/api/v1/tasks/{tid}", token=token)), timeout,
        f"task {tid} to succeed on {o.base}")


def pair_with_task(group, duration_s, steps, running, a_etcd=None):
    """a active, b its standby knowing it, cluster prod, and a noop task
    on a whose step `running` (0-based) is running: (a, b, admin, tid)."""
    a = group("a", etcd_url=a_etcd)
    wait_active(a)
    b = group("b")
    wait_until(lambda: ha(b)["active"] == a.base, 10, "b to know the active")
    a.create_cluster("prod")
    tid = a.submit("prod", duration_s=duration_s, steps=steps)["id"]
    wait_until(lambda: a.task(tid)["steps"][running]["state"] == "running", 20,
               f"step {running + 1} of the task")
    return a, b, a.admin_token, tid


def test_one_active_and_a_standby_that_sends_clients_to_it(group, tmp_path):
    a = group("a")
    wait_active(a)
    admin = a.admin_token
    b = group("b")
    st = wait_until(lambda: (lambda v: v if v["active"] == a.base else None)(ha(b)), 10,
                    "b to know the active")
    assert st["role"] == "standby" and st["self"] == b.base and st["ha"] == "etcd", st
    # The standby follows the mirror: it holds the active's newest generation.
    latest = (tmp_path / "mirror" / "latest")
    wait_until(lambda: latest.exists(), 10, "the active's first generation")
    fol = wait_until(lambda: (lambda f: f if f["generation"] else None)(ha(b)["following"]),
                     12, "the standby to hold a generation")
    assert fol["error"] is None and fol["age_s"] >= 0, fol
    assert (b.data_dir / "state.db.follow").exists()
    assert ha(a)["role"] == "active" and ha(a)["term"] > 0
    h = b.session.get(b.base + "/health", timeout=3)
    assert h.status_code == 200 and h.json()["status"] == "standby"
    assert h.json()["active"] == a.base
    # Writes and reads go to the active, path and query kept.
    r = req(b, "POST", "/api/v1/clusters", admin, json={"name": "x"})
    assert r.status_code == 307, r.text
    assert r.headers["Location"] == a.base + "/api/v1/clusters"
    assert r.json()["error"]["code"] == "standby" and a.base in r.json()["error"]["message"]
    r = req(b, "GET", "/api/v1/events", admin, params={"limit": "5", "kind": "a b&c"})
    assert r.status_code == 307
    assert r.headers["Location"] == a.base + "/api/v1/events?limit=5&kind=a%20b%26c"
    # Metrics of the standby itself.
    m = b.session.get(b.base + "/metrics", timeout=3).text
    assert "ringmaster_ha_active 0" in m
    assert "ringmaster_ha_active 1" in a.session.get(a.base + "/metrics", timeout=3).text
    # A write on the active is what clients get after following.
    a.create_cluster("prod")
    r = req(b, "GET", "/api/v1/clusters/prod", admin)
    assert r.status_code == 307
    follow = a.session.get(r.headers["Location"], timeout=5,
                           headers={"Authorization": f"Bearer {admin}"})
    assert follow.status_code == 200 and follow.json()["name"] == "prod"
    # ringsh given both URLs, standby first, reaches the active.
    from test_orchestrator_list import rsh
    r = rsh(f"{b.base},{a.base}", tmp_path, "--json", "-c", "clusters", token=admin)
    assert r.returncode == 0, r.stderr
    assert "prod" in r.stdout
    # Only one is active; /api/v1/ha refuses other methods.
    assert ha(b)["role"] == "standby"
    assert b.session.post(b.base + "/api/v1/ha", timeout=3).status_code == 405


def steps_started_after(db, t_ms):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        cols = [r[1] for r in con.execute("PRAGMA table_info(steps)")]
        assert "started_at" in cols, cols
        return con.execute("SELECT * FROM steps WHERE started_at > ?",
                           (t_ms,)).fetchall()
    finally:
        con.close()


def test_kill9_of_the_active_the_standby_takes_over_and_finishes_the_task(group):
    a, b, admin, tid = pair_with_task(group, 12, 4, 1)
    ops = a.create_token("operator", "ops")
    before = a.task(tid)
    # An acknowledged write survives: the answer comes once the mirror
    # holds it (and everything before it), so kill at once.
    a.create_cluster("last-word")
    a.kill9()
    t0 = time.monotonic()
    wait_until(lambda: serving(b), 20, "b to take over")
    took = time.monotonic() - t0
    print(f"failover: kill -9 to serving in {took:.2f}s")
    assert took < 15, f"took over in {took:.1f}s"
    r = b.session.get(b.base + "/api/v1/clusters", timeout=5,
                      headers={"Authorization": f"Bearer {ops}"})
    assert r.status_code == 200
    assert {"prod", "last-word"} <= {c["name"] for c in r.json()["items"]}
    # The standby held the newest generation already (it follows the
    # mirror), or fetched it then.
    assert re.search(r"takeover: (restored generation \d{16}|generation \d{16} is the "
                     r"newest and this standby holds it)", b.log_path.read_text())
    done = finished_on(b, tid, admin)
    for i, st in enumerate(done["steps"]):
        assert st["state"] == "succeeded" and st["attempts"] == 1, st
        if before["steps"][i]["state"] == "succeeded":
            assert st["finished_at"] == before["steps"][i]["finished_at"]
    assert done["steps"][1]["started_at"] == before["steps"][1]["started_at"]
    # The old host comes back as a standby that points at b.
    a.start()
    wait_until(lambda: ha(a)["active"] == b.base, 15, "a to come back as standby")
    assert ha(a)["role"] == "standby"
    m = b.session.get(b.base + "/metrics", timeout=3).text
    assert "ringmaster_ha_takeovers_total 1" in m


def test_partition_the_active_loses_etcd_but_not_its_clients(group, etcd):
    proxy = Proxy(etcd.port)
    try:
        a, b, admin, tid = pair_with_task(group, 20, 10, 1, a_etcd=proxy.url)
        both = []
        stop = threading.Event()

        def watch():
            while not stop.is_set():
                if serving(a) and serving(b):
                    both.append(time.monotonic())
                time.sleep(0.05)
        w = threading.Thread(target=watch, daemon=True)
        w.start()
        proxy.cut()
        t0 = time.monotonic()
        # a stops serving by its own clock within the lease (3 s, with slack).
        wait_until(lambda: not serving(a), 6, "a to stop serving")
        stepped = time.monotonic() - t0
        r = req(a, "GET", "/api/v1/clusters", admin)
        assert r.status_code in (307, 503), r.text
        wait_until(lambda: serving(b), 20, "b to take over")
        took = time.monotonic() - t0
        stop.set()
        w.join()
        print(f"partition: a stepped down in {stepped:.2f}s, b serving after {took:.2f}s")
        assert stepped <= 4.5
        assert not both, "both orchestrators served at once"
        # The task completes on b, no step run twice.
        done = finished_on(b, tid, admin)
        assert all(s["attempts"] == 1 for s in done["steps"]), done["steps"]
        # Healed: a learns who is active and sends clients there.
        proxy.heal()
        wait_until(lambda: ha(a)["active"] == b.base, 15, "a to learn the active")
        r = req(a, "GET", "/api/v1/clusters", admin)
        assert r.status_code == 307 and r.headers["Location"].startswith(b.base)
    finally:
        proxy.close()


def test_a_paused_active_starts_no_step_when_it_runs_again(group):
    a, b, admin, tid = pair_with_task(group, 8, 8, 1)
    time.sleep(0.5)
    a.signal(19)  # SIGSTOP: a paused process, its lease runs out
    paused_ms = int(time.time() * 1000)
    wait_until(lambda: serving(b), 20, "b to take over")
    a.signal(18)  # SIGCONT
    wait_until(lambda: ha(a)["role"] == "standby", 10, "a to see it is a standby")
    done = finished_on(b, tid, admin)
    assert all(s["attempts"] == 1 for s in done["steps"]), done["steps"]
    # a's own store: nothing started after the pause (its stack is down, so
    # the database is closed and can be read).
    wait_until(lambda: "the lease is lost" in a.log_path.read_text(), 10, "a's step-down")
    late = steps_started_after(a.data_dir / "state.db", paused_ms)
    assert late == [], f"the stale active started steps after its pause: {late}"
    # And it still redirects to b.
    r = req(a, "POST", "/api/v1/clusters", admin, json={"name": "y"})
    assert r.status_code == 307 and r.headers["Location"].startswith(b.base)


def test_config_checks(tmp_path):
    from orch import bin_path
    import subprocess
    base = {"listen": f"127.0.0.1:{free_port()}", "data_dir": str(tmp_path / "d")}
    cases = [
        ({"ha": "etcd"}, "ha = etcd needs etcd_endpoints"),
        ({"ha": "etcd", "etcd_endpoints": "http://127.0.0.1:1"}, "needs advertise_url"),
        ({"ha": "etcd", "etcd_endpoints": "http://127.0.0.1:1",
          "advertise_url": "http://127.0.0.1:2"}, "needs state_mirror"),
        ({"ha": "etcd", "etcd_endpoints": "ftp://x", "advertise_url": "http://127.0.0.1:2",
          "state_mirror": f"file://{tmp_path}/m"}, "etcd"),
        ({"ha": "raft"}, "ha"),
        ({"ha_lease_ttl": "1s"}, "ha_lease_ttl"),
    ]
    for extra, want in cases:
        p = tmp_path / "c.conf"
        p.write_text("".join(f"{k} = {v}\n" for k, v in {**base, **extra}.items()))
        r = subprocess.run([str(bin_path()), "-n", "-f", str(p)], capture_output=True,
                           text=True, timeout=10)
        assert r.returncode != 0 and want in r.stderr, (extra, r.stderr)
    p.write_text("".join(f"{k} = {v}\n" for k, v in {
        **base, "ha": "etcd", "etcd_endpoints": "http://127.0.0.1:2379",
        "advertise_url": "http://127.0.0.1:7400",
        "state_mirror": f"file://{tmp_path}/m"}.items()))
    r = subprocess.run([str(bin_path()), "-n", "-f", str(p)], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0, r.stderr


def test_a_standby_that_cannot_read_the_mirror_says_so(group, tmp_path):
    a = group("a")
    wait_active(a)
    b = group("b", start=False)
    broken = tmp_path / "broken-mirror"
    broken.mkdir()
    (broken / "latest").write_text("not a generation\n")
    b.settings["state_mirror"] = f"file://{broken}"
    b.write_config()
    b.start()
    fol = wait_until(lambda: (lambda f: f if f["error"] else None)(ha(b)["following"]), 12,
                     "the standby to report the mirror's error")
    assert "'latest' does not hold a generation" in fol["error"], fol
    assert "a takeover would fail the same way" in b.log_path.read_text()


def test_an_agent_given_both_urls_follows_the_active_through_a_failover(
        group, sim_factory, tmp_path):  # noqa: F811
    a = group("a")
    wait_active(a)
    b = group("b")
    wait_until(lambda: ha(b)["active"] == a.base, 10, "b to know the active")
    a.ensure_cluster("sim")
    c = sim_factory(name="ha", nodes=1)
    # The standby first: the agent's check-in is sent on to the active.
    write_agent_conf(c, "node1", f"{b.base},{a.base}", tmp_path / "join.token")
    c.start("node1", agent=str(RINGAGENT))
    addr = c.address("node1")
    wait_until(lambda: (orch_nodes(a).get(addr) or {}).get("state") == "up", 40,
               "the node up on a")
    admin = a.admin_token
    a.kill9()
    wait_active(b)

    def on_b():
        r = req(b, "GET", "/api/v1/clusters/sim/nodes", admin)
        assert r.status_code == 200, r.text
        return {n["address"]: n for n in r.json()["items"]}.get(addr) or {}
    # Its heartbeats now reach b (the state came with the takeover).
    first = wait_until(lambda: on_b().get("last_heartbeat"), 20, "the node on b")
    wait_until(lambda: on_b()["last_heartbeat"] != first, 20, "a newer heartbeat on b")
    assert on_b()["state"] == "up"
    assert "orchestrator: now using" in agent_log(c, "node1")


def test_sigterm_of_the_active_hands_over_at_once_and_loses_nothing(group):
    a, b, admin, tid = pair_with_task(group, 6, 3, 0)
    t0 = time.monotonic()
    assert a.stop() == 0
    # It resigned: b wins at its next look, not after the lease's TTL.
    wait_until(lambda: serving(b), 10, "b to take over")
    took = time.monotonic() - t0
    assert took < 2.5, f"b served {took:.1f}s after a's SIGTERM"
    log = a.log_path.read_text()
    assert "resign" in log, log[-2000:]
    done = finished_on(b, tid, admin)
    assert all(s["attempts"] == 1 for s in done["steps"]), done["steps"]
