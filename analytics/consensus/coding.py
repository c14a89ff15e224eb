"""Ratings as integer codes: the input every consensus model fits on.

Long-format events, one row per label given (``item_id, annotator_id, label``, plus optional ``labeled_at``),
become arrays of length R of item, annotator and label codes, never a dense N × M matrix. Glossary: N items,
M annotators, K classes, R ratings (rows that count after the ``repeated`` rule).

Repeated ratings. ``repeated="latest"`` (the default) keeps one rating per (item, annotator): the latest
by ``labeled_at`` when that column exists (missing times count as oldest; equal times keep the later
row), else the last row in input order. ``repeated="all"`` counts every row as a rating, as Dawid and
Skene (1979) did with their observer who rated each patient three times.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

REQUIRED_COLUMNS = ("item_id", "annotator_id", "label")
REPEATED = ("latest", "all")


@dataclasses.dataclass(frozen=True)
class Ratings:
    """Ratings as integer codes; ``items``, ``annotators`` and ``classes`` hold the sorted originals."""

    item: np.ndarray
    annotator: np.ndarray
    given: np.ndarray
    items: pd.Index
    annotators: pd.Index
    classes: pd.Index


def ratings_from_events(events: pd.DataFrame, repeated: str) -> Ratings:
    """Validate ``events`` once and encode them; the only place that reads the caller's frame."""
    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"events must be a pandas DataFrame, got {type(events).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in events.columns]
    if missing:
        raise ValueError(f"events is missing required column(s): {', '.join(missing)}")
    if repeated not in REPEATED:
        raise ValueError(f"unknown repeated={repeated!r}; use one of {', '.join(REPEATED)}")
    if len(events) == 0:
        raise ValueError("events is empty: consensus needs at least one rating")
    for column in REQUIRED_COLUMNS:
        n_null = int(events[column].isna().sum())
        if n_null:
            raise ValueError(f"events column {column!r} has {n_null} missing value(s)")
    codes, uniques = {}, {}
    for column in REQUIRED_COLUMNS:
        try:
            codes[column], uniques[column] = pd.factorize(events[column], sort=True)
        except TypeError as error:
            message = f"events column {column!r} mixes values that cannot be sorted: {error}"
            raise ValueError(message) from None
    item, annotator, given = (np.asarray(codes[c], dtype=np.int64) for c in REQUIRED_COLUMNS)
    if repeated == "latest":
        keep = _latest(events, item * len(uniques["annotator_id"]) + annotator)
        item, annotator, given = item[keep], annotator[keep], given[keep]
    return Ratings(item, annotator, given, *(pd.Index(uniques[c], name=c) for c in REQUIRED_COLUMNS))


def ratings_from_codes(codes: dict[str, object], dictionaries: dict[str, object]) -> Ratings:
    """Validate integer-coded ratings once. Both dicts map an argument name (``item_codes``, …) to its
    value, in the order item, annotator, label."""
    arrays = {}
    for name, values in codes.items():
        array = np.asarray(values)
        if array.ndim != 1 or not (np.issubdtype(array.dtype, np.integer) or array.size == 0):
            shape = f"{array.dtype} of shape {array.shape}"
            raise TypeError(f"{name} must be a 1-D array of integers, got {shape}")
        arrays[name] = array
    if len({len(a) for a in arrays.values()}) != 1:
        lengths = ", ".join(f"{name} {len(a)}" for name, a in arrays.items())
        raise ValueError(f"the code arrays differ in length: {lengths}")
    if not len(arrays["item_codes"]):
        raise ValueError("the code arrays are empty: consensus needs at least one rating")
    indexes = []
    for (name, array), (dictionary_name, dictionary), column in zip(
        arrays.items(), dictionaries.items(), REQUIRED_COLUMNS, strict=True
    ):
        low, high = int(array.min()), int(array.max())
        size = high + 1 if dictionary is None else len(dictionary)
        if low < 0 or high >= size:
            raise ValueError(f"{name} must lie in [0, {size}) ({dictionary_name}), got [{low}, {high}]")
        indexes.append(pd.RangeIndex(size, name=column) if dictionary is None
                       else pd.Index(dictionary, name=column))
    item, annotator, given = arrays.values()
    return Ratings(item, annotator, given, *indexes)


def _latest(events: pd.DataFrame, pair: np.ndarray) -> np.ndarray:
    """Row positions that survive ``repeated="latest"``: the last row per pair in (time, position) order."""
    position = np.arange(len(pair))
    if "labeled_at" in events.columns:
        try:
            stamps = pd.to_datetime(events["labeled_at"], utc=True).dt.tz_localize(None)
        except (TypeError, ValueError) as error:
            raise ValueError(f"events column 'labeled_at' is not a timestamp: {error}") from None
        time = stamps.to_numpy(dtype="datetime64[ns]").view(np.int64)  # NaT is the smallest int64
        order = np.lexsort((position, time, pair))
    else:
        order = np.argsort(pair, kind="stable")
    last = np.r_[pair[order][1:] != pair[order][:-1], True]
    return np.sort(order[last])


def vote_counts(r: Ratings) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (item, class) pairs sorted by item then class, with their vote counts."""
    k = len(r.classes)
    pair, count = np.unique(r.item * k + r.given, return_counts=True)
    return pair // k, pair % k, count
