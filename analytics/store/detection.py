"""Detection runs in the store: their inputs, the stored runs, and the reads behind the Suspects page.

A run (``detection_runs``) keeps its parameters (the model's provenance and cross-validated quality, the
filter it ran on, the weights) so results are reproducible and comparable; ``suspects`` holds one row per
item scored (status, rank within it, score, the evidence in words, every signal as JSON),
``suspect_clusters`` the run's mislabeling patterns and ``run_annotators`` the annotators' reliability at
the time of the run. Reads of a run count only its items in view under the global filter (``_in_view``):
without a filter they never touch the label events; with one, they read them through ``events_cte``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.core.schema import MISLABELED, NO_CONSENSUS, STATUSES, EventFilter
from analytics.store.connection import Store
from analytics.store.consensus import CodedRatings, coded_ratings
from analytics.store.filters import event_condition, events_cte

if TYPE_CHECKING:  # the results this module stores; the store does not depend on detection at run time
    from analytics.detection.clusters import Clusters
    from analytics.detection.run import Detection

#: The signals kept as JSON per suspect (columns of ``analytics.detection.run.Detection.items``).
SIGNAL_COLUMNS = (
    "consensus_label", "suggested_prob", "signals_agreeing", "signals_available", "n_ratings", "votes_given",
    "votes_suggested", "annotator_prob", "model_prob", "model_suggested_prob", "model_top", "cleanlab_issue",
    "label_quality", "neighbour_share", "neighbours", "rules",
)


@dataclasses.dataclass(frozen=True)
class DetectionInputs:
    """What a detection run reads: the ratings as codes and the items' features in item-code order.

    ``features`` is (N, d) float32 with zero rows where ``has_features`` is False (items without
    features, or with a length other than the most common one); None when no item has features.
    """

    ratings: CodedRatings
    features: np.ndarray | None
    has_features: np.ndarray


def detection_inputs(store: Store, flt: EventFilter | None = None) -> DetectionInputs:
    """The ratings of the filtered events and their items' features.

    Notes
    -----
    The item dictionary is handed to DuckDB as an Arrow table and joined to ``items``; the features come
    back as one Arrow list column whose flat values are reshaped, never a Python list per item.
    """
    ratings = coded_ratings(store, flt)
    n = len(ratings.items)
    has = np.zeros(n, dtype=bool)
    if not n:
        return DetectionInputs(ratings, None, has)
    wanted = pa.table({"item_id": pa.array(ratings.items.astype(str).to_numpy()),
                       "pos": pa.array(np.arange(n, dtype=np.int64))})
    cur = store.cursor()
    try:
        cur.register("lw_detect_items", wanted)
        table = cur.sql(
            "SELECT w.pos, len(i.features) AS d, i.features FROM lw_detect_items w "
            "JOIN live_items i USING (item_id) WHERE i.features IS NOT NULL AND len(i.features) > 0"
        ).to_arrow_table()
        cur.unregister("lw_detect_items")
    finally:
        cur.close()
    if not table.num_rows:
        return DetectionInputs(ratings, None, has)
    lengths = table["d"].to_numpy()
    d = int(np.bincount(lengths).argmax())
    keep = lengths == d
    positions = table["pos"].to_numpy()[keep]
    chosen = table["features"].filter(pa.array(keep)).combine_chunks()
    values = chosen.flatten().to_numpy(zero_copy_only=False)
    features = np.zeros((n, d), dtype=np.float32)
    features[positions] = values.reshape(-1, d)
    has[positions] = True
    return DetectionInputs(ratings, features, has)


def save_run(store: Store, detection: Detection, *, clusters: Clusters | None = None, created_by: str,
             flt: EventFilter | None = None,
             extra: dict | None = None) -> str:
    """Store a detection run (``analytics.detection.run.Detection``) with its clusters, in one
    transaction.

    Parameters
    ----------
    detection : Detection
        The run's result.
    clusters : analytics.detection.clusters.Clusters, optional
        Its clusters; each suspect's ``cluster_id`` comes from ``clusters.assignments``.
    created_by : str
        Who ran it.
    flt : EventFilter, optional
        The filter it ran on (kept in the parameters).
    extra : dict, optional
        More parameters to keep (e.g. the rules file used).

    Returns
    -------
    str
        The new ``run_id``.
    """
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    run_id = f"run-{now:%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    frame = detection.items
    if clusters is not None and len(clusters.assignments):
        frame = frame.merge(clusters.assignments[["item_id", "cluster_id"]], on="item_id", how="left")
    else:
        frame = frame.assign(cluster_id=None)
    params = {**detection.params, "filter": _filter_params(flt), **(extra or {})}
    if clusters is not None:
        params["clusters"] = clusters.params
    model = detection.model.model if detection.model is not None else None
    rows = pa.Table.from_pandas(
        frame[["item_id", "given_label", "suggested_label", "score", "rank", "flagged", "status",
               "explanation", "cluster_id", *SIGNAL_COLUMNS]].astype({"cluster_id": "string"}),
        preserve_index=False,
    )
    signals = ", ".join(name + " := " + name for name in SIGNAL_COLUMNS)
    with store.transaction() as cur:
        cur.execute("INSERT INTO detection_runs VALUES (?, ?, ?, ?, ?)",
                    [run_id, now, created_by, _json(params), model])
        cur.register("lw_run_rows", rows)
        cur.execute(
            "INSERT INTO suspects (run_id, item_id, given_label, suggested_label, score, signals, "
            "cluster_id, rank, flagged, explanation, status) SELECT ?, item_id, given_label, "
            "suggested_label, score, to_json(struct_pack(" + signals + ")), cluster_id, rank, flagged, "
            "explanation, status "
            "FROM lw_run_rows",
            [run_id],
        )
        cur.unregister("lw_run_rows")
        cur.register("lw_run_annotators", pa.Table.from_pandas(detection.annotators, preserve_index=False))
        cur.execute("INSERT INTO run_annotators SELECT ?, annotator_id, skill, n_ratings "
                    "FROM lw_run_annotators", [run_id])
        cur.unregister("lw_run_annotators")
        if clusters is not None and len(clusters.summary):
            summary = clusters.summary
            cur.executemany(
                "INSERT INTO suspect_clusters VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [[run_id, row["cluster_id"], row["pattern"], _text(row.get("given_label")),
                  _text(row.get("suggested_label")), int(row["size"]), _number(row.get("mean_score")),
                  _text(row.get("representative_item")), _json(row)]
                 for row in summary.to_dict("records")],
            )
    return run_id


def _filter_params(flt: EventFilter | None) -> dict:
    return {key: value for key, value in dataclasses.asdict(flt or EventFilter()).items() if value}


def _json(value) -> str:
    """Strict JSON (NaN and infinities become null, numpy and time values plain)."""
    return json.dumps(_finite(value), default=_json_default, allow_nan=False)


def _finite(value):
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    return value


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dt.date | dt.datetime | pd.Timestamp):
        return value.isoformat()
    if value is pd.NaT or value is pd.NA:
        return None
    return str(value)


def _text(value) -> str | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


# --- reads ----------------------------------------------------------------------------------------------


def runs(store: Store) -> pd.DataFrame:
    """Every detection run, newest first.

    Columns ``run_id, created_at, created_by, model_version, filter`` (the filter it ran on, as a dict),
    ``items``, ``flagged`` (likely mislabeled) and ``no_consensus`` (needing adjudication).
    """
    # counted per run first: grouping the joined rows by the runs' columns would read each run's JSON
    # parameters once per suspect (1.5 s at a million)
    frame = store.query(
        "SELECT r.run_id, r.created_at, r.created_by, r.model_version, "
        "coalesce(r.params->>'filter', '{}') AS filter, coalesce(s.items, 0) AS items, "
        "coalesce(s.flagged, 0) AS flagged, coalesce(s.no_consensus, 0) AS no_consensus "
        "FROM detection_runs r LEFT JOIN (SELECT run_id, count(*) AS items, "
        "count(*) FILTER (WHERE status = ?) AS flagged, count(*) FILTER (WHERE status = ?) AS no_consensus "
        "FROM suspects GROUP BY run_id) s USING (run_id) ORDER BY r.created_at DESC, r.run_id DESC",
        [MISLABELED, NO_CONSENSUS],
    )
    return frame.assign(filter=[json.loads(text) for text in frame["filter"]])


def runs_version(store: Store) -> tuple:
    """``(number of runs, time of the newest)``: changes whenever a run is stored."""
    row = store.cursor().execute("SELECT count(*), max(created_at) FROM detection_runs").fetchone()
    return (row[0], str(row[1]))


def run_params(store: Store, run_id: str) -> dict:
    """The stored parameters of a run (empty when the run does not exist)."""
    value = store.scalar("SELECT params FROM detection_runs WHERE run_id = ?", [run_id])
    return json.loads(value) if value else {}


def _in_view(flt: EventFilter | None, column: str = "s.item_id") -> tuple[str, list, str]:
    """``(with_clause, params, condition on column)``: the run's items in view under ``flt``.

    An item is in view when at least one of its label events passes the filter, the rule the Monitor
    pages count items by; the events are read through ``events_cte``. An empty filter puts every item of
    the run in view without reading the events (a run scores only items that have events), which keeps a
    run of millions of items one scan away.
    """
    if column not in ("s.item_id", "item_id"):
        raise ValueError(f"unknown column {column!r}")
    cte, params = events_cte(flt)
    if flt is None or flt.is_empty():
        return cte, params, "TRUE"
    return cte, params, column + " IN (SELECT item_id FROM ev)"


def _suspect_condition(run_id: str, *, status: str | None = MISLABELED, cluster_id: str | None = None,
                       given_label: str | None = None, suggested_label: str | None = None,
                       min_score: float | None = None, item_ids: list[str] | None = None) -> tuple[str, list]:
    """WHERE clause over ``suspects s`` for the Suspects page's own controls; every value a parameter."""
    clauses, params = ["s.run_id = ?"], [run_id]
    if status is not None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; use one of {', '.join(STATUSES)} or None")
        clauses.append("s.status = ?")
        params.append(status)
    if cluster_id is not None:
        clauses.append("s.cluster_id = ?")
        params.append(cluster_id)
    if given_label is not None:
        clauses.append("s.given_label = ?")
        params.append(given_label)
    if suggested_label is not None:
        clauses.append("s.suggested_label = ?")
        params.append(suggested_label)
    if min_score is not None:
        clauses.append("s.score >= ?")
        params.append(float(min_score))
    if item_ids is not None:
        clauses.append("list_contains(?, s.item_id)")
        params.append([str(i) for i in item_ids])
    return " AND ".join(clauses), params


def suspects_page(store: Store, run_id: str, *, flt: EventFilter | None = None, limit: int | None = 50,
                  offset: int = 0, with_total: bool = True,
                  **filters: object) -> tuple[pd.DataFrame, int | None]:
    """One page of a run's items in view (``limit`` None: all of them), by status, strongest evidence
    first, and how many match in all.

    Parameters
    ----------
    store : Store
        The store.
    run_id : str
        The run.
    flt : EventFilter, optional
        The global filter: only items in view count (``_in_view``).
    limit, offset : int
        The page.
    with_total : bool
        Also count every match (a second query); False returns None as the count.
    **filters
        ``status`` (``"mislabeled"``, the default, ``"no_consensus"``, ``"ok"``, or None for all),
        ``cluster_id``, ``given_label``, ``suggested_label``, ``min_score``, ``item_ids``.

    Returns
    -------
    (DataFrame, int or None)
        Columns ``rank, item_id, status, score, given_label, suggested_label, agreeing, available,
        cluster_id, explanation`` (``agreeing`` of ``available`` independent signals pick the suggested
        label), and the number of matching items.
    """
    cte, view_params, where, params = _where(run_id, flt, filters)
    page = store.query(
        cte + "SELECT p.rank, p.item_id, p.status, p.score, p.given_label, p.suggested_label, "
        "(p.signals->>'signals_agreeing')::INTEGER AS agreeing, "
        "(p.signals->>'signals_available')::INTEGER AS available, p.cluster_id, p.explanation FROM ("
        "SELECT s.rank, s.item_id, s.status, s.score, s.given_label, s.suggested_label, s.signals, "
        "s.cluster_id, s.explanation FROM suspects s WHERE " + where
        + " ORDER BY list_position(?, s.status), s.rank" + ("" if limit is None else " LIMIT ?")
        + " OFFSET ?) p ORDER BY list_position(?, p.status), p.rank",
        [*view_params, *params, list(STATUSES), *([] if limit is None else [int(limit)]), int(offset),
         list(STATUSES)],
    )
    total = None
    if with_total:
        total = int(store.scalar(cte + "SELECT count(*) FROM suspects s WHERE " + where,
                                 [*view_params, *params]))
    return page, total


def _where(run_id: str, flt: EventFilter | None, filters: dict) -> tuple[str, list, str, list]:
    cte, view_params, view = _in_view(flt)
    condition, params = _suspect_condition(run_id, **filters)
    return cte, view_params, condition + " AND " + view, params


def suspect_item_ids(store: Store, run_id: str, *, flt: EventFilter | None = None,
                     **filters: object) -> list[str]:
    """Every item id matching ``suspects_page``'s filters (for sending a whole selection to review)."""
    cte, view_params, where, params = _where(run_id, flt, filters)
    return store.query(cte + "SELECT s.item_id FROM suspects s WHERE " + where + " ORDER BY s.rank",
                       [*view_params, *params])["item_id"].tolist()


def view_counts(store: Store, run_id: str, flt: EventFilter | None = None) -> pd.DataFrame:
    """The run's items in view, counted by status and cluster, with what their gold labels say.

    Parameters
    ----------
    store : Store
        The store.
    run_id : str
        The run.
    flt : EventFilter, optional
        The global filter (``_in_view``).

    Returns
    -------
    DataFrame
        One row per (status, cluster) with items in view: ``status, cluster_id, items, score_sum,
        score_min, score_max`` and, of those items with a gold label (``gold_labels``; an item whose gold
        rows disagree accepts any of them), ``gold_items``, ``gold_given_wrong`` (a given label the gold
        does not accept) and ``gold_suggested_right`` (a suggestion it accepts). One scan of the run,
        every count in SQL.
    """
    cte, view_params, view = _in_view(flt)
    return store.query(
        cte + ", gold AS (SELECT item_id, list(DISTINCT label) AS gold FROM live_gold_labels GROUP BY ALL) "
        "SELECT s.status, s.cluster_id, count(*) AS items, sum(s.score) AS score_sum, "
        "min(s.score) AS score_min, max(s.score) AS score_max, "
        "count(g.gold) AS gold_items, "
        "count(*) FILTER (WHERE NOT list_contains(g.gold, s.given_label)) AS gold_given_wrong, "
        "count(*) FILTER (WHERE list_contains(g.gold, s.suggested_label)) AS gold_suggested_right "
        "FROM suspects s LEFT JOIN gold g USING (item_id) WHERE s.run_id = ? AND " + view
        + " GROUP BY ALL ORDER BY ALL",
        [*view_params, run_id],
    )


def run_overview(store: Store, run_id: str) -> dict:
    """Counts of a whole run: items scored, flagged (likely mislabeled), without consensus, flagged by
    cleanlab, and the mean score of the flagged (log10 odds)."""
    row = store.cursor().execute(
        "SELECT count(*), count(*) FILTER (WHERE status = ?), count(*) FILTER (WHERE status = ?), "
        "count(*) FILTER (WHERE (signals->>'cleanlab_issue')::BOOLEAN), avg(score) FILTER (WHERE status = ?) "
        "FROM suspects WHERE run_id = ?",
        [MISLABELED, NO_CONSENSUS, MISLABELED, run_id],
    ).fetchone()
    return {"items": row[0], "flagged": row[1], "no_consensus": row[2], "cleanlab_issues": row[3],
            "mean_flagged_score": row[4]}


def clusters(store: Store, run_id: str) -> pd.DataFrame:
    """The run's clusters, largest first, with every summary field (``analytics.detection.clusters``)."""
    frame = store.query(
        "SELECT summary FROM suspect_clusters WHERE run_id = ? ORDER BY size DESC, cluster_id", [run_id]
    )
    return pd.DataFrame([json.loads(value) for value in frame["summary"]])


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
        "FROM ev e LEFT JOIN annotators a USING (annotator_id) "
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


def prediction_models(store: Store) -> list[str]:
    """The model versions of imported predictions, sorted."""
    frame = store.query("SELECT DISTINCT model_version FROM live_predictions ORDER BY 1")
    return frame["model_version"].tolist()


def prediction_matrix(store: Store, model_version: str, items: pd.Index, classes: pd.Index) -> np.ndarray:
    """Imported probabilities of one model as an (N, K) matrix in ``items`` × ``classes`` order.

    Items the model did not score get a row of NaN; classes it did not score get probability 0. The
    latest import of an (item, label) wins.
    """
    n, k = len(items), len(classes)
    wanted = pa.table({"item_id": pa.array(items.astype(str).to_numpy()),
                       "pos": pa.array(np.arange(n, dtype=np.int64))})
    labels = pa.table({"label": pa.array(classes.astype(str).to_numpy()),
                       "code": pa.array(np.arange(k, dtype=np.int64))})
    cur = store.cursor()
    try:
        cur.register("lw_pred_items", wanted)
        cur.register("lw_pred_labels", labels)
        rows = cur.execute(
            "SELECT w.pos, l.code, last(p.prob ORDER BY p.batch_id) AS prob FROM live_predictions p "
            "JOIN lw_pred_items w USING (item_id) JOIN lw_pred_labels l USING (label) "
            "WHERE p.model_version = ? GROUP BY ALL",
            [model_version],
        ).fetchnumpy()
    finally:
        cur.close()
    matrix = np.full((n, k), np.nan)
    scored = np.unique(rows["pos"])
    matrix[scored] = 0.0
    matrix[rows["pos"], rows["code"]] = rows["prob"]
    return matrix


@dataclasses.dataclass(frozen=True)
class SuspectContext:
    """What clustering needs to describe a group of items
    (``analytics.detection.clusters.cluster_suspects``)."""

    events: pd.DataFrame  # item_id, annotator_id, label, labeled_at, guideline_version, cohort
    attributes: pd.DataFrame  # item_id, key, value
    slice_sizes: pd.DataFrame  # key, value, items (over every item of the store)


def suspect_context(store: Store, item_ids: list[str], flt: EventFilter | None = None) -> SuspectContext:
    """The label events (of those passing ``flt``) and slice attributes of some items, and the size of
    every slice."""
    wanted = pa.table({"item_id": pa.array([str(i) for i in item_ids], type=pa.string())})
    cte, params = events_cte(flt)
    cur = store.cursor()
    try:
        cur.register("lw_context_items", wanted)
        events = cur.execute(
            cte + "SELECT e.item_id, e.annotator_id, e.label, e.labeled_at, e.guideline_version, "
            "coalesce(a.cohort, 'unknown') AS cohort FROM ev e "
            "SEMI JOIN lw_context_items USING (item_id) LEFT JOIN annotators a USING (annotator_id) "
            "ORDER BY e.item_id, e.labeled_at, e.event_id", params
        ).df()
        attributes = cur.sql(
            "SELECT item_id, key, value FROM live_item_attributes SEMI JOIN lw_context_items USING (item_id) "
            "ORDER BY ALL"
        ).df()
        cur.unregister("lw_context_items")
    finally:
        cur.close()
    sizes = store.query("SELECT key, value, count(DISTINCT item_id) AS items FROM live_item_attributes "
                        "GROUP BY ALL ORDER BY ALL")
    return SuspectContext(events, attributes, sizes)


def compare_runs(store: Store, run_id: str, previous_id: str, flt: EventFilter | None = None) -> dict:
    """How two runs' flags (likely mislabeled) differ on the items in view under ``flt``: flagged in both,
    only in ``run_id`` (new), only in ``previous_id`` (gone).

    Items are matched by id; an item scored by one run only counts as not flagged by the other.
    """
    cte, view_params, view = _in_view(flt, column="item_id")
    row = store.cursor().execute(
        cte + "SELECT count(*) FILTER (WHERE a.flagged AND b.flagged), "
        "count(*) FILTER (WHERE a.flagged AND NOT coalesce(b.flagged, FALSE)), "
        "count(*) FILTER (WHERE b.flagged AND NOT coalesce(a.flagged, FALSE)) "
        "FROM (SELECT item_id, status = ? AS flagged FROM suspects WHERE run_id = ?) a "
        "FULL JOIN (SELECT item_id, status = ? AS flagged FROM suspects WHERE run_id = ?) b USING (item_id) "
        "WHERE " + view,
        [*view_params, MISLABELED, run_id, MISLABELED, previous_id],
    ).fetchone()
    return {"both": row[0], "new": row[1], "gone": row[2]}
