"""The review queue on the demo store: what waits, the impact order and its words, second review, and
that a reviewer never sees an item twice."""

from __future__ import annotations

import pytest

from analytics.remediation import actions, queue
from analytics.remediation.roles import Actor, Role
from analytics.store.review_requests import request_review

ANA, BO = Actor("ana", Role.REVIEWER), Actor("bo", Role.REVIEWER)


@pytest.fixture
def run(store):
    run_id = store.query("SELECT run_id FROM detection_runs ORDER BY created_at DESC LIMIT 1")["run_id"][0]
    ids = store.query("SELECT item_id FROM suspects WHERE run_id = ? AND status = 'mislabeled' ORDER BY rank "
                      "LIMIT 12", [run_id])["item_id"].tolist()
    request_review(store, ids, run_id=run_id, cluster_id=None, requested_by="lead")
    return run_id


def test_requested_items_wait_ordered_by_impact_with_the_order_in_words(store, run):
    q = queue.review_queue(store, run_id=run)
    assert len(q) == 12 and set(q["reason"]) == {"requested"}
    assert q["impact"].is_monotonic_decreasing
    expected = q["p_wrong"] * q["class_weight"] * q["slice_weight"] * q["split_weight"]
    assert q["impact"].tolist() == pytest.approx(expected.tolist())
    evaluation = q[q["split"].isin(queue.EVAL_SPLITS)]
    assert (evaluation["split_weight"] == 2).all() and "split (×2)" in evaluation["why"].iloc[0]
    assert q["why"].iloc[0].startswith("Sent to review; impact ")


def test_a_decision_takes_the_item_out_and_an_escalation_puts_it_back(store, run):
    first = queue.review_queue(store, run_id=run).iloc[0]
    actions.act(store, ANA, first["item_id"], "confirm", rationale="the label is right")
    assert first["item_id"] not in set(queue.review_queue(store, run_id=run)["item_id"])
    actions.act(store, BO, first["item_id"], "escalate", rationale="not sure after all")
    again = queue.review_queue(store, run_id=run).set_index("item_id")
    assert again.loc[first["item_id"], "reason"] == "escalated"
    # ana acted on it since it entered the queue: she is not shown it again; bo escalated it: nor is he
    assert first["item_id"] not in set(queue.review_queue(store, reviewer="bo", run_id=run)["item_id"])


def test_a_second_review_waits_for_another_reviewer(store, run):
    item = queue.review_queue(store, run_id=run).iloc[1]
    actions.act(store, ANA, item["item_id"], "relabel", to_label=item["suggested_label"], rationale="x",
                second_review=True)
    for_ana = queue.review_queue(store, reviewer="ana", run_id=run)
    for_bo = queue.review_queue(store, reviewer="bo", run_id=run).set_index("item_id")
    assert item["item_id"] not in set(for_ana["item_id"])
    assert for_bo.loc[item["item_id"], "reason"] == "second review"
    assert for_bo.loc[item["item_id"], "why"].startswith("Waits for a second review of ana's relabel to ")
    actions.act(store, BO, item["item_id"], "relabel", to_label=item["suggested_label"], rationale="agree")
    assert item["item_id"] not in set(queue.review_queue(store, run_id=run)["item_id"])


def test_slice_weights_move_an_item_up(store, run):
    q = queue.review_queue(store, run_id=run)
    last = q.iloc[-1]["item_id"]
    key, value = store.query("SELECT key, value FROM live_item_attributes WHERE item_id = ? LIMIT 1",
                             [last]).iloc[0]
    weighted = queue.review_queue(store, run_id=run, slice_weights={(key, value): 100.0})
    assert weighted.set_index("item_id").loc[last, "slice_weight"] == 100.0
    assert "slice weight ×100" in weighted.set_index("item_id").loc[last, "why"]
