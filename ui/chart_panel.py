"""A chart with its data: the plotly figure, then a CSV download of the frame it was drawn from.

``built(charts.x_figure, *args)`` builds a figure once per distinct input and shares it between sessions
and runs: building a figure (plotly validates every property it is given) was a third of the Overview's
server time per visit, paid again by every visitor of the same view.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui import csv_download

#: Streamlit hashes a frame of this many rows or more by a sample of its rows: not a key to trust.
_SAMPLED_ROWS = 50_000


def built(build: Callable[..., go.Figure], *args: Any, **kwargs: Any) -> go.Figure:
    """``build(*args, **kwargs)``, kept for the same inputs (hashed by value, frames included).

    The figure is shared, not copied: draw it, never change it (``st.plotly_chart`` only reads it). A
    figure of a frame of ``_SAMPLED_ROWS`` rows or more is built every time.
    """
    if any(isinstance(arg, pd.DataFrame) and len(arg) >= _SAMPLED_ROWS for arg in (*args, *kwargs.values())):
        return build(*args, **kwargs)
    return _built(build, *args, **kwargs)


@st.cache_resource(ttl=600, max_entries=256, show_spinner=False,
                   hash_funcs={types.FunctionType: lambda f: f"{f.__module__}.{f.__qualname__}"})
def _built(build: Callable[..., go.Figure], *args: Any, **kwargs: Any) -> go.Figure:
    return build(*args, **kwargs)


def show(fig: go.Figure, data: pd.DataFrame, *, filename: str, key: str) -> None:
    """Render ``fig`` and offer ``data`` as ``filename``.

    Parameters
    ----------
    fig : go.Figure
        Built by ``charts``; drawn with its own theme so the app and the HTML report look alike.
    data : DataFrame
        The rows behind the figure.
    filename : str
        CSV file name.
    key : str
        Prefix of the chart's and the button's keys.
    """
    st.plotly_chart(fig, theme=None, key=f"{key}.chart", config={"displaylogo": False})
    csv_download.show(data, filename=filename, key=f"{key}.csv")
