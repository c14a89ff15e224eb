"""Injection payloads in a real browser: every page of the app on a store whose stored strings are SQL, HTML
and script, Markdown and Streamlit directives (``tests/injection_store``), with the filters set from URL query
parameters holding payloads, and one filter set by hand.

A payload rendered as HTML would open a dialog (``alert(1)``), request ``/x`` (``<img src=x>``) or leave an
element in the DOM; a payload rendered as Markdown would leave a link to ``javascript:``. The test listens for
dialogs (and dismisses them, so a page cannot hang) and for requests, and checks the DOM of every page, with
each of its lazy tabs opened in turn (those pages send only the open tab's content). It also checks that the
pages show the payloads as text where they name them in the DOM (tables draw on a canvas;
``tests/pages/test_injection_pages.py`` reads those through AppTest).
"""

from __future__ import annotations

import pathlib
import re
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests import injection_store as inj
from tests.e2e.conftest import streamlit_server
from tests.e2e.streamlit_page import open_app, rerun, screenshot, wait_charts
from tests.pages.lazy_tabs import LAZY_TABS

pytestmark = pytest.mark.e2e

#: Every page of app.py: its navigation title, its URL path and a payload it shows in the DOM (or None).
PAGES = [
    ("Overview", "", None), ("Agreement", "agreement", None), ("Drift", "drift", None),
    ("Slices", "slices", inj.VALUE), ("Suspects", "suspects", None), ("Review", "review", None),
    ("Policies", "policies", None), ("Campaigns", "campaigns", inj.CAMPAIGN), ("Versions", "versions", None),
    ("Audit trail", "audit", None), ("Impact", "impact", None), ("Import", "import_data", None),
    ("Data", "data", None),
]
#: Filters from the URL: payloads the store holds and payloads it does not, and a parameter no page reads.
QUERY = urlencode({"dataset": inj.DATASET, "cohort": [inj.COHORT, inj.SQL_DROP], "slice": inj.ATTRIBUTE,
                   "slice_value": inj.VALUE, "from": inj.SCRIPT, "to": inj.SQL_OR, "q": inj.IMG}, doseq=True)
#: What a payload rendered as markup leaves in the DOM.
INJECTED = ("img[src='x'], img[onerror], [onerror], [onload], a[href^='javascript:' i], "
            "iframe[src^='javascript:' i]")
SCRIPTS_WITH_ALERT = "() => [...document.scripts].filter((s) => s.textContent.includes('alert(1)')).length"
#: The lazy tabs of a page by its URL path: the labels of those after the first (open when the page loads).
LATER_TABS = {pathlib.PurePath(page).stem: labels[1:] for page, (_, labels) in LAZY_TABS.items()}


@pytest.fixture(scope="module")
def injection_server(tmp_path_factory):
    db = inj.build(tmp_path_factory.mktemp("injection-e2e") / "injection.duckdb")
    with streamlit_server(db, tmp_path_factory.mktemp("injection-server")) as url:
        yield url


@pytest.fixture
def watched(page: Page):
    """The page, with every dialog it opens and every request for an injected image recorded."""
    seen = {"dialogs": [], "requests": []}

    def on_dialog(dialog) -> None:
        seen["dialogs"].append(f"{dialog.type}: {dialog.message} at {page.url}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("request", lambda request: seen["requests"].append(request.url)
            if urlsplit(request.url).path.rstrip("/").endswith("/x") else None)
    yield page, seen
    assert seen == {"dialogs": [], "requests": []}


def _clean(page: Page) -> None:
    expect(page.locator(INJECTED)).to_have_count(0)
    assert page.evaluate(SCRIPTS_WITH_ALERT) == 0
    expect(page.locator("[data-testid='stException']")).to_have_count(0)


@pytest.mark.parametrize(("title", "path", "shown"), PAGES, ids=[p[0] for p in PAGES])
def test_no_payload_runs_or_renders_on_any_page(watched, injection_server, title, path, shown):
    page, _ = watched
    open_app(page, f"{injection_server}/{path}?{QUERY}")
    wait_charts(page, 0)
    expect(page.locator("h1").first).to_be_visible()
    _clean(page)
    sidebar = page.locator("[data-testid='stSidebar']")
    # the filters from the URL, as text: the chosen cohort and attribute, the dataset and slice value chosen
    expect(sidebar).to_contain_text(inj.COHORT)
    expect(sidebar).to_contain_text(inj.ATTRIBUTE + " =")
    expect(sidebar.get_by_role("combobox", name="Dataset")).to_have_value(inj.DATASET)
    chosen = sidebar.locator("[data-testid='stSelectbox'] input").evaluate_all(
        "(all) => all.map((e) => e.value)")
    assert inj.VALUE in chosen
    if shown is not None:
        expect(page.locator("[data-testid='stMain']")).to_contain_text(shown)
    screenshot(page, "injection-" + (path or "overview"))
    for tab in LATER_TABS.get(path, ()):
        # a lazy tab: the click runs the page, which then sends the tab's content
        rerun(page, page.get_by_role("tab", name=tab, exact=True).click)
        expect(page.get_by_role("tab", name=tab, exact=True)).to_have_attribute("aria-selected", "true")
        wait_charts(page, 0)
        _clean(page)


def test_a_payload_cohort_chosen_by_hand_stays_text_in_the_page_and_the_url(watched, injection_server):
    page, _ = watched
    open_app(page, injection_server, charts=1)
    page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").first.click()
    rerun(page, page.get_by_role("option", name=inj.COHORT).click)
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"cohort=%3Cscript%3Ealert%281%29%3C%2Fscript%3Ecrowd"))
    wait_charts(page, 1)
    expect(page.locator("[data-testid='stPlotlyChart']").first).to_contain_text(inj.COHORT)
    _clean(page)
