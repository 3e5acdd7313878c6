"""Reading events files: CSV and Parquet, columnar (pyarrow), never a Python loop per row.

CSV columns are read as text and checked by :mod:`iomscore.batch`, so that
``02801`` stays an offence code rather than becoming the number 2801, and a
bad value is reported with its line number.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from .batch import COLUMNS, RowLabel
from .errors import EventError, FileAccessError

__all__ = ["csv_line_label", "parquet_row_label", "read_events"]


def csv_line_label(path: str | os.PathLike[str]) -> RowLabel:
    """Name rows of a CSV file by line: the header is line 1, the first row line 2."""
    name = Path(path).name
    return lambda row: f"{name} line {row + 2}"


def parquet_row_label(path: str | os.PathLike[str]) -> RowLabel:
    name = Path(path).name
    return lambda row: f"{name} row {row + 1}"


def read_events(path: str | os.PathLike[str]) -> tuple[pa.Table, RowLabel]:
    """Read an events file (``.parquet`` / ``.pq`` or CSV) and a row namer for its errors.

    Raises
    ------
    EventError
        The file is missing, is not UTF-8 CSV or Parquet, or lacks one of the columns.
    FileAccessError
        The file cannot be opened or read (a directory, no permission, ...).
    """
    path = Path(path)
    if not path.exists():
        raise EventError(f"{path}: no such events file")
    if path.suffix.lower() in (".parquet", ".pq"):
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path, columns=None, read_dictionary=["dataset", "offence"])
        except (pa.ArrowInvalid, OSError) as exc:
            raise EventError(f"{path}: not a readable Parquet file ({exc})") from None
        label = parquet_row_label(path)
    else:
        header = _csv_header(path)
        types = {name: pa.string() for name in header}
        try:
            table = pacsv.read_csv(
                path,
                convert_options=pacsv.ConvertOptions(
                    column_types=types,
                    strings_can_be_null=False,
                    quoted_strings_can_be_null=False,
                    null_values=[],
                ),
            )
        except pa.ArrowInvalid as exc:
            raise EventError(f"{path}: malformed CSV ({exc})") from None
        except OSError as exc:
            raise FileAccessError.from_os_error(exc, path, "events file") from None
        label = csv_line_label(path)
    missing = [name for name in COLUMNS if name not in table.schema.names]
    if missing:
        raise EventError(
            f"{path}: missing column {missing[0]!r} (the header must name {','.join(COLUMNS)})",
            field=missing[0],
        )
    return table.select(list(COLUMNS)), label


def _csv_header(path: Path) -> list[str]:
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as handle:
            first = handle.readline()
    except UnicodeDecodeError as exc:
        raise EventError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise FileAccessError.from_os_error(exc, path, "events file") from None
    return [name.strip().strip('"') for name in first.rstrip("\r\n").split(",")]
