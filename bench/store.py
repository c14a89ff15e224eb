"""Store benchmark: import throughput, store size, peak memory and the Overview page's queries at scale.

Usage::

    .venv/bin/python bench/store.py --sizes 1e5,1e6,1e7 --out bench/README.md

For each size N the synthetic world of ``analytics.synthetic.scale`` is written once to ``--work-dir``
(events as
Parquet and as CSV, items as Parquet; reused by later runs with the same N). Every measurement then runs in
a fresh child process of this script, so its peak resident memory (``ru_maxrss``) is its own:

* **import**: a fresh store gets the vocabulary, guidelines and items (timed apart), then a second child
  imports the events file by file with ``analytics.ingest.pipeline`` (``prepare`` = validation, ``commit`` =
  write),
  once from Parquet and once from CSV. Reported: events/s over both steps, peak RSS of the events child,
  size of the store file (plus its ``.wal``, if any) after the child closed it.
* **baseline** (same run): DuckDB's bare load of the same files into a fresh database, no validation
  (``CREATE TABLE t AS SELECT * FROM read_parquet([...])`` / ``read_csv``) with the same memory limit.
  The ratio is our events/s over the bare load's.
* **overview**: the queries the Overview page runs (``pages/monitor/overview.py`` through ``ui.loaders``:
  source version, ``filter_options``, ``overview_summary``, ``trend``, ``activity`` by week with
  ``approx_items`` above ``sampling.COUNTS_EVENT_LIMIT``, ``agreement_by_period`` by week with the page's
  ``sample_modulus``, ``label_distribution``; the labels-per-item histogram comes with the summary), one by
  one: cold = first run in a fresh process (the OS page cache is not dropped), warm = second run in the
  same process (DuckDB's buffers warm; Streamlit's cache is not involved). Once with no filter and once
  with a cohort and slice filter. The items the page shows are checked against an exact count (their
  error, and whether the page said they are an estimate).
* **query baselines** (same run): a bare ``SELECT count(*) FROM label_events`` (the floor), and pandas
  computing totals, label distribution and weekly activity per cohort from the events loaded into a
  DataFrame, against DuckDB's ``totals`` + ``label_distribution`` + exact ``activity``.

This replaces ``bench/ingest_throughput.py`` (in-process import of a 4-column file): its prepare/commit split
is kept in the import measurement.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from analytics.core import sampling  # noqa: E402
from analytics.core.schema import EventFilter  # noqa: E402
from analytics.ingest import pipeline as ingest  # noqa: E402
from analytics.monitoring import overview  # noqa: E402
from analytics.store import Store, batches  # noqa: E402
from analytics.store import overview as queries  # noqa: E402
from analytics.store.connection import DEFAULT_MEMORY_LIMIT  # noqa: E402
from analytics.synthetic import scale  # noqa: E402
from analytics.synthetic.simulation import guidelines_frame, vocabulary_frame  # noqa: E402

#: Targets: import, size, memory and Overview query times (checked against these in the report).
PARQUET_TARGET = 1_000_000  # events/s
CSV_TARGET = 300_000  # events/s
QUERY_TARGET = 1.0  # seconds for the Overview page's queries on 1e7 events
MEMORY_TARGET = 2 * 1024**3  # bytes, peak RSS of a 1e7 import
TARGET_SIZE = 10_000_000

#: The filtered case: what a user who looks at one cohort and one slice sees.
FILTERED = EventFilter(cohorts=("crowd",), attribute="source", attribute_value="fax")
GRAIN = "week"  # the page's default period
TREND_DAYS = 30

FORMAT_NAMES = {"parquet": "Parquet", "csv": "CSV"}
SECTION_BEGIN = "<!-- bench/store.py: begin -->"
SECTION_END = "<!-- bench/store.py: end -->"


# --- child processes ------------------------------------------------------------------------------------


def peak_rss() -> int:
    """Peak resident memory of this process so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def child_setup(store_path: str, items: list[str]) -> dict:
    """Create a fresh store with the scale world's vocabulary, guidelines and items.

    Parameters
    ----------
    store_path : str
        The DuckDB file to create (removed first, with its ``.wal``).
    items : list of str
        Item Parquet files from ``analytics.synthetic.scale.write_scale_items``.

    Returns
    -------
    dict
        ``items`` (rows accepted), ``seconds`` (items import), ``peak_rss``.
    """
    remove_store(Path(store_path))
    with Store(store_path) as store:
        ingest.ingest(store, vocabulary_frame(), kind="vocabulary", name="bench/vocabulary",
                      dataset=scale.DATASET, created_by="bench")
        ingest.ingest(store, guidelines_frame(), kind="guidelines", name="bench/guidelines",
                      dataset=scale.DATASET, created_by="bench")
        start = time.perf_counter()
        accepted = sum(
            ingest.ingest(store, path, kind="items", dataset=scale.DATASET, created_by="bench").rows_accepted
            for path in items
        )
        seconds = time.perf_counter() - start
    return {"items": accepted, "seconds": seconds, "peak_rss": peak_rss()}


def child_import(store_path: str, events: list[str]) -> dict:
    """Import event files into a store, one batch per file, timing validation and writing apart.

    Parameters
    ----------
    store_path : str
        A store prepared by ``child_setup``.
    events : list of str
        Event files (all Parquet or all CSV).

    Returns
    -------
    dict
        ``accepted``, ``rejected``, ``prepare_s``, ``commit_s``, ``seconds`` (both), ``peak_rss``.
    """
    prepare_s = commit_s = 0.0
    accepted = rejected = 0
    with Store(store_path) as store:
        for path in events:
            start = time.perf_counter()
            prepared = ingest.prepare(store, path, kind="events", dataset=scale.DATASET)
            validated = time.perf_counter()
            report = ingest.commit(store, prepared, created_by="bench")
            prepare_s += validated - start
            commit_s += time.perf_counter() - validated
            accepted += report.rows_accepted
            rejected += report.rows_rejected
    return {"accepted": accepted, "rejected": rejected, "prepare_s": prepare_s, "commit_s": commit_s,
            "seconds": prepare_s + commit_s, "peak_rss": peak_rss()}


def child_bare_load(db_path: str, events: list[str], fmt: str) -> dict:
    """The baseline: DuckDB loads the same files into a fresh database with no validation at all.

    Same memory limit as a ``Store``; DuckDB's default thread count (the number of cores).

    Returns
    -------
    dict
        ``rows``, ``seconds``, ``peak_rss``, ``size`` (database file after closing it).
    """
    remove_store(Path(db_path))
    reader = "read_parquet(?)" if fmt == "parquet" else "read_csv(?)"
    con = duckdb.connect(db_path, config={"memory_limit": DEFAULT_MEMORY_LIMIT})
    start = time.perf_counter()
    con.execute("CREATE TABLE t AS SELECT * FROM " + reader, [events])
    seconds = time.perf_counter() - start
    rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    con.close()
    return {"rows": rows, "seconds": seconds, "peak_rss": peak_rss(), "size": store_size(Path(db_path))}


def overview_page(store: Store, flt: EventFilter) -> dict:
    """Run the Overview page's reads in the page's order and with its arguments, timing each one.

    Mirrors ``app.py`` (``loaders.source``, ``loaders.filter_options``) and ``pages/monitor/overview.py``
    (``loaders.summary`` = ``overview_summary`` + ``trend``, then activity, agreement over time, label
    distribution, labels per item), calling the functions behind the cached loaders directly.

    A read that raises a DuckDB error (e.g. out of memory) is recorded in ``errors`` and the page goes on,
    so the other reads are still timed; the real page would stop there with the error.

    Returns
    -------
    dict
        ``seconds`` (query name -> seconds, in page order), ``errors`` (query name -> first line of the
        error), ``events`` (filtered events), ``approx_items`` and ``sample_modulus`` (as the page decides).
    """
    seconds: dict[str, float] = {}
    errors: dict[str, str] = {}

    def timed(name: str, call: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        try:
            result = call()
        except duckdb.Error as exc:
            errors[name] = type(exc).__name__ + ": " + str(exc).strip().splitlines()[0]
            result = None
        seconds[name] = time.perf_counter() - start
        return result

    timed("source version (list_batches)", lambda: batches.list_batches(store))
    timed("filter_options", lambda: queries.filter_options(store))
    summary = timed("overview_summary", lambda: overview.overview_summary(store, flt))
    timed("trend (30 days)", lambda: overview.trend(store, flt, days=TREND_DAYS, summary=summary))
    events = summary.events if summary is not None else queries.totals(store, flt)["events"]
    large = summary.estimated if summary is not None else events > sampling.COUNTS_EVENT_LIMIT
    modulus = sampling.sample_modulus(events)
    timed("activity (week)", lambda: queries.activity(store, flt, grain=GRAIN, approx_items=large))
    timed("agreement_by_period (week)",
          lambda: queries.agreement_by_period(store, flt, grain=GRAIN, sample_modulus=modulus))
    timed("label_distribution", lambda: queries.label_distribution(store, flt))
    items = None
    if summary is not None:
        items = {"shown": summary.items, "estimated": summary.items_estimated,
                 "items_modulus": summary.item_count.sample_modulus}
    return {"seconds": seconds, "errors": errors, "events": events, "approx_items": large,
            "sample_modulus": modulus, "items": items}


def child_queries(store_path: str, filtered: bool) -> dict:
    """The Overview page twice in a fresh process (cold, then warm), then the DuckDB side of the baselines.

    Parameters
    ----------
    store_path : str
        An imported store; opened as the app opens it (``Store(path)``, default memory limit).
    filtered : bool
        Use ``FILTERED`` instead of the empty filter.

    Returns
    -------
    dict
        ``cold`` and ``warm`` (from ``overview_page``), ``count_s`` (bare count(*) scan, warm),
        ``pandas_equivalent_s`` (totals + label_distribution + exact activity, warm), ``totals``,
        ``peak_rss``.
    """
    flt = FILTERED if filtered else EventFilter()
    with Store(store_path) as store:
        cold = overview_page(store, flt)
        warm = overview_page(store, flt)
        start = time.perf_counter()
        store.scalar("SELECT count(*) FROM label_events")
        count_s = time.perf_counter() - start
        start = time.perf_counter()
        totals = queries.totals(store, flt)
        if cold["items"] is not None:
            cold["items"]["exact"] = totals["items"]
        queries.label_distribution(store, flt)
        queries.activity(store, flt, grain=GRAIN, approx_items=False)
        equivalent_s = time.perf_counter() - start
    totals = {k: totals[k] for k in ("events", "items", "annotators", "labels")}
    return {"cold": cold, "warm": warm, "count_s": count_s, "pandas_equivalent_s": equivalent_s,
            "totals": totals, "peak_rss": peak_rss()}


def child_pandas(events: list[str]) -> dict:
    """The pandas baseline: totals, label distribution and weekly activity per cohort from a DataFrame.

    The events are read from the Parquet files (their ``cohort`` column is the annotator's cohort, which
    the store joins from ``annotators``); distinct items per week and cohort are exact.

    Returns
    -------
    dict
        ``load_s`` (Parquet to DataFrame), ``compute_s``, ``totals`` (to check against the store),
        ``peak_rss``.
    """
    import pyarrow.parquet as pq

    start = time.perf_counter()
    frame = pq.read_table(
        events, columns=["item_id", "annotator_id", "label", "labeled_at", "cohort"]
    ).to_pandas()
    loaded = time.perf_counter()
    totals = {
        "events": len(frame),
        "items": frame["item_id"].nunique(),
        "annotators": frame["annotator_id"].nunique(),
        "labels": frame["label"].nunique(),
    }
    _ = frame["labeled_at"].min(), frame["labeled_at"].max()
    counts = frame["label"].value_counts()
    _ = counts / counts.sum()
    week = frame["labeled_at"].dt.to_period("W").dt.start_time
    frame.groupby([week, frame["cohort"].fillna("unknown")]).agg(
        events=("item_id", "size"), items=("item_id", "nunique"),
        annotators=("annotator_id", "nunique"), labels=("label", "nunique"),
    )
    compute_s = time.perf_counter() - loaded
    return {"load_s": loaded - start, "compute_s": compute_s, "totals": totals, "peak_rss": peak_rss()}


CHILDREN: dict[str, Callable[..., dict]] = {
    "setup": child_setup, "import": child_import, "bare_load": child_bare_load,
    "queries": child_queries, "pandas": child_pandas,
}


def run_child(task: str, **kwargs: Any) -> dict:
    """Run ``CHILDREN[task](**kwargs)`` in a fresh Python process and return its result.

    Raises
    ------
    RuntimeError
        The child failed; the message carries its stderr.
    """
    command = [sys.executable, str(Path(__file__).resolve()), "--child", task, json.dumps(kwargs)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"child {task} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- files and stores -----------------------------------------------------------------------------------


def store_size(path: Path) -> int:
    """Bytes on disk of a DuckDB file plus its ``.wal`` (if any)."""
    return sum(p.stat().st_size for p in (path, Path(str(path) + ".wal")) if p.exists())


def remove_store(path: Path) -> None:
    """Delete a DuckDB file and its ``.wal``, if present."""
    for p in (path, Path(str(path) + ".wal")):
        p.unlink(missing_ok=True)


def scale_files(work_dir: Path, n: int, *, seed: int = 0) -> dict[str, list[str]]:
    """Write (or reuse) the scale world's files for ``n`` events under ``work_dir/<n>/``.

    Returns
    -------
    dict
        ``parquet`` and ``csv`` (event files) and ``items`` (item files), as path strings;
        ``generate_s`` is added when the files were written in this call.
    """
    folder = work_dir / f"{n}"
    manifest = folder / "manifest.json"
    if manifest.exists():
        files = json.loads(manifest.read_text())
        if files.get("seed") == seed and all(Path(p).exists() for key in ("parquet", "csv", "items")
                                             for p in files[key]):
            return files
    start = time.perf_counter()
    files = {
        "seed": seed,
        "items": [str(p) for p in scale.write_scale_items(folder / "items", n, seed=seed)],
        "parquet": [str(p) for p in scale.write_scale_events(folder / "parquet", n, seed=seed)],
        "csv": [str(p) for p in scale.write_scale_events(folder / "csv", n, seed=seed, fmt="csv")],
    }
    manifest.write_text(json.dumps(files))
    return {**files, "generate_s": time.perf_counter() - start}


def bench_size(work_dir: Path, n: int) -> dict:
    """All measurements for one size; see the module docstring.

    Returns
    -------
    dict
        ``n``, ``items``, ``items_s``, ``import`` (format -> ours, bare, size), ``queries`` (``all`` and
        ``filtered``), ``pandas``.
    """
    files = scale_files(work_dir, n)
    folder = work_dir / f"{n}"
    if "generate_s" in files:
        print(f"  wrote files in {files['generate_s']:.1f} s", flush=True)
    result: dict[str, Any] = {"n": n, "import": {}, "queries": {}}
    for fmt in ("parquet", "csv"):
        path = folder / f"store-{fmt}.duckdb"
        setup = run_child("setup", store_path=str(path), items=files["items"])
        result["items"], result["items_s"] = setup["items"], setup["seconds"]
        ours = run_child("import", store_path=str(path), events=files[fmt])
        if ours["accepted"] != n:
            raise RuntimeError(f"{fmt}: {ours['accepted']:,} of {n:,} events accepted")
        bare = run_child("bare_load", db_path=str(folder / f"bare-{fmt}.duckdb"), events=files[fmt], fmt=fmt)
        result["import"][fmt] = {"ours": ours, "bare": bare, "size": store_size(path)}
        print(f"  {fmt:8s} import {n / ours['seconds']:>12,.0f} events/s "
              f"(bare {n / bare['seconds']:,.0f}), peak RSS {ours['peak_rss'] / 2**20:,.0f} MB", flush=True)
    store_path = str(folder / "store-parquet.duckdb")
    for case, filtered in (("all", False), ("filtered", True)):
        result["queries"][case] = run_child("queries", store_path=store_path, filtered=filtered)
        q = result["queries"][case]
        print(f"  overview ({case}): cold {sum(q['cold']['seconds'].values()):.2f} s, "
              f"warm {sum(q['warm']['seconds'].values()):.2f} s", flush=True)
        for run in ("cold", "warm"):
            for name, error in q[run]["errors"].items():
                print(f"    {run} {name} FAILED: {error}", flush=True)
    result["pandas"] = run_child("pandas", events=files["parquet"])
    if result["pandas"]["totals"] != result["queries"]["all"]["totals"]:
        raise RuntimeError(f"pandas and the store disagree: {result['pandas']['totals']} vs "
                           f"{result['queries']['all']['totals']}")
    return result


# --- report ---------------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """Cores, RAM, CPU model and library versions of this machine."""
    model = "unknown"
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as meminfo:
        ram_kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    import pandas
    import pyarrow

    versions = f"duckdb {duckdb.__version__}, pandas {pandas.__version__}, pyarrow {pyarrow.__version__}"
    return {
        "cores": str(len(os.sched_getaffinity(0))),
        "ram": f"{ram_kb / 2**20:.1f} GiB",
        "cpu": model,
        "python": platform.python_version(),
        "versions": versions,
    }


def label(n: int) -> str:
    """``10000000`` -> ``1e7`` (sizes are powers of ten in practice)."""
    exponent = len(str(n)) - 1
    return f"1e{exponent}" if n == 10**exponent else f"{n:,}"


def mb(nbytes: float) -> str:
    return f"{nbytes / 2**20:,.0f} MB"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table (numbers right-aligned after the first column)."""
    align = ["---"] + ["---:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def import_table(results: list[dict]) -> str:
    rows = []
    for r in results:
        n = r["n"]
        for fmt, m in r["import"].items():
            ours, bare = m["ours"], m["bare"]
            rows.append([
                f"{label(n)} {fmt}", f"{n / ours['seconds']:,.0f}", f"{ours['prepare_s']:.2f}",
                f"{ours['commit_s']:.2f}", f"{n / bare['seconds']:,.0f}",
                f"{bare['seconds'] / ours['seconds']:.2f}",
                mb(ours["peak_rss"]), mb(bare["peak_rss"]), mb(m["size"]), mb(bare["size"]),
            ])
    return table(
        ["events, format", "ours events/s", "validate s", "write s", "bare DuckDB events/s", "ours / bare",
         "peak RSS ours", "peak RSS bare", "store size", "bare table size"],
        rows,
    )


def seconds_cell(page: dict, name: str) -> str:
    """Seconds of one read of ``overview_page``'s result, or the error it failed with."""
    error = page["errors"].get(name)
    if error is None:
        return f"{page['seconds'][name]:.3f}"
    return f"**failed after {page['seconds'][name]:.3f}** ({error.split(':')[0]})"


def query_table(r: dict) -> str:
    every, flt = r["queries"]["all"], r["queries"]["filtered"]
    names = list(every["cold"]["seconds"])
    rows = [
        [name] + [seconds_cell(case[run], name) for case in (every, flt) for run in ("cold", "warm")]
        for name in names
    ]
    rows.append(["**total (page)**"] + [
        f"**{sum(case[run]['seconds'].values()):.3f}**" + (" (with failures)" if case[run]["errors"] else "")
        for case in (every, flt) for run in ("cold", "warm")
    ])
    rows.append(["floor: `SELECT count(*) FROM label_events`", "", f"{every['count_s']:.3f}", "", ""])
    pandas = r["pandas"]
    rows.append(["same three in DuckDB: totals, label_distribution, exact activity", "",
                 f"{every['pandas_equivalent_s']:.3f}", "", ""])
    rows.append(["baseline: pandas, same three (DataFrame in memory)", "",
                 f"{pandas['compute_s']:.3f}", "", ""])
    ratio = every["pandas_equivalent_s"] / pandas["compute_s"]
    header = ["query (seconds)", "all cold", "all warm", "filtered cold", "filtered warm"]
    notes = (
        f"Events: all {every['cold']['events']:,}, filtered {flt['cold']['events']:,} (cohort crowd, "
        f"source = fax). Page arguments: "
        + "; ".join(
            f"{case} approx_items={q['cold']['approx_items']}, sample_modulus={q['cold']['sample_modulus']}"
            for case, q in (("all", every), ("filtered", flt))
        )
        + ". " + items_note(every, flt)
        + f" DuckDB / pandas time on the same three reads: {ratio:.2f} (pandas also needed "
        f"{pandas['load_s']:.2f} s to load the DataFrame, peak RSS {mb(pandas['peak_rss'])}). "
        "Peak RSS of the query process: "
        f"{mb(every['peak_rss'])}."
    )
    return table(header, rows) + "\n\n" + notes


def items_note(every: dict, flt: dict) -> str:
    """What the page said the number of items was, against the exact count, per filter case."""
    parts = []
    for case, q in (("all", every), ("filtered", flt)):
        items = q["cold"].get("items")
        if not items or "exact" not in items:
            continue
        how = (f"an estimate from a 1-in-{items['items_modulus']} item sample" if items["estimated"]
               else "exact")
        parts.append(f"{case} {items['shown']:,} ({how}; exact {items['exact']:,}, error "
                     f"{items['shown'] / items['exact'] - 1:+.2%})")
    return ("Items shown: " + "; ".join(parts) + ".") if parts else ""


def targets_table(results: list[dict]) -> str:
    """Pass/fail per target, measured at 1e7 events (or the largest size run, marked as such)."""
    r = next((r for r in results if r["n"] == TARGET_SIZE), max(results, key=lambda r: r["n"]))
    at = label(r["n"]) + ("" if r["n"] == TARGET_SIZE else "; the targets are for 1e7")
    n = r["n"]
    checks = []
    for fmt, goal in (("parquet", PARQUET_TARGET), ("csv", CSV_TARGET)):
        rate = n / r["import"][fmt]["ours"]["seconds"]
        checks.append((f"{FORMAT_NAMES[fmt]} import ≥ {goal:,} events/s", f"{rate:,.0f}", rate >= goal))
    for case in ("all", "filtered"):
        for run in ("cold", "warm"):
            page = r["queries"][case][run]
            slowest = max(page["seconds"], key=page["seconds"].get)
            failed = ", ".join(page["errors"])
            checks.append((f"each Overview query ({case}, {run}) < {QUERY_TARGET:g} s: the slowest",
                           f"{page['seconds'][slowest]:.2f} s ({slowest})"
                           + (f" ({failed} failed)" if failed else ""),
                           page["seconds"][slowest] < QUERY_TARGET and not failed))
    for case in ("all", "filtered"):
        # Not a target (the targets are per query), but what a user waits for: kept visible.
        total = sum(r["queries"][case]["cold"]["seconds"].values())
        checks.append((f"stricter, our own: the whole Overview page ({case}, cold) < {QUERY_TARGET:g} s",
                       f"{total:.2f} s", total < QUERY_TARGET))
    for fmt in ("parquet", "csv"):
        peak = r["import"][fmt]["ours"]["peak_rss"]
        checks.append((f"Peak RSS of the {FORMAT_NAMES[fmt]} import < 2 GB", mb(peak), peak < MEMORY_TARGET))
    return table([f"target (at {at})", "measured", "result"],
                 [[name, value, "pass" if ok else "**FAIL**"] for name, value, ok in checks])


def report(run: dict) -> str:
    """The Markdown section of ``bench/README.md`` for a run (as saved by ``main``)."""
    results, m = run["sizes"], run["machine"]
    doc = __doc__[__doc__.index("For each size"):__doc__.index("This replaces")].strip().replace("``", "`")
    parts = [
        SECTION_BEGIN,
        "## Store: import, size, memory, Overview queries (`bench/store.py`)",
        "",
        doc,
        "",
        f"Command: `{run['command']}`  ",
        f"Machine: {m['cores']} cores, {m['ram']} RAM, {m['cpu']}; Python {m['python']}, {m['versions']}  ",
        f"Date: {run['date']} UTC; DuckDB memory limit {DEFAULT_MEMORY_LIMIT} (the store's default).",
        "",
        "### Targets",
        "",
        targets_table(results),
        "",
        "### Import (events only; vocabulary, guidelines and items imported before, apart)",
        "",
        import_table(results),
        "",
        "Items import: " + ", ".join(
            f"{label(r['n'])}: {r['items']:,} items in {r['items_s']:.2f} s" for r in results
        ) + ".",
    ]
    for r in results:
        parts += ["", f"### Overview queries, {label(r['n'])} events", "", query_table(r)]
    parts += ["", SECTION_END]
    return "\n".join(parts) + "\n"


def write_section(path: Path, section: str, *, begin: str = SECTION_BEGIN, end: str = SECTION_END) -> None:
    """Replace a benchmark's section of ``path`` (between its ``begin`` and ``end`` markers), or append it.

    ``section`` must start with ``begin`` and end with ``end``.
    """
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section.rstrip("\n") + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


# --- command line ---------------------------------------------------------------------------------------


def report_arguments(parser: argparse.ArgumentParser, name: str) -> None:
    """``--out`` and ``--from-results``, which every benchmark script takes."""
    parser.add_argument("--out", type=Path, default=None,
                        help="write or update this benchmark's section of a Markdown file (bench/README.md)")
    parser.add_argument("--from-results", type=Path, default=None, metavar="JSON",
                        help=f"measure nothing: render the report of a saved run (work-dir/{name}-*.json)")


def parse_sizes(text: str) -> list[int]:
    """``"1e5,1e6"`` -> ``[100000, 1000000]``."""
    return [int(float(part)) for part in text.split(",") if part.strip()]


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (or, with ``--child``, one measurement inside a child process)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        print(json.dumps(CHILDREN[argv[1]](**json.loads(argv[2])), default=str))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes("1e5,1e6,1e7"),
                        help="comma-separated event counts (default 1e5,1e6,1e7)")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "bench" / "_work",
                        help="generated files and stores (git-ignored; files are reused across runs)")
    report_arguments(parser, "results")
    args = parser.parse_args(argv)
    if args.from_results is not None:
        run = json.loads(args.from_results.read_text())
    else:
        when = dt.datetime.now(dt.UTC)
        run = {"command": ".venv/bin/python bench/store.py " + shlex.join(argv),
               "date": f"{when:%Y-%m-%d %H:%M}", "machine": machine(), "sizes": []}
        for n in args.sizes:
            print(f"{label(n)} events", flush=True)
            run["sizes"].append(bench_size(args.work_dir.resolve(), n))
        args.work_dir.mkdir(parents=True, exist_ok=True)
        (args.work_dir / f"results-{when:%Y%m%dT%H%M%S}.json").write_text(json.dumps(run, indent=1))
    section = report(run)
    print("\n" + section)
    if args.out is not None:
        write_section(args.out, section)


if __name__ == "__main__":
    main()
