"""Duplicate keys of an import: within the file and against the store, at the edges of the key ranges.

The file's keys are looked up among the store rows within their min/max when those are fewer than the
file's rows, in the whole store table otherwise (``staging.store_rows_near``); in-file duplicates are found
through a hash of the key. These tests pin the edges of both.
"""

from __future__ import annotations

import pytest

from analytics.ingest import pipeline as ingest
from analytics.store import Store

HEADER = "item_id,annotator_id,label,labeled_at,confidence\n"
STORE_DUPLICATE = (
    "duplicate event: column 'item_id, annotator_id, label, labeled_at': "
    "duplicate of an event already in the store (batch {})"
)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store.duckdb") as s:
        yield s


def write(tmp_path, name: str, rows: list[str], header: str = HEADER):
    path = tmp_path / name
    path.write_text(header + "".join(rows))
    return path


def test_store_duplicates_inside_a_wider_key_range_are_rejected(store, tmp_path):
    stored = [f"i{n},a{n},cat,2024-01-0{n} 10:00:00,\n" for n in range(3, 7)]
    first = ingest.ingest(store, write(tmp_path, "a.csv", stored))
    rows = [
        "i0,a0,cat,2023-12-31 10:00:00,\n",
        stored[0],
        "i4,a4,cat,2024-01-04 10:00:01,\n",  # the same label a second later: a new event
        stored[3],
        "i9,a9,dog,2024-02-01 10:00:00,\n",
    ]
    report = ingest.ingest(store, write(tmp_path, "b.csv", rows))
    assert report.rejects[["row_number", "reason"]].values.tolist() == [
        [3, STORE_DUPLICATE.format(first.batch_id)],
        [5, STORE_DUPLICATE.format(first.batch_id)],
    ]
    assert store.query("SELECT item_id FROM items ORDER BY 1").item_id.tolist() == [
        "i0",
        "i3",
        "i4",
        "i5",
        "i6",
        "i9",
    ]
    assert store.scalar("SELECT count(*) FROM label_events") == 7


def test_store_duplicates_are_rejected_when_the_store_has_more_rows_in_range(store, tmp_path):
    stored = [f"i{n},a1,cat,2024-01-0{n} 10:00:00,\n" for n in range(1, 8)]
    first = ingest.ingest(store, write(tmp_path, "a.csv", stored))
    report = ingest.ingest(store, write(tmp_path, "b.csv", [stored[0], "i8,a1,cat,2024-01-09 10:00:00,\n"]))
    assert report.rejects[["row_number", "reason"]].values.tolist() == [
        [2, STORE_DUPLICATE.format(first.batch_id)]
    ]
    assert store.scalar("SELECT count(*) FROM items") == 8


def test_an_infinite_timestamp_is_rejected_and_never_becomes_a_key(store, tmp_path):
    rows = ["i1,a1,cat,-infinity,\n", "i1,a1,cat,2024-01-01,\n"]
    report = ingest.ingest(store, write(tmp_path, "a.csv", rows))
    assert report.rows_accepted == 1
    assert report.rejects[["row_number", "column_name"]].values.tolist() == [[2, "labeled_at"]]
    assert report.rejects.reason[0].startswith("bad timestamp: column 'labeled_at'")
    assert store.scalar("SELECT count(*) FROM label_events") == 1


def test_in_file_duplicates_point_at_the_first_accepted_row(store, tmp_path):
    rows = [
        "i1,a1,cat,2024-01-01,7\n",  # out of range: rejected, so not the row the others repeat
        "i1,a1,cat,2024-01-01,\n",
        "i2,a1,cat,2024-01-01,\n",
        "i1,a1,cat,2024-01-01,0.5\n",
        "i1,a1,cat,2024-01-01 00:00:00,\n",
    ]
    report = ingest.ingest(store, write(tmp_path, "a.csv", rows))
    assert report.rejected_by_reason == {"duplicate event": 2, "out of range": 1}
    assert report.rejects[["row_number", "reason"]].values.tolist()[1:] == [
        [
            5,
            "duplicate event: column 'item_id, annotator_id, label, labeled_at': expected each row once, "
            "got a duplicate of line 3",
        ],
        [
            6,
            "duplicate event: column 'item_id, annotator_id, label, labeled_at': expected each row once, "
            "got a duplicate of line 3",
        ],
    ]
    assert store.scalar("SELECT count(*) FROM label_events") == 2


def test_store_duplicate_with_a_null_key_part_is_rejected(store, tmp_path):
    header = "item_id,label,source\n"
    first = ingest.ingest(
        store, write(tmp_path, "a.csv", ["i1,cat,\n", "i2,cat,expert\n"], header), kind="gold"
    )
    assert first.rows_accepted == 2
    report = ingest.ingest(
        store, write(tmp_path, "b.csv", ["i1,cat,expert\n", "i1,cat,\n", "i0,dog,\n"], header), kind="gold"
    )
    assert report.rejects[["row_number", "reason"]].values.tolist() == [
        [
            3,
            "gold label already present: column 'item_id, label, source': gold label already in the store "
            f"(batch {first.batch_id})",
        ]
    ]
    assert store.scalar("SELECT count(*) FROM gold_labels") == 4
