"""Real login in Debian's headless Chromium: ``streamlit run app.py`` with an ``[auth]`` section pointing at a
local OpenID Connect provider (``oidc-provider-mock`` on a free loopback port, started here), a roles file
naming the reviewer, and the demo store with its remediation round (items wait for review).

A visitor gets the login screen; the reviewer logs in through the provider and relabels an item on the
Review page, and the audit trail records their e-mail as its actor; a viewer (an address the roles file does
not name: its default) finds the Review page's and the Suspects page's write controls absent, and logs out.
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from analytics.remediation import audit
from analytics.store import Store
from tests.e2e.conftest import _free_port, _stop, demo_store, streamlit_server
from tests.e2e.streamlit_page import EXPECT_TIMEOUT_MS, RUN_MONITOR, rerun, screenshot, wait_idle
from ui import warm_up

pytestmark = pytest.mark.e2e

REVIEWER = "rosa@example.org"
VIEWER = "guest@elsewhere.test"
ROLES = f'[roles]\nreviewer = ["{REVIEWER}"]\nadmin = ["lead@example.org"]\n'
#: A script run, a grid's redraw and a round trip through the provider on a busy 2-core machine.
SLOW = 180_000
PROVIDER_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def provider(tmp_path_factory) -> Iterator[str]:
    """``oidc-provider-mock`` on a free loopback port, waited on through its discovery document; yields its
    base URL. It lets anyone in under the address they type (their ``sub``, and their ``email`` claim)."""
    port = _free_port()
    log = tmp_path_factory.mktemp("provider") / "provider.log"
    url = f"http://127.0.0.1:{port}"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(PROVIDER_TIMEOUT_S * 5):
            try:
                status, body = warm_up.get(url + "/.well-known/openid-configuration", timeout=5)
                if status == 200 and '"authorization_endpoint"' in body:
                    break
            except OSError:
                pass
            try:  # waits on the process: ends at once if it exits
                process.wait(timeout=0.2)
                pytest.fail(f"oidc-provider-mock exited ({process.returncode}):\n{log.read_text()}")
            except subprocess.TimeoutExpired:
                pass
        else:
            pytest.fail(f"oidc-provider-mock did not answer on {url}:\n{log.read_text()}")
        yield url
    finally:
        _stop(process)


@pytest.fixture(scope="module")
def login_store(tmp_path_factory) -> pathlib.Path:
    """The demo store with its remediation round: items wait on the Review page."""
    return demo_store(tmp_path_factory.mktemp("login") / "demo.duckdb")


def _secrets(folder: pathlib.Path, provider: str) -> pathlib.Path:
    path = folder / "secrets.toml"
    # {port}: Streamlit puts in the port it serves on; the browser uses the same host name (127.0.0.1).
    path.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        'cookie_secret = "labelwatch-e2e-cookie-secret-0123456789"\n'
        'client_id = "labelwatch"\n'
        'client_secret = "labelwatch-e2e"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    return path


def _login(browser: Browser, url: str, email: str, shot: str | None = None) -> Page:
    """A new browser context that opens the app, sees the login screen and logs in as ``email``."""
    context = browser.new_context(viewport={"width": 1440, "height": 1800})
    context.add_init_script(RUN_MONITOR)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    page = context.new_page()
    page.goto(url, timeout=SLOW)
    wait_idle(page, timeout_ms=SLOW)
    main = page.locator("[data-testid='stMain']")
    expect(main.get_by_role("heading", name="LabelWatch")).to_be_visible()
    expect(main.get_by_role("button")).to_have_count(1)
    expect(page.locator("[data-testid='stSidebar']")).to_have_count(0)  # no menu, no filters, no data
    if shot:
        screenshot(page, shot)
    main.get_by_role("button", name="Log in").click()
    page.locator("input[name=sub]").fill(email)  # the provider's own form
    page.get_by_role("button", name="Authorize").click()
    sidebar = page.locator("[data-testid='stSidebarUserContent']")
    # the address is shown with an invisible word joiner before its "@" (no mail link)
    expect(sidebar).to_contain_text(re.compile(r"Logged in as " + re.escape(email).replace("@", "\u2060?@")),
                                    timeout=SLOW)
    wait_idle(page, timeout_ms=SLOW)
    return page


def _nav(page: Page, title: str, heading: str) -> None:
    link = page.locator("[data-testid='stSidebarNav']").get_by_role("link", name=title, exact=True)
    rerun(page, link.click, timeout_ms=SLOW)
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(timeout=SLOW)
    wait_idle(page, timeout_ms=SLOW)


def test_a_reviewer_logs_in_and_relabels_and_a_viewer_finds_no_write_control(browser, provider, login_store,
                                                                             tmp_path):
    roles = tmp_path / "roles.toml"
    roles.write_text(ROLES, encoding="utf-8")
    with streamlit_server(login_store, tmp_path, secrets=_secrets(tmp_path, provider),
                          LABELWATCH_ROLES=str(roles)) as url:
        reviewer = _login(browser, url, REVIEWER, "login-1-screen")
        expect(reviewer.locator("[data-testid='stSidebarUserContent']")).to_contain_text("· reviewer")
        screenshot(reviewer, "login-2-reviewer")
        _nav(reviewer, "Review", "Review")
        item = reviewer.get_by_role("heading", name=re.compile(r"^Item ")).first.inner_text()[len("Item "):]
        form = reviewer.locator("[data-testid='stForm']")
        expect(form.get_by_role("radio", name="relabel")).to_be_checked()  # the run suggests a label
        form.get_by_role("button", name="Record decision").click()
        expect(reviewer.get_by_text(re.compile(rf"^Recorded: relabel {re.escape(item)} to "))).to_be_visible(
            timeout=SLOW)
        wait_idle(reviewer, timeout_ms=SLOW)
        reviewer.context.close()

        viewer = _login(browser, url, VIEWER)
        sidebar = viewer.locator("[data-testid='stSidebarUserContent']")
        expect(sidebar).to_contain_text("· viewer")  # not named in the roles file: its default
        _nav(viewer, "Review", "Review")
        expect(viewer.get_by_text("may not decide on items: needs the reviewer role")).to_be_visible()
        expect(viewer.locator("[data-testid='stForm']")).to_have_count(0)
        for label in ("Record decision", "Escalate", re.compile("^Relabel as"), re.compile("^Confirm")):
            expect(viewer.get_by_role("button", name=label)).to_have_count(0)
        expect(viewer.get_by_role("button", name="Next item")).to_be_visible()  # reading stays open
        screenshot(viewer, "login-3-viewer-review")
        _nav(viewer, "Suspects", "Suspects")
        expect(viewer.get_by_text("may not send items to review: needs the reviewer role")).to_be_visible()
        for label in ("Run detection on the filtered events", re.compile("^Send the picked rows"),
                      re.compile("^Send all"), re.compile("^Relabel campaign")):
            expect(viewer.get_by_role("button", name=label)).to_have_count(0)

        # Log out: through the provider's end of session, back to the login screen.
        sidebar.get_by_role("button", name="Log out").click()
        viewer.get_by_role("button", name="End session").click()
        expect(viewer.locator("[data-testid='stMain']").get_by_role("button", name="Log in")).to_be_visible(
            timeout=SLOW)
        viewer.context.close()

    with Store(login_store) as store:  # the server has let the file go
        log = audit.audit_log(store, actor=REVIEWER)
    assert log[["actor", "actor_role", "action", "item_id"]].values.tolist() == [
        [REVIEWER, "reviewer", "relabel", item]]
