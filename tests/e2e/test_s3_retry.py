"""Retries, backoff and error reporting against a scripted fake S3.

A small in-process HTTP server answers each request from a script (503
SlowDown, 500, a dropped connection, a body cut short, 403, or the real
thing), so each test can say exactly which failures the client must ride
out, how many attempts it may make, and what it must report.
"""
import hashlib
import http.server
import socket
import threading

import pytest

from s3util import free_port, run_cli

SLOWDOWN = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown'
            b'</Code><Message>Please reduce your request rate.</Message>'
            b'</Error>')
DENIED = (b'<Error><Code>AccessDenied</Code><Message>Access Denied'
          b'</Message></Error>')
INTERNAL = (b'<Error><Code>InternalError</Code><Message>We encountered an '
            b'internal error.</Message></Error>')


class FakeS3:
    def __init__(self, script):
        self.script = list(script)      # one step per request; then "ok"
        self.requests = []              # (method, path, headers)
        self.objects = {}
        self.lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _step(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else b""
                with fake.lock:
                    fake.requests.append((self.command, self.path,
                                          dict(self.headers)))
                    step = fake.script.pop(0) if fake.script else "ok"
                return step, body

            def _reply(self, status, body=b"", headers=()):
                self.send_response(status)
                for k, v in headers:
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _common(self, step):
                if step == "slowdown":
                    self._reply(503, SLOWDOWN)
                elif step == "500":
                    self._reply(500, INTERNAL)
                elif step == "denied":
                    self._reply(403, DENIED)
                elif step == "reset":
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                else:
                    return False
                return True

            def do_PUT(self):
                step, body = self._step()
                if self._common(step):
                    return
                etag = hashlib.md5(body).hexdigest()
                fake.objects[self.path] = body
                self._reply(200, headers=[("ETag", f'"{etag}"')])

            def do_GET(self):
                step, _ = self._step()
                if self._common(step):
                    return
                body = fake.objects.get(self.path)
                if body is None:
                    self._reply(404, b"<Error><Code>NoSuchKey</Code>"
                                b"</Error>")
                    return
                etag = hashlib.md5(body).hexdigest()
                if step == "cut":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.send_header("ETag", f'"{etag}"')
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if step == "garbled":
                    body = bytes([body[0] ^ 1]) + body[1:]
                self._reply(200, body, [("ETag", f'"{etag}"')])

            def do_HEAD(self):
                self.do_GET()

        self.port = free_port()
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", self.port),
                                                     Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def count(self, method):
        return sum(1 for r in self.requests if r[0] == method)


@pytest.fixture
def fake():
    servers = []

    def make(script=()):
        f = FakeS3(script)
        f.thread.start()
        servers.append(f)
        return f
    yield make
    for f in servers:
        f.httpd.shutdown()
        f.httpd.server_close()


def cli(f, *args, attempts=6, check=True):
    return run_cli("s3://bkt/p", *args, endpoint=f.endpoint,
                   extra=["--attempts", attempts], check=check, timeout=60)


def test_put_rides_out_slowdown_500_and_reset(fake, tmp_path):
    f = fake(["slowdown", "500", "reset"])
    src = tmp_path / "src"
    src.write_bytes(b"payload " * 1000)
    out = cli(f, "put", "k", src).stdout
    assert f"md5={hashlib.md5(src.read_bytes()).hexdigest()}" in out
    assert f.count("PUT") == 4
    # Every attempt carried the same Content-MD5 and a fresh signature.
    md5s = {r[2].get("Content-MD5") for r in f.requests}
    assert len(md5s) == 1 and None not in md5s
    assert f.objects["/bkt/p/k"] == src.read_bytes()


def test_put_gives_up_after_the_attempt_limit(fake, tmp_path):
    f = fake(["slowdown"] * 10)
    src = tmp_path / "src"
    src.write_bytes(b"x")
    p = cli(f, "put", "k", src, attempts=3, check=False)
    assert p.returncode == 1
    assert "SlowDown" in p.stderr and "gave up after 3 attempts" in p.stderr
    assert "s3://bkt/p/k" in p.stderr
    assert f.count("PUT") == 3


def test_access_denied_is_not_retried(fake, tmp_path):
    f = fake(["denied"])
    src = tmp_path / "src"
    src.write_bytes(b"x")
    p = cli(f, "put", "k", src, check=False)
    assert p.returncode == 1
    assert "403 AccessDenied" in p.stderr and "check the credentials" in p.stderr
    assert f.count("PUT") == 1


def test_download_cut_short_restarts_and_is_whole(fake, tmp_path):
    f = fake()
    src = tmp_path / "src"
    src.write_bytes(bytes(range(256)) * 4096)      # 1 MiB
    cli(f, "put", "k", src)
    f.script = ["cut", "reset"]
    cli(f, "get", "k", tmp_path / "dst")
    assert (tmp_path / "dst").read_bytes() == src.read_bytes()
    assert f.count("GET") == 3


def test_garbled_download_is_refused(fake, tmp_path):
    f = fake()
    src = tmp_path / "src"
    src.write_bytes(b"abc" * 1000)
    cli(f, "put", "k", src)
    f.script = ["garbled"]
    p = cli(f, "get", "k", tmp_path / "dst", check=False)
    assert p.returncode == 1 and "ETag" in p.stderr
    assert not (tmp_path / "dst").exists()


def test_nobody_listening_is_reported(tmp_path):
    port = free_port()
    src = tmp_path / "src"
    src.write_bytes(b"x")
    p = run_cli("s3://bkt/p", "put", "k", src,
                endpoint=f"http://127.0.0.1:{port}",
                extra=["--attempts", 2], check=False)
    assert p.returncode == 1
    assert "is the endpoint right" in p.stderr
    assert "gave up after 2 attempts" in p.stderr
