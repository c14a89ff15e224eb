"""One download button with its format beside it: a table offered as CSV, Parquet or JSON Lines
(``analytics.core.exports``), and where a page has one, another form of the same data (a run's cleanlab
``.npz``).

The file is written when the button is pressed (Streamlit's deferred download: ``data`` is a callable run on
the click), never on a run of the page; changing the format is one cheap run that only relabels the
button. Downloads only read, so every role gets them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd
import streamlit as st

from analytics.core import exports

#: A table, or a function returning it when the button is pressed (for tables a page does not hold).
Table = pd.DataFrame | Callable[[], pd.DataFrame]


def payload(table: Table, fmt: str, others: Mapping[str, Callable[[], bytes]] | None = None) -> bytes:
    """The bytes the button downloads as ``fmt``: ``table`` written by ``analytics.core.exports.to_bytes``,
    or ``others[fmt]()``."""
    if others and fmt in others:
        return others[fmt]()
    return exports.to_bytes(table() if callable(table) else table, fmt)


def show(table: Table, *, stem: str, key: str, label: str = "Download data",
         others: Mapping[str, Callable[[], bytes]] | None = None,
         other_labels: Mapping[str, str] | None = None, disabled: bool = False,
         help: str | None = None) -> str:
    """Draw a format choice (``exports.FORMATS``, then ``others``) and one download button.

    Parameters
    ----------
    table : DataFrame or callable returning one
        The data; a callable is run only when the button is pressed.
    stem : str
        The file name without its extension (``labels_v3`` → ``labels_v3.parquet``).
    key : str
        The button's widget key; the format choice's is ``key + ".format"``.
    label : str
        The button's text; the chosen format's name follows it in brackets ("Download labels (CSV)").
    others : mapping of str to callable returning bytes, optional
        More formats (``exports.NAMES`` names them, ``exports.EXTENSIONS`` their extension), e.g.
        ``{"npz": arrays.to_npz}``.
    other_labels : mapping of str to str, optional
        The button's whole text for some of ``others`` (when it is not ``label``'s data in another form).
    disabled : bool
        Draw the button disabled for the table's formats (e.g. an empty table); ``others`` stay enabled.
    help : str, optional
        The button's tooltip.

    Returns
    -------
    str
        The format chosen.
    """
    formats = [*exports.FORMATS, *(others or {})]
    if st.session_state.get(f"{key}.format", formats[0]) not in formats:
        del st.session_state[f"{key}.format"]  # a format this data does not offer (another run's .npz)
    with st.container(horizontal=True, vertical_alignment="center", key=f"{key}.box"):
        fmt = st.segmented_control("Format", formats, default=formats[0], required=True, key=f"{key}.format",
                                   format_func=lambda f: exports.NAMES[f], label_visibility="collapsed")
        fmt = fmt if fmt in formats else formats[0]
        text = (other_labels or {}).get(fmt) or f"{label} ({exports.NAMES[fmt]})"
        st.download_button(
            text, lambda: payload(table, fmt, others), file_name=f"{stem}.{exports.EXTENSIONS[fmt]}",
            mime=exports.MIME_TYPES[fmt], key=key, icon=":material/download:", on_click="ignore",
            disabled=disabled and fmt in exports.FORMATS, help=help,
        )
    return fmt
