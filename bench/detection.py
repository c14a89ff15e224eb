"""Detection benchmark: speed (scoring, neighbours, the Suspects page) and quality (cleanlab's published
counts, the demo, a crowd-labeled digits set, synthetic label flips, CROWDLAB).

Usage::

    .venv/bin/python bench/detection.py --out bench/README.md

What is measured, each heavy step in a fresh child process (peak RSS from ``ru_maxrss``):

* **Scoring 1e5 items × 64 features**: ``analytics.detection.run.score_items`` end to end (Dawid–Skene
  twice,
  5-fold out-of-fold logistic regression, cleanlab, inverted-file neighbours, explanations) on a synthetic
  crowd (10 classes, 1,000 annotators of accuracy 0.6–0.95, 3 ratings per item; features: per class a
  centre and an 8-dimensional manifold in 64 dimensions, plus noise). Baseline in the same run:
  scikit-learn's ``cross_val_predict`` of the same pipeline plus a brute-force ``NearestNeighbors``
  search plus cleanlab on the same data.
* **Neighbours**: the inverted-file search against brute force at growing N; the slope of log time on
  log N says whether it is quadratic.
* **CROWDLAB at 1e6 events** (``cleanlab.multiannotator.get_label_quality_multiannotator``, which needs a
  dense items × annotators matrix) against our scoring of the same crowd, both given the same saved
  out-of-fold probabilities (the target compares these), and ours end to end fitting the model too: time,
  peak memory and consensus accuracy against the truth.
* **The Suspects page on a stored run of 1e6 items**: a store with 3e6 events is built and scored once
  (no features), then a child runs ``app.py`` through AppTest, switches to the Suspects page and times its
  first and cached render.
* **Quality**: label-issue counts under ``prune_by_noise_rate`` on the real data of Northcutt et al.
  (2021) against the published 15 / 284 / 95 / 1309 and the share humans confirmed; precision, recall and
  F1 of the top k suspects per signal and combined on the demo, on a crowd-labeled digits set and on
  digits with synthetic flips; consensus accuracy against CROWDLAB, majority vote and Dawid–Skene.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.store import label, machine, peak_rss, report_arguments, table, write_section  # noqa: E402

SECTION_BEGIN = "<!-- bench/detection.py: begin -->"
SECTION_END = "<!-- bench/detection.py: end -->"
REAL = ROOT / "tests" / "data" / "real" / "cleanlab_label_errors"
PUBLISHED = {"mnist": 15, "cifar10": 284, "20news": 95, "imdb": 1309}
K = 10
PARTNER = np.array([6, 7, 5, 8, 9, 2, 0, 1, 3, 4])  # 1↔7, 3↔8, 4↔9, 0↔6, 2↔5


# --- synthetic worlds -------------------------------------------------------------------------------------


def crowd(
    truth: np.ndarray, *, n_annotators: int, per_item: int, accuracy: tuple[float, float], seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``per_item`` distinct annotators per item; errors half on the class's partner, half uniform."""
    rng = np.random.default_rng(seed)
    n = len(truth)
    skill = rng.uniform(*accuracy, n_annotators)
    first = rng.integers(0, n_annotators, n)
    # distinct positive offsets whose sum stays below the pool size: distinct annotators per item
    offsets = np.cumsum(rng.integers(1, max(2, n_annotators // per_item), (n, per_item - 1)), axis=1)
    annotator = np.column_stack([first, (first[:, None] + offsets) % n_annotators]).ravel()
    item = np.repeat(np.arange(n), per_item)
    true = truth[item]
    right = rng.random(len(item)) < skill[annotator]
    partner = rng.random(len(item)) < 0.5
    wrong = np.where(partner, PARTNER[true], (true + rng.integers(1, K, len(item))) % K)
    return item, annotator, np.where(right, true, wrong)


def majority(item: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each item's majority vote (``analytics.detection.run.majority_codes``' tie rule), items 0 … max."""
    from analytics import detection

    votes = np.zeros((int(item.max()) + 1, K))
    np.add.at(votes, (item, labels), 1)
    return detection.majority_codes(votes)


def synthetic(n_items: int, *, seed: int, n_features: int = 64, latent: int = 8) -> tuple[np.ndarray, ...]:
    """Truth and features: per class a centre and an 8-dimensional manifold in 64 dimensions, plus noise.

    Real features (images, embeddings) have a low intrinsic dimension; isotropic noise in 64 dimensions
    would leave no meaningful nearest neighbour at all.
    """
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, K, n_items)
    centres = rng.normal(0, 0.3, (K, n_features))
    loadings = rng.normal(0, 1 / np.sqrt(latent), (K, latent, n_features))
    position = rng.normal(0, 1, (n_items, latent))
    features = centres[truth] + rng.normal(0, 0.6, (n_items, n_features))
    for c in range(K):  # one class at a time: never an items × latent × features array
        members = truth == c
        features[members] += position[members] @ loadings[c]
    return truth, features.astype(np.float32)


def score(item, annotator, given_codes, *, features=None, n_neighbours=10, **options):
    from analytics import detection

    n = int(item.max()) + 1
    return detection.score_items(
        item,
        annotator,
        given_codes,
        items=pd.Index([f"i{i:07d}" for i in range(n)], name="item_id"),
        annotators=pd.Index([f"a{j:04d}" for j in range(int(annotator.max()) + 1)]),
        classes=pd.Index([str(c) for c in range(K)]),
        features=features,
        n_neighbours=n_neighbours,
        **options,
    )


# --- children -----------------------------------------------------------------------------------------------


def child_speed(n_items: int) -> dict:
    """Our scoring end to end, then the baseline: cross_val_predict + brute-force kNN + cleanlab."""
    from cleanlab.filter import find_label_issues
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.neighbors import NearestNeighbors
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    truth, features = synthetic(n_items, seed=1)
    item, annotator, given = crowd(truth, n_annotators=1000, per_item=3, accuracy=(0.6, 0.95), seed=2)
    start = time.perf_counter()
    result = score(item, annotator, given, features=features)
    ours = time.perf_counter() - start
    labels = majority(item, given)
    start = time.perf_counter()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=300))
    probs = cross_val_predict(
        model, features, labels, method="predict_proba", cv=StratifiedKFold(5, shuffle=True, random_state=0)
    )
    NearestNeighbors(n_neighbors=11, algorithm="brute").fit(features).kneighbors(features)
    find_label_issues(labels, probs)
    baseline = time.perf_counter() - start
    accuracy = float(np.mean(result.items.sort_values("item_id")["consensus_label"].astype(int) == truth))
    return {
        "n": n_items,
        "ours_s": ours,
        "baseline_s": baseline,
        "accuracy": accuracy,
        "neighbours_exact": result.params["neighbours_exact"],
        "peak_rss": peak_rss(),
    }


def child_neighbours(sizes: list[int]) -> dict:
    from sklearn.neighbors import NearestNeighbors

    from analytics import detection

    rows = []
    for n in sizes:
        _, features = synthetic(n, seed=3)
        start = time.perf_counter()
        found = detection.nearest_neighbours(features, k=10, exact_below=0)
        ivf = time.perf_counter() - start
        start = time.perf_counter()
        z = (features - features.mean(axis=0)) / features.std(axis=0)
        _, exact = NearestNeighbors(n_neighbors=11, algorithm="brute").fit(z).kneighbors(z)
        brute = time.perf_counter() - start
        recall = float(
            np.mean([len(set(a) & set(b[1:])) / 10 for a, b in zip(found.indices, exact, strict=True)])
        )
        rows.append({"n": n, "ivf_s": ivf, "brute_s": brute, "recall": recall})
    return {"rows": rows}


def _world_1e6(n_events: int):
    """The 1e6-event crowd of the CROWDLAB comparison (the same in every child)."""
    truth, features = synthetic(n_events // 3, seed=4)
    item, annotator, given = crowd(truth, n_annotators=1000, per_item=3, accuracy=(0.6, 0.95), seed=5)
    return truth, features, item, annotator, given


def child_probs_1e6(n_events: int, path: str) -> dict:
    """The model's out-of-fold probabilities on the majority labels, saved for the next two children."""
    from analytics import detection

    truth, features, item, annotator, given = _world_1e6(n_events)
    votes = np.zeros((len(truth), K))
    np.add.at(votes, (item, given), 1)
    start = time.perf_counter()
    probs = detection.out_of_fold_probabilities(features, detection.majority_codes(votes), n_classes=K)
    np.save(path, probs.pred_probs)
    return {"seconds": time.perf_counter() - start, "peak_rss": peak_rss()}


def child_ours_1e6(n_events: int, path: str | None = None) -> dict:
    """Ours end to end (``path`` None: fitting the model too) or given the saved probabilities."""
    truth, features, item, annotator, given = _world_1e6(n_events)
    probs = np.load(path) if path else None
    before = peak_rss()
    start = time.perf_counter()
    result = score(item, annotator, given, features=features, pred_probs=probs)
    seconds = time.perf_counter() - start
    frame = result.items.sort_values("item_id")
    return {
        "seconds": seconds,
        "peak_rss": peak_rss(),
        "rss_before": before,
        "accuracy": float(np.mean(frame["consensus_label"].astype(int).to_numpy() == truth)),
        "majority": float(np.mean(majority(item, given) == truth)),
    }


def child_crowdlab_1e6(n_events: int, path: str) -> dict:
    """CROWDLAB given the saved probabilities; its dense items × annotators input is built first."""
    from cleanlab.multiannotator import get_label_quality_multiannotator

    truth, _, item, annotator, given = _world_1e6(n_events)
    probs = np.load(path)
    before = peak_rss()
    start = time.perf_counter()
    dense = np.full((len(truth), int(annotator.max()) + 1), np.nan)
    dense[item, annotator] = given
    found = get_label_quality_multiannotator(pd.DataFrame(dense), probs, verbose=False)
    seconds = time.perf_counter() - start
    consensus = found["label_quality"]["consensus_label"].to_numpy()
    return {
        "seconds": seconds,
        "peak_rss": peak_rss(),
        "rss_before": before,
        "accuracy": float(np.mean(consensus == truth)),
    }


def child_page_store(path: str, n_items: int) -> dict:
    """A store with ``n_items`` items × 3 events, scored once (no features): the run the page loads."""
    from analytics.detection import suspects
    from analytics.ingest import pipeline as ingest
    from analytics.store import Store

    truth = np.random.default_rng(6).integers(0, K, n_items)
    item, annotator, given = crowd(truth, n_annotators=1000, per_item=3, accuracy=(0.6, 0.95), seed=7)
    events = pd.DataFrame(
        {
            "item_id": pd.Series(item).map("i{:07d}".format),
            "annotator_id": pd.Series(annotator).map("a{:04d}".format),
            "label": given.astype(str),
            "labeled_at": pd.Timestamp("2026-01-01") + pd.to_timedelta(item % 86400, unit="s"),
        }
    )
    parquet = Path(path).with_suffix(".parquet")
    events.to_parquet(parquet)
    with Store(path) as store:
        ingest.ingest(store, str(parquet))
        start = time.perf_counter()
        run_id = suspects.run_detection(store, created_by="bench", n_neighbours=0)
        seconds = time.perf_counter() - start
        flagged = store.scalar("SELECT count(*) FROM suspects WHERE run_id = ? AND status = 'mislabeled'",
                               [run_id])
    parquet.unlink()
    return {"run_s": seconds, "items": n_items, "flagged": flagged, "peak_rss": peak_rss()}


def child_page(path: str) -> dict:
    from bench.agreement_page import time_page

    return time_page(path, "pages/investigate/suspects.py")[0]


CHILDREN = {
    "speed": child_speed,
    "neighbours": child_neighbours,
    "probs_1e6": child_probs_1e6,
    "ours_1e6": child_ours_1e6,
    "crowdlab_1e6": child_crowdlab_1e6,
    "page_store": child_page_store,
    "page": child_page,
}


def run_child(name: str, **kwargs) -> dict:
    done = subprocess.run(
        [sys.executable, __file__, "--child", name, json.dumps(kwargs)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        return {"error": lines[-1] if lines else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- quality (in this process: small data) ----------------------------------------------------------------


def quality_real() -> list[dict]:
    from analytics import detection

    rows = []
    for name, published in PUBLISHED.items():
        probs = np.load(REAL / f"{name}_test_set_pyx.npy", allow_pickle=True)
        labels = np.load(REAL / f"{name}_test_set_original_labels.npy", allow_pickle=True).astype(int)
        flagged = detection.find_label_issues(labels, probs).query("is_label_issue")["item"]
        checks = json.loads((REAL / f"{name}_mturk.json").read_text())
        votes = {row["id"]: row["mturk"] for row in checks}
        matched = [votes[i] for i in flagged if i in votes]
        # IMDB's check ids are file names, not test-set indices: only the study's own totals are known
        pool = matched if matched else list(votes.values())
        confirmed = sum(v["given"] < 3 for v in pool)
        rows.append(
            {
                "dataset": name,
                "found": len(flagged),
                "published": published,
                "checked": len(pool),
                "matched": bool(matched),
                "confirmed": confirmed,
            }
        )
    return rows


def signal_scores(frame: pd.DataFrame) -> dict:
    cleanlab = frame["cleanlab_issue"].astype(float) + (1 - frame["label_quality"]) / 2
    return {
        "combined": frame["score"],
        "model": 1 - frame["model_prob"],
        "cleanlab": cleanlab,
        "annotators": 1 - frame["annotator_prob"],
        "neighbours": 1 - frame["neighbour_share"].fillna(1),
    }


def ranking_rows(name: str, frame: pd.DataFrame, truth: pd.Series) -> list[dict]:
    """Top-k quality among the items with a given label (a strict majority): the others need adjudication
    and have no label that could be wrong."""
    from analytics import detection

    agreed = frame["given_label"].notna().to_numpy()
    frame, truth = frame[agreed], truth[agreed]
    wrong = (frame["given_label"].astype(str) != truth.astype(str)).to_numpy()
    errors = int(wrong.sum())
    ks = sorted({max(1, errors // 2), errors, 2 * errors})
    table_ = detection.ranking_quality(signal_scores(frame), wrong, ks=ks)
    return [{"world": name, "errors": errors, **row} for row in table_.to_dict("records")]


def consensus_row(name: str, frame: pd.DataFrame, truth: pd.Series, ratings, features) -> dict:
    from cleanlab.multiannotator import get_label_quality_multiannotator

    from analytics import detection
    from analytics.consensus.dawid_skene import DawidSkene

    codes = {c: i for i, c in enumerate(ratings.classes)}
    votes = np.zeros((len(ratings.items), len(ratings.classes)))
    np.add.at(votes, (ratings.item_codes, ratings.label_codes), 1)
    given = detection.majority_codes(votes)
    probs = detection.out_of_fold_probabilities(features, given, n_classes=len(ratings.classes)).pred_probs
    dense = np.full((len(ratings.items), len(ratings.annotators)), np.nan)
    dense[ratings.item_codes, ratings.annotator_codes] = ratings.label_codes
    crowdlab = get_label_quality_multiannotator(pd.DataFrame(dense), probs, verbose=False)
    ds = DawidSkene().fit_codes(
        ratings.item_codes,
        ratings.annotator_codes,
        ratings.label_codes,
        items=ratings.items,
        annotators=ratings.annotators,
        classes=ratings.classes,
    )
    truth_codes = truth.map(codes).to_numpy()
    return {
        "world": name,
        "ours": float(np.mean(frame["consensus_label"].map(codes) == truth_codes)),
        "crowdlab": float(np.mean(crowdlab["label_quality"]["consensus_label"] == truth_codes)),
        "majority": float(np.mean(given == truth_codes)),
        "dawid_skene": float(np.mean(ds.probas_.to_numpy().argmax(axis=1) == truth_codes)),
    }


def quality_crowds() -> tuple[list[dict], list[dict]]:
    """The demo and a crowd-labeled digits set: ranking quality and consensus accuracy."""
    from sklearn.datasets import load_digits

    from analytics.store import Store, detection_inputs
    from analytics.store.consensus import CodedRatings
    from analytics.synthetic import demo

    ranking, consensus = [], []
    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "demo.duckdb") as store:
        demo.build_demo_store(store, seed=0)
        inputs = detection_inputs.detection_inputs(store)
        truth = store.query("SELECT item_id, true_label FROM demo_truth").set_index("item_id")["true_label"]
    r = inputs.ratings
    result = score_coded(r, inputs.features)
    frame = result.items.set_index("item_id").loc[r.items].reset_index()
    ranking += ranking_rows("demo", frame, truth.loc[r.items].reset_index(drop=True))
    consensus.append(
        consensus_row("demo", frame, truth.loc[r.items].reset_index(drop=True), r, inputs.features)
    )

    x, y = load_digits(return_X_y=True)
    item, annotator, given = crowd(y, n_annotators=50, per_item=3, accuracy=(0.55, 0.9), seed=11)
    ratings = CodedRatings(
        item.astype(np.int32),
        annotator.astype(np.int32),
        given.astype(np.int32),
        pd.Index([f"d{i:04d}" for i in range(len(y))]),
        pd.Index([f"w{j:02d}" for j in range(50)]),
        pd.Index([str(c) for c in range(K)]),
    )
    result = score_coded(ratings, x)
    frame = result.items.set_index("item_id").loc[ratings.items].reset_index()
    digits_truth = pd.Series(y.astype(str))
    ranking += ranking_rows("digits crowd", frame, digits_truth)
    consensus.append(consensus_row("digits crowd", frame, digits_truth, ratings, x))
    return ranking, consensus


def score_coded(r, features):
    from analytics import detection

    return detection.score_items(
        r.item_codes,
        r.annotator_codes,
        r.label_codes,
        items=r.items,
        annotators=r.annotators,
        classes=r.classes,
        features=features,
    )


def quality_flips() -> list[dict]:
    """sklearn digits with 10/20/40% flips, uniform or to the class's partner, one label per item."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    rows = []
    for kind in ("uniform", "class-conditional"):
        for rate in (0.1, 0.2, 0.4):
            rng = np.random.default_rng(int(rate * 100))
            noisy = y.copy()
            flip = rng.random(len(y)) < rate
            noisy[flip] = (
                PARTNER[y[flip]]
                if kind == "class-conditional"
                else (y[flip] + rng.integers(1, K, flip.sum())) % K
            )
            result = score(np.arange(len(y)), np.zeros(len(y), dtype=int), noisy, features=x)
            frame = result.items.sort_values("item_id").reset_index(drop=True)
            truth = pd.Series(y.astype(str))
            for row in ranking_rows(f"{kind} {rate:.0%}", frame, truth):
                row["consensus"] = float(np.mean(frame["consensus_label"] == truth))
                rows.append(row)
    return rows


# --- report -----------------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "pass" if ok else "**FAIL**"


def report(run: dict) -> str:
    m = run["machine"]
    speed, ours, peer, page = run["speed"], run["ours_1e6"], run["crowdlab_1e6"], run["page"]
    given, fit = run["ours_given_1e6"], run["probs_1e6"]
    neighbours = pd.DataFrame(run["neighbours"]["rows"])
    slope = float(np.polyfit(np.log(neighbours["n"]), np.log(neighbours["ivf_s"]), 1)[0])
    brute_slope = float(np.polyfit(np.log(neighbours["n"]), np.log(neighbours["brute_s"]), 1)[0])
    ranking = pd.DataFrame(run["ranking"])
    at_e = ranking[ranking["k"] == ranking["errors"]].set_index(["world", "signal"])["precision"]
    demo_best = at_e.loc["demo"].drop("combined").max()
    consensus = pd.DataFrame(run["consensus"]).set_index("world")
    checks = [
        (
            "scoring 1e5 items × 64 features < 60 s",
            f"{speed['ours_s']:.1f} s (baseline {speed['baseline_s']:.1f} s)",
            speed["ours_s"] < 60,
        ),
        (
            "neighbours not quadratic: slope of log time on log N < 1.5",
            f"{slope:.2f} (brute force {brute_slope:.2f})",
            slope < 1.5,
        ),
        (
            "Suspects page, stored run of 1e6 items, first render < 2 s",
            f"{page['first']:.2f} s",
            page["first"] < 2,
        ),
        (
            "real data: prune_by_noise_rate counts = 15 / 284 / 95 / 1309",
            " / ".join(str(r["found"]) for r in run["real"]),
            all(r["found"] == r["published"] for r in run["real"]),
        ),
        (
            "demo: combined top-E precision > every single signal",
            f"{at_e.loc[('demo', 'combined')]:.3f} vs {demo_best:.3f}",
            at_e.loc[("demo", "combined")] > demo_best,
        ),
        *[
            (
                f"{world}: consensus accuracy ≥ CROWDLAB",
                f"{row.ours:.4f} vs {row.crowdlab:.4f}",
                row.ours >= row.crowdlab,
            )
            for world, row in consensus.iterrows()
        ],
        (
            "1e6 events, both given the same model probabilities: CROWDLAB time / ours ≥ 10×",
            f"{peer['seconds'] / given['seconds']:.1f}×" if "error" not in peer else peer["error"],
            "error" not in peer and peer["seconds"] >= 10 * given["seconds"],
        ),
        (
            "1e6 events, both given the same model probabilities: CROWDLAB peak memory / ours ≥ 10×",
            f"{peer['peak_rss'] / given['peak_rss']:.1f}×" if "error" not in peer else peer["error"],
            "error" not in peer and peer["peak_rss"] >= 10 * given["peak_rss"],
        ),
    ]
    real_rows = [
        [
            r["dataset"],
            str(r["published"]),
            str(r["found"]),
            f"{r['confirmed']} of {r['checked']}" + ("" if r["matched"] else " (the study's own flags)"),
            f"{r['confirmed'] / r['checked']:.0%}" if r["checked"] else "–",
        ]
        for r in run["real"]
    ]
    rank_rows = [
        [
            row["world"],
            str(row["errors"]),
            str(row["k"]),
            row["signal"],
            f"{row['precision']:.3f}",
            f"{row['recall']:.3f}",
            f"{row['f1']:.3f}",
            f"{row['average_precision']:.3f}",
        ]
        for row in run["ranking"] + run["flips"]
    ]
    consensus_rows = [
        [world, f"{r.ours:.4f}", f"{r.crowdlab:.4f}", f"{r.dawid_skene:.4f}", f"{r.majority:.4f}"]
        for world, r in consensus.iterrows()
    ]
    flips = pd.DataFrame(run["flips"]).drop_duplicates("world")
    consensus_rows += [
        [
            row.world + " (flips, 1 label each)",
            f"{row.consensus:.4f}",
            "–",
            "–",
            f"{1 - row.errors / 1797:.4f}",
        ]
        for row in flips.itertuples()
    ]
    big = [
        [
            "ours given the probabilities (neighbours, Dawid–Skene ×2, cleanlab, explanations)",
            f"{given['seconds']:.1f}",
            f"{given['peak_rss'] / 2**20:,.0f} MB",
            f"{given['accuracy']:.4f}",
        ],
        [
            "the probabilities: out-of-fold logistic regression, 5 folds",
            f"{fit['seconds']:.1f}",
            f"{fit['peak_rss'] / 2**20:,.0f} MB",
            "–",
        ],
        [
            "ours end to end (fitting the model too)",
            f"{ours['seconds']:.1f}",
            f"{ours['peak_rss'] / 2**20:,.0f} MB",
            f"{ours['accuracy']:.4f}",
        ],
        [
            "CROWDLAB given the same probabilities (its dense items × annotators input included)",
            f"{peer['seconds']:.1f}" if "error" not in peer else peer["error"],
            f"{peer['peak_rss'] / 2**20:,.0f} MB" if "error" not in peer else "–",
            f"{peer['accuracy']:.4f}" if "error" not in peer else "–",
        ],
        ["majority vote", "–", "–", f"{ours['majority']:.4f}"],
    ]
    neighbour_rows = [
        [label(int(r.n)), f"{r.ivf_s:.2f}", f"{r.brute_s:.2f}", f"{r.recall:.3f}"]
        for r in neighbours.itertuples()
    ]
    doc = __doc__.split("What is measured")[1].split("\n", 1)[1].strip()
    return "\n".join(
        [
            SECTION_BEGIN,
            "## Detection: suspects, neighbours, the Suspects page, CROWDLAB (`bench/detection.py`)",
            "",
            "What is measured, each heavy step in a fresh child process (peak RSS from `ru_maxrss`):",
            "",
            doc.replace("``", "`"),
            "",
            f"Command: `{run['command']}`  ",
            f"Machine: {m['cores']} cores, {m['ram']} RAM, {m['cpu']}; Python {m['python']}, "
            f"{m['versions']}  ",
            f"Date: {run['date']} UTC",
            "",
            "### Targets",
            "",
            table(["target", "measured", "result"], [[n, v, verdict(ok)] for n, v, ok in checks]),
            "",
            "### Speed",
            "",
            f"Scoring {label(speed['n'])} items: ours {speed['ours_s']:.1f} s end to end (peak "
            f"{speed['peak_rss'] / 2**20:,.0f} MB, consensus accuracy {speed['accuracy']:.4f}); baseline "
            f"(same model by cross_val_predict + brute-force kNN + cleanlab) {speed['baseline_s']:.1f} s: "
            f"ratio {speed['baseline_s'] / speed['ours_s']:.2f}×.",
            "",
            table(["items", "inverted file s", "brute force s", "recall@10"], neighbour_rows),
            "",
            f"Suspects page on a stored run of {label(run['page_store']['items'])} items "
            f"({run['page_store']['flagged']:,} flagged; the run itself took "
            f"{run['page_store']['run_s']:.0f} s): first render {page['first']:.2f} s, cached "
            f"{page['cached']:.2f} s, peak {page['peak_rss'] / 2**20:,.0f} MB.",
            "",
            f"At {label(run['crowdlab_events'])} events ({run['crowdlab_events'] // 3:,} items × 3 ratings, "
            "1,000 annotators, 64 features):",
            "",
            table(["method", "seconds", "peak RSS", "consensus accuracy"], big),
            "",
            "### Confident learning on real data (Northcutt et al. 2021)",
            "",
            table(
                [
                    "dataset",
                    "published",
                    "ours (cleanlab 2.9)",
                    "humans confirmed wrong (< 3 of 5 chose the given label)",
                    "share",
                ],
                real_rows,
            ),
            "",
            "### Consensus accuracy against the truth",
            "",
            table(["world", "ours (combined)", "CROWDLAB", "Dawid–Skene", "majority vote"], consensus_rows),
            "",
            "### Top-k suspects per signal (k = half, once and twice the number of wrong given labels)",
            "",
            table(
                ["world", "wrong labels", "k", "signal", "precision", "recall", "F1", "average precision"],
                rank_rows,
            ),
            "",
            SECTION_END,
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        print(json.dumps(CHILDREN[argv[1]](**json.loads(argv[2])), default=float))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000, help="items of the speed run (default 1e5)")
    parser.add_argument("--crowdlab-events", type=int, default=1_000_000, help="events of the CROWDLAB run")
    parser.add_argument(
        "--page-items", type=int, default=1_000_000, help="items of the stored run the page loads"
    )
    parser.add_argument("--work-dir", type=Path, default=ROOT / "bench" / "_work")
    report_arguments(parser, "detection")
    args = parser.parse_args(argv)
    if args.from_results is not None:
        run = json.loads(args.from_results.read_text())
    else:
        when = dt.datetime.now(dt.UTC)
        run = {
            "command": ".venv/bin/python bench/detection.py " + shlex.join(argv),
            "date": f"{when:%Y-%m-%d %H:%M}",
            "machine": machine(),
            "crowdlab_events": args.crowdlab_events,
        }
        print("quality", flush=True)
        run["real"] = quality_real()
        run["ranking"], run["consensus"] = quality_crowds()
        run["flips"] = quality_flips()
        print("speed", flush=True)
        run["speed"] = run_child("speed", n_items=args.items)
        run["neighbours"] = run_child("neighbours", sizes=[12_500, 25_000, 50_000, 100_000])
        print("1e6 events", flush=True)
        run["ours_1e6"] = run_child("ours_1e6", n_events=args.crowdlab_events)
        with tempfile.TemporaryDirectory() as tmp:
            probs = str(Path(tmp) / "probs.npy")
            run["probs_1e6"] = run_child("probs_1e6", n_events=args.crowdlab_events, path=probs)
            run["ours_given_1e6"] = run_child("ours_1e6", n_events=args.crowdlab_events, path=probs)
            run["crowdlab_1e6"] = run_child("crowdlab_1e6", n_events=args.crowdlab_events, path=probs)
        print("page", flush=True)
        with tempfile.TemporaryDirectory() as tmp:
            path = str(Path(tmp) / "page.duckdb")
            run["page_store"] = run_child("page_store", path=path, n_items=args.page_items)
            run["page"] = run_child("page", path=path)
        args.work_dir.mkdir(parents=True, exist_ok=True)
        (args.work_dir / f"detection-{when:%Y%m%dT%H%M%S}.json").write_text(json.dumps(run, indent=1))
    section = report(run)
    print("\n" + section)
    if args.out is not None:
        write_section(args.out, section, begin=SECTION_BEGIN, end=SECTION_END)


if __name__ == "__main__":
    main()
