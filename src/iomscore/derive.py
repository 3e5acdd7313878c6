"""Derive the default weight table from public data, deterministically.

The derivation, step by step (``weights/README.md`` gives the reasons):

1. **Catalogue.** :func:`build_catalogue` turns the Home Office offence code
   list (3,039 codes) into ``weights/offence_catalogue.csv``: canonical
   ``CCC/SS`` code, description, group, category, actuarial category.
2. **Gravity.** :func:`derive_gravity` gives every code the Office for
   National Statistics Crime Severity Score weight (ONS "severity", in
   sentence-day equivalents) of the ONS offence it belongs to, by the first of
   these rules that applies:

   a. ``000/00`` (invalid offence) has gravity 0 and scores 0 points.
   b. *join*: the code is named by :data:`ONS_JOIN`, a short reviewed list that
      places codes of mixed Home Office classes (class 008, 092, ...) in their
      ONS subdivision and repairs the four ONS codes whose leading number is
      not the catalogue's class (:data:`ONS_NOT_CLASS`).
   c. *subcode*: an ONS code spelt ``C.S`` (``4.4``, ``37.1``, and the merged
      homicide row ``1, 4.1/2/10``) names Home Office class ``C`` subcode ``S``.
   d. *class*: the ONS codes whose leading number is the Home Office class
      (``28F`` -> class 028) are combined by ``class_statistic`` (default:
      the median of the distinct ONS codes' weights).
   e. *fallback*: an indictable class (001-099) with no ONS weight takes the
      ``fallback_statistic`` (default median) of the class gravities of the
      indictable classes of its offence group, never below the summary
      gravity; every other class (000, 100 and above: summary and motoring
      classes) and a group with no weighted class take ``summary_gravity``.

3. **Points.** For each dataset::

       points = min(cap, round(base_points * (gravity / reference_gravity) ** exponent
                               * priority * dataset_multiplier))

   where ``priority`` is the first match of the code in the priorities file
   (offence, then category, then actuarial category, then group, then the
   default) and rounding is half-to-even or floor, after quantising to 1e-6
   points so that last-bit differences between maths libraries cannot change
   a result.

Same inputs give the same table, byte for byte: inputs are read in file
order, sorted where order is not meaningful, and every number is computed in
the same order with IEEE doubles. Only the standard library and numpy are used.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import math
import os
import re
import statistics
import tomllib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .codes import normalize_offence
from .errors import DerivationError, FileAccessError, OffenceCodeError
from .weights import Weights, shipped_file

__all__ = [
    "CATALOGUE_COLUMNS",
    "DATASETS",
    "INVALID_OFFENCE",
    "ONS_JOIN",
    "ONS_NOT_CLASS",
    "CatalogueEntry",
    "DerivationError",
    "Gravity",
    "Priorities",
    "build_catalogue",
    "build_default",
    "derive_gravity",
    "derive_weights",
    "load_catalogue",
    "load_priorities",
    "load_severity",
]

#: The datasets of the default table, in column order.
DATASETS: tuple[str, ...] = ("arrest", "disposal", "intelligence", "warrant", "dip")

#: Columns of ``weights/offence_catalogue.csv``.
CATALOGUE_COLUMNS: tuple[str, ...] = (
    "offence",
    "description",
    "group",
    "category",
    "actuarial_category",
)

#: The invalid-offence code: always 0 points.
INVALID_OFFENCE = "000/00"

#: Home Office classes 001-099 are the indictable (notifiable) classes; 000 and
#: 100 and above are summary, motoring and administrative classes.
_LAST_INDICTABLE_CLASS = 99

_CATALOGUE_SOURCE = (
    "Home Office offence codes, ministryofjustice/hmpps-arns-risk-actuarial-api "
    "wiremock-manage-offences-api/__files/actuarial-mapping.json "
    "@016919c5305b083e690a145856909c7b6de8c6a1 (MIT, Crown Copyright, Ministry of Justice)"
)
_SEVERITY_SOURCE = (
    "ONS Crime Severity Score weights (Open Government Licence), via "
    "M-O-P-D/Police-Supply-Demand data/policeuk-ons-code-join.csv "
    "@38420a1fbf0c6b4301053f9228f2285a24d8f239 (MIT)"
)

#: ONS codes whose leading number is *not* the catalogue's Home Office class of
#: that number. They never join by class; :data:`ONS_JOIN` places them.
ONS_NOT_CLASS: Mapping[str, str] = {
    "9A": "public fear, alarm or distress; HO class 009 is threat to commit criminal damage",
    "9B": "racially aggravated public fear; HO class 009 is threat to commit criminal damage",
    "62A": "violent disorder; HO class 062 is high treason, violent disorder is class 065",
    "106": "modern slavery; HO class 106 is betting, gaming and lotteries (summary)",
}

#: Reviewed joins of Home Office codes to one ONS severity code, where the
#: class join alone would be wrong or blur offences of very different gravity.
#: Each entry is ``(ons_code, ho_codes, reason)``; ``ho_codes`` are ``CCC/SS``
#: codes, inclusive ranges ``CCC/SS-CCC/SS`` or whole classes ``CCC``, matched
#: against the codes that exist in the catalogue. Every entry must match at
#: least one catalogue code and no code may be matched twice.
ONS_JOIN: tuple[tuple[str, tuple[str, ...], str], ...] = (
    # -- collisions: the ONS code's leading number is another offence ----------
    ("59", ("009",), "threat or possession with intent to commit criminal damage"),
    ("9A", ("125/09", "125/11", "125/12"), "Public Order Act 1986 s.4, s.4A, s.5"),
    (
        "9B",
        ("125/58", "125/61", "125/63", "125/82", "066/91", "008/36", "008/43", "008/49", "008/55"),
        "racially or religiously aggravated public order (s.4, s.4A, s.5)",
    ),
    ("62A", ("065",), "violent disorder"),
    ("106", ("099/25", "099/26"), "slavery, servitude, forced or compulsory labour"),
    # -- class 003: threats to kill versus conspiracy to murder ----------------
    ("3B", ("003/01",), "making threats to kill"),
    ("3A", ("003/02", "003/04-003/06"), "conspiring, encouraging or assisting murder"),
    # -- class 005 --------------------------------------------------------------
    ("5D", ("005/01",), "wounding with intent to do grievous bodily harm"),
    # -- class 008: assault, harassment, stalking and weapons share one class --
    ("8N", ("008/01", "008/06"), "grievous bodily harm without intent; actual bodily harm"),
    ("8S", ("008/07", "008/08"), "assault on a constable (indictable)"),
    (
        "8P",
        ("008/33", "008/34", "008/40", "008/41", "008/46", "008/47", "008/59", "008/60"),
        "racially or religiously aggravated wounding, GBH or ABH",
    ),
    (
        "105B",
        ("008/35", "008/42", "008/48", "008/57"),
        "racially or religiously aggravated common assault",
    ),
    ("8L", ("008/30",), "putting people in fear of violence"),
    (
        "8M",
        ("008/37", "008/38", "008/44", "008/45", "008/50", "008/51", "008/56", "008/58"),
        "racially or religiously aggravated harassment and stalking",
    ),
    ("8Q", ("008/65", "008/66"), "stalking"),
    ("8R", ("008/72",), "sending a threatening letter or communication"),
    ("10A", ("008/13-008/18", "008/23-008/25"), "possessing a firearm with intent"),
    ("10B", ("008/54",), "using another to mind a firearm"),
    (
        "10C",
        ("008/11", "008/28", "008/53", "008/61", "008/63", "008/75", "008/76"),
        "offensive weapons and corrosive substances: possession, threats",
    ),
    ("10D", ("008/26", "008/27", "008/62", "008/64"), "article with a blade or point"),
    # -- theft and fraud: ONS codes that share a number with another class ------
    ("33", ("033",), "going equipped for stealing"),
    ("33A", ("053/43",), "possessing articles for use in fraud"),
    ("49", ("049",), "other theft"),
    ("49A", ("053/25",), "making off without payment"),
    # -- class 056: arson --------------------------------------------------------
    ("56A", ("056/01",), "arson endangering life"),
    ("56B", ("056/02",), "arson not endangering life"),
    # -- class 058: criminal damage ---------------------------------------------
    ("58J", ("058/01-058/03",), "racially or religiously aggravated criminal damage"),
    # -- class 092: supply and production versus possession ---------------------
    (
        "92A",
        ("092/01-092/49", "092/70-092/93"),
        "importing, exporting, producing, supplying, possessing with intent to supply",
    ),
    ("92E", ("092/61", "092/66"), "possession of cannabis"),
    (
        "92D",
        ("092/50-092/60", "092/62-092/65", "092/67-092/69"),
        "possession of controlled drugs other than cannabis",
    ),
    # -- class 105: every subcode is an assault without injury -------------------
    ("105A", ("105",), "common assault and battery"),
)

_STATISTICS: dict[str, Callable[[list[float]], float]] = {
    "median": statistics.median,
    "mean": statistics.mean,
    "min": min,
    "max": max,
}
_ROUNDINGS = ("half_even", "floor")
_ONS_PART = re.compile(r"(\d+)(?:\.(\d+(?:/\d+)*))?([A-Z]?)")
_CODE_SPEC = re.compile(r"(\d{3})(?:/(\d{2})(?:-(\d{3})/(\d{2}))?)?")


# ---------------------------------------------------------------------------
# catalogue
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class CatalogueEntry:
    """One Home Office offence code of the catalogue.

    Attributes
    ----------
    offence : str
        Canonical ``CCC/SS`` code.
    description : str
        The Home Office description, white space collapsed.
    group : str
        The offence group (``Burglary``, ``Other summary offences``, ...).
    category : str
        The Home Office category, one per class in most cases.
    actuarial_category : str
        The Ministry of Justice actuarial category (``WEAPONS_NON_FIREARM``, ...).
    """

    offence: str
    description: str
    group: str
    category: str
    actuarial_category: str

    @property
    def offence_class(self) -> int:
        """The Home Office class, the first three digits (``028/01`` -> 28)."""
        return int(self.offence[:3])

    @property
    def subcode(self) -> int:
        """The subcode, the last two digits (``028/01`` -> 1)."""
        return int(self.offence[4:])


def _clean(text: str) -> str:
    return " ".join(text.split())


def _sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_catalogue(source_csv: str | os.PathLike[str], out: str | os.PathLike[str]) -> None:
    """Write the project's offence catalogue from the Home Office code list.

    Parameters
    ----------
    source_csv : path
        The shared ``ho_offence_codes.csv`` (columns ``ho_code_5``,
        ``parent_group``, ``category``, ``sub_category``, ``actuarial_category``, ...).
    out : path
        The catalogue to write, normally ``weights/offence_catalogue.csv``:
        two ``# key: value`` lines (source and its SHA-256), then
        ``offence,description,group,category,actuarial_category``, one row per
        code sorted by offence. White space in text fields is collapsed to
        single spaces.

    Raises
    ------
    DerivationError
        If a code is malformed, disagrees with its class and subcode columns,
        or appears twice.
    """
    source_csv = Path(source_csv)
    with source_csv.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    entries: dict[str, CatalogueEntry] = {}
    for line, row in enumerate(rows, start=2):
        where = f"{source_csv.name}: line {line}"
        try:
            code = normalize_offence(row["ho_code_5"])
        except (KeyError, ValueError) as exc:
            raise DerivationError(f"{where}: bad ho_code_5 ({exc})") from None
        parts = (row.get("ho_code"), row.get("ho_subcode"))
        if all(parts) and code != normalize_offence(f"{parts[0]}/{parts[1]}"):
            raise DerivationError(f"{where}: ho_code_5 disagrees with ho_code/ho_subcode")
        if code in entries:
            raise DerivationError(f"{where}: offence {code} appears twice")
        entries[code] = CatalogueEntry(
            offence=code,
            description=_clean(row["sub_category"]),
            group=_clean(row["parent_group"]),
            category=_clean(row["category"]),
            actuarial_category=_clean(row["actuarial_category"]),
        )
    buffer = io.StringIO()
    buffer.write(f"# source: {_CATALOGUE_SOURCE}\n")
    buffer.write(f"# source_sha256: {_sha256_file(source_csv)}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CATALOGUE_COLUMNS)
    for code in sorted(entries):
        entry = entries[code]
        writer.writerow([getattr(entry, column) for column in CATALOGUE_COLUMNS])
    Path(out).write_text(buffer.getvalue(), encoding="utf-8", newline="")


def _packaged(name: str) -> Path:
    """A shipped file of ``weights/`` (installed as ``iomscore._weights``)."""
    path = shipped_file(name)
    if not path.is_file():
        raise FileAccessError(
            f"{path}: iomscore ships no weights/{name}; pass its path explicitly", path=path
        )
    return path


def _read_text(path: Path, what: str) -> str:
    """The text of a UTF-8 input file; faults name the file (FileAccessError, DerivationError)."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DerivationError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise FileAccessError.from_os_error(exc, path, what) from None


def load_catalogue(path: str | os.PathLike[str] | None = None) -> list[CatalogueEntry]:
    """Read the offence catalogue.

    Parameters
    ----------
    path : path, optional
        A catalogue file as written by :func:`build_catalogue`. By default the
        packaged copy, ``iomscore._weights/offence_catalogue.csv`` (in a source
        checkout, ``weights/offence_catalogue.csv``).

    Returns
    -------
    list of CatalogueEntry
        One entry per code, sorted by offence.

    Raises
    ------
    DerivationError
        If the header is wrong, a code is not canonical, or codes repeat or are
        out of order.
    """
    path = _packaged("offence_catalogue.csv") if path is None else Path(path)
    lines = _read_text(path, "offence catalogue").splitlines()
    first = 0
    while first < len(lines) and lines[first].startswith("#"):
        first += 1
    reader = csv.reader(lines[first:])
    header = next(reader, None)
    if header is None or tuple(header) != CATALOGUE_COLUMNS:
        raise DerivationError(f"{path}: header must be {','.join(CATALOGUE_COLUMNS)}")
    entries: list[CatalogueEntry] = []
    for line, row in enumerate(reader, start=first + 2):
        if len(row) != len(CATALOGUE_COLUMNS):
            raise DerivationError(f"{path}: line {line}: {len(row)} fields, expected 5")
        entry = CatalogueEntry(*row)
        try:
            canonical = normalize_offence(entry.offence)
        except OffenceCodeError as exc:
            raise DerivationError(f"{path}: line {line}, field 'offence': {exc}") from None
        if canonical != entry.offence:
            raise DerivationError(f"{path}: line {line}: {entry.offence!r} is not canonical")
        if entries and entry.offence <= entries[-1].offence:
            raise DerivationError(
                f"{path}: line {line}: {entry.offence} repeats or is out of order"
            )
        entries.append(entry)
    if not entries:
        raise DerivationError(f"{path}: the catalogue is empty")
    return entries


def _catalogue_sha256(catalogue: Sequence[CatalogueEntry]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CATALOGUE_COLUMNS)
    for entry in catalogue:
        writer.writerow([getattr(entry, column) for column in CATALOGUE_COLUMNS])
    return hashlib.sha256(buffer.getvalue().encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------
# ONS severity weights
# ---------------------------------------------------------------------------
def load_severity(path: str | os.PathLike[str]) -> dict[str, float]:
    """Read the ONS Crime Severity Score weights, one per ONS code.

    Parameters
    ----------
    path : path
        The shared ``ons_crime_severity_weights.csv`` (columns
        ``ONS_SEVERITY_code`` and ``ONS_SEVERITY_weight``).

    Returns
    -------
    dict of str to float
        Severity weight (sentence-day equivalents) by ONS severity code, in
        code order. Rows repeating a code (the homicide row is given five
        times, ``30C`` and ``28C`` twice) are merged; they must agree.

    Raises
    ------
    DerivationError
        If a column is missing, a weight is not a positive number, a code is not
        understood or repeated rows disagree.
    """
    path = Path(path)
    reader = csv.DictReader(io.StringIO(_read_text(path, "severity file"), newline=""))
    columns = ("ONS_SEVERITY_code", "ONS_SEVERITY_weight")
    missing = [name for name in columns if name not in (reader.fieldnames or ())]
    if missing:
        raise DerivationError(f"{path.name}: line 1: no column {missing[0]!r}")
    weights: dict[str, float] = {}
    for line, row in enumerate(reader, start=2):
        code = (row["ONS_SEVERITY_code"] or "").strip()
        try:
            weight = float(row["ONS_SEVERITY_weight"])
        except (TypeError, ValueError):  # TypeError: a short row (no such field)
            raise DerivationError(f"{path.name}: line {line}: weight is not a number") from None
        if not math.isfinite(weight) or weight <= 0:
            raise DerivationError(f"{path.name}: line {line}: weight {weight} is not positive")
        try:
            _ons_targets(code)  # validates the spelling
        except DerivationError as exc:
            raise DerivationError(f"{path.name}: line {line}: {exc}") from None
        if code in weights and weights[code] != weight:
            raise DerivationError(f"{path.name}: line {line}: {code} repeated with another weight")
        weights[code] = weight
    return dict(sorted(weights.items()))


def _ons_targets(code: str) -> list[tuple[int, int | None]]:
    """Home Office ``(class, subcode or None)`` pairs an ONS code names by its spelling."""
    targets: list[tuple[int, int | None]] = []
    for part in code.split(","):
        match = _ONS_PART.fullmatch(part.strip())
        if match is None:
            raise DerivationError(f"ONS code {code!r} is not understood")
        number, subcodes, _letter = match.groups()
        if subcodes is None:
            targets.append((int(number), None))
        else:
            targets.extend((int(number), int(s)) for s in subcodes.split("/"))
    return targets


# ---------------------------------------------------------------------------
# priorities
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Priorities:
    """The force-editable assumptions of a derived table (``priorities.toml``).

    Attributes
    ----------
    name, effective : str
        Table name and ISO effective date, written into the table's metadata.
    base_points : float
        Points of an arrest (multiplier 1) for an offence of
        ``reference_gravity`` at priority 1 (points).
    reference_gravity : float
        The ONS severity weight that earns ``base_points``.
    gravity_exponent : float
        Points grow as ``gravity ** gravity_exponent``; 1 is proportional.
    rounding : str
        ``"half_even"`` or ``"floor"``.
    cap : int
        Most points of any one (dataset, offence), 1..100000 (points).
    class_statistic, fallback_statistic : str
        ``median``, ``mean``, ``min`` or ``max``: how several ONS weights of one
        class combine, and how the classes of a group give a fallback.
    min_points : int
        Least points of any (dataset, offence) whose gravity, priority and dataset
        multiplier are all above zero, so that every recorded offence counts.
    summary_gravity : float
        Gravity of summary classes and of codes with no weighted peer.
    datasets : tuple of (str, float)
        Dataset multipliers in column order.
    default_priority : float
        Priority of a code no rule matches.
    by_offence : tuple of (str, float)
        Code specs (``CCC/SS``, ``CCC/SS-CCC/SS``, ``CCC``) and their priority.
    by_category, by_actuarial_category, by_group : tuple of (str, float)
        Priorities by catalogue field value.
    sha256 : str
        SHA-256 of the priorities file's bytes, for provenance.
    """

    name: str
    effective: str
    base_points: float
    reference_gravity: float
    gravity_exponent: float
    rounding: str
    cap: int
    min_points: int
    class_statistic: str
    fallback_statistic: str
    summary_gravity: float
    datasets: tuple[tuple[str, float], ...]
    default_priority: float = 1.0
    by_offence: tuple[tuple[str, float], ...] = ()
    by_category: tuple[tuple[str, float], ...] = ()
    by_actuarial_category: tuple[tuple[str, float], ...] = ()
    by_group: tuple[tuple[str, float], ...] = ()
    sha256: str = field(default="", compare=False)


def _check_keys(table: Mapping[str, object], allowed: Iterable[str], where: str) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise DerivationError(f"{where}: unknown key(s) {unknown}")


def _number(table: Mapping[str, object], key: str, where: str, *, positive: bool = True) -> float:
    if key not in table:
        raise DerivationError(f"{where}: missing {key!r}")
    value = table[key]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DerivationError(f"{where}: {key!r} must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number) or number < 0 or (positive and number == 0):
        raise DerivationError(f"{where}: {key!r} must be {'> 0' if positive else '>= 0'}")
    return number


def _multipliers(table: object, where: str) -> tuple[tuple[str, float], ...]:
    if not isinstance(table, Mapping):
        raise DerivationError(f"{where} must be a table of name = multiplier")
    return tuple((str(k), _number(table, k, where, positive=False)) for k in table)


def _choice(table: Mapping[str, object], key: str, options: Iterable[str], where: str) -> str:
    value = table.get(key)
    options = tuple(options)
    if value not in options:
        raise DerivationError(f"{where}: {key!r} must be one of {list(options)}, got {value!r}")
    return str(value)


def load_priorities(path: str | os.PathLike[str]) -> Priorities:
    """Read and check a priorities file (see ``weights/priorities.toml``).

    Parameters
    ----------
    path : path
        A TOML file with ``name``, ``effective`` and the tables ``[scale]``,
        ``[gravity]``, ``[datasets]`` and ``[priority]`` (with optional
        sub-tables ``offence``, ``category``, ``actuarial_category``, ``group``).

    Returns
    -------
    Priorities

    Raises
    ------
    DerivationError
        On a missing or unknown key, or a value out of range; the message names
        the table and key.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FileAccessError.from_os_error(exc, path, "priorities file") from None
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DerivationError(f"{path}: not valid TOML ({exc})") from None
    where = path.name
    _check_keys(doc, ("name", "effective", "scale", "gravity", "datasets", "priority"), where)
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip() or "\n" in name:
        raise DerivationError(f"{where}: 'name' must be a one-line string")
    effective = doc.get("effective")
    if isinstance(effective, str):
        try:
            effective = datetime.date.fromisoformat(effective)
        except ValueError:
            raise DerivationError(f"{where}: 'effective' must be a date YYYY-MM-DD") from None
    if not isinstance(effective, datetime.date) or isinstance(effective, datetime.datetime):
        raise DerivationError(f"{where}: 'effective' must be a date YYYY-MM-DD")

    scale = doc.get("scale", {})
    w = f"{where} [scale]"
    _check_keys(
        scale,
        ("base_points", "reference_gravity", "gravity_exponent", "rounding", "cap", "min_points"),
        w,
    )
    cap = scale.get("cap")
    if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= Weights.MAX_POINTS:
        raise DerivationError(f"{w}: 'cap' must be a whole number 1..{Weights.MAX_POINTS}")
    min_points = scale.get("min_points", 0)
    if (
        isinstance(min_points, bool)
        or not isinstance(min_points, int)
        or not 0 <= min_points <= cap
    ):
        raise DerivationError(f"{w}: 'min_points' must be a whole number 0..cap")

    gravity = doc.get("gravity", {})
    g = f"{where} [gravity]"
    _check_keys(gravity, ("class_statistic", "fallback_statistic", "summary_gravity"), g)

    datasets = _multipliers(doc.get("datasets", {}), f"{where} [datasets]")
    if not datasets:
        raise DerivationError(f"{where} [datasets]: no dataset multipliers")

    priority = doc.get("priority", {})
    p = f"{where} [priority]"
    _check_keys(priority, ("default", "offence", "category", "actuarial_category", "group"), p)
    by_offence = _multipliers(priority.get("offence", {}), f"{p[:-1]}.offence]")
    for spec, _ in by_offence:
        _parse_spec(spec, f"{p[:-1]}.offence]")

    return Priorities(
        name=name.strip(),
        effective=effective.isoformat(),
        base_points=_number(scale, "base_points", w),
        reference_gravity=_number(scale, "reference_gravity", w),
        gravity_exponent=_number(scale, "gravity_exponent", w),
        rounding=_choice(scale, "rounding", _ROUNDINGS, w),
        cap=cap,
        min_points=min_points,
        class_statistic=_choice(gravity, "class_statistic", _STATISTICS, g),
        fallback_statistic=_choice(gravity, "fallback_statistic", _STATISTICS, g),
        summary_gravity=_number(gravity, "summary_gravity", g),
        datasets=datasets,
        default_priority=_number(priority, "default", p, positive=False)
        if "default" in priority
        else 1.0,
        by_offence=by_offence,
        by_category=_multipliers(priority.get("category", {}), f"{p[:-1]}.category]"),
        by_actuarial_category=_multipliers(
            priority.get("actuarial_category", {}), f"{p[:-1]}.actuarial_category]"
        ),
        by_group=_multipliers(priority.get("group", {}), f"{p[:-1]}.group]"),
        sha256=hashlib.sha256(raw).hexdigest(),
    )


def _parse_spec(spec: str, where: str) -> tuple[str, str]:
    """``CCC/SS``, ``CCC/SS-CCC/SS`` or ``CCC`` as an inclusive ``(low, high)`` code range."""
    match = _CODE_SPEC.fullmatch(spec.strip())
    if match is None:
        raise DerivationError(f"{where}: {spec!r} is not CCC/SS, CCC/SS-CCC/SS or CCC")
    klass, sub, klass2, sub2 = match.groups()
    if sub is None:
        return f"{klass}/00", f"{klass}/99"
    low = f"{klass}/{sub}"
    high = low if klass2 is None else f"{klass2}/{sub2}"
    if high < low:
        raise DerivationError(f"{where}: range {spec!r} runs backwards")
    return low, high


def _match_spec(spec: str, codes: Sequence[str], where: str) -> list[str]:
    low, high = _parse_spec(spec, where)
    return [code for code in codes if low <= code <= high]


# ---------------------------------------------------------------------------
# gravity
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Gravity:
    """The gravity of one code and how it was found.

    Attributes
    ----------
    offence : str
        Canonical code.
    value : float
        ONS severity weight used (sentence-day equivalents); 0 for ``000/00``.
    rule : str
        ``invalid``, ``join``, ``subcode``, ``class``, ``fallback-group`` or
        ``fallback-summary``.
    ons : tuple of str
        ONS codes the value came from (for a group fallback: the peer classes
        as ``CCC``; empty for ``invalid`` and ``fallback-summary``).
    """

    offence: str
    value: float
    rule: str
    ons: tuple[str, ...] = ()


def _majority_group(entries: Sequence[CatalogueEntry]) -> str:
    counts = Counter(entry.group for entry in entries)
    return min(counts, key=lambda group: (-counts[group], group))


def derive_gravity(
    catalogue: Sequence[CatalogueEntry],
    severity: Mapping[str, float],
    priorities: Priorities,
) -> dict[str, Gravity]:
    """The gravity of every catalogue code (rules a-e of the module docstring).

    Parameters
    ----------
    catalogue : sequence of CatalogueEntry
        The offence catalogue.
    severity : mapping of str to float
        ONS severity weight by ONS code, as from :func:`load_severity`.
    priorities : Priorities
        Supplies ``class_statistic``, ``fallback_statistic`` and ``summary_gravity``.

    Returns
    -------
    dict of str to Gravity
        By canonical code, in catalogue order.

    Raises
    ------
    DerivationError
        If :data:`ONS_JOIN` names an ONS code missing from ``severity``, matches
        no catalogue code, or matches a code twice.
    """
    codes = [entry.offence for entry in catalogue]
    by_class: dict[int, list[CatalogueEntry]] = defaultdict(list)
    for entry in catalogue:
        by_class[entry.offence_class].append(entry)

    # b. reviewed joins
    joined: dict[str, str] = {}
    for ons_code, specs, _reason in ONS_JOIN:
        if ons_code not in severity:
            raise DerivationError(f"ONS_JOIN: {ons_code} is not in the severity weights")
        for spec in specs:
            matched = _match_spec(spec, codes, f"ONS_JOIN {ons_code}")
            if not matched:
                raise DerivationError(f"ONS_JOIN {ons_code}: {spec} matches no catalogue code")
            for code in matched:
                if code in joined:
                    raise DerivationError(
                        f"ONS_JOIN: {code} joined to {joined[code]} and {ons_code}"
                    )
                joined[code] = ons_code

    # c, d. spellings: exact subcodes, and the ONS codes of each class
    exact: dict[str, list[str]] = defaultdict(list)
    native: dict[int, list[str]] = defaultdict(list)
    for ons_code in severity:
        if ons_code in ONS_NOT_CLASS:
            continue
        for klass, subcode in _ons_targets(ons_code):
            if subcode is not None:
                exact[f"{klass:03d}/{subcode:02d}"].append(ons_code)
            if ons_code not in native[klass]:
                native[klass].append(ons_code)
    class_stat = _STATISTICS[priorities.class_statistic]
    class_gravity = {
        klass: float(class_stat([severity[c] for c in ons_codes]))
        for klass, ons_codes in native.items()
        if klass in by_class
    }

    # e. fallback for indictable classes: peers are the weighted indictable
    # classes whose codes mostly lie in the same group
    group_of = {klass: _majority_group(entries) for klass, entries in by_class.items()}
    peers: dict[str, list[int]] = defaultdict(list)
    for klass in sorted(class_gravity):
        if 1 <= klass <= _LAST_INDICTABLE_CLASS:
            peers[group_of[klass]].append(klass)
    fallback_stat = _STATISTICS[priorities.fallback_statistic]
    floor = priorities.summary_gravity

    result: dict[str, Gravity] = {}
    for entry in catalogue:
        code, klass = entry.offence, entry.offence_class
        if code == INVALID_OFFENCE:
            result[code] = Gravity(code, 0.0, "invalid")
        elif code in joined:
            result[code] = Gravity(code, severity[joined[code]], "join", (joined[code],))
        elif code in exact:
            ons_codes = exact[code]
            value = float(class_stat([severity[c] for c in ons_codes]))
            result[code] = Gravity(code, value, "subcode", tuple(ons_codes))
        elif klass in class_gravity:
            result[code] = Gravity(code, class_gravity[klass], "class", tuple(native[klass]))
        elif 1 <= klass <= _LAST_INDICTABLE_CLASS and peers.get(group_of[klass]):
            peer_classes = peers[group_of[klass]]
            value = float(fallback_stat([class_gravity[k] for k in peer_classes]))
            result[code] = Gravity(
                code, max(value, floor), "fallback-group", tuple(f"{k:03d}" for k in peer_classes)
            )
        else:
            result[code] = Gravity(code, floor, "fallback-summary")
    return result


# ---------------------------------------------------------------------------
# points
# ---------------------------------------------------------------------------
def _priority_table(
    catalogue: Sequence[CatalogueEntry], priorities: Priorities
) -> dict[str, float]:
    """The priority of each code: first match of offence, category, actuarial, group."""
    codes = [entry.offence for entry in catalogue]
    by_offence: dict[str, float] = {}
    for spec, multiplier in priorities.by_offence:
        matched = _match_spec(spec, codes, "[priority.offence]")
        if not matched:
            raise DerivationError(f"[priority.offence]: {spec!r} matches no catalogue code")
        for code in matched:
            if code in by_offence:
                raise DerivationError(f"[priority.offence]: {code} is matched by two entries")
            by_offence[code] = multiplier
    fields = (
        ("category", dict(priorities.by_category)),
        ("actuarial_category", dict(priorities.by_actuarial_category)),
        ("group", dict(priorities.by_group)),
    )
    for name, table in fields:
        present = {getattr(entry, name) for entry in catalogue}
        missing = sorted(set(table) - present)
        if missing:
            raise DerivationError(f"[priority.{name}]: no catalogue code has {name} {missing}")
    result: dict[str, float] = {}
    for entry in catalogue:
        value: float | None = by_offence.get(entry.offence)
        for name, table in fields:
            if value is None:
                value = table.get(getattr(entry, name))
        result[entry.offence] = priorities.default_priority if value is None else value
    return result


def _points(raw: float, priorities: Priorities) -> int:
    quantised = round(raw, 6)
    whole = math.floor(quantised) if priorities.rounding == "floor" else round(quantised)
    return min(priorities.cap, int(whole))


def derive_weights(
    catalogue: Sequence[CatalogueEntry],
    severity_csv: str | os.PathLike[str],
    priorities: Priorities,
) -> Weights:
    """Derive a weight table from the catalogue, the ONS weights and the priorities.

    Parameters
    ----------
    catalogue : sequence of CatalogueEntry
        The offence catalogue (:func:`load_catalogue`); every code gets a row.
    severity_csv : path
        The ONS Crime Severity Score weights file (:func:`load_severity`).
    priorities : Priorities
        Scale, rounding, cap, gravity rules, dataset multipliers, priorities.

    Returns
    -------
    Weights
        One column per dataset of ``priorities.datasets``; points are integers
        in ``0..priorities.cap`` (points), 0 for ``000/00``. The metadata
        records the effective date, sources, rule and input hashes.

    Raises
    ------
    DerivationError
        If a priority rule matches no catalogue code, or the joins are broken.
    """
    severity_csv = Path(severity_csv)
    severity = load_severity(severity_csv)
    gravity = derive_gravity(catalogue, severity, priorities)
    priority = _priority_table(catalogue, priorities)
    base, reference = priorities.base_points, priorities.reference_gravity
    exponent = priorities.gravity_exponent
    points = np.zeros((len(priorities.datasets), len(catalogue)), dtype=np.int64)
    for j, entry in enumerate(catalogue):
        g = gravity[entry.offence].value
        if g == 0.0:
            continue
        scaled = base * (g / reference) ** exponent * priority[entry.offence]
        for i, (_dataset, multiplier) in enumerate(priorities.datasets):
            value = _points(scaled * multiplier, priorities)
            if scaled * multiplier > 0:
                value = max(value, priorities.min_points)
            points[i, j] = value
    metadata = {
        "effective": priorities.effective,
        "source": f"{_SEVERITY_SOURCE}; {_CATALOGUE_SOURCE}",
        "derivation": (
            "iomscore.derive (weights/README.md): points = max(min_points, min(cap, "
            "round(base_points * (gravity / reference_gravity) ** gravity_exponent * priority "
            "* dataset))); "
            f"base_points={priorities.base_points:g} "
            f"reference_gravity={priorities.reference_gravity:g} "
            f"gravity_exponent={priorities.gravity_exponent:g} "
            f"rounding={priorities.rounding} cap={priorities.cap} "
            f"min_points={priorities.min_points}"
        ),
        "priorities_sha256": priorities.sha256,
        "catalogue_sha256": _catalogue_sha256(catalogue),
        "severity_sha256": _sha256_file(severity_csv),
    }
    return Weights(
        [name for name, _ in priorities.datasets],
        [entry.offence for entry in catalogue],
        points,
        name=priorities.name,
        metadata=metadata,
        descriptions={entry.offence: entry.description for entry in catalogue},
    )


def build_default(
    priorities_path: str | os.PathLike[str] | None,
    catalogue_path: str | os.PathLike[str] | None = None,
    severity_csv: str | os.PathLike[str] | None = None,
    out_path: str | os.PathLike[str] | None = None,
) -> Weights:
    """Build a weight table from a priorities file and write it (``iomscore weights build``).

    Parameters
    ----------
    priorities_path : path or None
        The priorities file, e.g. a force's copy of ``weights/priorities.toml``;
        None for the shipped ``priorities.toml``.
    catalogue_path : path, optional
        The offence catalogue; by default the packaged
        ``iomscore._weights/offence_catalogue.csv``.
    severity_csv : path, optional
        The ONS Crime Severity Score weights; by default the packaged
        ``iomscore._weights/ons_crime_severity_weights.csv`` if the package
        ships one, else this argument is required.
    out_path : path, optional
        Where to write the table (canonical CSV of :meth:`Weights.save`); not
        written when None.

    Returns
    -------
    Weights
        The derived table.
    """
    if priorities_path is None:
        priorities_path = _packaged("priorities.toml")
    catalogue = load_catalogue(catalogue_path)
    if severity_csv is None:
        severity_csv = _packaged("ons_crime_severity_weights.csv")
    weights = derive_weights(catalogue, severity_csv, load_priorities(priorities_path))
    if out_path is not None:
        weights.save(out_path)
    return weights
