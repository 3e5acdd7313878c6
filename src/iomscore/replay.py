"""Daily operation, end to end: step one day at a time and record every change of risk.

The engine starts on the day before ``start`` holding the events dated up to
that day; then, for each day D from ``start`` to ``end``, it advances to D
(events dated two years before leave) and takes the events dated D. A
nominal's change for the day is its band at the end of D-1 against its band
at the end of D, so a nominal that leaves a band and returns the same day
records nothing.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import TextIO

import numpy as np

from .batch import EncodedBatch
from .calendar import day_number, from_day_number
from .engine import Engine
from .errors import OptionError
from .results import BAND_NAMES, BandChanges
from .weights import Weights

__all__ = ["merge_changes", "replay"]


def merge_changes(first: BandChanges, second: BandChanges) -> BandChanges:
    """Net change of two consecutive steps: old band from ``first``, new from ``second``.

    A nominal only in ``first`` keeps the score ``first`` reported, which is
    stale if ``second`` changed its score within a band: refresh it if needed.
    """
    if len(first) == 0:
        return second
    if len(second) == 0:
        return first
    ids = np.concatenate([first.nominal_id, second.nominal_id])
    old = np.concatenate([first.old_band, second.old_band])
    new = np.concatenate([first.new_band, second.new_band])
    score = np.concatenate([first.score, second.score])
    order = np.argsort(ids, kind="stable")  # first's row precedes second's for one nominal
    ids, old, new, score = ids[order], old[order], new[order], score[order]
    last = np.ones(ids.size, dtype=bool)
    last[:-1] = ids[1:] != ids[:-1]
    head = np.ones(ids.size, dtype=bool)
    head[1:] = ids[1:] != ids[:-1]
    old_of_group = old[np.flatnonzero(head)]
    keep = np.flatnonzero(last)
    net_old, net_new = old_of_group, new[keep]
    moved = net_old != net_new
    return BandChanges(ids[keep][moved], net_old[moved], net_new[moved], score[keep][moved])


def replay(
    batch: EncodedBatch,
    weights: Weights,
    start: datetime.date,
    end: datetime.date,
    out: TextIO,
    *,
    window_years: int = 2,
    progress: Callable[[str], None] | None = None,
) -> str:
    """Write ``date,nominal_id,old_band,new_band,score`` for every daily band change.

    Returns a per-month summary (text): days, events taken and expired,
    escalations and de-escalations.

    Raises
    ------
    OptionError
        If ``end`` is before ``start``.
    """
    if end < start:
        raise OptionError(f"--to {end} is before --from {start}")
    order = np.argsort(batch.day, kind="stable")
    days = batch.day[order]
    first_day, last_day = day_number(start), day_number(end)
    engine = Engine(weights, start - datetime.timedelta(days=1), window_years=window_years)
    cut = int(np.searchsorted(days, first_day, side="left"))
    engine.ingest_encoded(batch.take(order[:cut]))
    out.write("date,nominal_id,old_band,new_band,score\n")
    months: dict[str, list[int]] = {}
    for day in range(first_day, last_day + 1):
        date = from_day_number(day)
        advanced = engine.advance(date)
        stop = int(np.searchsorted(days, day, side="right"))
        taken = engine.ingest_encoded(batch.take(order[cut:stop]))
        cut = stop
        changes = merge_changes(advanced.changes, taken.changes)
        if len(changes):  # a nominal moved by the expiry may have gained points since
            changes = BandChanges(
                changes.nominal_id,
                changes.old_band,
                changes.new_band,
                engine.scores_of(changes.nominal_id),
            )
        text = date.isoformat()
        for nominal, old, new, points in zip(
            changes.nominal_id.tolist(),
            changes.old_band.tolist(),
            changes.new_band.tolist(),
            changes.score.tolist(),
            strict=True,
        ):
            out.write(f"{text},{nominal},{BAND_NAMES[old]},{BAND_NAMES[new]},{points}\n")
        month = months.setdefault(text[:7], [0, 0, 0, 0, 0])
        up = changes.escalations()
        month[0] += 1
        month[1] += taken.taken
        month[2] += advanced.expired
        month[3] += up
        month[4] += len(changes) - up
        if progress is not None and (day == last_day or date.day == 1):
            progress(f"replay: {date} ({day - first_day + 1}/{last_day - first_day + 1} days)")
    lines = ["month    days   taken  expired  up  down"]
    for name, (n_days, taken_n, expired_n, up, down) in months.items():
        lines.append(f"{name} {n_days:>5} {taken_n:>7} {expired_n:>8} {up:>3} {down:>5}")
    scores = engine.scores()
    counts = scores.band_counts()
    lines.append(
        f"at {end}: "
        + ", ".join(f"{b} {counts[b]:,}" for b in reversed(BAND_NAMES))
        + f"; weights {weights.name} sha256 {weights.sha256}"
    )
    return "\n".join(lines)
