"""Import batches: the write of one staged import, and reads of batches and their rejects.

``write_batch`` runs inside the caller's transaction on the cursor that holds the stage (see ``staging``):
it adds the ``ingest_batches`` row, the accepted rows of the kind's tables, and every reject. Together with
``Store.transaction`` the import lands whole or not at all.
"""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd

from analytics.core.schema import EXPORT_KINDS
from analytics.store import item_history
from analytics.store.connection import Store
from analytics.store.staging import rejects_sql, store_rows_near

_ACCEPTED = " WHERE lw__fail IS NULL"
_PAIR = ("item_id", "annotator_id")


#: Accepted stage rows -> store table, per kind (fixed SQL; the batch id is the one parameter). Events are
#: written by ``_write_events``, items by ``item_history.write``.
_WRITES: dict[str, list[str]] = {
    "gold": ["INSERT INTO gold_labels SELECT item_id, label, source, ? FROM lw_stage" + _ACCEPTED],
    "predictions": [
        "INSERT INTO predictions SELECT item_id, model_version, label, prob, ? FROM lw_stage" + _ACCEPTED
    ],
    "vocabulary": ["INSERT INTO label_schema SELECT label, parent, description, ? FROM lw_stage" + _ACCEPTED],
    "guidelines": [
        "INSERT INTO guidelines SELECT version, effective_at, summary, ? FROM lw_stage" + _ACCEPTED
    ],
}


def _write_events(cur: duckdb.DuckDBPyConnection, batch_id: str) -> None:
    """Accepted events of ``lw_stage``, with the items and annotators they name that the store lacks.

    Also keeps ``rating_repeats`` whole: the batch's (item, annotator) pairs that repeat within it
    (``lw_stage_repeats``, recounted on the accepted rows) or that the store holds already.
    """
    held = store_rows_near(cur, "lw_stage", "label_events", _PAIR, _PAIR)
    cur.execute(
        "INSERT INTO rating_repeats SELECT item_id, annotator_id, ? FROM ("
        "SELECT item_id, annotator_id FROM lw_stage_repeats JOIN lw_stage USING (item_id, annotator_id)"
        + _ACCEPTED
        + " GROUP BY ALL HAVING count(*) > 1 UNION SELECT item_id, annotator_id FROM lw_stage SEMI JOIN "
        + held
        + " USING (item_id, annotator_id)"
        + _ACCEPTED
        + ") ANTI JOIN rating_repeats USING (item_id, annotator_id)",
        [batch_id],
    )
    known = store_rows_near(cur, "lw_stage", "items", ("item_id",), ("item_id",))
    cur.execute(
        "INSERT INTO items (item_id, dataset, batch_id) SELECT item_id, arg_min(dataset, lw__row), ? "
        "FROM lw_stage ANTI JOIN " + known + " USING (item_id)" + _ACCEPTED + " GROUP BY item_id",
        [batch_id],
    )
    cur.execute(
        "INSERT INTO annotators (annotator_id, cohort, batch_id) "
        "SELECT annotator_id, arg_min(cohort, lw__row) FILTER (WHERE cohort IS NOT NULL), ? "
        "FROM lw_stage ANTI JOIN annotators USING (annotator_id)" + _ACCEPTED + " GROUP BY annotator_id",
        [batch_id],
    )
    # Event ids: the store's highest id plus the record's place in the file (its line or row, counted from
    # the file's first record): unique and in file order.
    cur.execute(
        "INSERT INTO label_events SELECT (SELECT coalesce(max(event_id), 0) FROM label_events) + lw__row "
        "- (SELECT min(lw__row) FROM lw_stage) + 1, "
        "item_id, annotator_id, label, labeled_at, guideline_version, confidence, duration_s, campaign_id, ? "
        "FROM lw_stage" + _ACCEPTED,
        [batch_id],
    )


def find_batch(cur: duckdb.DuckDBPyConnection, file_sha256: str, kind: str) -> str | None:
    """The batch that imported this exact content as this kind before and still counts, or None.

    A retracted batch does not count: importing its file again is how its rows are taken back.
    """
    row = cur.execute(
        "SELECT batch_id FROM ingest_batches WHERE file_sha256 = ? AND kind = ? "
        "AND batch_id NOT IN (SELECT batch_id FROM batch_retractions) ORDER BY created_at LIMIT 1",
        [file_sha256, kind],
    ).fetchone()
    return None if row is None else row[0]


def write_batch(
    cur: duckdb.DuckDBPyConnection,
    *,
    batch_id: str,
    kind: str,
    source: str,
    file_sha256: str,
    rows_in: int,
    rows_accepted: int,
    rows_rejected: int,
    created_by: str,
    dataset: str,
    with_aux_items: bool = False,
) -> dict[str, int] | None:
    """Write one staged import; call inside a transaction on the cursor that holds the stage.

    ``dataset`` is the dataset of the items the import creates where their rows name none. Returns what
    became of the items of an items file or a labeling tool's export (``item_history.plan``), else None.
    """
    table_kind = "events" if kind in EXPORT_KINDS else kind
    cur.execute(
        "INSERT INTO ingest_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            batch_id,
            kind,
            source,
            file_sha256,
            rows_in,
            rows_accepted,
            rows_rejected,
            created_by,
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
        ],
    )
    items = None
    if with_aux_items:
        items = item_history.write(cur, "lw_aux", batch_id=batch_id, dataset=dataset, moves=False)
    if table_kind == "events":
        _write_events(cur, batch_id)
    elif table_kind == "items":
        items = item_history.write(cur, "lw_stage", batch_id=batch_id, dataset=dataset)
    else:
        for statement in _WRITES[table_kind]:
            cur.execute(statement, [batch_id])
    cur.execute(
        "INSERT INTO ingest_rejects SELECT ?, row_number, column_name, raw, reason FROM ("
        + rejects_sql("lw_stage")
        + ")",
        [batch_id],
    )
    item_history.drop_plan(cur)
    return items


def list_batches(store: Store) -> pd.DataFrame:
    """Every import, newest first.

    Returns
    -------
    DataFrame
        Columns ``batch_id, kind, source, rows_in, rows_accepted, rows_rejected, created_by, created_at``.
    """
    return store.query(
        "SELECT batch_id, kind, source, rows_in, rows_accepted, rows_rejected, created_by, created_at "
        "FROM ingest_batches ORDER BY created_at DESC, batch_id DESC"
    )


def list_rejects(store: Store, batch_id: str | None = None, *, limit: int | None = None) -> pd.DataFrame:
    """Rejected rows with their reasons, of one batch or of all, in batch and row order.

    Parameters
    ----------
    batch_id : str or None
        Keep the rejects of this batch only.
    limit : int or None
        At most this many rows.

    Returns
    -------
    DataFrame
        Columns ``batch_id, row_number, column_name, reason, raw`` (raw: the source row as JSON text).
    """
    return store.query(
        "SELECT r.batch_id, r.row_number, r.column_name, r.reason, CAST(r.raw AS VARCHAR) AS raw "
        "FROM ingest_rejects AS r LEFT JOIN ingest_batches AS b USING (batch_id) "
        "WHERE ? IS NULL OR r.batch_id = ? ORDER BY b.created_at DESC, r.batch_id, r.row_number LIMIT ?",
        [batch_id, batch_id, limit],
    )


def reject_reasons(store: Store, batch_id: str | None = None) -> pd.DataFrame:
    """How many rows were rejected for each reason category (the reason's text before its first ': ').

    Returns
    -------
    DataFrame
        Columns ``reason, n``, most frequent first.
    """
    return store.query(
        "SELECT split_part(reason, ': ', 1) AS reason, count(*) AS n FROM ingest_rejects "
        "WHERE ? IS NULL OR batch_id = ? GROUP BY 1 ORDER BY n DESC, reason",
        [batch_id, batch_id],
    )


def batch_rejects(store: Store, batch_id: str, limit: int) -> tuple[dict[str, int], pd.DataFrame]:
    """``(rejected_by_reason, first rejects)`` of an earlier batch, for the report of a repeated import."""
    by_reason = dict(reject_reasons(store, batch_id).itertuples(index=False, name=None))
    rejects = list_rejects(store, batch_id, limit=limit).drop(columns="batch_id")
    return by_reason, rejects


def batch_counts(store: Store, batch_id: str) -> tuple[int, int, int]:
    """``(rows_in, rows_accepted, rows_rejected)`` of one batch."""
    return (
        store.query(
            "SELECT rows_in, rows_accepted, rows_rejected FROM ingest_batches WHERE batch_id = ?", [batch_id]
        )
        .iloc[0]
        .tolist()
    )
