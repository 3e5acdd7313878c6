"""One base class for every error: ``IomscoreError``, and what the command does with it.

The command catches only ``IomscoreError``: bad input of any kind (a faulty row,
a missing or unreadable file, a malformed table, an option that makes no sense)
gives one line, ``iomscore: error: ...``, naming the file or option (and the
line and field where there is one), and exit status 2. Any other exception is a
bug: it is not caught, so its traceback shows.
"""

from __future__ import annotations

import importlib
import inspect
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import iomscore
from iomscore import errors, oneshot
from iomscore.cli import main
from iomscore.errors import (
    DerivationError,
    EngineError,
    EventError,
    FileAccessError,
    IomscoreError,
    OffenceCodeError,
    OptionError,
    WeightFileError,
)

SRC = Path(iomscore.__file__).resolve().parents[1]

WEIGHTS_TEXT = """\
# name: errors-test
offence,description,arrest,intelligence
028/01,Burglary in a dwelling,250,125
105/01,Common assault,60,20
"""

EVENTS_TEXT = """\
event_id,nominal_id,dataset,offence,date
1,100,arrest,028/01,2024-02-29
2,100,intelligence,105/01,2023-02-28
3,200,arrest,105/01,2024-01-05
"""


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    weights = tmp_path / "weights.csv"
    weights.write_text(WEIGHTS_TEXT, encoding="utf-8")
    events = tmp_path / "events.csv"
    events.write_text(EVENTS_TEXT, encoding="utf-8")
    return weights, events


def error_line(capsys: pytest.CaptureFixture[str], code: int, *words: str) -> str:
    """Check the command failed as bad input: status 2, one line on stderr holding ``words``."""
    captured = capsys.readouterr()
    err = captured.err
    assert code == 2, captured.out + err
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("iomscore: error: "), err
    for word in words:
        assert word in lines[0], (word, err)
    return lines[0]


# ------------------------------------------------------------------------------ the classes

PUBLIC_ERRORS = [getattr(errors, name) for name in errors.__all__]


def test_errors_all_lists_the_base_and_every_error():
    assert set(errors.__all__) == {
        "IomscoreError",
        "EventError",
        "EngineError",
        "WeightFileError",
        "OffenceCodeError",
        "DerivationError",
        "OptionError",
        "FileAccessError",
        "StateError",
        "RecordError",
    }


@pytest.mark.parametrize("cls", PUBLIC_ERRORS, ids=lambda cls: cls.__name__)
def test_every_public_error_derives_from_the_base(cls):
    assert inspect.isclass(cls) and issubclass(cls, IomscoreError)
    assert issubclass(cls, Exception)


def _package_modules() -> list[str]:
    return [f"iomscore.{info.name}" for info in pkgutil.iter_modules(iomscore.__path__)]


def test_no_module_defines_an_error_outside_the_hierarchy():
    """Every exception class defined anywhere in the package derives from IomscoreError
    (warning categories, which are never raised as errors, aside)."""
    found = {}
    for name in _package_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and not issubclass(value, Warning)
                and value.__module__.startswith("iomscore")
            ):
                found[value.__qualname__] = value
    assert {"EventError", "WeightFileError", "EngineError"} <= set(found)
    outside = sorted(name for name, cls in found.items() if not issubclass(cls, IomscoreError))
    assert outside == []


@pytest.mark.parametrize(
    "cls",
    [
        EventError,
        EngineError,
        WeightFileError,
        OffenceCodeError,
        DerivationError,
        OptionError,
        errors.RecordError,
        errors.StateError,
    ],
    ids=lambda cls: cls.__name__,
)
def test_value_errors_stay_value_errors(cls):
    """Code written as ``except ValueError`` before the base existed still catches them."""
    assert issubclass(cls, ValueError)
    with pytest.raises(ValueError, match="boom"):
        raise cls("boom")


def test_file_access_error_is_an_os_error():
    assert issubclass(FileAccessError, OSError)
    error = FileAccessError("data/x.csv: cannot read", path=Path("data/x.csv"))
    assert str(error) == "data/x.csv: cannot read"
    assert error.path == os.path.join("data", "x.csv")


def test_file_access_error_from_os_error_names_the_path():
    missing = FileNotFoundError(2, "No such file or directory")
    error = FileAccessError.from_os_error(missing, "in/ev.csv", "events file")
    assert str(error) == "in/ev.csv: no such events file" and error.path == "in/ev.csv"
    error = FileAccessError.from_os_error(missing, "out/s.csv", "output file", writing=True)
    assert str(error) == "out/s.csv: cannot write the output file (No such file or directory)"
    denied = PermissionError(13, "Permission denied")
    error = FileAccessError.from_os_error(denied, "w.csv", "weight file")
    assert str(error) == "w.csv: cannot read the weight file (Permission denied)"


def test_event_error_keeps_row_and_field():
    message = "events.csv line 3, field 'date': bad"
    error = EventError(message, row=1, field="date")
    assert (error.row, error.field, str(error)) == (1, "date", message)
    bare = EventError("a whole-batch fault")
    assert (bare.row, bare.field) == (None, None)
    with pytest.raises(TypeError):
        EventError("row and field are keyword-only", 1, "date")  # type: ignore[misc]


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("iomscore.batch", "EventError"),
        ("iomscore.engine", "EngineError"),
        ("iomscore.weights", "WeightFileError"),
        ("iomscore.codes", "OffenceCodeError"),
        ("iomscore.derive", "DerivationError"),
        ("iomscore", "IomscoreError"),
        ("iomscore", "EventError"),
        ("iomscore", "FileAccessError"),
        ("iomscore", "OptionError"),
        ("iomscore", "DerivationError"),
    ],
)
def test_the_classes_are_importable_where_they_were(module, name):
    """``from iomscore.batch import EventError`` and the like still work: one class each."""
    value = getattr(importlib.import_module(module), name)
    assert value is getattr(errors, name)
    if module == "iomscore":
        assert name in iomscore.__all__


def test_the_library_raises_the_hierarchy(tmp_path):
    """The library's own errors are IomscoreErrors (caught by one ``except``)."""
    from iomscore import Engine, Weights, normalize_offence

    weights = Weights.from_text(WEIGHTS_TEXT)
    caught = []
    for call in (
        lambda: normalize_offence("28-01"),
        lambda: Weights.load(tmp_path / "absent.csv"),
        lambda: Weights.load(tmp_path),  # a directory
        lambda: Engine(weights, "2024-02-29", window_years=0),
        lambda: Engine(weights, "2024-02-29").ingest({"event_id": [1]}),
    ):
        with pytest.raises(IomscoreError) as info:
            call()
        caught.append(type(info.value))
    assert caught == [
        OffenceCodeError,
        WeightFileError,
        FileAccessError,
        EngineError,
        EventError,
    ]


# -------------------------------------------------------------------- the command: bad input


def test_a_bad_row_names_file_line_and_field(files, tmp_path, capsys):
    weights, _ = files
    bad = tmp_path / "bad.csv"
    bad.write_text(EVENTS_TEXT.replace("2023-02-28", "2023-02-30"), encoding="utf-8")
    out = tmp_path / "scores.csv"
    argv = ["score", str(bad), "--weights", str(weights), "--as-of", "2024-02-29"]
    code = main([*argv, "--out", str(out)])
    error_line(capsys, code, "bad.csv line 3", "field 'date'", "2023-02-30")
    assert not out.exists()


def test_a_missing_events_file(files, tmp_path, capsys):
    weights, _ = files
    absent = tmp_path / "absent.csv"
    code = main(["score", str(absent), "--weights", str(weights), "--as-of", "2024-02-29"])
    error_line(capsys, code, str(absent), "no such events file")


def test_an_events_file_that_is_a_directory(files, tmp_path, capsys):
    weights, _ = files
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    code = main(["score", str(folder), "--weights", str(weights), "--as-of", "2024-02-29"])
    error_line(capsys, code, str(folder), "cannot read the events file")


def test_a_malformed_csv_from_pyarrow(files, tmp_path, capsys):
    weights, _ = files
    bad = tmp_path / "short.csv"
    bad.write_text(EVENTS_TEXT + "4,300,arrest\n", encoding="utf-8")  # three fields of five
    code = main(["score", str(bad), "--weights", str(weights), "--as-of", "2024-02-29"])
    error_line(capsys, code, f"{bad} line 5", "field missing", "'offence'")


def test_an_events_file_that_is_not_utf8(files, tmp_path, capsys):
    weights, _ = files
    bad = tmp_path / "latin1.csv"
    bad.write_bytes(EVENTS_TEXT.replace("event_id", "\xe9vent_id").encode("latin-1"))
    code = main(["score", str(bad), "--weights", str(weights), "--as-of", "2024-02-29"])
    error_line(capsys, code, str(bad), "not UTF-8")


def test_a_bad_weights_file(files, tmp_path, capsys):
    _, events = files
    bad = tmp_path / "w.csv"
    bad.write_text(WEIGHTS_TEXT.replace("60,20", "-60,20"), encoding="utf-8")
    code = main(["score", str(events), "--weights", str(bad), "--as-of", "2024-02-29"])
    error_line(capsys, code, "w.csv", "line 4", "'arrest'", "negative")


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_an_unreadable_weights_file(files, tmp_path, capsys, kind):
    _, events = files
    path = tmp_path / "w.csv"
    if kind == "directory":
        path.mkdir()
    code = main(["score", str(events), "--weights", str(path), "--as-of", "2024-02-29"])
    words = ["no such weight file"] if kind == "missing" else ["cannot read the weight file"]
    error_line(capsys, code, str(path), *words)


def test_a_bad_as_of(files, capsys):
    weights, events = files
    code = main(["score", str(events), "--weights", str(weights), "--as-of", "2023-02-29"])
    error_line(capsys, code, "--as-of", "2023-02-29", "YYYY-MM-DD")


@pytest.mark.parametrize(
    ("dates", "words"),
    [
        (["--from", "2024-02-30", "--to", "2024-03-01"], ["--from", "2024-02-30"]),
        (["--from", "2024-03-01", "--to", "1 March"], ["--to", "1 March"]),
        (["--from", "2024-03-01", "--to", "2024-02-01"], ["--to 2024-02-01 is before --from"]),
    ],
)
def test_bad_replay_dates(files, tmp_path, capsys, dates, words):
    weights, events = files
    out = tmp_path / "changes.csv"
    code = main(["replay", str(events), "--weights", str(weights), *dates, "--out", str(out)])
    error_line(capsys, code, *words)


def test_an_out_file_that_cannot_be_written(files, tmp_path, capsys):
    weights, events = files
    out = tmp_path / "no-such-folder" / "scores.csv"
    argv = ["score", str(events), "--weights", str(weights), "--as-of", "2024-02-29"]
    code = main([*argv, "--out", str(out)])
    error_line(capsys, code, str(out), "cannot write the output file")


def test_whatif_with_a_missing_new_table(files, tmp_path, capsys):
    weights, events = files
    absent = tmp_path / "new.csv"
    argv = ["whatif", str(events), "--weights", str(weights), "--as-of", "2024-02-29"]
    code = main([*argv, "--new-weights", str(absent)])
    error_line(capsys, code, str(absent), "no such weight file")


def test_weights_diff_with_a_missing_table(files, tmp_path, capsys):
    weights, _ = files
    absent = tmp_path / "b.csv"
    code = main(["weights", "diff", str(weights), str(absent)])
    error_line(capsys, code, str(absent))


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--nominals", "-1"], ["--nominals", "-1"]),
        (["--nominals", "0", "--events", "10"], ["--events > 0 needs --nominals"]),
        (["--seed", "-3"], ["--seed", "-3"]),
        (["--as-of", "2026-02-29"], ["--as-of", "2026-02-29"]),
    ],
)
def test_bad_demo_options(capsys, argv, words):
    code = main(["demo", "--nominals", "10", "--events", "20", *argv])
    error_line(capsys, code, *words)


def test_weights_build_with_a_missing_priorities_file(tmp_path, capsys):
    absent = tmp_path / "priorities.toml"
    out = tmp_path / "table.csv"
    code = main(["weights", "build", "--priorities", str(absent), "--out", str(out)])
    error_line(capsys, code, str(absent), "no such priorities file")
    assert not out.exists()


def test_weights_build_with_a_severity_file_without_its_columns(tmp_path, capsys):
    bad = tmp_path / "severity.csv"
    bad.write_text("code,weight\n1,2.5\n", encoding="utf-8")
    code = main(["weights", "build", "--severity", str(bad), "--out", str(tmp_path / "t.csv")])
    error_line(capsys, code, "severity.csv", "line 1", "ONS_SEVERITY_code")


def test_weights_build_to_an_out_that_cannot_be_written(tmp_path, capsys):
    out = tmp_path / "no-such-folder" / "table.csv"
    code = main(["weights", "build", "--out", str(out)])
    error_line(capsys, code, str(out), "cannot write the weight file")


def test_weights_check_reports_an_unreadable_file_as_a_problem(tmp_path, capsys):
    """``weights check`` lists what is wrong (status 1), even a file it cannot read."""
    folder = tmp_path / "w.csv"
    folder.mkdir()
    code = main(["weights", "check", str(folder)])
    captured = capsys.readouterr()
    assert code == 1 and "Traceback" not in captured.err
    assert str(folder) in captured.out and "cannot read the weight file" in captured.out


def test_a_message_of_several_lines_is_printed_on_one(files, monkeypatch, capsys):
    weights, events = files

    def fail(path, *args, **options):
        raise EventError(f"{path}: first part\nsecond part")

    monkeypatch.setattr(oneshot, "score_file", fail)
    code = main(["score", str(events), "--weights", str(weights), "--as-of", "2024-02-29"])
    line = error_line(capsys, code)
    assert line == f"iomscore: error: {events}: first part second part"


# ------------------------------------------------------------------------- the command: bugs


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("planted bug"),
        ValueError("planted bug"),  # a plain ValueError is a bug now, not bad input
        OSError("planted bug"),
        KeyError("planted bug"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_any_other_exception_is_not_swallowed(files, monkeypatch, capsys, exc):
    weights, events = files
    calls = []

    def broken(path, *args, **options):
        calls.append(path)
        raise exc

    monkeypatch.setattr(oneshot, "score_file", broken)
    with pytest.raises(type(exc), match="planted bug") as info:
        main(["score", str(events), "--weights", str(weights), "--as-of", "2024-02-29"])
    assert info.value is exc
    assert calls == [str(events)]
    assert "iomscore: error" not in capsys.readouterr().err


def test_a_bug_inside_a_later_stage_is_not_swallowed(files, monkeypatch, capsys):
    """A bug after the files are read (here in scoring) propagates too."""
    weights, events = files

    def broken(*args, **kwargs):
        raise ZeroDivisionError("planted bug in scores")

    monkeypatch.setattr(oneshot, "_rule6", broken)
    with pytest.raises(ZeroDivisionError, match="planted bug in scores"):
        main(["score", str(events), "--weights", str(weights), "--as-of", "2024-02-29"])
    assert "iomscore: error" not in capsys.readouterr().err


def test_a_bug_shows_its_traceback_from_the_command_line(files):
    """Run as a program, an uncaught bug prints Python's traceback (status 1)."""
    weights, events = files
    script = (
        "import sys\n"
        "import iomscore.cli as cli\n"
        "import iomscore.oneshot as oneshot\n"
        "def broken(path, *args, **options):\n"
        "    raise RuntimeError('planted bug')\n"
        "oneshot.score_file = broken\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    argv = ["score", str(events), "--weights", str(weights), "--as-of", "2024-02-29"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), *sys.path])}
    run = subprocess.run(
        [sys.executable, "-c", script, *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert run.returncode == 1, run.stderr
    assert "Traceback (most recent call last)" in run.stderr
    assert "RuntimeError: planted bug" in run.stderr
    assert "iomscore: error" not in run.stderr
