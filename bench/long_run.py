"""Two years and more of daily steps at national size: the typical day and the worst.

A day's step costs in proportion to the day's change (issue 3), but the event-id
index also carries state from day to day: whatever an expired or retracted
event leaves behind in it ages the typical day, and may force some day to
rebuild it (see "The typical day and the worst" in bench/README.md). This runs
a loaded national cohort (1,000,000 nominals, 20,000,000 events) through
``--days`` days of ``advance(D+1)`` + ``ingest_encoded(that day's events)``
and prints the median, the 99th percentile and the slowest days:

    python bench/long_run.py [--days 800] [--per-day 27000]

Each day's events are synthetic: new event ids, nominals drawn from the
cohort, kinds drawn from its events, all dated that day. Batches are built
before the timed loop; nothing runs between two steps.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import peers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=800)
    parser.add_argument("--per-day", type=int, default=27_000, help="events in, about as many out")
    parser.add_argument("--nominals", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=20_000_000)
    args = parser.parse_args()

    # the convenient case, as the runs in bench/README.md used it
    case = peers.make_case(
        args.nominals, args.events, extra_days=1, seed=2026, ascending_ids=True, codes="mix"
    )
    engine = case.loaded_engine()
    batches = case.synthetic_days(args.days, args.per_day)
    times = np.empty(args.days)
    for k, batch in enumerate(batches, start=1):
        start = time.perf_counter()
        engine.advance(case.day(k))
        engine.ingest_encoded(batch)
        times[k - 1] = time.perf_counter() - start
    ms = times * 1e3
    median = float(np.median(ms))
    print(
        f"{len(engine):,} events held after {args.days} days of {args.per_day:,} in: "
        f"median {median:.2f} ms a day, p99 {np.percentile(ms, 99):.2f} ms"
    )
    slow = np.flatnonzero(ms > 20 * median)
    print(
        f"days over 20x the median: {slow.size} "
        + ", ".join(f"day {int(k) + 1} ({ms[k]:.0f} ms)" for k in slow)
    )
    print(f"amortised over the run: {ms.mean():.2f} ms a day")


if __name__ == "__main__":
    main()
