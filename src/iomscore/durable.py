"""Durable engine state: a directory holding a snapshot and a journal.

::

    DIR/LOCK           held (flock) by the one process that writes
    DIR/snapshot.iom   the whole state at the last checkpoint
    DIR/journal.iom    every change since, each on disk before its call returns
    DIR/records.sqlite weight tables, change log, audit log (iomscore.records)

A change is written to the journal and flushed (``fsync``) before the engine
applies it, after every check that could refuse it, so a change that returned
is on disk and one that was refused never is. A checkpoint writes a new
snapshot and an empty journal under temporary names, flushes them and renames
them into place (flushing the directory after each rename): at any moment the
directory holds a snapshot and a journal that together give the last state.
The journal's header names the snapshot generation it follows; a journal of an
older generation is one whose changes the snapshot already holds.

Snapshot (little-endian)::

    magic b"IOMSNAP\\0", format version u32, section count u32
    per section: name (8 bytes), payload length u64, SHA-256 of the payload (32 bytes), payload

A section's payload is JSON (``meta``) or a run of ``.npy`` arrays
(numpy's documented format, read without pickle). Journal::

    magic b"IOMJRNL\\0", format version u32, generation u64, CRC-32 of these 20 bytes u32
    per record: payload length u32, sequence u64, CRC-32 of the payload u32,
                CRC-32 of these 16 bytes u32, payload (an operation code, its
                context as length-prefixed JSON, then its data), end marker b"IOMR"

On open, a damaged section or record, a missing file or a newer format version
is a :class:`~iomscore.errors.StateError` that names the file and the section
or record. The one exception is a journal whose last record is incomplete: it
runs past the end of the file, or the file ends in zeros from inside its header
or over its end marker, as a write that a crash left unflushed reads back. That
record's call never returned, so it is dropped with a
:class:`TornRecordWarning`. A complete record whose checksum fails is damage,
last or not.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import io
import json
import mmap
import os
import struct
import threading
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .errors import StateError

__all__ = [
    "FORMAT_VERSION",
    "Journal",
    "Record",
    "State",
    "TornRecordWarning",
    "journal_start",
    "lock_directory",
    "read_snapshot",
    "write_snapshot",
]

FORMAT_VERSION = 3
#: Versions this iomscore reads: version 1 (before assessments) has no
#: assessments section and no assessment operations; before version 3 a
#: snapshot's sections and arrays were not padded to 16 bytes.
READS_VERSIONS = (1, 2, 3)
# Since version 3 every snapshot section, and every array in one, takes a multiple of
# this many bytes, so each array's data lies at an offset the compiled store can read
# in place (numpy pads an .npy header to 64 bytes).
_ALIGN = 16
SNAPSHOT = "snapshot.iom"
JOURNAL = "journal.iom"
LOCK = "LOCK"

_SNAPSHOT_MAGIC = b"IOMSNAP\0"
_JOURNAL_MAGIC = b"IOMJRNL\0"
_SNAPSHOT_HEAD = struct.Struct("<8sII")
_SECTION_HEAD = struct.Struct("<8sQ32s")
_JOURNAL_HEAD = struct.Struct("<8sIQI")  # magic, version, generation, CRC-32 of the first 20
_RECORD_HEAD = struct.Struct("<IQII")  # length, sequence, payload CRC, header CRC
# Ends every record: a write cut short, or left as zeros, lacks it.
_RECORD_END = b"IOMR"

# Operation codes of journal records.
INGEST, RETRACT, ADVANCE, REWEIGHT = 1, 2, 3, 4
ASSESS, RETRACT_ASSESSMENTS, REWEIGHT_TABLES = 5, 6, 7
_OPS = {
    INGEST: "ingest",
    RETRACT: "retract",
    ADVANCE: "advance",
    REWEIGHT: "reweight",
    ASSESS: "assess",
    RETRACT_ASSESSMENTS: "retract_assessments",
    REWEIGHT_TABLES: "reweight_tables",
}


class TornRecordWarning(UserWarning):
    """A journal ended in a record written only in part: one whose call never
    returned (a crash while writing it), dropped on open."""


# ----------------------------------------------------------------------------- files
def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_whole(path: Path, data: bytes) -> None:
    """Write ``path`` under a temporary name, flush it, rename it into place and
    flush the directory: the file is the old one or the new one, never a mix."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync_directory(path.parent)


@contextlib.contextmanager
def _reading(path: Path, what: str) -> Iterator[bytes]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise StateError(f"{path}: the {what} is missing", path=path) from None
    except OSError as exc:
        raise StateError(f"{path}: cannot read the {what} ({exc.strerror})", path=path) from None
    yield data


def lock_directory(directory: Path) -> int:
    """Take the directory's writer lock; a StateError if another process holds it.
    Returns the lock file's descriptor (closing it releases the lock)."""
    fd = os.open(directory / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(fd, 64).decode("ascii", "replace").strip() or "another process"
        os.close(fd)
        raise StateError(
            f"{directory}: the engine directory is open for writing by {holder}; "
            "open it read-only, or close the other writer first",
            path=directory,
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"process {os.getpid()}\n".encode("ascii"), 0)
    return fd


# ----------------------------------------------------------------------------- snapshot
@dataclass
class State:
    """Everything a snapshot holds.

    ``meta`` is JSON-able; the arrays are the store's nominals in index
    order, and the live events and the archived ones (event id, nominal index,
    kind, day number), and the assessments (assessment id, nominal index, tool
    code, raw score, day number). The weight and assessment tables and the
    change log live in the records database (:mod:`iomscore.records`).
    """

    meta: dict
    nominals: np.ndarray
    live: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    archived: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    assessments: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    #: raises StateError if a section whose check was deferred is damaged
    #: (``read_snapshot(check_later=True)``); a no-op otherwise
    check: Callable[[], None] = field(default=lambda: None, repr=False)


_EVENT_DTYPES = ("<i8", "<i4", "<u2", "<i4")
_ASSESSMENT_DTYPES = ("<i8", "<i4", "<i1", "<i8", "<i4")
_SECTIONS = ("meta", "nominals", "live", "archived", "assessed")


def _arrays_bytes(arrays, dtypes, *, pad: bool = False) -> bytes:
    """The arrays as ``.npy`` blobs one after another; with ``pad``, each padded
    with zero bytes to a multiple of ``_ALIGN`` (format 3)."""
    out = io.BytesIO()
    for array, dtype in zip(arrays, dtypes, strict=True):
        np.save(out, np.ascontiguousarray(array, dtype=dtype), allow_pickle=False)
        if pad:
            out.write(bytes(-out.tell() % _ALIGN))
    return out.getvalue()


# An .npy header is at most this long (numpy writes version 1.0 under 64 KiB).
_NPY_HEAD_MAX = 12 + 65536


def _arrays_from(
    data: bytes | memoryview, dtypes, path: Path, name: str, padded: bool = False
) -> tuple[np.ndarray, ...]:
    """The section's arrays, as they were saved (``.npy`` each), read in place where
    they are aligned: read-only views of ``data``, not copies of a national
    snapshot's 400 MB made by ``np.load``."""
    arrays = []
    at = 0
    try:
        for dtype in dtypes:
            head = io.BytesIO(bytes(data[at : at + _NPY_HEAD_MAX]))
            version = np.lib.format.read_magic(head)
            if version == (1, 0):
                shape, fortran, got = np.lib.format.read_array_header_1_0(head)
            elif version == (2, 0):
                shape, fortran, got = np.lib.format.read_array_header_2_0(head)
            else:
                raise ValueError(f"an array of .npy format {version}")
            if got != np.dtype(dtype) or len(shape) != 1 or fortran or shape[0] < 0:
                raise ValueError(f"an array of {got} and shape {shape}, expected {dtype}")
            start = at + head.tell()
            at = start + shape[0] * got.itemsize
            if padded:
                at += -at % _ALIGN
            if at > len(data):
                raise ValueError("an array cut short")
            array = np.frombuffer(data, dtype=got, count=shape[0], offset=start)
            # the compiled store reads int64_t * and the like: an array whose offset
            # in the file leaves it misaligned is copied (the others are read in place)
            arrays.append(array if array.flags.aligned else array.copy())
    except ValueError as exc:
        raise StateError(f"{path}: section {name!r} does not hold its arrays ({exc})") from None
    if len({a.shape[0] for a in arrays}) > 1:
        raise StateError(f"{path}: section {name!r} holds arrays of different lengths")
    return tuple(arrays)


def write_snapshot(directory: Path, state: State) -> int:
    """Write the snapshot whole (temporary name, flush, rename); returns its bytes."""
    meta = json.dumps(state.meta, sort_keys=True).encode("utf-8")
    sections = [  # each a multiple of _ALIGN bytes (JSON allows trailing spaces)
        ("meta", meta + b" " * (-len(meta) % _ALIGN)),
        ("nominals", _arrays_bytes([state.nominals], ["<i8"], pad=True)),
        ("live", _arrays_bytes(state.live, _EVENT_DTYPES, pad=True)),
        ("archived", _arrays_bytes(state.archived, _EVENT_DTYPES, pad=True)),
        ("assessed", _arrays_bytes(state.assessments, _ASSESSMENT_DTYPES, pad=True)),
    ]
    parts = [_SNAPSHOT_HEAD.pack(_SNAPSHOT_MAGIC, FORMAT_VERSION, len(sections))]
    for name, payload in sections:
        digest = hashlib.sha256(payload).digest()
        parts += [_SECTION_HEAD.pack(name.encode("ascii"), len(payload), digest), payload]
    data = b"".join(parts)
    _write_whole(directory / SNAPSHOT, data)
    return len(data)


#: madvise(MADV_POPULATE_READ), Linux 5.14 and later (Python 3.11 lacks the name):
#: reads the file's pages into the map now, and reports a read error as an error,
#: where MAP_POPULATE ignores it and the first read of the page ends with SIGBUS.
_POPULATE_READ = getattr(mmap, "MADV_POPULATE_READ", 22)


def _mapped(path: Path, what: str) -> bytes | mmap.mmap:
    """The file's bytes as a read-only map of the page cache (no copy into fresh
    memory, which the kernel must first zero), or read as bytes where it cannot be
    mapped (an empty file, a file system without maps, a kernel without
    MADV_POPULATE_READ).

    Only for a file that is replaced by a rename and never changed in place (the
    snapshot): a map of a file that another process cuts short or rewrites in place
    ends this one with SIGBUS, or shows it the new bytes.
    """
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            try:
                data = mmap.mmap(handle.fileno(), size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
            except (OSError, ValueError):  # empty, or a file system without maps
                return handle.read()
            try:
                data.madvise(_POPULATE_READ)
            except OSError as exc:
                data.close()
                if exc.errno != errno.EINVAL:  # a read error: EIO, ENOMEM, ...
                    raise
                return handle.read()  # an older kernel: the same open file, read
            return data
    except FileNotFoundError:
        raise StateError(f"{path}: the {what} is missing", path=path) from None
    except OSError as exc:
        raise StateError(f"{path}: cannot read the {what} ({exc.strerror})", path=path) from None


#: The sections a reopen may check on a thread while it reads the records (they hold
#: nearly all of a snapshot's bytes).
_LARGE_SECTIONS = ("live", "archived")


def read_snapshot(directory: Path, *, check_later: bool = False) -> State:
    """Read and check the snapshot: each section's checksum, then its contents.

    The arrays returned are read-only views of a map of the file (see ``_mapped``).
    With ``check_later``, the checksums of the live and archived events are taken on
    a thread, and ``State.check()`` waits for them: the caller must call it before
    it uses those arrays. (The checksum runs while the caller reads the records
    database: hashlib lets go of the interpreter's lock.)
    """
    path = directory / SNAPSHOT
    data = _mapped(path, "snapshot")
    if len(data) < _SNAPSHOT_HEAD.size:
        raise StateError(f"{path}: too short to be an iomscore snapshot", path=path)
    magic, version, count = _SNAPSHOT_HEAD.unpack_from(data)
    if magic != _SNAPSHOT_MAGIC:
        raise StateError(f"{path}: not an iomscore snapshot (bad magic)", path=path)
    if version not in READS_VERSIONS:
        raise StateError(
            f"{path}: snapshot format version {version}; this iomscore reads versions "
            f"{', '.join(map(str, READS_VERSIONS))} (written by "
            f"{'a newer' if version > FORMAT_VERSION else 'an older'} iomscore)",
            path=path,
        )
    sections: dict[str, memoryview] = {}
    deferred: list[tuple[str, memoryview, bytes]] = []
    view = memoryview(data)  # sections are read in place, not copied
    at = _SNAPSHOT_HEAD.size
    for k in range(count):
        if at + _SECTION_HEAD.size > len(data):
            raise StateError(f"{path}: truncated at section {k + 1} of {count}", path=path)
        raw_name, length, digest = _SECTION_HEAD.unpack_from(data, at)
        name = raw_name.rstrip(b"\0").decode("ascii", "replace")
        at += _SECTION_HEAD.size
        payload = view[at : at + length]
        if len(payload) != length:
            raise StateError(f"{path}: section {name!r} is truncated", path=path)
        if check_later and name in _LARGE_SECTIONS:
            deferred.append((name, payload, digest))
        elif hashlib.sha256(payload).digest() != digest:
            raise _damaged(path, name)
        sections[name] = payload
        at += length
    if at != len(data):
        raise StateError(f"{path}: {len(data) - at} bytes after the last section", path=path)
    if version == 1:  # before assessments
        sections.setdefault(
            "assessed", memoryview(_arrays_bytes(_no_assessments(), _ASSESSMENT_DTYPES))
        )
    for name in _SECTIONS:
        if name not in sections:
            raise StateError(f"{path}: section {name!r} is missing", path=path)
    try:
        meta = json.loads(bytes(sections["meta"]))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateError(f"{path}: section 'meta' is not JSON ({exc})") from None
    padded = version >= 3
    check = _checking(path, deferred)
    try:
        return State(
            meta=meta,
            nominals=_arrays_from(sections["nominals"], ["<i8"], path, "nominals", padded)[0],
            live=_arrays_from(sections["live"], _EVENT_DTYPES, path, "live", padded),  # type: ignore[arg-type]
            archived=_arrays_from(sections["archived"], _EVENT_DTYPES, path, "archived", padded),  # type: ignore[arg-type]
            assessments=_arrays_from(
                sections["assessed"], _ASSESSMENT_DTYPES, path, "assessed", padded
            ),  # type: ignore[arg-type]
            check=check,
        )
    except Exception:  # a header the damage broke (numpy's parse raises what it meets)
        check()  # named as damage to its section, as a check before the parse would
        raise


def _damaged(path: Path, name: str) -> StateError:
    return StateError(f"{path}: section {name!r} is damaged (checksum mismatch)", path=path)


def _checking(path: Path, sections: list[tuple[str, memoryview, bytes]]) -> Callable[[], None]:
    """Start the checksums of ``sections`` (name, payload, digest) on a thread; the
    function returned waits for them and raises for the first damaged one."""
    if not sections:
        return lambda: None
    damaged: list[str] = []
    failed: list[Exception] = []
    checked: list[bool] = []  # appended last: a thread that stopped short leaves it empty

    def run() -> None:
        try:
            for name, data, digest in sections:
                if hashlib.sha256(data).digest() != digest:
                    damaged.append(name)
        except Exception as exc:  # reported by check(), on the caller's thread
            failed.append(exc)
            return
        checked.append(True)

    thread = threading.Thread(target=run, name="iomscore-snapshot-check", daemon=True)
    thread.start()

    def check() -> None:
        thread.join()
        if damaged:
            raise _damaged(path, damaged[0])
        if not checked:  # fail closed: an unchecked section is not taken
            cause = f" ({failed[0]})" if failed else ""
            raise StateError(
                f"{path}: its sections' checksums could not be taken{cause}", path=path
            )

    return check


def _no_assessments() -> tuple[np.ndarray, ...]:
    return tuple(np.empty(0, dtype) for dtype in _ASSESSMENT_DTYPES)


# ----------------------------------------------------------------------------- journal
@dataclass(frozen=True)
class Record:
    """One journaled change: its operation, arguments and context (the time, and the
    user id and reason the caller gave, for the audit log)."""

    sequence: int
    op: str
    args: dict
    context: dict


def _array_parts(arrays, dtypes) -> list[bytes | memoryview]:
    """The ``.npy`` form of each array (what ``_arrays_bytes`` joins) as its header
    and a view of its data: a large batch is journaled without a copy."""
    parts: list[bytes | memoryview] = []
    for array, dtype in zip(arrays, dtypes, strict=True):
        data = np.ascontiguousarray(array, dtype=dtype)
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(data))
        parts += [header.getvalue(), memoryview(data).cast("B")]
    return parts


def _context_bytes(context: dict) -> bytes:
    text = json.dumps(context, sort_keys=True).encode("utf-8")
    return struct.pack("<I", len(text)) + text


def encode_ingest(
    context: dict, event_id, nominal_id, kind, day, replace: bool, future: str
) -> list[bytes | memoryview]:
    flags = struct.pack("<BB", int(replace), 0 if future == "error" else 1)
    arrays = _array_parts([event_id, nominal_id, kind, day], ("<i8", "<i8", "<u2", "<i4"))
    return [struct.pack("<B", INGEST) + _context_bytes(context) + flags, *arrays]


def encode_retract(context: dict, event_ids: np.ndarray) -> bytes:
    return (
        struct.pack("<B", RETRACT) + _context_bytes(context) + _arrays_bytes([event_ids], ["<i8"])
    )


def encode_advance(context: dict, day: int) -> bytes:
    return struct.pack("<B", ADVANCE) + _context_bytes(context) + struct.pack("<q", day)


def encode_reweight(context: dict, csv_text: str) -> bytes:
    return struct.pack("<B", REWEIGHT) + _context_bytes(context) + csv_text.encode("utf-8")


def encode_assess(context: dict, batch, replace: bool) -> list[bytes | memoryview]:
    """An assessment batch (checked): ids, nominal ids, tool codes, raw scores, days."""
    arrays = _array_parts(
        [batch.assessment_id, batch.nominal_id, batch.tool, batch.score, batch.day],
        ("<i8", "<i8", "<i1", "<i8", "<i4"),
    )
    head = struct.pack("<B", ASSESS) + _context_bytes(context) + struct.pack("<B", int(replace))
    return [head, *arrays]


def encode_retract_assessments(context: dict, ids: np.ndarray) -> bytes:
    return (
        struct.pack("<B", RETRACT_ASSESSMENTS)
        + _context_bytes(context)
        + _arrays_bytes([ids], ["<i8"])
    )


def encode_reweight_tables(context: dict, weights_csv: str, assessments_csv: str) -> bytes:
    """A reweight that brings a new assessment table (and a weight table, maybe the same)."""
    first = weights_csv.encode("utf-8")
    return (
        struct.pack("<B", REWEIGHT_TABLES)
        + _context_bytes(context)
        + struct.pack("<I", len(first))
        + first
        + assessments_csv.encode("utf-8")
    )


def _decode(payload: bytes, path: Path, sequence: int) -> Record:
    op = payload[0] if payload else 0
    where = f"{path}: journal record {sequence}"
    try:
        (size,) = struct.unpack_from("<I", payload, 1)
        context = json.loads(payload[5 : 5 + size])
        body = payload[5 + size :]
        if op == INGEST:
            replace, future = struct.unpack_from("<BB", body)
            arrays = _arrays_from(body[2:], ("<i8", "<i8", "<u2", "<i4"), path, "ingest")
            args = {
                "arrays": arrays,
                "replace": bool(replace),
                "future": "skip" if future else "error",
            }
        elif op == RETRACT:
            args = {"event_ids": _arrays_from(body, ["<i8"], path, "retract")[0]}
        elif op == ADVANCE:
            args = {"day": struct.unpack_from("<q", body)[0]}
        elif op == REWEIGHT:
            args = {"csv": body.decode("utf-8")}
        elif op == ASSESS:
            (replace,) = struct.unpack_from("<B", body)
            arrays = _arrays_from(body[1:], ("<i8", "<i8", "<i1", "<i8", "<i4"), path, "assess")
            args = {"arrays": arrays, "replace": bool(replace)}
        elif op == RETRACT_ASSESSMENTS:
            args = {"ids": _arrays_from(body, ["<i8"], path, "retract_assessments")[0]}
        elif op == REWEIGHT_TABLES:
            (size,) = struct.unpack_from("<I", body)
            args = {
                "csv": body[4 : 4 + size].decode("utf-8"),
                "assessments_csv": body[4 + size :].decode("utf-8"),
            }
        else:
            raise StateError(f"{where}: unknown operation {op}", path=path)
    except (struct.error, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise StateError(f"{where}: malformed ({exc})", path=path) from None
    return Record(sequence, _OPS[op], args, context)


class Journal:
    """The append-only journal of changes since the snapshot (see the module doc)."""

    def __init__(self, path: Path, generation: int, fd: int, next_sequence: int, end: int) -> None:
        self.path = path
        self.generation = generation
        self._fd = fd  # unbuffered: a write that fails leaves nothing in a buffer
        self._next = next_sequence
        self._end = end  # the file's length: where the next record goes
        self._ends: list[int] = []  # where each record of this session began
        self._broken = False

    @staticmethod
    def create(directory: Path, generation: int) -> None:
        """Write an empty journal of this generation whole (temporary name, rename)."""
        fields = struct.pack("<8sIQ", _JOURNAL_MAGIC, FORMAT_VERSION, generation)
        head = fields + struct.pack("<I", zlib.crc32(fields))
        _write_whole(directory / JOURNAL, head)

    @staticmethod
    def read(directory: Path) -> tuple[int, list[Record], int]:
        """The journal's generation, its complete records, and the length of the
        file they fill (a torn last record lies beyond it, with a warning)."""
        path = directory / JOURNAL
        with _reading(path, "journal") as data:
            pass
        if len(data) < _JOURNAL_HEAD.size:
            raise StateError(f"{path}: too short to be an iomscore journal", path=path)
        magic, version, generation, head_crc = _JOURNAL_HEAD.unpack_from(data)
        if magic != _JOURNAL_MAGIC:
            raise StateError(f"{path}: not an iomscore journal (bad magic)", path=path)
        if version not in READS_VERSIONS:
            raise StateError(
                f"{path}: journal format version {version}; this iomscore reads versions "
                f"{', '.join(map(str, READS_VERSIONS))}",
                path=path,
            )
        if zlib.crc32(data[: _JOURNAL_HEAD.size - 4]) != head_crc:
            raise StateError(
                f"{path}: the journal's header is damaged (checksum mismatch)", path=path
            )
        records: list[Record] = []
        at = _JOURNAL_HEAD.size
        # where the file's trailing run of zero bytes starts: a write the
        # crash left unflushed reads back as zeros
        zeros_from = len(data.rstrip(b"\0"))
        while at < len(data):
            number = len(records) + 1
            where = f"{path}: journal record {number} at byte {at}"
            head = data[at : at + _RECORD_HEAD.size]
            if len(head) < _RECORD_HEAD.size:
                _torn(path, number, at)
                break
            length, sequence, crc, head_crc = _RECORD_HEAD.unpack(head)
            if zlib.crc32(head[:16]) != head_crc:
                if zeros_from < at + _RECORD_HEAD.size:
                    _torn(path, number, at)
                    break
                raise StateError(f"{where} is damaged (its header)", path=path)
            end = at + _RECORD_HEAD.size + length + len(_RECORD_END)
            if end > len(data):
                _torn(path, number, at)
                break
            payload = data[at + _RECORD_HEAD.size : end - len(_RECORD_END)]
            if zlib.crc32(payload) != crc or data[end - len(_RECORD_END) : end] != _RECORD_END:
                if end == len(data) and zeros_from < end:
                    _torn(path, number, at)
                    break
                part = "checksum mismatch" if zlib.crc32(payload) != crc else "its end marker"
                raise StateError(f"{where} is damaged ({part})", path=path)
            if sequence != number:
                raise StateError(f"{where} has sequence {sequence}", path=path)
            records.append(_decode(payload, path, sequence))
            at = end
        return generation, records, at

    @classmethod
    def open_for_append(cls, directory: Path, generation: int, records: int, end: int) -> Journal:
        """Open the journal to append after its ``records`` complete records, cutting
        off a torn tail (from byte ``end``)."""
        path = directory / JOURNAL
        fd = os.open(path, os.O_RDWR)
        os.ftruncate(fd, end)
        os.fsync(fd)
        return cls(path, generation, fd, records + 1, end)

    def append(self, payload: bytes | list[bytes | memoryview]) -> None:
        """Write one record and flush it to disk; on failure the file is cut back to
        what it was, or, if even that fails, the journal refuses every later change
        (the engine must be reopened)."""
        if self._broken:
            raise StateError(
                f"{self.path}: a failed write could not be undone; reopen the directory",
                path=self.path,
            )
        parts = [payload] if isinstance(payload, bytes) else payload
        crc = 0
        for part in parts:  # the payload's CRC over its parts, unjoined
            crc = zlib.crc32(part, crc)
        length = sum(len(part) for part in parts)
        head = struct.pack("<IQI", length, self._next, crc)
        head += struct.pack("<I", zlib.crc32(head))
        pieces = [head, *parts, _RECORD_END]
        size = length + len(head) + len(_RECORD_END)
        try:
            # unbuffered: nothing lingers to be written later
            written = os.pwritev(self._fd, pieces, self._end)
            if written < size:  # a short write: the rest, joined
                rest = b"".join(bytes(piece) for piece in pieces)[written:]
                while written < size:
                    written += os.pwrite(
                        self._fd, rest[written - (size - len(rest)) :], self._end + written
                    )
            os.fsync(self._fd)
        except BaseException:
            self.cut(self._end)
            raise
        self._ends.append(self._end)
        self._end += size
        self._next += 1

    def undo_last(self) -> None:
        """Take back the last record (its change could not be applied after all)."""
        self.cut(self._ends.pop())
        self._next -= 1

    def cut(self, end: int) -> None:
        """Cut the file back to ``end`` bytes, flushed."""
        try:
            os.ftruncate(self._fd, end)
            os.fsync(self._fd)
            self._end = end
        except OSError:
            self._broken = True
            raise

    @property
    def records(self) -> int:
        return self._next - 1

    def close(self) -> None:
        os.close(self._fd)


def journal_start() -> int:
    """The byte at which an empty journal's first record goes."""
    return _JOURNAL_HEAD.size


def _torn(path: Path, number: int, at: int) -> None:
    warnings.warn(
        f"{path}: journal record {number} at byte {at} was written only in part (its call "
        "never returned); it is dropped",
        TornRecordWarning,
        stacklevel=4,
    )
