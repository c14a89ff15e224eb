"""Acting on items: confirm, relabel, escalate, exclude, revert — checked, explained and append-only.

Every action records who made it (and the role they held), when, why (a rationale is required), the
evidence they saw (score, votes, model probabilities, detection run: whatever the caller passes as a
dict) and where it came from (a review request, a policy and its version, a campaign). Nothing is updated
or deleted: a mistake is undone by a ``revert``, itself an action.

Resolution (how actions turn into an item's label) is in ``analytics.store.remediation`` and restated in
``replay``, the reference implementation in Python that tests compare the SQL against:

1. The **consensus** is the label that holds a strict majority of the item's ratings (one rating per
   annotator: their latest label); an item without one has no consensus and needs adjudication.
2. A **confirm** or **relabel** sets the resolved label to its ``to_label`` (a confirm's is the label it
   confirmed). The latest effective one wins over the consensus and over earlier actions.
3. An action is **effective** unless a revert names it. A relabel marked ``second_review`` is effective
   only when a different reviewer's relabel of the same item to the same label is too.
4. An **exclude** takes the item out of training until it is reverted; an **escalate** changes no label
   (it asks an expert). A revert cannot itself be reverted: make the action again instead.

Second review: ``act`` gives a relabel ``second_review`` when the caller asks for it (the queue does for
items of high impact and low clarity) or when another reviewer's second-review relabel is waiting on the
item; a second reviewer who picks a different label (or confirms) records their action and an escalation.
The same reviewer cannot be the second review of their own relabel.

Decisions on what a reader saw: a caller that decided on a view of the item (the review queue's row, a
policy's dry run) passes that view's ``last_seq`` as ``seen_seq``; when any action on the item came since
(another reviewer's, the same reviewer's from another tab), the action is refused with ``ItemChanged``
instead of being recorded against a state nobody looked at. Two reviewers cannot both be "first" on an
item, and a reviewer cannot decide one item twice from two stale views. The checks and the append are one
step: they run inside ``Store.transaction``, whose lock every write to the store file in the process
takes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

import duckdb
import pandas as pd

from analytics.remediation.roles import Actor, Role, require
from analytics.store import Store, StoreError
from analytics.store import remediation as sql

__all__ = ["KINDS", "ActionError", "ItemChanged", "act", "act_many", "new_id", "replay", "vocabulary"]

#: The kinds of action, in the order the pages offer them.
KINDS = ("confirm", "relabel", "escalate", "exclude", "revert")


class ActionError(StoreError):
    """An action that cannot be recorded (unknown item or label, no rationale, nothing to revert, …)."""


class ItemChanged(ActionError):
    """An action decided on a view of the item that is out of date: another action came since."""


def new_id(prefix: str) -> str:
    """A fresh, sortable-enough id such as ``act-3f2a…``."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def vocabulary(store: Store) -> list[str]:
    """The labels an item can be given: the label schema when one was imported, else every label seen."""
    return sql.vocabulary(store)


def act(store: Store, actor: Actor, item_id: str, kind: str, *, rationale: str, to_label: str | None = None,
        evidence: Mapping | None = None, run_id: str | None = None, review_id: str | None = None,
        campaign_id: str | None = None, reverts: str | None = None,
        second_review: bool = False, seen_seq: int | None = None) -> pd.DataFrame:
    """Record one action by ``actor`` (a reviewer or admin) in one transaction; return the rows written
    (the action, and an escalation when a second review disagreed).

    ``seen_seq`` is the item's latest action ``seq`` in the view the decision was made on (the review
    queue's ``last_seq``); None records the action whatever happened since.

    Raises
    ------
    PermissionDenied
        ``actor`` is a viewer.
    ActionError
        Unknown kind, item, label or action to revert; blank rationale; a confirm of an item without a
        label; a second review by the reviewer who made the first. ``ItemChanged`` (an ``ActionError``)
        when an action on the item came after ``seen_seq``.
    """
    return act_many(store, actor, [{
        "item_id": item_id, "action": kind, "rationale": rationale, "to_label": to_label,
        "evidence": evidence,
        "run_id": run_id, "review_id": review_id, "campaign_id": campaign_id, "reverts": reverts,
        "second_review": second_review, "seen_seq": seen_seq,
    }])


def act_many(store: Store, actor: Actor, actions: Sequence[Mapping], *, policy: str | None = None,
             role: Role = Role.REVIEWER) -> pd.DataFrame:
    """Record several actions (dicts with the keyword arguments of ``act`` plus ``item_id`` and
    ``action``, and optionally ``seen_seq``) by ``actor`` in one transaction: all are written or none.
    ``policy`` (``name@version``) marks them as a policy's (and needs ``role`` admin)."""
    doing = "run a correction policy" if policy else "act on items"
    require(actor, role, doing)
    labels = set(vocabulary(store))
    with store.transaction() as cur:
        items = [str(a.get("item_id") or "") for a in actions]
        current = sql.current_labels(cur, items)
        pending = sql.pending_second_reviews(cur, items)
        _unchanged(actions, sql.latest_actions(cur, items))
        written: list[dict] = []
        for a in actions:
            written += _checked(cur, actor, dict(a), labels, current, pending, policy)
        return sql.insert_actions(cur, written)


def _unchanged(actions: Sequence[Mapping], latest: dict[str, tuple[int, str, str]]) -> None:
    for a in actions:
        seen = a.get("seen_seq")
        item = str(a.get("item_id") or "")
        if seen is None or item not in latest or latest[item][0] <= int(seen):
            continue
        seq, who, kind = latest[item]
        raise ItemChanged(f"Item {item!r} changed since you saw it: {who} recorded action #{seq} ({kind}). "
                          "Nothing was recorded; look at the item as it stands now.")


def _checked(cur: duckdb.DuckDBPyConnection, actor: Actor, a: dict, labels: set, current: dict, pending: dict,
             policy: str | None) -> list[dict]:
    kind = str(a.get("action") or "").strip().lower()
    if kind not in KINDS:
        raise ActionError(f"Unknown action {a.get('action')!r}; an action is one of: {', '.join(KINDS)}.")
    rationale = str(a.get("rationale") or "").strip()
    if not rationale:
        raise ActionError(f"A {kind} needs a rationale: say why (the evidence you saw is a good start).")
    row = {**{c: a.get(c) for c in sql.ACTION_COLUMNS}, "action": kind, "rationale": rationale,
           "actor": actor.name, "actor_role": str(actor.role), "policy": policy,
           "action_id": new_id("act"), "second_review": bool(a.get("second_review"))}
    if kind == "revert":
        return [_revert(cur, row)]
    item = str(a.get("item_id") or "")
    if item not in current:
        raise ActionError(f"There is no item {item!r} in the store.")
    label, _ = current[item]
    row["item_id"], row["from_label"] = item, label
    if kind == "confirm":
        if label is None:
            raise ActionError(f"Item {item!r} has no label to confirm (its annotators do not agree): relabel "
                              "it to the right label instead.")
        row["to_label"] = label
    elif kind == "relabel":
        to = a.get("to_label")
        if to is None or str(to) not in labels:
            raise ActionError(f"Cannot relabel {item!r} to {to!r}: not a label of the vocabulary "
                              f"({', '.join(sorted(labels)[:12])}).")
        row["to_label"] = str(to)
    else:
        row["to_label"] = None
    extra: list[dict] = []
    waiting = pending.get(item)
    if waiting is not None and kind in ("relabel", "confirm"):
        first_actor, first_label = waiting
        if first_actor == actor.name:
            raise ActionError(f"You made the first review of {item!r}; its second review needs another "
                              "reviewer.")
        row["second_review"] = kind == "relabel"
        if row["to_label"] != first_label:
            extra.append({**row, "action_id": new_id("act"), "action": "escalate", "to_label": None,
                          "second_review": False,
                          "rationale": f"Second review disagreed: {first_actor} relabeled to {first_label}, "
                                       f"{actor.name} chose {row['to_label']}."})
        pending.pop(item)
    elif row["second_review"] and kind == "relabel":
        pending[item] = (actor.name, row["to_label"])
    else:
        row["second_review"] = False
    if kind in ("confirm", "relabel") and not row["second_review"]:
        current[item] = (row["to_label"], current[item][1])
    return [row, *extra]


def _revert(cur: duckdb.DuckDBPyConnection, row: dict) -> dict:
    target = row.get("reverts")
    found = sql.action_state(cur, str(target or ""))
    if found is None:
        raise ActionError(f"There is no action {target!r} to revert.")
    if found["action"] == "revert":
        raise ActionError("A revert cannot be reverted: make the action again instead.")
    if found["reverted"]:
        raise ActionError(f"The action {target!r} was reverted already.")
    return {**row, "item_id": found["item_id"], "from_label": found["to_label"], "to_label": None,
            "second_review": False}


def replay(consensus: Mapping[str, str | None], log: pd.DataFrame) -> pd.DataFrame:
    """The resolved labels the action ``log`` gives, replayed in ``seq`` order from the ``consensus``
    (item → label or None): the Python statement of the rules above, for tests to check the SQL against.

    Returns ``item_id, label, excluded`` for every item of ``consensus``, sorted by item.
    """
    log = log.sort_values("seq")
    reverted = set(log.loc[log["action"] == "revert", "reverts"].dropna())
    live = log[(log["action"] != "revert") & ~log["action_id"].isin(reverted)]
    label = dict(consensus)
    excluded = {item: False for item in consensus}
    for row in live.itertuples(index=False):
        if row.action == "exclude":
            excluded[row.item_id] = True
        if row.action not in ("confirm", "relabel"):
            continue
        if row.action == "relabel" and bool(row.second_review):
            partners = live[(live["item_id"] == row.item_id) & (live["action"] == "relabel")
                            & live["second_review"].astype(bool) & (live["to_label"] == row.to_label)
                            & (live["actor"] != row.actor)]
            if partners.empty:
                continue
        label[row.item_id] = row.to_label
    items = sorted(consensus)
    return pd.DataFrame({"item_id": items, "label": [label[i] for i in items],
                         "excluded": [excluded[i] for i in items]})
