"""LabelWatch's command line: ``python -m analytics [--db PATH] [--lake DIR] COMMAND``.

``--lake DIR`` (default ``$LABELWATCH_LAKE``) makes the store read its label events, items, gold labels and
predictions from the Parquet lake DIR in place (``analytics.store.lake``); the store remembers its lake, so
later commands need only ``--db``.

Commands
--------
demo [--seed S] [--scale N [--lake DIR]]
    Build the digits demo store (or N synthetic events for benchmarks; with ``--lake``, written as a
    Parquet lake that the store reads in place) and print what was built.
ingest FILE [FILE ...] [--kind K] [--dataset D] [--question Q] [--model-version V] [--rules FILE]
       [--map COLUMN=NAME] [--earliest DATE] [--latest DATE] [--dry-run] [--json]
    Validate and load files; print each file's validation report (``--json``: one object with every
    report and its rejects). ``--kind labelbox`` reads Labelbox Export v2 NDJSON files, the radio answers
    to one classification question (``--question``, default the first radio question) as the labels.
    The only command (with demo) that creates the store when it is missing; --dry-run never writes, not
    even a new store file.
score [--model-version V] [--rules FILE] [--folds K] [--neighbours K] [--seed S]
    Run detection (model second opinion, confident learning, annotators, neighbours, rules), cluster the
    suspects and store the run; print the most suspicious items with their evidence.
suspects export [RUN] --out FILE [--format csv|parquet|jsonl|npz] [--status STATUS] [--json]
    Write a detection run's items (default: the newest run; every status unless --status) as CSV, Parquet
    or JSON Lines, or the run in cleanlab's form (``npz``: ``labels``, ``pred_probs``, ``item_ids``,
    ``classes``, ``consensus``, ``run_id``; ``analytics.detection.export``). The format comes from the
    file's extension unless --format names it.
summary [--json]
    Every current finding; ``--json`` prints one machine-readable object (a public contract:
    docs/ARCHITECTURE.md), the alert rules evaluated under ``alerts``.
stats --lake DIR [--engine duckdb|spark] [--spark-master URL] [--grain G] [--json]
    The statistics of a Parquet lake (``DIR/events/``, ``annotators/``, ``item_attributes/``, ``gold/``):
    agreement, annotator reliability, label drift, noisy slices and a Dawid–Skene fit, with the heavy
    aggregations run in DuckDB on this machine or on Apache Spark (``--engine spark``: local mode on two
    cores, or the cluster of ``--spark-master``), the statistics by the same code as the dashboard's
    (``analytics.engine``). Needs no store. Exit status 1 when the lake cannot be read or Spark is asked
    for without pyspark or Java.
check [--config FILE] [--json] [--strict]
    Evaluate the alert rules (``--config``, else ``$LABELWATCH_ALERTS``, else alerts.toml beside the store,
    else the built-in defaults: analytics.monitoring.alerts) and print each in words, breaches first. Exit
    status 0 when no rule is breached, 1 when one is (with ``--strict``, also when a rule could not be
    evaluated for lack of data), 2 on a usage error, a missing or unusable store, or a bad alerts file, so
    a data pipeline can gate on it. Opens the store read-only (a store of an older schema must be opened
    once by another command to migrate it); never creates one.
batches
    Every import batch, newest first, with its retraction if it was retracted.
retract BATCH --reason TEXT [--actor NAME]
    Retract an import: every read leaves its rows out from now on (append-only; recorded with who and why).

Every other command reads an existing store: a path where none exists is an error, not a new empty store.

When a running dashboard holds the store (``<store>.endpoint.json`` beside it names the dashboard, and the
dashboard answers for that store), every command but ``demo`` is sent to the dashboard's HTTP API instead
of opening the file (DuckDB lets one process hold a store); the output and the exit status are the same,
and files the command writes are written here. See ``analytics.api``.
A ``--db`` that names a data file (CSV, Parquet, JSON) or another program's DuckDB database is refused;
``--adopt-db`` adds LabelWatch's tables to the latter on purpose. Text from files (ids, labels, reasons) is
printed with control characters escaped, so a file cannot send escape sequences to the terminal.

Exit status: 0 on success; 1 when a file cannot be ingested (the reason goes to stderr) or the request is
invalid; 2 when the store cannot be opened (missing, not a store, held by another process) or written
(a full disk).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from analytics.api import client, endpoint
from analytics.core.schema import INPUT_KINDS, STATUSES
from analytics.detection.export import SUSPECT_FORMATS
from analytics.remediation import cli as remediation_cli
from analytics.store import Store, StoreError

DEFAULT_DB = Path("data") / "labelwatch.duckdb"
#: The commands that may create the store file.
CREATING = ("demo", "ingest")
#: The commands never sent to a dashboard that holds the store: ``demo`` builds a store of its own.
LOCAL_ONLY = ("demo",)
#: The commands that read no store at all: ``stats`` reads a Parquet lake.
STORELESS = ("stats",)
# C0 and C1 control characters but line breaks and tabs, and the bidirectional overrides that reorder text.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def default_db() -> str:
    """The store used without ``--db``: ``$LABELWATCH_DB``, else ``data/labelwatch.duckdb``."""
    return os.environ.get("LABELWATCH_DB") or str(DEFAULT_DB)


def default_lake() -> str | None:
    """The lake used without ``--lake``: ``$LABELWATCH_LAKE``, else none (the store's own, or the one it
    was bound to)."""
    return os.environ.get("LABELWATCH_LAKE", "").strip() or None


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
        help="DuckDB store file (default: $LABELWATCH_DB, else data/labelwatch.duckdb); created by demo and "
        "ingest when missing, required by every other command",
    )
    parser.add_argument(
        "--lake", default=None, metavar="DIR",
        help="a folder of hive-partitioned Parquet files (events/, items/, item_attributes/, gold/, "
        "predictions/, annotators/) that the store reads in place of imports (default: $LABELWATCH_LAKE); "
        "the store remembers it",
    )
    parser.add_argument(
        "--adopt-db", action="store_true",
        help="add LabelWatch's tables to a DuckDB database of another program (refused without it)",
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
        help="instead of the digits demo, generate and ingest N synthetic events (benchmarks); with --lake "
        "DIR, write them as a Parquet lake in DIR that the store reads in place",
    )
    demo.add_argument("--lake", default=argparse.SUPPRESS, metavar="DIR",
                      help="with --scale N: write the events, items, attributes and annotators as a Parquet "
                      "lake in DIR (a new folder) and bind the store to it")
    demo.add_argument("--no-history", action="store_true",
                      help="leave out the demo's remediation round (review, policy, campaign, versions)")

    ingest = commands.add_parser(
        "ingest",
        help="validate and load files",
        description="Validate and load CSV, Parquet or JSONL files, Label Studio JSON exports or Labelbox "
        "NDJSON exports; print a validation report per file. Rejected rows are kept with their reason; "
        "re-ingesting a file is a no-op.",
    )
    ingest.add_argument("files", nargs="+", type=Path, metavar="FILE", help="files to load")
    ingest.add_argument(
        "--kind", choices=INPUT_KINDS, default="events", help="what the files hold (default events)"
    )
    ingest.add_argument("--dataset", default=None,
                        help="dataset of items that arrive with the files (default: 'default'; a Labelbox "
                        "export: each data row's project)")
    ingest.add_argument("--question", default=None, metavar="NAME",
                        help="--kind labelbox: the classification question whose radio answers are the "
                        "labels (default: the first radio question of the file)")
    ingest.add_argument("--model-version", default=None, help="model version of predictions files")
    ingest.add_argument("--rules", type=Path, default=None, metavar="FILE",
                        help="label rules to check events against (default: $LABELWATCH_RULES, else "
                        "rules.toml next to the store); broken rules are warnings, rows are kept")
    ingest.add_argument(
        "--map", action="append", default=[], metavar="COLUMN=NAME", type=_column_mapping,
        help="read the file's column COLUMN as NAME (e.g. --map rater=annotator_id); repeat for more",
    )
    ingest.add_argument(
        "--earliest", default=None, metavar="DATE",
        help="reject timestamps before this date or time, UTC (default: $LABELWATCH_EARLIEST, else "
        "1990-01-01)",
    )
    ingest.add_argument(
        "--latest", default=None, metavar="DATE",
        help="reject timestamps after this date or time, UTC (default: $LABELWATCH_LATEST, else one day "
        "from now)",
    )
    ingest.add_argument(
        "--dry-run", action="store_true",
        help="validate and report, but write nothing (a missing store is not created)",
    )
    ingest.add_argument("--json", action="store_true",
                        help="print one JSON object: each file's report with its rejects (for pipelines)")

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

    suspects = commands.add_parser(
        "suspects", help="export a detection run's items, or the run in cleanlab's form",
        description="Export the items a detection run scored.")
    suspects_commands = suspects.add_subparsers(dest="suspects_command", required=True, metavar="ACTION")
    export = suspects_commands.add_parser(
        "export", help="write a run's items (CSV, Parquet, JSON Lines) or its cleanlab arrays (.npz)",
        description="Write a detection run's items as a table, or the arrays its confident learning ran on "
        "in cleanlab's form: an .npz with labels (int, N), pred_probs (float, N x K), item_ids, classes, "
        "consensus and run_id, for cleanlab.filter.find_label_issues(labels, pred_probs).")
    export.add_argument("run_id", nargs="?", default=None, metavar="RUN",
                        help="the detection run (default: the newest)")
    export.add_argument("--out", required=True, help="the file to write (.csv, .parquet, .jsonl or .npz)")
    remediation_cli.add_format_option(export, SUSPECT_FORMATS, "npz: cleanlab's labels and pred_probs")
    export.add_argument("--status", choices=[*STATUSES, "all"], default="all",
                        help="only the items of this status (default all; not for npz, which holds every "
                        "item the model scored)")
    export.add_argument("--json", action="store_true", help="print one JSON object (for pipelines)")

    summary = commands.add_parser(
        "summary", help="print every current finding", description="Print every current finding of the store."
    )
    summary.add_argument("--json", action="store_true", help="print one JSON object (for pipelines)")

    check = commands.add_parser(
        "check",
        help="evaluate the alert thresholds; exit 1 when one is breached",
        description="Evaluate the alert rules and print each in words. Exit status: 0 no rule breached, "
        "1 a rule breached (--strict: or not evaluated for lack of data), 2 a usage error, a missing or "
        "unusable store, or a bad alerts file.",
    )
    check.add_argument("--config", type=Path, default=None, metavar="FILE",
                       help="the alerts file (default: $LABELWATCH_ALERTS, else alerts.toml next to the "
                       "store, else the built-in defaults; see data/alerts.example.toml)")
    check.add_argument("--json", action="store_true", help="print one JSON object (for pipelines)")
    check.add_argument("--strict", action="store_true",
                       help="also exit 1 when a rule cannot be evaluated (no detection run, no gold, ...)")

    commands.add_parser("batches", help="list the import batches",
                        description="List every import batch, newest first, and the retracted ones.")
    retract = commands.add_parser(
        "retract",
        help="retract an import batch",
        description="Retract an import: every read leaves its rows out from now on. Nothing is deleted; the "
        "retraction is recorded with who and why. Import the file again to take its rows back.",
    )
    retract.add_argument("batch_id", metavar="BATCH", help="the batch id (see the batches command)")
    retract.add_argument("--reason", required=True, help="why the import should not count (recorded)")
    retract.add_argument("--actor", default=None,
                         help="who retracts it (default: $LABELWATCH_USER, else the login name)")
    remediation_cli.add_commands(commands)

    impact = commands.add_parser(
        "impact", help="compare two arms before/after a remediation (and store the analysis)",
        description="Label quality against gold and a model trained on each dataset version, or two imported "
        "prediction sets (--predictions), with paired intervals overall, per class and per slice.",
    )
    impact.add_argument("arm_a", metavar="A", help="the version (or model version) before")
    impact.add_argument("arm_b", metavar="B", help="the version (or model version) after")
    impact.add_argument("--predictions", action="store_true", help="A and B are imported model versions")
    impact.add_argument("--seed", type=int, default=0, help="seed of the model and the bootstrap (default 0)")
    impact.add_argument("--actor", default=None, help="who runs it (default: $LABELWATCH_USER)")
    impact.add_argument("--json", action="store_true", help="print the result as one JSON object")
    report = commands.add_parser(
        "report", help="write the stakeholder report as one standalone HTML file",
        description="Activity, quality trends, drift and slice findings, what was changed and its measured "
        "effect, with the app's charts; opens offline.",
    )
    report.add_argument("--out", required=True, help="the HTML file to write")
    report.add_argument("--impact", default=None, metavar="ID",
                        help="the analysis to report (default: the newest)")

    stats = commands.add_parser(
        "stats", help="statistics of a Parquet lake, aggregated by DuckDB or Spark (no store needed)",
        description="Agreement, annotator reliability, label drift, noisy slices and a Dawid-Skene fit of a "
        "Parquet lake: the heavy aggregations run in DuckDB or on Apache Spark, the statistics here.",
    )
    stats.add_argument("--lake", required=True, type=Path, metavar="DIR",
                       help="the lake folder: events/, and optionally annotators/, item_attributes/, gold/")
    stats.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb",
                       help="where the aggregations run (default duckdb; spark needs `make spark`)")
    stats.add_argument("--spark-master", default=None, metavar="URL",
                       help="Spark master URL (default local[2]; e.g. spark://host:7077 for a cluster)")
    stats.add_argument("--grain", choices=("day", "week", "month"), default="week",
                       help="window of the label-drift table (default week)")
    stats.add_argument("--json", action="store_true", help="print one JSON object (for pipelines)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return its exit status.

    When a dashboard holds the store, the command goes through its API (``analytics.api.client``);
    otherwise it opens the store file.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    db = args.db or default_db()
    with contextlib.redirect_stdout(_Escaping(sys.stdout)), contextlib.redirect_stderr(_Escaping(sys.stderr)):
        try:
            if args.command in STORELESS:
                return _STORELESS[args.command](args)
            served = endpoint.live(db) if args.command not in LOCAL_ONLY else None
            if served is not None:
                return client.forward(served, argv, args)
            with _open(db, args) as store:
                return dispatch(store, args)
        except StoreError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except BrokenPipeError:
            # The reader (e.g. `| head`) went away: not an error of ours; keep Python from complaining.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0


def dispatch(store: Store, args: argparse.Namespace) -> int:
    """Run the parsed command ``args`` on an open ``store``; its output goes to stdout and stderr.

    The CLI calls it on the store it opened, the dashboard's API on the store it holds.
    """
    try:
        return _COMMANDS[args.command](store, args)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def actor_name(args: argparse.Namespace) -> str:
    """Who runs the command: the actor the API settled, else ``--actor``, else ``$LABELWATCH_USER``, else the
    login name."""
    import getpass

    settled = getattr(args, "as_actor", None)
    if settled is not None:
        return settled.name
    return getattr(args, "actor", None) or os.environ.get("LABELWATCH_USER") or getpass.getuser()


class _Escaping:
    """A text stream that writes control characters escaped (``\\x1b``), so text from files (ids, labels,
    reasons, file names) never reaches the terminal as escape sequences; line breaks and tabs pass."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(_UNPRINTABLE.sub(_escaped, text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _escaped(match: re.Match) -> str:
    return match.group().encode("unicode_escape").decode()


def _open(db: str, args: argparse.Namespace) -> Store:
    """The store the command works on; a dry run opens an existing store read-only and a missing one in
    memory, so it creates no file; ``check`` opens it read-only, so gates of several pipelines (and a
    read-only dashboard) can read one store at once."""
    lake = getattr(args, "lake", None) or default_lake()
    if args.command == "check":
        return Store(db, read_only=True, adopt=args.adopt_db, lake=lake)
    if args.command == "ingest" and args.dry_run:
        if db == ":memory:" or not Path(db).exists():
            return Store(":memory:")
        return Store(db, read_only=True, adopt=args.adopt_db, lake=lake)
    # demo writes its lake first and binds the store afterwards
    return Store(db, create=args.command in CREATING, adopt=args.adopt_db,
                 lake=None if args.command == "demo" else lake)


def _demo(store: Store, args: argparse.Namespace) -> int:
    from analytics.store import summary as queries
    from analytics.store.demo import demo_meta
    from analytics.synthetic import demo, scale

    started = time.perf_counter()
    lake = args.lake or default_lake()
    if lake is not None and args.scale is None:
        print("error: --lake with demo writes the synthetic world of --scale N as a lake; add --scale N",
              file=sys.stderr)
        return 1
    if lake is not None:
        try:
            scale.build_scale_lake_store(store, lake, args.scale, seed=args.seed, progress=_print_progress)
        except FileExistsError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        built = f"{args.scale:,} synthetic events (seed {args.seed}) as the Parquet lake {store.lake.root}"
    elif args.scale is not None:
        scale.build_scale_store(store, args.scale, seed=args.seed, progress=_print_progress)
        built = f"{args.scale:,} synthetic events (seed {args.seed})"
    else:
        try:
            demo.build_demo_store(store, seed=args.seed, progress=_print_progress,
                                  history=not args.no_history)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        built = f"the digits demo (seed {args.seed})"
    counts = queries.table_counts(store)
    print(f"Built {built} in {store.path} in {time.perf_counter() - started:.1f} s:")
    for table in ("items", "item_attributes", "annotators", "label_events", "gold_labels", "label_schema",
                  "guidelines"):
        print(f"  {table:<16} {counts[table]:>12,}")
    history = demo_meta(store).get("history") if args.scale is None else None
    if history:
        print(history)
    return 0


def _ingest(store: Store, args: argparse.Namespace) -> int:
    from analytics.ingest import pipeline as ingest
    from analytics.ingest import rules

    status = 0
    if args.question is not None and args.kind != "labelbox":
        print("error: --question NAME takes --kind labelbox (the question of a Labelbox export whose answers "
              "are the labels)", file=sys.stderr)
        return 1
    rules_path = args.rules or (rules.find_rules_file(store.path) if store.path != ":memory:" else None)
    try:
        ruleset = rules.load_rules(rules_path) if rules_path is not None else None
        window = ingest.time_range(args.earliest, args.latest)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    mapping = dict(args.map)
    # Through the API a file is read from the server's copy but named as the caller named it.
    names = getattr(args, "source_names", {})
    reports = []
    for path in args.files:
        name = names.get(str(path))
        try:
            prepared = ingest.prepare(store, path, kind=args.kind, dataset=args.dataset,
                                      model_version=args.model_version, rules=ruleset, columns=mapping,
                                      timestamps=window, name=name, question=args.question)
        except (ingest.IngestError, ValueError) as exc:
            message, shown = str(exc), name or str(path)
            message = message if shown in message or str(path) in message else f"{shown}: {message}"
            print(f"error: {message}", file=sys.stderr)
            reports.append({"source": shown, "error": message})
            status = 1
            continue
        with prepared:
            report = prepared.report if args.dry_run else ingest.commit(
                store, prepared, created_by=_settled(args, "local"), refresh=False)
        if args.json:
            reports.append(report_json(report))
        else:
            print(("[dry run, nothing written] " if args.dry_run else "") + report.summary())
    if not args.dry_run:
        store.refresh_derived()  # once for every file
    if args.json:
        print(json.dumps({"dry_run": bool(args.dry_run), "files": reports}, indent=2, default=str))
    return status


def report_json(report: Any) -> dict:
    """A ``ValidationReport`` as the JSON object ``ingest --json`` prints: its counts, reasons, rejects,
    rule warnings, what was written, and the paragraph ``ingest`` prints."""
    frames = {"rejects": report.rejects, "rule_hits": report.rule_hits}
    return {
        "source": report.source, "kind": report.kind, "file_sha256": report.file_sha256,
        "rows_read": report.rows_read, "rows_accepted": report.rows_accepted,
        "rows_rejected": report.rows_rejected, "rejected_by_reason": report.rejected_by_reason,
        "already_imported": report.already_imported, "batch_id": report.batch_id,
        "rule_hits_by_rule": report.rule_hits_by_rule, "rules_source": report.rules_source,
        "unit": report.unit, "warnings": list(report.warnings), "items": report.items,
        "dataset": report.dataset, "summary": report.summary(),
        **{key: json.loads(frame.to_json(orient="records", date_format="iso"))
           for key, frame in frames.items()},
    }


def _summary(store: Store, args: argparse.Namespace) -> int:
    from analytics.monitoring import summary

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
    found = result["alerts"]
    print(f"  alerts: {found['headline']}" if found["error"] is None else f"  alerts: {found['error']}")
    return 0


def _check(store: Store, args: argparse.Namespace) -> int:
    from analytics.monitoring import alerts
    from analytics.monitoring import summary as summaries
    from analytics.narrative import alerts as words

    try:
        config = alerts.alert_config(store.path, args.config)
    except alerts.AlertConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    report = alerts.evaluate(store, config)
    failing = {alerts.BREACHED, alerts.NO_DATA} if args.strict else {alerts.BREACHED}
    status = 1 if any(e.status in failing for e in report.evaluations) else 0
    if args.json:
        print(json.dumps({**summaries.alerts_section(report), "store": store.path, "exit_status": status},
                         indent=2, default=str))
        return status
    print(words.headline(report))
    print(words.source_words(config))
    order = {found: rank for rank, found in enumerate(alerts.STATUSES)}
    for evaluation in sorted(report.evaluations, key=lambda e: order[e.status]):
        print("  " + words.line(evaluation))
    return status


def _score(store: Store, args: argparse.Namespace) -> int:
    from analytics.detection import suspects
    from analytics.ingest import rules
    from analytics.store import detection as queries

    path = args.rules or rules.find_rules_file(store.path)
    try:
        ruleset = rules.load_rules(path) if path is not None else None
        run_id = suspects.run_detection(
            store, created_by=_settled(args, os.environ.get("USER", "cli")), model_version=args.model_version,
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


def _suspects(store: Store, args: argparse.Namespace) -> int:
    from analytics.core.exports import ExportError
    from analytics.detection import export
    from analytics.store import detection as queries

    try:
        run_id = args.run_id
        if run_id is None:
            found = queries.runs(store)
            if found.empty:
                raise ExportError("The store has no detection run: run `score` first.")
            run_id = str(found["run_id"].iloc[0])
        written = export.export_suspects(store, run_id, args.out, args.format,
                                         status=None if args.status == "all" else args.status)
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"run_id": run_id, "out": args.out, "format": written.format, "rows": written.rows},
                         indent=2))
    else:
        print(written.words(f"items of run {run_id}"))
    return 0


def _batches(store: Store, args: argparse.Namespace) -> int:
    from analytics.store import batches, retractions

    found = batches.list_batches(store)
    retracted = retractions.list_retractions(store).set_index("batch_id")
    if found.empty:
        print(f"No import batches in {store.path}.")
        return 0
    for row in found.itertuples():
        line = (f"{row.batch_id}  {row.kind:<12} {row.rows_accepted:>12,} rows  "
                f"{row.created_at:%Y-%m-%d %H:%M}  {row.source}")
        if row.batch_id in retracted.index:
            by = retracted.loc[row.batch_id]
            line += f"  [retracted by {by.retracted_by} on {by.retracted_at:%Y-%m-%d}: {by.reason}]"
        print(line)
    return 0


def _retract(store: Store, args: argparse.Namespace) -> int:
    from analytics.store import retractions

    actor = actor_name(args)
    try:
        done = retractions.retract_batch(store, args.batch_id, actor=actor, reason=args.reason)
    except retractions.RetractionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Retracted batch {done['batch_id']} ({done['kind']}, {done['rows_accepted']:,} rows from "
          f"{done['source']}) as {actor}: every read leaves its rows out from now on.")
    return 0


def _settled(args: argparse.Namespace, default: str) -> str:
    """The name of the actor the API settled for this command, else ``default`` (what the CLI records)."""
    settled = getattr(args, "as_actor", None)
    return default if settled is None else settled.name


def _stats(args: argparse.Namespace) -> int:
    from analytics.engine import engines
    from analytics.engine import statistics as lake_stats

    if args.spark_master is not None and args.engine != "spark":
        print("error: --spark-master URL takes --engine spark", file=sys.stderr)
        return 1
    try:
        with engines.open_engine(args.engine, args.lake, master=args.spark_master) as engine:
            result = lake_stats.lake_statistics(engine, grain=args.grain)
    except engines.EngineUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(_stats_json(result, args), indent=2, default=str))
        return 0
    _print_stats(result, args)
    return 0


def _stats_json(result: Any, args: argparse.Namespace) -> dict:
    ds = result.consensus
    return {
        "lake": str(args.lake), "engine": result.engine, "spark_master": args.spark_master,
        "agreement": result.agreement,
        "annotators": _records(result.annotators),
        "drift": {"grain": result.grain, "windows": _records(result.drift)},
        "slices": _records(result.slices),
        "dawid_skene": {
            "n_iter": ds.n_iter_, "converged": bool(ds.converged_), "log_likelihood": ds.log_likelihood_,
            "priors": {str(k): float(v) for k, v in ds.priors_.items()},
            "skills": {str(k): float(v) for k, v in ds.skills_.items()},
        },
        "seconds": result.seconds,
    }


def _records(frame: Any) -> list[dict]:
    """A table as JSON records: NaN and NaT as null, timestamps as ISO text."""
    return json.loads(frame.to_json(orient="records", date_format="iso", default_handler=str))


def _print_stats(result: Any, args: argparse.Namespace) -> None:
    a, ds = result.agreement, result.consensus
    where = f" on {args.spark_master or 'local[2]'}" if result.engine == "spark" else ""
    print(f"Lake {args.lake} (aggregated by {result.engine}{where})")
    print(f"Agreement over {a['items']:,} items, {a['ratings']:,} ratings: "
          f"percent {a['percent_agreement']:.3f}, "
          f"Fleiss' kappa {a['fleiss_kappa']:.3f}, Gwet's AC1 {a['gwet_ac1']:.3f}, "
          f"Krippendorff's alpha {a['krippendorff_alpha']:.3f}")
    flagged = result.flagged()
    print(f"Annotators: {len(result.annotators):,}, {len(flagged):,} flagged")
    for row in flagged.head(10).itertuples(index=False):
        print(f"  {row.annotator_id:<20} agreement {row.loo_agreement:.2f} ({row.loo_items:,} items)  "
              f"{', '.join(row.flags)}")
    shifted = result.shifted()
    print(f"Label drift by {result.grain}: {len(result.drift):,} windows tested, {len(shifted):,} shifted")
    for row in shifted.head(10).itertuples(index=False):
        print(f"  {row.window:%Y-%m-%d}  Cramér's V {row.cramers_v:.3f}, q = {row.q_value:.2g}")
    noisy = result.noisy()
    print(f"Slices (disagreement): {len(result.slices):,} slices, {len(noisy):,} noisier than the rest")
    for row in noisy.head(10).itertuples(index=False):
        print(f"  {row.slice:<30} {row.noise_rate:.1%} of {row.n:,} items disputed "
              f"(rest {row.rest_rate:.1%})")
    state = "converged" if ds.converged_ else "not converged"
    print(f"Dawid–Skene: {ds.n_iter_} iterations ({state}), median skill {ds.skills_.median():.3f}; priors "
          + ", ".join(f"{k} {v:.3f}" for k, v in ds.priors_.items()))
    print("Seconds: " + ", ".join(f"{step} {seconds:.1f}" for step, seconds in result.seconds.items()))


def _print_progress(fraction: float, message: str) -> None:
    print(f"[{fraction:4.0%}] {message}", file=sys.stderr)


def _column_mapping(text: str) -> tuple[str, str]:
    column, sep, name = text.partition("=")
    if not sep or not column.strip() or not name.strip():
        raise argparse.ArgumentTypeError(f"expected COLUMN=NAME, e.g. rater=annotator_id; got {text!r}")
    return column.strip(), name.strip()


def _positive_int(text: str) -> int:
    value = int(float(text))  # accepts 1e7
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of events, got {text}")
    return value


def _impact(store: Store, args: argparse.Namespace) -> int:
    from analytics.impact import ab
    from analytics.narrative import impact as words
    from analytics.remediation.roles import local_actor, role_book

    settled = getattr(args, "as_actor", None)
    book = role_book() if settled is None else None
    actor = settled or (book.actor(args.actor) if args.actor else local_actor(book))
    run = ab.compare_predictions if args.predictions else ab.compare_versions
    try:
        result = run(store, args.arm_a, args.arm_b, created_by=actor.name, seed=args.seed)
    except ab.ImpactError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"impact_id": result.impact_id, "kind": result.kind, "arm_a": result.arm_a,
                          "arm_b": result.arm_b, **result.to_json()}, indent=2, default=str))
        return 0
    print(f"Stored analysis {result.impact_id} ({result.arm_a} → {result.arm_b}).")
    for line in words.verdict(result):
        print("  " + line)
    return 0


def _report(store: Store, args: argparse.Namespace) -> int:
    from analytics.impact import ab
    from charts import report

    try:
        result = ab.load_result(store, args.impact) if args.impact else ab.latest_result(store)
    except ab.ImpactError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    page = report.build_report(store, result)
    Path(args.out).write_text(page, encoding="utf-8")
    which = f" with analysis {result.impact_id}." if result else " without an impact analysis (none run yet)."
    print(f"Wrote {args.out} ({len(page.encode()) / 1e6:.1f} MB){which}")
    return 0


_COMMANDS = {"demo": _demo, "ingest": _ingest, "score": _score, "suspects": _suspects, "summary": _summary,
             "check": _check,
             "batches": _batches, "retract": _retract, "impact": _impact, "report": _report,
             **remediation_cli.COMMANDS}
_STORELESS = {"stats": _stats}

if __name__ == "__main__":
    sys.exit(main())
