"""Items sent to review from the Suspects page (append-only ``review_requests``): the write, one row per item
not already requested in the run, and the list.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pandas as pd

from analytics.store.connection import Store


def request_review(store: Store, item_ids: list[str], *, run_id: str | None, cluster_id: str | None,
                   requested_by: str, note: str | None = None) -> int:
    """Save a selection of items for review (one row per item not already requested in this run).

    Returns
    -------
    int
        How many items were added.
    """
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    request_id = f"review-{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    ids = sorted({str(i) for i in item_ids})
    with store.transaction() as cur:
        before = cur.execute("SELECT count(*) FROM review_requests").fetchone()[0]
        cur.execute(
            "INSERT INTO review_requests SELECT ?, w.item_id, ?, ?, ?, ?, ? "
            "FROM unnest(?::VARCHAR[]) AS w(item_id) WHERE NOT EXISTS (SELECT 1 FROM review_requests r "
            "WHERE r.item_id = w.item_id AND r.run_id IS NOT DISTINCT FROM ?)",
            [request_id, run_id, cluster_id, requested_by, now, note, ids, run_id],
        )
        after = cur.execute("SELECT count(*) FROM review_requests").fetchone()[0]
    return int(after - before)


def review_requests(store: Store) -> pd.DataFrame:
    """Every item sent to review, newest first."""
    return store.query(
        "SELECT requested_at, item_id, run_id, cluster_id, requested_by, note FROM review_requests "
        "ORDER BY requested_at DESC, item_id"
    )
