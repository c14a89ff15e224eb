"""``rating_repeats``: the (item, annotator) pairs with more than one event, kept whole at every commit.

Readers trust it to find re-labels (``analytics.store.ratings``), so after any sequence of imports it must
equal a recount over every event, and the ratings read through it must equal the latest event of each pair
worked out in pandas.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from analytics.ingest import pipeline as ingest
from analytics.store import Store
from analytics.store import agreement as q
from analytics.store.consensus import coded_ratings
from analytics.store.migrations import LATEST_VERSION
from analytics.store.ratings import REPEATS_SQL
from tests.builders import old_schema, write_raw

HEADER = "item_id,annotator_id,label,labeled_at\n"


def write(tmp_path, name, rows):
    path = tmp_path / name
    path.write_text(HEADER + "".join(row + "\n" for row in rows))
    return path


def pairs(store):
    return sorted(store.query("SELECT item_id, annotator_id FROM rating_repeats").itertuples(index=False,
                                                                                          name=None))


def latest_counts(store) -> dict:
    """Per (item hash, label): annotators whose latest event on the item gave the label, in pandas."""
    events = store.query("SELECT hash(item_id) AS item_key, annotator_id, label, labeled_at, event_id "
                         "FROM label_events")
    latest = events.sort_values(["labeled_at", "event_id"]).groupby(["item_key", "annotator_id"]).tail(1)
    return latest.groupby(["item_key", "label"]).size().to_dict()


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store.duckdb") as s:
        yield s


def test_relabels_within_and_across_batches_are_recorded_once(store, tmp_path):
    first = ingest.ingest(store, write(tmp_path, "a.csv", [
        "i1,a,x,2024-01-01", "i1,a,y,2024-01-09",  # a re-labels i1 within the file
        "i2,a,x,2024-01-01", "i2,a,x,2024-01-01",  # an exact duplicate: rejected, no re-label
        "i2,b,x,2024-01-02", "i3,c,y,2024-01-02",
    ]))
    assert first.rows_rejected == 1
    assert pairs(store) == [("i1", "a")]
    second = ingest.ingest(store, write(tmp_path, "b.csv", [
        "i2,b,y,2024-02-01",  # b re-labels i2 from the first file
        "i1,a,x,2024-02-01",  # a third label of a pair already recorded
        "i4,d,x,2024-02-01",
    ]))
    assert pairs(store) == [("i1", "a"), ("i2", "b")]
    assert store.query("SELECT batch_id FROM rating_repeats WHERE item_id = 'i2'").batch_id.tolist() == [
        second.batch_id
    ]
    counts = q.label_counts(store)
    assert {(r.item_key, r.label): r.n for r in counts.itertuples()} == latest_counts(store)


def test_random_imports_keep_the_table_equal_to_a_recount(store, tmp_path):
    rng = np.random.default_rng(7)
    for batch in range(4):
        n = 400
        rows = [
            f"i{rng.integers(150)},a{rng.integers(12)},{rng.choice(['x', 'y', 'z'])},"
            f"2024-0{batch + 1}-{rng.integers(1, 28):02d} {rng.integers(24):02d}:00:00"
            for _ in range(n)
        ]
        ingest.ingest(store, write(tmp_path, f"{batch}.csv", rows))
        recount = sorted(store.query(REPEATS_SQL)[["item_id", "annotator_id"]].itertuples(index=False,
                                                                                           name=None))
        assert pairs(store) == recount
    assert len(pairs(store)) > 100  # the draw does re-label: the test exercises both branches
    counts = q.label_counts(store)
    assert {(r.item_key, r.label): r.n for r in counts.itertuples()} == latest_counts(store)
    ratings = q.ratings(store)
    assert len(ratings) == store.scalar("SELECT count(DISTINCT (item_id, annotator_id)) FROM label_events")


def test_migration_2_backfills_a_version_1_store(tmp_path):
    path = tmp_path / "v1.duckdb"
    con = duckdb.connect(str(path))
    old_schema(con, [1])
    events = pd.DataFrame({
        "event_id": [1, 2, 3, 4], "item_id": ["i1", "i1", "i2", "i2"], "annotator_id": ["a", "a", "a", "b"],
        "label": ["x", "y", "x", "x"], "labeled_at": pd.to_datetime(["2024-01-01", "2024-01-02"] * 2),
        "batch_id": ["b1", "b2", "b1", "b1"],
    })
    write_raw(con, "label_events", events)
    con.close()
    with Store(path) as store:
        assert store.schema_version() == LATEST_VERSION
        assert store.query("SELECT * FROM rating_repeats").values.tolist() == [["i1", "a", "b2"]]
        assert sorted(q.label_counts(store)["n"].tolist()) == [1, 2]  # i1: a's latest y; i2: a and b x


def test_a_same_instant_relabel_resolves_to_the_later_event_in_every_read(store, tmp_path):
    # One annotator labels an item twice at the same instant: the later event (higher event_id) is the
    # rating, in the SQL reads as in coded_ratings and in pandas (latest_counts, core.ratings).
    ingest.ingest(store, write(tmp_path, "tie.csv", [
        "i1,a,x,2024-01-01", "i1,a,y,2024-01-01", "i1,b,y,2024-01-01",
        "i2,a,y,2024-01-01", "i2,a,x,2024-01-01", "i2,b,x,2024-01-01",
    ]))
    later = {("i1", "a"): "y", ("i1", "b"): "y", ("i2", "a"): "x", ("i2", "b"): "x"}
    ratings = q.ratings(store)
    assert {(r.item_id, r.annotator_id): r.label for r in ratings.itertuples()} == later
    coded = coded_ratings(store)
    codes = zip(coded.item_codes, coded.annotator_codes, coded.label_codes, strict=True)
    assert {(coded.items[i], coded.annotators[a]): coded.classes[lab] for i, a, lab in codes} == later
    counts = q.label_counts(store)
    assert {(r.item_key, r.label): r.n for r in counts.itertuples()} == latest_counts(store)
    assert counts["n"].tolist() == [2, 2]  # both annotators agree on each item
    cells = q.pairwise_tables(store, min_overlap=1)
    assert (cells["label_a"] == cells["label_b"]).all() and cells["n"].sum() == 2
