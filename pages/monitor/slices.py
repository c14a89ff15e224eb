"""Slices: which subgroups of the data are labeled worse than the rest, with intervals and FDR control."""

import streamlit as st

from analytics import slices
from charts import slices as charts
from ui import chart_panel, csv_download, empty_state, filters, loaders

TITLES = {"disagreement": "Disagreement", "gold_error": "Gold error", "suspect": "Suspect rate"}

flt = filters.current()
src = loaders.source()
st.title("Slices")

runs = loaders.detection_runs(src, loaders.runs_version(src))
run_id = None if runs.empty else runs["run_id"].iloc[0]
left, middle, right = st.columns([2, 1, 1])
metric = left.segmented_control(
    "Noise measure", [m for m in slices.METRICS if m != "suspect" or run_id], default="disagreement",
    required=True, format_func=TITLES.get, key="slices.metric",
    help="Disagreement: items whose annotators are not unanimous. Gold error: gold items whose majority "
    "label is wrong. Suspect rate: items the latest detection run flags. Each counts items, not ratings.",
)
pairs = middle.toggle("Pairs of attributes", value=False, key="slices.pairs",
                      help="Also test every pair of values of two attributes (fax & north).")
min_items = right.number_input("Minimum items per slice", 5, 100_000, 30, key="slices.min_items",
                               help="Smaller slices (or with a smaller rest) are shown but not tested.")

cube, modulus = loaders.slice_cube(src, flt, run_id)
table = slices.slice_noise_table(cube, metric=metric, pairs=pairs, min_items=int(min_items))
if table.empty:
    empty_state.show(
        "No slice to compare",
        "Slices come from item attributes (a column such as `source` or `region` in an items file). Import "
        "items with attributes, or widen the filters.",
        key="slices",
    )
    st.stop()
found = slices.discover_slices(cube, metric=metric, min_items=int(min_items))
with st.container(border=True, key="slices-verdict"):
    for line in slices.verdict(table, found, metric=metric):
        st.text(line)
if modulus > 1:
    st.caption(f"Large store: the slices are measured on a 1-in-{modulus} sample of items (all their "
               "ratings); intervals and tests are those of the sample.")
if metric == "suspect":
    st.caption(f"Suspects of the latest detection run ({run_id}).")

ranked, forest, heatmap, discovered = st.tabs(
    ["Ranked slices", "Forest plot", "Slice × class", "Discovered combinations"]
)
with ranked:
    st.dataframe(
        table, hide_index=True, key="slices.table",
        column_config={
            "noise_rate": st.column_config.NumberColumn("noise rate", format="percent"),
            "ci_low": st.column_config.NumberColumn("95% CI low", format="percent"),
            "ci_high": st.column_config.NumberColumn("95% CI high", format="percent"),
            "rest_rate": st.column_config.NumberColumn("rest", format="percent"),
            "ratio": st.column_config.NumberColumn("ratio", format="%.2f×"),
            "q_value": st.column_config.NumberColumn("q (BH)", format="%.4f"),
        },
    )
    csv_download.show(table, filename=f"slices_{metric}.csv", key="slices.table_csv")
with forest:
    chart_panel.show(charts.forest_figure(table, metric_title=slices.METRIC_WORDS[metric]), table,
                     filename=f"slices_{metric}_forest.csv", key="slices.forest")
with heatmap:
    cells = slices.slice_class_heatmap(cube, metric=metric)
    chart_panel.show(charts.heatmap_figure(cells, metric_title=slices.METRIC_WORDS[metric]), cells,
                     filename=f"slices_{metric}_by_class.csv", key="slices.heatmap")
with discovered:
    st.caption(f"Searched {found.candidates:,} combinations of up to {found.max_depth} attributes (a "
               f"combination is tried only when all its parts have {found.min_items}+ items), tested "
               f"{len(found.tested):,}; shown: those significant after false-discovery control at "
               f"{found.alpha:.0%} and noisier than each of their parts' rest.")
    st.dataframe(found.found, hide_index=True, key="slices.found")
    csv_download.show(found.found, filename=f"slices_{metric}_discovered.csv", key="slices.found_csv")

# Click-through: a single-attribute slice becomes the global filter, and the Suspects page opens on it.
single = table[(table["depth"] == 1) & (table["status"] == slices.TESTED)]
if len(single):
    st.subheader("Open a slice's suspects")
    choice = st.selectbox("Slice", single["slice"].tolist(), key="slices.open", label_visibility="collapsed")
    chosen = single.set_index("slice").loc[choice]

    def _open_slice() -> None:
        st.session_state["filters.attribute"] = chosen["attribute"]
        st.session_state["filters.value"] = chosen["value"]
        st.session_state["slices.go"] = True

    st.button("Show its suspects", key="slices.suspects", on_click=_open_slice,
              icon=":material/troubleshoot:", disabled=run_id is None,
              help=None if run_id else "No detection run yet: run one on the Suspects page.")
    if st.session_state.pop("slices.go", False):
        st.switch_page("pages/investigate/suspects.py")
