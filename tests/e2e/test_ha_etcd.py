"""Active/standby over a real etcd (orchestrator/ha/): campaigners are
UNIT_DIR/test_ha_live processes, each one election (ha.c over etcd.c), and
a real `etcd` (Debian's etcd-server) runs on loopback on free ports with a
temporary data directory, killed at the end.

Every call of the etcd client works against the real thing (test_ha_live
etcd).  One campaigner wins and the other stays standby knowing the winner's URL;
an endpoint that refuses or never answers is passed over for the next;
kill -9 of the active -> the standby takes over within the lease TTL + 2 s;
a clean resign -> takeover within 2 s; the old holder's fencing revision is
refused after a takeover; an active paused past its lease is standby by its
own clock when it runs again; an active cut off from etcd (etcd stopped with
SIGSTOP) steps down by its own clock within the TTL, and once etcd is back
exactly one is active.
"""
import base64
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest

import rmtest

ETCD = shutil.which("etcd")
TTL = 3                     # seconds; ha_lease_ttl in the campaigners
pytestmark = pytest.mark.skipif(ETCD is None, reason="etcd not installed (make deps)")


class Etcd:
    """One etcd member on 127.0.0.1, free client and peer ports."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="rm-etcd-")
        self.port = rmtest.free_port()
        peer = rmtest.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(self.dir, "etcd.log"), "w")
        self.proc = subprocess.Popen(
            [ETCD, "--name", "rm", "--data-dir", os.path.join(self.dir, "data"),
             "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
             "--listen-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-advertise-peer-urls", f"http://127.0.0.1:{peer}",
             "--initial-cluster", f"rm=http://127.0.0.1:{peer}",
             "--listen-metrics-urls", f"http://127.0.0.1:{rmtest.free_port()}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        rmtest.wait_for(self.healthy, "etcd to answer", timeout=30)

    def call(self, path, body, timeout=2):
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())

    def healthy(self):
        assert self.proc.poll() is None, f"etcd exited: see {self.dir}/etcd.log"
        return "header" in self.call("/v3/kv/range", {"key": b64("x")})

    def get(self, key):
        """(value, create_revision) of key as etcd itself has it, or None."""
        kvs = self.call("/v3/kv/range", {"key": b64(key)}).get("kvs", [])
        if not kvs:
            return None
        return base64.b64decode(kvs[0]["value"]).decode(), int(kvs[0]["create_revision"])

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def b64(s):
    return base64.b64encode(s.encode()).decode()


def url_of(field):
    """url=U of a line, "" for "url=-" (none known)."""
    assert field.startswith("url="), field
    return "" if field == "url=-" else field[len("url="):]


class Campaigner:
    """One test_ha_live process: its lines arrive in order on self.lines."""

    def __init__(self, endpoints, prefix, url):
        self.url = url
        self.proc = subprocess.Popen(
            [str(rmtest.UNIT_DIR / "test_ha_live"), "run", endpoints, prefix, url, str(TTL)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            bufsize=1)
        self.lines = queue.Queue()
        self.seen = []          # every line read, for failure messages
        self.backlog = []       # read, not yet taken by expect()
        self.stderr = []
        threading.Thread(target=self._read, args=(self.proc.stdout, self.lines), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, None), daemon=True).start()
        self.expect("ready")

    def _read(self, f, q):
        for line in f:
            line = line.rstrip("\n")
            if q is None:
                self.stderr.append(line)
            else:
                q.put(line)

    def expect(self, prefix, timeout=10.0):
        """The first line not yet taken that starts with prefix; lines
        skipped on the way wait in a backlog for a later expect (a command's
        answer and a notification may come in either order).
        AssertionError at the deadline."""
        for i, line in enumerate(self.backlog):
            if line.startswith(prefix):
                return self.backlog.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                line = self.lines.get(timeout=max(0.01, left))
            except queue.Empty:
                line = None
            if line is not None:
                self.seen.append(line)
                if line.startswith(prefix):
                    return line
                self.backlog.append(line)
            if time.monotonic() >= deadline:
                raise AssertionError(f"{self.url}: no '{prefix}' line within {timeout}s; "
                                     f"lines: {self.seen[-10:]}; stderr: {self.stderr[-5:]}")

    def event(self, role, timeout=10.0):
        """The next notification of role: (wall time in s, url, rev)."""
        while True:
            line = self.expect("event ", timeout)
            f = line.split(" ")
            if f[2] == role:
                return int(f[1]) / 1000.0, url_of(f[3]), int(f[4][len("rev="):])

    def command(self, cmd, answer):
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return self.expect(answer)

    def status(self):
        f = self.command("status", "status ").split(" ")
        return f[1], url_of(f[2]), int(f[3][len("rev="):])

    def fence(self, rev):
        return self.command(f"fence {rev}", f"fence {rev} ")

    def close(self):
        """Quit a campaigner still running; it must exit cleanly (0: under
        the sanitizers, also no leak)."""
        if self.proc.poll() is not None:
            return
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            rc = self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"{self.url}: did not quit within 5 s")
        assert rc == 0, f"{self.url}: exit {rc}; stderr: {self.stderr[-10:]}"


@pytest.fixture(scope="module")
def etcd():
    e = Etcd()
    yield e
    e.stop()


@pytest.fixture
def campaigners(etcd, request):
    """make(url) starts a campaigner on this test's own prefix."""
    prefix = f"/ringmaster/{request.node.name}"
    made = []

    def make(url, endpoints=None):
        c = Campaigner(endpoints or etcd.url, prefix, url)
        made.append(c)
        return c
    make.key = prefix + "/active"
    yield make
    errors = []
    for c in made:
        try:
            c.close()
        except AssertionError as e:
            errors.append(str(e))
    assert not errors, errors


def test_every_client_call_against_a_real_etcd(etcd):
    # grant, keepalive, revoke (twice), put of every byte value under a
    # lease, range, create over a key and on an empty one, the
    # create_revision check, deleterange, and etcd's refusals as errors.
    r = subprocess.run([str(rmtest.UNIT_DIR / "test_ha_live"), "etcd", etcd.url,
                        "/ringmaster/client"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "test_ha_live etcd: " in r.stdout and " 0 failed" in r.stdout, r.stdout + r.stderr
    passed = int(r.stdout.split("test_ha_live etcd: ")[1].split(" ")[0])
    assert passed >= 20, r.stdout


def pair(campaigners):
    """An active a and a standby b that knows a's URL."""
    a = campaigners("http://a.test:7400")
    _, url, rev_a = a.event("active")
    assert url == a.url and rev_a > 0
    b = campaigners("http://b.test:7400")
    _, url, _ = b.event("standby")
    assert url == a.url
    return a, b, rev_a


def test_one_active_the_other_standby_knows_its_url(etcd, campaigners):
    # The first endpoint refuses connections: the client goes on to the next.
    dead = f"http://127.0.0.1:{rmtest.free_port()}"
    a = campaigners("http://a.test:7400", endpoints=f"{dead},{etcd.url}")
    _, url, rev = a.event("active")
    assert url == "http://a.test:7400"
    # etcd itself holds the key with our URL; the fencing revision is its
    # create_revision.
    assert etcd.get(campaigners.key) == ("http://a.test:7400", rev)
    b = campaigners("http://b.test:7400")
    _, url, _ = b.event("standby")
    assert url == "http://a.test:7400"
    # Several looks later nothing changed: one active, one standby.
    for _ in range(3):
        assert a.status() == ("active", "http://a.test:7400", rev)
        assert b.status() == ("standby", "http://a.test:7400", 0)
        time.sleep(0.5)
    assert a.fence(rev).endswith(" ok")
    assert "refused" in a.fence(rev + 1000)


def test_an_endpoint_that_never_answers_is_passed_over(etcd, campaigners):
    # A socket that takes connections and never answers: every request to it
    # times out.  The client moves on to the next endpoint and stays there,
    # so the lease is renewed in time and the term lasts.
    hole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        hole.bind(("127.0.0.1", 0))
        hole.listen(64)
        dead = f"http://127.0.0.1:{hole.getsockname()[1]}"
        a = campaigners("http://a.test:7400", endpoints=f"{dead},{etcd.url}")
        _, url, rev = a.event("active")
        assert url == a.url
        # Two TTLs: renewals had to get through for the term to last.
        end = time.monotonic() + 2 * TTL
        while time.monotonic() < end:
            assert a.status() == ("active", a.url, rev)
            time.sleep(0.5)
        assert not [ln for ln in a.seen if ln.startswith("event ") and " standby " in ln]
        assert etcd.get(campaigners.key) == (a.url, rev)
    finally:
        hole.close()


def test_kill9_of_the_active_standby_takes_over_within_ttl(etcd, campaigners):
    a, b, rev_a = pair(campaigners)
    killed = time.time()
    a.proc.send_signal(signal.SIGKILL)
    a.proc.wait()
    at, url, rev_b = b.event("active", timeout=TTL + 5)
    assert url == b.url
    assert at - killed <= TTL + 2, f"takeover took {at - killed:.2f}s"
    assert rev_b > rev_a
    assert etcd.get(campaigners.key) == (b.url, rev_b)
    # The dead active's revision is refused by etcd; the new one holds.
    assert "is stale" in b.fence(rev_a)
    assert b.fence(rev_b).endswith(" ok")


def test_clean_resign_hands_over_at_once_and_fences_the_old(etcd, campaigners):
    a, b, rev_a = pair(campaigners)
    resigned = int(a.command("resign", "resigned ").split(" ")[1]) / 1000.0
    _, url, _ = a.event("standby")    # told before the lease went
    assert url == ""
    assert a.status()[0] == "standby"
    at, url, rev_b = b.event("active", timeout=5)
    assert url == b.url
    assert at - resigned <= 2, f"takeover took {at - resigned:.2f}s after the resign"
    # The resigned holder's writes would be refused now.
    line = a.fence(rev_a)
    assert "refused" in line and "is stale" in line, line
    assert a.fence(rev_b).endswith(" ok")


def test_a_paused_active_wakes_up_standby_and_fenced(etcd, campaigners):
    # The process itself stops (a long GC-like pause, SIGSTOP): its lease
    # runs out in etcd, the standby takes over; when it runs again its own
    # clock says standby before it has talked to etcd, and etcd refuses its
    # old revision.
    a, b, rev_a = pair(campaigners)
    a.proc.send_signal(signal.SIGSTOP)
    try:
        _, url, rev_b = b.event("active", timeout=TTL + 5)
        assert url == b.url and rev_b > rev_a
    finally:
        a.proc.send_signal(signal.SIGCONT)
    assert a.status()[0] == "standby"
    assert "is stale" in a.fence(rev_a)
    _, url, _ = a.event("standby")
    # It learns who is active now, and stays standby.
    while url != b.url:
        _, url, _ = a.event("standby")
    assert a.status() == ("standby", b.url, 0)
    assert b.status() == ("active", b.url, rev_b)


def test_active_cut_off_from_etcd_steps_down_by_its_own_clock(etcd, campaigners):
    a, b, rev_a = pair(campaigners)
    # Let a renewal land so the deadline is known to lie within TTL of now.
    time.sleep(TTL / 3.0 + 0.2)
    etcd.proc.send_signal(signal.SIGSTOP)
    stopped = time.time()
    try:
        at, url, _ = a.event("standby", timeout=TTL + 3)
        assert at - stopped <= TTL + 0.3, f"stepped down {at - stopped:.2f}s after the cut"
        assert a.status()[0] == "standby"
        # The standby never wins while etcd is away.
        assert b.status()[0] == "standby"
        assert not [ln for ln in b.seen if " active " in ln]
    finally:
        etcd.proc.send_signal(signal.SIGCONT)

    def one_active():
        sa, sb = a.status(), b.status()
        actives = [s for s in (sa, sb) if s[0] == "active"]
        return actives[0] if len(actives) == 1 else None
    winner = rmtest.wait_for(one_active, "exactly one active after etcd returns",
                             timeout=TTL + 10)
    _, url, rev = winner
    assert rev != rev_a
    assert etcd.get(campaigners.key) == (url, rev)
    # It stays so: the other one knows the winner and never becomes active.
    for _ in range(4):
        sa, sb = a.status(), b.status()
        assert sorted([sa[0], sb[0]]) == ["active", "standby"], (sa, sb)
        loser = sb if sa[0] == "active" else sa
        assert loser[1] in (url, "")
        time.sleep(0.5)
    # The term that ended during the cut is fenced off for good.
    assert "is stale" in a.fence(rev_a)
