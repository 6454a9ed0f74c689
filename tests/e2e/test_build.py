"""The three programs exist, report their version the same way and explain
themselves."""
import subprocess

import pytest


@pytest.mark.parametrize("prog", ["ringmaster", "ringagent", "ringsh"])
@pytest.mark.parametrize("flag", ["-v", "--version"])
def test_version(bin_dir, prog, flag):
    v = subprocess.run([str(bin_dir / prog), flag], capture_output=True, text=True, timeout=10)
    assert v.returncode == 0, v.stderr
    assert v.stdout.startswith(prog + " "), v.stdout


@pytest.mark.parametrize("prog", ["ringmaster", "ringagent", "ringsh"])
def test_help(bin_dir, prog):
    h = subprocess.run([str(bin_dir / prog), "--help"], capture_output=True, text=True, timeout=10)
    assert h.returncode == 0
    assert "usage" in (h.stdout + h.stderr).lower()


@pytest.mark.parametrize("prog", ["ringmaster", "ringagent", "ringsh"])
def test_bad_option_is_a_usage_error(bin_dir, prog):
    r = subprocess.run([str(bin_dir / prog), "--no-such-option"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode != 0
    assert "usage" in (r.stdout + r.stderr).lower()
