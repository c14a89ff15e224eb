"""A real Streamlit server on a loopback port and Debian's headless Chromium driven by Playwright.

No browser is ever downloaded: Chromium comes from ``apt-get install chromium`` (``make browser``). Set
``LABELWATCH_SCREENSHOTS=DIR`` to save a screenshot of every page into DIR (``make screenshots``).

Every deadline here holds on a 2-core machine busy with other work (see ``streamlit_page``); a server that
exits, a demo build that fails or an app script that raises ends the session at once with its output.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.e2e.streamlit_page import EXPECT_TIMEOUT_MS, RUN_MONITOR
from ui import warm_up

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
#: From the server's start to its health endpoint answering; then the first script run (see ``server``).
START_TIMEOUT_S = 180
WARM_UP_TIMEOUT_S = 300

expect.set_options(timeout=EXPECT_TIMEOUT_MS)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@contextlib.contextmanager
def streamlit_server(db: pathlib.Path, log_dir: pathlib.Path, *, warm: bool = True, flags: tuple = (),
                     secrets: pathlib.Path | None = None, **env: str) -> Iterator[str]:
    """``streamlit run app.py`` on the store ``db`` on a fresh port, its first script run done; yields its
    base URL and stops the server on leaving.

    The address is left to ``.streamlit/config.toml`` (loopback), as a plain ``streamlit run app.py`` has it.

    ``env`` adds environment variables (e.g. ``LABELWATCH_USER``). ``secrets`` names the secrets file the
    server reads (Streamlit's ``secrets.files`` option) instead of ``.streamlit/secrets.toml``, e.g. one with
    an ``[auth]`` section. The server's output goes to
    ``log_dir/streamlit.log`` (an unread pipe would block the server once full) and is shown when the
    server does not come up. Once healthy, it is warmed as ``make dashboard`` warms it (``ui.warm_up``: the
    script health check that ``.streamlit/config.toml`` turns on runs ``app.py`` once): the imports and the
    Overview's queries happen here, under the long deadline, and a script that raises fails the test at once.
    A test that writes uses a store and a server of its own (``demo_store`` and this), never ``server``'s.
    ``warm=False`` leaves the server cold: its first script run is the first visitor's. ``flags`` adds
    options to ``streamlit run`` (e.g. ``("--secrets.files", PATH)``).
    """
    port = _free_port()
    log = log_dir / "streamlit.log"
    # single-user mode unless the test names a roles file (a LABELWATCH_ROLES of the caller's shell is not
    # the app's)
    inherited = {k: v for k, v in os.environ.items() if k != "LABELWATCH_ROLES"}
    env = {**inherited, "LABELWATCH_DB": str(db), **env}
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                "--server.port", str(port),
                "--browser.gatherUsageStats", "false", *flags,
                *(["--secrets.files", str(secrets)] if secrets is not None else []),
            ],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"

    def fail(reason: str) -> None:
        _stop(process)
        pytest.fail(f"{reason}\n--- streamlit output ---\n{log.read_text(errors='replace')}")

    try:
        if not warm_up.wait_healthy(url, timeout=START_TIMEOUT_S, alive=lambda: process.poll() is None):
            fail(f"streamlit did not answer on {url} within {START_TIMEOUT_S} s (exit code {process.poll()})")
        if warm:
            ok, answer = warm_up.run_once(url, timeout=WARM_UP_TIMEOUT_S)
            # "timeout" is Streamlit's own 60 s limit for the check, reached only on a very busy machine: the
            # tests' waits are longer, so go on; anything else (an "error" is a script that raised) ends it.
            if not ok and answer != "timeout":
                fail(f"app.py did not run cleanly on {url}: {answer}")
        yield url
    finally:
        if process.poll() is None:
            _stop(process)


def demo_store(path: pathlib.Path, *, history: bool = True) -> pathlib.Path:
    """Build the demo store at ``path`` through the CLI, as a user would (``history``: with the demo's
    remediation round); return ``path``."""
    flags = [] if history else ["--no-history"]
    result = subprocess.run(
        [sys.executable, "-m", "analytics", "--db", str(path), "demo", *flags], cwd=ROOT, capture_output=True,
        text=True, timeout=900, check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"building the demo store failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return path


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> pathlib.Path:
    """A demo store built through the CLI, as a user would, without the demo's remediation round (the
    pages' tests count an item's labels and send rows to review as on a team's first day); shared by the
    session's tests, which only read it (but for a detection run and review requests of the Suspects
    tests)."""
    return demo_store(tmp_path_factory.mktemp("e2e") / "demo.duckdb", history=False)


@pytest.fixture(scope="session")
def server(demo_db, tmp_path_factory) -> str:
    """``streamlit run app.py`` on the session's demo store (``streamlit_server``); yields its base URL."""
    with streamlit_server(demo_db, tmp_path_factory.mktemp("server")) as url:
        yield url


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (apt-get install chromium) first")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser) -> Page:
    """A new browser context's page that counts finished script runs (``streamlit_page.RUN_MONITOR``)."""
    context = browser.new_context(viewport={"width": 1440, "height": 1800})
    context.add_init_script(RUN_MONITOR)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()
