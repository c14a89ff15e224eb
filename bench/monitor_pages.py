"""Time the Drift and Slices pages as a user meets them: first render and cached rerun, through AppTest.

For each store size the synthetic store of ``bench/store.py`` (``bench/_work/N/store-parquet.duckdb``) is
copied to a temporary file; a fresh child process per page runs ``app.py`` (the Overview renders first),
switches to the page and times its first run (every loader cold) and a second run (caches warm), as
``bench/agreement_page.py`` does, with the pages' default options (the Drift page's "Dawid–Skene accuracy
per window" off: it fits the model, about one second more at 1e7). The synthetic stores hold no detection
run, so the suspect-rate series and measure are absent. Target: each page on 1e7 events under 2 s.

Command: ``.venv/bin/python bench/monitor_pages.py --sizes 1e6,1e7 --out bench/README.md``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import streamlit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.agreement_page import time_page  # noqa: E402
from bench.store import label, machine, parse_sizes, table, write_section  # noqa: E402

BEGIN, END = "<!-- bench/monitor_pages.py: begin -->", "<!-- bench/monitor_pages.py: end -->"
PAGES = {"Drift": "pages/monitor/drift.py", "Slices": "pages/monitor/slices.py"}
TARGET_S = 2.0


def run(work_dir: Path, n: int) -> list[dict]:
    source = work_dir / str(n) / "store-parquet.duckdb"
    if not source.exists():
        raise SystemExit(f"{source} is missing: run bench/store.py --sizes {n} first")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "store.duckdb"
        shutil.copyfile(source, copy)
        for name, page in PAGES.items():
            out = subprocess.run([sys.executable, __file__, "--child", str(copy), page], capture_output=True,
                                 text=True, check=True, cwd=ROOT)
            results.append({"n": n, "page": name, **json.loads(out.stdout.strip().splitlines()[-1])})
    return results


def report(results: list[dict], command: str) -> str:
    info = machine()
    rows = [[label(r["n"]), r["page"], f"{r['first']:.2f}", f"{r['cached']:.2f}",
             f"{r['peak_rss'] / 2**20:,.0f} MB"] for r in results]
    verdicts = [[f"{r['page']}: first render < {TARGET_S:g} s", f"{r['first']:.2f} s",
                 "pass" if r["first"] < TARGET_S else "**FAIL**"] for r in results if r["n"] == 10_000_000]
    return "\n".join([
        BEGIN, "## Drift and Slices pages: first and cached render (`bench/monitor_pages.py`)", "",
        (__doc__ or "").split("\n\n")[1].replace("\n", " "), "",
        f"Command: `{command}`  ",
        f"Machine: {info['cores']} cores, {info['ram']} RAM, {info['cpu']}; Python {info['python']}, "
        f"streamlit {streamlit.__version__}, {info['versions']}  ",
        f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC", "",
        table(["events", "page", "first render s", "cached rerun s", "peak RSS"], rows), "",
        *([table(["target at 1e7", "measured", "result"], verdicts), ""] if verdicts else []),
        END, "",
    ])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        print(json.dumps(time_page(argv[1], argv[2])[0]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes("1e6,1e7"))
    parser.add_argument("--work-dir", type=Path, default=ROOT / "bench" / "_work")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    results = [r for n in args.sizes for r in run(args.work_dir, n)]
    section = report(results, ".venv/bin/python bench/monitor_pages.py " + " ".join(argv))
    print(section)
    if args.out:
        write_section(args.out, section, begin=BEGIN, end=END)


if __name__ == "__main__":
    main()
