"""Warm a freshly started server: wait until it answers, then run the app's script once, before any visitor.

A fresh server's first script run imports the analytics stack (pandas, scipy, statsmodels, plotly), opens
the store (building the demo into the default store on first start) and fills the Overview's caches: on a
2-core machine that is most of the first visitor's wait. Streamlit's script health check
(``server.scriptHealthCheckEnabled``, on in ``.streamlit/config.toml``) runs the main page script
(``ui/frame.py``) in a throw-away session, with the default page (the Overview) and no filters; the caches
it fills are the server's, so the first real visitor finds them warm. ``make dashboard`` runs
``python -m ui.warm_up URL`` beside the server.

Only the standard library is used: this runs outside Streamlit, before the app has been imported.
"""

from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable

HEALTH = "/_stcore/health"
SCRIPT_CHECK = "/_stcore/script-health-check"


def get(url: str, *, timeout: float) -> tuple[int, str]:
    """Status and body of a GET; an error status (503 from a failed script check) is an answer too.

    Raises
    ------
    OSError
        Nothing answered (connection refused, timeout).
    """
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace")


def wait_healthy(url: str, *, timeout: float, alive: Callable[[], bool] = lambda: True) -> bool:
    """Poll ``url``'s health endpoint until it answers ``ok``.

    Parameters
    ----------
    url : str
        The server's base URL, e.g. ``http://127.0.0.1:8501``.
    timeout : float
        Seconds to keep trying.
    alive : callable
        Checked between tries; when it returns False (the server process exited) the wait stops.

    Returns
    -------
    bool
        Whether the server answered ``ok`` in time.
    """
    deadline = time.monotonic() + timeout
    while alive() and time.monotonic() < deadline:
        try:
            if get(url + HEALTH, timeout=5) == (200, "ok"):
                return True
        except OSError:
            pass
        time.sleep(0.2)
    return False


def run_once(url: str, *, timeout: float = 300) -> tuple[bool, str]:
    """Run the app's script once through the server's script health check.

    Parameters
    ----------
    url : str
        The server's base URL (healthy, with ``server.scriptHealthCheckEnabled``).
    timeout : float
        Seconds to wait for the answer.

    Returns
    -------
    tuple
        ``(ok, answer)``: ``(True, "ok")`` when the script ran cleanly; ``(False, "error")`` when it raised;
        ``(False, "timeout")`` when Streamlit's own 60 s limit for the check ran out first (a very busy
        machine: the caches filled so far stay filled); ``(False, "<status> <body>")`` otherwise, e.g. 404
        when the check is disabled.
    """
    try:
        status, body = get(url + SCRIPT_CHECK, timeout=timeout)
    except OSError as error:
        return False, str(error)
    if status == 200:
        return True, body
    return False, body if body in ("error", "timeout") else f"{status} {body}"


def main(argv: list[str] | None = None) -> int:
    """``python -m ui.warm_up URL``: wait up to 10 minutes for the server, run the app once, report."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m ui.warm_up URL", file=sys.stderr)
        return 2
    url = argv[0].rstrip("/")
    if not wait_healthy(url, timeout=600):
        print(f"warm-up: {url} did not answer", file=sys.stderr)
        return 1
    started = time.monotonic()
    ok, answer = run_once(url)
    print(f"warm-up: the app ran in {time.monotonic() - started:.1f} s ({answer})", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
