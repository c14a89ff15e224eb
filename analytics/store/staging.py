"""Staging of one import in TEMP tables of one cursor: read, type, check, mark rejects; nothing persistent.

``analytics.ingest`` holds one cursor per prepared import; the stage lives in that cursor's TEMP tables
(``lw_stage``, and ``lw_aux`` for the items of a Label Studio export) until ``batches.write_batch`` copies the
accepted rows into the store inside one transaction on the same cursor.

A stage row carries the stored columns under their store names plus ``lw__row`` (the 1-based data record
number in the file, header excluded), ``lw__fail`` (``{col, why}`` of the first failed check, NULL when the
row is accepted) and ``lw__raw`` (the source row as JSON, kept for rows rejected by a column check).
Everything is computed in DuckDB so peak memory stays flat; nothing is pulled into pandas except the first
rejects for display. Lookups in the store's large tables (keys already present, items already known) read
only the row groups within the key range of the stage (``key_range_filter``).

CSV files are read with ``store_rejects``: lines with too few or too many fields or invalid UTF-8 are left
out by the reader and recorded with their line number; valid rows are numbered in file order (DuckDB
preserves insertion order) and shifted past those lines afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd
import pyarrow as pa

from analytics.schema import OPTIONAL_COLUMNS, REQUIRED_COLUMNS
from analytics.store.validation import FEATURE_COLUMN_PATTERN, WIDE_PROB_PATTERN, KindSpec, is_feature_column

STAGE_TABLES = ("lw_stage", "lw_aux")
_ARROW_VIEWS = {"lw_stage": "lw_arrow", "lw_aux": "lw_arrow_aux"}

_CSV_READER = (
    "read_csv(?, all_varchar = true, header = true, store_rejects = true, "
    "rejects_table = 'lw_csv_errors', rejects_scan = 'lw_csv_scans')"
)
# The row's own columns as one struct (DuckDB does not allow *COLUMNS inside CASE or coalesce).
_SOURCE_ROW = "struct_pack(*COLUMNS(lambda c: NOT starts_with(c, 'lw__'))) AS lw__source"


@dataclass(frozen=True)
class Source:
    """A relation yielding ``lw__row`` and the source's own columns (SQL text with its parameters)."""

    sql: str
    params: tuple
    reader: str  # csv | parquet | arrow


def csv_source(path: str) -> Source:
    return Source("(SELECT row_number() OVER () AS lw__row, * FROM " + _CSV_READER + ")", (path,), "csv")


def parquet_source(path: str) -> Source:
    return Source(
        "(SELECT file_row_number + 1 AS lw__row, * EXCLUDE (file_row_number) "
        "FROM read_parquet(?, file_row_number = true))",
        (path,),
        "parquet",
    )


def arrow_source(cur: duckdb.DuckDBPyConnection, table: pa.Table, stage: str) -> Source:
    """Register ``table`` on ``cur``; a ``lw__row`` column in it (JSONL line numbers) is kept as is."""
    view = _ARROW_VIEWS[stage]
    cur.register(view, table)
    if "lw__row" in table.column_names:
        return Source("(SELECT * FROM " + view + ")", (), "arrow")
    return Source("(SELECT row_number() OVER () AS lw__row, * FROM " + view + ")", (), "arrow")


def source_columns(cur: duckdb.DuckDBPyConnection, source: Source) -> dict[str, str]:
    """The source's columns (name -> DuckDB type, without ``lw__row``); reads only what the sniffer needs."""
    rows = cur.execute("DESCRIBE SELECT * FROM " + source.sql + " AS src", list(source.params)).fetchall()
    return {row[0]: row[1] for row in rows if row[0] != "lw__row"}


def wide_predictions(source: Source) -> Source:
    """Unpivot prob_<label> columns into one (label, prob) row per label; lw__row stays the record's."""
    sql = (
        "(SELECT * EXCLUDE (lw__name), substr(lw__name, 6) AS label FROM " + source.sql + " AS src "
        "UNPIVOT INCLUDE NULLS (prob FOR lw__name IN (COLUMNS('" + WIDE_PROB_PATTERN + "'))))"
    )
    return Source(sql, source.params, source.reader)


def feature_columns(source: Source) -> Source:
    """Add ``lw__features``: the CSV columns f0..fN / feature_0..N as one list, in file order."""
    sql = (
        "(SELECT *, list_value(*COLUMNS('"
        + FEATURE_COLUMN_PATTERN
        + "')) AS lw__features FROM "
        + source.sql
        + ")"
    )
    return Source(sql, source.params, source.reader)


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
    whens = []
    for check in spec.checks:
        got = check.got if check.got is not None else 'src."' + check.column + '"'
        whens.append(
            " WHEN " + check.condition + " THEN struct_pack(col := ?::VARCHAR, why := ?::VARCHAR || "
            "coalesce('''' || left(CAST(" + got + " AS VARCHAR), 100) || '''', 'nothing'))"
        )
        params.extend(
            [
                *check.params,
                check.column,
                check.category + ": column '" + check.column + "': expected " + check.expected + ", got ",
            ]
        )
    stored = [("lw__t_" + name + " AS " + name) for name in spec.columns]
    attributes = (", " + _attributes_json(kind, columns) + " AS lw__attrs") if spec.attributes else ""
    sql = (
        "CREATE OR REPLACE TEMP TABLE " + stage + " AS "
        "WITH src AS " + source.sql + ", "
        "typed AS (SELECT src.*, " + ", ".join(typed) + " FROM src), "
        "checked AS (SELECT *, CASE"
        + "".join(whens)
        + " END AS lw__fail, "
        + _SOURCE_ROW
        + " FROM typed AS src) "
        "SELECT lw__row, " + ", ".join(stored) + ", lw__fail, "
        "CASE WHEN lw__fail IS NOT NULL THEN to_json(lw__source) END AS lw__raw"
        + attributes
        + " FROM checked"
    )
    if source.reader == "csv":
        cur.execute("DROP TABLE IF EXISTS lw_csv_errors")
        cur.execute("DROP TABLE IF EXISTS lw_csv_scans")
    cur.execute(sql, params)
    if source.reader == "csv":
        _place_csv_errors(cur, stage, len(columns))
    _mark_duplicates(cur, stage, spec)
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
    known = (*REQUIRED_COLUMNS[kind], *OPTIONAL_COLUMNS[kind])
    if not [c for c in columns if c not in known and not c.startswith("lw__") and not is_feature_column(c)]:
        return "CAST(NULL AS JSON)"
    return (
        "to_json(struct_pack(*COLUMNS(lambda c: NOT starts_with(c, 'lw__') AND c NOT IN ('"
        + "', '".join(known)
        + "') AND NOT regexp_matches(c, '"
        + FEATURE_COLUMN_PATTERN
        + "'))))"
    )


def _place_csv_errors(cur: duckdb.DuckDBPyConnection, stage: str, n_columns: int) -> None:
    """Shift row numbers past the lines the CSV reader left out, and add those lines as rejects."""
    if not cur.execute("SELECT count(*) FROM lw_csv_errors").fetchone()[0]:
        return
    cur.execute(
        "CREATE OR REPLACE TEMP TABLE lw_gaps AS SELECT g, max(shift) AS shift FROM ("
        "SELECT r - row_number() OVER (ORDER BY r) AS g, row_number() OVER (ORDER BY r) AS shift "
        "FROM (SELECT DISTINCT line - 1 AS r FROM lw_csv_errors)) GROUP BY g"
    )
    # Valid row k follows every left-out record r_j (j-th in order) with r_j - j < k: shift it by the
    # largest such j, found by an ASOF join on g = r_j - j.
    cur.execute(
        "UPDATE " + stage + " SET lw__row = " + stage + ".lw__row + m.shift FROM (SELECT s.lw__row AS k, "
        "g.shift FROM " + stage + " AS s ASOF JOIN lw_gaps AS g ON s.lw__row > g.g) AS m "
        "WHERE " + stage + ".lw__row = m.k"
    )
    cur.execute(
        "INSERT INTO " + stage + " (lw__row, lw__fail, lw__raw) "
        "SELECT DISTINCT ON (line) line - 1, struct_pack(col := column_name, why := CASE "
        "WHEN error_type = 'INVALID ENCODING' THEN 'invalid encoding: column ''' || "
        "coalesce(column_name, '?') || ''': expected UTF-8 text' "
        "WHEN error_type IN ('MISSING COLUMNS', 'TOO MANY COLUMNS') THEN 'malformed row: column ''' || "
        "coalesce(column_name, '(after the last)') || ''': expected ' || ? || ' fields, found ' || "
        "regexp_extract(error_message, 'Found: ([0-9]+)', 1) "
        "ELSE 'malformed row: column ''' || coalesce(column_name, '?') || ''': ' || error_message END), "
        "to_json(csv_line) FROM lw_csv_errors ORDER BY line, column_idx",
        [n_columns],
    )


def add_rejects(cur: duckdb.DuckDBPyConnection, stage: str, rejects: list[tuple[int, str, str]]) -> None:
    """Add records the Python readers could not parse (JSONL lines) as ``(row, reason, raw text)``."""
    if stage not in STAGE_TABLES:
        raise ValueError(f"unknown stage table {stage!r}")
    if not rejects:
        return
    cur.executemany(
        "INSERT INTO " + stage + " (lw__row, lw__fail, lw__raw) "
        "VALUES (?, struct_pack(col := NULL::VARCHAR, why := ?::VARCHAR), to_json(?::VARCHAR))",
        [list(reject) for reject in rejects],
    )


def _repeats(cur: duckdb.DuckDBPyConnection, stage: str, columns: str) -> int:
    """Accepted rows of the stage less the distinct hashes of ``columns``: 0 when no value repeats."""
    return cur.execute(
        "SELECT count(*) - count(DISTINCT hash(" + columns + ")) FROM " + stage + " WHERE lw__fail IS NULL"
    ).fetchall()[0][0]


def _mark_duplicates(cur: duckdb.DuckDBPyConnection, stage: str, spec: KindSpec) -> None:
    """Reject every later row whose key equals an earlier accepted row's ("duplicate of row N").

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
            + "': expected each row once, got a duplicate of row ",
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
    for table in (*STAGE_TABLES, *repeats, "lw_near", "lw_gaps", "lw_csv_errors", "lw_csv_scans"):
        cur.execute("DROP TABLE IF EXISTS " + table)
    cur.execute("RESET VARIABLE lw_key_range")
