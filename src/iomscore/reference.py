"""The executable specification: rules 1-6 in plain Python.

Nothing here uses numpy or compiled code, so anyone can read it against the
framework. Every compiled path in iomscore is tested for equality with these
functions. Where this module and the engine disagree, one of them is wrong and
gets fixed; the tests do not.

Rules (see README.md):

1. An event is ``(event_id, nominal_id, dataset, offence, date)``.
2. A weight table gives integer points to each ``(dataset, offence)``.
3. At date D an event counts if and only if ``D - N years < date <= D``, where
   ``D - N years`` is the same month and day N years earlier (29 February maps
   to 28 February when that year has none). N defaults to 2.
4. The score of a nominal at D is the sum of the points of its counting events.
5. Bands: below 250 NONE, 250-499 LOW, 500-999 MEDIUM, 1000 and above HIGH.
6. The result has one row per nominal with at least one counting event,
   ordered by score descending, then nominal_id ascending.
7. Expiry: an event dated d stops counting on the first date E at which
   ``E - N years >= d`` (``E - N years`` as in rule 3), so it counts on every
   date from d up to the day before E.
8. Forecast: with no new events, a nominal's score from D onwards is a step
   function that falls at each expiry. For a nominal banded at D,
   ``band_falls_on`` is the first date after D on which its band is lower,
   ``falls_to`` that band, and ``none_on`` the first date its band is NONE.
9. Timeline: the score and band of a nominal on a date T are rules 3-6
   applied at T to every event the engine holds or has archived, under the
   table in force now.
10. Assessments: an assessment ``(assessment_id, nominal_id, tool, score,
    date)`` gets the points of the range of the assessment table holding its
    raw score. At D, for each (nominal, tool), only the latest assessment dated
    inside the window (rule 3) counts, the highest assessment_id on the same
    date; its points add to the nominal's score (rule 4), and a nominal with a
    counting assessment has a row in rule 6's table. It stops counting as an
    event of its date would (rule 7), or when a later one of the same tool
    comes. Rules 7-9 treat a counting assessment as a row of its own, dataset
    ``assessment:<tool>``.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "ASSESSMENT_PREFIX",
    "BANDS",
    "DEFAULT_THRESHOLDS",
    "INT64_MAX",
    "Assessment",
    "AssessmentTable",
    "Event",
    "assessment_points",
    "band",
    "band_changes",
    "counting_assessments",
    "counts",
    "event_history",
    "expires",
    "explain",
    "forecast",
    "forecast_steps",
    "in_window",
    "result",
    "score",
    "scores_at",
    "timeline",
    "window_start",
]

INT64_MAX = 2**63 - 1
BANDS = ("NONE", "LOW", "MEDIUM", "HIGH")
# Lowest score of LOW, MEDIUM and HIGH (points).
DEFAULT_THRESHOLDS = (250, 500, 1000)


#: The dataset name under which rules 7-9 show an assessment's points.
ASSESSMENT_PREFIX = "assessment:"

#: An assessment table (rule 10): for each tool, ``(low, high, points)`` ranges
#: of the raw score, inclusive at both ends.
AssessmentTable = Mapping[str, Sequence[tuple[int, int, int]]]


@dataclass(frozen=True)
class Event:
    """One event of a nominal (rule 1). ``offence`` is canonical ``CCC/SS``."""

    event_id: int
    nominal_id: int
    dataset: str
    offence: str
    date: datetime.date


@dataclass(frozen=True)
class Assessment:
    """One assessment of a nominal (rule 10): ``score`` is the tool's raw score."""

    assessment_id: int
    nominal_id: int
    tool: str
    score: int
    date: datetime.date


def assessment_points(table: AssessmentTable, tool: str, raw_score: int) -> int:
    """Rule 10: the points of a raw score, from the range of its tool that holds it.

    Raises
    ------
    KeyError
        The tool is not in the table, or no range of it holds the score.
    """
    for low, high, points in table[tool]:
        if low <= raw_score <= high:
            return points
    raise KeyError(f"no range of tool {tool!r} holds the score {raw_score}")


def counting_assessments(
    assessments: Iterable[Assessment], as_of: datetime.date, window_years: int = 2
) -> dict[tuple[int, str], Assessment]:
    """Rule 10: ``{(nominal_id, tool): assessment}`` of the assessments that count at
    ``as_of``, the latest in the window (by date, then assessment_id) of each."""
    latest: dict[tuple[int, str], Assessment] = {}
    for item in assessments:
        if not in_window(item.date, as_of, window_years):
            continue
        key = (item.nominal_id, item.tool)
        held = latest.get(key)
        if held is None or (item.date, item.assessment_id) > (held.date, held.assessment_id):
            latest[key] = item
    return latest


def window_start(as_of: datetime.date, window_years: int = 2) -> datetime.date:
    """Rule 3's lower bound: the same month and day ``window_years`` earlier."""
    year = as_of.year - window_years
    try:
        return as_of.replace(year=year)
    except ValueError:  # 29 February in a year that has none
        return datetime.date(year, 2, 28)


def in_window(event_date: datetime.date, as_of: datetime.date, window_years: int = 2) -> bool:
    """Rule 3: does an event dated ``event_date`` count at ``as_of``?"""
    return window_start(as_of, window_years) < event_date <= as_of


def score(
    events: Iterable[Event],
    weights: Mapping[tuple[str, str], int],
    as_of: datetime.date,
    window_years: int = 2,
    *,
    assessments: Iterable[Assessment] = (),
    assessment_table: AssessmentTable | None = None,
) -> dict[int, int]:
    """Rule 4: ``{nominal_id: score}`` for every nominal with a counting event or
    a counting assessment (rule 10).

    Parameters
    ----------
    events : iterable of Event
    weights : mapping of (dataset, offence) to int
        Points of each pair; a counting event whose pair is missing is an error.
    as_of : datetime.date
        The date D of rule 3.
    window_years : int
        N of rule 3 (years).
    assessments : iterable of Assessment
        Rule 10's assessments (none by default).
    assessment_table : mapping of tool to (low, high, points) ranges
        Required when ``assessments`` is given.

    Raises
    ------
    KeyError
        A counting event names a (dataset, offence) the table lacks, or a
        counting assessment a tool or score the assessment table lacks.
    OverflowError
        A score would exceed the int64 range.
    """
    scores: dict[int, int] = {}

    def add(nominal_id: int, points: int) -> None:
        total = scores.get(nominal_id, 0) + points
        if total > INT64_MAX:
            raise OverflowError(f"score of nominal {nominal_id} exceeds int64")
        scores[nominal_id] = total

    for event in events:
        if in_window(event.date, as_of, window_years):
            add(event.nominal_id, weights[(event.dataset, event.offence)])
    for item in counting_assessments(assessments, as_of, window_years).values():
        add(item.nominal_id, assessment_points(_table(assessment_table), item.tool, item.score))
    return scores


def _table(assessment_table: AssessmentTable | None) -> AssessmentTable:
    if assessment_table is None:
        raise KeyError("assessments need an assessment table")
    return assessment_table


def counts(
    events: Iterable[Event], as_of: datetime.date, window_years: int = 2
) -> dict[int, dict[tuple[str, str], int]]:
    """The nominal-by-(dataset, offence) count matrix of the counting events, as nested dicts."""
    matrix: dict[int, dict[tuple[str, str], int]] = {}
    for event in events:
        if in_window(event.date, as_of, window_years):
            row = matrix.setdefault(event.nominal_id, {})
            key = (event.dataset, event.offence)
            row[key] = row.get(key, 0) + 1
    return matrix


def band(points: int, thresholds: tuple[int, int, int] = DEFAULT_THRESHOLDS) -> str:
    """Rule 5: the band of a score."""
    low, medium, high = thresholds
    if points >= high:
        return "HIGH"
    if points >= medium:
        return "MEDIUM"
    if points >= low:
        return "LOW"
    return "NONE"


def result(
    scores: Mapping[int, int], thresholds: tuple[int, int, int] = DEFAULT_THRESHOLDS
) -> list[tuple[int, int, str]]:
    """Rule 6: rows ``(nominal_id, score, band)``, score descending then nominal_id ascending."""
    ordered = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [(nominal, points, band(points, thresholds)) for nominal, points in ordered]


def band_changes(
    before: Mapping[int, int],
    after: Mapping[int, int],
    thresholds: tuple[int, int, int] = DEFAULT_THRESHOLDS,
) -> dict[int, tuple[str, str, int]]:
    """Nominals whose band differs between two score maps: ``{id: (old, new, new_score)}``.

    A nominal missing from a map has no counting event there: band NONE, score 0.
    """
    changes: dict[int, tuple[str, str, int]] = {}
    for nominal in set(before) | set(after):
        old = band(before.get(nominal, 0), thresholds)
        new_score = after.get(nominal, 0)
        new = band(new_score, thresholds)
        if old != new:
            changes[nominal] = (old, new, new_score)
    return changes


def expires(event_date: datetime.date, window_years: int = 2) -> datetime.date:
    """Rule 7: the first date on which an event dated ``event_date`` no longer counts."""
    # Start a few days before the same date window_years later (28 February
    # stands in for 29 February), where the event still counts, and walk on.
    candidate = datetime.date(
        event_date.year + window_years, event_date.month, min(event_date.day, 28)
    ) - datetime.timedelta(days=3)
    while window_start(candidate, window_years) < event_date:
        candidate += datetime.timedelta(days=1)
    return candidate


def explain(
    events: Iterable[Event],
    weights: Mapping[tuple[str, str], int],
    as_of: datetime.date,
    nominal_id: int,
    window_years: int = 2,
    *,
    assessments: Iterable[Assessment] = (),
    assessment_table: AssessmentTable | None = None,
) -> list[tuple[int, str, str, datetime.date, int, datetime.date]]:
    """The counting events and assessments of one nominal at ``as_of``, each with its
    points and expiry.

    Rows ``(event_id, dataset, offence, date, points, expires)`` ordered by
    date, then id, events before assessments. A counting assessment (rule 10)
    is the row ``(assessment_id, "assessment:<tool>", "", date, points,
    expires)``. Their points add up to the nominal's score (rule 4).
    """
    rows = [
        (
            (event.date, event.event_id, 0),
            (
                event.event_id,
                event.dataset,
                event.offence,
                event.date,
                weights[(event.dataset, event.offence)],
                expires(event.date, window_years),
            ),
        )
        for event in events
        if event.nominal_id == nominal_id and in_window(event.date, as_of, window_years)
    ]
    for (owner, tool), item in counting_assessments(assessments, as_of, window_years).items():
        if owner == nominal_id:
            points = assessment_points(_table(assessment_table), tool, item.score)
            row = (item.assessment_id, ASSESSMENT_PREFIX + tool, "", item.date, points)
            rows.append(
                ((item.date, item.assessment_id, 1), (*row, expires(item.date, window_years)))
            )
    return [row for _, row in sorted(rows)]


def forecast_steps(
    events: Iterable[Event],
    weights: Mapping[tuple[str, str], int],
    as_of: datetime.date,
    nominal_id: int,
    window_years: int = 2,
    thresholds: tuple[int, int, int] = DEFAULT_THRESHOLDS,
    *,
    assessments: Iterable[Assessment] = (),
    assessment_table: AssessmentTable | None = None,
) -> list[tuple[datetime.date, int, str]]:
    """Rule 8 for one nominal: ``(date, score, band)`` from ``as_of``, then at each expiry.

    The first row is ``as_of``; each later row is a date on which events or a
    counting assessment stop counting (rule 7) and the score from that date
    on, with nothing new. The last row has score 0 (when the nominal has a
    counting event or assessment).
    """
    counting = explain(
        events,
        weights,
        as_of,
        nominal_id,
        window_years,
        assessments=assessments,
        assessment_table=assessment_table,
    )
    current = sum(row[4] for row in counting)
    steps = [(as_of, current, band(current, thresholds))]
    for date in sorted({row[5] for row in counting}):
        current -= sum(row[4] for row in counting if row[5] == date)
        steps.append((date, current, band(current, thresholds)))
    return steps


def forecast(
    events: Iterable[Event],
    weights: Mapping[tuple[str, str], int],
    as_of: datetime.date,
    window_years: int = 2,
    thresholds: tuple[int, int, int] = DEFAULT_THRESHOLDS,
    *,
    assessments: Iterable[Assessment] = (),
    assessment_table: AssessmentTable | None = None,
) -> list[tuple[int, int, str, datetime.date, str, datetime.date]]:
    """Rule 8 for the cohort: ``(nominal_id, score, band, band_falls_on, falls_to, none_on)``.

    One row for every nominal banded at ``as_of`` (band above NONE), in rule 6
    order.
    """
    events = list(events)
    assessments = list(assessments)
    extra = {"assessments": assessments, "assessment_table": assessment_table}
    order = BANDS.index
    scores = score(events, weights, as_of, window_years, **extra)
    rows = []
    for nominal, points, now in result(scores, thresholds):
        if now == "NONE":
            continue
        steps = forecast_steps(events, weights, as_of, nominal, window_years, thresholds, **extra)
        falls_on, falls_to = next(
            (date, later) for date, _, later in steps[1:] if order(later) < order(now)
        )
        none_on = next(date for date, _, later in steps[1:] if later == "NONE")
        rows.append((nominal, points, now, falls_on, falls_to, none_on))
    return rows


def timeline(
    events: Iterable[Event],
    weights: Mapping[tuple[str, str], int],
    nominal_id: int,
    start: datetime.date,
    end: datetime.date,
    window_years: int = 2,
    thresholds: tuple[int, int, int] = DEFAULT_THRESHOLDS,
    *,
    assessments: Iterable[Assessment] = (),
    assessment_table: AssessmentTable | None = None,
) -> list[tuple[datetime.date, int, str]]:
    """Rule 9 for one nominal: ``(date, score, band)`` at ``start``, then each later
    date up to ``end`` on which the score changes."""
    mine = [event for event in events if event.nominal_id == nominal_id]
    assessed = [item for item in assessments if item.nominal_id == nominal_id]

    def score_on(date: datetime.date) -> int:
        return score(
            mine,
            weights,
            date,
            window_years,
            assessments=assessed,
            assessment_table=assessment_table,
        ).get(nominal_id, 0)

    # A score changes only on a date an event or assessment starts (its date) or
    # stops (rule 7) counting.
    dated = [*mine, *assessed]
    edges = {item.date for item in dated} | {expires(item.date, window_years) for item in dated}
    first = score_on(start)
    rows = [(start, first, band(first, thresholds))]
    for date in sorted(edge for edge in edges if start < edge <= end):
        points = score_on(date)
        if points != rows[-1][1]:
            rows.append((date, points, band(points, thresholds)))
    return rows


def event_history(
    events: Iterable[Event],
    weights: Mapping[tuple[str, str], int],
    nominal_id: int,
    start: datetime.date | None,
    end: datetime.date,
) -> list[tuple[int, str, str, datetime.date, int]]:
    """One nominal's events dated from ``start`` (None: no lower limit) to ``end``,
    as rows ``(event_id, dataset, offence, date, points)`` ordered by date, then
    event_id; ``events`` are rule 9's (every event held or archived)."""
    return sorted(
        (
            (
                event.event_id,
                event.dataset,
                event.offence,
                event.date,
                weights[(event.dataset, event.offence)],
            )
            for event in events
            if event.nominal_id == nominal_id
            and (start is None or start <= event.date)
            and event.date <= end
        ),
        key=lambda row: (row[3], row[0]),
    )


def scores_at(
    events: Iterable[Event],
    weights: Mapping[tuple[str, str], int],
    date: datetime.date,
    window_years: int = 2,
    thresholds: tuple[int, int, int] = DEFAULT_THRESHOLDS,
    *,
    assessments: Iterable[Assessment] = (),
    assessment_table: AssessmentTable | None = None,
) -> list[tuple[int, int, str]]:
    """Rule 9 for the cohort: rule 6's table as at ``date``."""
    scores = score(
        events,
        weights,
        date,
        window_years,
        assessments=assessments,
        assessment_table=assessment_table,
    )
    return result(scores, thresholds)
