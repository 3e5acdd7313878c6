"""ASSET and OASys assessments (rule 10, issue 24): the rate a national cohort's
assessments go in, against DuckDB, and the day's step with them held, in one run.

    python bench/assessment_figures.py [--nominals 1000000] [--events 20000000] [--days 30]
    python bench/assessment_figures.py --small       # 50,000 / 1,000,000 / 10 days
    python bench/assessment_figures.py --profile     # and cProfile of one more assess

A national cohort (``peers.make_case``) is made as ``history_figures.py`` makes it:
the rows inside the window at as_of, pre-encoded, event ids permuted across the
rows (an export's ids in no particular order), and the assessments' rows too,
unless ``--ascending-ids``. The
cohort's assessments are ``iomscore.synth.assessments`` of the same events (the
Cohort the engines are loaded from; dated in the 730 days up to as_of), written to
Parquet by pyarrow and read back: the Arrow table a police export gives, ``tool``
plain strings, ``date`` a date32 column, in row groups.

The figures (goals from issue 24):

1. ``Engine.assess`` of the whole Arrow table into an engine holding the cohort's
   events (every nominal assessed is already held): >= 5M assessments a second.
   Each round assesses into a new engine loaded from the same pre-encoded batch
   (the load untimed), so every round is the cohort's first assessment, into an
   engine holding none; the table gives the best and the median round. In the
   same rounds, alternating, DuckDB computes the same per-nominal result from the
   same Arrow table (registered, not copied): for each nominal and tool, the
   latest assessment by (date, assessment_id) dated in the window (``arg_max``
   over the pair packed in one BIGINT when the ids fit in 32 bits, as here), its
   points by the assessment table's ranges (a join on ``low <= score <= high``),
   summed by nominal. Its result is checked equal to the points the engine added (its
   scores with the assessments minus an engine's without them) before anything
   is timed. No goal; the ratio is DuckDB's time over the engine's.
2. a national day's step (advance one day, ingest that day's pre-encoded events,
   ``Case.synthetic_days``) on engine A, holding the assessments (the last
   round's), and on engine B, the same events without them (loaded just after
   A's round), days interleaved (each goes first every other
   day): A's median within 10% of B's (<= 1.10x). After the days, A's scores
   minus B's are checked against DuckDB's result at the new as_of again (the
   assessments that left the window, expired in the steps, no longer count).

Both engines use the default threads (two on this machine).
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
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO / "src"), str(BENCH)]

import peers  # noqa: E402
from bench_timing import head_commit, ms, timed  # noqa: E402

from iomscore import Engine  # noqa: E402
from iomscore.assessments import AssessmentTable  # noqa: E402
from iomscore.batch import EncodedBatch  # noqa: E402
from iomscore.calendar import window_start  # noqa: E402
from iomscore.synth import assessments  # noqa: E402

SMALL = {"nominals": 50_000, "events": 1_000_000, "days": 10}


# --------------------------------------------------------------------------------------------
# The assessments, as read from a police export's Parquet
# --------------------------------------------------------------------------------------------


def export_table(columns: dict[str, np.ndarray]):
    """The synthetic columns written to Parquet and read back as an Arrow table:
    int64 ids and scores, ``tool`` a plain string column, ``date`` date32."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "assessment_id": pa.array(columns["assessment_id"], pa.int64()),
            "nominal_id": pa.array(columns["nominal_id"], pa.int64()),
            "tool": pa.array(columns["tool"].tolist(), pa.string()),
            "score": pa.array(columns["score"], pa.int64()),
            "date": pa.array(columns["date"], pa.date32()),
        }
    )
    with tempfile.TemporaryDirectory(prefix="iomscore-assess-") as where:
        path = os.path.join(where, "assessments.parquet")
        pq.write_table(table, path)
        read = pq.read_table(path)
    assert read.equals(table)
    return read


# --------------------------------------------------------------------------------------------
# The peer
# --------------------------------------------------------------------------------------------

POINTS_SQL = """
WITH latest AS (  -- the one counting of each (nominal, tool): the latest in the window
    SELECT nominal_id, tool, arg_max(score, {latest}) AS score
    FROM {source}
    WHERE date > DATE '{lo}' AND date <= DATE '{hi}'
    GROUP BY nominal_id, tool
)
SELECT l.nominal_id, sum(r.points)::BIGINT AS points
FROM latest l JOIN ranges r ON l.tool = r.tool AND l.score BETWEEN r.low AND r.high
GROUP BY l.nominal_id
"""


class DuckPoints:
    """DuckDB's rule 10 over the Arrow table: points added per nominal at ``as_of``."""

    def __init__(self, table, ranges: AssessmentTable, *, own_table: bool = False) -> None:
        import duckdb
        import pyarrow as pa
        import pyarrow.compute as pc

        self.con = duckdb.connect()
        self.con.register("export", table)  # a view of the Arrow table, no copy
        source = "export"
        if own_table:  # loaded into DuckDB's own storage first (untimed): its best case
            self.con.execute("CREATE TABLE a AS SELECT * FROM export")
            source = "a"
        self.con.register(
            "ranges_arrow",
            pa.table(
                {
                    "tool": [ranges.tools[t] for t in ranges.tool.tolist()],
                    "low": ranges.low,
                    "high": ranges.high,
                    "points": ranges.points,
                }
            ),
        )
        self.con.execute("CREATE TABLE ranges AS SELECT * FROM ranges_arrow")
        self.source = source
        # (date, assessment_id) as one BIGINT where the ids fit in 32 bits: 1.7-1.9x
        # faster than the pair as a struct (the same order; checked here, untimed)
        ids = table["assessment_id"]
        small = pc.min(ids).as_py() >= 0 and pc.max(ids).as_py() < 2**32
        self.latest = (
            "(date - DATE '1970-01-01')::BIGINT * 4294967296 + assessment_id"
            if small
            else "(date, assessment_id)"
        )

    def __call__(self, as_of: datetime.date) -> dict[str, np.ndarray]:
        sql = POINTS_SQL.format(
            source=self.source, latest=self.latest, lo=window_start(as_of, 2), hi=as_of
        )
        return self.con.execute(sql).fetchnumpy()


def added_points(with_: Any, without: Any) -> tuple[np.ndarray, np.ndarray]:
    """(nominal_id, points) where two engines' scores differ, by nominal_id: the points
    the assessments add (a nominal absent from a ScoreTable scores 0 there)."""
    ids = np.union1d(with_.nominal_id, without.nominal_id)
    a = np.zeros(ids.size, np.int64)
    b = np.zeros(ids.size, np.int64)
    a[np.searchsorted(ids, with_.nominal_id)] = with_.score
    b[np.searchsorted(ids, without.nominal_id)] = without.score
    moved = a != b
    return ids[moved], (a - b)[moved]


def check_peer(peer: dict[str, np.ndarray], engine_with: Any, engine_without: Any) -> int:
    """The peer's per-nominal points equal the engine's added points; every nominal
    the peer counts is in the engine's table. Returns the peer's row count."""
    ids, pts = added_points(engine_with, engine_without)
    p_ids = np.asarray(peer["nominal_id"], np.int64)
    p_pts = np.asarray(peer["points"], np.int64)
    order = np.argsort(p_ids)
    p_ids, p_pts = p_ids[order], p_pts[order]
    nonzero = p_pts != 0
    assert np.array_equal(p_ids[nonzero], ids), "the nominals whose score moved differ"
    assert np.array_equal(p_pts[nonzero], pts), "the points added differ"
    assert np.isin(p_ids, engine_with.nominal_id).all(), "a counting nominal has no row"
    return int(p_ids.size)


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


class Run:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        # the convenient case as generated (its figures' runs used it): ids are permuted
        # below unless --ascending-ids
        self.case = case = peers.make_case(
            args.nominals, args.events, extra_days=1, seed=2026, ascending_ids=True, codes="mix"
        )
        inside = case.events.date > np.datetime64(window_start(case.as_of, 2), "D")
        events = case.events.take(np.flatnonzero(inside))
        ids = np.ascontiguousarray(events.event_id)
        if not args.ascending_ids:
            ids = np.random.default_rng(3).permutation(ids)
        self.batch = EncodedBatch(
            ids,
            np.ascontiguousarray(events.nominal_id),
            np.ascontiguousarray(case.kind[: len(case.events)][inside]),
            (events.date - np.datetime64("1970-01-01", "D")).astype(np.int32),
            case.weights.layout,
        )
        columns = assessments(events, seed=args.seed, as_of=case.as_of)
        if not args.ascending_ids:  # an export's rows, and so its ids, in no particular order
            order = np.random.default_rng(4).permutation(len(columns["assessment_id"]))
            columns = {name: np.asarray(values)[order] for name, values in columns.items()}
        self.table = export_table(columns)
        self.days = case.synthetic_days(args.days, args.per_day)
        o = self.out = {}
        o["assessments"] = self.table.num_rows
        o["assessed_nominals"] = int(np.unique(columns["nominal_id"]).size)
        o["held_nominals"] = int(np.unique(self.batch.nominal_id).size)
        o["oasys"] = int((columns["tool"] == "oasys").sum())
        o["row_groups"] = self.table["tool"].num_chunks
        o["loaded_events"] = len(self.batch)

    def engine(self) -> Engine:
        engine = Engine(self.case.weights, self.case.as_of)
        engine.ingest_encoded(self.batch)
        return engine

    # -- 1: assess, and DuckDB --------------------------------------------------------
    def assess(self, bare: Engine) -> Engine:
        """Rounds of a new engine taking the table, DuckDB alternating; returns the
        last round's engine (holding the assessments)."""
        args, o, table = self.args, self.out, self.table
        as_of = self.case.as_of
        without = bare.scores()
        duck = DuckPoints(table, bare.assessment_table)
        duck_own = DuckPoints(table, bare.assessment_table, own_table=True)
        ours: list[float] = []
        theirs: list[float] = []
        own: list[float] = []
        retract: list[float] = []
        engine: Engine | None = None
        for r in range(args.rounds):
            if engine is not None:  # the previous round's engine: time a retract of all, drop it
                ids = np.asarray(table["assessment_id"])
                retract.append(timed(lambda e=engine, ids=ids: e.retract_assessments(ids))[0])
                after = engine.scores()
                assert np.array_equal(after.nominal_id, without.nominal_id)
                assert np.array_equal(after.score, without.score)
                del engine
            gc.collect()
            engine = self.engine()
            gc.collect()
            seconds, report = timed(lambda e=engine: e.assess(table))
            ours.append(seconds)
            assert report.taken == table.num_rows, report
            if r == 0:  # check both peers' results before timing them
                with_ = engine.scores()
                o["counting_nominals"] = check_peer(duck(as_of), with_, without)
                check_peer(duck_own(as_of), with_, without)
                o["band_changes"] = len(report.changes)
            gc.collect()
            theirs.append(timed(lambda: duck(as_of))[0])
            own.append(timed(lambda: duck_own(as_of))[0])
        assert engine is not None
        n = table.num_rows
        o["assess_best_ms"], o["assess_ms"] = min(ours) * 1e3, ms(ours)
        o["assess_rate"] = n / min(ours) / 1e6
        o["assess_rate_median"] = n / float(np.median(ours)) / 1e6
        o["assess_rounds"] = len(ours)
        o["duckdb_ms"], o["duckdb_best_ms"] = ms(theirs), min(theirs) * 1e3
        o["duckdb_own_ms"] = ms(own)
        o["duckdb"] = o["duckdb_ms"] / o["assess_ms"]
        o["retract_ms"] = ms(retract) if retract else float("nan")
        self.duck = duck
        return engine

    # -- 2: the day, with the assessments and without -----------------------------------
    def days_(self, held: Engine, bare: Engine) -> None:
        o = self.out
        a_s: list[float] = []
        b_s: list[float] = []
        gc.collect()
        for k in range(1, self.args.days + 1):
            date, batch = self.case.day(k), self.days[k - 1]
            pair = [(held, a_s), (bare, b_s)]
            for engine, times in pair if k % 2 else pair[::-1]:
                start = time.perf_counter()
                engine.advance(date)
                engine.ingest_encoded(batch)
                times.append(time.perf_counter() - start)
        # the assessments still counting at the new as_of, as DuckDB finds them
        o["counting_after"] = check_peer(self.duck(held.as_of), held.scores(), bare.scores())
        o["as_of"] = held.as_of
        for name, times in (("a", a_s), ("b", b_s)):
            o[f"day_{name}_ms"] = ms(times)
            o[f"day_{name}_p90"] = ms(times, 90)
            o[f"day_{name}_max"] = max(times) * 1e3
        o["day"] = o["day_a_ms"] / o["day_b_ms"]
        o["day_p90"] = o["day_a_p90"] / o["day_b_p90"]

    def profile(self) -> str:
        """cProfile of one more assess into a new engine (not in the figures)."""
        engine = self.engine()
        gc.collect()
        prof = cProfile.Profile()
        prof.enable()
        engine.assess(self.table)
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(18)
        return out.getvalue()

    def all(self) -> dict[str, Any]:
        bare = self.engine()
        held = self.assess(bare)
        # B loaded again beside A, so that both engines of the days are loads made
        # one after the other (the first B, loaded before the rounds, is dropped)
        del bare
        gc.collect()
        bare = self.engine()
        self.days_(held, bare)
        if self.args.profile:
            del held, bare
            gc.collect()
            self.out["profile"] = self.profile()
        return self.out


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


def _n(ms: float) -> str:
    return f"{ms:,.1f}" if ms < 10 else f"{ms:,.0f}"


def _met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def table(o: dict[str, Any]) -> str:
    lines = ["| figure | value | detail | goal | met |", "|---|---:|---|---|---|"]
    lines.append(
        f"| assess of the cohort's assessments into a loaded engine | "
        f"{o['assess_rate']:.1f} M/s | best of {o['assess_rounds']} rounds, "
        f"{_n(o['assess_best_ms'])} ms (median {_n(o['assess_ms'])} ms, "
        f"{o['assess_rate_median']:.1f} M/s) for {o['assessments']:,} assessments of "
        f"{o['assessed_nominals']:,} nominals; {o['band_changes']:,} band changes | "
        f">= 5 M/s | {_met(o['assess_rate'] >= 5)} |"
    )
    lines.append(
        f"| assess vs DuckDB over the same Arrow table (DuckDB's time ÷ the engine's) | "
        f"{o['duckdb']:.2f}x | {_n(o['assess_ms'])} ms vs {_n(o['duckdb_ms'])} ms (medians; "
        f"DuckDB best {_n(o['duckdb_best_ms'])} ms, on its own table loaded untimed "
        f"{_n(o['duckdb_own_ms'])} ms); {o['counting_nominals']:,} nominals with a counting "
        f"assessment, equal | – | – |"
    )
    lines.append(
        f"| a national day's step, with the assessments vs without | {o['day']:.2f}x | "
        f"{o['day_a_ms']:.2f} ms vs {o['day_b_ms']:.2f} ms (medians; p90 "
        f"{o['day_a_p90']:.2f} vs {o['day_b_p90']:.2f}, {o['day_p90']:.2f}x; slowest "
        f"{o['day_a_max']:.1f} vs {o['day_b_max']:.1f}) | <= 1.10x | {_met(o['day'] <= 1.10)} |"
    )
    if o["retract_ms"] == o["retract_ms"]:  # not NaN: there were two rounds or more
        lines.append(
            f"| retract_assessments of every id | {_n(o['retract_ms'])} ms | median of "
            f"{o['assess_rounds'] - 1}; the scores then equal the engine's without | – | – |"
        )
    return "\n".join(lines)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nominals", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=20_000_000)
    parser.add_argument("--days", type=int, default=30, help="days stepped on each engine")
    parser.add_argument(
        "--per-day", type=int, default=None, help="events a day (default: 27,000 per 20M events)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="rounds of assess and DuckDB")
    parser.add_argument("--seed", type=int, default=0, help="seed of synth.assessments")
    parser.add_argument("--ascending-ids", action="store_true", help="load ids as generated")
    parser.add_argument("--profile", action="store_true", help="cProfile one more assess")
    parser.add_argument("--small", action="store_true", help="50,000 / 1,000,000 / 10 days")
    args = parser.parse_args(argv)
    if args.small:
        for name, value in SMALL.items():
            setattr(args, name, value)
    if args.per_day is None:
        args.per_day = max(1, round(args.events * 27_000 / 20_000_000))
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    load, commit = os.getloadavg(), head_commit()
    started = time.perf_counter()
    figures = Run(args).all()
    ids = "ascending, as generated" if args.ascending_ids else "permuted: no particular order"
    command = " ".join(["python", "bench/assessment_figures.py", *sys.argv[1:]])
    f = figures
    print(
        f"\n`{command}`\n\n"
        f"{args.nominals:,} nominals, {f['loaded_events']:,} events loaded at {peers.AS_OF} "
        f"(event ids {ids}; {f['held_nominals']:,} nominals held); {f['assessments']:,} "
        f"assessments ({f['oasys']:,} OASys, {f['assessments'] - f['oasys']:,} ASSET) of "
        f"{f['assessed_nominals']:,} nominals, read from Parquet ({f['row_groups']} row "
        f"groups); then {args.days} days of {args.per_day:,} events on each engine: as_of "
        f"{f['as_of']}, {f['counting_after']:,} nominals with a counting assessment. "
        f"Commit {commit}, {time.perf_counter() - started:.0f} s, load average before "
        f"{load[0]:.2f}, after {os.getloadavg()[0]:.2f}.\n"
    )
    print(table(figures))
    if "profile" in figures:
        print("\ncProfile of one more assess (by own time):\n")
        print(figures["profile"])
    return figures


if __name__ == "__main__":
    main()
