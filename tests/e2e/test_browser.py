"""End to end in Debian's headless Chromium against ``streamlit run app.py`` on the demo store."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from analytics import demo
from tests.e2e.streamlit_page import screenshot, wait_idle

pytestmark = pytest.mark.e2e

CHART = "[data-testid='stPlotlyChart'] .js-plotly-plot"
ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"
NAV = {"Overview": "overview", "Agreement": "agreement", "Drift": "drift", "Slices": "slices",
       "Suspects": "suspects", "Import": "import_data", "Data": "data"}


def _open(page: Page, url: str) -> None:
    page.goto(url)
    wait_idle(page)


def _nav(page: Page, title: str) -> None:
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title, exact=True).click()
    expect(page.locator("h1").first).to_be_visible()
    wait_idle(page)


def test_app_renders_the_overview_with_charts(page, server):
    _open(page, server)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.locator(CHART).first).to_be_visible()
    assert page.locator(CHART).count() >= 4
    expect(page.get_by_text(re.compile(r"labels from \d+ annotators on [\d,]+ items"))).to_be_visible()
    expect(page.locator(ERRORS)).to_have_count(0)
    screenshot(page, "overview")


def test_the_overview_frames_its_changes_and_marks_a_partial_week(page, server):
    # June 2026 ends on a Tuesday: the week of 29 June is cut by the date filter
    _open(page, f"{server}/?from=2026-06-01&to=2026-06-30")
    expect(page.get_by_text("vs the 30 days before 2026-06-01").first).to_be_visible()
    expect(page.get_by_text(re.compile(r"^Changes compare the filtered 30 days \(2026-06-01 – 2026-06-30\)"))
           ).to_be_visible()
    activity = page.locator(CHART).first
    expect(activity).to_contain_text("partial week")
    expect(activity).to_contain_text("partial week (from 2026-06-29)")
    expect(page.locator(ERRORS)).to_have_count(0)
    screenshot(page, "overview-june")


@pytest.mark.parametrize("title", list(NAV))
def test_every_page_of_the_navigation_opens_without_an_error(page, server, title):
    _open(page, server)
    _nav(page, title)
    heading = "Import" if title == "Import" else title
    expect(page.get_by_role("heading", name=heading).first).to_be_visible()
    expect(page.locator(ERRORS)).to_have_count(0)
    assert page.url.rstrip("/").endswith(NAV[title]) or title == "Overview"
    screenshot(page, title.lower())


@pytest.mark.parametrize("path", ["data", "import_data"])
def test_a_link_straight_to_a_page_keeps_the_frame(page, server, path):
    _open(page, f"{server}/{path}")
    expect(page.get_by_text("Annotator cohorts")).to_be_visible()
    expect(page.locator("[data-testid='stSidebarNav']").get_by_text("Overview", exact=True)).to_be_visible()
    expect(page.locator(ERRORS)).to_have_count(0)


def test_a_cohort_filter_changes_the_chart_and_the_link(page, server):
    _open(page, server)
    activity = page.locator(CHART).first
    expect(activity).to_contain_text("vendor")
    before = activity.text_content()
    page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").first.click()
    page.get_by_role("option", name="expert").click()
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"cohort=expert"))
    expect(activity).not_to_contain_text("vendor")
    wait_idle(page)
    assert activity.text_content() != before
    expect(page.locator(ERRORS)).to_have_count(0)
    screenshot(page, "overview-filtered")


def test_a_shared_link_preselects_the_filter(page, server):
    data = demo.generate(seed=0)
    fax = set(data.items.loc[data.items["source"] == "fax", "item_id"])
    expected = data.events[(data.events["cohort"] == "vendor") & data.events["item_id"].isin(fax)]
    _open(page, f"{server}/?cohort=vendor&slice=source&slice_value=fax")
    activity = page.locator(CHART).first
    expect(activity).to_contain_text("vendor")
    expect(activity).not_to_contain_text("expert")
    expect(page.get_by_text(f"{len(expected):,} labels from")).to_be_visible()
    expect(page.locator("[data-testid='stSidebar']")).to_contain_text("source =")


def test_uploading_a_small_csv_shows_its_validation_report(page, server, tmp_path):
    upload = tmp_path / "few_events.csv"
    upload.write_text(
        "item_id,annotator_id,label,labeled_at\n"
        "e2e-1,e2e-ann,3,2026-05-01T10:00:00\n"
        "e2e-2,e2e-ann,8,2026-05-01T10:05:00\n"
        "e2e-3,,8,2026-05-01T10:06:00\n"
        "e2e-4,e2e-ann,8,not-a-date\n",
        encoding="utf-8",
    )
    _open(page, server)
    _nav(page, "Import")
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(upload))
    expect(page.get_by_role("heading", name="Validation report")).to_be_visible()
    wait_idle(page)
    report = page.locator("[data-testid='stMain']")
    expect(report).to_contain_text("Nothing has been written yet.")
    expect(page.get_by_role("button", name="Import 2 rows")).to_be_visible()
    expect(report).to_contain_text("few_events.csv")
    screenshot(page, "import-report")
    page.get_by_role("button", name="Import 2 rows").click()
    expect(page.get_by_text(re.compile(r"Imported 2 rows as batch"))).to_be_visible()
    wait_idle(page)
    _nav(page, "Data")
    expect(page.locator("[data-testid='stMain']")).to_contain_text("Import batches")
    expect(page.locator(ERRORS)).to_have_count(0)


def test_agreement_page_flags_the_demo_annotators_and_opens_one(page, server):
    _open(page, server)
    _nav(page, "Agreement")
    expect(page.get_by_text("3 annotators label near chance")).to_be_visible()
    expect(page.get_by_text("1 annotator is declining: ann-009.")).to_be_visible()
    expect(page.locator(CHART).first).to_be_visible()
    assert page.locator(CHART).count() >= 2
    screenshot(page, "agreement")
    page.get_by_role("tab", name="Annotators").click()
    box = page.get_by_role("combobox", name="Annotator", exact=True)
    box.click()
    box.fill("ann-009")
    page.keyboard.press("Enter")
    expect(page.get_by_text("ann-009: Dawid–Skene confusion matrix")).to_be_visible()
    differing = re.compile(r"Items where ann-009 differs from the consensus \(\d+\)")
    expect(page.get_by_text(differing)).to_be_visible()
    expect(page.locator(ERRORS)).to_have_count(0)
    screenshot(page, "agreement-annotator")


def test_suspects_page_filters_by_a_clicked_cluster_and_opens_an_item(page, server):
    _open(page, server)
    _nav(page, "Suspects")
    expect(page.get_by_text(re.compile(r"[\d,]+ of 1,797 items \([\d.]+%\) look mislabeled"))).to_be_visible()
    expect(page.locator(CHART).first).to_be_visible()
    expect(page.get_by_text("Every label this item received")).to_be_visible()
    expect(page.locator("[data-testid='stDataFrame']").first).to_be_visible()
    expect(page.locator(ERRORS)).to_have_count(0)
    screenshot(page, "suspects")
    pages_before = page.get_by_text(re.compile(r"Page \(of [\d,]+; [\d,]+ suspects\)")).inner_text()
    # plotly's drag layer takes the pointer: click where the bubble is, as a user does
    box = page.locator(CHART).first.locator(".scatterlayer .point").first.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    wait_idle(page)
    # the clicked cluster becomes the page's cluster filter: fewer suspects, its description shown
    expect(page.get_by_text(re.compile(r"items in pattern .+, mean score"))).to_be_visible()
    pages_after = page.get_by_text(re.compile(r"Page \(of [\d,]+; [\d,]+ suspects\)")).inner_text()
    assert pages_after != pages_before
    expect(page.locator(ERRORS)).to_have_count(0)
    screenshot(page, "suspects-cluster")


def test_drift_and_slices_name_the_injected_effects(page, server):
    _open(page, server)
    _nav(page, "Drift")
    expect(page.get_by_text(re.compile(r"guideline v2 took effect")).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"Annotator ann-009 \(crowd\) is declining"))).to_be_visible()
    expect(page.locator(CHART).first).to_be_visible()
    expect(page.locator(ERRORS)).to_have_count(0)
    screenshot(page, "drift")
    _nav(page, "Slices")
    expect(page.get_by_text(re.compile(r"^source = fax is the noisiest slice"))).to_be_visible()
    page.get_by_role("tab", name="Forest plot").click()
    expect(page.locator(CHART).first).to_be_visible()
    expect(page.locator(ERRORS)).to_have_count(0)
    screenshot(page, "slices")
