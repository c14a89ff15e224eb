"""Structure of the Agreement page's figures: traces, bands, markers, empty inputs."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from charts import agreement as charts


def _over_time():
    periods = pd.to_datetime(["2024-01-01", "2024-01-08", "2024-01-15"])
    return pd.DataFrame({
        "period": list(periods) * 2, "metric": ["krippendorff_alpha"] * 3 + ["gwet_ac1"] * 3,
        "value": [0.7, 0.6, 0.65, 0.72, 0.61, 0.66], "ci_low": [0.6, np.nan, 0.55, 0.62, 0.5, 0.56],
        "ci_high": [0.8, np.nan, 0.75, 0.82, 0.7, 0.76], "n_items": [40, 1, 35, 40, 30, 35],
    })


def test_over_time_draws_bands_split_at_gaps_lines_and_guideline_markers():
    guidelines = pd.DataFrame({"version": ["v2"], "effective_at": [dt.datetime(2024, 1, 10)]})
    fig = charts.over_time_figure(_over_time(), grain="week", guidelines=guidelines)
    lines = [t for t in fig.data if t.mode == "lines+markers"]
    bands = [t for t in fig.data if t.fill == "toself"]
    assert sorted(t.name for t in lines) == ["Gwet's AC1", "Krippendorff's alpha"]
    # alpha's band breaks at the period without an interval: two polygons; AC1's is one
    assert len(bands) == 3
    assert len(fig.layout.shapes) == 1 and fig.layout.annotations[0].text == "guideline v2"


def test_reliability_marks_flagged_annotators_with_crosses():
    table = pd.DataFrame({
        "annotator_id": ["a", "b"], "cohort": ["crowd", "crowd"], "items": [50, 80],
        "loo_agreement": [0.1, 0.8], "loo_low": [0.05, 0.7], "loo_high": [0.2, 0.9],
        "flags": [["near chance"], []],
    })
    (trace,) = charts.annotator_figure(table).data
    # unflagged first, so the legend shows the cohort as a plain circle
    assert list(trace.marker.symbol) == ["circle", "x"]
    assert list(trace.customdata[:, 0]) == ["b", "a"]
    assert list(trace.error_y.arrayminus) == pytest.approx([0.8 - 0.7, 0.1 - 0.05])


def test_pairwise_heatmap_is_symmetric_with_blank_gaps():
    frame = pd.DataFrame({"annotator_a": ["a", "a"], "annotator_b": ["b", "c"], "n_items": [12, 30],
                          "kappa": [0.5, -0.2]})
    (heat,) = charts.pairwise_figure(frame).data
    z = np.array(heat.z, dtype=float)
    assert z[0, 1] == z[1, 0] == 0.5 and z[0, 2] == -0.2 and np.isnan(z[1, 2])


def test_label_confusion_blanks_the_diagonal_and_shows_log_lift():
    frame = pd.DataFrame({"label_a": ["1", "1", "7", "7"], "label_b": ["1", "7", "1", "7"],
                          "pairs": [10, 4, 4, 10], "expected": [7, 7, 7, 7], "lift": [1.4, 4.0, 4.0, 1.4]})
    (heat,) = charts.label_confusion_figure(frame).data
    z = np.array(heat.z, dtype=float)
    assert np.isnan(z[0, 0]) and z[0, 1] == 2.0


def test_every_builder_accepts_an_empty_frame():
    columns = ("period", "metric", "value", "ci_low", "ci_high", "n_items", "grp")
    empty = pd.DataFrame({c: [] for c in columns})
    assert not charts.over_time_figure(empty).data
    assert not charts.group_figure(empty, title="t").data
    assert not charts.annotator_figure(pd.DataFrame(
        {c: [] for c in ("annotator_id", "cohort", "items", "loo_agreement", "loo_low", "loo_high", "flags")}
    )).data
    assert charts.pairwise_figure(pd.DataFrame(
        {c: [] for c in ("annotator_a", "annotator_b", "n_items", "kappa")})).data[0].z.size == 0


def _table(annotators, cohorts, items, loo_items=None, flags=None):
    n = len(annotators)
    return pd.DataFrame({
        "annotator_id": annotators, "cohort": cohorts, "items": items,
        "loo_items": loo_items if loo_items is not None else items, "loo_agreement": [0.8] * n,
        "loo_low": [0.7] * n, "loo_high": [0.9] * n, "flags": flags if flags is not None else [[]] * n,
    })


def test_a_handful_of_new_rows_moves_neither_colours_nor_axes():
    """Two new 'inhouse' annotators with 2 items each: the cohorts keep their colours and the x-axis its
    type and lower bound; the newcomers are drawn as open circles (too few items to test)."""
    order = ["crowd", "expert", "vendor"]
    before = charts.annotator_figure(
        _table(["a", "b", "c"], ["crowd", "expert", "vendor"], [400, 120, 90]), cohort_order=order)
    after = charts.annotator_figure(
        _table(["a", "b", "c", "n1", "n2"], ["crowd", "expert", "vendor", "inhouse", "inhouse"],
               [400, 120, 90, 2, 2]), cohort_order=[*order, "inhouse"])
    colour = {t.name: t.marker.color for t in before.data}
    assert all(colour[t.name] == t.marker.color for t in after.data if t.name in colour)
    assert before.layout.xaxis.type == after.layout.xaxis.type == "log"
    assert tuple(before.layout.xaxis.range) == tuple(after.layout.xaxis.range)
    assert after.layout.xaxis.range[0] <= np.log10(1)  # one item is on the chart
    (inhouse,) = [t for t in after.data if t.name == "inhouse"]
    assert list(inhouse.marker.symbol) == ["circle-open", "circle-open"]


def test_pairwise_heatmap_tells_no_shared_items_from_kappa_zero_and_keeps_flagged_annotators():
    frame = pd.DataFrame({"annotator_a": ["a", "a"], "annotator_b": ["b", "s"], "n_items": [40, 12],
                          "kappa": [0.0, 0.6]})
    fig = charts.pairwise_figure(frame, annotators=["s", "a", "b"], flagged={"s": ["near chance"]})
    (heat,) = fig.data
    z = np.array(heat.z, dtype=float)
    assert z[1, 2] == 0.0 and np.isnan(z[0, 2])  # a×b kappa 0; s×b never shared an item
    # kappa 0 takes a colour of the scale; empty cells show the background, which the scale does not hold
    scale = [c for _, c in heat.colorscale]
    assert fig.layout.plot_bgcolor == charts.NO_DATA and charts.NO_DATA not in scale
    assert all(c.upper() not in ("#FFFFFF", "WHITE") for c in scale)
    assert list(heat.x) == ["s ⚑", "a", "b"]


def test_user_text_reaches_figures_escaped():
    table = _table(["<b>x</b>"], ["<i>c</i>"], [30])
    (trace,) = charts.annotator_figure(table).data
    assert trace.name == "&lt;i&gt;c&lt;/i&gt;" and trace.customdata[0][0] == "&lt;b&gt;x&lt;/b&gt;"
    heat = charts.pairwise_figure(pd.DataFrame({"annotator_a": ["<b>x</b>"], "annotator_b": ["y"],
                                                "n_items": [9], "kappa": [0.2]})).data[0]
    assert "&lt;b&gt;x&lt;/b&gt;" in list(heat.x)


def test_label_confusion_heatmap_draws_the_labels_in_most_pairs_and_says_so():
    labels = [f"c{i}" for i in range(50)]
    frame = pd.DataFrame([(a, b, float(i + j) if a != b else 0.0, 1.0, 1.0, 1)
                          for i, a in enumerate(labels) for j, b in enumerate(labels)],
                         columns=["label_a", "label_b", "pairs", "expected", "lift", "items"])
    fig = charts.label_confusion_figure(frame)
    assert len(fig.data[0].x) == charts.MAX_CONFUSION_LABELS == 30
    assert set(fig.data[0].x) == {f"c{i}" for i in range(20, 50)}  # the 30 with the most pairs
    assert "the 30 labels in most pairs of 50" in fig.layout.title.text


def test_periods_on_few_items_are_hollow_points_off_the_line_and_negative_values_stay_on_the_axis():
    frame = _over_time().assign(value=[0.7, 0.0, 0.65, 0.72, 0.61, 0.66],
                                ci_low=[0.6, np.nan, -0.3, 0.62, 0.5, 0.56])
    fig = charts.over_time_figure(frame, grain="week")
    alpha_line = next(t for t in fig.data if t.mode == "lines+markers" and t.name == "Krippendorff's alpha")
    assert np.isnan(alpha_line.y[1]) and alpha_line.y[0] == 0.7  # the one-item week leaves the line
    (hollow,) = [t for t in fig.data if t.mode == "markers"]
    assert list(hollow.y) == [0.0] and hollow.marker.color == "white"
    assert "hollow points: fewer than 10 items" in fig.layout.title.text
    assert fig.layout.yaxis.range[0] <= -0.35  # the interval down to -0.3 is drawn, not clipped at -0.05


def test_a_thin_periods_interval_is_a_whisker_not_a_band_and_does_not_stretch_the_axis():
    frame = _over_time().assign(value=[0.7, 0.0, 0.65, 0.72, 0.61, 0.66],
                                ci_low=[0.6, -1.0, 0.55, 0.62, 0.5, 0.56],
                                ci_high=[0.8, 1.0, 0.75, 0.82, 0.7, 0.76])
    fig = charts.over_time_figure(frame, grain="week")
    alpha_bands = [t for t in fig.data if t.fill == "toself" and t.legendgroup == "krippendorff_alpha"]
    assert len(alpha_bands) == 2 and min(min(t.y) for t in alpha_bands) == 0.55  # broken at the thin week
    (hollow,) = [t for t in fig.data if t.mode == "markers"]
    assert list(hollow.error_y.array) == [1.0] and list(hollow.error_y.arrayminus) == [1.0]
    assert -0.1 < fig.layout.yaxis.range[0] < 0  # the -1 whisker runs past the axis, the bands do not
