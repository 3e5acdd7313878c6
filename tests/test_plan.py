"""The ingest plan the store computes in one compiled pass equals the rules written plainly.

``EventStore.plan`` turns each row's status (new, held identical, held with
other content) and date into the action ``apply`` takes, and counts what the
ingest report shows. The state machine checks the reports against the
reference; this checks each action and the first-row positions that error
messages name, row by row.
"""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from iomscore import Engine, Weights
from iomscore.calendar import day_number

NEW, SAME, CONFLICT = 0, 1, 2
SKIP, INSERT, RETRACT, REPLACE = 0, 1, 2, 3
AS_OF = datetime.date(2024, 3, 1)  # a window reaching back over 29 February 2022
_STORE = Engine(Weights.default(), AS_OF)._store


def plain_plan(status: list[int], days: list[int], start: int, as_of: int):
    """The rules of iomscore.engine's ingest, one row at a time."""
    actions, first_after, first_conflict = [], -1, -1
    for row, (state, day) in enumerate(zip(status, days, strict=True)):
        inside = start < day <= as_of
        if state == NEW:
            actions.append(INSERT if inside else SKIP)
        elif state == CONFLICT:
            actions.append(REPLACE if inside else RETRACT)
        else:
            actions.append(SKIP)
        if day > as_of and first_after < 0:
            first_after = row
        if state == CONFLICT and first_conflict < 0:
            first_conflict = row
    counts = {
        "first_after": first_after,
        "first_conflict": first_conflict,
        "taken": sum(a in (INSERT, REPLACE) for a in actions),
        "expired": sum(day <= start for day in days),
        "duplicates": status.count(SAME),
        "conflicts": status.count(CONFLICT),
        "future": sum(day > as_of for day in days),
    }
    return actions, counts


@given(
    rows=st.lists(
        st.tuples(st.sampled_from([NEW, SAME, CONFLICT]), st.integers(-3, 3)), max_size=60
    ),
    edge=st.sampled_from(["start", "as_of"]),
)
def test_plan_equals_the_rules_row_by_row(rows, edge):
    store = _STORE  # plan reads the store and changes nothing
    around = store.start if edge == "start" else store.as_of  # days near one window edge
    status = np.array([s for s, _ in rows], dtype=np.int8)
    days = np.array([around + d for _, d in rows], dtype=np.int32)
    action, counts = store.plan(status, days)
    want_actions, want_counts = plain_plan(status.tolist(), days.tolist(), store.start, store.as_of)
    assert action.tolist() == want_actions
    assert counts == want_counts
    assert store.as_of == day_number(AS_OF)


def test_plan_refuses_columns_of_other_lengths():
    with pytest.raises(ValueError, match="one day per status"):
        _STORE.plan(np.zeros(3, np.int8), np.zeros(2, np.int32))
