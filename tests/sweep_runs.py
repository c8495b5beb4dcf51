"""`python sweeps/tune_all.py ...` as a user runs it, in a process of its own, for the tests that
start a real sweep (conftest's shared_sweep, test_pbt)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def tune_all(*args: str, timeout: float = 900, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "sweeps" / "tune_all.py"), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )
