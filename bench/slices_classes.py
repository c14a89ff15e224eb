"""Slices with thousands of classes: the Slices page's reads and the slices part of ``summary``, timed.

Usage::

    .venv/bin/python bench/slices_classes.py --classes 10000 --items 100000 --out bench/README.md

A many-class store is generated into ``--work-dir`` (reused when present): N items with a ``source``
attribute (fax, scan, web), each rated by 3 of 300 annotators; true classes drawn from K labels with
Zipf-like frequencies (p_k ∝ k^-1.1); each rating right with probability 0.8, else a label drawn from the
same frequencies; gold labels for a tenth of the items. It is imported through ``analytics.ingest.pipeline``
(items,
events, gold), as a user would.

Then, in one process: ``slice_cube`` as the page reads it (classes beyond the 20 most rated pooled), the
slice table, the discovery, the slice × class heatmap and its figure (with the size of its JSON, what the
browser receives) for two measures, the slices part of ``summary``, and the whole Slices page through
Streamlit's ``AppTest`` (first run, caches empty).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import pathlib
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analytics.ingest import pipeline as ingest  # noqa: E402
from analytics.monitoring import (  # noqa: E402
    slice_classes,
    slices,
    summary,  # noqa: E402
)
from analytics.store import Store  # noqa: E402
from analytics.store import slices as slice_queries  # noqa: E402
from bench.store import machine, write_section  # noqa: E402
from charts import slices as slice_charts  # noqa: E402

SECTION_BEGIN = "<!-- bench/slices_classes.py: begin -->"
SECTION_END = "<!-- bench/slices_classes.py: end -->"
PAGE_TARGET = 5.0  # seconds: "in seconds" for the whole page with 10,000 classes


def write_store(folder: pathlib.Path, classes: int, items: int, seed: int = 0) -> pathlib.Path:
    """Generate and import the many-class store described in the module docstring; return its path."""
    path = folder / f"classes-{classes}-items-{items}.duckdb"
    if path.exists():
        return path
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    weights = 1 / np.arange(1, classes + 1) ** 1.1
    weights /= weights.sum()
    truth = rng.choice(classes, items, p=weights)
    item = np.repeat(np.arange(items), 3)
    label = np.where(rng.random(3 * items) < 0.8, truth[item], rng.choice(classes, 3 * items, p=weights))
    annotator = np.concatenate([rng.choice(300, 3, replace=False) for _ in range(items)])
    start = pd.Timestamp("2026-03-01")
    events = pd.DataFrame({
        "item_id": [f"i{i}" for i in item], "annotator_id": [f"a{a:03d}" for a in annotator],
        "label": [f"c{k}" for k in label],
        "labeled_at": start + pd.to_timedelta(rng.integers(0, 180 * 86400, 3 * items), unit="s"),
    })
    table = pd.DataFrame({"item_id": [f"i{i}" for i in range(items)],
                          "source": rng.choice(["fax", "scan", "web"], items)})
    gold = rng.choice(items, items // 10, replace=False)
    gold_frame = pd.DataFrame({"item_id": [f"i{i}" for i in gold], "label": [f"c{k}" for k in truth[gold]]})
    with Store(path) as store:
        for frame, kind in ((table, "items"), (events, "events"), (gold_frame, "gold")):
            ingest.ingest(store, frame, kind=kind, name=f"bench/{kind}", created_by="bench")
    return path


def timed(seconds: dict, name: str, call):
    start = time.perf_counter()
    result = call()
    seconds[name] = time.perf_counter() - start
    return result


def measure(path: pathlib.Path) -> dict:
    """Seconds of each read, the cube's and the figure's sizes, and the page through AppTest."""
    seconds: dict[str, float] = {}
    sizes: dict[str, int] = {}
    with Store(path, read_only=True) as store:
        cube = timed(seconds, "slice_cube (page)", lambda: slice_queries.slice_cube(store))
        sizes["cube rows"] = len(cube)
        sizes["classes"] = cube.attrs["classes"]
        for metric in ("disagreement", "gold_error"):
            timed(seconds, f"slice_noise_table ({metric})",
                  lambda m=metric: slices.slice_noise_table(cube, metric=m))
            timed(seconds, f"discover_slices ({metric})",
                  lambda m=metric: slices.discover_slices(cube, metric=m))
            cells = timed(seconds, f"slice_class_heatmap ({metric})",
                          lambda m=metric: slice_classes.slice_class_heatmap(cube, metric=m))
            fig = timed(seconds, f"heatmap_figure ({metric})", lambda c=cells: slice_charts.heatmap_figure(
                c, metric_title="rate", classes=cube.attrs["classes"], max_classes=cube.attrs["max_classes"]))
            sizes[f"heatmap columns ({metric})"] = len(fig.data[0].x)
            sizes[f"heatmap JSON bytes ({metric})"] = len(fig.to_json())
        timed(seconds, "summary: slices part", lambda: summary._slices(store, None))
    seconds["Slices page (AppTest, first run)"] = page_seconds(path)
    return {"seconds": seconds, "sizes": sizes}


def page_seconds(path: pathlib.Path) -> float:
    """The Slices page's first run through AppTest (the app's frame first, as a browser would)."""
    from streamlit.testing.v1 import AppTest

    os.environ["LABELWATCH_DB"] = str(path)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600).run()
    start = time.perf_counter()
    at.switch_page("pages/monitor/slices.py").run()
    if at.exception:
        raise RuntimeError(at.exception[0].value)
    return time.perf_counter() - start


def report(run: dict) -> str:
    m = run["machine"]
    rows = "\n".join(f"| {name} | {value:.3f} |" for name, value in run["result"]["seconds"].items())
    sizes = ", ".join(f"{name} {value:,}" for name, value in run["result"]["sizes"].items())
    page = run["result"]["seconds"]["Slices page (AppTest, first run)"]
    doc = __doc__[__doc__.index("A many-class"):].strip().replace("``", "`")
    return "\n".join([
        SECTION_BEGIN, "## Slices with thousands of classes (`bench/slices_classes.py`)", "", doc, "",
        f"Command: `{run['command']}`  ",
        f"Machine: {m['cores']} cores, {m['ram']} RAM, {m['cpu']}; Python {m['python']}, {m['versions']}  ",
        f"Date: {run['date']} UTC", "",
        "| read (seconds) | |", "| --- | ---: |", rows, "",
        f"Sizes: {sizes}. Target: the whole page in under {PAGE_TARGET:g} s: "
        + ("pass" if page < PAGE_TARGET else "**FAIL**") + f" ({page:.2f} s).", "", SECTION_END,
    ]) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=10_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--work-dir", type=pathlib.Path, default=ROOT / "bench" / "_work")
    parser.add_argument("--out", type=pathlib.Path, default=None,
                        help="update this section of a Markdown file")
    args = parser.parse_args(argv)
    path = write_store(args.work_dir.resolve(), args.classes, args.items)
    when = dt.datetime.now(dt.UTC)
    run = {"command": ".venv/bin/python bench/slices_classes.py " + " ".join(argv or sys.argv[1:]),
           "date": f"{when:%Y-%m-%d %H:%M}", "machine": machine(), "result": measure(path)}
    section = report(run)
    print(json.dumps(run["result"], indent=1))
    print(section)
    if args.out is not None:
        write_section(args.out, section, begin=SECTION_BEGIN, end=SECTION_END)


if __name__ == "__main__":
    main()
