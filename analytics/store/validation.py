"""Row checks of each input kind as fixed SQL fragments (used by ``staging``).

A kind is described by a ``KindSpec``: the typed columns it stores (an SQL expression over the source row
each), the checks a row must pass in order (the first failing one is the row's reason), the key that makes a
row a duplicate of an earlier row of the same file, and the store table whose existing rows make it a
duplicate of something already imported. Column names come from ``analytics.schema``; every text shown to the
user travels as a parameter.

Every reason reads ``"<category>: column '<name>': expected <what>, got '<value>'"``; the category (the text
before the first ``": "``) is what ``rejected_by_reason`` and ``reject_reasons`` count.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from analytics.schema import OPTIONAL_COLUMNS, REQUIRED_COLUMNS

#: Columns of CSV files that together form an item's feature vector (f0, f1, … or feature_0, …).
FEATURE_COLUMN_PATTERN = "^(f|feature_)[0-9]+$"
#: Wide predictions: one probability column per label, named prob_<label>.
WIDE_PROB_PATTERN = "^prob_"


def is_feature_column(name: str) -> bool:
    return re.match(FEATURE_COLUMN_PATTERN, name) is not None


@dataclass(frozen=True)
class Check:
    """One row check: ``condition`` (SQL over the ``lw__t_*`` typed values and raw columns) fails the row."""

    column: str
    category: str
    expected: str
    condition: str
    params: tuple = ()
    got: str | None = None  # SQL of the offending raw value; defaults to the raw column


@dataclass(frozen=True)
class Unique:
    """Stored rows are unique by ``key`` (NULLs equal) in ``table``.

    A later row of the file with the key of an earlier one is rejected as ``"duplicate <noun>"``; a row whose
    key the store holds already is rejected as ``present`` (category, text up to the batch id), never
    overwritten.
    """

    table: str
    key: tuple[str, ...]
    noun: str
    present: tuple[str, str] | None = None
    #: A prefix of ``key`` that may repeat (label events: the (item, annotator) of a re-label); the
    #: stage keeps its repeated values in ``<stage>_repeats`` for the writer (``staging.mark_duplicates``).
    group: tuple[str, ...] = ()

    def present_reason(self) -> tuple[str, str]:
        return self.present or (
            self.noun + " already present",
            self.noun + " already in the store, not overwritten (batch ",
        )


@dataclass(frozen=True)
class KindSpec:
    columns: dict[str, tuple[str, tuple]]  # stored column -> (SQL expression over src, params)
    checks: list[Check]
    unique: Unique
    attributes: bool = False  # items: keep every other column as a slice attribute
    per_record: bool = False  # wide predictions: a record of several stored rows passes or fails whole


def raw(name: str, present: dict[str, str], kind: str) -> str:
    """The SQL reference to raw column ``name`` of the source, or NULL when the file lacks it."""
    allowed = set(REQUIRED_COLUMNS.get(kind, ())) | set(OPTIONAL_COLUMNS.get(kind, ()))
    if name not in allowed:
        raise ValueError(f"column {name!r} is not a known column of {kind!r} input")
    return ('src."' + name + '"') if name in present else "NULL"


def text(ref: str) -> str:
    """Trimmed text of a raw column, NULL when empty."""
    value = "CAST(" + ref + " AS VARCHAR)"
    # trim() copies every value, which for long values costs more than staging them. It only removes spaces
    # (Unicode category Zs): a pure ASCII value (as many bytes as characters) that neither starts nor ends
    # with ' ' is already trimmed and is kept as it is.
    return (
        "CASE WHEN strlen(" + value + ") = length(" + value + ") AND NOT starts_with(" + value + ", ' ') "
        "AND NOT ends_with(" + value + ", ' ') THEN NULLIF(" + value + ", '') "
        "ELSE NULLIF(trim(" + value + "), '') END"
    )


def timestamp(ref: str, source_type: str = "VARCHAR") -> str:
    """Typed timestamp (UTC) of a raw column; native timestamps and dates skip the costly text parse."""
    if source_type == "DATE" or (source_type.startswith("TIMESTAMP") and "TIME ZONE" not in source_type):
        return "CAST(" + ref + " AS TIMESTAMP)"
    # Naive text is read as UTC and offsets are honoured: the store's connection sets TimeZone = 'UTC'.
    return "TRY_CAST(" + ref + " AS TIMESTAMPTZ)::TIMESTAMP"


def number(ref: str) -> str:
    return "TRY_CAST(" + ref + " AS DOUBLE)"


def required_text(name: str, ref: str, what: str) -> Check:
    return Check(name, "missing value", "a non-empty " + what, "lw__t_" + name + " IS NULL", got=ref)


def timestamp_checks(name: str, ref: str, *, required: bool, latest: dt.datetime) -> list[Check]:
    # Conditions test the typed value first: AND evaluates its right side only where the left one holds,
    # so the costly text form of the raw value is only computed for rows that failed to parse.
    unparsed = "lw__t_" + name + " IS NULL AND "
    missing = Check(
        name, "missing value", "an ISO-8601 timestamp", unparsed + text(ref) + " IS NULL", got=ref
    )
    checks = [missing] if required else []
    return [
        *checks,
        Check(name, "bad timestamp", "an ISO-8601 timestamp", unparsed + text(ref) + " IS NOT NULL", got=ref),
        Check(
            name,
            "future timestamp",
            "a time no later than " + latest.isoformat(sep=" ") + " UTC (now + 1 day)",
            "lw__t_" + name + " > ?",
            (latest,),
            got=ref,
        ),
    ]


def number_checks(name: str, ref: str, expected: str, out_of_range: str) -> list[Check]:
    return [
        Check(
            name,
            "wrong type",
            expected,
            "lw__t_" + name + " IS NULL AND " + text(ref) + " IS NOT NULL",
            got=ref,
        ),
        Check(name, "out of range", expected, out_of_range, got=ref),
    ]


def unknown_label(ref: str, active: bool) -> Check:
    return Check(
        "label",
        "unknown label",
        "a label of the declared vocabulary (label_schema)",
        "? AND EXISTS (SELECT 1 FROM label_schema) AND lw__t_label NOT IN (SELECT label FROM label_schema)",
        (active,),
        got=ref,
    )


def spec_for(
    kind: str,
    present: dict[str, str],
    *,
    dataset: str,
    model_version: str | None,
    vocabulary_check: bool,
    wide: bool = False,
    feature_columns: bool = False,
) -> KindSpec:
    """Return the ``KindSpec`` of ``kind`` for a source whose columns (name -> DuckDB type) are ``present``.

    ``wide`` marks predictions unpivoted from prob_<label> columns (a record passes or fails whole);
    ``feature_columns`` marks items whose features come as CSV columns f0..fN / feature_0..N, gathered into
    ``lw__features`` by the staging.
    """
    latest = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0) + dt.timedelta(days=1)
    r = {name: raw(name, present, kind) for name in (*REQUIRED_COLUMNS[kind], *OPTIONAL_COLUMNS[kind])}

    def ts(name: str) -> str:
        return timestamp(r[name], present.get(name, "VARCHAR"))

    if kind == "events":
        return KindSpec(
            columns={
                "item_id": (text(r["item_id"]), ()),
                "annotator_id": (text(r["annotator_id"]), ()),
                "label": (text(r["label"]), ()),
                "labeled_at": (ts("labeled_at"), ()),
                "guideline_version": (text(r["guideline_version"]), ()),
                "cohort": (text(r["cohort"]), ()),
                "confidence": (number(r["confidence"]), ()),
                "duration_s": (number(r["duration_s"]), ()),
                "campaign_id": (text(r["campaign_id"]), ()),
                "dataset": ("coalesce(" + text(r["dataset"]) + ", ?)", (dataset,)),
            },
            checks=[
                required_text("item_id", r["item_id"], "item id"),
                required_text("annotator_id", r["annotator_id"], "annotator id"),
                required_text("label", r["label"], "label"),
                *timestamp_checks("labeled_at", r["labeled_at"], required=True, latest=latest),
                unknown_label(r["label"], vocabulary_check),
                *number_checks(
                    "confidence",
                    r["confidence"],
                    "a number in [0, 1]",
                    "NOT (lw__t_confidence BETWEEN 0 AND 1)",
                ),
                *number_checks(
                    "duration_s",
                    r["duration_s"],
                    "a non-negative number",
                    "NOT (isfinite(lw__t_duration_s) AND lw__t_duration_s >= 0)",
                ),
            ],
            unique=Unique(
                "label_events",
                ("item_id", "annotator_id", "label", "labeled_at"),
                "event",
                present=("duplicate event", "duplicate of an event already in the store (batch "),
                group=("item_id", "annotator_id"),
            ),
        )
    if kind == "items":
        features = (
            "src.features" if "features" in present else ("src.lw__features" if feature_columns else "NULL")
        )
        return KindSpec(
            columns={
                "item_id": (text(r["item_id"]), ()),
                "dataset": ("coalesce(" + text(r["dataset"]) + ", ?)", (dataset,)),
                "split": (text(r["split"]), ()),
                "created_at": (ts("created_at"), ()),
                "text": ("CAST(" + r["text"] + " AS VARCHAR)", ()),
                "media_ref": (text(r["media_ref"]), ()),
                "features": ("TRY_CAST(" + features + " AS FLOAT[])", ()),
            },
            checks=[
                required_text("item_id", r["item_id"], "item id"),
                *timestamp_checks("created_at", r["created_at"], required=False, latest=latest),
                Check(
                    "features",
                    "wrong type",
                    "a list of numbers",
                    "(" + features + " IS NOT NULL AND lw__t_features IS NULL)"
                    " OR list_count(lw__t_features) <> len(lw__t_features)",
                    got="CAST(" + features + " AS VARCHAR)",
                ),
            ],
            unique=Unique("items", ("item_id",), "item"),
            attributes=True,
        )
    if kind == "gold":
        return KindSpec(
            columns={
                "item_id": (text(r["item_id"]), ()),
                "label": (text(r["label"]), ()),
                "source": (text(r["source"]), ()),
            },
            checks=[
                required_text("item_id", r["item_id"], "item id"),
                required_text("label", r["label"], "label"),
                unknown_label(r["label"], vocabulary_check),
            ],
            unique=Unique(
                "gold_labels",
                ("item_id", "label", "source"),
                "gold label",
                present=("gold label already present", "gold label already in the store (batch "),
            ),
        )
    if kind == "predictions":
        label, prob = r["label"], r["prob"]
        return KindSpec(
            columns={
                "item_id": (text(r["item_id"]), ()),
                "model_version": ("coalesce(" + text(r["model_version"]) + ", ?)", (model_version,)),
                "label": (text(label), ()),
                "prob": (number(prob), ()),
            },
            checks=[
                required_text("item_id", r["item_id"], "item id"),
                required_text("model_version", r["model_version"], "model version (column or argument)"),
                required_text("label", label, "label"),
                unknown_label(label, vocabulary_check),
                Check("prob", "missing value", "a number in [0, 1]", text(prob) + " IS NULL", got=prob),
                *number_checks("prob", prob, "a number in [0, 1]", "NOT (lw__t_prob BETWEEN 0 AND 1)"),
            ],
            unique=Unique(
                "predictions",
                ("item_id", "model_version", "label"),
                "prediction",
                present=("prediction already present", "prediction already in the store (batch "),
            ),
            per_record=wide,
        )
    if kind == "vocabulary":
        return KindSpec(
            columns={
                "label": (text(r["label"]), ()),
                "parent": (text(r["parent"]), ()),
                "description": ("CAST(" + r["description"] + " AS VARCHAR)", ()),
            },
            checks=[required_text("label", r["label"], "label")],
            unique=Unique(
                "label_schema",
                ("label",),
                "label",
                present=("label already present", "label already in the vocabulary, not overwritten (batch "),
            ),
        )
    if kind == "guidelines":
        return KindSpec(
            columns={
                "version": (text(r["version"]), ()),
                "effective_at": (ts("effective_at"), ()),
                "summary": ("CAST(" + r["summary"] + " AS VARCHAR)", ()),
            },
            checks=[
                required_text("version", r["version"], "guideline version"),
                *timestamp_checks("effective_at", r["effective_at"], required=True, latest=latest),
            ],
            unique=Unique(
                "guidelines",
                ("version",),
                "guideline",
                present=(
                    "guideline already present",
                    "guideline version already in the store, not overwritten (batch ",
                ),
            ),
        )
    raise ValueError(f"unknown tabular kind {kind!r}; use one of {', '.join(REQUIRED_COLUMNS)}")
