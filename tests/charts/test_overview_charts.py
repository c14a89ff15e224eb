"""Structure of the Overview figures: traces, names, axis titles, the CI band."""

import pandas as pd
import pytest

from charts import overview as charts
from charts import theme

PERIODS = pd.to_datetime(["2026-03-02", "2026-03-09", "2026-03-16"])


@pytest.fixture
def activity():
    return pd.DataFrame({
        "period": list(PERIODS) * 2,
        "cohort": ["crowd"] * 3 + ["expert"] * 3,
        "events": [10, 12, 9, 3, 4, 5],
        "items": [8, 9, 7, 3, 4, 4],
        "annotators": [5, 5, 4, 1, 1, 2],
        "labels": [4, 4, 3, 2, 3, 3],
    })


@pytest.fixture
def agreement():
    return pd.DataFrame({
        "period": PERIODS,
        "items_multi": [40, 1, 55],
        "pa_mean": [0.8, 1.0, 0.7],
        "pa_sd": [0.2, float("nan"), 0.25],
        "ci_low": [0.74, float("nan"), 0.63],
        "ci_high": [0.86, float("nan"), 0.77],
    })


@pytest.mark.parametrize("metric", ["events", "items", "annotators", "labels"])
def test_activity_has_one_trace_per_cohort_with_the_chosen_metric(activity, metric):
    fig = charts.activity_figure(activity, metric=metric, grain="week")
    assert [t.name for t in fig.data] == ["crowd", "expert"] and fig.layout.showlegend
    assert list(fig.data[1].y) == activity.loc[activity["cohort"] == "expert", metric].tolist()
    assert fig.layout.yaxis.title.text == charts.ACTIVITY_METRICS[metric]
    assert fig.layout.xaxis.title.text == charts.GRAIN_TITLES["week"]


@pytest.mark.parametrize(("rse", "said"), [(0.0081, " (estimated, ±2% at 95%)"),
                                            (0.034, " (estimated, ±7% at 95%)"), (None, " (estimated)")])
def test_estimated_items_say_their_margin_on_the_axis(activity, rse, said):
    if rse is not None:
        activity.attrs["items_rse"] = rse
    fig = charts.activity_figure(activity, metric="items", estimated_items=True)
    assert fig.layout.yaxis.title.text == charts.ACTIVITY_METRICS["items"] + said
    assert fig.data[0].hovertemplate.startswith("≈")
    events = charts.activity_figure(activity, metric="events", estimated_items=True)
    assert events.layout.yaxis.title.text == charts.ACTIVITY_METRICS["events"]


def test_activity_cohort_colours_follow_the_theme(activity):
    fig = charts.activity_figure(activity)
    colours = theme.color_map(["crowd", "expert"])
    assert [t.line.color for t in fig.data] == [colours["crowd"], colours["expert"]]


def test_activity_rejects_an_unknown_metric(activity):
    with pytest.raises(ValueError, match="unknown metric 'speed'"):
        charts.activity_figure(activity, metric="speed")


def test_agreement_band_spans_consecutive_periods_as_one_polygon(agreement):
    whole = agreement.drop(index=1)
    (band, _mean) = charts.agreement_figure(whole).data
    assert list(band.x) == [PERIODS[0], PERIODS[2], PERIODS[2], PERIODS[0]]
    assert list(band.y) == [0.86, 0.77, 0.63, 0.74]


def test_agreement_draws_the_mean_inside_a_filled_ci_band(agreement):
    fig = charts.agreement_figure(agreement, grain="week")
    *bands, mean = fig.data
    # the middle period has no interval, so the band breaks into two pieces instead of bridging it
    assert [b.name for b in bands] == ["95% CI", "95% CI"] and mean.name == "Raw agreement"
    assert [b.fill for b in bands] == ["toself", "toself"]
    assert [b.showlegend for b in bands] == [True, False]
    assert list(bands[0].y) == [0.86, 0.74] and list(bands[1].y) == [0.77, 0.63]
    assert list(mean.y) == [0.8, 1.0, 0.7]
    assert fig.layout.yaxis.tickformat == ".0%"
    assert tuple(fig.layout.yaxis.range) == (0, 1.02)
    assert fig.layout.yaxis.title.text == "Raw agreement"


def test_label_distribution_keeps_numeric_labels_categorical():
    frame = pd.DataFrame({"label": ["7", "1", "10"], "events": [30, 20, 5], "share": [0.6, 0.3, 0.1]})
    fig = charts.label_distribution_figure(frame)
    (bar,) = fig.data
    assert list(bar.x) == ["7", "1", "10"] and list(bar.y) == [30, 20, 5]
    assert fig.layout.xaxis.type == "category"
    assert (fig.layout.xaxis.title.text, fig.layout.yaxis.title.text) == ("Label", "Label events")


def test_labels_per_item_mutes_items_with_a_single_label():
    frame = pd.DataFrame({"n_labels": [1, 2, 3], "items": [5, 40, 12]})
    (bar,) = charts.labels_per_item_figure(frame).data
    assert list(bar.x) == ["1", "2", "3"]
    assert list(bar.marker.color) == [theme.MUTED, theme.ACCENT, theme.ACCENT]


@pytest.mark.parametrize(
    ("build", "columns"),
    [
        (charts.activity_figure, ["period", "cohort", "events", "items", "annotators", "labels"]),
        (charts.agreement_figure, ["period", "items_multi", "pa_mean", "pa_sd", "ci_low", "ci_high"]),
        (charts.label_distribution_figure, ["label", "events", "share"]),
        (charts.labels_per_item_figure, ["n_labels", "items"]),
    ],
)
def test_every_builder_accepts_an_empty_frame(build, columns):
    fig = build(pd.DataFrame({c: [] for c in columns}))
    assert fig.layout.title.text
    assert fig.layout.template.layout.colorway == theme.PALETTE


def test_ten_classes_get_ten_colours_and_small_sets_keep_the_main_palette():
    assert len(set(theme.color_map([str(d) for d in range(10)]).values())) == 10
    assert list(theme.color_map(["b", "a"]).values()) == [theme.PALETTE[0], theme.PALETTE[1]]


def _values(ys) -> list:
    """A trace's y values with gaps (NaN) as None."""
    return [None if y != y else y for y in ys]


def test_activity_colours_follow_the_stores_cohort_order(activity):
    fig = charts.activity_figure(activity, order=["vendor", "crowd", "expert"])
    # crowd keeps the second colour of the store's order even when vendor is filtered out
    assert [(t.name, t.line.color) for t in fig.data] == [("crowd", theme.PALETTE[1]),
                                                           ("expert", theme.PALETTE[2])]


def test_a_partial_last_week_is_dotted_and_hollow_not_a_drop(activity):
    partial = activity.assign(partial=activity["period"] == PERIODS[-1])
    fig = charts.activity_figure(partial, metric="events", grain="week")
    crowd = [t for t in fig.data if t.legendgroup == "crowd"]
    solid, dotted, hollow = crowd
    assert _values(solid.y) == [10, 12, None]  # the solid line stops before the partial week
    assert dotted.line.dash == charts.PARTIAL_DASH and _values(dotted.y) == [None, 12, 9]
    assert hollow.marker.symbol == charts.PARTIAL_SYMBOL and list(hollow.y) == [9]
    assert "(partial period)" in hollow.hovertemplate
    assert not dotted.showlegend and not hollow.showlegend
    assert fig.data[-1].name == "partial week" and fig.data[-1].line.dash == charts.PARTIAL_DASH
    assert "partial week (from 2026-03-16)" in fig.layout.title.text


def test_without_partial_periods_nothing_is_dotted(activity):
    fig = charts.activity_figure(activity.assign(partial=False), grain="week")
    assert [t.name for t in fig.data] == ["crowd", "expert"]
    assert "partial" not in fig.layout.title.text


def test_a_partial_period_of_agreement_is_marked_too(agreement):
    fig = charts.agreement_figure(agreement.assign(partial=[False, False, True]))
    hollow = fig.data[-2]
    assert hollow.marker.symbol == charts.PARTIAL_SYMBOL and list(hollow.y) == [0.7]
    assert list(hollow.customdata[0]) == [55, 0.63, 0.77]
    assert fig.data[-1].name == "partial week"


def test_label_distribution_pools_labels_beyond_the_limit_keeping_every_event():
    labels = [f"c{k}" for k in range(1000)]
    events = list(range(2000, 1000, -1))
    total = sum(events)
    frame = pd.DataFrame({"label": labels, "events": events, "share": [e / total for e in events]})
    fig = charts.label_distribution_figure(frame)
    (bar,) = fig.data
    assert len(bar.x) == charts.MAX_LABEL_BARS + 1
    assert list(bar.x[:-1]) == labels[:charts.MAX_LABEL_BARS] and bar.x[-1] == "970 other labels"
    assert sum(bar.y) == total and bar.y[-1] == sum(events[charts.MAX_LABEL_BARS:])
    assert bar.customdata[-1][0] == pytest.approx(sum(events[charts.MAX_LABEL_BARS:]) / total)
    assert list(bar.marker.color) == [theme.ACCENT] * charts.MAX_LABEL_BARS + [theme.MUTED]
    assert "The 30 most frequent of 1,000 labels apart; the other 970 pooled" in fig.layout.title.text
    few = charts.label_distribution_figure(frame.head(charts.MAX_LABEL_BARS))
    assert list(few.data[0].x) == labels[:charts.MAX_LABEL_BARS] and "pooled" not in few.layout.title.text
