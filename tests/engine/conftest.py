"""One 1e6-event lake per session, the same data in memory, and one DuckDB and one Spark engine over it.

Spark runs in local mode (``local[2]``, no web UI, two shuffle partitions); its JVM starts once per session
(~12 s on a quiet machine, up to ~100 s on a loaded one). Results of the aggregations are computed once per
engine and shared by the tests (``Results``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from analytics.engine import aggregations as agg
from analytics.engine import statistics
from analytics.engine.engines import DuckDBEngine, Engine, SparkEngine
from tests.engine.lake import write_lake

N_EVENTS = 1_000_000


@pytest.fixture(scope="session")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_lake(tmp_path_factory.mktemp("engine"), N_EVENTS)


@pytest.fixture(scope="session")
def events(lake: Path) -> pd.DataFrame:
    """The lake's events in memory, in ``event_id`` order (the order ``latest_ratings`` breaks ties by)."""
    frame = pd.read_parquet(lake / "events", columns=["event_id", "item_id", "annotator_id", "label",
                                                      "labeled_at"])
    return frame.sort_values("event_id", kind="stable").reset_index(drop=True)


@pytest.fixture(scope="session")
def items(lake: Path) -> pd.DataFrame:
    return pd.read_parquet(lake / "items", columns=["item_id", "source", "region"])


@pytest.fixture(scope="session")
def gold(lake: Path) -> pd.DataFrame:
    return pd.read_parquet(lake / "gold", columns=["item_id", "label"])


class Results:
    """Each aggregation of one engine, run once and kept for the session."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._kept: dict[str, pd.DataFrame] = {}

    def _once(self, name: str, work: Callable[[], pd.DataFrame]) -> pd.DataFrame:
        if name not in self._kept:
            self._kept[name] = work()
        return self._kept[name]

    def label_counts(self) -> pd.DataFrame:
        return self._once("label_counts", lambda: self.engine.run(agg.label_counts()))

    def annotator_tallies(self) -> pd.DataFrame:
        return self._once("annotator_tallies", lambda: self.engine.run(agg.annotator_tallies()))

    def window_label_counts(self) -> pd.DataFrame:
        return self._once("window_label_counts", lambda: self.engine.run(agg.window_label_counts("week")))

    def slice_cube(self) -> pd.DataFrame:
        return self._once("slice_cube", lambda: statistics.slice_cube(self.engine))


@pytest.fixture(scope="session")
def duck(lake: Path) -> Results:
    engine = DuckDBEngine(lake)
    yield Results(engine)
    engine.close()


@pytest.fixture(scope="session")
def spark(lake: Path) -> Results:
    engine = SparkEngine(lake, config={"spark.sql.shuffle.partitions": "2"})
    yield Results(engine)
    engine.close()
