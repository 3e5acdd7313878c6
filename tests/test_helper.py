"""The shared helper thread of the store's split steps (csrc/iom_helper.c).

Every step here is split (``_parallel_min = 1``), and its result must equal the
same steps on one thread and the reference, whichever way the second part
ran: on the shared helper, on the calling thread when the helper is busy
(two stores on two threads at once), and in a forked child.
"""

from __future__ import annotations

import datetime
import os
import pickle
import select
import signal
import threading
import time
import warnings

import numpy as np
import pytest
from strategies import column_events, random_columns, reference_rows, small_weights

from iomscore import Engine, _core

AS_OF = datetime.date(2028, 2, 29)
ONE_THREAD = 1 << 62


def _columns(seed: int, n: int = 3_000) -> dict[str, np.ndarray]:
    """``n`` events (ids ``3 k + seed``) of 300 nominals, dated up to 719 days
    before ``AS_OF``; the same columns for the same seed."""
    rng = np.random.default_rng(seed)
    nominal_ids = rng.integers(0, 300, size=n)
    event_ids = np.arange(n, dtype=np.int64) * 3 + seed
    return random_columns(rng, event_ids, nominal_ids, AS_OF, 720, small_weights())


def _steps(seed: int, parallel_min: int) -> list:
    """Ingest, retract and advance a store; every report and the final scores."""
    columns = _columns(seed)
    engine = Engine(small_weights(), AS_OF, window_years=2)
    engine._store._parallel_min = parallel_min
    later = AS_OF + datetime.timedelta(days=30)
    reports = [
        engine.ingest(columns),
        engine.retract(columns["event_id"][::5]),
        engine.advance(later),
    ]
    kept = [i for i in range(columns["event_id"].size) if i % 5]
    scores = engine.scores().rows()
    assert scores == reference_rows(column_events(columns, kept), small_weights(), later)
    return [report.changes.rows() for report in reports] + [str(r) for r in reports] + [scores]


def _moved(before: tuple[int, int]) -> tuple[int, int]:
    after = _core._helper_counts()
    return tuple(a - b for a, b in zip(after, before, strict=True))  # type: ignore[return-value]


def test_split_steps_run_on_the_shared_helper():
    before = _core._helper_counts()
    split = _steps(1, parallel_min=1)
    shared, here = _moved(before)
    # The inserts' id index, and each of the 30 expiring days (the first
    # classify is not split: an empty store holds none of the ids).
    assert shared >= 3
    assert here == 0
    assert split == _steps(1, parallel_min=ONE_THREAD)


def test_steps_below_the_split_run_their_parts_on_the_calling_thread():
    before = _core._helper_counts()
    _steps(2, parallel_min=ONE_THREAD)
    shared, here = _moved(before)
    assert shared == 0
    assert here >= 3


def test_stores_on_two_threads_at_once_each_get_their_result():
    """Two stores step at once (the GIL is released in C): a step that finds the
    helper busy with the other store's runs its part on its own thread, and
    neither waits for the other."""
    expected = {seed: _steps(seed, parallel_min=ONE_THREAD) for seed in (3, 4)}
    results: dict[int, list] = {3: [], 4: []}
    failures: list[BaseException] = []

    def run(seed: int) -> None:
        try:
            for _ in range(15):
                results[seed].append(_steps(seed, parallel_min=1))
        except BaseException as error:  # reported by the main thread below
            failures.append(error)

    before = _core._helper_counts()
    threads = [threading.Thread(target=run, args=(seed,)) for seed in (3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    for seed in (3, 4):
        assert results[seed] == [expected[seed]] * 15
    shared, here = _moved(before)
    assert shared + here >= 2 * 15 * 3
    assert shared > 0


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork is POSIX only")
def test_a_forked_child_starts_a_helper_of_its_own():
    """A fork copies the helper's state but not its thread: without a fresh
    start in the child, its first split step would wait for ever."""
    _steps(5, parallel_min=1)  # the parent's helper runs
    expected = _steps(5, parallel_min=ONE_THREAD)
    read_end, write_end = os.pipe()
    with warnings.catch_warnings():  # Python 3.12+ warns of forking with threads
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: report and leave without running pytest's teardown
        try:
            os.close(read_end)
            before = _core._helper_counts()
            result = (_steps(5, parallel_min=1), _moved(before))
            os.write(write_end, pickle.dumps(result))
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 60.0)
        if not ready:
            os.kill(pid, signal.SIGKILL)
            pytest.fail("the forked child's split steps did not finish in 60 s")
        data = b""
        while chunk := os.read(read_end, 1 << 16):
            data += chunk
    finally:
        os.close(read_end)
        deadline = time.monotonic() + 30
        while os.waitpid(pid, os.WNOHANG) == (0, 0) and time.monotonic() < deadline:
            time.sleep(0.01)
    split, (shared, here) = pickle.loads(data)
    assert split == expected
    assert shared >= 3
    assert here == 0
