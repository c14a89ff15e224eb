"""The Campaigns page through the real app (AppTest) on a copy of the demo store: an admin creates a campaign
from a slice, the labels that come back show as progress, agreement and changed labels, the campaign's
majority is recorded; a viewer gets no write control."""

from __future__ import annotations

import json
import pathlib

import pytest
from streamlit.testing.v1 import AppTest

from analytics.remediation import campaigns
from analytics.remediation.roles import Actor, Role
from analytics.store import Store

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def db(demo_store_path, tmp_path, monkeypatch):
    copy = tmp_path / "demo.duckdb"
    copy.write_bytes(demo_store_path.read_bytes())
    monkeypatch.setenv("LABELWATCH_DB", str(copy))
    monkeypatch.setenv("LABELWATCH_USER", "lead")
    monkeypatch.delenv("LABELWATCH_ROLES", raising=False)
    return copy


def _page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=90).run()
    return at.switch_page("../pages/remediate/campaigns.py").run()


def _text(at: AppTest) -> str:
    return "\n".join(m.value for m in [*at.markdown, *at.caption, *at.success, *at.info])


def _answer_all(db: pathlib.Path, campaign_id: str, tmp_path: pathlib.Path, label: str) -> None:
    """Every assignee answers ``label`` on every task; the export is imported as Label Studio gives it."""
    with Store(db) as store:
        tasks = campaigns.label_studio_tasks(store, campaign_id)
        export = [{"id": n, "data": t["data"], "annotations": [
            {"completed_by": who, "created_at": "2026-11-21T09:00:00Z",
             "result": [{"type": "choices", "value": {"choices": [label]}}]}
            for who in t["meta"]["assignees"]]} for n, t in enumerate(tasks)]
        path = tmp_path / "export.json"
        path.write_text(json.dumps(export), encoding="utf-8")
        campaigns.import_labels(store, Actor("lead", Role.ADMIN), campaign_id, path)


def test_a_slice_campaign_from_creation_to_its_recorded_verdict(db, tmp_path):
    at = _page()
    assert not at.exception
    assert any("No campaigns yet" in m.value for m in at.markdown)
    at.radio(key="campaigns.kind").set_value("a slice").run()
    at.selectbox(key="campaigns.key").set_value("source").run()
    at.selectbox(key="campaigns.value.source").set_value("fax").run()
    assert "flagged suspects of run" in _text(at)
    at.text_input(key="campaigns.name").set_value("fax second look")
    at.text_input(key="campaigns.assignees").set_value("a1, a2, a3")
    at.button(key="FormSubmitter:campaigns.create-Create campaign").click().run()
    assert not at.exception
    assert any("Created campaign" in s.value for s in at.success)
    listed = at.dataframe(key="campaigns.table").value
    campaign_id = listed["campaign_id"].iloc[0]
    assert listed["name"].tolist() == ["fax second look"] and listed["status"].tolist() == ["open"]
    assert "0 of" in _text(at)

    _answer_all(db, campaign_id, tmp_path, "3")
    at = _page()
    assert not at.exception
    items = at.dataframe(key="campaigns.items").value
    n = len(items)
    assert f"**Labeled**: {2 * n:,} of {2 * n:,} labels in" in _text(at)
    assert (items["campaign_label"] == "3").all()
    assert "Agreement within the campaign: alpha" in _text(at)
    assignees = next(d.value for d in at.dataframe if "assignee" in d.value.columns)
    assert assignees["done"].sum() == 2 * n and set(assignees["assignee"]) == {"a1", "a2", "a3"}
    at.button(key=f"FormSubmitter:campaigns.resolve-Record {n:,} majority labels").click().run()
    assert not at.exception
    assert any(f"Recorded {n:,} actions" in s.value for s in at.success)
    items = at.dataframe(key="campaigns.items").value
    assert (items["label"] == "3").all() and (items["provenance"] == "campaign").all()
    assert at.dataframe(key="campaigns.table").value["status"].tolist() == ["resolved"]
    with Store(db) as store:
        logged = store.query("SELECT actor, campaign_id FROM remediation_actions")
    assert len(logged) == n and set(logged["actor"]) == {"lead"}
    assert set(logged["campaign_id"]) == {campaign_id}


def test_a_viewer_sees_campaigns_but_cannot_create_import_or_resolve(db, tmp_path, monkeypatch):
    with Store(db) as store:
        chosen = campaigns.slice_selection(store, "source", "fax")
        campaigns.create_campaign(store, Actor("lead", Role.ADMIN), "everything fax", chosen,
                                  assignees=["a1", "a2"], labels_per_item=2)
    roles = tmp_path / "roles.toml"
    roles.write_text('[roles]\nadmin = ["lead"]\nviewer = ["guest"]\n', encoding="utf-8")
    monkeypatch.setenv("LABELWATCH_ROLES", str(roles))
    monkeypatch.setenv("LABELWATCH_USER", "guest")
    at = _page()
    assert not at.exception
    assert at.dataframe(key="campaigns.table").value["name"].tolist() == ["everything fax"]
    assert "guest (viewer) may not create, import or resolve campaigns: needs the admin role" in _text(at)
    keys = {b.key for b in at.button}
    assert "FormSubmitter:campaigns.create-Create campaign" not in keys and "campaigns.import" not in keys
    assert not [k for k in keys if k.startswith("FormSubmitter:campaigns.resolve")]
    assert not at.get("file_uploader")
    assert {d.key for d in at.get("download_button")} >= {"campaigns.json"}  # exports stay open


def test_rows_picked_on_the_suspects_page_arrive_as_the_campaigns_items(db):
    with Store(db) as store:
        picked = store.query("SELECT item_id FROM suspects WHERE flagged ORDER BY rank LIMIT 3")["item_id"]
    picked = picked.tolist()
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=90).run()
    # what the Suspects page's "Relabel campaign from the picked rows" leaves before switching here
    at.session_state["campaigns.kind"] = "a list of item ids"
    at.session_state["campaigns.ids"] = "\n".join(picked)
    at = at.switch_page("../pages/remediate/campaigns.py").run()
    assert not at.exception
    assert at.text_area(key="campaigns.ids").value == "\n".join(picked)
    assert any("**3 items**" in m.value for m in at.markdown)
    at.text_input(key="campaigns.name").set_value("three from suspects")
    at.text_input(key="campaigns.assignees").set_value("a1, a2")
    at.button(key="FormSubmitter:campaigns.create-Create campaign").click().run()
    with Store(db) as store:
        items = store.query("SELECT DISTINCT item_id, suggested_label FROM campaign_items")
    assert sorted(items["item_id"]) == sorted(picked) and items["suggested_label"].notna().all()
