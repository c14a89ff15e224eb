"""Data: store status, the import batches (and their retraction), and every rejected row with its reason."""

import streamlit as st

from ui import csv_download, empty_state, lake_statistics, loaders, retraction, store_status
from ui import store as app_store

src = loaders.source()
st.title("Data")
store_status.show(app_store.current(), src, key="store")
lake_statistics.show(app_store.current(), src, key="lake_stats")

st.subheader("Import batches")
batches = loaders.import_batches(src)
if batches.empty:
    empty_state.show(
        "Nothing imported yet",
        "Every import becomes a batch here, with the rows it read, accepted and rejected.",
        key="batches", cli_hint=True,
    )
else:
    st.dataframe(batches, hide_index=True, key="batches.table")
    csv_download.show(batches, filename="import_batches.csv", key="batches.csv")
    retraction.show(src, batches, key="retract")

st.subheader("Rejected rows")
with_rejects = batches.loc[batches["rows_rejected"] > 0, "batch_id"].tolist()
if not with_rejects:
    empty_state.show(
        "No rejected rows",
        "Rows that fail validation (a missing value, an unknown label, a bad timestamp, a duplicate event) "
        "are kept here with their reason, so nothing is lost.",
        key="rejects", import_link=False,
    )
else:
    batch_id = st.selectbox(
        "Batch", [None, *with_rejects], key="rejects.batch",
        format_func=lambda b: "All batches" if b is None else b,
    )
    rejects = loaders.rejects(src, batch_id)
    st.caption(f"{len(rejects):,} rejected rows; the table shows the first 1,000, the download has them all.")
    st.dataframe(rejects.head(1000), hide_index=True, key="rejects.table")
    csv_download.show(rejects, filename="rejected_rows.csv", key="rejects.csv")
