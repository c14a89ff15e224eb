"""Schema of the LabelWatch store (the data model of docs/ARCHITECTURE.md) as an ordered list of migrations.

History is append-only: rows are inserted, never updated or deleted, and current state is derived from
the events. Large tables (``label_events``, ``item_attributes``, ``predictions``, ``suspects``,
``version_labels``) carry no primary-key index: an ART index on tens of millions of rows costs more
memory and import time than it saves. Their uniqueness is enforced by the single in-process writer
(``Store.transaction``) instead; small dimension tables keep their keys.

A migration is a version number and a list of statements; ``migrate`` applies the missing ones in order,
all of them in one transaction together with their ``schema_migrations`` rows: a migration that fails (or
a process killed while migrating) leaves the store as it was, at its old version, which the build that
wrote it still opens.

Before migrating a store that holds anything (not a new, empty file), ``migrate`` copies the file to
``<store>.bak-v<N>`` beside it, N being the store's schema version before the migration (the last copy
made from that version; a copy is written under a temporary name and renamed, so a ``.bak-v<N>`` file is
always whole). The message of a failed migration names the copy.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb

from analytics.store.ratings import REPEATS_SQL

#: Timestamps a reader can hold (pandas' nanosecond range is 1677-2262; Python's is years 1-9999). Imports
#: reject anything outside a plausible window well inside this one; rows written before that check, or by
#: hand, that fall outside it are left out of every read by the live_* views and counted on the Data page.
READABLE_FROM = "1900-01-01"
READABLE_UNTIL = "2200-01-01"

_NOT_RETRACTED = "batch_id NOT IN (SELECT batch_id FROM batch_retractions)"
#: The condition (after a timestamp column) of the times every read sees.
READABLE = "BETWEEN TIMESTAMP '" + READABLE_FROM + "' AND TIMESTAMP '" + READABLE_UNTIL + "'"
#: Retracted imports of items. An events import also writes the bare items it names, but other imports may
#: label them too, so only an items import's retraction takes item rows away.
_RETRACTED_ITEMS = (
    "(SELECT batch_id FROM batch_retractions JOIN ingest_batches USING (batch_id) WHERE kind = 'items')"
)


def _with_history(table: str, history: str, key: str) -> str:
    """Rows of ``table`` not written by a retracted items import, and in place of those that were, the
    newest earlier value (from ``history``) that no retracted import wrote: retracting an enrichment gives
    the values it replaced back."""
    return (
        "SELECT * FROM " + table + " WHERE batch_id NOT IN " + _RETRACTED_ITEMS
        + " UNION ALL SELECT h.* EXCLUDE (superseded_by) FROM " + history + " h "
        "JOIN ingest_batches b ON b.batch_id = h.batch_id "
        "WHERE h.batch_id NOT IN " + _RETRACTED_ITEMS
        + " AND (" + key + ") IN (SELECT (" + key + ") FROM " + table + " WHERE batch_id IN "
        + _RETRACTED_ITEMS + ") QUALIFY row_number() OVER (PARTITION BY " + key
        + " ORDER BY b.created_at DESC, h.batch_id DESC) = 1"
    )


#: What every read sees: the rows of imports that were not retracted, with readable timestamps. Views are
#: bound when queried, so a column added to a table later shows through ``*``.
LIVE_VIEWS = [
    "CREATE VIEW live_label_events AS SELECT * FROM label_events WHERE " + _NOT_RETRACTED
    + " AND labeled_at " + READABLE,
    "CREATE VIEW live_items AS SELECT * REPLACE (CASE WHEN created_at " + READABLE
    + " THEN created_at END AS created_at) FROM (" + _with_history("items", "item_history", "item_id") + ")",
    "CREATE VIEW live_item_attributes AS "
    + _with_history("item_attributes", "item_attribute_history", "item_id, key"),
    "CREATE VIEW live_gold_labels AS SELECT * FROM gold_labels WHERE " + _NOT_RETRACTED,
    "CREATE VIEW live_predictions AS SELECT * FROM predictions WHERE " + _NOT_RETRACTED,
    "CREATE VIEW live_guidelines AS SELECT * FROM guidelines WHERE " + _NOT_RETRACTED
    + " AND effective_at " + READABLE,
]

MIGRATIONS: list[tuple[int, list[str]]] = [
    (
        1,
        [
            """CREATE TABLE ingest_batches (
                batch_id VARCHAR PRIMARY KEY,
                kind VARCHAR NOT NULL,
                source VARCHAR NOT NULL,
                file_sha256 VARCHAR NOT NULL,
                rows_in BIGINT NOT NULL,
                rows_accepted BIGINT NOT NULL,
                rows_rejected BIGINT NOT NULL,
                created_by VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL
            )""",
            """CREATE TABLE ingest_rejects (
                batch_id VARCHAR NOT NULL,
                row_number BIGINT,
                column_name VARCHAR,
                raw JSON,
                reason VARCHAR NOT NULL
            )""",
            """CREATE TABLE items (
                item_id VARCHAR NOT NULL,
                dataset VARCHAR NOT NULL,
                split VARCHAR,
                created_at TIMESTAMP,
                text VARCHAR,
                media_ref VARCHAR,
                features FLOAT[],
                batch_id VARCHAR NOT NULL
            )""",
            """CREATE TABLE item_attributes (
                item_id VARCHAR NOT NULL,
                key VARCHAR NOT NULL,
                value VARCHAR,
                batch_id VARCHAR NOT NULL
            )""",
            """CREATE TABLE annotators (
                annotator_id VARCHAR PRIMARY KEY,
                cohort VARCHAR,
                source VARCHAR,
                batch_id VARCHAR NOT NULL
            )""",
            """CREATE TABLE label_events (
                event_id BIGINT NOT NULL,
                item_id VARCHAR NOT NULL,
                annotator_id VARCHAR NOT NULL,
                label VARCHAR NOT NULL,
                labeled_at TIMESTAMP NOT NULL,
                guideline_version VARCHAR,
                confidence DOUBLE,
                duration_s DOUBLE,
                campaign_id VARCHAR,
                batch_id VARCHAR NOT NULL
            )""",
            """CREATE TABLE label_schema (
                label VARCHAR PRIMARY KEY,
                parent VARCHAR,
                description VARCHAR,
                batch_id VARCHAR NOT NULL
            )""",
            """CREATE TABLE guidelines (
                version VARCHAR PRIMARY KEY,
                effective_at TIMESTAMP NOT NULL,
                summary VARCHAR,
                batch_id VARCHAR NOT NULL
            )""",
            """CREATE TABLE gold_labels (
                item_id VARCHAR NOT NULL,
                label VARCHAR NOT NULL,
                source VARCHAR,
                batch_id VARCHAR NOT NULL
            )""",
            """CREATE TABLE predictions (
                item_id VARCHAR NOT NULL,
                model_version VARCHAR NOT NULL,
                label VARCHAR NOT NULL,
                prob DOUBLE NOT NULL,
                batch_id VARCHAR NOT NULL
            )""",
            """CREATE TABLE detection_runs (
                run_id VARCHAR PRIMARY KEY,
                created_at TIMESTAMP NOT NULL,
                created_by VARCHAR,
                params JSON,
                model_version VARCHAR
            )""",
            """CREATE TABLE suspects (
                run_id VARCHAR NOT NULL,
                item_id VARCHAR NOT NULL,
                given_label VARCHAR,
                suggested_label VARCHAR,
                score DOUBLE,
                signals JSON,
                cluster_id VARCHAR
            )""",
            """CREATE TABLE campaigns (
                campaign_id VARCHAR PRIMARY KEY,
                name VARCHAR NOT NULL,
                owner VARCHAR,
                created_at TIMESTAMP NOT NULL,
                due_at TIMESTAMP,
                status VARCHAR NOT NULL
            )""",
            """CREATE TABLE campaign_items (
                campaign_id VARCHAR NOT NULL,
                item_id VARCHAR NOT NULL,
                assignee VARCHAR
            )""",
            """CREATE TABLE remediation_actions (
                action_id VARCHAR PRIMARY KEY,
                item_id VARCHAR NOT NULL,
                action VARCHAR NOT NULL,
                from_label VARCHAR,
                to_label VARCHAR,
                actor VARCHAR NOT NULL,
                rationale VARCHAR,
                evidence JSON,
                policy VARCHAR,
                run_id VARCHAR,
                campaign_id VARCHAR,
                created_at TIMESTAMP NOT NULL
            )""",
            """CREATE TABLE dataset_versions (
                version_id VARCHAR PRIMARY KEY,
                parent_id VARCHAR,
                created_at TIMESTAMP NOT NULL,
                created_by VARCHAR NOT NULL,
                note VARCHAR
            )""",
            """CREATE TABLE version_labels (
                version_id VARCHAR NOT NULL,
                item_id VARCHAR NOT NULL,
                label VARCHAR,
                provenance VARCHAR
            )""",
            """CREATE TABLE demo_truth (
                item_id VARCHAR NOT NULL,
                true_label VARCHAR NOT NULL
            )""",
            """CREATE TABLE demo_annotator_truth (
                annotator_id VARCHAR NOT NULL,
                role VARCHAR NOT NULL,
                accuracy DOUBLE,
                note VARCHAR
            )""",
            """CREATE TABLE store_meta (
                key VARCHAR PRIMARY KEY,
                value VARCHAR
            )""",
        ],
    ),
    (
        2,
        [
            # Derived state, maintained at commit (``batches._write_events``): the (item, annotator) pairs
            # with more than one event. A rating is the latest event of its pair, so every other event is a
            # rating as it stands and readers group only these pairs (``analytics.store.ratings``).
            """CREATE TABLE rating_repeats (
                item_id VARCHAR NOT NULL,
                annotator_id VARCHAR NOT NULL,
                batch_id VARCHAR NOT NULL
            )""",
            "INSERT INTO rating_repeats " + REPEATS_SQL,
        ],
    ),
    (
        3,
        [
            # A detection run's suspects carry their rank, whether the combined consensus disagrees with
            # the given label, and the evidence in words, so a page of a million-item run is one indexed
            # sort; clusters and the annotators' reliability are stored with the run they belong to.
            "ALTER TABLE suspects ADD COLUMN rank INTEGER",
            "ALTER TABLE suspects ADD COLUMN flagged BOOLEAN",
            "ALTER TABLE suspects ADD COLUMN explanation VARCHAR",
            """CREATE TABLE suspect_clusters (
                run_id VARCHAR NOT NULL,
                cluster_id VARCHAR NOT NULL,
                pattern VARCHAR NOT NULL,
                given_label VARCHAR,
                suggested_label VARCHAR,
                size BIGINT NOT NULL,
                mean_score DOUBLE,
                representative_item VARCHAR,
                summary JSON
            )""",
            """CREATE TABLE run_annotators (
                run_id VARCHAR NOT NULL,
                annotator_id VARCHAR NOT NULL,
                skill DOUBLE,
                n_ratings BIGINT
            )""",
            # Items sent to review from the Suspects page, until the remediation workflow's queue takes
            # them over: append-only like every history table.
            """CREATE TABLE review_requests (
                request_id VARCHAR NOT NULL,
                item_id VARCHAR NOT NULL,
                run_id VARCHAR,
                cluster_id VARCHAR,
                requested_by VARCHAR NOT NULL,
                requested_at TIMESTAMP NOT NULL,
                note VARCHAR
            )""",
        ],
    ),
    (
        4,
        [
            # Items can be enriched after they arrived: an items file imported after the events that
            # created bare items adds their columns and slice attributes, and a later file may change them.
            # ``items`` and ``item_attributes`` keep the values every read sees (the latest); a value that
            # is replaced moves here first, as it was, with the batch that replaced it (``superseded_by``;
            # who and when are on that batch). These tables are only ever appended to.
            """CREATE TABLE item_history (
                item_id VARCHAR NOT NULL,
                dataset VARCHAR NOT NULL,
                split VARCHAR,
                created_at TIMESTAMP,
                text VARCHAR,
                media_ref VARCHAR,
                features FLOAT[],
                batch_id VARCHAR NOT NULL,
                superseded_by VARCHAR NOT NULL
            )""",
            """CREATE TABLE item_attribute_history (
                item_id VARCHAR NOT NULL,
                key VARCHAR NOT NULL,
                value VARCHAR,
                batch_id VARCHAR NOT NULL,
                superseded_by VARCHAR NOT NULL
            )""",
        ],
    ),
    (
        5,
        [
            # An import that should never have happened is retracted, not deleted: one row per retracted
            # batch says who did it, when and why, and every read goes through the live_* views below,
            # which leave the batch's rows out. Re-importing the file afterwards is a new batch.
            """CREATE TABLE batch_retractions (
                batch_id VARCHAR PRIMARY KEY,
                retracted_by VARCHAR NOT NULL,
                retracted_at TIMESTAMP NOT NULL,
                reason VARCHAR NOT NULL
            )""",
            *LIVE_VIEWS,
        ],
    ),
    (
        6,
        [
            # What a run concludes about each item: 'mislabeled' (its annotators agree and the evidence
            # favours another label), 'no_consensus' (no label holds a strict majority of its ratings: it
            # needs adjudication) or 'ok'. The page filters and counts by it on runs of millions of items.
            "ALTER TABLE suspects ADD COLUMN status VARCHAR",
            # Runs stored before the column existed get the status their own stored signals imply (a
            # derived column filled once, not a change to any recorded fact): their given label had a
            # strict majority when it held more than half of the item's ratings.
            """UPDATE suspects SET status = CASE
                WHEN 2 * (signals->>'votes_given')::BIGINT <= (signals->>'n_ratings')::BIGINT
                    THEN 'no_consensus'
                WHEN flagged THEN 'mislabeled' ELSE 'ok' END""",
        ],
    ),
    (
        7,
        [
            # The remediation workflow (analytics.remediation). Actions are append-only: ``seq`` orders
            # them (the audit log replays in this order), a revert names the action it undoes, a relabel
            # that needs a second reviewer says so, and each carries the role its actor held and the
            # review request it answered.
            "CREATE SEQUENCE remediation_seq START 1",
            "ALTER TABLE remediation_actions ADD COLUMN seq BIGINT",
            "ALTER TABLE remediation_actions ADD COLUMN reverts VARCHAR",
            "ALTER TABLE remediation_actions ADD COLUMN second_review BOOLEAN",
            "ALTER TABLE remediation_actions ADD COLUMN actor_role VARCHAR",
            "ALTER TABLE remediation_actions ADD COLUMN review_id VARCHAR",
            # A version is the resolved labels as of the actions up to ``seq``; a rollback names the
            # version it restores. Its labels say where each came from (``provenance``: consensus, no
            # consensus, or the kind and source of the action) and which action set it.
            "ALTER TABLE dataset_versions ADD COLUMN seq BIGINT",
            "ALTER TABLE dataset_versions ADD COLUMN rollback_of VARCHAR",
            "ALTER TABLE dataset_versions ADD COLUMN items BIGINT",
            "ALTER TABLE version_labels ADD COLUMN excluded BOOLEAN",
            "ALTER TABLE version_labels ADD COLUMN action_id VARCHAR",
        ],
    ),
    (
        8,
        [
            # Relabel campaigns (analytics.remediation.campaigns): who created one, from what (a cluster,
            # a slice, a selection, in words), the detection run it came from and how many labels each
            # item should get. Each assignment (one row per item and assignee) keeps the item's resolved
            # label when the campaign began and the suggested label it was exported with, so the campaign
            # can say which items its labels changed.
            "ALTER TABLE campaigns ADD COLUMN created_by VARCHAR",
            "ALTER TABLE campaigns ADD COLUMN source VARCHAR",
            "ALTER TABLE campaigns ADD COLUMN run_id VARCHAR",
            "ALTER TABLE campaigns ADD COLUMN labels_per_item INTEGER",
            "ALTER TABLE campaigns ADD COLUMN note VARCHAR",
            "ALTER TABLE campaign_items ADD COLUMN label_before VARCHAR",
            "ALTER TABLE campaign_items ADD COLUMN suggested_label VARCHAR",
        ],
    ),
    (
        9,
        [
            # Impact analyses (analytics.impact): one before/after comparison of two arms (dataset
            # versions, or two imported prediction sets), its parameters (model, seed, evaluation set) and
            # its result as JSON, so the Impact page and the report read it without recomputing.
            """CREATE TABLE impact_runs (
                impact_id VARCHAR PRIMARY KEY,
                created_at TIMESTAMP NOT NULL,
                created_by VARCHAR NOT NULL,
                kind VARCHAR NOT NULL,
                arm_a VARCHAR NOT NULL,
                arm_b VARCHAR NOT NULL,
                params JSON,
                result JSON NOT NULL
            )""",
        ],
    ),
    (
        10,
        [
            # What confident learning ran on in a detection run, so the run can be exported in cleanlab's
            # form (analytics.detection.export): one row per item with a model opinion, in the order
            # cleanlab saw them (``row``), the label the run held (its given label, else the Dawid–Skene
            # label) and the model's out-of-sample probabilities in the order of the run's classes
            # (``detection_runs.params->'classes'``). Runs stored before have no rows here.
            """CREATE TABLE run_pred_probs (
                run_id VARCHAR NOT NULL,
                row BIGINT NOT NULL,
                item_id VARCHAR NOT NULL,
                label VARCHAR NOT NULL,
                consensus BOOLEAN NOT NULL,
                pred_probs DOUBLE[] NOT NULL
            )""",
        ],
    ),
    (
        11,
        [
            # Reads of the annotators and of the repeated (item, annotator) pairs go through views too, so
            # a store bound to a Parquet lake (analytics.store.lake) points them at the lake's files, as it
            # does every other live_* view; the lake's repeated pairs are derived state kept here, rebuilt
            # whenever the lake's files change.
            "CREATE VIEW live_annotators AS SELECT * FROM annotators",
            "CREATE VIEW live_rating_repeats AS SELECT item_id, annotator_id FROM rating_repeats",
            """CREATE TABLE lake_rating_repeats (
                item_id VARCHAR NOT NULL,
                annotator_id VARCHAR NOT NULL
            )""",
        ],
    ),
]

#: The schema version this code expects.
LATEST_VERSION = MIGRATIONS[-1][0]


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    """Return the highest applied migration, 0 for a new file."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'schema_migrations'"
    ).fetchone()[0]
    if not exists:
        return 0
    return con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()[0]


class MigrationError(RuntimeError):
    """A migration that failed and was rolled back: the store is at its old version, ``backup`` the copy
    made before (None for a store in memory or one that held nothing)."""

    def __init__(self, message: str, *, backup: Path | None) -> None:
        super().__init__(message)
        self.backup = backup


def backup_path(path: str | Path, version: int) -> Path:
    """Where the copy of the store ``path`` at schema ``version`` is made before migrating it.

    Examples
    --------
    >>> backup_path("/data/labelwatch.duckdb", 11).name
    'labelwatch.duckdb.bak-v11'
    """
    path = Path(path)
    return path.with_name(f"{path.name}.bak-v{version}")


def _applied(con: duckdb.DuckDBPyConnection) -> set[int]:
    if not _tables(con, "schema_migrations"):
        return set()
    return {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}


def _tables(con: duckdb.DuckDBPyConnection, name: str | None = None) -> int:
    """How many tables and views the store's own database holds (named ``name`` when given)."""
    return con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_catalog = current_database() "
        "AND (? IS NULL OR table_name = ?)", [name, name]).fetchone()[0]


def _back_up(con: duckdb.DuckDBPyConnection, version: int) -> Path | None:
    """Copy the store's file (and its write-ahead log, if one is left) to ``backup_path`` and return it;
    None for a store in memory. The checkpoint first writes every committed change into the file."""
    file = con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
                       ).fetchone()[0]
    if not file:
        return None
    con.execute("CHECKPOINT")
    target = backup_path(file, version)
    for source, copy in ((Path(file), target), (Path(file + ".wal"), Path(str(target) + ".wal"))):
        if source.exists():
            partial = copy.with_name(copy.name + ".partial")
            shutil.copyfile(source, partial)
            os.replace(partial, copy)
        elif copy.exists():
            copy.unlink()  # a log left by an earlier copy does not belong to this one
    return target


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply every migration the store lacks, in order and in one transaction; return the versions applied.

    Missing versions are found by set, not by the highest one applied, so a store migrated by a build that
    had a later migration but not an earlier one still gets the earlier one. A store that holds anything is
    copied to ``backup_path(store, version)`` first.

    Raises
    ------
    MigrationError
        A migration failed; nothing was applied (the message names the version and the copy).
    """
    have = _applied(con)
    pending = [(version, statements) for version, statements in MIGRATIONS if version not in have]
    if not pending:
        return []
    old = max(have, default=0)
    backup = _back_up(con, old) if _tables(con) else None
    con.execute("BEGIN TRANSACTION")
    version = None
    try:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)"
        )
        for version, statements in pending:
            for statement in statements:
                con.execute(statement)
            con.execute(
                "INSERT INTO schema_migrations VALUES (?, ?)",
                [version, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
            )
        con.execute("COMMIT")
    except duckdb.Error as exc:
        con.execute("ROLLBACK")
        kept = f"A copy made before migrating is at {backup}." if backup else "No copy was needed."
        raise MigrationError(
            f"Migration {version} of the store failed ({exc}); nothing was changed: the store is still at "
            f"schema version {old}, which the LabelWatch that wrote it opens. {kept}", backup=backup,
        ) from exc
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return [version for version, _ in pending]
