"""Items sent to review (append-only ``review_requests``): the write, one row per item not already requested
in the run; the list; and the items a slice sends (its suspects in a detection run).

A request has no column for where it came from: the Suspects page keeps a cluster in ``cluster_id``, and a
slice is named in ``note``.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pandas as pd

from analytics.core.schema import NO_CONSENSUS, EventFilter
from analytics.store.connection import Store
from analytics.store.filters import events_cte


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


def slice_suspects(store: Store, run_id: str, attribute: str, value: str, *, flt: EventFilter | None = None,
                   unresolved: bool = False) -> pd.DataFrame:
    """``item_id, suggested_label`` of the items run ``run_id`` flagged (likely mislabeled) in the slice
    ``attribute = value`` (with ``unresolved``, also those it found without a consensus), strongest evidence
    first.

    Only items in view count: those with a label event passing ``flt`` (always read, so an item whose
    every label was retracted is left out even without a filter), the items the Slices page counts a
    slice's suspects over (``analytics.store.slices.slice_cube``).
    """
    cte, params = events_cte(flt)
    return store.query(
        cte + "SELECT s.item_id, s.suggested_label FROM suspects s WHERE s.run_id = ? "
        "AND (s.flagged OR ? AND s.status = ?) "
        "AND s.item_id IN (SELECT item_id FROM live_item_attributes WHERE key = ? AND value = ?) "
        "AND s.item_id IN (SELECT item_id FROM ev) ORDER BY s.rank, s.item_id",
        [*params, run_id, unresolved, NO_CONSENSUS, attribute, value],
    )


def slice_suspect_ids(store: Store, run_id: str, attribute: str, value: str, *,
                      flt: EventFilter | None = None) -> list[str]:
    """The item ids of ``slice_suspects`` (the flagged ones), strongest evidence first."""
    return slice_suspects(store, run_id, attribute, value, flt=flt)["item_id"].tolist()
