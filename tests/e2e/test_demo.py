"""make demo keeps working: the demo script, run to completion, brings up the
S3 store, the simulated cluster, the orchestrator and the agents, runs its
tasks to success, lists the nodes with ringsh, and stops everything."""
import os
import subprocess

import rmtest


def pids_with(text):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                cmd = open(f"/proc/{d}/cmdline", "rb").read().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if text in cmd:
                out.append(int(d))
    return out


def test_demo_check_runs_and_cleans_up(tmp_path, bin_dir):
    root = tmp_path / "demo"
    r = subprocess.run([str(rmtest.REPO / "scripts" / "demo"), "--check", "--dir", str(root)],
                       capture_output=True, text=True, timeout=300,
                       env={**os.environ, "BIN": str(bin_dir)})
    assert r.returncode == 0, r.stdout + r.stderr
    assert "3 nodes checked in and are up" in r.stdout
    assert "check passed" in r.stdout
    assert "succeeded" in r.stdout
    # Nothing the demo started is left running.
    rmtest.wait_until(lambda: not pids_with(str(root)), what="the demo's processes to exit", timeout=15)


def test_demo_stays_up_until_ctrl_c_then_stops_everything(tmp_path, bin_dir):
    import signal
    root = tmp_path / "demo"
    log = tmp_path / "demo.log"
    with open(log, "w") as out:
        p = subprocess.Popen([str(rmtest.REPO / "scripts" / "demo"), "--dir", str(root)],
                             stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env={**os.environ, "BIN": str(bin_dir)})
    try:
        rmtest.wait_until(lambda: "press Ctrl-C" in log.read_text(), what="the demo to come up",
                          timeout=120)
        assert pids_with(str(root)), "the demo runs nothing"
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=60) == 0
        assert "everything the demo started has stopped" in log.read_text()
        rmtest.wait_until(lambda: not pids_with(str(root)), what="the demo's processes to exit",
                          timeout=15)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
