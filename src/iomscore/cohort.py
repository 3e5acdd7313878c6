"""The IOM cohort: areas and ownership, and selection and de-selection decisions.

At the One Day One Conversation (ODOC) meeting partners select nominals into
the managed cohort and de-select them; each local board (an area) runs its
own, and a nominal moves between areas by a transfer.

- **Ownership** records are ``nominal_id, area, from_date``: a transfer is a
  new record and the old one is kept, so the owner on any date is the area of
  the latest record dated on or before it. A nominal with no record on a date
  has no owner (:data:`UNOWNED` in filters), never dropped.
- **Decisions** are ``select`` (date, meeting id, lead agency, optional tier)
  and ``deselect`` (date, meeting id, reason code, a note for ``other``). A
  decision may set the nominal's strand, with a reason. Selecting a nominal
  selected already, de-selecting one not selected, and a decision dated
  before the nominal's last decision are refused.

This module checks batches and keeps the books the engine reads; the records
live in the records database (:mod:`iomscore.records`), audited.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .batch import RowLabel, _columns, _day_column, _encode_text, _id_column, _to_arrow, row_label
from .calendar import from_day_number
from .errors import EventError, RecordError
from .interventions import AGENCIES

__all__ = [
    "DEFAULT_AREAS",
    "DESELECT_REASONS",
    "STRANDS",
    "UNOWNED",
    "Decision",
    "DecisionBook",
    "OwnershipBook",
    "encode_decisions",
    "encode_ownership",
]

#: The seven West Midlands metropolitan boroughs, one local board each.
DEFAULT_AREAS = (
    "Birmingham",
    "Coventry",
    "Dudley",
    "Sandwell",
    "Solihull",
    "Walsall",
    "Wolverhampton",
)
#: The area filter that selects nominals with no owner on the date.
UNOWNED = "unowned"
#: Why a nominal is de-selected; ``other`` needs a note.
DESELECT_REASONS = (
    "score_below_threshold",
    "long_custodial_sentence",
    "moved_out_of_force",
    "deceased",
    "other",
)
#: The cohort strands of the national IOM framework (2020, revised 2025).
STRANDS = ("fixed", "flex", "free")
OWNERSHIP_COLUMNS = ("nominal_id", "area", "from_date")
DECISION_COLUMNS = ("nominal_id", "date", "action", "meeting_id")
DECISION_OPTIONAL = ("lead_agency", "tier", "reason", "note", "strand", "strand_reason")


def check_areas(areas: Sequence[str]) -> tuple[str, ...]:
    """A list of area names: distinct, non-empty, not :data:`UNOWNED`."""
    names = tuple(str(a).strip() for a in areas)
    if not names:
        raise RecordError("the area list is empty")
    for name in names:
        if not name or name.lower() == UNOWNED or "," in name:
            raise RecordError(f"{name!r} is not an area name")
    if len({n.lower() for n in names}) != len(names):
        raise RecordError(f"the area list {list(names)} names an area twice")
    return names


def _record_error(exc: EventError) -> RecordError:
    return RecordError(str(exc), row=exc.row, field=exc.field)


def _lookup(names: Sequence[str], what: str) -> object:
    by_lower = {n.lower(): i for i, n in enumerate(names)}

    def code(value: str) -> int | str:
        found = by_lower.get(value.strip().lower())
        if found is None:
            return f"unknown {what} {value!r} (one of {', '.join(names)})"
        return found

    return code


@dataclass(frozen=True)
class OwnershipBatch:
    """Checked ownership records: nominal ids, area codes, from-date day numbers."""

    nominal_id: np.ndarray
    area: np.ndarray
    day: np.ndarray

    def __len__(self) -> int:
        return int(self.nominal_id.shape[0])


def encode_ownership(
    batch: object, areas: Sequence[str], *, label: RowLabel = row_label
) -> OwnershipBatch:
    """Check ownership records; a RecordError names the row and field of the first
    fault (an unknown area, a bad id or date, a nominal given twice for one date)."""
    try:
        columns, n = _columns(batch, OWNERSHIP_COLUMNS, "ownership records")
        nominals = _id_column(columns["nominal_id"], "nominal_id", label)
        codes, rows = _encode_text(columns["area"], "area", label, _lookup(areas, "area"))
        days = _day_column(columns["from_date"], "from_date", label)
    except EventError as exc:
        raise _record_error(exc) from None
    area = codes[rows].astype(np.int16) if n else np.empty(0, np.int16)
    order = np.lexsort((np.arange(n), days, nominals))
    same = np.flatnonzero(
        (nominals[order][1:] == nominals[order][:-1]) & (days[order][1:] == days[order][:-1])
    )
    if same.size:
        row = int(order[same[0] + 1])
        raise RecordError(
            f"{label(row)}, field 'from_date': nominal {int(nominals[row])} is given an owner "
            f"from {from_day_number(days[row])} twice in the batch",
            row=row,
            field="from_date",
        )
    return OwnershipBatch(nominals, area, days.astype(np.int32))


class OwnershipBook:
    """Every ownership record, in (nominal_id, from_date) order, for lookups by date."""

    def __init__(self) -> None:
        self.nominal_id = np.empty(0, np.int64)
        self.day = np.empty(0, np.int32)
        self.area = np.empty(0, np.int16)

    def __len__(self) -> int:
        return int(self.nominal_id.shape[0])

    def find(self, nominal_id: np.ndarray, day: np.ndarray) -> np.ndarray:
        """The row of each (nominal_id, from-date) record, or -1."""
        if self.nominal_id.size == 0:
            return np.full(len(nominal_id), -1, np.int64)
        # a record's key: its nominal's rank among the held ids, then its day
        first = np.ones(self.nominal_id.size, dtype=bool)
        first[1:] = self.nominal_id[1:] != self.nominal_id[:-1]
        held = self.nominal_id[first]
        rank = np.cumsum(first) - 1
        key = rank * 2**32 + (self.day.astype(np.int64) + 2**31)
        want_rank = np.searchsorted(held, nominal_id)
        want_rank[want_rank == held.size] = 0
        known = held[want_rank] == nominal_id
        want = want_rank * 2**32 + (np.asarray(day, np.int64) + 2**31)
        at = np.searchsorted(key, want)
        at[at == key.size] = 0
        return np.where(known & (key[at] == want), at, -1)

    def add(self, batch: OwnershipBatch) -> None:
        """Add records (a record for a held (nominal, date) replaces it)."""
        held = self.find(batch.nominal_id, batch.day)
        replaced = held >= 0
        self.area[held[replaced]] = batch.area[replaced]
        new = ~replaced
        nominal = np.concatenate((self.nominal_id, batch.nominal_id[new]))
        day = np.concatenate((self.day, batch.day[new]))
        area = np.concatenate((self.area, batch.area[new]))
        order = np.lexsort((day, nominal))
        self.nominal_id, self.day, self.area = nominal[order], day[order], area[order]

    def owners_on(self, day: int) -> tuple[np.ndarray, np.ndarray]:
        """``(nominal_id, area code)`` of every nominal owned on a day, by nominal_id."""
        dated = np.flatnonzero(self.day <= day)
        ids = self.nominal_id[dated]
        last = np.ones(dated.size, dtype=bool)
        last[:-1] = ids[1:] != ids[:-1]
        return ids[last], self.area[dated[last]]

    def area_of(self, nominal_ids: np.ndarray, day: int) -> np.ndarray:
        """The area code of each nominal on a day; -1 for none."""
        owned, area = self.owners_on(day)
        at = np.searchsorted(owned, nominal_ids)
        at[at == owned.size] = 0
        hit = (owned[at] == nominal_ids) if owned.size else np.zeros(len(nominal_ids), bool)
        return np.where(hit, area[at] if owned.size else -1, -1).astype(np.int16)

    def of_nominal(self, nominal_id: int) -> list[tuple[int, int]]:
        """``(day, area code)`` of one nominal's records, oldest first."""
        lo, hi = np.searchsorted(self.nominal_id, [nominal_id, nominal_id + 1])
        return list(zip(self.day[lo:hi].tolist(), self.area[lo:hi].tolist(), strict=True))

    def transfers(self, after: int, until: int) -> tuple[np.ndarray, ...]:
        """Records dated in ``(after, until]`` that move a nominal from one area to
        another: ``(nominal_id, day, from area, to area)``, by date then nominal_id."""
        rows = np.flatnonzero((self.day > after) & (self.day <= until))
        rows = rows[rows > 0]
        rows = rows[self.nominal_id[rows - 1] == self.nominal_id[rows]]
        rows = rows[self.area[rows - 1] != self.area[rows]]
        order = np.lexsort((self.nominal_id[rows], self.day[rows]))
        rows = rows[order]
        return self.nominal_id[rows], self.day[rows], self.area[rows - 1], self.area[rows]


@dataclass(frozen=True)
class Decision:
    """One selection decision (see the module doc)."""

    nominal_id: int
    date: datetime.date
    action: str  # "select" or "deselect"
    meeting_id: str
    lead_agency: str | None = None
    tier: str | None = None
    reason: str | None = None
    note: str | None = None
    strand: str | None = None
    strand_reason: str | None = None


def _text_column(values: object, n: int) -> list[str | None]:
    """An optional text column: None where missing or empty."""
    if values is None:
        return [None] * n
    items = _to_arrow(values).to_pylist()
    out = []
    for value in items:
        text = None if value is None else str(value).strip()
        out.append(text or None)
    return out


def encode_decisions(
    batch: object, *, label: RowLabel = row_label, max_day: int | None = None
) -> list[Decision]:
    """Check decisions, each on its own (the engine checks them against the nominal's
    earlier decisions); a RecordError names the row and field of the first fault."""
    try:
        columns, n = _columns(batch, DECISION_COLUMNS, "decisions")
        nominals = _id_column(columns["nominal_id"], "nominal_id", label)
        days = _day_column(columns["date"], "date", label)
    except EventError as exc:
        raise _record_error(exc) from None
    optional = {}
    for name in DECISION_OPTIONAL:
        try:
            values = _columns(batch, (name,), "decisions")[0][name]
        except EventError:  # an optional column left out
            values = None
        if values is not None and len(values) != n:  # type: ignore[arg-type]
            raise RecordError(f"field {name!r}: the column's length differs", field=name)
        optional[name] = _text_column(values, n)
    actions = _text_column(columns["action"], n)
    meetings = _text_column(columns["meeting_id"], n)
    out = []
    for row in range(n):

        def fail(field_name: str, message: str, row: int = row) -> RecordError:
            return RecordError(
                f"{label(row)}, field {field_name!r}: {message}", row=row, field=field_name
            )

        action = (actions[row] or "").lower()
        if action not in ("select", "deselect"):
            raise fail("action", f"{actions[row]!r} is not 'select' or 'deselect'")
        if meetings[row] is None:
            raise fail("meeting_id", "missing value")
        day = int(days[row])
        if max_day is not None and day > max_day:
            raise fail("date", f"{from_day_number(day)} is after as_of {from_day_number(max_day)}")
        get = {name: optional[name][row] for name in DECISION_OPTIONAL}
        if action == "select":
            agency = (get["lead_agency"] or "").lower()
            if agency not in AGENCIES:
                raise fail(
                    "lead_agency",
                    f"{get['lead_agency']!r}: a selection needs a lead agency, one of "
                    f"{', '.join(AGENCIES)}",
                )
            get["lead_agency"] = agency
            if get["reason"] is not None:
                raise fail("reason", "a selection takes no de-selection reason")
        else:
            reason = (get["reason"] or "").lower()
            if reason not in DESELECT_REASONS:
                raise fail(
                    "reason",
                    f"{get['reason']!r}: a de-selection needs a reason, one of "
                    f"{', '.join(DESELECT_REASONS)}",
                )
            if reason == "other" and get["note"] is None:
                raise fail("note", "the reason 'other' needs a note")
            get["reason"] = reason
            if get["lead_agency"] is not None or get["tier"] is not None:
                field_name = "lead_agency" if get["lead_agency"] is not None else "tier"
                raise fail(field_name, "a de-selection takes no lead agency or tier")
        if get["strand"] is not None:
            strand = get["strand"].lower()
            if strand not in STRANDS:
                raise fail("strand", f"{get['strand']!r} is not a strand ({', '.join(STRANDS)})")
            if get["strand_reason"] is None:
                raise fail("strand_reason", "a strand set by a decision needs its reason")
            get["strand"] = strand
        elif get["strand_reason"] is not None:
            raise fail("strand", "a strand reason without a strand")
        out.append(Decision(int(nominals[row]), from_day_number(day), action, meetings[row], **get))
    return out


class DecisionBook:
    """Every decision, in the order taken, with each nominal's last one."""

    def __init__(self) -> None:
        self.decisions: list[Decision] = []
        self._last: dict[int, int] = {}  # nominal_id -> index of its last decision

    def __len__(self) -> int:
        return len(self.decisions)

    def check(self, batch: Sequence[Decision], label: RowLabel = row_label) -> None:
        """Refuse a batch (RecordError naming the row and field) whose decisions do not
        follow each nominal's earlier ones, in row order."""
        last: dict[int, Decision] = {}
        for row, decision in enumerate(batch):
            nominal = decision.nominal_id
            before = last.get(nominal)
            if before is None and nominal in self._last:
                before = self.decisions[self._last[nominal]]
            selected = before is not None and before.action == "select"
            if before is not None and decision.date < before.date:
                raise RecordError(
                    f"{label(row)}, field 'date': {decision.date} is before nominal "
                    f"{nominal}'s last decision ({before.action}, {before.date})",
                    row=row,
                    field="date",
                )
            if decision.action == "select" and selected:
                raise RecordError(
                    f"{label(row)}, field 'action': nominal {nominal} is selected already "
                    f"(since {before.date}, meeting {before.meeting_id})",  # type: ignore[union-attr]
                    row=row,
                    field="action",
                )
            if decision.action == "deselect" and not selected:
                raise RecordError(
                    f"{label(row)}, field 'action': nominal {nominal} is not selected",
                    row=row,
                    field="action",
                )
            last[nominal] = decision

    def add(self, batch: Sequence[Decision]) -> None:
        for decision in batch:
            self._last[decision.nominal_id] = len(self.decisions)
            self.decisions.append(decision)

    def of_nominal(self, nominal_id: int) -> list[Decision]:
        return [d for d in self.decisions if d.nominal_id == nominal_id]

    def state_on(self, date: datetime.date) -> dict[int, tuple[Decision, Decision | None]]:
        """The nominals selected on a date: ``{nominal_id: (its select decision, the
        last decision on or before the date that set a strand, or None)}``."""
        selected: dict[int, tuple[Decision, Decision | None]] = {}
        strand: dict[int, Decision] = {}
        for decision in self.decisions:  # in order taken: dates ascend per nominal
            if decision.date > date:
                continue
            if decision.strand is not None:
                strand[decision.nominal_id] = decision
            if decision.action == "select":
                selected[decision.nominal_id] = (decision, None)
            else:
                selected.pop(decision.nominal_id, None)
                strand.pop(decision.nominal_id, None)
        return {n: (d, strand.get(n)) for n, (d, _) in selected.items()}


@dataclass(frozen=True)
class SelectionTable:
    """Nominals selected on a date, or candidates: by band (highest first), then
    score descending, then nominal_id. ``area`` is the owner on the date ("" for
    none); ``strand`` is the decision's where one set it, else the events' rule
    (``strand_set_by`` "decision" or "events")."""

    as_of: datetime.date
    nominal_id: np.ndarray
    score: np.ndarray
    band: tuple[str, ...]
    area: tuple[str, ...]
    strand: tuple[str, ...]
    strand_set_by: tuple[str, ...]
    selected_on: tuple[datetime.date | None, ...] = field(repr=False)
    meeting_id: tuple[str | None, ...] = field(repr=False)
    lead_agency: tuple[str | None, ...] = field(repr=False)
    tier: tuple[str | None, ...] = field(repr=False)

    def __len__(self) -> int:
        return int(self.nominal_id.shape[0])

    def rows(self) -> list[tuple]:
        """``(nominal_id, score, band, area, strand, selected_on, meeting_id,
        lead_agency, tier)``."""
        return list(
            zip(
                self.nominal_id.tolist(),
                self.score.tolist(),
                self.band,
                self.area,
                self.strand,
                self.selected_on,
                self.meeting_id,
                self.lead_agency,
                self.tier,
                strict=True,
            )
        )
