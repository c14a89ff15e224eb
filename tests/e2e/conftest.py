"""A real Streamlit server on a loopback port and Debian's headless Chromium driven by Playwright.

No browser is ever downloaded: Chromium comes from ``apt-get install chromium`` (``make browser``). Set
``LABELWATCH_SCREENSHOTS=DIR`` to save a screenshot of every page into DIR (``make screenshots``).
"""

from __future__ import annotations

import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from playwright.sync_api import Page, sync_playwright

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


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


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> pathlib.Path:
    """A demo store built through the CLI, as a user would."""
    path = tmp_path_factory.mktemp("e2e") / "demo.duckdb"
    subprocess.run(
        [sys.executable, "-m", "analytics", "--db", str(path), "demo"], cwd=ROOT, check=True, timeout=600
    )
    return path


@pytest.fixture(scope="session")
def server(demo_db) -> str:
    """``streamlit run app.py`` on a fresh loopback port; yields its base URL."""
    port = _free_port()
    env = {**os.environ, "LABELWATCH_DB": str(demo_db)}
    process = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
            "--server.address", "127.0.0.1", "--server.port", str(port),
            "--browser.gatherUsageStats", "false",
        ],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                if response.read() == b"ok":
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            output = process.stdout.read().decode(errors="replace") if process.poll() is not None else ""
            _stop(process)
            pytest.fail(f"streamlit did not become healthy on {url}:\n{output}")
        time.sleep(0.3)
    yield url
    _stop(process)


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
    context = browser.new_context(viewport={"width": 1440, "height": 1800})
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()
