"""The Engine against a plain model, through random sequences of operations.

The pattern of pyroaring's ``test_state_machine.py``: a Hypothesis
``RuleBasedStateMachine`` drives the compiled engine and a plain model side by
side, and checks after every step that they agree.

The model is a dict ``event_id -> reference.Event`` of the events inside the
window, a dict ``assessment_id -> reference.Assessment`` of the assessments
held (rule 10), plus the date ``as_of``, the weight table and the assessment
table. An event that leaves the
window by an advance moves to the model's archive (a list, in the order
archived), where it stays until the retention horizon passes it; an event
ingested with a date before the window is never kept. Scores, band changes,
report counts, explanations, forecasts, timelines and past scores are always
computed by :mod:`iomscore.reference` from the model; the change log is the
reports' band changes, kept by the test as they came.

Steps per run come from the Hypothesis profile (``stateful_step_count``: 50 in
``dev``, 200 in ``ci``), see ``conftest.py``.
"""

from __future__ import annotations

import datetime
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from strategies import (
    EDGE_POINTS,
    Row,
    as_of_dates,
    assessment_columns,
    assessment_tables,
    columns,
    event_dates,
    make_weights,
    matrix_as_dict,
    points_matrices,
    spelled,
    thresholds_st,
    variants,
    window_years_st,
)

from iomscore import Engine, EngineError, EventError, reference
from iomscore.errors import RecordError

DAY = datetime.timedelta(days=1)
FAR_FUTURE = datetime.date(2200, 1, 1)  # keep far below datetime.date.max after many jumps

# One bad row per kind: (field at fault, how to spoil a valid row).
BAD_KINDS = (
    "unknown_offence",
    "malformed_offence",
    "unknown_dataset",
    "bad_date",
    "negative_event_id",
    "negative_nominal_id",
    "duplicate_id",
    "after_as_of",
)
# Dates refused as text. (Impossible calendar days such as 2023-02-30 are tested in
# test_bad_input.py; they are left out here so that one known fault cannot hide others.)
BAD_DATES = ("2023/01/01", "", "2023-13-01", "01-02-2023", "yesterday", "2023-1-1")

# Nominal ids: small ones, often (many events share a nominal, so bands move); ids at
# and just above 2**32, whose low 32 bits are those of the small ones (a store that
# kept 32 bits of an id would merge them); and large ones, up to 2**63 - 1.
SMALL_NOMINALS = range(8)
NEAR_2_32 = range(2**32 - 2, 2**32 + 6)
_small = st.sampled_from(SMALL_NOMINALS)
nominal_ids = st.one_of(
    _small,
    _small,  # twice: small ids come most often
    st.sampled_from(NEAR_2_32),
    st.sampled_from([2**62, 2**63 - 2, 2**63 - 1]),
    st.integers(0, 2**63 - 1),
)


class EngineMachine(RuleBasedStateMachine):
    """Engine vs model. Every rule checks its own report; the invariants check the state."""

    def __init__(self) -> None:
        super().__init__()
        self.engine: Engine | None = None

    # ------------------------------------------------------------------------ helpers
    def extra(self) -> dict:
        """Rule 10's arguments to the reference functions: the assessments held."""
        return {
            "assessments": list(self.assessed.values()),
            "assessment_table": self.atable.as_reference(),
        }

    def ref_scores(self) -> dict[int, int]:
        return reference.score(
            self.model.values(), self.weights.to_mapping(), self.as_of, self.years, **self.extra()
        )

    def in_window(self, date: datetime.date) -> bool:
        return reference.in_window(date, self.as_of, self.years)

    def fresh_id(self) -> int:
        self.next_id += 1
        self.used.add(self.next_id)
        return self.next_id

    def horizon(self) -> datetime.date:
        """Events dated on or before this are purged."""
        return reference.window_start(self.as_of, self.years + self.history_years)

    def counted(self) -> list[reference.Event]:
        """Rule 9's events: those held, and the archived ones, each id once (the copy
        held, else the one archived last)."""
        last: dict[int, reference.Event] = {}
        for archived in self.archive:
            last[archived.event_id] = archived
        return [*self.model.values(), *(e for i, e in last.items() if i not in self.model)]

    def log(self, cause: str, changes) -> None:
        for nominal, (old, new, score) in sorted(changes.as_dict().items()):
            self.changelog.append((self.as_of, nominal, old, new, score, cause))

    def gone_ids(self) -> list[int]:
        """Ids used before and not held now (retracted, expired, never taken)."""
        return sorted(self.used - self.model.keys())

    def snapshot(self):
        return (
            self.engine.scores().rows(),
            len(self.engine),
            self.engine.as_of,
            self.engine.weights.sha256,
        )

    def draw_row(self, data, event_id: int, *, future: bool = False) -> Row:
        nominal = data.draw(nominal_ids, label="nominal")
        dataset = data.draw(st.sampled_from(self.weights.datasets), label="dataset")
        offence = data.draw(st.sampled_from(self.weights.offences), label="offence")
        date = data.draw(event_dates(self.as_of, self.years, future=future), label="date")
        return Row(
            reference.Event(event_id, nominal, dataset, offence, date),
            data.draw(spelled(offence), label="spelling"),
        )

    # ------------------------------------------------------------------------ set up
    @initialize(
        as_of=as_of_dates,
        years=window_years_st,
        thresholds=thresholds_st,
        points=points_matrices(),
        threads=st.sampled_from([1, 2]),
        parallel_min=st.sampled_from([None, 1, 2]),
        id_base=st.sampled_from([0, 4_090, 2**62]),
        use_pages=st.booleans(),
        history_years=st.sampled_from([0, 1, 2]),
        small_lookups=st.booleans(),
        durable=st.booleans(),
        atable=assessment_tables(name="initial"),
    )
    def start(
        self,
        as_of,
        years,
        thresholds,
        points,
        threads,
        parallel_min,
        id_base,
        use_pages,
        history_years,
        small_lookups,
        durable,
        atable,
    ):
        self.as_of, self.years, self.thresholds = as_of, years, thresholds
        self.history_years = history_years
        self.weights = make_weights(points, name="initial")
        settings = {
            "window_years": years,
            "thresholds": thresholds,
            "threads": threads,
            "history_years": history_years,
            "assessment_table": atable,
        }
        self.atable = atable
        self.assessed: dict[int, reference.Assessment] = {}
        self.next_aid = 0
        self.used_aids: set[int] = set()
        # A durable engine (a directory, every change journaled) gains the steps
        # "close and reopen" and "checkpoint".
        self.directory = Path(tempfile.mkdtemp(prefix="iomscore-state-")) if durable else None
        if self.directory is not None:
            self.engine = Engine.open(
                self.directory / "engine",
                weights=self.weights,
                as_of=as_of,
                create=True,
                **settings,
            )
        else:
            self.engine = Engine(self.weights, as_of, **settings)
        self.threads = threads
        if small_lookups:
            # The lookups by nominal are patched by a few recent events, then rebuilt.
            self.engine.RECENT_SLOTS = 4
            self.engine._archive.TAIL = 3
        self.archive: list[reference.Event] = []
        self.changelog: list[tuple] = []
        self.held_nominals: set[int] = set()  # of every event ever taken
        if parallel_min is not None and threads == 2:
            # Small steps take the two-thread paths (classify, inserts, expiry) of large ones.
            self.engine._store._parallel_min = parallel_min
        # Ids go to the id pages, or with use_pages=False to the hashed index only; ids
        # from 4,090 cross a page's edge (4,096 ids) at once.
        self.engine._store._use_pages(use_pages)
        self.model: dict[int, reference.Event] = {}
        self.used: set[int] = set()
        self.next_id = id_base

    # ------------------------------------------------------------------------ ingest
    def _ingest(
        self, data, *, with_live: bool, n_new: st.SearchStrategy[int], future: bool = False
    ) -> None:
        """Ingest a batch; with ``future``, some rows are dated after as_of and the batch
        is ingested with ``future="skip"``: those rows are counted, not taken, and a
        correction dated after as_of withdraws the event it corrects (its new content
        does not count at as_of, and a skipped row is not kept)."""
        batch: list[Row] = []
        kinds: dict[int, str] = {}  # event_id -> "new" / "same" / "conflict"
        for _ in range(data.draw(n_new, label="n_new")):
            gone = self.gone_ids()
            reuse = gone and data.draw(st.booleans(), label="reuse a gone id")
            event_id = data.draw(st.sampled_from(gone)) if reuse else self.fresh_id()
            if event_id in kinds:
                continue
            batch.append(self.draw_row(data, event_id, future=future))
            kinds[event_id] = "new"
        if with_live:
            live = sorted(self.model)
            picked = data.draw(
                st.lists(st.sampled_from(live), min_size=1, max_size=4, unique=True),
                label="live ids",
            )
            for event_id in picked:
                old = self.model[event_id]
                if data.draw(st.sampled_from([True, False, False]), label="identical?"):
                    batch.append(Row(old, data.draw(spelled(old.offence))))
                    kinds[event_id] = "same"
                else:
                    new = self.draw_row(data, event_id, future=future)
                    if new.event == old:  # drew the same content: still an identical duplicate
                        kinds[event_id] = "same"
                    else:
                        kinds[event_id] = "conflict"
                    batch.append(new)
        batch = data.draw(st.permutations(batch), label="order")
        replace = data.draw(st.booleans(), label="replace")

        conflicts = [i for i, r in enumerate(batch) if kinds[r.event.event_id] == "conflict"]
        event(f"ingest: {len(conflicts)} corrections, replace={replace}")
        if conflicts and not replace:
            before = self.snapshot()
            with pytest.raises(EventError) as info:
                self.engine.ingest(columns(batch), future="skip" if future else "error")
            assert info.value.row == conflicts[0] and info.value.field == "event_id"
            assert f"row {conflicts[0] + 1}" in str(info.value)
            assert self.snapshot() == before, "a refused batch changed the engine"
            return

        before = self.ref_scores()
        report = self.engine.ingest(
            columns(batch), replace=replace, future="skip" if future else "error"
        )
        taken = expired = after_as_of = 0
        for row in batch:
            e = row.event
            kind = kinds[e.event_id]
            if kind == "same":
                continue
            expired += e.date <= reference.window_start(self.as_of, self.years)
            after_as_of += e.date > self.as_of
            if self.in_window(e.date):
                self.model[e.event_id] = e
                self.held_nominals.add(e.nominal_id)
                taken += 1
            else:
                self.model.pop(e.event_id, None)  # a correction dated outside the window
        after = self.ref_scores()
        assert report.received == len(batch)
        assert report.taken == taken
        assert report.expired == expired
        assert report.duplicates == sum(k == "same" for k in kinds.values())
        assert report.replaced == sum(k == "conflict" for k in kinds.values())
        assert report.future == after_as_of
        assert report.changes.as_dict() == reference.band_changes(before, after, self.thresholds)
        self.log("ingest", report.changes)

    @precondition(lambda self: self.engine is not None)
    @rule(data=st.data())
    def ingest_new(self, data):
        """New events: inside the window, back-dated, before it; some reuse retired ids."""
        self._ingest(data, with_live=False, n_new=st.integers(1, 12))

    @precondition(lambda self: self.engine is not None)
    @rule(data=st.data())
    def ingest_many(self, data):
        """A bigger batch, so that the engine holds enough events for collisions."""
        self._ingest(data, with_live=False, n_new=st.integers(15, 40))

    @precondition(lambda self: self.engine is not None)
    @rule(data=st.data())
    def ingest_with_future_rows(self, data):
        """future="skip": rows dated after as_of are counted and left out."""
        with_live = bool(self.model) and data.draw(st.booleans(), label="with live ids")
        self._ingest(
            data, with_live=with_live, n_new=st.integers(0 if with_live else 1, 8), future=True
        )

    @precondition(lambda self: self.engine is not None and self.model)
    @rule(data=st.data())
    def ingest_with_live_ids(self, data):
        """New events plus identical duplicates and corrections of live events."""
        self._ingest(data, with_live=True, n_new=st.integers(0, 6))

    @precondition(lambda self: self.engine is not None)
    @rule(data=st.data())
    def ingest_bad_row(self, data):
        """A batch with one bad row is refused whole, naming the row and field."""
        good = [self.draw_row(data, self.fresh_id()) for _ in range(data.draw(st.integers(0, 5)))]
        kind = data.draw(
            st.sampled_from([k for k in BAD_KINDS if k != "duplicate_id" or good]), label="bad kind"
        )
        position = data.draw(st.integers(0, len(good)), label="position")
        if kind == "duplicate_id":
            position = max(position, 1)  # the repeat comes after the row it repeats
            twin = data.draw(st.integers(0, position - 1), label="twin")
        base = self.draw_row(data, self.fresh_id())
        cols = columns([*good[:position], base, *good[position:]])
        field = {
            "unknown_offence": "offence",
            "malformed_offence": "offence",
            "unknown_dataset": "dataset",
            "bad_date": "date",
            "after_as_of": "date",
            "negative_event_id": "event_id",
            "negative_nominal_id": "nominal_id",
            "duplicate_id": "event_id",
        }[kind]
        value = {
            "unknown_offence": lambda: data.draw(st.sampled_from(["999/99", "1/1", "00101"])),
            "malformed_offence": lambda: data.draw(
                st.sampled_from(["28-01", "", "burglary", "2801"])
            ),
            "unknown_dataset": lambda: data.draw(st.sampled_from(["probation", "ARREST", ""])),
            "bad_date": lambda: data.draw(st.sampled_from(BAD_DATES)),
            "after_as_of": lambda: (self.as_of + data.draw(st.integers(1, 400)) * DAY).isoformat(),
            "negative_event_id": lambda: -data.draw(st.integers(1, 10**6)),
            "negative_nominal_id": lambda: -data.draw(st.integers(1, 10**6)),
            "duplicate_id": lambda: cols["event_id"][twin],
        }[kind]()
        cols[field][position] = value
        event(f"bad row: {kind}")
        before = self.snapshot()
        with pytest.raises(EventError) as info:
            self.engine.ingest(cols)
        message = str(info.value)
        assert (info.value.row, info.value.field) == (position, field), message
        assert f"row {position + 1}" in message and field in message
        if kind == "duplicate_id":
            assert f"row {twin + 1}" in message
        assert self.snapshot() == before, "a refused batch changed the engine"

    @precondition(lambda self: self.engine is not None)
    @rule(gap=st.sampled_from([4_093, 4_096 * 3, 4_096 * 40, 10**6, 2**40]))
    def skip_ids(self, gap):
        """A gap in the numbering: the next ids land a page or more beyond the run of
        id pages (made there if the pages stay dense enough, else in the hashed index),
        or far beyond it."""
        self.next_id += gap

    # ------------------------------------------------------------------------ retract
    @precondition(lambda self: self.engine is not None)
    @rule(data=st.data())
    def retract(self, data):
        live = sorted(self.model)
        chosen = (
            data.draw(st.lists(st.sampled_from(live), max_size=5, unique=True), label="live")
            if live
            else []
        )
        gone = self.gone_ids()
        unknown = (
            set(data.draw(st.lists(st.sampled_from(gone), max_size=3), label="gone"))
            if gone
            else set()
        )
        drawn = data.draw(st.lists(st.integers(10**9, 10**9 + 50), max_size=2))
        unknown |= {i for i in drawn if i not in self.model}
        ids = data.draw(
            st.permutations([*chosen, *unknown, *chosen[:1]]), label="ids"
        )  # one repeat
        before = self.ref_scores()
        report = self.engine.retract(ids)
        archived = {e.event_id for e in self.archive} & unknown
        for event_id in chosen:
            del self.model[event_id]
        # a retracted event goes from the archive too, every copy
        gone = set(chosen) | unknown
        self.archive = [e for e in self.archive if e.event_id not in gone]
        after = self.ref_scores()
        assert report.retracted == len(chosen) + len(archived)
        assert sorted(report.unknown.tolist()) == sorted(unknown - archived)
        assert report.changes.as_dict() == reference.band_changes(before, after, self.thresholds)
        self.log("retract", report.changes)

    # ------------------------------------------------------------------------ advance
    def _advance(self, new: datetime.date) -> None:
        before = self.ref_scores()
        leaving = [
            i for i, e in self.model.items() if not reference.in_window(e.date, new, self.years)
        ]
        report = self.engine.advance(new)
        self.as_of = new
        for event_id in sorted(leaving, key=lambda i: self.model[i].date):
            self.archive.append(self.model.pop(event_id))
        horizon = self.horizon()
        self.archive = [e for e in self.archive if e.date > horizon]
        self.assessed = {i: a for i, a in self.assessed.items() if a.date > horizon}
        after = self.ref_scores()
        assert report.as_of == new
        assert report.expired == len(leaving)
        assert report.changes.as_dict() == reference.band_changes(before, after, self.thresholds)
        assert self.engine.window_start == reference.window_start(new, self.years)
        self.log("advance", report.changes)
        self.changelog = [entry for entry in self.changelog if entry[0] > horizon]
        event(f"archived events: {min(len(self.archive), 5)}{'+' if len(self.archive) > 5 else ''}")

    @precondition(lambda self: self.engine is not None and self.as_of < FAR_FUTURE)
    @rule(
        days=st.one_of(
            st.integers(0, 3),
            st.integers(0, 40),
            st.integers(0, 400),
            st.sampled_from([366 * 4, 1_500, 3_000, 10_000]),
        )
    )
    def advance(self, days):
        """Forward by 0 to 400 days, or a jump past every live event (everything expires)."""
        live = len(self.model)
        self._advance(self.as_of + days * DAY)
        if days > 366 * self.years + 1:
            assert self.model == {}
            event(f"far jump expired live events: {live > 0}")

    @precondition(lambda self: self.engine is not None and self.as_of < FAR_FUTURE)
    @rule(
        month_day=st.sampled_from([(2, 28), (2, 29), (3, 1)]),
        years_on=st.one_of(st.just(0), st.integers(0, 4)),
    )
    def advance_to_end_of_february(self, month_day, years_on):
        """To 28 Feb, 29 Feb (leap years only) or 1 Mar of this or a later year."""
        year = self.as_of.year + years_on
        month, day = month_day
        while True:
            try:
                new = datetime.date(year, month, day)
            except ValueError:  # 29 February of a common year: the next leap year
                year += 1
                continue
            if new >= self.as_of:
                break
            year += 1
        self._advance(new)

    @precondition(lambda self: self.engine is not None)
    @rule(days=st.integers(1, 1_000))
    def advance_backwards_is_refused(self, days):
        before = self.snapshot()
        with pytest.raises(EngineError):
            self.engine.advance(self.as_of - days * DAY)
        assert self.snapshot() == before

    # ------------------------------------------------------------------------ weights
    @precondition(lambda self: self.engine is not None)
    @rule(data=st.data())
    def reweight(self, data):
        many = data.draw(st.booleans(), label="many changes")
        new = data.draw(
            variants(self.weights, min_changes=6)
            if many
            else variants(self.weights, max_changes=2),
            label="table",
        )
        before = self.ref_scores()
        old_weights, self.weights = self.weights, new
        after = self.ref_scores()
        report = self.engine.reweight(new)
        assert report.mode in ("partial", "full")
        event(f"reweight mode: {report.mode}")
        assert report.changed_kinds == int((old_weights.points != new.points).sum())
        assert report.changes.as_dict() == reference.band_changes(before, after, self.thresholds)
        assert self.engine.weights is new
        self.log("reweight", report.changes)

    @precondition(lambda self: self.engine is not None)
    @rule(data=st.data())
    def what_if(self, data):
        new = data.draw(variants(self.weights), label="table")
        before = self.ref_scores()
        after = reference.score(
            self.model.values(), new.to_mapping(), self.as_of, self.years, **self.extra()
        )
        impact = self.engine.what_if(new)
        assert impact.changes.as_dict() == reference.band_changes(before, after, self.thresholds)
        assert int(impact.transitions.sum()) == len(before)
        moved = {n: after[n] - before[n] for n in before if after[n] != before[n]}
        assert (
            dict(zip(impact.nominal_id.tolist(), impact.score_change.tolist(), strict=True))
            == moved
        )

    @precondition(lambda self: self.engine is not None)
    @rule(value=st.sampled_from(EDGE_POINTS))
    def reweight_everything_to_one_value(self, value):
        """A uniform table: every score is value x number of live events (bands on edges)."""
        points = [[value] * len(self.weights.offences) for _ in self.weights.datasets]
        new = make_weights(points, name=f"all {value}")
        before = self.ref_scores()
        self.weights = new
        after = self.ref_scores()
        report = self.engine.reweight(new)
        assert report.changes.as_dict() == reference.band_changes(before, after, self.thresholds)
        self.log("reweight", report.changes)

    # ------------------------------------------------------------------------ assessments
    def draw_assessment(self, data, assessment_id: int) -> reference.Assessment:
        nominal = data.draw(st.one_of(_small, nominal_ids), label="nominal")
        tool = data.draw(st.sampled_from(self.atable.tools), label="tool")
        low, high = self.atable.tool_range(tool)
        score = data.draw(
            st.one_of(st.sampled_from([low, high]), st.integers(low, high)), label="score"
        )
        date = data.draw(event_dates(self.as_of, self.years), label="date")
        return reference.Assessment(assessment_id, nominal, tool, score, date)

    def expected_assessments(self, nominal: int) -> list[tuple]:
        """``engine.assessments(nominal).rows()`` by rule 10."""
        table = self.atable.as_reference()
        mine = sorted(
            (a for a in self.assessed.values() if a.nominal_id == nominal),
            key=lambda a: (a.date, a.assessment_id),
        )
        counting = reference.counting_assessments(mine, self.as_of, self.years)
        rows = []
        for a in mine:
            later = any(
                b.tool == a.tool and (b.date, b.assessment_id) > (a.date, a.assessment_id)
                for b in mine
            )
            status = (
                "counting"
                if counting.get((nominal, a.tool)) == a
                else "superseded"
                if later
                else "expired"
            )
            points = reference.assessment_points(table, a.tool, a.score)
            expires = reference.expires(a.date, self.years)
            rows.append((a.assessment_id, a.tool, a.score, a.date, points, status, expires))
        return rows

    @precondition(lambda self: self.engine is not None)
    @rule(data=st.data())
    def assess(self, data):
        """New assessments, corrections of held ones and identical duplicates."""
        batch: list[reference.Assessment] = []
        kinds: dict[int, str] = {}
        for _ in range(data.draw(st.integers(1, 6), label="n_new")):
            gone = sorted(self.used_aids - self.assessed.keys())
            if gone and data.draw(st.booleans(), label="reuse a retracted id"):
                aid = data.draw(st.sampled_from(gone))
            else:
                self.next_aid += 1
                aid = self.next_aid
            if aid in kinds:
                continue
            self.used_aids.add(aid)
            batch.append(self.draw_assessment(data, aid))
            kinds[aid] = "new"
        held = sorted(self.assessed)
        if held and data.draw(st.booleans(), label="with held ids"):
            for aid in data.draw(st.lists(st.sampled_from(held), max_size=3, unique=True)):
                if data.draw(st.booleans(), label="identical?"):
                    batch.append(self.assessed[aid])
                    kinds[aid] = "same"
                else:
                    new = self.draw_assessment(data, aid)
                    kinds[aid] = "same" if new == self.assessed[aid] else "conflict"
                    batch.append(new)
        batch = data.draw(st.permutations(batch), label="order")
        replace = data.draw(st.booleans(), label="replace")
        conflicts = [i for i, a in enumerate(batch) if kinds[a.assessment_id] == "conflict"]
        if conflicts and not replace:
            before = self.snapshot()
            with pytest.raises(RecordError) as info:
                self.engine.assess(assessment_columns(batch))
            assert info.value.row == conflicts[0] and info.value.field == "assessment_id"
            assert self.snapshot() == before, "a refused batch changed the engine"
            return
        before = self.ref_scores()
        report = self.engine.assess(assessment_columns(batch), replace=replace)
        horizon = self.horizon()
        for a in batch:
            if a.date > horizon:
                self.assessed[a.assessment_id] = a
                self.held_nominals.add(a.nominal_id)
            else:  # counts at no date the engine can show: not kept
                self.assessed.pop(a.assessment_id, None)
        early = sum(a.date <= horizon for a in batch if kinds[a.assessment_id] != "same")
        after = self.ref_scores()
        assert report.received == len(batch)
        assert report.duplicates == sum(k == "same" for k in kinds.values())
        assert report.replaced == sum(k == "conflict" for k in kinds.values())
        assert report.before_history == early
        assert report.taken == len(batch) - report.duplicates - early
        assert report.changes.as_dict() == reference.band_changes(before, after, self.thresholds)
        event(f"assess: {report.replaced} corrections")
        self.log("assess", report.changes)

    @precondition(lambda self: self.engine is not None)
    @rule(data=st.data(), fault=st.sampled_from(["tool", "score", "date", "assessment_id"]))
    def assess_bad_row(self, data, fault):
        """A bad row anywhere in a batch: refused whole, naming the row and field."""
        good = []
        for _ in range(data.draw(st.integers(0, 3))):
            self.next_aid += 1
            good.append(self.draw_assessment(data, self.next_aid))
        self.next_aid += 1
        bad = self.draw_assessment(data, self.next_aid)
        position = data.draw(st.integers(0, len(good)), label="position")
        batch = [*good[:position], bad, *good[position:]]
        columns_ = assessment_columns(batch)
        if fault == "tool":
            columns_["tool"][position] = data.draw(st.sampled_from(["ogrs", "", "asset2"]))
        elif fault == "score":
            low, high = self.atable.tool_range(bad.tool)
            columns_["score"][position] = data.draw(st.sampled_from([low - 1, high + 1, -5]))
        elif fault == "date":
            after = self.as_of + data.draw(st.integers(1, 30)) * DAY
            columns_["date"][position] = after.isoformat()
        elif good:  # an id repeated in the batch: the later row is the one named
            columns_["assessment_id"][position] = columns_["assessment_id"][0 if position else 1]
            position = max(position, 0 if position else 1)
        else:
            columns_["assessment_id"][position] = "x1"
        before = self.snapshot()
        with pytest.raises(RecordError) as info:
            self.engine.assess(columns_)
        assert info.value.field == fault
        assert info.value.row == position
        assert self.snapshot() == before

    @precondition(lambda self: self.engine is not None)
    @rule(data=st.data())
    def retract_assessments(self, data):
        held = sorted(self.assessed)
        chosen = data.draw(st.lists(st.sampled_from(held), max_size=3, unique=True)) if held else []
        unknown = set(data.draw(st.lists(st.integers(10**9, 10**9 + 5), max_size=2)))
        gone = sorted(self.used_aids - self.assessed.keys())
        if gone:
            unknown |= set(data.draw(st.lists(st.sampled_from(gone), max_size=2)))
        before = self.ref_scores()
        report = self.engine.retract_assessments([*chosen, *unknown])
        for aid in chosen:
            del self.assessed[aid]
        after = self.ref_scores()
        assert report.retracted == len(chosen)
        assert sorted(report.unknown.tolist()) == sorted(unknown)
        assert report.changes.as_dict() == reference.band_changes(before, after, self.thresholds)
        self.log("retract", report.changes)

    @precondition(lambda self: self.engine is not None)
    @rule(data=st.data())
    def reweight_assessment_table(self, data):
        """A new assessment table, alone or with a new weight table, in one step."""
        table = data.draw(assessment_tables(name="redrawn"), label="assessment table")
        weights = None
        if data.draw(st.booleans(), label="with weights"):
            weights = data.draw(variants(self.weights, max_changes=3), label="weights")
        impact = self.engine.what_if(weights, assessment_table=table)
        before = self.ref_scores()
        self.atable = table
        old_weights = self.weights
        self.weights = weights if weights is not None else self.weights
        after = self.ref_scores()
        assert impact.changes.as_dict() == reference.band_changes(before, after, self.thresholds)
        report = self.engine.reweight(weights, assessment_table=table)
        assert report.changes.as_dict() == reference.band_changes(before, after, self.thresholds)
        assert self.engine.assessment_table.sha256 == table.sha256
        assert self.engine.weights.sha256 == self.weights.sha256
        event(f"assessment reweight, weights changed: {self.weights is not old_weights}")
        self.log("reweight", report.changes)

    # ------------------------------------------------------------------------ durable
    @precondition(lambda self: self.engine is not None and self.directory is not None)
    @rule()
    def close_and_reopen(self):
        """Reopen the directory: the engine is the one closed (the invariants check it)."""
        self.engine.close()
        self.engine = Engine.open(self.directory / "engine", threads=self.threads)

    @precondition(lambda self: self.engine is not None and self.directory is not None)
    @rule()
    def checkpoint(self):
        self.engine.checkpoint()
        event("checkpoint")

    def teardown(self):
        if self.engine is not None:
            self.engine.close()
        if getattr(self, "directory", None) is not None:
            shutil.rmtree(self.directory, ignore_errors=True)

    # ------------------------------------------------------------------------ reads
    @precondition(lambda self: self.engine is not None)
    @rule(data=st.data())
    def scores_at_a_past_date(self, data):
        """Rule 9 for the cohort, at a date inside the retained history, or refused."""
        earliest = reference.expires(self.horizon(), self.years)
        assert self.engine.history_start == earliest
        assert self.engine.retention_horizon == self.horizon()
        span = (self.as_of - earliest).days
        back = data.draw(st.integers(0, max(span, 0)), label="days back")
        date = self.as_of - back * DAY
        if date < earliest:  # history_years = 0 keeps only as_of itself, or not even that
            with pytest.raises(EngineError, match="retention horizon"):
                self.engine.scores_at(date)
            return
        got = self.engine.scores_at(date).rows()
        weights = self.weights.to_mapping()
        expected = reference.scores_at(
            self.counted(), weights, date, self.years, self.thresholds, **self.extra()
        )
        assert got == expected
        too_early = earliest - data.draw(st.integers(1, 800), label="before") * DAY
        with pytest.raises(EngineError, match=str(self.horizon())):
            self.engine.scores_at(too_early)

    @precondition(lambda self: self.engine is not None)
    @rule()
    def matrix(self):
        expected = reference.counts(self.model.values(), self.as_of, self.years)
        assert matrix_as_dict(self.engine.matrix(), self.weights) == expected

    @precondition(lambda self: self.engine is not None)
    @invariant()
    def scores_equal_reference(self):
        expected = self.ref_scores()
        assert self.engine.scores().rows() == reference.result(expected, self.thresholds)
        assert len(self.engine) == len(self.model)
        # The event-id index holds one entry per live event, whichever path filled it,
        # and finds exactly the live ones among every id ever used.
        assert self.engine._store.index_entries == len(self.model)
        used = np.array(sorted(self.used), dtype=np.int64)
        found = self.engine._store.find_events(used) >= 0
        assert found.tolist() == [i in self.model for i in used.tolist()]
        assert self.engine.as_of == self.as_of

    @precondition(lambda self: self.engine is not None)
    @invariant()
    def single_scores_equal_reference(self):
        expected = self.ref_scores()
        held = {e.nominal_id for e in self.model.values()}
        for nominal in sorted({*SMALL_NOMINALS, *NEAR_2_32, *held}):
            assert self.engine.score(nominal) == expected.get(nominal, 0)

    @precondition(lambda self: self.engine is not None)
    @invariant()
    def history_equals_reference(self):
        """Explain, the forecasts, a timeline over the retained history, and the change
        log, for the small nominals and a few held ones."""
        weights = self.weights.to_mapping()
        events = list(self.model.values())
        held = sorted({e.nominal_id for e in self.model.values()})
        assessed = sorted({a.nominal_id for a in self.assessed.values()})
        counted = self.counted()
        extra = self.extra()
        earliest = reference.expires(self.horizon(), self.years)
        for nominal in sorted({*SMALL_NOMINALS[:3], *held[:3], *assessed[:2]}):
            if nominal not in self.held_nominals:
                with pytest.raises(EngineError, match=str(nominal)):
                    self.engine.explain(nominal)
                continue
            got = self.engine.explain(nominal)
            assert got.rows() == reference.explain(
                events, weights, self.as_of, nominal, self.years, **extra
            )
            assert got.score == sum(row[4] for row in got.rows())
            assert self.engine.forecast(nominal).rows() == reference.forecast_steps(
                events, weights, self.as_of, nominal, self.years, self.thresholds, **extra
            )
            if earliest <= self.as_of:
                assert self.engine.timeline(nominal, earliest, self.as_of).rows() == (
                    reference.timeline(
                        counted,
                        weights,
                        nominal,
                        earliest,
                        self.as_of,
                        self.years,
                        self.thresholds,
                        **extra,
                    )
                )
            assert self.engine.assessments(nominal).rows() == self.expected_assessments(nominal)
        assert self.engine.forecast().rows() == reference.forecast(
            events, weights, self.as_of, self.years, self.thresholds, **extra
        )
        assert self.engine.changes().rows() == self.changelog


TestEngineState = EngineMachine.TestCase
