"""The Review page's one-key actions in Debian's headless Chromium: what AppTest cannot press. A key moves
to the next item or records a decision; the same letters typed into the rationale do nothing but type.

The page writes, so it runs on its own server and its own demo store (without the demo's remediation round,
and with six suspects sent to review), never on the session's shared one.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from analytics.store import Store
from analytics.store import remediation as sql
from analytics.store.review_requests import request_review
from tests.e2e.conftest import demo_store, streamlit_server
from tests.e2e.streamlit_page import rerun, screenshot, wait_idle

pytestmark = pytest.mark.e2e

SLOW = 120_000


@pytest.fixture(scope="module")
def review_server(tmp_path_factory) -> str:
    """``streamlit run app.py`` as reviewer "ana" (single-user mode: an admin) on a demo store whose only
    review requests are its six strongest suspects; yields its base URL."""
    folder = tmp_path_factory.mktemp("review")
    db = demo_store(folder / "demo.duckdb", history=False)
    with Store(db) as store:
        run_id = sql.latest_run(store)
        ids = store.query("SELECT item_id FROM suspects WHERE run_id = ? AND status = 'mislabeled' "
                          "ORDER BY rank LIMIT 6", [run_id])["item_id"].tolist()
        request_review(store, ids, run_id=run_id, cluster_id=None, requested_by="lead")
    with streamlit_server(db, folder, LABELWATCH_USER="ana") as url:
        yield url


def _item(page: Page) -> str:
    return page.locator("h3").filter(has_text=re.compile(r"^Item ")).first.inner_text().removeprefix("Item ")


def test_keys_move_through_the_queue_and_record_decisions_but_not_while_typing(page, review_server):
    page.goto(review_server)
    wait_idle(page, timeout_ms=SLOW)
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Review", exact=True).click()
    expect(page.get_by_text(re.compile(r"^1 of 6 in the queue"))).to_be_visible(timeout=SLOW)
    wait_idle(page, timeout_ms=SLOW)
    expect(page.get_by_role("button", name=re.compile(r"^Next item"))).to_contain_text("N")
    first = _item(page)

    rerun(page, lambda: page.keyboard.press("n"))
    expect(page.get_by_text(re.compile(r"^2 of 6 in the queue"))).to_be_visible()
    second = _item(page)
    assert second != first

    rationale = page.get_by_label("Rationale (required)")  # one element: the box has no help button
    rationale.fill("")
    rationale.press_sequentially("keens: the annotators are right")  # k, e, n and s are keys elsewhere
    page.wait_for_timeout(1_500)
    expect(page.locator("[data-testid='stAlertContentSuccess']")).to_have_count(0)
    assert _item(page) == second
    rationale.press("Tab")  # out of the box: the keys act again
    rerun(page, lambda: page.keyboard.press("k"))
    expect(page.get_by_text(f"Recorded: confirm {second}.")).to_be_visible()
    expect(page.get_by_text(re.compile(r"^2 of 5 in the queue"))).to_be_visible()  # the one after it
    third = _item(page)
    assert third not in (first, second)

    rerun(page, lambda: page.keyboard.press("s"))
    expect(page.get_by_text(re.compile(rf"^Recorded: relabel {third} to \S+\."))).to_be_visible()
    expect(page.get_by_text("5 items wait for review", exact=False)).to_have_count(0)
    expect(page.get_by_text(re.compile(r"^4 items wait for review"))).to_be_visible()
    screenshot(page, "review-keys")
