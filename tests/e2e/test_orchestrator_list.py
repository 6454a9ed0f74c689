"""Agents and ringsh with several orchestrator URLs (docs/api.md, "Several
orchestrators"): they move past a dead URL and a 503 no_active, follow a
standby's 307 to the active one when it is in their list, and refuse a 307
to anywhere else without sending it a byte.

The standby here is a stub (http.server on 127.0.0.1) speaking the
protocol: reads are passed to the real orchestrator (a client must cope
with a standby that answers reads; ringmaster's own standby sends them on
with 307, tests/e2e/test_failover.py), writes get 307 with Location on the active one, or
on an unconfigured host in rogue mode, or 503 no_active.  Every request the
stubs get is recorded with its Authorization header."""
import http.server
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

from agentutil import (RINGAGENT, agent_log, orch_nodes, sim_factory,  # noqa: F401
                       wait_for, write_agent_conf)
from orch import orch, orch_factory  # noqa: F401
from rmtest import free_port
from test_ringsh_common import clean_env, run


class Stub:
    """A standby (mode "standby": 307 to `active` for writes, reads passed
    to `active`), a confused one ("rogue": 307 to `active`, which is not
    configured anywhere), one without an active ("no_active": 503 to
    everything), or one that dies with every request ("drop": reads it,
    closes the connection without an answer)."""

    def __init__(self, mode, active=None):
        self.mode, self.active = mode, active
        self.requests = []
        self.lock = threading.Lock()
        stub = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def answer(self, status, body, headers=()):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def handle_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                with stub.lock:
                    stub.requests.append({"method": self.command, "path": self.path,
                                          "auth": self.headers.get("Authorization"),
                                          "body": raw})
                if stub.mode == "drop":
                    # Took the request, then died before answering.
                    self.close_connection = True
                    return
                if stub.mode == "no_active":
                    return self.answer(503, {
                        "error": "no_active",
                        "message": "this orchestrator is a standby and no active one is known"},
                        [("Retry-After", "1")])
                if self.command in ("GET", "HEAD") and stub.mode == "standby":
                    h = {k: v for k, v in self.headers.items()
                         if k.lower() in ("authorization", "accept")}
                    r = requests.request(self.command, stub.active + self.path, headers=h,
                                         timeout=10)
                    self.send_response(r.status_code)
                    self.send_header("Content-Type", r.headers.get("Content-Type", "text/plain"))
                    self.send_header("Content-Length", str(len(r.content)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(r.content)
                    return
                self.answer(307, {
                    "error": "standby",
                    "message": f"this orchestrator is a standby; the active one is {stub.active}",
                    "active": stub.active}, [("Location", stub.active + self.path)])

            do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.base = f"http://127.0.0.1:{self.srv.server_address[1]}"
        threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def seen(self, method=None):
        with self.lock:
            return [r for r in self.requests if method is None or r["method"] == method]

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


@pytest.fixture
def stubs():
    made = []

    def make(mode, active=None):
        s = Stub(mode, active)
        made.append(s)
        return s
    yield make
    for s in made:
        s.close()


def dead_url():
    """A loopback port nobody listens on."""
    return f"http://127.0.0.1:{free_port()}"


# ---- the agent ----

def start_agent(sim_factory, orch, orchestrators, name):  # noqa: F811
    """One simulated node whose agent is configured with orchestrators;
    returns the cluster."""
    c = sim_factory(name=name, nodes=1)
    tok = orch.tmp / "join.token"
    tok.write_text(orch.join_token + "\n")
    orch.ensure_cluster("sim")
    write_agent_conf(c, "node1", orchestrators, tok)
    c.start("node1", agent=str(RINGAGENT))
    return c


def wait_beating(orch, c):  # noqa: F811
    """The node is up in orch and a later heartbeat arrives."""
    addr = c.address("node1")
    first = wait_for(lambda: (orch_nodes(orch).get(addr) or {}).get("last_heartbeat")
                     if (orch_nodes(orch).get(addr) or {}).get("state") == "up" else None,
                     "the node up with a heartbeat", timeout=40)
    wait_for(lambda: orch_nodes(orch)[addr]["last_heartbeat"] != first,
             "a newer heartbeat", timeout=20)


def test_agent_dead_url_first_then_the_real_one(sim_factory, orch):  # noqa: F811
    dead = dead_url()
    c = start_agent(sim_factory, orch, f"{dead}, {orch.base}/", "dead")
    wait_beating(orch, c)
    log = agent_log(c, "node1")
    assert f"now using {orch.base}: {dead} did not answer" in log, log[-3000:]
    assert f"checked in with {orch.base}" in log
    # Once switched it stays: the dead URL is not tried before every beat.
    assert log.count(f"{dead} did not answer") <= 2, log[-3000:]


def test_agent_sighup_takes_a_new_orchestrator_list(sim_factory, orch):  # noqa: F811
    """A running agent told only a dead URL is given the real one with
    SIGHUP (no restart); a file that no longer loads changes nothing."""
    dead = dead_url()
    c = start_agent(sim_factory, orch, dead, "hup")
    log_of = lambda: agent_log(c, "node1")  # noqa: E731
    wait_for(lambda: f"cannot check in: POST {dead}/api/v1/agents/checkin" in log_of(),
             "the agent failing to reach the dead URL", timeout=20)
    conf = Path(c.node_dir("node1")) / "agent.conf"
    pid = int((Path(c.node_dir("node1")) / "agent.pid").read_text())
    good = conf.read_text()
    conf.write_text(good.replace(f"orchestrator = {dead}", "orchestrator = ftp://nowhere"))
    os.kill(pid, signal.SIGHUP)
    wait_for(lambda: "SIGHUP:" in log_of() and f"keeping the running configuration (orchestrator {dead})"
             in log_of(), "the bad file refused", timeout=10)
    assert not (orch_nodes(orch).get(c.address("node1")) or {})
    conf.write_text(good.replace(f"orchestrator = {dead}", f"orchestrator = {dead}, {orch.base}"))
    os.kill(pid, signal.SIGHUP)
    wait_beating(orch, c)
    assert f"SIGHUP: orchestrator list now {dead},{orch.base} (was {dead})" in log_of(), log_of()[-3000:]
    # Unchanged: said so, nothing moves.
    os.kill(pid, signal.SIGHUP)
    wait_for(lambda: "the orchestrator list is unchanged" in log_of(), "the unchanged list", timeout=10)
    wait_beating(orch, c)


def test_agent_follows_a_standby_to_the_active(sim_factory, orch, stubs):  # noqa: F811
    st = stubs("standby", orch.base)
    c = start_agent(sim_factory, orch, f"{st.base},{orch.base}", "follow")
    wait_beating(orch, c)
    log = agent_log(c, "node1")
    assert (f"now using {orch.base}: {st.base} is a standby and named {orch.base} "
            "as the active one") in log, log[-3000:]
    posts = st.seen("POST")
    assert posts and posts[0]["path"] == "/api/v1/agents/checkin"
    # Later requests go to the active directly.
    n = len(st.seen())
    time.sleep(2)
    assert len(st.seen()) == n, st.seen()[n:]


def test_agent_refuses_a_redirect_to_an_unconfigured_host(sim_factory, orch, stubs):  # noqa: F811
    # The real orchestrator is where the rogue stub points, but it is not
    # in the agent's list: nothing may reach it, the join token least of all.
    rogue = stubs("rogue", orch.base)
    c = start_agent(sim_factory, orch, rogue.base, "rogue")
    port = orch.base.rsplit(":", 1)[1]
    wait_for(lambda: agent_log(c, "node1").count("not a configured orchestrator") >= 2,
             "two refused redirects in the agent log", timeout=30)
    log = agent_log(c, "node1")
    line = next(ln for ln in log.splitlines() if "not a configured orchestrator" in ln)
    assert f"{rogue.base} redirected POST /api/v1/agents/checkin" in line, line
    assert f"http://127.0.0.1:{port}, which is not a configured orchestrator" in line, line
    assert "key 'orchestrator' in" in line and "agent.conf" in line, line
    # The stub is configured, so it saw the token; the target never did.
    assert rogue.seen("POST") and all(r["auth"] for r in rogue.seen("POST"))
    assert orch_nodes(orch) == {}


def test_agent_moves_past_no_active_to_the_real_one(sim_factory, orch, stubs):  # noqa: F811
    na = stubs("no_active")
    c = start_agent(sim_factory, orch, f"{na.base},{orch.base}", "noactive")
    wait_beating(orch, c)
    log = agent_log(c, "node1")
    assert f"now using {orch.base}: {na.base} answered 503 (no_active)" in log, log[-3000:]


def test_agent_says_what_each_orchestrator_did_when_none_takes_it(sim_factory, orch, stubs):  # noqa: F811
    dead, na = dead_url(), stubs("no_active")
    c = start_agent(sim_factory, orch, f"{dead},{na.base}", "none")
    want = (f"cannot check in: no orchestrator could take it: {dead} did not answer "
            f"(Couldn't connect to server); {na.base} answered 503 (no_active)")
    wait_for(lambda: agent_log(c, "node1").count(want) >= 2,
             "two rounds that name both orchestrators", timeout=30)
    # Rounds are spaced by the check-in backoff, not run back to back.
    assert len(na.seen()) <= agent_log(c, "node1").count(want) + 1, len(na.seen())
    assert orch_nodes(orch) == {}


def test_agent_config_refuses_a_bad_list(sim_factory, orch, tmp_path):  # noqa: F811
    c = sim_factory(name="badlist", nodes=1)
    tok = tmp_path / "t"
    tok.write_text("x\n")
    for value, want in ((f"{orch.base},,{orch.base}x", "item 2 of the orchestrator list is empty"),
                        (f"{orch.base},{orch.base}/", "names the same orchestrator as item 1"),
                        ("http://user:pw@127.0.0.1:1", "user name or password")):
        conf = write_agent_conf(c, "node1", value, tok)
        r = subprocess.run([str(RINGAGENT), "-f", str(conf), "-n"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode != 0 and "key 'orchestrator'" in r.stderr and want in r.stderr, \
            (value, r.returncode, r.stderr)


# ---- ringsh ----

def rsh(urls, tmp_path, *args, input=None, token=None):
    return run(clean_env(tmp_path, url=urls, token=token), *args, input=input)


def test_ringsh_follows_a_standby_for_writes_and_reads_from_it(orch, stubs, tmp_path):  # noqa: F811
    st = stubs("standby", orch.base)
    tok = orch.admin_token
    # A read is answered by the standby itself: no switch.
    r = rsh(f"{st.base},{orch.base}", tmp_path, "-c", "clusters", token=tok)
    assert r.returncode == 0, r.stderr
    assert "now using" not in r.stderr and st.seen("GET")
    # A write is redirected; ringsh says where it went, and the next
    # command of the same run goes straight to the active one.
    store = f"file://{tmp_path}/store"
    n = len(st.seen())
    r = rsh(f"{st.base},{orch.base}", tmp_path, input=(
        f"clusters create red --storage {store} --ssh-user cassandra "
        "--ssh-key /etc/ringmaster/id_ed25519\nclusters create blue --storage "
        f"{store}2 --ssh-user cassandra --ssh-key /etc/ringmaster/id_ed25519\n"), token=tok)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (f"ringsh: now using {orch.base}: {st.base} is a standby and named "
            f"{orch.base} as the active one") in r.stderr, r.stderr
    assert r.stderr.count("now using") == 1, r.stderr
    assert orch.get("/api/v1/clusters/red").status_code == 200
    assert orch.get("/api/v1/clusters/blue").status_code == 200
    new = st.seen()[n:]
    assert [(q["method"], q["path"]) for q in new] == [("POST", "/api/v1/clusters")], new
    # The same request body went to the active one.
    assert json.loads(new[0]["body"])["name"] == "red"


def test_ringsh_dead_url_and_no_active_then_the_real_one(orch, stubs, tmp_path):  # noqa: F811
    dead, na = dead_url(), stubs("no_active")
    tok = orch.admin_token
    r = rsh(f"{dead},{na.base},{orch.base}", tmp_path, "-c", "health", token=tok)
    assert r.returncode == 0, r.stderr
    assert f"at {orch.base}" in r.stdout
    assert f"ringsh: now using {orch.base}: {dead} did not answer" in r.stderr, r.stderr
    assert f"{na.base} answered 503 (no_active)" in r.stderr, r.stderr
    # A write too: the dead URL got nothing, the 503 took nothing.
    r = rsh(f"{dead},{na.base},{orch.base}", tmp_path, "-c",
            f"clusters create green --storage file://{tmp_path}/s --ssh-user c "
            "--ssh-key /k", token=tok)
    assert r.returncode == 0, r.stderr
    assert orch.get("/api/v1/clusters/green").status_code == 200
    # Nothing answers: one line naming each URL and what it did.
    r = rsh(f"{dead},{na.base}", tmp_path, "-c", "health", token=tok)
    assert r.returncode != 0
    assert f"{dead}" in r.stderr and f"{na.base}" in r.stderr and "503" in r.stderr, r.stderr


def test_ringsh_refuses_a_redirect_to_an_unconfigured_host(orch, stubs, tmp_path):  # noqa: F811
    # A second stub plays the unconfigured host, to see that it gets nothing.
    target = stubs("no_active")
    rogue = stubs("rogue", target.base)
    tok = orch.admin_token
    r = rsh(f"{rogue.base},{orch.base}", tmp_path, "-c",
            f"clusters create black --storage file://{tmp_path}/s --ssh-user c --ssh-key /k",
            token=tok)
    assert r.returncode != 0
    assert f"{rogue.base} redirected POST /api/v1/clusters" in r.stderr, r.stderr
    assert f"names {target.base}, which is not a configured orchestrator" in r.stderr, r.stderr
    assert "nothing was sent there" in r.stderr and "connect URL,URL" in r.stderr, r.stderr
    assert target.seen() == [], target.seen()
    # The refusal is not a failover: the write went nowhere else either.
    assert orch.get("/api/v1/clusters/black").status_code == 404
    # The bad list itself is refused before anything is sent.
    r = rsh(f"{orch.base},,{orch.base}", tmp_path, "-c", "health", token=tok)
    assert r.returncode != 0 and "item 2 of the orchestrator list is empty" in r.stderr, r.stderr


def test_ringsh_conf_line_with_a_list_and_u_naming_it(orch, stubs, tmp_path):  # noqa: F811
    st = stubs("standby", orch.base)
    tokf = tmp_path / "tok"
    tokf.write_text(orch.admin_token + "\n")
    conf = tmp_path / "ringsh.conf"
    conf.write_text(f"ha {st.base},{orch.base} token_file={tokf}\n")
    conf.chmod(0o600)
    env = clean_env(tmp_path, RINGSH_CONFIG=str(conf))
    # The same list given with -u (another spelling) picks the line and its token.
    r = run(env, "-u", f"{st.base}/, {orch.base}", "--json", "-c",
            f"clusters create white --storage file://{tmp_path}/w --ssh-user c --ssh-key /k;"
            " connections")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "now using" in r.stderr
    conns = json.loads(r.stdout.strip().splitlines()[-1])
    assert [c["name"] for c in conns] == ["ha"], conns
    assert conns[0]["url"] == orch.base and conns[0]["urls"] == [st.base, orch.base], conns
    assert orch.get("/api/v1/clusters/white").status_code == 200


def test_ringsh_never_sends_a_write_twice_but_retries_a_read(orch, stubs, tmp_path):  # noqa: F811
    drop = stubs("drop")
    tok = orch.admin_token
    urls = f"{drop.base},{orch.base}"
    r = rsh(urls, tmp_path, "-c",
            f"clusters create grey --storage file://{tmp_path}/g --ssh-user c --ssh-key /k",
            token=tok)
    assert r.returncode != 0
    assert "the request may have reached it, so it was not sent to another orchestrator" \
        in r.stderr, r.stderr
    assert [q["method"] for q in drop.seen()] == ["POST"], drop.seen()
    assert orch.get("/api/v1/clusters/grey").status_code == 404
    # A read changes nothing: it goes on to the next one.
    r = rsh(urls, tmp_path, "-c", "clusters", token=tok)
    assert r.returncode == 0, r.stderr
    assert f"ringsh: now using {orch.base}: {drop.base} did not answer" in r.stderr, r.stderr
