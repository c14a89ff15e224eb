"""A chart with its data: the plotly figure, then a CSV download of the frame it was drawn from."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ui import csv_download


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
