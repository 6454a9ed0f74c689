"""Limits (docs/security.md, "Limits"): wrong tokens per client address,
refused requests in the audit log, events kept, Content-Type of JSON
bodies, storage URLs.  Each test starts its own daemon (orch.py)."""
import http.client
import json
import signal
import sqlite3
import time

import pytest

from orch import Orch
from rmtest import wait_for


@pytest.fixture
def orch_factory(tmp_path):
    """Start daemons with orch_factory(conf={...}); killed at teardown, their
    log tails printed (pytest shows them when the test failed)."""
    made = []

    def make(conf=None):
        o = Orch(tmp_path / f"orch{len(made)}", conf)
        made.append(o)
        return o.start()
    yield make
    for o in made:
        o.kill9()
        print(f"--- {o.tmp} log tail ---\n{o.log_tail()}")


def conn_from(o, source):
    """A kept-alive connection to o from the loopback address source."""
    return http.client.HTTPConnection("127.0.0.1", o.port, timeout=10,
                                      source_address=(source, 0))


def call(c, method, path, token=None, body=None, ctype="application/json"):
    h = {}
    if token:
        h["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = body if isinstance(body, (bytes, str)) else json.dumps(body)
        if ctype:
            h["Content-Type"] = ctype
    c.request(method, path, body=data, headers=h)
    r = c.getresponse()
    text = r.read()
    return r.status, dict(r.getheaders()), text


def metric(o, name):
    for line in o.get("/metrics", token=None).text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def events_in_db(o):
    db = sqlite3.connect(f"file:{o.data_dir}/state.db?mode=ro", uri=True)
    try:
        return db.execute("SELECT count(*), min(id), max(id) FROM events").fetchone()
    finally:
        db.close()


def test_wrong_tokens_throttled_per_address(orch_factory):
    o = orch_factory(conf={"auth_fail_max": "20", "auth_fail_window": "60s",
                           "auth_block": "3s"})
    good = o.admin_token
    bad_conn = conn_from(o, "127.0.0.2")
    statuses, retry = [], []
    for i in range(500):
        st, hdr, text = call(bad_conn, "GET", "/api/v1/clusters",
                             token=f"rm_{i:064x}")
        statuses.append(st)
        if st == 429:
            retry.append(hdr.get("Retry-After"))
            body = json.loads(text)
            assert body["error"]["code"] == "too_many_requests"
            assert "127.0.0.2" in body["error"]["message"]
    # The first 20 wrong tokens are heard (401); every one after is 429.
    assert statuses[:20] == [401] * 20, statuses[:25]
    assert statuses[20:] == [429] * 480, set(statuses[20:])
    assert all(r is not None and r.isdigit() and 1 <= int(r) <= 3 for r in retry), \
        set(retry)
    # Another address with a good token is not touched.
    st, _, _ = call(conn_from(o, "127.0.0.3"), "GET", "/api/v1/clusters", token=good)
    assert st == 200
    # The blocked address is refused even with a good token (documented),
    # and public routes still answer.
    st, hdr, _ = call(bad_conn, "GET", "/api/v1/clusters", token=good)
    assert st == 429 and int(hdr["Retry-After"]) >= 1
    st, _, _ = call(bad_conn, "GET", "/health")
    assert st == 200
    assert metric(o, "ringmaster_auth_failures_total") == 20
    assert metric(o, "ringmaster_auth_throttled_total") == 481
    log = o.log_path.read_text()
    assert "127.0.0.2 sent too many wrong tokens" in log and "429" in log
    # After the block the address is heard again.
    time.sleep(3.2)
    st, _, _ = call(bad_conn, "GET", "/api/v1/clusters", token=good)
    assert st == 200


def test_sighup_changes_the_wrong_token_budget_and_keeps_counts(orch_factory):
    """An operator under a guessing attack tightens auth_fail_max and
    reloads (SIGHUP), no restart: the failures already counted stay, and
    the next one past the new budget is refused."""
    o = orch_factory(conf={"auth_fail_max": "50", "auth_fail_window": "60s",
                           "auth_block": "30s"})
    bad_conn = conn_from(o, "127.0.0.2")
    for i in range(10):
        st, _, _ = call(bad_conn, "GET", "/api/v1/clusters", token=f"rm_{i:064x}")
        assert st == 401, (i, st)
    o.settings["auth_fail_max"] = "12"
    o.write_config()
    o.signal(signal.SIGHUP)
    wait_for(lambda: "request limit settings reloaded" in o.log_path.read_text(),
             "the reload", timeout=10)
    got = [call(bad_conn, "GET", "/api/v1/clusters", token=f"rm_{i:064x}")[0]
           for i in range(10, 14)]
    # the 11th and 12th are heard, the 12th spends the new budget (as the
    # 20th of 20 does above), the ones after it wait
    assert got == [401, 401, 429, 429], got
    assert metric(o, "ringmaster_auth_failures_total") == 12
    # a good token from another address is not touched
    st, _, _ = call(conn_from(o, "127.0.0.3"), "GET", "/api/v1/clusters", token=o.admin_token)
    assert st == 200


def test_refused_requests_do_not_grow_events(orch_factory):
    o = orch_factory(conf={"audit_refused_max": "10"})
    viewer = o.create_token("viewer", "v1")
    before = events_in_db(o)[0]
    c = conn_from(o, "127.0.0.1")
    refused = 0
    t0 = time.monotonic()
    for i in range(20000):
        st, _, _ = call(c, "POST", "/api/v1/clusters", token=viewer,
                        body={"name": f"c{i}"})
        refused += st == 403
    assert refused == 20000
    # At most audit_refused_max a minute are recorded (a few minutes' worth
    # if the loop is slow on a busy machine).
    added = events_in_db(o)[0] - before
    elapsed_min = (time.monotonic() - t0) / 60
    assert 1 <= added <= 10 * (int(elapsed_min) + 2), (added, elapsed_min)
    # Invalid bodies from an operator are refusals too.
    op = o.create_token("operator", "op1")
    before = events_in_db(o)[0]
    for i in range(500):
        st, _, _ = call(c, "POST", "/api/v1/clusters/nope/tasks", token=op,
                        body={"type": "no-such-type"})
        assert st in (400, 404), st
    added = events_in_db(o)[0] - before
    assert 1 <= added <= 10 * 3, added


def test_events_keep_rows_keeps_the_newest(orch_factory):
    # audit_refused_max 0: every refused request is an event, so 1,500
    # invalid bodies make 1,500 events.
    o = orch_factory(conf={"events_keep_rows": "200", "audit_refused_max": "0"})
    c = conn_from(o, "127.0.0.1")
    token = o.admin_token
    # Audited requests that change nothing: invalid bodies (400).
    for i in range(1500):
        st, _, _ = call(c, "POST", "/api/v1/clusters", token=token,
                        body={"name": f"n{i}"})
        assert st == 400
    n, lo, hi = events_in_db(o)
    assert 200 <= n <= 200 + 64, n
    assert hi - lo + 1 == n, (n, lo, hi)
    # The newest are the ones kept: the last request is there.
    ev = o.ok("GET", "/api/v1/events", params={"limit": "1000"})
    items = ev["items"] if isinstance(ev, dict) else ev
    assert any(e.get("result") == "400" for e in items)


def test_json_bodies_need_content_type(orch_factory):
    o = orch_factory()
    c = conn_from(o, "127.0.0.1")
    token = o.admin_token
    body = {"name": "ct", "storage": {"url": f"file://{o.tmp}/s"},
            "ssh": {"user": "u", "key_file": "/k"}}
    for ctype in ("text/plain", None, "application/jsonx", "application/x-www-form-urlencoded"):
        st, _, text = call(c, "POST", "/api/v1/clusters", token=token,
                           body=json.dumps(body), ctype=ctype)
        assert st == 415, (ctype, st, text)
        err = json.loads(text)["error"]
        assert err["code"] == "unsupported_media_type"
        assert "application/json" in err["message"]
    # Nothing was created.
    assert o.get("/api/v1/clusters/ct").status_code == 404
    st, _, text = call(c, "POST", "/api/v1/clusters", token=token,
                       body=json.dumps(body), ctype="Application/JSON; charset=utf-8")
    assert st == 201, text


def test_storage_urls_validated_and_normalised(orch_factory):
    o = orch_factory()
    base = {"ssh": {"user": "u", "key_file": "/k"}}
    for url, needle in [("file:///../../etc", "'..' is not allowed"),
                        ("file://relative/dir", "absolute path"),
                        ("file:///var/x/../../etc", "'..' is not allowed"),
                        ("s3://", "bucket is empty"),
                        ("s3:///p", "bucket is empty"),
                        ("ftp://h/x", "neither s3:// nor file://"),
                        ("/var/backups", "no scheme"),
                        ("s3://bk/a b", "not allowed")]:
        r = o.post("/api/v1/clusters", dict(base, name="u1", storage={"url": url}))
        assert r.status_code == 400, (url, r.text)
        msg = r.json()["error"]["message"]
        assert "storage.url" in msg and needle in msg, (url, msg)
    assert o.get("/api/v1/clusters/u1").status_code == 404
    cl = o.ok("POST", "/api/v1/clusters",
              dict(base, name="u1", storage={"url": f"file://{o.tmp}//st/./a/"}),
              status=201)
    assert cl["storage"]["url"] == f"file://{o.tmp}/st/a"
    # A change is checked and stored the same way; a refused one changes nothing.
    r = o.req("PATCH", "/api/v1/clusters/u1", body={"storage": {"url": "file:///../x"}})
    assert r.status_code == 400
    assert o.ok("GET", "/api/v1/clusters/u1")["storage"]["url"] == f"file://{o.tmp}/st/a"
    cl = o.ok("PATCH", "/api/v1/clusters/u1", {"storage": {"url": "s3://bk//p/"}})
    assert cl["storage"]["url"] == "s3://bk/p"
    # A restore's source storage too.
    r = o.post("/api/v1/clusters/u1/tasks",
               {"type": "restore", "params": {"source": {"cluster": "x",
                                                         "storage": "file:///a/../b"}}})
    assert r.status_code == 400 and "'..' is not allowed" in r.text, r.text
