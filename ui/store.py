"""The app's store: where it lives, one cached connection per process, and the demo built on first start.

The path comes from the ``LABELWATCH_DB`` environment variable, else ``db_path`` in
``.streamlit/secrets.toml``, else ``data/labelwatch.duckdb`` (public). ``LABELWATCH_LAKE`` (else
``lake_path`` in the secrets) names a Parquet lake the store reads in place of imports
(``analytics.store.lake``). Only the default file is ever filled with the demo, and only while it holds
nothing but (part of) the demo and reads no lake, so a user's own store is never written to behind their
back, and a first start that was cut off mid-build is finished by the next one.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import streamlit as st

from analytics.engine.engines import ENGINES
from analytics.store import Store, batches
from analytics.store import demo as demo_queries
from analytics.synthetic import demo
from ui import serving

#: The store used when neither ``LABELWATCH_DB`` nor ``db_path`` in the secrets names one.
DEFAULT_DB = Path(__file__).resolve().parents[1] / "data" / "labelwatch.duckdb"


def db_path() -> str:
    """Return the path of the store this app serves.

    Returns
    -------
    str
        ``LABELWATCH_DB`` if set and non-empty, else ``db_path`` from the secrets, else ``DEFAULT_DB``.
    """
    from_env = os.environ.get("LABELWATCH_DB", "").strip()
    if from_env:
        return from_env
    from_secrets = _secret_db_path()
    return from_secrets or str(DEFAULT_DB)


def lake_path() -> str | None:
    """Return the Parquet lake the store reads: ``LABELWATCH_LAKE`` if set and non-empty, else ``lake_path``
    from the secrets, else None (the store's own tables, or the lake it was bound to before)."""
    return os.environ.get("LABELWATCH_LAKE", "").strip() or _secret("lake_path")


def engine_setting() -> tuple[str, str | None]:
    """The engine of the whole-lake statistics and its Spark master: ``LABELWATCH_ENGINE`` (``duckdb``, the
    default, or ``spark``; else ``engine`` in the secrets) and ``LABELWATCH_SPARK_MASTER`` (else
    ``spark_master`` in the secrets; None means local mode).

    Raises
    ------
    ValueError
        The setting names another engine.
    """
    engine = (os.environ.get("LABELWATCH_ENGINE", "").strip() or _secret("engine") or "duckdb").lower()
    if engine not in ENGINES:
        raise ValueError(f"LABELWATCH_ENGINE (or engine in the secrets) is {engine!r}; use one of "
                         f"{', '.join(ENGINES)}")
    return engine, os.environ.get("LABELWATCH_SPARK_MASTER", "").strip() or _secret("spark_master")


def _secret_db_path() -> str | None:
    return _secret("db_path")


def _secret(name: str) -> str | None:
    # A missing secrets.toml is the common case, not an error.
    if not st.secrets.load_if_toml_exists():
        return None
    value = str(st.secrets.get(name) or "").strip()
    return value or None


@st.cache_resource(show_spinner=False)
def open_store(path: str) -> Store:
    """Open (create and migrate if missing) the store at ``path``, once per process.

    Parameters
    ----------
    path : str
        A DuckDB file.

    Returns
    -------
    Store
        Shared by every session; each query takes its own cursor.

    Raises
    ------
    analytics.store.StoreLockedError
        Another process holds the file. Not cached, so the next rerun tries again.

    Notes
    -----
    Once the store is open, the endpoint file beside it says that this dashboard holds it (``ui.serving``):
    the CLI then sends its commands here instead of opening the file.
    """
    store = Store(path, lake=lake_path())
    serving.publish(store)
    return store


def current() -> Store:
    """The store of this app (see ``db_path``), opened through ``open_store``."""
    return open_store(db_path())


@st.cache_resource(show_spinner=False)
def _demo_lock() -> threading.Lock:
    # One lock per process: two sessions starting at once must not both build the demo.
    return threading.Lock()


def needs_demo(store: Store) -> bool:
    """True when ``store`` is the default file and its demo is not complete.

    Complete means the demo's truth is recorded (its last step). A default store that holds any import
    that is not the demo's is the user's and is left alone.

    Parameters
    ----------
    store : Store
        The open store.

    Returns
    -------
    bool
        Whether the demo should be built into it.
    """
    if Path(store.path).resolve() != DEFAULT_DB.resolve() or store.lake is not None:
        return False
    if demo_queries.demo_meta(store):
        return False
    return bool(batches.list_batches(store)["source"].str.startswith(demo.SOURCE_PREFIX).all())


def ensure_demo(store: Store) -> None:
    """Build the demo into the default store on first start, showing progress; a no-op afterwards.

    Parameters
    ----------
    store : Store
        The open store; written to only when ``needs_demo`` says so.
    """
    if not needs_demo(store):
        return
    with _demo_lock():
        if not needs_demo(store):
            return
        with st.status("Building the demo store (first start only)…", expanded=True) as status:
            bar = st.progress(0.0, text="Starting")
            demo.build_demo_store(
                store, progress=lambda fraction, message: bar.progress(fraction, text=message)
            )
            status.update(label="Demo store ready", state="complete", expanded=False)
