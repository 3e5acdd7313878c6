"""Offence groups and IOM cohort strands.

The national Integrated Offender Management framework (2020, guidance revised
2025) manages its cohort in three strands:

* **Fixed**: neighbourhood crime, the same in every force: domestic burglary,
  personal robbery, theft from the person and theft of or from a vehicle
  (:data:`FIXED_GROUPS`);
* **Flex**: local priorities, given here as offence groups a force chooses
  (:data:`DEFAULT_FLEX`: domestic abuse and violence);
* **Free**: any other offender of local concern.

Every Home Office offence code belongs to one offence group. The table of
groups, ``weights/offence_groups.csv``, is derived from the offence catalogue
by :func:`build_offence_groups`, whose rules (first match wins) are written
down, with the number of codes each gives, in ``weights/README.md``
("Offence groups and strands"). :class:`OffenceGroups` reads such a table.

A nominal's strand is decided by :func:`strand_of` (one nominal) or
:func:`strands` (a cohort, vectorised) from the points of its counting events
summed by offence group: the group holding the largest share of the points
decides, ties going to the fixed groups first, then the flex groups in the
order given, then the other groups alphabetically; a nominal with no points is
``free``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from .codes import normalize_offence
from .derive import CatalogueEntry, load_catalogue
from .errors import DerivationError, FileAccessError, OffenceCodeError, OptionError, RecordError
from .weights import read_metadata

__all__ = [
    "COLUMNS",
    "DEFAULT_FLEX",
    "DOMESTIC_ABUSE",
    "FIXED_GROUPS",
    "GROUPS",
    "OTHER",
    "STRANDS",
    "OffenceGroups",
    "assign_groups",
    "build_offence_groups",
    "strand_of",
    "strands",
]

#: The header of an offence-group table.
COLUMNS: tuple[str, ...] = ("offence", "group")

#: The four neighbourhood-crime groups of the Fixed strand, in tie-break order.
FIXED_GROUPS: tuple[str, ...] = (
    "domestic_burglary",
    "personal_robbery",
    "theft_from_person",
    "vehicle_theft",
)

#: The group of everything no rule places, and of codes a table does not name.
OTHER = "other"

#: The groups of the shipped table, in the order of the rules that assign them.
GROUPS: tuple[str, ...] = (
    *FIXED_GROUPS,
    "domestic_abuse",
    "violence",
    "sexual",
    "weapons",
    "drugs",
    "other_acquisitive",
    "public_order",
    OTHER,
)

#: The strands, in the order of the codes :func:`strands` returns (0, 1, 2).
STRANDS: tuple[str, ...] = ("fixed", "flex", "free")

#: The default Flex strand: the local priorities most forces name.
DEFAULT_FLEX: tuple[str, ...] = ("domestic_abuse", "violence")

#: Codes that are domestic abuse by their description, with the reason. Home
#: Office codes carry no domestic-abuse flag (police systems flag the crime,
#: not the offence), so this reviewed list holds only the offences whose
#: description names a domestic relationship, a protective order of domestic
#: abuse, stalking, or harassment itself. Every code must be in the catalogue.
DOMESTIC_ABUSE: tuple[tuple[tuple[str, ...], str], ...] = (
    (("008/67",), "controlling or coercive behaviour in an intimate or family relationship"),
    (("997/01",), "breach of a domestic violence protection order"),
    (("068/19", "068/20"), "breach of a domestic abuse protection order; its notification"),
    (("066/39",), "breach of a non-molestation order (Family Law Act 1996)"),
    (
        ("008/31", "008/39", "066/38"),
        "breach of a restraining order (Protection from Harassment Act 1997; "
        "Domestic Violence, Crime and Victims Act 2004)",
    ),
    (("008/29",), "breach of an injunction against harassment (was a molestation order)"),
    (("008/65", "008/66", "195/12"), "stalking (Protection from Harassment Act 1997)"),
    (("008/74",), "breach of a stalking order or interim stalking order"),
    (("195/94",), "offence of harassment (Protection from Harassment Act 1997 s.2)"),
)

_CATALOGUE_NAME = "iomscore-offence-groups-2026.12"
_SOURCE = (
    "weights/offence_catalogue.csv (Home Office offence codes, Crown Copyright, "
    "Ministry of Justice, MIT), grouped by the rules of iomscore.groups "
    '(weights/README.md, "Offence groups and strands")'
)
_GROUP_NAME = re.compile(r"[a-z][a-z0-9_]*")
_CANONICAL = re.compile(r"[0-9]{3}/[0-9]{2}")
_ROBBERY = re.compile(r"\brob(bery|beries)?\b", re.IGNORECASE)
_PEDAL_CYCLES = re.compile(r"\bpedal cycles\b", re.IGNORECASE)
_FROM_THE_PERSON = re.compile(r"\bfrom the person\b", re.IGNORECASE)
_THEFT_CLASSES = range(39, 50)  # Home Office classes 039-049: stealing


# ---------------------------------------------------------------------------
# the rules
# ---------------------------------------------------------------------------
def _domestic_abuse_codes() -> frozenset[str]:
    return frozenset(code for codes, _ in DOMESTIC_ABUSE for code in codes)


def _rules() -> tuple[tuple[str, str, Callable[[CatalogueEntry], bool]], ...]:
    """``(group, rule, predicate)`` in order; the first predicate that holds wins."""
    domestic_abuse = _domestic_abuse_codes()
    acquisitive = {
        "BURGLARY_OTHER",
        "ACQUISITIVE_VIOLENCE",
        "THEFT_NON_MOTOR",
        "HANDLING_STOLEN_GOODS",
        "VEHICLE_RELATED_THEFT",
    }
    return (
        (
            "domestic_burglary",
            "actuarial BURGLARY_DOMESTIC, or category 'Aggravated burglary in a dwelling'",
            lambda e: (
                e.actuarial_category == "BURGLARY_DOMESTIC"
                or e.category == "Aggravated burglary in a dwelling"
            ),
        ),
        (
            "personal_robbery",
            "description or category names robbery or intent to rob",
            lambda e: bool(_ROBBERY.search(e.description) or _ROBBERY.search(e.category)),
        ),
        (
            "theft_from_person",
            "description says 'from the person'",
            lambda e: bool(_FROM_THE_PERSON.search(e.description)),
        ),
        (
            "vehicle_theft",
            "actuarial VEHICLE_RELATED_THEFT, unless the category is about pedal cycles",
            lambda e: (
                e.actuarial_category == "VEHICLE_RELATED_THEFT"
                and not _PEDAL_CYCLES.search(e.category)
            ),
        ),
        (
            "domestic_abuse",
            "the reviewed list DOMESTIC_ABUSE",
            lambda e: e.offence in domestic_abuse,
        ),
        (
            "violence",
            "actuarial VIOLENCE_AGAINST_THE_PERSON_*",
            lambda e: e.actuarial_category.startswith("VIOLENCE_AGAINST_THE_PERSON_"),
        ),
        ("sexual", "actuarial SEXUAL_*", lambda e: e.actuarial_category.startswith("SEXUAL_")),
        (
            "weapons",
            "actuarial WEAPONS_NON_FIREARM or FIREARMS_*",
            lambda e: (
                e.actuarial_category == "WEAPONS_NON_FIREARM"
                or e.actuarial_category.startswith("FIREARMS_")
            ),
        ),
        ("drugs", "actuarial DRUG_*", lambda e: e.actuarial_category.startswith("DRUG_")),
        (
            "other_acquisitive",
            "actuarial burglary, theft, handling or acquisitive violence left by the rules "
            "above, or a stealing class 039-049",
            lambda e: e.actuarial_category in acquisitive or e.offence_class in _THEFT_CLASSES,
        ),
        (
            "public_order",
            "actuarial PUBLIC_ORDER_AND_HARRASSMENT",
            lambda e: e.actuarial_category == "PUBLIC_ORDER_AND_HARRASSMENT",
        ),
        (OTHER, "everything else", lambda e: True),
    )


def assign_groups(catalogue: Iterable[CatalogueEntry]) -> dict[str, str]:
    """The offence group of every catalogue code, by the rules in order.

    Parameters
    ----------
    catalogue : iterable of CatalogueEntry
        The offence catalogue (:func:`iomscore.derive.load_catalogue`).

    Returns
    -------
    dict of str to str
        Group by canonical ``CCC/SS`` code, in catalogue order.

    Raises
    ------
    DerivationError
        If a code of :data:`DOMESTIC_ABUSE` is not in the catalogue, or a rule
        other than ``other`` places no code (a catalogue without robbery, say,
        would otherwise leave a fixed group silently empty).
    """
    entries = list(catalogue)
    known = {entry.offence for entry in entries}
    missing = sorted(_domestic_abuse_codes() - known)
    if missing:
        raise DerivationError(
            f"DOMESTIC_ABUSE names codes not in the catalogue: {', '.join(missing)}"
        )
    rules = _rules()
    groups: dict[str, str] = {}
    for entry in entries:
        groups[entry.offence] = next(group for group, _, holds in rules if holds(entry))
    used = Counter(groups.values())
    for group, rule, _ in rules:
        if group != OTHER and not used[group]:
            raise DerivationError(f"the rule for {group!r} ({rule}) matches no catalogue code")
    return groups


def build_offence_groups(
    catalogue_csv: str | os.PathLike[str] | None, out: str | os.PathLike[str] | None = None
) -> OffenceGroups:
    """Write the offence-group table derived from the offence catalogue.

    Parameters
    ----------
    catalogue_csv : path or None
        The offence catalogue (``weights/offence_catalogue.csv``); None for the
        packaged copy.
    out : path, optional
        The table to write, normally ``weights/offence_groups.csv``: three
        ``# key: value`` lines (``name``, ``source``, ``source_sha256``, the
        SHA-256 of the catalogue file), the header ``offence,group`` and one row
        per catalogue code, sorted by offence, ``\\n`` line ends. Same
        catalogue, same bytes.

    Returns
    -------
    OffenceGroups
        The table written.

    Raises
    ------
    DerivationError
        If the catalogue is malformed or the rules cannot be applied to it
        (see :func:`assign_groups`).
    """
    path = Path(catalogue_csv) if catalogue_csv is not None else None
    catalogue = load_catalogue(path)
    if path is None:
        from .weights import shipped_file

        path = shipped_file("offence_catalogue.csv")
    groups = assign_groups(catalogue)
    buffer = io.StringIO()
    buffer.write(f"# name: {_CATALOGUE_NAME}\n")
    buffer.write(f"# source: {_SOURCE}\n")
    buffer.write(f"# source_sha256: {hashlib.sha256(path.read_bytes()).hexdigest()}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for code in sorted(groups):
        writer.writerow([code, groups[code]])
    text = buffer.getvalue()
    if out is not None:
        try:
            Path(out).write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            raise FileAccessError.from_os_error(
                exc, out, "offence-group table", writing=True
            ) from None
    return OffenceGroups(_CATALOGUE_NAME, groups)


# ---------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------
class OffenceGroups:
    """The offence group of every Home Office code: a table ``offence,group``.

    Parameters
    ----------
    name : str
        The table's name (its ``# name:`` line).
    mapping : mapping of str to str
        Group by canonical ``CCC/SS`` code.

    Notes
    -----
    A code the table does not name (a force's local code in its own weight
    table, say) is in the group :data:`OTHER`, which is therefore always one
    of :attr:`groups`.
    """

    def __init__(self, name: str, mapping: Mapping[str, str]):
        self.name = name
        self._group = dict(mapping)
        present = set(self._group.values()) | {OTHER}
        #: The groups: those of :data:`GROUPS` present, in that order, then any
        #: local groups alphabetically.
        self.groups: tuple[str, ...] = (
            *(g for g in GROUPS if g in present),
            *sorted(present - set(GROUPS)),
        )
        index = {group: i for i, group in enumerate(self.groups)}
        codes = sorted(self._group)
        self._codes = np.array(codes, dtype="U6")
        self._code_group = np.array([index[self._group[c]] for c in codes], dtype=np.int64)
        self._other = index[OTHER]

    def __repr__(self) -> str:
        return f"OffenceGroups({self.name!r}, {len(self._group)} codes, {len(self.groups)} groups)"

    def __len__(self) -> int:
        return len(self._group)

    # -- reading ------------------------------------------------------------------
    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> OffenceGroups:
        """Read a table (``# key: value`` lines, then ``offence,group``).

        Parameters
        ----------
        path : path
            The CSV file, UTF-8 (a byte-order mark is allowed).

        Returns
        -------
        OffenceGroups

        Raises
        ------
        RecordError
            If the header is not ``offence,group``, a row has not two fields, a
            code is not canonical ``CCC/SS`` or appears twice, a group is not a
            lower-case identifier, the table is empty, or a fixed group has no
            code; the message names the file and line.
        FileAccessError
            If the file cannot be read.
        """
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise RecordError(f"{path}: not UTF-8 text ({exc.reason})") from None
        except OSError as exc:
            raise FileAccessError.from_os_error(exc, path, "offence-group table") from None
        return cls.from_text(text, source=os.fspath(path))

    @classmethod
    def default(cls) -> OffenceGroups:
        """The shipped table, ``weights/offence_groups.csv``."""
        from .weights import shipped_file

        return cls.load(shipped_file("offence_groups.csv"))

    @classmethod
    def from_text(cls, text: str, *, source: str = "<text>") -> OffenceGroups:
        """Parse the text of a table; ``source`` names it in error messages."""
        lines = text.splitlines()
        metadata, first = read_metadata(lines)
        name = metadata.get("name", "unnamed")
        rows = list(csv.reader(io.StringIO("\n".join(lines[first:]))))
        if not rows or tuple(h.strip() for h in rows[0]) != COLUMNS:
            raise RecordError(
                f"{source}: line {first + 1}: the header must be '{','.join(COLUMNS)}'",
                field="header",
            )
        mapping: dict[str, str] = {}
        for number, row in enumerate(rows[1:], start=first + 2):
            where = f"{source}: line {number}"
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            if len(row) != len(COLUMNS):
                raise RecordError(f"{where}: expected an offence and a group", field="offence")
            code, group = row[0].strip(), row[1].strip()
            if not _CANONICAL.fullmatch(code):
                try:
                    hint = f" (write {normalize_offence(code)})"
                except OffenceCodeError:
                    hint = ""
                raise RecordError(
                    f"{where}: offence {code!r} is not a canonical CCC/SS code{hint}",
                    field="offence",
                )
            if code in mapping:
                raise RecordError(f"{where}: offence {code} appears twice", field="offence")
            if not _GROUP_NAME.fullmatch(group):
                raise RecordError(
                    f"{where}: group {group!r} is not a lower-case identifier "
                    "(letters, digits and _, starting with a letter)",
                    field="group",
                )
            mapping[code] = group
        if not mapping:
            raise RecordError(f"{source}: the table names no offence")
        absent = [group for group in FIXED_GROUPS if group not in set(mapping.values())]
        if absent:
            raise RecordError(
                f"{source}: no code is in the fixed group(s) {', '.join(absent)} "
                "(the Fixed strand is national: every table must place neighbourhood crime)",
                field="group",
            )
        return cls(name, mapping)

    # -- lookups ------------------------------------------------------------------
    def group_of(self, offence_code: str) -> str:
        """The group of one code (any accepted spelling); :data:`OTHER` if not named.

        Raises
        ------
        OffenceCodeError
            If ``offence_code`` is not a Home Office code in any accepted spelling.
        """
        group = self._group.get(offence_code) if isinstance(offence_code, str) else None
        if group is None:
            group = self._group.get(normalize_offence(offence_code), OTHER)
        return group

    def codes(self, group: str) -> tuple[str, ...]:
        """The codes of ``group``, sorted; ``KeyError`` if it is not one of :attr:`groups`."""
        if group not in self.groups:
            raise KeyError(group)
        return tuple(code for code in sorted(self._group) if self._group[code] == group)

    def group_index(self, offences: Sequence[str]) -> np.ndarray:
        """The group of each code, as an index into :attr:`groups`.

        Parameters
        ----------
        offences : sequence of str
            Offence codes, typically a weight table's ``Weights.offences``
            (canonical; other accepted spellings are normalised).

        Returns
        -------
        numpy.ndarray of int64
            ``groups[result[i]]`` is the group of ``offences[i]``; a code the
            table does not name gets the index of :data:`OTHER`.

        Raises
        ------
        OffenceCodeError
            If a value is not a Home Office code in any accepted spelling.
        """
        wanted = np.asarray(list(offences), dtype=str)
        result = np.full(wanted.shape[0], self._other, dtype=np.int64)
        if wanted.size == 0 or self._codes.size == 0:
            return result
        where = np.searchsorted(self._codes, wanted)
        clipped = np.minimum(where, self._codes.size - 1)
        hit = self._codes[clipped] == wanted
        result[hit] = self._code_group[clipped[hit]]
        for i in np.flatnonzero(~hit).tolist():  # other spellings, or codes not named
            canonical = normalize_offence(str(wanted[i]))
            j = int(np.searchsorted(self._codes, canonical))
            if j < self._codes.size and self._codes[j] == canonical:
                result[i] = self._code_group[j]
        return result


# ---------------------------------------------------------------------------
# strands
# ---------------------------------------------------------------------------
def _check_flex(flex: Sequence[str]) -> tuple[str, ...]:
    if isinstance(flex, str):
        raise OptionError(f"flex: a sequence of group names, not the string {flex!r}")
    flex = tuple(flex)
    if len(set(flex)) != len(flex):
        raise OptionError(f"flex: groups must be distinct names, got {flex!r}")
    fixed = [group for group in flex if group in FIXED_GROUPS]
    if fixed:
        raise OptionError(
            f"flex: {', '.join(fixed)} is a fixed group (neighbourhood crime is always Fixed)"
        )
    return flex


def _precedence(group: str, flex: tuple[str, ...]) -> tuple[int, int, str]:
    """Tie-break key, smallest first: fixed groups, then flex in order, then the rest by name."""
    if group in FIXED_GROUPS:
        return (0, FIXED_GROUPS.index(group), "")
    if group in flex:
        return (1, flex.index(group), "")
    return (2, 0, group)


def _strand_code(group: str, flex: tuple[str, ...]) -> int:
    if group in FIXED_GROUPS:
        return 0
    return 1 if group in flex else 2


def strand_of(points_by_group: Mapping[str, int], flex: Sequence[str] = DEFAULT_FLEX) -> str:
    """The strand of one nominal.

    Parameters
    ----------
    points_by_group : mapping of str to int
        The points of the nominal's counting events, summed by offence group
        (groups with no points may be left out). Points are not negative.
    flex : sequence of str, default :data:`DEFAULT_FLEX`
        The groups of the Flex strand, in tie-break order; no fixed group.

    Returns
    -------
    str
        ``"fixed"``, ``"flex"`` or ``"free"``. The group holding the most points
        (the largest share) decides: ``fixed`` if it is one of
        :data:`FIXED_GROUPS`, ``flex`` if it is one of ``flex``, else ``free``.
        Ties go to the fixed groups first (in :data:`FIXED_GROUPS` order), then
        the flex groups in their order, then the other groups alphabetically.
        A nominal with no points is ``free``.

    Raises
    ------
    OptionError
        If ``flex`` repeats a group or names a fixed group.
    ValueError
        If a points value is negative.
    """
    flex = _check_flex(flex)
    best: str | None = None
    best_points = 0
    for group, points in points_by_group.items():
        points = int(points)
        if points < 0:
            raise ValueError(f"group {group!r} has negative points ({points})")
        if points == 0:
            continue
        if (
            best is None
            or points > best_points
            or (points == best_points and _precedence(group, flex) < _precedence(best, flex))
        ):
            best, best_points = group, points
    return "free" if best is None else STRANDS[_strand_code(best, flex)]


def strands(
    group_points: np.ndarray, groups: Sequence[str], flex: Sequence[str] = DEFAULT_FLEX
) -> np.ndarray:
    """The strand of every nominal of a cohort, as :func:`strand_of` gives it row by row.

    Parameters
    ----------
    group_points : numpy.ndarray, shape (n_nominals, n_groups), integer
        Points of counting events by nominal (row) and group (column); not negative.
    groups : sequence of str
        The group of each column (distinct), such as ``OffenceGroups.groups``.
    flex : sequence of str, default :data:`DEFAULT_FLEX`
        The groups of the Flex strand, in tie-break order; each one of ``groups``.

    Returns
    -------
    numpy.ndarray of int8, shape (n_nominals,)
        Index into :data:`STRANDS` (0 fixed, 1 flex, 2 free).

    Raises
    ------
    OptionError
        If ``flex`` repeats a group, names a fixed group or a group not in ``groups``.
    ValueError
        If the shape does not match ``groups``, the points are not integers,
        a value is negative or ``groups`` repeats a name.
    """
    flex = _check_flex(flex)
    groups = tuple(groups)
    if len(set(groups)) != len(groups):
        raise ValueError(f"groups repeat a name: {groups!r}")
    unknown = [group for group in flex if group not in groups]
    if unknown:
        raise OptionError(f"flex: {', '.join(unknown)} is not one of the groups {groups!r}")
    points = np.asarray(group_points)
    if points.ndim != 2 or points.shape[1] != len(groups):
        raise ValueError(f"group_points has shape {points.shape}, expected (n, {len(groups)})")
    if points.size and not np.issubdtype(points.dtype, np.integer):
        raise ValueError(f"group_points must be integers, not {points.dtype}")
    if points.size and points.min() < 0:
        raise ValueError("group_points has negative points")
    result = np.full(points.shape[0], 2, dtype=np.int8)
    if points.size == 0:
        return result
    # Columns in tie-break order: argmax takes the first of equal maxima.
    order = sorted(range(len(groups)), key=lambda j: _precedence(groups[j], flex))
    ordered = points[:, order]
    winner = np.argmax(ordered, axis=1)
    column_strand = np.array([_strand_code(groups[j], flex) for j in order], dtype=np.int8)
    scored = ordered[np.arange(points.shape[0]), winner] > 0
    result[scored] = column_strand[winner[scored]]
    return result
