"""``ui.chart_panel.built``: a figure is built once per distinct input and shared; a different input, a
different figure; a frame Streamlit would hash by a sample of its rows is never a cache key."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from ui import chart_panel

BUILDS: list[int] = []


def bars(frame: pd.DataFrame, *, title: str) -> go.Figure:
    BUILDS.append(len(frame))
    return go.Figure(go.Bar(x=frame["x"].tolist(), y=frame["y"].tolist()), layout={"title": title})


def test_the_same_input_is_built_once_and_a_changed_one_again():
    chart_panel._built.clear()
    BUILDS.clear()
    frame = pd.DataFrame({"x": ["a", "b"], "y": [1, 2]})
    first = chart_panel.built(bars, frame, title="t")
    again = chart_panel.built(bars, frame.copy(), title="t")  # equal content, another object
    assert again is first and BUILDS == [2]
    changed = chart_panel.built(bars, frame.assign(y=[1, 3]), title="t")
    assert list(changed.data[0].y) == [1, 3] and BUILDS == [2, 2]
    retitled = chart_panel.built(bars, frame, title="u")
    assert retitled.layout.title.text == "u" and len(BUILDS) == 3


def test_a_frame_hashed_by_a_sample_is_built_every_time():
    chart_panel._built.clear()
    BUILDS.clear()
    rows = chart_panel._SAMPLED_ROWS
    frame = pd.DataFrame({"x": range(rows), "y": [0] * rows})
    one = chart_panel.built(bars, frame, title="t")
    other = chart_panel.built(bars, frame.assign(y=[0] * (rows - 1) + [7]), title="t")  # one cell differs
    assert BUILDS == [rows, rows] and other is not one and other.data[0].y[-1] == 7
