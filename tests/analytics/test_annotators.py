"""Annotator reliability: rates and intervals by hand, tests against statsmodels, and the demo's injected
annotators recovered."""

import json

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint, proportions_ztest

from analytics.monitoring import annotators
from analytics.store import Store
from analytics.store import agreement as queries
from analytics.store import overview as overview_queries


def _stats(rows):
    columns = ["annotator_id", "cohort", "loo_items", "loo_agree", "gold_n", "gold_correct", "retest_n",
               "retest_same"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.assign(events=frame["loo_items"], items=frame["loo_items"], shared_items=frame["loo_items"],
                        agree_pairs=frame["loo_agree"], other_pairs=frame["loo_items"], first_at=None,
                        last_at=None)


def test_rates_and_wilson_intervals_match_statsmodels():
    table = annotators.annotator_table(_stats([
        ("a", "crowd", 50, 40, 10, 9, 4, 3), ("b", "crowd", 50, 20, 0, 0, 0, 0),
    ])).set_index("annotator_id")
    assert table.loc["a", "loo_agreement"] == pytest.approx(0.8)
    low, high = proportion_confint(40, 50, method="wilson")
    assert table.loc["a", ["loo_low", "loo_high"]].tolist() == pytest.approx([low, high])
    low, high = proportion_confint(9, 10, method="wilson")
    assert table.loc["a", ["gold_low", "gold_high"]].tolist() == pytest.approx([low, high])
    assert table.loc["a", "retest_consistency"] == pytest.approx(0.75)
    assert np.isnan(table.loc["b", "gold_accuracy"]) and np.isnan(table.loc["b", "retest_consistency"])
    # least reliable first
    assert table.index.tolist() == ["b", "a"]


def test_below_peers_is_a_one_sided_z_test_with_benjamini_hochberg():
    rows = [("a", "crowd", 100, 60, 0, 0, 0, 0), ("b", "crowd", 100, 80, 0, 0, 0, 0),
            ("c", "crowd", 100, 85, 0, 0, 0, 0), ("d", "crowd", 10, 1, 0, 0, 0, 0)]
    table = annotators.annotator_table(_stats(rows), min_items=20).set_index("annotator_id")
    p = []
    for n, x in [(100, 60), (100, 80), (100, 85)]:
        rest_x, rest_n = 60 + 80 + 85 + 1 - x, 310 - n
        p.append(proportions_ztest([x, rest_x], [n, rest_n], alternative="smaller")[1])
    expected = multipletests(p, method="fdr_bh")[1]
    assert table.loc[["a", "b", "c"], "below_peers_q"].tolist() == pytest.approx(expected.tolist())
    assert np.isnan(table.loc["d", "below_peers_q"])  # too few items to test
    assert "below peers" in table.loc["a", "flags"] and "below peers" not in table.loc["c", "flags"]


def test_declining_compares_the_two_halves():
    rows = [("a", "crowd", 100, 70, 0, 0, 0, 0), ("b", "crowd", 100, 80, 0, 0, 0, 0)]
    halves = pd.DataFrame({
        "annotator_id": ["a", "a", "b", "b"], "grp": [0, 1, 0, 1],
        "loo_items": [50, 50, 50, 50], "loo_agree": [45, 25, 40, 40],
    })
    table = annotators.annotator_table(_stats(rows), halves=halves).set_index("annotator_id")
    assert table.loc["a", "change"] == pytest.approx(0.5 - 0.9)
    p = proportions_ztest([25, 45], [50, 50], alternative="smaller")[1]
    p_b = proportions_ztest([40, 40], [50, 50], alternative="smaller")[1]
    assert table.loc["a", "change_q"] == pytest.approx(multipletests([p, p_b], method="fdr_bh")[1][0])
    assert table.loc["a", "flags"] == ["declining"] and table.loc["b", "flags"] == []


def test_near_chance_uses_the_label_shares():
    rows = [("spam", "crowd", 60, 6, 0, 0, 0, 0), ("ok", "crowd", 600, 480, 0, 0, 0, 0)]
    shares = pd.Series([0.5, 0.5])  # chance 0.5; pooled ≈ 0.74 → threshold ≈ 0.62
    table = annotators.annotator_table(_stats(rows), label_shares=shares).set_index("annotator_id")
    assert "near chance" in table.loc["spam", "flags"] and "near chance" not in table.loc["ok", "flags"]


def test_empty_stats_give_an_empty_table():
    empty = annotators.annotator_table(_stats([]))
    assert empty.empty and list(empty.columns) == list(annotators.COLUMNS)


def test_demo_spammers_decaying_annotator_and_vendor_cohort_are_found(demo_store_path):
    with Store(demo_store_path, read_only=True) as store:
        stats = queries.annotator_stats(store)
        halves = queries.annotator_stats(store, by="half")
        shares = overview_queries.label_distribution(store).set_index("label")["share"]
        meta = dict(store.query("SELECT key, value FROM store_meta").itertuples(index=False, name=None))
    table = annotators.annotator_table(stats, halves=halves, label_shares=shares).set_index("annotator_id")
    spammers = set(json.loads(meta["spammers"]))
    near_chance = {name for name, flags in table["flags"].items() if "near chance" in flags}
    assert near_chance == spammers
    declining = {name for name, flags in table["flags"].items() if "declining" in flags}
    assert declining == {meta["decaying_annotator"]}
    cohorts = annotators.cohort_table(stats)
    assert cohorts["cohort"].iloc[0] == "vendor"  # least reliable cohort
    expert = cohorts.set_index("cohort").loc["expert"]
    vendor = cohorts.set_index("cohort").loc["vendor"]
    assert vendor["loo_high"] < expert["loo_low"] and vendor["gold_high"] < expert["gold_low"]
