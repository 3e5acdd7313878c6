"""Every implementation in bench/peers.py's table equals the plain reference.

The table (``COMPARISONS``, numbagg's pattern) drives the benchmarks too, so a
peer that is timed is also checked here, on a small cohort, for every
operation it implements: scoring, the one-day advance, full and partial
rescoring (alternating tables, as the benchmarks do), and the count matrix.

The peers are optional packages of the ``test`` extra (scipy, pandas, polars,
duckdb); a missing one fails with the install hint rather than skipping, so a
CI without them does not pass silently.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))
peers = importlib.import_module("peers")

CASES = [
    (op, name) for op, impls in peers.COMPARISONS.items() for name in impls if name != "reference"
]


@pytest.fixture(scope="module")
def case():
    """About 4,000 events of 500 nominals, with three later days for the advance."""
    return peers.make_case(500, 4_000, extra_days=3, seed=11)


@pytest.fixture(scope="module")
def reference(case):
    """The reference's canonical result, by (operation, argument label)."""
    memo = {}

    def get(operation, arg=None):
        key = (operation, getattr(arg, "label", arg))
        if key not in memo:
            impl = peers.COMPARISONS[operation]["reference"]
            state = impl.prepare(case)
            memo[key] = impl.canonical(state, impl.run(state, arg))
        return memo[key]

    return get


def _prepare(impl, case):
    try:
        return impl.prepare(case)
    except peers.PeerMissing as exc:
        pytest.fail(f"{exc} (peers are part of the test extra)")


def _check(impl, state, out, want, what):
    got = impl.canonical(state, out)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype, f"{impl.name} {what}: dtype {g.dtype}, expected {w.dtype}"
    assert peers.same(got, want), f"{impl.name} {what} differs from the reference"


def test_case_is_small_and_complete(case):
    assert 3_000 <= case.n_events <= 5_000
    assert all(len(day) > 0 for day in case.days.values())
    assert len(case.events) + sum(len(d) for d in case.days.values()) == len(case.full)
    assert (case.reweight_full.points != case.points).all()
    changed = case.reweight_partial.points != case.points
    assert 0 < changed.sum() <= 10 * len(case.weights.datasets)


def test_reference_agrees_with_itself(case, reference):
    """The reference entries of the table give rule 6's form: ordered, one row per nominal."""
    ids, scores = reference("score")
    assert len(ids) == len(set(ids.tolist())) > 0
    assert all(
        (-s1, i1) <= (-s2, i2)
        for s1, i1, s2, i2 in zip(scores[:-1], ids[:-1], scores[1:], ids[1:], strict=True)
    )


@pytest.mark.parametrize(("operation", "name"), CASES)
def test_equals_reference(case, reference, operation, name):
    impl = peers.COMPARISONS[operation][name]
    state = _prepare(impl, case)
    if operation in ("score", "matrix_build"):
        _check(impl, state, impl.run(state, None), reference(operation), operation)
    elif operation == "advance":
        for day in sorted(case.days):  # one day at a time, as the engine requires
            _check(impl, state, impl.run(state, day), reference(operation, day), f"day {day}")
    elif operation == "rescore":
        # The benchmarks alternate between a new table and the base: check every step.
        for new in (case.reweight_full, case.base, case.reweight_partial, case.base):
            _check(impl, state, impl.run(state, new), reference(operation, new), new.label)
    else:  # pragma: no cover - a new operation needs its own arguments here
        raise AssertionError(f"no test arguments for operation {operation!r}")


def test_engine_takes_the_path_the_benchmark_names(case):
    """rescore_full times the engine's full path and rescore_partial its partial path."""
    engine = peers.COMPARISONS["rescore"]["engine"]
    state = engine.prepare(case)
    assert engine.run(state, case.reweight_full).mode == "full"
    assert engine.run(state, case.base).mode == "full"
    assert engine.run(state, case.reweight_partial).mode == "partial"
    assert engine.run(state, case.base).mode == "partial"


def test_missing_peer_is_named():
    with pytest.raises(peers.PeerMissing, match="pip install no_such_peer_pkg"):
        peers.need("no_such_peer_pkg")
