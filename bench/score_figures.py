"""The main job on real-shaped files (issue 21): ``iomscore score`` against DuckDB and
polars, whole process against whole process, on the same national export.

    python bench/score_figures.py                 # 1M nominals, 20M events: about 10 minutes
    python bench/score_figures.py --small         # 50,000 / 1,000,000: a minute
    python bench/score_figures.py --rounds 5 --formats csv

The export is written as a police system writes one (``write_files``):

- rows in date order, event ids shuffled across them (an export sorted by date);
- plain text columns ``dataset`` and ``offence`` (``028/01``), offence codes
  spread over every code of the shipped table (a 1/k tail: most of them occur);
- dates as ``YYYY-MM-DD`` text in the CSV and a date column in the Parquet file,
  over 1,000 days, so some events fall before the two-year window;
- the CSV and the Parquet file both written by DuckDB.

Every job reads the file and the weight table, keeps the events of the two-year
window, sums their points by nominal, bands the sums and writes ``nominal_id,
score, band`` in rule 6's order to a CSV file; the outputs are checked equal
before any figure is printed. Each job is a new Python process (its import and
start-up count, as a user's command does); the rounds alternate between the
jobs, and the table gives medians with each process's peak resident memory
(its ``VmHWM`` as it exits). The floor is the faster of two bare reads of the
file into memory, each a whole process too: for Parquet pyarrow's
``read_table`` and its read a row group at a time with dictionary text columns;
for CSV pyarrow's read with typed columns and iomscore's own reader of a plain
export (``_core.PlainCsv``, the whole file in one chunk, nothing looked up or
scored). Where the floor takes more than half of DuckDB's job, the goal
on that format is the whole job within 1.3x of the floor (issue 21).

Then, in this process, ``Engine.ingest`` of the Parquet export's table (the read
not timed), in events per second.
"""

from __future__ import annotations

import argparse
import compileall
import datetime
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "bench")]

from bench_timing import head_commit  # noqa: E402
from peers import spread_codes  # noqa: E402

from iomscore import synth  # noqa: E402
from iomscore.calendar import window_start  # noqa: E402
from iomscore.weights import Weights  # noqa: E402

AS_OF = datetime.date(2026, 11, 26)
WEIGHTS = ROOT / "weights" / "default.csv"
SPAN_DAYS = 1000


# --------------------------------------------------------------------------------------------
# The export
# --------------------------------------------------------------------------------------------


def write_files(folder: Path, nominals: int, events: int) -> dict[str, Path]:
    """The national export as CSV and Parquet in ``folder`` (kept between runs), and
    the weight table in long form for the peers."""
    import duckdb
    import pyarrow as pa

    stem = f"events-{nominals}-{events}"
    paths = {"csv": folder / f"{stem}.csv", "parquet": folder / f"{stem}.parquet"}
    long_form = folder / "weights-long.csv"
    if all(p.exists() for p in paths.values()) and long_form.exists():
        return {**paths, "weights": long_form}
    weights = Weights.load(WEIGHTS)
    cohort = synth.cohort(nominals, events, as_of=AS_OF, span_days=SPAN_DAYS, seed=21)
    offence = spread_codes(events, len(weights.offences), seed=7)
    frame = pa.table(
        {
            "event_id": cohort.event_id,
            "nominal_id": cohort.nominal_id,
            "dataset": pa.DictionaryArray.from_arrays(
                pa.array(cohort.dataset_index), pa.array(cohort.datasets, pa.string())
            ),
            "offence": pa.DictionaryArray.from_arrays(
                pa.array(offence.astype(np.int16)), pa.array(weights.offences, pa.string())
            ),
            "date": pa.array(cohort.date.astype("datetime64[D]")),
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.register("frame", frame)
        select = (
            "SELECT event_id, nominal_id, dataset::VARCHAR AS dataset, "
            "offence::VARCHAR AS offence, date FROM frame"
        )
        tmp = {k: p.with_suffix(p.suffix + ".tmp") for k, p in paths.items()}
        con.execute(f"COPY ({select}) TO '{tmp['parquet']}' (FORMAT parquet)")
        con.execute(f"COPY ({select}) TO '{tmp['csv']}' (FORMAT csv, HEADER)")
    finally:
        con.close()
    rows = [
        f"{offence},{dataset},{int(weights.points[d, o])}"
        for o, offence in enumerate(weights.offences)
        for d, dataset in enumerate(weights.datasets)
    ]
    long_form.write_text("offence,dataset,points\n" + "\n".join(rows) + "\n")
    for key, path in paths.items():
        os.replace(tmp[key], path)
    return {**paths, "weights": long_form}


# --------------------------------------------------------------------------------------------
# The jobs, each a whole Python process
# --------------------------------------------------------------------------------------------

_BANDS = (
    "CASE WHEN score >= 1000 THEN 'HIGH' WHEN score >= 500 THEN 'MEDIUM' "
    "WHEN score >= 250 THEN 'LOW' ELSE 'NONE' END"
)


def _duckdb_job(events: Path, weights: Path, out: Path, fmt: str) -> str:
    low = window_start(AS_OF, 2)
    source = f"read_parquet('{events}')" if fmt == "parquet" else f"read_csv('{events}')"
    return textwrap.dedent(
        f"""
        import duckdb
        con = duckdb.connect()
        con.execute('''
        COPY (
          SELECT nominal_id, score, {_BANDS} AS band FROM (
            SELECT e.nominal_id, SUM(w.points)::BIGINT AS score
            FROM {source} AS e
            JOIN read_csv('{weights}', types={{'offence': 'VARCHAR', 'dataset': 'VARCHAR',
                                             'points': 'BIGINT'}}) AS w
              ON e.offence = w.offence AND e.dataset = w.dataset
            WHERE e.date > DATE '{low}' AND e.date <= DATE '{AS_OF}'
            GROUP BY e.nominal_id)
          ORDER BY score DESC, nominal_id ASC
        ) TO '{out}' (FORMAT csv, HEADER)''')
        """
    )


def _polars_job(events: Path, weights: Path, out: Path, fmt: str) -> str:
    low = window_start(AS_OF, 2)
    if fmt == "parquet":
        scan = f"pl.scan_parquet('{events}')"
    else:
        scan = (
            f"pl.scan_csv('{events}', schema={{'event_id': pl.Int64, 'nominal_id': pl.Int64, "
            "'dataset': pl.Utf8, 'offence': pl.Utf8, 'date': pl.Date})"
        )
    return textwrap.dedent(
        f"""
        import datetime, polars as pl
        w = pl.scan_csv('{weights}', schema={{'offence': pl.Utf8, 'dataset': pl.Utf8,
                                             'points': pl.Int64}})
        low, high = datetime.date.fromisoformat('{low}'), datetime.date.fromisoformat('{AS_OF}')
        score = (
            {scan}
            .filter((pl.col('date') > low) & (pl.col('date') <= high))
            .join(w, on=['offence', 'dataset'])
            .group_by('nominal_id').agg(pl.col('points').sum().alias('score'))
            .with_columns(
                pl.when(pl.col('score') >= 1000).then(pl.lit('HIGH'))
                .when(pl.col('score') >= 500).then(pl.lit('MEDIUM'))
                .when(pl.col('score') >= 250).then(pl.lit('LOW'))
                .otherwise(pl.lit('NONE')).alias('band'))
            .sort(['score', 'nominal_id'], descending=[True, False])
        )
        score.sink_csv('{out}')
        """
    )


def _iomscore_job(events: Path, _weights: Path, out: Path, _fmt: str) -> str:
    argv = ["score", str(events), "--as-of", AS_OF.isoformat(), "--out", str(out), "--quiet"]
    return textwrap.dedent(
        f"""
        import sys
        from iomscore.cli import main
        sys.exit(main({argv!r}))
        """
    )


def _read_job(events: Path, _weights: Path, _out: Path, fmt: str) -> str:
    """A floor: pyarrow's read of the file into memory (typed columns for the CSV)."""
    if fmt == "parquet":
        return f"import pyarrow.parquet as pq\npq.read_table('{events}')\n"
    return textwrap.dedent(
        f"""
        import pyarrow as pa, pyarrow.csv as pacsv
        types = {{'event_id': pa.int64(), 'nominal_id': pa.int64(),
                 'dataset': pa.dictionary(pa.int32(), pa.string()),
                 'offence': pa.dictionary(pa.int32(), pa.string()), 'date': pa.date32()}}
        pacsv.read_csv('{events}', convert_options=pacsv.ConvertOptions(column_types=types))
        """
    )


def _read_alone_job(events: Path, _weights: Path, _out: Path, fmt: str) -> str:
    """Another floor: for Parquet, pyarrow's read a row group at a time, the text
    columns as dictionaries (as iomscore reads it; ``read_table`` imports pandas); for
    CSV, iomscore's own reader of a plain export (``_core.PlainCsv``, the columns in
    memory, nothing checked after)."""
    if fmt == "parquet":
        return textwrap.dedent(
            f"""
            import pyarrow.parquet as pq
            source = pq.ParquetFile('{events}', read_dictionary=['dataset', 'offence'])
            for group in range(source.num_row_groups):
                source.read_row_group(group)
            """
        )
    return textwrap.dedent(
        f"""
        from iomscore import _core
        from iomscore.oneshot import _Lines
        with open('{events}', 'rb', buffering=0) as handle:
            lines = _Lines(handle)
            _, newline, _ = lines.first()
            reader = _core.PlainCsv(5, [0, 1, 2, 3, 4])
            for data, begin, end in lines.chunks(newline + 1):
                assert reader.read(data, begin, end) is not None
        """
    )


JOBS = {
    "iomscore": _iomscore_job,
    "duckdb": _duckdb_job,
    "polars": _polars_job,
    "read": _read_job,
    "read2": _read_alone_job,
}
READS = {
    "parquet": {"read": "pyarrow read_table", "read2": "pyarrow, by row group"},
    "csv": {"read": "pyarrow, typed columns", "read2": "iomscore's reader"},
}


# Each job reports its own peak resident memory as it exits: VmHWM belongs to the
# process's address space, which exec makes new, where wait4's ru_maxrss would also
# count the pages of this (large) process that the child had between fork and exec.
_PEAK = (
    "import atexit, sys\n"
    "atexit.register(lambda: print('peak-kB', open('/proc/self/status').read()"
    ".split('VmHWM:')[1].split()[0], file=sys.stderr))\n"
)


def run_process(code: str) -> tuple[float, int]:
    """Run ``python -c code``: (wall seconds, peak resident memory in bytes)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    start = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-c", _PEAK + code], env=env, stderr=subprocess.PIPE, check=False
    )
    seconds = time.perf_counter() - start
    err = run.stderr.decode()
    if run.returncode != 0:
        raise RuntimeError(f"job failed ({run.returncode}):\n{code}\n{err}")
    peak = [line.split()[1] for line in err.splitlines() if line.startswith("peak-kB ")]
    return seconds, int(peak[-1]) * 1024


def canonical(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    import pyarrow.csv as pacsv

    table = pacsv.read_csv(path)
    return (
        table.column("nominal_id").to_numpy(),
        table.column("score").to_numpy(),
        np.asarray(table.column("band").to_pylist()),
    )


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


def measure(files: dict[str, Path], fmt: str, rounds: int, work: Path) -> dict[str, Any]:
    events = files[fmt]
    outs = {name: work / f"{name}-{fmt}.csv" for name in JOBS}
    codes = {name: job(events, files["weights"], outs[name], fmt) for name, job in JOBS.items()}
    seconds: dict[str, list[float]] = {name: [] for name in JOBS}
    peak: dict[str, int] = {name: 0 for name in JOBS}
    for round_ in range(rounds + 1):  # the first round warms the caches, untimed
        order = list(JOBS) if round_ % 2 else list(reversed(JOBS))
        for name in order:
            took, rss = run_process(codes[name])
            if round_:
                seconds[name].append(took)
                peak[name] = max(peak[name], rss)
        if round_ == 0:
            check_equal(outs, fmt)
    return {
        "format": fmt,
        "bytes": events.stat().st_size,
        "median": {k: float(np.median(v)) for k, v in seconds.items()},
        "best": {k: min(v) for k, v in seconds.items()},
        "peak": peak,
    }


def check_equal(outs: dict[str, Path], fmt: str) -> None:
    ours = canonical(outs["iomscore"])
    for name in ("duckdb", "polars"):
        theirs = canonical(outs[name])
        if not all(np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True)):
            raise AssertionError(f"{fmt}: {name}'s scores differ from iomscore's")


def floor(result: dict[str, Any]) -> tuple[str, float]:
    """The faster of the two bare reads (median seconds), and its name."""
    m = result["median"]
    key = min(("read", "read2"), key=lambda k: m[k])
    return READS[result["format"]][key], m[key]


def table(results: list[dict[str, Any]], args: argparse.Namespace) -> str:
    lines = [
        f"`python bench/score_figures.py` ({args.nominals:,} nominals, {args.events:,} "
        f"events; {args.rounds} rounds alternating, medians; {head_commit()}; "
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, load {os.getloadavg()[0]:.1f})",
        "",
        "| file | iomscore score | DuckDB | polars | floor: the bare read | DuckDB ÷ iomscore "
        "| iomscore ÷ floor | peak RSS iomscore / DuckDB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        m, p = r["median"], r["peak"]
        name, read = floor(r)
        lines.append(
            f"| {r['format']} ({r['bytes'] / 1e6:,.0f} MB) | {m['iomscore']:.2f} s "
            f"| {m['duckdb']:.2f} s | {m['polars']:.2f} s | {read:.2f} s ({name}) "
            f"| **{m['duckdb'] / m['iomscore']:.2f}x** | {m['iomscore'] / read:.2f}x "
            f"| {p['iomscore'] / 2**20:,.0f} / {p['duckdb'] / 2**20:,.0f} MiB "
            f"({p['iomscore'] / p['duckdb']:.2f}x) |"
        )
    lines.append("")
    for r in results:
        m, b = r["median"], r["best"]
        name, read = floor(r)
        half = read > m["duckdb"] / 2
        goal = "within 1.3x of the read" if half else "at least 2x DuckDB"
        names = READS[r["format"]]
        lines.append(
            f"- {r['format']}: the floor ({name}) takes {read / m['duckdb']:.0%} of DuckDB's "
            f"job, so the goal is {goal}. Reads: {names['read']} {m['read']:.2f} s, "
            f"{names['read2']} {m['read2']:.2f} s. Best of the rounds: iomscore "
            f"{b['iomscore']:.2f} s, DuckDB {b['duckdb']:.2f} s, polars {b['polars']:.2f} s."
        )
    return "\n".join(lines)


def ingest_rates(files: dict[str, Path], rounds: int) -> str:
    """``Engine.ingest`` of the Parquet export's table (ids shuffled, text columns), the
    file's read not timed: as ``read_events`` gives it (dictionary text columns) and
    with plain string columns, a new engine each round, rounds alternating; then the
    plain string table's ingest as the first call of a new process, as a service
    that loads its cohort at start meets it (its memory all fresh)."""
    import pyarrow.parquet as pq

    from iomscore import Engine
    from iomscore.eventfile import read_events

    weights = Weights.load(WEIGHTS)
    tables = {
        "as read_events reads it (dictionary text)": read_events(files["parquet"])[0],
        "plain string columns": pq.read_table(files["parquet"]),
    }
    rates: dict[str, list[float]] = {name: [] for name in tables}
    for _ in range(rounds):
        for name, table in tables.items():
            engine = Engine(weights, AS_OF)
            start = time.perf_counter()
            engine.ingest(table, future="skip")
            rates[name].append(len(table) / (time.perf_counter() - start) / 1e6)
            del engine
    del tables
    first = "plain string columns, the first call in a new process"
    rates[first] = [_first_ingest_rate(files["parquet"]) for _ in range(rounds)]
    return "\n".join(
        f"- `Engine.ingest` of the Parquet export's table, {name}: "
        f"{np.median(r):.1f} M events/s median, {max(r):.1f} best ({rounds} rounds)"
        for name, r in rates.items()
    )


def _first_ingest_rate(parquet: Path) -> float:
    """Events per second (millions) of ``Engine.ingest`` of the file's table, plain
    string columns, as the first call of a new process (the read not timed)."""
    code = textwrap.dedent(
        f"""
        import datetime, time
        import pyarrow.parquet as pq
        from iomscore import Engine, Weights
        table = pq.read_table({str(parquet)!r})
        as_of = datetime.date.fromisoformat({AS_OF.isoformat()!r})
        engine = Engine(Weights.load({str(WEIGHTS)!r}), as_of)
        start = time.perf_counter()
        engine.ingest(table, future="skip")
        print(len(table) / (time.perf_counter() - start) / 1e6)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True)
    return float(run.stdout.decode().split()[-1])


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nominals", type=int, default=1_000_000)
    p.add_argument("--events", type=int, default=20_000_000)
    p.add_argument("--small", action="store_true", help="50,000 nominals / 1,000,000 events")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--formats", default="parquet,csv")
    p.add_argument(
        "--files",
        type=Path,
        default=Path(tempfile.gettempdir()) / "iomscore-score-files",
        help="where the export is written (and kept for the next run)",
    )
    args = p.parse_args(argv)
    if args.small:
        args.nominals, args.events = 50_000, 1_000_000
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    # As an installed package is: its modules compiled to bytecode once (pip does it
    # at install), not at every start (PYTHONDONTWRITEBYTECODE may be set here).
    compileall.compile_dir(ROOT / "src" / "iomscore", quiet=1)
    files = write_files(args.files, args.nominals, args.events)
    with tempfile.TemporaryDirectory() as work:
        results = [measure(files, fmt, args.rounds, Path(work)) for fmt in args.formats.split(",")]
    print(table(results, args))
    if "parquet" in args.formats.split(","):
        print(ingest_rates(files, args.rounds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
