"""pytest glue of the real-node suite: the session's cluster (`real`) and
the skip when real nodes cannot run here.  The cluster itself, and the
helpers the tests share, are in realenv.py."""
import os
import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from realenv import (BIN, CL, HEARTBEAT_S, PREFIX, RINGAGENT, ROWS,  # noqa: E402
                     SCHEMA, Env, Node, flush_all, keygen, load_data, port_free_on,
                     realcass, start_agent, start_cluster, start_sshd, stop_agent,
                     wait_until, write_agent_conf)
from orch import Orch  # noqa: E402  (tests/e2e is on sys.path from realenv)
from s3util import BUCKET, S3rver  # noqa: E402

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config, items):
    ok, why = realcass.available()
    if ok:
        return
    skip = pytest.mark.skip(reason=f"real-node suite skipped: {why}")
    for it in items:
        # this hook sees every item of the run: mark only this suite's
        if HERE in Path(str(it.fspath)).resolve().parents:
            it.add_marker(skip)


def pytest_runtest_logreport(report):
    """With RM_REAL_REPORT set, append each failure to that file as it
    happens: a run of this suite is long, and one killed by a CI time
    limit prints no summary at all."""
    path = os.environ.get("RM_REAL_REPORT")
    if path and report.failed:
        with open(path, "a") as f:
            f.write(f"=== {report.nodeid} ({report.when})\n{report.longreprtext}\n")


def _interrupt(signum, frame):
    # A CI time limit sends SIGTERM: turn it into what pytest tears down
    # after, so the nodes, agents and sshds of the session are killed.
    raise KeyboardInterrupt(f"signal {signum}")


@pytest.fixture(scope="session")
def real(tmp_path_factory):
    ok, why = realcass.available()
    if not ok:
        pytest.skip(f"real-node suite skipped: {why}")
    for prog in ("ringmaster", "ringagent"):
        assert (BIN / prog).exists(), f"{BIN / prog} is missing: run make first"
    tmp = tmp_path_factory.mktemp("real")
    env = Env()
    env.tmp = tmp
    env.backup_ids = []   # ids of the backups made, oldest first
    env.nodes = []
    env.s3 = None
    env.o = None
    signal.signal(signal.SIGTERM, _interrupt)
    env.net = realcass.RealNet.acquire()
    old = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    os.environ["AWS_ACCESS_KEY_ID"] = os.environ["AWS_SECRET_ACCESS_KEY"] = "S3RVER"
    t0 = time.monotonic()
    try:
        # 1. the nodes: every later node is given the first as its seed
        for i in range(3):
            rn = env.net.node(tmp / "nodes", f"n{i + 1}")
            env.nodes.append(Node(rn, f"r{i + 1}"))
        seed = env.nodes[0].address
        for n in env.nodes:
            n.real.setup(seeds=[seed], dc="dc1", rack=n.rack, tokens=4, cluster=CL)
        start_cluster([n.real for n in env.nodes], timeout=360)
        print(f"real: 3 nodes up after {time.monotonic() - t0:.0f}s")

        # 2. data, flushed so that it is in SSTables
        n1 = env.nodes[0].real
        n1.cqlsh(SCHEMA)
        load_data(n1, tmp)
        flush_all(env)
        env.rows = dict(ROWS)
        print(f"real: data loaded after {time.monotonic() - t0:.0f}s")

        # 3. the store, the orchestrator, sshd per node
        env.s3 = S3rver(tmp / "s3").start()
        env.o = Orch(tmp / "orch", conf={"heartbeat_interval": f"{HEARTBEAT_S}s",
                                         "heartbeat_timeout": f"{HEARTBEAT_S * 6}s"})
        # Tasks the orchestrator submits itself (eviction's removenode)
        # take its default agent command: the one that reaches these nodes.
        os.environ["RINGMASTER_AGENT"] = (f"{RINGAGENT} -f {tmp / 'confs'}/{{address}}.conf")
        env.o.start()
        sshdir = tmp / "ssh"
        sshdir.mkdir()
        key = sshdir / "id_ed25519"
        keygen(key, "ringmaster-real-client")
        auth = sshdir / "authorized_keys"
        auth.write_text((sshdir / "id_ed25519.pub").read_text())
        env.ssh_port = port_free_on([n.address for n in env.nodes])
        for n in env.nodes:
            start_sshd(n, env.ssh_port, auth)
        env.o.ok("POST", "/api/v1/clusters", {
            "name": CL, "storage": {"url": f"s3://{BUCKET}/{PREFIX}",
                                   "endpoint": env.s3.endpoint, "region": "us-east-1"},
            "ssh": {"user": "root", "port": env.ssh_port, "key_file": str(key)},
            # s3rver's fixed credentials, as the cluster's secret settings:
            # they reach the agents on stdin, never in the agent command
            "settings": {"storage_access_key_id": "S3RVER",
                         "storage_secret_access_key": "S3RVER"}}, status=201)

        # 4. agents, only now: the cluster already runs and holds data
        env.yaml_before = {n.name: n.real.cassandra_yaml.read_bytes() for n in env.nodes}
        env.host_ids = {n.name: n.real.host_id() for n in env.nodes}
        tok = tmp / "join.token"
        tok.write_text(env.o.join_token + "\n")
        confs = tmp / "confs"
        confs.mkdir()
        for n in env.nodes:
            write_agent_conf(n, env.o.base, tok)
            os.symlink(n.conf, confs / f"{n.address}.conf")
        env.agent = f"{RINGAGENT} -f {confs}/{{address}}.conf"
        for n in env.nodes:
            start_agent(n)
        wait_until(lambda: all(n.agent_state() for n in env.nodes), 120,
                   "every agent to check in (state.json)", cap=1.0)
        wait_until(lambda: len([v for v in env.orch_nodes().values()
                                if v["state"] == "up" and v.get("host_id")]) == 3,
                   120, "three nodes up with host ids in the orchestrator", cap=1.0)
        print(f"real: agents checked in after {time.monotonic() - t0:.0f}s")
        yield env
    finally:
        # The nodes a test took out (replaced, evicted) may still have an
        # sshd running.
        for n in env.nodes + getattr(env, "dead_nodes", []):
            stop_agent(n)
            if n.sshd_pid:
                try:
                    os.kill(n.sshd_pid, 9)
                except ProcessLookupError:
                    pass
        if env.o is not None:
            env.o.kill9()
            print("--- orchestrator log ---\n" + env.o.log_tail(60))
        if env.s3 is not None:
            env.s3.stop()
        for n in env.nodes:
            if n.agent_log.exists():
                print(f"--- {n.name} agent.log ---\n" + "\n".join(
                    n.agent_log.read_text(errors="replace").splitlines()[-25:]))
            print(f"--- {n.name} system.log ---\n{n.real.log(15)}")
        env.net.close()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        print(f"real: session took {time.monotonic() - t0:.0f}s")
