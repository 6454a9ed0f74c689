"""The short chaos run of `make test`: chaos.py with a fixed seed for a
bounded time (RM_CHAOS_SECONDS, default 120; RM_CHAOS_SEED, default 1).
The invariants it checks are in chaos.py's docstring; a failure names the
seed and what broke, and `tests/chaos/chaos.py --seed N` replays it."""
import argparse
import os

import chaos


def test_chaos_short_run(tmp_path):
    a = argparse.Namespace(
        seed=int(os.environ.get("RM_CHAOS_SEED", 1)),
        duration=float(os.environ.get("RM_CHAOS_SECONDS", 120)),
        iterations=int(os.environ.get("RM_CHAOS_ITERATIONS", 1000)),
        task_timeout=150.0, self_check=True)
    bad, tids, counts = chaos.run(a, tmp_path)
    # A run that did nothing proves nothing.
    assert len(tids) >= 3, f"only {len(tids)} tasks ran in {a.duration} s"
    assert any(st == "succeeded" for (_, st) in counts), f"no task succeeded: {counts}"
    assert not bad, f"seed {a.seed}:\n" + "\n".join(bad)
