"""End to end in Debian's headless Chromium against ``streamlit run app.py`` on the demo store."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from analytics.synthetic import demo
from tests.e2e.streamlit_page import (
    FINISHED_STATUS,
    choose,
    open_app,
    rerun,
    runs,
    screenshot,
    wait_charts,
    wait_idle,
)

pytestmark = pytest.mark.e2e

CHART = "[data-testid='stPlotlyChart'] .js-plotly-plot"
ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"
NAV = {"Overview": "overview", "Agreement": "agreement", "Drift": "drift", "Slices": "slices",
       "Suspects": "suspects", "Import": "import_data", "Data": "data"}


def _nav(page: Page, title: str, *, charts: int = 0) -> None:
    link = page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title, exact=True)
    rerun(page, link.click)
    expect(page.locator("h1").first).to_be_visible()
    wait_charts(page, charts)


def test_app_renders_the_overview_with_charts(page, server):
    open_app(page, server, charts=4)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.locator(CHART).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"labels from \d+ annotators on [\d,]+ items"))).to_be_visible()
    expect(page.locator(ERRORS)).to_have_count(0)
    screenshot(page, "overview")


def test_pages_are_awaited_until_their_charts_draw_in_a_browser_ten_times_slower(page, server):
    # A starved browser (a busy CI machine) draws the first chart many seconds after the script run has
    # finished: plotly.js is loaded, parsed and run only then. Ten times slower here, the run finishes in a
    # few seconds and the charts appear some ten seconds later; the waits must hold and still see them.
    page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": 10})
    open_app(page, server, charts=4)
    expect(page.locator(CHART).first).to_contain_text("vendor")
    expect(page.locator(ERRORS)).to_have_count(0)
    # such a browser may get a whole run's messages at once: the run must still be seen to finish
    _nav(page, "Agreement", charts=2)
    expect(page.get_by_role("heading", name="Agreement")).to_be_visible()
    expect(page.locator(ERRORS)).to_have_count(0)


def test_the_run_monitor_finds_the_end_of_a_run_among_the_servers_messages(browser):
    # RUN_MONITOR decodes Streamlit's ForwardMsg wire format by hand: check it on messages built by
    # Streamlit's own protobuf classes, shaped as the server sends them (metadata first, long deltas).
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    def message(**fields) -> str:
        msg = ForwardMsg(**fields)
        msg.metadata.run.script_run_id = "4f1c2d9e-8a7b-4c3d-9e2f-1a2b3c4d5e6f"
        msg.metadata.delta_path.extend([0, 1, 300])
        return msg.SerializeToString().hex()

    finished = [ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_EARLY_FOR_RERUN,
                ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY]
    messages = [message(script_finished=status) for status in finished]
    delta = ForwardMsg()
    delta.delta.new_element.markdown.body = "a" * 1000
    messages += [message(delta=delta.delta), message(session_status_changed={"script_is_running": True})]
    context = browser.new_context()
    try:
        decoded = context.new_page().evaluate(
            f"(messages) => messages.map((hex) => ({FINISHED_STATUS})("
            "new Uint8Array(hex.match(/../g).map((b) => parseInt(b, 16)))))",
            messages,
        )
    finally:
        context.close()
    assert decoded == [*finished, None, None]


@pytest.mark.parametrize("wait", [
    lambda page: wait_idle(page, after=runs(page)),
    lambda page: wait_charts(page, 99),
], ids=["run", "charts"])
def test_a_wait_ends_at_once_with_the_error_when_the_app_shows_an_exception(page, server, wait):
    # Both waits would otherwise sit out their timeout of minutes (no run is coming, there are not 99 charts)
    # and end with Playwright's TimeoutError, not this AssertionError.
    open_app(page, server)
    page.evaluate("""() => {
        const shown = document.createElement("div");
        shown.setAttribute("data-testid", "stException");
        shown.textContent = "ZeroDivisionError: division by zero";
        document.querySelector("[data-testid='stMain']").append(shown);
    }""")
    with pytest.raises(AssertionError, match="ZeroDivisionError: division by zero"):
        wait(page)


def test_the_overview_frames_its_changes_and_marks_a_partial_week(page, server):
    # June 2026 ends on a Tuesday: the week of 29 June is cut by the date filter
    open_app(page, f"{server}/?from=2026-06-01&to=2026-06-30", charts=1)
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
    open_app(page, server)
    _nav(page, title)
    heading = "Import" if title == "Import" else title
    expect(page.get_by_role("heading", name=heading).first).to_be_visible()
    expect(page.locator(ERRORS)).to_have_count(0)
    assert page.url.rstrip("/").endswith(NAV[title]) or title == "Overview"
    screenshot(page, title.lower())


@pytest.mark.parametrize("path", ["data", "import_data"])
def test_a_link_straight_to_a_page_keeps_the_frame(page, server, path):
    open_app(page, f"{server}/{path}")
    expect(page.get_by_text("Annotator cohorts")).to_be_visible()
    expect(page.locator("[data-testid='stSidebarNav']").get_by_text("Overview", exact=True)).to_be_visible()
    expect(page.locator(ERRORS)).to_have_count(0)


def test_a_cohort_filter_changes_the_chart_and_the_link(page, server):
    open_app(page, server, charts=4)
    activity = page.locator(CHART).first
    expect(activity).to_contain_text("vendor")
    before = activity.text_content()
    page.locator("[data-testid='stSidebar'] [data-testid='stMultiSelect']").first.click()
    rerun(page, page.get_by_role("option", name="expert").click)
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"cohort=expert"))
    expect(activity).not_to_contain_text("vendor")
    wait_charts(page, 4)
    assert activity.text_content() != before
    expect(page.locator(ERRORS)).to_have_count(0)
    screenshot(page, "overview-filtered")


def test_a_shared_link_preselects_the_filter(page, server):
    data = demo.generate(seed=0)
    fax = set(data.items.loc[data.items["source"] == "fax", "item_id"])
    expected = data.events[(data.events["cohort"] == "vendor") & data.events["item_id"].isin(fax)]
    open_app(page, f"{server}/?cohort=vendor&slice=source&slice_value=fax", charts=1)
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
    open_app(page, server)
    _nav(page, "Import")
    dropzone = page.locator("[data-testid='stFileUploaderDropzoneInput']")
    rerun(page, lambda: dropzone.set_input_files(str(upload)))
    expect(page.get_by_role("heading", name="Validation report")).to_be_visible()
    report = page.locator("[data-testid='stMain']")
    expect(report).to_contain_text("Nothing has been written yet.")
    expect(page.get_by_role("button", name="Import 2 rows")).to_be_visible()
    expect(report).to_contain_text("few_events.csv")
    screenshot(page, "import-report")
    rerun(page, page.get_by_role("button", name="Import 2 rows").click)
    expect(page.get_by_text(re.compile(r"Imported 2 rows as batch"))).to_be_visible()
    _nav(page, "Data")
    expect(page.locator("[data-testid='stMain']")).to_contain_text("Import batches")
    expect(page.locator(ERRORS)).to_have_count(0)


def test_agreement_page_flags_the_demo_annotators_and_opens_one(page, server):
    open_app(page, server)
    _nav(page, "Agreement", charts=2)
    expect(page.get_by_text("3 annotators label near chance")).to_be_visible()
    expect(page.get_by_text("1 annotator is declining: ann-009.")).to_be_visible()
    screenshot(page, "agreement")
    # a lazy tab: the click runs the page, which then sends the tab's content
    rerun(page, page.get_by_role("tab", name="Annotators").click)
    wait_charts(page, 1)
    choose(page, page.get_by_role("combobox", name="Annotator", exact=True), "ann-009", typed=True)
    expect(page.get_by_text("ann-009: Dawid–Skene confusion matrix")).to_be_visible()
    differing = re.compile(r"Items where ann-009 differs from the consensus \(\d+\)")
    expect(page.get_by_text(differing)).to_be_visible()
    expect(page.locator(ERRORS)).to_have_count(0)
    screenshot(page, "agreement-annotator")


def test_drift_and_slices_name_the_injected_effects(page, server):
    open_app(page, server)
    _nav(page, "Drift", charts=1)
    expect(page.get_by_text(re.compile(r"guideline v2 took effect")).first).to_be_visible()
    expect(page.get_by_text(re.compile(r"Annotator ann-009 \(crowd\) is declining"))).to_be_visible()
    expect(page.locator(ERRORS)).to_have_count(0)
    screenshot(page, "drift")
    _nav(page, "Slices")
    expect(page.get_by_text(re.compile(r"^source = fax is the noisiest slice"))).to_be_visible()
    # a lazy tab: the click runs the page, which then sends the tab's content
    rerun(page, page.get_by_role("tab", name="Forest plot").click)
    wait_charts(page, 1)
    expect(page.locator(ERRORS)).to_have_count(0)
    screenshot(page, "slices")


def _leaves_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme not in ("data", "blob", "about") and parts.hostname != "127.0.0.1"


def test_no_page_requests_anything_beyond_loopback(page, server):
    """Every page, with its icons, fonts and charts, comes from the app's own server: nothing is fetched from
    the internet, which an offline or locked-down network would block or a third party would log."""
    outside = []
    page.on("request", lambda request: outside.append(request.url) if _leaves_loopback(request.url) else None)
    page.on("websocket", lambda socket: outside.append(socket.url) if _leaves_loopback(socket.url) else None)
    # a request that leaves is recorded, then refused: the test never waits on a network that may not answer
    page.route(_leaves_loopback, lambda route: route.abort())
    open_app(page, server, charts=4)
    for title in NAV:
        _nav(page, title)
        # a favicon the headless browser does not fetch would still be fetched by a desktop browser
        referenced = page.evaluate(
            "() => [...document.querySelectorAll('link[href], script[src], img[src], iframe[src]')]"
            ".map((e) => e.href || e.src)"
        )
        outside += [url for url in referenced if _leaves_loopback(url)]
    assert sorted(set(outside)) == []


def test_the_store_status_shows_every_tables_row_count_without_scrolling(page, server):
    open_app(page, f"{server}/data")
    grid = page.locator(".st-key-store_status [data-testid='stDataFrame'] .dvn-scroller")
    expect(grid).to_be_visible()
    # st.dataframe draws on a canvas: rows beyond its height are reachable only by scrolling the grid
    overflow = grid.evaluate("(scroller) => scroller.scrollHeight - scroller.clientHeight")
    assert overflow <= 0
