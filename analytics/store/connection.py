"""The store's connection: open or create a DuckDB file, migrate it, hand out cursors, serialise writes.

Streamlit serves every session from threads of one process. One ``Store`` per process holds one DuckDB
connection; every query takes its own ``cursor()`` (a DuckDB connection object used from two threads at
once raises "connection is busy"), and every write goes through ``transaction()``, which holds a process-wide
lock so writes are serialised and each one commits or rolls back whole.

The lock belongs to the database file, not to the ``Store`` object: DuckDB shares one database between
every connection a process opens on a file, so two ``Store`` objects of one file (a path spelled two ways,
or a store opened again after ``st.cache_resource`` was cleared while a session still holds the old one)
must not write at once. What the lock buys: a write's reads (is a second review waiting? who made the
first? which version number is next?) and its appends are one step, so a check cannot go stale before
its write. DuckDB itself would not stop that — appends never conflict — and it serialises nothing across
processes either, but no second process can open a file this one holds. The dashboard is the one writer
process of its store.

Another process cannot open a file that this one holds, not even read-only. Opening such a file raises
``StoreLockedError`` with the path and what to do.

A store is opened only when the path holds one: a file that is not a DuckDB database (DuckDB would read a
CSV, Parquet or JSON file as a database of its own, and every write would vanish with the connection), or a
DuckDB database of another program (LabelWatch would add its tables to it), raises ``StoreError``;
``adopt=True`` adds LabelWatch's tables to such a database on purpose. ``create=False`` refuses a path where
no file exists (a read with a mistyped path must not create an empty store).

A store can read its label events, items, gold labels and predictions from a Parquet lake in place of its
own tables (``lake=``, ``analytics.store.lake``): it is bound to the lake once (its ``live_*`` views point at
the lake's files, and the store remembers the lake), every later open reads the same lake, and a change to
the lake's files is picked up by the next ``state()``.

A large imported store (``derived_events()``: 5e6 live events and more) keeps the small tables a lake's
store derives (``analytics.store.lake.derive``: a day rollup, an item sketch, a base sample of the items…),
so that its pages read them instead of every event. They record the imports and retractions they reflect;
while those are unchanged the store reads them (``sample_base``, ``lake_tables``), and an import or a
retraction makes it read its own tables again at once, until ``refresh_derived`` (called by the import and
retraction paths once their writes are done, and by a writable open that finds them outdated). A read-only
open never reads them: another process may have imported since.

Opening a store of an older schema migrates it (``analytics.store.migrations.migrate``): the file is first
copied to ``<store>.bak-v<N>`` (N its old schema version), and a migration that fails raises ``StoreError``
naming that copy, with the store left at its old version.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
import weakref
from collections.abc import Callable, Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pandas as pd

from analytics.store import lake as lakes
from analytics.store.migrations import LATEST_VERSION, MigrationError, current_version, migrate

_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}

def derived_events() -> int:
    """An imported store keeps the tables a lake derives (``analytics.store.lake.derive``: a day rollup, an
    item sketch, a base sample…) from this many live events on: twice a base sample's size, as a lake."""
    return 2 * lakes.BASE_SAMPLE_EVENTS


#: DuckDB's memory budget for the process. Beyond it, joins, sorts, aggregations and TEMP tables spill to
#: ``<db>.tmp``; without it DuckDB keeps up to 80% of RAM. A 1e7-event import stays under 1.3 GB peak with
#: this budget (2.1 GB without) and runs no slower.
DEFAULT_MEMORY_LIMIT = "1GB"


#: Numbers of store states, never reused in this process (``_FileWrites.state``).
_STATES = itertools.count(1)


class _FileWrites:
    """What every ``Store`` of one database file in this process shares: the write lock, and the number of
    the file's state, which changes with every committed write."""

    __slots__ = ("__weakref__", "lock", "state")

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.state = next(_STATES)


#: One ``_FileWrites`` per database file in this process; it goes with the file's last store.
_FILES: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_FILES_GUARD = threading.Lock()


def _writes_of(path: str) -> _FileWrites:
    """The write lock and state shared by every ``Store`` of the file ``path`` in this process (a store in
    memory has its own)."""
    if path == ":memory:":
        return _FileWrites()
    key = os.path.realpath(path)
    with _FILES_GUARD:
        writes = _FILES.get(key)
        if writes is None:
            writes = _FILES[key] = _FileWrites()
        return writes


_T = TypeVar("_T")
#: ``Store.remembered`` keeps at most this many results per state.
_MEMO_ENTRIES = 256


class StoreError(RuntimeError):
    """A problem with the store file that the user can act on."""


class StoreLockedError(StoreError):
    """The DuckDB file is held by another process."""


#: A DuckDB database file starts with a 8-byte checksum and then these bytes.
_DUCKDB_MAGIC = b"DUCK"
_LOOKS_LIKE = {b"PAR1": "a Parquet file", b"\x1f\x8b": "a gzip file", b"PK\x03\x04": "a zip file",
               b"SQLite format 3": "an SQLite database", b"{": "JSON", b"[": "JSON"}


_ELSEWHERE = ("Point --db PATH / LABELWATCH_DB at a store in a folder this user can write (or make this one "
              "writable).")


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _not_a_database(path: Path) -> str | None:
    """Why ``path`` (an existing file) cannot be a DuckDB database, or None when it can."""
    if path.is_dir():
        return "is a folder"
    with path.open("rb") as fh:
        head = fh.read(16)
    if not head or head[8:12] == _DUCKDB_MAGIC:
        return None
    looks = next((what for magic, what in _LOOKS_LIKE.items() if head.startswith(magic)), None)
    if looks is None:
        looks = "text (CSV or JSON lines?)" if all(b >= 9 for b in head) else "some other binary file"
    return f"is not a DuckDB database (it looks like {looks})"


class Store:
    """A LabelWatch DuckDB store.

    Parameters
    ----------
    path : str or Path
        The DuckDB file; created (with its folder) and migrated when missing, unless ``create`` is False.
        ``":memory:"`` gives a throw-away store for experiments.
    read_only : bool
        Open without write access (no migration is attempted).
    memory_limit : str or None
        DuckDB's ``memory_limit`` (e.g. ``"4GB"``); None leaves DuckDB's default (80% of RAM).
    create : bool
        Create the file when it is missing; False raises ``StoreError`` instead.
    adopt : bool
        Add LabelWatch's tables to a DuckDB database that holds other tables but is no LabelWatch store
        (refused otherwise).
    lake : str or Path or None
        A Parquet lake folder (``analytics.store.lake``) to read the label events, items, gold labels and
        predictions from. The store is bound to it (refused when it holds imported events); a store bound
        before reads its lake without this argument.

    Raises
    ------
    StoreError
        The path holds something that is not a LabelWatch store (see above), or nothing and ``create`` is
        False, or the file cannot be opened; ``StoreLockedError`` when another process holds it.

    Examples
    --------
    >>> store = Store(":memory:")
    >>> store.scalar("SELECT count(*) FROM label_events")
    0
    """

    def __init__(
        self,
        path: str | Path,
        *,
        read_only: bool = False,
        memory_limit: str | None = DEFAULT_MEMORY_LIMIT,
        create: bool = True,
        adopt: bool = False,
        lake: str | Path | None = None,
    ) -> None:
        self.path = str(path)
        self._memory_limit = memory_limit
        #: The lake this store reads (None: its own tables), as listed when it was last refreshed.
        self.lake: lakes.Lake | None = None
        #: The modulus of the store's base sample of events (``analytics.store.lake``): 1, none.
        self.sample_base = 1
        #: Whether the store reads the tables derived from its lake, or from its own imports when large
        #: (``analytics.store.lake.derive``): a day rollup, an item sketch, the repeated pairs' events…, which
        #: reads that need no item use instead of every event.
        self.lake_tables = False
        #: The slice attributes whose filters read the derived attribute rollup (``filters.days_cte``).
        self.rolled_attributes: frozenset[str] = frozenset()
        self._memo: dict[Hashable, Any] = {}
        self._memo_state: int | None = None
        self._memo_lock = threading.Lock()
        self.read_only = read_only
        if self.path != ":memory:":
            file = Path(self.path)
            if file.exists():
                problem = _not_a_database(file)
                if problem is not None:
                    raise StoreError(
                        f"{self.path} {problem}; expected a LabelWatch store (a .duckdb file). Point --db / "
                        "LABELWATCH_DB at the store, not at a data file (import data files with `ingest`)."
                    )
            elif not create or read_only:
                raise StoreError(
                    f"No store at {self.path}: the file does not exist. Check the path (--db PATH or "
                    "LABELWATCH_DB), or create a store with `ingest` or `demo`."
                )
            else:
                try:
                    file.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:  # a read-only folder, or a file where a folder should be
                    held = next((p for p in file.parents if p.exists()), None)
                    why = (f"{held} is a file, not a folder" if held is not None and not held.is_dir()
                           else exc.strerror or str(exc))
                    raise StoreError(
                        f"Cannot create the store {self.path}: its folder {file.parent} cannot be made "
                        f"({why}). {_ELSEWHERE}"
                    ) from exc
        try:
            config = dict(_CONFIG) if memory_limit is None else {**_CONFIG, "memory_limit": memory_limit}
            self._con = duckdb.connect(self.path, read_only=read_only, config=config)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise StoreLockedError(
                    f"The store {self.path} is in use by another process (a running dashboard or CLI). "
                    "Stop that process, or point this one at another file with --db PATH / LABELWATCH_DB."
                ) from exc
            if any(words in str(exc).lower() for words in ("permission denied", "read-only file system")):
                raise StoreError(
                    f"Cannot open the store {self.path} for writing: the file or its folder is read-only, or "
                    f"this user may not write there ({_first_line(exc)}). {_ELSEWHERE}"
                ) from exc
            raise StoreError(f"Cannot open the store {self.path}: {exc}") from exc
        except duckdb.Error as exc:
            raise StoreError(f"Cannot open the store {self.path}: {exc}") from exc
        # Timestamps are stored as UTC wall-clock time; naive input is read as UTC.
        self._con.execute("SET TimeZone = 'UTC'")
        self._writes = _writes_of(self.path)
        foreign = self._foreign_tables()
        if foreign and not adopt:
            self._con.close()
            shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5 else "")
            raise StoreError(
                f"{self.path} is a DuckDB database of another program (it holds {shown}) and no LabelWatch "
                "store; LabelWatch adds its tables only to a new file or to its own store. Point --db / "
                "LABELWATCH_DB at a LabelWatch store, or pass --adopt-db to add LabelWatch's tables to it."
            )
        if not read_only:
            try:
                with self._writes.lock:
                    migrate(self._con)
                    self._writes.state = next(_STATES)
            except MigrationError as exc:
                self._con.close()
                raise StoreError(f"Cannot open the store {self.path}: {exc}") from exc
        elif self.schema_version() < LATEST_VERSION:
            raise StoreError(
                f"The store {self.path} has schema version {self.schema_version()}, this LabelWatch needs "
                f"{LATEST_VERSION}; open it once without read-only to migrate it."
            )
        try:
            self._open_lake(lake)
            if self.lake is None and not read_only:
                self._use_derived(refresh=True)
        except BaseException:
            self._con.close()
            raise

    def read_lake(self, lake: str | Path) -> None:
        """Bind this open store to the Parquet lake ``lake`` (as ``Store(..., lake=lake)`` does).

        Raises
        ------
        StoreError
            The lake cannot be read, or the store holds imported events (it reads its own or a lake's).
        """
        self._open_lake(lake)

    def _open_lake(self, lake: str | Path | None) -> None:
        """Bind the store to ``lake``, or read the lake it was bound to; see ``analytics.store.lake``."""
        cur = self._con.cursor()
        recorded = lakes.bound(cur)
        if lake is None and recorded is None:
            return
        where = lake if lake is not None else recorded["path"]
        try:
            listed = lakes.scan(where)
        except lakes.LakeError as exc:
            bound_to = "" if lake is not None else (
                f" The store {self.path} reads the lake {where}: if the lake moved, point the store at its "
                "new place with --lake DIR (LABELWATCH_LAKE for the dashboard).")
            raise StoreError(f"{exc}{bound_to}") from exc
        if recorded is None or recorded["path"] != str(listed.root):
            if self.read_only:
                raise StoreError(f"The store {self.path} does not read the lake {listed.root} yet; open it "
                                 "once without read-only (any command but check) to bind it.")
            try:
                lakes.check_bindable(cur, self.path)
            except lakes.LakeError as exc:
                raise StoreError(str(exc)) from exc
        self._con.execute("SET GLOBAL parquet_metadata_cache = true")
        self.lake = listed
        record = lakes.derived(cur)
        current = recorded == {"path": str(listed.root), "fingerprint": listed.fingerprint}
        if not current or (record is None and not self.read_only):  # bound by a build that derived less
            self._refresh_lake(listed)
        else:  # read-only, bound by an earlier build: every read goes to the lake's files
            self._derived(record)

    def _refresh_lake(self, listed: lakes.Lake) -> None:
        """Point the views at ``listed`` and rebuild the lake's derived state, in one write."""
        if self.read_only:
            raise StoreError(f"The lake {listed.root} changed since the store {self.path} last read it; open "
                             "the store without read-only (the dashboard, or any command but check) to "
                             "refresh it.")
        try:
            with self.transaction() as cur:
                lakes.bind(cur, listed, memory_limit=self._memory_limit)
                record = lakes.derived(cur)
        except lakes.LakeError as exc:
            raise StoreError(str(exc)) from exc
        self.lake = listed
        self._derived(record)

    def data_version(self) -> tuple[int, str | None, int]:
        """The imported data as of now: ``(import batches, the latest one's time, batches retracted)``.
        Batches and retractions are only ever added, so this changes with every import and retraction."""
        batches, latest, retracted = self._con.cursor().execute(
            "SELECT (SELECT count(*) FROM ingest_batches), (SELECT max(created_at) FROM ingest_batches), "
            "(SELECT count(*) FROM batch_retractions)"
        ).fetchone()
        return int(batches), None if latest is None else str(latest), int(retracted)

    def _content(self) -> str:
        """``data_version`` as the text ``derive`` records."""
        batches, latest, retracted = self.data_version()
        return f"batches={batches} latest={latest} retracted={retracted}"

    def _use_derived(self, *, refresh: bool = False) -> None:
        """Read an imported store's derived tables while they match its data (``refresh``: derive them
        again first when they do not, as ``refresh_derived``)."""
        record = lakes.derived(self._con.cursor(), self._content())
        if record is None and refresh:
            self.refresh_derived()
            return
        self._derived(record)

    def _derived(self, record: dict | None) -> None:
        """Read the derived tables ``record`` describes (``lakes.derived``), or none (``record`` None)."""
        self.lake_tables = record is not None
        self.sample_base = int(record["sample_base"]) if record else 1
        self.rolled_attributes = frozenset(record.get("attribute_keys", ())) if record else frozenset()

    def refresh_derived(self) -> None:
        """Derive an imported store's tables again from its data (``analytics.store.lake.derive``), in one
        write, when it holds at least ``derived_events()`` live events; drop them when it holds fewer.

        A store reading a lake refreshes its own (``state``); this does nothing for it, nor for a read-only
        store. A large imported store derives them when opened for writing with data they do not match, and
        the commands and pages that import or retract call this once their writes are done. Until then its
        reads go to its own tables, as a small store's do. At 1e7 events the write takes about 18 s.
        """
        if self.lake is not None or self.read_only:
            return
        large = self.scalar("SELECT count(*) FROM live_label_events") >= derived_events()
        if large or self.scalar("SELECT count(*) FROM store_meta WHERE key = 'lake_derived'"):
            with self.transaction() as cur:
                if large:
                    lakes.derive(cur, self._content(), memory_limit=self._memory_limit)
                else:
                    lakes.underive(cur)
        self._use_derived()

    def _foreign_tables(self) -> list[str]:
        """Tables and views of a database that is not (yet) a LabelWatch store; empty for a store."""
        names = [
            row[0]
            for row in self._con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = current_database() "
                "ORDER BY 1"
            ).fetchall()
        ]
        return [] if "schema_migrations" in names else names

    def schema_version(self) -> int:
        return current_version(self._con.cursor())

    def state(self) -> int:
        """A number for the store's content as this process last wrote it: it changes with every committed
        write (``transaction``) and is never reused in the process.

        A result computed from the store can be kept under this number: while no other process can write
        the file (none can open a file this process holds for writing), an equal number means the same
        content. A store opened read-only sees other processes' writes, which do not change it.

        A store reading a lake lists the lake's files first: when they changed (a file added, removed or
        rewritten), the store refreshes (``analytics.store.lake.bind``), which is a write, so the number
        changes too.
        """
        if self.lake is not None:
            listed = lakes.scan(self.lake.root)
            if listed.fingerprint != self.lake.fingerprint:
                with self._writes.lock:
                    if lakes.bound(self._con.cursor())["fingerprint"] != listed.fingerprint:
                        self._refresh_lake(listed)
                    else:
                        self.lake = listed
        return self._writes.state

    def remembered(self, key: Hashable, compute: Callable[[], _T]) -> _T:
        """``compute()``, once per ``state()`` of a store this process writes: a small result that several
        readers of one state ask for (the event totals of a filter: every page, the alert rules and the
        sampling rule start with them, and on a lake each is a scan of every file).

        A read-only store sees other processes' writes without a new state, so it computes every time.
        At most ``_MEMO_ENTRIES`` results are kept; the caller must not change the one returned.
        """
        try:
            hash(key)
        except TypeError:  # a filter holding a list: nothing to key it by
            return compute()
        if self.read_only:
            return compute()
        state = self.state()
        with self._memo_lock:
            if self._memo_state != state:
                self._memo, self._memo_state = {}, state
            if key in self._memo:
                return self._memo[key]
        value = compute()
        with self._memo_lock:
            if self._memo_state == state and len(self._memo) < _MEMO_ENTRIES:
                self._memo[key] = value
        return value

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor for one query (or one thread)."""
        return self._con.cursor()

    def query(self, sql: str, params: Sequence[Any] | dict | None = None) -> pd.DataFrame:
        """Run one parameterised read and return a DataFrame."""
        return self.cursor().execute(sql, params or []).df()

    def scalar(self, sql: str, params: Sequence[Any] | dict | None = None) -> Any:
        """Run one parameterised read and return the first column of the first row (None if no rows)."""
        row = self.cursor().execute(sql, params or []).fetchone()
        return None if row is None else row[0]

    @contextlib.contextmanager
    def transaction(
        self, cursor: duckdb.DuckDBPyConnection | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """Serialise one write: yields a cursor inside BEGIN … COMMIT; any exception rolls it back.

        Read every widget and session value before entering: nothing that can be interrupted (a Streamlit
        rerun raises a BaseException at the next ``st.*`` call) belongs inside the block.

        ``cursor`` runs the transaction on a cursor the caller holds (and keeps open afterwards), for a
        write that reads the caller's TEMP tables, which other cursors cannot see
        (``analytics.ingest.pipeline``).
        """
        if self.read_only:
            raise StoreError(f"The store {self.path} was opened read-only; writes are not allowed.")
        with self._writes.lock:
            cur = cursor if cursor is not None else self._con.cursor()
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
                self._writes.state = next(_STATES)
                if self.lake is None and self.lake_tables:  # an import or a retraction outdates them
                    self._use_derived()
            finally:
                if cursor is None:
                    cur.close()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside a read transaction: every read through it sees the same state of the store.

        For a read in several statements (a small dictionary first, then the rows coded by it) that an
        import committing in between must not split.
        """
        cur = self._con.cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
        finally:
            cur.execute("ROLLBACK")
            cur.close()

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.path!r})"
