"""Import of Labelbox Export v2 NDJSON files (``tests/data/labelbox``, see its README): the events, items and
rejects of the fixture export, the dataset and question options, and every way a line or a label is refused.
"""

from __future__ import annotations

import json
import pathlib

import pandas as pd
import pytest

from analytics.ingest import pipeline as ingest
from analytics.ingest import readers
from analytics.ingest.pipeline import IngestError, detect_kind
from analytics.store import Store

DATA = pathlib.Path(__file__).resolve().parents[1] / "data" / "labelbox"
EXPORT = DATA / "export.ndjson"
QUESTIONS = "'Sentiment' (radio), 'Topics' (checklist), 'Notes' (free text), 'Language' (radio)"
#: The fixture's rejects that its reader gives (row, column, reason); row 9's date is the validation's.
READER_REJECTS = [
    (3, "annotator_id", "missing value: column 'annotator_id': line 1 (data row review-001), project "
     "'Sentiment review', label 3: expected 'label_details.created_by' (the labeler's e-mail), got nothing"),
    (4, None, "bad JSON: line 2: expected a JSON object (Expecting value at character 124), got "
     "'{\"data_row\":{\"id\":\"cldr0000000000000000000002\",\"global_key\":\"review-002\"},\"projects\":"
     "{\"clprojsentime'"),
    (6, "performance_details", "skipped label: column 'performance_details': line 4 (data row "
     "cldr0000000000000000000003), project 'Sentiment review', label 2: Labelbox marks the label as skipped "
     "(performance_details.skipped); expected a submitted label, so it is not imported"),
    (8, "label", "no answer: column 'label': line 5 (data row review-004), project 'Sentiment review', label "
     "1: expected an answer to the radio question 'Sentiment', got none; the label holds 2 objects (logo, "
     "stamp), and objects are not classifications"),
    (11, "labels", "no labels: column 'labels': line 6 (data row review-005): expected at least one label in "
     "its projects, got none (the data row is kept as an item, without events)"),
    (12, "data_row", "bad data row: column 'data_row': line 7: expected an 'id' that is text or a number, "
     "got None"),
]
OTHER_QUESTION = ("the labels answer 2 radio questions; this import reads {!r} only, not {!r}. A store "
                  "follows one question (its labels are one set of classes): import another question "
                  "(--question on the command line) into another store.")


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "store.duckdb") as s:
        yield s


def rows(frame: pd.DataFrame) -> list[list]:
    return [[None if pd.isna(v) else v for v in row] for row in frame.values.tolist()]


def stored_rejects(store: Store) -> list[tuple]:
    frame = store.query("SELECT row_number, column_name, reason FROM ingest_rejects ORDER BY row_number")
    return [(int(n), None if pd.isna(c) else c, reason) for n, c, reason in frame.values]


def test_the_fixture_export_is_detected_and_imported_label_by_label(store):
    assert detect_kind(EXPORT) == "labelbox"
    report = ingest.ingest(store, EXPORT, kind="labelbox")
    assert (report.kind, report.unit) == ("labelbox", "row")
    # 11 labels and 3 lines that give no label (bad JSON, no labels, no data row id); the blank line is none.
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (14, 7, 7)
    assert report.rejected_by_reason == {
        "bad JSON": 1, "bad data row": 1, "bad timestamp": 1, "missing value": 1, "no answer": 1,
        "no labels": 1, "skipped label": 1,
    }
    rejects = stored_rejects(store)
    assert [r for r in rejects if r[0] != 9] == READER_REJECTS
    assert rejects[4][:2] == (9, "labeled_at")
    assert rejects[4][2].startswith("bad timestamp: column 'labeled_at': expected an ISO-8601 time from ")
    assert rejects[4][2].endswith("got '2024-13-45T10:00:00.000+00:00'")
    assert report.messages(1) == [f"{EXPORT}, row 3: {READER_REJECTS[0][2]}"]
    events = store.query("SELECT item_id, annotator_id, label, CAST(labeled_at AS VARCHAR), duration_s "
                         "FROM label_events ORDER BY event_id")
    assert rows(events) == [
        ["review-001", "ana@example.com", "positive", "2024-03-01 10:00:00", 12.5],
        ["review-001", "bo@example.com", "negative", "2024-03-01 10:30:00", 30.0],  # +01:00, stored in UTC
        ["cldr0000000000000000000003", "ana@example.com", "negative", "2024-03-02 09:00:00", 30.0],
        ["cldr0000000000000000000003", "cy@example.com", "negative", "2024-03-03 14:00:00", 30.0],
        ["review-004", "ana@example.com", "positive", "2024-03-02 10:10:00", 30.0],
        ["review-007", "dee@example.com", "neutral", "2024-03-04 09:00:00", 30.0],
        ["review-007", "ana@example.com", "neutral", "2024-03-04 09:30:00", 30.0],  # rejected in review
    ]
    items = store.query("SELECT item_id, dataset, text, media_ref FROM items ORDER BY item_id")
    assert rows(items) == [
        ["cldr0000000000000000000003", "Sentiment review", "Battery died after two days.", None],
        ["review-001", "Sentiment review", None, "https://storage.example.com/reviews/001.txt"],
        ["review-004", "Sentiment review", None, "https://storage.example.com/reviews/004.txt"],
        ["review-005", "Sentiment review", None, "https://storage.example.com/reviews/005.txt"],
        ["review-007", "Sentiment audit", None, "https://storage.example.com/reviews/007.txt"],
    ]
    assert report.items == {"new": 5, "changed": 0, "unchanged": 0} and report.dataset is None
    attributes = store.query("SELECT item_id, key, value FROM item_attributes ORDER BY 1, 2")
    assert rows(attributes) == [
        ["cldr0000000000000000000003", "workflow_status", "IN_REVIEW"],
        ["review-001", "external_id", "001.txt"],
        ["review-001", "workflow_status", "DONE"],
        ["review-004", "workflow_status", "DONE"],
        ["review-005", "workflow_status", "TO_LABEL"],
        ["review-007", "workflow_status", "IN_REWORK"],
    ]
    assert store.query("SELECT annotator_id FROM annotators ORDER BY 1").annotator_id.tolist() == [
        "ana@example.com", "bo@example.com", "cy@example.com", "dee@example.com"]
    assert report.warnings == (
        "1 label also holds objects (logo ×1): objects (bounding boxes, polygons, …) are not classifications "
        "and are not imported; the answers to 'Sentiment' are.",
        OTHER_QUESTION.format("Sentiment", "Language"),
    )
    assert "New items go to the dataset named after their Labelbox project." in report.summary()
    again = ingest.ingest(store, EXPORT, kind="labelbox", question="Language")
    assert again.already_imported == report.batch_id  # one file, one batch in a store, whatever the question


def test_a_dataset_given_replaces_the_projects(store):
    report = ingest.ingest(store, EXPORT, kind="labelbox", dataset="reviews")
    assert report.dataset == "reviews" and report.rows_accepted == 7
    assert store.query("SELECT DISTINCT dataset FROM items").dataset.tolist() == ["reviews"]


def test_another_radio_question_is_read_when_named(store):
    with ingest.prepare(store, EXPORT, kind="labelbox", question="Language") as prepared:
        report = prepared.report
        assert (report.rows_read, report.rows_accepted) == (14, 2)
        assert report.rejected_by_reason == {"no answer": 8, "bad JSON": 1, "bad data row": 1, "no labels": 1,
                                             "skipped label": 1}
        assert report.warnings == (OTHER_QUESTION.format("Language", "Sentiment"),)
        ingest.commit(store, prepared)
    events = store.query("SELECT item_id, annotator_id, label FROM label_events ORDER BY event_id")
    assert rows(events) == [["review-001", "bo@example.com", "en"], ["review-007", "dee@example.com", "fr"]]
    # A question's value names it as well as its name does.
    with ingest.prepare(Store(":memory:"), EXPORT, kind="labelbox", question="sentiment") as by_value:
        assert by_value.report.rows_accepted == 7


@pytest.mark.parametrize(("question", "category", "rows", "reason"), [
    ("Topics", "checklist answer", [1, 5, 10], "checklist answer: column 'label': line 1 (data row "
     "review-001), project 'Sentiment review', label 1: the question 'Topics' is answered with a checklist, "
     "and checklist "
     "answers are multi-label; expected one radio answer per label (agreement compares one class per "
     "annotator and item)"),
    ("Notes", "free-text answer", [1, 7], "free-text answer: column 'label': line 1 (data row review-001), "
     "project 'Sentiment review', label 1: the question 'Notes' is answered in free text, which is not one "
     "of a set of classes; expected a radio answer"),
])
def test_checklist_and_free_text_answers_are_rejected_with_the_reason(question, category, rows, reason):
    with Store(":memory:") as store, ingest.prepare(store, EXPORT, kind="labelbox", question=question) as p:
        report = p.report
        assert (report.rows_read, report.rows_accepted) == (14, 0)
        assert report.rejected_by_reason[category] == len(rows)
        mine = report.rejects[report.rejects.reason.str.startswith(category)]
        assert mine.row_number.tolist() == rows and set(mine.column_name) == {"label"}
        assert mine.reason.iloc[0] == reason


@pytest.mark.parametrize(("name", "message"), [
    ("empty.ndjson", "empty.ndjson: the file is empty; expected a Labelbox NDJSON export, one data row per "
     "line"),
    ("unparseable.ndjson", "unparseable.ndjson: no line parses as JSON (bad JSON: line 1: expected a JSON "
     "object (Expecting property name enclosed in double quotes at character 93), got '{\"data_row\": "
     "{\"id\": \"cldr0000000000000000000001\", \"global_key\": \"review-001\"}, \"projects\": {'); "
     "expected a Labelbox Export v2 NDJSON file, one data row per line"),
])
def test_a_file_that_cannot_be_read_is_refused_naming_it_and_the_line(store, name, message):
    with pytest.raises(IngestError) as refused:
        ingest.prepare(store, DATA / name, kind="labelbox", name=name)
    assert str(refused.value) == message
    assert store.scalar("SELECT count(*) FROM ingest_batches") == 0


def _line(**changes) -> dict:
    """One data row with one label answering 'Sentiment', changed by ``changes`` (dotted paths)."""
    record = {
        "data_row": {"id": "dr1", "global_key": "gk1", "row_data": "some text"},
        "projects": {"p1": {"name": "P", "labels": [{
            "label_details": {"created_by": "a@x.org", "created_at": "2024-03-01T10:00:00Z"},
            "performance_details": {"seconds_to_create": 3, "skipped": False},
            "annotations": {"objects": [], "classifications": [
                {"name": "Sentiment", "value": "sentiment",
                 "radio_answer": {"name": "Good", "value": "good"}},
            ]},
        }]}},
    }
    for path, value in changes.items():
        *parents, last = path.split("__")
        target = record
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[last] = value
    return record


def _read(tmp_path, *lines: str | dict, **options) -> readers.LabelboxExport:
    path = tmp_path / "lines.ndjson"
    path.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n")
    return readers.read_labelbox(path, **options)


AT = "line 2 (data row gk1), project 'P', label 1"


@pytest.mark.parametrize(("line", "reason"), [
    ('["not", "a", "row"]', "bad data row: line 2: expected a JSON object with a 'data_row', got a JSON "
     "array"),
    (_line(data_row={"id": True}), "bad data row: column 'data_row': line 2: expected an 'id' that is text "
     "or a number, got True"),
    (_line(projects=["p1"]), "bad data row: column 'projects': line 2 (data row gk1): expected an object of "
     "projects by id, got a JSON array"),
    ('{"data_row": {"id": "dr1", "id": "dr2"}}', "duplicate key: column 'id': line 2: expected each key "
     "once, got it more than once (JSON would keep only the last value)"),
    (_line(projects__p1__labels="none"), "bad data row: column 'labels': line 2 (data row gk1), project 'P': "
     "expected a list of labels, got the text 'none'"),
    (_line(projects__p1__labels=["x"]), f"bad label: {AT}: expected a JSON object, got the text 'x'"),
    (_line(projects__p1__labels__0__annotations=[]), f"bad label: column 'annotations': {AT}: expected an "
     "object, got a JSON array"),
    (_line(projects__p1__labels__0__annotations__classifications={}), "bad label: column 'annotations': "
     f"{AT}: expected 'classifications' to be a list, got a JSON object"),
    (_line(projects__p1__labels__0__annotations__classifications=[
        {"name": "Sentiment", "radio_answer": {"value": "good"}},
        {"name": "Sentiment", "radio_answer": {"value": "bad"}}]),
     f"bad answer: column 'label': {AT}: expected one answer to the question 'Sentiment', got 2"),
    (_line(projects__p1__labels__0__annotations__classifications__0__radio_answer="good"),
     f"bad answer: column 'label': {AT}: expected the question 'Sentiment' to have a 'radio_answer' object "
     "with a 'value', got the text 'good'"),
    (_line(projects__p1__labels__0__annotations__classifications__0__radio_answer={"value": {"v": 1}}),
     f"bad answer: column 'label': {AT}: expected the radio answer's 'value' to be text, got a JSON object"),
    (_line(projects__p1__labels__0__label_details__created_by={"email": "a@x.org"}),
     f"wrong type: column 'annotator_id': {AT}: expected 'label_details.created_by' (the labeler's e-mail), "
     "got a JSON object"),
    (_line(projects__p1__labels__0__label_details__created_at=None),
     f"missing value: column 'labeled_at': {AT}: expected 'label_details.created_at' (when the label was "
     "made), got nothing"),
])
def test_each_broken_part_of_a_line_is_one_reject_naming_where(tmp_path, line, reason):
    export = _read(tmp_path, _line(), line if isinstance(line, str) else json.dumps(line))
    assert export.events.num_rows == 1  # the good first line
    assert [(row, why) for row, why, _ in export.rejects] == [(2, reason)]


def test_a_label_exported_without_label_details_says_so(tmp_path):
    label = _line()["projects"]["p1"]["labels"][0]
    del label["label_details"]
    export = _read(tmp_path, {"data_row": {"id": "dr9"},
                              "projects": {"p1": {"name": "P", "labels": [label]}}})
    assert export.rejects[0][1] == (
        "missing value: column 'annotator_id': line 1 (data row dr9), project 'P', label 1: expected "
        "'label_details.created_by' (the labeler's e-mail), got no 'label_details' (export with them)"
    )


def test_the_value_is_the_label_and_the_name_stands_in_for_a_missing_one(tmp_path):
    export = _read(tmp_path, _line(), _line(
        data_row={"id": "dr2"},
        projects__p1__labels__0__annotations__classifications__0__radio_answer={"name": "Bad"}))
    assert export.events.column("label").to_pylist() == ["good", "Bad"]
    assert export.events.column("item_id").to_pylist() == ["gk1", "dr2"]  # global key, else the id
    assert export.events.column("dataset").to_pylist() == ["P", "P"]
    assert export.items.column("text").to_pylist() == ["some text", None]


@pytest.mark.parametrize(("text", "message"), [
    ("\ufeff\n\n", "no data rows, only blank lines"),
    ('{"item_id": "i1", "label": "cat"}\n', "not a Labelbox export: no line holds a 'data_row'"),
    (json.dumps(_line(projects__p1__labels__0__annotations__classifications=[
        {"name": "Topics", "checklist_answers": [{"value": "a"}]}])) + "\n",
     "no label answers a radio question (questions: 'Topics' (checklist)); expected labels with a radio "
     "classification (checklist and free-text answers are not one class each)"),
])
def test_an_export_with_nothing_to_read_is_refused(tmp_path, text, message):
    path = tmp_path / "export.ndjson"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(IngestError) as refused:
        readers.read_labelbox(path)
    assert str(refused.value).startswith(f"{path}: {message}")


def test_a_question_no_label_answers_is_refused_listing_the_questions(store):
    with pytest.raises(IngestError) as refused:
        ingest.prepare(store, EXPORT, kind="labelbox", question="Mood")
    assert str(refused.value) == (f"{EXPORT}: no label answers the question 'Mood' (questions: {QUESTIONS}); "
                                  "expected the name of a classification of the labels")


def test_kinds_and_formats_that_do_not_fit_are_refused(store, tmp_path):
    with pytest.raises(IngestError, match="it looks like a Labelbox export: import it as kind 'labelbox'"):
        ingest.prepare(store, EXPORT)  # read as events JSON lines, every line is nested
    as_json = tmp_path / "export.json"
    as_json.write_bytes(EXPORT.read_bytes())
    with pytest.raises(IngestError, match="a Labelbox export is NDJSON, one data row per line; expected a "
                                          r"\.ndjson \(or \.jsonl\) file"):
        ingest.prepare(store, as_json, kind="labelbox")
    with pytest.raises(ValueError, match="question=... takes a Labelbox export"):
        ingest.prepare(store, EXPORT, kind="events", question="Sentiment")


def test_the_questions_of_an_export_in_the_order_met():
    assert readers.labelbox_questions(EXPORT) == {"Sentiment": "radio", "Topics": "checklist",
                                                  "Notes": "free text", "Language": "radio"}


def test_detection_reads_the_keys_not_the_extension(tmp_path):
    broken_first = tmp_path / "export.jsonl"
    broken_first.write_bytes(b"{not json\n" + EXPORT.read_bytes().removeprefix(b"\xef\xbb\xbf"))
    assert detect_kind(broken_first) == "labelbox"
    events = tmp_path / "events.ndjson"
    events.write_text('{"item_id": "i1", "annotator_id": "a1", "label": "data_row", '
                      '"labeled_at": "2024-01-01"}\n')
    assert detect_kind(events) == "events"  # a value that reads "data_row" is not the key
