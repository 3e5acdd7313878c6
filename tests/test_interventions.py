"""Interventions: recorded whole or not at all, listed, ended, retracted, audited and
kept by an engine directory; never scored."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iomscore import Engine, EngineError, Weights
from iomscore.errors import RecordError
from iomscore.interventions import AGENCIES, Catalogue

DAY = datetime.timedelta(days=1)
KINDS = tuple(Catalogue.default().kinds)


def batch(rows):
    names = ("intervention_id", "nominal_id", "kind", "start", "end", "lead_agency")
    return {name: [row[i] for row in rows] for i, name in enumerate(names)}


ROWS = [
    (1, 5, "mentoring", "2026-01-01", "", "probation"),
    (2, 5, "drug_treatment_dip", "2026-02-01", "2026-03-01", "police"),
    (3, 6, "gps_tagging_voluntary", "2026-03-01", None, "Police"),
]


def test_the_shipped_catalogue_has_the_kinds_iom_schemes_use():
    kinds = Catalogue.default().kinds
    for code in (
        "drug_treatment_dip",
        "employment_coaching",
        "education_training",
        "gps_tagging_voluntary",
        "accommodation_support",
        "mentoring",
        "managed_offenders_court",
        "youth_programme",
    ):
        assert kinds[code]


def test_record_list_end_and_retract():
    engine = Engine(Weights.default(), "2026-06-01")
    assert engine.record_interventions(batch(ROWS), user="om-1") == 3
    day = datetime.date
    assert engine.interventions(5).rows() == [
        (1, 5, "mentoring", day(2026, 1, 1), None, "probation"),
        (2, 5, "drug_treatment_dip", day(2026, 2, 1), day(2026, 3, 1), "police"),
    ]
    assert engine.interventions(5).description[1].startswith("Drug treatment")
    assert [r[0] for r in engine.interventions(5, active_on="2026-03-01").rows()] == [1, 2]
    assert [r[0] for r in engine.interventions(5, active_on="2026-03-02").rows()] == [1]
    assert engine.interventions(5, active_on="2025-12-31").rows() == []
    engine.end_intervention(1, "2026-05-01", user="om-1", reason="completed")
    assert engine.interventions(5).rows()[0][4] == day(2026, 5, 1)
    report = engine.retract_interventions([3, 99])
    assert report.retracted == 1 and report.unknown.tolist() == [99]
    assert str(report).startswith("1 interventions retracted; 1 ids not held: 99")
    assert engine.interventions(6).rows() == []
    assert engine.scores().rows() == []  # never scored
    ops = [(e.operation, e.user_id, e.nominal_ids, e.reason) for e in engine.audit()]
    assert ops[1:] == [
        ("record_interventions", "om-1", (5, 6), None),
        ("end_intervention", "om-1", (5,), "completed"),
        ("retract_interventions", None, (6,), None),
    ]


@pytest.mark.parametrize(
    ("row", "field", "words"),
    [
        ((9, 5, "juggling", "2026-01-01", "", "police"), "kind", "unknown intervention kind"),
        ((9, 5, "mentoring", "2026-01-01", "", "court"), "lead_agency", "unknown lead agency"),
        ((9, 5, "mentoring", "2026-02-01", "2026-01-31", "police"), "end", "before its start"),
        ((9, 5, "mentoring", "01/02/2026", "", "police"), "start", "YYYY-MM-DD"),
        ((9, 5, "mentoring", "2026-01-01", "soon", "police"), "end", "not a date in the form"),
        ((-9, 5, "mentoring", "2026-01-01", "", "police"), "intervention_id", "intervention_id"),
        ((9, -5, "mentoring", "2026-01-01", "", "police"), "nominal_id", "nominal_id"),
        ((1, 5, "mentoring", "2026-01-01", "", "police"), "intervention_id", "repeats row 1"),
    ],
    ids=["kind", "agency", "end before start", "start", "end", "id", "nominal", "repeat"],
)
def test_a_bad_row_names_its_row_and_field_and_nothing_is_taken(row, field, words):
    engine = Engine(Weights.default(), "2026-06-01")
    with pytest.raises(RecordError, match=words) as info:
        engine.record_interventions(batch([ROWS[0], row]))
    assert (info.value.row, info.value.field) == (1, field)
    assert "row 2" in str(info.value)
    assert engine.interventions(5).rows() == []


def test_ids_already_recorded_and_bad_ends_are_refused():
    engine = Engine(Weights.default(), "2026-06-01")
    engine.record_interventions(batch(ROWS))
    with pytest.raises(
        RecordError, match="row 2, field 'intervention_id': intervention 2 is already"
    ):
        engine.record_interventions(
            batch([(8, 7, "mentoring", "2026-01-01", "", "health"), ROWS[1]])
        )
    assert engine.interventions(7).rows() == []  # the whole batch refused
    with pytest.raises(RecordError, match="not recorded"):
        engine.end_intervention(77, "2026-05-01")
    with pytest.raises(RecordError, match="ended already, on 2026-03-01"):
        engine.end_intervention(2, "2026-05-01")
    with pytest.raises(RecordError, match="before its start 2026-01-01"):
        engine.end_intervention(1, "2025-12-01")


def test_an_engine_directory_keeps_its_interventions(tmp_path):
    with Engine.open(tmp_path / "state", as_of="2026-06-01", create=True) as engine:
        engine.record_interventions(batch(ROWS))
        engine.end_intervention(1, "2026-04-01")
    with Engine.open(tmp_path / "state") as engine:
        assert engine.interventions(5).rows()[0][4] == datetime.date(2026, 4, 1)
        assert len(engine.interventions(6)) == 1
    reader = Engine.open(tmp_path / "state", readonly=True)
    with pytest.raises(EngineError, match="read-only"):
        reader.record_interventions(batch([(9, 5, "mentoring", "2026-01-01", "", "police")]))
    reader.close()


@settings(deadline=None, max_examples=40)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 3),
            st.sampled_from(KINDS),
            st.integers(0, 200),
            st.one_of(st.none(), st.integers(0, 100)),
            st.sampled_from(AGENCIES),
        ),
        max_size=25,
    ),
    probe=st.integers(0, 320),
)
def test_listing_equals_a_plain_model(rows, probe):
    base = datetime.date(2026, 1, 1)
    table = [
        (
            i + 1,
            nominal,
            kind,
            base + start * DAY,
            None if length is None else base + (start + length) * DAY,
            agency,
        )
        for i, (nominal, kind, start, length, agency) in enumerate(rows)
    ]
    engine = Engine(Weights.default(), "2026-06-01")
    engine.record_interventions(
        batch(
            [
                (i, n, k, s.isoformat(), "" if e is None else e.isoformat(), a)
                for i, n, k, s, e, a in table
            ]
        )
    )
    on = base + probe * DAY
    for nominal in range(4):
        mine = sorted((r for r in table if r[1] == nominal), key=lambda r: (r[3], r[0]))
        assert engine.interventions(nominal).rows() == mine
        active = [r for r in mine if r[3] <= on and (r[4] is None or r[4] >= on)]
        assert engine.interventions(nominal, active_on=on).rows() == active


def test_dates_before_1970_keep_their_end():
    engine = Engine(Weights.default(), "2026-06-01")
    engine.record_interventions(
        batch(
            [
                (1, 5, "mentoring", "1969-01-01", "1969-12-31", "police"),
                (2, 5, "mentoring", "1969-06-01", "", "probation"),
            ]
        )
    )
    assert [r[4] for r in engine.interventions(5).rows()] == [datetime.date(1969, 12, 31), None]
    with pytest.raises(RecordError, match="before its start 1969-06-01"):
        engine.record_interventions(
            batch([(3, 5, "mentoring", "1969-06-01", "1969-03-01", "police")])
        )


@pytest.mark.parametrize("bad", [2**63, -1, "7", True])
def test_an_id_outside_int64_is_a_clear_error(bad):
    engine = Engine(Weights.default(), "2026-06-01")
    with pytest.raises(EngineError, match=r"outside 0..2..63-1|must be an integer"):
        engine.interventions(bad)
    with pytest.raises(EngineError, match=r"outside 0..2..63-1|must be an integer"):
        engine.end_intervention(bad, "2026-01-01")
