"""Fixtures shared by every test folder: Streamlit caches cleared between tests, the demo store built once."""

from __future__ import annotations

import pathlib

import pytest
import streamlit as st


@pytest.fixture(autouse=True)
def _clear_streamlit_caches():
    """A test never sees another test's cached store connection or loader results."""
    st.cache_data.clear()
    st.cache_resource.clear()
    yield
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(scope="session")
def demo_store_path(tmp_path_factory) -> pathlib.Path:
    """A DuckDB file holding the seed-0 demo without its remediation round (no action, version or campaign
    yet: the state a team starts from), built once per test session; tests must not write to it."""
    from analytics.store import Store
    from analytics.synthetic import demo

    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    with Store(path) as store:
        demo.build_demo_store(store, seed=0, history=False)
    return path


@pytest.fixture(scope="session")
def demo_history_store_path(demo_store_path, tmp_path_factory) -> pathlib.Path:
    """The seed-0 demo as ``python -m analytics demo`` builds it: with its remediation round
    (``analytics.synthetic.history``), played on a copy of ``demo_store_path``; tests must not write to
    it."""
    from analytics.store import Store
    from analytics.synthetic import history

    path = tmp_path_factory.mktemp("demo-history") / "demo.duckdb"
    path.write_bytes(demo_store_path.read_bytes())
    with Store(path) as store:
        history.build_history(store, seed=0)
    return path
