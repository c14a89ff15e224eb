"""A process killed in the middle of a large import leaves no partial batch (SIGKILL, real DuckDB file)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analytics.ingest import pipeline as ingest
from analytics.store import Store

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
N_EVENTS = 3_000_000

# Imports the file; "WRITTEN" is printed inside the commit transaction once every row has been inserted
# (and, with a pause, the process then sleeps there), "WRITING" just before the inserts start.
IMPORTER = textwrap.dedent(
    """
    import sys, time
    from analytics.ingest import pipeline as ingest
    from analytics.store import Store, batches

    db, path, pause = sys.argv[1], sys.argv[2], sys.argv[3] == "pause"
    store = Store(db)
    prepared = ingest.prepare(store, path)
    original = batches.write_batch

    def write_batch(cur, **kw):
        print("WRITING", flush=True)
        original(cur, **kw)
        print("WRITTEN", flush=True)
        if pause:
            time.sleep(120)

    batches.write_batch = write_batch
    ingest.commit(store, prepared)
    print("COMMITTED", flush=True)
    """
)


@pytest.fixture(scope="module")
def large_parquet(tmp_path_factory) -> Path:
    rng = np.random.default_rng(7)
    n = N_EVENTS
    table = pa.table(
        {
            "item_id": pa.array(np.char.add("item", (np.arange(n) // 3).astype(str))),
            "annotator_id": pa.array(np.char.add("ann", rng.integers(0, 2_000, n).astype(str))),
            "label": pa.array(np.array(["cat", "dog", "bird"])[rng.integers(0, 3, n)]),
            "labeled_at": pa.array(
                np.datetime64("2024-01-01T00:00:00") + np.arange(n).astype("timedelta64[s]")
            ),
        }
    )
    path = tmp_path_factory.mktemp("crash") / "events.parquet"
    pq.write_table(table, path)
    return path


def run_and_kill(db: Path, path: Path, *, pause: bool, marker: str, delay: float) -> str:
    process = subprocess.Popen(
        [sys.executable, "-c", IMPORTER, str(db), str(path), "pause" if pause else "go"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    seen = []
    try:
        for line in process.stdout:
            seen.append(line.strip())
            if line.strip() == marker:
                break
        assert marker in seen, f"the importer ended before {marker}: {seen}"
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    return seen[-1]


def test_kill_after_rows_written_before_commit_leaves_nothing(tmp_path, large_parquet):
    db = tmp_path / "store.duckdb"
    run_and_kill(db, large_parquet, pause=True, marker="WRITTEN", delay=0.2)
    with Store(db) as store:
        assert store.scalar("SELECT count(*) FROM ingest_batches") == 0
        assert store.scalar("SELECT count(*) FROM label_events") == 0
        assert store.scalar("SELECT count(*) FROM items") == 0
        assert store.scalar("SELECT count(*) FROM annotators") == 0
        report = ingest.ingest(store, large_parquet)
        assert report.rows_accepted == N_EVENTS
        assert store.scalar("SELECT count(*) FROM label_events") == N_EVENTS


def test_kill_during_the_inserts_is_all_or_nothing(tmp_path, large_parquet):
    db = tmp_path / "store.duckdb"
    run_and_kill(db, large_parquet, pause=False, marker="WRITING", delay=0.3)
    with Store(db) as store:
        batches = store.scalar("SELECT count(*) FROM ingest_batches")
        events = store.scalar("SELECT count(*) FROM label_events")
        assert (batches, events) in {(0, 0), (1, N_EVENTS)}
        small = tmp_path / "small.csv"
        small.write_text("item_id,annotator_id,label,labeled_at\nnew,ann1,cat,2024-06-01\n")
        assert ingest.ingest(store, small).rows_accepted == 1
