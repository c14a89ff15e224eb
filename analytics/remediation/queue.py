"""The review queue: every item waiting for a reviewer, the most consequential first.

What waits (``analytics.store.remediation.queue_items``): items sent to review (a cluster, a selection, a
slice) with no decision since; items whose latest decision is an escalation (by a reviewer, a policy, or a
second review that disagreed); relabels waiting for their second reviewer.

Order: **impact = P(wrong) × class weight × slice weight × split weight**, highest first, where

- P(wrong) is the detection run's score (log10 odds that the given label is wrong) as a probability,
  ``1 / (1 + 10^-score)``; 0 for an item the run did not score;
- the class weight is ``1 / (K × share)`` of the item's current label among the K labels in use (1 for a
  class of average size, above 1 for a rare one), clipped to [0.5, 4];
- the slice weight is the largest weight the caller gives any slice the item is in (default 1);
- the split weight is 2 for items in an evaluation split (``eval``, ``test``, ``validation``, ``holdout``):
  a wrong label there distorts every measurement made on it.

**Second review** is needed when an item's impact is high and its clarity low: its class is rare (class
weight ≥ 2), or the annotators' posterior for the suggested label is within ``margin`` of a coin flip
(|2p − 1| < margin). Such a relabel takes effect only when a second reviewer agrees
(``analytics.remediation.actions``). A reviewer never sees an item they already acted on since it entered
the queue, nor the second review of their own relabel.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analytics.store import Store
from analytics.store import remediation as sql

__all__ = ["EVAL_SPLITS", "ORDER_WORDS", "review_queue"]

EVAL_SPLITS = ("eval", "evaluation", "test", "validation", "val", "holdout")

ORDER_WORDS = (
    "Ordered by impact: the detection run's probability that the label is wrong, times the weight of the "
    "item's class (rarer classes weigh more), "
    "times the weight of its slice, times 2 for items in an evaluation split."
)


def review_queue(store: Store, *, reviewer: str | None = None, run_id: str | None = None,
                 slice_weights: Mapping[tuple[str, str], float] | None = None,
                 margin: float = 0.5) -> pd.DataFrame:
    """The queue as ``reviewer`` sees it (everyone's when None), highest impact first.

    Columns: those of ``queue_items`` plus ``class_weight, slice_weight, split_weight, impact,
    needs_second_review`` and ``why`` (the item's place in the order, in words).
    """
    frame = sql.queue_items(store, run_id)
    if reviewer:
        seen = frame["reviewed_by"].map(
            lambda who: isinstance(who, list | np.ndarray) and reviewer in list(who))
        frame = frame[~seen & (frame["first_reviewer"].fillna("") != reviewer)]
    frame = frame.reset_index(drop=True)
    share = frame["class_share"].astype(float)
    k = frame["n_classes"].astype(float)
    frame["class_weight"] = (1.0 / (k * share)).clip(0.5, 4.0).fillna(1.0)
    frame["slice_weight"] = _slice_weights(store, frame["item_id"], slice_weights or {})
    frame["split_weight"] = np.where(frame["split"].fillna("").str.lower().isin(EVAL_SPLITS), 2.0, 1.0)
    score = pd.to_numeric(frame["score"], errors="coerce")
    frame["p_wrong"] = np.where(score.notna() & (score != 0), 1 / (1 + 10 ** -score.fillna(0)), 0.0)
    frame["impact"] = frame["p_wrong"] * frame["class_weight"] * frame["slice_weight"] * frame["split_weight"]
    p = frame["annotator_prob"].astype(float)
    unclear = (2 * p - 1).abs() < margin
    frame["needs_second_review"] = (frame["reason"] == "second review") | (
        frame["reason"] != "escalated") & ((frame["class_weight"] >= 2) | unclear.fillna(False))
    frame["why"] = [_why(r) for r in frame.itertuples(index=False)]
    frame = frame.sort_values(["impact", "item_id"], ascending=[False, True], kind="stable")
    return frame.reset_index(drop=True)


def _slice_weights(store: Store, items: pd.Series, weights: Mapping[tuple[str, str], float]) -> np.ndarray:
    if not weights or items.empty:
        return np.ones(len(items))
    members = sql.slice_memberships(store, items.tolist())
    pairs = zip(members["key"], members["value"], strict=True)
    members["weight"] = [weights.get((k, v), 1.0) for k, v in pairs]
    best = members.groupby("item_id")["weight"].max()
    return items.map(best).fillna(1.0).clip(lower=0).to_numpy()


def _why(row: object) -> str:
    parts = [f"P(wrong) {row.p_wrong:.2f}"]
    if row.class_weight >= 1.5:
        parts.append(f"rare class {row.label or row.suggested_label} (×{row.class_weight:.1f})")
    if row.slice_weight != 1:
        parts.append(f"slice weight ×{row.slice_weight:g}")
    if row.split_weight > 1:
        parts.append(f"in the {row.split} split (×2)")
    head = {"requested": "Sent to review", "escalated": "Escalated",
            "second review": f"Waits for a second review of {row.first_reviewer}'s relabel to "
                             f"{row.first_label}"}
    return f"{head.get(row.reason, row.reason)}; impact {row.impact:.2f} = " + " × ".join(parts) + "."
