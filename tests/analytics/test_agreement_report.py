"""The Agreement page's verdict and grouped estimates."""

import math

import pandas as pd
import pytest

from analytics import agreement_report
from analytics.reliability import AgreementEstimate


def _estimate(value, low, high, metric="krippendorff_alpha"):
    return AgreementEstimate(metric, value, low, high, math.nan, 0.95, "bootstrap", 100, 300)


def _head(overall, current=None, previous=None):
    return agreement_report.Headline(
        overall={"krippendorff_alpha": overall}, current={"krippendorff_alpha": current} if current else {},
        previous={"krippendorff_alpha": previous} if previous else {}, days=30, level="nominal",
    )


def test_verdict_reads_alpha_against_krippendorffs_thresholds_and_names_flags():
    table = pd.DataFrame({"annotator_id": ["s1", "s2", "d"], "flags": [["near chance"], ["near chance"],
                                                                       ["declining"]]})
    cohorts = pd.DataFrame({"cohort": ["unknown", "vendor", "expert"], "loo_agreement": [math.nan, 0.7, 0.9]})
    lines = agreement_report.verdict(
        _head(_estimate(0.85, 0.82, 0.88), _estimate(0.80, 0.78, 0.82), _estimate(0.90, 0.88, 0.92)),
        table, cohorts,
    )
    assert lines[0].endswith("reliable (≥ 0.8).")
    assert lines[1] == ("Over the last 30 days it is down 0.100 against the 30 days before "
                        "(intervals do not overlap).")
    assert "2 annotators label near chance: s1, s2." in lines
    assert "1 annotator is declining: d." in lines
    # a cohort without a rate is left out of the comparison rather than hiding it
    assert lines[-1] == (
        "Least reliable cohort: vendor (70% agreement with the majority, against 90% for expert)."
    )


@pytest.mark.parametrize(("low", "high", "words"), [
    (0.70, 0.75, "tentative at best"), (0.50, 0.60, "not reliable enough"), (0.60, 0.70, "around the 0.667"),
])
def test_verdict_bands(low, high, words):
    empty = pd.DataFrame({"annotator_id": [], "flags": []})
    line = agreement_report.verdict(_head(_estimate((low + high) / 2, low, high)), empty,
                                    pd.DataFrame({"cohort": [], "loo_agreement": []}))[0]
    assert words in line


def test_estimates_frame_per_group():
    counts = pd.DataFrame({"grp": ["a"] * 4 + ["b"] * 4, "item_id": [1, 1, 2, 2, 1, 1, 2, 2],
                           "label": ["x", "y", "x", "y", "x", "y", "x", "y"], "n": [2, 0, 0, 2, 1, 1, 1, 1]})
    counts = counts[counts["n"] > 0]
    frame = agreement_report.estimates_frame(counts, metrics=("percent_agreement",), n_boot=0)
    assert frame.set_index("grp")["value"].to_dict() == {"a": 1.0, "b": 0.0}
