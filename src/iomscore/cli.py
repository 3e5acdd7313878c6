"""The ``iomscore`` command.

Sub-commands: ``score``, ``demo``, ``replay``, ``whatif`` and ``weights``
(``build``, ``check``, ``diff``). Results go to stdout or ``--out``;
summaries, timings and progress go to stderr.

Exit status: 0 on success; 1 when ``weights check`` finds problems; 2 on bad
input, that is any :class:`~iomscore.errors.IomscoreError` (one line,
``iomscore: error: ...``, naming the file or option and, where there is one,
the line and field), and on usage errors (argparse). Any other exception is a
bug: it is not caught, so it shows its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO

import numpy as np

from . import __version__
from .batch import encode_events
from .engine import Engine
from .errors import FileAccessError, IomscoreError, OptionError
from .eventfile import read_events
from .results import BAND_NAMES, ScoreTable
from .weights import Weights

__all__ = ["main"]


class _Clock:
    """Stage timings for the summaries (seconds, wall clock)."""

    def __init__(self) -> None:
        self.stages: list[tuple[str, float]] = []
        self._last = time.perf_counter()

    def lap(self, stage: str) -> float:
        """Record the time since the last lap under ``stage``; returns it (seconds)."""
        now = time.perf_counter()
        seconds = now - self._last
        self.stages.append((stage, seconds))
        self._last = now
        return seconds

    def text(self) -> str:
        total = sum(t for _, t in self.stages)
        parts = [f"{name} {seconds * 1000:,.1f} ms" for name, seconds in self.stages]
        return "timings: " + ", ".join(parts) + f"; total {total * 1000:,.1f} ms"


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _load_weights(path: str | None) -> Weights:
    return Weights.default() if path is None else Weights.load(path)


# The options that hold a date (argparse keeps their text): dest -> the option.
_DATE_OPTIONS = {"as_of": "--as-of", "start": "--from", "end": "--to"}


def _read_dates(args: argparse.Namespace) -> None:
    """Turn the text of the date options into dates; ``OptionError`` names the option."""
    from .calendar import parse_date

    for dest, option in _DATE_OPTIONS.items():
        text = getattr(args, dest, None)
        if text is None:
            continue
        try:
            setattr(args, dest, parse_date(text))
        except ValueError as exc:
            raise OptionError(f"{option}: {exc}") from None


@contextlib.contextmanager
def _output(path: str | None) -> Iterator[TextIO]:
    """Stdout, or the file ``path`` opened for writing (``FileAccessError`` names it)."""
    if path is None:
        yield sys.stdout
        return
    try:
        handle = open(path, "w", encoding="utf-8", newline="")  # noqa: SIM115 (closed below)
    except OSError as exc:
        raise FileAccessError.from_os_error(exc, path, "output file", writing=True) from None
    with handle:
        yield handle


def _band_summary(table: ScoreTable) -> str:
    counts = table.band_counts()
    banded = counts["LOW"] + counts["MEDIUM"] + counts["HIGH"]
    lines = [
        f"nominals scored: {len(table):,} (with an event in the window at {table.as_of})",
        "bands: "
        + ", ".join(f"{name} {counts[name]:,}" for name in reversed(BAND_NAMES))
        + f"; banded {banded:,}",
        f"weights: {table.weights_name} sha256 {table.weights_sha256}",
    ]
    return "\n".join(lines)


# -- score ----------------------------------------------------------------------------
def _cmd_score(args: argparse.Namespace) -> int:
    clock = _Clock()
    weights = _load_weights(args.weights)
    clock.lap("weights")
    table, label = read_events(args.events)
    clock.lap("read")
    engine = Engine(weights, args.as_of, window_years=args.window_years)
    report = engine.ingest(table, future="skip", label=label)
    clock.lap("ingest")
    result = engine.scores()
    clock.lap("score")
    with _output(args.out) as out:
        result.write_csv(out)
    clock.lap("write")
    _err(str(report))
    _err(_band_summary(result))
    _err(clock.text())
    return 0


# -- demo -----------------------------------------------------------------------------
def _cmd_demo(args: argparse.Namespace) -> int:
    from . import _kernels, synth

    _check_demo_sizes(args, synth.NOMINAL_ID_RANGE)
    clock = _Clock()
    _kernels.warm_up()
    clock.lap("load kernels")
    weights = _load_weights(args.weights)
    clock.lap("weights")
    cohort = synth.cohort(args.nominals, args.events, as_of=args.as_of, seed=args.seed)
    clock.lap("generate")
    _err(
        f"synthetic cohort: {args.nominals:,} nominals, {len(cohort):,} events "
        f"(seed {args.seed}, as of {args.as_of})"
    )
    engine = Engine(weights, args.as_of)
    report = engine.ingest(cohort)
    clock.lap("ingest")
    result = engine.scores()
    clock.lap("score")
    engine.matrix()
    clock.lap("matrix")
    full = engine.what_if(_scaled(weights, 2))
    clock.lap("what-if (x2 table)")
    engine.advance(args.as_of + datetime.timedelta(days=1))
    clock.lap("advance 1 day")
    _err(str(report))
    _err(_band_summary(result))
    _err(f"what-if every weight doubled: {len(full.changes):,} nominals would change band")
    memory = engine.memory()
    _err(
        f"memory: {memory['total_bytes'] / 2**20:,.1f} MiB, "
        f"{memory['bytes_per_event']:.1f} bytes per event"
    )
    _err(clock.text())
    if args.out:
        with _output(args.out) as out:
            result.write_csv(out)
    else:
        print("top 10 nominals (synthetic ids):")
        for nominal, points, band in result.rows()[:10]:
            print(f"  {nominal:>12}  {points:>6}  {band}")
    return 0


def _check_demo_sizes(args: argparse.Namespace, id_range: tuple[int, int]) -> None:
    """The synthetic cohort's sizes and seed, as :func:`iomscore.synth.cohort` needs them."""
    for option, value in (("--nominals", args.nominals), ("--events", args.events)):
        if value < 0:
            raise OptionError(f"{option} must be >= 0, got {value}")
    if args.seed < 0:
        raise OptionError(f"--seed must be >= 0, got {args.seed}")
    most = id_range[1] - id_range[0]
    if args.nominals > most:
        raise OptionError(f"--nominals must be at most {most:,}, got {args.nominals:,}")
    if args.events and not args.nominals:
        raise OptionError("--events > 0 needs --nominals >= 1")


def _scaled(weights: Weights, factor: int) -> Weights:
    points = np.minimum(weights.points * factor, Weights.MAX_POINTS)
    return Weights(weights.datasets, weights.offences, points, name=f"{weights.name} x{factor}")


# -- replay ---------------------------------------------------------------------------
def _cmd_replay(args: argparse.Namespace) -> int:
    from .replay import replay

    weights = _load_weights(args.weights)
    table, label = read_events(args.events)
    batch = encode_events(table, weights, label=label)
    with _output(args.out) as out:
        summary = replay(
            batch,
            weights,
            args.start,
            args.end,
            out,
            window_years=args.window_years,
            progress=_err if args.progress else None,
        )
    _err(summary)
    return 0


# -- whatif ---------------------------------------------------------------------------
def _cmd_whatif(args: argparse.Namespace) -> int:
    clock = _Clock()
    old = _load_weights(args.weights)
    new = Weights.load(args.new_weights)
    table, label = read_events(args.events)
    engine = Engine(old, args.as_of, window_years=args.window_years)
    engine.ingest(table, future="skip", label=label)
    clock.lap("ingest")
    impact = engine.what_if(new)
    clock.lap("what-if")
    print(
        f"what-if: {old.name} ({old.short_hash()}) -> {new.name} ({new.short_hash()}) "
        f"at {args.as_of}"
    )
    print(impact.transition_text())
    print(
        "score changes (points): " + ", ".join(f"{k} {v:,.6g}" for k, v in impact.summary().items())
    )
    changes = impact.changes
    if args.out:
        with _output(args.out) as handle:
            handle.write("nominal_id,old_band,new_band,score\n")
            for nominal, old_band, new_band, points in changes.rows():
                handle.write(f"{nominal},{old_band},{new_band},{points}\n")
        print(f"{len(changes):,} nominals change band: written to {args.out}")
    else:
        print(f"{len(changes):,} nominals change band (use --out FILE to list them)")
    _err(clock.text())
    return 0


# -- weights --------------------------------------------------------------------------
def _cmd_weights_check(args: argparse.Namespace) -> int:
    from .weights_tools import check_weights

    problems, weights = check_weights(args.file)
    for problem in problems:
        print(problem)
    if problems:
        return 1
    assert weights is not None
    print(
        f"{args.file}: OK: {weights.name}, {len(weights.offences):,} offences x "
        f"{len(weights.datasets)} datasets, sha256 {weights.sha256}"
    )
    return 0


def _cmd_weights_diff(args: argparse.Namespace) -> int:
    from .weights_tools import diff_weights

    a, b = Weights.load(args.a), Weights.load(args.b)
    rows = diff_weights(a, b)
    print("offence,dataset,old,new,change")
    for offence, dataset, old, new in rows:
        old_text = "" if old is None else str(old)
        new_text = "" if new is None else str(new)
        change = "" if old is None or new is None else f"{new - old:+d}"
        print(f"{offence},{dataset},{old_text},{new_text},{change}")
    _err(
        f"{len(rows):,} entries differ between {a.name} ({a.short_hash()}) "
        f"and {b.name} ({b.short_hash()})"
    )
    return 0


def _cmd_weights_build(args: argparse.Namespace) -> int:
    from . import derive

    weights = derive.build_default(
        priorities_path=args.priorities,
        catalogue_path=args.catalogue,
        severity_csv=args.severity,
        out_path=args.out,
    )
    _err(f"wrote {args.out}: {weights.name}, sha256 {weights.sha256}")
    return 0


# -- parser ---------------------------------------------------------------------------
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="iomscore",
        description="Score IOM nominals on their events of the last two years.",
    )
    parser.add_argument("--version", action="version", version=f"iomscore {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser, *, as_of: bool = True) -> None:
        p.add_argument(
            "--weights", metavar="FILE", help="weight table CSV (default: the shipped table)"
        )
        if as_of:
            p.add_argument("--as-of", required=True, metavar="YYYY-MM-DD", help="scoring date D")
        p.add_argument(
            "--window-years", type=int, default=2, metavar="N", help="window length (years)"
        )

    p = sub.add_parser("score", help="score an events file (CSV or Parquet) at a date")
    p.add_argument(
        "events",
        help="events file: CSV with header event_id,nominal_id,dataset,offence,date, or Parquet",
    )
    common(p)
    p.add_argument(
        "--out", metavar="FILE", help="write nominal_id,score,band here (default stdout)"
    )
    p.set_defaults(run=_cmd_score)

    p = sub.add_parser("demo", help="score a synthetic force-sized cohort and print timings")
    p.add_argument("--nominals", type=int, default=250_000)
    p.add_argument("--events", type=int, default=2_000_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--as-of", default="2026-11-26", metavar="YYYY-MM-DD")
    p.add_argument("--weights", metavar="FILE")
    p.add_argument("--out", metavar="FILE", help="write the full result CSV here")
    p.set_defaults(run=_cmd_demo)

    p = sub.add_parser("replay", help="step day by day and write every band change")
    p.add_argument("events")
    p.add_argument("--from", dest="start", required=True, metavar="D1")
    p.add_argument("--to", dest="end", required=True, metavar="D2")
    p.add_argument("--out", metavar="FILE", help="band changes CSV (default stdout)")
    p.add_argument("--progress", action="store_true", help="report progress on stderr")
    common(p, as_of=False)
    p.set_defaults(run=_cmd_replay)

    p = sub.add_parser("whatif", help="the impact of a new weight table, without applying it")
    p.add_argument("events")
    common(p)
    p.add_argument("--new-weights", required=True, metavar="FILE")
    p.add_argument("--out", metavar="FILE", help="write the nominals that change band here")
    p.set_defaults(run=_cmd_whatif)

    p = sub.add_parser("weights", help="build, check and compare weight tables")
    wsub = p.add_subparsers(dest="weights_command", required=True)
    q = wsub.add_parser("check", help="check a weight table file")
    q.add_argument("file")
    q.set_defaults(run=_cmd_weights_check)
    q = wsub.add_parser("diff", help="list the entries that differ between two tables")
    q.add_argument("a")
    q.add_argument("b")
    q.set_defaults(run=_cmd_weights_diff)
    q = wsub.add_parser("build", help="derive a weight table from a priorities file")
    q.add_argument(
        "--priorities", default=None, metavar="FILE", help="priorities TOML (default: shipped)"
    )
    q.add_argument(
        "--catalogue", default=None, metavar="FILE", help="offence catalogue CSV (default: shipped)"
    )
    q.add_argument(
        "--severity", default=None, metavar="FILE", help="ONS severity CSV (default: shipped)"
    )
    q.add_argument("--out", required=True, metavar="FILE")
    q.set_defaults(run=_cmd_weights_build)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (see the module docstring).

    Only :class:`~iomscore.errors.IomscoreError` is caught, as bad input: its
    message is printed on one line and the status is 2. Anything else is a bug
    and propagates with its traceback.
    """
    args = _parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        _read_dates(args)
        return run(args)
    except BrokenPipeError:  # pragma: no cover - e.g. `| head`
        return 0
    except IomscoreError as exc:
        _err("iomscore: error: " + " ".join(str(exc).splitlines()))
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
