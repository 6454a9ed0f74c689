"""Node identity (docs/security.md): the join token only registers new nodes of
registered clusters; each node gets a credential of its own at its first
check-in and may act only for itself; nothing changes a known node's host id,
SSH host key, dc or rack but a replacement; an admin revokes and readmits
nodes; the join token rotates with a grace period.

HTTP check-ins and heartbeats here are sent as an agent would (orch.py's
token="agent" keeps each node's credential), except where a test sends a
particular token on purpose."""
import json
import os
import stat
import time
from pathlib import Path

from agentutil import (RINGAGENT, agent_log, orch_nodes, sim_factory,  # noqa: F401
                       wait_for, write_agent_conf)
from orch import orch, orch_factory  # noqa: F401
from test_replace import Beater, member_down
from test_ringsh_common import clean_env, run

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKnownKey root@n1"
OTHER_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKey root@n1"


def host_id(address):
    return "6f1c2a52-0000-4000-8000-%012d" % int(address.replace(".", ""))


def body(address="10.9.0.1", cluster="prod", **kw):
    """A check-in body; a value None leaves the field out."""
    b = {"cluster": cluster, "address": address, "dc": "dc1", "rack": "r1",
         "cassandra_version": "4.1.3", "ssh_host_key": KEY, "host_id": host_id(address)}
    b.update(kw)
    return {k: v for k, v in b.items() if v is not None}


def checkin(o, token="agent", **kw):
    return o.post("/api/v1/agents/checkin", body(**kw), token=token)


def beat(o, address="10.9.0.1", token="agent", cluster="prod", **kw):
    return o.post("/api/v1/agents/heartbeat", {"cluster": cluster, "address": address,
                                               "status": "up", **kw}, token=token)


def node(o, address="10.9.0.1", cluster="prod"):
    return orch_nodes(o, cluster)[address]


def events(o, kind, cluster="prod"):
    evs = o.ok("GET", "/api/v1/events", params={"cluster": cluster, "limit": 500})["items"]
    out = [e for e in evs if e["kind"] == kind]
    for e in out:
        if isinstance(e.get("detail"), str):
            e["detail"] = json.loads(e["detail"])
    return out


def test_first_checkin_gets_a_credential_shown_once(orch):
    orch.create_cluster("prod")
    r = checkin(orch)
    assert r.status_code == 200, r.text
    cred = r.json()["credential"]
    assert cred.startswith("rmn_") and len(cred) == 68
    assert orch.node_creds[("prod", "10.9.0.1")] == cred
    # Only its hash is kept: the store holds no clear credential.
    for p in orch.data_dir.glob("state.db*"):
        assert cred.encode() not in p.read_bytes(), p
    assert [e["result"] for e in events(orch, "node")] == ["credential"]
    # Later check-ins with it get none again.
    r = checkin(orch)
    assert r.status_code == 200 and "credential" not in r.json(), r.text
    assert beat(orch).status_code == 200


def test_checkin_that_changes_a_known_nodes_identity_is_refused(orch):
    orch.create_cluster("prod")
    assert checkin(orch).status_code == 200
    before = node(orch)
    assert before["ssh_host_key"] == KEY and before["dc"] == "dc1"
    changes = [
        ("host_id", {"host_id": host_id("10.9.0.99")}),
        ("ssh_host_key", {"ssh_host_key": OTHER_KEY}),
        ("dc", {"dc": "dc2"}),
        ("rack", {"rack": "r2"}),
    ]
    for field, change in changes:
        # The node's own credential, and an admin: 409, nothing changed.
        for token in ("agent", "admin"):
            r = checkin(orch, token=token, **change)
            assert r.status_code == 409, (field, token, r.text)
            assert "nothing was changed" in r.json()["error"]["message"]
            after = node(orch)
            for k in ("host_id", "ssh_host_key", "dc", "rack"):
                assert after[k] == before[k], (field, k, after)
        # The join token may not even try: the node has a credential.
        r = checkin(orch, token="join", **change)
        assert r.status_code == 403 and "its own credential" in r.text, r.text
    refused = [e for e in events(orch, "node") if e["result"] == "refused"]
    assert sorted({e["detail"]["field"] for e in refused}) == ["dc", "host_id", "rack",
                                                               "ssh_host_key"]
    assert all(e["target"] == "10.9.0.1" for e in refused)
    # A new comment on the same key is the same key.
    assert checkin(orch, ssh_host_key=KEY.replace("root@n1", "other")).status_code == 200
    # A host id moved to another address is the same node: refused as well
    # when its key differs.
    r = checkin(orch, address="10.9.0.7", host_id=host_id("10.9.0.1"), ssh_host_key=OTHER_KEY,
                token="admin")
    assert r.status_code == 409, r.text
    assert "10.9.0.7" not in orch_nodes(orch, "prod")


def test_a_replacement_in_progress_lets_a_new_host_take_the_dead_address(orch_factory):
    o = orch_factory(conf={"heartbeat_timeout": "3s"})
    o.create_cluster("prod")
    b = Beater(o)
    try:
        a, c = "10.9.7.1", "10.9.7.3"
        member_down(o, b, a, c)
        # Not being replaced: a new host at c's address is refused.
        new = {"ssh_host_key": OTHER_KEY, "host_id": None}
        r = o.post("/api/v1/agents/checkin", {**body(address=c), **new}, token="join")
        assert r.status_code == 403, r.text     # c has its own credential
        r = o.post("/api/v1/agents/checkin", {**body(address=c), **new}, token="admin")
        assert r.status_code == 409, r.text
        t = o.submit("prod", "replace", node=c)

        def join_wait():
            s = {x["name"]: x for x in o.task(t["id"])["steps"]}["join"]
            return s["state"] == "running" and "waiting for a new, empty node" in (s["message"] or "")
        wait_for(join_wait, "the replace waiting for a host", timeout=30)
        # Now the new host, with another key and no credential, takes c's place.
        r = o.post("/api/v1/agents/checkin", {**body(address=c), **new,
                                              "wants_credential": True}, token="join")
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["role"] == "replace" and got["replace_address"] == c, got
        assert got["credential"].startswith("rmn_")
        assert orch_nodes(o, "prod")[c]["ssh_host_key"] == OTHER_KEY
        o.ok("POST", f"/api/v1/tasks/{t['id']}/cancel")
        o.wait_task(t["id"], states=("cancelled",), timeout=20)
    finally:
        b.close()


def test_heartbeats_need_the_nodes_own_credential(orch):
    orch.create_cluster("prod")
    assert checkin(orch, address="10.9.0.1").status_code == 200
    assert checkin(orch, address="10.9.0.2").status_code == 200
    cred_a = orch.node_creds[("prod", "10.9.0.1")]
    assert beat(orch, "10.9.0.1").status_code == 200
    # The join token, for a node with a credential: refused, nothing marked.
    r = beat(orch, "10.9.0.1", token="join", **{"status": "down"})
    assert r.status_code == 403 and "join token may not" in r.text, r.text
    # Node A's credential for node B: refused.
    r = beat(orch, "10.9.0.2", token=cred_a, **{"status": "down"})
    assert r.status_code == 403 and "acts only for its own node" in r.text, r.text
    r = orch.post("/api/v1/agents/checkin", body(address="10.9.0.2"), token=cred_a)
    assert r.status_code == 403, r.text
    assert node(orch, "10.9.0.2")["state"] == "up"
    # A made-up credential is unknown.
    assert beat(orch, "10.9.0.1", token="rmn_" + "0" * 64).status_code == 401


def test_join_token_cannot_create_clusters_nor_mark_nodes_down(orch):
    r = checkin(orch, token="join", cluster="fresh")
    assert r.status_code == 404 and "an admin creates it first" in r.text, r.text
    assert orch.get("/api/v1/clusters/fresh").status_code == 404
    assert orch.post("/api/v1/clusters", {"name": "x", "storage": {"url": "file:///tmp/x"},
                                          "ssh": {"user": "u", "key_file": "/k"}},
                     token="join").status_code == 403
    orch.create_cluster("prod")
    assert checkin(orch).status_code == 200
    assert orch.get("/api/v1/clusters/prod/seeds", token="join").status_code == 403
    assert orch.get("/api/v1/clusters/prod/nodes", token="join").status_code == 403
    for status in ("down", "leaving"):
        assert beat(orch, token="join", status=status).status_code == 403
    assert node(orch)["state"] == "up"
    # A node credential is no API token either.
    cred = orch.node_creds[("prod", "10.9.0.1")]
    assert orch.get("/api/v1/clusters", token=cred).status_code == 403
    assert orch.post("/api/v1/clusters/prod/tasks", {"type": "noop"},
                     token=cred).status_code == 403


def test_revoke_then_readmit(orch):
    orch.create_cluster("prod")
    assert checkin(orch).status_code == 200
    old = orch.node_creds[("prod", "10.9.0.1")]
    assert beat(orch).status_code == 200
    r = orch.delete("/api/v1/clusters/prod/nodes/10.9.0.1/credential")
    assert r.status_code == 200 and r.json()["credential"] == "revoked", r.text
    wait_for(lambda: beat(orch).status_code == 401, "the revoked credential refused",
             timeout=5)
    # Locked out: the join token does not let it back in.
    r = checkin(orch, token="join", wants_credential=True)
    assert r.status_code == 403 and "node readmit" in r.text, r.text
    assert orch.delete("/api/v1/clusters/prod/nodes/10.9.9.9/credential").status_code == 404
    assert orch.delete("/api/v1/clusters/prod/nodes/10.9.0.1/credential",
                       token="join").status_code == 403
    # Readmitted from the command line: the next join check-in gets a new one, once.
    r = orch.run("node", "readmit", "prod", "10.9.0.1")
    assert r.returncode == 0 and "next check-in by join token" in r.stdout, r.stderr
    r = checkin(orch, token="join", wants_credential=True)
    assert r.status_code == 200, r.text
    new = r.json()["credential"]
    assert new != old
    assert beat(orch, token=new).status_code == 200
    assert beat(orch, token=old).status_code == 401
    assert checkin(orch, token="join", wants_credential=True).status_code == 403
    # `node revoke` from the command line, while the daemon runs.
    r = orch.run("node", "revoke", "prod", "10.9.0.1")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: beat(orch, token=new).status_code == 401,
             "the credential refused after node revoke", timeout=5)
    assert orch.run("node", "revoke", "prod", "10.9.9.9").returncode == 1
    res = [(e["result"], e["actor"]) for e in events(orch, "node")]
    assert ("revoked", "admin") in res and ("readmit", "ringmaster") in res, res
    assert ("revoked", "ringmaster") in res, res


def test_ringsh_node_revoke_and_readmit(orch, tmp_path):
    """The same two calls from ringsh, as an operator at a terminal."""
    orch.create_cluster("prod")
    assert checkin(orch).status_code == 200
    env = clean_env(tmp_path, url=orch.base, token=orch.admin_token)
    r = run(env, "-c", "node revoke 10.9.0.1 --cluster prod")
    assert r.returncode == 0, r.stderr
    assert "10.9.0.1 in prod: credential revoked" in r.stdout and "node readmit 10.9.0.1" in r.stdout
    wait_for(lambda: beat(orch).status_code == 401, "the revoked credential refused", timeout=5)
    r = run(env, "-c", "node revoke 10.9.9.9 --cluster prod")
    assert r.returncode != 0 and "10.9.9.9" in r.stderr, (r.stdout, r.stderr)
    r = run(env, "-c", "node readmit 10.9.0.1 --cluster prod --json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["credential"] == "readmit", r.stdout
    assert checkin(orch, token="join", wants_credential=True).status_code == 200
    # Without a cluster it says how to name one; an operator token may not.
    r = run(env, "-c", "node readmit 10.9.0.1")
    assert r.returncode != 0 and "no cluster selected" in r.stderr, r.stderr
    r = run(env, "-c", "node")
    assert r.returncode != 0 and "needs a subcommand" in r.stderr, r.stderr
    res = [(e["result"], e["actor"]) for e in events(orch, "node")]
    assert ("revoked", "admin") in res and ("readmit", "admin") in res, res


def test_rotate_join_with_a_grace_period(orch):
    orch.create_cluster("prod")
    old = orch.join_token
    r = orch.run("token", "rotate-join", "--grace", "4s")
    assert r.returncode == 0, r.stderr
    new = r.stdout.strip().splitlines()[-1]
    assert new != old and orch.join_token == new
    mode = stat.S_IMODE(os.stat(orch.data_dir / "join.token").st_mode)
    assert mode == 0o600, oct(mode)
    rotated = time.monotonic()
    # Within the grace both register nodes (the daemon reads them within 1 s).
    wait_for(lambda: checkin(orch, token=new, address="10.9.1.2").status_code == 200,
             "the new join token taken", timeout=3)
    assert checkin(orch, token=old, address="10.9.1.1").status_code == 200
    assert time.monotonic() - rotated < 4, "the grace ended before it was checked"
    wait_for(lambda: checkin(orch, token=old, address="10.9.1.3").status_code == 401,
             "the old join token refused after its grace", timeout=10)
    assert checkin(orch, token=new, address="10.9.1.4").status_code == 200
    evs = [e for e in orch.ok("GET", "/api/v1/events", params={"limit": 500})["items"]
           if e["kind"] == "token"]
    got = {(e["target"], e["result"]) for e in evs}
    assert ("join", "created") in got and ("join (previous)", "grace") in got, evs
    assert orch.run("token", "rotate-join", "--grace", "soon").returncode == 1
    # A restart keeps the rotated token and not the old one.
    assert orch.stop() == 0
    orch.start()
    assert checkin(orch, token=new, address="10.9.1.5").status_code == 200
    assert checkin(orch, token=old, address="10.9.1.6").status_code == 401


def test_an_agent_from_before_credentials_gets_one_once(orch):
    """The upgrade path: a node known without a credential (its agent did not
    ask for one) keeps working with the join token until its agent asks; then
    it gets one, once, and the join token no longer acts for it."""
    orch.create_cluster("prod")
    r = checkin(orch, token="join")             # an older agent: no wants_credential
    assert r.status_code == 200 and "credential" not in r.json(), r.text
    assert beat(orch, token="join").status_code == 200
    r = checkin(orch, token="join", wants_credential=True)
    assert r.status_code == 200, r.text
    cred = r.json()["credential"]
    assert beat(orch, token=cred).status_code == 200
    assert beat(orch, token="join").status_code == 403
    assert checkin(orch, token="join", wants_credential=True).status_code == 403
    ev = [e for e in events(orch, "node") if e["result"] == "credential"]
    assert ev and ev[-1]["detail"]["reason"] == "first credential of a known node", ev


def test_real_agent_keeps_its_credential_and_comes_back_after_readmit(sim_factory, orch):  # noqa: F811
    c = sim_factory(nodes=1)
    n = c.names[0]
    addr = c.address(n)
    tok = orch.tmp / "join.token"
    tok.write_text(orch.join_token + "\n")
    orch.ensure_cluster("sim")
    write_agent_conf(c, n, orch.base, tok)
    c.start_all(agent=str(RINGAGENT))
    cred_file = Path(c.node_dir(n)) / "agent-state" / "node.credential"
    wait_for(cred_file.exists, "the agent's credential file", timeout=30)
    assert stat.S_IMODE(cred_file.stat().st_mode) == 0o600
    cred = cred_file.read_text().strip()
    assert cred.startswith("rmn_")
    assert cred not in agent_log(c, n) and cred not in orch.log_tail(10000)
    wait_for(lambda: orch_nodes(orch, "sim").get(addr, {}).get("state") == "up",
             "the node up", timeout=30)
    # Revoked: its heartbeats are refused, and the join token does not help.
    assert orch.run("node", "revoke", "sim", addr).returncode == 0
    wait_for(lambda: "node credential refused" in agent_log(c, n)
             and "node readmit" in agent_log(c, n), "the agent refused", timeout=30)
    assert cred_file.read_text().strip() == cred
    # Readmitted: it checks in by join token and keeps a new credential.
    assert orch.run("node", "readmit", "sim", addr).returncode == 0
    wait_for(lambda: cred_file.read_text().strip() != cred, "a new credential", timeout=60)
    new = cred_file.read_text().strip()
    seen = node(orch, addr, "sim")["last_heartbeat"]
    wait_for(lambda: node(orch, addr, "sim")["last_heartbeat"] != seen,
             "heartbeats again", timeout=30)
    assert beat(orch, addr, token=new, cluster="sim").status_code == 200
    assert beat(orch, addr, token=cred, cluster="sim").status_code == 401


class OldOrchestrator:
    """An orchestrator from before node credentials: a check-in that asks
    for one is 400 unknown_field; it gives none.  Keeps every request's
    path, body and bearer token."""

    def __init__(self):
        import http.server
        import threading
        seen = self.seen = []

        class H(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                b = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                seen.append((self.path, b, self.headers.get("Authorization")))
                if self.path.endswith("/checkin") and "wants_credential" in b:
                    code, ans = 400, {"error": {"code": "unknown_field",
                                                "message": "unknown field 'wants_credential'"}}
                elif self.path.endswith("/checkin"):
                    code, ans = 200, {"role": "rejoin", "seeds": [], "heartbeat_interval_s": 1}
                else:
                    code, ans = 200, {"status": "ok"}
                out = json.dumps(ans).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def log_message(self, *a):
                pass
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.base = f"http://127.0.0.1:{self.srv.server_address[1]}"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def test_new_agent_works_with_an_orchestrator_from_before_credentials(sim_factory, tmp_path):  # noqa: F811
    from agentutil import simlib
    c = sim_factory(nodes=1)
    n = c.names[0]
    c.start_cassandra(n)
    fake = OldOrchestrator()
    try:
        tok = tmp_path / "join.token"
        tok.write_text("old-join-token-0123456789\n")
        write_agent_conf(c, n, fake.base, tok)
        simlib.start_agent(c.dir, n, str(RINGAGENT))
        wait_for(lambda: len([s for s in fake.seen if s[0].endswith("/heartbeat")]) >= 2,
                 "heartbeats after the check-in", timeout=30)
        checkins = [s for s in fake.seen if s[0].endswith("/checkin")]
        assert "wants_credential" in checkins[0][1]
        assert "wants_credential" not in checkins[1][1]
        assert all(s[2] == "Bearer old-join-token-0123456789" for s in fake.seen), fake.seen
        assert not (Path(c.node_dir(n)) / "agent-state" / "node.credential").exists()
    finally:
        fake.close()
