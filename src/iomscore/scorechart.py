"""One nominal's small score chart: what it shows and its inline SVG (issue 26).

:class:`ScoreChart` holds what the ODOC pack (:mod:`iomscore.pack`) draws for a
nominal and the ``iomscore chart`` command (:mod:`iomscore.chart`) writes as a
file; :func:`build_score_chart` builds it from the engine's public reads, the
one builder both use. The nominal's events are marked by dataset, each dataset
drawn in one colour of :data:`EVENT_COLOURS` (by its column in the weight
table): :func:`event_style` gives the CSS and :func:`event_legend` the legend.
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

__all__ = [
    "EVENT_COLOURS",
    "ScoreChart",
    "as_date",
    "build_score_chart",
    "event_legend",
    "event_style",
]

#: The colour of the event marks of each dataset, by the dataset's column in the
#: weight table (the ninth takes the first again). Far from the bands' fills and
#: from the line, assessment, intervention and decision colours.
EVENT_COLOURS = (
    "#c2255c",
    "#e8590c",
    "#6741d9",
    "#0c8599",
    "#5c940d",
    "#862e9c",
    "#495057",
    "#a61e4d",
)


@dataclass(frozen=True)
class ScoreChart:
    """What one nominal's small chart shows over ``[start, end]``.

    ``steps`` are rule 9's timeline ``(date, score)`` (the score from that date
    until the next step); ``assessments`` the dates of its assessments in the
    span; ``interventions`` ``(kind, start, end)`` of those overlapping the span
    (end None: not ended); ``decisions`` ``(date, action)`` in the span;
    ``events`` ``(date, dataset)`` of the nominal's events dated in the span (held
    or archived, by date), and ``datasets`` the weight table's datasets, whose
    order gives each its colour. ``thresholds`` are the lowest scores of LOW,
    MEDIUM and HIGH (points).
    """

    nominal_id: int
    start: datetime.date
    end: datetime.date
    thresholds: tuple[int, int, int]
    steps: tuple[tuple[datetime.date, int], ...]
    assessments: tuple[datetime.date, ...] = ()
    interventions: tuple[tuple[str, datetime.date, datetime.date | None], ...] = ()
    decisions: tuple[tuple[datetime.date, str], ...] = ()
    events: tuple[tuple[datetime.date, str], ...] = ()
    datasets: tuple[str, ...] = ()

    WIDTH = 200
    HEIGHT = 50
    _TOP = 2.0
    _BASE = 40.0  # the y of score 0; markers sit below it
    _TICK = 5.0  # an event's tick rises this far from the foot

    def event_counts(self) -> dict[str, int]:
        """The number of events in the span of each dataset, every dataset of
        ``datasets`` first (0 where none), in their order."""
        counts = dict.fromkeys(self.datasets, 0)
        for _, name in self.events:
            counts[name] = counts.get(name, 0) + 1
        return counts

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
        # one path of ticks per dataset (compact: a pack draws thousands of charts)
        for colour, (name, count) in enumerate(self.event_counts().items()):
            if count:
                ticks = "".join(
                    f"M{x(day)},{_num(base)}v-{_num(self._TICK)}"
                    for day, dataset in self.events
                    if dataset == name
                )
                label = html.escape(f"{name}: {count} event{'' if count == 1 else 's'}")
                parts.append(
                    f'<path class="ev e{colour}" data-dataset="{html.escape(name)}" '
                    f'd="{ticks}"><title>{label}</title></path>'
                )
        parts.append("</svg>")
        return "".join(parts)


def _num(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def event_style(datasets: Sequence[str]) -> str:
    """CSS for the event marks of these datasets (the weight table's, in its order):
    ``svg .e<i>`` strokes the ticks of the i-th, ``.ek.e<i>`` colours its legend key."""
    rules = [
        "svg .ev{fill:none;stroke-width:1.2}.ek{white-space:nowrap}"
        ".ek::before{content:'';display:inline-block;width:3px;height:10px;"
        "margin-right:3px;vertical-align:-1px;background:#495057}"
    ]
    for at in range(len(datasets)):
        colour = EVENT_COLOURS[at % len(EVENT_COLOURS)]
        rules.append(f"svg .e{at}{{stroke:{colour}}}.ek.e{at}::before{{background:{colour}}}")
    return "".join(rules)


def event_legend(datasets: Sequence[str]) -> str:
    """The legend of the event marks: one ``<span class="ek e<i>">`` per dataset."""
    return "".join(
        f'<span class="ek e{at}">{html.escape(name)}</span>' for at, name in enumerate(datasets)
    )


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
        With ``user``, the timeline and event reads are audited as the engine
        audits them (once each).

    Returns
    -------
    ScoreChart
    """
    try:
        line = engine.timeline(nominal, start, end, user=user, reason=reason).rows()
        steps = tuple((day, score) for day, score, _ in line)
        history = engine.event_history(nominal, start, end, user=user, reason=reason)
        events = tuple(zip(history.date.tolist(), history.dataset.tolist(), strict=True))
    except EngineError:  # never held: no event, score 0 throughout
        steps, events = ((start, 0),), ()
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
        events=events,
        datasets=tuple(engine.weights.datasets),
    )
