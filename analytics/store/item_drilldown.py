"""One item's full story for the drill-down: its signals in a run, every label event, its neighbours, its
slice attributes and its remediation history.
"""

from __future__ import annotations

import json

import pandas as pd

from analytics.core.schema import EventFilter
from analytics.store.connection import Store
from analytics.store.filters import event_condition, events_cte


def item_signals(store: Store, run_id: str, item_id: str) -> dict | None:
    """One item's row of a run, with its signals decoded; None when the run did not score it."""
    frame = store.query(
        "SELECT item_id, given_label, suggested_label, score, rank, flagged, status, cluster_id, "
        "explanation, signals FROM suspects WHERE run_id = ? AND item_id = ?",
        [run_id, item_id],
    )
    if frame.empty:
        return None
    row = frame.iloc[0].to_dict()
    row.update(json.loads(row.pop("signals")))
    return row


def item_events(store: Store, item_id: str, run_id: str | None = None,
                flt: EventFilter | None = None) -> pd.DataFrame:
    """Every label event of one item, oldest first, with the annotator's cohort and run-time reliability.

    Columns ``event_id, labeled_at, annotator_id, cohort, label, guideline_version, confidence, duration_s,
    campaign_id, batch_id, skill`` (``skill``: Dawid–Skene expected accuracy in ``run_id``, if given) and
    ``in_filter`` (the event passes ``flt``; all True without one).
    """
    cte, params = events_cte(None)
    condition, condition_params = event_condition(flt)
    return store.query(
        cte + "SELECT e.event_id, e.labeled_at, e.annotator_id, a.cohort, e.label, e.guideline_version, "
        "e.confidence, e.duration_s, e.campaign_id, e.batch_id, ra.skill, (" + condition + ") AS in_filter "
        "FROM ev e LEFT JOIN live_annotators a USING (annotator_id) "
        "LEFT JOIN run_annotators ra ON ra.annotator_id = e.annotator_id AND ra.run_id = ? "
        "WHERE e.item_id = ? ORDER BY e.labeled_at, e.event_id",
        [*params, *condition_params, run_id, item_id],
    )


def item_neighbours(store: Store, run_id: str, item_ids: list[str]) -> pd.DataFrame:
    """The given and suggested labels, scores and statuses of some items in a run, in the order asked."""
    return store.query(
        "SELECT w.i AS position, s.item_id, s.given_label, s.suggested_label, s.score, s.status "
        "FROM unnest(?::VARCHAR[]) WITH ORDINALITY AS w(item_id, i) JOIN suspects s USING (item_id) "
        "WHERE s.run_id = ? ORDER BY w.i",
        [[str(i) for i in item_ids], run_id],
    ).drop(columns="position")


def item_attributes(store: Store, item_id: str) -> pd.DataFrame:
    """The item's dataset, split and slice attributes as ``key, value`` rows."""
    return store.query(
        "SELECT 'dataset' AS key, dataset AS value FROM live_items WHERE item_id = ? "
        "UNION ALL SELECT 'split', split FROM live_items WHERE item_id = ? AND split IS NOT NULL "
        "UNION ALL SELECT key, value FROM live_item_attributes WHERE item_id = ? ORDER BY ALL",
        [item_id, item_id, item_id],
    )


def remediation_history(store: Store, item_id: str) -> pd.DataFrame:
    """Past remediation actions and review requests of one item, oldest first."""
    return store.query(
        "SELECT created_at AS at, action, from_label, to_label, actor AS who, rationale AS why FROM "
        "remediation_actions WHERE item_id = ? UNION ALL SELECT requested_at, 'review requested', NULL, "
        "NULL, requested_by, note FROM review_requests WHERE item_id = ? ORDER BY 1",
        [item_id, item_id],
    )
