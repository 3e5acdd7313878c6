"""Output files written whole or not at all, and never over an input.

An output is written to a temporary file in its own directory and renamed
into place only when the command has succeeded, so a failure part-way (bad
input found late, a full disk, Ctrl-C) leaves no partial file and keeps any
older file of that name. Before any work, :func:`check_output` refuses an
output that is one of the command's inputs, or whose directory does not exist.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from .errors import FileAccessError, OptionError

__all__ = ["atomic_files", "check_output"]


def _same_file(a: Path, b: Path) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)  # hard links, bind mounts
    except OSError:
        return False


def check_output(out: str, inputs: Sequence[tuple[str, str | None]]) -> None:
    """Refuse ``--out`` before any work if writing it would lose data or must fail.

    Parameters
    ----------
    out : str
        The ``--out`` path.
    inputs : sequence of (what, path)
        The command's input files, e.g. ``("the events file", "events.csv")``;
        a path of None is skipped.

    Raises
    ------
    OptionError
        ``out`` is one of the inputs (it would be overwritten).
    FileAccessError
        ``out`` is a directory, or its directory does not exist.
    """
    target = Path(out)
    for what, path in inputs:
        if path is not None and _same_file(target, Path(path)):
            raise OptionError(
                f"--out {out}: this is {what}; writing it would destroy the input "
                "(choose another output file)"
            )
    if target.is_dir():
        raise FileAccessError(f"{out}: cannot write the output file (it is a directory)", path=out)
    parent = target.parent
    if not parent.is_dir():
        raise FileAccessError(
            f"{out}: cannot write the output file (the directory {parent} does not exist)",
            path=out,
        )


@contextlib.contextmanager
def atomic_files(*paths: str, binary: bool = False) -> Iterator[list[IO]]:
    """Open temporary files for ``paths``; rename them into place only on success.

    Parameters
    ----------
    *paths : str
        The final paths.
    binary : bool, default False
        Open the files in binary mode (else UTF-8 text, ``newline=""``).

    Yields
    ------
    list of file objects
        One per path, in order. If the block raises, every temporary file is
        removed and no path is touched.
    """
    handles: list[IO] = []
    temps: list[str] = []
    try:
        for path in paths:
            folder = os.path.dirname(os.path.abspath(path))
            try:
                fd, temp = tempfile.mkstemp(
                    prefix=f".{os.path.basename(path)}.", suffix=".part", dir=folder
                )
            except OSError as exc:
                raise FileAccessError.from_os_error(
                    exc, path, "output file", writing=True
                ) from None
            temps.append(temp)
            if binary:
                handles.append(os.fdopen(fd, "wb"))
            else:
                handles.append(os.fdopen(fd, "w", encoding="utf-8", newline=""))
        yield handles
        for handle in handles:
            handle.close()
        for temp, path in zip(temps, paths, strict=True):
            os.chmod(temp, 0o666 & ~_umask())
            try:
                os.replace(temp, path)
            except OSError as exc:
                raise FileAccessError.from_os_error(
                    exc, path, "output file", writing=True
                ) from None
    finally:
        for handle in handles:
            handle.close()
        for temp in temps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
