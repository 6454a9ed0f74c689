"""ringmaster, the daemon: start-up, configuration errors, tokens, auth
refusals, clusters, signals and /metrics, against the real binary."""
import os
import signal
import shutil
import stat
import subprocess

import pytest

from orch import Orch, bin_path, orch, orch_factory, wait_until  # noqa: F401


def test_starts_and_answers_health(orch):
    r = orch.get("/health", token=None)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["version"]
    assert isinstance(body["uptime_s"], int)


def test_first_start_creates_token_files_0600_and_never_logs_secrets(orch):
    for name in ("admin.token", "join.token"):
        p = orch.data_dir / name
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, name
    log = orch.log_tail(1000)
    assert str(orch.data_dir / "admin.token") in log
    assert str(orch.data_dir / "join.token") in log
    assert orch.admin_token not in log
    assert orch.join_token not in log


def test_existing_join_token_is_kept(orch_factory, tmp_path):
    o = orch_factory(start=False)
    o.data_dir.mkdir(parents=True)
    (o.data_dir / "join.token").write_text("preset-join-token-0123456789\n")
    o.start()
    assert o.join_token == "preset-join-token-0123456789"
    r = o.post("/api/v1/agents/heartbeat", {"cluster": "c", "address": "10.0.0.1",
                                            "status": "up"}, token="agent")
    assert r.status_code == 404  # authorised, but the node never checked in


def test_version_and_help():
    r = subprocess.run([str(bin_path()), "-v"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("ringmaster ")
    r = subprocess.run([str(bin_path()), "--help"], capture_output=True, text=True)
    assert r.returncode == 0
    for key in ("listen", "data_dir", "heartbeat_timeout", "token create"):
        assert key in r.stdout


@pytest.mark.parametrize("line,words", [
    ("listen = nowhere", ["listen", "host:port"]),
    ("workers = many", ["workers", "integer"]),
    ("heartbeat_timeout = 10 parsecs", ["heartbeat_timeout", "duration"]),
    ("heartbeat_flush = 5x", ["heartbeat_flush", "duration"]),
    ("log_level = chatty", ["log_level", "one of"]),
    ("colour = blue", ["unknown key", "colour"]),
])
def test_check_config_names_file_line_and_key(tmp_path, line, words):
    conf = tmp_path / "bad.conf"
    conf.write_text(f"# comment\ndata_dir = {tmp_path}/data\n{line}\n")
    r = subprocess.run([str(bin_path()), "-n", "-f", str(conf)],
                       capture_output=True, text=True)
    assert r.returncode != 0
    assert f"{conf}:3:" in r.stderr, r.stderr
    for w in words:
        assert w in r.stderr, r.stderr
    # The daemon refuses to start with the same message, and creates nothing.
    r = subprocess.run([str(bin_path()), "-d", "-f", str(conf)],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0 and f"{conf}:3:" in r.stderr
    assert not (tmp_path / "data").exists()


def test_check_config_accepts_good_file(tmp_path):
    o = Orch(tmp_path)
    r = o.run("-n")
    assert r.returncode == 0, r.stderr
    assert not o.data_dir.exists()


def test_tls_cert_without_key_is_refused(tmp_path):
    o = Orch(tmp_path, {"tls_cert": str(tmp_path / "cert.pem")})
    r = o.run("-n")
    assert r.returncode != 0 and "tls_key" in r.stderr


def test_timeout_shorter_than_interval_is_refused(tmp_path):
    o = Orch(tmp_path, {"heartbeat_interval": "10s", "heartbeat_timeout": "5s"})
    r = o.run("-n")
    assert r.returncode != 0 and "heartbeat_timeout" in r.stderr


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")
def test_https_when_cert_and_key_are_set(orch_factory, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "1",
                    "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    o = orch_factory(conf={"tls_cert": str(cert), "tls_key": str(key)}, start=False)
    o.proc = subprocess.Popen([str(bin_path()), "-d", "-f", str(o.conf_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"https://127.0.0.1:{o.port}/health"
    r = wait_until(lambda: o.session.get(url, verify=str(cert), timeout=2),
                   10, "HTTPS /health")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_token_create_list_revoke(orch):
    tok = orch.create_token("viewer", "grafana")
    assert tok.startswith("rm_") and len(tok) > 40
    r = orch.get("/api/v1/clusters", token=tok)
    assert r.status_code == 200
    out = orch.run("token", "list").stdout
    assert "grafana" in out and "viewer" in out and tok not in out
    # Tokens are stored hashed: the secret is nowhere in the data directory.
    for p in orch.data_dir.iterdir():
        if p.name != "admin.token" and p.name != "join.token" and p.is_file():
            assert tok.encode() not in p.read_bytes(), p
    r = orch.run("token", "revoke", "grafana")
    assert r.returncode == 0, r.stderr
    wait_until(lambda: orch.get("/api/v1/clusters", token=tok).status_code == 401,
               5, "revoked token refused")
    assert "revoked" in orch.run("token", "list").stdout


def test_token_create_refuses_bad_role_and_duplicate_name(orch):
    r = orch.run("token", "create", "--role", "superuser", "--name", "x")
    assert r.returncode != 0 and "role" in r.stderr
    r = orch.run("token", "create", "--role", "viewer", "--name", "bad name")
    assert r.returncode != 0
    orch.create_token("operator", "ci")
    r = orch.run("token", "create", "--role", "viewer", "--name", "ci")
    assert r.returncode != 0 and "exists" in r.stderr
    r = orch.run("token", "revoke", "nobody")
    assert r.returncode != 0


def test_auth_refusals(orch):
    orch.create_cluster("prod")
    viewer = orch.create_token("viewer", "v")
    operator = orch.create_token("operator", "o")

    r = orch.get("/api/v1/clusters", token=None)
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    r = orch.get("/api/v1/clusters", token="rm_" + "0" * 64)
    assert r.status_code == 401
    r = orch.get("/api/v1/clusters", headers={"Authorization": "Basic eDp5"}, token=None)
    assert r.status_code == 401

    r = orch.post("/api/v1/clusters/prod/tasks", {"type": "noop"}, token=viewer)
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = orch.post("/api/v1/clusters", {"name": "x", "storage": {"url": "file:///x"},
                                       "ssh": {"user": "u", "key_file": "/k"}}, token=operator)
    assert r.status_code == 403
    assert orch.get("/api/v1/clusters/prod/tasks", token=viewer).status_code == 200

    # The agent's join token may check in and heartbeat, nothing else.
    for path in ("/api/v1/clusters", "/api/v1/clusters/prod", "/api/v1/events"):
        assert orch.get(path, token="agent").status_code == 403, path
    r = orch.post("/api/v1/clusters/prod/tasks", {"type": "noop"}, token="agent")
    assert r.status_code == 403
    # And no other token may check in but admin.
    r = orch.post("/api/v1/agents/checkin", {"cluster": "prod", "address": "10.0.0.1",
                  "dc": "dc1", "rack": "r1", "cassandra_version": "4.1.3"}, token=operator)
    assert r.status_code == 403
    # Nothing was created by the refused requests.
    names = [c["name"] for c in orch.ok("GET", "/api/v1/clusters")["items"]]
    assert names == ["prod"]
    assert orch.ok("GET", "/api/v1/clusters/prod/tasks")["items"] == []
    # Refusals of mutating requests are audited with the token's name.
    evs = orch.ok("GET", "/api/v1/events")["items"]
    assert any(e["actor"] == "v" and e["result"] == "403" for e in evs)


def test_unknown_route_404_and_wrong_method_405(orch):
    r = orch.get("/api/v1/nothing")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = orch.get("/api/v1/clusters/")
    assert r.status_code == 404
    r = orch.req("PUT", "/api/v1/clusters")
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"
    assert set(a.strip() for a in r.headers["Allow"].split(",")) == {"GET", "POST"}
    r = orch.req("PUT", "/api/v1/clusters/prod")
    assert r.status_code == 405
    assert set(a.strip() for a in r.headers["Allow"].split(",")) == {"GET", "DELETE", "PATCH"}
    r = orch.req("DELETE", "/health", token=None)
    assert r.status_code == 405 and r.headers["Allow"] == "GET"


def test_clusters_crud(orch):
    c = orch.create_cluster("prod", ssh={"user": "cassandra", "port": 2222,
                                          "key_file": "/etc/rm/key"})
    assert c["name"] == "prod"
    assert c["ssh"]["port"] == 2222
    assert c["storage"]["url"].startswith("file://")
    for k in ("nodes_up", "nodes_down", "queue_depth"):
        assert c[k] == 0
    assert c["running_task"] is None
    assert c["created_at"].endswith("Z")

    r = orch.post("/api/v1/clusters", {"name": "prod", "storage": {"url": "s3://b/p"},
                                       "ssh": {"user": "u", "key_file": "/k"}})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"

    orch.create_cluster("staging")
    got = orch.ok("GET", "/api/v1/clusters")
    assert [x["name"] for x in got["items"]] == ["prod", "staging"]
    assert got["next"] is None
    page = orch.ok("GET", "/api/v1/clusters", params={"limit": 1})
    assert [x["name"] for x in page["items"]] == ["prod"] and page["next"]
    page2 = orch.ok("GET", "/api/v1/clusters", params={"limit": 1, "cursor": page["next"]})
    assert [x["name"] for x in page2["items"]] == ["staging"]

    assert orch.get("/api/v1/clusters/nope").status_code == 404
    assert orch.delete("/api/v1/clusters/staging").status_code == 204
    assert orch.get("/api/v1/clusters/staging").status_code == 404
    assert orch.delete("/api/v1/clusters/staging").status_code == 404
    evs = orch.ok("GET", "/api/v1/events", params={"cluster": "staging"})["items"]
    assert [(e["method"], e["result"]) for e in evs if e["kind"] == "request"] == \
        [("POST", "201"), ("DELETE", "204"), ("DELETE", "404")]
    assert all(e["actor"] == "admin" for e in evs if e["kind"] == "request")


def test_delete_refused_while_a_task_runs(orch):
    orch.create_cluster("prod")
    t = orch.submit("prod", duration_s=30, steps=1)
    orch.wait_task(t["id"], ("running",))
    r = orch.delete("/api/v1/clusters/prod")
    assert r.status_code == 409 and "running" in r.json()["error"]["message"]
    c = orch.ok("GET", "/api/v1/clusters/prod")
    assert c["running_task"] == t["id"]
    orch.ok("POST", f"/api/v1/tasks/{t['id']}/cancel")
    orch.wait_task(t["id"], ("cancelled",))
    assert orch.delete("/api/v1/clusters/prod").status_code == 204
    assert orch.get(f"/api/v1/tasks/{t['id']}").status_code == 404


def test_sigterm_exits_zero_and_sighup_reopens_log(orch):
    log = orch.log_path
    rotated = log.with_suffix(".1")
    log.rename(rotated)
    orch.settings["log_level"] = "info"
    orch.write_config()
    orch.signal(signal.SIGHUP)
    wait_until(lambda: log.exists() and "log_level info" in log.read_text(), 5,
               "a new log file after SIGHUP")
    assert "SIGHUP" not in rotated.read_text()
    assert orch.get("/health", token=None).status_code == 200
    assert orch.stop() == 0
    assert "stopped" in log.read_text() or "stopping" in log.read_text()


def test_sighup_with_a_broken_config_keeps_running(orch):
    orch.settings["workers"] = "lots"
    orch.write_config()
    orch.signal(signal.SIGHUP)
    wait_until(lambda: "keeping the running configuration" in orch.log_path.read_text(),
               5, "the SIGHUP warning")
    assert orch.get("/health", token=None).status_code == 200


@pytest.mark.skipif(shutil.which("promtool") is None, reason="needs promtool")
def test_metrics_pass_promtool(orch):
    orch.create_cluster("prod")
    t = orch.submit("prod", duration_s=0, steps=2)
    orch.wait_task(t["id"])
    orch.get("/api/v1/nothing")
    orch.get("/api/v1/clusters", token=None)
    r = orch.get("/metrics", token=None)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/plain")
    text = r.text
    for name in ("ringmaster_build_info", "ringmaster_http_requests_total",
                 "ringmaster_tasks{", "ringmaster_task_duration_seconds_bucket",
                 "ringmaster_queue_depth{", "ringmaster_workers_busy",
                 "ringmaster_heartbeats_received_total",
                 # No node has checked in: the family is there, labelled by
                 # cluster once nodes are known.
                 "# TYPE ringmaster_nodes gauge",
                 'ringmaster_last_success_timestamp_seconds{cluster="prod",type="noop"}',
                 "# TYPE ringmaster_task_failures_total counter"):
        assert name in text, name
    assert 'route="/api/v1/clusters/{name}/tasks",status="202"' in text
    assert 'route="unmatched",status="404"' in text
    assert 'route="/api/v1/clusters",status="401"' in text
    assert 'ringmaster_tasks{type="noop",state="succeeded"} 1' in text
    p = subprocess.run(["promtool", "check", "metrics"], input=text,
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr
