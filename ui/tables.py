"""Readable tables: human column labels, formatted numbers, the key columns first and a column guide.

A page describes its table once, as a mapping of column name to ``Column``, and calls ``show``. The frame
keeps its machine names (the CSV download and tests read them); only the display changes:

- ``label`` is the header, ``help`` its tooltip and its line in the guide under the table;
- ``format`` (one of ``FORMATS``) picks how numbers are written: ``count`` 1,234; ``percent`` a share in
  [0, 1] as 53.1% (the grid is sent the share × 100, so it sorts the same); ``ratio`` 2.41×; ``p_value``
  two significant digits (0.034, 1.2e-12: never a row of zeros); ``signed`` +123.9; ``decimal`` 3.14;
  ``flag`` a checkbox; ``text`` as is;
- ``key`` columns come first, in the order described, then the others in the order described; a column
  of the frame that is not described is not shown.

``interval_text`` adds a "53.1%–66.5%" column from two bound columns, so an interval reads as one value.

Example (a page)::

    COLUMNS = {
        "slice": tables.Column("Slice", "The items the row describes.", key=True),
        "noise_rate": tables.Column("Noise rate", "Share of measured items that are noisy.", "percent",
                                    key=True),
        "n": tables.Column("Items measured", "Items the rate is over.", "count"),
    }
    tables.show(frame, COLUMNS, key="slices.table")
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

#: Number formats a column may ask for (see the module docstring).
FORMATS = ("text", "count", "percent", "ratio", "p_value", "signed", "decimal", "flag")
_NUMBER_FORMATS = {
    "count": "localized", "percent": "%.1f%%", "ratio": "%.2f×", "p_value": "%.2g", "signed": "%+.1f",
    "decimal": "%.2f",
}


@dataclass(frozen=True)
class Column:
    """How one column is shown: its header, what it means, how its values are written, and whether it
    is a key column (shown first)."""

    label: str
    help: str
    format: str = "text"
    key: bool = False

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"unknown format {self.format!r}; use one of {', '.join(FORMATS)}")


def column_order(frame: pd.DataFrame, columns: Mapping[str, Column]) -> list[str]:
    """The described columns of ``frame``: key columns first, each group in the order described.

    Examples
    --------
    >>> frame = pd.DataFrame(columns=["a", "b", "c", "raw"])
    >>> column_order(frame, {"a": Column("A", "."), "b": Column("B", ".", key=True), "c": Column("C", ".")})
    ['b', 'a', 'c']
    """
    present = [name for name in columns if name in frame.columns]
    return [n for n in present if columns[n].key] + [n for n in present if not columns[n].key]


def column_config(columns: Mapping[str, Column]) -> dict:
    """``st.dataframe``'s ``column_config``: a labelled, formatted column per description."""
    config = {}
    for name, column in columns.items():
        if column.format == "flag":
            config[name] = st.column_config.CheckboxColumn(column.label, help=column.help)
        elif column.format == "text":
            config[name] = st.column_config.TextColumn(column.label, help=column.help)
        else:
            config[name] = st.column_config.NumberColumn(
                column.label, help=column.help, format=_NUMBER_FORMATS[column.format]
            )
    return config


def interval_text(frame: pd.DataFrame, low: str, high: str, *, into: str) -> pd.DataFrame:
    """``frame`` with a text column ``into`` reading "53.1%–66.5%" from the shares ``low`` and ``high``
    (empty where either is missing).

    Examples
    --------
    >>> frame = pd.DataFrame({"lo": [0.531, None], "hi": [0.665, 0.2]})
    >>> interval_text(frame, "lo", "hi", into="ci")["ci"].tolist()
    ['53.1%–66.5%', '']
    """
    lows, highs = frame[low].to_numpy(float), frame[high].to_numpy(float)
    text = [
        "" if np.isnan(a) or np.isnan(b) else f"{a:.1%}–{b:.1%}"
        for a, b in zip(lows, highs, strict=True)
    ]
    return frame.assign(**{into: pd.Series(text, index=frame.index, dtype=object)})


def show(frame: pd.DataFrame, columns: Mapping[str, Column], *, key: str, guide: bool = True,
         height: int | None = None) -> None:
    """Draw ``frame`` as described by ``columns``, with a column guide in an expander under it.

    Parameters
    ----------
    frame : DataFrame
        Shown without its index; its values are data, drawn as text by the grid (never as Markdown). Not
        changed: the grid gets a copy with the ``percent`` columns × 100.
    columns : mapping of str to Column
        The columns to show, by name in ``frame``; the labels and help are the page's own text.
    key : str
        Widget key of the table; the guide's expander is keyed ``<key>.guide``.
    guide : bool
        Add the column guide: every shown column's label and what it means.
    height : int or None
        Pixels; None lets Streamlit choose.
    """
    order = column_order(frame, columns)
    shares = [name for name in order if columns[name].format == "percent"]
    frame = frame.assign(**{name: frame[name] * 100 for name in shares})
    st.dataframe(frame, hide_index=True, key=key, column_order=order, column_config=column_config(columns),
                 height=height if height is not None else "auto")
    if guide:
        with st.expander("What the columns mean", key=f"{key}.guide"):
            st.markdown("\n".join(f"- **{columns[name].label}**: {columns[name].help}" for name in order))
