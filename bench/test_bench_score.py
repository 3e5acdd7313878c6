"""Scoring from events, cold ingest and ingest throughput.

Groups: ``score|<size>`` (every implementation of the ``score`` operation:
the engine's ``scores()`` on a loaded engine, ``engine_cold`` = new engine +
ingest + scores(), and each peer's recompute from the events),
``cold_ingest|<size>`` (a new engine + ingest of the cohort, by input form) and
``ingest|<size>`` (events per second into an empty engine, built untimed).

The cohort is shaped as an export is (``peers.make_case``: event ids in no
order, codes over the whole table). The input forms, from what a user has to
what suits the engine best: ``text`` (an Arrow table of plain string columns,
as a CSV export reads), ``numpy_text`` (numpy unicode columns), ``dictionary``
and ``arrow`` (dictionary-encoded text, as a Parquet export reads),
``cohort`` (the generator's own arrays) and ``encoded`` (pre-encoded kinds and
days, the convenient case).
"""

from __future__ import annotations

import numpy as np
import peers
import pytest
from bench_support import label, time_comparison
from bench_timing import first_call

from iomscore import Engine
from iomscore.batch import encode_events

OPERATION = "score"


@pytest.mark.parametrize("name", peers.implementations(OPERATION))
def test_score(benchmark, case, size, expected, name):
    time_comparison(benchmark, case, size, expected, OPERATION, name)


def _inputs(case, form):
    """The cohort's events in one input form (built untimed)."""
    c = case.events
    if form == "cohort":
        return c
    if form == "arrow":
        return c.to_arrow()
    if form == "text":  # plain string columns, as pyarrow reads a CSV export
        table = c.to_arrow()
        for name in ("dataset", "offence"):
            at = table.column_names.index(name)
            table = table.set_column(at, name, table[name].combine_chunks().dictionary_decode())
        return table
    if form == "numpy_text":  # plain numpy columns, text as numpy unicode arrays
        return {
            "event_id": c.event_id,
            "nominal_id": c.nominal_id,
            "dataset": np.asarray(c.datasets)[c.dataset_index],
            "offence": np.asarray(c.offences)[c.offence_index],
            "date": c.date,
        }
    if form == "dictionary":  # numpy ids and dates, dictionary-encoded text (Cohort.columns())
        return c.columns()
    raise AssertionError(form)


@pytest.mark.parametrize("form", ["text", "arrow", "cohort"])
def test_cold_ingest(benchmark, case, size, expected, form):
    """A new engine and one ingest of the whole window (what a first load costs)."""
    events = _inputs(case, form)

    def cold():
        engine = Engine(case.weights, case.as_of)
        engine.ingest(events)
        return engine

    engine, _ = first_call(cold)
    want = expected(OPERATION)
    assert peers.same(peers.rule6(engine.scores().nominal_id, engine.scores().score), want)
    del engine
    label(benchmark, "cold_ingest", f"engine_{form}", size, case)
    benchmark.pedantic(cold, rounds=max(3, min(size.peer_rounds, 5)), iterations=1, warmup_rounds=0)


@pytest.mark.parametrize("form", ["text", "dictionary", "numpy_text", "encoded", "encode_only"])
def test_ingest_throughput(benchmark, case, size, expected, form):
    """Events per second into an empty engine (construction untimed); bench/run.py divides."""
    w = case.weights
    if form in ("encoded", "encode_only"):
        raw = _inputs(case, "dictionary")
        batch = encode_events(raw, w)
    else:
        batch = _inputs(case, form)

    def setup():
        return (Engine(w, case.as_of),), {}

    if form == "encoded":

        def run(engine):
            return engine.ingest_encoded(batch)
    elif form == "encode_only":

        def run(engine):
            return encode_events(raw, w)
    else:

        def run(engine):
            return engine.ingest(batch)

    engine = setup()[0][0]
    run(engine)
    if form != "encode_only":
        got = engine.scores()
        assert peers.same(peers.rule6(got.nominal_id, got.score), expected(OPERATION))
    del engine
    label(benchmark, "ingest", f"engine_{form}", size, case)
    benchmark.pedantic(run, setup=setup, rounds=max(3, min(size.peer_rounds, 5)), iterations=1)
