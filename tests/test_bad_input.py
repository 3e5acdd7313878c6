"""Bad input: every fault is refused whole, and the message names the row (or line) and field.

Batches: unknown and malformed offence codes, unknown datasets, dates that are
not calendar dates in the form YYYY-MM-DD, repeated, negative and non-integer
ids, missing columns, dates after as_of and conflicting event ids. Weight
files: duplicate codes, bad points, missing columns, no header, wrong field
counts. And a smoke test that readers in threads only ever see whole states.
"""

from __future__ import annotations

import datetime
import re
import threading

import numpy as np
import pyarrow as pa
import pytest
from strategies import (
    DATASETS,
    event_columns,
    matrix_as_dict,
    reference_rows,
    small_weights,
)

from iomscore import Engine, EventError, WeightFileError, Weights, reference

D = datetime.date
AS_OF = D(2024, 2, 29)

GOOD = [
    reference.Event(11, 1, "arrest", "028/01", D(2024, 2, 29)),
    reference.Event(12, 1, "intelligence", "105/01", D(2022, 3, 1)),
    reference.Event(13, 2, "warrant", "008/06", D(2023, 2, 28)),
    reference.Event(14, 3, "arrest", "046/00", D(2024, 1, 31)),
]
HELD = [
    reference.Event(1, 1, "warrant", "028/01", D(2023, 6, 1)),
    reference.Event(2, 5, "arrest", "028/01", D(2023, 7, 1)),
]


@pytest.fixture
def engine(weights):
    """An engine that already holds two events, so 'unchanged' means something."""
    eng = Engine(weights, AS_OF)
    eng.ingest(event_columns(HELD))
    return eng


def state(engine: Engine):
    return engine.scores().rows(), len(engine), engine.as_of


def good_columns() -> dict[str, list]:
    cols = event_columns(GOOD)
    cols["offence"] = ["028/01", "105/1", "00806", "46/0"]  # three spellings
    return cols


def test_the_good_batch_is_good(engine):
    """The batch the faults below are planted in is fine on its own (so each fault is the cause)."""
    report = engine.ingest(good_columns())
    assert report.taken == 4
    assert engine.scores().rows() == reference_rows(HELD + GOOD, small_weights(), AS_OF)


# (field, bad value planted in row 3, words the message must contain)
ROW_FAULTS = [
    ("offence", "999/99", ["999/99", "not in the weight table"]),
    ("offence", "1/1", ["001/01"]),
    ("offence", "28-01", ["28-01"]),
    ("offence", "", ["''"]),
    ("offence", "burglary", ["burglary"]),
    ("offence", None, ["missing"]),
    ("dataset", "probation", ["probation", "unknown dataset"]),
    ("dataset", "ARREST", ["ARREST"]),
    ("dataset", None, ["missing"]),
    ("date", "2023/01/01", ["2023/01/01"]),
    ("date", "", ["''"]),
    ("date", "2023-13-01", ["2023-13-01"]),
    ("date", "1-2-2023", ["1-2-2023"]),
    ("date", None, ["missing"]),
    # Not calendar dates, though shaped like them: 29 February of a common year, 30 February,
    # 31 April. They must be refused, not rolled over into March or May.
    ("date", "2023-02-29", ["2023-02-29"]),
    ("date", "2023-02-30", ["2023-02-30"]),
    ("date", "2024-02-30", ["2024-02-30"]),
    ("date", "2023-04-31", ["2023-04-31"]),
    ("event_id", -1, ["-1", "negative"]),
    ("nominal_id", -7, ["-7", "negative"]),
    ("event_id", 3.5, ["3.5", "whole number"]),
    ("nominal_id", 2.25, ["2.25", "whole number"]),
    ("event_id", "abc", ["abc", "whole number"]),
    ("nominal_id", "abc", ["abc", "whole number"]),
    ("event_id", None, ["missing"]),
    ("event_id", 2**63, ["9223372036854775808", "int64"]),
]


@pytest.mark.parametrize(
    ("field", "value", "words"), ROW_FAULTS, ids=[f"{f}={v!r}" for f, v, _ in ROW_FAULTS]
)
def test_a_bad_row_names_row_and_field(engine, field, value, words):
    before = state(engine)
    cols = good_columns()
    cols[field][2] = value
    with pytest.raises(EventError) as info:
        engine.ingest(cols)
    message = str(info.value)
    assert (info.value.row, info.value.field) == (2, field), message
    assert "row 3" in message and field in message, message
    for word in words:
        assert word in message, message
    assert state(engine) == before


@pytest.mark.parametrize(
    ("field", "value"),
    [("event_id", "12abc"), ("nominal_id", "3.5"), ("event_id", "99999999999999999999")],
)
def test_ids_as_text(engine, field, value):
    """A column of id text (as from a CSV): digits only, within int64."""
    before = state(engine)
    cols = good_columns()
    cols[field] = [str(v) for v in cols[field]]
    cols[field][2] = value
    with pytest.raises(EventError) as info:
        engine.ingest(cols)
    assert (info.value.row, info.value.field) == (2, field)
    assert "row 3" in str(info.value) and value in str(info.value)
    assert state(engine) == before


def test_ids_as_text_are_taken(engine):
    cols = good_columns()
    cols["event_id"] = [" 11", "12", "13", "14 "]
    cols["nominal_id"] = [str(v) for v in cols["nominal_id"]]
    assert engine.ingest(cols).taken == 4
    assert engine.scores().rows() == reference_rows(HELD + GOOD, small_weights(), AS_OF)


def test_id_text_with_a_plus_sign(engine):
    """batch.py accepts id text matching ``[+-]?\\d+`` (negatives are then refused as
    negative), so "+13" is the id 13, and no other row may be blamed for it."""
    cols = good_columns()
    cols["event_id"] = ["11", "12", "+13", "14"]
    assert engine.ingest(cols).taken == 4
    assert engine.scores().rows() == reference_rows(HELD + GOOD, small_weights(), AS_OF)


def test_float_id_arrays(engine):
    before = state(engine)
    cols = good_columns()
    cols["nominal_id"] = np.array([1.0, 1.0, np.nan, 3.0])
    with pytest.raises(EventError) as info:
        engine.ingest(cols)
    assert (info.value.row, info.value.field) == (2, "nominal_id")
    assert state(engine) == before
    cols["nominal_id"] = np.array([1.0, 1.0, 2.0, 3.0])  # whole floats are whole numbers
    assert engine.ingest(cols).taken == 4


@pytest.mark.parametrize("field", ["event_id", "nominal_id", "date"])
def test_a_null_in_a_dictionary_column_s_dictionary_is_a_missing_value(engine, field):
    # the array's own nulls are none: the null is a dictionary value some rows point to
    before = state(engine)
    cols = good_columns()
    if field == "date":  # (the dates as date32, not text)
        values = pa.array(np.array(cols[field], dtype="datetime64[D]"), pa.date32())
    else:
        values = pa.array(cols[field], pa.int64())
    dictionary = pa.concat_arrays([values[:2], pa.nulls(1, values.type), values[3:]])
    cols[field] = pa.DictionaryArray.from_arrays(pa.array([0, 1, 2, 3], pa.int32()), dictionary)
    with pytest.raises(EventError, match="missing") as info:
        engine.ingest(cols)
    assert (info.value.row, info.value.field) == (2, field)
    assert state(engine) == before


@pytest.mark.parametrize("column", ["event_id", "nominal_id", "dataset", "offence", "date"])
def test_missing_column(engine, column):
    before = state(engine)
    cols = good_columns()
    del cols[column]
    with pytest.raises(EventError) as info:
        engine.ingest(cols)
    assert info.value.field == column and repr(column) in str(info.value)
    assert state(engine) == before


def test_columns_of_different_lengths(engine):
    before = state(engine)
    cols = good_columns()
    cols["date"] = cols["date"][:3]
    with pytest.raises(EventError, match="length"):
        engine.ingest(cols)
    assert state(engine) == before


@pytest.mark.parametrize(
    ("field", "values"),
    [
        ("dataset", [1, 2, 3, 4]),
        ("offence", [2801, 10501, 806, 4600]),
        ("event_id", [True, False, True, False]),
    ],
)
def test_a_column_of_the_wrong_type(engine, field, values):
    before = state(engine)
    cols = good_columns()
    cols[field] = values
    with pytest.raises(EventError) as info:
        engine.ingest(cols)
    assert info.value.field == field
    assert state(engine) == before


def test_not_a_batch(engine):
    with pytest.raises(EventError, match="mapping of columns"):
        engine.ingest([("event_id", 1)])


def test_duplicate_event_id_in_batch_names_both_rows(engine):
    before = state(engine)
    cols = good_columns()
    cols["event_id"] = [11, 12, 11, 14]
    with pytest.raises(EventError) as info:
        engine.ingest(cols)
    message = str(info.value)
    assert (info.value.row, info.value.field) == (2, "event_id")
    assert "row 3" in message and "row 1" in message and "11" in message
    assert state(engine) == before


def test_duplicate_event_id_in_batch_even_with_identical_rows(engine):
    """Two identical rows in one batch are still a repeated id (the batch is malformed)."""
    before = state(engine)
    cols = event_columns([GOOD[0], GOOD[1], GOOD[0]])
    with pytest.raises(EventError) as info:
        engine.ingest(cols)
    assert (info.value.row, info.value.field) == (2, "event_id")
    assert "row 1" in str(info.value)
    assert state(engine) == before


def test_date_after_as_of(engine):
    before = state(engine)
    cols = good_columns()
    cols["date"][2] = "2024-03-01"
    with pytest.raises(EventError) as info:
        engine.ingest(cols)
    assert (info.value.row, info.value.field) == (2, "date")
    assert "row 3" in str(info.value) and "2024-03-01" in str(info.value)
    assert state(engine) == before
    # future="skip": counted and not taken; the other rows are.
    report = engine.ingest(cols, future="skip")
    assert (report.future, report.taken) == (1, 3)
    kept = [e for i, e in enumerate(GOOD) if i != 2]
    assert engine.scores().rows() == reference_rows(HELD + kept, small_weights(), AS_OF)


def test_future_must_be_error_or_skip(engine):
    with pytest.raises(ValueError, match="future"):
        engine.ingest(good_columns(), future="keep")  # type: ignore[arg-type]
    assert len(engine) == len(HELD)


def test_conflicting_event_id(engine):
    before = state(engine)
    cols = good_columns()
    cols["event_id"][2] = 2  # held: nominal 5, arrest 028/01, 2023-07-01
    with pytest.raises(EventError) as info:
        engine.ingest(cols)
    message = str(info.value)
    assert (info.value.row, info.value.field) == (2, "event_id")
    assert "row 3" in message and "replace=True" in message
    assert state(engine) == before
    report = engine.ingest(cols, replace=True)
    assert (report.replaced, report.taken) == (1, 4)
    corrected = [
        HELD[0],
        *GOOD[:2],
        reference.Event(2, 2, "warrant", "008/06", D(2023, 2, 28)),
        GOOD[3],
    ]
    assert engine.scores().rows() == reference_rows(corrected, small_weights(), AS_OF)


def test_an_identical_held_event_is_a_duplicate_not_a_conflict(engine):
    cols = event_columns([HELD[1]])
    cols["offence"] = ["02801"]  # the same code, spelled differently
    report = engine.ingest(cols)
    assert (report.duplicates, report.taken, report.replaced) == (1, 0, 0)
    assert engine.scores().rows() == reference_rows(HELD, small_weights(), AS_OF)


def test_retract_non_integer_ids(engine):
    before = state(engine)
    with pytest.raises(EventError):
        engine.retract(["a", "b"])
    assert state(engine) == before
    report = engine.retract([])
    assert report.retracted == 0 and state(engine) == before


def test_engine_arguments():
    from iomscore import EngineError

    with pytest.raises(EngineError, match="as_of"):
        Engine(small_weights())
    with pytest.raises(EngineError, match="window_years"):
        Engine(small_weights(), AS_OF, window_years=0)
    with pytest.raises(EngineError, match="thresholds"):
        Engine(small_weights(), AS_OF, thresholds=(500, 250, 1000))
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        Engine(small_weights(), "2023-02-29")
    engine = Engine(small_weights(), "2024-02-29")
    assert engine.as_of == AS_OF


def test_reweight_with_a_different_shape_is_refused(engine):
    from iomscore import EngineError

    before = state(engine)
    other = Weights(DATASETS[:2], ["028/01"], [[1], [2]])
    with pytest.raises(EngineError):
        engine.reweight(other)
    with pytest.raises(EngineError):
        engine.what_if(other)
    assert state(engine) == before


# ------------------------------------------------------------------------------ weight files

HEADER = "offence,description,arrest,intelligence\n"


def load(tmp_path, text: str) -> Weights:
    path = tmp_path / "table.csv"
    path.write_text(text, encoding="utf-8")
    return Weights.load(path)


def test_a_good_weight_file(tmp_path):
    weights = load(
        tmp_path,
        "# name: tiny\n# effective: 2026-11-26\n\n"
        + HEADER
        + "028/01,Burglary,120,30\n\n105/1,Assault,50,100000\n00806,ABH,0,7\n",
    )
    assert weights.name == "tiny" and weights.metadata["effective"] == "2026-11-26"
    assert weights.datasets == ("arrest", "intelligence")
    assert weights.offences == ("008/06", "028/01", "105/01")
    assert weights.to_mapping() == {
        ("arrest", "008/06"): 0,
        ("arrest", "028/01"): 120,
        ("arrest", "105/01"): 50,
        ("intelligence", "008/06"): 7,
        ("intelligence", "028/01"): 30,
        ("intelligence", "105/01"): 100_000,
    }


def test_weight_hash_ignores_comments_order_and_spelling(tmp_path):
    a = load(tmp_path, "# name: a\n" + HEADER + "028/01,x,1,2\n105/01,y,3,4\n")
    b = Weights.from_text("offence,arrest,intelligence\n10501,3,4\n28/1,1,2\n")
    c = Weights.from_text("offence,arrest,intelligence\n10501,3,5\n28/1,1,2\n")
    assert a.sha256 == b.sha256 and a == b
    assert c != a


# (file text, line number named, words the message must contain)
WEIGHT_FAULTS = [
    (HEADER + "028/01,a,1,2\n105/01,b,3,4\n28/1,c,5,6\n", 4, ["028/01", "line 2"]),
    (HEADER + "028/01,a,1,2\n105/01,b,-3,4\n", 3, ["negative", "arrest"]),
    (HEADER + "028/01,a,1,1.5\n", 2, ["1.5", "intelligence"]),
    (HEADER + "028/01,a,abc,1\n", 2, ["abc", "arrest"]),
    (HEADER + "028/01,a,,1\n", 2, ["arrest", "whole number"]),
    (HEADER + "028/01,a,1,100001\n", 2, ["100001", "cap"]),
    (HEADER + "028/01,a,1\n", 2, ["3 fields", "4"]),
    (HEADER + "028/01,a,1,2,3\n", 2, ["5 fields"]),
    (HEADER + "28-01,a,1,2\n", 2, ["28-01", "offence"]),
    ("# name: x\n# a comment\n\n" + HEADER + "028/01,a,1,2\n\n\n105/01,b,1,x\n", 8, ["'x'"]),
    ("offence,description\n028/01,a\n", 1, ["no dataset columns"]),
    ("# name: x\noffence\n028/01\n", 2, ["no dataset columns"]),
    ("offence,arrest,arrest\n028/01,1,2\n", 1, ["duplicate dataset"]),
    ("code,arrest\n028/01,1\n", 1, ["offence"]),
    ("028/01,Burglary,1,2\n", 1, ["offence"]),
]


@pytest.mark.parametrize(("text", "line", "words"), WEIGHT_FAULTS)
def test_a_bad_weight_file_names_the_line(tmp_path, text, line, words):
    with pytest.raises(WeightFileError) as info:
        load(tmp_path, text)
    message = str(info.value)
    assert "table.csv" in message, message
    assert f"line {line}" in message, message
    for word in words:
        assert word in message, message


@pytest.mark.parametrize("text", ["", "# name: only comments\n# nothing else\n", "\n\n"])
def test_a_weight_file_without_a_header(tmp_path, text):
    with pytest.raises(WeightFileError, match="no header"):
        load(tmp_path, text)


def test_a_weight_file_without_rows(tmp_path):
    with pytest.raises(WeightFileError, match="no offence rows"):
        load(tmp_path, HEADER)


def test_a_missing_weight_file(tmp_path):
    with pytest.raises(WeightFileError, match="no such weight file"):
        Weights.load(tmp_path / "absent.csv")


def test_weights_constructor_checks():
    with pytest.raises(WeightFileError, match=re.escape("0..100000")):
        Weights(["arrest"], ["028/01"], [[-1]])
    with pytest.raises(WeightFileError, match=re.escape("0..100000")):
        Weights(["arrest"], ["028/01"], [[100_001]])
    with pytest.raises(WeightFileError, match="integers"):
        Weights(["arrest"], ["028/01"], [[1.5]])
    with pytest.raises(WeightFileError, match="twice"):
        Weights(["arrest"], ["028/01", "28/1"], [[1, 2]])
    with pytest.raises(WeightFileError, match="shape"):
        Weights(["arrest", "intelligence"], ["028/01"], [[1, 2]])
    with pytest.raises(WeightFileError, match="duplicate dataset"):
        Weights(["arrest", "arrest"], ["028/01"], [[1], [2]])


# ------------------------------------------------------------------------------ threads


def test_readers_see_only_whole_states():
    """Readers in threads see the state before or after each change, never a mix.

    The writer's changes and every state between them are worked out with the
    reference first; each read must equal one of them.
    """
    weights = small_weights()
    rng = np.random.default_rng(12)
    n_batches, per_batch = 8, 1_500
    start = AS_OF - datetime.timedelta(days=700)
    batches = []
    for b in range(n_batches):
        ids = np.arange(b * per_batch, (b + 1) * per_batch)
        batches.append(
            [
                reference.Event(
                    int(i),
                    int(rng.integers(0, 300)),
                    weights.datasets[int(rng.integers(0, 3))],
                    weights.offences[int(rng.integers(0, 4))],
                    start + datetime.timedelta(days=int(rng.integers(0, 700))),
                )
                for i in ids
            ]
        )
    doubled = weights.replace(
        {(d, o): 2 * weights.get(d, o) for d in weights.datasets for o in weights.offences},
        name="doubled",
    )
    later = AS_OF + datetime.timedelta(days=200)

    # The writer's steps, and the states they pass through (reference only).
    steps = []
    held: list[reference.Event] = []
    table, as_of = weights, AS_OF
    expected = [tuple(reference_rows(held, table, as_of))]
    counts = [reference.counts(held, as_of)]

    def record():
        expected.append(tuple(reference_rows(held, table, as_of)))
        counts.append(reference.counts(held, as_of))

    for b, batch in enumerate(batches):
        steps.append(("ingest", batch))
        held = held + batch
        record()
        if b == 3:
            steps.append(("reweight", doubled))
            table = doubled
            record()
        if b == 5:
            steps.append(("advance", later))
            as_of = later
            record()
        if b == 6:
            gone = {e.event_id for e in batches[0][:500]}
            steps.append(("retract", sorted(gone)))
            held = [e for e in held if e.event_id not in gone]
            record()
    allowed = set(expected)
    assert len(allowed) == len(expected)  # every step changes the state

    engine = Engine(weights, AS_OF)
    done = threading.Event()
    failures: list[BaseException] = []
    reads: list[int] = []

    def reader():
        count = 0
        try:
            while not done.is_set() or count == 0:
                rows = tuple(engine.scores().rows())
                assert rows in allowed, "a reader saw a state between two changes"
                count += 1
        except BaseException as exc:
            failures.append(exc)
        reads.append(count)

    def matrix_reader():
        count = 0
        try:
            while not done.is_set() or count == 0:
                seen = matrix_as_dict(engine.matrix(), weights)
                assert seen in counts, "a matrix mixed two states"
                count += 1
        except BaseException as exc:
            failures.append(exc)
        reads.append(count)

    threads = [threading.Thread(target=f) for f in (reader, reader, matrix_reader)]
    for thread in threads:
        thread.start()
    try:
        for kind, arg in steps:
            if kind == "ingest":
                engine.ingest(event_columns(arg))
            elif kind == "reweight":
                engine.reweight(arg)
            elif kind == "advance":
                engine.advance(arg)
            else:
                engine.retract(arg)
    finally:
        done.set()
        for thread in threads:
            thread.join(timeout=60)
    assert not failures, failures[0]
    assert all(not thread.is_alive() for thread in threads)
    assert len(reads) == 3 and all(r > 0 for r in reads)
    assert tuple(engine.scores().rows()) == expected[-1]
