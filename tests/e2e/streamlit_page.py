"""Helpers for driving a Streamlit page in Playwright."""

from __future__ import annotations

import os
import pathlib

from playwright.sync_api import Page, expect

ROOT = pathlib.Path(__file__).resolve().parents[2]


def wait_idle(page: Page, *, timeout_ms: int = 30_000) -> None:
    """Wait until Streamlit is connected and no script run is in progress.

    A page's first run fits models and bootstraps intervals: on a busy 2-core CI machine that can take
    more than Playwright's default 5 s, hence the longer default.
    """
    app = page.locator("[data-testid='stApp']")
    expect(app).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=timeout_ms)
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=timeout_ms)
    expect(page.locator("[data-testid='stStatusWidgetRunningIcon']")).to_have_count(0, timeout=timeout_ms)


def screenshot(page: Page, name: str) -> None:
    """Save a full-page screenshot when LABELWATCH_SCREENSHOTS names a folder."""
    folder = os.environ.get("LABELWATCH_SCREENSHOTS")
    if folder:
        target = ROOT / folder
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target / f"{name}.png"), full_page=True)
