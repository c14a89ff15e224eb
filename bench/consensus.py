"""Consensus benchmark: accuracy, time and peak memory of our majority vote and Dawid–Skene against crowd-kit.

Usage::

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install -r bench/requirements-peers.txt
    .venv/bin/python bench/consensus.py --peer-python /tmp/peers/bin/python --out bench/README.md

Crowds:

* **real**, with expert gold, from ``--data`` (``tests/data/real``): bluebirds (Welinder et al. 2010,
  108 images × 39 workers, dense), Snow et al. (2008) RTE, TEMP and WSD (Amazon Mechanical Turk, 10 labels
  per item). Written once to ``--work-dir/consensus/<name>/`` as ``events.parquet`` and ``gold.parquet``.
* **simulated**, the project's scale world (``analytics.synthetic.scale``: K = 10 digits, 1,000 annotators
  with
  log-normal workloads, 2–5 labels per item, confusable digit pairs, 2 % spammers), truth from its item
  skeletons: 1e4 events (sparse: ~10 ratings per annotator, written like a real crowd), and the **store
  crowds** 1e6 and 1e7 events: the event files and the DuckDB store ``--work-dir/<n>/store-parquet.duckdb``
  that ``bench/store.py`` builds from them (built here through its children when missing).

Methods, each in a fresh child process so that its peak resident memory (``ru_maxrss``) is its own:
ours — ``analytics.consensus.majority.majority_vote``, ``DawidSkene()`` (defaults) and
``DawidSkene(smoothing=0)``
(plain maximum likelihood, the ablation); crowd-kit — ``MajorityVote()`` and ``DawidSkene(n_iter=100)``,
run by ``--peer-python`` (crowd-kit is not a dependency of the project). On the store crowds our
Dawid–Skene runs end to end from the store, as the app does: open the store read-only,
``analytics.store.consensus.coded_ratings`` (integer codes computed in DuckDB), ``DawidSkene.fit_codes``,
labels; ``DawidSkene().fit(events)`` on the events in memory is measured as well. Every other time is the
aggregation call alone on events already in memory. Best of up to 5 runs within 2 s; accuracy is the share
of items whose label equals gold. The targets below are checked on the store crowds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import re
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT / "tests" / "data" / "real"
SECTION_BEGIN = "<!-- bench/consensus.py: begin -->"
SECTION_END = "<!-- bench/consensus.py: end -->"
CROWDS = ("bluebirds", "rte", "temp", "wsd", "sim-1e4", "sim-1e6", "sim-1e7")
#: Simulated crowds of this many events or more are read from a store (the store crowds).
STORE_FROM = 1_000_000
#: method -> (runner, what the report calls it, store crowds only)
METHODS = {
    "ours-mv": ("ours", "majority_vote", False),
    "ours-ds": ("ours", "DawidSkene()", False),
    "ours-ds-ml": ("ours", "DawidSkene(smoothing=0)", False),
    "ours-ds-events": ("ours", "DawidSkene().fit(events)", True),
    "peer-mv": ("peer", "crowd-kit MajorityVote()", False),
    "peer-ds": ("peer", "crowd-kit DawidSkene(n_iter=100)", False),
}
REPEAT_BUDGET_S, MAX_REPEATS = 2.0, 5
#: Targets, checked on the store crowds.
SPEEDUP_TARGET = 10.0  # crowd-kit DS seconds / ours end to end, at 1e6
SECONDS_TARGET = 15.0  # ours end to end at 1e7
MEMORY_TARGET = 2 * 1024**3  # peak RSS of ours end to end at 1e7
INTRO = """\
Real crowds with expert gold (bluebirds: Welinder et al. 2010; RTE, TEMP, WSD: Snow et al. 2008) and the
scale world of `analytics.synthetic.scale` (K = 10, 1,000 annotators, 2–5 labels per item, truth known).
Every method
runs in its own child process; crowd-kit runs in a separate venv (`bench/requirements-peers.txt`) through
`--peer-python`. On the **store crowds** (sim-1e6, sim-1e7: the stores `bench/store.py` builds) our
Dawid–Skene is timed **end to end from the store**, as the app runs it: open the DuckDB file read-only,
`analytics.store.consensus.coded_ratings` (one rating per item and annotator, integer codes computed in
DuckDB), `DawidSkene().fit_codes(...)`, labels. Every other time, crowd-kit's included, is the aggregation
call alone on events already in memory. Best of up to 5 runs within 2 s. Peak RSS is the child's
`ru_maxrss`, including the interpreter, the libraries and the loaded events (after the slash: resident
memory just before the first call; for ours from the store, before the store is opened). Majority-vote
ties: ours go to the label most frequent in the whole crowd, then to the smallest label; crowd-kit's
`MajorityVote` takes the first tied column (`idxmax`). "DS ours, smoothing=0" is our EM without the
Dirichlet prior, i.e. the maximum-likelihood fit that crowd-kit's `DawidSkene` computes too.
`tests/analytics/test_consensus.py` takes its accuracy floors for the real crowds from the "DS crowd-kit"
column. Timings on a shared 2-core VM vary by ±30 % from run to run; the ratios come from the same run."""


# --- crowds ---------------------------------------------------------------------------------------------


def real_crowd(name: str, data: Path) -> tuple[pd.DataFrame, pd.Series]:
    """Events (``item_id, annotator_id, label``) and gold (Series by item_id) of a real crowd."""
    if name == "bluebirds":
        pairs = re.compile(r"(\w+):\s*(true|false)")
        text = (data / "bluebirds" / "labels.yaml").read_text()
        rows = [
            (int(task), worker, value == "true")
            for worker, body in re.findall(r"^(\w+):\s*\{(.*?)\}", text, re.M | re.S)
            for task, value in pairs.findall(body)
        ]
        gold = {int(t): v == "true" for t, v in pairs.findall((data / "bluebirds" / "gt.yaml").read_text())}
        return pd.DataFrame(rows, columns=["item_id", "annotator_id", "label"]), pd.Series(gold)
    raw = pd.read_csv(data / "snow2008" / f"{name}.standardized.tsv", sep="\t", dtype={"orig_id": str})
    events = raw.rename(
        columns={"orig_id": "item_id", "!amt_worker_ids": "annotator_id", "response": "label"}
    )
    return events[["item_id", "annotator_id", "label"]], raw.groupby("orig_id")["gold"].first()


def scale_truth(n_events: int) -> pd.Series:
    """The true class of every item of the scale world (seed 0), by item_id, from its item skeletons."""
    from analytics.synthetic import scale

    return pd.concat(
        [
            pd.Series(np.asarray(scale.LABELS)[skeleton["truth"]], index=skeleton["item_id"].to_pylist())
            for _, skeleton in scale._skeletons(0, n_events, 1_000_000)
        ]
    )


def simulated_crowd(n_events: int, folder: Path) -> tuple[pd.DataFrame, pd.Series]:
    """The scale world's events (written under ``folder/scale``) and the truth of every item."""
    from analytics.synthetic import scale

    paths = scale.write_scale_events(folder / "scale", n_events, seed=0)
    return read_events([str(p) for p in paths]), scale_truth(n_events)


def write_gold(gold: pd.Series, path: Path) -> None:
    gold.rename_axis("item_id").rename("gold").reset_index().to_parquet(path, index=False)


def prepare(name: str, data: Path, work_dir: Path) -> dict:
    """Write (or reuse) a crowd's files; return its spec: ``name``, ``events`` (Parquet paths), ``gold``,
    ``store`` (a DuckDB path for the store crowds, else None)."""
    folder = work_dir / "consensus" / name
    folder.mkdir(parents=True, exist_ok=True)
    gold = folder / "gold.parquet"
    n_events = int(float(name.removeprefix("sim-"))) if name.startswith("sim-") else 0
    if n_events >= STORE_FROM:
        # Imported here, not at the top: the peer's venv runs this file's children without duckdb.
        from bench import store as store_bench

        files = store_bench.scale_files(work_dir, n_events)
        store = work_dir / f"{n_events}" / "store-parquet.duckdb"
        if not store.exists():
            print(f"  building {store} with bench/store.py's children", flush=True)
            store_bench.run_child("setup", store_path=str(store), items=files["items"])
            store_bench.run_child("import", store_path=str(store), events=files["parquet"])
        if not gold.exists():
            write_gold(scale_truth(n_events), gold)
        return {"name": name, "events": files["parquet"], "gold": str(gold), "store": str(store)}
    events = folder / "events.parquet"
    if not gold.exists():
        frame, truth = simulated_crowd(n_events, folder) if n_events else real_crowd(name, data)
        frame.to_parquet(events, index=False)
        write_gold(truth, gold)
    return {"name": name, "events": [str(events)], "gold": str(gold), "store": None}


def read_events(paths: list[str]) -> pd.DataFrame:
    """``item_id, annotator_id, label`` of one or more Parquet files."""
    return pd.concat(
        [pd.read_parquet(p, columns=["item_id", "annotator_id", "label"]) for p in paths], ignore_index=True
    )


def describe(spec: dict) -> dict:
    """Size of a crowd: events, items, annotators, K, median ratings per annotator."""
    events = read_events(spec["events"])
    return {
        "events": len(events),
        "items": int(events["item_id"].nunique()),
        "annotators": int(events["annotator_id"].nunique()),
        "classes": int(events["label"].nunique()),
        "median_per_annotator": float(events.groupby("annotator_id").size().median()),
    }


# --- child processes ------------------------------------------------------------------------------------


def rss_now() -> int:
    """Current resident memory of this process, in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def from_store(method: str, store_path: str) -> tuple[pd.Series, dict]:
    """Dawid–Skene end to end from the store: open read-only, coded ratings, fit, labels."""
    from analytics.consensus.dawid_skene import DawidSkene
    from analytics.store import Store
    from analytics.store.consensus import coded_ratings

    start = time.perf_counter()
    with Store(store_path, read_only=True) as store:
        ratings = coded_ratings(store)
    read = time.perf_counter()
    model = DawidSkene(smoothing=0) if method == "ours-ds-ml" else DawidSkene()
    model.fit_codes(ratings.item_codes, ratings.annotator_codes, ratings.label_codes,
                    items=ratings.items, annotators=ratings.annotators, classes=ratings.classes)
    return model.labels_, {"iterations": model.n_iter_, "converged": model.converged_,
                           "read_s": read - start, "fit_s": time.perf_counter() - read}


def aggregate(method: str, events: pd.DataFrame) -> tuple[pd.Series, dict]:
    """Run one method on events in memory; return labels by item and extra facts (iterations)."""
    if method == "ours-mv":
        from analytics.consensus.majority import majority_vote

        return majority_vote(events).set_index("item_id")["label"], {}
    if method in ("ours-ds", "ours-ds-ml", "ours-ds-events"):
        from analytics.consensus.dawid_skene import DawidSkene

        model = DawidSkene(smoothing=0) if method == "ours-ds-ml" else DawidSkene()
        model.fit(events)
        return model.labels_, {"iterations": model.n_iter_, "converged": model.converged_}
    from crowdkit.aggregation import DawidSkene, MajorityVote

    model = MajorityVote() if method == "peer-mv" else DawidSkene(n_iter=100)
    data = events.rename(columns={"item_id": "task", "annotator_id": "worker"})
    return model.fit_predict(data), {}


def child(method: str, spec: dict) -> dict:
    """Measure one method on one crowd inside this (fresh) process."""
    gold = pd.read_parquet(spec["gold"]).set_index("item_id")["gold"]
    store = spec["store"] if method in ("ours-ds", "ours-ds-ml") else None
    events = None if store else read_events(spec["events"])
    # Import the libraries before the baseline so that "before" holds the interpreter, libraries and data.
    if METHODS[method][0] == "ours":
        importlib.import_module("analytics.consensus.dawid_skene")
        if store:
            importlib.import_module("analytics.store.consensus")
    else:
        importlib.import_module("crowdkit.aggregation")
    before = rss_now()
    runs = []
    while len(runs) < MAX_REPEATS and sum(r[0] for r in runs) < REPEAT_BUDGET_S:
        start = time.perf_counter()
        labels, facts = from_store(method, store) if store else aggregate(method, events)
        runs.append((time.perf_counter() - start, facts))
    seconds, facts = min(runs, key=lambda run: run[0])
    correct = int((labels == gold.reindex(labels.index)).sum())
    return {
        "seconds": seconds,
        "runs": len(runs),
        "correct": correct,
        "n": len(labels),
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "rss_before": before,
        "from_store": bool(store),
        **facts,
    }


def run_child(python: str, method: str, spec: dict) -> dict:
    """Run ``child(method, spec)`` with the given interpreter; ``{"error": ...}`` when it fails."""
    command = [python, str(Path(__file__).resolve()), "--child", method, json.dumps(spec)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return {"error": lines[-1] if lines else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- report ---------------------------------------------------------------------------------------------


def machine(peer_python: str) -> dict[str, str]:
    """Cores, RAM, CPU model, Python and library versions (ours and the peer's)."""
    import scipy

    from bench import store as store_bench

    peer = subprocess.run(
        [peer_python, "-c", "import importlib.metadata as m; print(m.version('crowd-kit'))"],
        capture_output=True,
        text=True,
    )
    facts = store_bench.machine()
    facts["versions"] += f", numpy {np.__version__}, scipy {scipy.__version__}"
    facts["crowdkit"] = peer.stdout.strip() if peer.returncode == 0 else "not installed"
    return facts


def accuracy_cell(result: dict | None) -> str:
    if result is None or "error" in result:
        return "n/a"
    return f"{result['correct'] / result['n']:.4f} ({result['correct']}/{result['n']})"


def seconds_cell(result: dict | None) -> str:
    if result is None:
        return "–"
    if "error" in result:
        return "n/a"
    parts = [f"read {result['read_s']:.2f} + fit {result['fit_s']:.2f}"] if "read_s" in result else []
    parts += [f"{result['iterations']} it."] if "iterations" in result else []
    return f"{result['seconds']:.3f}" + (f" ({', '.join(parts)})" if parts else "")


def ratio(peer: dict | None, ours: dict | None) -> float | None:
    if peer is None or ours is None or "error" in peer or "error" in ours:
        return None
    return peer["seconds"] / ours["seconds"]


def ratio_cell(peer: dict | None, ours: dict | None) -> str:
    value = ratio(peer, ours)
    return "n/a" if value is None else f"{value:.1f}×"


def rss_cell(result: dict | None) -> str:
    if result is None or "error" in result:
        return "n/a"
    return f"{result['peak_rss'] / 2**20:,.0f} / {result['rss_before'] / 2**20:,.0f}"


def targets_table(run: dict) -> str:
    """The targets on the store crowds, plus the accuracy floors of the real crowds."""
    from bench import store as store_bench

    crowds = {crowd["name"]: crowd["results"] for crowd in run["crowds"]}
    checks = []
    for name, r in crowds.items():
        ours, peer = r["ours-ds"], r["peer-ds"]
        if "error" in ours:
            checks.append((f"{name}: Dawid–Skene runs", ours["error"], False))
            continue
        if ours.get("from_store"):
            n = int(float(name.removeprefix("sim-")))
            speedup = ratio(peer, ours)
            if n == 10**6:
                checks.append((f"{name}: crowd-kit DS / ours end to end ≥ {SPEEDUP_TARGET:g}×",
                               "n/a" if speedup is None else f"{speedup:.1f}×",
                               speedup is not None and speedup >= SPEEDUP_TARGET))
            else:
                checks.append((f"{name}: ours end to end < {SECONDS_TARGET:g} s",
                               f"{ours['seconds']:.2f} s", ours["seconds"] < SECONDS_TARGET))
                checks.append((f"{name}: peak RSS of ours end to end < 2 GB",
                               store_bench.mb(ours["peak_rss"]), ours["peak_rss"] < MEMORY_TARGET))
        if peer is not None and "error" not in peer:
            mine, theirs = ours["correct"] / ours["n"], peer["correct"] / peer["n"]
            checks.append((f"{name}: accuracy ≥ crowd-kit DS", f"{mine:.4f} vs {theirs:.4f}", mine >= theirs))
    return store_bench.table(["target", "measured", "result"],
                             [[name, value, "pass" if ok else "**FAIL**"] for name, value, ok in checks])


def report(run: dict) -> str:
    """The README section: command, machine, date, targets, accuracy table, time and memory table."""
    from bench import store as store_bench

    m = run["machine"]
    accuracy_rows, time_rows = [], []
    for crowd in run["crowds"]:
        size, r = crowd["size"], crowd["results"]
        accuracy_rows.append([
            crowd["name"], f"{size['events']:,}", f"{size['items']:,}", f"{size['annotators']:,}",
            f"{size['median_per_annotator']:g}", str(size["classes"]),
            *(accuracy_cell(r.get(method))
              for method in ("ours-mv", "peer-mv", "ours-ds", "ours-ds-ml", "peer-ds")),
        ])
        time_rows.append([
            crowd["name"], seconds_cell(r["ours-mv"]), seconds_cell(r["peer-mv"]),
            ratio_cell(r["peer-mv"], r["ours-mv"]),
            ("**store → labels:** " if r["ours-ds"].get("from_store") else "") + seconds_cell(r["ours-ds"]),
            seconds_cell(r.get("ours-ds-events")), seconds_cell(r["peer-ds"]),
            ratio_cell(r["peer-ds"], r["ours-ds"]), rss_cell(r["ours-ds"]), rss_cell(r["peer-ds"]),
        ])
    errors = [
        f"{crowd['name']} {method}: {result['error']}"
        for crowd in run["crowds"]
        for method, result in crowd["results"].items()
        if result is not None and "error" in result
    ]
    parts = [
        SECTION_BEGIN,
        "## Consensus: majority vote and Dawid–Skene vs crowd-kit (`bench/consensus.py`)",
        "",
        INTRO,
        "",
        f"Command: `{run['command']}`  ",
        f"Machine: {m['cores']} cores, {m['ram']} RAM, {m['cpu']}; Python {m['python']}, {m['versions']}; "
        f"crowd-kit {m['crowdkit']}  ",
        f"Date: {run['date']} UTC",
        "",
        "### Targets",
        "",
        targets_table(run),
        "",
        "### Accuracy against gold (share of items, correct/total)",
        "",
        store_bench.table(
            ["crowd", "events", "items", "annotators", "median ratings per annotator", "K", "MV ours",
             "MV crowd-kit", "DS ours", "DS ours, smoothing=0", "DS crowd-kit"],
            accuracy_rows,
        ),
        "",
        "### Time (seconds) and memory (MB)",
        "",
        store_bench.table(
            ["crowd", "MV ours", "MV crowd-kit", "crowd-kit / ours", "DS ours", "DS ours, events in memory",
             "DS crowd-kit", "crowd-kit / ours", "DS ours peak RSS / before",
             "DS crowd-kit peak RSS / before"],
            time_rows,
        ),
    ]
    if errors:
        parts += ["", "Failed runs: " + "; ".join(errors)]
    parts += ["", SECTION_END]
    return "\n".join(parts) + "\n"




# --- command line ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (or, with ``--child``, one measurement inside a child process)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        print(json.dumps(child(argv[1], json.loads(argv[2])), default=str))
        return
    from bench import store as store_bench

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crowds", default=",".join(CROWDS),
                        help=f"comma-separated (default {','.join(CROWDS)})")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help="the real datasets (tests/data/real)")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "bench" / "_work",
                        help="prepared crowds, stores and results (git-ignored; reused across runs)")
    parser.add_argument("--peer-python", default=sys.executable,
                        help="interpreter with crowd-kit installed (default: this one)")
    store_bench.report_arguments(parser, "consensus")
    args = parser.parse_args(argv)
    if args.from_results is not None:
        run = json.loads(args.from_results.read_text())
    else:
        when = dt.datetime.now(dt.UTC)
        run = {
            "command": ".venv/bin/python bench/consensus.py " + shlex.join(argv),
            "date": f"{when:%Y-%m-%d %H:%M}",
            "machine": machine(args.peer_python),
            "crowds": [],
        }
        work_dir = args.work_dir.resolve()
        for name in args.crowds.split(","):
            spec = prepare(name, args.data, work_dir)
            results = {}
            for method, (runner, title, store_only) in METHODS.items():
                if store_only and spec["store"] is None:
                    results[method] = None
                    continue
                python = sys.executable if runner == "ours" else args.peer_python
                results[method] = run_child(python, method, spec)
                print(f"{name:10} {title:35} {json.dumps(results[method])}", flush=True)
            run["crowds"].append({"name": name, "size": describe(spec), "results": results})
        (work_dir / f"consensus-{when:%Y%m%dT%H%M%S}.json").write_text(json.dumps(run, indent=1))
    section = report(run)
    print("\n" + section)
    if args.out is not None:
        store_bench.write_section(args.out, section, begin=SECTION_BEGIN, end=SECTION_END)


if __name__ == "__main__":
    main()
