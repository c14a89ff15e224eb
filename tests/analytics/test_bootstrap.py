"""BCa and percentile intervals: exactly scipy's on the same resamples, and the jackknife on patterns."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analytics.agreement import coefficients as agreement
from analytics.agreement import estimates as reliability
from analytics.core import ratings
from analytics.core.bootstrap import bca_interval, percentile_interval
from tests.analytics.agreement_examples import FLEISS_1971, wide_to_events


def _scipy_resamples(seed: int, n_resamples: int, n: int) -> np.ndarray:
    """The item indices ``scipy.stats.bootstrap`` draws with ``rng=default_rng(seed)`` in one batch."""
    return np.random.default_rng(seed).integers(0, n, (n_resamples, n))


def test_bca_equals_scipy_on_a_skewed_mean():
    data = np.random.default_rng(11).exponential(size=30)
    expected = stats.bootstrap((data,), np.mean, n_resamples=999, method="BCa",
                               rng=np.random.default_rng(5)).confidence_interval
    replicates = data[_scipy_resamples(5, 999, data.size)].mean(axis=1)
    jackknife = (data.sum() - data) / (data.size - 1)
    low, high, z0, a = bca_interval(replicates, data.mean(), jackknife)
    assert (low, high) == pytest.approx((expected.low, expected.high), rel=1e-12)
    assert a > 0  # a mean of a right-skewed variable: its standard error grows with it


@pytest.mark.parametrize(("metric", "level"), [
    ("krippendorff_alpha", "nominal"), ("krippendorff_alpha", "ordinal"), ("fleiss_kappa", "nominal"),
    ("gwet_ac1", "nominal"),
])
def test_bca_on_patterns_equals_scipy_on_items(metric, level):
    """scipy resamples and jackknifes the 30 items of Fleiss (1971) one by one; we evaluate the same
    resamples through pattern weights and jackknife once per pattern. The intervals must agree exactly."""
    counts = agreement.label_counts(wide_to_events(FLEISS_1971, by_rows_are_items=True))
    pt = ratings.label_patterns(counts, level=level)
    statistic = reliability._STATISTICS[metric](pt, level=level)
    n = pt.item_pattern.size

    def on_items(index):
        weights = np.bincount(pt.item_pattern[np.asarray(index, dtype=int)], minlength=pt.n_patterns)
        return statistic.evaluate(weights.astype(float))[0]

    expected = stats.bootstrap((np.arange(n),), on_items, n_resamples=499, method="BCa", vectorized=False,
                               rng=np.random.default_rng(3)).confidence_interval
    weight = pt.weight.astype(float)
    replicates = np.array([on_items(index) for index in _scipy_resamples(3, 499, n)])
    value = statistic.evaluate(weight)[0]
    low, high, _, _ = bca_interval(replicates, value, statistic.jackknife(weight), weights=weight)
    assert (low, high) == pytest.approx((expected.low, expected.high), rel=1e-12)
    assert pt.n_patterns < n  # the jackknife did run on fewer patterns than items


def test_pattern_jackknife_equals_leaving_each_item_out():
    counts = agreement.label_counts(wide_to_events(FLEISS_1971, by_rows_are_items=True))
    pt = ratings.label_patterns(counts, level="interval")
    statistic = reliability._STATISTICS["krippendorff_alpha"](pt, level="interval")
    per_pattern = statistic.jackknife(pt.weight.astype(float))
    items = counts["item_id"].unique()
    for pattern in range(pt.n_patterns):
        item = items[np.flatnonzero(pt.item_pattern == pattern)[0]]
        left_out = counts[counts["item_id"] != item]
        direct = reliability.krippendorff_alpha_from_counts(left_out, level="interval")
        assert per_pattern[pattern] == pytest.approx(direct, rel=1e-12)


def test_percentile_interval_is_numpys_quantiles_without_nan():
    values = np.r_[np.linspace(0, 1, 101), np.nan]
    assert percentile_interval(values) == pytest.approx((0.025, 0.975))
    assert np.isnan(percentile_interval([np.nan])[0])


def test_degenerate_replicates_give_no_interval():
    low, high, _, _ = bca_interval(np.ones(200), 1.0, np.ones(10))
    assert np.isnan(low) and np.isnan(high)
    # every replicate above the estimate: z0 is infinite and no quantile is meaningful
    low, _, z0, _ = bca_interval(np.linspace(0.5, 0.9, 200), 0.1, np.linspace(0, 0.2, 10))
    assert np.isnan(low) and z0 == -np.inf


def test_agreement_estimates_use_bca_by_default_and_percentile_on_request():
    rng = np.random.default_rng(2)
    counts = pd.DataFrame({"item_id": np.repeat(np.arange(60), 3), "label": ["x", "y", "z"] * 60,
                           "n": rng.integers(0, 3, 180)})
    bca = reliability.agreement_estimates(counts, metrics=["fleiss_kappa"], n_boot=300)["fleiss_kappa"]
    plain = reliability.agreement_estimates(counts, metrics=["fleiss_kappa"], n_boot=300,
                                            interval="percentile")["fleiss_kappa"]
    assert bca.method == "bootstrap BCa over items" and plain.method == "bootstrap percentile over items"
    assert bca.resampled == plain.resampled == "items" and bca.n_boot == 300
    assert (bca.ci_low, bca.ci_high) != (plain.ci_low, plain.ci_high)
    with pytest.raises(ValueError, match="bca, percentile"):
        reliability.agreement_estimates(counts, interval="student")
