"""The page CSV downloads in a real browser hold no cell a spreadsheet would run (OWASP: CSV injection).

The store is the digits demo's events imported by the ordinary pipeline from a file whose name, as the user
knows it, is a formula (``+cmd|' /C calc'!A0.csv``: an upload passes that name; it holds a ``/``, so no file
on disk has it), with annotators whose ids are formulas, a cohort that starts with ``-`` and the batch
imported by a user whose name starts with ``@``. Chromium downloads the Agreement page's annotator
reliability CSV and the Data page's import batches CSV; Python's ``csv`` module reads them as a spreadsheet
would: every hostile value is there, written as text (a leading ``'``), and no cell starts with a formula
character unless it is a plain number. ``tests/test_csv_export.py`` checks the function and the CLI's exports.
"""

from __future__ import annotations

import csv
import re

import pytest
from playwright.sync_api import Page, expect

from analytics.ingest import pipeline
from analytics.store import Store, batches
from analytics.synthetic import demo
from tests.e2e.conftest import streamlit_server
from tests.e2e.streamlit_page import RUN_TIMEOUT_MS, open_app, rerun, wait_charts

pytestmark = pytest.mark.e2e

LINK = '=HYPERLINK("http://x.test","ok")'
SUM = "@SUM(A1)"
TAB = "\tx"
#: ``ann-001`` … ``ann-003`` become formulas (a carriage return in a value is rejected by the importer).
ANNOTATORS = {"ann-001": LINK, "ann-002": SUM, "ann-003": TAB}
COHORT = "-2+3 crowd"
SOURCE = "+cmd|' /C calc'!A0.csv"
IMPORTER = SUM
#: What a spreadsheet may read as the start of a formula, and a cell that is a plain number (never one).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """``(url, annotators, batches)``: the server on the store, its annotator ids and its import batches."""
    folder = tmp_path_factory.mktemp("csv-downloads")
    events = demo.generate(0).events
    events = events.assign(annotator_id=events["annotator_id"].replace(ANNOTATORS),
                           cohort=events["cohort"].replace({"crowd": COHORT}))
    path = folder / "events.csv"
    events.to_csv(path, index=False, date_format="%Y-%m-%dT%H:%M:%S")
    db = folder / "hostile.duckdb"
    with Store(db) as store:
        report = pipeline.ingest(store, path, kind="events", name=SOURCE, created_by=IMPORTER)
        assert report.rows_rejected == 0, report.summary()
        annotators = store.query("SELECT annotator_id FROM annotators")["annotator_id"].tolist()
        listed = batches.list_batches(store)
    assert set(ANNOTATORS.values()) <= set(annotators)
    with streamlit_server(db, folder) as url:
        yield url, annotators, listed


def _download(page: Page, key: str, filename: str, tmp_path) -> list[dict[str, str]]:
    """Click the download button of widget key ``key``, save the file, return its rows read by ``csv``,
    after checking that no cell (the header's included) would run in a spreadsheet."""
    button = page.locator(f".st-key-{key.replace('.', '-')}").get_by_role("button")
    expect(button).to_be_enabled(timeout=RUN_TIMEOUT_MS)
    with page.expect_download(timeout=RUN_TIMEOUT_MS) as download:
        button.click()
    assert download.value.suggested_filename == filename
    saved = tmp_path / filename
    download.value.save_as(saved)
    with saved.open(encoding="utf-8", newline="") as file:
        cells = list(csv.reader(file))
    runnable = [c for row in cells for c in row if c.startswith(FORMULA_STARTS) and not NUMBER.fullmatch(c)]
    assert runnable == [], f"{filename}: cells a spreadsheet would run"
    header, *rows = cells
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_the_annotator_and_batch_downloads_write_formulas_as_text(page, hostile, tmp_path):
    url, annotators, listed = hostile

    # Agreement, the Annotators tab: the reliability chart's data, one row per annotator of the store.
    open_app(page, f"{url}/agreement", charts=1)
    # a lazy tab: the click runs the page, which then sends the tab's content
    rerun(page, page.get_by_role("tab", name="Annotators", exact=True).click)
    wait_charts(page, 1)
    rows = _download(page, "annotators-scatter.csv", "annotator_reliability.csv", tmp_path)
    ids = [r["annotator_id"] for r in rows]
    assert len(ids) == len(set(ids)) == len(annotators)
    assert {"'" + LINK, "'" + SUM, "'" + TAB} <= set(ids)
    assert set(ids) == {("'" + a if a in ANNOTATORS.values() else a) for a in annotators}
    by_id = {r["annotator_id"]: r for r in rows}
    assert by_id["'" + LINK]["cohort"] == "'" + COHORT
    # numbers are left as they are: a negative change in agreement is written as the number it is
    assert all(NUMBER.fullmatch(r["change"]) for r in rows if r["change"])

    # Data: the import batches table's download, one row per batch.
    open_app(page, f"{url}/data")
    rows = _download(page, "batches.csv", "import_batches.csv", tmp_path)
    assert [r["batch_id"] for r in rows] == listed["batch_id"].tolist()
    [batch] = rows
    assert (batch["source"], batch["created_by"]) == ("'" + SOURCE, "'" + IMPORTER)
    assert batch["rows_accepted"] == str(listed["rows_accepted"].iloc[0])
