"""A download button offering a DataFrame as CSV; every chart and table uses it for the data behind it.

The CSV is written when the button is pressed (Streamlit's deferred download: ``data`` is a callable run on
the click), not on every run of the page: writing every table of the Drift page as CSV was nearly half of
the server's time per visit, paid by every visitor whether or not they download anything.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.core.csv_export import to_csv


def show(frame: pd.DataFrame, *, filename: str, key: str, label: str = "Download data (CSV)") -> None:
    """Draw a button that downloads ``frame`` as ``filename``.

    Parameters
    ----------
    frame : DataFrame
        Written without its index, UTF-8.
    filename : str
        Suggested file name, ending in ``.csv``.
    key : str
        Widget key, unique on the page.
    label : str
        Button text.
    """
    st.download_button(
        label, lambda: to_csv(frame).encode("utf-8"), file_name=filename, mime="text/csv", key=key,
        icon=":material/download:", on_click="ignore", disabled=frame.empty,
    )
