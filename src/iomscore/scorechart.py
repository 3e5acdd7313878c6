"""One nominal's small score chart: what it shows and its inline SVG (issue 26).

:class:`ScoreChart` holds what the ODOC pack (:mod:`iomscore.pack`) draws for a
nominal and the ``iomscore chart`` command (:mod:`iomscore.chart`) writes as a
file; :func:`build_score_chart` builds it from the engine's public reads, the
one builder both use.
"""

from __future__ import annotations

import datetime
import html
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import EngineError

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["ScoreChart", "as_date", "build_score_chart"]


@dataclass(frozen=True)
class ScoreChart:
    """What one nominal's small chart shows over ``[start, end]``.

    ``steps`` are rule 9's timeline ``(date, score)`` (the score from that date
    until the next step); ``assessments`` the dates of its assessments in the
    span; ``interventions`` ``(kind, start, end)`` of those overlapping the span
    (end None: not ended); ``decisions`` ``(date, action)`` in the span.
    ``thresholds`` are the lowest scores of LOW, MEDIUM and HIGH (points).
    """

    nominal_id: int
    start: datetime.date
    end: datetime.date
    thresholds: tuple[int, int, int]
    steps: tuple[tuple[datetime.date, int], ...]
    assessments: tuple[datetime.date, ...] = ()
    interventions: tuple[tuple[str, datetime.date, datetime.date | None], ...] = ()
    decisions: tuple[tuple[datetime.date, str], ...] = ()

    WIDTH = 200
    HEIGHT = 50
    _TOP = 2.0
    _BASE = 40.0  # the y of score 0; markers sit below it

    def svg(self) -> str:
        """The chart as an inline ``<svg>`` element (no namespace URL: HTML5 inline)."""
        width, base, top = self.WIDTH, self._BASE, self._TOP
        span = max((self.end - self.start).days, 1)
        peak = max([score for _, score in self.steps] + [self.thresholds[1]])
        ymax = peak * 1.1 if peak > 0 else 1.0

        def x(day: datetime.date) -> str:
            at = min(max((day - self.start).days, 0), span)
            return _num(at / span * width)

        def y(score: float) -> float:
            return base - min(score, ymax) / ymax * (base - top)

        now = self.steps[-1][1] if self.steps else 0
        label = (
            f"nominal {self.nominal_id}: score {now} on {self.end}, "
            f"from {self.start}; band thresholds {', '.join(map(str, self.thresholds))}"
        )
        parts = [
            f'<svg class="chart" data-nominal="{self.nominal_id}" width="{width}" '
            f'height="{self.HEIGHT}" viewBox="0 0 {width} {self.HEIGHT}" role="img" '
            f'aria-label="{html.escape(label)}"><title>{html.escape(label)}</title>'
        ]
        bounds = [*self.thresholds, None]
        for band, (low, high) in enumerate(itertools.pairwise(bounds), start=1):
            if low >= ymax:
                break
            upper = ymax if high is None else min(high, ymax)
            parts.append(
                f'<rect class="b{band}" x="0" y="{_num(y(upper))}" width="{width}" '
                f'height="{_num(y(low) - y(upper))}"/>'
            )
        for day, action in self.decisions:
            parts.append(
                f'<line class="d-{html.escape(action)}" x1="{x(day)}" x2="{x(day)}" '
                f'y1="{_num(top)}" y2="{_num(base)}"/>'
            )
        if self.steps:
            path = [f"M0,{_num(y(self.steps[0][1]))}"]
            for day, score in self.steps[1:]:
                path.append(f"H{x(day)}V{_num(y(score))}")
            path.append(f"H{width}")
            parts.append(f'<path class="line" d="{"".join(path)}"/>')
        for kind, first, last in self.interventions:
            right = self.end if last is None else min(last, self.end)
            left = max(first, self.start)
            size = max(float(x(right)) - float(x(left)), 1.0)
            parts.append(
                f'<rect class="iv" x="{x(left)}" y="{_num(base + 3)}" width="{_num(size)}" '
                f'height="3"><title>{html.escape(kind)}</title></rect>'
            )
        for day in self.assessments:
            parts.append(f'<circle class="as" cx="{x(day)}" cy="{_num(base + 7)}" r="2"/>')
        parts.append("</svg>")
        return "".join(parts)


def _num(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def as_date(value: datetime.date | str, what: str) -> datetime.date:
    """``value`` as a date: a ``datetime.date`` as it is, or a string ``YYYY-MM-DD``.

    Raises
    ------
    EngineError
        A datetime, or a string that is not such a date (``what`` names it).
    """
    if isinstance(value, datetime.datetime):
        raise EngineError(f"{what} must be a date, not a datetime")
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError:
        raise EngineError(f"{what} {value!r} is not a date in the form YYYY-MM-DD") from None


def build_score_chart(
    engine: Engine,
    nominal: int,
    start: datetime.date,
    end: datetime.date,
    thresholds: tuple[int, int, int],
    decided: Mapping[int, Sequence[tuple[datetime.date, str]]],
    user: str | None = None,
    reason: str | None = None,
) -> ScoreChart:
    """One nominal's chart over ``[start, end]`` from the engine's public reads.

    Parameters
    ----------
    engine : Engine
    nominal : int
        The nominal; one the engine never held is drawn at score 0 throughout.
    start, end : datetime.date
        The span, already checked (``start`` not after ``end``, both retained).
    thresholds : tuple of int
        The lowest scores of LOW, MEDIUM and HIGH (points).
    decided : mapping of int to sequence of (date, str)
        Each nominal's selection decisions ``(date, action)`` dated in the span.
    user, reason : str, optional
        With ``user``, the timeline read is audited as the engine audits it.

    Returns
    -------
    ScoreChart
    """
    try:
        line = engine.timeline(nominal, start, end, user=user, reason=reason).rows()
        steps = tuple((day, score) for day, score, _ in line)
    except EngineError:  # never held: no event, score 0 throughout
        steps = ((start, 0),)
    assessed = engine.assessments(nominal)
    dates = tuple(day for day in assessed.date.tolist() if start <= day <= end)
    spans = tuple(
        (kind, first, last)
        for _, _, kind, first, last, _ in engine.interventions(nominal).rows()
        if first <= end and (last is None or last >= start)
    )
    return ScoreChart(
        nominal_id=nominal,
        start=start,
        end=end,
        thresholds=thresholds,
        steps=steps,
        assessments=dates,
        interventions=spans,
        decisions=tuple(decided.get(nominal, ())),
    )
