"""The Suspects page in Debian's headless Chromium against ``streamlit run app.py`` on the demo store: what
only a browser shows (the drawn label axis, a clicked cluster bar, picked table rows, the run picker)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.e2e.streamlit_page import runs, screenshot, wait_idle

pytestmark = pytest.mark.e2e

CHART = "[data-testid='stPlotlyChart']"
ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"
#: A page of the demo runs detection and Dawid–Skene on first render: generous on a busy 2-core machine.
SLOW = 120_000


def _suspects(page: Page, url: str) -> None:
    page.goto(url)
    wait_idle(page, timeout_ms=SLOW)
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Suspects", exact=True).click()
    verdict = page.get_by_text(re.compile(r"look mislabeled: their annotators agree"))
    expect(verdict).to_be_visible(timeout=SLOW)
    wait_idle(page, timeout_ms=SLOW)


def _metric(page: Page, label: str) -> str:
    tile = page.locator("[data-testid='stMetric']").filter(has_text=label)
    return tile.locator("[data-testid='stMetricValue']").inner_text()


def _timeline(page: Page):
    return page.locator(CHART).filter(has_text="Every label this item received")


def test_an_item_without_consensus_shows_every_label_it_received_by_name(page, server):
    # digits-1183 received 5, 4, 7, 9 and 6: five rows named in vocabulary order, five dots, the
    # suggestion marked; no number axis (whose 4/6/8 ticks hid the given and suggested labels).
    _suspects(page, server)
    box = page.get_by_label("Item id (or select a row above)")
    box.fill("digits-1183")
    box.press("Enter")
    head = page.get_by_text(re.compile(r"^Item digits-1183 · Needs adjudication"))
    expect(head).to_be_visible(timeout=SLOW)
    wait_idle(page, timeout_ms=SLOW)
    chart = _timeline(page)
    expect(chart.locator(".scatterlayer .point")).to_have_count(5)
    ticks = [t.strip() for t in chart.locator(".ytick text").all_text_contents()]
    assert ticks == ["4 (1 label)", "5 (1 label)", "6 · suggested (1 label)", "7 (1 label)", "9 (1 label)"]
    why = page.get_by_text(re.compile(r"^No consensus: no label holds a strict majority of its 5 ratings"))
    expect(why).to_be_visible()
    expect(page.locator(ERRORS)).to_have_count(0)
    chart.scroll_into_view_if_needed()
    screenshot(page, "suspects-drill-down")


def test_a_slice_filter_moves_every_number_of_the_page(page, server):
    _suspects(page, server + "/?slice=source&slice_value=fax")
    statement = page.get_by_text(re.compile(r"^[\d,]+ of the run's 1,797 items are in view \(source = fax\)"))
    expect(statement).to_be_visible()
    in_view = statement.inner_text().split(" ")[0]
    assert _metric(page, "Items in view") == in_view != "1,797"
    flagged = _metric(page, "Likely mislabeled")
    share = page.get_by_text(re.compile(rf"^{flagged} of {in_view} items \([\d.]+%\) look mislabeled"))
    expect(share).to_be_visible()
    pages = -(-int(flagged.replace(",", "")) // 25)
    expect(page.get_by_text(f"Page (of {pages}; {flagged} items)")).to_be_visible()
    expect(page.get_by_role("button", name=f"Send all {flagged} matching items…")).to_be_visible()
    expect(page.locator(ERRORS)).to_have_count(0)
    screenshot(page, "suspects-fax")


def test_a_clicked_cluster_bar_filters_the_table(page, server):
    _suspects(page, server)
    bars = page.locator(CHART).filter(has_text="Mislabeling patterns").locator(".barlayer .point")
    expect(bars.first).to_be_visible()
    assert bars.count() >= 3  # every cluster its own bar
    before = page.get_by_text(re.compile(r"^Page \(of [\d,]+; [\d,]+ items\)")).inner_text()
    # plotly's drag layer takes the pointer: click where the bar is, as a user does
    box = bars.nth(1).bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.get_by_text(re.compile(r"items in pattern .+, mean score"))).to_be_visible(timeout=SLOW)
    wait_idle(page, timeout_ms=SLOW)
    after = page.get_by_text(re.compile(r"^Page \(of [\d,]+; [\d,]+ items\)")).inner_text()
    assert after != before
    expect(page.locator(ERRORS)).to_have_count(0)
    screenshot(page, "suspects-cluster")


def test_picked_rows_go_to_review_and_a_repeat_is_not_a_success(page, server):
    _suspects(page, server)
    grid = page.locator("[data-testid='stDataFrame']").first
    send = page.get_by_role("button", name="Send the picked rows (1)")
    # On a busy machine the grid may still be laid out when first visible, and a click then lands nowhere.
    # A click that picks a row always reruns the app; one that missed does not, so it is tried again.
    for _ in range(3):
        expect(grid).to_be_visible()
        wait_idle(page, timeout_ms=SLOW)
        before = runs(page)
        box = grid.bounding_box()
        # the first data row's selection box: left edge, below the header (glide-data-grid rows are 35 px)
        page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)
        try:
            page.wait_for_function("n => window.__labelwatchRuns > n", arg=before, timeout=30_000)
        except PlaywrightTimeoutError:
            continue
        wait_idle(page, after=before, timeout_ms=SLOW)
        break
    expect(send).to_be_enabled(timeout=SLOW)
    wait_idle(page, timeout_ms=SLOW)
    send.click()
    expect(page.get_by_text("1 item added to the review requests.")).to_be_visible(timeout=SLOW)
    wait_idle(page, timeout_ms=SLOW)
    page.get_by_role("button", name="Send the picked rows (1)").click()
    again = page.get_by_text(re.compile(r"^Nothing added: all 1 item were already"))
    expect(again).to_be_visible(timeout=SLOW)
    expect(page.locator("[data-testid='stAlertContentSuccess']")).to_have_count(0)


def test_after_a_new_run_the_picker_names_the_run_the_page_describes(page, server):
    # Last in this file: it stores a run in the shared demo store.
    _suspects(page, server)
    page.get_by_text("Run detection", exact=True).first.click()
    page.get_by_role("button", name="Run detection on the filtered events").click()
    picker = page.get_by_role("combobox", name="Detection run")
    expect(picker).to_have_value(re.compile(r"· by local$"), timeout=SLOW)
    wait_idle(page, timeout_ms=SLOW)
    expect(page.get_by_text(re.compile(r"^Against the run of .* by demo: "))).to_be_visible()
    expect(page.locator(ERRORS)).to_have_count(0)
