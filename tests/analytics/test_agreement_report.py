"""The Agreement page's verdict and grouped estimates."""

import math

import pandas as pd
import pytest

from analytics.agreement import report as agreement_report
from analytics.agreement.estimates import AgreementEstimate
from analytics.narrative import agreement as agreement_words


def _estimate(value, low, high, metric="krippendorff_alpha"):
    return AgreementEstimate(metric, value, low, high, math.nan, 0.95, "bootstrap", 100, 300)


def _cohorts(names, rates, lows, highs, items):
    return pd.DataFrame({"cohort": names, "loo_agreement": rates, "loo_low": lows, "loo_high": highs,
                         "loo_items": items})


def _head(overall, current=None, previous=None):
    return agreement_report.Headline(
        overall={"krippendorff_alpha": overall}, current={"krippendorff_alpha": current} if current else {},
        previous={"krippendorff_alpha": previous} if previous else {}, days=30, level="nominal",
    )


def test_verdict_reads_alpha_against_krippendorffs_thresholds_and_names_flags():
    table = pd.DataFrame({"annotator_id": ["s1", "s2", "d"], "flags": [["near chance"], ["near chance"],
                                                                       ["declining"]]})
    cohorts = _cohorts(["unknown", "vendor", "expert"], [math.nan, 0.7, 0.9], [0.0, 0.65, 0.87],
                       [1.0, 0.75, 0.93], [0, 300, 400])
    lines = agreement_words.verdict(
        _head(_estimate(0.85, 0.82, 0.88), _estimate(0.80, 0.78, 0.82), _estimate(0.90, 0.88, 0.92)),
        table, cohorts,
    )
    assert lines[0].endswith("reliable (≥ 0.8).")
    assert lines[1] == ("Over the last 30 days it is down 0.100 against the 30 days before "
                        "(intervals do not overlap).")
    assert "2 annotators label near chance: s1, s2." in lines
    assert "1 annotator is declining: d." in lines
    # a cohort without a rate is left out of the comparison rather than hiding it
    assert lines[-1] == ("Least reliable cohort: vendor (70% agreement with the majority, 95% CI 65%–75%), "
                         "against 90% (87%–93%) for expert.")


def test_a_change_that_rounds_to_zero_names_no_direction():
    empty = pd.DataFrame({"annotator_id": [], "flags": []})
    lines = agreement_words.verdict(
        _head(_estimate(0.85, 0.82, 0.88), _estimate(0.8000, 0.78, 0.82), _estimate(0.8004, 0.78, 0.82)),
        empty, _cohorts([], [], [], [], []),
    )
    assert lines[1] == ("Over the last 30 days it is unchanged to three decimals against the 30 days before, "
                        "within noise (intervals overlap).")


@pytest.mark.parametrize(("low", "high", "words"), [
    (0.70, 0.75, "tentative at best"), (0.50, 0.60, "not reliable enough"), (0.60, 0.70, "around the 0.667"),
])
def test_verdict_bands(low, high, words):
    empty = pd.DataFrame({"annotator_id": [], "flags": []})
    line = agreement_words.verdict(_head(_estimate((low + high) / 2, low, high)), empty,
                                   _cohorts([], [], [], [], []))[0]
    assert words in line


def test_estimates_frame_per_group():
    counts = pd.DataFrame({"grp": ["a"] * 4 + ["b"] * 4, "item_id": [1, 1, 2, 2, 1, 1, 2, 2],
                           "label": ["x", "y", "x", "y", "x", "y", "x", "y"], "n": [2, 0, 0, 2, 1, 1, 1, 1]})
    counts = counts[counts["n"] > 0]
    frame = agreement_report.estimates_frame(counts, metrics=("percent_agreement",), n_boot=0)
    assert frame.set_index("grp")["value"].to_dict() == {"a": 1.0, "b": 0.0}


def test_a_cohort_of_four_rows_neither_wins_nor_decides_the_verdict():
    """After importing 4 rows from 2 new 'inhouse' annotators, the verdict said "Least reliable cohort:
    vendor (72% … against 100% for inhouse)" though inhouse's interval is 51–100% (Wilson, 4 of 4)."""
    table = pd.DataFrame({"annotator_id": [], "flags": []})
    cohorts = _cohorts(["vendor", "crowd", "expert", "inhouse"], [0.717, 0.786, 0.925, 1.0],
                       [0.685, 0.774, 0.897, 0.510], [0.747, 0.797, 0.946, 1.0], [962, 5688, 500, 4])
    lines = agreement_words.verdict(_head(_estimate(0.61, 0.59, 0.63)), table, cohorts)
    assert "Least reliable cohort: vendor (72% agreement with the majority, 95% CI 68%–75%), against 92% " \
           "(90%–95%) for expert." in lines
    assert lines[-1] == "Too few rated items to compare (fewer than 20 with a majority): inhouse (4)."
    assert not any("100%" in line for line in lines)


def test_cohorts_whose_intervals_overlap_are_not_ranked():
    cohorts = _cohorts(["a", "b"], [0.70, 0.76], [0.60, 0.66], [0.79, 0.84], [80, 90])
    lines = agreement_words.verdict(_head(_estimate(0.61, 0.59, 0.63)),
                                    pd.DataFrame({"annotator_id": [], "flags": []}), cohorts)
    assert lines[-1] == ("No cohort agrees with the majority clearly less than another "
                         "(95% intervals overlap).")


def test_an_alpha_without_interval_says_why():
    alpha = AgreementEstimate("krippendorff_alpha", 1.0, math.nan, math.nan, math.nan, 0.95, "none", 12, 30,
                              n_pairable=12, note="All 12 items rated twice or more are unanimous.")
    line = agreement_words.verdict(_head(alpha), pd.DataFrame({"annotator_id": [], "flags": []}),
                                   _cohorts([], [], [], [], []))[0]
    assert "without an interval" in line and "unanimous" in line


def test_the_pairs_heatmap_shows_flagged_annotators_first_however_few_their_items():
    table = pd.DataFrame({"annotator_id": ["spam", "busy", "mid", "small"], "items": [40, 900, 500, 60],
                          "flags": [["near chance"], [], [], []]})
    assert agreement_report.heatmap_annotators(table, 2) == ["spam", "busy"]
    assert agreement_report.heatmap_annotators(table, 3) == ["spam", "busy", "mid"]


def test_disagreements_are_the_ratings_that_differ_from_the_consensus_most_confident_first():
    from analytics.consensus import DawidSkene

    events = pd.DataFrame({"item_id": [1, 1, 1, 2, 2, 2, 3, 3, 3], "annotator_id": list("abcabcabc"),
                           "label": ["x", "x", "y", "y", "y", "y", "x", "x", "x"]})
    model = DawidSkene().fit(events)
    rows = pd.DataFrame({"item_id": [1, 2, 3], "label": ["y", "y", "y"], "raters": [3, 3, 3],
                         "agreeing": [0, 2, 0], "labeled_at": pd.to_datetime(["2026-01-01"] * 3)})
    found = agreement_report.disagreements(rows, model)
    assert found["item_id"].tolist() == [3, 1] and set(found["consensus"]) == {"x"}  # unanimous item first
    assert found["consensus_prob"].is_monotonic_decreasing
    empty = agreement_report.disagreements(rows, None)
    assert empty["consensus"].isna().all() and len(empty) == 3
