"""Type stubs for the compiled event store (src/iomscore/_core.pyx)."""

from collections.abc import Callable, Iterable, Sequence
from typing import Literal, TypeAlias, overload

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

__all__ = [
    "EventStore",
    "OneShotSums",
    "PlainCsv",
    "by_day",
    "compose_kinds",
    "csr_matvec",
    "first_repeat",
    "format_scores",
    "group_positions",
    "intern_text",
    "offer_latest",
    "settle_groups",
]

_BandChanges: TypeAlias = tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int8], npt.NDArray[np.int8], npt.NDArray[np.int64]
]

@disjoint_base
class EventStore:
    def __init__(
        self,
        ring_days: int,
        as_of: int,
        start: int,
        points: npt.NDArray[np.int64],
        thresholds: npt.NDArray[np.int64],
        threads: int = 2,
    ) -> None: ...
    @property
    def threads(self) -> int: ...
    @threads.setter
    def threads(self, value: int) -> None: ...
    @property
    def as_of(self) -> int: ...
    @property
    def start(self) -> int: ...
    @property
    def n_nominals(self) -> int: ...
    @property
    def live_events(self) -> int: ...
    @property
    def n_kinds(self) -> int: ...
    @property
    def thresholds(self) -> tuple[int, int, int]: ...
    @property
    def slot_top(self) -> int: ...
    @property
    def dead_events(self) -> int: ...
    @property
    def free_slots(self) -> int: ...
    @property
    def index_entries(self) -> int: ...
    @property
    def paged_entries(self) -> int: ...
    @property
    def id_pages(self) -> int: ...
    @property
    def spare_pages(self) -> int: ...
    def memory_bytes(self) -> int: ...
    def event_memory_bytes(self) -> int: ...
    def nominal_ids(self) -> npt.NDArray[np.int64]: ...
    def scores(self) -> npt.NDArray[np.int64]: ...
    def live_counts(self) -> npt.NDArray[np.int32]: ...
    def points(self) -> npt.NDArray[np.int64]: ...
    def event_ids(self) -> npt.NDArray[np.int64]: ...
    def event_nominals(self) -> npt.NDArray[np.int32]: ...
    def event_kinds(self) -> npt.NDArray[np.uint16]: ...
    def event_days(self) -> npt.NDArray[np.uint16]: ...
    def nominal_events(
        self, index: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint16], npt.NDArray[np.int32]]: ...
    def explain_columns(
        self, index: int, expiry: npt.NDArray[np.int64], names: npt.NDArray[np.object_]
    ) -> tuple[
        npt.NDArray[np.int64],
        npt.NDArray[np.uint16],
        npt.NDArray[np.datetime64],
        npt.NDArray[np.int64],
        npt.NDArray[np.datetime64],
        npt.NDArray[np.object_],
        int,
    ]: ...
    @property
    def nominal_lookup_built(self) -> bool: ...
    def note_written(self, ids: npt.NDArray[np.int64], recent_cap: int) -> None: ...
    def nominal_lookup_bytes(self) -> int: ...
    def window_scores(
        self, after_day: int, until_day: int
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]: ...
    def forecast_falls(
        self,
        group_of_offset: npt.NDArray[np.int32],
        n_groups: int,
        extra: tuple[npt.NDArray[np.int32], npt.NDArray[np.int32], npt.NDArray[np.int64]]
        | None = None,
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int8], npt.NDArray[np.int32]]: ...
    def find_events(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]: ...
    def score_of(self, index: int) -> int: ...
    def find_nominal(self, nominal_id: int) -> int: ...
    def find_nominals(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]: ...
    def classify(
        self,
        ids: npt.NDArray[np.int64],
        nominal_ids: npt.NDArray[np.int64],
        kinds: npt.NDArray[np.uint16],
        days: npt.NDArray[np.int32],
        nominal_index: npt.NDArray[np.int32] | None = None,
    ) -> npt.NDArray[np.int8]: ...
    def plan(
        self, status: npt.NDArray[np.int8], days: npt.NDArray[np.int32]
    ) -> tuple[npt.NDArray[np.int8], dict[str, int]]: ...
    def apply(
        self,
        ids: npt.NDArray[np.int64],
        nominal_ids: npt.NDArray[np.int64] | None,
        kinds: npt.NDArray[np.uint16],
        days: npt.NDArray[np.int32],
        action: npt.NDArray[np.int8],
        nominal_index: npt.NDArray[np.int32] | None = None,
    ) -> None: ...
    def add_nominals(self, nominal_ids: npt.NDArray[np.int64]) -> None: ...
    def retract(self, slots: npt.NDArray[np.int64]) -> None: ...
    @overload
    def advance(self, new_as_of: int, new_start: int, leaving: Literal[False] = False) -> int: ...
    @overload
    def advance(
        self, new_as_of: int, new_start: int, leaving: Literal[True]
    ) -> tuple[
        int,
        tuple[
            npt.NDArray[np.int64],
            npt.NDArray[np.int32],
            npt.NDArray[np.uint16],
            npt.NDArray[np.int32],
        ],
    ]: ...
    def add_columns(
        self,
        changed: npt.NDArray[np.int64],
        delta: npt.NDArray[np.int64],
        col_ptr: npt.NDArray[np.int64],
        rows: npt.NDArray[np.int32],
        counts: npt.NDArray[np.int32],
    ) -> None: ...
    def set_points(self, points: npt.NDArray[np.int64]) -> None: ...
    def add_scores(
        self, index: npt.NDArray[np.int32], delta: npt.NDArray[np.int64], begin: bool = True
    ) -> None: ...
    def band_changes(self, by_id: Callable[[], npt.NDArray[np.int64]]) -> _BandChanges: ...
    def rescore(
        self,
        indptr: npt.NDArray[np.int64],
        kinds: npt.NDArray[np.uint16],
        counts: npt.NDArray[np.uint16] | npt.NDArray[np.int32],
        points: npt.NDArray[np.int64],
        row_index: npt.NDArray[np.int64],
        row_ids: npt.NDArray[np.int64],
        base: npt.NDArray[np.int64] | None = None,
    ) -> _BandChanges: ...

def csr_matvec(
    indptr: npt.NDArray[np.int64],
    kinds: npt.NDArray[np.uint16],
    counts: npt.NDArray[np.uint16] | npt.NDArray[np.int32],
    points: npt.NDArray[np.int64],
    threads: int = 2,
) -> npt.NDArray[np.int64]: ...
def by_day(
    days: npt.NDArray[np.int32], values: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
def offer_latest(
    nominal: npt.NDArray[np.int32],
    tool: npt.NDArray[np.int8],
    day: npt.NDArray[np.int32],
    ids: npt.NDArray[np.int64],
    points: npt.NDArray[np.int64],
    start: int,
    n_tools: int,
    cur_id: npt.NDArray[np.int64],
    cur_day: npt.NDArray[np.int32],
    cur_points: npt.NDArray[np.int64],
    stamp: npt.NDArray[np.int32],
    epoch: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]: ...
def settle_groups(
    groups: npt.NDArray[np.int64],
    before: npt.NDArray[np.int64],
    cur_id: npt.NDArray[np.int64],
    cur_day: npt.NDArray[np.int32],
    cur_points: npt.NDArray[np.int64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], npt.NDArray[np.int32]]: ...
def group_positions(
    keys: npt.NDArray[np.int32], n_groups: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int32]]: ...
def compose_kinds(
    dataset_rows: npt.NDArray[np.int32],
    dataset_base: npt.NDArray[np.uint16],
    offence_rows: npt.NDArray[np.int32],
    offence_code: npt.NDArray[np.uint16],
    out: npt.NDArray[np.uint16],
) -> npt.NDArray[np.uint16]: ...

_CSV_MAX_LINE: int

_Int64s: TypeAlias = npt.NDArray[np.int64]
_Int32s: TypeAlias = npt.NDArray[np.int32]

@disjoint_base
class PlainCsv:
    def __init__(self, n_fields: int, fields: Sequence[int], threads: int = 2) -> None: ...
    @property
    def event_id(self) -> _Int64s: ...
    @property
    def nominal_id(self) -> _Int64s: ...
    @property
    def day(self) -> _Int32s: ...
    @property
    def dataset(self) -> _Int32s: ...
    @property
    def offence(self) -> _Int32s: ...
    def read(
        self, data: bytes | bytearray | memoryview, begin: int, end: int
    ) -> tuple[int, list[tuple[int, int, int]]] | None: ...
    def words(self, part: int, column: int, since: int = 0) -> list[bytes]: ...

@disjoint_base
class OneShotSums:
    def __init__(self, expected: int = 0) -> None: ...
    def add(
        self,
        event_id: _Int64s,
        nominal_id: _Int64s,
        day: _Int32s,
        dataset: _Int32s,
        offence: _Int32s,
        parts: Sequence[tuple[int, int, npt.NDArray[np.int64]]],
        low: int,
        high: int,
        threads: int = 2,
    ) -> int: ...
    @property
    def counts(self) -> tuple[int, int, int]: ...
    def items(self) -> tuple[_Int64s, _Int64s]: ...

def first_repeat(ids: _Int64s) -> int: ...
def format_scores(nominal_id: _Int64s, score: _Int64s, band: npt.NDArray[np.int8]) -> bytes: ...
def intern_text(
    chunks: Iterable[
        tuple[
            bytes | bytearray | memoryview | npt.NDArray[np.uint8],
            npt.NDArray[np.int32] | npt.NDArray[np.int64],
        ]
    ],
) -> tuple[_Int32s, list[bytes]] | None: ...
