"""The Remediate pages through the real app (AppTest) on a copy of the demo store: the review queue records a
decision that shows in the audit trail and in a new version, a rollback restores the label, and a viewer
gets no write control."""

from __future__ import annotations

import pathlib

import pytest
from streamlit.testing.v1 import AppTest

from analytics.store import Store
from analytics.store import remediation as sql
from analytics.store.review_requests import request_review
from ui.safe_text import md

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def db(demo_store_path, tmp_path, monkeypatch):
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


def _page(name: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=90).run()
    return at.switch_page(f"../pages/remediate/{name}.py").run()


def _labels(db: pathlib.Path, item: str) -> tuple:
    with Store(db) as store:  # the app holds the file in this process: same configuration, shared
        row = sql.resolved_labels(store, [item]).iloc[0]
    return row["label"], row["provenance"]


def test_a_relabel_from_the_queue_shows_in_the_audit_trail_and_a_version_and_a_rollback_undoes_it(db):
    versions = _page("versions")
    versions.button(key="FormSubmitter:versions.create-Create version").click().run()
    assert any("Created v1" in s.value for s in versions.success)

    at = _page("review")
    assert not at.exception
    assert any("5 items wait for review" in m.value for m in at.markdown)
    item = at.dataframe(key="review.table").value.iloc[0]
    before = _labels(db, item["item_id"])
    at.button(key="FormSubmitter:review.form-Record decision").click().run()
    assert not at.exception
    assert any("Recorded: relabel " + md(item["item_id"]) in s.value for s in at.success)
    assert _labels(db, item["item_id"]) == (item["suggested_label"], "review") != before
    assert item["item_id"] not in set(at.dataframe(key="review.table").value["item_id"])

    audit = _page("audit")
    assert not audit.exception, audit.exception
    table = audit.dataframe[0].value
    assert (table.iloc[0]["item_id"], table.iloc[0]["actor"], table.iloc[0]["action"]) == (
        item["item_id"], "ana", "relabel")

    versions = _page("versions")
    versions.button(key="FormSubmitter:versions.create-Create version").click().run()
    assert any("Created v2" in s.value for s in versions.success)
    diff = next(d.value for d in versions.dataframe if "old_label" in d.value.columns)
    assert diff["item_id"].tolist() == [item["item_id"]]
    versions.selectbox(key="versions.pick.2").select("v1").run()
    versions.text_input(key="versions.reason").input("wrong call")
    versions.button(key="FormSubmitter:versions.rollback-Roll back to v1").click().run()
    assert not versions.exception
    assert any("Rolled back to v1: 1 actions reverted; new version v3" in s.value for s in versions.success)
    assert _labels(db, item["item_id"]) == before


def test_a_viewer_sees_the_queue_but_cannot_decide(db, tmp_path, monkeypatch):
    roles = tmp_path / "roles.toml"
    roles.write_text('[roles]\nviewer = ["ana"]\n')
    monkeypatch.setenv("LABELWATCH_ROLES", str(roles))
    at = _page("review")
    assert not at.exception
    assert "FormSubmitter:review.form-Record decision" not in {b.key for b in at.button}
    assert any("ana (viewer) may not decide on items: needs the reviewer role" in i.value for i in at.info)
    versions = _page("versions")
    assert not versions.exception
    assert not [b for b in versions.button if b.key.startswith("FormSubmitter:versions.")]


def test_the_pages_say_what_to_do_when_there_is_nothing(demo_store_path, tmp_path, monkeypatch):
    copy = tmp_path / "empty.duckdb"
    copy.write_bytes(demo_store_path.read_bytes())
    monkeypatch.setenv("LABELWATCH_DB", str(copy))
    for name, words in (("review", "Nothing waits for review"), ("audit", "No remediation actions yet"),
                        ("versions", "No versions yet")):
        at = _page(name)
        assert not at.exception
        assert any(words in m.value for m in at.markdown), name


def test_an_admin_dry_runs_and_applies_the_example_policy(db):
    at = _page("policies")
    assert not at.exception
    assert any("would relabel" in i.value and "Within its guardrails" in i.value for i in at.info)
    changes = at.dataframe[0].value
    assert len(changes) > 0
    at.button(key=f"FormSubmitter:policies.apply-Apply model-and-neighbours-agree@1 to {len(changes):,} items"
              ).click().run()
    assert not at.exception
    assert any(f"{len(changes):,} actions recorded" in s.value for s in at.success)
    with Store(db) as store:
        assert len(sql.action_log(store, policy="model-and-neighbours-agree")) == len(changes)
