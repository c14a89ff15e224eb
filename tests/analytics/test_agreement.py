"""Agreement coefficients of label events: published worked examples, independent implementations, edge cases.

Golden values name their source. Where a publication rounds, the test checks the rounding and pins the full
value from an independent computation: the loop-based reference implementations below, written from the
definitions, and reference packages run once by hand (their numbers are hard-coded; neither package is a
dependency: ``krippendorff`` is GPL).
"""

import doctest

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics
import statsmodels.stats.inter_rater as smir
from statsmodels.stats.proportion import proportion_confint

from analytics.agreement import coefficients as agreement
from analytics.agreement import cohen
from analytics.agreement import estimates as reliability
from analytics.core import ratings, stats
from tests.analytics.agreement_examples import (
    FLEISS_1971,
    KRIPPENDORFF_2011,
    naive_alpha,
    naive_pi_coefficients,
    random_events,
    table_to_events,
    units_of,
    wide_to_events,
)

# --- Krippendorff's alpha --------------------------------------------------------------------------------

# Full precision from the `krippendorff` package 0.9.0 (Castro), run once on KRIPPENDORFF_2011.
ALPHA_2011 = {
    "nominal": (0.743, 0.743421052631579),
    "ordinal": (0.815, 0.8153875037548814),
    "interval": (0.849, 0.8491071428571428),
    "ratio": (0.797, 0.7974027747116121),
}


@pytest.mark.parametrize("level", list(ALPHA_2011))
def test_alpha_reproduces_krippendorff_2011(level):
    """Krippendorff (2011), the example with missing values: α = .743 / .815 / .849 / .797."""
    published, full = ALPHA_2011[level]
    events = wide_to_events(KRIPPENDORFF_2011)
    alpha = agreement.krippendorff_alpha(events, level=level)
    assert round(alpha, 3) == published
    assert alpha == pytest.approx(full, rel=1e-12)
    assert alpha == pytest.approx(naive_alpha(units_of(events), level), rel=1e-12)


def test_alpha_nominal_is_the_exact_fraction_of_the_2011_example():
    # Krippendorff (2011): α = 1 − (n − 1) D_o / D_e with n = 40 pairable values → 113/152.
    assert agreement.krippendorff_alpha(wide_to_events(KRIPPENDORFF_2011), level="nominal") == pytest.approx(
        113 / 152, rel=1e-14)


def test_label_confusion_is_krippendorffs_coincidence_matrix():
    """Krippendorff (2011), the coincidence matrix of the example: rows 1–5, margins 9, 13, 10, 5, 3."""
    third = 1 / 3
    expected = np.array([
        [7, 4 * third, third, third, 0],
        [4 * third, 10, 4 * third, third, 0],
        [third, 4 * third, 8, third, 0],
        [third, third, third, 4, 0],
        [0, 0, 0, 0, 3],
    ])
    table = agreement.label_confusion(wide_to_events(KRIPPENDORFF_2011))
    pairs = table.pivot(index="label_a", columns="label_b", values="pairs").to_numpy()
    np.testing.assert_allclose(pairs, expected, rtol=1e-12)
    np.testing.assert_allclose(pairs.sum(axis=1), [9, 13, 10, 5, 3])
    margins = pairs.sum(axis=1)
    lift = table.pivot(index="label_a", columns="label_b", values="lift").to_numpy()
    chance = (np.outer(margins, margins) - np.diag(margins)) / (margins.sum() - 1)
    np.testing.assert_allclose(lift, expected / chance, rtol=1e-12)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("level", ["nominal", "ordinal", "interval", "ratio"])
def test_alpha_equals_the_naive_definition_on_sparse_crowds(seed, level):
    events = random_events(seed)
    assert agreement.krippendorff_alpha(events, level=level) == pytest.approx(
        naive_alpha(units_of(events), level), rel=1e-10)


def test_ordinal_alpha_with_an_explicit_order_equals_numeric_ranks():
    events = random_events(4)
    words = {1: "never", 2: "rarely", 3: "sometimes", 4: "often", 5: "always"}
    worded = events.assign(label=events["label"].map(words))
    order = list(words.values())
    assert agreement.krippendorff_alpha(worded, level="ordinal", order=order) == pytest.approx(
        agreement.krippendorff_alpha(events, level="ordinal"), rel=1e-12)
    # Reversing the scale leaves an ordinal metric unchanged; shuffling it does not.
    assert agreement.krippendorff_alpha(worded, level="ordinal", order=order[::-1]) == pytest.approx(
        agreement.krippendorff_alpha(events, level="ordinal"), rel=1e-12)
    shuffled = [order[i] for i in (2, 0, 4, 1, 3)]
    assert agreement.krippendorff_alpha(worded, level="ordinal", order=shuffled) != pytest.approx(
        agreement.krippendorff_alpha(events, level="ordinal"), rel=1e-6)
    # Interval on an order scores the labels 1..K: the same as the numbers 1..5 here.
    assert agreement.krippendorff_alpha(worded, level="interval", order=order) == pytest.approx(
        agreement.krippendorff_alpha(events, level="interval"), rel=1e-12)


def test_numeric_labels_given_as_strings_are_ordered_as_numbers():
    events = pd.DataFrame({
        "item_id": [1, 1, 2, 2, 3, 3, 4, 4],
        "annotator_id": list("abababab"),
        "label": [1, 2, 2, 10, 10, 10, 1, 1],
    })
    as_text = events.assign(label=events["label"].astype(str))
    for level in ("ordinal", "interval", "ratio"):
        assert agreement.krippendorff_alpha(as_text, level=level) == pytest.approx(
            agreement.krippendorff_alpha(events, level=level), rel=1e-12)
        assert agreement.krippendorff_alpha(events, level=level) == pytest.approx(
            naive_alpha(units_of(events), level), rel=1e-12)


def test_alpha_level_is_required_and_checked():
    events = wide_to_events(KRIPPENDORFF_2011)
    with pytest.raises(TypeError):
        agreement.krippendorff_alpha(events)
    with pytest.raises(ValueError, match="nominal, ordinal, interval, ratio"):
        agreement.krippendorff_alpha(events, level="cardinal")
    words = events.assign(label=events["label"].map(lambda v: f"grade {v}"))
    with pytest.raises(ValueError, match="order="):
        agreement.krippendorff_alpha(words, level="ordinal")
    with pytest.raises(ValueError, match="missing from order"):
        agreement.krippendorff_alpha(words, level="ordinal", order=["grade 1", "grade 2"])
    with pytest.raises(ValueError, match="ratio"):
        agreement.krippendorff_alpha(words, level="ratio", order=sorted(words["label"].unique()))
    with pytest.raises(ValueError, match="non-negative"):
        agreement.krippendorff_alpha(events.assign(label=-events["label"]), level="ratio")


# --- Fleiss' kappa, Gwet's AC1, percent agreement ---------------------------------------------------------


def test_fleiss_reproduces_fleiss_1971():
    """Fleiss (1971), Table 1: κ = .430; R irr's kappam.fleiss(diagnoses) = 0.4302445."""
    kappa = agreement.fleiss_kappa(wide_to_events(FLEISS_1971, by_rows_are_items=True))
    assert round(kappa, 3) == 0.430
    assert kappa == pytest.approx(0.4302445, abs=5e-8)
    table, _ = smir.aggregate_raters(np.array(FLEISS_1971))
    assert kappa == pytest.approx(smir.fleiss_kappa(table), rel=1e-12)


@pytest.mark.parametrize("seed, raters, k", [(0, 3, 2), (1, 5, 4), (2, 8, 10)])
def test_fleiss_equals_statsmodels_when_every_item_has_the_same_raters_count(seed, raters, k):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, k, size=(200, 1))
    ratings_ = np.where(rng.random((200, raters)) < 0.6, truth, rng.integers(0, k, size=(200, raters)))
    table, _ = smir.aggregate_raters(ratings_)
    assert agreement.fleiss_kappa(wide_to_events(ratings_.tolist(), by_rows_are_items=True)) == pytest.approx(
        smir.fleiss_kappa(table), rel=1e-12)


def test_unequal_raters_match_gwets_handbook_example():
    """Gwet (2014), 4 raters × 12 subjects with missing ratings (irrCAC `cac.raw4raters`).

    irrCAC reports p_a = 0.818, Fleiss' kappa 0.761 (p_e 0.239), AC1 0.775 (p_e 0.190); the exact values
    follow from π = (3, 3.25, 3.5, 1.25, 1) / 12: κ = 7343/9647 and AC1 = 31825/41041.
    """
    events = wide_to_events(KRIPPENDORFF_2011)
    assert agreement.percent_agreement(events) == pytest.approx(9 / 11, rel=1e-14)
    assert agreement.fleiss_kappa(events) == pytest.approx(7343 / 9647, rel=1e-14)
    assert agreement.gwet_ac1(events) == pytest.approx(31825 / 41041, rel=1e-14)
    assert round(agreement.fleiss_kappa(events), 3) == 0.761
    assert round(agreement.gwet_ac1(events), 3) == 0.775


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_fleiss_and_ac1_equal_gwets_formulas_item_by_item(seed):
    events = random_events(seed)
    pa, kappa, ac1 = naive_pi_coefficients(units_of(events))
    assert agreement.percent_agreement(events) == pytest.approx(pa, rel=1e-12)
    assert agreement.fleiss_kappa(events) == pytest.approx(kappa, rel=1e-12)
    assert agreement.gwet_ac1(events) == pytest.approx(ac1, rel=1e-12)


def test_ac1_reproduces_gwets_two_abstractor_example():
    """Gwet (2014), pregnancy type of 100 women by 2 abstractors (irrCAC `cont3x3abstractors`).

    irrCAC reports AC1 = 0.849 (0.849330548231 to 12 digits) and Cohen's kappa 0.796409402184.
    """
    events = table_to_events([[13, 0, 0], [0, 20, 7], [0, 4, 56]])
    assert agreement.gwet_ac1(events) == pytest.approx(0.849330548231, abs=1e-12)
    assert agreement.cohens_kappa(events, "a", "b") == pytest.approx(0.796409402184, abs=1e-12)


def test_ac1_resists_the_high_agreement_paradox():
    # 118 of 125 items agree on "+": kappa is below zero, AC1 near the 94.4% raw agreement.
    events = table_to_events([[118, 5], [2, 0]])
    assert agreement.percent_agreement(events) == pytest.approx(118 / 125)
    assert agreement.cohens_kappa(events, "a", "b") < 0
    assert agreement.gwet_ac1(events) > 0.9


def test_ac1_counts_unused_categories_when_told():
    events = table_to_events([[8, 1], [1, 6]])
    two = agreement.gwet_ac1(events)
    five = agreement.gwet_ac1(events, n_categories=5)
    assert five > two  # more categories, less agreement expected by chance
    with pytest.raises(ValueError, match="n_categories"):
        agreement.gwet_ac1(events, n_categories=1)


def test_percent_agreement_by_hand():
    events = pd.DataFrame({
        "item_id": ["i1"] * 3 + ["i2"] * 2 + ["i3"] * 3 + ["i4"],
        "annotator_id": ["a", "b", "c", "a", "b", "a", "b", "c", "a"],
        "label": ["x", "x", "x", "x", "y", "x", "x", "y", "z"],
    })
    # i1: all 6 ordered pairs agree; i2: none; i3: 2 of 6; i4 has one rating and is left out.
    assert agreement.percent_agreement(events) == pytest.approx((1 + 0 + 1 / 3) / 3, rel=1e-14)


# --- Cohen's kappa ---------------------------------------------------------------------------------------


def two_annotators(seed, n=300, k=5):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, k, n)
    b = np.where(rng.random(n) < 0.5, a, np.clip(a + rng.integers(-2, 3, n), 0, k - 1))
    b[:k] = np.arange(k)  # every label present, so scikit-learn's rank scores equal the label values
    events = pd.DataFrame({
        "item_id": np.r_[np.arange(n), np.arange(n)],
        "annotator_id": ["a"] * n + ["b"] * n,
        "label": np.r_[a, b],
    })
    return events, a, b


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cohens_kappa_equals_scikit_learn(weights, seed):
    events, a, b = two_annotators(seed)
    assert agreement.cohens_kappa(events, "a", "b", weights=weights) == pytest.approx(
        sklearn.metrics.cohen_kappa_score(a, b, weights=weights), rel=1e-12)
    assert agreement.cohens_kappa(events, "b", "a", weights=weights) == pytest.approx(
        agreement.cohens_kappa(events, "a", "b", weights=weights), rel=1e-12)


@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohens_kappa_standard_error_equals_statsmodels(weights):
    events, a, b = two_annotators(3)
    table = pd.crosstab(a, b).to_numpy()
    expected = smir.cohens_kappa(table, wt=weights) if weights else smir.cohens_kappa(table)
    estimate = agreement.cohens_kappa_estimate(events, "a", "b", weights=weights)
    assert estimate.value == pytest.approx(expected.kappa, rel=1e-12)
    assert estimate.std_error == pytest.approx(expected.std_kappa, rel=1e-10)
    assert (estimate.ci_low, estimate.ci_high) == pytest.approx((expected.kappa_low, expected.kappa_upp),
                                                                rel=1e-9)
    assert estimate.n_items == 300 and estimate.level == (weights or "nominal")


def test_cohens_kappa_reproduces_the_sas_example():
    """SAS PROC FREQ on [[0,4,1],[0,8,0],[0,1,5]], as quoted in statsmodels' tests: simple κ 0.4842,
    ASE 0.1380, 95% CI (0.2137, 0.7547); linear weighted κ 0.4701, ASE 0.1457, CI (0.1845, 0.7558)."""
    events = table_to_events([[0, 4, 1], [0, 8, 0], [0, 1, 5]])
    simple = agreement.cohens_kappa_estimate(events, "a", "b")
    assert [simple.value, simple.std_error, simple.ci_low, simple.ci_high] == pytest.approx(
        [0.4842, 0.1380, 0.2137, 0.7547], abs=5e-5)
    weighted = agreement.cohens_kappa_estimate(events, "a", "b", weights="linear")
    assert [weighted.value, weighted.std_error, weighted.ci_low, weighted.ci_high] == pytest.approx(
        [0.4701, 0.1457, 0.1845, 0.7558], abs=5e-5)


def test_weighted_kappa_on_words_needs_an_order():
    events, a, b = two_annotators(4)
    words = np.array(["none", "low", "mid", "high", "max"])
    worded = events.assign(label=words[events["label"].to_numpy()])
    with pytest.raises(ValueError, match="order="):
        agreement.cohens_kappa(worded, "a", "b", weights="linear")
    assert agreement.cohens_kappa(worded, "a", "b", weights="linear", order=list(words)) == pytest.approx(
        sklearn.metrics.cohen_kappa_score(a, b, weights="linear"), rel=1e-12)
    with pytest.raises(ValueError, match="'linear', 'quadratic'"):
        agreement.cohens_kappa(events, "a", "b", weights="cubic")


def test_pairwise_kappa_is_cohens_kappa_of_each_pair():
    events = random_events(8, n_items=400, n_annotators=6, max_ratings=4)
    table = agreement.pairwise_kappa(events, min_overlap=30)
    assert len(table) > 0 and (table["n_items"] >= 30).all()
    assert (table["annotator_a"] < table["annotator_b"]).all()
    for row in table.itertuples():
        assert row.kappa == pytest.approx(agreement.cohens_kappa(events, row.annotator_a, row.annotator_b),
                                          rel=1e-12)
        shared = set(events.loc[events.annotator_id == row.annotator_a, "item_id"]) & set(
            events.loc[events.annotator_id == row.annotator_b, "item_id"])
        assert row.n_items == len(shared)
    quadratic = agreement.pairwise_kappa(events, min_overlap=30, weights="quadratic")
    first = quadratic.iloc[0]
    assert first.kappa == pytest.approx(agreement.cohens_kappa(
        events, first.annotator_a, first.annotator_b, weights="quadratic"), rel=1e-12)


def test_pairwise_kappa_leaves_out_small_overlaps_and_scales_with_ratings_not_annotators():
    # 2000 annotators, each item rated by 3 of them: no dense item × annotator matrix could be afforded
    # if it were N × M floats per pair; the result lists only pairs that really co-rated.
    rng = np.random.default_rng(9)
    n_items, n_annotators = 3000, 2000
    raters = np.array([rng.choice(n_annotators, 3, replace=False) for _ in range(n_items)])
    events = pd.DataFrame({
        "item_id": np.repeat(np.arange(n_items), 3),
        "annotator_id": raters.ravel(),
        "label": rng.integers(0, 3, 3 * n_items),
    })
    table = agreement.pairwise_kappa(events, min_overlap=1)
    assert table["n_items"].sum() == 3 * n_items  # every within-item pair counted once
    assert agreement.pairwise_kappa(events, min_overlap=3).empty or (
        agreement.pairwise_kappa(events, min_overlap=3)["n_items"] >= 3).all()
    assert list(agreement.pairwise_kappa(events, min_overlap=10_000).columns) == [
        "annotator_a", "annotator_b", "n_items", "kappa"]


# --- edge cases ------------------------------------------------------------------------------------------


def test_identical_labels_give_nan_not_a_fake_perfect_score():
    events = pd.DataFrame({"item_id": [1, 1, 2, 2], "annotator_id": list("abab"), "label": ["x"] * 4})
    assert agreement.percent_agreement(events) == 1.0
    undefined = [
        agreement.fleiss_kappa(events),
        agreement.gwet_ac1(events),
        agreement.cohens_kappa(events, "a", "b"),
        agreement.krippendorff_alpha(events, level="nominal"),
    ]
    assert np.isnan(undefined).all()
    assert agreement.pairwise_kappa(events, min_overlap=1)["kappa"].isna().all()
    # With a vocabulary of two labels, AC1 does call this perfect agreement (it is defined: p_e = 0).
    assert agreement.gwet_ac1(events, n_categories=2) == 1.0


def test_a_single_item():
    events = pd.DataFrame({"item_id": [1, 1], "annotator_id": ["a", "b"], "label": ["x", "y"]})
    assert agreement.percent_agreement(events) == 0.0
    assert agreement.fleiss_kappa(events) == pytest.approx(-1.0)  # p_a 0, p_e 1/2
    assert agreement.gwet_ac1(events) == pytest.approx(-1.0)
    assert agreement.krippendorff_alpha(events, level="nominal") == pytest.approx(0.0)
    assert np.isnan(agreement.fleiss_kappa(events.iloc[:1]))  # one rating: nothing to compare


def test_single_ratings_are_left_out_of_pairs_but_enter_chance_agreement():
    events = random_events(10)
    ratings_per_item = events.groupby("item_id")["label"].transform("size")
    pairable = events[ratings_per_item >= 2]
    assert (ratings_per_item == 1).any()
    assert agreement.percent_agreement(events) == pytest.approx(agreement.percent_agreement(pairable))
    assert agreement.krippendorff_alpha(events, level="ordinal") == pytest.approx(
        agreement.krippendorff_alpha(pairable, level="ordinal"))
    # Fleiss' kappa and AC1 (Gwet's generalisation) count every rating in the label shares π_k.
    assert agreement.fleiss_kappa(events) != pytest.approx(agreement.fleiss_kappa(pairable))


def test_no_pairs_and_no_events_give_nan():
    single = pd.DataFrame({"item_id": [1, 2], "annotator_id": ["a", "b"], "label": ["x", "y"]})
    empty = single.iloc[:0]
    for events in (single, empty):
        assert np.isnan(agreement.percent_agreement(events))
        assert np.isnan(agreement.fleiss_kappa(events))
        assert np.isnan(agreement.krippendorff_alpha(events, level="nominal"))
        assert np.isnan(agreement.krippendorff_alpha(events.assign(label=1.5), level="interval"))
    assert np.isnan(agreement.cohens_kappa(single, "a", "b"))
    assert agreement.label_confusion(empty).empty


def test_int_and_string_labels_agree():
    events = random_events(11)
    as_text = events.assign(label="L" + events["label"].astype(str))
    for f in (agreement.percent_agreement, agreement.fleiss_kappa, agreement.gwet_ac1):
        assert f(as_text) == pytest.approx(f(events), rel=1e-12)
    assert agreement.krippendorff_alpha(as_text, level="nominal") == pytest.approx(
        agreement.krippendorff_alpha(events, level="nominal"), rel=1e-12)


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="annotator_id"):
        agreement.fleiss_kappa(pd.DataFrame({"item_id": [1], "label": ["x"]}))
    with pytest.raises(ValueError, match="'n'"):
        agreement.fleiss_kappa_from_counts(pd.DataFrame({"item_id": [1], "label": ["x"]}))
    with pytest.raises(ValueError, match="whole numbers"):
        agreement.fleiss_kappa_from_counts(pd.DataFrame({"item_id": [1], "label": ["x"], "n": [-1]}))


# --- one rating per annotator and item ---------------------------------------------------------------------


def test_latest_rating_wins_and_inputs_are_not_mutated():
    events = pd.DataFrame({
        "item_id": [1, 1, 1, 1, 2, 2],
        "annotator_id": ["a", "a", "b", "a", "a", "b"],
        "label": ["y", "x", "x", "z", "x", "x"],
        "labeled_at": pd.to_datetime(["2026-03-02", "2026-03-05", "2026-03-01", None, "2026-03-01",
                                      "2026-03-01"]),
    })
    before = events.copy()
    latest = agreement.latest_ratings(events)
    assert latest.set_index(["item_id", "annotator_id"])["label"].to_dict() == {
        (1, "a"): "x", (1, "b"): "x", (2, "a"): "x", (2, "b"): "x"}  # dated 03-05 beats 03-02 and the undated
    pd.testing.assert_frame_equal(events, before)
    assert agreement.percent_agreement(events) == 1.0
    undated = events.drop(columns="labeled_at")
    latest_undated = agreement.latest_ratings(undated).set_index(["item_id", "annotator_id"])
    assert latest_undated.loc[(1, "a"), "label"] == "z"  # no times: the last row wins
    as_text = events.assign(labeled_at=events["labeled_at"].dt.strftime("%Y-%m-%dT%H:%M:%S"))
    pd.testing.assert_frame_equal(agreement.latest_ratings(as_text), latest)


def test_rows_without_a_label_are_no_rating():
    events = pd.DataFrame({"item_id": [1, 1, 1], "annotator_id": ["a", "b", "c"], "label": ["x", "x", None]})
    assert agreement.label_counts(events).to_dict("list") == {"item_id": [1], "label": ["x"], "n": [2]}


# --- counts path, sparsity, invariances --------------------------------------------------------------------


@pytest.mark.parametrize("seed", [12, 13])
def test_counts_path_equals_events_path(seed):
    events = random_events(seed, n_items=300)
    counts = agreement.label_counts(events)
    assert agreement.percent_agreement_from_counts(counts) == agreement.percent_agreement(events)
    assert agreement.fleiss_kappa_from_counts(counts) == agreement.fleiss_kappa(events)
    assert agreement.gwet_ac1_from_counts(counts) == agreement.gwet_ac1(events)
    for level in ("nominal", "ordinal", "interval", "ratio"):
        assert agreement.krippendorff_alpha_from_counts(counts, level=level) == agreement.krippendorff_alpha(
            events, level=level)
    pd.testing.assert_frame_equal(agreement.label_confusion(counts), agreement.label_confusion(events))


def test_shuffling_rows_and_renaming_annotators_and_items_changes_nothing():
    events = random_events(14, n_items=300)
    rng = np.random.default_rng(0)
    shuffled = events.sample(frac=1, random_state=1).reset_index(drop=True)
    names = {a: f"z-{rng.integers(1e9)}" for a in events["annotator_id"].unique()}
    renamed = shuffled.assign(annotator_id=shuffled["annotator_id"].map(names),
                              item_id=shuffled["item_id"].map(lambda i: f"{i[::-1]}#"))
    for f in (agreement.percent_agreement, agreement.fleiss_kappa, agreement.gwet_ac1):
        assert f(renamed) == pytest.approx(f(events), rel=1e-12)
    for level in ("nominal", "ordinal", "interval", "ratio"):
        assert agreement.krippendorff_alpha(renamed, level=level) == pytest.approx(
            agreement.krippendorff_alpha(events, level=level), rel=1e-12)


def test_unsorted_split_counts_and_store_item_keys_are_accepted():
    events = random_events(15, n_items=200)
    counts = agreement.label_counts(events)
    # The same (item, label) split over two rows, rows shuffled, and a zero row: all the same table.
    split = pd.concat([counts.assign(n=counts["n"] - 1), counts.assign(n=1)])
    split = split.sample(frac=1, random_state=2)
    assert agreement.krippendorff_alpha_from_counts(split, level="ordinal") == pytest.approx(
        agreement.krippendorff_alpha_from_counts(counts, level="ordinal"), rel=1e-12)
    keyed = counts.assign(item_key=pd.factorize(counts["item_id"])[0].astype(np.uint64) * 7919).drop(
        columns="item_id")
    assert agreement.fleiss_kappa_from_counts(keyed) == pytest.approx(
        agreement.fleiss_kappa_from_counts(counts), rel=1e-12)


# --- label confusion ---------------------------------------------------------------------------------------


def test_label_confusion_finds_an_injected_confusion():
    # Digits 0–9; annotators confuse 1 and 7 a quarter of the time, other errors are uniform and rare.
    rng = np.random.default_rng(16)
    n_items = 2000
    truth = rng.integers(0, 10, n_items)
    rows = []
    for item, label in enumerate(truth):
        for rater in range(3):
            given = label
            if label in (1, 7) and rng.random() < 0.25:
                given = 8 - label
            elif rng.random() < 0.05:
                given = rng.integers(0, 10)
            rows.append((item, rater, int(given)))
    events = pd.DataFrame(rows, columns=["item_id", "annotator_id", "label"])
    table = agreement.label_confusion(events)
    off_diagonal = table[table["label_a"] != table["label_b"]].sort_values("lift", ascending=False)
    assert set(off_diagonal.iloc[:2][["label_a", "label_b"]].itertuples(index=False)) == {(1, 7), (7, 1)}
    assert off_diagonal.iloc[0]["lift"] > 3 > off_diagonal.iloc[2]["lift"]
    assert table["pairs"].sum() == pytest.approx(len(events))  # every pairable rating counts once


# --- Wilson interval ---------------------------------------------------------------------------------------


def test_wilson_interval_equals_statsmodels_and_vectorises():
    successes, trials = np.array([0, 1, 8, 50, 99, 100]), np.array([10, 10, 10, 100, 100, 100])
    low, high = stats.wilson_interval(successes, trials, confidence=0.9)
    expected_low, expected_high = proportion_confint(successes, trials, alpha=0.1, method="wilson")
    np.testing.assert_allclose(low, expected_low, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(high, expected_high, rtol=1e-12)
    assert stats.wilson_interval(8, 10) == pytest.approx(proportion_confint(8, 10, method="wilson"))
    assert all(np.isnan(stats.wilson_interval(0, 0)))
    with pytest.raises(ValueError):
        stats.wilson_interval(5, 4)


# --- documentation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("module", [agreement, cohen, ratings, reliability])
def test_examples_in_docstrings_run(module):
    assert doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


def test_every_public_name_is_documented_with_notes_or_pointer():
    for name in agreement.__all__:
        obj = getattr(agreement, name)
        if callable(obj):
            assert obj.__doc__ and len(obj.__doc__.strip()) > 20, name


def test_cohens_kappa_on_a_handful_of_shared_items_gives_no_interval_rather_than_certainty():
    """Three shared items, all agreeing: κ = 1 with a large-sample SE of 0, i.e. an interval 1.000–1.000."""
    events = table_to_events([[2, 0], [0, 1]])
    estimate = agreement.cohens_kappa_estimate(events, "a", "b")
    assert estimate.value == 1.0 and estimate.std_error == 0.0
    assert np.isnan(estimate.ci_low) and np.isnan(estimate.ci_high) and estimate.method == "none"
    assert "3 shared items" in estimate.note
    # enough items but every one agreeing: still no zero-width interval
    perfect = agreement.cohens_kappa_estimate(table_to_events([[12, 0], [0, 9]]), "a", "b")
    assert np.isnan(perfect.ci_low) and "agree on all 21 shared items" in perfect.note


def test_label_confusion_of_many_labels_lists_the_occurring_pairs_with_the_full_grids_values(monkeypatch):
    rng = np.random.default_rng(1)
    n_items = 600
    events = pd.DataFrame({"item_id": np.repeat(np.arange(n_items), 3),
                           "annotator_id": np.tile(list("abc"), n_items),
                           "label": rng.integers(0, 300, 3 * n_items).astype(str)})
    sparse_table = agreement.label_confusion(events)
    monkeypatch.setattr(agreement, "FULL_GRID_LABELS", 10_000)
    full = agreement.label_confusion(events)
    assert len(full) == full["label_a"].nunique() ** 2
    occurring = full[full["pairs"] > 0].reset_index(drop=True)
    assert len(sparse_table) == len(occurring) < len(full) / 20
    pd.testing.assert_frame_equal(sparse_table.reset_index(drop=True), occurring)
