"""Impact at 1e6 items: a before/after analysis of two dataset versions, the Impact page and the report.

Usage::

    .venv/bin/python bench/impact.py --items 1e6 --repeat 3 --out bench/README.md

**The store** is ``bench/remediation.py``'s base store (``--source``, default
``<work-dir>/remediation-<items>/base.duckdb``: the scale world of ``analytics.synthetic.scale`` with 1e6
items, 3.5e6 label events, 16 features per item, a ``split`` of ``train`` and ``eval`` (each item ``eval``
with probability 0.1), a real detection run and a review round). It is copied once (the source is never
written) to ``<work-dir>/impact-<items>/base.duckdb`` and, in a child process, given what an impact analysis
needs, through the engine as a team would: **gold labels** for every item of the ``eval`` split, imported
through ``analytics.ingest.pipeline.ingest`` (kind ``gold``, source ``eval``): the world's truth, which
``analytics.synthetic.scale`` draws per chunk of events (``_skeletons``: the item's true class) and never
stores, so it is regenerated from the source's seed and event count; then dataset version **v1**
(``analytics.remediation.versions.create_version``), the example policy ``data/policies.example.toml``
applied to the detection run by an admin (``analytics.remediation.policies.apply``, confirmed with a reason
were its guardrails to block it) and version **v2**.

**Each run** copies that store to a fresh file and runs, in one fresh child process, in this order:

* **baseline** (same process, same store): a bare scan and aggregate over ``label_events`` (``SELECT
  item_id, label, count(*) ... GROUP BY ALL``; cold, then the fastest of three warm runs), as in
  ``bench/remediation.py``;
* ``analytics.impact.ab.compare_versions(store, 'v1', 'v2')`` end to end with its defaults (2,000 bootstrap
  replicates for the headline intervals, 500 per class and per slice; the result stored), the process's
  peak resident memory, and its parts, timed by wrapping the engine's functions in this process (no engine
  code changes): the reads (both versions' labels; the gold items and slices; the training items'
  features), the label quality against gold, the items the remediation touched, the model quality (the two
  fits of ``ab.MODEL``, standardised features and a multinomial logistic regression, one per arm; their
  predictions on the held-out set; the scoring with its intervals, per class, per subgroup and
  calibration), and the bootstrap's share of all of this (``paired.paired_bootstrap``,
  ``paired.subgroup_deltas``, ``ab._per_class_f1``);
* **baselines**, after the analysis so the engine's reads are not warmed by them: arm A's training matrix
  built as the engine builds it (features and v1 labels of the training items), then a plain scikit-learn
  ``LogisticRegression`` (the engine's ``C``, solver, ``max_iter`` and seed; no scaler) fitted on it, and
  the same after a ``StandardScaler`` (one of the engine's two fits, outside the engine).

Then a second fresh child renders the **Impact page** (``pages/impact/impact.py``) through Streamlit's
``AppTest`` with ``LABELWATCH_DB`` on that copy, once the analysis is stored (the steps of
``bench/agreement_page.time_page``: ``app.py``'s Overview first, as on a real visit, then the Impact page's
first run, every cache cold, and a second, cached run), as ``lead`` in single-user mode; the page's report
button defers the report to a click (a callable), so the page does not build it. A third fresh child
builds **the report**: ``load_result`` of the stored analysis, then ``charts.report.build_report``, with
its parts timed the same way (``summary.store_summary`` and its sections, the weekly activity and
agreement, the figures' HTML), and the size of the HTML; its baseline, in the same process, is plotly's
standalone HTML of one empty figure with plotly.js inlined (``plotly.io.to_html``), the floor of any
offline plotly report. Times are wall-clock seconds with the process's CPU time beside them; each ratio
divides a time by a baseline measured in the same run on the same file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from analytics.store import Store  # noqa: E402
from bench.store import (  # noqa: E402
    label,
    machine,
    parse_sizes,
    peak_rss,
    remove_store,
    store_size,
    table,
    write_section,
)

BEGIN, END = "<!-- bench/impact.py: begin -->", "<!-- bench/impact.py: end -->"
POLICY_FILE = ROOT / "data" / "policies.example.toml"
CONFIRM_REASON = "bench/impact.py: guardrails overridden to build the two versions at scale"
#: The scale world writes events in chunks of this size (``build_scale_store``'s default); the truth of a
#: chunk's items depends on it.
CHUNK_SIZE = 1_000_000
USER = "lead"
#: Targets of the issue: seconds, and bytes of the report.
TARGETS = {"analysis": 60.0, "page": 2.0, "report": 30.0, "report_bytes": 10 * 2**20}


# --- child processes ------------------------------------------------------------------------------------


def _cpu() -> float:
    """CPU seconds this process used so far, every thread (DuckDB's and BLAS's too), user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss() -> int:
    """Resident memory of this process now, in bytes."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _measure(out: dict, key: str, fn: Callable[[], Any]) -> Any:
    """Run ``fn``; keep its wall time as ``out[key]`` and its CPU time as ``out[key + "_cpu"]``."""
    cpu = _cpu()
    out[key], value = _timed(fn)
    out[key + "_cpu"] = _cpu() - cpu
    return value


class Parts:
    """Wall and CPU seconds (and calls) of the functions it wraps, summed per name; a call nested in
    another call of the same name is not counted twice."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.raised: dict[str, int] = {}
        self._depth: dict[str, int] = {}
        self._undo: list[tuple[Any, str, Any]] = []

    def timed(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn`` with its time (and how far it raised the process's peak RSS) added to ``name``."""
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            depth = self._depth.get(name, 0)
            self._depth[name] = depth + 1
            start, cpu, peak = time.perf_counter(), _cpu(), peak_rss()
            try:
                return fn(*args, **kwargs)
            finally:
                self._depth[name] = depth
                if depth == 0:
                    self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
                    self.cpu[name] = self.cpu.get(name, 0.0) + _cpu() - cpu
                    self.calls[name] = self.calls.get(name, 0) + 1
                    self.raised[name] = self.raised.get(name, 0) + peak_rss() - peak
        return wrapper

    def wrap(self, owner: Any, attribute: str, name: str) -> None:
        """Replace ``owner.attribute`` by its timed self (``undo`` puts it back)."""
        original = getattr(owner, attribute)
        self._undo.append((owner, attribute, original))
        setattr(owner, attribute, self.timed(name, original))

    def undo(self) -> None:
        for owner, attribute, original in reversed(self._undo):
            setattr(owner, attribute, original)
        self._undo.clear()

    def result(self) -> dict:
        return {name: {"s": s, "cpu": self.cpu[name], "calls": self.calls[name], "raised": self.raised[name]}
                for name, s in self.seconds.items()}


def child_prepare(source: str, path: str, seed: int, n_events: int) -> dict:
    """Copy ``source`` to ``path`` and add the gold labels, v1, the policy's apply and v2 (see the module's
    words); what was added and how long it took."""
    import pandas as pd

    from analytics.ingest import pipeline
    from analytics.remediation import policies, versions
    from analytics.remediation.queue import EVAL_SPLITS
    from analytics.remediation.roles import Actor, Role
    from analytics.store.remediation import latest_run
    from analytics.synthetic import scale
    from analytics.synthetic.simulation import LABELS

    remove_store(Path(path))
    shutil.copyfile(source, path)
    out: dict[str, Any] = {"seed": seed, "n_events": n_events}
    truth = pd.concat([pd.DataFrame({"item_id": s["item_id"].to_numpy(zero_copy_only=False),
                                     "label": [LABELS[k] for k in s["truth"]]})
                       for _, s in scale._skeletons(seed, n_events, CHUNK_SIZE)], ignore_index=True)
    admin = Actor(USER, Role.ADMIN)
    with Store(path) as store:
        held = store.query("SELECT item_id, any_value(split) AS split FROM live_items GROUP BY item_id")
        out["items"] = len(held)
        out["splits"] = {str(k): int(v) for k, v in held["split"].value_counts().items()}
        eval_ids = held.loc[held["split"].fillna("").str.lower().isin(EVAL_SPLITS), "item_id"]
        gold = truth[truth["item_id"].isin(set(eval_ids))].assign(source="eval")
        if len(gold) != len(eval_ids):
            raise RuntimeError(f"truth for {len(gold):,} of {len(eval_ids):,} eval items: wrong seed, size?")
        report = _measure(out, "gold_s", lambda: pipeline.ingest(
            store, gold, kind="gold", name="bench/impact.py: the scale world's truth of the eval items",
            created_by="bench"))
        out["gold"] = {"read": report.rows_read, "accepted": report.rows_accepted,
                       "rejected": report.rows_read - report.rows_accepted}
        # How far the annotators' plurality is from the gold (the truth should be most labels' class).
        out["gold_majority_agrees"] = float(store.scalar(
            "WITH m AS (SELECT item_id, arg_max(label, n) AS label FROM (SELECT item_id, label, "
            "count(*) AS n FROM live_label_events GROUP BY ALL) GROUP BY item_id) "
            "SELECT avg((m.label = g.label)::INT) FROM live_gold_labels g JOIN m USING (item_id)"))
        run_id = latest_run(store)
        out["run_id"] = run_id
        _measure(out, "v1_s", lambda: versions.create_version(store, admin, note="before the policy",
                                                              version_id="v1"))
        policy = policies.load_policies(POLICY_FILE)[0]
        dry = policies.dry_run(store, policy, run_id)
        out["dry_run"] = dry.verdict()
        reason = CONFIRM_REASON if dry.blocked else None
        written = _measure(out, "apply_s", lambda: policies.apply(store, admin, policy, run_id,
                                                                  confirm_reason=reason, preview=dry))
        out["apply"] = {"actions": len(written), "confirmed": reason is not None}
        _measure(out, "v2_s", lambda: versions.create_version(store, admin, note="after the policy",
                                                              version_id="v2"))
        out["changed"] = int(versions.diff(store, "v1", "v2").summary()["changed"])
        store.cursor().execute("CHECKPOINT")
    out["size"] = store_size(Path(path))
    return out


def _training_matrix(store: Store, version_id: str) -> tuple[Any, Any]:
    """Arm ``version_id``'s training matrix as ``analytics.impact.ab._model_quality`` builds it: features
    and labels of the items with features outside the evaluation split (and not held-out gold), labelled
    and not excluded."""
    import numpy as np
    import pandas as pd

    from analytics.remediation import versions
    from analytics.remediation.queue import EVAL_SPLITS
    from analytics.store import impact as sql

    items = sql.training_items(store).set_index("item_id")
    gold = sql.gold_items(store).set_index("item_id")
    held = gold[gold["split"].fillna("").str.lower().isin(EVAL_SPLITS) & gold["features"].notna()]
    train = items.index[~items["split"].fillna("").str.lower().isin(EVAL_SPLITS)].difference(held.index)
    arm = versions.version_labels(store, version_id).set_index("item_id").reindex(train)
    arm = arm[arm["label"].notna() & ~arm["excluded"].fillna(False).astype(bool)]
    x = np.stack(items.loc[arm.index, "features"].to_numpy())
    return x, pd.Series(arm["label"]).to_numpy()


def child_analysis(path: str) -> dict:
    """On the store at ``path``: the scan baseline, ``compare_versions('v1', 'v2')`` with its parts, then the
    plain logistic regression baseline."""
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from analytics.impact import ab, paired

    out: dict[str, Any] = {"load_before": os.getloadavg()[0], "sklearn": sklearn.__version__}
    scan = ("SELECT count(*), sum(n) FROM (SELECT item_id, label, count(*) AS n FROM label_events "
            "GROUP BY ALL)")
    with Store(path) as store:
        cur = store.cursor()
        _measure(out, "scan_cold_s", lambda: cur.execute(scan).fetchall())
        best: dict[str, float] = {}
        for _ in range(3):
            trial: dict[str, float] = {}
            _measure(trial, "s", lambda: cur.execute(scan).fetchall())
            if not best or trial["s"] < best["s"]:
                best = trial
        out["scan_s"], out["scan_s_cpu"] = best["s"], best["s_cpu"]

        parts = Parts()
        for owner, attribute, name in [
            (ab, "_labels", "read_versions"),
            (ab.sql, "gold_items", "read_gold"),
            (ab.sql, "item_slices", "read_slices"),
            (ab.sql, "training_items", "read_training"),
            (ab, "_label_quality", "label_quality"),
            (ab, "_touched", "touched"),
            (ab, "_model_quality", "model_quality"),
            (ab, "_scored", "scored"),
            (ab, "_saved", "save"),
            (paired, "paired_bootstrap", "bootstrap"),
            (paired, "subgroup_deltas", "bootstrap"),
            (ab, "_per_class_f1", "bootstrap"),
        ]:
            parts.wrap(owner, attribute, name)
        make_pipeline = ab.make_pipeline

        iterations: list[int] = []

        def timed_pipeline(*steps: Any) -> Any:
            model = make_pipeline(*steps)
            fit = parts.timed("fit", model.fit)

            def counted_fit(*args: Any, **kwargs: Any) -> Any:
                fitted = fit(*args, **kwargs)
                iterations.append(int(max(model[-1].n_iter_)))
                return fitted

            model.fit = counted_fit
            model.predict_proba = parts.timed("predict", model.predict_proba)
            return model

        ab.make_pipeline = timed_pipeline
        rss = _rss()
        try:
            result = _measure(out, "analysis_s", lambda: ab.compare_versions(store, "v1", "v2",
                                                                             created_by=USER))
        finally:
            ab.make_pipeline = make_pipeline
            parts.undo()
        out["analysis_rss_before"], out["analysis_peak_rss"] = rss, peak_rss()
        out["parts"] = parts.result()
        out["fit_iterations"] = iterations
        out["impact_id"] = result.impact_id
        out["summary"] = result.summary
        out["label_quality"] = result.label_quality.to_dict(orient="records")
        out["model_quality"] = result.model_quality[["metric", "a", "b", "delta", "ci_low", "ci_high", "n"]
                                                    ].to_dict(orient="records")
        out["stored_bytes"] = int(store.scalar("SELECT strlen(result::VARCHAR) FROM impact_runs "
                                               "WHERE impact_id = ?", [result.impact_id]))

        x, y = _measure(out, "matrix_s", lambda: _training_matrix(store, "v1"))
        def plain() -> LogisticRegression:
            return LogisticRegression(C=ab.MODEL["C"], max_iter=ab.MODEL["max_iter"],
                                      solver=ab.MODEL["solver"], random_state=0)

        model = plain()
        _measure(out, "lr_s", lambda: model.fit(x, y))
        out["lr_rows"], out["lr_iterations"] = int(x.shape[0]), int(max(model.n_iter_))
        scaled = make_pipeline(StandardScaler(), plain())
        _measure(out, "lr_scaled_s", lambda: scaled.fit(x, y))
        out["lr_scaled_iterations"] = int(max(scaled[-1].n_iter_))
    out["peak_rss"] = peak_rss()
    out["load_after"] = os.getloadavg()[0]
    return out


def child_page(path: str) -> dict:
    """The Impact page's first and cached render on the store at ``path``, once an analysis is stored
    (``bench/agreement_page.time_page``'s steps, with the CPU time of each run)."""
    os.environ["LABELWATCH_DB"] = path
    os.environ["LABELWATCH_USER"] = USER
    os.environ.pop("LABELWATCH_ROLES", None)
    from streamlit.testing.v1 import AppTest

    out: dict[str, Any] = {"load_before": os.getloadavg()[0]}
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.run()
    at.switch_page("pages/impact/impact.py")
    _measure(out, "first", at.run)
    _measure(out, "cached", at.run)
    if at.exception:
        raise RuntimeError([e.value for e in at.exception])
    verdict = [m.value for m in at.markdown if m.value.startswith("- From ")]
    return {**out, "verdict": verdict[0] if verdict else None, "tiles": [m.label for m in at.metric],
            "peak_rss": peak_rss(), "load_after": os.getloadavg()[0]}


def child_report(path: str, impact_id: str, html_out: str) -> dict:
    """The report of the stored analysis ``impact_id`` on the store at ``path`` (written to ``html_out``),
    with its parts; and the floor: plotly's standalone HTML of one empty figure."""
    import plotly.graph_objects as go
    import plotly.io as pio

    from analytics.agreement import report as agreement_report
    from analytics.impact import ab
    from analytics.store import drift as drift_queries
    from charts import report

    out: dict[str, Any] = {"load_before": os.getloadavg()[0]}
    floor = _measure(out, "floor_s", lambda: pio.to_html(go.Figure(), full_html=True, include_plotlyjs=True))
    out["floor_bytes"] = len(floor.encode())
    parts = Parts()
    for owner, attribute, name in [
        (report.summary, "store_summary", "store_summary"),
        (report.overview_queries, "activity", "activity"),
        (report.overview, "agreement_by_period", "agreement_by_period"),
        (report.words, "verdict", "verdict"),
        (report.pio, "to_html", "figures_html"),
        # Inside store_summary: its sections, and the annotator windows of its drift section.
        (report.summary.overview, "overview_summary", "summary_totals"),
        (report.summary.queries, "table_counts", "summary_counts"),
        (agreement_report, "headline", "summary_agreement"),
        (agreement_report, "annotator_tables", "summary_annotators"),
        (report.summary, "_drift", "summary_drift"),
        (drift_queries, "annotator_windows", "summary_drift_annotators"),
        (report.summary, "_slices", "summary_slices"),
        (report.summary, "_suspects", "summary_suspects"),
        (report.summary, "_impact", "summary_impact"),
    ]:
        parts.wrap(owner, attribute, name)
    with Store(path) as store:
        result = _measure(out, "load_s", lambda: ab.load_result(store, impact_id))
        try:
            html = _measure(out, "report_s", lambda: report.build_report(store, result))
        finally:
            parts.undo()
    out["parts"] = parts.result()
    data = html.encode()
    out["bytes"] = len(data)
    out["figures"] = len(re.findall(r'class="plotly-graph-div"', html))
    out["plotly_js_inlined"] = html.count("plotly.js v")
    Path(html_out).write_bytes(data)
    out["peak_rss"] = peak_rss()
    out["load_after"] = os.getloadavg()[0]
    return out


CHILDREN: dict[str, Callable[..., dict]] = {"prepare": child_prepare, "analysis": child_analysis,
                                            "page": child_page, "report": child_report}


def run_child(task: str, **kwargs: Any) -> dict:
    """Run ``CHILDREN[task](**kwargs)`` in a fresh Python process; its result."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", task, json.dumps(kwargs)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"child {task} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the benchmark --------------------------------------------------------------------------------------


def base_store(work_dir: Path, source: Path, n_items: int) -> tuple[Path, dict]:
    """The prepared copy of ``source`` (made when missing or when the source changed) and its record."""
    if not source.exists():
        raise SystemExit(f"{source} is missing: build it with bench/remediation.py --items {n_items} "
                         "(or pass --source)")
    built_by = json.loads((source.parent / "build.json").read_text())
    folder = work_dir / f"impact-{n_items}"
    path, manifest = folder / "base.duckdb", folder / "build.json"
    if path.exists() and manifest.exists():
        made = json.loads(manifest.read_text())
        if made.get("source_size") == store_size(source) and made.get("size") == store_size(path):
            return path, made
    folder.mkdir(parents=True, exist_ok=True)
    print(f"preparing the {label(n_items)}-item store (gold labels, v1, the policy, v2)", flush=True)
    start = time.perf_counter()
    made = run_child("prepare", source=str(source), path=str(path), seed=int(built_by["seed"]),
                     n_events=int(built_by["n_events"]))
    made["prepare_s"] = time.perf_counter() - start
    made["prepared_at"] = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    made["source"], made["source_size"], made["source_build"] = str(source), store_size(source), built_by
    manifest.write_text(json.dumps(made, indent=1))
    return path, made


def bench(work_dir: Path, source: Path, n_items: int, repeat: int) -> dict:
    """Prepare (or reuse) the store, then ``repeat`` runs of the analysis, the page and the report on fresh
    copies."""
    path, made = base_store(work_dir, source, n_items)
    runs = []
    for i in range(repeat):
        copy = path.with_name("run.duckdb")
        remove_store(copy)
        shutil.copyfile(path, copy)
        try:
            analysis = run_child("analysis", path=str(copy))
            page = run_child("page", path=str(copy))
            made_report = run_child("report", path=str(copy), impact_id=analysis["impact_id"],
                                    html_out=str(path.with_name(f"report-{i + 1}.html")))
        finally:
            remove_store(copy)
        runs.append({"analysis": analysis, "page": page, "report": made_report})
        print(f"run {i + 1}: analysis {analysis['analysis_s']:.1f} s (peak "
              f"{analysis['analysis_peak_rss'] / 2**20:,.0f} MB), LR baseline {analysis['lr_s']:.1f} s, scan "
              f"{analysis['scan_s']:.2f} s; page {page['first']:.2f} s (cached {page['cached']:.2f} s); "
              f"report {made_report['report_s']:.1f} s, {made_report['bytes'] / 2**20:.1f} MB", flush=True)
    return {"items": n_items, "prepared": made, "runs": runs}


# --- report ---------------------------------------------------------------------------------------------

def _get(*keys: str) -> Callable[[dict], Any]:
    """The value at ``keys`` of one run's results (None when a saved run lacks it)."""
    def get(run: dict) -> Any:
        for key in keys:
            if not isinstance(run, dict) or key not in run:
                return None
            run = run[key]
        return run
    return get


def _part(child: str, name: str, field: str = "s") -> tuple[str, ...]:
    return (child, "parts", name, field)


def _rest(run: dict) -> float:
    """The model quality's time outside its reads, fits, predictions and scoring: building the matrices."""
    parts = run["analysis"]["parts"]
    return parts["model_quality"]["s"] - sum(parts[k]["s"] for k in ("read_training", "fit", "predict",
                                                                      "scored"))


def _other(run: dict) -> float:
    """compare_versions outside its timed parts (items changed, the result frame)."""
    parts, total = run["analysis"]["parts"], run["analysis"]["analysis_s"]
    return total - sum(parts[k]["s"] for k in ("read_versions", "read_gold", "read_slices", "label_quality",
                                               "touched", "model_quality", "save"))


def _summary_totals(run: dict) -> float:
    parts = run["report"]["parts"]
    return parts["summary_totals"]["s"] + parts["summary_counts"]["s"]


def _summary_unused_small(run: dict) -> float:
    parts = run["report"]["parts"]
    return parts["summary_suspects"]["s"] + parts["summary_impact"]["s"]


#: Rows of the table: (name, the value of one run, unit, CPU of one run or None, baseline key or None,
#: target key or None).
Row = tuple[str, Callable[[dict], Any], str, Callable[[dict], Any] | None, str | None, str | None]
ROWS: list[Row] = [
    ("baseline: bare scan + aggregate of `label_events` (warm, best of 3)", _get("analysis", "scan_s"), "s",
     _get("analysis", "scan_s_cpu"), None, None),
    ("baseline: the same scan, cold (first query of the process)", _get("analysis", "scan_cold_s"), "s",
     _get("analysis", "scan_cold_s_cpu"), "scan", None),
    ("baseline: plain `LogisticRegression` fit on arm A's training matrix", _get("analysis", "lr_s"), "s",
     _get("analysis", "lr_s_cpu"), None, None),
    ("baseline: the same fit after a `StandardScaler` (one of the engine's two fits, outside it)",
     _get("analysis", "lr_scaled_s"), "s", _get("analysis", "lr_scaled_s_cpu"), "lr", None),
    ("baseline: building that matrix (reads and `np.stack`)", _get("analysis", "matrix_s"), "s",
     _get("analysis", "matrix_s_cpu"), None, None),
    ("**compare_versions v1 → v2, end to end** (result stored)", _get("analysis", "analysis_s"), "s",
     _get("analysis", "analysis_s_cpu"), "lr", "analysis"),
    ("  reads: both versions' labels", _get(*_part("analysis", "read_versions")), "s",
     _get(*_part("analysis", "read_versions", "cpu")), "scan", None),
    ("  reads: gold items (with features)", _get(*_part("analysis", "read_gold")), "s",
     _get(*_part("analysis", "read_gold", "cpu")), "scan", None),
    ("  reads: slices (`item_slices`)", _get(*_part("analysis", "read_slices")), "s",
     _get(*_part("analysis", "read_slices", "cpu")), "scan", None),
    ("  label quality against gold (bootstrap, McNemar, per slice)",
     _get(*_part("analysis", "label_quality")), "s", _get(*_part("analysis", "label_quality", "cpu")), None,
     None),
    ("  items the remediation touched", _get(*_part("analysis", "touched")), "s",
     _get(*_part("analysis", "touched", "cpu")), None, None),
    ("  model quality, all of it", _get(*_part("analysis", "model_quality")), "s",
     _get(*_part("analysis", "model_quality", "cpu")), "lr", None),
    ("    reads: training items' features (`training_items`)", _get(*_part("analysis", "read_training")), "s",
     _get(*_part("analysis", "read_training", "cpu")), "scan", None),
    ("    the two fits (scaler + logistic regression)", _get(*_part("analysis", "fit")), "s",
     _get(*_part("analysis", "fit", "cpu")), "lr", None),
    ("    predictions on the held-out set", _get(*_part("analysis", "predict")), "s",
     _get(*_part("analysis", "predict", "cpu")), None, None),
    ("    scoring: intervals, per class, subgroups, calibration", _get(*_part("analysis", "scored")), "s",
     _get(*_part("analysis", "scored", "cpu")), None, None),
    ("    the rest: matrices, masks, class mix", _rest, "s", None, None, None),
  ("  saving the result", _get(*_part("analysis", "save")), "s", _get(*_part("analysis", "save", "cpu")),
     None, None),
    ("  the rest of compare_versions", _other, "s", None, None, None),
    ("  bootstrap, across label and model quality", _get(*_part("analysis", "bootstrap")), "s",
     _get(*_part("analysis", "bootstrap", "cpu")), None, None),
    ("compare_versions: peak RSS of its process", _get("analysis", "analysis_peak_rss"), "MB", None, None,
     None),
    ("compare_versions: RSS before it (interpreter, libraries, the scan)",
     _get("analysis", "analysis_rss_before"), "MB", None, None, None),
    ("Impact page, first render once stored (AppTest)", _get("page", "first"), "s",
     _get("page", "first_cpu"), "scan", "page"),
    ("Impact page, cached rerun", _get("page", "cached"), "s", _get("page", "cached_cpu"), "scan", None),
    ("baseline: plotly's standalone HTML of one empty figure", _get("report", "floor_s"), "s",
     _get("report", "floor_s_cpu"), None, None),
    ("baseline: its size", _get("report", "floor_bytes"), "MB", None, None, None),
    ("load_result (the stored analysis)", _get("report", "load_s"), "s", _get("report", "load_s_cpu"), None,
     None),
    ("**build_report**", _get("report", "report_s"), "s", _get("report", "report_s_cpu"), "scan", "report"),
    ("  `summary.store_summary`, all of it", _get(*_part("report", "store_summary")), "s",
     _get(*_part("report", "store_summary", "cpu")), "scan", None),
    ("    totals (`overview_summary`, exact items) and table counts", _summary_totals, "s", None, None, None),
    ("    agreement headline (not in the report)", _get(*_part("report", "summary_agreement")), "s",
     _get(*_part("report", "summary_agreement", "cpu")), None, None),
    ("    annotator tables (not in the report)", _get(*_part("report", "summary_annotators")), "s",
     _get(*_part("report", "summary_annotators", "cpu")), "scan", None),
    ("    drift", _get(*_part("report", "summary_drift")), "s",
     _get(*_part("report", "summary_drift", "cpu")), None, None),
    ("      of which the annotator windows", _get(*_part("report", "summary_drift_annotators")), "s",
     _get(*_part("report", "summary_drift_annotators", "cpu")), None, None),
    ("    slices", _get(*_part("report", "summary_slices")), "s",
     _get(*_part("report", "summary_slices", "cpu")), None, None),
    ("    suspects and impact (not in the report)", _summary_unused_small, "s", None, None, None),
    ("  weekly activity", _get(*_part("report", "activity")), "s", _get(*_part("report", "activity", "cpu")),
     None, None),
    ("  weekly agreement", _get(*_part("report", "agreement_by_period")), "s",
     _get(*_part("report", "agreement_by_period", "cpu")), None, None),
    ("  figures to HTML (`plotly.io.to_html`)", _get(*_part("report", "figures_html")), "s",
     _get(*_part("report", "figures_html", "cpu")), "floor", None),
    ("**the report's size**", _get("report", "bytes"), "MB", None, "floor_bytes", "report_bytes"),
]
_BASELINES = {"scan": ("analysis", "scan_s"), "lr": ("analysis", "lr_s"), "floor": ("report", "floor_s"),
              "floor_bytes": ("report", "floor_bytes")}
_BASELINE_WORDS = {"scan": "scan", "lr": "LR fit", "floor": "floor", "floor_bytes": "floor"}


def _value(x: float, unit: str, *, units: bool = False) -> str:
    if unit == "MB":
        return f"{x / 2**20:,.1f} MB"
    return f"{x:.2f} s" if units else f"{x:.2f}"


def _target(key: str) -> str:
    return f"< {TARGETS[key] / 2**20:g} MB" if key == "report_bytes" else f"< {TARGETS[key]:g} s"


def _markdown(doc: str) -> str:
    """The docstring's description (after the usage) as Markdown paragraphs and bullets."""
    parts = []
    for paragraph in doc.strip().split("\n\n")[3:]:
        items = re.split(r"^\* ", paragraph, flags=re.MULTILINE)
        lines = [" ".join(line.strip() for line in item.splitlines()) for item in items]
        parts.append("\n".join([lines[0], *("* " + line for line in lines[1:])]).strip())
    return "\n\n".join(parts)


def _delta(row: dict) -> str:
    return (f"{row['metric']} {row['a']:.4f} → {row['b']:.4f} (B − A {row['delta']:+.4f}, 95% CI "
            f"{row['ci_low']:+.4f} to {row['ci_high']:+.4f}, {int(row['n']):,} items)")


def _raises(parts: dict, top: int = 3) -> str:
    """The parts of compare_versions that raised the peak RSS most, in words (innermost parts; the model
    quality's own work, outside its reads, fits and scoring, as "its matrices")."""
    leaves = ("read_versions", "read_gold", "read_slices", "label_quality", "touched", "read_training", "fit",
              "predict", "scored", "save")
    raised = {name: parts[name]["raised"] for name in leaves if name in parts}
    raised["model quality's matrices"] = parts["model_quality"]["raised"] - sum(
        parts[name]["raised"] for name in ("read_training", "fit", "predict", "scored") if name in parts)
    ranked = sorted(raised.items(), key=lambda kv: -kv[1])[:top]
    return ", ".join(f"{name} +{value / 2**20:,.0f} MB" for name, value in ranked)


def _first_line(verdict: str | None) -> str:
    """The verdict's first bullet without its Markdown escapes."""
    line = (verdict or "").splitlines()[0] if verdict else ""
    return re.sub(r"\\(.)", r"\1", line.removeprefix("- "))


def report(run: dict) -> str:
    """The README section of a saved run."""
    info, made, runs = run["machine"], run["prepared"], run["runs"]
    rows, verdicts = [], []
    for name, get, unit, get_cpu, base, target in ROWS:
        values = [get(r) for r in runs]
        median = statistics.median(values)
        cpus = [get_cpu(r) for r in runs] if get_cpu is not None else []
        cpu = f"{statistics.median(cpus):.2f}" if cpus and None not in cpus else ""
        ratio = ""
        if base is not None:
            ratios = [v / _get(*_BASELINES[base])(r) for v, r in zip(values, runs, strict=True)]
            ratio = f"{statistics.median(ratios):.1f}× {_BASELINE_WORDS[base]}"
        result = ("pass" if median < TARGETS[target] else "**FAIL**") if target else ""
        rows.append([name, *[_value(v, unit) for v in values], _value(median, unit), cpu, ratio,
                     _target(target) if target else "", result])
        if target:
            worst = max(values)
            plain = name.replace("**", "").strip()
            verdicts.append([f"{plain}: {_target(target)}", _value(median, unit, units=True),
                             _value(worst, unit, units=True) + ("" if worst < TARGETS[target] else " (over)"),
                             result])
    first = runs[0]["analysis"]
    s = first["summary"]
    src = made["source_build"]
    loads = "; ".join(f"run {i + 1}: {r['analysis']['load_before']:.1f} → {r['analysis']['load_after']:.1f}, "
                      f"page {r['page']['load_before']:.1f} → {r['page']['load_after']:.1f}, report "
                      f"{r['report']['load_before']:.1f} → {r['report']['load_after']:.1f}"
                      for i, r in enumerate(runs))
    label_row = first["label_quality"][0]
    model_rows = {r["metric"]: r for r in first["model_quality"]}
    rep = runs[0]["report"]
    return "\n".join([
        BEGIN, f"## Impact at {label(run['items'])} items (`bench/impact.py`)", "",
        _markdown(__doc__ or ""), "",
        f"Command: `{run['command']}`  ",
        f"Machine: {info['cores']} cores, {info['ram']} RAM, {info['cpu']}; Python {info['python']}, "
        f"{info['versions']}, scikit-learn {first['sklearn']}, streamlit {run['streamlit']}  ",
        f"Date: {run['date']} UTC; {len(runs)} run(s), each on a fresh copy of the store; 1-minute load "
        f"average before → after each child: {loads} (other jobs share this machine).",
        "",
        f"The store: {made['items']:,} items ({', '.join(f'{n:,} {k}' for k, n in made['splits'].items())}), "
        f"{src['n_events']:,} label events, built by `bench/remediation.py` on {src['built_at']} "
        f"(its detection run found {src['status'].get('mislabeled', 0):,} items mislabeled); "
        f"{made['size'] / 2**20:,.0f} MB once prepared. The preparation ({made['prepare_s']:.0f} s) imported "
        f"{made['gold']['accepted']:,} gold labels ({made['gold']['rejected']:,} rejected; the annotators' "
        f"plurality label agrees with {made['gold_majority_agrees']:.1%} of them) in {made['gold_s']:.1f} s, "
        f"created v1 in {made['v1_s']:.1f} s, applied the policy ({made['apply']['actions']:,} relabels"
        + (", guardrails confirmed with a reason" if made["apply"]["confirmed"] else "")
        + f") in {made['apply_s']:.1f} s and v2 in {made['v2_s']:.1f} s; the versions differ on "
        f"{made['changed']:,} items.", "",
        f"The analysis: {s['gold_items']:,} gold items; label quality {_delta(label_row)}. Held-out set "
        f"{s['held_out']:,} items ({s['held_out_touched']:,} touched by the remediation left out); the "
        f"model trained on {s['trained_a']:,} (A) and {s['trained_b']:,} (B) items, "
        f"{' and '.join(map(str, first['fit_iterations']))} L-BFGS iterations; "
        f"{_delta(model_rows['accuracy'])}; {_delta(model_rows['macro_f1'])}; {_delta(model_rows['ece'])}. "
        f"Stored result: {first['stored_bytes'] / 1024:,.0f} KB of JSON. The plain logistic regression took "
        f"{first['lr_iterations']} iterations on {first['lr_rows']:,} rows, the scaled one "
        f"{first['lr_scaled_iterations']}. Peak RSS: the analysis process "
        f"{first['analysis_peak_rss'] / 2**20:,.0f} MB at the end of compare_versions (raised most by: "
        f"{_raises(first['parts'])}); the page's {runs[0]['page']['peak_rss'] / 2**20:,.0f} MB; "
        f"the report's {rep['peak_rss'] / 2**20:,.0f} MB. The page showed the verdict first "
        f"(“{_first_line(runs[0]['page']['verdict'])}”) and the tiles "
        f"{', '.join(runs[0]['page']['tiles'])}. The report holds {rep['figures']} figures, plotly.js "
        f"inlined {rep['plotly_js_inlined']} time(s).", "",
        table(["measurement (wall s, or MB)", *[f"run {i + 1}" for i in range(len(runs))], "median",
               "median CPU s", "÷ baseline (median)", "target", "result"], rows), "",
        "CPU s: the process's CPU time over the step, every thread (DuckDB's two, and BLAS's), user and "
        "system: unlike the wall time, it hardly grows when other jobs take the cores. The parts come from "
        "wrapping the engine's functions in the bench process; a part's time includes what it calls. Ratios "
        "divide each run's wall time (or size) by the baseline measured in the same run, and the column "
        "gives their median; a result judges the median over the runs; the table below also gives the "
        "slowest run.",
        "",
        table(["target", "median", "slowest run", "result (median)"], verdicts), "",
        END, "",
    ])


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark (or, with ``--child``, one step of it in this process)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        print(json.dumps(CHILDREN[argv[1]](**json.loads(argv[2])), default=str))
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=lambda t: parse_sizes(t)[0], default=1_000_000,
                        help="items in the store (default 1e6)")
    parser.add_argument("--repeat", type=int, default=3, help="runs, each on a fresh copy (default 3)")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "bench" / "_work",
                        help="the prepared store, the reports and saved results (git-ignored)")
    parser.add_argument("--source", type=Path, default=None,
                        help="bench/remediation.py's base store (default <work-dir>/remediation-<items>/"
                             "base.duckdb; only read)")
    parser.add_argument("--out", type=Path, default=None,
                        help="write or update this section of a Markdown file")
    parser.add_argument("--from-results", type=Path, default=None, metavar="JSON",
                        help="measure nothing: render the report of a saved run")
    args = parser.parse_args(argv)
    if args.from_results is not None:
        run = json.loads(args.from_results.read_text())
    else:
        import streamlit

        work_dir = args.work_dir.resolve()
        source = (args.source or work_dir / f"remediation-{args.items}" / "base.duckdb").resolve()
        when = dt.datetime.now(dt.UTC)
        run = {"command": ".venv/bin/python bench/impact.py " + shlex.join(argv),
               "date": f"{when:%Y-%m-%d %H:%M}", "machine": machine(), "streamlit": streamlit.__version__,
               "duckdb": duckdb.__version__, **bench(work_dir, source, args.items, args.repeat)}
        work_dir.mkdir(parents=True, exist_ok=True)
        (work_dir / f"impact-{when:%Y%m%dT%H%M%S}.json").write_text(json.dumps(run, indent=1, default=str))
    section = report(run)
    print("\n" + section)
    if args.out is not None:
        write_section(args.out, section, begin=BEGIN, end=END)


if __name__ == "__main__":
    main()
