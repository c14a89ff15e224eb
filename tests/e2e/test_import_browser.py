"""Hostile uploads in Debian's headless Chromium: a (BC) date imported from the browser leaves every page
working, and files whose names are not a known type get a message instead of an exception."""

from __future__ import annotations

import pathlib
import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.streamlit_page import screenshot, wait_idle

pytestmark = pytest.mark.e2e

HOSTILE = pathlib.Path(__file__).resolve().parents[1] / "data" / "hostile"
ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"
EXCEPTIONS = "[data-testid='stException']"
PAGES = ("Overview", "Agreement", "Drift", "Slices", "Suspects", "Data")


def _open_import(page: Page, server: str) -> None:
    page.goto(server)
    wait_idle(page)
    page.locator("[data-testid='stSidebarNav']").get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import")).to_be_visible()
    wait_idle(page)


def _upload(page: Page, path: pathlib.Path) -> None:
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(path))


def test_a_bc_date_is_one_reject_and_every_page_still_opens_after_the_import(page, server):
    _open_import(page, server)
    _upload(page, HOSTILE / "bc_date.csv")
    expect(page.get_by_role("heading", name="Validation report")).to_be_visible()
    wait_idle(page)
    main = page.locator("[data-testid='stMain']")
    expect(main).to_contain_text(
        re.compile(r"bc_date\.csv, line 3: bad timestamp: column 'labeled_at': expected an ISO-8601 time "
                   r"from 1990-01-01 00:00 to \d{4}-\d\d-\d\d \d\d:\d\d UTC .*got '0044-03-15 \(BC\)'")
    )
    expect(main).not_to_contain_text("upload.csv")
    main.get_by_role("combobox", name="Dataset of new items").click()
    page.get_by_role("option", name="New dataset…").click()
    wait_idle(page)
    main.get_by_role("textbox", name="Name of the new dataset").fill("hostile")
    page.keyboard.press("Enter")
    wait_idle(page)
    screenshot(page, "import-bc-date")
    page.get_by_role("button", name="Import 2 rows").click()
    expect(page.get_by_text(re.compile(r"Imported 2 rows as batch"))).to_be_visible()
    wait_idle(page)
    expect(main).to_contain_text("Imported as batch")
    expect(main).not_to_contain_text("already imported")
    for title in PAGES:
        page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title, exact=True).click()
        expect(page.locator("h1").first).to_be_visible()
        wait_idle(page, timeout_ms=120_000)
        expect(page.locator(EXCEPTIONS)).to_have_count(0)


@pytest.mark.parametrize(("name", "message"), [
    ("a.csv.exe", "a.csv.exe: unknown file type '.exe'; expected one of .csv"),
    ("noext", "noext: no file extension; expected one of .csv"),
])
def test_a_file_of_an_unknown_type_gets_a_message_not_an_exception(page, server, name, message):
    _open_import(page, server)
    _upload(page, HOSTILE / name)
    alert = page.locator("[data-testid='stAlertContentError']")
    expect(alert).to_contain_text(message)
    wait_idle(page)
    expect(page.locator(EXCEPTIONS)).to_have_count(0)
    expect(page.get_by_role("button", name=re.compile("^Import"))).to_have_count(0)
    screenshot(page, f"import-{name.replace('.', '-')}")
