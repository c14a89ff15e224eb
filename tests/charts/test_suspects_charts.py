"""Figures of the Suspects page: labels are named categories in vocabulary order with every event drawn, ties
stacked; clusters are sorted, named bars that carry their id for selection."""

from __future__ import annotations

import numpy as np
import pandas as pd

from charts import suspects as charts


def _events(times: list[str], labels: list[str], cohorts: list[str] | None = None) -> pd.DataFrame:
    n = len(times)
    return pd.DataFrame({
        # microseconds, as DuckDB returns timestamps: the stacking must not read them as nanoseconds
        "labeled_at": pd.to_datetime(times).astype("datetime64[us]"),
        "annotator_id": [f"a{i}" for i in range(n)], "cohort": cohorts or ["crowd"] * n, "label": labels,
        "guideline_version": ["v1"] * n, "skill": [0.9] * n,
    })


def test_events_of_a_label_close_in_time_are_stacked_and_others_keep_their_row():
    # a span of 24 h: events of one label within 36 min (1/40) of each other share no lane
    events = _events(["2026-05-14 00:00", "2026-05-14 00:10", "2026-05-14 00:20", "2026-05-14 06:00",
                      "2026-05-15 00:00"], ["3", "3", "3", "3", "1"])
    assert charts._lanes(events).tolist() == [0.0, 0.16, -0.16, 0.0, 0.0]


def test_the_timeline_names_every_label_in_vocabulary_order_and_marks_given_and_suggested():
    # labels '10' and '2' would sort as text ('10' < '2') and read as numbers on an automatic axis
    events = _events(["2026-05-14 00:00", "2026-05-14 05:00", "2026-05-14 06:00", "2026-05-14 09:00"],
                     ["7", "10", "7", "2"], cohorts=["crowd", "expert", "crowd", "vendor"])
    fig = charts.timeline_figure(events, given="7", suggested="2", order=[str(d) for d in range(11)],
                                 cohort_order=["expert", "crowd", "vendor"])
    axis = fig.layout.yaxis
    assert list(axis.ticktext) == ["2 · suggested (1 label)", "7 · given (2 labels)", "10 (1 label)"]
    assert list(axis.tickvals) == [0, 1, 2] and axis.range == (2.5, -0.5)
    drawn = sorted(round(y) for trace in fig.data for y in trace.y)
    assert drawn == [0, 1, 1, 2]  # every event once, on its label's row
    assert {trace.name for trace in fig.data} == {"crowd", "expert", "vendor"}
    assert {trace.marker.color for trace in fig.data if trace.name == "expert"} == {"#0072B2"}  # order[0]
    assert [round(shape.y0 + 0.45) for shape in fig.layout.shapes] == [0, 1]  # the two bands


def test_an_item_without_given_label_and_events_outside_the_filters():
    events = _events(["2026-05-14 00:00", "2026-05-16 00:00"], ["<b>x</b>", "y"])
    events["in_filter"] = [True, False]
    fig = charts.timeline_figure(events, given=None, suggested="y")
    assert list(fig.layout.yaxis.ticktext) == ["&lt;b&gt;x&lt;/b&gt; (1 label)", "y · suggested (1 label)"]
    hollow = [trace for trace in fig.data if trace.marker.symbol == "circle-open"]
    assert len(hollow) == 1 and hollow[0].name == "crowd (outside the filters)"
    assert len(fig.layout.shapes) == 1


def test_every_cluster_is_a_named_bar_largest_first_carrying_its_id():
    clusters = pd.DataFrame({"cluster_id": ["4→9 #1", "7→1 #1", "other #1", "3→8 #1"],
                             "items": [9, 14, 23, 9], "mean_score": [3.1, 1.7, 3.7, 2.2],
                             "size": [9, 14, 23, 12], "context": ["region = east", None, "<i>x</i>", ""]})
    fig = charts.cluster_figure(clusters, selected="7→1 #1")
    (bars,) = fig.data
    assert list(bars.y) == ["other #1", "7→1 #1", "4→9 #1", "3→8 #1"]
    assert list(bars.x) == [23, 14, 9, 9]
    assert [row[0] for row in bars.customdata] == list(bars.y)
    assert bars.text[0] == "23 · score 3.7 · mostly &lt;i&gt;x&lt;/i&gt;" and bars.text[3] == "9 · score 2.2"
    colors = list(bars.marker.color)
    assert colors[1] == charts.HIGHLIGHT and len(set(colors[:1] + colors[2:])) == 1
    assert fig.layout.yaxis.type == "category" and fig.layout.height == 90 + 28 * 4


def test_the_models_bars_name_the_given_label():
    fig = charts.model_figure([{"label": "1", "prob": 0.8}, {"label": "7", "prob": 0.15}], given="7")
    assert list(fig.data[0].y) == ["1", "7 · given"]
    assert np.allclose(fig.data[0].x, [0.8, 0.15])
