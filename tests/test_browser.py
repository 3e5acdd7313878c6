"""The ODOC pack in a real browser (issue 26): headless Chromium opens a pack.

A pack built from test_pack's small engine is written to a file and opened in
Debian's ``chromium`` (headless, a temporary profile), driven through the
DevTools protocol over a pipe (``--remote-debugging-pipe``: no port, no extra
package). Three checks: the page logs no console error and throws no uncaught
exception; after its script ran, its five tables hold the pack's rows, its
charts and their event marks are drawn, and a click on a header sorts a table;
a screenshot is not blank. The strand control, on screen and as printed, leaves
laid out in every table the rows of the pack built for the strand chosen, and
All brings every row back. Negative controls show that each check can fail: a
page that throws and calls ``console.error`` is caught, and a blank page's
screenshot is found blank.

Without ``chromium`` on the PATH the tests are skipped, saying how to install
it, unless the environment variable CI is set, when they fail: CI must run them
(``.ci/run`` installs the package).
"""

from __future__ import annotations

import base64
import fcntl
import io
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from test_pack import D0, MEETING, _build

from iomscore.pack import LIST_NAMES, build_pack

CHROMIUM = shutil.which("chromium")
INSTALL = (
    "the browser test needs Debian's chromium: sudo apt-get install chromium "
    "(.ci/run installs it when missing)"
)
TIMEOUT = 30.0  # seconds for the whole of one page's visit; a hung browser fails
WINDOW = (1280, 900)


@dataclass
class Visit:
    """What the browser saw of one page: its errors (console errors, uncaught
    exceptions, error log entries such as a failed load), the value of the script
    evaluated after the load, and a PNG screenshot of the window."""

    errors: list[str]
    value: object
    png: bytes


# Run argv[3:] with fd argv[1] as its fd 3 and fd argv[2] as its fd 4 (Popen's
# pass_fds keeps numbers; chromium's pipe is fds 3 and 4, and sh takes one digit).
_MOVE_FDS = (
    "import os, sys; os.dup2(int(sys.argv[1]), 3); os.dup2(int(sys.argv[2]), 4); "
    "os.execv(sys.argv[3], sys.argv[3:])"
)


class Browser:
    """Headless Chromium driven by DevTools protocol messages over a pipe: the
    browser reads NUL-terminated JSON commands on its fd 3, answers on fd 4."""

    def __init__(self, executable: str, profile: Path) -> None:
        to_browser, self._commands = os.pipe()
        self._replies, from_browser = os.pipe()
        # copies numbered 10 and up, which moving them to 3 and 4 cannot clobber
        ends = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_browser, from_browser)]
        arguments = [
            "--headless",
            "--no-sandbox",  # root in a container has no usable sandbox
            "--disable-gpu",
            "--no-first-run",
            "--remote-debugging-pipe",
            f"--user-data-dir={profile}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            "about:blank",
        ]
        with open(profile.parent / "chromium.log", "wb") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-c", _MOVE_FDS, *map(str, ends), executable, *arguments],
                pass_fds=ends,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # its own group: ended whole, by its id
            )
        for fd in (to_browser, from_browser, *ends):
            os.close(fd)
        self._buffer = b""
        self._next_id = 0
        self._events: list[dict] = []
        self._deadline = time.monotonic() + TIMEOUT

    def call(self, method: str, params: dict | None = None, *, session: str | None = None):
        """Send one command and wait for its result (events meanwhile are kept)."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session is not None:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        reply = self._receive(lambda m, wanted=self._next_id: m.get("id") == wanted)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    def wait_for(self, method: str, session: str) -> dict:
        return self._receive(lambda m: m.get("method") == method and m.get("sessionId") == session)

    def _receive(self, wanted) -> dict:
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if wanted(message):
                    return message
                self._events.append(message)
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no reply from chromium in {TIMEOUT:.0f} s")
            if select.select([self._replies], [], [], left)[0]:
                chunk = os.read(self._replies, 1 << 20)
                if not chunk:
                    raise EOFError("chromium closed its pipe (see chromium.log)")
                self._buffer += chunk

    def visit(self, url: str, script: str = "null", media: str = "") -> Visit:
        """Open ``url`` in a new tab, wait for its load event, evaluate ``script``
        (an expression; its value returned as JSON), then take a screenshot; with
        ``media`` ("print"), the page is laid out as for that CSS media type."""
        self._deadline = time.monotonic() + TIMEOUT
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Runtime", "Log", "Page"):
            self.call(f"{domain}.enable", session=session)
        width, height = WINDOW
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        if media:
            self.call("Emulation.setEmulatedMedia", {"media": media}, session=session)
        self.call("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired", session)
        result = self.call(
            "Runtime.evaluate",
            {"expression": script, "returnByValue": True, "awaitPromise": True},
            session=session,
        )
        if "exceptionDetails" in result:
            raise AssertionError(f"the test's script failed: {result['exceptionDetails']}")
        shot = self.call("Page.captureScreenshot", {"format": "png"}, session=session)
        self.call("Runtime.evaluate", {"expression": "0"}, session=session)  # flush events
        self.call("Target.closeTarget", {"targetId": target})
        errors = [
            text
            for event in self._events
            if event.get("sessionId") == session and (text := _error_text(event)) is not None
        ]
        self._events = [e for e in self._events if e.get("sessionId") != session]
        return Visit(errors, result["result"].get("value"), base64.b64decode(shot["data"]))

    def close(self) -> None:
        try:
            self._deadline = time.monotonic() + 5
            self.call("Browser.close")
            self._process.wait(timeout=10)
        except (OSError, EOFError, TimeoutError, RuntimeError, subprocess.TimeoutExpired):
            pass
        finally:
            if self._process.poll() is None:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait(timeout=10)
            os.close(self._commands)
            os.close(self._replies)


def _error_text(event: dict) -> str | None:
    """The text of an error the page reported, or None for any other event."""
    method, params = event.get("method"), event.get("params", {})
    if method == "Runtime.exceptionThrown":
        details = params["exceptionDetails"]
        return "uncaught: " + details.get("exception", {}).get("description", details["text"])
    if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
        words = [a.get("value", a.get("description", "")) for a in params["args"]]
        return f"console.{params['type']}: " + " ".join(map(str, words))
    if method == "Log.entryAdded" and params["entry"]["level"] == "error":
        return f"log ({params['entry']['source']}): {params['entry']['text']}"
    return None


def is_blank(png: bytes) -> bool:
    """A screenshot is blank when almost every pixel is one colour: under 2% of
    its pixels differ from the commonest, or it has fewer than 16 colours."""
    from matplotlib import image  # the test extra has matplotlib

    pixels = image.imread(io.BytesIO(png), format="png")[..., :3]
    flat = (pixels.reshape(-1, 3) * 255).round().astype("uint32")
    codes = flat[:, 0] << 16 | flat[:, 1] << 8 | flat[:, 2]
    values, counts = np.unique(codes, return_counts=True)
    return 1 - counts.max() / codes.size < 0.02 or values.size < 16


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if CHROMIUM is None:
        # chromium is a system package, not one pip installs with the test extra:
        # CI (.ci/run installs it) must run these tests, a developer's machine may
        # lack it and is told how to get it
        if os.environ.get("CI"):
            pytest.fail(f"chromium is not on the PATH and CI is set: {INSTALL}")
        pytest.skip(INSTALL)
    profile = tmp_path_factory.mktemp("chromium") / "profile"
    profile.mkdir()
    session = Browser(CHROMIUM, profile)
    yield session
    session.close()


@pytest.fixture(scope="module")
def pack_page(tmp_path_factory):
    engine, _ = _build(1)
    pack = build_pack(engine, "Coventry", MEETING, D0)
    path = pack.write_html(tmp_path_factory.mktemp("pack") / "index.html")
    return pack, path


# What the page holds once its script ran: the rows of each table, the charts, the
# event ticks (one "M" per event in each dataset's path), the charts laid out with a
# size, and the managed table's nominal ids after a click on that header, twice.
PAGE_SCRIPT = """(() => {
  const rows = {};
  for (const table of document.querySelectorAll("table.sortable")) {
    rows[table.id] = table.tBodies[0].rows.length;
  }
  const charts = Array.from(document.querySelectorAll("svg.chart"));
  const ticks = Array.from(document.querySelectorAll("svg.chart path.ev"))
    .map((path) => (path.getAttribute("d").match(/M/g) || []).length)
    .reduce((a, b) => a + b, 0);
  const drawn = charts.filter((svg) => {
    const box = svg.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  }).length;
  const header = document.querySelector('#managed th[data-col="nominal_id"]');
  const ids = () => Array.from(document.querySelectorAll("#managed tbody tr"))
    .map((row) => Number(row.cells[0].textContent));
  header.click();
  const up = [header.getAttribute("aria-sort"), ids()];
  header.click();
  const down = [header.getAttribute("aria-sort"), ids()];
  return {rows, charts: charts.map((svg) => Number(svg.dataset.nominal)), ticks, drawn, up, down,
          legend: document.querySelectorAll(".legend .ek").length};
})()"""


def test_the_pack_opens_without_errors_with_its_tables_and_charts(browser, pack_page):
    pack, path = pack_page
    visit = browser.visit(path.as_uri(), PAGE_SCRIPT)
    assert visit.errors == []
    page = visit.value
    assert page["rows"] == {name: len(getattr(pack, name)) for name in LIST_NAMES}
    assert all(page["rows"][name] for name in ("new_candidates", "risen_fallen", "managed"))
    charted = pack.managed.column("nominal_id") + pack.new_candidates.column("nominal_id")
    assert sorted(page["charts"]) == sorted(charted) and charted
    assert page["drawn"] == len(charted)
    assert page["ticks"] == sum(len(chart.events) for chart in pack.charts.values()) > 0
    assert page["legend"] == len(next(iter(pack.charts.values())).datasets)
    # the sort script ran: the first click sorts ascending, the second descending
    listed = pack.managed.column("nominal_id")
    assert listed != sorted(listed)  # so that sorting shows
    assert page["up"] == ["ascending", sorted(listed)]
    assert page["down"] == ["descending", sorted(listed, reverse=True)]


# Choose each of CHOICES in the strand control in turn (as a person does: set it, then
# the change event) and record what is laid out: per table, the nominal ids of the rows
# with a box and the data-strand of each, the counts in the headings, whether the note
# "None of this strand." is laid out, and the status.
STRAND_SCRIPT = """((choices) => {
  const control = document.getElementById("strand");
  const seen = (element) => element.getClientRects().length > 0;
  const state = () => {
    const tables = {};
    for (const table of document.querySelectorAll("table.sortable")) {
      const id = table.rows[0].querySelector('[data-col="nominal_id"]').cellIndex;
      const shown = Array.from(table.tBodies[0].rows).filter(seen);
      tables[table.id] = {
        ids: shown.map((row) => Number(row.cells[id].textContent)),
        strands: shown.map((row) => row.dataset.strand),
        counts: Array.from(document.querySelectorAll(`.count[data-list="${table.id}"]`))
          .map((span) => span.textContent),
        none: Array.from(document.querySelectorAll(`#none-${table.id}`)).some(seen),
      };
    }
    return {tables, status: document.getElementById("strand-shown").textContent};
  };
  const out = {control: seen(control), options: Array.from(control.options).map((o) => o.value)};
  out.states = choices.map((choice) => {
    control.value = choice;
    control.dispatchEvent(new Event("change"));
    return [choice, state()];
  });
  return out;
})(%s)"""


@pytest.mark.parametrize("media", ["screen", "print"])
def test_the_strand_control_shows_one_strands_rows(browser, pack_page, media):
    """Each strand chosen leaves laid out, in every table, the rows of that strand's
    nominals: the rows of the pack built for the strand, on screen and in print; All
    brings every row back."""
    pack, path = pack_page
    engine, _ = _build(1)
    choices = ["fixed", "flex", "", "free", ""]
    visit = browser.visit(path.as_uri(), STRAND_SCRIPT % json.dumps(choices), media)
    assert visit.errors == []
    page = visit.value
    assert page["control"] is True and page["options"] == ["", "fixed", "flex", "free"]
    everything = sum(len(table) for table in pack.lists().values())
    nones = 0
    for choice, state in page["states"]:
        if not choice:
            for name, table in pack.lists().items():
                ids = table.column("nominal_id")
                assert state["tables"][name]["ids"] == ids, name
                assert state["tables"][name]["counts"] == [str(len(ids))] * 2
                assert state["tables"][name]["none"] is False
            assert state["status"] == f"all strands: {everything} rows"
            continue
        cut = build_pack(engine, "Coventry", MEETING, D0, strand=choice)
        shown = 0
        for name, table in cut.lists().items():
            got = state["tables"][name]
            assert got["ids"] == table.column("nominal_id"), (choice, name)
            assert set(got["strands"]) <= {choice}
            counts = f"{len(table)} of {len(getattr(pack, name))}"
            assert got["counts"] == [counts] * 2, (choice, name)
            assert got["none"] is (len(table) == 0 < len(getattr(pack, name)))
            shown += len(table)
        assert 0 < shown < everything  # the test's pack has rows of every strand
        nones += sum(state["tables"][name]["none"] for name in LIST_NAMES)
        assert state["status"] == f"{choice}: {shown} of {everything} rows shown"
    assert nones > 0  # some list has no row of some strand: its note was shown


def test_a_screenshot_of_the_pack_is_not_blank(browser, pack_page):
    _, path = pack_page
    visit = browser.visit(path.as_uri())
    assert visit.png.startswith(b"\x89PNG\r\n\x1a\n")
    assert not is_blank(visit.png)


def test_errors_on_a_page_are_caught(browser, tmp_path):
    """The negative control: a page that calls console.error, throws, and loads a
    missing image is reported three times; a clean page is not."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        "<!DOCTYPE html><html><head><title>bad</title></head><body><p>bad</p>"
        '<script>console.error("deliberate console error");</script>'
        '<script>throw new Error("deliberate throw");</script>'
        '<img src="missing.png" alt=""></body></html>',
        encoding="utf-8",
    )
    errors = browser.visit(bad.as_uri()).errors
    assert any(e.startswith("console.error: deliberate console error") for e in errors), errors
    assert any(e.startswith("uncaught: Error: deliberate throw") for e in errors), errors
    assert any("missing.png" in e or "ERR_FILE_NOT_FOUND" in e for e in errors), errors
    clean = tmp_path / "clean.html"
    clean.write_text(
        "<!DOCTYPE html><title>clean</title><p>clean</p><script>console.log('fine')</script>",
        encoding="utf-8",
    )
    assert browser.visit(clean.as_uri()).errors == []


def test_a_blank_page_is_found_blank(browser, tmp_path):
    """The negative control of the screenshot check."""
    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><title>blank</title>", encoding="utf-8")
    assert is_blank(browser.visit(blank.as_uri()).png)
