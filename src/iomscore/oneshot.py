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
export has (ASCII, one record a line, ids of digits, dates ``YYYY-MM-DD``), 32 MB
at a time into buffers reused from chunk to chunk; the text of the dataset and
offence columns is looked up once per distinct value. A Parquet file is read a
row group at a time. So memory stays about the same whatever the file's size. A
file of any other form, or with a fault, is read the general way
(:func:`iomscore.eventfile.read_events`), which names the line and field at fault.

The file is read, not mapped into memory, and its device, inode, size and time
of change are looked at before and after: a file written to, cut short or
replaced while it is read (an export still being written) is refused with a
:class:`~iomscore.errors.FileAccessError`, never scored from a mix of two
versions (and, mapped, a file cut short would have ended the process).
"""

from __future__ import annotations

import codecs
import datetime
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import _core
from .batch import (
    _FIRST_DAY,
    _LAST_DAY,
    COLUMNS,
    RowLabel,
    _day_column,
    arrow_numpy,
    checked_columns,
    dataset_lookup,
    offence_lookup,
    repeat_error,
    repeated_id_error,
    row_label,
)
from .calendar import MAX_WINDOW_YEARS, day_number, window_start
from .engine import Engine, _as_date, _check_thresholds, _check_weights
from .errors import EngineError, EventError
from .eventfile import (
    check_unchanged,
    csv_line_label,
    file_state,
    parquet_row_label,
    read_events,
)
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
# The plain reader reads a file a chunk at a time (bytes): its buffers, reused from
# one chunk to the next, hold about 600,000 rows.
_CHUNK_BYTES = 32 << 20


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
    as_of: datetime.date | str | None,
    window_years: int,
    thresholds: Sequence[int],
    threads: int | None,
) -> _Settings:
    weights = Weights.default() if weights is None else _check_weights(weights)
    if as_of is None:
        raise EngineError("as_of is required: the date the scores are for (YYYY-MM-DD)")
    day = _as_date(as_of)
    if type(window_years) is not int or not 1 <= window_years <= MAX_WINDOW_YEARS:
        raise EngineError(f"window_years must be an integer from 1 to {MAX_WINDOW_YEARS}")
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
    sums = _core.OneShotSums(len(event_id))
    low, high = settings.days
    repeat = sums.add(
        event_id,
        nominal_id,
        day,
        np.asarray(dataset_rows, dtype=np.int32),
        np.asarray(offence_rows, dtype=np.int32),
        [(0, len(event_id), table)],
        low,
        high,
        settings.threads,
    )
    if repeat >= 0:
        raise repeated_id_error(event_id, repeat, label)
    return _result(settings, sums, len(event_id))


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
    FileAccessError
        The file changed while it was read (written to, cut short or replaced): its
        device, inode, size and time of change are looked at before and after.
    """
    settings = _settings(weights, as_of, window_years, thresholds, threads)
    stage = stage or _quiet
    stage("read")
    path = Path(path)
    before = file_state(path)
    try:
        shot = _score_file(path, encoding, settings, stage)
    except Exception:
        # a file cut short reads as a faulty one (or, read again to name a repeated
        # id, as another file): the change is the error to report
        check_unchanged(path, before)
        raise
    check_unchanged(path, before)
    return shot


def _score_file(
    path: Path, encoding: str, settings: _Settings, stage: Callable[[str], None]
) -> OneShot:
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


def _result(settings: _Settings, sums: _core.OneShotSums, received: int) -> OneShot:
    """The OneShot of rows summed, in rule 6's order."""
    ids, points = _rule6(*sums.items())
    scores = ScoreTable(
        ids,
        points,
        band_codes(points, settings.thresholds),
        settings.as_of,
        settings.weights.name,
        settings.weights.sha256,
    )
    taken, before, after = sums.counts
    return OneShot(scores, received, taken, before, after)


class _Pending:
    """A fault found part way through a file that streams (a repeated event id, a sum
    past the int64 range): raised only once every later row has been read and found
    plain, since the general reader checks every field of every row first and would
    report a fault there instead."""

    def __init__(self) -> None:
        self.repeat: tuple[int, int] | None = None  # (row, event id)
        self.overflow: OverflowError | None = None

    @property
    def any(self) -> bool:
        return self.repeat is not None or self.overflow is not None

    def add(self, sums: _core.OneShotSums, row0: int, *args: Any) -> None:
        """Add a batch of rows (``OneShotSums.add``'s arguments) from row ``row0``,
        unless a fault is pending."""
        if self.any:
            return
        try:
            repeat = sums.add(*args)
        except OverflowError as exc:
            self.overflow = exc
            return
        if repeat >= 0:
            self.repeat = (row0 + repeat, int(args[0][repeat]))

    def raise_(self, label: RowLabel, id_chunks: Callable[[], Iterator[np.ndarray]]) -> None:
        """Raise the pending fault: a repeat names its first row too, found by reading
        the event ids again from the start."""
        if self.overflow is not None:
            raise self.overflow
        assert self.repeat is not None
        second, value = self.repeat
        at = 0
        for ids in id_chunks():
            hits = np.flatnonzero(ids == value)
            if hits.size:
                raise repeat_error(value, at + int(hits[0]), second, label)
            at += ids.size
        raise AssertionError("a repeated event id not found again")  # pragma: no cover


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
        with open(path, "rb", buffering=0) as handle:
            return _read_plain(handle, path, name, settings, stage)
    except OSError:  # missing, a directory, unreadable: the general reader says
        return None


def _read_plain(
    handle: Any, path: Path, encoding: str, settings: _Settings, stage: Callable[[str], None]
) -> OneShot | None:
    lines = _Lines(handle)
    first = lines.first()
    if first is None:
        return None
    buffer, newline, _ = first
    skip = len(_BOM) if encoding == "utf-8" and buffer[: len(_BOM)] == _BOM else 0
    header = bytes(buffer[skip:newline])
    if b'"' in header or b"\r" in header.rstrip(b"\r") or not header.isascii():
        return None  # quotes, or a lone CR (which ends a line for the general reader)
    names = [name.strip() for name in header.decode("ascii").split(",")]
    if len(set(names)) != len(names) or any(column not in names for column in COLUMNS):
        return None
    if len(names) > 256:
        return None
    fields = [names.index(column) for column in COLUMNS]
    low, high = settings.days
    reader = _core.PlainCsv(len(names), fields, settings.threads)
    sums, pending = _core.OneShotSums(lines.rows_expected()), _Pending()
    tables = (_PartTable(settings.weights), _PartTable(settings.weights))
    row0 = 0
    for data, begin, end in lines.chunks(newline + 1):
        got = reader.read(data, begin, end)
        if got is None:
            return None
        rows, file_parts = got
        stage("check")
        parts = []
        for k, first_row, count in file_parts:
            table = tables[k].update(reader, k)
            if table is None:
                return None  # a value the engine refuses: the general reader names its line
            parts.append((first_row, count, table))
        stage("score")
        pending.add(
            sums,
            row0,
            reader.event_id[:rows],
            reader.nominal_id,
            reader.day,
            reader.dataset,
            reader.offence,
            parts,
            low,
            high,
            settings.threads,
        )
        row0 += rows
    if lines.declined:
        return None  # a line longer than the buffer: not a plain export's
    label = csv_line_label(path)
    if pending.any:

        def id_chunks() -> Iterator[np.ndarray]:
            again = _core.PlainCsv(len(names), fields, settings.threads)
            lines = _Lines(handle)
            first = lines.first()
            assert first is not None  # the same bytes were read once already
            for data, begin, end in lines.chunks(first[1] + 1):
                read = again.read(data, begin, end)
                assert read is not None
                yield again.event_id[: read[0]]

        pending.raise_(label, id_chunks)
    return _result(settings, sums, row0)


class _Lines:
    """A file read from its start a buffer of whole lines at a time (about
    ``_CHUNK_BYTES``), into one buffer reused from read to read. The file is read,
    not mapped: a file cut short while it is read ends early (:func:`score_file`
    then reports that it changed), where a mapping would end the process."""

    def __init__(self, handle: Any) -> None:
        handle.seek(0)
        self._handle = handle
        self._buffer = bytearray(_CHUNK_BYTES)
        self._view = memoryview(self._buffer)
        self._held = 0  # bytes at the buffer's start not yet given out
        self._eof = False
        self.declined = False  # a line longer than the plain reader takes

    def _fill(self) -> int:
        """Read until the buffer is full or the file ends; the bytes held."""
        while self._held < len(self._buffer) and not self._eof:
            got = self._handle.readinto(self._view[self._held :])
            if not got:
                self._eof = True
            else:
                self._held += got
        return self._held

    def _last_newline(self, begin: int) -> int:
        """The last newline in the bytes held from ``begin`` (read on, the buffer
        grown, while a line does not fit); -1 past the plain reader's longest line."""
        while True:
            newline = self._buffer.rfind(b"\n", begin, self._held)
            if newline >= 0 or self._eof:
                return newline
            if len(self._buffer) - begin > _core._CSV_MAX_LINE:
                return -1
            self._view.release()
            self._buffer.extend(bytes(len(self._buffer)))
            self._view = memoryview(self._buffer)
            self._fill()

    def rows_expected(self) -> int:
        """About how many lines the file holds: its size over the mean length of the
        lines in the buffer (a hint, for the id set's choice of pages)."""
        lines = self._buffer.count(b"\n", 0, self._held)
        size = os.fstat(self._handle.fileno()).st_size
        return size * lines // max(self._held, 1)

    def first(self) -> tuple[bytearray, int, int] | None:
        """The buffer, the offset of the first newline and the bytes held; ``None``
        for a file whose first line has no newline."""
        self._fill()
        if self._last_newline(0) < 0:
            return None
        return self._buffer, self._buffer.find(b"\n", 0, self._held), self._held

    def chunks(self, begin: int) -> Iterator[tuple[bytearray, int, int]]:
        """``(buffer, begin, end)``: each range of whole lines, the last line of the
        file with or without its newline; the buffer is refilled after each."""
        while True:
            newline = self._last_newline(begin)  # reads on while a line does not fit
            if self._eof:
                end = self._held
            elif newline < 0:
                self.declined = True
                return
            else:
                end = newline + 1
            if end > begin:
                yield self._buffer, begin, end
            if self._eof and end == self._held:
                return
            rest = self._held - end
            self._buffer[:rest] = bytes(self._view[end : self._held])  # (may overlap)
            self._held, begin = rest, 0
            self._fill()


class _PartTable:
    """The points table of one part of a file read a chunk at a time: a row for each
    dataset name and a column for each offence text the part has met, in the order
    it met them (the reader's words)."""

    def __init__(self, weights: Weights) -> None:
        self._weights = weights
        self._codes: tuple[list[int], list[int]] = ([], [])
        self._lookup = (_memo(dataset_lookup(weights)), _memo(offence_lookup(weights)))
        self._table = np.zeros((0, 0), np.int64)

    def update(self, reader: _core.PlainCsv, part: int) -> np.ndarray | None:
        """The table with the words met since the last call; ``None`` if one is refused."""
        grown = False
        for column in (0, 1):
            codes = self._codes[column]
            for word in reader.words(part, column, len(codes)):
                code = self._lookup[column](word.decode("ascii"))
                if isinstance(code, str):
                    return None
                codes.append(code)
                grown = True
        if grown:
            self._table = self._weights.points[np.ix_(*self._codes)]
        return self._table


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
        return None  # one of the five missing or named twice: the general reader names it
    kinds = {name: schema.field(name).type for name in COLUMNS}
    text = [name for name in ("dataset", "offence", "date") if pa.types.is_string(kinds[name])]
    if not (
        all(pa.types.is_integer(kinds[name]) for name in ("event_id", "nominal_id"))
        and all(pa.types.is_string(kinds[name]) for name in ("dataset", "offence"))
        and (pa.types.is_date32(kinds["date"]) or "date" in text)
    ):
        return None
    low, high = settings.days
    columns = _GroupColumns(settings.weights)
    sums, pending = _core.OneShotSums(source.metadata.num_rows), _Pending()
    whole = [(0, 0, settings.weights.points)]
    row0 = 0
    stage("check")
    try:
        source = pq.ParquetFile(path, read_dictionary=text)
        for table in _row_groups(source, list(COLUMNS), settings.threads):
            table.validate(full=True)
            got = columns.take(table)
            if got is None:
                return None
            stage("score")
            n = got[0].size
            whole[0] = (0, n, settings.weights.points)
            pending.add(sums, row0, *got, whole, low, high, settings.threads)
            row0 += n
    except (pa.ArrowException, OSError, ValueError, IndexError):
        return None
    label = parquet_row_label(path)
    if pending.any:

        def id_chunks() -> Iterator[np.ndarray]:
            for group in range(source.num_row_groups):
                ids = source.read_row_group(group, columns=["event_id"]).column(0)
                yield _numpy(ids).astype(np.int64, copy=False)

        pending.raise_(label, id_chunks)
    return _result(settings, sums, row0)


def _row_groups(source: Any, columns: list[str], threads: int) -> Iterator[Any]:
    """``source``'s row groups in order, only ``columns`` read (an export often has
    more). With two threads each group is read on a thread of its own while the
    caller works on the one before (pyarrow lets go of the GIL as it reads): a
    national file's job takes about a fifth less time. That thread decodes the
    group alone (``use_threads=False``): pyarrow's own pool would take the core the
    caller scores on. A caller that stops early waits, on closing this, for the read
    under way."""
    count = source.num_row_groups

    def read(group: int) -> Any:
        return source.read_row_group(group, columns=columns, use_threads=False)

    if threads == 1:
        for group in range(count):
            yield read(group)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1, thread_name_prefix="iomscore-parquet") as reader:
        ahead = reader.submit(read, 0) if count else None
        for group in range(1, count + 1):
            assert ahead is not None
            table = ahead.result()
            ahead = reader.submit(read, group) if group < count else None
            yield table


class _GroupColumns:
    """A row group's columns as the arrays ``OneShotSums.add`` takes: dataset and
    offence as their rows and columns in the weight table, each text value looked up
    once for the whole file."""

    def __init__(self, weights: Weights) -> None:
        datasets, offences = dataset_lookup(weights), offence_lookup(weights)
        self._text = {
            "dataset": _Values(lambda values: _codes_of(values.to_pylist(), datasets)),
            "offence": _Values(lambda values: _codes_of(values.to_pylist(), offences)),
            "date": _Values(_parse_days),
        }

    def take(self, table: object) -> tuple[np.ndarray, ...] | None:
        """``(event_id, nominal_id, day, dataset, offence)``; ``None`` at any fault."""
        import pyarrow as pa

        out = []
        for name in ("event_id", "nominal_id"):
            column = table.column(name)  # type: ignore[attr-defined]
            if column.null_count:
                return None
            ids = _numpy(column)
            if ids.size and (int(ids.min()) < 0 or int(ids.max()) > _INT64_MAX):
                return None
            out.append(ids.astype(np.int64, copy=False))
        date = table.column("date")  # type: ignore[attr-defined]
        if date.null_count:
            return None
        if pa.types.is_dictionary(date.type):  # dates as text: each value parsed once
            days = self._text["date"].rows(date)
        else:
            days = _numpy(date.cast(pa.int32()))
            if days.size and (days.min() < _FIRST_DAY or days.max() > _LAST_DAY):
                return None
        if days is None:
            return None
        out.append(np.ascontiguousarray(days, dtype=np.int32))
        for name in ("dataset", "offence"):
            codes = self._text[name].rows(table.column(name))  # type: ignore[attr-defined]
            if codes is None:
                return None
            out.append(codes)
        return tuple(out)


class _Values:
    """The codes of a text column's distinct values across a file's row groups: each
    value decoded once (``decode``: texts to int32 codes, or ``None`` to refuse), each
    group's dictionary matched against the values known so far in one call.
    ``decode`` is given the new values as an Arrow string array."""

    def __init__(self, decode: Callable[[object], np.ndarray | None]) -> None:
        import pyarrow as pa

        self._decode = decode
        self._known = pa.nulls(0, pa.string())  # pa.array([]) would import pandas
        self._codes = np.empty(0, np.int32)

    def rows(self, column: object) -> np.ndarray | None:
        """A dictionary column's rows as codes; ``None`` if a value is missing or refused."""
        parts = []
        for chunk in column.chunks:  # type: ignore[attr-defined]
            if chunk.null_count or chunk.dictionary.null_count:
                return None
            codes = self._of(chunk.dictionary)
            if codes is None:
                return None
            parts.append(codes[arrow_numpy(chunk.indices)])
        if len(parts) == 1:
            return parts[0]
        return np.concatenate(parts) if parts else np.empty(0, np.int32)

    def _of(self, dictionary: object) -> np.ndarray | None:
        import pyarrow as pa
        import pyarrow.compute as pc

        values = dictionary.cast(pa.string())  # type: ignore[attr-defined]
        at = pc.index_in(values, value_set=self._known)
        if at.null_count:
            new = values.filter(at.is_null())
            codes = self._decode(new)
            if codes is None:
                return None
            self._known = pa.concat_arrays([self._known, new])
            self._codes = np.concatenate([self._codes, codes])
            at = pc.index_in(values, value_set=self._known)
        return self._codes[arrow_numpy(at)]


def _numpy(column: object) -> np.ndarray:
    """A chunked column of integers without nulls as one numpy array."""
    chunks = [arrow_numpy(chunk) for chunk in column.chunks]  # type: ignore[attr-defined]
    return chunks[0] if len(chunks) == 1 else np.concatenate(chunks)


def _codes_of(values: list, lookup: Callable[[str], int | str]) -> np.ndarray | None:
    codes = [lookup(value) for value in values]
    if any(isinstance(code, str) for code in codes):
        return None
    return np.asarray(codes, dtype=np.int32)


def _parse_days(values: object) -> np.ndarray | None:
    # an Arrow array, not a list: pa.array(list) would import pandas (a fifth of a second)
    try:
        return _day_column(values, "date", row_label).astype(np.int32)
    except EventError:
        return None


def _memo(lookup: Callable[[str], int | str]) -> Callable[[str], int | str]:
    """``lookup`` once per distinct value across the parts of a file."""
    seen: dict[str, int | str] = {}

    def cached(value: str) -> int | str:
        if value not in seen:
            seen[value] = lookup(value)
        return seen[value]

    return cached
