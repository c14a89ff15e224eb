"""Consensus benchmark: accuracy, time and peak memory of our majority vote and Dawid–Skene against crowd-kit.

Usage::

    python3 -m venv /tmp/peers && /tmp/peers/bin/pip install -r bench/requirements-peers.txt
    .venv/bin/python bench/consensus.py --peer-python /tmp/peers/bin/python --out bench/README.md

Crowds (each written once to ``--work-dir/consensus/<name>/`` as ``events.parquet`` and ``gold.parquet``):

* **real**, with expert gold, from ``--data`` (``shared/data/real``): bluebirds (Welinder et al. 2010,
  108 images × 39 workers, dense), Snow et al. (2008) RTE, TEMP and WSD (Amazon Mechanical Turk, 10 labels
  per item).
* **simulated**, the project's scale world (``analytics.scale``: K = 10 digits, 1,000 annotators with
  log-normal workloads, 2–5 labels per item, confusable digit pairs, 2 % spammers), truth from its item
  skeletons: 1e4 events (sparse: ~10 ratings per annotator) and 1e6 events.

Methods, each in a fresh child process so that its peak resident memory (``ru_maxrss``) is its own:
ours — ``analytics.consensus.majority_vote``, ``DawidSkene()`` (defaults) and ``DawidSkene(smoothing=0)``
(plain maximum likelihood, the ablation); crowd-kit — ``MajorityVote()`` and ``DawidSkene(n_iter=100)``,
run by ``--peer-python`` (crowd-kit is not a dependency of the project). Time is the aggregation call
alone (data already in memory), best of up to 5 runs within 2 s; accuracy is the share of items whose
label equals gold. The results are ratios and tables, never pass/fail timings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import json
import os
import platform
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
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "real"
SECTION_BEGIN = "<!-- bench/consensus.py: begin -->"
SECTION_END = "<!-- bench/consensus.py: end -->"
CROWDS = ("bluebirds", "rte", "temp", "wsd", "sim-1e4", "sim-1e6")
#: method -> (runner, what the report calls it)
METHODS = {
    "ours-mv": ("ours", "majority_vote"),
    "ours-ds": ("ours", "DawidSkene()"),
    "ours-ds-ml": ("ours", "DawidSkene(smoothing=0)"),
    "peer-mv": ("peer", "crowd-kit MajorityVote()"),
    "peer-ds": ("peer", "crowd-kit DawidSkene(n_iter=100)"),
}
REPEAT_BUDGET_S, MAX_REPEATS = 2.0, 5
INTRO = """\
Real crowds with expert gold (bluebirds: Welinder et al. 2010; RTE, TEMP, WSD: Snow et al. 2008) and the
scale world of `analytics.scale` (K = 10, 1,000 annotators, 2–5 labels per item, truth known). Every method
runs in its own child process; crowd-kit runs in a separate venv (`bench/requirements-peers.txt`) through
`--peer-python`. Time is the aggregation call alone (events already in memory), best of up to 5 runs within
2 s. Peak RSS is the child's `ru_maxrss`, including the interpreter, the library and the loaded events
(after the slash: resident memory just before the first call). Majority-vote ties: ours go to the label
most frequent in the whole crowd, then to the smallest label; crowd-kit's `MajorityVote` takes the first
tied column (`idxmax`). "DS ours, smoothing=0" is our EM without the Dirichlet prior, i.e. the
maximum-likelihood fit that crowd-kit's `DawidSkene` computes too. `tests/analytics/test_consensus.py`
takes its accuracy floors for the real crowds from the "DS crowd-kit" column."""


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


def simulated_crowd(n_events: int, folder: Path) -> tuple[pd.DataFrame, pd.Series]:
    """The scale world's events and the true class of every item (from its private item skeletons)."""
    import pyarrow.parquet as pq

    from analytics import scale

    paths = scale.write_scale_events(folder / "scale", n_events, seed=0)
    events = pd.concat(
        [pq.read_table(p, columns=["item_id", "annotator_id", "label"]).to_pandas() for p in paths],
        ignore_index=True,
    )
    truth = pd.concat(
        [
            pd.Series(np.asarray(scale.LABELS)[skeleton["truth"]], index=skeleton["item_id"].to_pylist())
            for _, skeleton in scale._skeletons(0, n_events, 1_000_000)
        ]
    )
    return events, truth


def prepare(name: str, data: Path, work_dir: Path) -> Path:
    """Write (or reuse) ``events.parquet`` and ``gold.parquet`` of one crowd; return its folder."""
    folder = work_dir / "consensus" / name
    if (folder / "gold.parquet").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    if name.startswith("sim-"):
        events, gold = simulated_crowd(int(float(name.removeprefix("sim-"))), folder)
    else:
        events, gold = real_crowd(name, data)
    events.to_parquet(folder / "events.parquet", index=False)
    gold.rename_axis("item_id").rename("gold").reset_index().to_parquet(folder / "gold.parquet", index=False)
    return folder


def describe(folder: Path) -> dict:
    """Size of a crowd: events, items, annotators, K, median ratings per annotator."""
    events = pd.read_parquet(folder / "events.parquet")
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


def aggregate(method: str, events: pd.DataFrame) -> tuple[pd.Series, dict]:
    """Run one method; return labels by item and extra facts (iterations)."""
    if method == "ours-mv":
        from analytics.consensus import majority_vote

        return majority_vote(events).set_index("item_id")["label"], {}
    if method in ("ours-ds", "ours-ds-ml"):
        from analytics.consensus import DawidSkene

        model = DawidSkene(smoothing=0) if method == "ours-ds-ml" else DawidSkene()
        model.fit(events)
        return model.labels_, {"iterations": model.n_iter_, "converged": model.converged_}
    from crowdkit.aggregation import DawidSkene, MajorityVote

    model = MajorityVote() if method == "peer-mv" else DawidSkene(n_iter=100)
    data = events.rename(columns={"item_id": "task", "annotator_id": "worker"})
    return model.fit_predict(data), {}


def child(method: str, folder: str) -> dict:
    """Measure one method on one crowd inside this (fresh) process."""
    events = pd.read_parquet(Path(folder) / "events.parquet")
    gold = pd.read_parquet(Path(folder) / "gold.parquet").set_index("item_id")["gold"]
    # Import the library before the baseline so that "before" holds the interpreter, libraries and data.
    importlib.import_module("analytics.consensus" if METHODS[method][0] == "ours" else "crowdkit.aggregation")
    before = rss_now()
    times, spent = [], 0.0
    while len(times) < MAX_REPEATS and spent < REPEAT_BUDGET_S:
        start = time.perf_counter()
        labels, facts = aggregate(method, events)
        times.append(time.perf_counter() - start)
        spent += times[-1]
    correct = int((labels == gold.reindex(labels.index)).sum())
    return {
        "seconds": min(times),
        "runs": len(times),
        "correct": correct,
        "n": len(labels),
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "rss_before": before,
        **facts,
    }


def run_child(python: str, method: str, folder: Path) -> dict:
    """Run ``child(method, folder)`` with the given interpreter; ``{"error": ...}`` when it fails."""
    command = [python, str(Path(__file__).resolve()), "--child", method, str(folder)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        return {
            "error": done.stderr.strip().splitlines()[-1]
            if done.stderr.strip()
            else f"exit {done.returncode}"
        }
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- report ---------------------------------------------------------------------------------------------


def machine(peer_python: str) -> dict[str, str]:
    """Cores, RAM, CPU model, Python and library versions (ours and the peer's)."""
    model = next(
        (line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
        "unknown",
    )
    with open("/proc/meminfo") as meminfo:
        ram_kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    import scipy

    peer = subprocess.run(
        [peer_python, "-c", "import importlib.metadata as m; print(m.version('crowd-kit'))"],
        capture_output=True,
        text=True,
    )
    return {
        "cores": str(len(os.sched_getaffinity(0))),
        "ram": f"{ram_kb / 2**20:.1f} GiB",
        "cpu": model,
        "python": platform.python_version(),
        "versions": f"numpy {np.__version__}, pandas {pd.__version__}, scipy {scipy.__version__}",
        "crowdkit": peer.stdout.strip() if peer.returncode == 0 else "not installed",
    }


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table (numbers right-aligned after the first column)."""
    lines = [
        "| " + " | ".join(header) + " |",
        "| " + " | ".join(["---"] + ["---:"] * (len(header) - 1)) + " |",
    ]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def accuracy_cell(result: dict) -> str:
    if "error" in result:
        return "n/a"
    return f"{result['correct'] / result['n']:.4f} ({result['correct']}/{result['n']})"


def seconds_cell(result: dict) -> str:
    if "error" in result:
        return "n/a"
    iterations = f" ({result['iterations']} it.)" if "iterations" in result else ""
    return f"{result['seconds']:.3f}{iterations}"


def ratio_cell(peer: dict, ours: dict) -> str:
    if "error" in peer or "error" in ours:
        return "n/a"
    return f"{peer['seconds'] / ours['seconds']:.1f}×"


def mb(result: dict, key: str = "peak_rss") -> str:
    return "n/a" if "error" in result else f"{result[key] / 2**20:,.0f}"


def report(run: dict) -> str:
    """The README section: command, machine, date, accuracy table, time and memory table."""
    m = run["machine"]
    accuracy_rows, time_rows = [], []
    for crowd in run["crowds"]:
        size, r = crowd["size"], crowd["results"]
        accuracy_rows.append(
            [
                crowd["name"],
                f"{size['events']:,}",
                f"{size['items']:,}",
                f"{size['annotators']:,}",
                f"{size['median_per_annotator']:g}",
                str(size["classes"]),
                *(
                    accuracy_cell(r[method])
                    for method in ("ours-mv", "peer-mv", "ours-ds", "ours-ds-ml", "peer-ds")
                ),
            ]
        )
        time_rows.append(
            [
                crowd["name"],
                seconds_cell(r["ours-mv"]),
                seconds_cell(r["peer-mv"]),
                ratio_cell(r["peer-mv"], r["ours-mv"]),
                seconds_cell(r["ours-ds"]),
                seconds_cell(r["peer-ds"]),
                ratio_cell(r["peer-ds"], r["ours-ds"]),
                f"{mb(r['ours-ds'])} / {mb(r['ours-ds'], 'rss_before')}",
                f"{mb(r['peer-ds'])} / {mb(r['peer-ds'], 'rss_before')}",
            ]
        )
    errors = [
        f"{crowd['name']} {method}: {result['error']}"
        for crowd in run["crowds"]
        for method, result in crowd["results"].items()
        if "error" in result
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
        "### Accuracy against gold (share of items, correct/total)",
        "",
        table(
            [
                "crowd",
                "events",
                "items",
                "annotators",
                "median ratings per annotator",
                "K",
                "MV ours",
                "MV crowd-kit",
                "DS ours",
                "DS ours, smoothing=0",
                "DS crowd-kit",
            ],
            accuracy_rows,
        ),
        "",
        "### Time (seconds) and memory (MB)",
        "",
        table(
            [
                "crowd",
                "MV ours",
                "MV crowd-kit",
                "crowd-kit / ours",
                "DS ours",
                "DS crowd-kit",
                "crowd-kit / ours",
                "DS ours peak RSS / before",
                "DS crowd-kit peak RSS / before",
            ],
            time_rows,
        ),
    ]
    if errors:
        parts += ["", "Failed runs: " + "; ".join(errors)]
    parts += ["", SECTION_END]
    return "\n".join(parts) + "\n"


def write_section(path: Path, section: str) -> None:
    """Replace this benchmark's section of ``path`` (between the markers), or append it at the end."""
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    if SECTION_BEGIN in text and SECTION_END in text:
        head, rest = text.split(SECTION_BEGIN, 1)
        text = head + section.rstrip("\n") + rest.split(SECTION_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


# --- command line ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (or, with ``--child``, one measurement inside a child process)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        print(json.dumps(child(argv[1], argv[2]), default=str))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--crowds", default=",".join(CROWDS), help=f"comma-separated (default {','.join(CROWDS)})"
    )
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help="the real datasets (shared/data/real)"
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=ROOT / "bench" / "_work",
        help="prepared crowds and results (git-ignored; reused across runs)",
    )
    parser.add_argument(
        "--peer-python",
        default=sys.executable,
        help="interpreter with crowd-kit installed (default: this one)",
    )
    parser.add_argument(
        "--out", type=Path, default=None, help="write or update the section of this Markdown file"
    )
    parser.add_argument(
        "--from-results",
        type=Path,
        default=None,
        metavar="JSON",
        help="measure nothing: render the report of a saved run",
    )
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
            folder = prepare(name, args.data, work_dir)
            results = {}
            for method, (runner, title) in METHODS.items():
                python = sys.executable if runner == "ours" else args.peer_python
                results[method] = run_child(python, method, folder)
                print(f"{name:10} {title:35} {json.dumps(results[method])}", flush=True)
            run["crowds"].append({"name": name, "size": describe(folder), "results": results})
        (work_dir / f"consensus-{when:%Y%m%dT%H%M%S}.json").write_text(json.dumps(run, indent=1))
    section = report(run)
    print("\n" + section)
    if args.out is not None:
        write_section(args.out, section)


if __name__ == "__main__":
    main()
