"""Every kind of bad input is refused with a JSON error and changes nothing:
one table of (route, body, status, error code), then a read proving the
state is what it was before."""
import json

import pytest

from orch import orch, orch_factory  # noqa: F401

CLUSTER = {"name": "c2", "storage": {"url": "s3://bucket/prefix"},
           "ssh": {"user": "cassandra", "key_file": "/etc/rm/key"}}
CHECKIN = {"cluster": "prod", "address": "10.0.0.9", "dc": "dc1", "rack": "r1",
           "cassandra_version": "4.1.3"}
HEARTBEAT = {"cluster": "prod", "address": "10.0.0.1", "status": "up"}


def with_(base, **changes):
    out = json.loads(json.dumps(base))
    for k, v in changes.items():
        if "__" in k:
            outer, inner = k.split("__")
            if v is DROP:
                del out[outer][inner]
            else:
                out[outer][inner] = v
        elif v is DROP:
            del out[k]
        else:
            out[k] = v
    return out


DROP = object()
MIB = 1024 * 1024

CASES = [
    # route, body (dict -> JSON; str/bytes sent as is), status, code
    ("/api/v1/clusters", "{not json", 400, "invalid_json"),
    ("/api/v1/clusters", "", 400, "invalid_json"),
    ("/api/v1/clusters", "[1, 2]", 400, "invalid_json"),
    ("/api/v1/clusters", '{"name":"a","name":"b"}', 400, "invalid_json"),
    ("/api/v1/clusters", with_(CLUSTER, name=DROP), 400, "missing_field"),
    ("/api/v1/clusters", with_(CLUSTER, name=42), 400, "wrong_type"),
    ("/api/v1/clusters", with_(CLUSTER, name="has space"), 400, "invalid_name"),
    ("/api/v1/clusters", with_(CLUSTER, name="x" * 65), 400, "invalid_name"),
    ("/api/v1/clusters", with_(CLUSTER, name=""), 400, "invalid_name"),
    ("/api/v1/clusters", with_(CLUSTER, name="dot.ted"), 400, "invalid_name"),
    ("/api/v1/clusters", with_(CLUSTER, colour="blue"), 400, "unknown_field"),
    ("/api/v1/clusters", with_(CLUSTER, storage="s3://b"), 400, "wrong_type"),
    ("/api/v1/clusters", with_(CLUSTER, storage__url=DROP), 400, "missing_field"),
    ("/api/v1/clusters", with_(CLUSTER, storage__url="ftp://x"), 400, "invalid_value"),
    ("/api/v1/clusters", with_(CLUSTER, storage__bucket="x"), 400, "unknown_field"),
    ("/api/v1/clusters", with_(CLUSTER, ssh__port="22"), 400, "wrong_type"),
    ("/api/v1/clusters", with_(CLUSTER, ssh__port=70000), 400, "invalid_value"),
    ("/api/v1/clusters", with_(CLUSTER, ssh__port=22.5), 400, "wrong_type"),
    ("/api/v1/clusters", with_(CLUSTER, ssh__key_file=DROP), 400, "missing_field"),
    ("/api/v1/clusters", with_(CLUSTER, ssh=DROP), 400, "missing_field"),
    ("/api/v1/clusters", b'{"name":"c2\x00x"}', 400, None),
    ("/api/v1/clusters", '{"name":"' + "a" * MIB + '"}', 413, "body_too_large"),
    ("/api/v1/clusters/prod/tasks", {}, 400, "missing_field"),
    ("/api/v1/clusters/prod/tasks", {"type": "teleport"}, 400, "invalid_value"),
    ("/api/v1/clusters/prod/tasks", {"type": 7}, 400, "wrong_type"),
    ("/api/v1/clusters/prod/tasks", {"type": "noop", "params": []}, 400, "wrong_type"),
    ("/api/v1/clusters/prod/tasks", {"type": "noop", "params": {"duration_s": "long"}},
     400, "invalid_value"),
    ("/api/v1/clusters/prod/tasks", {"type": "noop", "priority": 1}, 400, "unknown_field"),
    ("/api/v1/clusters/bad%20name/tasks", {"type": "noop"}, 400, "invalid_name"),
    ("/api/v1/clusters/prod/tasks", "x" * (MIB + 1), 413, "body_too_large"),
    ("/api/v1/agents/checkin", with_(CHECKIN, address=DROP), 400, "missing_field"),
    ("/api/v1/agents/checkin", with_(CHECKIN, dc="dc 1"), 400, "invalid_name"),
    ("/api/v1/agents/checkin", with_(CHECKIN, cluster="new cluster"), 400, "invalid_name"),
    ("/api/v1/agents/checkin", with_(CHECKIN, address="10.0.0.9/24"), 400, "invalid_value"),
    ("/api/v1/agents/checkin", with_(CHECKIN, tokens=256), 400, "unknown_field"),
    ("/api/v1/agents/checkin", with_(CHECKIN, cassandra_version=4.1), 400, "wrong_type"),
    ("/api/v1/agents/heartbeat", with_(HEARTBEAT, status="sleepy"), 400, "invalid_value"),
    ("/api/v1/agents/heartbeat", with_(HEARTBEAT, status=DROP), 400, "missing_field"),
    ("/api/v1/agents/heartbeat", with_(HEARTBEAT, load_bytes="1GB"), 400, "wrong_type"),
    ("/api/v1/agents/heartbeat", with_(HEARTBEAT, load_bytes=-1), 400, "invalid_value"),
    ("/api/v1/agents/heartbeat", with_(HEARTBEAT, mood="ok"), 400, "unknown_field"),
    ("/api/v1/clusters/prod/schedules", {"type": "noop"}, 400, "missing_field"),
    ("/api/v1/clusters/prod/schedules", {"type": "noop", "every": "1h",
                                         "cron": "0 3 * * *"}, 400, "invalid_value"),
    ("/api/v1/clusters/prod/schedules", {"type": "noop", "every": "5 parsecs"},
     400, "invalid_value"),
    ("/api/v1/clusters/prod/schedules", {"type": "noop", "every": "10ms"}, 400, "invalid_value"),
    ("/api/v1/clusters/prod/schedules", {"type": "noop", "cron": "61 * * * *"},
     400, "invalid_value"),
    ("/api/v1/clusters/prod/schedules", {"type": "noop", "every": "1h",
                                         "start": "tomorrow"}, 400, "invalid_value"),
    ("/api/v1/clusters/prod/schedules", {"type": "warp", "every": "1h"}, 400, "invalid_value"),
    ("/api/v1/clusters/prod/schedules", {"type": "noop", "every": 3600}, 400, "wrong_type"),
]


@pytest.fixture(scope="module")
def prod(tmp_path_factory):
    from orch import Orch
    o = Orch(tmp_path_factory.mktemp("input"))
    o.start()
    try:
        o.create_cluster("prod")
        o.ok("POST", "/api/v1/agents/checkin", {**CHECKIN, "address": "10.0.0.1"},
             token="agent")
        yield o
    finally:
        o.kill9()
        print(o.log_tail())


def snapshot(o):
    return {
        "clusters": [c["name"] for c in o.ok("GET", "/api/v1/clusters")["items"]],
        "tasks": o.ok("GET", "/api/v1/clusters/prod/tasks")["items"],
        "schedules": o.ok("GET", "/api/v1/clusters/prod/schedules")["items"],
        "nodes": [(n["address"], n["dc"]) for n in
                  o.ok("GET", "/api/v1/clusters/prod/nodes")["items"]],
    }


@pytest.mark.parametrize("route,body,status,code", CASES,
                         ids=[f"{i}-{c[0].rsplit('/', 1)[-1]}-{c[3]}" for i, c in
                              enumerate(CASES)])
def test_bad_input_is_refused_and_changes_nothing(prod, route, body, status, code):
    before = snapshot(prod)
    token = "agent" if "/agents/" in route else "admin"
    if isinstance(body, dict):
        r = prod.post(route, body, token=token)
    else:
        r = prod.req("POST", route, data=body, token=token)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["message"]
    if code:
        assert err["code"] == code, err
    assert snapshot(prod) == before


@pytest.mark.parametrize("path,params", [
    ("/api/v1/clusters/prod/tasks", {"state": "sleeping"}),
    ("/api/v1/clusters/prod/tasks", {"limit": "0"}),
    ("/api/v1/clusters", {"limit": "many"}),
    ("/api/v1/events", {"since": "yesterday"}),
    ("/api/v1/events", {"cluster": "no such/cluster"}),
])
def test_bad_query_parameters(prod, path, params):
    r = prod.get(path, params=params)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] in ("invalid_value", "invalid_name")


def test_good_input_after_all_that_still_works(prod):
    t = prod.submit("prod", duration_s=0, steps=1)
    assert prod.wait_task(t["id"])["state"] == "succeeded"
