"""pytest fixtures shared by every end-to-end test (see rmtest.py), and the
order test files are handed to pytest-xdist workers in."""
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


# The longest files, handed out first.  Under pytest-xdist with --dist
# loadfile each file goes whole to the next free worker in collection
# order; when a long file comes last, one worker runs it alone after the
# other has run out of work.  Longest first, the phase ends within about
# one short file of an even split.  These are the files that start real
# Cassandra nodes (test_sim.py, test_backup.py) or keep a whole backup
# environment for a module (test_backup*.py), then the ones that wait out
# outages on purpose (test_node_jobs.py, test_demo.py).  Files not listed
# keep their (alphabetical) order after these.
SLOWEST_FIRST = (
    "test_sim.py",
    "test_backup.py",
    "test_backup_safety.py",
    "test_node_jobs.py",
    "test_demo.py",
)


def pytest_collection_modifyitems(config, items):
    # Only on an xdist worker (it has workerinput): a run in one process
    # keeps the plain file order.
    if not hasattr(config, "workerinput"):
        return
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    # sort is stable: tests keep their order inside a file
    items.sort(key=lambda it: rank.get(Path(str(it.fspath)).name, len(rank)))
