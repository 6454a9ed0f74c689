"""pytest fixtures shared by every end-to-end test (see rmtest.py)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rmtest  # noqa: E402


@pytest.fixture(scope="session")
def repo_root():
    return rmtest.REPO


@pytest.fixture(scope="session")
def bin_dir():
    for prog in ("ringmaster", "ringagent", "ringsh"):
        assert (rmtest.BIN / prog).exists(), f"{rmtest.BIN / prog} is missing: run make first"
    return rmtest.BIN


@pytest.fixture(scope="session")
def unit_dir():
    return rmtest.UNIT_DIR


@pytest.fixture(scope="session")
def shared_dir():
    return rmtest.SHARED


@pytest.fixture
def free_port():
    return rmtest.free_port
