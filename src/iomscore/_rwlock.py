"""A readers-writer lock: many readers at once, or one writer alone.

Readers of an :class:`~iomscore.engine.Engine` (scores, one score, the
matrix) hold the read side; every change holds the write side for its whole
duration, so a reader sees the state before a change or after it, never a
mix. Writers are preferred, so a stream of reads cannot starve an update.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["RWLock"]


class RWLock:
    """Writer-preferring readers-writer lock.

    Neither side is re-entrant: a thread holding the read side must not take it
    again (a writer waiting in between would deadlock both).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writer = False
        self._waiting_writers = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writer or self._waiting_writers:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

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
