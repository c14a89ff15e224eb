"""Detection runs in the store: saving a run, and the reads of stored runs behind the Suspects page (pages
of suspects, counts in view, clusters, two runs compared). What a run reads is ``detection_inputs``; one
item's drill-down is ``item_drilldown``; items sent to review are ``review_requests``.

A run (``detection_runs``) keeps its parameters (the model's provenance and cross-validated quality, the
filter it ran on, the weights) so results are reproducible and comparable; ``suspects`` holds one row per
item scored (status, rank within it, score, the evidence in words, every signal as JSON),
``suspect_clusters`` the run's mislabeling patterns, ``run_annotators`` the annotators' reliability at
the time of the run and ``run_pred_probs`` what confident learning ran on (each item's label as the run
held it and the model's probabilities, for an export in cleanlab's form). Reads of a run count only its
items in view under the global filter (``_in_view``): without a filter they never touch the label events;
with one, they read them through ``events_cte``.
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
from analytics.store.filters import events_cte

if TYPE_CHECKING:  # the results this module stores; the store does not depend on detection at run time
    from analytics.detection.clusters import Clusters
    from analytics.detection.run import CleanlabInputs, Detection

#: The signals kept as JSON per suspect (columns of ``analytics.detection.run.Detection.items``).
SIGNAL_COLUMNS = (
    "consensus_label", "suggested_prob", "signals_agreeing", "signals_available", "n_ratings", "votes_given",
    "votes_suggested", "annotator_prob", "model_prob", "model_suggested_prob", "model_top", "cleanlab_issue",
    "label_quality", "neighbour_share", "neighbours", "rules",
)


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
        inputs = detection.cleanlab_inputs
        if inputs is not None and len(inputs.item_ids):
            cur.register("lw_run_probs", _probability_rows(inputs, detection.classes))
            cur.execute("INSERT INTO run_pred_probs SELECT ?, row, item_id, label, consensus, pred_probs "
                        "FROM lw_run_probs", [run_id])
            cur.unregister("lw_run_probs")
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


def _probability_rows(inputs: CleanlabInputs, classes: pd.Index) -> pa.Table:
    """``CleanlabInputs`` as the rows of ``run_pred_probs``, assembled in Arrow (one list of K doubles per
    item from the flat matrix, never a Python list per item)."""
    m, k = inputs.pred_probs.shape
    offsets = pa.array(np.arange(0, (m + 1) * k, k, dtype=np.int64))
    probs = pa.LargeListArray.from_arrays(offsets, pa.array(np.ascontiguousarray(inputs.pred_probs,
                                                                               dtype=np.float64).ravel()))
    names = classes.astype(str).to_numpy()
    return pa.table({"row": pa.array(np.arange(m, dtype=np.int64)),
                     "item_id": pa.array(inputs.item_ids.astype(str)),
                     "label": pa.array(names[inputs.labels]),
                     "consensus": pa.array(np.asarray(inputs.consensus, dtype=bool)),
                     "pred_probs": probs})


def _filter_params(flt: EventFilter | None) -> dict:
    return {key: value for key, value in dataclasses.asdict(flt or EventFilter()).items() if value}


def _json(value: object) -> str:
    """Strict JSON (NaN and infinities become null, numpy and time values plain)."""
    return json.dumps(_finite(value), default=_json_default, allow_nan=False)


def _finite(value: object) -> object:
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(item) for item in value]
    if isinstance(value, float | np.floating) and not np.isfinite(value):
        return None
    return value


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dt.date | dt.datetime | pd.Timestamp):
        return value.isoformat()
    if value is pd.NaT or value is pd.NA:
        return None
    return str(value)


def _text(value: object) -> str | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _number(value: float | None) -> float | None:
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


def run_pred_probs(store: Store, run_id: str) -> tuple[pd.DataFrame, np.ndarray]:
    """What confident learning ran on in run ``run_id``, in the order it saw the items.

    Returns
    -------
    (DataFrame, ndarray)
        ``item_id, label, consensus`` per item with a model opinion, and the (M, K) float64 matrix of the
        model's probabilities in the order of the run's classes (``run_params(...)["classes"]``). Empty
        (M = 0, K = 0) for a run without a model opinion, a run stored before they were kept, or no run.
    """
    cur = store.cursor()
    try:
        table = cur.sql("SELECT item_id, label, consensus, pred_probs FROM run_pred_probs "
                        "WHERE run_id = ? ORDER BY row", params=[run_id]).to_arrow_table()
    finally:
        cur.close()
    frame = table.select(["item_id", "label", "consensus"]).to_pandas()
    if not table.num_rows:
        return frame, np.zeros((0, 0))
    probs = table["pred_probs"].combine_chunks()
    widths = probs.value_lengths().to_numpy()
    if (widths != widths[0]).any():
        raise ValueError(f"run {run_id!r} holds probability rows of different lengths")
    matrix = probs.flatten().to_numpy(zero_copy_only=False).astype(np.float64).reshape(len(frame), widths[0])
    return frame, matrix


def has_pred_probs(store: Store, run_id: str) -> bool:
    """Whether run ``run_id`` kept what its confident learning ran on (``run_pred_probs``)."""
    return bool(store.scalar("SELECT EXISTS (SELECT 1 FROM run_pred_probs WHERE run_id = ?)", [run_id]))


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
