"""The archive: events that left the window, kept for the retention period.

When the engine advances, the events leaving its window move here (rule 9:
a timeline at a past date counts them again). Each keeps its id, its
nominal's index in the store and its kind: 14 bytes an event, with the days
held as runs, because events arrive here in day order (a day's events leave
the window together, days in order). Events dated on or before the retention
horizon are purged for good: overwritten, then dropped.

Positions are global sequence numbers (``seq``), fixed for an event's life in
the archive, so a lookup built earlier stays valid as the archive grows and
purges. The lookup by nominal (for a timeline) is built on demand and patched
by a short tail of the events added since, so finding one nominal's events
costs about that nominal's events. Finding an event id (a retraction, a
check for a newer copy of an event) scans the ids: a lookup by id would cost
12 bytes an archived event.
"""

from __future__ import annotations

import numpy as np

from ._core import group_positions

__all__ = ["Archive"]


class Archive:
    """Events that left the window, in day order (see the module doc)."""

    #: Events added since a lookup was built that a query scans instead of
    #: rebuilding it (about two days of a national cohort's events).
    TAIL = 65_536

    def __init__(self) -> None:
        self._ids = np.empty(0, np.int64)
        self._noms = np.empty(0, np.int32)
        self._kinds = np.empty(0, np.uint16)
        self._seq0 = 0  # the seq of buffer position 0
        self._lo = 0  # seqs [lo, hi) are held
        self._hi = 0
        self._run_day: list[int] = []  # day number of each run, ascending
        self._run_end: list[int] = []  # the seq after each run's last event
        self._by_nominal: tuple[int, int, np.ndarray, np.ndarray] | None = None
        self._version = 0  # counts changes, for repeated_ids
        self._repeated: tuple[int, np.ndarray] | None = None

    # -- size ---------------------------------------------------------------
    def __len__(self) -> int:
        return self._hi - self._lo

    @property
    def nbytes(self) -> int:
        """Bytes held by the archive's columns (allocated, not only used)."""
        return int(self._ids.nbytes + self._noms.nbytes + self._kinds.nbytes) + 16 * len(
            self._run_day
        )

    @property
    def lookup_nbytes(self) -> int:
        """Bytes held by the lookup by nominal, built on demand."""
        lookup = self._by_nominal
        return 0 if lookup is None else int(lookup[2].nbytes + lookup[3].nbytes)

    @property
    def first_day(self) -> int | None:
        """Day number of the oldest archived event, or None when empty."""
        return self._run_day[0] if self._run_day else None

    # -- changes --------------------------------------------------------------
    def append(
        self, ids: np.ndarray, noms: np.ndarray, kinds: np.ndarray, days: np.ndarray
    ) -> None:
        """Add events that left the window; ``days`` ascend, none before the last held."""
        n = int(ids.shape[0])
        if n == 0:
            return
        if np.any(days[1:] < days[:-1]) or (self._run_day and int(days[0]) < self._run_day[-1]):
            raise RuntimeError("archive: events must arrive in day order")
        self._reserve(n)
        at = self._hi - self._seq0
        self._ids[at : at + n] = ids
        self._noms[at : at + n] = noms
        self._kinds[at : at + n] = kinds
        breaks = np.flatnonzero(days[1:] != days[:-1]) + 1
        for start, end in zip(
            np.concatenate(([0], breaks)).tolist(),
            np.concatenate((breaks, [n])).tolist(),
            strict=True,
        ):
            day = int(days[start])
            if self._run_day and self._run_day[-1] == day and self._run_end[-1] == self._hi:
                self._run_end[-1] = self._hi + end
            else:
                self._run_day.append(day)
                self._run_end.append(self._hi + end)
        self._hi += n
        self._version += 1

    def _reserve(self, n: int) -> None:
        held = self._hi - self._lo
        cap = self._ids.shape[0]
        if self._hi - self._seq0 + n <= cap:
            return
        # Move the held events to the front of the same buffers when that leaves
        # room (the purged front is reused), else grow by an eighth: at most 16
        # bytes an event are allocated, and each event is copied about 8 times
        # over its life, in moves of the whole archive every eighth of its size.
        new_cap = cap if held + n <= cap else max(held + n, held + held // 8, 1024)
        start = self._lo - self._seq0
        for name in ("_ids", "_noms", "_kinds"):
            old = getattr(self, name)
            new = np.empty(new_cap, old.dtype) if new_cap != cap else old
            new[:held] = old[start : start + held]
            setattr(self, name, new)
        self._seq0 = self._lo

    def purge(self, horizon_day: int) -> int:
        """Drop the events dated on or before ``horizon_day`` for good; returns how many."""
        k = 0
        while k < len(self._run_day) and self._run_day[k] <= horizon_day:
            k += 1
        if k == 0:
            return 0
        new_lo = self._run_end[k - 1]
        a, b = self._lo - self._seq0, new_lo - self._seq0
        self._ids[a:b] = 0  # purged is gone, not just out of reach
        self._noms[a:b] = -1
        self._kinds[a:b] = 0
        purged = new_lo - self._lo
        self._lo = new_lo
        self._version += 1
        del self._run_day[:k]
        del self._run_end[:k]
        return purged

    def remove(self, event_ids: np.ndarray) -> np.ndarray:
        """Withdraw every copy of these ids; returns the nominal index of each removed copy."""
        seqs = self.find(event_ids)
        if seqs.size == 0:
            return np.empty(0, np.int32)
        keep = np.ones(self._hi - self._lo, dtype=bool)
        keep[seqs - self._lo] = False
        start = self._lo - self._seq0
        span = slice(start, start + keep.size)
        removed = self._noms[span][~keep].copy()
        days = self._days_of(np.arange(self._lo, self._hi, dtype=np.int64))
        ids, noms, kinds = (a[span][keep] for a in (self._ids, self._noms, self._kinds))
        days = days[keep]
        self.__init__()  # type: ignore[misc]
        self.append(ids, noms, kinds, days)
        return removed

    # -- reads ----------------------------------------------------------------
    def _days_of(self, seqs: np.ndarray) -> np.ndarray:
        """Day number of each seq (held seqs only)."""
        if seqs.size == 0:
            return np.empty(0, np.int32)
        run = np.searchsorted(np.asarray(self._run_end, np.int64), seqs, side="right")
        return np.asarray(self._run_day, np.int32)[run]

    def columns(self, seqs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(event_id, nominal index, kind, day)`` of held seqs."""
        at = seqs - self._seq0
        return self._ids[at], self._noms[at], self._kinds[at], self._days_of(seqs)

    def dated(self, after_day: int, until_day: int) -> np.ndarray:
        """Seqs of the events dated in ``(after_day, until_day]`` (a range: days ascend)."""
        days = np.asarray(self._run_day, np.int64)
        ends = np.asarray([self._lo, *self._run_end], np.int64)
        lo = int(ends[np.searchsorted(days, after_day, side="right")])
        hi = int(ends[np.searchsorted(days, until_day, side="right")])
        return np.arange(lo, max(lo, hi), dtype=np.int64)

    def of_nominal(self, index: int) -> np.ndarray:
        """Seqs of the archived events of the nominal with this store index, ascending."""
        indptr, positions, built_lo, built_hi = self._nominal_lookup()
        found = np.empty(0, np.int64)
        if index + 1 < indptr.shape[0]:
            found = positions[indptr[index] : indptr[index + 1]].astype(np.int64) + built_lo
            found = found[found >= self._lo]
        tail_from = max(built_hi, self._lo)
        tail = self._noms[tail_from - self._seq0 : self._hi - self._seq0]
        extra = np.flatnonzero(tail == index) + tail_from
        return np.concatenate((found, extra)) if extra.size else found

    def find(self, event_ids: np.ndarray) -> np.ndarray:
        """Seqs of every held copy of these ids, ascending: a scan of the ids held."""
        ids = np.asarray(event_ids, dtype=np.int64)
        if ids.size == 0 or self._hi == self._lo:
            return np.empty(0, np.int64)
        held = self._ids[self._lo - self._seq0 : self._hi - self._seq0]
        return np.flatnonzero(np.isin(held, ids)) + self._lo

    def repeated_ids(self) -> np.ndarray:
        """The ids with more than one copy in the archive, sorted (a sort of the ids
        held, kept until the archive changes)."""
        cached = self._repeated
        if cached is None or cached[0] != self._version:
            ordered = np.sort(self._ids[self._lo - self._seq0 : self._hi - self._seq0])
            repeated = np.unique(ordered[1:][ordered[1:] == ordered[:-1]])
            cached = self._repeated = (self._version, repeated)
        return cached[1]

    def _nominal_lookup(self) -> tuple[np.ndarray, np.ndarray, int, int]:
        lookup = self._by_nominal
        if lookup is None or self._hi - lookup[1] > self.TAIL:
            held = self._noms[self._lo - self._seq0 : self._hi - self._seq0]
            indptr, positions = group_positions(held, int(held.max(initial=-1)) + 1)
            lookup = self._by_nominal = (self._lo, self._hi, indptr, positions)
        built_lo, built_hi, indptr, positions = lookup
        return indptr, positions, built_lo, built_hi
