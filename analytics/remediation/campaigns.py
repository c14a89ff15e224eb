"""Relabel campaigns: send a cluster, a slice or a selection of items back to labelers, and take their
labels back.

1. **Create** (admins): the items, the assignees and how many labels each item should get
   (``labels_per_item``, at most the number of assignees; assignments go round the assignees in item
   order, so each item's labelers differ and the work is shared evenly), a due date and a note. The
   campaign keeps each item's resolved label at that moment and the detection run's suggested label.
2. **Export** for a labeling tool: a table of the assignments (CSV, Parquet or JSON Lines; one row per
   item and assignee) or Label Studio's task-import JSON, one task per item with ``data.item_id``, its
   text or media, and the suggested label as a pre-annotation (a ``predictions`` result of ``choices``
   for the control ``LABEL_CONTROL`` of the config ``label_config`` writes). The campaign's results (one
   row per item: ``campaign_items``) export in the same three table formats.
3. **Import** the tool's export (Label Studio JSON) as label events tied to the campaign
   (``analytics.ingest.pipeline.prepare(..., campaign_id=...)``): the same validation report and rejects
   as any import, and annotations of items outside the campaign are rejected. The new labels are ratings
   like any others, so they enter every item's consensus at once.
4. **Progress**: labels received against assigned, per assignee; the campaign's own agreement
   (Krippendorff's alpha and percent agreement over its ratings, with bootstrap intervals over items;
   ``analytics.agreement.estimates``); how many items' resolved label differs from the one they had when
   the campaign began.
5. **Resolve** (admins): where the campaign's ratings of an item hold a strict majority, record it as the
   item's label — a relabel when it differs from the resolved label, a confirm when it agrees — with the
   campaign as provenance and its votes as evidence. Items without a majority in the campaign keep their
   label and stay listed. A pending second review is answered by the campaign's label like any reviewer's.

Status, derived and never stored: ``open`` (no labels yet), ``in progress``, ``labeled`` (every item has
its labels), ``resolved`` (its labels were recorded as actions); ``overdue`` replaces open and in progress
after the due date.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pandas as pd

from analytics.agreement.estimates import AgreementEstimate, agreement_estimates
from analytics.core import exports
from analytics.ingest.pipeline import ValidationReport, commit, prepare
from analytics.remediation import actions
from analytics.remediation.actions import ActionError, new_id
from analytics.remediation.roles import Actor, Role, require
from analytics.store import Store
from analytics.store import campaigns as sql
from analytics.store import remediation as remediation_sql

__all__ = [
    "CAMPAIGN_FORMATS", "LABEL_CONTROL", "TABLES", "CampaignError", "CampaignProgress", "Selection",
    "campaign_items", "campaign_progress",
    "cluster_selection", "create_campaign", "export_campaign", "import_labels", "label_config",
    "label_studio_tasks", "list_campaigns", "resolve", "selection", "slice_selection", "slice_values",
    "assignments",
]

#: The ``choices`` control the exported tasks pre-annotate (``from_name``) and the config names.
LABEL_CONTROL = "label"
#: Largest campaign: more is a policy's or a guideline's job, not one labeling round's.
MAX_ITEMS = 50_000
#: Ratings of the campaign needed before its agreement is estimated.
MIN_AGREEMENT_ITEMS = 5
#: The tables ``export_campaign`` writes besides Label Studio's tasks.
TABLES = ("assignments", "items")
#: What ``export_campaign`` writes: Label Studio's tasks (``json``) or a table.
CAMPAIGN_FORMATS = ("json", *exports.FORMATS)


class CampaignError(ActionError):
    """A campaign that cannot be created, exported, imported or resolved as asked."""


@dataclasses.dataclass(frozen=True)
class Selection:
    """Items to relabel, where they came from in words (``source``), the detection run that scored them
    and its suggested label per item."""

    items: tuple[str, ...]
    source: str
    run_id: str | None = None
    suggested: dict = dataclasses.field(default_factory=dict)


def selection(store: Store, item_ids: Sequence[str], *, run_id: str | None = None,
              source: str = "selection") -> Selection:
    """Items picked by hand (in the given order, repeats dropped); ``run_id`` supplies suggestions."""
    items = tuple(dict.fromkeys(str(i) for i in item_ids))
    suggested = sql.suggestions(store, run_id, items) if run_id else {}
    return Selection(items, f"{source} ({len(items):,} items)", run_id, suggested)


def cluster_selection(store: Store, run_id: str, cluster_id: str) -> Selection:
    """The suspects of one cluster of detection run ``run_id``, highest score first."""
    found = sql.cluster_item_ids(store, run_id, cluster_id)
    if found.empty:
        raise CampaignError(f"Run {run_id!r} has no cluster {cluster_id!r}.")
    return Selection(tuple(found["item_id"]), f"cluster {cluster_id} of run {run_id}", run_id,
                     _suggested(found))


def slice_selection(store: Store, key: str, value: str, run_id: str | None = None, *,
                    unresolved: bool = False) -> Selection:
    """A slice (items whose attribute ``key`` is ``value``): its flagged suspects in ``run_id`` when a run
    is given (with ``unresolved``, also the items the run found without a consensus), else every item of
    the slice."""
    found = sql.slice_item_ids(store, key, value, run_id, unresolved)
    which = ("flagged suspects and items without a consensus" if unresolved else "flagged suspects")
    if found.empty:
        where = f"{which} of run {run_id} in" if run_id else "items in"
        raise CampaignError(f"There are no {where} the slice {key} = {value}.")
    words = f"slice {key} = {value}" + (f" ({which} of run {run_id})" if run_id else "")
    return Selection(tuple(found["item_id"]), words, run_id, _suggested(found))


def _suggested(found: pd.DataFrame) -> dict:
    return {r.item_id: r.suggested_label for r in found.itertuples() if isinstance(r.suggested_label, str)}


def create_campaign(store: Store, actor: Actor, name: str, chosen: Selection, *, assignees: Sequence[str],
                    labels_per_item: int = 1, due_at: dt.datetime | dt.date | None = None,
                    note: str | None = None) -> str:
    """Create a campaign of ``chosen``'s items for ``assignees`` in one transaction; return its id.

    Raises
    ------
    PermissionDenied
        ``actor`` is not an admin.
    CampaignError
        No name, no items, too many items, unknown items, no assignees, or more labels per item than
        assignees.
    """
    require(actor, Role.ADMIN, "create a relabel campaign")
    name = (name or "").strip()
    people = list(dict.fromkeys(a.strip() for a in assignees if a and a.strip()))
    if not name:
        raise CampaignError("A campaign needs a name (what the labelers will see).")
    if not chosen.items:
        raise CampaignError("A campaign needs at least one item.")
    if len(chosen.items) > MAX_ITEMS:
        raise CampaignError(f"{len(chosen.items):,} items is more than one campaign takes ({MAX_ITEMS:,}); "
                            "narrow the selection or use a correction policy.")
    if not people:
        raise CampaignError("A campaign needs at least one assignee (the annotator id their labels will "
                            "carry, e.g. a Label Studio user's e-mail).")
    if not 1 <= labels_per_item <= len(people):
        raise CampaignError(f"Each item can get 1 to {len(people)} labels with {len(people)} assignees "
                            f"(asked for {labels_per_item}).")
    due = _due(due_at)
    campaign_id = new_id("camp")
    with store.transaction() as cur:
        known = remediation_sql.current_labels(cur, chosen.items)
        missing = [i for i in chosen.items if i not in known]
        if missing:
            raise CampaignError(f"There is no item {missing[0]!r} in the store ({len(missing):,} of the "
                                f"{len(chosen.items):,} items are unknown).")
        before = {item: label for item, (label, _) in known.items()}
        rows = [{"item_id": item, "assignee": people[(n * labels_per_item + k) % len(people)],
                 "label_before": _text(before.get(item)), "suggested_label": chosen.suggested.get(item)}
                for n, item in enumerate(chosen.items) for k in range(labels_per_item)]
        sql.insert_campaign(cur, {
            "campaign_id": campaign_id, "name": name, "owner": actor.name,
            "created_at": remediation_sql.now(), "due_at": due, "created_by": actor.name,
            "source": chosen.source, "run_id": chosen.run_id,
            "labels_per_item": labels_per_item, "note": (note or "").strip() or None,
        }, pd.DataFrame(rows, columns=["item_id", "assignee", "label_before", "suggested_label"]))
    return campaign_id


def _due(due_at: dt.datetime | dt.date | None) -> dt.datetime | None:
    if due_at is None or isinstance(due_at, dt.datetime):
        return due_at
    return dt.datetime.combine(due_at, dt.time(23, 59))


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _iso(value: object) -> str | None:
    return None if value is None or pd.isna(value) else pd.Timestamp(value).isoformat()


def list_campaigns(store: Store) -> pd.DataFrame:
    """Every campaign, newest first, with its progress (``analytics.store.campaigns.campaigns``) and
    ``status``."""
    frame = sql.campaigns(store)
    frame["status"] = [_status(r, remediation_sql.now()) for r in frame.itertuples()]
    return frame


def _status(row: object, now: dt.datetime) -> str:
    if row.resolved_actions:
        return "resolved"
    if row.items and row.items_done >= row.items:
        return "labeled"
    if row.due_at is not None and not pd.isna(row.due_at) and row.due_at < now:
        return "overdue"
    return "in progress" if row.labels_in else "open"


def _campaign(store: Store, campaign_id: str) -> dict:
    found = list_campaigns(store)
    found = found[found["campaign_id"] == campaign_id]
    if found.empty:
        raise CampaignError(f"There is no campaign {campaign_id!r}.")
    return found.iloc[0].to_dict()


@dataclasses.dataclass(frozen=True)
class CampaignProgress:
    """Where a campaign stands: its row (``list_campaigns``), its items (``item_id, assignees,
    label_before, suggested_label, label, provenance, labels_in, campaign_label, votes, changed``), the
    assignees' progress (``assignee, assigned, done``) and the agreement of its ratings (empty until
    ``MIN_AGREEMENT_ITEMS`` items have two or more)."""

    campaign: dict
    items: pd.DataFrame
    assignees: pd.DataFrame
    agreement: dict[str, AgreementEstimate]

    def summary(self) -> dict:
        """Counts for a headline and for ``--json``."""
        c, items = self.campaign, self.items
        return {
            "campaign_id": c["campaign_id"], "name": c["name"], "status": c["status"],
            "items": int(c["items"]), "labels_expected": int(c["assignments"]),
            "labels_in": int(c["labels_in"]), "items_done": int(c["items_done"]),
            "changed": int(items["changed"].sum()), "majority": int(items["campaign_label"].notna().sum()),
            "agreement": {m: {"value": e.value, "ci_low": e.ci_low, "ci_high": e.ci_high,
                              "n_items": e.n_items} for m, e in self.agreement.items()},
        }


def _items(store: Store, campaign_id: str) -> pd.DataFrame:
    items = sql.campaign_items(store, campaign_id)
    items["changed"] = items["label"].fillna("\0") != items["label_before"].fillna("\0")
    items["votes"] = [{str(k): int(n) for k, n in v.items()} if isinstance(v, dict) else {}
                      for v in items["votes"]]
    return items


def campaign_items(store: Store, campaign_id: str) -> pd.DataFrame:
    """The campaign's results, one row per item (its items table, as the exports write it):
    ``campaign_id, item_id, assignees`` (a list), ``label_before, suggested_label, label`` (the item's
    resolved label now), ``provenance, labels_in`` (labels received from the campaign), ``campaign_label``
    (the campaign's strict majority, missing without one), ``votes`` (label → count) and ``changed`` (the
    resolved label differs from ``label_before``)."""
    _campaign(store, campaign_id)
    items = _items(store, campaign_id)
    items.insert(0, "campaign_id", campaign_id)
    return items


def campaign_progress(store: Store, campaign_id: str, *, n_boot: int = 500) -> CampaignProgress:
    """The campaign's progress, agreement and effect on the resolved labels (see the module's words)."""
    campaign = _campaign(store, campaign_id)
    items = _items(store, campaign_id)
    counts = sql.campaign_counts(store, campaign_id)
    pairable = int((counts.groupby("item_id")["n"].sum() >= 2).sum()) if not counts.empty else 0
    agreement = {} if pairable < MIN_AGREEMENT_ITEMS else agreement_estimates(
        counts, metrics=("krippendorff_alpha", "percent_agreement"), n_boot=n_boot, random_state=0)
    return CampaignProgress(campaign, items, sql.assignee_progress(store, campaign_id), agreement)


def label_config(labels: Sequence[str]) -> str:
    """A Label Studio labeling config for the exported tasks: the item's text and one choice per label
    (the ``choices`` control ``LABEL_CONTROL`` the pre-annotations name)."""
    choices = "\n".join(f"    <Choice value={quoteattr(str(label))}/>" for label in labels)
    return (f'<View>\n  <Text name="text" value="$text"/>\n  <Choices name="{LABEL_CONTROL}" toName="text" '
            f'choice="single" showInLine="true">\n{choices}\n  </Choices>\n</View>\n')


def label_studio_tasks(store: Store, campaign_id: str) -> list[dict]:
    """The campaign as Label Studio task-import JSON: one task per item with ``data`` (``item_id`` and the
    item's ``text`` or ``media_ref``: only what the item already has, so importing the export back
    changes no item), ``meta`` (``campaign_id``, the assignees, the label when the campaign began, the due
    date) and the suggested label as a pre-annotation (``predictions``)."""
    campaign = _campaign(store, campaign_id)
    rows = sql.export_rows(store, campaign_id)
    tasks = []
    for item_id, group in rows.groupby("item_id", sort=True):
        first = group.iloc[0]
        data = {"item_id": item_id}
        data.update({k: first[k] for k in ("text", "media_ref") if _text(first[k])})
        task: dict = {"data": data, "meta": {
            "campaign_id": campaign_id, "assignees": list(group["assignee"]),
            "label_before": _text(first["label_before"]), "due_at": _iso(first["due_at"])}}
        if _text(first["suggested_label"]):
            task["predictions"] = [{
                "model_version": f"labelwatch {campaign['run_id'] or 'suggestion'}",
                "result": [{"from_name": LABEL_CONTROL, "to_name": "text", "type": "choices",
                            "value": {"choices": [first["suggested_label"]]}}],
            }]
        tasks.append(task)
    return tasks


def export_campaign(store: Store, campaign_id: str, path: str | Path, fmt: str | None = None, *,
                    table: str | None = None) -> exports.Written:
    """Write the campaign to ``path``.

    Parameters
    ----------
    store : Store
        The store.
    campaign_id : str
        The campaign.
    path : str or Path
        The file to write (replaced if it exists).
    fmt : {"json", "csv", "parquet", "jsonl"}, optional
        ``json``: Label Studio's task-import JSON (``label_studio_tasks``), one task per item; the others a
        table (``analytics.core.exports``). None: from ``path``'s extension (``.json``: the tasks).
    table : {"assignments", "items"}, optional
        The table: ``assignments`` (the default; one row per item and assignee, what a labeling tool
        needs: ``assignments``) or ``items`` (the campaign's results, one row per item:
        ``campaign_items``).

    Returns
    -------
    Written
        The file, its format and the rows (tasks for ``json``) in it.

    Raises
    ------
    CampaignError
        No such campaign, an unknown table, or the items table asked for as Label Studio tasks.
    ExportError
        An unknown format, or none given and the extension names none; nothing is written.
    """
    fmt = exports.format_for(path, fmt, formats=CAMPAIGN_FORMATS)
    if table not in (None, *TABLES):
        raise CampaignError(f"unknown table {table!r}: use one of {', '.join(TABLES)}")
    if fmt == "json":
        if table == "items":
            raise CampaignError("Label Studio's tasks (.json) are the campaign for a labeling tool; write "
                                "the items table as .csv, .parquet or .jsonl.")
        tasks = label_studio_tasks(store, campaign_id)
        Path(path).write_text(json.dumps(tasks, indent=1, ensure_ascii=False), encoding="utf-8")
        return exports.Written(Path(path), fmt, len(tasks))
    rows = campaign_items(store, campaign_id) if table == "items" else assignments(store, campaign_id)
    exports.write(rows, path, fmt)
    return exports.Written(Path(path), fmt, len(rows))


def assignments(store: Store, campaign_id: str) -> pd.DataFrame:
    """One row per assignment, as the CSV export writes it: ``campaign_id, item_id, assignee, dataset,
    text, media_ref, label_before, suggested_label, due_at``."""
    _campaign(store, campaign_id)
    return sql.export_rows(store, campaign_id)


def slice_values(store: Store) -> pd.DataFrame:
    """The slices a campaign can be made of: ``key, value, items``."""
    return sql.slice_values(store)


def import_labels(store: Store, actor: Actor, campaign_id: str, path: str | Path, *,
                  name: str | None = None) -> ValidationReport:
    """Import a Label Studio export of the campaign's tasks as label events tied to it, in one transaction
    (the ingest pipeline's validation, rejects and report; items outside the campaign are rejected).

    Raises
    ------
    PermissionDenied
        ``actor`` is not an admin.
    CampaignError
        There is no such campaign.
    """
    require(actor, Role.ADMIN, "import a campaign's labels")
    _campaign(store, campaign_id)
    prepared = prepare(store, path, kind="label-studio", name=name, campaign_id=campaign_id)
    return commit(store, prepared, created_by=actor.name)


def resolve(store: Store, actor: Actor, campaign_id: str, *, rationale: str | None = None) -> pd.DataFrame:
    """Record the campaign's majority labels as actions (see the module's words) in one transaction;
    return the actions written (empty when no item has a majority to record).

    Raises
    ------
    PermissionDenied
        ``actor`` is not an admin.
    CampaignError
        There is no such campaign, or ``actor`` made a second-review relabel the campaign would answer, or
        an item was acted on while the majority was being computed (resolve again).
    """
    require(actor, Role.ADMIN, "resolve a relabel campaign")
    # Read before the progress the decisions rest on: an action on an item after this stops the resolve
    # (actions.ItemChanged) rather than being overwritten by a majority computed without it.
    cur = store.cursor()
    seen = remediation_sql.latest_actions(cur, sorted(sql.campaign_item_ids(cur, campaign_id)))
    progress = campaign_progress(store, campaign_id, n_boot=0)
    items = progress.items
    done_before = (items["label"] == items["campaign_label"]) & (items["provenance"] == "campaign")
    decided = items[items["campaign_label"].notna() & ~done_before]
    why = (rationale or "").strip() or f"Relabel campaign {progress.campaign['name']!r} ({campaign_id})"
    todo = []
    for row in decided.itertuples():
        votes = row.votes
        todo.append({
            "item_id": row.item_id, "action": "confirm" if row.label == row.campaign_label else "relabel",
            "to_label": row.campaign_label, "campaign_id": campaign_id, "run_id": progress.campaign["run_id"],
            "rationale": f"{why}: {votes[row.campaign_label]} of {sum(votes.values())} campaign labels say "
                         f"{row.campaign_label}.",
            "evidence": {"campaign_votes": votes, "label_before": _text(row.label_before),
                         "suggested_label": _text(row.suggested_label)},
            "seen_seq": seen.get(row.item_id, (0,))[0],
        })
    if not todo:
        return pd.DataFrame(columns=[*remediation_sql.ACTION_COLUMNS, "seq", "created_at"])
    try:
        return actions.act_many(store, actor, todo, role=Role.ADMIN)
    except ActionError as exc:
        raise CampaignError(f"Cannot resolve campaign {campaign_id}: {exc}") from exc
