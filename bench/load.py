"""Load: many people on one dashboard. Every page under 10 simultaneous browser sessions, against one.

Usage::

    .venv/bin/python bench/load.py --events 1e6 --sessions 10 --repeat 3 --out bench/README.md

**The store** is built once under ``--work-dir`` (``load-<events>/store.duckdb``, reused by later runs with
the same size) through the CLI, as a team would build it: ``demo --scale N`` (the synthetic world of
``analytics.synthetic.scale``: 1,000 annotators, K = 10, 2–5 labels per item) and ``score`` (a real
detection run, so Suspects, Review and the Slices page's suspect counts have content).

**The server** is one ``streamlit run app.py`` on that store, warmed as ``make dashboard`` warms it
(``ui.warm_up``), then every page is opened once so its caches hold what a later visitor of the same view
finds. One browser tab and ``--sessions`` − 1 other sessions are opened on the Import page and stay open.
Then, page by page, ``--repeat`` times:

* **open alone**: one new browser session opens the page's URL (a new browser context: an empty browser
  cache, Streamlit's JavaScript downloaded and parsed, a new Streamlit session);
* **open together**: the same, while ``--sessions`` − 1 other new sessions open it at the same moment;
* **switch alone**: the open tab clicks the page in the sidebar (what a person moving between pages does:
  no reload, one script run);
* **switch together**: the tab clicks it while every other open session switches to it at the same moment
  (each goes back to the Import page in between).

**Together** means what ten people on their own machines bring to the server: the measured visit is one
real browser's, and at the same moment ``--sessions`` − 1 other sessions ask the server for the same page
through Streamlit's own protocol (``ProtocolSession``: the websocket the browser speaks, the same script
run and the same messages sent back; opening also downloads every file the browser's visit alone
downloaded). They do not draw what they receive: the other people's browsers run on their own machines,
not on the server's. (An earlier version drove ten Chromiums on this machine; their drawing then shared
the server's 2 cores and the ratios measured the browsers: 7–10×, ``git log bench/README.md``.)

A visit ends when the page is idle with every visible chart drawn (the browser tests' own signals,
``tests/e2e/streamlit_page.py``), timed in the browser's clock from the navigation's start or the click.
The **ratio** divides the median visit together by the median visit alone, measured in the same run on
the same server; the target is ≤ 3 for every page.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import datetime as dt
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import httpx
import streamlit
import websockets
from playwright.async_api import async_playwright
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.api import endpoint  # noqa: E402
from bench.first_chart import CHROMIUM, CHROMIUM_ARGS, _chromium_version, streamlit_server  # noqa: E402
from bench.store import machine, table, write_section  # noqa: E402
from tests.e2e.streamlit_page import RUN_MONITOR  # noqa: E402
from ui import warm_up  # noqa: E402

BEGIN, END = "<!-- bench/load.py: begin -->", "<!-- bench/load.py: end -->"
#: The target: a page's median render with the others at once, over its median render alone.
TARGET_RATIO = 3.0
#: Every page of the navigation (``app.py``), by its URL path ("" is the Overview, the default page).
PAGES = {
    "Overview": "", "Agreement": "agreement", "Drift": "drift", "Slices": "slices", "Suspects": "suspects",
    "Review": "review", "Policies": "policies", "Campaigns": "campaigns", "Versions": "versions",
    "Audit trail": "audit", "Impact": "impact", "Import": "import_data", "Data": "data",
}
#: Resolves to ``performance.now()`` once the first script run finished, nothing runs and every visible
#: chart has drawn; to "error" when the page shows an exception.
_RENDERED = """
() => {
  if (document.querySelector("[data-testid='stException']")) return "error";
  const app = document.querySelector("[data-testid='stApp']");
  if (!(app && window.__labelwatchRuns > 0
        && app.getAttribute("data-test-connection-state") === "CONNECTED"
        && app.getAttribute("data-test-script-state") === "notRunning"
        && !document.querySelector("[data-testid='stStatusWidgetRunningIcon']"))) return false;
  const charts = [...document.querySelectorAll("[data-testid='stPlotlyChart']")]
    .filter((c) => c.checkVisibility());
  if (!charts.every((c) => c.querySelector(".js-plotly-plot .main-svg"))) return false;
  return performance.now();
}
"""
TIMEOUT_MS = 600_000
#: The page every open session returns to between two switches (light: a form and no chart).
NEUTRAL = "Import"
MODES = ("open alone", "open together", "switch alone", "switch together")


def build_store(work: Path, events: int) -> Path:
    """The ``demo --scale`` store with a detection run, built once per size (reused when present)."""
    folder = work / f"load-{events}"
    db = folder / "store.duckdb"
    if db.exists():
        return db
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / "building.duckdb"
    partial.unlink(missing_ok=True)
    cli = [sys.executable, "-m", "analytics", "--db", str(partial)]
    subprocess.run([*cli, "demo", "--scale", str(events)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    subprocess.run([*cli, "score"], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    partial.rename(db)
    return db


async def _rendered(page, since: float) -> float:
    """Seconds from ``since`` (the page's clock, ms) until the page is idle with every visible chart drawn."""
    handle = await page.wait_for_function(_RENDERED, timeout=TIMEOUT_MS, polling=50)
    rendered = await handle.json_value()
    if rendered == "error":
        text = await page.locator("[data-testid='stException']").first.inner_text()
        raise RuntimeError(f"{page.url} raised:\n{text}")
    return (rendered - since) / 1000


async def open_page(browser, url: str) -> tuple[float, list[str]]:
    """Open ``url`` in a new context (a new session, an empty browser cache); seconds until rendered, and
    the address of every file it downloaded from the server."""
    context = await browser.new_context(viewport={"width": 1440, "height": 1800})
    try:
        await context.add_init_script(RUN_MONITOR)
        page = await context.new_page()
        await page.goto(url, timeout=TIMEOUT_MS)
        seconds = await _rendered(page, 0.0)
        files = await page.evaluate("() => performance.getEntriesByType('resource').map((e) => e.name)")
        return seconds, [url, *(f for f in files if f.startswith(url.split("/", 3)[0] + "//")
                                and "/_stcore/stream" not in f)]
    finally:
        await context.close()


async def switch(page, title: str) -> float:
    """Click ``title`` in the sidebar of an open session; seconds until its run finished and it rendered."""
    before, since = await page.evaluate("() => [window.__labelwatchRuns, performance.now()]")
    await page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title, exact=True).click()
    await page.wait_for_function("(n) => window.__labelwatchRuns > n", arg=before, timeout=TIMEOUT_MS)
    return await _rendered(page, since)


class ProtocolSession:
    """Another person's session, as the server sees it: Streamlit's websocket, without a browser drawing.

    ``show(path)`` asks for the page at ``path`` as the browser does on opening a URL or clicking the
    sidebar (a ``rerun_script`` message naming the page) and reads every message of the run until the
    server says it finished; the messages are received in full and parsed, not drawn.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.socket = None

    async def connect(self) -> ProtocolSession:
        self.socket = await websockets.connect(
            self.url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"],
            origin=self.url, max_size=None, open_timeout=TIMEOUT_MS / 1000)
        return self

    async def show(self, path: str) -> float:
        """Seconds from asking for the page to the end of its script run."""
        ask = BackMsg()
        ask.rerun_script.page_name = path
        began = time.perf_counter()
        await self.socket.send(ask.SerializeToString())
        while True:
            message = ForwardMsg()
            message.ParseFromString(await asyncio.wait_for(self.socket.recv(), TIMEOUT_MS / 1000))
            kind = message.WhichOneof("type")
            if kind == "page_not_found":
                raise RuntimeError(f"{self.url}/{path}: page not found")
            if kind == "delta" and message.delta.new_element.WhichOneof("type") == "exception":
                raise RuntimeError(f"{self.url}/{path} raised: {message.delta.new_element.exception.message}")
            if kind == "script_finished" and message.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                return time.perf_counter() - began

    async def close(self) -> None:
        await self.socket.close()


async def protocol_open(url: str, path: str, files: list[str]) -> float:
    """A new person opening ``path``: every file a browser downloaded opening it (six at a time, as a
    browser does, compressed bytes received and not decoded), then a new session."""
    began = time.perf_counter()
    lanes = asyncio.Semaphore(6)
    async with httpx.AsyncClient(timeout=TIMEOUT_MS / 1000, trust_env=False,
                                 headers={"Accept-Encoding": "gzip, deflate, br"}) as client:
        async def download(file: str) -> None:
            async with lanes, client.stream("GET", file) as response:
                async for _ in response.aiter_raw():
                    pass

        await asyncio.gather(*(download(file) for file in files))  # a 404 (a base-path probe) as well
    session = await ProtocolSession(url).connect()
    try:
        await session.show(path)
    finally:
        await session.close()
    return time.perf_counter() - began


async def visits(mode: str, browser, url: str, path: str, tab, others: list[ProtocolSession], title: str,
                 files: list[str]) -> list[float]:
    """The measured browser visit of one mode (``MODES``), then each other session's, in seconds."""
    if mode == "open alone":
        return [(await open_page(browser, f"{url}/{path}"))[0]]
    if mode == "open together":
        (mine, _), *theirs = await asyncio.gather(open_page(browser, f"{url}/{path}"),
                                                  *(protocol_open(url, path, files) for _ in others))
        return [mine, *theirs]
    if mode == "switch alone":
        return [await switch(tab, title)]
    return list(await asyncio.gather(switch(tab, title), *(other.show(path) for other in others)))


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) used so far by the Streamlit server and by Chromium, from ``/proc``.

    The server is this process's ``streamlit run`` child; Chromium is every process named ``chromium`` or
    ``chrome`` (the browser, its renderers and helpers; the machine runs no other browser meanwhile), with
    what their ended children used."""
    tick = os.sysconf("SC_CLK_TCK")
    totals = {"server": 0.0, "browser": 0.0}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1:stat.rindex(")")], stat[stat.rindex(")") + 2:].split()
        # user + system, then the same of its ended children that were waited for (a closed tab's renderer)
        used = sum(int(value) for value in fields[11:15]) / tick
        if int(fields[1]) == os.getpid() and "streamlit" in cmdline:
            totals["server"] += used
        elif name.startswith(("chromium", "chrome")):
            totals["browser"] += used
    return totals


async def measure(url: str, *, sessions: int, repeat: int) -> list[dict]:
    """Every page, ``repeat`` times: opened alone, with ``sessions`` − 1 others, switched to alone, together.

    Each result is one visit: the measured browser's (``who`` = "browser") or another session's ("other",
    the server's time for it, not drawn)."""
    results = []
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                   headless=True)
        context = await browser.new_context(viewport={"width": 1440, "height": 1800})
        others = []
        try:
            downloads = {}  # every page's caches filled once, and the files a browser downloads opening it
            for path in PAGES.values():
                downloads[path] = (await open_page(browser, f"{url}/{path}"))[1]
            await context.add_init_script(RUN_MONITOR)
            tab = await context.new_page()
            await tab.goto(f"{url}/{PAGES[NEUTRAL]}", timeout=TIMEOUT_MS)
            await _rendered(tab, 0.0)
            others = [await ProtocolSession(url).connect() for _ in range(sessions - 1)]
            await asyncio.gather(*(other.show(PAGES[NEUTRAL]) for other in others))
            for name, path in PAGES.items():
                if name == NEUTRAL:
                    continue
                for _ in range(repeat):
                    for mode in MODES:
                        before = cpu_seconds()
                        found = await visits(mode, browser, url, path, tab, others, name, downloads[path])
                        after = cpu_seconds()
                        server = (after["server"] - before["server"]) / len(found)
                        results.extend({"page": name, "mode": mode, "who": "other" if i else "browser",
                                        "seconds": seconds, "server_cpu": server,
                                        "browser_cpu": after["browser"] - before["browser"]}
                                       for i, seconds in enumerate(found))
                        if mode.startswith("switch"):  # back to the neutral page, untimed
                            back = others if mode.endswith("together") else []
                            await asyncio.gather(switch(tab, NEUTRAL),
                                                 *(other.show(PAGES[NEUTRAL]) for other in back))
                print(name, {mode: [round(r["seconds"], 2) for r in results if r["page"] == name
                                    and r["mode"] == mode and r["who"] == "browser"] for mode in MODES},
                      file=sys.stderr)
        finally:
            await asyncio.gather(*(other.close() for other in others))
            await browser.close()
    return results


def _markdown(text: str) -> str:
    """A docstring's paragraphs as Markdown: each paragraph, and each ``* `` item, on one line."""
    items = re.split(r"\n(?=\* )|\n\n", text.strip())
    return "\n\n".join(" ".join(item.split()) for item in items)


def _median_max(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({max(values):.2f})"


def api_calls(db: Path, calls: int) -> dict:
    """``calls`` simultaneous ``GET /api/summary`` (each its own thread and connection), after one alone.

    The token is the dashboard's local one, from the endpoint file beside the store (``analytics.api``).
    Returns the time alone, each call's status and seconds, whether every answer equals the one alone, and
    the wall time of the whole burst.
    """
    found = endpoint.live(db)
    if found is None:
        raise RuntimeError(f"no live dashboard answers for {db}")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call() -> tuple[int | str, float, bytes]:
        request = urllib.request.Request(found.url + "/api/summary",
                                         headers={"Authorization": f"Bearer {found.token}"})
        began = time.perf_counter()
        try:
            with opener.open(request, timeout=TIMEOUT_MS / 1000) as response:
                return response.status, time.perf_counter() - began, response.read()
        except urllib.error.HTTPError as error:
            return error.code, time.perf_counter() - began, b""
        except OSError as error:
            return type(error).__name__, time.perf_counter() - began, b""

    status, alone, body = call()
    if status != 200:
        raise RuntimeError(f"/api/summary answered {status} alone")
    began = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=calls) as pool:
        answers = list(pool.map(lambda _: call(), range(calls)))
    wall = time.perf_counter() - began
    expected = _comparable(body)
    return {"alone": alone, "wall": wall, "statuses": [a[0] for a in answers],
            "seconds": [a[1] for a in answers], "same": sum(_comparable(a[2]) == expected for a in answers)}


def _comparable(body: bytes) -> object:
    """A summary with its numbers to 9 significant digits (DuckDB's parallel sums differ in the last bits)."""
    def rounded(value):
        if isinstance(value, float):
            return float(f"{value:.9g}")
        if isinstance(value, dict):
            return {key: rounded(item) for key, item in value.items()}
        if isinstance(value, list):
            return [rounded(item) for item in value]
        return value

    try:
        return rounded(json.loads(body))
    except ValueError:
        return None


def report(results: list[dict], calls: dict, *, events: int, sessions: int, command: str,
           loads: tuple[float, float], elapsed: float) -> str:
    info = machine()
    rows, cpu_rows, worst = [], [], {"open": (0.0, ""), "switch": (0.0, "")}
    for name in PAGES:
        mine = [r for r in results if r["page"] == name and r["who"] == "browser"]
        times = {mode: [r["seconds"] for r in mine if r["mode"] == mode] for mode in MODES}
        if not times["open alone"]:
            continue
        row = [name]
        for way in ("open", "switch"):
            ratio = statistics.median(times[f"{way} together"]) / statistics.median(times[f"{way} alone"])
            worst[way] = max(worst[way], (ratio, name))
            theirs = [r["seconds"] for r in results
                      if r["page"] == name and r["mode"] == f"{way} together" and r["who"] == "other"]
            row += [_median_max(times[f"{way} alone"]), _median_max(times[f"{way} together"]),
                    f"{ratio:.2f}" + ("" if ratio <= TARGET_RATIO else " **FAIL**"), _median_max(theirs)]
        rows.append(row)
        cpu_rows.append([name, *(f"{statistics.median(r[who] for r in mine if r['mode'] == mode):.2f}"
                                 for mode in MODES for who in ("server_cpu", "browser_cpu"))])
    return "\n".join([
        BEGIN, "## Load: every page under simultaneous sessions (`bench/load.py`)", "",
        _markdown((__doc__ or "").split("\n\n", 3)[3]), "",
        f"Command: `{command}`  ",
        f"Machine: {info['cores']} cores, {info['ram']} RAM, {info['cpu']}; Python {info['python']}, "
        f"streamlit {streamlit.__version__}, Chromium {_chromium_version()}  ",
        f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; the store: {events:,} events (`demo --scale`, "
        f"then `score`); the machine's 1-minute load average {loads[0]:.1f} at the start and {loads[1]:.1f} "
        f"at the end (other jobs share it); {elapsed / 60:.0f} minutes in all", "",
        f"Seconds, median (max) over the measured browser's visits; together = it and {sessions - 1} other "
        f"sessions at the same moment; ratio = median together / median alone, target ≤ {TARGET_RATIO:g}; "
        "the others = how long the server took for each other session (its files and its script run; "
        "not drawn).", "",
        table(["page", "open: alone", "open: together", "open: ratio", "open: the others",
               "switch: alone", "switch: together", "switch: ratio", "switch: the others"], rows), "",
        f"Worst ratio: opening {worst['open'][0]:.2f} ({worst['open'][1]}), switching "
        f"{worst['switch'][0]:.2f} ({worst['switch'][1]}).", "",
        "Where the time goes: CPU seconds (median over the rounds), read from `/proc` before and after each "
        "round: the Streamlit server's per session served (the round's divided by its sessions) and the "
        "measured browser's (every Chromium process).", "",
        table(["page", *(f"{mode}: {who}" for mode in MODES for who in ("server", "browser"))], cpu_rows), "",
        f"**API**: {len(calls['statuses'])} simultaneous `GET /api/summary` calls (a thread and a connection "
        "each, the dashboard's local token) after one alone: "
        f"{sum(status == 200 for status in calls['statuses'])} answered 200 "
        f"({', '.join(sorted({str(s) for s in calls['statuses'] if s != 200})) or 'no failure'}), "
        f"{calls['same']} with the same summary as the call alone (to 9 significant digits: DuckDB's "
        f"parallel sums differ in the last bits); alone {calls['alone']:.2f} s; each call of the burst "
        f"{statistics.median(calls['seconds']):.2f} s median, {max(calls['seconds']):.2f} s max; the burst "
        f"{calls['wall']:.1f} s in all.", "",
        END, "",
    ])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=float, default=1e6, help="events in the store (default 1e6)")
    parser.add_argument("--sessions", type=int, default=10, help="simultaneous sessions (default 10)")
    parser.add_argument("--repeat", type=int, default=3, help="visits alone and rounds together per page")
    parser.add_argument("--calls", type=int, default=50, help="simultaneous API summary calls (default 50)")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "bench" / "_work")
    parser.add_argument("--out", type=Path, default=None, help="write this section of bench/README.md")
    args = parser.parse_args(argv)
    events = int(args.events)
    db = build_store(args.work_dir, events)
    began, load_before = time.perf_counter(), os.getloadavg()[0]
    with streamlit_server(db) as (url, _):
        ok, answer = warm_up.run_once(url)
        if not ok:
            raise RuntimeError(f"the warm-up of {url} failed: {answer}")
        calls = api_calls(db, args.calls)
        results = asyncio.run(measure(url, sessions=args.sessions, repeat=args.repeat))
    section = report(results, calls, events=events, sessions=args.sessions,
                     elapsed=time.perf_counter() - began,
                     command=".venv/bin/python bench/load.py " + " ".join(argv),
                     loads=(load_before, os.getloadavg()[0]))
    print(section)
    if args.out:
        write_section(args.out, section, begin=BEGIN, end=END)


if __name__ == "__main__":
    main()
