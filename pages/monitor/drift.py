"""Drift: what changed in the labeling, when, and whether a guideline version or new people explain it."""

import streamlit as st

from analytics import drift
from charts import drift as charts
from charts.overview import GRAIN_TITLES
from ui import chart_panel, csv_download, empty_state, filters, loaders

flt = filters.current()
src = loaders.source()
st.title("Drift")

runs = loaders.detection_runs(src, loaders.runs_version(src))
run_id = None if runs.empty else runs["run_id"].iloc[0]
left, right = st.columns([2, 1])
grain = left.segmented_control("Window", list(GRAIN_TITLES), default="week", required=True,
                               format_func=str.capitalize, key="drift.grain")
with_ds = right.toggle("Dawid–Skene accuracy per window", value=False, key="drift.ds",
                       help="Also follow each annotator's Dawid–Skene accuracy over time (fits the model).")
inputs, findings = loaders.drift_findings(src, flt, grain, run_id, with_ds)
if inputs.label_counts.empty:
    empty_state.show("No label events here",
                     "Drift needs label events over time. Widen the filters, or import label events.",
                     key="drift")
    st.stop()

with st.container(border=True, key="drift-verdict"):
    lines = drift.what_changed(findings, limit=8)
    quiet = (f"No significant change in any series, label mix or annotator at this {grain} grain "
             f"(false-discovery rate {findings.fdr:.0%}).")
    for line in lines or [quiet]:
        st.text(line)
if inputs.sample_modulus > 1:
    st.caption(f"Large store: agreement, annotator and suspect series are read on a 1-in-"
               f"{inputs.sample_modulus} sample of items (all their ratings); the label mix counts every "
               "event.")

mix, series_tab, versions, people, relabels, shift = st.tabs(
    ["Label mix", "Change points", "Guideline versions", "Annotators", "Re-labels", "Distribution shift"]
)
with mix:
    changes = [when for cp in findings.change_points for when in cp.changes["window"]]
    figure = charts.label_mix_figure(inputs.label_counts, guidelines=inputs.guidelines, changes=changes)
    chart_panel.show(figure, inputs.label_counts, filename=f"label_mix_by_{grain}.csv", key="drift.mix")
with series_tab:
    if not findings.change_points:
        st.caption("No series changed significantly.")
    values = {words: frame for words, frame in drift.quality_series(inputs).values()}
    for i, cp in enumerate(findings.change_points):
        chart_panel.show(
            charts.series_figure(values.get(cp.series), cp, title=cp.series, unit=cp.unit,
                                 guidelines=inputs.guidelines),
            cp.changes, filename=f"change_points_{i}.csv", key=f"drift.series{i}",
        )
    st.markdown("**Every series tested**")
    method = findings.change_points[0].method if findings.change_points else "binary segmentation"
    st.caption(f"Method: {method}; series flagged when their Benjamini–Hochberg q < {findings.fdr:.0%}.")
    tested = findings.series.drop(columns=["changes"], errors="ignore")
    st.dataframe(tested, hide_index=True, key="drift.tested")
    csv_download.show(tested, filename=f"series_tested_{grain}.csv", key="drift.tested_csv")
with versions:
    if findings.guidelines.empty:
        st.caption("No guideline version changed within the filtered events.")
    else:
        chart_panel.show(charts.guideline_figure(findings.guidelines), findings.guidelines,
                         filename="guideline_versions.csv", key="drift.versions")
        st.dataframe(findings.guidelines, hide_index=True, key="drift.versions_table")
with people:
    table = findings.annotators.annotators
    flagged = table.loc[table["declining"] | (table["drops"] > 0), "annotator_id"].tolist()
    busiest = table.sort_values("loo_items", ascending=False)["annotator_id"].tolist()
    shown = list(dict.fromkeys(flagged + busiest))[:9]
    chart_panel.show(charts.annotators_figure(findings.annotators.windows, shown, flagged=set(flagged)),
                     findings.annotators.windows, filename=f"annotators_by_{grain}.csv", key="drift.people")
    st.dataframe(table, hide_index=True, key="drift.annotators")
    if len(findings.onboarding):
        st.markdown("**New cohorts: their first weeks against the rest and against their later weeks**")
        st.dataframe(findings.onboarding, hide_index=True, key="drift.onboarding")
with relabels:
    if findings.retest is None:
        st.caption("No item was labeled twice by the same annotator here.")
    else:
        retest = findings.retest
        st.text(f"{retest.pairs:,} re-labels, {retest.changed:,} changed "
                f"({retest.changed / retest.pairs:.0%}); trend with the gap: one-sided p = "
                f"{retest.trend_p:.3f}.")
        chart_panel.show(charts.retest_figure(retest.by_gap), retest.by_gap, filename="retest_by_gap.csv",
                         key="drift.retest")
with shift:
    st.caption("Each window's label distribution against the first window, or against an expected "
               "distribution you declare: chi-square (corrected for labels clustering within items), "
               "Cramér's V and Jensen–Shannon distance; q-values across windows.")
    declared = st.text_area("Expected distribution (optional): one `label: share` per line",
                            key="drift.expected", placeholder="0: 0.1\n1: 0.1\n…")
    table = findings.shift
    if declared.strip():
        try:
            expected = drift.parse_expected(declared)
            table = drift.shift_table(inputs.label_counts, expected=expected, fdr=findings.fdr)
        except ValueError as exc:  # our own message naming the line
            st.warning(str(exc))
    st.dataframe(table, hide_index=True, key="drift.shift")
    csv_download.show(table, filename=f"distribution_shift_{grain}.csv", key="drift.shift_csv")
