"""Dates as day numbers, and the framework's window of N years.

Every date inside the engine is a day number: whole days since 1970-01-01
(``numpy.datetime64[D]`` counts the same way), so the window test is two
integer comparisons.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re

__all__ = [
    "EPOCH",
    "MAX_WINDOW_YEARS",
    "day_number",
    "expiry",
    "expiry_day",
    "from_day_number",
    "parse_date",
    "window_start",
    "years_before",
]

EPOCH = _dt.date(1970, 1, 1)
# Day numbers of buffered events are stored modulo 2**16 (see csrc/iom_store.h),
# which is exact while a window spans fewer than 65,536 days.
MAX_WINDOW_YEARS = 100
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(text: str) -> _dt.date:
    """Parse an ISO date ``YYYY-MM-DD``; raise ``ValueError`` naming the text otherwise."""
    try:
        if not _ISO_DATE.fullmatch(text):
            raise ValueError
        return _dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"date {text!r} is not a calendar date in the form YYYY-MM-DD") from None


def day_number(day: _dt.date) -> int:
    """Whole days from 1970-01-01 to ``day`` (negative before it)."""
    return (day - EPOCH).days


def from_day_number(number: int) -> _dt.date:
    """The date ``number`` days after 1970-01-01."""
    return EPOCH + _dt.timedelta(days=int(number))


def years_before(day: _dt.date, years: int) -> _dt.date:
    """The same month and day ``years`` years earlier; 29 February maps to 28 February."""
    target_year = day.year - years
    if day.month == 2 and day.day == 29:
        try:
            return _dt.date(target_year, 2, 29)
        except ValueError:
            return _dt.date(target_year, 2, 28)
    return day.replace(year=target_year)


def window_start(as_of: _dt.date, years: int = 2) -> _dt.date:
    """The exclusive lower bound of the window at ``as_of``.

    An event dated ``d`` counts at ``as_of`` if and only if
    ``window_start(as_of, years) < d <= as_of`` (rule 3).
    """
    if not 1 <= years <= MAX_WINDOW_YEARS:
        raise ValueError(
            f"window_years must be an integer from 1 to {MAX_WINDOW_YEARS}, got {years}"
        )
    return years_before(as_of, years)


def expiry(day: _dt.date, years: int = 2) -> _dt.date:
    """Rule 7: the first date on which an event dated ``day`` no longer counts.

    The same month and day ``years`` later, when ``window_start`` of it is
    ``day`` itself; an event of 29 February whose year ``years`` later has none
    counts through 28 February and stops on 1 March.
    """
    target_year = day.year + years
    if day.month == 2 and day.day == 29:
        try:
            return _dt.date(target_year, 2, 29)
        except ValueError:
            return _dt.date(target_year, 3, 1)
    return day.replace(year=target_year)


@functools.lru_cache(maxsize=65_536)
def expiry_day(number: int, years: int = 2) -> int:
    """:func:`expiry` on day numbers."""
    return day_number(expiry(from_day_number(number), years))
