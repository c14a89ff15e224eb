"""The running dashboard as its store's one writer: the per-start local token and the endpoint file.

``app.py``'s lifespan calls ``started`` once the server listens and ``stopping`` on a clean shutdown;
``ui.store.open_store`` calls ``publish`` when it has opened a store, so the endpoint file exists exactly
while this process holds the store and serves the API (``analytics.api.endpoint``). Under ``AppTest`` no
server runs: nothing is published.
"""

from __future__ import annotations

import secrets
import threading

from streamlit import config

from analytics.api import endpoint
from analytics.store import Store

#: Granted to local processes through the endpoint file (mode 0600): made once per start, never stored
#: elsewhere.
LOCAL_TOKEN = secrets.token_urlsafe(32)

# Set while the server listens: the process-wide fact "this process serves the API", like the server itself.
_serving = threading.Event()
_published: dict[str, str] = {}
_lock = threading.Lock()


def url() -> str:
    """The base URL a local client reaches this server at (loopback when it listens on every interface)."""
    address = config.get_option("server.address") or "127.0.0.1"
    if address in ("0.0.0.0", "::", ""):
        address = "127.0.0.1"
    host = f"[{address}]" if ":" in address else address
    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return f"http://{host}:{config.get_option('server.port')}" + (f"/{base}" if base else "")


def started() -> None:
    """The server listens: from now on an opened store is published."""
    _serving.set()


def publish(store: Store) -> None:
    """Write the endpoint file of ``store`` (opened for writing by this process) when the server listens."""
    if not _serving.is_set() or store.read_only or store.path == ":memory:":
        return
    with _lock:
        endpoint.write(store.path, url(), LOCAL_TOKEN)
        _published[store.path] = LOCAL_TOKEN


def stopping() -> None:
    """A clean shutdown: remove the endpoint files this process wrote."""
    _serving.clear()
    with _lock:
        for path, token in _published.items():
            endpoint.remove(path, token)
        _published.clear()
