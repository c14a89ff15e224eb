"""Import throughput: N generated label events as Parquet and CSV, prepared and committed into a fresh store.

Usage::

    .venv/bin/python bench/ingest_throughput.py [--events 1000000] [--formats parquet csv] [--dir DIR]

Prints, per format, the seconds spent validating (prepare) and writing (commit), events per second over
both, and the process's peak resident memory so far. Targets (issue): Parquet >= 1M events/s, CSV >= 300k
events/s on 2 cores, peak memory < 2 GB for 1e7 events.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analytics import ingest  # noqa: E402
from analytics.store import Store  # noqa: E402

CHUNK = 1_000_000


def events_chunk(start: int, stop: int, rng: np.random.Generator) -> pa.Table:
    """Events start..stop-1: three labels per item from 500 annotators, one second apart (all valid)."""
    seq = np.arange(start, stop)
    return pa.table(
        {
            "item_id": np.char.add("item", (seq // 3).astype(str)),
            "annotator_id": np.char.add("ann", rng.integers(0, 500, len(seq)).astype(str)),
            "label": np.array(["cat", "dog", "bird"])[rng.integers(0, 3, len(seq))],
            "labeled_at": np.datetime64("2024-01-01T00:00:00") + seq.astype("timedelta64[s]"),
        }
    )


def write_events(path: Path, n: int, fmt: str) -> None:
    """Write n events in chunks, so the generator's memory does not count towards the import's peak."""
    rng = np.random.default_rng(0)
    schema = events_chunk(0, 1, np.random.default_rng(0)).schema
    writer = pq.ParquetWriter(path, schema) if fmt == "parquet" else pa_csv.CSVWriter(path, schema)
    with writer:
        for start in range(0, n, CHUNK):
            writer.write_table(events_chunk(start, min(start + CHUNK, n), rng))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=float, default=1e6)
    parser.add_argument("--formats", nargs="+", default=["parquet", "csv"], choices=["parquet", "csv"])
    parser.add_argument("--dir", type=Path, default=None, help="where to write files and stores (a temp dir)")
    args = parser.parse_args()
    n = int(args.events)
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        for fmt in args.formats:
            path = Path(tmp) / ("events." + fmt)
            write_events(path, n, fmt)
            with Store(Path(tmp) / (fmt + ".duckdb")) as store:
                start = time.perf_counter()
                prepared = ingest.prepare(store, path)
                validated = time.perf_counter()
                report = ingest.commit(store, prepared)
                done = time.perf_counter()
            assert report.rows_accepted == n, report.summary()
            peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"{fmt:8s} {n:>11,} events  prepare {validated - start:6.2f}s  "
                f"commit {done - validated:6.2f}s  {n / (done - start):>11,.0f} events/s  "
                f"peak RSS {peak_mb:,.0f} MB"
            )


if __name__ == "__main__":
    main()
