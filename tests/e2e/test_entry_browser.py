"""How ``streamlit run app.py`` starts, in Debian's headless Chromium: the address it listens on, and a deep
link as a fresh server's very first request."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import streamlit_server
from tests.e2e.streamlit_page import open_app

pytestmark = pytest.mark.e2e

ERRORS = "[data-testid='stException'], [data-testid='stAlertContentError']"
LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp{,6}


def listening_addresses(port: int) -> set[str]:
    """The local addresses (hex, as /proc/net/tcp{,6} shows them) of every socket listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as fh:
            next(fh)
            for line in fh:
                local, state = line.split()[1], line.split()[3]
                address, _, hex_port = local.partition(":")
                if state == LISTEN and int(hex_port, 16) == port:
                    found.add(address)
    return found


def _other_address() -> str | None:
    """An address of this machine that is not loopback (the one outgoing traffic would use), if any."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent by a UDP connect
        except OSError:
            return None
        address = sock.getsockname()[0]
    return None if address.startswith("127.") else address


@pytest.fixture(scope="module")
def cold_server(demo_store_path, tmp_path_factory) -> str:
    """A fresh ``streamlit run app.py`` (no ``--server.address``) that no script run has touched yet, on a
    copy of the demo store of its own (a dashboard holds its store: the session's server holds its own)."""
    folder = tmp_path_factory.mktemp("cold")
    db = folder / "demo.duckdb"
    db.write_bytes(demo_store_path.read_bytes())
    with streamlit_server(db, folder, warm=False) as url:
        yield url


def test_a_plain_start_listens_on_loopback_only(cold_server):
    port = urlsplit(cold_server).port
    # 0100007F is 127.0.0.1 in /proc's byte order; a wildcard bind would be 00000000 or :: (all zeros)
    assert listening_addresses(port) == {"0100007F"}
    other = _other_address()
    if other is not None:
        with socket.socket() as sock:
            sock.settimeout(5)
            assert sock.connect_ex((other, port)) != 0, f"{other}:{port} accepted a connection"


def test_a_deep_link_as_a_fresh_servers_first_request_shows_the_page_without_a_dialog(page, cold_server):
    # The first request to this server: no warm-up, no other visitor. Streamlit used to take the pages/
    # folder beside the main script for a legacy multipage app until st.navigation ran, and answered
    # /review with a "Page not found" dialog over the right page.
    open_app(page, f"{cold_server}/review")
    expect(page.get_by_role("heading", name="Review").first).to_be_visible()
    expect(page.locator(ERRORS)).to_have_count(0)
    expect(page.get_by_text("Page not found")).to_have_count(0)
    expect(page.get_by_role("dialog")).to_have_count(0)
    assert urlsplit(page.url).path.rstrip("/") == "/review"
