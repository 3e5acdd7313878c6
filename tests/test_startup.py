"""What a command imports.

pyarrow (about a tenth of a second to import) and tqdm are imported only by the
commands and inputs that use them, and pandas (a fifth of a second) by none:
``iomscore score`` of a plain CSV export and the ``db`` commands that read no
events file start without any of them. Each command runs in a new process,
which reports the heavy modules it ended up holding.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from iomscore._lazy import LazyModule

HEAVY = ("pyarrow", "tqdm", "numba", "scipy", "pandas", "matplotlib")
EVENTS = """\
event_id,nominal_id,dataset,offence,date
1,100,arrest,028/01,2024-02-29
2,200,warrant,008/06,2024-01-02
3,100,intelligence,105/01,2023-06-15
"""
# run the command, then name the heavy modules the process holds, on a line of its own
PROBE = """\
import sys
from iomscore.cli import main
code = main(sys.argv[1:])
held = [m for m in {heavy!r} if m in sys.modules]
print("HELD:" + ",".join(held), file=sys.stderr)
sys.exit(code)
"""


def held_after(*argv: str) -> set[str]:
    """The heavy modules a new process holds after ``iomscore ARGV``."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(heavy=HEAVY), *argv],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    line = [x for x in done.stderr.splitlines() if x.startswith("HELD:")][-1]
    return set(filter(None, line[len("HELD:") :].split(",")))


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    csv = tmp_path / "events.csv"
    csv.write_text(EVENTS)
    parquet = tmp_path / "events.parquet"
    rows = [line.split(",") for line in EVENTS.splitlines()]
    columns = {name: [row[k] for row in rows[1:]] for k, name in enumerate(rows[0])}
    for name in ("event_id", "nominal_id"):
        columns[name] = [int(v) for v in columns[name]]
    pq.write_table(pa.table(columns), parquet)
    return {"csv": csv, "parquet": parquet, "dir": tmp_path / "engine"}


def test_scoring_a_plain_csv_export_imports_no_heavy_module(files, tmp_path):
    out = tmp_path / "scores.csv"
    assert (
        held_after("score", str(files["csv"]), "--as-of", "2024-03-01", "--out", str(out)) == set()
    )
    assert out.read_text().count("\n") == 3  # the header and two nominals


def test_scoring_a_parquet_file_imports_pyarrow_and_nothing_else(files, tmp_path):
    # the probe sees an import: the test above cannot pass by a probe that sees none
    out = tmp_path / "scores.csv"
    argv = ("score", str(files["parquet"]), "--as-of", "2024-03-01", "--out", str(out))
    assert held_after(*argv) == {"pyarrow"}


def test_the_db_commands_import_only_what_reads_a_file(files, tmp_path):
    folder = str(files["dir"])
    assert held_after("db", "init", folder, "--as-of", "2024-03-01") == set()
    # the general reader reads the file (pyarrow's CSV reader); pandas stays out
    assert held_after("db", "ingest", folder, str(files["csv"])) == {"pyarrow"}
    out = tmp_path / "db-scores.csv"
    assert held_after("db", "scores", folder, "--out", str(out)) == set()
    assert out.read_text().count("\n") == 3


def test_a_lazy_module_imports_at_its_first_attribute_read():
    name = "iomscore._lazy_probe_module"  # no such module: the import is what fails
    lazy = LazyModule(name)
    assert "not imported yet" in repr(lazy)
    with pytest.raises(ModuleNotFoundError, match="_lazy_probe_module"):
        _ = lazy.anything
    json = LazyModule("json")
    assert json.dumps([1]) == "[1]"
    assert "imported" in repr(json) and "not" not in repr(json)
    assert json.loads is sys.modules["json"].loads
