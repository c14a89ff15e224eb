"""Relabel campaigns in SQL: their items and assignments, the labels that came back, their progress.

The rules are stated in ``analytics.remediation.campaigns``; this module writes and reads rows.

- ``campaigns`` holds one row per campaign; ``campaign_items`` one row per (item, assignee), with the
  item's resolved label when the campaign began (``label_before``) and the label it was exported with as a
  suggestion. Neither table is changed after the campaign is created.
- A campaign's **labels** are the live label events that carry its ``campaign_id``; like every rating, an
  annotator's latest label of an item counts once.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from analytics.store.connection import Store
from analytics.store.ratings import LATEST, ratings_sql
from analytics.store.remediation import resolved_sql
from analytics.store.review_requests import slice_suspects

#: The campaign's ratings: each annotator's latest label of each item among the campaign's events.
_CAMPAIGN_RATINGS = ratings_sql(
    "(SELECT * FROM live_label_events WHERE campaign_id = $campaign)",
    {"item_id": "e.item_id", "annotator_id": "e.annotator_id"}, {"label": LATEST["label"]},
)

#: Per item of the campaign: its ratings by label, how many, and the label holding a strict majority.
_VOTES = (
    "votes AS (SELECT item_id, sum(n)::BIGINT AS labels_in, "
    "CASE WHEN 2 * max(n) > sum(n) THEN arg_max(label, n) END AS campaign_label, "
    "map(list(label ORDER BY label), list(n ORDER BY label)) AS votes FROM (SELECT item_id, label, "
    "count(*) AS n FROM (" + _CAMPAIGN_RATINGS + ") r GROUP BY item_id, label) GROUP BY item_id)"
)


def insert_campaign(cur: duckdb.DuckDBPyConnection, row: dict, items: pd.DataFrame) -> None:
    """Write a campaign and its assignments (``item_id, assignee, label_before, suggested_label``) inside
    the caller's transaction."""
    cur.execute(
        "INSERT INTO campaigns (campaign_id, name, owner, created_at, due_at, status, created_by, source, "
        "run_id, labels_per_item, note) VALUES (?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)",
        [row["campaign_id"], row["name"], row["owner"], row["created_at"], row["due_at"], row["created_by"],
         row["source"], row["run_id"], row["labels_per_item"], row["note"]],
    )
    frame = items.assign(campaign_id=row["campaign_id"])
    cur.register("lw_campaign_items", frame)
    try:
        cur.execute("INSERT INTO campaign_items BY NAME SELECT campaign_id, item_id, assignee, label_before, "
                    "suggested_label FROM lw_campaign_items")
    finally:
        cur.unregister("lw_campaign_items")


def campaign_item_ids(cur: duckdb.DuckDBPyConnection, campaign_id: str) -> set[str]:
    """The items of ``campaign_id``."""
    rows = cur.execute("SELECT DISTINCT item_id FROM campaign_items WHERE campaign_id = ?", [campaign_id])
    return {r[0] for r in rows.fetchall()}


def campaign_count(store: Store) -> int:
    """How many campaigns exist (part of the remediation state the pages cache by)."""
    return int(store.scalar("SELECT count(*) FROM campaigns"))


def campaigns(store: Store) -> pd.DataFrame:
    """Every campaign with its progress, newest first: the campaign's columns and ``items, assignments,
    labels_in`` (ratings received), ``items_done`` (items with ``labels_per_item`` ratings),
    ``resolved_actions`` (actions recorded from it)."""
    return store.query(
        "WITH assigned AS (SELECT campaign_id, count(DISTINCT item_id) AS items, count(*) AS assignments "
        "FROM campaign_items GROUP BY campaign_id), "
        "got AS (SELECT e.campaign_id, e.item_id, count(DISTINCT e.annotator_id) AS n "
        "FROM live_label_events e JOIN campaign_items ci "
        "ON ci.campaign_id = e.campaign_id AND ci.item_id = e.item_id "
        "GROUP BY ALL), "
        "progress AS (SELECT g.campaign_id, sum(least(g.n, c.labels_per_item))::BIGINT AS labels_in, "
        "count(*) FILTER (WHERE g.n >= c.labels_per_item) AS items_done FROM got g "
        "JOIN campaigns c USING (campaign_id) GROUP BY g.campaign_id), "
        "acted AS (SELECT campaign_id, count(*) AS resolved_actions FROM remediation_actions "
        "WHERE campaign_id IS NOT NULL GROUP BY campaign_id) "
        "SELECT c.campaign_id, c.name, c.owner, c.created_by, c.created_at, c.due_at, c.source, c.run_id, "
        "c.labels_per_item, c.note, coalesce(a.items, 0) AS items, "
        "coalesce(a.assignments, 0) AS assignments, "
        "coalesce(p.labels_in, 0) AS labels_in, coalesce(p.items_done, 0) AS items_done, "
        "coalesce(x.resolved_actions, 0) AS resolved_actions "
        "FROM campaigns c LEFT JOIN assigned a USING (campaign_id) LEFT JOIN progress p USING (campaign_id) "
        "LEFT JOIN acted x USING (campaign_id) ORDER BY c.created_at DESC, c.campaign_id DESC"
    )


def campaign_items(store: Store, campaign_id: str) -> pd.DataFrame:
    """One row per item of the campaign: ``item_id, assignees, label_before, suggested_label, label`` (the
    resolved label now), ``provenance, labels_in, campaign_label`` (the strict majority of the campaign's
    ratings, NULL without one), ``votes`` (label → ratings), sorted by item."""
    return store.query(
        "WITH " + _VOTES + ", "
        "assigned AS (SELECT item_id, list(assignee ORDER BY assignee) AS assignees, "
        "any_value(label_before) AS label_before, any_value(suggested_label) AS suggested_label "
        "FROM campaign_items WHERE campaign_id = $campaign GROUP BY item_id), "
        "resolved AS (" + resolved_sql() + ") "
        "SELECT a.item_id, a.assignees, a.label_before, a.suggested_label, r.label, r.provenance, "
        "coalesce(v.labels_in, 0) AS labels_in, v.campaign_label, v.votes "
        "FROM assigned a LEFT JOIN resolved r USING (item_id) LEFT JOIN votes v USING (item_id) "
        "ORDER BY a.item_id",
        {"campaign": campaign_id},
    )


def assignee_progress(store: Store, campaign_id: str) -> pd.DataFrame:
    """Per assignee: ``assignee, assigned, done`` (assigned items they labeled in the campaign), most
    assigned first."""
    return store.query(
        "SELECT ci.assignee, count(*) AS assigned, count(*) FILTER (WHERE EXISTS (SELECT 1 FROM "
        "live_label_events e WHERE e.campaign_id = ci.campaign_id AND e.item_id = ci.item_id AND "
        "e.annotator_id = ci.assignee)) AS done FROM campaign_items ci WHERE ci.campaign_id = ? "
        "GROUP BY ci.assignee ORDER BY assigned DESC, ci.assignee", [campaign_id],
    )


def campaign_counts(store: Store, campaign_id: str) -> pd.DataFrame:
    """The campaign's ratings as a label-count table ``item_id, label, n`` (for agreement)."""
    return store.query(
        "SELECT item_id, label, count(*) AS n FROM (" + _CAMPAIGN_RATINGS + ") r GROUP BY item_id, label "
        "ORDER BY item_id, label", {"campaign": campaign_id},
    )


def export_rows(store: Store, campaign_id: str) -> pd.DataFrame:
    """What a labeling tool needs per assignment: ``campaign_id, item_id, assignee, dataset, text,
    media_ref, label_before, suggested_label, due_at``, by item then assignee."""
    return store.query(
        "SELECT ci.campaign_id, ci.item_id, ci.assignee, i.dataset, i.text, i.media_ref, ci.label_before, "
        "ci.suggested_label, c.due_at FROM campaign_items ci JOIN campaigns c USING (campaign_id) "
        "LEFT JOIN (SELECT item_id, any_value(dataset) AS dataset, any_value(text) AS text, "
        "any_value(media_ref) AS media_ref FROM live_items GROUP BY item_id) i USING (item_id) "
        "WHERE ci.campaign_id = ? ORDER BY ci.item_id, ci.assignee", [campaign_id],
    )


def cluster_item_ids(store: Store, run_id: str, cluster_id: str) -> pd.DataFrame:
    """``item_id, suggested_label`` of a cluster of a detection run, highest score first."""
    return store.query(
        "SELECT item_id, suggested_label FROM suspects WHERE run_id = ? AND cluster_id = ? "
        "ORDER BY score DESC NULLS LAST, item_id", [run_id, cluster_id],
    )


def slice_item_ids(store: Store, key: str, value: str, run_id: str | None,
                   unresolved: bool = False) -> pd.DataFrame:
    """``item_id, suggested_label`` of the items whose attribute ``key`` is ``value``: with a run, its
    suspects there as the Slices page sends them to review (``analytics.store.review_requests
    .slice_suspects``: flagged, and with ``unresolved`` also those without a consensus); without one, every
    item of the slice (suggested label NULL)."""
    if run_id is not None:
        return slice_suspects(store, run_id, key, value, unresolved=unresolved)
    return store.query(
        "SELECT DISTINCT item_id, NULL::VARCHAR AS suggested_label FROM live_item_attributes "
        "WHERE key = ? AND value = ? ORDER BY item_id", [key, value],
    )


def slice_values(store: Store) -> pd.DataFrame:
    """Every slice a campaign can be made of: ``key, value, items``, by key then most items first."""
    return store.query(
        "SELECT key, value, count(DISTINCT item_id) AS items FROM live_item_attributes "
        "WHERE value IS NOT NULL GROUP BY key, value ORDER BY key, items DESC, value"
    )


def suggestions(store: Store, run_id: str, item_ids: Sequence[str]) -> dict[str, str]:
    """The suggested label of each of ``item_ids`` in ``run_id`` (items the run did not score are left
    out)."""
    rows = store.cursor().execute(
        "SELECT item_id, suggested_label FROM suspects WHERE run_id = ? AND item_id IN "
        "(SELECT unnest(?::VARCHAR[])) AND suggested_label IS NOT NULL", [run_id, [str(i) for i in item_ids]],
    ).fetchall()
    return dict(rows)
