"""Reads behind the Slices page: per-item noise outcomes counted by slice attributes and class.

Everything the page shows (each slice, each pair of slices, the slice × class heatmap, the search for the
noisiest combinations) is a sum of one *slice cube*, aggregated here in one scan of the filtered ratings:
one row per combination of an item's attribute values and its majority label, with the counts of the
per-item outcomes below. Summing the cube's rows over any set of attributes gives the exact counts of those
slices (each item lies in exactly one row), so 1e7 events travel to Python as a few hundred rows.

Per-item outcomes (a *rating* is the latest event of an (item, annotator) pair, ``ratings_sql``):

- ``items``: items with at least one filtered rating; ``ratings``: their ratings.
- ``rated_items``: items with two or more ratings; ``disputed``: those whose ratings are not unanimous
  (at least two distinct labels). The disagreement rate is ``disputed / rated_items``.
- ``gold_items``: items with a gold label (any source); ``gold_errors``: those whose majority label is not
  one of their gold labels.
- ``scored``: items the given detection run scored; ``flagged``: those it flagged as suspects.

The *majority label* of an item is its most frequent rating; a tie goes to the label rated most often over
all filtered ratings, then to the smallest label, the rule of
``analytics.consensus.majority.majority_vote``.
Every count is per item, never per rating: an item is the unit the statistics of
``analytics.monitoring.slices``
treat as independent.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from analytics.core.schema import EventFilter
from analytics.store.connection import Store
from analytics.store.filters import (
    ATTRIBUTE_VALUES,
    BASE_SAMPLE,
    BASE_SAMPLE_ATTRIBUTES,
    events_cte,
    events_source,
)
from analytics.store.ratings import LATEST, ratings_sql

#: Count columns of the slice cube, in order (see the module docstring).
COUNT_COLUMNS = (
    "items", "ratings", "rated_items", "disputed", "gold_items", "gold_errors", "scored", "flagged",
)

#: The cube codes an item's attribute values as one BIGINT (mixed radix); keys that would overflow it drop.
_MAX_CELL = 2**62


def slice_attributes(store: Store) -> pd.DataFrame:
    """Every slice attribute of the store: ``attribute, values, items``, by attribute name.

    ``values`` counts the distinct values, ``items`` the items that carry the attribute (one row each,
    see ``slice_cube``).
    """
    if store.lake_tables:  # a lake's attribute values, counted when its files last changed
        return store.query("SELECT key AS attribute, count(value) AS \"values\", sum(n)::BIGINT AS items "
                           "FROM " + ATTRIBUTE_VALUES + " GROUP BY key ORDER BY key")
    return store.query(
        "SELECT key AS attribute, count(DISTINCT value) AS \"values\", count(*) AS items "
        "FROM live_item_attributes GROUP BY key ORDER BY key"
    )


def slice_cube(
    store: Store,
    flt: EventFilter | None = None,
    *,
    run_id: str | None = None,
    max_values: int = 50,
    max_classes: int = 20,
    sample_modulus: int = 1,
) -> pd.DataFrame:
    """Per-item noise outcomes of the filtered ratings, counted by attribute values and majority label.

    Parameters
    ----------
    store : Store
        An open store (read-only is fine).
    flt : EventFilter or None
        The dashboard filter, applied to the events; None reads every event.
    run_id : str or None
        The detection run whose ``suspects`` give ``scored`` and ``flagged``; None leaves both at 0.
    max_values : int
        Attributes with more distinct values than this (ids, free text) are left out of the cube: they
        cannot make slices large enough to test. ``slice_attributes`` lists every attribute.
    max_classes : int
        The cube keeps the majority label of the ``max_classes`` labels rated most often and pools every
        other as one class, ``label`` None: with thousands of classes the cube (and the slice × class
        heatmap drawn from it) stays within Π (V_a + 1) × (``max_classes`` + 1) rows. The slice counts do
        not change: only the ``label`` column is pooled.
    sample_modulus : int
        Above 1, only a 1-in-m sample of items (all their ratings), as in ``analytics.store.agreement``.

    Returns
    -------
    DataFrame
        One row per (combination of attribute values, majority label) that some filtered item has. The
        index holds the attribute values, one level per attribute named by its key, sorted by key (a
        plain ``Index`` for one attribute; a ``RangeIndex`` when the store has no attributes); a value is
        None where the item lacks that attribute. Columns: ``label`` (the majority label, None for the
        pooled other classes), then ``COUNT_COLUMNS`` as int64. Rows are sorted by the attribute values in
        key order (missing first), then label (pooled last). Empty (same columns) when no event passes the
        filter. ``attrs["classes"]`` holds how many labels the filtered ratings use, and
        ``attrs["max_classes"]`` the option.

    Notes
    -----
    The majority label is ``arg_max`` of the item's labels by n · 2³² − (the label's rank by overall
    frequency, then name): more votes first, ties to the more frequent label. A constant multiplier keeps
    the aggregate parallel (a scalar subquery for K + 1 made it single-threaded, 1.25 s instead of 0.7 s
    at 1e7 events). A detection run has one ``suspects`` row per item it scored (``save_run``), so the
    run's rows join without grouping.

    An item holds one value per attribute: ``item_attributes`` has one row per (item, key), since an item
    is imported once (``analytics.ingest.pipeline`` rejects an item id the store holds) with one value per
    column;
    the codes below rely on it. Items join the attribute, gold and suspect tables by the 64-bit hash of
    their id, as in ``label_counts`` (a collision among 3e6 items has probability ~2e-7). Each kept
    attribute's values are coded 1…V (0: missing) and an item's codes are summed into one BIGINT in mixed
    radix, so the final grouping is over two small columns; the cube has at most Π (V_a + 1) × K rows,
    and at most N.
    """
    if int(max_values) != max_values or max_values < 1:
        raise ValueError("max_values must be a whole number ≥ 1")
    if int(max_classes) != max_classes or max_classes < 1:
        raise ValueError("max_classes must be a whole number ≥ 1")
    cte, params = events_cte(flt, sample_modulus, base=store.sample_base)
    ratings = ratings_sql("ev", {"item_key": "hash(e.item_id)", "annotator_id": "e.annotator_id"},
                          {"label": LATEST["label"]})
    modulus = max(1, int(sample_modulus))  # the sampled items' gold labels and attributes only
    inside = events_source(modulus, store.sample_base) == BASE_SAMPLE  # a lake's base sample holds them
    attributes = BASE_SAMPLE_ATTRIBUTES if inside else "live_item_attributes"
    values_source = ATTRIBUTE_VALUES if store.lake_tables else "live_item_attributes"
    with store.snapshot() as cur:
        keys, values = store.remembered(("attribute_dictionary", int(max_values)),
                                        lambda: _attribute_dictionary(cur, int(max_values), values_source))
        weights, keys, values = _weights(keys, values)
        frame = cur.execute(
            cte + ", r AS (" + ratings + "),"
            """
        c AS (SELECT item_key, label, count(*) AS n FROM r GROUP BY ALL),
        lab AS (SELECT label, row_number() OVER (ORDER BY sum(n) DESC, label) AS pri,
                       count(*) OVER () AS classes FROM c GROUP BY label),
        it AS (SELECT c.item_key, sum(c.n) AS ratings, count(*) AS labels,
                      arg_max(c.label, c.n * 4294967296 - lab.pri) AS label
               FROM c JOIN lab USING (label) GROUP BY c.item_key),
        gold AS (SELECT hash(item_id) AS item_key, list(DISTINCT label) AS gold FROM live_gold_labels
                 WHERE hash(item_id) % ?::UBIGINT = 0 GROUP BY ALL),
        sus AS (SELECT hash(item_id) AS item_key, flagged FROM suspects WHERE run_id = ?),
        dict AS (SELECT unnest(?::VARCHAR[]) AS key, unnest(?::VARCHAR[]) AS value,
                        unnest(?::BIGINT[]) AS weight),
        att AS (SELECT hash(a.item_id) AS item_key, sum(d.weight)::BIGINT AS cell
                FROM """ + attributes + """ a JOIN dict d USING (key, value)
                WHERE hash(a.item_id) % ?::UBIGINT = 0 GROUP BY ALL)
        SELECT coalesce(att.cell, 0) AS cell, CASE WHEN lab.pri <= ? THEN it.label END AS label,
               max(lab.classes) AS classes, count(*) AS items, sum(it.ratings) AS ratings,
               count(*) FILTER (WHERE it.ratings > 1) AS rated_items,
               count(*) FILTER (WHERE it.labels > 1) AS disputed,
               count(g.gold) AS gold_items,
               count(*) FILTER (WHERE NOT list_contains(g.gold, it.label)) AS gold_errors,
               count(s.item_key) AS scored, count(*) FILTER (WHERE s.flagged) AS flagged
        FROM it JOIN lab USING (label) LEFT JOIN att USING (item_key) LEFT JOIN gold g USING (item_key)
        LEFT JOIN sus s USING (item_key)
        GROUP BY cell, 2 ORDER BY cell, 2 NULLS LAST""",
            [*params, modulus, run_id, *weights, modulus, int(max_classes)],
        ).df()
    classes = int(frame.pop("classes").max()) if len(frame) else 0
    cube = _decode(frame, keys, values)
    cube.attrs.update(classes=classes, max_classes=int(max_classes))
    return cube


def _attribute_dictionary(cur: duckdb.DuckDBPyConnection, max_values: int,
                          source: str = "live_item_attributes") -> tuple[list[str], list[list[str]]]:
    """The attributes with at most ``max_values`` values, sorted, and each one's sorted values, read from
    ``source`` (the attributes, or a lake's ``ATTRIBUTE_VALUES``)."""
    # the distinct (key, value) pairs first: one hash aggregate, 0.07 s on 5.7e6 attribute rows where
    # count(DISTINCT) and list(DISTINCT) per key took 0.5 s
    rows = cur.execute(
        "WITH v AS (SELECT key, value FROM " + source + " GROUP BY ALL) "
        "SELECT key, list(value ORDER BY value) FROM v GROUP BY key HAVING count(value) <= ? ORDER BY key",
        [max_values],
    ).fetchall()
    return [row[0] for row in rows], [list(row[1]) for row in rows]


def _weights(keys: list[str], values: list[list[str]]) -> tuple[list, list[str], list[list[str]]]:
    """The ``dict`` parameters (key, value, weight per value) of the attributes that fit in a BIGINT.

    Value v (1-based) of the j-th attribute weighs v × Π_{i>j} (V_i + 1): the first attribute is the
    most significant digit, so cells sort by the attributes' values in order, missing (0) first. The
    attributes with the most values are left out first, should the product overflow.
    """
    kept = list(range(len(keys)))
    while kept and np.prod([len(values[j]) + 1.0 for j in kept]) >= _MAX_CELL:
        kept.remove(max(kept, key=lambda j: len(values[j])))
    keys, values = [keys[j] for j in kept], [values[j] for j in kept]
    stride, flat_keys, flat_values, flat_weights = 1, [], [], []
    for key, vals in zip(reversed(keys), reversed(values), strict=True):
        flat_keys += [key] * len(vals)
        flat_values += vals
        flat_weights += [stride * code for code in range(1, len(vals) + 1)]
        stride *= len(vals) + 1
    return [flat_keys, flat_values, flat_weights], keys, values


def _decode(frame: pd.DataFrame, keys: list[str], values: list[list[str]]) -> pd.DataFrame:
    """The cube with each cell code split back into one index level of values per attribute."""
    cells = frame.pop("cell").to_numpy(np.int64)
    counts = frame.astype({column: np.int64 for column in COUNT_COLUMNS})[["label", *COUNT_COLUMNS]]
    if not keys:
        return counts.reset_index(drop=True)
    levels, stride = [], 1
    for vals in reversed(values):
        codes = (cells // stride) % (len(vals) + 1)
        # code 0 (missing) indexes the trailing None
        levels.insert(0, np.array([*vals, None], dtype=object)[codes - 1])
        stride *= len(vals) + 1
    index = (pd.Index(levels[0], name=keys[0], dtype=object) if len(keys) == 1
             else pd.MultiIndex.from_arrays(levels, names=keys))
    return counts.set_axis(index, axis=0)
