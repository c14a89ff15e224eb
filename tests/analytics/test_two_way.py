"""The crossed (items × annotators) bootstrap: its weighted coefficients reduce to the ordinary ones,
copies of one annotator never pair, and its intervals are the wider ones when annotators are few."""

import numpy as np
import pandas as pd
import pytest

from analytics.agreement import coefficients as agreement
from analytics.agreement import estimates as reliability
from analytics.agreement import two_way
from analytics.core.ratings import label_patterns
from tests.analytics.agreement_examples import random_events

CASES = [("percent_agreement", "nominal"), ("fleiss_kappa", "nominal"), ("gwet_ac1", "nominal"),
         ("krippendorff_alpha", "nominal"), ("krippendorff_alpha", "ordinal"),
         ("krippendorff_alpha", "interval"), ("krippendorff_alpha", "ratio")]


def _weighted(events, metric, level, item_weights, annotator_weights):
    """The coefficient of ``events`` with the given item and annotator multiplicities (one replicate)."""
    ratings = agreement.latest_ratings(events)
    counts = agreement.label_counts(events)
    pt = label_patterns(counts, level=level)
    x = two_way._crossed(ratings, pt.labels, with_pairs=level in ("ordinal", "ratio"))
    statistic = reliability._STATISTICS[metric](pt, level=level)
    delta = reliability.alpha_delta(pt, level) if level != "ordinal" else None
    items, annotators = pd.factorize(ratings["item_id"])[1], pd.factorize(ratings["annotator_id"])[1]
    item_w = np.array([item_weights.get(i, 1) for i in items], dtype=float)
    annotator_w = np.array([annotator_weights.get(a, 1) for a in annotators], dtype=float)
    sums = two_way._replicate(x, [metric], level, pt.values, delta, item_w, annotator_w)[metric]
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(statistic.finish(sums[None, :])[0])


def _coefficient(events, metric, level):
    counts = agreement.label_counts(events)
    return reliability.agreement_estimates(counts, metrics=[metric], level=level, n_boot=0)[metric].value


@pytest.mark.parametrize(("metric", "level"), CASES)
def test_unit_weights_give_the_ordinary_coefficient(metric, level):
    events = random_events(4, n_items=60)
    assert _weighted(events, metric, level, {}, {}) == pytest.approx(_coefficient(events, metric, level),
                                                                     rel=1e-12)


@pytest.mark.parametrize(("metric", "level"), CASES)
def test_dropping_annotators_and_repeating_items_is_computing_on_that_data(metric, level):
    events = random_events(5, n_items=60)
    dropped = {"ann-1": 0, "ann-4": 0}
    repeated = {"item-3": 3, "item-7": 2, "item-8": 0}
    kept = events[~events["annotator_id"].isin(dropped)]
    copies = [kept[kept["item_id"] == item].assign(item_id=f"{item}#{c}") for item, times in repeated.items()
              for c in range(times)]
    data = pd.concat([kept[~kept["item_id"].isin(repeated)], *copies], ignore_index=True)
    assert _weighted(events, metric, level, repeated, dropped) == pytest.approx(
        _coefficient(data, metric, level), rel=1e-12)


def test_copies_of_one_annotator_are_not_paired_with_each_other():
    """Two annotators agreeing on half the items. Drawing one of them twice must not add the copies'
    perfect agreement with themselves: percent agreement stays 0.5, and so does alpha's observed part."""
    events = pd.DataFrame({"item_id": np.repeat(np.arange(8), 2), "annotator_id": ["a", "b"] * 8,
                           "label": list("xxyyxyyx" * 2)})
    assert _weighted(events, "percent_agreement", "nominal", {}, {}) == pytest.approx(0.5)
    assert _weighted(events, "percent_agreement", "nominal", {}, {"a": 2}) == pytest.approx(0.5)
    assert _weighted(events, "krippendorff_alpha", "nominal", {}, {"a": 3}) == pytest.approx(
        _weighted(events, "krippendorff_alpha", "nominal", {}, {}), abs=0.1)
    # drawing only one annotator leaves no pair: undefined, left out of the interval
    assert np.isnan(_weighted(events, "percent_agreement", "nominal", {}, {"a": 2, "b": 0}))


def test_the_two_way_interval_is_seeded_wider_and_says_what_it_resamples():
    events = random_events(6, n_items=400, n_annotators=6, max_ratings=4)
    crossed = two_way.agreement_estimates_two_way(events, n_boot=300, random_state=1)
    again = two_way.agreement_estimates_two_way(events, n_boot=300, random_state=1)
    items = reliability.agreement_estimates(agreement.label_counts(events), n_boot=300)
    for metric, estimate in crossed.items():
        assert estimate.value == pytest.approx(items[metric].value, rel=1e-12)
        assert (estimate.ci_low, estimate.ci_high) == (again[metric].ci_low, again[metric].ci_high)
        assert estimate.ci_low < estimate.value < estimate.ci_high
        assert estimate.ci_high - estimate.ci_low > items[metric].ci_high - items[metric].ci_low
        assert estimate.resampled == "items and annotators" and items[metric].resampled == "items"
        assert estimate.method == "bootstrap percentile over items and annotators"
