"""Turning a batch of events into checked, encoded columns.

Accepted inputs: a mapping of column name to values (numpy arrays, lists,
pyarrow arrays), a pyarrow ``Table``, a pandas ``DataFrame``, or an
:class:`iomscore.synth.Cohort`. Every check is vectorised; the first fault
found raises :class:`EventError` naming the row and the field, and nothing
of the batch is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import _core
from ._lazy import LazyModule
from .codes import normalize_offence, repair_candidates
from .errors import EventError, OffenceCodeError
from .weights import Weights

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
else:  # imported on first use (see _lazy)
    pa = LazyModule("pyarrow")
    pc = LazyModule("pyarrow.compute")

__all__ = [
    "COLUMNS",
    "EncodedBatch",
    "EventError",
    "RowLabel",
    "check_unique_sorted",
    "checked_columns",
    "dataset_lookup",
    "distinct_ids",
    "encode_events",
    "offence_lookup",
    "repeat_error",
    "repeated_id_error",
    "row_label",
    "sorted_with_rows",
]

COLUMNS = ("event_id", "nominal_id", "dataset", "offence", "date")
# The loading rule, one for every input (CSV text, Parquet, arrays; see the README):
# - an id is a whole number >= 0 below 2**63: an integer, a float with no fraction
#   (1001.0), or text of digits optionally followed by a point and zeros ("1001.0",
#   as spreadsheets write whole numbers);
# - a date is a calendar day: a date, or a timestamp / text "YYYY-MM-DD[ T]HH:MM[:SS[.f]]"
#   whose time is midnight. Any other time is refused, not dropped: the day an instant
#   falls on depends on a time zone the file does not give. A timestamp with a time
#   zone is refused for the same reason.
_WS = " \t\n\f\r"  # the white space trimmed around ids and dates (ASCII only)
_INT_TEXT = r"^[ \t\n\f\r]*[+-]?\d+(\.0*)?[ \t\n\f\r]*$"
_DATE_TEXT = r"^\d{4}-\d{2}-\d{2}$"
_DATE_TIME_TEXT = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$"
_MIDNIGHT_TEXT = r"^\d{4}-\d{2}-\d{2}([T ]00:00(:00(\.0+)?)?)?$"

RowLabel = Callable[[int], str]
_FIRST_DAY = -719_162  # 0001-01-01
_LAST_DAY = 2_932_896  # 9999-12-31


def row_label(row: int) -> str:
    """The default way to name a row of a batch: 1-based (``row 1`` is the first)."""
    return f"row {row + 1}"


@dataclass(frozen=True)
class EncodedBatch:
    """A checked batch: one entry per input row, in input order."""

    event_id: np.ndarray  # int64
    nominal_id: np.ndarray  # int64
    kind: np.ndarray  # uint16: dataset_index * n_offences + offence_index
    day: np.ndarray  # int32: days since 1970-01-01
    layout: str  # Weights.layout of the table the kinds index

    def __len__(self) -> int:
        return int(self.event_id.shape[0])

    def take(self, index: np.ndarray) -> EncodedBatch:
        return EncodedBatch(
            self.event_id[index],
            self.nominal_id[index],
            self.kind[index],
            self.day[index],
            self.layout,
        )


def _fail(label: RowLabel, row: int | None, field: str, message: str) -> EventError:
    where = f"{label(row)}, field {field!r}" if row is not None else f"field {field!r}"
    return EventError(f"{where}: {message}", row=row, field=field)


def _columns(
    events: object, names: tuple[str, ...] = COLUMNS, what: str = "events"
) -> tuple[dict[str, object], int]:
    """The named columns of any accepted input (the five of an events batch, by
    default), and the batch length."""
    if hasattr(events, "columns") and callable(events.columns):  # iomscore.synth.Cohort
        events = events.columns()
    if isinstance(events, pa.Table | pa.RecordBatch):
        source: Mapping[str, object] = {name: events.column(name) for name in events.schema.names}
    elif hasattr(events, "to_dict") and hasattr(events, "iloc"):  # pandas.DataFrame
        frame: Any = events
        source = {str(name): frame[name] for name in frame.columns}
    elif isinstance(events, Mapping):
        source = events
    else:
        raise EventError(
            f"{what} must be a mapping of columns, a pyarrow Table, a pandas DataFrame "
            f"or an iomscore.synth.Cohort, not {type(events).__name__}"
        )
    missing = [name for name in names if name not in source]
    if missing:
        raise EventError(
            f"missing column {missing[0]!r} (a batch needs {', '.join(names)})", field=missing[0]
        )
    columns = {name: source[name] for name in names}
    for name, column in columns.items():
        if isinstance(column, str | bytes) or not hasattr(column, "__len__"):
            raise EventError(
                f"field {name!r}: a column must be a sequence of values, "
                f"not {type(column).__name__}",
                field=name,
            )
        if getattr(column, "ndim", 1) != 1:
            raise EventError(f"field {name!r}: a column must be one-dimensional", field=name)
    lengths = {name: len(col) for name, col in columns.items()}  # type: ignore[arg-type]
    if len(set(lengths.values())) > 1:
        raise EventError(f"columns differ in length: {lengths}")
    return columns, lengths[names[0]]


def _to_arrow(values: object) -> pa.Array:
    """Any accepted column as one (unchunked) pyarrow array."""
    if isinstance(values, pa.Array | pa.ChunkedArray):
        arrow = values
    elif hasattr(values, "array") and hasattr(values, "dtype") and hasattr(values, "cat"):
        # pandas Series; categoricals become dictionary arrays without a copy of the strings.
        arrow = pa.Array.from_pandas(values)
    else:
        items = values if isinstance(values, np.ndarray) else list(values)  # type: ignore[call-overload]
        try:
            arrow = pa.array(items)
        except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
            # Mixed types: as text, so that the column's own check names the bad row.
            return pa.array([None if v is None else str(v) for v in items], type=pa.string())
    if isinstance(arrow, pa.ChunkedArray):  # large text comes back in chunks
        if arrow.num_chunks == 1:
            return arrow.chunk(0)
        if pa.types.is_string(arrow.type):
            arrow = arrow.cast(pa.large_string())  # one array may pass 2 GiB of text
        elif pa.types.is_dictionary(arrow.type):
            arrow = arrow.unify_dictionaries()  # each chunk may have its own dictionary
        return arrow.combine_chunks()
    return arrow


def arrow_numpy(array: pa.Array) -> np.ndarray:
    """A null-free Arrow array of fixed-width numbers or booleans as numpy's, read
    from its data buffer (a read-only view; booleans unpacked from their bits).
    Other types, and an array with nulls, go through ``to_numpy``.

    Not ``Array.to_numpy`` or ``np.asarray``: they import pandas, a fifth of a
    second in a new process.
    """
    kind = array.type
    n, offset = len(array), array.offset
    if array.null_count or pa.types.is_null(kind):  # (callers check for nulls first)
        return array.to_numpy(zero_copy_only=False)
    if n == 0:
        return np.empty(0, bool if pa.types.is_boolean(kind) else np.int64)
    data = array.buffers()[1]
    if pa.types.is_boolean(kind):
        bits = np.frombuffer(data, np.uint8)  # type: ignore[arg-type]
        return np.unpackbits(bits, count=offset + n, bitorder="little")[offset:].view(bool)
    if pa.types.is_signed_integer(kind) or pa.types.is_date32(kind):  # date32: int32 days
        code = "i"
    elif pa.types.is_unsigned_integer(kind):
        code = "u"
    elif pa.types.is_floating(kind):
        code = "f"
    else:  # another type (decimal, text, ...): whatever numpy makes of it
        return array.to_numpy(zero_copy_only=False)
    dtype = np.dtype(f"{code}{kind.bit_width // 8}")
    view = np.frombuffer(data, dtype, n, offset * dtype.itemsize)  # type: ignore[arg-type]
    view.flags.writeable = False  # the caller's Arrow memory, as to_numpy leaves it
    return view


def _first_null(arr: pa.Array) -> int | None:
    if arr.null_count == 0:
        return None
    return int(np.flatnonzero(np.asarray(arr.is_null()))[0])


def _id_column(values: object, field: str, label: RowLabel, *, signed: bool = False) -> np.ndarray:
    """A non-negative int64 column, from integers, integral floats or digit strings
    (with ``signed``, negative values too: the caller checks their range)."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "iu":
        arr = values
    else:
        arrow = _to_arrow(values)
        if len(arrow) == 0:
            return np.empty(0, dtype=np.int64)
        if pa.types.is_dictionary(arrow.type):  # first: its dictionary may hold a null
            arrow = arrow.dictionary_decode()
        bad = _first_null(arrow)
        if bad is not None:
            raise _fail(label, bad, field, "missing value")
        if pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type):
            ok = arrow_numpy(pc.match_substring_regex(arrow, _INT_TEXT))
            if not ok.all():
                row = int(np.flatnonzero(~ok)[0])
                raise _fail(label, row, field, f"{arrow[row].as_py()!r} is not a whole number")
            digits = pc.replace_substring_regex(pc.utf8_trim(arrow, characters=_WS), r"^\+", "")
            digits = pc.replace_substring_regex(digits, r"\.0*$", "")
            try:
                arrow = pc.cast(digits, pa.int64())
            except pa.ArrowInvalid:  # only a number past the int64 range gets here
                row = next(
                    i
                    for i, text in enumerate(digits.to_pylist())
                    if not -(2**63) <= int(text) < 2**63
                )
                raise _fail(
                    label, row, field, f"{arrow[row].as_py()!r} exceeds the int64 range"
                ) from None
        arr = arrow_numpy(arrow)
    if arr.dtype.kind == "f":
        whole = np.isfinite(arr) & (arr == np.round(arr)) & (np.abs(arr) < 2.0**63)
        if not whole.all():
            row = int(np.flatnonzero(~whole)[0])
            raise _fail(label, row, field, f"{arr[row].item()!r} is not a whole number")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind == "u":
        too_big = arr > np.iinfo(np.int64).max
        if too_big.any():
            row = int(np.flatnonzero(too_big)[0])
            raise _fail(label, row, field, f"{arr[row]} exceeds the int64 range")
    elif arr.dtype.kind == "b" or arr.dtype.kind not in "iu":
        raise _fail(label, None, field, f"values of type {arr.dtype} are not integers")
    arr = np.ascontiguousarray(arr, dtype=np.int64)
    negative = arr < 0
    if not signed and negative.any():
        row = int(np.flatnonzero(negative)[0])
        raise _fail(label, row, field, f"{arr[row]} is negative (ids are integers >= 0)")
    return arr


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _encode_text(
    values: object, field: str, label: RowLabel, lookup: Callable[[str], int | str]
) -> tuple[np.ndarray, np.ndarray]:
    """Map a string column through ``lookup`` (called once per distinct value).

    ``lookup`` returns the code, or a message explaining why the value is refused.
    Returns the code of each distinct value and each row's index into them.
    """
    if isinstance(values, pa.ChunkedArray) and _is_text(values.type):
        arrow = values  # interned chunk by chunk: the text is not copied into one array
    else:
        arrow = _to_arrow(values)
    bad = _first_null(arrow)
    if bad is not None:
        raise _fail(label, bad, field, "missing value")
    if not pa.types.is_dictionary(arrow.type):
        if not _is_text(arrow.type):
            if arrow.type == pa.null() and len(arrow) == 0:
                return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int32)
            raise _fail(label, None, field, f"values of type {arrow.type} are not text")
        interned = _intern(arrow)
        if interned is None:  # more distinct values than the C table takes
            arrow = _to_arrow(arrow).dictionary_encode()
        else:
            rows, dictionary = interned
    if pa.types.is_dictionary(arrow.type):
        dictionary = arrow.dictionary.to_pylist()
        rows = arrow_numpy(arrow.indices)
    codes = np.empty(len(dictionary), dtype=np.int64)
    for i, value in enumerate(dictionary):
        mapped = lookup(value) if isinstance(value, str) else f"{value!r} is not text"
        if isinstance(mapped, str):
            used = np.flatnonzero(rows == i)
            if used.size:
                raise _fail(label, int(used[0]), field, mapped)
            mapped = 0  # an unused dictionary entry (a subset of a larger table)
        codes[i] = mapped
    return codes, rows


def _intern(arrow: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, list[str]] | None:
    """A text column's distinct values, in the order met, and each row's index into
    them (``_core.intern_text``: one pass in C over Arrow's buffers, several times
    faster than ``dictionary_encode`` for short words); ``None`` past 65,536 values
    or for a value over 1 MiB.

    A chunked column (a Parquet file's row groups) is read chunk by chunk into one
    table: joining the chunks first would copy the column's text and offsets.
    """
    chunks = []
    for chunk in arrow.chunks if isinstance(arrow, pa.ChunkedArray) else [arrow]:
        width = 8 if pa.types.is_large_string(chunk.type) else 4
        _, offsets, data = chunk.buffers()  # no nulls: the caller refused them
        dtype = np.dtype(f"int{8 * width}")
        starts = np.frombuffer(offsets, dtype, len(chunk) + 1, chunk.offset * width)
        chunks.append((np.frombuffer(b"" if data is None else data, np.uint8), starts))
    interned = _core.intern_text(chunks)
    if interned is None:
        return None
    rows, words = interned
    return rows, [word.decode("utf-8") for word in words]


def _day_column(values: object, field: str, label: RowLabel) -> np.ndarray:
    """Day numbers (days since 1970-01-01) from dates, timestamps at midnight or ISO text.

    A time of day other than midnight is refused, as is a time zone (see ``_INT_TEXT``).
    """
    if isinstance(values, np.ndarray) and values.dtype.kind == "M":
        if np.isnat(values).any():
            raise _fail(label, int(np.flatnonzero(np.isnat(values))[0]), field, "missing date")
        unit = np.datetime_data(values.dtype)[0]
        if unit not in ("Y", "M", "W", "D"):
            days = values.astype("datetime64[D]")
            off = days.astype(values.dtype) != values
            if off.any():
                row = int(np.flatnonzero(off)[0])
                raise _fail(label, row, field, _time_message(str(values[row])))
            values = days
        return _days_int32(values.astype("datetime64[D]", copy=False).view(np.int64), field, label)
    arrow = _to_arrow(values)
    if len(arrow) == 0:
        return np.empty(0, dtype=np.int32)
    if pa.types.is_dictionary(arrow.type):  # first: its dictionary may hold a null
        arrow = arrow.dictionary_decode()
    bad = _first_null(arrow)
    if bad is not None:
        raise _fail(label, bad, field, "missing date")
    if pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type):
        arrow = _date_text(arrow, field, label)
    if pa.types.is_timestamp(arrow.type):
        if arrow.type.tz is not None:
            raise _fail(
                label, None, field, f"timestamps with a time zone ({arrow.type.tz}) are not dates"
            )
        ticks = arrow_numpy(arrow.cast(pa.int64()))
        per_day = _TICKS_PER_DAY[arrow.type.unit]
        off = np.mod(ticks, per_day) != 0
        if off.any():
            row = int(np.flatnonzero(off)[0])
            # numpy prints any instant (Python's datetime stops at the year 9999)
            stamp = np.datetime64(int(ticks[row]), arrow.type.unit)
            raise _fail(label, row, field, _time_message(str(stamp).replace("T", " ")))
        return _days_int32(np.floor_divide(ticks, per_day), field, label)
    if pa.types.is_date64(arrow.type):
        arrow = pc.cast(arrow, pa.date32())
    if not pa.types.is_date32(arrow.type):
        raise _fail(label, None, field, f"values of type {arrow.type} are not dates")
    # int32 day numbers, range-checked as they are (no int64 copy of the column)
    return _days_int32(arrow_numpy(arrow.cast(pa.int32())), field, label)


_TICKS_PER_DAY = {"s": 86_400, "ms": 86_400_000, "us": 86_400_000_000, "ns": 86_400_000_000_000}


def _time_message(value: str) -> str:
    return (
        f"{value!r} has a time of day; a date is a calendar day, so only midnight "
        "(or no time) is accepted"
    )


def _date_text(arrow: pa.Array, field: str, label: RowLabel) -> pa.Array:
    """ISO text to date32: ``YYYY-MM-DD``, optionally with a midnight time."""
    arrow = pc.utf8_trim(arrow, characters=_WS)  # " 2024-01-01" is a date, as "2024-01-01"
    shaped = arrow_numpy(pc.match_substring_regex(arrow, _DATE_TIME_TEXT))
    if not shaped.all():
        row = int(np.flatnonzero(~shaped)[0])
        raise _fail(
            label, row, field, f"{arrow[row].as_py()!r} is not a date in the form YYYY-MM-DD"
        )
    midnight = arrow_numpy(pc.match_substring_regex(arrow, _MIDNIGHT_TEXT))
    if not midnight.all():
        row = int(np.flatnonzero(~midnight)[0])
        raise _fail(label, row, field, _time_message(arrow[row].as_py()))
    text = pc.utf8_slice_codeunits(arrow, 0, 10)
    parsed = pc.strptime(text, format="%Y-%m-%d", unit="s", error_is_null=True)
    # strptime rolls impossible days over (2023-02-29 -> 1 March): a real
    # date prints back as the text it came from.
    again = pc.strftime(parsed, format="%Y-%m-%d")
    same = pc.equal(again, text)  # null where strptime gave up
    # False where null; not fill_null(False), whose scalar imports pandas (0.2 s)
    ok = arrow_numpy(pc.and_kleene(same, pc.is_valid(same)))
    if not ok.all():
        row = int(np.flatnonzero(~ok)[0])
        raise _fail(label, row, field, _no_such_day(arrow[row].as_py()))
    return pc.cast(parsed, pa.date32())


def _no_such_day(text: str) -> str:
    """The message for text shaped as a date that names no real day (2025-02-29)."""
    year, month, day = (int(part) for part in text[:10].split("-"))
    if not 1 <= month <= 12:
        return f"{text!r} is not a date: there is no month {month}"
    if year == 0:
        return f"{text!r} is not a date: there is no year 0"
    return f"{text!r} is not a date: {year}-{month:02d} has no day {day}"


def _days_int32(days: np.ndarray, field: str, label: RowLabel) -> np.ndarray:
    """Day numbers (any integer type) to int32, refusing dates outside the years 1 to 9999."""
    if days.size and (days.min() < _FIRST_DAY or days.max() > _LAST_DAY):
        bad = (days < _FIRST_DAY) | (days > _LAST_DAY)
        row = int(np.flatnonzero(bad)[0])
        raise _fail(label, row, field, "date outside the years 1 to 9999")
    return days.astype(np.int32)


def distinct_ids(ids: np.ndarray) -> np.ndarray:
    """Sorted distinct values: a sort and a comparison of neighbours (numpy 2.4's
    ``np.unique`` of int64 hashes them, 50x slower than a sort for a million ids)."""
    ordered = np.sort(ids)
    if ordered.size < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def sorted_with_rows(ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(ids sorted, the row of each)``, rows of equal ids in row order (what a
    stable argsort gives).

    When the ids' span leaves room for the row number beside each id, this is one
    sort of int64 keys ``(id - min) << bits | row``: numpy sorts int64 about 6x
    faster than it argsorts them (1.5M ids: 25 ms against 150 ms). Otherwise a
    stable argsort.
    """
    n = ids.shape[0]
    if n == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    low, high = int(ids.min()), int(ids.max())
    bits = max(n - 1, 1).bit_length()
    if (high - low) >> (62 - bits) == 0:  # the keys stay below 2**62
        keys = ids.astype(np.int64) - np.int64(low)
        keys <<= bits
        keys |= np.arange(n, dtype=np.int64)
        keys.sort()
        rows = keys & ((1 << bits) - 1)
        keys >>= bits
        keys += np.int64(low)
        return keys, rows
    rows = np.argsort(ids, kind="stable").astype(np.int64, copy=False)
    return ids[rows].astype(np.int64, copy=False), rows


def _check_unique(event_id: np.ndarray, label: RowLabel, field: str = "event_id") -> None:
    """An EventError naming the first row whose id an earlier row has (ids >= 0): one
    pass over the ids in C, in any order (``_core.first_repeat``), not a sort."""
    repeat = _core.first_repeat(np.ascontiguousarray(event_id, dtype=np.int64))
    if repeat >= 0:
        raise repeated_id_error(event_id, repeat, label, field)


def check_unique_sorted(
    ordered: np.ndarray, rows: np.ndarray, ids: np.ndarray, label: RowLabel, field: str
) -> None:
    """Raise an EventError naming the first row (in batch order) whose id repeats an
    earlier row's, given the ids sorted and their rows (:func:`sorted_with_rows`)."""
    dup = np.flatnonzero(ordered[1:] == ordered[:-1])
    if dup.size:
        second = min(int(rows[i + 1]) for i in dup)
        raise repeated_id_error(ids, second, label, field)


def _probably(value: str, weights: Weights) -> str:
    """What a spreadsheet-damaged code probably meant, for the error message ("" if nothing)."""
    readings = []
    for code in repair_candidates(value):
        try:
            weights.offence_index(code)
        except (KeyError, OffenceCodeError):
            continue
        readings.append(code)
    if len(readings) == 1:
        return (
            f"; probably {readings[0]}, a code a spreadsheet turned into a number: "
            "correct the file, or use --repair-codes"
        )
    if readings:
        return f"; it could be {' or '.join(readings)}, a code a spreadsheet turned into a number"
    return ""


def dataset_lookup(weights: Weights) -> Callable[[str], int | str]:
    """A dataset name's row in ``weights``, or the message refusing it."""

    def dataset_code(value: str) -> int | str:
        name = value.strip()
        if name in weights.datasets:
            return weights.dataset_index(name)
        return f"unknown dataset {value!r} (the weight table has {', '.join(weights.datasets)})"

    return dataset_code


def offence_lookup(weights: Weights) -> Callable[[str], int | str]:
    """An offence code's column in ``weights`` (any spelling), or the message refusing it."""

    def offence_code(value: str) -> int | str:
        try:
            return weights.offence_index(value)
        except OffenceCodeError as exc:
            return str(exc) + _probably(value, weights)
        except KeyError:
            return f"offence {normalize_offence(value)} is not in the weight table {weights.name!r}"

    return offence_code


def checked_columns(
    events: object, weights: Weights, label: RowLabel = row_label
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every check of :func:`encode_events` but the repeated ids, in its order:
    ``(event_id, nominal_id, dataset_codes, dataset_rows, offence_codes, offence_rows,
    day)``, the text columns as the code of each distinct value and each row's index
    into them."""
    columns, _ = _columns(events)
    event_id = _id_column(columns["event_id"], "event_id", label)
    nominal_id = _id_column(columns["nominal_id"], "nominal_id", label)
    dataset_codes, dataset_rows = _encode_text(
        columns["dataset"], "dataset", label, dataset_lookup(weights)
    )
    offence_codes, offence_rows = _encode_text(
        columns["offence"], "offence", label, offence_lookup(weights)
    )
    day = _day_column(columns["date"], "date", label)
    return event_id, nominal_id, dataset_codes, dataset_rows, offence_codes, offence_rows, day


def repeated_id_error(
    ids: np.ndarray, second: int, label: RowLabel, field: str = "event_id"
) -> EventError:
    """The error for row ``second``, whose id an earlier row has: names both rows."""
    first = int(np.flatnonzero(ids[:second] == ids[second])[0])
    return repeat_error(int(ids[second]), first, second, label, field)


def repeat_error(
    value: int, first: int, second: int, label: RowLabel, field: str = "event_id"
) -> EventError:
    """The error for row ``second``, whose id ``value`` row ``first`` has already."""
    return _fail(label, second, field, f"{field} {value} repeats {label(first)} within the batch")


def encode_events(events: object, weights: Weights, *, label: RowLabel = row_label) -> EncodedBatch:
    """Check and encode a batch against a weight table.

    Raises
    ------
    EventError
        Missing column, bad id, unknown dataset or offence, unparsable date or a
        repeated event_id; the message names the row (via ``label``) and field.
    """
    columns = checked_columns(events, weights, label)
    event_id, nominal_id, dataset_codes, dataset_rows, offence_codes, offence_rows, day = columns
    _check_unique(event_id, label)
    # kind = dataset_index * n_offences + offence_index, composed per distinct value
    base = (dataset_codes * len(weights.offences)).astype(np.uint16)
    offset = offence_codes.astype(np.uint16)
    kind = _core.compose_kinds(
        np.asarray(dataset_rows, dtype=np.int32),
        base,
        np.asarray(offence_rows, dtype=np.int32),
        offset,
        np.empty(len(event_id), dtype=np.uint16),
    )
    return EncodedBatch(event_id, nominal_id, kind, day, weights.layout)
