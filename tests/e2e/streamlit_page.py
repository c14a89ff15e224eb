"""Helpers for driving a Streamlit page in Playwright, waiting on the app's own signals.

The ``page`` fixture of ``conftest.py`` injects ``RUN_MONITOR`` before the app's own code. It counts the
script runs that finished, as the server announces them, so a wait can tell "idle after the run it asked
for" from "idle because that run has not started yet": right after a page load or a click the app still
reads idle for a moment.

Every wait has a timeout in minutes, not seconds: a first run on a fresh server imports the analytics
stack and fills the caches, and on a 2-core CI machine busy with other jobs the run and the drawing of
plotly charts can take tens of seconds. A wait never sits out its timeout on a broken page: it ends at once
when the app shows an exception (``stException``) and fails with its text.
"""

from __future__ import annotations

import os
import pathlib

from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

ROOT = pathlib.Path(__file__).resolve().parents[2]

#: Longest wait for a script run or a chart; a page that raised ends it at once.
RUN_TIMEOUT_MS = 300_000
#: Playwright's ``expect`` and action timeout in these tests (its own default, 5 s, fails under load).
EXPECT_TIMEOUT_MS = 120_000

EXCEPTION = "[data-testid='stException']"

#: ``(bytes) => status``: the ``script_finished`` status of one server message (a ``ForwardMsg`` in protobuf's
#: wire format, whose field 6 is ``script_finished``), or null when the message is of another kind. Only the
#: top-level fields are read; the others are skipped by their wire type.
FINISHED_STATUS = """
(bytes) => {
  let i = 0;
  const varint = () => {
    let value = 0, shift = 0, byte;
    do { byte = bytes[i++]; value += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80);
    return value;
  };
  while (i < bytes.length) {
    const tag = varint(), field = Math.floor(tag / 8), wire = tag % 8;
    if (wire === 0) {
      const value = varint();
      if (field === 6) return value;
    } else if (wire === 2) {
      const length = varint();
      i += length;
    } else if (wire === 1) {
      i += 8;
    } else if (wire === 5) {
      i += 4;
    } else {
      return null;
    }
  }
  return null;
}
"""

#: Counts finished script runs in ``window.__labelwatchRuns``, and keeps when each finished (ms since the
#: navigation) in ``window.__labelwatchRunEnds``; injected before the page's own scripts. Every message from
#: the server reaches the app through its WebSocket, and a ``script_finished`` message ends a run (status 2,
#: "ended early for a rerun", is followed by the run that replaced it). The app's
#: ``data-test-script-state`` attribute is no signal for this: a browser that receives a whole run's
#: messages at once (a starved one) renders them in one React update, and the attribute never leaves
#: ``notRunning``.
RUN_MONITOR = """
(() => {
  window.__labelwatchRuns = 0;
  window.__labelwatchRunEnds = [];
  const finishedStatus = %s;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        if (!(event.data instanceof ArrayBuffer)) return;
        const status = finishedStatus(new Uint8Array(event.data));
        if (status === null || status === 2) return;
        window.__labelwatchRuns += 1;
        window.__labelwatchRunEnds.push(performance.now());
      });
    }
  };
})();
""".replace("%s", FINISHED_STATUS.strip())

_IDLE = """
(after) => {
  if (document.querySelector("[data-testid='stException']")) return "error";
  const app = document.querySelector("[data-testid='stApp']");
  return Boolean(app && window.__labelwatchRuns > after
    && app.getAttribute("data-test-connection-state") === "CONNECTED"
    && app.getAttribute("data-test-script-state") === "notRunning"
    && !document.querySelector("[data-testid='stStatusWidgetRunningIcon']"));
}
"""

_CHARTS = """
(count) => {
  if (document.querySelector("[data-testid='stException']")) return "error";
  // a chart in a closed tab or expander is drawn only when shown
  const charts = [...document.querySelectorAll("[data-testid='stPlotlyChart']")]
    .filter((c) => c.checkVisibility());
  const withData = charts.filter((c) => c.querySelector(".js-plotly-plot .main-svg g.trace")).length;
  const drawn = charts.every((c) => c.querySelector(".js-plotly-plot .main-svg"));
  return withData >= count && drawn;
}
"""


def runs(page: Page) -> int:
    """How many script runs have finished in this page so far (``RUN_MONITOR``)."""
    return page.evaluate("() => window.__labelwatchRuns")


_STATE = """
() => {
  const app = document.querySelector("[data-testid='stApp']");
  const charts = [...document.querySelectorAll("[data-testid='stPlotlyChart']")];
  return {
    finished_runs: window.__labelwatchRuns,
    connection: app && app.getAttribute("data-test-connection-state"),
    script: app && app.getAttribute("data-test-script-state"),
    running_icon: Boolean(document.querySelector("[data-testid='stStatusWidgetRunningIcon']")),
    heading: document.querySelector("h1")?.textContent,
    charts: charts.length,
    charts_drawn: charts.filter((c) => c.querySelector(".js-plotly-plot .main-svg")).length,
  };
}
"""


def _wait(page: Page, predicate: str, arg, timeout_ms: int, what: str) -> None:
    try:
        outcome = page.wait_for_function(predicate, arg=arg, timeout=timeout_ms, polling=100).json_value()
    except PlaywrightTimeoutError:
        raise AssertionError(
            f"no {what} within {timeout_ms / 1000:g} s at {page.url}: {page.evaluate(_STATE)}"
        ) from None
    if outcome == "error":
        text = page.locator(EXCEPTION).first.inner_text()
        raise AssertionError(f"the app raised while waiting for {what}:\n{text}")


def wait_idle(page: Page, *, after: int = 0, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
    """Wait until more than ``after`` script runs have finished and none is in progress.

    Parameters
    ----------
    page : Page
        A page of the ``page`` fixture (``RUN_MONITOR`` injected).
    after : int
        ``runs(page)`` taken before the action whose rerun to wait for; 0 (the default) waits for the
        page's first run, which is what a page load needs.
    timeout_ms : int
        Fails after this long, or at once when the app shows an exception.
    """
    _wait(page, _IDLE, after, timeout_ms, f"script run {after + 1}")


def rerun(page: Page, action, *, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
    """Do ``action()`` (a click, a key press) and wait until the script run it starts has finished."""
    before = runs(page)
    action()
    wait_idle(page, after=before, timeout_ms=timeout_ms)


def choose(page: Page, box: Locator, option: str, *, typed: bool = False, in_form: bool = False,
           timeout_ms: int = RUN_TIMEOUT_MS) -> None:
    """Pick ``option`` in the selectbox ``box``; outside a form that reruns the app, which is waited for.

    A list opened while the page still redraws can be closed or replaced under the click: then it is opened
    again. ``typed`` types the option first, for a list too long to show it unfiltered. The value is checked
    once the rerun is over: while it runs, the page can show the box twice (the new one and the stale one
    it replaces), and a locator that finds two elements fails at once.
    """
    for _ in range(3):
        before = runs(page)
        box.click()
        if typed:
            box.fill(option)
        try:
            page.get_by_role("option", name=option, exact=True).click(timeout=30_000)
        except PlaywrightTimeoutError:
            page.keyboard.press("Escape")
            continue
        break
    if not in_form:
        wait_idle(page, after=before, timeout_ms=timeout_ms)
    expect(box).to_have_value(option)


def wait_charts(page: Page, count: int = 1, *, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
    """Wait until ``count`` visible plotly charts have drawn data (an SVG trace) and every visible one drew.

    plotly.js is loaded by the browser only when the first chart arrives and draws after the script run
    has finished, so "run finished" alone does not mean "chart visible".
    """
    _wait(page, _CHARTS, count, timeout_ms, f"{count} plotly chart(s) with data")


def open_app(page: Page, url: str, *, charts: int = 0, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
    """Load ``url``, wait for its first script run and (``charts`` > 0) for that many charts drawn."""
    page.goto(url, timeout=timeout_ms)
    wait_idle(page, timeout_ms=timeout_ms)
    wait_charts(page, charts, timeout_ms=timeout_ms)


def screenshot(page: Page, name: str) -> None:
    """Save a full-page screenshot when LABELWATCH_SCREENSHOTS names a folder.

    Waits first until every chart on the page has drawn and the fonts have loaded, so a screenshot never
    shows a chart still loading.
    """
    folder = os.environ.get("LABELWATCH_SCREENSHOTS")
    if folder:
        wait_charts(page, 0)
        page.evaluate("() => document.fonts.ready.then(() => true)")
        target = ROOT / folder
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target / f"{name}.png"), full_page=True, timeout=RUN_TIMEOUT_MS)
