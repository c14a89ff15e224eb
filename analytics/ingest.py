"""Import of label data: validate a file into a report first, then commit it as one batch.

``prepare`` reads and checks a file (or a DataFrame / Arrow table) and returns a ``PreparedImport`` whose
``report`` says how many rows were read, accepted and rejected and why, without writing anything to the store.
``commit`` writes the batch row, the accepted rows and every reject in one transaction; ``ingest`` does both.

Problems with the file as a whole (a missing required column, a file that is not what its extension says, an
empty or unparseable file) raise ``IngestError`` and write nothing. Problems with single rows become rejects:
their 1-based record number (header excluded), column, reason and the raw row are kept in ``ingest_rejects``.
Importing content already imported as the same kind (same SHA-256) writes nothing and says which batch has it.

With ``rules=`` (an ``analytics.rules.RuleSet``) the accepted events are also checked against the user's label
rules. A broken rule is a warning, not a reject: the row is imported all the same (a label that breaks a rule
may still be what the annotator gave, and every event is kept), and the report counts the warnings per rule.

Reading and checking happen in DuckDB (``analytics.store.staging``), so a file of millions of rows is never
held in pandas. Input kinds and their columns are listed in ``analytics.schema``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from analytics import readers
from analytics.readers import IngestError, detect_kind
from analytics.rules import RuleSet
from analytics.schema import DEFAULT_DATASET, INPUT_KINDS, REQUIRED_COLUMNS
from analytics.store import batches, staging
from analytics.store.connection import Store
from analytics.store.rules import STAGED_HIT_COLUMNS, staged_rule_hits
from analytics.store.validation import WIDE_PROB_PATTERN, is_feature_column, spec_for

__all__ = ["IngestError", "PreparedImport", "ValidationReport", "commit", "detect_kind", "ingest", "prepare"]

#: How many rejects a report carries for display (all of them are stored on commit).
REPORT_REJECTS = 1000


@dataclass(frozen=True, eq=False)
class ValidationReport:
    """What an import read, accepted and rejected, shown before anything is written.

    Attributes
    ----------
    source, kind, file_sha256 : str
        The file (or the name given to a table), the input kind and the SHA-256 of the content.
    rows_read, rows_accepted, rows_rejected : int
        Data records (header excluded); a wide predictions row is one record.
    rejected_by_reason : dict of str to int
        Reason category (e.g. ``"unknown label"``) to number of rejected records, most frequent first.
    rejects : DataFrame
        The first 1000 rejects: ``row_number, column_name, reason, raw`` (raw: the row as JSON).
    already_imported : str or None
        The batch that holds this exact content already; then ``commit`` writes nothing.
    batch_id : str or None
        The batch written by ``commit``.
    rule_hits : DataFrame
        Warnings of the label rules: the first 1000 accepted rows that break a rule, in file order, one row
        per (row, rule): ``row_number, item_id, rule_id, kind, events, labels, message`` (see
        ``analytics.store.rules.staged_rule_hits``). Empty when no rule is broken or no rules were given.
    rule_hits_by_rule : dict of str to int
        Rule id to number of rows that break it, in the rules file's order.
    rules_source : str or None
        The rules file the events were checked against; None when they were not checked.
    """

    source: str
    kind: str
    file_sha256: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    rejected_by_reason: dict[str, int]
    rejects: pd.DataFrame
    already_imported: str | None = None
    batch_id: str | None = None
    rule_hits: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(STAGED_HIT_COLUMNS)))
    rule_hits_by_rule: dict[str, int] = field(default_factory=dict)
    rules_source: str | None = None

    def messages(self, limit: int = 10) -> list[str]:
        """The first rejects as sentences naming file, row and column (``f.csv, row 3: …``)."""
        return [
            f"{self.source}, row {row.row_number}: {row.reason}"
            for row in self.rejects.head(limit).itertuples()
        ]

    def rule_messages(self, limit: int = 10) -> list[str]:
        """The first rule warnings as sentences naming file and row (``f.csv, row 3: R2: …``)."""
        return [
            f"{self.source}, row {row.row_number}: {row.message}"
            for row in self.rule_hits.head(limit).itertuples()
        ]

    def summary(self) -> str:
        """One readable paragraph: counts, reasons, the first rejects, rule warnings and what was written."""
        text = (
            f"{self.source} ({self.kind}): {self.rows_read:,} rows read, {self.rows_accepted:,} accepted, "
            f"{self.rows_rejected:,} rejected"
        )
        if self.rejected_by_reason:
            text += (
                " (" + ", ".join(f"{reason}: {n:,}" for reason, n in self.rejected_by_reason.items()) + ")"
            )
        text += "."
        if self.rows_rejected:
            text += " First rejects: " + "; ".join(self.messages(3)) + "."
        if self.rule_hits_by_rule:
            counts = ", ".join(
                f"{rule}: {n:,} row{'' if n == 1 else 's'}" for rule, n in self.rule_hits_by_rule.items()
            )
            text += (
                f" Rule warnings ({self.rules_source}; the rows are imported all the same): {counts}."
                " First warnings: " + "; ".join(self.rule_messages(3)) + "."
            )
        elif self.rules_source is not None:
            text += f" No rule warnings ({self.rules_source})."
        if self.already_imported:
            text += (
                f" This content was already imported as batch {self.already_imported}; nothing is written."
            )
        elif self.batch_id:
            text += f" Imported as batch {self.batch_id}."
        else:
            text += " Nothing has been written yet."
        return text


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

    def close(self) -> None:
        """Drop the stage and its cursor (``commit`` and ``ingest`` do this themselves)."""
        if self._cursor is not None:
            staging.drop_stage(self._cursor)
            self._cursor.close()
            self._cursor = None

    def __enter__(self) -> PreparedImport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def prepare(
    store: Store,
    source,
    *,
    kind: str = "events",
    name: str | None = None,
    dataset: str = DEFAULT_DATASET,
    model_version: str | None = None,
    vocabulary_check: bool = True,
    rules: RuleSet | None = None,
) -> PreparedImport:
    """Read and validate one input; write nothing to the store.

    Parameters
    ----------
    store : Store
    source : str, Path, DataFrame or pyarrow.Table
        A ``.csv``, ``.parquet``, ``.jsonl``/``.ndjson`` file or a Label Studio ``.json`` export; or a table,
        then ``name`` is required and its SHA-256 is taken over the Arrow IPC bytes.
    kind : str
        One of ``analytics.schema.INPUT_KINDS``; a ``.json`` file is always read as ``label-studio``.
    name : str or None
        The source name shown in reports and stored with the batch (defaults to the path).
    dataset : str
        Dataset of items created by this import when the rows do not name one.
    model_version : str or None
        Predictions: the model version when the file has no ``model_version`` column.
    vocabulary_check : bool
        Reject labels missing from ``label_schema`` (only when the store has a vocabulary).
    rules : RuleSet or None
        Events and Label Studio exports: check the accepted rows against these label rules
        (``analytics.rules.load_rules``; ``analytics.rules.find_rules_file`` says where the app and CLI find
        the file). Broken rules are warnings in ``report.rule_hits``, the rows are imported all the same.
        Ignored for other kinds.

    Returns
    -------
    PreparedImport
        ``.report`` is the ``ValidationReport``; pass the object to ``commit``.

    Raises
    ------
    IngestError
        A file-level problem (missing column, wrong format, empty or unparseable file).
    """
    if kind not in INPUT_KINDS:
        raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(INPUT_KINDS)}")
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
        fmt, label = readers.file_format(path), name or str(source)
        sha = readers.file_sha256(path)
        if fmt == "json":
            kind = "label-studio"
    cur = store.cursor()
    already = batches.find_batch(cur, sha, kind)
    if already is not None:
        cur.close()
        rows_in, accepted, rejected = batches.batch_counts(store, already)
        by_reason, rejects = batches.batch_rejects(store, already, REPORT_REJECTS)
        report = ValidationReport(label, kind, sha, rows_in, accepted, rejected, by_reason, rejects, already)
        return PreparedImport(report, store, None, None)
    options = dict(
        dataset=dataset, model_version=model_version, vocabulary_check=vocabulary_check, rules=rules
    )

    def stage() -> ValidationReport:
        return _stage(cur, kind, fmt, path, table, label, sha, **options)

    try:
        report = stage()
        fingerprint = staging.store_fingerprint(cur)
    except BaseException:
        staging.drop_stage(cur)
        cur.close()
        raise
    return PreparedImport(report, store, cur, stage, fingerprint, kind == "label-studio")


def _stage(cur, kind, fmt, path, table, label, sha, *, dataset, model_version, vocabulary_check, rules):
    table_kind = "events" if kind == "label-studio" else kind
    bad_lines: list = []
    if kind == "label-studio":
        if path is None:
            raise ValueError("kind='label-studio' reads a Label Studio .json export file, not a table")
        table, aux = readers.read_label_studio(path, dataset)
        _stage_source(
            cur,
            "lw_aux",
            staging.arrow_source(cur, aux, "lw_aux"),
            "items",
            label,
            dict(dataset=dataset, model_version=None, vocabulary_check=False),
        )
    elif fmt == "jsonl":
        table, bad_lines = readers.read_jsonl(path)
        if table.num_rows == 0 and bad_lines:
            raise IngestError(
                f"{label}: no line parses as a JSON object (line {bad_lines[0][0]}: "
                f"{bad_lines[0][1]}); expected JSON lines"
            )
    if table is not None:
        source = staging.arrow_source(cur, table, "lw_stage")
    else:
        source = staging.csv_source(str(path)) if fmt == "csv" else staging.parquet_source(str(path))
    spec = _stage_source(
        cur,
        "lw_stage",
        source,
        table_kind,
        label,
        dict(dataset=dataset, model_version=model_version, vocabulary_check=vocabulary_check),
    )
    staging.add_rejects(cur, "lw_stage", [(row, reason, raw) for row, reason, raw in bad_lines])
    read, rejected, by_reason = staging.stage_counts(cur, "lw_stage", spec)
    rejects = staging.first_rejects(cur, "lw_stage", REPORT_REJECTS)
    report = ValidationReport(label, kind, sha, read, read - rejected, rejected, by_reason, rejects)
    if rules is None or table_kind != "events":
        return report
    by_rule, hits = staged_rule_hits(cur, rules, REPORT_REJECTS)
    return dataclasses.replace(report, rule_hits=hits, rule_hits_by_rule=by_rule, rules_source=rules.source)


def _stage_source(cur, stage, source, kind, label, options):
    """Check the columns of ``source`` for ``kind`` and build the stage; return the kind's spec."""
    try:
        columns = staging.source_columns(cur, source)
    except duckdb.Error as exc:
        raise IngestError(f"{label}: cannot read the file: {_first_line(exc)}") from exc
    missing = [c for c in REQUIRED_COLUMNS[kind] if c not in columns]
    if missing:
        raise IngestError(
            f"{label}: missing required column {', '.join(repr(c) for c in missing)} (header, row 0); "
            f"expected the columns {', '.join(REQUIRED_COLUMNS[kind])} for {kind}, found {', '.join(columns)}"
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
            source = staging.wide_predictions(source)
            columns = staging.source_columns(cur, source)
    features = kind == "items" and "features" not in columns and any(map(is_feature_column, columns))
    if features:
        source = staging.feature_columns(source)
    spec = spec_for(kind, columns, wide=wide, feature_columns=features, **options)
    try:
        staging.build_stage(cur, stage, source, spec, kind=kind, columns=columns)
    except duckdb.Error as exc:
        raise IngestError(f"{label}: cannot read the file as {kind}: {_first_line(exc)}") from exc
    return spec


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def commit(store: Store, prepared: PreparedImport, *, created_by: str = "local") -> ValidationReport:
    """Write a prepared import as one batch, in one transaction.

    The batch row, the accepted rows (with new items and annotators for events) and every reject land
    together or not at all. When the store changed since ``prepare`` (another import), the checks against
    it are re-run inside the transaction first, so the returned report can differ from the prepared one.

    Parameters
    ----------
    store : Store
    prepared : PreparedImport
        From ``prepare`` on the same store; it is closed afterwards.
    created_by : str
        Who imported (stored with the batch).

    Returns
    -------
    ValidationReport
        With ``batch_id`` set, or ``already_imported`` set when the content is in the store already.
    """
    report = prepared.report
    if report.already_imported or prepared._cursor is None:
        return report
    try:
        with store.transaction(cursor=prepared._cursor) as cur:
            already = batches.find_batch(cur, report.file_sha256, report.kind)
            if already is not None:
                return dataclasses.replace(report, already_imported=already)
            if staging.store_fingerprint(cur) != prepared._fingerprint:
                report = prepared._stage()
            batch_id = f"{dt.datetime.now(dt.UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:8]}"
            batches.write_batch(
                cur,
                batch_id=batch_id,
                kind=report.kind,
                source=report.source,
                file_sha256=report.file_sha256,
                rows_in=report.rows_read,
                rows_accepted=report.rows_accepted,
                rows_rejected=report.rows_rejected,
                created_by=created_by,
                with_aux_items=prepared._has_aux,
            )
    finally:
        prepared.close()
    return dataclasses.replace(report, batch_id=batch_id)


def ingest(
    store: Store, source, *, kind: str = "events", created_by: str = "local", **kw
) -> ValidationReport:
    """Validate and import one input (``prepare`` then ``commit``); see ``prepare`` for the arguments.

    Examples
    --------
    >>> report = ingest(store, "labels.csv")  # doctest: +SKIP
    >>> print(report.summary())  # doctest: +SKIP
    labels.csv (events): 1,200 rows read, 1,197 accepted, 3 rejected (unknown label: 3). …
    """
    prepared = prepare(store, source, kind=kind, **kw)
    try:
        return commit(store, prepared, created_by=created_by)
    finally:
        prepared.close()
