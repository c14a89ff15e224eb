"""Every page and command on stores with many labels: time and peak memory against a 10-label baseline.

The stores are those of ``bench/drift_labels.py`` (N items, three ratings each by three of 300 annotators,
Zipf-distributed true classes, 80% accurate ratings, a gold label for a tenth of the items), built once under
``--work-dir`` for each number of labels K; the first K (10) is the baseline. For each store a fresh child
process runs ``summary --json`` (the whole command), ``score`` (detection, on a copy), and each page through
AppTest (the Overview renders first, then the page; ``bench/agreement_page.time_page``), and reports its
wall time and peak resident memory. Ratios are against the baseline measured in the same run. Targets at
10,000 labels: ``summary`` under 30 s and 2 GB; every page renders without an error and under 2 GB; a model
too large for memory is refused with a message (``analytics.consensus.limits.check_model_size``), never
killed.

Command: ``.venv/bin/python bench/label_set.py --labels 10,1000,10000 --items 100000 --out bench/README.md``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.agreement_page import time_page  # noqa: E402
from bench.drift_labels import build  # noqa: E402
from bench.store import machine, table, write_section  # noqa: E402

BEGIN, END = "<!-- bench/label_set.py: begin -->", "<!-- bench/label_set.py: end -->"
PAGES = {
    "Overview": "pages/monitor/overview.py", "Agreement": "pages/monitor/agreement.py",
    "Drift": "pages/monitor/drift.py", "Slices": "pages/monitor/slices.py",
    "Suspects": "pages/investigate/suspects.py", "Data": "pages/data/data.py",
}
TARGET_S, TARGET_RSS = 30.0, 2 * 2**30


def command(store: Path, *args: str) -> dict:
    """Run ``python -m analytics --db store args`` in a child; its wall time, peak RSS and outcome."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "analytics", "--db", str(store), *args], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    error = process.stderr.read().strip().splitlines()
    process.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    outcome = "ok" if code == 0 else (error[-1][:160] if error else f"exit {code}")
    return {"seconds": seconds, "peak_rss": usage.ru_maxrss * 1024, "outcome": outcome}


def page_child(path: str, page: str) -> dict:
    """In this (fresh) process: one page's first render, or the exception it raised."""
    try:
        timings, at = time_page(path, page)
    except RuntimeError as exc:
        return {"first": float("nan"), "peak_rss": 0, "outcome": str(exc)[:160]}
    notes = [i.value for i in at.info if "No Dawid–Skene" in i.value]
    return {"first": timings["first"], "peak_rss": timings["peak_rss"],
            "outcome": "ok" + (" (Dawid–Skene refused: too many labels)" if notes else "")}


def measure(work_dir: Path, k: int, items: int) -> list[dict]:
    # Built in a child: Linux carries a parent's peak RSS into the children it starts, so a parent that had
    # built a large store would floor every measurement below at its own peak.
    out = subprocess.run([sys.executable, __file__, "--build", str(work_dir), str(k), str(items)],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    source = Path(out.stdout.strip().splitlines()[-1])
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store.duckdb"
        shutil.copyfile(source, store)
        results.append({"k": k, "what": "summary --json", **command(store, "summary", "--json")})
        results.append({"k": k, "what": "score", **command(store, "score")})
        for name, page in PAGES.items():
            out = subprocess.run([sys.executable, __file__, "--child", str(store), page], capture_output=True,
                                 text=True, check=True, cwd=ROOT)
            found = json.loads(out.stdout.strip().splitlines()[-1])
            results.append({"k": k, "what": f"{name} page", "seconds": found["first"],
                            "peak_rss": found["peak_rss"], "outcome": found["outcome"]})
    return results


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[:width] + "…"


def report(results: list[dict], command_line: str) -> str:
    info = machine()
    base_k = min(r["k"] for r in results)
    base = {r["what"]: r for r in results if r["k"] == base_k}
    rows = []
    for r in results:
        b = base[r["what"]]
        ratio = f"{r['seconds'] / b['seconds']:.1f}×" if b["seconds"] > 0 and r["k"] != base_k else ""
        rows.append([f"{r['k']:,}", r["what"], f"{r['seconds']:.1f}", ratio,
                     f"{r['peak_rss'] / 2**20:,.0f} MB", r["outcome"]])
    largest = max(r["k"] for r in results)
    top = {r["what"]: r for r in results if r["k"] == largest}
    summary = top["summary --json"]
    verdicts = [
        [f"summary at {largest:,} labels < {TARGET_S:g} s", f"{summary['seconds']:.1f} s",
         "pass" if summary["seconds"] < TARGET_S else "**FAIL**"],
        [f"summary at {largest:,} labels < {TARGET_RSS / 2**30:g} GB",
         f"{summary['peak_rss'] / 2**20:,.0f} MB",
         "pass" if summary["peak_rss"] < TARGET_RSS else "**FAIL**"],
        *[[f"{what} at {largest:,} labels: no error, < {TARGET_RSS / 2**30:g} GB",
           f"{r['peak_rss'] / 2**20:,.0f} MB",
           "pass" if r["outcome"].startswith("ok") and r["peak_rss"] < TARGET_RSS else "**FAIL**"]
          for what, r in top.items() if what.endswith("page")],
        [f"score at {largest:,} labels: done or refused with a message", _short(top["score"]["outcome"]),
         "pass" if top["score"]["outcome"] == "ok" or "labels" in top["score"]["outcome"] else "**FAIL**"],
    ]
    intro = " ".join((__doc__ or "").split("\n\n")[1].split())
    load = os.getloadavg()
    return "\n".join([
        BEGIN, "## Many labels: every page and command (`bench/label_set.py`)", "", intro, "",
        f"Command: `{command_line}`  ",
        f"Machine: {info['cores']} cores, {info['ram']} RAM, {info['cpu']}; Python {info['python']}, "
        f"{info['versions']}  ",
        f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; load average at the end "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}", "",
        table(["labels K", "what", "seconds", f"vs K = {base_k:,}", "peak RSS", "outcome"], rows), "",
        table(["target", "measured", "result"], verdicts), "",
        END, "",
    ])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        print(json.dumps(page_child(argv[1], argv[2])))
        return
    if argv[:1] == ["--build"]:
        print(build(Path(argv[1]), int(argv[2]), int(argv[3])))
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--labels", default="10,1000,10000", help="comma-separated numbers of labels")
    parser.add_argument("--items", type=int, default=100_000, help="items (three ratings each)")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "bench" / "_work")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    labels = [int(float(part)) for part in args.labels.split(",")]
    results = [r for k in labels for r in measure(args.work_dir, k, args.items)]
    section = report(results, ".venv/bin/python bench/label_set.py " + " ".join(argv))
    print(section)
    if args.out:
        write_section(args.out, section, begin=BEGIN, end=END)


if __name__ == "__main__":
    main()
