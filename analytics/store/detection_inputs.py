"""What a detection run reads from the store: the coded ratings, features and rules of the items in view
(``detection_inputs``), an imported model's probabilities (``prediction_matrix``), and the events and slices
clustering describes a group of suspects with (``suspect_context``).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pyarrow as pa

from analytics.core.schema import EventFilter
from analytics.store.connection import Store
from analytics.store.consensus import CodedRatings, coded_ratings
from analytics.store.filters import events_cte


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
            "SEMI JOIN lw_context_items USING (item_id) LEFT JOIN live_annotators a USING (annotator_id) "
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
