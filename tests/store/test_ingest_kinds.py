"""Import of the other input kinds: Label Studio, items, predictions, vocabulary, gold, guidelines."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics.ingest import pipeline as ingest
from analytics.ingest.pipeline import IngestError, detect_kind
from analytics.store import Store

LABEL_STUDIO = [
    {
        "id": 101,
        "data": {"text": "great phone", "source": "web", "rating": 5, "meta": {"nested": True}},
        "annotations": [
            {
                "completed_by": 7,
                "created_at": "2024-03-01T10:00:00.000000Z",
                "lead_time": 4.5,
                "result": [{"type": "choices", "value": {"choices": ["positive"]}}],
            },
            {
                "completed_by": {"id": 8, "email": "b@x.org"},
                "created_at": "2024-03-01T11:00:00Z",
                "result": [{"type": "choices", "value": {"choices": ["negative"]}}],
            },
            {
                "completed_by": 9,
                "created_at": "2024-03-01T12:00:00Z",
                "was_cancelled": True,
                "result": [{"type": "choices", "value": {"choices": ["neutral"]}}],
            },
        ],
    },
    {
        "id": 102,
        "data": {"image": "s3://bucket/102.jpg", "source": "app"},
        "annotations": [
            {
                "completed_by": {"email": "c@x.org"},
                "created_at": "2024-03-02T09:00:00+01:00",
                "result": [{"type": "choices", "value": {"choices": ["positive"]}}],
            },
            {"completed_by": 7, "created_at": "2024-03-02T10:00:00Z", "result": []},
        ],
    },
]


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store.duckdb") as s:
        yield s


def test_label_studio_export(store, tmp_path):
    path = tmp_path / "project-1.json"
    path.write_text(json.dumps(LABEL_STUDIO))
    assert detect_kind(path) == "label-studio"
    report = ingest.ingest(store, path, dataset="reviews")
    assert report.kind == "label-studio"
    # A cancelled annotation is a row read and rejected (counted, not imported).
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (5, 3, 2)
    assert report.rejected_by_reason == {"cancelled annotation": 1, "missing value": 1}
    assert report.messages()[0].startswith(
        f"{path}, row 3: cancelled annotation: task 1 (id 101), annotation 3: Label Studio marks it"
    )
    assert report.messages()[1].startswith(f"{path}, row 5: missing value: column 'label'")
    events = store.query(
        "SELECT item_id, annotator_id, label, labeled_at, duration_s FROM label_events ORDER BY event_id"
    )
    assert events[["item_id", "annotator_id", "label"]].values.tolist() == [
        ["101", "7", "positive"],
        ["101", "8", "negative"],
        ["102", "c@x.org", "positive"],
    ]
    assert str(events.labeled_at[2]) == "2024-03-02 08:00:00"
    assert events.duration_s[0] == 4.5
    items = store.query(
        "SELECT item_id, dataset, coalesce(text, '-'), coalesce(media_ref, '-') FROM items ORDER BY 1"
    )
    assert items.values.tolist() == [
        ["101", "reviews", "great phone", "-"],
        ["102", "reviews", "-", "s3://bucket/102.jpg"],
    ]
    attributes = store.query("SELECT item_id, key, value FROM item_attributes ORDER BY 1, 2").values.tolist()
    assert attributes == [["101", "rating", "5"], ["101", "source", "web"], ["102", "source", "app"]]
    assert ingest.ingest(store, path).already_imported == report.batch_id


def test_label_studio_export_that_is_not_one(store, tmp_path):
    path = tmp_path / "export.json"
    path.write_text(json.dumps({"tasks": 3}))
    with pytest.raises(IngestError, match="expected a list of tasks"):
        ingest.ingest(store, path)


def test_items_with_attributes_and_csv_feature_columns(store, tmp_path):
    path = tmp_path / "items.csv"
    path.write_text(
        "item_id,split,text,source,region,f0,f1,f2\n"
        "i1,train,hello,fax,eu,0.1,0.2,0.3\n"
        "i2,test,,web,,1,2,3\n"
        "i1,train,again,fax,eu,0,0,0\n"
        "i3,test,x,web,us,1,two,3\n"
    )
    report = ingest.ingest(store, path, kind="items", dataset="docs")
    assert (report.rows_accepted, report.rows_rejected) == (2, 2)
    assert report.rejected_by_reason == {"duplicate item": 1, "wrong type": 1}
    assert report.messages(2) == [
        f"{path}, line 4: duplicate item: column 'item_id': expected each row once, got a duplicate of "
        "line 2",
        f"{path}, line 5: wrong type: column 'features': expected a list of numbers, got '[1, two, 3]'",
    ]
    items = store.query("SELECT item_id, dataset, split, text, features FROM items ORDER BY 1")
    assert items.item_id.tolist() == ["i1", "i2"] and set(items.dataset) == {"docs"}
    assert [round(x, 3) for x in items.features[0]] == [0.1, 0.2, 0.3]
    attributes = store.query("SELECT item_id, key, value FROM item_attributes ORDER BY 1, 2").values.tolist()
    assert attributes == [["i1", "region", "eu"], ["i1", "source", "fax"], ["i2", "source", "web"]]


def test_items_parquet_list_features_and_an_item_present_is_changed_with_its_history(store, tmp_path):
    path = tmp_path / "items.parquet"
    pq.write_table(
        pa.table({"item_id": ["i1", "i2"], "features": [[0.5, 1.5], [2.0, 3.0]], "age": [31, 40]}), path
    )
    first = ingest.ingest(store, path, kind="items")
    assert store.query("SELECT value FROM item_attributes ORDER BY 1").value.tolist() == ["31", "40"]
    again = tmp_path / "items2.parquet"
    pq.write_table(
        pa.table({"item_id": ["i2", "i3"], "features": [[9.0, 9.0], [1.0, 1.0]], "age": [1, 2]}), again
    )
    report = ingest.ingest(store, again, kind="items")
    assert (report.rows_accepted, report.rows_rejected) == (2, 0)
    assert report.items == {"new": 1, "changed": 1, "unchanged": 0}
    assert list(store.scalar("SELECT features FROM items WHERE item_id = 'i2'")) == [9.0, 9.0]
    assert store.scalar("SELECT value FROM item_attributes WHERE item_id = 'i2'") == "1"
    assert store.scalar("SELECT count(*) FROM items") == 3
    old = store.query("SELECT features, batch_id, superseded_by FROM item_history WHERE item_id = 'i2'")
    assert [list(old.features[0]), old.batch_id[0], old.superseded_by[0]] == [
        [2.0, 3.0], first.batch_id, report.batch_id
    ]
    history = store.query("SELECT value, batch_id, superseded_by FROM item_attribute_history")
    assert history.values.tolist() == [["40", first.batch_id, report.batch_id]]


def test_predictions_long_and_wide(store, tmp_path):
    long = tmp_path / "preds.csv"
    long.write_text(
        "item_id,label,prob,model_version\ni1,cat,0.7,m1\ni1,dog,0.3,m1\ni2,cat,1.2,m1\ni2,dog,x,m1\n"
    )
    report = ingest.ingest(store, long, kind="predictions")
    assert (report.rows_accepted, report.rows_rejected) == (2, 2)
    assert report.rejected_by_reason == {"out of range": 1, "wrong type": 1}
    wide = tmp_path / "wide.parquet"
    pq.write_table(
        pa.table({"item_id": ["i1", "i2", "i3"], "prob_cat": [0.6, 0.1, 1.5], "prob_dog": [0.4, 0.9, 0.2]}),
        wide,
    )
    assert detect_kind(wide) == "predictions"
    with pytest.raises(IngestError, match="no column 'model_version' and no model_version argument"):
        ingest.prepare(store, wide, kind="predictions")
    report = ingest.ingest(store, wide, kind="predictions", model_version="m2")
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (3, 2, 1)
    assert report.messages() == [
        f"{wide}, row 3: out of range: column 'prob': expected a number in [0, 1], got '1.5'"
    ]
    rows = store.query(
        "SELECT item_id, label, prob FROM predictions WHERE model_version = 'm2' ORDER BY 1, 2"
    )
    assert rows.values.tolist() == [
        ["i1", "cat", 0.6],
        ["i1", "dog", 0.4],
        ["i2", "cat", 0.1],
        ["i2", "dog", 0.9],
    ]


def test_vocabulary_then_unknown_labels_are_rejected(store, tmp_path):
    vocabulary = tmp_path / "labels.csv"
    vocabulary.write_text(
        "label,parent,description\nanimal,,\ncat,animal,a cat\ndog,animal,a dog\ncat,,again\n"
    )
    report = ingest.ingest(store, vocabulary, kind="vocabulary")
    assert (report.rows_accepted, report.rows_rejected) == (3, 1)
    events = tmp_path / "events.csv"
    events.write_text("item_id,annotator_id,label,labeled_at\ni1,a1,cat,2024-01-01\ni2,a1,cta,2024-01-01\n")
    events_report = ingest.ingest(store, events)
    assert events_report.messages() == [
        f"{events}, line 3: unknown label: column 'label': expected a label of the declared vocabulary "
        "(label_schema), got 'cta'"
    ]
    gold = tmp_path / "gold.csv"
    gold.write_text("item_id,label,source\ni1,cat,expert\ni2,cow,expert\ni1,cat,expert\n")
    report = ingest.ingest(store, gold, kind="gold")
    assert report.rejected_by_reason == {"duplicate gold label": 1, "unknown label": 1}
    assert (
        ingest.prepare(store, events, vocabulary_check=False).report.already_imported
        == events_report.batch_id
    )
    events.write_text("item_id,annotator_id,label,labeled_at\ni3,a1,cta,2024-01-01\n")
    with ingest.prepare(store, events, vocabulary_check=False) as unchecked:
        assert unchecked.report.rows_accepted == 1


def test_guidelines_with_unparseable_date(store, tmp_path):
    path = tmp_path / "guidelines.csv"
    path.write_text("version,effective_at,summary\nv1,2024-01-01,first\nv2,next week,second\n")
    report = ingest.ingest(store, path, kind="guidelines")
    assert len(report.messages()) == 1
    assert report.messages()[0].startswith(
        f"{path}, line 3: bad timestamp: column 'effective_at': expected an ISO-8601 time from 1990-01-01 "
    )
    assert report.messages()[0].endswith("got 'next week'")
    assert store.query("SELECT version FROM guidelines").version.tolist() == ["v1"]


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("item_id,annotator_id,label,labeled_at", "events"),
        ("version,effective_at", "guidelines"),
        ("item_id,label,prob", "predictions"),
        ("item_id,prob_cat", "predictions"),
        ("item_id,label", "gold"),
        ("label,parent", "vocabulary"),
        ("item_id,text", "items"),
    ],
)
def test_detect_kind_from_columns(tmp_path, header, kind):
    path = tmp_path / "input.csv"
    path.write_text(header + "\n")
    assert detect_kind(path) == kind



def test_a_byte_order_mark_opening_a_json_file_is_not_data(store, tmp_path):
    """Some Windows tools write a UTF-8 byte order mark first; the file means the same without it."""
    bom = b"\xef\xbb\xbf"
    export = tmp_path / "project-1.json"
    export.write_bytes(bom + json.dumps(LABEL_STUDIO).encode())
    assert detect_kind(export) == "label-studio"
    assert ingest.ingest(store, export, dataset="reviews").rows_accepted == 3
    for first in (b"", b"\n"):  # the mark before the first record, or alone on the first line
        lines = [{"item_id": f"i{len(first)}-{n}", "annotator_id": "a1", "label": "cat",
                  "labeled_at": "2024-01-02"} for n in range(2)]
        events = tmp_path / f"events{len(first)}.jsonl"
        events.write_bytes(bom + first + b"\n".join(json.dumps(line).encode() for line in lines))
        report = ingest.ingest(store, events, kind="events")
        assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (2, 2, 0)
