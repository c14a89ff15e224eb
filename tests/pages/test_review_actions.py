"""The Review page acting on its queue through the real app (AppTest) on copies of the demo store: the form
follows the item shown, one-key actions record the decision with the rationale and move to the next item,
a blank rationale and a viewer are refused, and second reviews keep their rule."""

from __future__ import annotations

import pathlib

import pytest
from streamlit.testing.v1 import AppTest

from analytics.store import Store
from analytics.store import remediation as sql
from analytics.store.review_requests import request_review

ROOT = pathlib.Path(__file__).resolve().parents[2]
FORM = "FormSubmitter:review.form-Record decision"


@pytest.fixture
def db(demo_store_path, tmp_path, monkeypatch):
    """A demo copy whose five strongest suspects were sent to review by "lead"; the app runs as "ana"."""
    copy = tmp_path / "demo.duckdb"
    copy.write_bytes(demo_store_path.read_bytes())
    with Store(copy) as store:
        run_id = sql.latest_run(store)
        ids = store.query("SELECT item_id FROM suspects WHERE run_id = ? AND status = 'mislabeled' "
                          "ORDER BY rank LIMIT 5", [run_id])["item_id"].tolist()
        request_review(store, ids, run_id=run_id, cluster_id=None, requested_by="lead")
    monkeypatch.setenv("LABELWATCH_DB", str(copy))
    monkeypatch.setenv("LABELWATCH_USER", "ana")
    monkeypatch.delenv("LABELWATCH_ROLES", raising=False)
    return copy


def _review() -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
    return at.switch_page("pages/remediate/review.py").run()


def _log(db: pathlib.Path) -> list[tuple]:
    with Store(db) as store:
        log = sql.action_log(store).sort_values("seq")
    columns = ["item_id", "action", "to_label", "actor", "rationale"]
    return list(log[columns].itertuples(index=False, name=None))


def _shown(at: AppTest) -> str:
    return next(s.value for s in at.subheader if s.value.startswith("Item ")).removeprefix("Item ").replace(
        "\\", "")


def test_the_form_follows_the_item_shown_after_a_decision(db):
    at = _review()
    queue = at.dataframe(key="review.table").value
    first, second = queue.iloc[0], queue.iloc[1]
    assert first["suggested_label"] != second["suggested_label"]  # else the test could not tell them apart
    assert at.selectbox(key="review.target").value == first["suggested_label"]
    at.button(key=FORM).click().run()
    assert not at.exception
    assert _shown(at) == second["item_id"]
    assert at.selectbox(key="review.target").value == second["suggested_label"]
    assert at.radio(key="review.kind").value == "relabel"
    assert f"suggested {second['suggested_label']}" in at.text_area(key="review.rationale").value
    assert f"suggested {first['suggested_label']}" not in at.text_area(key="review.rationale").value
