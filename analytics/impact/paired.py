"""Paired comparisons of two arms scored on the same evaluation items: arm A (before a remediation) and arm B
(after). The difference B − A of a metric with a paired bootstrap interval, McNemar's test on the items'
correctness, and the difference per subgroup with a test of whether it is the same in every subgroup.

The bootstrap resamples evaluation items, each carrying its true label and both arms' predictions, so the two
arms always see the same resample: the interval of B − A accounts for their correlation (an item hard for A
is usually hard for B), which is what makes a paired comparison far narrower than two separate intervals.

Every built-in metric (``METRICS``) is a closed form of sums over items of per-item features (correct or not,
per-class counts, per-bin calibration gaps; the forms are ``analytics.impact.metrics``'s). Items with the same
features form a *pattern* (for accuracy, at most 4: right/wrong in A × right/wrong in B), and a resample is a
vector of pattern multiplicities: with few patterns it is one multinomial draw over them, otherwise a count of
drawn item indices, both vectorised over replicates. A replicate's metric is then one matrix product and the
closed form: no Python loop per replicate. A metric given as a function of (y_true, y_pred) is evaluated once
per replicate on the resampled items.

Glossary: n evaluation items, B bootstrap replicates, P patterns, K classes, G subgroups.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import sparse, stats
from statsmodels.stats.contingency_tables import mcnemar

from analytics.core.bootstrap import bca_interval, percentile_interval
from analytics.impact.metrics import (
    _as_labels,
    _check_same_length,
    confidence_bins,
    ece_from_bin_sums,
    encode_labels,
    macro_f1_from_counts,
)

#: Metrics ``paired_bootstrap`` computes in closed form over resampled counts.
METRICS = ("accuracy", "macro_f1", "ece")
#: Whether a larger value of each built-in metric is better (ECE is an error: lower is better).
HIGHER_IS_BETTER = {"accuracy": True, "macro_f1": True, "ece": False}
#: Bootstrap intervals ``paired_bootstrap`` offers.
INTERVALS = ("bca", "percentile")
#: The interval each built-in metric gets by default (a function of (y_true, y_pred) gets BCa). ECE gets the
#: percentile interval: it sums absolute values, and BCa's bias correction of such a non-smooth statistic
#: made the 95% interval find a difference between two draws of one model in 8.3% of 400 simulations, the
#: percentile interval in none (``tests/impact/test_paired_simulation.py``).
DEFAULT_INTERVAL = {"accuracy": "bca", "macro_f1": "bca", "ece": "percentile"}
#: McNemar's test is exact (binomial) below this many discordant items, χ² with continuity correction from it.
MCNEMAR_EXACT_BELOW = 25
#: Subgroups with fewer items get no "got worse" flag and stay out of the heterogeneity test.
MIN_SUBGROUP_ITEMS = 20

__all__ = [
    "DEFAULT_INTERVAL", "HIGHER_IS_BETTER", "INTERVALS", "MCNEMAR_EXACT_BELOW", "METRICS",
    "MIN_SUBGROUP_ITEMS", "Heterogeneity", "McNemarResult", "PairedDelta", "SubgroupDeltas", "cochran_q",
    "mcnemar_table_test", "mcnemar_test", "paired_bootstrap", "subgroup_deltas",
]

# Bytes of resampling work (drawn indices, pattern weights, per-replicate sums) held at once.
_CHUNK_BYTES = 64 * 2**20

MetricFunction = Callable[[np.ndarray, np.ndarray], float]


# --- the two arms' metric as a function of pattern weights -------------------------------------------------


@dataclass(frozen=True, eq=False)
class _Summed:
    """Both arms' metric as ``finish(W @ features)``: W holds items per pattern, one row per replicate."""

    features: sparse.csr_matrix  # (P, s)
    finish: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]  # (B, s) sums -> (a, b), each (B,)

    @property
    def width(self) -> int:
        return int(self.features.shape[1])

    def evaluate(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sums = np.asarray(self.features.T @ np.atleast_2d(weights).T).T
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.finish(sums)

    def jackknife(self, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(P,) each arm's metric with one item of each pattern left out: the full sums minus its features."""
        total = np.asarray(self.features.T @ weight).ravel()
        n_patterns = self.features.shape[0]
        a, b = np.empty(n_patterns), np.empty(n_patterns)
        step = max(1, _CHUNK_BYTES // (32 * max(1, self.width)))
        with np.errstate(divide="ignore", invalid="ignore"):
            for start in range(0, n_patterns, step):
                block = total[None, :] - self.features[start:start + step].toarray()
                a[start:start + step], b[start:start + step] = self.finish(block)
        return a, b


@dataclass(frozen=True, eq=False)
class _Called:
    """Both arms' metric as a function of (y_true, y_pred), on the items a weight vector stands for."""

    function: MetricFunction
    y_true: np.ndarray  # (P,) per pattern
    pred_a: np.ndarray
    pred_b: np.ndarray

    width = 0

    def _both(self, w: np.ndarray) -> tuple[float, float]:
        if w.sum() <= 0:
            return float("nan"), float("nan")
        index = np.repeat(np.arange(w.size), w.astype(np.int64))
        t = self.y_true[index]
        return float(self.function(t, self.pred_a[index])), float(self.function(t, self.pred_b[index]))

    def evaluate(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = np.array([self._both(w) for w in np.atleast_2d(weights)], dtype=float).reshape(-1, 2)
        return values[:, 0], values[:, 1]

    def jackknife(self, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        values = np.empty((weight.size, 2))
        for pattern in range(weight.size):
            left_out = weight.copy()
            left_out[pattern] -= 1
            values[pattern] = self._both(left_out)
        return values[:, 0], values[:, 1]


def _patterns(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(unique key rows (P, k), pattern of each item (n,), items per pattern (P,))."""
    unique, inverse, counts = np.unique(keys, axis=0, return_inverse=True, return_counts=True)
    return unique, inverse.ravel(), counts


def _one_hot(rows: np.ndarray, columns: np.ndarray, values: np.ndarray, shape: tuple[int, int],
             ) -> sparse.csr_matrix:
    return sparse.csr_matrix((values.astype(float), (rows, columns)), shape=shape)


def _accuracy_statistic(correct_a: np.ndarray, correct_b: np.ndarray,
                        ) -> tuple[_Summed, np.ndarray, np.ndarray]:
    unique, inverse, counts = _patterns(np.column_stack([correct_a, correct_b]).astype(np.int8))
    features = sparse.csr_matrix(np.column_stack([np.ones(len(unique)), unique]).astype(float))

    def finish(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return t[:, 1] / t[:, 0], t[:, 2] / t[:, 0]

    return _Summed(features, finish), inverse, counts


def _macro_f1_statistic(t: np.ndarray, a: np.ndarray, b: np.ndarray, k: int,
                        ) -> tuple[_Summed, np.ndarray, np.ndarray]:
    """Features (5K): truths, A's predictions, A's true positives, B's predictions, B's true positives."""
    unique, inverse, counts = _patterns(np.column_stack([t, a, b]))
    pt, pa, pb = unique.T
    p = len(unique)
    rows = np.arange(p)
    hit_a, hit_b = pa == pt, pb == pt
    features = (_one_hot(rows, pt, np.ones(p), (p, 5 * k))
                + _one_hot(rows, k + pa, np.ones(p), (p, 5 * k))
                + _one_hot(rows[hit_a], 2 * k + pt[hit_a], np.ones(hit_a.sum()), (p, 5 * k))
                + _one_hot(rows, 3 * k + pb, np.ones(p), (p, 5 * k))
                + _one_hot(rows[hit_b], 4 * k + pt[hit_b], np.ones(hit_b.sum()), (p, 5 * k)))

    def finish(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_true = s[:, :k]
        return (macro_f1_from_counts(s[:, 2 * k:3 * k], s[:, k:2 * k], n_true),
                macro_f1_from_counts(s[:, 4 * k:], s[:, 3 * k:4 * k], n_true))

    return _Summed(features.tocsr(), finish), inverse, counts


def _ece_statistic(correct_a: np.ndarray, prob_a: np.ndarray, correct_b: np.ndarray, prob_b: np.ndarray,
                   n_bins: int) -> tuple[_Summed, np.ndarray, np.ndarray]:
    """Features (1 + 2M): 1, then A's gap (correct − prob) in its bin's column, then B's."""
    keys = np.column_stack([correct_a, prob_a, correct_b, prob_b])
    unique, inverse, counts = _patterns(keys)
    ca, pa, cb, pb = unique.T
    p, m = len(unique), int(n_bins)
    rows = np.arange(p)
    width = 1 + 2 * m
    features = (_one_hot(rows, np.zeros(p, dtype=np.int64), np.ones(p), (p, width))
                + _one_hot(rows, 1 + confidence_bins(pa, m), ca - pa, (p, width))
                + _one_hot(rows, 1 + m + confidence_bins(pb, m), cb - pb, (p, width)))

    def finish(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return ece_from_bin_sums(s[:, 1:1 + m], s[:, 0]), ece_from_bin_sums(s[:, 1 + m:], s[:, 0])

    return _Summed(features.tocsr(), finish), inverse, counts


def _arms(y_true: ArrayLike, pred_a: ArrayLike, pred_b: ArrayLike,
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    t, a, b = _as_labels(y_true, "y_true"), _as_labels(pred_a, "pred_a"), _as_labels(pred_b, "pred_b")
    _check_same_length(y_true=t, pred_a=a, pred_b=b)
    return t, a, b


def _probabilities(prob: ArrayLike | None, name: str, n: int) -> np.ndarray:
    if prob is None:
        raise ValueError(f"metric 'ece' needs {name}: the probability each arm gave its predicted label")
    p = np.asarray(prob, dtype=float)
    if p.shape != (n,):
        raise ValueError(f"{name} must hold one probability per item")
    confidence_bins(p, 1)  # checks the range
    return p


def _statistic(t: np.ndarray, a: np.ndarray, b: np.ndarray, metric: str | MetricFunction,
               prob_a: ArrayLike | None, prob_b: ArrayLike | None, n_bins: int,
               ) -> tuple[_Summed | _Called, np.ndarray, np.ndarray]:
    """The statistic, the pattern of each item and the items per pattern."""
    if callable(metric):
        classes, (tc, ac, bc) = encode_labels(t, a, b)
        unique, inverse, counts = _patterns(np.column_stack([tc, ac, bc]))
        return _Called(metric, *(classes[unique[:, j]] for j in range(3))), inverse, counts
    if metric == "accuracy":
        return _accuracy_statistic(t == a, t == b)
    if metric == "macro_f1":
        classes, (tc, ac, bc) = encode_labels(t, a, b)
        return _macro_f1_statistic(tc, ac, bc, classes.size)
    if metric == "ece":
        n = t.size
        pa, pb = _probabilities(prob_a, "prob_a", n), _probabilities(prob_b, "prob_b", n)
        return _ece_statistic((t == a).astype(float), pa, (t == b).astype(float), pb, n_bins)
    raise ValueError(f"metric must be one of {', '.join(METRICS)} or a function of (y_true, y_pred)")


def _resampled_weights(item_pattern: np.ndarray, weight: np.ndarray, n_boot: int, rng: np.random.Generator,
                       extra_width: int) -> Iterator[np.ndarray]:
    """Yield (b, P) items per pattern of bootstrap resamples of the n items, a chunk of replicates at a time.

    With few patterns (P ≤ n / 16) a replicate is one multinomial draw over patterns, O(P); otherwise n item
    indices are drawn and counted per pattern for the whole chunk at once, O(n). Both draw the n items
    with replacement (the same distribution of multiplicities).
    """
    n, p = item_pattern.size, weight.size
    by_pattern = 16 * p <= n
    per_replicate = 8 * (p + extra_width + (0 if by_pattern else 2 * n))
    chunk = int(max(1, min(n_boot, _CHUNK_BYTES // per_replicate)))
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        if by_pattern:
            yield rng.multinomial(n, weight / n, size=size).astype(float)
        else:
            drawn = item_pattern[rng.integers(0, n, (size, n))] + (np.arange(size) * p)[:, None]
            yield np.bincount(drawn.ravel(), minlength=size * p).reshape(size, p).astype(float)


# --- the paired bootstrap ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PairedDelta:
    """The difference B − A of a metric between two arms on the same items, with its paired interval.

    Attributes
    ----------
    metric : str
        ``accuracy``, ``macro_f1``, ``ece``, or the name of the function given.
    a, b : float
        The metric in arm A (before) and arm B (after) on all n items.
    delta : float
        b − a. Positive is better for accuracy and F1, negative for ECE (``HIGHER_IS_BETTER``).
    ci_low, ci_high : float
        The ``confidence`` interval of ``delta`` (equal bounds when every resample gives the same delta, e.g.
        identical arms).
    confidence : float
        The coverage the interval aims at, e.g. 0.95.
    n : int
        Evaluation items.
    n_boot : int
        Bootstrap replicates.
    method : str
        How the interval was computed: ``paired bootstrap BCa over items``, ``paired bootstrap percentile over
        items``, or the latter with ``(BCa undefined)`` when BCa was asked for and could not be computed
        (every replicate on one side of the estimate).
    std_error : float
        The standard deviation of the bootstrap replicates of ``delta`` (the bootstrap standard error).
    """

    metric: str
    a: float
    b: float
    delta: float
    ci_low: float
    ci_high: float
    confidence: float
    n: int
    n_boot: int
    method: str
    std_error: float

    @property
    def excludes_zero(self) -> bool:
        """Whether the interval lies wholly on one side of 0 (a significant difference at 1 − confidence)."""
        return bool(self.ci_low > 0 or self.ci_high < 0)


def _check_options(metric: str | MetricFunction, n_boot: int, confidence: float, interval: str | None) -> str:
    """The interval to compute, after checking the options."""
    if int(n_boot) != n_boot or n_boot < 1:
        raise ValueError("n_boot must be a positive integer")
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie strictly between 0 and 1")
    if interval is None:
        interval = DEFAULT_INTERVAL.get(metric, "bca") if isinstance(metric, str) else "bca"
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}")
    return interval


def _bootstrap(t: np.ndarray, a: np.ndarray, b: np.ndarray, metric: str | MetricFunction,
               prob_a: ArrayLike | None, prob_b: ArrayLike | None, n_bins: int, n_boot: int,
               confidence: float, interval: str, rng: np.random.Generator) -> PairedDelta:
    statistic, item_pattern, weight = _statistic(t, a, b, metric, prob_a, prob_b, n_bins)
    weight = weight.astype(float)
    value_a, value_b = (float(v[0]) for v in statistic.evaluate(weight))
    delta = value_b - value_a
    replicates = np.empty(int(n_boot))
    done = 0
    for weights in _resampled_weights(item_pattern, weight, int(n_boot), rng, 4 * statistic.width):
        rep_a, rep_b = statistic.evaluate(weights)
        replicates[done:done + len(weights)] = rep_b - rep_a
        done += len(weights)
    finite = replicates[np.isfinite(replicates)]
    std_error = float(finite.std(ddof=1)) if finite.size > 1 else float("nan")
    method = "paired bootstrap percentile over items"
    low = high = float("nan")
    if interval == "bca":
        jack_a, jack_b = statistic.jackknife(weight)
        low, high, _, _ = bca_interval(replicates, delta, jack_b - jack_a, weights=weight,
                                       confidence=confidence)
        method = "paired bootstrap BCa over items"
    if not (np.isfinite(low) and np.isfinite(high)):
        # BCa is undefined when every replicate is equal (then the percentile interval is that value) or on
        # one side of the estimate.
        if interval == "bca" and finite.size and finite.min() != finite.max():
            method = "paired bootstrap percentile over items (BCa undefined)"
        else:
            method = "paired bootstrap percentile over items"
        low, high = percentile_interval(replicates, confidence=confidence)
    name = metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")
    return PairedDelta(metric=name, a=value_a, b=value_b, delta=delta, ci_low=low, ci_high=high,
                       confidence=confidence, n=int(t.size), n_boot=int(n_boot), method=method,
                       std_error=std_error)


def paired_bootstrap(
    y_true: ArrayLike,
    pred_a: ArrayLike,
    pred_b: ArrayLike,
    *,
    metric: str | MetricFunction = "accuracy",
    prob_a: ArrayLike | None = None,
    prob_b: ArrayLike | None = None,
    n_bins: int = 10,
    n_boot: int = 2000,
    confidence: float = 0.95,
    interval: str | None = None,
    random_state: int | np.random.Generator | None = 0,
) -> PairedDelta:
    """The difference B − A of a metric with a paired bootstrap confidence interval over evaluation items.

    Parameters
    ----------
    y_true : array_like (n,)
        The trusted label of each evaluation item.
    pred_a, pred_b : array_like (n,)
        The label arm A (before) and arm B (after) predicted for the same items, in the same order.
    metric : str or callable
        ``accuracy``, ``macro_f1`` (``analytics.impact.metrics.macro_f1`` without ``labels``: the classes
        true or predicted in the resample, as scikit-learn), ``ece`` (``expected_calibration_error``, needs
        ``prob_a`` and ``prob_b``), or a function ``f(y_true, y_pred) -> float`` of the items' (true,
        predicted) pairs whose value does not depend on their order (any metric of scikit-learn's
        ``f(y_true, y_pred)`` form); a function is evaluated once per replicate, the built-in metrics on
        counts.
    prob_a, prob_b : array_like (n,), optional
        For ``ece``: the probability each arm gave its predicted label.
    n_bins : int
        For ``ece``: the number of equal-width confidence bins.
    n_boot : int
        Bootstrap replicates.
    confidence : float
        Coverage of the interval, in (0, 1).
    interval : {"bca", "percentile"}, optional
        Efron's BCa interval (``analytics.core.bootstrap.bca_interval``, with the jackknife over items) or the
        percentile interval (``percentile_interval``); default ``DEFAULT_INTERVAL[metric]``: BCa, but the
        percentile interval for ECE.
    random_state : int, Generator or None
        Seed of the resampling: the same seed gives the same interval.

    Returns
    -------
    PairedDelta

    Notes
    -----
    Each replicate draws n items with replacement and evaluates both arms on that same resample, so the
    replicates of B − A carry the arms' correlation. Assumptions: the evaluation items are a random sample
    of the items the comparison should speak for, and independent of one another (items that are
    near-duplicates, or several crops of one image, should be resampled as one cluster, which this function
    does not do: it would then give too narrow an interval); the two arms' predictions are fixed given the
    item (the interval is over items, not over the randomness of retraining a model: a model retrained with
    another seed varies too, and that variance is not in this interval). BCa corrects the percentile
    interval's bias and skewness. Measured by simulation (``tests/impact/test_paired_simulation.py``): the
    95% BCa interval of an accuracy gain covered it in 94.1–94.7% of samples of 100 to 1000 items, of a
    macro-F1 gain in 94.0–95.1%; between two draws of one model it found a difference in 3.5% (accuracy)
    and 4.5% (macro-F1) of samples. ECE's interval is conservative for a well-calibrated model (the
    bootstrap of a sum of |·| near 0 is wide): it rarely calls a difference that is not there, and misses
    small real ones.

    References
    ----------
    Efron, B. & Tibshirani, R. (1993). An Introduction to the Bootstrap. Chapman & Hall, ch. 14.

    Examples
    --------
    >>> y = np.array([0, 1] * 50)
    >>> before = np.where(np.arange(100) % 4 == 0, 1 - y, y)  # 25 items wrong
    >>> after = np.where(np.arange(100) % 10 == 0, 1 - y, y)  # 10 items wrong
    >>> result = paired_bootstrap(y, before, after, n_boot=500, random_state=1)
    >>> result.a, result.b, round(result.delta, 2), result.excludes_zero
    (0.75, 0.9, 0.15, True)
    """
    interval = _check_options(metric, n_boot, confidence, interval)
    t, a, b = _arms(y_true, pred_a, pred_b)
    return _bootstrap(t, a, b, metric, prob_a, prob_b, n_bins, int(n_boot), confidence, interval,
                      np.random.default_rng(random_state))


# --- McNemar's test ----------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class McNemarResult:
    """McNemar's test of whether the two arms are right on as many items.

    Attributes
    ----------
    table : DataFrame (2 × 2)
        Items by correctness: rows arm A (index ``right``, ``wrong``, named ``A``), columns arm B (likewise,
        named ``B``). ``table.loc["right", "wrong"]`` items only A got right, ``table.loc["wrong", "right"]``
        items only B got right.
    statistic : float
        The χ² statistic (with or without continuity correction), or for the exact test min(b, c), the
        smaller discordant count (statsmodels' convention).
    p_value : float
        Two-sided.
    method : str
        ``McNemar exact binomial``, ``McNemar chi-square with continuity correction`` or ``McNemar
        chi-square``.
    n_discordant : int
        b + c, the items on which exactly one arm is right: the only items the test reads.
    """

    table: pd.DataFrame
    statistic: float
    p_value: float
    method: str
    n_discordant: int


def mcnemar_table_test(table: ArrayLike, *, exact_below: int = MCNEMAR_EXACT_BELOW,
                       correction: bool = True) -> McNemarResult:
    """McNemar's test on a 2 × 2 table of paired correctness [[both right, only A right], [only B right,
    both wrong]] (rows A right/wrong, columns B right/wrong).

    Parameters
    ----------
    table : array_like (2, 2)
        Non-negative integer counts.
    exact_below : int
        With b + c discordant items, b = table[0][1] and c = table[1][0]: the exact binomial test when
        b + c < ``exact_below``, else the χ² test (1 degree of freedom). 0 always takes χ², a huge number
        always the exact test.
    correction : bool
        Whether the χ² statistic carries Edwards' continuity correction, (|b − c| − 1)² / (b + c), or is
        McNemar's (b − c)² / (b + c).

    Returns
    -------
    McNemarResult

    Notes
    -----
    Under H0 (each arm right on the same share of items, marginal homogeneity) b is Binomial(b + c, 1/2)
    given b + c; only the discordant items inform the test. The exact test is that binomial's two-sided
    p-value, 2 P(X ≤ min(b, c)) capped at 1; the χ² test is its normal approximation, poor with few
    discordant items, hence the exact test below 25 (the rule of thumb b + c < 25; e.g. Wikipedia's "McNemar's
    test"). Both are conservative, the corrected χ² the more so for moderate b + c (Fagerland, Lydersen &
    Laake 2013 compare them with the mid-p test): their false-positive rate stays below the nominal level.
    Computed by ``statsmodels.stats.contingency_tables.mcnemar``. When b + c = 0 the arms are right on
    exactly the same items: the p-value is 1.

    References
    ----------
    McNemar, Q. (1947). Note on the sampling error of the difference between correlated proportions or
    percentages. Psychometrika 12, 153–157. Edwards, A. L. (1948). Note on the "correction for continuity"
    in testing the significance of the difference between correlated proportions. Psychometrika 13,
    185–187. Fagerland, M. W., Lydersen, S. & Laake, P. (2013). The McNemar test for binary matched-pairs
    data: mid-p and asymptotic are better than exact conditional. BMC Medical Research Methodology 13, 91.

    Examples
    --------
    >>> result = mcnemar_table_test([[20, 12], [2, 16]])
    >>> result.method, round(result.p_value, 4)
    ('McNemar exact binomial', 0.0129)
    """
    counts = np.asarray(table)
    if counts.shape != (2, 2):
        raise ValueError("table must be 2 × 2")
    if (counts < 0).any() or (counts != np.round(counts)).any():
        raise ValueError("table must hold non-negative integer counts")
    counts = counts.astype(np.int64)
    discordant = int(counts[0, 1] + counts[1, 0])
    exact = discordant < exact_below
    if discordant == 0:
        statistic, p_value = 0.0, 1.0
    else:
        result = mcnemar(counts, exact=exact, correction=correction)
        statistic, p_value = float(result.statistic), float(result.pvalue)
    if exact:
        method = "McNemar exact binomial"
    else:
        method = "McNemar chi-square with continuity correction" if correction else "McNemar chi-square"
    frame = pd.DataFrame(counts, index=pd.Index(["right", "wrong"], name="A"),
                         columns=pd.Index(["right", "wrong"], name="B"))
    return McNemarResult(table=frame, statistic=statistic, p_value=p_value, method=method,
                         n_discordant=discordant)


def mcnemar_test(y_true: ArrayLike, pred_a: ArrayLike, pred_b: ArrayLike, *,
                 exact_below: int = MCNEMAR_EXACT_BELOW, correction: bool = True) -> McNemarResult:
    """McNemar's test on whether arm A and arm B predict the true label of as many items.

    ``y_true``, ``pred_a`` and ``pred_b`` as in ``paired_bootstrap``; ``exact_below`` and ``correction`` as
    in ``mcnemar_table_test``, which states the method. It tests accuracy only: a change in macro-F1 or ECE
    has no McNemar test (use ``paired_bootstrap``).

    Examples
    --------
    >>> mcnemar_test([1, 1, 0, 0], [1, 0, 0, 1], [1, 1, 0, 0]).table.loc["wrong", "right"]
    np.int64(2)
    """
    t, a, b = _arms(y_true, pred_a, pred_b)
    right_a, right_b = t == a, t == b
    table = [[np.count_nonzero(right_a & right_b), np.count_nonzero(right_a & ~right_b)],
             [np.count_nonzero(~right_a & right_b), np.count_nonzero(~right_a & ~right_b)]]
    return mcnemar_table_test(table, exact_below=exact_below, correction=correction)


# --- subgroups ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Heterogeneity:
    """Cochran's Q test of whether the difference B − A is the same in every subgroup.

    Attributes
    ----------
    q : float
        Σ_g w_g (d_g − d̄)², w_g = 1 / se_g², d̄ = Σ w_g d_g / Σ w_g, over the subgroups tested (nan with
        fewer than 2).
    df : int
        Subgroups tested − 1.
    p_value : float
        Upper tail of χ²(df) at q.
    i_squared : float
        max(0, (q − df) / q): the share of the spread of the subgroup deltas beyond what their sampling
        error explains (Higgins & Thompson 2002; about 0.25 low, 0.5 moderate, 0.75 high); 0 when q = 0.
    pooled_delta, pooled_std_error : float
        d̄ and (Σ w_g)^−½, the fixed-effect (inverse-variance) mean of the subgroup deltas.
    n_subgroups : int
        Subgroups tested.
    method : str
    """

    q: float
    df: int
    p_value: float
    i_squared: float
    pooled_delta: float
    pooled_std_error: float
    n_subgroups: int
    method: str = "Cochran's Q on bootstrap standard errors"


def cochran_q(delta: ArrayLike, std_error: ArrayLike) -> Heterogeneity:
    """Cochran's Q test of homogeneity of independent estimates with known standard errors, and I².

    Parameters
    ----------
    delta : array_like (G,)
        The estimates (one per subgroup).
    std_error : array_like (G,)
        Their standard errors, all finite and positive.

    Returns
    -------
    Heterogeneity

    Notes
    -----
    Under H0 (one common value) and with the estimates independent and normal with the given standard
    errors, Q ~ χ²(G − 1). The standard errors are treated as known: estimated from small samples they
    make Q too large (the test is then liberal), and Q has little power with few subgroups: a large p-value
    is no proof of a uniform effect.

    References
    ----------
    Cochran, W. G. (1954). The combination of estimates from different experiments. Biometrics 10,
    101–129. Higgins, J. P. T. & Thompson, S. G. (2002). Quantifying heterogeneity in a meta-analysis.
    Statistics in Medicine 21, 1539–1558.

    Examples
    --------
    >>> h = cochran_q([0.10, 0.30], [0.05, 0.05])
    >>> round(h.q, 4), h.df, round(h.i_squared, 4)
    (8.0, 1, 0.875)
    """
    d, se = np.asarray(delta, dtype=float), np.asarray(std_error, dtype=float)
    if d.shape != se.shape or d.ndim != 1:
        raise ValueError("delta and std_error must be one-dimensional and of the same length")
    if not (np.isfinite(d).all() and np.isfinite(se).all() and (se > 0).all()):
        raise ValueError("every delta and standard error must be finite, every standard error positive")
    g = d.size
    if g < 2:
        pooled = float(d[0]) if g else float("nan")
        return Heterogeneity(q=float("nan"), df=max(g - 1, 0), p_value=float("nan"), i_squared=float("nan"),
                             pooled_delta=pooled, pooled_std_error=float(se[0]) if g else float("nan"),
                             n_subgroups=g)
    w = 1.0 / se**2
    pooled = float((w * d).sum() / w.sum())
    q = float((w * (d - pooled) ** 2).sum())
    df = g - 1
    i_squared = max(0.0, (q - df) / q) if q > 0 else 0.0
    return Heterogeneity(q=q, df=df, p_value=float(stats.chi2.sf(q, df)), i_squared=i_squared,
                         pooled_delta=pooled, pooled_std_error=float(np.sqrt(1.0 / w.sum())), n_subgroups=g)


@dataclass(frozen=True, eq=False)
class SubgroupDeltas:
    """The difference B − A per subgroup, with the test of whether it is the same in all.

    Attributes
    ----------
    metric : str
    table : DataFrame, one row per subgroup (sorted)
        ``subgroup``; ``n`` items; ``a``, ``b``, ``delta`` = b − a; ``std_error`` the bootstrap standard
        error of ``delta``; ``ci_low``, ``ci_high`` its paired bootstrap interval; ``got_worse`` True when
        the interval lies wholly on the worse side of 0 (below for accuracy and F1, above for ECE) in a
        subgroup of at least ``min_items`` items; ``in_q_test`` whether the subgroup enters Cochran's Q
        (at least ``min_items`` items and a positive standard error).
    heterogeneity : Heterogeneity
        Cochran's Q over the subgroups with ``in_q_test``.
    confidence : float
    method : str
        The intervals' method (``PairedDelta.method`` of the subgroups; the most frequent when they differ).
    """

    metric: str
    table: pd.DataFrame
    heterogeneity: Heterogeneity
    confidence: float
    method: str


def subgroup_deltas(
    y_true: ArrayLike,
    pred_a: ArrayLike,
    pred_b: ArrayLike,
    subgroup: ArrayLike,
    *,
    metric: str | MetricFunction = "accuracy",
    prob_a: ArrayLike | None = None,
    prob_b: ArrayLike | None = None,
    n_bins: int = 10,
    n_boot: int = 2000,
    confidence: float = 0.95,
    interval: str | None = None,
    random_state: int | np.random.Generator | None = 0,
    min_items: int = MIN_SUBGROUP_ITEMS,
    higher_is_better: bool | None = None,
) -> SubgroupDeltas:
    """The difference B − A of a metric in each subgroup, its paired bootstrap interval, the subgroups that
    got worse, and Cochran's Q test of whether the difference is the same in every subgroup.

    Parameters
    ----------
    y_true, pred_a, pred_b, metric, prob_a, prob_b, n_bins, n_boot, confidence, interval
        As in ``paired_bootstrap``, whose interval each subgroup gets (on its own items).
    subgroup : array_like (n,)
        The subgroup of each item (a slice value); no missing values: give items without one a value of
        their own (e.g. ``"(none)"``).
    random_state : int, Generator or None
        Seed; subgroup g (in sorted order) resamples with the g-th stream spawned from it.
    min_items : int
        Subgroups with fewer items get an interval but no ``got_worse`` flag and stay out of the Q test:
        a bootstrap over a handful of items undercovers and its standard error is too noisy to weight by.
    higher_is_better : bool, optional
        The direction of "worse"; default ``HIGHER_IS_BETTER[metric]`` (True for a function).

    Returns
    -------
    SubgroupDeltas

    Notes
    -----
    The items of different subgroups are disjoint and each subgroup is resampled on its own (a stratified
    bootstrap), so the subgroup deltas are independent, as Cochran's Q assumes; Q further takes each delta
    as normal with its bootstrap standard error known (``cochran_q``). A delta with no spread (every item
    of the subgroup judged alike by both arms: standard error 0) would get infinite weight and is left out.
    The ``got_worse`` flags are per subgroup at ``confidence``: over many subgroups some flag by chance
    (about 2.5% of subgroups with no true change, at 95%); read them with the Q test and the subgroup sizes.
    """
    interval = _check_options(metric, n_boot, confidence, interval)
    t, a, b = _arms(y_true, pred_a, pred_b)
    groups = np.asarray(subgroup)
    if groups.shape != t.shape:
        raise ValueError("subgroup must hold one value per item")
    if pd.isna(groups).any():
        raise ValueError("subgroup has missing values")
    if higher_is_better is None:
        higher_is_better = HIGHER_IS_BETTER.get(metric, True) if isinstance(metric, str) else True
    pa = None if prob_a is None else np.asarray(prob_a, dtype=float)
    pb = None if prob_b is None else np.asarray(prob_b, dtype=float)
    if any(p is not None and p.shape != t.shape for p in (pa, pb)):
        raise ValueError("prob_a and prob_b must hold one probability per item")
    names, codes = np.unique(groups, return_inverse=True)
    streams = np.random.default_rng(random_state).spawn(names.size)
    rows, methods = [], []
    for g, (name, rng) in enumerate(zip(names, streams, strict=True)):
        take = np.flatnonzero(codes.ravel() == g)
        result = _bootstrap(t[take], a[take], b[take], metric,
                            None if pa is None else pa[take], None if pb is None else pb[take], n_bins,
                            int(n_boot), confidence, interval, rng)
        methods.append(result.method)
        big = take.size >= min_items
        worse = result.ci_high < 0 if higher_is_better else result.ci_low > 0
        rows.append({"subgroup": name, "n": int(take.size), "a": result.a, "b": result.b,
                     "delta": result.delta, "std_error": result.std_error, "ci_low": result.ci_low,
                     "ci_high": result.ci_high, "got_worse": bool(big and worse),
                     "in_q_test": bool(big and np.isfinite(result.std_error) and result.std_error > 0)})
    table = pd.DataFrame(rows, columns=["subgroup", "n", "a", "b", "delta", "std_error", "ci_low", "ci_high",
                                        "got_worse", "in_q_test"])
    tested = table[table["in_q_test"]]
    heterogeneity = cochran_q(tested["delta"].to_numpy(float), tested["std_error"].to_numpy(float))
    name = metric if isinstance(metric, str) else getattr(metric, "__name__", "metric")
    method = pd.Series(methods).mode().iloc[0] if methods else ""
    return SubgroupDeltas(metric=name, table=table, heterogeneity=heterogeneity, confidence=confidence,
                          method=method)
