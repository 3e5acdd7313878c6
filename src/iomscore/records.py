"""The engine's records in SQLite: weight tables, the change log and the audit log.

An engine directory keeps them in ``records.sqlite`` (WAL mode, ``secure_delete``
on; ``Records._transaction`` says when a commit is flushed), in tables other
tools can query read-only::

    weight_tables(sha256, name, csv, first_used)        every table ever scored with
    assessment_tables(sha256, name, csv, first_used)    every assessment table used
    assessments(assessment_id, nominal_id, tool, score, date)   held assessments
    ownership(nominal_id, area, from_date)               owners; a transfer adds a row
    decisions(seq, nominal_id, date, action, meeting_id, lead_agency, tier, reason,
              note, strand, strand_reason)                selections and de-selections
    interventions(intervention_id, nominal_id, kind, start, end, lead_agency)
    change_log(generation, sequence, position, date, nominal_id, old_band, new_band,
               score, cause)                             every band change reported
    audit_log(id, time, user_id, operation, nominal_ids, touched, reason,
              generation, sequence, previous_hash, hash)  every change, and audited reads

The event arrays stay in the snapshot and journal (:mod:`iomscore.durable`);
each fact has one home. Assessments move scores, so like events they are
journaled (the commit point) and kept in the snapshot; ``assessments`` here is
their copy for other tools to query, written in the same transaction as the
change's other records and rewritten by a replay if a crash cut it off.

A change is journaled first (the commit point), then applied, then its
records are written in one SQLite transaction keyed by the journal record's
(generation, sequence). Reopening replays the journal and writes the records
of any change whose transaction a crash cut off (insert or ignore, by that
key), so the two never disagree once the directory is open.

The audit log is hash-chained: each entry holds the SHA-256 of the one before
and its own, over its fields. :meth:`Records.verify` recomputes the chain and
names the first entry edited or deleted; the count and last hash are also
written to the snapshot at each checkpoint, so entries cut from the end of the
log are found too. An engine without a directory keeps its audit log in an
in-memory database.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .calendar import from_day_number
from .errors import RecordError, StateError
from .interventions import NOT_ENDED
from .results import BAND_NAMES, BandChanges

__all__ = ["FILE", "AuditEntry", "Records"]

FILE = "records.sqlite"
#: An audit entry lists the nominal ids an operation touched up to this many;
#: beyond, it gives their count only.
LISTED_NOMINALS = 20
_GENESIS = "0" * 64

_SCHEMA = """
CREATE TABLE IF NOT EXISTS weight_tables (
    sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, csv TEXT NOT NULL, first_used TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS change_log (
    generation INTEGER NOT NULL, sequence INTEGER NOT NULL, position INTEGER NOT NULL,
    date TEXT NOT NULL, nominal_id INTEGER NOT NULL, old_band TEXT NOT NULL,
    new_band TEXT NOT NULL, score INTEGER NOT NULL, cause TEXT NOT NULL,
    PRIMARY KEY (generation, sequence, position)
);
CREATE INDEX IF NOT EXISTS change_log_date ON change_log (date);
CREATE TABLE IF NOT EXISTS audit_log (
    id INTEGER PRIMARY KEY, time TEXT NOT NULL, user_id TEXT, operation TEXT NOT NULL,
    nominal_ids TEXT, touched INTEGER NOT NULL, reason TEXT,
    generation INTEGER, sequence INTEGER, previous_hash TEXT NOT NULL, hash TEXT NOT NULL,
    UNIQUE (generation, sequence)
);
CREATE TABLE IF NOT EXISTS interventions (
    intervention_id INTEGER PRIMARY KEY, nominal_id INTEGER NOT NULL, kind TEXT NOT NULL,
    start TEXT NOT NULL, "end" TEXT, lead_agency TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS interventions_nominal ON interventions (nominal_id);
CREATE TABLE IF NOT EXISTS assessment_tables (
    sha256 TEXT PRIMARY KEY, name TEXT NOT NULL, csv TEXT NOT NULL, first_used TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS assessments (
    assessment_id INTEGER PRIMARY KEY, nominal_id INTEGER NOT NULL, tool TEXT NOT NULL,
    score INTEGER NOT NULL, date TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS assessments_nominal ON assessments (nominal_id);
CREATE INDEX IF NOT EXISTS assessments_date ON assessments (date);
CREATE TABLE IF NOT EXISTS ownership (
    nominal_id INTEGER NOT NULL, area TEXT NOT NULL, from_date TEXT NOT NULL,
    PRIMARY KEY (nominal_id, from_date)
);
CREATE TABLE IF NOT EXISTS decisions (
    seq INTEGER PRIMARY KEY, nominal_id INTEGER NOT NULL, date TEXT NOT NULL,
    action TEXT NOT NULL, meeting_id TEXT NOT NULL, lead_agency TEXT, tier TEXT, reason TEXT,
    note TEXT, strand TEXT, strand_reason TEXT
);
CREATE INDEX IF NOT EXISTS decisions_nominal ON decisions (nominal_id);
"""


@dataclass(frozen=True)
class AuditEntry:
    """One audited operation. ``touched`` counts the events or records it touched
    (rows of a batch, events that left the window, nominals whose band a
    reweight moved; 1 for a read), and ``nominal_ids`` lists their nominals when
    they are at most :data:`LISTED_NOMINALS` (None for a bulk change)."""

    id: int
    time: str
    user_id: str | None
    operation: str
    nominal_ids: tuple[int, ...] | None
    touched: int
    reason: str | None


def _entry_hash(previous: str, fields: Sequence[object]) -> str:
    text = json.dumps([previous, *fields], separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def _touched(nominal_ids: np.ndarray) -> tuple[str | None, int]:
    """The nominal ids of a small change, listed, and how many rows it touched (a
    bulk change is counted, not listed: no sort of a day's rows on its step)."""
    rows = int(np.asarray(nominal_ids).shape[0])
    if rows > LISTED_NOMINALS:
        return None, rows
    return json.dumps(sorted(set(np.asarray(nominal_ids, dtype=np.int64).tolist()))), rows


class Records:
    """The records database of an engine (a directory's file, or in memory).

    One connection, shared by the engine's threads: every transaction and read
    holds a lock, so concurrent readers (audited reads) neither interleave their
    transactions nor fork the audit chain. A SQLite failure is a StateError.
    """

    def __init__(
        self, directory: Path | None, *, readonly: bool = False, create: bool = False
    ) -> None:
        self.path = None if directory is None else directory / FILE
        self._mutex = threading.RLock()
        if self.path is not None and not create and not self.path.exists():
            raise StateError(f"{self.path}: the records database is missing", path=self.path)
        try:
            if self.path is None:
                self._db = sqlite3.connect(
                    ":memory:", isolation_level=None, check_same_thread=False
                )
            else:
                self._db = sqlite3.connect(
                    self.path, isolation_level=None, timeout=30, check_same_thread=False
                )
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.execute("PRAGMA secure_delete=ON")
            if not readonly:
                self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StateError(
                f"{self.path}: not a records database ({exc})", path=self.path
            ) from None

    def close(self) -> None:
        with self._mutex:
            self._db.close()

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """Hold the lock; a SQLite failure becomes a StateError naming the file."""
        with self._mutex:
            try:
                yield
            except sqlite3.ProgrammingError as exc:  # a closed database
                raise StateError(f"{self.path or 'records'}: closed ({exc})") from None
            except sqlite3.Error as exc:
                raise StateError(f"{self.path or 'records'}: {exc}", path=self.path) from None

    @contextlib.contextmanager
    def _transaction(self, journaled: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction, under the lock: committed whole or rolled back.

        A journaled change's records are flushed with the write-ahead log's next
        flush, not at their commit (``synchronous=NORMAL``): the journal, flushed
        already, holds the change, and a reopen writes any records a crash lost.
        Every other record (an intervention, an audited read) is flushed at its
        commit (``FULL``); a flush also carries every earlier commit to disk.
        """
        with self._errors():
            db = self._db
            if self.path is not None:
                db.execute(f"PRAGMA synchronous={'NORMAL' if journaled else 'FULL'}")
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # -- writes -----------------------------------------------------------------
    def commit(
        self,
        key: tuple[int, int] | None,
        *,
        time: str,
        user: str | None,
        reason: str | None,
        operation: str,
        touched: np.ndarray,
        day: datetime.date,
        changes: BandChanges,
        tables: Sequence[tuple[str, str, str]] = (),
        assessment_tables: Sequence[tuple[str, str, str]] = (),
        assessments: Sequence[tuple[int, int, str, int, str]] = (),
        assessments_removed: Sequence[int] = (),
        purge_through: datetime.date | None = None,
    ) -> None:
        """One change's records, in one transaction: its band changes, any new weight
        or assessment table (sha256, name, csv), assessments added or replaced
        (id, nominal_id, tool, score, ISO date) and removed (ids), and its audit
        entry. Under a journal key already written, nothing is written again (a
        replay after a crash)."""
        with self._transaction(journaled=key is not None) as db:
            if (
                key is not None
                and db.execute(
                    "SELECT 1 FROM audit_log WHERE generation = ? AND sequence = ?", key
                ).fetchone()
            ):
                return
            if key is not None and len(changes):
                date = day.isoformat()
                db.executemany(
                    "INSERT OR IGNORE INTO change_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        (*key, k, date, n, BAND_NAMES[o], BAND_NAMES[b], s, operation)
                        for k, (n, o, b, s) in enumerate(
                            zip(
                                changes.nominal_id.tolist(),
                                changes.old_band.tolist(),
                                changes.new_band.tolist(),
                                changes.score.tolist(),
                                strict=True,
                            )
                        )
                    ),
                )
            for sha, name, csv in tables:
                db.execute(
                    "INSERT OR IGNORE INTO weight_tables VALUES (?, ?, ?, ?)",
                    (sha, name, csv, day.isoformat()),
                )
            for sha, name, csv in assessment_tables:
                db.execute(
                    "INSERT OR IGNORE INTO assessment_tables VALUES (?, ?, ?, ?)",
                    (sha, name, csv, day.isoformat()),
                )
            db.executemany(
                "DELETE FROM assessments WHERE assessment_id = ?",
                ((int(i),) for i in assessments_removed),
            )
            db.executemany("INSERT OR REPLACE INTO assessments VALUES (?, ?, ?, ?, ?)", assessments)
            if purge_through is not None:  # the retention horizon (by the index on date)
                db.execute("DELETE FROM change_log WHERE date <= ?", (purge_through.isoformat(),))
                db.execute("DELETE FROM assessments WHERE date <= ?", (purge_through.isoformat(),))
            self._append_audit(time, user, operation, touched, reason, key)

    def audit_read(
        self, *, time: str, user: str, operation: str, nominal_id: int, reason: str | None
    ) -> None:
        """Record a read of one nominal's record by a user."""
        with self._transaction():
            self._append_audit(time, user, operation, np.array([nominal_id]), reason, None)

    # -- interventions (records of their own: no journal, no score) ------------------
    def add_interventions(
        self, batch, *, time: str, user: str | None, reason: str | None, label
    ) -> None:
        """Record a checked batch (iomscore.interventions.InterventionBatch) whole, with
        its audit entry; an id already recorded is a RecordError naming the row."""
        ids = batch.intervention_id.tolist()
        with self._transaction() as db:
            held: set[int] = set()
            for lo in range(0, len(ids), 500):
                chunk = ids[lo : lo + 500]
                marks = ",".join("?" * len(chunk))
                held.update(
                    row[0]
                    for row in db.execute(
                        "SELECT intervention_id FROM interventions "
                        f"WHERE intervention_id IN ({marks})",
                        chunk,
                    )
                )
            if held:
                row = next(i for i, value in enumerate(ids) if value in held)
                raise RecordError(
                    f"{label(row)}, field 'intervention_id': intervention {ids[row]} is already "
                    "recorded (end or retract it instead)",
                    row=row,
                    field="intervention_id",
                )
            db.executemany(
                "INSERT INTO interventions VALUES (?, ?, ?, ?, ?, ?)",
                zip(
                    ids,
                    batch.nominal_id.tolist(),
                    batch.kind,
                    [from_day_number(d).isoformat() for d in batch.start.tolist()],
                    [
                        None if d == NOT_ENDED else from_day_number(d).isoformat()
                        for d in batch.end.tolist()
                    ],
                    batch.lead_agency,
                    strict=True,
                ),
            )
            self._append_audit(time, user, "record_interventions", batch.nominal_id, reason, None)

    def add_ownership(
        self, rows, nominal_ids: np.ndarray, *, time: str, user: str | None, reason: str | None
    ) -> None:
        """Record owners ``(nominal_id, area, from_date ISO)`` (a row for a recorded
        nominal and date replaces its area), with the audit entry, in one transaction."""
        with self._transaction() as db:
            db.executemany("INSERT OR REPLACE INTO ownership VALUES (?, ?, ?)", rows)
            self._append_audit(time, user, "record_owners", nominal_ids, reason, None)

    def add_decisions(self, decisions, *, time: str, user: str | None, reason: str | None) -> None:
        """Record decisions (iomscore.cohort.Decision, checked) in order, with the audit
        entry, in one transaction."""
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO decisions (nominal_id, date, action, meeting_id, lead_agency, tier, "
                "reason, note, strand, strand_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (
                        d.nominal_id,
                        d.date.isoformat(),
                        d.action,
                        d.meeting_id,
                        d.lead_agency,
                        d.tier,
                        d.reason,
                        d.note,
                        d.strand,
                        d.strand_reason,
                    )
                    for d in decisions
                ),
            )
            touched = np.array([d.nominal_id for d in decisions], np.int64)
            self._append_audit(time, user, "decide", touched, reason, None)

    def active_interventions(self, nominal_ids: Sequence[int], day: datetime.date):
        """``(nominal_id, kind)`` of the interventions of these nominals active on a day,
        by nominal, start and id (one query per 900 nominals)."""
        text, listed = day.isoformat(), sorted(set(nominal_ids))
        found: list[tuple[int, str]] = []
        with self._errors():
            for at in range(0, len(listed), 900):  # under SQLite's oldest limit of 999
                chunk = listed[at : at + 900]
                found += self._db.execute(
                    "SELECT nominal_id, kind FROM interventions WHERE nominal_id IN "
                    f"({','.join('?' * len(chunk))}) AND start <= ? AND "
                    '("end" IS NULL OR "end" >= ?) ORDER BY nominal_id, start, intervention_id',
                    (*chunk, text, text),
                ).fetchall()
        return found

    def ownership_rows(self) -> list[tuple[int, str, str]]:
        """Every ownership record ``(nominal_id, area, from_date ISO)``; none in a
        directory made before ownership (a readonly open may lack the table)."""
        with self._errors():
            try:
                return self._db.execute(
                    "SELECT nominal_id, area, from_date FROM ownership"
                ).fetchall()
            except sqlite3.OperationalError:
                return []

    def decision_rows(self) -> list[tuple]:
        """Every decision, in the order taken (columns as the table's, without seq)."""
        with self._errors():
            try:
                return self._db.execute(
                    "SELECT nominal_id, date, action, meeting_id, lead_agency, tier, reason, "
                    "note, strand, strand_reason FROM decisions ORDER BY seq"
                ).fetchall()
            except sqlite3.OperationalError:
                return []

    def end_intervention(
        self,
        intervention_id: int,
        end: datetime.date,
        *,
        time: str,
        user: str | None,
        reason: str | None,
    ) -> None:
        """Set an intervention's end date; a RecordError if it is unknown, ended
        already, or the date is before its start."""
        with self._transaction() as db:
            row = db.execute(
                'SELECT nominal_id, start, "end" FROM interventions WHERE intervention_id = ?',
                (intervention_id,),
            ).fetchone()
            if row is None:
                raise RecordError(f"intervention {intervention_id} is not recorded")
            nominal, start, ended = row
            if ended is not None:
                raise RecordError(f"intervention {intervention_id} ended already, on {ended}")
            if end.isoformat() < start:
                raise RecordError(
                    f"intervention {intervention_id}: the end {end} is before its start {start}"
                )
            db.execute(
                'UPDATE interventions SET "end" = ? WHERE intervention_id = ?',
                (end.isoformat(), intervention_id),
            )
            self._append_audit(time, user, "end_intervention", np.array([nominal]), reason, None)

    def retract_interventions(
        self, ids: np.ndarray, *, time: str, user: str | None, reason: str | None
    ) -> np.ndarray:
        """Withdraw interventions by id; returns the ids that were recorded."""
        with self._transaction() as db:
            found, nominals = [], []
            for value in ids.tolist():
                row = db.execute(
                    "SELECT nominal_id FROM interventions WHERE intervention_id = ?", (value,)
                ).fetchone()
                if row is not None:
                    found.append(value)
                    nominals.append(row[0])
            db.executemany(
                "DELETE FROM interventions WHERE intervention_id = ?", [(v,) for v in found]
            )
            if found:
                self._append_audit(
                    time, user, "retract_interventions", np.array(nominals), reason, None
                )
        return np.array(found, dtype=np.int64)

    def interventions(self, nominal_id: int, active_on: datetime.date | None):
        """A nominal's interventions (those active on a date: started on or before it,
        not ended before it), by start then id: rows of the table."""
        query = (
            'SELECT intervention_id, nominal_id, kind, start, "end", lead_agency FROM '
            "interventions WHERE nominal_id = ?"
        )
        values: list[object] = [nominal_id]
        if active_on is not None:
            query += ' AND start <= ? AND ("end" IS NULL OR "end" >= ?)'
            values += [active_on.isoformat(), active_on.isoformat()]
        with self._errors():
            return self._db.execute(query + " ORDER BY start, intervention_id", values).fetchall()

    def _append_audit(self, time, user, operation, touched, reason, key) -> None:
        last = self._db.execute("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1").fetchone()
        previous = last[0] if last else _GENESIS
        listed, count = _touched(touched)
        generation, sequence = key if key is not None else (None, None)
        fields = [time, user, operation, listed, count, reason, generation, sequence]
        self._db.execute(
            "INSERT INTO audit_log (time, user_id, operation, nominal_ids, touched, reason, "
            "generation, sequence, previous_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*fields, previous, _entry_hash(previous, fields)),
        )

    def settle(self) -> None:
        """Fold the write-ahead log into the file (at a checkpoint): with
        secure_delete on, deleted rows then leave the files for good."""
        with self._errors():
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # -- reads ------------------------------------------------------------------
    def tables(self) -> dict[str, str]:
        """Every weight table, CSV text by SHA-256."""
        with self._errors():
            return dict(self._db.execute("SELECT sha256, csv FROM weight_tables"))

    def assessment_tables(self) -> dict[str, str]:
        """Every assessment table, CSV text by SHA-256 (none in a directory made before
        assessments: the table missing from a readonly open's schema reads as none)."""
        with self._errors():
            try:
                return dict(self._db.execute("SELECT sha256, csv FROM assessment_tables"))
            except sqlite3.OperationalError:
                return {}

    def change_rows(self, before_generation: int):
        """The change log's rows of the journal generations before this one, in order:
        ``(date, nominal_id, old_band, new_band, score, cause)``."""
        with self._errors():
            return self._db.execute(
                "SELECT date, nominal_id, old_band, new_band, score, cause FROM change_log "
                "WHERE generation < ? ORDER BY generation, sequence, position",
                (before_generation,),
            ).fetchall()

    def audit(self, user: str | None = None, nominal_id: int | None = None) -> list[AuditEntry]:
        """Audit entries, oldest first; of one user, or naming one nominal."""
        with self._errors():
            rows = self._db.execute(
                "SELECT id, time, user_id, operation, nominal_ids, touched, reason FROM audit_log "
                "ORDER BY id"
            ).fetchall()
        entries = [
            AuditEntry(i, t, u, op, None if ids is None else tuple(json.loads(ids)), n, r)
            for i, t, u, op, ids, n, r in rows
        ]
        if user is not None:
            entries = [e for e in entries if e.user_id == user]
        if nominal_id is not None:
            entries = [e for e in entries if e.nominal_ids and nominal_id in e.nominal_ids]
        return entries

    def audit_head(self) -> tuple[int, str]:
        """The number of audit entries and the last one's hash."""
        with self._errors():
            row = self._db.execute("SELECT COUNT(*) FROM audit_log").fetchone()
            last = self._db.execute(
                "SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1"
            ).fetchone()
        return int(row[0]), last[0] if last else _GENESIS

    def verify(self, head: tuple[int, str] | None = None) -> str | None:
        """Recompute the audit chain; a message naming the first entry edited or
        deleted, or None. ``head`` (a count and last hash recorded elsewhere, at a
        checkpoint) finds entries cut from the end."""
        previous, expected_id, count = _GENESIS, 1, 0
        with self._errors():
            rows = self._db.execute(
                "SELECT id, time, user_id, operation, nominal_ids, touched, reason, generation, "
                "sequence, previous_hash, hash FROM audit_log ORDER BY id"
            ).fetchall()
        for row in rows:
            entry_id, *fields, stored_previous, stored = row
            if entry_id != expected_id or stored_previous != previous:
                return (
                    f"audit entry {expected_id} was deleted (the chain breaks at entry {entry_id})"
                )
            if _entry_hash(previous, fields) != stored:
                return f"audit entry {entry_id} was edited (its hash does not match its fields)"
            previous, expected_id, count = stored, entry_id + 1, count + 1
        if head is not None and head[0] > count:
            return f"audit entries {count + 1} to {head[0]} were deleted from the end of the log"
        if head is not None and head[0] == count and head[1] != previous:
            return f"audit entry {count} was replaced (the checkpoint recorded another)"
        return None
