"""The core's five figures, each a ratio against its peer measured in the same run.

Every fast path in the compiled core is kept only while it holds one of these
(see "Kept fast paths" in bench/README.md)::

    python bench/core_figures.py [--nominals 1000000] [--events 20000000] [--days 60]

1. full rescore kernel (matrix @ points) against scipy CSR @ points: goal >= 3x;
2. a ten-code partial reweight (0.6% of the events) against a full reweight,
   each there and back: goal >= 50x;
3. bulk ingest of the national cohort into a new engine: goal >= 20M events/s
   (pre-encoded columns with ascending ids, the convenient row, and the same
   events with shuffled ids);
4. memory per buffered event: goal <= 32 bytes;
5. a national day's step (advance one day, ingest 27,000 events) against the
   floor of random reads no design avoids (``bench/day_floor.c``, compiled and
   run here, between the engine's days): goal <= 2x.

Each timing is the best (or, for the day, the median) of several rounds; rounds
of a figure and its peer alternate. Run from a checkout with the extension built
in place (``python setup.py build_ext --inplace``); ``PYTHONPATH=src`` is added.
"""

from __future__ import annotations

import argparse
import gc
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO / "src"), str(BENCH)]

import peers  # noqa: E402

from iomscore import Engine  # noqa: E402
from iomscore.batch import EncodedBatch  # noqa: E402


def _best(run, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def _ten_codes(case: peers.Case, share: float) -> list[int]:
    """Ten offence codes used by the cohort holding at most ``share`` of its events."""
    weights = case.weights
    offences = np.array([weights.offence_index(o) for o in case.full.offences])
    per_code = np.bincount(offences[case.events.offence_index], minlength=len(weights.offences))
    rng = np.random.default_rng(7)
    codes, held = [], 0
    for code in rng.permutation(np.flatnonzero(per_code)):
        if len(codes) < 10 and held + per_code[code] <= share * len(case.events):
            codes.append(int(code))
            held += int(per_code[code])
    return codes


def _floor_binary() -> Path | None:
    """``bench/day_floor.c`` compiled against the C units (None without a compiler)."""
    out = Path(tempfile.gettempdir()) / "iomscore_day_floor"
    sources = [str(BENCH / "day_floor.c"), *sorted(str(p) for p in (REPO / "csrc").glob("*.c"))]
    command = ["cc", "-O3", "-std=c11", "-D_GNU_SOURCE", "-I", str(REPO / "csrc"), *sources]
    try:
        subprocess.run([*command, "-o", str(out), "-lpthread"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"day_floor.c did not build: {exc}", file=sys.stderr)
        return None
    return out


def _floor_ms(binary: Path, threads: int) -> float:
    """The floor's warm median (ms), from one run of the program."""
    command = [str(binary), str(threads)]
    text = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    for line in text.splitlines():
        if "the day's floor" in line:
            return float(line.split()[-1]) / 1e3  # microseconds, warm column
    raise RuntimeError(f"day_floor printed no floor line:\n{text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nominals", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=20_000_000)
    parser.add_argument("--days", type=int, default=60, help="national days timed")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    case = peers.make_case(args.nominals, args.events, extra_days=1, seed=2026)
    weights = case.weights
    rows: list[tuple[str, str, str, str]] = []

    # 3. ingest: the convenient row (ascending ids, pre-encoded) and shuffled ids
    cohort = case.events
    batch = EncodedBatch(
        np.ascontiguousarray(cohort.event_id),
        np.ascontiguousarray(cohort.nominal_id),
        np.ascontiguousarray(case.kind[: len(cohort)]),
        ((cohort.date - np.datetime64("1970-01-01", "D")).astype(np.int32)),
        weights.layout,
    )
    shuffled = batch.take(np.random.default_rng(3).permutation(len(batch)))
    for label, b in (("ascending ids", batch), ("shuffled ids", shuffled)):

        def load(b=b) -> None:
            Engine(weights, case.as_of).ingest_encoded(b)
            gc.collect()

        seconds = _best(load, args.rounds)
        rate = len(b) / seconds / 1e6
        rows.append(
            (
                f"bulk ingest, pre-encoded, {label}",
                f"{rate:.1f} M events/s",
                f"{seconds * 1e3:.0f} ms",
                ">= 20 M/s",
            )
        )

    engine = case.loaded_engine()
    memory = engine.memory()
    rows.append(
        (
            "memory per buffered event",
            f"{memory['bytes_per_event']:.1f} bytes",
            f"{memory['live_events']:,} events",
            "<= 32",
        )
    )

    # 1. the full rescore kernel against scipy
    matrix = engine.matrix()
    sp = matrix.to_scipy()
    points = case.reweight_full.points
    kernel_s = np.empty(0)
    scipy_s = np.empty(0)
    full_scores = engine._full_scores  # the kernel reweight runs (matrix cached)
    expected = sp @ points
    assert np.array_equal(full_scores(points), expected)
    for _ in range(args.rounds * 3):
        kernel_s = np.append(kernel_s, _best(lambda: full_scores(points), 1))
        scipy_s = np.append(scipy_s, _best(lambda: sp @ points, 1))
    rows.append(
        (
            "full rescore kernel vs scipy CSR @ points",
            f"{np.min(scipy_s) / np.min(kernel_s):.1f}x",
            f"{np.min(kernel_s) * 1e3:.2f} ms vs {np.min(scipy_s) * 1e3:.2f} ms",
            ">= 3x",
        )
    )

    # 2. partial against full reweight, there and back
    used = [o for o in range(len(weights.offences))]
    everything = weights.replace(
        {
            (d, weights.offences[k]): weights.get(d, weights.offences[k]) + 1
            for d in weights.datasets
            for k in used
        },
        name="all",
    )
    ten = _ten_codes(case, 0.006)
    partial = weights.replace(
        {
            (d, weights.offences[k]): weights.get(d, weights.offences[k]) + 5
            for d in weights.datasets
            for k in ten
        },
        name="ten",
    )

    def there_and_back(table) -> None:
        engine.reweight(table)
        engine.reweight(weights)

    there_and_back(partial)  # the CSC is built on first use
    full_t = _best(lambda: there_and_back(everything), args.rounds)
    part_t = _best(lambda: there_and_back(partial), args.rounds)
    rows.append(
        (
            "ten-code partial reweight vs full reweight",
            f"{full_t / part_t:.0f}x",
            f"{part_t * 1e3:.2f} ms vs {full_t * 1e3:.1f} ms",
            ">= 50x",
        )
    )
    assert engine.history[-2].mode == "partial", engine.history[-2]

    # 5. a national day against the floor, alternating
    del engine
    gc.collect()
    engine = case.loaded_engine()
    batches = case.synthetic_days(args.days, 27_000)
    binary = _floor_binary()
    day_ms, floors = [], []
    for k, b in enumerate(batches, start=1):
        start = time.perf_counter()
        engine.advance(case.day(k))
        engine.ingest_encoded(b)
        day_ms.append((time.perf_counter() - start) * 1e3)
        if binary is not None and k % max(1, args.days // 4) == 0:
            floors.append(_floor_ms(binary, engine.threads))
    day = float(np.median(day_ms))
    if floors:
        floor = float(np.median(floors))
        rows.append(
            (
                "a national day's step vs the floor",
                f"{day / floor:.2f}x",
                f"{day:.2f} ms vs {floor:.2f} ms (warm)",
                "<= 2x",
            )
        )
    else:
        rows.append(("a national day's step", f"{day:.2f} ms", "no floor", "<= 2x"))

    print(
        f"| figure ({args.nominals:,} nominals, {args.events:,} events) | value | detail | goal |"
    )
    print("|---|---:|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
