"""Agreement: the verdict, chance-corrected coefficients with CIs over time, annotators, pairs, confusions."""

import streamlit as st

from analytics.agreement import report as agreement_report
from analytics.core.schema import TIME_GRAINS
from analytics.narrative import agreement as agreement_words
from charts import agreement as charts
from ui import agreement_tiles, annotator_panel, chart_panel, empty_state, filters, loaders
from ui.chart_panel import built

flt = filters.current()
src = loaders.source()
st.title("Agreement")

left, right = st.columns(2)
level = left.segmented_control(
    "Level of measurement (alpha)", ["nominal", "ordinal", "interval", "ratio"], default="nominal",
    required=True, key="agreement.level",
    help="Nominal: labels are categories. Ordinal: ordered (order from the vocabulary or numeric labels). "
    "Interval / ratio: numeric labels.",
)
resample = right.segmented_control(
    "Intervals over", list(agreement_report.RESAMPLING), default="items", required=True,
    format_func=str.capitalize, key="agreement.resample",
    help="Items: how reliable these annotators are on items like these (BCa bootstrap over items). Items and "
    "annotators: how reliable a panel drawn from the same pool would be (annotators resampled too; wider, "
    "and still too short with fewer than 10 annotators).",
)
try:
    head = loaders.agreement_headline(src, flt, level, resample)
except ValueError as exc:  # e.g. ordinal on labels with no declared order: our own message, shown as text
    st.warning(str(exc))
    st.stop()

if not head.overall:
    empty_state.show(
        "No item rated by two or more annotators here",
        "Agreement needs items that several annotators labeled. Widen the filters, or import label events "
        "in which items carry labels from two or more annotators.",
        key="agreement",
    )
    st.stop()

table, cohorts = loaders.annotator_tables(src, flt)
with st.container(border=True, key="agreement-verdict"):
    for line in agreement_words.verdict(head, table, cohorts):
        st.text(line)
agreement_tiles.show(head, key="agreement")
modulus = loaders.agreement_sample(src, flt)
if modulus > 1:
    st.caption(f"Large store: every number on this page is estimated on a 1-in-{modulus} sample of items "
               "(all their ratings); the intervals account for it.")

# Only the open tab runs and is sent (a tab click reruns the page on cached data): ten people on the
# page pay for what each looks at, not for every tab.
over_time, people, pairs, confusion = st.tabs(
    ["Over time", "Annotators", "Annotator pairs", "Label confusion"],
    key="agreement.tab", on_change="rerun",
)
if over_time.open:
    with over_time:
        left, right = st.columns(2)
        grain = left.segmented_control("Period", list(TIME_GRAINS), default="week", required=True,
                                       format_func=str.capitalize, key="agreement.grain")
        split = right.segmented_control("Lines", ["coefficients", "cohort"], default="coefficients",
                                        required=True, format_func=str.capitalize, key="agreement.split")
        frame = loaders.agreement_by(src, flt, grain, level).rename(columns={"grp": "period"})
        series = "metric"
        if split == "cohort":
            by_cohort = loaders.agreement_by_cohort_over_time(src, flt, grain, level)
            frame, series = by_cohort, "cohort"
        figure = built(charts.over_time_figure, frame, grain=grain, guidelines=loaders.guidelines(src),
                                         series=series,
                                         order=loaders.cohort_order(src) if series == "cohort" else None)
        chart_panel.show(figure, frame, filename=f"agreement_by_{grain}.csv", key="agreement-time")
        by_version = loaders.agreement_by(src, flt, "guideline_version", level)
        st.subheader("By guideline version")
        figure = built(charts.group_figure, by_version, title="Agreement by guideline version")
        chart_panel.show(figure, by_version, filename="agreement_by_guideline_version.csv",
                         key="agreement-version")
if people.open:
    with people:
        annotator_panel.show(src, flt, table, cohorts, key="annotators")
if pairs.open:
    with pairs:
        top = st.slider("Annotators shown (every flagged one, then the busiest)", 5, 80, 30,
                        key="agreement.top")
        shown = agreement_report.heatmap_annotators(table, top)
        pair_frame = loaders.pairwise_kappa(src, flt, tuple(shown), 5)
        flagged = dict(zip(table["annotator_id"], table["flags"], strict=True))
        figure = built(charts.pairwise_figure, pair_frame, annotators=shown, flagged=flagged, min_overlap=5)
        chart_panel.show(figure, pair_frame, filename="pairwise_kappa.csv", key="agreement-pairs")
if confusion.open:
    with confusion:
        lift = loaders.label_confusion(src, flt)
        chart_panel.show(built(charts.label_confusion_figure, lift), lift, filename="label_confusion.csv",
                         key="agreement-confusion")
