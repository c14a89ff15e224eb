"""Items that arrive, and arrive again: enrichment of the items the store holds, with their history.

An item is created by the first import that names it: an items file with its columns and slice attributes,
or an events file, which creates it bare (``item_id`` and ``dataset`` only). A later items file (or Label
Studio export) *enriches* it: a column the file gives (a non-empty value) replaces the stored one, a column
it leaves empty or lacks keeps the stored value, and each attribute it gives is added or replaces that
attribute's value.

``items`` and ``item_attributes`` hold the values every read sees, one row per item and per (item,
attribute), each with the batch that wrote it. A row that is replaced is first copied, as it was, into
``item_history`` / ``item_attribute_history`` (migration 4) with the batch that replaced it; those tables
are only ever appended to, so every earlier value stays with who wrote it, who replaced it and when (on the
batches). Reads of the current tables cost nothing extra.

``plan`` compares a staged items file with the store (a dry run: the counts of new, changed and unchanged
items the validation report shows); ``write`` carries the plan out inside the import's transaction;
``item_history`` lists every value an item has had.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from analytics.store.connection import Store
from analytics.store.staging import STAGE_TABLES, store_rows_near

#: The item columns besides its id and batch, in table order.
ITEM_COLUMNS = ("dataset", "split", "created_at", "text", "media_ref", "features")
_TEMP = ("lw_current_items", "lw_current_attributes", "lw_item_plan", "lw_attribute_plan")


def _merged(moves: bool) -> str:
    """The columns of an item the store holds after a row of the stage adds to it."""
    return ", ".join(("c." if c == "dataset" and not moves else "coalesce(s." + c + ", c." + c + ") AS ") + c
                     for c in ITEM_COLUMNS)


def _differs(moves: bool) -> str:
    return " OR ".join("coalesce(s." + c + ", c." + c + ") IS DISTINCT FROM c." + c for c in ITEM_COLUMNS
                       if c != "dataset" or moves)


def plan(cur: duckdb.DuckDBPyConnection, stage: str, *, moves: bool = True) -> dict[str, int]:
    """Compare the accepted rows of an items ``stage`` with the store; return what ``write`` would do.

    Builds the TEMP tables ``lw_item_plan`` (one row per accepted item: ``status`` new, changed (a column),
    attributes (only attribute values) or same, with the merged columns) and ``lw_attribute_plan`` (one row
    per given attribute value: new, changed or same) on ``cur``.

    With ``moves=False`` a row's ``dataset`` only names the dataset of a new item: an item the store holds
    keeps its own (the items of a labeling tool's export, whose projects are not LabelWatch's datasets).

    Returns
    -------
    dict of str to int
        ``new`` items, items ``changed`` (a column or an attribute value added or replaced) and items left
        ``unchanged``.
    """
    if stage not in STAGE_TABLES:
        raise ValueError(f"unknown stage table {stage!r}")
    accepted = "(SELECT item_id FROM " + stage + " WHERE lw__fail IS NULL)"
    near = store_rows_near(cur, stage, "items", ("item_id",), ("item_id", *ITEM_COLUMNS))
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE lw_current_items AS SELECT item_id, " + ", ".join(ITEM_COLUMNS)
        + " FROM " + near + " SEMI JOIN " + accepted + " USING (item_id)"
    )
    near = store_rows_near(cur, stage, "item_attributes", ("item_id",), ("item_id", "key", "value"))
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE lw_current_attributes AS SELECT item_id, key, value FROM " + near
        + " SEMI JOIN lw_current_items USING (item_id)"
    )
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE lw_attribute_plan AS SELECT a.item_id, a.key, a.value, "
        "CASE WHEN c.item_id IS NULL THEN 'new' WHEN c.value IS DISTINCT FROM a.value THEN 'changed' "
        "ELSE 'same' END AS status FROM (SELECT s.item_id, j.key, json_extract_string(j.value, '$') AS value "
        "FROM " + stage + " AS s, json_each(s.lw__attrs) AS j WHERE s.lw__fail IS NULL "
        "AND json_extract_string(j.value, '$') IS NOT NULL) AS a "
        "LEFT JOIN lw_current_attributes AS c USING (item_id, key)"
    )
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE lw_item_plan AS "
        "SELECT s.item_id, 'new' AS status, " + ", ".join("s." + c for c in ITEM_COLUMNS) + " FROM " + stage
        + " AS s ANTI JOIN lw_current_items USING (item_id) WHERE s.lw__fail IS NULL "
        "UNION ALL SELECT s.item_id, CASE WHEN " + _differs(moves) + " THEN 'changed' WHEN s.item_id IN "
        "(SELECT item_id FROM lw_attribute_plan WHERE status <> 'same') THEN 'attributes' ELSE 'same' END, "
        + _merged(moves) + " FROM " + stage + " AS s JOIN lw_current_items AS c USING (item_id) "
        "WHERE s.lw__fail IS NULL"
    )
    counts = dict(cur.execute("SELECT status, count(*) FROM lw_item_plan GROUP BY status").fetchall())
    return {
        "new": counts.get("new", 0),
        "changed": counts.get("changed", 0) + counts.get("attributes", 0),
        "unchanged": counts.get("same", 0),
    }


def write(cur: duckdb.DuckDBPyConnection, stage: str, *, batch_id: str, dataset: str,
          moves: bool = True) -> dict[str, int]:
    """Write the accepted items of ``stage`` as batch ``batch_id``; call inside the import's transaction.

    New items get ``dataset`` unless their row names one. An existing item's row is replaced only when a
    column changes, an attribute's only when its value is new or different; what is replaced goes to the
    history first, marked with this batch. ``moves`` as for ``plan``. Returns the counts of ``plan``.
    """
    counts = plan(cur, stage, moves=moves)
    changed = "(SELECT item_id FROM lw_item_plan WHERE status = 'changed')"
    cur.execute(
        "INSERT INTO item_history SELECT i.*, ? FROM items AS i SEMI JOIN " + changed + " USING (item_id)",
        [batch_id],
    )
    cur.execute("DELETE FROM items WHERE item_id IN " + changed)
    cur.execute(
        "INSERT INTO items SELECT item_id, CASE WHEN status = 'new' THEN coalesce(dataset, ?) "
        "ELSE dataset END, split, created_at, text, media_ref, features, ? FROM lw_item_plan "
        "WHERE status IN ('new', 'changed')",
        [dataset, batch_id],
    )
    replaced = "(SELECT item_id, key FROM lw_attribute_plan WHERE status = 'changed')"
    cur.execute(
        "INSERT INTO item_attribute_history SELECT a.*, ? FROM item_attributes AS a SEMI JOIN " + replaced
        + " USING (item_id, key)",
        [batch_id],
    )
    cur.execute(
        "DELETE FROM item_attributes AS a USING " + replaced + " AS p WHERE a.item_id = p.item_id "
        "AND a.key = p.key"
    )
    cur.execute(
        "INSERT INTO item_attributes SELECT item_id, key, value, ? FROM lw_attribute_plan "
        "WHERE status <> 'same'",
        [batch_id],
    )
    return counts


def drop_plan(cur: duckdb.DuckDBPyConnection) -> None:
    for table in _TEMP:
        cur.execute("DROP TABLE IF EXISTS " + table)


def item_history(store: Store, item_id: str) -> pd.DataFrame:
    """Every value one item has had, its columns and its attributes, oldest first, with who and when.

    Parameters
    ----------
    store : Store
    item_id : str

    Returns
    -------
    DataFrame
        Columns ``field, value, batch_id, created_by, created_at, superseded_by, current``: ``field`` is an
        item column (``dataset``, ``split``, …) or ``attribute:<key>``; ``batch_id``, ``created_by`` and
        ``created_at`` say which import wrote the value, who and when; ``superseded_by`` is the import that
        replaced it (None for the value reads see, ``current``). Empty values are left out.
    """
    versions = (
        "SELECT *, NULL AS superseded_by FROM items WHERE item_id = ? "
        "UNION ALL SELECT * FROM item_history WHERE item_id = ?"
    )
    attributes = (
        "SELECT *, NULL AS superseded_by FROM item_attributes WHERE item_id = ? "
        "UNION ALL SELECT * FROM item_attribute_history WHERE item_id = ?"
    )
    return store.query(
        "WITH h AS (SELECT f.field, f.value, v.batch_id, v.superseded_by FROM (" + versions + ") AS v, "
        "LATERAL (SELECT unnest(['dataset', 'split', 'created_at', 'text', 'media_ref', 'features']) "
        "AS field, unnest([v.dataset, v.split, CAST(v.created_at AS VARCHAR), v.text, v.media_ref, "
        "CAST(v.features AS VARCHAR)]) AS value) AS f "
        "UNION ALL SELECT 'attribute:' || key, value, batch_id, superseded_by FROM (" + attributes + ")) "
        "SELECT h.field, h.value, h.batch_id, b.created_by, b.created_at, h.superseded_by, "
        "h.superseded_by IS NULL AS current FROM h LEFT JOIN ingest_batches AS b USING (batch_id) "
        "WHERE h.value IS NOT NULL ORDER BY b.created_at, h.batch_id, h.field",
        [item_id] * 4,
    )
