"""One item of a detection run, all the way down: why it was flagged (or why it needs adjudication), every
label it received, the model's opinion, its nearest neighbours, the rules it breaks and what was done."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics import detection
from analytics.core.schema import EventFilter
from analytics.detection import suspects as suspect_report
from charts import suspects as charts
from ui import chart_panel, csv_download, loaders
from ui.chart_panel import built
from ui.safe_text import md


def show(src: loaders.Source, run_id: str, item_id: str, *, flt: EventFilter, key: str) -> None:
    """Render the drill-down of ``item_id`` in ``run_id`` (a note when the run did not score it).

    Parameters
    ----------
    src : Source
        The store.
    run_id, item_id : str
        The run and the item.
    flt : EventFilter
        The global filters: the item's labels that do not pass them are drawn hollow.
    key : str
        Prefix of every widget key.
    """
    detail = loaders.item_detail(src, run_id, item_id, flt)
    if detail is None:
        st.info(md(f"Item {item_id!r} is not in this detection run."), icon=":material/info:")
        return
    signals, events = detail["signals"], detail["events"]
    given, suggested = signals["given_label"], signals["suggested_label"]
    with st.container(border=True, key=f"{key}_why"):
        for line in _summary(item_id, signals):
            st.text(line)
        st.text("Why: " + (signals["explanation"] or "no evidence against the given label."))
        if not events["in_filter"].all():
            st.text("Hollow dots are labels outside the sidebar filters; "
                    + ("the item is in view because at least one of its labels passes them."
                       if events["in_filter"].any() else "none passes them, so the item is not in view."))
    chart_panel.show(
        built(charts.timeline_figure, events, given=given, suggested=suggested,
              order=loaders.label_order(src), cohort_order=loaders.cohort_order(src)),
        events, filename=f"item_{item_id}_events.csv", key=f"{key}.timeline",
    )
    model, near = st.columns(2)
    with model:
        if signals.get("model_top"):
            chart_panel.show(built(charts.model_figure, signals["model_top"], given=given),
                             pd.DataFrame(signals["model_top"]), filename=f"item_{item_id}_model.csv",
                             key=f"{key}.model")
            if signals.get("cleanlab_issue"):
                st.caption("cleanlab (confident learning) flags this label as an issue.")
        else:
            st.caption("No model opinion: the item has no features and no imported predictions.")
    with near:
        st.markdown("**Nearest neighbours** (feature space) and their labels")
        neighbours = detail["neighbours"]
        neighbours = neighbours.assign(status=neighbours["status"].map(suspect_report.STATUS_NAMES))
        if len(neighbours):
            st.dataframe(neighbours, hide_index=True, key=f"{key}.neighbours",
                         column_config={"score": st.column_config.NumberColumn("score", format="%.1f")})
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
        past = loaders.remediation_history(src, item_id)
        if len(past):
            st.dataframe(past, hide_index=True, key=f"{key}.history")
            csv_download.show(past, filename=f"item_{item_id}_history.csv", key=f"{key}.history_csv")
        else:
            st.caption("Nothing yet.")


def _summary(item_id: str, signals: dict) -> list[str]:
    """The item's verdict in two sentences: what the run concluded and on what majority."""
    status = signals.get("status")
    head = (f"Item {item_id} · {suspect_report.STATUS_NAMES.get(status, status)} · rank {signals['rank']:,} "
            f"· score {signals['score']:.1f}")
    agreeing, available = signals.get("signals_agreeing"), signals.get("signals_available")
    backing = (f"; {agreeing} of {available} independent signals pick it" if available else "")
    suggested = signals["suggested_label"]
    if status == detection.NO_CONSENSUS:
        # runs stored before the posterior was kept have no suggested_prob
        posterior = signals.get("suggested_prob")
        posterior = "" if posterior is None else f"posterior {posterior:.2f}; "
        return [head, f"No consensus: no label holds a strict majority of its {signals['n_ratings']} "
                      f"ratings, so there is no given label to be wrong. The evidence suggests '{suggested}' "
                      f"({posterior}log10 odds {signals['score']:.1f} for it{backing})."]
    votes = f"{signals['votes_given']} of {signals['n_ratings']} ratings"
    if status == detection.MISLABELED:
        verdict = (f"flagged: the evidence favours '{suggested}' (log10 odds {signals['score']:.1f} against "
                   f"the given label{backing}).")
    else:
        verdict = f"not flagged: the given label is the most probable ('{suggested}' comes next)."
    return [head, f"Given '{signals['given_label']}' ({votes}), " + verdict]
