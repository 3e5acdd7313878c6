"""The ODOC meeting pack (issue 26): every area's lists for a force cohort against a
full ``scores()`` plus ``forecast()`` in the same run, and the time per chart.

    python bench/pack_figures.py [--nominals 250000] [--events 2000000] [--rounds 5]
    python bench/pack_figures.py --small       # 20,000 nominals, 200,000 events
    python bench/pack_figures.py --profile     # and cProfile of one more build_packs

The force cohort is ``iomscore demo``'s: ``synth.cohort`` (250,000 nominals,
2,000,000 events up to D = 2026-11-26), ``synth.assessments`` and
``synth.interventions`` of it, every nominal owned by one of the seven areas
(``synth.ownership``, 3% transferred once in the last year). The engine is loaded
at D0 = D - 28 days (the previous meeting) with the events dated up to D0, takes
the owners, the assessments dated up to D0, the interventions and a year of ODOC
decisions (``synth.decisions`` of the scores at D0), then advances to D and
ingests the events dated after D0: the month between two meetings.

The figures (goal from issue 26):

(a) ``engine.scores()`` + ``engine.forecast()``, the whole force;
(b) ``build_packs(engine, D, D0, charts=False)``: the five lists of every area
    and of the unowned, reading the cohort once; goal (b)/(a) <= 2x;
(c) the charts: ``build_packs`` with charts minus (b), per nominal charted
    (the managed cohort and the new candidates of every area), and the SVG
    drawing of them; and each area's HTML page rendered (``Pack.html``).

(a) and (b) alternate in rounds (each goes first every other round); medians of
``--rounds`` (at least 5). The engine uses the default threads (two here).
"""

from __future__ import annotations

import argparse
import cProfile
import datetime
import gc
import io
import os
import pstats
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from bench_timing import head_commit, ms, timed  # noqa: E402

from iomscore import Engine, Weights, synth  # noqa: E402
from iomscore.pack import build_packs  # noqa: E402

MEETING = datetime.date(2026, 11, 26)
INTERVAL = 28
SMALL = {"nominals": 20_000, "events": 200_000}


# --------------------------------------------------------------------------------------------
# The cohort
# --------------------------------------------------------------------------------------------


def make_engine(args: argparse.Namespace, out: dict[str, Any]) -> Engine:
    """The engine at D, a month after the previous meeting D0 (see the module doc)."""
    d, d0 = MEETING, MEETING - datetime.timedelta(days=INTERVAL)
    cohort = synth.cohort(args.nominals, args.events, as_of=d, seed=args.seed)
    early = cohort.date <= np.datetime64(d0, "D")
    engine = Engine(Weights.default(), d0)
    engine.ingest(cohort.take(early))
    owners = synth.ownership(cohort, seed=args.seed)
    engine.record_owners(owners)
    assessed = synth.assessments(cohort, seed=args.seed, as_of=d0)
    engine.assess(assessed)
    interventions = synth.interventions(cohort, seed=args.seed)
    engine.record_interventions(interventions)
    decided = synth.decisions(engine.scores(), seed=args.seed)
    engine.decide(decided)
    engine.advance(d)
    engine.ingest(cohort.take(~early))
    out.update(
        events=len(cohort),
        events_after=int((~early).sum()),
        owners=len(owners["nominal_id"]),
        assessments=len(assessed["nominal_id"]),
        interventions=len(interventions["nominal_id"]),
        decisions=len(decided["nominal_id"]),
        selected=len(engine.selection()),
        areas=len(engine.areas),
    )
    return engine


def check_managed(engine: Engine, packs: dict) -> int:
    """The managed lists' interventions and assessments (read in bulk by the pack) equal
    the engine's per-nominal public reads; returns the rows checked (untimed)."""
    checked = 0
    for pack in packs.values():
        at = pack.managed.columns.index
        for row in pack.managed.rows():
            n = row[0]
            active = engine.interventions(n, active_on=pack.meeting)
            counting = [r[1:4] for r in engine.assessments(n).rows() if r[5] == "counting"]
            assert row[at("interventions")] == tuple(active.kind), n
            assert row[at("assessment_tools")] == tuple(r[0] for r in counting), n
            assert row[at("assessment_scores")] == tuple(r[1] for r in counting), n
            assert row[at("assessment_dates")] == tuple(r[2] for r in counting), n
            checked += 1
    return checked


# --------------------------------------------------------------------------------------------
# The figures
# --------------------------------------------------------------------------------------------


def figures(engine: Engine, args: argparse.Namespace, out: dict[str, Any]) -> None:
    d, d0 = engine.as_of, engine.as_of - datetime.timedelta(days=INTERVAL)

    def full() -> None:
        engine.scores()
        engine.forecast()

    def lists() -> dict:
        return build_packs(engine, d, d0, charts=False)

    full(), lists()  # warm: first reads build caches the rounds share
    a: list[float] = []
    b: list[float] = []
    for r in range(args.rounds):
        pair = [(full, a), (lists, b)]
        for run, times in pair if r % 2 == 0 else pair[::-1]:
            gc.collect()
            times.append(timed(run)[0])
    packs = lists()
    out["checked"] = check_managed(engine, packs)
    out["a_ms"], out["b_ms"] = ms(a), ms(b)
    out["a_best"], out["b_best"] = min(a) * 1e3, min(b) * 1e3
    out["ratio"] = out["b_ms"] / out["a_ms"]
    out["rounds"] = args.rounds
    out["lists"] = {
        name: sum(len(getattr(p, name)) for p in packs.values())
        for name in ("new_candidates", "risen_fallen", "deselection_candidates", "transfers")
    }
    out["managed"] = sum(len(p.managed) for p in packs.values())
    out["packs"] = len(packs)

    # (c) the charts: packs with charts, minus the lists alone, per nominal charted
    with_charts: list[float] = []
    svg: list[float] = []
    pages: list[float] = []
    charted = 0
    for _ in range(args.chart_rounds):
        gc.collect()
        seconds, drawn = timed(lambda: build_packs(engine, d, d0, charts=True))
        with_charts.append(seconds)
        charted = sum(len(p.charts) for p in drawn.values())
        every = [c for p in drawn.values() for c in p.charts.values()]
        svg.append(timed(lambda every=every: [c.svg() for c in every])[0])
        page = []
        for p in drawn.values():
            page.append(timed(p.html)[0])
        pages.append(float(np.median(page)))
        out["page_max_ms"] = max(page) * 1e3
        out["page_bytes"] = max(len(p.html()) for p in drawn.values())
    out["charted"] = charted
    out["charts_ms"] = ms(with_charts)
    out["per_chart_ms"] = (out["charts_ms"] - out["b_ms"]) / max(charted, 1)
    out["svg_ms"] = ms(svg) / max(charted, 1)
    out["page_ms"] = ms(pages)
    out["chart_rounds"] = args.chart_rounds

    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        lists()
        prof.disable()
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(25)
        out["profile"] = text.getvalue()


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


def _n(ms: float) -> str:
    return f"{ms:,.2f}" if ms < 1 else f"{ms:,.1f}" if ms < 10 else f"{ms:,.0f}"


def table(o: dict[str, Any]) -> str:
    lists = o["lists"]
    lines = ["| figure | value | detail | goal | met |", "|---|---:|---|---|---|"]
    lines.append(
        f"| (a) `scores()` + `forecast()`, the whole force | {_n(o['a_ms'])} ms | median of "
        f"{o['rounds']} (best {_n(o['a_best'])} ms) | – | – |"
    )
    lines.append(
        f"| (b) `build_packs(charts=False)`, every area and the unowned | {_n(o['b_ms'])} ms | "
        f"median of {o['rounds']} (best {_n(o['b_best'])} ms); {o['packs']} packs: "
        f"{lists['new_candidates']:,} new candidates, {lists['risen_fallen']:,} risen or "
        f"fallen, {lists['deselection_candidates']:,} de-selection candidates, "
        f"{lists['transfers']:,} transfer rows, {o['managed']:,} managed (their "
        f"interventions and assessments checked equal to the per-nominal reads) | – | – |"
    )
    lines.append(
        f"| (b) ÷ (a) | {o['ratio']:.2f}x | medians, alternating rounds | <= 2x | "
        f"{'met' if o['ratio'] <= 2 else '**not met**'} |"
    )
    lines.append(
        f"| (c) a nominal's chart | {_n(o['per_chart_ms'])} ms | (`build_packs` with charts, "
        f"median {_n(o['charts_ms'])} ms of {o['chart_rounds']}, minus (b)) ÷ "
        f"{o['charted']:,} charts (managed and new candidates); of which the SVG text "
        f"{_n(o['svg_ms'])} ms | – | – |"
    )
    lines.append(
        f"| (c) an area's HTML page (`Pack.html`, charts drawn) | {_n(o['page_ms'])} ms | "
        f"median over the {o['packs']} pages (slowest {_n(o['page_max_ms'])} ms; largest "
        f"{o['page_bytes'] / 2**20:,.1f} MiB) | – | – |"
    )
    return "\n".join(lines)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nominals", type=int, default=250_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of (a) and (b), >= 5")
    parser.add_argument("--chart-rounds", type=int, default=3, help="rounds of (c)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", action="store_true", help="cProfile one more (b)")
    parser.add_argument("--small", action="store_true", help="20,000 nominals, 200,000 events")
    args = parser.parse_args(argv)
    if args.small:
        for name, value in SMALL.items():
            setattr(args, name, value)
    args.rounds = max(args.rounds, 5)
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    load, commit = os.getloadavg(), head_commit()
    started = time.perf_counter()
    out: dict[str, Any] = {}
    engine = make_engine(args, out)
    built = time.perf_counter() - started
    figures(engine, args, out)
    command = " ".join(["python", "bench/pack_figures.py", *sys.argv[1:]])
    o = out
    print(
        f"\n`{command}`\n\n"
        f"{args.nominals:,} nominals, {o['events']:,} events ({o['events_after']:,} of them "
        f"after D0), owned by {o['areas']} areas ({o['owners']:,} ownership records); "
        f"{o['assessments']:,} assessments, {o['interventions']:,} interventions, "
        f"{o['decisions']:,} decisions of a year of meetings ({o['selected']:,} selected at D); "
        f"D0 {MEETING - datetime.timedelta(days=INTERVAL)}, D {MEETING}. Built in {built:.0f} s. "
        f"Commit {commit}, {time.perf_counter() - started:.0f} s, load average before "
        f"{load[0]:.2f}, after {os.getloadavg()[0]:.2f}.\n"
    )
    print(table(out))
    if "profile" in out:
        print("\ncProfile of one more build_packs(charts=False) (cumulative):\n")
        print(out["profile"])
    return out


if __name__ == "__main__":
    main()
