"""Remediation at 1e6 items: a policy's dry run and apply, dataset versions, their diff and the Review page.

Usage::

    .venv/bin/python bench/remediation.py --items 1e6 --repeat 2 --out bench/README.md

**The store** is built once under ``--work-dir`` (``remediation-<items>/base.duckdb``; reused by later runs
with the same size and seed) by a child process, as a team would build it: the scale world of
``analytics.synthetic.scale`` (``demo --scale``: 2–5 labels per item, 3.5 on average, so 3.5e6 events give
about 1e6 items; 1,000 annotators, K = 10, 16 features per item), imported through the ingest pipeline;
then a **real detection run** over every item (``analytics.detection.suspects.run_detection`` with its
defaults: Dawid–Skene, a 5-fold model on the features, cleanlab, 10 neighbours; no synthetic suspects); then
5,000 suspects sent to review (``analytics.store.review_requests.request_review``): the highest-ranked items
of status ``mislabeled`` or ``no_consensus`` that the example policy would not take (the policy takes the
sure cases, people the rest); then a review round through ``analytics.remediation.actions.act_many``:
``rita`` (reviewer) decides the first 200 items of her queue (a relabel to the suggested label, marked for
a second review where the queue says so and on every 4th item, or an escalation when there is no
suggestion), ``sam`` gives the second review of 30 of them (every 10th disagrees, which escalates it) and
escalates 20 more.

**Each run** copies the base store to a fresh file and runs, in one fresh child process, in this order:

* **baselines** (same process, same store): a bare scan and aggregate over ``label_events`` (``SELECT
  item_id, label, count(*) ... GROUP BY ALL``, the input of every item's consensus; cold, then the
  fastest of three warm runs),
  and a plain ``CREATE TABLE AS`` of one row per item (``item_id`` and its latest label, grouped from
  ``label_events``) followed by ``CHECKPOINT``, with its size on disk (the table is dropped afterwards);
* ``create_version`` **v1** (before the policy), then ``CHECKPOINT``. Its size on disk is the growth of
  the file's blocks in use (``PRAGMA database_size``: used blocks × block size) between a ``CHECKPOINT``
  before and one after: the file itself may not grow at all, since new rows first fill the blocks that
  earlier writes freed (the file's growth, ``.wal`` included, is kept in the results too);
* the **dry run** of ``data/policies.example.toml`` (``analytics.remediation.policies.dry_run``) on the
  detection run;
* its **apply** by an admin (``policies.apply``, one action per item in one transaction; were its
  guardrails to block it, it would be confirmed with a reason);
* ``create_version`` **v2** (after the policy), the same way as v1;
* ``versions.diff`` of v1 and v2;
* ``analytics.remediation.queue.review_queue`` as the Review page asks for it (reviewer ``ana``, the
  latest run).

Then a second fresh child renders the **Review page** (``pages/remediate/review.py``) through Streamlit's
``AppTest`` with ``LABELWATCH_DB`` on that copy (the steps of ``bench/agreement_page.time_page``:
``app.py``'s Overview renders first, as on a real visit, then the Review page's first run, every cache
cold, and a second, cached run), as ``ana`` in single-user mode. Times are wall-clock seconds, with the
process's CPU time beside them; each ratio divides a time by a baseline measured in the same run on the
same file.
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

BEGIN, END = "<!-- bench/remediation.py: begin -->", "<!-- bench/remediation.py: end -->"
#: The scale world's mean labels per item (2–5, uniform).
LABELS_PER_ITEM = 3.5
REVIEW_ITEMS = 5_000
POLICY_FILE = ROOT / "data" / "policies.example.toml"
REVIEWER = "ana"
#: The review round of the base store: rita's decisions (every 4th relabel asks for a second review) and
#: how many of those sam reviews (every 10th disagrees, which escalates it).
FIRST_REVIEWS, SECOND_REVIEWS = 200, 30
CONFIRM_REASON = "bench/remediation.py: guardrails overridden to time the apply at scale"
#: Targets of the issue: seconds (and bytes per version) on the 1e6-item store.
TARGETS = {"dry_run": 10.0, "apply": 30.0, "version": 10.0, "version_bytes": 30 * 2**20, "diff": 2.0,
           "page": 2.0}


# --- child processes ------------------------------------------------------------------------------------


def _cpu() -> float:
    """CPU seconds this process used so far, every thread (DuckDB's too), user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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


def _checkpoint(store: Store) -> float:
    seconds, _ = _timed(lambda: store.cursor().execute("CHECKPOINT"))
    return seconds


def _used_bytes(store: Store) -> int:
    """Bytes of the file's blocks in use (``PRAGMA database_size``): what a new table costs on disk even
    when it lands in blocks an earlier write freed, where the file itself does not grow."""
    query = "SELECT used_blocks, block_size FROM pragma_database_size()"
    used, block = store.cursor().execute(query).fetchone()
    return int(used) * int(block)


def child_build(path: str, n_items: int, seed: int, files_dir: str) -> dict:
    """Build the base store (see the module docstring) at ``path``; what was built and how long it took."""
    from analytics.detection import suspects
    from analytics.remediation import actions, policies, queue
    from analytics.remediation.roles import Actor, Role
    from analytics.store.remediation import latest_run
    from analytics.store.review_requests import request_review
    from analytics.synthetic import scale

    remove_store(Path(path))
    n_events = round(n_items * LABELS_PER_ITEM)
    out: dict[str, Any] = {"n_events": n_events, "seed": seed}
    with Store(path) as store:
        out["scale_s"], built = _timed(lambda: scale.build_scale_store(store, n_events, seed=seed,
                                                                       work_dir=files_dir))
        out["items"] = built.n_items
        out["detect_s"], run_id = _timed(lambda: suspects.run_detection(store, created_by="bench"))
        out["detect_peak_rss"] = peak_rss()
        assert latest_run(store) == run_id
        out["run_id"] = run_id
        status = store.query("SELECT status, count(*) AS n FROM suspects WHERE run_id = ? GROUP BY status",
                             [run_id])
        out["status"] = dict(zip(status["status"], status["n"].astype(int), strict=True))
        policy = policies.load_policies(POLICY_FILE)[0]
        taken = set(policies.dry_run(store, policy, run_id).changes["item_id"])
        ranked = store.query(
            "SELECT item_id FROM suspects WHERE run_id = ? AND status IN ('mislabeled', 'no_consensus') "
            "ORDER BY rank NULLS LAST, item_id LIMIT ?", [run_id, REVIEW_ITEMS + len(taken)])["item_id"]
        chosen = [i for i in ranked if i not in taken][:REVIEW_ITEMS]
        out["requested"] = request_review(store, chosen, run_id=run_id, cluster_id=None, requested_by="lead",
                                          note="bench: the top of the list the policy leaves to people")
        rita, sam = Actor("rita", Role.REVIEWER), Actor("sam", Role.REVIEWER)
        first = queue.review_queue(store, reviewer=rita.name, run_id=run_id).head(FIRST_REVIEWS)
        decided = [
            {"item_id": r.item_id, "action": "relabel" if isinstance(r.suggested_label, str) else "escalate",
             "to_label": r.suggested_label if isinstance(r.suggested_label, str) else None, "run_id": run_id,
             "second_review": isinstance(r.suggested_label, str) and (bool(r.needs_second_review)
                                                                      or i % 4 == 0),
             "rationale": f"bench review: {r.why}",
             "evidence": {"p_wrong": float(r.p_wrong), "impact": float(r.impact)}}
            for i, r in enumerate(first.itertuples(index=False))
        ]
        actions.act_many(store, rita, decided)
        labels = actions.vocabulary(store)
        second = queue.review_queue(store, reviewer=sam.name, run_id=run_id)
        pending = second[second["reason"] == "second review"].head(SECOND_REVIEWS)
        rows = []
        for i, r in enumerate(pending.itertuples(index=False)):
            other = next(lab for lab in labels if lab != r.first_label)
            rows.append({"item_id": r.item_id, "action": "relabel", "run_id": run_id,
                         "to_label": other if i % 10 == 0 else r.first_label,
                         "rationale": "bench second review"})
        rows += [{"item_id": r.item_id, "action": "escalate", "run_id": run_id, "rationale": "bench: unsure"}
                 for r in second[second["reason"] == "requested"].head(20).itertuples(index=False)]
        actions.act_many(store, sam, rows)
        out["actions"] = {k: int(v) for k, v in
                          store.query("SELECT action, count(*) AS n FROM remediation_actions GROUP BY action")
                          .set_index("action")["n"].items()}
        waiting = queue.review_queue(store, run_id=run_id)
        out["queue"] = {k: int(v) for k, v in waiting["reason"].value_counts().items()}
        _checkpoint(store)
    out["size"] = store_size(Path(path))
    return out


def child_sequence(path: str) -> dict:
    """On the store at ``path``: baselines, v1, dry run, apply, v2, diff, review queue (in this order)."""
    from analytics.remediation import policies, queue, versions
    from analytics.remediation.roles import Actor, Role
    from analytics.store.remediation import latest_run

    admin = Actor("lead", Role.ADMIN)
    file = Path(path)
    out: dict[str, Any] = {"load_before": os.getloadavg()[0]}
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
        run_id = latest_run(store)
        policy = policies.load_policies(POLICY_FILE)[0]

        def version(name: str, note: str) -> dict:
            _checkpoint(store)
            before, file_before = _used_bytes(store), store_size(file)
            timing: dict[str, float] = {}
            row = _measure(timing, "seconds", lambda: versions.create_version(store, admin, note=note,
                                                                              version_id=name))
            checkpoint_s = _checkpoint(store)
            return {**timing, "checkpoint_s": checkpoint_s, "bytes": _used_bytes(store) - before,
                    "file_bytes": store_size(file) - file_before, "items": int(row["items"])}

        out["v1"] = version("v1", "before the policy")
        dry = _measure(out, "dry_run_s", lambda: policies.dry_run(store, policy, run_id))
        out["dry_run"] = {"changes": len(dry.changes), "items_in_run": dry.items_in_run,
                          "blocked": list(dry.blocked), "verdict": dry.verdict()}
        reason = CONFIRM_REASON if dry.blocked else None
        written = _measure(out, "apply_s", lambda: policies.apply(store, admin, policy, run_id,
                                                                  confirm_reason=reason, preview=dry))
        out["apply"] = {"actions": len(written), "confirmed": reason is not None}
        out["v2"] = version("v2", "after the policy")
        found = _measure(out, "diff_s", lambda: versions.diff(store, "v1", "v2"))
        out["diff"] = found.summary()
        waiting = _measure(out, "queue_s",
                           lambda: queue.review_queue(store, reviewer=REVIEWER, run_id=run_id))
        out["queue"] = {k: int(v) for k, v in waiting["reason"].value_counts().items()}
        out["log_actions"] = int(store.scalar("SELECT count(*) FROM remediation_actions"))
        # The CREATE TABLE AS baseline last, so its free blocks (after the DROP) never hold a version.
        _checkpoint(store)
        before, file_before = _used_bytes(store), store_size(file)
        _measure(out, "ctas_s", lambda: cur.execute(
            "CREATE TABLE bench_ctas AS SELECT item_id, arg_max(label, labeled_at) AS label "
            "FROM label_events GROUP BY item_id"))
        out["ctas_checkpoint_s"] = _checkpoint(store)
        out["ctas_bytes"] = _used_bytes(store) - before
        out["ctas_file_bytes"] = store_size(file) - file_before
        out["ctas_rows"] = int(store.scalar("SELECT count(*) FROM bench_ctas"))
        cur.execute("DROP TABLE bench_ctas")
        _checkpoint(store)
    out["peak_rss"] = peak_rss()
    out["load_after"] = os.getloadavg()[0]
    return out


def child_page(path: str) -> dict:
    """The Review page's first and cached render on the store at ``path`` (wall and CPU time), and what it
    said waits: ``bench/agreement_page.time_page``'s steps, with the CPU time of each run."""
    os.environ["LABELWATCH_DB"] = path
    os.environ["LABELWATCH_USER"] = REVIEWER
    os.environ.pop("LABELWATCH_ROLES", None)
    from streamlit.testing.v1 import AppTest

    out: dict[str, Any] = {"load_before": os.getloadavg()[0]}
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.run()
    at.switch_page("pages/remediate/review.py")
    _measure(out, "first", at.run)
    _measure(out, "cached", at.run)
    if at.exception:
        raise RuntimeError([e.value for e in at.exception])
    said = [m.value for m in at.markdown if "wait for review" in m.value]
    match = re.search(r"([\d,]+) items wait", said[0]) if said else None
    return {**out, "waiting": int(match.group(1).replace(",", "")) if match else None, "peak_rss": peak_rss(),
            "load_after": os.getloadavg()[0]}


CHILDREN: dict[str, Callable[..., dict]] = {"build": child_build, "sequence": child_sequence,
                                            "page": child_page}


def run_child(task: str, **kwargs: Any) -> dict:
    """Run ``CHILDREN[task](**kwargs)`` in a fresh Python process; its result."""
    command = [sys.executable, str(Path(__file__).resolve()), "--child", task, json.dumps(kwargs)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise RuntimeError(f"child {task} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- the benchmark --------------------------------------------------------------------------------------


def base_store(work_dir: Path, n_items: int, seed: int) -> tuple[Path, dict]:
    """The base store for ``n_items`` (built when missing or built with another seed) and its build's
    record."""
    folder = work_dir / f"remediation-{n_items}"
    path, manifest = folder / "base.duckdb", folder / "build.json"
    if path.exists() and manifest.exists():
        built = json.loads(manifest.read_text())
        if built.get("seed") == seed and built.get("size") == store_size(path):
            return path, built
    folder.mkdir(parents=True, exist_ok=True)
    print(f"building the {label(n_items)}-item store (scale world, detection run, review round)", flush=True)
    start = time.perf_counter()
    built = run_child("build", path=str(path), n_items=n_items, seed=seed, files_dir=str(folder / "files"))
    built["build_s"] = time.perf_counter() - start
    built["built_at"] = f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC"
    manifest.write_text(json.dumps(built, indent=1))
    shutil.rmtree(folder / "files", ignore_errors=True)
    return path, built


def bench(work_dir: Path, n_items: int, seed: int, repeat: int) -> dict:
    """Build (or reuse) the store, then ``repeat`` runs of the sequence and the page on fresh copies."""
    path, built = base_store(work_dir, n_items, seed)
    runs = []
    for i in range(repeat):
        copy = path.with_name("run.duckdb")
        remove_store(copy)
        shutil.copyfile(path, copy)
        try:
            sequence = run_child("sequence", path=str(copy))
            page = run_child("page", path=str(copy))
        finally:
            remove_store(copy)
        runs.append({"sequence": sequence, "page": page})
        print(f"run {i + 1}: dry run {sequence['dry_run_s']:.2f} s, apply {sequence['apply_s']:.2f} s, "
              f"v1 {sequence['v1']['seconds']:.2f} s / {sequence['v1']['bytes'] / 2**20:.1f} MB, "
              f"v2 {sequence['v2']['seconds']:.2f} s / {sequence['v2']['bytes'] / 2**20:.1f} MB, "
              f"diff {sequence['diff_s']:.2f} s, queue {sequence['queue_s']:.2f} s, "
              f"page {page['first']:.2f} s (cached {page['cached']:.2f} s); "
              f"scan {sequence['scan_s']:.2f} s, CTAS {sequence['ctas_s']:.2f} s", flush=True)
    return {"items": n_items, "build": built, "runs": runs}


# --- report ---------------------------------------------------------------------------------------------

def _get(*keys: str) -> Callable[[dict], float | None]:
    """The value at ``keys`` of one run's results (None when a saved run lacks it)."""
    def get(run: dict) -> float | None:
        for key in keys:
            if not isinstance(run, dict) or key not in run:
                return None
            run = run[key]
        return run
    return get


def _cpu_of(*keys: str) -> Callable[[dict], float | None]:
    """The CPU seconds kept next to the wall time at ``keys``."""
    return _get(*keys[:-1], keys[-1] + "_cpu")


#: Rows of the table: (name, path of the value in one run's results, unit, baseline key or None, target key
#: or None). A row in seconds also shows the CPU time kept next to its value.
ROWS: list[tuple[str, tuple[str, ...], str, str | None, str | None]] = [
    ("baseline: bare scan + aggregate of `label_events` (warm, best of 3)", ("sequence", "scan_s"), "s",
     None, None),
    ("baseline: the same scan, cold (first query of the process)", ("sequence", "scan_cold_s"), "s", "scan",
     None),
    ("baseline: `CREATE TABLE AS` one row per item", ("sequence", "ctas_s"), "s", None, None),
    ("baseline: its size on disk (used blocks, after CHECKPOINT)", ("sequence", "ctas_bytes"), "MB", None,
     None),
    ("baseline: the file's growth", ("sequence", "ctas_file_bytes"), "MB", None, None),
    ("policy dry run", ("sequence", "dry_run_s"), "s", "scan", "dry_run"),
    ("policy apply (its own dry run included)", ("sequence", "apply_s"), "s", "scan", "apply"),
    ("create_version v1 (before the policy)", ("sequence", "v1", "seconds"), "s", "ctas", "version"),
    ("  v1: its CHECKPOINT", ("sequence", "v1", "checkpoint_s"), "s", None, None),
    ("  v1: its size on disk (used blocks)", ("sequence", "v1", "bytes"), "MB", "ctas_bytes",
     "version_bytes"),
    ("  v1: the file's growth", ("sequence", "v1", "file_bytes"), "MB", None, None),
    ("create_version v2 (after the policy)", ("sequence", "v2", "seconds"), "s", "ctas", "version"),
    ("  v2: its CHECKPOINT", ("sequence", "v2", "checkpoint_s"), "s", None, None),
    ("  v2: its size on disk (used blocks)", ("sequence", "v2", "bytes"), "MB", "ctas_bytes",
     "version_bytes"),
    ("  v2: the file's growth", ("sequence", "v2", "file_bytes"), "MB", None, None),
    ("diff v1 → v2", ("sequence", "diff_s"), "s", "scan", "diff"),
    ("review_queue (the engine call behind the page)", ("sequence", "queue_s"), "s", "scan", None),
    ("Review page, first render (AppTest)", ("page", "first"), "s", "scan", "page"),
    ("Review page, cached rerun", ("page", "cached"), "s", "scan", None),
]
_BASELINES = {"scan": ("sequence", "scan_s"), "ctas": ("sequence", "ctas_s"),
              "ctas_bytes": ("sequence", "ctas_bytes")}
_BASELINE_WORDS = {"scan": "scan", "ctas": "CTAS", "ctas_bytes": "CTAS growth"}


def _value(x: float, unit: str, *, units: bool = False) -> str:
    if unit == "MB":
        return f"{x / 2**20:.1f} MB"
    return f"{x:.2f} s" if units else f"{x:.2f}"


def _target(key: str) -> str:
    return f"< {TARGETS[key] / 2**20:g} MB" if key == "version_bytes" else f"< {TARGETS[key]:g} s"


def _markdown(doc: str) -> str:
    """The docstring's description (after the usage) as Markdown paragraphs and bullets."""
    parts = []
    for paragraph in doc.strip().split("\n\n")[3:]:
        items = re.split(r"^\* ", paragraph, flags=re.MULTILINE)
        lines = [" ".join(line.strip() for line in item.splitlines()) for item in items]
        parts.append("\n".join([lines[0], *("* " + line for line in lines[1:])]).strip())
    return "\n\n".join(parts)


def report(run: dict) -> str:
    """The README section of a saved run."""
    info, built, runs = run["machine"], run["build"], run["runs"]
    rows, verdicts = [], []
    for name, path, unit, base, target in ROWS:
        values = [_get(*path)(r) for r in runs]
        median = statistics.median(values)
        cpus = [_cpu_of(*path)(r) for r in runs] if unit == "s" else []
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
            verdicts.append([f"{name.strip()}: {_target(target)}", _value(median, unit, units=True),
                             _value(worst, unit, units=True) + ("" if worst < TARGETS[target] else " (over)"),
                             result])
    first = runs[0]["sequence"]
    status = built["status"]
    loads = "; ".join(f"run {i + 1}: {r['sequence']['load_before']:.1f} → {r['sequence']['load_after']:.1f}"
                      + (f", page {r['page']['load_before']:.1f} → {r['page']['load_after']:.1f}"
                         if "load_before" in r["page"] else "")
                      for i, r in enumerate(runs))
    return "\n".join([
        BEGIN, f"## Remediation at {label(run['items'])} items (`bench/remediation.py`)", "",
        _markdown(__doc__ or ""), "",
        f"Command: `{run['command']}`  ",
        f"Machine: {info['cores']} cores, {info['ram']} RAM, {info['cpu']}; Python {info['python']}, "
        f"{info['versions']}, streamlit {run['streamlit']}  ",
        f"Date: {run['date']} UTC; {len(runs)} run(s), each on a fresh copy of the store; 1-minute load "
        f"average before → after each run's sequence (and page): {loads} (other jobs share this machine).",
        "",
        f"The store: {built['items']:,} items, {built['n_events']:,} label events, "
        f"{built['size'] / 2**20:,.0f} MB (built in {built['build_s']:.0f} s: the scale world "
        f"{built['scale_s']:.0f} s, the detection run {built['detect_s']:.0f} s at a peak of "
        f"{built['detect_peak_rss'] / 2**30:.1f} GB). The run found "
        f"{status.get('mislabeled', 0):,} items mislabeled "
        f"({status.get('mislabeled', 0) / built['items']:.1%}), "
        f"{status.get('no_consensus', 0):,} without a consensus and {status.get('ok', 0):,} ok. "
        f"{built['requested']:,} items were sent to review; the review round wrote "
        + ", ".join(f"{n:,} {k}" for k, n in sorted(built["actions"].items())) + " actions. "
        f"The dry run said: “{first['dry_run']['verdict']}” The apply wrote {first['apply']['actions']:,} "
        "actions"
        + (" (guardrails confirmed with a reason)" if first["apply"]["confirmed"] else "")
        + f"; the diff found {first['diff']['changed']:,} items changed; the queue then held "
        + ", ".join(f"{n:,} {k}" for k, n in sorted(first["queue"].items()))
        + f" ({runs[0]['page']['waiting']:,} on the page, as {REVIEWER}); the action log "
        f"{first['log_actions']:,} actions. Each version holds {first['v1']['items']:,} items. "
        f"Peak RSS of the sequence's process: {first['peak_rss'] / 2**20:,.0f} MB; the page's: "
        f"{runs[0]['page']['peak_rss'] / 2**20:,.0f} MB.", "",
        table(["measurement (wall s, or MB)", *[f"run {i + 1}" for i in range(len(runs))], "median",
               "median CPU s", "÷ baseline (median)", "target", "result"], rows), "",
        "CPU s: the process's CPU time over the step, every thread (DuckDB runs two here), user and system: "
        "unlike the wall time, it hardly grows when other jobs take the cores. Ratios divide each run's "
        "wall time (or size) by the baseline measured in the same run, and the column gives their median; "
        "a result judges the median wall time over the runs; the table below also gives the slowest run.",
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
                        help="items in the store (about 3.5 label events each; default 1e6)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=2, help="runs, each on a fresh copy (default 2)")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "bench" / "_work",
                        help="the base store and saved results (git-ignored; the store is reused)")
    parser.add_argument("--out", type=Path, default=None,
                        help="write or update this section of a Markdown file")
    parser.add_argument("--from-results", type=Path, default=None, metavar="JSON",
                        help="measure nothing: render the report of a saved run")
    args = parser.parse_args(argv)
    if args.from_results is not None:
        run = json.loads(args.from_results.read_text())
    else:
        import streamlit

        when = dt.datetime.now(dt.UTC)
        run = {"command": ".venv/bin/python bench/remediation.py " + shlex.join(argv),
               "date": f"{when:%Y-%m-%d %H:%M}", "machine": machine(), "streamlit": streamlit.__version__,
               "duckdb": duckdb.__version__,
               **bench(args.work_dir.resolve(), args.items, args.seed, args.repeat)}
        args.work_dir.mkdir(parents=True, exist_ok=True)
        (args.work_dir / f"remediation-{when:%Y%m%dT%H%M%S}.json").write_text(json.dumps(run, indent=1))
    section = report(run)
    print("\n" + section)
    if args.out is not None:
        write_section(args.out, section, begin=BEGIN, end=END)


if __name__ == "__main__":
    main()
