"""Overview: the verdict, the alerts, KPI and label-noise tiles, activity by cohort, agreement over time,
label mix, labels per item."""

import streamlit as st

from analytics.core.schema import TIME_GRAINS
from analytics.monitoring.alerts import AlertConfigError
from analytics.narrative import overview as overview_words
from charts import overview as charts
from ui import alerts_panel, chart_panel, empty_state, filters, kpi_tiles, loaders, noise_tiles
from ui.chart_panel import built

flt = filters.current()
src = loaders.source()
st.title("Overview")

summary, comparison = loaders.summary(src, flt)
if summary.events == 0 and loaders.filter_options(src)["first_date"] is None:
    empty_state.show(
        "No label events in this store yet",
        "The Overview counts label events per day and cohort, the label mix, how many items have labels from "
        "two or more annotators and how often those annotators agree. Import a file of label events "
        "(`item_id, annotator_id, label, labeled_at`) to see them.",
        key="overview", cli_hint=True,
    )
elif summary.events == 0:
    empty_state.show(
        "No label events match the filters",
        "Widen the date window, pick other cohorts or clear the slice in the sidebar.",
        key="overview-filtered", import_link=False,
    )
else:
    runs_version = loaders.runs_version(src)
    runs = loaders.detection_runs(src, runs_version)
    noise = loaders.noise_trend(src, flt, None if runs.empty else runs["run_id"].iloc[0])
    with st.container(border=True, key="verdict"):
        for line in overview_words.verdict(summary, comparison):
            st.text(line)
        noise_line = overview_words.noise_sentence(noise, comparison)
        if noise_line:
            st.text(noise_line)
    try:
        report, problem = loaders.alert_report(src, runs_version, *loaders.alert_source(src))
    except AlertConfigError as exc:
        report, problem = None, str(exc)
    alerts_panel.show(report, problem, key="overview", filtered=not flt.is_empty())
    kpi_tiles.show(summary, comparison, key="kpi")
    noise_tiles.show(noise, comparison, key="noise")

    controls = st.columns([3, 2])
    metric = controls[0].segmented_control(
        "Activity metric", list(charts.ACTIVITY_METRICS), format_func=str.capitalize, default="events",
        required=True, key="overview.metric",
    )
    grain = controls[1].segmented_control(
        "Period", list(TIME_GRAINS), format_func=str.capitalize, default="week", required=True,
        key="overview.grain",
    )

    activity = loaders.activity(src, flt, grain, approx_items=summary.estimated)
    chart_panel.show(
        built(charts.activity_figure, activity, metric=metric, grain=grain, order=loaders.cohort_order(src),
              estimated_items=summary.estimated),
        activity,
        filename=f"activity_by_{grain}.csv", key="activity",
    )
    agreement = loaders.agreement_over_time(
        src, flt, grain, sample_modulus=round(1 / summary.agreement_sample_rate)  # the summary's sample
    )
    chart_panel.show(
        built(charts.agreement_figure, agreement, grain=grain), agreement,
        filename=f"agreement_by_{grain}.csv", key="agreement",
    )

    left, right = st.columns(2)
    with left:
        labels = loaders.label_distribution(src, flt)
        chart_panel.show(
            built(charts.label_distribution_figure, labels), labels, filename="label_distribution.csv",
            key="labels",
        )
    with right:
        chart_panel.show(
            built(charts.labels_per_item_figure, summary.labels_per_item, estimated=summary.estimated),
            summary.labels_per_item, filename="labels_per_item.csv", key="per-item",
        )
