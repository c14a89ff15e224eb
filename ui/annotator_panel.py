"""The Agreement page's annotator tab: reliability chart, cohort and annotator tables, one annotator's detail.

Selecting a row of the annotator table (or picking a name in the box below it) opens that annotator's
Dawid–Skene confusion matrix and the items where they differ from the consensus.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.core.schema import EventFilter
from charts import agreement as charts
from ui import chart_panel, csv_download, loaders, safe_text
from ui.chart_panel import built

_PERCENT = st.column_config.NumberColumn(format="percent")
_TABLE_COLUMNS = {
    "annotator_id": st.column_config.TextColumn("Annotator"),
    "cohort": st.column_config.TextColumn("Cohort"),
    "flags": st.column_config.ListColumn("Flags"),
    "loo_agreement": st.column_config.NumberColumn("Agrees with majority", format="percent",
                                                   help="Share of their items (with a single most frequent "
                                                   "label among the other annotators) where they gave it."),
    "loo_low": st.column_config.NumberColumn("CI low", format="percent"),
    "loo_high": st.column_config.NumberColumn("CI high", format="percent"),
    "items": st.column_config.NumberColumn("Items"),
    "loo_items": st.column_config.NumberColumn("Items with a majority"),
    "gold_text": st.column_config.TextColumn("Gold accuracy",
                                             help="Gold items labeled right, of the gold items rated."),
    "retest_text": st.column_config.TextColumn(
        "Re-test consistency", help="Repeated labels of an item that repeat the annotator's previous label, "
        "of all repeats (each event after their first on the item)."),
    "change_points": st.column_config.NumberColumn(
        "Change (points)", format="%+.1f",
        help="Agreement with the majority in the second half of their ratings minus the first half."),
    "ds_skill": st.column_config.NumberColumn("Dawid–Skene accuracy", format="percent"),
}


def show(
    src: loaders.Source, flt: EventFilter, table: pd.DataFrame, cohorts: pd.DataFrame, *, key: str
) -> None:
    """Draw the tab.

    Parameters
    ----------
    src, flt
        The store and the global filters (for the detail loaders).
    table, cohorts : DataFrame
        ``analytics.agreement.report.reliability``.
    key : str
        Prefix of every widget key.
    """
    figure = built(charts.annotator_figure, table, cohort_order=loaders.cohort_order(src))
    chart_panel.show(figure, table.assign(flags=table["flags"].str.join("; ")),
                     filename="annotator_reliability.csv", key=f"{key}-scatter")
    st.subheader("Cohorts")
    st.dataframe(cohorts, hide_index=True, key=f"{key}-cohorts", column_config={
        "cohort": "Cohort", "annotators": "Annotators", "items": "Ratings",
        "loo_items": st.column_config.NumberColumn("Ratings with a majority"),
        "loo_agreement": _TABLE_COLUMNS["loo_agreement"], "loo_low": _TABLE_COLUMNS["loo_low"],
        "loo_high": _TABLE_COLUMNS["loo_high"],
        "gold_accuracy": st.column_config.NumberColumn("Gold accuracy", format="percent"),
        "gold_low": st.column_config.NumberColumn("Gold CI low", format="percent"),
        "gold_high": st.column_config.NumberColumn("Gold CI high", format="percent"),
        "gold_n": st.column_config.NumberColumn("Gold items"),
    })
    st.subheader("Annotators")
    st.caption("Least reliable first. Select a row for the annotator's confusion matrix and disagreements.")
    refusal = loaders.dawid_skene_refusal(src, flt)
    if refusal:
        st.info("No Dawid–Skene accuracy: " + refusal, icon=":material/info:")
    shown = table.assign(change_points=table["change"] * 100,
                         gold_text=_counted(table["gold_correct"], table["gold_n"], "no gold item"),
                         retest_text=_counted(table["retest_same"], table["retest_n"], "no re-test"))
    picked = st.dataframe(
        shown[list(_TABLE_COLUMNS)], hide_index=True, key=f"{key}-table", column_config=_TABLE_COLUMNS,
        on_select="rerun", selection_mode="single-row",
    )
    names = table["annotator_id"].tolist()
    rows = picked.selection.rows if picked is not None else []
    if rows:
        st.session_state[f"{key}.annotator"] = names[rows[0]]
    annotator = st.selectbox("Annotator", names, key=f"{key}.annotator", index=None,
                             placeholder="Pick an annotator")
    if annotator is None:
        return
    _detail(src, flt, annotator, key=key)


def _counted(successes: pd.Series, n: pd.Series, none: str) -> pd.Series:
    """"x of n (p%)" per row, ``none`` where n is 0: a rate never shows without what it rests on."""
    return pd.Series([none if not total else f"{int(x)} of {int(total)} ({x / total:.0%})"
                      for x, total in zip(successes.fillna(0), n.fillna(0), strict=True)], index=n.index)


def _detail(src: loaders.Source, flt: EventFilter, annotator: str, *, key: str) -> None:
    model = loaders.dawid_skene(src, flt)
    left, right = st.columns(2)
    with left:
        if model is not None and annotator in model.annotators_:
            matrix = model.confusion(annotator)
            chart_panel.show(
                built(charts.confusion_figure, matrix, title=f"{annotator}: Dawid–Skene confusion matrix"),
                matrix.reset_index(), filename=f"confusion_{annotator}.csv", key=f"{key}-confusion",
            )
            if model.fallback_:
                check = model.agreement_beyond_chance_
                st.warning(
                    "Dawid–Skene cannot tell the classes apart here: apart from one annotator, the ratings "
                    f"agree no more than chance (z = {check.z:.2f} on {check.pairs:,.0f} pairs). The "
                    "consensus is the majority vote, and this matrix compares the annotator with it."
                )
            else:
                state = "converged" if model.converged_ else "stopped without converging"
                st.caption(
                    f"Dawid–Skene {state} after {model.n_iter_} EM iterations on "
                    f"{int(model.n_ratings_.sum()):,} ratings by {len(model.annotators_):,} annotators."
                )
    with right:
        differing = loaders.annotator_disagreements(src, flt, annotator)
        st.markdown(f"**Items where {safe_text.md(annotator)} differs from the consensus** "
                    f"({len(differing):,})")
        st.dataframe(differing, hide_index=True, key=f"{key}-differing", column_config={
            "consensus_prob": st.column_config.NumberColumn("Consensus probability", format="percent"),
        })
        csv_download.show(differing, filename=f"disagreements_{annotator}.csv", key=f"{key}-differing.csv")
