"""Cohen's kappa of two annotators, one pair or every pair, with its large-sample standard error.

Input is long-format label events (``item_id, annotator_id, label``, optional ``labeled_at``); each
annotator counts once per item with their latest label (``analytics.core.ratings.latest_ratings``). Kappa
compares
two annotators on the items both rated; ``pairwise_kappa`` does so for every pair at once from the pairs of
ratings inside each item, never from an items × annotators matrix.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from analytics.agreement.estimates import AgreementEstimate
from analytics.core.ratings import factorize_sorted, latest_ratings, require_columns, within_group_pairs

#: Weightings of Cohen's kappa.
WEIGHTS = (None, "linear", "quadratic")
#: Fewer shared items than this get no interval from ``cohens_kappa_estimate``: the normal approximation
#: behind it does not hold, and on a handful of items it can even have width 0.
MIN_INTERVAL_ITEMS = 10
#: Columns of the per-pair contingency tables that ``pairwise_kappa_from_tables`` reads.
TABLE_COLUMNS = ("annotator_a", "annotator_b", "label_a", "label_b", "n")


def _disagreement(labels: pd.Index, weights: str | None, order: Sequence | None) -> np.ndarray:
    """K × K disagreement weights v_ck of a weighting: 1 − I, |s_c − s_k| or (s_c − s_k)² on label scores."""
    if weights not in WEIGHTS:
        raise ValueError(f"unknown weights {weights!r}; valid weights: {', '.join(map(repr, WEIGHTS))}")
    if weights is None:
        return 1.0 - np.eye(len(labels))
    if order is not None:
        scores = pd.Index(list(order)).get_indexer(labels).astype(float)
        if (scores < 0).any():
            raise ValueError(f"labels missing from order=: {list(labels[scores < 0])[:10]}")
    else:
        scores = pd.to_numeric(pd.Series(labels, dtype=object), errors="coerce").to_numpy(float)
        if np.isnan(scores).any():
            raise ValueError(f"{weights} weights need numeric labels or order=[...]; got {list(labels)[:5]}")
    gap = np.abs(scores[:, None] - scores[None, :])
    return gap if weights == "linear" else gap**2


def _pair_ratings(events: pd.DataFrame, annotator_a: Hashable,
                  annotator_b: Hashable) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    ratings = latest_ratings(events)
    a = ratings.loc[ratings["annotator_id"] == annotator_a, ["item_id", "label"]]
    b = ratings.loc[ratings["annotator_id"] == annotator_b, ["item_id", "label"]]
    shared = a.merge(b, on="item_id", suffixes=("_a", "_b"))
    codes, labels = factorize_sorted(pd.concat([shared["label_a"], shared["label_b"]]))
    return codes[: len(shared)], codes[len(shared):], labels


def _cohen(table: np.ndarray, disagreement: np.ndarray) -> tuple[float, float]:
    """Kappa and its large-sample standard error (Fleiss, Cohen & Everitt 1969) of a K × K table."""
    n = table.sum()
    if n == 0:
        return float("nan"), float("nan")
    p = table / n
    row, col = p.sum(axis=1), p.sum(axis=0)
    observed = (p * disagreement).sum()
    expected = row @ disagreement @ col
    if expected <= 0:  # both annotators gave one and the same label throughout: 0/0
        return float("nan"), float("nan")
    kappa = 1.0 - observed / expected
    spread = disagreement - ((disagreement @ col)[:, None] + (row @ disagreement)[None, :]) * (1 - kappa)
    variance = ((p * spread**2).sum() - observed**2) / (n * expected**2)
    return float(kappa), float(np.sqrt(max(variance, 0.0)))


def _cohen_table(codes_a: np.ndarray, codes_b: np.ndarray, k: int) -> np.ndarray:
    return np.bincount(codes_a * k + codes_b, minlength=k * k).reshape(k, k).astype(float)


def cohens_kappa(events: pd.DataFrame, annotator_a: Hashable, annotator_b: Hashable, *,
                 weights: str | None = None, order: Sequence | None = None) -> float:
    """Cohen's kappa of two annotators on the items both rated.

    Parameters
    ----------
    events : DataFrame with columns ``item_id, annotator_id, label`` (optional ``labeled_at``)
    annotator_a, annotator_b : annotator ids
    weights : {None, 'linear', 'quadratic'}
        None for nominal labels; 'linear' or 'quadratic' disagreement weights for ordered labels.
    order : sequence, optional
        Labels from lowest to highest, scored 0, 1, …; without it weighted kappa needs numeric labels and
        uses their values.

    Returns
    -------
    float
        κ ≤ 1; nan when the two share no item, or both gave one and the same label to every shared item.

    Notes
    -----
    κ = 1 − Σ_ck v_ck p_ck / Σ_ck v_ck p_c· p_·k, with p the joint distribution of the two annotators' labels
    and disagreement weights v_ck = [c ≠ k], |s_c − s_k| or (s_c − s_k)² on label scores s. Unweighted, it
    is (p_o − p_e) / (1 − p_e). Equals scikit-learn's ``cohen_kappa_score``; for weighted kappa,
    scikit-learn scores the labels present by their rank, which is the same when the labels are consecutive
    integers.

    References
    ----------
    Cohen, J. (1960). A coefficient of agreement for nominal scales. Educational and Psychological
    Measurement 20(1), 37–46.
    Cohen, J. (1968). Weighted kappa. Psychological Bulletin 70(4), 213–220.

    Examples
    --------
    >>> events = pd.DataFrame({"item_id": [1, 1, 2, 2, 3, 3], "annotator_id": list("ababab"),
    ...                        "label": ["x", "x", "y", "y", "x", "y"]})
    >>> round(cohens_kappa(events, "a", "b"), 4)
    0.4
    """
    return cohens_kappa_estimate(events, annotator_a, annotator_b, weights=weights, order=order).value


def cohens_kappa_estimate(events: pd.DataFrame, annotator_a: Hashable, annotator_b: Hashable, *,
                          weights: str | None = None, order: Sequence | None = None,
                          confidence: float = 0.95) -> AgreementEstimate:
    """Cohen's kappa of two annotators with its large-sample standard error and normal interval.

    Parameters are those of ``cohens_kappa``, plus ``confidence`` in (0, 1).

    Returns
    -------
    AgreementEstimate
        ``metric='cohens_kappa'``, ``level`` the weighting ('nominal', 'linear' or 'quadratic'), ``n_items``
        the shared items. No interval (nan, ``method='none'``, a ``note`` saying why) with fewer than
        ``MIN_INTERVAL_ITEMS`` shared items, or when the standard error is 0 (the two agree on every shared
        item: the formula's variance vanishes, which is no certainty about the next items).

    Notes
    -----
    Var(κ) = [Σ_ck p_ck (v_ck − (v̄_c· + v̄_·k)(1 − κ))² − (Σ_ck p_ck v_ck)²] / (n (Σ_ck p_c· p_·k v_ck)²),
    with v̄_c· = Σ_k p_·k v_ck and v̄_·k = Σ_c p_c· v_ck: the variance of Fleiss, Cohen & Everitt (1969),
    written with disagreement weights; it is not the variance under κ = 0, and equals statsmodels'
    ``cohens_kappa(...).std_kappa``. The interval is κ ± z · SE, clipped to [−1, 1]; it assumes items are
    independent and n large (say 30+ shared items).

    References
    ----------
    Fleiss, J. L., Cohen, J. & Everitt, B. S. (1969). Large sample standard errors of kappa and weighted
    kappa. Psychological Bulletin 72(5), 323–327.
    """
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie strictly between 0 and 1")
    codes_a, codes_b, labels = _pair_ratings(events, annotator_a, annotator_b)
    disagreement = _disagreement(labels, weights, order)
    kappa, std_error = _cohen(_cohen_table(codes_a, codes_b, len(labels)), disagreement)
    n = len(codes_a)
    low = high = np.nan
    method, note = "none", ""
    if n and np.isfinite(kappa) and n < MIN_INTERVAL_ITEMS:
        note = (f"Only {n} shared item{'s' if n != 1 else ''}: the large-sample interval needs "
                f"{MIN_INTERVAL_ITEMS} or more, so none is given.")
    elif np.isfinite(kappa) and not std_error > 0:
        note = (f"The two agree on all {n} shared items, so the large-sample standard error is 0; "
                "that is no certainty, and no interval is given.")
    elif np.isfinite(std_error):
        half = stats.norm.ppf((1 + confidence) / 2) * std_error
        low, high = max(kappa - half, -1.0), min(kappa + half, 1.0)
        method = "normal, Fleiss, Cohen & Everitt (1969) SE"
    return AgreementEstimate(
        metric="cohens_kappa", value=kappa, ci_low=low, ci_high=high, std_error=std_error,
        confidence=confidence, method=method, n_items=n, n_ratings=2 * n, level=weights or "nominal",
        n_pairable=n, note=note,
    )


def pairwise_kappa(events: pd.DataFrame, *, min_overlap: int = 10, weights: str | None = None,
                   order: Sequence | None = None) -> pd.DataFrame:
    """Cohen's kappa of every pair of annotators who rated at least ``min_overlap`` items in common.

    Parameters
    ----------
    events : DataFrame with columns ``item_id, annotator_id, label`` (optional ``labeled_at``)
    min_overlap : int
        Pairs sharing fewer items are left out: kappa on a handful of items is noise.
    weights, order
        As in ``cohens_kappa``.

    Returns
    -------
    DataFrame with columns ``annotator_a, annotator_b, n_items, kappa``
        One row per pair, ``annotator_a < annotator_b``, sorted by the two; nan kappa as in ``cohens_kappa``.

    Notes
    -----
    Built from the pairs of ratings inside each item (Σ_i m_i (m_i − 1) / 2 of them), never from an
    items × annotators matrix, so it scales with the ratings, not with N × M. Each pair's kappa is the one
    ``cohens_kappa`` gives (label scores are shared by all pairs, so weighted kappa uses the labels' values
    or ``order``, not the ranks of the labels a pair happened to use). The store computes the same pairs'
    contingency tables in SQL (``analytics.store.agreement.pairwise_tables``), and
    ``pairwise_kappa_from_tables`` finishes them with the same arithmetic.

    Examples
    --------
    >>> events = pd.DataFrame({"item_id": [1, 1, 2, 2, 3, 3], "annotator_id": list("ababab"),
    ...                        "label": ["x", "x", "y", "y", "x", "y"]})
    >>> pairwise_kappa(events, min_overlap=2).round(4).to_dict("list")
    {'annotator_a': ['a'], 'annotator_b': ['b'], 'n_items': [3], 'kappa': [0.4]}
    """
    ratings = latest_ratings(events)
    item = pd.factorize(ratings["item_id"])[0]
    annotator, annotators = factorize_sorted(ratings["annotator_id"])
    label, labels = factorize_sorted(ratings["label"])
    disagreement = _disagreement(labels, weights, order)
    by_item = np.argsort(item, kind="stable")
    first, second = within_group_pairs(np.bincount(item), strict=True)
    first, second = by_item[first], by_item[second]
    swap = annotator[first] > annotator[second]
    first, second = np.where(swap, second, first), np.where(swap, first, second)
    key = annotator[first].astype(np.int64) * len(annotators) + annotator[second]
    pair_keys, pair, n_items = np.unique(key, return_inverse=True, return_counts=True)
    kept = np.flatnonzero(n_items >= min_overlap)
    remap = np.full(pair_keys.size, -1)
    remap[kept] = np.arange(kept.size)
    pair = remap[pair.ravel()]
    inside = pair >= 0
    _, kappa = _kappa_by_pair(pair[inside], label[first[inside]], label[second[inside]], None, kept.size,
                              disagreement)
    a, b = np.divmod(pair_keys[kept], len(annotators))
    return _pair_frame(annotators[a], annotators[b], n_items[kept], kappa)


def pairwise_kappa_from_tables(tables: pd.DataFrame, *, weights: str | None = None,
                               order: Sequence | None = None) -> pd.DataFrame:
    """Cohen's kappa of every pair of annotators from their contingency tables, all pairs at once.

    Parameters
    ----------
    tables : DataFrame with columns ``annotator_a, annotator_b, label_a, label_b, n``
        ``n`` items got ``label_a`` from ``annotator_a`` and ``label_b`` from ``annotator_b`` (each
        annotator's latest rating), as ``analytics.store.agreement.pairwise_tables`` returns them; a pair's
        rows are its table's non-empty cells. Rows may come in any order, and a pair may appear as
        (a, b) and as (b, a) (those rows add up). Categorical columns (the store's) are read by their codes,
        which keeps 5 million rows fast. Rows with a missing annotator or label or with n = 0 are ignored.
    weights, order
        As in ``cohens_kappa``: None for nominal labels, 'linear' or 'quadratic' for ordered ones, scored
        by their numeric values or by their position in ``order``.

    Returns
    -------
    DataFrame with columns ``annotator_a, annotator_b, n_items, kappa``
        One row per pair in ``tables``, ``annotator_a < annotator_b``, sorted by the two; ``n_items`` is
        the pair's Σ n. On the tables of the pairs that ``pairwise_kappa(events, min_overlap=...)`` keeps,
        it returns the same frame.

    Raises
    ------
    ValueError
        A column is missing, ``n`` is not a non-negative whole number, a row pairs an annotator with
        themself, or ``weights``/``order`` do not fit the labels (as in ``cohens_kappa``).

    Notes
    -----
    For a pair with table n_ck (n items in all), p = n_ck / n and κ = 1 − Σ_ck v_ck p_ck / Σ_ck v_ck p_c· p_·k
    (see ``cohens_kappa``). Every term is a sum over the pair's rows, so all pairs are computed together
    with weighted counts (``np.bincount`` keyed by pair, pair × label): O(rows + pairs × K²), no loop over
    pairs; 500,000 pairs of a 1,000-annotator pool take well under a second.

    Examples
    --------
    >>> tables = pd.DataFrame({"annotator_a": ["a", "a", "a"], "annotator_b": ["b", "b", "b"],
    ...                        "label_a": ["x", "y", "x"], "label_b": ["x", "y", "y"], "n": [1, 1, 1]})
    >>> pairwise_kappa_from_tables(tables).round(4).to_dict("list")
    {'annotator_a': ['a'], 'annotator_b': ['b'], 'n_items': [3], 'kappa': [0.4]}
    """
    require_columns(tables, TABLE_COLUMNS, "tables")
    n = tables["n"].to_numpy()
    if not np.issubdtype(n.dtype, np.number) or (n < 0).any() or (
            not np.issubdtype(n.dtype, np.integer) and (n != np.floor(n)).any()):
        raise ValueError("tables.n must hold non-negative whole numbers")
    annotator_a, annotator_b, annotators = _shared_codes(tables["annotator_a"], tables["annotator_b"])
    label_a, label_b, labels = _shared_codes(tables["label_a"], tables["label_b"])
    disagreement = _disagreement(labels, weights, order)
    keep = (annotator_a >= 0) & (annotator_b >= 0) & (label_a >= 0) & (label_b >= 0) & (n > 0)
    if not keep.all():
        annotator_a, annotator_b = annotator_a[keep], annotator_b[keep]
        label_a, label_b, n = label_a[keep], label_b[keep], n[keep]
    if (annotator_a == annotator_b).any():
        raise ValueError("tables pair an annotator with themself: annotator_a must differ from annotator_b")
    swap = annotator_a > annotator_b
    if swap.any():
        label_a, label_b = np.where(swap, label_b, label_a), np.where(swap, label_a, label_b)
        annotator_a, annotator_b = np.minimum(annotator_a, annotator_b), np.maximum(annotator_a, annotator_b)
    pair, pair_keys = _dense_codes(annotator_a * len(annotators) + annotator_b, len(annotators) ** 2)
    n_items, kappa = _kappa_by_pair(pair, label_a, label_b, n.astype(float), pair_keys.size, disagreement)
    a, b = np.divmod(pair_keys, len(annotators))
    return _pair_frame(annotators[a], annotators[b], n_items.round().astype(np.int64), kappa)


def _kappa_by_pair(pair: np.ndarray, label_a: np.ndarray, label_b: np.ndarray, n: np.ndarray | None,
                   n_pairs: int, disagreement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Items and kappa of every pair from table cells (pair, label_a, label_b, n); n None counts each once.

    κ = 1 − observed / expected, both from per-pair weighted counts; nan where expected disagreement is 0.
    """
    k = disagreement.shape[0]
    n_items = np.bincount(pair, weights=n, minlength=n_pairs).astype(float)
    cell = disagreement.ravel()[label_a * k + label_b]
    observed = np.bincount(pair, weights=cell if n is None else cell * n, minlength=n_pairs)
    share_a = np.bincount(pair * k + label_a, weights=n, minlength=n_pairs * k).reshape(n_pairs, k)
    share_b = np.bincount(pair * k + label_b, weights=n, minlength=n_pairs * k).reshape(n_pairs, k)
    with np.errstate(divide="ignore", invalid="ignore"):
        observed = observed / n_items
        expected = ((share_a @ disagreement) * share_b).sum(axis=1) / n_items**2
        kappa = np.where(expected > 0, 1.0 - observed / expected, np.nan)
    return n_items, kappa


def _pair_frame(annotator_a: pd.Index, annotator_b: pd.Index, n_items: np.ndarray,
                kappa: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"annotator_a": annotator_a, "annotator_b": annotator_b, "n_items": n_items,
                         "kappa": kappa})


def _shared_codes(first: pd.Series, second: pd.Series) -> tuple[np.ndarray, np.ndarray, pd.Index]:
    """Codes of two columns over their shared sorted values (−1 where missing), and those values.

    Two categoricals with the same categories are read by their codes, whatever the categories' order.
    """
    if (isinstance(first.dtype, pd.CategoricalDtype) and isinstance(second.dtype, pd.CategoricalDtype)
            and first.cat.categories.equals(second.cat.categories)):
        categories = first.cat.categories
        codes_a, codes_b = first.cat.codes.to_numpy(), second.cat.codes.to_numpy()
        used = np.zeros(len(categories) + 1, dtype=bool)  # the last slot stands for code −1 (missing)
        used[codes_a] = used[codes_b] = True
        used = used[:-1]
        ranks, values = factorize_sorted(pd.Series(categories[used]))
        remap = np.full(len(categories) + 1, -1, dtype=np.int64)
        remap[np.flatnonzero(used)] = ranks
        return remap[codes_a], remap[codes_b], values
    codes, values = factorize_sorted(pd.concat([first, second], ignore_index=True))
    return codes[: len(first)].astype(np.int64), codes[len(first):].astype(np.int64), values


def _dense_codes(keys: np.ndarray, bound: int) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0, 1, … of non-negative integer keys below ``bound`` in key order, and the distinct keys."""
    if bound <= 4 * keys.size + 1024:  # a bitmap over the key range beats hashing
        seen = np.zeros(bound, dtype=bool)
        seen[keys] = True
        return (np.cumsum(seen) - 1)[keys], np.flatnonzero(seen)
    return pd.factorize(keys, sort=True)
