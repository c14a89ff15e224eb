"""The Suspects page's export in Debian's headless Chromium against ``streamlit run app.py`` on the demo
store: the format picked beside the button changes the file, and the file is written by the server when
the button is pressed (Streamlit's deferred download runs the page's callable in a server thread, outside
the script run): the run's cleanlab ``.npz`` is what ``cleanlab.filter.find_label_issues`` takes, the
Parquet file holds the matching items. ``tests/pages/test_export_downloads.py`` checks every page's bytes
through AppTest."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.streamlit_page import rerun, wait_idle

pytestmark = pytest.mark.e2e

#: A page of the demo runs detection on first render: generous on a busy 2-core machine.
SLOW = 120_000


def _suspects(page: Page, url: str) -> None:
    page.goto(url)
    wait_idle(page, timeout_ms=SLOW)
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Suspects", exact=True).click()
    expect(page.get_by_role("heading", name="Suspects", exact=True)).to_be_visible(timeout=SLOW)
    wait_idle(page, timeout_ms=SLOW)


def _pick(page: Page, name: str) -> None:
    choice = page.locator(".st-key-suspects-export-format").get_by_text(name, exact=True)
    rerun(page, choice.click, timeout_ms=SLOW)


def _download(page: Page, tmp_path):
    button = page.locator(".st-key-suspects-export").get_by_role("button")
    expect(button).to_be_enabled(timeout=SLOW)
    with page.expect_download(timeout=SLOW) as download:
        button.click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    return saved


def test_the_cleanlab_arrays_and_the_items_download_in_the_format_picked(page, server, tmp_path):
    import cleanlab.filter

    _suspects(page, server)  # the server holds the store: what it holds is read from the files
    button = page.locator(".st-key-suspects-export").get_by_role("button")
    expect(button).to_have_text(re.compile(r"Download \d+ items \(CSV\)$"))  # after the icon's name
    flagged = int(re.search(r"Download (\d+) items", button.inner_text()).group(1))
    _pick(page, "cleanlab .npz")
    expect(button).to_have_text(re.compile(r"Download the run for cleanlab \(\.npz\)$"))
    saved = _download(page, tmp_path)
    loaded = np.load(saved, allow_pickle=False)
    run_id = str(loaded["run_id"])
    assert saved.name == f"{run_id}_suspects.npz" and run_id.startswith("run-")
    assert loaded["labels"].shape == (1797,) and loaded["pred_probs"].shape == (1797, 10)
    issues = cleanlab.filter.find_label_issues(loaded["labels"], loaded["pred_probs"])
    assert int((issues & loaded["consensus"]).sum()) == 103  # the seed-0 run's cleanlab issues

    _pick(page, "Parquet")
    expect(button).to_have_text(re.compile(rf"Download {flagged} items \(Parquet\)$"))
    saved = _download(page, tmp_path)
    back = pd.read_parquet(saved)
    assert saved.name == f"{run_id}_suspects.parquet"
    assert len(back) == flagged and set(back["status"]) == {"mislabeled"}
    assert back["rank"].tolist() == list(range(1, flagged + 1))
    expect(page.locator("[data-testid='stException']")).to_have_count(0)
