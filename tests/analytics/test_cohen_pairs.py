"""``pairwise_kappa_from_tables``: per-pair contingency tables in, every pair's Cohen's kappa out.

The tables are built here by brute force from events (every pair of latest ratings inside every item, counted
with a ``Counter``), the independent construction the store's SQL must agree with.
"""

import itertools
from collections import Counter

import numpy as np
import pandas as pd
import pytest
import sklearn.metrics

from analytics.agreement import coefficients as agreement
from analytics.agreement import cohen
from analytics.core.ratings import latest_ratings
from tests.analytics.agreement_examples import random_events


def brute_force_tables(events, *, min_overlap=1):
    """``annotator_a, annotator_b, label_a, label_b, n`` of the pairs sharing ≥ min_overlap items."""
    cells = Counter()
    for _, item in latest_ratings(events).groupby("item_id"):
        rated = sorted(zip(item["annotator_id"], item["label"], strict=True))
        for (a, la), (b, lb) in itertools.combinations(rated, 2):
            cells[a, b, la, lb] += 1
    tables = pd.DataFrame([(*key, n) for key, n in cells.items()],
                          columns=["annotator_a", "annotator_b", "label_a", "label_b", "n"])
    shared = tables.groupby(["annotator_a", "annotator_b"])["n"].transform("sum")
    return tables[shared >= min_overlap].reset_index(drop=True)


def test_a_pair_by_hand_equals_scikit_learn():
    # a and b on 5 items: (x, x), (x, x), (y, y), (x, y), (y, x)
    tables = pd.DataFrame({"annotator_a": ["a"] * 4, "annotator_b": ["b"] * 4,
                           "label_a": ["x", "y", "x", "y"], "label_b": ["x", "y", "y", "x"],
                           "n": [2, 1, 1, 1]})
    result = cohen.pairwise_kappa_from_tables(tables)
    expected = sklearn.metrics.cohen_kappa_score(list("xxyxy"), list("xxyyx"))
    assert result[["annotator_a", "annotator_b", "n_items"]].to_numpy().tolist() == [["a", "b", 5]]
    assert result["kappa"].iloc[0] == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(1 / 6)  # p_o = 3/5, p_e = (3·3 + 2·2)/25 = 13/25


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_tables_give_what_pairwise_kappa_gives_on_the_events(seed, weights):
    events = random_events(seed, n_items=600, n_annotators=9, max_ratings=5)
    expected = agreement.pairwise_kappa(events, min_overlap=20, weights=weights)
    result = cohen.pairwise_kappa_from_tables(brute_force_tables(events, min_overlap=20), weights=weights)
    assert len(expected) > 10
    pd.testing.assert_frame_equal(result, expected, check_dtype=False, rtol=1e-12)


def test_row_order_orientation_and_categorical_codes_change_nothing():
    events = random_events(5, n_items=400, n_annotators=6, max_ratings=4)
    tables = brute_force_tables(events)
    expected = cohen.pairwise_kappa_from_tables(tables)
    shuffled = tables.sample(frac=1.0, random_state=1).reset_index(drop=True)
    # Half the rows written the other way round, (b, a) with their labels swapped: the same cells.
    flip = np.arange(len(shuffled)) % 2 == 1
    flipped = shuffled.copy()
    for x, y in (("annotator_a", "annotator_b"), ("label_a", "label_b")):
        flipped.loc[flip, [x, y]] = shuffled.loc[flip, [y, x]].to_numpy()
    # Categoricals whose categories are neither sorted nor all used, as a store could hand them over.
    ids = sorted(set(tables["annotator_a"]) | set(tables["annotator_b"]))[::-1] + ["never-rated"]
    coded = flipped.assign(
        annotator_a=pd.Categorical(flipped["annotator_a"], categories=ids),
        annotator_b=pd.Categorical(flipped["annotator_b"], categories=ids),
        label_a=pd.Categorical(flipped["label_a"], categories=[5, 3, 1, 2, 4, 99]),
        label_b=pd.Categorical(flipped["label_b"], categories=[5, 3, 1, 2, 4, 99]),
    )
    for variant in (shuffled, flipped, coded):
        result = cohen.pairwise_kappa_from_tables(variant)
        pd.testing.assert_frame_equal(result.astype({"annotator_a": object, "annotator_b": object}),
                                      expected.astype({"annotator_a": object, "annotator_b": object}),
                                      rtol=1e-12)
    quadratic = cohen.pairwise_kappa_from_tables(coded, weights="quadratic")
    assert quadratic["kappa"].to_numpy() == pytest.approx(
        cohen.pairwise_kappa_from_tables(tables, weights="quadratic")["kappa"].to_numpy(), rel=1e-12)


def test_a_pair_that_agrees_on_one_label_throughout_gets_nan():
    tables = pd.DataFrame({"annotator_a": ["a", "a"], "annotator_b": ["b", "c"], "label_a": ["x", "x"],
                           "label_b": ["x", "y"], "n": [4, 3]})
    result = cohen.pairwise_kappa_from_tables(tables).set_index("annotator_b")
    assert np.isnan(result.loc["b", "kappa"])  # 0/0, not a perfect score
    assert result.loc["c", "kappa"] == 0.0  # one label each, always different: chance level
    assert result["n_items"].tolist() == [4, 3]


def test_empty_zero_and_missing_rows_are_ignored():
    # a–c has only an empty cell, the last row has no annotator_a: what is left is a–b agreeing 3 times.
    tables = pd.DataFrame({"annotator_a": ["a", "a", "a", None], "annotator_b": ["b", "b", "c", "b"],
                           "label_a": ["x", "y", "x", "x"], "label_b": ["x", "y", "y", "x"],
                           "n": [2, 1, 0, 5]})
    result = cohen.pairwise_kappa_from_tables(tables)
    assert result.to_numpy().tolist() == [["a", "b", 3, 1.0]]
    empty = cohen.pairwise_kappa_from_tables(tables.iloc[:0])
    assert list(empty.columns) == ["annotator_a", "annotator_b", "n_items", "kappa"] and empty.empty


@pytest.mark.parametrize(("change", "message"), [
    (lambda t: t.drop(columns="label_b"), r"lacks column\(s\) \['label_b'\]"),
    (lambda t: t.assign(n=[-1, 2]), "non-negative whole numbers"),
    (lambda t: t.assign(n=[1.5, 2]), "non-negative whole numbers"),
    (lambda t: t.assign(annotator_b=["a", "b"]), "themself"),
])
def test_bad_tables_are_refused_with_a_reason(change, message):
    tables = pd.DataFrame({"annotator_a": ["a", "a"], "annotator_b": ["b", "b"], "label_a": ["x", "y"],
                           "label_b": ["x", "y"], "n": [1, 2]})
    with pytest.raises(ValueError, match=message):
        cohen.pairwise_kappa_from_tables(change(tables))


def test_weighted_kappa_on_words_needs_an_order():
    tables = pd.DataFrame({"annotator_a": ["a"] * 3, "annotator_b": ["b"] * 3,
                           "label_a": ["low", "mid", "high"], "label_b": ["low", "high", "high"],
                           "n": [3, 2, 4]})
    with pytest.raises(ValueError, match="order="):
        cohen.pairwise_kappa_from_tables(tables, weights="linear")
    result = cohen.pairwise_kappa_from_tables(tables, weights="linear", order=["low", "mid", "high"])
    a = ["low"] * 3 + ["mid"] * 2 + ["high"] * 4
    b = ["low"] * 3 + ["high"] * 6
    codes = {"low": 0, "mid": 1, "high": 2}
    assert result["kappa"].iloc[0] == pytest.approx(sklearn.metrics.cohen_kappa_score(
        [codes[x] for x in a], [codes[x] for x in b], weights="linear", labels=[0, 1, 2]), rel=1e-12)


def test_many_pairs_are_computed_together():
    # 300 annotators, every pair sharing 12 items: 44,850 pairs in one call, each equal to its own kappa.
    rng = np.random.default_rng(3)
    a, b = np.triu_indices(300, k=1)
    n_pairs = a.size
    pair = np.repeat(np.arange(n_pairs), 4)
    tables = pd.DataFrame({
        "annotator_a": pd.Categorical.from_codes(a[pair], categories=[f"w{i:03d}" for i in range(300)]),
        "annotator_b": pd.Categorical.from_codes(b[pair], categories=[f"w{i:03d}" for i in range(300)]),
        "label_a": np.tile([0, 0, 1, 1], n_pairs), "label_b": np.tile([0, 1, 0, 1], n_pairs),
        "n": rng.multinomial(12, [0.4, 0.1, 0.1, 0.4], size=n_pairs).ravel(),
    })
    result = cohen.pairwise_kappa_from_tables(tables)
    assert len(result) == n_pairs and (result["n_items"] == 12).all()
    for row in (0, 1234, n_pairs - 1):
        counts = tables["n"].to_numpy()[4 * row: 4 * row + 4]
        x = np.repeat([0, 0, 1, 1], counts)
        y = np.repeat([0, 1, 0, 1], counts)
        expected = sklearn.metrics.cohen_kappa_score(x, y) if len(set(x)) + len(set(y)) > 2 else np.nan
        assert result["kappa"].iloc[row] == pytest.approx(expected, rel=1e-12, nan_ok=True)
