"""Reads behind ``python -m analytics summary``: table counts, annotator activity, guideline versions."""

from __future__ import annotations

from analytics.store.connection import Store
from analytics.store.lake import LAYOUT

#: Tables whose row counts the summary reports (fixed names, never user input).
COUNTED_TABLES = (
    "items",
    "item_attributes",
    "annotators",
    "label_events",
    "gold_labels",
    "predictions",
    "label_schema",
    "guidelines",
    "ingest_batches",
    "ingest_rejects",
    "suspects",
    "remediation_actions",
)


def table_counts(store: Store) -> dict[str, int]:
    """Row count of each table in ``COUNTED_TABLES``; for a store that reads a lake, the lake's rows stand
    for the tables it replaces (``analytics.store.lake.LAYOUT``)."""
    read = {} if store.lake is None else {folder.table: folder.view for folder in LAYOUT.values()}
    sql = " UNION ALL ".join(
        f"SELECT '{table}' AS name, count(*) AS n FROM {read.get(table, table)}"  # noqa: S608 - fixed names
        for table in COUNTED_TABLES
    )
    return {name: int(n) for name, n in store.cursor().execute(sql).fetchall()}

