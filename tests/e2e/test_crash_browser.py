"""The dashboard killed (SIGKILL) in the middle of a write started from the browser: a real ``streamlit run
app.py`` importing a file (Import page), applying a policy (Policies page) or creating a dataset version
(Versions page), stopped inside the write's transaction with every row written and not committed
(``tests/store/crash_site/sitecustomize.py``), and killed there.

The store then opens and holds none of the operation (its audit log replaying to its resolved labels), and
a dashboard started again on it does the whole operation from the same page.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import demo_store, streamlit_server
from tests.e2e.streamlit_page import EXCEPTION, EXPECT_TIMEOUT_MS, RUN_MONITOR, wait_idle
from tests.store.crash import pause_env, store_state, wait_for_pause

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SLOW = 300_000
ROWS = 9


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The demo store as the CLI builds it, without its remediation round (no version, no policy run)."""
    return demo_store(tmp_path_factory.mktemp("crash-demo") / "demo.duckdb", history=False)


def _new_page(browser) -> Page:
    context = browser.new_context(viewport={"width": 1440, "height": 1800})
    context.add_init_script(RUN_MONITOR)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    return context.new_page()


def _open(page: Page, url: str, title: str) -> None:
    page.goto(url, timeout=SLOW)
    wait_idle(page, timeout_ms=SLOW)
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title, exact=True).click()
    expect(page.locator("h1").first).to_be_visible(timeout=SLOW)
    wait_idle(page, timeout_ms=SLOW)


def _start_import(page: Page, url: str, folder: Path) -> None:
    _open(page, url, "Import")
    events = folder / "more_labels.csv"
    events.write_text("item_id,annotator_id,label,labeled_at\n" + "".join(
        f"digits-{n:04d},crash-{k},7,2026-08-15T10:0{k}:00\n" for n in range(3) for k in range(3)))
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(events))
    page.get_by_role("button", name=f"Import {ROWS} rows").click(timeout=SLOW)


def _start_policy(page: Page, url: str, folder: Path) -> None:
    _open(page, url, "Policies")
    page.get_by_role("button", name=re.compile(r"^Apply \S+ to \d+ items")).click(timeout=SLOW)


def _start_version(page: Page, url: str, folder: Path) -> None:
    _open(page, url, "Versions")
    page.get_by_label("Note").fill("crash test")
    page.get_by_role("button", name="Create version").click(timeout=SLOW)


START = {"import": _start_import, "policy": _start_policy, "version": _start_version}
#: What the page says once the operation is done, after the restart.
DONE = {"import": re.compile(rf"Imported {ROWS} rows as batch"),
        "policy": re.compile(r"Applied \S+: \d+ actions recorded"),
        "version": re.compile(r"Created v1: [\d,]+ items")}


@pytest.mark.parametrize("operation", ["import", "policy", "version"])
def test_the_dashboard_killed_mid_operation_leaves_none_of_it_and_restarts(browser, built, tmp_path,
                                                                           operation):
    db = tmp_path / "store.duckdb"
    db.write_bytes(built.read_bytes())
    start = store_state(db)
    marker = tmp_path / "paused"
    page = _new_page(browser)
    try:
        with streamlit_server(db, tmp_path, LABELWATCH_USER="lead",
                              **pause_env(f"{operation}:before", marker)) as url:
            START[operation](page, url, tmp_path)
            pid = wait_for_pause(marker, lambda: page.locator(EXCEPTION).count() == 0, f"the {operation}")
            os.kill(pid, signal.SIGKILL)
        page.context.close()
        assert store_state(db).same_as(start)  # opens, replays, and holds nothing of the operation

        page = _new_page(browser)
        with streamlit_server(db, tmp_path, LABELWATCH_USER="lead") as url:
            START[operation](page, url, tmp_path)
            expect(page.get_by_text(DONE[operation])).to_be_visible(timeout=SLOW)
            wait_idle(page, timeout_ms=SLOW)
    finally:
        page.context.close()
    after = store_state(db)
    grew = {t: after.counts[t] - start.counts[t] for t in after.counts if after.counts[t] != start.counts[t]}
    if operation == "import":
        assert grew == {"label_events": ROWS, "ingest_batches": 1, "annotators": 3}
    elif operation == "policy":
        assert set(grew) == {"remediation_actions"} and grew["remediation_actions"] > 0
        assert after.log["policy"].notna().all()
    else:
        assert grew == {"dataset_versions": 1, "version_labels": len(after.resolved)}
