"""Staging of one import in TEMP tables of one cursor: read, type, check, mark rejects; nothing persistent.

``analytics.ingest.pipeline`` holds one cursor per prepared import; the stage lives in that cursor's TEMP
tables (``lw_stage``, and ``lw_aux`` for the items of a labeling tool's export) until ``batches.write_batch``
copies the accepted rows into the store inside one transaction on the same cursor.

A stage row carries the stored columns under their store names plus ``lw__row`` (where the record is in its
file: the line for CSV and JSON lines, the 1-based row for Parquet, tables and labeling tools' exports),
``lw__fail`` (``{col, why}`` of the first failed check, NULL when the row is accepted) and ``lw__raw`` (the
source row as JSON, kept for rows rejected by a column check).
Everything is computed in DuckDB so peak memory stays flat; nothing is pulled into pandas except the first
rejects for display. Lookups in the store's large tables (keys already present, items already known) read
only the row groups within the key range of the stage (``key_range_filter``).

CSV files are read with the dialect and record boundaries ``analytics.ingest.csv_scan`` found (no sniffing)
and
with ``store_rejects``: records with too few or too many fields, a misplaced quote or invalid UTF-8 are left
out by the reader and recorded with their line. Every row is numbered by its line in the file: valid rows
are numbered in file order (DuckDB preserves insertion order) and placed past the lines that hold no valid
record (blank lines, continuation lines of multi-line records, bad lines, rejected records).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from analytics.core.schema import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from analytics.ingest.csv_scan import MAX_RECORD_BYTES, CsvLayout, with_blank_lines
from analytics.store.stage_sources import Source
from analytics.store.validation import (
    CONTROL_CHARACTERS,
    FEATURE_COLUMN_PATTERN,
    KindSpec,
    attribute_columns,
)

STAGE_TABLES = ("lw_stage", "lw_aux")
#: Control characters in a rejected value are shown as their Unicode pictures (NUL as U+2400 '␀', ...),
#: so a reason never carries a NUL or a terminal escape sequence.
_CONTROLS = "".join(map(chr, range(32))) + "\x7f"
_PICTURES = "".join(chr(0x2400 + i) for i in range(32)) + "\u2421"
#: The column a reason names: "<category>: column '<name>': …".
_NAMED_COLUMN = "^[^:]*: column '([^']*)'"
# The row's own columns as one struct (DuckDB does not allow *COLUMNS inside CASE or coalesce).
_SOURCE_ROW = "struct_pack(*COLUMNS(lambda c: NOT starts_with(c, 'lw__'))) AS lw__source"


def build_stage(
    cur: duckdb.DuckDBPyConnection,
    stage: str,
    source: Source,
    spec: KindSpec,
    *,
    kind: str,
    columns: dict[str, str],
) -> None:
    """Create TEMP table ``stage`` from ``source``: typed columns, first failed check, in-file duplicates."""
    if stage not in STAGE_TABLES:
        raise ValueError(f"unknown stage table {stage!r}")
    params: list = list(source.params)
    typed = []
    for name, (expr, expr_params) in spec.columns.items():
        typed.append(expr + " AS lw__t_" + name)
        params.extend(expr_params)
    controls = "FALSE"
    if spec.checked_text and spec.control_screen == "any":
        controls = ("regexp_matches(concat(" + ", ".join("lw__t_" + c for c in spec.checked_text) + "), '"
                    + CONTROL_CHARACTERS + "')")
    elif spec.checked_text:
        controls = " OR ".join(
            "contains(lw__t_" + c + ", chr(" + str(code) + "))" for c in spec.checked_text for code in (0, 27)
        )
    whens = []
    for check in spec.checks:
        got = check.got if check.got is not None else 'src."' + check.column + '"'
        whens.append(
            " WHEN " + check.condition + " THEN struct_pack(col := ?::VARCHAR, why := ?::VARCHAR || "
            "coalesce('''' || translate(left(CAST(" + got + " AS VARCHAR), 100), ?, ?) || '''', 'nothing'))"
        )
        params.extend(
            [
                *check.params,
                check.column,
                check.category + ": column '" + check.column + "': expected " + check.expected + ", got ",
                _CONTROLS,
                _PICTURES,
            ]
        )
    stored = [("lw__t_" + name + " AS " + name) for name in spec.columns]
    attributes = (", " + _attributes_json(kind, columns) + " AS lw__attrs") if spec.attributes else ""
    sql = (
        "CREATE OR REPLACE TEMP TABLE " + stage + " AS "
        "WITH src AS " + source.sql + ", "
        "typed AS (SELECT src.*, " + ", ".join(typed) + " FROM src), "
        "controlled AS (SELECT *, " + controls + " AS lw__controls FROM typed), "
        "checked AS (SELECT *, CASE"
        + "".join(whens)
        + " END AS lw__fail, "
        + _SOURCE_ROW
        + " FROM controlled AS src) "
        "SELECT lw__row, " + ", ".join(stored) + ", lw__fail, "
        "CASE WHEN lw__fail IS NOT NULL THEN to_json(lw__source) END AS lw__raw"
        + attributes
        + " FROM checked"
    )
    if source.reader == "csv":
        cur.execute("DROP TABLE IF EXISTS lw_csv_errors")
        cur.execute("DROP TABLE IF EXISTS lw_csv_scans")
    cur.execute(sql, params)
    if source.layout is not None:
        _number_lines(cur, stage, source.layout, spec.per_record)
    _mark_duplicates(cur, stage, spec, source.unit)
    if not spec.unique.enrich:
        _mark_conflicts(cur, stage, spec)
    if spec.per_record:
        cur.execute(
            "UPDATE "
            + stage
            + " SET lw__fail = f.fail FROM (SELECT lw__row, min(lw__fail) AS fail FROM "
            + stage
            + " WHERE lw__fail IS NOT NULL GROUP BY lw__row) AS f "
            "WHERE " + stage + ".lw__row = f.lw__row AND " + stage + ".lw__fail IS NULL"
        )


def _attributes_json(kind: str, columns: dict[str, str]) -> str:
    """Items: every column that is not a known item column or a feature column, as one JSON object."""
    if not attribute_columns(kind, columns):
        return "CAST(NULL AS JSON)"
    known = (*REQUIRED_COLUMNS[kind], *OPTIONAL_COLUMNS[kind])
    return (
        "to_json(struct_pack(*COLUMNS(lambda c: NOT starts_with(c, 'lw__') AND c NOT IN ('"
        + "', '".join(known)
        + "') AND NOT regexp_matches(c, '"
        + FEATURE_COLUMN_PATTERN
        + "'))))"
    )


_UNTERMINATED = (
    "malformed row: unterminated quote: expected a closing '\"' on this line, or a field that spans lines "
    "and ends a record"
)
_NEWLINES = "chr(10) || chr(13)"
_ONE_LINE = "rtrim(ltrim(csv_line, " + _NEWLINES + "), " + _NEWLINES + ")"


def swallowed_lines(cur: duckdb.DuckDBPyConnection, layout: CsvLayout) -> list[tuple[int, str, str]]:
    """Rejected CSV records that ran over more than one line although the scan saw no such record there.

    A quote the scan could not see as opening a field (one after text, ``ab"c,"d``) can still make DuckDB
    read on into the next lines. The first line of each such record, ``(line, reason, raw)``, is a bad line
    for ``analytics.ingest.csv_scan.with_bad_lines``; the file is then read again without it.
    """
    rows = cur.execute(
        "SELECT DISTINCT line, " + _ONE_LINE + " AS text FROM lw_csv_errors "
        "WHERE error_type <> 'INVALID ENCODING' AND contains(" + _ONE_LINE + ", chr(10)) ORDER BY line"
    ).fetchall()
    return [
        (_physical_line(line, layout.continuations), _UNTERMINATED, text.split("\n", 1)[0].rstrip("\r"))
        for line, text in rows
    ]


def _physical_line(logical: int, continuations: tuple[int, ...]) -> int:
    """DuckDB counts the line breaks outside quoted fields: its line ``logical`` is the file's line past the
    continuation lines before it."""
    line = logical
    for continued in continuations:
        if continued > line:
            break
        line += 1
    return line


def _number_lines(cur: duckdb.DuckDBPyConnection, stage: str, layout: CsvLayout, per_record: bool) -> None:
    """Move each valid CSV row to its line past the gaps, and add the rejected records and bad lines.

    ``per_record``: a record gave several stage rows (wide predictions), which share its line.

    When the records do not account for every line of the file, the file has blank lines: they are looked
    for then (``csv_scan.with_blank_lines``), and only then.
    """
    # line: DuckDB's number of the rejected record's line; r: its line in the file.
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE lw_error_lines AS SELECT DISTINCT line, line AS r FROM lw_csv_errors"
    )
    if layout.continuations:
        cur.execute("CREATE OR REPLACE TEMP TABLE lw_gap_lines AS SELECT unnest(?::BIGINT[]) AS r",
                    [list(layout.continuations)])
        _shift_past_gaps(cur, "lw_error_lines")
    records = cur.execute(
        "SELECT (SELECT " + ("count(DISTINCT lw__row)" if per_record else "count(*)") + " FROM " + stage
        + ") + (SELECT count(*) FROM lw_error_lines)"
    ).fetchone()[0]
    if 1 + records + len(layout.gaps) < layout.lines:
        layout = with_blank_lines(layout)
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE lw_gap_lines AS SELECT unnest(?::BIGINT[]) AS r UNION "
        "SELECT r FROM lw_error_lines",
        [list(layout.gaps)],
    )
    if cur.execute("SELECT count(*) FROM lw_gap_lines").fetchone()[0]:
        _shift_past_gaps(cur, stage)
    cur.execute(
        "INSERT INTO " + stage + " (lw__row, lw__fail, lw__raw) "
        "SELECT l.r, e.fail, e.raw FROM (SELECT DISTINCT ON (line) line, "
        "struct_pack(col := column_name, why := CASE "
        "WHEN error_type = 'INVALID ENCODING' THEN 'invalid encoding: column ''' || "
        "coalesce(column_name, '?') || ''': expected UTF-8 text' "
        "WHEN error_type IN ('MISSING COLUMNS', 'TOO MANY COLUMNS') THEN 'malformed row: column ''' || "
        "coalesce(column_name, '(after the last)') || ''': expected ' || ? || ' fields, found ' || "
        "regexp_extract(error_message, 'Found: ([0-9]+)', 1) "
        "WHEN error_type = 'LINE SIZE OVER MAXIMUM' THEN 'malformed row: expected a line of at most ' || ? "
        "|| ' bytes, got ' || regexp_extract(error_message, 'Actual Size:([0-9]+)', 1) || ' bytes' "
        "WHEN error_type = 'UNQUOTED VALUE' THEN 'malformed row: column ''' || coalesce(column_name, '?') "
        "|| ''': expected a quoted field to end with a quote followed by a delimiter or the line''s end' "
        "ELSE 'malformed row: column ''' || coalesce(column_name, '?') || ''': ' || error_message END) "
        "AS fail, to_json(left(" + _ONE_LINE + ", 10000)) AS raw FROM lw_csv_errors "
        "ORDER BY line, column_idx) AS e JOIN lw_error_lines AS l USING (line)",
        [len(layout.columns), f"{MAX_RECORD_BYTES:,}"],
    )
    add_rejects(cur, stage, list(layout.bad_lines))


def _shift_past_gaps(cur: duckdb.DuckDBPyConnection, table: str) -> None:
    """Replace each value v of ``table``'s line column (``lw__row`` of a stage, ``r`` of ``lw_error_lines``)
    by the v-th line that is not in ``lw_gap_lines``.

    With the gaps r_1 < r_2 < … the answer is v + j for the largest j with r_j − j < v (r_j − j lines before
    r_j are not gaps); r_j − j never decreases, so an ASOF join on it finds j.
    """
    column = {"lw_error_lines": "r", **{stage: "lw__row" for stage in STAGE_TABLES}}[table]
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE lw_gaps AS SELECT g, max(shift) AS shift FROM ("
        "SELECT r - row_number() OVER (ORDER BY r) AS g, row_number() OVER (ORDER BY r) AS shift "
        "FROM (SELECT DISTINCT r FROM lw_gap_lines)) GROUP BY g"
    )
    cur.execute(
        "UPDATE " + table + " SET " + column + " = " + table + "." + column + " + m.shift FROM ("
        "SELECT DISTINCT s." + column + " AS v, g.shift FROM " + table + " AS s ASOF JOIN lw_gaps AS g "
        "ON s." + column + " > g.g) AS m WHERE " + table + "." + column + " = m.v"
    )


def add_rejects(cur: duckdb.DuckDBPyConnection, stage: str, rejects: list[tuple[int, str, str]]) -> None:
    """Add records the readers could not take (JSONL lines, bad CSV lines, Label Studio annotations, Labelbox
    lines and labels) as ``(row, reason, raw text)``; the column is the one the reason names
    (``"…: column 'x': …"``), if any."""
    if stage not in STAGE_TABLES:
        raise ValueError(f"unknown stage table {stage!r}")
    if not rejects:
        return
    cur.execute(
        "INSERT INTO " + stage + " (lw__row, lw__fail, lw__raw) SELECT r.row, struct_pack("
        "col := NULLIF(regexp_extract(r.reason, ?, 1), ''), why := r.reason), to_json(r.raw) "
        "FROM (SELECT unnest(?::STRUCT(row BIGINT, reason VARCHAR, raw VARCHAR)[]) AS r)",
        [_NAMED_COLUMN, [{"row": row, "reason": reason, "raw": raw} for row, reason, raw in rejects]],
    )


def _repeats(cur: duckdb.DuckDBPyConnection, stage: str, columns: str) -> int:
    """Accepted rows of the stage less the distinct hashes of ``columns``: 0 when no value repeats."""
    return cur.execute(
        "SELECT count(*) - count(DISTINCT hash(" + columns + ")) FROM " + stage + " WHERE lw__fail IS NULL"
    ).fetchall()[0][0]


def _mark_duplicates(cur: duckdb.DuckDBPyConnection, stage: str, spec: KindSpec, unit: str) -> None:
    """Reject every later row whose key equals an earlier accepted row's ("duplicate of line N").

    With a ``group`` (a prefix of the key), its values held by several accepted rows are kept in the TEMP
    table ``<stage>_repeats`` (empty when none; rows later rejected as duplicates still count there, the
    writer recounts).
    """
    key = ", ".join(spec.unique.key)
    group = ", ".join(spec.unique.group)
    if group:
        cur.execute("CREATE OR REPLACE TEMP TABLE " + stage + "_repeats AS SELECT " + group + " FROM "
                    + stage + " WHERE FALSE")
    # Counting the distinct hashes of the keys is much cheaper than grouping the rows on the key's columns;
    # as many hashes as rows means no key repeats (a hash collision only costs the exact pass below). Rows
    # with distinct groups have distinct keys, so one count answers both.
    repeats = _repeats(cur, stage, group or key)
    if not repeats:
        return
    if group:
        cur.execute(
            "INSERT INTO " + stage + "_repeats SELECT " + group + " FROM " + stage
            + " WHERE lw__fail IS NULL GROUP BY ALL HAVING count(*) > 1"
        )
        if not _repeats(cur, stage, key):
            return
    on = " AND ".join("s." + name + " IS NOT DISTINCT FROM d." + name for name in spec.unique.key)
    cur.execute(
        "UPDATE " + stage + " SET lw__fail = struct_pack(col := ?::VARCHAR, why := ?::VARCHAR || m.first) "
        "FROM (SELECT s.lw__row, min(d.first) AS first FROM "
        + stage
        + " AS s JOIN (SELECT "
        + key
        + ", min(lw__row) AS first FROM "
        + stage
        + " WHERE lw__fail IS NULL GROUP BY "
        + key
        + " HAVING count(*) > 1) AS d ON "
        + on
        + " WHERE s.lw__fail IS NULL AND s.lw__row > d.first "
        "GROUP BY s.lw__row) AS m WHERE " + stage + ".lw__row = m.lw__row",
        [
            key,
            "duplicate "
            + spec.unique.noun
            + ": column '"
            + key
            + "': expected each row once, got a duplicate of " + unit + " ",
        ],
    )


def key_range_filter(cur: duckdb.DuckDBPyConnection, stage: str, key: tuple[str, ...], alias: str) -> str:
    """SQL filter keeping the rows of ``alias`` whose ``key`` lies within that of the stage's accepted rows.

    The min/max of each key column are set as a variable of the cursor, which DuckDB folds into constants
    when it plans a query and compares with the min/max of each row group: a store table scanned with this
    filter reads only the row groups that may hold one of the stage's keys. NULL keys pass (NULL keys match).
    """
    if stage not in STAGE_TABLES:
        raise ValueError(f"unknown stage table {stage!r}")
    cur.execute(
        "SET VARIABLE lw_key_range = (SELECT {"
        + ", ".join(name + ": [min(" + name + "), max(" + name + ")]" for name in key)
        + "} FROM "
        + stage
        + " WHERE lw__fail IS NULL)"
    )
    bounds = "getvariable('lw_key_range')."
    return " AND ".join(
        "(" + alias + "." + name + " BETWEEN " + bounds + name + "[1] AND " + bounds + name + "[2] "
        "OR " + alias + "." + name + " IS NULL)"
        for name in key
    )


def store_rows_near(
    cur: duckdb.DuckDBPyConnection, stage: str, table: str, key: tuple[str, ...], columns: tuple[str, ...]
) -> str:
    """The relation to join with the stage to find its keys in store ``table``: ``lw_near`` or ``table``.

    A join builds its hash table on the smaller side, which is the whole stage when it meets a large store
    table. But the store rows within the stage's key range (``key_range_filter``) are usually few or none
    (new data), so when they are fewer than the stage's rows they are copied (``columns`` only) into the
    TEMP table ``lw_near`` and the join builds on them instead.
    """
    if not cur.execute("SELECT EXISTS (FROM " + table + ")").fetchall()[0][0]:
        return table
    rows = cur.execute("SELECT count(*) FROM " + stage).fetchall()[0][0]
    within = key_range_filter(cur, stage, key, "x")
    near = cur.execute(
        "SELECT count(*) FROM (SELECT 1 FROM " + table + " AS x WHERE " + within + " LIMIT ?)", [rows]
    ).fetchall()[0][0]
    if near >= rows:
        return table
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE lw_near AS SELECT "
        + ", ".join(columns)
        + " FROM "
        + table
        + " AS x WHERE "
        + within
    )
    return "lw_near"


def _mark_conflicts(cur: duckdb.DuckDBPyConnection, stage: str, spec: KindSpec) -> None:
    """Reject every accepted row whose key the store holds already ("already in the store (batch B)")."""
    unique = spec.unique
    on = " AND ".join("s." + name + " IS NOT DISTINCT FROM x." + name for name in unique.key)
    columns = ", ".join(unique.key)
    category, text = unique.present_reason()
    present = store_rows_near(cur, stage, unique.table, unique.key, (*unique.key, "batch_id"))
    cur.execute(
        "UPDATE " + stage + " SET lw__fail = struct_pack(col := ?::VARCHAR, why := ?::VARCHAR || m.batch_id "
        "|| ')') FROM (SELECT s.lw__row, min(x.batch_id) AS batch_id FROM "
        + stage
        + " AS s JOIN "
        + present
        + " AS x ON "
        + on
        + " WHERE s.lw__fail IS NULL GROUP BY s.lw__row) AS m "
        "WHERE " + stage + ".lw__row = m.lw__row",
        [columns, category + ": column '" + columns + "': " + text],
    )


def stage_counts(
    cur: duckdb.DuckDBPyConnection, stage: str, spec: KindSpec
) -> tuple[int, int, dict[str, int]]:
    """Return ``(rows_read, rows_rejected, rejected_by_reason)`` of a built stage (records, not cells)."""
    count = "count(DISTINCT lw__row)" if spec.per_record else "count(*)"
    read = cur.execute("SELECT " + count + " FROM " + stage).fetchone()[0]
    by_reason = dict(
        cur.execute(
            "SELECT split_part(reason, ': ', 1) AS category, count(*) AS n FROM ("
            + rejects_sql(stage)
            + ") GROUP BY category ORDER BY n DESC, category"
        ).fetchall()
    )
    return read, sum(by_reason.values()), by_reason


def rejects_sql(stage: str) -> str:
    """SQL of the stage's rejects, one per record: row_number, column_name, reason, raw."""
    if stage not in STAGE_TABLES:
        raise ValueError(f"unknown stage table {stage!r}")
    return (
        "SELECT DISTINCT ON (lw__row) lw__row AS row_number, lw__fail.col AS column_name, "
        "lw__fail.why AS reason, coalesce(lw__raw, to_json(lw__source)) AS raw FROM (SELECT *, "
        + _SOURCE_ROW
        + " FROM "
        + stage
        + " WHERE lw__fail IS NOT NULL) ORDER BY lw__row, lw__fail.why"
    )


def first_rejects(cur: duckdb.DuckDBPyConnection, stage: str, limit: int) -> pd.DataFrame:
    return cur.execute(
        "SELECT row_number, column_name, reason, CAST(raw AS VARCHAR) AS raw FROM ("
        + rejects_sql(stage)
        + ") LIMIT ?",
        [limit],
    ).df()


def store_fingerprint(cur: duckdb.DuckDBPyConnection) -> tuple:
    """Row counts of the tables staging checks against; equal counts mean nothing was appended since."""
    return cur.execute(
        "SELECT (SELECT count(*) FROM label_events), (SELECT count(*) FROM items), "
        "(SELECT count(*) FROM label_schema), (SELECT count(*) FROM gold_labels), "
        "(SELECT count(*) FROM predictions), (SELECT count(*) FROM guidelines), "
        "(SELECT count(*) FROM ingest_batches)"
    ).fetchone()


def drop_stage(cur: duckdb.DuckDBPyConnection) -> None:
    repeats = tuple(stage + "_repeats" for stage in STAGE_TABLES)
    temporary = ("lw_near", "lw_gaps", "lw_gap_lines", "lw_error_lines", "lw_csv_errors", "lw_csv_scans")
    for table in (*STAGE_TABLES, *repeats, *temporary):
        cur.execute("DROP TABLE IF EXISTS " + table)
    cur.execute("RESET VARIABLE lw_key_range")


def numeric_label_spellings(cur: duckdb.DuckDBPyConnection, stage: str) -> list[tuple[list[str], list[str]]]:
    """Labels that are one number written differently (``1``, ``1.0``, ``01``, ``1e0``), as classes apart.

    Compares the accepted labels of ``stage`` with each other and with the labels the store holds (its
    vocabulary and its events). Returns one ``(spellings in the file, other spellings in the store)`` per
    number that has more than one spelling and at least one of them in the file, smallest number first.
    """
    if stage not in STAGE_TABLES:
        raise ValueError(f"unknown stage table {stage!r}")
    numeric = cur.execute(
        "SELECT list(DISTINCT label) FROM " + stage + " WHERE lw__fail IS NULL AND TRY_CAST(label AS DOUBLE) "
        "IS NOT NULL"
    ).fetchone()[0]
    if not numeric:
        return []
    rows = cur.execute(
        "WITH file AS (SELECT unnest(?::VARCHAR[]) AS label), "
        "store AS (SELECT label FROM label_schema UNION SELECT DISTINCT label FROM label_events), "
        "spellings AS (SELECT label, TRUE AS in_file FROM file UNION ALL "
        "SELECT label, FALSE FROM store WHERE label NOT IN (SELECT label FROM file)) "
        "SELECT list(label ORDER BY label) FILTER (WHERE in_file), "
        "coalesce(list(label ORDER BY label) FILTER (WHERE NOT in_file), []) FROM spellings "
        "WHERE TRY_CAST(label AS DOUBLE) IS NOT NULL GROUP BY TRY_CAST(label AS DOUBLE) "
        "HAVING count(*) > 1 AND bool_or(in_file) ORDER BY TRY_CAST(label AS DOUBLE)",
        [numeric],
    ).fetchall()
    return [(list(in_file), list(in_store)) for in_file, in_store in rows]
