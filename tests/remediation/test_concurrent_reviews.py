"""Twenty review sessions at once on one store file: threads acting through the engine on overlapping items
of the review queue (confirm, relabel, escalate, second reviews), as the dashboard's sessions do.

Every session reads the queue as its reviewer sees it, picks an item (often the top one, so sessions
collide), decides, and acts with the ``last_seq`` of the row it decided on. Two sessions share each
reviewer's name (one person, two tabs). Afterwards the log is checked against what the sessions were told:
every action recorded exactly once and none lost, the second-review rule, one decision per reviewer and
item, and the resolved labels equal to a replay of the log.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections import Counter

import pandas as pd
import pytest

from analytics.remediation import actions, queue
from analytics.remediation.roles import Actor, Role
from analytics.store import Store
from analytics.store import remediation as sql
from analytics.store.review_requests import request_review
from tests.remediation.log_rules import check_second_reviews, decisions_twice

SESSIONS = 20
ROUNDS = 6
FIRST = Actor("first", Role.REVIEWER)


@dataclasses.dataclass
class Call:
    """One act that the engine accepted: who, on what, and the rows it said it wrote."""

    actor: str
    item_id: str
    kind: str
    action_ids: list[str]


@pytest.fixture
def review_store(demo_store_path, tmp_path):
    """A copy of the demo store with its 24 strongest suspects sent to review, six of them relabeled by a
    first reviewer and waiting for a second review."""
    path = tmp_path / "demo.duckdb"
    path.write_bytes(demo_store_path.read_bytes())
    with Store(path) as store:
        run_id = sql.latest_run(store)
        ids = store.query("SELECT item_id FROM suspects WHERE run_id = ? AND status = 'mislabeled' "
                          "ORDER BY rank LIMIT 24", [run_id])["item_id"].tolist()
        request_review(store, ids, run_id=run_id, cluster_id=None, requested_by="lead")
        for row in queue.review_queue(store, run_id=run_id).tail(6).itertuples():
            actions.act(store, FIRST, row.item_id, "relabel", to_label=row.suggested_label, rationale="first",
                        second_review=True, run_id=run_id)
    return path


def _decide(row: pd.Series, labels: list[str], rng: random.Random) -> tuple[str, str | None]:
    label = None if pd.isna(row["label"]) else row["label"]
    if row["reason"] == "second review":
        if rng.random() < 0.5:
            return "relabel", row["first_label"]
        other = [x for x in labels if x != row["first_label"]]
        return ("confirm", None) if label is not None and label != row["first_label"] else (
            "relabel", rng.choice(other))
    kinds = ["relabel", "escalate"] + (["confirm"] if label is not None else [])
    kind = rng.choice(kinds)
    return kind, (rng.choice([x for x in labels if x != label]) if kind == "relabel" else None)


def _sessions(stores: list[Store], run_id: str) -> tuple[list[Call], list[str]]:
    labels = actions.vocabulary(stores[0])
    calls: list[Call] = []
    refused: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(SESSIONS)

    def session(n: int) -> None:
        store = stores[n % len(stores)]
        me = Actor(f"rev{n // 2}", Role.REVIEWER)  # two sessions per reviewer
        rng = random.Random(n)
        try:
            start.wait()
            for _ in range(ROUNDS):
                view = queue.review_queue(store, reviewer=me.name, run_id=run_id)
                if view.empty:
                    return
                row = view.iloc[0 if rng.random() < 0.5 else rng.randrange(len(view))]
                kind, to_label = _decide(row, labels, rng)
                try:
                    written = actions.act(
                        store, me, row["item_id"], kind, to_label=to_label, rationale=f"session {n}",
                        run_id=run_id, seen_seq=int(row["last_seq"]),
                        second_review=bool(row["needs_second_review"]) and kind == "relabel")
                except actions.ActionError as exc:
                    refused.append(str(exc))
                    continue
                calls.append(Call(me.name, row["item_id"], kind, written["action_id"].tolist()))
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)

    threads = [threading.Thread(target=session, args=(n,)) for n in range(SESSIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return calls, refused


@pytest.mark.slow
@pytest.mark.parametrize("handles", [1, 2], ids=["one-store", "two-stores-of-one-file"])
def test_twenty_sessions_at_once_record_every_action_once_and_keep_the_rules(review_store, handles):
    """``two-stores-of-one-file``: half the sessions write through a second ``Store`` of the same file (as
    after ``st.cache_resource`` was cleared while sessions still held the first)."""
    stores = [Store(review_store) for _ in range(handles)]
    try:
        run_id = sql.latest_run(stores[0])
        consensus = sql.resolved_labels(stores[0])
        consensus = dict(zip(consensus["item_id"], consensus["consensus"].astype(object).where(
            consensus["consensus"].notna(), None), strict=True))
        before = sql.action_log(stores[0])
        calls, refused = _sessions(stores, run_id)

        log = sql.action_log(stores[0])
        new = log[~log["action_id"].isin(before["action_id"])]
        written = [a for c in calls for a in c.action_ids]
        # exactly once, nothing lost, nothing extra
        assert len(written) == len(set(written))
        assert sorted(new["action_id"]) == sorted(written)
        assert log["seq"].is_unique and log["action_id"].is_unique
        by_id = new.set_index("action_id")
        for call in calls:
            assert by_id.loc[call.action_ids[0], ["actor", "item_id", "action"]].tolist() == [
                call.actor, call.item_id, call.kind]
        assert len(calls) >= SESSIONS  # the sessions did work: most of their rounds were recorded
        # a reviewer decides an item once, whichever of their sessions acted
        twice = [k for k, n in Counter((c.actor, c.item_id) for c in calls).items() if n > 1]
        assert not twice, f"reviewed twice: {twice}"
        assert not decisions_twice(new), "reviewed twice, by the log"
        # the second-review rule, on the whole log (the six first reviews included)
        outcomes = check_second_reviews(log)
        assert outcomes["agreed"] + outcomes["escalated"] >= 1
        # the resolved labels are those a replay of the log gives
        expected = actions.replay(consensus, log)
        got = sql.resolved_labels(stores[0])[["item_id", "label", "excluded"]]
        got["label"] = [None if pd.isna(x) else x for x in got["label"]]
        pd.testing.assert_frame_equal(got.reset_index(drop=True), expected, check_dtype=False)
        assert all("changed since you saw it" in r or "second review needs another" in r
                   or "no label to confirm" in r for r in refused), refused
    finally:
        for store in stores:
            store.close()


def test_a_decision_on_a_stale_view_is_refused(review_store):
    """Two views of the queue read before either acts (two reviewers, or one reviewer's two tabs): the
    first decision is recorded, the second is refused, and nothing else is written."""
    with Store(review_store) as store:
        run_id = sql.latest_run(store)
        ana, bo = Actor("ana", Role.REVIEWER), Actor("bo", Role.REVIEWER)
        first = queue.review_queue(store, reviewer="ana", run_id=run_id).iloc[0]
        other = queue.review_queue(store, reviewer="bo", run_id=run_id).iloc[0]
        assert first["item_id"] == other["item_id"]
        actions.act(store, ana, first["item_id"], "escalate", rationale="ask",
                    seen_seq=int(first["last_seq"]))
        n = len(sql.action_log(store))
        for who, row in ((bo, other), (ana, first)):
            with pytest.raises(actions.ItemChanged, match=r"changed since you saw it: ana .*escalate"):
                actions.act(store, who, row["item_id"], "relabel", to_label=row["suggested_label"],
                            rationale="stale", seen_seq=int(row["last_seq"]), second_review=True)
        assert len(sql.action_log(store)) == n
        fresh = queue.review_queue(store, reviewer="bo", run_id=run_id)
        row = fresh[fresh["item_id"] == first["item_id"]].iloc[0]
        assert row["reason"] == "escalated" and row["last_seq"] > first["last_seq"]
        actions.act(store, bo, row["item_id"], "confirm" if isinstance(row["label"], str) else "escalate",
                    rationale="seen fresh", seen_seq=int(row["last_seq"]))
