"""Row checks of each input kind as fixed SQL fragments (used by ``staging``).

A kind is described by a ``KindSpec``: the typed columns it stores (an SQL expression over the source row
each), the checks a row must pass in order (the first failing one is the row's reason), the key that makes a
row a duplicate of an earlier row of the same file, and the store table whose existing rows make it a
duplicate of something already imported. Column names come from ``analytics.core.schema``; every text shown
to the
user travels as a parameter.

Every reason reads ``"<category>: column '<name>': expected <what>, got '<value>'"``; the category (the text
before the first ``": "``) is what ``rejected_by_reason`` and ``reject_reasons`` count.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from analytics.core.schema import OPTIONAL_COLUMNS, REQUIRED_COLUMNS

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
    overwritten, unless ``enrich``: then it adds to or changes what the store holds (items, see
    ``batches.write_batch``), the earlier values staying in the store's history.
    """

    table: str
    key: tuple[str, ...]
    noun: str
    present: tuple[str, str] | None = None
    #: A prefix of ``key`` that may repeat (label events: the (item, annotator) of a re-label); the
    #: stage keeps its repeated values in ``<stage>_repeats`` for the writer (``staging.mark_duplicates``).
    group: tuple[str, ...] = ()
    enrich: bool = False

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
    #: How rows are screened for control characters before the exact check (``staging.build_stage``):
    #: "any" matches every control character, "nul-esc" only NUL and ESC (a memchr each, for sources no
    #: scan has seen, such as Parquet files, where a regular expression per value would cost too much).
    control_screen: str = "any"

    @property
    def checked_text(self) -> list[str]:
        """The typed columns that ``characters_check`` looks at (they make ``lw__controls``)."""
        return [c.column for c in self.checks if c.condition.startswith(_CONTROLS)]


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


#: The timestamps an import accepts as text: ISO 8601 dates and times, optionally with a UTC offset that
#: exists on Earth (at most 14 hours). Special words DuckDB would read ('epoch', 'infinity', 'today'),
#: '(BC)' dates and offsets such as +25:00 do not match.
ISO_TIMESTAMP = (
    "[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,9})?)?)?"
    "(Z|[+-](0[0-9]|1[0-4])(:?[0-5][0-9])?| UTC)?"
)
#: The widest range a plausible-range setting may span: every reader of the store (pandas among them, whose
#: nanosecond timestamps end in 2262) holds these times.
TIMESTAMP_FLOOR = dt.datetime(1900, 1, 1)
TIMESTAMP_CEILING = dt.datetime(2200, 1, 1)
#: Characters no id, label or attribute holds: C0 controls (NUL, ESC, tab, line breaks, ...) and DEL.
CONTROL_CHARACTERS = "[\\x00-\\x1f\\x7f]"
#: The same without tab and line breaks, for free text (item text, descriptions, summaries).
TEXT_CONTROL_CHARACTERS = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]"
_CONTROLS = "lw__controls"


def timestamp(ref: str, source_type: str = "VARCHAR") -> str:
    """Typed timestamp (UTC) of a raw column; native timestamps and dates skip the costly text parse.

    Text must match ``ISO_TIMESTAMP``; anything else is NULL (and rejected as a bad timestamp).
    """
    if source_type == "DATE" or source_type.startswith("TIMESTAMP"):
        return "TRY_CAST(" + ref + " AS TIMESTAMP)"
    # Naive text is read as UTC and offsets are honoured: the store's connection sets TimeZone = 'UTC'.
    value = "CAST(" + ref + " AS VARCHAR)"
    return (
        "CASE WHEN regexp_full_match(" + value + ", '" + ISO_TIMESTAMP + "') THEN TRY_CAST(" + value
        + " AS TIMESTAMPTZ)::TIMESTAMP END"
    )


def number(ref: str) -> str:
    return "TRY_CAST(" + ref + " AS DOUBLE)"


def required_text(name: str, ref: str, what: str) -> Check:
    return Check(name, "missing value", "a non-empty " + what, "lw__t_" + name + " IS NULL", got=ref)


def describe_range(earliest: dt.datetime, latest: dt.datetime) -> str:
    """``'from 1990-01-01 00:00 to 2026-12-04 10:00 UTC'``."""
    return f"from {earliest:%Y-%m-%d %H:%M} to {latest:%Y-%m-%d %H:%M} UTC"


def timestamp_checks(
    name: str, ref: str, *, required: bool, earliest: dt.datetime, latest: dt.datetime
) -> list[Check]:
    # Conditions test the typed value first: AND evaluates its right side only where the left one holds,
    # so the costly text form of the raw value is only computed for rows that failed to parse.
    unparsed = "lw__t_" + name + " IS NULL AND "
    window = describe_range(earliest, latest)
    missing = Check(
        name, "missing value", "an ISO-8601 timestamp", unparsed + text(ref) + " IS NULL", got=ref
    )
    checks = [missing] if required else []
    return [
        *checks,
        Check(
            name,
            "bad timestamp",
            "an ISO-8601 time " + window + " (e.g. 2024-05-01 or 2024-05-01T10:30:00+02:00)",
            unparsed + text(ref) + " IS NOT NULL",
            got=ref,
        ),
        Check(
            name,
            "timestamp out of range",
            "a time " + window + " (the plausible range for imports)",
            "NOT (lw__t_" + name + " BETWEEN ? AND ?)",
            (earliest, latest),
            got=ref,
        ),
    ]


def characters_check(name: str, *, free_text: bool = False) -> Check:
    """Reject a typed text column holding control characters (``CONTROL_CHARACTERS``; free text may hold
    tabs and line breaks). Cheap for clean rows: ``lw__controls`` (one match over every checked column of
    the row, see ``KindSpec.checked_text``) is tested first."""
    pattern = TEXT_CONTROL_CHARACTERS if free_text else CONTROL_CHARACTERS
    allowed = "without control characters (NUL, ESC" + ("" if free_text else ", tab, line breaks") + ")"
    return Check(
        name,
        "bad character",
        "text " + allowed,
        _CONTROLS + " AND regexp_matches(lw__t_" + name + ", '" + pattern + "')",
        got="lw__t_" + name,
    )


def attribute_columns(kind: str, present: dict[str, str]) -> list[str]:
    """Items: the file's columns that become slice attributes (neither known item columns nor features)."""
    known = (*REQUIRED_COLUMNS[kind], *OPTIONAL_COLUMNS[kind])
    return [c for c in present if c not in known and not c.startswith("lw__") and not is_feature_column(c)]


def attribute_check(name: str) -> Check:
    """A slice attribute's value holds no control characters (checked on the raw value; rare columns)."""
    ref = "CAST(" + 'src."' + name.replace('"', '""') + '"' + " AS VARCHAR)"
    return Check(
        name,
        "bad character",
        "text without control characters (NUL, ESC, tab, line breaks)",
        "regexp_matches(" + ref + ", '" + CONTROL_CHARACTERS + "')",
        got=ref,
    )


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
    earliest: dt.datetime,
    latest: dt.datetime,
    controls: bool | None = None,
    wide: bool = False,
    feature_columns: bool = False,
) -> KindSpec:
    """Return the ``KindSpec`` of ``kind`` for a source whose columns (name -> DuckDB type) are ``present``.

    ``earliest`` and ``latest`` bound every timestamp (UTC); ``controls`` says whether the source holds
    control characters: False when a scan of the file found none (the per-value checks are left out, as
    they would cost every row a regular expression for nothing), True when it found some, None when no scan
    looked (the rows are screened for NUL and ESC, see ``KindSpec.control_screen``); ``wide`` marks
    predictions unpivoted from
    prob_<label> columns (a record passes or fails whole); ``feature_columns`` marks items whose features
    come as CSV columns f0..fN / feature_0..N, gathered into ``lw__features`` by the staging.

    Items keep ``dataset`` NULL where the row names none: the writer gives new items ``dataset`` and leaves
    the dataset of items the store holds already as it is.
    """
    r = {name: raw(name, present, kind) for name in (*REQUIRED_COLUMNS[kind], *OPTIONAL_COLUMNS[kind])}
    window = {"earliest": earliest, "latest": latest}

    def ts(name: str) -> str:
        return timestamp(r[name], present.get(name, "VARCHAR"))

    checked = controls is not False
    screen = "any" if controls else "nul-esc"

    def make(**parts) -> KindSpec:
        return KindSpec(control_screen=screen, **parts)

    def plain(*names: str) -> list[Check]:
        return [characters_check(name) for name in names if name in present and checked]

    def free(*names: str) -> list[Check]:
        return [characters_check(name, free_text=True) for name in names if name in present and checked]

    if kind == "events":
        return make(
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
                *timestamp_checks("labeled_at", r["labeled_at"], required=True, **window),
                *plain("item_id", "annotator_id", "label", "guideline_version", "cohort", "campaign_id",
                       "dataset"),
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
                "live_label_events",
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
        return make(
            columns={
                "item_id": (text(r["item_id"]), ()),
                "dataset": (text(r["dataset"]), ()),
                "split": (text(r["split"]), ()),
                "created_at": (ts("created_at"), ()),
                "text": ("CAST(" + r["text"] + " AS VARCHAR)", ()),
                "media_ref": (text(r["media_ref"]), ()),
                "features": ("TRY_CAST(" + features + " AS FLOAT[])", ()),
            },
            checks=[
                required_text("item_id", r["item_id"], "item id"),
                *timestamp_checks("created_at", r["created_at"], required=False, **window),
                *plain("item_id", "dataset", "split", "media_ref"),
                *free("text"),
                *[attribute_check(name) for name in attribute_columns(kind, present) if checked],
                Check(
                    "features",
                    "wrong type",
                    "a list of numbers",
                    "(" + features + " IS NOT NULL AND lw__t_features IS NULL)"
                    " OR list_count(lw__t_features) <> len(lw__t_features)",
                    got="CAST(" + features + " AS VARCHAR)",
                ),
            ],
            unique=Unique("items", ("item_id",), "item", enrich=True),
            attributes=True,
        )
    if kind == "gold":
        return make(
            columns={
                "item_id": (text(r["item_id"]), ()),
                "label": (text(r["label"]), ()),
                "source": (text(r["source"]), ()),
            },
            checks=[
                required_text("item_id", r["item_id"], "item id"),
                required_text("label", r["label"], "label"),
                *plain("item_id", "label", "source"),
                unknown_label(r["label"], vocabulary_check),
            ],
            unique=Unique(
                "live_gold_labels",
                ("item_id", "label", "source"),
                "gold label",
                present=("gold label already present", "gold label already in the store (batch "),
            ),
        )
    if kind == "predictions":
        label, prob = r["label"], r["prob"]
        return make(
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
                *plain("item_id", "model_version", "label"),
                unknown_label(label, vocabulary_check),
                Check("prob", "missing value", "a number in [0, 1]", text(prob) + " IS NULL", got=prob),
                *number_checks("prob", prob, "a number in [0, 1]", "NOT (lw__t_prob BETWEEN 0 AND 1)"),
            ],
            unique=Unique(
                "live_predictions",
                ("item_id", "model_version", "label"),
                "prediction",
                present=("prediction already present", "prediction already in the store (batch "),
            ),
            per_record=wide,
        )
    if kind == "vocabulary":
        return make(
            columns={
                "label": (text(r["label"]), ()),
                "parent": (text(r["parent"]), ()),
                "description": ("CAST(" + r["description"] + " AS VARCHAR)", ()),
            },
            checks=[
                required_text("label", r["label"], "label"),
                *plain("label", "parent"),
                *free("description"),
            ],
            unique=Unique(
                "label_schema",
                ("label",),
                "label",
                present=("label already present", "label already in the vocabulary, not overwritten (batch "),
            ),
        )
    if kind == "guidelines":
        return make(
            columns={
                "version": (text(r["version"]), ()),
                "effective_at": (ts("effective_at"), ()),
                "summary": ("CAST(" + r["summary"] + " AS VARCHAR)", ()),
            },
            checks=[
                required_text("version", r["version"], "guideline version"),
                *timestamp_checks("effective_at", r["effective_at"], required=True, **window),
                *plain("version"),
                *free("summary"),
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
