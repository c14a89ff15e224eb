"""Suspects: labels most likely wrong and items without consensus, ranked by the strength of the evidence,
grouped into patterns, down to one item's history. Every number counts the run's items in view."""

import streamlit as st

from analytics import detection
from analytics.detection import export
from analytics.detection import suspects as suspect_report
from ui import empty_state, export_download, filters, item_drilldown, loaders, suspect_actions, suspect_table
from ui import store as app_store

flt = filters.current()
src = loaders.source()
st.title("Suspects")

runs = loaders.detection_runs(src, loaders.runs_version(src))
suspect_actions.run_form(src, flt, has_runs=not runs.empty, key="detect", run_key="suspects.run")
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

by_id = runs.set_index("run_id")
run_id = st.selectbox("Detection run", runs["run_id"].tolist(), key="suspects.run",
                      format_func=lambda r: suspect_report.run_label(by_id.loc[r]))
view, params = loaders.run_view(src, run_id, flt), loaders.run_params(src, run_id)
clusters = loaders.run_clusters(src, run_id)
scope = suspect_report.filter_words(flt)
with st.container(border=True, key="suspects-verdict"):
    for line in suspect_report.verdict(view, params, clusters, run_items=int(by_id.loc[run_id, "items"]),
                                       scope=scope):
        st.text(line)
    position = runs.index[runs["run_id"] == run_id][0]
    if position + 1 < len(runs):  # runs are newest first: the next one is the run before this one
        previous = runs.iloc[position + 1]
        comparison = loaders.run_comparison(src, run_id, previous["run_id"], flt)
        st.text(suspect_report.comparison_sentence(comparison, suspect_report.run_label(previous)))
tiles = st.columns(5, border=True)
tiles[0].metric("Items in view", f"{view.items:,}",
                help="Items of this run with at least one label that passes the sidebar filters.")
tiles[1].metric("Likely mislabeled", f"{view.by_status[detection.MISLABELED]:,}",
                help="Their annotators agree on a label; the combined evidence favours another.")
tiles[2].metric("Needs adjudication", f"{view.by_status[detection.NO_CONSENSUS]:,}",
                help="No consensus: " + suspect_report.CONSENSUS_RULE + ", and for these none does.")
precision = view.precision
tiles[3].metric("Precision on gold", f"{precision.k:,} of {precision.n:,}" if precision.n else "–",
                help=f"Flagged items with a gold label whose given label is indeed wrong: {precision} "
                     "(Wilson interval)." if precision.n else "No flagged item in view has a gold label.")
tiles[4].metric("Clusters in view", f"{len(view.clusters):,}")

show = st.radio("Show", [detection.MISLABELED, detection.NO_CONSENSUS, None], horizontal=True,
                key="suspects.status",
                format_func=lambda s: f"{suspect_report.STATUS_NAMES[s]} ({view.count(s):,})" if s else
                f"Every scored item ({view.items:,})")
cluster, floor = suspect_table.controls(view, clusters, show=show, key="suspects")
chosen = {"status": show, "cluster_id": cluster, "min_score": floor}
total = (view.count(show, cluster) if floor is None else
         loaders.suspects_page(src, run_id, flt, tuple(sorted(chosen.items())), 1, 0)[1])
what = suspect_report.selection_words(show, cluster, scope)
page, selected = suspect_table.show(src, run_id, flt, chosen, total=total, key="suspects")

download, review = st.columns(2)
with download:
    store = app_store.current()  # read when a button is pressed: every matching item, or the whole run
    arrays = {"npz": lambda: export.cleanlab_arrays(store, run_id).to_npz()}
    has_arrays = loaders.run_has_pred_probs(src, run_id)
    fmt = export_download.show(
        lambda: export.suspects_table(store, run_id, flt=flt, **chosen), stem=f"{run_id}_suspects",
        key="suspects.export", label=f"Download {total:,} items", others=arrays if has_arrays else None,
        other_labels={"npz": "Download the run for cleanlab (.npz)"}, disabled=not total)
    if fmt == "npz":
        st.caption("cleanlab's form of the whole run (every item its model scored, whatever the filters): "
                   "`labels` (int, N) and `pred_probs` (N × K) for `cleanlab.filter.find_label_issues`, "
                   "with `item_ids`, `classes`, `consensus` and `run_id` to join them back.")
    elif not has_arrays:
        st.caption("No cleanlab export for this run: " + (
            "it was stored before runs kept their probabilities; run detection again to get one."
            if params.get("model") else "it had no model opinion (no features, no imported predictions)."))
with review, st.container(border=True):
    suspect_actions.review_box(src, run_id, flt=flt, filters=chosen, total=total, selected=selected,
                               what=what, cluster_id=cluster, key="suspects.review")

st.subheader("Item drill-down")
first = selected[0] if selected else (page["item_id"].iloc[0] if len(page) else None)
typed = st.text_input("Item id (or select a row above)", key="suspects.item", placeholder=first or "")
item_id = typed.strip() or first
if item_id:
    item_drilldown.show(src, run_id, item_id, flt=flt, key="drill")
