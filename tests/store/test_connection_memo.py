"""Store.remembered: a result computed once per state of the store, recomputed after any write."""

from __future__ import annotations

import pandas as pd

from analytics.core.schema import EventFilter
from analytics.store import Store
from analytics.store import overview as overview_queries
from tests.builders import add_events


def _events(n: int, start: int = 0) -> pd.DataFrame:
    return pd.DataFrame({"item_id": [f"i{k}" for k in range(start, start + n)], "annotator_id": "a",
                         "label": "x", "labeled_at": pd.Timestamp("2024-01-01")})


def test_a_result_is_computed_once_per_state_and_again_after_a_write(tmp_path):
    calls = []
    with Store(tmp_path / "s.duckdb") as store:
        add_events(store, _events(3))
        assert store.remembered("k", lambda: calls.append(1) or len(calls)) == 1
        assert store.remembered("k", lambda: calls.append(1) or len(calls)) == 1
        assert overview_queries.event_totals(store)["events"] == 3
        add_events(store, _events(2, start=3))  # a write: a new state
        assert store.remembered("k", lambda: calls.append(1) or len(calls)) == 2
        assert overview_queries.event_totals(store)["events"] == 5
        assert overview_queries.event_totals(store, EventFilter(cohorts=("nobody",)))["events"] == 0


def test_a_read_only_store_and_an_unhashable_key_compute_every_time(tmp_path):
    with Store(tmp_path / "s.duckdb") as store:
        add_events(store, _events(3))
        calls = []
        assert store.remembered(["a", "list"], lambda: calls.append(1) or len(calls)) == 1
        assert store.remembered(["a", "list"], lambda: calls.append(1) or len(calls)) == 2
    with Store(tmp_path / "s.duckdb", read_only=True) as store:
        calls = []
        store.remembered("k", lambda: calls.append(1))
        store.remembered("k", lambda: calls.append(1))
        assert len(calls) == 2
