"""Test stores written the way users write them: through the import pipeline, with named columns.

Each ``add_*`` function imports its rows as one batch of one input kind (``analytics.ingest.pipeline.ingest``
on a DataFrame), so a test store gets what an import gives it: the batch row, the items and annotators
that events name, event ids in file order, ``rating_repeats`` kept whole. Every row must be accepted; a
reject fails the test with the import's own summary.

``StoreBuilder`` collects rows per kind and imports them in the order a user would (vocabulary, items,
events, gold, predictions) when ``build`` opens the store::

    store = StoreBuilder(path).items(items).events(events, cohorts={"a": "expert"}).gold(gold).build()

``write_raw`` is the one place that writes rows past the importer, for the stores an import cannot make;
``old_schema`` makes a store of an earlier schema version for the tests of migrations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from analytics.ingest import pipeline
from analytics.ingest.report import ValidationReport
from analytics.store import Store
from analytics.store.migrations import MIGRATIONS

#: Rows of one input kind: a DataFrame, or mappings of column name to value.
Rows = pd.DataFrame | Iterable[Mapping[str, Any]]
#: The columns of the event tuples tests write by hand, ``(event_id, item, annotator, label, time)``.
EVENT_COLUMNS = ["event_id", "item_id", "annotator_id", "label", "labeled_at"]


def _frame(rows: Rows) -> pd.DataFrame:
    return rows.copy() if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))


def import_rows(store: Store, kind: str, rows: Rows, **options: Any) -> ValidationReport:
    """Import ``rows`` as one batch of ``kind`` and check that every row was accepted.

    Parameters
    ----------
    store : Store
    kind : str
        One of ``analytics.core.schema.INPUT_KINDS``.
    rows : DataFrame or iterable of mappings
        The columns of ``kind`` under their names (``analytics.core.schema.REQUIRED_COLUMNS``).
    **options
        Passed to ``pipeline.ingest`` (``dataset``, ``model_version``, ...).

    Returns
    -------
    ValidationReport
        The committed import; its ``batch_id`` names the batch.
    """
    report = pipeline.ingest(store, _frame(rows), kind=kind, name=f"{kind} rows of a test", **options)
    assert report.batch_id is not None and report.rows_rejected == 0, report.summary()
    return report


def add_events(store: Store, rows: Rows, *, cohorts: Mapping[str, str] | None = None) -> ValidationReport:
    """Import label events: ``item_id, annotator_id, label, labeled_at`` and any optional event column.

    The store numbers events in the order they are imported: rows with an ``event_id`` column are imported
    sorted by it (the column itself is not imported), so a test's ids keep their order. ``cohorts`` gives the
    cohort of each annotator that the store does not know yet (annotator id to cohort; others get none).
    """
    frame = _frame(rows)
    if "event_id" in frame:
        frame = frame.sort_values("event_id", kind="stable").drop(columns="event_id")
    if cohorts:
        frame["cohort"] = frame["annotator_id"].map(dict(cohorts))
    return import_rows(store, "events", frame)


def add_items(store: Store, rows: Rows) -> ValidationReport:
    """Import items: ``item_id`` and optionally ``dataset``, ``split``, ...; other columns are attributes."""
    return import_rows(store, "items", rows)


def add_gold(store: Store, rows: Rows) -> ValidationReport:
    """Import gold labels: ``item_id, label`` and optionally ``source``."""
    return import_rows(store, "gold", rows)


def add_predictions(store: Store, rows: Rows, *, model_version: str | None = None) -> ValidationReport:
    """Import model predictions: ``item_id, label, prob`` (long form), ``model_version`` a column or given."""
    return import_rows(store, "predictions", rows, model_version=model_version)


def add_vocabulary(store: Store, rows: Rows) -> ValidationReport:
    """Import the label vocabulary: ``label`` and optionally ``parent``, ``description``."""
    return import_rows(store, "vocabulary", rows)


class StoreBuilder:
    """Rows per input kind, imported into a new store in the order a user would import them.

    Parameters
    ----------
    path : str or Path
        Where the store is created (``Store(path)``).
    """

    _ORDER = ("vocabulary", "items", "events", "gold", "predictions")

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._imports: list[tuple[str, Rows, dict[str, Any]]] = []

    def vocabulary(self, rows: Rows) -> StoreBuilder:
        """Add label vocabulary rows (``add_vocabulary``)."""
        self._imports.append(("vocabulary", rows, {}))
        return self

    def items(self, rows: Rows) -> StoreBuilder:
        """Add item rows (``add_items``)."""
        self._imports.append(("items", rows, {}))
        return self

    def events(self, rows: Rows, *, cohorts: Mapping[str, str] | None = None) -> StoreBuilder:
        """Add label events (``add_events``)."""
        self._imports.append(("events", rows, {"cohorts": cohorts}))
        return self

    def gold(self, rows: Rows) -> StoreBuilder:
        """Add gold labels (``add_gold``)."""
        self._imports.append(("gold", rows, {}))
        return self

    def predictions(self, rows: Rows, *, model_version: str | None = None) -> StoreBuilder:
        """Add model predictions (``add_predictions``)."""
        self._imports.append(("predictions", rows, {"model_version": model_version}))
        return self

    def build(self) -> Store:
        """Open the store, import every kind added (one batch per call, kinds in import order), return it.

        The caller closes the store (``with StoreBuilder(path)....build() as store:``).
        """
        writers = {
            "vocabulary": add_vocabulary, "items": add_items, "events": add_events, "gold": add_gold,
            "predictions": add_predictions,
        }
        store = Store(self.path)
        try:
            for kind, rows, options in sorted(self._imports, key=lambda entry: self._ORDER.index(entry[0])):
                writers[kind](store, rows, **options)
        except BaseException:
            store.close()
            raise
        return store


def write_raw(con: duckdb.DuckDBPyConnection, table: str, rows: Rows) -> None:
    """Insert ``rows`` into ``table`` as they are, past the importer and its checks.

    For the stores an import cannot make, and only for them:

    - hostile contents that reads must survive although the importer rejects them (timestamps no reader
      holds, such as ``-infinity`` or ``0044-03-15 (BC)``), and states no import gives (event ids out of
      the order the events were written in);
    - stores of an older schema, written before a migration is tested on them;
    - tables the store fills only from a computation (``detection_runs``, ``suspects`` of a detection run);
    - rows without a batch of their own, where a test reads the store's batches (an import adds one), and
      the rows a test of the store's transactions writes.

    Parameters
    ----------
    con : DuckDB connection or cursor
        Inside a ``Store.transaction()`` when the store is open.
    table : str
        A table of the store's schema (the test's own text, never data).
    rows : DataFrame or iterable of mappings
        Named columns; the table's other columns get their defaults. Nothing derived is kept up to date:
        a test that writes ``label_events`` calls ``analytics.store.ratings.rebuild_repeats`` after.
    """
    frame = _frame(rows)
    columns = ", ".join('"' + name + '"' for name in frame.columns)
    con.register("lw_raw_rows", frame)
    try:
        con.execute("INSERT INTO " + table + " (" + columns + ") SELECT " + columns + " FROM lw_raw_rows")
    finally:
        con.unregister("lw_raw_rows")


def old_schema(con: duckdb.DuckDBPyConnection, versions: Iterable[int]) -> None:
    """Apply only the migrations ``versions`` to an empty database, as an earlier build left its store.

    ``Store`` would migrate to the latest schema on opening, so a test of a migration writes the store of
    an earlier build on a plain connection (``duckdb.connect(path)``) and fills it with ``write_raw``.
    """
    wanted = set(versions)
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
    for version, statements in MIGRATIONS:
        if version in wanted:
            for statement in statements:
                con.execute(statement)
            write_raw(con, "schema_migrations", [{"version": version, "applied_at": dt.datetime.now()}])
