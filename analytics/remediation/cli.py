"""The remediation commands of the CLI (``python -m analytics`` / ``labelwatch``), for pipelines.

``queue``, ``act ITEM ACTION``, ``policy run FILE [--dry-run]``,
``versions list|create|diff|rollback|export``, ``campaign list|create|show|export|import|resolve``, ``audit``;
each takes
``--actor NAME`` (default: the local user, ``LABELWATCH_USER``) whose role comes from the roles file
(``LABELWATCH_ROLES``; without one every actor is an admin, single-user mode) and ``--json`` for one JSON
object on stdout. Exit status: 0 done, 1 refused or invalid (the message says why), 2 store error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from analytics.core import exports
from analytics.remediation import actions, audit, campaigns, policies, queue, versions
from analytics.remediation.roles import Actor, PermissionDenied, local_actor, role_book
from analytics.store import Store
from analytics.store import remediation as sql

__all__ = ["COMMANDS", "add_commands", "add_format_option"]


def add_format_option(parser: argparse.ArgumentParser, formats: tuple[str, ...], what: str = "") -> None:
    """``--format`` of a command that writes ``--out``: one of ``formats``, by default the one the file's
    extension names. Not argparse's ``choices``: an unknown format is refused by the export itself
    (``analytics.core.exports.format_for``) with exit status 1 and the choices in the message."""
    parser.add_argument("--format", default=None, metavar="FORMAT",
                        help=" | ".join(formats) + (f"; {what}" if what else "")
                        + " (default: the one the --out file's extension names)")


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``queue``, ``act``, ``policy``, ``versions``, ``campaign`` and ``audit`` to the CLI."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--actor", default=None,
                        help="who acts (default: $LABELWATCH_USER, else the login name); the role comes from "
                        "$LABELWATCH_ROLES")
    common.add_argument("--json", action="store_true", help="print one JSON object (for pipelines)")

    queue_ = commands.add_parser(
        "queue", parents=[common], help="the review queue, highest impact first",
        description="The items waiting for a decision (requested, escalated, or waiting for a second "
        "review), highest impact first, as the Review page orders them. Each row's last_seq is what "
        "`act --seen-seq` takes, so that a decision on an item that changed meanwhile is refused.")
    queue_.add_argument("--reviewer", default=None,
                        help="the queue as this reviewer sees it: without the items they decided since the "
                        "item entered the queue, nor those waiting for their own second opinion (default: "
                        "everyone's)")
    queue_.add_argument("--run", dest="run_id", default=None,
                        help="the detection run whose evidence orders the queue (default: the newest)")
    queue_.add_argument("--limit", type=int, default=20, help="at most this many rows (default 20; 0: all)")

    act = commands.add_parser("act", parents=[common], help="record a decision on one item (reviewers)",
                              description="Confirm, relabel, escalate, exclude or revert one item's label.")
    act.add_argument("item", help="the item id")
    act.add_argument("action", choices=actions.KINDS, help="what to do")
    act.add_argument("--label", default=None, help="the new label (relabel)")
    act.add_argument("--reason", required=True, help="why (recorded with the action)")
    act.add_argument("--seen-seq", type=int, default=None, metavar="SEQ",
                     help="the item's last_seq as `queue` showed it: refuse if the item changed since")

    policy = commands.add_parser("policy", help="run an auto-correction policy",
                                 description="Run the policies of a TOML file on a detection run.")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    run = policy_commands.add_parser("run", parents=[common], help="dry-run or apply a policy file")
    run.add_argument("file", help="the policy file (see data/policies.example.toml)")
    run.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    run.add_argument("--run", dest="run_id", default=None, help="the detection run (default: the newest)")
    run.add_argument("--policy", default=None, help="only the policy of this name (default: every one)")
    run.add_argument("--confirm-reason", default=None,
                     help="apply although the guardrails block it, for this reason (admins; recorded)")

    ver = commands.add_parser("versions", help="dataset versions: list, create, diff, rollback, export",
                              description="Immutable snapshots of every item's resolved label.")
    ver_commands = ver.add_subparsers(dest="versions_command", required=True, metavar="ACTION")
    ver_commands.add_parser("list", parents=[common], help="every version, newest first")
    create = ver_commands.add_parser("create", parents=[common], help="snapshot the resolved labels (admins)")
    create.add_argument("--note", default=None, help="what this version is for")
    diff = ver_commands.add_parser("diff", parents=[common], help="what changed between two versions")
    diff.add_argument("old")
    diff.add_argument("new")
    rollback = ver_commands.add_parser("rollback", parents=[common],
                                       help="return the labels to an earlier version (admins)")
    rollback.add_argument("version")
    rollback.add_argument("--reason", required=True, help="why (recorded with every revert)")
    export = ver_commands.add_parser("export", parents=[common],
                                     help="write a version as CSV, Parquet or JSON Lines")
    export.add_argument("version")
    export.add_argument("--out", required=True, help="the file to write (.csv, .parquet or .jsonl)")
    add_format_option(export, exports.FORMATS)

    _add_campaign_commands(commands, common)

    audit = commands.add_parser("audit", parents=[common], help="the audit trail of remediation actions",
                                description="Every remediation action, newest first.")
    for name in ("action", "policy", "campaign"):
        audit.add_argument("--" + name, default=None, help=f"only actions of this {name}")
    audit.add_argument("--by", default=None, help="only actions by this actor")
    audit.add_argument("--item", default=None, help="only actions on this item")
    audit.add_argument("--limit", type=int, default=None,
                       help="at most this many rows (default 50, with --out all; 0: all)")
    audit.add_argument("--out", default=None,
                       help="write the actions to this file (.csv, .parquet or .jsonl), not to the screen")
    add_format_option(audit, exports.FORMATS)


def _add_campaign_commands(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    camp = commands.add_parser("campaign", help="relabel campaigns: create, list, show, export, import, "
                               "resolve",
                               description="Send items back to labelers and take their labels back.")
    camp_commands = camp.add_subparsers(dest="campaign_command", required=True, metavar="ACTION")
    camp_commands.add_parser("list", parents=[common], help="every campaign with its progress, newest first")
    create = camp_commands.add_parser("create", parents=[common], help="create a campaign (admins)")
    create.add_argument("--name", required=True, help="what the labelers will see")
    source = create.add_mutually_exclusive_group(required=True)
    source.add_argument("--cluster", default=None, help="a cluster of the detection run")
    source.add_argument("--slice", default=None, metavar="KEY=VALUE",
                        help="a slice: its flagged suspects (every item with --all-items)")
    source.add_argument("--items", default=None, metavar="FILE", help="a file of item ids, one per line")
    create.add_argument("--all-items", action="store_true", help="with --slice: every item of the slice")
    create.add_argument("--run", dest="run_id", default=None, help="the detection run (default: the newest)")
    create.add_argument("--assignee", action="append", required=True,
                        help="an assignee's annotator id (repeat for several)")
    create.add_argument("--labels-per-item", type=int, default=1, help="labels each item gets (default 1)")
    create.add_argument("--due", default=None, help="the due date, YYYY-MM-DD")
    create.add_argument("--note", default=None, help="instructions or context")
    for name, what in (("show", "one campaign's progress and agreement"),
                       ("resolve", "record the campaign's majority labels as actions (admins)")):
        one = camp_commands.add_parser(name, parents=[common], help=what)
        one.add_argument("campaign")
    export = camp_commands.add_parser(
        "export", parents=[common], help="write the campaign for a labeling tool, or its results",
        description="Label Studio tasks (.json), or a table as CSV, Parquet or JSON Lines: the assignments "
        "(one row per item and assignee) or, with --table items, the campaign's results per item.")
    export.add_argument("campaign")
    export.add_argument("--out", required=True, help=".json (Label Studio tasks), .csv, .parquet or .jsonl")
    add_format_option(export, campaigns.CAMPAIGN_FORMATS, "json: Label Studio tasks")
    export.add_argument("--table", choices=campaigns.TABLES, default=None,
                        help="the table of a .csv, .parquet or .jsonl: assignments (default) or items")
    back = camp_commands.add_parser("import", parents=[common],
                                    help="import a Label Studio export of the campaign's tasks (admins)")
    back.add_argument("campaign")
    back.add_argument("file", help="the Label Studio JSON export")


def _actor(args: argparse.Namespace) -> Actor:
    # Through the dashboard's API the server has settled who acts (analytics.api.commands).
    if getattr(args, "as_actor", None) is not None:
        return args.as_actor
    book = role_book()
    return book.actor(args.actor) if args.actor else local_actor(book)


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def _out(args: argparse.Namespace, payload: dict, lines: list[str]) -> None:
    if args.json:
        print(json.dumps(payload, default=str, indent=2))
    else:
        print("\n".join(lines))


def _queue(store: Store, args: argparse.Namespace) -> int:
    run_id = args.run_id or sql.latest_run(store)
    waiting = queue.review_queue(store, reviewer=args.reviewer, run_id=run_id)
    shown = waiting if args.limit == 0 else waiting.head(max(args.limit, 0))
    columns = ["item_id", "reason", "label", "suggested_label", "impact", "needs_second_review",
               "first_reviewer", "first_label", "last_seq", "why"]
    whose = f" for {args.reviewer}" if args.reviewer else ""
    lines = [f"{len(waiting):,} items wait for a decision{whose}"
             + (f" (the first {len(shown):,})" if len(shown) < len(waiting) else "") + "."]
    lines += [f"  {r.item_id}: {r.label if isinstance(r.label, str) else '-'} → "
              f"{r.suggested_label if isinstance(r.suggested_label, str) else '-'}  ({r.reason}; impact "
              f"{r.impact:.2f}{'; needs a second review' if r.needs_second_review else ''}; last_seq "
              f"{int(r.last_seq)})" for r in shown.itertuples()]
    _out(args, {"run_id": run_id, "waiting": len(waiting), "queue": _records(shown[columns])}, lines)
    return 0


def _act(store: Store, args: argparse.Namespace) -> int:
    written = actions.act(store, _actor(args), args.item, args.action, rationale=args.reason,
                          to_label=args.label, seen_seq=args.seen_seq)
    lines = [f"Recorded {r.action} of {r.item_id} ({r.from_label or '-'} → {r.to_label or '-'}) as "
             f"{r.actor}: {r.action_id}." for r in written.itertuples()]
    _out(args, {"actions": _records(written)}, lines)
    return 0


def _policy(store: Store, args: argparse.Namespace) -> int:
    loaded = policies.load_policies(args.file)
    if args.policy:
        loaded = [p for p in loaded if p.name == args.policy]
        if not loaded:
            raise policies.PolicyError(f"{args.file} declares no policy named {args.policy!r}.")
    run_id = args.run_id or sql.latest_run(store)
    if run_id is None:
        raise policies.PolicyError("The store has no detection run: run `score` first.")
    actor = _actor(args)
    results, lines = [], []
    for policy in loaded:
        preview = policies.dry_run(store, policy, run_id)
        entry = {"policy": policy.ref, "run_id": run_id, "would_change": len(preview.changes),
                 "items_in_run": preview.items_in_run, "blocked": list(preview.blocked),
                 "changes": _records(preview.changes[["item_id", "from_label", "to_label"]]),
                 "classes": _records(preview.classes), "applied": 0}
        lines.append(preview.verdict())
        if not args.dry_run:
            written = policies.apply(store, actor, policy, run_id, confirm_reason=args.confirm_reason,
                                     preview=preview)
            entry["applied"] = len(written)
            lines.append(f"Applied as {actor.name}: {len(written):,} actions recorded with {policy.ref}.")
        results.append(entry)
    _out(args, {"dry_run": bool(args.dry_run), "policies": results}, lines)
    return 0


def _versions(store: Store, args: argparse.Namespace) -> int:
    command = args.versions_command
    if command == "list":
        frame = sql.versions(store)
        lines = [f"{r.version_id:<6} {r.created_at:%Y-%m-%d %H:%M} {r.created_by:<12} "
                 f"{int(r.items):>10,} items  {r.note or ''}" for r in frame.itertuples()]
        lines = lines or [f"No dataset versions in {store.path}."]
        _out(args, {"versions": _records(frame)}, lines)
    elif command == "create":
        row = versions.create_version(store, _actor(args), note=args.note)
        _out(args, row, [f"Created {row['version_id']}: {row['items']:,} items as of action {row['seq']}."])
    elif command == "diff":
        found = versions.diff(store, args.old, args.new)
        summary = found.summary()
        lines = [f"{summary['changed']:,} items differ between {args.old} and {args.new} "
                 f"({summary['relabeled']:,} relabeled, {summary['excluded']:,} excluded, "
                 f"{summary['included']:,} included again)."]
        lines += [f"  {r.item_id}: {r.old_label} → {r.new_label}  "
                  f"({r.action or r.provenance} by {r.actor or '-'})"
                  for r in found.changes.head(20).itertuples()]
        _out(args, {**summary, "changes": _records(found.changes), "classes": _records(found.classes)}, lines)
    elif command == "rollback":
        row = versions.rollback(store, _actor(args), args.version, reason=args.reason)
        _out(args, row, [f"Rolled back to {args.version}: {row['reverted']:,} actions reverted, "
                         f"{row['reapplied']:,} re-applied; new version {row['version_id']}."])
    else:
        written = versions.export_version(store, args.version, args.out, args.format)
        _out(args, {"version": args.version, "out": str(written.path), "format": written.format,
                    "rows": written.rows}, [written.words(f"items of {args.version}")])
    return 0


def _audit(store: Store, args: argparse.Namespace) -> int:
    limit = (0 if args.out else 50) if args.limit is None else args.limit
    fmt = exports.format_for(args.out, args.format) if args.out else None
    frame = sql.action_log(store, item_id=args.item, actor=args.by, action=args.action, policy=args.policy,
                           campaign_id=args.campaign, limit=limit or None)
    if args.out:
        exports.write(audit.export_rows(frame), args.out, fmt)
        written = exports.Written(Path(args.out), fmt, len(frame))
        _out(args, {"out": args.out, "format": fmt, "rows": len(frame)}, [written.words("actions")])
        return 0
    lines = [f"{r.created_at:%Y-%m-%d %H:%M} {r.actor:<12} {r.action:<9} {r.item_id}  "
             f"{r.from_label or ''}→{r.to_label or ''}  {r.rationale}" for r in frame.itertuples()]
    _out(args, {"actions": _records(frame)}, lines or ["No remediation actions match."])
    return 0


def _campaign(store: Store, args: argparse.Namespace) -> int:
    command = args.campaign_command
    if command == "list":
        frame = campaigns.list_campaigns(store)
        lines = [f"{r.campaign_id}  {r.status:<11} {r.labels_in:>6,}/{r.assignments:,} labels  {r.name}  "
                 f"({r.source})" for r in frame.itertuples()] or [f"No campaigns in {store.path}."]
        _out(args, {"campaigns": _records(frame)}, lines)
    elif command == "create":
        chosen = _selection(store, args)
        due = dt.date.fromisoformat(args.due) if args.due else None
        campaign_id = campaigns.create_campaign(
            store, _actor(args), args.name, chosen, assignees=args.assignee,
            labels_per_item=args.labels_per_item, due_at=due, note=args.note)
        _out(args, {"campaign_id": campaign_id, "items": len(chosen.items), "source": chosen.source},
             [f"Created {campaign_id}: {len(chosen.items):,} items ({chosen.source})."])
    elif command == "show":
        found = campaigns.campaign_progress(store, args.campaign)
        summary = found.summary()
        alpha = summary["agreement"].get("krippendorff_alpha")
        lines = [f"{summary['name']} ({summary['status']}): {summary['labels_in']:,} of "
                 f"{summary['labels_expected']:,} labels in; {summary['changed']:,} of {summary['items']:,} "
                 "items have a different resolved label than when the campaign began."]
        if alpha:
            lines.append(f"Agreement within the campaign: alpha {alpha['value']:.2f} (95% CI "
                         f"{alpha['ci_low']:.2f} to {alpha['ci_high']:.2f}, {alpha['n_items']} items).")
        lines += [f"  {r.assignee}: {r.done:,} of {r.assigned:,}" for r in found.assignees.itertuples()]
        _out(args, {**summary, "assignees": _records(found.assignees)}, lines)
    elif command == "export":
        written = campaigns.export_campaign(store, args.campaign, args.out, args.format, table=args.table)
        what = "tasks" if written.format == "json" else "items" if args.table == "items" else "assignments"
        _out(args, {"campaign_id": args.campaign, "out": args.out, "format": written.format,
                    "rows": written.rows}, [written.words(what)])
    elif command == "import":
        report = campaigns.import_labels(store, _actor(args), args.campaign, args.file)
        _out(args, {"campaign_id": args.campaign, "rows_read": report.rows_read,
                    "accepted": report.rows_accepted, "rejected": report.rows_rejected,
                    "by_reason": report.rejected_by_reason, "batch": report.batch_id},
             [report.summary()])
    else:
        written = campaigns.resolve(store, _actor(args), args.campaign)
        counts = written["action"].value_counts().to_dict() if len(written) else {}
        _out(args, {"campaign_id": args.campaign, "actions": len(written), "by_action": counts},
             [f"Recorded {len(written):,} actions from {args.campaign}: "
              f"{counts.get('relabel', 0):,} relabels, {counts.get('confirm', 0):,} confirms."])
    return 0


def _selection(store: Store, args: argparse.Namespace) -> campaigns.Selection:
    run_id = args.run_id or sql.latest_run(store)
    if args.items:
        lines = Path(args.items).read_text(encoding="utf-8").splitlines()
        ids = [line.strip() for line in lines if line.strip()]
        return campaigns.selection(store, ids, run_id=run_id)
    if args.cluster:
        if run_id is None:
            raise campaigns.CampaignError("The store has no detection run: run `score` first.")
        return campaigns.cluster_selection(store, run_id, args.cluster)
    key, sep, value = args.slice.partition("=")
    if not sep:
        raise campaigns.CampaignError(f"--slice {args.slice!r}: expected KEY=VALUE, e.g. source=fax")
    return campaigns.slice_selection(store, key.strip(), value.strip(), None if args.all_items else run_id)


Command = Callable[[Store, argparse.Namespace], int]


def _guarded(command: Command) -> Command:
    def run(store: Store, args: argparse.Namespace) -> int:
        try:
            return command(store, args)
        except (PermissionDenied, actions.ActionError, policies.PolicyError, ValueError, OSError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return run


#: Sub-command name → function, for the CLI's dispatch table.
COMMANDS: dict[str, Any] = {"queue": _guarded(_queue), "act": _guarded(_act), "policy": _guarded(_policy),
                            "versions": _guarded(_versions), "campaign": _guarded(_campaign),
                            "audit": _guarded(_audit)}
