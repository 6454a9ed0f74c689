"""The S3 client against a real S3 server (s3rver) and the file:// backend.

Every test runs twice, once per backend, through the C client's CLI driver:
round trips must be byte-identical at every size class (empty, small,
exactly the multipart threshold, multipart with several parts), ranges must
return exactly the bytes asked for, listings must page with continuation
tokens, deletes must batch 1,000 keys a call, a missing key must say so, and
a damaged stored object must be refused on download.
"""
import hashlib
import os
import time
import uuid

import pytest

from rmtest import wait_until
from s3util import (BUCKET, kv, md5_file, run_cli, s3server,  # noqa: F401
                    sha256_file, write_random)

MiB = 1 << 20
THRESHOLD = 8 * MiB
PART = 5 * MiB
TUNING = ["--threshold", THRESHOLD, "--part-size", PART, "--parallel", 4]


class Store:
    """One backend: its URL, how to run the CLI on it, how to damage it."""

    def __init__(self, kind, srv, tmp):
        self.kind = kind
        self.srv = srv
        self.prefix = "t-" + uuid.uuid4().hex[:8]
        if kind == "s3":
            self.url = f"s3://{BUCKET}/{self.prefix}"
            self.endpoint = srv.endpoint
        else:
            self.root = tmp / "store"
            self.url = f"file://{self.root}"
            self.endpoint = None

    def cli(self, *args, extra=(), check=True):
        return run_cli(self.url, *args, endpoint=self.endpoint,
                       extra=list(TUNING) + list(extra), check=check)

    def stored_path(self, key):
        if self.kind == "s3":
            return self.srv.object_path(f"{self.prefix}/{key}")
        return self.root / key

    def corrupt(self, key, at=0):
        """Flip one byte of the stored object, keeping its size."""
        p = self.stored_path(key)
        with open(p, "r+b") as f:
            f.seek(at)
            b = f.read(1)
            f.seek(at)
            f.write(bytes([b[0] ^ 0xFF]))


@pytest.fixture(params=["s3", "file"])
def store(request, s3server, tmp_path):  # noqa: F811
    return Store(request.param, s3server, tmp_path)


@pytest.mark.parametrize("size,parts", [
    (0, 0),
    (1, 0),
    (1000, 0),
    (THRESHOLD, 0),            # exactly the threshold: still one PUT
    (THRESHOLD + 1, 2),        # one byte more: multipart
    (21 * MiB + 17, 5),        # several parts, a short last one
])
def test_round_trip_is_byte_identical(store, tmp_path, size, parts):
    src = write_random(tmp_path / "src", size, seed=size)
    want = sha256_file(src)
    out = kv(store.cli("put", "data/file.bin", src).stdout)
    assert int(out["size"]) == size
    if store.kind == "s3":
        assert int(out["parts"]) == parts
        if parts == 0:
            assert out["md5"] == md5_file(src) == out["etag"]

    head = kv(store.cli("head", "data/file.bin").stdout)
    assert int(head["size"]) == size

    # Streamed (size unknown) and, for big objects, ranged in parallel.
    for extra in ([], ["--size", size, "--sha256", want]):
        dst = tmp_path / f"dst{len(extra)}"
        store.cli("get", "data/file.bin", dst, *extra)
        assert os.path.getsize(dst) == size
        assert sha256_file(dst) == want
    # No temporary files left beside the downloads.
    assert not [p for p in os.listdir(tmp_path) if ".rmtmp-" in p]


def test_recorded_sha256_is_checked_on_download(store, tmp_path):
    src = write_random(tmp_path / "src", 3 * MiB + 5, seed=7)
    sha = sha256_file(src)
    store.cli("put", "rec.bin", src, "--sha256", sha)
    if store.kind == "s3":
        head = kv(store.cli("head", "rec.bin").stdout)
        assert head["sha256"] == sha
    store.cli("get", "rec.bin", tmp_path / "back")
    assert sha256_file(tmp_path / "back") == sha


def test_ranges_return_exactly_the_bytes_asked_for(store, tmp_path):
    src = write_random(tmp_path / "src", 3 * MiB, seed=3)
    data = src.read_bytes()
    store.cli("put", "r.bin", src)
    # (s3rver answers "bytes=0-0" with the whole object, so no (0, 1) here.)
    for off, ln in [(0, 2), (1, 1), (1000, 5000), (MiB - 1, MiB + 2),
                    (3 * MiB - 10, 10)]:
        dst = tmp_path / "range"
        store.cli("range", "r.bin", off, ln, dst)
        assert dst.read_bytes() == data[off:off + ln]
    p = store.cli("range", "r.bin", 3 * MiB - 10, 100, tmp_path / "x",
                  check=False)
    assert p.returncode == 1
    assert "shorter" in p.stderr or "416" in p.stderr


def test_head_of_missing_key_says_not_found(store, tmp_path):
    p = store.cli("head", "no/such/key", check=False)
    assert p.returncode == 2
    assert "no such key" in p.stderr and "no/such/key" in p.stderr
    p = store.cli("get", "no/such/key", tmp_path / "out", check=False)
    assert p.returncode == 2 and "no such key" in p.stderr
    assert not (tmp_path / "out").exists()


def test_keys_with_spaces_unicode_and_punctuation(store, tmp_path):
    key = "ks 1/t\u00e9st \u1234/a+b=c&d'(e)*!~,;$@.db"
    src = tmp_path / "src"
    src.write_bytes(b"odd key")
    store.cli("put", key, src)
    listed = store.cli("list", "ks 1/").stdout.splitlines()
    assert [line.split("\t")[0] for line in listed] == [key]
    store.cli("get", key, tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == b"odd key"


def test_list_pages_and_delete_batches_of_1000(store, tmp_path):
    n = 1100
    store.cli("put-many", "many/", n, extra=["--parallel", 1])
    store.cli("put", "other/x", __file__)

    p = store.cli("list", "many/", extra=["--max-keys", 400])
    keys = [line.split("\t")[0] for line in p.stdout.splitlines()]
    assert keys == [f"many/{i:05d}" for i in range(n)]
    assert "pages=3 keys=1100" in p.stderr

    p = store.cli("list", "many/")
    assert "pages=2 keys=1100" in p.stderr

    keyfile = tmp_path / "keys"
    keyfile.write_text("\n".join(keys + ["many/never-existed"]) + "\n")
    before = store.srv.log_count("delete= 200") if store.kind == "s3" else 0
    out = store.cli("delete-batch", keyfile).stdout
    assert "deleted=1101" in out
    if store.kind == "s3":
        # 1,101 keys: exactly two successful DeleteObjects calls.  s3rver
        # writes its log line after it answers, so the second may not be
        # in the file yet when the client is done: wait for it, then make
        # sure no third one follows.
        wait_until(lambda: store.srv.log_count("delete= 200") - before >= 2,
                   timeout=10, what="two DeleteObjects lines in the s3rver log")
        time.sleep(0.5)
        assert store.srv.log_count("delete= 200") - before == 2

    p = store.cli("list", "many/")
    assert p.stdout == "" and "keys=0" in p.stderr
    p = store.cli("list", "")
    assert [line.split("\t")[0] for line in p.stdout.splitlines()] == \
        ["other/x"]


@pytest.mark.parametrize("size", [100 * 1024, 12 * MiB + 3])
def test_damaged_object_is_refused_on_download(store, tmp_path, size):
    src = write_random(tmp_path / "src", size, seed=11)
    sha = sha256_file(src)
    store.cli("put", "bad.bin", src)
    store.corrupt("bad.bin", at=size // 2)
    dst = tmp_path / "dst"

    # With the expected checksum, from the manifest: refused.
    p = store.cli("get", "bad.bin", dst, "--size", size, "--sha256", sha,
                  check=False)
    assert p.returncode == 1, p.stdout
    assert "damaged" in p.stderr and "bad.bin" in p.stderr
    assert not dst.exists()
    assert not [f for f in os.listdir(tmp_path) if ".rmtmp-" in f]

    if store.kind == "s3":
        # Even without one: the bytes no longer match the stored ETag.
        p = store.cli("get", "bad.bin", dst, check=False)
        assert p.returncode == 1 and "ETag" in p.stderr, p.stderr
        assert not dst.exists()


def test_wrong_size_is_refused(store, tmp_path):
    src = tmp_path / "src"
    src.write_bytes(b"x" * 1000)
    store.cli("put", "sz.bin", src)
    p = store.cli("get", "sz.bin", tmp_path / "dst", "--size", 999,
                  check=False)
    assert p.returncode == 1 and "expected 999" in p.stderr


def test_rate_limit_paces_transfers(store, tmp_path):
    src = write_random(tmp_path / "src", 3 * MiB, seed=5)
    t0 = time.monotonic()
    store.cli("put", "slow.bin", src, extra=["--rate", 2 * MiB])
    t1 = time.monotonic()
    store.cli("get", "slow.bin", tmp_path / "back",
              extra=["--rate", 2 * MiB])
    t2 = time.monotonic()
    # 3 MiB at 2 MiB/s with a quarter second of burst: >= 1.25 s each way.
    assert t1 - t0 >= 1.2, t1 - t0
    assert t2 - t1 >= 1.2, t2 - t1
    assert sha256_file(tmp_path / "back") == sha256_file(src)


def test_put_with_a_wrong_content_md5_is_refused_and_nothing_stays(s3server, tmp_path):  # noqa: F811
    """A precomputed MD5 that does not match the bytes sent must not leave an
    object behind: a later resume would take it for a good upload."""
    store = Store("s3", s3server, tmp_path)
    src = tmp_path / "src"
    src.write_bytes(os.urandom(4096))
    right = hashlib.md5(src.read_bytes()).hexdigest()
    wrong = hashlib.md5(b"something else").hexdigest()
    p = store.cli("put", "bad/md5", src, extra=["--md5", wrong], check=False)
    assert p.returncode != 0, p.stdout
    head = store.cli("head", "bad/md5", check=False)
    assert head.returncode == 2 and "no such key" in head.stderr
    # The same upload with the right MD5 goes through.
    ok = store.cli("put", "bad/md5", src, extra=["--md5", right])
    assert f"md5={right}" in ok.stdout
