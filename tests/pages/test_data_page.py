"""The Data page's retraction: the form, its confirmation, and every page reading without the batch."""

from __future__ import annotations

import pathlib

import pytest
from streamlit.testing.v1 import AppTest

from analytics.core.schema import EventFilter
from analytics.ingest import pipeline as ingest
from analytics.store import Store
from analytics.store import overview as overview_queries
from tests.builders import write_raw

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXTRA = (
    "item_id,annotator_id,label,labeled_at,cohort\n"
    "digits-0001,ann-new1,3,2026-05-01T10:00:00,inhouse\n"
    "digits-0002,ann-new2,9,2026-05-02T10:00:00,inhouse\n"
)


@pytest.fixture
def store_with_extra(demo_store_path, tmp_path):
    copy = tmp_path / "demo.duckdb"
    copy.write_bytes(demo_store_path.read_bytes())
    (tmp_path / "extra.csv").write_text(EXTRA)
    with Store(copy) as store:
        batch_id = ingest.ingest(store, tmp_path / "extra.csv").batch_id
    return copy, batch_id


def _data_page(monkeypatch, db) -> AppTest:
    monkeypatch.setenv("LABELWATCH_DB", str(db))
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=60).run()
    return at.switch_page("../pages/data/data.py").run()


def _events_on_overview(at: AppTest) -> int:
    at.switch_page("../pages/monitor/overview.py").run()
    return int(next(m.value for m in at.metric if m.label == "Label events").replace(",", ""))


def _table_with(at: AppTest, column: str):
    tables = [d.value for d in at.dataframe if column in d.value.columns]
    assert len(tables) == 1, f"expected one table with a {column!r} column, found {len(tables)}"
    return tables[0]


def test_retracting_from_the_data_page_needs_a_reason_and_a_confirmation(monkeypatch, store_with_extra):
    db, batch_id = store_with_extra
    at = _data_page(monkeypatch, db)
    with Store(db) as store:
        before = overview_queries.totals(store, EventFilter())["events"]
    assert _events_on_overview(at) == before
    at.switch_page("../pages/data/data.py").run()
    at.selectbox(key="retract.batch").set_value(batch_id)
    at.text_area(key="retract.reason").input("a test crowd, not ours")
    at.button(key="FormSubmitter:retract.form-Retract the batch").click().run()
    assert [e.value for e in at.error] == ["Tick the box to confirm the retraction."]
    at.checkbox(key="retract.sure").check()
    at.button(key="FormSubmitter:retract.form-Retract the batch").click().run()
    assert not at.exception and not at.error
    assert any("Retracted batch" in s.value for s in at.success)
    retracted = _table_with(at, "retracted_by")
    assert retracted[["batch_id", "reason", "retracted_by"]].values.tolist() == [
        [batch_id, "a test crowd, not ours", "local"]
    ]
    assert batch_id not in at.selectbox(key="retract.batch").options
    assert _events_on_overview(at) == before - 2


def test_unreadable_events_are_shown_with_their_batch(monkeypatch, store_with_extra):
    db, batch_id = store_with_extra
    with Store(db) as store, store.transaction() as cur:
        write_raw(cur, "label_events", [{
            "event_id": 999999, "item_id": "digits-0003", "annotator_id": "ann-new1", "label": "4",
            "labeled_at": "0044-03-15 (BC)", "batch_id": batch_id,
        }])
    at = _data_page(monkeypatch, db)
    assert not at.exception
    assert any("1 label events have a time no reader can hold" in w.value for w in at.warning)
    unreadable = _table_with(at, "earliest")
    assert unreadable[["batch_id", "events", "earliest"]].values.tolist() == [
        [batch_id, 1, "0044-03-15 (BC) 00:00:00"]
    ]
