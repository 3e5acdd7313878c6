"""Reading events files: CSV and Parquet, columnar (pyarrow), never a Python loop per row.

CSV columns are read as text and checked by :mod:`iomscore.batch`, so that
``02801`` stays an offence code rather than becoming the number 2801, and a
bad value is reported with its line number. A CSV file is decoded in one
step with the encoding given (UTF-8 by default; a UTF-8 byte order mark is
skipped), so a byte that does not decode is reported with its line and field
before any parsing. Only on a fault does the file get a slower second look
(Python's :mod:`csv`), to name the line at fault.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from ._lazy import LazyModule
from .batch import COLUMNS, RowLabel
from .errors import EventError, FileAccessError, OptionError

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.csv as pacsv
else:  # imported on first use (see _lazy)
    pa = LazyModule("pyarrow")
    pacsv = LazyModule("pyarrow.csv")

__all__ = [
    "check_encoding",
    "check_unchanged",
    "csv_line_label",
    "file_state",
    "parquet_row_label",
    "read_events",
]

_NEWLINE = re.compile(rb"\r\n|\r|\n")
_PARQUET_SUFFIXES = (".parquet", ".pq")


def file_state(path: str | os.PathLike[str]) -> tuple[int, ...] | None:
    """What says a file is still the one read: its device, inode, size in bytes and
    times of last change to its data and to its inode (ns); ``None`` when it cannot
    be looked at (the reader then reports why)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def check_unchanged(
    path: str | os.PathLike[str], before: tuple[int, ...] | None, what: str = "events file"
) -> None:
    """Raise a :class:`FileAccessError` if the file at ``path`` is no longer the one
    :func:`file_state` saw as ``before`` (written to, cut short or replaced while it
    was read): what was read may mix two versions of it, so nothing of it is used."""
    if before is None:
        return
    now = file_state(path)
    if now != before:
        size = "gone" if now is None else f"{now[2]:,} bytes"
        raise FileAccessError(
            f"{path}: the {what} changed while it was read ({before[2]:,} bytes, now "
            f"{size}); nothing was scored from it: score it again once it is written",
            path=path,
        )


def csv_line_label(path: str | os.PathLike[str]) -> RowLabel:
    """Name rows of a CSV file by line: the header is line 1, the first row line 2."""
    name = Path(path).name
    return lambda row: f"{name} line {row + 2}"


def parquet_row_label(path: str | os.PathLike[str]) -> RowLabel:
    """Name rows of a Parquet file: ``row 1`` is the first."""
    name = Path(path).name
    return lambda row: f"{name} row {row + 1}"


def check_encoding(encoding: str) -> str:
    """The canonical name of a text encoding; ``OptionError`` if Python does not know it.

    Parameters
    ----------
    encoding : str
        A codec name such as ``utf-8``, ``cp1252`` or ``latin-1``.

    Returns
    -------
    str
        Its canonical name (``cp1252``, ``utf-8``, ...).
    """
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise OptionError(
            f"--encoding: unknown encoding {encoding!r} (try utf-8, cp1252 or latin-1)"
        ) from None
    if not info._is_text_encoding:  # type: ignore[attr-defined]  # base64, rot13, ...
        raise OptionError(f"--encoding: {encoding!r} is not a text encoding")
    return info.name


def read_events(
    path: str | os.PathLike[str], *, encoding: str = "utf-8"
) -> tuple[pa.Table, RowLabel]:
    """Read an events file (``.parquet`` / ``.pq`` or CSV) and a row namer for its errors.

    Parameters
    ----------
    path : str or path-like
        The file. A name ending ``.parquet`` or ``.pq`` is read as Parquet, any other as CSV.
    encoding : str, default "utf-8"
        The text encoding of a CSV file (Parquet text is always UTF-8).

    Raises
    ------
    EventError
        The file is missing, does not decode in ``encoding``, is malformed CSV
        or not Parquet, or lacks one of the columns; the message names the file
        and, where there is one, the line and field.
    FileAccessError
        The file cannot be opened or read (a directory, no permission, ...).
    """
    path = Path(path)
    if not path.exists():
        raise EventError(f"{path}: no such events file")
    if path.suffix.lower() in _PARQUET_SUFFIXES:
        table = _read_parquet(path)
        label = parquet_row_label(path)
    else:
        table = _read_csv(path, check_encoding(encoding))
        label = csv_line_label(path)
    _check_names(path, table.schema.names)
    return table.select(list(COLUMNS)), label


def _check_names(path: Path, names: list[str]) -> None:
    """Each of the five columns named once, or an :class:`EventError` naming the
    first missing or repeated."""
    missing = [name for name in COLUMNS if name not in names]
    if missing:
        raise EventError(
            f"{path}: missing column {missing[0]!r} (the header must name {','.join(COLUMNS)})",
            field=missing[0],
        )
    repeated = [name for name in COLUMNS if names.count(name) > 1]
    if repeated:
        raise EventError(
            f"{path}: the column {repeated[0]!r} appears {names.count(repeated[0])} times",
            field=repeated[0],
        )


def _read_parquet(path: Path) -> pa.Table:
    import pyarrow.parquet as pq

    # Only the five columns are read (an export often has more), once the file's
    # schema names each of them once; a directory (a dataset) is read whole.
    columns = None
    if path.is_file():
        try:
            names = pq.read_schema(path).names
        except (pa.ArrowException, OSError, ValueError, IndexError) as exc:
            raise _unreadable(path, exc) from None
        _check_names(path, names)
        columns = list(COLUMNS)
    try:
        table = pq.read_table(path, columns=columns, read_dictionary=["dataset", "offence"])
        # A damaged file can hold names or text that are not UTF-8: the columns read are checked.
        used = [i for i, name in enumerate(table.schema.names) if name in COLUMNS]
        table.select(used).validate(full=True)
        return table
    except (pa.ArrowException, OSError, ValueError, IndexError) as exc:
        raise _unreadable(path, exc) from None


def _unreadable(path: Path, exc: Exception) -> EventError:
    """A damaged file can fail in the reader in several ways; all mean "not readable"."""
    reason = " ".join(str(exc).split())[:200]
    return EventError(f"{path}: not a readable Parquet file ({reason})")


def _read_csv(path: Path, encoding: str) -> pa.Table:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileAccessError.from_os_error(exc, path, "events file") from None
    codec = "utf-8-sig" if encoding == "utf-8" else encoding
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        raise _undecodable(path, data, exc, encoding) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    if reader.line_num > 1:
        raise EventError(
            f"{path} line 1: the header runs on past its line (a quote opened and not closed?)"
        )
    names = [name.strip() for name in header]
    if not any(names):
        raise EventError(f"{path}: empty file (the header must name {','.join(COLUMNS)})")
    if codec != "utf-8-sig":
        data = text.encode("utf-8")  # pyarrow reads UTF-8
    elif data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    types = {name: pa.string() for name in names}
    try:
        return pacsv.read_csv(
            pa.BufferReader(data),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                null_values=[],
            ),
        )
    except pa.ArrowInvalid as exc:
        body = text.rstrip("\r\n")
        if "\n" not in body and "\r" not in body:
            # a header and no rows (pyarrow cannot skip the header of a file without a newline)
            empty = [pa.array([], pa.string()) for _ in names]
            return pa.Table.from_arrays(empty, names=names)
        fault = _locate_csv_fault(text, names, exc)
        message = f"{path} {fault}" if fault.startswith("line") else f"{path}: {fault}"
        raise EventError(message) from None


def _undecodable(path: Path, data: bytes, exc: UnicodeDecodeError, encoding: str) -> EventError:
    """The error for a byte that does not decode: names the file, line and field."""
    start = data.rfind(b"\n", 0, exc.start)
    start = max(start, data.rfind(b"\r", 0, exc.start)) + 1
    line = len(_NEWLINE.findall(data, 0, start)) + 1
    prefix = data[start : exc.start].decode(encoding, errors="replace")
    column = next(csv.reader([prefix + "x"]), [""]).__len__() - 1
    where = f"line {line}"
    if line > 1:
        first = data.split(b"\n", 1)[0].split(b"\r", 1)[0].decode(encoding, errors="replace")
        header = next(csv.reader([first.lstrip("\ufeff")]), [])
        if 0 <= column < len(header):
            where += f", field {header[column].strip()!r}"
    byte = data[exc.start : exc.start + 1].hex()
    return EventError(
        f"{path} {where}: byte 0x{byte} is not {encoding.upper()} text "
        "(give the file's encoding with --encoding, e.g. --encoding cp1252)"
    )


def _locate_csv_fault(text: str, names: list[str], exc: pa.ArrowInvalid) -> str:
    """A message for a CSV that pyarrow refused, naming the line where Python's csv finds it."""
    reason = " ".join(str(exc).split())
    reason = reason.split(": ", 1)[-1] if reason.startswith("CSV parse error") else reason
    reader = csv.reader(io.StringIO(text, newline=""))
    width = len(names)
    line = 1
    try:
        for number, record in enumerate(reader):
            if number and len(record) != width and record:
                if len(record) < width:
                    lost = ", ".join(repr(name) for name in names[len(record) :])
                    what = f"field missing (no {lost})"
                else:
                    what = "field too many"
                return f"line {line}: {what}: {len(record)} fields where the header has {width}"
            line = reader.line_num + 1
    except csv.Error as error:
        return f"line {line}: malformed CSV ({error})"
    return f"malformed CSV ({reason[:200]})"
