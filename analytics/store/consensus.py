"""Reads behind consensus: the ratings as dense integer codes, ready for ``DawidSkene.fit_codes``.

A *rating* is one annotator's label of one item: the latest of their events on it (by ``labeled_at``, then
by ``event_id`` for events at the same time), as in ``analytics.store.agreement``. Items, annotators and
labels travel to Python as integer codes computed in DuckDB, so 1e7 events cost three int32 columns plus
the distinct ids once, never a string per event.

The codes index three dictionaries: the distinct item ids, annotator ids and labels of the filtered events,
each sorted, code c being the c-th value. They live in TEMP tables of the query's own cursor (DuckDB
allows those on a read-only store), which disappear when the cursor closes.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from analytics.core.schema import EventFilter
from analytics.store.connection import Store
from analytics.store.filters import event_condition, events_source

#: (TEMP table, column of label_events) of each dictionary.
_DICTIONARIES = (
    ("consensus_items", "item_id"),
    ("consensus_annotators", "annotator_id"),
    ("consensus_labels", "label"),
)


@dataclasses.dataclass(frozen=True)
class CodedRatings:
    """Ratings as integer codes and the dictionaries that turn codes back into ids.

    Attributes
    ----------
    item_codes, annotator_codes, label_codes : ndarray of int32, shape (R,)
        One row per rating, sorted by item code, then annotator code.
    items, annotators, classes : Index
        ``items[c]`` is the ``item_id`` of item code c; likewise ``annotator_id`` and ``label``. Each is
        sorted and holds exactly the values of the ratings (a label that only a superseded event gave is
        not a class).
    """

    item_codes: np.ndarray
    annotator_codes: np.ndarray
    label_codes: np.ndarray
    items: pd.Index
    annotators: pd.Index
    classes: pd.Index

    def __len__(self) -> int:
        return len(self.item_codes)


def coded_ratings(store: Store, flt: EventFilter | None = None, *, sample_modulus: int = 1) -> CodedRatings:
    """One rating per (item, annotator) of the filtered events, as dense integer codes.

    Parameters
    ----------
    store : Store
        An open store (read-only is fine).
    flt : EventFilter or None
        The global filter; None reads every event.
    sample_modulus : int
        Above 1, only the items with ``hash(item_id) % m = 0`` (all their ratings): a 1-in-m sample for
        very large stores. The dictionaries are those of the sampled events (an annotator with no rating in
        the sample has no code), read from the store's base sample when it holds them
        (``analytics.store.filters.events_source``).

    Returns
    -------
    CodedRatings
        Empty arrays and dictionaries when no event passes the filter.

    Notes
    -----
    Three statements on one cursor: the dictionaries (``row_number()`` over the sorted distinct values)
    into TEMP tables; the events joined to them, sorted by (item, annotator, labeled_at, event_id); the
    dictionaries back as Arrow strings. The latest event of each (item, annotator) is the last of its run in
    that order, kept here with one comparison of neighbours: at 1e7 events the sort plus that pass takes
    ~2.3 s where ``GROUP BY … arg_max`` took ~3.1 s, and the sorted rows give the incidence matrix of
    ``DawidSkene.fit_codes`` without another sort.

    Examples
    --------
    With an open store::

        ratings = coded_ratings(store)
        DawidSkene().fit_codes(ratings.item_codes, ratings.annotator_codes, ratings.label_codes,
                               items=ratings.items, annotators=ratings.annotators, classes=ratings.classes)
    """
    condition, params = event_condition(flt, sample_modulus=sample_modulus)
    source = events_source(sample_modulus, store.sample_base)
    cur = store.cursor()
    try:
        for table, column in _DICTIONARIES:
            cur.execute(
                "CREATE OR REPLACE TEMP TABLE " + table + " AS SELECT " + column + " AS value, "
                "(row_number() OVER (ORDER BY " + column + ") - 1)::INTEGER AS code "
                "FROM (SELECT DISTINCT e." + column + " FROM " + source + " e WHERE " + condition + ")",
                params,
            )
        codes = cur.execute(
            "SELECT i.code AS item_code, a.code AS annotator_code, l.code AS label_code "
            "FROM " + source + " e JOIN consensus_items i ON i.value = e.item_id "
            "JOIN consensus_annotators a ON a.value = e.annotator_id "
            "JOIN consensus_labels l ON l.value = e.label "
            "WHERE " + condition + " ORDER BY i.code, a.code, e.labeled_at, e.event_id",
            params,
        ).fetchnumpy()
        dictionaries = [
            cur.sql("SELECT value FROM " + table + " ORDER BY code").to_arrow_table()["value"].to_pandas()
            for table, _ in _DICTIONARIES
        ]
    finally:
        cur.close()
    item, annotator, label = (np.asarray(codes[c], dtype=np.int32) for c in codes)
    latest = np.ones(len(item), dtype=bool)
    latest[:-1] = (item[1:] != item[:-1]) | (annotator[1:] != annotator[:-1])
    if not latest.all():
        item, annotator, label = item[latest], annotator[latest], label[latest]
    items, annotators, classes = (
        pd.Index(values, name=column) for values, (_, column) in zip(dictionaries, _DICTIONARIES, strict=True)
    )
    # A label that only superseded events gave is no class of the ratings: drop it and close the gap.
    used = np.bincount(label, minlength=len(classes)) > 0
    if not used.all():
        label = (np.cumsum(used, dtype=np.int32) - 1)[label]
        classes = classes[used]
    return CodedRatings(item, annotator, label, items, annotators, classes)
