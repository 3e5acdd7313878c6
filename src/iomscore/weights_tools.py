"""Reviewing weight tables: ``iomscore weights check`` and ``iomscore weights diff``."""

from __future__ import annotations

import os

from .errors import IomscoreError
from .weights import Weights

__all__ = ["check_weights", "diff_weights"]


def check_weights(
    path: str | os.PathLike[str], catalogue: frozenset[str] | None = None
) -> tuple[list[str], Weights | None]:
    """Every problem of a weight file, one message each (file, line, field), and the table.

    Format faults (duplicate codes, non-integer, negative or over-cap points,
    missing dataset columns) stop the read at the first one; codes absent from
    the offence catalogue are all listed.
    """
    try:
        weights = Weights.load(path)
    except IomscoreError as exc:  # WeightFileError, or FileAccessError for an unreadable file
        return [str(exc)], None
    if catalogue is None:
        from .derive import load_catalogue

        catalogue = frozenset(entry.offence for entry in load_catalogue())
    problems = []
    lines = _code_lines(path)
    for code in weights.offences:
        if code not in catalogue:
            problems.append(
                f"{path}: line {lines.get(code, '?')}, field 'offence': {code} is not in the "
                "Home Office offence catalogue (weights/offence_catalogue.csv)"
            )
    return problems, (None if problems else weights)


def _code_lines(path: str | os.PathLike[str]) -> dict[str, int]:
    from .codes import OffenceCodeError, normalize_offence

    lines: dict[str, int] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            first = line.split(",", 1)[0]
            try:
                lines.setdefault(normalize_offence(first), number)
            except OffenceCodeError:
                continue
    return lines


def diff_weights(a: Weights, b: Weights) -> list[tuple[str, str, int | None, int | None]]:
    """``(offence, dataset, points in a, points in b)`` for each entry that differs.

    An entry present in only one table has ``None`` for the other.
    """
    old = a.to_mapping()
    new = b.to_mapping()
    rows = []
    for key in sorted(set(old) | set(new), key=lambda k: (k[1], k[0])):
        if old.get(key) != new.get(key):
            rows.append((key[1], key[0], old.get(key), new.get(key)))
    return rows
