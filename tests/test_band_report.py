"""The band changes of a step, in nominal-id order.

When an operation's crossed list is short (at most one nominal in sixteen, as
after a day's step), ``EventStore.band_changes`` sorts the moved nominals by
id; when it is long, it walks every nominal in id order once.
These tests make a step move from none to a few hundred nominals, whose
indices in the store are in no order of their ids, and require the reference's
band changes, in strictly ascending nominal_id order.
"""

from __future__ import annotations

import datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import column_events, random_columns, reference_scores, small_weights

from iomscore import Engine, reference

AS_OF = datetime.date(2028, 2, 29)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_nominals=st.integers(1, 5_000),
    share=st.floats(0.0, 1.0),
)
def test_a_steps_band_changes_match_the_reference_in_id_order(seed, n_nominals, share):
    rng = np.random.default_rng(seed)
    weights = small_weights()
    # ids in no order of the store's indices (nominals are indexed as first seen)
    nominal_ids = rng.choice(10**9, size=n_nominals, replace=False)
    first = random_columns(
        rng, np.arange(3 * n_nominals), np.repeat(nominal_ids, 3), AS_OF, 700, weights
    )
    engine = Engine(weights, AS_OF)
    engine.ingest(first)
    events = column_events(first, range(3 * n_nominals))
    before = reference_scores(events, weights, AS_OF)

    # a step touching up to one nominal in sixteen, two events each
    touched = rng.choice(nominal_ids, size=int(share * n_nominals / 16), replace=False)
    second = random_columns(
        rng,
        3 * n_nominals + np.arange(2 * touched.size),
        np.repeat(touched, 2),
        AS_OF,
        700,
        weights,
    )
    report = engine.ingest(second)
    events += column_events(second, range(2 * touched.size))
    after = reference_scores(events, weights, AS_OF)

    changes = report.changes
    assert changes.as_dict() == reference.band_changes(before, after)
    assert np.all(np.diff(changes.nominal_id) > 0)
    assert changes.score.tolist() == [after.get(int(n), 0) for n in changes.nominal_id]


def test_a_report_of_hundreds_is_sorted_across_merges():
    """A thousand moved of 20,000 (merges up to 512-row runs), each once."""
    rng = np.random.default_rng(7)
    weights = small_weights()
    top = int(weights.points.max())  # one event of it: MEDIUM; two: HIGH
    dataset, offence = np.unravel_index(np.argmax(weights.points), weights.points.shape)

    def one_each(nominals, first_id):
        return {
            "event_id": first_id + np.arange(nominals.size, dtype=np.int64),
            "nominal_id": nominals.astype(np.int64),
            "dataset": np.full(nominals.size, weights.datasets[dataset]),
            "offence": np.full(nominals.size, weights.offences[offence]),
            "date": np.full(nominals.size, np.datetime64(AS_OF, "D")),
        }

    nominal_ids = rng.choice(10**9, size=20_000, replace=False)
    engine = Engine(weights, AS_OF)
    engine.ingest(one_each(nominal_ids, 0))
    movers = rng.permutation(nominal_ids)[:1_000]
    report = engine.ingest(one_each(movers, 10**6))

    before = {int(n): top for n in nominal_ids}
    after = dict(before) | {int(n): 2 * top for n in movers}
    expected = reference.band_changes(before, after)
    assert len(expected) == 1_000
    assert report.changes.as_dict() == expected
    assert np.all(np.diff(report.changes.nominal_id) > 0)
