"""``summary`` counts items exactly, even where the Overview reads a sample, and says how it counted."""

from __future__ import annotations

from analytics.core import sampling
from analytics.monitoring import summary
from analytics.store import Store


def test_summary_counts_items_exactly_on_a_sampled_store_and_says_so(monkeypatch, demo_store_path):
    # force the large-store path on the demo: per-item reads on a 1-in-15 sample of items
    monkeypatch.setattr(sampling, "COUNTS_EVENT_LIMIT", 1_000)
    monkeypatch.setattr(sampling, "SAMPLE_EVENTS", 500)
    with Store(demo_store_path, read_only=True) as store:
        exact = store.scalar("SELECT count(DISTINCT item_id) FROM label_events")
        found = summary.store_summary(store)
    assert found["store"]["items"] == exact
    assert found["store"]["items_count"] == {
        "estimate": False, "method": "exact count of distinct item ids", "ci_low": exact, "ci_high": exact}
    agreement = found["agreement"]["percent_agreement"]
    assert agreement["sample"] == "1 in 15 items"
    assert agreement["method"] == "Wilson score interval on the effective number of items"
