"""From label events to ratings, to the label-count table, to its distinct label-count vectors (patterns).

Label events are a DataFrame with columns ``item_id, annotator_id, label`` (plus optional ``labeled_at``).
Each annotator counts once per item: when an annotator labeled an item several times, the latest label by
``labeled_at`` is kept (rows without a time lose to timed ones; ties, and frames without ``labeled_at``, keep
the last row), as the store does. Rows missing the item, the annotator or the label are no rating and are
ignored.

The label-count table ``counts`` has columns ``item_id, label, n``: ``n`` annotators gave ``label`` to
``item_id``, each annotator once (``label_counts`` builds it from label events; the store aggregates it in SQL
and may name the item column ``item_key``, an integer hash of the id). Every multi-annotator agreement
coefficient depends on an item only through its vector of label counts, so items with the same vector are
interchangeable: with K ≈ 10 labels and 2–5 ratings per item a few thousand patterns stand for millions of
items, and coefficients, standard errors and bootstrap resamples are computed on patterns weighted by how many
items share each. No items × annotators matrix is built.

The reduction is fastest when the item column holds integers and rows come sorted by it (item codes then come
from one scan); string ids are hashed, about 0.5 s per 5 million rows.

Glossary: N items, K labels, P patterns; item i has m_i ratings, n_ik of them with label k.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

#: Levels of measurement of Krippendorff's alpha.
LEVELS = ("nominal", "ordinal", "interval", "ratio")
COUNT_COLUMNS = ("item_id", "label", "n")
#: The store's name for the item column of a count table: a 64-bit hash of ``item_id``.
ITEM_KEY = "item_key"
EVENT_COLUMNS = ("item_id", "annotator_id", "label")


def require_columns(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    """Raise ``ValueError`` naming the columns of ``columns`` that ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks column(s) {missing}; expected {list(columns)}")


def latest_ratings(events: pd.DataFrame) -> pd.DataFrame:
    """One rating per (item, annotator): the latest label, as the module docstring describes.

    Parameters
    ----------
    events : DataFrame with columns ``item_id, annotator_id, label`` and optionally ``labeled_at``

    Returns
    -------
    DataFrame with columns ``item_id, annotator_id, label``
        A new frame; ``events`` is left unchanged.
    """
    require_columns(events, EVENT_COLUMNS, "events")
    ratings = events.loc[events[list(EVENT_COLUMNS)].notna().all(axis=1)]
    if "labeled_at" in ratings.columns:
        at = ratings["labeled_at"]
        if not (pd.api.types.is_datetime64_any_dtype(at) or pd.api.types.is_numeric_dtype(at)):
            at = pd.to_datetime(at, utc=True, format="mixed")
        # Stable: equal times keep their row order; unknown times sort first, so a timed label wins.
        ratings = ratings.iloc[np.argsort(at.rank(method="first", na_option="top").to_numpy(), kind="stable")]
    ratings = ratings.drop_duplicates(["item_id", "annotator_id"], keep="last")
    return ratings[list(EVENT_COLUMNS)].reset_index(drop=True)


def label_counts(events: pd.DataFrame) -> pd.DataFrame:
    """How many annotators gave each label to each item: the input of every ``*_from_counts`` function.

    Parameters
    ----------
    events : DataFrame with columns ``item_id, annotator_id, label`` (optional ``labeled_at``)

    Returns
    -------
    DataFrame with columns ``item_id, label, n``
        One row per (item, label) given, sorted by item then label; ``n`` counts annotators, each once
        (latest rating, see ``latest_ratings``).

    Examples
    --------
    >>> events = pd.DataFrame({"item_id": [1, 1, 1], "annotator_id": list("abc"), "label": ["x", "x", "y"]})
    >>> label_counts(events).to_dict("list")
    {'item_id': [1, 1], 'label': ['x', 'y'], 'n': [2, 1]}
    """
    ratings = latest_ratings(events)
    try:
        grouped = ratings.groupby(["item_id", "label"], sort=True).size()
    except TypeError:  # ids or labels of mixed types cannot be sorted
        grouped = ratings.groupby(["item_id", "label"], sort=False).size()
    return grouped.rename("n").reset_index()


def check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; valid levels: {', '.join(LEVELS)}")


@dataclass(frozen=True, eq=False)
class LabelPatterns:
    """Distinct label-count vectors of a count table. Rows (``row_*``) are grouped by pattern."""

    labels: pd.Index  # label code k stands for labels[k]
    values: np.ndarray | None  # label scores for the ordinal (ranks), interval and ratio levels
    item_pattern: np.ndarray  # (N,) pattern of each item
    weight: np.ndarray  # (P,) items per pattern
    row_pattern: np.ndarray
    row_label: np.ndarray
    row_n: np.ndarray
    ratings: np.ndarray  # (P,) ratings m of an item of the pattern

    @property
    def n_patterns(self) -> int:
        return self.weight.size

    @property
    def n_labels(self) -> int:
        return len(self.labels)

    def observed_labels(self) -> int:
        return int(np.unique(self.row_label).size)

    def label_matrix(self, row_values: np.ndarray) -> sparse.csr_matrix:
        """Sparse P × K matrix holding ``row_values`` at (pattern, label)."""
        shape = (self.n_patterns, self.n_labels)
        return sparse.csr_matrix((row_values, (self.row_pattern, self.row_label)), shape=shape)

    def label_pairs(self) -> tuple[np.ndarray, ...]:
        """Every ordered pair of rows of the same pattern, diagonal included: (pattern, c, k, n_c, n_k)."""
        lengths = np.bincount(self.row_pattern, minlength=self.n_patterns)
        first, second = within_group_pairs(lengths, strict=False)
        return (self.row_pattern[first], self.row_label[first], self.row_label[second],
                self.row_n[first].astype(float), self.row_n[second].astype(float))


def within_group_pairs(lengths: np.ndarray, *, strict: bool) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (i, j) of all pairs inside consecutive groups of the given lengths.

    ``strict`` gives i < j (each unordered pair once); otherwise every ordered pair, i = j included.
    """
    lengths = np.asarray(lengths, dtype=np.int64)
    starts = np.cumsum(lengths) - lengths
    group = np.repeat(np.arange(lengths.size), lengths)
    rows = np.arange(lengths.sum())
    offset = rows - starts[group]
    partners = lengths[group] - offset - 1 if strict else lengths[group]
    first = np.repeat(rows, partners)
    rank = np.arange(first.size) - np.repeat(np.cumsum(partners) - partners, partners)
    second = first + 1 + rank if strict else starts[group[first]] + rank
    return first, second


def factorize_sorted(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """Codes and distinct values, sorted when the values can be compared (missing values get −1)."""
    try:
        codes, uniques = pd.factorize(values, sort=True)
    except TypeError:  # values of mixed types cannot be sorted; agreement does not need an order of them
        codes, uniques = pd.factorize(values, sort=False)
    if isinstance(uniques, pd.Categorical):  # the store's coded labels: the values seen, as plain labels
        uniques = np.asarray(uniques)
    return codes, pd.Index(uniques)


def _label_scale(uniques: pd.Index, level: str,
                 order: Sequence | None) -> tuple[np.ndarray, pd.Index, np.ndarray]:
    """Code permutation, labels in code order and their scores, for a level that needs an order or scores."""
    if order is not None:
        if level == "ratio":
            raise ValueError("the ratio level needs numeric labels with a true zero; order= only gives ranks")
        categories = pd.Index(list(order))
        if categories.has_duplicates:
            raise ValueError("order= lists a label twice")
        position = categories.get_indexer(uniques)
        if (position < 0).any():
            raise ValueError(f"labels missing from order=: {list(uniques[position < 0])[:10]}")
        scores = np.arange(len(categories), dtype=float) + (level == "interval")
        return position, categories, scores
    numeric = pd.to_numeric(pd.Series(uniques, dtype=object), errors="coerce").to_numpy(float)
    if np.isnan(numeric).any():
        examples = list(uniques[np.isnan(numeric)])[:5]
        raise ValueError(f"the {level} level needs numeric labels or an explicit order=[...]; got {examples}")
    if level == "ratio" and (numeric < 0).any():
        raise ValueError("the ratio level needs non-negative labels")
    rank = np.argsort(numeric, kind="stable")
    position = np.empty_like(rank)
    position[rank] = np.arange(rank.size)
    scores = np.arange(rank.size, dtype=float) if level == "ordinal" else numeric[rank]
    return position, uniques[rank], scores


def _item_codes(ids: pd.Series) -> np.ndarray:
    """Dense codes of item ids; null ids get −1."""
    if pd.api.types.is_numeric_dtype(ids) and ids.is_monotonic_increasing and not ids.isna().any():
        # The store hands counts sorted by item: codes come from a scan instead of a hash table.
        values = ids.to_numpy()
        return np.r_[0, np.cumsum(values[1:] != values[:-1])] if values.size else np.zeros(0, np.int64)
    return pd.factorize(ids)[0]


def _dense_rank(code: np.ndarray) -> tuple[np.ndarray, int]:
    """Replace non-negative integers by their rank among the distinct values (0, 1, ...)."""
    top = int(code.max()) + 1
    if top <= 4 * code.size + 1024:
        seen = np.zeros(top, dtype=bool)
        seen[code] = True
        rank = np.cumsum(seen) - 1
        return rank[code], int(rank[-1]) + 1
    uniques, inverse = np.unique(code, return_inverse=True)
    return inverse.ravel(), uniques.size


def label_patterns(counts: pd.DataFrame, *, level: str = "nominal",
                   order: Sequence | None = None) -> LabelPatterns:
    """Validate a count table and reduce it to patterns; label codes follow the level's order.

    Rows with n = 0 or a missing item or label are ignored; rows repeating an (item, label) are added up.
    ``level`` and ``order`` decide label codes and scores (see
    ``analytics.agreement.coefficients.krippendorff_alpha``).
    """
    item_column = ITEM_KEY if "item_id" not in counts.columns and ITEM_KEY in counts.columns else "item_id"
    require_columns(counts, (item_column, "label", "n"), "counts")
    check_level(level)
    n = counts["n"].to_numpy()
    if not np.issubdtype(n.dtype, np.number) or (n < 0).any() or (
            not np.issubdtype(n.dtype, np.integer) and (n != np.floor(n)).any()):
        raise ValueError("counts.n must hold non-negative whole numbers")
    label, labels = factorize_sorted(counts["label"])
    values = None
    if level != "nominal":
        position, labels, values = _label_scale(labels, level, order)
        known = label >= 0
        ranked = np.full(label.shape, -1, dtype=np.int64)
        ranked[known] = position[label[known]]
        label = ranked
    item = _item_codes(counts[item_column])
    n = n.astype(np.int64)
    keep = (item >= 0) & (label >= 0) & (n > 0)
    if not keep.all():
        item, label, n = item[keep], label[keep], n[keep]
        if item.size:
            item = _dense_rank(item)[0]
    n_labels = max(len(labels), 1)
    key = item.astype(np.int64) * n_labels + label
    if key.size > 1 and not (key[1:] > key[:-1]).all():
        # Unsorted input or one (item, label) split over rows: sort, then add the split counts up.
        order_ = np.argsort(key, kind="stable")
        key = key[order_]
        first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        n = np.add.reduceat(n[order_], first)
        key = key[first]
        item, label = np.divmod(key, n_labels)
    if not key.size:
        empty = np.zeros(0, dtype=np.int64)
        return LabelPatterns(labels, values, empty, empty, empty, empty, empty, empty)
    starts = np.flatnonzero(np.r_[True, item[1:] != item[:-1]])
    lengths = np.diff(np.r_[starts, key.size])
    # A pattern is the sequence of (label, n) tokens of an item; extend a dense id one token at a time.
    max_n = int(n.max())
    radix = n_labels * max_n + 1
    token = label * max_n + n
    pattern, n_patterns = np.zeros(starts.size, dtype=np.int64), 1
    for j in range(int(lengths.max())):
        has = np.flatnonzero(lengths > j)
        if n_patterns * radix < 2**62:
            code = pattern * radix
            code[has] += token[starts[has] + j]
            pattern, n_patterns = _dense_rank(code)
        else:
            step = np.zeros(starts.size, dtype=np.int64)
            step[has] = token[starts[has] + j]
            _, pattern = np.unique(np.column_stack([pattern, step]), axis=0, return_inverse=True)
            pattern = pattern.ravel()
            n_patterns = int(pattern.max()) + 1
    weight = np.bincount(pattern, minlength=n_patterns)
    example = np.empty(n_patterns, dtype=np.int64)
    example[pattern] = np.arange(pattern.size)
    row_lengths = lengths[example]
    rows = np.repeat(starts[example] - (np.cumsum(row_lengths) - row_lengths), row_lengths)
    rows += np.arange(row_lengths.sum())
    row_pattern = np.repeat(np.arange(n_patterns), row_lengths)
    ratings = np.bincount(row_pattern, weights=n[rows], minlength=n_patterns)
    return LabelPatterns(labels, values, pattern, weight, row_pattern, label[rows], n[rows], ratings)
