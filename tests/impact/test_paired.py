"""Paired comparisons: the vectorised bootstrap equals scipy's and scikit-learn's on the same resamples,
McNemar's test equals statsmodels and two published worked examples, the subgroup deltas and Cochran's Q equal
statsmodels' meta-analysis."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import accuracy_score, f1_score
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.meta_analysis import combine_effects

from analytics.impact import metrics, paired


def _arms(seed, n, k=4, p_a=0.7, p_b=0.8):
    """Truths and two arms' predictions: each arm right with its probability, else a random label."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    a = np.where(rng.random(n) < p_a, y, rng.integers(0, k, n))
    b = np.where(rng.random(n) < p_b, y, rng.integers(0, k, n))
    return y, a, b


def _scipy_interval(n, statistic, method, seed, n_resamples):
    """scipy.stats.bootstrap over item indices (one draw of (n_resamples, n) indices from the seed)."""
    return stats.bootstrap((np.arange(n),), statistic, n_resamples=n_resamples, method=method,
                           vectorized=False, rng=np.random.default_rng(seed)).confidence_interval


def _macro(y_true, y_pred):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        return f1_score(y_true, y_pred, average="macro")


# --- the bootstrap ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["BCa", "percentile"])
def test_accuracy_delta_equals_scipys_paired_bootstrap(method):
    """40 items and at most 4 patterns: too few items to resample by pattern, so the items are drawn as scipy
    draws them (one (B, n) index array from the seed), and the intervals must agree exactly."""
    y, a, b = _arms(1, 40)

    def delta(index):
        return np.mean(y[index] == b[index]) - np.mean(y[index] == a[index])

    expected = _scipy_interval(40, delta, method, 7, 999)
    got = paired.paired_bootstrap(y, a, b, n_boot=999, interval=method.lower(),
                                  random_state=np.random.default_rng(7))
    assert (got.ci_low, got.ci_high) == pytest.approx((expected.low, expected.high), rel=1e-12)
    assert got.delta == pytest.approx(accuracy_score(y, b) - accuracy_score(y, a), rel=1e-15)
    assert (got.a, got.b, got.n, got.n_boot, got.metric) == (accuracy_score(y, a), accuracy_score(y, b), 40,
                                                              999, "accuracy")


def test_ece_delta_equals_scipys_paired_bootstrap():
    """Confidences make every item its own pattern: the resamples are scipy's, BCa included."""
    rng = np.random.default_rng(3)
    y, a, b = _arms(3, 120, k=3)
    prob_a, prob_b = rng.uniform(0.3, 1, 120), rng.uniform(0.3, 1, 120)

    def delta(index):
        return (metrics.expected_calibration_error(y[index], b[index], prob_b[index])
                - metrics.expected_calibration_error(y[index], a[index], prob_a[index]))

    expected = _scipy_interval(120, delta, "BCa", 5, 499)
    got = paired.paired_bootstrap(y, a, b, metric="ece", prob_a=prob_a, prob_b=prob_b, n_boot=499,
                                  interval="bca", random_state=5)
    assert (got.ci_low, got.ci_high) == pytest.approx((expected.low, expected.high), rel=1e-10)
    assert got.a == pytest.approx(metrics.expected_calibration_error(y, a, prob_a), rel=1e-12)
    assert got.method == "paired bootstrap BCa over items"
    default = paired.paired_bootstrap(y, a, b, metric="ece", prob_a=prob_a, prob_b=prob_b, n_boot=499,
                                      random_state=5)
    expected = _scipy_interval(120, delta, "percentile", 5, 499)
    assert (default.ci_low, default.ci_high) == pytest.approx((expected.low, expected.high), rel=1e-10)
    assert default.method == "paired bootstrap percentile over items"


def test_macro_f1_on_counts_equals_sklearn_called_per_replicate():
    """The same resamples (same patterns, same seed) through the per-class counts and through scikit-learn's
    f1_score called on each resample's items: the same replicates, the same interval. 600 items in at most
    5³ patterns: resampled by multinomial draws over patterns."""
    y, a, b = _arms(2, 600, k=5, p_a=0.6, p_b=0.7)
    vectorised = paired.paired_bootstrap(y, a, b, metric="macro_f1", n_boot=300, random_state=11)
    called = paired.paired_bootstrap(y, a, b, metric=_macro, n_boot=300, random_state=11)
    assert vectorised.delta == pytest.approx(_macro(y, b) - _macro(y, a), rel=1e-12)
    for field in ("a", "b", "delta", "ci_low", "ci_high", "std_error"):
        assert getattr(vectorised, field) == pytest.approx(getattr(called, field), rel=1e-12), field
    assert called.metric == "_macro" and vectorised.metric == "macro_f1"


def test_macro_f1_replicates_leave_out_classes_absent_from_the_resample():
    """Class 9 occurs on one item only (true and predicted by A): resamples without it must average over
    the other classes, as f1_score does on those items; checked on explicit resamples through the counts."""
    y, a, b = _arms(4, 60, k=3)
    y[0] = a[0] = 9
    statistic, item_pattern, weight = paired._statistic(y, a, b, "macro_f1", None, None, 10)
    rng = np.random.default_rng(0)
    index = rng.integers(0, 60, (50, 60))
    weights = np.stack([np.bincount(item_pattern[i], minlength=weight.size) for i in index]).astype(float)
    got_a, got_b = statistic.evaluate(weights)
    np.testing.assert_allclose(got_a, [_macro(y[i], a[i]) for i in index], rtol=1e-13)
    np.testing.assert_allclose(got_b, [_macro(y[i], b[i]) for i in index], rtol=1e-13)
    assert (index == 0).any(axis=1).sum() not in (0, 50)  # both kinds of resample occurred


def test_pattern_jackknife_equals_leaving_each_item_out():
    y, a, b = _arms(5, 80, k=3)
    statistic, item_pattern, weight = paired._statistic(y, a, b, "macro_f1", None, None, 10)
    jack_a, jack_b = statistic.jackknife(weight.astype(float))
    for item in range(0, 80, 7):
        keep = np.arange(80) != item
        assert jack_a[item_pattern[item]] == pytest.approx(_macro(y[keep], a[keep]), rel=1e-13)
        assert jack_b[item_pattern[item]] == pytest.approx(_macro(y[keep], b[keep]), rel=1e-13)


def test_identical_arms_give_a_zero_width_interval_at_zero():
    y, a, _ = _arms(6, 300)
    for metric in ("accuracy", "macro_f1"):
        result = paired.paired_bootstrap(y, a, a.copy(), metric=metric, n_boot=200)
        assert (result.delta, result.ci_low, result.ci_high, result.std_error) == (0, 0, 0, 0)
        assert not result.excludes_zero
        assert result.method == "paired bootstrap percentile over items"


def test_seeded_and_reproducible():
    y, a, b = _arms(7, 500)
    first = paired.paired_bootstrap(y, a, b, n_boot=400, random_state=3)
    assert first == paired.paired_bootstrap(y, a, b, n_boot=400, random_state=3)
    assert first != paired.paired_bootstrap(y, a, b, n_boot=400, random_state=4)
    percentile = paired.paired_bootstrap(y, a, b, n_boot=400, random_state=3, interval="percentile")
    assert percentile.method == "paired bootstrap percentile over items"
    assert (percentile.ci_low, percentile.ci_high) != (first.ci_low, first.ci_high)


def test_paired_interval_is_narrower_than_the_arms_separately():
    """B corrects a fifth of A's errors and keeps every right answer: the arms are strongly correlated,
    so the paired interval is much narrower than √(se_A² + se_B²) would allow."""
    rng = np.random.default_rng(8)
    y = rng.integers(0, 2, 1000)
    a = np.where(rng.random(1000) < 0.7, y, 1 - y)
    b = np.where((a != y) & (rng.random(1000) < 0.2), y, a)
    result = paired.paired_bootstrap(y, a, b, n_boot=1000)
    unpaired = 1.96 * np.sqrt(result.a * (1 - result.a) / 1000 + result.b * (1 - result.b) / 1000)
    assert result.ci_high - result.ci_low < 0.5 * 2 * unpaired
    assert result.ci_low > 0


def test_bad_arguments_are_refused():
    y, a, b = _arms(9, 30)
    with pytest.raises(ValueError, match="metric must be one of"):
        paired.paired_bootstrap(y, a, b, metric="auc")
    with pytest.raises(ValueError, match="needs prob_a"):
        paired.paired_bootstrap(y, a, b, metric="ece")
    with pytest.raises(ValueError, match="interval must be one of"):
        paired.paired_bootstrap(y, a, b, interval="student")
    with pytest.raises(ValueError, match="lengths differ"):
        paired.paired_bootstrap(y, a, b[:-1])
    with pytest.raises(ValueError, match="one probability per item"):
        paired.subgroup_deltas(y, a, b, y, metric="ece", prob_a=np.ones(29), prob_b=np.ones(30))


# --- McNemar ------------------------------------------------------------------------------------------------


def test_mcnemar_on_agresti_presidential_approval():
    """Agresti (1990), Categorical Data Analysis, p. 350 (the example of R's ``mcnemar.test``): 1600 voters
    asked twice, a month apart, whether they approve of the President: 794 approve both times, 150 approve
    then disapprove, 86 disapprove then approve, 570 disapprove both times. Penn State's STAT 504 notes
    ("McNemar Test in SAS/R — Example Presidential Approval") report the uncorrected statistic
    z² = (150 − 86)² / (150 + 86) = 17.36 (R: 17.3559, p-value = 3.099e-05). b + c = 236 ≥ 25, so the default
    is the χ² with continuity correction: (|150 − 86| − 1)² / 236 = 63² / 236 = 3969 / 236 = 16.818."""
    table = [[794, 150], [86, 570]]
    plain = paired.mcnemar_table_test(table, correction=False)
    assert plain.statistic == pytest.approx(17.3559, abs=5e-5)
    assert plain.p_value == pytest.approx(3.099e-05, rel=5e-4)
    assert plain.method == "McNemar chi-square" and plain.n_discordant == 236
    corrected = paired.mcnemar_table_test(table)
    assert corrected.method == "McNemar chi-square with continuity correction"
    assert corrected.statistic == pytest.approx(3969 / 236, rel=1e-15)
    assert corrected.p_value == pytest.approx(stats.chi2.sf(3969 / 236, 1), rel=1e-12)
    assert corrected.table.loc["right", "wrong"] == 150 and corrected.table.loc["wrong", "right"] == 86


def test_mcnemar_on_armitage_and_berry_culture_media():
    """Armitage & Berry (1994), Statistical Methods in Medical Research, p. 127, as worked in StatsDirect's
    help ("McNemar / exact matched pairs"): 50 sputum specimens cultured on two media, growth on both 20,
    on A only 12, on B only 2, on neither 16. Published: Yates-corrected χ² = 5.785714, P = 0.0162; exact
    two-sided P = 0.0129. By hand: (|12 − 2| − 1)² / 14 = 81 / 14 = 5.785714; exact
    2 P(X ≤ 2 | Binomial(14, ½)) = 2 (1 + 14 + 91) / 2¹⁴ = 212 / 16384 = 0.012939. b + c = 14 < 25: the
    default is the exact test."""
    table = [[20, 12], [2, 16]]
    exact = paired.mcnemar_table_test(table)
    assert exact.method == "McNemar exact binomial"
    assert exact.p_value == pytest.approx(212 / 16384, rel=1e-12)
    assert round(exact.p_value, 4) == 0.0129
    assert exact.statistic == 2
    chi2 = paired.mcnemar_table_test(table, exact_below=0)
    assert chi2.statistic == pytest.approx(5.785714, abs=1e-6)
    assert round(chi2.p_value, 4) == 0.0162


@pytest.mark.parametrize("seed", range(4))
def test_mcnemar_from_predictions_equals_statsmodels(seed):
    y, a, b = _arms(seed, int(np.random.default_rng(seed).integers(20, 400)))
    result = paired.mcnemar_test(y, a, b)
    right_a, right_b = y == a, y == b
    table = np.array([[np.sum(right_a & right_b), np.sum(right_a & ~right_b)],
                      [np.sum(~right_a & right_b), np.sum(~right_a & ~right_b)]])
    np.testing.assert_array_equal(result.table.to_numpy(), table)
    exact = table[0, 1] + table[1, 0] < 25
    expected = mcnemar(table, exact=exact, correction=True)
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-15)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-15)


def test_mcnemar_without_discordant_items():
    result = paired.mcnemar_test([1, 0, 1], [1, 1, 1], [1, 1, 1])
    assert (result.statistic, result.p_value, result.n_discordant) == (0.0, 1.0, 0)
    with pytest.raises(ValueError, match="2 × 2"):
        paired.mcnemar_table_test([[1, 2, 3], [4, 5, 6]])


# --- subgroups ----------------------------------------------------------------------------------------------


def _slices(seed, gains, n_per=400, base=0.7):
    """Items in len(gains) slices; in slice g, B fixes or breaks items so its accuracy moves by gains[g]."""
    rng = np.random.default_rng(seed)
    frames = []
    for g, gain in enumerate(gains):
        y = rng.integers(0, 3, n_per)
        right_a = rng.random(n_per) < base
        flip = rng.random(n_per)
        right_b = np.where(right_a, flip >= max(-gain, 0) / base, flip < max(gain, 0) / (1 - base))
        a = np.where(right_a, y, (y + 1) % 3)
        b = np.where(right_b, y, (y + 2) % 3)
        frames.append(pd.DataFrame({"y": y, "a": a, "b": b, "slice": f"s{g}"}))
    return pd.concat(frames, ignore_index=True)


def test_a_slice_that_got_worse_is_flagged_and_breaks_homogeneity():
    data = _slices(0, [0.10, 0.10, -0.12])
    result = paired.subgroup_deltas(data.y, data.a, data.b, data.slice, n_boot=500)
    table = result.table.set_index("subgroup")
    assert table.columns.tolist() == ["n", "a", "b", "delta", "std_error", "ci_low", "ci_high", "got_worse",
                                      "in_q_test"]
    assert table["got_worse"].tolist() == [False, False, True]
    assert table.loc["s2", "ci_high"] < 0 < table.loc["s0", "ci_low"]
    for name, rows in data.groupby("slice"):
        alone = paired.paired_bootstrap(rows.y, rows.a, rows.b, n_boot=500)
        assert table.loc[name, "delta"] == pytest.approx(alone.delta, rel=1e-15)
        assert table.loc[name, "n"] == 400
    h = result.heterogeneity
    assert h.p_value < 1e-6 and h.i_squared > 0.9 and h.df == 2 and h.n_subgroups == 3
    # the Q test is statsmodels' fixed-effect meta-analysis of the slice deltas
    meta = combine_effects(table["delta"].to_numpy(), table["std_error"].to_numpy() ** 2)
    assert (h.q, h.i_squared, h.pooled_delta, h.pooled_std_error) == pytest.approx(
        (meta.q, meta.i2, meta.mean_effect_fe, meta.sd_eff_w_fe), rel=1e-12)


def test_a_uniform_gain_is_not_heterogeneous():
    data = _slices(1, [0.08, 0.08, 0.08, 0.08])
    result = paired.subgroup_deltas(data.y, data.a, data.b, data.slice, n_boot=500)
    assert not result.table["got_worse"].any()
    assert result.heterogeneity.p_value > 0.05
    assert result.method == "paired bootstrap BCa over items"


def test_small_and_unchanged_subgroups_stay_out_of_the_test():
    data = _slices(2, [0.10, -0.2])
    data.loc[data.slice == "s1", "slice"] = np.where(np.arange(400) < 10, "tiny", "s1")
    data = pd.concat([data, pd.DataFrame({"y": [0] * 30, "a": [0] * 30, "b": [0] * 30, "slice": "same"})])
    table = paired.subgroup_deltas(data.y, data.a, data.b, data.slice, n_boot=300).table.set_index("subgroup")
    assert table.loc["tiny", "n"] == 10 and not table.loc["tiny", "in_q_test"]
    assert not table.loc["tiny", "got_worse"]  # whatever its interval says: too few items to flag
    assert table.loc["same", "std_error"] == 0 and not table.loc["same", "in_q_test"]
    assert table.loc["s1", "got_worse"] and table.loc["s1", "in_q_test"]


def test_worse_calibration_is_an_increase_of_ece():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 1200)
    group = np.repeat(["x", "y"], 600)
    right = rng.random(1200) < 0.8
    a = b = np.where(right, y, 1 - y)
    prob_a = np.full(1200, 0.8)  # calibrated in both slices
    prob_b = np.where(group == "y", 0.99, 0.8)  # overconfident in slice y
    result = paired.subgroup_deltas(y, a, b, group, metric="ece", prob_a=prob_a, prob_b=prob_b, n_boot=300)
    table = result.table.set_index("subgroup")
    assert table.loc["y", "delta"] > 0.1 and table.loc["y", "got_worse"]
    assert not table.loc["x", "got_worse"]


def test_cochran_q_of_a_hand_example():
    """Deltas 0.1, 0.2, 0.4 with standard errors 0.1, 0.1, 0.2: weights 100, 100, 25; pooled
    (10 + 20 + 10) / 225 = 0.17778; Q = 100·0.07778² + 100·0.02222² + 25·0.22222² = 0.60494 + 0.04938 +
    1.23457 = 1.88889 (= 17/9); I² = max(0, (17/9 − 2) / (17/9)) = 0."""
    h = paired.cochran_q([0.1, 0.2, 0.4], [0.1, 0.1, 0.2])
    assert h.q == pytest.approx(17 / 9, rel=1e-12) and h.i_squared == 0
    assert h.pooled_delta == pytest.approx(40 / 225, rel=1e-12)
    assert h.p_value == pytest.approx(stats.chi2.sf(17 / 9, 2), rel=1e-12)
    single = paired.cochran_q([0.3], [0.1])
    assert np.isnan(single.q) and single.pooled_delta == 0.3 and single.df == 0
    with pytest.raises(ValueError, match="positive"):
        paired.cochran_q([0.1, 0.2], [0.1, 0.0])
