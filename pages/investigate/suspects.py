"""Suspects: the labels most likely wrong, ranked and grouped into patterns, down to one item's history."""

import streamlit as st

from analytics import suspects as suspect_report
from charts import suspects as charts
from ui import csv_download, empty_state, filters, item_drilldown, loaders, suspect_actions

PAGE_SIZE = 25

flt = filters.current()
src = loaders.source()
st.title("Suspects")

runs = loaders.detection_runs(src, loaders.runs_version(src))
suspect_actions.run_form(src, flt, has_runs=not runs.empty, key="detect")
if runs.empty:
    empty_state.show(
        "No detection run yet",
        "A detection run scores every item's label with a model's second opinion (cross-validated on the "
        "items' features, or your own imported predictions), confident learning, the annotators' votes "
        "weighted by reliability, the nearest neighbours and your label rules. Start one above, or from the "
        "command line with `python -m analytics score`.",
        key="suspects", import_link=False,
    )
    st.stop()

run_id = st.selectbox(
    "Detection run", runs["run_id"].tolist(), key="suspects.run",
    format_func=lambda r: suspect_report.run_label(runs.set_index("run_id").loc[r]),
)
overview, params = loaders.run_overview(src, run_id)
clusters = loaders.run_clusters(src, run_id)
with st.container(border=True, key="suspects-verdict"):
    for line in suspect_report.verdict(overview, params, clusters):
        st.text(line)
    position = runs.index[runs["run_id"] == run_id][0]
    if position + 1 < len(runs):  # runs are newest first: the next one is the run before this one
        previous = runs.iloc[position + 1]
        comparison = loaders.run_comparison(src, run_id, previous["run_id"])
        st.text(suspect_report.comparison_sentence(comparison, suspect_report.run_label(previous)))
tiles = st.columns(4, border=True)
tiles[0].metric("Items scored", f"{overview['items']:,}")
tiles[1].metric("Flagged as likely mislabeled", f"{overview['flagged']:,}",
                help="The combined evidence favours another label than the given one.")
tiles[2].metric("Flagged by cleanlab alone", f"{overview['cleanlab_issues']:,}",
                help="Confident learning (prune by noise rate) on the model's out-of-fold probabilities.")
tiles[3].metric("Clusters", f"{len(clusters):,}")

cluster_ids = clusters["cluster_id"].tolist() if len(clusters) else []


def _select_cluster() -> None:
    """Chart selection → the cluster filter (a callback runs before the widgets are drawn again)."""
    points = st.session_state["suspects.map"].selection.get("points", [])
    if points:
        st.session_state["suspects.cluster"] = points[0]["customdata"][0]


if cluster_ids:
    selected = st.session_state.get("suspects.cluster")
    st.plotly_chart(charts.cluster_figure(clusters, selected=selected), theme=None, key="suspects.map",
                    on_select=_select_cluster, selection_mode="points", config={"displaylogo": False})
    csv_download.show(clusters, filename=f"{run_id}_clusters.csv", key="suspects.clusters_csv",
                      label="Download the clusters (CSV)")

left, middle, right = st.columns([2, 1, 1])
cluster = left.selectbox("Cluster", [None, *cluster_ids], key="suspects.cluster",
                         format_func=lambda c: "All suspects" if c is None else c)
min_score = middle.slider("Minimum score", 0.0, 1.0, 0.0, 0.05, key="suspects.min_score")
flagged_only = right.toggle("Flagged only", value=True, key="suspects.flagged",
                            help="Off: every scored item, most suspicious first.")
if cluster is not None:
    row = clusters.set_index("cluster_id").loc[cluster]
    st.text(suspect_report.cluster_sentence(row))

chosen = {"flagged_only": flagged_only, "cluster_id": cluster, "min_score": min_score, "dataset": flt.dataset,
          "attribute": flt.attribute, "attribute_value": flt.attribute_value}
chosen = tuple(sorted((name, value) for name, value in chosen.items() if value is not None))
total = loaders.suspects_page(src, run_id, chosen, 1, 0)[1]
pages = max(1, -(-total // PAGE_SIZE))
page_number = st.number_input(f"Page (of {pages:,}; {total:,} suspects)", 1, pages, 1, key="suspects.page")
page, _ = loaders.suspects_page(src, run_id, chosen, PAGE_SIZE, (int(page_number) - 1) * PAGE_SIZE)
table = st.dataframe(
    page, hide_index=True, key="suspects.table", on_select="rerun", selection_mode="single-row",
    column_config={
        "score": st.column_config.ProgressColumn("score", min_value=0.0, max_value=1.0, format="%.2f"),
        "explanation": st.column_config.TextColumn("why", width="large"),
    },
)
download, review = st.columns(2)
with download:
    if st.toggle("Prepare a CSV of every matching suspect", key="suspects.prepare_csv"):
        csv_download.show(loaders.suspects_all(src, run_id, chosen), filename=f"{run_id}_suspects.csv",
                          key="suspects.csv", label=f"Download {total:,} suspects (CSV)")
with review, st.form("suspects.review", border=True):
    note = st.text_input("Note for the reviewers (optional)", key="suspects.note")
    label = f"Send {total:,} suspects to review" + (f" (cluster {cluster})" if cluster else "")
    if st.form_submit_button(label, disabled=total == 0, icon=":material/send:"):
        added = suspect_actions.send_to_review(src, run_id, dict(chosen), cluster_id=cluster,
                                               note=note or None)
        st.success(f"{added:,} items added to the review requests ({total - added:,} were already there).")

rows = table.selection.rows
item_id = page["item_id"].iloc[rows[0]] if rows else (page["item_id"].iloc[0] if len(page) else None)
st.subheader("Item drill-down")
typed = st.text_input("Item id (or select a row above)", key="suspects.item", placeholder=item_id or "")
item_id = typed.strip() or item_id
if item_id:
    item_drilldown.show(src, run_id, item_id, key="drill")
