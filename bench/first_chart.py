"""Time to the first chart: a real Chromium opens the Overview of ``streamlit run app.py`` on the demo store.

A demo store is built once through the CLI (``python -m analytics --db … demo``). Each repeat starts two
fresh servers. The first is visited at once (``cold``: that visitor pays for the page modules' imports, the
store's opening and every cached loader) and then ``--warm`` more times (``warm``: the server's caches are
filled). The second is warmed the way ``make dashboard`` and the browser tests warm it
(``ui.warm_up.run_once``: Streamlit's script health check runs ``app.py`` once), then visited once
(``warmed``: the first visitor of a server started that way). Every visit is a new browser context, so the
browser's cache is always empty, as for a first-time user. A script injected before the page's own code
records, in the browser's clock (seconds since the navigation started): the websocket connected, the first
script run finished (the server's ``script_finished`` message reached the page),
plotly.js (Streamlit's lazily loaded ``PlotlyChart`` chunk, 4.7 MB) downloaded, the first plotly chart drawn
(a ``.js-plotly-plot`` holding an SVG trace) and every chart of the page drawn. ``server start`` is from the
process start to ``/_stcore/health`` answering ``ok``; ``warm-up`` is the script health check's duration.
``loaded`` runs the same with ``--load`` busy-loop processes (one per core by default) started by this
script for the whole measurement, as on a shared CI machine. ``floor``: a one-chart Streamlit app (a
title and one two-bar plotly chart) on its own warm server, what Streamlit and plotly.js cost in this
browser before any of our work.

Command: ``.venv/bin/python bench/first_chart.py --repeat 3 --warm 3 --out bench/README.md``
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import streamlit
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.store import machine, table, write_section  # noqa: E402
from tests.e2e.streamlit_page import RUN_MONITOR  # noqa: E402
from ui import warm_up  # noqa: E402

BEGIN, END = "<!-- bench/first_chart.py: begin -->", "<!-- bench/first_chart.py: end -->"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
#: Our own targets for the first chart on a quiet machine: a server nobody warmed, and a warmed or warm one.
TARGET_COLD_S = 5.0
TARGET_WARM_S = 3.0

#: Records the page's milestones in ``window.__labelwatchMarks`` (ms since navigation start); the runs'
#: ends come from the browser tests' ``RUN_MONITOR`` (the server's ``script_finished`` messages).
MARKS_SCRIPT = """
(() => {
  const marks = {};
  window.__labelwatchMarks = marks;
  const mark = (name) => { if (!(name in marks)) marks[name] = performance.now(); };
  const check = () => {
    const app = document.querySelector("[data-testid='stApp']");
    if (app && app.getAttribute("data-test-connection-state") === "CONNECTED") mark("connected");
    const charts = document.querySelectorAll("[data-testid='stPlotlyChart']");
    const drawn = [...charts].filter((c) => c.querySelector(".js-plotly-plot g.trace")).length;
    if (drawn) mark("first_chart");
    if (window.__labelwatchRuns && drawn && drawn === charts.length && marks.charts !== drawn) {
      marks.charts = drawn;
      marks.all_charts = performance.now();
    }
  };
  new MutationObserver(check).observe(document, {subtree: true, childList: true, attributes: true});
})();
"""
MILESTONES = ["connected", "script_finished", "first_chart", "all_charts"]

#: The floor: what Streamlit and plotly.js cost in this browser for one tiny chart and nothing else.
FLOOR_APP = """
import plotly.graph_objects as go
import streamlit as st

st.title("Floor")
st.plotly_chart(go.Figure(go.Bar(x=["a", "b"], y=[1, 2])))
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def busy_cores(n: int):
    """``n`` processes spinning a core each for the duration of the block."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()


@contextlib.contextmanager
def streamlit_server(db: Path, script: Path = ROOT / "app.py"):
    """A fresh ``streamlit run SCRIPT`` on a free loopback port; yields ``(url, seconds to healthy)``."""
    port = _free_port()
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env={**os.environ, "LABELWATCH_DB": str(db)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if not warm_up.wait_healthy(url, timeout=600, alive=lambda: process.poll() is None):
            raise RuntimeError(f"streamlit did not answer on {url} (exit code {process.poll()})")
        yield url, time.perf_counter() - started
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def visit(browser, url: str) -> dict[str, float]:
    """Open ``url`` in a new context and return its milestones in seconds since the navigation started."""
    context = browser.new_context(viewport={"width": 1440, "height": 2400})
    try:
        context.add_init_script(RUN_MONITOR)
        context.add_init_script(MARKS_SCRIPT)
        page = context.new_page()
        page.goto(url)
        page.wait_for_function("() => window.__labelwatchMarks && window.__labelwatchMarks.all_charts >= 0",
                               timeout=600_000)
        # the marks keep updating while late charts draw: settle until the count holds
        page.wait_for_function("() => document.querySelectorAll(\"[data-testid='stPlotlyChart']\").length"
                               " === window.__labelwatchMarks.charts", timeout=600_000)
        marks = page.evaluate("() => ({...window.__labelwatchMarks,"
                              " script_finished: window.__labelwatchRunEnds[0]})")
        plotly = page.evaluate(
            "() => performance.getEntriesByType('resource')"
            ".filter((e) => e.name.includes('/PlotlyChart.')).map((e) => e.responseEnd)[0] ?? null"
        )
    finally:
        context.close()
    times = {name: marks[name] / 1000 for name in MILESTONES}
    times["plotly_js"] = plotly / 1000 if plotly is not None else float("nan")
    times["charts"] = marks["charts"]
    return times


def run(db: Path, floor: Path, *, repeat: int, warm: int) -> list[dict]:
    """``repeat`` times: a server visited once cold and ``warm`` times warm, a server warmed then visited;
    then the floor app's server, visited ``warm`` + 1 times."""
    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            for _ in range(repeat):
                with streamlit_server(db) as (url, start_s):
                    results.append({"visit": "cold", "server_start": start_s, **visit(browser, url)})
                    results.extend({"visit": "warm", **visit(browser, url)} for _ in range(warm))
                with streamlit_server(db) as (url, start_s):
                    began = time.perf_counter()
                    ok, answer = warm_up.run_once(url)
                    if not ok:
                        raise RuntimeError(f"the warm-up of {url} failed: {answer}")
                    results.append({"visit": "warmed", "server_start": start_s,
                                    "warm_up": time.perf_counter() - began, **visit(browser, url)})
            with streamlit_server(db, floor) as (url, _):
                results.extend({"visit": "floor", **visit(browser, url)} for _ in range(warm + 1))
        finally:
            browser.close()
    return results


def _summary(values: list[float]) -> str:
    values = [v for v in values if v == v]
    if not values:
        return "–"
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{statistics.median(values):.1f} ({max(values):.1f})"


def report(runs: dict[str, list[dict]], loads: dict[str, tuple[float, float]], command: str,
           load: int) -> str:
    info = machine()
    rows, verdicts = [], []
    for condition, results in runs.items():
        for kind in ("cold", "warmed", "warm", "floor"):
            chosen = [r for r in results if r["visit"] == kind]
            if not chosen:
                continue
            start = _summary([r["server_start"] for r in chosen]) if kind in ("cold", "warmed") else ""
            warmed = _summary([r["warm_up"] for r in chosen]) if kind == "warmed" else ""
            rows.append([f"{condition}, {kind}", f"{loads[condition][0]:.1f} → {loads[condition][1]:.1f}",
                         str(len(chosen)), start, warmed,
                         *(_summary([r[m] for r in chosen]) for m in [*MILESTONES[:2], "plotly_js",
                                                                     *MILESTONES[2:]]),
                         str(chosen[0]["charts"])])
            if condition == "quiet" and kind != "floor":
                worst = max(r["first_chart"] for r in chosen)
                target = TARGET_COLD_S if kind == "cold" else TARGET_WARM_S
                verdicts.append([f"first chart, {kind} visit, quiet: < {target:g} s", f"{worst:.1f} s",
                                 "pass" if worst < target else "**FAIL**"])
    return "\n".join([
        BEGIN, "## Time to the first chart in a real browser (`bench/first_chart.py`)", "",
        (__doc__ or "").split("\n\n")[1].replace("\n", " "), "",
        f"Command: `{command}`  ",
        f"Machine: {info['cores']} cores, {info['ram']} RAM, {info['cpu']}; Python {info['python']}, "
        f"streamlit {streamlit.__version__}, Chromium {_chromium_version()}; load = {load} busy processes  ",
        f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC", "",
        "Seconds since the navigation started, median (max) over the visits. `load avg`: the machine's "
        "1-minute load average when the condition started and ended (other jobs share this machine: a quiet "
        "condition is quiet only of this script's own load).", "",
        table(["condition", "load avg", "visits", "server start", "warm-up", "websocket connected",
               "script finished", "plotly.js loaded", "first chart drawn", "every chart drawn", "charts"],
              rows), "",
        table(["target (the worst visit)", "measured", "result"], verdicts), "",
        END, "",
    ])


def _chromium_version() -> str:
    out = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True, check=False).stdout
    return out.split()[1] if len(out.split()) > 1 else "unknown"


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="fresh servers per condition (cold visits)")
    parser.add_argument("--warm", type=int, default=3, help="warm visits per server")
    parser.add_argument("--load", type=int, default=len(os.sched_getaffinity(0)),
                        help="busy processes of the loaded condition (default: one per core)")
    parser.add_argument("--conditions", default="quiet,loaded", help="quiet, loaded or both")
    parser.add_argument("--out", type=Path, default=None, help="write this section of bench/README.md")
    args = parser.parse_args(argv)
    runs, loads = {}, {}
    with tempfile.TemporaryDirectory(prefix="first-chart-") as tmp:
        db, floor = Path(tmp) / "demo.duckdb", Path(tmp) / "floor.py"
        floor.write_text(FLOOR_APP)
        subprocess.run([sys.executable, "-m", "analytics", "--db", str(db), "demo"], cwd=ROOT, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for condition in args.conditions.split(","):
            spinners = args.load if condition == "loaded" else 0
            before = os.getloadavg()[0]
            with busy_cores(spinners):
                runs[condition] = run(db, floor, repeat=args.repeat, warm=args.warm)
                loads[condition] = (before, os.getloadavg()[0])
            print(condition, runs[condition], file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)
    section = report(runs, loads, ".venv/bin/python bench/first_chart.py " + " ".join(argv), args.load)
    print(section)
    if args.out:
        write_section(args.out, section, begin=BEGIN, end=END)


if __name__ == "__main__":
    main()
