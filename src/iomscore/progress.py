"""Progress of a long command on a terminal: the stages read, check, ingest, score, write.

Drawn by tqdm on stderr, and only when stderr is a terminal, ``--quiet`` is
not given, and the command has run for :data:`DELAY_SECONDS`: a short run, a
pipe or a log file gets nothing.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

__all__ = ["DELAY_SECONDS", "Stages"]

DELAY_SECONDS = 2.0  # seconds before a bar appears; a run shorter than this shows nothing


class Stages:
    """A bar over named stages; ``begin(name)`` starts each one, ``close()`` ends the bar.

    Parameters
    ----------
    names : sequence of str
        The stages, in order.
    quiet : bool
        True for no display at all.
    stream : text file, optional
        Where to draw (default ``sys.stderr``); nothing is drawn unless it is a terminal.
    """

    def __init__(self, names: Sequence[str], *, quiet: bool, stream: TextIO | None = None):
        stream = sys.stderr if stream is None else stream
        isatty = getattr(stream, "isatty", None)
        self.enabled = not quiet and callable(isatty) and bool(isatty())
        self._names = list(names)
        self._done = 0
        self._delay = DELAY_SECONDS
        if not self.enabled:  # tqdm is not even imported (a twentieth of a second)
            self._bar = None
            return
        from tqdm import tqdm

        self._bar = tqdm(
            total=len(self._names),
            file=stream,
            delay=DELAY_SECONDS,  # also checked in _draw
            leave=False,
            unit="stage",
            bar_format="iomscore: {desc} {bar} {n_fmt}/{total_fmt} stages [{elapsed}]",
            dynamic_ncols=True,
        )

    def begin(self, name: str) -> None:
        """Start the stage ``name``: the stages before it count as done."""
        index = self._names.index(name)
        if self._bar is None:
            return
        self._bar.set_description_str(name, refresh=False)
        if index > self._done:
            self._bar.n = index  # counted here, drawn below: a stage change is always shown
            self._done = index
        self._draw()

    def _draw(self) -> None:
        if self._bar is not None and self._bar._time() - self._bar.start_t >= self._delay:
            self._bar.refresh()

    def note(self, text: str) -> None:
        """Show ``text`` after the bar (e.g. the day a replay has reached)."""
        if self._bar is None:
            return
        self._bar.set_postfix_str(text, refresh=False)
        self._draw()

    def close(self) -> None:
        """Remove the bar (it is not left on the terminal)."""
        if self._bar is not None:
            self._bar.close()
