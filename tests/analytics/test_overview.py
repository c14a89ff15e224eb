"""The Overview's summary, interval and verdict."""

import datetime as dt
import doctest
import math

import pandas as pd
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from analytics.core import sampling
from analytics.core.schema import EventFilter
from analytics.monitoring import overview
from analytics.monitoring.periods import covered_days, partial_periods, window_filter
from analytics.narrative import overview as overview_words
from analytics.store import Store
from tests.builders import EVENT_COLUMNS, add_events


def _store(path, rows):
    store = Store(path)
    add_events(store, pd.DataFrame(rows, columns=EVENT_COLUMNS))
    return store


@pytest.mark.parametrize(
    ("mean", "sd", "n"), [(0.5, 0.2, 100), (0.8, 0.35, 40), (0.97, 0.1, 12), (0.3, 0.45, 3)]
)
def test_agreement_interval_is_statsmodels_wilson_on_the_effective_number_of_items(mean, sd, n):
    effective = n * mean * (1 - mean) / sd**2  # Korn & Graubard's effective sample size
    expected = proportion_confint(mean * effective, effective, alpha=0.05, method="wilson")
    assert overview.agreement_interval(mean, sd, n) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("mean", [0.0, 1.0])
def test_agreement_interval_without_spread_is_the_wilson_interval_of_n_items(mean):
    # every item unanimous (or none): no variance to read, so the Bernoulli bound p(1 - p) and n items
    expected = proportion_confint(mean * 40, 40, alpha=0.05, method="wilson")
    assert overview.agreement_interval(mean, 0.0, 40) == pytest.approx(expected, abs=1e-12)
    assert overview.agreement_interval(mean, math.nan, 1) == pytest.approx(
        proportion_confint(mean, 1, alpha=0.05, method="wilson"), abs=1e-12)
    assert overview.agreement_interval(None, None, 0) == (None, None)


def _pairs(day, n_items, agree, start_id):
    """n_items items labeled by two annotators on ``day``; the first ``agree`` items agree."""
    rows = []
    for k in range(n_items):
        item = f"{day}-{k}"
        rows.append((start_id + 2 * k, item, "a", "x", day))
        rows.append((start_id + 2 * k + 1, item, "b", "x" if k < agree else "y", day))
    return rows


def test_trend_detects_a_drop_and_says_so(tmp_path):
    rows = _pairs("2024-01-10", 200, 190, 0) + _pairs("2024-02-20", 200, 120, 1000)
    with _store(tmp_path / "lw.duckdb", rows) as store:
        summary = overview.overview_summary(store)
        assert summary.percent_agreement == pytest.approx(310 / 400)
        comparison = overview.trend(store, days=30)
        assert comparison.current.percent_agreement == pytest.approx(0.60)
        assert comparison.previous.percent_agreement == pytest.approx(0.95)
        assert comparison.delta("percent_agreement") == pytest.approx(-0.35)
        assert overview.trend(store, days=30, summary=summary) == comparison
        lines = overview_words.verdict(summary, comparison)
    assert (comparison.basis, comparison.current_start, comparison.previous_start) == (
        overview.RECENT, dt.date(2024, 1, 22), dt.date(2023, 12, 23))
    assert comparison.versus() == "last 30 days vs the 30 before 2024-01-22"
    assert lines[0] == "800 labels from 2 annotators on 400 items; 400 items have 2 or more labels."
    assert "77.5%" in lines[1]
    assert "down 35 pts in the last 30 days against the 30 days before 2024-01-22" in lines[2]


def test_a_change_of_agreement_has_newcombes_interval(tmp_path):
    rows = _pairs("2024-01-10", 200, 190, 0) + _pairs("2024-02-20", 150, 120, 1000)
    with _store(tmp_path / "lw.duckdb", rows) as store:
        change = overview.trend(store, days=30).agreement_change()
    # two annotators per item: each item agrees (1) or not (0); the effective n is n p(1 - p) / s²
    now, before = (0.8, 150), (0.95, 200)
    effective = [n * p * (1 - p) / (p * (1 - p) * n / (n - 1)) for p, n in (now, before)]
    expected = confint_proportions_2indep(
        now[0] * effective[0], effective[0], before[0] * effective[1], effective[1],
        method="newcomb", compare="diff", alpha=0.05,
    )
    assert change.delta == pytest.approx(-0.15)
    assert (change.low, change.high) == pytest.approx(expected, abs=1e-9)
    assert change.significant and change.points() == "-15 pts"


@pytest.mark.parametrize(
    ("change", "points", "significant"),
    [
        ((0.0004, -0.0110, 0.0118), "0 pts", False),  # +0.04 pts: nothing to show, no direction
        ((0.0234, 0.0180, 0.0290), "+2.3 pts", True),  # interval ±0.6 pts: one decimal
        ((0.0234, 0.0110, 0.0360), "+2 pts", True),  # interval ±1.3 pts: whole points
        ((-0.0160, -0.0410, 0.0090), "-2 pts", False),
    ],
)
def test_a_change_is_rounded_to_what_its_interval_supports(change, points, significant):
    found = overview.AgreementChange(*change)
    assert (found.points(), found.significant) == (points, significant)


def test_verdict_calls_overlapping_intervals_noise(tmp_path):
    rows = _pairs("2024-01-10", 20, 15, 0) + _pairs("2024-02-20", 20, 14, 1000)
    with _store(tmp_path / "lw.duckdb", rows) as store:
        lines = overview_words.verdict(overview.overview_summary(store), overview.trend(store, days=30))
    assert "within noise" in lines[-1]


def test_a_date_filter_is_compared_with_the_window_of_equal_length_before_it(tmp_path):
    # 40 items in March (31 days), 30 in February, 20 in January
    rows = (_pairs("2024-03-05", 40, 30, 0) + _pairs("2024-02-10", 30, 30, 1000)
            + _pairs("2024-01-25", 20, 20, 2000))
    march = EventFilter(start=dt.date(2024, 3, 1), end=dt.date(2024, 3, 31))
    with _store(tmp_path / "lw.duckdb", rows) as store:
        summary = overview.overview_summary(store, march)
        comparison = overview.trend(store, march, summary=summary)
    # the 31 days before 1 March: 30 January – 29 February, which holds February's items only
    assert (comparison.basis, comparison.days) == (overview.BEFORE_FILTER, 31)
    assert comparison.previous_start == dt.date(2024, 1, 30)
    assert comparison.previous_end == dt.date(2024, 2, 29)
    assert (comparison.current.events, comparison.previous.events) == (80, 60)
    assert comparison.current.events == summary.events
    assert comparison.delta("events") == 20 and comparison.delta("items") == 10
    assert comparison.versus() == "vs the 31 days before 2024-03-01"
    sentence = overview_words.comparison_sentence(comparison)
    assert sentence.startswith("Changes compare the filtered 31 days (2024-03-01 – 2024-03-31)")


def test_a_date_filter_with_no_data_before_it_has_nothing_to_compare(tmp_path):
    rows = _pairs("2024-01-10", 20, 15, 0)
    january = EventFilter(start=dt.date(2024, 1, 1), end=dt.date(2024, 1, 31))
    with _store(tmp_path / "lw.duckdb", rows) as store:
        summary = overview.overview_summary(store, january)
        comparison = overview.trend(store, january, summary=summary)
    assert not comparison.comparable
    assert comparison.delta("events") is None and comparison.agreement_change() is None
    sentence = overview_words.comparison_sentence(comparison)
    assert sentence.startswith("Nothing to compare with: no label events match the filters in "
                               "the 31 days before 2024-01-01")
    assert overview_words.verdict(summary, comparison)[-1] == overview_words.comparison_sentence(comparison)


def test_agreement_of_unanimous_items_keeps_an_interval(tmp_path):
    rows = _pairs("2024-01-10", 30, 30, 0)
    with _store(tmp_path / "lw.duckdb", rows) as store:
        summary = overview.overview_summary(store)
    assert summary.percent_agreement == 1.0
    assert (summary.pa_ci_low, summary.pa_ci_high) == pytest.approx(
        proportion_confint(30, 30, alpha=0.05, method="wilson"))
    assert summary.pa_ci_low < 0.9


def test_window_filter_never_widens_the_user_window():
    flt = EventFilter(start=dt.date(2024, 1, 15), end=dt.date(2024, 1, 20), cohorts=("crowd",))
    narrowed = window_filter(flt, dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    assert (narrowed.start, narrowed.end) == (dt.date(2024, 1, 15), dt.date(2024, 1, 20))
    assert narrowed.cohorts == ("crowd",)


def test_empty_store(tmp_path):
    with Store(tmp_path / "lw.duckdb") as store:
        summary = overview.overview_summary(store)
        assert overview.trend(store) is None
        assert overview_words.verdict(summary, None) == ["No label events match the current filters."]


def test_sample_modulus_reads_all_items_up_to_the_limit_then_about_the_sample_size():
    assert sampling.sample_modulus(10) == 1
    assert sampling.sample_modulus(1_000_000) == 1
    assert sampling.sample_modulus(1_000_001) == 5  # 1-in-5 of 1,000,001 events ≈ 200,000 ≤ 250,000
    assert sampling.sample_modulus(10_000_000) == 40
    assert sampling.sample_modulus(400, limit=100, sample=100) == 4


def test_large_store_says_what_is_estimated(tmp_path):
    rows = _pairs("2024-01-10", 200, 150, 0)
    with _store(tmp_path / "lw.duckdb", rows) as store:
        summary = overview.overview_summary(store, exact_event_limit=100, sample_events=100,
                                            min_sampled_items=20)
    # agreement, items with 2+ labels and the item count on a 1-in-4 sample of items (20+ of them)
    assert summary.estimated and summary.events == 400
    assert summary.item_count.estimated and summary.item_count.sample_modulus == 4
    assert summary.item_count.low <= 200 <= summary.item_count.high
    assert summary.items_multi == summary.items
    assert summary.labels_per_item["n_labels"].tolist() == [2]
    assert summary.agreement_sample_rate == pytest.approx(1 / 4)
    assert summary.agreement_items < 100
    lines = overview_words.verdict(summary, None)
    assert "items (estimated from a 1-in-4 sample of items, 95% CI" in lines[0]
    assert "1-in-4 sample of items" in lines[1]


def test_items_are_counted_exactly_when_the_sample_is_too_small_for_a_close_estimate(tmp_path):
    rows = _pairs("2024-01-10", 200, 150, 0)
    with _store(tmp_path / "lw.duckdb", rows) as store:
        summary = overview.overview_summary(store, exact_event_limit=100, sample_events=100)
    assert summary.estimated and not summary.items_estimated
    assert summary.items == 200 and summary.item_count.method == "exact count of distinct item ids"


def test_estimate_items_is_m_times_the_sample_with_a_binomial_interval():
    count = overview.estimate_items(40_000, 25)
    half = 1.959963984540054 * math.sqrt(1_000_000 * 24)
    assert (count.value, count.low, count.high) == (1_000_000, math.floor(1e6 - half), math.ceil(1e6 + half))
    # the smallest sample an estimate is made from keeps 2% at four standard errors
    assert 4 / math.sqrt(sampling.MIN_SAMPLED_ITEMS) <= 0.02
    assert overview.estimate_items(7, 1) == overview.ItemCount(7, 7, 7)
    assert (count.unit, count.shown()) == (1000, "≈1,000,000")


@pytest.mark.parametrize(
    ("grain", "periods", "expected"),
    [
        # data from Sunday 1 March to Wednesday 26 August 2026: the first and last weeks are cut
        ("week", ["2026-02-23", "2026-03-02", "2026-08-17", "2026-08-24"], [True, False, False, True]),
        ("month", ["2026-03-01", "2026-07-01", "2026-08-01"], [False, False, True]),
        ("day", ["2026-03-01", "2026-08-26"], [False, False]),
    ],
)
def test_periods_the_covered_days_do_not_fill_are_partial(grain, periods, expected):
    found = partial_periods(pd.Series(pd.to_datetime(periods)), grain=grain,
                             first=dt.date(2026, 3, 1), last=dt.date(2026, 8, 26))
    assert found.tolist() == expected


def test_the_date_filter_narrows_the_covered_days():
    june = EventFilter(start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 30))
    assert covered_days(june, dt.date(2026, 3, 1), dt.date(2026, 8, 26)) == (
        dt.date(2026, 6, 1), dt.date(2026, 6, 30))
    assert covered_days(None, None, None) == (None, None)
    weeks = pd.Series(pd.to_datetime(["2026-06-01", "2026-06-22", "2026-06-29"]))
    assert partial_periods(weeks, grain="week", first=dt.date(2026, 6, 1),
                            last=dt.date(2026, 6, 30)).tolist() == [False, False, True]


def test_examples_in_docstrings_run():
    assert doctest.testmod(overview).failed == 0
