"""Every page on a Parquet lake read in place: first and cached render and peak memory, against a bare scan.

For each size N the synthetic world (``analytics.synthetic.scale``) is written once as a lake in
``--work-dir`` (``lake-N/``: events hive-partitioned by month, items, slice attributes, annotators) with its
store beside it (``lake-N.duckdb``, bound to the lake: the vocabulary, the guidelines and the tables the store
derives from the lake, ``analytics.store.lake``; ``demo --scale N --lake DIR``, timed); later runs reuse them,
and the lake's files are then read from the OS page cache as far as earlier steps left them there (a refresh
of the derived tables reads every file). Then one child process tours the app through AppTest as a visitor
would: the app's frame ``ui/frame.py`` opens first on the Import page, which reads no label event (its time,
"app start", is what any first page of a fresh process pays: the imports, the frame and the sidebar's filter
options; a server pays it once, when ``ui.warm_up`` runs), then each page in turn, the Overview first, is
opened and rerun; then the tour sets an analyst's sidebar filter (the crowd cohort and the slice source =
fax) and opens the Overview, Agreement, Drift and Slices pages again under it. Reported per page: its first
render (its own reads cold; what earlier pages read is cached, as for that visitor), its cached rerun,
and the child's peak resident memory so far (``ru_maxrss``: Python, Streamlit and DuckDB together). The
synthetic lake holds no detection run, so the Suspects page and the review queue open on "no run yet".

The same world imported into a DuckDB store (``imported-N.duckdb``, ``demo --scale N``; for N up to 1e7) is
toured the same way. Before each tour, a writable open derives the store's tables again (its record of them
dropped first: what a change of the lake's files, or an import into a large store, costs;
``Store.refresh_derived``), timed as "deriving its tables".

Baseline (same run, fresh child): a bare DuckDB scan of the same event files, the label counts over every
event (``SELECT label, count(*), min(labeled_at), max(labeled_at) FROM read_parquet(...) GROUP BY label``),
with the store's memory limit. Ratios are page first render / bare scan. Also timed: Dawid–Skene fitted on
every rating of the lake (``analytics.agreement.report.consensus_model`` with no sample, its model memory
budget raised to ``DS_MODEL_GB``), in its own child.

Command: ``.venv/bin/python bench/lake.py --sizes 1e7,1e8 --out bench/README.md``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import streamlit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.store import label, machine, parse_sizes, table, write_section  # noqa: E402

BEGIN, END = "<!-- bench/lake.py: begin -->", "<!-- bench/lake.py: end -->"
PAGES = {
    "Overview": "pages/monitor/overview.py",
    "Agreement": "pages/monitor/agreement.py",
    "Drift": "pages/monitor/drift.py",
    "Slices": "pages/monitor/slices.py",
    "Suspects": "pages/investigate/suspects.py",
    "Review": "pages/remediate/review.py",
    "Policies": "pages/remediate/policies.py",
    "Campaigns": "pages/remediate/campaigns.py",
    "Versions": "pages/remediate/versions.py",
    "Audit trail": "pages/remediate/audit.py",
    "Impact": "pages/impact/impact.py",
    "Data": "pages/data/data.py",
    "Import": "pages/data/import_data.py",
}
FIRST_S, CACHED_S, PEAK_GB = 5.0, 0.5, 4.0
#: The first-render target at 1e7 events, on the lake and in the DuckDB store.
FIRST_1E7_S = 2.0
#: The largest size also toured as an imported store.
IMPORTED_MAX = 10_000_000
#: The model memory budget of the whole-lake Dawid–Skene fit (``LABELWATCH_MAX_MODEL_GB``).
DS_MODEL_GB = 12


def peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


#: The page a tour opens first, to pay the process's own start (imports, the frame and its sidebar) apart
#: from the pages it times; it reads no label event.
WARM_UP = "pages/data/import_data.py"
#: The sidebar filter the tour then sets (an analyst's: one cohort and the world's noisiest slice), and the
#: pages it opens again under it.
FILTER = {"cohorts": ["crowd"], "attribute": "source", "value": "fax"}
FILTERED = {name: PAGES[name] for name in ("Overview", "Agreement", "Drift", "Slices")}
FILTER_LABEL = "crowd · source = fax"


def child_tour(db: str, *pages: str) -> list[dict]:
    """In this process: open the app on ``WARM_UP`` (timed apart, first in the list), then every page in
    turn, each twice; time each run. A page after ``"filter"`` runs under ``FILTER``, set in the sidebar."""
    import os

    os.environ["LABELWATCH_DB"] = db
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=3600)
    at.switch_page("../" + WARM_UP)  # the process's own start: imports, the frame, the sidebar
    start = time.perf_counter()
    at.run()
    results = [{"page": WARM_UP, "first": time.perf_counter() - start, "cached": 0.0, "peak_rss": peak_rss()}]
    filtered = False
    for page in pages:
        if page == "filter":  # set on the warm-up page, which reads no label event
            filtered = True
            at.switch_page("../" + WARM_UP)
            at.multiselect(key="filters.cohorts").set_value(FILTER["cohorts"])
            at.selectbox(key="filters.attribute").set_value(FILTER["attribute"])
            at.run()
            at.selectbox(key="filters.value").set_value(FILTER["value"])
            at.run()
            continue
        at.switch_page("../" + page)
        start = time.perf_counter()
        at.run()
        first = time.perf_counter() - start
        start = time.perf_counter()
        at.run()
        cached = time.perf_counter() - start
        if at.exception:
            raise RuntimeError([e.value for e in at.exception])
        if filtered and at.selectbox(key="filters.value").value != FILTER["value"]:
            raise RuntimeError(f"{page} ran without the filter {FILTER}")
        results.append({"first": first, "cached": cached, "peak_rss": peak_rss()})
        print(page, results[-1], file=sys.stderr, flush=True)
    return results


def child_scan(lake: str) -> dict:
    """In this process: the bare DuckDB scan of the lake's events."""
    import duckdb

    from analytics.store.connection import DEFAULT_MEMORY_LIMIT

    con = duckdb.connect(config={"memory_limit": DEFAULT_MEMORY_LIMIT})
    start = time.perf_counter()
    rows = con.execute("SELECT label, count(*), min(labeled_at), max(labeled_at) FROM read_parquet(?, "
                       "hive_partitioning = true) GROUP BY label",
                       [str(Path(lake) / "events" / "**" / "*.parquet")]).fetchall()
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "events": sum(r[1] for r in rows), "peak_rss": peak_rss()}


def child_dawid_skene(db: str) -> dict:
    """In this process: Dawid–Skene on every rating of the store's lake, no sample, with the model's memory
    budget raised to ``DS_MODEL_GB`` (a page's fit reads a sample and keeps the default 4 GB)."""
    import os

    os.environ["LABELWATCH_MAX_MODEL_GB"] = str(DS_MODEL_GB)
    from analytics.agreement import report
    from analytics.store import Store

    with Store(db, read_only=True) as store:
        start = time.perf_counter()
        model, refusal = report.consensus_model(store, None, sample_modulus=1)
        seconds = time.perf_counter() - start
    if model is None:
        raise RuntimeError(refusal)
    return {"seconds": seconds, "iterations": int(model.n_iter_), "peak_rss": peak_rss()}


def run_child(*args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True,
                          cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"child {args} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def prepare(work_dir: Path, n: int) -> tuple[Path, Path, dict]:
    """The lake and its store for ``n`` events, written when missing (timed)."""
    lake, db = work_dir / f"lake-{n}", work_dir / f"lake-{n}.duckdb"
    record = work_dir / f"lake-{n}.built.json"  # how long writing it took, kept for the runs that reuse it
    if not db.exists():
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "analytics", "--db", str(db), "demo", "--scale", str(n),
                        "--lake", str(lake)], cwd=ROOT, check=True, capture_output=True)
        record.write_text(json.dumps({"seconds": time.perf_counter() - start}), encoding="utf-8")
    built = json.loads(record.read_text(encoding="utf-8")) if record.exists() else {}
    built["bytes"] = sum(p.stat().st_size for p in lake.rglob("*.parquet"))
    built["files"] = sum(1 for _ in (lake / "events").rglob("*.parquet"))
    return lake, db, built


def child_open(db: str) -> dict:
    """In this process: open the store for writing with the record of its derived tables dropped first, so
    that the open derives them all again (what any change of the lake's files or an import costs), timed."""
    import duckdb

    from analytics.store import Store

    with duckdb.connect(db) as con:
        con.execute("DELETE FROM store_meta WHERE key = 'lake_derived'")
    start = time.perf_counter()
    with Store(db) as store:
        derived = store.lake_tables
    return {"seconds": time.perf_counter() - start, "derived": derived}


def imported(work_dir: Path, n: int) -> tuple[Path, dict]:
    """The world of ``n`` events imported into a store, written when missing (timed)."""
    db, record = work_dir / f"imported-{n}.duckdb", work_dir / f"imported-{n}.built.json"
    if not db.exists():
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "analytics", "--db", str(db), "demo", "--scale", str(n)],
                       cwd=ROOT, check=True, capture_output=True)
        record.write_text(json.dumps({"seconds": time.perf_counter() - start}), encoding="utf-8")
    return db, json.loads(record.read_text(encoding="utf-8")) if record.exists() else {}


def tour(db: Path, pages: dict[str, str]) -> tuple[dict, list[dict]]:
    """``(the warm-up's timing, each page's)``: ``pages``, then those of them in ``FILTERED`` under the
    filter."""
    filtered = {name: path for name, path in pages.items() if name in FILTERED}
    warm, *timings = run_child("tour", str(db), *pages.values(), *(["filter", *filtered.values()]
                                                                    if filtered else []))
    names = [*pages, *(f"{name} ({FILTER_LABEL})" for name in filtered)]
    return warm, [{"page": name, **timing} for name, timing in zip(names, timings, strict=True)]


def bench_size(work_dir: Path, n: int, pages: dict[str, str]) -> dict:
    lake, db, built = prepare(work_dir, n)
    opened = run_child("open", str(db))
    scan = run_child("scan", str(lake))
    warm, results = tour(db, pages)
    print(json.dumps({"n": n, "opened": opened, "scan": scan, "pages": results}), file=sys.stderr, flush=True)
    run = {"n": n, "built": built, "opened": opened, "scan": scan, "warm_up": warm, "pages": results}
    if n <= IMPORTED_MAX:
        store, made = imported(work_dir, n)
        opened_store = run_child("open", str(store))
        warm, results = tour(store, pages)
        run["imported"] = {"built": made, "opened": opened_store, "warm_up": warm, "pages": results}
        print(json.dumps({"n": n, "imported": run["imported"]}), file=sys.stderr, flush=True)
    run["dawid_skene"] = run_child("dawid-skene", str(db))
    print(json.dumps({"n": n, "dawid_skene": run["dawid_skene"]}), file=sys.stderr, flush=True)
    return run


def _gb(nbytes: float) -> str:
    return f"{nbytes / 2**30:.2f} GB"


def report(runs: list[dict], command: str) -> str:
    info = machine()
    rows, verdicts, small = [], [], []
    for run in runs:
        scan = run["scan"]["seconds"]
        tours = [("lake", run["pages"])] + ([("imported", run["imported"]["pages"])] if "imported" in run
                                           else [])
        for where, pages in tours:
            for r in pages:
                rows.append([label(run["n"]), where, r["page"], f"{r['first']:.2f}",
                             f"{r['first'] / scan:.1f}", f"{r['cached']:.2f}", _gb(r["peak_rss"])])
                measured = f"{r['first']:.2f} s / {r['cached']:.2f} s / {_gb(r['peak_rss'])}"
                if run["n"] >= 100_000_000:
                    ok = (r["first"] <= FIRST_S and r["cached"] <= CACHED_S
                          and r["peak_rss"] <= PEAK_GB * 2**30)
                    verdicts.append([r["page"], measured, "pass" if ok else "**FAIL**"])
                elif run["n"] == 10_000_000:
                    small.append([where, r["page"], f"{r['first']:.2f} s",
                                  "pass" if r["first"] <= FIRST_1E7_S else "**FAIL**"])
    scans = [[label(r["n"]), f"{r['scan']['seconds']:.2f} s", _gb(r["scan"]["peak_rss"]),
              f"{r['built']['seconds']:.0f} s" if "seconds" in r["built"] else "not recorded",
              f"{r['opened']['seconds']:.1f} s", f"{r['warm_up']['first']:.1f} s",
              f"{r['built']['bytes'] / 2**30:.2f} GB",
              str(r["built"]["files"]), f"{r['dawid_skene']['seconds']:.1f} s "
              f"({r['dawid_skene']['iterations']} iterations, {_gb(r['dawid_skene']['peak_rss'])})"]
             for r in runs]
    stores = [[label(r["n"]), f"{r['imported']['built']['seconds']:.0f} s" if "seconds" in
               r["imported"]["built"] else "not recorded", f"{r['imported']['opened']['seconds']:.1f} s",
               f"{r['imported']['warm_up']['first']:.1f} s"]
              for r in runs if "imported" in r]
    return "\n".join([
        BEGIN, "## Every page on a Parquet lake (`bench/lake.py`)", "",
        (__doc__ or "").split("\n\n")[1].replace("\n", " "), "",
        f"Command: `{command}`  ",
        f"Machine: {info['cores']} cores, {info['ram']} RAM, {info['cpu']}; Python {info['python']}, "
        f"streamlit {streamlit.__version__}, {info['versions']}  ",
        f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC", "",
        table(["events", "bare scan", "scan peak RSS", "lake written + bound", "deriving its tables",
               "app start", "lake size", "event files", "Dawid–Skene, every rating"], scans), "",
        *([table(["events", "imported store written", "deriving its tables", "app start"], stores), ""]
          if stores else []),
        table(["events", "store", "page", "first render s", "× bare scan", "cached rerun s",
               "peak RSS so far"], rows),
        "",
        *([f"Targets at 1e8 (lake): first render ≤ {FIRST_S:g} s, cached ≤ {CACHED_S:g} s, peak ≤ "
           f"{PEAK_GB:g} GB.", "",
           table(["page", "first / cached / peak", "result"], verdicts), ""] if verdicts else []),
        *([f"Target at 1e7 (lake and DuckDB store): first render ≤ {FIRST_1E7_S:g} s.", "",
           table(["store", "page", "first render", "result"], small), ""] if small else []),
        END, "",
    ])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        task, *rest = argv[1:]
        out = {"tour": child_tour, "scan": child_scan, "dawid-skene": child_dawid_skene,
               "open": child_open}[task](*rest)
        print(json.dumps(out))
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes("1e7,1e8"))
    parser.add_argument("--work-dir", type=Path, default=ROOT / "bench" / "_work")
    parser.add_argument("--pages", default=",".join(PAGES), help="comma-separated page names (default: all)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    pages = {name: PAGES[name] for name in args.pages.split(",")}
    args.work_dir.mkdir(parents=True, exist_ok=True)
    runs = [bench_size(args.work_dir, n, pages) for n in args.sizes]
    text = report(runs, "python bench/lake.py " + " ".join(argv))
    if args.out:
        write_section(args.out, text, begin=BEGIN, end=END)
    print(text)


if __name__ == "__main__":
    main()
