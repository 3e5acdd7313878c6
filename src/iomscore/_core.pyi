"""Type stubs for the compiled event store (src/iomscore/_core.pyx)."""

from collections.abc import Callable
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

__all__ = [
    "MAX_EVENTS",
    "SLICE",
    "EventStore",
    "add_kernels",
    "csr_matvec",
    "helper_counts",
    "sell_build",
    "sell_kernels",
    "sell_matvec",
]

_BandChanges: TypeAlias = tuple[
    npt.NDArray[np.int64], npt.NDArray[np.int8], npt.NDArray[np.int8], npt.NDArray[np.int64]
]

MAX_EVENTS: int
SLICE: int

@disjoint_base
class EventStore:
    def __init__(
        self,
        ring_days: int,
        as_of: int,
        start: int,
        points: npt.NDArray[np.int64],
        thresholds: npt.NDArray[np.int64],
    ) -> None: ...
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
    @property
    def use_pages(self) -> bool: ...
    @use_pages.setter
    def use_pages(self, value: bool) -> None: ...
    def _index_lanes(self) -> npt.NDArray[np.uint8]: ...
    @property
    def parallel_min(self) -> int: ...
    @parallel_min.setter
    def parallel_min(self, value: int) -> None: ...
    @property
    def add_kernel(self) -> str: ...
    @add_kernel.setter
    def add_kernel(self, name: str) -> None: ...
    def _fail_at_nominal(self, index: int) -> None: ...
    def memory_bytes(self) -> int: ...
    def event_memory_bytes(self) -> int: ...
    def nominal_ids(self) -> npt.NDArray[np.int64]: ...
    def scores(self) -> npt.NDArray[np.int64]: ...
    def live_counts(self) -> npt.NDArray[np.int32]: ...
    def points(self) -> npt.NDArray[np.int64]: ...
    def event_ids(self) -> npt.NDArray[np.int64]: ...
    def event_nominals(self) -> npt.NDArray[np.int32]: ...
    def event_kinds(self) -> npt.NDArray[np.uint16]: ...
    def find_events(self, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]: ...
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
        nominal_ids: npt.NDArray[np.int64],
        kinds: npt.NDArray[np.uint16],
        days: npt.NDArray[np.int32],
        action: npt.NDArray[np.int8],
        nominal_index: npt.NDArray[np.int32] | None = None,
    ) -> None: ...
    def retract(self, slots: npt.NDArray[np.int64]) -> None: ...
    def advance(self, new_as_of: int, new_start: int) -> int: ...
    def add_columns(
        self,
        changed: npt.NDArray[np.int64],
        delta: npt.NDArray[np.int64],
        col_ptr: npt.NDArray[np.int64],
        rows: npt.NDArray[np.int32],
        counts: npt.NDArray[np.int32],
    ) -> None: ...
    def set_points(self, points: npt.NDArray[np.int64]) -> None: ...
    def band_changes(self, by_id: Callable[[], npt.NDArray[np.int64]]) -> _BandChanges: ...
    def set_all_scores(
        self,
        values: npt.NDArray[np.int64],
        by_id: Callable[[], npt.NDArray[np.int64]],
    ) -> _BandChanges: ...
    def _in_id_order(
        self,
        index: npt.NDArray[np.integer],
        flags: npt.NDArray[np.uint8],
        by_id: Callable[[], npt.NDArray[np.int64]],
        all_flags: npt.NDArray[np.uint8] | None = None,
        new_scores: npt.NDArray[np.int64] | None = None,
    ) -> _BandChanges: ...

def csr_matvec(
    indptr: npt.NDArray[np.int64],
    kinds: npt.NDArray[np.uint16],
    counts: npt.NDArray[np.uint16] | npt.NDArray[np.int32],
    points: npt.NDArray[np.int64],
    threads: int = 0,
) -> npt.NDArray[np.int64]: ...
def compose_kinds(
    dataset_rows: npt.NDArray[np.int32],
    dataset_base: npt.NDArray[np.uint16],
    offence_rows: npt.NDArray[np.int32],
    offence_code: npt.NDArray[np.uint16],
    out: npt.NDArray[np.uint16],
) -> npt.NDArray[np.uint16]: ...
def add_kernels() -> list[str]: ...
def helper_counts() -> tuple[int, int, int]: ...
def _hold_helper() -> bool: ...
def _release_helper() -> None: ...
def sell_kernels() -> list[str]: ...
def sell_build(
    indptr: npt.NDArray[np.int64],
    kinds: npt.NDArray[np.uint16],
    counts: npt.NDArray[np.uint16],
    sigma: int = 4096,
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int32],
    npt.NDArray[np.uint16],
    npt.NDArray[np.uint16],
    int,
]: ...
def sell_matvec(
    slice_ptr: npt.NDArray[np.int64],
    perm: npt.NDArray[np.int32],
    sell_kinds: npt.NDArray[np.uint16],
    sell_counts: npt.NDArray[np.uint16],
    points: npt.NDArray[np.int64],
    n_rows: int,
    threads: int = 0,
    kernel: str | None = None,
) -> npt.NDArray[np.int64]: ...
def _matvec_rows(
    row_lo: int,
    row_hi: int,
    indptr: npt.NDArray[np.int64],
    kinds: npt.NDArray[np.uint16],
    counts: npt.NDArray[np.uint16] | npt.NDArray[np.int32],
    points: npt.NDArray[np.int32],
    out: npt.NDArray[np.int64],
) -> None: ...
