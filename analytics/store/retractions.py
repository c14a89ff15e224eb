"""Retracting an import: the append-only undo of a batch, and what the store holds but cannot show.

A retraction is one ``batch_retractions`` row (who, when, why). Nothing is deleted: the batch, its rows and
its rejects stay in the store for the record, and every read leaves them out because reads go through the
``live_*`` views (migration 5). A retraction is final; to take the rows back, import the file again, which
makes a new batch (the duplicate checks of an import ignore retracted batches).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from analytics.store.connection import Store, StoreError
from analytics.store.migrations import READABLE_FROM, READABLE_UNTIL


class RetractionError(StoreError):
    """A retraction that cannot be made: unknown batch, retracted already, or no reason given."""


def retract_batch(store: Store, batch_id: str, *, actor: str, reason: str) -> dict:
    """Retract the import ``batch_id``: every read leaves its rows out from now on.

    Parameters
    ----------
    store : Store
        The open store (written to).
    batch_id : str
        A batch of ``ingest_batches``.
    actor : str
        Who retracts it (recorded).
    reason : str
        Why (required, recorded).

    Returns
    -------
    dict
        ``batch_id, kind, source, rows_accepted, retracted_by, retracted_at, reason``.

    Raises
    ------
    RetractionError
        The batch does not exist or was retracted already, or ``reason`` / ``actor`` is blank.
    """
    reason, actor = (reason or "").strip(), (actor or "").strip()
    if not reason:
        raise RetractionError("A retraction needs a reason: say why this import should not count.")
    if not actor:
        raise RetractionError("A retraction needs the name of who makes it.")
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    with store.transaction() as cur:
        batch = cur.execute(
            "SELECT kind, source, rows_accepted FROM ingest_batches WHERE batch_id = ?", [batch_id]
        ).fetchone()
        if batch is None:
            raise RetractionError(f"There is no import batch {batch_id!r} in {store.path}.")
        done = cur.execute(
            "SELECT retracted_by, retracted_at FROM batch_retractions WHERE batch_id = ?", [batch_id]
        ).fetchone()
        if done is not None:
            raise RetractionError(
                f"Batch {batch_id!r} was retracted already, by {done[0]} at {done[1]:%Y-%m-%d %H:%M} UTC."
            )
        cur.execute("INSERT INTO batch_retractions VALUES (?, ?, ?, ?)", [batch_id, actor, now, reason])
    store.refresh_derived()  # a large store's derived tables, without the batch's rows
    return {"batch_id": batch_id, "kind": batch[0], "source": batch[1], "rows_accepted": batch[2],
            "retracted_by": actor, "retracted_at": now, "reason": reason}




def list_retractions(store: Store) -> pd.DataFrame:
    """Every retraction, newest first.

    Returns
    -------
    DataFrame
        Columns ``batch_id, kind, source, rows_accepted, retracted_by, retracted_at, reason``.
    """
    return store.query(
        "SELECT r.batch_id, b.kind, b.source, b.rows_accepted, r.retracted_by, r.retracted_at, r.reason "
        "FROM batch_retractions r LEFT JOIN ingest_batches b USING (batch_id) "
        "ORDER BY r.retracted_at DESC, r.batch_id"
    )


def unreadable_events(store: Store) -> pd.DataFrame:
    """Label events of live batches whose time no reader can hold, by batch.

    Such rows come from stores written before imports checked timestamps (or written by hand); the
    ``live_label_events`` view leaves them out, so the pages keep working, and the Data page shows them
    here so an admin can retract their batch.

    Returns
    -------
    DataFrame
        Columns ``batch_id, source, events, earliest, latest`` (times as text: they may be BC or
        infinite), one row per batch that has such events.
    """
    return store.query(
        "SELECT e.batch_id, any_value(b.source) AS source, count(*) AS events, "
        "min(e.labeled_at)::VARCHAR AS earliest, max(e.labeled_at)::VARCHAR AS latest "
        "FROM label_events e LEFT JOIN ingest_batches b USING (batch_id) "
        "WHERE e.batch_id NOT IN (SELECT batch_id FROM batch_retractions) "
        "AND NOT (e.labeled_at BETWEEN ?::TIMESTAMP AND ?::TIMESTAMP) "
        "GROUP BY e.batch_id ORDER BY events DESC, e.batch_id",
        [READABLE_FROM, READABLE_UNTIL],
    )
