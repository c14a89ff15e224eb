"""Drift statistics: pinned to scipy/statsmodels on known inputs, change points and annotator flags on
simulated series with known breaks, and false-alarm rates over many seeds of series with none."""

from __future__ import annotations

import types

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize, stats
from scipy.spatial.distance import jensenshannon
from scipy.stats.contingency import association
from statsmodels.stats.contingency_tables import Table
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from analytics.core.stats import wilson_interval
from analytics.monitoring import drift
from analytics.monitoring.drift import change_detection
from analytics.monitoring.drift import distribution as drift_distribution
from analytics.narrative import drift as drift_words
from analytics.synthetic import simulation

WEEKS = pd.date_range("2026-03-02", periods=26, freq="7D")  # Mondays, as DuckDB's date_trunc('week')


# --- distribution shift ---------------------------------------------------------------------------------


def test_two_sample_shift_matches_scipy_and_the_hand_value():
    # [[50, 50], [30, 70]]: expected 40/60 in both rows, χ² = 2 (10²/40 + 10²/60) = 25/3, V = √(χ²/200).
    shift = drift.distribution_shift({"a": 50, "b": 50}, {"a": 30, "b": 70})
    assert shift.statistic == pytest.approx(25 / 3)
    assert shift.cramers_v == pytest.approx(np.sqrt(1 / 24))
    assert shift.dof == 1 and shift.against == "sample"
    table = np.array([[50, 50], [30, 70]])
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    assert (shift.statistic, shift.p_value, shift.dof) == (pytest.approx(chi2), pytest.approx(p), dof)
    assert shift.js_distance == pytest.approx(jensenshannon([0.5, 0.5], [0.3, 0.7], base=2))


def test_two_sample_shift_on_k_labels_aligns_by_label_and_drops_empty_ones():
    reference = pd.Series({"cat": 30, "dog": 50, "eel": 20, "fox": 0})
    current = pd.Series({"dog": 40, "cat": 20, "eel": 40, "gnu": 0})
    shift = drift.distribution_shift(reference, current)
    table = np.array([[30, 50, 20], [20, 40, 40]])
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    assert shift.statistic == pytest.approx(chi2) and shift.p_value == pytest.approx(p)
    assert shift.dof == dof == 2
    assert shift.cramers_v == pytest.approx(association(table, method="cramer"))
    assert shift.js_distance == pytest.approx(jensenshannon([0.3, 0.5, 0.2], [0.2, 0.4, 0.4], base=2))
    assert shift.labels == ("cat", "dog", "eel", "fox", "gnu")
    assert (shift.n_reference, shift.n_current) == (100.0, 100.0)


def test_goodness_of_fit_against_declared_shares_matches_scipy_chisquare():
    expected = {"a": 0.5, "b": 0.3, "c": 0.2}
    observed = {"a": 40, "b": 35, "c": 25}
    shift = drift.distribution_shift(expected, observed, against="expected")
    statistic, p = stats.chisquare([40, 35, 25], [50, 30, 20])
    assert shift.statistic == pytest.approx(statistic) and shift.p_value == pytest.approx(p)
    # (10²/50 + 5²/30 + 5²/20) = 2 + 0.8333 + 1.25
    assert shift.statistic == pytest.approx(4.083333333)
    assert shift.cramers_v == pytest.approx(np.sqrt(statistic / (100 * 2)))
    assert shift.js_distance == pytest.approx(jensenshannon([0.5, 0.3, 0.2], [0.4, 0.35, 0.25], base=2))
    # Counts as the declaration give the same shares.
    assert drift.distribution_shift({"a": 5, "b": 3, "c": 2}, observed, against="expected").p_value == (
        pytest.approx(p))


def test_a_label_the_declaration_rules_out_makes_chi_square_infinite():
    shift = drift.distribution_shift({"a": 1.0, "b": 0.0}, {"a": 9, "b": 1}, against="expected")
    assert shift.statistic == np.inf and shift.p_value == 0.0


def test_dispersion_divides_chi_square_for_the_p_value_only():
    plain = drift.distribution_shift([50, 50], [30, 70])
    scaled = drift.distribution_shift([50, 50], [30, 70], dispersion=2.5)
    assert scaled.statistic == plain.statistic and scaled.cramers_v == plain.cramers_v
    assert scaled.p_value == pytest.approx(stats.chi2.sf(plain.statistic / 2.5, 1))


def test_identical_and_degenerate_distributions():
    same = drift.distribution_shift([10, 20, 30], [1, 2, 3])
    assert same.statistic == pytest.approx(0) and same.js_distance == pytest.approx(0, abs=1e-7)
    one_label = drift.distribution_shift({"a": 5}, {"a": 9})
    assert (one_label.statistic, one_label.p_value, one_label.dof) == (0.0, 1.0, 0)
    empty = drift.distribution_shift({"a": 5}, {"a": 0})
    assert np.isnan(empty.p_value)


@pytest.mark.parametrize(("args", "kwargs", "message"), [
    (([1, 2], [1, -1]), {}, "non-negative"),
    (([1, 2], [1, 2]), {"against": "model"}, "against"),
    (([1, 2], [1, 2]), {"dispersion": 0.5}, "dispersion"),
])
def test_bad_arguments_say_what_is_wrong(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        drift.distribution_shift(*args, **kwargs)


def _long(wide: np.ndarray, labels=("a", "b", "c")) -> pd.DataFrame:
    return pd.DataFrame([{"window": WEEKS[t], "label": label, "n": int(wide[t, k])}
                         for t in range(len(wide)) for k, label in enumerate(labels)])


def test_shift_table_bh_matches_statsmodels_and_reference_choices():
    rng = np.random.default_rng(1)
    wide = rng.multinomial(300, [0.5, 0.3, 0.2], size=8)
    wide[5:] = rng.multinomial(300, [0.35, 0.35, 0.3], size=3)
    counts = _long(wide)
    table = drift.shift_table(counts, reference="first", dispersion=1.0)
    assert table["window"].tolist() == list(WEEKS[1:8]) and (table["reference"] == WEEKS[0]).all()
    expected_p = [stats.chi2_contingency(wide[[0, t]], correction=False)[1] for t in range(1, 8)]
    assert table["p_value"].to_numpy() == pytest.approx(expected_p)
    assert table["q_value"].to_numpy() == pytest.approx(multipletests(expected_p, method="fdr_bh")[1])
    assert table["significant"].tolist()[-3:] == [True, True, True]
    assert (table["reference_end"] == WEEKS[0]).all() and (table["reference_n"] == 300).all()
    previous = drift.shift_table(counts, reference="previous", dispersion=1.0)
    assert previous["reference"].tolist() == list(WEEKS[:7])
    chosen = drift.shift_table(counts, reference=WEEKS[3], dispersion=1.0)
    assert WEEKS[3] not in chosen["window"].tolist() and len(chosen) == 7
    declared = drift.shift_table(counts, expected={"a": 0.5, "b": 0.3, "c": 0.2}, dispersion=1.0)
    assert len(declared) == 8 and declared["reference"].isna().all()
    assert declared["p_value"].iloc[0] == pytest.approx(stats.chisquare(wide[0], [150, 90, 60])[1])
    with pytest.raises(ValueError, match="reference"):
        drift.shift_table(counts, reference="last")


def test_the_baseline_reference_pools_the_first_four_weeks_and_skips_a_partial_first_window():
    """A first window of 13 labels (a partial week) is no reference: against it every window reads
    p ≈ 0.9. The baseline pools the earliest windows until they span 28 days and hold 500 labels."""
    rng = np.random.default_rng(11)
    wide = rng.multinomial(300, [0.5, 0.3, 0.2], size=12)
    wide[0] = [7, 4, 2]
    wide[8:] = rng.multinomial(300, [0.4, 0.3, 0.3], size=4)
    counts = _long(wide)
    table = drift.shift_table(counts, dispersion=1.0)
    assert (table["reference"] == WEEKS[0]).all() and (table["reference_end"] == WEEKS[3]).all()
    assert table["window"].tolist() == list(WEEKS[4:12])
    pooled = wide[:4].sum(axis=0)
    assert table["reference_n"].iloc[0] == pooled.sum() == 13 + 900
    expected = [stats.chi2_contingency(np.vstack([pooled, wide[t]]), correction=False)[1]
                for t in range(4, 12)]
    assert table["p_value"].to_numpy() == pytest.approx(expected)
    assert table["significant"].tolist() == [False] * 4 + [True] * 4
    first = drift.shift_table(counts, reference="first", dispersion=1.0)
    assert first["p_value"].min() > 0.1  # 13 labels cannot tell anything apart
    assert drift_words.shift_reference(table) == "baseline 2026-03-02 to 2026-03-23 (913 labels)"
    # More labels needed than 28 days hold: the baseline grows until it has them.
    assert drift.baseline_windows(drift_distribution._wide(counts), labels=1500) == list(WEEKS[:6])


def _clustered_counts(rng, windows: int, items: int, shares, labels_per_item: int = 4,
                      accuracy: float = 0.85):
    """Label counts of items whose labels agree with their class: labels cluster within items."""
    rows = []
    k = len(shares)
    for _ in range(windows):
        truth = rng.choice(k, size=items, p=shares)
        given = np.where(rng.random((items, labels_per_item)) < accuracy, truth[:, None],
                         rng.integers(0, k, (items, labels_per_item)))
        rows.append(np.bincount(given.ravel(), minlength=k))
    return np.array(rows)


def test_label_dispersion_is_one_for_independent_labels_and_the_design_effect_for_clustered_ones():
    rng = np.random.default_rng(2)
    independent = _long(rng.multinomial(800, [0.5, 0.3, 0.2], size=26))
    assert drift.label_dispersion(independent) == pytest.approx(1.0, abs=0.35)
    clustered = _long(_clustered_counts(rng, 26, 200, [0.5, 0.3, 0.2]))
    # Design effect 1 + (m − 1) ρ with m = 4 labels per item and ρ ≈ accuracy² ≈ 0.75: about 3.
    assert 2.0 < drift.label_dispersion(clustered) < 4.5


def test_the_shift_table_of_stationary_clustered_labels_flags_at_most_the_nominal_rate():
    """Over 60 seeds of "no drift" with labels clustered in items, the share of seeds where any window is
    flagged stays near fdr = 0.05; without the dispersion correction it would be most of them."""
    flagged = plain = 0
    for seed in range(60):
        counts = _long(_clustered_counts(np.random.default_rng(seed), 12, 100, [0.5, 0.3, 0.2]))
        flagged += drift.shift_table(counts)["significant"].any()
        plain += drift.shift_table(counts, dispersion=1.0)["significant"].any()
    assert flagged / 60 <= 0.1
    assert plain / 60 > 0.5


# --- series ---------------------------------------------------------------------------------------------


def test_share_and_rate_series():
    counts = pd.DataFrame({"window": [1, 1, 1, 2, 3], "label": ["1", "7", "3", "7", "3"],
                           "n": [3, 1, 6, 2, 4]})
    among = drift.share_series(counts, "7", among=("1", "7"))
    assert among["window"].tolist() == [1, 2] and among["value"].tolist() == [0.25, 1.0]
    overall = drift.share_series(counts, "7")
    assert overall["value"].tolist() == [0.1, 1.0, 0.0] and overall["n"].tolist() == [10, 2, 4]
    pooled = 3 / 16  # the error is the binomial one at the pooled share, the error under "no change"
    expected = np.sqrt(pooled * (1 - pooled) / np.array([10, 2, 4]))
    assert overall["std_error"].tolist() == pytest.approx(expected)
    low, high = wilson_interval(1, 10)
    assert (overall["low"].iloc[0], overall["high"].iloc[0]) == (pytest.approx(low), pytest.approx(high))
    frame = pd.DataFrame({"window": [1, 1, 2], "flagged": [1, 2, 0], "items": [5, 5, 0]})
    assert drift.rate_series(frame, "flagged", "items")["value"].tolist() == [0.3]


def test_agreement_series_uses_items_as_the_sampling_unit():
    agreement = pd.DataFrame({"period": [1, 2, 3], "items_multi": [100, 1, 25], "pa_mean": [0.8, 1.0, 0.6],
                              "pa_sd": [0.2, np.nan, 0.3]})
    series = drift.agreement_series(agreement)
    assert series["window"].tolist() == [1, 3]
    # Pooled item sd over both windows: (99·0.2² + 24·0.3² + 100·0.04² + 25·0.16²) / 124, around 0.76.
    pooled = np.sqrt((99 * 0.04 + 24 * 0.09 + 100 * 0.04**2 + 25 * 0.16**2) / 124)
    assert series["std_error"].tolist() == pytest.approx([pooled / 10, pooled / 5])
    assert series["high"].iloc[0] == pytest.approx(0.8 + stats.t.ppf(0.975, 99) * 0.02)


# --- change points --------------------------------------------------------------------------------------


def _series(y, se):
    return pd.DataFrame({"window": WEEKS[: len(y)], "value": y, "std_error": se})


@pytest.mark.parametrize("seed", range(10))
def test_a_known_break_is_found_within_a_window_with_its_size(seed):
    rng = np.random.default_rng(seed)
    n = rng.integers(150, 400, 26)
    p = np.where(np.arange(26) < 13, 0.40, 0.30)
    y = rng.binomial(n, p) / n
    found = drift.change_points(_series(y, np.sqrt(y * (1 - y) / n)), n_sim=499, random_state=seed)
    assert found.p_value < 0.01
    first = found.changes.iloc[0]
    assert abs(first["index"] - 13) <= 1 and first["window"] in set(WEEKS[12:15])
    assert first["change_low"] < -0.1 < first["change_high"] and first["before"] > first["after"]


def test_two_breaks_are_both_found_and_segments_describe_them():
    y = np.r_[np.full(10, 0.5), np.full(10, 0.45), np.full(10, 0.8)]
    frame = pd.DataFrame({"window": np.arange(30), "value": y, "std_error": 0.02})
    found = drift.change_points(frame, n_sim=499)
    assert found.changes["index"].tolist() == [10, 20]
    assert found.segments["mean"].tolist() == pytest.approx([0.5, 0.45, 0.8])
    assert found.segments["windows"].tolist() == [10, 10, 10]
    # The 5-point step is below min_change: merged away, the rest is re-measured over the merged segment.
    merged = drift.change_points(frame, n_sim=499, min_change=0.1)
    assert merged.changes["index"].tolist() == [20]
    assert merged.changes["before"].iloc[0] == pytest.approx(0.475)


def test_a_constant_or_short_series_has_no_change():
    constant = drift.change_points(_series(np.full(20, 0.5), 0.0), n_sim=99)
    assert constant.changes.empty and np.isnan(constant.p_value)
    short = drift.change_points(_series([0.1, 0.9, 0.1], 0.01), n_sim=99)
    assert short.changes.empty and len(short.segments) == 1


def _clustered_share(rng, windows: int, items_per_window: float, *, ramp: bool):
    """A stationary share of labels that cluster in items (3–5 labels each, 85 % on the item's class),
    with windows that fill up and empty at the ends when ``ramp``."""
    x, n = np.zeros(windows), np.zeros(windows)
    for t in range(windows):
        rate = items_per_window * (min(1, (t + 1) / 10, (windows - t) / 10) if ramp else 1)
        for _ in range(rng.poisson(rate)):
            m = rng.integers(3, 6)
            truth = rng.random() < 0.6
            x[t] += np.where(rng.random(m) < 0.85, truth, not truth).sum()
            n[t] += m
    return drift.proportion_series(pd.Series(x), pd.Series(n))


NULL_SERIES = {
    "sampling noise only": lambda rng: _series(0.5 + rng.normal(0, 0.03, 26), 0.03),
    "unknown sampling error": lambda rng: _series(0.5 + rng.normal(0, 0.03, 26), np.nan),
    "weekly shares, labels clustered in items": lambda rng: _clustered_share(rng, 26, 14, ramp=False),
    "daily shares, 2 items a day, ramping": lambda rng: _clustered_share(rng, 184, 2, ramp=True),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", NULL_SERIES)
def test_stationary_series_raise_false_alarms_near_the_nominal_rate(case):
    """200 null series of each kind: the share with any change reported stays near alpha = 0.05."""
    alarms = sum(
        len(drift.change_points(NULL_SERIES[case](np.random.default_rng(1000 + seed)), n_sim=499,
                                random_state=seed).changes) > 0
        for seed in range(200)
    )
    assert 0.01 <= alarms / 200 <= 0.09


def test_added_between_window_noise_is_absorbed_by_the_between_window_variance():
    """Noise added to every window alike (τ = 0.02 on sampling errors of 0.02–0.05): the false-alarm rate
    stays near alpha (0.077 over 300 seeds with the factor-only model this replaced)."""
    alarms = 0
    for seed in range(200):
        rng = np.random.default_rng(1000 + seed)
        se = np.sqrt(0.25 / rng.integers(100, 600, 26))
        y = 0.5 + rng.normal(0, np.sqrt(se**2 + 0.02**2))
        alarms += len(drift.change_points(_series(y, se), n_sim=499, random_state=seed).changes) > 0
    assert 0.01 <= alarms / 200 <= 0.08


def _null_share(frame: pd.DataFrame) -> pd.DataFrame:
    series = drift.proportion_series(frame["successes"], frame["n"])
    return series.assign(window=WEEKS[: len(series)])


HARD_NULLS = {
    # 12 windows of 50–500 labels, each window's share p_t ~ Beta(mean 0.3, sd 0.03): a variance the same
    # size in every window, which a factor on the binomial variance puts in the wrong windows.
    "between-window variance, unequal windows": lambda rng: _null_share(
        simulation.beta_binomial_windows(rng, 12)),
    # 26 windows of 30–80 items, 3–5 labels each, 85 % on the item's class: a design effect near 2.4.
    "labels clustered within items": lambda rng: _null_share(simulation.clustered_label_windows(rng, 26)),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", HARD_NULLS)
def test_hard_stationary_series_hold_the_nominal_false_alarm_rate(case):
    """600 seeded null series of each kind: the share with any change reported lies in [2 %, 7 %].

    The factor-only model this replaced flagged 11–13 % of the first kind (300 and 1,500 series), which
    this bound rejects; on the second it flagged 6–8 %, so that case guards the new model rather than
    telling the two apart (bench/drift_null.py has the full study of the new one). With 600 series a true
    rate of 5 % lands above 7 % with probability about 1 %."""
    alarms = sum(
        len(drift.change_points(HARD_NULLS[case](np.random.default_rng(5000 + seed)), n_sim=199,
                                random_state=seed).changes) > 0
        for seed in range(600)
    )
    assert 0.02 <= alarms / 600 <= 0.07


def test_interval_and_p_value_of_a_change_agree():
    """Every change reported has p < alpha and a 95 % interval that excludes 0; the interval is the change
    ± the bootstrap critical value times its standard error, the same t the p-value measures."""
    reported = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        n = rng.integers(60, 400, 26)
        p = 0.3 + np.where(np.arange(26) >= 9, 0.05 * (seed % 3), 0) + np.where(np.arange(26) >= 18, -0.04, 0)
        x = rng.binomial(n, np.clip(p + rng.normal(0, 0.02, 26), 0.01, 0.99))
        found = drift.change_points(drift.proportion_series(pd.Series(x), pd.Series(n)), n_sim=199,
                                    random_state=seed, min_change=0.01)
        for row in found.changes.itertuples():
            reported += 1
            assert row.p_value < 0.05
            assert row.change_low > 0 or row.change_high < 0
            half = (row.change_high - row.change_low) / 2
            assert half == pytest.approx(row.critical * abs(row.change) / row.z)
            assert row.z > row.critical
    assert reported >= 20


def test_the_shift_statistic_is_the_weighted_regression_t_of_a_step():
    """At a given split the studentised step is the t of the step dummy in a weighted least-squares fit
    with weights 1/v_t and the residual scale estimated (Hartung–Knapp), as statsmodels computes it."""
    rng = np.random.default_rng(3)
    y = 0.4 + rng.normal(0, 0.03, 15)
    var = rng.uniform(0.0004, 0.002, 15)
    t, se = change_detection._shift_t(y[None], var[None], np.array([6]))
    step = (np.arange(15) >= 6).astype(float)
    fit = sm.WLS(y, sm.add_constant(step), weights=1 / var).fit()
    assert t[0, 0] == pytest.approx(abs(fit.tvalues[1]))
    assert se[0, 0] == pytest.approx(fit.bse[1])


def test_the_variance_components_solve_their_moment_equations():
    """φ̂ and τ̂² solve Σ w_t x_t (r_t − v_t) = 0 (checked with scipy's root finder for τ² alone and with
    scipy's bounded least squares for both), and recover the truth on a long series."""
    rng = np.random.default_rng(4)
    se2 = 0.25 / rng.integers(100, 800, 400)
    y = 0.5 + rng.normal(0, np.sqrt(1.8 * se2 + 0.02**2))
    phi, tau2 = (float(v[0]) for v in change_detection._variance_components(y[None], se2, None))
    assert phi == pytest.approx(1.8, rel=0.35) and np.sqrt(tau2) == pytest.approx(0.02, rel=0.3)
    d2, s = np.diff(y) ** 2, se2[1:] + se2[:-1]
    fitted = phi * s + 2 * tau2
    r = np.minimum(d2, change_detection._HUBER_C**2 * fitted) / change_detection._HUBER_TARGET
    w = np.sqrt(1 / fitted**2)
    check = optimize.lsq_linear(np.column_stack([s, 2 * np.ones_like(s)]) * w[:, None], r * w,
                                bounds=([1, 0], [np.inf, np.inf]))
    assert (phi, tau2) == (pytest.approx(check.x[0], rel=1e-4), pytest.approx(check.x[1], rel=1e-4))
    _, tau_fixed = (float(v[0]) for v in change_detection._variance_components(y[None], se2, 1.0))

    def equation(t2):
        v = s + 2 * t2
        cap = np.minimum(d2, change_detection._HUBER_C**2 * v) / change_detection._HUBER_TARGET
        return ((cap - v) / v**2).sum()

    assert tau_fixed == pytest.approx(optimize.brentq(equation, 1e-8, 1.0), rel=1e-4)


def test_no_segment_is_shorter_than_the_minimum_span():
    """Daily shares: 0.10 for 60 days, 0.22 for 3 days, then 0.15. Windows alone allow a 3-day segment
    (the blip); with segments of at least 28 days the one lasting change is reported, dated to the day."""
    days = pd.date_range("2026-03-01", periods=120, freq="D")
    t = np.arange(120)
    truth = np.select([t < 60, t < 63], [0.10, 0.22], 0.15)
    frame = pd.DataFrame({"window": days, "value": truth + np.random.default_rng(5).normal(0, 0.01, 120),
                          "std_error": 0.01})

    def shortest(found):
        return (found.segments["end"] + pd.Timedelta(days=1) - found.segments["start"]).min()

    windows_only = drift.change_points(frame, min_size=1, n_sim=199)
    assert shortest(windows_only) <= pd.Timedelta(days=3)
    spanned = drift.change_points(frame, min_size=1, min_span_days=28, grain="day", n_sim=199)
    assert shortest(spanned) >= pd.Timedelta(days=28)
    assert spanned.changes["window"].tolist() == [days[60]]
    assert spanned.changes["change"].iloc[0] == pytest.approx(0.056, abs=0.01)
    with pytest.raises(ValueError, match="grain"):
        drift.change_points(frame, min_span_days=28)


def test_change_point_arguments_are_checked():
    with pytest.raises(ValueError, match="alpha"):
        drift.change_points(_series([0.1] * 6, 0.1), alpha=1.5)
    with pytest.raises(ValueError, match="min_size"):
        drift.change_points(_series([0.1] * 6, 0.1), min_size=0)


# --- guideline versions ---------------------------------------------------------------------------------


GUIDELINES = pd.DataFrame({"version": ["v1", "v2"],
                           "effective_at": pd.to_datetime(["2026-03-01", "2026-06-03"])})


def test_guideline_comparison_tests_each_metric_with_windows_as_replicates():
    rng = np.random.default_rng(3)
    y = np.where(WEEKS < pd.Timestamp("2026-06-03"), 0.80, 0.70) + rng.normal(0, 0.01, 26)
    series = {"agreement": _series(y, 0.01).assign(n=100)}
    flat = {"flat": _series(0.5 + rng.normal(0, 0.01, 26), 0.01).assign(n=50)}
    wide = np.tile([60, 40], (26, 1))
    wide[WEEKS >= pd.Timestamp("2026-06-08")] = [40, 60]
    counts = _long(wide, labels=("1", "7"))
    table = drift.guideline_comparison(GUIDELINES, series={**series, **flat}, label_counts=counts)
    assert list(table.columns) == list(drift.COMPARISON_COLUMNS)
    rows = table.set_index("metric")
    # The week of 2026-06-01 straddles the change (v2 from Wednesday): it belongs to neither side.
    before_weeks = int((WEEKS + pd.Timedelta(days=7) <= pd.Timestamp("2026-06-03")).sum())
    assert rows.loc["agreement", "n_before"] == 100 * before_weeks
    assert rows.loc["agreement", "n_after"] == 100 * int((WEEKS >= pd.Timestamp("2026-06-03")).sum())
    assert rows.loc["agreement", "change"] == pytest.approx(-0.10, abs=0.01)
    assert rows.loc["agreement", "significant"] and not rows.loc["flat", "significant"]
    low, change, high = rows.loc["agreement", ["change_low", "change", "change_high"]]
    assert low < change < high
    distribution = rows.loc["label distribution"]
    assert distribution["significant"] and distribution["cramers_v"] > 0.15
    assert (table["version"] == "v2").all() and (table["previous_version"] == "v1").all()
    assert table["q_value"].to_numpy() == pytest.approx(multipletests(table["p_value"], method="fdr_bh")[1])
    narrow = drift.guideline_comparison(GUIDELINES, series=series, span=2).set_index("metric")
    assert narrow.loc["agreement", "n_before"] == narrow.loc["agreement", "n_after"] == 200


# --- annotators -----------------------------------------------------------------------------------------


def _annotator_windows(rng, *, annotators=30, declining=None, common_drop=0.0, late_cohort=None,
                       late_rate=None, late_from=13):
    """Per (annotator, week): majority-comparable ratings and agreements from known rates."""
    base = rng.uniform(0.7, 0.9, annotators)
    rows = []
    for j in range(annotators):
        cohort = "crowd" if j % 2 else "expert"
        for t, week in enumerate(WEEKS):
            if late_cohort is not None and j >= annotators - 5:
                cohort = late_cohort
                if t < late_from:
                    continue
            rate = base[j] - (common_drop if t >= 13 else 0.0)
            if cohort == late_cohort and late_rate is not None:
                rate = late_rate
            if j == declining:
                rate = 0.92 - 0.37 * t / 25
            n = int(rng.integers(10, 30))
            rows.append({"window": week, "annotator_id": f"ann-{j:02d}", "cohort": cohort, "ratings": n + 2,
                         "loo_items": n, "loo_agree": int(rng.binomial(n, rate))})
    return pd.DataFrame(rows)


def test_a_declining_annotator_is_flagged_and_a_shared_drop_flags_nobody():
    windows = _annotator_windows(np.random.default_rng(4), declining=7, common_drop=0.08)
    result = drift.annotator_drift(windows)
    table = result.annotators.set_index("annotator_id")
    assert table.index[table["declining"]].tolist() == ["ann-07"]
    assert table.loc["ann-07", "trend_per_30d"] < -0.03
    assert table.loc["ann-07", "first_half"] > table.loc["ann-07", "second_half"]
    assert "declining" in table.loc["ann-07", "flags"]
    assert result.annotators["annotator_id"].iloc[0] == "ann-07"
    rows = result.windows
    assert len(rows) == len(windows) and {"peer_agreement", "expected", "drop_q", "drop"} <= set(rows)
    first = rows[(rows["annotator_id"] == "ann-00") & (rows["window"] == WEEKS[0])].iloc[0]
    others = windows[(windows["window"] == WEEKS[0]) & (windows["annotator_id"] != "ann-00")]
    assert first["peer_agreement"] == pytest.approx(others["loo_agree"].sum() / others["loo_items"].sum())


def test_annotator_flags_on_stationary_annotators_stay_near_the_nominal_rate():
    """60 seeds of 30 annotators with constant rates (plus a drop shared by everyone): the share of seeds
    with any annotator or any window flagged stays near fdr = 0.05."""
    trends = drops = 0
    for seed in range(60):
        result = drift.annotator_drift(_annotator_windows(np.random.default_rng(seed), common_drop=0.05))
        trends += result.annotators["declining"].any()
        drops += result.windows["drop"].any()
    assert trends / 60 <= 0.1 and drops / 60 <= 0.1


def test_the_trend_test_is_cochran_armitage_as_in_statsmodels():
    # Re-test pairs by gap: the trend test there is the classic one (base rate 0); statsmodels' linear-by-
    # linear statistic uses the permutation variance, larger by N / (N − 1).
    retest = pd.DataFrame({"window": WEEKS[0], "gap_days": [3, 10, 20, 40], "across_versions": False,
                           "pairs": [20, 30, 25, 15], "changed": [2, 5, 7, 8]})
    found = drift.retest_drift(retest)
    table = np.array([[18, 2], [25, 5], [18, 7], [7, 8]])
    reference = Table(table).test_ordinal_association(row_scores=np.array([3, 10, 20, 40]),
                                                      col_scores=np.array([0, 1]))
    assert found.trend_z * np.sqrt(89 / 90) == pytest.approx(reference.zscore)
    assert found.trend_p == pytest.approx(stats.norm.sf(found.trend_z))
    assert found.by_gap["pairs"].tolist() == [20, 30, 25, 15, 0][: len(found.by_gap)]
    assert found.by_gap["gap_from"].tolist() == [0, 7, 14, 28]
    assert (found.pairs, found.changed) == (90, 22)


def test_retest_across_versions_is_compared_with_a_pooled_z_test():
    retest = pd.DataFrame({"window": [WEEKS[0], WEEKS[1]], "gap_days": [20, 20],
                           "across_versions": [False, True],
                           "pairs": [60, 40], "changed": [6, 14]})
    found = drift.retest_drift(retest)
    across = found.across_versions
    assert (across["within"], across["across"]) == (0.1, 0.35)
    assert across["p_value"] == pytest.approx(proportions_ztest([6, 14], [60, 40])[1])
    assert across["change_low"] < 0.25 < across["change_high"]
    assert found.by_window["change_rate"].tolist() == [0.1, 0.35]


def test_a_late_cohort_with_lower_agreement_shows_in_onboarding():
    windows = _annotator_windows(np.random.default_rng(5), late_cohort="vendor", late_rate=0.6)
    table = drift.onboarding_effects(windows)
    assert table[["cohort", "metric"]].values.tolist() == [["vendor", "agreement with the majority"]]
    row = table.iloc[0]
    assert row["joined"] == WEEKS[13] and row["annotators"] == 5
    assert row["vs_rest"] < -0.1 and row["vs_rest_q"] < 0.05
    assert row["vs_later_q"] >= 0.05  # no learning curve was simulated
    assert 0 < row["share_of_ratings"] < 0.3
    early = windows.query("window >= @WEEKS[13] and window < @WEEKS[17]")  # the first 28 days
    e_x, e_n = early.query("cohort == 'vendor'")[["loo_agree", "loo_items"]].sum()
    r_x, r_n = early.query("cohort != 'vendor'")[["loo_agree", "loo_items"]].sum()
    assert (row["early"], row["rest"]) == (pytest.approx(e_x / e_n), pytest.approx(r_x / r_n))
    assert row["vs_rest_p"] == pytest.approx(proportions_ztest([e_x, r_x], [e_n, r_n])[1])
    with_gold = windows.assign(gold_n=windows["loo_items"], gold_correct=windows["loo_agree"])
    assert drift.onboarding_effects(with_gold)["metric"].tolist() == list(drift.ONBOARDING_METRICS)
    assert drift.onboarding_effects(_annotator_windows(np.random.default_rng(5))).empty


def test_dawid_skene_accuracy_per_window_sums_the_posterior_of_the_label_given():
    ratings = pd.DataFrame({
        "item_id": ["i1", "i2", "i1", "i3"], "annotator_id": ["a", "a", "b", "a"],
        "label": ["x", "y", "y", "z"],
        "labeled_at": pd.to_datetime(["2026-06-01 10:00", "2026-06-07 23:00", "2026-06-02 00:00",
                                      "2026-06-08 00:00"]),
    })
    probas = pd.DataFrame({"x": [0.9, 0.2], "y": [0.1, 0.8]}, index=pd.Index(["i1", "i2"], name="item_id"))
    table = drift.ds_accuracy_windows(ratings, probas, grain="week")
    monday = pd.Timestamp("2026-06-01")
    assert table.to_dict("records") == [
        {"window": monday, "annotator_id": "a", "ds_n": 2.0, "ds_correct": pytest.approx(1.7)},
        {"window": monday, "annotator_id": "b", "ds_n": 1.0, "ds_correct": pytest.approx(0.1)},
    ]
    monthly = drift.ds_accuracy_windows(ratings, probas, grain="month")
    assert monthly["window"].unique().tolist() == [pd.Timestamp("2026-06-01")]


def test_dawid_skene_accuracy_adds_its_own_trend():
    rng = np.random.default_rng(6)
    windows = _annotator_windows(rng, declining=3)
    ds = windows.assign(ds_n=windows["loo_items"].astype(float), ds_correct=windows["loo_agree"] * 1.0)
    result = drift.annotator_drift(windows, ds=ds[["window", "annotator_id", "ds_n", "ds_correct"]])
    table = result.annotators.set_index("annotator_id")
    assert table.loc["ann-03", "ds_trend_q"] < 0.05
    assert "declining (Dawid–Skene)" in table.loc["ann-03", "flags"]
    assert {"ds_n", "ds_accuracy"} <= set(result.windows)


# --- findings in words ----------------------------------------------------------------------------------


def _inputs(rng, *, guideline_effect: bool):
    counts = []
    for t, week in enumerate(WEEKS):
        seven = 0.45 if (t < 13 or not guideline_effect) else 0.15
        n = rng.multinomial(400, [0.5 * (1 - seven), 0.5 * seven, 0.5])
        counts += [{"window": week, "label": label, "n": int(k)}
                   for label, k in zip(["1", "7", "3"], n, strict=True)]
    agreement = pd.DataFrame({"period": WEEKS, "items_multi": 100, "pa_mean": 0.8 + rng.normal(0, 0.02, 26),
                              "pa_sd": 0.2})
    annotators = _annotator_windows(rng).assign(agree_pairs=0, other_pairs=0, gold_n=0, gold_correct=0)
    guidelines = pd.DataFrame({"version": ["v1", "v2"], "effective_at": [WEEKS[0], WEEKS[13]],
                               "summary": ["", ""]})
    retest = pd.DataFrame({"window": WEEKS[5], "gap_days": [15, 30], "across_versions": False,
                           "pairs": [10, 10], "changed": [1, 2]})
    return types.SimpleNamespace(grain="week", label_counts=pd.DataFrame(counts), agreement=agreement,
                                 annotators=annotators, suspects=None, retest=retest, guidelines=guidelines)


def test_what_changed_names_the_guideline_change_in_the_pair_share():
    findings = drift.drift_findings(_inputs(np.random.default_rng(7), guideline_effect=True), n_sim=499)
    keys = findings.series.set_index("key")
    assert keys.loc["share:7", "changes"] >= 1 and keys.loc["agreement", "changes"] == 0
    pair = next(r for r in findings.change_points if r.series == "share of '7' among '1'/'7' labels")
    assert pair.changes["window"].iloc[0] == WEEKS[13]
    assert pair.changes["before"].iloc[0] == pytest.approx(0.45, abs=0.03)
    before, after = pair.changes[["before", "after"]].iloc[0]
    sentences = drift_words.what_changed(findings)
    expected = (f"On {WEEKS[13]:%Y-%m-%d} (guideline v2 took effect) the share of '7' among '1'/'7' labels "
                f"fell from {before:.0%} to {after:.0%} (change {100 * (after - before):+.1f} points")
    assert any(s.startswith(expected) for s in sentences), sentences
    assert any("Re-labels" in s for s in sentences)
    assert len(drift_words.what_changed(findings, limit=1)) == 1


def test_nothing_is_found_without_injected_effects():
    findings = drift.drift_findings(_inputs(np.random.default_rng(8), guideline_effect=False), n_sim=499)
    assert not findings.change_points and not findings.guidelines["significant"].any()
    sentences = drift_words.what_changed(findings)
    assert not any(s.startswith("On ") for s in sentences)


def _zipf_counts(rng, labels: int, per_week: int, *, weeks=WEEKS) -> pd.DataFrame:
    shares = 1 / np.arange(1, labels + 1) ** 1.1
    wide = rng.multinomial(per_week, shares / shares.sum(), size=len(weeks))
    return pd.DataFrame([{"window": week, "label": f"c{k}", "n": int(wide[t, k])}
                         for t, week in enumerate(weeks) for k in np.flatnonzero(wide[t])])


def test_many_labels_are_followed_as_the_top_ones_and_the_rest_pooled():
    """1,000 labels in a stationary store: 20 label shares and one share of the rest are tested (not
    1,000), the label-mix test runs on 21 categories, and nothing is flagged."""
    rng = np.random.default_rng(9)
    inputs = _inputs(rng, guideline_effect=False)
    inputs.label_counts = _zipf_counts(rng, 1000, 3000)
    findings = drift.drift_findings(inputs, n_sim=199)
    assert findings.labels == tuple(drift.top_labels(inputs.label_counts, drift.TOP_LABELS))
    assert findings.labels[:3] == ("c0", "c1", "c2") and len(findings.labels) == 20
    observed = inputs.label_counts["label"].nunique()
    assert findings.other_label == "(other labels)" and findings.other_labels == observed - 20
    keys = findings.series["key"].tolist()
    assert len(keys) <= drift.TOP_LABELS + 8 and "other" in keys
    assert sum(key.startswith("share:") for key in keys) == 20
    assert (findings.shift["dof"] <= 20).all()
    assert not findings.change_points and not findings.shift["significant"].any()
    other = findings.series.set_index("key").loc["other", "series"]
    assert other == f"share of the {observed - 20:,} less frequent labels together"


def test_collapsing_labels_keeps_every_count():
    counts = _zipf_counts(np.random.default_rng(10), 50, 500)
    top = drift.top_labels(counts, 5)
    collapsed = drift.collapse_labels(counts, top, drift.other_label(counts["label"]))
    assert collapsed.groupby("window")["n"].sum().equals(counts.groupby("window")["n"].sum())
    assert set(collapsed["label"]) == {*top, "(other labels)"}
    assert drift.other_label(["a", "(other labels)"]) == "((other labels))"


def test_a_daily_view_dates_each_weekly_change_to_the_day():
    """The tests run on weeks; drawn on days, the share of '7' falling on Wednesday 2026-06-03 is dated
    to that day and carries the daily values, with the same size, interval and p-value."""
    rng = np.random.default_rng(12)
    days = pd.date_range(WEEKS[0], WEEKS[-1] + pd.Timedelta(days=6), freq="D")
    seven = np.where(days >= pd.Timestamp("2026-06-03"), 0.10, 0.30)
    daily = pd.DataFrame([{"window": day, "label": label, "n": int(k)}
                          for day, s in zip(days, seven, strict=True)
                          for label, k in zip(["7", "3"], rng.multinomial(60, [s, 1 - s]), strict=True)])
    weekly = daily.assign(window=daily["window"].dt.to_period("W-SUN").dt.start_time)
    weekly = weekly.groupby(["window", "label"], as_index=False)["n"].sum()
    inputs = _inputs(rng, guideline_effect=False)
    inputs.label_counts = weekly
    display = types.SimpleNamespace(**{**vars(inputs), "grain": "day", "label_counts": daily})
    plain = drift.drift_findings(inputs, pairs=(), n_sim=199)
    drawn = drift.drift_findings(inputs, display=display, pairs=(), n_sim=199)
    (weeks_seven,) = [cp for cp in plain.change_points if cp.series == "share of '7' among all labels"]
    (days_seven,) = [cp for cp in drawn.change_points if cp.series == "share of '7' among all labels"]
    assert weeks_seven.changes["window"].tolist() == [pd.Timestamp("2026-06-01")]
    assert days_seven.changes["window"].tolist() == [pd.Timestamp("2026-06-03")]
    assert days_seven.segments["start"].iloc[1] == pd.Timestamp("2026-06-03")
    columns = ["change", "change_low", "change_high", "p_value"]
    assert days_seven.changes[columns].equals(weeks_seven.changes[columns])
    assert days_seven.values["window"].tolist() == list(days) and len(weeks_seven.values) == 26
    assert drawn.display_grain == "day" and drawn.grain == "week"
    expected = ("On 2026-06-03 (2 days after guideline v2 took effect on 2026-06-01) the share of '7' among "
                "all labels fell")
    assert any(line.startswith(expected) for line in drift_words.what_changed(drawn))
