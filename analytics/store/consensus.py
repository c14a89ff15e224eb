"""Reads behind consensus: the ratings as dense integer codes, ready for ``DawidSkene.fit_codes``.

A *rating* is one annotator's label of one item: the latest of their events on it (by ``labeled_at``, then
by ``event_id`` for events at the same time), as in ``analytics.store.agreement``. Items, annotators and
labels travel to Python as integer codes, never a string per rating, except the item ids once: DuckDB reads
the ratings (``analytics.store.ratings.ratings_sql``: only the (item, annotator) pairs listed in
``rating_repeats`` are grouped) in one scan, with annotators and labels already coded; Arrow codes the item
ids and NumPy sorts the ratings. No sort and no join over items runs in DuckDB, whose memory budget
(``analytics.store.connection.DEFAULT_MEMORY_LIMIT``) a lake's tens of millions of items overflow.

The codes index three dictionaries: the distinct item ids, annotator ids and labels of the ratings, each
sorted, code c being the c-th value.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analytics.core.schema import EventFilter
from analytics.store.connection import Store
from analytics.store.filters import event_condition, events_source, store_values
from analytics.store.ratings import LATEST, ratings_sql

#: The columns of the ratings, in code order: item, annotator, label.
_COLUMNS = ("item_id", "annotator_id", "label")
#: Ratings from which the items are coded in two parts, in two threads (``_split``).
_SPLIT_FROM = 2**20


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
        very large stores, read from the store's base sample when it holds them
        (``analytics.store.filters.events_source``). The dictionaries are those of the sampled ratings (an
        annotator with no rating in the sample has no code).

    Returns
    -------
    CodedRatings
        Empty arrays and dictionaries when no event passes the filter.

    Notes
    -----
    Two statements in one transaction on one cursor: the store's sorted distinct annotators and labels
    (small; from the day rollup when the store keeps one, which holds every live event, else one scan of
    the events; the filter's own would take two scans of it), then the ratings as Arrow, each its item id
    and one integer for its (annotator, label), coded in DuckDB by joins to the two dictionaries passed as
    list parameters (as fast as a cast to an ENUM type, which would put the values in the SQL text); the
    annotators and labels the ratings do not use are then dropped from the dictionaries (``_used``). In
    Python the ratings are cut in two at about their median item id (``_split``), and each part, in its
    own thread (Arrow's and NumPy's kernels release the GIL), dictionary-encodes its item ids, sorts its
    dictionary, renumbers the codes by rank and sorts its ratings by (item, annotator, label) as one int64
    key; the parts then follow one another. At 1e8 events (28.6
    million items, on 2 cores shared with other work) this takes ~38–48 s, of which ~10 s in DuckDB, ~7 s
    cutting in two and ~20 s coding and sorting the parts, with a peak of ~7.5 GB; the former plan (sorted
    dictionaries by ``row_number()`` as TEMP tables, the events joined to them and sorted by (item,
    annotator, labeled_at, event_id) in DuckDB) took ~87–111 s, spilling beyond DuckDB's memory budget, and
    gave the same codes. At 1e7 events, ~2.6–3.5 s where it took ~3.5–5 s.

    Examples
    --------
    With an open store::

        ratings = coded_ratings(store)
        DawidSkene().fit_codes(ratings.item_codes, ratings.annotator_codes, ratings.label_codes,
                               items=ratings.items, annotators=ratings.annotators, classes=ratings.classes)
    """
    condition, params = event_condition(flt, sample_modulus=sample_modulus, base=store.sample_base)
    events = "(SELECT e.* FROM " + events_source(sample_modulus, store.sample_base) + " e WHERE " + condition
    events += " AND e.item_id IS NOT NULL AND e.annotator_id IS NOT NULL AND e.label IS NOT NULL)"
    ratings = ratings_sql(events, {"item_id": "e.item_id", "annotator_id": "e.annotator_id"},
                          {"label": LATEST["label"]})
    cur = store.cursor()
    try:
        cur.begin()  # one snapshot for the dictionaries and the ratings
        annotators, labels = (pd.Series(values, dtype=object)
                              for values in store_values(cur, store.lake_tables, *_COLUMNS[1:]))
        m, k = len(annotators), len(labels)
        integer = "::INTEGER" if m * k < 2**31 else "::BIGINT"
        table = cur.sql(
            "WITH " + _codes("a", integer) + ", " + _codes("l", integer) + " SELECT r.item_id, a.code * "
            + str(k) + " + l.code AS pair FROM (" + ratings + ") r JOIN a ON a.value = r.annotator_id "
            "JOIN l ON l.value = r.label",
            params=[annotators.tolist(), labels.tolist(), *params, *params],  # the events are read twice
        ).to_arrow_table()
        cur.rollback()
    finally:
        cur.close()
    pairs = [chunk.to_numpy() for chunk in table.column("pair").chunks]
    parts = _split(table.column("item_id"), np.concatenate(pairs) if pairs else np.zeros(0, np.int32))
    del table, pairs
    with ThreadPoolExecutor(len(parts)) as pool:
        coded = list(pool.map(lambda i: _sorted_codes(parts, i, m * k), range(len(parts))))
    offsets = np.cumsum([0] + [len(items) for _, _, items in coded[:-1]], dtype=np.int32)
    item = np.concatenate([codes + offset for (codes, _, _), offset in zip(coded, offsets, strict=True)])
    pair = np.concatenate([pair for _, pair, _ in coded])
    items = pa.chunked_array([items for _, _, items in coded], type=coded[0][2].type).to_pandas()
    del coded
    pa.default_memory_pool().release_unused()  # Arrow's allocator would keep the strings' pages
    # The dictionaries are the store's: drop the annotators and labels these ratings do not use (a label
    # that only superseded events gave is no class of the ratings either) and close the gaps.
    annotator, annotators = _used(pair // max(k, 1), annotators)
    label, labels = _used(pair % max(k, 1), labels)
    names = (pd.Index(values, name=column)
             for values, column in zip((items, annotators, labels), _COLUMNS, strict=True))
    return CodedRatings(item, annotator.astype(np.int32), label.astype(np.int32), *names)


def _used(codes: np.ndarray, values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """``codes`` into ``values`` renumbered into the values they use, in order, and those values.

    Examples
    --------
    >>> codes, values = _used(np.array([3, 0, 3]), pd.Series(["a", "b", "c", "d"]))
    >>> codes.tolist(), values.tolist()
    ([1, 0, 1], ['a', 'd'])
    """
    used = np.bincount(codes, minlength=len(values)) > 0
    if used.all():
        return codes, values
    return (np.cumsum(used, dtype=np.int32) - 1)[codes], values[used].reset_index(drop=True)


def _codes(name: str, integer: str) -> str:
    """``<name> AS (value, code)``: the code of each value of a list parameter, its position from 0."""
    return (name + " AS (SELECT value, (i - 1)" + integer + " AS code "
            "FROM unnest(?::VARCHAR[]) WITH ORDINALITY AS t(value, i))")


def _split(items: pa.ChunkedArray, pairs: np.ndarray) -> list[tuple[pa.ChunkedArray, np.ndarray]]:
    """The ratings (item ids and pair codes) in two parts at about their median item id: every id of the
    first part sorts before every id of the second, so the parts are coded apart (in two threads) and
    their sorted dictionaries and codes simply follow one another."""
    n = len(items)
    if n < _SPLIT_FROM:
        return [(items, pairs)]
    step = max(1, n // 4096)
    sample = pa.concat_arrays([chunk.take(np.arange(0, len(chunk), step)) for chunk in items.chunks])
    pivot = sample.take(pc.sort_indices(sample))[len(sample) // 2]
    high = pc.greater_equal(items, pivot)
    upper = np.concatenate([chunk.to_numpy(zero_copy_only=False) for chunk in high.chunks])
    return [(items.filter(pc.invert(high)), pairs[~upper]), (items.filter(high), pairs[upper])]


def _sorted_codes(parts: list, i: int, n_pairs: int) -> tuple[np.ndarray, ...]:
    """``(item codes, pair codes, dictionary)`` of the ratings ``parts[i]`` (item ids, pair codes): the
    distinct ids sorted, the ratings sorted by (item, pair). Takes the part out of ``parts``, so that its ids
    are freed once coded."""
    items, pairs = parts[i]
    parts[i] = None
    item, dictionary = _encode(items)
    del items
    if len(dictionary) * n_pairs < 2**62:  # one int64 key per rating carries both codes: one in-place sort
        key = item.astype(np.int64)
        del item
        key *= n_pairs
        key += pairs
        key.sort()
        item = (key // n_pairs).astype(np.int32)
        key %= n_pairs
        return item, key.astype(pairs.dtype), dictionary
    order = np.lexsort((pairs, item))
    return item[order], pairs[order], dictionary


def _encode(column: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """``(codes, dictionary)``: the column's distinct values sorted, and each row's int32 position there."""
    encoded = pc.dictionary_encode(column)  # one dictionary, shared by every chunk (checked below)
    if encoded.num_chunks == 0:
        return np.zeros(0, dtype=np.int32), pa.array([], type=column.type)
    if len({chunk.dictionary.buffers()[-1].address for chunk in encoded.chunks}) > 1:
        encoded = pa.table({"c": encoded}).unify_dictionaries().column("c")
    dictionary = encoded.chunk(0).dictionary
    order = pc.sort_indices(dictionary).to_numpy()
    rank = np.empty(len(dictionary), dtype=np.int32)
    rank[order] = np.arange(len(dictionary), dtype=np.int32)
    codes = np.concatenate([rank[chunk.indices.to_numpy()] for chunk in encoded.chunks])
    return codes, dictionary.take(pa.array(order))
