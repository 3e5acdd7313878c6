"""One nominal's score chart over a span, as an SVG or a PNG file (issue 26).

:func:`score_chart` builds the :class:`~iomscore.scorechart.ScoreChart` the ODOC
pack draws for each nominal (the same builder): rule 9's exact timeline, the
band thresholds, the nominal's events marked by dataset, and its assessments,
interventions and selection decisions in the span. :func:`write_svg` writes the
package's own SVG (no dependency); :func:`write_png` draws it with matplotlib,
an optional extra (``pip install "iomscore[charts]"``), imported only there.
Both write the file whole or not at all (:func:`iomscore.outfile.atomic_files`).
"""

from __future__ import annotations

import datetime
import io
import os
from typing import TYPE_CHECKING

from .errors import OptionError
from .outfile import atomic_files
from .results import BAND_NAMES
from .scorechart import EVENT_COLOURS, ScoreChart, as_date, build_score_chart, event_style

if TYPE_CHECKING:
    from .engine import Engine

__all__ = [
    "ScoreChart",
    "draw",
    "png_bytes",
    "require_matplotlib",
    "score_chart",
    "svg_document",
    "write_png",
    "write_svg",
]

SVG_NAMESPACE = "http://www.w3.org/2000/svg"

# The pack page's chart styles (its CSS classes), for a standalone file.
_SVG_STYLE = (
    ".b1{fill:#fff3bf}.b2{fill:#ffd8a8}.b3{fill:#ffc9c9}"
    ".line{fill:none;stroke:#1c3d5a;stroke-width:1.5}"
    ".iv{fill:#2b8a3e;opacity:.7}.as{fill:#3b5bdb}"
    ".d-select{stroke:#2b8a3e;stroke-dasharray:2 2}"
    ".d-deselect{stroke:#868e96;stroke-dasharray:2 2}"
)
_BAND_COLOURS = ("#fff3bf", "#ffd8a8", "#ffc9c9")  # LOW, MEDIUM, HIGH
_LANE = 0.045  # the height of an intervention's lane along the foot (axes fraction)
_DECISION_COLOURS = {"select": "#2b8a3e", "deselect": "#868e96"}
_EVENT_MARKERS = ("|", "v", "^", "s", "D", "x", "P", "*")  # by the dataset's column


def score_chart(
    engine: Engine,
    nominal_id: int,
    start: datetime.date | str,
    end: datetime.date | str,
    *,
    user: str | None = None,
    reason: str | None = None,
) -> ScoreChart:
    """One nominal's chart over ``[start, end]``, as the ODOC pack builds it.

    Parameters
    ----------
    engine : Engine
    nominal_id : int
        A nominal the engine holds.
    start, end : datetime.date or str (YYYY-MM-DD)
        The span: ``start`` not after ``end``, both inside the retained history
        (``engine.history_start`` to ``engine.as_of``).
    user, reason : str, optional
        With ``user``, the timeline and event reads are audited as the engine
        audits them (once each).

    Returns
    -------
    ScoreChart
        Steps ``(date, score)`` equal to ``engine.timeline(nominal_id, start, end)``,
        the thresholds (points), the events ``(date, dataset)`` equal to
        ``engine.event_history(nominal_id, start, end)``'s, the assessment dates, the
        interventions overlapping the span and the decisions dated in it.

    Raises
    ------
    EngineError
        A nominal the engine does not hold; a date outside the retained history;
        ``start`` after ``end``.
    """
    first = as_date(start, "start")
    last = as_date(end, "end")
    # The engine's own checks (held nominal, dates) before the pack's builder, which
    # draws a nominal never held as score 0; not audited, the builder's read is.
    engine.timeline(nominal_id, first, last)
    decided = {
        nominal_id: [
            (d.date, d.action) for d in engine.decisions(nominal_id) if first <= d.date <= last
        ]
    }
    low, medium, high = (int(t) for t in engine.thresholds)
    thresholds = (low, medium, high)
    return build_score_chart(engine, nominal_id, first, last, thresholds, decided, user, reason)


def svg_document(chart: ScoreChart) -> str:
    """The chart as a standalone SVG document: the pack's inline ``<svg>`` (its size),
    inside an ``<svg>`` with the SVG namespace and the pack page's styles. It refers
    to nothing outside itself."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="{SVG_NAMESPACE}" width="{chart.WIDTH}" height="{chart.HEIGHT}" '
        f'viewBox="0 0 {chart.WIDTH} {chart.HEIGHT}">'
        f"<style>{_SVG_STYLE}{event_style(chart.datasets)}</style>{chart.svg()}</svg>\n"
    )


def write_svg(chart: ScoreChart, path: str | os.PathLike[str]) -> None:
    """Write :func:`svg_document` to ``path`` (UTF-8), whole or not at all."""
    with atomic_files(os.fspath(path)) as (handle,):
        handle.write(svg_document(chart))


def require_matplotlib():
    """matplotlib's Figure and Agg canvas; an OptionError naming the extra if it is missing."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise OptionError(
            'a PNG chart needs matplotlib, which is not installed: pip install "iomscore[charts]" '
            "(or write an .svg, which needs nothing)"
        ) from None
    return Figure, FigureCanvasAgg


def png_bytes(chart: ScoreChart, *, dpi: int = 100) -> bytes:
    """The chart drawn by matplotlib as PNG bytes (see :func:`write_png`)."""
    buffer = io.BytesIO()
    draw(chart, dpi=dpi).savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def draw(chart: ScoreChart, *, dpi: int = 100):
    """The chart as a matplotlib Figure (10 x 4.5 inches), as :func:`write_png` draws it.

    Each dataset with events in the span has its own lane above the
    interventions and assessments, its events marked there (one marker and
    colour per dataset, :data:`~iomscore.scorechart.EVENT_COLOURS`); the marks
    are a ``Line2D`` whose gid is ``events:<dataset>``.

    Raises
    ------
    OptionError
        matplotlib is not installed (``pip install "iomscore[charts]"``).
    """
    figure_class, canvas_class = require_matplotlib()
    figure = figure_class(figsize=(10, 4.5), dpi=dpi, layout="constrained")
    canvas_class(figure)
    ax = figure.add_subplot()
    steps = chart.steps or ((chart.start, 0),)
    days = [day for day, _ in steps] + [chart.end]
    scores = [score for _, score in steps] + [steps[-1][1]]
    peak = max([*scores, chart.thresholds[-1]])
    top = peak * 1.1 if peak > 0 else 1.0
    bounds = [*chart.thresholds, top]
    for band in range(len(chart.thresholds)):
        low, high = bounds[band], max(bounds[band + 1], bounds[band])
        if low >= top:
            break
        ax.axhspan(
            low,
            min(high, top),
            color=_BAND_COLOURS[band],
            zorder=0,
            label=f"{BAND_NAMES[band + 1]} (from {chart.thresholds[band]} points)",
        )
    ax.step(days, scores, where="post", color="#1c3d5a", linewidth=1.8, label="score", zorder=3)
    for at, (kind, first, last) in enumerate(chart.interventions):
        left = max(first, chart.start)
        right = chart.end if last is None else min(last, chart.end)
        ax.axvspan(
            left,
            right + datetime.timedelta(days=1),
            ymin=at * _LANE,
            ymax=at * _LANE + _LANE * 0.8,
            color="#2b8a3e",
            alpha=0.7,
            zorder=2,
            label="intervention" if at == 0 else None,
        )
        ax.annotate(
            kind,
            (left, at * _LANE + _LANE * 0.1),
            xycoords=("data", "axes fraction"),
            xytext=(2, 0),
            textcoords="offset points",
            fontsize=7,
            color="white",
            zorder=5,
        )
    if chart.assessments:
        ax.plot(
            list(chart.assessments),
            [top * _LANE * (len(chart.interventions) + 0.5)] * len(chart.assessments),
            "o",
            color="#3b5bdb",
            label="assessment",
            zorder=4,
        )
    lane = len(chart.interventions) + 1.5  # above the interventions and assessments
    for at, (name, count) in enumerate(chart.event_counts().items()):
        if not count:
            continue
        ax.plot(
            [day for day, dataset in chart.events if dataset == name],
            [lane * _LANE] * count,
            linestyle="none",
            marker=_EVENT_MARKERS[at % len(_EVENT_MARKERS)],
            markersize=6,
            color=EVENT_COLOURS[at % len(EVENT_COLOURS)],
            transform=ax.get_xaxis_transform(),  # y in axes fraction: a lane
            label=f"{name} events ({count})",
            gid=f"events:{name}",
            zorder=4,
        )
        lane += 1
    shown: set[str] = set()
    for day, action in chart.decisions:
        ax.axvline(
            day,
            color=_DECISION_COLOURS.get(action, "#495057"),
            linestyle="--",
            linewidth=1.2,
            zorder=2,
            label=f"decision: {action}" if action not in shown else None,
        )
        shown.add(action)
    ax.set_xlim(chart.start, chart.end)
    ax.set_ylim(0, top)
    ax.set_xlabel("date")
    ax.set_ylabel("score (points)")
    ax.set_title(f"nominal {chart.nominal_id}: score from {chart.start} to {chart.end}")
    ax.legend(loc="upper left", fontsize=8, framealpha=0.9)
    figure.autofmt_xdate()
    return figure


def write_png(chart: ScoreChart, path: str | os.PathLike[str], *, dpi: int = 100) -> None:
    """Draw the chart with matplotlib and write it to ``path`` as PNG, whole or not at all.

    The exact timeline as a step line (``where="post"``: the score from each step's
    date until the next), the bands shaded from their thresholds, assessments as
    dots, interventions as spans along the foot, events in a lane per dataset (see
    :func:`draw`) and decisions as dashed vertical lines; score in points against
    the date.

    Raises
    ------
    OptionError
        matplotlib is not installed (``pip install "iomscore[charts]"``).
    """
    data = png_bytes(chart, dpi=dpi)  # drawn before the file is opened
    with atomic_files(os.fspath(path), binary=True) as (handle,):
        handle.write(data)
