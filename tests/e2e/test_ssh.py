"""orchestrator/nodes/ssh.c against the real sshd of simulated nodes, driven
through UNIT_DIR/test_ssh --cli: `ringagent status --json` on every node,
pinned and known_hosts host keys, a changed key refused before anything
runs, stderr and exit statuses, session reuse, timeouts and cancel."""
import json
import time
from pathlib import Path

import pytest

from agentutil import (RINGAGENT, host_key_line, sim_factory, ssh_cli,  # noqa: F401
                       write_agent_conf)
from rmtest import UNIT_DIR

OTHER_KEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAflPow1hhioU0jADh02eq2d6uKu3uYvB8JjJOj71Y4m "
             "someone-else")


@pytest.fixture
def cluster(sim_factory, tmp_path):  # noqa: F811
    c = sim_factory(nodes=3)
    tok = tmp_path / "token"
    tok.write_text("t\n")
    for n in c.names:
        write_agent_conf(c, n, "http://127.0.0.1:9", tok)
    c.start_all()  # sshd + Cassandra, no agent daemon
    return c


def agent_cmd(c, name, op="status --json"):
    return f"{RINGAGENT} -f {Path(c.node_dir(name)) / 'agent.conf'} {op}"


def test_status_on_every_node_over_ssh(cluster):
    c = cluster
    for n in c.names:
        out, res, rc = ssh_cli(c, n, agent_cmd(c, n))
        assert rc == 0 and res[0]["status"] == "ok" and res[0]["exit"] == 0, res
        last = json.loads(out[-1])
        assert last["type"] == "result" and last["ok"]
        assert last["data"]["address"] == c.address(n)
        assert last["data"]["host_id"] == c.node(n)["host_id"]
        assert len(last["data"]["peers"]["datacenters"][0]["nodes"]) == 3


def test_changed_host_key_is_refused_and_nothing_runs(cluster, tmp_path):
    c = cluster
    marker = tmp_path / "ran"
    out, res, rc = ssh_cli(c, "node1", f"touch {marker}", OTHER_KEY)
    assert rc != 0 and res[0]["status"] == "hostkey"
    assert res[0]["error"].startswith(f"host key changed for {c.address('node1')}"), res
    assert "nothing was run" in res[0]["error"]
    assert not marker.exists()
    # A key pinned for node1 does not open node2 either.
    out, res, rc = ssh_cli(c, "node2", f"touch {marker}", host_key_line(c, "node1"))
    assert res[0]["status"] == "hostkey" and not marker.exists()


def test_known_hosts_file(cluster, tmp_path):
    c = cluster
    kh = tmp_path / "known_hosts"
    addr, port = c.address("node1"), c.ssh_port
    kh.write_text(f"[{addr}]:{port} {host_key_line(c, 'node1')}\n")
    out, res, rc = ssh_cli(c, "node1", "echo ok", "-", "--known-hosts", kh)
    assert rc == 0 and out == ["ok"], res
    kh.write_text(f"[{addr}]:{port} {OTHER_KEY}\n")
    out, res, rc = ssh_cli(c, "node1", "echo ok", "-", "--known-hosts", kh)
    assert res[0]["status"] == "hostkey" and "host key changed for" in res[0]["error"]
    assert out == []
    kh.write_text("")
    out, res, rc = ssh_cli(c, "node1", "echo ok", "-", "--known-hosts", kh)
    assert res[0]["status"] == "hostkey" and "not in known_hosts" in res[0]["error"]
    # Nothing pinned and no file: refused, never trust-on-first-use.
    out, res, rc = ssh_cli(c, "node1", "echo ok", "-")
    assert res[0]["status"] == "hostkey" and "no host key to check" in res[0]["error"]


def test_wrong_client_key_is_an_auth_error(cluster, tmp_path):
    c = cluster
    import subprocess
    k = tmp_path / "stranger"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(k)], check=True)
    argv = [str(UNIT_DIR / "test_ssh"), "--cli", c.address("node1"), str(c.ssh_port), "root",
            str(k), host_key_line(c, "node1"), "true"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    res = json.loads([ln for ln in r.stdout.splitlines() if ln.startswith("{")][0])
    assert res["status"] == "auth" and "refused key" in res["error"], res


def test_stderr_and_exit_status_decide(cluster):
    c = cluster
    out, res, rc = ssh_cli(c, "node1", "echo one; echo two; echo bad thing >&2; exit 7")
    assert out == ["one", "two"]
    assert rc != 0 and res[0]["status"] == "ok" and res[0]["exit"] == 7
    assert res[0]["stderr"] == "bad thing\n"
    assert "exited with status 7: bad thing" in res[0]["error"]
    # A line without a final newline still arrives.
    out, res, rc = ssh_cli(c, "node1", "printf 'a\\nb'")
    assert out == ["a", "b"] and rc == 0


def test_garbage_nodetool_over_ssh_names_command_and_line(cluster):
    c = cluster
    c.fault("node2", "garbage")
    out, res, rc = ssh_cli(c, "node2", agent_cmd(c, "node2"))
    assert res[0]["exit"] == 4, res
    last = json.loads(out[-1])
    assert last["error"]["code"] == "nodetool_unparseable"
    assert last["error"]["message"].startswith("nodetool info: line 1")


def test_sessions_are_reused(cluster):
    c = cluster
    out, res, rc = ssh_cli(c, "node1", "echo hi", None, "--repeat", "4")
    assert rc == 0 and [r["reused"] for r in res] == [False, True, True, True], res
    # Concurrent commands to one node each get a session.
    out, res, rc = ssh_cli(c, "node1", "echo hi", None, "--threads", "3")
    assert rc == 0 and len(res) == 3 and out == ["hi"] * 3


def test_command_timeout(cluster):
    c = cluster
    t0 = time.monotonic()
    out, res, rc = ssh_cli(c, "node1", "echo started; sleep 20", None, "--timeout", "1000")
    assert res[0]["status"] == "timeout" and "timed out after 1s" in res[0]["error"], res
    assert out == ["started"]
    assert time.monotonic() - t0 < 15


def test_cancel_ends_the_remote_agent_operation(cluster):
    c = cluster
    c.fault("node3", "hang")
    t0 = time.monotonic()
    out, res, rc = ssh_cli(c, "node3", agent_cmd(c, "node3"), None, "--cancel-after", "1500")
    assert res[0]["status"] == "cancelled", res
    # The agent saw "cancel" on stdin, killed nodetool and reported it.
    assert "did not stop" not in res[0]["error"]
    last = json.loads(out[-1])
    assert last["exit"] == 6 and last["error"]["code"] == "cancelled"
    assert time.monotonic() - t0 < 20


def test_connect_failure_names_the_node(cluster):
    c = cluster
    c.stop("node3")
    out, res, rc = ssh_cli(c, "node3", "true", None, "--connect-timeout", "2000")
    assert res[0]["status"] in ("connect", "timeout")
    assert c.address("node3") in res[0]["error"]


def test_reuse_benchmark_prints_numbers(cluster):
    c = cluster
    import subprocess
    argv = [str(UNIT_DIR / "test_ssh"), "--bench", c.address("node1"), str(c.ssh_port), "root",
            c.key, host_key_line(c, "node1"), "5", "true"]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    b = json.loads(r.stdout.strip().splitlines()[-1])
    print("ssh round trip:", b)
    assert b["commands"] == 5 and b["reused_total_ms"] > 0 and b["fresh_total_ms"] > 0
