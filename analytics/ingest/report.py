"""What an import reports: rows read, accepted and rejected (each reject with its file, row, column and
reason), warnings, and what the import would write or wrote (``ValidationReport``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from analytics.ingest.plausible_range import (  # noqa: F401
    DEFAULT_EARLIEST,
    DEFAULT_LATEST_AHEAD,
    TimeRange,
    _moment,
    time_range,
)
from analytics.store.rules import STAGED_HIT_COLUMNS


@dataclass(frozen=True, eq=False)
class ValidationReport:
    """What an import read, accepted and rejected, shown before anything is written.

    Attributes
    ----------
    source, kind, file_sha256 : str
        The file (or the name given to a table), the input kind and the SHA-256 of the content.
    rows_read, rows_accepted, rows_rejected : int
        Data records (header and blank lines excluded); a wide predictions row is one record.
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
    unit : str
        What ``row_number`` counts: ``"line"`` (CSV and JSON lines: the line in the file, header and blank
        lines counted) or ``"row"`` (Parquet, tables, Label Studio and Labelbox exports).
    warnings : tuple of str
        Things worth a look that reject nothing (labels that are one number written differently).
    items : dict of str to int or None
        Items files and labeling tools' exports: how many items are ``new``, ``changed`` (values added or
        replaced; the earlier ones stay in the history) and ``unchanged``.
    dataset : str or None
        The dataset of the items this import creates where its rows name none (a Labelbox export read
        without one: None, each new item goes to its data row's project).
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
    unit: str = "row"
    warnings: tuple[str, ...] = ()
    items: dict[str, int] | None = None
    dataset: str | None = None

    def messages(self, limit: int = 10) -> list[str]:
        """The first rejects as sentences naming file, line (or row) and column (``f.csv, line 3: …``)."""
        return [
            f"{self.source}, {self.unit} {row.row_number}: {row.reason}"
            for row in self.rejects.head(limit).itertuples()
        ]

    def rule_messages(self, limit: int = 10) -> list[str]:
        """The first rule warnings as sentences naming file and line (``f.csv, line 3: R2: …``)."""
        return [
            f"{self.source}, {self.unit} {row.row_number}: {row.message}"
            for row in self.rule_hits.head(limit).itertuples()
        ]

    def summary(self) -> str:
        """One readable paragraph: counts, reasons, the first rejects, warnings and what was written."""
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
        if self.items is not None:
            text += (
                f" Items: {self.items['new']:,} new, {self.items['changed']:,} changed (earlier values kept "
                f"in the history), {self.items['unchanged']:,} unchanged."
            )
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
        if self.dataset is not None and not self.already_imported:
            text += f" New items go to dataset {self.dataset!r} unless their rows name one."
        elif self.kind == "labelbox" and not self.already_imported:
            text += " New items go to the dataset named after their Labelbox project."
        for warning in self.warnings:
            text += " Warning: " + warning
        if self.already_imported:
            text += (
                f" This content was already imported as batch {self.already_imported}; nothing is written."
            )
        elif self.batch_id:
            text += f" Imported as batch {self.batch_id}."
        else:
            text += " Nothing has been written yet."
        return text
