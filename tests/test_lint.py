"""The code is ruff clean and ruff formatted (the project's style gate, run in CI)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["src", "tests", "bench", "weights"]


def _ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args, *PATHS],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_ruff_check_is_clean():
    run = _ruff("check")
    assert run.returncode == 0, run.stdout + run.stderr


def test_ruff_format_is_applied():
    run = _ruff("format", "--check")
    assert run.returncode == 0, run.stdout + run.stderr
