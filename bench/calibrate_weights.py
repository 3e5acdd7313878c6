"""Calibration of the default table's scale on the demo cohort.

Derives the default table at several ``base_points`` (all else as in
priorities.toml), scores the synthetic force cohort of ``iomscore demo``
(250,000 nominals, ~2,000,000 events, seed 0) and prints the bands.

    python bench/calibrate_weights.py [--base 2.0 1.75 1.5]
"""

from __future__ import annotations

import argparse
import dataclasses

from iomscore import Engine, derive, synth
from iomscore.weights import shipped_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=float, nargs="+", default=[3.0, 2.0, 1.75, 1.5])
    args = parser.parse_args()
    catalogue = derive.load_catalogue()
    priorities = derive.load_priorities(shipped_file("priorities.toml"))
    cohort = synth.cohort(250_000, 2_000_000, seed=0)
    print("| base_points | LOW | MEDIUM | HIGH | banded | share of cohort |")
    print("|---:|---:|---:|---:|---:|---:|")
    for base in args.base:
        table = derive.derive_weights(
            catalogue,
            shipped_file("ons_crime_severity_weights.csv"),
            dataclasses.replace(priorities, base_points=base),
        )
        engine = Engine(table, cohort.as_of)
        engine.ingest(cohort)
        bands = engine.scores().band_counts()
        banded = bands["LOW"] + bands["MEDIUM"] + bands["HIGH"]
        print(
            f"| {base:g} | {bands['LOW']:,} | {bands['MEDIUM']:,} | {bands['HIGH']:,} "
            f"| {banded:,} | {banded / 250_000:.1%} |"
        )


if __name__ == "__main__":
    main()
