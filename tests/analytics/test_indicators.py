"""The Overview's label-noise indicators and their change, against independent computations: the rates
counted in pandas, Wilson and Newcombe intervals from statsmodels, alpha from the engine's own estimator."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from analytics.agreement import coefficients as agreement
from analytics.core.schema import EventFilter
from analytics.core.stats import difference_interval, wilson_interval
from analytics.monitoring import indicators, overview
from analytics.narrative import overview as overview_words
from analytics.store import Store
from analytics.store import agreement as agreement_queries
from tests.analytics.alert_worlds import add_run, build_world


@pytest.mark.parametrize(("x1", "n1", "x2", "n2"), [(56, 70, 48, 80), (9, 10, 3, 10), (0, 30, 5, 40),
                                                      (120, 400, 131, 380)])
def test_difference_interval_on_wilson_intervals_is_newcombes(x1, n1, x2, n2):
    now, before = (x1 / n1, *wilson_interval(x1, n1)), (x2 / n2, *wilson_interval(x2, n2))
    delta, low, high = difference_interval(now, before)
    assert delta == pytest.approx(x1 / n1 - x2 / n2)
    newcombe = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb")
    assert (low, high) == pytest.approx(newcombe, abs=1e-9)


@pytest.fixture(scope="module")
def drop(tmp_path_factory):
    """The world whose accuracy falls from week 8, with a detection run flagging one item in five."""
    path = tmp_path_factory.mktemp("indicators") / "drop.duckdb"
    rows = build_world(path, late_accuracy=0.65)
    with Store(path) as store:
        add_run(store, {item: k % 5 == 0 for k, item in enumerate(rows["items"]["item_id"])})
    return path, rows


def _window_rows(rows, start, end):
    events = rows["events"]
    day = events["labeled_at"].dt.date
    return events[(day >= start) & (day <= end)]


def test_each_indicator_is_its_windows_rate_with_its_interval(drop):
    path, rows = drop
    with Store(path, read_only=True) as store:
        comparison = overview.trend(store, days=30)
        trend = indicators.noise_trend(store, None, comparison, run_id="run-1")
        windows = [EventFilter(start=s, end=e) for s, e in (trend.current, trend.previous)]
        alphas = [agreement.agreement_estimates(agreement_queries.label_counts(store, w),
                                                metrics=("krippendorff_alpha",), n_boot=200,
                                                random_state=0)["krippendorff_alpha"] for w in windows]
    assert trend.current == (comparison.current_start, comparison.current_end)
    assert trend.previous == (comparison.previous_start, comparison.previous_end)
    gold = rows["gold"].set_index("item_id")["label"]
    flagged = set(rows["items"]["item_id"].iloc[::5])
    for which, (start, end), alpha in zip(("current", "previous"), (trend.current, trend.previous), alphas,
                                          strict=True):
        events = _window_rows(rows, start, end)
        per_item = events.groupby("item_id")["label"].agg(["size", "nunique"])
        rated = per_item[per_item["size"] >= 2]
        disputed = int((rated["nunique"] > 1).sum())
        found = getattr(trend.get("disagreement"), which)
        assert (found.value, found.n) == (pytest.approx(disputed / len(rated)), len(rated))
        assert (found.low, found.high) == pytest.approx(proportion_confint(disputed, len(rated),
                                                                           method="wilson"))
        items = set(per_item.index)
        suspects = getattr(trend.get("suspects"), which)
        assert (suspects.value, suspects.n) == (pytest.approx(len(items & flagged) / len(items)), len(items))
        # 3 ratings and 4 labels: a strict majority or a 1-1-1 tie, broken as the store does
        gold_items = [i for i in items if i in gold.index]
        right = 0
        counts = events.groupby(["item_id", "label"]).size()
        overall = events["label"].value_counts()
        for item in gold_items:
            votes = counts[item]
            top = votes[votes == votes.max()].index
            winner = min(top, key=lambda label: (-overall[label], label))
            right += winner == gold[item]
        checked = getattr(trend.get("gold"), which)
        assert (checked.value, checked.n) == (pytest.approx(right / len(gold_items)), len(gold_items))
        got = getattr(trend.get("alpha"), which)
        assert (got.value, got.low, got.high) == (alpha.value, alpha.ci_low, alpha.ci_high)
        assert got.n == alpha.n_items


def test_the_change_is_newcombes_interval_and_reads_better_or_worse(drop):
    path, _ = drop
    with Store(path, read_only=True) as store:
        flt = EventFilter(start=dt.date(2024, 2, 12), end=dt.date(2024, 3, 10))
        comparison = overview.trend(store, flt=flt)
        trend = indicators.noise_trend(store, flt, comparison, run_id="run-1")
    # the filtered four weeks straddle the drop (week 8, 2024-02-26) and compare with the four weeks before
    assert trend.current == (dt.date(2024, 2, 12), dt.date(2024, 3, 10))
    assert trend.previous == (dt.date(2024, 1, 15), dt.date(2024, 2, 11))
    disagreement = trend.get("disagreement")
    now, before = disagreement.current, disagreement.previous
    change = disagreement.change()
    x1, x2 = round(now.value * now.n), round(before.value * before.n)
    assert (change.low, change.high) == pytest.approx(
        confint_proportions_2indep(x1, now.n, x2, before.n, method="newcomb"), abs=1e-9)
    assert change.significant and change.delta > 0 and change.better is False
    alpha = trend.get("alpha").change()
    assert alpha.significant and alpha.delta < 0 and alpha.better is False
    sentence = overview_words.noise_sentence(trend, comparison)
    assert sentence.startswith("Label noise in these 28 days against the 28 days before: disagreement rate "
                               "up ")
    assert "(worse)" in sentence


def test_missing_data_shows_as_missing_never_as_a_number(tmp_path):
    path = tmp_path / "bare.duckdb"
    build_world(path, gold=False)
    with Store(path, read_only=True) as store:
        trend = indicators.noise_trend(store, None, overview.trend(store), run_id=None)
    assert (trend.get("suspects").current, trend.get("suspects").missing) == (None, indicators.NO_RUN)
    assert (trend.get("gold").current, trend.get("gold").missing) == (None, indicators.NO_GOLD)
    assert trend.get("suspects").change() is None
    sentence = overview_words.noise_sentence(trend, overview.trend(Store(path, read_only=True)))
    assert "suspect" not in sentence and "gold" not in sentence


def test_without_a_window_before_there_is_no_change(tmp_path):
    path = tmp_path / "short.duckdb"
    rows = build_world(path)
    first = rows["events"]["labeled_at"].min().date()
    flt = EventFilter(start=first, end=first + dt.timedelta(days=13))
    with Store(path, read_only=True) as store:
        comparison = overview.trend(store, flt)
        trend = indicators.noise_trend(store, flt, comparison)
    assert not comparison.comparable
    assert trend.get("disagreement").current is not None
    assert all(i.previous is None and i.change() is None for i in trend.indicators)
    assert overview_words.noise_sentence(trend, comparison).endswith("; nothing to compare with before.")


def test_a_change_within_noise_is_neither_better_nor_worse():
    change = indicators.Change(0.01, -0.02, 0.04, higher_is_better=True)
    assert not change.significant and change.better is None
    assert indicators.Change(-0.05, -0.08, -0.01, higher_is_better=False).better is True
    shown = indicators.Indicator("alpha", indicators.WindowValue(0.61, 0.58, 0.64, 300), None)
    assert overview_words.indicator_value(shown, shown.current.value) == "0.610"
    share = dataclasses.replace(shown, key="gold")
    assert overview_words.indicator_value(share, 0.9234) == "92.3%"
    assert overview_words.indicator_change(change, share=True) == "+1.0 pts"
    assert np.isfinite(change.delta)


def test_an_indicator_without_a_window_before_is_not_called_within_noise():
    from analytics.monitoring.overview import TrendComparison

    summary = overview.overview_summary(Store(":memory:"))
    comparison = TrendComparison(30, dataclasses.replace(summary, events=5),
                                 dataclasses.replace(summary, events=5), dt.date(2024, 3, 1),
                                 dt.date(2024, 3, 30))
    value = indicators.WindowValue
    trend = indicators.NoiseTrend((
        indicators.Indicator("disagreement", value(0.30, 0.25, 0.35, 300), value(0.31, 0.26, 0.36, 300)),
        indicators.Indicator("alpha", value(0.70, 0.65, 0.75, 300), None),
        indicators.Indicator("suspects", None, None, indicators.NO_RUN),
    ), (dt.date(2024, 3, 1), dt.date(2024, 3, 30)), (dt.date(2024, 1, 31), dt.date(2024, 2, 29)))
    assert overview_words.noise_sentence(trend, comparison) == (
        "Label noise in the last 30 days is within noise of the 30 days before: disagreement rate 30.0%; "
        "nothing to compare with before: Krippendorff's alpha 0.700.")
