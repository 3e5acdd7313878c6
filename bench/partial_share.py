"""Partial against full reweight as the changed codes' reach grows.

Changes the points of ten offence codes (in every dataset) chosen at random
among those the national cohort uses, holding at most 5%, 1% and 0.6% of its
events, and times ``Engine.reweight`` there and back against a full reweight
(every used code changed), with each inner loop of the partial rescore this
CPU runs (``avx512``, ``plain``):

    python bench/partial_share.py

The matrix is built once beforehand (it is cached until the events change).
"""

from __future__ import annotations

import time

import numpy as np

from iomscore import Engine, Weights, synth
from iomscore._core import add_kernels


def _best(run, rounds: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return min(times), result


def main() -> None:
    cohort = synth.cohort(1_000_000, 20_000_000)
    weights = Weights.default()
    engine = Engine(weights, cohort.as_of)
    engine.ingest(cohort)
    engine.matrix()
    offences = np.array([weights.offence_index(o) for o in cohort.offences])
    per_code = np.bincount(offences[cohort.offence_index], minlength=len(weights.offences))
    used = np.flatnonzero(per_code)
    rng = np.random.default_rng(7)

    def changed(codes: list[int], step: int, name: str) -> Weights:
        return weights.replace(
            {
                (d, weights.offences[k]): weights.get(d, weights.offences[k]) + step
                for d in weights.datasets
                for k in codes
            },
            name=name,
        )

    def there_and_back(table: Weights):
        report = engine.reweight(table)
        engine.reweight(weights)
        return report

    everything = changed(list(used), 1, "all")  # built outside the timing, like the others
    full_s, report = _best(lambda: there_and_back(everything), 5)
    print(f"full ({report.mode}), there and back: {full_s * 1e3:.1f} ms")
    tables = []
    for limit in (0.05, 0.01, 0.006):
        codes, held = [], 0
        for code in rng.permutation(used):
            if len(codes) < 10 and held + per_code[code] <= limit * len(cohort):
                codes.append(int(code))
                held += int(per_code[code])
        tables.append((held, changed(codes, 5, f"ten codes <= {limit:.1%}")))
    for kernel in add_kernels():
        engine._store.add_kernel = kernel
        for held, table in tables:
            part_s, report = _best(lambda t=table: there_and_back(t), 5)
            print(
                f"10 codes holding {held / len(cohort):.2%} of the events: {report.mode} "
                f"({kernel}), {part_s * 1e3:.2f} ms there and back; "
                f"full / partial = {full_s / part_s:.1f}x"
            )


if __name__ == "__main__":
    main()
