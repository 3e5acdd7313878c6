"""Interventions: what is done with a nominal, recorded and listed (never scored).

An intervention has an ``intervention_id`` (int64, unique), a ``nominal_id``, a
``kind`` from a catalogue (``weights/interventions.csv``: a code and a
description each), a ``start`` date, an optional ``end`` (on or after the
start) and a ``lead_agency`` from :data:`AGENCIES`. The framework tracks them so
that they "can be easily plotted" against the nominal's score.

This module checks and encodes batches; the engine keeps the records (in the
records database, :mod:`iomscore.records`).
"""

from __future__ import annotations

import csv
import datetime
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._lazy import LazyModule
from .batch import (
    RowLabel,
    _check_unique,
    _columns,
    _day_column,
    _encode_text,
    _id_column,
    _to_arrow,
    row_label,
)
from .calendar import from_day_number
from .errors import EventError, RecordError

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
else:  # imported on first use (see _lazy)
    pa = LazyModule("pyarrow")
    pc = LazyModule("pyarrow.compute")

__all__ = [
    "AGENCIES",
    "COLUMNS",
    "NOT_ENDED",
    "Catalogue",
    "InterventionBatch",
    "InterventionTable",
    "encode_interventions",
]

COLUMNS = ("intervention_id", "nominal_id", "kind", "start", "end", "lead_agency")
#: The end of an intervention not ended: a day number no date has (dates start
#: at 0001-01-01, day -719,162).
NOT_ENDED = int(np.iinfo(np.int32).min)
#: The agencies that lead an intervention.
AGENCIES = (
    "police",
    "probation",
    "youth_offending_service",
    "local_authority",
    "health",
    "voluntary_sector",
    "other",
)


@dataclass(frozen=True)
class Catalogue:
    """The kinds of intervention: a code and a description each."""

    name: str
    kinds: dict[str, str]

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Catalogue:
        """Read a catalogue CSV (``code,description``, ``#`` metadata lines first)."""
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise RecordError(
                f"{path}: cannot read the intervention catalogue ({exc.strerror})"
            ) from None
        return cls.from_text(text, source=str(path))

    @classmethod
    def default(cls) -> Catalogue:
        """The shipped catalogue, ``weights/interventions.csv``."""
        from .weights import shipped_file

        return cls.load(shipped_file("interventions.csv"))

    @classmethod
    def from_text(cls, text: str, *, source: str = "<text>") -> Catalogue:
        from .weights import read_metadata

        lines = text.splitlines()
        metadata, first = read_metadata(lines)
        name = metadata.get("name", "unnamed")
        rows = list(csv.reader(io.StringIO("\n".join(lines[first:]))))
        if not rows or [h.strip() for h in rows[0]] != ["code", "description"]:
            raise RecordError(f"{source}: line {first + 1}: the header must be 'code,description'")
        kinds: dict[str, str] = {}
        for number, row in enumerate(rows[1:], start=first + 2):
            if len(row) != 2 or not row[0].strip():
                raise RecordError(f"{source}: line {number}: expected a code and a description")
            code = row[0].strip()
            if code in kinds:
                raise RecordError(f"{source}: line {number}: code {code!r} appears twice")
            kinds[code] = row[1].strip()
        if not kinds:
            raise RecordError(f"{source}: no kinds of intervention")
        return cls(name, kinds)


@dataclass(frozen=True)
class InterventionBatch:
    """A checked batch: ids, nominal ids, kinds, start and end day numbers (end
    :data:`NOT_ENDED` where none is given) and lead agencies, one entry per row."""

    intervention_id: np.ndarray
    nominal_id: np.ndarray
    kind: list[str]
    start: np.ndarray
    end: np.ndarray
    lead_agency: list[str]

    def __len__(self) -> int:
        return int(self.intervention_id.shape[0])


@dataclass(frozen=True)
class InterventionTable:
    """Interventions, by start date then intervention_id. ``end`` is NaT where the
    intervention has not ended."""

    intervention_id: np.ndarray
    nominal_id: np.ndarray
    kind: tuple[str, ...]
    description: tuple[str, ...] = field(repr=False)
    start: np.ndarray = field(repr=False)
    end: np.ndarray = field(repr=False)
    lead_agency: tuple[str, ...] = field(repr=False)

    def __len__(self) -> int:
        return int(self.intervention_id.shape[0])

    def rows(self) -> list[tuple[int, int, str, datetime.date, datetime.date | None, str]]:
        """``(intervention_id, nominal_id, kind, start, end, lead_agency)``."""
        return list(
            zip(
                self.intervention_id.tolist(),
                self.nominal_id.tolist(),
                self.kind,
                self.start.tolist(),
                self.end.tolist(),
                self.lead_agency,
                strict=True,
            )
        )


def _as_record_error(error: EventError) -> RecordError:
    return RecordError(str(error), row=error.row, field=error.field)


def _end_column(values: object, label: RowLabel) -> np.ndarray:
    """End dates as day numbers; a missing or empty value (not ended) is NOT_ENDED."""
    items = _to_arrow(values)
    if pa.types.is_string(items.type) or pa.types.is_large_string(items.type):
        trimmed = pc.utf8_trim_whitespace(items)
        blank = np.asarray(pc.fill_null(pc.equal(trimmed, ""), True))
    else:
        blank = np.asarray(items.is_null())
    given = np.flatnonzero(~blank)
    end = np.full(len(items), NOT_ENDED, dtype=np.int32)
    if given.size:
        try:
            end[given] = _day_column(
                items.take(pa.array(given)), "end", lambda row: label(int(given[row]))
            )
        except EventError as exc:  # its row is one of the given ends: the batch's row
            row = None if exc.row is None else int(given[exc.row])
            raise EventError(str(exc), row=row, field="end") from None
    return end


def encode_interventions(
    batch: object, catalogue: Catalogue, *, label: RowLabel = row_label
) -> InterventionBatch:
    """Check a batch of interventions; a RecordError names the row and field of the
    first fault, and nothing of the batch is taken."""
    try:
        columns, n = _columns(batch, COLUMNS, "interventions")
        ids = _id_column(columns["intervention_id"], "intervention_id", label)
        nominals = _id_column(columns["nominal_id"], "nominal_id", label)
        known = list(catalogue.kinds)

        def kind_code(value: str) -> int | str:
            code = value.strip()
            if code in catalogue.kinds:
                return known.index(code)
            return (
                f"unknown intervention kind {value!r} (not in the catalogue "
                f"{catalogue.name!r}: {', '.join(known[:4])}, ...)"
            )

        def agency_code(value: str) -> int | str:
            code = value.strip().lower()
            if code in AGENCIES:
                return AGENCIES.index(code)
            return f"unknown lead agency {value!r} (one of {', '.join(AGENCIES)})"

        kind_codes, kind_rows = _encode_text(columns["kind"], "kind", label, kind_code)
        agency_codes, agency_rows = _encode_text(
            columns["lead_agency"], "lead_agency", label, agency_code
        )
        start = _day_column(columns["start"], "start", label)
        end = _end_column(columns["end"], label)
        _check_unique(ids, label, "intervention_id")
    except EventError as exc:
        raise _as_record_error(exc) from None
    before = np.flatnonzero((end != NOT_ENDED) & (end < start))
    if before.size:
        row = int(before[0])
        raise RecordError(
            f"{label(row)}, field 'end': {from_day_number(end[row])} is before its start "
            f"{from_day_number(start[row])}",
            row=row,
            field="end",
        )
    return InterventionBatch(
        ids,
        nominals,
        [known[c] for c in kind_codes[kind_rows].tolist()] if n else [],
        start,
        end,
        [AGENCIES[c] for c in agency_codes[agency_rows].tolist()] if n else [],
    )
