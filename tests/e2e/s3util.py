"""Start a real S3 server (s3rver) and drive the C S3 client for e2e tests.

The client is reached through the unit-test binary's CLI mode
(`test_s3 --cli ...`, see tests/unit/test_s3.c), found in $UNIT_DIR
(default build/release/tests/unit).

`s3server` is a module-scoped fixture: s3rver on a free loopback port with a
fresh data directory, started with growing waits under a deadline and killed
in a finalizer even when a test fails (its log is printed then).  Tests use
their own key prefixes so they can share it.
"""
import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from rmtest import free_port, wait_until  # noqa: F401 (re-exported)

REPO = Path(__file__).resolve().parents[2]
S3RVER = REPO / "tests/s3/node_modules/.bin/s3rver"
BUCKET = "ringtest"
KEY = SECRET = "S3RVER"


def unit_bin(name="test_s3"):
    return Path(os.environ.get("UNIT_DIR",
                               REPO / "build/release/tests/unit")) / name


class S3rver:
    def __init__(self, tmp):
        self.tmp = Path(tmp)
        self.data = self.tmp / "s3data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.log_path = self.tmp / "s3rver.log"
        self.port = None
        self.proc = None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        if not S3RVER.exists():
            pytest.skip(f"{S3RVER} missing: run npm ci in tests/s3")
        env = dict(os.environ)
        # s3rver makes continuation tokens with DES, which Node's OpenSSL 3
        # only offers through the legacy provider.
        env["NODE_OPTIONS"] = "--openssl-legacy-provider"
        for _ in range(3):
            self.port = free_port()
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [str(S3RVER), "-d", str(self.data), "-a", "127.0.0.1",
                 "-p", str(self.port), "--configure-bucket", BUCKET],
                stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True)
            log.close()
            try:
                wait_until(self._ready, timeout=20, what="s3rver to listen")
                return self
            except AssertionError:
                self.stop()
        raise AssertionError("s3rver did not start:\n" + self.log_tail())

    def restart(self, within=30):
        """s3rver again on its old port over the same data, after stop() or
        a kill (a cluster's storage endpoint names the port, so a new port
        would be another store).  The port may take a moment to be free."""
        env = dict(os.environ)
        env["NODE_OPTIONS"] = "--openssl-legacy-provider"
        deadline = time.time() + within
        while True:
            log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [str(S3RVER), "-d", str(self.data), "-a", "127.0.0.1",
                 "-p", str(self.port), "--configure-bucket", BUCKET],
                stdout=log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True)
            log.close()
            try:
                wait_until(self._listening, timeout=20, what="s3rver to listen again")
                return self
            except AssertionError:
                self.stop()
                if time.time() > deadline:
                    raise
                time.sleep(0.5)

    def _listening(self):
        try:
            return self._ready()
        except OSError:     # requests' ConnectionError: not listening yet
            return False

    def _ready(self):
        if self.proc.poll() is not None:
            raise AssertionError("s3rver exited")
        r = requests.get(self.endpoint + "/", timeout=2)
        return r.status_code in (200, 403)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None

    def log_tail(self, n=40):
        try:
            return "\n".join(self.log_path.read_text(
                errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def log_count(self, needle):
        return self.log_path.read_text(errors="replace").count(needle)

    def object_path(self, key):
        """Where s3rver keeps the bytes of bucket key `key`."""
        return self.data / BUCKET / (key + "._S3rver_object")


@pytest.fixture(scope="module")
def s3server(tmp_path_factory):
    srv = S3rver(tmp_path_factory.mktemp("s3rver"))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        # pytest shows this only when a test of the module failed.
        print("s3rver log tail:\n" + srv.log_tail())


def run_cli(url, *args, endpoint=None, extra=(), check=True, env=None,
            timeout=120):
    """Run `test_s3 --cli --url URL [--endpoint E] EXTRA... ARGS...`."""
    cmd = [str(unit_bin()), "--cli", "--url", url]
    if endpoint:
        cmd += ["--endpoint", endpoint]
    cmd += [str(a) for a in extra] + [str(a) for a in args]
    e = dict(os.environ)
    e.setdefault("AWS_ACCESS_KEY_ID", KEY)
    e.setdefault("AWS_SECRET_ACCESS_KEY", SECRET)
    if env:
        e.update(env)
    p = subprocess.run(cmd, capture_output=True, text=True, env=e,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} -> {p.returncode}\n"
                             f"stdout: {p.stdout}\nstderr: {p.stderr}")
    return p


def kv(line):
    """'a=1 b=2' -> {'a': '1', 'b': '2'}"""
    return dict(f.split("=", 1) for f in line.split())


def write_random(path, size, seed=0):
    """Deterministic pseudo-random bytes, written in chunks."""
    h = hashlib.sha256(str(seed).encode()).digest()
    block = (h * (1 << 15))[: 1 << 20]  # 1 MiB pattern
    with open(path, "wb") as f:
        left, i = size, 0
        while left > 0:
            n = min(left, len(block))
            # vary each MiB so parts differ
            f.write(bytes([i & 0xFF]) + block[1:n] if n > 1 else block[:n])
            left -= n
            i += 1
    return path


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def md5_file(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
