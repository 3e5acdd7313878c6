"""A readers-writer lock: many readers at once, or one writer alone.

Readers of an :class:`~iomscore.engine.Engine` (scores, one score, the
matrix, explain) hold the read side; every change holds the write side for
its whole duration, so a reader sees the state before a change or after it,
never a mix. Writers are preferred, so a stream of reads cannot starve an
update.

The read side is the hot path of one-nominal reads (a few microseconds in
all), so it takes the mutex once on entry and once on exit, and wakes
anyone only when a writer waits for the last reader.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["RWLock"]


class _ReadSide:
    """The read side as a reusable context manager (no generator per use)."""

    __slots__ = ("_rw",)

    def __init__(self, rw: RWLock) -> None:
        self._rw = rw

    def __enter__(self) -> None:
        rw = self._rw
        with rw._mutex:
            while rw._writer or rw._waiting_writers:
                rw._cond.wait()
            rw._readers += 1

    def __exit__(self, *exc: object) -> None:
        rw = self._rw
        with rw._mutex:
            rw._readers -= 1
            if not rw._readers and rw._waiting_writers:
                rw._cond.notify_all()


class RWLock:
    """Writer-preferring readers-writer lock.

    Neither side is re-entrant: a thread holding the read side must not take it
    again (a writer waiting in between would deadlock both).
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._cond = threading.Condition(self._mutex)
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0
        self._read_side = _ReadSide(self)

    def read(self) -> _ReadSide:
        """The read side: ``with lock.read(): ...``."""
        return self._read_side

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._waiting_writers += 1
            try:
                while self._writer or self._readers:
                    self._cond.wait()
            finally:  # an interrupted writer must not block readers for ever
                self._waiting_writers -= 1
                if not self._waiting_writers:
                    self._cond.notify_all()
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()
