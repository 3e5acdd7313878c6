"""What the engine returns: score tables, band changes and operation reports.

Every result is columnar (numpy arrays) so a force-sized cohort costs no
Python loop, with ``rows()`` for the plain-Python view that tests and small
callers want. Every result names the weight table (name and SHA-256) it was
scored with.
"""

from __future__ import annotations

import datetime
import io
import os
import sys
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np

__all__ = [
    "BAND_NAMES",
    "AdvanceReport",
    "AssessReport",
    "BandChanges",
    "IngestReport",
    "RetractReport",
    "ReweightReport",
    "ScoreTable",
    "WhatIf",
    "band_codes",
]

BAND_NAMES = ("NONE", "LOW", "MEDIUM", "HIGH")


def band_codes(scores: np.ndarray, thresholds: tuple[int, int, int]) -> np.ndarray:
    """Band code per score: 0 NONE, 1 LOW, 2 MEDIUM, 3 HIGH (rule 5)."""
    low, medium, high = thresholds
    codes = (scores >= low).astype(np.int8)
    codes += scores >= medium
    codes += scores >= high
    return codes


@dataclass(frozen=True)
class BandChanges:
    """Nominals whose band changed: the framework's "changes of risk".

    Columns are aligned; bands are codes into :data:`BAND_NAMES`; ``score`` is
    the new score (points). Ordered by nominal_id.
    """

    nominal_id: np.ndarray
    old_band: np.ndarray
    new_band: np.ndarray
    score: np.ndarray

    @classmethod
    def empty(cls) -> BandChanges:
        return cls(
            np.empty(0, np.int64), np.empty(0, np.int8), np.empty(0, np.int8), np.empty(0, np.int64)
        )

    def __len__(self) -> int:
        return int(self.nominal_id.shape[0])

    def rows(self) -> list[tuple[int, str, str, int]]:
        """``(nominal_id, old_band, new_band, score)`` tuples."""
        return [
            (int(n), BAND_NAMES[o], BAND_NAMES[b], int(s))
            for n, o, b, s in zip(
                self.nominal_id, self.old_band, self.new_band, self.score, strict=True
            )
        ]

    def as_dict(self) -> dict[int, tuple[str, str, int]]:
        """``{nominal_id: (old_band, new_band, score)}``, the form of ``reference.band_changes``."""
        return {n: (o, b, s) for n, o, b, s in self.rows()}

    def escalations(self) -> int:
        """How many moved to a higher band."""
        return int(np.count_nonzero(self.new_band > self.old_band))


@dataclass(frozen=True)
class IngestReport:
    """What :meth:`Engine.ingest` did with a batch (counts of rows)."""

    received: int
    taken: int
    expired: int
    duplicates: int
    replaced: int
    future: int
    changes: BandChanges = field(repr=False)

    def __str__(self) -> str:
        parts = [f"{self.taken:,} taken", f"{self.expired:,} before the window"]
        if self.duplicates:
            parts.append(f"{self.duplicates:,} duplicates")
        if self.replaced:
            parts.append(f"{self.replaced:,} replaced")
        if self.future:
            parts.append(f"{self.future:,} after as_of (not counted)")
        return (
            f"{self.received:,} events: "
            + ", ".join(parts)
            + f"; {len(self.changes):,} band changes"
        )


@dataclass(frozen=True)
class AssessReport:
    """What :meth:`Engine.assess` did with a batch (counts of rows)."""

    received: int
    taken: int
    duplicates: int
    replaced: int
    #: dated on or before the retention horizon: not kept (they count at no date
    #: the engine can show)
    before_history: int
    changes: BandChanges = field(repr=False)
    #: rows dated after as_of, left out by the caller (the command line's files)
    future: int = 0

    def __str__(self) -> str:
        parts = [f"{self.taken:,} taken"]
        if self.before_history:
            parts.append(f"{self.before_history:,} before the retained history (not kept)")
        if self.duplicates:
            parts.append(f"{self.duplicates:,} duplicates")
        if self.replaced:
            parts.append(f"{self.replaced:,} replaced")
        if self.future:
            parts.append(f"{self.future:,} after as_of (not counted)")
        return (
            f"{self.received:,} assessments: "
            + ", ".join(parts)
            + f"; {len(self.changes):,} band changes"
        )


@dataclass(frozen=True)
class RetractReport:
    """What :meth:`Engine.retract` did: ids withdrawn, and ids it did not hold."""

    retracted: int
    unknown: np.ndarray = field(repr=False)
    changes: BandChanges = field(repr=False)
    what: str = "events"  # or "interventions", "assessments"

    #: At most this many unknown ids are listed by ``str``; the rest are counted.
    SHOWN_IDS = 20

    def __str__(self) -> str:
        text = f"{self.retracted:,} {self.what} retracted"
        unknown = self.unknown.tolist()
        if unknown:
            shown = ", ".join(str(i) for i in unknown[: self.SHOWN_IDS])
            more = len(unknown) - self.SHOWN_IDS
            text += f"; {len(unknown):,} ids not held: {shown}"
            if more > 0:
                text += f" and {more:,} more"
        return text + f"; {len(self.changes):,} band changes"


@dataclass(frozen=True)
class AdvanceReport:
    """What :meth:`Engine.advance` did: the new date and the events that left the window."""

    as_of: datetime.date
    expired: int
    changes: BandChanges = field(repr=False)


@dataclass(frozen=True)
class ReweightReport:
    """What :meth:`Engine.reweight` did."""

    weights_name: str
    weights_sha256: str
    changed_kinds: int
    mode: str  # "none", "partial" or "full"
    changes: BandChanges = field(repr=False)


@dataclass(frozen=True)
class WhatIf:
    """The impact of a new weight table, without applying it.

    Attributes
    ----------
    transitions : int64 array (4, 4)
        Nominals with a live event, counted from old band (row) to new band (column).
    changes : BandChanges
        The nominals that change band.
    nominal_id, score_change : arrays
        Every nominal whose score changes, and by how much (points).
    """

    old_weights: tuple[str, str]
    new_weights: tuple[str, str]
    transitions: np.ndarray
    changes: BandChanges = field(repr=False)
    nominal_id: np.ndarray = field(repr=False)
    score_change: np.ndarray = field(repr=False)

    def summary(self) -> dict[str, float]:
        """Distribution of score changes (points) over nominals whose score changed."""
        delta = self.score_change
        if delta.size == 0:
            return {"changed": 0}
        q = np.percentile(delta, [5, 25, 50, 75, 95])
        return {
            "changed": int(delta.size),
            "min": int(delta.min()),
            "p5": float(q[0]),
            "p25": float(q[1]),
            "median": float(q[2]),
            "p75": float(q[3]),
            "p95": float(q[4]),
            "max": int(delta.max()),
            "mean": float(delta.mean()),
        }

    def transition_text(self) -> str:
        """The transition matrix as an aligned text table."""
        width = max(8, len(f"{int(self.transitions.max()):,}") + 2)
        lines = ["from \\ to".ljust(10) + "".join(b.rjust(width) for b in BAND_NAMES)]
        for i, name in enumerate(BAND_NAMES):
            lines.append(
                name.ljust(10) + "".join(f"{int(v):,}".rjust(width) for v in self.transitions[i])
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class ScoreTable:
    """Rule 6: one row per nominal with a live event, by score descending then nominal_id.

    ``band`` holds codes into :data:`BAND_NAMES`.
    """

    nominal_id: np.ndarray
    score: np.ndarray
    band: np.ndarray
    as_of: datetime.date
    weights_name: str
    weights_sha256: str

    def __len__(self) -> int:
        return int(self.nominal_id.shape[0])

    def rows(self) -> list[tuple[int, int, str]]:
        """``(nominal_id, score, band)`` tuples, the form of ``reference.result``."""
        return [
            (int(n), int(s), BAND_NAMES[b])
            for n, s, b in zip(self.nominal_id, self.score, self.band, strict=True)
        ]

    def as_dict(self) -> dict[int, int]:
        """``{nominal_id: score}``, the form of ``reference.score``."""
        return dict(zip(self.nominal_id.tolist(), self.score.tolist(), strict=True))

    def band_counts(self) -> dict[str, int]:
        counts = np.bincount(self.band, minlength=4)
        return {name: int(counts[i]) for i, name in enumerate(BAND_NAMES)}

    def write_csv(self, target: str | os.PathLike[str] | TextIO | None = None) -> None:
        """Write ``nominal_id,score,band`` (stdout when ``target`` is None)."""
        from ._core import format_scores

        data = b"nominal_id,score,band\n" + format_scores(
            np.ascontiguousarray(self.nominal_id, dtype=np.int64),
            np.ascontiguousarray(self.score, dtype=np.int64),
            np.ascontiguousarray(self.band, dtype=np.int8),
        )
        if target is None or isinstance(target, io.TextIOBase | TextIO):
            stream = sys.stdout if target is None else target
            stream.write(data.decode("utf-8"))
        else:
            with open(os.fspath(target), "wb") as handle:
                handle.write(data)
