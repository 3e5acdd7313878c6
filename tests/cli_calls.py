"""Calling the command line in-process from a test: ``iomscore ARGV`` through
``iomscore.cli.main``, its exit status and what it printed (pytest's ``capsys``)."""

from __future__ import annotations

from iomscore.cli import main

__all__ = ["fails", "ok", "run"]


def run(capsys, *argv):
    """``iomscore ARGV``: the exit status, stdout and stderr."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def ok(capsys, *argv):
    """A call that must succeed: its stdout and stderr."""
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    return out, err


def fails(capsys, *argv):
    """A call that must fail as bad input does: exit 2, nothing on stdout, one
    ``iomscore: error:`` line on stderr (returned)."""
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == "", (code, out, err)
    assert err.startswith("iomscore: error: ") and err.count("\n") == 1, err
    return err
