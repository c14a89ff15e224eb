"""Import of label events: validation report, rejects with reasons, idempotency, transactions.

Every test runs on a real temporary DuckDB file.
"""

from __future__ import annotations

import gzip
import io

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics.ingest import pipeline as ingest
from analytics.ingest.pipeline import IngestError
from analytics.store import Store, batches
from tests.builders import write_raw

HEADER = "item_id,annotator_id,label,labeled_at,confidence,duration_s,cohort\n"
GOOD = [
    "i1,a1,cat,2024-01-01T10:00:00,0.9,3.5,expert\n",
    "i1,a2,dog,2024-01-01 11:00:00,,,crowd\n",
    "i2,a1,dog,2024-01-02,,,\n",
]


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store.duckdb") as s:
        yield s


def write(tmp_path, name: str, text: str | bytes):
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def counts(store: Store) -> tuple:
    return tuple(
        store.scalar("SELECT count(*) FROM " + table)
        for table in ("ingest_batches", "ingest_rejects", "items", "annotators", "label_events")
    )


def test_valid_events_land_with_items_annotators_and_ids(store, tmp_path):
    path = write(tmp_path, "events.csv", HEADER + "".join(GOOD))
    report = ingest.ingest(store, path)
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (3, 3, 0)
    assert report.batch_id and "3 rows read, 3 accepted, 0 rejected" in report.summary()
    events = store.query("SELECT * FROM label_events ORDER BY event_id")
    assert events.event_id.tolist() == [1, 2, 3]
    assert events.labeled_at.astype(str).tolist() == [
        "2024-01-01 10:00:00",
        "2024-01-01 11:00:00",
        "2024-01-02 00:00:00",
    ]
    assert set(events.batch_id) == {report.batch_id}
    assert store.query("SELECT item_id, dataset FROM items ORDER BY 1").values.tolist() == [
        ["i1", "default"],
        ["i2", "default"],
    ]
    assert store.query("SELECT annotator_id, cohort FROM annotators ORDER BY 1").values.tolist() == [
        ["a1", "expert"],
        ["a2", "crowd"],
    ]


def test_prepare_writes_nothing_and_ids_continue(store, tmp_path):
    before = counts(store)
    prepared = ingest.prepare(store, write(tmp_path, "events.csv", HEADER + "".join(GOOD)))
    assert prepared.report.rows_accepted == 3 and prepared.report.batch_id is None
    assert counts(store) == before
    ingest.commit(store, prepared)
    ingest.ingest(store, write(tmp_path, "more.csv", HEADER + "i3,a3,cat,2024-02-01,,,vendor\n"))
    assert store.query("SELECT event_id FROM label_events ORDER BY 1").event_id.tolist() == [1, 2, 3, 4]


# (bad row, column named in the reason, category, words of what was expected)
BAD_ROWS = [
    (
        "i9,a1,cat,2024-13-45,,,\n",
        "labeled_at",
        "bad timestamp",
        "expected an ISO-8601 time from 1990-01-01 00:00 to ",
    ),
    (
        "i9,a1,cat,2999-01-01,,,\n",
        "labeled_at",
        "timestamp out of range",
        "expected a time from 1990-01-01 00:00 to ",
    ),
    ("i9,a1,cat,,,,\n", "labeled_at", "missing value", "expected an ISO-8601 timestamp"),
    (",a1,cat,2024-01-01,,,\n", "item_id", "missing value", "expected a non-empty item id"),
    ("i9,  ,cat,2024-01-01,,,\n", "annotator_id", "missing value", "expected a non-empty annotator id"),
    ("i9,a1,cat,2024-01-01,high,,\n", "confidence", "wrong type", "expected a number in [0, 1], got 'high'"),
    ("i9,a1,cat,2024-01-01,1.5,,\n", "confidence", "out of range", "expected a number in [0, 1], got '1.5'"),
    ("i9,a1,cat,2024-01-01,,-3,\n", "duration_s", "out of range", "expected a non-negative number"),
    ("i9,a1,cat,2024-01-01,,soon,\n", "duration_s", "wrong type", "expected a non-negative number"),
    (
        "i1,a1,cat,2024-01-01T10:00:00,,,\n",
        "item_id, annotator_id, label, labeled_at",
        "duplicate event",
        "duplicate of line 2",
    ),
    ("i9,a1,cat\n", "labeled_at", "malformed row", "expected 7 fields, found 3"),
    ("i9,a1,cat,2024-01-01,,,,extra\n", None, "malformed row", "expected 7 fields, found 8"),
    ("i9,a1,c\xe9t,2024-01-01,,,\n".encode("latin-1"), "label", "invalid encoding", "expected UTF-8 text"),
]


@pytest.mark.parametrize(("bad", "column", "category", "expected"), BAD_ROWS)
def test_bad_row_is_rejected_with_file_row_column_and_expectation(
    store, tmp_path, bad, column, category, expected
):
    bad = bad if isinstance(bad, bytes) else bad.encode()
    path = write(tmp_path, "events.csv", (HEADER + GOOD[0] + GOOD[1]).encode() + bad + GOOD[2].encode())
    report = ingest.ingest(store, path)
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (4, 3, 1)
    assert report.rejected_by_reason == {category: 1}
    reject = report.rejects.iloc[0]
    assert reject.row_number == 4  # the file's line: the header is line 1
    assert reject.column_name == column
    assert reject.reason.startswith(category + ": ")
    assert expected in reject.reason
    message = report.messages()[0]
    assert message.startswith(f"{path}, line 4: ")
    if column:
        assert f"column '{column}'" in message
    stored = batches.list_rejects(store, report.batch_id)
    assert stored[["row_number", "reason"]].values.tolist() == [[4, reject.reason]]
    assert stored.raw[0]
    assert store.scalar("SELECT count(*) FROM label_events") == 3


@pytest.mark.parametrize(
    ("tail", "expected"),
    [
        ("i9,a1,ca", "line 5: malformed row: column 'labeled_at': expected 7 fields, found 3"),
        ('i9,a1,"ca', "line 5: malformed row: unterminated quote: expected a closing '\"' on this line"),
        ("i9,a1,cat,2024-01-0", "line 5: malformed row: column 'confidence': expected 7 fields, found 4"),
    ],
)
def test_truncated_csv_rejects_its_last_row(store, tmp_path, tail, expected):
    path = write(tmp_path, "events.csv", HEADER + "".join(GOOD) + tail)
    report = ingest.ingest(store, path)
    assert (report.rows_read, report.rows_accepted) == (4, 3)
    assert len(report.messages()) == 1 and report.messages()[0].startswith(f"{path}, {expected}")


def test_rows_after_a_malformed_line_keep_their_file_line_numbers(store, tmp_path):
    rows = [GOOD[0], "broken\n", GOOD[1], "i5,a5,cat,not a date,,,\n", "x,y\n", "i6,a6,cat,2024-13-01,,,\n"]
    report = ingest.prepare(store, write(tmp_path, "events.csv", HEADER + "".join(rows))).report
    assert report.rejects[["row_number", "column_name"]].values.tolist() == [
        [3, "annotator_id"],
        [5, "labeled_at"],
        [6, "label"],
        [7, "labeled_at"],
    ]


def test_relabel_at_another_time_is_valid_and_store_duplicates_are_rejected(store, tmp_path):
    first = ingest.ingest(store, write(tmp_path, "a.csv", HEADER + "".join(GOOD)))
    again = HEADER + GOOD[0] + "i1,a1,dog,2024-03-01T10:00:00,,,\n"
    report = ingest.ingest(store, write(tmp_path, "b.csv", again))
    assert (report.rows_accepted, report.rows_rejected) == (1, 1)
    assert report.rejects.reason[0] == (
        "duplicate event: column 'item_id, annotator_id, label, labeled_at': "
        f"duplicate of an event already in the store (batch {first.batch_id})"
    )
    assert store.scalar("SELECT count(*) FROM label_events WHERE item_id = 'i1' AND annotator_id = 'a1'") == 2


def test_reimport_of_same_content_changes_nothing(store, tmp_path):
    path = write(tmp_path, "events.csv", HEADER + "".join(GOOD) + "i9,a1,cat,2024-13-45,,,\n")
    first = ingest.ingest(store, path)
    before = counts(store)
    second = ingest.ingest(store, path)
    assert counts(store) == before
    assert second.already_imported == first.batch_id and second.batch_id is None
    assert (second.rows_read, second.rows_accepted, second.rows_rejected) == (4, 3, 1)
    assert second.rejected_by_reason == {"bad timestamp": 1}
    assert "already imported as batch " + first.batch_id in second.summary()
    assert len(batches.list_batches(store)) == 1


def test_same_events_in_another_file_are_rejected_not_doubled(store, tmp_path):
    ingest.ingest(store, write(tmp_path, "a.csv", HEADER + "".join(GOOD)))
    report = ingest.ingest(store, write(tmp_path, "b.csv", HEADER + "".join(GOOD) + "\n"))
    assert report.already_imported is None and report.rows_rejected == 3
    assert store.scalar("SELECT count(*) FROM label_events") == 3


def test_commit_rechecks_a_store_changed_since_prepare(store, tmp_path):
    a = ingest.prepare(store, write(tmp_path, "a.csv", HEADER + "".join(GOOD)))
    b = ingest.prepare(store, write(tmp_path, "b.csv", HEADER + GOOD[0] + GOOD[1] + GOOD[2] + "\n"))
    assert b.report.rows_accepted == 3
    ingest.commit(store, a)
    report = ingest.commit(store, b)
    assert (report.rows_accepted, report.rows_rejected) == (0, 3)
    assert store.scalar("SELECT count(*) FROM label_events") == 3


def test_row_level_mix_lands_valid_rows_and_keeps_rejects_with_reasons(store, tmp_path):
    # The vocabulary without a batch of its own: the events' batch is the store's only one, read below.
    write_raw(store.cursor(), "label_schema", pd.DataFrame({"label": ["cat", "dog"], "batch_id": "b0"}))
    rows = [*GOOD, "i3,a3,cta,2024-01-01,,,\n", "i4,a4,cat,yesterday,,,\n", "i5,a5,cow,2024-01-01,,,\n"]
    report = ingest.ingest(store, write(tmp_path, "events.csv", HEADER + "".join(rows)))
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (6, 3, 3)
    assert report.rejected_by_reason == {"unknown label": 2, "bad timestamp": 1}
    assert "unknown label: 2" in report.summary()
    stored = batches.list_rejects(store)
    assert stored.row_number.tolist() == [5, 6, 7]
    assert "got 'cta'" in stored.reason[0]
    assert batches.reject_reasons(store).values.tolist() == [["unknown label", 2], ["bad timestamp", 1]]
    assert store.scalar("SELECT rows_rejected FROM ingest_batches") == 3


def test_existing_annotator_keeps_first_cohort(store, tmp_path):
    ingest.ingest(store, write(tmp_path, "a.csv", HEADER + GOOD[0]))
    ingest.ingest(store, write(tmp_path, "b.csv", HEADER + "i7,a1,cat,2024-05-01,,,vendor\n"))
    assert store.scalar("SELECT cohort FROM annotators WHERE annotator_id = 'a1'") == "expert"
    assert store.scalar("SELECT count(*) FROM annotators") == 1


def test_failure_mid_commit_leaves_the_store_unchanged(store, tmp_path, monkeypatch):
    ingest.ingest(store, write(tmp_path, "a.csv", HEADER + GOOD[0]))
    before = counts(store)
    original = batches.write_batch

    def write_then_fail(cur, **kw):
        original(cur, **kw)
        assert cur.execute("SELECT count(*) FROM label_events").fetchone()[0] == 3  # rows were written
        raise RuntimeError("disk full")

    monkeypatch.setattr(batches, "write_batch", write_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest.ingest(store, write(tmp_path, "b.csv", HEADER + GOOD[1] + GOOD[2]))
    assert counts(store) == before
    monkeypatch.undo()
    assert ingest.ingest(store, write(tmp_path, "b.csv", HEADER + GOOD[1] + GOOD[2])).rows_accepted == 2


def test_missing_required_column_raises_and_writes_nothing(store, tmp_path):
    path = write(tmp_path, "events.csv", "item_id,annotator_id,label\ni1,a1,cat\n")
    with pytest.raises(IngestError) as err:
        ingest.prepare(store, path)
    message = str(err.value)
    assert str(path) in message and "'labeled_at'" in message and "line 1" in message
    assert "expected the columns item_id, annotator_id, label, labeled_at" in message
    assert counts(store) == (0, 0, 0, 0, 0)


def _parquet_bytes() -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"item_id": ["i1"]}), sink)
    return sink.getvalue()


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("events.parquet", HEADER + GOOD[0], "not a Parquet file (it looks like text)"),
        ("events.csv", _parquet_bytes(), "not a CSV file (it looks like Parquet)"),
        ("events.csv", gzip.compress((HEADER + GOOD[0]).encode()), "not a CSV file (it looks like gzip)"),
        ("events.csv", b"item_id\x00\x01\x02", "not a CSV file (it looks like binary data)"),
        ("events.csv", b"", "the file is empty"),
        ("events.parquet", _parquet_bytes()[:-3], "truncated Parquet file"),
        (
            "export.json",
            '[{"id": 1, "data": {"text": "hi"}, "annotations": [',
            "unparseable JSON at line 1, column",
        ),
        ("events.txt", HEADER, "unknown file type '.txt'"),
        # Found by tests/store/test_ingest_properties.py: Python's csv module raised on a lone CR.
        ("events.csv", HEADER.replace("\n", "\r") + GOOD[0].replace("\n", "\r"),
         "the header (line 1) holds a carriage return not followed by a line feed"),
        ("items.csv", "\ri", "the header (line 1) holds a carriage return"),
    ],
)
def test_file_level_problems_raise_with_file_and_expectation(store, tmp_path, name, content, expected):
    path = write(tmp_path, name, content)
    with pytest.raises(IngestError) as err:
        ingest.ingest(store, path)
    assert str(err.value).startswith(str(path) + ": ")
    assert expected in str(err.value) and "expected" in str(err.value)
    assert counts(store) == (0, 0, 0, 0, 0)


def test_parquet_native_types_and_wrong_type(store, tmp_path):
    table = pa.table(
        {
            "item_id": ["i1", "i2", "i3"],
            "annotator_id": ["a1", "a1", "a2"],
            "label": ["cat", "dog", "cat"],
            "labeled_at": pa.array(
                pd.to_datetime(["2024-01-01 10:00", "2024-01-02 00:00", "2024-01-03 00:00"])
            ),
            "confidence": ["0.5", "high", None],
        }
    )
    path = tmp_path / "events.parquet"
    pq.write_table(table, path)
    report = ingest.ingest(store, path)
    assert (report.rows_accepted, report.rows_rejected) == (2, 1)
    assert report.messages()[0] == (
        f"{path}, row 2: wrong type: column 'confidence': expected a number in [0, 1], got 'high'"
    )


def test_dataframe_source_needs_a_name_and_is_idempotent(store):
    frame = pd.DataFrame(
        {
            "item_id": ["i1", "i2"],
            "annotator_id": ["a1", "a2"],
            "label": ["cat", "dog"],
            "labeled_at": ["2024-01-01", "2024-01-02"],
            "dataset": ["shop", None],
        }
    )
    with pytest.raises(ValueError, match="name="):
        ingest.prepare(store, frame)
    with pytest.raises(IngestError, match="mixed: a column mixes types"):
        ingest.prepare(store, frame.assign(confidence=[0.5, "high"]), name="mixed")
    report = ingest.ingest(store, frame, name="notebook frame", dataset="web")
    assert report.rows_accepted == 2 and report.source == "notebook frame"
    assert store.query("SELECT item_id, dataset FROM items ORDER BY 1").values.tolist() == [
        ["i1", "shop"],
        ["i2", "web"],
    ]
    assert ingest.ingest(store, frame.copy(), name="again").already_imported == report.batch_id


def test_jsonl_truncated_last_line_becomes_a_reject(store, tmp_path):
    lines = [
        '{"item_id": "i1", "annotator_id": "a1", "label": "cat", "labeled_at": "2024-01-01", '
        '"confidence": 1}',
        "",
        '{"item_id": "i2", "annotator_id": "a1", "label": "dog", "labeled_at": "2024-01-0',
    ]
    path = write(tmp_path, "events.jsonl", "\n".join(lines))
    report = ingest.ingest(store, path)
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (2, 1, 1)
    assert report.rejects.row_number[0] == 3
    assert report.messages()[0].startswith(f"{path}, line 3: bad JSON: expected a JSON object")
    assert store.scalar("SELECT confidence FROM label_events") == 1.0


def test_list_batches_newest_first_and_rejects_per_batch(store, tmp_path):
    first = ingest.ingest(store, write(tmp_path, "a.csv", HEADER + GOOD[0] + "i9,a1,cat,2024-13-45,,,\n"))
    second = ingest.ingest(store, write(tmp_path, "b.csv", HEADER + GOOD[1]), created_by="ana")
    listed = batches.list_batches(store)
    assert listed.columns.tolist() == [
        "batch_id",
        "kind",
        "source",
        "rows_in",
        "rows_accepted",
        "rows_rejected",
        "created_by",
        "created_at",
    ]
    assert listed.batch_id.tolist() == [second.batch_id, first.batch_id]
    assert listed.created_by.tolist() == ["ana", "local"]
    assert batches.list_rejects(store, second.batch_id).empty
    assert batches.list_rejects(store, limit=1).batch_id.tolist() == [first.batch_id]


def test_one_number_written_differently_is_warned_about_against_the_store_too(store, tmp_path):
    header = "item_id,annotator_id,label,labeled_at\n"
    ingest.ingest(store, write(tmp_path, "a.csv", header + "i1,a1,1,2024-01-01\n"))
    report = ingest.ingest(store, write(tmp_path, "b.csv", header + "i2,a1,1.0,2024-01-02\n"
                                        "i3,a1,01,2024-01-02\ni4,a1,2,2024-01-02\n"))
    assert report.rows_accepted == 3  # a warning rejects nothing
    assert report.warnings == (
        "labels '01', '1', '1.0' are one number written differently (the store has '1'); they count as "
        "different classes. Expected each class written one way.",
    )
    assert "Warning: labels '01', '1', '1.0'" in report.summary()
    clean = ingest.ingest(store, write(tmp_path, "c.csv", header + "i5,a1,cat,2024-01-02\n"
                                       "i6,a1,2,2024-01-02\n"))
    assert clean.warnings == ()


@pytest.mark.parametrize("fmt", ["parquet", "table"])
def test_nul_and_escape_in_typed_sources_are_rejected(store, tmp_path, fmt):
    table = pa.table({
        "item_id": ["i1", "i2", "i3"],
        "annotator_id": ["a1", "a\x1b[31m1", "a1"],
        "label": ["ca\x00t", "cat", "cat"],
        "labeled_at": ["2024-01-01", "2024-01-01", "2024-01-01"],
    })
    if fmt == "parquet":
        pq.write_table(table, tmp_path / "events.parquet")
        report = ingest.ingest(store, tmp_path / "events.parquet")
    else:
        report = ingest.ingest(store, table, name="frame")
    assert report.rows_accepted == 1
    rejected = report.rejects[["row_number", "column_name"]].values.tolist()
    assert rejected == [[1, "label"], [2, "annotator_id"]]
    assert report.rejects.reason[0] == (
        "bad character: column 'label': expected text without control characters (NUL, ESC, tab, line "
        "breaks), got 'ca\u2400t'"
    )
    assert store.scalar("SELECT count(*) FROM label_events WHERE contains(label, chr(0))") == 0
