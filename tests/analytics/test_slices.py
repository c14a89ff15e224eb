"""Slice-level noise on hand-made slice cubes: intervals, tests and q-values against statsmodels and scipy,
the size guard, the discovery search's pruning, the heatmap, and worlds with no slice effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from analytics.monitoring import slices
from analytics.monitoring.slice_classes import slice_class_heatmap


def _cube(keys, rows, *, metric_columns=("rated_items", "disputed")) -> pd.DataFrame:
    """A slice cube from rows ``(*values, n, errors)``: every item rated three times."""
    n_column, x_column = metric_columns
    frame = pd.DataFrame([list(row) for row in rows], columns=[*keys, n_column, x_column])
    frame["items"] = frame[n_column]
    frame["ratings"] = 3 * frame[n_column]
    return frame.set_index(list(keys))


SOURCES = _cube(["source"], [("fax", 100, 30), ("mobile", 150, 12), ("scanner", 400, 40), ("tiny", 5, 1)])


def test_rates_and_intervals_match_statsmodels_wilson():
    table = slices.slice_noise_table(SOURCES, min_items=1).set_index("slice")
    for value, n, x in [("fax", 100, 30), ("mobile", 150, 12), ("scanner", 400, 40), ("tiny", 5, 1)]:
        row = table.loc[f"source = {value}"]
        low, high = proportion_confint(x, n, alpha=0.05, method="wilson")
        assert (row["n"], row["errors"], row["noise_rate"]) == (n, x, pytest.approx(x / n))
        assert (row["ci_low"], row["ci_high"]) == (pytest.approx(low), pytest.approx(high))
        assert row["rest_rate"] == pytest.approx((83 - x) / (655 - n))
        assert row["excess"] == pytest.approx(x - n * 83 / 655)
        assert row["mean_ratings"] == 3.0
    ninety = slices.slice_noise_table(SOURCES, min_items=1, confidence=0.9).set_index("slice")
    low, high = proportion_confint(30, 100, alpha=0.1, method="wilson")
    bounds = ninety.loc["source = fax", ["ci_low", "ci_high"]].tolist()
    assert bounds == [pytest.approx(low), pytest.approx(high)]


def test_p_values_are_scipys_one_sided_fisher_exact():
    table = slices.slice_noise_table(SOURCES, min_items=1)
    for row in table.itertuples():
        rest_x = 83 - row.errors
        expected = stats.fisher_exact([[row.errors, row.n - row.errors], [rest_x, row.rest_n - rest_x]],
                                      alternative="greater").pvalue
        assert row.p_value == pytest.approx(expected, rel=1e-9)


def test_fisher_reproduces_the_tea_tasting_example():
    # Agresti (2013), Categorical Data Analysis, §3.5.2, Table 3.8: 3 of the 4 milk-first cups guessed
    # right, 1 of the 4 tea-first ones called milk-first; one-sided P = 17/70 = 0.243.
    cups = _cube(["poured"], [("milk first", 4, 3), ("tea first", 4, 1)])
    table = slices.slice_noise_table(cups, min_items=1).set_index("slice")
    assert table.loc["poured = milk first", "p_value"] == pytest.approx(17 / 70)


def test_q_values_are_benjamini_hochberg_over_the_tested_slices_only():
    table = slices.slice_noise_table(SOURCES, min_items=30, alpha=0.05)
    tested = table[table["status"] == "tested"]
    assert sorted(tested["slice"]) == ["source = fax", "source = mobile", "source = scanner"]
    reject, q, _, _ = multipletests(tested["p_value"], alpha=0.05, method="fdr_bh")
    assert tested["q_value"].tolist() == pytest.approx(q.tolist())
    assert tested["significant"].tolist() == reject.tolist()
    tiny = table.iloc[-1]
    assert tiny["slice"] == "source = tiny" and tiny["status"] == "too small"
    assert np.isnan(tiny["p_value"]) and np.isnan(tiny["q_value"]) and not tiny["significant"]
    assert tiny["ci_low"] < tiny["noise_rate"] < tiny["ci_high"]  # still described, only not tested


def test_the_table_is_noisiest_first_and_names_its_columns():
    table = slices.slice_noise_table(SOURCES, min_items=30)
    assert list(table.columns) == list(slices.TABLE_COLUMNS)
    assert table["slice"].tolist() == ["source = fax", "source = scanner", "source = mobile", "source = tiny"]
    assert table.loc[0, "significant"] and table.loc[0, "ratio"] == pytest.approx(0.3 / (53 / 555))
    assert table[["attribute", "value", "depth"]].iloc[0].tolist() == ["source", "fax", 1]


def test_a_slice_that_is_nearly_everything_has_no_rest_to_test_against():
    split = _cube(["split"], [("train", 495, 100), ("eval", 5, 1)])
    table = slices.slice_noise_table(split, min_items=10).set_index("slice")
    assert table["status"].to_dict() == {"split = train": "rest too small", "split = eval": "too small"}
    assert table["q_value"].isna().all()


CROSSED = _cube(["region", "source"], [
    ("north", "fax", 50, 32), ("south", "fax", 50, 28), ("north", "scanner", 200, 42),
    ("south", "scanner", 200, 38), (None, "scanner", 40, 4),
])


def test_pairs_sum_the_cells_and_join_the_same_family():
    table = slices.slice_noise_table(CROSSED, pairs=True, min_items=30).set_index("slice")
    assert table.loc["region = north & source = fax", ["n", "errors", "depth"]].tolist() == [50, 32, 2]
    assert table.loc["region = north & source = fax", "attribute"] == "region & source"
    assert table.loc["region = north & source = fax", "value"] == "north & fax"
    # the item without a region is in no region slice, but in every region slice's rest
    assert table.loc["region = north", ["n", "rest_n"]].tolist() == [250, 290]
    assert table.loc["source = scanner", ["n", "errors"]].tolist() == [440, 84]
    tested = table[table["status"] == "tested"]
    assert len(tested) == 4 + 4
    q = multipletests(tested["p_value"], method="fdr_bh")[1]
    assert tested["q_value"].tolist() == pytest.approx(q.tolist())


@pytest.mark.parametrize("metric, columns", [("gold_error", ("gold_items", "gold_errors")),
                                             ("suspect", ("scored", "flagged"))])
def test_each_metric_reads_its_own_columns(metric, columns):
    cube = _cube(["source"], [("fax", 40, 20), ("scanner", 160, 16)], metric_columns=columns)
    table = slices.slice_noise_table(cube, metric=metric, min_items=10)
    assert table[["slice", "n", "errors"]].iloc[0].tolist() == ["source = fax", 40, 20]


@pytest.mark.parametrize("options, message", [
    ({"metric": "accuracy"}, "unknown metric 'accuracy'; use one of disagreement, gold_error, suspect"),
    ({"metric": "gold_error"}, "lacks the column"),
    ({"min_items": 0}, "min_items"),
    ({"alpha": 1.0}, "alpha"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        slices.slice_noise_table(SOURCES, **options)


def test_more_errors_than_items_is_refused():
    with pytest.raises(ValueError, match="between 0 and rated_items"):
        slices.slice_noise_table(_cube(["source"], [("fax", 3, 4)]))


# --- discovery --------------------------------------------------------------------------------------------


def _three_attributes() -> pd.DataFrame:
    """Eight cells over A, B, C: (a2, b2) holds only 20 items; a1 & b1 is half noisy, the rest 10 %."""
    cells = {("a1", "b1", "c1"): (100, 50), ("a1", "b1", "c2"): (100, 50), ("a1", "b2", "c1"): (100, 10),
             ("a1", "b2", "c2"): (100, 10), ("a2", "b1", "c1"): (100, 10), ("a2", "b1", "c2"): (100, 10),
             ("a2", "b2", "c1"): (10, 1), ("a2", "b2", "c2"): (10, 1)}
    return _cube(["A", "B", "C"], [(*cell, n, x) for cell, (n, x) in cells.items()])


def test_discovery_tries_every_combination_large_enough_and_nothing_below_a_small_one():
    result = slices.discover_slices(_three_attributes(), max_depth=3, min_items=30)
    tested = set(result.tested["slice"])
    # 6 singles; 11 of the 12 pairs (a2 & b2 has 20 items); the 6 triples whose pairs all have 30 or more
    assert len(tested) == 6 + 11 + 6 and result.candidates == 6 + 12 + 6
    assert "A = a2 & B = b2" not in tested
    assert not any(name.startswith("A = a2 & B = b2") for name in tested)
    assert "A = a2 & B = b1 & C = c1" in tested
    assert len(slices.discover_slices(_three_attributes(), max_depth=2, min_items=30).tested) == 17
    assert len(slices.discover_slices(_three_attributes(), max_depth=1, min_items=30).tested) == 6


def test_discovery_tests_every_candidate_in_one_family_and_reports_survivors_by_excess():
    result = slices.discover_slices(_three_attributes(), max_depth=3, min_items=30, drop_explained=False)
    reject, q, _, _ = multipletests(result.tested["p_value"], alpha=0.05, method="fdr_bh")
    assert result.tested["q_value"].tolist() == pytest.approx(q.tolist())
    assert set(result.found["slice"]) == set(result.tested.loc[reject, "slice"])
    assert result.found["excess"].is_monotonic_decreasing
    # a1 & b1: 100 noisy of 200 where the overall rate is 142/620; its two halves by C only inherit it
    assert result.found["slice"].iloc[0] == "A = a1 & B = b1"
    explained = result.found.set_index("slice")["explained_by"]
    assert explained["A = a1 & B = b1 & C = c1"] == "A = a1 & B = b1"
    assert explained["A = a1 & C = c1"] == "A = a1"
    kept = slices.discover_slices(_three_attributes(), max_depth=3, min_items=30).found
    assert kept["slice"].tolist() == ["A = a1 & B = b1", "A = a1", "B = b1"]
    assert kept["explained_by"].isna().all()


def test_support_pruning_stops_at_small_slices():
    cube = _cube(["A", "B"], [("a1", "b1", 20, 5), ("a1", "b2", 200, 80), ("a2", "b2", 100, 20),
                              ("a2", None, 300, 15)])
    result = slices.discover_slices(cube, min_items=30)
    # b1 is too small: looked at, neither tested nor extended
    assert set(result.tested["slice"]) == {"A = a1", "A = a2", "B = b2", "A = a1 & B = b2", "A = a2 & B = b2"}
    assert result.candidates == 6


def test_a_refinement_that_only_inherits_its_parents_noise_is_explained():
    kept = slices.discover_slices(CROSSED, min_items=30, drop_explained=False).found
    assert kept["slice"].tolist() == ["source = fax", "region = north & source = fax",
                                      "region = south & source = fax"]
    assert kept["explained_by"].tolist() == [None, "source = fax", "source = fax"]
    assert slices.discover_slices(CROSSED, min_items=30).found["slice"].tolist() == ["source = fax"]


# --- heatmap ----------------------------------------------------------------------------------------------


def test_the_heatmap_rates_each_slice_and_class_against_the_class():
    cube = _cube(["source"], [("fax", 20, 10), ("fax", 20, 4), ("scanner", 40, 8), (None, 5, 1),
                              ("fax", 4, 2)])
    cube["label"] = ["1", "7", "1", "1", "3"]
    heat = slice_class_heatmap(cube, min_items=10)
    assert list(heat.columns) == ["attribute", "value", "label", "n", "errors", "noise_rate", "ci_low",
                                  "ci_high", "class_rate", "ratio"]
    rows = heat.set_index(["value", "label"])
    assert rows.loc[("fax", "1"), ["n", "errors", "noise_rate"]].tolist() == [20, 10, 0.5]
    assert rows.loc[("fax", "1"), "class_rate"] == pytest.approx(19 / 65)  # all class-1 items, with None
    assert rows.loc[("fax", "1"), "ratio"] == pytest.approx(0.5 / (19 / 65))
    low, high = proportion_confint(10, 20, method="wilson")
    assert rows.loc[("fax", "1"), ["ci_low", "ci_high"]].tolist() == [pytest.approx(low), pytest.approx(high)]
    assert np.isnan(rows.loc[("fax", "3"), "noise_rate"])  # 4 items: counted, not coloured
    with pytest.raises(ValueError, match="unknown attributes"):
        slice_class_heatmap(cube, attributes=["region"])


def test_pooled_classes_form_one_class_of_the_heatmap():
    cube = _cube(["source"], [("fax", 20, 10), ("fax", 30, 6), ("scanner", 40, 8), ("scanner", 10, 5)])
    cube["label"] = ["1", None, "1", None]  # None: the classes slice_cube pooled
    heat = slice_class_heatmap(cube, min_items=10)
    assert heat["label"].isna().tolist() == [False, True, False, True]  # pooled last within each slice
    pooled = heat[heat["label"].isna()].set_index("value")
    assert pooled.loc["fax", ["n", "errors"]].tolist() == [30, 6]
    assert pooled.loc["fax", "class_rate"] == pytest.approx(11 / 40)  # over the pooled items only
    assert heat.set_index("value").loc["fax"].iloc[0]["class_rate"] == pytest.approx(18 / 60)


def test_a_slice_filter_leaves_the_other_attributes_to_compare():
    # what a filter on source = fax leaves: only fax items, split by region
    fax = _cube(["source", "region"], [("fax", "north", 40, 30), ("fax", "south", 50, 20),
                                       ("fax", None, 35, 10)])
    within = slices.without_attribute(fax, "source")
    assert list(within.index.names) == ["region"]
    table = slices.slice_noise_table(within)
    assert table["slice"].tolist() == ["region = north", "region = south"]
    assert table["rest_n"].tolist() == [85, 75] and table["status"].eq(slices.TESTED).all()
    # with the attribute kept, its one slice is everything: nothing left to compare it with
    assert slices.slice_noise_table(fax).set_index("slice").loc["source = fax", "status"] == (
        slices.REST_TOO_SMALL)
    assert slices.without_attribute(within, "source") is within
    only = slices.without_attribute(within, "region")
    assert list(only.index.names) == [None] and slices.slice_noise_table(only).empty


# --- worlds without (or with one) slice effect ------------------------------------------------------------

ATTRIBUTES = {"source": (["fax", "mobile", "scanner"], [0.2, 0.3, 0.5]),
              "region": (["east", "north", "south", "west"], [0.25] * 4),
              "shift": (["day", "night"], [0.6, 0.4])}


def _world(rng, *, n_items=3000, rate=0.2, fax_multiplier=1.0) -> pd.DataFrame:
    """A cube of independent items whose attributes are drawn independently of each other."""
    values = {key: rng.choice(len(names), size=n_items, p=p) for key, (names, p) in ATTRIBUTES.items()}
    p_noisy = rate * np.where(values["source"] == 0, fax_multiplier, 1.0)
    items = pd.DataFrame({key: np.asarray(ATTRIBUTES[key][0])[codes] for key, codes in values.items()})
    items["rated_items"] = 1
    items["disputed"] = (rng.random(n_items) < p_noisy).astype(int)
    cube = items.groupby(list(ATTRIBUTES)).sum()
    return cube.assign(items=cube["rated_items"], ratings=3 * cube["rated_items"])


@pytest.mark.slow
def test_with_no_slice_effect_any_discovery_is_as_rare_as_alpha():
    rng = np.random.default_rng(20260501)
    seeds, table_any, search_any = 120, 0, 0
    for _ in range(seeds):
        cube = _world(rng)
        table_any += slices.slice_noise_table(cube, pairs=True)["significant"].any()
        search_any += slices.discover_slices(cube).tested["significant"].any()
    # Under the complete null every discovery is false, so BH bounds P(any discovery) by alpha = 0.05 (it
    # is the FDR there). Were it exactly 0.05, more than this many of 120 worlds would flag with
    # probability < 0.01. (Pruning by noise rate as well failed this: 23 of 200.)
    limit = stats.binom.ppf(0.99, seeds, 0.05)
    assert table_any <= limit and search_any <= limit, (table_any, search_any, limit)


@pytest.mark.slow
def test_with_one_noisy_slice_the_false_discovery_proportion_stays_below_alpha():
    rng = np.random.default_rng(7)
    seeds, proportions, found_fax = 60, {"table": [], "search": []}, 0
    for _ in range(seeds):
        cube = _world(rng, fax_multiplier=1.6)
        table = slices.slice_noise_table(cube, pairs=True)
        search = slices.discover_slices(cube).tested
        for name, frame in (("table", table), ("search", search)):
            hits = frame.loc[frame["significant"], "slice"]
            false = ~hits.str.contains("source = fax")
            proportions[name].append(false.mean() if len(hits) else 0.0)
        found_fax += "source = fax" in set(table.loc[table["significant"], "slice"])
    assert found_fax >= 0.8 * seeds  # the effect is found, so the FDR is not met by finding nothing
    for name, values in proportions.items():
        assert np.mean(values) <= 0.05 + 3 * np.std(values) / np.sqrt(seeds), name


def test_examples_in_docstrings_run():
    import doctest

    assert doctest.testmod(slices, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0
