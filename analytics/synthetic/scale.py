"""Synthetic stores of any size for benchmarks: N label events streamed to Parquet/CSV in chunks.

The world is the digits demo's (``analytics.synthetic.simulation``) without the images: K = 10 classes, a
pool of M
annotators (default 1,000; 5 % experts, 78 % crowd, 2 % spammers hidden in the crowd cohort, 15 % vendor
joining on ``VENDOR_JOINS_AT``) with skewed (log-normal) workloads, 2–5 distinct annotators per item,
timestamps over the six-month period, guideline ``v1``/``v2`` by date, and ``source = fax`` about 3×
noisier. Items carry a ``split``, 16-dim class-conditional Gaussian ``features`` and the slice attributes
``source`` and ``region``.

Chunk ``c`` of the output is a pure function of ``(seed, c)``: item ids are ``s<seed>-c<c>-<i>`` and each
chunk draws from ``numpy.random.default_rng([seed, c, stream])``, so memory stays flat whatever N is, and
events and items files can be written separately and still agree. The last item of a chunk may have fewer
labels so that the chunk holds exactly ``chunk_size`` events.
"""

from __future__ import annotations

import dataclasses
import math
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from analytics.synthetic.simulation import (
    GUIDELINE_CHANGE_AT,
    LABELS,
    PERIOD_END,
    PERIOD_START,
    REGIONS,
    SOURCES,
    VENDOR_JOINS_AT,
    epoch_seconds,
    guidelines_frame,
    noisy_labels,
    slice_error_multiplier,
    vocabulary_frame,
)

__all__ = ["ScaleBuild", "write_scale_events", "write_scale_items", "write_scale_lake", "build_scale_store",
           "build_scale_lake_store"]

DATASET = "scale"
N_FEATURES = 16
#: role -> (share of the pool, cohort, accuracy range, share of errors on the confusable partner)
POOL = {
    "expert": (0.05, "expert", (0.96, 0.99), 0.0),
    "crowd": (0.78, "crowd", (0.72, 0.90), 0.7),
    "spammer": (0.02, "crowd", (0.1, 0.1), 0.0),
    "vendor": (0.15, "vendor", (0.60, 0.72), 0.5),
}
_STREAM_SKELETON, _STREAM_EVENTS, _STREAM_ITEMS, _STREAM_POOL = 0, 1, 2, 3
_FORMATS = ("parquet", "csv")


@dataclasses.dataclass(frozen=True)
class ScaleBuild:
    """What ``build_scale_store`` wrote: event and item counts and the batch reports from ingest."""

    n_events: int
    n_items: int
    reports: tuple[Any, ...]


def write_scale_events(
    path_dir: str | Path,
    n_events: int,
    *,
    seed: int = 0,
    n_annotators: int = 1000,
    chunk_size: int = 1_000_000,
    fmt: str = "parquet",
) -> list[Path]:
    """Stream ``n_events`` synthetic label events to files of at most ``chunk_size`` rows.

    Parameters
    ----------
    path_dir : str or Path
        Folder for the files (created); files are ``events-00000.parquet`` (or ``.csv``), ….
    n_events : int
        Total number of events.
    seed : int
        Seed; chunk ``c`` depends only on ``(seed, c)``.
    n_annotators : int
        M, the size of the annotator pool.
    chunk_size : int
        Events per file; peak memory grows with it, not with ``n_events``.
    fmt : {"parquet", "csv"}
        File format.

    Returns
    -------
    list of Path
        The files written, in order.

    Notes
    -----
    Columns: ``item_id, annotator_id, label, labeled_at, guideline_version, cohort, confidence, dataset``.
    """
    if fmt not in _FORMATS:
        raise ValueError(f"unknown fmt {fmt!r}; use one of {', '.join(_FORMATS)}")
    pool = _pool(seed, n_annotators)
    out = Path(path_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for c, skeleton in _skeletons(seed, n_events, chunk_size):
        path = out / f"events-{c:05d}.{fmt}"
        _write(_events_table(np.random.default_rng([seed, c, _STREAM_EVENTS]), skeleton, pool), path, fmt)
        paths.append(path)
    return paths


def write_scale_items(
    path_dir: str | Path, n_events: int, *, seed: int = 0, chunk_size: int = 1_000_000
) -> list[Path]:
    """Write the items (Parquet) behind ``write_scale_events`` with the same ``n_events``, ``seed`` and
    ``chunk_size``.

    Returns
    -------
    list of Path
        ``items-00000.parquet``, …: ``item_id, dataset, split, created_at, features (16 floats), source,
        region``.
    """
    out = Path(path_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for c, skeleton in _skeletons(seed, n_events, chunk_size):
        path = out / f"items-{c:05d}.parquet"
        pq.write_table(_items_table(seed, c, skeleton), path)
        paths.append(path)
    return paths


def build_scale_store(
    store: Any,
    n_events: int,
    *,
    seed: int = 0,
    n_annotators: int = 1000,
    chunk_size: int = 1_000_000,
    fmt: str = "parquet",
    work_dir: str | Path | None = None,
    progress: Callable[[float, str], None] | None = None,
) -> ScaleBuild:
    """Write a synthetic store of ``n_events`` events: vocabulary, guidelines, items, then events.

    Parameters
    ----------
    store : analytics.store.Store
        An open, writable store.
    n_events, seed, n_annotators, chunk_size, fmt
        As for ``write_scale_events``.
    work_dir : str or Path or None
        Where to keep the generated files; ``None`` uses a temporary folder removed afterwards.
    progress : callable(fraction, message) or None
        Called before each step with the fraction done (0–1) and a message.

    Returns
    -------
    ScaleBuild
    """
    from analytics.ingest import pipeline as ingest

    report = progress or (lambda fraction, message: None)
    with tempfile.TemporaryDirectory(prefix="labelwatch-scale-") as tmp:
        folder = Path(work_dir) if work_dir is not None else Path(tmp)
        reports = _import_dimensions(store, seed)
        report(0.0, f"Writing items for {n_events:,} events")
        item_files = write_scale_items(folder, n_events, seed=seed, chunk_size=chunk_size)
        report(0.1, f"Writing {n_events:,} events")
        event_files = write_scale_events(folder, n_events, seed=seed, n_annotators=n_annotators,
                                         chunk_size=chunk_size, fmt=fmt)
        files = [("items", p) for p in item_files] + [("events", p) for p in event_files]
        for i, (kind, path) in enumerate(files):
            report(0.2 + 0.8 * i / len(files), f"Importing {path.name}")
            reports.append(ingest.ingest(store, path, kind=kind, dataset=DATASET, created_by="scale",
                                         refresh=False))
    store.refresh_derived()
    report(1.0, "Scale store ready")
    n_items = sum(r.rows_accepted for r, (kind, _) in zip(reports[2:], files, strict=True) if kind == "items")
    return ScaleBuild(n_events=n_events, n_items=n_items, reports=tuple(reports))


def write_scale_lake(
    lake_dir: str | Path,
    n_events: int,
    *,
    seed: int = 0,
    n_annotators: int = 1000,
    chunk_size: int = 1_000_000,
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, int]:
    """Write the same synthetic world as ``build_scale_store`` as a Parquet lake (``analytics.store.lake``).

    Parameters
    ----------
    lake_dir : str or Path
        The lake folder (created; it must not hold an ``events`` folder already).
    n_events, seed, n_annotators, chunk_size
        As for ``write_scale_events``: the lake holds the events and items a store built with the same
        arguments imports, chunk by chunk.
    progress : callable(fraction, message) or None
        Called before each chunk.

    Returns
    -------
    dict of str to int
        Rows written per folder.

    Notes
    -----
    Layout: ``events/month=YYYY-MM/part-<chunk>.parquet`` (hive-partitioned by the month of ``labeled_at``;
    ``event_id`` numbers the events in the order a store would import them), ``items/part-<chunk>.parquet``,
    ``item_attributes/part-<chunk>.parquet`` (``source`` and ``region``) and ``annotators/part-0.parquet``
    (the pool's cohorts). The label vocabulary and the guideline versions are not lake folders: import them
    into the store (``build_scale_lake_store`` does).
    """
    root = Path(lake_dir)
    if (root / "events").exists():
        raise FileExistsError(f"{root / 'events'} exists already; write the lake into a new folder")
    report = progress or (lambda fraction, message: None)
    pool = _pool(seed, n_annotators)
    (root / "annotators").mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"annotator_id": pool["annotator_id"], "cohort": pool["cohort"]}),
                   root / "annotators" / "part-0.parquet")
    counts = {"events": 0, "items": 0, "item_attributes": 0, "annotators": n_annotators}
    chunks = math.ceil(n_events / chunk_size)
    for c, skeleton in _skeletons(seed, n_events, chunk_size):
        report(c / chunks, f"Writing chunk {c + 1:,} of {chunks:,}")
        items = _items_table(seed, c, skeleton)
        for folder in ("items", "item_attributes"):
            (root / folder).mkdir(exist_ok=True)
        pq.write_table(items.select(["item_id", "dataset", "split", "created_at", "features"]),
                       root / "items" / f"part-{c:05d}.parquet")
        attributes = pa.concat_tables([
            pa.table({"item_id": items["item_id"], "key": pa.repeat(pa.scalar(key), items.num_rows),
                      "value": items[key]})
            for key in ("source", "region")
        ])
        pq.write_table(attributes, root / "item_attributes" / f"part-{c:05d}.parquet")
        events = _events_table(np.random.default_rng([seed, c, _STREAM_EVENTS]), skeleton, pool)
        first = c * chunk_size + 1
        events = events.select(["item_id", "annotator_id", "label", "labeled_at", "guideline_version",
                                "confidence"])
        events = events.add_column(0, "event_id", pa.array(np.arange(first, first + events.num_rows)))
        events = events.sort_by("labeled_at")  # row groups then cover short spans: time filters skip most
        month = pc.strftime(events["labeled_at"], format="%Y-%m")
        for value in pc.unique(month).to_pylist():
            folder = root / "events" / f"month={value}"
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(events.filter(pc.equal(month, value)), folder / f"part-{c:05d}.parquet")
        counts["events"] += events.num_rows
        counts["items"] += items.num_rows
        counts["item_attributes"] += attributes.num_rows
    report(1.0, "Lake written")
    return counts


def build_scale_lake_store(
    store: Any,
    lake_dir: str | Path,
    n_events: int,
    *,
    seed: int = 0,
    n_annotators: int = 1000,
    chunk_size: int = 1_000_000,
    progress: Callable[[float, str], None] | None = None,
) -> dict[str, int]:
    """Write the synthetic world as a lake (``write_scale_lake``), import its vocabulary and guidelines into
    ``store`` (an open, writable store without imported events) and bind the store to the lake.

    Returns
    -------
    dict of str to int
        Rows written per lake folder.
    """
    counts = write_scale_lake(lake_dir, n_events, seed=seed, n_annotators=n_annotators,
                              chunk_size=chunk_size, progress=progress)
    _import_dimensions(store, seed)
    store.read_lake(lake_dir)
    return counts


# --- private helpers -------------------------------------------------------------------------------------


def _import_dimensions(store: Any, seed: int) -> list[Any]:
    """Import the world's label vocabulary and guideline versions; their validation reports."""
    from analytics.ingest import pipeline as ingest

    return [
        ingest.ingest(store, vocabulary_frame(), kind="vocabulary", name=f"scale:seed={seed}/vocabulary",
                      dataset=DATASET, created_by="scale"),
        ingest.ingest(store, guidelines_frame(), kind="guidelines", name=f"scale:seed={seed}/guidelines",
                      dataset=DATASET, created_by="scale"),
    ]


def _pool(seed: int, n_annotators: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng([seed, _STREAM_POOL, 0])
    role_names = np.array(list(POOL))
    role = role_names[rng.choice(len(POOL), size=n_annotators, p=[v[0] for v in POOL.values()])]
    lo = np.array([POOL[r][2][0] for r in role])
    hi = np.array([POOL[r][2][1] for r in role])
    weight = rng.lognormal(0.0, 1.0, n_annotators)
    vendor = role == "vendor"
    return {
        "annotator_id": pa.array([f"w{i:05d}" for i in range(n_annotators)]),
        "cohort": pa.array([POOL[r][1] for r in role]),
        "accuracy": rng.uniform(lo, hi),
        "partner_share": np.array([POOL[r][3] for r in role]),
        "spammer": role == "spammer",
        "p_before": np.where(vendor, 0.0, weight) / np.where(vendor, 0.0, weight).sum(),
        "p_after": weight / weight.sum(),
    }


def _skeletons(seed: int, n_events: int, chunk_size: int) -> Iterator[tuple[int, dict[str, Any]]]:
    """Per chunk: its items' ids, label counts, true classes, slices and queue times."""
    span = epoch_seconds(PERIOD_END) - epoch_seconds(PERIOD_START) - 8 * 86400
    for c in range(math.ceil(n_events / chunk_size)):
        n_chunk = min(chunk_size, n_events - c * chunk_size)
        rng = np.random.default_rng([seed, c, _STREAM_SKELETON])
        k = rng.integers(2, 6, n_chunk // 2 + 1)
        n_items = int(np.searchsorted(np.cumsum(k), n_chunk)) + 1
        k = k[:n_items]
        k[-1] -= int(k.sum()) - n_chunk
        numbers = pc.utf8_lpad(pa.array(np.arange(n_items)).cast(pa.string()), 7, "0")
        yield c, {
            "item_id": pc.binary_join_element_wise(f"s{seed}-c{c:05d}", numbers, "-"),
            "k": k,
            "truth": rng.integers(0, len(LABELS), n_items),
            "source": rng.choice([s for s, _ in SOURCES], size=n_items, p=[p for _, p in SOURCES]),
            "region": rng.integers(0, len(REGIONS), n_items),
            "queued": epoch_seconds(PERIOD_START) + rng.uniform(0, span, n_items),
        }


def _items_table(seed: int, c: int, skeleton: dict[str, Any]) -> pa.Table:
    """Chunk ``c``'s items: ``item_id, dataset, split, created_at, features (16 floats), source, region``."""
    means = np.random.default_rng([seed, _STREAM_POOL, 1]).normal(0.0, 2.0, (len(LABELS), N_FEATURES))
    rng = np.random.default_rng([seed, c, _STREAM_ITEMS])
    n = len(skeleton["truth"])
    values = (means[skeleton["truth"]] + rng.normal(0.0, 1.0, (n, N_FEATURES))).astype(np.float32)
    features = pa.FixedSizeListArray.from_arrays(pa.array(values.ravel()), N_FEATURES).cast(
        pa.list_(pa.float32())
    )
    return pa.table({
        "item_id": skeleton["item_id"],
        "dataset": pa.repeat(pa.scalar(DATASET), n),
        "split": np.where(rng.random(n) < 0.1, "eval", "train"),
        "created_at": _timestamp_array(skeleton["queued"] - 86400.0),
        "features": features,
        "source": skeleton["source"],
        "region": np.asarray(REGIONS)[skeleton["region"]],
    })


def _events_table(rng: np.random.Generator, skeleton: dict[str, Any], pool: dict[str, Any]) -> pa.Table:
    item = np.repeat(np.arange(len(skeleton["k"])), skeleton["k"])
    before = skeleton["queued"][item] < epoch_seconds(VENDOR_JOINS_AT)
    ann = _distinct_annotators(rng, item, before, pool)
    times = skeleton["queued"][item] + np.minimum(rng.exponential(1.5 * 86400, len(item)), 6 * 86400)
    true_k = skeleton["truth"][item]
    spammer = pool["spammer"][ann]
    slice_mult = slice_error_multiplier(skeleton["source"])[item]
    labels = noisy_labels(
        rng,
        true_k,
        p_error=np.minimum((1 - pool["accuracy"][ann]) * slice_mult, 0.9),
        partner_share=pool["partner_share"][ann],
        random_label=spammer,
    )
    confidence = np.where(labels == true_k, rng.beta(8, 2, len(item)), rng.beta(3, 3, len(item)))
    ann_idx = pa.array(ann)
    return pa.table({
        "item_id": skeleton["item_id"].take(pa.array(item)),
        "annotator_id": pool["annotator_id"].take(ann_idx),
        "label": pa.array(LABELS).take(pa.array(labels)),
        "labeled_at": _timestamp_array(times),
        "guideline_version": np.where(times < epoch_seconds(GUIDELINE_CHANGE_AT), "v1", "v2"),
        "cohort": pool["cohort"].take(ann_idx),
        "confidence": np.round(np.where(spammer, rng.random(len(item)), confidence), 2),
        "dataset": pa.repeat(pa.scalar(DATASET), len(item)),
    })


def _distinct_annotators(rng: np.random.Generator, item: np.ndarray, before: np.ndarray,
                         pool: dict[str, Any]) -> np.ndarray:
    """Weighted annotator draws, redrawn until no item has the same annotator twice."""
    m = len(pool["p_after"])
    ann = np.empty(len(item), dtype=np.int64)
    todo = np.arange(len(item))
    while len(todo):
        b = before[todo]
        ann[todo[b]] = rng.choice(m, size=int(b.sum()), p=pool["p_before"])
        ann[todo[~b]] = rng.choice(m, size=int((~b).sum()), p=pool["p_after"])
        key = item * m + ann
        order = np.argsort(key, kind="stable")
        repeated = np.zeros(len(item), dtype=bool)
        repeated[order[1:]] = key[order[1:]] == key[order[:-1]]
        todo = np.flatnonzero(repeated)
    return ann


def _timestamp_array(seconds: np.ndarray) -> pa.Array:
    return pa.array(np.round(seconds).astype(np.int64) * 1_000_000, type=pa.timestamp("us"))


def _write(table: pa.Table, path: Path, fmt: str) -> None:
    if fmt == "parquet":
        pq.write_table(table, path)
    else:
        pa_csv.write_csv(table, path)
