"""The environment the backup modules share: an s3rver, a simulated 4.1
cluster of three nodes with sshd and agents, and an orchestrator whose
cluster stores its backups in the s3rver.  One per module (module-scoped
fixtures), torn down whatever happens."""
import contextlib
import os

from agentutil import RINGAGENT, orch_nodes, simlib, write_agent_conf
from orch import Orch, wait_until
from s3util import BUCKET, S3rver


class Env:
    pass


# S3rver's fixed credentials: the cluster's secret storage settings.
S3_SECRETS = {"storage_access_key_id": "S3RVER", "storage_secret_access_key": "S3RVER"}


@contextlib.contextmanager
def backup_env(tmp, cluster, prefix, *, net, host, keyspaces=2, sstable_size="16K",
               heartbeat_timeout="20s", settings=None):
    """Yield an Env: .s3, .c (the sim cluster at 127.0.<net>.<host>...), .o,
    .tok, .confs, .agent (the agent command for tasks: no credentials in
    it), .net.  The cluster's storage credentials are its secret settings
    (S3_SECRETS, or settings); the orchestrator starts without AWS_*
    variables, so nothing but the settings can sign its requests or reach
    the agents.  S3rver's credentials are in this process's environment
    afterwards, for tests that run the agent directly."""
    e = Env()
    e.tmp, e.net = tmp, net
    e.s3 = S3rver(tmp / "s3").start()
    old = {k: os.environ.pop(k, None) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                                  "AWS_SESSION_TOKEN")}
    e.c = simlib.SimCluster.create(tmp / "c", nodes=3, version="4.1", keyspaces=keyspaces,
                                   tables=2, sstables=2, sstable_size=sstable_size,
                                   base_address=f"127.0.{net}.{host}")
    # A sim node's heartbeat runs its nodetool, which takes seconds on a
    # loaded machine: a module about backups, not failure detection (tested
    # in test_orch_agents.py), calls a node down late.
    e.o = Orch(tmp / "orch", conf={"heartbeat_timeout": heartbeat_timeout})
    e.o.start()
    try:
        e.o.ok("POST", "/api/v1/clusters", {
            "name": cluster, "storage": {"url": f"s3://{BUCKET}/{prefix}",
                                         "endpoint": e.s3.endpoint, "region": "us-east-1"},
            "ssh": {"user": "root", "port": e.c.ssh_port, "key_file": e.c.key},
            "settings": dict(S3_SECRETS if settings is None else settings)}, status=201)
        e.tok = tmp / "join.token"
        e.tok.write_text(e.o.join_token + "\n")
        e.confs = tmp / "confs"
        e.confs.mkdir()
        for n in e.c.names:
            conf = write_agent_conf(e.c, n, e.o.base, e.tok, cluster_name=cluster)
            os.symlink(conf, e.confs / f"{e.c.address(n)}.conf")
        e.agent = f"{RINGAGENT} -f {e.confs}/{{address}}.conf"
        e.c.start_all(agent=str(RINGAGENT))
        # Only now: the orchestrator and the agent daemons started without.
        os.environ["AWS_ACCESS_KEY_ID"] = os.environ["AWS_SECRET_ACCESS_KEY"] = "S3RVER"
        wait_until(lambda: len([v for v in orch_nodes(e.o, cluster).values()
                                if v["state"] == "up" and v.get("host_id")]) == 3,
                   30, "three nodes up with host ids")
        yield e
    finally:
        e.c.cleanup()
        e.o.kill9()
        print("--- orchestrator log ---\n" + e.o.log_tail(80))
        e.s3.stop()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
