"""Items enriched by a later import: events first (bare items), the items file after, then changes.

Nothing is lost: every replaced value stays in ``item_history`` / ``item_attribute_history`` with the batch
that replaced it (who and when are on that batch), and reads see the latest values.
"""

from __future__ import annotations

import pathlib

import pandas as pd
import pytest

from analytics.core.schema import EventFilter
from analytics.ingest import pipeline as ingest
from analytics.store import Store
from analytics.store import item_history as history_queries
from analytics.store import overview as overview_queries
from analytics.store import slices as slice_queries

EVENTS = (
    "item_id,annotator_id,label,labeled_at\n"
    "i1,a1,cat,2024-01-01\ni1,a2,dog,2024-01-01\ni2,a1,cat,2024-01-02\ni2,a2,cat,2024-01-02\n"
    "i3,a1,dog,2024-01-03\n"
)
ITEMS = "item_id,split,text,source\ni1,train,a cat photo,fax\ni2,test,,scan\ni3,,,fax\n"


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store.duckdb") as s:
        yield s


def rows(frame: pd.DataFrame) -> list[list]:
    return [[None if pd.isna(v) else v for v in row] for row in frame.values.tolist()]


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_items_imported_after_their_events_add_columns_and_slice_attributes(store, tmp_path):
    events = ingest.ingest(store, write(tmp_path, "events.csv", EVENTS), dataset="shop")
    assert rows(store.query("SELECT item_id, dataset, split FROM items ORDER BY 1")) == [
        ["i1", "shop", None], ["i2", "shop", None], ["i3", "shop", None]
    ]
    with ingest.prepare(store, write(tmp_path, "items.csv", ITEMS), kind="items", dataset="other") as dry:
        assert dry.report.items == {"new": 0, "changed": 3, "unchanged": 0}
        assert "Items: 0 new, 3 changed" in dry.report.summary()
    report = ingest.ingest(store, write(tmp_path, "items.csv", ITEMS), kind="items", dataset="other",
                           created_by="ana")
    # Every row is accepted: nothing is "already present, not overwritten".
    assert (report.rows_accepted, report.rows_rejected) == (3, 0)
    assert report.items == {"new": 0, "changed": 3, "unchanged": 0}
    current = store.query("SELECT item_id, dataset, split, text, batch_id FROM items ORDER BY 1")
    assert rows(current[["item_id", "dataset", "split", "text"]]) == [
        ["i1", "shop", "train", "a cat photo"],  # the dataset stays: the file names none
        ["i2", "shop", "test", None],
        ["i3", "shop", None, None],
    ]
    assert set(current.batch_id) == {report.batch_id, events.batch_id}  # i3's columns did not change
    assert store.query("SELECT item_id, key, value FROM item_attributes ORDER BY 1").values.tolist() == [
        ["i1", "source", "fax"], ["i2", "source", "scan"], ["i3", "source", "fax"]
    ]
    # The bare rows that were replaced are in the history, with the batch that replaced them.
    replaced = store.query("SELECT item_id, batch_id, superseded_by FROM item_history ORDER BY 1")
    assert replaced.values.tolist() == [
        ["i1", events.batch_id, report.batch_id], ["i2", events.batch_id, report.batch_id]
    ]
    # Reads see the attributes: the slice filter and the slice options now know them.
    fax = EventFilter(attribute="source", attribute_value="fax")
    assert overview_queries.totals(store, fax)["events"] == 3
    assert overview_queries.filter_options(store)["attributes"] == {"source": ["fax", "scan"]}
    assert slice_queries.slice_attributes(store).values.tolist() == [["source", 2, 3]]


def test_a_later_file_changes_values_and_the_history_keeps_who_and_when(store, tmp_path):
    first = ingest.ingest(store, write(tmp_path, "items.csv", ITEMS), kind="items", created_by="ana")
    again = ingest.ingest(store, write(tmp_path, "same.csv", ITEMS + "\n"), kind="items")
    assert again.items == {"new": 0, "changed": 0, "unchanged": 3}
    assert store.scalar("SELECT count(*) FROM item_history") == 0
    changes = "item_id,split,source,region\ni1,test,scan,eu\ni4,train,web,\n"
    second = ingest.ingest(store, write(tmp_path, "changes.csv", changes), kind="items", created_by="bo")
    assert second.items == {"new": 1, "changed": 1, "unchanged": 0}
    assert store.scalar("SELECT split FROM items WHERE item_id = 'i1'") == "test"
    assert store.scalar("SELECT text FROM items WHERE item_id = 'i1'") == "a cat photo"  # kept: not given
    attributes = store.query("SELECT key, value FROM item_attributes WHERE item_id = 'i1' ORDER BY 1")
    assert attributes.values.tolist() == [["region", "eu"], ["source", "scan"]]
    history = history_queries.item_history(store, "i1")
    assert history.columns.tolist() == [
        "field", "value", "batch_id", "created_by", "created_at", "superseded_by", "current"
    ]
    split = history[history.field == "split"]
    assert rows(split[["value", "created_by", "superseded_by", "current"]]) == [
        ["train", "ana", second.batch_id, False], ["test", "bo", None, True]
    ]
    source = history[history.field == "attribute:source"]
    assert source[["value", "batch_id", "created_by", "current"]].values.tolist() == [
        ["fax", first.batch_id, "ana", False], ["scan", second.batch_id, "bo", True]
    ]
    changed_at = history.loc[history.batch_id == second.batch_id, "created_at"]
    assert (changed_at >= history.loc[~history.current, "created_at"].max()).all()
    # The new item gets the import's dataset; its empty region is not an attribute.
    assert store.scalar("SELECT dataset FROM items WHERE item_id = 'i4'") == "default"
    assert store.scalar("SELECT count(*) FROM item_attributes WHERE item_id = 'i4'") == 1


def test_an_items_file_naming_a_dataset_moves_the_item_and_records_it(store, tmp_path):
    ingest.ingest(store, write(tmp_path, "events.csv", EVENTS), dataset="shop")
    moved = ingest.ingest(store, write(tmp_path, "items.csv", "item_id,dataset\ni1,archive\n"), kind="items")
    assert store.query("SELECT dataset FROM items WHERE item_id = 'i1'").dataset.tolist() == ["archive"]
    assert store.query("SELECT dataset, superseded_by FROM item_history").values.tolist() == [
        ["shop", moved.batch_id]
    ]
    assert store.scalar("SELECT count(*) FROM items") == 3


def test_a_label_studio_export_enriches_items_its_events_created_before(store, tmp_path):
    ingest.ingest(store, write(tmp_path, "events.csv", "item_id,annotator_id,label,labeled_at\n"
                                                       "101,a1,cat,2024-01-01\n"), dataset="shop")
    export = ('[{"id": 101, "data": {"text": "hello", "source": "web"}, "annotations": [{"completed_by": 7, '
              '"created_at": "2024-03-01T10:00:00Z", "result": [{"type": "choices", '
              '"value": {"choices": ["dog"]}}]}]}]')
    report = ingest.ingest(store, write(tmp_path, "export.json", export), dataset="reviews")
    assert report.rows_accepted == 1 and report.items == {"new": 0, "changed": 1, "unchanged": 0}
    assert store.query("SELECT dataset, text FROM items").values.tolist() == [["shop", "hello"]]
    assert store.query("SELECT key, value FROM item_attributes").values.tolist() == [["source", "web"]]


def test_a_labelbox_export_enriches_items_the_store_holds_and_never_moves_them(store, tmp_path):
    """Its data rows name their project as the dataset of new items; an item the store holds stays put."""
    events = write(tmp_path, "events.csv",
                   "item_id,annotator_id,label,labeled_at\nreview-001,a1,positive,2024-01-01\n")
    first = ingest.ingest(store, events, dataset="shop")
    export = pathlib.Path(__file__).resolve().parents[1] / "data" / "labelbox" / "export.ndjson"
    report = ingest.ingest(store, export, kind="labelbox")
    assert report.items == {"new": 4, "changed": 1, "unchanged": 0}
    items = store.query("SELECT item_id, dataset, media_ref FROM items WHERE item_id IN ('review-001', "
                        "'review-004') ORDER BY 1")
    assert rows(items) == [["review-001", "shop", "https://storage.example.com/reviews/001.txt"],
                           ["review-004", "Sentiment review", "https://storage.example.com/reviews/004.txt"]]
    history = store.query("SELECT dataset, media_ref, batch_id, superseded_by FROM item_history")
    assert rows(history) == [["shop", None, first.batch_id, report.batch_id]]
    attributes = store.query("SELECT key, value FROM item_attributes WHERE item_id = 'review-001' ORDER BY 1")
    assert rows(attributes) == [["external_id", "001.txt"], ["workflow_status", "DONE"]]


def test_a_commit_rolled_back_leaves_items_and_history_as_they_were(store, tmp_path, monkeypatch):
    ingest.ingest(store, write(tmp_path, "events.csv", EVENTS))
    before = store.query("SELECT * FROM items ORDER BY item_id")
    original = history_queries.write

    def write_then_fail(cur, stage, **kw):
        original(cur, stage, **kw)
        raise RuntimeError("power cut")

    monkeypatch.setattr(history_queries, "write", write_then_fail)
    with pytest.raises(RuntimeError, match="power cut"):
        ingest.ingest(store, write(tmp_path, "items.csv", ITEMS), kind="items")
    assert store.query("SELECT * FROM items ORDER BY item_id").equals(before)
    assert store.scalar("SELECT count(*) FROM item_history") == 0
    assert store.scalar("SELECT count(*) FROM item_attributes") == 0
