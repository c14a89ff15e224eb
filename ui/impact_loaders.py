"""Cached reads behind the Impact page, keyed by the store's data version and its remediation state plus
the stored analyses, so a new analysis or a new version shows on the next run. Registered with
``ui.loaders`` so ``loaders.clear`` drops them too."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.impact import ab
from charts import report
from ui import loaders
from ui import store as app_store

_cached = loaders._registered(st.cache_data(ttl=600, max_entries=32, show_spinner=False))


@_cached
def results(src: loaders.Source, state: tuple) -> pd.DataFrame:
    """Every stored analysis, newest first."""
    return ab.list_results(app_store.current())


@_cached
def result(src: loaders.Source, impact_id: str) -> ab.ImpactResult:
    """One stored analysis (never changes once stored)."""
    return ab.load_result(app_store.current(), impact_id)


@_cached
def prediction_models(src: loaders.Source) -> list[str]:
    """The model versions with imported predictions."""
    return ab.prediction_models(app_store.current())


@_cached
def report_html(src: loaders.Source, state: tuple, impact_id: str | None) -> str:
    """The standalone HTML report with analysis ``impact_id`` (None: without one)."""
    store = app_store.current()
    return report.build_report(store, None if impact_id is None else ab.load_result(store, impact_id))
