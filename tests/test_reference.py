"""The reference (rules 1-6) against hand-worked cases, and the two window implementations.

Every expected value below is worked out from the rules in the README / the
docstring of :mod:`iomscore.reference`, never copied from any output.
"""

from __future__ import annotations

import datetime

import pytest

from iomscore import calendar, reference
from iomscore.codes import OffenceCodeError, normalize_offence, offence_number

D = datetime.date


def ev(
    event_id: int,
    nominal: int,
    date: datetime.date,
    dataset: str = "arrest",
    offence: str = "028/01",
) -> reference.Event:
    return reference.Event(event_id, nominal, dataset, offence, date)


# ------------------------------------------------------------------------------ rule 3: window

WINDOW_STARTS = [
    # (as_of, years, start): same month and day N years earlier; 29 Feb -> 28 Feb in a common year.
    (D(2024, 2, 29), 2, D(2022, 2, 28)),
    (D(2024, 2, 28), 2, D(2022, 2, 28)),
    (D(2024, 3, 1), 2, D(2022, 3, 1)),
    (D(2025, 2, 28), 2, D(2023, 2, 28)),
    (D(2025, 3, 1), 2, D(2023, 3, 1)),
    (D(2026, 2, 28), 2, D(2024, 2, 28)),
    (D(2026, 3, 1), 2, D(2024, 3, 1)),
    (D(2026, 11, 26), 2, D(2024, 11, 26)),
    (D(2024, 2, 29), 1, D(2023, 2, 28)),
    (D(2025, 3, 1), 1, D(2024, 3, 1)),
    (D(2028, 2, 29), 1, D(2027, 2, 28)),
    (D(2028, 2, 29), 4, D(2024, 2, 29)),  # four years back from a leap day is a leap day
    (D(2028, 2, 29), 3, D(2025, 2, 28)),
    (D(2027, 2, 28), 3, D(2024, 2, 28)),
    (D(2024, 1, 1), 2, D(2022, 1, 1)),
    (D(2024, 12, 31), 2, D(2022, 12, 31)),
]


@pytest.mark.parametrize(("as_of", "years", "start"), WINDOW_STARTS)
def test_window_start(as_of, years, start):
    assert reference.window_start(as_of, years) == start
    assert calendar.window_start(as_of, years) == start


WINDOW_CASES = [
    # (as_of, years, event date, counts?)
    # D = 29 Feb 2024: two years earlier has no 29 Feb, so the bound is 28 Feb 2022 (excluded).
    (D(2024, 2, 29), 2, D(2022, 2, 28), False),
    (D(2024, 2, 29), 2, D(2022, 2, 27), False),
    (D(2024, 2, 29), 2, D(2022, 3, 1), True),
    (D(2024, 2, 29), 2, D(2024, 2, 29), True),  # an event on D counts
    (D(2024, 2, 29), 2, D(2024, 3, 1), False),  # after D
    (D(2024, 2, 29), 2, D(2024, 2, 28), True),
    # D = 28 Feb 2025: the bound is 28 Feb 2023.
    (D(2025, 2, 28), 2, D(2023, 2, 28), False),
    (D(2025, 2, 28), 2, D(2023, 3, 1), True),
    (D(2025, 2, 28), 2, D(2024, 2, 29), True),  # an event on a leap day inside the window
    (D(2025, 2, 28), 2, D(2025, 2, 28), True),
    # D = 1 March 2025 and 2026: the anniversary day is excluded.
    (D(2025, 3, 1), 2, D(2023, 3, 1), False),
    (D(2025, 3, 1), 2, D(2023, 3, 2), True),
    (D(2026, 3, 1), 2, D(2024, 2, 29), False),  # 29 Feb 2024 is before the bound 1 Mar 2024
    (D(2026, 3, 1), 2, D(2024, 3, 1), False),
    (D(2026, 3, 1), 2, D(2024, 3, 2), True),
    (D(2026, 2, 28), 2, D(2024, 2, 28), False),
    (D(2026, 2, 28), 2, D(2024, 2, 29), True),  # the bound is 28 Feb 2024, so 29 Feb counts
    # Other lengths.
    (D(2028, 2, 29), 4, D(2024, 2, 29), False),
    (D(2028, 2, 29), 4, D(2024, 3, 1), True),
    (D(2028, 2, 29), 4, D(2024, 2, 28), False),
    (D(2028, 2, 29), 1, D(2027, 2, 28), False),
    (D(2028, 2, 29), 1, D(2027, 3, 1), True),
    (D(2024, 2, 29), 1, D(2023, 2, 28), False),
    (D(2024, 2, 29), 1, D(2023, 3, 1), True),
    (D(2025, 3, 1), 1, D(2024, 2, 29), False),
    (D(2025, 3, 1), 1, D(2024, 3, 1), False),
    (D(2025, 3, 1), 1, D(2024, 3, 2), True),
    (D(2025, 2, 28), 1, D(2024, 2, 29), True),
    (D(2025, 2, 28), 1, D(2024, 2, 28), False),
]


@pytest.mark.parametrize(("as_of", "years", "date", "counts"), WINDOW_CASES)
def test_in_window(as_of, years, date, counts):
    assert reference.in_window(date, as_of, years) is counts
    # The same case through score(): a counting event yields a row, otherwise nothing.
    scores = reference.score([ev(1, 7, date)], {("arrest", "028/01"): 300}, as_of, years)
    assert scores == ({7: 300} if counts else {})


def test_default_window_is_two_years():
    assert reference.window_start(D(2024, 2, 29)) == D(2022, 2, 28)
    assert reference.in_window(D(2022, 3, 1), D(2024, 2, 29))
    assert not reference.in_window(D(2022, 2, 28), D(2024, 2, 29))


def _every_day(first: datetime.date, last: datetime.date):
    day = first
    while day <= last:
        yield day
        day += datetime.timedelta(days=1)


@pytest.mark.parametrize("years", [1, 2, 3, 4, 5, 8, 100])
def test_calendar_window_start_agrees_with_reference_every_day(years):
    """Two independent implementations of rule 3's bound, over every day of 2019-2030."""
    disagreements = [
        (day, calendar.window_start(day, years), reference.window_start(day, years))
        for day in _every_day(D(2019, 1, 1), D(2030, 12, 31))
        if calendar.window_start(day, years) != reference.window_start(day, years)
    ]
    assert disagreements == []


def test_window_start_is_monotone_and_never_skips_back():
    """As D moves forward one day, the bound never moves back (dates only move forward)."""
    previous = None
    for day in _every_day(D(2019, 1, 1), D(2030, 12, 31)):
        start = calendar.window_start(day, 2)
        if previous is not None:
            assert start >= previous
            assert (start - previous).days <= 2  # at most 1 Mar after 28 Feb in a common year
        previous = start


@pytest.mark.parametrize("years", [0, -1, 101])
def test_calendar_window_start_rejects_bad_lengths(years):
    with pytest.raises(ValueError, match="window_years"):
        calendar.window_start(D(2024, 2, 29), years)


def test_years_before_maps_29_february():
    assert calendar.years_before(D(2024, 2, 29), 1) == D(2023, 2, 28)
    assert calendar.years_before(D(2024, 2, 29), 4) == D(2020, 2, 29)
    assert calendar.years_before(D(2024, 3, 1), 1) == D(2023, 3, 1)


@pytest.mark.parametrize(
    "text",
    [
        "2023-02-29",
        "2023-02-30",
        "2024-02-30",
        "2023-04-31",
        "2023/01/01",
        "",
        "2023-1-1",
        "23-01-01",
        "2023-13-01",
        "2023-00-10",
        "2023-01-32",
        " 2023-01-01",
    ],
)
def test_parse_date_rejects(text):
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        calendar.parse_date(text)


def test_parse_date_and_day_numbers():
    assert calendar.parse_date("2024-02-29") == D(2024, 2, 29)
    assert calendar.day_number(D(1970, 1, 1)) == 0
    assert calendar.day_number(D(1970, 1, 2)) == 1
    assert calendar.day_number(D(1969, 12, 31)) == -1
    # 2000-01-01 is 30 years of 365 days plus 7 leap days (72, 76, ..., 96) after the epoch.
    assert calendar.day_number(D(2000, 1, 1)) == 30 * 365 + 7
    for day in _every_day(D(2023, 12, 1), D(2024, 3, 31)):
        assert calendar.from_day_number(calendar.day_number(day)) == day


# ------------------------------------------------------------------------------ rules 4 and 6


def test_score_sums_points_of_counting_events():
    weights = {("arrest", "028/01"): 300, ("intelligence", "028/01"): 25, ("arrest", "105/01"): 0}
    as_of = D(2024, 2, 29)
    events = [
        ev(1, 7, D(2024, 1, 1)),
        ev(2, 7, D(2023, 6, 1), "intelligence"),
        ev(3, 7, D(2022, 2, 28)),  # on the bound: excluded
        ev(4, 8, D(2022, 2, 28)),  # nominal 8 has no counting event: no row
        ev(5, 9, D(2024, 2, 29), offence="105/01"),  # counts for 0 points: still a row
        ev(6, 7, D(2024, 3, 1)),  # after D
    ]
    assert reference.score(events, weights, as_of) == {7: 325, 9: 0}
    assert reference.result({7: 325, 9: 0}) == [(7, 325, "LOW"), (9, 0, "NONE")]


def test_score_missing_pair_is_an_error_only_when_counting():
    events = [ev(1, 7, D(2020, 1, 1), offence="999/99"), ev(2, 7, D(2024, 1, 1))]
    assert reference.score(events, {("arrest", "028/01"): 5}, D(2024, 2, 29)) == {7: 5}
    with pytest.raises(KeyError):
        reference.score([ev(1, 7, D(2024, 1, 1), offence="999/99")], {}, D(2024, 2, 29))


def test_score_overflow():
    weights = {("arrest", "028/01"): reference.INT64_MAX}
    with pytest.raises(OverflowError):
        reference.score([ev(1, 7, D(2024, 1, 1)), ev(2, 7, D(2024, 1, 2))], weights, D(2024, 2, 29))


def test_counts():
    events = [
        ev(1, 7, D(2024, 1, 1)),
        ev(2, 7, D(2024, 1, 2)),
        ev(3, 7, D(2024, 1, 2), "intelligence"),
        ev(4, 8, D(2021, 1, 1)),
        ev(5, 9, D(2023, 1, 1), offence="105/01"),
    ]
    assert reference.counts(events, D(2024, 2, 29)) == {
        7: {("arrest", "028/01"): 2, ("intelligence", "028/01"): 1},
        9: {("arrest", "105/01"): 1},
    }


# ------------------------------------------------------------------------------ rule 5: bands


@pytest.mark.parametrize(
    ("points", "band"),
    [
        (0, "NONE"),
        (1, "NONE"),
        (249, "NONE"),
        (250, "LOW"),
        (251, "LOW"),
        (499, "LOW"),
        (500, "MEDIUM"),
        (999, "MEDIUM"),
        (1000, "HIGH"),
        (10**12, "HIGH"),
    ],
)
def test_default_bands(points, band):
    assert reference.band(points) == band


@pytest.mark.parametrize(
    ("points", "band"),
    [
        (0, "NONE"),
        (9, "NONE"),
        (10, "LOW"),
        (19, "LOW"),
        (20, "MEDIUM"),
        (29, "MEDIUM"),
        (30, "HIGH"),
    ],
)
def test_custom_thresholds(points, band):
    assert reference.band(points, (10, 20, 30)) == band


def test_result_order_score_descending_then_nominal_ascending():
    scores = {5: 300, 3: 300, 9: 1000, 1: 0, 2: 249, 4: 500}
    assert reference.result(scores) == [
        (9, 1000, "HIGH"),
        (4, 500, "MEDIUM"),
        (3, 300, "LOW"),
        (5, 300, "LOW"),
        (2, 249, "NONE"),
        (1, 0, "NONE"),
    ]
    assert reference.result({}) == []
    assert reference.result({1: 15, 2: 25}, (10, 20, 30)) == [(2, 25, "MEDIUM"), (1, 15, "LOW")]


def test_band_changes():
    before = {1: 300, 2: 600, 3: 100, 4: 1000, 6: 500, 7: 260}
    after = {1: 200, 2: 700, 4: 1000, 5: 250, 7: 499}
    # 1 LOW->NONE; 2 stays MEDIUM; 3 leaves (NONE->NONE: no change); 4 stays HIGH;
    # 5 arrives LOW; 6 leaves MEDIUM->NONE with score 0; 7 stays LOW.
    assert reference.band_changes(before, after) == {
        1: ("LOW", "NONE", 200),
        5: ("NONE", "LOW", 250),
        6: ("MEDIUM", "NONE", 0),
    }
    assert reference.band_changes(after, before) == {
        1: ("NONE", "LOW", 300),
        5: ("LOW", "NONE", 0),
        6: ("NONE", "MEDIUM", 500),
    }
    assert reference.band_changes(before, before) == {}
    assert reference.band_changes({1: 15}, {1: 25}, (10, 20, 30)) == {1: ("LOW", "MEDIUM", 25)}
    assert reference.band_changes({1: 15}, {1: 25}) == {}


# ------------------------------------------------------------------------------ offence codes


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("028/01", "028/01"),
        ("28/1", "028/01"),
        ("02801", "028/01"),
        ("28/01", "028/01"),
        ("028/1", "028/01"),
        (" 028/01 ", "028/01"),
        ("1/1", "001/01"),
        ("0/0", "000/00"),
        ("00000", "000/00"),
        ("195/94", "195/94"),
        ("19594", "195/94"),
        ("999/99", "999/99"),
    ],
)
def test_normalize_offence(text, canonical):
    assert normalize_offence(text) == canonical


@pytest.mark.parametrize(
    "text",
    [
        "",
        "28",
        "2801",
        "028011",
        "28-01",
        "028 01",
        "1234/1",
        "028/001",
        "/01",
        "028/",
        "abc",
        "28/1/1",
        "0x1c/1",
        "-28/1",
    ],
)
def test_normalize_offence_rejects(text):
    with pytest.raises(OffenceCodeError, match="not a Home Office code"):
        normalize_offence(text)


@pytest.mark.parametrize("value", [None, 2801, 28.01])
def test_normalize_offence_rejects_non_strings(value):
    with pytest.raises(OffenceCodeError):
        normalize_offence(value)  # type: ignore[arg-type]


def test_offence_number():
    assert offence_number("028/01") == 2801
    assert offence_number("28/1") == 2801
    assert offence_number("19594") == 19594
