"""The Engine: a thin, thread-safe API over the compiled store and kernels.

>>> from iomscore import Engine, Weights
>>> engine = Engine(Weights.default(), as_of="2026-11-26")
>>> report = engine.ingest({"event_id": [1], "nominal_id": [7], "dataset": ["arrest"],
...                        "offence": ["028/01"], "date": ["2026-01-05"]})
>>> engine.score(7) > 0
True

Concurrency: every change (ingest, retract, advance, reweight) holds the
write side of a readers-writer lock for its whole duration and every read
holds the read side, so a reader sees the state before or after a change,
never part of one. The compiled code releases the GIL while it runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from . import durable
from ._core import EventStore, csr_matvec
from ._rwlock import RWLock
from .archive import Archive
from .assessments import (
    AssessmentBatch,
    AssessmentBook,
    AssessmentList,
    AssessmentTable,
    encode_assessments,
    expiry_days,
)
from .batch import (
    EncodedBatch,
    RowLabel,
    distinct_ids,
    encode_events,
    row_label,
    sorted_with_rows,
)
from .calendar import (
    MAX_WINDOW_YEARS,
    day_number,
    expiry,
    expiry_day,
    from_day_number,
    parse_date,
    window_start,
    years_before,
)
from .changelog import ChangeLog, ChangeTable
from .cohort import (
    DEFAULT_AREAS,
    UNOWNED,
    Decision,
    DecisionBook,
    OwnershipBook,
    SelectionTable,
    check_areas,
    encode_decisions,
    encode_ownership,
)
from .durable import Journal
from .errors import EngineError, EventError, RecordError, StateError
from .explanation import EventHistory, Explanation, Forecast, ForecastSteps, Timeline
from .interventions import Catalogue, InterventionTable, encode_interventions
from .records import AuditEntry, Records
from .reference import ASSESSMENT_PREFIX, DEFAULT_THRESHOLDS
from .results import (
    BAND_NAMES,
    AdvanceReport,
    AssessReport,
    BandChanges,
    IngestReport,
    RetractReport,
    ReweightReport,
    ScoreTable,
    WhatIf,
    band_codes,
)
from .weights import Weights

__all__ = ["CountMatrix", "Engine", "EngineError", "WeightsRecord"]


@dataclass(frozen=True)
class WeightsRecord:
    """One weight table the engine has scored with, in order of use."""

    name: str
    sha256: str
    as_of: datetime.date
    mode: str  # "initial", "full", "partial" or "none"


@dataclass(frozen=True)
class CountMatrix:
    """The sparse nominal-by-(dataset, offence) count matrix, CSR.

    Row ``r`` is the nominal ``nominal_id[r]``, rows in ascending nominal_id
    order, one for every nominal the engine has held (a nominal with no live
    event has an empty row); column ``k`` is the kind
    ``dataset_index * n_offences + offence_index`` of the weight table;
    ``data`` holds the number of that nominal's live events of that kind
    (uint16 when every count fits, else int32). Kinds ascend within a row.
    """

    nominal_id: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    n_kinds: int

    @property
    def nnz(self) -> int:
        return int(self.indices.shape[0])

    def to_scipy(self):  # pragma: no cover - optional peer
        import scipy.sparse as sp

        shape = (self.indptr.shape[0] - 1, self.n_kinds)
        return sp.csr_array((self.data, self.indices.astype(np.int32), self.indptr), shape=shape)


def _whole(value: object, name: str) -> int:
    """An id: a whole number in 0..2**63-1, or an EngineError naming it."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise EngineError(f"{name} must be an integer, not {value!r}")
    if not 0 <= value < 2**63:
        raise EngineError(f"{name} {value} is outside 0..2**63-1")
    return int(value)


def _nominal_ids(values: Iterable[int] | np.ndarray) -> list[int]:
    """Many nominal ids (an iterable, or an array), each checked as :func:`_whole`
    checks one: a float, text or a negative id is an EngineError naming it."""
    items = values.tolist() if isinstance(values, np.ndarray) else list(values)
    return [_whole(value, "nominal_id") for value in items]


_NO_ROWS = (
    np.empty(0, np.int64),
    np.empty(0, np.int32),
    np.empty(0, np.int8),
    np.empty(0, np.int64),
    np.empty(0, np.int32),
)


def _ids_to_withdraw(values: object, error: type[EventError], what: str) -> np.ndarray:
    """Ids to retract, distinct and sorted (int64): integers, one dimension, in the
    int64 range; else ``error`` naming the field ``<what>_id``."""
    field_name = f"{what}_id"
    if isinstance(values, set | frozenset | dict):
        values = list(values)
    array = np.atleast_1d(np.asarray(values))
    if array.ndim != 1 or (array.size and array.dtype.kind not in "iu"):
        raise error(f"{what} ids to retract must be integers", field=field_name)
    too_big = array > np.iinfo(np.int64).max if array.dtype.kind == "u" else None
    if too_big is not None and too_big.any():
        row = int(np.flatnonzero(too_big)[0])
        raise error(
            f"row {row + 1}, field {field_name!r}: {array[row]} exceeds the int64 range",
            row=row,
            field=field_name,
        )
    return distinct_ids(array.astype(np.int64))


def _rows_of(table, keep: np.ndarray):
    """A columnar result with only the rows ``keep`` marks (its other fields kept)."""
    n = keep.shape[0]
    changes = {
        f.name: getattr(table, f.name)[keep]
        for f in dataclasses.fields(table)
        if isinstance(getattr(table, f.name), np.ndarray)
        and getattr(table, f.name).shape[:1] == (n,)
    }
    return dataclasses.replace(table, **changes)


def _now() -> str:
    """The time of a change or audited read: UTC, ISO 8601, to the microsecond."""
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds")


def _run_base(owner: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For values grouped by owner (runs), the sum of the values before each entry's
    run: ``np.cumsum(values) - _run_base(...)`` is a cumulative sum within runs."""
    if owner.size == 0:
        return np.empty(0, np.int64)
    starts = np.flatnonzero(np.concatenate(([True], owner[1:] != owner[:-1])))
    before = np.concatenate(([0], np.cumsum(values)))[starts]
    return np.repeat(before, np.diff(np.append(starts, owner.size)))


def _first_by_owner(owner: np.ndarray, hit: np.ndarray, n: int) -> np.ndarray:
    """For owners 0..n-1 (entries grouped by owner), the position of each owner's
    first entry where ``hit`` holds (each has one: a banded nominal's last entry
    leaves it NONE)."""
    at = np.flatnonzero(hit)
    owners, first = np.unique(owner[at], return_index=True)
    out = np.zeros(n, np.int64)
    out[owners] = at[first]
    return out


def _as_date(value: datetime.date | str) -> datetime.date:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return parse_date(value)
        except ValueError as exc:
            raise EngineError(str(exc)) from None
    raise TypeError(
        f"a date must be a datetime.date or 'YYYY-MM-DD' text, not {type(value).__name__}"
    )


def _check_weights(weights: object) -> Weights:
    if not isinstance(weights, Weights):
        raise TypeError(
            f"weights must be a Weights table (Weights.load(path)), not {type(weights).__name__}"
        )
    return weights


def _store_arguments(
    weights: Weights, as_of: datetime.date, window_years: int, thresholds: Sequence[int]
) -> tuple[int, int, int, np.ndarray, np.ndarray]:
    """``EventStore``'s arguments for an engine at ``as_of``: a ring of days longer than
    the window, D and the window's start (day numbers), points by kind, thresholds."""
    return (
        366 * window_years + 2,
        day_number(as_of),
        day_number(window_start(as_of, window_years)),
        weights.kind_points(),
        np.asarray(thresholds, dtype=np.int64),
    )


def _check_thresholds(thresholds: Sequence[int]) -> tuple[int, int, int]:
    values = tuple(int(t) for t in thresholds)
    if len(values) != 3 or not (0 < values[0] < values[1] < values[2]):
        raise EngineError(
            f"thresholds must be three increasing positive integers, got {thresholds!r}"
        )
    return values  # type: ignore[return-value]


class Engine:
    """Scores a cohort of nominals under a weight table, kept current as events change.

    Parameters
    ----------
    weights : Weights, optional
        The table of points; the shipped default when omitted.
    as_of : datetime.date or str
        The scoring date D (``YYYY-MM-DD``).
    window_years : int
        Length of the window (years, default 2; rule 3).
    thresholds : three ints
        Lowest score of LOW, MEDIUM and HIGH (points; default 250, 500, 1000).
    threads : {1, 2}
        Threads a large step may use: with 2 (the default where the machine has
        two cores or more), a bulk load, a day's events or expiry of 8,192 or
        more and a full rescore split their work with one helper thread, which
        sleeps between operations. With 1 every step runs on
        the calling thread.
    intervention_kinds : Catalogue, optional
        The kinds of intervention (``weights/interventions.csv`` when omitted).
    assessment_table : AssessmentTable, optional
        Points for ASSET and OASys scores (rule 10); ``weights/assessments.csv``
        when omitted.
    areas : sequence of str, optional
        The areas (local boards) that own nominals; the seven West Midlands
        boroughs (:data:`iomscore.cohort.DEFAULT_AREAS`) when omitted.
    selection_band : {"LOW", "MEDIUM", "HIGH"}
        A nominal not selected is a candidate at this band or above.
    flex_groups : sequence of str, optional
        The offence groups of the Flex strand (local priorities;
        :data:`iomscore.groups.DEFAULT_FLEX` when omitted).
    history_years : int
        How long events are kept after they leave the window (years, default
        2): the archive that timelines and past scores (rule 9) count, and the
        change log. Events dated on or before ``as_of - window_years -
        history_years`` (the retention horizon) are purged for good.
    """

    #: Event slots written since the lookup by nominal was built that it keeps,
    #: sorted by nominal, before it is rebuilt (about two national days' events).
    RECENT_SLOTS = 65_536

    def __init__(
        self,
        weights: Weights | None = None,
        as_of: datetime.date | str | None = None,
        *,
        window_years: int = 2,
        thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
        threads: int | None = None,
        history_years: int = 2,
        intervention_kinds: Catalogue | None = None,
        assessment_table: AssessmentTable | None = None,
        areas: Sequence[str] | None = None,
        selection_band: str = "LOW",
        flex_groups: Sequence[str] | None = None,
    ) -> None:
        if as_of is None:
            raise EngineError("as_of is required: the date the scores are for (YYYY-MM-DD)")
        if not isinstance(window_years, int) or not 1 <= window_years <= MAX_WINDOW_YEARS:
            raise EngineError(f"window_years must be an integer from 1 to {MAX_WINDOW_YEARS}")
        if type(history_years) is not int or not 0 <= history_years <= MAX_WINDOW_YEARS:
            raise EngineError(
                f"history_years must be an integer from 0 to {MAX_WINDOW_YEARS}, "
                f"not {history_years!r}"
            )
        self._history_years = history_years
        self._intervention_kinds = (
            Catalogue.default() if intervention_kinds is None else intervention_kinds
        )
        self._weights = Weights.default() if weights is None else _check_weights(weights)
        if assessment_table is None:
            assessment_table = AssessmentTable.default()
        elif not isinstance(assessment_table, AssessmentTable):
            kind = type(assessment_table).__name__
            raise EngineError(f"assessment_table must be an AssessmentTable, not {kind}")
        self._assessment_table = assessment_table
        self._book = AssessmentBook(len(assessment_table.tools))
        self._areas = check_areas(DEFAULT_AREAS if areas is None else areas)
        if selection_band not in BAND_NAMES[1:]:
            raise EngineError(
                f"selection_band must be one of {', '.join(BAND_NAMES[1:])}, not {selection_band!r}"
            )
        self._selection_band = selection_band
        self._owners = OwnershipBook()
        self._decisions = DecisionBook()
        self._flex = None if flex_groups is None else tuple(str(g) for g in flex_groups)
        self._groups = None  # the offence groups (weights/offence_groups.csv), on first use
        self._as_of = self._check_calendar(_as_date(as_of), window_years, history_years)
        self._window_years = window_years
        self._thresholds = _check_thresholds(thresholds)
        if threads is None:
            threads = 2 if (os.cpu_count() or 1) >= 2 else 1
        if type(threads) is not int or threads not in (1, 2):
            raise EngineError(f"threads must be 1 or 2, not {threads!r}")
        self._threads = threads
        self._store = EventStore(
            *_store_arguments(self._weights, self._as_of, window_years, self._thresholds),
            threads=threads,
        )
        self._lock = RWLock()
        self._cache_lock = threading.Lock()
        self._version = 0
        self._matrix_cache: tuple[int, CountMatrix, np.ndarray] | None = None
        self._csc_cache: tuple[int, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        self._by_id_cache = np.empty(0, dtype=np.int64)
        self._by_id_lock = threading.Lock()
        self._history = [
            WeightsRecord(self._weights.name, self._weights.sha256, self._as_of, "initial")
        ]
        self._archive = Archive()
        self._changelog = ChangeLog()
        self._tables = {self._weights.sha256: self._weights}  # every table used, by SHA-256
        self._assessment_tables = {assessment_table.sha256: assessment_table}
        # durable state (Engine.open): the directory, its journal and writer lock
        self._directory: Path | None = None
        self._journal: Journal | None = None
        self._lock_fd: int | None = None
        self._readonly = False
        # weight tables, the change log as stored and the audit log: in memory here,
        # in the directory's records.sqlite for an engine opened from one
        self._records = Records(None)
        self._records.commit(
            None,
            time=_now(),
            user=None,
            reason=None,
            operation="create",
            touched=np.empty(0, np.int64),
            day=self._as_of,
            changes=BandChanges.empty(),
        )
        # while a journal record is replayed: its key and context
        self._replaying: tuple[tuple[int, int], dict] | None = None
        self._audit_head: tuple[int, str] | None = None  # at the last checkpoint
        self._replayed = 0  # journal records replayed when opened
        self._records_readonly = False  # a read-only open: replay writes no records
        self._records_behind = False  # a journaled change whose records failed to write
        self._names_cache: tuple[Weights, np.ndarray] | None = None
        self._expiry_cache: tuple[datetime.date, int, np.ndarray] | None = None

    @staticmethod
    def _check_calendar(
        as_of: datetime.date, window_years: int, history_years: int
    ) -> datetime.date:
        """An as_of whose retention horizon and expiries are dates of the calendar."""
        first = 1 + window_years + history_years
        last = datetime.MAXYEAR - window_years
        if not first <= as_of.year <= last:
            raise EngineError(
                f"as_of {as_of} is outside the years {first}-{last} that a window of "
                f"{window_years} years and a history of {history_years} years allow"
            )
        return as_of

    # -- state -------------------------------------------------------------------
    @property
    def weights(self) -> Weights:
        """The table scores are current for."""
        return self._weights

    @property
    def as_of(self) -> datetime.date:
        """The scoring date D."""
        return self._as_of

    @property
    def window_start(self) -> datetime.date:
        """The window's exclusive lower bound: events dated after it and up to D count."""
        with self._lock.read():
            return from_day_number(self._store.start)

    @property
    def window_years(self) -> int:
        return self._window_years

    @property
    def thresholds(self) -> tuple[int, int, int]:
        return self._thresholds

    @property
    def threads(self) -> int:
        """Threads a large step may use (1 or 2; see the class doc)."""
        return self._threads

    @property
    def history(self) -> list[WeightsRecord]:
        """Every weight table scored with, oldest first."""
        return list(self._history)

    @property
    def history_years(self) -> int:
        """Years events are kept after they leave the window (see the class doc)."""
        return self._history_years

    @property
    def retention_horizon(self) -> datetime.date:
        """Events dated on or before this date are purged: ``as_of`` less
        ``window_years + history_years`` years (29 February maps to 28 February)."""
        return years_before(self._as_of, self._window_years + self._history_years)

    @property
    def history_start(self) -> datetime.date:
        """The earliest date with its whole window retained: the first date a
        timeline or :meth:`scores_at` can be asked for (rule 7 applied to the
        retention horizon)."""
        return expiry(self.retention_horizon, self._window_years)

    def __len__(self) -> int:
        """Live events in the window."""
        with self._lock.read():
            return int(self._store.live_events)

    def memory(self) -> dict[str, float]:
        """Bytes held by the store, and per buffered event.

        ``cache_bytes`` is held apart from the store, by the count matrix (with
        its rows' store indices) and its CSC copy while they are current; they
        are built on demand and dropped (at the next build) once the events
        change. ``assessment_bytes`` is held by the assessments (their columns
        and, for each nominal and tool, the one that counts).
        """
        with self._lock.read():
            live = int(self._store.live_events)
            event_bytes = int(self._store.event_memory_bytes())
            archived = len(self._archive)
            return {
                "live_events": live,
                "event_bytes": event_bytes,
                "total_bytes": int(self._store.memory_bytes()),
                "bytes_per_event": event_bytes / live if live else float("nan"),
                "archived_events": archived,
                "archive_bytes": self._archive.nbytes,
                "archive_bytes_per_event": (
                    self._archive.nbytes / archived if archived else float("nan")
                ),
                "cache_bytes": self._cache_bytes(),
                "assessments": len(self._book),
                "assessment_bytes": self._book.nbytes,
            }

    def _cache_bytes(self) -> int:
        with self._cache_lock:
            arrays: list[np.ndarray] = []
            if self._matrix_cache is not None:
                m = self._matrix_cache[1]
                arrays += [m.nominal_id, m.indptr, m.indices, m.data, self._matrix_cache[2]]
            if self._csc_cache is not None:
                arrays += list(self._csc_cache[1])
            lookups = self._store.nominal_lookup_bytes() + self._archive.lookup_nbytes
            return sum(int(a.nbytes) for a in arrays) + lookups

    def __repr__(self) -> str:
        return (
            f"Engine(as_of={self._as_of}, events={len(self)}, weights={self._weights.name!r} "
            f"{self._weights.short_hash()})"
        )

    # -- durable state ---------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        weights: Weights | None = None,
        as_of: datetime.date | str | None = None,
        create: bool = False,
        readonly: bool = False,
        window_years: int = 2,
        thresholds: Sequence[int] = DEFAULT_THRESHOLDS,
        history_years: int = 2,
        threads: int | None = None,
        assessment_table: AssessmentTable | None = None,
        areas: Sequence[str] | None = None,
        selection_band: str = "LOW",
        flex_groups: Sequence[str] | None = None,
    ) -> Engine:
        """Open an engine directory, or create one (``create=True``).

        Every change of the returned engine is on disk (journaled and flushed)
        before its call returns; :meth:`checkpoint` writes a snapshot and starts
        an empty journal; :meth:`close` (or leaving a ``with`` block) closes it.
        One process at a time may open a directory for writing; others may open
        it ``readonly``, to read the state its last change left.

        Parameters
        ----------
        path : str or path-like
            The directory (created with ``create=True``; its parent must exist).
        weights, as_of, window_years, thresholds, history_years, assessment_table, areas,
        selection_band, flex_groups
            The new engine's settings, with ``create=True`` (``as_of`` required,
            ``weights`` and ``assessment_table`` the shipped tables when
            omitted). An existing directory keeps its own: giving them is an
            error.
        readonly : bool
            Open without the writer lock; every change is refused.
        threads : {1, 2}, optional
            As for :class:`Engine`.

        Raises
        ------
        StateError
            A damaged or missing file or section, a newer format version, a
            directory held by another writer, or (``create``) one that already
            holds an engine. The message names the file and section.
        """
        from .persist import replay, restore

        directory = Path(path)
        if create:
            if readonly:
                raise EngineError("create=True makes a directory to write: not readonly")
            if (directory / durable.SNAPSHOT).exists():
                raise StateError(f"{directory}: already holds an engine (open it without create)")
            try:
                directory.mkdir(exist_ok=True)
            except OSError as exc:
                raise StateError(f"{directory}: cannot create it ({exc.strerror})") from None
            fd = durable.lock_directory(directory)
            try:
                if (directory / durable.SNAPSHOT).exists():  # made while we waited to lock
                    raise StateError(
                        f"{directory}: already holds an engine (open it without create)"
                    )
                engine = cls(
                    weights,
                    as_of,
                    window_years=window_years,
                    thresholds=thresholds,
                    threads=threads,
                    history_years=history_years,
                    assessment_table=assessment_table,
                    areas=areas,
                    selection_band=selection_band,
                    flex_groups=flex_groups,
                )
                engine._records.close()
                engine._records = Records(directory, create=True)
                engine._records.commit(
                    None,
                    time=_now(),
                    user=None,
                    reason=None,
                    operation="create",
                    touched=np.empty(0, np.int64),
                    day=engine._as_of,
                    changes=BandChanges.empty(),
                    tables=[
                        (engine.weights.sha256, engine.weights.name, engine.weights.to_csv_text())
                    ],
                    assessment_tables=[
                        (
                            engine.assessment_table.sha256,
                            engine.assessment_table.name,
                            engine.assessment_table.to_csv_text(),
                        )
                    ],
                )
                engine._attach(directory, fd, generation=0, records=None)
            except BaseException:
                os.close(fd)
                raise
            return engine
        settings = (weights, as_of, assessment_table, areas, flex_groups)
        if any(value is not None for value in settings) or selection_band != "LOW":
            raise EngineError(
                "weights, as_of, assessment_table, areas, selection_band and flex_groups set "
                "up a new directory (create=True); an existing one keeps its own (reweight or "
                "advance it instead)"
            )
        if not directory.is_dir():
            raise StateError(f"{directory}: no such engine directory")
        fd = None if readonly else durable.lock_directory(directory)
        try:
            for _ in range(100):  # a reader may meet a checkpoint half done: read again
                state = durable.read_snapshot(directory, check_later=True)
                generation, records, end = durable.Journal.read(directory)
                expected = state.meta.get("generation")
                if generation == expected or not readonly:
                    break
                state.check()  # its checksums taken before it is dropped: no thread outlives it
                time.sleep(0.01)
            if generation > expected:
                raise StateError(
                    f"{directory / durable.JOURNAL}: journal generation {generation} follows "
                    f"a snapshot of generation {expected}; the snapshot is missing changes"
                )
            if generation == expected - 1:  # a checkpoint cut before its new journal
                records, end = [], None  # (the snapshot holds every change of this one)
            elif generation < expected:
                raise StateError(
                    f"{directory / durable.JOURNAL}: journal generation {generation} is older "
                    f"than the snapshot's ({expected}) by more than one checkpoint"
                )
            engine = restore(state, cls, threads, directory, readonly)
            del state  # the snapshot's bytes (its arrays are views of them), before the replay
            engine._replayed = len(records)
            engine._records_readonly = readonly
            for record in records:
                engine._replaying = ((generation, record.sequence), record.context)
                try:
                    replay(engine, record)
                finally:
                    engine._replaying = None
            if readonly:
                engine._directory, engine._readonly = directory, True
            else:
                engine._attach(directory, fd, expected, (len(records), end))
        except BaseException:
            if fd is not None:
                os.close(fd)
            raise
        return engine

    def _attach(
        self, directory: Path, fd: int, generation: int, records: tuple[int, int | None] | None
    ) -> None:
        """Journal this engine's changes in ``directory`` from now on. With
        ``records`` None (a new directory, or a stale journal) the snapshot and an
        empty journal are written first."""
        from .persist import capture

        if records is None or records[1] is None:
            # the journal first: a directory with a journal and no snapshot is one
            # whose creation was cut short, which create=True makes again
            durable.Journal.create(directory, generation)
            if records is None:
                durable.write_snapshot(directory, capture(self, generation))
            count, end = 0, durable.journal_start()
        else:
            count, end = records
        self._journal = durable.Journal.open_for_append(directory, generation, count, end)
        self._directory, self._lock_fd = directory, fd

    @property
    def journal_records(self) -> int:
        """Changes journaled since the last checkpoint (0 for an in-memory engine)."""
        if self._journal is not None:
            return self._journal.records
        return self._replayed

    def checkpoint(self) -> int:
        """Write a snapshot of the whole state and start an empty journal; returns
        the snapshot's size (bytes). Reopening then reads the snapshot alone."""
        from .persist import capture

        self._check_writable()
        with self._lock.write():
            if self._journal is None or self._directory is None:
                raise EngineError("only an engine opened from a directory can checkpoint")
            if self._records_behind:
                raise StateError(
                    f"{self._directory}: records.sqlite lacks the records of a journaled change "
                    "(its write failed); reopen the directory, which writes them, then checkpoint"
                )
            generation = self._journal.generation + 1
            self._records.settle()  # deleted rows leave the database file for good
            self._audit_head = self._records.audit_head()
            size = durable.write_snapshot(self._directory, capture(self, generation))
            self._journal.close()
            durable.Journal.create(self._directory, generation)
            self._journal = durable.Journal.open_for_append(
                self._directory, generation, 0, durable.journal_start()
            )
            return size

    def close(self) -> None:
        """Close the directory (its journal and writer lock). Nothing is lost: every
        change is on disk already. An in-memory engine has nothing to close."""
        with self._lock.write():
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None
            if self._directory is not None:
                self._records.close()
                self._readonly = True  # a closed engine takes no more changes
                self._closed = True

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_writable(self) -> None:
        if self._readonly:
            state = "closed" if getattr(self, "_closed", False) else "opened read-only"
            raise EngineError(f"this engine's directory {self._directory} is {state}: no changes")

    def _context(self, user: str | None, reason: str | None) -> dict:
        """A change's context for the journal and the audit log (a replayed change
        keeps the one it was journaled with)."""
        if self._replaying is not None:
            return self._replaying[1]
        for name, value in (("user", user), ("reason", reason)):
            if value is not None and not isinstance(value, str):
                raise EngineError(f"{name} must be a string, not {type(value).__name__}")
        return {"time": _now(), "user": user, "reason": reason}

    def _log(self, payload: Callable[[], bytes]) -> tuple[int, int] | None:
        """Journal a change (durable before it is applied), if the engine has a
        directory; returns its key (generation, sequence) for the records."""
        if self._journal is not None:
            self._journal.append(payload())
            return self._journal.generation, self._journal.records
        if self._replaying is not None:
            return self._replaying[0]
        if self._directory is not None:  # closed meanwhile: never apply unjournaled
            raise EngineError(f"this engine's directory {self._directory} is closed: no changes")
        return None

    @contextlib.contextmanager
    def _undone_if_failed(self, key: tuple[int, int] | None) -> Iterator[None]:
        """Apply a journaled change: if applying it fails (memory ran out: the store
        is then unchanged), its journal record is taken back before the error goes on."""
        try:
            yield
        except BaseException:
            if key is not None and self._journal is not None and self._replaying is None:
                self._journal.undo_last()
            raise

    def _commit(
        self,
        key: tuple[int, int] | None,
        context: dict,
        operation: str,
        touched: np.ndarray,
        changes: BandChanges,
        *,
        tables: Sequence[tuple[str, str, str]] = (),
        assessment_tables: Sequence[tuple[str, str, str]] = (),
        assessments: tuple[AssessmentBatch, np.ndarray] | None = None,
        assessments_removed: np.ndarray | None = None,
        purge_through: datetime.date | None = None,
    ) -> None:
        """Write a change's records: its audit entry and, for an engine with a
        directory, its band changes, any new weight or assessment table and the
        assessments it adds or removes. If that fails, the journal still holds
        the change, and reopening writes its records: until then a checkpoint
        (which would end the journal) is refused."""
        if self._replaying is not None and self._records_readonly:
            return  # a read-only open replays the journal without writing records
        rows: Iterable[tuple] = ()
        if key is not None and assessments is not None:
            batch, take = assessments
            tools = np.array(self._assessment_table.tools, dtype=object)[batch.tool[take]]
            dates = batch.day[take].astype("datetime64[D]").astype(str)
            rows = zip(
                batch.assessment_id[take].tolist(),
                batch.nominal_id[take].tolist(),
                tools.tolist(),
                batch.score[take].tolist(),
                dates.tolist(),
                strict=True,
            )
        try:
            self._records.commit(
                key,
                time=context["time"],
                user=context["user"],
                reason=context["reason"],
                operation=operation,
                touched=touched,
                day=self._as_of,
                changes=changes if key is not None else BandChanges.empty(),
                tables=tables if key is not None else (),
                assessment_tables=assessment_tables if key is not None else (),
                assessments=rows,
                assessments_removed=(
                    assessments_removed.tolist()
                    if key is not None and assessments_removed is not None
                    else ()
                ),
                purge_through=purge_through if key is not None else None,
            )
        except BaseException:
            if key is not None:
                self._records_behind = True
            raise

    def _audit_read(self, operation: str, nominal_id: int, user: str | None, reason: str | None):
        """Record a read of one nominal's record, when the caller names a user."""
        if user is None:
            return
        if not isinstance(user, str) or not (reason is None or isinstance(reason, str)):
            raise EngineError("user and reason must be strings")
        self._records.audit_read(
            time=_now(), user=user, operation=operation, nominal_id=int(nominal_id), reason=reason
        )

    def audit(self, user: str | None = None, nominal_id: int | None = None) -> list[AuditEntry]:
        """The audit log, oldest first: every change (with the user id and reason its
        caller gave) and every read of one nominal's record made with a user id;
        of one user, or naming one nominal."""
        with self._lock.read():
            return self._records.audit(user, nominal_id)

    def verify(self) -> str | None:
        """Check the audit log's hash chain: a message naming the first entry edited
        or deleted, or None. (Opening checks the snapshot's and journal's checksums.)"""
        with self._lock.read():
            return self._records.verify(self._audit_head)

    # -- changes -------------------------------------------------------------------
    def ingest(
        self,
        events: object,
        *,
        replace: bool = False,
        future: Literal["error", "skip"] = "error",
        label: RowLabel = row_label,
        user: str | None = None,
        reason: str | None = None,
    ) -> IngestReport:
        """Take a batch of events, whole or not at all.

        Parameters
        ----------
        events : mapping of columns, pyarrow Table, pandas DataFrame or Cohort
            Columns ``event_id, nominal_id, dataset, offence, date``.
        replace : bool
            An event_id already held with different content is an error unless
            True, when the new content replaces the old in the same step.
        future : {"error", "skip"}
            An event dated after as_of is an error, or (``"skip"``) counted in
            the report and not taken: rule 3 does not count it at as_of.
        label : callable
            Names a row in error messages (the CLI names file lines).
        user, reason : str, optional
            Who made the change and why, for the audit log (a pseudonymous user
            id; every change is audited, with or without one).

        Returns
        -------
        IngestReport
            Rows taken, before the window (expired), identical duplicates,
            replaced, after as_of; and the band changes.

        Raises
        ------
        EventError
            Any fault of the batch, naming the row and field; nothing is taken.
        """
        batch = encode_events(events, self._weights, label=label)
        return self.ingest_encoded(
            batch, replace=replace, future=future, label=label, user=user, reason=reason
        )

    def ingest_encoded(
        self,
        batch: EncodedBatch,
        *,
        replace: bool = False,
        future: Literal["error", "skip"] = "error",
        label: RowLabel = row_label,
        user: str | None = None,
        reason: str | None = None,
    ) -> IngestReport:
        """:meth:`ingest` for a batch already checked by :func:`iomscore.batch.encode_events`.

        The batch must have been encoded against this engine's current table.
        """
        self._check_writable()
        if future not in ("error", "skip"):
            raise EngineError(f"future must be 'error' or 'skip', not {future!r}")
        if batch.layout != self._weights.layout:
            raise EngineError(
                "the batch was encoded against a weight table with other datasets or "
                "offence codes than this engine's: encode it with engine.weights"
            )
        with self._lock.write():
            store = self._store
            # classify looks the nominals up too, on both threads, for apply
            nominal_index = np.empty(len(batch), dtype=np.int32)
            status = store.classify(
                batch.event_id, batch.nominal_id, batch.kind, batch.day, nominal_index
            )
            action, plan = store.plan(status, batch.day)  # one pass; changes nothing
            if future == "error" and plan["first_after"] >= 0:
                row = plan["first_after"]
                raise EventError(
                    f"{label(row)}, field 'date': {from_day_number(batch.day[row])} is after "
                    f"as_of {self._as_of} (advance the engine first)",
                    row=row,
                    field="date",
                )
            if plan["first_conflict"] >= 0 and not replace:
                row = plan["first_conflict"]
                raise EventError(
                    f"{label(row)}, field 'event_id': event {int(batch.event_id[row])} is already "
                    "held with different content (pass replace=True to correct it)",
                    row=row,
                    field="event_id",
                )
            context = self._context(user, reason)
            key = self._log(
                lambda: durable.encode_ingest(
                    context,
                    batch.event_id,
                    batch.nominal_id,
                    batch.kind,
                    batch.day,
                    replace,
                    future,
                )
            )
            with self._undone_if_failed(key):
                store.apply(
                    batch.event_id, batch.nominal_id, batch.kind, batch.day, action, nominal_index
                )
            self._version += 1
            self._note_written(batch.event_id)
            changes = self._band_changes("ingest")
            self._commit(key, context, "ingest", batch.nominal_id, changes)
            return IngestReport(
                received=len(batch),
                taken=plan["taken"],
                expired=plan["expired"],
                duplicates=plan["duplicates"],
                replaced=plan["conflicts"],
                future=plan["future"],
                changes=changes,
            )

    def retract(
        self,
        event_ids: int | Iterable[int] | np.ndarray,
        *,
        user: str | None = None,
        reason: str | None = None,
    ) -> RetractReport:
        """Withdraw events by id, from the window and the archive; ids the engine does
        not hold are reported in ``unknown``. ``user`` and ``reason`` go to the audit
        log."""
        ids = _ids_to_withdraw(event_ids, EventError, "event")
        self._check_writable()
        with self._lock.write():
            slots = self._store.find_events(ids)
            held = slots >= 0
            # an archived copy goes too: a withdrawn event never counted (rule 9)
            gone = self._archive.find(ids)
            archived = np.isin(ids, self._archive.columns(gone)[0])
            context = self._context(user, reason)
            key = None
            if held.any() or archived.any():
                key = self._log(lambda: durable.encode_retract(context, ids))
            touched = self._store.event_nominals()[slots[held]]
            with self._undone_if_failed(key):
                self._store.retract(np.ascontiguousarray(slots[held]))
            if archived.any():
                with self._cache_lock:
                    touched = np.concatenate((touched, self._archive.remove(ids[archived])))
            touched = self._store.nominal_ids()[touched]
            self._version += 1
            found = held | archived
            changes = self._band_changes("retract")
            self._commit(key, context, "retract", touched, changes)
            return RetractReport(retracted=int(found.sum()), unknown=ids[~found], changes=changes)

    def advance(
        self, as_of: datetime.date | str, *, user: str | None = None, reason: str | None = None
    ) -> AdvanceReport:
        """Move D forward; events leaving the window stop counting (and move to the
        archive). Moving back is an error. ``user`` and ``reason`` go to the audit log."""
        new = self._check_calendar(_as_date(as_of), self._window_years, self._history_years)
        self._check_writable()
        with self._lock.write():
            if new < self._as_of:
                raise EngineError(f"cannot move as_of back from {self._as_of} to {new}")
            context = self._context(user, reason)
            key = self._log(lambda: durable.encode_advance(context, day_number(new)))
            start = window_start(new, self._window_years)
            with self._undone_if_failed(key):
                expired, leaving = self._store.advance(day_number(new), day_number(start), True)
                # assessments leave the window in the same step, one report
                noms, delta = self._book.expire(day_number(start))
                self._store.add_scores(noms, delta, False)
            self._as_of = new
            self._version += 1
            horizon = day_number(self.retention_horizon)
            with self._cache_lock:
                self._archive_leaving(leaving, horizon)
                self._archive.purge(horizon)
            self._book.purge(horizon)
            self._changelog.purge(horizon)
            changes = self._band_changes("advance")
            self._commit(
                key,
                context,
                "advance",
                self._store.nominal_ids()[leaving[1]],
                changes,
                purge_through=self.retention_horizon,
            )
            return AdvanceReport(new, int(expired), changes)

    def _archive_leaving(self, leaving: tuple[np.ndarray, ...], horizon: int) -> None:
        """Move the events that left the window to the archive, in day order."""
        ids, noms, kinds, days = leaving
        if days.size > 1 and np.any(days[1:] < days[:-1]):  # a jump past the whole ring
            order = np.argsort(days, kind="stable")
            ids, noms, kinds, days = ids[order], noms[order], kinds[order], days[order]
        keep = days > horizon
        if not keep.all():
            ids, noms, kinds, days = ids[keep], noms[keep], kinds[keep], days[keep]
        self._archive.append(ids, noms, kinds, days)

    def _band_changes(self, cause: str) -> BandChanges:
        """The band changes of the store's last operation, recorded in the change log."""
        changes = BandChanges(*self._store.band_changes(self._by_id))
        self._changelog.record(day_number(self._as_of), cause, changes)
        return changes

    def _note_written(self, event_ids: np.ndarray) -> None:
        """Keep explain's lookup by nominal current after a batch (see
        ``EventStore.note_written``)."""
        with self._cache_lock:
            self._store.note_written(
                np.ascontiguousarray(event_ids, dtype=np.int64), self.RECENT_SLOTS
            )

    # -- reads ---------------------------------------------------------------------------
    def scores(self, area: str | None = None) -> ScoreTable:
        """Every nominal with a live event or a counting assessment: ``nominal_id, score,
        band`` in rule 6's order; with ``area``, those it owns at as_of (or
        :data:`iomscore.cohort.UNOWNED`)."""
        with self._lock.read():
            table = self._scores_locked()
            if area is None:
                return table
            return _rows_of(table, self._in_area(table.nominal_id, area, day_number(self._as_of)))

    def _scores_locked(self) -> ScoreTable:
        by_id = self._by_id()
        counted = self._store.live_counts() > 0
        if self._book.any_counting():  # rule 10: a counting assessment gives a row too
            counted |= self._book.counting(counted.size)
        live = by_id[counted[by_id]]
        points = self._store.scores()[live]
        # Stable: equal scores keep nominal_id order (rule 6); one sort of packed keys,
        # several times faster than a stable argsort
        order = sorted_with_rows(-points)[1]
        ids = self._store.nominal_ids()[live[order]]
        points = points[order]
        return ScoreTable(
            ids,
            points,
            band_codes(points, self._thresholds),
            self._as_of,
            self._weights.name,
            self._weights.sha256,
        )

    def _by_id(self) -> np.ndarray:
        """Nominal indices ordered by nominal_id, kept up to date as nominals are added.

        Nominals are only ever appended to the store, so new ones are merged
        into the cached order (O(n)) instead of sorting everything again.
        """
        with self._by_id_lock:
            ids = self._store.nominal_ids()
            order = self._by_id_cache
            if order.size < ids.size:
                added = ids[order.size :]
                # the ids are distinct, so any sort orders them so; one of packed keys
                # is several times faster than an argsort
                new = sorted_with_rows(added)[1]
                new += order.size  # indices into the store, not into `added`
                if order.size:
                    order = np.insert(order, np.searchsorted(ids[order], ids[new]), new)
                else:  # the first load: nothing to merge with
                    order = new
                self._by_id_cache = order
            return order

    def score(self, nominal_id: int) -> int:
        """One nominal's score (points); 0 for a nominal with no live event."""
        return int(self.scores_of([nominal_id])[0])

    def scores_of(self, nominal_ids: Iterable[int] | np.ndarray) -> np.ndarray:
        """Scores (points, int64) of many nominals; 0 for one with no live event."""
        ids = np.asarray(nominal_ids, dtype=np.int64).reshape(-1)
        with self._lock.read():
            return self._scores_of_locked(ids)

    def band(self, nominal_id: int) -> str:
        """One nominal's band (rule 5)."""
        code = band_codes(np.array([self.score(nominal_id)]), self._thresholds)[0]
        return BAND_NAMES[code]

    # -- interventions (recorded and listed, never scored) ---------------------------------
    @property
    def intervention_kinds(self) -> Catalogue:
        """The catalogue of intervention kinds (``weights/interventions.csv`` by default)."""
        return self._intervention_kinds

    def record_interventions(
        self,
        batch: object,
        *,
        user: str | None = None,
        reason: str | None = None,
        label: RowLabel = row_label,
    ) -> int:
        """Record interventions, whole or not at all; returns how many.

        Parameters
        ----------
        batch : mapping of columns, pyarrow Table or pandas DataFrame
            ``intervention_id, nominal_id, kind, start, end, lead_agency``; ``end``
            may be empty (not ended). ``kind`` is a code of :attr:`intervention_kinds`,
            ``lead_agency`` one of :data:`iomscore.interventions.AGENCIES`.

        Raises
        ------
        RecordError
            The first fault, naming its row and field: an unknown kind or agency, a
            bad id or date, an end before the start, an id repeated in the batch
            or already recorded.
        """
        checked = encode_interventions(batch, self._intervention_kinds, label=label)
        self._check_writable()
        context = self._context(user, reason)
        with self._lock.write():
            self._records.add_interventions(
                checked, time=context["time"], user=user, reason=reason, label=label
            )
        return len(checked)

    def end_intervention(
        self,
        intervention_id: int,
        end: datetime.date | str,
        *,
        user: str | None = None,
        reason: str | None = None,
    ) -> None:
        """Record the end of an intervention; an error if it is not recorded, has ended
        already, or ``end`` is before its start."""
        date = _as_date(end)
        number = _whole(intervention_id, "intervention_id")
        self._check_writable()
        context = self._context(user, reason)
        with self._lock.write():
            self._records.end_intervention(
                number, date, time=context["time"], user=user, reason=reason
            )

    def retract_interventions(
        self,
        intervention_ids: int | Iterable[int] | np.ndarray,
        *,
        user: str | None = None,
        reason: str | None = None,
    ) -> RetractReport:
        """Withdraw interventions by id; ids not recorded are reported in ``unknown``."""
        ids = np.unique(np.atleast_1d(np.asarray(list(np.atleast_1d(intervention_ids)))))
        if ids.size and ids.dtype.kind not in "iu":
            raise RecordError(
                "intervention ids to retract must be integers", field="intervention_id"
            )
        ids = ids.astype(np.int64)
        self._check_writable()
        context = self._context(user, reason)
        with self._lock.write():
            found = self._records.retract_interventions(
                ids, time=context["time"], user=user, reason=reason
            )
        return RetractReport(
            retracted=int(found.size),
            unknown=np.setdiff1d(ids, found),
            changes=BandChanges.empty(),
            what="interventions",
        )

    def interventions(
        self, nominal_id: int, active_on: datetime.date | str | None = None
    ) -> InterventionTable:
        """A nominal's interventions, by start date then id; with ``active_on``, only
        those active that day (started on or before it and not ended before it)."""
        day = None if active_on is None else _as_date(active_on)
        number = _whole(nominal_id, "nominal_id")
        with self._lock.read():
            rows = self._records.interventions(number, day)
        kinds = self._intervention_kinds.kinds
        columns = list(zip(*rows, strict=True)) if rows else [()] * 6
        return InterventionTable(
            intervention_id=np.array(columns[0], dtype=np.int64),
            nominal_id=np.array(columns[1], dtype=np.int64),
            kind=tuple(columns[2]),
            description=tuple(kinds.get(k, "") for k in columns[2]),
            start=np.array(columns[3], dtype="datetime64[D]"),
            end=np.array(["NaT" if e is None else e for e in columns[4]], dtype="datetime64[D]"),
            lead_agency=tuple(columns[5]),
        )

    # -- assessments (rule 10) --------------------------------------------------------------
    @property
    def assessment_table(self) -> AssessmentTable:
        """The table of points for assessment scores in force (rule 10)."""
        return self._assessment_table

    def assess(
        self,
        batch: object,
        *,
        replace: bool = False,
        label: RowLabel = row_label,
        user: str | None = None,
        reason: str | None = None,
    ) -> AssessReport:
        """Take a batch of ASSET or OASys assessments, whole or not at all (rule 10).

        Parameters
        ----------
        batch : mapping of columns, pyarrow Table or pandas DataFrame
            Columns ``assessment_id, nominal_id, tool, score, date``: ``tool`` one of
            the assessment table's (``asset``, ``oasys``), ``score`` the tool's raw
            score, inside its range.
        replace : bool
            An assessment_id already held with different content is an error
            unless True, when the new content replaces the old (a correction).
        label : callable
            Names a row in error messages (the CLI names file lines).
        user, reason : str, optional
            For the audit log.

        Returns
        -------
        AssessReport
            Rows taken, identical duplicates, replaced; the band changes.

        Raises
        ------
        RecordError
            The first fault, naming its row and field: an unknown tool, a score
            outside its tool's range, a bad id or date, an id repeated in the
            batch, a date after as_of, an id held with other content (without
            ``replace``). Nothing of the batch is taken.
        """
        checked = encode_assessments(batch, self._assessment_table, label=label)
        return self._assess_encoded(checked, replace=replace, label=label, user=user, reason=reason)

    def _assess_encoded(
        self,
        batch: AssessmentBatch,
        *,
        replace: bool,
        label: RowLabel = row_label,
        user: str | None = None,
        reason: str | None = None,
    ) -> AssessReport:
        self._check_writable()
        with self._lock.write():
            if batch.table_sha256 != self._assessment_table.sha256:
                raise EngineError("the batch was checked against another assessment table")
            after = np.flatnonzero(batch.day > day_number(self._as_of))
            if after.size:
                row = int(after[0])
                raise RecordError(
                    f"{label(row)}, field 'date': {from_day_number(batch.day[row])} is after "
                    f"as_of {self._as_of} (advance the engine first)",
                    row=row,
                    field="date",
                )
            store, book = self._store, self._book
            index = store.find_nominals(batch.nominal_id)
            held, same = book.classify(batch.assessment_id, index, batch)
            conflict = (held >= 0) & ~same
            if conflict.any() and not replace:
                row = int(np.flatnonzero(conflict)[0])
                raise RecordError(
                    f"{label(row)}, field 'assessment_id': assessment "
                    f"{int(batch.assessment_id[row])} is already held with different content "
                    "(pass replace=True to correct it)",
                    row=row,
                    field="assessment_id",
                )
            context = self._context(user, reason)
            key = self._log(lambda: durable.encode_assess(context, batch, replace))
            # one dated on or before the retention horizon counts at no date the
            # engine can show: not kept (a correction to such a date withdraws it)
            take = ~same & (batch.day > day_number(self.retention_horizon))
            with self._undone_if_failed(key):
                missing = (index < 0) & take
                if missing.any():  # a nominal with assessments and no events yet
                    store.add_nominals(distinct_ids(batch.nominal_id[missing]))
                    index[missing] = store.find_nominals(batch.nominal_id[missing])
                columns = (
                    batch.assessment_id,
                    index,
                    batch.tool,
                    batch.score,
                    batch.day,
                    batch.points,
                )
                if not take.all():  # (a bulk load takes every row: no copies)
                    columns = tuple(column[take] for column in columns)
                noms, delta = book.change(
                    held[conflict],
                    columns,
                    self._store.start,
                    self._assessment_table.points_of,
                    store.n_nominals,
                    batch.id_index_of(take),
                )
                store.add_scores(noms, delta, True)
            self._version += 1
            changes = self._band_changes("assess")
            self._commit(
                key,
                context,
                "assess",
                batch.nominal_id,
                changes,
                assessments=(batch, take),
                assessments_removed=batch.assessment_id[conflict & ~take],
            )
            return AssessReport(
                received=len(batch),
                taken=int(take.sum()),
                duplicates=int(same.sum()),
                replaced=int(conflict.sum()),
                before_history=int((~same & ~take).sum()),
                changes=changes,
            )

    def retract_assessments(
        self,
        assessment_ids: int | Iterable[int] | np.ndarray,
        *,
        user: str | None = None,
        reason: str | None = None,
    ) -> RetractReport:
        """Withdraw assessments by id; ids not held are reported in ``unknown``. If a
        withdrawn one counted, the latest other assessment of its tool in the
        window counts again (rule 10)."""
        ids = _ids_to_withdraw(assessment_ids, RecordError, "assessment")
        self._check_writable()
        with self._lock.write():
            rows = self._book.find(ids)
            found = rows >= 0
            context = self._context(user, reason)
            key = None
            if found.any():
                key = self._log(lambda: durable.encode_retract_assessments(context, ids[found]))
            touched = self._store.nominal_ids()[self._book.nominal[rows[found]]]
            with self._undone_if_failed(key):
                noms, delta = self._book.change(
                    rows[found],
                    _NO_ROWS,
                    self._store.start,
                    self._assessment_table.points_of,
                    self._store.n_nominals,
                )
                self._store.add_scores(noms, delta, True)
            self._version += 1
            changes = self._band_changes("retract")
            self._commit(key, context, "retract", touched, changes, assessments_removed=ids[found])
            return RetractReport(
                retracted=int(found.sum()),
                unknown=ids[~found],
                changes=changes,
                what="assessments",
            )

    def assessments(self, nominal_id: int) -> AssessmentList:
        """A nominal's assessments, by date then id: each with its points under the table
        in force and whether it counts now, is superseded by a later one of its tool,
        or has expired (rule 10). Those dated on or before the retention horizon
        are purged and not listed."""
        number = _whole(nominal_id, "nominal_id")
        with self._lock.read():
            table = self._assessment_table
            index = self._store.find_nominal(number)
            book = self._book
            rows = book.of_nominal(index) if index >= 0 else np.empty(0, np.intp)
            rows = rows[book.day[rows] > day_number(self.retention_horizon)]
            ids, tools = book.ids[rows], book.tool[rows]
            current = set(book.currents_of(index).tolist()) if index >= 0 else set()
            # the latest row of each tool: rows are by day, then id
            latest = {int(t): int(r) for t, r in zip(tools.tolist(), rows.tolist(), strict=True)}
            status = tuple(
                "counting" if r in current else "expired" if latest[t] == r else "superseded"
                for t, r in zip(tools.tolist(), rows.tolist(), strict=True)
            )
            days = book.day[rows].astype(np.int64)
            return AssessmentList(
                nominal_id=number,
                as_of=self._as_of,
                table_name=table.name,
                table_sha256=table.sha256,
                assessment_id=ids.copy(),
                tool=tuple(table.tools[t] for t in tools.tolist()),
                score=book.score[rows].copy(),
                date=days.astype("datetime64[D]"),
                points=table.points_of(tools, book.score[rows]),
                status=status,
                expires=expiry_days(days, self._window_years).astype("datetime64[D]"),
            )

    # -- the cohort: areas, ownership and decisions ---------------------------------------
    @property
    def areas(self) -> tuple[str, ...]:
        """The areas (local boards) that own nominals."""
        return self._areas

    @property
    def selection_band(self) -> str:
        """The lowest band at which a nominal not selected is a candidate."""
        return self._selection_band

    def record_owners(
        self,
        batch: object,
        *,
        user: str | None = None,
        reason: str | None = None,
        label: RowLabel = row_label,
    ) -> int:
        """Record owners, whole or not at all; returns how many records.

        Parameters
        ----------
        batch : mapping of columns, pyarrow Table or pandas DataFrame
            ``nominal_id, area, from_date``: the nominal is owned by the area from
            that date until its next record. A transfer is a new record; the old
            one is kept. A record for a nominal and date already recorded
            replaces its area (a correction).

        Raises
        ------
        RecordError
            The first fault, naming its row and field: an unknown area, a bad id
            or date, a nominal given twice for one date.
        """
        checked = encode_ownership(batch, self._areas, label=label)
        self._check_writable()
        context = self._context(user, reason)
        rows = list(
            zip(
                checked.nominal_id.tolist(),
                [self._areas[a] for a in checked.area.tolist()],
                checked.day.astype("datetime64[D]").astype(str).tolist(),
                strict=True,
            )
        )
        with self._lock.write():
            self._records.add_ownership(
                rows, checked.nominal_id, time=context["time"], user=user, reason=reason
            )
            self._owners.add(checked)
        return len(checked)

    def owner(self, nominal_id: int, on: datetime.date | str | None = None) -> str | None:
        """The area owning a nominal on a date (default as_of); None for no owner."""
        number = _whole(nominal_id, "nominal_id")
        day = day_number(self._as_of if on is None else _as_date(on))
        with self._lock.read():
            code = int(self._owners.area_of(np.array([number], np.int64), day)[0])
        return None if code < 0 else self._areas[code]

    def ownership(self, nominal_id: int) -> list[tuple[datetime.date, str]]:
        """A nominal's ownership records ``(from_date, area)``, oldest first."""
        number = _whole(nominal_id, "nominal_id")
        with self._lock.read():
            return [
                (from_day_number(d), self._areas[a]) for d, a in self._owners.of_nominal(number)
            ]

    def transfers(
        self,
        since: datetime.date | str,
        until: datetime.date | str | None = None,
        area: str | None = None,
    ) -> list[tuple[int, datetime.date, str, str]]:
        """Transfers dated after ``since`` up to ``until`` (default as_of):
        ``(nominal_id, date, from_area, to_area)`` by date; with ``area``, those into
        or out of it. A nominal's first ownership record is not a transfer."""
        after = day_number(_as_date(since))
        last = day_number(self._as_of if until is None else _as_date(until))
        code = None if area is None else self._area_code(area)
        with self._lock.read():
            ids, days, old, new = self._owners.transfers(after, last)
        return [
            (n, from_day_number(d), self._areas[o], self._areas[w])
            for n, d, o, w in zip(
                ids.tolist(), days.tolist(), old.tolist(), new.tolist(), strict=True
            )
            if code is None or code in (o, w)
        ]

    def _area_code(self, area: str) -> int:
        """An area's code; -1 for :data:`iomscore.cohort.UNOWNED`."""
        if not isinstance(area, str):
            raise EngineError(f"area must be a string, not {type(area).__name__}")
        if area.strip().lower() == UNOWNED:
            return -1
        for code, name in enumerate(self._areas):
            if name.lower() == area.strip().lower():
                return code
        raise EngineError(f"unknown area {area!r} (one of {', '.join(self._areas)}, or {UNOWNED})")

    def _in_area(self, nominal_ids: np.ndarray, area: str | None, day: int) -> np.ndarray:
        """Which of these nominals the area owns on a day (all, with no area)."""
        if area is None:
            return np.ones(len(nominal_ids), dtype=bool)
        code = self._area_code(area)
        return self._owners.area_of(np.asarray(nominal_ids, np.int64), day) == code

    def decide(
        self,
        batch: object,
        *,
        user: str | None = None,
        reason: str | None = None,
        label: RowLabel = row_label,
    ) -> int:
        """Record selection decisions, whole or not at all, in row order; returns how many.

        Parameters
        ----------
        batch : mapping of columns, pyarrow Table or pandas DataFrame
            ``nominal_id, date, action, meeting_id`` (a nominal the engine holds no
            event of may be selected: it is held from then on, with score 0), and as
            needed ``lead_agency``
            and ``tier`` (a ``select``: the agency is required, one of
            :data:`iomscore.interventions.AGENCIES`), ``reason`` and ``note`` (a
            ``deselect``: a reason of :data:`iomscore.cohort.DESELECT_REASONS`;
            ``other`` needs a note), ``strand`` and ``strand_reason`` (a decision
            that sets the nominal's strand, one of ``fixed``, ``flex``, ``free``).

        Raises
        ------
        RecordError
            The first fault, naming its row and field: selecting a nominal selected
            already, de-selecting one not selected, a decision dated before the
            nominal's last one or after as_of, a missing agency or reason, an
            unknown value.
        """
        decisions = encode_decisions(batch, label=label, max_day=day_number(self._as_of))
        self._check_writable()
        context = self._context(user, reason)
        with self._lock.write():
            self._decisions.check(decisions, label)
            if decisions:
                self._records.add_decisions(
                    decisions, time=context["time"], user=user, reason=reason
                )
            self._decisions.add(decisions)
            self._hold_decided(decisions)
        return len(decisions)

    def _hold_decided(self, decisions: Sequence[Decision]) -> None:
        """Hold every nominal a decision names (one selected for local concern may
        have no event): explain, timeline and forecast then answer for it (score 0)."""
        ids = np.array([d.nominal_id for d in decisions], dtype=np.int64)
        if ids.size:
            ids = distinct_ids(ids)
            new = ids[self._store.find_nominals(ids) < 0]
            if new.size:
                self._store.add_nominals(new)
                self._version += 1

    def decisions(self, nominal_id: int | None = None) -> list[Decision]:
        """Every decision in the order taken, or one nominal's."""
        with self._lock.read():
            if nominal_id is None:
                return list(self._decisions.decisions)
            return self._decisions.of_nominal(_whole(nominal_id, "nominal_id"))

    def selection(
        self,
        as_of: datetime.date | str | None = None,
        area: str | None = None,
        strand: str | None = None,
    ) -> SelectionTable:
        """The nominals selected on a date (default as_of), with their score and band
        on that date, owner on that date, strand and selection; of one area (or
        :data:`iomscore.cohort.UNOWNED`) and strand. A strand not set by a decision
        comes from the events counting on that date (held or archived)."""
        with self._lock.read():
            date = self._as_of if as_of is None else self._check_past_date(as_of, "as_of")
            state = self._decisions.state_on(date)
            ids = np.array(sorted(state), dtype=np.int64)
            if date == self._as_of:
                scores = self._scores_of_locked(ids)
            else:
                past = self.scores_at(date)
                lookup = dict(zip(past.nominal_id.tolist(), past.score.tolist(), strict=True))
                scores = np.array([lookup.get(n, 0) for n in ids.tolist()], np.int64)
            return self._cohort_table(date, ids, scores, state, area, strand)

    def candidates(self, area: str | None = None, strand: str | None = None) -> SelectionTable:
        """Nominals at or above the selection band at as_of and not selected: the
        meeting's candidates, of one area (or unowned) and strand."""
        with self._lock.read():
            table = self._scores_locked()
            floor = BAND_NAMES.index(self._selection_band)
            state = self._decisions.state_on(self._as_of)
            banded = table.band >= floor
            ids, scores = table.nominal_id[banded], table.score[banded]
            free = np.array([n not in state for n in ids.tolist()], dtype=bool)
            return self._cohort_table(self._as_of, ids[free], scores[free], {}, area, strand)

    def strands(self, nominal_ids: Iterable[int] | np.ndarray) -> dict[int, tuple[str, str]]:
        """The strand of each of these nominals at as_of, as :meth:`candidates` and
        :meth:`selection` give it, in one read: ``{nominal_id: (strand, set_by)}`` by
        id, ``set_by`` "decision" (a selected nominal's strand set by a decision) or
        "events" (the rule of :func:`iomscore.groups.strand_of` over its counting
        events). A nominal with no counting event, held or not, is "free"."""
        ids = distinct_ids(np.array(_nominal_ids(nominal_ids), dtype=np.int64))
        with self._lock.read():
            state = self._decisions.state_on(self._as_of)
            strands, set_by = self._strands(ids, state)
        return dict(zip(ids.tolist(), zip(strands, set_by, strict=True), strict=True))

    def _scores_of_locked(self, ids: np.ndarray) -> np.ndarray:
        index = self._store.find_nominals(np.ascontiguousarray(ids, dtype=np.int64))
        out = np.zeros(ids.size, dtype=np.int64)
        held = index >= 0
        out[held] = self._store.scores()[index[held]]
        return out

    def _cohort_table(self, date, ids, scores, state, area, strand) -> SelectionTable:
        """Selected nominals or candidates as a SelectionTable: filtered by area and
        strand, ordered by band (highest first), score descending, nominal_id."""
        day = day_number(date)
        keep = self._in_area(ids, area, day)
        ids, scores = ids[keep], scores[keep]
        bands = band_codes(scores, self._thresholds)
        strands, set_by = self._strands(ids, state, date)
        if strand is not None:
            if strand not in ("fixed", "flex", "free"):
                raise EngineError(f"strand must be fixed, flex or free, not {strand!r}")
            chosen = np.array([s == strand for s in strands], dtype=bool)
            ids, scores, bands = ids[chosen], scores[chosen], bands[chosen]
            strands = [s for s, c in zip(strands, chosen.tolist(), strict=True) if c]
            set_by = [s for s, c in zip(set_by, chosen.tolist(), strict=True) if c]
        order = np.lexsort((ids, -scores, -bands.astype(np.int64)))
        ids, scores, bands = ids[order], scores[order], bands[order]
        strands = [strands[i] for i in order.tolist()]
        set_by = [set_by[i] for i in order.tolist()]
        areas = self._owners.area_of(ids, day)
        picked = [state.get(n, (None, None))[0] for n in ids.tolist()]
        return SelectionTable(
            as_of=date,
            nominal_id=ids,
            score=scores,
            band=tuple(BAND_NAMES[b] for b in bands.tolist()),
            area=tuple("" if a < 0 else self._areas[a] for a in areas.tolist()),
            strand=tuple(strands),
            strand_set_by=tuple(set_by),
            selected_on=tuple(None if d is None else d.date for d in picked),
            meeting_id=tuple(None if d is None else d.meeting_id for d in picked),
            lead_agency=tuple(None if d is None else d.lead_agency for d in picked),
            tier=tuple(None if d is None else d.tier for d in picked),
        )

    def _strands(
        self, ids: np.ndarray, state: dict, date: datetime.date | None = None
    ) -> tuple[list[str], list[str]]:
        """Each nominal's strand on a date (default as_of): a decision's where one set
        it, else the rule of :func:`iomscore.groups.strand_of` over the points of its
        events counting on that date."""
        from .groups import DEFAULT_FLEX, STRANDS, OffenceGroups, strands

        if self._groups is None:
            self._groups = OffenceGroups.default()
        groups = self._groups
        if date is None or date == self._as_of:
            points = self._group_points(ids, groups)
        else:
            points = self._group_points_on(ids, groups, date)
        flex = DEFAULT_FLEX if self._flex is None else self._flex
        codes = strands(points, groups.groups, flex).tolist()
        from_events = [STRANDS[c] for c in codes]
        out, set_by = [], []
        for n, computed in zip(ids.tolist(), from_events, strict=True):
            setting = state.get(n, (None, None))[1]
            if setting is not None:
                out.append(setting.strand)
                set_by.append("decision")
            else:
                out.append(computed)
                set_by.append("events")
        return out, set_by

    def _group_points_on(self, ids: np.ndarray, groups, date: datetime.date) -> np.ndarray:
        """Points by offence group of each nominal's events counting on a past date
        (rules 3-4 there, over the events held or archived, as :meth:`scores_at`
        counts them): nominals x groups. A read of each nominal's own events."""
        out = np.zeros((ids.size, len(groups.groups)), dtype=np.int64)
        weights = self._weights
        kind_group = np.tile(groups.group_index(weights.offences), len(weights.datasets))
        last = day_number(date)
        first = day_number(window_start(date, self._window_years))  # exclusive
        index = self._store.find_nominals(np.ascontiguousarray(ids, dtype=np.int64))
        points = self._store.points()
        for row, at in enumerate(index.tolist()):
            if at < 0:
                continue
            _, kinds, days = self._counted_events_of(at)
            counting = kinds[(days > first) & (days <= last)].astype(np.int64)
            np.add.at(out[row], kind_group[counting], points[counting])
        return out

    def _group_points(self, ids: np.ndarray, groups) -> np.ndarray:
        """Points of each nominal's live events by offence group (nominals x groups)."""
        n_groups = len(groups.groups)
        out = np.zeros((ids.size, n_groups), dtype=np.int64)
        if ids.size == 0:
            return out
        matrix = self._matrix()
        rows = np.searchsorted(matrix.nominal_id, ids)
        rows[rows == matrix.nominal_id.size] = 0
        held = (
            (matrix.nominal_id[rows] == ids) if matrix.nominal_id.size else np.zeros(ids.size, bool)
        )
        weights = self._weights
        group_of_offence = groups.group_index(weights.offences)
        kind_group = np.tile(group_of_offence, len(weights.datasets))
        # every entry of the held nominals' rows, with its row in ``out``
        which = np.flatnonzero(held)
        starts, ends = matrix.indptr[rows[which]], matrix.indptr[rows[which] + 1]
        lengths = ends - starts
        entry = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        owner = np.repeat(which, lengths)
        kinds = matrix.indices[entry].astype(np.int64)
        points = matrix.data[entry].astype(np.int64) * self._store.points()[kinds]
        flat = np.bincount(
            owner * n_groups + kind_group[kinds], weights=points, minlength=out.size
        )  # exact in float64: below 2**53
        return flat.astype(np.int64).reshape(ids.size, n_groups)

    def counting_assessments(
        self, nominal_ids: Iterable[int] | np.ndarray
    ) -> dict[int, list[tuple[str, int, datetime.date]]]:
        """``(tool, score, date)`` of the counting assessments of many nominals, by date
        then id: the ``counting`` rows of :meth:`assessments`, in one read. Nominals
        with none are left out."""
        wanted = np.array(_nominal_ids(nominal_ids), dtype=np.int64)
        out: dict[int, list[tuple[str, int, datetime.date]]] = {}
        if wanted.size == 0:
            return out
        with self._lock.read():
            book, tools = self._book, self._assessment_table.tools
            index = self._store.find_nominals(np.ascontiguousarray(wanted))
            width = book.n_tools
            held = (index >= 0) & ((index.astype(np.int64) + 1) * width <= book.current.shape[0])
            owner = np.repeat(wanted[held], width)
            groups = (index[held].astype(np.int64)[:, None] * width + np.arange(width)).ravel()
            current = book.current[groups]
            some = current >= 0
            owner, rows = owner[some], book.find(current[some])
            order = np.lexsort((book.ids[rows], book.day[rows], owner))
            owner, rows = owner[order], rows[order]
            days = book.day[rows].astype("datetime64[D]").tolist()
            for n, t, score, day in zip(
                owner.tolist(),
                book.tool[rows].tolist(),
                book.score[rows].tolist(),
                days,
                strict=True,
            ):
                out.setdefault(n, []).append((tools[t], score, day))
        return out

    def active_interventions(
        self, nominal_ids: Iterable[int] | np.ndarray, on: datetime.date | str
    ) -> dict[int, tuple[str, ...]]:
        """The kinds of the interventions of many nominals active on a day, by start
        then id, in one read; nominals with none are left out."""
        day = _as_date(on)
        ids = _nominal_ids(nominal_ids)
        with self._lock.read():
            found = self._records.active_interventions(ids, day)
        out: dict[int, list[str]] = {}
        for n, kind in found:
            out.setdefault(n, []).append(kind)
        return {n: tuple(kinds) for n, kinds in out.items()}

    def counting_since(
        self,
        nominal_ids: Iterable[int] | np.ndarray,
        after: datetime.date | str,
        *,
        user: str | None = None,
        reason: str | None = None,
    ) -> dict[int, list[tuple[int, str, str, datetime.date, int]]]:
        """The rows of many nominals' :meth:`explain` dated after a day, in one read:
        ``(event_id, dataset, offence, date, points)`` of each counting event and
        assessment (dataset ``assessment:<tool>``, offence ""), by date then id.

        What moved a score since a meeting on ``after`` (the ODOC pack's risen and
        fallen). Nominals the engine never held, or with nothing counting dated
        after the day, are left out. With ``user``, each nominal's read is
        audited as an explain.
        """
        wanted = _nominal_ids(nominal_ids)
        since = day_number(_as_date(after))
        out: dict[int, list[tuple[int, str, str, datetime.date, int]]] = {}
        if not wanted:
            return out
        with self._lock.read():
            store = self._store
            index = store.find_nominals(np.array(wanted, dtype=np.int64)).tolist()
            names, points = self._kind_names(), store.points()
            assessed = self._assessments_since(np.array(index, dtype=np.int64), since)
            for nominal, at in zip(wanted, index, strict=True):
                if at < 0:
                    continue
                self._audit_read("explain", nominal, user, reason)
                ids, kinds, days = self._live_events_of(at)
                new = days > since
                rows = [
                    (i, names[k, 0], names[k, 1], d, int(points[k]), 0)
                    for i, k, d in zip(
                        ids[new].tolist(),
                        kinds[new].tolist(),
                        days[new].astype("datetime64[D]").tolist(),
                        strict=True,
                    )
                ]
                if at in assessed:
                    rows += assessed[at]
                    rows.sort(key=lambda r: (r[3], r[0], r[5]))  # explain's order
                if rows:
                    out[nominal] = [row[:5] for row in rows]
        return out

    def _assessments_since(self, index: np.ndarray, since: int) -> dict[int, list[tuple]]:
        """Counting assessments dated after a day number, of nominals by store index
        (-1: none), as :meth:`counting_since` rows (with a last field 1, to order them
        after events of the same date and id), in one read of the book."""
        book, tools = self._book, self._assessment_table.tools
        width = book.n_tools
        inside = (index >= 0) & ((index + 1) * width <= book.current.size)
        if not book.any_counting() or not inside.any():
            return {}
        owner = np.repeat(index[inside], width)
        groups = (index[inside][:, None] * width + np.arange(width)).ravel()
        some = (book.current[groups] >= 0) & (book.current_day[groups] > since)
        owner, rows = owner[some], book.find(book.current[groups[some]])
        worth = self._assessment_table.points_of(book.tool[rows], book.score[rows])
        out: dict[int, list[tuple]] = {}
        for at, i, t, d, p in zip(
            owner.tolist(),
            book.ids[rows].tolist(),
            book.tool[rows].tolist(),
            book.day[rows].astype("datetime64[D]").tolist(),
            worth.tolist(),
            strict=True,
        ):
            out.setdefault(at, []).append((i, ASSESSMENT_PREFIX + tools[t], "", d, p, 1))
        return out

    # -- why, when and how it moved (rules 7-9) ------------------------------------------
    def _nominal_index(self, nominal_id: int) -> int:
        """The store index of a nominal; an EngineError naming an id never held."""
        # find_nominal takes an int64: it refuses other types and sizes itself
        try:
            if isinstance(nominal_id, bool | float):
                raise TypeError
            index = self._store.find_nominal(nominal_id)
        except (TypeError, OverflowError):
            raise EngineError(
                f"nominal_id must be an integer in 0..2**63-1, not {nominal_id!r}"
            ) from None
        if index < 0:
            raise EngineError(f"nominal {nominal_id} is not held by this engine")
        return index

    def _live_events_of(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(event_id, kind, day)`` of one nominal's live events, by day then id."""
        with self._cache_lock:  # the first call builds the store's lookup
            return self._store.nominal_events(index)

    def explain(
        self, nominal_id: int, *, user: str | None = None, reason: str | None = None
    ) -> Explanation:
        """Why a nominal scores what it does: every counting event, with its points
        and the date it stops counting (rule 7), ordered by date, then event_id.

        Costs about the nominal's own events (a lookup by nominal, built on first
        use and kept current as events change). A nominal whose events have all
        left the window gets an empty table, score 0 and band NONE.

        Raises
        ------
        EngineError
            The engine has never held the nominal.
        """
        with self._lock.read():
            index = self._nominal_index(nominal_id)
            if user is not None:
                self._audit_read("explain", nominal_id, user, reason)
            store = self._store
            expiry = self._expiry_cache
            table = expiry[2] if expiry and expiry[0] == self._as_of else self._expiry_table()
            cached = self._names_cache
            names = cached[1] if cached and cached[0] is self._weights else self._kind_names()
            if store.nominal_lookup_built:  # built: reads only, no lock needed
                columns = store.explain_columns(index, table, names)
            else:
                with self._cache_lock:  # the first call builds the store's lookup
                    columns = store.explain_columns(index, table, names)
            ids, _, dates, points, expires, shown, score = columns
            dataset, offence, description = shown[:, 0], shown[:, 1], shown[:, 2]
            if self._book.any_counting():
                rows = self._book.currents_of(index)
                if rows.size:
                    ids, dataset, offence, description, dates, points, expires = (
                        self._with_assessments(
                            rows, ids, dataset, offence, description, dates, points, expires
                        )
                    )
            weights = self._weights
            low, medium, high = self._thresholds
            # positional, in Explanation's order: keywords cost a tenth of an explain
            return Explanation(
                int(nominal_id),
                self._as_of,
                score,
                BAND_NAMES[(score >= low) + (score >= medium) + (score >= high)],
                weights.name,
                weights.sha256,
                weights.datasets,
                ids,
                dataset,
                offence,
                description,
                dates,
                points,
                expires,
            )

    def _with_assessments(self, rows, ids, dataset, offence, description, dates, points, expires):
        """Explain's columns with a nominal's counting assessments (book rows) added, as
        rows of dataset ``assessment:<tool>``, ordered by date, then id, events first."""
        book, table = self._book, self._assessment_table
        tools = book.tool[rows]
        days = book.day[rows].astype(np.int64)
        names = [table.tools[t] for t in tools.tolist()]
        extra_dataset = np.array([ASSESSMENT_PREFIX + n for n in names], dtype=object)
        extra_description = np.array(
            [
                f"{n.upper()} score {s}"
                for n, s in zip(names, book.score[rows].tolist(), strict=True)
            ],
            dtype=object,
        )
        all_ids = np.concatenate((ids, book.ids[rows]))
        all_dates = np.concatenate((dates, days.astype(dates.dtype)))
        is_assessment = np.concatenate((np.zeros(ids.size, bool), np.ones(rows.size, bool)))
        order = np.lexsort((is_assessment, all_ids, all_dates))
        return (
            all_ids[order],
            np.concatenate((dataset, extra_dataset))[order],
            np.concatenate((offence, np.full(rows.size, "", dtype=object)))[order],
            np.concatenate((description, extra_description))[order],
            all_dates[order],
            np.concatenate((points, table.points_of(tools, book.score[rows])))[order],
            np.concatenate((expires, expiry_days(days, self._window_years).astype(expires.dtype)))[
                order
            ],
        )

    def _kind_names(self) -> np.ndarray:
        """The dataset, offence and description of each kind of the current table: an
        object array (kinds x 3), so that a gather copies pointers, not text."""
        weights = self._weights
        cached = self._names_cache
        if cached is None or cached[0] is not weights:
            n = len(weights.offences)
            names = np.empty((weights.n_kinds, 3), dtype=object)
            names[:, 0] = np.repeat(np.array(weights.datasets, dtype=object), n)
            names[:, 1] = weights.offences * len(weights.datasets)
            names[:, 2] = [weights.descriptions.get(o, "") for o in weights.offences] * len(
                weights.datasets
            )
            cached = self._names_cache = (weights, names)
        return cached[1]

    def _expiry_table(self) -> np.ndarray:
        """Rule 7 over the window's days: the expiry (day number) of the events dated
        ``start + 1 + o``, at index o."""
        cached = self._expiry_cache
        if cached is None or cached[0] != self._as_of:
            first = self._store.start + 1
            table = np.array(
                [expiry_day(d, self._window_years) for d in range(first, self._store.as_of + 1)],
                dtype=np.int64,
            )
            cached = self._expiry_cache = (self._as_of, first, table)
        return cached[2]

    def _expiry_days(self, days: np.ndarray) -> np.ndarray:
        """Rule 7 for live events' day numbers."""
        table = self._expiry_table()
        return table[days - self._expiry_cache[1]]

    def forecast(
        self,
        nominal_id: int | None = None,
        *,
        area: str | None = None,
        user: str | None = None,
        reason: str | None = None,
    ) -> Forecast | ForecastSteps:
        """Rule 8: when scores fall if no new event comes.

        With no argument, a :class:`Forecast` of every nominal banded now: the
        date its band first falls, the band it falls to, and the date it leaves
        every band, in rule 6 order (one pass over the live events). With a
        ``nominal_id``, that nominal's whole step function
        (:class:`ForecastSteps`).
        """
        with self._lock.read():
            if nominal_id is not None:
                steps = self._forecast_steps(nominal_id)
                self._audit_read("forecast", nominal_id, user, reason)
                return steps
            store = self._store
            expiries = self._expiry_days(np.arange(store.start + 1, store.as_of + 1))
            # days whose events stop counting on the same date form one group
            new_group = np.ones(expiries.size, dtype=bool)
            new_group[1:] = expiries[1:] != expiries[:-1]
            group_of_offset = (np.cumsum(new_group) - 1).astype(np.int32)
            group_day = expiries[new_group]
            extra = None
            if self._book.any_counting():  # counting assessments expire like events
                noms, days, points = self._book.counting_entries()
                groups = group_of_offset[days - (store.start + 1)]
                order = np.argsort(groups, kind="stable")
                extra = (
                    noms[order].astype(np.int32),
                    groups[order].astype(np.int32),
                    points[order],
                )
            falls, falls_to, none = store.forecast_falls(group_of_offset, group_day.size, extra)
            table = self._scores_locked()
            index = store.find_nominals(table.nominal_id)
            banded = table.band > 0
            index = index[banded]
            result = Forecast(
                as_of=self._as_of,
                weights_name=self._weights.name,
                weights_sha256=self._weights.sha256,
                nominal_id=table.nominal_id[banded],
                score=table.score[banded],
                band=table.band[banded],
                band_falls_on=group_day[falls[index]].astype("datetime64[D]"),
                falls_to=falls_to[index],
                none_on=group_day[none[index]].astype("datetime64[D]"),
            )
            if area is None:
                return result
            return _rows_of(result, self._in_area(result.nominal_id, area, day_number(self._as_of)))

    def forecast_of(self, nominal_ids: Iterable[int] | np.ndarray) -> Forecast:
        """Rule 8 for some nominals: the rows of :meth:`forecast` of those of them
        banded now, in rule 6 order, at a cost that follows their own events (the
        ODOC pack reads the selected nominals' falls, not the whole force's).
        Nominals not held, or not banded, are left out."""
        wanted = np.array(_nominal_ids(nominal_ids), dtype=np.int64)
        with self._lock.read():
            store, book = self._store, self._book
            ids = distinct_ids(wanted)
            index = store.find_nominals(ids)
            ids, index = ids[index >= 0], index[index >= 0]
            scores = store.scores()[index]
            band_now = band_codes(scores, self._thresholds)
            banded = band_now > 0
            ids, index, scores = ids[banded], index[banded], scores[banded]
            band_now = band_now[banded]
            # every counting event and assessment of theirs: (owner, expiry, points)
            ends, worth, lengths = [], [], []
            table = store.points()
            for at in index.tolist():
                _, kinds, days = self._live_events_of(at)
                ends.append(self._expiry_days(days.astype(np.int64)))
                worth.append(table[kinds])
                lengths.append(days.size)
            owner = np.repeat(np.arange(ids.size), lengths)
            ends = np.concatenate([np.empty(0, np.int64), *ends])
            worth = np.concatenate([np.empty(0, np.int64), *worth])
            if book.any_counting():
                width = book.n_tools
                # nominals past the book's group records have no assessment
                inside = np.flatnonzero((index.astype(np.int64) + 1) * width <= book.current.size)
                groups = (
                    index[inside].astype(np.int64)[:, None] * width + np.arange(width)
                ).ravel()
                some = book.current[groups] >= 0
                owner = np.concatenate((owner, np.repeat(inside, width)[some]))
                day = book.current_day[groups[some]].astype(np.int64)
                ends = np.concatenate((ends, self._expiry_days(day)))
                worth = np.concatenate((worth, book.current_points[groups[some]]))
            # each owner's score after each of its expiry dates, in date order
            order = np.lexsort((ends, owner))
            owner, ends = owner[order], ends[order]
            after = scores[owner] - (np.cumsum(worth[order]) - _run_base(owner, worth[order]))
            last = np.ones(owner.size, dtype=bool)  # the last entry of each (owner, date)
            last[:-1] = (owner[1:] != owner[:-1]) | (ends[1:] != ends[:-1])
            owner, ends, after = owner[last], ends[last], after[last]
            band_after = band_codes(after, self._thresholds)
            falls_on = _first_by_owner(owner, band_after < band_now[owner], ids.size)
            none_on = _first_by_owner(owner, band_after == 0, ids.size)
            rank = np.lexsort((ids, -scores))
            return Forecast(
                as_of=self._as_of,
                weights_name=self._weights.name,
                weights_sha256=self._weights.sha256,
                nominal_id=ids[rank],
                score=scores[rank],
                band=band_now[rank],
                band_falls_on=ends[falls_on[rank]].astype("datetime64[D]"),
                falls_to=band_after[falls_on[rank]],
                none_on=ends[none_on[rank]].astype("datetime64[D]"),
            )

    def _forecast_steps(self, nominal_id: int) -> ForecastSteps:
        index = self._nominal_index(nominal_id)
        _, kinds, days = self._live_events_of(index)
        points = self._store.points()[kinds]
        ends = self._expiry_days(days)
        rows = self._book.currents_of(index)
        if rows.size:  # counting assessments fall at their expiry too
            book = self._book
            points = np.concatenate(
                (points, self._assessment_table.points_of(book.tool[rows], book.score[rows]))
            )
            ends = np.concatenate((ends, self._expiry_days(book.day[rows].astype(np.int64))))
        score = int(points.sum())
        dates, group = np.unique(ends, return_inverse=True)
        falls = np.bincount(group, weights=points, minlength=dates.size).astype(np.int64)
        scores = np.concatenate(([score], score - np.cumsum(falls)))
        return ForecastSteps(
            nominal_id=int(nominal_id),
            date=np.concatenate(([day_number(self._as_of)], dates)).astype("datetime64[D]"),
            score=scores,
            band=band_codes(scores, self._thresholds),
        )

    def _check_past_date(self, value: datetime.date | str, what: str) -> datetime.date:
        """A date inside the retained history; an EngineError naming its limits."""
        date = _as_date(value)
        if date > self._as_of:
            raise EngineError(f"{what} {date} is after as_of {self._as_of}")
        earliest = self.history_start
        if date < earliest:
            raise EngineError(
                f"{what} {date} is before {earliest}, the earliest date whose whole window is "
                f"retained (events on or before the retention horizon {self.retention_horizon} "
                f"are purged; history_years={self._history_years})"
            )
        return date

    def timeline(
        self,
        nominal_id: int,
        start: datetime.date | str,
        end: datetime.date | str | None = None,
        *,
        user: str | None = None,
        reason: str | None = None,
    ) -> Timeline:
        """Rule 9: one nominal's score and band at ``start``, then on each later date
        up to ``end`` (default as_of) on which its score changed, counting every
        event held or archived under the table in force now.

        Raises
        ------
        EngineError
            An unknown nominal; ``start`` after ``end``; a date after as_of or
            before :attr:`history_start`.
        """
        with self._lock.read():
            first = self._check_past_date(start, "start")
            last = self._check_past_date(self._as_of if end is None else end, "end")
            if first > last:
                raise EngineError(f"start {first} is after end {last}")
            index = self._nominal_index(nominal_id)
            self._audit_read("timeline", nominal_id, user, reason)
            _, kinds, days = self._counted_events_of(index)
            points = self._store.points()[kinds].astype(np.int64)
            ends = expiry_days(days, self._window_years)
            t0, t1 = day_number(first), day_number(last)
            # an event counts on the days [its day, its expiry) (rules 3 and 7)
            score = int(points[(days <= t0) & (ends > t0)].sum())
            edges = np.concatenate((days, ends))
            deltas = np.concatenate((points, -points))
            inside = (edges > t0) & (edges <= t1)
            level = self._assessment_level(index)
            if level is None:
                dates, group = np.unique(edges[inside], return_inverse=True)
            else:  # the dates an assessment starts or stops counting are edges too
                dates = np.unique(np.concatenate((edges[inside], level[0])))
                dates = dates[(dates > t0) & (dates <= t1)]
                group = np.searchsorted(dates, edges[inside])
            net = np.zeros(dates.size, np.int64)
            np.add.at(net, group, deltas[inside])
            scores = score + np.cumsum(net)
            if level is not None:
                score += level[1](t0)
                scores += np.array([level[1](d) for d in dates.tolist()], np.int64)
            moved = np.diff(np.concatenate(([score], scores))) != 0
            scores = np.concatenate(([score], scores[moved]))
            return Timeline(
                nominal_id=int(nominal_id),
                weights_name=self._weights.name,
                weights_sha256=self._weights.sha256,
                date=np.concatenate(([t0], dates[moved])).astype("datetime64[D]"),
                score=scores,
                band=band_codes(scores, self._thresholds),
            )

    def event_history(
        self,
        nominal_id: int,
        start: datetime.date | str | None = None,
        end: datetime.date | str | None = None,
        *,
        user: str | None = None,
        reason: str | None = None,
    ) -> EventHistory:
        """One nominal's events dated from ``start`` to ``end`` (default as_of): every
        event held or archived, each event id once (rule 9's events), with its
        dataset, offence and points under the table in force now, ordered by date,
        then event_id. ``start`` None reaches back to the earliest event kept (those
        dated on or before :attr:`retention_horizon` are purged). Costs about the
        nominal's own events, as :meth:`timeline` does.

        Raises
        ------
        EngineError
            An unknown nominal; a date not in the form YYYY-MM-DD; ``start`` after
            ``end``.
        """
        with self._lock.read():
            first = None if start is None else _as_date(start)
            last = self._as_of if end is None else _as_date(end)
            if first is not None and first > last:
                raise EngineError(f"start {first} is after end {last}")
            index = self._nominal_index(nominal_id)
            self._audit_read("event_history", nominal_id, user, reason)
            ids, kinds, days = self._counted_events_of(index)
            keep = days <= day_number(last)
            if first is not None:
                keep &= days >= day_number(first)
            ids, kinds, days = ids[keep], kinds[keep], days[keep]
            order = np.lexsort((ids, days))
            ids, kinds, days = ids[order], kinds[order], days[order]
            names = self._kind_names()  # kind -> (dataset, offence, description)
            weights = self._weights
            return EventHistory(
                nominal_id=int(nominal_id),
                start=first,
                end=last,
                weights_name=weights.name,
                weights_sha256=weights.sha256,
                datasets=weights.datasets,
                event_id=ids.astype(np.int64),
                dataset=names[kinds, 0],
                offence=names[kinds, 1],
                date=days.astype("datetime64[D]"),
                points=self._store.points()[kinds].astype(np.int64),
            )

    def _assessment_level(self, index: int):
        """A nominal's assessments over time (rule 10), or None if it has none: the
        day numbers on which their points may change (each one's date and expiry),
        and a function giving their points on a day."""
        book = self._book
        rows = book.of_nominal(index)
        if rows.size == 0:
            return None
        days = book.day[rows].astype(np.int64)
        ends = expiry_days(days, self._window_years)
        tools = book.tool[rows]
        points = self._assessment_table.points_of(tools, book.score[rows])
        # rows come by day, then id: the last of a tool dated by a day is its latest
        entries = list(
            zip(tools.tolist(), days.tolist(), ends.tolist(), points.tolist(), strict=True)
        )

        def on(day: int) -> int:
            latest: dict[int, tuple[int, int]] = {}
            for tool, dated, end, worth in entries:
                if dated <= day:
                    latest[tool] = (end, worth)
            return sum(worth for end, worth in latest.values() if end > day)

        return np.unique(np.concatenate((days, ends))), on

    def _counted_events_of(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(event_id, kind, day)`` of one nominal's live and archived events, each
        event id once: the copy in the window, else the one archived last."""
        ids, kinds, days = self._live_events_of(index)
        with self._cache_lock:
            seqs = self._archive.of_nominal(index)
        if seqs.size == 0:
            return ids, kinds, days
        old_ids, _, old_kinds, old_days = self._archive.columns(seqs)
        superseded = self._superseded(seqs, old_ids)
        keep = np.ones(seqs.size, dtype=bool) if superseded is None else ~superseded
        return (
            np.concatenate((old_ids[keep], ids)),
            np.concatenate((old_kinds[keep], kinds)),
            np.concatenate((old_days[keep], days)),
        )

    def scores_at(self, date: datetime.date | str) -> ScoreTable:
        """Rule 9: rule 6's table as at a past date inside the retained history,
        counting every event held or archived under the table in force now.

        Raises
        ------
        EngineError
            A date after as_of, or before :attr:`history_start`.
        """
        with self._lock.read():
            when = self._check_past_date(date, "date")
            t = day_number(when)
            lo = day_number(window_start(when, self._window_years))
            store = self._store
            points, counts = store.window_scores(max(lo, store.start), t)
            with self._cache_lock:
                seqs = self._archive.dated(lo, t)
                old_ids, old_noms, old_kinds, _ = self._archive.columns(seqs)
            superseded = self._superseded(seqs, old_ids)
            if superseded is not None:
                old_noms, old_kinds = old_noms[~superseded], old_kinds[~superseded]
            if old_noms.size:
                n_nom = store.n_nominals
                # exact in float64: scores are below 2**45
                points += np.bincount(
                    old_noms, weights=store.points()[old_kinds], minlength=n_nom
                ).astype(np.int64)
                counts += np.bincount(old_noms, minlength=n_nom).astype(np.int32)
            counted = counts > 0
            if len(self._book):  # rule 10 at that date
                extra, assessed = self._book.at(
                    lo, t, self._assessment_table.points_of, store.n_nominals
                )
                points += extra
                counted |= assessed
            by_id = self._by_id()
            index = by_id[counted[by_id]]
            scores = points[index]
            order = sorted_with_rows(-scores)[1]  # stable: ties in nominal_id order
            ordered = scores[order]
            return ScoreTable(
                store.nominal_ids()[index[order]],
                ordered,
                band_codes(ordered, self._thresholds),
                when,
                self._weights.name,
                self._weights.sha256,
            )

    def _superseded(self, seqs: np.ndarray, ids: np.ndarray) -> np.ndarray | None:
        """Which of these archived copies another copy of the same event id outranks
        (one held in the window, or one archived later), or None if none does.

        An id has two copies only when an event that had left the window came
        again (a late correction of its date): rare. The ids held in the window are
        looked up; the archive's repeated ids are found by a sort, kept until the
        archive changes.
        """
        if ids.size == 0:
            return None
        held = self._store.find_events(np.ascontiguousarray(ids, dtype=np.int64)) >= 0
        repeated = self._archive.repeated_ids()
        at = np.flatnonzero(np.isin(ids, repeated)) if repeated.size else np.empty(0, np.intp)
        if at.size:
            held[at] |= self._outranked(seqs[at], ids[at])
        return held if held.any() else None

    def _outranked(self, seqs: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """For archived copies (seqs, ids): is the same event id held in the window,
        or archived again later? (Rule 9 counts an event id once.) Scans the
        archive's ids."""
        held = self._store.find_events(np.ascontiguousarray(ids, dtype=np.int64)) >= 0
        copies = self._archive.find(ids)
        copy_ids = self._archive.columns(copies)[0]
        # the last copy of each id: order by id, then seq
        order = np.lexsort((copies, copy_ids))
        last = np.ones(order.size, dtype=bool)
        last[:-1] = copy_ids[order[1:]] != copy_ids[order[:-1]]
        last_ids, last_seqs = copy_ids[order[last]], copies[order[last]]
        latest = last_seqs[np.searchsorted(last_ids, ids)]
        return held | (latest != seqs)

    def changes(
        self,
        since: datetime.date | str | None = None,
        nominal_id: int | None = None,
        area: str | None = None,
    ) -> ChangeTable:
        """The change log: every band change reported (date, nominal_id, old and new
        band, score, cause), oldest first, for the retained history; from
        ``since`` on, of one nominal or all; with ``area``, the changes of the
        nominals it owned on each change's date."""
        with self._lock.read():
            first = None if since is None else day_number(_as_date(since))
            table = self._changelog.table(first, None if nominal_id is None else int(nominal_id))
            if area is None:
                return table
            days = table.date.astype("datetime64[D]").astype(np.int64)
            keep = np.zeros(days.size, dtype=bool)
            for day in np.unique(days).tolist():
                on = days == day
                keep[on] = self._in_area(table.nominal_id[on], area, day)
            return _rows_of(table, keep)

    # -- the count matrix and reweighting ---------------------------------------------------
    def matrix(self) -> CountMatrix:
        """The count matrix of the live events (built on first use, cached until a change)."""
        with self._lock.read():
            return self._matrix()

    def _matrix(self) -> CountMatrix:
        return self._matrix_rows()[0]

    def _matrix_rows(self) -> tuple[CountMatrix, np.ndarray]:
        """The count matrix, rows in nominal_id order, and each row's index in the store."""
        with self._cache_lock:
            if self._matrix_cache is None or self._matrix_cache[0] != self._version:
                store = self._store
                from . import _kernels

                row_index = self._by_id().copy()
                row_of = np.empty(row_index.size, dtype=np.int32)  # the row of each nominal
                row_of[row_index] = np.arange(row_index.size, dtype=np.int32)
                indptr, indices, data = _kernels.build_csr(
                    row_of[store.event_nominals()],
                    store.event_kinds(),
                    store.live_counts()[row_index],
                    store.n_kinds,
                )
                if data.size == 0 or int(data.max()) <= np.iinfo(np.uint16).max:
                    data = data.astype(np.uint16)  # a third less to read when rescoring
                nominal_ids = store.nominal_ids()[row_index]
                for array in (nominal_ids, indptr, indices, data, row_index):
                    array.setflags(write=False)  # shared by every caller: read-only
                matrix = CountMatrix(nominal_ids, indptr, indices, data, store.n_kinds)
                self._matrix_cache = (self._version, matrix, row_index)
            return self._matrix_cache[1], self._matrix_cache[2]

    def _csc(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The matrix by column, each entry's row given as the nominal's store index."""
        matrix, row_index = self._matrix_rows()
        with self._cache_lock:
            if self._csc_cache is None or self._csc_cache[0] != self._version:
                from . import _kernels

                col_ptr, rows, counts = _kernels.build_csc(
                    matrix.indptr, matrix.indices, matrix.data, matrix.n_kinds
                )
                csc = (col_ptr, row_index[rows].astype(np.int32), counts)
                for array in csc:
                    array.setflags(write=False)
                self._csc_cache = (self._version, csc)
            return self._csc_cache[1]

    def _full_scores(self, points: np.ndarray) -> np.ndarray:
        """Every nominal's score under ``points``, by row of the matrix (nominal_id order)."""
        matrix = self._matrix()
        return csr_matvec(matrix.indptr, matrix.indices, matrix.data, points, self._threads)

    def _check_same_shape(self, weights: Weights) -> None:
        # Comparing 3,039 codes one by one is slow next to a partial rescore:
        # equal datasets and an equal layout digest (of the datasets and the codes,
        # which are canonical CCC/SS) mean equal codes.
        current = self._weights
        if weights.datasets == current.datasets and weights.layout == current.layout:
            return
        if weights.datasets != current.datasets:
            raise EngineError(
                f"the new table's datasets {list(weights.datasets)} differ from "
                f"{list(current.datasets)}"
            )
        if weights.offences != current.offences:
            missing = sorted(set(current.offences) - set(weights.offences))
            extra = sorted(set(weights.offences) - set(current.offences))
            raise EngineError(
                "the new table must list the same offence codes as the current one "
                f"({len(missing)} missing, e.g. {missing[:3]}; "
                f"{len(extra)} extra, e.g. {extra[:3]})"
            )

    # A partial rescore visits the nominals of the changed columns at random;
    # the full product streams through the whole matrix. Past this share of the
    # entries the stream is the faster of the two.
    _PARTIAL_SHARE = 12

    def _plan(self, weights: Weights) -> tuple[str, np.ndarray, np.ndarray]:
        """How to rescore under ``weights``: (mode, changed kinds, their change in points)."""
        self._check_same_shape(weights)
        old_points = self._store.points()
        new_points = weights.kind_points()
        changed = np.flatnonzero(old_points != new_points).astype(np.int64)
        if changed.size == 0:
            return "none", changed, changed
        matrix = self._matrix()
        col_ptr = self._csc()[0]
        touched = int(np.sum(col_ptr[changed + 1] - col_ptr[changed]))
        mode = "partial" if touched * self._PARTIAL_SHARE < matrix.nnz else "full"
        return mode, changed, new_points[changed] - old_points[changed]

    def reweight(
        self,
        weights: Weights | None = None,
        *,
        assessment_table: AssessmentTable | None = None,
        user: str | None = None,
        reason: str | None = None,
    ) -> ReweightReport:
        """Rescore everyone under a new weight table (same datasets and offence codes),
        a new assessment table (the same tools), or both, in one step.

        When the changed entries of the weight table cover under a twelfth of
        the count matrix, only those columns are visited (a partial rescore,
        whose cost follows the entries in them); otherwise the whole matrix is
        multiplied by the new points (a full rescore). The matrix is built on
        first use and cached until the events change. A new assessment table
        reprices the counting assessments.
        """
        if weights is None and assessment_table is None:
            raise EngineError("reweight needs a new weight table, a new assessment table or both")
        weights = self._weights if weights is None else _check_weights(weights)
        if assessment_table is not None:
            self._check_assessment_table(assessment_table)
        self._check_writable()
        with self._lock.write():
            mode, changed, delta = self._plan(weights)
            # what a rescore reads is built before the change is journaled
            if mode == "partial":
                col_ptr, rows, counts = self._csc()
            elif mode == "full":
                matrix, row_index = self._matrix_rows()
            context = self._context(user, reason)
            # the tables' text, for the journal and the records: a durable engine's only
            # (writing a national table's CSV costs more than a partial reweight)
            texts: dict[str, str] = {}

            def text_of(table: Weights | AssessmentTable) -> str:
                if table.sha256 not in texts:
                    texts[table.sha256] = table.to_csv_text()
                return texts[table.sha256]

            if assessment_table is None:
                key = self._log(lambda: durable.encode_reweight(context, text_of(weights)))
            else:
                key = self._log(
                    lambda: durable.encode_reweight_tables(
                        context, text_of(weights), text_of(assessment_table)
                    )
                )
            self._tables[weights.sha256] = weights
            store, book = self._store, self._book
            with self._undone_if_failed(key):
                noms, points_delta = np.empty(0, np.int32), np.empty(0, np.int64)
                if assessment_table is not None:  # reprices the book: undone below on failure
                    noms, points_delta = book.reprice(assessment_table.points_of)
                try:
                    if mode == "partial":
                        store.add_columns(changed, delta, col_ptr, rows, counts)
                        store.add_scores(noms, points_delta, False)
                    elif mode == "full":
                        # the product plus the assessments' points, the scores written
                        # and the band changes, in one pass
                        moved = store.rescore(
                            matrix.indptr,
                            matrix.indices,
                            matrix.data,
                            weights.kind_points(),
                            row_index,
                            matrix.nominal_id,
                            book.base(store.n_nominals) if book.any_counting() else None,
                        )
                    elif noms.size:
                        store.add_scores(noms, points_delta, True)
                    else:
                        store.add_scores(noms, points_delta, True)
                except BaseException:
                    if assessment_table is not None:
                        book.reprice(self._assessment_table.points_of)
                    raise
            if mode == "full":
                changes = BandChanges(*moved)
                self._changelog.record(day_number(self._as_of), "reweight", changes)
            else:
                changes = self._band_changes("reweight")
            store.set_points(weights.kind_points())
            self._weights = weights
            self._history.append(WeightsRecord(weights.name, weights.sha256, self._as_of, mode))
            if assessment_table is not None:
                self._assessment_table = assessment_table
                self._assessment_tables[assessment_table.sha256] = assessment_table
            journaled = key is not None  # (records of the tables: a journaled change's only)
            self._commit(
                key,
                context,
                "reweight",
                changes.nominal_id,
                changes,
                tables=[(weights.sha256, weights.name, text_of(weights))] if journaled else (),
                assessment_tables=(
                    [(assessment_table.sha256, assessment_table.name, text_of(assessment_table))]
                    if journaled and assessment_table is not None
                    else ()
                ),
            )
            # The matrix counts events, not points: it stays valid across a reweight.
            return ReweightReport(weights.name, weights.sha256, int(changed.size), mode, changes)

    def _check_assessment_table(self, table: object) -> AssessmentTable:
        """A new assessment table: the same tools as the one in force, each holding every
        raw score held (a RecordError names one it lacks)."""
        if not isinstance(table, AssessmentTable):
            raise EngineError(
                f"assessment_table must be an AssessmentTable, not {type(table).__name__}"
            )
        if table.tools != self._assessment_table.tools:
            raise RecordError(
                f"the new assessment table's tools {list(table.tools)} differ from "
                f"{list(self._assessment_table.tools)}"
            )
        book = self._book
        lacking = np.flatnonzero((table.points_of(book.tool, book.score) < 0) & (book.nominal >= 0))
        if lacking.size:
            row = int(lacking[0])
            raise RecordError(
                f"the new assessment table gives no points to the score {int(book.score[row])} "
                f"of tool {table.tools[int(book.tool[row])]!r} (assessment "
                f"{int(book.ids[row])})"
            )
        return table

    def what_if(
        self, weights: Weights | None = None, *, assessment_table: AssessmentTable | None = None
    ) -> WhatIf:
        """The impact of a new weight table, a new assessment table or both on the nominals
        with a live event or a counting assessment, without applying it.

        A what-if leaves the store as it is, so it rescores everyone from the
        matrix (the full product; the store's partial rescore changes scores in
        place, which a what-if must not).
        """
        if weights is None and assessment_table is None:
            raise EngineError("what_if needs a new weight table, a new assessment table or both")
        weights = self._weights if weights is None else _check_weights(weights)
        with self._lock.read():
            if assessment_table is not None:
                self._check_assessment_table(assessment_table)
            self._check_same_shape(weights)
            matrix, row_index = self._matrix_rows()
            # by row of the matrix: nominal_id order
            old = self._store.scores()[row_index]
            book = self._book
            if np.array_equal(self._store.points(), weights.kind_points()):
                new = old.copy()
            else:
                new = self._full_scores(weights.kind_points())
                if book.any_counting():
                    new += book.base(self._store.n_nominals)[row_index]
            if assessment_table is not None and book.any_counting():
                groups = np.flatnonzero(book.current >= 0)
                rows = book.find(book.current[groups])
                repriced = np.zeros(book.current.size, np.int64)
                repriced[groups] = assessment_table.points_of(book.tool[rows], book.score[rows])
                n = self._store.n_nominals
                change = repriced[: n * book.n_tools].reshape(-1, book.n_tools).sum(1) - book.base(
                    n
                )
                new += change[row_index]
            # Nominals without a live event or counting assessment score 0 under any table.
            live = np.diff(matrix.indptr) > 0
            if book.any_counting():
                live |= book.counting(self._store.n_nominals)[row_index]
            ids, old, new = matrix.nominal_id[live], old[live], new[live]
            old_band = band_codes(old, self._thresholds)
            new_band = band_codes(new, self._thresholds)
            transitions = np.bincount(
                old_band.astype(np.int64) * 4 + new_band, minlength=16
            ).reshape(4, 4)
            moved = old != new
            changed_band = old_band != new_band
            new_names = (weights.name, weights.sha256)
            return WhatIf(
                old_weights=(self._weights.name, self._weights.sha256),
                new_weights=new_names,
                transitions=transitions,
                changes=BandChanges(
                    ids[changed_band],
                    old_band[changed_band],
                    new_band[changed_band],
                    new[changed_band],
                ),
                nominal_id=ids[moved],
                score_change=new[moved] - old[moved],
            )
