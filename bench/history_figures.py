"""Explain, forecast, the archive's day, past scores and timelines (issue 22): each
figure a ratio against its peer measured in the same run.

    python bench/history_figures.py [--nominals 1000000] [--events 20000000] [--days 365]
    python bench/history_figures.py --small          # 50,000 / 1,000,000 / 30 days

A national cohort (``peers.make_case``) is loaded into two engines, one keeping
the archive (``history_years=2``) and one not (``history_years=0``); both then
advance ``--days`` days, each day ingesting a synthetic day of ``--per-day``
events (``Case.synthetic_days``), so the archive holds about a year of events
that left the window. The cohort is made with ascending event ids and the synthetic
mix's 109 codes (``make_case``'s convenient case, which the recorded runs used);
the ids are permuted across the loaded rows (an export's ids in no particular
order) unless ``--ascending-ids``. The days' events are pre-encoded, in both engines.

The figures (goals from issue 22):

1. ``explain`` of one nominal against a numpy scan of the in-window event
   columns for that id (``np.flatnonzero(nominal_id == n)``, then its rows
   gathered, given points and expiry, and sorted): >= 1000x (median per call).
   The first explain (which builds the lookup by nominal) and the explain after
   a day's step are reported apart.
2. the cohort ``forecast()`` against DuckDB computing the same table from the
   same live events (a DuckDB table of nominal_id, points, expiry; the query is
   timed, its result fetched as numpy): >= 2x. Polars too, when installed.
3. a national day's step (advance one day, ingest its events) with the archive
   against without, days interleaved between the two engines: <= 1.3x (median).
4. ``scores_at(T)``, T ``--back`` days before as_of, against a new engine
   ingesting that window's events (pre-encoded) and returning ``scores()``:
   no slower (>= 1x).
5. ``timeline`` of one nominal over two years (median per call; no goal), and
   memory: bytes per buffered event (<= 32), per archived event (<= 16).

Every peer's result is checked equal to the engine's before it is timed.
Engine and peer alternate in rounds; the table gives medians.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path[:0] = [str(REPO / "src"), str(BENCH)]

import peers  # noqa: E402
from bench_timing import head_commit, ms, timed  # noqa: E402

from iomscore import Engine  # noqa: E402
from iomscore.batch import EncodedBatch  # noqa: E402
from iomscore.calendar import day_number, expiry, from_day_number, window_start  # noqa: E402
from iomscore.explanation import Explanation  # noqa: E402

SMALL = {"nominals": 50_000, "events": 1_000_000, "days": 30}


def _concat(batches: Sequence[EncodedBatch]) -> EncodedBatch:
    return EncodedBatch(
        np.concatenate([b.event_id for b in batches]),
        np.concatenate([b.nominal_id for b in batches]),
        np.concatenate([b.kind for b in batches]),
        np.concatenate([b.day for b in batches]),
        batches[0].layout,
    )


class Events:
    """Every event either engine was given, as the numpy columns a user would hold."""

    def __init__(self, batches: Sequence[EncodedBatch], points: np.ndarray, years: int) -> None:
        every = _concat(batches)
        self.event_id, self.nominal_id = every.event_id, every.nominal_id
        self.kind, self.day, self.layout = every.kind, every.day, every.layout
        self.points = points
        self.years = years
        first = int(self.day.min())
        self._first = first
        # rule 7 per distinct date, then looked up by day (not timed)
        self._expiry = np.array(
            [
                day_number(expiry(from_day_number(d), years))
                for d in range(first, int(self.day.max()) + 1)
            ],
            dtype=np.int32,
        )

    def expiry_of(self, day: np.ndarray) -> np.ndarray:
        return self._expiry[day - self._first]

    def window(self, as_of: datetime.date) -> EncodedBatch:
        """The events dated in ``as_of``'s window, in the order given (a copy)."""
        lo, hi = day_number(window_start(as_of, self.years)), day_number(as_of)
        rows = np.flatnonzero((self.day > lo) & (self.day <= hi))
        return EncodedBatch(
            self.event_id[rows],
            self.nominal_id[rows],
            self.kind[rows],
            self.day[rows],
            self.layout,
        )


# --------------------------------------------------------------------------------------------
# The peers
# --------------------------------------------------------------------------------------------


def numpy_explain(cols: EncodedBatch, points: np.ndarray, events: Events, n: int):
    """The user's explain: scan the nominal column, gather the rows, points, expiry, sort."""
    rows = np.flatnonzero(cols.nominal_id == n)
    ids, kinds, days = cols.event_id[rows], cols.kind[rows], cols.day[rows]
    order = np.lexsort((ids, days))
    ids, kinds, days = ids[order], kinds[order], days[order]
    return ids, days, points[kinds], events.expiry_of(days)


def result_floor(engine: Engine, made: Explanation) -> Explanation:
    """The floor of any explain in Python: a call that takes the engine's read lock,
    looks the nominal up and returns the same table, its arrays made afresh (as
    explain's are), with no search for the nominal's events at all."""
    with engine._lock.read():
        engine._store.find_nominal(made.nominal_id)
        k = len(made)
        return Explanation(
            nominal_id=made.nominal_id,
            as_of=made.as_of,
            score=made.score,
            band=made.band,
            weights_name=made.weights_name,
            weights_sha256=made.weights_sha256,
            datasets=made.datasets,
            event_id=np.empty(k, np.int64),
            dataset=np.empty(k, object),
            offence=np.empty(k, object),
            description=np.empty(k, object),
            date=np.empty(k, "datetime64[D]"),
            points=np.empty(k, np.int64),
            expires=np.empty(k, "datetime64[D]"),
        )


def numpy_timeline(events: Events, points: np.ndarray, n: int, t0: int, t1: int):
    """The user's timeline: scan the nominal column of every retained event, then
    step the score at each date an event starts or stops counting (rules 3, 7)."""
    rows = np.flatnonzero(events.nominal_id == n)
    days = events.day[rows].astype(np.int64)
    pts, ends = points[events.kind[rows]], events.expiry_of(days).astype(np.int64)
    score = int(pts[(days <= t0) & (ends > t0)].sum())
    edges, deltas = np.concatenate((days, ends)), np.concatenate((pts, -pts))
    inside = (edges > t0) & (edges <= t1)
    dates, group = np.unique(edges[inside], return_inverse=True)
    net = np.zeros(dates.size, np.int64)
    np.add.at(net, group, deltas[inside])
    moved = net != 0
    return np.concatenate(([t0], dates[moved])), score + np.cumsum(
        np.concatenate(([0], net[moved]))
    )


FORECAST_SQL = """
WITH s AS (  -- the nominals banded now, with their scores
    SELECT nominal_id, sum(points) AS score FROM ev
    GROUP BY nominal_id HAVING sum(points) >= {t0}
), g AS (  -- their points by expiry date
    SELECT nominal_id, expiry, sum(points) AS pts
    FROM ev SEMI JOIN s USING (nominal_id) GROUP BY nominal_id, expiry
), r AS (  -- the score left after each expiry
    SELECT g.nominal_id, g.expiry, s.score,
        s.score - sum(g.pts) OVER (
            PARTITION BY g.nominal_id ORDER BY g.expiry ROWS UNBOUNDED PRECEDING
        ) AS remaining
    FROM g JOIN s USING (nominal_id)
), b AS (
    SELECT nominal_id, expiry, score, remaining,
        (score >= {t0})::INT + (score >= {t1})::INT + (score >= {t2})::INT AS band,
        (remaining >= {t0})::INT + (remaining >= {t1})::INT + (remaining >= {t2})::INT
            AS band_after
    FROM r
)
SELECT nominal_id, any_value(score) AS score, any_value(band) AS band,
    min(expiry) FILTER (WHERE band_after < band) AS band_falls_on,
    arg_min(band_after, expiry) FILTER (WHERE band_after < band) AS falls_to,
    min(expiry) FILTER (WHERE remaining < {t0}) AS none_on
FROM b
GROUP BY nominal_id
ORDER BY score DESC, nominal_id
"""


def forecast_frame(events: Events, cols: EncodedBatch) -> dict[str, np.ndarray]:
    """nominal_id, points and expiry day of the live events (what a peer is handed)."""
    return {
        "nominal_id": cols.nominal_id,
        "points": events.points[cols.kind],
        "expiry": events.expiry_of(cols.day),
    }


class DuckForecast:
    def __init__(self, frame: dict[str, np.ndarray], thresholds: Sequence[int]) -> None:
        import duckdb
        import pyarrow as pa

        self.con = duckdb.connect()
        self.con.register("frame", pa.table(frame))
        self.con.execute("CREATE TABLE ev AS SELECT * FROM frame")
        self.con.unregister("frame")
        t0, t1, t2 = thresholds
        self.sql = FORECAST_SQL.format(t0=t0, t1=t1, t2=t2)

    def __call__(self) -> dict[str, np.ndarray]:
        return self.con.execute(self.sql).fetchnumpy()


class PolarsForecast:
    def __init__(self, frame: dict[str, np.ndarray], thresholds: Sequence[int]) -> None:
        import polars as pl

        self.pl = pl
        self.df = pl.DataFrame(frame)
        self.thresholds = thresholds

    def __call__(self) -> dict[str, np.ndarray]:
        pl = self.pl
        t0, t1, t2 = self.thresholds

        def band(c):
            return (c >= t0).cast(pl.Int8) + (c >= t1).cast(pl.Int8) + (c >= t2).cast(pl.Int8)

        falls = pl.col("band_after") < pl.col("band")
        events = self.df.lazy()
        banded = (
            events.group_by("nominal_id")
            .agg(score=pl.col("points").sum())
            .filter(pl.col("score") >= t0)
        )
        out = (
            events.join(banded.select("nominal_id"), on="nominal_id", how="semi")
            .group_by("nominal_id", "expiry")
            .agg(pts=pl.col("points").sum())
            .join(banded, on="nominal_id")
            .sort("nominal_id", "expiry")
            .with_columns(remaining=pl.col("score") - pl.col("pts").cum_sum().over("nominal_id"))
            .with_columns(band=band(pl.col("score")), band_after=band(pl.col("remaining")))
            .group_by("nominal_id")
            .agg(
                pl.col("score").first(),
                pl.col("band").first(),
                pl.col("expiry").filter(falls).min().alias("band_falls_on"),
                pl.col("band_after").filter(falls).first().alias("falls_to"),
                pl.col("expiry").filter(pl.col("remaining") < t0).min().alias("none_on"),
            )
            .sort(["score", "nominal_id"], descending=[True, False])
            .collect()
        )
        return {name: out[name].to_numpy() for name in out.columns}


def same_forecast(engine_table, peer: dict[str, np.ndarray]) -> bool:
    """The engine's Forecast and a peer's columns, row for row."""
    pairs = [
        (engine_table.nominal_id, peer["nominal_id"]),
        (engine_table.score, peer["score"]),
        (engine_table.band, peer["band"]),
        (engine_table.band_falls_on.astype(np.int64), peer["band_falls_on"]),
        (engine_table.falls_to, peer["falls_to"]),
        (engine_table.none_on.astype(np.int64), peer["none_on"]),
    ]
    return all(
        a.shape == np.shape(b) and np.array_equal(a.astype(np.int64), np.asarray(b, np.int64))
        for a, b in pairs
    )


def same_scores(a, b) -> bool:
    return bool(np.array_equal(a.nominal_id, b.nominal_id) and np.array_equal(a.score, b.score))


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------


class Run:
    """The case, the two engines after ``--days`` days, and each figure's numbers."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = np.random.default_rng(11)
        # the convenient case as generated (its figures' runs used it): ids are permuted
        # below unless --ascending-ids
        self.case = case = peers.make_case(
            args.nominals, args.events, extra_days=1, seed=2026, ascending_ids=True, codes="mix"
        )
        # the rows inside the window at as_of (the cohort's first day is on its
        # boundary: an engine would not take them, so no peer is given them either)
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
        self.days = case.synthetic_days(args.days + args.after_days, args.per_day)
        self.events = Events([self.batch, *self.days], case.weights.kind_points(), 2)
        self.out: dict[str, Any] = {}

    def engine(self, history_years: int) -> Engine:
        engine = Engine(self.case.weights, self.case.as_of, history_years=history_years)
        engine.ingest_encoded(self.batch)
        return engine

    @staticmethod
    def step(engine: Engine, date: datetime.date, batch: EncodedBatch) -> float:
        start = time.perf_counter()
        engine.advance(date)
        engine.ingest_encoded(batch)
        return time.perf_counter() - start

    # -- 3: the day, with the archive and without -------------------------------------
    def history(self) -> Engine:
        """Both engines through ``--days`` days, interleaved; returns the archiving one."""
        kept, bare = self.engine(2), self.engine(0)
        with_s: list[float] = []
        without_s: list[float] = []
        gc.collect()
        for k in range(1, self.args.days + 1):
            date, batch = self.case.day(k), self.days[k - 1]
            pair = [(kept, with_s), (bare, without_s)]
            for engine, times in pair if k % 2 else pair[::-1]:  # each goes first every other day
                times.append(self.step(engine, date, batch))
        assert same_scores(kept.scores(), bare.scores()), "the two engines disagree"
        o = self.out
        for name, times in (("with", with_s), ("without", without_s)):
            o[f"day_{name}_ms"] = ms(times)
            o[f"day_{name}_p99"] = float(np.percentile(times, 99)) * 1e3
            o[f"day_{name}_max"] = max(times) * 1e3
        o["day"] = o["day_with_ms"] / o["day_without_ms"]
        del bare
        gc.collect()
        return kept

    # -- 1: explain -----------------------------------------------------------------------
    def explain(self, engine: Engine) -> None:
        args, o = self.args, self.out
        some = self.case.events.nominal_id
        first = int(some[self.rng.integers(0, some.size)])
        # the first explain builds the lookup by nominal (nothing has built it yet)
        o["explain_first_ms"] = timed(lambda: engine.explain(first))[0] * 1e3
        # a day's step, then one explain: the lookup patched by the slots written
        # since it was built, or dropped and rebuilt past Engine.RECENT_SLOTS of them
        after = []
        for j in range(args.after_days):
            k = args.days + 1 + j
            self.step(engine, self.case.day(k), self.days[k - 1])
            n = int(some[self.rng.integers(0, some.size)])
            after.append(timed(lambda n=n: engine.explain(n))[0])
        o["explain_after_ms"] = ms(after) if after else float("nan")
        o["explain_after_max_ms"] = max(after) * 1e3 if after else float("nan")
        o["explain_after_days"] = f"{args.after_days} days of {args.per_day:,} events"

        cols = self.events.window(engine.as_of)  # the in-window columns, as numpy arrays
        points = engine.weights.kind_points()
        held = np.unique(cols.nominal_id)
        for n in self.rng.choice(held, 20).tolist():
            e = engine.explain(n)
            ids, days, pts, ends = numpy_explain(cols, points, self.events, n)
            assert np.array_equal(e.event_id, ids), n
            assert np.array_equal(e.date.astype(np.int64), days), n
            assert np.array_equal(e.points, pts), n
            assert np.array_equal(e.expires.astype(np.int64), ends), n
            assert int(e.points.sum()) == e.score == engine.score(n), n
        ours, theirs, floor = [], [], []
        for _ in range(args.rounds):
            for n in self.rng.choice(held, 50).tolist():
                ours.append(timed(lambda n=n: engine.explain(n))[0])
                made = engine.explain(n)
                floor.append(timed(lambda made=made: result_floor(engine, made))[0])
            for n in self.rng.choice(held, 2).tolist():
                theirs.append(timed(lambda n=n: numpy_explain(cols, points, self.events, n))[0])
        o["explain_ms"], o["explain_numpy_ms"] = ms(ours), ms(theirs)
        o["explain"] = o["explain_numpy_ms"] / o["explain_ms"]
        o["explain_calls"] = (len(ours), len(theirs))
        o["explain_floor_ms"] = ms(floor)
        o["explain_floor"] = o["explain_numpy_ms"] / o["explain_floor_ms"]
        o["explain_vs_floor"] = o["explain_ms"] / o["explain_floor_ms"]

    # -- 2: the cohort forecast ---------------------------------------------------------
    def forecast(self, engine: Engine) -> None:
        args, o = self.args, self.out
        cols = self.events.window(engine.as_of)
        frame = forecast_frame(self.events, cols)
        table = engine.forecast()
        o["forecast_rows"] = len(table)
        peers_: dict[str, Callable[[], dict[str, np.ndarray]]] = {
            "duckdb": DuckForecast(frame, engine.thresholds)
        }
        if not args.no_polars:
            try:
                peers_["polars"] = PolarsForecast(frame, engine.thresholds)
            except ImportError:
                print("polars is not installed: its row is left out", file=sys.stderr)
        for name, peer in peers_.items():
            assert same_forecast(table, peer()), f"{name}'s forecast differs from the engine's"
        times: dict[str, list[float]] = {"engine": [], **{name: [] for name in peers_}}
        for _ in range(args.rounds):
            times["engine"].append(timed(engine.forecast)[0])
            for name, peer in peers_.items():
                times[name].append(timed(peer)[0])
        o["forecast_ms"] = ms(times["engine"])
        for name in peers_:
            o[f"forecast_{name}_ms"] = ms(times[name])
            o[f"forecast_{name}"] = o[f"forecast_{name}_ms"] / o["forecast_ms"]
        del peers_
        gc.collect()

    # -- 4: scores at a past date -------------------------------------------------------
    def scores_at(self, engine: Engine) -> None:
        args, o = self.args, self.out
        assert same_scores(engine.scores_at(engine.as_of), engine.scores())
        when = engine.as_of - datetime.timedelta(days=args.back)
        o["scores_at_date"] = when
        window = self.events.window(when)
        weights = engine.weights

        def fresh():
            new = Engine(weights, when)
            new.ingest_encoded(window)
            return new.scores()

        past = engine.scores_at(when)
        assert same_scores(past, fresh()), "scores_at differs from a new engine's scores"
        self.past = past
        ours, theirs = [], []
        for _ in range(args.rounds):
            ours.append(timed(lambda: engine.scores_at(when))[0])
            theirs.append(timed(fresh)[0])
            gc.collect()
        o["scores_at_ms"], o["scores_at_peer_ms"] = ms(ours), ms(theirs)
        o["scores_at"] = o["scores_at_peer_ms"] / o["scores_at_ms"]
        o["scores_at_events"] = len(window)

    # -- 5: timeline and memory ---------------------------------------------------------
    def timeline(self, engine: Engine) -> None:
        args, o = self.args, self.out
        start = engine.history_start
        when = o["scores_at_date"]
        past = dict(zip(self.past.nominal_id.tolist(), self.past.score.tolist(), strict=True))
        held = np.unique(self.case.events.nominal_id)
        points = engine.weights.kind_points()
        t0, t1 = day_number(start), day_number(engine.as_of)
        for i, n in enumerate(self.rng.choice(held, 20).tolist()):
            t = engine.timeline(n, start)
            dates, scores = numpy_timeline(self.events, points, n, t0, t1)
            assert np.array_equal(t.date.astype(np.int64), dates), n
            assert np.array_equal(t.score, scores), n
            assert int(t.score[-1]) == engine.score(n), n  # the score now
            at = np.searchsorted(t.date, np.datetime64(when, "D"), side="right") - 1
            assert int(t.score[at]) == past.get(n, 0), (i, n)  # scores_at's at T
        ours, theirs, lengths = [], [], []
        for _ in range(args.rounds):
            for n in self.rng.choice(held, 5).tolist():
                seconds, t = timed(lambda n=n: engine.timeline(n, start))
                ours.append(seconds)
                lengths.append(len(t.date))
            n = int(self.rng.choice(held))
            theirs.append(timed(lambda n=n: numpy_timeline(self.events, points, n, t0, t1))[0])
        o["timeline_ms"], o["timeline_numpy_ms"] = ms(ours), ms(theirs)
        o["timeline_rows"] = float(np.median(lengths))
        o["timeline_from"] = start
        o["timeline_events"] = self.events.day.size
        memory = engine.memory()
        o["memory"] = memory["bytes_per_event"]
        o["archive_memory"] = memory["archive_bytes_per_event"]
        o["archived_events"] = memory["archived_events"]
        o["live_events"] = memory["live_events"]
        o["cache_bytes"] = memory["cache_bytes"]

    def all(self) -> dict[str, Any]:
        engine = self.history()
        self.explain(engine)
        self.forecast(engine)
        self.scores_at(engine)
        self.timeline(engine)
        self.out["as_of"] = engine.as_of
        return self.out


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------

ROWS = [
    # key, figure, goal, goal's value, whether higher is better (None: no goal)
    ("explain", "explain of one nominal vs a numpy scan of the columns", ">= 1000x", 1000.0, True),
    (
        "explain_floor",
        "the floor: a bare Python call returning that table, vs the scan",
        "–",
        None,
        None,
    ),
    ("forecast_duckdb", "cohort forecast vs DuckDB", ">= 2x", 2.0, True),
    ("forecast_polars", "cohort forecast vs polars (optional)", "–", None, None),
    ("day", "a national day's step, archive vs none", "<= 1.3x", 1.3, False),
    ("scores_at", "scores_at(T) vs a new engine ingesting T's window", ">= 1x", 1.0, True),
    ("timeline_ms", "timeline of one nominal over two years (ms)", "–", None, None),
    ("memory", "memory per buffered event (bytes)", "<= 32", 32.0, False),
    ("archive_memory", "memory per archived event (bytes)", "<= 16", 16.0, False),
]


def _n(ms: float) -> str:
    """Milliseconds, to a tenth below 10."""
    return f"{ms:,.1f}" if ms < 10 else f"{ms:,.0f}"


def _detail(key: str, o: dict[str, Any]) -> str:
    if key == "explain":
        return (
            f"{o['explain_ms'] * 1e3:.0f} us vs {o['explain_numpy_ms']:.1f} ms (median of "
            f"{o['explain_calls'][0]} and {o['explain_calls'][1]} calls); first, building "
            f"the lookup: {_n(o['explain_first_ms'])} ms; after a day's step: "
            f"median {_n(o['explain_after_ms'])} ms, slowest {_n(o['explain_after_max_ms'])} ms "
            f"(of {o['explain_after_days']})"
        )
    if key == "explain_floor":
        return (
            f"{o['explain_floor_ms'] * 1e3:.1f} us a call (the read lock, the nominal's "
            f"lookup, the result's arrays made); explain is {o['explain_vs_floor']:.2f}x it"
        )
    if key.startswith("forecast_"):
        return (
            f"{_n(o['forecast_ms'])} ms vs {_n(o[key + '_ms'])} ms "
            f"({o['forecast_rows']:,} banded nominals)"
        )
    if key == "day":
        return (
            f"{o['day_with_ms']:.2f} ms vs {o['day_without_ms']:.2f} ms (p99 "
            f"{o['day_with_p99']:.1f} vs {o['day_without_p99']:.1f}, slowest "
            f"{o['day_with_max']:.1f} vs {o['day_without_max']:.1f})"
        )
    if key == "scores_at":
        return (
            f"{_n(o['scores_at_ms'])} ms vs {_n(o['scores_at_peer_ms'])} ms "
            f"(T = {o['scores_at_date']}, {o['scores_at_events']:,} events in its window)"
        )
    if key == "timeline_ms":
        return (
            f"from {o['timeline_from']}, {o['timeline_rows']:.0f} rows (median); a numpy scan "
            f"of the {o['timeline_events']:,} retained events: {_n(o['timeline_numpy_ms'])} ms"
        )
    if key == "memory":
        return f"{o['live_events']:,} live events"
    if key == "archive_memory":
        return f"{o['archived_events']:,} archived events"
    return ""


def table(o: dict[str, Any]) -> str:
    lines = ["| figure | value | detail | goal | met |", "|---|---:|---|---|---|"]
    for key, what, goal, target, higher in ROWS:
        if key not in o:
            continue
        value = o[key]
        unit = (
            "x"
            if key in ("explain", "explain_floor", "day", "scores_at") or key.startswith("forecast")
            else ""
        )
        shown = f"{value:,.0f}{unit}" if value >= 100 else f"{value:.2f}{unit}"
        if target is None:
            met = "–"
        else:
            met = "met" if (value >= target if higher else value <= target) else "**not met**"
        lines.append(f"| {what} | {shown} | {_detail(key, o)} | {goal} | {met} |")
    return "\n".join(lines)


def parse(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nominals", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=20_000_000)
    parser.add_argument("--days", type=int, default=365, help="days of history before timing")
    parser.add_argument(
        "--per-day", type=int, default=None, help="events a day (default: 27,000 per 20M events)"
    )
    parser.add_argument("--after-days", type=int, default=5, help="days each followed by explain")
    parser.add_argument("--back", type=int, default=182, help="days before as_of of scores_at")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--ascending-ids", action="store_true", help="load ids as generated")
    parser.add_argument("--no-polars", action="store_true", help="leave polars out")
    parser.add_argument("--small", action="store_true", help="50,000 / 1,000,000 / 30 days")
    args = parser.parse_args(argv)
    if args.small:
        for name, value in SMALL.items():
            setattr(args, name, value)
    if args.per_day is None:  # about as many as a day's expiry: the window stays its size
        args.per_day = max(1, round(args.events * 27_000 / 20_000_000))
    return args


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    load, commit = os.getloadavg(), head_commit()
    started = time.perf_counter()
    figures = Run(args).all()
    ids = "ascending, as generated" if args.ascending_ids else "permuted: no particular order"
    print(
        f"\n{args.nominals:,} nominals, {args.events:,} events loaded at {peers.AS_OF} "
        f"(event ids {ids}), then {args.days} days of {args.per_day:,} events "
        f"(+{args.after_days} for explain after a step): as_of {figures['as_of']}, "
        f"{figures['archived_events']:,} events archived. Commit {commit}, "
        f"{time.perf_counter() - started:.0f} s, load average before "
        f"{load[0]:.2f}, after {os.getloadavg()[0]:.2f}.\n"
    )
    print(table(figures))
    return figures


if __name__ == "__main__":
    main()
