"""The one-shot score (:mod:`iomscore.oneshot`) against the engine and the reference.

What ``iomscore score`` gives must be what a new engine that ingests the same batch
gives, and the reference's result: the rows, the counts, and for a batch at fault
the same error (the same message, naming the same row and field). A CSV file read
by the plain reader must give what the general reader gives, whatever its
spelling; the plain reader may only decline a file, never read it otherwise.
"""

from __future__ import annotations

import datetime
import os
import tempfile
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import (
    INPUT_FORMS,
    as_of_dates,
    columns,
    events_of,
    reference_rows,
    rows,
    small_weights,
    thresholds_st,
    weight_tables,
    window_years_st,
)

from iomscore import Engine, EventError, FileAccessError, Weights, _core, oneshot
from iomscore.batch import encode_events
from iomscore.eventfile import read_events
from iomscore.oneshot import score_events, score_file

# --------------------------------------------------------------------------------- helpers


def engine_way(events, weights, as_of, years=2, thresholds=(250, 500, 1000), label=None):
    """What the engine makes of a batch: (rows, counts), or the EventError it raises."""
    kwargs = {} if label is None else {"label": label}
    engine = Engine(weights, as_of, window_years=years, thresholds=thresholds)
    try:
        batch = encode_events(events, weights, **kwargs)
        report = engine.ingest_encoded(batch, future="skip", **kwargs)
    except EventError as exc:
        return str(exc)
    counts = (report.received, report.taken, report.expired, report.future, len(report.changes))
    return engine.scores().rows(), counts


def oneshot_way(run):
    """The same of a one-shot call."""
    try:
        shot = run()
    except EventError as exc:
        return str(exc)
    counts = (shot.received, shot.taken, shot.expired, shot.future, shot.banded)
    return shot.scores.rows(), counts


def file_way(path: Path, weights, as_of, years=2):
    """The engine's way with a file: the general reader, then the engine."""
    try:
        table, label = read_events(path)
    except EventError as exc:
        return str(exc)
    return engine_way(table, weights, as_of, years, label=label)


class ReadCount:
    """Counts the calls of the general reader (to know the plain reader took a file)."""

    def __init__(self, monkeypatch):
        self.calls = 0
        real = oneshot.read_events

        def counted(*args, **kwargs):
            self.calls += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(oneshot, "read_events", counted)


# ------------------------------------------------------------------------ score_events


@given(
    data=st.data(),
    as_of=as_of_dates,
    years=window_years_st,
    weights=weight_tables(),
    thresholds=thresholds_st,
    form=st.sampled_from(sorted(INPUT_FORMS)),
    threads=st.sampled_from((1, 2)),
)
def test_score_events_is_the_engine_and_the_reference(
    data, as_of, years, weights, thresholds, form, threads
):
    batch = data.draw(rows(as_of, years, weights, future=True, min_size=0))
    events = INPUT_FORMS[form](batch)
    got = oneshot_way(
        lambda: score_events(
            events, weights, as_of, window_years=years, thresholds=thresholds, threads=threads
        )
    )
    assert got == engine_way(events, weights, as_of, years, thresholds)
    assert got[0] == reference_rows(events_of(batch), weights, as_of, years, thresholds)


@given(data=st.data(), as_of=as_of_dates, threads=st.sampled_from((1, 2)))
def test_a_repeated_id_is_named_as_the_engine_names_it(data, as_of, threads):
    weights = small_weights()
    batch = data.draw(rows(as_of, 2, weights, min_size=2, max_size=40))
    events = columns(batch)
    first = data.draw(st.integers(0, len(batch) - 1))
    second = data.draw(st.integers(0, len(batch) - 1).filter(lambda i: i != first))
    events["event_id"][second] = events["event_id"][first]
    got = oneshot_way(lambda: score_events(events, weights, as_of, threads=threads))
    assert isinstance(got, str) and "repeats" in got
    assert got == engine_way(events, weights, as_of)


def big_columns(rng: np.random.Generator, n: int, weights: Weights, as_of: datetime.date):
    """``n`` events with shuffled unique ids over a few thousand nominals."""
    ids = rng.permutation(np.arange(10**9, 10**9 + 3 * n, 3, dtype=np.int64))
    days = np.datetime64(as_of, "D") - rng.integers(0, 900, n)
    return {
        "event_id": ids,
        "nominal_id": rng.integers(1_000, 5_000, n),
        "dataset": np.array(weights.datasets)[rng.integers(0, len(weights.datasets), n)],
        "offence": np.array(weights.offences)[rng.integers(0, len(weights.offences), n)],
        "date": days,
    }


AS_OF = datetime.date(2026, 11, 26)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    where=st.sampled_from(("ends", "start", "end", "middle", "near")),
    form=st.sampled_from(("arrays", "csv", "parquet")),
    threads=st.sampled_from((1, 2)),
)
def test_duplicates_at_both_ends_of_a_large_batch(seed, where, form, threads):
    """A batch large enough to be split between threads (and a CSV file into two
    parts): a repeat anywhere is found and named as the engine names it."""
    weights = small_weights()
    rng = np.random.default_rng(seed)
    n = 150_000
    events = big_columns(rng, n, weights, AS_OF)
    first, second = {
        "ends": (0, n - 1),
        "start": (0, 1),
        "end": (n - 2, n - 1),
        "middle": (n // 2 - 1, n // 2 + 1),
        "near": (int(rng.integers(0, n - 1)), n - 1),
    }[where]
    events["event_id"][second] = events["event_id"][first]
    with tempfile.TemporaryDirectory() as folder:
        if form == "arrays":
            got = oneshot_way(lambda: score_events(events, weights, AS_OF, threads=threads))
            expected = engine_way(events, weights, AS_OF)
        else:
            path = write(Path(folder), events, form)
            got = oneshot_way(lambda: score_file(path, weights, AS_OF, threads=threads))
            expected = file_way(path, weights, AS_OF)
    assert isinstance(got, str) and "repeats" in got
    assert got == expected


@pytest.mark.parametrize("chunk", [None, 2 << 20])
@pytest.mark.parametrize("threads", [1, 2])
def test_a_large_batch_scores_as_the_engine(threads, chunk, tmp_path, monkeypatch):
    """150,000 rows (a CSV file of 6 MB): in one chunk, or in chunks of 2 MiB, each
    split between two parts whose words are kept from chunk to chunk."""
    weights = small_weights()
    events = big_columns(np.random.default_rng(5), 150_000, weights, AS_OF)
    expected = engine_way(events, weights, AS_OF)
    if chunk is not None:
        monkeypatch.setattr(oneshot, "_CHUNK_BYTES", chunk)
    reads = ReadCount(monkeypatch)
    assert oneshot_way(lambda: score_events(events, weights, AS_OF, threads=threads)) == expected
    for form in ("csv", "parquet"):
        path = write(tmp_path, events, form)
        got = oneshot_way(lambda path=path: score_file(path, weights, AS_OF, threads=threads))
        assert got == expected
    assert reads.calls == 0  # both files read by their own paths, not the general reader


# ---------------------------------------------------------------------------- files


def write(folder: Path, events: dict, form: str) -> Path:
    """The events as a CSV file (plain text, ISO dates) or a Parquet file."""
    table = pa.table(
        {
            "event_id": pa.array(events["event_id"], pa.int64()),
            "nominal_id": pa.array(events["nominal_id"], pa.int64()),
            "dataset": pa.array([str(d) for d in events["dataset"]], pa.string()),
            "offence": pa.array([str(o) for o in events["offence"]], pa.string()),
            "date": pa.array(np.asarray(events["date"], dtype="datetime64[D]")),
        }
    )
    if form == "parquet":
        path = folder / "events.parquet"
        pq.write_table(table, path)
        return path
    path = folder / "events.csv"
    lines = ["event_id,nominal_id,dataset,offence,date"]
    lines += [
        f"{e},{m},{d},{o},{day}"
        for e, m, d, o, day in zip(*(table.column(i).to_pylist() for i in range(5)), strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


# How each field of a CSV row may be written: the plain form, and others the
# loading rule takes (README, "The loading rule") that the plain reader declines.
ID_SPELLINGS = ("{}", " {}", "{} ", '"{}"', "+{}", "{}.0", "{}.", "\t{}")
DATE_SPELLINGS = ("{}", " {}", '"{}"', "{} 00:00", "{}T00:00:00", "{} ")
TEXT_SPELLINGS = ("{}", '"{}"', " {}")


@st.composite
def csv_files(draw, weights: Weights, as_of: datetime.date):
    """A CSV file's text and the rows it holds, each field spelled as an export may
    spell it, the columns in any order, with or without an extra column, a byte
    order mark, CRLF line ends and a last newline."""
    batch = draw(rows(as_of, 2, weights, future=True, min_size=1, max_size=25))
    plain = draw(st.booleans())

    def spell(options, value):
        form = "{}" if plain else draw(st.sampled_from(options))
        return form.format(value)

    order = draw(st.permutations(["event_id", "nominal_id", "dataset", "offence", "date"]))
    extra = draw(st.sampled_from((None, "note", "source")))
    header = list(order) + ([extra] if extra else [])
    lines = [",".join(header)]
    for row in batch:
        e = row.event
        fields = {
            "event_id": spell(ID_SPELLINGS, e.event_id),
            "nominal_id": spell(ID_SPELLINGS, e.nominal_id),
            "dataset": spell(TEXT_SPELLINGS, e.dataset),
            "offence": spell(TEXT_SPELLINGS, row.offence_text),
            "date": spell(DATE_SPELLINGS, e.date.isoformat()),
        }
        values = [fields[name] for name in order]
        if extra:
            values.append(draw(st.sampled_from(("", "x", "a b", '"q,1"'))))
        lines.append(",".join(values))
    newline = draw(st.sampled_from(("\n", "\r\n")))
    text = newline.join(lines) + (newline if draw(st.booleans()) else "")
    bom = draw(st.booleans())
    return ("\ufeff" if bom else "") + text, batch, plain


@given(data=st.data(), as_of=st.sampled_from((AS_OF, datetime.date(2024, 2, 29))))
def test_a_csv_file_scores_as_the_general_reader_reads_it(data, as_of):
    weights = small_weights()
    text, batch, plain = data.draw(csv_files(weights, as_of))
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        path = Path(folder) / "events.csv"
        path.write_bytes(text.encode("utf-8"))
        expected = file_way(path, weights, as_of)
        reads = ReadCount(patch)
        got = oneshot_way(lambda: score_file(path, weights, as_of))
    assert got == expected
    assert got[0] == reference_rows(events_of(batch), weights, as_of)
    short = all(max(r.event.event_id, r.event.nominal_id) < 10**18 for r in batch)
    if plain and short:  # 19 digits and more are the general reader's
        assert reads.calls == 0


def test_the_plain_reader_takes_a_plain_file(tmp_path, monkeypatch):
    """A check that the plain reader is used at all: a plain file never reaches the
    general reader, a file it declines does."""
    weights = small_weights()
    events = big_columns(np.random.default_rng(1), 2_000, weights, AS_OF)
    path = write(tmp_path, events, "csv")
    reads = ReadCount(monkeypatch)
    expected = engine_way(events, weights, AS_OF)
    assert oneshot_way(lambda: score_file(path, weights, AS_OF)) == expected
    assert reads.calls == 0
    lines = path.read_text().replace("\n", "\r\n", 5).split("\n")
    first = lines[3].split(",")
    lines[3] = ",".join([f'"{first[0]}"', *first[1:3], f'"{first[3]}"', first[4]])  # quoted
    lines[7] = lines[7].replace(",", ",+", 1)  # "+123": the rule takes it, the plain reader not
    path.write_text("\n".join(lines))
    assert oneshot_way(lambda: score_file(path, weights, AS_OF)) == expected
    assert reads.calls == 1


# What a damaged row may hold: (field, value) put into one row of a plain file.
DAMAGE = (
    ("date", "2023-02-29"),
    ("date", "0000-01-01"),
    ("date", "2024-13-01"),
    ("date", ""),
    ("date", "2024-01-01 10:30"),
    ("event_id", "0x10"),
    ("event_id", "-5"),
    ("event_id", "99999999999999999999"),
    ("event_id", "1e3"),
    ("event_id", ""),
    ("nominal_id", "12a"),
    ("offence", "999/99"),
    ("offence", "2801"),
    ("offence", ""),
    ("dataset", "arrests"),
    ("dataset", "é"),
)


@given(
    data=st.data(),
    damage=st.lists(st.sampled_from(DAMAGE), min_size=1, max_size=3),
    threads=st.sampled_from((1, 2)),
)
def test_a_damaged_csv_file_is_refused_as_the_engine_refuses_it(data, damage, threads):
    weights = small_weights()
    batch = data.draw(rows(AS_OF, 2, weights, min_size=3, max_size=20))
    names = ["event_id", "nominal_id", "dataset", "offence", "date"]
    table = [
        [
            str(r.event.event_id),
            str(r.event.nominal_id),
            r.event.dataset,
            r.offence_text,
            r.event.date.isoformat(),
        ]
        for r in batch
    ]
    for field, value in damage:
        table[data.draw(st.integers(0, len(table) - 1))][names.index(field)] = value
    text = "\n".join([",".join(names)] + [",".join(row) for row in table]) + "\n"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "events.csv"
        path.write_bytes(text.encode("utf-8"))
        expected = file_way(path, weights, AS_OF)
        got = oneshot_way(lambda: score_file(path, weights, AS_OF, threads=threads))
    assert got == expected


# --------------------------------------------------------------------- the compiled part


def read_plain(data: bytes, begin: int):
    reader = _core.PlainCsv(5, [0, 1, 2, 3, 4])
    return reader, reader.read(data, begin, len(data))


def test_the_plain_reader_declines_what_is_not_plain():
    header = b"event_id,nominal_id,dataset,offence,date\n"
    good = header + b"1,7,arrest,028/01,2024-01-02\n2,7,dip,028/01,2024-01-03\n"
    reader, read = read_plain(good, len(header))
    assert read == (2, [(0, 0, 2)])
    assert reader.event_id[:2].tolist() == [1, 2] and reader.nominal_id[:2].tolist() == [7, 7]
    assert reader.day[:2].tolist() == [19724, 19725]
    assert reader.words(0, 0) == [b"arrest", b"dip"] and reader.words(0, 1) == [b"028/01"]
    assert reader.dataset[:2].tolist() == [0, 1] and reader.offence[:2].tolist() == [0, 0]
    for bad in (
        b"1,7,arrest,028/01,2024-01-02\n\n",  # a blank line
        b"1,7,arr\xc3\xa9st,028/01,2024-01-02\n",  # not ASCII
        b"1,7,arrest,028/01\n",  # a field short
        b"1,7,arrest,028/01,2024-01-02,x\n",  # a field over
        b'1,7,ar"rest,028/01,2024-01-02\n',  # a quote inside
        b"1,7,arrest,028/01,2024-01-02\r",  # a lone CR
        b"1234567890123456789,7,arrest,028/01,2024-01-02\n",  # 19 digits
        b"1,7,arrest,028/01,2023-02-29\n",  # no such day
    ):
        assert read_plain(header + bad, len(header))[1] is None, bad


@given(
    fields=st.lists(
        st.text(alphabet="0123456789/:+-. \t", max_size=21)
        | st.integers(0, 10**18 - 1).map(str)
        | st.integers(0, 10**18 - 1).map(lambda v: f"{v:018d}"),
        min_size=1,
        max_size=8,
    )
)
def test_the_plain_reader_reads_ids_as_int_of_their_digits(fields):
    """The plain reader's ids against Python's ``int``: 1 to 18 ASCII digits, spaces
    and tabs around; anything else, and the whole read is declined. Each drawn field
    is a row's event id and nominal id."""
    header = b"event_id,nominal_id,dataset,offence,date\n"
    body = b"".join(f"{field},{field},arrest,028/01,2024-01-02\n".encode() for field in fields)
    reader, read = read_plain(header + body, len(header))
    digits = [field.strip(" \t") for field in fields]
    if all(1 <= len(d) <= 18 and d.isdigit() for d in digits):
        assert read == (len(fields), [(0, 0, len(fields))])
        expected = [int(d) for d in digits]
        assert reader.event_id[: len(fields)].tolist() == expected
        assert reader.nominal_id[: len(fields)].tolist() == expected
    else:
        assert read is None


def test_the_plain_reader_keeps_its_words_from_chunk_to_chunk():
    header = b"event_id,nominal_id,dataset,offence,date\n"
    first = b"1,7,arrest,028/01,2024-01-02\n"
    second = b"2,7,dip,028/01,2024-01-03\n3,8,arrest,105/01,2024-01-03\n"
    buffer = bytearray(header + first)
    reader = _core.PlainCsv(5, [0, 1, 2, 3, 4], threads=1)
    assert reader.read(buffer, len(header), len(buffer)) == (1, [(0, 0, 1)])
    # the next chunk comes in the same buffer, over the first: the words are copies
    buffer[:] = second[: len(buffer)].ljust(len(buffer), b"\n")
    assert reader.read(second, 0, len(second)) == (2, [(0, 0, 2)])
    assert reader.words(0, 0) == [b"arrest", b"dip"]
    assert reader.words(0, 1, since=1) == [b"105/01"]
    assert reader.dataset[:2].tolist() == [1, 0] and reader.offence[:2].tolist() == [0, 1]


def test_one_shot_sums_refuse_an_index_outside_their_table():
    one = np.array([5], np.int64)
    sums = _core.OneShotSums()
    with pytest.raises(IndexError, match="row 0"):
        sums.add(
            one, one, np.array([10], np.int32), np.array([0], np.int32),
            np.array([3], np.int32), [(0, 1, np.zeros((1, 3), np.int64))], 0, 20,
        )  # fmt: skip


@given(
    ids=st.lists(st.integers(0, 2**63 - 1) | st.integers(0, 5_000), max_size=300),
    cut=st.integers(0, 300),
)
def test_the_id_set_finds_the_first_repeat_across_batches(ids, cut):
    """``OneShotSums`` over two batches, against a plain set; ids dense or sparse (the
    set moves from bitmap pages to a hash table)."""
    seen, expected = set(), -1
    for row, value in enumerate(ids):
        if value in seen:
            expected = row
            break
        seen.add(value)
    ids = np.array(ids, np.int64)
    cut = min(cut, ids.size)
    sums, found = _core.OneShotSums(), -1
    for first, part in ((0, ids[:cut]), (cut, ids[cut:])):
        n = part.size
        zeros32 = np.zeros(n, np.int32)
        repeat = sums.add(part, part, zeros32, zeros32, zeros32,
                          [(0, n, np.zeros((1, 1), np.int64))], 0, 1)  # fmt: skip
        if repeat >= 0:
            found = first + repeat
            break
    assert found == expected
    assert _core.first_repeat(ids) == expected


@given(
    rows=st.lists(
        st.tuples(
            st.integers(-(2**63), 2**63 - 1), st.integers(-(2**63), 2**63 - 1), st.integers(0, 3)
        ),
        max_size=50,
    )
)
def test_score_rows_are_written_as_plain_text(rows):
    """The C formatter of score files against an f-string, for any int64."""
    names = ("NONE", "LOW", "MEDIUM", "HIGH")
    columns = [np.array([r[i] for r in rows], dtype) for i, dtype in enumerate(
        (np.int64, np.int64, np.int8))]  # fmt: skip
    expected = "".join(f"{n},{s},{names[b]}\n" for n, s, b in rows).encode()
    assert _core.format_scores(*columns) == expected


def test_a_band_code_outside_the_four_is_refused():
    one = np.array([1], np.int64)
    with pytest.raises(ValueError, match="row 0"):
        _core.format_scores(one, one, np.array([4], np.int8))


def small_with_repeat(seed: int, repeat: str | None, weights: Weights) -> dict:
    """400 events: an id repeated near the start ("early"), the first row's id repeated
    by the last ("late"), or none."""
    events = big_columns(np.random.default_rng(seed), 400, weights, AS_OF)
    if repeat == "early":
        events["event_id"][5] = events["event_id"][2]
    elif repeat == "late":
        events["event_id"][-1] = events["event_id"][0]
    return events


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    chunk=st.sampled_from((64, 1000, 4096)),
    repeat=st.sampled_from((None, "early", "late")),
    damage=st.sampled_from((None, ("date", "2023-02-30"), ("offence", "999/99"))),
    threads=st.sampled_from((1, 2)),
)
def test_a_csv_file_read_a_small_chunk_at_a_time(seed, chunk, repeat, damage, threads):
    """The plain reader's chunks (made small here): words met in later chunks, a repeat
    whose first row is chunks back, and a fault after a repeat, which the general
    reader reports first (it checks every field of every row before the ids)."""
    weights = small_weights()
    events = small_with_repeat(seed, repeat, weights)
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        path = write(Path(folder), events, "csv")
        if damage is not None:
            lines = path.read_text().split("\n")
            fields = lines[300].split(",")
            fields[["event_id", "nominal_id", "dataset", "offence", "date"].index(damage[0])] = (
                damage[1]
            )
            lines[300] = ",".join(fields)
            path.write_text("\n".join(lines))
        expected = file_way(path, weights, AS_OF)
        patch.setattr(oneshot, "_CHUNK_BYTES", chunk)
        reads = ReadCount(patch)
        got = oneshot_way(lambda: score_file(path, weights, AS_OF, threads=threads))
    assert got == expected
    assert reads.calls == (damage is not None)  # the plain reader took every plain file
    if repeat is not None and damage is None:
        assert "repeats" in got


@pytest.mark.parametrize("change", ["cut short", "written on", "replaced"])
@pytest.mark.parametrize("form", ["plain csv", "general csv", "parquet"])
def test_a_file_that_changes_while_read_is_refused(change, form, tmp_path, monkeypatch):
    """An export still being written, or rewritten, while it is scored: the file read
    is not the file named (and, read through a mapping, a file cut short would have
    ended the process). The change is made after the first chunk (the plain reader)
    or just before the general reader reads; a FileAccessError says so, naming the
    file, and no scores are given."""
    weights = small_weights()
    events = small_with_repeat(3, None, weights)
    path = write(tmp_path, events, "parquet" if form == "parquet" else "csv")
    if form == "general csv":  # a quoted header: the plain reader declines it
        text = path.read_text().split("\n", 1)
        path.write_text('"event_id",nominal_id,dataset,offence,date\n' + text[1])
    whole = path.read_bytes()

    def alter() -> None:
        if change == "cut short":
            os.truncate(path, len(whole) // 2)
        elif change == "written on":
            with open(path, "ab") as handle:
                handle.write(whole[whole.index(b"\n") + 1 :][:200])
        else:
            other = path.with_name("new" + path.suffix)
            other.write_bytes(whole)
            os.replace(other, path)

    if form == "plain csv":
        monkeypatch.setattr(oneshot, "_CHUNK_BYTES", 1024)
        first = oneshot._Lines.first

        def first_then_alter(self):
            got = first(self)
            alter()
            return got

        monkeypatch.setattr(oneshot._Lines, "first", first_then_alter)
    else:
        real = oneshot.read_events if form == "general csv" else oneshot._parquet_groups

        def alter_then_read(*args, **kwargs):
            alter()
            return real(*args, **kwargs)

        name = "read_events" if form == "general csv" else "_parquet_groups"
        monkeypatch.setattr(oneshot, name, alter_then_read)
    with pytest.raises(FileAccessError, match="changed while it was read") as caught:
        score_file(path, weights, AS_OF)
    assert str(path) in str(caught.value)


def test_the_command_refuses_a_file_that_changes_before_it_is_hashed(tmp_path, monkeypatch, capsys):
    """``iomscore score --out`` hashes the input on a thread of its own: a file
    rewritten after it was scored and before its SHA-256 was taken would put another
    file's digest in the output's provenance. Exit 2, one line naming the file, and
    no output file."""
    from iomscore.cli import main

    events = big_columns(np.random.default_rng(9), 300, Weights.default(), AS_OF)
    path = write(tmp_path, events, "csv")
    real = oneshot.score_file

    def score_then_rewrite(*args, **kwargs):
        shot = real(*args, **kwargs)
        path.write_bytes(path.read_bytes() + b"\n")
        return shot

    monkeypatch.setattr(oneshot, "score_file", score_then_rewrite)
    out = tmp_path / "scores.csv"
    code = main(["score", str(path), "--as-of", AS_OF.isoformat(), "--out", str(out), "--quiet"])
    assert code == 2
    err = capsys.readouterr().err
    assert "changed while it was read" in err and str(path) in err
    assert not out.exists()


def test_a_file_that_changes_before_a_repeat_is_named_is_refused(tmp_path, monkeypatch):
    """A repeated id is named by reading the file again: if the file changed before
    that read, the change is the error, not whatever the second read meets."""
    weights = small_weights()
    path = write(tmp_path, small_with_repeat(4, "late", weights), "csv")
    whole = path.read_bytes()
    raise_ = oneshot._Pending.raise_

    def cut_then_raise(self, label, id_chunks):
        os.truncate(path, len(whole) // 3)
        return raise_(self, label, id_chunks)

    monkeypatch.setattr(oneshot._Pending, "raise_", cut_then_raise)
    with pytest.raises(FileAccessError, match="changed while it was read"):
        score_file(path, weights, AS_OF)


def test_a_header_only_file_is_scored_as_empty(tmp_path, monkeypatch):
    """A file of a header alone (with or without its newline): no rows, no scores,
    by the plain reader whatever its buffer's size."""
    weights = small_weights()
    for text in (b"event_id,nominal_id,dataset,offence,date\n",):
        path = tmp_path / "events.csv"
        path.write_bytes(text)
        for chunk in (8, 41, 42, 1 << 20):
            monkeypatch.setattr(oneshot, "_CHUNK_BYTES", chunk)
            reads = ReadCount(monkeypatch)
            shot = score_file(path, weights, AS_OF)
            assert (shot.received, len(shot.scores.nominal_id)) == (0, 0)
            assert reads.calls == 0, chunk


def test_the_plain_reader_reads_a_file_a_buffer_at_a_time(tmp_path, monkeypatch):
    """Lines cut by the buffer's end are carried to the next read, a line longer than
    the buffer grows it, and the last line may lack its newline."""
    weights = small_weights()
    events = small_with_repeat(5, None, weights)
    path = write(tmp_path, events, "csv")
    path.write_bytes(path.read_bytes().rstrip(b"\n"))  # no newline at the end
    expected = file_way(path, weights, AS_OF)
    for chunk in (7, 46, 50, 333, 1 << 20):
        monkeypatch.setattr(oneshot, "_CHUNK_BYTES", chunk)
        reads = ReadCount(monkeypatch)
        assert oneshot_way(lambda: score_file(path, weights, AS_OF)) == expected
        assert reads.calls == 0, chunk


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    group=st.sampled_from((50, 128, 1000)),
    repeat=st.sampled_from((None, "early", "late")),
    text_dates=st.booleans(),
    bad_date=st.booleans(),
    threads=st.sampled_from((1, 2)),
)
def test_a_parquet_file_read_a_row_group_at_a_time(
    seed, group, repeat, text_dates, bad_date, threads
):
    """Row groups with dictionaries of their own (values met in later groups), dates as
    a date column or as text, a repeat whose first row is groups back, and a bad date
    after a repeat (which the general reader reports first); on two threads the next
    group is read while one is scored, and a bad group stops that read early."""
    weights = small_weights()
    events = small_with_repeat(seed, repeat, weights)
    dates = np.asarray(events["date"], dtype="datetime64[D]")
    date = pa.array(dates.astype(str)) if text_dates else pa.array(dates)
    if text_dates and bad_date:
        date = pa.array([*dates[:300].astype(str), "2023-02-30", *dates[301:].astype(str)])
    table = pa.table(
        {
            "event_id": events["event_id"],
            "nominal_id": events["nominal_id"],
            "dataset": pa.array([str(d) for d in events["dataset"]]),
            "offence": pa.array([str(o) for o in events["offence"]]),
            "date": date,
        }
    )
    with tempfile.TemporaryDirectory() as folder, pytest.MonkeyPatch.context() as patch:
        path = Path(folder) / "events.parquet"
        pq.write_table(table, path, row_group_size=group)
        expected = file_way(path, weights, AS_OF)
        reads = ReadCount(patch)
        got = oneshot_way(lambda: score_file(path, weights, AS_OF, threads=threads))
    assert got == expected
    assert reads.calls == (text_dates and bad_date)  # the row groups took every good file


@pytest.mark.parametrize("threads", [1, 2])
def test_a_parquet_file_s_other_columns_are_not_read(threads, tmp_path, monkeypatch):
    """An export's other columns, before and between the five, are left unread by both
    readers: with the bytes of one of them overwritten, the file scores as before, by
    the row groups (the general reader not called) and by the general reader; the
    thread that reads ahead is gone once the file is scored."""
    weights = small_weights()
    events = big_columns(np.random.default_rng(11), 3_000, weights, AS_OF)
    path = write(tmp_path, events, "parquet")
    expected = engine_way(events, weights, AS_OF)
    table = pq.read_table(path)
    note = pa.array([f"note {k:06d}" for k in range(len(table))])
    table = table.add_column(0, "note", note).add_column(3, "source", note)
    pq.write_table(table, path, row_group_size=1_000, compression="none", use_dictionary=False)
    meta = pq.ParquetFile(path).metadata
    data = bytearray(path.read_bytes())
    for group in range(meta.num_row_groups):
        chunk = meta.row_group(group).column(3)  # "source"
        start = chunk.data_page_offset
        data[start : start + chunk.total_compressed_size] = bytes(chunk.total_compressed_size)
    path.write_bytes(bytes(data))
    with pytest.raises(OSError, match="page header"):
        pq.read_table(path)  # the damage is real: a read of every column fails
    reads = ReadCount(monkeypatch)
    assert oneshot_way(lambda: score_file(path, weights, AS_OF, threads=threads)) == expected
    assert reads.calls == 0
    assert not [t for t in threading.enumerate() if t.name.startswith("iomscore-parquet")]
    got, label = read_events(path)
    assert engine_way(got, weights, AS_OF, label=label) == expected


def test_a_parquet_file_naming_a_column_twice_is_refused_naming_it(tmp_path):
    """The general reader looks at the schema before it reads: a repeated column is
    named, as for a CSV file (pyarrow itself would refuse the whole file)."""
    weights = small_weights()
    events = big_columns(np.random.default_rng(12), 50, weights, AS_OF)
    table = pq.read_table(write(tmp_path, events, "parquet"))
    path = tmp_path / "twice.parquet"
    pq.write_table(table.append_column("offence", table.column("offence")), path)
    expected = f"{path}: the column 'offence' appears 2 times"
    with pytest.raises(EventError) as caught:
        read_events(path)
    assert str(caught.value) == expected
    assert oneshot_way(lambda: score_file(path, weights, AS_OF)) == expected


def test_a_parquet_dataset_directory_is_read_whole(tmp_path):
    """A directory of Parquet parts named ``*.parquet`` (as Spark and Dask write one) is
    read as one table by the general reader."""
    weights = small_weights()
    events = big_columns(np.random.default_rng(13), 600, weights, AS_OF)
    table = pq.read_table(write(tmp_path, events, "parquet"))
    folder = tmp_path / "export.parquet"
    folder.mkdir()
    for k, at in enumerate(range(0, 600, 200)):
        pq.write_table(table.slice(at, 200), folder / f"part-{k}.parquet")
    expected = engine_way(events, weights, AS_OF)
    assert oneshot_way(lambda: score_file(folder, weights, AS_OF)) == expected


@pytest.mark.parametrize("where", [None, "middle", "last", "across"])
def test_the_id_set_moves_sparse_ids_to_a_hash_table(where):
    """Ids a page or more apart (one page of bits each) soon pass the pages' budget
    (1 MiB, or 16 bytes an id): the set moves them to a hash table, finding a repeat
    before, during and after the move."""
    rng = np.random.default_rng(7)
    ids = rng.permutation(np.arange(5_000, dtype=np.int64)) * (1 << 20) + 12345
    expected = -1
    if where == "middle":
        ids[1_000] = ids[10]
        expected = 1_000
    elif where in ("last", "across"):
        ids[-1] = ids[3_000]
        expected = ids.size - 1
    assert _core.first_repeat(ids) == expected
    cut = 2_500 if where == "across" else ids.size
    sums, found = _core.OneShotSums(), -1
    for first, part in ((0, ids[:cut]), (cut, ids[cut:])):
        zeros32 = np.zeros(part.size, np.int32)
        table = [(0, part.size, np.zeros((1, 1), np.int64))]
        repeat = sums.add(part, part, zeros32, zeros32, zeros32, table, 0, 1)
        if repeat >= 0:
            found = first + repeat
            break
    assert found == expected
    assert sums._hashed


def _add_ids(sums, ids):
    zeros32 = np.zeros(ids.size, np.int32)
    table = [(0, ids.size, np.zeros((1, 1), np.int64))]
    return sums.add(ids, ids, zeros32, zeros32, zeros32, table, 0, 1)


@pytest.mark.parametrize("hint", [False, True])
def test_the_id_set_keeps_pages_for_a_file_it_knows_the_size_of(hint):
    """A file's first batch (a Parquet row group: 122,880 of 2,000,000 ids twenty
    apart, in no order) touches every page the whole file will fill, at 40 bytes an
    id so far: told the file's size, the set keeps its pages (2.5 bytes an id in the
    end), as it must for a national file (20M ids two apart, which it once moved to
    a hash table of 300 MB); not told, it moves. Ids a page apart move at once, told
    or not. The repeat is found either way."""
    rng = np.random.default_rng(3)
    ids = rng.permutation(np.arange(2_000_000, dtype=np.int64) * 20 + 10**9)
    ids[-1] = ids[5]
    sums = _core.OneShotSums(ids.size if hint else 0)
    assert _add_ids(sums, ids[:122_880]) == -1
    assert sums._hashed == (not hint)
    assert _add_ids(sums, ids[122_880:]) == ids.size - 1 - 122_880
    assert sums._hashed == (not hint)
    sparse = _core.OneShotSums(2_000_000 if hint else 0)
    assert _add_ids(sparse, np.arange(1, 5_000, dtype=np.int64) * (1 << 20)) == -1
    assert sparse._hashed


@pytest.mark.parametrize(
    "text",
    [
        # a lone CR in the header ends its line for the general reader
        "x\r,event_id,nominal_id,dataset,offence,date\n1,1,arrest,028/01,2024-01-01\n",
        # a record over 1 MiB, which pyarrow's reader (the general one) refuses
        "event_id,nominal_id,dataset,offence,date,note\n"
        "1,1,arrest,028/01,2024-01-01,x\n2,1,arrest,028/01,2024-01-02," + "y" * (1 << 20) + "\n",
    ],
    ids=["lone CR in the header", "a record over 1 MiB"],
)
def test_what_the_general_reader_refuses_the_plain_reader_declines(text, tmp_path):
    weights = small_weights()
    path = tmp_path / "events.csv"
    path.write_text(text)
    expected = file_way(path, weights, AS_OF)
    assert oneshot_way(lambda: score_file(path, weights, AS_OF)) == expected


@given(
    words=st.lists(
        st.text(max_size=20)
        # words alike in their first 16 bytes (zero-padded), told apart by length or tail
        | st.sampled_from(("028/01", "arrest", "a", "a\x00", "x" * 16, "x" * 17, "x" * 16 + "y")),
        max_size=60,
    ),
    large=st.booleans(),
)
def test_text_is_interned_as_a_dict_would(words, large):
    """``_core.intern_text`` (Arrow's string buffers, any UTF-8, words over 16 bytes)
    against its plain twin: the distinct words in the order met and each row's index."""
    seen: dict[str, int] = {}
    expected = [seen.setdefault(word, len(seen)) for word in words]
    arrow = pa.array(words, pa.large_string() if large else pa.string())
    _, offsets, data = arrow.buffers()
    width = 8 if large else 4
    starts = np.frombuffer(offsets, np.dtype(f"int{8 * width}"), len(words) + 1)
    text = np.frombuffer(b"" if data is None else data, np.uint8)
    rows, values = _core.intern_text([(text, starts)])
    assert rows.tolist() == expected
    assert [value.decode("utf-8") for value in values] == list(seen)
