"""Where an import's rows come from, as a relation DuckDB can read: a CSV file (with its layout), a Parquet
file or an Arrow table (JSON lines, Label Studio, Labelbox), with each row's original values kept as
``lw__source`` for its reject; and the reshaping of a source before staging (wide prediction columns, feature
columns, a user's column mapping).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from analytics.ingest.csv_scan import MAX_RECORD_BYTES, CsvLayout
from analytics.store.validation import (
    FEATURE_COLUMN_PATTERN,
    WIDE_PROB_PATTERN,
)

_CSV_READER = (
    "read_csv(?, auto_detect = false, header = true, delim = ?, quote = '\"', escape = '\"', columns = ?, "
    "max_line_size = ?, strict_mode = true, store_rejects = true, rejects_table = 'lw_csv_errors', "
    "rejects_scan = 'lw_csv_scans')"
)
_ARROW_VIEWS = {"lw_stage": "lw_arrow", "lw_aux": "lw_arrow_aux"}


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'



@dataclass(frozen=True)
class Source:
    """A relation yielding ``lw__row`` and the source's own columns (SQL text with its parameters)."""

    sql: str
    params: tuple
    reader: str  # csv | parquet | arrow
    layout: CsvLayout | None = None  # csv: the file's dialect and the lines that hold no record
    unit: str = "row"  # what lw__row counts: "line" (CSV, JSON lines) or "row"


def csv_source(layout: CsvLayout) -> Source:
    """Read the CSV file of ``layout`` with its dialect; ``lw__row`` is the record's line when no line
    before it is a gap (``build_stage`` moves it past the gaps)."""
    columns = {name: "VARCHAR" for name in layout.columns}
    return Source(
        "(SELECT row_number() OVER () + 1 AS lw__row, * FROM " + _CSV_READER + ")",
        (str(layout.path), layout.delimiter, columns, MAX_RECORD_BYTES),
        "csv",
        layout,
        "line",
    )


def parquet_source(path: str) -> Source:
    return Source(
        "(SELECT file_row_number + 1 AS lw__row, * EXCLUDE (file_row_number) "
        "FROM read_parquet(?, file_row_number = true))",
        (path,),
        "parquet",
    )


def arrow_source(cur: duckdb.DuckDBPyConnection, table: pa.Table, stage: str, unit: str = "row") -> Source:
    """Register ``table`` on ``cur``; a ``lw__row`` column in it (JSONL line numbers: ``unit="line"``) is
    kept as is."""
    view = _ARROW_VIEWS[stage]
    cur.register(view, table)
    if "lw__row" in table.column_names:
        return Source("(SELECT * FROM " + view + ")", (), "arrow", unit=unit)
    return Source("(SELECT row_number() OVER () AS lw__row, * FROM " + view + ")", (), "arrow", unit=unit)


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
    return dataclasses.replace(source, sql=sql)


def feature_columns(source: Source) -> Source:
    """Add ``lw__features``: the CSV columns f0..fN / feature_0..N as one list, in file order."""
    sql = (
        "(SELECT *, list_value(*COLUMNS('"
        + FEATURE_COLUMN_PATTERN
        + "')) AS lw__features FROM "
        + source.sql
        + ")"
    )
    return dataclasses.replace(source, sql=sql)


def renamed(source: Source, mapping: dict[str, str], columns: dict[str, str]) -> Source:
    """``source`` with its columns renamed by ``mapping`` (file column -> store column).

    Both sides are allow-listed: every key must be one of the source's ``columns``, every value a name the
    caller took from ``analytics.core.schema``; the file's names are quoted.
    """
    unknown = [name for name in mapping if name not in columns]
    if unknown:
        raise ValueError(f"no column {unknown[0]!r} in the file")
    if not mapping:
        return source
    renames = ", ".join(_quoted(old) + " AS " + new for old, new in mapping.items())
    return dataclasses.replace(source, sql="(SELECT * RENAME (" + renames + ") FROM " + source.sql + ")")
