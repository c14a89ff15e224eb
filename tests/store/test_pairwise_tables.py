"""``pairwise_tables`` on real DuckDB files: exact counts by hand, and the same kappas as the events path."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analytics.agreement import coefficients as agreement
from analytics.agreement import cohen
from analytics.core.schema import EventFilter
from analytics.store import Store
from analytics.store import agreement as q
from tests.analytics.agreement_examples import random_events
from tests.builders import add_events

# i1: a=x, b=x, c=y     i2: a=x, b=y then b re-labels x (b's rating: x), c=x     i3: a=y, c=y
# i4: a=x only          i5: b=y, c=y
EVENTS = [
    ("i1", "a", "x", "2024-01-01"), ("i1", "b", "x", "2024-01-02"), ("i1", "c", "y", "2024-01-02"),
    ("i2", "a", "x", "2024-01-03"), ("i2", "b", "y", "2024-01-03"), ("i2", "b", "x", "2024-02-20"),
    ("i2", "c", "x", "2024-01-04"), ("i3", "a", "y", "2024-02-03"), ("i3", "c", "y", "2024-02-04"),
    ("i4", "a", "x", "2024-02-05"), ("i5", "b", "y", "2024-02-06"), ("i5", "c", "y", "2024-02-07"),
]
# Pairs of latest ratings inside each item, by hand:
# (a, b): i1 x/x, i2 x/x                 -> {(x, x): 2}
# (a, c): i1 x/y, i2 x/x, i3 y/y         -> {(x, y): 1, (x, x): 1, (y, y): 1}
# (b, c): i1 x/y, i2 x/x, i5 y/y         -> {(x, y): 1, (x, x): 1, (y, y): 1}
BY_HAND = {
    ("a", "b", "x", "x"): 2,
    ("a", "c", "x", "y"): 1, ("a", "c", "x", "x"): 1, ("a", "c", "y", "y"): 1,
    ("b", "c", "x", "y"): 1, ("b", "c", "x", "x"): 1, ("b", "c", "y", "y"): 1,
}


def fill(store, events, cohorts):
    """Import ``(item_id, annotator_id, label, labeled_at)`` events and the annotators' cohorts."""
    frame = pd.DataFrame(events, columns=["item_id", "annotator_id", "label", "labeled_at"])
    add_events(store, frame.assign(labeled_at=pd.to_datetime(frame["labeled_at"])), cohorts=cohorts)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "lw.duckdb") as store:
        fill(store, EVENTS, {"a": "expert", "b": "crowd", "c": "crowd"})
        yield store


def cells(frame):
    return {(r.annotator_a, r.annotator_b, r.label_a, r.label_b): r.n for r in frame.itertuples()}


def test_tables_count_pairs_of_latest_ratings_by_hand(store):
    tables = q.pairwise_tables(store, min_overlap=1)
    assert list(tables.columns) == ["annotator_a", "annotator_b", "label_a", "label_b", "n"]
    assert cells(tables) == BY_HAND
    assert all(isinstance(tables[c].dtype, pd.CategoricalDtype) for c in tables.columns[:4])
    assert tables["n"].dtype == np.int64


def test_min_overlap_keeps_pairs_sharing_enough_items(store):
    assert {k[:2] for k in cells(q.pairwise_tables(store, min_overlap=3))} == {("a", "c"), ("b", "c")}
    assert cells(q.pairwise_tables(store, min_overlap=2)) == BY_HAND
    assert q.pairwise_tables(store, min_overlap=4).empty
    for bad in (0, 1.5):
        with pytest.raises(ValueError, match="min_overlap"):
            q.pairwise_tables(store, min_overlap=bad)


def test_annotators_and_the_filter_restrict_the_events(store):
    assert cells(q.pairwise_tables(store, min_overlap=1, annotators=["a", "c"])) == {
        k: n for k, n in BY_HAND.items() if k[:2] == ("a", "c")}
    # A value that looks like SQL is a value: nobody has this id.
    assert q.pairwise_tables(store, min_overlap=1, annotators=["a'); DROP TABLE label_events; --"]).empty
    assert store.scalar("SELECT count(*) FROM label_events") == len(EVENTS)
    # The crowd cohort is b and c only.
    crowd = q.pairwise_tables(store, EventFilter(cohorts=("crowd",)), min_overlap=1)
    assert cells(crowd) == {k: n for k, n in BY_HAND.items() if k[:2] == ("b", "c")}
    # Up to 31 January, b's rating of i2 is still y (the re-label came later) and i3, i5 are not rated yet.
    january = q.pairwise_tables(store, EventFilter(end=dt.date(2024, 1, 31)), min_overlap=1)
    assert cells(january) == {("a", "b", "x", "x"): 1, ("a", "b", "x", "y"): 1, ("a", "c", "x", "y"): 1,
                              ("a", "c", "x", "x"): 1, ("b", "c", "x", "y"): 1, ("b", "c", "y", "x"): 1}


def test_an_empty_store_gives_an_empty_table(tmp_path):
    with Store(tmp_path / "empty.duckdb") as store:
        tables = q.pairwise_tables(store, min_overlap=1)
        assert tables.empty
        assert list(tables.columns) == ["annotator_a", "annotator_b", "label_a", "label_b", "n"]
        assert cohen.pairwise_kappa_from_tables(tables).empty


@pytest.mark.parametrize("seed", [0, 1])
def test_store_tables_give_the_kappas_of_the_events_path(tmp_path, seed):
    events = random_events(seed, n_items=500, n_annotators=8, max_ratings=5).astype({"label": str})
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2024-01-01")
    events["labeled_at"] = start + pd.to_timedelta(rng.permutation(len(events)), unit="min")
    # A tenth of the ratings are re-labelled later with a random label: only the latest may count.
    again = events.sample(frac=0.1, random_state=seed).assign(
        label=lambda f: rng.integers(1, 6, len(f)).astype(str),
        labeled_at=lambda f: f["labeled_at"] + pd.Timedelta(days=30),
    )
    events = pd.concat([events, again], ignore_index=True)
    with Store(tmp_path / f"random-{seed}.duckdb") as store:
        fill(store, events[["item_id", "annotator_id", "label", "labeled_at"]],
             {a: "crowd" for a in events["annotator_id"].unique()})
        for weights in (None, "quadratic"):
            expected = agreement.pairwise_kappa(events, min_overlap=15, weights=weights)
            tables = q.pairwise_tables(store, min_overlap=15)
            result = cohen.pairwise_kappa_from_tables(tables, weights=weights)
            assert len(expected) > 10
            pd.testing.assert_frame_equal(result, expected, check_dtype=False, rtol=1e-12)
        subset = sorted(events["annotator_id"].unique())[:4]
        expected = agreement.pairwise_kappa(events[events["annotator_id"].isin(subset)], min_overlap=15)
        result = cohen.pairwise_kappa_from_tables(q.pairwise_tables(store, min_overlap=15, annotators=subset))
        pd.testing.assert_frame_equal(result, expected, check_dtype=False, rtol=1e-12)
