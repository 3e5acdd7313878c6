"""Weight tables: integer points for each (dataset, offence), with a content hash.

A table is read from a CSV file (rule 2 of the README)::

    # name: iomscore-default-2026.11
    # effective: 2026-11-26
    offence,description,arrest,disposal,intelligence,warrant,dip
    028/01,Burglary in a dwelling,120,150,30,40,20

Leading ``#`` lines carry ``key: value`` metadata; ``description`` is optional
and ignored by scoring. Every loaded table carries the SHA-256 of its
*canonical content* (datasets in file order, offences sorted, points), so two
files that score identically hash identically whatever their comments,
descriptions, row order or code spelling.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from .codes import normalize_offence
from .errors import FileAccessError, OffenceCodeError, WeightFileError

__all__ = ["MAX_KINDS", "WeightFileError", "Weights", "read_metadata", "shipped_file"]

# Kinds (dataset x offence) are stored in 16 bits per buffered event (csrc/iom_store.h).
MAX_KINDS = 65_535


class Weights:
    """Integer points for every (dataset, offence) pair.

    Parameters
    ----------
    datasets : sequence of str
        Dataset names in column order (``arrest``, ``intelligence``, ...).
    offences : sequence of str
        Home Office offence codes in any accepted spelling; stored canonical
        (``CCC/SS``) and sorted.
    points : array_like of int, shape (n_datasets, n_offences)
        Points for each dataset and offence, 0 to ``MAX_POINTS``.
    name : str
        A human name for the table, reported with every result.
    metadata : mapping of str to str, optional
        Free-form ``key: value`` facts (effective date, source, ...).
    descriptions : mapping of str to str, optional
        Offence descriptions by code, kept for files written by :meth:`save`.
    """

    MAX_POINTS = 100_000

    def __init__(
        self,
        datasets: Sequence[str],
        offences: Sequence[str],
        points: object,
        *,
        name: str = "unnamed",
        metadata: Mapping[str, str] | None = None,
        descriptions: Mapping[str, str] | None = None,
    ) -> None:
        datasets = tuple(str(d) for d in datasets)
        if not datasets:
            raise WeightFileError("a weight table needs at least one dataset column")
        bad = [
            d
            for d in datasets
            if not d or d != d.strip() or "," in d or d in ("offence", "description")
        ]
        if bad:
            raise WeightFileError(f"invalid dataset name {bad[0]!r}")
        if len(set(datasets)) != len(datasets):
            raise WeightFileError(f"duplicate dataset column in {list(datasets)}")
        canonical = [normalize_offence(o) for o in offences]
        if len(set(canonical)) != len(canonical):
            seen: set[str] = set()
            dup = next(c for c in canonical if c in seen or seen.add(c))  # type: ignore[func-returns-value]
            raise WeightFileError(f"offence {dup} appears twice")
        raw = np.asarray(points)
        if raw.shape != (len(datasets), len(canonical)):
            raise WeightFileError(
                f"points has shape {raw.shape}, expected {(len(datasets), len(canonical))}"
            )
        if raw.size and not np.issubdtype(raw.dtype, np.integer):
            raise WeightFileError(f"points must be integers, got dtype {raw.dtype}")
        matrix = raw.astype(np.int64)
        if matrix.size and (matrix.min() < 0 or matrix.max() > self.MAX_POINTS):
            raise WeightFileError(f"points must lie in 0..{self.MAX_POINTS}")
        if len(datasets) * len(canonical) > MAX_KINDS:
            raise WeightFileError(
                f"{len(datasets)} datasets x {len(canonical)} offences exceeds {MAX_KINDS} kinds"
            )
        order = sorted(range(len(canonical)), key=canonical.__getitem__)
        self.name = str(name)
        self.datasets: tuple[str, ...] = datasets
        self.offences: tuple[str, ...] = tuple(canonical[i] for i in order)
        self.points: np.ndarray = np.ascontiguousarray(matrix[:, order])
        self.points.setflags(write=False)
        self.metadata: dict[str, str] = dict(metadata or {})
        self.descriptions: dict[str, str] = {
            normalize_offence(k): v for k, v in (descriptions or {}).items()
        }
        self._offence_index = {code: i for i, code in enumerate(self.offences)}
        self._dataset_index = {d: i for i, d in enumerate(datasets)}
        self.sha256 = hashlib.sha256(self._canonical_bytes()).hexdigest()
        # The kinds (matrix columns) depend only on the datasets and offences.
        self.layout = hashlib.sha256(
            ("\n".join(self.datasets) + "\n\n" + "\n".join(self.offences)).encode("utf-8")
        ).hexdigest()

    # -- lookups ---------------------------------------------------------------
    @property
    def n_kinds(self) -> int:
        """Number of (dataset, offence) pairs: the columns of the count matrix."""
        return len(self.datasets) * len(self.offences)

    def dataset_index(self, dataset: str) -> int:
        """Column index of ``dataset``; ``KeyError`` if the table has no such dataset."""
        return self._dataset_index[dataset]

    def offence_index(self, offence: str) -> int:
        """Row index of ``offence`` (any spelling); ``KeyError`` if not in the table."""
        # Most input is spelled canonically already: a dict hit skips the regex.
        index = self._offence_index.get(offence) if isinstance(offence, str) else None
        return index if index is not None else self._offence_index[normalize_offence(offence)]

    def kind_points(self) -> np.ndarray:
        """Points by kind, ``kind = dataset_index * n_offences + offence_index`` (int64)."""
        return self.points.reshape(-1)

    def get(self, dataset: str, offence: str) -> int:
        """Points of one (dataset, offence) pair."""
        return int(self.points[self.dataset_index(dataset), self.offence_index(offence)])

    def to_mapping(self) -> dict[tuple[str, str], int]:
        """The table as a plain dict ``{(dataset, offence): points}`` (for the reference)."""
        return {
            (d, o): int(self.points[i, j])
            for i, d in enumerate(self.datasets)
            for j, o in enumerate(self.offences)
        }

    def short_hash(self) -> str:
        """The first 12 hex digits of :attr:`sha256`."""
        return self.sha256[:12]

    def __repr__(self) -> str:
        return (
            f"Weights(name={self.name!r}, datasets={list(self.datasets)}, "
            f"offences={len(self.offences)}, sha256={self.short_hash()}...)"
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Weights) and self.sha256 == other.sha256

    def __hash__(self) -> int:
        return hash(self.sha256)

    # -- derived tables ----------------------------------------------------------
    def replace(
        self, changes: Mapping[tuple[str, str], int], *, name: str | None = None
    ) -> Weights:
        """A copy with some ``{(dataset, offence): points}`` entries changed."""
        points = self.points.copy()
        for (dataset, offence), value in changes.items():
            points[self.dataset_index(dataset), self.offence_index(offence)] = value
        return Weights(
            self.datasets,
            self.offences,
            points,
            name=self.name if name is None else name,
            metadata=self.metadata,
            descriptions=self.descriptions,
        )

    # -- files -------------------------------------------------------------------
    def _canonical_bytes(self) -> bytes:
        lines = ["offence," + ",".join(self.datasets)]
        columns = self.points.T.tolist()
        lines.extend(
            code + "," + ",".join(str(v) for v in row)
            for code, row in zip(self.offences, columns, strict=True)
        )
        return ("\n".join(lines) + "\n").encode("utf-8")

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the table as CSV: metadata lines, header, rows sorted by offence.

        Raises
        ------
        FileAccessError
            If the file cannot be written (the message names it).
        """
        text = self.to_csv_text()
        try:
            Path(path).write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            raise FileAccessError.from_os_error(exc, path, "weight file", writing=True) from None

    def to_csv_text(self) -> str:
        """The file :meth:`save` writes, as text."""
        buffer = io.StringIO()
        meta = {"name": self.name, **{k: v for k, v in self.metadata.items() if k != "name"}}
        for key, value in meta.items():
            buffer.write(f"# {key}: {value}\n")
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["offence", "description", *self.datasets])
        for j, code in enumerate(self.offences):
            writer.writerow([code, self.descriptions.get(code, ""), *self.points[:, j].tolist()])
        return buffer.getvalue()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Weights:
        """Read a weight table file; ``WeightFileError`` names the line and field of any fault."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8-sig")  # a spreadsheet's byte order mark
        except FileNotFoundError:
            raise WeightFileError(f"{path}: no such weight file") from None
        except UnicodeDecodeError as exc:
            raise WeightFileError(f"{path}: not UTF-8 text ({exc.reason})") from None
        except OSError as exc:  # a directory, no permission, ...
            raise FileAccessError.from_os_error(exc, path, "weight file") from None
        return cls.from_text(text, source=str(path))

    @classmethod
    def default(cls) -> Weights:
        """The shipped default table (``weights/default.csv``, see ``weights/README.md``)."""
        return cls.from_text(
            shipped_file("default.csv").read_text(encoding="utf-8"), source="<default>"
        )

    @classmethod
    def from_text(cls, text: str, *, source: str = "<text>") -> Weights:
        """Parse the CSV weight-file format from a string (see the module docstring)."""
        lines = text.splitlines()
        metadata, first = read_metadata(lines)
        if first == len(lines):
            raise WeightFileError(f"{source}: no header line (expected 'offence,<datasets...>')")
        rows = csv.reader(lines[first:])
        header = [h.strip() for h in next(rows)]
        where = f"{source}: line {first + 1}"
        if not header or header[0] != "offence":
            raise WeightFileError(
                f"{where}: the header must start with 'offence', got {header[:1]}"
            )
        has_description = len(header) > 1 and header[1] == "description"
        datasets = header[2 if has_description else 1 :]
        if not datasets:
            raise WeightFileError(f"{where}: the header names no dataset columns")
        for name in datasets:
            if not name or name in ("offence", "description"):
                raise WeightFileError(f"{where}: invalid dataset column {name!r}")
        if len(set(datasets)) != len(datasets):
            raise WeightFileError(f"{where}: duplicate dataset column in {datasets}")
        offences: list[str] = []
        descriptions: dict[str, str] = {}
        columns: list[list[int]] = []
        first_line: dict[str, int] = {}
        for offset, row in enumerate(rows, start=first + 2):
            where = f"{source}: line {offset}"
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise WeightFileError(f"{where}: {len(row)} fields, the header has {len(header)}")
            try:
                code = normalize_offence(row[0])
            except OffenceCodeError as exc:
                raise WeightFileError(f"{where}, field 'offence': {exc}") from None
            if code in first_line:
                raise WeightFileError(
                    f"{where}, field 'offence': {code} already given on line {first_line[code]}"
                )
            first_line[code] = offset
            values = row[2 if has_description else 1 :]
            columns.append(
                [
                    _parse_points(v, f"{where}, field {d!r}")
                    for v, d in zip(values, datasets, strict=True)
                ]
            )
            offences.append(code)
            if has_description:
                descriptions[code] = row[1]
        if not offences:
            raise WeightFileError(f"{source}: the table has no offence rows")
        points = np.array(columns, dtype=np.int64).T
        return cls(
            datasets,
            offences,
            points,
            name=metadata.get("name", Path(source).stem),
            metadata=metadata,
            descriptions=descriptions,
        )


def read_metadata(lines: list[str]) -> tuple[dict[str, str], int]:
    """The ``# key: value`` lines (and blank ones) that open a shipped table's file:
    the metadata (the first value of a key is kept) and the index of the first
    other line (the header)."""
    metadata: dict[str, str] = {}
    first = 0
    while first < len(lines) and (lines[first].startswith("#") or not lines[first].strip()):
        comment = lines[first].lstrip("#").strip()
        if ":" in comment:
            key, _, value = comment.partition(":")
            metadata.setdefault(key.strip(), value.strip())
        first += 1
    return metadata, first


def shipped_file(name: str) -> Path:
    """A file of the project's ``weights/`` folder, installed as ``iomscore._weights``.

    In a source checkout that is not installed (``PYTHONPATH=src``) the folder
    itself is used.
    """
    try:
        return Path(str(resources.files("iomscore._weights") / name))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "weights" / name


def _parse_points(text: str, where: str) -> int:
    stripped = text.strip()
    if not stripped.isdigit() or not stripped.isascii():
        if stripped.startswith("-") and stripped[1:].isdigit():
            raise WeightFileError(f"{where}: points {text!r} are negative")
        raise WeightFileError(f"{where}: points {text!r} are not a whole number")
    value = int(stripped)
    if value > Weights.MAX_POINTS:
        raise WeightFileError(f"{where}: points {value} exceed the cap of {Weights.MAX_POINTS}")
    return value
