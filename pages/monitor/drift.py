"""Drift: what changed in the labeling, when, and whether a guideline version or new people explain it."""

import pandas as pd
import streamlit as st

from analytics.core.schema import TIME_GRAINS
from analytics.monitoring import drift
from analytics.narrative import drift as drift_words
from charts import drift as charts
from ui import chart_panel, csv_download, empty_state, filters, loaders, safe_text
from ui.chart_panel import built

_FORMATS = {"share": "%.1f%%", "points": "%+.1f pts", "number": "%.3f", "count": "localized"}


def _column(column: charts.Column) -> dict:
    """The Streamlit column config of one ``charts.drift.Column``."""
    if column.kind in _FORMATS:
        return st.column_config.NumberColumn(column.label, help=column.help, format=_FORMATS[column.kind])
    if column.kind == "date":
        return st.column_config.DateColumn(column.label, help=column.help, format="YYYY-MM-DD")
    if column.kind == "flag":
        return st.column_config.CheckboxColumn(column.label, help=column.help)
    if column.kind == "list":
        return st.column_config.ListColumn(column.label, help=column.help)
    return st.column_config.TextColumn(column.label, help=column.help)


def _table(frame: pd.DataFrame, table: str, *, key: str, filename: str) -> None:
    """A table with human column labels and formats, what its columns mean, and its raw rows as CSV."""
    view, columns = charts.table_view(frame, table)
    st.dataframe(view, hide_index=True, key=key, column_config={c.key: _column(c) for c in columns})
    with st.expander("What the columns mean"):
        st.markdown(charts.column_guide(columns))
    csv_download.show(frame, filename=filename, key=f"{key}_csv")


flt = filters.current()
src = loaders.source()
st.title("Drift")

runs = loaders.detection_runs(src, loaders.runs_version(src))
run_id = None if runs.empty else runs["run_id"].iloc[0]
left, right = st.columns([2, 1])
grain = left.segmented_control("Window", list(TIME_GRAINS), default="week", required=True,
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
    lines = drift_words.what_changed(findings, limit=8)
    quiet = (f"No significant change in any series, label mix or annotator "
             f"(false-discovery rate {findings.fdr:.0%}).")
    for line in lines or [quiet]:
        st.text(line)
followed = (f"the {len(findings.labels)} most frequent labels one by one and the other "
            f"{findings.other_labels:,} together as one share" if findings.other_labels
            else f"each of the {len(findings.labels)} labels")
st.caption(
    f"Tests run on {findings.grain}ly windows whatever window is drawn, so Day, Week and Month tell one "
    f"story{'; each change is dated to the day within its week' if grain == 'day' else ''}. A segment "
    f"between two changes lasts at least {findings.min_span_days:.0f} days. The label shares followed: "
    f"{followed}.")
if inputs.sample_modulus > 1:
    st.caption(f"Large store: agreement, annotator and suspect series are read on a 1-in-"
               f"{inputs.sample_modulus} sample of items (all their ratings); the label mix counts every "
               "event.")

# Only the open tab runs and is sent (a tab click reruns the page on cached data): ten people on the
# page pay for what each looks at, not for every tab.
mix, series_tab, versions, people, relabels, shift = st.tabs(
    ["Label mix", "Change points", "Guideline versions", "Annotators", "Re-labels", "Distribution shift"],
    key="drift.tab", on_change="rerun",
)
if mix.open:
    with mix:
        counts = inputs.label_counts
        order = loaders.label_order(src)
        if findings.other_label is not None:
            counts = drift.collapse_labels(counts, findings.labels, findings.other_label)
            order = [*order, findings.other_label]
        changes = [when for cp in findings.change_points for when in cp.changes["window"]]
        figure = built(charts.label_mix_figure, counts, guidelines=inputs.guidelines, changes=changes,
                       order=order)
        chart_panel.show(figure, counts, filename=f"label_mix_by_{grain}.csv", key="drift.mix")
if series_tab.open:
    with series_tab:
        if not findings.change_points:
            st.caption("No series changed significantly.")
        for i, cp in enumerate(findings.change_points):
            figure = built(charts.series_figure, cp, guidelines=inputs.guidelines, window=grain)
            chart_panel.show(figure, cp.values, filename=f"change_points_{i}_by_{grain}.csv",
                             key=f"drift.series{i}")
        if findings.change_points:
            st.markdown("**Every change reported**")
            _table(drift.changes_table(findings), "changes", key="drift.changes", filename="changes.csv")
        st.markdown("**Every series tested**")
        method = findings.change_points[0].method if findings.change_points else "binary segmentation"
        st.caption(f"Method: {method}; a series is flagged when its Benjamini–Hochberg q < "
                   f"{findings.fdr:.0%}.")
        _table(findings.series, "series", key="drift.tested", filename=f"series_tested_{findings.grain}.csv")
if versions.open:
    with versions:
        if findings.guidelines.empty:
            st.caption("No guideline version changed within the filtered events.")
        else:
            chart_panel.show(built(charts.guideline_figure, findings.guidelines), findings.guidelines,
                             filename="guideline_versions.csv", key="drift.versions")
            _table(findings.guidelines, "guidelines", key="drift.versions_table",
                   filename="guideline_comparison.csv")
if people.open:
    with people:
        table = findings.annotators.annotators
        flagged = table.loc[table["declining"] | (table["drops"] > 0), "annotator_id"].tolist()
        busiest = table.sort_values("loo_items", ascending=False)["annotator_id"].tolist()
        shown = list(dict.fromkeys(flagged + busiest))[:9]
        figure = built(charts.annotators_figure, findings.annotators.windows, shown, flagged=set(flagged))
        chart_panel.show(figure, findings.annotators.windows, filename=f"annotators_by_{findings.grain}.csv",
                         key="drift.people")
        _table(table, "annotators", key="drift.annotators", filename="annotator_trends.csv")
        if len(findings.onboarding):
            st.markdown("**New cohorts: their first weeks against the rest and against their later weeks**")
            _table(findings.onboarding, "onboarding", key="drift.onboarding", filename="onboarding.csv")
if relabels.open:
    with relabels:
        if findings.retest is None:
            st.caption("No item was labeled twice by the same annotator here.")
        else:
            retest = findings.retest
            st.text(f"{retest.pairs:,} re-labels, {retest.changed:,} changed "
                    f"({retest.changed / retest.pairs:.0%}); trend with the gap: one-sided p = "
                    f"{charts.p_text([retest.trend_p])[0]}.")
            chart_panel.show(built(charts.retest_figure, retest.by_gap), retest.by_gap,
                             filename="retest_by_gap.csv", key="drift.retest")
if shift.open:
    with shift:
        reference = drift_words.shift_reference(findings.shift)
        st.caption(f"Each week's label mix against the {reference}, or against an "
                   "expected distribution you declare: chi-square (corrected for labels clustering within "
                   "items), Cramér's V and Jensen–Shannon distance; q-values across weeks. Labels: "
                   f"{followed}.")
        declared = st.text_area("Expected distribution (optional): one `label: share` per line",
                                key="drift.expected", placeholder="0: 0.1\n1: 0.1\n…")
        table = findings.shift
        if declared.strip():
            try:
                table = drift.declared_shift(findings, drift.parse_expected(declared))
            except ValueError as exc:  # our own message, quoting the line as typed
                st.warning(safe_text.md(exc))
        _table(table, "shift", key="drift.shift", filename="distribution_shift.csv")
