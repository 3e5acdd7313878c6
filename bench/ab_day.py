"""Two builds of the compiled store, one national day at a time, in one process.

On a shared VM the same build's national day varies by 1.5-2x from one minute
to the next, so two builds timed in separate processes, even alternately,
can differ by more than any change between them. This loads both builds'
``_core`` extension modules into one process, gives each an identical store
(the national cohort: 1,000,000 nominals, 20,000,000 events) and runs the same
days through both, alternating in blocks of a few days, so that both see the
same minutes of the machine:

    python bench/ab_day.py OLD_CORE.so NEW_CORE.so [--days 120] [--block 5]
        [--per-day 27000] [--nominals 1000000] [--events 20000000]

Each ``.so`` is a build of ``src/iomscore/_core.pyx`` (say, ``git worktree``
or ``git archive`` of a commit, then ``python setup.py build_ext --inplace``
there). The day is timed at the store's level: ``advance`` (one day expires),
``classify`` (with the nominal lookups), ``plan`` and ``apply`` (one day's
27,000 events arrive), as ``Engine.advance`` and ``Engine.ingest_encoded`` call
them; the Python around them, the same for both builds, is left out. Medians
are printed per step and for the day; at the end both stores must hold the
same scores, or the script fails.

Each build runs its own helper thread, which spins for 2 ms after a step; the
blocks are separated by a 5 ms pause so that the idle build's helper is
asleep while the other runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path
from types import ModuleType

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers

from iomscore.batch import encode_events
from iomscore.calendar import day_number, window_start
from iomscore.engine import _store_arguments  # the arguments Engine gives its store
from iomscore.reference import DEFAULT_THRESHOLDS

STEPS = ("advance", "classify", "apply", "day")


def load_core(path: str, name: str) -> ModuleType:
    """The extension module at ``path`` under a package name of its own."""
    spec = importlib.util.spec_from_file_location(f"{name}._core", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"{path}: not an extension module")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("builds", nargs=2, help="two _core extension modules (.so)")
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--block", type=int, default=5, help="days in a row on one build")
    parser.add_argument("--per-day", type=int, default=27_000)
    parser.add_argument("--nominals", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=20_000_000)
    args = parser.parse_args()

    # the convenient case, as the runs in bench/README.md used it
    case = peers.make_case(
        args.nominals, args.events, extra_days=1, seed=2026, ascending_ids=True, codes="mix"
    )
    weights = case.weights
    batch = encode_events(case.events, weights)
    stores = []
    for k, path in enumerate(args.builds):
        core = load_core(path, f"build{k}")
        store = core.EventStore(*_store_arguments(weights, case.as_of, 2, DEFAULT_THRESHOLDS))
        index = np.empty(len(batch), dtype=np.int32)
        status = store.classify(batch.event_id, batch.nominal_id, batch.kind, batch.day, index)
        action, _ = store.plan(status, batch.day)
        store.apply(batch.event_id, batch.nominal_id, batch.kind, batch.day, action, index)
        stores.append(store)
    del batch

    days = [
        (day_number(case.day(k)), day_number(window_start(case.day(k))), batch)
        for k, batch in enumerate(case.synthetic_days(args.days, args.per_day), start=1)
    ]

    times: list[dict[str, list[float]]] = [{step: [] for step in STEPS} for _ in stores]
    done = [0, 0]
    clock = time.perf_counter
    while min(done) < args.days:
        for which, store in enumerate(stores):
            for _ in range(args.block):
                if done[which] == args.days:
                    break
                as_of, new_start, day_batch = days[done[which]]
                ids, nominal_ids = day_batch.event_id, day_batch.nominal_id
                kind, day = day_batch.kind, day_batch.day
                done[which] += 1
                t0 = clock()
                store.advance(as_of, new_start)
                t1 = clock()
                index = np.empty(ids.size, dtype=np.int32)
                status = store.classify(ids, nominal_ids, kind, day, index)
                t2 = clock()
                action, _ = store.plan(status, day)
                store.apply(ids, nominal_ids, kind, day, action, index)
                t3 = clock()
                for step, seconds in zip(STEPS, (t1 - t0, t2 - t1, t3 - t2, t3 - t0), strict=True):
                    times[which][step].append(seconds)
            time.sleep(0.005)
    if stores[0].scores().tolist() != stores[1].scores().tolist():
        raise SystemExit("the two builds ended with different scores")
    print(f"{args.days} days each, in blocks of {args.block}; medians (us):")
    print("| build | " + " | ".join(STEPS) + " |")
    print("|---|" + "---:|" * len(STEPS))
    for path, timing in zip(args.builds, times, strict=True):
        cells = " | ".join(f"{np.median(timing[step]) * 1e6:.0f}" for step in STEPS)
        print(f"| {path} | {cells} |")


if __name__ == "__main__":
    main()
