"""The ``iomscore`` command.

Sub-commands: ``score``, ``demo``, ``replay``, ``whatif``, ``explain``,
``forecast``, ``timeline``, ``chart``, ``weights`` (``build``, ``check``, ``diff``) and
``db`` (``init``, ``ingest``, ``retract``, ``advance``, ``reweight``,
``scores``, ``checkpoint``, ``verify``, ``info``, for interventions
``interventions``, ``end-intervention``, ``retract-interventions``,
``list-interventions``, for ASSET and OASys assessments ``assess``,
``retract-assessments``, ``list-assessments``, and for the IOM cohort ``owners``,
``decide``, ``selection``, ``odoc`` (the ODOC meeting packs): a durable engine
directory, see :meth:`iomscore.Engine.open`). ``demo --pack`` writes a synthetic
force's packs. ``score``, ``explain``, ``forecast`` and
``timeline`` take a file of assessments beside the events (``--assessments``,
scored under ``--assessment-table``, rule 10). Results go to stdout or ``--out``;
summaries, reports of changes, timings and progress go to stderr.

Exit status: 0 on success; 1 when ``weights check`` finds problems; 2 on bad
input, that is any :class:`~iomscore.errors.IomscoreError` (one line,
``iomscore: error: ...``, naming the file or option and, where there is one,
the line and field), and on usage errors (argparse). Any other exception is a
bug: it is not caught, so it shows its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import datetime
import io
import os
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np

from . import __version__, durable, records
from .assessments import COLUMNS as ASSESSMENT_COLUMNS
from .assessments import AssessmentBatch, AssessmentTable, encode_assessments
from .batch import EncodedBatch, RowLabel, encode_events
from .calendar import MAX_WINDOW_YEARS, day_number, from_day_number, window_start
from .cohort import (
    DECISION_COLUMNS,
    DECISION_OPTIONAL,
    DEFAULT_AREAS,
    DESELECT_REASONS,
    OWNERSHIP_COLUMNS,
    STRANDS,
    UNOWNED,
    SelectionTable,
    check_areas,
)
from .engine import Engine
from .errors import (
    EngineError,
    EventError,
    FileAccessError,
    IomscoreError,
    OptionError,
    RecordError,
    StateError,
)
from .eventfile import (
    check_encoding,
    check_unchanged,
    csv_line_label,
    file_state,
    parquet_row_label,
    read_events,
)
from .explanation import Explanation, Forecast, Timeline
from .interventions import AGENCIES
from .interventions import COLUMNS as INTERVENTION_COLUMNS
from .outfile import atomic_files, check_output
from .progress import Stages
from .provenance import METADATA_KEY, file_sha256, sidecar_path, to_json
from .reference import DEFAULT_THRESHOLDS
from .repair import repair_offences
from .results import BAND_NAMES, AssessReport, IngestReport, ScoreTable
from .weights import Weights

__all__ = ["main"]


class _Clock:
    """Stage timings for the summaries (seconds, wall clock)."""

    def __init__(self) -> None:
        self.stages: list[tuple[str, float]] = []
        self._last = time.perf_counter()

    def lap(self, stage: str) -> float:
        """Record the time since the last lap under ``stage``; returns it (seconds)."""
        now = time.perf_counter()
        seconds = now - self._last
        self.stages.append((stage, seconds))
        self._last = now
        return seconds

    def text(self) -> str:
        total = sum(t for _, t in self.stages)
        parts = [f"{name} {seconds * 1000:,.1f} ms" for name, seconds in self.stages]
        return "timings: " + ", ".join(parts) + f"; total {total * 1000:,.1f} ms"


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _load_weights(path: str | None) -> Weights:
    return Weights.default() if path is None else Weights.load(path)


def _load_assessment_table(path: str | None) -> AssessmentTable | None:
    """The assessment table of ``--assessment-table``; None (the engine's default, the
    shipped table) without it."""
    return None if path is None else AssessmentTable.load(path)


# The options that hold a date (argparse keeps their text): dest -> the option.
_DATE_OPTIONS = {
    "as_of": "--as-of",
    "start": "--from",
    "end": "--to",
    "ended": "--end",
    "active_on": "--active-on",
    "meeting": "--meeting",
    "previous": "--previous",
}


def _read_dates(args: argparse.Namespace) -> None:
    """Turn the text of the date options into dates; ``OptionError`` names the option."""
    from .calendar import parse_date

    for dest, option in _DATE_OPTIONS.items():
        text = getattr(args, dest, None)
        if text is None:
            continue
        try:
            setattr(args, dest, parse_date(text))
        except ValueError as exc:
            raise OptionError(f"{option}: {exc}") from None


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    """Stdout, or the file ``path``: written whole on success, or not at all (no partial file)."""
    if path is None:
        yield sys.stdout
        return
    with atomic_files(path) as (handle,):
        yield handle


def _check_out(args: argparse.Namespace, *inputs: tuple[str, str | None]) -> None:
    """Refuse ``--out`` before any work: an input file, a directory, or in a missing directory."""
    if getattr(args, "out", None) is not None:
        check_output(args.out, inputs)


def _read(args: argparse.Namespace, weights: Weights, stages: Stages) -> tuple[object, RowLabel]:
    """Read the events file (``--encoding``), repairing codes if ``--repair-codes``."""
    stages.begin("read")
    table, label = read_events(args.events, encoding=args.encoding)
    stages.begin("check")
    if args.repair_codes:
        table, repairs = repair_offences(table, weights, label)
        args.repairs = repairs
        if repairs:
            _err(f"--repair-codes: {len(repairs):,} offence spellings repaired:")
            for repair in repairs:
                _err(f"  {repair}")
        else:
            _err("--repair-codes: no offence code needed repair")
    return table, label


# -- assessments files (rule 10) ---------------------------------------------------------------
def _assessment_inputs(args: argparse.Namespace) -> tuple[tuple[str, str | None], ...]:
    """The assessments file and table of a command, as inputs ``--out`` may not name."""
    return (
        ("the assessments file", getattr(args, "assessments", None)),
        ("the assessment table", getattr(args, "assessment_table", None)),
    )


def _read_assessment_file(
    path: str, encoding: str, table: AssessmentTable
) -> tuple[object, RowLabel, AssessmentBatch]:
    """An assessments file (CSV, or Parquet), every row checked against ``table``: the
    columns, the namer of its rows (file lines) and the checked batch. The first
    fault is a ``RecordError`` naming the file line and field."""
    columns, label = _read_records(path, encoding, ASSESSMENT_COLUMNS, "assessments")
    return columns, label, encode_assessments(columns, table, label=label)


def _take_rows(columns: object, label: RowLabel, rows: np.ndarray) -> tuple[object, RowLabel]:
    """Some rows of a file's columns (a dict of lists, or an Arrow table), and a namer
    that still names each by its place in the file."""
    if isinstance(columns, dict):
        picked = rows.tolist()
        part: object = {name: [values[i] for i in picked] for name, values in columns.items()}
    else:
        part = columns.take(rows)  # type: ignore[attr-defined]
    return part, lambda row: label(int(rows[row]))


@dataclass(frozen=True)
class _Assessed:
    """What a command did with an assessments file: every row read (checked), the rows
    given to the engine (the others are dated after its as-of date) and its report."""

    batch: AssessmentBatch
    rows: np.ndarray
    report: AssessReport

    @property
    def read(self) -> int:
        return len(self.batch)

    @property
    def future(self) -> int:
        return len(self.batch) - int(self.rows.size)

    def has(self, nominal: int) -> tuple[bool, bool]:
        """Whether the file has a row of ``nominal``, and whether the engine took one
        (and so holds the nominal)."""
        mine = self.batch.nominal_id == nominal
        return bool(mine.any()), bool(mine[self.rows].any())

    def text(self) -> str:
        """One line, in the words of the events' report."""
        return str(dataclasses.replace(self.report, received=self.read, future=self.future))


def _assess_file(
    engine: Engine,
    path: str,
    encoding: str,
    *,
    future: str = "skip",
    replace: bool = False,
    user: str | None = None,
    reason: str | None = None,
) -> _Assessed:
    """Assess a file whole or not at all. Every row is checked first (a fault names its
    line, and nothing is taken); then, with ``future="skip"``, the rows dated after the
    engine's as-of date are left out (as score leaves out later events), and with
    ``"error"`` the first of them is the engine's error naming its line."""
    columns, label, batch = _read_assessment_file(path, encoding, engine.assessment_table)
    if future == "skip":
        rows = np.flatnonzero(batch.day <= day_number(engine.as_of))
    else:
        rows = np.arange(len(batch))
    part, part_label = _take_rows(columns, label, rows)
    report = engine.assess(part, replace=replace, label=part_label, user=user, reason=reason)
    return _Assessed(batch, rows, report)


def _band_summary(table: ScoreTable) -> str:
    counts = table.band_counts()
    banded = counts["LOW"] + counts["MEDIUM"] + counts["HIGH"]
    lines = [
        f"nominals scored: {len(table):,} (with an event or an assessment counting at "
        f"{table.as_of})",
        "bands: "
        + ", ".join(f"{name} {counts[name]:,}" for name in reversed(BAND_NAMES))
        + f"; banded {banded:,}",
        f"weights: {table.weights_name} sha256 {table.weights_sha256}",
    ]
    return "\n".join(lines)


# -- score ----------------------------------------------------------------------------
_PARQUET_SUFFIXES = (".parquet", ".pq")


def _cmd_score(args: argparse.Namespace) -> int:
    _check_out(
        args,
        ("the events file", args.events),
        ("the weight table", args.weights),
        *_assessment_inputs(args),
    )
    args.encoding = check_encoding(args.encoding)
    if args.assessments is None:
        return _score_once(args)
    names = ["read", "check", "ingest", "assess", "score", "write"]
    stages = Stages(names, quiet=args.quiet)
    try:
        clock = _Clock()
        weights = _load_weights(args.weights)
        assessment_table = _load_assessment_table(args.assessment_table)
        clock.lap("weights")
        table, label = _read(args, weights, stages)
        clock.lap("read")
        batch = encode_events(table, weights, label=label)
        clock.lap("check")
        stages.begin("ingest")
        engine = Engine(
            weights,
            args.as_of,
            window_years=args.window_years,
            assessment_table=assessment_table,
        )
        report = engine.ingest_encoded(batch, future="skip", label=label)
        clock.lap("ingest")
        stages.begin("assess")
        assessed = _assess_file(engine, args.assessments, args.encoding)
        clock.lap("assess")
        stages.begin("score")
        result = engine.scores()
        clock.lap("score")
        stages.begin("write")
        if args.out is None:
            result.write_csv(sys.stdout)
        else:
            counts = _score_counts(report, report.duplicates, result)
            metadata = _score_metadata(args, engine, counts, result, assessed)
            _write_scores(args.out, result, metadata)
        clock.lap("write")
    finally:
        stages.close()
    _err(str(report))
    _err(assessed.text())
    _err(_band_summary(result))
    _err(clock.text())
    return 0


def _score_once(args: argparse.Namespace) -> int:
    """``score`` without assessments: the file scored once (:mod:`iomscore.oneshot`),
    with no engine built. The input's SHA-256, for the output's provenance, is taken
    on a second thread while the file is read."""
    from .oneshot import score_events, score_file

    stages = Stages(["read", "check", "score", "write"], quiet=args.quiet)
    before = file_state(args.events)  # the file read and the file hashed are one
    digest = _Digest(args.events) if args.out is not None else None
    try:
        clock = _Clock()
        weights = _load_weights(args.weights)
        table_given = _load_assessment_table(args.assessment_table)
        settings = _ScoreSettings(
            weights,
            args.window_years,
            AssessmentTable.default() if table_given is None else table_given,
        )
        clock.lap("weights")
        if args.repair_codes:
            table, label = _read(args, weights, stages)
            shot = score_events(
                table,
                weights,
                args.as_of,
                window_years=args.window_years,
                label=label,
                stage=stages.begin,
            )
        else:
            shot = score_file(
                args.events,
                weights,
                args.as_of,
                encoding=args.encoding,
                window_years=args.window_years,
                stage=stages.begin,
            )
        if args.repair_codes:  # (score_file looks itself)
            check_unchanged(args.events, before)
        clock.lap("read, check and score")
        stages.begin("write")
        result = shot.scores
        if args.out is None:
            result.write_csv(sys.stdout)
        else:
            assert digest is not None
            counts = _score_counts(shot, 0, result)
            sha256 = digest.hexdigest()
            check_unchanged(args.events, before)
            metadata = _score_metadata(args, settings, counts, result, digest=sha256)
            _write_scores(args.out, result, metadata)
        clock.lap("write")
    finally:
        stages.close()
        if digest is not None:
            digest.stop()
    _err(str(shot))
    _err(_band_summary(result))
    _err(clock.text())
    return 0


@dataclass(frozen=True)
class _ScoreSettings:
    """What a score file's provenance names, for a score taken with no engine."""

    weights: Weights
    window_years: int
    assessment_table: AssessmentTable
    thresholds: tuple[int, int, int] = DEFAULT_THRESHOLDS


class _Digest:
    """A file's SHA-256, taken on a thread of its own (hashlib lets go of the GIL), a
    MiB at a time so that it can stop early when the command fails."""

    def __init__(self, path: str) -> None:
        import threading

        self._path = path
        self._value: str | None = None
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="iomscore-sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._value = file_sha256(self._path, self._stop)
        except BaseException as exc:  # raised in the command's thread, by hexdigest
            self._error = exc

    def stop(self) -> None:
        """Stop hashing (the command failed) and wait for the thread."""
        self._stop.set()
        self._thread.join()

    def hexdigest(self) -> str:
        self._thread.join()
        if isinstance(self._error, OSError):
            raise FileAccessError.from_os_error(self._error, Path(self._path), "events file")
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


def _score_counts(report: object, duplicates: int, result: ScoreTable) -> dict[str, object]:
    """The counts of a score file's provenance: an engine's IngestReport or a OneShot."""
    return {
        "events_read": report.received,  # type: ignore[attr-defined]
        "events_taken": report.taken,  # type: ignore[attr-defined]
        "events_before_window": report.expired,  # type: ignore[attr-defined]
        "events_after_as_of": report.future,  # type: ignore[attr-defined]
        "duplicate_events": duplicates,
        "nominals_scored": len(result),
        "bands": result.band_counts(),
    }


def _score_metadata(
    args: argparse.Namespace,
    engine: Engine | _ScoreSettings,
    counts: dict[str, object],
    result: ScoreTable,
    assessed: _Assessed | None = None,
    *,
    digest: str | None = None,
) -> dict[str, object]:
    """The provenance of a score file (see :mod:`iomscore.provenance`)."""
    repairs = getattr(args, "repairs", [])
    weights_file = "(shipped default)" if args.weights is None else os.path.basename(args.weights)
    table_file = (
        "(shipped default)"
        if args.assessment_table is None
        else os.path.basename(args.assessment_table)
    )
    metadata: dict[str, object] = {
        **_metadata_head("score", engine, result, weights_file, table_file),
        "input": _file_provenance(args.events, args.encoding, digest),
        "counts": counts,
        "offence_repairs": [{"text": r.text, "code": r.code, "rows": r.rows} for r in repairs],
    }
    if assessed is not None:
        metadata["assessments"] = {
            **_file_provenance(args.assessments, args.encoding),
            "read": assessed.read,
            "taken": assessed.report.taken,
            "duplicates": assessed.report.duplicates,
            "after_as_of": assessed.future,
        }
    return metadata


def _file_provenance(path: str, encoding: str, digest: str | None = None) -> dict[str, object]:
    """An input file's name, SHA-256 (``digest``, if taken already), format and (CSV)
    encoding."""
    parquet = path.lower().endswith(_PARQUET_SUFFIXES)
    return {
        "file": os.path.basename(path),
        "sha256": file_sha256(path) if digest is None else digest,
        "format": "parquet" if parquet else "csv",
        **({} if parquet else {"encoding": encoding}),
    }


def _metadata_head(
    command: str,
    engine: Engine | _ScoreSettings,
    result: ScoreTable,
    weights_file: str,
    assessment_table_file: str,
) -> dict[str, object]:
    """The provenance every score file starts with: version, command, date, window,
    thresholds, weight table and assessment table (rule 10)."""
    low, medium, high = engine.thresholds
    table = engine.assessment_table
    return {
        "iomscore_version": __version__,
        "command": command,
        "as_of": result.as_of.isoformat(),
        "window_years": engine.window_years,
        "thresholds_points": {"LOW": low, "MEDIUM": medium, "HIGH": high},
        "weights": {
            "name": engine.weights.name,
            "sha256": engine.weights.sha256,
            "file": weights_file,
        },
        "assessment_table": {
            "name": table.name,
            "sha256": table.sha256,
            "file": assessment_table_file,
        },
    }


def _write_scores(out: str, result: ScoreTable, metadata: dict[str, object]) -> None:
    """``nominal_id,score,band`` as Parquet (metadata inside) or CSV (and ``OUT.meta.json``)."""
    text = to_json(metadata)
    if out.lower().endswith(_PARQUET_SUFFIXES):
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table(
            {
                "nominal_id": pa.array(result.nominal_id, pa.int64()),
                "score": pa.array(result.score, pa.int64()),
                "band": pa.array([BAND_NAMES[b] for b in range(4)])
                .take(pa.array(result.band, pa.int8()))
                .dictionary_encode(),
            }
        ).replace_schema_metadata({METADATA_KEY: text})
        with atomic_files(out, binary=True) as (handle,):
            pq.write_table(table, handle)
        return
    with atomic_files(out, sidecar_path(out)) as (handle, meta):
        result.write_csv(handle)
        meta.write(text)


# -- demo -----------------------------------------------------------------------------
def _cmd_demo(args: argparse.Namespace) -> int:
    from . import _kernels, synth

    _check_demo_sizes(args, synth.NOMINAL_ID_RANGE)
    _check_out(args, ("the weight table", args.weights))
    pack_out = None if args.pack is None else _check_pack_out(args.pack)
    clock = _Clock()
    stages = Stages(
        [
            "load kernels",
            "generate",
            "ingest",
            "score",
            "matrix",
            "what-if",
            "assess",
            "interventions",
            "advance",
            *(["cohort", "packs"] if pack_out is not None else []),
        ],
        quiet=args.quiet,
    )
    packed: list[str] = []
    try:
        stages.begin("load kernels")
        _kernels.warm_up()
        clock.lap("load kernels")
        weights = _load_weights(args.weights)
        clock.lap("weights")
        stages.begin("generate")
        cohort = synth.cohort(args.nominals, args.events, as_of=args.as_of, seed=args.seed)
        assessments = synth.assessments(cohort, seed=args.seed)
        interventions = synth.interventions(cohort, seed=args.seed)
        clock.lap("generate")
        stages.begin("ingest")
        engine = Engine(weights, args.as_of)
        report = engine.ingest(cohort)
        clock.lap("ingest")
        stages.begin("score")
        result = engine.scores()
        clock.lap("score")
        stages.begin("matrix")
        engine.matrix()
        clock.lap("matrix")
        stages.begin("what-if")
        full = engine.what_if(_scaled(weights, 2))
        clock.lap("what-if (x2 table)")
        # after the scores, the bands and the what-if above (which stay those of the
        # events): the assessments' own line reports what they change
        stages.begin("assess")
        assessed = engine.assess(assessments)
        assess_seconds = clock.lap("assess")
        stages.begin("interventions")
        recorded = engine.record_interventions(interventions)
        clock.lap("interventions")
        stages.begin("advance")
        engine.advance(args.as_of + datetime.timedelta(days=1))
        clock.lap("advance 1 day")
        if pack_out is not None:
            packed = _demo_packs(engine, cohort, args.seed, pack_out, stages, clock)
    finally:
        stages.close()
    _err(
        f"synthetic cohort: {args.nominals:,} nominals, {len(cohort):,} events "
        f"(seed {args.seed}, as of {args.as_of})"
    )
    _err(str(report))
    _err(_band_summary(result))
    _err(f"what-if every weight doubled: {len(full.changes):,} nominals would change band")
    _err(_demo_assessments(assessments, assessed, assess_seconds))
    _err(_demo_interventions(interventions, recorded, args.as_of))
    memory = engine.memory()
    _err(
        f"memory: {memory['total_bytes'] / 2**20:,.1f} MiB, "
        f"{memory['bytes_per_event']:.1f} bytes per event"
    )
    for line in packed:
        _err(line)
    _err(clock.text())
    if args.out:
        with _output(args.out) as out:
            result.write_csv(out)
    else:
        print("top 10 nominals (synthetic ids):")
        for nominal, points, band in result.rows()[:10]:
            print(f"  {nominal:>12}  {points:>6}  {band}")
    return 0


def _demo_packs(
    engine: Engine, cohort: object, seed: int, out: Path, stages: Stages, clock: _Clock
) -> list[str]:
    """``demo --pack``: the synthetic force's cohort (owners, a year of monthly ODOC
    decisions up to the engine's as-of date), then every area's pack (and the
    unowned's) for the meeting on as-of since the one 28 days before, written under
    ``out``; returns the lines to report."""
    from . import synth
    from .pack import build_packs

    stages.begin("cohort")
    owners = synth.ownership(cohort, seed=seed, areas=engine.areas)  # type: ignore[arg-type]
    owned = engine.record_owners(owners)
    decided = synth.decisions(
        engine.scores(), as_of=engine.as_of, seed=seed, band=engine.selection_band
    )
    taken = engine.decide(decided)
    cohort_seconds = clock.lap("owners and decisions")
    stages.begin("packs")
    meeting = engine.as_of
    previous = meeting - datetime.timedelta(days=28)
    packs = build_packs(engine, meeting, previous)
    build_seconds = clock.lap("build packs")
    written = _write_packs(packs, out)
    clock.lap("write packs")
    charts = sum(len(pack.charts) for pack in packs.values())
    selections = int(np.count_nonzero(decided["action"] == "select"))
    transfers = owned - len(np.unique(owners["nominal_id"]))
    per_chart = (
        f", {build_seconds / charts * 1000:,.2f} ms a nominal chart at most" if charts else ""
    )
    return [
        f"cohort: {owned:,} ownership records ({transfers:,} transfers) in "
        f"{len(engine.areas)} areas; {taken:,} ODOC decisions over a year "
        f"({selections:,} selections, {taken - selections:,} de-selections), "
        f"{len(engine.selection()):,} nominals selected at {meeting}; "
        f"{cohort_seconds * 1000:,.1f} ms",
        *written,
        f"packs: {len(packs)} (every area and {UNOWNED}) for the meeting of {meeting} "
        f"(previous {previous}) written to {out}/<area>/index.html and five CSVs; built "
        f"in {build_seconds:,.2f} s with {charts:,} charts{per_chart}",
    ]


def _demo_assessments(columns: dict[str, np.ndarray], report: AssessReport, seconds: float) -> str:
    """The demo's line on the synthetic assessments, taken after the events were scored:
    how many of each tool, for how many nominals, taken at what rate, and the band
    changes they caused."""
    tools = columns["tool"]
    nominals = np.unique(columns["nominal_id"]).size
    rate = f"{report.taken / seconds:,.0f} a second" if seconds > 0 else "no time"
    return (
        f"assessments, then: {report.taken:,} taken (OASys {np.count_nonzero(tools == 'oasys'):,}, "
        f"ASSET {np.count_nonzero(tools == 'asset'):,}) for {nominals:,} nominals, "
        f"{rate}; {len(report.changes):,} band changes"
    )


def _demo_interventions(columns: dict[str, np.ndarray], recorded: int, as_of: datetime.date) -> str:
    """The demo's line on the synthetic interventions: how many, for how many nominals,
    how many active at as_of, and the commonest kinds."""
    day = np.datetime64(as_of, "D")
    active = (columns["start"] <= day) & (np.isnat(columns["end"]) | (columns["end"] >= day))
    kinds, counts = np.unique(columns["kind"], return_counts=True)
    pairs = sorted(zip(counts.tolist(), kinds.tolist(), strict=True), reverse=True)
    top = ", ".join(f"{kind} {count:,}" for count, kind in pairs[:3])
    return (
        f"interventions: {recorded:,} recorded for {np.unique(columns['nominal_id']).size:,} "
        f"nominals, {int(active.sum()):,} active at {as_of}; most often {top}"
    )


def _check_demo_sizes(args: argparse.Namespace, id_range: tuple[int, int]) -> None:
    """The synthetic cohort's sizes and seed, as :func:`iomscore.synth.cohort` needs them."""
    for option, value in (("--nominals", args.nominals), ("--events", args.events)):
        if value < 0:
            raise OptionError(f"{option} must be >= 0, got {value}")
    if args.seed < 0:
        raise OptionError(f"--seed must be >= 0, got {args.seed}")
    most = id_range[1] - id_range[0]
    if args.nominals > most:
        raise OptionError(f"--nominals must be at most {most:,}, got {args.nominals:,}")
    if args.events and not args.nominals:
        raise OptionError("--events > 0 needs --nominals >= 1")


def _scaled(weights: Weights, factor: int) -> Weights:
    points = np.minimum(weights.points * factor, Weights.MAX_POINTS)
    return Weights(weights.datasets, weights.offences, points, name=f"{weights.name} x{factor}")


# -- replay ---------------------------------------------------------------------------
def _cmd_replay(args: argparse.Namespace) -> int:
    from .replay import replay

    _check_out(args, ("the events file", args.events), ("the weight table", args.weights))
    args.encoding = check_encoding(args.encoding)
    if args.end < args.start:
        raise OptionError(f"--to {args.end} is before --from {args.start}")
    stages = Stages(["read", "check", "replay"], quiet=args.quiet)
    try:
        weights = _load_weights(args.weights)
        table, label = _read(args, weights, stages)
        batch = encode_events(table, weights, label=label)
        stages.begin("replay")

        def progress(text: str) -> None:
            stages.note(text.removeprefix("replay: "))
            if args.progress:
                _err(text)

        with _output(args.out) as out:
            summary = replay(
                batch,
                weights,
                args.start,
                args.end,
                out,
                window_years=args.window_years,
                progress=progress,
            )
    finally:
        stages.close()
    _err(summary)
    return 0


# -- whatif ---------------------------------------------------------------------------
def _cmd_whatif(args: argparse.Namespace) -> int:
    _check_out(
        args,
        ("the events file", args.events),
        ("the weight table (--weights)", args.weights),
        ("the new weight table (--new-weights)", args.new_weights),
    )
    args.encoding = check_encoding(args.encoding)
    clock = _Clock()
    stages = Stages(["read", "check", "ingest", "what-if", "write"], quiet=args.quiet)
    try:
        old = _load_weights(args.weights)
        new = Weights.load(args.new_weights)
        table, label = _read(args, old, stages)
        batch = encode_events(table, old, label=label)
        stages.begin("ingest")
        engine = Engine(old, args.as_of, window_years=args.window_years)
        engine.ingest_encoded(batch, future="skip", label=label)
        clock.lap("ingest")
        stages.begin("what-if")
        impact = engine.what_if(new)
        clock.lap("what-if")
        stages.begin("write")
        changes = impact.changes
        if args.out:
            with _output(args.out) as handle:
                handle.write("nominal_id,old_band,new_band,score\n")
                for nominal, old_band, new_band, points in changes.rows():
                    handle.write(f"{nominal},{old_band},{new_band},{points}\n")
    finally:
        stages.close()
    print(
        f"what-if: {old.name} ({old.short_hash()}) -> {new.name} ({new.short_hash()}) "
        f"at {args.as_of}"
    )
    print(impact.transition_text())
    print(
        "score changes (points): " + ", ".join(f"{k} {v:,.6g}" for k, v in impact.summary().items())
    )
    if args.out:
        print(f"{len(changes):,} nominals change band: written to {args.out}")
    else:
        print(f"{len(changes):,} nominals change band (use --out FILE to list them)")
    _err(clock.text())
    return 0


# -- explain, forecast, timeline (rules 7-9) ------------------------------------------------
def _check_window_years(args: argparse.Namespace) -> None:
    """``--window-years`` as the engine takes it, checked before any work."""
    if not 1 <= args.window_years <= MAX_WINDOW_YEARS:
        raise OptionError(
            f"--window-years must be from 1 to {MAX_WINDOW_YEARS}, got {args.window_years}"
        )


def _check_date_span(option: str, date: datetime.date, back: int, ahead: int) -> None:
    """Refuse a date whose windows reach outside the years 1 to 9999: ``back`` years
    before it (the window's start) or ``ahead`` years after it (the expiry, rule 7,
    of an event dated on it)."""
    if date.year - back < 1:
        raise OptionError(f"{option} {date}: the {back} years before it start before the year 1")
    if date.year + ahead > 9999:
        raise OptionError(
            f"{option} {date}: an event dated on it stops counting after the year 9999 "
            f"({ahead} years later)"
        )


def _check_nominal(args: argparse.Namespace) -> None:
    if getattr(args, "nominal", None) is None:
        return
    if not 0 <= args.nominal < 2**63:
        raise OptionError(f"--nominal must be a nominal_id from 0 to 2**63 - 1, got {args.nominal}")


def _counted_rows(batch: EncodedBatch, nominal: int, first: int, last: int) -> tuple[bool, bool]:
    """Whether the batch has rows of ``nominal``, and whether one is dated in the
    days ``(first, last]`` (day numbers)."""
    mine = batch.day[batch.nominal_id == nominal]
    return bool(mine.size), bool(np.any((mine > first) & (mine <= last)))


# The options of explain, forecast and timeline that go with an events file, not with
# --db (whose directory has its own date, table and window): dest -> the option.
_FILE_OPTIONS = {
    "as_of": "--as-of",
    "weights": "--weights",
    "window_years": "--window-years",
    "encoding": "--encoding",
    "repair_codes": "--repair-codes",
    "assessments": "--assessments",
    "assessment_table": "--assessment-table",
}


def _check_source(args: argparse.Namespace) -> None:
    """Exactly one of EVENTS and ``--db``; with ``--db``, none of the file's options.
    With EVENTS, the defaults of the options left unset (None, to tell them apart)."""
    if (args.events is None) == (args.db is None):
        both = ", not both" if args.events is not None else ""
        raise OptionError(f"{args.command}: give an events file EVENTS or --db DIR{both}")
    if args.db is not None:
        given = [
            o for dest, o in _FILE_OPTIONS.items() if getattr(args, dest, None) not in (None, False)
        ]
        if given:
            raise OptionError(
                f"{', '.join(given)}: not taken with --db: the directory {args.db} has its "
                "own as-of date, weight table, window, assessments and assessment table "
                "(change them with iomscore db advance, db reweight and db assess)"
            )
        return
    if "as_of" in vars(args) and args.as_of is None:
        raise OptionError(f"{args.command}: --as-of is required with an events file")
    args.window_years = 2 if args.window_years is None else args.window_years
    args.encoding = "utf-8" if args.encoding is None else args.encoding


def _prepare(args: argparse.Namespace) -> None:
    """The checks every command of this section makes before any work."""
    _check_source(args)
    if args.db is not None:
        _check_db_out(args, args.db)
        _check_nominal(args)
        return
    _check_out(
        args,
        ("the events file", args.events),
        ("the weight table", args.weights),
        *_assessment_inputs(args),
    )
    args.encoding = check_encoding(args.encoding)
    _check_window_years(args)
    _check_nominal(args)
    if getattr(args, "as_of", None) is not None:
        _check_date_span("--as-of", args.as_of, args.window_years, args.window_years)


def _cmd_explain(args: argparse.Namespace) -> int:
    _prepare(args)
    if args.db is not None:
        return _db_explain(args)
    stages = Stages(["read", "check", "ingest", "explain", "write"], quiet=args.quiet)
    try:
        weights = _load_weights(args.weights)
        table, label = _read(args, weights, stages)
        batch = encode_events(table, weights, label=label)
        stages.begin("ingest")
        engine, _, assessed = _file_engine(args, weights, batch, label)
        stages.begin("explain")
        first = day_number(window_start(args.as_of, args.window_years))
        in_file, counted = _counted_rows(batch, args.nominal, first, day_number(args.as_of))
        if assessed is not None:
            in_assessments, held = assessed.has(args.nominal)
            in_file, counted = in_file or in_assessments, counted or held
        if in_file and not counted:
            # the engine holds no nominal without a counting event or an assessment
            # taken: none of its events count at --as-of (rules 3 and 4), and it has no
            # assessment dated up to then, so the table is empty
            explanation = _no_events_explained(args.nominal, engine)
        else:  # held by the engine; a nominal not in the file is its EngineError
            explanation = engine.explain(args.nominal)
        stages.begin("write")
        with _output(args.out) as out:
            explanation.write_csv(out)
    finally:
        stages.close()
    _err(explanation.summary())
    return 0


def _file_engine(
    args: argparse.Namespace, weights: Weights, batch: EncodedBatch, label: RowLabel
) -> tuple[Engine, IngestReport, _Assessed | None]:
    """An engine at ``--as-of`` (window ``--window-years``, ``--assessment-table``) that
    took the events, then the ``--assessments``, of the files dated up to then; its
    report on the events, and on the assessments if given."""
    engine = Engine(
        weights,
        args.as_of,
        window_years=args.window_years,
        assessment_table=_load_assessment_table(args.assessment_table),
    )
    report = engine.ingest_encoded(batch, future="skip", label=label)
    assessed = None
    if args.assessments is not None:
        assessed = _assess_file(engine, args.assessments, args.encoding)
    return engine, report, assessed


def _no_events_explained(nominal: int, engine: Engine) -> Explanation:
    """The explanation of a nominal with no counting event: no rows, 0 points, NONE."""
    weights = engine.weights
    no_dates = np.empty(0, dtype="datetime64[D]")
    return Explanation(
        nominal_id=nominal,
        as_of=engine.as_of,
        score=0,
        band=BAND_NAMES[0],
        weights_name=weights.name,
        weights_sha256=weights.sha256,
        datasets=weights.datasets,
        event_id=np.empty(0, dtype=np.int64),
        dataset=np.empty(0, dtype=object),
        offence=np.empty(0, dtype=object),
        description=np.empty(0, dtype=object),
        date=no_dates,
        points=np.empty(0, dtype=np.int64),
        expires=no_dates,
    )


# The horizons of the forecast's summary (days after --as-of).
_FORECAST_DAYS = (30, 90)


def _cmd_forecast(args: argparse.Namespace) -> int:
    _prepare(args)
    if args.db is None and args.area is not None:
        raise OptionError(
            f"--area {args.area}: only with --db DIR (an events file has no owners; "
            "record them with iomscore db owners)"
        )
    if args.db is not None:
        return _db_forecast(args)
    stages = Stages(["read", "check", "ingest", "forecast", "write"], quiet=args.quiet)
    try:
        weights = _load_weights(args.weights)
        table, label = _read(args, weights, stages)
        batch = encode_events(table, weights, label=label)
        stages.begin("ingest")
        engine, report, assessed = _file_engine(args, weights, batch, label)
        stages.begin("forecast")
        forecast = engine.forecast()
        assert isinstance(forecast, Forecast)
        stages.begin("write")
        with _output(args.out) as out:
            forecast.write_csv(out)
    finally:
        stages.close()
    _err(str(report))
    if assessed is not None:
        _err(assessed.text())
    _err(_forecast_summary(forecast))
    return 0


def _forecast_summary(forecast: Forecast) -> str:
    """Banded nominals per band, and how many fall a band (and leave every band) soon."""
    counts = np.bincount(forecast.band, minlength=len(BAND_NAMES))
    as_of = np.datetime64(forecast.as_of, "D")
    soon = []
    for days in _FORECAST_DAYS:
        last = as_of + np.timedelta64(days, "D")
        falls = int(np.count_nonzero(forecast.band_falls_on <= last))
        leave = int(np.count_nonzero(forecast.none_on <= last))
        soon.append(f"within {days} days {falls:,} fall a band, {leave:,} leave every band")
    return (
        f"banded nominals at {forecast.as_of}: {len(forecast):,} ("
        + ", ".join(f"{BAND_NAMES[b]} {counts[b]:,}" for b in range(len(BAND_NAMES) - 1, 0, -1))
        + "); if no new event comes, "
        + "; ".join(soon)
    )


def _history_years(start: datetime.date, end: datetime.date, window_years: int) -> int:
    """Years of history to keep for a replay from ``start`` to ``end`` to cover ``start``:
    the whole years between them, plus one, so that ``start`` is at or after
    ``Engine.history_start`` at ``end``."""
    years = end.year - start.year + 1
    if years > MAX_WINDOW_YEARS:
        raise OptionError(
            f"--from {start} is too far before --to {end}: a timeline covers at most "
            f"{MAX_WINDOW_YEARS - 1} years"
        )
    _check_date_span("--from", start, window_years, 0)
    _check_date_span("--to", end, window_years + years, window_years)
    return years


def _cmd_timeline(args: argparse.Namespace) -> int:
    if args.end < args.start:
        raise OptionError(f"--from {args.start} is after --to {args.end}")
    _prepare(args)
    if args.db is not None:
        return _db_timeline(args)
    years = _history_years(args.start, args.end, args.window_years)
    stages = Stages(["read", "check", "replay", "timeline", "write"], quiet=args.quiet)
    try:
        weights = _load_weights(args.weights)
        assessment_table = _load_assessment_table(args.assessment_table)
        table, label = _read(args, weights, stages)
        batch = encode_events(table, weights, label=label)
        assessments = None
        if args.assessments is not None:
            assessments = _read_assessment_file(
                args.assessments,
                args.encoding,
                AssessmentTable.default() if assessment_table is None else assessment_table,
            )
        stages.begin("replay")
        engine = _replay_to(
            batch,
            weights,
            label,
            args.start,
            args.end,
            args.window_years,
            years,
            assessments=assessments,
            assessment_table=assessment_table,
        )
        stages.begin("timeline")
        first = day_number(window_start(args.start, args.window_years))
        in_file, counted = _counted_rows(batch, args.nominal, first, day_number(args.end))
        if assessments is not None:
            checked = assessments[2]
            mine = checked.day[checked.nominal_id == args.nominal]
            in_file = in_file or mine.size > 0
            # one dated up to --to makes the engine hold the nominal
            counted = counted or bool(np.any(mine <= day_number(args.end)))
        if in_file and not counted:
            # no event of the nominal counts on any date from --from to --to, it has no
            # assessment dated up to --to, and the engine holds no nominal without a
            # counting event or an assessment
            timeline = Timeline(
                nominal_id=args.nominal,
                weights_name=weights.name,
                weights_sha256=weights.sha256,
                date=np.array([args.start], dtype="datetime64[D]"),
                score=np.zeros(1, dtype=np.int64),
                band=np.zeros(1, dtype=np.int8),
            )
        else:  # held by the engine; a nominal not in the file is its EngineError
            timeline = engine.timeline(args.nominal, args.start, args.end)
        stages.begin("write")
        with _output(args.out) as out:
            timeline.write_csv(out)
    finally:
        stages.close()
    _err(_timeline_summary(timeline, args.start, args.end))
    return 0


def _replay_to(
    batch: EncodedBatch,
    weights: Weights,
    label: RowLabel,
    start: datetime.date,
    end: datetime.date,
    window_years: int,
    history_years: int,
    *,
    assessments: tuple[object, RowLabel, AssessmentBatch] | None = None,
    assessment_table: AssessmentTable | None = None,
) -> Engine:
    """An engine at ``end`` that has seen every event of the batch dated up to ``end``
    enter on its date and leave the window through ``advance``, into the archive.

    It starts at ``start`` holding the events dated up to then, and advances in
    steps shorter than a window (365 * window_years - 1 days), taking after each
    step the events dated since the last: every one of them is inside the window
    on the step's date, so none is dropped as before the window. The assessments
    (a file's columns, row namer and checked batch; under ``assessment_table``)
    are taken in the same steps, each once the engine has reached its date.
    """
    order = np.argsort(batch.day, kind="stable")
    days = batch.day[order]

    def subset(rows: np.ndarray) -> tuple[EncodedBatch, RowLabel]:
        # an error names the row's line in the file, not its place in the subset
        return batch.take(rows), lambda row: label(int(rows[row]))

    if assessments is not None:
        assessment_order = np.argsort(assessments[2].day, kind="stable")
        assessment_days = assessments[2].day[assessment_order]
    taken = 0

    def assess_up_to(engine: Engine, day: int) -> None:
        nonlocal taken
        if assessments is None:
            return
        stop = int(np.searchsorted(assessment_days, day, side="right"))
        if stop > taken:
            part, part_label = _take_rows(
                assessments[0], assessments[1], assessment_order[taken:stop]
            )
            engine.assess(part, label=part_label)
        taken = stop

    engine = Engine(
        weights,
        start,
        window_years=window_years,
        history_years=history_years,
        assessment_table=assessment_table,
    )
    cut = int(np.searchsorted(days, day_number(start), side="right"))
    part, part_label = subset(order[:cut])
    engine.ingest_encoded(part, future="skip", label=part_label)
    assess_up_to(engine, day_number(start))
    step = 365 * window_years - 1
    day, last = day_number(start), day_number(end)
    while day < last:
        day = min(day + step, last)
        engine.advance(from_day_number(day))
        stop = int(np.searchsorted(days, day, side="right"))
        part, part_label = subset(order[cut:stop])
        engine.ingest_encoded(part, label=part_label)
        assess_up_to(engine, day)
        cut = stop
    return engine


def _timeline_summary(timeline: Timeline, start: datetime.date, end: datetime.date) -> str:
    """The score and band at both ends, and how often the score and band changed."""
    first, last = timeline.rows()[0], timeline.rows()[-1]
    band_changes = int(np.count_nonzero(timeline.band[1:] != timeline.band[:-1]))
    return (
        f"nominal {timeline.nominal_id}: {first[1]:,} points, {first[2]} at {start}; "
        f"{last[1]:,} points, {last[2]} at {end}; {len(timeline) - 1:,} score changes, "
        f"{band_changes:,} band changes; weights {timeline.weights_name} "
        f"{timeline.weights_sha256[:12]}"
    )


# -- db: a durable engine directory (Engine.open) --------------------------------------------
@contextlib.contextmanager
def _open_db(directory: str, *, readonly: bool = False) -> Iterator[Engine]:
    """The engine directory, opened for writing (or ``readonly``) and closed on leaving.

    A journal whose last record was written only in part (its call never
    returned) is reported on one line of stderr rather than as a Python warning.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", durable.TornRecordWarning)
        engine = Engine.open(directory, readonly=readonly)
    for warning in caught:
        if issubclass(warning.category, durable.TornRecordWarning):
            _err(f"iomscore: warning: {warning.message}")
        else:  # pragma: no cover - not ours: passed on as it came
            warnings.warn_explicit(
                warning.message, warning.category, warning.filename, warning.lineno
            )
    with engine:
        yield engine


def _check_db_out(args: argparse.Namespace, directory: str) -> None:
    """``--out`` as :func:`_check_out` takes it, and not inside the engine directory."""
    _check_out(args)
    if getattr(args, "out", None) is None:
        return
    folder = os.path.realpath(os.path.dirname(os.path.abspath(args.out)))
    if folder == os.path.realpath(directory):
        raise OptionError(
            f"--out {args.out}: this is inside the engine directory {directory} "
            "(choose a file elsewhere)"
        )


def _db_summary(directory: str, engine: Engine) -> str:
    """One line: the directory's date, events and weight table."""
    archived = int(engine.memory()["archived_events"])
    return (
        f"{directory}: as of {engine.as_of}, {len(engine):,} live events, {archived:,} archived; "
        f"weights {engine.weights.name} {engine.weights.short_hash()}"
    )


def _cmd_db_init(args: argparse.Namespace) -> int:
    _check_window_years(args)
    if not 0 <= args.history_years <= MAX_WINDOW_YEARS:
        raise OptionError(
            f"--history-years must be from 0 to {MAX_WINDOW_YEARS}, got {args.history_years}"
        )
    _check_date_span(
        "--as-of", args.as_of, args.window_years + args.history_years, args.window_years
    )
    areas = _read_areas(args.areas)
    weights = _load_weights(args.weights)
    assessment_table = _load_assessment_table(args.assessment_table)
    with Engine.open(
        args.directory,
        weights=weights,
        as_of=args.as_of,
        create=True,
        window_years=args.window_years,
        history_years=args.history_years,
        assessment_table=assessment_table,
        areas=areas,
        selection_band=args.selection_band,
    ) as engine:
        summary = _db_summary(args.directory, engine)
        years = f"window {engine.window_years} years, history {engine.history_years} years"
        table = engine.assessment_table
        cohort = f"areas {', '.join(engine.areas)}; candidates from {engine.selection_band} up"
    _err(f"created {summary}; {years}; {cohort}; assessment table {table.name} {table.sha256[:12]}")
    return 0


def _cmd_db_ingest(args: argparse.Namespace) -> int:
    args.encoding = check_encoding(args.encoding)
    clock = _Clock()
    stages = Stages(["open", "read", "check", "ingest"], quiet=args.quiet)
    try:
        stages.begin("open")
        with _open_db(args.directory) as engine:
            clock.lap("open")
            table, label = _read(args, engine.weights, stages)
            clock.lap("read")
            batch = encode_events(table, engine.weights, label=label)
            clock.lap("check")
            stages.begin("ingest")
            report = engine.ingest_encoded(
                batch,
                replace=args.replace,
                future=args.future,
                label=label,
                user=args.user,
                reason=args.reason,
            )
            clock.lap("ingest")
            summary = _db_summary(args.directory, engine)
    finally:
        stages.close()
    _err(str(report))
    _err(summary)
    _err(clock.text())
    return 0


# An event id in an ids file: digits, optionally a point and zeros (as the loader takes text).
_ID_TEXT = re.compile(r"([0-9]+)(?:\.0*)?")


def _read_ids(
    path: str, column: str = "event_id", error: type[EventError] = EventError
) -> np.ndarray:
    """The ids of an ids file: one a line, blank lines skipped, and a first line
    ``column`` (``event_id``) taken as a header. A bad line is an ``error`` naming it."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise FileAccessError.from_os_error(exc, path, "ids file") from None
    name = Path(path).name
    ids: list[int] = []
    first = True
    for number, raw in enumerate(data.split(b"\n"), 1):
        try:
            value = raw.decode("utf-8").removeprefix("\ufeff").strip()
        except UnicodeDecodeError:
            raise error(f"{name} line {number}: not UTF-8 text", field=column) from None
        if not value:
            continue
        if first and value == column:
            first = False
            continue
        first = False
        match = _ID_TEXT.fullmatch(value)
        if match is None or int(match.group(1)) >= 2**63:
            what = column.removesuffix("_id")
            raise error(
                f"{name} line {number}: {value[:40]!r} is not an {what} id "
                "(a whole number from 0 to 2**63 - 1)",
                row=number - 1,
                field=column,
            )
        ids.append(int(match.group(1)))
    return np.array(ids, dtype=np.int64)


def _cmd_db_retract(args: argparse.Namespace) -> int:
    ids = _read_ids(args.ids)
    with _open_db(args.directory) as engine:
        report = engine.retract(ids, user=args.user, reason=args.reason)
        summary = _db_summary(args.directory, engine)
    _err(f"{len(ids):,} ids read from {args.ids}: {report}")
    _err(summary)
    return 0


def _cmd_db_advance(args: argparse.Namespace) -> int:
    with _open_db(args.directory) as engine:
        before = engine.as_of
        report = engine.advance(args.end, user=args.user, reason=args.reason)
        summary = _db_summary(args.directory, engine)
    _err(
        f"advanced from {before} to {report.as_of}: {report.expired:,} events left the "
        f"window; {len(report.changes):,} band changes"
    )
    _err(summary)
    return 0


def _cmd_db_reweight(args: argparse.Namespace) -> int:
    if args.table is None and args.assessment_table is None:
        raise OptionError(
            "db reweight: give a new weight table FILE, --assessment-table T, or both"
        )
    new = None if args.table is None else Weights.load(args.table)
    new_table = _load_assessment_table(args.assessment_table)
    with _open_db(args.directory) as engine:
        old, old_table = engine.weights, engine.assessment_table
        report = engine.reweight(
            new, assessment_table=new_table, user=args.user, reason=args.reason
        )
        summary = _db_summary(args.directory, engine)
    parts = []
    if new is not None:
        parts.append(
            f"{old.name} ({old.short_hash()}) -> {report.weights_name} "
            f"({report.weights_sha256[:12]}): {report.changed_kinds:,} entries changed, "
            f"rescore {report.mode}"
        )
    if new_table is not None:
        parts.append(
            f"assessment table {old_table.name} ({old_table.sha256[:12]}) -> "
            f"{new_table.name} ({new_table.sha256[:12]})"
        )
    _err(f"reweighted: {'; '.join(parts)}; {len(report.changes):,} band changes")
    _err(summary)
    return 0


# -- db: assessments (rule 10) ----------------------------------------------------------------
#: The columns ``db list-assessments`` writes.
ASSESSMENT_LISTED_COLUMNS = (
    "assessment_id",
    "tool",
    "score",
    "date",
    "points",
    "status",
    "expires",
)


def _cmd_db_assess(args: argparse.Namespace) -> int:
    encoding = check_encoding(args.encoding)
    with _open_db(args.directory) as engine:
        assessed = _assess_file(
            engine,
            args.file,
            encoding,
            future=args.future,
            replace=args.replace,
            user=args.user,
            reason=args.reason,
        )
        summary = _db_summary(args.directory, engine)
    _err(f"{args.file}: {assessed.text()}")
    _err(summary)
    return 0


def _cmd_db_retract_assessments(args: argparse.Namespace) -> int:
    if not args.ids and args.ids_file is None:
        raise OptionError("db retract-assessments: give the ids to retract, or --ids-file FILE")
    for number in args.ids:
        _check_id("an assessment id", number)
    ids = np.array(args.ids, dtype=np.int64)
    source = f"{len(ids):,} ids given"
    if args.ids_file is not None:
        read = _read_ids(args.ids_file, "assessment_id", RecordError)
        where = f"read from {args.ids_file}"
        source = f"{source} and {len(read):,} {where}" if args.ids else f"{len(read):,} ids {where}"
        ids = np.concatenate((ids, read))
    with _open_db(args.directory) as engine:
        report = engine.retract_assessments(ids, user=args.user, reason=args.reason)
        summary = _db_summary(args.directory, engine)
    _err(f"{source}: {report}")
    _err(summary)
    return 0


def _cmd_db_list_assessments(args: argparse.Namespace) -> int:
    if (args.nominal_id is None) == (args.nominal is None):
        both = ", not both" if args.nominal is not None else ""
        raise OptionError(f"db list-assessments: give NOMINAL_ID or --nominal N{both}")
    nominal = args.nominal if args.nominal is not None else args.nominal_id
    _check_id("the nominal_id", nominal)
    _check_db_out(args, args.directory)
    with _open_db(args.directory, readonly=True) as engine:
        listed = engine.assessments(nominal)
    with _output(args.out) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(ASSESSMENT_LISTED_COLUMNS)
        for number, tool, score, date, points, status, expires in listed.rows():
            writer.writerow(
                (number, tool, score, date.isoformat(), points, status, expires.isoformat())
            )
    counting = listed.status.count("counting")
    points = int(listed.points[np.array(listed.status) == "counting"].sum()) if counting else 0
    _err(
        f"nominal {nominal}: {len(listed):,} assessments, {counting:,} counting for "
        f"{points:,} points at {listed.as_of}; assessment table {listed.table_name} "
        f"{listed.table_sha256[:12]}"
    )
    return 0


# -- db: interventions (recorded and listed, never scored) -----------------------------------
#: The columns ``db list-interventions`` writes.
LISTED_COLUMNS = (
    "intervention_id",
    "nominal_id",
    "kind",
    "description",
    "start",
    "end",
    "lead_agency",
)


def _read_interventions(path: str, encoding: str) -> tuple[object, RowLabel]:
    """An interventions file: the six columns of :data:`iomscore.interventions.COLUMNS`
    (see :func:`_read_records`)."""
    return _read_records(path, encoding, INTERVENTION_COLUMNS, "interventions")


def _read_records(
    path: str, encoding: str, wanted: Sequence[str], what: str, optional: Sequence[str] = ()
) -> tuple[object, RowLabel]:
    """A file of records, interventions, assessments, owners or decisions (Parquet by
    a name ending ``.parquet`` or ``.pq``, any other CSV), as columns, and a namer of
    its rows for errors: ``FILE line N`` (the line a CSV row starts on) or ``FILE row
    N`` (Parquet). Only the columns ``wanted``, and those of ``optional`` the file
    has, are read; others are ignored."""
    file = Path(path)
    if not file.exists():
        raise RecordError(f"{path}: no such {what} file")
    if file.suffix.lower() in _PARQUET_SUFFIXES:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(file)
        except (pa.ArrowException, OSError, ValueError) as exc:
            reason = " ".join(str(exc).split())[:200]
            raise RecordError(f"{path}: not a readable Parquet file ({reason})") from None
        _check_header(path, table.schema.names, wanted, optional)
        present = [name for name in optional if name in table.schema.names]
        return table.select([*wanted, *present]), parquet_row_label(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise FileAccessError.from_os_error(exc, path, f"{what} file") from None
    try:
        text = data.decode("utf-8-sig" if encoding == "utf-8" else encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        byte = data[exc.start : exc.start + 1].hex()
        raise RecordError(
            f"{path} line {line}: byte 0x{byte} is not {encoding.upper()} text "
            "(give the file's encoding with --encoding, e.g. --encoding cp1252)"
        ) from None
    # Python's csv (such records are few): each row keeps the line it starts on, even
    # after a quoted value running over lines or a blank line (skipped); strict, so that
    # a quote opened and never closed is an error rather than the rest of the file.
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    line = 1
    try:
        for record in reader:
            if header is None:
                header = [name.strip() for name in record]
                _check_header(path, header, wanted, optional)
            elif record:
                rows.append(record)
                lines.append(line)
            line = reader.line_num + 1
    except csv.Error as exc:
        raise RecordError(f"{file.name} line {line}: malformed CSV ({exc})") from None
    if header is None:
        _check_header(path, [], wanted)
    assert header is not None
    by_line = csv_line_label(path)

    def label(row: int) -> str:
        return by_line(lines[row] - 2)  # csv_line_label names row 0 line 2

    for row, record in enumerate(rows):
        if len(record) != len(header):
            raise RecordError(
                f"{label(row)}: {len(record)} fields where the header has {len(header)}",
                row=row,
            )
    where = {name: header.index(name) for name in (*wanted, *optional) if name in header}
    columns = {name: [r[i] for r in rows] for name, i in where.items()}
    return columns, label


def _check_header(
    path: str, names: list[str], columns: Sequence[str], optional: Sequence[str] = ()
) -> None:
    """Each of the columns once, and each optional one at most once; a ``RecordError``
    naming the file otherwise."""
    wanted = ",".join(columns)
    for name in optional:
        if names.count(name) > 1:
            raise RecordError(
                f"{path}: the column {name!r} appears {names.count(name)} times", field=name
            )
    if not any(names):
        raise RecordError(f"{path}: empty file (the header must name {wanted})")
    for name in columns:
        if name not in names:
            raise RecordError(
                f"{path}: missing column {name!r} (the header must name {wanted})", field=name
            )
        if names.count(name) > 1:
            raise RecordError(
                f"{path}: the column {name!r} appears {names.count(name)} times", field=name
            )


def _cmd_db_interventions(args: argparse.Namespace) -> int:
    batch, label = _read_interventions(args.file, check_encoding(args.encoding))
    with _open_db(args.directory) as engine:
        recorded = engine.record_interventions(
            batch, user=args.user, reason=args.reason, label=label
        )
        summary = _db_summary(args.directory, engine)
    _err(f"{recorded:,} interventions recorded from {args.file}")
    _err(summary)
    return 0


def _check_id(option: str, value: int) -> None:
    """An id option: a whole number from 0 to 2**63 - 1 (an ``OptionError`` otherwise)."""
    if not 0 <= value < 2**63:
        raise OptionError(f"{option} must be from 0 to 2**63 - 1, got {value}")


def _cmd_db_end_intervention(args: argparse.Namespace) -> int:
    _check_id("--id", args.id)
    with _open_db(args.directory) as engine:
        engine.end_intervention(args.id, args.ended, user=args.user, reason=args.reason)
        summary = _db_summary(args.directory, engine)
    _err(f"intervention {args.id} ended on {args.ended}")
    _err(summary)
    return 0


def _cmd_db_retract_interventions(args: argparse.Namespace) -> int:
    ids = _read_ids(args.ids, "intervention_id", RecordError)
    with _open_db(args.directory) as engine:
        report = engine.retract_interventions(ids, user=args.user, reason=args.reason)
        summary = _db_summary(args.directory, engine)
    _err(f"{len(ids):,} ids read from {args.ids}: {report}")
    _err(summary)
    return 0


def _cmd_db_list_interventions(args: argparse.Namespace) -> int:
    _check_id("--nominal", args.nominal)
    _check_db_out(args, args.directory)
    with _open_db(args.directory, readonly=True) as engine:
        table = engine.interventions(args.nominal, active_on=args.active_on)
    with _output(args.out) as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(LISTED_COLUMNS)
        for row, description in zip(table.rows(), table.description, strict=True):
            number, nominal, kind, start, end, agency = row
            ended = "" if end is None else end.isoformat()
            writer.writerow((number, nominal, kind, description, start.isoformat(), ended, agency))
    which = "" if args.active_on is None else f" active on {args.active_on}"
    _err(f"nominal {args.nominal}: {len(table):,} interventions{which}")
    return 0


# -- db: the IOM cohort (areas, owners, ODOC decisions) ----------------------------------------
#: The columns ``db selection`` writes.
SELECTION_COLUMNS = (
    "nominal_id",
    "score",
    "band",
    "area",
    "strand",
    "strand_set_by",
    "selected_on",
    "meeting_id",
    "lead_agency",
    "tier",
)


def _read_areas(text: str | None) -> tuple[str, ...] | None:
    """The areas of ``--areas`` (names separated by commas), or None (the default)."""
    if text is None:
        return None
    try:
        return check_areas([name.strip() for name in text.split(",")])
    except RecordError as exc:
        raise OptionError(f"--areas {text!r}: {exc}") from None


def _check_area(engine: Engine, directory: str, area: str | None) -> None:
    """``--area``: one of the directory's areas, or ``unowned`` (any case)."""
    if area is None:
        return
    known = {name.lower() for name in (*engine.areas, UNOWNED)}
    if area.strip().lower() not in known:
        raise OptionError(
            f"--area {area!r}: not an area of {directory} (one of "
            f"{', '.join(engine.areas)}, or {UNOWNED} for the nominals no area owns)"
        )


def _in_area(area: str | None) -> str:
    """`` in AREA`` for a summary, or nothing."""
    if area is None:
        return ""
    return " with no owner" if area.strip().lower() == UNOWNED else f" owned by {area}"


def _cmd_db_owners(args: argparse.Namespace) -> int:
    columns, label = _read_records(
        args.file, check_encoding(args.encoding), OWNERSHIP_COLUMNS, "ownership"
    )
    with _open_db(args.directory) as engine:
        recorded = engine.record_owners(columns, user=args.user, reason=args.reason, label=label)
        summary = _db_summary(args.directory, engine)
    _err(f"{recorded:,} ownership records recorded from {args.file}")
    _err(summary)
    return 0


def _cmd_db_decide(args: argparse.Namespace) -> int:
    columns, label = _read_records(
        args.file,
        check_encoding(args.encoding),
        DECISION_COLUMNS,
        "decisions",
        optional=DECISION_OPTIONAL,
    )
    if not isinstance(columns, dict):  # a Parquet file's Arrow table: its columns by name,
        # as Engine.decide looks for a missing optional column in a mapping only
        columns = {name: columns.column(name) for name in columns.column_names}  # type: ignore[attr-defined]
    with _open_db(args.directory) as engine:
        recorded = engine.decide(columns, user=args.user, reason=args.reason, label=label)
        held = engine.decisions()
        taken = held[len(held) - recorded :]
        selected = len(engine.selection())
        as_of = engine.as_of
        summary = _db_summary(args.directory, engine)
    selections = sum(d.action == "select" for d in taken)
    _err(
        f"{recorded:,} decisions recorded from {args.file}: {selections:,} selections, "
        f"{recorded - selections:,} de-selections; {selected:,} nominals selected at {as_of}"
    )
    _err(summary)
    return 0


def _cmd_db_selection(args: argparse.Namespace) -> int:
    _check_db_out(args, args.directory)
    with _open_db(args.directory, readonly=True) as engine:
        _check_area(engine, args.directory, args.area)
        date = engine.as_of if args.as_of is None else args.as_of
        if date > engine.as_of:
            raise OptionError(
                f"--as-of {date} is after the as-of date of {args.directory}, {engine.as_of} "
                "(advance the directory first)"
            )
        if args.candidates:
            if date != engine.as_of:
                raise OptionError(
                    f"--as-of {date}: the candidates are those of the as-of date of "
                    f"{args.directory}, {engine.as_of} (give no --as-of with --candidates)"
                )
            table = engine.candidates(area=args.area, strand=args.strand)
        else:
            if date < engine.history_start:
                raise OptionError(
                    f"--as-of {date} is before {engine.history_start}, the first date whose "
                    f"whole window {args.directory} keeps (its history is "
                    f"{engine.history_years} years)"
                )
            table = engine.selection(date, area=args.area, strand=args.strand)
        band = engine.selection_band
    with _output(args.out) as out:
        _write_selection(out, table)
    counts = {name: table.band.count(name) for name in reversed(BAND_NAMES)}
    bands = ", ".join(f"{name} {count:,}" for name, count in counts.items() if count)
    which = f" with strand {args.strand}" if args.strand else ""
    if args.candidates:
        head = f"{len(table):,} candidates (not selected, {band} or above)"
    else:
        head = f"{len(table):,} nominals selected"
    _err(f"{head}{_in_area(args.area)}{which} at {table.as_of}" + (f": {bands}" if bands else ""))
    return 0


# -- db odoc: the ODOC meeting packs (iomscore.pack) -----------------------------------------
def _area_folder(area: str) -> str:
    """The folder of an area's pack: its name in lower case, spaces as ``-``."""
    return area.strip().lower().replace(" ", "-")


def _check_pack_out(out: str, directory: str | None = None) -> Path:
    """``--out`` (or ``--pack``) OUTDIR: a directory, made if missing, not inside the
    engine directory."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise OptionError(f"{out}: not a directory (the packs go into a directory)")
    if directory is not None:
        inner = os.path.realpath(folder)
        engine_dir = os.path.realpath(directory)
        if inner == engine_dir or inner.startswith(engine_dir + os.sep):
            raise OptionError(
                f"--out {out}: this is inside the engine directory {directory} "
                "(choose a directory elsewhere)"
            )
    return folder


def _write_packs(packs: dict, out: Path) -> list[str]:
    """Write each pack into ``out/<area folder>/`` (five CSVs and ``index.html``; one
    strand's pack ``<list>-<strand>.csv`` and ``index-<strand>.html``, beside the
    whole pack's); returns one line per area: the count of each list and the page's size."""
    from .pack import LIST_NAMES

    try:
        out.mkdir(parents=True, exist_ok=True)
        lines = []
        for area, pack in packs.items():
            folder = out / _area_folder(area)
            folder.mkdir(exist_ok=True)
            pack.write_csv(folder)
            page = pack.write_html(folder / f"index{pack.file_suffix}.html")
            counts = ", ".join(
                f"{name.replace('_', ' ')} {len(getattr(pack, name)):,}" for name in LIST_NAMES
            )
            lines.append(f"{area}: {counts}; {page} {page.stat().st_size:,} bytes")
    except OSError as exc:
        raise FileAccessError(
            f"{out}: cannot write the packs ({exc.strerror or exc})", path=out
        ) from None
    return lines


def _cmd_db_odoc(args: argparse.Namespace) -> int:
    from .pack import build_packs

    if args.interval_days < 1:
        raise OptionError(f"--interval-days must be at least 1, got {args.interval_days}")
    out = _check_pack_out(args.out, args.directory)
    started = time.perf_counter()
    with _open_db(args.directory, readonly=True) as engine:
        if args.meeting != engine.as_of:
            raise OptionError(
                f"--meeting {args.meeting} is not the as-of date of {args.directory}, "
                f"{engine.as_of}: the pack scores at the as-of date (advance the directory "
                "to the meeting date first)"
            )
        if args.previous >= args.meeting:
            raise OptionError(f"--previous {args.previous} must be before --meeting {args.meeting}")
        if args.previous < engine.history_start:
            raise OptionError(
                f"--previous {args.previous} is before {engine.history_start}, the first date "
                f"whose whole window {args.directory} keeps (its history is "
                f"{engine.history_years} years)"
            )
        _check_area(engine, args.directory, args.area)
        packs = build_packs(
            engine,
            args.meeting,
            args.previous,
            None if args.all_areas else [args.area],
            interval_days=args.interval_days,
            charts=not args.no_charts,
            strand=args.strand,
            user=args.user,
            reason=args.reason,
        )
        lines = _write_packs(packs, out)
    for line in lines:
        _err(line)
    strand = "" if args.strand is None else f" of the {args.strand} strand"
    _err(
        f"{len(packs)} ODOC pack{'s' if len(packs) != 1 else ''}{strand} for the meeting of "
        f"{args.meeting} (previous {args.previous}) written to {out} in "
        f"{time.perf_counter() - started:,.1f} s"
    )
    return 0


def _write_selection(out: TextIO, table: SelectionTable) -> None:
    """``SELECTION_COLUMNS``, one row per nominal; empty where a value is None."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(SELECTION_COLUMNS)
    columns = (
        table.nominal_id.tolist(),
        table.score.tolist(),
        table.band,
        table.area,
        table.strand,
        table.strand_set_by,
        [None if d is None else d.isoformat() for d in table.selected_on],
        table.meeting_id,
        table.lead_agency,
        table.tier,
    )
    for row in zip(*columns, strict=True):
        writer.writerow(["" if value is None else value for value in row])


def _cmd_db_scores(args: argparse.Namespace) -> int:
    _check_db_out(args, args.directory)
    stages = Stages(["open", "score", "write"], quiet=args.quiet)
    try:
        stages.begin("open")
        with _open_db(args.directory, readonly=True) as engine:
            _check_area(engine, args.directory, args.area)
            stages.begin("score")
            result = engine.scores(area=args.area)
            stages.begin("write")
            if args.out is None:
                result.write_csv(sys.stdout)
            else:
                _write_scores(args.out, result, _db_score_metadata(args, engine, result))
            summary = _db_summary(args.directory, engine)
    finally:
        stages.close()
    _err(summary)
    if args.area is not None:
        _err(f"area: the nominals{_in_area(args.area)} at {result.as_of}")
    _err(_band_summary(result))
    return 0


def _db_score_metadata(
    args: argparse.Namespace, engine: Engine, result: ScoreTable
) -> dict[str, object]:
    """The provenance of a score file written from a directory: ``score``'s, with the
    directory as the input, and every weight table it has scored with."""
    return {
        **_metadata_head(
            "db scores", engine, result, "(held by the directory)", "(held by the directory)"
        ),
        "input": {
            "directory": os.path.basename(os.path.abspath(args.directory)),
            "format": "iomscore engine directory",
            **({} if args.area is None else {"area": args.area}),
            "history_years": engine.history_years,
            "weights_history": [
                {"name": r.name, "sha256": r.sha256, "as_of": r.as_of.isoformat(), "mode": r.mode}
                for r in engine.history
            ],
        },
        "counts": {
            "live_events": len(engine),
            "archived_events": int(engine.memory()["archived_events"]),
            "nominals_scored": len(result),
            "bands": result.band_counts(),
        },
    }


def _cmd_db_checkpoint(args: argparse.Namespace) -> int:
    with _open_db(args.directory) as engine:
        size = engine.checkpoint()
        summary = _db_summary(args.directory, engine)
    _err(f"checkpoint: {durable.SNAPSHOT} written, {size:,} bytes; the journal is empty")
    _err(summary)
    return 0


def _cmd_db_verify(args: argparse.Namespace) -> int:
    with _open_db(args.directory, readonly=True) as engine:
        nominals = len(engine.scores())
        summary = _db_summary(args.directory, engine)
        problem = engine.verify()
        entries = len(engine.audit())
    if problem is not None:
        raise StateError(f"{Path(args.directory) / records.FILE}: {problem}")
    print(
        f"ok: {summary}; {nominals:,} nominals with a live event; audit log of {entries:,} "
        "entries, its hash chain intact"
    )
    return 0


def _cmd_db_info(args: argparse.Namespace) -> int:
    with _open_db(args.directory, readonly=True) as engine:
        memory = engine.memory()
        nominals = len(engine.scores())
        low, medium, high = engine.thresholds
        lines = [
            ("as_of", str(engine.as_of)),
            ("window_years", str(engine.window_years)),
            ("history_years", str(engine.history_years)),
            ("thresholds", f"LOW {low}, MEDIUM {medium}, HIGH {high} (points)"),
            ("weights", f"{engine.weights.name} sha256 {engine.weights.sha256}"),
            (
                "assessment_table",
                f"{engine.assessment_table.name} sha256 {engine.assessment_table.sha256}",
            ),
            ("areas", ", ".join(engine.areas)),
            ("selection_band", f"{engine.selection_band} (candidates: this band or above)"),
            (
                "decisions",
                f"{len(engine.decisions()):,}; {len(engine.selection()):,} nominals selected",
            ),
        ]
        journaled = engine.journal_records
    live, archived = int(memory["live_events"]), int(memory["archived_events"])
    directory = Path(args.directory)
    sizes = [(directory / name).stat().st_size for name in (durable.SNAPSHOT, durable.JOURNAL)]
    database = sum(
        (directory / name).stat().st_size
        for name in (records.FILE, records.FILE + "-wal")
        if (directory / name).exists()
    )
    events = live + archived
    per_event = f"{sum(sizes) / events:,.1f}" if events else "n/a (no events)"
    on_disk = f"{(sum(sizes) + database) / events:,.1f}" if events else "n/a (no events)"
    lines += [
        ("live_events", f"{live:,}"),
        ("archived_events", f"{archived:,}"),
        ("nominals", f"{nominals:,} with a live event"),
        ("journal_records", f"{journaled:,} since the last checkpoint"),
        ("snapshot_bytes", f"{sizes[0]:,}"),
        ("journal_bytes", f"{sizes[1]:,}"),
        ("records_bytes", f"{database:,} (records.sqlite and its write-ahead log)"),
        ("bytes_per_event", f"{per_event} (snapshot and journal, per live or archived event)"),
        ("bytes_on_disk_per_event", f"{on_disk} (with the records database)"),
    ]
    for key, value in lines:
        print(f"{key}: {value}")
    return 0


def _db_explain(args: argparse.Namespace) -> int:
    stages = Stages(["open", "explain", "write"], quiet=args.quiet)
    try:
        stages.begin("open")
        with _open_db(args.db, readonly=True) as engine:
            stages.begin("explain")
            explanation = engine.explain(args.nominal)
        stages.begin("write")
        with _output(args.out) as out:
            explanation.write_csv(out)
    finally:
        stages.close()
    _err(explanation.summary())
    return 0


def _db_forecast(args: argparse.Namespace) -> int:
    stages = Stages(["open", "forecast", "write"], quiet=args.quiet)
    try:
        stages.begin("open")
        with _open_db(args.db, readonly=True) as engine:
            _check_area(engine, args.db, args.area)
            stages.begin("forecast")
            forecast = engine.forecast(area=args.area)
            assert isinstance(forecast, Forecast)
            summary = _db_summary(args.db, engine)
        stages.begin("write")
        with _output(args.out) as out:
            forecast.write_csv(out)
    finally:
        stages.close()
    _err(summary)
    if args.area is not None:
        _err(f"area: the nominals{_in_area(args.area)} at {forecast.as_of}")
    _err(_forecast_summary(forecast))
    return 0


def _check_span(args: argparse.Namespace, engine) -> None:
    """``--from``/``--to`` inside what the directory ``--db`` keeps: not after its
    as-of date, not before the start of its history."""
    if args.end > engine.as_of:
        raise OptionError(
            f"--to {args.end} is after the as-of date of {args.db}, {engine.as_of} "
            "(advance the directory first)"
        )
    if args.start < engine.history_start:
        raise OptionError(
            f"--from {args.start} is before {engine.history_start}, the first date "
            f"whose whole window {args.db} keeps (its history is "
            f"{engine.history_years} years)"
        )


def _db_timeline(args: argparse.Namespace) -> int:
    stages = Stages(["open", "timeline", "write"], quiet=args.quiet)
    try:
        stages.begin("open")
        with _open_db(args.db, readonly=True) as engine:
            _check_span(args, engine)
            stages.begin("timeline")
            timeline = engine.timeline(args.nominal, args.start, args.end)
        stages.begin("write")
        with _output(args.out) as out:
            timeline.write_csv(out)
    finally:
        stages.close()
    _err(_timeline_summary(timeline, args.start, args.end))
    return 0


# -- chart: one nominal's score chart (iomscore.chart) ---------------------------------------
_CHART_SUFFIXES = (".svg", ".png")


def _cmd_chart(args: argparse.Namespace) -> int:
    from .chart import require_matplotlib, score_chart, write_png, write_svg

    suffix = os.path.splitext(args.out)[1].lower()
    if suffix not in _CHART_SUFFIXES:
        raise OptionError(
            f"--out {args.out}: a chart is written as .svg (no dependency) or .png "
            "(matplotlib), by the file's suffix"
        )
    if suffix == ".png":
        require_matplotlib()  # before any work
    _check_db_out(args, args.db)
    _check_nominal(args)
    if args.end < args.start:
        raise OptionError(f"--from {args.start} is after --to {args.end}")
    with _open_db(args.db, readonly=True) as engine:
        _check_span(args, engine)
        try:
            chart = score_chart(
                engine, args.nominal, args.start, args.end, user=args.user, reason=args.reason
            )
        except EngineError as exc:
            raise OptionError(f"--nominal {args.nominal}: {exc} ({args.db})") from None
    if suffix == ".png":
        write_png(chart, args.out)
    else:
        write_svg(chart, args.out)
    size = os.path.getsize(args.out)
    _err(
        f"nominal {chart.nominal_id}: {len(chart.steps):,} score steps from {args.start} to "
        f"{args.end}, {len(chart.assessments):,} assessments, "
        f"{len(chart.interventions):,} interventions, {len(chart.decisions):,} decisions; "
        f"{args.out} {size:,} bytes"
    )
    return 0


# -- weights --------------------------------------------------------------------------
def _cmd_weights_check(args: argparse.Namespace) -> int:
    from .weights_tools import check_weights

    problems, weights = check_weights(args.file)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    assert weights is not None
    print(
        f"{args.file}: OK: {weights.name}, {len(weights.offences):,} offences x "
        f"{len(weights.datasets)} datasets, sha256 {weights.sha256}"
    )
    return 0


def _cmd_weights_diff(args: argparse.Namespace) -> int:
    from .weights_tools import diff_weights

    a, b = Weights.load(args.a), Weights.load(args.b)
    rows = diff_weights(a, b)
    print("offence,dataset,old,new,change")
    for offence, dataset, old, new in rows:
        old_text = "" if old is None else str(old)
        new_text = "" if new is None else str(new)
        change = "" if old is None or new is None else f"{new - old:+d}"
        print(f"{offence},{dataset},{old_text},{new_text},{change}")
    _err(
        f"{len(rows):,} entries differ between {a.name} ({a.short_hash()}) "
        f"and {b.name} ({b.short_hash()})"
    )
    return 0


def _cmd_weights_build(args: argparse.Namespace) -> int:
    from . import derive

    weights = derive.build_default(
        priorities_path=args.priorities,
        catalogue_path=args.catalogue,
        severity_csv=args.severity,
        out_path=args.out,
    )
    _err(f"wrote {args.out}: {weights.name}, sha256 {weights.sha256}")
    return 0


# -- parser ---------------------------------------------------------------------------
_EVENTS_HELP = (
    "events file: CSV with header event_id,nominal_id,dataset,offence,date (other columns "
    "are ignored), or Parquet (.parquet, .pq) with those columns"
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iomscore",
        description="Score IOM nominals on their events of the last two years.",
    )
    parser.add_argument("--version", action="version", version=f"iomscore {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    # With db=True (explain, forecast, timeline) the command also takes --db DIR, whose
    # directory has its own date, table and window: the options for an events file
    # default to None there, so that giving one with --db can be refused.
    def common(p: argparse.ArgumentParser, *, as_of: bool = True, db: bool = False) -> None:
        not_db = "; not with --db" if db else ""
        p.add_argument(
            "--weights",
            metavar="FILE",
            help="weight table CSV (default: the shipped table)" + not_db,
        )
        if as_of:
            p.add_argument(
                "--as-of",
                required=not db,
                metavar="YYYY-MM-DD",
                help="scoring date D: events of the window ending on D count, later ones do not"
                + (
                    "; required with EVENTS, not taken with --db (the directory's date)"
                    if db
                    else ""
                ),
            )
        p.add_argument(
            "--window-years",
            type=int,
            default=None if db else 2,
            metavar="N",
            help="window length in years (default 2)" + not_db,
        )

    def reading(p: argparse.ArgumentParser, *, db: bool = False) -> None:
        not_db = "; not with --db" if db else ""
        p.add_argument(
            "--encoding",
            default=None if db else "utf-8",
            metavar="NAME",
            help="text encoding of a CSV events file (default utf-8; e.g. cp1252 for "
            "Windows exports); Parquet is always UTF-8" + not_db,
        )
        p.add_argument(
            "--repair-codes",
            action="store_true",
            help="read offence codes a spreadsheet turned into numbers (2801, 28.01, 28.1) "
            "as the one code of the weight table they stand for (028/01); every repair is "
            "reported with its count, and a value that could be two codes is refused" + not_db,
        )
        p.add_argument(
            "--quiet",
            action="store_true",
            help="no progress display (shown only on a terminal, for runs over about 2 s)",
        )

    def assessing(
        p: argparse.ArgumentParser, *, db: bool = False, last: str = "the as-of date"
    ) -> None:
        not_db = "; not with --db (the directory's own, see db assess)" if db else ""
        p.add_argument(
            "--assessments",
            metavar="FILE",
            help="ASSET and OASys assessments to count with the events (rule 10): CSV "
            "(read with --encoding) or Parquet with the columns "
            + ",".join(ASSESSMENT_COLUMNS)
            + "; tool asset or oasys, score the raw score, inside the tool's range. "
            "Every row is checked first: a fault names the file line and field, and "
            f"nothing is taken; rows dated after {last} do not count" + not_db,
        )
        p.add_argument(
            "--assessment-table",
            metavar="FILE",
            help="assessment table CSV tool,low,high,points: the points of each range of "
            "raw scores (default: the shipped weights/assessments.csv)" + not_db,
        )

    p = sub.add_parser(
        "score",
        help="score an events file (CSV or Parquet) at a date",
        description="Score every nominal at --as-of on its events of the window, and on "
        "its latest ASSET and OASys assessment of the window if --assessments is given "
        "(rules 3-6 and 10); nominal_id,score,band to stdout or --out, the counts, bands "
        "and timings to stderr.",
    )
    p.add_argument("events", help=_EVENTS_HELP)
    common(p)
    assessing(p)
    p.add_argument(
        "--out",
        metavar="FILE",
        help="write nominal_id,score,band here (default stdout): FILE.parquet or .pq "
        "writes Parquet with the provenance in its metadata; any other name writes CSV "
        "and the provenance to FILE.meta.json",
    )
    reading(p)
    p.set_defaults(run=_cmd_score)

    p = sub.add_parser(
        "demo",
        help="score a synthetic force-sized cohort and print timings; with --pack, write "
        "its ODOC meeting packs",
    )
    p.add_argument(
        "--nominals",
        type=int,
        default=250_000,
        metavar="N",
        help="synthetic nominals (default 250,000)",
    )
    p.add_argument(
        "--events",
        type=int,
        default=2_000_000,
        metavar="N",
        help="synthetic events (default 2,000,000)",
    )
    p.add_argument(
        "--seed", type=int, default=0, metavar="N", help="random seed of the cohort (default 0)"
    )
    p.add_argument(
        "--as-of",
        default="2026-11-26",
        metavar="YYYY-MM-DD",
        help="scoring date D (default 2026-11-26)",
    )
    p.add_argument(
        "--weights", metavar="FILE", help="weight table CSV (default: the shipped table)"
    )
    p.add_argument("--out", metavar="FILE", help="write the full result CSV here")
    p.add_argument(
        "--pack",
        metavar="OUTDIR",
        help="then give the force an IOM cohort (every nominal owned by one of the seven "
        "West Midlands areas, a year of monthly ODOC decisions) and write the ODOC "
        "meeting pack of every area and of the unowned (five CSVs and a self-contained "
        "index.html each) into OUTDIR/<area>/, for the meeting on the as-of date since "
        "the one 28 days before (see db odoc)",
    )
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress display (shown only on a terminal, for runs over about 2 s)",
    )
    p.set_defaults(run=_cmd_demo)

    p = sub.add_parser(
        "replay",
        help="step day by day and write every band change",
        description="Step one day at a time from --from to --to, both inclusive, and write "
        "every band change. The events dated before --from set the starting state (the "
        "bands at the end of the day before --from); each later event enters on its date.",
    )
    p.add_argument("events", help=_EVENTS_HELP)
    p.add_argument(
        "--from",
        dest="start",
        required=True,
        metavar="D1",
        help="first day replayed, inclusive (YYYY-MM-DD); earlier events set the starting state",
    )
    p.add_argument(
        "--to",
        dest="end",
        required=True,
        metavar="D2",
        help="last day replayed, inclusive (YYYY-MM-DD); later events are not read",
    )
    p.add_argument("--out", metavar="FILE", help="band changes CSV (default stdout)")
    p.add_argument(
        "--progress", action="store_true", help="print a line on stderr at each month start"
    )
    common(p, as_of=False)
    reading(p)
    p.set_defaults(run=_cmd_replay)

    p = sub.add_parser("whatif", help="the impact of a new weight table, without applying it")
    p.add_argument("events", help=_EVENTS_HELP)
    common(p)
    p.add_argument(
        "--new-weights",
        required=True,
        metavar="FILE",
        help="the candidate weight table CSV, compared with --weights",
    )
    p.add_argument("--out", metavar="FILE", help="write the nominals that change band here")
    reading(p)
    p.set_defaults(run=_cmd_whatif)

    def nominal(p: argparse.ArgumentParser, what: str) -> None:
        p.add_argument(
            "--nominal",
            required=True,
            type=int,
            metavar="N",
            help=f"the nominal_id {what}; a nominal with no event in the file (or never "
            "held by the --db directory) is an error",
        )

    def source(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "events", nargs="?", metavar="EVENTS", help=_EVENTS_HELP + "; or give --db instead"
        )
        p.add_argument(
            "--db",
            metavar="DIR",
            help="read the engine directory DIR (see iomscore db; opened read-only) instead "
            "of an events file, at its own as-of date, under its own weight table and window",
        )

    p = sub.add_parser(
        "explain",
        help="why a nominal scores what it does: its counting events",
        description="Write every event of one nominal that counts at --as-of (with --db, "
        "the directory's as-of date), and its counting ASSET and OASys assessments, with "
        "its points and the date it stops counting, ordered by date, then event_id; the "
        "score, band and points from each dataset go to stderr.",
    )
    source(p)
    common(p, db=True)
    nominal(p, "to explain")
    p.add_argument(
        "--out",
        metavar="FILE",
        help="write event_id,dataset,offence,date,points,expires here (default stdout); "
        "a counting assessment is a row of dataset assessment:asset or assessment:oasys, "
        "its assessment_id as the event_id",
    )
    assessing(p, db=True)
    reading(p, db=True)
    p.set_defaults(run=_cmd_explain)

    p = sub.add_parser(
        "forecast",
        help="when each banded nominal's band falls if no new event comes",
        description="For every nominal banded at --as-of (with --db, the directory's as-of "
        "date), in score order: the date its band first falls, the band it falls to, and "
        "the date it leaves every band, if no new event comes.",
    )
    source(p)
    common(p, db=True)
    p.add_argument(
        "--out",
        metavar="FILE",
        help="write nominal_id,score,band,band_falls_on,falls_to,none_on here (default stdout)",
    )
    p.add_argument(
        "--area",
        metavar="A",
        help="with --db: only the nominals the area A owns at the directory's as-of date "
        f"(or {UNOWNED}: those no area owns); not with an events file",
    )
    assessing(p, db=True)
    reading(p, db=True)
    p.set_defaults(run=_cmd_forecast)

    p = sub.add_parser(
        "timeline",
        help="how a nominal's score moved between two dates",
        description="Write one nominal's score and band at --from, then on each later date "
        "up to --to on which its score changed, counting every event (and assessment, "
        "with --assessments) of the files dated up to --to, however old: the files are "
        "replayed from --from to --to, keeping enough history to cover --from. With --db, "
        "the directory's engine counts the events and assessments it holds and the events "
        "it has archived; --to must not be after its as-of date, nor --from before the "
        "start of its history.",
    )
    source(p)
    nominal(p, "to follow")
    p.add_argument(
        "--from",
        dest="start",
        required=True,
        metavar="D1",
        help="first date of the timeline (YYYY-MM-DD): the score and band on it come first",
    )
    p.add_argument(
        "--to",
        dest="end",
        required=True,
        metavar="D2",
        help="last date of the timeline, inclusive (YYYY-MM-DD); later events do not count",
    )
    p.add_argument("--out", metavar="FILE", help="write date,score,band here (default stdout)")
    common(p, as_of=False, db=True)
    assessing(p, db=True, last="--to")
    reading(p, db=True)
    p.set_defaults(run=_cmd_timeline)

    p = sub.add_parser(
        "chart",
        help="draw a nominal's score chart between two dates (SVG or PNG)",
        description="Draw one nominal's score chart from --from to --to, as the ODOC pack "
        "draws it: the exact timeline as a step line (points), the band thresholds shaded, "
        "its assessments, its interventions as spans and its selection decisions as "
        "vertical marks. --out FILE.svg is the package's own SVG (no dependency); "
        '--out FILE.png is drawn by matplotlib (pip install "iomscore[charts]"). The '
        "directory is opened read-only; --to must not be after its as-of date, nor --from "
        "before the start of its history. A line on stderr sums up the chart.",
    )
    p.add_argument(
        "--db",
        required=True,
        metavar="DIR",
        help="the engine directory (see iomscore db; opened read-only)",
    )
    nominal(p, "to chart")
    p.add_argument(
        "--from",
        dest="start",
        required=True,
        metavar="D1",
        help="first date of the chart (YYYY-MM-DD)",
    )
    p.add_argument(
        "--to",
        dest="end",
        required=True,
        metavar="D2",
        help="last date of the chart, inclusive (YYYY-MM-DD)",
    )
    p.add_argument(
        "--out",
        required=True,
        metavar="FILE",
        help="the chart file: .svg or .png (written whole, or not at all)",
    )
    p.add_argument(
        "--user",
        metavar="U",
        help="who reads the record (a pseudonymous user id): the read is then written "
        "to the audit log",
    )
    p.add_argument("--reason", metavar="R", help="why the record is read, for the audit log")
    p.set_defaults(run=_cmd_chart)

    p = sub.add_parser(
        "db",
        help="a durable engine directory: create, change, read and check it",
        description="Commands on an engine directory (Engine.open): a snapshot and a journal "
        "to which every change is written and flushed before the command returns. Commands "
        "that change the directory report on stderr; scores, verify, info, list-interventions, "
        "list-assessments and selection write to stdout. "
        "One command at a time may change a directory; reading ones run beside it.",
    )
    dsub = p.add_subparsers(dest="db_command", required=True)

    def directory(q: argparse.ArgumentParser, what: str = "the engine directory") -> None:
        q.add_argument("directory", metavar="DIR", help=what)

    def encoding(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--encoding",
            default="utf-8",
            metavar="NAME",
            help="text encoding of a CSV file (default utf-8); Parquet is always UTF-8",
        )

    def audited(q: argparse.ArgumentParser) -> None:
        q.add_argument(
            "--user",
            metavar="U",
            help="who makes the change (a pseudonymous user id), for the audit log",
        )
        q.add_argument("--reason", metavar="R", help="why the change is made, for the audit log")

    q = dsub.add_parser("init", help="create an engine directory at a date")
    directory(
        q,
        "the directory to create (its parent must exist); one that holds an engine "
        "already is refused",
    )
    q.add_argument(
        "--as-of",
        required=True,
        metavar="YYYY-MM-DD",
        help="the engine's scoring date D; later events wait for db advance",
    )
    q.add_argument(
        "--weights", metavar="FILE", help="weight table CSV (default: the shipped table)"
    )
    q.add_argument(
        "--window-years",
        type=int,
        default=2,
        metavar="N",
        help="window length in years (default 2)",
    )
    q.add_argument(
        "--history-years",
        type=int,
        default=2,
        metavar="N",
        help="years events are kept after they leave the window, for timelines and past "
        "scores (default 2); older ones are purged",
    )
    q.add_argument(
        "--assessment-table",
        metavar="FILE",
        help="assessment table CSV tool,low,high,points: the points of ASSET and OASys "
        "raw scores (default: the shipped weights/assessments.csv); change it later "
        "with db reweight --assessment-table",
    )
    q.add_argument(
        "--areas",
        metavar="A,B,C",
        help="the areas (local boards) that own nominals, separated by commas, each "
        "named once (default: the seven West Midlands boroughs "
        + ", ".join(DEFAULT_AREAS)
        + f"); {UNOWNED} is kept for the nominals no area owns; fixed once created",
    )
    q.add_argument(
        "--selection-band",
        type=str.upper,
        choices=BAND_NAMES[1:],
        default="LOW",
        metavar="LOW|MEDIUM|HIGH",
        help="a nominal not selected is a candidate for the cohort at this band or above "
        "(default LOW); fixed once created",
    )
    q.set_defaults(run=_cmd_db_init)

    q = dsub.add_parser("ingest", help="take an events file into the directory")
    directory(q)
    q.add_argument("events", metavar="EVENTS", help=_EVENTS_HELP)
    q.add_argument(
        "--replace",
        action="store_true",
        help="an event_id already held with other content takes the file's content "
        "(without it, that is an error and nothing is taken)",
    )
    q.add_argument(
        "--future",
        choices=("error", "skip"),
        default="skip",
        help="events dated after the directory's as-of date: counted in the report and not "
        "taken (skip, the default, as score does), or an error that takes nothing (error)",
    )
    reading(q)
    audited(q)
    q.set_defaults(run=_cmd_db_ingest)

    q = dsub.add_parser("retract", help="withdraw events by id")
    directory(q)
    q.add_argument(
        "ids",
        metavar="IDS_FILE",
        help="text file of event ids, one a line (a first line event_id is a header; blank "
        "lines are skipped); ids the directory does not hold are reported",
    )
    audited(q)
    q.set_defaults(run=_cmd_db_retract)

    q = dsub.add_parser("advance", help="move the as-of date forward")
    directory(q)
    q.add_argument(
        "--to",
        dest="end",
        required=True,
        metavar="YYYY-MM-DD",
        help="the new as-of date (not before the current one); events leaving the window "
        "stop counting",
    )
    audited(q)
    q.set_defaults(run=_cmd_db_advance)

    q = dsub.add_parser(
        "reweight",
        help="rescore everyone under a new weight table, assessment table or both",
        description="Rescore every nominal under a new weight table FILE, a new assessment "
        "table (--assessment-table), or both in one step; at least one is required.",
    )
    directory(q)
    q.add_argument(
        "table",
        metavar="FILE",
        nargs="?",
        help="the new weight table CSV (the same datasets and offence codes as the current "
        "one); optional when --assessment-table is given",
    )
    q.add_argument(
        "--assessment-table",
        metavar="T",
        help="a new assessment table CSV tool,low,high,points (the same tools as the "
        "current one, covering every raw score held): the counting assessments are "
        "repriced",
    )
    audited(q)
    q.set_defaults(run=_cmd_db_reweight)

    q = dsub.add_parser(
        "interventions",
        help="record the interventions of a file (never scored)",
        description="Record interventions, whole or not at all: a CSV (or Parquet, by a name "
        "ending .parquet or .pq) with the columns " + ",".join(INTERVENTION_COLUMNS) + ". kind "
        "is a code of the directory's catalogue (weights/interventions.csv), lead_agency one "
        "of " + ", ".join(AGENCIES) + "; end may be empty (not ended). The first fault is "
        "an error naming the file line and field, and nothing is recorded.",
    )
    directory(q)
    q.add_argument("file", metavar="FILE", help="the interventions file (CSV or Parquet)")
    encoding(q)
    audited(q)
    q.set_defaults(run=_cmd_db_interventions)

    q = dsub.add_parser("end-intervention", help="record the end of an intervention")
    directory(q)
    q.add_argument("--id", required=True, type=int, metavar="N", help="the intervention_id to end")
    q.add_argument(
        "--end",
        dest="ended",
        required=True,
        metavar="YYYY-MM-DD",
        help="the day it ended (not before its start); one already ended is an error",
    )
    audited(q)
    q.set_defaults(run=_cmd_db_end_intervention)

    q = dsub.add_parser("retract-interventions", help="withdraw interventions by id")
    directory(q)
    q.add_argument(
        "ids",
        metavar="IDS_FILE",
        help="text file of intervention ids, one a line (a first line intervention_id is a "
        "header; blank lines are skipped); ids the directory does not hold are reported",
    )
    audited(q)
    q.set_defaults(run=_cmd_db_retract_interventions)

    q = dsub.add_parser(
        "list-interventions",
        help="write one nominal's interventions",
        description="Write a nominal's interventions, by start date then id, as "
        + ",".join(LISTED_COLUMNS)
        + " (end empty when not ended); the count goes to stderr.",
    )
    directory(q, "the engine directory (opened read-only)")
    q.add_argument("--nominal", required=True, type=int, metavar="N", help="the nominal_id to list")
    q.add_argument(
        "--active-on",
        metavar="YYYY-MM-DD",
        help="only those active that day: started on or before it and not ended before it",
    )
    q.add_argument(
        "--out", metavar="FILE", help="write the list here (default stdout); not inside DIR"
    )
    q.set_defaults(run=_cmd_db_list_interventions)

    q = dsub.add_parser(
        "assess",
        help="take the ASSET and OASys assessments of a file (scored, rule 10)",
        description="Take assessments, whole or not at all: a CSV (or Parquet, by a name "
        "ending .parquet or .pq) with the columns " + ",".join(ASSESSMENT_COLUMNS) + ". "
        "tool is a tool of the directory's assessment table (asset, oasys), score the "
        "tool's raw score, inside its range (ASSET 0-64, OASys 0-99). At each date, the latest "
        "assessment of each tool in a nominal's window adds its points to the score. "
        "The first fault is an error naming the file line and field, and nothing is "
        "taken. The report and the band changes go to stderr.",
    )
    directory(q)
    q.add_argument("file", metavar="FILE", help="the assessments file (CSV or Parquet)")
    q.add_argument(
        "--replace",
        action="store_true",
        help="an assessment_id already held with other content takes the file's content "
        "(without it, that is an error and nothing is taken)",
    )
    q.add_argument(
        "--future",
        choices=("error", "skip"),
        default="skip",
        help="assessments dated after the directory's as-of date: counted in the report "
        "and not taken (skip, the default, as db ingest does), or an error that takes "
        "nothing (error)",
    )
    encoding(q)
    audited(q)
    q.set_defaults(run=_cmd_db_assess)

    q = dsub.add_parser(
        "retract-assessments",
        help="withdraw assessments by id",
        description="Withdraw assessments by id, given on the command line, in a file, or "
        "both. If one withdrawn counted, the latest other assessment of its tool in the "
        "window counts again. Ids the directory does not hold are reported.",
    )
    directory(q)
    q.add_argument("ids", metavar="ID", type=int, nargs="*", help="an assessment_id to withdraw")
    q.add_argument(
        "--ids-file",
        metavar="FILE",
        help="a text file of assessment ids, one a line (a first line assessment_id is a "
        "header; blank lines are skipped)",
    )
    audited(q)
    q.set_defaults(run=_cmd_db_retract_assessments)

    q = dsub.add_parser(
        "list-assessments",
        help="write one nominal's assessments",
        description="Write a nominal's assessments, by date then id, as "
        + ",".join(ASSESSMENT_LISTED_COLUMNS)
        + ": points under the directory's assessment table, status counting (adds to "
        "the score now), superseded (a later one of its tool is held) or expired (the "
        "latest of its tool, dated before the window), and the date it stops counting "
        "(rule 7). The count and the points counting go to stderr.",
    )
    directory(q, "the engine directory (opened read-only)")
    q.add_argument(
        "nominal_id",
        metavar="NOMINAL_ID",
        type=int,
        nargs="?",
        help="the nominal_id to list (or give --nominal)",
    )
    q.add_argument(
        "--nominal",
        type=int,
        metavar="N",
        help="the nominal_id to list, as list-interventions takes it (or give NOMINAL_ID)",
    )
    q.add_argument(
        "--out", metavar="FILE", help="write the list here (default stdout); not inside DIR"
    )
    q.set_defaults(run=_cmd_db_list_assessments)

    q = dsub.add_parser(
        "owners",
        help="record which area owns each nominal, from a date (transfers too)",
        description="Record ownership, whole or not at all: a CSV (or Parquet, by a name "
        "ending .parquet or .pq) with the columns " + ",".join(OWNERSHIP_COLUMNS) + ". The "
        "area (one of the directory's, see db info; any case) owns the nominal from "
        "from_date until the nominal's next record: a transfer is a new record, and the "
        "old one is kept; a record for a nominal and date already held corrects its area. "
        "The first fault is an error naming the file line and field, and nothing is "
        "recorded.",
    )
    directory(q)
    q.add_argument("file", metavar="FILE", help="the ownership file (CSV or Parquet)")
    encoding(q)
    audited(q)
    q.set_defaults(run=_cmd_db_owners)

    q = dsub.add_parser(
        "decide",
        help="record the selection and de-selection decisions of ODOC meetings",
        description="Record decisions, whole or not at all, in file order: a CSV (or "
        "Parquet, by a name ending .parquet or .pq) with the columns "
        + ",".join(DECISION_COLUMNS)
        + " and, as needed, "
        + ",".join(DECISION_OPTIONAL)
        + ". action is select or deselect. A select needs lead_agency (one of "
        + ", ".join(AGENCIES)
        + ") and may give a tier; a deselect needs a reason (one of "
        + ", ".join(DESELECT_REASONS)
        + "; other needs a note). strand ("
        + ", ".join(STRANDS)
        + ") with strand_reason sets the nominal's strand. Selecting a nominal selected "
        "already, de-selecting one not selected, a decision dated before the nominal's "
        "last one or after the directory's as-of date: the first fault is an error naming "
        "the file line and field, and nothing is recorded.",
    )
    directory(q)
    q.add_argument("file", metavar="FILE", help="the decisions file (CSV or Parquet)")
    encoding(q)
    audited(q)
    q.set_defaults(run=_cmd_db_decide)

    q = dsub.add_parser(
        "selection",
        help="write the nominals selected on a date, or the candidates",
        description="Write the nominals selected on a date (default the directory's as-of "
        "date), or with --candidates those not selected at or above the selection band at "
        "the as-of date, as "
        + ",".join(SELECTION_COLUMNS)
        + ": by band (highest first), score descending, then nominal_id. area is the owner "
        "on the date (empty for none); strand is the one a decision set (strand_set_by "
        "decision), else the one its counting events give (events); the selection fields "
        "are empty for a candidate. The count per band goes to stderr.",
    )
    directory(q, "the engine directory (opened read-only)")
    q.add_argument(
        "--area",
        metavar="A",
        help=f"only the nominals the area A owns on the date (or {UNOWNED}: those no area owns)",
    )
    q.add_argument(
        "--strand",
        choices=STRANDS,
        metavar="fixed|flex|free",
        help="only the nominals of this strand: fixed, flex or free (the decision's, else the "
        "one its counting events give)",
    )
    q.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="the date (default the directory's as-of date; not after it, nor before the "
        "start of its history), scored on that date; not with --candidates",
    )
    q.add_argument(
        "--candidates",
        action="store_true",
        help="write the candidates instead: nominals at or above the directory's selection "
        "band (see db info) and not selected, at its as-of date",
    )
    q.add_argument(
        "--out", metavar="FILE", help="write the list here (default stdout); not inside DIR"
    )
    q.set_defaults(run=_cmd_db_selection)

    q = dsub.add_parser(
        "odoc",
        help="write the ODOC meeting packs of one area or of every area",
        description="Write an area's ODOC meeting pack for the meeting on --meeting (the "
        "directory's as-of date: the pack scores there) since the previous meeting "
        "--previous, into OUTDIR/<area>/ (the area's name in lower case, spaces as -): "
        "five CSVs (new_candidates, risen_fallen, deselection_candidates, transfers, "
        "managed) and index.html, one self-contained page (sortable, printable tables "
        "and an inline SVG score chart per nominal; it loads nothing from the network). "
        "With --all-areas, one folder per area and unowned (the nominals no area owns), "
        "the cohort read once. With --strand, only that strand's nominals, in files named "
        "for it (new_candidates-fixed.csv, ..., index-fixed.html) beside the whole pack's; "
        "the whole pack's page can show one strand's rows itself. Only pseudonymous ids and "
        "codes are written. The counts of each list and the page's size go to stderr, one "
        "line per area.",
    )
    directory(q, "the engine directory (opened read-only)")
    q.add_argument(
        "--meeting",
        required=True,
        metavar="YYYY-MM-DD",
        help="the meeting date D: it must be the directory's as-of date (see db advance)",
    )
    q.add_argument(
        "--previous",
        required=True,
        metavar="YYYY-MM-DD",
        help="the previous meeting D0 (before --meeting, not before the start of the "
        "directory's history): the lists show what changed since",
    )
    which = q.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--area",
        metavar="A",
        help=f"the area whose pack to write (any case; or {UNOWNED}: the nominals no area "
        "owns at D)",
    )
    which.add_argument(
        "--all-areas",
        action="store_true",
        help=f"write the pack of every area of the directory, and of {UNOWNED}",
    )
    q.add_argument(
        "--out",
        required=True,
        metavar="OUTDIR",
        help="the directory to write the packs into (made if missing; not inside DIR); "
        "an area's folder there is replaced file by file",
    )
    q.add_argument(
        "--interval-days",
        type=int,
        default=28,
        metavar="N",
        help="days to the next meeting (default 28): a selected nominal forecast to reach "
        "band NONE by then is a de-selection candidate",
    )
    q.add_argument(
        "--strand",
        choices=STRANDS,
        metavar="fixed|flex|free",
        help="only the nominals of this strand at D (the decision's, else the one their "
        "counting events give): the new candidates, risen and fallen, de-selection "
        "candidates and managed cohort of the strand, the transfers of its nominals, and "
        "their charts; the files are named for the strand (default: every strand)",
    )
    q.add_argument(
        "--no-charts",
        action="store_true",
        help="no score chart per nominal (faster; the page has no chart column)",
    )
    q.add_argument(
        "--user",
        metavar="U",
        help="who reads the records (a pseudonymous user id): each nominal's record read "
        "for the pack is then written to the audit log",
    )
    q.add_argument("--reason", metavar="R", help="why the records are read, for the audit log")
    q.set_defaults(run=_cmd_db_odoc)

    q = dsub.add_parser("scores", help="write the directory's scores, as score does")
    directory(q, "the engine directory (opened read-only)")
    q.add_argument(
        "--area",
        metavar="A",
        help=f"only the nominals the area A owns at the as-of date (or {UNOWNED}: those "
        "no area owns), in the same order",
    )
    q.add_argument(
        "--out",
        metavar="FILE",
        help="write nominal_id,score,band here (default stdout): FILE.parquet or .pq "
        "writes Parquet with the provenance in its metadata; any other name writes CSV "
        "and the provenance to FILE.meta.json; not inside DIR",
    )
    q.add_argument(
        "--quiet",
        action="store_true",
        help="no progress display (shown only on a terminal, for runs over about 2 s)",
    )
    q.set_defaults(run=_cmd_db_scores)

    q = dsub.add_parser(
        "checkpoint", help="write a snapshot of the whole state and empty the journal"
    )
    directory(q)
    q.set_defaults(run=_cmd_db_checkpoint)

    q = dsub.add_parser(
        "verify",
        help="read the whole directory and check every checksum",
        description="Open the directory read-only, reading both files whole: the magic and "
        "format version of the snapshot and the journal, the SHA-256 of each snapshot "
        "section, the header and payload CRC-32 and end marker of each journal record, "
        "then the engine rebuilt from them. Prints ok with counts (exit 0), or the first "
        "fault, naming the file and the section or record (exit 2). A last journal record "
        "written only in part (its command never returned) is reported, not a fault.",
    )
    directory(q)
    q.set_defaults(run=_cmd_db_verify)

    q = dsub.add_parser(
        "info",
        help="the directory's settings, counts and size",
        description="The as-of date, window and history (years), band thresholds, weight "
        "table (name and SHA-256), live and archived events, nominals with a live event, "
        "journal records since the last checkpoint, the bytes of the snapshot and journal "
        "files, and those bytes per live or archived event.",
    )
    directory(q, "the engine directory (opened read-only)")
    q.set_defaults(run=_cmd_db_info)

    p = sub.add_parser("weights", help="build, check and compare weight tables")
    wsub = p.add_subparsers(dest="weights_command", required=True)
    q = wsub.add_parser("check", help="check a weight table file")
    q.add_argument("file", help="the weight table CSV to check (exit 1 if it has problems)")
    q.set_defaults(run=_cmd_weights_check)
    q = wsub.add_parser("diff", help="list the entries that differ between two tables")
    q.add_argument("a", help="the old weight table CSV")
    q.add_argument("b", help="the new weight table CSV")
    q.set_defaults(run=_cmd_weights_diff)
    q = wsub.add_parser("build", help="derive a weight table from a priorities file")
    q.add_argument(
        "--priorities", default=None, metavar="FILE", help="priorities TOML (default: shipped)"
    )
    q.add_argument(
        "--catalogue", default=None, metavar="FILE", help="offence catalogue CSV (default: shipped)"
    )
    q.add_argument(
        "--severity", default=None, metavar="FILE", help="ONS severity CSV (default: shipped)"
    )
    q.add_argument("--out", required=True, metavar="FILE", help="where to write the table CSV")
    q.set_defaults(run=_cmd_weights_build)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring).

    Only :class:`~iomscore.errors.IomscoreError` is caught, as bad input: its
    message is printed on one line and the status is 2. Anything else is a bug
    and propagates with its traceback.
    """
    args = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        _read_dates(args)
        return run(args)
    except BrokenPipeError:  # pragma: no cover - e.g. `| head`
        return 0
    except IomscoreError as exc:
        _err("iomscore: error: " + " ".join(str(exc).splitlines()))
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
