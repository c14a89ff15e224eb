"""Five browser tabs on the Review page at once, in Debian's headless Chromium against one ``streamlit run
app.py``: each round, every tab presses a decision on the item it shows (the same item: the top of the
queue), the server runs the five presses side by side, and each tab says what became of its press.

One decision per round is recorded; the four tabs whose view went stale are refused and nothing lands on
an item they did not show. Afterwards the store's log holds each recorded decision exactly once, on the
item its tab showed, with the second-review rule kept and no item decided twice by the reviewer.

The app identifies its user per server (``LABELWATCH_USER``), so the five tabs are one reviewer's ("ana");
"rita" made the first reviews of the queue's top items beforehand, so the tabs answer second reviews too.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from analytics.remediation import actions, queue
from analytics.remediation.roles import Actor, Role
from analytics.store import Store
from analytics.store import remediation as sql
from tests.e2e.conftest import demo_store, streamlit_server
from tests.e2e.streamlit_page import EXPECT_TIMEOUT_MS, RUN_MONITOR, runs, wait_idle
from tests.remediation.log_rules import check_second_reviews, decisions_twice

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

TABS = 5
ROUNDS = 4
SLOW = 300_000
ALERT = "[data-testid='stAlertContentSuccess'], [data-testid='stAlertContentError']"
#: What each tab presses, by (tab + round) mod 3; a button the item does not allow falls back to Escalate.
BUTTONS = (re.compile(r"^Relabel as "), re.compile(r"^Escalate"), re.compile(r"^Confirm label "))


@pytest.fixture
def review_store(tmp_path):
    """A demo store with its history, whose three highest-impact requested items "rita" relabeled as
    suggested, marked for a second review; returns the store and its latest action ``seq``."""
    db = demo_store(tmp_path / "demo.duckdb", history=True)
    with Store(db) as store:
        run_id = sql.latest_run(store)
        view = queue.review_queue(store, reviewer="rita", run_id=run_id)
        for row in view[view["reason"] == "requested"].head(3).itertuples():
            actions.act(store, Actor("rita", Role.REVIEWER), row.item_id, "relabel",
                        to_label=row.suggested_label, rationale="first review", second_review=True,
                        run_id=run_id, seen_seq=row.last_seq)
        before = int(sql.last_seq(store.cursor()))
    return db, before


def _open_review(browser, url: str) -> Page:
    context = browser.new_context(viewport={"width": 1440, "height": 1800})
    context.add_init_script(RUN_MONITOR)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    page = context.new_page()
    page.goto(url, timeout=SLOW)
    wait_idle(page, timeout_ms=SLOW)
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Review", exact=True).click()
    expect(page.get_by_text(re.compile(r"^1 of \d+ in the queue"))).to_be_visible(timeout=SLOW)
    wait_idle(page, timeout_ms=SLOW)
    return page


def _item(page: Page) -> str:
    return page.locator("h3").filter(has_text=re.compile(r"^Item ")).first.inner_text().removeprefix("Item ")


def _press(page: Page, choice: int) -> None:
    button = page.get_by_role("button", name=BUTTONS[choice])
    if button.count() != 1 or not button.is_enabled():
        button = page.get_by_role("button", name=BUTTONS[1])
    button.click()


def _round(pages: list[Page], round_: int) -> list[tuple[str, str]]:
    """Every tab presses on the item it shows before any answer comes (the runs overlap on the server);
    then each tab's answer. Exactly one press is recorded; the others find the item changed."""
    shown = [_item(p) for p in pages]
    assert len(set(shown)) == 1, f"round {round_}: the tabs show {shown}"
    counts = [runs(p) for p in pages]
    for n, page in enumerate(pages):
        _press(page, (n + round_) % len(BUTTONS))
    said = []
    for page, count in zip(pages, counts, strict=True):
        wait_idle(page, after=count, timeout_ms=SLOW)
        alert = page.locator(ALERT).first
        expect(alert).to_be_visible(timeout=SLOW)
        said.append(alert.inner_text().strip().splitlines()[-1])  # after the icon's name
        wait_idle(page, after=count, timeout_ms=SLOW)
    recorded = [s for s in said if s.startswith("Recorded: ")]
    refused = [s for s in said if "changed since you saw it" in s]
    assert len(recorded) == 1 and len(refused) == len(pages) - 1, said
    return list(zip(shown, said, strict=True))


def test_five_tabs_pressing_at_once_record_each_decision_once_on_the_item_shown(browser, review_store,
                                                                               tmp_path):
    db, before = review_store
    outcomes: list[tuple[str, str]] = []  # (item shown when pressed, what the tab said)
    with streamlit_server(db, tmp_path, LABELWATCH_USER="ana") as url:
        pages = [_open_review(browser, url) for _ in range(TABS)]
        try:
            for round_ in range(ROUNDS):
                outcomes += _round(pages, round_)
        finally:
            for page in pages:
                page.context.close()

    with Store(db) as store:
        log = sql.action_log(store)
    new = log[log["seq"] > before].sort_values("seq")
    assert set(new["actor"]) == {"ana"}
    # each "Recorded: …" is its rows in the log, once, on the item its tab showed; nothing else was written
    written = []
    for item, text in outcomes:
        if not text.startswith("Recorded: "):
            continue
        for part in text.removeprefix("Recorded: ").split(". ")[0].rstrip(".").split(", "):
            kind, on = part.split(" ")[:2]
            assert on == item, f"{text!r} on a tab that showed {item}"
            written.append((kind, on))
    assert sorted(written) == sorted(zip(new["action"], new["item_id"], strict=True))
    assert len(written) >= ROUNDS
    assert not decisions_twice(new)
    outcomes_of_second_reviews = check_second_reviews(log)
    assert sum(outcomes_of_second_reviews.values()) >= 1
