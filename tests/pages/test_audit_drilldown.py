"""The Audit trail through the real app (AppTest) on a copy of the demo store: a picked row opens its item's
full story (the Suspects drill-down, on the latest detection run) below the table, and the trail filters by
campaign."""

from __future__ import annotations

import pathlib

import pytest
from streamlit.testing.v1 import AppTest

from analytics.remediation import actions
from analytics.remediation.roles import Actor, Role
from analytics.store import Store
from analytics.store import remediation as sql
from ui.safe_text import md

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture
def db(demo_store_path, tmp_path, monkeypatch):
    """A demo copy with two actions: ana relabels the strongest suspect, bo escalates the second one as
    part of campaign ``camp-7``."""
    copy = tmp_path / "demo.duckdb"
    copy.write_bytes(demo_store_path.read_bytes())
    with Store(copy) as store:
        run_id = sql.latest_run(store)
        top = store.query("SELECT item_id, suggested_label FROM suspects WHERE run_id = ? AND "
                          "status = 'mislabeled' ORDER BY rank LIMIT 2", [run_id])
        actions.act(store, Actor("ana", Role.REVIEWER), top["item_id"][0], "relabel", rationale="the model",
                    to_label=top["suggested_label"][0], run_id=run_id)
        actions.act(store, Actor("bo", Role.REVIEWER), top["item_id"][1], "escalate", rationale="unsure",
                    run_id=run_id, campaign_id="camp-7")
    monkeypatch.setenv("LABELWATCH_DB", str(copy))
    monkeypatch.delenv("LABELWATCH_ROLES", raising=False)
    return copy, top["item_id"].tolist()


def _audit() -> AppTest:
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=90).run()
    return at.switch_page("../pages/remediate/audit.py").run()


def _texts(at: AppTest) -> list[str]:
    return [t.value for t in at.text]


def test_a_picked_row_opens_its_items_full_story_below_the_table(db):
    _, (relabeled, escalated) = db
    at = _audit()
    assert not at.exception
    assert at.dataframe(key="audit.table").value["item_id"].tolist() == [escalated, relabeled]
    assert any("Pick a row" in c.value for c in at.caption)
    assert not any(t.startswith("Item ") for t in _texts(at))  # no drill-down before a pick

    at.session_state["audit.table"] = {"selection": {"rows": [1]}}  # as a click on the row's edge
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [s.value for s in at.subheader] == [f"Item {md(relabeled)}", "Filters"][:len(at.subheader)]
    assert _texts(at)[0].startswith(f"Item {relabeled} · Likely mislabeled · rank 1")
    history = next(d.value for d in at.dataframe if "who" in d.value.columns)  # the drill-down's history
    assert list(history[["action", "who", "why"]].itertuples(index=False, name=None)) == [
        ("relabel", "ana", "the model")]
    assert not any("Pick a row" in c.value for c in at.caption)


def test_the_trail_filters_by_campaign_and_a_new_filter_drops_the_pick(db):
    _, (relabeled, escalated) = db
    at = _audit()
    assert at.selectbox(key="audit.campaign").options == ["(all)", "camp-7"]
    at.session_state["audit.table"] = {"selection": {"rows": [1]}}
    at.run()
    assert _texts(at)[0].startswith(f"Item {relabeled}")
    at.selectbox(key="audit.campaign").select("camp-7").run()
    assert not at.exception
    table = at.dataframe(key="audit.table").value
    assert table["item_id"].tolist() == [escalated] and table["campaign_id"].tolist() == ["camp-7"]
    assert any("**1 of 2 actions**" in m.value for m in at.markdown)
    assert not any(t.startswith("Item ") for t in _texts(at))  # row 1 of the old table is no row of this one


def test_without_campaigns_the_filter_says_so(demo_store_path, tmp_path, monkeypatch):
    copy = tmp_path / "demo.duckdb"
    copy.write_bytes(demo_store_path.read_bytes())
    with Store(copy) as store:
        item = store.query("SELECT item_id FROM suspects LIMIT 1")["item_id"][0]
        actions.act(store, Actor("ana", Role.REVIEWER), item, "escalate", rationale="unsure")
    monkeypatch.setenv("LABELWATCH_DB", str(copy))
    at = _audit()
    box = at.selectbox(key="audit.campaign")
    assert box.disabled and box.help == "No action came from a campaign yet."


def test_without_a_detection_run_a_pick_says_what_is_missing(db):
    path, (relabeled, _) = db
    with Store(path) as store:
        store.cursor().execute("DELETE FROM detection_runs")
    at = _audit()
    at.session_state["audit.table"] = {"selection": {"rows": [1]}}
    at.run()
    assert not at.exception
    assert at.subheader[0].value == f"Item {md(relabeled)}"
    assert any("No detection run yet" in i.value for i in at.info)


def test_a_campaign_is_picked_by_its_name_on_the_demo_history(demo_history_store_path, tmp_path, monkeypatch):
    copy = tmp_path / "demo.duckdb"
    copy.write_bytes(demo_history_store_path.read_bytes())
    monkeypatch.setenv("LABELWATCH_DB", str(copy))
    with Store(copy) as store:
        campaign, name = store.query("SELECT campaign_id, name FROM campaigns").iloc[0]
        expected = len(sql.action_log(store, campaign_id=campaign))
    at = _audit()
    box = at.selectbox(key="audit.campaign")
    assert box.options == ["(all)", f"{name} ({campaign})"] and not box.disabled
    box.select(campaign).run()
    assert not at.exception
    table = at.dataframe(key="audit.table").value
    assert len(table) == expected > 0 and set(table["campaign_id"]) == {campaign}
