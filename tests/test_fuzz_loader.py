"""The fuzzed loader test: ``iomscore score`` on damaged CSV and Parquet files.

Hypothesis takes a valid events file (synthetic, with a free-text column of
accented words) and damages it as exports and spreadsheets do: changed bytes,
truncation, repeated and dropped columns, stray quotes, byte order marks, CRLF
and lone CR line ends, a line in another encoding, NULs, huge numbers, empty
fields and odd values in each column; a Parquet file gets other column types,
nulls, huge values, repeated and dropped columns, and damaged bytes. For every
file, ``iomscore score`` must either

* exit 0 with exactly the reference's result (:mod:`iomscore.reference`) for
  the rows that a plain reading of the file by the documented rule yields (the
  reading below, written without iomscore's loader), when that reading finds no
  fault; or
* exit 2 with one line ``iomscore: error: ...`` naming the file and, for a fault
  in a value, the line (or row) and the field.

It never shows a traceback (any other exception fails the test), never hangs
(each run is bounded by an alarm), never leaves an output file (or a partial
one) after an error, and never changes its input.

Examples per format: 1.5 x the profile's ``max_examples`` (75 in ``dev``, 300
in ``ci``). For a long run set ``IOMSCORE_FUZZ_EXAMPLES``, e.g.::

    IOMSCORE_FUZZ_EXAMPLES=20000 PYTHONPATH=src python -m pytest -q -p no:cacheprovider \\
        tests/test_fuzz_loader.py
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import hashlib
import io
import os
import random
import re
import signal
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from iomscore import reference
from iomscore.cli import main

EXAMPLES = int(os.environ.get("IOMSCORE_FUZZ_EXAMPLES", 0)) or int(
    settings.default.max_examples * 1.5
)
SECONDS_PER_RUN = 30  # the bound on one run of the command (a hang fails the test)

AS_OF = datetime.date(2024, 2, 29)
WEIGHTS_TEXT = """\
# name: fuzz
offence,arrest,intelligence,warrant
028/01,250,125,500
008/06,120,30,80
046/00,40,10,25
105/01,60,20,45
"""
POINTS = {
    ("arrest", "028/01"): 250,
    ("intelligence", "028/01"): 125,
    ("warrant", "028/01"): 500,
    ("arrest", "008/06"): 120,
    ("intelligence", "008/06"): 30,
    ("warrant", "008/06"): 80,
    ("arrest", "046/00"): 40,
    ("intelligence", "046/00"): 10,
    ("warrant", "046/00"): 25,
    ("arrest", "105/01"): 60,
    ("intelligence", "105/01"): 20,
    ("warrant", "105/01"): 45,
}
DATASETS = ("arrest", "intelligence", "warrant")
HEADER = ["event_id", "nominal_id", "dataset", "offence", "date", "notes"]
SPELLINGS = ["028/01", "28/1", "02801", "8/6", "008/06", "04600", "46/0", "105/01"]
NOTES = ["Café", "naïve", "plain", "Zoë’s", "résumé"]


def _base_rows(n: int = 24) -> list[list[str]]:
    """A valid file's rows, synthetic and deterministic."""
    rng = random.Random(25)
    rows = []
    for i in range(n):
        day = AS_OF - datetime.timedelta(days=rng.randrange(-20, 800))
        rows.append(
            [
                str(1000 + 7 * i),
                str(rng.randrange(1, 9) * 111),
                rng.choice(DATASETS),
                rng.choice(SPELLINGS),
                day.isoformat(),
                rng.choice(NOTES),
            ]
        )
    return rows


BASE = _base_rows()
ODD_VALUES = [
    "",
    " ",
    "\x00",
    "1001.0",
    "1001.5",
    "+5",
    "-0",
    "-3",
    " 42 ",
    "9" * 19,
    "9" * 40,
    "1e400",
    "NaN",
    "inf",
    "2024-02-29 00:00:00",
    "2024-02-29T00:00",
    "2024-02-29 13:45",
    "2025-02-29",
    "2024-13-01",
    "0000-01-01",
    "2801",
    "28.1",
    "arrest ",
    "ARREST",
    "Café",
    '"quoted"',
    "a,b",
    "line\nbreak",
    "\ufeff",
]

# ------------------------------------------------------------------------------ the plain reading

WS = " \t\n\f\r"
ID = re.compile(r"[ \t\n\f\r]*([+-]?)([0-9]+)(\.0*)?[ \t\n\f\r]*")
DATE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})([T ]([0-9]{2}):([0-9]{2})(:([0-9]{2})(\.[0-9]+)?)?)?"
)
CODE = re.compile(r"([0-9]{1,3})/([0-9]{1,2})|([0-9]{3})([0-9]{2})")


class Fault(Exception):
    """The plain reading refuses the file; ``row`` is set for a fault in one value."""

    def __init__(self, text: str, row: int | None = None):
        super().__init__(text)
        self.row = row


def plain_id(value: object, row: int) -> int:
    if isinstance(value, bool) or value is None:
        raise Fault("id", row)
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")) or value != int(value):
            raise Fault("id", row)
        if abs(value) >= 2.0**63:
            raise Fault("id", row)
        number = int(value)
    elif isinstance(value, str):
        match = ID.fullmatch(value)
        if match is None:
            raise Fault("id", row)
        number = int(match.group(1) + match.group(2))
    else:
        raise Fault("id", row)
    if not 0 <= number < 2**63:
        raise Fault("id", row)
    return number


PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}


def plain_date(value: object, row: int) -> datetime.date:
    if isinstance(value, Stamp):
        days, rest = divmod(value.ticks, PER_DAY[value.unit])
        if value.tz is not None or rest:
            raise Fault("date", row)
        try:
            return datetime.date(1970, 1, 1) + datetime.timedelta(days=days)
        except OverflowError:
            raise Fault("date", row) from None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is not None or value.time() != datetime.time():
            raise Fault("date", row)
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if not isinstance(value, str):
        raise Fault("date", row)
    match = DATE.fullmatch(value.strip(WS))
    if match is None:
        raise Fault("date", row)
    year, month, day, _, hour, minute, _, second, fraction = match.groups()
    if any(part not in (None, "00") for part in (hour, minute, second)) or (
        fraction and fraction.strip(".0")
    ):
        raise Fault("date", row)
    try:
        return datetime.date(int(year), int(month), int(day))
    except ValueError:
        raise Fault("date", row) from None


def plain_offence(value: object, row: int) -> str:
    if not isinstance(value, str):
        raise Fault("offence", row)
    match = CODE.fullmatch(value.strip())
    if match is None:
        raise Fault("offence", row)
    a, b, c, d = match.groups()
    code = f"{int(a or c):03d}/{int(b or d):02d}"
    if ("arrest", code) not in POINTS:
        raise Fault("offence", row)
    return code


def plain_events(columns: dict[str, list], n: int) -> list[reference.Event]:
    """The reference's events from the five columns; ``Fault`` on any bad value."""
    events, seen = [], set()
    for row in range(n):
        event_id = plain_id(columns["event_id"][row], row)
        nominal = plain_id(columns["nominal_id"][row], row)
        dataset = columns["dataset"][row]
        if not isinstance(dataset, str) or dataset.strip() not in DATASETS:
            raise Fault("dataset", row)
        offence = plain_offence(columns["offence"][row], row)
        date = plain_date(columns["date"][row], row)
        if event_id in seen:
            raise Fault("repeated event_id", row)
        seen.add(event_id)
        events.append(reference.Event(event_id, nominal, dataset.strip(), offence, date))
    return events


def plain_csv(data: bytes) -> list[reference.Event]:
    """Read CSV bytes by the documented rule with Python's csv module."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Fault("encoding") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    first = next(reader, None)
    if not first or not any(name.strip() for name in first):
        raise Fault("no header")
    if reader.line_num > 1:
        raise Fault("a header of more than one line")
    header = [name.strip() for name in first]
    body = [r for r in reader if r]
    for name in HEADER[:5]:
        if header.count(name) != 1:
            raise Fault("columns")
    if any(len(r) != len(header) for r in body):
        raise Fault("field count")
    columns = {name: [r[header.index(name)] for r in body] for name in HEADER[:5]}
    return plain_events(columns, len(body))


class Stamp:
    """A timestamp as its ticks (Python's datetime would drop nanoseconds)."""

    def __init__(self, ticks: int, unit: str, tz: str | None):
        self.ticks, self.unit, self.tz = ticks, unit, tz


def _plain_values(column: pa.ChunkedArray) -> list:
    if pa.types.is_timestamp(column.type):
        unit, tz = column.type.unit, column.type.tz
        return [
            None if t is None else Stamp(t, unit, tz) for t in column.cast(pa.int64()).to_pylist()
        ]
    return column.to_pylist()


def plain_parquet(path: Path) -> list[reference.Event]:
    """The documented rule: the file's schema names each of the five columns once;
    only those five are read (a damaged sixth column is never looked at)."""
    try:
        names = pq.read_schema(path).names
    except Exception:  # any failure of the reader: not a readable file
        raise Fault("unreadable") from None
    for name in HEADER[:5]:
        if names.count(name) != 1:
            raise Fault("columns")
    try:
        table = pq.read_table(path, columns=HEADER[:5])
    except Exception:
        raise Fault("unreadable") from None
    try:
        columns = {name: _plain_values(table.column(name)) for name in HEADER[:5]}
    except Exception:  # text that is not UTF-8, a date past year 9999: damaged
        raise Fault("unreadable") from None
    return plain_events(columns, table.num_rows)


# ------------------------------------------------------------------------------ damage

CSV_DAMAGE = st.one_of(
    st.tuples(st.just("byte"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6)),
    st.tuples(st.just("quote"), st.integers(0, 10**6)),
    st.tuples(st.just("nul"), st.integers(0, 10**6)),
    st.tuples(st.just("bom")),
    st.tuples(st.just("crlf")),
    st.tuples(st.just("cr")),
    st.tuples(st.just("latin1 line"), st.integers(0, len(BASE))),
)
ROW_DAMAGE = st.one_of(
    st.tuples(st.just("repeat column"), st.integers(0, 5)),
    st.tuples(st.just("drop column"), st.integers(0, 5)),
    st.tuples(
        st.just("value"),
        st.integers(0, len(BASE) - 1),
        st.integers(0, 5),
        st.sampled_from(ODD_VALUES) | st.text(max_size=6),
    ),
    st.tuples(st.just("empty field"), st.integers(0, len(BASE) - 1), st.integers(0, 5)),
    st.tuples(
        st.just("huge"), st.integers(0, len(BASE) - 1), st.integers(0, 4), st.integers(19, 60)
    ),
)


def damaged_csv(row_damage: list[tuple], byte_damage: list[tuple]) -> bytes:
    rows = [list(HEADER), *(list(r) for r in BASE)]
    for damage in row_damage:
        kind = damage[0]
        width = len(rows[0])
        if kind == "repeat column" and width:
            c = damage[1] % width
            rows = [r[: c + 1] + r[c:] for r in rows]
        elif kind == "drop column" and width:
            c = damage[1] % width
            rows = [r[:c] + r[c + 1 :] for r in rows]
        elif width:
            row, c = rows[1 + damage[1]], damage[2] % width
            if kind == "value":
                row[c] = damage[3]
            elif kind == "empty field":
                row[c] = ""
            else:
                row[c] = "9" * damage[3]
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator="\n").writerows(rows)
    data = out.getvalue().encode("utf-8")
    for damage in byte_damage:
        kind = damage[0]
        at = damage[1] % (len(data) + 1) if len(damage) > 1 else 0
        if kind == "byte" and data:
            at = damage[1] % len(data)
            data = data[:at] + bytes([damage[2]]) + data[at + 1 :]
        elif kind == "truncate":
            data = data[:at]
        elif kind == "quote":
            data = data[:at] + b'"' + data[at:]
        elif kind == "nul":
            data = data[:at] + b"\x00" + data[at:]
        elif kind == "bom":
            data = b"\xef\xbb\xbf" + data
        elif kind == "crlf":
            data = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        elif kind == "cr":
            data = data.replace(b"\n", b"\r")
        elif kind == "latin1 line":
            lines = data.split(b"\n")
            i = damage[1] % len(lines)
            lines[i] = lines[i].decode("utf-8", "replace").encode("latin-1", "replace")
            data = b"\n".join(lines)
    return data


PARQUET_DAMAGE = st.one_of(
    st.tuples(st.just("float ids"), st.sampled_from(["event_id", "nominal_id"])),
    st.tuples(st.just("fraction"), st.sampled_from(["event_id", "nominal_id"]), st.integers(0, 23)),
    st.tuples(st.just("text column"), st.sampled_from(HEADER[:5])),
    st.tuples(st.just("timestamps"), st.sampled_from(["s", "ms", "us", "ns"])),
    st.tuples(st.just("time of day"), st.integers(0, 23), st.integers(1, 86_399)),
    st.tuples(st.just("null"), st.sampled_from(HEADER), st.integers(0, 23)),
    st.tuples(st.just("huge"), st.sampled_from(["event_id", "nominal_id"]), st.integers(0, 23)),
    st.tuples(st.just("drop column"), st.sampled_from(HEADER)),
    st.tuples(st.just("repeat column"), st.sampled_from(HEADER)),
    st.tuples(
        st.just("value"),
        st.sampled_from(HEADER),
        st.integers(0, 23),
        st.sampled_from(ODD_VALUES),
    ),
)
PARQUET_BYTES = st.one_of(
    st.tuples(st.just("byte"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6)),
)


def _as_float(value: object) -> object:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return value  # text that is no number stays text


def damaged_parquet(damages: list[tuple]) -> pa.Table:
    columns: dict[str, list] = {
        "event_id": [int(r[0]) for r in BASE],
        "nominal_id": [int(r[1]) for r in BASE],
        "dataset": [r[2] for r in BASE],
        "offence": [r[3] for r in BASE],
        "date": [datetime.date.fromisoformat(r[4]) for r in BASE],
        "notes": [r[5] for r in BASE],
    }
    types: dict[str, pa.DataType | None] = dict.fromkeys(columns)
    types["date"] = pa.date32()
    names = list(columns)
    for damage in damages:
        kind, name = damage[0], damage[1]
        if kind == "float ids":
            columns[name] = [_as_float(v) for v in columns[name]]
            types[name] = pa.float64()
        elif kind == "fraction":
            columns[name] = [_as_float(v) for v in columns[name]]
            columns[name][damage[2]] = 1000.5
            types[name] = None
        elif kind == "text column":
            columns[name] = [None if v is None else str(v) for v in columns[name]]
            types[name] = pa.string()
        elif kind == "timestamps":
            columns["date"] = [
                datetime.datetime.combine(v, datetime.time()) if type(v) is datetime.date else v
                for v in columns["date"]
            ]
            types["date"] = pa.timestamp(name)
        elif kind == "time of day":
            start = columns["date"][name]
            if isinstance(start, datetime.date):
                if not isinstance(start, datetime.datetime):
                    start = datetime.datetime.combine(start, datetime.time())
                columns["date"] = [
                    datetime.datetime.combine(v, datetime.time()) if type(v) is datetime.date else v
                    for v in columns["date"]
                ]
                columns["date"][name] = start + datetime.timedelta(seconds=damage[2])
                types["date"] = pa.timestamp("s")
        elif kind == "null":
            columns[name][damage[2]] = None
        elif kind == "huge":
            columns[name] = [
                2**64 - 1 if i == damage[2] else v for i, v in enumerate(columns[name])
            ]
            types[name] = None
        elif kind == "drop column" and name in names:
            names.remove(name)
        elif kind == "repeat column" and name in names:
            names.append(name)
        elif kind == "value":
            columns[name] = [None if v is None else str(v) for v in columns[name]]
            columns[name][damage[2]] = damage[3]
            types[name] = pa.string()
    arrays = []
    for name in names:
        try:
            arrays.append(pa.array(columns[name], types[name]))
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError):
            arrays.append(pa.array([None if v is None else str(v) for v in columns[name]]))
    return pa.Table.from_arrays(arrays, names=names)


# ------------------------------------------------------------------------------ the run


def event(text: str) -> None:
    """Count an outcome in Hypothesis's statistics (``--hypothesis-show-statistics``)."""
    if currently_in_test_context():
        hypothesis_event(text)


class Hang(Exception):
    pass


def _alarm(signum, frame):
    raise Hang(f"iomscore score ran for more than {SECONDS_PER_RUN} s")


def run_score(events: Path, weights: Path, out: Path) -> tuple[int, str, str]:
    """``iomscore score`` in this process, bounded by an alarm; (status, stdout, stderr)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, SECONDS_PER_RUN)
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(
                [
                    "score",
                    str(events),
                    "--weights",
                    str(weights),
                    "--as-of",
                    AS_OF.isoformat(),
                    "--out",
                    str(out),
                ]
            )
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return code, stdout.getvalue(), stderr.getvalue()


def check_outcome(events: Path, expected: list | Fault, where: str) -> None:
    """Run the command on ``events`` and hold it to the rules in the module docstring."""
    folder = events.parent
    weights = folder / "weights.csv"
    weights.write_text(WEIGHTS_TEXT, encoding="utf-8")
    out = folder / "out.csv"
    before = hashlib.sha256(events.read_bytes()).hexdigest()
    code, _, err = run_score(events, weights, out)
    assert hashlib.sha256(events.read_bytes()).hexdigest() == before, "the input changed"
    assert not [p for p in folder.iterdir() if p.name.endswith(".part")], "a temporary file"
    assert "Traceback" not in err
    if code == 0:
        assert not isinstance(expected, Fault), f"took a file the rule refuses ({expected}): {err}"
        rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8"))))
        assert rows[0] == ["nominal_id", "score", "band"]
        got = [(int(n), int(s), b) for n, s, b in rows[1:]]
        assert got == reference.result(reference.score(expected, POINTS, AS_OF, 2))
        event("exit 0")
        return
    assert code == 2, err
    assert not out.exists(), "an output file after an error"
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("iomscore: error: "), err
    assert events.name in lines[0], err
    if isinstance(expected, Fault) and expected.row is not None:
        # a fault in a value: the message names the line (or row) and the field
        assert f" {where} " in lines[0] and "field '" in lines[0], err
    assert not isinstance(expected, list), f"refused a file the rule takes: {err}"
    event("exit 2")


FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@FUZZ
@given(
    row_damage=st.lists(ROW_DAMAGE, max_size=3),
    byte_damage=st.lists(CSV_DAMAGE, max_size=3),
)
def test_fuzzed_csv(row_damage, byte_damage):
    data = damaged_csv(row_damage, byte_damage)
    try:
        expected: list | Fault = plain_csv(data)
    except Fault as fault:
        expected = fault
    with tempfile.TemporaryDirectory() as folder:
        events = Path(folder) / "events.csv"
        events.write_bytes(data)
        check_outcome(events, expected, "line")


@FUZZ
@given(
    damages=st.lists(PARQUET_DAMAGE, max_size=3),
    byte_damage=st.lists(PARQUET_BYTES, max_size=1),
)
def test_fuzzed_parquet(damages, byte_damage):
    table = damaged_parquet(damages)
    with tempfile.TemporaryDirectory() as folder:
        events = Path(folder) / "events.parquet"
        pq.write_table(table, events)
        if byte_damage:
            data = events.read_bytes()
            kind, at = byte_damage[0][0], byte_damage[0][1] % len(data)
            data = (
                data[:at]
                if kind == "truncate"
                else data[:at] + bytes([byte_damage[0][2]]) + data[at + 1 :]
            )
            events.write_bytes(data)
        try:
            expected: list | Fault = plain_parquet(events)
        except Fault as fault:
            expected = fault
        check_outcome(events, expected, "row")


def test_the_undamaged_files_are_taken():
    """The fuzz tests' starting points are valid: damage, not the base, causes refusals."""
    with tempfile.TemporaryDirectory() as folder:
        events = Path(folder) / "events.csv"
        events.write_bytes(damaged_csv([], []))
        expected = plain_csv(events.read_bytes())
        assert len(expected) == len(BASE)
        check_outcome(events, expected, "line")
        parquet = Path(folder) / "events.parquet"
        pq.write_table(damaged_parquet([]), parquet)
        check_outcome(parquet, plain_parquet(parquet), "row")
