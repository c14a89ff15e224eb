"""Actions, resolution and roles on a real DuckDB file: each rule of analytics.remediation.actions, the
append-only log, and the SQL resolution checked against a replay of the log in Python."""

from __future__ import annotations

import random

import pandas as pd
import pytest

from analytics.ingest import pipeline as ingest
from analytics.remediation import actions
from analytics.remediation.roles import Actor, PermissionDenied, Role
from analytics.store import Store
from analytics.store import remediation as sql

# Four items: a (2 of 3 say cat), b (all dog), c (a 1-1 tie: no consensus), d (one rating).
EVENTS = (
    "item_id,annotator_id,label,labeled_at\n"
    "a,x,cat,2026-05-01T10:00:00\na,y,cat,2026-05-01T11:00:00\na,z,dog,2026-05-01T12:00:00\n"
    "b,x,dog,2026-05-02T10:00:00\nb,y,dog,2026-05-02T11:00:00\n"
    "c,x,cat,2026-05-03T10:00:00\nc,y,dog,2026-05-03T11:00:00\n"
    "d,z,bird,2026-05-04T10:00:00\n"
)
ANA, BO, CY = (Actor(n, Role.REVIEWER) for n in ("ana", "bo", "cy"))
LEAD, GUEST = Actor("lead", Role.ADMIN), Actor("guest", Role.VIEWER)


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(EVENTS)
    with Store(tmp_path / "store.duckdb") as s:
        ingest.ingest(s, path)
        yield s


def _labels(store: Store) -> dict:
    frame = sql.resolved_labels(store)
    return {item: (None if pd.isna(label) else label) for item, label in zip(frame["item_id"], frame["label"],
                                                                            strict=True)}


def test_the_consensus_is_a_strict_majority_and_a_tie_has_none(store):
    frame = sql.resolved_labels(store).set_index("item_id")
    assert frame["label"].fillna("-").to_dict() == {"a": "cat", "b": "dog", "c": "-", "d": "bird"}
    assert frame["provenance"].to_dict() == {"a": "consensus", "b": "consensus", "c": "no consensus",
                                             "d": "consensus"}


def test_a_relabel_overrides_the_consensus_and_a_revert_undoes_it(store):
    written = actions.act(store, ANA, "a", "relabel", to_label="dog", rationale="model says dog",
                          evidence={"score": 0.93, "votes": {"cat": 2, "dog": 1}})
    assert written.loc[0, ["from_label", "to_label", "actor", "actor_role"]].tolist() == [
        "cat", "dog", "ana", "reviewer"]
    row = sql.resolved_labels(store, ["a"]).iloc[0]
    expected = ("dog", "review", written.loc[0, "action_id"])
    assert (row["label"], row["provenance"], row["action_id"]) == expected
    actions.act(store, BO, "a", "revert", reverts=written.loc[0, "action_id"], rationale="votes win")
    assert _labels(store)["a"] == "cat"
    with pytest.raises(actions.ActionError, match="reverted already"):
        actions.act(store, BO, "a", "revert", reverts=written.loc[0, "action_id"], rationale="again")


def test_every_write_needs_a_reviewer_and_a_rationale_and_a_known_label(store):
    with pytest.raises(PermissionDenied, match="guest \\(viewer\\) may not act on items"):
        actions.act(store, GUEST, "a", "confirm", rationale="fine")
    with pytest.raises(actions.ActionError, match="needs a rationale"):
        actions.act(store, ANA, "a", "confirm", rationale="  ")
    with pytest.raises(actions.ActionError, match="not a label of the vocabulary"):
        actions.act(store, ANA, "a", "relabel", to_label="horse", rationale="x")
    with pytest.raises(actions.ActionError, match="no item 'zz'"):
        actions.act(store, ANA, "zz", "confirm", rationale="x")
    with pytest.raises(actions.ActionError, match="no label to confirm"):
        actions.act(store, ANA, "c", "confirm", rationale="x")
    assert store.scalar("SELECT count(*) FROM remediation_actions") == 0


def test_a_batch_of_actions_is_one_transaction(store):
    with pytest.raises(actions.ActionError):
        actions.act_many(store, ANA, [
            {"item_id": "a", "action": "relabel", "to_label": "dog", "rationale": "x"},
            {"item_id": "b", "action": "relabel", "to_label": "horse", "rationale": "x"},
        ])
    assert store.scalar("SELECT count(*) FROM remediation_actions") == 0


def test_a_second_review_takes_effect_only_when_another_reviewer_agrees(store):
    actions.act(store, ANA, "c", "relabel", to_label="cat", rationale="looks like a cat", second_review=True)
    assert _labels(store)["c"] is None  # waiting for the second reviewer
    with pytest.raises(actions.ActionError, match="needs another reviewer"):
        actions.act(store, ANA, "c", "relabel", to_label="cat", rationale="me again")
    actions.act(store, BO, "c", "relabel", to_label="cat", rationale="agree")
    assert _labels(store)["c"] == "cat"
    # the pair is complete: a later reviewer's relabel is an ordinary one and takes effect at once
    later = actions.act(store, CY, "c", "relabel", to_label="dog", rationale="new guideline")
    assert not later.loc[0, "second_review"] and _labels(store)["c"] == "dog"


def test_a_disagreeing_second_review_escalates(store):
    actions.act(store, ANA, "a", "relabel", to_label="dog", rationale="dog", second_review=True)
    written = actions.act(store, BO, "a", "relabel", to_label="bird", rationale="bird")
    assert written["action"].tolist() == ["relabel", "escalate"]
    assert "Second review disagreed: ana relabeled to dog, bo chose bird" in written.loc[1, "rationale"]
    assert _labels(store)["a"] == "cat"  # neither relabel stands alone


def test_exclude_and_escalate(store):
    actions.act(store, ANA, "b", "escalate", rationale="ask an expert")
    ex = actions.act(store, ANA, "d", "exclude", rationale="blurry image")
    frame = sql.resolved_labels(store).set_index("item_id")
    assert frame.loc["b", "label"] == "dog" and not frame.loc["b", "excluded"]
    assert frame.loc["d", "excluded"] and frame.loc["d", "label"] == "bird"
    actions.act(store, LEAD, "d", "revert", reverts=ex.loc[0, "action_id"], rationale="it is fine")
    assert not sql.resolved_labels(store, ["d"]).loc[0, "excluded"]


def test_the_log_is_append_only_and_ordered(store):
    for i, who in enumerate((ANA, BO, CY)):
        actions.act(store, who, "b", "confirm", rationale=f"round {i}")
    log = sql.action_log(store)
    assert log["seq"].tolist() == [3, 2, 1]
    assert log["actor"].tolist() == ["cy", "bo", "ana"]
    assert store.scalar("SELECT count(DISTINCT action_id) FROM remediation_actions") == 3


@pytest.mark.parametrize("seed", range(12))
def test_replaying_the_log_gives_the_resolved_labels(store, seed):
    """Property: for random sequences of actions by random reviewers, the SQL resolution equals the
    Python replay of the log from the consensus."""
    rng = random.Random(seed)
    reviewers = [ANA, BO, CY]
    for _ in range(25):
        item, who = rng.choice("abcd"), rng.choice(reviewers)
        kind = rng.choice(["confirm", "relabel", "relabel", "exclude", "escalate", "revert"])
        try:
            if kind == "revert":
                log = sql.action_log(store)
                open_ = log[(log["action"] != "revert") & log["reverted_by"].isna()]
                if open_.empty:
                    continue
                actions.act(store, who, "", "revert", reverts=rng.choice(open_["action_id"].tolist()),
                            rationale="undo")
            else:
                actions.act(store, who, item, kind, to_label=rng.choice(["cat", "dog", "bird"]),
                            rationale="r", second_review=rng.random() < 0.3)
        except actions.ActionError:
            continue  # refused actions write nothing; the property is about what was written
    consensus = {"a": "cat", "b": "dog", "c": None, "d": "bird"}
    expected = actions.replay(consensus, sql.action_log(store))
    got = sql.resolved_labels(store)[["item_id", "label", "excluded"]]
    got["label"] = [None if pd.isna(label) else label for label in got["label"]]
    pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)
