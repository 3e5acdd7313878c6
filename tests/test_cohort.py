"""The cohort: areas and ownership (transfers on their exact dates), selection and
de-selection decisions against a plain model, candidates, strands, area filters,
and their durable form."""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import DATASETS, OFFENCES, event_columns, make_weights

from iomscore import Engine, EngineError, reference
from iomscore.cohort import DEFAULT_AREAS, DESELECT_REASONS, UNOWNED
from iomscore.errors import RecordError
from iomscore.groups import DEFAULT_FLEX, OffenceGroups, strand_of

D = datetime.date
AS_OF = D(2026, 11, 26)
WEIGHTS = make_weights([[300, 120, 40, 60], [125, 30, 10, 20], [500, 80, 25, 45]], name="t")


def _engine(**settings_) -> Engine:
    engine = Engine(WEIGHTS, AS_OF, threads=1, **settings_)
    events = [
        reference.Event(i, n, "arrest", "028/01", D(2026, 10, 1) - datetime.timedelta(days=i))
        for i, n in enumerate([1, 1, 2, 2, 2, 3, 4, 5, 5, 5, 5], start=1)
    ]
    engine.ingest(event_columns(events))
    return engine


def _owners(rows):
    return {
        "nominal_id": [r[0] for r in rows],
        "area": [r[1] for r in rows],
        "from_date": [r[2] for r in rows],
    }


# ----------------------------------------------------------------------- ownership
def test_the_default_areas_are_the_seven_west_midlands_boroughs():
    engine = Engine(WEIGHTS, AS_OF)
    assert engine.areas == DEFAULT_AREAS and len(DEFAULT_AREAS) == 7
    assert Engine(WEIGHTS, AS_OF, areas=["North", "South"]).areas == ("North", "South")
    for bad in ([], ["A", "a"], [UNOWNED], [""]):
        with pytest.raises(RecordError):
            Engine(WEIGHTS, AS_OF, areas=bad)


def test_a_transfer_moves_ownership_on_its_exact_date():
    engine = _engine()
    engine.record_owners(
        _owners(
            [
                (1, "Coventry", "2026-01-01"),
                (1, "Walsall", "2026-06-15"),
                (2, "dudley", "2026-03-01"),
            ]
        )
    )
    assert engine.owner(1, "2025-12-31") is None
    assert engine.owner(1, "2026-01-01") == "Coventry"
    assert engine.owner(1, "2026-06-14") == "Coventry"
    assert engine.owner(1, "2026-06-15") == "Walsall"
    assert engine.owner(1) == "Walsall" and engine.owner(2) == "Dudley"
    assert engine.ownership(1) == [(D(2026, 1, 1), "Coventry"), (D(2026, 6, 15), "Walsall")]
    assert engine.transfers("2026-06-14") == [(1, D(2026, 6, 15), "Coventry", "Walsall")]
    assert engine.transfers("2026-06-15") == []
    assert engine.transfers("2026-01-01", area="Coventry") == [
        (1, D(2026, 6, 15), "Coventry", "Walsall")
    ]
    assert engine.transfers("2026-01-01", area="Dudley") == []
    # a record for the same nominal and date corrects the area
    engine.record_owners(_owners([(1, "Solihull", "2026-06-15")]))
    assert engine.owner(1) == "Solihull" and len(engine.ownership(1)) == 2


def test_area_filters_keep_the_unowned_apart():
    engine = _engine()
    engine.record_owners(
        _owners(
            [
                (1, "Coventry", "2026-01-01"),
                (2, "Coventry", "2026-01-01"),
                (3, "Sandwell", "2026-01-01"),
            ]
        )
    )
    everyone = engine.scores()
    coventry = engine.scores(area="Coventry")
    unowned = engine.scores(area=UNOWNED)
    assert sorted(coventry.nominal_id.tolist()) == [1, 2]
    assert sorted(unowned.nominal_id.tolist()) == [4, 5]
    assert len(coventry) + len(engine.scores(area="Sandwell")) + len(unowned) == len(everyone)
    assert coventry.rows() == [row for row in everyone.rows() if row[0] in (1, 2)]
    falls = engine.forecast(area="Coventry")
    assert set(falls.nominal_id.tolist()) <= {1, 2}
    assert falls.rows() == [r for r in engine.forecast().rows() if r[0] in (1, 2)]
    changes = engine.changes(area=UNOWNED)
    assert {row[1] for row in changes.rows()} <= {4, 5}
    with pytest.raises(EngineError, match="unknown area"):
        engine.scores(area="Atlantis")


@pytest.mark.parametrize(
    ("rows", "row", "field"),
    [
        ([(1, "Coventry", "2026-01-01"), (2, "Atlantis", "2026-01-01")], 1, "area"),
        ([(1, "Coventry", "2026-02-30")], 0, "from_date"),
        ([(1, "Coventry", "2026-01-01"), (1, "Dudley", "2026-01-01")], 1, "from_date"),
        ([(-1, "Coventry", "2026-01-01")], 0, "nominal_id"),
    ],
)
def test_a_bad_ownership_row_is_refused_whole(rows, row, field):
    engine = _engine()
    with pytest.raises(RecordError) as info:
        engine.record_owners(_owners(rows))
    assert (info.value.row, info.value.field) == (row, field)
    assert engine.ownership(1) == [] and engine.audit()[-1].operation != "record_owners"


# ----------------------------------------------------------------------- decisions
def _decision(n, date, action, meeting="odoc-1", **extra):
    row = {"nominal_id": n, "date": date, "action": action, "meeting_id": meeting}
    if action == "select":
        row.setdefault("lead_agency", "police")
    else:
        row.setdefault("reason", "score_below_threshold")
    row.update(extra)
    return row


def _batch(rows):
    names = ["nominal_id", "date", "action", "meeting_id", "lead_agency", "tier", "reason", "note"]
    names += ["strand", "strand_reason"]
    return {name: [r.get(name) for r in rows] for name in names}


decision_rows = st.lists(
    st.tuples(
        st.integers(1, 4),
        st.integers(0, 60),
        st.sampled_from(["select", "deselect"]),
    ),
    max_size=12,
)


@settings(deadline=None)
@given(batches=st.lists(decision_rows, min_size=1, max_size=4))
def test_decisions_against_a_plain_model(batches):
    """Random decision sequences: a batch with an illegal decision is refused whole,
    naming the row; legal ones give the selection a plain replay gives."""
    engine = _engine()
    start = D(2026, 9, 1)
    model: dict[int, list[tuple[D, str]]] = {}
    for rows in batches:
        decided = [(n, start + datetime.timedelta(days=k), action) for n, k, action in rows]
        # the plain rule, row by row
        trial = {n: list(v) for n, v in model.items()}
        bad = None
        for i, (n, date, action) in enumerate(decided):
            history = trial.setdefault(n, [])
            selected = bool(history) and history[-1][1] == "select"
            if history and date < history[-1][0]:
                bad = (i, "date")
            elif (action == "select") == selected:
                bad = (i, "action")
            if bad:
                break
            history.append((date, action))
        batch = _batch([_decision(n, date.isoformat(), action) for n, date, action in decided])
        before = engine.decisions()
        if bad:
            with pytest.raises(RecordError) as info:
                engine.decide(batch)
            assert (info.value.row, info.value.field) == bad
            assert engine.decisions() == before
            continue
        assert engine.decide(batch) == len(decided)
        model = trial
    for day in (D(2026, 9, 1), D(2026, 9, 20), D(2026, 10, 31), AS_OF):
        expected = sorted(
            n
            for n, history in model.items()
            if [a for d, a in history if d <= day][-1:] == ["select"]
        )
        assert sorted(engine.selection(day).nominal_id.tolist()) == expected


def test_selection_and_candidates():
    engine = _engine()
    engine.record_owners(_owners([(5, "Walsall", "2026-01-01")]))
    scores = dict((n, s) for n, s, _ in engine.scores().rows())
    banded = sorted(n for n, s in scores.items() if s >= 250)
    assert [r[0] for r in engine.candidates().rows()] == sorted(
        banded,
        key=lambda n: (
            -min(3, (scores[n] >= 250) + (scores[n] >= 500) + (scores[n] >= 1000)),
            -scores[n],
            n,
        ),
    )
    engine.decide(_batch([_decision(5, "2026-11-01", "select", lead_agency="probation", tier="2")]))
    chosen = engine.selection()
    assert chosen.rows()[0][:4] == (5, scores[5], chosen.band[0], "Walsall")
    assert chosen.rows()[0][5:] == (D(2026, 11, 1), "odoc-1", "probation", "2")
    assert 5 not in engine.candidates().nominal_id.tolist()
    assert engine.selection(area="Coventry").nominal_id.tolist() == []
    assert engine.candidates(area=UNOWNED).nominal_id.tolist() == [
        n for n in engine.candidates().nominal_id.tolist()
    ]


@pytest.mark.parametrize(
    ("rows", "row", "field", "words"),
    [
        (
            [_decision(1, "2026-11-01", "select", lead_agency=None)],
            0,
            "lead_agency",
            "needs a lead agency",
        ),
        ([_decision(1, "2026-11-01", "select", lead_agency="mi5")], 0, "lead_agency", "mi5"),
        ([_decision(1, "2026-11-01", "pick")], 0, "action", "'pick'"),
        (
            [
                _decision(1, "2026-11-01", "select"),
                _decision(1, "2026-11-02", "deselect", reason="bored"),
            ],
            1,
            "reason",
            "bored",
        ),
        (
            [
                _decision(1, "2026-11-01", "select"),
                _decision(1, "2026-11-02", "deselect", reason="other"),
            ],
            1,
            "note",
            "needs a note",
        ),
        ([_decision(1, "2026-11-27", "select")], 0, "date", "after as_of"),
        (
            [_decision(1, "2026-11-01", "select", strand="fixed")],
            0,
            "strand_reason",
            "needs its reason",
        ),
        (
            [_decision(1, "2026-11-01", "select", strand="loose", strand_reason="x")],
            0,
            "strand",
            "loose",
        ),
        ([_decision(1, "2026-11-01", "select", meeting=None)], 0, "meeting_id", "missing"),
    ],
)
def test_a_bad_decision_is_refused_whole(rows, row, field, words):
    engine = _engine()
    with pytest.raises(RecordError, match=words) as info:
        engine.decide(_batch(rows))
    assert (info.value.row, info.value.field) == (row, field)
    assert engine.decisions() == []


def test_every_deselection_reason_is_accepted():
    engine = _engine()
    for k, reason in enumerate(DESELECT_REASONS):
        day = D(2026, 10, 1) + datetime.timedelta(days=2 * k)
        engine.decide(
            _batch(
                [
                    _decision(1, day.isoformat(), "select"),
                    _decision(
                        1,
                        (day + datetime.timedelta(days=1)).isoformat(),
                        "deselect",
                        reason=reason,
                        note="n",
                    ),
                ]
            )
        )
    assert [d.reason for d in engine.decisions(1) if d.action == "deselect"] == list(
        DESELECT_REASONS
    )


def test_a_decision_sets_the_strand_with_its_reason():
    engine = _engine()
    engine.decide(
        _batch(
            [
                _decision(
                    2, "2026-11-01", "select", strand="flex", strand_reason="domestic abuse flag"
                )
            ]
        )
    )
    chosen = engine.selection()
    assert (chosen.strand[0], chosen.strand_set_by[0]) == ("flex", "decision")
    assert engine.selection(strand="fixed").nominal_id.tolist() == []
    assert all(s in ("fixed", "flex", "free") for s in engine.candidates().strand)
    assert set(engine.candidates().strand_set_by) <= {"events"}


# ----------------------------------------------------------------------- durable
def test_owners_and_decisions_survive_a_reopen_and_are_audited(tmp_path):
    folder = tmp_path / "engine"
    with Engine.open(
        folder, weights=WEIGHTS, as_of=AS_OF, create=True, areas=["North", "South"]
    ) as engine:
        engine.record_owners(
            _owners([(1, "North", "2026-01-01"), (1, "South", "2026-07-01")]), user="a1"
        )
        engine.decide(
            _batch([_decision(1, "2026-11-01", "select", tier="1")]), user="a1", reason="odoc"
        )
        expected = (engine.ownership(1), engine.decisions(), engine.areas)
        engine.checkpoint()
    with Engine.open(folder, readonly=True) as engine:
        assert (engine.ownership(1), engine.decisions(), engine.areas) == expected
        assert engine.selection().nominal_id.tolist() == [1]
        operations = [e.operation for e in engine.audit(user="a1")]
        assert operations == ["record_owners", "decide"]
        assert np.array_equal(engine.selection().nominal_id, np.array([1]))


def event_rows(nominals: int, days: int, max_size: int):
    """Lists of ``(nominal, dataset, offence, days before a date)`` for events."""
    return st.lists(
        st.tuples(
            st.integers(1, nominals),
            st.sampled_from(DATASETS),
            st.sampled_from(OFFENCES),
            st.integers(0, days),
        ),
        max_size=max_size,
    )


@settings(deadline=None)
@given(
    events=event_rows(6, 700, 40),
    flex=st.sampled_from([None, ("violence",), ("domestic_abuse", "other_acquisitive")]),
)
def test_strands_from_events_follow_the_rule(events, flex):
    """Each candidate's strand is strand_of over the points of its counting events by
    offence group, computed here from the reference."""
    groups = OffenceGroups.default()
    engine = Engine(WEIGHTS, AS_OF, threads=1, selection_band="LOW", flex_groups=flex)
    held = [
        reference.Event(i, n, d, o, AS_OF - datetime.timedelta(days=k))
        for i, (n, d, o, k) in enumerate(events, start=1)
    ]
    engine.ingest(event_columns(held))
    mapping = WEIGHTS.to_mapping()
    live = [e for e in held if reference.in_window(e.date, AS_OF)]
    table = engine.candidates()
    for nominal, strand in zip(table.nominal_id.tolist(), table.strand, strict=True):
        points: dict[str, int] = {}
        for e in live:
            if e.nominal_id == nominal:
                group = groups.group_of(e.offence)
                points[group] = points.get(group, 0) + mapping[(e.dataset, e.offence)]
        assert strand == strand_of(points, DEFAULT_FLEX if flex is None else flex)


def test_a_nominal_selected_with_no_event_is_held_with_score_zero(tmp_path):
    folder = tmp_path / "engine"
    with Engine.open(folder, weights=WEIGHTS, as_of=AS_OF, create=True) as engine:
        with pytest.raises(EngineError, match="not held"):
            engine.explain(77)
        engine.decide(
            _batch(
                [
                    _decision(
                        77, "2026-11-20", "select", strand="free", strand_reason="local concern"
                    )
                ]
            )
        )
        assert engine.explain(77).rows() == [] and engine.explain(77).score == 0
        assert engine.timeline(77, "2026-01-01").rows() == [(D(2026, 1, 1), 0, "NONE")]
        assert engine.selection().rows()[0][:5] == (77, 0, "NONE", "", "free")
    with Engine.open(folder) as engine:  # from the journal-less state: held again on open
        assert engine.explain(77).score == 0


def test_an_arrow_batch_may_leave_out_the_optional_columns():
    pa = pytest.importorskip("pyarrow")
    engine = _engine()
    table = pa.table(
        {
            "nominal_id": [1],
            "date": ["2026-11-01"],
            "action": ["select"],
            "meeting_id": ["m-1"],
            "lead_agency": ["police"],
        }
    )
    assert engine.decide(table) == 1
    assert engine.selection().nominal_id.tolist() == [1]
    with pytest.raises(RecordError, match="missing column 'area'"):
        engine.record_owners(pa.table({"nominal_id": [1], "from_date": ["2026-01-01"]}))


def test_strands_of_any_nominals_are_those_the_cohort_lists_give():
    """Engine.strands: a candidate's or selected nominal's strand as candidates() and
    selection() give it (a decision's where one set it), any other nominal's by the
    rule over its counting events, and "free" for one with none."""
    engine = Engine(WEIGHTS, AS_OF, threads=1)
    day = D(2026, 10, 1)
    rows = [
        (1, "arrest", "028/01"),  # 3 x 120 domestic burglary: LOW, fixed
        (1, "arrest", "028/01"),
        (1, "arrest", "028/01"),
        (2, "arrest", "008/06"),  # 300 violence: LOW, flex
        (3, "intelligence", "046/00"),  # 10 other acquisitive: NONE, not listed, free
        (4, "warrant", "008/06"),  # 500 violence: selected, a decision sets free
        (5, "arrest", "028/01"),  # 120 fixed: NONE, selected with flex, then de-selected
    ]
    engine.ingest(
        event_columns([reference.Event(i, n, d, o, day) for i, (n, d, o) in enumerate(rows, 1)])
    )
    engine.decide(
        _batch(
            [
                _decision(4, "2026-11-01", "select", strand="free", strand_reason="local"),
                _decision(5, "2026-11-01", "select", strand="flex", strand_reason="local"),
                _decision(5, "2026-11-20", "deselect"),
            ]
        )
    )
    got = engine.strands(np.array([99, 5, 4, 3, 2, 1, 4]))
    assert list(got) == [1, 2, 3, 4, 5, 99]  # by id, each once
    assert got == {
        1: ("fixed", "events"),
        2: ("flex", "events"),
        3: ("free", "events"),
        4: ("free", "decision"),
        5: ("fixed", "events"),  # the de-selection dropped the decision's strand
        99: ("free", "events"),  # not held: no counting event
    }
    listed = [*engine.candidates().rows(), *engine.selection().rows()]
    assert sorted(r[0] for r in listed) == [1, 2, 4]  # 3, 5 and 99 are in neither list
    for table in (engine.candidates(), engine.selection()):
        for n, strand, set_by in zip(
            table.nominal_id.tolist(), table.strand, table.strand_set_by, strict=True
        ):
            assert got[n] == (strand, set_by)
    assert engine.strands([]) == {}
    for bad in (["7"], [1.0], [-1], [True]):
        with pytest.raises(EngineError, match="nominal_id"):
            engine.strands(bad)


@settings(deadline=None)
@given(
    events=event_rows(5, 900, 30),
    back=st.sampled_from([0, 1, 200, 399]),  # the selections are dated 400 days back
)
def test_the_selection_on_a_past_date_takes_the_strands_of_that_date(events, back):
    """A strand no decision set comes from the events counting on the selection's
    date, archived ones included: strand_of over them, from the reference."""
    groups = OffenceGroups.default()
    start = AS_OF - datetime.timedelta(days=400)
    engine = Engine(WEIGHTS, start, threads=1)
    held = [
        reference.Event(i, n, d, o, start - datetime.timedelta(days=k))
        for i, (n, d, o, k) in enumerate(events, start=1)
    ]
    engine.ingest(event_columns(held), future="skip")
    engine.decide(_batch([_decision(n, start.isoformat(), "select") for n in range(1, 6)]))
    engine.advance(AS_OF)  # events leave the window into the archive
    on = AS_OF - datetime.timedelta(days=back)
    mapping = WEIGHTS.to_mapping()
    table = engine.selection(as_of=on)
    assert sorted(table.nominal_id.tolist()) == [1, 2, 3, 4, 5]
    for nominal, strand, set_by in zip(
        table.nominal_id.tolist(), table.strand, table.strand_set_by, strict=True
    ):
        points: dict[str, int] = {}
        for e in held:
            if e.nominal_id == nominal and reference.in_window(e.date, on):
                group = groups.group_of(e.offence)
                points[group] = points.get(group, 0) + mapping[(e.dataset, e.offence)]
        assert (strand, set_by) == (strand_of(points), "events")
