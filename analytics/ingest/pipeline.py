"""Import of label data: validate a file into a report first, then commit it as one batch.

``prepare`` reads and checks a file (or a DataFrame / Arrow table) and returns a ``PreparedImport`` whose
``report`` says how many rows were read, accepted and rejected and why, without writing anything to the store.
``commit`` writes the batch row, the accepted rows and every reject in one transaction; ``ingest`` does both.

Problems with the file as a whole (a missing required column, a column named twice, a file that is not what
its extension says, an empty or unparseable file) raise ``IngestError`` and write nothing. Problems with
single rows become rejects: where the row is (its line in a CSV or JSON-lines file, blank lines counted; its
row in a Parquet file or a table), the column, the reason and the raw row are kept in ``ingest_rejects``. A
bad row is one reject and never changes how the rest of the file is read (``analytics.ingest.csv_scan``).
Importing
content already imported as the same kind (same SHA-256) writes nothing and says which batch has it.

Timestamps must be ISO 8601 text (or native Parquet timestamps) within a plausible range, 1990-01-01 to one
day from now unless ``time_range`` says otherwise (the CLI's ``--earliest``/``--latest``, the
``LABELWATCH_EARLIEST``/``LABELWATCH_LATEST`` environment variables, the app's secrets): special words such as
``epoch`` or ``infinity``, ``(BC)`` dates and impossible UTC offsets are rejected with that range in the
reason. Ids, labels and attribute values holding control characters (NUL, ESC, …) are rejected.

An items file may name items the store holds already (created bare by events imported before, or by an
earlier items file): it adds to them and changes what it gives, and the earlier values stay in the store's
history (``analytics.store.item_history``).

With ``rules=`` (an ``analytics.ingest.rules.RuleSet``) the accepted events are also checked against the
user's label
rules. A broken rule is a warning, not a reject: the row is imported all the same (a label that breaks a rule
may still be what the annotator gave, and every event is kept), and the report counts the warnings per rule.
Labels that are one number written differently (``1``, ``1.0``, ``01``, ``1e0``) are warned about too.

Reading and checking happen in DuckDB (``analytics.store.staging``), so a file of millions of rows is never
held in pandas. Input kinds and their columns are listed in ``analytics.core.schema``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import errno
import json
import re
import shutil
import tempfile
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from analytics.core.schema import (
    DEFAULT_DATASET,
    EXPORT_KINDS,
    INPUT_KINDS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
)
from analytics.ingest import csv_scan, readers
from analytics.ingest.plausible_range import (  # noqa: F401
    DEFAULT_EARLIEST,
    DEFAULT_LATEST_AHEAD,
    TimeRange,
    _moment,
    time_range,
)
from analytics.ingest.readers import IngestError, detect_kind
from analytics.ingest.report import ValidationReport  # noqa: F401
from analytics.ingest.rules import RuleSet
from analytics.remediation.roles import Actor, Role, recorded_name
from analytics.store import batches, item_history, lake, stage_sources, staging
from analytics.store import campaigns as campaign_store
from analytics.store.connection import Store, StoreError
from analytics.store.rules import staged_rule_hits
from analytics.store.validation import (
    WIDE_PROB_PATTERN,
    KindSpec,
    is_feature_column,
    spec_for,
)

__all__ = [
    "IngestError",
    "PreparedImport",
    "TimeRange",
    "ValidationReport",
    "commit",
    "detect_kind",
    "ingest",
    "prepare",
    "time_range",
]

#: How many rejects a report carries for display (all of them are stored on commit).
REPORT_REJECTS = 1000
#: Labels of these kinds are compared for one number written in several ways.
_LABELLED = ("events", "gold", "predictions", "vocabulary")
#: How often a CSV file is read again after a record swallowed lines (each time one more bad line).
_REREADS = 20
_CONTROL = re.compile("[\x00-\x1f\x7f]")


@dataclass(eq=False)
class PreparedImport:
    """A validated import waiting for ``commit``; its stage lives in TEMP tables of its own cursor."""

    report: ValidationReport
    _store: Store
    _cursor: duckdb.DuckDBPyConnection | None
    _stage: (
        Callable[[], ValidationReport] | None
    )  # rebuilds the stage; commit re-runs it if the store changed
    _fingerprint: tuple = ()
    _has_aux: bool = False
    _workdir: Path | None = None  # private copies of the file (a CSV with its bad lines blanked out)

    def close(self) -> None:
        """Drop the stage and its cursor (``commit`` and ``ingest`` do this themselves)."""
        if self._cursor is not None:
            try:
                staging.drop_stage(self._cursor)
                item_history.drop_plan(self._cursor)
            except duckdb.Error:
                pass  # a store invalidated by a failed write: its TEMP tables went with it
            self._cursor.close()
            self._cursor = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> PreparedImport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def prepare(
    store: Store,
    source: str | Path | pd.DataFrame | pa.Table,
    *,
    kind: str = "events",
    name: str | None = None,
    dataset: str | None = None,
    model_version: str | None = None,
    vocabulary_check: bool = True,
    rules: RuleSet | None = None,
    columns: Mapping[str, str] | None = None,
    timestamps: TimeRange | None = None,
    campaign_id: str | None = None,
    question: str | None = None,
) -> PreparedImport:
    """Read and validate one input; write nothing to the store.

    Parameters
    ----------
    store : Store
    source : str, Path, DataFrame or pyarrow.Table
        A ``.csv``/``.tsv`` (comma, semicolon, tab or ``|`` separated), ``.parquet``, ``.jsonl``/``.ndjson``
        file, a Label Studio ``.json`` export or a Labelbox ``.ndjson`` export; or a table, then ``name`` is
        required and its SHA-256 is taken over the Arrow IPC bytes.
    kind : str
        One of ``analytics.core.schema.INPUT_KINDS``; a ``.json`` file is always read as ``label-studio``,
        ``labelbox`` reads a JSON-lines file (``analytics.ingest.readers.read_labelbox``).
    name : str or None
        The source name shown in reports and stored with the batch (defaults to the path). An upload read
        from a private copy passes the name the user knows: its extension decides the format.
    dataset : str or None
        Dataset of items created by this import when the rows do not name one (None: ``"default"``). A
        Labelbox export names one per data row, its project's; a dataset given here replaces it.
    model_version : str or None
        Predictions: the model version when the file has no ``model_version`` column.
    vocabulary_check : bool
        Reject labels missing from ``label_schema`` (only when the store has a vocabulary).
    rules : RuleSet or None
        Events, Label Studio and Labelbox exports: check the accepted rows against these label rules
        (``analytics.ingest.rules.load_rules``; ``analytics.ingest.rules.find_rules_file`` says where the app
        and CLI find
        the file). Broken rules are warnings in ``report.rule_hits``, the rows are imported all the same.
        Ignored for other kinds.
    columns : mapping of str to str or None
        Columns of the file to read under another name: ``{"rater": "annotator_id", "when": "labeled_at"}``.
        Each target must be a column of ``kind`` (``analytics.core.schema``).
    timestamps : TimeRange or None
        The plausible range of timestamps (default: ``time_range()``).
    campaign_id : str or None
        Label Studio exports only: the labels came back from this relabel campaign
        (``analytics.remediation.campaigns``). Every event carries its id, and an annotation of an item
        the campaign does not hold is rejected ("not in campaign"). A CSV, Parquet or JSONL file of events
        names its campaign in a ``campaign_id`` column instead.
    question : str or None
        Labelbox exports only: the classification question whose radio answers are the labels, by name;
        None reads the first radio question of the file. A store follows one question; the batch is known by
        the file's content, so the same file is not imported twice into one store, whatever the question.

    Returns
    -------
    PreparedImport
        ``.report`` is the ``ValidationReport``; pass the object to ``commit``.

    Raises
    ------
    IngestError
        A file-level problem (missing or repeated column, wrong format, empty or unparseable file).
    StoreError
        The disk is full (or another write failure) while staging; nothing was written.
    """
    if kind not in INPUT_KINDS:
        raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(INPUT_KINDS)}")
    if store.lake is not None and kind not in lake.IMPORTABLE:
        raise IngestError(
            f"The store {store.path} reads its label events, items, gold labels and predictions from the "
            f"Parquet lake {store.lake.root}, so it cannot import this {kind} file: write its rows into "
            f"the lake as Parquet (the README's lake layout). A store that reads a lake imports only "
            f"{' and '.join(lake.IMPORTABLE)} files."
        )
    if dataset is None and kind != "labelbox":
        dataset = DEFAULT_DATASET
    if dataset is not None and (not dataset or _CONTROL.search(dataset)):
        raise ValueError(f"dataset {dataset!r}: expected a non-empty name without control characters")
    if question is not None and kind != "labelbox":
        raise ValueError("question=... takes a Labelbox export (kind='labelbox'); other kinds hold one label "
                         "per row")
    timestamps = timestamps or time_range()
    if campaign_id is not None and (kind != "label-studio" or isinstance(source, pd.DataFrame | pa.Table)):
        raise ValueError("campaign_id=... takes a Label Studio .json export (kind='label-studio'); other "
                         "event files name their campaign in a campaign_id column")
    if isinstance(source, pd.DataFrame | pa.Table):
        if not name:
            raise ValueError(
                "a DataFrame or Arrow table source needs name=... (the source name of the batch)"
            )
        try:
            table = (
                source if isinstance(source, pa.Table) else pa.Table.from_pandas(source, preserve_index=False)
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise IngestError(f"{name}: a column mixes types ({exc}); expected one type per column") from exc
        fmt, path, label, sha = "table", None, name, readers.table_sha256(table)
    else:
        path, table = Path(source), None
        label = name or str(source)
        if kind == "labelbox" and path.is_file() and path.stat().st_size == 0:
            raise IngestError(f"{label}: the file is empty; expected a Labelbox NDJSON export, one data row "
                              "per line")
        fmt = readers.file_format(path, label)
        sha = readers.file_sha256(path)
        if kind == "labelbox" and fmt != "jsonl":
            raise IngestError(f"{label}: a Labelbox export is NDJSON, one data row per line; expected a "
                              ".ndjson (or .jsonl) file")
        if fmt == "json":
            kind = "label-studio"
    mapping = _mapping(columns, "events" if kind in EXPORT_KINDS else kind, label)
    unit = "line" if fmt in ("csv", "jsonl") and kind not in EXPORT_KINDS else "row"
    cur = store.cursor()
    already = batches.find_batch(cur, sha, kind)
    if already is not None:
        cur.close()
        rows_in, accepted, rejected = batches.batch_counts(store, already)
        by_reason, rejects = batches.batch_rejects(store, already, REPORT_REJECTS)
        report = ValidationReport(
            label, kind, sha, rows_in, accepted, rejected, by_reason, rejects, already, unit=unit
        )
        return PreparedImport(report, store, None, None)
    workdir = Path(tempfile.mkdtemp(prefix="labelwatch-stage-"))
    options = dict(
        dataset=dataset, model_version=model_version, vocabulary_check=vocabulary_check, rules=rules,
        mapping=mapping, timestamps=timestamps, workdir=workdir, campaign_id=campaign_id, question=question,
    )

    def stage() -> ValidationReport:
        return _stage(cur, kind, fmt, path, table, label, sha, unit, **options)

    prepared = PreparedImport(None, store, cur, stage, _has_aux=kind in EXPORT_KINDS, _workdir=workdir)
    try:
        prepared.report = _writing(label, stage, store)
        prepared._fingerprint = staging.store_fingerprint(cur)
    except BaseException:
        prepared.close()
        raise
    return prepared


def _mapping(columns: Mapping[str, str] | None, kind: str, label: str) -> dict[str, str]:
    """Check a column mapping: each target a column of ``kind``, none given twice."""
    mapping = dict(columns or {})
    known = (*REQUIRED_COLUMNS[kind], *OPTIONAL_COLUMNS[kind])
    for source, target in mapping.items():
        if target not in known:
            raise IngestError(
                f"{label}: column {source!r} cannot be read as {target!r}; expected one of the columns of "
                f"{kind}: {', '.join(known)}"
            )
    targets = list(mapping.values())
    twice = sorted({t for t in targets if targets.count(t) > 1})
    if twice:
        raise IngestError(f"{label}: several columns are mapped to {twice[0]!r}; expected one column each")
    return mapping


def _writing(label: str, work: Callable[[], ValidationReport], store: Store) -> ValidationReport:
    """Run ``work``; a failed write (a full disk, a file size limit, a read-only store) becomes a
    ``StoreError`` naming the store, any other operating-system error (the file cannot be read) an
    ``IngestError``.

    The message names the store file (the Data page shows it too) and what to do; DuckDB's own words stay on
    the exception's ``__cause__``.
    """
    try:
        return work()
    except OSError as exc:
        if exc.errno not in _FULL:
            raise IngestError(f"{label}: cannot read the file ({exc.strerror or exc})") from exc
        why = "the disk is full"
        raise StoreError(_not_imported(label, why, store)) from exc
    except (duckdb.IOException, duckdb.FatalException, duckdb.TransactionException) as exc:
        text = str(exc).lower()
        why = next(
            (meaning for words, meaning in _WRITE_FAILURES if any(word in text for word in words)),
            "writing to the store or its temporary files failed",
        )
        raise StoreError(_not_imported(label, why, store)) from exc


def _not_imported(label: str, why: str, store: Store) -> str:
    if why == _READ_ONLY:
        advice = (f"Make the store {store.path} and its folder writable for this user (or point "
                  "LABELWATCH_DB / --db at a writable store), and try again.")
    else:
        advice = (f"Free some disk space where the store {store.path} and the temporary files "
                  f"({tempfile.gettempdir()}) are, and try again.")
    return f"Cannot import {label}: {why}; nothing was imported. {advice}"


_READ_ONLY = "the store cannot be written (read-only or no permission)"
#: The errors of a write that found no room (no space, a file size limit, a quota).
_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
#: What a failed write means, by the words of the error.
_WRITE_FAILURES = (
    (("no space left", "disk full", "not enough space"), "the disk is full"),
    (("file too large", "file size limit"), "a file size limit was reached"),
    (("read-only", "permission denied"), _READ_ONLY),
)


def _stage(cur: duckdb.DuckDBPyConnection, kind: str, fmt: str, path: Path | None, table: pa.Table | None,
           label: str, sha: str, unit: str, *, dataset: str | None, model_version: str | None,
           vocabulary_check: bool, rules: RuleSet | None, mapping: dict[str, str], timestamps: TimeRange,
           workdir: Path, campaign_id: str | None = None, question: str | None = None) -> ValidationReport:
    table_kind = "events" if kind in EXPORT_KINDS else kind
    spec_options = dict(
        dataset=dataset, model_version=model_version, vocabulary_check=vocabulary_check,
        earliest=timestamps.earliest, latest=timestamps.latest,
    )
    bad: list = []
    items = None
    notes: tuple[str, ...] = ()
    if kind in EXPORT_KINDS:
        if path is None:
            raise ValueError(f"kind={kind!r} reads a labeling tool's export file, not a table")
        if kind == "label-studio":
            table, aux, bad = readers.read_label_studio(path, dataset, label)
            if campaign_id is not None:
                table, bad = _in_campaign(cur, table, bad, campaign_id, label)
            if table.num_rows == 0 and not bad:
                raise IngestError(f"{label}: the export holds no annotations; expected tasks with "
                                  "annotations")
        else:
            export = readers.read_labelbox(path, dataset, label, question)
            table, aux, bad, notes = export.events, export.items, export.rejects, export.warnings
        _stage_source(
            cur, "lw_aux", stage_sources.arrow_source(cur, aux, "lw_aux"), "items", label,
            {**spec_options, "vocabulary_check": False, "controls": readers.has_control_characters(aux)}, {},
        )
        items = item_history.plan(cur, "lw_aux", moves=False)
    elif fmt == "jsonl":
        table, bad = readers.read_jsonl(path)
        if table.num_rows == 0 and bad:
            hint = ""
            if readers.looks_like_labelbox(path):
                hint = "; it looks like a Labelbox export: import it as kind 'labelbox' (--kind labelbox)"
            raise IngestError(
                f"{label}: no line parses as a JSON object of plain values (line {bad[0][0]}: "
                f"{bad[0][1]}); expected JSON lines{hint}"
            )
    if table is not None:
        source = stage_sources.arrow_source(cur, table, "lw_stage", unit)
        spec_options["controls"] = readers.has_control_characters(table)
    elif fmt == "csv":
        try:
            layout = csv_scan.scan_csv(path, copy_dir=workdir, name=label, prefer_tab=label.endswith(".tsv"))
        except csv_scan.CsvError as exc:
            raise IngestError(str(exc)) from exc
        source = stage_sources.csv_source(layout)
        spec_options["controls"] = layout.controls
    else:
        source = stage_sources.parquet_source(str(path))
    spec = _stage_source(cur, "lw_stage", source, table_kind, label, spec_options, mapping)
    for _ in range(_REREADS):
        if source.layout is None:
            break
        swallowed = staging.swallowed_lines(cur, source.layout)
        if not swallowed:
            break
        layout = csv_scan.with_bad_lines(source.layout, swallowed, source=path, copy_dir=workdir)
        source = stage_sources.csv_source(layout)
        spec = _stage_source(cur, "lw_stage", source, table_kind, label, spec_options, mapping)
    else:
        raise IngestError(f"{label}: more than {_REREADS} quotes that never close; expected a CSV file")
    staging.add_rejects(cur, "lw_stage", bad)
    read, rejected, by_reason = staging.stage_counts(cur, "lw_stage", spec)
    if read == 0:
        raise IngestError(f"{label}: no rows after the header; expected at least one")
    if table_kind == "items":
        items = item_history.plan(cur, "lw_stage")
    rejects = staging.first_rejects(cur, "lw_stage", REPORT_REJECTS)
    warnings = notes + (tuple(_spelling_warnings(cur)) if table_kind in _LABELLED else ())
    report = ValidationReport(
        label, kind, sha, read, read - rejected, rejected, by_reason, rejects, unit=unit, warnings=warnings,
        items=items, dataset=dataset if table_kind in ("events", "items") else None,
    )
    if rules is None or table_kind != "events":
        return report
    by_rule, hits = staged_rule_hits(cur, rules, REPORT_REJECTS)
    return dataclasses.replace(report, rule_hits=hits, rule_hits_by_rule=by_rule, rules_source=rules.source)


def _in_campaign(cur: duckdb.DuckDBPyConnection, table: pa.Table, bad: list, campaign_id: str,
                 label: str) -> tuple[pa.Table, list]:
    """Tie a Label Studio export's events to ``campaign_id``: each gets the column, and the events of items
    the campaign does not hold become rejects."""
    items = campaign_store.campaign_item_ids(cur, campaign_id)
    if not items:
        raise IngestError(f"{label}: there is no campaign {campaign_id!r} (or it holds no items); expected "
                          "the id of a campaign this export's tasks came from")
    rows = table.to_pylist()
    kept = [r for r in rows if str(r.get("item_id")) in items]
    bad = bad + [
        (r["lw__row"], f"not in campaign: item {r.get('item_id')!r} is not one of campaign "
         f"{campaign_id}'s items; expected only the tasks the campaign exported", json.dumps(r, default=str))
        for r in rows if str(r.get("item_id")) not in items
    ]
    table = pa.Table.from_pylist(kept, schema=table.schema) if len(kept) < len(rows) else table
    return table.append_column("campaign_id", pa.array([campaign_id] * table.num_rows, pa.string())), bad


def _spelling_warnings(cur: duckdb.DuckDBPyConnection) -> list[str]:
    warnings = []
    for in_file, in_store in staging.numeric_label_spellings(cur, "lw_stage"):
        spelled = ", ".join(repr(label) for label in sorted({*in_file, *in_store}))
        where = f" (the store has {', '.join(map(repr, in_store))})" if in_store else ""
        warnings.append(
            f"labels {spelled} are one number written differently{where}; they count as different classes. "
            "Expected each class written one way."
        )
    return warnings


def _stage_source(cur: duckdb.DuckDBPyConnection, stage: str, source: stage_sources.Source, kind: str,
                  label: str, options: dict, mapping: dict[str, str]) -> KindSpec:
    """Check the columns of ``source`` for ``kind`` and build the stage; return the kind's spec."""
    try:
        columns = stage_sources.source_columns(cur, source)
    except duckdb.Error as exc:
        raise IngestError(f"{label}: cannot read the file: {_first_line(exc)}") from exc
    if mapping:
        _check_mapping(mapping, columns, label)
        source = stage_sources.renamed(source, mapping, columns)
        columns = stage_sources.source_columns(cur, source)
    missing = [c for c in REQUIRED_COLUMNS[kind] if c not in columns]
    if missing:
        raise IngestError(
            f"{label}: missing required column {', '.join(repr(c) for c in missing)} (header, line 1); "
            f"expected the columns {', '.join(REQUIRED_COLUMNS[kind])} for {kind}, found "
            f"{', '.join(columns)} (a column of another name can be mapped to it)"
        )
    wide = False
    if kind == "predictions":
        wide = "label" not in columns and any(c.startswith(WIDE_PROB_PATTERN[1:]) for c in columns)
        if not wide and not {"label", "prob"} <= set(columns):
            raise IngestError(
                f"{label}: predictions need columns 'label' and 'prob' (long form) or "
                f"prob_<label> columns (wide form); found {', '.join(columns)}"
            )
        if "model_version" not in columns and not options["model_version"]:
            raise IngestError(
                f"{label}: no column 'model_version' and no model_version argument; expected one of them"
            )
        if wide:
            source = stage_sources.wide_predictions(source)
            columns = stage_sources.source_columns(cur, source)
    features = kind == "items" and "features" not in columns and any(map(is_feature_column, columns))
    if features:
        source = stage_sources.feature_columns(source)
    spec = spec_for(kind, columns, wide=wide, feature_columns=features, **options)
    try:
        staging.build_stage(cur, stage, source, spec, kind=kind, columns=columns)
    except (duckdb.IOException, duckdb.FatalException):
        raise
    except duckdb.Error as exc:
        raise IngestError(f"{label}: cannot read the file as {kind}: {_first_line(exc)}") from exc
    return spec


def _check_mapping(mapping: dict[str, str], columns: dict[str, str], label: str) -> None:
    for source, target in mapping.items():
        if source not in columns:
            raise IngestError(
                f"{label}: no column {source!r} to read as {target!r}; the file's columns are "
                f"{', '.join(columns)}"
            )
        if target in columns and target not in mapping:
            raise IngestError(
                f"{label}: column {source!r} cannot be read as {target!r}, which the file has already; "
                f"expected each column once"
            )


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def commit(
    store: Store, prepared: PreparedImport, *, created_by: Actor | str = "local", refresh: bool = True
) -> ValidationReport:
    """Write a prepared import as one batch, in one transaction.

    The batch row, the accepted rows (with new items and annotators for events, new item versions for
    items) and every reject land together or not at all. When the store changed since ``prepare``
    (another import), the checks against it are re-run inside the transaction first, so the returned
    report can differ from the prepared one.

    Parameters
    ----------
    store : Store
    prepared : PreparedImport
        From ``prepare`` on the same store; it is closed afterwards.
    created_by : Actor or str
        Who imported (stored with the batch); an ``Actor`` needs the admin role
        (``analytics.remediation.roles.recorded_name``).
    refresh : bool
        Derive a large store's tables again afterwards (``Store.refresh_derived``, about 18 s at 1e7
        events); a caller importing several files passes False and refreshes once after the last.

    Returns
    -------
    ValidationReport
        With ``batch_id`` set, or ``already_imported`` set when the content is in the store already.

    Raises
    ------
    analytics.remediation.roles.PermissionDenied
        ``created_by`` is an ``Actor`` below the admin role; nothing was written.
    StoreError
        Writing failed (a full disk): the transaction was rolled back and nothing was written.
    """
    created_by = recorded_name(created_by, Role.ADMIN, "import a file")
    report = prepared.report
    if report.already_imported or prepared._cursor is None:
        return report

    def write() -> ValidationReport:
        written = report
        with store.transaction(cursor=prepared._cursor) as cur:
            already = batches.find_batch(cur, written.file_sha256, written.kind)
            if already is not None:
                return dataclasses.replace(written, already_imported=already)
            if staging.store_fingerprint(cur) != prepared._fingerprint:
                written = prepared._stage()
            batch_id = f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"
            items = batches.write_batch(
                cur,
                batch_id=batch_id,
                kind=written.kind,
                source=written.source,
                file_sha256=written.file_sha256,
                rows_in=written.rows_read,
                rows_accepted=written.rows_accepted,
                rows_rejected=written.rows_rejected,
                created_by=created_by,
                dataset=written.dataset or DEFAULT_DATASET,
                with_aux_items=prepared._has_aux,
            )
        return dataclasses.replace(written, batch_id=batch_id, items=items)

    try:
        written = _writing(report.source, write, store)
    finally:
        prepared.close()
    if refresh and written.batch_id is not None:
        store.refresh_derived()
    return written


def ingest(
    store: Store, source: str | Path | pd.DataFrame | pa.Table, *, kind: str = "events",
    created_by: str = "local", refresh: bool = True, **kw: object,
) -> ValidationReport:
    """Validate and import one input (``prepare`` then ``commit``); see ``prepare`` for the arguments.

    Examples
    --------
    With a store and a file of your own::

        report = ingest(store, "labels.csv")
        print(report.summary())
        # labels.csv (events): 1,200 rows read, 1,197 accepted, 3 rejected (unknown label: 3). …
    """
    prepared = prepare(store, source, kind=kind, **kw)
    try:
        return commit(store, prepared, created_by=created_by, refresh=refresh)
    finally:
        prepared.close()
