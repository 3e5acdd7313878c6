"""``--repair-codes``: offence codes a spreadsheet turned into numbers, put back.

A code such as ``02801`` opened in a spreadsheet becomes the number 2801, or
``28.01``, or ``28.1``. Rule 1 refuses these spellings; with ``--repair-codes``
each such value is read as the one code of the weight table it can stand for,
and every repair is reported with its count. A value that could stand for two
codes of the table is refused, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ._lazy import LazyModule
from .batch import RowLabel
from .codes import normalize_offence, repair_candidates
from .errors import EventError, OffenceCodeError
from .weights import Weights

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.compute as pc
else:  # imported on first use (see _lazy)
    pa = LazyModule("pyarrow")
    pc = LazyModule("pyarrow.compute")

__all__ = ["Repair", "known_readings", "repair_offences"]


@dataclass(frozen=True)
class Repair:
    """One repaired spelling: the text in the file, the code read, and its rows (count)."""

    text: str
    code: str
    rows: int

    def __str__(self) -> str:
        return f"{self.text!r} -> {self.code} ({self.rows:,} rows)"


def known_readings(text: str, weights: Weights) -> tuple[str, ...]:
    """The readings of a damaged code (:func:`~iomscore.codes.repair_candidates`) in the table."""
    found = []
    for code in repair_candidates(text):
        try:
            weights.offence_index(code)
        except (KeyError, OffenceCodeError):
            continue
        found.append(code)
    return tuple(found)


def repair_offences(
    table: pa.Table, weights: Weights, label: RowLabel
) -> tuple[pa.Table, list[Repair]]:
    """Replace damaged offence codes by the code of ``weights`` each stands for.

    Parameters
    ----------
    table : pyarrow.Table
        Events, with an ``offence`` column of text (plain or dictionary-encoded).
    weights : Weights
        The table whose codes the repairs may take.
    label : callable
        Names a row in error messages.

    Returns
    -------
    (pyarrow.Table, list of Repair)
        The table with repaired codes (canonical ``CCC/SS``), and each repair
        with its row count, in order of first appearance.

    Raises
    ------
    EventError
        A value that could stand for two codes of the table; names the row and field.
    """
    column = table.column("offence")
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        if not pa.types.is_dictionary(column.type):
            return table, []  # not text: the batch check reports it
        column = column.cast(column.type.value_type)
    encoded = column.combine_chunks().dictionary_encode()
    values = encoded.dictionary.to_pylist()
    mapped = list(values)
    changed: dict[int, str] = {}
    for i, value in enumerate(values):
        if value is None:
            continue
        try:
            normalize_offence(value)
            continue  # an accepted spelling: left alone
        except OffenceCodeError:
            pass
        readings = known_readings(value, weights)
        if not readings:
            continue  # not a damaged code of this table: the batch check reports it
        if len(readings) > 1:
            row = int(np.flatnonzero(np.asarray(pc.equal(encoded.indices, i)))[0])
            raise EventError(
                f"{label(row)}, field 'offence': {value!r} could be {' or '.join(readings)} "
                "(both in the weight table); --repair-codes does not guess: correct the file",
                row=row,
                field="offence",
            )
        mapped[i] = readings[0]
        changed[i] = readings[0]
    if not changed:
        return table, []
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    counts = np.bincount(indices[indices >= 0], minlength=len(values))
    first = {i: int(np.argmax(indices == i)) for i in changed}
    repairs = [
        Repair(values[i], code, int(counts[i]))
        for i, code in sorted(changed.items(), key=lambda kv: first[kv[0]])
    ]
    fixed = pa.DictionaryArray.from_arrays(encoded.indices, pa.array(mapped, pa.string()))
    position = table.schema.get_field_index("offence")
    return table.set_column(position, "offence", fixed), repairs
