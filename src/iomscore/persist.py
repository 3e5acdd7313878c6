"""An engine's state to and from its durable form (:mod:`iomscore.durable`).

:func:`capture` takes what a snapshot holds from an engine; :func:`restore`
builds the engine again from it, and :func:`replay` applies a journaled
change. A restored engine is indistinguishable from the one captured: the
same nominals at the same store indices (so the archive's references hold),
the same live and archived events, weight tables, history and change log.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._version import __version__
from .assessments import AssessmentBatch, AssessmentTable
from .batch import EncodedBatch, sorted_with_rows
from .calendar import day_number, from_day_number
from .changelog import CAUSES
from .durable import FORMAT_VERSION, SNAPSHOT, Record, State
from .errors import StateError
from .records import FILE as RECORDS
from .records import Records
from .results import BAND_NAMES, BandChanges
from .weights import Weights

if TYPE_CHECKING:
    from .engine import Engine

__all__ = ["capture", "replay", "restore"]


def capture(engine: Engine, generation: int) -> State:
    """The engine's whole state, for a snapshot of this generation."""
    store = engine._store
    kinds = store.event_kinds()
    live = np.flatnonzero(kinds != 0xFFFF)
    residue = store.event_days()[live].astype(np.int64)
    days = store.as_of - ((store.as_of - residue) & 0xFFFF)
    ids = store.event_ids()[live]
    # by day, then id: a reopen's apply fills each day's slots in sequence, and the id
    # index in sequence where ids follow the date, as an export's do; a day's expiry
    # then reads its slots in sequence (bench/README.md; _snapshot_order)
    order = _snapshot_order(days, ids)
    live, days, ids = live[order], days[order], ids[order]
    archive = engine._archive
    archived = archive.columns(archive.dated(-(2**62), 2**62))
    return State(
        meta={
            "format": FORMAT_VERSION,
            "iomscore": __version__,
            "generation": generation,
            "as_of": engine.as_of.isoformat(),
            "window_years": engine.window_years,
            "history_years": engine.history_years,
            "thresholds": list(engine.thresholds),
            "weights": engine.weights.sha256,
            "assessment_table": engine.assessment_table.sha256,
            "areas": list(engine.areas),
            "selection_band": engine.selection_band,
            "flex_groups": None if engine._flex is None else list(engine._flex),
            "history": [[r.name, r.sha256, r.as_of.isoformat(), r.mode] for r in engine.history],
            "live_events": int(live.size),
            "archived_events": int(archived[0].size),
            "audit_head": list(engine._audit_head) if engine._audit_head else None,
        },
        nominals=store.nominal_ids().copy(),
        live=(
            ids,
            store.event_nominals()[live],
            kinds[live],
            days.astype(np.int32),
        ),
        archived=archived,
        assessments=engine._book.rows(),
    )


def _snapshot_order(days: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """The order of a snapshot's live events: by day, and within a day by event id
    when day, id and row number fit in one 62-bit key (one sort of packed keys),
    else in the store's order (a stable sort of the days, 16 bits: by radix). Either
    way a reopen fills each day's slots in sequence. (Ids too far apart to pack so
    would need an argsort, 2-3 s at national size.)"""
    if ids.size == 0:
        return np.empty(0, np.int64)
    within = days - days.min()  # the store's days are a 16-bit ring
    id_low = int(ids.min())
    id_bits = max(int(ids.max()) - id_low, 1).bit_length()
    day_bits = max(int(within.max()), 1).bit_length()
    row_bits = max(ids.size - 1, 1).bit_length()
    if day_bits + id_bits + row_bits <= 62:  # what sorted_with_rows packs
        keys = within.astype(np.int64) << id_bits
        keys |= ids.astype(np.int64) - id_low
        return sorted_with_rows(keys)[1]
    return np.argsort(within.astype(np.uint16), kind="stable").astype(np.int64)


def restore(
    state: State, engine_class: type[Engine], threads: int | None, directory: Path, readonly: bool
) -> Engine:
    """Build an engine from a snapshot's state and the directory's records."""
    from .engine import WeightsRecord

    where = str(directory / SNAPSHOT)
    meta = state.meta
    records = Records(directory, readonly=readonly)
    texts = records.tables()
    missing = sorted({row[1] for row in meta.get("history", [])} - set(texts))
    if missing:
        records.close()
        raise StateError(
            f"{directory / RECORDS}: weight table {missing[0]} of the engine's history is missing"
        )
    try:
        tables = {
            row[1]: Weights.from_text(texts[row[1]], source=f"{directory / RECORDS} table")
            for row in meta["history"]
        }
        weights = tables[meta["weights"]]
        assessment_table = None  # a directory made before assessments: the shipped table
        if "assessment_table" in meta:
            texts = records.assessment_tables()
            sha = meta["assessment_table"]
            if sha not in texts:
                records.close()
                raise StateError(
                    f"{directory / RECORDS}: the assessment table {sha} in force is missing"
                )
            assessment_table = AssessmentTable.from_text(
                texts[sha], source=f"{directory / RECORDS} assessment table"
            )
            if assessment_table.sha256 != sha:
                records.close()
                raise StateError(f"{where}: the assessment table's SHA-256 differs")
        engine = engine_class(
            weights,
            meta["as_of"],
            window_years=meta["window_years"],
            thresholds=tuple(meta["thresholds"]),
            threads=threads,
            history_years=meta["history_years"],
            assessment_table=assessment_table,
            areas=meta.get("areas"),  # None before areas: the default
            selection_band=meta.get("selection_band", "LOW"),
            flex_groups=meta.get("flex_groups"),
        )
        history = [
            WeightsRecord(name, sha, datetime.date.fromisoformat(day), mode)
            for name, sha, day, mode in meta["history"]
        ]
    except (KeyError, TypeError, ValueError) as exc:
        records.close()
        raise StateError(f"{where}: section 'meta' does not describe an engine ({exc})") from None
    engine._records.close()
    engine._records = records
    head = meta.get("audit_head")
    engine._audit_head = None if head is None else (int(head[0]), str(head[1]))
    for sha, table in tables.items():
        if table.sha256 != sha:
            raise StateError(f"{where}: section 'tables' holds a table whose SHA-256 differs")
    engine._tables = tables
    engine._history = history
    # the change log before the events: read while the snapshot's check runs
    rows = records.change_rows(int(meta["generation"]))
    if rows:
        date, nominal, old, new, score, cause = zip(*rows, strict=True)
        # each distinct date and cause converted once (a national log has 100,000s of rows)
        days = {d: day_number(datetime.date.fromisoformat(d)) for d in set(date)}
        day = np.fromiter(map(days.__getitem__, date), np.int64, len(date))
        codes = {name: code for code, name in enumerate(BAND_NAMES)}
        old_band = np.fromiter(map(codes.__getitem__, old), np.int8, len(old))
        new_band = np.fromiter(map(codes.__getitem__, new), np.int8, len(new))
        nominal_id, points = np.array(nominal, np.int64), np.array(score, np.int64)
        cause_codes = {c: CAUSES.index(c) for c in set(cause)}
        causes = np.fromiter(map(cause_codes.__getitem__, cause), np.int64, len(cause))
        breaks = np.flatnonzero((day[1:] != day[:-1]) | (causes[1:] != causes[:-1])) + 1
        for lo, hi in zip([0, *breaks.tolist()], [*breaks.tolist(), day.size], strict=True):
            engine._changelog.record(
                int(day[lo]),
                cause[lo],
                BandChanges(nominal_id[lo:hi], old_band[lo:hi], new_band[lo:hi], points[lo:hi]),
            )
    state.check()  # (read_snapshot(check_later=True)): before the events are used
    store = engine._store
    store.add_nominals(np.ascontiguousarray(state.nominals))
    ids, noms, kinds, days = state.live
    if ids.size:
        if noms.min() < 0 or noms.max() >= state.nominals.size:
            raise StateError(f"{where}: section 'live' names nominals the snapshot lacks")
        index = np.ascontiguousarray(noms, dtype=np.int32)  # (a view when int32 already)
        # The snapshot's events are distinct (it was written from a store, and its
        # checksum holds) and their nominals are held at these indices already:
        # every row is new, so the lookups of a classify are skipped, and the
        # nominals' ids are not gathered (apply reads them only to look one up).
        status = np.zeros(ids.size, dtype=np.int8)  # IOM_NEW
        action, plan = store.plan(status, days)
        if plan["taken"] != ids.size:
            raise StateError(f"{where}: section 'live' holds events that do not fit its window")
        store.apply(ids, None, kinds, days, action, index)
    engine._archive.append(*state.archived)
    _restore_cohort(engine, records, where)
    # (the snapshot's arrays are read-only views of its bytes: the book keeps copies)
    ids, nominal, tool, score, day = (np.array(a) for a in state.assessments)
    if ids.size:
        n_nom = state.nominals.size
        if (
            nominal.min() < 0
            or nominal.max() >= n_nom
            or tool.min() < 0
            or tool.max() >= len(engine.assessment_table.tools)
        ):
            raise StateError(f"{where}: section 'assessed' names nominals or tools it lacks")
        table = engine.assessment_table
        if (table.points_of(tool, score) < 0).any():
            raise StateError(f"{where}: section 'assessed' holds scores its table lacks")
        book = engine._book
        noms, delta = book.change(
            np.empty(0, np.intp),
            (ids, nominal, tool, score, day),
            engine._store.start,
            table.points_of,
            n_nom,
        )
        store.add_scores(noms, delta, True)
    engine._version += 1
    return engine


def _restore_cohort(engine: Engine, records: Records, where: str) -> None:
    """The ownership records and decisions, from the records database (their home)."""
    from .cohort import Decision, encode_ownership

    rows = records.ownership_rows()
    if rows:
        nominal, area, date = zip(*rows, strict=True)
        try:
            checked = encode_ownership(
                {"nominal_id": list(nominal), "area": list(area), "from_date": list(date)},
                engine.areas,
            )
        except StateError:
            raise
        except Exception as exc:
            raise StateError(f"{where}: records.sqlite's ownership does not fit ({exc})") from None
        engine._owners.add(checked)
    decisions = [
        Decision(n, datetime.date.fromisoformat(d), *rest)
        for n, d, *rest in records.decision_rows()
    ]
    engine._decisions.add(decisions)
    engine._hold_decided(decisions)


def replay(engine: Engine, record: Record) -> None:
    """Apply a journaled change to an engine that is not journaling."""
    args = record.args
    if record.op == "ingest":
        event_id, nominal_id, kind, day = args["arrays"]
        batch = EncodedBatch(event_id, nominal_id, kind, day, engine.weights.layout)
        engine.ingest_encoded(batch, replace=args["replace"], future=args["future"])
    elif record.op == "retract":
        engine.retract(args["event_ids"])
    elif record.op == "advance":
        engine.advance(from_day_number(args["day"]))
    elif record.op == "reweight":
        engine.reweight(Weights.from_text(args["csv"], source="journal"))
    elif record.op == "reweight_tables":
        engine.reweight(
            Weights.from_text(args["csv"], source="journal"),
            assessment_table=AssessmentTable.from_text(args["assessments_csv"], source="journal"),
        )
    elif record.op == "assess":
        ids, nominal_id, tool, score, day = args["arrays"]
        table = engine.assessment_table
        batch = AssessmentBatch(
            ids, nominal_id, tool, score, day, table.points_of(tool, score), table.sha256
        )
        engine._assess_encoded(batch, replace=args["replace"])
    elif record.op == "retract_assessments":
        engine.retract_assessments(args["ids"])
