"""The three programs exist, report their version and explain themselves."""
import subprocess

import pytest


@pytest.mark.parametrize("prog", ["ringmaster", "ringagent", "ringsh"])
def test_version_and_help(bin_dir, prog):
    v = subprocess.run([str(bin_dir / prog), "-v"], capture_output=True, text=True, timeout=10)
    assert v.returncode == 0, v.stderr
    assert v.stdout.startswith(prog + " "), v.stdout
    h = subprocess.run([str(bin_dir / prog), "--help"], capture_output=True, text=True, timeout=10)
    assert h.returncode == 0
    assert "usage" in (h.stdout + h.stderr).lower()
