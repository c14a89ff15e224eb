"""Dataset versions: immutable snapshots of every item's resolved label, their diff, rollback and export.

A version records, for every item, the resolved label as of the action log at that moment (see
``analytics.remediation.actions``), whether the item is excluded from training, where the label came from
(``consensus``, ``no consensus``, ``review``, ``policy``, ``campaign``) and the action that set it. Versions
are never changed; the newest is the one a training pipeline should export.

A **rollback** to version V does two things in one transaction, both on the record: it appends a revert of
every action made after V that still stands (and re-applies, as new actions, those of V's actions that were
reverted after it), so the live resolved labels return to V's; and it creates a new version whose labels
are a copy of V's. Labels that annotators added since V change the consensus, not the rolled-back version.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from analytics.core import exports
from analytics.remediation.actions import ActionError, new_id
from analytics.remediation.roles import Actor, Role, require
from analytics.store import Store
from analytics.store import remediation as sql

__all__ = ["VersionDiff", "create_version", "diff", "export_version", "list_versions", "rollback",
           "version_labels"]


@dataclasses.dataclass(frozen=True)
class VersionDiff:
    """Two versions compared: the items that changed (with the action, policy or campaign behind each) and
    the class-distribution change over included items."""

    old: str
    new: str
    changes: pd.DataFrame
    classes: pd.DataFrame

    def summary(self) -> dict:
        """Counts for a headline: items changed, relabeled, newly excluded, newly included."""
        c = self.changes
        relabeled = int((c["old_label"].fillna("") != c["new_label"].fillna("")).sum())
        excluded = int((c["new_excluded"].fillna(False).astype(bool) & ~c["old_excluded"].fillna(False)
                        .astype(bool)).sum())
        included = int((~c["new_excluded"].fillna(False).astype(bool) & c["old_excluded"].fillna(False)
                        .astype(bool)).sum())
        return {"old": self.old, "new": self.new, "changed": len(c), "relabeled": relabeled,
                "excluded": excluded, "included": included}


def list_versions(store: Store) -> pd.DataFrame:
    """Every version, newest first: ``version_id, parent_id, created_at, created_by, note, seq, rollback_of,
    items``."""
    return sql.versions(store)


def version_labels(store: Store, version_id: str) -> pd.DataFrame:
    """A version's ``item_id, label, excluded, provenance, action_id``, sorted by item."""
    return sql.version_labels(store, version_id)


def create_version(store: Store, actor: Actor, *, note: str | None = None,
                   version_id: str | None = None) -> dict:
    """Snapshot the resolved labels as a new version (admins only); returns its row.

    ``version_id`` defaults to ``v<N+1>`` for the N versions the store has.
    """
    require(actor, Role.ADMIN, "create a dataset version")
    with store.transaction() as cur:
        return sql.insert_version(cur, version_id or sql.next_version_id(cur), created_by=actor.name,
                                  note=note)


def rollback(store: Store, actor: Actor, version_id: str, *, reason: str) -> dict:
    """Return the labels to those of ``version_id`` (admins only; a reason is required): the reverts and
    re-applications it takes, and a new version equal to the old one, in one transaction. Returns the new
    version's row plus ``reverted`` and ``reapplied`` counts."""
    require(actor, Role.ADMIN, "roll back to an earlier version")
    reason = (reason or "").strip()
    if not reason:
        raise ActionError("A rollback needs a reason: say why the later changes should not stand.")
    target = sql.version_row(store, version_id)
    if target is None:
        raise ActionError(f"There is no dataset version {version_id!r}.")
    with store.transaction() as cur:
        new_version = sql.next_version_id(cur)
        undo = sql.rollback_actions(cur, int(target["seq"] or 0))
        rows = []
        for a in undo.itertuples(index=False):
            why = f"Rollback to {version_id}: {reason}"
            base = {"item_id": a.item_id, "actor": actor.name, "actor_role": str(actor.role),
                    "rationale": why,
                    "action_id": new_id("act"), "evidence": {"rollback_to": version_id}}
            if a.undo == "revert":
                rows.append({**base, "action": "revert", "reverts": a.action_id, "from_label": a.to_label})
            else:
                rows.append({**base, "action": a.action, "from_label": a.from_label, "to_label": a.to_label,
                             "second_review": False, "policy": a.policy, "campaign_id": a.campaign_id,
                             "review_id": a.review_id, "run_id": a.run_id})
        sql.insert_actions(cur, rows)
        row = sql.insert_version(cur, new_version, created_by=actor.name,
                                 note=f"Rollback to {version_id}: {reason}", rollback_of=version_id)
    return {**row, "reverted": int((undo["undo"] == "revert").sum()) if len(undo) else 0,
            "reapplied": int((undo["undo"] == "reapply").sum()) if len(undo) else 0}


def diff(store: Store, old: str, new: str) -> VersionDiff:
    """Compare two versions (any order the caller likes: ``old`` is the baseline)."""
    for v in (old, new):
        if sql.version_row(store, v) is None:
            raise ActionError(f"There is no dataset version {v!r}.")
    return VersionDiff(old, new, sql.version_diff(store, old, new), sql.version_class_counts(store, old, new))


def export_version(store: Store, version_id: str, out: str | Path, fmt: str | None = None) -> exports.Written:
    """Write a version's ``item_id, label, excluded, provenance, action_id`` (sorted by item) to ``out``.

    Parameters
    ----------
    store : Store
        The store.
    version_id : str
        The version.
    out : str or Path
        The file to write (replaced if it exists).
    fmt : {"csv", "parquet", "jsonl"}, optional
        The format (``analytics.core.exports``); None: from ``out``'s extension.

    Raises
    ------
    ActionError
        No such version.
    ExportError
        An unknown format, or none given and the extension names none; nothing is written.
    """
    fmt = exports.format_for(out, fmt)
    if sql.version_row(store, version_id) is None:
        raise ActionError(f"There is no dataset version {version_id!r}.")
    frame = sql.version_labels(store, version_id)
    exports.write(frame, out, fmt)
    return exports.Written(Path(out), fmt, len(frame))
