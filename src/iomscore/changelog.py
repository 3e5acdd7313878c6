"""The change log: every band change the engine reported, when, and why.

The framework tracks "the nominal's score and any changes of risk". Each
operation's band changes are kept as they were reported (under the table in
force then), dated with the engine's as_of at the time and tagged with their
cause, for the retained history: entries dated on or before the retention
horizon are dropped as the engine advances.
"""

from __future__ import annotations

import datetime
import os
from dataclasses import dataclass
from typing import TextIO

import numpy as np

from .calendar import from_day_number
from .results import BAND_NAMES, BandChanges

__all__ = ["CAUSES", "ChangeLog", "ChangeTable"]

#: What can change a band, as the log names it.
CAUSES = ("ingest", "retract", "advance", "reweight", "assess")


@dataclass(frozen=True)
class ChangeTable:
    """Band changes, oldest first: ``date, nominal_id, old_band, new_band, score, cause``.

    ``date`` is the engine's as_of when the change was reported
    (``datetime64[D]``); bands are codes into :data:`BAND_NAMES`; ``score`` is
    the score after the change (points); ``cause`` indexes :data:`CAUSES`.
    Within a date, changes keep the order of the operations, each in
    nominal_id order.
    """

    date: np.ndarray
    nominal_id: np.ndarray
    old_band: np.ndarray
    new_band: np.ndarray
    score: np.ndarray
    cause: np.ndarray

    def __len__(self) -> int:
        return int(self.nominal_id.shape[0])

    def rows(self) -> list[tuple[datetime.date, int, str, str, int, str]]:
        """``(date, nominal_id, old_band, new_band, score, cause)`` tuples."""
        return [
            (d.item(), int(n), BAND_NAMES[o], BAND_NAMES[b], int(s), CAUSES[c])
            for d, n, o, b, s, c in zip(
                self.date,
                self.nominal_id,
                self.old_band,
                self.new_band,
                self.score,
                self.cause,
                strict=True,
            )
        ]

    def write_csv(self, target: str | os.PathLike[str] | TextIO) -> None:
        """Write ``date,nominal_id,old_band,new_band,score,cause``."""
        lines = ["date,nominal_id,old_band,new_band,score,cause"]
        lines += [f"{d},{n},{o},{b},{s},{c}" for d, n, o, b, s, c in self.rows()]
        text = "\n".join(lines) + "\n"
        if isinstance(target, str | os.PathLike):
            with open(target, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        else:
            target.write(text)


class ChangeLog:
    """The engine's band changes, by operation, in the order reported."""

    def __init__(self) -> None:
        self._entries: list[tuple[int, int, BandChanges]] = []  # (day, cause, changes)

    def __len__(self) -> int:
        return sum(len(changes) for _, _, changes in self._entries)

    def record(self, day: int, cause: str, changes: BandChanges) -> None:
        """Keep an operation's band changes, dated ``day`` (a day number)."""
        if len(changes):
            self._entries.append((day, CAUSES.index(cause), changes))

    def purge(self, horizon_day: int) -> None:
        """Drop the changes dated on or before ``horizon_day``: days never decrease."""
        k = 0
        while k < len(self._entries) and self._entries[k][0] <= horizon_day:
            k += 1
        del self._entries[:k]

    def table(self, since: int | None = None, nominal_id: int | None = None) -> ChangeTable:
        """The changes dated ``since`` (a day number) or later, of one nominal or all."""
        entries = [e for e in self._entries if since is None or e[0] >= since]
        parts = []
        for day, cause, changes in entries:
            keep = slice(None) if nominal_id is None else changes.nominal_id == nominal_id
            ids = changes.nominal_id[keep]
            if ids.size:
                parts.append(
                    (
                        day,
                        cause,
                        ids,
                        changes.old_band[keep],
                        changes.new_band[keep],
                        changes.score[keep],
                    )
                )
        if not parts:
            empty = np.empty(0)
            return ChangeTable(
                empty.astype("datetime64[D]"),
                empty.astype(np.int64),
                empty.astype(np.int8),
                empty.astype(np.int8),
                empty.astype(np.int64),
                empty.astype(np.int8),
            )
        sizes = [p[2].size for p in parts]
        return ChangeTable(
            np.repeat(
                np.array([from_day_number(p[0]) for p in parts], dtype="datetime64[D]"), sizes
            ),
            np.concatenate([p[2] for p in parts]),
            np.concatenate([p[3] for p in parts]),
            np.concatenate([p[4] for p in parts]),
            np.concatenate([p[5] for p in parts]),
            np.repeat(np.array([p[1] for p in parts], dtype=np.int8), sizes),
        )
