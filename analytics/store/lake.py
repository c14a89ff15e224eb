"""A Parquet lake read in place: the store's ``live_*`` views over a folder of Parquet files.

A lake is a folder with one subfolder per kind of fact (``LAYOUT``), each holding Parquet files at any
depth, hive partitions allowed (``events/month=2026-11/part-0.parquet``). Nothing is imported: the store
bound to a lake (``bind``) defines its ``live_*`` views over ``read_parquet`` of those folders, so every page
query, which reads only the views, runs on the files unchanged, and a file added to a folder is read by the
next query.

What stays in the store file beside it: the workflow's tables (detection runs, review, actions, versions,
campaigns, impact analyses, the audit trail) and the small dimensions with no lake folder (the label
vocabulary and the guideline versions, imported with ``ingest``). A store reads either its own imported
facts or one lake, never both: binding a store that holds imported events, items, gold labels or
predictions is refused (``check_bindable``), and so are such imports into a bound store (``IMPORTABLE``,
checked by ``analytics.ingest.pipeline``).

Derived state of the lake, kept in the store and rebuilt whenever the lake's files change (``bind``), so
that a page reads a small table where it would otherwise scan every file:

- ``lake_rating_repeats``, the (item, annotator) pairs with more than one event, which every ratings query
  reads (``analytics.store.ratings``), and ``lake_repeat_events``, those pairs' events, which the
  test–retest pairs read (``analytics.store.drift.retest_windows``);
- ``lake_event_days``, the events counted per (day, annotator, label, guideline version) with their first
  and last time (``analytics.store.filters.DAYS``): the totals, activity, label and window counts of a
  filter on dates and cohorts, which needs no item, read it (1.7e6 rows at 1e8 events);
- ``lake_item_sketch``, HyperLogLog registers of the items per (day, annotator cohort)
  (``analytics.core.hyperloglog``, 6.7e6 rows at 1e8 events), merged into the estimated items per period
  and cohort of the Overview's activity chart, which would otherwise hash every event's item id;
- ``lake_attribute_days``, the events counted per slice attribute value and (day, annotator, label,
  guideline version), for the attributes of at most ``filters.ROLLED_VALUES`` values: what the day rollup
  gives a filter on dates and cohorts, it gives one on such an attribute's value too; and
  ``lake_attribute_sketch``, the item sketch of each such value's items, for the activity chart's items
  under a slice filter;
- ``lake_attribute_values``, the slice attributes' values with their items, which the filter widgets and
  the slice cube's attribute dictionary read;
- for a lake of at least twice ``BASE_SAMPLE_EVENTS`` events, its base sample ``lake_sample_events``:
  every event of the items with ``hash(item_id) % b = 0``, b the lake's events // ``BASE_SAMPLE_EVENTS``
  (about that many events), and those items' slice attributes, ``lake_sample_attributes``. The pages' item
  samples (``analytics.core.sampling``) are then multiples of b and read them instead of every file.

Which of them the store holds, and b, are kept in ``store_meta`` (``lake_derived``, read by ``derived``;
``Store.sample_base``, ``Store.lake_tables``, ``Store.rolled_attributes``). At 1e8 events, deriving them all
takes about 120 s (20 s at 1e7; ``bench/README.md``).

A large imported store (5e6 live events and more) derives the same tables from its own ``live_*`` views
(``derive`` with the imported data they reflect, ``Store.refresh_derived``) and reads them only while that
data is unchanged.

Which files the lake held when it was last read is its fingerprint (every file's path, size and
modification time), kept in ``store_meta`` with the lake's path.

Assumptions: every file of a folder has that folder's columns or a subset (missing optional columns read as
NULL; columns not in ``LAYOUT``, and partition columns, are ignored); timestamps are UTC wall-clock time, as
in an imported store; files are not rewritten in place while a query reads them (add new files, and remove
old ones, as lake tools do).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import duckdb

from analytics.core import hyperloglog, sampling
from analytics.store.filters import (
    ATTRIBUTE_DAYS,
    ATTRIBUTE_SKETCH,
    ATTRIBUTE_VALUES,
    BASE_SAMPLE,
    BASE_SAMPLE_ATTRIBUTES,
    DAYS,
    ITEM_SKETCH,
    REPEAT_EVENTS,
    ROLLED_VALUES,
)
from analytics.store.migrations import READABLE


class Folder(NamedTuple):
    """A lake folder: the store table it stands in for, the view every read goes through, and its columns
    ``(name, SQL type, required)``: those of the table, in its order (``batch_id`` is the constant
    ``'lake'``)."""

    table: str
    view: str
    columns: list[tuple[str, str, bool]]


#: The lake's folders by name.
LAYOUT: dict[str, Folder] = {
    "events": Folder("label_events", "live_label_events", [
        ("event_id", "BIGINT", False), ("item_id", "VARCHAR", True), ("annotator_id", "VARCHAR", True),
        ("label", "VARCHAR", True), ("labeled_at", "TIMESTAMP", True),
        ("guideline_version", "VARCHAR", False),
        ("confidence", "DOUBLE", False), ("duration_s", "DOUBLE", False), ("campaign_id", "VARCHAR", False),
    ]),
    "items": Folder("items", "live_items", [
        ("item_id", "VARCHAR", True), ("dataset", "VARCHAR", True), ("split", "VARCHAR", False),
        ("created_at", "TIMESTAMP", False), ("text", "VARCHAR", False), ("media_ref", "VARCHAR", False),
        ("features", "FLOAT[]", False),
    ]),
    "item_attributes": Folder("item_attributes", "live_item_attributes", [
        ("item_id", "VARCHAR", True), ("key", "VARCHAR", True), ("value", "VARCHAR", False),
    ]),
    "gold": Folder("gold_labels", "live_gold_labels", [
        ("item_id", "VARCHAR", True), ("label", "VARCHAR", True), ("source", "VARCHAR", False),
    ]),
    "predictions": Folder("predictions", "live_predictions", [
        ("item_id", "VARCHAR", True), ("model_version", "VARCHAR", True), ("label", "VARCHAR", True),
        ("prob", "DOUBLE", True),
    ]),
    "annotators": Folder("annotators", "live_annotators", [
        ("annotator_id", "VARCHAR", True), ("cohort", "VARCHAR", False), ("source", "VARCHAR", False),
    ]),
}

#: The store tables a lake stands in for: a store holding rows in any of them cannot be bound to a lake.
FACT_TABLES = tuple(folder.table for folder in LAYOUT.values())

#: Input kinds a store bound to a lake still imports (small dimensions the lake has no folder for).
IMPORTABLE = ("vocabulary", "guidelines")

#: The batch every lake row belongs to (lake rows cannot be retracted: remove the file instead).
LAKE_BATCH = "lake"


class LakeError(ValueError):
    """A lake folder that cannot be read as one: the message names the folder or file and what is wrong."""


@dataclass(frozen=True)
class Lake:
    """A lake folder and what it held when listed.

    Attributes
    ----------
    root : Path
        The lake folder (absolute).
    files : dict of str to tuple of str
        Folder of ``LAYOUT`` → its Parquet files, sorted (absent folders and folders without files are
        left out).
    fingerprint : str
        SHA-256 of every file's relative path, size and modification time: it changes when a file is
        added, removed or rewritten.
    """

    root: Path
    files: dict[str, tuple[str, ...]]
    fingerprint: str

    @property
    def n_files(self) -> int:
        return sum(len(paths) for paths in self.files.values())

    def describe(self) -> str:
        """One line for people: where the lake is and how many files of each kind it has."""
        parts = [f"{len(paths):,} {folder}" for folder, paths in self.files.items()]
        return f"{self.root} ({self.n_files:,} Parquet files: " + ", ".join(parts) + ")"


def scan(root: str | Path) -> Lake:
    """List the lake at ``root``.

    Raises
    ------
    LakeError
        ``root`` is not a folder, or it has no Parquet file under ``events/``.
    """
    folder = Path(root).expanduser().resolve()
    if not folder.is_dir():
        others = ", ".join(f + "/" for f in LAYOUT if f != "events")
        raise LakeError(f"No lake at {root}: it is not a folder. A lake is a folder with events/ (and "
                        f"optionally {others}) of Parquet files.")
    files: dict[str, tuple[str, ...]] = {}
    digest = hashlib.sha256()
    for name in LAYOUT:
        found = _parquet_files(str(folder / name)) if (folder / name).is_dir() else []
        if found:
            files[name] = tuple(path for path, _ in found)
        for path, stat in found:
            digest.update(f"{os.path.relpath(path, folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    if "events" not in files:
        raise LakeError(f"The lake {folder} has no Parquet file under events/ (e.g. "
                        "events/month=2026-11/part-0.parquet); it needs at least its label events.")
    return Lake(folder, files, digest.hexdigest())


def _parquet_files(folder: str) -> list[tuple[str, os.stat_result]]:
    """The Parquet files at any depth under ``folder`` with their ``stat``, sorted by path; symbolic links
    to folders are not followed. ``os.scandir``: a store reading a lake lists it on every ``state()``, a
    quarter of the cost of ``Path.rglob`` (3 ms for 801 files)."""
    found, pending = [], [folder]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                elif entry.name.endswith(".parquet") and entry.is_file():
                    found.append((entry.path, entry.stat()))
    return sorted(found, key=lambda pair: pair[0])


def _literal(text: str) -> str:
    """A SQL string literal (view definitions cannot take parameters)."""
    return "'" + text.replace("'", "''") + "'"


def _source(lake: Lake, folder: str) -> str:
    glob = str(lake.root / folder / "**" / "*.parquet")
    return ("read_parquet(" + _literal(glob) + ", hive_partitioning = true, union_by_name = true)")


def _columns(cur: duckdb.DuckDBPyConnection, lake: Lake, folder: str) -> dict[str, str]:
    """The columns (name → type) the files of ``folder`` hold; raises ``LakeError`` naming an unreadable
    file or a missing required column."""
    try:
        described = cur.execute("DESCRIBE SELECT * FROM " + _source(lake, folder)).fetchall()
    except duckdb.Error as exc:
        bad = _unreadable_file(cur, lake.files[folder])
        raise LakeError(f"Cannot read the lake folder {lake.root / folder}: "
                        f"{bad or str(exc).strip().splitlines()[0]}") from exc
    columns = {row[0]: row[1] for row in described}
    missing = [name for name, _, required in LAYOUT[folder].columns if required and name not in columns]
    if missing:
        raise LakeError(f"The lake folder {lake.root / folder} lacks the column(s) {', '.join(missing)}; its "
                        f"files need {', '.join(n for n, _, r in LAYOUT[folder].columns if r)}.")
    return columns


def _unreadable_file(cur: duckdb.DuckDBPyConnection, paths: tuple[str, ...]) -> str | None:
    for path in paths:
        try:
            cur.execute("SELECT 1 FROM read_parquet(?) LIMIT 0", [path]).fetchall()
        except duckdb.Error as exc:
            return f"{path} is not a readable Parquet file ({str(exc).strip().splitlines()[0]})"
    return None


def _select(lake: Lake, folder: str, present: dict[str, str]) -> str:
    """The view body of one folder: its columns in the store table's order, cast to the store's types."""
    exprs = []
    for name, sql_type, _ in LAYOUT[folder].columns:
        value = ('"' + name + '"') if name in present else "NULL"
        exprs.append("CAST(" + value + " AS " + sql_type + ") AS " + name)
    batch = _literal(LAKE_BATCH) + " AS batch_id"
    return "SELECT " + ", ".join(exprs) + ", " + batch + " FROM " + _source(lake, folder)


def _empty(folder: str) -> str:
    """A view body with the folder's columns and no rows (a folder the lake does not have)."""
    exprs = ["CAST(NULL AS " + sql_type + ") AS " + name for name, sql_type, _ in LAYOUT[folder].columns]
    return "SELECT " + ", ".join(exprs) + ", CAST(NULL AS VARCHAR) AS batch_id WHERE false"


def view_statements(cur: duckdb.DuckDBPyConnection, lake: Lake) -> list[str]:
    """``CREATE OR REPLACE VIEW`` of every ``live_*`` view a lake stands in for, over ``lake``'s files."""
    statements = []
    for folder, (_, view, _) in LAYOUT.items():
        if folder in lake.files:
            body = _select(lake, folder, _columns(cur, lake, folder))
            if folder == "events":
                # the events and times every read sees, as in an imported store
                body = "SELECT * FROM (" + body + ") WHERE labeled_at " + READABLE
            elif folder == "items":
                body = ("SELECT * REPLACE (CASE WHEN created_at " + READABLE
                        + " THEN created_at END AS created_at) FROM (" + body + ")")
        else:
            body = _empty(folder)
        statements.append("CREATE OR REPLACE VIEW " + view + " AS " + body)
    statements.append("CREATE OR REPLACE VIEW live_rating_repeats AS "
                      "SELECT item_id, annotator_id FROM lake_rating_repeats")
    return statements


#: The repeated (item, annotator) pairs of the lake's events, from the view just bound. Pairs are found by a
#: 64-bit hash first (a hash table of 8-byte keys instead of two strings per event), then the events of
#: the repeated hashes give the pairs: a collision adds a pair that does not repeat, which the ratings
#: queries allow (``analytics.store.ratings.ratings_sql``), and cannot leave one out.
REPEATS_SQL = (
    "INSERT INTO lake_rating_repeats SELECT DISTINCT item_id, annotator_id FROM live_label_events "
    "WHERE hash(item_id, annotator_id) IN (SELECT hash(item_id, annotator_id) AS h FROM live_label_events "
    "GROUP BY h HAVING count(*) > 1)"
)


#: The lake's events per (day, annotator, label, guideline version); ``labeled_at`` is the day, so that the
#: filters' date conditions (whole days) select the same events from it as from the events.
DAYS_SQL = (
    "SELECT date_trunc('day', labeled_at) AS labeled_at, annotator_id, label, guideline_version, "
    "count(*) AS events, min(labeled_at) AS first_at, max(labeled_at) AS last_at "
    "FROM live_label_events GROUP BY ALL ORDER BY labeled_at"
)

#: The slice attribute values (of the keys of a list parameter) as small codes ``v(key, value, kv)``, and
#: each item's codes by the 64-bit hash of its id, ``a(h, kv)``: what the events meet their items' values by.
_ATTRIBUTE_CODES = (
    "WITH v AS (SELECT key, value, (row_number() OVER (ORDER BY key, value))::INTEGER AS kv "
    "FROM " + ATTRIBUTE_VALUES + " WHERE list_contains(?, key) AND value IS NOT NULL), "
    "a AS (SELECT DISTINCT hash(t.item_id) AS h, v.kv FROM live_item_attributes t "
    "JOIN v USING (key, value)), "
)

#: The lake's events per slice attribute value (``_ATTRIBUTE_CODES``) and (day, annotator, label, guideline
#: version): an item counts once under each value it has (as ``item_id IN (…)`` of a filter). The events
#: meet their items' values by the 64-bit hash of the item id and each (key, value) as a small code: at 1e8
#: events and 5.7e7 attribute rows that join takes 26 s in 8 GB where one on the strings spilled past the
#: store's 1 GB budget for 140 s. Two items whose ids share a hash would share their values: at 1e8 events,
#: about 3e-4 such events expected.
ATTRIBUTE_DAYS_SQL = (
    _ATTRIBUTE_CODES
    + "x AS (SELECT a.kv, date_trunc('day', e.labeled_at) AS labeled_at, e.annotator_id, e.label, "
    "e.guideline_version, count(*) AS events, min(e.labeled_at) AS first_at, max(e.labeled_at) AS last_at "
    "FROM live_label_events e JOIN a ON a.h = hash(e.item_id) GROUP BY ALL) "
    "SELECT v.key, v.value, x.* EXCLUDE (kv) FROM x JOIN v USING (kv) ORDER BY v.key, v.value, x.labeled_at"
)

_ITEM_REGISTER, _ITEM_RHO = hyperloglog.register_sql("a.h")

#: The item sketch (``SKETCH_SQL``) of each slice attribute value's items, joined as ``ATTRIBUTE_DAYS_SQL``.
ATTRIBUTE_SKETCH_SQL = (
    _ATTRIBUTE_CODES
    + "x AS (SELECT a.kv, date_trunc('day', e.labeled_at) AS labeled_at, c.cohort, "
    + _ITEM_REGISTER + " AS register, max(" + _ITEM_RHO + ") AS rho FROM live_label_events e "
    "JOIN a ON a.h = hash(e.item_id) LEFT JOIN live_annotators c USING (annotator_id) GROUP BY ALL) "
    "SELECT v.key, v.value, x.* EXCLUDE (kv) FROM x JOIN v USING (kv) "
    "ORDER BY v.key, v.value, x.labeled_at, x.cohort, x.register"
)

#: The memory budget of building the attribute rollup (at most half the machine's memory), above the
#: store's own (``analytics.store.connection.DEFAULT_MEMORY_LIMIT``) for that one statement.
ROLLUP_MEMORY = 8 * 2**30


def _rollup_memory() -> str:
    try:
        half = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2
    except (ValueError, OSError, AttributeError):
        half = ROLLUP_MEMORY
    return f"{min(ROLLUP_MEMORY, half) // 2**20}MB"


_REGISTER, _RHO = hyperloglog.register_sql("hash(e.item_id)")

#: The HyperLogLog registers of the lake's items per (day, annotator cohort) (``analytics.core.hyperloglog``):
#: a row per register that some item reached, its largest ``rho``. ``cohort`` is NULL for annotators with
#: none, as in the events' join to ``live_annotators``. Ordered by day, for date filters.
SKETCH_SQL = (
    "SELECT date_trunc('day', e.labeled_at) AS labeled_at, a.cohort, " + _REGISTER + " AS register, "
    "max(" + _RHO + ") AS rho FROM live_label_events e LEFT JOIN live_annotators a USING (annotator_id) "
    "GROUP BY ALL ORDER BY labeled_at, a.cohort, register"
)

#: A lake's base sample holds about this many events (``bind``).
BASE_SAMPLE_EVENTS = 10 * sampling.SAMPLE_EVENTS


def base_modulus(events: int) -> int:
    """The modulus b of a lake's base sample for ``events`` events; 1: too few events to keep one.

    Examples
    --------
    >>> base_modulus(4_999_999), base_modulus(5_000_000), base_modulus(100_000_000)
    (1, 2, 40)
    """
    base = events // BASE_SAMPLE_EVENTS
    return base if base >= 2 else 1


#: The version of the derived tables ``bind`` makes: a store bound by a build that made fewer (an earlier
#: version) derives them again when it is next opened for writing.
DERIVED_VERSION = 7


def derived(cur: duckdb.DuckDBPyConnection, content: str | None = None) -> dict | None:
    """What ``derive`` recorded (``sample_base``: the base sample's modulus, 1 for none; ``attribute_keys``:
    the attributes of the attribute rollup) when the store holds this build's derived tables, derived from
    ``content``; None when they were never derived, by an earlier build, or from other data."""
    row = cur.execute("SELECT value FROM store_meta WHERE key = 'lake_derived'").fetchone()
    if row is None:
        return None
    record = json.loads(row[0])
    current = record.get("version") == DERIVED_VERSION and record.get("content") == content
    return record if current else None


def bound(cur: duckdb.DuckDBPyConnection) -> dict[str, str] | None:
    """The lake the store is bound to (``{"path": …, "fingerprint": …}``), or None."""
    row = cur.execute("SELECT value FROM store_meta WHERE key = 'lake'").fetchone()
    return None if row is None else json.loads(row[0])


def check_bindable(cur: duckdb.DuckDBPyConnection, store_path: str) -> None:
    """Raise ``LakeError`` when the store holds imported facts (it reads its own or a lake's, never both)."""
    held = [t for t in FACT_TABLES if cur.execute("SELECT EXISTS (FROM " + t + ")").fetchone()[0]]
    if held:
        raise LakeError(
            f"The store {store_path} holds imported {', '.join(held)}; a store reads either its own imports "
            "or one lake, never both. Point --db / LABELWATCH_DB at a new store file for the lake."
        )


def bind(cur: duckdb.DuckDBPyConnection, lake: Lake, *, memory_limit: str | None = "1GB") -> None:
    """Inside the caller's transaction: point the ``live_*`` views at ``lake``, derive its tables again
    (``derive``) and record the lake and its fingerprint in ``store_meta``."""
    for statement in view_statements(cur, lake):
        cur.execute(statement)
    cur.execute("DELETE FROM lake_rating_repeats")
    cur.execute(REPEATS_SQL)
    derive(cur, memory_limit=memory_limit)
    record = json.dumps({"path": str(lake.root), "fingerprint": lake.fingerprint})
    cur.execute("INSERT OR REPLACE INTO store_meta VALUES ('lake', ?)", [record])


#: Every table ``derive`` makes.
DERIVED_TABLES = (REPEAT_EVENTS, DAYS, ITEM_SKETCH, BASE_SAMPLE, ATTRIBUTE_VALUES, ATTRIBUTE_DAYS,
                  ATTRIBUTE_SKETCH, BASE_SAMPLE_ATTRIBUTES)


def derive(cur: duckdb.DuckDBPyConnection, content: str | None = None, *,
           memory_limit: str | None = "1GB") -> int:
    """Inside the caller's transaction: build the derived tables (the module's docstring) from the store's
    ``live_*`` views, and record in ``store_meta`` what was derived: this build's ``DERIVED_VERSION``, the
    base sample's modulus b (returned; 1: none) and ``content``, the imported data they were derived from
    (``analytics.store.connection.Store.refresh_derived``; None for a lake, whose fingerprint says it).
    ``memory_limit`` is the store's DuckDB memory budget, restored after the attribute rollup's larger one."""
    cur.execute("CREATE OR REPLACE TABLE " + REPEAT_EVENTS + " AS SELECT e.* FROM live_label_events e "
                "SEMI JOIN live_rating_repeats r USING (item_id, annotator_id)")
    cur.execute("CREATE OR REPLACE TABLE " + DAYS + " AS " + DAYS_SQL)
    cur.execute("CREATE OR REPLACE TABLE " + ITEM_SKETCH + " AS " + SKETCH_SQL)
    base = base_modulus(cur.execute("SELECT sum(events) FROM " + DAYS).fetchone()[0] or 0)
    # ordered by time, so that a date filter skips most of its row groups
    cur.execute("CREATE OR REPLACE TABLE " + BASE_SAMPLE + " AS SELECT * FROM live_label_events "
                "WHERE hash(item_id) % ?::UBIGINT = 0 AND ? > 1 ORDER BY labeled_at", [base, base])
    cur.execute("CREATE OR REPLACE TABLE " + ATTRIBUTE_VALUES + " AS SELECT key, value, count(*) AS n "
                "FROM live_item_attributes GROUP BY ALL ORDER BY key, value")
    rolled = [key for (key,) in cur.execute(
        "SELECT key FROM " + ATTRIBUTE_VALUES + " GROUP BY key HAVING count(value) <= ? ORDER BY key",
        [ROLLED_VALUES]).fetchall()]
    cur.execute("SET memory_limit = '" + _rollup_memory() + "'")
    try:
        cur.execute("CREATE OR REPLACE TABLE " + ATTRIBUTE_DAYS + " AS " + ATTRIBUTE_DAYS_SQL, [rolled])
        cur.execute("CREATE OR REPLACE TABLE " + ATTRIBUTE_SKETCH + " AS " + ATTRIBUTE_SKETCH_SQL, [rolled])
    finally:  # the store's own budget again (DuckDB's default when it set none)
        cur.execute("RESET memory_limit" if memory_limit is None
                    else "SET memory_limit = '" + memory_limit.replace("'", "") + "'")
    cur.execute("CREATE OR REPLACE TABLE " + BASE_SAMPLE_ATTRIBUTES + " AS SELECT * "
                "FROM live_item_attributes WHERE hash(item_id) % ?::UBIGINT = 0 AND ? > 1", [base, base])
    derived = json.dumps({"version": DERIVED_VERSION, "sample_base": base, "content": content,
                          "attribute_keys": rolled})
    cur.execute("INSERT OR REPLACE INTO store_meta VALUES ('lake_derived', ?)", [derived])
    return base


def underive(cur: duckdb.DuckDBPyConnection) -> None:
    """Inside the caller's transaction: drop the derived tables and their record (an imported store that
    no longer needs them, or whose data changed since)."""
    for table in DERIVED_TABLES:
        cur.execute("DROP TABLE IF EXISTS " + table)
    cur.execute("DELETE FROM store_meta WHERE key = 'lake_derived'")
