"""The ODOC meeting packs from the command line: ``iomscore db odoc`` (one area and
``--all-areas``) and ``iomscore demo --pack``.

The directory is built through the command line only (``db init``, ``db ingest`` of a
small synthetic events file, ``db owners``, ``db decide``, ``db advance``); what
``db odoc`` writes is checked against :func:`iomscore.pack.build_pack` and
:func:`~iomscore.pack.build_packs` on the same directory, opened read-only.
"""

from __future__ import annotations

import csv
import datetime

import pytest
from cli_calls import fails, ok
from test_cli import AS_OF, write_files

from iomscore import Engine, synth
from iomscore.cli import main
from iomscore.cohort import DECISION_COLUMNS, DECISION_OPTIONAL, DEFAULT_AREAS, UNOWNED
from iomscore.pack import LIST_NAMES, build_pack, build_packs, cell_text

D = datetime.date
FIRST = D(2026, 5, 12)  # the synthetic cohort's as-of date; the directory starts there
MEETING = FIRST + datetime.timedelta(days=14)  # the directory is advanced to the meeting
PREVIOUS = MEETING - datetime.timedelta(days=28)
FILES = {f"{name}.csv" for name in LIST_NAMES} | {"index.html"}


def write_columns(path, columns, names):
    """Columns (numpy arrays or lists; None as empty) as a CSV with the header ``names``."""
    values = [list(columns[name]) for name in names]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(names)
        for row in zip(*values, strict=True):
            writer.writerow(["" if v is None else str(v) for v in row])


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """A directory made by the command line: a synthetic force's events, its owners and a
    year of ODOC decisions up to FIRST, then advanced to MEETING."""
    base = tmp_path_factory.mktemp("odoc")
    cohort = synth.cohort(600, 9000, as_of=FIRST, seed=5)
    events = base / "events.csv"
    cohort.write_csv(events)
    target = base / "engine"

    def cli(*argv):
        code = main([str(a) for a in argv])
        assert code == 0, argv

    cli("db", "init", target, "--as-of", FIRST)
    cli("db", "ingest", target, events)
    owners = base / "owners.csv"
    write_columns(owners, synth.ownership(cohort, seed=5), ("nominal_id", "area", "from_date"))
    cli("db", "owners", target, owners)
    with Engine.open(target, readonly=True) as engine:
        scores = engine.scores()
    decided = synth.decisions(scores, seed=5)
    decisions = base / "decisions.csv"
    write_columns(decisions, decided, (*DECISION_COLUMNS, *DECISION_OPTIONAL))
    cli("db", "decide", target, decisions)
    cli("db", "advance", target, "--to", MEETING)
    return target


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def expected_csv(table):
    return [list(table.columns), *table.text_rows()]


def check_pack_files(where, pack):
    assert {p.name for p in where.iterdir()} == FILES
    for name, table in pack.lists().items():
        assert read_csv(where / f"{name}.csv") == expected_csv(table), name
    page = (where / "index.html").read_text(encoding="utf-8")
    assert page == pack.html()
    return page


def test_odoc_one_area_writes_the_pack_build_pack_gives(folder, tmp_path, capsys):
    out = tmp_path / "packs"
    _, err = ok(
        capsys,
        "db", "odoc", folder, "--meeting", MEETING, "--previous", PREVIOUS,
        "--area", "birmingham", "--out", out,
    )  # fmt: skip
    assert {p.name for p in out.iterdir()} == {"birmingham"}
    with Engine.open(folder, readonly=True) as engine:
        pack = build_pack(engine, "Birmingham", MEETING, PREVIOUS)
    assert len(pack.managed) > 0 and len(pack.new_candidates) > 0  # the data is not empty
    page = check_pack_files(out / "birmingham", pack)
    assert "http" not in page and "<svg" in page
    lines = err.splitlines()
    size = (out / "birmingham" / "index.html").stat().st_size
    assert lines[0].startswith("Birmingham: new candidates ")
    assert f"managed {len(pack.managed):,};" in lines[0]
    assert lines[0].endswith(f"index.html {size:,} bytes")
    assert len(lines) == 2 and lines[1].startswith("1 ODOC pack for the meeting of ")


def test_odoc_all_areas_writes_every_area_and_the_unowned(folder, tmp_path, capsys):
    out = tmp_path / "packs"
    _, err = ok(
        capsys,
        "db", "odoc", folder, "--meeting", MEETING, "--previous", PREVIOUS,
        "--all-areas", "--out", out, "--interval-days", "35",
    )  # fmt: skip
    folders = {area.lower() for area in DEFAULT_AREAS} | {UNOWNED}
    assert {p.name for p in out.iterdir()} == folders
    with Engine.open(folder, readonly=True) as engine:
        packs = build_packs(engine, MEETING, PREVIOUS, interval_days=35)
    assert list(packs) == [*DEFAULT_AREAS, UNOWNED]
    for area, pack in packs.items():
        check_pack_files(out / area.lower(), pack)
    lines = err.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == list(packs)
    assert lines[-1].startswith("8 ODOC packs for the meeting of ")
    assert sum(len(p.managed) for p in packs.values()) > 0


@pytest.mark.parametrize("strand", ["fixed", "flex"])
def test_odoc_strand_writes_that_strands_files_beside_the_whole_pack(
    folder, tmp_path, capsys, strand
):
    out = tmp_path / "packs"
    base = ("db", "odoc", folder, "--meeting", MEETING, "--previous", PREVIOUS, "--out", out)
    ok(capsys, *base, "--area", "Birmingham")
    _, err = ok(capsys, *base, "--area", "birmingham", "--strand", strand)
    named = {f"{name}-{strand}.csv" for name in LIST_NAMES} | {f"index-{strand}.html"}
    where = out / "birmingham"
    assert {p.name for p in where.iterdir()} == FILES | named  # the whole pack is kept
    with Engine.open(folder, readonly=True) as engine:
        whole = build_pack(engine, "Birmingham", MEETING, PREVIOUS)
        pack = build_pack(engine, "Birmingham", MEETING, PREVIOUS, strand=strand)
    for name in LIST_NAMES:
        assert read_csv(where / f"{name}.csv") == expected_csv(getattr(whole, name)), name
        assert read_csv(where / f"{name}-{strand}.csv") == expected_csv(getattr(pack, name))
    assert (where / "index.html").read_text(encoding="utf-8") == whole.html()
    assert (where / f"index-{strand}.html").read_text(encoding="utf-8") == pack.html()
    assert 0 < len(pack.new_candidates) < len(whole.new_candidates)  # of several strands
    lines = err.splitlines()
    assert lines[0].startswith("Birmingham: new candidates ")
    assert f"index-{strand}.html " in lines[0]
    assert lines[1].startswith(f"1 ODOC pack of the {strand} strand for the meeting of ")
    # --all-areas too: every area's pack of the strand
    _, err = ok(capsys, *base, "--all-areas", "--strand", strand)
    with Engine.open(folder, readonly=True) as engine:
        packs = build_packs(engine, MEETING, PREVIOUS, strand=strand)
    for area, one in packs.items():
        assert one.strand == strand
        got = out / area.lower()
        for name, table in one.lists().items():
            assert read_csv(got / f"{name}-{strand}.csv") == expected_csv(table), (area, name)
    assert err.splitlines()[-1].startswith(f"8 ODOC packs of the {strand} strand for ")


def test_odoc_refuses_an_unknown_strand(folder, tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["db", "odoc", str(folder), "--meeting", str(MEETING), "--previous",
              str(PREVIOUS), "--area", "Dudley", "--strand", "Fixed",
              "--out", str(tmp_path / "packs")])  # fmt: skip
    assert stop.value.code == 2
    assert "--strand: invalid choice: 'Fixed'" in capsys.readouterr().err
    assert not (tmp_path / "packs").exists()


def test_odoc_no_charts_and_an_audited_read(folder, tmp_path, capsys):
    out = tmp_path / "packs"
    ok(
        capsys,
        "db", "odoc", folder, "--meeting", MEETING, "--previous", PREVIOUS,
        "--area", "Coventry", "--out", out, "--no-charts", "--user", "analyst-7",
        "--reason", "odoc pack",
    )  # fmt: skip
    with Engine.open(folder, readonly=True) as engine:
        pack = build_pack(engine, "Coventry", MEETING, PREVIOUS, charts=False)
        read = [(a.operation, a.reason) for a in engine.audit(user="analyst-7")]
    page = check_pack_files(out / "coventry", pack)
    assert "<svg" not in page
    # the read-only open audits each nominal's record read for the pack (no chart: no
    # timeline; an explain for each nominal that moved band)
    assert set(read) <= {("explain", "odoc pack")}
    assert 0 < len(read) <= len(pack.risen_fallen) or not pack.risen_fallen


def test_odoc_refuses_a_meeting_other_than_as_of(folder, tmp_path, capsys):
    out = tmp_path / "packs"
    before = MEETING - datetime.timedelta(days=1)
    err = fails(
        capsys,
        "db", "odoc", folder, "--meeting", before, "--previous", PREVIOUS,
        "--area", "Dudley", "--out", out,
    )  # fmt: skip
    assert "--meeting" in err and str(MEETING) in err
    assert not out.exists()
    err = fails(
        capsys,
        "db", "odoc", folder, "--meeting", MEETING, "--previous", MEETING,
        "--area", "Dudley", "--out", out,
    )  # fmt: skip
    assert "--previous" in err
    err = fails(
        capsys,
        "db", "odoc", folder, "--meeting", MEETING, "--previous", PREVIOUS,
        "--area", "Leeds", "--out", out,
    )  # fmt: skip
    assert "--area 'Leeds'" in err
    err = fails(
        capsys,
        "db", "odoc", folder, "--meeting", "2026-13-01", "--previous", PREVIOUS,
        "--area", "Dudley", "--out", out,
    )  # fmt: skip
    assert "--meeting" in err
    err = fails(
        capsys,
        "db", "odoc", folder, "--meeting", MEETING, "--previous", PREVIOUS,
        "--area", "Dudley", "--out", folder / "packs",
    )  # fmt: skip
    assert "inside the engine directory" in err
    # one of --area and --all-areas, not both (argparse: exit 2)
    with pytest.raises(SystemExit) as stop:
        main(["db", "odoc", str(folder), "--meeting", str(MEETING), "--previous",
              str(PREVIOUS), "--area", "Dudley", "--all-areas", "--out", str(out)])  # fmt: skip
    assert stop.value.code == 2
    capsys.readouterr()


def test_odoc_folder_names_are_lower_case_with_dashes(tmp_path, capsys):
    weights, events = write_files(tmp_path)
    target = tmp_path / "engine"
    ok(
        capsys,
        "db", "init", target, "--as-of", AS_OF, "--weights", weights,
        "--areas", "North Side,South Bank",
    )  # fmt: skip
    ok(capsys, "db", "ingest", target, events)
    owners = tmp_path / "owners.csv"
    owners.write_text("nominal_id,area,from_date\n600,north side,2022-01-01\n", encoding="utf-8")
    ok(capsys, "db", "owners", target, owners)
    out = tmp_path / "packs"
    previous = AS_OF - datetime.timedelta(days=28)
    ok(
        capsys,
        "db", "odoc", target, "--meeting", AS_OF, "--previous", previous,
        "--all-areas", "--out", out,
    )  # fmt: skip
    assert {p.name for p in out.iterdir()} == {"north-side", "south-bank", UNOWNED}
    rows = read_csv(out / "north-side" / "new_candidates.csv")
    assert [row[0] for row in rows[1:]] == ["600"]
    assert cell_text(AS_OF) == AS_OF.isoformat()


def test_demo_pack_writes_every_area(tmp_path, capsys):
    out = tmp_path / "demo-packs"
    _, err = ok(capsys, "demo", "--nominals", 2000, "--events", 20000, "--pack", out, "--quiet")
    folders = {area.lower() for area in DEFAULT_AREAS} | {UNOWNED}
    assert {p.name for p in out.iterdir()} == folders
    for area in DEFAULT_AREAS:
        where = out / area.lower()
        assert {p.name for p in where.iterdir()} == FILES
        page = (where / "index.html").read_text(encoding="utf-8")
        assert "http" not in page
        assert "<svg" in page, area
    as_of = D(2026, 11, 27)  # the demo's default as-of date, advanced one day
    assert f"for the meeting of {as_of} (previous {as_of - datetime.timedelta(days=28)})" in err
    assert "ODOC decisions over a year" in err
