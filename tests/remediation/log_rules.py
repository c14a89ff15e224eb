"""Rules the action log must keep whatever wrote it, checked on the log alone: the second-review rule and one
decision per reviewer and item (for the concurrency tests of the engine and of the Review page)."""

from __future__ import annotations

from collections import Counter

import pandas as pd


def check_second_reviews(log: pd.DataFrame) -> Counter:
    """The second-review rule, walked over the log in ``seq`` order: a first relabel marked for a second
    review waits; the next confirm or relabel by another reviewer either agrees (a relabel to the same
    label, marked as a second review) or is followed at once by that reviewer's escalation; the first
    reviewer never answers their own; an escalation by another reviewer ends the wait. Returns how often
    each outcome happened."""
    seen: Counter = Counter()
    for item, rows in log.sort_values("seq").groupby("item_id"):
        rows = rows.reset_index(drop=True)
        waiting = None
        for i, row in rows.iterrows():
            if waiting is None:
                if row["action"] == "relabel" and row["second_review"]:
                    waiting = (row["actor"], row["to_label"])
                continue
            first, first_label = waiting
            if row["action"] == "escalate" and row["actor"] != first:
                waiting = None  # an escalation (a disagreement's, or someone else's) ends the wait
                continue
            if row["action"] not in ("confirm", "relabel"):
                continue
            assert row["actor"] != first, f"{first} answered their own second review of {item}"
            if row["action"] == "relabel" and row["to_label"] == first_label:
                assert row["second_review"], f"an agreeing second review of {item} was not marked"
                seen["agreed"] += 1
            else:
                after = rows.iloc[i + 1] if i + 1 < len(rows) else None
                escalation = None if after is None else (after["action"], after["actor"], after["seq"])
                assert escalation == ("escalate", row["actor"], row["seq"] + 1), (
                    f"a disagreeing second review of {item} did not escalate")
                seen["escalated"] += 1
            waiting = None
    return seen


def decisions_twice(log: pd.DataFrame) -> list[tuple[str, str]]:
    """``(actor, item)`` pairs with more than one decision in ``log``: a decision is a confirm, relabel,
    escalate or exclude, and the escalation a disagreeing second review writes with its own action (the
    next ``seq``, same actor and item) is part of that decision."""
    rows = log.sort_values("seq").reset_index(drop=True)
    rows = rows[rows["action"].isin(["confirm", "relabel", "escalate", "exclude"])]
    follows = (rows["action"] == "escalate") & (rows["seq"] == rows["seq"].shift() + 1) & (
        rows["actor"] == rows["actor"].shift()) & (rows["item_id"] == rows["item_id"].shift())
    counts = Counter(zip(rows.loc[~follows, "actor"], rows.loc[~follows, "item_id"], strict=True))
    return sorted(k for k, n in counts.items() if n > 1)
