"""Why a score is what it is, when it falls, and how it moved (rules 7-9).

The results of :meth:`Engine.explain`, :meth:`Engine.forecast`,
:meth:`Engine.timeline` and :meth:`Engine.event_history`: columnar (numpy
arrays; dates as ``datetime64[D]``) with ``rows()`` in the form of the
reference functions, and ``write_csv``.
"""

from __future__ import annotations

import datetime
import os
import sys
from dataclasses import dataclass, field
from typing import TextIO

import numpy as np

from .results import BAND_NAMES

__all__ = ["EventHistory", "Explanation", "Forecast", "ForecastSteps", "Timeline"]


def _write_text(target: str | os.PathLike[str] | TextIO | None, text: str) -> None:
    if target is None:
        sys.stdout.write(text)
    elif isinstance(target, str | os.PathLike):
        with open(target, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
    else:
        target.write(text)


def _dates(values: np.ndarray) -> list[datetime.date]:
    return values.astype("datetime64[D]").tolist()


# Not frozen: a frozen dataclass sets each field through object.__setattr__,
# which would be a tenth of the cost of an explain. Treat it as read-only.
@dataclass(slots=True)
class Explanation:
    """One nominal's score, event by event: every counting event (rule 4) and
    counting assessment (rule 10; dataset ``assessment:<tool>``, the offence empty,
    the raw score in the description) with its points and the date it stops
    counting (rule 7), ordered by date, then id, events first.

    Columns are numpy arrays (dates ``datetime64[D]``, points int64);
    ``dataset_totals`` gives the points from each dataset.
    """

    nominal_id: int
    as_of: datetime.date
    score: int
    band: str
    weights_name: str
    weights_sha256: str
    datasets: tuple[str, ...] = field(repr=False)  # the table's, in its order
    event_id: np.ndarray = field(repr=False)
    dataset: np.ndarray = field(repr=False)  # str
    offence: np.ndarray = field(repr=False)  # str, canonical CCC/SS
    description: np.ndarray = field(repr=False)  # str, "" where the table has none
    date: np.ndarray = field(repr=False)
    points: np.ndarray = field(repr=False)
    expires: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return int(self.event_id.shape[0])

    @property
    def dataset_totals(self) -> dict[str, int]:
        """Points from each dataset of the table (0 where none), then from each
        assessment tool that counts (``assessment:<tool>``): the framework's "score
        from each data set hit"."""
        totals = dict.fromkeys(self.datasets, 0)
        for name, points in zip(self.dataset.tolist(), self.points.tolist(), strict=True):
            totals[name] = totals.get(name, 0) + points
        return totals

    def rows(self) -> list[tuple[int, str, str, datetime.date, int, datetime.date]]:
        """``(event_id, dataset, offence, date, points, expires)``, the form of
        ``reference.explain``."""
        return list(
            zip(
                self.event_id.tolist(),
                self.dataset.tolist(),
                self.offence.tolist(),
                _dates(self.date),
                self.points.tolist(),
                _dates(self.expires),
                strict=True,
            )
        )

    def summary(self) -> str:
        """One line: score, band, points from each dataset, events and the table."""
        totals = ", ".join(f"{name} {points:,}" for name, points in self.dataset_totals.items())
        assessed = sum(name.startswith("assessment:") for name in self.dataset.tolist())
        events = len(self) - assessed
        counted = f"{events:,} counting event{'' if events == 1 else 's'}"
        if assessed:
            counted += f", {assessed} counting assessment{'' if assessed == 1 else 's'}"
        return (
            f"nominal {self.nominal_id} at {self.as_of}: {self.score:,} points, {self.band}; "
            f"{totals}; {counted}; weights {self.weights_name} {self.weights_sha256[:12]}"
        )

    def write_csv(self, target: str | os.PathLike[str] | TextIO | None = None) -> None:
        """Write ``event_id,dataset,offence,date,points,expires`` (stdout when None)."""
        lines = ["event_id,dataset,offence,date,points,expires"]
        lines += [f"{e},{d},{o},{t},{p},{x}" for e, d, o, t, p, x in self.rows()]
        _write_text(target, "\n".join(lines) + "\n")


@dataclass(frozen=True)
class Forecast:
    """Rule 8 for the cohort: every nominal banded at ``as_of``, in rule 6 order,
    with the date its band first falls (``band_falls_on``), the band it falls
    to (``falls_to``) and the date it leaves every band (``none_on``), if no new
    event comes. Bands are codes into :data:`BAND_NAMES`.
    """

    as_of: datetime.date
    weights_name: str
    weights_sha256: str
    nominal_id: np.ndarray = field(repr=False)
    score: np.ndarray = field(repr=False)
    band: np.ndarray = field(repr=False)
    band_falls_on: np.ndarray = field(repr=False)
    falls_to: np.ndarray = field(repr=False)
    none_on: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return int(self.nominal_id.shape[0])

    def rows(self) -> list[tuple[int, int, str, datetime.date, str, datetime.date]]:
        """``(nominal_id, score, band, band_falls_on, falls_to, none_on)``, the form of
        ``reference.forecast``."""
        return [
            (n, s, BAND_NAMES[b], f, BAND_NAMES[t], z)
            for n, s, b, f, t, z in zip(
                self.nominal_id.tolist(),
                self.score.tolist(),
                self.band.tolist(),
                _dates(self.band_falls_on),
                self.falls_to.tolist(),
                _dates(self.none_on),
                strict=True,
            )
        ]

    def write_csv(self, target: str | os.PathLike[str] | TextIO | None = None) -> None:
        """Write ``nominal_id,score,band,band_falls_on,falls_to,none_on``."""
        lines = ["nominal_id,score,band,band_falls_on,falls_to,none_on"]
        lines += [f"{n},{s},{b},{f},{t},{z}" for n, s, b, f, t, z in self.rows()]
        _write_text(target, "\n".join(lines) + "\n")


@dataclass(frozen=True)
class ForecastSteps:
    """Rule 8 for one nominal: its score and band from ``as_of`` (the first row),
    then from each date on which some of its events stop counting."""

    nominal_id: int
    date: np.ndarray = field(repr=False)
    score: np.ndarray = field(repr=False)
    band: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return int(self.date.shape[0])

    def rows(self) -> list[tuple[datetime.date, int, str]]:
        """``(date, score, band)``, the form of ``reference.forecast_steps``."""
        return [
            (d, s, BAND_NAMES[b])
            for d, s, b in zip(
                _dates(self.date), self.score.tolist(), self.band.tolist(), strict=True
            )
        ]


@dataclass(frozen=True)
class Timeline:
    """Rule 9 for one nominal: its score and band at ``start``, then on each later
    date up to ``end`` on which its score changed, under the table in force now."""

    nominal_id: int
    weights_name: str
    weights_sha256: str
    date: np.ndarray = field(repr=False)
    score: np.ndarray = field(repr=False)
    band: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return int(self.date.shape[0])

    def rows(self) -> list[tuple[datetime.date, int, str]]:
        """``(date, score, band)``, the form of ``reference.timeline``."""
        return [
            (d, s, BAND_NAMES[b])
            for d, s, b in zip(
                _dates(self.date), self.score.tolist(), self.band.tolist(), strict=True
            )
        ]

    def write_csv(self, target: str | os.PathLike[str] | TextIO | None = None) -> None:
        """Write ``date,score,band``."""
        lines = ["date,score,band"] + [f"{d},{s},{b}" for d, s, b in self.rows()]
        _write_text(target, "\n".join(lines) + "\n")


@dataclass(frozen=True)
class EventHistory:
    """One nominal's events over a span, as rule 9 sees them: every event the
    engine holds or has archived (each event id once), dated from ``start`` (None:
    the earliest retained) to ``end``, ordered by date, then event_id, with its
    points under the table in force now. Assessments are not events: see
    :meth:`Engine.assessments`.
    """

    nominal_id: int
    start: datetime.date | None
    end: datetime.date
    weights_name: str
    weights_sha256: str
    datasets: tuple[str, ...] = field(repr=False)  # the table's, in its order
    event_id: np.ndarray = field(repr=False)
    dataset: np.ndarray = field(repr=False)  # str
    offence: np.ndarray = field(repr=False)  # str, canonical CCC/SS
    date: np.ndarray = field(repr=False)
    points: np.ndarray = field(repr=False)

    def __len__(self) -> int:
        return int(self.event_id.shape[0])

    @property
    def dataset_counts(self) -> dict[str, int]:
        """The number of events of each dataset of the table (0 where none), in the
        table's order."""
        counts = dict.fromkeys(self.datasets, 0)
        for name in self.dataset.tolist():
            counts[name] += 1
        return counts

    def rows(self) -> list[tuple[int, str, str, datetime.date, int]]:
        """``(event_id, dataset, offence, date, points)``, the form of
        ``reference.event_history``."""
        return list(
            zip(
                self.event_id.tolist(),
                self.dataset.tolist(),
                self.offence.tolist(),
                _dates(self.date),
                self.points.tolist(),
                strict=True,
            )
        )

    def write_csv(self, target: str | os.PathLike[str] | TextIO | None = None) -> None:
        """Write ``event_id,dataset,offence,date,points`` (stdout when None)."""
        lines = ["event_id,dataset,offence,date,points"]
        lines += [f"{e},{d},{o},{t},{p}" for e, d, o, t, p in self.rows()]
        _write_text(target, "\n".join(lines) + "\n")
