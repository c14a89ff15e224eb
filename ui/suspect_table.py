"""The Suspects page's table and its controls: the cluster bars with their picker, the score floor, and one
page of ranked rows that can be picked by hand."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from analytics import detection
from analytics.core.schema import EventFilter
from analytics.detection import suspects as suspect_report
from charts import suspects as charts
from ui import csv_download, loaders
from ui.chart_panel import built

PAGE_SIZE = 25

SCORE_HELP = ("log10 odds against the given label (for an item without consensus: for the suggested "
              "label) under the combined evidence: 1 is ten to one, 2 a hundred to one. It ranks the "
              "strength of the evidence; how often a flag is right is the precision on gold above.")

SIGNALS_HELP = ("Independent signals (the annotators weighted by reliability, the model, the nearest "
                "neighbours) that pick the suggested label, of those with an opinion.")


def controls(view: suspect_report.RunView, clusters: pd.DataFrame, *, show: str | None,
             key: str) -> tuple[str | None, float | None]:
    """The clusters of the likely mislabeled items in view as bars, a cluster picker synced with them and
    the score floor.

    Parameters
    ----------
    view : RunView
        The run's items in view.
    clusters : DataFrame
        The run's stored cluster summaries.
    show : str or None
        The status shown (None: every status); clusters are offered unless it is ``NO_CONSENSUS``.
    key : str
        Prefix of the widget keys.

    Returns
    -------
    (str or None, float or None)
        The chosen cluster and the minimum score (None: no floor).
    """
    state = f"{key}.cluster"
    table = view.clusters
    if len(table) and len(clusters):
        table = table.merge(clusters.drop(columns=["mean_score"]), on="cluster_id", how="left")
    ids = table["cluster_id"].tolist() if show != detection.NO_CONSENSUS else []
    if st.session_state.get(state) not in [None, *ids]:
        del st.session_state[state]  # the cluster has no item in view any more, or none is offered

    def select() -> None:
        """Chart selection → the cluster picker (a callback runs before the widgets are drawn again)."""
        points = st.session_state[f"{key}.map"].selection.get("points", [])
        if points:
            st.session_state[state] = points[0]["customdata"][0]

    if ids:
        st.plotly_chart(built(charts.cluster_figure, table, selected=st.session_state.get(state)), theme=None,
                        key=f"{key}.map", on_select=select, selection_mode="points",
                        config={"displaylogo": False})
        csv_download.show(table, filename="clusters_in_view.csv", key=f"{key}.clusters_csv",
                          label="Download the clusters in view (CSV)")
    left, right = st.columns([2, 1])
    cluster = None
    if ids:
        cluster = left.selectbox("Cluster", [None, *ids], key=state,
                                 format_func=lambda c: "Every cluster" if c is None else c)
    else:
        left.caption("Clusters group the likely mislabeled items by pattern (given → suggested label).")
    with right:
        floor = _score_floor(view, show, key=f"{key}.min_score")
    if cluster is not None:
        row = table.set_index("cluster_id").loc[cluster]
        st.text(suspect_report.cluster_sentence(row, items=int(row["items"])))
    return cluster, floor


def _score_floor(view: suspect_report.RunView, show: str | None, *, key: str) -> float | None:
    """A slider over the scores in view of the status shown; None at its lowest (no floor)."""
    ranges = [view.score_range[s] for s in view.score_range if show is None or s == show]
    if not ranges:
        return None
    low = math.floor(min(r[0] for r in ranges))
    high = math.ceil(max(r[1] for r in ranges))
    if not high > low:
        return None
    state = f"{key}.{show}"
    # starts at no floor; a floor the filters moved out of the range is brought back into it
    st.session_state[state] = min(max(st.session_state.get(state, float(low)), float(low)), float(high))
    value = st.slider("Minimum score", float(low), float(high), step=0.5, key=state, help=SCORE_HELP)
    return None if value <= low else value


def show(src: loaders.Source, run_id: str, flt: EventFilter, chosen: dict, *, total: int,
         key: str) -> tuple[pd.DataFrame, list[str]]:
    """One page of the matching items in view, ranked; rows can be picked by hand.

    Parameters
    ----------
    src : Source
        The store.
    run_id : str
        The run.
    flt : EventFilter
        The global filters.
    chosen : dict
        The page's own filters (``analytics.store.detection.suspects_page``).
    total : int
        How many items match.
    key : str
        Prefix of the widget keys.

    Returns
    -------
    (DataFrame, list of str)
        The page's rows and the item ids picked in it.
    """
    pages = max(1, -(-total // PAGE_SIZE))
    state = f"{key}.page"
    if st.session_state.get(state, 1) > pages:
        st.session_state[state] = pages
    number = st.number_input(f"Page (of {pages:,}; {total:,} items)", 1, pages, 1, key=state)
    filters = tuple(sorted(chosen.items()))
    rows, _ = loaders.suspects_page(src, run_id, flt, filters, PAGE_SIZE, (int(number) - 1) * PAGE_SIZE,
                                    with_total=False)
    # a new page or selection starts with nothing picked, so a picked row never points at another item
    table_key = f"{key}.table.{run_id}.{flt}.{filters}.{number}"
    event = st.dataframe(
        suspect_report.table_rows(rows, chosen["status"]), hide_index=True, key=table_key,
        on_select="rerun", selection_mode="multi-row",
        column_config={
            "score": st.column_config.NumberColumn("score", format="%.1f", help=SCORE_HELP),
            "signals": st.column_config.TextColumn("signals", help=SIGNALS_HELP),
            "explanation": st.column_config.TextColumn("why", width="large"),
        },
    )
    selected = rows["item_id"].iloc[list(event.selection.rows)].tolist()
    st.caption("Pick rows by their left edge to send them to review; the first picked opens below.")
    return rows, selected
