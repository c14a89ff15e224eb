"""Whether ratings agree beyond chance once their most-agreeing annotator is set aside (``chance_check``).

Dawid–Skene can lock onto one annotator when the rest of the crowd agrees no more than chance; the check runs
before a fit and lets it fall back to majority vote.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
from scipy import sparse


def _occurrences(key: np.ndarray) -> np.ndarray:
    """How often each element's value occurs in ``key`` (non-negative integers)."""
    if key.size and int(key.max()) < 4 * key.size + 1024:
        return np.bincount(key)[key].astype(float)
    values = pd.Series(key)
    return values.map(values.value_counts()).to_numpy(float)


#: Ratings per chunk of the item-sorted path of ``chance_check``: a chunk's counts stay in the CPU cache.
_CHUNK_RATINGS = 2**20
#: Most annotator pairs (M²) whose co-ratings ``chance_check`` counts in a dense array.
_DENSE_PAIRS = 2**22


def _sorted_item_chunks(item: np.ndarray, n_items: int) -> list[tuple[int, int, int, int]]:
    """``(first rating, past-the-end rating, first item, past-the-end item)`` of chunks of whole items of
    ratings sorted by item."""
    indptr = np.zeros(n_items + 1, dtype=np.int64)
    np.cumsum(np.bincount(item, minlength=n_items), out=indptr[1:])
    n_chunks = max(1, len(item) // _CHUNK_RATINGS)
    stops = np.unique(np.searchsorted(indptr, np.linspace(0, len(item), n_chunks + 1)[1:]))
    stops[-1] = n_items
    starts = np.r_[0, stops[:-1]]
    return [(int(indptr[s]), int(indptr[e]), int(s), int(e)) for s, e in zip(starts, stops, strict=True)]


def _co_rated_and_agreeing(item: np.ndarray, annotator: np.ndarray, given: np.ndarray, n_items: int,
                           n_annotators: int, n_classes: int) -> tuple[sparse.csr_matrix, np.ndarray]:
    """AᵀA (A the items × annotators incidence) and, per rating, the other ratings of its item with its
    label, for ratings sorted by item, chunk by chunk of whole items. Up to ``_DENSE_PAIRS`` annotator
    pairs, AᵀA is counted over the pairs of ratings of each item (``np.bincount`` of (j, h)); beyond, as
    the sum of the chunks' sparse products. With ``chance_check``'s own pass over the pairs' repeats (on
    neighbours, the ratings being sorted by item and annotator), at 1e8 ratings (28.6 million items, M =
    1000) the check takes ~11 s where the product of the whole matrices, the counts of (item, label) over all
    items at once and pandas' search for repeated pairs took ~51 s."""
    dense = n_annotators * n_annotators <= _DENSE_PAIRS
    co_rated = np.zeros(n_annotators * n_annotators) if dense else sparse.csr_matrix((n_annotators,) * 2)
    agreeing = np.empty(len(item))
    for first, last, start, stop in _sorted_item_chunks(item, n_items):
        local = item[first:last].astype(np.int64) - start
        who = annotator[first:last].astype(np.int64)
        key = local * n_classes + given[first:last]
        agreeing[first:last] = np.bincount(key, minlength=(stop - start) * n_classes)[key]
        if dense and last > first:
            size = np.bincount(local, minlength=stop - start)
            degree = size[local]  # ratings of each rating's item
            begin = (np.cumsum(size) - size)[local]  # where that item's ratings start in the chunk
            ends = np.cumsum(degree)
            ramp = np.arange(ends[-1]) - np.repeat(ends - degree, degree)
            other = who[np.repeat(begin, degree) + ramp]
            co_rated += np.bincount(np.repeat(who * n_annotators, degree) + other,
                                    minlength=n_annotators * n_annotators)
        elif not dense:
            ones = np.ones(last - first)
            rows = sparse.csr_matrix((ones, (local, who)), shape=(stop - start, n_annotators))
            co_rated = co_rated + (rows.T @ rows)
    agreeing -= 1.0
    if dense:
        co_rated = sparse.csr_matrix(co_rated.reshape(n_annotators, n_annotators))
    return co_rated, agreeing


#: ``chance_check``: the one-sided z below which the rest of the crowd agrees no more than chance, and the
#: pairs of ratings it needs before it may say so.
CHANCE_Z = 2.33
CHANCE_MIN_PAIRS = 30


@dataclasses.dataclass(frozen=True)
class ChanceCheck:
    """Whether ratings agree beyond chance without their most-agreeing annotator (``chance_check``).

    Attributes
    ----------
    best : int
        Code of the annotator whose own agreement with their co-raters is furthest above chance.
    pairs : float
        Pairs of ratings of an item by two different annotators, neither of them ``best``.
    agreeing, expected : float
        How many of those pairs agree, and how many would by chance.
    z : float
        (agreeing − expected) / √(Σ p (1 − p)) over those pairs, p their chance agreement (nan without pairs).
    hinges_on_one : bool
        True when there are at least ``CHANCE_MIN_PAIRS`` pairs and z < ``CHANCE_Z`` (one-sided 1%).
    """

    best: int
    pairs: float
    agreeing: float
    expected: float
    z: float
    hinges_on_one: bool


def chance_check(item: np.ndarray, annotator: np.ndarray, given: np.ndarray, n_items: int,
                 n_annotators: int, n_classes: int) -> ChanceCheck:
    """Do the ratings agree beyond chance once their most-agreeing annotator is set aside?

    Parameters
    ----------
    item, annotator, given : ndarray of int, shape (R,)
        Codes of the ratings (one per item and annotator).
    n_items, n_annotators, n_classes : int
        N, M and K.

    Returns
    -------
    ChanceCheck

    Notes
    -----
    Two annotators j and h who rate the same item agree by chance with probability p_jh = Σ_k q_jk q_hk, q_j
    the share of each label among j's ratings: that keeps an annotator who always gives one label from
    counting as agreement. With C = AᵀA the annotators' co-rating counts (A the items × annotators
    incidence, sparse), annotator j expects E_j = Σ_{h≠j} C_jh p_jh agreeing pairs and sees O_j (their
    co-raters who gave their label, summed over their items). The annotator with the largest
    (O_j − E_j) / √E_j is set aside, and the pairs between the others are tested the same way. Cost
    O(R + Σ_i m_i² + M·K) with m_i the ratings of item i; no N × M or N × K array.

    Examples
    --------
    >>> item, annotator = np.repeat(np.arange(40), 3), np.tile([0, 1, 2], 40)
    >>> truth = np.repeat(np.arange(40) % 2, 3)
    >>> chance_check(item, annotator, truth, 40, 3, 2).hinges_on_one
    False
    """
    given = np.asarray(given, dtype=np.int64)
    by_item = len(item) < 2 or bool((item[1:] >= item[:-1]).all())
    if by_item:  # as ``DawidSkene.fit_codes`` and ``coded_ratings`` give them
        co_rated, agreeing = _co_rated_and_agreeing(item, annotator, given, n_items, n_annotators, n_classes)
    else:
        ones = np.ones(len(item))
        incidence = sparse.csr_matrix((ones, (item, annotator)), shape=(n_items, n_annotators))
        co_rated = incidence.T @ incidence
        agreeing = _occurrences(item.astype(np.int64) * n_classes + given) - 1.0
    co_rated = co_rated.tocsr()
    co_rated.setdiag(0)
    co_rated.eliminate_zeros()
    shares = np.bincount(annotator.astype(np.int64) * n_classes + given,
                         minlength=n_annotators * n_classes).reshape(n_annotators, n_classes).astype(float)
    shares /= np.maximum(shares.sum(axis=1, keepdims=True), 1)
    pairs_of = co_rated.tocoo()
    rows, cols, counts = pairs_of.row, pairs_of.col, pairs_of.data
    chance = (shares[rows] * shares[cols]).sum(axis=1)
    # Co-raters of the item who gave the rating's label; the annotator's own repeats (repeated="all") are no
    # co-raters.
    pair = item.astype(np.int64) * n_annotators + annotator
    if by_item and (len(pair) < 2 or bool((pair[1:] >= pair[:-1]).all())):
        repeats = bool((pair[1:] == pair[:-1]).any())
    else:
        repeats = bool(pd.Series(pair).duplicated().any())
    if repeats:
        key = item.astype(np.int64) * n_classes + given
        agreeing -= _occurrences(key * n_annotators + annotator) - 1.0
    observed = np.bincount(annotator, weights=agreeing, minlength=n_annotators)
    expected = np.bincount(rows, weights=counts * chance, minlength=n_annotators)
    variance = np.bincount(rows, weights=counts * chance * (1 - chance), minlength=n_annotators)
    pairs = np.bincount(rows, weights=counts, minlength=n_annotators)
    with np.errstate(divide="ignore", invalid="ignore"):
        strength = np.where(variance > 0, (observed - expected) / np.sqrt(variance), -np.inf)
    best = int(np.argmax(strength)) if n_annotators else 0
    # Each unordered pair is counted once from either side: halve the totals less the best's pairs.
    rest = [(total.sum() - 2 * total[best]) / 2 for total in (pairs, observed, expected, variance)]
    rest_pairs, rest_observed, rest_expected, rest_variance = rest
    z = (rest_observed - rest_expected) / np.sqrt(rest_variance) if rest_variance > 0 else float("nan")
    hinges = rest_pairs >= CHANCE_MIN_PAIRS and not z >= CHANCE_Z
    return ChanceCheck(best=best, pairs=float(rest_pairs), agreeing=float(rest_observed),
                       expected=float(rest_expected), z=float(z), hinges_on_one=bool(hinges))
