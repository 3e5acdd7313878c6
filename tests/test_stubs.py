"""The hand-written stub of the compiled module matches the module (mypy.stubtest)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_core_stub_matches_the_compiled_module():
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy.stubtest",
            "iomscore._core",
            "--mypy-config-file",
            str(ROOT / "pyproject.toml"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT / "tests",
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
