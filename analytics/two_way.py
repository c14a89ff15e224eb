"""Agreement intervals over items and annotators both: the pigeonhole bootstrap of a ratings table.

The item bootstrap of ``analytics.reliability`` answers "how reliable are *these* annotators": the panel is
fixed. When the panel is a sample of the annotators who could have labeled (a crowd, a vendor's pool), a
coefficient also varies with who was drawn, and with few annotators that is most of its uncertainty. Here
each replicate resamples the N items and, independently, the M annotators, with replacement (Owen's
pigeonhole bootstrap), and recomputes the coefficient on the crossed resample.

A rating is weighted by how often its annotator was drawn (c_j) and its item by how often the item was
(d_i). An annotator drawn twice stands for two annotators of the population who label alike; the pairs
*between* such copies are left out (they would agree with themselves), so every coefficient is computed
from pairs of ratings by different annotators of the sample:

- per item, m_i = Σ_r c_r, pairs W_i = m_i² − Σ_r c_r², agreeing pairs A_i = Σ_k (S_ik² − Q_ik), with
  S_ik = Σ_{r: label k} c_r and Q_ik = Σ_{r: label k} c_r²; an item is pairable when W_i > 0;
- percent agreement, Fleiss' kappa and AC1: the per-item agreement A_i / W_i and label shares S_ik / m_i,
  averaged over items with weights d_i;
- Krippendorff's alpha: the coincidence matrix o_ck = Σ_u d_u m_u (S_uc S_uk − [c = k] Q_uc) / W_u (each
  pairable item still contributes m_u values, spread over its pairs of different annotators).

With every c_j = d_i = 1 these are the ordinary coefficients, and with c_j ∈ {0, 1} the coefficients of the
ratings of the annotators kept (``tests/analytics/test_two_way.py`` checks both), so the sums go through
the same closed forms (``_Statistic.finish``) as the item bootstrap. Everything is computed on arrays of
ratings and of (item, label) cells; there is no items × annotators matrix.

Glossary: N items, M annotators, K labels, R ratings, C (item, label) cells, B replicates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from analytics import reliability
from analytics.bootstrap import percentile_interval
from analytics.ratings import check_level, label_patterns, latest_ratings, within_group_pairs

__all__ = ["agreement_estimates_two_way"]

#: Bytes of per-replicate work arrays held at once.
_CHUNK_BYTES = 64 * 2**20


@dataclass(frozen=True, eq=False)
class _Crossed:
    """Ratings coded for the crossed bootstrap, as sparse incidence matrices.

    Cells are the (item, label) pairs that occur; cell pairs every ordered pair of cells of the same item,
    diagonal included (the coincidences of alpha).
    """

    annotator: np.ndarray  # (R,) annotator code of each rating
    rating_cell: sparse.csr_matrix  # (R, C)
    cell_item: np.ndarray  # (C,) item code of each cell
    cell_items: sparse.csr_matrix  # (C, N)
    cell_labels: sparse.csr_matrix  # (C, K)
    pair_first: np.ndarray  # (CP,) first cell of each cell pair
    pair_second: np.ndarray
    pair_labels: sparse.csr_matrix  # (CP, K) the first cell's label
    pair_bins: sparse.csr_matrix  # (CP, K²) the pair's (label, label)
    pair_label_codes: tuple[np.ndarray, np.ndarray]
    n_items: int
    n_annotators: int


def _indicator(codes: np.ndarray, width: int) -> sparse.csr_matrix:
    return sparse.csr_matrix((np.ones(codes.size), (np.arange(codes.size), codes)), shape=(codes.size, width))


def _crossed(ratings: pd.DataFrame, labels: pd.Index) -> _Crossed:
    item, _ = pd.factorize(ratings["item_id"])
    annotator, annotators = pd.factorize(ratings["annotator_id"])
    label = labels.get_indexer(pd.Index(np.asarray(ratings["label"], dtype=object)))
    k = len(labels)
    cells, rating_cell = np.unique(item.astype(np.int64) * k + label, return_inverse=True)
    cell_item, cell_label = cells // k, cells % k
    n_items = int(item.max()) + 1
    first, second = within_group_pairs(np.bincount(cell_item, minlength=n_items), strict=False)
    return _Crossed(
        annotator=annotator, rating_cell=_indicator(rating_cell.ravel(), cells.size), cell_item=cell_item,
        cell_items=_indicator(cell_item, n_items), cell_labels=_indicator(cell_label, k),
        pair_first=first, pair_second=second, pair_labels=_indicator(cell_label[first], k),
        pair_bins=_indicator(cell_label[first] * k + cell_label[second], k * k),
        pair_label_codes=(cell_label[first], cell_label[second]),
        n_items=n_items, n_annotators=len(annotators),
    )


def _sum_by(values: np.ndarray, incidence: sparse.csr_matrix) -> np.ndarray:
    """(B, columns of ``incidence``): each row of ``values`` (B, rows of ``incidence``) summed by column."""
    return np.asarray((incidence.T @ values.T).T)


def _sums(x: _Crossed, metric: str, level: str, delta: np.ndarray | None, item_w: np.ndarray,
          annotator_w: np.ndarray) -> np.ndarray:
    """(B, s) the feature sums of ``metric``'s statistic on B crossed resamples given as weights."""
    weight = annotator_w[:, x.annotator]  # (B, R)
    s = _sum_by(weight, x.rating_cell)  # (B, C): S_ik
    q = _sum_by(weight**2, x.rating_cell)  # Q_ik
    m = _sum_by(s, x.cell_items)  # (B, N)
    pairs = m**2 - _sum_by(q, x.cell_items)
    pairable = pairs > 0
    if metric in ("percent_agreement", "fleiss_kappa", "gwet_ac1"):
        agree = _sum_by(s**2 - q, x.cell_items)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(pairable, agree / pairs, 0.0)
        observed = [(item_w * pairable).sum(axis=1), (item_w * share).sum(axis=1)]
        if metric == "percent_agreement":
            return np.column_stack(observed)
        rated = m > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            per_item = np.where(rated, item_w / m, 0.0)
        shares = _sum_by(s * per_item[:, x.cell_item], x.cell_labels)
        return np.column_stack([(item_w * rated).sum(axis=1), *observed, shares])
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(pairable, item_w * m / pairs, 0.0)  # d_u m_u / W_u
    a, b = x.pair_first, x.pair_second
    coincidence = (s[:, a] * s[:, b] - np.where(a == b, q[:, a], 0.0)) * spread[:, x.cell_item[a]]
    if level == "ordinal":
        return _sum_by(coincidence, x.pair_bins)
    first, second = x.pair_label_codes
    return np.column_stack([coincidence @ delta[first, second], _sum_by(coincidence, x.pair_labels)])


def agreement_estimates_two_way(
    events: pd.DataFrame,
    *,
    metrics: Sequence[str] = reliability.METRICS,
    level: str = "nominal",
    order: Sequence | None = None,
    n_categories: int | None = None,
    n_boot: int = 1000,
    random_state: int | np.random.Generator | None = 0,
    confidence: float = 0.95,
) -> dict[str, reliability.AgreementEstimate]:
    """Agreement coefficients with percentile intervals over items and annotators both.

    Parameters
    ----------
    events : DataFrame with columns ``item_id, annotator_id, label`` (optional ``labeled_at``)
        Label events or ratings; each annotator counts once per item, with their latest label. Integer
        codes work as ids (the store's ``coded_ratings``), a Categorical as labels.
    metrics, level, order, n_categories, confidence
        As in ``analytics.reliability.agreement_estimates``.
    n_boot : int
        Crossed bootstrap replicates (≥ 1).
    random_state : int, Generator or None
        Seed; the same seed gives the same intervals.

    Returns
    -------
    dict of str to AgreementEstimate
        The values equal ``agreement_estimates``' on the same ratings; ``resampled="items and annotators"``,
        ``method="bootstrap percentile over items and annotators"``.

    Notes
    -----
    What it captures: in a crossed random-effects view of agreement (item effects, annotator effects and
    their interaction), the item bootstrap sees the item and interaction variance only; resampling
    annotators too adds the annotator variance, which dominates with a small panel. The pigeonhole
    bootstrap is known to be mildly conservative: it counts the interaction variance more than once, an
    excess of order 1/(N·M) that matters only when both items and annotators are few (Owen 2007; Owen &
    Eckles 2012). No bootstrap is exact here (McCullagh 2000). With very few annotators (3, say) the
    annotators' resamples take few distinct values, the ones drawing a single annotator have no pair and
    are left out, and the interval cannot reach 95% coverage of the population's coefficient: read it as
    the least uncertainty there is (``bench/agreement_coverage.py`` measures it). BCa is not used: its
    jackknife has no standard form for two crossed factors.

    Cost: O(B · (R + Σ_i c_i²)) with c_i the labels given to item i, in chunks that bound memory; about 10×
    the item bootstrap, which works on patterns.

    References
    ----------
    Owen, A. B. (2007). The pigeonhole bootstrap. Annals of Applied Statistics 1(2), 386–411.
    Owen, A. B. & Eckles, D. (2012). Bootstrapping data arrays of arbitrary order. Annals of Applied
    Statistics 6(3), 895–927.
    McCullagh, P. (2000). Resampling and exchangeable arrays. Bernoulli 6(2), 285–301.

    Examples
    --------
    >>> events = pd.DataFrame({"item_id": [1, 1, 1, 2, 2, 2, 3, 3, 3],
    ...                        "annotator_id": list("abcabcabc"), "label": list("xxyyyyxxx")})
    >>> est = agreement_estimates_two_way(events, metrics=["krippendorff_alpha"], n_boot=200)
    >>> round(est["krippendorff_alpha"].value, 3), est["krippendorff_alpha"].resampled
    (0.6, 'items and annotators')
    """
    metrics = (metrics,) if isinstance(metrics, str) else tuple(metrics)
    check_level(level)
    if int(n_boot) != n_boot or n_boot < 1:
        raise ValueError("n_boot must be a whole number ≥ 1")
    ratings = latest_ratings(events)
    counts = ratings.groupby(["item_id", "label"], sort=True, observed=True).size().rename("n").reset_index()
    point = reliability.agreement_estimates(counts, metrics=metrics, level=level, order=order,
                                            n_categories=n_categories, n_boot=0, confidence=confidence)
    if ratings.empty:
        return point
    alpha_level = level if "krippendorff_alpha" in metrics else "nominal"
    pt = label_patterns(counts, level=alpha_level, order=order)
    x = _crossed(ratings, pt.labels)
    statistics = {m: reliability._STATISTICS[m](pt, level=alpha_level, n_categories=n_categories)
                  for m in metrics}
    delta = reliability.alpha_delta(pt, alpha_level) if alpha_level != "ordinal" else None
    rng = np.random.default_rng(random_state)
    width = 3 * (len(x.annotator) + 3 * x.cell_item.size + 2 * x.pair_first.size + 3 * x.n_items)
    chunk = int(max(1, min(n_boot, _CHUNK_BYTES // (8 * width))))
    replicates = {m: np.empty(int(n_boot)) for m in metrics}
    for start in range(0, int(n_boot), chunk):
        size = min(chunk, int(n_boot) - start)
        item_w = rng.multinomial(x.n_items, np.full(x.n_items, 1 / x.n_items), size=size).astype(float)
        annotator_w = rng.multinomial(x.n_annotators, np.full(x.n_annotators, 1 / x.n_annotators),
                                      size=size).astype(float)
        for metric, statistic in statistics.items():
            sums = _sums(x, metric, alpha_level, delta, item_w, annotator_w)
            with np.errstate(divide="ignore", invalid="ignore"):
                replicates[metric][start:start + size] = statistic.finish(sums)
    estimates = {}
    for metric, estimate in point.items():
        low, high = percentile_interval(replicates[metric], confidence=confidence)
        found = np.isfinite(low)
        estimates[metric] = reliability.AgreementEstimate(
            **{**estimate.__dict__, "ci_low": low, "ci_high": high, "n_boot": int(n_boot) if found else 0,
               "method": "bootstrap percentile over items and annotators" if found else "none",
               "resampled": "items and annotators" if found else "", "std_error": float("nan")},
        )
    return estimates
