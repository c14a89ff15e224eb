"""Agreement benchmark: Krippendorff's alpha, Fleiss' kappa, the pairwise kappa table and bootstrap intervals,
end to end from the store, against the ``krippendorff`` package and statsmodels.

Usage::

    .venv/bin/pip install "$(grep '^krippendorff==' bench/requirements-peers.txt)"
    .venv/bin/python bench/agreement.py --sizes 1e5,1e6,1e7 --out bench/README.md

The stores are those of ``bench/store.py`` (``--work-dir/<N>/store-parquet.duckdb``, the scale world of
``analytics.synthetic.scale``: about 1,000 annotators, 2–5 labels per item, K = 10); run it first. They are
opened
read-only. Every measurement runs in a fresh child process, so its peak resident memory (``ru_maxrss``,
interpreter and libraries included) is its own; each child repeats its work ``--repeat`` times and the
tables give the fastest run (the first run reads the store file cold into DuckDB's buffers; the OS page
cache is not dropped).

* **ours, end to end**: open the store, ``analytics.store.agreement.label_counts`` (one rating per item and
  annotator, counted in DuckDB), then ``krippendorff_alpha_from_counts(level="nominal")``, or
  ``fleiss_kappa_from_counts`` (every event: items rated once enter the chance term), or
  ``agreement_estimates(metrics=["krippendorff_alpha"], n_boot=200)``; for the pairwise table,
  ``pairwise_tables(min_overlap=10)`` then ``analytics.agreement.cohen.pairwise_kappa_from_tables``. "read"
  is the
  store query (rows to pandas included), "compute" the rest.
* **krippendorff** (PyPI, GPL, installed for the bench only, never imported by ``analytics``):
  ``alpha(value_counts=..., level_of_measurement="nominal")`` on a units × K array built beforehand from our
  label counts (not timed); and, where the dense raters × units matrix fits in memory (``--peer-events-max``),
  from events: the events of the Parquet files in memory (not timed), latest label per (item, annotator),
  the raters × units matrix, then ``alpha(reliability_data=...)``, which builds its value counts itself.
* **statsmodels** ``aggregate_raters`` + ``fleiss_kappa(method="fleiss")`` needs the same number of ratings
  for every item: it gets the items with exactly the modal number of ratings (their labels as a items × m
  array of label codes, built beforehand, not timed), and ours is run on that subset too, to compare values.
* **in memory**: ``analytics.agreement.coefficients.pairwise_kappa`` on the events (Parquet, loaded
  beforehand), for the
  sizes up to ``--peer-events-max``; its table must equal the store path's.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import os
import shlex
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from analytics.agreement import coefficients as agreement  # noqa: E402
from analytics.agreement import cohen  # noqa: E402
from analytics.agreement import estimates as reliability  # noqa: E402
from analytics.store import Store, overview  # noqa: E402
from analytics.store import agreement as queries  # noqa: E402
from bench.store import (  # noqa: E402
    label,
    machine,
    mb,
    parse_sizes,
    peak_rss,
    report_arguments,
    scale_files,
    table,
    write_section,
)

#: Targets at 1e7 events.
TARGET_SIZE = 10_000_000
ALPHA_TARGET = 3.0  # seconds, end to end
ALPHA_MEMORY_TARGET = 2**30  # bytes, peak RSS of the alpha child
FLEISS_TARGET = 3.0  # seconds, end to end
PAIRWISE_TARGET = 5.0  # seconds, end to end
MIN_OVERLAP = 10
N_BOOT = 200
SECTION_BEGIN = "<!-- bench/agreement.py: begin -->"
SECTION_END = "<!-- bench/agreement.py: end -->"


# --- child processes: each function below runs in a fresh interpreter (``in_child``) ----------------------


def timed_runs(repeat: int, work: Callable[[], Any], finish: Callable[[Any], Any]) -> tuple[list[dict], Any]:
    """Run ``finish(work())`` ``repeat`` times; per run: ``read_s`` (work), ``compute_s`` (finish), total."""
    runs, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        read = work()
        between = time.perf_counter()
        result = finish(read)
        done = time.perf_counter()
        runs.append({"read_s": between - start, "compute_s": done - between, "seconds": done - start})
    return runs, result


def ours(store_path: str, measure: str, repeat: int) -> dict:
    """Our end-to-end computation of ``measure`` (alpha, fleiss, alpha_boot, pairwise) from the store."""
    with Store(store_path, read_only=True) as store:
        if measure == "pairwise":
            runs, result = timed_runs(
                repeat, lambda: queries.pairwise_tables(store, min_overlap=MIN_OVERLAP),
                cohen.pairwise_kappa_from_tables,
            )
            value = {"pairs": len(result), "median_kappa": float(result["kappa"].median())}
        else:
            finish = {
                "alpha": lambda c: reliability.krippendorff_alpha_from_counts(c, level="nominal"),
                "fleiss": reliability.fleiss_kappa_from_counts,
                "alpha_boot": lambda c: reliability.agreement_estimates(
                    c, metrics=["krippendorff_alpha"], n_boot=N_BOOT)["krippendorff_alpha"],
            }[measure]
            runs, result = timed_runs(repeat, lambda: queries.label_counts(store), finish)
            value = ({"value": result.value, "ci_low": result.ci_low, "ci_high": result.ci_high}
                     if measure == "alpha_boot" else {"value": result})
            if measure == "fleiss":
                value["ratings"] = int(queries.label_counts(store)["n"].sum())
                value.update({k: int(v) for k, v in overview.totals(store).items()
                              if k in ("events", "items", "annotators")})
    return {"runs": runs, **value, "peak_rss": peak_rss()}


def rss_now() -> int:
    """Resident memory of this process now, in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def value_counts(counts: pd.DataFrame) -> np.ndarray:
    """The units × K array of label counts that ``krippendorff.alpha(value_counts=...)`` takes."""
    item = pd.factorize(counts["item_key"])[0]
    code = pd.factorize(counts["label"], sort=True)[0]
    dense = np.zeros((item.max() + 1, code.max() + 1), dtype=np.int64)
    dense[item, code] = counts["n"].to_numpy()
    return dense


def peer_alpha_counts(store_path: str, repeat: int) -> dict:
    """``krippendorff.alpha`` on precomputed value counts (built from our label counts, not timed)."""
    import krippendorff

    with Store(store_path, read_only=True) as store:
        counts = queries.label_counts(store)
    units = value_counts(counts)
    del counts
    before = rss_now()
    runs, value = timed_runs(
        repeat, lambda: units,
        lambda vc: krippendorff.alpha(value_counts=vc, level_of_measurement="nominal"),
    )
    return {"runs": runs, "value": float(value), "units": int(units.shape[0]), "rss_before": before,
            "peak_rss": peak_rss()}


def reliability_matrix(events: pd.DataFrame) -> tuple[np.ndarray, int]:
    """Raters × units matrix of label codes (nan where a rater did not rate a unit), latest label each."""
    latest = events.sort_values("labeled_at", kind="stable").drop_duplicates(
        ["item_id", "annotator_id"], keep="last")
    unit = pd.factorize(latest["item_id"])[0]
    rater = pd.factorize(latest["annotator_id"])[0]
    code, labels = pd.factorize(latest["label"], sort=True)
    data = np.full((rater.max() + 1, unit.max() + 1), np.nan)
    data[rater, unit] = code
    return data, len(labels)


def peer_alpha_events(events: list[str], repeat: int) -> dict:
    """``krippendorff.alpha`` from events in memory: the raters × units matrix, then its own value counts."""
    import krippendorff

    frame = pd.read_parquet(events, columns=["item_id", "annotator_id", "label", "labeled_at"])
    before = rss_now()

    def finish(built):
        data, k = built
        return krippendorff.alpha(reliability_data=data, level_of_measurement="nominal",
                                  value_domain=np.arange(k))

    runs, value = timed_runs(repeat, lambda: reliability_matrix(frame), finish)
    return {"runs": runs, "value": float(value), "rss_before": before, "peak_rss": peak_rss()}


def modal_subset(counts: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, int, int]:
    """Items with exactly the modal number of ratings: their counts, their items × m label codes, m, items."""
    item = pd.factorize(counts["item_key"])[0]
    n = counts["n"].to_numpy()
    ratings = np.bincount(item, weights=n).astype(np.int64)
    modal = int(np.bincount(ratings).argmax())
    rows = ratings[item] == modal
    code = pd.factorize(counts["label"], sort=True)[0]
    # Rows come grouped by item, so each item's repeated labels are one consecutive run of length m.
    wide = np.repeat(code[rows], n[rows]).reshape(-1, modal)
    return counts.loc[rows], wide, modal, int(ratings.size)


def peer_fleiss(store_path: str, repeat: int) -> dict:
    """statsmodels' Fleiss' kappa on the items with the modal number of ratings, and ours on the same."""
    from statsmodels.stats import inter_rater

    with Store(store_path, read_only=True) as store:
        counts = queries.label_counts(store)
    subset, wide, modal, items = modal_subset(counts)
    runs, value = timed_runs(
        repeat, lambda: inter_rater.aggregate_raters(wide)[0],
        lambda tab: inter_rater.fleiss_kappa(tab, method="fleiss"),
    )
    ours_runs, ours_value = timed_runs(repeat, lambda: subset, reliability.fleiss_kappa_from_counts)
    return {"runs": runs, "value": float(value), "ours_subset_runs": ours_runs,
            "ours_subset_value": float(ours_value), "modal": modal, "subset_items": int(wide.shape[0]),
            "subset_ratings": int(wide.size), "items": items, "peak_rss": peak_rss()}


def pairwise_in_memory(store_path: str, events: list[str], repeat: int) -> dict:
    """``agreement.pairwise_kappa`` on events in memory, checked against the store path's table."""
    frame = pd.read_parquet(events, columns=["item_id", "annotator_id", "label", "labeled_at"])
    runs, table_ = timed_runs(repeat, lambda: frame,
                              lambda f: agreement.pairwise_kappa(f, min_overlap=MIN_OVERLAP))
    with Store(store_path, read_only=True) as store:
        stored = cohen.pairwise_kappa_from_tables(queries.pairwise_tables(store, min_overlap=MIN_OVERLAP))
    both = table_.astype({"annotator_a": str, "annotator_b": str}).merge(
        stored.astype({"annotator_a": str, "annotator_b": str}), on=["annotator_a", "annotator_b"],
        how="outer", suffixes=("_events", "_store"), indicator=True)
    matched = both["_merge"] == "both"
    gap = (both["kappa_events"] - both["kappa_store"]).abs()
    differ = both.loc[matched, "n_items_events"] != both.loc[matched, "n_items_store"]
    return {"runs": runs, "pairs": len(table_), "store_pairs": len(stored),
            "unmatched": int((~matched).sum()), "n_items_differ": int(differ.sum()),
            "max_kappa_gap": float(gap[matched].max()) if matched.any() else float("nan"),
            "peak_rss": peak_rss()}


def in_child(task: Callable[..., dict], **kwargs: Any) -> dict:
    """``task(**kwargs)`` in a fresh interpreter; a failure (raised or killed) comes back as ``error``."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        try:
            return pool.submit(task, **kwargs).result()
        except Exception as exc:  # a peer running out of memory (or killed for it) is a result too
            return {"error": f"{type(exc).__name__}: {str(exc).strip()[:200]}"}


# --- one size -------------------------------------------------------------------------------------------


def bench_size(work_dir: Path, n: int, *, repeat: int, peer_events_max: int) -> dict:
    """All measurements for one size (see the module docstring), each in its own child process."""
    store = work_dir / f"{n}" / "store-parquet.duckdb"
    if not store.exists():
        raise SystemExit(f"{store} is missing: build it first with bench/store.py --sizes {label(n)}")
    events = scale_files(work_dir, n)["parquet"]
    path = str(store)
    result: dict[str, Any] = {"n": n}
    steps: list[tuple[str, Callable[..., dict], dict]] = [
        *((m, ours, {"store_path": path, "measure": m})
          for m in ("alpha", "fleiss", "pairwise", "alpha_boot")),
        ("peer_alpha_counts", peer_alpha_counts, {"store_path": path}),
        ("peer_fleiss", peer_fleiss, {"store_path": path}),
    ]
    if n <= peer_events_max:
        steps += [("peer_alpha_events", peer_alpha_events, {"events": events}),
                  ("pairwise_in_memory", pairwise_in_memory, {"store_path": path, "events": events})]
    for name, task, kwargs in steps:
        result[name] = outcome = in_child(task, repeat=repeat, **kwargs)
        print(f"  {name:20s} " + (outcome["error"] if "error" in outcome else
                                   f"{best(outcome):8.3f} s, peak RSS {mb(outcome['peak_rss'])}"), flush=True)
    return result


# --- report ---------------------------------------------------------------------------------------------


def best(outcome: dict | None, key: str = "runs") -> float:
    """Fastest run of a child's result (nan if it failed or did not run)."""
    if not outcome or "error" in outcome:
        return float("nan")
    return min(run["seconds"] for run in outcome[key])


def cell(outcome: dict | None, *, memory: bool = True) -> str:
    """``seconds (peak RSS)`` of a child's fastest run, or why there is none."""
    if outcome is None:
        return "not run"
    if "error" in outcome:
        return f"failed: {outcome['error'].split(':')[0]}"
    return f"{best(outcome):.3f}" + (f" ({mb(outcome['peak_rss'])})" if memory else "")


def split_cell(outcome: dict | None) -> str:
    """``read + compute`` seconds of the fastest run."""
    if not outcome or "error" in outcome:
        return cell(outcome)
    run = min(outcome["runs"], key=lambda r: r["seconds"])
    return f"{run['read_s']:.3f} + {run['compute_s']:.3f}"


def ratio(peer: dict | None, mine: dict | None) -> str:
    """Peer time over ours (> 1: ours is faster)."""
    value = best(peer) / best(mine)
    return f"{value:.1f}×" if np.isfinite(value) else "–"


def time_table(run: dict) -> str:
    sizes = run["sizes"]
    rows = [
        ("α nominal, ours end to end (store → label_counts → alpha)", lambda r: cell(r.get("alpha"))),
        ("  of which read + compute", lambda r: split_cell(r.get("alpha"))),
        ("α nominal, krippendorff on precomputed value counts", lambda r: cell(r.get("peer_alpha_counts"))),
        ("  krippendorff / ours end to end", lambda r: ratio(r.get("peer_alpha_counts"), r.get("alpha"))),
        ("α nominal, krippendorff from events (matrix + alpha(reliability_data))",
         lambda r: cell(r.get("peer_alpha_events"))),
        ("  krippendorff from events / ours", lambda r: ratio(r.get("peer_alpha_events"), r.get("alpha"))),
        ("Fleiss' κ, ours end to end, every event", lambda r: cell(r.get("fleiss"))),
        ("  of which read + compute", lambda r: split_cell(r.get("fleiss"))),
        ("Fleiss' κ, statsmodels aggregate_raters + fleiss_kappa, modal-m items only",
         lambda r: cell(r.get("peer_fleiss"))),
        ("  statsmodels / ours end to end", lambda r: ratio(r.get("peer_fleiss"), r.get("fleiss"))),
        ("Fleiss' κ, ours on the same modal-m counts (compute only)",
         lambda r: f"{best(r.get('peer_fleiss'), 'ours_subset_runs'):.3f}"),
        (f"pairwise κ table (≥ {MIN_OVERLAP} shared items), ours end to end",
         lambda r: cell(r.get("pairwise"))),
        ("  of which pairwise_tables + pairwise_kappa_from_tables", lambda r: split_cell(r.get("pairwise"))),
        ("pairwise κ, agreement.pairwise_kappa on events in memory",
         lambda r: cell(r.get("pairwise_in_memory"))),
        (f"α + {N_BOOT}-replicate bootstrap CI, ours end to end", lambda r: cell(r.get("alpha_boot"))),
        ("  of which read + compute", lambda r: split_cell(r.get("alpha_boot"))),
    ]
    header = ["seconds, fastest run (peak RSS of the child)"] + [f"{label(r['n'])} events" for r in sizes]
    return table(header, [[name] + [render(r) for r in sizes] for name, render in rows])


def number(outcome: dict | None, key: str = "value", fmt: str = ".10f") -> str:
    if not outcome or "error" in outcome:
        return "–"
    return format(outcome[key], fmt)


def value_table(run: dict) -> str:
    rows = []
    for r in run["sizes"]:
        fleiss, peer_fleiss, boot = r.get("fleiss", {}), r.get("peer_fleiss", {}), r.get("alpha_boot", {})
        pairs = r.get("pairwise_in_memory")
        check = ("–" if not pairs or "error" in pairs else
                 f"{pairs['pairs']:,} pairs, {pairs['unmatched']} unmatched, "
                 f"{pairs['n_items_differ']} n_items differ, max abs Δκ {pairs['max_kappa_gap']:.1e}")
        rows.append([
            label(r["n"]), number(r.get("alpha")), number(r.get("peer_alpha_counts")),
            number(r.get("peer_alpha_events")),
            f"{number(boot, 'ci_low', '.4f')} – {number(boot, 'ci_high', '.4f')}",
            number(fleiss) + (f" ({fleiss['ratings']:,} ratings of {fleiss['events']:,} events)"
                              if "ratings" in fleiss else ""),
            number(peer_fleiss, "ours_subset_value") + " / " + number(peer_fleiss)
            + (f" (m = {peer_fleiss['modal']}: {peer_fleiss['subset_items']:,} of {peer_fleiss['items']:,} "
               "items)" if "modal" in peer_fleiss else ""),
            (f"{r['pairwise']['pairs']:,}" if "pairs" in r.get("pairwise", {}) else "–"), check,
        ])
    return table(["events", "α ours", "α krippendorff (value counts)", "α krippendorff (events)",
                  f"α 95% CI ({N_BOOT} replicates)", "Fleiss' κ ours, all ratings",
                  "Fleiss' κ ours / statsmodels, modal-m items", "pairs (store)", "store vs in-memory pairs"],
                 rows)


def targets_table(run: dict) -> str:
    """Pass/fail per target, measured at 1e7 events (or the largest size run, marked as such)."""
    r = next((r for r in run["sizes"] if r["n"] == TARGET_SIZE), max(run["sizes"], key=lambda r: r["n"]))
    at = label(r["n"]) + ("" if r["n"] == TARGET_SIZE else "; the targets are for 1e7")
    alpha, peer = r.get("alpha", {}), r.get("peer_alpha_counts", {})
    alpha_rss = alpha.get("peak_rss", float("nan"))
    checks = [
        (f"α nominal end to end < {ALPHA_TARGET:g} s", f"{best(alpha):.2f} s", best(alpha) < ALPHA_TARGET),
        ("α peak RSS < 1 GB (fresh child)", mb(alpha_rss), alpha_rss < ALPHA_MEMORY_TARGET),
        ("α end to end ≤ krippendorff on precomputed value counts",
         f"{best(alpha):.2f} s vs {best(peer):.2f} s", best(alpha) <= best(peer)),
        (f"Fleiss' κ end to end < {FLEISS_TARGET:g} s, no event dropped",
         f"{best(r.get('fleiss')):.2f} s", best(r.get("fleiss")) < FLEISS_TARGET
         and r.get("fleiss", {}).get("ratings") == r.get("fleiss", {}).get("events")),
        (f"pairwise κ table end to end < {PAIRWISE_TARGET:g} s", f"{best(r.get('pairwise')):.2f} s",
         best(r.get("pairwise")) < PAIRWISE_TARGET),
    ]
    rows = [[name, value, "pass" if ok else "**FAIL**"] for name, value, ok in checks]
    return table([f"target (at {at})", "measured", "result"], rows) + "\n\n" + time_shares(r)


def time_shares(r: dict) -> str:
    """Where the end-to-end time goes: the store read against the computation, per measure."""
    parts = []
    for key, name in (("alpha", "α"), ("fleiss", "Fleiss' κ"), ("pairwise", "pairwise κ"),
                      ("alpha_boot", "α + bootstrap")):
        outcome = r.get(key)
        if outcome and "error" not in outcome:
            run = min(outcome["runs"], key=lambda x: x["seconds"])
            parts.append(f"{name} {run['read_s']:.2f} s of {run['seconds']:.2f} s "
                         f"({run['read_s'] / run['seconds']:.0%})")
    return ("Share of the fastest run spent in the store query (rows to pandas included): "
            + "; ".join(parts) + ".")


def report(run: dict) -> str:
    """The Markdown section of ``bench/README.md`` for a run (as saved by ``main``)."""
    m = run["machine"]
    doc = __doc__[__doc__.index("The stores are"):].strip().replace("``", "`")
    parts = [
        SECTION_BEGIN,
        "## Agreement: alpha, Fleiss' kappa, pairwise kappa, bootstrap CIs (`bench/agreement.py`)",
        "",
        doc,
        "",
        f"Command: `{run['command']}`  ",
        f"Machine: {m['cores']} cores, {m['ram']} RAM, {m['cpu']}; Python {m['python']}, {m['versions']}, "
        f"{run['versions']}  ",
        f"Date: {run['date']} UTC; fastest of {run['repeat']} runs per child; DuckDB memory limit: the "
        f"store's default. Load average (1 min) before / after the run: {run['load'][0]:.1f} / "
        f"{run['load'][1]:.1f} on {m['cores']} cores: with other work on the machine, compare paths by the "
        "ratios (measured in the same run) before the absolute seconds.",
        "",
        "### Targets",
        "",
        targets_table(run),
        "",
        "### Time and peak memory",
        "",
        time_table(run),
        "",
        "### Values (the same data through each path)",
        "",
        value_table(run),
    ]
    skipped = [r["fleiss"] | {"n": r["n"]} for r in run["sizes"]
               if "peer_alpha_events" not in r and "items" in r.get("fleiss", {})]
    if skipped:
        parts += ["", "Not run from events: " + "; ".join(
            f"{label(f['n'])}, whose raters × units matrix alone would take {f['annotators']:,} × "
            f"{f['items']:,} × 8 bytes = {f['annotators'] * f['items'] * 8 / 2**30:.0f} GiB" for f in skipped
        ) + "."]
    parts += ["", SECTION_END]
    return "\n".join(parts) + "\n"




# --- command line ---------------------------------------------------------------------------------------


def versions() -> str:
    """Versions of the libraries this benchmark compares (a peer that is not installed says so)."""
    names = ("numpy", "scipy", "statsmodels", "krippendorff")
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} not installed")
    return ", ".join(found)


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print (and optionally write) its report."""
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes("1e5,1e6,1e7"),
                        help="comma-separated event counts (default 1e5,1e6,1e7)")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "bench" / "_work",
                        help="where bench/store.py built its stores and files")
    parser.add_argument("--repeat", type=int, default=3, help="runs per child; the fastest is reported")
    parser.add_argument("--peer-events-max", type=parse_sizes, default=parse_sizes("1e6"),
                        help="largest size for the from-events paths (dense raters × units matrix)")
    report_arguments(parser, "agreement")
    args = parser.parse_args(argv)
    if args.from_results is not None:
        run = json.loads(args.from_results.read_text())
    else:
        if "krippendorff not installed" in versions():
            raise SystemExit("the krippendorff peer is missing; install it (GPL, bench only) with\n  "
                             + __doc__.split("Usage::")[1].strip().splitlines()[0])
        when = dt.datetime.now(dt.UTC)
        run = {"command": ".venv/bin/python bench/agreement.py " + shlex.join(argv),
               "date": f"{when:%Y-%m-%d %H:%M}", "machine": machine(), "versions": versions(),
               "repeat": args.repeat, "load": [os.getloadavg()[0]], "sizes": []}
        for n in args.sizes:
            print(f"{label(n)} events", flush=True)
            run["sizes"].append(bench_size(args.work_dir.resolve(), n, repeat=args.repeat,
                                           peer_events_max=args.peer_events_max[0]))
        run["load"].append(os.getloadavg()[0])
        (args.work_dir / f"agreement-{when:%Y%m%dT%H%M%S}.json").write_text(json.dumps(run, indent=1))
    section = report(run)
    print("\n" + section)
    if args.out is not None:
        write_section(args.out, section, begin=SECTION_BEGIN, end=SECTION_END)


if __name__ == "__main__":
    main()
