"""LabelWatch's command line: ``python -m analytics [--db PATH] COMMAND``.

Commands
--------
demo [--seed S] [--scale N]
    Build the digits demo store (or N synthetic events for benchmarks) and print what was built.
ingest FILE [FILE ...] [--kind K] [--dataset D] [--model-version V] [--rules FILE] [--dry-run]
    Validate and load files; print each file's validation report.
score [--model-version V] [--rules FILE] [--folds K] [--neighbours K] [--seed S]
    Run detection (model second opinion, confident learning, annotators, neighbours, rules), cluster the
    suspects and store the run; print the most suspicious items with their evidence.
summary [--json]
    Every current finding; ``--json`` prints one machine-readable object (DESIGN.md §4).

Exit status: 0 on success; 1 when a file cannot be ingested (the reason goes to stderr) or the request is
invalid; 2 when the store cannot be opened, e.g. because another process holds it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from analytics.schema import INPUT_KINDS
from analytics.store import Store, StoreError

DEFAULT_DB = Path("data") / "labelwatch.duckdb"


def default_db() -> str:
    """The store used without ``--db``: ``$LABELWATCH_DB``, else ``data/labelwatch.duckdb``."""
    return os.environ.get("LABELWATCH_DB") or str(DEFAULT_DB)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analytics",
        description="LabelWatch: label-quality monitoring over a DuckDB store.",
        epilog="Exit status: 0 ok, 1 a file could not be ingested or the request was invalid, "
        "2 the store could not be opened (for example, another process holds it).",
    )
    parser.add_argument(
        "--db",
        default=None,
        metavar="PATH",
        help="DuckDB store file (default: $LABELWATCH_DB, else data/labelwatch.duckdb); created when missing",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="build the seeded demo store",
        description="Build the digits demo store with its hidden truth, or --scale N synthetic events.",
    )
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument(
        "--scale", type=_positive_int, default=None, metavar="N",
        help="instead of the digits demo, generate and ingest N synthetic events (benchmarks)",
    )

    ingest = commands.add_parser(
        "ingest",
        help="validate and load files",
        description="Validate and load CSV, Parquet or JSONL files; print a validation report per file. "
        "Rejected rows are kept with their reason; re-ingesting a file is a no-op.",
    )
    ingest.add_argument("files", nargs="+", type=Path, metavar="FILE", help="files to load")
    ingest.add_argument(
        "--kind", choices=INPUT_KINDS, default="events", help="what the files hold (default events)"
    )
    ingest.add_argument("--dataset", default="default", help="dataset of items that arrive with the files")
    ingest.add_argument("--model-version", default=None, help="model version of predictions files")
    ingest.add_argument("--rules", type=Path, default=None, metavar="FILE",
                        help="label rules to check events against (default: $LABELWATCH_RULES, else "
                        "rules.toml next to the store); broken rules are warnings, rows are kept")
    ingest.add_argument(
        "--dry-run", action="store_true", help="validate and report, but write nothing to the store"
    )

    score = commands.add_parser(
        "score",
        help="run detection and store a run",
        description="Score every item's label (model second opinion, cleanlab, annotators, neighbours, "
        "rules), cluster the suspects and store the run.",
    )
    score.add_argument("--model-version", default=None,
                       help="use these imported predictions instead of a cross-validated model")
    score.add_argument("--rules", type=Path, default=None, metavar="FILE",
                       help="rules file (default: $LABELWATCH_RULES, else rules.toml next to the store)")
    score.add_argument("--folds", type=_positive_int, default=5, help="cross-validation folds (default 5)")
    score.add_argument("--neighbours", type=int, default=10, help="nearest neighbours per item (default 10)")
    score.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    score.add_argument("--top", type=int, default=10, help="suspects to print (default 10)")

    summary = commands.add_parser(
        "summary", help="print every current finding", description="Print every current finding of the store."
    )
    summary.add_argument("--json", action="store_true", help="print one JSON object (for pipelines)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit status."""
    args = build_parser().parse_args(argv)
    db = args.db or default_db()
    try:
        with Store(db) as store:
            return _COMMANDS[args.command](store, args)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: not an error of ours; keep Python from complaining at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _demo(store: Store, args: argparse.Namespace) -> int:
    from analytics import demo, scale
    from analytics.store import summary as queries

    started = time.perf_counter()
    if args.scale is not None:
        scale.build_scale_store(store, args.scale, seed=args.seed, progress=_print_progress)
        built = f"{args.scale:,} synthetic events (seed {args.seed})"
    else:
        try:
            demo.build_demo_store(store, seed=args.seed, progress=_print_progress)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        built = f"the digits demo (seed {args.seed})"
    counts = queries.table_counts(store)
    print(f"Built {built} in {store.path} in {time.perf_counter() - started:.1f} s:")
    for table in ("items", "item_attributes", "annotators", "label_events", "gold_labels", "label_schema",
                  "guidelines"):
        print(f"  {table:<16} {counts[table]:>12,}")
    return 0


def _ingest(store: Store, args: argparse.Namespace) -> int:
    from analytics import ingest, rules

    status = 0
    rules_path = args.rules or rules.find_rules_file(store.path)
    try:
        ruleset = rules.load_rules(rules_path) if rules_path is not None else None
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for path in args.files:
        try:
            prepared = ingest.prepare(store, path, kind=args.kind, dataset=args.dataset,
                                      model_version=args.model_version, rules=ruleset)
        except ingest.IngestError as exc:
            message = str(exc)
            print(f"error: {message if str(path) in message else f'{path}: {message}'}", file=sys.stderr)
            status = 1
            continue
        with prepared:
            report = prepared.report if args.dry_run else ingest.commit(store, prepared)
        print(("[dry run, nothing written] " if args.dry_run else "") + report.summary())
    return status


def _summary(store: Store, args: argparse.Namespace) -> int:
    from analytics import summary

    result = summary.store_summary(store)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
        return 0
    totals, pa = result["store"], result["agreement"]["percent_agreement"]
    print(f"Store {totals['path']} (schema v{totals['schema_version']})")
    about = "≈" if totals["items_count"]["estimate"] else ""
    print(f"  {totals['events']:,} events on {about}{totals['items']:,} items by {totals['annotators']:,} "
          f"annotators, {totals['labels']} labels, {totals['first_at']} … {totals['last_at']}")
    if pa["value"] is None:
        print("  percent agreement: n/a (no item has two or more annotators)")
    else:
        print(f"  percent agreement: {pa['value']:.3f} (95% CI {pa['ci_low']:.3f}–{pa['ci_high']:.3f}, "
              f"{pa['n_items']:,} items)")
    for metric, name in (("krippendorff_alpha", "Krippendorff's alpha"), ("fleiss_kappa", "Fleiss' kappa"),
                         ("gwet_ac1", "Gwet's AC1")):
        found = result["agreement"].get(metric)
        if found and found["value"] is not None:
            interval = ""
            if found["ci_low"] is not None:
                interval = f" (95% CI {found['ci_low']:.3f}–{found['ci_high']:.3f})"
            print(f"  {name}: {found['value']:.3f}{interval}")
    flagged = [a for a in result["annotators"] if a["flags"]]
    for annotator in flagged:
        flags = ", ".join(annotator["flags"])
        print(f"  annotator {annotator['annotator_id']} ({annotator['cohort']}): {flags}")
    versions = ", ".join(f"{g['version']} from {g['effective_at']}" for g in result["drift"]["guidelines"])
    print(f"  guidelines: {versions or 'none'}")
    for line in result["drift"].get("what_changed", [])[:5]:
        print(f"  drift: {line}")
    for found in [s for s in result["slices"] if s["significant"]][:3]:
        print(f"  noisy slice: {found['attribute']} = {found['value']}: {found['noise_rate']:.1%} of items "
              f"disputed (95% CI {found['ci_low']:.1%}–{found['ci_high']:.1%}) vs {found['rest_rate']:.1%} "
              f"elsewhere, q = {found['q_value']:.3g}")
    suspects = result["suspects"]
    if suspects["run_id"]:
        print(f"  suspects: {suspects['count']:,} of {suspects['items']:,} items flagged "
              f"({suspects['run_id']})")
    return 0


def _score(store: Store, args: argparse.Namespace) -> int:
    from analytics import rules, suspects
    from analytics.store import detection as queries

    path = args.rules or rules.find_rules_file(store.path)
    try:
        ruleset = rules.load_rules(path) if path is not None else None
        run_id = suspects.run_detection(
            store, created_by=os.environ.get("USER", "cli"), model_version=args.model_version,
            rules=ruleset, n_splits=args.folds, n_neighbours=args.neighbours, random_state=args.seed,
            progress=_print_progress)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    overview, params = queries.run_overview(store, run_id), queries.run_params(store, run_id)
    model = params.get("model") or {}
    print(f"Run {run_id}: {overview['items']:,} items scored, {overview['flagged']:,} flagged as likely "
          f"mislabeled ({overview['cleanlab_issues']:,} by cleanlab alone).")
    if model:
        print(f"  model: {model['verdict']}")
    if path is not None:
        print(f"  rules: {path}")
    page, _ = queries.suspects_page(store, run_id, limit=args.top)
    for row in page.itertuples():
        print(f"  #{row.rank} {row.item_id}: '{row.given_label}' → '{row.suggested_label}' "
              f"(score {row.score:.2f}): {row.explanation}")
    found = queries.clusters(store, run_id)
    if len(found):
        print(f"  {len(found)} clusters; largest: " + ", ".join(
            f"{c.cluster_id} ({c.size})" for c in found.head(3).itertuples()))
    return 0


def _print_progress(fraction: float, message: str) -> None:
    print(f"[{fraction:4.0%}] {message}", file=sys.stderr)


def _positive_int(text: str) -> int:
    value = int(float(text))  # accepts 1e7
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of events, got {text}")
    return value


_COMMANDS = {"demo": _demo, "ingest": _ingest, "score": _score, "summary": _summary}

if __name__ == "__main__":
    sys.exit(main())
