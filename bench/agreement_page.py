"""Time the Agreement page as a user meets it: first render and cached rerun, through Streamlit's AppTest.

For each store size the synthetic store of ``bench/store.py`` (``bench/_work/N/store-parquet.duckdb``;
build it with ``bench/store.py --sizes N`` first) is copied to a temporary file, then a fresh child process
runs ``app.py`` (the Overview renders first, as on a real visit), switches to the Agreement page and times its
first run (every loader cold: sampled reads, bootstrap, Dawid–Skene) and a second run (Streamlit's caches
warm). Peak RSS is the child's ``ru_maxrss``. Target: first render on 1e7 events under 5 s,
under 0.5 s when cached.

Command: ``.venv/bin/python bench/agreement_page.py --sizes 1e6,1e7 --out bench/README.md``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import streamlit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.store import label, machine, parse_sizes, table, write_section  # noqa: E402

BEGIN, END = "<!-- bench/agreement_page.py: begin -->", "<!-- bench/agreement_page.py: end -->"


def time_page(path: str, page: str) -> tuple[dict, object]:
    """In this process: render the Overview of the store at ``path``, then ``page`` twice; time both runs.

    Returns the timings (``first``, ``cached`` seconds, ``peak_rss``) and the AppTest, for more checks.
    """
    os.environ["LABELWATCH_DB"] = path
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "ui" / "frame.py"), default_timeout=600)
    at.run()
    at.switch_page("../" + page)
    start = time.perf_counter()
    at.run()
    first = time.perf_counter() - start
    start = time.perf_counter()
    at.run()
    cached = time.perf_counter() - start
    if at.exception:
        raise RuntimeError([e.value for e in at.exception])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"first": first, "cached": cached, "peak_rss": peak}, at


def child(path: str) -> dict:
    """In this process: the Agreement page's timings and what it read."""
    timings, at = time_page(path, "pages/monitor/agreement.py")
    sample = [c.value for c in at.caption if "sample of items" in c.value]
    read = re.search(r"1-in-\d+", sample[0]).group(0) + " sample of items" if sample else "every item"
    return {**timings, "sampled": read}


def run(work_dir: Path, n: int) -> dict:
    source = work_dir / str(n) / "store-parquet.duckdb"
    if not source.exists():
        raise SystemExit(f"{source} is missing: run bench/store.py --sizes {n} first")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "store.duckdb"
        shutil.copyfile(source, copy)
        out = subprocess.run([sys.executable, __file__, "--child", str(copy)], capture_output=True,
                             text=True, check=True, cwd=ROOT)
    return {"n": n, **json.loads(out.stdout.strip().splitlines()[-1])}


def _verdict(passed: bool) -> str:
    return "pass" if passed else "**FAIL**"


def report(results: list[dict], command: str) -> str:
    info = machine()
    rows = [[label(r["n"]), f"{r['first']:.2f}", f"{r['cached']:.2f}", f"{r['peak_rss'] / 2**20:,.0f} MB",
             r["sampled"]] for r in results]
    targets = [r for r in results if r["n"] == 10_000_000]
    verdicts = []
    for r in targets:
        verdicts.append(["first render < 5 s", f"{r['first']:.2f} s", _verdict(r["first"] < 5)])
        verdicts.append(["cached render < 0.5 s", f"{r['cached']:.2f} s", _verdict(r["cached"] < 0.5)])
    return "\n".join([
        BEGIN, "## Agreement page: first and cached render (`bench/agreement_page.py`)", "",
        (__doc__ or "").split("\n\n")[1].replace("\n", " "), "",
        f"Command: `{command}`  ",
        f"Machine: {info['cores']} cores, {info['ram']} RAM, {info['cpu']}; Python {info['python']}, "
        f"streamlit {streamlit.__version__}, {info['versions']}  ",
        f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC", "",
        table(["events", "first render s", "cached rerun s", "peak RSS", "read"], rows), "",
        *([table(["target at 1e7", "measured", "result"], verdicts), ""] if verdicts else []),
        END, "",
    ])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes("1e6,1e7"))
    parser.add_argument("--work-dir", type=Path, default=ROOT / "bench" / "_work")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child)))
        return
    results = [run(args.work_dir, n) for n in args.sizes]
    given = argv if argv is not None else sys.argv[1:]
    command = ".venv/bin/python bench/agreement_page.py " + " ".join(given)
    section = report(results, command)
    print(section)
    if args.out:
        write_section(args.out, section, begin=BEGIN, end=END)


if __name__ == "__main__":
    main()
