"""ASSET and OASys assessments: the assessment table, batches, and the engine's book.

Rule 10 (``iomscore.reference``): an assessment ``(assessment_id, nominal_id,
tool, score, date)`` gets the points of the range of its tool that holds its
raw score. At D, for each (nominal, tool), only the latest assessment dated
inside the window counts (the highest assessment_id on the same date), and
its points add to the nominal's score.

- :class:`AssessmentTable` is the CSV ``tool,low,high,points`` (``#`` metadata
  lines first, as for a weight table), with a SHA-256 of its content.
- :func:`encode_assessments` checks a batch; a :class:`~iomscore.errors.RecordError`
  names the row and field of the first fault.
- :class:`AssessmentBook` is what an engine holds: every assessment (by id),
  and for each (nominal, tool) the one that counts now. Changes return the
  change of each nominal's points, which the engine adds to its scores.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import itertools
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .batch import (
    RowLabel,
    _columns,
    _day_column,
    _encode_text,
    _id_column,
    check_unique_sorted,
    distinct_ids,
    row_label,
    sorted_with_rows,
)
from .errors import EventError, RecordError

__all__ = [
    "COLUMNS",
    "KNOWN_RANGES",
    "AssessmentBatch",
    "AssessmentBook",
    "AssessmentList",
    "AssessmentTable",
    "encode_assessments",
]

COLUMNS = ("assessment_id", "nominal_id", "tool", "score", "date")
#: The whole range of the raw score of the tools the framework names: ASSET's
#: total (0-64) and OASys's OGRS3 two-year reoffending probability (0-99 %). A
#: table's ranges for these tools must cover exactly these.
KNOWN_RANGES = {"asset": (0, 64), "oasys": (0, 99)}
#: The most points a range may give (as for a weight table).
MAX_POINTS = 100_000
_TOOL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_MAX_TOOLS = 64
_MAX_SPAN = 1_000_000  # raw scores of one tool
# the book's record for each (nominal, tool): the assessment that counts (id -1:
# none), its points and day, and the last change that touched it
_GROUP = np.dtype([("id", np.int64), ("points", np.int64), ("day", np.int32), ("stamp", np.int32)])


class AssessmentTable:
    """Points for the raw scores of each assessment tool (rule 10).

    Parameters
    ----------
    rows : sequence of (tool, low, high, points)
        Inclusive ranges of the raw score. Within a tool, ranges may not
        overlap and must leave no gap; ``asset`` and ``oasys`` must cover
        :data:`KNOWN_RANGES`. Points are integers 0..100,000.
    name : str
    metadata : mapping, optional
        The ``#`` lines of the file.
    lines : sequence of int, optional
        The file line of each row, for error messages.
    """

    def __init__(
        self,
        rows: list[tuple[str, int, int, int]],
        *,
        name: str = "unnamed",
        metadata: Mapping[str, str] | None = None,
        lines: list[int] | None = None,
        source: str = "<table>",
    ) -> None:
        where = (
            [f"{source}: line {n}" for n in lines]
            if lines
            else [f"{source}: row {i + 1}" for i in range(len(rows))]
        )
        if not rows:
            raise RecordError(f"{source}: the assessment table has no rows")
        for (tool, low, high, points), at in zip(rows, where, strict=True):
            if not _TOOL_NAME.match(tool):
                raise RecordError(
                    f"{at}, field 'tool': {tool!r} is not a tool name (lower-case letters, "
                    "digits and _, starting with a letter)"
                )
            if low > high:
                raise RecordError(f"{at}, field 'high': {high} is below low {low}")
            if not 0 <= points <= MAX_POINTS:
                raise RecordError(f"{at}, field 'points': {points} is outside 0..{MAX_POINTS}")
        tools = tuple(dict.fromkeys(row[0] for row in rows))
        if len(tools) > _MAX_TOOLS:
            raise RecordError(f"{source}: more than {_MAX_TOOLS} tools")
        order = sorted(range(len(rows)), key=lambda i: (tools.index(rows[i][0]), rows[i][1]))
        for before, after in itertools.pairwise(order):
            (tool_a, _, high_a, _), (tool_b, low_b, _, _) = rows[before], rows[after]
            if tool_a != tool_b:
                continue
            if low_b <= high_a:
                raise RecordError(
                    f"{where[after]}: the range {low_b}-{rows[after][2]} of tool {tool_b!r} "
                    f"overlaps {rows[before][1]}-{high_a} ({where[before].split(': ')[-1]})"
                )
            if low_b > high_a + 1:
                raise RecordError(
                    f"{where[after]}: the ranges of tool {tool_b!r} leave a gap {high_a + 1}-"
                    f"{low_b - 1} between this row and {where[before].split(': ')[-1]}"
                )
        self.name = str(name)
        self.metadata = dict(metadata or {})
        self.tools: tuple[str, ...] = tools
        ordered = [rows[i] for i in order]
        self.tool = np.array([tools.index(r[0]) for r in ordered], dtype=np.int64)
        self.low = np.array([r[1] for r in ordered], dtype=np.int64)
        self.high = np.array([r[2] for r in ordered], dtype=np.int64)
        self.points = np.array([r[3] for r in ordered], dtype=np.int64)
        for code, tool in enumerate(tools):
            mine = self.tool == code
            span = (int(self.low[mine].min()), int(self.high[mine].max()))
            known = KNOWN_RANGES.get(tool)
            if known is not None and span != known:
                raise RecordError(
                    f"{source}: the ranges of tool {tool!r} cover {span[0]}-{span[1]}, not its "
                    f"whole range {known[0]}-{known[1]}"
                )
        # A raw score's points: a table of every score of every tool, each tool's
        # scores from its lowest (a tool spans at most _MAX_SPAN scores).
        self._lowest = np.array([self.tool_range(t)[0] for t in tools], np.int64)
        self._highest = np.array([self.tool_range(t)[1] for t in tools], np.int64)
        spans = self._highest - self._lowest + 1
        if spans.max() > _MAX_SPAN:
            raise RecordError(f"{source}: a tool's scores span more than {_MAX_SPAN:,} values")
        self._offset = np.concatenate(([0], np.cumsum(spans)[:-1])) - self._lowest
        self._lookup = np.empty(int(spans.sum()), np.int64)
        for t, lo, hi, p in zip(
            self.tool.tolist(),
            self.low.tolist(),
            self.high.tolist(),
            self.points.tolist(),
            strict=True,
        ):
            self._lookup[self._offset[t] + lo : self._offset[t] + hi + 1] = p
        self.sha256 = hashlib.sha256(self._canonical_bytes()).hexdigest()

    def _canonical_bytes(self) -> bytes:
        lines = ["tool,low,high,points"] + [
            f"{self.tools[t]},{lo},{hi},{p}"
            for t, lo, hi, p in zip(
                self.tool.tolist(),
                self.low.tolist(),
                self.high.tolist(),
                self.points.tolist(),
                strict=True,
            )
        ]
        return ("\n".join(lines) + "\n").encode("utf-8")

    def __repr__(self) -> str:
        tools = list(self.tools)
        return f"AssessmentTable({self.name!r}, tools={tools}, sha256={self.sha256[:12]}...)"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AssessmentTable) and self.sha256 == other.sha256

    def __hash__(self) -> int:
        return hash(self.sha256)

    def tool_range(self, tool: str) -> tuple[int, int]:
        """The lowest and highest raw score of a tool."""
        mine = self.tool == self.tools.index(tool)
        return int(self.low[mine].min()), int(self.high[mine].max())

    def points_of(self, tools: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Points (int64) of each (tool code, raw score); -1 where no range holds it."""
        tools = np.asarray(tools, dtype=np.intp)
        scores = np.asarray(scores, dtype=np.int64)
        inside = (scores >= self._lowest[tools]) & (scores <= self._highest[tools])
        if inside.all():
            return self._lookup[self._offset[tools] + scores]
        out = np.full(scores.shape, -1, np.int64)
        out[inside] = self._lookup[self._offset[tools[inside]] + scores[inside]]
        return out

    def as_reference(self) -> dict[str, list[tuple[int, int, int]]]:
        """The table in the form ``iomscore.reference`` reads."""
        out: dict[str, list[tuple[int, int, int]]] = {tool: [] for tool in self.tools}
        for t, lo, hi, p in zip(
            self.tool.tolist(),
            self.low.tolist(),
            self.high.tolist(),
            self.points.tolist(),
            strict=True,
        ):
            out[self.tools[t]].append((lo, hi, p))
        return out

    def to_csv_text(self) -> str:
        """The file's text: ``#`` metadata, then ``tool,low,high,points``."""
        meta = {"name": self.name, **{k: v for k, v in self.metadata.items() if k != "name"}}
        head = "".join(f"# {key}: {value}\n" for key, value in meta.items())
        return head + self._canonical_bytes().decode("utf-8")

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> AssessmentTable:
        """Read an assessment table CSV; a RecordError names the line and field of a fault."""
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise RecordError(f"{path}: cannot read the assessment table ({reason})") from None
        return cls.from_text(text, source=str(path))

    @classmethod
    def default(cls) -> AssessmentTable:
        """The shipped table, ``weights/assessments.csv`` (see ``weights/README.md``)."""
        from .weights import shipped_file

        return cls.load(shipped_file("assessments.csv"))

    @classmethod
    def from_text(cls, text: str, *, source: str = "<text>") -> AssessmentTable:
        from .weights import read_metadata

        lines = text.splitlines()
        metadata, first = read_metadata(lines)
        reader = csv.reader(io.StringIO("\n".join(lines[first:])))
        header = [h.strip() for h in next(reader, [])]
        if header != ["tool", "low", "high", "points"]:
            raise RecordError(
                f"{source}: line {first + 1}: the header must be 'tool,low,high,points'"
            )
        rows: list[tuple[str, int, int, int]] = []
        numbers: list[int] = []
        for number, row in enumerate(reader, start=first + 2):
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != 4:
                raise RecordError(f"{source}: line {number}: {len(row)} fields, expected 4")
            values = []
            for name, cell in zip(("low", "high", "points"), row[1:], strict=True):
                text_value = cell.strip()
                if not re.fullmatch(r"-?\d+", text_value):
                    raise RecordError(
                        f"{source}: line {number}, field {name!r}: {cell!r} is not a whole number"
                    )
                values.append(int(text_value))
            rows.append((row[0].strip(), values[0], values[1], values[2]))
            numbers.append(number)
        return cls(
            rows,
            name=metadata.get("name", Path(source).stem),
            metadata=metadata,
            lines=numbers,
            source=source,
        )


@dataclass(frozen=True)
class AssessmentBatch:
    """A checked batch: ids, nominal ids, tool codes (of the table), raw scores,
    day numbers and points, one entry per row."""

    assessment_id: np.ndarray
    nominal_id: np.ndarray
    tool: np.ndarray  # int8 codes into the table's tools
    score: np.ndarray  # int64 raw scores
    day: np.ndarray  # int32 day numbers
    points: np.ndarray  # int64, under the table the batch was checked against
    table_sha256: str
    # the ids sorted and the row of each (the check's sort, kept for the book's index)
    id_index: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return int(self.assessment_id.shape[0])

    def id_index_of(self, take: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """:attr:`id_index` of the rows ``take`` (a mask) selects, numbered as rows of
        that selection; None if the batch has no index."""
        if self.id_index is None:
            return None
        ordered, rows = self.id_index
        kept = take[rows]
        if kept.all():
            return self.id_index
        position = np.cumsum(take) - 1
        return ordered[kept], position[rows[kept]]


def encode_assessments(
    batch: object, table: AssessmentTable, *, label: RowLabel = row_label
) -> AssessmentBatch:
    """Check a batch of assessments against a table; a RecordError names the row and
    field of the first fault, and nothing of the batch is taken."""
    try:
        columns, n = _columns(batch, COLUMNS, "assessments")
        ids = _id_column(columns["assessment_id"], "assessment_id", label)
        nominals = _id_column(columns["nominal_id"], "nominal_id", label)
        known = list(table.tools)

        def tool_code(value: str) -> int | str:
            code = value.strip().lower()
            if code in table.tools:
                return known.index(code)
            return (
                f"unknown tool {value!r} (the assessment table {table.name!r} has "
                f"{', '.join(known)})"
            )

        codes, rows = _encode_text(columns["tool"], "tool", label, tool_code)
        tools = codes[rows].astype(np.int8) if n else np.empty(0, np.int8)
        scores = _id_column(columns["score"], "score", label, signed=True)
        days = _day_column(columns["date"], "date", label)
        id_index = sorted_with_rows(ids)
        check_unique_sorted(*id_index, ids, label, "assessment_id")
    except EventError as exc:
        raise RecordError(str(exc), row=exc.row, field=exc.field) from None
    points = table.points_of(tools, scores)
    outside = np.flatnonzero(points < 0)
    if outside.size:
        row = int(outside[0])
        tool = known[int(tools[row])]
        low, high = table.tool_range(tool)
        raise RecordError(
            f"{label(row)}, field 'score': {int(scores[row])} is outside the range {low}-{high} "
            f"of tool {tool!r}",
            row=row,
            field="score",
        )
    return AssessmentBatch(ids, nominals, tools, scores, days, points, table.sha256, id_index)


@dataclass(frozen=True)
class AssessmentList:
    """One nominal's assessments, by date then assessment_id, each with its points
    under the table in force and its status: ``counting`` (it adds to the score),
    ``superseded`` (a later one of the same tool is held) or ``expired`` (the
    latest of its tool, dated before the window)."""

    nominal_id: int
    as_of: datetime.date
    table_name: str
    table_sha256: str
    assessment_id: np.ndarray = field(repr=False)
    tool: tuple[str, ...] = field(repr=False)
    score: np.ndarray = field(repr=False)
    date: np.ndarray = field(repr=False)  # datetime64[D]
    points: np.ndarray = field(repr=False)
    status: tuple[str, ...] = field(repr=False)
    expires: np.ndarray = field(repr=False)  # datetime64[D], rule 7

    def __len__(self) -> int:
        return int(self.assessment_id.shape[0])

    def rows(self) -> list[tuple[int, str, int, datetime.date, int, str, datetime.date]]:
        """``(assessment_id, tool, score, date, points, status, expires)``."""
        return list(
            zip(
                self.assessment_id.tolist(),
                self.tool,
                self.score.tolist(),
                self.date.astype("datetime64[D]").tolist(),
                self.points.tolist(),
                self.status,
                self.expires.astype("datetime64[D]").tolist(),
                strict=True,
            )
        )


class AssessmentBook:
    """Every assessment an engine holds, and the one that counts for each (nominal, tool).

    Rows are kept in the order they came (columns ``ids``, ``nominal`` store
    index, ``tool`` code, ``score``, ``day``), with an index of the ids: the ids
    sorted and the row of each, merged at each change (a batch's own index comes
    from the sort that checked its ids for repeats, so rows in no particular
    order cost no further sort). For each group ``g = nominal *
    n_tools + tool``, ``current`` holds the id of the assessment that counts
    (-1 for none), with its day and points. Counting ones are filed by day,
    so that moving the window forward visits only those that leave it; every
    row is filed by day too, for the purge at the retention horizon, which
    marks rows dead (``nominal`` -1) and drops them from the columns at the
    next change, or once a quarter of the rows are dead.

    Changes take the window's first day out (``start``: the day before the
    window) and return ``(nominal_index, delta)``: the change of the points of
    each nominal whose assessments moved, for the engine to add to its scores.
    """

    def __init__(self, n_tools: int) -> None:
        self.n_tools = n_tools
        self.ids = np.empty(0, np.int64)
        self.nominal = np.empty(0, np.int32)
        self.tool = np.empty(0, np.int8)
        self.score = np.empty(0, np.int64)
        self.day = np.empty(0, np.int32)
        self._id_sorted = np.empty(0, np.int64)  # the ids ascending
        self._id_rows = np.empty(0, np.int64)  # the row of each
        self._groups = np.empty(0, _GROUP)
        self._views()
        self._due: dict[int, list[np.ndarray]] = {}
        self._dated: dict[int, list[np.ndarray]] = {}  # ids of every row, by day
        self._dead = 0
        self._epoch = 0
        # the rows sorted by nominal index (order, nominals), built when first needed
        self._nominal_order: tuple[np.ndarray, np.ndarray] | None = None

    def __len__(self) -> int:
        return int(self.ids.shape[0]) - self._dead

    @property
    def nbytes(self) -> int:
        """Bytes of the columns and the counting assessments' arrays."""
        rows = (self.ids, self.nominal, self.tool, self.score, self.day)
        rows += (self._id_sorted, self._id_rows)
        return sum(a.nbytes for a in rows) + self._groups.nbytes

    # -- lookups ---------------------------------------------------------------------------
    def _reserve(self, n_nominals: int) -> None:
        """Room in the group arrays for every nominal (grown by half again at least)."""
        need = n_nominals * self.n_tools
        have = self._groups.shape[0]
        if have < need:
            size = max(need, have + have // 2)
            size += -size % self.n_tools  # whole nominals
            groups = np.zeros(size, _GROUP)
            groups[:have] = self._groups
            groups["id"][have:] = -1
            self._groups = groups
            self._views()

    def _views(self) -> None:
        """The group records' fields as arrays (strided views: ``current`` the id of
        the assessment that counts or -1, ``current_day``, ``current_points``,
        ``_stamp`` the last change that touched the group). One record per group,
        so a change that visits groups in no order touches one cache line each."""
        groups = self._groups
        self.current = groups["id"]
        self.current_day = groups["day"]
        self.current_points = groups["points"]
        self._stamp = groups["stamp"]

    def find(self, ids: np.ndarray) -> np.ndarray:
        """The row of each id, or -1."""
        held = self._id_sorted
        if held.shape[0] == 0:
            return np.full(np.shape(ids), -1, np.int64)
        at = np.searchsorted(held, ids)
        at[at == held.shape[0]] = 0
        rows = self._id_rows[at]
        found = (held[at] == ids) & (self.nominal[rows] >= 0)
        return np.where(found, rows, -1)

    def base(self, n_nominals: int) -> np.ndarray:
        """The points every nominal's counting assessments add (int64, by store index)."""
        self._reserve(n_nominals)
        return self.current_points[: n_nominals * self.n_tools].reshape(-1, self.n_tools).sum(1)

    def counting(self, n_nominals: int) -> np.ndarray:
        """Which nominals (by store index) have a counting assessment."""
        self._reserve(n_nominals)
        return (self.current[: n_nominals * self.n_tools] >= 0).reshape(-1, self.n_tools).any(1)

    def any_counting(self) -> bool:
        return bool(self._due)

    def of_nominal(self, index: int) -> np.ndarray:
        """The rows of one nominal's assessments, by day then id (a lookup in the rows
        sorted by nominal, sorted again after a change)."""
        if self._nominal_order is None or self._nominal_order[0].size != self.ids.size:
            order = np.argsort(self.nominal, kind="stable")
            self._nominal_order = (order, self.nominal[order])
        order, nominals = self._nominal_order
        lo, hi = np.searchsorted(nominals, np.array([index, index + 1], dtype=nominals.dtype))
        rows = order[lo:hi]
        return rows[np.lexsort((self.ids[rows], self.day[rows]))]

    def currents_of(self, index: int) -> np.ndarray:
        """The rows of one nominal's counting assessments (at most one per tool)."""
        mine = self.current[index * self.n_tools : (index + 1) * self.n_tools]
        if mine.shape[0] == 0 or (mine < 0).all():
            return np.empty(0, np.intp)
        return self.find(mine[mine >= 0])

    def counting_entries(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(nominal_index, day, points)`` of every counting assessment."""
        groups = np.flatnonzero(self.current >= 0)
        return (
            (groups // self.n_tools).astype(np.int64),
            self.current_day[groups].astype(np.int64),
            self.current_points[groups],
        )

    def at(self, start: int, day: int, points_of: Callable, n_nominals: int):
        """Rule 10 at a past day: ``(points, counted)`` by nominal store index, for the
        window ``(start, day]`` (day numbers). The rows dated in it are offered to
        scratch group records, as a change offers new rows (one pass, no sort)."""
        inside = np.flatnonzero((self.day > start) & (self.day <= day))  # dead rows: no day
        groups = np.zeros(n_nominals * self.n_tools, _GROUP)
        groups["id"] = -1
        if inside.size:
            from ._core import offer_latest

            tool = self.tool[inside]
            offer_latest(
                self.nominal[inside],
                tool,
                self.day[inside],
                self.ids[inside],
                points_of(tool, self.score[inside]),
                start,
                self.n_tools,
                groups["id"],
                groups["day"],
                groups["points"],
                groups["stamp"],
                1,
            )
        points = groups["points"].reshape(-1, self.n_tools).sum(1)
        counted = (groups["id"] >= 0).reshape(-1, self.n_tools).any(1)
        return points, counted

    # -- changes ---------------------------------------------------------------------------
    def classify(self, batch_ids: np.ndarray, nominal: np.ndarray, batch: AssessmentBatch):
        """For each row of a batch: its held row (-1 if new) and whether the held one
        has the same content."""
        held = self.find(batch_ids)
        same = np.zeros(held.shape[0], dtype=bool)
        known = held >= 0
        if known.any():
            h = held[known]
            same[known] = (
                (self.nominal[h] == nominal[known])
                & (self.tool[h] == batch.tool[known])
                & (self.score[h] == batch.score[known])
                & (self.day[h] == batch.day[known])
            )
        return held, same

    def change(
        self,
        remove: np.ndarray,
        add: tuple[np.ndarray, ...],
        start: int,
        points_of: Callable,
        n_nominals: int,
        id_index: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Remove rows (distinct) and add ``(ids, nominal, tool, score, day[, points])``
        (ids not held, distinct; ``id_index``, if given, their ids sorted and the row
        of each, as :func:`~iomscore.batch.sorted_with_rows` gives); returns
        ``(nominal_index, delta)``: the change of points of each group's nominal (a
        nominal may come once per tool)."""
        self._reserve(n_nominals)
        if self._dead:  # ids are then unique in the columns again
            keep = self.nominal >= 0
            new_position = np.cumsum(keep) - 1
            self._take(keep)
            remove = new_position[remove]
        T = self.n_tools
        self._epoch += 1
        if self._epoch == np.iinfo(np.int32).max:  # restart stamps rather than wrap
            self._stamp[:] = 0
            self._epoch = 1
        epoch = self._epoch
        touched, before = [], []
        # a group whose counting assessment goes is counted again from its rows
        refound = np.empty(0, np.int64)
        if remove.size:
            group = self.nominal[remove].astype(np.int64) * T + self.tool[remove]
            refound = distinct_ids(group[self.current[group] == self.ids[remove]])
            keep = np.ones(self.ids.shape[0], dtype=bool)
            keep[remove] = False
            self._take(keep)
            if refound.size:
                touched.append(refound)
                before.append(self.current_points[refound].copy())
                self._stamp[refound] = epoch
                self.current[refound] = -1
                self.current_points[refound] = 0
        ids, nominal, tool, score, day = add[:5]
        if ids.size:
            nominal = nominal.astype(np.int32, copy=False)
            tool = tool.astype(np.int8, copy=False)
            day = day.astype(np.int32, copy=False)
            # their points: given (a checked batch's), or under points_of
            points = add[5] if len(add) > 5 else points_of(tool, score)
            groups, old = self._offer(nominal, tool, day, ids, points, start, epoch)
            touched.append(groups)
            before.append(old)
            self._insert(ids, nominal, tool, score, day, id_index)
        if refound.size:
            # the rows left in these groups: the latest inside the window counts
            row_group = self.nominal.astype(np.int64) * T + self.tool
            rows = np.flatnonzero(np.isin(row_group, refound) & (self.day > start))
            if rows.size:
                self._offer(
                    self.nominal[rows],
                    self.tool[rows],
                    self.day[rows],
                    self.ids[rows],
                    points_of(self.tool[rows], self.score[rows]),
                    start,
                    epoch,
                )
        if not touched:
            return np.empty(0, np.int32), np.empty(0, np.int64)
        from ._core import settle_groups

        groups = np.concatenate(touched)
        delta, counting, day = settle_groups(
            groups, np.concatenate(before), self.current, self.current_day, self.current_points
        )
        self._file(self._due, groups[counting], day[counting])
        moved = delta != 0
        return (groups[moved] // T).astype(np.int32), delta[moved]

    def _offer(self, nominal, tool, day, ids, points, start, epoch):
        """Offer rows as their groups' counting assessment (``_core.offer_latest``)."""
        from ._core import offer_latest

        return offer_latest(
            np.ascontiguousarray(nominal, dtype=np.int32),
            np.ascontiguousarray(tool, dtype=np.int8),
            np.ascontiguousarray(day, dtype=np.int32),
            np.ascontiguousarray(ids, dtype=np.int64),
            np.ascontiguousarray(points, dtype=np.int64),
            start,
            self.n_tools,
            self.current,
            self.current_day,
            self.current_points,
            self._stamp,
            epoch,
        )

    def _insert(self, ids, nominal, tool, score, day, id_index=None) -> None:
        """Append rows to the columns (copies: the book writes to its own), merge
        their ids into the index, and file their ids by day."""
        self._nominal_order = None
        base = self.ids.shape[0]
        new_ids, new_rows = sorted_with_rows(ids) if id_index is None else id_index
        new_rows = new_rows + base
        columns = (
            (self.ids, ids, np.int64),
            (self.nominal, nominal, np.int32),
            (self.tool, tool, np.int8),
            (self.score, score, np.int64),
            (self.day, day, np.int32),
        )
        self.ids, self.nominal, self.tool, self.score, self.day = (
            np.concatenate((old, new.astype(dtype, copy=False))) for old, new, dtype in columns
        )
        if base == 0:
            self._id_sorted, self._id_rows = new_ids.astype(np.int64), new_rows
        else:
            at = np.searchsorted(self._id_sorted, new_ids)
            self._id_sorted = np.insert(self._id_sorted, at, new_ids)
            self._id_rows = np.insert(self._id_rows, at, new_rows)
        self._file(self._dated, ids, day)

    @staticmethod
    def _file(filed: dict[int, list[np.ndarray]], values: np.ndarray, days: np.ndarray) -> None:
        """File values (groups, or ids) under their day (a counting sort)."""
        if values.size == 0:
            return
        from ._core import by_day

        distinct, ends, ordered = by_day(
            np.ascontiguousarray(days, dtype=np.int32), np.ascontiguousarray(values, np.int64)
        )
        start = 0
        for day, end in zip(distinct.tolist(), ends.tolist(), strict=True):
            filed.setdefault(day, []).append(ordered[start:end])
            start = end

    def _by_nominal(self, groups: np.ndarray, delta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        moved = delta != 0
        return (groups[moved] // self.n_tools).astype(np.int32), delta[moved]

    def expire(self, start: int) -> tuple[np.ndarray, np.ndarray]:
        """Move the window's start to ``start`` (the day before its first day): the
        counting assessments dated on or before it stop counting."""
        days = [d for d in self._due if d <= start]
        if not days:
            return np.empty(0, np.int32), np.empty(0, np.int64)
        groups = np.concatenate([g for d in days for g in self._due.pop(d)])
        # an entry is stale if its group counts another assessment now
        stale = (self.current[groups] < 0) | (self.current_day[groups] > start)
        groups = distinct_ids(groups[~stale])
        delta = -self.current_points[groups]
        self.current[groups] = -1
        self.current_points[groups] = 0
        return self._by_nominal(groups, delta)

    def reprice(self, points_of: Callable) -> tuple[np.ndarray, np.ndarray]:
        """Points of every counting assessment under a new table; returns the change
        by nominal."""
        groups = np.flatnonzero(self.current >= 0)
        rows = self.find(self.current[groups])
        points = points_of(self.tool[rows], self.score[rows])
        delta = points - self.current_points[groups]
        self.current_points[groups] = points
        return self._by_nominal(groups, delta)

    def purge(self, horizon: int) -> int:
        """Drop the assessments dated on or before the retention horizon (day number):
        none of them counts at any date the engine can show. Visits the rows filed
        under those days; returns how many went."""
        days = [d for d in self._dated if d <= horizon]
        if not days:
            return 0
        ids = np.concatenate([i for d in days for i in self._dated.pop(d)])
        rows = self.find(ids)
        rows = distinct_ids(rows[rows >= 0])
        rows = rows[self.day[rows] <= horizon]  # not a row corrected to a later date
        self.nominal[rows] = -1
        self.day[rows] = np.iinfo(np.int32).min
        self._nominal_order = None
        self._dead += int(rows.size)
        if self._dead * 4 > self.ids.size:
            self._take(self.nominal >= 0)
        return int(rows.size)

    def _take(self, keep: np.ndarray) -> None:
        """Keep these rows (a mask); dead rows it keeps stay dead."""
        self._nominal_order = None
        kept = keep[self._id_rows]
        self._id_sorted = self._id_sorted[kept]
        self._id_rows = (np.cumsum(keep) - 1)[self._id_rows[kept]]
        self.ids = self.ids[keep]
        self.nominal = self.nominal[keep]
        self.tool = self.tool[keep]
        self.score = self.score[keep]
        self.day = self.day[keep]
        self._dead = int(np.count_nonzero(self.nominal < 0))

    def rows(self) -> tuple[np.ndarray, ...]:
        """``(ids, nominal_index, tool, score, day)`` of every row, in the order they
        came (a reopened engine takes them in that order again)."""
        if self._dead:
            self._take(self.nominal >= 0)
        return self.ids, self.nominal, self.tool, self.score, self.day


def expiry_days(days: np.ndarray, window_years: int) -> np.ndarray:
    """Rule 7 for day numbers (any dates)."""
    from .calendar import expiry_day

    distinct, at = np.unique(days, return_inverse=True)
    return np.array([expiry_day(int(d), window_years) for d in distinct], np.int64)[at]
