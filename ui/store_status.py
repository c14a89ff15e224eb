"""Store status: where the store is, how big, which schema version, and how many rows each table holds."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from analytics.store import Store
from ui import loaders


def show(store: Store, src: loaders.Source, *, key: str) -> None:
    """Render the status of ``store``.

    Parameters
    ----------
    store : Store
        The open store (for its path and schema version).
    src : ui.loaders.Source
        Its cache key, for the cached row counts.
    key : str
        Key of the status container.
    """
    with st.container(border=True, key=f"{key}_status"):
        path, size, version = st.columns([3, 1, 1])
        path.markdown("**Store file**")
        path.code(store.path, language=None)
        size.metric("Size on disk", _size(store.path))
        version.metric("Schema version", store.schema_version())
        if store.lake is not None:
            st.markdown("**Parquet lake** (read in place: the rows below for events, items, attributes, "
                        "annotators, gold labels and predictions are the lake's)")
            st.code(store.lake.describe(), language=None)
        counts = pd.DataFrame(list(loaders.table_counts(src).items()), columns=["table", "rows"])
        # as tall as its rows: the default height shows ten and hides the other tables behind a scroll
        st.dataframe(counts, hide_index=True, height="content", key=f"{key}.counts", column_config={
            "rows": st.column_config.NumberColumn("rows", format="localized"),
        })


def _size(path: str) -> str:
    files = [Path(path), Path(path + ".wal")]
    total = sum(f.stat().st_size for f in files if f.exists())
    for unit in ("bytes", "KB", "MB", "GB"):
        if total < 1024 or unit == "GB":
            return f"{total:,.0f} {unit}" if unit == "bytes" else f"{total:,.1f} {unit}"
        total /= 1024
    return f"{total:,.1f} GB"
