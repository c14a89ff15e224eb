"""The Import page through AppTest: names, delimiters, column mapping, dataset choice, the report after
importing, a full disk, the configured time range, and a Labelbox export (its projects and question)."""

from __future__ import annotations

import pathlib

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from analytics.ingest import pipeline as ingest
from analytics.store import Store, batches

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _page(monkeypatch, db: pathlib.Path, **secrets) -> AppTest:
    monkeypatch.setenv("LABELWATCH_DB", str(db))
    monkeypatch.delenv("LABELWATCH_EARLIEST", raising=False)
    monkeypatch.delenv("LABELWATCH_LATEST", raising=False)
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=60)
    for key, value in secrets.items():
        at.secrets[key] = value
    return at.run().switch_page("../pages/data/import_data.py").run()


def _upload(at: AppTest, name: str, data: bytes) -> AppTest:
    return at.file_uploader(key="import.upload").upload(name, data, "text/csv").run()


def _plain(markdown: str) -> str:
    return markdown.replace("\\", "")


def _widget(widgets, suffix: str):
    (found,) = [w for w in widgets if w.key and w.key.startswith("import.") and w.key.endswith(suffix)]
    return found


@pytest.fixture
def db(tmp_path) -> pathlib.Path:
    return tmp_path / "store.duckdb"


def test_a_semicolon_file_is_read_as_columns(monkeypatch, db):
    data = b'item_id;annotator_id;label;labeled_at\ni1;a1;cat;2024-01-01\ni1;a2;"dog; big";2024-01-02\n'
    at = _upload(_page(monkeypatch, db), "export.csv", data)
    assert not at.exception and not at.error
    assert _widget(at.selectbox, ".kind").value == "events"
    assert at.text[0].value.startswith("export.csv (events): 2 rows read, 2 accepted, 0 rejected")
    at.button[0].click().run()
    with Store(db) as store:
        labels = store.query("SELECT label FROM label_events ORDER BY event_id").label.tolist()
    assert labels == ["cat", "dog; big"]


def test_columns_named_otherwise_are_mapped_before_validation(monkeypatch, db):
    data = b"Item,Rater,Class,When,Team\ni1,a1,cat,2024-01-01,crowd\ni2,a1,dog,someday,crowd\n"
    at = _upload(_page(monkeypatch, db), "rater export.csv", data)
    assert not at.exception
    # No kind fits these columns: the page says so naming the file, and offers the mapping.
    assert any("rater export.csv: cannot tell what this file holds" in _plain(w.value) for w in at.warning)
    assert not at.button
    assert "Choose a column for item_id, annotator_id, label, labeled_at" in at.info[0].value
    for target, column in (("item_id", "Item"), ("annotator_id", "Rater"), ("label", "Class"),
                           ("labeled_at", "When")):
        _widget(at.selectbox, f".map.{target}").set_value(column).run()
    _widget(at.selectbox, ".map.cohort").set_value("Team").run()
    assert not at.exception and not at.error
    assert at.text[0].value.startswith("rater export.csv (events): 2 rows read, 1 accepted, 1 rejected")
    assert "rater export.csv, line 3: bad timestamp: column 'labeled_at'" in at.text[0].value
    at.button[0].click().run()
    with Store(db) as store:
        assert store.query("SELECT item_id, annotator_id, label FROM label_events").values.tolist() == [
            ["i1", "a1", "cat"]
        ]
        assert store.scalar("SELECT cohort FROM annotators") == "crowd"


def test_the_dataset_is_chosen_among_the_stores_or_named_anew(monkeypatch, db):
    with Store(db) as store:
        ingest.ingest(store, ROOT / "tests" / "data" / "hostile" / "bc_date.csv", dataset="shop")
    events = b"item_id,annotator_id,label,labeled_at\nn1,a1,cat,2024-01-01\n"
    at = _upload(_page(monkeypatch, db), "new.csv", events)
    dataset = _widget(at.selectbox, ".dataset")
    assert dataset.options == ["shop", "New dataset…"] and dataset.value == "shop"
    dataset.set_value("New dataset…").run()
    assert _widget(at.text_input, ".new_dataset").value == "new"  # the file's name, to start from
    _widget(at.text_input, ".new_dataset").set_value("web shop").run()
    at.button[0].click().run()
    assert not at.exception
    with Store(db) as store:
        assert store.query("SELECT item_id, dataset FROM items ORDER BY 1").values.tolist() == [
            ["h1", "shop"], ["h2", "shop"], ["n1", "web shop"]
        ]


def test_after_importing_the_page_shows_the_import_and_not_already_imported(monkeypatch, db):
    at = _upload(_page(monkeypatch, db), "labels.csv",
                 b"item_id,annotator_id,label,labeled_at\ni1,a1,cat,2024-01-01\ni2,a1,dog,2024-01-02\n")
    at.button[0].click().run()
    assert at.success[0].value.startswith("Imported 2 rows as batch ")
    assert not at.info and not at.button
    assert at.text[0].value.endswith(f"Imported as batch {batches.list_batches(Store(db)).batch_id[0]}.")
    assert "already imported" not in at.text[0].value


def test_a_full_disk_at_import_is_a_message_and_nothing_is_written(monkeypatch, db):
    at = _upload(_page(monkeypatch, db), "labels.csv",
                 b"item_id,annotator_id,label,labeled_at\ni1,a1,cat,2024-01-01\n")

    def disk_full(cur, **kw):
        raise duckdb.IOException('Could not write file "/srv/labelwatch/data/store.duckdb.wal": '
                                 "No space left on device")

    monkeypatch.setattr(batches, "write_batch", disk_full)
    at.button[0].click().run()
    assert not at.exception
    message = _plain(at.error[0].value)
    assert message.startswith("Cannot import labels.csv: the disk is full; nothing was imported")
    assert "/srv" not in message  # no server paths
    with Store(db) as store:
        assert store.scalar("SELECT count(*) FROM ingest_batches") == 0


def test_the_plausible_range_comes_from_the_secrets(monkeypatch, db):
    events = b"item_id,annotator_id,label,labeled_at\ni1,a1,cat,1985-06-01\ni2,a1,cat,2024-01-01\n"
    default = _upload(_page(monkeypatch, db), "old.csv", events)
    assert "2 rows read, 1 accepted" in default.text[0].value
    assert any("from 1990-01-01 00:00 to" in _plain(c.value) for c in default.caption)
    widened = _upload(_page(monkeypatch, db, import_earliest="1980-01-01"), "old.csv", events)
    assert "2 rows read, 2 accepted" in widened.text[0].value
    wrong = _upload(_page(monkeypatch, db, import_latest="soon"), "old.csv", events)
    assert not wrong.exception and "'soon' is not a date or time" in _plain(wrong.error[0].value)


LABELBOX = (ROOT / "tests" / "data" / "labelbox" / "export.ndjson").read_bytes()


def test_a_labelbox_export_is_read_by_project_and_question_and_imported(monkeypatch, db):
    at = _upload(_page(monkeypatch, db), "sentiment.ndjson", LABELBOX)
    assert not at.exception and not at.error
    kind = _widget(at.selectbox, ".kind")
    assert (kind.options, kind.value) == (["labelbox"], "labelbox")  # an export is read only as such
    dataset = _widget(at.selectbox, ".dataset")
    assert dataset.options == ["Each data row's Labelbox project", "New dataset…"]
    question = _widget(at.selectbox, ".question")
    assert (question.options, question.value) == (["Sentiment", "Language"], "Sentiment")
    assert not [w for w in at.selectbox if w.key and ".map." in w.key]  # no column mapping for an export
    summary = at.text[0].value
    assert summary.startswith("sentiment.ndjson (labelbox): 14 rows read, 7 accepted, 7 rejected")
    assert "sentiment.ndjson, row 3: missing value: column 'annotator_id': line 1 (data row review-001)" in \
        summary
    assert "upload" not in summary
    (shown,) = [d.value for d in at.dataframe if "row_number" in d.value.columns]
    assert shown.row_number.tolist() == [3, 4, 6, 8, 9, 11, 12]
    assert any("1 label also holds objects (logo ×1)" in _plain(w.value) for w in at.warning)
    at.button[0].click().run()
    assert not at.exception and at.success[0].value.startswith("Imported 7 rows as batch ")
    with Store(db) as store:
        assert store.scalar("SELECT kind FROM ingest_batches") == "labelbox"
        by_dataset = store.query("SELECT dataset, count(*) AS n FROM items GROUP BY 1 ORDER BY 1")
        assert by_dataset.values.tolist() == [["Sentiment audit", 1], ["Sentiment review", 4]]


def test_another_question_and_a_named_dataset_are_chosen_before_importing(monkeypatch, db):
    at = _upload(_page(monkeypatch, db), "sentiment.ndjson", LABELBOX)
    _widget(at.selectbox, ".question").set_value("Language").run()
    assert at.text[0].value.startswith("sentiment.ndjson (labelbox): 14 rows read, 2 accepted, 12 rejected")
    _widget(at.selectbox, ".dataset").set_value("New dataset…").run()
    assert _widget(at.text_input, ".new_dataset").value == "sentiment"
    _widget(at.text_input, ".new_dataset").set_value("reviews").run()
    at.button[0].click().run()
    assert not at.exception and not at.error
    with Store(db) as store:
        assert store.query("SELECT label FROM label_events ORDER BY event_id").label.tolist() == ["en", "fr"]
        assert store.query("SELECT DISTINCT dataset FROM items").dataset.tolist() == ["reviews"]
