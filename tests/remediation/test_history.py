"""The demo's remediation history (``analytics.synthetic.history``): made through the engine, every kind of
step present, the "after" version measurably closer to the truth, and the log replaying to the labels."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from analytics.remediation import actions, campaigns, queue
from analytics.store import Store
from analytics.store import remediation as sql
from analytics.store.demo import demo_meta
from analytics.synthetic import demo


@pytest.fixture
def store(demo_history_store_path):
    with Store(demo_history_store_path, read_only=True) as s:
        yield s


def _accuracy(store, version_id: str) -> float:
    truth = store.query("SELECT item_id, true_label FROM demo_truth")
    labels = store.query("SELECT item_id, label FROM version_labels WHERE version_id = ?", [version_id])
    joined = truth.merge(labels, on="item_id", how="left")
    return float((joined["label"] == joined["true_label"]).mean())


def test_the_after_version_is_measurably_closer_to_the_truth(store):
    listed = sql.versions(store).set_index("version_id")
    assert list(listed.sort_index().index) == ["v1", "v2"]
    assert listed.loc["v1", "note"].startswith("Before") and listed.loc["v2", "note"].startswith("After")
    before, after = _accuracy(store, "v1"), _accuracy(store, "v2")
    meta = demo_meta(store)
    assert float(meta["history_accuracy_before"]) == pytest.approx(before, abs=1e-6)
    assert float(meta["history_accuracy_after"]) == pytest.approx(after, abs=1e-6)
    assert after - before >= 0.05
    assert f"{before:.1%} in v1 → {after:.1%} in v2" in meta["history"]


def test_every_step_of_the_round_is_on_the_record(store):
    log = sql.action_log(store, limit=None)
    assert log["rationale"].str.strip().str.len().gt(0).all()
    reviewers = log[log["actor"].isin(["rita", "sam"])]
    assert set(reviewers["actor"]) == {"rita", "sam"} and {"confirm", "relabel"} <= set(reviewers["action"])
    # second reviews: pairs of relabels by both reviewers to the same label, both effective
    pairs = log[log["second_review"]].groupby("item_id").agg(actors=("actor", "nunique"),
                                                             labels=("to_label", "nunique"))
    assert (pairs["actors"].eq(2) & pairs["labels"].eq(1)).sum() >= 1
    escalated = log.loc[log["action"] == "escalate", "item_id"]
    assert len(escalated) >= 1
    settled = log[log["item_id"].isin(escalated) & (log["actor"] == "dr-okafor")]
    assert len(settled) == len(escalated)
    policy = log[log["policy"].notna()]
    assert set(policy["policy"]) == {"model-and-neighbours-agree@1"} and set(policy["actor"]) == {"lead"}
    listed = campaigns.list_campaigns(store)
    assert len(listed) == 1 and listed["status"].iloc[0] == "resolved"
    campaign_id = listed["campaign_id"].iloc[0]
    progress = campaigns.campaign_progress(store, campaign_id, n_boot=0)
    assert progress.summary()["labels_in"] == progress.summary()["labels_expected"] > 100
    assert progress.summary()["changed"] > 0
    events = store.scalar("SELECT count(*) FROM label_events WHERE campaign_id = ?", [campaign_id])
    assert events == progress.summary()["labels_in"]
    from_campaign = log[log["campaign_id"] == campaign_id]
    assert len(from_campaign) == progress.summary()["majority"]
    assert all(json.loads(e)["campaign_votes"] for e in from_campaign["evidence"])


def test_the_queue_holds_the_next_round_with_a_second_review_waiting(store):
    waiting = queue.review_queue(store, run_id=sql.latest_run(store))
    assert len(waiting) >= 3
    assert (waiting["reason"] == "second review").sum() == 1
    assert set(waiting["reason"]) == {"requested", "second review"}


def test_replaying_the_history_gives_the_resolved_labels(store):
    consensus = {i: (v if isinstance(v, str) else None)
                 for i, v in store.query(sql.CONSENSUS_SQL).set_index("item_id")["label"].items()}
    replayed = actions.replay(consensus, sql.action_log(store, limit=None)).set_index("item_id")
    live = sql.resolved_labels(store).set_index("item_id").reindex(replayed.index)
    assert [v if isinstance(v, str) else None for v in replayed["label"]] == \
        [v if isinstance(v, str) else None for v in live["label"]]
    assert replayed["excluded"].tolist() == live["excluded"].tolist()


def test_another_seed_improves_too(tmp_path):
    with Store(tmp_path / "seed1.duckdb") as store:
        demo.build_demo_store(store, seed=1)
        before, after = _accuracy(store, "v1"), _accuracy(store, "v2")
        assert after - before >= 0.05
        assert pd.notna(store.scalar("SELECT max(seq) FROM remediation_actions"))
