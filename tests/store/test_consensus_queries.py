"""Coded ratings for Dawid–Skene on a small hand-made store whose every code can be worked out by hand."""

import datetime as dt
import threading

import numpy as np
import pandas as pd
import pytest

from analytics.consensus.dawid_skene import DawidSkene
from analytics.core.schema import EventFilter
from analytics.store import Store
from analytics.store import agreement as agreement_queries
from analytics.store import consensus as q
from analytics.store.ratings import rebuild_repeats
from tests.builders import EVENT_COLUMNS, add_events, write_raw

# i1: a=x, b=x, c=y            i2: a=x, b=y then b re-labels x (b's rating: x)
# i3: a=y, c=y                 i4: a=w, then a=x at the same time with a later event id (a's rating: x)
EVENTS = [
    (1, "i1", "a", "x", "2024-01-01"), (2, "i1", "b", "x", "2024-01-02"), (3, "i1", "c", "y", "2024-01-02"),
    (4, "i2", "a", "x", "2024-01-03"), (5, "i2", "b", "y", "2024-01-03"), (6, "i2", "b", "x", "2024-02-20"),
    (7, "i3", "a", "y", "2024-02-03"), (8, "i3", "c", "y", "2024-02-04"),
    (10, "i4", "a", "x", "2024-02-05"), (9, "i4", "a", "w", "2024-02-05"),
]

COHORTS = {"a": "expert", "b": "crowd", "c": "crowd"}


@pytest.fixture
def path(tmp_path):
    path = tmp_path / "lw.duckdb"
    # i4's events carry ids out of the order they are written in, which no import gives (it numbers events
    # in file order): written past the importer.
    with Store(path) as store, store.transaction() as cur:
        annotators = pd.DataFrame({"annotator_id": list(COHORTS), "cohort": list(COHORTS.values())})
        write_raw(cur, "annotators", annotators.assign(batch_id="b"))
        write_raw(cur, "label_events", pd.DataFrame(EVENTS, columns=EVENT_COLUMNS).assign(batch_id="b"))
        rebuild_repeats(cur)
    return path


@pytest.fixture
def store(path):
    with Store(path) as store:
        yield store


def _triples(ratings: q.CodedRatings) -> list[tuple[str, str, str]]:
    """The ratings decoded through the dictionaries, in the order they come."""
    return list(zip(
        ratings.items[ratings.item_codes], ratings.annotators[ratings.annotator_codes],
        ratings.classes[ratings.label_codes], strict=True,
    ))


def test_codes_are_dense_sorted_and_keep_each_annotators_latest_label(store):
    ratings = q.coded_ratings(store)
    assert ratings.items.tolist() == ["i1", "i2", "i3", "i4"]
    assert ratings.annotators.tolist() == ["a", "b", "c"]
    assert ratings.classes.tolist() == ["x", "y"]  # w only in a replaced event: no class, no gap in codes
    assert (ratings.items.name, ratings.annotators.name, ratings.classes.name) == (
        "item_id", "annotator_id", "label"
    )
    assert _triples(ratings) == [
        ("i1", "a", "x"), ("i1", "b", "x"), ("i1", "c", "y"),
        ("i2", "a", "x"), ("i2", "b", "x"),
        ("i3", "a", "y"), ("i3", "c", "y"),
        ("i4", "a", "x"),  # same time as event 9: the later event id wins
    ]
    assert ratings.item_codes.tolist() == [0, 0, 0, 1, 1, 2, 2, 3]
    assert ratings.annotator_codes.tolist() == [0, 1, 2, 0, 1, 0, 2, 0]
    assert ratings.label_codes.tolist() == [0, 0, 1, 0, 0, 1, 1, 0]
    assert {a.dtype for a in (ratings.item_codes, ratings.annotator_codes, ratings.label_codes)} == {
        np.dtype(np.int32)
    }
    assert len(ratings) == 8


def test_the_same_ratings_as_the_agreement_reads(store):
    coded = sorted(_triples(q.coded_ratings(store)))
    frame = agreement_queries.ratings(store)
    assert coded == sorted(frame[["item_id", "annotator_id", "label"]].itertuples(index=False, name=None))


def test_filters_apply_to_codes_and_dictionaries(store):
    crowd = q.coded_ratings(store, EventFilter(cohorts=("crowd",)))
    assert crowd.annotators.tolist() == ["b", "c"] and crowd.items.tolist() == ["i1", "i2", "i3"]
    assert _triples(crowd) == [("i1", "b", "x"), ("i1", "c", "y"), ("i2", "b", "x"), ("i3", "c", "y")]
    # Before b's re-label on Feb 20, b's rating of i2 is still y.
    january = q.coded_ratings(store, EventFilter(end=dt.date(2024, 1, 31)))
    assert _triples(january) == [
        ("i1", "a", "x"), ("i1", "b", "x"), ("i1", "c", "y"), ("i2", "a", "x"), ("i2", "b", "y")
    ]
    assert january.classes.tolist() == ["x", "y"]


def test_no_events_give_empty_codes_that_fit_codes_rejects(store):
    nobody = q.coded_ratings(store, EventFilter(cohorts=("vendor",)))
    assert len(nobody) == 0 and len(nobody.items) == len(nobody.annotators) == len(nobody.classes) == 0
    with pytest.raises(ValueError, match="empty"):
        DawidSkene().fit_codes(nobody.item_codes, nobody.annotator_codes, nobody.label_codes)


def test_fit_codes_from_the_store_matches_fit_on_the_ratings_frame(store):
    ratings = q.coded_ratings(store)
    coded = DawidSkene().fit_codes(
        ratings.item_codes, ratings.annotator_codes, ratings.label_codes,
        items=ratings.items, annotators=ratings.annotators, classes=ratings.classes,
    )
    framed = DawidSkene().fit(agreement_queries.ratings(store))
    pd.testing.assert_series_equal(coded.labels_, framed.labels_, check_index_type=False, check_dtype=False)
    np.testing.assert_allclose(coded.probas_.to_numpy(), framed.probas_.to_numpy(), atol=1e-12)
    assert coded.labels_.to_dict() == {"i1": "x", "i2": "x", "i3": "y", "i4": "x"}


def test_read_only_store_and_concurrent_readers_see_the_same_codes(path):
    with Store(path, read_only=True) as store:
        expected = _triples(q.coded_ratings(store))
        results, errors = [], []

        def read():
            try:
                results.append(_triples(q.coded_ratings(store)))
            except Exception as error:  # noqa: BLE001 - collected and re-raised by the assertion below
                errors.append(error)

        threads = [threading.Thread(target=read) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == [] and results == [expected] * 4
        # The reads leave nothing behind in the store (no TEMP table of a cursor outlives it).
        assert store.scalar("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'consensus_%'") == 0


def test_a_sample_of_items_keeps_all_their_ratings(tmp_path):
    with Store(tmp_path / "many.duckdb") as store:
        i = np.arange(6000)
        add_events(store, pd.DataFrame({
            "item_id": [f"item{n}" for n in i // 3], "annotator_id": [f"a{n}" for n in i % 3],
            "label": ((i * 7) % 4).astype(str), "labeled_at": pd.Timestamp("2024-01-01"),
        }))
        full, sample = q.coded_ratings(store), q.coded_ratings(store, sample_modulus=5)
    assert 250 < len(sample.items) < 550  # about 2,000 / 5 items
    assert len(sample.item_codes) == 3 * len(sample.items)  # all three ratings of each sampled item
    kept = set(_triples(full)) & {(item, a, label) for item, a, label in _triples(sample)}
    assert kept == set(_triples(sample))


def test_coding_in_two_parts_gives_the_same_codes(store, monkeypatch):
    # From 2^20 ratings the item ids are coded in two parts cut at about their median id (in two threads):
    # forced here on the small store, the codes and dictionaries are those of one part.
    whole = q.coded_ratings(store)
    monkeypatch.setattr(q, "_SPLIT_FROM", 1)
    parts = q.coded_ratings(store)
    for name in ("item_codes", "annotator_codes", "label_codes"):
        np.testing.assert_array_equal(getattr(parts, name), getattr(whole, name))
        assert getattr(parts, name).dtype == np.int32
    for name in ("items", "annotators", "classes"):
        pd.testing.assert_index_equal(getattr(parts, name), getattr(whole, name))


def test_ids_and_labels_with_quotes_in_two_parts(tmp_path, monkeypatch):
    # Annotator ids and labels reach DuckDB inside an ENUM literal: quotes must survive it.
    monkeypatch.setattr(q, "_SPLIT_FROM", 64)
    with Store(tmp_path / "quotes.duckdb") as store:
        i = np.arange(900)
        add_events(store, pd.DataFrame({
            "item_id": [f"it'{n:03d}" for n in (i * 37) % 300], "annotator_id": ["o'brien", "a", "z\\"] * 300,
            "label": np.where((i + i // 300) % 4 == 0, "don't", "ok"),
            "labeled_at": pd.Timestamp("2024-01-01") + pd.to_timedelta(i, unit="min"),
        }))  # each (item, annotator) pair three times: the latest label counts
        ratings = q.coded_ratings(store)
        frame = agreement_queries.ratings(store)
    assert ratings.annotators.tolist() == sorted(["o'brien", "a", "z\\"])
    assert ratings.classes.tolist() == ["don't", "ok"]
    assert ratings.items.tolist() == sorted({f"it'{n:03d}" for n in range(300)})
    pairs = ratings.item_codes.astype(np.int64) * len(ratings.annotators) + ratings.annotator_codes
    assert (np.diff(pairs) > 0).all()  # sorted by item, then annotator; one rating per pair
    assert sorted(_triples(ratings)) == sorted(frame[["item_id", "annotator_id", "label"]].itertuples(
        index=False, name=None))
