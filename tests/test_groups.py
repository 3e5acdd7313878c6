"""Offence groups and IOM cohort strands (issue 26).

The shipped table ``weights/offence_groups.csv`` is checked against the code
that writes it, the rules on real catalogue codes, and :func:`strands` against
:func:`strand_of`, its one-nominal twin, row by row.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from iomscore.derive import load_catalogue
from iomscore.errors import FileAccessError, OffenceCodeError, OptionError, RecordError
from iomscore.groups import (
    DEFAULT_FLEX,
    DOMESTIC_ABUSE,
    FIXED_GROUPS,
    GROUPS,
    OTHER,
    STRANDS,
    OffenceGroups,
    build_offence_groups,
    strand_of,
    strands,
)
from iomscore.weights import Weights

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "weights"
CATALOGUE = WEIGHTS / "offence_catalogue.csv"
SHIPPED = WEIGHTS / "offence_groups.csv"


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(CATALOGUE)


@pytest.fixture(scope="module")
def table() -> OffenceGroups:
    return OffenceGroups.load(SHIPPED)


# ---------------------------------------------------------------------------
# the shipped table
# ---------------------------------------------------------------------------
def test_rebuild_is_byte_identical(tmp_path):
    out = tmp_path / "offence_groups.csv"
    built = build_offence_groups(CATALOGUE, out)
    assert out.read_bytes() == SHIPPED.read_bytes()
    assert built.groups == OffenceGroups.load(out).groups


def test_default_is_the_shipped_file(table):
    default = OffenceGroups.default()
    assert default.name == table.name == "iomscore-offence-groups-2026.12"
    assert default.groups == table.groups == GROUPS
    assert all(default.codes(g) == table.codes(g) for g in GROUPS)


def test_every_catalogue_code_has_exactly_one_group(catalogue, table):
    lines = [line for line in SHIPPED.read_text(encoding="utf-8").splitlines() if line[:1] != "#"]
    rows = list(csv.reader(lines))
    assert rows[0] == ["offence", "group"]
    codes = [row[0] for row in rows[1:]]
    assert codes == sorted(codes) == [entry.offence for entry in catalogue]
    assert len(codes) == len(set(codes)) == 3039
    assert {row[1] for row in rows[1:]} == set(GROUPS)
    # the groups partition the catalogue
    parts = [table.codes(group) for group in table.groups]
    assert sorted(code for part in parts for code in part) == codes


@pytest.mark.parametrize(
    ("code", "group"),
    [
        ("028/03", "domestic_burglary"),  # other burglary in a dwelling
        ("028/00", "domestic_burglary"),  # burglary in a dwelling, unspecified
        ("029/00", "domestic_burglary"),  # aggravated burglary in a dwelling
        ("030/02", "other_acquisitive"),  # burglary other than in a dwelling
        ("031/00", "other_acquisitive"),  # aggravated burglary other than a dwelling
        ("034/01", "personal_robbery"),  # robbery
        ("034/02", "personal_robbery"),  # assault with intent to rob
        ("039/00", "theft_from_person"),  # stealing from the person of another
        ("048/01", "vehicle_theft"),  # stealing motor vehicle
        ("045/10", "vehicle_theft"),  # stealing from motor vehicles
        ("126/00", "vehicle_theft"),  # interference with motor vehicles
        ("130/01", "vehicle_theft"),  # unauthorised taking of a motor vehicle
        ("037/02", "vehicle_theft"),  # aggravated vehicle taking, dangerous driving
        ("037/01", "violence"),  # aggravated vehicle taking causing death
        ("044/00", "other_acquisitive"),  # stealing pedal cycles
        ("137/18", "other_acquisitive"),  # taking a pedal cycle without consent
        ("046/00", "other_acquisitive"),  # shoplifting
        ("041/00", "other_acquisitive"),  # stealing by an employee
        ("008/67", "domestic_abuse"),  # controlling or coercive behaviour
        ("997/01", "domestic_abuse"),  # breach of a domestic violence protection order
        ("066/39", "domestic_abuse"),  # breach of a non-molestation order
        ("008/65", "domestic_abuse"),  # stalking involving fear of violence
        ("008/56", "public_order"),  # racially or religiously aggravated stalking
        ("008/77", "violence"),  # intentional strangulation
        ("008/06", "violence"),  # actual bodily harm
        ("105/01", "violence"),  # common assault
        ("019/00", "sexual"),  # rape
        ("008/26", "weapons"),  # article with a blade or point in public
        ("092/71", "drugs"),  # possession with intent to supply, class A
        ("125/09", "public_order"),  # intentional harassment, alarm or distress
        ("140/01", "other"),  # found drunk
        ("053/04", "other"),  # conspiracy to defraud
        ("000/00", "other"),  # invalid offence
    ],
)
def test_known_codes_land_where_expected(table, code, group):
    assert table.group_of(code) == group


def test_fixed_groups_hold_what_their_names_say(catalogue, table):
    entries = {entry.offence: entry for entry in catalogue}
    for code in table.codes("domestic_burglary"):
        assert re.search(r"burglary in a dwelling", entries[code].category, re.I), code
    for code in table.codes("personal_robbery"):
        assert re.search(r"\brob", entries[code].description, re.I), code
    for code in table.codes("theft_from_person"):
        assert "from the person" in entries[code].description, code
    for code in table.codes("vehicle_theft"):
        assert re.search(r"vehicle|conveyance|taking", entries[code].description, re.I), code
        assert "pedal cycle" not in entries[code].category.lower()
    assert [len(table.codes(g)) for g in FIXED_GROUPS] == [5, 4, 1, 14]


def test_domestic_abuse_misses_no_code_that_names_it(catalogue, table):
    """A code whose description names domestic abuse, coercive control, a
    non-molestation order or stalking (not as a hate crime) is domestic abuse."""
    names_it = re.compile(r"domes\w* (abuse|violence)|coercive|non-molestation|stalking", re.I)
    hate = re.compile(r"racially|religiously", re.I)
    found = {
        e.offence
        for e in catalogue
        if names_it.search(e.description) and not hate.search(e.description)
    }
    assert found <= set(table.codes("domestic_abuse"))
    listed = [code for codes, _ in DOMESTIC_ABUSE for code in codes]
    assert sorted(listed) == list(table.codes("domestic_abuse"))
    assert len(listed) == len(set(listed)) == 14


def test_group_of_takes_every_spelling_and_puts_unknown_codes_in_other(table):
    assert table.group_of("28/3") == table.group_of("02803") == "domestic_burglary"
    assert table.group_of(" 034/01 ") == "personal_robbery"
    assert table.group_of("999/99") == OTHER  # a code the table does not name
    with pytest.raises(OffenceCodeError):
        table.group_of("burglary")


def test_group_index_matches_group_of(table):
    offences = Weights.default().offences
    index = table.group_index(offences)
    assert index.dtype == np.int64 and index.shape == (len(offences),)
    assert [table.groups[i] for i in index.tolist()] == [table.group_of(o) for o in offences]
    mixed = ["28/3", "039/00", "999/99", "04801", "000/00"]
    assert [table.groups[i] for i in table.group_index(mixed).tolist()] == [
        "domestic_burglary",
        "theft_from_person",
        OTHER,
        "vehicle_theft",
        OTHER,
    ]
    assert table.group_index([]).shape == (0,)
    with pytest.raises(OffenceCodeError):
        table.group_index(["028/03", "not a code"])


def test_codes_of_an_unknown_group_is_a_key_error(table):
    with pytest.raises(KeyError):
        table.codes("burglary")


# ---------------------------------------------------------------------------
# a force's own table
# ---------------------------------------------------------------------------
FIXED_ROWS = "028/03,domestic_burglary\n034/01,personal_robbery\n039/00,theft_from_person\n"
FIXED_ROWS += "048/01,vehicle_theft\n"


def test_a_local_table_with_its_own_groups(tmp_path):
    path = tmp_path / "local.csv"
    path.write_text(f"# name: local\noffence,group\n{FIXED_ROWS}008/26,knife_crime\n")
    table = OffenceGroups.load(path)
    assert table.name == "local"
    assert table.groups == (*FIXED_GROUPS, OTHER, "knife_crime")
    assert table.group_of("8/26") == "knife_crime"
    assert table.group_of("008/06") == OTHER
    assert table.codes(OTHER) == ()


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("offense,group\n" + FIXED_ROWS, 3, "header"),
        ("offence,group,points\n" + FIXED_ROWS, 3, "header"),
        ("offence,group\n" + FIXED_ROWS + "028/03,violence\n", 8, "appears twice"),
        ("offence,group\n" + FIXED_ROWS + "28/1,violence\n", 8, "write 028/01"),
        ("offence,group\n" + FIXED_ROWS + "02801,violence\n", 8, "canonical"),
        ("offence,group\n" + FIXED_ROWS + "burglary,violence\n", 8, "canonical"),
        ("offence,group\n" + FIXED_ROWS + "008/06,Violence\n", 8, "lower-case"),
        ("offence,group\n" + FIXED_ROWS + "008/06,\n", 8, "lower-case"),
        ("offence,group\n" + FIXED_ROWS + "008/06\n", 8, "an offence and a group"),
        ("offence,group\n" + FIXED_ROWS + "008/06,violence,x\n", 8, "an offence and a group"),
    ],
)
def test_a_bad_file_is_a_record_error_naming_the_line(tmp_path, body, line, words):
    path = tmp_path / "bad.csv"
    path.write_text("# name: bad\n# source: a test\n" + body)
    with pytest.raises(RecordError, match=rf"bad\.csv: line {line}: .*{words}"):
        OffenceGroups.load(path)


def test_a_file_without_a_fixed_group_or_rows_is_a_record_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("offence,group\n028/03,domestic_burglary\n")
    with pytest.raises(RecordError, match="personal_robbery, theft_from_person, vehicle_theft"):
        OffenceGroups.load(path)
    path.write_text("offence,group\n")
    with pytest.raises(RecordError, match="names no offence"):
        OffenceGroups.load(path)
    with pytest.raises(FileAccessError, match="no such offence-group table"):
        OffenceGroups.load(tmp_path / "absent.csv")


# ---------------------------------------------------------------------------
# strands
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("points", "flex", "strand"),
    [
        ({}, DEFAULT_FLEX, "free"),
        ({"domestic_burglary": 0, "violence": 0}, DEFAULT_FLEX, "free"),
        ({"domestic_burglary": 26, "violence": 13}, DEFAULT_FLEX, "fixed"),
        ({"vehicle_theft": 10, "violence": 13}, DEFAULT_FLEX, "flex"),
        ({"domestic_abuse": 3, "drugs": 28}, DEFAULT_FLEX, "free"),
        ({"other": 1}, DEFAULT_FLEX, "free"),
        # ties: fixed first, then flex, then the rest
        ({"violence": 13, "personal_robbery": 13}, DEFAULT_FLEX, "fixed"),
        ({"drugs": 7, "domestic_abuse": 7}, DEFAULT_FLEX, "flex"),
        ({"weapons": 7, "drugs": 7, "other": 7}, DEFAULT_FLEX, "free"),
        # the flex groups are the caller's
        ({"drugs": 7, "violence": 7}, ("drugs",), "flex"),
        ({"drugs": 7, "violence": 9}, ("drugs",), "free"),
        ({"violence": 9}, (), "free"),
        ({"knife_crime": 9, "theft_from_person": 8}, ("knife_crime",), "flex"),
    ],
)
def test_strand_of_on_hand_examples(points, flex, strand):
    assert strand_of(points, flex) == strand
    groups = sorted(set(points) | set(flex))
    row = np.array([[points.get(g, 0) for g in groups]], dtype=np.int64)
    assert STRANDS[int(strands(row, groups, flex)[0])] == strand


def test_bad_strand_arguments():
    with pytest.raises(ValueError, match="negative"):
        strand_of({"violence": -1})
    with pytest.raises(OptionError, match="fixed group"):
        strand_of({"violence": 1}, ("vehicle_theft",))
    with pytest.raises(OptionError, match="distinct"):
        strand_of({"violence": 1}, ("violence", "violence"))
    with pytest.raises(OptionError, match="string"):
        strand_of({"violence": 1}, "violence")
    groups = ("violence", "drugs")
    with pytest.raises(OptionError, match="not one of the groups"):
        strands(np.zeros((1, 2), np.int64), groups, ("weapons",))
    with pytest.raises(ValueError, match="shape"):
        strands(np.zeros((1, 3), np.int64), groups, ())
    with pytest.raises(ValueError, match="negative"):
        strands(np.array([[1, -1]]), groups, ())
    with pytest.raises(ValueError, match="integers"):
        strands(np.array([[1.0, 0.0]]), groups, ())
    with pytest.raises(ValueError, match="repeat"):
        strands(np.zeros((1, 2), np.int64), ("drugs", "drugs"), ())
    assert strands(np.zeros((0, 2), np.int64), groups, ()).shape == (0,)


_NAMES = (*GROUPS, "knife_crime", "aaa", "zz_local")


@st.composite
def _cohorts(draw):
    groups = draw(st.lists(st.sampled_from(_NAMES), min_size=1, max_size=8, unique=True))
    candidates = [g for g in groups if g not in FIXED_GROUPS]
    flex = draw(st.lists(st.sampled_from(candidates), unique=True) if candidates else st.just([]))
    n = draw(st.integers(0, 12))
    # small values, so that ties are common
    points = draw(
        hnp.arrays(np.int64, (n, len(groups)), elements=st.sampled_from([0, 0, 1, 2, 400]))
    )
    return points, tuple(groups), tuple(flex)


@given(_cohorts())
def test_strands_is_strand_of_row_by_row(cohort):
    points, groups, flex = cohort
    got = strands(points, groups, flex)
    assert got.dtype == np.int8 and got.shape == (points.shape[0],)
    for row, code in zip(points.tolist(), got.tolist(), strict=True):
        assert STRANDS[code] == strand_of(dict(zip(groups, row, strict=True)), flex)
