"""Count-table engine: patterns, standard errors against Gwet's irrCAC, the bootstrap and its intervals."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from analytics.agreement import coefficients as agreement
from analytics.agreement import estimates as reliability
from analytics.core import ratings
from tests.analytics.agreement_examples import FLEISS_1971, KRIPPENDORFF_2011, random_events, wide_to_events


def synthetic_counts(n_items, *, k=6, seed=0, p_error=0.3):
    """A count table of n_items items with 2–5 ratings each, right with probability 1 − p_error."""
    rng = np.random.default_rng(seed)
    m = rng.integers(2, 6, n_items)
    item = np.repeat(np.arange(n_items), m)
    truth = rng.integers(0, k, n_items)[item]
    label = np.where(rng.random(item.size) < p_error, rng.integers(0, k, item.size), truth)
    keys, n = np.unique(item * k + label, return_counts=True)
    return pd.DataFrame({"item_id": keys // k, "label": keys % k, "n": n})


def comparable(estimates):
    """Estimates as plain tuples with nan replaced by None, so that equal results compare equal."""
    return {
        name: tuple(None if isinstance(v, float) and np.isnan(v) else v for v in dataclasses.astuple(e))
        for name, e in estimates.items()
    }


# --- patterns ----------------------------------------------------------------------------------------------


def test_items_with_the_same_label_counts_share_a_pattern():
    counts = pd.DataFrame({
        "item_id": ["a", "a", "b", "b", "c", "d", "d", "e"],
        "label": ["x", "y", "y", "x", "x", "x", "y", "x"],
        "n": [2, 1, 1, 2, 3, 1, 2, 3],
    })
    pt = ratings.label_patterns(counts)
    assert pt.item_pattern[0] == pt.item_pattern[1]  # a and b: x×2, y×1
    assert pt.item_pattern[2] == pt.item_pattern[4]  # c and e: x×3
    assert len({pt.item_pattern[0], pt.item_pattern[2], pt.item_pattern[3]}) == 3
    assert pt.weight.sum() == 5 and pt.n_patterns == 3
    assert (pt.weight * pt.ratings).sum() == counts["n"].sum()


def test_a_large_table_compresses_to_few_patterns():
    pt = ratings.label_patterns(synthetic_counts(50_000, k=6))
    assert pt.item_pattern.size == 50_000
    assert pt.n_patterns < 600  # compositions of 2..5 ratings into 6 labels: at most 461
    assert pt.weight.sum() == 50_000


def test_weighted_patterns_equal_the_resampled_table():
    """Evaluating a statistic with item counts per pattern = computing it on the items repeated that often."""
    counts = agreement.label_counts(random_events(20, n_items=150))
    pt = ratings.label_patterns(counts, level="ordinal")
    rng = np.random.default_rng(3)
    draws = rng.integers(0, pt.item_pattern.size, pt.item_pattern.size)
    weights = np.bincount(pt.item_pattern[draws], minlength=pt.n_patterns).astype(float)
    items = pd.Index(counts["item_id"].unique())
    resampled = pd.concat(
        [counts[counts["item_id"] == items[i]].assign(item_id=j) for j, i in enumerate(draws)])
    for metric, options, direct in [
        ("percent_agreement", {}, reliability.percent_agreement_from_counts(resampled)),
        ("fleiss_kappa", {}, reliability.fleiss_kappa_from_counts(resampled)),
        ("gwet_ac1", {}, reliability.gwet_ac1_from_counts(resampled)),
        ("krippendorff_alpha", {"level": "ordinal"},
         reliability.krippendorff_alpha_from_counts(resampled, level="ordinal")),
    ]:
        statistic = reliability._STATISTICS[metric](pt, **options)
        assert statistic.evaluate(weights)[0] == pytest.approx(direct, rel=1e-12), metric


# --- analytic standard errors ------------------------------------------------------------------------------


def test_standard_errors_match_irrcac_on_gwets_4_rater_example():
    """Gwet (2014) / irrCAC `cac.raw4raters`: Fleiss κ SE 0.153 with 95% CI (0.424, 1), AC1 SE 0.143 with
    CI (0.461, 1) (irrCAC's tests, 3 digits). Full precision from irrCAC's Python port 0.4.4, run once with
    the categories given: 0.153019203469, 0.424376279377; 0.142949950641, 0.460813348131."""
    counts = agreement.label_counts(wide_to_events(KRIPPENDORFF_2011))
    estimates = reliability.agreement_estimates(counts, n_boot=0)
    fleiss, ac1 = estimates["fleiss_kappa"], estimates["gwet_ac1"]
    assert fleiss.std_error == pytest.approx(0.153019203469, abs=1e-11)
    assert (fleiss.ci_low, fleiss.ci_high) == pytest.approx((0.424376279377, 1.0), abs=1e-11)
    assert ac1.std_error == pytest.approx(0.142949950641, abs=1e-11)
    assert (ac1.ci_low, ac1.ci_high) == pytest.approx((0.460813348131, 1.0), abs=1e-11)
    assert fleiss.method.startswith("t interval") and fleiss.n_boot == 0
    assert (fleiss.n_items, fleiss.n_ratings) == (12, 41)  # the unit rated once counts for Fleiss and AC1
    alpha = estimates["krippendorff_alpha"]
    assert (alpha.n_items, alpha.n_ratings) == (11, 40)  # ... not for alpha
    assert np.isnan(alpha.std_error) and np.isnan(alpha.ci_low) and alpha.method == "none"


def test_standard_errors_match_irrcac_on_fleiss_1971():
    """Fleiss (1971) Table 1 through irrCAC's Python port 0.4.4 (run once): Fleiss κ SE 0.054198935515,
    AC1 0.447884515845 with SE 0.055662141682."""
    counts = agreement.label_counts(wide_to_events(FLEISS_1971, by_rows_are_items=True))
    estimates = reliability.agreement_estimates(counts, metrics=["fleiss_kappa", "gwet_ac1"], n_boot=0)
    assert estimates["fleiss_kappa"].std_error == pytest.approx(0.054198935515, abs=1e-11)
    assert estimates["gwet_ac1"].value == pytest.approx(0.447884515845, abs=1e-11)
    assert estimates["gwet_ac1"].std_error == pytest.approx(0.055662141682, abs=1e-11)


def test_percent_agreement_standard_error_is_that_of_a_mean():
    counts = synthetic_counts(400, seed=4)
    pt = ratings.label_patterns(counts)
    per_item = pd.Series(
        [reliability.percent_agreement_from_counts(group) for _, group in counts.groupby("item_id")])
    estimate = reliability.agreement_estimates(counts, metrics="percent_agreement", n_boot=0)
    estimate = estimate["percent_agreement"]
    assert estimate.value == pytest.approx(per_item.mean(), rel=1e-12)
    assert estimate.std_error == pytest.approx(per_item.std() / np.sqrt(len(per_item)), rel=1e-10)
    assert pt.weight.sum() == len(per_item)


# --- bootstrap ---------------------------------------------------------------------------------------------


def test_bootstrap_is_seeded_and_brackets_the_estimate():
    counts = synthetic_counts(3000, seed=5)
    first = reliability.agreement_estimates(counts, n_boot=300, random_state=7)
    again = reliability.agreement_estimates(counts, n_boot=300, random_state=7)
    other = reliability.agreement_estimates(counts, n_boot=300, random_state=8)
    assert comparable(first) == comparable(again)
    assert first["krippendorff_alpha"].ci_low != other["krippendorff_alpha"].ci_low
    for estimate in first.values():
        assert estimate.ci_low < estimate.value < estimate.ci_high
        assert estimate.method == "bootstrap BCa over items" and estimate.n_boot == 300


@pytest.mark.parametrize("metric", ["percent_agreement", "fleiss_kappa", "gwet_ac1"])
def test_bootstrap_spread_agrees_with_the_analytic_standard_error(metric):
    counts = synthetic_counts(3000, seed=6)
    pt = ratings.label_patterns(counts)
    statistic = reliability._STATISTICS[metric](pt)
    replicates = reliability._bootstrap(pt, {metric: statistic}, 1000, 0)[metric]
    analytic = reliability.agreement_estimates(counts, metrics=[metric], n_boot=0)[metric].std_error
    assert np.std(replicates, ddof=1) == pytest.approx(analytic, rel=0.1)


def test_both_resampling_schemes_draw_the_same_distribution():
    counts = synthetic_counts(2000, seed=7)
    pt = ratings.label_patterns(counts)
    statistic = reliability._STATISTICS["krippendorff_alpha"](pt)
    spreads = []
    for by_pattern in (True, False):
        rng = np.random.default_rng(1)
        weights = np.vstack(list(reliability._resampled_weights(pt, 1000, rng, 250, by_pattern=by_pattern)))
        assert weights.shape == (1000, pt.n_patterns) and (weights.sum(axis=1) == 2000).all()
        spreads.append(np.std(statistic.evaluate(weights), ddof=1))
    assert spreads[0] == pytest.approx(spreads[1], rel=0.12)


def test_chunking_does_not_change_the_replicates(monkeypatch):
    counts = synthetic_counts(1000, seed=8)
    whole = reliability.agreement_estimates(counts, n_boot=64, level="ordinal")
    monkeypatch.setattr(reliability, "_CHUNK_BYTES", 8 * 1024)  # a handful of replicates per chunk
    chunked = reliability.agreement_estimates(counts, n_boot=64, level="ordinal")
    assert comparable(chunked) == comparable(whole)


def test_degenerate_resamples_are_left_out_of_the_interval():
    # Two items: one all-"x", one split. Resamples holding only the first give an undefined alpha.
    counts = pd.DataFrame({"item_id": [1, 2, 2], "label": ["x", "x", "y"], "n": [2, 1, 1]})
    estimate = reliability.agreement_estimates(counts, metrics=["krippendorff_alpha"], n_boot=200)
    assert np.isfinite(estimate["krippendorff_alpha"].ci_low)


def test_estimates_check_their_options():
    counts = synthetic_counts(50)
    with pytest.raises(ValueError, match="percent_agreement, fleiss_kappa, gwet_ac1, krippendorff_alpha"):
        reliability.agreement_estimates(counts, metrics=["cohen"])
    with pytest.raises(ValueError, match="nominal, ordinal, interval, ratio"):
        reliability.agreement_estimates(counts, level="metric")
    with pytest.raises(ValueError, match="confidence"):
        reliability.agreement_estimates(counts, confidence=95)
    with pytest.raises(ValueError, match="n_boot"):
        reliability.agreement_estimates(counts, n_boot=-1)
    # Level only concerns alpha: words are fine when alpha is not asked for.
    words = counts.assign(label=counts["label"].map(lambda v: f"w{v}"))
    assert "fleiss_kappa" in reliability.agreement_estimates(words, metrics=["fleiss_kappa"], level="ordinal")


def test_empty_table_gives_nan_estimates():
    empty = pd.DataFrame({"item_id": pd.Series(dtype=str), "label": pd.Series(dtype=str),
                          "n": pd.Series(dtype=np.int64)})
    for estimate in reliability.agreement_estimates(empty, n_boot=50).values():
        assert np.isnan(estimate.value) and np.isnan(estimate.ci_low) and estimate.n_items == 0


def test_when_every_multiply_rated_item_is_unanimous_on_one_label_the_estimates_say_why():
    """Three items rated twice, all 'x'; five items rated once with other labels. Alpha (pairable values
    only) is 0/0; Fleiss' kappa and AC1 read 1 because the single ratings enter their chance term."""
    counts = pd.DataFrame({"item_id": [1, 2, 3, 4, 5, 6, 7, 8], "label": list("xxxyzyzx"),
                           "n": [2, 2, 2, 1, 1, 1, 1, 1]})
    estimates = reliability.agreement_estimates(counts, n_boot=100)
    alpha, kappa, ac1 = (estimates[m] for m in ("krippendorff_alpha", "fleiss_kappa", "gwet_ac1"))
    assert np.isnan(alpha.value) and "same label" in alpha.note and "0/0" in alpha.note
    assert kappa.value == 1.0 and ac1.value == 1.0
    assert "5 items rated once" in kappa.note and "Alpha" in kappa.note
    assert (kappa.n_items, kappa.n_pairable, alpha.n_items, alpha.n_pairable) == (8, 3, 3, 3)


def test_a_bootstrap_without_spread_gives_no_interval_and_a_bound_on_disagreement():
    """Every item with 2+ ratings is unanimous (two labels): alpha is 1 in every resample. The interval
    1.000–1.000 would read as certainty; the note bounds the share of disagreeing items instead (Wilson's
    upper bound for 0 of 40, z²/(40 + z²) = 8.8%)."""
    counts = pd.DataFrame({"item_id": np.arange(40), "label": ["x", "y"] * 20, "n": 3})
    alpha = reliability.agreement_estimates(counts, metrics=["krippendorff_alpha"], n_boot=100)[
        "krippendorff_alpha"]
    assert alpha.value == 1.0 and np.isnan(alpha.ci_low) and alpha.method == "none"
    assert "unanimous" in alpha.note and "8.8%" in alpha.note
