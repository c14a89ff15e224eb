"""Cached reads behind the pages: each loader runs one store or analytics function and caches its result.

Every loader takes a ``Source`` first: the store's path and its data version (how many import batches it
holds and when the last one was written). An import adds a batch, so the version changes and every page
reads fresh data without waiting for the ``ttl``; ``clear`` drops everything at once after a commit.
"""

from __future__ import annotations

from typing import NamedTuple

import pandas as pd
import streamlit as st

from analytics import overview
from analytics.schema import EventFilter
from analytics.store import batches
from analytics.store import overview as overview_queries
from analytics.store import summary as summary_queries
from ui import store as app_store

_cached = st.cache_data(ttl=600, max_entries=64, show_spinner=False)


class Source(NamedTuple):
    """The store a loader reads and the version of its data (part of every cache key)."""

    path: str
    version: tuple[int, str | None]


def source() -> Source:
    """The current store and its data version, read fresh on every run.

    Returns
    -------
    Source
        ``version`` is ``(number of import batches, time of the latest one)``.
    """
    store = app_store.current()
    listed = batches.list_batches(store)
    latest = str(listed["created_at"].max()) if len(listed) else None
    return Source(store.path, (len(listed), latest))


@_cached
def filter_options(src: Source) -> dict:
    """Values the sidebar filters offer (``analytics.store.overview.filter_options``)."""
    return overview_queries.filter_options(app_store.open_store(src.path))


@_cached
def summary(
    src: Source, flt: EventFilter
) -> tuple[overview.OverviewSummary, overview.TrendComparison | None]:
    """Headline numbers of the filtered events and their last-30-days trend.

    Parameters
    ----------
    src : Source
        From ``source``.
    flt : EventFilter
        The global filters.

    Returns
    -------
    tuple
        ``(OverviewSummary, TrendComparison or None)``.
    """
    store = app_store.open_store(src.path)
    headline = overview.overview_summary(store, flt)
    return headline, overview.trend(store, flt, days=30, summary=headline)


@_cached
def activity(src: Source, flt: EventFilter, grain: str, *, approx_items: bool = False) -> pd.DataFrame:
    """``period, cohort, events, items, annotators, labels`` per ``grain`` (day, week or month).

    ``approx_items`` counts distinct items by HyperLogLog (about 2% error), for very large stores.
    """
    store = app_store.open_store(src.path)
    return overview_queries.activity(store, flt, grain=grain, approx_items=approx_items)


@_cached
def agreement_over_time(
    src: Source, flt: EventFilter, grain: str, *, sample_modulus: int = 1
) -> pd.DataFrame:
    """Raw agreement per period with its 95% interval.

    ``sample_modulus`` m > 1 computes it on a deterministic 1-in-m sample of items (large stores), as the
    summary does (``analytics.overview.sample_modulus``).

    Returns
    -------
    DataFrame
        ``period, items_multi, pa_mean, pa_sd, ci_low, ci_high``; the interval is NaN for periods with fewer
        than two items rated by 2+ annotators (``analytics.overview.mean_interval``).
    """
    frame = overview_queries.agreement_by_period(
        app_store.open_store(src.path), flt, grain=grain, sample_modulus=sample_modulus
    )
    bounds = [
        overview.mean_interval(mean, sd, n)
        for mean, sd, n in zip(frame["pa_mean"], frame["pa_sd"], frame["items_multi"], strict=True)
    ]
    return frame.assign(
        ci_low=pd.Series([low for low, _ in bounds], index=frame.index, dtype="float64"),
        ci_high=pd.Series([high for _, high in bounds], index=frame.index, dtype="float64"),
    )


@_cached
def label_distribution(src: Source, flt: EventFilter) -> pd.DataFrame:
    """``label, events, share``, most frequent first."""
    return overview_queries.label_distribution(app_store.open_store(src.path), flt)


@_cached
def table_counts(src: Source) -> dict[str, int]:
    """Row count of each table (``analytics.store.summary.table_counts``)."""
    return summary_queries.table_counts(app_store.open_store(src.path))


@_cached
def import_batches(src: Source) -> pd.DataFrame:
    """Every import batch (``analytics.store.batches.list_batches``)."""
    return batches.list_batches(app_store.open_store(src.path))


@_cached
def rejects(src: Source, batch_id: str | None) -> pd.DataFrame:
    """Rejected rows with their reasons, of one batch or (``None``) of all batches."""
    return batches.list_rejects(app_store.open_store(src.path), batch_id=batch_id)


def clear() -> None:
    """Drop every cached result, e.g. right after an import commits."""
    for loader in (filter_options, summary, activity, agreement_over_time, label_distribution,
                   table_counts, import_batches, rejects):
        loader.clear()
