"""Does one day's step cost the same on a cohort ten times smaller or larger?

Issue 3 asks that advancing one day (expiring one day's events and taking one
day's new ones) cost in proportion to the change, not to the cohort. This
holds the change fixed (the days that expire during the run and the days that
arrive are both subsampled to the same number of events) and grows the cohort
10x and 100x, one fresh process per size:

    python bench/advance_scaling.py [--per-day 2700] [--sizes 2e6 2e7 2e8]

It prints the median over 20 days of advance(D+1) + ingest(that day's events)
for each cohort size, and the ratio to the smallest.
"""

from __future__ import annotations

import argparse
import datetime
import json
import subprocess
import sys
import time


def worker(n_events: int, per_day: int, days: int) -> dict[str, float]:
    import numpy as np

    from iomscore import Engine, Weights, synth
    from iomscore.batch import encode_events
    from iomscore.calendar import window_start

    weights = Weights.default()
    as_of = datetime.date(2026, 11, 26)
    extra = days + 1
    total = n_events * (731 + extra) // 731
    cohort = synth.cohort(
        max(n_events // 20, 1000),
        total,
        span_days=731 + extra,
        as_of=as_of + datetime.timedelta(days=extra),
        seed=1,
    )
    batch = encode_events(cohort, weights)
    day0 = (np.datetime64(as_of) - np.datetime64("1970-01-01")).astype(int)
    start0 = (np.datetime64(window_start(as_of)) - np.datetime64("1970-01-01")).astype(int)
    rng = np.random.default_rng(0)
    # The days that will expire during the run hold `per_day` events each, like
    # the days that arrive: the change is the same whatever the cohort's size.
    keep = np.ones(len(batch), dtype=bool)
    for d in range(start0 + 1, start0 + days + 3):
        on_day = np.flatnonzero(batch.day == d)
        keep[on_day] = False
        keep[rng.choice(on_day, size=min(per_day, on_day.size), replace=False)] = True
    batch = batch.take(np.flatnonzero(keep))
    engine = Engine(weights, as_of)
    engine.ingest_encoded(batch.take(np.flatnonzero(batch.day <= day0)))
    times = []
    for k in range(1, days + 1):
        today = np.flatnonzero(batch.day == day0 + k)
        today = np.sort(rng.choice(today, size=min(per_day, today.size), replace=False))
        start = time.perf_counter()
        engine.advance(as_of + datetime.timedelta(days=k))
        engine.ingest_encoded(batch.take(today))
        times.append(time.perf_counter() - start)
    return {
        "events": len(engine),
        "median_ms": float(np.median(times[1:]) * 1e3),  # day 1 pays one-off growth
        "first_day_ms": times[0] * 1e3,
        "expired_per_day": per_day,
        "taken_per_day": per_day,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-day", type=int, default=2_700)
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument("--sizes", type=float, nargs="+", default=[2e6, 2e7, 2e8])
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.per_day, args.days)))
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
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        rows.append(json.loads(run.stdout.strip().splitlines()[-1]))
        print(
            f"{rows[-1]['events']:>12,} events: {rows[-1]['median_ms']:.2f} ms a day "
            f"(first day {rows[-1]['first_day_ms']:.1f} ms)",
            flush=True,
        )
    base = rows[0]["median_ms"]
    print("\n| events in the window | one day (median) | vs smallest |")
    print("|---:|---:|---:|")
    for row in rows:
        print(f"| {row['events']:,} | {row['median_ms']:.2f} ms | {row['median_ms'] / base:.2f}x |")


if __name__ == "__main__":
    main()
