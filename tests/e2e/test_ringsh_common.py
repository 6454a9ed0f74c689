"""Shared by the test_ringsh*.py files (no tests here): run bin/ringsh with a clean
environment, and a tiny recording HTTP server for request shapes the real
orchestrator cannot show (nothing sent for a bad line, routes it does not
serve yet, TLS failures)."""
import json
import os
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import rmtest


def ringsh_path():
    return rmtest.BIN / "ringsh"


def clean_env(home, url=None, token=None, **extra):
    """An environment with nothing of the caller's ringsh settings in it."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RINGMASTER_", "RINGSH_", "XDG_"))}
    env["HOME"] = str(home)
    env["RINGSH_CONFIG"] = str(Path(home) / "no-such-ringsh.conf")
    env["RINGSH_HISTORY"] = str(Path(home) / "history")
    env.pop("COLUMNS", None)
    if url:
        env["RINGMASTER_URL"] = url
    if token:
        env["RINGMASTER_TOKEN"] = token
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run(env, *args, input=None, timeout=60):
    """Run ringsh to completion; returns CompletedProcess (text)."""
    return subprocess.run([str(ringsh_path()), *args], input=input,
                          capture_output=True, text=True, env=env,
                          timeout=timeout)


class Recorder:
    """A fake orchestrator: answers from a table, records every request.

    routes maps (method, path-with-query) or (method, path) to
    (status, json-or-text).  Unknown routes answer 404 like ringmaster.
    """

    def __init__(self, routes=None, tls=None):
        self.routes = dict(routes or {})
        self.requests = []
        self.lock = threading.Lock()
        rec = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def handle_any(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                body = None
                if raw:
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        body = raw.decode(errors="replace")
                with rec.lock:
                    rec.requests.append({
                        "method": self.command, "path": self.path,
                        "body": body,
                        "auth": self.headers.get("Authorization"),
                    })
                base = self.path.split("?")[0]
                ans = rec.routes.get((self.command, self.path),
                                     rec.routes.get((self.command, base)))
                if ans is None:
                    ans = (404, {"error": {"code": "not_found",
                                           "message": f"no route {self.command} {base}"}})
                status, payload = ans
                if callable(payload):
                    payload = payload(body)
                data = b""
                ctype = "application/json"
                if isinstance(payload, str):
                    data, ctype = payload.encode(), "text/plain"
                elif payload is not None:
                    data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = handle_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.server.socket = ctx.wrap_socket(self.server.socket,
                                                 server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def api(self):
        """Requests under /api/v1 (the health probe of connect aside)."""
        with self.lock:
            return [r for r in self.requests if r["path"].startswith("/api/")]
