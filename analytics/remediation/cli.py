"""The remediation commands of the CLI (``python -m analytics`` / ``labelwatch``), for pipelines.

``policy run FILE [--dry-run]``, ``versions list|create|diff|rollback|export``, ``audit``; each takes
``--actor NAME`` (default: the local user, ``LABELWATCH_USER``) whose role comes from the roles file
(``LABELWATCH_ROLES``; without one every actor is an admin, single-user mode) and ``--json`` for one JSON
object on stdout. Exit status: 0 done, 1 refused or invalid (the message says why), 2 store error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

import pandas as pd

from analytics.remediation import actions, policies, versions
from analytics.remediation.roles import Actor, PermissionDenied, local_actor, role_book
from analytics.store import Store
from analytics.store import remediation as sql

__all__ = ["COMMANDS", "add_commands"]


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``policy``, ``versions`` and ``audit`` to the CLI's sub-commands."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--actor", default=None,
                        help="who acts (default: $LABELWATCH_USER, else the login name); the role comes from "
                        "$LABELWATCH_ROLES")
    common.add_argument("--json", action="store_true", help="print one JSON object (for pipelines)")

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
    export = ver_commands.add_parser("export", parents=[common], help="write a version as CSV or Parquet")
    export.add_argument("version")
    export.add_argument("--out", required=True, help="the file to write (.csv or .parquet)")

    audit = commands.add_parser("audit", parents=[common], help="the audit trail of remediation actions",
                                description="Every remediation action, newest first.")
    for name in ("action", "policy", "campaign"):
        audit.add_argument("--" + name, default=None, help=f"only actions of this {name}")
    audit.add_argument("--by", default=None, help="only actions by this actor")
    audit.add_argument("--item", default=None, help="only actions on this item")
    audit.add_argument("--limit", type=int, default=50, help="at most this many rows (default 50; 0: all)")


def _actor(args: argparse.Namespace) -> Actor:
    book = role_book()
    return book.actor(args.actor) if args.actor else local_actor(book)


def _records(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.to_json(orient="records", date_format="iso"))


def _out(args: argparse.Namespace, payload: dict, lines: list[str]) -> None:
    if args.json:
        print(json.dumps(payload, default=str, indent=2))
    else:
        print("\n".join(lines))


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
        path = versions.export_version(store, args.version, args.out)
        _out(args, {"version": args.version, "out": str(path)}, [f"Wrote {args.version} to {path}."])
    return 0


def _audit(store: Store, args: argparse.Namespace) -> int:
    frame = sql.action_log(store, item_id=args.item, actor=args.by, action=args.action, policy=args.policy,
                           campaign_id=args.campaign, limit=args.limit or None)
    lines = [f"{r.created_at:%Y-%m-%d %H:%M} {r.actor:<12} {r.action:<9} {r.item_id}  "
             f"{r.from_label or ''}→{r.to_label or ''}  {r.rationale}" for r in frame.itertuples()]
    _out(args, {"actions": _records(frame)}, lines or ["No remediation actions match."])
    return 0


Command = Callable[[Store, argparse.Namespace], int]


def _guarded(command: Command) -> Command:
    def run(store: Store, args: argparse.Namespace) -> int:
        try:
            return command(store, args)
        except (PermissionDenied, actions.ActionError, policies.PolicyError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return run


#: Sub-command name → function, for the CLI's dispatch table.
COMMANDS: dict[str, Any] = {"policy": _guarded(_policy), "versions": _guarded(_versions),
                            "audit": _guarded(_audit)}
