"""Does one day's step cost the same on a cohort ten times smaller or larger?

Issue 3 asks that advancing one day (expiring one day's events and taking one
day's new ones) cost in proportion to the change, not to the cohort. This
holds the change fixed (the days that expire during the run and the days that
arrive are both subsampled to the same number of events) and grows the cohort
10x and 100x, one fresh process per size:

    python bench/advance_scaling.py [--per-day 2700] [--sizes 2e6 2e7 2e8]

Each day's step is advance(D+1) + ingest(that day's events). Days alternate
between two conditions, and the medians of both are printed:

* **cold**: a fixed 128 MiB write (four times this machine's 32 MiB L3) runs
  before the step, the same at every size. A service steps once a day, after
  a day of other work, so its step starts with none of the engine's tables
  in cache.
* **warm**: nothing runs between the previous step and this one (a replay
  stepping day after day).

Everything a step needs is prepared before the timed loop. An earlier version
of this script selected each day's rows inside the loop with a scan of the
whole event table, between two steps: work that grows with the cohort (8 MB
at 2M events, 800 MB at 200M) and evicts more of the cache the larger the
cohort, which made the larger cohorts' steps look dearer than they are.

The first ``--settle`` days are not counted: after a bulk load of many
gigabytes the kernel and the hypervisor are still settling the new memory
(huge-page compaction, first touches), and those days cost several times
more at 200M events. Their median is printed apart.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time

EVICT_BYTES = 128 << 20  # more than every cache of the machine measured (L3: 32 MiB)


def worker(n_events: int, per_day: int, days: int, settle: int) -> dict[str, float]:
    import numpy as np

    from iomscore import Engine, Weights, synth
    from iomscore.batch import encode_events
    from iomscore.calendar import window_start

    weights = Weights.default()
    as_of = datetime.date(2026, 11, 26)
    extra = settle + days + 1
    total = n_events * (731 + extra) // 731
    cohort = synth.cohort(
        max(n_events // 20, 1000),
        total,
        span_days=731 + extra,
        as_of=as_of + datetime.timedelta(days=extra),
        seed=1,
        ascending_ids=True,  # its figures since the first wave were made so
    )
    batch = encode_events(cohort, weights)
    del cohort
    day0 = (np.datetime64(as_of) - np.datetime64("1970-01-01")).astype(int)
    start0 = (np.datetime64(window_start(as_of)) - np.datetime64("1970-01-01")).astype(int)
    rng = np.random.default_rng(0)
    # The days that will expire during the run hold `per_day` events each, like
    # the days that arrive: the change is the same whatever the cohort's size.
    # Rows come in date order, so each day is one slice of the batch.
    bounds = np.searchsorted(batch.day, np.arange(start0 + 1, day0 + extra + 2))
    keep = np.ones(len(batch), dtype=bool)
    for k in range(settle + days + 2):
        lo, hi = bounds[k], bounds[k + 1]
        keep[lo:hi] = False
        keep[lo + rng.choice(hi - lo, size=min(per_day, hi - lo), replace=False)] = True
    arriving = []
    for k in range(1, settle + days + 1):
        lo, hi = np.searchsorted(batch.day, [day0 + k, day0 + k + 1])
        pick = np.sort(rng.choice(hi - lo, size=min(per_day, hi - lo), replace=False))
        arriving.append(batch.take(lo + pick))
    engine = Engine(weights, as_of)
    engine.ingest_encoded(batch.take(np.flatnonzero(keep[: bounds[day0 - start0]])))
    del batch, keep
    evict = np.zeros(EVICT_BYTES, dtype=np.uint8)
    times: dict[str, list[float]] = {"settle": [], "cold": [], "warm": []}
    for k in range(1, settle + days + 1):
        condition = "settle" if k <= settle else ("cold" if k % 2 else "warm")
        if condition == "cold":
            np.add(evict, 1, out=evict)
        start = time.perf_counter()
        engine.advance(as_of + datetime.timedelta(days=k))
        engine.ingest_encoded(arriving[k - 1])
        times[condition].append(time.perf_counter() - start)
    return {
        "events": len(engine),
        "cold_ms": float(np.median(times["cold"]) * 1e3),
        "warm_ms": float(np.median(times["warm"]) * 1e3),
        "settle_ms": float(np.median(times["settle"]) * 1e3) if settle else float("nan"),
        "first_day_ms": times["settle"][0] * 1e3 if settle else float("nan"),
        "per_day": per_day,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-day", type=int, default=2_700)
    parser.add_argument("--days", type=int, default=40, help="days measured (half cold, half warm)")
    parser.add_argument("--settle", type=int, default=5, help="days run before measuring")
    parser.add_argument("--sizes", type=float, nargs="+", default=[2e6, 2e7, 2e8])
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.per_day, args.days, args.settle)))
        return
    rows = []
    for size in args.sizes:
        run = subprocess.run(
            [
                sys.executable,
                __file__,
                "--worker",
                str(int(size)),
                "--per-day",
                str(args.per_day),
                "--days",
                str(args.days),
                "--settle",
                str(args.settle),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(run.stdout.strip().splitlines()[-1]))
        row = rows[-1]
        print(
            f"{row['events']:>12,} events: {row['cold_ms']:.2f} ms a day cold, "
            f"{row['warm_ms']:.2f} ms warm (first {args.settle} days: median "
            f"{row['settle_ms']:.2f} ms, the first {row['first_day_ms']:.1f} ms)",
            flush=True,
        )
    cold0, warm0 = rows[0]["cold_ms"], rows[0]["warm_ms"]
    print(f"\n{args.per_day:,} events expire and {args.per_day:,} arrive each day.\n")
    print("| events in the window | one day, cold | vs smallest | one day, warm | vs smallest |")
    print("|---:|---:|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['events']:,} | {row['cold_ms']:.2f} ms | {row['cold_ms'] / cold0:.2f}x "
            f"| {row['warm_ms']:.2f} ms | {row['warm_ms'] / warm0:.2f}x |"
        )


if __name__ == "__main__":
    main()
