"""What a stored run says about the items in view: counts summed by status and cluster, precision and recall
on gold with Wilson intervals (checked against statsmodels), and the sentences the page shows."""

from __future__ import annotations

import doctest

import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from analytics import detection
from analytics.core.schema import EventFilter
from analytics.detection import suspects


def test_examples_in_docstrings_run():
    assert doctest.testmod(suspects, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


@pytest.mark.parametrize(("k", "n"), [(20, 21), (13, 13), (1, 1), (0, 4), (48, 53)])
def test_proportions_carry_the_wilson_interval_of_statsmodels(k, n):
    found = suspects.proportion(k, n)
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert (found.k, found.n) == (k, n) and found.value == pytest.approx(k / n)
    assert (found.low, found.high) == (pytest.approx(low), pytest.approx(high))


def _counts() -> pd.DataFrame:
    # two clusters of flagged items, no-consensus items and items whose label holds, with gold on some
    rows = [
        ("mislabeled", "7→1 #1", 14, 23.8, 0.8, 4.5, 6, 5, 5),
        ("mislabeled", "4→9 #1", 9, 28.0, 1.3, 4.3, 3, 3, 3),
        ("mislabeled", None, 2, 3.0, 1.0, 2.0, 0, 0, 0),
        ("no_consensus", None, 237, 1251.7, 0.8, 8.8, 57, 0, 56),
        ("ok", None, 1507, -9000.0, -12.9, -0.3, 400, 7, 1),
    ]
    return pd.DataFrame(rows, columns=["status", "cluster_id", "items", "score_sum", "score_min", "score_max",
                                       "gold_items", "gold_given_wrong", "gold_suggested_right"])


def test_the_run_view_sums_statuses_clusters_and_gold_by_hand():
    view = suspects.run_view(_counts())
    assert view.items == 1769
    assert view.by_status == {"mislabeled": 25, "no_consensus": 237, "ok": 1507}
    assert view.clusters["cluster_id"].tolist() == ["7→1 #1", "4→9 #1"]  # largest first
    assert view.clusters["mean_score"].tolist() == pytest.approx([1.7, 28.0 / 9])
    # precision: flagged gold items whose given label is wrong, 8 of 9; recall: of the 15 gold items
    # with a consensus and a wrong given label (8 flagged + 7 holding), 8; adjudication 56 of 57
    assert (view.precision.k, view.precision.n) == (8, 9)
    assert (view.recall.k, view.recall.n) == (8, 15)
    assert (view.adjudication.k, view.adjudication.n) == (56, 57)
    assert view.score_range["ok"] == (-12.9, -0.3)
    assert view.count(None) == 1769 and view.count("no_consensus") == 237
    assert view.count("mislabeled", "4→9 #1") == 9 and view.count(None, "4→9 #1") == 9
    assert view.count("no_consensus", "4→9 #1") == 0


def test_the_verdict_says_what_is_in_view_and_how_often_a_flag_is_right():
    view = suspects.run_view(_counts())
    clusters = pd.DataFrame({"cluster_id": ["7→1 #1", "4→9 #1"], "pattern": ["7→1", "4→9"],
                             "context": ["source = fax", None], "dominant_guideline_version": ["v1", None]})
    params = {"score": "log10 odds", "model": None, "signal_skill": {}}
    scope = suspects.filter_words(EventFilter(attribute="source", attribute_value="fax"))
    lines = suspects.verdict(view, params, clusters, run_items=1797, scope=scope)
    assert lines[0].startswith("1,769 of the run's 1,797 items are in view (source = fax)")
    assert lines[1].startswith("25 of 1,769 items (1.4%) look mislabeled")
    assert lines[2].startswith("237 items (13.4%) have no consensus and need adjudication: an item has a "
                               "consensus when one label holds a strict majority")
    assert lines[3] == ("Precision on gold items: 8 of 9 (89%; 95% CI 57%–98%) of the flagged items with a "
                        "gold label are indeed mislabeled (Wilson interval).")
    assert lines[4].startswith("Recall on gold items: the run flags 8 of 15 (53%;")
    assert "The largest pattern is 7→1 (given → suggested): 14 items in 1 cluster; its largest cluster is " \
           "mostly source = fax, v1." in lines
    # without a filter there is no scope line; a run stored before log-odds says so
    plain = suspects.verdict(view, {}, clusters, run_items=1769)
    assert plain[0].startswith("This run was stored by an earlier version")
    assert plain[1].startswith("25 of 1,769 items")


def test_without_gold_the_verdict_says_precision_cannot_be_measured():
    counts = _counts().assign(gold_items=0, gold_given_wrong=0, gold_suggested_right=0)
    view = suspects.run_view(counts)
    lines = suspects.verdict(view, {"score": "log10 odds"}, pd.DataFrame(), run_items=1769)
    assert "No item in view has a gold label, so how often a flag is right cannot be measured here." in lines


def test_a_cluster_in_view_says_which_numbers_are_the_whole_runs():
    row = pd.Series({"size": 14, "pattern": "7→1", "mean_score": 1.75, "context": "region = south",
                     "slice_share": 0.013, "top_annotators": "ann-009 (3)"})
    assert suspects.cluster_sentence(row) == ("14 items in pattern 7→1, mean score 1.8; mostly region = "
                                              "south (1.3% of that slice); given by ann-009 (3).")
    assert suspects.cluster_sentence(row, items=6).startswith(
        "6 of its 14 items in view in pattern 7→1, mean score 1.8; across the whole run: mostly region")


def test_table_rows_show_the_columns_that_say_something_for_the_status():
    page = pd.DataFrame({"rank": [1, 1], "item_id": ["a", "b"],
                         "status": [detection.MISLABELED, detection.HOLDS],
                         "score": [2.0, -3.0], "given_label": ["7", "1"], "suggested_label": ["1", "7"],
                         "agreeing": [3, 0], "available": [3, 2], "cluster_id": ["7→1 #1", None],
                         "explanation": ["…", "…"]})
    every = suspects.table_rows(page, None)
    assert every["status"].tolist() == ["Likely mislabeled", "Label holds"]
    assert every["signals"].tolist() == ["3 of 3", "0 of 2"]
    assert "status" not in suspects.table_rows(page, detection.MISLABELED).columns
