"""Shared Hypothesis strategies and plain helpers for the iomscore tests.

The strategies aim at the places where a scoring engine goes wrong:

* dates cluster on the edges of the window (``as_of`` itself, the day before
  the anniversary, the anniversary, the day after) and on 28/29 February and
  1 March, for scoring dates that are themselves leap days or their neighbours;
* offence codes come in all three accepted spellings (``028/01``, ``28/1``,
  ``02801``), so the engine must normalise them;
* nominal ids come from a tiny space, so many events share a nominal, and
  weight tables have few kinds with points straddling the band thresholds,
  so small changes move bands.

Nothing here imports the engine's internals: the helpers build plain columns
from :class:`iomscore.reference.Event` values.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from iomscore import reference
from iomscore.assessments import KNOWN_RANGES, AssessmentTable
from iomscore.weights import Weights

# ----------------------------------------------------------------------------------- tables

DATASETS: tuple[str, ...] = ("arrest", "intelligence", "warrant")
# Canonical codes; each is spelled three ways by ``spellings``.
OFFENCES: tuple[str, ...] = ("008/06", "028/01", "046/00", "105/01")

# Points that sit on, just under and just over the default thresholds (250, 500, 1000)
# and their halves, so sums of a few events land on band edges often.
EDGE_POINTS: tuple[int, ...] = (
    0,
    1,
    49,
    50,
    83,
    124,
    125,
    166,
    249,
    250,
    251,
    333,
    499,
    500,
    501,
    999,
    1000,
)


def make_weights(points: Sequence[Sequence[int]] | np.ndarray, name: str = "test") -> Weights:
    """A table over :data:`DATASETS` x :data:`OFFENCES` (points[dataset][offence])."""
    return Weights(DATASETS, OFFENCES, np.asarray(points, dtype=np.int64), name=name)


SMALL_POINTS = (
    (250, 120, 40, 60),  # arrest
    (125, 30, 10, 20),  # intelligence
    (500, 80, 25, 45),  # warrant
)


def small_weights() -> Weights:
    """A fixed small table: points chosen so that a few events reach each band."""
    return make_weights(SMALL_POINTS, name="small")


def points_matrices() -> st.SearchStrategy[np.ndarray]:
    """Random point tables of the shape of :data:`DATASETS` x :data:`OFFENCES`."""
    cell = st.one_of(st.sampled_from(EDGE_POINTS), st.integers(0, 1_200))
    n = len(DATASETS) * len(OFFENCES)
    return st.lists(cell, min_size=n, max_size=n).map(
        lambda values: np.asarray(values, dtype=np.int64).reshape(len(DATASETS), len(OFFENCES))
    )


def weight_tables() -> st.SearchStrategy[Weights]:
    return points_matrices().map(make_weights)


@st.composite
def variants(
    draw, weights: Weights, *, min_changes: int = 1, max_changes: int | None = None
) -> Weights:
    """``weights`` with between ``min_changes`` and ``max_changes`` entries given new points."""
    keys = [(d, o) for d in weights.datasets for o in weights.offences]
    max_changes = len(keys) if max_changes is None else max_changes
    chosen = draw(
        st.lists(st.sampled_from(keys), min_size=min_changes, max_size=max_changes, unique=True)
    )
    changes = {}
    for key in chosen:
        old = weights.get(*key)
        new = draw(
            st.one_of(st.sampled_from(EDGE_POINTS), st.integers(0, 1_200)).filter(
                lambda v, old=old: v != old
            )
        )
        changes[key] = new
    return weights.replace(changes, name=f"{weights.name}+{len(changes)}")


thresholds_st = st.one_of(
    st.just(reference.DEFAULT_THRESHOLDS),
    st.lists(st.integers(1, 1_500), min_size=3, max_size=3, unique=True).map(
        lambda xs: tuple(sorted(xs))
    ),
)

# ------------------------------------------------------------------------------------ codes


def spellings(code: str) -> tuple[str, str, str]:
    """The three accepted spellings of a canonical ``CCC/SS`` code (derived by hand here)."""
    klass, sub = code.split("/")
    return code, f"{int(klass)}/{int(sub)}", klass + sub


def spelled(code: str) -> st.SearchStrategy[str]:
    return st.sampled_from(spellings(code))


# ------------------------------------------------------------------------------------ dates

#: Scoring dates: leap days, their neighbours, and ordinary days.
AS_OF_DATES: tuple[datetime.date, ...] = (
    datetime.date(2024, 2, 29),
    datetime.date(2024, 2, 28),
    datetime.date(2024, 3, 1),
    datetime.date(2025, 2, 28),
    datetime.date(2025, 3, 1),
    datetime.date(2026, 3, 1),
    datetime.date(2028, 2, 29),
    datetime.date(2026, 11, 26),
    datetime.date(2021, 1, 1),
    # Around the epoch of day numbers (the window holds negative day numbers), and
    # century years that are not leap years (1900, 2100: no 29 February).
    datetime.date(1970, 1, 1),
    datetime.date(1971, 3, 1),
    datetime.date(1902, 3, 1),
    datetime.date(2101, 2, 28),
)

as_of_dates = st.sampled_from(AS_OF_DATES)
window_years_st = st.sampled_from((1, 2, 3))


def _leapish(as_of: datetime.date, years: int) -> list[datetime.date]:
    """Days around the end of February in each year the window can touch."""
    days = []
    for year in range(as_of.year - years - 1, as_of.year + 1):
        for month, day in ((2, 27), (2, 28), (2, 29), (3, 1), (3, 2)):
            try:
                days.append(datetime.date(year, month, day))
            except ValueError:  # no 29 February that year
                continue
    return days


def event_dates(
    as_of: datetime.date, years: int, *, future: bool = False
) -> st.SearchStrategy[datetime.date]:
    """Dates concentrated on the window's edges, around 29 February, or anywhere near.

    Offsets are in days before ``as_of``: 0 and 1 (the top of the window), 365 *
    years + (-3 .. +3) (around the anniversary, which is excluded), or uniform
    over the window and a little beyond. With ``future``, a few days after
    ``as_of`` too.
    """
    edge = 365 * years
    offsets = st.one_of(
        st.sampled_from((0, 1, 2)),
        st.integers(edge - 3, edge + 3),
        st.integers(0, edge + 30),
    )
    near = offsets.map(lambda k: as_of - datetime.timedelta(days=k))
    leap = st.sampled_from([d for d in _leapish(as_of, years) if d <= as_of])
    choices = [near, near, leap]
    if future:
        choices.append(st.integers(1, 3).map(lambda k: as_of + datetime.timedelta(days=k)))
    return st.one_of(*choices)


# ------------------------------------------------------------------------------------ events


@dataclass(frozen=True)
class Row:
    """One input row: the canonical event (for the reference) and how the batch spells it."""

    event: reference.Event
    offence_text: str


@st.composite
def rows(
    draw,
    as_of: datetime.date,
    years: int,
    weights: Weights,
    *,
    min_size: int = 1,
    max_size: int = 30,
    future: bool = False,
    nominal_space: int = 6,
    first_id: int = 0,
) -> list[Row]:
    """A batch of rows with unique event ids and colliding nominal ids.

    At least one row by default: an empty batch is tested on its own
    (``test_an_empty_batch_is_taken_as_no_events``).
    """
    n = draw(st.integers(min_size, max_size))
    # Event ids near 0, or near the top of int64 (the id index hashes every bit).
    base = first_id + draw(st.sampled_from((0, 0, 0, 2**63 - 1_000_000)))
    ids = draw(
        st.lists(st.integers(base, base + 4 * max_size + 10), min_size=n, max_size=n, unique=True)
    )
    big = draw(st.sampled_from((0, 0, 2**40, 2**62)))  # occasionally very large nominal ids
    out = []
    for event_id in ids:
        nominal = big + draw(st.integers(0, nominal_space - 1))
        dataset = draw(st.sampled_from(weights.datasets))
        offence = draw(st.sampled_from(weights.offences))
        date = draw(event_dates(as_of, years, future=future))
        out.append(
            Row(reference.Event(event_id, nominal, dataset, offence, date), draw(spelled(offence)))
        )
    return out


def events_of(batch: Iterable[Row]) -> list[reference.Event]:
    return [row.event for row in batch]


def columns(batch: Sequence[Row]) -> dict[str, list]:
    """The batch as a mapping of plain Python lists (dates as ISO text)."""
    return {
        "event_id": [r.event.event_id for r in batch],
        "nominal_id": [r.event.nominal_id for r in batch],
        "dataset": [r.event.dataset for r in batch],
        "offence": [r.offence_text for r in batch],
        "date": [r.event.date.isoformat() for r in batch],
    }


def event_columns(events: Sequence[reference.Event]) -> dict[str, list]:
    """Columns for canonical events (offence spelled ``CCC/SS``)."""
    return columns([Row(e, e.offence) for e in events])


def random_columns(
    rng: np.random.Generator,
    event_ids: np.ndarray,
    nominal_ids: np.ndarray,
    as_of: datetime.date,
    max_age_days: int,
    weights: Weights,
    *,
    all_offences: bool = False,
) -> dict[str, np.ndarray]:
    """Numpy columns of synthetic events with the given ids: each row gets a
    random dataset, one of the table's first four offences (or, with
    ``all_offences``, any of its offences, for wide tables) and a date up to
    ``max_age_days - 1`` days before ``as_of``, drawn from ``rng`` in that order."""
    n = event_ids.size
    n_offences = len(weights.offences) if all_offences else 4
    return {
        "event_id": event_ids.astype(np.int64),
        "nominal_id": nominal_ids.astype(np.int64),
        "dataset": np.array(weights.datasets)[rng.integers(0, len(weights.datasets), size=n)],
        "offence": np.array(weights.offences)[rng.integers(0, n_offences, size=n)],
        "date": np.datetime64(as_of, "D") - rng.integers(0, max_age_days, size=n),
    }


def column_events(columns: dict[str, np.ndarray], rows: Iterable[int]) -> list[reference.Event]:
    """The given rows of numpy columns (datetime64[D] dates) as reference events."""
    return [
        reference.Event(
            int(columns["event_id"][k]),
            int(columns["nominal_id"][k]),
            str(columns["dataset"][k]),
            str(columns["offence"][k]),
            columns["date"][k].astype(datetime.date),
        )
        for k in rows
    ]


def numpy_columns(batch: Sequence[Row]) -> dict[str, np.ndarray]:
    """The batch as numpy arrays: int64 ids, unicode text, datetime64[D] dates."""
    return {
        "event_id": np.array([r.event.event_id for r in batch], dtype=np.int64),
        "nominal_id": np.array([r.event.nominal_id for r in batch], dtype=np.int64),
        "dataset": np.array([r.event.dataset for r in batch], dtype=str),
        "offence": np.array([r.offence_text for r in batch], dtype=str),
        "date": np.array([r.event.date.isoformat() for r in batch], dtype="datetime64[D]"),
    }


def arrow_table(batch: Sequence[Row]):
    """The batch as a pyarrow Table: date32 dates and a dictionary-encoded dataset."""
    import pyarrow as pa

    return pa.table(
        {
            "event_id": pa.array([r.event.event_id for r in batch], pa.int64()),
            "nominal_id": pa.array([r.event.nominal_id for r in batch], pa.int64()),
            "dataset": pa.array([r.event.dataset for r in batch], pa.string()).dictionary_encode(),
            "offence": pa.array([r.offence_text for r in batch], pa.string()),
            "date": pa.array([r.event.date for r in batch], pa.date32()),
        }
    )


def arrow_chunks(batch: Sequence[Row]):
    """The batch as a pyarrow Table of two chunks, each with its own dictionaries."""
    import pyarrow as pa

    def part(rows: Sequence[Row]):
        table = arrow_table(rows)
        return table.set_column(3, "offence", table.column("offence").dictionary_encode())

    half = len(batch) // 2
    return pa.concat_tables([part(batch[:half]), part(batch[half:])])


def arrow_text_chunks(batch: Sequence[Row]):
    """The batch as a pyarrow Table of plain text columns (the dataset ``string``,
    the offence ``large_string``) in three chunks of uneven size, each a slice of one
    table (so its rows start past its buffers' start), as a Parquet file's row
    groups come."""
    import pyarrow as pa

    table = pa.table(
        {
            "event_id": pa.array([r.event.event_id for r in batch], pa.int64()),
            "nominal_id": pa.array([r.event.nominal_id for r in batch], pa.int64()),
            "dataset": pa.array([r.event.dataset for r in batch], pa.string()),
            "offence": pa.array([r.offence_text for r in batch], pa.large_string()),
            "date": pa.array([r.event.date for r in batch], pa.date32()),
        }
    )
    first, second = len(batch) // 3, 2 * len(batch) // 3
    return pa.concat_tables(
        [table.slice(0, first), table.slice(first, second - first), table.slice(second)]
    )


def pandas_frame(batch: Sequence[Row]):
    """The batch as a pandas DataFrame: categorical dataset, datetime64 dates."""
    import pandas as pd

    return pd.DataFrame(
        {
            "event_id": pd.Series([r.event.event_id for r in batch], dtype="int64"),
            "nominal_id": pd.Series([r.event.nominal_id for r in batch], dtype="int64"),
            "dataset": pd.Categorical([r.event.dataset for r in batch]),
            "offence": pd.Series([r.offence_text for r in batch], dtype=object),
            "date": pd.to_datetime(
                pd.Series([r.event.date.isoformat() for r in batch], dtype=object)
            ),
        }
    )


INPUT_FORMS = {
    "lists": columns,
    "numpy": numpy_columns,
    "arrow": arrow_table,
    "arrow_chunks": arrow_chunks,
    "arrow_text_chunks": arrow_text_chunks,
    "pandas": pandas_frame,
}


# ------------------------------------------------------------------------------- reference


def reference_rows(
    events: Iterable[reference.Event],
    weights: Weights,
    as_of: datetime.date,
    years: int = 2,
    thresholds: tuple[int, int, int] = reference.DEFAULT_THRESHOLDS,
) -> list[tuple[int, int, str]]:
    """Rule 6's rows straight from the reference."""
    return reference.result(reference.score(events, weights.to_mapping(), as_of, years), thresholds)


def assert_holds_exactly(engine, held: dict, probes: set[int], weights: Weights) -> None:
    """The engine holds exactly ``held`` (event_id -> reference event): those ids are
    found, each at a slot holding it, no id of ``probes`` besides; it counts them; its
    scores are the reference's over them."""
    candidates = np.array(sorted(probes | set(held)), dtype=np.int64)
    found = engine._store.find_events(candidates)
    assert {int(i) for i in candidates[found >= 0]} == set(held)
    slots = engine._store.event_ids()
    pairs = zip(candidates.tolist(), found.tolist(), strict=True)
    assert all(slots[f] == i for i, f in pairs if f >= 0)
    assert len(engine) == len(held)
    assert engine.scores().rows() == reference_rows(held.values(), weights, engine.as_of)


def reference_scores(
    events: Iterable[reference.Event], weights: Weights, as_of: datetime.date, years: int = 2
) -> dict[int, int]:
    return reference.score(events, weights.to_mapping(), as_of, years)


def matrix_as_dict(matrix, weights: Weights) -> dict[int, dict[tuple[str, str], int]]:
    """A CSR CountMatrix as ``reference.counts``'s nested dicts (empty rows dropped).

    Column ``k`` is ``dataset_index * n_offences + offence_index``.
    """
    n_off = len(weights.offences)
    out: dict[int, dict[tuple[str, str], int]] = {}
    for r, nominal in enumerate(matrix.nominal_id.tolist()):
        lo, hi = int(matrix.indptr[r]), int(matrix.indptr[r + 1])
        if lo == hi:
            continue
        row = out.setdefault(nominal, {})
        for k, c in zip(matrix.indices[lo:hi].tolist(), matrix.data[lo:hi].tolist(), strict=True):
            key = (weights.datasets[k // n_off], weights.offences[k % n_off])
            assert key not in row, f"kind {k} appears twice in the row of nominal {nominal}"
            row[key] = c
    return out


# ------------------------------------------------------------------------------- assessments
ASSESSMENT_EDGE_POINTS = (0, 1, 249, 250, 499, 500, 999, 1000, 100_000)


@st.composite
def assessment_tables(draw, name: str = "drawn") -> AssessmentTable:
    """An assessment table with the tools ``asset`` (0-64) and ``oasys`` (0-99): each
    tool's range cut at 0-5 drawn points, with points often on the band edges."""
    rows = []
    for tool, (low, high) in KNOWN_RANGES.items():
        cuts = sorted(draw(st.sets(st.integers(low + 1, high), max_size=5), label=f"{tool} cuts"))
        starts = [low, *cuts]
        ends = [c - 1 for c in cuts] + [high]
        for start, end in zip(starts, ends, strict=True):
            points = draw(
                st.one_of(st.sampled_from(ASSESSMENT_EDGE_POINTS), st.integers(0, 600)),
                label=f"{tool} points",
            )
            rows.append((tool, start, end, points))
    return AssessmentTable(rows, name=name)


def assessment_columns(items: Sequence[reference.Assessment]) -> dict[str, list]:
    """Assessments as a mapping of plain Python lists (dates as ISO text)."""
    return {
        "assessment_id": [a.assessment_id for a in items],
        "nominal_id": [a.nominal_id for a in items],
        "tool": [a.tool for a in items],
        "score": [a.score for a in items],
        "date": [a.date.isoformat() for a in items],
    }


def old_snapshot(state, version: int) -> bytes:
    """The bytes of a snapshot of ``state`` as an earlier iomscore wrote it: format 1
    (before assessments: no 'assessed' section) or 2 (sections and arrays not
    padded to 16 bytes)."""
    import hashlib
    import json
    import struct

    from iomscore import durable

    sections = [
        ("meta", json.dumps(state.meta, sort_keys=True).encode("utf-8")),
        ("nominals", durable._arrays_bytes([state.nominals], ["<i8"])),
        ("live", durable._arrays_bytes(state.live, durable._EVENT_DTYPES)),
        ("archived", durable._arrays_bytes(state.archived, durable._EVENT_DTYPES)),
    ]
    if version >= 2:
        assessed = durable._arrays_bytes(state.assessments, durable._ASSESSMENT_DTYPES)
        sections.append(("assessed", assessed))
    parts = [struct.pack("<8sII", b"IOMSNAP\0", version, len(sections))]
    for name, payload in sections:
        digest = hashlib.sha256(payload).digest()
        parts += [struct.pack("<8sQ32s", name.encode("ascii"), len(payload), digest), payload]
    return b"".join(parts)
