"""The ODOC meeting pack: the five lists an area's One Day One Conversation meeting uses.

For an area (or :data:`iomscore.cohort.UNOWNED`), the meeting date D (the
engine's ``as_of``: the pack scores at D) and the previous meeting D0,
:func:`build_pack` gathers, from the engine's public reads (the managed
cohort's interventions and counting assessments by the engine's bulk reads,
:meth:`Engine.active_interventions` and :meth:`Engine.counting_assessments`):

1. ``new_candidates``: the nominals banded at D and not selected, with their
   band at D0 and whether they became banded since;
2. ``risen_fallen``: candidates and selected nominals whose band at D differs
   from their band at D0, with the new events that moved them and the points
   that stopped counting;
3. ``deselection_candidates``: selected nominals whose band is NONE at D, or
   forecast (rule 8) to be NONE by the next meeting;
4. ``transfers``: the area's transfers in and out after D0 up to D;
5. ``managed``: every selected nominal with its score, band, change since D0,
   next forecast fall, active interventions and counting assessments.

A nominal's strand is its strand at D as :meth:`Engine.candidates` and
:meth:`Engine.selection` give it (a decision's, else its counting events'
rule); :meth:`Engine.strands` gives it for a transferred nominal that is
neither. With ``strand``, a pack keeps only that strand's nominals: lists 1,
2, 3 and 5 hold the candidates and selected nominals of the strand, list 4
the transfers of nominals of the strand, and only they are charted.

:meth:`Pack.write_csv` writes one CSV per list; :meth:`Pack.write_html` one
self-contained page (inline CSS, a few lines of inline script to sort the
tables and, in a pack of every strand, to show one strand's rows, an inline SVG
score chart per nominal; no network request). Only
pseudonymous ids and codes appear: no free text a person typed (decision
notes, meeting ids, strand reasons) is copied into a pack.

Scores and bands at D0 are rule 9's, as known now: every event the engine
holds or has archived, under the weight table in force at D, so an event
dated before D0 but recorded after the D0 meeting counts at D0 here.
"""

from __future__ import annotations

import csv
import datetime
import html
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ._version import __version__
from .calendar import window_start
from .cohort import UNOWNED
from .errors import EngineError, FileAccessError
from .groups import STRANDS
from .outfile import atomic_files
from .results import BAND_NAMES
from .scorechart import ScoreChart, as_date, build_score_chart, event_legend, event_style

if TYPE_CHECKING:
    from .engine import Engine

__all__ = [
    "LIST_NAMES",
    "Pack",
    "PackList",
    "ScoreChart",
    "build_pack",
    "build_packs",
    "cell_text",
]

#: The pack's lists, in the meeting's order; each is written to ``<name>.csv``
#: (``<name>-<strand>.csv`` in one strand's pack).
LIST_NAMES = (
    "new_candidates",
    "risen_fallen",
    "deselection_candidates",
    "transfers",
    "managed",
)

#: The years of history each nominal's chart shows, back from D.
CHART_YEARS = 2

_TITLES = {
    "new_candidates": "New candidates",
    "risen_fallen": "Risen and fallen",
    "deselection_candidates": "De-selection candidates",
    "transfers": "Transfers in and out",
    "managed": "The managed cohort",
}
_LABELS = {
    "nominal_id": "Nominal",
    "score": "Score",
    "band": "Band",
    "strand": "Strand",
    "previous_score": "Score at D0",
    "previous_band": "Band at D0",
    "newly_banded": "Newly banded",
    "status": "Status",
    "direction": "Direction",
    "new_event_ids": "New events",
    "new_datasets": "Their datasets",
    "new_offences": "Their offences",
    "new_points": "New points",
    "expired_points": "Points stopped",
    "reason": "Why",
    "none_on": "NONE on",
    "selected_on": "Selected on",
    "lead_agency": "Lead agency",
    "tier": "Tier",
    "date": "Date",
    "from_area": "From",
    "to_area": "To",
    "score_change": "Change",
    "band_falls_on": "Band falls on",
    "falls_to": "Falls to",
    "interventions": "Active interventions",
    "assessment_tools": "Assessments",
    "assessment_scores": "Raw scores",
    "assessment_dates": "Assessed on",
}


def cell_text(value: object) -> str:
    """A value as the pack writes it in a CSV cell and an HTML table cell: None is
    empty, a date ISO, a bool ``true``/``false``, a tuple its items joined by ``;``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return ";".join(cell_text(item) for item in value)
    return str(value)


@dataclass(frozen=True)
class PackList:
    """One list of the pack: named columns and rows of plain values.

    Values are int (ids, points), str (bands, codes, areas), ``datetime.date``,
    bool, None (no value) or a tuple of these (several values in one cell).
    """

    name: str
    columns: tuple[str, ...]
    data: tuple[tuple[Any, ...], ...] = field(repr=False)

    def __len__(self) -> int:
        return len(self.data)

    def rows(self) -> list[tuple[Any, ...]]:
        """The rows, each a tuple in :attr:`columns` order."""
        return list(self.data)

    def column(self, name: str) -> list[Any]:
        """One column's values, in row order."""
        at = self.columns.index(name)
        return [row[at] for row in self.data]

    def text_rows(self) -> list[list[str]]:
        """The rows as written to the CSV and the HTML tables (:func:`cell_text`)."""
        return [[cell_text(value) for value in row] for row in self.data]


@dataclass(frozen=True)
class Pack:
    """An area's ODOC meeting pack (see the module doc); build it with :func:`build_pack`.

    ``area`` is the area's name as the engine spells it, or
    :data:`~iomscore.cohort.UNOWNED`; ``meeting`` is D, ``previous`` D0 and
    ``interval_days`` the days to the next meeting; ``charts`` holds the chart
    of every nominal in ``managed`` and ``new_candidates`` (none when built
    with ``charts=False``). ``strand`` is the strand the pack keeps (None: every
    strand); ``strands`` the strand at D of every nominal in the lists.
    """

    area: str
    meeting: datetime.date
    previous: datetime.date
    interval_days: int
    thresholds: tuple[int, int, int]
    selection_band: str
    weights_name: str
    weights_sha256: str
    new_candidates: PackList
    risen_fallen: PackList
    deselection_candidates: PackList
    transfers: PackList
    managed: PackList
    charts: dict[int, ScoreChart] = field(repr=False)
    strand: str | None = None
    strands: dict[int, str] = field(default_factory=dict, repr=False)

    @property
    def file_suffix(self) -> str:
        """What the pack's file names end with before the extension: ``""`` for a
        pack of every strand, else ``-`` and the strand (``new_candidates-fixed.csv``),
        so one strand's files do not replace the whole pack's."""
        return "" if self.strand is None else f"-{self.strand}"

    @property
    def next_meeting(self) -> datetime.date:
        """D plus the meeting interval: the horizon of the de-selection forecast."""
        return self.meeting + datetime.timedelta(days=self.interval_days)

    def lists(self) -> dict[str, PackList]:
        """The five lists by name, in the meeting's order."""
        return {name: getattr(self, name) for name in LIST_NAMES}

    def write_csv(self, outdir: str | os.PathLike[str]) -> list[Path]:
        """Write one CSV per list (``<name>.csv``, or ``<name>-<strand>.csv`` in one
        strand's pack; header row first) into ``outdir``.

        The five files are written under temporary names and renamed into place
        only when all are complete, so a failure leaves no partial file.

        Returns
        -------
        list of Path
            The files written, in :data:`LIST_NAMES` order.
        """
        folder = Path(outdir)
        if not folder.is_dir():
            raise FileAccessError(
                f"{folder}: cannot write the pack (the directory does not exist)", path=folder
            )
        paths = [folder / f"{name}{self.file_suffix}.csv" for name in LIST_NAMES]
        with atomic_files(*map(str, paths)) as handles:
            for handle, table in zip(handles, self.lists().values(), strict=True):
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(table.columns)
                writer.writerows(table.text_rows())
        return paths

    def html(self) -> str:
        """The pack as one self-contained HTML page (see :meth:`write_html`)."""
        return _render_html(self)

    def write_html(self, path: str | os.PathLike[str]) -> Path:
        """Write the pack as one self-contained HTML page: the area, D and D0 (and the
        strand of one strand's pack), the five tables (sortable by a click on a
        header, printable) and a small inline SVG score chart for each nominal of
        ``managed`` and ``new_candidates``. A pack of every strand has a control that
        shows one strand's rows in every table (the rows a pack of that strand holds)
        and prints what it shows. The page loads nothing from anywhere. Written under
        a temporary name, then renamed."""
        target = Path(path)
        with atomic_files(str(target)) as (handle,):
            handle.write(self.html())
        return target


# ----------------------------------------------------------------------------- building
def _area_name(engine: Engine, area: str) -> str:
    if not isinstance(area, str):
        raise EngineError(f"area must be a string, not {type(area).__name__}")
    wanted = area.strip().lower()
    if wanted == UNOWNED:
        return UNOWNED
    for name in engine.areas:
        if name.lower() == wanted:
            return name
    raise EngineError(f"unknown area {area!r} (one of {', '.join(engine.areas)}, or {UNOWNED})")


def build_pack(
    engine: Engine,
    area: str,
    meeting: datetime.date | str,
    previous: datetime.date | str,
    *,
    interval_days: int = 28,
    charts: bool = True,
    strand: str | None = None,
    user: str | None = None,
    reason: str | None = None,
) -> Pack:
    """Build an area's ODOC meeting pack from the engine's public reads.

    Parameters
    ----------
    engine : Engine
        The engine, at the meeting date: the pack scores at its ``as_of``.
    area : str
        An area of ``engine.areas`` (any case), or :data:`iomscore.cohort.UNOWNED`
        for the nominals with no owner at D. A nominal belongs to the area
        that owns it at D.
    meeting : datetime.date or str (YYYY-MM-DD)
        The meeting date D; it must equal ``engine.as_of`` (advance the engine to
        the meeting date first).
    previous : datetime.date or str (YYYY-MM-DD)
        The previous meeting D0, before D and no earlier than
        ``engine.history_start`` (scores at D0 are rule 9's, as known now).
    interval_days : int, default 28
        Days from D to the next meeting: a selected nominal forecast (rule 8) to
        reach band NONE on or before D + ``interval_days`` is a de-selection
        candidate.
    charts : bool, default True
        Draw each charted nominal's score over the last two years (a timeline
        read per nominal, about a millisecond each); without them the page has
        no chart column.
    strand : {"fixed", "flex", "free"}, optional
        Keep only the nominals of this strand at D (see :mod:`iomscore.pack`):
        lists 1, 2, 3 and 5 their rows, list 4 their transfers, the charts theirs.
        Default: every strand.
    user, reason : str, optional
        With ``user``, each read of one nominal's record (``explain``,
        ``timeline``) is audited as the engine audits it.

    Returns
    -------
    Pack
        The five lists (see :mod:`iomscore.pack`) and the charts. Scores are
        points; dates are ``datetime.date``.

    Raises
    ------
    EngineError
        ``meeting`` is not the engine's ``as_of``; ``previous`` is not before
        it or is before ``engine.history_start``; an unknown area; a bad
        ``interval_days``; a ``strand`` other than fixed, flex or free.
    """
    packs = build_packs(
        engine,
        meeting,
        previous,
        [area],
        interval_days=interval_days,
        charts=charts,
        strand=strand,
        user=user,
        reason=reason,
    )
    return next(iter(packs.values()))


def build_packs(
    engine: Engine,
    meeting: datetime.date | str,
    previous: datetime.date | str,
    areas: Sequence[str] | None = None,
    *,
    interval_days: int = 28,
    charts: bool = True,
    strand: str | None = None,
    user: str | None = None,
    reason: str | None = None,
) -> dict[str, Pack]:
    """Build the packs of several areas (default: every area, then
    :data:`~iomscore.cohort.UNOWNED`), reading the cohort once.

    The cohort-wide reads (scores at D0, candidates, selection, forecast,
    transfers, decisions) are made once and split by each nominal's owner at
    D; the per-nominal reads are those of :func:`build_pack`. Parameters and
    errors as :func:`build_pack`.

    Returns
    -------
    dict of str to Pack
        Keyed by the area's name as the engine spells it (or ``"unowned"``), in
        the order given.
    """
    meeting_day = as_date(meeting, "meeting")
    previous_day = as_date(previous, "previous")
    if meeting_day != engine.as_of:
        raise EngineError(
            f"meeting {meeting_day} is not the engine's as_of {engine.as_of}: the pack scores "
            "at as_of, so advance the engine to the meeting date first"
        )
    if previous_day >= meeting_day:
        raise EngineError(
            f"previous meeting {previous_day} must be before the meeting {meeting_day}"
        )
    if type(interval_days) is not int or interval_days < 1:
        raise EngineError(f"interval_days must be a positive integer, not {interval_days!r}")
    if not (user is None or isinstance(user, str)) or not (
        reason is None or isinstance(reason, str)
    ):
        raise EngineError("user and reason must be strings")
    if strand is not None and (not isinstance(strand, str) or strand not in STRANDS):
        raise EngineError(f"strand must be one of {', '.join(STRANDS)} (or None), not {strand!r}")
    wanted = [*engine.areas, UNOWNED] if areas is None else list(areas)
    names = list(dict.fromkeys(_area_name(engine, a) for a in wanted))

    before = engine.scores_at(previous_day)  # EngineError before history_start
    candidates = engine.candidates().rows()
    selected = engine.selection().rows()
    # only the listed nominals' scores at D0 and the selected ones' forecasts are read:
    # rows (Python tuples) of the whole force would cost more than the reads themselves,
    # and the selected nominals' forecast a tenth of the force's
    listed = np.array([row[0] for row in (*candidates, *selected)], dtype=np.int64)
    ordered = np.sort(listed)  # (a lookup in the few listed: np.isin sorts the force)
    at = np.minimum(np.searchsorted(ordered, before.nominal_id), max(ordered.size - 1, 0))
    held = ordered[at] == before.nominal_id if ordered.size else np.zeros(len(before), bool)
    forecast = engine.forecast_of(listed[len(candidates) :])
    transfers = engine.transfers(previous_day, meeting_day)
    # the rows carry each candidate's and selected nominal's strand; a transferred
    # nominal may be neither (a few a month: one small read)
    strands = {row[0]: row[4] for row in (*candidates, *selected)}
    moved = [row[0] for row in transfers if row[0] not in strands]
    strands |= {n: got for n, (got, _) in engine.strands(moved).items()}
    cohort = _Cohort(
        engine=engine,
        meeting=meeting_day,
        previous=previous_day,
        interval_days=interval_days,
        thresholds=tuple(int(t) for t in engine.thresholds),  # type: ignore[arg-type]
        at_d0=dict(
            zip(
                before.nominal_id[held].tolist(),
                zip(
                    before.score[held].tolist(),
                    [BAND_NAMES[b] for b in before.band[held].tolist()],
                    strict=True,
                ),
                strict=True,
            )
        ),
        candidates=candidates,
        selected=selected,
        falls={row[0]: row for row in forecast.rows()},
        transfers=transfers,
        strand=strand,
        strands=strands,
        decisions=[(d.nominal_id, d.date, d.action) for d in engine.decisions()],
        user=user,
        reason=reason,
    )
    return {name: cohort.pack(name, charts) for name in names}


@dataclass
class _Cohort:
    """The cohort-wide reads a pack is cut from (rows as the engine gives them;
    candidates and selection rows carry the owner at D, "" for none, and the strand)."""

    engine: Engine
    meeting: datetime.date
    previous: datetime.date
    interval_days: int
    thresholds: tuple[int, int, int]
    at_d0: dict[int, tuple[int, str]]  # score and band at D0 of the listed nominals
    candidates: list[tuple]
    selected: list[tuple]
    falls: dict[int, tuple]
    transfers: list[tuple[int, datetime.date, str, str]]
    strand: str | None  # the strand kept, None for all
    strands: dict[int, str]  # the strand at D of every candidate, selected and moved nominal
    decisions: list[tuple[int, datetime.date, str]]
    user: str | None
    reason: str | None

    def was(self, nominal: int) -> tuple[int, str]:
        """Score and band at D0."""
        return self.at_d0.get(nominal, (0, "NONE"))

    def pack(self, name: str, charts: bool) -> Pack:
        owner = "" if name == UNOWNED else name
        kept = self.strand
        candidates = [r for r in self.candidates if r[3] == owner and kept in (None, r[4])]
        selected = [r for r in self.selected if r[3] == owner and kept in (None, r[4])]
        engine = self.engine
        new_candidates = self.new_candidates(candidates)
        managed = self.managed(selected)
        drawn = {}
        if charts:
            start = max(window_start(self.meeting, CHART_YEARS), engine.history_start)
            start = min(start, self.meeting)
            decided: dict[int, list[tuple[datetime.date, str]]] = {}
            for nominal, day, action in self.decisions:
                if start <= day <= self.meeting:
                    decided.setdefault(nominal, []).append((day, action))
            for n in [*managed.column("nominal_id"), *new_candidates.column("nominal_id")]:
                drawn[n] = build_score_chart(
                    engine, n, start, self.meeting, self.thresholds, decided, self.user, self.reason
                )
        lists = {
            "new_candidates": new_candidates,
            "risen_fallen": self.risen_fallen(candidates, selected),
            "deselection_candidates": self.deselection(selected),
            "transfers": self.moves(name),
            "managed": managed,
        }
        return Pack(
            area=name,
            meeting=self.meeting,
            previous=self.previous,
            interval_days=self.interval_days,
            thresholds=self.thresholds,
            selection_band=engine.selection_band,
            weights_name=engine.weights.name,
            weights_sha256=engine.weights.sha256,
            **lists,
            charts=drawn,
            strand=kept,
            strands={
                n: self.strands[n] for table in lists.values() for n in table.column("nominal_id")
            },
        )

    def new_candidates(self, candidates: list[tuple]) -> PackList:
        """1. Banded at D and not selected, with the band at D0."""
        rows = []
        for n, score, band, _, strand, *_ in candidates:
            old_score, old_band = self.was(n)
            rows.append((n, score, band, strand, old_score, old_band, old_band == "NONE"))
        return PackList(
            "new_candidates",
            (
                "nominal_id",
                "score",
                "band",
                "strand",
                "previous_score",
                "previous_band",
                "newly_banded",
            ),
            tuple(rows),
        )

    def risen_fallen(self, candidates: list[tuple], selected: list[tuple]) -> PackList:
        """2. Candidates and selected nominals whose band changed since D0."""
        changed = []
        for status, table in (("candidate", candidates), ("selected", selected)):
            for n, score, band, *_ in table:
                old_score, old_band = self.was(n)
                if band != old_band:
                    changed.append((n, status, score, band, old_score, old_band))
        since = self.engine.counting_since(
            [row[0] for row in changed], self.previous, user=self.user, reason=self.reason
        )
        moved = []
        for n, status, score, band, old_score, old_band in changed:
            new = since.get(n, [])
            new_points = sum(row[4] for row in new)
            up = BAND_NAMES.index(band) > BAND_NAMES.index(old_band)
            moved.append(
                (
                    n,
                    status,
                    "risen" if up else "fallen",
                    old_band,
                    band,
                    old_score,
                    score,
                    tuple(row[0] for row in new),
                    tuple(row[1] for row in new),
                    tuple(row[2] for row in new),
                    new_points,
                    # what counted at D0 = what still counts + what stopped (exact:
                    # whatever counts at D dated on or before D0 counted at D0)
                    old_score + new_points - score,
                )
            )
        moved.sort(key=lambda r: (r[2] != "risen", -BAND_NAMES.index(r[4]), -r[6], r[0]))
        return PackList(
            "risen_fallen",
            (
                "nominal_id",
                "status",
                "direction",
                "previous_band",
                "band",
                "previous_score",
                "score",
                "new_event_ids",
                "new_datasets",
                "new_offences",
                "new_points",
                "expired_points",
            ),
            tuple(moved),
        )

    def deselection(self, selected: list[tuple]) -> PackList:
        """3. Selected nominals NONE now, or forecast NONE on or before the next meeting."""
        horizon = self.meeting + datetime.timedelta(days=self.interval_days)
        rows = []
        for n, score, band, _, _, selected_on, _, agency, _ in selected:
            fall = self.falls.get(n)
            if band == "NONE":
                rows.append((n, score, band, "none_now", None, selected_on, agency))
            elif fall is not None and fall[5] <= horizon:
                rows.append((n, score, band, "forecast_none", fall[5], selected_on, agency))
        rows.sort(key=lambda r: (r[4] is not None, r[4] or self.meeting, r[0]))
        return PackList(
            "deselection_candidates",
            ("nominal_id", "score", "band", "reason", "none_on", "selected_on", "lead_agency"),
            tuple(rows),
        )

    def moves(self, name: str) -> PackList:
        """4. Transfers into and out of the area after D0 up to D (of the strand's
        nominals, with a strand)."""
        rows = [
            ("in" if new == name else "out", n, day, old, new)
            for n, day, old, new in self.transfers
            if name in (old, new) and self.strand in (None, self.strands[n])
        ]
        rows.sort(key=lambda r: (r[0] != "in", r[2], r[1]))
        return PackList(
            "transfers", ("direction", "nominal_id", "date", "from_area", "to_area"), tuple(rows)
        )

    def managed(self, selected: list[tuple]) -> PackList:
        """5. Every selected nominal, with its fall, interventions and assessments."""
        engine, rows = self.engine, []
        ids = [row[0] for row in selected]
        counted = _counting_assessments(engine, ids)
        actives = _active_interventions(engine, ids, self.meeting)
        for n, score, band, _, strand, selected_on, _, agency, tier in selected:
            old_score, _ = self.was(n)
            fall = self.falls.get(n)
            counting = counted.get(n, ())
            rows.append(
                (
                    n,
                    score,
                    band,
                    old_score,
                    score - old_score,
                    strand,
                    selected_on,
                    agency,
                    tier,
                    None if fall is None else fall[3],
                    None if fall is None else fall[4],
                    actives.get(n, ()),
                    tuple(tool for tool, _, _ in counting),
                    tuple(raw for _, raw, _ in counting),
                    tuple(day for _, _, day in counting),
                )
            )
        return PackList(
            "managed",
            (
                "nominal_id",
                "score",
                "band",
                "previous_score",
                "score_change",
                "strand",
                "selected_on",
                "lead_agency",
                "tier",
                "band_falls_on",
                "falls_to",
                "interventions",
                "assessment_tools",
                "assessment_scores",
                "assessment_dates",
            ),
            tuple(rows),
        )


def _counting_assessments(
    engine: Engine, ids: Sequence[int]
) -> dict[int, list[tuple[str, int, datetime.date]]]:
    """``(tool, score, date)`` of each nominal's counting assessments (one read)."""
    return engine.counting_assessments(ids)


def _active_interventions(
    engine: Engine, ids: Sequence[int], day: datetime.date
) -> dict[int, tuple[str, ...]]:
    """The kinds of each nominal's interventions active on ``day`` (one read)."""
    return engine.active_interventions(ids, day)


# ----------------------------------------------------------------------------- the page
_CSS = """
body{font:13px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1f24;
margin:16px 20px;}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 4px}
p{margin:4px 0}.meta{color:#444}.note{color:#555;font-size:12px}
nav a{margin-right:12px}
table{border-collapse:collapse;margin:6px 0 10px;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ccd;padding:2px 6px;text-align:left;vertical-align:middle}
th{background:#eef1f5;cursor:pointer;user-select:none;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \\25B2"}th[aria-sort=descending]::after{content:" \\25BC"}
th.nosort{cursor:default}
td.n{text-align:right}td.l{overflow-wrap:anywhere;max-width:16em}
tbody tr:nth-child(even){background:#fafbfc}
@supports selector(:nth-child(1 of p)){tbody tr:nth-child(even){background:none}
tbody tr:nth-child(even of :not([hidden])){background:#fafbfc}}
.HIGH{background:#ffc9c9}.MEDIUM{background:#ffd8a8}.LOW{background:#fff3bf}
svg.chart{display:block}
svg .b1{fill:#fff3bf}svg .b2{fill:#ffd8a8}svg .b3{fill:#ffc9c9}
svg .line{fill:none;stroke:#1c3d5a;stroke-width:1.5}
svg .iv{fill:#2b8a3e;opacity:.7}svg .as{fill:#3b5bdb}
svg .d-select{stroke:#2b8a3e;stroke-dasharray:2 2}svg .d-deselect{stroke:#868e96;
stroke-dasharray:2 2}
.legend span{margin-right:14px}
[hidden]{display:none!important}
.strand-filter{margin:8px 0 0}.strand-filter select{font:inherit}
@media print{@page{size:A4 landscape;margin:10mm}body{margin:0;font-size:10px}
nav{display:none}th{cursor:auto}th::after{content:""!important}
thead{display:table-header-group}tr{break-inside:avoid}h2{break-after:avoid}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""

# Sort a table by a click on a header: numbers as numbers, bands by rank, else text.
_JS = """
(function(){var R={NONE:0,LOW:1,MEDIUM:2,HIGH:3};
function key(c){var t=c.textContent.trim();if(t in R)return[0,R[t]];
var v=Number(t);return t!==""&&!isNaN(v)?[0,v]:[1,t];}
document.querySelectorAll("table.sortable th:not(.nosort)").forEach(function(th){
th.addEventListener("click",function(){var tb=th.closest("table"),b=tb.tBodies[0],
i=th.cellIndex,up=th.getAttribute("aria-sort")!=="ascending";
tb.querySelectorAll("th").forEach(function(h){h.removeAttribute("aria-sort");});
th.setAttribute("aria-sort",up?"ascending":"descending");
var rows=Array.prototype.slice.call(b.rows);rows.sort(function(p,q){
var a=key(p.cells[i]),z=key(q.cells[i]),s=a[0]-z[0]||(a[0]?String(a[1]).localeCompare(z[1]):
a[1]-z[1]);return up?s:-s;});rows.forEach(function(r){b.appendChild(r);});});});})();
"""

# Show one strand's rows (each row's nominal's strand is its data-strand) in every
# table, with the counts shown; the control stays hidden if this script cannot run.
_STRAND_JS = """
(function(){var s=document.getElementById("strand");if(!s)return;
var out=document.getElementById("strand-shown");
function show(){var v=s.value,shown=0,all=0;
document.querySelectorAll("table.sortable").forEach(function(t){var rows=t.tBodies[0].rows,n=0;
for(var i=0;i<rows.length;i++){var k=!v||rows[i].getAttribute("data-strand")===v;
rows[i].hidden=!k;if(k)n++;}shown+=n;all+=rows.length;
document.querySelectorAll('.count[data-list="'+t.id+'"]').forEach(function(c){
c.textContent=v?n+" of "+rows.length:String(rows.length);});
var none=document.getElementById("none-"+t.id);if(none)none.hidden=!(rows.length&&!n);});
out.textContent=v?v+": "+shown+" of "+all+" rows shown":"all strands: "+all+" rows";}
s.addEventListener("change",show);show();s.closest(".strand-filter").hidden=false;})();
"""

_NOTES = {
    "new_candidates": "Banded at {D} and not selected; newly banded: band NONE at {D0}.",
    "risen_fallen": (
        "Candidates and selected nominals whose band at {D} differs from their band at "
        "{D0}; the new events are those counting at {D} dated after {D0} (assessments as "
        "assessment:tool); points stopped: points counting at {D0} that no longer count "
        "(expired, or an assessment superseded)."
    ),
    "deselection_candidates": (
        "Selected nominals with band NONE at {D} (none_now), or forecast to reach NONE "
        "on or before {N} with no new event (forecast_none)."
    ),
    "transfers": "Ownership records dated after {D0} up to {D} that move a nominal in or out.",
    "managed": (
        "Every selected nominal: score and band at {D}, change since {D0}, the next forecast "
        "fall, the interventions active on {D} and the counting assessments."
    ),
}


def _cell(column: str, value: object) -> str:
    text = html.escape(cell_text(value))
    if column in ("band", "previous_band", "falls_to") and value in BAND_NAMES[1:]:
        return f'<td class="{value}">{text}</td>'
    if isinstance(value, int) and not isinstance(value, bool):
        return f'<td class="n">{text}</td>'
    if isinstance(value, tuple):
        return f'<td class="l">{text}</td>'
    return f"<td>{text}</td>"


def _table(pack: Pack, table: PackList, charted: bool) -> str:
    """A list as a sortable table; each row carries its nominal's strand (``data-strand``)."""
    head = "".join(
        f'<th data-col="{html.escape(c)}" scope="col">{html.escape(_LABELS.get(c, c))}</th>'
        for c in table.columns
    )
    if charted:
        head += '<th class="nosort" scope="col">Score, last two years</th>'
    body = []
    nominal = table.columns.index("nominal_id")
    for row in table.rows():
        cells = "".join(_cell(c, v) for c, v in zip(table.columns, row, strict=True))
        if charted:
            cells += f"<td>{pack.charts[row[0]].svg()}</td>"
        strand = html.escape(pack.strands.get(row[nominal], ""))  # "": under All only
        body.append(f'<tr data-strand="{strand}">{cells}</tr>')
    if not table.rows():
        empty = '<p class="note">None.</p>'
    elif pack.strand is None:  # shown by the strand control when it hides every row
        empty = f'<p class="note" id="none-{table.name}" hidden>None of this strand.</p>'
    else:
        empty = ""
    return (
        f'<table class="sortable" id="{table.name}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>{empty}"
    )


def _render_html(pack: Pack) -> str:
    e = html.escape
    area = "no owner (unowned)" if pack.area == UNOWNED else pack.area
    if pack.strand is not None:
        area += f", {pack.strand} strand"
    dates = {"D": pack.meeting, "D0": pack.previous, "N": pack.next_meeting}
    low, medium, high = pack.thresholds

    def count(name: str, table: PackList) -> str:
        return f'<span class="count" data-list="{name}">{len(table)}</span>'

    nav = " ".join(
        f'<a href="#s-{name}">{e(_TITLES[name])} ({count(name, table)})</a>'
        for name, table in pack.lists().items()
    )
    sections = []
    for number, (name, table) in enumerate(pack.lists().items(), start=1):
        charted = bool(pack.charts) and name in ("managed", "new_candidates")
        sections.append(
            f'<section id="s-{name}"><h2>{number}. {e(_TITLES[name])} ({count(name, table)})</h2>'
            f'<p class="note">{e(_NOTES[name].format(**dates))}</p>'
            f"{_table(pack, table, charted)}</section>"
        )
    # every chart of a pack has the engine's datasets; none without charts
    datasets = next(iter(pack.charts.values())).datasets if pack.charts else ()
    events = (
        f"ticks along the foot: events, by dataset {event_legend(datasets)}; " if datasets else ""
    )
    legend = (
        '<p class="legend note">Charts: the score (rule 9) as a step line over the last two '
        "years; shaded bands "
        f'<span class="LOW">LOW from {low}</span><span class="MEDIUM">MEDIUM from {medium}'
        f'</span><span class="HIGH">HIGH from {high}</span>; {events}blue dots: assessments; '
        "green bars: interventions; dashed lines: selection decisions.</p>"
    )
    rule = (
        "a nominal's strand is its strand at D: a decision's, else the one its counting events give"
    )
    if pack.strand is None:
        strand = (
            f'<p class="meta">Strand: all ({rule}).</p>'
            '<p class="strand-filter" hidden><label for="strand">Show strand</label> '
            '<select id="strand"><option value="">All</option>'
            + "".join(f'<option value="{s}">{s}</option>' for s in STRANDS)
            + '</select> <span id="strand-shown" role="status"></span> <span class="note">'
            "(every list keeps the rows of that strand's nominals; printing prints the rows "
            "shown)</span></p>"
        )
        script = _JS + _STRAND_JS
    else:
        strand = (
            f'<p class="meta">Strand: <b>{e(pack.strand)}</b> only ({rule}): lists 1, 2, 3 '
            f"and 5 hold the {e(pack.strand)} strand's nominals, list 4 their transfers.</p>"
        )
        script = _JS
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>ODOC pack: {e(area)}, {pack.meeting}</title>"
        f"<style>{_CSS}{event_style(datasets)}</style></head><body>"
        f"<header><h1>ODOC meeting pack: {e(area)}</h1>"
        f'<p class="meta">Meeting (D) <b>{pack.meeting}</b>; previous meeting (D0) '
        f"<b>{pack.previous}</b>; next meeting due {pack.next_meeting} "
        f"({pack.interval_days} days). Candidates: band {e(pack.selection_band)} and above, "
        "not selected.</p>"
        f'<p class="meta">Scores under the weight table {e(pack.weights_name)} '
        f"(SHA-256 {e(pack.weights_sha256[:12])}); scores at D0 are as known now, under the "
        f"same table. Pseudonymous ids only. iomscore {e(__version__)}.</p>"
        f"{strand}<nav>{nav}</nav>{legend}</header>"
        f"<main>{''.join(sections)}</main>"
        f"<script>{script}</script></body></html>\n"
    )
