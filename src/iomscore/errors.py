"""Every error iomscore raises on purpose, under one base class, :class:`IomscoreError`.

An ``IomscoreError`` means bad input: a faulty row of events, a malformed
weight table or derivation input, a file that cannot be read or written, an
option value that makes no sense, or an operation the engine refuses. Its
message names the file (or option) and, where there is one, the line or row
and the field. The ``iomscore`` command catches only this class: it prints
the message on one line and exits with status 2. Any other exception is a bug
and keeps its traceback.

Each class also derives from the built-in exception its callers caught before
the base existed (``ValueError``, or ``OSError`` for files), so code written
as ``except ValueError`` still works.

The classes are importable from here and from the modules that raise them
(``iomscore.batch.EventError``, ``iomscore.weights.WeightFileError``, ...).
"""

from __future__ import annotations

import os

__all__ = [
    "DerivationError",
    "EngineError",
    "EventError",
    "FileAccessError",
    "IomscoreError",
    "OffenceCodeError",
    "OptionError",
    "RecordError",
    "StateError",
    "WeightFileError",
]


class IomscoreError(Exception):
    """Base of every error iomscore raises on purpose: bad input, never a bug.

    The message names the file or option at fault and, where there is one,
    the line or row and the field.
    """


class EventError(IomscoreError, ValueError):
    """A fault in a batch of events.

    Attributes
    ----------
    row : int or None
        0-based index of the first faulty row (None for a whole-batch fault).
    field : str or None
        The column at fault.
    """

    def __init__(self, message: str, *, row: int | None = None, field: str | None = None):
        super().__init__(message)
        self.row = row
        self.field = field


class RecordError(EventError):
    """A fault in a batch of records other than events (interventions, assessments)
    or in their catalogue; the message names the row and field, or the file and line."""


class EngineError(IomscoreError, ValueError):
    """An operation the engine refuses (moving the date back, a table that does not fit)."""


class WeightFileError(IomscoreError, ValueError):
    """A malformed weight table; the message names the file, line and field."""


class OffenceCodeError(IomscoreError, ValueError):
    """A string that is not a Home Office offence code in any accepted spelling."""


class DerivationError(IomscoreError, ValueError):
    """Inputs that cannot give a sound table; the message names the file and item."""


class OptionError(IomscoreError, ValueError):
    """A command-line option value that makes no sense; the message names the option."""


class FileAccessError(IomscoreError, OSError):
    """A file that cannot be opened, read or written; the message names the path.

    Parameters
    ----------
    message : str
        The whole message, starting with the path.
    path : str or path-like, optional
        The file at fault.

    Attributes
    ----------
    path : str or None
        The file at fault.
    """

    def __init__(self, message: str, *, path: str | os.PathLike[str] | None = None):
        super().__init__(message)
        self.path = None if path is None else os.fspath(path)

    @classmethod
    def from_os_error(
        cls, exc: OSError, path: str | os.PathLike[str], what: str, *, writing: bool = False
    ) -> FileAccessError:
        """The error to raise for ``exc``, met while reading (or writing) ``path``.

        Parameters
        ----------
        exc : OSError
            What ``open``, ``read`` or ``write`` raised.
        path : str or path-like
            The file.
        what : str
            What the file is, for the message (``"events file"``, ``"weight file"``, ...).
        writing : bool, default False
            True for a file being written (an output).

        Returns
        -------
        FileAccessError
            With a message such as ``scores/out.csv: cannot write the output file
            (No such file or directory)``.
        """
        reason = exc.strerror or str(exc) or type(exc).__name__
        if isinstance(exc, FileNotFoundError) and not writing:
            message = f"{os.fspath(path)}: no such {what}"
        else:
            verb = "write" if writing else "read"
            message = f"{os.fspath(path)}: cannot {verb} the {what} ({reason})"
        return cls(message, path=path)


class StateError(IomscoreError, ValueError):
    """An engine directory that cannot be opened as it is: a damaged or missing file
    or section, a format version this iomscore does not read, or a directory
    another process holds for writing. The message names the file and section."""

    def __init__(self, message: str, *, path: str | os.PathLike[str] | None = None):
        super().__init__(message)
        self.path = None if path is None else os.fspath(path)
