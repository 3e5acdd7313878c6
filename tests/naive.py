"""Plain twins of the compiled kernels: one obvious loop per kernel, same signature.

The pattern of stumpy's ``tests/naive.py``: each function here does what one
compiled kernel does, in the plainest way (Python ints, lists and dicts; numpy
only for the arrays in and out), and ``tests/test_kernels.py`` compares the two
on random input, values and dtypes. Nothing here is fast, and nothing here
imports the code it checks (``iomscore._kernels``, ``iomscore._core``): a twin
that called the kernel would agree with it whatever it did.

=====================  =======================================================
twin                   kernel
=====================  =======================================================
:func:`build_csr`      ``iomscore._kernels.build_csr`` (the count matrix)
:func:`build_csc`      ``iomscore._kernels.build_csc`` (the same, by column)
:func:`csr_matvec`     ``iomscore._core.csr_matvec`` (full rescore)
:func:`add_columns`    ``iomscore._core.EventStore.add_columns`` (partial rescore)
:func:`compose_kinds`  ``iomscore._core.compose_kinds`` (kind of each row)
:func:`plan`           ``iomscore._core.EventStore.plan`` (ingest actions)
=====================  =======================================================

Two twins differ in form from their kernels, because the kernel is a method
of the store and reads state from it: :func:`plan` takes the store's ``as_of``
and window start as arguments, and :func:`add_columns` takes the scores and
returns new ones instead of changing the store's.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "DEAD_KIND",
    "INSERT",
    "IOM_CONFLICT",
    "IOM_NEW",
    "IOM_SAME",
    "REPLACE",
    "RETRACT",
    "SKIP",
    "add_columns",
    "build_csc",
    "build_csr",
    "compose_kinds",
    "csr_matvec",
    "plan",
]

#: The kind of a store slot that holds no live event.
DEAD_KIND = 0xFFFF

#: Row statuses from ``EventStore.classify`` (csrc/iom_store.h).
IOM_NEW, IOM_SAME, IOM_CONFLICT = 0, 1, 2
#: Ingest actions from ``EventStore.plan``, taken by ``EventStore.apply``.
SKIP, INSERT, RETRACT, REPLACE = 0, 1, 2, 3


def build_csr(ev_nom, ev_kind, live, n_cols):
    """The count matrix: for each nominal, how many live events it has of each kind.

    Parameters
    ----------
    ev_nom : int32 array (n_slots)
        Nominal index (matrix row) of the event in each store slot.
    ev_kind : uint16 array (n_slots)
        Kind (matrix column) of the event in each slot; ``DEAD_KIND`` (65535)
        for a slot without a live event, whose ``ev_nom`` is then ignored.
    live : int32 array (n_rows)
        Live events per nominal. Only its length (the number of rows) is used
        here; the kernel also relies on each value being that row's number of
        live slots.
    n_cols : int
        Number of kinds: every live slot's kind is below it.

    Returns
    -------
    indptr : int64 array (n_rows + 1)
        Row ``r``'s entries are ``indices[indptr[r]:indptr[r + 1]]``.
    indices : uint16 array (nnz)
        Kinds, each at most once per row, ascending within each row.
    data : int32 array (nnz)
        Events of that kind in that row (at least 1).
    """
    rows = [{} for _ in range(len(live))]  # per row: kind -> count
    for slot in range(len(ev_kind)):
        kind = int(ev_kind[slot])
        if kind == DEAD_KIND:
            continue
        row = rows[int(ev_nom[slot])]
        row[kind] = row.get(kind, 0) + 1
    indptr, indices, data = [0], [], []
    for row in rows:
        for kind in sorted(row):
            indices.append(kind)
            data.append(row[kind])
        indptr.append(len(indices))
    return (
        np.array(indptr, dtype=np.int64),
        np.array(indices, dtype=np.uint16),
        np.array(data, dtype=np.int32),
    )


def build_csc(indptr, indices, data, n_cols):
    """The same count matrix stored by column.

    Parameters
    ----------
    indptr : int64 array (n_rows + 1)
    indices : uint16 array (nnz)
        Kind of each entry, below ``n_cols``.
    data : int32 or uint16 array (nnz)
        Count of each entry.
    n_cols : int
        Number of kinds.

    Returns
    -------
    col_ptr : int64 array (n_cols + 1)
        Column ``c``'s entries are ``rows[col_ptr[c]:col_ptr[c + 1]]``.
    rows : int32 array (nnz)
        Row of each entry, ascending within each column (rows are read in order).
    counts : int32 array (nnz)
        Count of each entry.
    """
    columns = [[] for _ in range(n_cols)]  # per column: (row, count) in row order
    for r in range(len(indptr) - 1):
        for i in range(int(indptr[r]), int(indptr[r + 1])):
            columns[int(indices[i])].append((r, int(data[i])))
    col_ptr, rows, counts = [0], [], []
    for column in columns:
        for r, count in column:
            rows.append(r)
            counts.append(count)
        col_ptr.append(len(rows))
    return (
        np.array(col_ptr, dtype=np.int64),
        np.array(rows, dtype=np.int32),
        np.array(counts, dtype=np.int32),
    )


def csr_matvec(indptr, kinds, counts, points):
    """Full rescore: each row's score is the sum of count x points over its entries.

    Parameters
    ----------
    indptr : int64 array (n_rows + 1)
    kinds : uint16 array (nnz)
        Kind (column) of each entry; an index into ``points``.
    counts : uint16 or int32 array (nnz)
        Events of that kind in that row.
    points : integer array (n_kinds)
        Points per kind, 0 to 2**31 - 1.

    Returns
    -------
    int64 array (n_rows)
        Scores, in points.
    """
    scores = []
    for r in range(len(indptr) - 1):
        total = 0
        for i in range(int(indptr[r]), int(indptr[r + 1])):
            total += int(counts[i]) * int(points[int(kinds[i])])
        scores.append(total)
    return np.array(scores, dtype=np.int64)


def add_columns(scores, changed, delta, col_ptr, rows, counts):
    """Partial rescore: scores after some kinds' points change by ``delta``.

    Parameters
    ----------
    scores : int64 array (n_rows)
        Score of each nominal (matrix row) before, in points.
    changed : int64 array (n_changed)
        Kinds whose points change.
    delta : int64 array (n_changed)
        Change of points of each changed kind (may be negative).
    col_ptr, rows, counts : int64, int32, int32 arrays
        The count matrix by column (see :func:`build_csc`).

    Returns
    -------
    int64 array (n_rows)
        A new array: ``scores`` plus ``delta[j] * count`` for every entry of
        every changed column ``changed[j]``. ``scores`` is left as it was.
    """
    new = [int(s) for s in scores]
    for j in range(len(changed)):
        c = int(changed[j])
        for i in range(int(col_ptr[c]), int(col_ptr[c + 1])):
            new[int(rows[i])] += int(delta[j]) * int(counts[i])
    return np.array(new, dtype=np.int64)


def compose_kinds(dataset_rows, dataset_base, offence_rows, offence_code, out):
    """The kind of each row from its two dictionary-encoded columns.

    ``out[i] = dataset_base[dataset_rows[i]] + offence_code[offence_rows[i]]``.

    Parameters
    ----------
    dataset_rows : int32 array (n)
        Each row's index into ``dataset_base`` (the distinct datasets).
    dataset_base : uint16 array (n_datasets)
        Each distinct dataset's first kind (``dataset_index * n_offences``).
    offence_rows : int32 array (n)
        Each row's index into ``offence_code`` (the distinct offence codes).
    offence_code : uint16 array (n_codes)
        Each distinct code's offence index. Every sum is below 2**16.
    out : uint16 array (n)
        Written in place.

    Returns
    -------
    out
        The array passed in.

    Raises
    ------
    ValueError
        ``"row i: ..."`` for the first row ``i`` (0-based) whose index lies
        outside its column's distinct values. The rows before it are written.
    """
    for i in range(len(out)):
        d, o = int(dataset_rows[i]), int(offence_rows[i])
        if not (0 <= d < len(dataset_base) and 0 <= o < len(offence_code)):
            raise ValueError(f"row {i}: an index outside its column's distinct values")
        out[i] = int(dataset_base[d]) + int(offence_code[o])
    return out


def plan(status, days, as_of, start):
    """The ingest action of each classified row, and the counts of the ingest report.

    Parameters
    ----------
    status : int8 array (n)
        ``IOM_NEW`` (id not held), ``IOM_SAME`` (held with this content) or
        ``IOM_CONFLICT`` (held with other content).
    days : int32 array (n)
        Each row's date, as a day number.
    as_of : int
        The store's scoring day (day number): the window's last day.
    start : int
        The store's window start (day number): the window holds the days
        after it, up to and including ``as_of``.

    Returns
    -------
    action : int8 array (n)
        ``INSERT`` a new row inside the window; ``REPLACE`` a conflicting row
        inside it, ``RETRACT`` one outside it (the held event is withdrawn);
        ``SKIP`` every other row.
    counts : dict
        ``first_after`` (the first row dated after ``as_of``, or -1),
        ``first_conflict`` (the first ``IOM_CONFLICT`` row, or -1), ``taken``
        (rows inserted or replacing), ``expired`` (rows dated on or before
        ``start``), ``duplicates`` (``IOM_SAME`` rows), ``conflicts``
        (``IOM_CONFLICT`` rows) and ``future`` (rows dated after ``as_of``).
    """
    actions = []
    first_after = first_conflict = -1
    taken = expired = duplicates = conflicts = future = 0
    for row in range(len(status)):
        state, day = int(status[row]), int(days[row])
        inside = start < day <= as_of
        if state == IOM_NEW:
            action = INSERT if inside else SKIP
        elif state == IOM_CONFLICT:
            action = REPLACE if inside else RETRACT
            conflicts += 1
            if first_conflict < 0:
                first_conflict = row
        else:  # IOM_SAME: the event is held as it is
            action = SKIP
            duplicates += 1
        actions.append(action)
        taken += action in (INSERT, REPLACE)
        expired += day <= start
        if day > as_of:
            future += 1
            if first_after < 0:
                first_after = row
    counts = {
        "first_after": first_after,
        "first_conflict": first_conflict,
        "taken": taken,
        "expired": expired,
        "duplicates": duplicates,
        "conflicts": conflicts,
        "future": future,
    }
    return np.array(actions, dtype=np.int8), counts
