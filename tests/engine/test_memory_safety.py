"""The compiled kernels stay inside their arrays: the ADL, agreement and determinism tests run again with numba's
bounds checking on, so an index past an array's end fails as an IndexError naming the line instead of reading or
writing memory that belongs to something else (numba does not check indices otherwise)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ENGINE_TESTS = Path(__file__).resolve().parent
CHECKED = ("test_adl.py", "test_agreement.py", "test_determinism.py")


def test_engine_tests_pass_with_numba_bounds_checking(tmp_path: Path) -> None:
    env = {**os.environ, "NUMBA_BOUNDSCHECK": "1", "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p", "no:cacheprovider",
         *(str(ENGINE_TESTS / name) for name in CHECKED)],
        capture_output=True, text=True, env=env, cwd=ENGINE_TESTS.parent.parent, timeout=280, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout[-6000:] + completed.stderr[-3000:]
    assert " passed" in completed.stdout and "failed" not in completed.stdout
