"""An engine given no work uses no CPU, and its parallel work is bounded by ``threads``.

The store's large steps split their work with one helper thread
(``csrc/iom_helper.h``), which sleeps on a condition variable between steps.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from iomscore import Engine, EngineError, synth
from iomscore._core import _helper_counts

# A split step's rows: well past the store's threshold for using the helper (8,192).
_ROWS = 60_000


def _loaded(threads: int) -> tuple[Engine, synth.Cohort]:
    cohort = synth.cohort(5_000, _ROWS, seed=11)
    engine = Engine(None, cohort.as_of, threads=threads)
    engine.ingest(cohort)
    return engine, cohort


def test_an_idle_engine_uses_no_cpu_after_a_split_step():
    before = _helper_counts()
    engine, _ = _loaded(threads=2)
    assert _helper_counts()[0] > before[0], "the bulk load ran a part on the helper thread"
    # process_time counts the CPU time of every thread of the process, the helper's too.
    start_cpu, start_wall = time.process_time(), time.perf_counter()
    time.sleep(1.0)
    cpu = time.process_time() - start_cpu
    wall = time.perf_counter() - start_wall
    assert wall >= 1.0
    # A helper that kept spinning after a step, even for a couple of milliseconds so as
    # to take the next step sooner, would show here; a sleeping one costs nothing.
    assert cpu < 0.001, f"{cpu * 1e3:.2f} ms of CPU in an idle second"
    assert len(engine) > 0


def test_one_thread_never_uses_the_helper():
    before = _helper_counts()
    engine, cohort = _loaded(threads=1)
    engine.advance(cohort.as_of + np.timedelta64(400, "D").astype(object))
    engine.reweight(engine.weights.replace({("arrest", "028/01"): 1}, name="one"))
    assert _helper_counts()[0] == before[0]
    assert engine.threads == 1


def test_one_and_two_threads_score_alike():
    one, cohort = _loaded(threads=1)
    two, _ = _loaded(threads=2)
    assert one.scores().rows() == two.scores().rows()
    later = cohort.as_of + np.timedelta64(200, "D").astype(object)
    moved_one, moved_two = one.advance(later).changes, two.advance(later).changes
    assert len(moved_one) > 0
    for field in ("nominal_id", "old_band", "new_band", "score"):
        assert np.array_equal(getattr(moved_one, field), getattr(moved_two, field))
    assert one.scores().rows() == two.scores().rows()


@pytest.mark.parametrize("threads", [0, 3, "2", 1.0])
def test_threads_must_be_one_or_two(threads):
    with pytest.raises(EngineError, match="threads must be 1 or 2"):
        Engine(None, "2026-11-26", threads=threads)
