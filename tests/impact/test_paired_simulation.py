"""The paired statistics by simulation, seeded: the 95% intervals cover a known difference about 95% of the
time, and two arms that do not differ (identical, or two independent draws of one model) are rarely called
different.

Tolerances are binomial. R replications of an interval with coverage exactly 0.95 cover the truth
Binomial(R, 0.95) times; the tests accept the central 99% of that distribution (``_COVERAGE_BAND``), so a
correct interval fails with probability ≤ 1% and one that covers 92% or 98% is caught at R = 1000. A test at
level 5% is significant Binomial(R, 0.05) times under H0; the tests accept up to its 99th percentile
(``_FALSE_POSITIVE_CAP``): 18 of 200 (9%). The seeds are fixed, so each test's outcome is too: the figures
measured are in each docstring.
"""

import numpy as np
import pytest
from scipy import stats

from analytics.impact import paired

K = 4
#: Joint correctness of the two arms: both right, only A right, only B right, both wrong.
CELLS = np.array([0.70, 0.05, 0.10, 0.15])
#: The true accuracy difference B − A of CELLS: (0.70 + 0.10) − (0.70 + 0.05).
TRUE_ACCURACY_GAIN = CELLS[2] - CELLS[1]


def _coverage_band(replications):
    return (stats.binom.ppf(0.005, replications, 0.95), stats.binom.ppf(0.995, replications, 0.95))


def _false_positive_cap(replications):
    return stats.binom.ppf(0.99, replications, 0.05)


def _wrong_label(rng, y):
    return (y + rng.integers(1, K, y.size)) % K


def known_accuracy_gain(rng, n):
    """Items whose (A right, B right) is drawn from CELLS; a wrong prediction is a random other label."""
    cell = rng.choice(4, n, p=CELLS)
    y = rng.integers(0, K, n)
    a = np.where(np.isin(cell, [0, 1]), y, _wrong_label(rng, y))
    b = np.where(np.isin(cell, [0, 2]), y, _wrong_label(rng, y))
    return y, a, b


# Per-class accuracy of the two arms: B improves the rare classes. Class shares PI.
PI = np.array([0.4, 0.3, 0.2, 0.1])
ACC_A = np.array([0.85, 0.75, 0.60, 0.50])
ACC_B = np.array([0.85, 0.80, 0.70, 0.65])


def population_macro_f1(accuracy):
    """Macro-F1 of the population: F1_k = 2 P(true k, predicted k) / (P(true k) + P(predicted k)), where an
    error on class j predicts each other class with probability 1 / (K − 1)."""
    hit = PI * accuracy
    missed = PI * (1 - accuracy)
    predicted = hit + (missed.sum() - missed) / (K - 1)
    return float(np.mean(2 * hit / (PI + predicted)))


def known_macro_f1_gain(rng, n):
    """One uniform per item decides both arms (A right ⇒ B right: strongly paired), errors at random."""
    y = rng.choice(K, n, p=PI)
    u = rng.random(n)
    wrong = _wrong_label(rng, y)
    return y, np.where(u < ACC_A[y], y, wrong), np.where(u < ACC_B[y], y, wrong)


def same_model(rng, n):
    """A and B are two independent draws of one stochastic model: item i is predicted right with its own
    probability p_i ~ Beta(4, 1.5) (mean 0.73) in each arm, a wrong prediction is a random other label, and
    each arm's confidence is p_i plus its own N(0, 0.05²) noise, clipped to [0, 1]. No metric differs in
    expectation between the arms."""
    y = rng.integers(0, K, n)
    p = rng.beta(4, 1.5, n)
    a = np.where(rng.random(n) < p, y, _wrong_label(rng, y))
    b = np.where(rng.random(n) < p, y, _wrong_label(rng, y))
    prob_a = np.clip(p + rng.normal(0, 0.05, n), 0, 1)
    prob_b = np.clip(p + rng.normal(0, 0.05, n), 0, 1)
    return y, a, b, prob_a, prob_b


def test_accuracy_interval_covers_the_true_difference():
    """1000 samples of 300 items with a true gain of 0.05 (about 45 discordant items each), 1000 replicates
    per interval. Measured: BCa covers in 94.1% of them (941), the percentile interval in 94.9% (949);
    accepted: 931 to 967."""
    replications = 1000
    covered = {"bca": 0, "percentile": 0}
    for seed in range(replications):
        y, a, b = known_accuracy_gain(np.random.default_rng([1, seed]), 300)
        for interval in covered:
            result = paired.paired_bootstrap(y, a, b, n_boot=1000, interval=interval, random_state=seed)
            covered[interval] += result.ci_low <= TRUE_ACCURACY_GAIN <= result.ci_high
    low, high = _coverage_band(replications)
    assert low <= covered["bca"] <= high, covered
    assert low <= covered["percentile"] <= high, covered


def test_macro_f1_interval_covers_the_population_difference():
    """200 samples of 300 items, per-class accuracies ACC_A → ACC_B (population macro-F1 0.6715 → 0.7407, a
    gain of 0.0692). Measured: the BCa interval covers it in 94.0% of samples (188; accepted: 181 to
    197)."""
    truth = population_macro_f1(ACC_B) - population_macro_f1(ACC_A)
    assert truth == pytest.approx(0.0692, abs=1e-4)
    replications = 200
    covered = 0
    for seed in range(replications):
        y, a, b = known_macro_f1_gain(np.random.default_rng([2, seed]), 300)
        result = paired.paired_bootstrap(y, a, b, metric="macro_f1", n_boot=1000, random_state=seed)
        covered += result.ci_low <= truth <= result.ci_high
    low, high = _coverage_band(replications)
    assert low <= covered <= high, covered


def test_identical_arms_are_never_significant():
    """40 seeds, B a copy of A: every resample gives a difference of exactly 0, so no interval excludes it,
    and no item is discordant, so McNemar's p is 1. Measured: 0 of 40 for every metric and for McNemar."""
    significant = {"accuracy": 0, "macro_f1": 0, "ece": 0, "mcnemar": 0}
    for seed in range(40):
        y, a, _, prob_a, _ = same_model(np.random.default_rng([3, seed]), 200)
        for metric in ("accuracy", "macro_f1", "ece"):
            result = paired.paired_bootstrap(y, a, a.copy(), metric=metric, prob_a=prob_a,
                                             prob_b=prob_a.copy(), n_boot=300, random_state=seed)
            significant[metric] += result.excludes_zero
            assert result.delta == 0
        significant["mcnemar"] += paired.mcnemar_test(y, a, a.copy()).p_value < 0.05
    assert significant == {"accuracy": 0, "macro_f1": 0, "ece": 0, "mcnemar": 0}


def test_an_independent_draw_of_the_same_model_is_rarely_significant():
    """200 seeds, 300 items, B an independent draw of A's model (``same_model``), 1000 replicates, each
    metric with its default interval. Share significant at 5%, measured: accuracy (BCa) 3.5% (7 of 200),
    McNemar 3.5% (7), macro-F1 (BCa) 4.5% (9), ECE (percentile) 0% (0); the cap is 18 of 200 (9%,
    ``_false_positive_cap``).
    McNemar is conservative (exact below 25 discordant items, continuity-corrected above)."""
    seeds = 200
    significant = {"accuracy": 0, "macro_f1": 0, "ece": 0, "mcnemar": 0}
    for seed in range(seeds):
        y, a, b, prob_a, prob_b = same_model(np.random.default_rng([4, seed]), 300)
        for metric in ("accuracy", "macro_f1", "ece"):
            result = paired.paired_bootstrap(y, a, b, metric=metric, prob_a=prob_a, prob_b=prob_b,
                                             n_boot=1000, random_state=seed)
            significant[metric] += result.excludes_zero
        significant["mcnemar"] += paired.mcnemar_test(y, a, b).p_value < 0.05
    cap = _false_positive_cap(seeds)
    assert cap == 18
    assert max(significant.values()) <= cap, significant


@pytest.mark.slow
def test_ece_gets_the_percentile_interval_because_bca_finds_differences_that_are_not_there():
    """400 seeds of ``same_model`` at 300 items: the ECE difference's BCa interval excludes 0 in 8.3% of them
    (33, above the cap of 31 of 400), the percentile interval in 0% (0). ECE sums |acc − conf| per bin, a
    non-smooth statistic whose bootstrap is biased upwards near 0 (a calibrated model); BCa's bias
    correction turns that bias into a shift of the interval. Hence ``DEFAULT_INTERVAL['ece']``."""
    seeds = 400
    significant = {"bca": 0, "percentile": 0}
    for seed in range(seeds):
        y, a, b, prob_a, prob_b = same_model(np.random.default_rng([5, seed]), 300)
        for interval in significant:
            result = paired.paired_bootstrap(y, a, b, metric="ece", prob_a=prob_a, prob_b=prob_b,
                                             n_boot=1000, interval=interval, random_state=seed)
            significant[interval] += result.excludes_zero
    assert significant["percentile"] <= _false_positive_cap(seeds) < significant["bca"], significant
    assert paired.DEFAULT_INTERVAL["ece"] == "percentile"


@pytest.mark.slow
def test_coverage_holds_on_larger_and_smaller_evaluation_sets():
    """1000 samples each, BCa. Measured coverage of the accuracy gain: 100 items (about 15 discordant) 94.3%,
    1000 items 94.7%; of the macro-F1 gain on 1000 items 95.1% (accepted: 931 to 967 of 1000)."""
    replications = 1000
    low, high = _coverage_band(replications)
    measured = {}
    for n in (100, 1000):
        covered = 0
        for seed in range(replications):
            y, a, b = known_accuracy_gain(np.random.default_rng([6, n, seed]), n)
            result = paired.paired_bootstrap(y, a, b, n_boot=1000, random_state=seed)
            covered += result.ci_low <= TRUE_ACCURACY_GAIN <= result.ci_high
        measured[f"accuracy {n}"] = covered
    truth = population_macro_f1(ACC_B) - population_macro_f1(ACC_A)
    covered = 0
    for seed in range(replications):
        y, a, b = known_macro_f1_gain(np.random.default_rng([7, seed]), 1000)
        result = paired.paired_bootstrap(y, a, b, metric="macro_f1", n_boot=1000, random_state=seed)
        covered += result.ci_low <= truth <= result.ci_high
    measured["macro_f1 1000"] = covered
    assert all(low <= c <= high for c in measured.values()), measured


@pytest.mark.slow
def test_subgroups_without_a_change_are_rarely_flagged_or_heterogeneous():
    """300 seeds of ``same_model`` on 1200 items in 4 slices of 300: no slice changed. Measured: 2.6% of
    slices flagged as worse (31 of 1200; a flag is one-sided at 2.5%, cap 43, the 99th percentile of
    Binomial(1200, 0.025)), Cochran's Q significant at 5% in 4.7% of seeds (14; cap 24 of 300)."""
    seeds = 300
    flagged = heterogeneous = 0
    for seed in range(seeds):
        rng = np.random.default_rng([8, seed])
        y, a, b, _, _ = same_model(rng, 1200)
        result = paired.subgroup_deltas(y, a, b, np.repeat(["w", "x", "y", "z"], 300), n_boot=1000,
                                        random_state=seed)
        flagged += int(result.table["got_worse"].sum())
        heterogeneous += result.heterogeneity.p_value < 0.05
    assert flagged <= stats.binom.ppf(0.99, 4 * seeds, 0.025), flagged
    assert heterogeneous <= _false_positive_cap(seeds), heterogeneous
