"""Writes and reads of the demo's hidden truth: ``demo_truth``, ``demo_annotator_truth`` and ``store_meta``.

``analytics.synthetic.demo`` decides what to write; the SQL is here. The truth tables are written once per
store, in one
transaction, next to the ingest batches that carry the demo's labels.
"""

from __future__ import annotations

import pandas as pd

from analytics.store.connection import Store


def write_demo_truth(
    store: Store, truth: pd.DataFrame, annotator_truth: pd.DataFrame, meta: dict[str, str]
) -> None:
    """Insert the demo's truth and metadata in one transaction.

    Parameters
    ----------
    store : Store
        A writable store.
    truth : DataFrame
        ``item_id, true_label``.
    annotator_truth : DataFrame
        ``annotator_id, role, accuracy, note``.
    meta : dict of str to str
        ``store_meta`` rows; a key already present raises (the table's key is unique).
    """
    truth_rows = truth[["item_id", "true_label"]]
    annotator_rows = annotator_truth[["annotator_id", "role", "accuracy", "note"]]
    with store.transaction() as cur:
        cur.register("demo_truth_rows", truth_rows)
        cur.register("demo_annotator_rows", annotator_rows)
        cur.execute("INSERT INTO demo_truth SELECT item_id, true_label FROM demo_truth_rows")
        cur.execute(
            "INSERT INTO demo_annotator_truth "
            "SELECT annotator_id, role, accuracy, note FROM demo_annotator_rows"
        )
        cur.executemany("INSERT INTO store_meta (key, value) VALUES (?, ?)", sorted(meta.items()))
        cur.unregister("demo_truth_rows")
        cur.unregister("demo_annotator_rows")


def add_demo_meta(store: Store, meta: dict[str, str]) -> None:
    """Add ``store_meta`` rows in one transaction (a key already present raises)."""
    with store.transaction() as cur:
        cur.executemany("INSERT INTO store_meta (key, value) VALUES (?, ?)", sorted(meta.items()))


def demo_meta(store: Store) -> dict[str, str]:
    """All ``store_meta`` rows as a dict (empty for a store without a demo)."""
    rows = store.cursor().execute("SELECT key, value FROM store_meta ORDER BY key").fetchall()
    return dict(rows)


def demo_truth(store: Store) -> pd.DataFrame:
    """``item_id, true_label`` for every demo item."""
    return store.query("SELECT item_id, true_label FROM demo_truth ORDER BY item_id")


def demo_annotator_truth(store: Store) -> pd.DataFrame:
    """``annotator_id, role, accuracy, note`` for every demo annotator."""
    return store.query(
        "SELECT annotator_id, role, accuracy, note FROM demo_annotator_truth ORDER BY annotator_id"
    )


# --- the demo's remediation history (analytics.synthetic.history) -------------------------------------------


def flagged_suspects(store: Store, run_id: str) -> list[str]:
    """The flagged suspects of ``run_id``, by rank."""
    return store.query("SELECT item_id FROM suspects WHERE run_id = ? AND flagged ORDER BY rank, item_id",
                       [run_id])["item_id"].tolist()


def acted_items(store: Store) -> set[str]:
    """Every item some remediation action names."""
    return set(store.query("SELECT DISTINCT item_id FROM remediation_actions")["item_id"])


def action_counts(store: Store) -> dict[str, int]:
    """How many actions of each kind the log holds."""
    rows = store.query("SELECT action, count(*) AS n FROM remediation_actions GROUP BY action ORDER BY 1")
    return {a: int(n) for a, n in rows.itertuples(index=False)}


def best_experts(store: Store, n: int) -> dict[str, float]:
    """The ``n`` most accurate expert annotators of the demo with their accuracy."""
    rows = store.query("SELECT annotator_id, accuracy FROM demo_annotator_truth WHERE role = 'expert' "
                       "ORDER BY accuracy DESC, annotator_id LIMIT ?", [n])
    return {a: float(p) for a, p in rows.itertuples(index=False)}
