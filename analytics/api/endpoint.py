"""The endpoint file: where a running dashboard that holds a store can be reached.

When the dashboard opens a store for writing it writes ``<store>.endpoint.json`` beside it::

    {"url": "http://127.0.0.1:8501", "pid": 4242, "store": "/abs/path/labelwatch.duckdb",
     "token": "<per-start local token>", "started_at": "2026-07-01T09:00:00+00:00"}

with mode 0600: the local token grants what a process of the same user could do by opening the store file
itself, so only that user may read it. The dashboard removes the file on a clean shutdown. A file left by a
killed dashboard is stale: its process is gone, or its URL does not answer ``GET /api/health``, or answers
for another store; ``live`` ignores it, and the next dashboard overwrites it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["Endpoint", "endpoint_file", "live", "read", "remove", "write"]

SUFFIX = ".endpoint.json"
HEALTH = "/api/health"


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """A dashboard that holds a store: its base URL, process id, the store's absolute path, local token."""

    url: str
    pid: int
    store: str
    token: str


def endpoint_file(store_path: str | Path) -> Path:
    """The endpoint file of the store at ``store_path``: beside it, named after it.

    Examples
    --------
    >>> endpoint_file("/data/labelwatch.duckdb").name
    'labelwatch.duckdb.endpoint.json'
    """
    store = Path(store_path).resolve()
    return store.with_name(store.name + SUFFIX)


def write(store_path: str | Path, url: str, token: str, *, pid: int | None = None) -> Path:
    """Write the endpoint file of ``store_path`` (mode 0600, replaced atomically); return its path."""
    target = endpoint_file(store_path)
    content = {"url": url.rstrip("/"), "pid": os.getpid() if pid is None else pid,
               "store": str(Path(store_path).resolve()), "token": token,
               "started_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an existing partial file keeps its mode otherwise
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fd = -1
            json.dump(content, fh)
    finally:
        if fd >= 0:
            os.close(fd)
    os.replace(partial, target)
    return target


def read(store_path: str | Path) -> Endpoint | None:
    """The endpoint file of ``store_path`` as written, or None when there is none or it cannot be read."""
    try:
        content = json.loads(endpoint_file(store_path).read_text(encoding="utf-8"))
        return Endpoint(url=str(content["url"]), pid=int(content["pid"]), store=str(content["store"]),
                        token=str(content["token"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove(store_path: str | Path, token: str) -> None:
    """Remove the endpoint file of ``store_path`` if it is this process's (it carries ``token``)."""
    found = read(store_path)
    if found is not None and found.token == token:
        endpoint_file(store_path).unlink(missing_ok=True)


def live(store_path: str | Path, *, timeout: float = 5.0) -> Endpoint | None:
    """The dashboard that holds the store at ``store_path`` now, or None (no endpoint file, or a stale one).

    Live means: the file names a running process, and its URL answers ``GET /api/health`` for this very
    store file.
    """
    found = read(store_path)
    if found is None or not _running(found.pid):
        return None
    health = _health(found.url, timeout)
    if health is None or not _same_file(str(health.get("store", "")), store_path):
        return None
    return found


def _running(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: the health check decides
    return True


def _health(url: str, timeout: float) -> dict | None:
    # The dashboard is local: never ask a proxy of the environment for it.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url + HEALTH, timeout=timeout) as response:
            if response.status != 200 or "json" not in response.headers.get("content-type", ""):
                return None
            answer = json.loads(response.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return answer if isinstance(answer, dict) else None


def _same_file(a: str, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
