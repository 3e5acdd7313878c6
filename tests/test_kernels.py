"""Each compiled kernel equals its plain twin in ``naive.py``, values and dtypes.

One ``@given`` property per kernel: the matrix build (CSR), its transpose
(CSC), the full rescore, the partial rescore, the kinds of a batch and the
ingest plan. Inputs reach the edges the kernels handle apart: no rows, one
row, dead store slots, rows spread over more than one block of 4,096
nominals, counts above 65,535 (stored as int32, not uint16), points up to
100,000, rows longer than a block of the rescore, and (for the kinds) row
indices outside their column, which must be refused.

The twin is computed first (``want``), then the kernel (``got``).
"""

from __future__ import annotations

import datetime

import naive
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import as_of_dates, columns, rows, small_weights, window_years_st

from iomscore import Engine
from iomscore._core import compose_kinds, csr_matvec
from iomscore._kernels import build_csc, build_csr
from iomscore.calendar import day_number

MAX_POINTS = 100_000  # Weights.MAX_POINTS
INT32_MAX = 2**31 - 1


def assert_same(got, want) -> None:
    """Equal dtype, shape and values."""
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_array_equal(got, want, strict=True)


def assert_same_tuple(got, want) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert_same(g, w)


# ----------------------------------------------------------------------------- the matrix


@st.composite
def slot_arrays(draw):
    """A store's slot arrays: ``(ev_nom, ev_kind, live, n_cols)``.

    Few rows (none, one, a handful) or enough to fill more than one block of
    4,096; few kinds or up to 65,535; slots live or dead (kind 65535), in no
    order, with a nominal/kind pair often repeated, and sometimes one pair
    repeated more than 65,535 times.
    """
    n_rows = draw(st.one_of(st.integers(0, 6), st.integers(4_090, 9_000)), label="n_rows")
    n_cols = draw(st.one_of(st.integers(1, 12), st.integers(1, 65_535)), label="n_cols")
    if n_rows:
        nominal = st.one_of(st.integers(0, min(n_rows, 3) - 1), st.integers(0, n_rows - 1))
    else:
        nominal = st.just(0)  # no rows: every slot is dead
    kind = st.one_of(st.integers(0, min(n_cols, 3) - 1), st.integers(0, n_cols - 1))
    # A dead slot keeps the nominal of the event it held, which the build must ignore.
    slots = [st.tuples(nominal, st.just(naive.DEAD_KIND), st.integers(1, 3))]
    extra = []
    if n_rows:
        slots.append(st.tuples(nominal, kind, st.integers(1, 3)))
        # Rarely, one pair held many times: a count at the top of uint16, or above it.
        heavy = draw(st.sampled_from([0, 0, 0, 0, 65_535, 70_000]), label="heavy")
        if heavy:
            extra.append((draw(nominal), draw(kind), heavy))
    drawn = draw(st.lists(st.one_of(*slots), max_size=60), label="slots") + extra
    expanded = [(r, k) for r, k, times in drawn for _ in range(times)]
    order = np.random.default_rng(draw(st.integers(0, 2**32 - 1))).permutation(len(expanded))
    ev_nom = np.array([expanded[i][0] for i in order.tolist()], dtype=np.int32)
    ev_kind = np.array([expanded[i][1] for i in order.tolist()], dtype=np.uint16)
    live = np.bincount(ev_nom[ev_kind != naive.DEAD_KIND], minlength=n_rows).astype(np.int32)
    return ev_nom, ev_kind, live, n_cols


@given(slot_arrays())
def test_build_csr_equals_its_twin(arrays):
    ev_nom, ev_kind, live, n_cols = arrays
    want = naive.build_csr(ev_nom, ev_kind, live, n_cols)
    got = build_csr(ev_nom, ev_kind, live, n_cols)
    assert_same_tuple(got, want)


@st.composite
def csr_matrices(draw):
    """``(indptr, kinds, counts, n_cols)``: rows of distinct kinds with uint16 or int32
    counts (up to 2**31 - 1), sometimes one row longer than a block (2,048 entries)."""
    n_cols = draw(st.one_of(st.integers(1, 12), st.integers(1, 65_535)), label="n_cols")
    dtype = draw(st.sampled_from([np.uint16, np.int32]), label="count dtype")
    top = int(np.iinfo(dtype).max)
    count = st.one_of(st.integers(1, 3), st.integers(1, top), st.just(top))
    row = st.dictionaries(st.integers(0, n_cols - 1), count, max_size=8)
    table = draw(st.lists(row, max_size=12), label="rows")
    long_at = draw(st.sampled_from([None, None, None, 0, -1]), label="long row")
    if table and long_at is not None and n_cols > 2_100:
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        kinds = rng.choice(n_cols, size=2_100, replace=False).tolist()
        table[long_at] = dict.fromkeys(kinds, draw(count))
    indptr, kinds, counts = [0], [], []
    for entries in table:
        for k in sorted(entries):
            kinds.append(k)
            counts.append(entries[k])
        indptr.append(len(kinds))
    return (
        np.array(indptr, dtype=np.int64),
        np.array(kinds, dtype=np.uint16),
        np.array(counts, dtype=dtype),
        n_cols,
    )


@given(csr_matrices())
def test_build_csc_equals_its_twin(matrix):
    """Counts as the kernel builds them (int32) or as the engine keeps them (uint16)."""
    indptr, indices, data, n_cols = matrix
    want = naive.build_csc(indptr, indices, data, n_cols)
    got = build_csc(indptr, indices, data, n_cols)
    assert_same_tuple(got, want)


# ----------------------------------------------------------------------------- rescoring


@given(matrix=csr_matrices(), data=st.data())
def test_csr_matvec_equals_its_twin(matrix, data):
    indptr, kinds, counts, n_cols = matrix
    # Up to 65,535 kinds: random points from a seed, then a few drawn (0, the top, ...).
    top = data.draw(st.sampled_from([500, MAX_POINTS]), label="top points")
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))
    points = rng.integers(0, top + 1, size=n_cols).astype(np.int64)
    point = st.one_of(st.sampled_from([0, 1, MAX_POINTS]), st.integers(0, MAX_POINTS))
    for k, p in data.draw(st.dictionaries(st.integers(0, n_cols - 1), point, max_size=8)).items():
        points[k] = p
    want = naive.csr_matvec(indptr, kinds, counts, points)
    got = csr_matvec(indptr, kinds, counts, points)
    assert_same(got, want)


@st.composite
def stores(draw):
    """An engine's store holding a random batch (the strategies' colliding nominals,
    dates on the window's edges, ids near 0 or near 2**63), sometimes with one
    nominal holding 66,000 events of one kind (a count above uint16)."""
    as_of = draw(as_of_dates)
    years = draw(window_years_st)
    weights = small_weights()
    engine = Engine(weights, as_of, window_years=years)
    batch = draw(rows(as_of, years, weights, min_size=0, max_size=30))
    engine.ingest(columns(batch), future="skip")
    if draw(st.sampled_from([False] * 5 + [True]), label="heavy"):
        n = 66_000
        engine.ingest(
            {
                "event_id": 10**15 + np.arange(n, dtype=np.int64),
                "nominal_id": np.full(n, 3, dtype=np.int64),
                "dataset": np.full(n, weights.datasets[1]),
                "offence": np.full(n, weights.offences[2]),
                "date": np.datetime64(as_of, "D") - np.arange(n) % 300,
            }
        )
    return engine._store


@given(store=stores(), data=st.data())
def test_add_columns_equals_its_twin(store, data):
    """The store's scores after a partial rescore equal the twin's, over the CSC of
    the store's own live events (built by the twins, not the kernels)."""
    n_kinds = store.n_kinds
    col_ptr, rows_, counts = naive.build_csc(
        *naive.build_csr(store.event_nominals(), store.event_kinds(), store.live_counts(), n_kinds),
        n_kinds,
    )
    changed = data.draw(
        st.lists(st.integers(0, n_kinds - 1), max_size=n_kinds, unique=True), label="changed"
    )
    delta_st = st.one_of(
        st.integers(-300, 300), st.integers(-MAX_POINTS, MAX_POINTS), st.just(MAX_POINTS)
    )
    delta = data.draw(
        st.lists(delta_st, min_size=len(changed), max_size=len(changed)), label="delta"
    )
    changed = np.array(changed, dtype=np.int64)
    delta = np.array(delta, dtype=np.int64)
    before = store.scores().copy()
    want = naive.add_columns(before, changed, delta, col_ptr, rows_, counts)
    store.add_columns(changed, delta, col_ptr, rows_, counts)
    assert_same(store.scores(), want)


# ----------------------------------------------------------------------------- the batch


@st.composite
def compose_inputs(draw):
    """``(dataset_rows, dataset_base, offence_rows, offence_code)`` with every sum
    below 2**16, and sometimes one row index outside its column."""
    base = draw(st.lists(st.integers(0, 32_767), min_size=1, max_size=5), label="base")
    code = draw(st.lists(st.integers(0, 32_767), min_size=1, max_size=40), label="code")
    n = draw(st.integers(0, 50), label="n")
    d_rows = draw(st.lists(st.integers(0, len(base) - 1), min_size=n, max_size=n))
    o_rows = draw(st.lists(st.integers(0, len(code) - 1), min_size=n, max_size=n))
    if n and draw(st.booleans(), label="spoil a row"):
        column, size = draw(st.sampled_from([(d_rows, len(base)), (o_rows, len(code))]))
        at = draw(st.integers(0, n - 1), label="bad row")
        column[at] = draw(st.sampled_from([-1, size, size + 7, -(2**31), INT32_MAX]))
    return (
        np.array(d_rows, dtype=np.int32),
        np.array(base, dtype=np.uint16),
        np.array(o_rows, dtype=np.int32),
        np.array(code, dtype=np.uint16),
    )


@given(compose_inputs())
def test_compose_kinds_equals_its_twin(inputs):
    n = inputs[0].shape[0]
    want_out = np.zeros(n, dtype=np.uint16)
    got_out = np.zeros(n, dtype=np.uint16)
    try:
        want = naive.compose_kinds(*inputs, want_out)
    except ValueError as exc:
        row = str(exc).split(":")[0]  # "row i"
        with pytest.raises(ValueError, match=rf"^{row}:"):
            compose_kinds(*inputs, got_out)
        return
    got = compose_kinds(*inputs, got_out)
    assert got is got_out  # written in place and returned
    assert_same(got, want)


# ----------------------------------------------------------------------------- the plan


@given(
    as_of=as_of_dates,
    years=window_years_st,
    table=st.lists(
        st.tuples(
            st.sampled_from([naive.IOM_NEW, naive.IOM_SAME, naive.IOM_CONFLICT]),
            st.sampled_from(["start", "as_of"]),
            st.one_of(st.integers(-3, 3), st.integers(-800, 800)),
        ),
        max_size=60,
    ),
    far=st.lists(st.sampled_from([-(2**31), INT32_MAX]), max_size=2),
)
def test_plan_equals_its_twin(as_of: datetime.date, years, table, far):
    """Days near either edge of the window, or at either end of int32."""
    store = Engine(small_weights(), as_of, window_years=years)._store
    assert store.as_of == day_number(as_of)
    edges = {"start": store.start, "as_of": store.as_of}
    status = np.array([s for s, _, _ in table] + [naive.IOM_NEW] * len(far), dtype=np.int8)
    days = np.array([edges[e] + d for _, e, d in table] + far, dtype=np.int32)
    want_action, want_counts = naive.plan(status, days, store.as_of, store.start)
    got_action, got_counts = store.plan(status, days)
    assert_same(got_action, want_action)
    assert got_counts == want_counts


def test_plan_refuses_columns_of_other_lengths():
    store = Engine(small_weights(), datetime.date(2024, 3, 1))._store
    with pytest.raises(ValueError, match="one day per status"):
        store.plan(np.zeros(3, np.int8), np.zeros(2, np.int32))
