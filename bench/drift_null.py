"""False alarms and power of ``analytics.monitoring.drift.change_points`` by simulation.

Each scenario draws series with no change at all or with one step in the middle; each series goes
through ``change_points`` twice (α = 0.05, 999 bootstrap series): with its defaults (segments of at least
two windows) and as the Drift page runs it (weekly windows, segments of at least 28 days, i.e. four weeks;
daily windows for the 184-window case). A *false alarm* is any change reported on a series without one.
With the default 1,500 series per row a rate of 5 % is measured to ±1.1 points (95 %); the tables give each
row's margin for the number of series run.
Scenarios, at 12 and 26 windows:

* **sampling noise only**: y_t = 0.5 + N(0, 0.03²), sampling error 0.03 given.
* **unknown sampling error**: the same, no sampling error given.
* **clustered, 14 items a window**: the share of one class among the labels of Poisson(14) items a window,
  3–5 labels each, 85 % on the item's class (60 % of items in the class); binomial errors given.
* **clustered, ramping**: the same with 2 items a window on average, ramping up over the first ten and down
  over the last ten windows (also at 184 windows: the daily case).
* **added noise**: sampling errors of 100–600 labels and N(0, 0.02²) added to every window alike.
* **between-window variance, 50–500 labels**: p_t ~ Beta(mean 0.3, sd 0.03), x_t ~ Bin(n_t, p_t) with n_t
  uniform on 50–500 (``analytics.synthetic.simulation.beta_binomial_windows``).
* **clustered, 30–80 items**: 30–80 items a window, 3–5 labels each
  (``analytics.synthetic.simulation.clustered_label_windows``); design effect about 2.4.

Steps (power): the last two scenarios with a step in the middle of +0.06 (twice the between-window sd)
and of +0.10.

Command: ``.venv/bin/python bench/drift_null.py --series 1500 --out bench/README.md``
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytics.monitoring import drift  # noqa: E402
from analytics.synthetic import simulation  # noqa: E402
from bench.store import machine, table, write_section  # noqa: E402

BEGIN, END = "<!-- bench/drift_null.py: begin -->", "<!-- bench/drift_null.py: end -->"
N_SIM = 999


def _frame(y, se) -> pd.DataFrame:
    return pd.DataFrame({"window": np.arange(len(y)), "value": y, "std_error": se})


def _shares(frame: pd.DataFrame, step: float = 0.0) -> pd.DataFrame:
    """A share series of ``window, successes, n`` counts, ``step`` added to the second half's shares."""
    series = drift.proportion_series(frame["successes"], frame["n"])
    half = np.arange(len(series)) >= len(series) // 2
    return series.assign(value=series["value"] + np.where(half, step, 0.0))


def _clustered(rng, windows: int, items: float, *, ramp: bool) -> pd.DataFrame:
    """The share of one class among labels clustered in items, Poisson(``items``) items a window."""
    rows = []
    for t in range(windows):
        rate = items * (min(1, (t + 1) / 10, (windows - t) / 10) if ramp else 1)
        m = rng.integers(3, 6, rng.poisson(rate))
        member = np.repeat(rng.random(len(m)) < 0.6, m)
        right = rng.random(m.sum()) < 0.85
        rows.append((t, int(np.where(right, member, ~member).sum()), int(m.sum())))
    return pd.DataFrame(rows, columns=["window", "successes", "n"])


def _added(rng, windows: int) -> pd.DataFrame:
    se = np.sqrt(0.25 / rng.integers(100, 600, windows))
    return _frame(0.5 + rng.normal(0, np.sqrt(se**2 + 0.02**2)), se)


SCENARIOS = {
    "sampling noise only": lambda rng, t: _frame(0.5 + rng.normal(0, 0.03, t), np.full(t, 0.03)),
    "unknown sampling error": lambda rng, t: _frame(0.5 + rng.normal(0, 0.03, t), np.full(t, np.nan)),
    "clustered, 14 items a window": lambda rng, t: _shares(_clustered(rng, t, 14, ramp=False)),
    "clustered, 2 items a window, ramping": lambda rng, t: _shares(_clustered(rng, t, 2, ramp=True)),
    "added noise τ = 0.02": _added,
    "between-window variance, 50–500 labels": lambda rng, t: _shares(
        simulation.beta_binomial_windows(rng, t)),
    "clustered, 30–80 items": lambda rng, t: _shares(simulation.clustered_label_windows(rng, t)),
}
STEPS = {
    "between-window variance, 50–500 labels": lambda rng, t, step: _shares(
        simulation.beta_binomial_windows(rng, t), step),
    "clustered, 30–80 items": lambda rng, t, step: _shares(simulation.clustered_label_windows(rng, t), step),
}
ROWS = ([(name, t, 0.0) for name in SCENARIOS for t in (12, 26)]
        + [("clustered, 2 items a window, ramping", 184, 0.0)]
        + [(name, t, step) for name in STEPS for t in (12, 26) for step in (0.06, 0.10)])


def _one(task: tuple[str, int, float, int]) -> tuple[bool, bool]:
    """(any change with the defaults, any change as the page runs it) on one series."""
    name, windows, step, seed = task
    rng = np.random.default_rng(seed)
    series = SCENARIOS[name](rng, windows) if step == 0 else STEPS[name](rng, windows, step)
    grain = "day" if windows > 100 else "week"
    spaced = series.assign(window=pd.date_range("2026-03-02", periods=len(series), freq=grain[0].upper()))
    plain = drift.change_points(series, n_sim=N_SIM, random_state=seed)
    paged = drift.change_points(spaced, n_sim=N_SIM, random_state=seed, min_size=1,
                                min_span_days=drift.MIN_SEGMENT_DAYS, grain=grain)
    return len(plain.changes) > 0, len(paged.changes) > 0


def run(series: int, processes: int) -> list[dict]:
    results = []
    with multiprocessing.Pool(processes) as pool:
        for i, (name, windows, step) in enumerate(ROWS):
            start = time.perf_counter()
            tasks = [(name, windows, step, 100_000 * i + seed) for seed in range(series)]
            flags = np.array(pool.map(_one, tasks, chunksize=25))
            flagged, paged = (int(n) for n in flags.sum(axis=0))
            results.append({"scenario": name, "windows": windows, "step": step, "series": series,
                            "flagged": flagged, "paged": paged, "seconds": time.perf_counter() - start})
            print(f"{name}, {windows} windows, step {step}: {flagged / series:.1%} / {paged / series:.1%}",
                  file=sys.stderr)
    return results


def report(results: list[dict], command: str, seconds: float) -> str:
    info = machine()

    def rate(r, key):
        p = r[key] / r["series"]
        half = 1.96 * np.sqrt(p * (1 - p) / r["series"])
        return f"{p:.1%} (±{half:.1%})"

    null = [[r["scenario"], str(r["windows"]), f"{r['series']:,}", rate(r, "flagged"), rate(r, "paged")]
            for r in results if r["step"] == 0]
    power = [[r["scenario"], str(r["windows"]), f"+{r['step']:.2f}", f"{r['series']:,}", rate(r, "flagged"),
              rate(r, "paged")] for r in results if r["step"] > 0]
    worst = max((r for r in results if r["step"] == 0), key=lambda r: max(r["flagged"], r["paged"]))
    # The docstring's description, scenario list and steps, each bullet kept on a line of its own.
    intro = "\n\n".join(re.sub(r"\s*\n(?!\* )\s*", " ", part.strip())
                        for part in (__doc__ or "").split("\n\n")[1:4])
    return "\n".join([
        BEGIN, "## Change points: false alarms and power by simulation (`bench/drift_null.py`)", "",
        intro, "",
        f"Command: `{command}`  ",
        f"Machine: {info['cores']} cores, {info['ram']} RAM, {info['cpu']}; Python {info['python']}, "
        f"{info['versions']}  ",
        f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {seconds / 60:.0f} min.", "",
        "### False alarms (series with any change reported; nominal 5 %)", "",
        table(["scenario", "windows", "series", "defaults (95% margin)", "as the page (95% margin)"], null),
        "",
        f"Highest: {worst['scenario']} at {worst['windows']} windows, "
        f"{max(worst['flagged'], worst['paged']) / worst['series']:.1%}.", "",
        "### Power (series with a change reported; one step in the middle)", "",
        table(["scenario", "windows", "step", "series", "found, defaults", "found, as the page"], power), "",
        END, "",
    ])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--series", type=int, default=1500, help="series per scenario")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = run(args.series, args.processes)
    section = report(results, ".venv/bin/python bench/drift_null.py " + " ".join(argv),
                     time.perf_counter() - start)
    print(section)
    if args.out:
        write_section(args.out, section, begin=BEGIN, end=END)


if __name__ == "__main__":
    main()
