"""Seeded demo data with known ground truth: handwritten digits labeled by a simulated annotator pool.

``generate(seed)`` builds the same frames for the same seed on every machine; ``build_demo_store`` writes them
through ``analytics.ingest.pipeline`` and records the truth and every injected effect in ``demo_truth``,
``demo_annotator_truth`` and ``store_meta``. The benchmark generator for large synthetic stores lives in
``analytics.synthetic.scale`` (re-exported here as ``write_scale_events`` and ``build_scale_store``).

The data
--------
- **Items** (N = 1,797, dataset ``digits``): scikit-learn's bundled ``load_digits`` images;
  ``items.features`` holds the 64 pixel intensities (0–16), ``media_ref`` is ``sklearn:load_digits/<index>``.
  The true class
  (``"0"``–``"9"``) is the bundled target and is stored only in ``demo_truth``.
- **Split**: 20 % of items (exactly 359, drawn by the seed) are ``eval``, the rest ``train``.
- **Vocabulary**: labels ``"0"``–``"9"``, flat. **Guidelines**: ``v1`` from the period start, ``v2`` from the
  change date (below).
- **Clock**: every timestamp falls in the fixed period 2026-03-01 … 2026-08-31 (UTC, naive), so output does
  not depend on when it is run.

Injected effects (what the analytics should find)
-------------------------------------------------
1. **Annotator pool** (M = 60, ids ``ann-001``… shuffled by the seed, so ids do not reveal roles):
   4 *experts* (cohort ``expert``, accuracy 0.98–0.995, errors spread evenly over the other classes);
   40 *crowd* annotators (cohort ``crowd``, accuracy 0.72–0.90) whose errors fall on the partner of a
   confusable pair 70 % of the time (1↔7, 3↔8, 4↔9; ``store_meta.confusion_pairs``);
   3 *spammers* (cohort ``crowd``, so only their behaviour gives them away): uniformly random labels
   (accuracy ≈ 0.1), fast (median 1.5 s per label) and with random self-reported confidence;
   12 *vendor* annotators (cohort ``vendor``, accuracy 0.60–0.72, 50 % of errors on the partner) who label
   nothing before ``store_meta.vendor_joins_at`` (2026-06-15) and then carry a large share of the work;
   1 *decaying* annotator (cohort ``crowd``, ``store_meta.decaying_annotator``) whose accuracy falls linearly
   from 0.92 at the period start to 0.55 at its end.
   Nominal accuracies are in ``demo_annotator_truth.accuracy``: the probability of a correct label averaged
   over slices, before the guideline effect (for the decaying annotator, the mean over the period).
2. **Labels per item**: 3, 4 or 5 distinct annotators per item (probabilities 0.3/0.4/0.3), drawn among the
   annotators active when the item is queued (spammers weigh 0.6, experts and crowd 1, vendor and the
   decaying annotator 2); labels arrive within ~6 days of the item's queue time.
3. **Noisy slice**: item attribute ``source`` is ``scanner`` (50 %), ``mobile`` (30 %) or ``fax`` (20 %);
   ``region`` (``north``/``south``/``east``/``west``, uniform) carries no effect. For every non-spammer the
   error probability on ``source = fax`` items is 3.5× that on other items, scaled so that the annotator's
   average stays at its nominal accuracy (``store_meta.noisy_slice``, ``noisy_slice_multiplier``). Spammers
   and the guideline effect are the same on every slice, so the measured error rate of all events on
   ``fax`` comes out about 3× that of the other slices (2.9× for seed 0).
4. **Guideline change** on 2026-06-01 (``store_meta.guideline_change_at``): ``v1`` told annotators to label a
   1 with a flag at the top as ``"7"``; ``v2`` says it is a ``"1"``. The 35 % of true 1s nearest the mean 7
   image are the ambiguous ones (``store_meta.guideline_ambiguous_items``); under ``v1`` every non-spammer
   labels them ``"7"`` with probability 0.8. The share of ``"7"`` among ``"1"``/``"7"`` labels drops after the
   change. The truth follows ``v2``.
5. **Gold**: 150 ``train`` items are *honeypots* (``gold_labels.source = 'honeypot'``) and every ``eval`` item
   has an *evaluation* gold label (``source = 'eval'``); both equal the truth.
6. **Test–retest**: 90 items (``campaign_id = 'retest'``) get one extra label from one of their own annotators
   14–42 days after that annotator's first label, drawn independently with the same error model. Retest items
   have 3 or 4 distinct annotators, so every item still has 3–5 events.
7. **Event extras**: ``confidence`` (Beta(8, 2) when correct, Beta(3, 3) when wrong, uniform for spammers) and
   ``duration_s`` (log-normal; median 10 s experts, 6 s crowd, 5 s vendor, 1.5 s spammers).

After the imports, ``build_demo_store`` runs detection once (``analytics.detection.suspects.run_detection``,
created by ``demo``) so the Suspects page opens on a stored run, then (unless ``history=False``) plays a
remediation round through the engine (``analytics.synthetic.history``) so the Remediate pages do too.
A mislabel is an item whose given label (the label a strict majority of its annotators gave) differs from
``demo_truth``; the items without such a majority (about 13% for seed 0: 2 against 2, or 1-1-1) have no
given label and land in the run's adjudication queue, where the truth scores the run's suggestions.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from analytics.synthetic.scale import build_scale_store, write_scale_events
from analytics.synthetic.simulation import (
    CONFUSION_PAIRS,
    GUIDELINE_CHANGE_AT,
    LABELS,
    NOISY_MULTIPLIER,
    NOISY_SLICE,
    PERIOD_END,
    PERIOD_START,
    REGIONS,
    SOURCES,
    VENDOR_JOINS_AT,
    guidelines_frame,
    noisy_labels,
    slice_error_multiplier,
    vocabulary_frame,
)
from analytics.synthetic.simulation import epoch_seconds as _seconds

__all__ = ["DemoData", "generate", "build_demo_store", "write_scale_events", "build_scale_store"]

DATASET = "digits"
#: Every demo import's source name starts with this (``ingest_batches.source``).
SOURCE_PREFIX = "demo:"
#: The guideline change concerns this pair: (true class, label v1 asked for on its ambiguous items).
GUIDELINE_PAIR = (1, 7)
EVAL_FRACTION = 0.2
N_HONEYPOTS = 150
N_RETEST = 90
AMBIGUOUS_FRACTION = 0.35
V1_COMPLIANCE = 0.8
DECAY_FROM, DECAY_TO = 0.92, 0.55

#: role -> (count, cohort, accuracy range, share of errors on the confusable partner, workload weight,
#: median seconds per label)
ROLES: dict[str, tuple[int, str, tuple[float, float], float, float, float]] = {
    "expert": (4, "expert", (0.98, 0.995), 0.0, 1.0, 10.0),
    "crowd": (40, "crowd", (0.72, 0.90), 0.7, 1.0, 6.0),
    "spammer": (3, "crowd", (0.1, 0.1), 0.0, 0.6, 1.5),
    "vendor": (12, "vendor", (0.60, 0.72), 0.5, 2.0, 5.0),
    "decaying": (1, "crowd", (DECAY_FROM, DECAY_TO), 0.7, 2.0, 6.0),
}


@dataclasses.dataclass(frozen=True)
class DemoData:
    """Everything ``generate`` builds, as ingest-ready frames plus the hidden truth.

    Attributes
    ----------
    items : DataFrame
        ``item_id, dataset, split, created_at, media_ref, features, source, region`` (the last two are slice
        attributes), N rows.
    events : DataFrame
        ``item_id, annotator_id, label, labeled_at, guideline_version, cohort, confidence, duration_s,
        campaign_id, dataset``, sorted by time.
    gold : DataFrame
        ``item_id, label, source`` with source ``honeypot`` or ``eval``.
    vocabulary : DataFrame
        ``label, parent, description``.
    guidelines : DataFrame
        ``version, effective_at, summary``.
    truth : DataFrame
        ``item_id, true_label`` (rows of ``demo_truth``).
    annotator_truth : DataFrame
        ``annotator_id, role, accuracy, note`` (rows of ``demo_annotator_truth``).
    meta : dict of str to str
        Seed and injected parameters (rows of ``store_meta``); lists are JSON.
    """

    items: pd.DataFrame
    events: pd.DataFrame
    gold: pd.DataFrame
    vocabulary: pd.DataFrame
    guidelines: pd.DataFrame
    truth: pd.DataFrame
    annotator_truth: pd.DataFrame
    meta: dict[str, str]


def generate(seed: int = 0) -> DemoData:
    """Build the digits demo for ``seed``; identical output for identical seeds.

    Parameters
    ----------
    seed : int
        Seed of the ``numpy.random.Generator`` behind every random choice.

    Returns
    -------
    DemoData
        Frames ready for ``analytics.ingest.pipeline.ingest`` plus the truth (see the module docstring for
        every
        injected effect).

    Examples
    --------
    >>> data = generate(seed=0)
    >>> len(data.items), bool(data.events.groupby("item_id").size().between(3, 5).all())
    (1797, True)
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    rng = np.random.default_rng(seed)
    features = digits.data.astype(np.float32)
    truth = digits.target.astype(np.int64)
    n = len(truth)
    item_ids = np.array([f"digits-{i:04d}" for i in range(n)], dtype=object)

    annotators = _annotator_pool(rng)
    source = rng.choice([s for s, _ in SOURCES], size=n, p=[p for _, p in SOURCES])
    region = rng.choice(REGIONS, size=n)
    ambiguous = _ambiguous_items(features, truth)
    # Items are queued early enough that all their labels (within 6 days) fall inside the period.
    span = _seconds(PERIOD_END) - _seconds(PERIOD_START) - 8 * 86400
    queued = _seconds(PERIOD_START) + rng.uniform(0, span, n)

    n_labels = rng.choice([3, 4, 5], size=n, p=[0.3, 0.4, 0.3])
    item_idx, ann_idx = _assign(rng, annotators, queued, n_labels)
    times = queued[item_idx] + np.minimum(rng.exponential(1.5 * 86400, len(item_idx)), 6 * 86400)

    retest_items = _retest_items(rng, n_labels, queued)
    first = _first_event_of(rng, item_idx, retest_items)
    r_item, r_ann = item_idx[first], ann_idx[first]
    r_times = times[first] + rng.uniform(14 * 86400, 42 * 86400, len(first))
    item_idx = np.concatenate([item_idx, r_item])
    ann_idx = np.concatenate([ann_idx, r_ann])
    times = np.concatenate([times, r_times])
    is_retest = np.arange(len(item_idx)) >= len(item_idx) - len(first)

    fax_share = float(np.mean(source == NOISY_SLICE[1]))
    slice_mult = slice_error_multiplier(source)
    labels, correct = _draw_labels(rng, annotators, truth[item_idx], ann_idx, times,
                                   slice_mult[item_idx], ambiguous[item_idx])

    events = _events_frame(rng, annotators, item_ids[item_idx], ann_idx, labels, correct, times, is_retest)
    split = np.full(n, "train", dtype=object)
    split[rng.choice(n, size=round(EVAL_FRACTION * n), replace=False)] = "eval"
    honeypots = rng.choice(np.flatnonzero(split == "train"), size=N_HONEYPOTS, replace=False)
    created = queued - rng.uniform(0, 3 * 86400, n)

    items = pd.DataFrame({
        "item_id": item_ids,
        "dataset": DATASET,
        "split": split,
        "created_at": _timestamps(np.maximum(created, _seconds(PERIOD_START))),
        "media_ref": [f"sklearn:load_digits/{i}" for i in range(n)],
        "features": list(features),
        "source": source.astype(object),
        "region": region.astype(object),
    })
    gold_idx = np.concatenate([np.sort(honeypots), np.flatnonzero(split == "eval")])
    gold = pd.DataFrame({
        "item_id": item_ids[gold_idx],
        "label": truth[gold_idx].astype(str).astype(object),
        "source": np.where(np.arange(len(gold_idx)) < N_HONEYPOTS, "honeypot", "eval").astype(object),
    })
    return DemoData(
        items=items,
        events=events,
        gold=gold,
        vocabulary=vocabulary_frame(),
        guidelines=guidelines_frame(),
        truth=pd.DataFrame({"item_id": item_ids, "true_label": truth.astype(str).astype(object)}),
        annotator_truth=annotators[["annotator_id", "role", "accuracy", "note"]].reset_index(drop=True),
        meta=_meta(seed, annotators, item_ids[ambiguous], fax_share),
    )


def build_demo_store(
    store: Any, *, seed: int = 0, progress: Callable[[float, str], None] | None = None, history: bool = True
) -> DemoData:
    """Generate the demo and write it into ``store`` through ``analytics.ingest.pipeline``.

    Parameters
    ----------
    store : analytics.store.Store
        An open, writable store.
    seed : int
        Passed to ``generate``.
    progress : callable(fraction, message) or None
        Called before each step with the fraction done (0–1) and what is happening.
    history : bool
        Also play the demo's remediation round (``analytics.synthetic.history``: versions before and
        after, a review round, a policy run, a relabel campaign), so the Remediate pages open on content.

    Returns
    -------
    DemoData
        The frames that were written.

    Raises
    ------
    ValueError
        When the store already holds a demo built from another seed.
    RuntimeError
        When ingest rejects generated rows (the generator and the validator disagree).

    Notes
    -----
    Re-running with the same seed is idempotent: ingest reports each batch as already imported and the truth
    tables are left as they are.
    """
    from analytics.ingest import pipeline as ingest
    from analytics.store import demo as demo_store

    report = progress or (lambda fraction, message: None)
    existing = demo_store.demo_meta(store).get("demo_seed")
    if existing is not None and existing != str(seed):
        raise ValueError(
            f"the store {store.path} already holds the demo built from seed {existing}; "
            f"use a new --db file for seed {seed}"
        )
    report(0.0, f"Generating the digits demo (seed {seed})")
    data = generate(seed)
    steps = (
        ("vocabulary", data.vocabulary),
        ("guidelines", data.guidelines),
        ("items", data.items),
        ("events", data.events),
        ("gold", data.gold),
    )
    for i, (kind, frame) in enumerate(steps):
        report(0.1 + 0.8 * i / len(steps), f"Importing {kind} ({len(frame):,} rows)")
        result = ingest.ingest(
            store, frame, kind=kind, name=f"{SOURCE_PREFIX}seed={seed}/{kind}", dataset=DATASET,
            created_by="demo",
        )
        if result.rows_rejected:
            # The generator and the validator disagree: a bug, not bad input; stop before recording truth.
            raise RuntimeError(
                f"ingest rejected {result.rows_rejected} generated {kind} rows: {result.rejected_by_reason}"
            )
    if existing is None:
        from analytics.detection import suspects

        suspects.run_detection(store, created_by="demo", random_state=seed,
                               progress=lambda f, m: report(0.9 + 0.08 * f, "Scoring the labels: " + m))
        report(0.97, "Recording the injected truth")
        demo_store.write_demo_truth(store, data.truth, data.annotator_truth, data.meta)
        if history:
            from analytics.synthetic import history as remediation_history

            report(0.98, "Playing a remediation round: review, policy, campaign, versions")
            remediation_history.build_history(store, seed=seed)
    report(1.0, "Demo store ready")
    return data


# --- private helpers -------------------------------------------------------------------------------------


def _timestamps(seconds: np.ndarray) -> pd.Series:
    return pd.Series(np.round(seconds).astype("int64").astype("datetime64[s]").astype("datetime64[us]"))


def _annotator_pool(rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for role, (count, cohort, (lo, hi), partner_share, weight, median_s) in ROLES.items():
        if role == "decaying":
            accuracy = np.array([(lo + hi) / 2])
        else:
            accuracy = np.round(rng.uniform(lo, hi, count), 3)
        for acc in accuracy:
            rows.append((role, cohort, float(acc), partner_share, weight, median_s))
    pool = pd.DataFrame(rows, columns=["role", "cohort", "accuracy", "partner_share", "weight", "median_s"])
    pool["annotator_id"] = [f"ann-{i + 1:03d}" for i in rng.permutation(len(pool))]
    joins = np.where(pool["role"] == "vendor", _seconds(VENDOR_JOINS_AT), _seconds(PERIOD_START))
    pool["joins_at"] = joins
    notes = {
        "expert": "errors spread evenly over the other classes",
        "crowd": "70% of errors on the confusable partner (1-7, 3-8, 4-9)",
        "spammer": "uniformly random labels, fast, random confidence; cohort crowd",
        "vendor": f"joins {VENDOR_JOINS_AT:%Y-%m-%d}; 50% of errors on the confusable partner",
        "decaying": f"accuracy falls linearly from {DECAY_FROM} to {DECAY_TO} over the period",
    }
    pool["note"] = pool["role"].map(notes)
    return pool.sort_values("annotator_id", ignore_index=True)


def _ambiguous_items(features: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """True 1s nearest the mean 7 relative to the mean 1: the ones a v1 annotator calls 7."""
    one, seven = GUIDELINE_PAIR
    ones = np.flatnonzero(truth == one)
    margin = (np.linalg.norm(features[ones] - features[truth == seven].mean(0), axis=1)
              - np.linalg.norm(features[ones] - features[truth == one].mean(0), axis=1))
    chosen = ones[np.argsort(margin, kind="stable")[: round(AMBIGUOUS_FRACTION * len(ones))]]
    mask = np.zeros(len(truth), dtype=bool)
    mask[chosen] = True
    return mask


def _assign(rng: np.random.Generator, annotators: pd.DataFrame, queued: np.ndarray,
            n_labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct annotators per item by weighted sampling without replacement (Gumbel top-k)."""
    active = queued[:, None] >= annotators["joins_at"].to_numpy()[None, :]
    with np.errstate(divide="ignore"):
        keys = np.log(np.where(active, annotators["weight"].to_numpy()[None, :], 0.0))
    keys = keys + rng.gumbel(size=keys.shape)
    order = np.argsort(-keys, axis=1, kind="stable")
    take = np.arange(order.shape[1])[None, :] < n_labels[:, None]
    return np.repeat(np.arange(len(queued)), n_labels), order[take]


def _retest_items(rng: np.random.Generator, n_labels: np.ndarray, queued: np.ndarray) -> np.ndarray:
    latest = _seconds(PERIOD_END) - 50 * 86400
    eligible = np.flatnonzero((n_labels <= 4) & (queued <= latest))
    return np.sort(rng.choice(eligible, size=N_RETEST, replace=False))


def _first_event_of(rng: np.random.Generator, item_idx: np.ndarray, items: np.ndarray) -> np.ndarray:
    """For each item in ``items``, the index of one of its events (chosen at random)."""
    starts = np.searchsorted(item_idx, items)
    counts = np.searchsorted(item_idx, items, side="right") - starts
    return starts + rng.integers(0, counts)


def _draw_labels(rng: np.random.Generator, annotators: pd.DataFrame, true_k: np.ndarray, ann_idx: np.ndarray,
                 times: np.ndarray, slice_mult: np.ndarray,
                 ambiguous: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Labels (int classes) and whether each is correct, for events given by annotator and time."""
    role = annotators["role"].to_numpy()[ann_idx]
    accuracy = annotators["accuracy"].to_numpy()[ann_idx].copy()
    progress = (times - _seconds(PERIOD_START)) / (_seconds(PERIOD_END) - _seconds(PERIOD_START))
    decaying = role == "decaying"
    accuracy[decaying] = DECAY_FROM + (DECAY_TO - DECAY_FROM) * progress[decaying]
    spammer = role == "spammer"
    labels = noisy_labels(
        rng,
        true_k,
        p_error=np.minimum((1 - accuracy) * slice_mult, 0.9),
        partner_share=annotators["partner_share"].to_numpy()[ann_idx],
        random_label=spammer,
    )
    v1_rule = (ambiguous & ~spammer & (times < _seconds(GUIDELINE_CHANGE_AT))
               & (rng.random(len(true_k)) < V1_COMPLIANCE))
    labels = np.where(v1_rule, GUIDELINE_PAIR[1], labels)
    return labels, labels == true_k


def _events_frame(rng: np.random.Generator, annotators: pd.DataFrame, item_ids: np.ndarray,
                  ann_idx: np.ndarray, labels: np.ndarray, correct: np.ndarray, times: np.ndarray,
                  is_retest: np.ndarray) -> pd.DataFrame:
    spammer = annotators["role"].to_numpy()[ann_idx] == "spammer"
    confidence = np.where(correct, rng.beta(8, 2, len(labels)), rng.beta(3, 3, len(labels)))
    confidence = np.round(np.where(spammer, rng.random(len(labels)), confidence), 2)
    median_s = annotators["median_s"].to_numpy()[ann_idx]
    duration = np.round(median_s * rng.lognormal(0.0, 0.5, len(labels)), 1)
    events = pd.DataFrame({
        "item_id": item_ids,
        "annotator_id": annotators["annotator_id"].to_numpy()[ann_idx],
        "label": np.array(LABELS, dtype=object)[labels],
        "labeled_at": _timestamps(times),
        "guideline_version": np.where(times < _seconds(GUIDELINE_CHANGE_AT), "v1", "v2").astype(object),
        "cohort": annotators["cohort"].to_numpy()[ann_idx],
        "confidence": confidence,
        "duration_s": duration,
        "campaign_id": np.where(is_retest, "retest", None).astype(object),
        "dataset": DATASET,
    })
    return events.sort_values(["labeled_at", "item_id", "annotator_id"], ignore_index=True, kind="stable")


def _meta(seed: int, annotators: pd.DataFrame, ambiguous_ids: np.ndarray, fax_share: float) -> dict[str, str]:
    by_role = annotators.groupby("role")["annotator_id"].apply(list).to_dict()
    return {
        "demo_seed": str(seed),
        "demo_dataset": DATASET,
        "period_start": PERIOD_START.isoformat(),
        "period_end": PERIOD_END.isoformat(),
        "guideline_change_at": GUIDELINE_CHANGE_AT.isoformat(),
        "guideline_pair": json.dumps(
            {"true_label": str(GUIDELINE_PAIR[0]), "v1_label": str(GUIDELINE_PAIR[1])}
        ),
        "guideline_ambiguous_items": json.dumps([str(i) for i in ambiguous_ids]),
        "vendor_joins_at": VENDOR_JOINS_AT.isoformat(),
        "noisy_slice": json.dumps({"attribute": NOISY_SLICE[0], "value": NOISY_SLICE[1]}),
        "noisy_slice_multiplier": str(NOISY_MULTIPLIER),
        "noisy_slice_item_share": f"{fax_share:.4f}",
        "confusion_pairs": json.dumps([[str(a), str(b)] for a, b in CONFUSION_PAIRS]),
        "decaying_annotator": by_role["decaying"][0],
        "spammers": json.dumps(by_role["spammer"]),
        "honeypots": str(N_HONEYPOTS),
        "retest_items": str(N_RETEST),
    }
