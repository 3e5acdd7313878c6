"""Edges of the API found in review: each was a wrong answer or a traceback once."""

import datetime

import numpy as np
import pyarrow as pa
import pytest

from iomscore import Engine, EngineError, EventError, IomscoreError, Weights, batch
from iomscore.batch import encode_events

AS_OF = datetime.date(2024, 2, 29)


def _weights() -> Weights:
    return Weights(["arrest", "dip"], ["028/01", "105/01"], [[30, 20], [5, 7]], name="edges")


def _engine() -> Engine:
    engine = Engine(_weights(), AS_OF)
    engine.ingest(
        {
            "event_id": [1, 2],
            "nominal_id": [0, 5],
            "dataset": ["arrest", "dip"],
            "offence": ["028/01", "105/01"],
            "date": ["2024-01-01", "2023-06-30"],
        }
    )
    return engine


def test_a_negative_nominal_id_has_no_score():
    # -1 once matched an empty bucket of the nominal map and read its stale index.
    engine = _engine()
    assert engine.score(-1) == 0
    assert engine.scores_of([-1, 5, 0]).tolist() == [0, 7, 30]
    assert engine.band(-1) == "NONE"


def test_a_batch_encoded_for_another_table_is_refused():
    engine = _engine()
    other = Weights(["arrest"], ["028/01"], [[1]], name="other")
    batch = encode_events(
        {
            "event_id": [9],
            "nominal_id": [1],
            "dataset": ["arrest"],
            "offence": ["028/01"],
            "date": ["2024-01-01"],
        },
        other,
    )
    before = engine.scores().rows()
    with pytest.raises(EngineError, match="encoded against a weight table"):
        engine.ingest_encoded(batch)
    assert engine.scores().rows() == before


def test_retract_takes_one_id_or_many():
    engine = _engine()
    assert engine.retract(1).retracted == 1
    report = engine.retract(np.array([2, 3], dtype=np.uint64))
    assert (report.retracted, report.unknown.tolist()) == (1, [3])
    with pytest.raises(EventError, match="exceeds the int64 range"):
        engine.retract(np.array([2**63], dtype=np.uint64))
    with pytest.raises(EventError, match="must be integers"):
        engine.retract(["a"])


def test_an_arrow_date_out_of_range_names_the_row():
    engine = _engine()
    columns = {
        "event_id": [7, 8],
        "nominal_id": [1, 1],
        "dataset": ["arrest", "arrest"],
        "offence": ["028/01", "028/01"],
        "date": pa.array([19_000, 10**8], pa.date32()),
    }
    with pytest.raises(EventError) as info:
        engine.ingest(columns)
    assert (info.value.row, info.value.field) == (1, "date")


@pytest.mark.parametrize("bad", [5, "abc", np.zeros((1, 1))])
def test_a_column_that_is_not_a_sequence_is_named(bad):
    columns = {
        "event_id": [7],
        "nominal_id": [1],
        "dataset": ["arrest"],
        "offence": ["028/01"],
        "date": ["2024-01-01"],
    }
    columns["nominal_id"] = bad
    with pytest.raises(EventError) as info:
        _engine().ingest(columns)
    assert info.value.field == "nominal_id"


def test_the_cached_matrix_cannot_be_changed_by_a_caller():
    engine = _engine()
    matrix = engine.matrix()
    with pytest.raises(ValueError, match="read-only"):
        matrix.data[0] = 99


def test_weights_must_be_a_table():
    with pytest.raises(TypeError, match=r"Weights\.load"):
        Engine("weights.csv", AS_OF)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"Weights\.load"):
        _engine().reweight("weights.csv")  # type: ignore[arg-type]


def test_white_space_around_csv_values_is_ignored():
    engine = Engine(_weights(), AS_OF)
    report = engine.ingest(
        {
            "event_id": [" 1"],
            "nominal_id": ["7 "],
            "dataset": [" arrest"],
            "offence": [" 28/1 "],
            "date": [" 2024-02-29 "],
        }
    )
    assert report.taken == 1
    assert engine.scores().rows() == [(7, 30, "NONE")]


def test_memory_counts_the_caches_held_beside_the_store():
    engine = _engine()
    assert engine.memory()["cache_bytes"] == 0  # nothing built yet
    m = engine.matrix()
    matrix_bytes = sum(a.nbytes for a in (m.nominal_id, m.indptr, m.indices, m.data))
    # and the store index of each row (int64), which the engine keeps beside it
    assert engine.memory()["cache_bytes"] == matrix_bytes + 8 * m.nominal_id.size
    # a reweight builds the matrix's columns (CSC) as well, to plan its path, and keeps them
    engine.reweight(_weights().replace({("arrest", "028/01"): 31}))
    assert engine.memory()["cache_bytes"] > matrix_bytes + 8 * m.nominal_id.size


def test_every_spelling_of_every_shipped_code_finds_its_row():
    """offence_index answers canonical spellings from a dict, others through normalising."""
    table = Weights.default()
    for row, code in enumerate(table.offences):
        offence_class, subcode = code.split("/")
        spellings = [
            code,
            f" {code} ",
            f"{int(offence_class)}/{int(subcode)}",
            offence_class + subcode,
        ]
        assert [table.offence_index(s) for s in spellings] == [row] * 4, code
    missing = next(f"{c:03d}/99" for c in range(1000) if f"{c:03d}/99" not in table.offences)
    with pytest.raises(KeyError):
        table.offence_index(missing)


@pytest.mark.parametrize("text", ["2026-02-30", "26-11-2026", "tomorrow"])
def test_a_date_that_is_not_a_calendar_date_is_an_engine_error(text):
    with pytest.raises(EngineError, match="not a calendar date") as caught:
        Engine(Weights.default(), text)
    assert isinstance(caught.value, IomscoreError)
    engine = Engine(Weights.default(), "2026-11-26")
    with pytest.raises(EngineError, match="not a calendar date"):
        engine.advance(text)


def test_an_unknown_future_policy_is_an_engine_error():
    engine = Engine(Weights.default(), "2026-11-26")
    events = {"event_id": [1], "nominal_id": [7], "dataset": ["arrest"]}
    events |= {"offence": ["028/01"], "date": ["2026-01-05"]}
    with pytest.raises(EngineError, match="future must be 'error' or 'skip', not 'maybe'"):
        engine.ingest(events, future="maybe")
    assert len(engine) == 0


def _chunked_text_table(offences: list[str], chunk: int) -> pa.Table:
    """Events 0.. with the given offence text, the text columns plain strings cut into
    chunks of ``chunk`` rows (as a Parquet file's row groups come)."""
    n = len(offences)
    table = pa.table(
        {
            "event_id": pa.array(range(n), pa.int64()),
            "nominal_id": pa.array([k % 7 for k in range(n)], pa.int64()),
            "dataset": pa.array(["arrest"] * n, pa.string()),
            "offence": pa.array(offences, pa.string()),
            "date": pa.array([datetime.date(2024, 1, 1)] * n, pa.date32()),
        }
    )
    return pa.concat_tables([table.slice(k, chunk) for k in range(0, n, chunk)])


def test_a_bad_offence_in_a_later_chunk_is_named_by_its_row_in_the_whole_table():
    offences = ["028/01", "105/01"] * 50
    offences[97] = "999/99"  # in the fourth chunk; rows are counted from 1
    table = _chunked_text_table(offences, chunk=30)
    assert table.column("offence").num_chunks == 4
    with pytest.raises(EventError, match=r"row 98\b.*offence"):
        encode_events(table, _weights())


def test_a_chunked_text_column_past_the_interning_table_is_read_the_general_way():
    """Over 65,536 distinct words across the chunks (the C table's limit, reached in
    the second chunk): the column is encoded by pyarrow's dictionary instead, and the
    first unknown word is named by its row in the whole table."""
    good = ["028/01", "105/01"] * 20_000
    offences = good + [f"NOT-A-CODE-{k}" for k in range(70_000)]
    table = _chunked_text_table(offences, chunk=50_000)
    assert table.column("offence").num_chunks == 3
    assert batch._intern(table.column("offence")) is None  # the C table gave up
    with pytest.raises(EventError, match=rf"row {len(good) + 1}\b.*offence"):
        encode_events(table, _weights())


def test_a_missing_text_value_in_a_later_chunk_is_named_by_its_row():
    table = _chunked_text_table(["028/01"] * 90, chunk=40)
    dataset = pa.chunked_array(
        [
            pa.array(["dip"] * 40),
            pa.array(["dip"] * 5 + [None] + ["dip"] * 34),
            pa.array(["dip"] * 10),
        ]
    )
    table = table.set_column(2, "dataset", dataset)
    with pytest.raises(EventError, match=r"row 46\b.*dataset"):
        encode_events(table, _weights())
