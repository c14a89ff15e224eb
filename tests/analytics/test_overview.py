"""The Overview's summary, interval and verdict."""

import datetime as dt
import math

import pytest

from analytics import overview
from analytics.schema import EventFilter
from analytics.store import Store
from analytics.store.ratings import rebuild_repeats


def _store(path, rows):
    store = Store(path)
    with store.transaction() as cur:
        cur.executemany(
            "INSERT INTO label_events (event_id, item_id, annotator_id, label, labeled_at, batch_id) "
            "VALUES (?, ?, ?, ?, ?, 'b')",
            rows,
        )
        rebuild_repeats(cur)
    return store


def test_mean_interval_matches_normal_formula():
    low, high = overview.mean_interval(0.5, 0.2, 100)
    assert low == pytest.approx(0.5 - 1.959963984540054 * 0.02)
    assert high == pytest.approx(0.5 + 1.959963984540054 * 0.02)
    assert overview.mean_interval(0.99, 0.2, 4) == (pytest.approx(0.99 - 1.959963984540054 * 0.1), 1.0)
    assert overview.mean_interval(0.5, None, 1) == (None, None)
    assert overview.mean_interval(None, None, 0) == (None, None)
    assert overview.mean_interval(0.5, math.nan, 1) == (None, None)


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
        lines = overview.verdict(summary, comparison)
    assert lines[0] == "800 labels from 2 annotators on 400 items; 400 items have 2 or more labels."
    assert "77.5%" in lines[1]
    assert "down 35.0 points" in lines[2]


def test_verdict_calls_overlapping_intervals_noise(tmp_path):
    rows = _pairs("2024-01-10", 20, 15, 0) + _pairs("2024-02-20", 20, 14, 1000)
    with _store(tmp_path / "lw.duckdb", rows) as store:
        lines = overview.verdict(overview.overview_summary(store), overview.trend(store, days=30))
    assert "within noise" in lines[-1]


def test_window_filter_never_widens_the_user_window():
    flt = EventFilter(start=dt.date(2024, 1, 15), end=dt.date(2024, 1, 20), cohorts=("crowd",))
    narrowed = overview.window_filter(flt, dt.date(2024, 1, 1), dt.date(2024, 1, 31))
    assert (narrowed.start, narrowed.end) == (dt.date(2024, 1, 15), dt.date(2024, 1, 20))
    assert narrowed.cohorts == ("crowd",)


def test_empty_store(tmp_path):
    with Store(tmp_path / "lw.duckdb") as store:
        summary = overview.overview_summary(store)
        assert overview.trend(store) is None
        assert overview.verdict(summary, None) == ["No label events match the current filters."]


def test_sample_modulus_reads_all_items_up_to_the_limit_then_about_the_sample_size():
    assert overview.sample_modulus(10) == 1
    assert overview.sample_modulus(1_000_000) == 1
    assert overview.sample_modulus(1_000_001) == 5  # 1-in-5 of 1,000,001 events ≈ 200,000 ≤ 250,000
    assert overview.sample_modulus(10_000_000) == 40
    assert overview.sample_modulus(400, limit=100, sample=100) == 4


def test_large_store_says_agreement_is_sampled(tmp_path):
    rows = _pairs("2024-01-10", 200, 150, 0)
    with _store(tmp_path / "lw.duckdb", rows) as store:
        summary = overview.overview_summary(store, exact_event_limit=100, sample_events=100)
    # items by HyperLogLog, items with 2+ labels scaled from the sample: estimates, said to be so
    assert summary.estimated and summary.events == 400
    assert summary.items == pytest.approx(200, rel=0.1)
    assert summary.items_multi == summary.items
    assert summary.labels_per_item["n_labels"].tolist() == [2]
    assert summary.agreement_sample_rate == pytest.approx(1 / 4)
    assert summary.agreement_items < 100
    assert "1-in-4 sample of items" in overview.verdict(summary, None)[1]
