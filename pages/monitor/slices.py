"""Slices: which subgroups of the data are labeled worse than the rest, with intervals and FDR control."""

import pandas as pd
import streamlit as st

from analytics.monitoring import slices
from analytics.narrative import slices as slice_words
from charts import slices as charts
from ui import chart_panel, csv_download, empty_state, filters, loaders, page_files, slice_review, tables
from ui.chart_panel import built
from ui.safe_text import md

TITLES = {"disagreement": "Disagreement", "gold_error": "Gold error", "suspect": "Suspect rate"}

#: The slice tables' columns (``analytics.monitoring.slices.TABLE_COLUMNS``): what a reader needs first, then
#: detail.
COLUMNS = {
    "slice": tables.Column("Slice", "The items with these attribute values.", key=True),
    "noise_rate": tables.Column(
        "Noise rate", "Share of the slice's measured items that are noisy (the measure chosen above).",
        "percent", key=True),
    "ci": tables.Column("95% CI", "Wilson interval of the noise rate.", key=True),
    "rest_rate": tables.Column("Rest", "Noise rate of every other item.", "percent", key=True),
    "ratio": tables.Column("× rest", "Noise rate over the rest's rate.", "ratio", key=True),
    "q_value": tables.Column(
        "q (FDR)", "Benjamini–Hochberg q-value of the slice's p: the false-discovery rate at which this "
        "slice would count as noisier. Empty when not tested.", "p_value", key=True),
    "significant": tables.Column("Noisier", "q ≤ 5%: noisier than the rest after false-discovery control.",
                                 "flag", key=True),
    "n": tables.Column("Items measured", "Items the rate is over (those with 2+ ratings, with gold, or "
                       "scored, by measure).", "count", key=True),
    "explained_by": tables.Column(
        "Explained by", "A broader slice whose noise accounts for this combination's (discovered "
        "combinations only).", key=True),
    "errors": tables.Column("Noisy items", "Measured items that are noisy.", "count"),
    "excess": tables.Column("Beyond its share", "Noisy items beyond what the overall rate predicts for a "
                            "slice this size: noisy − measured × overall rate.", "signed"),
    "items": tables.Column("Items", "Every item of the slice, measured or not.", "count"),
    "mean_ratings": tables.Column(
        "Ratings per item", "Mean ratings per item; more ratings make disagreement likelier at the same "
        "error rate.", "decimal"),
    "rest_n": tables.Column("Rest measured", "Measured items outside the slice.", "count"),
    "p_value": tables.Column("p", "One-sided Fisher exact test: the slice noisier than the rest.", "p_value"),
    "status": tables.Column("Status", "tested, or why not: the slice or its rest below the minimum size."),
}


def _readable(frame: pd.DataFrame) -> pd.DataFrame:
    return tables.interval_text(frame, "ci_low", "ci_high", into="ci")


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
classes, max_classes = cube.attrs.get("classes"), cube.attrs.get("max_classes")
pinned = None
if flt.attribute and flt.attribute_value is not None:
    # the sidebar's slice filter keeps only items of one slice: it has no rest here, and the loaders below
    # leave its attribute out
    pinned = f"{flt.attribute} = {flt.attribute_value}"


def _clear_slice_filter() -> None:
    st.session_state["filters.attribute"] = None


if pinned is not None:
    with st.container(border=True, key="slices-pinned"):
        st.markdown(
            f"The sidebar's slice filter keeps only the items with {md(pinned)}, so this page cannot compare "
            "that slice with the rest: here it is everything. The slices below are compared within it."
        )
        st.button("Compare it with the rest (clear the slice filter)", key="slices.unpin",
                  on_click=_clear_slice_filter, icon=":material/filter_alt_off:")

table = loaders.slice_table(src, flt, run_id, metric, pairs, int(min_items))
if table.empty:
    if pinned is not None:
        empty_state.show(
            "No other slice to compare within this one",
            "Every item left by the slice filter belongs to the same slice, and no other attribute splits "
            "them. Clear the slice filter to compare this slice with the rest of the items.",
            key="slices", import_link=False,
        )
    else:
        empty_state.show(
            "No slice to compare",
            "Slices come from item attributes (a column such as `source` or `region` in an items file). "
            "Import items with attributes, or widen the filters.",
            key="slices",
        )
    st.stop()
found = loaders.discovered_slices(src, flt, run_id, metric, int(min_items))
with st.container(border=True, key="slices-verdict"):
    for line in slice_words.verdict(table, found, metric=metric, within=pinned):
        st.text(line)
if modulus > 1:
    st.caption(f"Large store: the slices are measured on a 1-in-{modulus} sample of items (all their "
               "ratings); intervals and tests are those of the sample.")
if metric == "suspect":
    st.caption(f"Suspects of the latest detection run ({md(run_id)}).")

# Only the open tab runs and is sent (a tab click reruns the page on cached data): ten people on the
# page pay for what each looks at, not for every tab.
ranked, forest, heatmap, discovered = st.tabs(
    ["Ranked slices", "Forest plot", "Slice × class", "Discovered combinations"],
    key="slices.tab", on_change="rerun",
)
if ranked.open:
    with ranked:
        tables.show(_readable(table), COLUMNS, key="slices.table")
        csv_download.show(table, filename=f"slices_{metric}.csv", key="slices.table_csv")
if forest.open:
    with forest:
        figure = built(charts.forest_figure, table, metric_title=slice_words.METRIC_WORDS[metric])
        chart_panel.show(figure, table, filename=f"slices_{metric}_forest.csv", key="slices.forest")
if heatmap.open:
    with heatmap:
        cells = loaders.slice_class_cells(src, flt, run_id, metric)
        chart_panel.show(
            built(charts.heatmap_figure, cells, metric_title=slice_words.METRIC_WORDS[metric],
                  classes=classes, max_classes=max_classes),
            cells, filename=f"slices_{metric}_by_class.csv", key="slices.heatmap",
        )
if discovered.open:
    with discovered:
        st.caption(f"Searched {found.candidates:,} combinations of up to {found.max_depth} attributes (a "
                   f"combination is tried only when all its parts have {found.min_items}+ items), tested "
                   f"{len(found.tested):,}; shown: those significant after false-discovery control at "
                   f"{found.alpha:.0%} and noisier than each of their parts' rest.")
        tables.show(_readable(found.found), COLUMNS, key="slices.found")
        csv_download.show(found.found, filename=f"slices_{metric}_discovered.csv", key="slices.found_csv")

# A single-attribute slice, two ways on: its suspects (it becomes the global filter and the Suspects page
# opens on it), or every one of them sent to review.
single = table[table["depth"] == 1]
if len(single):
    st.subheader("A slice's suspects")
    choice = st.selectbox("Slice", single["slice"].tolist(), key="slices.open", label_visibility="collapsed")
    chosen = single.set_index("slice").loc[choice]

    def _open_slice() -> None:
        st.session_state["filters.attribute"] = chosen["attribute"]
        st.session_state["filters.value"] = chosen["value"]
        st.session_state["slices.go"] = True

    show, send = st.columns(2)
    show.button("Show its suspects", key="slices.suspects", on_click=_open_slice, width="stretch",
                icon=":material/troubleshoot:", disabled=run_id is None,
                help=None if run_id else "No detection run yet: run one on the Suspects page.")
    slice_review.review_box(send, src, run_id, flt, str(chosen["attribute"]), str(chosen["value"]),
                            key="slices.review")
    if st.session_state.pop("slices.go", False):
        st.switch_page(page_files.page("investigate/suspects.py"))
