"""Tests of the synthetic cohort generator, :mod:`iomscore.synth` (small cohorts, fast)."""

from __future__ import annotations

import csv
import datetime
import math
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from iomscore import synth
from iomscore.calendar import window_start
from iomscore.codes import normalize_offence

REPO = Path(__file__).resolve().parents[1]
AS_OF = datetime.date(2026, 11, 26)
ARRAYS = ("event_id", "nominal_id", "dataset_index", "offence_index", "date")


@pytest.fixture(scope="module")
def mid() -> synth.Cohort:
    """A cohort big enough for mix and tail statistics: 20,000 nominals, 200,000 events."""
    return synth.cohort(20_000, 200_000, seed=7)


def assert_same(a: synth.Cohort, b: synth.Cohort) -> None:
    for name in ARRAYS:
        x, y = getattr(a, name), getattr(b, name)
        assert x.dtype == y.dtype, name
        np.testing.assert_array_equal(x, y, err_msg=name)
    assert (a.datasets, a.offences, a.as_of) == (b.datasets, b.offences, b.as_of)


def days_between(start: datetime.date, end: datetime.date) -> int:
    return (end - start).days


# ------------------------------------------------------------------------------- the tables


def test_offence_mix_table_is_well_formed():
    assert sum(share for _, share, _ in synth.OFFENCE_MIX) == pytest.approx(100.0)
    assert sum(synth.OFFENCE_SHARES) == pytest.approx(1.0)
    assert len(synth.OFFENCES) == len(set(synth.OFFENCES)) == len(synth.OFFENCE_SHARES)
    assert 30 <= len(synth.OFFENCES) <= 150
    assert all(share > 0 for share in synth.OFFENCE_SHARES)
    for code in synth.OFFENCES:
        assert normalize_offence(code) == code, f"{code} is not canonical CCC/SS"
    shares = {name: share for name, share, _ in synth.OFFENCE_MIX}
    violence = shares["violence_with_injury"] + shares["violence_without_injury"]
    assert violence + shares["stalking_harassment"] == pytest.approx(35.0)
    assert shares["theft"] == pytest.approx(25.0)


def _catalogue_codes() -> tuple[set[str], Path]:
    """The project's catalogue of Home Office codes (weights/offence_catalogue.csv)."""
    in_repo = REPO / "weights" / "offence_catalogue.csv"
    with in_repo.open(newline="", encoding="utf-8") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return {normalize_offence(row["offence"]) for row in rows}, in_repo


def test_every_offence_code_is_in_the_home_office_catalogue():
    catalogue, source = _catalogue_codes()
    missing = sorted(set(synth.OFFENCES) - catalogue)
    assert not missing, f"codes not in {source}: {missing}"


def test_dataset_shares_are_in_the_stated_order():
    share = dict(zip(synth.DATASETS, synth.DATASET_SHARES, strict=True))
    assert synth.DATASETS == ("arrest", "disposal", "intelligence", "warrant", "dip")
    assert sum(synth.DATASET_SHARES) == pytest.approx(1.0)
    order = ("intelligence", "arrest", "disposal", "dip", "warrant")
    assert [share[name] for name in order] == sorted(share.values(), reverse=True)
    assert len(set(share.values())) == len(share)


# ------------------------------------------------------------------------------- the cohort


def test_types_and_lengths():
    c = synth.cohort(300, 2_000, seed=3)
    assert len(c) == 2_000
    assert c.event_id.dtype == np.int64 and c.nominal_id.dtype == np.int64
    assert c.dataset_index.dtype == np.int8 and c.offence_index.dtype == np.int16
    assert c.date.dtype == np.dtype("datetime64[D]")
    assert c.datasets == synth.DATASETS and c.offences == synth.OFFENCES
    assert c.as_of == AS_OF
    assert c.dataset_index.min() >= 0 and c.dataset_index.max() < len(c.datasets)
    assert c.offence_index.min() >= 0 and c.offence_index.max() < len(c.offences)
    for name in ARRAYS:
        assert not getattr(c, name).flags.writeable, name


def test_same_seed_same_arrays():
    assert_same(synth.cohort(500, 4_000, seed=11), synth.cohort(500, 4_000, seed=11))
    assert_same(
        synth.cohort(500, 4_000, seed=11, ascending_ids=False),
        synth.cohort(500, 4_000, seed=11, ascending_ids=False),
    )


def test_different_seed_differs():
    a, b = synth.cohort(500, 4_000, seed=1), synth.cohort(500, 4_000, seed=2)
    for name in ARRAYS:
        assert not np.array_equal(getattr(a, name), getattr(b, name)), name


@pytest.mark.parametrize(
    ("as_of", "span_days"),
    [
        (AS_OF, 731),
        (AS_OF, 1),
        (datetime.date(2024, 2, 29), 366),
        (datetime.date(2030, 1, 1), 2_000),
    ],
)
def test_dates_fall_in_the_span_ending_at_as_of(as_of, span_days):
    c = synth.cohort(1_000, 20_000, as_of=as_of, span_days=span_days, seed=5)
    first = np.datetime64(as_of - datetime.timedelta(days=span_days - 1))
    last = np.datetime64(as_of)
    assert c.date.min() == first and c.date.max() == last  # 20,000 events reach both ends
    assert np.all(np.diff(c.date.view(np.int64)) >= 0), "rows are in date order"
    assert c.as_of == as_of


def test_default_span_starts_on_the_two_year_window_boundary():
    c = synth.cohort(1_000, 20_000, seed=5)
    assert c.date.min() == np.datetime64(window_start(AS_OF, 2))  # just outside the window


def test_dates_are_spread_over_the_span(mid):
    per_day = np.bincount((mid.date - mid.date.min()).view(np.int64), minlength=731)
    assert per_day.size == 731
    mean = per_day.mean()
    assert per_day.min() > 0.75 * mean and per_day.max() < 1.25 * mean  # +-8% season + noise


def test_a_longer_span_puts_events_outside_two_years():
    c = synth.cohort(1_000, 10_000, span_days=3 * 365, seed=2)
    outside = c.date <= np.datetime64(datetime.date(2024, 11, 26))
    assert 0.25 < outside.mean() < 0.42  # about a third of three years


def test_event_ids_are_unique_shuffled_by_default_or_ascending():
    up = synth.cohort(400, 5_000, seed=9, ascending_ids=True)
    assert np.all(np.diff(up.event_id) > 0)
    mixed = synth.cohort(400, 5_000, seed=9)  # as an export has them: in no order
    assert np.unique(mixed.event_id).size == len(mixed)
    assert not np.all(np.diff(mixed.event_id) > 0)
    # The shuffle is the last draw: the same ids, and every other column identical.
    np.testing.assert_array_equal(np.sort(mixed.event_id), up.event_id)
    for name in ARRAYS[1:]:
        np.testing.assert_array_equal(getattr(mixed, name), getattr(up, name))


def test_every_nominal_appears_with_a_sparse_unique_id(mid):
    low, high = synth.NOMINAL_ID_RANGE
    ids = np.unique(mid.nominal_id)
    assert ids.size == 20_000  # every nominal appears, and no two share an id
    assert ids.min() >= low >= 0 and ids.max() < high
    assert ids.max() - ids.min() > 100 * ids.size  # sparse, not 0..n-1
    assert not np.all(np.diff(mid.nominal_id) >= 0)  # and not in id order


def test_fewer_events_than_nominals_gives_one_event_each():
    c = synth.cohort(1_000, 600, seed=4)
    assert len(c) == 600 and np.unique(c.nominal_id).size == 600


def test_no_events():
    c = synth.cohort(10, 0)
    assert len(c) == 0
    for name in ARRAYS:
        assert getattr(c, name).size == 0
    assert c.to_arrow().num_rows == 0


def test_offending_is_heavy_tailed(mid):
    counts = np.sort(np.unique(mid.nominal_id, return_counts=True)[1])[::-1]
    top_tenth = counts[: counts.size // 10].sum() / counts.sum()
    assert top_tenth > 0.40
    assert np.median(counts) <= 5  # a typical nominal has a handful of events
    assert counts[0] >= 40  # a prolific few have dozens or more
    assert counts[-1] >= 1


def test_dataset_mix(mid):
    n = np.bincount(mid.dataset_index, minlength=len(mid.datasets))
    count = dict(zip(mid.datasets, n, strict=True))
    order = ("intelligence", "arrest", "disposal", "dip", "warrant")
    assert [count[name] for name in order] == sorted(count.values(), reverse=True)
    assert len(set(count.values())) == len(count)
    np.testing.assert_allclose(n / n.sum(), synth.DATASET_SHARES, atol=0.01)


def test_offence_mix_follows_the_table(mid):
    seen = np.bincount(mid.offence_index, minlength=len(mid.offences)) / len(mid)
    group_of = np.repeat(
        np.arange(len(synth.OFFENCE_MIX)), [len(rows) for _, _, rows in synth.OFFENCE_MIX]
    )
    by_group = np.bincount(group_of, weights=seen)
    expected = np.array([share for _, share, _ in synth.OFFENCE_MIX]) / 100
    # Styles make events of one nominal alike, so allow more than multinomial noise.
    np.testing.assert_allclose(by_group, expected, atol=0.015)
    np.testing.assert_allclose(seen, synth.OFFENCE_SHARES, atol=0.01)


def test_prolific_nominals_lean_to_one_offence_group(mid):
    sizes = [len(rows) for _, _, rows in synth.OFFENCE_MIX]
    group = np.repeat(np.arange(len(sizes)), sizes)[mid.offence_index]
    nominals, owner, counts = np.unique(mid.nominal_id, return_inverse=True, return_counts=True)
    per_group = np.zeros((nominals.size, len(sizes)), dtype=np.int64)
    np.add.at(per_group, (owner, group), 1)
    busy = counts >= 20
    top_share = per_group[busy].max(axis=1) / counts[busy]
    assert busy.sum() > 100
    assert np.mean(top_share) > 0.5  # about 0.26 without styles


# ------------------------------------------------------------------------------- outputs


def test_columns_are_cheap_views():
    c = synth.cohort(200, 1_000, seed=6)
    cols = c.columns()
    assert list(cols) == ["event_id", "nominal_id", "dataset", "offence", "date"]
    assert cols["event_id"] is c.event_id and cols["date"] is c.date
    for name, index in (("dataset", c.dataset_index), ("offence", c.offence_index)):
        arr = cols[name]
        assert isinstance(arr, pa.DictionaryArray)
        np.testing.assert_array_equal(arr.indices.to_numpy(), index)
    assert cols["offence"].dictionary.to_pylist() == list(c.offences)
    assert cols["dataset"].dictionary.to_pylist() == list(c.datasets)


def test_to_arrow_schema_and_values():
    c = synth.cohort(200, 1_000, seed=6)
    t = c.to_arrow()
    assert t.schema.names == ["event_id", "nominal_id", "dataset", "offence", "date"]
    assert t.schema.field("event_id").type == pa.int64()
    assert t.schema.field("date").type == pa.date32()
    assert t.schema.field("offence").type == pa.dictionary(pa.int16(), pa.string())
    assert t.schema.field("dataset").type == pa.dictionary(pa.int8(), pa.string())
    np.testing.assert_array_equal(t.column("date").to_numpy(), c.date)
    offences = np.array(c.offences, dtype=object)[c.offence_index]
    assert t.column("offence").to_pylist() == offences.tolist()


def test_csv_round_trip(tmp_path):
    c = synth.cohort(300, 3_000, seed=8, ascending_ids=False)
    path = tmp_path / "events.csv"
    c.write_csv(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "event_id,nominal_id,dataset,offence,date"
    assert len(lines) == 1 + len(c)
    assert '"' not in lines[1]
    t = pacsv.read_csv(path)  # default type inference: the offence stays text
    assert t.schema.field("offence").type == pa.string()
    assert t.schema.field("date").type == pa.date32()
    np.testing.assert_array_equal(t.column("event_id").to_numpy(), c.event_id)
    np.testing.assert_array_equal(t.column("nominal_id").to_numpy(), c.nominal_id)
    np.testing.assert_array_equal(t.column("date").to_numpy(), c.date)
    assert t.column("offence").to_pylist() == [c.offences[i] for i in c.offence_index]
    assert t.column("dataset").to_pylist() == [c.datasets[i] for i in c.dataset_index]
    assert all(len(code) == 6 and code[3] == "/" for code in t.column("offence").to_pylist())


def test_parquet_round_trip(tmp_path):
    c = synth.cohort(300, 3_000, seed=8)
    path = tmp_path / "events.parquet"
    c.write_parquet(path)
    assert pq.read_table(path).equals(c.to_arrow())


def test_take_by_mask_indices_and_slice():
    c = synth.cohort(300, 3_000, seed=10)
    last_day = c.take(c.date == np.datetime64(AS_OF))
    assert 0 < len(last_day) < len(c)
    assert np.all(last_day.date == np.datetime64(AS_OF))
    assert (last_day.datasets, last_day.offences, last_day.as_of) == (c.datasets, c.offences, AS_OF)
    picked = c.take(np.array([5, 2, 5]))
    np.testing.assert_array_equal(picked.event_id, c.event_id[[5, 2, 5]])
    head = c.take(slice(0, 10))
    np.testing.assert_array_equal(head.offence_index, c.offence_index[:10])
    assert len(c.take(np.array([], dtype=np.int64))) == 0
    assert not picked.event_id.flags.writeable


def test_daily_batches_rebuild_the_cohort():
    c = synth.cohort(200, 2_000, span_days=30, seed=12)
    days = np.unique(c.date)
    batches = [c.take(c.date == day) for day in days]
    assert sum(len(b) for b in batches) == len(c)
    np.testing.assert_array_equal(np.concatenate([b.event_id for b in batches]), c.event_id)


def test_take_rejects_a_mask_of_the_wrong_length():
    c = synth.cohort(10, 50)
    with pytest.raises(ValueError, match="mask"):
        c.take(np.ones(49, dtype=bool))
    with pytest.raises(TypeError):
        c.take(np.array([0.5, 1.5]))


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"n_nominals": -1}, ValueError),
        ({"n_events": -5}, ValueError),
        ({"n_nominals": 0, "n_events": 3}, ValueError),
        ({"span_days": 0}, ValueError),
        ({"n_nominals": 2.5}, TypeError),
        ({"n_events": True}, TypeError),
        ({"as_of": "2026-11-26"}, TypeError),
        ({"as_of": datetime.datetime(2026, 11, 26, 12, 0)}, TypeError),
        ({"n_nominals": 10**9}, ValueError),
    ],
)
def test_bad_arguments(kwargs, error):
    args = {"n_nominals": 10, "n_events": 20} | kwargs
    with pytest.raises(error):
        synth.cohort(**args)


def test_cohort_checks_its_arrays():
    c = synth.cohort(10, 20)
    with pytest.raises(TypeError, match="offence_index"):
        synth.Cohort(
            c.event_id, c.nominal_id, c.dataset_index, c.offence_index.astype(np.int64), c.date,
            c.datasets, c.offences, c.as_of,
        )  # fmt: skip
    with pytest.raises(ValueError, match="rows"):
        synth.Cohort(
            c.event_id, c.nominal_id[:-1], c.dataset_index, c.offence_index, c.date,
            c.datasets, c.offences, c.as_of,
        )  # fmt: skip


# ------------------------------------------------------------------------- interventions


def test_intervention_mix_uses_the_shipped_kinds_and_agencies():
    from iomscore.interventions import AGENCIES, Catalogue

    kinds = Catalogue.default().kinds
    codes = [code for code, _, _ in synth.INTERVENTION_MIX]
    assert sorted(codes) == sorted(kinds)  # every kind of the catalogue, once
    for code, weight, leads in synth.INTERVENTION_MIX:
        assert weight > 0 and leads, code
        assert all(agency in AGENCIES and share > 0 for agency, share in leads), code
    weight = {code: w for code, w, _ in synth.INTERVENTION_MIX}
    assert weight["gps_tagging_voluntary"] == min(weight.values())
    assert {"drug_treatment_dip", "accommodation_support"} == set(
        sorted(weight, key=weight.get)[-2:]
    )


@pytest.mark.parametrize("share", [0.15, 0.0, 0.4, 1.0])
def test_synthetic_interventions_are_valid_deterministic_and_cover_the_share(share):
    from iomscore import Engine, Weights
    from iomscore.interventions import AGENCIES, COLUMNS

    c = synth.cohort(2_000, 12_000, seed=5)
    table = synth.interventions(c, seed=5, share=share)
    assert tuple(table) == COLUMNS
    again = synth.interventions(c, seed=5, share=share)
    for name in COLUMNS:
        np.testing.assert_array_equal(table[name], again[name], err_msg=name)
    engine = Engine(Weights.default(), c.as_of)
    n = len(table["intervention_id"])
    assert engine.record_interventions(table) == n  # every row valid, recorded whole
    nominals = np.unique(table["nominal_id"])
    assert nominals.size == round(share * np.unique(c.nominal_id).size)
    assert np.isin(nominals, c.nominal_id).all()
    if not n:
        return
    assert np.all(np.diff(table["intervention_id"]) > 0)
    assert np.all(np.diff(table["start"]) >= np.timedelta64(0, "D"))
    assert table["start"].min() >= c.date.min() and table["start"].max() <= np.datetime64(c.as_of)
    ended = ~np.isnat(table["end"])
    assert np.all(table["end"][ended] >= table["start"][ended])
    assert np.all(table["end"][ended] <= np.datetime64(c.as_of))
    assert set(table["lead_agency"].tolist()) <= set(AGENCIES)
    nominal = int(nominals[0])
    mine = np.flatnonzero(table["nominal_id"] == nominal)
    assert [r[0] for r in engine.interventions(nominal).rows()] == sorted(
        table["intervention_id"][mine].tolist()
    )
    # a start falls on or after the nominal's first event
    first = {int(k): v for k, v in zip(*_first_dates(c), strict=True)}
    assert all(s >= first[int(k)] for k, s in zip(table["nominal_id"], table["start"], strict=True))


def _first_dates(c: synth.Cohort) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((c.date, c.nominal_id))
    nominals, at = np.unique(c.nominal_id[order], return_index=True)
    return nominals, c.date[order][at]


def test_synthetic_interventions_follow_the_mix(mid):
    table = synth.interventions(mid, seed=11)
    assert np.unique(table["nominal_id"]).size == 3_000  # 15% of 20,000 by default
    # Each nominal picked has 1 + Poisson(0.6) interventions, at most 6: the exact
    # mean of that law, and the sample's standard error (3,000 nominals), from
    # the law itself, not from this seed. 4 standard errors: a seeded draw
    # passes, a changed rate (0.5 or 0.7 moves the mean by 7 errors) fails.
    counts = np.bincount(np.unique(table["nominal_id"], return_inverse=True)[1])
    assert counts.min() >= 1 and counts.max() <= 6
    pmf = [math.exp(-0.6) * 0.6**k / math.factorial(k) for k in range(5)]
    law = [*pmf, 1 - sum(pmf)]  # 1..5 interventions, and the capped rest at 6
    mean = sum((k + 1) * p for k, p in enumerate(law))
    variance = sum((k + 1 - mean) ** 2 * p for k, p in enumerate(law))
    assert abs(counts.mean() - mean) < 4 * math.sqrt(variance / counts.size)
    assert abs(np.isnat(table["end"]).mean() - 1 / 3) < 0.03
    weights = {code: w for code, w, _ in synth.INTERVENTION_MIX}
    total = sum(weights.values())
    for code, weight in weights.items():
        observed = np.mean(table["kind"] == code)
        assert abs(observed - weight / total) < 0.025, code
    tagged = table["lead_agency"][table["kind"] == "gps_tagging_voluntary"]
    assert set(tagged.tolist()) == {"police"}
    youth = table["lead_agency"][table["kind"] == "youth_programme"]
    assert set(youth.tolist()) == {"youth_offending_service"}


def test_synthetic_interventions_leave_the_cohort_alone_and_vary_with_the_seed():
    c = synth.cohort(500, 3_000, seed=2)
    a = synth.interventions(c, seed=1)
    b = synth.interventions(c, seed=2)
    assert not np.array_equal(a["nominal_id"], b["nominal_id"])
    assert_same(c, synth.cohort(500, 3_000, seed=2))  # drawing them changed no cohort array
    empty = synth.interventions(synth.cohort(0, 0))
    assert all(len(column) == 0 for column in empty.values())


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [({"share": 1.5}, ValueError), ({"share": -0.1}, ValueError), ({"seed": -1}, ValueError)],
)
def test_synthetic_interventions_bad_arguments(kwargs, error):
    with pytest.raises(error):
        synth.interventions(synth.cohort(10, 20), **kwargs)
    with pytest.raises(TypeError):
        synth.interventions({"nominal_id": [1]})


# --------------------------------------------------------------------------- assessments


def test_synthetic_assessments_are_valid_deterministic_and_cover_the_shares():
    from iomscore import Engine, Weights
    from iomscore.assessments import COLUMNS, AssessmentTable

    c = synth.cohort(2_000, 12_000, seed=5)
    table = synth.assessments(c, seed=5)
    assert tuple(table) == COLUMNS
    again = synth.assessments(c, seed=5)
    for name in COLUMNS:
        np.testing.assert_array_equal(table[name], again[name], err_msg=name)
    assert table["assessment_id"].dtype == table["nominal_id"].dtype == np.int64
    assert table["score"].dtype == np.int64 and table["date"].dtype == "datetime64[D]"
    assert table["tool"].dtype.kind == "U"
    n = len(table["assessment_id"])
    assert n > 0 and all(len(column) == n for column in table.values())
    assert np.all(np.diff(table["assessment_id"]) > 0)  # unique, ascending with the rows
    # dates: in date order, none after as_of, all in the 730 days ending on it
    as_of = np.datetime64(c.as_of)
    assert np.all(np.diff(table["date"]) >= np.timedelta64(0, "D"))
    assert table["date"].max() <= as_of and table["date"].min() > as_of - 730
    # scores inside each tool's range (the shipped table's, which covers the whole range)
    shipped = AssessmentTable.default()
    assert set(table["tool"].tolist()) == {"oasys", "asset"}
    for tool in ("oasys", "asset"):
        low, high = shipped.tool_range(tool)
        scores = table["score"][table["tool"] == tool]
        assert low <= scores.min() and scores.max() <= high, tool
    # who: cohort nominals (pseudonymous ids only), 30% adults (OASys), 5% youths (ASSET)
    assert np.isin(table["nominal_id"], c.nominal_id).all()
    adults = np.unique(table["nominal_id"][table["tool"] == "oasys"])
    youths = np.unique(table["nominal_id"][table["tool"] == "asset"])
    assert (adults.size, youths.size) == (600, 100)
    assert np.intersect1d(adults, youths).size == 0
    engine = Engine(Weights.default(), c.as_of)
    assert engine.assess(table).taken == n  # every row valid, taken whole
    nominal = int(adults[0])
    mine = np.flatnonzero(table["nominal_id"] == nominal)
    assert [r[0] for r in engine.assessments(nominal).rows()] == table["assessment_id"][
        mine
    ].tolist()


def _gaps(table: dict[str, np.ndarray], tool: str, as_of: datetime.date, longest: int):
    """The days between a nominal's consecutive assessments of ``tool``, for the gaps
    begun ``longest`` days or more before ``as_of``: a gap begun later is seen only if
    it is short enough to end by as_of, so those would bias the mean down."""
    mine = table["tool"] == tool
    nominal, date = table["nominal_id"][mine], table["date"][mine]
    order = np.argsort(nominal, kind="stable")  # rows are in date order: kept per nominal
    nominal, date = nominal[order], date[order]
    same = nominal[1:] == nominal[:-1]
    gap = (date[1:] - date[:-1]).astype(np.int64)[same]
    begun = date[:-1][same]
    return gap[begun <= np.datetime64(as_of) - longest]


def _clipped_gap_variance(sd: float) -> float:
    """The variance of ``rint(mean + sd z)``, z standard normal clipped to [-3, 3]: the
    clipped normal's second moment (2 Phi(3) - 1 - 6 phi(3) + 18 (1 - Phi(3))) times
    sd squared, plus 1/12 for the rounding."""
    phi = math.exp(-4.5) / math.sqrt(2 * math.pi)
    tail = 0.5 * math.erfc(3 / math.sqrt(2))
    second = (1 - 2 * tail) - 6 * phi + 18 * tail
    return sd**2 * second + 1 / 12


@pytest.mark.parametrize(
    ("tool", "mean", "sd"), [("oasys", 112, 14.0), ("asset", 182, 21.0)], ids=["oasys", "asset"]
)
def test_synthetic_assessments_come_at_their_interval(mid, tool, mean, sd):
    # OASys about every 16 weeks, ASSET every 26: a gap is rint(mean + sd z), z standard
    # normal clipped to [-3, 3], a law symmetric about the mean. The sample's mean is
    # within 4 standard errors of it (computed from the law, not this seed): a seeded
    # draw passes; a mean a day off (over 8 errors for OASys) fails.
    table = synth.assessments(mid, seed=11)
    longest = mean + round(3 * sd)
    gaps = _gaps(table, tool, mid.as_of, longest)
    assert gaps.size > (10_000 if tool == "oasys" else 600)
    assert mean - round(3 * sd) <= gaps.min() and gaps.max() <= longest
    error = math.sqrt(_clipped_gap_variance(sd) / gaps.size)
    assert abs(gaps.mean() - mean) < 4 * error


def test_synthetic_assessment_scores_have_the_stated_spread(mid):
    table = synth.assessments(mid, seed=11)
    oasys = table["score"][table["tool"] == "oasys"]
    asset = table["score"][table["tool"] == "asset"]
    assert np.mean((oasys >= 40) & (oasys <= 80)) > 0.7  # mostly 40-80
    assert 55 <= np.median(oasys) <= 70 and oasys.min() < 40 and oasys.max() > 80
    assert 25 <= np.median(asset) <= 40
    # youths fewer, and assessed less often
    adults = np.unique(table["nominal_id"][table["tool"] == "oasys"])
    youths = np.unique(table["nominal_id"][table["tool"] == "asset"])
    assert youths.size < adults.size / 5
    assert asset.size / youths.size < oasys.size / adults.size
    # prolific nominals score higher: the third with most events against the third with least
    nominals, events = np.unique(mid.nominal_id, return_counts=True)
    mine = table["tool"] == "oasys"
    counts = events[np.searchsorted(nominals, table["nominal_id"][mine])]
    low, high = np.quantile(counts, [1 / 3, 2 / 3])
    assert oasys[counts > high].mean() > oasys[counts < low].mean() + 2


def test_synthetic_assessments_stop_at_as_of_and_vary_with_the_seed():
    c = synth.cohort(500, 3_000, seed=2)
    earlier = c.as_of - datetime.timedelta(days=100)
    table = synth.assessments(c, seed=1, as_of=earlier)
    assert table["date"].max() <= np.datetime64(earlier)
    short = synth.assessments(c, seed=1, span_days=30)
    assert short["date"].min() > np.datetime64(c.as_of) - 30
    other = synth.assessments(c, seed=2)
    assert not np.array_equal(synth.assessments(c, seed=1)["nominal_id"], other["nominal_id"])
    assert_same(c, synth.cohort(500, 3_000, seed=2))  # drawing them changed no cohort array
    empty = synth.assessments(synth.cohort(0, 0))
    assert all(len(column) == 0 for column in empty.values())
    none = synth.assessments(c, share=0.0, youth_share=0.0)
    assert all(len(column) == 0 for column in none.values())


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"share": 1.5}, ValueError),
        ({"youth_share": -0.1}, ValueError),
        ({"share": 0.8, "youth_share": 0.3}, ValueError),
        ({"seed": -1}, ValueError),
        ({"span_days": 0}, ValueError),
        ({"as_of": "2026-11-26"}, TypeError),
        ({"as_of": datetime.datetime(2026, 11, 26)}, TypeError),
    ],
)
def test_synthetic_assessments_bad_arguments(kwargs, error):
    with pytest.raises(error):
        synth.assessments(synth.cohort(10, 20), **kwargs)
    with pytest.raises(TypeError):
        synth.assessments({"nominal_id": [1]})


# ------------------------------------------------------------------- ownership (areas)


def test_synthetic_ownership_is_valid_deterministic_and_owns_everyone():
    from iomscore import Engine, Weights
    from iomscore.cohort import DEFAULT_AREAS

    c = synth.cohort(2_000, 12_000, seed=5)
    table = synth.ownership(c, seed=5)
    assert tuple(table) == ("nominal_id", "area", "from_date")
    again = synth.ownership(c, seed=5)
    for name in table:
        np.testing.assert_array_equal(table[name], again[name], err_msg=name)
    assert table["nominal_id"].dtype == np.int64 and table["from_date"].dtype == "datetime64[D]"
    assert set(table["area"].tolist()) == set(DEFAULT_AREAS)
    # rows by date, then nominal_id
    order = np.lexsort((table["nominal_id"], table["from_date"]))
    np.testing.assert_array_equal(order, np.arange(order.size))
    # every nominal of the cohort owned from before its first event and the window
    nominals, counts = np.unique(table["nominal_id"], return_counts=True)
    np.testing.assert_array_equal(nominals, np.unique(c.nominal_id))
    first = min(c.date.min(), np.datetime64(window_start(c.as_of, 2)))
    owned_from = table["from_date"][np.sort(np.unique(table["nominal_id"], return_index=True)[1])]
    assert owned_from.max() < first and owned_from.min() >= first - 365
    # 3% transferred once, in the last year, to another area
    assert counts.max() == 2 and np.count_nonzero(counts == 2) == round(0.03 * nominals.size)
    as_of = np.datetime64(c.as_of)
    later = table["from_date"] >= first
    assert later.sum() == round(0.03 * nominals.size)
    assert table["from_date"][later].min() > as_of - 365 and table["from_date"].max() <= as_of
    engine = Engine(Weights.default(), c.as_of)
    assert engine.record_owners(table) == len(table["nominal_id"])  # every row valid
    moves = engine.transfers(c.as_of - datetime.timedelta(days=365))
    assert len(moves) == round(0.03 * nominals.size)
    assert all(old != new for _, _, old, new in moves)
    assert all(engine.owner(int(n)) is not None for n in nominals[:50])


def test_synthetic_ownership_follows_the_boroughs_populations(mid):
    # Each area's share of nominals is within 4 standard errors (of a binomial share,
    # from the law, not this seed) of its population share: a seeded draw passes, equal
    # weights (Birmingham 1 in 7 instead of about 2 in 5) fail by far.
    table = synth.ownership(mid, seed=11)
    first = np.unique(table["nominal_id"], return_index=True)[1]
    areas = table["area"][first]  # each nominal's first owner
    total = sum(synth.AREA_POPULATION.values())
    for area, people in synth.AREA_POPULATION.items():
        p = people / total
        observed = np.mean(areas == area)
        assert abs(observed - p) < 4 * math.sqrt(p * (1 - p) / areas.size), area
    counts = {a: int(np.count_nonzero(areas == a)) for a in synth.AREA_POPULATION}
    assert max(counts, key=counts.get) == "Birmingham"
    assert counts["Birmingham"] > 0.35 * areas.size


def test_synthetic_ownership_with_other_areas_and_weights():
    c = synth.cohort(3_000, 6_000, seed=2)
    even = synth.ownership(c, areas=("North", "South"), seed=2, transfer_share=0.1)
    assert set(even["area"].tolist()) == {"North", "South"}
    ids, counts = np.unique(even["nominal_id"], return_counts=True)
    assert np.count_nonzero(counts == 2) == 300
    first = np.unique(even["nominal_id"], return_index=True)[1]
    assert abs(np.mean(even["area"][first] == "North") - 0.5) < 4 * math.sqrt(0.25 / 3_000)
    leaning = synth.ownership(c, areas=("A", "B"), weights=(9, 1), transfer_share=0)
    assert len(leaning["nominal_id"]) == ids.size
    assert abs(np.mean(leaning["area"] == "A") - 0.9) < 4 * math.sqrt(0.09 / 3_000)
    one = synth.ownership(c, areas=("Only",), transfer_share=0)
    assert set(one["area"].tolist()) == {"Only"}
    assert not np.array_equal(synth.ownership(c, seed=1)["area"], synth.ownership(c)["area"])
    empty = synth.ownership(synth.cohort(0, 0))
    assert all(len(column) == 0 for column in empty.values())


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"transfer_share": 1.5}, ValueError),
        ({"seed": -1}, ValueError),
        ({"areas": ("Only",)}, ValueError),  # a transfer needs two areas
        ({"areas": ("A", "a"), "transfer_share": 0}, ValueError),
        ({"areas": ()}, ValueError),
        ({"areas": ("A", "B"), "weights": (1,)}, ValueError),
        ({"areas": ("A", "B"), "weights": (1, 0)}, ValueError),
    ],
)
def test_synthetic_ownership_bad_arguments(kwargs, error):
    with pytest.raises(error):
        synth.ownership(synth.cohort(10, 20), **kwargs)
    with pytest.raises(TypeError):
        synth.ownership({"nominal_id": [1]})


# ------------------------------------------------------------------- ODOC decisions


@pytest.fixture(scope="module")
def mid_scores(mid):
    from iomscore import Engine, Weights

    engine = Engine(Weights.default(), mid.as_of)
    engine.ingest(mid)
    return engine.scores()


def test_meetings_fall_monthly_on_the_second_tuesday():
    held = synth.meetings(AS_OF)
    assert len(held) == 12 and held[0][0] == "odoc-2025-12" and held[-1][0] == "odoc-2026-11"
    for meeting_id, date in held:
        assert date.weekday() == 1 and 8 <= date.day <= 14  # the second Tuesday
        assert meeting_id == f"odoc-{date.year:04d}-{date.month:02d}" and date <= AS_OF
    # a date before its month's meeting: the last meeting is the month before
    assert synth.meetings(datetime.date(2026, 11, 9), 1) == [
        ("odoc-2026-10", datetime.date(2026, 10, 13))
    ]
    assert synth.meetings(datetime.date(2026, 1, 5), 1)[0][0] == "odoc-2025-12"
    assert synth.meetings(AS_OF, 0) == []


def _check_legal(table, as_of):
    """Each nominal's decisions: dated in order, select and deselect in turn from a select."""
    assert np.all(np.diff(table["date"]) >= np.timedelta64(0, "D"))
    assert table["date"].max() <= np.datetime64(as_of)
    last: dict[int, str] = {}
    for nominal, action in zip(table["nominal_id"].tolist(), table["action"].tolist(), strict=True):
        assert action == ("deselect" if last.get(nominal) == "select" else "select")
        last[nominal] = action


def test_synthetic_decisions_are_legal_and_deterministic(mid_scores):
    from iomscore import Engine, Weights
    from iomscore.cohort import DECISION_COLUMNS, DECISION_OPTIONAL, DESELECT_REASONS

    table = synth.decisions(mid_scores, seed=3)
    assert tuple(table) == DECISION_COLUMNS + DECISION_OPTIONAL
    again = synth.decisions(mid_scores, seed=3)
    for name in table:
        np.testing.assert_array_equal(table[name], again[name], err_msg=name)
    n = len(table["nominal_id"])
    assert n > 100 and all(len(column) == n for column in table.values())
    _check_legal(table, mid_scores.as_of)
    held = dict(synth.meetings(mid_scores.as_of))
    assert all(
        held[m] == d.astype(datetime.date)
        for m, d in zip(table["meeting_id"], table["date"], strict=True)
    )
    # only banded nominals, selections led by an IOM agency, tiers by band
    band = dict(zip(mid_scores.nominal_id.tolist(), mid_scores.band.tolist(), strict=True))
    assert all(band[n] >= 1 for n in table["nominal_id"].tolist())
    picks = table["action"] == "select"
    assert set(table["lead_agency"][picks].tolist()) == {
        "police",
        "probation",
        "youth_offending_service",
    }
    assert all(v is None for v in table["lead_agency"][~picks].tolist())
    for nominal, tier in zip(
        table["nominal_id"][picks].tolist(), table["tier"][picks].tolist(), strict=True
    ):
        assert tier in (None, str(4 - band[nominal]))
    # de-selections: a reason of the engine's, a note for "other" only
    reasons = table["reason"][~picks]
    assert set(reasons.tolist()) <= set(DESELECT_REASONS)
    assert all(
        (note is not None) == (reason == "other")
        for reason, note in zip(reasons, table["note"][~picks], strict=True)
    )
    assert all(v is None for v in table["reason"][picks].tolist())
    # a strand set by a decision has its reason
    free = table["strand"] == "free"
    assert free.any() and all(table["strand_reason"][free])
    # the engine takes them whole, and selects whom they leave selected
    engine = Engine(Weights.default(), mid_scores.as_of)
    assert engine.decide(table) == n
    last = {}
    for nominal, action in zip(table["nominal_id"].tolist(), table["action"].tolist(), strict=True):
        last[nominal] = action
    expected = sorted(k for k, v in last.items() if v == "select")
    assert sorted(engine.selection().nominal_id.tolist()) == expected


def test_synthetic_decisions_follow_their_shares(mid_scores):
    # Selections: exactly round(select_share * banded). De-selections: at each meeting each
    # nominal selected before it leaves with chance deselect_rate, so their count is a sum
    # of binomials; within 4 standard errors of its mean (from the law, not this seed):
    # a seeded draw passes, a rate of 0.03 instead of 0.05 (over 4 errors off) fails.
    rate = 0.05
    table = synth.decisions(mid_scores, seed=8, select_share=0.6, deselect_rate=rate)
    banded = int(np.count_nonzero(mid_scores.band >= 1))
    picks = table["action"] == "select"
    assert picks.sum() == round(0.6 * banded)
    selected: set[int] = set()
    exposed = 0
    for meeting_id, _ in synth.meetings(mid_scores.as_of):
        exposed += len(selected)
        mine = table["meeting_id"] == meeting_id
        for nominal, action in zip(
            table["nominal_id"][mine].tolist(), table["action"][mine].tolist(), strict=True
        ):
            (selected.add if action == "select" else selected.discard)(nominal)
    leaving = int((~picks).sum())
    assert abs(leaving - rate * exposed) < 4 * math.sqrt(exposed * rate * (1 - rate))
    # higher bands are picked first: HIGH over-represented among the selections
    band = dict(zip(mid_scores.nominal_id.tolist(), mid_scores.band.tolist(), strict=True))
    chosen = np.array([band[n] for n in table["nominal_id"][picks].tolist()])
    assert np.mean(chosen == 3) > 1.5 * np.mean(mid_scores.band[mid_scores.band >= 1] == 3)


def test_synthetic_deselection_reasons_follow_the_mix(mid_scores):
    # Each reason's share within 4 standard errors (binomial, from the stated weights) over
    # five seeds: a seeded draw passes; a weight 6 points off (about 6 errors) fails.
    parts = []
    for seed in range(9, 14):
        table = synth.decisions(mid_scores, seed=seed, select_share=1.0, deselect_rate=0.3)
        parts.append(table["reason"][table["action"] == "deselect"])
    reasons = np.concatenate(parts)
    assert reasons.size > 2_000
    weights = {"score_below_threshold": 55, "long_custodial_sentence": 20}
    weights |= {"moved_out_of_force": 10, "deceased": 3, "other": 12}
    for reason, weight in weights.items():
        p = weight / 100
        assert abs(np.mean(reasons == reason) - p) < 4 * math.sqrt(p * (1 - p) / reasons.size), (
            reason
        )


def test_synthetic_decisions_options_and_edges(mid_scores):
    high = synth.decisions(mid_scores, band="HIGH", seed=1)
    band = dict(zip(mid_scores.nominal_id.tolist(), mid_scores.band.tolist(), strict=True))
    assert {band[n] for n in high["nominal_id"].tolist()} == {3}
    earlier = mid_scores.as_of - datetime.timedelta(days=60)
    table = synth.decisions(mid_scores, as_of=earlier, months=3)
    assert table["date"].max() <= np.datetime64(earlier)
    assert len(set(table["meeting_id"].tolist())) == 3
    _check_legal(table, earlier)
    assert not np.array_equal(
        synth.decisions(mid_scores, seed=1)["nominal_id"], synth.decisions(mid_scores)["nominal_id"]
    )
    none = synth.decisions(mid_scores, months=0)
    assert all(len(column) == 0 for column in none.values())
    nobody = synth.decisions(mid_scores, select_share=0.0)
    assert all(len(column) == 0 for column in nobody.values())


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"select_share": 1.5}, ValueError),
        ({"deselect_rate": -0.1}, ValueError),
        ({"band": "NONE"}, ValueError),
        ({"seed": -1}, ValueError),
        ({"months": -1}, ValueError),
        ({"as_of": datetime.date(2030, 1, 1)}, ValueError),  # after the scores' date
        ({"as_of": "2026-11-26"}, TypeError),
    ],
)
def test_synthetic_decisions_bad_arguments(mid_scores, kwargs, error):
    with pytest.raises(error):
        synth.decisions(mid_scores, **kwargs)
    with pytest.raises(TypeError):
        synth.decisions({"nominal_id": [1]})
