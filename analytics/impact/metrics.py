"""Classification metrics of one arm of a before/after comparison: accuracy, per-class and macro F1, and the
expected calibration error with its reliability table.

Each metric is computed from per-class counts (true positives, predictions and truths per class) or per-bin
sums, through the closed forms ``f1_from_counts``, ``macro_f1_from_counts`` and ``ece_from_bin_sums``, which
are vectorised over leading axes: ``analytics.impact.paired`` evaluates bootstrap replicates through the same
functions, so a replicate and the point estimate share one definition. Precision, recall, F1 and their macro
average follow scikit-learn's conventions (``precision_recall_fscore_support``, ``f1_score(average="macro")``)
and equal them exactly (``tests/impact/test_metrics.py``).

Glossary: n evaluation items, K classes, M confidence bins; ``y_true`` the trusted (gold) label of an item,
``y_pred`` the label a model predicted, ``prob`` the probability the model gave its predicted label.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

__all__ = [
    "accuracy", "confidence_bins", "ece_from_bin_sums", "encode_labels", "expected_calibration_error",
    "f1_from_counts", "macro_f1", "macro_f1_from_counts", "per_class_f1", "reliability_table", "top_label",
]


def _as_labels(values: ArrayLike, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if pd.isna(array).any():
        raise ValueError(f"{name} has missing values")
    return array


def _check_same_length(**arrays: np.ndarray) -> int:
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"lengths differ: {lengths}")
    n = next(iter(lengths.values()))
    if n == 0:
        raise ValueError("no evaluation items")
    return n


def encode_labels(*arrays: ArrayLike, labels: Sequence | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """Class codes 0..K−1 of label arrays, over their sorted union or over ``labels``.

    Parameters
    ----------
    *arrays : array_like, one-dimensional
        Label arrays (truths, predictions), without missing values.
    labels : sequence, optional
        The classes, in their order. A label of ``arrays`` not among them gets code −1 (and counts for no
        class, as in scikit-learn when ``labels`` is given). Default: the sorted union of the arrays' labels
        (scikit-learn's ``unique_labels``).

    Returns
    -------
    (classes, codes) : ndarray (K,), list of int ndarrays
        The classes and one code array per input array.

    Examples
    --------
    >>> classes, (t, p) = encode_labels(["b", "a", "c"], ["a", "a", "b"])
    >>> classes.tolist(), t.tolist(), p.tolist()
    (['a', 'b', 'c'], [1, 0, 2], [0, 0, 1])
    """
    values = [_as_labels(a, f"array {i}") for i, a in enumerate(arrays)]
    if labels is None:
        classes = np.unique(np.concatenate(values))
    else:
        classes = np.asarray(labels)
        if pd.Index(classes).has_duplicates:
            raise ValueError("labels has duplicates")
    index = pd.Index(classes)
    return classes, [index.get_indexer(v).astype(np.int64) for v in values]


def _class_counts(true_codes: np.ndarray, pred_codes: np.ndarray, k: int,
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tp, n_pred, n_true) per class; codes −1 count for no class."""
    hit = (true_codes == pred_codes) & (true_codes >= 0)
    tp = np.bincount(true_codes[hit], minlength=k)
    n_pred = np.bincount(pred_codes[pred_codes >= 0], minlength=k)
    n_true = np.bincount(true_codes[true_codes >= 0], minlength=k)
    return tp, n_pred, n_true


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Share of evaluation items whose predicted label equals the true one.

    Examples
    --------
    >>> accuracy(["a", "b", "b", "c"], ["a", "b", "c", "c"])
    0.75
    """
    t, p = _as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred")
    n = _check_same_length(y_true=t, y_pred=p)
    return float(np.count_nonzero(t == p) / n)


def f1_from_counts(tp: ArrayLike, n_pred: ArrayLike, n_true: ArrayLike, *, zero_division: float = 0.0,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Precision, recall and F1 per class from counts, vectorised over any leading axes.

    Parameters
    ----------
    tp, n_pred, n_true : array_like (..., K)
        True positives, items predicted as the class, items truly of the class.
    zero_division : float
        The value of a ratio whose denominator is 0: precision of a class never predicted, recall of a class
        never true, F1 of a class neither true nor predicted (scikit-learn's ``zero_division``; 0 is its
        default; nan leaves such a class out of a macro average).

    Returns
    -------
    (precision, recall, f1) : float arrays (..., K)
        tp / n_pred, tp / n_true and 2 tp / (n_true + n_pred), the last being the harmonic mean of the first
        two written on counts, as scikit-learn computes it.
    """
    tp, n_pred, n_true = (np.asarray(a, dtype=float) for a in (tp, n_pred, n_true))
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(n_pred > 0, tp / n_pred, zero_division)
        recall = np.where(n_true > 0, tp / n_true, zero_division)
        f1 = np.where(n_true + n_pred > 0, 2 * tp / (n_true + n_pred), zero_division)
    return precision, recall, f1


def macro_f1_from_counts(tp: ArrayLike, n_pred: ArrayLike, n_true: ArrayLike) -> np.ndarray:
    """Macro-averaged F1 over the classes present (true or predicted), vectorised over leading axes.

    Parameters
    ----------
    tp, n_pred, n_true : array_like (..., K)
        As in ``f1_from_counts``.

    Returns
    -------
    ndarray (...)
        The mean of 2 tp_k / (n_true_k + n_pred_k) over the classes k with n_true_k + n_pred_k > 0: what
        ``sklearn.metrics.f1_score(average="macro")`` gives without ``labels`` (its classes are the union of
        those true and predicted); nan when no class is present.
    """
    tp, n_pred, n_true = (np.asarray(a, dtype=float) for a in (tp, n_pred, n_true))
    present = n_true + n_pred > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        f1 = np.where(present, 2 * tp / (n_true + n_pred), 0.0)
        return f1.sum(axis=-1) / present.sum(axis=-1)


def per_class_f1(y_true: ArrayLike, y_pred: ArrayLike, *, labels: Sequence | None = None,
                 zero_division: float = 0.0) -> pd.DataFrame:
    """Precision, recall, F1 and support of each class (scikit-learn's ``precision_recall_fscore_support``).

    Parameters
    ----------
    y_true, y_pred : array_like (n,)
        True and predicted labels of the same evaluation items.
    labels : sequence, optional
        The classes to report, in this order; default the sorted union of the true and predicted labels.
    zero_division : float
        See ``f1_from_counts``.

    Returns
    -------
    DataFrame, one row per class
        ``label``; ``precision`` = tp / predicted; ``recall`` = tp / support; ``f1`` = 2 tp / (support +
        predicted); ``support`` the items truly of the class; ``predicted`` the items predicted as it; ``tp``
        the items both.

    Examples
    --------
    >>> per_class_f1(["a", "a", "b"], ["a", "b", "b"])[["label", "precision", "recall", "f1", "support"]]
      label  precision  recall        f1  support
    0     a        1.0     0.5  0.666667        2
    1     b        0.5     1.0  0.666667        1
    """
    t, p = _as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred")
    _check_same_length(y_true=t, y_pred=p)
    classes, (tc, pc) = encode_labels(t, p, labels=labels)
    tp, n_pred, n_true = _class_counts(tc, pc, classes.size)
    precision, recall, f1 = f1_from_counts(tp, n_pred, n_true, zero_division=zero_division)
    return pd.DataFrame({"label": classes, "precision": precision, "recall": recall, "f1": f1,
                         "support": n_true, "predicted": n_pred, "tp": tp})


def macro_f1(y_true: ArrayLike, y_pred: ArrayLike, *, labels: Sequence | None = None,
             zero_division: float = 0.0) -> float:
    """Macro-averaged F1: the unweighted mean of the classes' F1 (``per_class_f1``).

    Without ``labels`` the classes are the union of the true and predicted labels, so a class never
    predicted counts with F1 = 0 and a class predicted but never true too (scikit-learn's
    ``f1_score(average="macro")``). With ``labels``, exactly those classes count; one neither true nor
    predicted has F1 = ``zero_division`` (nan leaves it out of the mean).

    Examples
    --------
    >>> round(macro_f1(["a", "a", "b", "c"], ["a", "b", "b", "b"]), 4)  # (2/3 + 2/4 + 0) / 3
    0.3889
    """
    table = per_class_f1(y_true, y_pred, labels=labels, zero_division=zero_division)
    f1 = table["f1"].to_numpy(dtype=float)
    return float(np.nanmean(f1)) if np.isfinite(f1).any() else float("nan")


def top_label(proba: ArrayLike, classes: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """The predicted label (highest probability, the first on ties) and its probability, per row.

    Parameters
    ----------
    proba : array_like (n, K)
        A model's class probabilities, one column per class of ``classes``.
    classes : sequence (K,)
        The class of each column.

    Returns
    -------
    (y_pred, prob) : ndarrays (n,)

    Examples
    --------
    >>> y_pred, prob = top_label([[0.2, 0.8], [0.6, 0.4]], ["cat", "dog"])
    >>> y_pred.tolist(), prob.tolist()
    (['dog', 'cat'], [0.8, 0.6])
    """
    p = np.asarray(proba, dtype=float)
    labels = np.asarray(classes)
    if p.ndim != 2 or p.shape[1] != labels.size:
        raise ValueError("proba must have one column per class")
    best = np.argmax(p, axis=1)
    return labels[best], p[np.arange(p.shape[0]), best]


def confidence_bins(prob: ArrayLike, n_bins: int = 10) -> np.ndarray:
    """The equal-width bin of each confidence: bin m (0-based) holds m/M < prob ≤ (m+1)/M, bin 0 also 0.

    The bin edges are ``np.linspace(0, 1, n_bins + 1)``; a confidence on an edge belongs to the bin below it
    (Guo et al. 2017's (m−1)/M < p ≤ m/M).

    Examples
    --------
    >>> confidence_bins([0.0, 0.1, 0.15, 0.3, 1.0], n_bins=10).tolist()
    [0, 0, 1, 2, 9]
    """
    if int(n_bins) != n_bins or n_bins < 1:
        raise ValueError("n_bins must be a positive integer")
    p = np.asarray(prob, dtype=float)
    if p.ndim != 1:
        raise ValueError("prob must be one-dimensional")
    if not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
        raise ValueError("prob must lie in [0, 1]")
    edges = np.linspace(0.0, 1.0, int(n_bins) + 1)
    return np.clip(np.searchsorted(edges, p, side="left") - 1, 0, int(n_bins) - 1)


def ece_from_bin_sums(gap_sums: ArrayLike, n: ArrayLike) -> np.ndarray:
    """ECE from per-bin sums of (correct − prob), vectorised over leading axes.

    Parameters
    ----------
    gap_sums : array_like (..., M)
        Per bin, Σ (1[y_pred = y_true] − prob) over its items: n_m (acc_m − conf_m).
    n : array_like (...)
        The number of items.

    Returns
    -------
    ndarray (...)
        Σ_m |gap_sum_m| / n = Σ_m (n_m / n) |acc_m − conf_m|.
    """
    gaps = np.asarray(gap_sums, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.abs(gaps).sum(axis=-1) / np.asarray(n, dtype=float)


def _correct_and_prob(y_true: ArrayLike, y_pred: ArrayLike, prob: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    t, p = _as_labels(y_true, "y_true"), _as_labels(y_pred, "y_pred")
    conf = np.asarray(prob, dtype=float)
    _check_same_length(y_true=t, y_pred=p, prob=conf)
    return (t == p).astype(float), conf


def reliability_table(y_true: ArrayLike, y_pred: ArrayLike, prob: ArrayLike, *,
                      n_bins: int = 10) -> pd.DataFrame:
    """The reliability diagram's table: accuracy against mean confidence in equal-width confidence bins.

    Parameters
    ----------
    y_true, y_pred : array_like (n,)
        True and predicted labels.
    prob : array_like (n,)
        The probability the model gave its predicted label (its confidence), in [0, 1]; from a probability
        matrix, ``top_label`` gives both ``y_pred`` and ``prob``.
    n_bins : int
        M, the number of equal-width bins over [0, 1] (``confidence_bins``).

    Returns
    -------
    DataFrame, one row per bin (empty bins included)
        ``bin`` (0..M−1), ``lower``, ``upper`` (the bin holds lower < prob ≤ upper; bin 0 holds 0 too), ``n``
        items, ``mean_confidence`` the mean ``prob`` and ``accuracy`` the share correct of its items (both
        nan in an empty bin).

    Examples
    --------
    >>> table = reliability_table(["a", "a", "b"], ["a", "b", "b"], [0.9, 0.95, 0.55], n_bins=2)
    >>> table[["bin", "lower", "upper", "n", "mean_confidence", "accuracy"]]
       bin  lower  upper  n  mean_confidence  accuracy
    0    0    0.0    0.5  0              NaN       NaN
    1    1    0.5    1.0  3              0.8  0.666667
    """
    correct, conf = _correct_and_prob(y_true, y_pred, prob)
    m = int(n_bins)
    bins = confidence_bins(conf, m)
    n = np.bincount(bins, minlength=m)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_conf = np.where(n > 0, np.bincount(bins, weights=conf, minlength=m) / n, np.nan)
        acc = np.where(n > 0, np.bincount(bins, weights=correct, minlength=m) / n, np.nan)
    edges = np.linspace(0.0, 1.0, m + 1)
    return pd.DataFrame({"bin": np.arange(m), "lower": edges[:-1], "upper": edges[1:], "n": n,
                         "mean_confidence": mean_conf, "accuracy": acc})


def expected_calibration_error(y_true: ArrayLike, y_pred: ArrayLike, prob: ArrayLike, *,
                               n_bins: int = 10) -> float:
    """Expected calibration error (ECE) of the predicted label's confidence, equal-width bins.

    Parameters
    ----------
    y_true, y_pred, prob, n_bins
        As in ``reliability_table``.

    Returns
    -------
    float
        ECE = Σ_m (n_m / n) |acc_m − conf_m| in [0, 1], over the M equal-width bins of ``confidence_bins``:
        n_m items in bin m, acc_m the share of them predicted right, conf_m their mean ``prob``; an empty bin
        adds nothing.

    Notes
    -----
    The top-label ECE of Naeini et al. (2015) and Guo et al. (2017): only the confidence in the predicted
    label is assessed, not the whole probability vector. It depends on M (more bins, more noise: with few
    items per bin the |·| makes ECE biased upwards even for a calibrated model), so compare ECEs only at the
    same ``n_bins`` and similar n. Its value equals the ``n``-weighted mean of |accuracy − mean_confidence|
    over the rows of ``reliability_table``.

    References
    ----------
    Naeini, M. P., Cooper, G. F. & Hauskrecht, M. (2015). Obtaining well calibrated probabilities using
    Bayesian binning. AAAI 2015. Guo, C., Pleiss, G., Sun, Y. & Weinberger, K. Q. (2017). On calibration of
    modern neural networks. ICML 2017, eq. (3).

    Examples
    --------
    >>> round(expected_calibration_error(["a", "a", "b"], ["a", "b", "b"], [0.9, 0.95, 0.55], n_bins=2), 4)
    0.1333
    """
    correct, conf = _correct_and_prob(y_true, y_pred, prob)
    bins = confidence_bins(conf, n_bins)
    gaps = np.bincount(bins, weights=correct - conf, minlength=int(n_bins))
    return float(ece_from_bin_sums(gaps, correct.size))
