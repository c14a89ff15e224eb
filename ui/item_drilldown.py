"""One item of a detection run, all the way down: why it was flagged, every label it received, the model's
opinion, its nearest neighbours, the rules it breaks and what was done about it."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.store import detection as detection_queries
from charts import suspects as charts
from ui import chart_panel, csv_download, loaders
from ui import store as app_store


def show(src: loaders.Source, run_id: str, item_id: str, *, key: str) -> None:
    """Render the drill-down of ``item_id`` in ``run_id`` (a note when the run did not score it).

    Parameters
    ----------
    src : Source
        The store.
    run_id, item_id : str
        The run and the item.
    key : str
        Prefix of every widget key.
    """
    detail = loaders.item_detail(src, run_id, item_id)
    if detail is None:
        st.info(f"Item {item_id!r} is not in this detection run.", icon=":material/info:")
        return
    signals = detail["signals"]
    with st.container(border=True, key=f"{key}_why"):
        st.text(f"Item {item_id} · rank {signals['rank']:,} · score {signals['score']:.2f}")
        st.text(
            f"Given '{signals['given_label']}', suggested '{signals['suggested_label']}'"
            + (" (flagged: the evidence favours the suggestion)." if signals["flagged"] else
               " (not flagged: the given label is the most probable).")
        )
        st.text("Why: " + (signals["explanation"] or "no evidence against the given label."))
    events = detail["events"]
    chart_panel.show(
        charts.timeline_figure(events, given=signals["given_label"], suggested=signals["suggested_label"]),
        events, filename=f"item_{item_id}_events.csv", key=f"{key}.timeline",
    )
    model, near = st.columns(2)
    with model:
        if signals.get("model_top"):
            chart_panel.show(charts.model_figure(signals["model_top"], given=signals["given_label"]),
                             pd.DataFrame(signals["model_top"]), filename=f"item_{item_id}_model.csv",
                             key=f"{key}.model")
            if signals.get("cleanlab_issue"):
                st.caption("cleanlab (confident learning) flags this label as an issue.")
        else:
            st.caption("No model opinion: the item has no features and no imported predictions.")
    with near:
        st.markdown("**Nearest neighbours** (feature space) and their labels")
        neighbours = detail["neighbours"]
        if len(neighbours):
            st.dataframe(neighbours, hide_index=True, key=f"{key}.neighbours",
                         column_config={"score": st.column_config.ProgressColumn(
                             "score", min_value=0.0, max_value=1.0, format="%.2f")})
        else:
            st.caption("No neighbours: the item has no features.")
    rules, history = st.columns(2)
    with rules:
        st.markdown("**Rules broken**")
        st.text(", ".join(signals.get("rules") or []) or "none")
        st.markdown("**Item attributes**")
        st.dataframe(detail["attributes"], hide_index=True, key=f"{key}.attributes")
    with history:
        st.markdown("**Remediation and review history**")
        past = detection_queries.remediation_history(app_store.open_store(src.path), item_id)
        if len(past):
            st.dataframe(past, hide_index=True, key=f"{key}.history")
            csv_download.show(past, filename=f"item_{item_id}_history.csv", key=f"{key}.history_csv")
        else:
            st.caption("Nothing yet.")
