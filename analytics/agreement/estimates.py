"""Agreement among many annotators from a label-count table: point estimates, standard errors, intervals.

Percent agreement, Fleiss' kappa, Gwet's AC1 and Krippendorff's alpha are each a closed form of sums over
items of per-item features (``_Statistic``). The sums run over the patterns of ``analytics.core.ratings``
(distinct
label-count vectors) weighted by the items sharing each pattern, and a bootstrap replicate only changes those
weights: resampling the N items with replacement is the same as drawing the pattern multiplicities from
Multinomial(N, c / N). So 200 replicates on millions of items cost little more than the point estimate.

Glossary: N items, K labels, P patterns; item i has m_i ratings, n_ik of them with label k.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse, stats

from analytics.core.bootstrap import bca_interval, percentile_interval
from analytics.core.ratings import LEVELS, LabelPatterns, check_level, label_patterns

#: Coefficients that ``agreement_estimates`` computes from a count table.
METRICS = ("percent_agreement", "fleiss_kappa", "gwet_ac1", "krippendorff_alpha")
#: Bootstrap intervals that ``agreement_estimates`` offers.
INTERVALS = ("bca", "percentile")
__all__ = [
    "INTERVALS", "LEVELS", "METRICS", "AgreementEstimate", "agreement_estimates", "fleiss_kappa_from_counts",
    "gwet_ac1_from_counts", "krippendorff_alpha_from_counts", "percent_agreement_from_counts",
]

# Bytes of bootstrap weights (and per-replicate results) held at once; bounds memory whatever N.
_CHUNK_BYTES = 64 * 2**20


# --- statistics: per-pattern features summed with item weights, then a closed form -------------------------


@dataclass(frozen=True, eq=False)
class _Statistic:
    """A coefficient as ``finish(W @ features)``: W holds item weights per pattern, one row per replicate."""

    features: sparse.csr_matrix  # (P, s)
    finish: Callable[[np.ndarray], np.ndarray]  # (B, s) sums -> (B,) coefficients

    def evaluate(self, weights: np.ndarray) -> np.ndarray:
        sums = np.asarray(self.features.T @ np.atleast_2d(weights).T).T
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.finish(sums)

    def jackknife(self, weights: np.ndarray) -> np.ndarray:
        """(P,) the coefficient with one item of each pattern left out of the items ``weights`` counts.

        Every item of a pattern leaves the same value, so the N leave-one-out values of the jackknife cost
        P evaluations, each the full sums minus one pattern's features.
        """
        total = np.asarray(self.features.T @ weights).ravel()
        out = np.empty(self.features.shape[0])
        step = max(1, _CHUNK_BYTES // (32 * max(1, self.features.shape[1])))
        with np.errstate(divide="ignore", invalid="ignore"):
            for start in range(0, out.size, step):
                block = self.features[start:start + step].toarray()
                out[start:start + step] = self.finish(total[None, :] - block)
        return out


def _agreement_columns(pt: LabelPatterns) -> tuple[np.ndarray, np.ndarray]:
    """Per pattern: 1 when pairable (m ≥ 2), and its share of agreeing pairs Σ n_k(n_k−1)/(m(m−1))."""
    m = pt.ratings
    same = np.bincount(pt.row_pattern, weights=pt.row_n * (pt.row_n - 1.0), minlength=pt.n_patterns)
    pairable = m >= 2
    share = np.divide(same, m * (m - 1), out=np.zeros(pt.n_patterns), where=pairable)
    return pairable.astype(float), share


def _chance_corrected(observed: np.ndarray, chance: np.ndarray) -> np.ndarray:
    # Chance agreement 1 means a single label carries every rating: the coefficient is 0/0, not 1.
    return np.where(1.0 - chance > 1e-12, (observed - chance) / (1.0 - chance), np.nan)


def _percent_statistic(pt: LabelPatterns, **_) -> _Statistic:
    pairable, agreement = _agreement_columns(pt)
    features = sparse.csr_matrix(np.column_stack([pairable, agreement]))
    return _Statistic(features, lambda t: t[:, 1] / t[:, 0])


def _pi_statistic(pt: LabelPatterns, chance: Callable[[np.ndarray], np.ndarray]) -> _Statistic:
    pairable, agreement = _agreement_columns(pt)
    share = pt.label_matrix(pt.row_n / pt.ratings[pt.row_pattern])
    scalars = sparse.csr_matrix(np.column_stack([np.ones(pt.n_patterns), pairable, agreement]))
    features = sparse.hstack([scalars, share], format="csr")

    def finish(t: np.ndarray) -> np.ndarray:
        pi = t[:, 3:] / t[:, :1]
        return _chance_corrected(t[:, 2] / t[:, 1], chance(pi))

    return _Statistic(features, finish)


def _fleiss_statistic(pt: LabelPatterns, **_) -> _Statistic:
    return _pi_statistic(pt, lambda pi: (pi**2).sum(axis=1))


def _ac1_categories(pt: LabelPatterns, n_categories: int | None) -> int:
    observed = pt.observed_labels()
    if n_categories is None:
        return observed
    if n_categories < observed:
        raise ValueError(f"n_categories={n_categories} but {observed} distinct labels were given")
    return int(n_categories)


def _ac1_statistic(pt: LabelPatterns, *, n_categories: int | None = None, **_) -> _Statistic:
    q = _ac1_categories(pt, n_categories)
    return _pi_statistic(pt, lambda pi: (pi * (1 - pi)).sum(axis=1) / (q - 1) if q > 1 else np.ones(len(pi)))


def _ordinal_delta(marginals: np.ndarray) -> np.ndarray:
    """Krippendorff's ordinal δ²_ck = (Σ_{g=c..k} n_g − (n_c + n_k)/2)² of (B, K) marginals in rank order."""
    cum = np.cumsum(marginals, axis=1)
    gap = cum[:, None, :] - cum[:, :, None] + (marginals[:, :, None] - marginals[:, None, :]) / 2
    return gap**2


def _alpha_statistic(pt: LabelPatterns, *, level: str = "nominal", **_) -> _Statistic:
    m = pt.ratings
    pairable = m >= 2
    k = pt.n_labels
    pattern, c, kk, n_c, n_k = pt.label_pairs()
    keep = pairable[pattern]
    pattern, c, kk, n_c, n_k = pattern[keep], c[keep], kk[keep], n_c[keep], n_k[keep]
    coincidence = (n_c * n_k - np.where(c == kk, n_c, 0.0)) / (m[pattern] - 1)
    if level == "ordinal":
        features = sparse.csr_matrix((coincidence, (pattern, c * k + kk)), shape=(pt.n_patterns, k * k))

        def finish(t: np.ndarray) -> np.ndarray:
            o = t.reshape(-1, k, k)
            marginals = o.sum(axis=2)
            delta = _ordinal_delta(marginals)
            observed = (o * delta).sum(axis=(1, 2))
            expected = np.einsum("bc,bk,bck->b", marginals, marginals, delta)
            return _alpha(marginals.sum(axis=1), observed, expected)

        return _Statistic(features, finish)
    # The nominal δ² is [c ≠ k]: read per pair, never as a K × K matrix (800 MB at 10,000 labels).
    delta = None if level == "nominal" else alpha_delta(pt, level)
    delta_pairs = (c != kk).astype(float) if delta is None else delta[c, kk]
    disagreement = np.bincount(pattern, weights=coincidence * delta_pairs, minlength=pt.n_patterns)
    values = pt.label_matrix(np.where(pairable[pt.row_pattern], pt.row_n, 0).astype(float))
    features = sparse.hstack([sparse.csr_matrix(disagreement[:, None]), values], format="csr")

    def finish(t: np.ndarray) -> np.ndarray:
        marginals = t[:, 1:]
        n = marginals.sum(axis=1)
        if level == "nominal":
            expected = n**2 - (marginals**2).sum(axis=1)
        else:
            expected = np.einsum("bc,ck,bk->b", marginals, delta, marginals)
        return _alpha(n, t[:, 0], expected)

    return _Statistic(features, finish)


def alpha_delta(pt: LabelPatterns, level: str) -> np.ndarray:
    """K × K differences δ²_ck of Krippendorff's alpha at the nominal, interval or ratio level.

    Nominal [c ≠ k]; interval (v_c − v_k)²; ratio ((v_c − v_k) / (v_c + v_k))² on the labels' scores. The
    ordinal differences depend on the marginals and are computed with them (``_ordinal_delta``).
    """
    k = pt.n_labels
    if level == "nominal":
        return 1.0 - np.eye(k)
    diff = pt.values[:, None] - pt.values[None, :]
    if level == "interval":
        return diff**2
    total = pt.values[:, None] + pt.values[None, :]
    return np.divide(diff, total, out=np.zeros((k, k)), where=total > 0) ** 2


def _alpha(n: np.ndarray, observed: np.ndarray, expected: np.ndarray) -> np.ndarray:
    # α = 1 − D_o / D_e = 1 − (n − 1) Σ o_ck δ_ck / Σ n_c n_k δ_ck; undefined when no two values differ.
    return np.where(expected > 0, 1.0 - (n - 1) * observed / expected, np.nan)


_STATISTICS: dict[str, Callable[..., _Statistic]] = {
    "percent_agreement": _percent_statistic,
    "fleiss_kappa": _fleiss_statistic,
    "gwet_ac1": _ac1_statistic,
    "krippendorff_alpha": _alpha_statistic,
}


def _point(pt: LabelPatterns, metric: str, **options) -> float:
    if not pt.weight.size:
        return float("nan")
    return float(_STATISTICS[metric](pt, **options).evaluate(pt.weight.astype(float))[0])


# --- public coefficients from a count table ----------------------------------------------------------------


def percent_agreement_from_counts(counts: pd.DataFrame) -> float:
    """Raw percent agreement of a label-count table (definition:
    ``analytics.agreement.coefficients.percent_agreement``).

    Parameters
    ----------
    counts : DataFrame with columns ``item_id`` (or the store's ``item_key``), ``label``, ``n``
        ``n`` annotators gave ``label`` to the item, one rating per annotator and item.

    Returns
    -------
    float
        Mean over items with m_i ≥ 2 ratings of Σ_k n_ik (n_ik − 1) / (m_i (m_i − 1)); nan without such items.

    Examples
    --------
    >>> counts = pd.DataFrame({"item_id": [1, 1, 2], "label": ["x", "y", "x"], "n": [2, 1, 2]})
    >>> round(percent_agreement_from_counts(counts), 4)
    0.6667
    """
    return _point(label_patterns(counts), "percent_agreement")


def fleiss_kappa_from_counts(counts: pd.DataFrame) -> float:
    """Fleiss' kappa of a label-count table (definition: ``analytics.agreement.coefficients.fleiss_kappa``).

    ``counts`` as in ``percent_agreement_from_counts``; returns κ, nan when undefined.
    """
    return _point(label_patterns(counts), "fleiss_kappa")


def gwet_ac1_from_counts(counts: pd.DataFrame, *, n_categories: int | None = None) -> float:
    """Gwet's AC1 of a label-count table (definition and ``n_categories``:
    ``analytics.agreement.coefficients.gwet_ac1``).

    ``counts`` as in ``percent_agreement_from_counts``; returns AC1, nan when undefined.
    """
    return _point(label_patterns(counts), "gwet_ac1", n_categories=n_categories)


def krippendorff_alpha_from_counts(counts: pd.DataFrame, *, level: str,
                                   order: Sequence | None = None) -> float:
    """Krippendorff's alpha of a label-count table (definition, ``level``, ``order``:
    ``analytics.agreement.coefficients.krippendorff_alpha``).

    ``counts`` as in ``percent_agreement_from_counts``; returns α, nan when undefined.
    """
    return _point(label_patterns(counts, level=level, order=order), "krippendorff_alpha", level=level)


# --- standard errors ---------------------------------------------------------------------------------------


def _percent_std_error(pt: LabelPatterns, **_) -> tuple[float, int]:
    pairable, agreement = _agreement_columns(pt)
    w = pt.weight * pairable
    n = w.sum()
    if n < 2:
        return float("nan"), 0
    mean = (w * agreement).sum() / n
    return float(np.sqrt((w * (agreement - mean) ** 2).sum() / (n - 1) / n)), int(n) - 1


def _gwet_std_error(pt: LabelPatterns, chance: str, n_categories: int | None = None) -> tuple[float, int]:
    """Gwet's (2008) linearised standard error of Fleiss' kappa or AC1, conditional on the annotators."""
    pairable, agreement = _agreement_columns(pt)
    c = pt.weight.astype(float)
    n, n_pairable = c.sum(), (c * pairable).sum()
    if n < 2 or n_pairable == 0:
        return float("nan"), 0
    share = pt.label_matrix(pt.row_n / pt.ratings[pt.row_pattern])
    pi = share.T @ c / n
    pa = (c * agreement).sum() / n_pairable
    if chance == "fleiss":
        pe, pe_item = (pi**2).sum(), share @ pi
    else:
        q = _ac1_categories(pt, n_categories)
        if q < 2:
            return float("nan"), 0
        pe, pe_item = (pi * (1 - pi)).sum() / (q - 1), share @ (1 - pi) / (q - 1)
    if 1 - pe <= 1e-12:
        return float("nan"), 0
    coef = (pa - pe) / (1 - pe)
    coef_item = n / n_pairable * (agreement - pe * pairable) / (1 - pe)
    linear = coef_item - 2 * (1 - coef) * (pe_item - pe) / (1 - pe)
    return float(np.sqrt((c * (linear - coef) ** 2).sum() / (n * (n - 1)))), int(n) - 1


_STD_ERRORS: dict[str, Callable[..., tuple[float, int]]] = {
    "percent_agreement": _percent_std_error,
    "fleiss_kappa": lambda pt, **_: _gwet_std_error(pt, "fleiss"),
    "gwet_ac1": lambda pt, n_categories=None, **_: _gwet_std_error(pt, "ac1", n_categories),
}
_STD_ERROR_METHODS = {
    "percent_agreement": "t interval of a mean over items",
    "fleiss_kappa": "t interval, Gwet (2008) linearised SE",
    "gwet_ac1": "t interval, Gwet (2008) linearised SE",
}


# --- bootstrap ---------------------------------------------------------------------------------------------


def _resampled_weights(pt: LabelPatterns, n_boot: int, rng: np.random.Generator, chunk: int, *,
                       by_pattern: bool | None = None) -> Iterator[np.ndarray]:
    """Yield (b, P) items per pattern of bootstrap resamples of the N items, ``chunk`` replicates at a time.

    With few patterns (``by_pattern``, chosen by default when P ≤ N / 16), each replicate is one multinomial
    draw over patterns, O(P); when patterns barely compress the items, drawing N item indices and counting
    their patterns is cheaper, O(N). Both give the same distribution.
    """
    n_items = pt.item_pattern.size
    if by_pattern is None:
        by_pattern = 16 * pt.n_patterns <= n_items
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        if by_pattern:
            yield rng.multinomial(n_items, pt.weight / n_items, size=size).astype(float)
        else:
            yield np.stack([
                np.bincount(pt.item_pattern[rng.integers(0, n_items, n_items)], minlength=pt.n_patterns)
                for _ in range(size)
            ]).astype(float)


def _bootstrap(pt: LabelPatterns, statistics: dict[str, _Statistic], n_boot: int,
               random_state: int | np.random.Generator | None) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(random_state)
    # Per replicate: its pattern weights, its sums and (ordinal alpha) a few K × K work arrays.
    width = pt.n_patterns + 4 * max(s.features.shape[1] for s in statistics.values())
    chunk = int(max(1, min(n_boot, _CHUNK_BYTES // (8 * width))))
    replicates = {name: np.empty(n_boot) for name in statistics}
    done = 0
    for weights in _resampled_weights(pt, n_boot, rng, chunk):
        for name, statistic in statistics.items():
            replicates[name][done:done + len(weights)] = statistic.evaluate(weights)
        done += len(weights)
    return replicates


# --- estimates with intervals ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgreementEstimate:
    """An agreement coefficient with its interval and the data it rests on.

    Attributes
    ----------
    metric : str
        ``percent_agreement``, ``fleiss_kappa``, ``gwet_ac1``, ``krippendorff_alpha`` or ``cohens_kappa``.
    value : float
        The point estimate (nan when undefined, e.g. every rating has the same label).
    ci_low, ci_high : float
        The ``confidence`` interval; nan when it cannot be computed.
    std_error : float
        Analytic standard error where a standard one exists (see ``agreement_estimates``), else nan.
    confidence : float
        Coverage the interval aims at, e.g. 0.95.
    method : str
        How the interval was computed.
    n_items, n_ratings : int
        Items and ratings the coefficient uses: items with 2+ ratings for percent agreement and alpha,
        every rated item for Fleiss' kappa and AC1 (single ratings enter their chance term), shared items
        for Cohen's kappa.
    level : str
        Level of measurement (alpha) or weighting (Cohen's kappa); ``nominal`` for the others.
    n_boot : int
        Bootstrap replicates behind the interval (0 for an analytic interval).
    n_pairable : int
        Items rated by two or more annotators: the only items whose agreement is observed. Equal to
        ``n_items`` for percent agreement, alpha and Cohen's kappa; Fleiss' kappa and AC1 observe agreement
        on these items too and take their chance term from all ``n_items``, which is why the expert cohort
        of the demo shows alpha on 49 items and kappa on 448 (49 of them rated twice or more).
    resampled : str
        What the interval treats as drawn at random: ``"items"`` (these annotators, other items),
        ``"items and annotators"`` (``analytics.agreement.two_way``), or ``""`` for an analytic interval or
        none.
    note : str
        Why the value or its interval is missing or must be read with care (empty when nothing to say).
    """

    metric: str
    value: float
    ci_low: float
    ci_high: float
    std_error: float
    confidence: float
    method: str
    n_items: int
    n_ratings: int
    level: str = "nominal"
    n_boot: int = 0
    n_pairable: int = 0
    resampled: str = ""
    note: str = ""


def agreement_estimates(
    counts: pd.DataFrame,
    *,
    metrics: Sequence[str] = METRICS,
    level: str = "nominal",
    order: Sequence | None = None,
    n_categories: int | None = None,
    n_boot: int = 1000,
    random_state: int | np.random.Generator | None = 0,
    confidence: float = 0.95,
    interval: str = "bca",
) -> dict[str, AgreementEstimate]:
    """Agreement coefficients of a label-count table with confidence intervals over items.

    Parameters
    ----------
    counts : DataFrame with columns ``item_id, label, n``
        ``n`` annotators gave ``label`` to ``item_id`` (one rating per annotator and item); the item column
        may be the store's ``item_key`` instead.
    metrics : sequence of str
        Any of ``percent_agreement, fleiss_kappa, gwet_ac1, krippendorff_alpha``.
    level : {'nominal', 'ordinal', 'interval', 'ratio'}
        Level of measurement for Krippendorff's alpha (the other coefficients are nominal).
    order : sequence, optional
        Labels from lowest to highest, for ordinal or interval alpha on non-numeric labels.
    n_categories : int, optional
        K for Gwet's AC1 when some labels of the vocabulary were never used (default: labels observed).
    n_boot : int
        Bootstrap replicates; 0 gives analytic intervals where they exist (nan otherwise).
    random_state : int, Generator or None
        Seed of the bootstrap; the same seed gives the same intervals.
    confidence : float
        Coverage of the intervals, in (0, 1).
    interval : {'bca', 'percentile'}
        Bootstrap interval: bias-corrected and accelerated (default) or plain percentile.

    Returns
    -------
    dict of str to AgreementEstimate
        One estimate per requested metric, in the order asked; ``resampled="items"`` for bootstrap
        intervals. ``note`` says why a value or interval is missing (see Notes).

    Notes
    -----
    Bootstrap (``n_boot > 0``): the N items are resampled with replacement, every coefficient is recomputed
    on the same resamples (replicates where it is undefined are left out), and the interval is BCa
    (``analytics.core.bootstrap.bca_interval``): the replicates' quantiles moved by a bias correction z0 (the
    share of replicates below the estimate) and an acceleration a from the jackknife over items. Items with
    the same label counts leave the same jackknife value, so the jackknife costs one evaluation per pattern,
    like a replicate. Percentile intervals of alpha and Fleiss' kappa covered the truth 91–92% of the time on
    20 items where 95% was asked; BCa holds its level much better there (``bench/agreement_coverage.py``,
    results in ``bench/README.md``). 200 replicates suit a dashboard; use 1000 or more for a report.

    What the interval covers: items are the random draw and the annotators are fixed, so it answers "how
    reliable are *these* annotators on items like these". It ignores that another panel of annotators
    would agree differently; with few annotators that is most of the uncertainty about the coefficient of
    the population of annotators (``analytics.agreement.two_way.agreement_estimates_two_way`` resamples both).

    Analytic standard errors: percent agreement, the standard error of a mean over items; Fleiss' kappa and
    AC1, Gwet's (2008) linearisation, valid at any value of the coefficient and with unequal numbers of
    ratings per item (the variance of R's irrCAC, conditional on the annotators, infinite population).
    Fleiss' (1971) own standard error holds only under κ = 0 with equal numbers of ratings, so it suits a
    test of "no agreement", not an interval, and statsmodels' ``fleiss_kappa`` gives no standard error.
    Alpha has no standard analytic one: Krippendorff recommends the bootstrap. With ``n_boot=0`` the interval
    is value ± t_{n−1} · SE (as irrCAC), clipped to [−1, 1] ([0, 1] for percent agreement).

    Degenerate data: when every item rated twice or more got one and the same label, alpha is undefined
    (no disagreement is possible, 0/0) while Fleiss' kappa and AC1 can read 1, their chance term counting
    the items rated once; when every such item is unanimous, every resample gives the same value and no
    interval exists. ``note`` says so, with how many disagreeing items 0 of n is still compatible with.

    Read alpha ≥ 0.8 as reliable, ≥ 0.667 as tentative (Krippendorff 2004); for kappa and AC1, Landis & Koch's
    bands (0.61–0.80 substantial, > 0.80 almost perfect) are conventions, not tests.

    References
    ----------
    Efron, B. & Tibshirani, R. (1993). An Introduction to the Bootstrap. Chapman & Hall, ch. 13–14.
    Gwet, K. L. (2008). Computing inter-rater reliability and its variance in the presence of high agreement.
    British Journal of Mathematical and Statistical Psychology 61, 29–48.
    Hayes, A. F. & Krippendorff, K. (2007). Answering the call for a standard reliability measure for coding
    data. Communication Methods and Measures 1(1), 77–89.

    Examples
    --------
    >>> counts = pd.DataFrame({"item_id": [1, 1, 2, 3], "label": ["a", "b", "a", "b"], "n": [2, 1, 2, 2]})
    >>> est = agreement_estimates(counts, metrics=["krippendorff_alpha"], n_boot=200)["krippendorff_alpha"]
    >>> round(est.value, 3), est.n_items, est.method
    (0.5, 3, 'bootstrap BCa over items')
    """
    metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    unknown = [m for m in metrics if m not in _STATISTICS]
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; valid metrics: {', '.join(METRICS)}")
    check_level(level)
    if not 0 < confidence < 1:
        raise ValueError("confidence must lie strictly between 0 and 1")
    if int(n_boot) != n_boot or n_boot < 0:
        raise ValueError("n_boot must be a non-negative whole number")
    if interval not in INTERVALS:
        raise ValueError(f"unknown interval {interval!r}; valid intervals: {', '.join(INTERVALS)}")
    alpha_level = level if "krippendorff_alpha" in metrics else "nominal"
    pt = label_patterns(counts, level=alpha_level, order=order)
    options = {"level": alpha_level, "n_categories": n_categories}
    statistics = {m: _STATISTICS[m](pt, **options) for m in metrics}
    replicates = _bootstrap(pt, statistics, int(n_boot), random_state) if n_boot and pt.weight.size else {}
    shape = data_shape(pt)
    tail = (1 - confidence) / 2
    weight = pt.weight.astype(float)
    estimates = {}
    for metric, statistic in statistics.items():
        value = float(statistic.evaluate(weight)[0]) if pt.weight.size else float("nan")
        std_error, dof = _STD_ERRORS[metric](pt, **options) if metric in _STD_ERRORS else (float("nan"), 0)
        low = high = float("nan")
        method, resampled = "none", ""
        if metric in replicates:
            if interval == "bca":
                low, high, *_ = bca_interval(replicates[metric], value, statistic.jackknife(weight),
                                             weights=weight, confidence=confidence)
            else:
                low, high = percentile_interval(replicates[metric], confidence=confidence)
            if np.isfinite(low):
                method = f"bootstrap {'BCa' if interval == 'bca' else 'percentile'} over items"
                resampled = "items"
        elif n_boot == 0 and np.isfinite(std_error) and np.isfinite(value):
            half = stats.t.ppf(1 - tail, dof) * std_error
            floor = 0.0 if metric == "percent_agreement" else -1.0
            low, high = max(value - half, floor), min(value + half, 1.0)
            method = _STD_ERROR_METHODS[metric]
        pairable_only = metric in ("percent_agreement", "krippendorff_alpha")
        estimates[metric] = AgreementEstimate(
            metric=metric, value=value, ci_low=float(low), ci_high=float(high), std_error=std_error,
            confidence=confidence, method=method,
            n_items=shape.pairable if pairable_only else shape.items,
            n_ratings=shape.pairable_ratings if pairable_only else shape.ratings,
            level=alpha_level if metric == "krippendorff_alpha" else "nominal",
            n_boot=int(n_boot) if resampled else 0, n_pairable=shape.pairable, resampled=resampled,
            note=estimate_note(metric, value, low, shape, bootstrapped=metric in replicates),
        )
    return estimates


@dataclass(frozen=True)
class DataShape:
    """What a count table holds, for the sizes and notes of its estimates."""

    items: int  # rated items
    ratings: int
    pairable: int  # items rated twice or more
    pairable_ratings: int
    disagreeing: int  # pairable items whose ratings are not all the same label
    pairable_labels: int  # distinct labels among the ratings of pairable items


def data_shape(pt: LabelPatterns) -> DataShape:
    """``DataShape`` of a count table's patterns."""
    pairable = pt.ratings >= 2
    labels_per_pattern = np.bincount(pt.row_pattern, minlength=pt.n_patterns)
    pairable_rows = pairable[pt.row_pattern]
    return DataShape(
        items=int(pt.weight.sum()), ratings=int((pt.weight * pt.ratings).sum()),
        pairable=int(pt.weight[pairable].sum()),
        pairable_ratings=int((pt.weight * pt.ratings)[pairable].sum()),
        disagreeing=int(pt.weight[pairable & (labels_per_pattern > 1)].sum()),
        pairable_labels=int(np.unique(pt.row_label[pairable_rows]).size),
    )


def estimate_note(metric: str, value: float, low: float, shape: DataShape, *, bootstrapped: bool) -> str:
    """Why an estimate or its interval is missing or must be read with care; empty when nothing to say."""
    if shape.pairable == 0:
        return "No item was rated by two or more annotators: agreement is not observed."
    if shape.pairable_labels == 1:
        if metric in ("fleiss_kappa", "gwet_ac1") and np.isfinite(value):
            return (f"Every one of the {shape.pairable:,} items rated twice or more got the same label: "
                    f"this reads {value:.3f} only because its chance term also counts the "
                    f"{shape.items - shape.pairable:,} items rated once, which bring other labels. "
                    "Alpha, which uses only items rated twice or more, is undefined here.")
        return (f"Undefined: every one of the {shape.pairable:,} items rated twice or more got the same "
                "label, so agreement cannot be told from chance (0/0).")
    if bootstrapped and shape.disagreeing == 0 and not np.isfinite(low):
        # The Wilson upper bound for 0 successes of n reduces to z² / (n + z²).
        z = stats.norm.ppf(0.975)
        worst = z**2 / (shape.pairable + z**2)
        return (f"All {shape.pairable:,} items rated twice or more are unanimous, so every resample gives "
                f"{value:.3f} and the bootstrap gives no interval. 0 disagreeing items in "
                f"{shape.pairable:,} is still compatible with up to {worst:.1%} of items having a "
                "disagreement (95% Wilson).")
    if bootstrapped and not np.isfinite(low) and np.isfinite(value):
        return "The resamples do not spread around the estimate: no bootstrap interval can be given."
    return ""
