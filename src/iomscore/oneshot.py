"""Scoring events once, with no engine: what ``iomscore score`` does with a file.

An :class:`~iomscore.engine.Engine` keeps what the next change needs: an index of
event ids, each day's events, the band of every nominal. A score taken once needs
none of it, so this path keeps none: every row is checked as the engine checks it
(the same functions, in the same order, with the same messages), then one compiled
pass (``csrc/iom_oneshot.c``) sums the points of the counting events by nominal
while a second thread looks for a repeated event id. The result is the engine's
:meth:`~iomscore.engine.Engine.scores`, row for row (tests/test_oneshot.py checks
it against the engine and the reference).

A CSV file is read straight from its bytes by a reader of the plain form a police
export has (ASCII, one record a line, ids of digits, dates ``YYYY-MM-DD``); the
text of the dataset and offence columns is looked up once per distinct value. A
file of any other form, or with a fault, is read the general way
(:func:`iomscore.eventfile.read_events`), which names the line and field at fault.
"""

from __future__ import annotations

import codecs
import datetime
import mmap
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import _core
from .batch import (
    _FIRST_DAY,
    _LAST_DAY,
    COLUMNS,
    RowLabel,
    _day_column,
    checked_columns,
    dataset_lookup,
    offence_lookup,
    repeated_id_error,
    row_label,
)
from .calendar import day_number, window_start
from .engine import Engine, _as_date, _check_thresholds, _check_weights
from .errors import EngineError, EventError
from .eventfile import csv_line_label, parquet_row_label, read_events
from .reference import DEFAULT_THRESHOLDS
from .results import ScoreTable, band_codes
from .weights import Weights

__all__ = ["OneShot", "score_events", "score_file"]

# Encodings in which an ASCII file reads as the same text: the plain reader takes
# only ASCII files, and only under one of these.
_ASCII_SUPERSETS = frozenset(
    {"utf-8", "ascii", "cp1252", "latin-1", "iso8859-1", "iso8859-15", "cp1250"}
)
_BOM = codecs.BOM_UTF8
_PARQUET_SUFFIXES = (".parquet", ".pq")
_INT64_MAX = 2**63 - 1


@dataclass(frozen=True)
class OneShot:
    """The scores of a batch taken once, and what became of its rows.

    Attributes
    ----------
    scores : ScoreTable
        Rule 6's rows: every nominal with an event in the window.
    received : int
        Rows read (events).
    taken : int
        Events dated in the window: ``window_start < date <= as_of``.
    expired : int
        Events dated on or before the window's start (not counted).
    future : int
        Events dated after ``as_of`` (not counted).
    """

    scores: ScoreTable
    received: int
    taken: int
    expired: int
    future: int

    @property
    def banded(self) -> int:
        """Nominals with a band (LOW, MEDIUM or HIGH): the band changes an engine
        that took the same rows from empty would report."""
        return int(np.count_nonzero(self.scores.band))

    def __str__(self) -> str:
        parts = [f"{self.taken:,} taken", f"{self.expired:,} before the window"]
        if self.future:
            parts.append(f"{self.future:,} after as_of (not counted)")
        return f"{self.received:,} events: " + ", ".join(parts) + f"; {self.banded:,} band changes"


@dataclass(frozen=True)
class _Settings:
    weights: Weights
    as_of: datetime.date
    window_years: int
    thresholds: tuple[int, int, int]
    threads: int

    @property
    def days(self) -> tuple[int, int]:
        """The window as day numbers: events dated in ``(low, high]`` count."""
        low = window_start(self.as_of, self.window_years)
        return day_number(low), day_number(self.as_of)


def _settings(
    weights: Weights | None,
    as_of: datetime.date | str,
    window_years: int,
    thresholds: Sequence[int],
    threads: int | None,
) -> _Settings:
    weights = Weights.default() if weights is None else _check_weights(weights)
    if as_of is None:
        raise EngineError("as_of is required: the date the scores are for (YYYY-MM-DD)")
    day = _as_date(as_of)
    if type(window_years) is not int or not 1 <= window_years <= 10:
        raise EngineError("window_years must be an integer from 1 to 10")
    Engine._check_calendar(day, window_years, 0)
    if threads is None:
        threads = 2 if (os.cpu_count() or 1) >= 2 else 1
    if type(threads) is not int or threads not in (1, 2):
        raise EngineError(f"threads must be 1 or 2, not {threads!r}")
    return _Settings(weights, day, window_years, _check_thresholds(thresholds), threads)


def score_events(
    events: object,
    weights: Weights | None = None,
    as_of: datetime.date | str | None = None,
    *,
    window_years: int = 2,
    thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
    label: RowLabel = row_label,
    threads: int | None = None,
    stage: Callable[[str], None] | None = None,
) -> OneShot:
    """Score a batch of events once: what a new :class:`~iomscore.engine.Engine` that
    ingests the batch (``future="skip"``) gives from :meth:`~Engine.scores`, without
    building the engine.

    Parameters
    ----------
    events : mapping of columns, pyarrow Table, pandas DataFrame or synth.Cohort
        The five columns of an events batch (see :func:`iomscore.batch.encode_events`).
    weights : Weights, optional
        The points table; the shipped default if omitted.
    as_of : datetime.date or str
        The scoring date D.
    window_years : int, default 2
        Events dated in ``(D - window_years years, D]`` count.
    thresholds : three ints, default (250, 500, 1000)
        The LOW, MEDIUM and HIGH thresholds (points).
    label : callable
        Names row ``i`` (0-based) in error messages.
    threads : {1, 2}, optional
        2 (the default on a machine with two cores or more) looks for a repeated
        event id on a second thread while the points are summed.
    stage : callable, optional
        Called with ``"check"`` and then ``"score"`` as each step begins (for progress).

    Returns
    -------
    OneShot

    Raises
    ------
    EventError
        The first fault, as the engine reports it: naming the row and field.
    """
    settings = _settings(weights, as_of, window_years, thresholds, threads)
    stage = stage or _quiet
    stage("check")
    columns = checked_columns(events, settings.weights, label)
    event_id, nominal_id, dataset_codes, dataset_rows, offence_codes, offence_rows, day = columns
    table = settings.weights.points[np.ix_(dataset_codes, offence_codes)]
    stage("score")
    return _score(
        settings,
        label,
        event_id,
        nominal_id,
        day,
        np.asarray(dataset_rows, dtype=np.int32),
        np.asarray(offence_rows, dtype=np.int32),
        [(0, len(event_id), table)],
    )


def score_file(
    path: str | os.PathLike[str],
    weights: Weights | None = None,
    as_of: datetime.date | str | None = None,
    *,
    encoding: str = "utf-8",
    window_years: int = 2,
    thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
    threads: int | None = None,
    stage: Callable[[str], None] | None = None,
) -> OneShot:
    """Score an events file once (CSV, or Parquet by its ``.parquet``/``.pq`` name).

    The same as :func:`score_events` of :func:`iomscore.eventfile.read_events`'s
    table, rows named by file line (CSV) or row (Parquet); a plain CSV export is
    read straight from its bytes (see the module's notes).

    Parameters
    ----------
    path : str or path-like
    encoding : str, default "utf-8"
        The text encoding of a CSV file.
    weights, as_of, window_years, thresholds, threads
        As for :func:`score_events`.
    stage : callable, optional
        Called with ``"read"``, ``"check"`` and ``"score"`` as each step begins.

    Raises
    ------
    EventError
        The file is missing or malformed, or a row is at fault: the message names the
        file, the line (or row) and the field.
    """
    settings = _settings(weights, as_of, window_years, thresholds, threads)
    stage = stage or _quiet
    stage("read")
    path = Path(path)
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        plain = _parquet_groups(path, settings, stage)
    else:
        plain = _plain_csv(path, encoding, settings, stage)
    if plain is not None:
        return plain
    stage("read")  # again: the general reader starts over
    table, label = read_events(path, encoding=encoding)
    return score_events(
        table,
        settings.weights,
        settings.as_of,
        window_years=settings.window_years,
        thresholds=settings.thresholds,
        label=label,
        threads=settings.threads,
        stage=stage,
    )


def _quiet(_name: str) -> None:
    """No progress to show."""


def _score(
    settings: _Settings,
    label: RowLabel,
    event_id: np.ndarray,
    nominal_id: np.ndarray,
    day: np.ndarray,
    dataset_rows: np.ndarray,
    offence_rows: np.ndarray,
    parts: list[tuple[int, int, np.ndarray]],
) -> OneShot:
    low, high = settings.days
    repeat, ids, points, taken, before, after = _core.score_once(
        event_id, nominal_id, day, dataset_rows, offence_rows, parts, low, high,
        settings.threads,
    )  # fmt: skip
    if repeat >= 0:
        raise repeated_id_error(event_id, repeat, label)
    ids, points = _rule6(ids, points)
    scores = ScoreTable(
        ids,
        points,
        band_codes(points, settings.thresholds),
        settings.as_of,
        settings.weights.name,
        settings.weights.sha256,
    )
    return OneShot(scores, len(event_id), taken, before, after)


def _rule6(ids: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rule 6's order: points descending, then nominal_id ascending.

    One sort of int64 keys ``(most - points) << bits | (id - lowest)`` when both fit
    (numpy sorts int64 several times faster than it lexsorts two columns); else a
    lexsort.
    """
    if ids.size == 0:
        return ids, points
    lowest, most = int(ids.min()), int(points.max())
    bits = (int(ids.max()) - lowest).bit_length()
    if int(points.min()) >= 0 and most.bit_length() + bits <= 62:
        keys = np.int64(most) - points
        keys <<= bits
        keys |= ids - np.int64(lowest)
        keys.sort()
        ordered_ids = (keys & ((1 << bits) - 1)) + np.int64(lowest)
        keys >>= bits
        return ordered_ids, np.int64(most) - keys
    order = np.lexsort((ids, -points))
    return ids[order], points[order]


# -- the plain CSV reader -----------------------------------------------------------------
def _plain_csv(
    path: Path, encoding: str, settings: _Settings, stage: Callable[[str], None]
) -> OneShot | None:
    """The scores of a plain CSV export read straight from its bytes, or ``None`` when
    the file is not one (Parquet, not ASCII, a fault anywhere): the caller then reads
    it the general way, which finds and names any fault."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        return None
    if name not in _ASCII_SUPERSETS:
        return None
    try:
        with open(path, "rb") as handle:
            data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # missing, a directory, empty: the general reader says
        return None
    with data:
        return _read_plain(data, path, name, settings, stage)


def _read_plain(
    data: mmap.mmap, path: Path, encoding: str, settings: _Settings, stage: Callable[[str], None]
) -> OneShot | None:
    skip = len(_BOM) if encoding == "utf-8" and data[: len(_BOM)] == _BOM else 0
    newline = data.find(b"\n", skip)
    if newline < 0:
        return None
    header = data[skip:newline]
    if b'"' in header or not header.isascii():
        return None
    names = [name.strip() for name in header.decode("ascii").split(",")]
    if len(set(names)) != len(names) or any(column not in names for column in COLUMNS):
        return None
    if len(names) > 256:
        return None
    fields = [names.index(column) for column in COLUMNS]
    read = _core.read_plain_csv(data, newline + 1, len(names), fields, settings.threads)
    if read is None:
        return None
    event_id, nominal_id, day, dataset_rows, offence_rows, file_parts = read
    stage("check")
    parts = []
    dataset_code = _memo(dataset_lookup(settings.weights))
    offence_code = _memo(offence_lookup(settings.weights))
    for first, rows, dataset_words, offence_words in file_parts:
        dataset_codes = [dataset_code(word.decode("ascii")) for word in dataset_words]
        offence_codes = [offence_code(word.decode("ascii")) for word in offence_words]
        if any(isinstance(code, str) for code in dataset_codes + offence_codes):
            return None  # a value the engine refuses: the general reader names its line
        table = settings.weights.points[np.ix_(dataset_codes, offence_codes)]
        parts.append((first, rows, table))
    stage("score")
    return _score(
        settings,
        csv_line_label(path),
        event_id,
        nominal_id,
        day,
        dataset_rows,
        offence_rows,
        parts,
    )


# -- Parquet, a row group at a time -------------------------------------------------------
def _parquet_groups(
    path: Path, settings: _Settings, stage: Callable[[str], None]
) -> OneShot | None:
    """The scores of a Parquet file read a row group at a time, each group's columns
    checked and copied into the batch's arrays while they are in the cache, each text
    value looked up once; ``None`` when a group is at fault or a column has a type
    this path does not take (the general reader then reads the file and names the
    fault)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        source = pq.ParquetFile(path)
        schema = source.schema_arrow
    except (pa.ArrowException, OSError, ValueError, IndexError):
        return None
    names = schema.names
    if any(names.count(column) != 1 for column in COLUMNS):
        return None
    kinds = {name: schema.field(name).type for name in COLUMNS}
    text = [name for name in ("dataset", "offence", "date") if pa.types.is_string(kinds[name])]
    if not (
        all(pa.types.is_integer(kinds[name]) for name in ("event_id", "nominal_id"))
        and all(pa.types.is_string(kinds[name]) for name in ("dataset", "offence"))
        and (pa.types.is_date32(kinds["date"]) or "date" in text)
    ):
        return None
    n = source.metadata.num_rows
    columns = _GroupColumns(n, settings.weights)
    try:
        source = pq.ParquetFile(path, read_dictionary=text)
        at = 0
        for group in range(source.num_row_groups):
            table = source.read_row_group(group, use_threads=settings.threads > 1)
            table.select([names.index(c) for c in COLUMNS]).validate(full=True)
            if not columns.take(table, at):
                return None
            at += table.num_rows
    except (pa.ArrowException, OSError, ValueError, IndexError):
        return None
    if at != n:
        return None
    stage("score")
    return _score(
        settings,
        parquet_row_label(path),
        columns.event_id,
        columns.nominal_id,
        columns.day,
        columns.dataset,
        columns.offence,
        [(0, n, settings.weights.points)],
    )


class _GroupColumns:
    """The batch's arrays, filled a row group at a time; dataset and offence as their
    rows and columns in the weight table."""

    def __init__(self, n: int, weights: Weights) -> None:
        self.event_id = np.empty(n, np.int64)
        self.nominal_id = np.empty(n, np.int64)
        self.day = np.empty(n, np.int32)
        self.dataset = np.empty(n, np.int32)
        self.offence = np.empty(n, np.int32)
        self._codes = {
            "dataset": _memo(dataset_lookup(weights)),
            "offence": _memo(offence_lookup(weights)),
        }

    def take(self, table: object, at: int) -> bool:
        """Copy a row group's columns in from row ``at``; False at any fault."""
        import pyarrow as pa

        for name, out in (("event_id", self.event_id), ("nominal_id", self.nominal_id)):
            position = at
            for chunk in table.column(name).chunks:  # type: ignore[attr-defined]
                if chunk.null_count:
                    return False
                ids = chunk.to_numpy()
                if ids.size and (int(ids.min()) < 0 or int(ids.max()) > _INT64_MAX):
                    return False
                out[position : position + ids.size] = ids
                position += ids.size
        for name, out in (("dataset", self.dataset), ("offence", self.offence)):
            chunks = table.column(name).chunks  # type: ignore[attr-defined]
            if not self._text(chunks, at, out, self._codes[name]):
                return False
        position = at
        for chunk in table.column("date").chunks:  # type: ignore[attr-defined]
            if chunk.null_count:
                return False
            if pa.types.is_dictionary(chunk.type):  # dates as text: each value parsed once
                try:
                    values = _day_column(chunk.dictionary, "date", row_label)
                except EventError:
                    return False
                days = values[chunk.indices.to_numpy()]
            else:
                days = chunk.cast(pa.int32()).to_numpy()
                if days.size and (days.min() < _FIRST_DAY or days.max() > _LAST_DAY):
                    return False
            self.day[position : position + days.size] = days
            position += days.size
        return True

    @staticmethod
    def _text(chunks: list, at: int, out: np.ndarray, code: Callable[[str], int | str]) -> bool:
        """Dictionary chunks' rows as the codes of their values (each value looked up
        once); False if a value is refused or missing."""
        for chunk in chunks:
            if chunk.null_count or chunk.dictionary.null_count:
                return False
            codes = [code(value) for value in chunk.dictionary.to_pylist()]
            if any(isinstance(c, str) for c in codes):
                return False
            indices = chunk.indices.to_numpy()
            out[at : at + indices.size] = np.asarray(codes, dtype=np.int32)[indices]
            at += indices.size
        return True


def _memo(lookup: Callable[[str], int | str]) -> Callable[[str], int | str]:
    """``lookup`` once per distinct value across the parts of a file."""
    seen: dict[str, int | str] = {}

    def cached(value: str) -> int | str:
        if value not in seen:
            seen[value] = lookup(value)
        return seen[value]

    return cached
