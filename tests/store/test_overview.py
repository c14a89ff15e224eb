"""Overview queries on a small hand-made store whose every number can be worked out by hand."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from analytics.core.schema import EventFilter
from analytics.store import Store
from analytics.store import overview as q
from tests.builders import EVENT_COLUMNS, StoreBuilder, add_events

# item i1: a=x, b=x, c=y  -> agreeing ordered pairs 2 of 6 -> 1/3
# item i2: a=x, b=y (Feb 1) then b relabels x (Feb 20) -> b's latest is x -> a=x, b=x -> 1
# item i3: a=y only -> not counted
EVENTS = [
    (1, "i1", "a", "x", "2024-01-01"), (2, "i1", "b", "x", "2024-01-02"), (3, "i1", "c", "y", "2024-01-02"),
    (4, "i2", "a", "x", "2024-02-01"), (5, "i2", "b", "y", "2024-02-01"), (6, "i2", "b", "x", "2024-02-20"),
    (7, "i3", "a", "y", "2024-02-03"),
]

COHORTS = {"a": "expert", "b": "crowd", "c": "crowd"}


@pytest.fixture
def store(tmp_path):
    builder = StoreBuilder(tmp_path / "lw.duckdb")
    builder.items(pd.DataFrame({"item_id": ["i1", "i2", "i3"], "dataset": ["d1", "d1", "d2"],
                                "source": ["fax", "scanner", "fax"]}))
    builder.events(pd.DataFrame(EVENTS, columns=EVENT_COLUMNS), cohorts=COHORTS)
    with builder.build() as store:
        yield store


def test_totals_and_agreement_by_hand(store):
    assert q.totals(store) == {
        "events": 7, "items": 3, "annotators": 3, "labels": 2,
        "first_at": dt.datetime(2024, 1, 1), "last_at": dt.datetime(2024, 2, 20),
    }
    stats = q.item_stats(store)
    # i1: 3 events, 3 raters, pa 1/3; i2: 3 events (a re-label), 2 raters, pa 1; i3: 1 event, 1 rater
    assert stats.to_dict("list") == {
        "n_labels": [1, 3], "items": [1, 2], "rated_multi": [0, 2],
        "pa_sum": [0.0, pytest.approx(1 / 3 + 1)], "pa_sumsq": [0.0, pytest.approx(1 / 9 + 1)],
    }
    assert q.totals(store, approx_items=True)["items"] == 3
    assert q.event_totals(store) == {key: value for key, value in q.totals(store).items() if key != "items"}
    assert q.item_count(store) == 3


def rated_multi(stats) -> int:
    return int(stats["rated_multi"].sum())


@pytest.mark.parametrize(
    ("flt", "events", "items_multi"),
    [
        (EventFilter(), 7, 2),
        (EventFilter(dataset="d1"), 6, 2),
        (EventFilter(dataset="d2"), 1, 0),
        (EventFilter(cohorts=("crowd",)), 4, 1),
        (EventFilter(cohorts=("crowd", "expert")), 7, 2),
        (EventFilter(start=dt.date(2024, 2, 1)), 4, 1),
        (EventFilter(end=dt.date(2024, 1, 2)), 3, 1),
        (EventFilter(start=dt.date(2024, 1, 2), end=dt.date(2024, 1, 2)), 2, 1),
        (EventFilter(attribute="source", attribute_value="fax"), 4, 1),
        (EventFilter(attribute="source", attribute_value="nowhere"), 0, 0),
    ],
)
def test_filters_select_the_right_events(store, flt, events, items_multi):
    assert q.totals(store, flt)["events"] == events
    assert rated_multi(q.item_stats(store, flt)) == items_multi


def test_filter_values_travel_as_parameters_not_sql(store):
    hostile = EventFilter(
        dataset="d1' OR '1'='1", attribute="source'; DROP TABLE items; --", attribute_value="x"
    )
    assert q.totals(store, hostile)["events"] == 0
    assert store.scalar("SELECT count(*) FROM items") == 3


def test_activity_by_week_and_cohort(store):
    frame = q.activity(store, grain="month")
    jan = frame[frame["period"] == dt.datetime(2024, 1, 1)].set_index("cohort")
    assert jan.loc["crowd", "events"] == 2 and jan.loc["expert", "events"] == 1
    feb = frame[frame["period"] == dt.datetime(2024, 2, 1)].set_index("cohort")
    assert feb.loc["crowd", "events"] == 2 and feb.loc["crowd", "labels"] == 2
    assert feb.loc["expert", "items"] == 2 and feb.loc["expert", "annotators"] == 1


def test_agreement_by_period_counts_items_rated_within_the_period(store):
    frame = q.agreement_by_period(store, grain="month").set_index("period")
    assert frame.loc[dt.datetime(2024, 1, 1), "pa_mean"] == pytest.approx(1 / 3)
    assert frame.loc[dt.datetime(2024, 2, 1), "pa_mean"] == pytest.approx(1.0)


def test_label_distribution_and_labels_per_item(store):
    dist = q.label_distribution(store)
    assert dist["label"].tolist() == ["x", "y"]
    assert dist["events"].tolist() == [4, 3]
    assert dist["share"].sum() == pytest.approx(1.0)


def test_trend_windows_are_read_in_one_scan_each(store):
    split = dt.datetime(2024, 2, 1)
    totals = q.window_totals(store, EventFilter(), split).set_index("win")
    assert totals["events"].to_dict() == {0: 3, 1: 4}
    assert totals.loc[1, "annotators"] == 2 and totals.loc[0, "labels"] == 2
    items = q.window_item_counts(store, EventFilter(), split).set_index("win")["items"]
    assert items.to_dict() == {0: 1, 1: 2}  # i1 in January; i2 and i3 from February
    stats = q.window_item_stats(store, EventFilter(), split)
    before, after = stats[stats["win"] == 0], stats[stats["win"] == 1]
    assert before["pa_sum"].sum() == pytest.approx(1 / 3) and rated_multi(before) == 1
    assert after["pa_sum"].sum() == pytest.approx(1.0) and rated_multi(after) == 1
    # the window split composes with the filter: only crowd events (b and c)
    crowd = q.window_totals(store, EventFilter(cohorts=("crowd",)), split).set_index("win")
    assert crowd["events"].to_dict() == {0: 2, 1: 2}


def test_filter_options(store):
    options = q.filter_options(store)
    assert options["datasets"] == ["d1", "d2"]
    assert options["cohorts"] == ["crowd", "expert"]
    assert options["attributes"] == {"source": ["fax", "scanner"]}
    assert options["first_date"] == dt.date(2024, 1, 1)
    assert options["last_date"] == dt.date(2024, 2, 20)


def test_empty_store_gives_zeros_not_errors(tmp_path):
    with Store(tmp_path / "empty.duckdb") as store:
        assert q.totals(store)["events"] == 0
        assert q.item_stats(store).empty
        assert q.activity(store).empty
        assert q.filter_options(store)["first_date"] is None


def test_activity_item_counts_are_exact_unless_asked_to_approximate(store):
    exact = q.activity(store, grain="month")
    assert exact.set_index(["period", "cohort"])["items"].to_dict() == {
        (dt.datetime(2024, 1, 1), "crowd"): 1, (dt.datetime(2024, 1, 1), "expert"): 1,
        (dt.datetime(2024, 2, 1), "crowd"): 1, (dt.datetime(2024, 2, 1), "expert"): 2,
    }
    approx = q.activity(store, grain="month", approx_items=True)
    assert approx["events"].tolist() == exact["events"].tolist()
    assert (approx["items"] - exact["items"]).abs().max() <= 1


def test_sampled_agreement_reads_a_subset_of_items(tmp_path):
    with Store(tmp_path / "lw.duckdb") as store:
        i = np.arange(20000)
        add_events(store, pd.DataFrame({
            "item_id": [f"item{n}" for n in i // 2], "annotator_id": [f"a{n}" for n in i % 2],
            "label": np.where((i % 2 == 0) | ((i // 2) % 4 == 0), "x", "y"),
            "labeled_at": pd.Timestamp("2024-01-01"),
        }))
        full = q.item_stats(store)
        sample = q.item_stats(store, sample_modulus=8)
    assert rated_multi(full) == 10000 and full["pa_sum"].sum() / 10000 == pytest.approx(0.25)
    assert 1000 < rated_multi(sample) < 1500
    assert sample["pa_sum"].sum() / rated_multi(sample) == pytest.approx(0.25, abs=0.04)


def test_sampling_composes_with_the_filter(store):
    # With modulus 1 the sample path is not taken; a huge modulus keeps at most a few items but must
    # still honour the filter (only crowd events of dataset d1 can be counted).
    flt = EventFilter(cohorts=("crowd",), dataset="d1")
    assert rated_multi(q.item_stats(store, flt)) == 1
    sampled = rated_multi(q.item_stats(store, flt, sample_modulus=2))
    assert sampled in (0, 1)
    by_period = q.agreement_by_period(store, flt, grain="month", sample_modulus=2)
    assert by_period["items_multi"].sum() == sampled
    split = dt.datetime(2024, 1, 15)
    windows = q.window_item_stats(store, flt, split, sample_modulus=2)
    assert rated_multi(windows) == sampled
    in_sample = int(q.item_stats(store, flt, sample_modulus=2)["items"].sum())
    assert q.item_count(store, flt, sample_modulus=2) == in_sample
