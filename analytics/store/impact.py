"""Impact analyses in SQL: what a before/after comparison reads (the arms' labels, the evaluation items with
their trusted labels and features, the slices, the actions between two versions, imported predictions)
and the stored results.

The rules are stated in ``analytics.impact.ab``; this module only reads rows and writes results.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence

import duckdb
import pandas as pd

from analytics.store.connection import Store


def gold_items(store: Store) -> pd.DataFrame:
    """Every item with a trusted label: ``item_id, gold, gold_source, split, features`` (one gold label per
    item: the evaluation gold when an item has several sources, else the first by source), by item."""
    return store.query(
        "WITH g AS (SELECT item_id, arg_min(label, CASE WHEN source = 'eval' THEN 0 ELSE 1 END || "
        "coalesce(source, '')) AS gold, arg_min(source, CASE WHEN source = 'eval' THEN 0 ELSE 1 END || "
        "coalesce(source, '')) AS gold_source FROM live_gold_labels GROUP BY item_id), "
        "i AS (SELECT item_id, any_value(split) AS split, any_value(features) AS features FROM live_items "
        "GROUP BY item_id) "
        "SELECT g.item_id, g.gold, g.gold_source, i.split, i.features FROM g LEFT JOIN i USING (item_id) "
        "ORDER BY g.item_id"
    )


def training_items(store: Store) -> pd.DataFrame:
    """Every item with features: ``item_id, split, features``, by item."""
    return store.query(
        "SELECT item_id, any_value(split) AS split, any_value(features) AS features FROM live_items "
        "WHERE features IS NOT NULL GROUP BY item_id ORDER BY item_id"
    )


def item_slices(store: Store, item_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """``item_id, key, value`` of the slice attributes of ``item_ids`` (every item when None)."""
    if item_ids is None:
        return store.query("SELECT item_id, key, value FROM live_item_attributes WHERE value IS NOT NULL "
                           "ORDER BY key, value, item_id")
    return store.query(
        "SELECT item_id, key, value FROM live_item_attributes WHERE value IS NOT NULL "
        "AND item_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY key, value, item_id",
        [list(map(str, item_ids))],
    )


def acted_between(store: Store, after_seq: int, until_seq: int) -> pd.DataFrame:
    """The actions with ``seq`` in ``(after_seq, until_seq]`` as counts: ``action, source, n`` where the
    source is ``policy@version``, ``campaign <id>`` or ``review``; and their items, as ``items``."""
    return store.query(
        "SELECT action, CASE WHEN policy IS NOT NULL THEN policy WHEN campaign_id IS NOT NULL THEN "
        "'campaign ' || campaign_id ELSE 'review' END AS source, count(*) AS n, "
        "list(DISTINCT item_id) AS items "
        "FROM remediation_actions WHERE seq > ? AND seq <= ? GROUP BY ALL ORDER BY n DESC, action, source",
        [after_seq, until_seq],
    )


def campaign_items_between(store: Store, after: dt.datetime, until: dt.datetime) -> list[str]:
    """Items of the campaigns created in ``(after, until]`` (their labels came from the remediation)."""
    rows = (
        store.cursor()
        .execute(
            "SELECT DISTINCT ci.item_id FROM campaign_items ci JOIN campaigns c USING (campaign_id) "
            "WHERE c.created_at > ? AND c.created_at <= ?",
            [after, until],
        )
        .fetchall()
    )
    return [r[0] for r in rows]


def prediction_models(store: Store) -> list[str]:
    """The model versions with imported predictions, newest import first."""
    return store.query(
        "SELECT model_version FROM live_predictions GROUP BY model_version "
        "ORDER BY max(batch_id) DESC, model_version"
    )["model_version"].tolist()


def predictions(store: Store, model_version: str) -> pd.DataFrame:
    """One row per item of ``model_version``'s predictions: ``item_id, label`` (the most probable),
    ``prob`` (its probability)."""
    return store.query(
        "SELECT item_id, arg_max(label, prob) AS label, max(prob) AS prob FROM live_predictions "
        "WHERE model_version = ? GROUP BY item_id ORDER BY item_id",
        [model_version],
    )


def insert_result(cur: duckdb.DuckDBPyConnection, row: dict) -> None:
    """Store one analysis (inside the caller's transaction)."""
    cur.execute(
        "INSERT INTO impact_runs (impact_id, created_at, created_by, kind, arm_a, arm_b, params, result) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            row["impact_id"],
            row["created_at"],
            row["created_by"],
            row["kind"],
            row["arm_a"],
            row["arm_b"],
            json.dumps(row["params"], default=str),
            json.dumps(row["result"], default=str),
        ],
    )


def results(store: Store) -> pd.DataFrame:
    """Every stored analysis without its result: ``impact_id, created_at, created_by, kind, arm_a, arm_b,
    params``, newest first."""
    return store.query(
        "SELECT impact_id, created_at, created_by, kind, arm_a, arm_b, params FROM impact_runs "
        "ORDER BY created_at DESC, impact_id DESC"
    )


def result(store: Store, impact_id: str) -> dict | None:
    """One stored analysis with its ``params`` and ``result`` decoded, or None."""
    row = (
        store.cursor()
        .execute(
            "SELECT impact_id, created_at, created_by, kind, arm_a, arm_b, params, result FROM impact_runs "
            "WHERE impact_id = ?",
            [impact_id],
        )
        .fetchone()
    )
    if row is None:
        return None
    keys = ("impact_id", "created_at", "created_by", "kind", "arm_a", "arm_b", "params", "result")
    found = dict(zip(keys, row, strict=True))
    found["params"] = json.loads(found["params"]) if found["params"] else {}
    found["result"] = json.loads(found["result"])
    return found


def latest_id(store: Store) -> str | None:
    """The newest analysis, or None."""
    return store.scalar("SELECT impact_id FROM impact_runs ORDER BY created_at DESC, impact_id DESC LIMIT 1")
