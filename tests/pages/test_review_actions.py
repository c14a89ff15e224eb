"""The Review page acting on its queue through the real app (AppTest) on copies of the demo store: the form
follows the item shown, one-key actions record the decision with the rationale and move to the next item,
a blank rationale and a viewer are refused, and second reviews keep their rule."""

from __future__ import annotations

import pathlib

import pytest
from streamlit.testing.v1 import AppTest

from analytics.remediation import actions
from analytics.remediation.roles import Actor, PermissionDenied, Role
from analytics.store import Store
from analytics.store import remediation as sql
from analytics.store.review_requests import request_review
from ui.safe_text import md

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
    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=90).run()
    return at.switch_page("../pages/remediate/review.py").run()


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


def _resolved(db: pathlib.Path, item: str) -> tuple:
    with Store(db) as store:
        row = sql.resolved_labels(store, [item]).iloc[0]
    return row["label"], row["provenance"]


def test_the_keys_are_shown_on_their_buttons_and_in_words(db):
    at = _review()
    assert not at.exception
    keys = {k: at.button(key=f"review.key.{k}") for k in ("next", "confirm", "relabel", "escalate")}
    assert {k: b.proto.shortcut for k, b in keys.items()} == {
        "next": "n", "confirm": "k", "relabel": "s", "escalate": "e"}
    assert not any(b.disabled for b in keys.values())
    first = at.dataframe(key="review.table").value.iloc[0]
    assert keys["relabel"].label == "Relabel as " + md(first["suggested_label"])
    assert any("**S** relabel as suggested" in c.value for c in at.caption)


def test_one_key_relabels_to_the_suggestion_with_the_evidence_and_opens_the_next_item(db):
    at = _review()
    queue = at.dataframe(key="review.table").value
    first, second = queue.iloc[0], queue.iloc[1]
    evidence = at.text_area(key="review.rationale").value
    assert evidence.startswith(f"P(wrong) {first['p_wrong']:.2f}; suggested {first['suggested_label']}")
    assert "Evidence: model: " in evidence  # the run's explanation, in words
    at.button(key="review.key.relabel").click().run()
    assert not at.exception
    assert _log(db) == [(first["item_id"], "relabel", first["suggested_label"], "ana", evidence)]
    assert any(f"Recorded: relabel {md(first['item_id'])} to {md(first['suggested_label'])}" in s.value
               for s in at.success)
    assert _resolved(db, first["item_id"]) == (first["suggested_label"], "review")
    assert _shown(at) == second["item_id"]
    assert first["item_id"] not in set(at.dataframe(key="review.table").value["item_id"])


def test_next_skips_and_confirm_and_escalate_record_the_rationale_typed(db):
    at = _review()
    queue = at.dataframe(key="review.table").value["item_id"].tolist()
    at.button(key="review.key.next").click().run()
    assert _shown(at) == queue[1] and _log(db) == []
    at.button(key="review.key.next").click().run()
    assert _shown(at) == queue[2]
    at.text_area(key="review.rationale").input("The annotators were right: a clear 5.")
    at.button(key="review.key.confirm").click().run()
    assert not at.exception
    label, _ = _resolved(db, queue[2])
    assert _log(db) == [(queue[2], "confirm", label, "ana", "The annotators were right: a clear 5.")]
    assert _shown(at) == queue[3]  # the next after the confirmed one, not the top of the queue
    at.button(key="review.key.escalate").click().run()
    assert [row[:2] for row in _log(db)] == [(queue[2], "confirm"), (queue[3], "escalate")]
    assert _shown(at) == queue[4]
    for _ in range(2):  # past the last item: back to the first
        at.button(key="review.key.next").click().run()
    assert _shown(at) == queue[1]
    assert at.dataframe(key="review.table").value["item_id"].tolist() == [queue[0], queue[1], queue[4]]


def test_a_press_on_a_view_another_tab_made_stale_acts_on_nothing_it_did_not_show(db):
    """Two tabs show the same first item; one escalates it; the other's press then re-reads a queue whose
    first row is another item. The press is about the item that tab showed: refused (it changed), and
    nothing is recorded on the item that took its place."""
    one, two = _review(), _review()
    first = one.dataframe(key="review.table").value.iloc[0]["item_id"]
    assert _shown(two) == first
    one.button(key="review.key.escalate").click().run()
    assert [row[:2] for row in _log(db)] == [(first, "escalate")]
    two.button(key="review.key.escalate").click().run()
    assert not two.exception
    errors = [e.value.replace("\\", "") for e in two.error]
    assert any(f"Item '{first}' changed since you saw it: ana" in e for e in errors), errors
    assert [row[:2] for row in _log(db)] == [(first, "escalate")]
    assert _shown(two) != first  # the queue as it stands: ana's own decision hides the item
    two.button(key="review.key.escalate").click().run()  # a press on the fresh view is recorded
    assert [row[:2] for row in _log(db)] == [(first, "escalate"), (_log(db)[1][0], "escalate")]
    assert _log(db)[1][0] != first


def test_a_blank_rationale_is_refused_with_a_clear_message(db):
    at = _review()
    first = at.dataframe(key="review.table").value.iloc[0]["item_id"]
    at.text_area(key="review.rationale").input("   ")
    at.button(key="review.key.relabel").click().run()
    assert not at.exception
    assert any("A relabel needs a rationale" in e.value for e in at.error)
    at.button(key=FORM).click().run()
    assert any("needs a rationale" in e.value for e in at.error)
    assert _log(db) == [] and _shown(at) == first


def test_a_viewer_moves_through_the_queue_but_cannot_act_and_the_engine_refuses(db, tmp_path, monkeypatch):
    roles = tmp_path / "roles.toml"
    roles.write_text('[roles]\nviewer = ["ana"]\n')
    monkeypatch.setenv("LABELWATCH_ROLES", str(roles))
    at = _review()
    assert not at.exception
    keys = {b.key for b in at.button}
    assert "review.key.next" in keys
    assert not keys & {FORM, "review.key.confirm", "review.key.relabel", "review.key.escalate"}
    assert not at.radio and not at.text_area  # no decision, no rationale
    assert any("ana (viewer) may not decide on items: needs the reviewer role" in i.value for i in at.info)
    queue = at.dataframe(key="review.table").value["item_id"].tolist()
    at.button(key="review.key.next").click().run()
    assert _shown(at) == queue[1]
    with Store(db) as store, pytest.raises(PermissionDenied, match="ana \\(viewer\\) may not act on items"):
        actions.act(store, Actor("ana", Role.VIEWER), queue[1], "escalate", rationale="why not")
    assert _log(db) == []


@pytest.fixture
def unclear(demo_store_path, tmp_path, monkeypatch):
    """A demo copy with one suspect sent to review whose annotators are close to a coin flip: a relabel
    of it needs a second reviewer."""
    copy = tmp_path / "unclear.duckdb"
    copy.write_bytes(demo_store_path.read_bytes())
    with Store(copy) as store:
        run_id = sql.latest_run(store)
        item = store.query(
            "SELECT item_id, suggested_label FROM suspects WHERE run_id = ? AND status = 'mislabeled' AND "
            "abs(2 * (signals->>'annotator_prob')::DOUBLE - 1) < 0.5 ORDER BY rank LIMIT 1", [run_id]).iloc[0]
        request_review(store, [item["item_id"]], run_id=run_id, cluster_id=None, requested_by="lead")
    monkeypatch.setenv("LABELWATCH_DB", str(copy))
    monkeypatch.setenv("LABELWATCH_USER", "ana")
    monkeypatch.delenv("LABELWATCH_ROLES", raising=False)
    return copy, item["item_id"], item["suggested_label"]


def test_a_one_key_relabel_that_needs_a_second_review_waits_for_another_reviewer(unclear, monkeypatch):
    db, item, suggested = unclear
    before = _resolved(db, item)
    at = _review()
    assert bool(at.dataframe(key="review.table").value.iloc[0]["needs_second_review"])
    at.button(key="review.key.relabel").click().run()
    assert any("It takes effect when a second reviewer agrees" in s.value for s in at.success)
    assert _resolved(db, item) == before
    assert any("Nothing waits for review" in m.value for m in at.markdown)  # never the same item twice
    at.toggle(key="review.mine").set_value(False).run()
    assert at.dataframe(key="review.table").value["reason"].tolist() == ["second review"]
    at.button(key="review.key.relabel").click().run()
    assert any("its second review needs another reviewer" in e.value for e in at.error)

    monkeypatch.setenv("LABELWATCH_USER", "bo")
    second = _review()
    assert second.dataframe(key="review.table").value["reason"].tolist() == ["second review"]
    second.button(key="review.key.relabel").click().run()
    assert not second.exception
    assert _resolved(db, item) == (suggested, "review")
    assert [(r[0], r[1], r[2], r[3]) for r in _log(db)] == [
        (item, "relabel", suggested, "ana"), (item, "relabel", suggested, "bo")]


def test_an_item_without_consensus_cannot_be_confirmed_but_takes_the_suggestion(demo_store_path, tmp_path,
                                                                                 monkeypatch):
    copy = tmp_path / "demo.duckdb"
    copy.write_bytes(demo_store_path.read_bytes())
    with Store(copy) as store:
        run_id = sql.latest_run(store)
        item = store.query("SELECT item_id, suggested_label FROM suspects WHERE run_id = ? AND "
                           "status = 'no_consensus' ORDER BY rank LIMIT 1", [run_id]).iloc[0]
        request_review(store, [item["item_id"]], run_id=run_id, cluster_id=None, requested_by="lead")
    monkeypatch.setenv("LABELWATCH_DB", str(copy))
    monkeypatch.setenv("LABELWATCH_USER", "ana")
    monkeypatch.delenv("LABELWATCH_ROLES", raising=False)
    at = _review()
    confirm = at.button(key="review.key.confirm")
    assert confirm.disabled and confirm.label == "Confirm (no label)"
    assert confirm.help == "Its annotators do not agree: there is no label to confirm."
    assert "Evidence: " in at.text_area(key="review.rationale").value
    at.button(key="review.key.relabel").click().run()
    assert not at.exception
    assert _resolved(copy, item["item_id"]) == (item["suggested_label"], "review")
