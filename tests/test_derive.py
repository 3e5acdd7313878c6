"""The default weight table: derived from public data, deterministic, complete.

The shipped files under ``weights/`` are checked against the code that writes
them, and the derivation rules are checked on real codes with values worked
out here from the source files, not copied from the output.

The public source files are copied into the repository: the ONS severity
weights in ``weights/`` (packaged, used by ``iomscore weights build``) and the
Home Office catalogue source in ``weights/sources/`` (with its provenance).
"""

from __future__ import annotations

import csv
import hashlib
import re
import statistics
import tomllib
from pathlib import Path

import numpy as np
import pytest

from iomscore.codes import normalize_offence
from iomscore.derive import (
    DATASETS,
    ONS_JOIN,
    DerivationError,
    build_catalogue,
    build_default,
    derive_gravity,
    derive_weights,
    load_catalogue,
    load_priorities,
    load_severity,
)
from iomscore.weights import Weights

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = ROOT / "weights"
CATALOGUE = WEIGHTS / "offence_catalogue.csv"
PRIORITIES = WEIGHTS / "priorities.toml"
DEFAULT = WEIGHTS / "default.csv"


def _reference_file(name: str) -> Path:
    """A source file copied into the repository (weights/ or weights/sources/)."""
    for path in (WEIGHTS / name, WEIGHTS / "sources" / name):
        if path.is_file():
            return path
    raise FileNotFoundError(f"{name} is missing from weights/ and weights/sources/")


@pytest.fixture(scope="module")
def ho_csv() -> Path:
    return _reference_file("ho_offence_codes.csv")


@pytest.fixture(scope="module")
def severity_csv() -> Path:
    return _reference_file("ons_crime_severity_weights.csv")


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue(CATALOGUE)


@pytest.fixture(scope="module")
def priorities():
    return load_priorities(PRIORITIES)


@pytest.fixture(scope="module")
def toml() -> dict:
    return tomllib.loads(PRIORITIES.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def table() -> Weights:
    return Weights.load(DEFAULT)


@pytest.fixture(scope="module")
def gravity(catalogue, severity_csv, priorities):
    return derive_gravity(catalogue, load_severity(severity_csv), priorities)


def _ons_weights(severity_csv: Path) -> dict[str, float]:
    """ONS code -> weight, read plainly from the source file."""
    with severity_csv.open(encoding="utf-8", newline="") as handle:
        return {
            r["ONS_SEVERITY_code"]: float(r["ONS_SEVERITY_weight"]) for r in csv.DictReader(handle)
        }


def _expected_points(gravity: float, priority: float, dataset: str, toml: dict) -> int:
    """The documented formula, evaluated from the raw TOML values."""
    scale = toml["scale"]
    raw = (
        scale["base_points"]
        * (gravity / scale["reference_gravity"]) ** scale["gravity_exponent"]
        * priority
        * toml["datasets"][dataset]
    )
    assert scale["rounding"] == "half_even"
    value = min(scale["cap"], round(round(raw, 6)))
    return max(scale.get("min_points", 0), value) if raw > 0 else value


# -- the catalogue -------------------------------------------------------------
def test_catalogue_has_3039_unique_canonical_sorted_codes(catalogue):
    codes = [entry.offence for entry in catalogue]
    assert len(codes) == 3039
    assert len(set(codes)) == 3039
    assert all(normalize_offence(code) == code for code in codes)
    assert codes == sorted(codes)
    assert all(entry.description and entry.group and entry.category for entry in catalogue)


def test_catalogue_is_the_source_reshaped(catalogue, ho_csv):
    with ho_csv.open(encoding="utf-8", newline="") as handle:
        source = list(csv.DictReader(handle))
    expected = sorted(
        (
            f"{row['ho_code_5'][:3]}/{row['ho_code_5'][3:]}",
            " ".join(row["sub_category"].split()),
            row["parent_group"],
            row["category"],
            row["actuarial_category"],
        )
        for row in source
    )
    got = [(e.offence, e.description, e.group, e.category, e.actuarial_category) for e in catalogue]
    assert got == expected


def test_catalogue_rebuild_is_byte_identical(ho_csv, tmp_path):
    out = tmp_path / "catalogue.csv"
    build_catalogue(ho_csv, out)
    assert out.read_bytes() == CATALOGUE.read_bytes()


# -- the default table -----------------------------------------------------------
def test_default_table_covers_every_catalogue_code(catalogue, table):
    assert table.datasets == DATASETS
    assert table.offences == tuple(entry.offence for entry in catalogue)
    assert table.name == "iomscore-default-2026.11"
    assert table.metadata["effective"] == "2026-11-26"


def test_rebuild_gives_byte_identical_default(severity_csv, tmp_path):
    out = tmp_path / "default.csv"
    built = build_default(PRIORITIES, CATALOGUE, severity_csv, out)
    assert out.read_bytes() == DEFAULT.read_bytes()
    expected = hashlib.sha256(DEFAULT.read_bytes()).hexdigest()
    assert hashlib.sha256(out.read_bytes()).hexdigest() == expected
    assert built == Weights.load(DEFAULT)


def test_points_are_integers_within_the_cap(table, toml):
    cap = toml["scale"]["cap"]
    assert cap <= Weights.MAX_POINTS
    assert table.points.dtype == np.int64
    assert table.points.min() >= 0
    assert table.points.max() <= cap
    assert table.points[:, table.offence_index("000/00")].tolist() == [0] * len(DATASETS)
    # every valid offence is worth something on arrest and on disposal
    valid = [i for i, code in enumerate(table.offences) if code != "000/00"]
    for dataset in ("arrest", "disposal"):
        assert table.points[table.dataset_index(dataset), valid].min() >= 1


def test_floor_rounding_is_never_above_half_even(catalogue, severity_csv, priorities):
    from dataclasses import replace

    even = derive_weights(catalogue, severity_csv, priorities)
    floor = derive_weights(catalogue, severity_csv, replace(priorities, rounding="floor"))
    difference = even.points - floor.points
    assert difference.min() >= 0
    assert difference.max() <= 1


# -- documented example: robbery against being found drunk ----------------------
def test_robbery_outweighs_a_minor_summary_code_as_documented(table, toml, severity_csv):
    ons = _ons_weights(severity_csv)
    robbery, drunk = "034/01", "140/01"  # robbery; being found drunk in a public place
    # Robbery: class 034 is ONS 34A and 34B (business and personal property),
    # median of the two; group "Robbery" priority.
    robbery_gravity = statistics.median([ons["34A"], ons["34B"]])
    robbery_priority = toml["priority"]["group"]["Robbery"]
    # Drunkenness: summary class 140 has no ONS weight -> summary gravity; the
    # category and actuarial category carry no priority, the group does.
    drunk_gravity = toml["gravity"]["summary_gravity"]
    drunk_priority = toml["priority"]["group"]["Other summary offences"]
    assert robbery_priority > 1 > drunk_priority
    for dataset in DATASETS:
        want_robbery = _expected_points(robbery_gravity, robbery_priority, dataset, toml)
        want_drunk = _expected_points(drunk_gravity, drunk_priority, dataset, toml)
        assert table.get(dataset, robbery) == want_robbery
        assert table.get(dataset, drunk) == want_drunk
        assert want_robbery > want_drunk
    # the dataset multipliers order the datasets of one offence
    order = sorted(DATASETS, key=lambda d: toml["datasets"][d])
    assert [table.get(d, robbery) for d in order] == sorted(table.get(d, robbery) for d in order)
    assert table.get("intelligence", robbery) < table.get("arrest", robbery)


def test_drug_supply_priority_orders_codes_of_equal_gravity(table, gravity, toml):
    # Possession with intent to supply (092/71) and importation (092/03) are both
    # ONS 92A, trafficking; supply has the offence priority, importation the
    # actuarial one.
    assert gravity["092/71"].ons == gravity["092/03"].ons == ("92A",)
    supply = toml["priority"]["offence"]["092/70-092/93"]
    importation = toml["priority"]["actuarial_category"]["DRUG_IMPORT_EXPORT_OR_PRODUCTION"]
    assert supply > importation
    for dataset in DATASETS:
        assert table.get(dataset, "092/71") >= table.get(dataset, "092/03")
    assert table.get("arrest", "092/71") > table.get("arrest", "092/03")
    # and supply outweighs simple possession of cannabis by far
    assert table.get("arrest", "092/71") > 10 * table.get("arrest", "092/61")


# -- gravity rules ---------------------------------------------------------------
def test_fallback_for_an_indictable_class_with_no_ons_weight(
    gravity, catalogue, severity_csv, table, toml
):
    code = "053/04"  # conspiracy to defraud; fraud is not in the Crime Severity Score
    ons = _ons_weights(severity_csv)
    leading = {int(re.match(r"\d+", c).group()) for c in ons}
    assert 53 not in leading
    g = gravity[code]
    assert g.rule == "fallback-group"
    # peers: weighted indictable classes of the same group; the value is their median
    group = {e.offence: e.group for e in catalogue}
    peer_values = []
    for klass in g.ons:
        codes = [e.offence for e in catalogue if e.offence.startswith(klass + "/")]
        assert any(group[c] == group[code] for c in codes)
        class_rules = {gravity[c].value for c in codes if gravity[c].rule == "class"}
        assert len(class_rules) == 1
        peer_values.append(class_rules.pop())
    assert len(peer_values) >= 2
    assert g.value == pytest.approx(statistics.median(peer_values))
    assert min(peer_values) <= g.value <= max(peer_values)
    priority = toml["priority"]["group"]["Fraud forgery"]
    assert table.get("arrest", code) == _expected_points(g.value, priority, "arrest", toml)


def test_fallback_for_a_summary_class_is_the_summary_gravity(gravity, toml, severity_csv):
    ons = _ons_weights(severity_csv)
    leading = {int(re.match(r"\d+", c).group()) for c in ons}
    for code in ("140/01", "803/01", "000/01"):
        assert int(code[:3]) not in leading
        assert gravity[code].rule == "fallback-summary"
        assert gravity[code].value == toml["gravity"]["summary_gravity"]


def test_collisions_do_not_join_by_number(gravity, severity_csv):
    ons = _ons_weights(severity_csv)
    # ONS 106 is modern slavery; HO class 106 is betting, gaming and lotteries.
    assert gravity["106/02"].rule == "fallback-summary"
    assert gravity["099/25"].value == ons["106"]
    # ONS 62A is violent disorder, HO class 065; HO class 062 is treason.
    assert gravity["065/00"].value == ons["62A"]
    assert "62A" not in gravity["062/00"].ons


def test_reviewed_joins_place_mixed_classes(gravity, severity_csv, catalogue):
    ons = _ons_weights(severity_csv)
    description = {e.offence: e.description for e in catalogue}
    assert "actual bodily harm" in description["008/06"]
    assert gravity["008/06"].value == ons["8N"]  # assault with injury
    assert "Cannabis" in description["092/61"]
    assert gravity["092/61"].value == ons["92E"]  # possession of cannabis
    assert "blade or point" in description["008/26"]
    assert gravity["008/26"].value == ons["10D"]
    # every join names a real ONS code
    assert {code for code, _, _ in ONS_JOIN} <= set(ons)


def test_subcode_spelling_joins_exactly(gravity, severity_csv, catalogue):
    ons = _ons_weights(severity_csv)
    description = {e.offence: e.description for e in catalogue}
    # ONS "4.4" is Home Office 004/04, causing death by dangerous driving
    assert "death by dangerous driving" in description["004/04"]
    assert gravity["004/04"].rule == "subcode"
    assert gravity["004/04"].value == ons["4.4"]
    # the merged homicide row names 001 and 004/01, 004/02, 004/10
    homicide = next(v for k, v in ons.items() if k.startswith("1,"))
    assert gravity["004/01"].value == homicide
    assert gravity["001/01"].value == homicide


# -- the priorities file is checked --------------------------------------------------
def test_a_priority_that_matches_nothing_is_an_error(catalogue, severity_csv, tmp_path):
    text = PRIORITIES.read_text(encoding="utf-8")
    typo = text.replace('"Stealing from the person of another"', '"Stealing from teh person"')
    assert typo != text
    path = tmp_path / "typo.toml"
    path.write_text(typo, encoding="utf-8")
    with pytest.raises(DerivationError, match="teh person"):
        derive_weights(catalogue, severity_csv, load_priorities(path))


def test_an_unknown_key_is_an_error(tmp_path):
    path = tmp_path / "unknown.toml"
    path.write_text(
        PRIORITIES.read_text(encoding="utf-8").replace("cap = 400", "cap = 400\ncapp = 1"),
        encoding="utf-8",
    )
    with pytest.raises(DerivationError, match="capp"):
        load_priorities(path)
