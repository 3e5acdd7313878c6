"""A seeded synthetic cohort of IOM events, for the demo, the tests and the benchmarks.

Synthetic only: there are no people, names or places here, only integer ids
drawn at random. Every array is produced by whole-array numpy operations (no
Python loop per event or per nominal), so a national-sized cohort costs no more
per event than a small one.

The shape of the data, briefly (see :func:`cohort` for the details):

* **Who.** Each nominal gets an event rate from a clipped lognormal; a small
  share of nominals holds most of the events (heavy tail). Every nominal has
  at least one event when ``n_events >= n_nominals``.
* **When.** Dates fall in the ``span_days`` days ending at ``as_of``, uniform
  apart from a mild summer peak; rows come in date order.
* **Where from.** The source dataset of each event follows
  :data:`DATASET_SHARES` (intelligence most common, warrants least).
* **What.** The offence follows :data:`OFFENCE_MIX`, a table of real Home
  Office codes whose group shares resemble police recorded crime in England
  and Wales; each nominal leans towards one offence group (a "style").

:func:`interventions` adds, for a share of a cohort's nominals, what is done with
them (treatment, support, tagging, ...), seeded separately, so a cohort's events
do not change when interventions are drawn. :func:`assessments` adds, the same
way, the OASys (adults) and ASSET (youths) assessments of a share of them.
:func:`ownership` gives every nominal an owning area (a few transferred once in
the last year), and :func:`decisions` a year of monthly ODOC meetings that select
banded nominals into the managed cohort and de-select some later.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from .calendar import window_start
from .cohort import DEFAULT_AREAS, DESELECT_REASONS
from .results import BAND_NAMES

if TYPE_CHECKING:  # pragma: no cover - typing only; pyarrow is imported when used
    import os

    import pyarrow as pa

__all__ = [
    "AREA_POPULATION",
    "DATASETS",
    "DATASET_SHARES",
    "INTERVENTION_MIX",
    "NOMINAL_ID_RANGE",
    "OFFENCES",
    "OFFENCE_GROUPS",
    "OFFENCE_MIX",
    "OFFENCE_SHARES",
    "Cohort",
    "assessments",
    "cohort",
    "decisions",
    "interventions",
    "meetings",
    "ownership",
]

# --------------------------------------------------------------------------------------------
# Datasets
# --------------------------------------------------------------------------------------------

#: The source datasets, in the order of :attr:`Cohort.dataset_index`.
DATASETS: tuple[str, ...] = ("arrest", "disposal", "intelligence", "warrant", "dip")

#: Share of events from each dataset, aligned with :data:`DATASETS`. Intelligence
#: logs are the most numerous, then arrests, then disposals (charges, cautions,
#: convictions), then DIP (Drug Interventions Programme) tests, then warrants.
#: An illustrative choice, not a published statistic.
DATASET_SHARES: tuple[float, ...] = (0.27, 0.19, 0.42, 0.05, 0.07)

# --------------------------------------------------------------------------------------------
# Offences
# --------------------------------------------------------------------------------------------

# The offence mix. Each row: (group, share of all events in percent, codes), each
# code being (Home Office code CCC/SS, relative weight inside the group, what it is).
# Every code is a real code of the Home Office catalogue
# (weights/sources/ho_offence_codes.csv, see weights/sources/PROVENANCE.md;
# tests/test_synth.py checks each one); the descriptions are shortened from the
# catalogue's.
#
# Group shares follow the rough proportions of police recorded crime in England and
# Wales (ONS, year ending March 2024: violence against the person about 35%, of
# which stalking and harassment about a third; theft about 25%; criminal damage and
# arson about 9%; public order about 8%; vehicle offences about 6%; drugs, burglary
# about 4% each; sexual offences about 3%; robbery, weapons about 1% each; other
# crimes against society, here with fraud, about 4%). Weights inside a group are
# illustrative orders of magnitude, leaning to the offences that police record most.
OFFENCE_MIX: tuple[tuple[str, float, tuple[tuple[str, float, str], ...]], ...] = (
    ("violence_with_injury", 10.0, (
        ("008/06", 58.0, "assault occasioning actual bodily harm"),
        ("008/01", 14.0, "wound or inflict GBH without intent (s.20)"),
        ("005/01", 6.0, "wounding with intent to do GBH (s.18)"),
        ("008/77", 12.0, "intentional strangulation"),
        ("008/47", 3.0, "racially or religiously aggravated ABH"),
        ("011/03", 6.0, "cruelty to or neglect of children"),
        ("002/00", 0.6, "attempted murder"),
        ("001/01", 0.4, "murder"),
    )),
    ("violence_without_injury", 13.0, (
        ("105/01", 60.0, "common assault and battery"),
        ("008/73", 14.0, "assault of an emergency worker"),
        ("104/23", 4.0, "assault on a constable"),
        ("003/01", 10.0, "making threats to kill"),
        ("008/57", 4.0, "racially or religiously aggravated common assault"),
        ("104/33", 6.0, "resist or obstruct constable"),
        ("036/03", 2.0, "false imprisonment"),
    )),
    ("stalking_harassment", 12.0, (
        ("195/41", 28.0, "malicious communications"),
        ("195/94", 26.0, "offence of harassment"),
        ("008/67", 12.0, "controlling or coercive behaviour"),
        ("008/30", 6.0, "putting people in fear of violence"),
        ("195/12", 6.0, "stalking (course of conduct)"),
        ("008/65", 5.0, "stalking involving fear of violence"),
        ("008/66", 4.0, "stalking involving serious alarm or distress"),
        ("008/72", 8.0, "sending a threatening communication"),
        ("008/50", 3.0, "racially or religiously aggravated harassment"),
        ("005/28", 2.0, "sending a communication threatening death or serious harm"),
    )),
    ("theft", 25.0, (
        ("046/00", 42.0, "shoplifting"),
        ("049/10", 28.0, "other theft (Theft Act 1968 s.1)"),
        ("039/00", 9.0, "theft from the person"),
        ("044/00", 7.0, "theft of a pedal cycle"),
        ("040/00", 6.0, "theft in a dwelling"),
        ("041/00", 3.0, "theft by an employee"),
        ("047/00", 1.5, "theft from automatic machines and meters"),
        ("043/00", 1.5, "abstracting electricity"),
        ("049/11", 1.0, "removal of articles on show to the public"),
        ("049/12", 1.0, "theft of a conveyance other than a motor vehicle or cycle"),
    )),
    ("vehicle", 6.0, (
        ("045/10", 45.0, "theft from a motor vehicle"),
        ("048/01", 25.0, "theft of a motor vehicle"),
        ("126/00", 12.0, "interference with a motor vehicle"),
        ("130/01", 10.0, "taking a motor vehicle without consent"),
        ("037/02", 5.0, "aggravated vehicle taking"),
        ("131/01", 3.0, "aggravated vehicle taking, damage of 5,000 pounds or less"),
    )),
    ("burglary", 4.0, (
        ("028/03", 38.0, "other burglary in a dwelling"),
        ("028/01", 8.0, "burglary in a dwelling, intent to commit an indictable offence"),
        ("028/02", 6.0, "burglary in a dwelling with violence or threat"),
        ("029/00", 1.5, "aggravated burglary in a dwelling"),
        ("030/02", 40.0, "burglary other than in a dwelling"),
        ("030/01", 5.0, "burglary other than in a dwelling, indictable intent"),
        ("031/00", 1.5, "aggravated burglary other than in a dwelling"),
    )),
    ("robbery", 1.0, (
        ("034/01", 90.0, "robbery"),
        ("034/02", 10.0, "assault with intent to rob"),
    )),
    ("criminal_damage", 9.0, (
        ("058/00", 70.0, "other criminal damage"),
        ("149/00", 8.0, "criminal damage of 5,000 pounds or less"),
        ("056/02", 8.0, "arson not endangering life"),
        ("056/01", 2.0, "arson endangering life"),
        ("059/11", 7.0, "threat to commit criminal damage"),
        ("059/13", 1.0, "possessing anything with intent to destroy or damage property"),
        ("058/04", 4.0, "racially or religiously aggravated criminal damage"),
    )),
    ("public_order", 8.0, (
        ("125/12", 34.0, "harassment, alarm or distress (s.5)"),
        ("125/09", 24.0, "intentional harassment, alarm or distress (s.4A)"),
        ("125/11", 20.0, "fear or provocation of violence (s.4)"),
        ("066/01", 8.0, "affray"),
        ("125/63", 6.0, "racially or religiously aggravated harassment, alarm or distress"),
        ("141/01", 6.0, "drunk and disorderly"),
        ("065/00", 2.0, "violent disorder"),
    )),
    ("drugs", 4.0, (
        ("092/61", 40.0, "possession of a Class B drug: cannabis"),
        ("092/50", 12.0, "possession of a Class A drug: cocaine"),
        ("092/51", 4.0, "possession of a Class A drug: heroin"),
        ("092/54", 4.0, "possession of a Class A drug: crack"),
        ("092/69", 4.0, "possession of a controlled drug, class unspecified"),
        ("093/72", 2.0, "possession of a Class C drug: ketamine"),
        ("092/70", 7.0, "possession with intent to supply: cocaine"),
        ("092/71", 3.0, "possession with intent to supply: heroin"),
        ("092/74", 3.0, "possession with intent to supply: crack"),
        ("092/81", 5.0, "possession with intent to supply: cannabis"),
        ("092/30", 6.0, "supplying a Class A drug: cocaine"),
        ("092/31", 3.0, "supplying a Class A drug: heroin"),
        ("092/21", 7.0, "production of a Class B drug: cannabis"),
    )),
    ("weapons", 1.0, (
        ("008/26", 45.0, "having a bladed article in a public place"),
        ("008/11", 22.0, "possession of an offensive weapon"),
        ("008/64", 8.0, "threatening with a blade in a public place"),
        ("008/61", 4.0, "threatening with an offensive weapon in a public place"),
        ("197/21", 4.0, "possessing an offensive weapon in a private place"),
        ("008/27", 2.0, "having a bladed article on school premises"),
        ("081/77", 6.0, "carrying a firearm or air weapon in a public place"),
        ("081/17", 5.0, "possessing prohibited weapons or ammunition"),
        ("081/03", 4.0, "possessing a firearm without a certificate"),
    )),
    ("sexual", 3.0, (
        ("020/05", 32.0, "sexual assault on a female"),
        ("019/08", 20.0, "rape of a female aged 16 or over"),
        ("019/12", 3.0, "attempted rape of a female aged 16 or over"),
        ("017/15", 5.0, "sexual assault on a male"),
        ("022/04", 4.0, "causing sexual activity without consent, no penetration"),
        ("088/09", 12.0, "exposure"),
        ("088/10", 4.0, "voyeurism"),
        ("088/15", 8.0, "sharing or threatening to share an intimate image"),
        ("086/10", 8.0, "possession of an indecent photograph of a child"),
        ("020/06", 4.0, "sexual assault on a female child under 13"),
    )),
    ("other", 4.0, (
        ("053/40", 16.0, "fraud by false representation"),
        ("053/25", 8.0, "making off without payment"),
        ("053/43", 3.0, "possession of articles for use in fraud"),
        ("054/01", 9.0, "receiving stolen goods"),
        ("033/00", 5.0, "going equipped for stealing"),
        ("035/00", 2.0, "blackmail"),
        ("008/31", 15.0, "breach of a restraining order"),
        ("066/39", 8.0, "breach of a non-molestation order"),
        ("999/07", 6.0, "breach of a criminal behaviour order"),
        ("083/01", 14.0, "absconding by a person released on bail"),
        ("080/00", 1.0, "absconding from lawful custody"),
        ("008/74", 3.0, "breach of a stalking order"),
        ("066/08", 2.0, "breach of a sexual harm prevention order"),
    )),
)  # fmt: skip


def _flatten_mix() -> tuple[tuple[str, ...], tuple[float, ...], tuple[str, ...], tuple[int, ...]]:
    codes: list[str] = []
    shares: list[float] = []
    group_of: list[int] = []
    total = sum(share for _, share, _ in OFFENCE_MIX)
    for g, (_, group_share, rows) in enumerate(OFFENCE_MIX):
        within = sum(weight for _, weight, _ in rows)
        for code, weight, _ in rows:
            codes.append(code)
            shares.append(group_share / total * weight / within)
            group_of.append(g)
    if len(set(codes)) != len(codes):
        raise AssertionError("OFFENCE_MIX lists a code twice")
    return tuple(codes), tuple(shares), tuple(name for name, _, _ in OFFENCE_MIX), tuple(group_of)


#: The offence codes of the mix, in the order of :attr:`Cohort.offence_index`.
OFFENCES: tuple[str, ...]
#: The share of events with each code (fractions summing to 1), aligned with :data:`OFFENCES`.
OFFENCE_SHARES: tuple[float, ...]
#: The group names of :data:`OFFENCE_MIX`, in table order.
OFFENCE_GROUPS: tuple[str, ...]
OFFENCES, OFFENCE_SHARES, OFFENCE_GROUPS, _GROUP_OF_OFFENCE = _flatten_mix()

# --------------------------------------------------------------------------------------------
# Generator settings
# --------------------------------------------------------------------------------------------

#: Nominal ids are drawn without repetition from ``[low, high)``: 7 to 9 digit ids.
NOMINAL_ID_RANGE: tuple[int, int] = (1_000_000, 1_000_000_000)

# Per-nominal event rates: exp(sigma * z), z standard normal clipped to +-_RATE_CLIP.
# At the default 8 events per nominal this gives a median of 3 events, a 90th
# percentile near 17, a 99th near 80 and a maximum of a couple of hundred; the top
# 10% of nominals hold about half of all events.
_RATE_SIGMA = 1.5
_RATE_CLIP = 3.0
# Seasonality: the daily rate is 1 + A cos(2 pi (day of year - peak) / 365.25).
_SEASON_AMPLITUDE = 0.08
_SEASON_PEAK_DAY = 196  # mid July
# Share of a nominal's events drawn from their own offence group (their "style");
# the rest follow the overall mix. Styles are drawn with the group shares, so the
# overall mix is unchanged in expectation.
_STYLE_SHARE = 0.5
# Sampling tables: categorical draws are lookups of a uniform integer of this many bits.
# An offence draw uses one 32-bit integer: the low 16 bits pick the code, the high 16
# bits decide between the nominal's style and the overall mix.
_LUT_BITS = 16
# Event ids ascend from a random start in [_EVENT_ID_BASE, 2 * _EVENT_ID_BASE) with gaps of
# 1 to 3 (the events of people outside the cohort).
_EVENT_ID_BASE = 1_000_000_000


def _lookup_table(shares: np.ndarray, dtype: type[np.signedinteger]) -> np.ndarray:
    """Category of each of the ``2**_LUT_BITS`` equally likely integers, given category shares."""
    size = 1 << _LUT_BITS
    bounds = np.rint(np.cumsum(shares) / shares.sum() * size).astype(np.int64)
    bounds[-1] = size
    table = np.searchsorted(bounds, np.arange(size), side="right").astype(dtype)
    if np.unique(table).size != shares.size:  # a share too small for the resolution
        raise AssertionError("a category has no slot in the sampling table")
    return table


@cache
def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sampling tables: datasets, offences (one row per style group + the overall mix), groups."""
    dataset_table = _lookup_table(np.asarray(DATASET_SHARES), np.int8)
    shares = np.asarray(OFFENCE_SHARES)
    group_of = np.asarray(_GROUP_OF_OFFENCE)
    n_groups = len(OFFENCE_GROUPS)
    offence_table = np.empty((n_groups + 1, 1 << _LUT_BITS), dtype=np.int16)
    for g in range(n_groups):  # one row per group: the mix restricted to that group
        members = np.flatnonzero(group_of == g)  # contiguous: the table lists groups in turn
        offence_table[g] = members[0] + _lookup_table(shares[members], np.int16)
    offence_table[n_groups] = _lookup_table(shares, np.int16)
    group_shares = np.bincount(group_of, weights=shares, minlength=n_groups)
    for table in (dataset_table, offence_table, group_shares):
        table.flags.writeable = False
    return dataset_table, offence_table, group_shares


# --------------------------------------------------------------------------------------------
# The cohort
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False, repr=False)
class Cohort:
    """A synthetic table of events, one row per event, as parallel numpy arrays.

    Attributes
    ----------
    event_id : numpy.ndarray of int64
        Unique event ids.
    nominal_id : numpy.ndarray of int64
        Pseudonymous id of the nominal the event belongs to (>= 0).
    dataset_index : numpy.ndarray of int8
        Index into :attr:`datasets`.
    offence_index : numpy.ndarray of int16
        Index into :attr:`offences`.
    date : numpy.ndarray of datetime64[D]
        Date of the event (whole days).
    datasets : tuple of str
        Dataset names (the dictionary of ``dataset_index``).
    offences : tuple of str
        Canonical ``CCC/SS`` offence codes (the dictionary of ``offence_index``).
    as_of : datetime.date
        The day the cohort was generated for: no event is dated after it.

    Notes
    -----
    Arrays made by :func:`cohort` and :meth:`take` are read-only, so a cohort can be
    shared between tests and benchmarks without copies.
    """

    event_id: np.ndarray
    nominal_id: np.ndarray
    dataset_index: np.ndarray
    offence_index: np.ndarray
    date: np.ndarray
    datasets: tuple[str, ...]
    offences: tuple[str, ...]
    as_of: _dt.date

    def __post_init__(self) -> None:
        expected = {
            "event_id": np.dtype(np.int64),
            "nominal_id": np.dtype(np.int64),
            "dataset_index": np.dtype(np.int8),
            "offence_index": np.dtype(np.int16),
            "date": np.dtype("datetime64[D]"),
        }
        n = len(self.event_id)
        for name, dtype in expected.items():
            array = getattr(self, name)
            if not isinstance(array, np.ndarray) or array.dtype != dtype or array.ndim != 1:
                raise TypeError(f"Cohort.{name} must be a 1-d numpy array of {dtype}")
            if len(array) != n:
                raise ValueError(f"Cohort.{name} has {len(array)} rows, event_id has {n}")

    def __len__(self) -> int:
        """Number of events (rows)."""
        return len(self.event_id)

    def __repr__(self) -> str:
        span = f"dates {self.date.min()} to {self.date.max()}" if len(self) else "no events"
        return f"Cohort({len(self):,} events, {span}, as_of={self.as_of.isoformat()})"

    def columns(self) -> dict[str, object]:
        """The five columns, cheaply: no string is built per event.

        Returns
        -------
        dict
            ``event_id`` and ``nominal_id`` (numpy int64), ``dataset`` and ``offence``
            (``pyarrow.DictionaryArray``: the index arrays over the names),
            ``date`` (numpy datetime64[D]).
        """
        import pyarrow as pa

        return {
            "event_id": self.event_id,
            "nominal_id": self.nominal_id,
            "dataset": pa.DictionaryArray.from_arrays(
                pa.array(self.dataset_index), pa.array(self.datasets, type=pa.string())
            ),
            "offence": pa.DictionaryArray.from_arrays(
                pa.array(self.offence_index), pa.array(self.offences, type=pa.string())
            ),
            "date": self.date,
        }

    def to_arrow(self) -> pa.Table:
        """The cohort as a ``pyarrow.Table``.

        Returns
        -------
        pyarrow.Table
            Columns ``event_id`` (int64), ``nominal_id`` (int64), ``dataset``
            (dictionary<int8, string>), ``offence`` (dictionary<int16, string>) and
            ``date`` (date32, days since 1970-01-01).
        """
        import pyarrow as pa

        cols = self.columns()
        cols["date"] = pa.array(self.date.view(np.int64).astype(np.int32), type=pa.int32()).view(
            pa.date32()
        )
        return pa.table(cols)

    def write_csv(self, path: str | os.PathLike[str]) -> None:
        """Write the cohort as CSV.

        The header is ``event_id,nominal_id,dataset,offence,date``; dates are
        ``YYYY-MM-DD``, offences ``CCC/SS`` text (``028/01``), nothing is quoted.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (replaced if it exists).
        """
        import pyarrow as pa
        import pyarrow.csv as pacsv

        table = self.to_arrow()
        with pa.OSFile(str(path), "wb") as sink:
            sink.write(b",".join(name.encode() for name in table.column_names) + b"\n")
            pacsv.write_csv(
                table, sink, pacsv.WriteOptions(include_header=False, quoting_style="none")
            )

    def write_parquet(self, path: str | os.PathLike[str]) -> None:
        """Write the cohort as Parquet, with the columns and types of :meth:`to_arrow`.

        Parameters
        ----------
        path : str or os.PathLike
            The file to write (replaced if it exists).
        """
        import pyarrow.parquet as pq

        pq.write_table(self.to_arrow(), str(path))

    def take(self, mask_or_indices: np.ndarray | slice) -> Cohort:
        """A cohort of some of the rows, e.g. one day's events.

        Parameters
        ----------
        mask_or_indices : numpy.ndarray of bool or of int, or slice
            A boolean mask of ``len(self)`` rows, row numbers (in the order wanted,
            repeats allowed), or a slice (which gives views, no copy).

        Returns
        -------
        Cohort
            The selected rows, with the same ``datasets``, ``offences`` and ``as_of``.
        """
        if isinstance(mask_or_indices, slice):
            rows: np.ndarray | slice = mask_or_indices
        else:
            rows = np.asarray(mask_or_indices)
            if rows.dtype == np.bool_:
                if rows.shape != (len(self),):
                    raise ValueError(f"a mask must have shape ({len(self)},), got {rows.shape}")
                rows = np.flatnonzero(rows)
            elif rows.ndim != 1 or not (rows.size == 0 or np.issubdtype(rows.dtype, np.integer)):
                raise TypeError("take() wants a boolean mask, 1-d row numbers or a slice")
            rows = rows.astype(np.intp, copy=False)

        def pick(array: np.ndarray) -> np.ndarray:
            return _readonly(array[rows])

        return replace(
            self,
            event_id=pick(self.event_id),
            nominal_id=pick(self.nominal_id),
            dataset_index=pick(self.dataset_index),
            offence_index=pick(self.offence_index),
            date=pick(self.date),
        )


def _readonly(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def cohort(
    n_nominals: int = 250_000,
    n_events: int = 2_000_000,
    *,
    as_of: _dt.date = _dt.date(2026, 11, 26),
    span_days: int = 731,
    seed: int = 0,
    ascending_ids: bool = False,
) -> Cohort:
    """Generate a synthetic cohort of events, reproducibly.

    Parameters
    ----------
    n_nominals : int
        Number of nominals (distinct people, as pseudonymous ids). Each gets a
        unique id drawn from :data:`NOMINAL_ID_RANGE` (7 to 9 digits).
    n_events : int
        Number of events (rows).
    as_of : datetime.date
        The last day of the span: every event is dated on or before it.
    span_days : int
        Length of the span in days: dates fall in
        ``[as_of - (span_days - 1) days, as_of]``. The default, 731 days, reaches
        back to ``as_of`` minus 730 days; for the default ``as_of`` (no 29 February
        in between) that first day is ``window_start(as_of, 2)``, the day just
        outside the two-year window, so about 1 event in 731 sits on the boundary.
        Use more days to place events outside the window on purpose.
    seed : int
        Seed of ``numpy.random.default_rng``. Same arguments, same arrays.
    ascending_ids : bool
        If false (the default), the event ids are shuffled across the rows, as an
        export sorted by date or nominal has them; if true, they increase with
        the row (rows are in date order, so ids also increase with the date), the
        convenient case.

    Returns
    -------
    Cohort
        ``n_events`` rows in date order (ties in random order).

    Notes
    -----
    *Nominals.* Nominal ``i`` has rate ``w_i = exp(1.5 z_i)``, ``z_i`` standard
    normal clipped to [-3, 3]. When ``n_events >= n_nominals`` every nominal gets
    one event and the other ``n_events - n_nominals`` are shared out by a
    multinomial draw with probabilities proportional to ``w``. When
    ``n_events < n_nominals``, ``n_events`` nominals picked at random get one
    event each and the others do not appear. Events are then given to the rows
    in random order.

    *Dates.* The number of events on each day is a multinomial draw with a daily
    rate of ``1 + 0.08 cos(2 pi (day of year - 196) / 365.25)`` (a mild summer
    peak), so a day's count varies by about +-8% over the year.

    *Datasets.* Each event independently, with the shares of :data:`DATASET_SHARES`.

    *Offences.* Each nominal has a style, an offence group drawn with the group
    shares of :data:`OFFENCE_MIX`. Each event takes, with probability 0.5, a code
    from the nominal's own group (with the within-group weights), otherwise a
    code from the whole mix. Overall the codes follow :data:`OFFENCE_SHARES`.

    The generator makes a fixed sequence of draws; a change to this function may
    change the arrays for a given seed (the version of numpy may too).

    Examples
    --------
    >>> c = cohort(1_000, 8_000, seed=1)
    >>> len(c), str(c.date.min()), str(c.date.max())
    (8000, '2024-11-26', '2026-11-26')
    """
    n_nominals, n_events, span_days = (
        _count("n_nominals", n_nominals),
        _count("n_events", n_events),
        _count("span_days", span_days),
    )
    id_low, id_high = NOMINAL_ID_RANGE
    if n_nominals > id_high - id_low:
        raise ValueError(f"n_nominals must be at most {id_high - id_low:,}, got {n_nominals:,}")
    if n_events and not n_nominals:
        raise ValueError("n_events > 0 needs n_nominals >= 1")
    if span_days < 1:
        raise ValueError(f"span_days must be at least 1, got {span_days}")
    if isinstance(as_of, _dt.datetime) or not isinstance(as_of, _dt.date):
        raise TypeError(f"as_of must be a datetime.date, got {as_of!r}")

    rng = np.random.default_rng(seed)
    dataset_table, offence_table, group_shares = _tables()

    # Nominals: unique ids (one per stratum of the id range, then shuffled), rates, styles.
    nominal_ids = _unique_ids(rng, n_nominals, id_low, id_high)
    rate = np.exp(_RATE_SIGMA * np.clip(rng.standard_normal(n_nominals), -_RATE_CLIP, _RATE_CLIP))
    style = rng.choice(len(group_shares), size=n_nominals, p=group_shares).astype(np.int8)

    # Events per nominal: one each (while events last), the rest in proportion to the rates.
    covered = min(n_nominals, n_events)
    if covered == n_nominals:
        per_nominal = np.ones(n_nominals, dtype=np.int64)
    else:
        per_nominal = np.zeros(n_nominals, dtype=np.int64)
        per_nominal[rng.choice(n_nominals, size=covered, replace=False)] = 1
    if n_events > covered:
        per_nominal += rng.multinomial(n_events - covered, rate / rate.sum())
    owner = np.repeat(np.arange(n_nominals, dtype=np.int32), per_nominal)
    rng.shuffle(owner)  # events in random order; rows are then given dates in order

    # Dates: events per day, laid out in date order.
    first_day = np.datetime64(as_of, "D") - (span_days - 1)
    days = first_day + np.arange(span_days)
    day_of_year = (days - days.astype("datetime64[Y]").astype("datetime64[D]")).astype(np.int64)
    rate_of_day = 1.0 + _SEASON_AMPLITUDE * np.cos(
        2.0 * math.pi * (day_of_year - _SEASON_PEAK_DAY) / 365.25
    )
    per_day = rng.multinomial(n_events, rate_of_day / rate_of_day.sum())
    date = np.repeat(days.view(np.int64), per_day).view("datetime64[D]")

    # Datasets and offences: lookups of uniform random integers.
    dataset_index = dataset_table[rng.integers(0, 1 << _LUT_BITS, size=n_events, dtype=np.uint16)]
    bits = rng.integers(0, 1 << 32, size=n_events, dtype=np.uint32)
    own_style = (bits >> np.uint32(_LUT_BITS)) < np.uint32(round(_STYLE_SHARE * (1 << 16)))
    row = np.where(own_style, style[owner], np.int8(len(group_shares))).astype(np.int32)
    offence_index = offence_table.reshape(-1)[
        (row << _LUT_BITS) | (bits & np.uint32((1 << _LUT_BITS) - 1)).astype(np.int32)
    ]
    del bits, own_style, row

    # Event ids: ascending with gaps of 1 to 3, optionally shuffled.
    gaps = rng.integers(1, 4, size=n_events, dtype=np.int8)
    event_id = np.cumsum(gaps, dtype=np.int64)
    event_id += int(rng.integers(_EVENT_ID_BASE, 2 * _EVENT_ID_BASE)) - 1
    if not ascending_ids:
        rng.shuffle(event_id)

    return Cohort(
        event_id=_readonly(event_id),
        nominal_id=_readonly(nominal_ids[owner]),
        dataset_index=_readonly(dataset_index),
        offence_index=_readonly(offence_index),
        date=_readonly(date),
        datasets=DATASETS,
        offences=OFFENCES,
        as_of=as_of,
    )


def _count(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    return int(value)


def _unique_ids(rng: np.random.Generator, n: int, low: int, high: int) -> np.ndarray:
    """``n`` distinct int64 ids in ``[low, high)`` in random order: one per equal stratum."""
    edges = low + (np.arange(n + 1, dtype=np.int64) * (high - low)) // max(n, 1)
    ids = edges[:-1] + rng.integers(0, edges[1:] - edges[:-1])
    rng.shuffle(ids)
    return ids


# --------------------------------------------------------------------------------------------
# Interventions
# --------------------------------------------------------------------------------------------

# The kinds of intervention drawn, each with a relative weight and the agencies that lead
# it (relative weights again). Every code is a kind of the shipped catalogue
# (weights/interventions.csv; tests/test_synth.py checks each one) and every agency is in
# iomscore.interventions.AGENCIES. Illustrative orders of magnitude, not published
# statistics: drug treatment (through DIP) and accommodation support are the commonest
# pathways of IOM schemes; voluntary GPS tagging, the Managed Offenders Court and
# restorative justice are rare. Drug and alcohol treatment are commissioned by public
# health and delivered by the NHS or voluntary providers; accommodation by the local
# authority's housing team; accredited programmes by probation; youth programmes by the
# youth offending service; voluntary tagging by the police.
INTERVENTION_MIX: tuple[tuple[str, float, tuple[tuple[str, float], ...]], ...] = (
    ("drug_treatment_dip", 22.0, (
        ("health", 35.0), ("voluntary_sector", 30.0), ("probation", 20.0), ("police", 15.0),
    )),
    ("accommodation_support", 18.0, (
        ("local_authority", 55.0), ("voluntary_sector", 30.0), ("probation", 15.0),
    )),
    ("mental_health", 9.0, (("health", 80.0), ("voluntary_sector", 20.0))),
    ("mentoring", 9.0, (("voluntary_sector", 75.0), ("probation", 25.0))),
    ("alcohol_treatment", 8.0, (("health", 50.0), ("voluntary_sector", 30.0), ("probation", 20.0))),
    ("employment_coaching", 8.0, (
        ("voluntary_sector", 50.0), ("probation", 30.0), ("other", 20.0),  # other: Jobcentre
    )),
    ("education_training", 6.0, (
        ("probation", 35.0), ("voluntary_sector", 35.0), ("local_authority", 20.0), ("other", 10.0),
    )),
    ("family_support", 5.0, (
        ("local_authority", 50.0), ("voluntary_sector", 40.0), ("probation", 10.0),
    )),
    ("finance_debt_advice", 5.0, (
        ("voluntary_sector", 70.0), ("local_authority", 20.0), ("probation", 10.0),
    )),
    ("accredited_programme", 4.0, (("probation", 100.0),)),
    ("youth_programme", 3.0, (("youth_offending_service", 100.0),)),
    ("managed_offenders_court", 2.0, (("probation", 70.0), ("other", 30.0))),  # other: courts
    ("restorative_justice", 2.0, (
        ("police", 40.0), ("probation", 30.0), ("voluntary_sector", 30.0),
    )),
    ("gps_tagging_voluntary", 1.0, (("police", 100.0),)),
)  # fmt: skip

# The share of interventions still open (no end), and the length of the others: a
# lognormal of median _LENGTH_MEDIAN days, clipped to [1, _LENGTH_MAX] days (and to as_of).
_OPEN_SHARE = 1.0 / 3.0
_LENGTH_MEDIAN = 90.0
_LENGTH_SIGMA = 0.8
_LENGTH_MAX = 730
# Interventions per nominal chosen: 1 + Poisson(_EXTRA_MEAN), at most _MOST_PER_NOMINAL.
_EXTRA_MEAN = 0.6
_MOST_PER_NOMINAL = 6
# Intervention ids ascend (in start order) from a random start in
# [_INTERVENTION_ID_BASE, 2 * _INTERVENTION_ID_BASE), with gaps of 1 to 3.
_INTERVENTION_ID_BASE = 1_000_000


def interventions(cohort: Cohort, *, seed: int = 0, share: float = 0.15) -> dict[str, np.ndarray]:
    """Synthetic interventions for a share of a cohort's nominals, reproducibly.

    Parameters
    ----------
    cohort : Cohort
        The cohort whose nominals receive interventions (it is not changed).
    seed : int
        Seed of ``numpy.random.default_rng`` (drawn apart from the cohort's: the same
        cohort and seed give the same interventions).
    share : float
        The share of the cohort's nominals with at least one intervention (0 to 1);
        ``round(share * nominals)`` of them are picked at random.

    Returns
    -------
    dict of numpy.ndarray
        The six columns :meth:`iomscore.Engine.record_interventions` takes, one row
        per intervention in start-date order: ``intervention_id`` and ``nominal_id``
        (int64), ``kind`` and ``lead_agency`` (str), ``start`` and ``end``
        (datetime64[D]; ``end`` is NaT for an intervention still open).

    Notes
    -----
    *Who.* Each nominal picked has ``1 + Poisson(0.6)`` interventions (at most 6).

    *What and who leads.* Kinds follow the weights of :data:`INTERVENTION_MIX`, codes
    of the shipped catalogue (``iomscore.interventions.Catalogue.default()``): drug
    treatment and accommodation support are common, voluntary GPS tagging rare. Each
    kind's lead agency is drawn from the agencies plausible for it.

    *When.* A start falls uniformly between the nominal's first event and the
    cohort's ``as_of``, so inside the cohort's span. Each intervention is still
    open with probability 1/3; the others last a lognormal number of days (median
    90, clipped to 1 to 730) and end no later than ``as_of``.

    Examples
    --------
    >>> c = cohort(1_000, 8_000, seed=1)
    >>> table = interventions(c, seed=1)
    >>> len(np.unique(table["nominal_id"]))
    150
    """
    if not isinstance(cohort, Cohort):
        raise TypeError(f"interventions() wants a Cohort, got {type(cohort).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
        raise ValueError(f"share must be a number from 0 to 1, got {share!r}")
    kinds, kind_shares, agency_table = _intervention_tables()
    rng = np.random.default_rng(seed)

    # Nominals: those picked, and each one's first event.
    order = np.lexsort((cohort.date, cohort.nominal_id))
    nominal, starts_at = np.unique(cohort.nominal_id[order], return_index=True)
    first = cohort.date[order][starts_at]
    picked = np.sort(rng.choice(nominal.size, size=round(share * nominal.size), replace=False))
    per_nominal = np.minimum(1 + rng.poisson(_EXTRA_MEAN, size=picked.size), _MOST_PER_NOMINAL)
    owner = np.repeat(picked, per_nominal)
    n = owner.size

    # Kinds and their lead agencies.
    kind = rng.choice(len(kinds), size=n, p=kind_shares)
    agency = np.empty(n, dtype=np.int64)
    pick_agency = rng.random(n)
    for k, (codes, cumulative) in enumerate(agency_table):
        rows = np.flatnonzero(kind == k)
        found = np.searchsorted(cumulative, pick_agency[rows], side="right")
        agency[rows] = codes[np.minimum(found, codes.size - 1)]

    # Dates: a start from the first event to as_of; a third open, the others a length.
    as_of = np.datetime64(cohort.as_of, "D")
    earliest = first[owner]
    room = (as_of - earliest).astype(np.int64)
    start = earliest + np.floor(rng.random(n) * (room + 1)).astype(np.int64)
    length = np.clip(
        np.rint(_LENGTH_MEDIAN * np.exp(_LENGTH_SIGMA * rng.standard_normal(n))), 1, _LENGTH_MAX
    ).astype(np.int64)
    end = np.minimum(start + length, as_of)
    end[rng.random(n) < _OPEN_SHARE] = np.datetime64("NaT")

    # Rows in start order, ids ascending with gaps of 1 to 3.
    rows = np.lexsort((nominal[owner], start))
    ids = np.cumsum(rng.integers(1, 4, size=n, dtype=np.int64))
    ids += int(rng.integers(_INTERVENTION_ID_BASE, 2 * _INTERVENTION_ID_BASE)) - 1
    from .interventions import AGENCIES

    return {
        "intervention_id": ids,
        "nominal_id": nominal[owner][rows],
        "kind": np.asarray(kinds)[kind[rows]],
        "start": start[rows],
        "end": end[rows],
        "lead_agency": np.asarray(AGENCIES)[agency[rows]],
    }


@cache
def _intervention_tables() -> tuple[
    tuple[str, ...], np.ndarray, tuple[tuple[np.ndarray, np.ndarray], ...]
]:
    """The kinds of :data:`INTERVENTION_MIX`, their shares, and per kind the agency codes
    (indices into ``AGENCIES``) with their cumulative shares; checked against the
    shipped catalogue."""
    from .interventions import AGENCIES, Catalogue

    known = Catalogue.default().kinds
    kinds = tuple(code for code, _, _ in INTERVENTION_MIX)
    missing = [code for code in kinds if code not in known]
    if missing or len(set(kinds)) != len(kinds):
        raise AssertionError(f"INTERVENTION_MIX: kinds not in the catalogue or repeated: {missing}")
    weights = np.array([weight for _, weight, _ in INTERVENTION_MIX])
    agencies = []
    for _, _, leads in INTERVENTION_MIX:
        codes = np.array([AGENCIES.index(name) for name, _ in leads], dtype=np.int64)
        cumulative = np.cumsum([weight for _, weight in leads]) / sum(w for _, w in leads)
        agencies.append((_readonly(codes), _readonly(cumulative)))
    return kinds, _readonly(weights / weights.sum()), tuple(agencies)


# --------------------------------------------------------------------------------------------
# Assessments
# --------------------------------------------------------------------------------------------

# Each tool's settings: the raw score's range (that of iomscore.assessments.KNOWN_RANGES),
# the days between two assessments of a nominal (a mean, a standard deviation, and a clip
# at +-_GAP_CLIP standard deviations, so the law stays symmetric about its mean), and
# the Beta law of a nominal's level as a share of the range. Illustrative, not published
# statistics: probation reviews an adult's OASys about every 16 weeks; a youth offending
# team reviews ASSET less often. OGRS3 (OASys's 0-99 % two-year reoffending probability)
# is high in an IOM cohort, mostly 40-80; ASSET totals are mid-range.
_GAP_CLIP = 3.0
_OASYS = {"range": (0, 99), "gap_mean": 112, "gap_sd": 14.0, "beta": (5.0, 3.5)}
_ASSET = {"range": (0, 64), "gap_mean": 182, "gap_sd": 21.0, "beta": (2.5, 3.0)}
# How far a nominal's level leans with its offending: the Beta law's first parameter gains
# this much times the nominal's percentile of event count (0 to 1).
_LEVEL_LEAN = 2.0
# The standard deviation (points) of one assessment's score about the nominal's level.
_SCORE_NOISE = 3.0
# Assessment ids ascend (in date order) from a random start in
# [_ASSESSMENT_ID_BASE, 2 * _ASSESSMENT_ID_BASE), with gaps of 1 to 3.
_ASSESSMENT_ID_BASE = 10_000_000


def assessments(
    cohort: Cohort,
    *,
    seed: int = 0,
    as_of: _dt.date | None = None,
    share: float = 0.3,
    youth_share: float = 0.05,
    span_days: int = 730,
) -> dict[str, np.ndarray]:
    """Synthetic OASys and ASSET assessments for a share of a cohort's nominals.

    Parameters
    ----------
    cohort : Cohort
        The cohort whose nominals are assessed (it is not changed).
    seed : int
        Seed of ``numpy.random.default_rng`` (drawn apart from the cohort's: the same
        cohort and arguments give the same assessments).
    as_of : datetime.date, optional
        No assessment is dated after it (default: the cohort's ``as_of``).
    share : float
        The share of the cohort's nominals managed as adults, each with OASys
        assessments (0 to 1); ``round(share * nominals)`` of them.
    youth_share : float
        The share managed as youths, each with ASSET assessments (0 to 1, and
        ``share + youth_share`` at most 1); ``round(youth_share * nominals)``
        others.
    span_days : int
        Dates fall in the ``span_days`` days (at least 1) ending at ``as_of``: with
        the default 730, inside the two-year window of ``as_of``. When it is longer
        than the longest gap (154 days for OASys, 245 for ASSET, see Notes), every
        nominal picked has at least one assessment.

    Returns
    -------
    dict of numpy.ndarray
        The five columns :meth:`iomscore.Engine.assess` takes, one row per
        assessment in date order, ids ascending: ``assessment_id`` and ``nominal_id``
        (int64), ``tool`` (str: ``oasys`` or ``asset``), ``score`` (int64, the raw
        score: OGRS3 percent 0-99 for OASys, the ASSET total 0-64) and ``date``
        (datetime64[D]).

    Notes
    -----
    *When.* Each nominal picked has a schedule: a first assessment up to
    ``span_days`` plus two gaps before ``as_of`` (drawn uniformly, so many are
    managed across the whole span), then one after each gap. A gap is
    ``rint(mean + sd z)`` days, ``z`` standard normal clipped to [-3, 3]: mean
    112 days (16 weeks), sd 14 for OASys (70 to 154 days); mean 182 days (26
    weeks), sd 21 for ASSET (119 to 245 days). The dates inside the span are
    kept, so a nominal managed across it has about 6 OASys or 4 ASSET
    assessments.

    *Scores.* Each nominal has a level, a share of its tool's range drawn from a
    Beta law (OASys Beta(5 + 2p, 3.5), mostly 40-80 points of 99; ASSET
    Beta(2.5 + 2p, 3), about 30 of 64), ``p`` the nominal's percentile of event
    count in the cohort, so that prolific nominals score higher. Each assessment
    scores ``rint(level + 3 z)`` points, ``z`` standard normal, clipped to the
    tool's range.

    Examples
    --------
    >>> c = cohort(1_000, 8_000, seed=1)
    >>> table = assessments(c, seed=1)
    >>> len(np.unique(table["nominal_id"])), sorted(set(table["tool"].tolist()))
    (350, ['asset', 'oasys'])
    """
    if not isinstance(cohort, Cohort):
        raise TypeError(f"assessments() wants a Cohort, got {type(cohort).__name__}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    for name, value in (("share", share), ("youth_share", youth_share)):
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise ValueError(f"{name} must be a number from 0 to 1, got {value!r}")
    if share + youth_share > 1:
        raise ValueError(f"share + youth_share must be at most 1, got {share + youth_share}")
    span_days = _count("span_days", span_days)
    if span_days < 1:
        raise ValueError(f"span_days must be at least 1, got {span_days}")
    as_of = cohort.as_of if as_of is None else as_of
    if isinstance(as_of, _dt.datetime) or not isinstance(as_of, _dt.date):
        raise TypeError(f"as_of must be a datetime.date, got {as_of!r}")
    rng = np.random.default_rng(seed)

    # Who: adults and youths picked at random, and each one's percentile of event count.
    nominal, events = np.unique(cohort.nominal_id, return_counts=True)
    adults, youths = round(share * nominal.size), round(youth_share * nominal.size)
    picked = rng.choice(nominal.size, size=adults + youths, replace=False)
    rank = np.empty(nominal.size, np.float64)
    rank[np.argsort(events, kind="stable")] = np.arange(nominal.size)
    percentile = rank / max(nominal.size - 1, 1)

    parts = []
    for code, (settings, who) in enumerate(((_OASYS, picked[:adults]), (_ASSET, picked[adults:]))):
        low, high = settings["range"]
        mean, sd = settings["gap_mean"], settings["gap_sd"]
        lead = span_days + 2 * mean
        # the schedule: a start, then enough gaps (each at least the shortest) to pass as_of
        steps = lead // math.ceil(mean - _GAP_CLIP * sd) + 1
        start = rng.integers(0, lead, size=who.size)  # days before as_of
        z = np.clip(rng.standard_normal((who.size, steps)), -_GAP_CLIP, _GAP_CLIP)
        gaps = np.rint(mean + sd * z).astype(np.int64)
        # days after the span's first day
        days = (span_days - 1 - start)[:, None] + np.concatenate(
            (np.zeros((who.size, 1), np.int64), np.cumsum(gaps, 1)), 1
        )
        keep = (days >= 0) & (days < span_days)
        owner = np.broadcast_to(np.arange(who.size)[:, None], days.shape)[keep]
        a, b = settings["beta"]
        level = rng.beta(a + _LEVEL_LEAN * percentile[who], b) * high
        noise = rng.standard_normal(owner.size) * _SCORE_NOISE
        score = np.clip(np.rint(level[owner] + noise), low, high).astype(np.int64)
        parts.append((nominal[who][owner], np.full(owner.size, code, np.int8), score, days[keep]))

    nominal_id, tool, score, day = (np.concatenate([p[i] for p in parts]) for i in range(4))
    # rows in date order (a stable radix sort of the day when it fits in 16 bits)
    rows = np.argsort(day.astype(np.int16) if span_days < 2**15 else day, kind="stable")
    ids = np.cumsum(rng.integers(1, 4, size=rows.size, dtype=np.int64))
    ids += int(rng.integers(_ASSESSMENT_ID_BASE, 2 * _ASSESSMENT_ID_BASE)) - 1
    first = np.datetime64(as_of, "D") - (span_days - 1)
    return {
        "assessment_id": ids,
        "nominal_id": nominal_id[rows],
        "tool": np.array(("oasys", "asset"))[tool[rows]],
        "score": score[rows],
        "date": first + day[rows],
    }


# --------------------------------------------------------------------------------------------
# The cohort: ownership (areas) and ODOC decisions
# --------------------------------------------------------------------------------------------

#: Usual residents of the seven West Midlands boroughs at the 2021 Census, rounded to the
#: thousand: the relative weights of :func:`ownership` for the default areas.
AREA_POPULATION: dict[str, int] = {
    "Birmingham": 1_145_000,
    "Coventry": 345_000,
    "Dudley": 323_000,
    "Sandwell": 342_000,
    "Solihull": 216_000,
    "Walsall": 284_000,
    "Wolverhampton": 263_000,
}
# The first owner takes over on a day up to this many days before the earlier of the
# cohort's first event and the start of the two-year window of its as_of.
_OWNED_BEFORE_DAYS = 365
# A transfer is dated in the last _TRANSFER_DAYS days up to as_of, both inclusive.
_TRANSFER_DAYS = 365


def ownership(
    cohort: Cohort,
    *,
    seed: int = 0,
    areas: Sequence[str] = DEFAULT_AREAS,
    transfer_share: float = 0.03,
    weights: Sequence[float] | None = None,
) -> dict[str, np.ndarray]:
    """Synthetic ownership records: every nominal of a cohort owned by one area.

    Parameters
    ----------
    cohort : Cohort
        The cohort whose nominals are owned (it is not changed).
    seed : int
        Seed of ``numpy.random.default_rng`` (drawn apart from the cohort's: the same
        cohort and arguments give the same records).
    areas : sequence of str
        The areas (local boards), as the engine holds them (default
        :data:`iomscore.cohort.DEFAULT_AREAS`, the seven West Midlands boroughs).
    transfer_share : float
        The share of nominals transferred once to another area (0 to 1);
        ``round(transfer_share * nominals)`` of them. A transfer needs two areas.
    weights : sequence of float, optional
        Relative weights of the areas (positive, one per area). When omitted:
        the boroughs' populations (:data:`AREA_POPULATION`, so Birmingham owns
        about 39% of nominals) if every area is one of them, else equal weights.

    Returns
    -------
    dict of numpy.ndarray
        The three columns :meth:`iomscore.Engine.record_owners` takes, one row per
        record, by ``from_date`` then ``nominal_id``: ``nominal_id`` (int64),
        ``area`` (str) and ``from_date`` (datetime64[D]). Each nominal has one
        record, and a transferred one a second, to another area.

    Notes
    -----
    *First owner.* Each nominal's area is drawn with the weights; it owns the
    nominal from a day drawn uniformly in the 365 days before the earlier of the
    cohort's first event date and the start of the two-year window of its
    ``as_of``, so every event of the cohort falls under an owner.

    *Transfers.* The nominals picked move to an area drawn with the weights among
    the others, from a day drawn uniformly in the 365 days ending on ``as_of``
    (both inclusive).

    Examples
    --------
    >>> c = cohort(1_000, 8_000, seed=1)
    >>> table = ownership(c, seed=1)
    >>> len(np.unique(table["nominal_id"])), len(table["nominal_id"])
    (1000, 1030)
    """
    if not isinstance(cohort, Cohort):
        raise TypeError(f"ownership() wants a Cohort, got {type(cohort).__name__}")
    _check_seed(seed)
    names = tuple(areas) if not isinstance(areas, str) else (areas,)
    if not names or any(not isinstance(a, str) or not a.strip() for a in names):
        raise ValueError(f"areas must be non-empty names, got {areas!r}")
    if len({a.strip().lower() for a in names}) != len(names):
        raise ValueError(f"areas name an area twice: {list(names)}")
    _check_share("transfer_share", transfer_share)
    if transfer_share > 0 and len(names) < 2:
        raise ValueError("a transfer needs two areas: give transfer_share=0 for one area")
    share = _area_shares(names, weights)
    rng = np.random.default_rng(seed)

    nominal = np.unique(cohort.nominal_id)
    n = nominal.size
    as_of = np.datetime64(cohort.as_of, "D")
    first = np.datetime64(window_start(cohort.as_of, 2), "D")
    if n and len(cohort):
        first = min(first, cohort.date.min())
    area = rng.choice(len(names), size=n, p=share)
    since = first - 1 - rng.integers(0, _OWNED_BEFORE_DAYS, size=n)

    moved = np.sort(rng.choice(n, size=round(transfer_share * n), replace=False))
    # another area, drawn with the weights of the others: a draw over the areas less
    # the nominal's own, shifted past it
    others = np.empty(moved.size, np.int64)
    pick = rng.random(moved.size)
    for code in range(len(names)):
        rows = np.flatnonzero(area[moved] == code)
        rest = np.delete(np.arange(len(names)), code)
        cumulative = np.cumsum(share[rest]) / share[rest].sum()
        found = np.minimum(np.searchsorted(cumulative, pick[rows], side="right"), rest.size - 1)
        others[rows] = rest[found]
    moved_on = as_of - rng.integers(0, _TRANSFER_DAYS, size=moved.size)

    ids = np.concatenate((nominal, nominal[moved]))
    codes = np.concatenate((area, others))
    dates = np.concatenate((since, moved_on)).astype("datetime64[D]")
    rows = np.lexsort((ids, dates))
    return {
        "nominal_id": ids[rows].astype(np.int64),
        "area": np.asarray(names)[codes[rows]],
        "from_date": dates[rows],
    }


def _area_shares(names: tuple[str, ...], weights: object) -> np.ndarray:
    """The areas' shares (summing to 1) from ``weights``, or the default weights."""
    if weights is None:
        if all(a in AREA_POPULATION for a in names):
            values = np.array([AREA_POPULATION[a] for a in names], np.float64)
        else:
            values = np.ones(len(names))
    else:
        values = np.asarray(weights, dtype=np.float64)
        if values.shape != (len(names),) or not np.all(np.isfinite(values)) or np.any(values <= 0):
            raise ValueError(f"weights must be {len(names)} positive numbers, got {weights!r}")
    return values / values.sum()


def _check_seed(seed: object) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")


def _check_share(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"{name} must be a number from 0 to 1, got {value!r}")


# The relative chance of being picked at a meeting for a candidate of each band (NONE,
# LOW, MEDIUM, HIGH): partners pick the highest scorers first. Illustrative.
_BAND_PULL = (0.0, 1.0, 3.0, 9.0)
# The lead agency of a selection: the police and probation lead most of an IOM cohort,
# the youth offending service its young people. Illustrative.
_LEAD_AGENCIES = (("police", 0.5), ("probation", 0.42), ("youth_offending_service", 0.08))
# The tier of a selection, by band (LOW, MEDIUM, HIGH: tier 3, 2, 1), left empty (not
# recorded) for this share of selections.
_UNTIERED_SHARE = 0.2
# Why a nominal is de-selected (every reason of iomscore.cohort.DESELECT_REASONS), with
# relative weights, and the notes an "other" reason is given. Illustrative: most leave
# the cohort as their offending falls; a long custodial sentence is next.
_DESELECT_MIX = (
    ("score_below_threshold", 55.0),
    ("long_custodial_sentence", 20.0),
    ("moved_out_of_force", 10.0),
    ("deceased", 3.0),
    ("other", 12.0),
)
_OTHER_NOTES = (
    "managed under MAPPA instead",
    "stepped down to business as usual",
    "sectioned under the Mental Health Act",
    "partners agreed no further added value",
)
# The share of selections that set the nominal's strand to "free" (chosen by partners
# outside the fixed and flex rules), and the reason recorded.
_FREE_SHARE = 0.05
_FREE_REASON = "selected by partners outside the fixed and flex rules"
# Meetings fall on the second Tuesday of each month (Monday is 0): never a bank holiday.
_MEETING_WEEKDAY = 1


def meetings(as_of: _dt.date, months: int = 12) -> list[tuple[str, _dt.date]]:
    """The ``months`` monthly ODOC meetings up to ``as_of``: ``(meeting_id, date)``,
    oldest first; a meeting falls on the second Tuesday of its month, and its id is
    ``odoc-YYYY-MM``.

    Parameters
    ----------
    as_of : datetime.date
        No meeting falls after it (the last is in its month, or the month before
        when its month's second Tuesday is later).
    months : int
        How many meetings (at least 0).

    Returns
    -------
    list of (str, datetime.date)
        The meetings, one a month, the last on or before ``as_of``.

    Examples
    --------
    >>> meetings(_dt.date(2026, 11, 26), 2)
    [('odoc-2026-10', datetime.date(2026, 10, 13)), ('odoc-2026-11', datetime.date(2026, 11, 10))]
    """
    if isinstance(as_of, _dt.datetime) or not isinstance(as_of, _dt.date):
        raise TypeError(f"as_of must be a datetime.date, got {as_of!r}")
    months = _count("months", months)

    def meeting(year: int, month: int) -> _dt.date:
        first = _dt.date(year, month, 1)
        return first + _dt.timedelta(days=7 + (_MEETING_WEEKDAY - first.weekday()) % 7)

    year, month = as_of.year, as_of.month
    if meeting(year, month) > as_of:
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    out = []
    for _ in range(months):
        out.append((f"odoc-{year:04d}-{month:02d}", meeting(year, month)))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def decisions(
    scores: object,
    *,
    as_of: _dt.date | None = None,
    seed: int = 0,
    months: int = 12,
    band: str = "LOW",
    select_share: float = 0.25,
    deselect_rate: float = 0.05,
) -> dict[str, np.ndarray]:
    """Synthetic selection decisions of a year of monthly ODOC meetings.

    Parameters
    ----------
    scores : ScoreTable
        The scores the meetings choose from (e.g. :meth:`iomscore.Engine.scores`):
        its ``nominal_id`` and ``band``, and its ``as_of``. Only nominals at or
        above ``band`` are selected. The bands are those at ``as_of``, taken as
        the bands of every meeting (synthetic: the scores of past dates are not
        asked for).
    as_of : datetime.date, optional
        No decision is dated after it (default, and at the latest, ``scores.as_of``).
    seed : int
        Seed of ``numpy.random.default_rng``: the same arguments give the same
        decisions.
    months : int
        How many monthly meetings (see :func:`meetings`; default 12, a year).
    band : {"LOW", "MEDIUM", "HIGH"}
        The lowest band selected (the engine's ``selection_band``).
    select_share : float
        Selections over all the meetings, as a share of the nominals at or above
        ``band`` (0 to 1): ``round(select_share * banded)`` select decisions,
        spread evenly over the meetings (fewer only if a meeting runs out of
        nominals not selected).
    deselect_rate : float
        The chance (0 to 1) that a nominal selected at an earlier meeting is
        de-selected at a meeting.

    Returns
    -------
    dict of numpy.ndarray
        The columns :meth:`iomscore.Engine.decide` takes, one row per decision,
        by date (at each meeting the de-selections first, then the selections,
        each by ``nominal_id``): ``nominal_id`` (int64), ``date``
        (datetime64[D]), ``action`` (str, ``select`` or ``deselect``),
        ``meeting_id`` (str, ``odoc-YYYY-MM``), and ``lead_agency``, ``tier``,
        ``reason``, ``note``, ``strand``, ``strand_reason`` (object arrays of str,
        None where a decision has none). Every row is legal: nobody selected is
        selected again, nobody not selected is de-selected.

    Notes
    -----
    *Selections.* At each meeting the nominals not selected (including any
    de-selected at an earlier meeting, but not at this one) are picked without
    replacement with weights 1, 3 and 9 for LOW, MEDIUM and HIGH. A selection's
    lead agency is the police (50%), probation (42%) or the youth offending
    service (8%); its tier is 3, 2 or 1 for a LOW, MEDIUM or HIGH nominal, left
    empty for 20%. One selection in 20 sets the strand ``free``, with its reason.

    *De-selections.* Reasons (every one of
    :data:`iomscore.cohort.DESELECT_REASONS`): score below threshold 55%, long
    custodial sentence 20%, moved out of the force 10%, deceased 3%, other 12%
    (with a note).

    Examples
    --------
    >>> from iomscore import Engine, Weights
    >>> c = cohort(2_000, 16_000, seed=1)
    >>> engine = Engine(Weights.default(), c.as_of)
    >>> _ = engine.ingest(c)
    >>> table = decisions(engine.scores(), seed=1)
    >>> engine.decide(table) == len(table["nominal_id"])
    True
    """
    for name in ("nominal_id", "band", "as_of"):
        if not hasattr(scores, name):
            raise TypeError(f"decisions() wants a ScoreTable, got {type(scores).__name__}")
    latest = scores.as_of  # type: ignore[attr-defined]
    as_of = latest if as_of is None else as_of
    if isinstance(as_of, _dt.date) and as_of > latest:
        raise ValueError(f"as_of {as_of} is after the scores' date {latest}")
    _check_seed(seed)
    if band not in BAND_NAMES[1:]:
        raise ValueError(f"band must be one of {', '.join(BAND_NAMES[1:])}, got {band!r}")
    _check_share("select_share", select_share)
    _check_share("deselect_rate", deselect_rate)
    held = meetings(as_of, months)
    reasons = tuple(reason for reason, _ in _DESELECT_MIX)
    if sorted(reasons) != sorted(DESELECT_REASONS):  # pragma: no cover - a table fault
        raise AssertionError(f"_DESELECT_MIX: not the reasons {DESELECT_REASONS}")
    reason_share = np.array([w for _, w in _DESELECT_MIX]) / sum(w for _, w in _DESELECT_MIX)
    agency_share = np.array([w for _, w in _LEAD_AGENCIES])
    agency_share /= agency_share.sum()
    rng = np.random.default_rng(seed)

    ids = np.asarray(scores.nominal_id, np.int64)  # type: ignore[attr-defined]
    bands = np.asarray(scores.band, np.int64)  # type: ignore[attr-defined]
    pool = np.flatnonzero(bands >= BAND_NAMES.index(band))
    pool = pool[np.argsort(ids[pool], kind="stable")]
    pull = np.array(_BAND_PULL)[bands[pool]]
    total = round(select_share * pool.size)
    edges = np.rint(np.linspace(0, total, len(held) + 1)).astype(np.int64)
    wanted = np.diff(edges)

    # the meetings in turn: who leaves, then who joins (pool indices, by nominal_id)
    selected = np.zeros(pool.size, dtype=bool)
    steps: list[tuple[np.ndarray, str, str, _dt.date]] = []
    for (meeting_id, day), count in zip(held, wanted.tolist(), strict=True):
        leaving = np.flatnonzero(selected & (rng.random(pool.size) < deselect_rate))
        selected[leaving] = False
        choices = np.flatnonzero(~selected)
        choices = choices[~np.isin(choices, leaving)]
        count = min(count, choices.size)
        joining = np.empty(0, np.int64)
        if count:
            weight = pull[choices] / pull[choices].sum()
            joining = np.sort(rng.choice(choices, size=count, replace=False, p=weight))
        selected[joining] = True
        steps += [(leaving, "deselect", meeting_id, day), (joining, "select", meeting_id, day)]

    who = np.concatenate([s[0] for s in steps] or [np.empty(0, np.int64)]).astype(np.int64)
    sizes = [s[0].size for s in steps]
    n = who.size
    nominal_id = ids[pool[who]]
    date = np.repeat(np.array([s[3] for s in steps], "datetime64[D]"), sizes)
    action = np.repeat(np.array([s[1] for s in steps], dtype="<U8"), sizes)
    meeting = np.repeat(np.array([s[2] for s in steps], dtype=str), sizes)
    is_select = action == "select"
    chosen_band = bands[pool[who]]

    lead_agency = np.full(n, None, dtype=object)
    tier = np.full(n, None, dtype=object)
    reason = np.full(n, None, dtype=object)
    note = np.full(n, None, dtype=object)
    strand = np.full(n, None, dtype=object)
    strand_reason = np.full(n, None, dtype=object)
    picks = np.flatnonzero(is_select)
    names = np.array([name for name, _ in _LEAD_AGENCIES], dtype=object)
    lead_agency[picks] = names[rng.choice(names.size, size=picks.size, p=agency_share)]
    tiered = picks[rng.random(picks.size) >= _UNTIERED_SHARE]
    tier[tiered] = np.array(["", "3", "2", "1"], dtype=object)[chosen_band[tiered]]
    freed = picks[rng.random(picks.size) < _FREE_SHARE]
    strand[freed] = "free"
    strand_reason[freed] = _FREE_REASON
    drops = np.flatnonzero(~is_select)
    reason[drops] = np.array(reasons, dtype=object)[
        rng.choice(len(reasons), size=drops.size, p=reason_share)
    ]
    other = drops[reason[drops] == "other"]
    note[other] = np.array(_OTHER_NOTES, dtype=object)[
        rng.integers(0, len(_OTHER_NOTES), size=other.size)
    ]
    return {
        "nominal_id": nominal_id,
        "date": date,
        "action": action,
        "meeting_id": meeting,
        "lead_agency": lead_agency,
        "tier": tier,
        "reason": reason,
        "note": note,
        "strand": strand,
        "strand_reason": strand_reason,
    }
