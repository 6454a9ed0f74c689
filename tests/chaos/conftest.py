"""The chaos run reuses the end-to-end helpers (tests/e2e: orch.py, bkenv.py,
agentutil.py, s3util.py)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "e2e"))
