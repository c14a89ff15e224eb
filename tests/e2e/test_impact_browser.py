"""The Impact page in Debian's headless Chromium: the stored before/after analysis of the demo's remediation
round with its verdict and charts, presentation mode, and the report downloaded as one offline HTML file.

The page is read here, but the analysis is written first, so the test has its own store and server.
"""

from __future__ import annotations

import re
import warnings

import pytest
from playwright.sync_api import expect

from analytics.impact import ab
from analytics.store import Store
from tests.e2e.conftest import demo_store, streamlit_server
from tests.e2e.streamlit_page import rerun, screenshot, wait_charts, wait_idle

pytestmark = pytest.mark.e2e
SLOW = 120_000


@pytest.fixture(scope="module")
def impact_server(tmp_path_factory) -> str:
    """``streamlit run app.py`` on the demo (with its remediation round) and one stored analysis v1 → v2."""
    folder = tmp_path_factory.mktemp("impact")
    db = demo_store(folder / "demo.duckdb")
    with warnings.catch_warnings(), Store(db) as store:
        warnings.simplefilter("ignore")
        ab.compare_versions(store, "v1", "v2", created_by="lead", n_boot=500)
    with streamlit_server(db, folder, LABELWATCH_USER="lead") as url:
        yield url


def test_the_impact_page_presents_and_downloads_an_offline_report(page, impact_server, tmp_path):
    page.goto(impact_server)
    wait_idle(page, timeout_ms=SLOW)
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Impact", exact=True).click()
    expect(page.get_by_text(re.compile(r"^From v1 → v2, the accuracy of the labels"))).to_be_visible(
        timeout=SLOW)
    wait_idle(page, timeout_ms=SLOW)
    wait_charts(page, 4)
    expect(page.get_by_text("Run an analysis")).to_be_visible()
    screenshot(page, "impact")

    rerun(page, lambda: page.get_by_text("Presentation mode").click())
    expect(page.get_by_text("Run an analysis")).to_have_count(0)
    expect(page.get_by_text(re.compile(r"^From v1 → v2"))).to_be_visible()
    wait_charts(page, 4)
    screenshot(page, "impact-presentation")

    with page.expect_download(timeout=SLOW) as download:
        page.get_by_role("button", name=re.compile("Download the report")).click()
    saved = tmp_path / "report.html"
    download.value.save_as(saved)
    html = saved.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "Measured effect (v1 → v2)" in html
    assert not re.search(r"<script[^>]+src=", html) and not re.search(r"<link[^>]+href=", html)

    report = page.context.new_page()
    asked = []
    report.on("request", lambda r: asked.append(r.url))
    report.goto(saved.as_uri())
    expect(report.locator(".js-plotly-plot").first).to_be_visible(timeout=SLOW)
    assert report.locator(".js-plotly-plot").count() >= 6
    assert [u for u in asked if not u.startswith(("file:", "data:", "blob:"))] == []
    report.close()
