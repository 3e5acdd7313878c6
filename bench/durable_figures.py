"""The durable engine's figures (issue 23): what a directory costs and saves, each
figure a ratio measured in the same run.

    python bench/durable_figures.py [--nominals 1000000] [--events 20000000] [--days 365]
    python bench/durable_figures.py --small          # 50,000 / 1,000,000 / 30 days

A national cohort (``peers.make_case``) with its event ids permuted across the
rows (an export's ids in no particular order) and its offence codes spread over
every code of the weight table (a heavy tail, as a force uses most of the
framework's codes; ``--synthetic-codes`` keeps the synthetic mix's 109) is
written as a police export would be: a Parquet file written by another tool
(DuckDB), with plain text columns (``dataset``, ``offence`` as ``028/01``) and a
date column (``--text-dates``: dates as ``YYYY-MM-DD`` text). The same events,
pre-encoded, are bulk-loaded into engines; days are ``Case.synthetic_days``
(``--per-day`` pre-encoded events each, their ids permuted within the day).

The figures:

1. reopening a directory from a checkpoint (``Engine.open(dir)`` after
   ``checkpoint()`` and ``close()``: the journal empty) against what a user
   without a directory does, the steps of ``iomscore score``: ``read_events``
   of the Parquet export, ``encode_events``, a new ``Engine`` and
   ``ingest_encoded(future="skip")``: >= 5x (medians, rounds alternating).
   Both engines' ``scores()`` are checked equal first. And, with no goal, the
   reopen against its floor, timed after each reopen: the snapshot file mapped and
   its SHA-256 (the checksum its sections carry); beside it, as many bytes as the
   snapshot holds written to fresh memory, one byte a page (the kernel zeroes each
   page at its first touch, which an engine built in memory pays too; on this VM
   its speed moves between processes and runs, so it is shown, not added).
2. a journaled day's step (advance one day, ingest its events) on a durable
   engine against the same on an in-memory engine, days interleaved, and in
   the same run the cost of one ``fsync`` on this disk (a 100-byte append to a
   file in the engine's directory, then ``os.fsync``, a few each day): the
   journaled day <= the in-memory day + 2 fsyncs (medians). And, with no goal, the
   journaled day against its floor: the in-memory day plus the journal's own I/O,
   the bytes of that day's two journal records (its size before, between and
   after the two calls) written to a file in the directory and flushed, each
   with its fsync, timed right after the journaled day.
3. bytes on disk per event right after a checkpoint: snapshot.iom,
   journal.iom, records.sqlite and its -wal over the live and archived
   events: <= 20.

Without a goal: the checkpoint's own time (after the days, then again with an
empty journal), and the first bulk load into a new durable engine (create the
directory, ingest: the journal takes the whole batch, records.sqlite its band
changes) against a new in-memory engine's, rounds alternating.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import hashlib
import mmap
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO / "src"), str(BENCH)]

import peers  # noqa: E402
from bench_timing import head_commit, ms, timed  # noqa: E402

from iomscore import Engine  # noqa: E402
from iomscore.batch import EncodedBatch, encode_events  # noqa: E402
from iomscore.calendar import window_start  # noqa: E402
from iomscore.eventfile import read_events  # noqa: E402
from iomscore.weights import Weights  # noqa: E402

SMALL = {"nominals": 50_000, "events": 1_000_000, "days": 30}
#: the files of an engine directory that hold its data (LOCK and -shm hold none)
DATA_FILES = ("snapshot.iom", "journal.iom", "records.sqlite", "records.sqlite-wal")


def same_scores(a, b) -> bool:
    return bool(
        np.array_equal(a.nominal_id, b.nominal_id)
        and np.array_equal(a.score, b.score)
        and np.array_equal(a.band, b.band)
    )


# --------------------------------------------------------------------------------------------
# The export
# --------------------------------------------------------------------------------------------


def write_export(path: Path, columns: dict[str, np.ndarray], text_dates: bool) -> None:
    """Write the events as another tool writes Parquet (DuckDB, plain text columns)."""
    import duckdb
    import pyarrow as pa

    frame = pa.table(
        {
            "event_id": columns["event_id"],
            "nominal_id": columns["nominal_id"],
            "dataset": pa.DictionaryArray.from_arrays(
                pa.array(columns["dataset"]), pa.array(columns["datasets"], pa.string())
            ),
            "offence": pa.DictionaryArray.from_arrays(
                pa.array(columns["offence"]), pa.array(columns["offences"], pa.string())
            ),
            "date": pa.array(columns["date"].astype(np.int32), pa.int32()).view(pa.date32()),
        }
    )
    date = "strftime(date, '%Y-%m-%d')" if text_dates else "date"
    con = duckdb.connect()
    try:
        con.register("frame", frame)
        con.execute(
            "COPY (SELECT event_id, nominal_id, dataset::VARCHAR AS dataset, "
            f"offence::VARCHAR AS offence, {date} AS date FROM frame) "
            f"TO '{path}' (FORMAT parquet)"
        )
    finally:
        con.close()


def from_parquet(path: Path, weights: Weights, as_of: datetime.date) -> Engine:
    """What ``iomscore score`` does with an events file (``cli._cmd_score``): read,
    check and encode, then a new engine takes the batch."""
    table, label = read_events(path)
    batch = encode_events(table, weights, label=label)
    engine = Engine(weights, as_of)
    engine.ingest_encoded(batch, future="skip", label=label)
    return engine


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


class Run:
    """The case, its export, the engines and each figure's numbers."""

    def __init__(self, args: argparse.Namespace, root: Path) -> None:
        self.args, self.root = args, root
        # the convenient case as generated: the script permutes the ids and spreads the
        # codes itself, each with its switch
        self.case = case = peers.make_case(
            args.nominals, args.events, extra_days=1, seed=2026, ascending_ids=True, codes="mix"
        )
        weights = case.weights
        # the rows inside the window at as_of (the cohort's first day is on its
        # boundary: an engine would not take them, so the export leaves them out)
        inside = case.events.date > np.datetime64(window_start(case.as_of, 2), "D")
        events = case.events.take(np.flatnonzero(inside))
        ids = np.ascontiguousarray(events.event_id)
        if not args.ascending_ids:
            ids = np.random.default_rng(3).permutation(ids)
        dataset = np.array([weights.dataset_index(d) for d in events.datasets])
        dataset = dataset[events.dataset_index]
        if args.synthetic_codes:
            table_index = np.array([weights.offence_index(o) for o in events.offences])
            offence = table_index[events.offence_index]
        else:
            offence = peers.spread_codes(len(events), len(weights.offences), seed=7)
        day = (events.date - np.datetime64("1970-01-01", "D")).astype(np.int32)
        self.batch = EncodedBatch(
            ids,
            np.ascontiguousarray(events.nominal_id),
            (dataset * len(weights.offences) + offence).astype(np.uint16),
            day,
            weights.layout,
        )
        self.codes_used = int(np.unique(offence).size)
        self.export = root / "export.parquet"
        write_export(
            self.export,
            {
                "event_id": ids,
                "nominal_id": self.batch.nominal_id,
                "dataset": dataset.astype(np.int8),
                "datasets": np.array(weights.datasets, dtype=object),
                "offence": offence.astype(np.int16),
                "offences": np.array(weights.offences, dtype=object),
                "date": day,
            },
            args.text_dates,
        )
        rng = np.random.default_rng(4)
        self.days = [
            EncodedBatch(rng.permutation(b.event_id), b.nominal_id, b.kind, b.day, b.layout)
            for b in case.synthetic_days(args.days, args.per_day)
        ]
        self.out: dict[str, Any] = {}
        self._dirs = 0
        self.directory = root  # the durable engine's directory, once there is one

    def new_dir(self) -> Path:
        self._dirs += 1
        return self.root / f"engine-{self._dirs}"

    # -- the first bulk load, durable and in memory ------------------------------------
    def load(self) -> tuple[Engine, Engine]:
        """Rounds of a new durable engine and a new in-memory engine taking the whole
        batch, alternating; returns the last of each."""
        case, batch, o = self.case, self.batch, self.out
        durable_s: list[float] = []
        create_s: list[float] = []
        memory_s: list[float] = []
        kept: dict[str, Engine] = {}

        def durable() -> None:
            directory = self.new_dir()
            start = time.perf_counter()
            engine = Engine.open(directory, weights=case.weights, as_of=case.as_of, create=True)
            created = time.perf_counter()
            engine.ingest_encoded(batch)
            durable_s.append(time.perf_counter() - start)
            create_s.append(created - start)
            if "durable" in kept:
                kept.pop("durable").close()
                shutil.rmtree(self.directory)
            kept["durable"], self.directory = engine, directory

        def memory() -> None:
            kept.pop("memory", None)
            gc.collect()
            start = time.perf_counter()
            engine = Engine(case.weights, case.as_of)
            engine.ingest_encoded(batch)
            memory_s.append(time.perf_counter() - start)
            kept["memory"] = engine

        for r in range(self.args.rounds):
            pair = [durable, memory]
            for step in pair if r % 2 == 0 else pair[::-1]:
                step()
                gc.collect()
        d, m = kept["durable"], kept["memory"]
        assert same_scores(d.scores(), m.scores()), "the durable engine differs from memory"
        o["load_ms"], o["load_memory_ms"] = ms(durable_s), ms(memory_s)
        o["load_create_ms"] = ms(create_s)
        o["load_first_ms"], o["load_memory_first_ms"] = durable_s[0] * 1e3, memory_s[0] * 1e3
        o["load"] = o["load_ms"] / o["load_memory_ms"]
        o["loaded_events"] = len(d)
        o["journal_bytes"] = (self.directory / "journal.iom").stat().st_size
        return d, m

    # -- 1: reopen from a checkpoint against the Parquet export --------------------------
    def reopen(self, engine: Engine) -> Engine:
        """Checkpoint and close ``engine``, then reopen its directory and read the
        export in alternating rounds; returns the directory reopened."""
        case, o, directory = self.case, self.out, self.directory
        o["checkpoint_load_ms"] = timed(engine.checkpoint)[0] * 1e3
        engine.close()
        del engine
        gc.collect()
        reopened = Engine.open(directory)
        expected = reopened.scores()
        fresh = from_parquet(self.export, case.weights, case.as_of)
        assert same_scores(fresh.scores(), expected), "the Parquet engine differs"
        assert len(fresh) == len(reopened) == o["loaded_events"]
        del fresh
        reopened.close()
        del reopened
        gc.collect()
        ours: list[float] = []
        theirs: list[float] = []
        floors: list[float] = []
        fresh_floors: list[float] = []
        snapshot = directory / "snapshot.iom"
        fresh_bytes = snapshot.stat().st_size

        def floor() -> None:
            """The least a reopen does: read the snapshot's bytes (mapped from the
            page cache, as a reopen maps them) and check them (SHA-256, the checksum
            its sections carry). Then, timed apart and with no bound claimed, as
            many bytes as the snapshot holds written to memory the process has not
            touched before (one byte a page: the kernel zeroes each page at its
            first touch), which an engine built in memory pays too: on this VM that
            speed moves between processes and runs (0.4-10 GiB/s), and a reopen
            can take less than this sum, so it is shown beside the floor, not in it."""
            start = time.perf_counter()
            with open(snapshot, "rb") as handle:
                flags = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
                with mmap.mmap(handle.fileno(), 0, flags=flags, prot=mmap.PROT_READ) as data:
                    hashlib.sha256(data).digest()
            floors.append(time.perf_counter() - start)
            start = time.perf_counter()
            with mmap.mmap(-1, fresh_bytes) as fresh:  # anonymous: pages never touched
                np.frombuffer(fresh, dtype=np.uint8)[::4096] = 1
                fresh_floors.append(time.perf_counter() - start)

        last: Engine | None = None
        for r in range(self.args.rounds):
            if last is not None:
                last.close()
                last = None
                gc.collect()
            if r % 2:
                seconds, fresh = timed(lambda: from_parquet(self.export, case.weights, case.as_of))
                theirs.append(seconds)
                del fresh
                gc.collect()
            seconds, last = timed(lambda: Engine.open(directory))
            ours.append(seconds)
            floor()
            if r % 2 == 0:
                gc.collect()
                seconds, fresh = timed(lambda: from_parquet(self.export, case.weights, case.as_of))
                theirs.append(seconds)
                del fresh
                gc.collect()
        assert last is not None and same_scores(last.scores(), expected)
        o["reopen_ms"], o["parquet_ms"] = ms(ours), ms(theirs)
        o["reopen"] = o["parquet_ms"] / o["reopen_ms"]
        o["snapshot_read_ms"], o["fresh_memory_ms"] = ms(floors), ms(fresh_floors)
        o["fresh_bytes"] = fresh_bytes
        o["reopen_floor"] = o["reopen_ms"] / o["snapshot_read_ms"]
        o["snapshot_load_bytes"] = (directory / "snapshot.iom").stat().st_size
        o["export_bytes"] = self.export.stat().st_size
        return last

    # -- 2: the journaled day, the day in memory, one fsync -----------------------------
    def days_(self, durable: Engine, memory: Engine) -> None:
        args, case, o = self.args, self.case, self.out
        journaled: list[float] = []
        in_memory: list[float] = []
        fsyncs: list[float] = []
        probe = self.directory / "fsync-probe"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        record = b"\0" * 100

        journal = self.directory / "journal.iom"
        floor_fd = os.open(self.directory / "floor-probe", os.O_WRONLY | os.O_CREAT, 0o644)
        record_bytes: list[int] = []
        floors: list[float] = []

        def step(engine: Engine, date: datetime.date, batch: EncodedBatch) -> float:
            start = time.perf_counter()
            engine.advance(date)
            engine.ingest_encoded(batch)
            return time.perf_counter() - start

        def journaled_step(date: datetime.date, batch: EncodedBatch) -> float:
            """The durable day, and the size of the journal's two records (a stat
            between the calls, untimed)."""
            before = journal.stat().st_size
            start = time.perf_counter()
            durable.advance(date)
            middle = time.perf_counter()
            grown = journal.stat().st_size
            resumed = time.perf_counter()
            durable.ingest_encoded(batch)
            end = time.perf_counter()
            record_bytes[:] = [grown - before, journal.stat().st_size - grown]
            return (middle - start) + (end - resumed)

        def floor() -> None:
            """The journal's own I/O for the day just stepped: each of its records'
            bytes written at the end of a file and flushed (os.fsync), as the
            journal does, timed. A journaled day cannot cost less than the
            in-memory day plus this."""
            total = 0.0
            for size in record_bytes:
                payload = b"\0" * size
                start = time.perf_counter()
                os.write(floor_fd, payload)
                os.fsync(floor_fd)
                total += time.perf_counter() - start
            floors.append(total)

        def fsync() -> None:
            for _ in range(args.fsyncs):
                os.write(fd, record)
                start = time.perf_counter()
                os.fsync(fd)
                fsyncs.append(time.perf_counter() - start)

        gc.collect()
        try:
            for k in range(1, args.days + 1):
                date, batch = case.day(k), self.days[k - 1]
                turns = ["journaled", "memory", "fsync"]
                shift = k % 3  # each goes first every third day
                for turn in turns[shift:] + turns[:shift]:
                    if turn == "journaled":
                        journaled.append(journaled_step(date, batch))
                        floor()  # right after it: the same bytes to the same disk
                    elif turn == "memory":
                        in_memory.append(step(memory, date, batch))
                    else:
                        fsync()
        finally:
            os.close(fd)
            probe.unlink()
            os.close(floor_fd)
            (self.directory / "floor-probe").unlink()
        assert same_scores(durable.scores(), memory.scores()), "the engines disagree after days"
        o["day_journaled_ms"], o["day_memory_ms"] = ms(journaled), ms(in_memory)
        o["fsync_ms"] = ms(fsyncs)
        o["fsync_p10"], o["fsync_p90"] = (float(np.percentile(fsyncs, q)) * 1e3 for q in (10, 90))
        o["day_p99"] = float(np.percentile(journaled, 99)) * 1e3
        o["day_memory_p99"] = float(np.percentile(in_memory, 99)) * 1e3
        o["day"] = (o["day_journaled_ms"] - o["day_memory_ms"]) / o["fsync_ms"]
        o["journal_io_ms"] = ms(floors)
        o["record_kb"] = sum(record_bytes) / 1e3
        o["day_floor_ms"] = o["day_memory_ms"] + o["journal_io_ms"]
        o["day_floor"] = o["day_journaled_ms"] / o["day_floor_ms"]
        o["fsync_count"] = len(fsyncs)
        o["as_of"] = durable.as_of

    # -- 3: bytes on disk, and the checkpoint's time -------------------------------------
    def disk(self, engine: Engine) -> None:
        o = self.out
        checkpoints = []
        for _ in range(max(2, self.args.checkpoints)):
            checkpoints.append(timed(engine.checkpoint)[0])
        o["checkpoint_ms"] = checkpoints[0] * 1e3
        o["checkpoint_again_ms"] = ms(checkpoints[1:])
        o["checkpoint_again_n"] = len(checkpoints) - 1
        memory = engine.memory()
        o["live_events"], o["archived_events"] = memory["live_events"], memory["archived_events"]
        events = memory["live_events"] + memory["archived_events"]
        sizes = {}
        for name in sorted(os.listdir(self.directory)):
            sizes[name] = (self.directory / name).stat().st_size
        o["files"] = sizes
        o["bytes"] = sum(sizes.get(name, 0) for name in DATA_FILES) / events
        o["bytes_split"] = {name: sizes.get(name, 0) / events for name in DATA_FILES}
        path = self.directory / "records.sqlite"
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            o["change_rows"] = db.execute("SELECT count(*) FROM change_log").fetchone()[0]
            o["audit_rows"] = db.execute("SELECT count(*) FROM audit_log").fetchone()[0]
        finally:
            db.close()

    def all(self) -> dict[str, Any]:
        durable, memory = self.load()
        durable = self.reopen(durable)
        self.days_(durable, memory)
        del memory
        gc.collect()
        self.disk(durable)
        durable.close()
        return self.out


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------

ROWS = [
    # key, figure, goal, goal's value, whether higher is better (None: no goal)
    ("reopen", "reopen from a checkpoint vs read, encode and ingest the Parquet export", ">= 5x",
     5.0, True),
    ("reopen_floor", "reopen vs its floor: the snapshot mapped and its SHA-256", "–", None,
     None),
    ("day", "a journaled day's step over an in-memory day, in fsyncs", "<= 2 fsyncs", 2.0,
     False),
    ("day_floor", "a journaled day vs its floor: the in-memory day + the journal's own write "
     "and flush of its records", "–", None, None),
    ("bytes", "bytes on disk per live or archived event, after a checkpoint", "<= 20", 20.0,
     False),
    ("checkpoint_ms", "checkpoint after the days (ms)", "–", None, None),
    ("load", "first bulk load, new durable engine vs new in-memory engine", "–", None, None),
]  # fmt: skip


def _n(ms: float) -> str:
    """Milliseconds, to a tenth below 10, to two places below 1."""
    return f"{ms:.2f}" if ms < 1 else f"{ms:,.1f}" if ms < 10 else f"{ms:,.0f}"


def _mb(count: float) -> str:
    return f"{count / 1e6:,.0f} MB" if count >= 1e7 else f"{count / 1e6:,.1f} MB"


def _detail(key: str, o: dict[str, Any]) -> str:
    if key == "reopen":
        return (
            f"{_n(o['reopen_ms'])} ms vs {_n(o['parquet_ms'])} ms ({o['loaded_events']:,} "
            f"events; snapshot {_mb(o['snapshot_load_bytes'])}, Parquet "
            f"{_mb(o['export_bytes'])}); scores equal"
        )
    if key == "day":
        return (
            f"journaled {_n(o['day_journaled_ms'])} ms, in memory {_n(o['day_memory_ms'])} ms, "
            f"fsync {_n(o['fsync_ms'])} ms (p10 {_n(o['fsync_p10'])}, p90 "
            f"{_n(o['fsync_p90'])}, {o['fsync_count']:,} fsyncs); p99 day "
            f"{_n(o['day_p99'])} vs {_n(o['day_memory_p99'])} ms"
        )
    if key == "reopen_floor":
        return (
            f"{_n(o['reopen_ms'])} ms vs {_n(o['snapshot_read_ms'])} ms (medians); the "
            f"goal's 5x is a reopen in {_n(o['parquet_ms'] / 5)} ms; beside it, "
            f"{_mb(o['fresh_bytes'])} (the snapshot's size) written to fresh memory took "
            f"{_n(o['fresh_memory_ms'])} ms"
        )
    if key == "day_floor":
        return (
            f"journaled {_n(o['day_journaled_ms'])} ms vs {_n(o['day_floor_ms'])} ms = in memory "
            f"{_n(o['day_memory_ms'])} + the journal's two records ({o['record_kb']:,.0f} kB on "
            f"the last day) written and flushed {_n(o['journal_io_ms'])} ms (medians); the "
            f"goal's two fsyncs of 100 bytes: {_n(2 * o['fsync_ms'])} ms"
        )
    if key == "bytes":
        split = ", ".join(
            f"{name} {value:.2f}" for name, value in o["bytes_split"].items() if value
        )
        return (
            f"{split} ({o['live_events']:,} live + {o['archived_events']:,} archived; "
            f"{o['change_rows']:,} change-log rows, {o['audit_rows']:,} audit entries)"
        )
    if key == "checkpoint_ms":
        return (
            f"writes {_mb(o['files']['snapshot.iom'])}; again with the journal empty: "
            f"{_n(o['checkpoint_again_ms'])} ms (median of {o['checkpoint_again_n']}); after "
            f"the bulk load: {_n(o['checkpoint_load_ms'])} ms"
        )
    if key == "load":
        return (
            f"{_n(o['load_ms'])} ms vs {_n(o['load_memory_ms'])} ms (creating the directory "
            f"{_n(o['load_create_ms'])} ms; a journal of {_mb(o['journal_bytes'])}); first "
            f"round {_n(o['load_first_ms'])} vs {_n(o['load_memory_first_ms'])} ms"
        )
    return ""


def table(o: dict[str, Any]) -> str:
    lines = ["| figure | value | detail | goal | met |", "|---|---:|---|---|---|"]
    for key, what, goal, target, higher in ROWS:
        if key not in o:
            continue
        value = o[key]
        unit = {"reopen": "x", "load": "x", "day": " fsyncs", "bytes": " bytes", "day_floor": "x"}
        unit["reopen_floor"] = "x"
        unit = unit.get(key, " ms")
        shown = f"{value:,.0f}{unit}" if value >= 100 else f"{value:.2f}{unit}"
        if target is None:
            met = "–"
        else:
            met = "met" if (value >= target if higher else value <= target) else "**not met**"
        lines.append(f"| {what} | {shown} | {_detail(key, o)} | {goal} | {met} |")
    return "\n".join(lines)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nominals", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=20_000_000)
    parser.add_argument("--days", type=int, default=365, help="days stepped by both engines")
    parser.add_argument(
        "--per-day", type=int, default=None, help="events a day (default: 27,000 per 20M events)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds of the load and the reopen")
    parser.add_argument("--fsyncs", type=int, default=4, help="fsyncs timed after each day")
    parser.add_argument("--checkpoints", type=int, default=3, help="checkpoints after the days")
    parser.add_argument("--ascending-ids", action="store_true", help="load ids as generated")
    parser.add_argument(
        "--synthetic-codes",
        action="store_true",
        help="keep the synthetic mix's 109 offence codes (default: every code of the table)",
    )
    parser.add_argument("--text-dates", action="store_true", help="dates as text in the export")
    parser.add_argument(
        "--dir", default=None, help="where the engine directories and the export go (a new "
        "temporary directory inside it, removed at the end; default: the system's)"
    )  # fmt: skip
    parser.add_argument("--small", action="store_true", help="50,000 / 1,000,000 / 30 days")
    args = parser.parse_args(argv)
    if args.small:
        for name, value in SMALL.items():
            setattr(args, name, value)
    if args.per_day is None:  # about as many as a day's expiry: the window stays its size
        args.per_day = max(1, round(args.events * 27_000 / 20_000_000))
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    load, commit = os.getloadavg(), head_commit()
    started = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="iomscore-durable-", dir=args.dir))
    try:
        run = Run(args, root)
        figures = run.all()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ids = "ascending, as generated" if args.ascending_ids else "permuted: no particular order"
    codes = "the synthetic mix" if args.synthetic_codes else "spread over the table's codes"
    dates = "text" if args.text_dates else "a date column"
    print(
        f"\n{args.nominals:,} nominals, {figures['loaded_events']:,} events loaded at "
        f"{peers.AS_OF} (event ids {ids}; {run.codes_used:,} offence codes, {codes}; the "
        f"export's dates {dates}), then {args.days} days of {args.per_day:,} events: as_of "
        f"{figures['as_of']}. Directories in {root.parent} ({_filesystem(root.parent)}). "
        f"Commit {commit}, {time.perf_counter() - started:.0f} s, load average before "
        f"{load[0]:.2f}, after {os.getloadavg()[0]:.2f}.\n"
    )
    print(table(figures))
    return figures


def _filesystem(path: Path) -> str:
    """The file system type and device holding ``path`` (from /proc/mounts)."""
    try:
        mounts = [line.split() for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return "file system unknown"
    real = str(path.resolve())
    best = max(
        (m for m in mounts if real == m[1] or real.startswith(m[1].rstrip("/") + "/")),
        key=lambda m: len(m[1]),
        default=None,
    )
    return "file system unknown" if best is None else f"{best[2]} on {best[0]}"


if __name__ == "__main__":
    main()
