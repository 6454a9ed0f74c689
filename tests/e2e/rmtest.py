"""Shared helpers for the end-to-end tests: paths, free ports, waiting.

Waiting is always polling with growing intervals under one deadline, never a
fixed sleep, so a test is as fast as the system under test allows and fails
with a message instead of hanging.
"""
import os
import socket
import time
from pathlib import Path

REPO = Path(os.environ.get("RM_REPO", Path(__file__).resolve().parents[2]))
BIN = Path(os.environ.get("BIN", REPO / "bin"))
UNIT_DIR = Path(os.environ.get("UNIT_DIR", REPO / "build" / "release" / "tests" / "unit"))
SHARED = Path(os.environ.get("RM_SHARED", REPO.parent / "shared"))
SIM = REPO / "tests" / "sim"
S3RVER = REPO / "tests" / "s3" / "node_modules" / ".bin" / "s3rver"


def free_port(host="127.0.0.1"):
    """A TCP port that is free on host right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_until(fn, timeout=15.0, what="condition", first=0.01, factor=1.6, cap=0.5):
    """Poll fn() with growing intervals until it returns a true value (which
    is returned) or timeout seconds pass: then AssertionError naming what and
    the last answer or error.  Errors count as "not yet": the thing waited for
    may not exist yet."""
    deadline = time.monotonic() + timeout
    delay = first
    last = None
    while True:
        try:
            last = fn()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - reported at the deadline
            last = e
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; "
                                 f"last: {last!r}")
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * factor, cap)


def wait_for(fn, what, timeout=15.0, **kw):
    """wait_until with the description first, as the agent tests read."""
    return wait_until(fn, timeout=timeout, what=what, **kw)


def port_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False
