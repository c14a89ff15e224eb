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
    ones = np.ones(len(item))
    incidence = sparse.csr_matrix((ones, (item, annotator)), shape=(n_items, n_annotators))
    co_rated = (incidence.T @ incidence).tocsr()
    co_rated.setdiag(0)
    co_rated.eliminate_zeros()
    given = np.asarray(given, dtype=np.int64)
    shares = np.bincount(annotator.astype(np.int64) * n_classes + given,
                         minlength=n_annotators * n_classes).reshape(n_annotators, n_classes).astype(float)
    shares /= np.maximum(shares.sum(axis=1, keepdims=True), 1)
    pairs_of = co_rated.tocoo()
    rows, cols, counts = pairs_of.row, pairs_of.col, pairs_of.data
    chance = (shares[rows] * shares[cols]).sum(axis=1)
    # Co-raters of the item who gave the rating's label; the annotator's own repeats (repeated="all") are no
    # co-raters.
    key = item.astype(np.int64) * n_classes + given
    agreeing = _occurrences(key) - 1.0
    if pd.Series(item.astype(np.int64) * n_annotators + annotator).duplicated().any():
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
