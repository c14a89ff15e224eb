"""An import's validation report: counts, rejects by reason, a sample of rejected rows and the summary."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analytics.ingest.pipeline import ValidationReport
from ui import csv_download
from ui.safe_text import md

#: Rejected rows shown on screen; the download carries every reject the report holds.
SAMPLE_ROWS = 100


def show(report: ValidationReport, *, key: str) -> None:
    """Render ``report``; every string from the file goes through ``st.text`` or a table, never Markdown.

    Parameters
    ----------
    report : analytics.ingest.pipeline.ValidationReport
        From ``analytics.ingest.pipeline.prepare`` (before writing) or ``commit`` (after).
    key : str
        Prefix of the widgets' keys.
    """
    read, accepted, rejected = st.columns(3, border=True)
    read.metric("Rows read", f"{report.rows_read:,}")
    accepted.metric("Rows accepted", f"{report.rows_accepted:,}")
    rejected.metric("Rows rejected", f"{report.rows_rejected:,}")
    st.text(report.summary())
    for warning in report.warnings:
        st.warning(md(warning), icon=":material/warning:")
    if report.items is not None:
        meaning = {"new": "new", "changed": "changed (earlier values kept in the history)",
                   "unchanged": "unchanged"}
        counts = pd.DataFrame([[meaning[k], n] for k, n in report.items.items()], columns=["items", "count"])
        st.dataframe(counts, hide_index=True, key=f"{key}.items")
    if report.rejected_by_reason:
        st.markdown("**Rejected rows by reason**")
        reasons = pd.DataFrame(list(report.rejected_by_reason.items()), columns=["reason", "rows"])
        st.dataframe(reasons, hide_index=True, key=f"{key}.reasons")
    if report.rule_hits_by_rule:
        st.markdown("**Rule warnings** (the rows are imported all the same)")
        counts = pd.DataFrame(list(report.rule_hits_by_rule.items()), columns=["rule", "rows"])
        st.dataframe(counts, hide_index=True, key=f"{key}.rules")
        st.dataframe(report.rule_hits.head(SAMPLE_ROWS), hide_index=True, key=f"{key}.rule-hits")
        csv_download.show(report.rule_hits, filename="rule_warnings.csv", key=f"{key}.rule-hits-csv",
                          label="Download rule warnings (CSV)")
    if not report.rejects.empty:
        st.markdown(f"**Sample of rejected rows** (first {min(SAMPLE_ROWS, len(report.rejects)):,}; "
                    f"row_number is the {report.unit} in the file)")
        st.dataframe(report.rejects.head(SAMPLE_ROWS), hide_index=True, key=f"{key}.rejects")
        csv_download.show(
            report.rejects, filename="rejected_rows.csv", key=f"{key}.rejects-csv",
            label="Download rejected rows (CSV)",
        )
