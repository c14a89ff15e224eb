"""Drift on stores with many labels: time and peak memory of the drift part of ``summary``.

For each number of labels K a store is built once under ``--work-dir``: N items, three ratings each by three
different annotators of 300 (the first 30 in cohort ``expert``), true classes drawn from a Zipf law
(P(class k) ∝ 1/k^1.1), each rating the true class with probability 0.8 and otherwise a class drawn from the
same law; times uniform over 180 days from 2026-03-01; a gold label for a tenth of the items. Nothing
drifts. A fresh child process then runs ``analytics.monitoring.summary._drift`` (the ``drift`` section of
``summary
--json``: the weekly drift inputs read from DuckDB, every drift test, the sentences) and reports its wall
time, its CPU time (all threads; on a busy machine the wall time is longer) and the child's peak resident
memory. Target: at 10,000 labels and 300,000 events, a few seconds
and well under 2 GB. The shares of the ``analytics.monitoring.drift.TOP_LABELS`` most frequent labels are
tested one
by one and the other labels as one share, so the work does not grow with K.

Command: ``.venv/bin/python bench/drift_labels.py --labels 1000,10000 --items 100000 --out bench/README.md``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.ingest import pipeline as ingest  # noqa: E402
from analytics.store import Store  # noqa: E402
from bench.store import label, machine, peak_rss, remove_store, table, write_section  # noqa: E402

BEGIN, END = "<!-- bench/drift_labels.py: begin -->", "<!-- bench/drift_labels.py: end -->"
ANNOTATORS = 300
TARGET_S, TARGET_RSS = 5.0, 2 * 2**30


def write_world(folder: Path, labels: int, items: int, *, seed: int = 0) -> None:
    """Write ``events.parquet``, ``items.parquet`` and ``gold.parquet`` of the many-label world."""
    rng = np.random.default_rng(seed)
    law = 1 / np.arange(1, labels + 1) ** 1.1
    law /= law.sum()
    truth = rng.choice(labels, items, p=law)
    given = np.repeat(truth, 3)
    wrong = rng.random(len(given)) < 0.2
    given = np.where(wrong, rng.choice(labels, len(given), p=law), given)
    # Three different annotators per item: a first one, then two distinct offsets from it.
    first = rng.integers(0, ANNOTATORS, items)
    one = rng.integers(1, ANNOTATORS, items)
    two = rng.integers(1, ANNOTATORS - 1, items)
    two = np.where(two >= one, two + 1, two)
    who = np.column_stack([first, (first + one) % ANNOTATORS, (first + two) % ANNOTATORS]).ravel()
    seconds = rng.integers(0, 180 * 86400, len(given))
    folder.mkdir(parents=True, exist_ok=True)
    ids = np.array([f"i{i}" for i in range(items)])
    pd.DataFrame({
        "item_id": np.repeat(ids, 3), "annotator_id": [f"a{j:03d}" for j in who],
        "label": [f"c{k}" for k in given],
        "labeled_at": pd.Timestamp("2026-03-01") + pd.to_timedelta(seconds, unit="s"),
        "cohort": np.where(who < 30, "expert", "crowd"),
    }).to_parquet(folder / "events.parquet")
    pd.DataFrame({"item_id": ids, "source": rng.choice(["fax", "scan", "web"], items)}).to_parquet(
        folder / "items.parquet")
    gold = rng.choice(items, items // 10, replace=False)
    pd.DataFrame({"item_id": ids[gold], "label": [f"c{k}" for k in truth[gold]]}).to_parquet(
        folder / "gold.parquet")


def build(work_dir: Path, labels: int, items: int) -> Path:
    """The store of ``labels`` labels and ``items`` items (built once, then reused)."""
    folder = work_dir / f"labels-{labels}-items-{items}"
    path = folder / "store.duckdb"
    if path.exists():
        return path
    write_world(folder, labels, items)
    remove_store(path)
    with Store(path) as store:
        for kind in ("items", "events", "gold"):
            report = ingest.ingest(store, folder / f"{kind}.parquet", kind=kind, created_by="bench")
            if report.rows_rejected:
                raise SystemExit(f"{kind}: {report.rows_rejected} rows rejected")
    return path


def child(path: str) -> dict:
    """Time ``summary._drift`` on a read-only store in this (fresh) process."""
    from analytics.monitoring import summary

    with Store(path, read_only=True) as store:
        events = store.scalar("SELECT count(*) FROM label_events")
        distinct = store.scalar("SELECT count(DISTINCT label) FROM label_events")
        start, cpu = time.perf_counter(), time.process_time()
        drift = summary._drift(store, None)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"events": int(events), "labels": int(distinct), "seconds": seconds, "cpu": cpu,
            "peak_rss": peak_rss(),
            "followed": len(drift.get("labels_followed", [])), "pooled": drift.get("other_labels"),
            "changes": len(drift["change_points"])}


def report(results: list[dict], command: str) -> str:
    info = machine()
    rows = [[f"{r['k']:,} ({r['labels']:,} used)", label(r["events"]),
             f"{r['followed']} + {r['pooled']:,} pooled",
             f"{r['seconds']:.2f}", f"{r['cpu']:.2f}", f"{r['peak_rss'] / 2**20:,.0f} MB", str(r["changes"])]
            for r in results]
    largest = max(results, key=lambda r: r["k"])
    verdicts = [
        [f"drift part of summary at K = {largest['k']:,} < {TARGET_S:g} s", f"{largest['seconds']:.2f} s",
         "pass" if largest["seconds"] < TARGET_S else "**FAIL**"],
        [f"its peak RSS < {TARGET_RSS / 2**30:g} GB", f"{largest['peak_rss'] / 2**20:,.0f} MB",
         "pass" if largest["peak_rss"] < TARGET_RSS else "**FAIL**"],
    ]
    intro = " ".join((__doc__ or "").split("\n\n")[1].split())
    return "\n".join([
        BEGIN, "## Drift with many labels (`bench/drift_labels.py`)", "", intro, "",
        f"Command: `{command}`  ",
        f"Machine: {info['cores']} cores, {info['ram']} RAM, {info['cpu']}; Python {info['python']}, "
        f"{info['versions']}  ",
        f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC", "",
        table(["labels K (in the events)", "events", "label shares tested", "drift s (wall)", "drift s (CPU)",
               "peak RSS", "changes found"], rows), "",
        table(["target", "measured", "result"], verdicts), "",
        END, "",
    ])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        print(json.dumps(child(argv[1])))
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--labels", default="1000,10000", help="comma-separated numbers of labels")
    parser.add_argument("--items", type=int, default=100_000, help="items (three ratings each)")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "bench" / "_work")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    results = []
    for k in (int(float(part)) for part in args.labels.split(",")):
        path = build(args.work_dir, k, args.items)
        out = subprocess.run([sys.executable, __file__, "--child", str(path)], capture_output=True, text=True,
                             check=True, cwd=ROOT)
        results.append({"k": k, **json.loads(out.stdout.strip().splitlines()[-1])})
    section = report(results, ".venv/bin/python bench/drift_labels.py " + " ".join(argv))
    print(section)
    if args.out:
        write_section(args.out, section, begin=BEGIN, end=END)


if __name__ == "__main__":
    main()
