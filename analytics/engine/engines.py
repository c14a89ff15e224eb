"""Where the aggregations run: DuckDB on this machine, or Apache Spark (local mode or a cluster).

Both engines read the same lake folder (``DIR/events/``, ``DIR/annotators/``, ``DIR/item_attributes/``,
``DIR/gold/``: Parquet files at any depth, hive partitions allowed, partition columns other than the
relation's own ignored), register the relations of ``analytics.engine.aggregations.RELATIONS`` under their
names, run a ``Query`` in their dialect and return a pandas DataFrame with the same columns and dtypes:
int64 for counts, float64 for DOUBLE, ``datetime64[us]`` for timestamps and pandas' string dtype for text.

pyspark is imported only when a ``SparkEngine`` is created; ``SparkEngine`` raises ``EngineUnavailable``
naming what is missing (the pyspark package, or a Java runtime) before it starts anything.
"""

from __future__ import annotations

import abc
import contextlib
import importlib
import os
import shutil
import threading
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd

from analytics.engine.aggregations import DERIVED, RELATIONS, Query, derived, empty_relation, relation

__all__ = ["Engine", "DuckDBEngine", "SparkEngine", "EngineUnavailable", "ENGINES", "open_engine"]


class EngineUnavailable(RuntimeError):
    """The engine cannot run here; the message names what is missing and how to install it."""


class Engine(abc.ABC):
    """Runs the aggregation queries over one lake and returns small pandas results."""

    #: Short name of the engine, as the CLI's ``--engine`` spells it.
    name: str

    def __init__(self, lake: str | Path) -> None:
        self.lake = Path(lake)
        if not self.lake.is_dir():
            raise FileNotFoundError(f"no lake folder at {self.lake}")

    def run(self, query: Query, params: Mapping[str, object] | None = None,
            tables: Mapping[str, pd.DataFrame] | None = None) -> pd.DataFrame:
        """Run ``query`` with named ``params`` and the small ``tables`` registered under their names.

        Returns
        -------
        DataFrame
            The result, dtypes normalised as the module docstring says.
        """
        return _normalised(self._run(query, dict(params or {}), dict(tables or {})))

    @abc.abstractmethod
    def _run(self, query: Query, params: dict, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
        """The raw result of ``query``."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the engine's connection or session."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _folders(self) -> dict[str, Path | None]:
        """Each relation's folder in the lake, None when it is missing or holds no Parquet file."""
        found = {}
        for name in RELATIONS:
            folder = self.lake / name
            found[name] = folder if folder.is_dir() and next(folder.rglob("*.parquet"), None) else None
        if found["events"] is None:
            raise FileNotFoundError(f"the lake {self.lake} has no events/ folder with Parquet files")
        return found


class DuckDBEngine(Engine):
    """The aggregations in an in-memory DuckDB connection over the lake's Parquet files.

    Parameters
    ----------
    lake : str or Path
        The lake folder.
    threads : int or None
        DuckDB threads (None: DuckDB's default, every core).
    """

    name = "duckdb"

    def __init__(self, lake: str | Path, *, threads: int | None = None) -> None:
        import duckdb

        super().__init__(lake)
        config = {"autoinstall_known_extensions": False}
        if threads is not None:
            config["threads"] = int(threads)
        self._con = duckdb.connect(config=config)
        for name, folder in self._folders().items():
            if folder is None:
                self._con.execute("CREATE VIEW " + name + " AS " + empty_relation(name).duckdb)
                continue
            # The path goes through the relation API, never into SQL text.
            raw = self._con.read_parquet(str(folder / "**" / "*.parquet"), hive_partitioning=True,
                                         union_by_name=True)
            raw.create_view(f"{name}_files")
            self._con.execute("CREATE VIEW " + name + " AS "
                              + relation(name, set(raw.columns), f"{name}_files").duckdb)
        for name in DERIVED:
            self._con.execute("CREATE VIEW " + name + " AS " + derived(name).duckdb)

    def _run(self, query: Query, params: dict, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
        cur = self._con.cursor()
        try:
            for name, frame in tables.items():
                cur.register(name, frame)
            return cur.execute(query.duckdb, params).df()
        finally:
            cur.close()

    def close(self) -> None:
        self._con.close()


class SparkEngine(Engine):
    """The aggregations as Spark SQL, in a ``SparkSession`` (local mode by default, or a cluster).

    Parameters
    ----------
    lake : str or Path
        The lake folder; on a cluster, a path every executor reads (a shared file system or object store).
    master : str
        Spark master URL: ``local[2]`` (default) runs in this process's JVM on two cores;
        ``spark://host:7077``, ``yarn`` or ``k8s://…`` runs on a cluster.
    config : mapping or None
        Extra Spark settings, applied after the defaults (e.g. ``{"spark.driver.memory": "8g"}``).

    Notes
    -----
    Defaults, verified in local mode on a 2-core machine: no web UI, driver on 127.0.0.1, 4 GB of driver
    memory, the serial garbage collector and the C1 compiler only (Java start-up CPU roughly halves), few
    shuffle partitions, the session time zone UTC (timestamps are read as ``TIMESTAMP_NTZ`` and stay as
    written), Arrow for the transfer of results. Each relation is read with Spark's own Parquet reader
    (``mergeSchema``, hive-partition discovery without type inference) and registered as a temporary view.
    ``label_events`` and ``ratings`` are cached (memory, then disk) at their first use. Each engine has a
    session of its own (its temporary views) on the process's one Spark context; ``close`` releases the
    cached relations, and the last engine open stops the context when an engine started it (a context
    started otherwise is left running). Engines are counted process-wide, not per thread: the dashboard's
    sessions run in threads of their own, and one closing must not stop the context under another.
    ``master`` and ``config`` apply when the context starts: with one already running, its settings stay.
    """

    name = "spark"
    #: Open engines of the process, and whether one of them started the running context.
    _open = 0
    _started_context = False
    _count_lock = threading.Lock()

    def __init__(self, lake: str | Path, *, master: str = "local[2]",
                 config: Mapping[str, str] | None = None) -> None:
        super().__init__(lake)
        folders = self._folders()
        sql = _spark_sql_module()
        local = master.startswith("local")
        if local and shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
            raise EngineUnavailable(
                "--engine spark needs a Java runtime (java not found on PATH and JAVA_HOME unset): install "
                "Debian's openjdk-17-jre-headless (`make spark`)"
            )
        if local:
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        settings = {
            "spark.ui.enabled": "false",
            "spark.ui.showConsoleProgress": "false",
            "spark.sql.shuffle.partitions": "4",
            "spark.default.parallelism": "2",
            "spark.sql.session.timeZone": "UTC",
            "spark.sql.execution.arrow.pyspark.enabled": "true",
            "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
            "spark.sql.parquet.mergeSchema": "true",
        }
        if local:
            settings.update({
                "spark.driver.memory": "4g",
                "spark.driver.host": "127.0.0.1",
                "spark.driver.bindAddress": "127.0.0.1",
                "spark.driver.extraJavaOptions": "-XX:+UseSerialGC -XX:TieredStopAtLevel=1",
            })
        settings.update(config or {})
        builder = sql.SparkSession.builder.master(master).appName("labelwatch")
        for key, value in settings.items():
            builder = builder.config(key, value)
        with SparkEngine._count_lock:
            # the process-wide context: getActiveSession() answers for this thread only
            fresh = importlib.import_module("pyspark").SparkContext._active_spark_context is None
            # A session of its own (temporary views are per session) on the process's one Spark context.
            with _quiet_pyspark():
                self.session = builder.getOrCreate().newSession()
            SparkEngine._started_context = SparkEngine._started_context or fresh
            SparkEngine._open += 1
        self.session.sparkContext.setLogLevel("ERROR")
        self._cached = []
        for name, folder in folders.items():
            if folder is None:
                self.session.sql(empty_relation(name).spark).createOrReplaceTempView(name)
                continue
            raw = self.session.read.parquet(str(folder))
            raw.createOrReplaceTempView(f"{name}_files")
            self.session.sql(relation(name, set(raw.columns), f"{name}_files").spark) \
                .createOrReplaceTempView(name)
        for name in DERIVED:
            # Cached: Spark recomputes a view at every use, and every query reads the ratings.
            frame = self.session.sql(derived(name).spark).cache()
            frame.createOrReplaceTempView(name)
            self._cached.append(frame)

    def _run(self, query: Query, params: dict, tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
        with _quiet_pyspark():
            for name, frame in tables.items():
                self.session.createDataFrame(_spark_ready(frame)).createOrReplaceTempView(name)
            try:
                return self.session.sql(query.spark, args=params or None).toPandas()
            finally:
                for name in tables:
                    self.session.catalog.dropTempView(name)

    def close(self) -> None:
        with SparkEngine._count_lock:
            for frame in self._cached:
                frame.unpersist()
            SparkEngine._open -= 1
            if SparkEngine._open == 0 and SparkEngine._started_context:
                SparkEngine._started_context = False
                self.session.stop()


@contextlib.contextmanager
def _quiet_pyspark() -> Iterator[None]:
    """Silence pyspark 4.3's warnings about pandas 3: it says it does not fully support it, and uses a keyword
    pandas 3 deprecates. The conversions used here (flat frames of text, integers, doubles and timestamps)
    are compared with DuckDB's in tests/engine."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)
        warnings.filterwarnings("ignore", "The copy keyword is deprecated", module="pyspark")
        yield


def _spark_sql_module() -> ModuleType:
    """``pyspark.sql``, or ``EngineUnavailable`` saying how to install it."""
    try:
        return importlib.import_module("pyspark.sql")
    except ImportError:
        raise EngineUnavailable(
            "--engine spark needs the pyspark package, which is not installed: "
            "pip install -r requirements-spark.txt (`make spark`)"
        ) from None


def _spark_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with text columns as plain objects, the form Spark's schema inference reads."""
    return frame.astype({c: object for c in frame.columns if pd.api.types.is_string_dtype(frame[c])})


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts as int64, DOUBLE as float64, timestamps as ``datetime64[us]``, text as pandas' string dtype."""
    out = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_datetime64_any_dtype(values):
            out[column] = values.astype("datetime64[us]")
        elif pd.api.types.is_integer_dtype(values):
            out[column] = values.astype(np.int64)
        elif pd.api.types.is_float_dtype(values):
            out[column] = values.astype(np.float64)
        elif pd.api.types.is_bool_dtype(values):
            out[column] = values
        else:
            out[column] = values.astype("str")
    return pd.DataFrame(out, index=frame.index)


#: ``--engine`` name -> engine class.
ENGINES = {"duckdb": DuckDBEngine, "spark": SparkEngine}


def open_engine(name: str, lake: str | Path, *, master: str | None = None) -> Engine:
    """The engine ``name`` over ``lake``; ``master`` is the Spark master URL (default ``local[2]``).

    Raises
    ------
    ValueError
        For an unknown engine (the message lists the valid ones).
    EngineUnavailable
        When Spark is asked for and pyspark or Java is missing.
    """
    if name not in ENGINES:
        raise ValueError(f"unknown engine {name!r}; use one of {', '.join(ENGINES)}")
    if name == "spark":
        return SparkEngine(lake, master=master or "local[2]")
    return DuckDBEngine(lake)
