"""One writer, many clients, in Debian's headless Chromium: with the dashboard running, the nightly
``python -m analytics ingest`` of 100,000 events goes through the dashboard (which holds the store) while
five browser sessions read pages; every event lands once and the pages show the new batch once it commits.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import time

import pytest
from playwright.sync_api import expect

from analytics.api import endpoint
from analytics.store import Store
from tests.e2e.conftest import ROOT, demo_store, streamlit_server
from tests.e2e.streamlit_page import EXCEPTION, EXPECT_TIMEOUT_MS, RUN_MONITOR, wait_idle

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

EVENTS = 100_000
SESSIONS = 5
DEMO_EVENTS = 7_240  # the seed-0 digits demo
PAGES = ("", "data", "agreement", "slices", "import_data")
ERRORS = f"{EXCEPTION}, [data-testid='stAlertContentError']"


def write_events(path, n: int) -> None:
    """``n`` label events of new items, each (item, annotator, time) once, in the demo's vocabulary and
    months, so the Overview counts them under its default filters."""
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["item_id", "annotator_id", "label", "labeled_at"])
        for i in range(n):
            day, second = 1 + i % 28, i % 86_400
            at = f"2026-06-{day:02d}T{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
            out.writerow([f"nightly-{i // 4:06d}", f"nightly-ann-{i % 4}", str(i % 10), at])


def _headline(total: int):
    return re.compile(rf"(?<![\d,]){total:,} labels from \d+ annotators on ")


def test_a_cli_ingest_of_1e5_events_goes_through_the_dashboard_while_five_sessions_read(browser, tmp_path):
    db = demo_store(tmp_path / "demo.duckdb", history=False)
    events = tmp_path / "nightly.csv"
    write_events(events, EVENTS)
    env = {k: v for k, v in os.environ.items() if k not in ("LABELWATCH_ROLES",)}
    contexts = [browser.new_context(viewport={"width": 1280, "height": 1200}) for _ in range(SESSIONS)]
    for context in contexts:
        context.add_init_script(RUN_MONITOR)
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
    pages = [context.new_page() for context in contexts]
    try:
        with streamlit_server(db, tmp_path) as url:
            assert endpoint.live(db) is not None
            for page in pages:
                page.goto(url)
            for page in pages:
                wait_idle(page)
                expect(page.get_by_text(_headline(DEMO_EVENTS))).to_be_visible()

            started = time.perf_counter()
            nightly = subprocess.Popen(
                [sys.executable, "-m", "analytics", "--db", str(db), "ingest", events.name],
                cwd=tmp_path, env={**env, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True)
            rounds = 0
            while nightly.poll() is None or rounds == 0:
                # every session opens a page at once, then each waits for its run: concurrent reads
                for number, page in enumerate(pages):
                    page.goto(f"{url}/{PAGES[(rounds + number) % len(PAGES)]}")
                for page in pages:
                    wait_idle(page)
                    expect(page.locator(ERRORS)).to_have_count(0)
                rounds += 1
            out, err = nightly.communicate(timeout=600)
            seconds = time.perf_counter() - started
            assert nightly.returncode == 0, err
            assert out.startswith(f"{events.name} (events): {EVENTS:,} rows read, {EVENTS:,} accepted, 0 "
                                  "rejected")
            batch = re.search(r"Imported as batch (\S+)\.$", out.strip()).group(1)
            print(f"\n{EVENTS:,} events through the API in {seconds:.1f} s while {SESSIONS} sessions read "
                  f"{rounds} rounds of pages")

            # after the commit every session sees the new batch: in the Overview's count and on the Data page
            for page in pages:
                page.goto(url)
                wait_idle(page)
                expect(page.get_by_text(_headline(DEMO_EVENTS + EVENTS))).to_be_visible()
            pages[0].goto(f"{url}/data")
            wait_idle(pages[0])
            expect(pages[0].get_by_role("heading", name="Data")).to_be_visible()
            expect(pages[0].locator(ERRORS)).to_have_count(0)
        assert endpoint.read(db) is None  # removed on a clean shutdown
    finally:
        for context in contexts:
            context.close()

    with Store(db, read_only=True) as store:
        landed = store.query(
            "SELECT count(*) AS n, count(DISTINCT (item_id, annotator_id, labeled_at)) AS distinct_events "
            "FROM label_events WHERE batch_id = ?", [batch])
        assert landed.to_dict("records") == [{"n": EVENTS, "distinct_events": EVENTS}]
        assert store.scalar("SELECT count(*) FROM label_events") == DEMO_EVENTS + EVENTS
        assert store.scalar("SELECT source FROM ingest_batches WHERE batch_id = ?", [batch]) == events.name
