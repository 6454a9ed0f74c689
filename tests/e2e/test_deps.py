"""scripts/deps.sh (run by make test and make demo): nothing to do when all
is installed; as another user than root, a missing package stops it with the
exact command to run, and nothing is installed."""
import os
import shutil
import subprocess
import tempfile

import pytest

import rmtest

DEPS = str(rmtest.REPO / "scripts" / "deps.sh")


def test_nothing_missing_is_quiet():
    r = subprocess.run([DEPS], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "installing" not in r.stdout


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch to an unprivileged user")
def test_non_root_gets_the_exact_command():
    missing = "ringmaster-no-such-package"
    # A copy where an unprivileged user can reach it, whatever the clone's path.
    top = tempfile.mkdtemp(prefix="rm-deps-")
    try:
        os.chmod(top, 0o755)
        os.makedirs(os.path.join(top, "scripts"))
        shutil.copy(DEPS, os.path.join(top, "scripts", "deps.sh"))
        r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            "env", f"RM_DEPS_EXTRA={missing}", "HOME=/nonexistent",
                            os.path.join(top, "scripts", "deps.sh")],
                           capture_output=True, text=True, timeout=120, cwd="/")
    finally:
        shutil.rmtree(top)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"run as root: apt-get update && apt-get install -y {missing}" in r.stderr
    assert "installing" not in r.stdout
