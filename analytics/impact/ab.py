"""Before/after remediation: two arms compared on the same items, with paired intervals.

**Arms.** Arm A and arm B are two dataset versions (A before, B after; any two can be chosen), or two sets of
imported predictions (``model_version`` A and B) for teams that train elsewhere.

**Label quality** (versions only): each arm's labels against the trusted gold labels on every gold item;
an item the arm leaves without a label counts as not right. Gold labels are imported (``gold_labels``) and
never produced by the remediation, so the comparison cannot grade the remediation by its own output. Shown:
accuracy with a paired bootstrap interval of B − A and McNemar's test, the share right per gold class, and
the noise rate (1 − accuracy) per slice value with its paired interval.

**Model quality** (versions): the same model (``MODEL``: standardised features, multinomial logistic
regression, seeded; recorded with the result) is trained on each arm's labels of the training items (items
with features outside the evaluation split, with a label, not excluded) and evaluated on the **held-out
set**: gold items of the evaluation split (``analytics.remediation.queue.EVAL_SPLITS``) that the remediation
never touched (same label in both arms, named by no action between the versions, in no campaign between
them). Metrics: accuracy, macro-F1, per-class F1, expected calibration error with the reliability table;
B − A with paired bootstrap intervals over the held-out items; McNemar's test on the paired correctness.
With imported predictions, the held-out set is every gold item of the evaluation split both models scored.

**Per subgroup**: for each slice attribute, the accuracy delta per value with its interval, Cochran's Q of
whether the gain is the same in every value, and the values that got worse (interval wholly below 0).

**Guardrails**, reported with the result: the class mix of each arm's training labels and of the held-out
set, the held-out items left out because the remediation touched them, and the items per class.

Assumptions: evaluation items are exchangeable draws from the population of interest (the intervals
resample them); the model and its seed are the same for both arms, so the only difference is the labels.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from analytics.impact import metrics, paired
from analytics.remediation import versions
from analytics.remediation.queue import EVAL_SPLITS
from analytics.store import Store
from analytics.store import impact as sql
from analytics.store import remediation as remediation_sql

__all__ = [
    "MODEL",
    "NO_LABEL",
    "ImpactError",
    "ImpactResult",
    "compare_predictions",
    "compare_versions",
    "latest_result",
    "list_results",
    "load_result",
    "prediction_models",
]

#: The label an item without one counts as (never equal to a gold label).
NO_LABEL = "(no label)"
#: The model trained on each arm: its name and parameters, stored with every result.
MODEL = {
    "name": "logistic regression on standardised features",
    "C": 1.0,
    "max_iter": 2000,
    "solver": "lbfgs",
}
#: Bootstrap replicates of the headline intervals; the per-class and per-subgroup ones use fewer.
N_BOOT = 2000
N_BOOT_DETAIL = 500


class ImpactError(ValueError):
    """A comparison that cannot be made (unknown arm, no gold labels, nothing held out)."""


@dataclasses.dataclass(frozen=True)
class ImpactResult:
    """One before/after analysis. Every frame's columns are listed in ``FRAMES``; ``summary`` holds the
    counts and the model's parameters."""

    impact_id: str
    kind: str
    arm_a: str
    arm_b: str
    created_at: dt.datetime
    created_by: str
    summary: dict
    label_quality: pd.DataFrame
    label_classes: pd.DataFrame
    label_slices: pd.DataFrame
    model_quality: pd.DataFrame
    per_class: pd.DataFrame
    subgroups: pd.DataFrame
    heterogeneity: pd.DataFrame
    reliability: pd.DataFrame
    class_mix: pd.DataFrame
    changes: pd.DataFrame

    FRAMES = (
        "label_quality",
        "label_classes",
        "label_slices",
        "model_quality",
        "per_class",
        "subgroups",
        "heterogeneity",
        "reliability",
        "class_mix",
        "changes",
    )

    def to_json(self) -> dict:
        """The result as plain JSON (frames as lists of records)."""
        out = {"summary": self.summary}
        for name in self.FRAMES:
            frame = getattr(self, name)
            out[name] = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        return out

    @classmethod
    def from_row(cls, row: dict) -> ImpactResult:
        """The result of a stored row (``analytics.store.impact.result``)."""
        body = row["result"]
        frames = {name: pd.DataFrame.from_records(body.get(name) or []) for name in cls.FRAMES}
        return cls(
            row["impact_id"],
            row["kind"],
            row["arm_a"],
            row["arm_b"],
            pd.Timestamp(row["created_at"]),
            row["created_by"],
            body.get("summary", {}),
            **frames,
        )


def _delta_row(name: str, d: paired.PairedDelta, **extra: object) -> dict:
    return {
        "metric": name,
        "a": d.a,
        "b": d.b,
        "delta": d.delta,
        "ci_low": d.ci_low,
        "ci_high": d.ci_high,
        "n": d.n,
        "method": d.method,
        **extra,
    }


def _labels(store: Store, version_id: str) -> pd.DataFrame:
    found = remediation_sql.version_row(store, version_id)
    if found is None:
        raise ImpactError(f"There is no dataset version {version_id!r}.")
    return versions.version_labels(store, version_id).set_index("item_id")


def compare_versions(
    store: Store,
    version_a: str,
    version_b: str,
    *,
    created_by: str = "local",
    seed: int = 0,
    n_boot: int = N_BOOT,
    confidence: float = 0.95,
    save: bool = True,
) -> ImpactResult:
    """Compare dataset versions ``version_a`` (before) and ``version_b`` (after): label quality on the gold
    items and model quality on the held-out set (see the module's words); store the result when ``save``.

    Raises
    ------
    ImpactError
        An unknown version, or a store without gold labels.
    """
    arm_a, arm_b = _labels(store, version_a), _labels(store, version_b)
    gold = sql.gold_items(store).set_index("item_id")
    if gold.empty:
        raise ImpactError(
            "The store holds no gold labels: import trusted labels (kind gold) to measure "
            "label and model quality."
        )
    slices = sql.item_slices(store, gold.index.tolist())  # every comparison is on gold items
    opts = {"n_boot": n_boot, "confidence": confidence, "random_state": seed}
    label_parts = _label_quality(gold, arm_a, arm_b, slices, opts)
    touched, changes = _touched(store, version_a, version_b, arm_a, arm_b)
    model_parts, counts = _model_quality(store, gold, arm_a, arm_b, touched, slices, seed, opts)
    summary = {
        "gold_items": len(gold),
        "held_out_touched": counts.pop("held_out_touched"),
        **counts,
        "model": {**MODEL, "random_state": seed},
        "n_boot": n_boot,
        "confidence": confidence,
        "items_changed": int(
            (arm_a["label"].reindex(arm_b.index).fillna(NO_LABEL) != arm_b["label"].fillna(NO_LABEL)).sum()
        ),
    }
    frames = {**label_parts, **model_parts, "changes": changes}
    return _finish(store, "versions", version_a, version_b, created_by, summary, frames, seed=seed, save=save)


def compare_predictions(
    store: Store,
    model_a: str,
    model_b: str,
    *,
    created_by: str = "local",
    seed: int = 0,
    n_boot: int = N_BOOT,
    confidence: float = 0.95,
    save: bool = True,
) -> ImpactResult:
    """Compare two imported prediction sets (``model_version`` A before, B after) on the gold items of the
    evaluation split both scored: model quality and per subgroup, as for versions (no label quality, no
    training here).

    Raises
    ------
    ImpactError
        A model version without predictions, or no held-out gold item both scored.
    """
    known = set(sql.prediction_models(store))
    for model in (model_a, model_b):
        if model not in known:
            raise ImpactError(
                f"There are no predictions of model version {model!r} (imported: "
                f"{', '.join(sorted(known)) or 'none'})."
            )
    gold = sql.gold_items(store).set_index("item_id")
    held = gold[gold["split"].fillna("").str.lower().isin(EVAL_SPLITS)]
    pred_a = sql.predictions(store, model_a).set_index("item_id")
    pred_b = sql.predictions(store, model_b).set_index("item_id")
    items = held.index.intersection(pred_a.index).intersection(pred_b.index)
    if items.empty:
        raise ImpactError("No gold item of the evaluation split has predictions from both model versions.")
    opts = {"n_boot": n_boot, "confidence": confidence, "random_state": seed}
    y = held.loc[items, "gold"].to_numpy(dtype=object)
    parts = _scored(
        y,
        pred_a.loc[items, "label"].to_numpy(dtype=object),
        pred_b.loc[items, "label"].to_numpy(dtype=object),
        pred_a.loc[items, "prob"].to_numpy(float),
        pred_b.loc[items, "prob"].to_numpy(float),
        items,
        sql.item_slices(store, items.tolist()),
        opts,
    )
    counts = pd.Series(y).value_counts()
    mix = pd.DataFrame({"label": counts.index, "held_out": counts.to_numpy()})
    summary = {
        "gold_items": len(gold),
        "held_out": len(items),
        "held_out_touched": 0,
        "trained": False,
        "model": {"name": "imported predictions", "a": model_a, "b": model_b},
        "n_boot": n_boot,
        "confidence": confidence,
    }
    frames = {**parts, "class_mix": mix}
    return _finish(store, "predictions", model_a, model_b, created_by, summary, frames, seed=seed, save=save)


def _finish(store: Store, kind: str, arm_a: str, arm_b: str, created_by: str, summary: dict,
            frames: dict[str, pd.DataFrame], *, seed: int, save: bool) -> ImpactResult:
    """The result of an analysis (frames it has no part for are empty), stored when ``save``."""
    result = ImpactResult(
        f"imp-{uuid.uuid4().hex[:12]}", kind, arm_a, arm_b, remediation_sql.now(), created_by, summary,
        **{name: frames.get(name, pd.DataFrame()) for name in ImpactResult.FRAMES},
    )
    if save:
        params = {"seed": seed, "n_boot": summary["n_boot"], "confidence": summary["confidence"]}
        _saved(store, result, params)
    return result


def _saved(store: Store, result: ImpactResult, params: dict) -> ImpactResult:
    with store.transaction() as cur:
        sql.insert_result(
            cur,
            {
                "impact_id": result.impact_id,
                "created_at": result.created_at,
                "created_by": result.created_by,
                "kind": result.kind,
                "arm_a": result.arm_a,
                "arm_b": result.arm_b,
                "params": params,
                "result": result.to_json(),
            },
        )
    return result


def load_result(store: Store, impact_id: str) -> ImpactResult:
    """A stored analysis."""
    row = sql.result(store, impact_id)
    if row is None:
        raise ImpactError(f"There is no impact analysis {impact_id!r}.")
    return ImpactResult.from_row(row)


def list_results(store: Store) -> pd.DataFrame:
    """Every stored analysis, newest first: ``impact_id, created_at, created_by, kind, arm_a, arm_b,
    params``."""
    return sql.results(store)


def prediction_models(store: Store) -> list[str]:
    """The model versions with imported predictions (arms for ``compare_predictions``)."""
    return sql.prediction_models(store)


def latest_result(store: Store) -> ImpactResult | None:
    """The newest stored analysis, or None."""
    found = sql.latest_id(store)
    return None if found is None else load_result(store, found)


# --- label quality -------------------------------------------------------------------------------------


def _arm_label(arm: pd.DataFrame, items: pd.Index) -> np.ndarray:
    return arm["label"].reindex(items).fillna(NO_LABEL).to_numpy(dtype=object)


def _label_quality(
    gold: pd.DataFrame, arm_a: pd.DataFrame, arm_b: pd.DataFrame, slices: pd.DataFrame, opts: dict
) -> dict:
    items = gold.index
    y = gold["gold"].to_numpy(dtype=object)
    a, b = _arm_label(arm_a, items), _arm_label(arm_b, items)
    overall = paired.paired_bootstrap(y, a, b, metric="accuracy", **opts)
    test = paired.mcnemar_test(y, a, b)
    quality = pd.DataFrame([_delta_row("accuracy", overall, p_value=test.p_value, test=test.method)])
    classes = (
        pd.DataFrame({"gold": y, "a": a == y, "b": b == y})
        .groupby("gold")
        .agg(n=("a", "size"), right_a=("a", "mean"), right_b=("b", "mean"))
        .reset_index()
    )
    classes["delta"] = classes["right_b"] - classes["right_a"]
    per_slice = _by_slice(y, a, b, items, slices, {**opts, "n_boot": min(opts["n_boot"], N_BOOT_DETAIL)})
    per_slice = (
        per_slice.assign(noise_a=1 - per_slice["a"], noise_b=1 - per_slice["b"])
        if len(per_slice)
        else per_slice
    )
    return {"label_quality": quality, "label_classes": classes, "label_slices": per_slice}


def _by_slice(
    y: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    items: pd.Index,
    slices: pd.DataFrame,
    opts: dict,
    prob_a: np.ndarray | None = None,
    prob_b: np.ndarray | None = None,
) -> pd.DataFrame:
    """Accuracy B − A per value of each slice attribute (items without the attribute left out)."""
    frames = []
    for key, rows in slices.groupby("key", sort=True):
        value = rows.drop_duplicates("item_id").set_index("item_id")["value"].reindex(items)
        has = value.notna().to_numpy()
        if has.sum() == 0:
            continue
        found = paired.subgroup_deltas(
            y[has], a[has], b[has], value.to_numpy(dtype=object)[has], metric="accuracy", **opts
        )
        table = found.table.rename(columns={"subgroup": "value"}).assign(key=key)
        het = found.heterogeneity
        table["q_p_value"], table["i_squared"] = het.p_value, het.i_squared
        frames.append(table)
    if not frames:
        return pd.DataFrame(
            columns=["key", "value", "n", "a", "b", "delta", "ci_low", "ci_high", "got_worse"]
        )
    out = pd.concat(frames, ignore_index=True)
    return out[["key", *[c for c in out.columns if c != "key"]]]


# --- model quality -------------------------------------------------------------------------------------


def _touched(
    store: Store, version_a: str, version_b: str, arm_a: pd.DataFrame, arm_b: pd.DataFrame
) -> tuple[set, pd.DataFrame]:
    """The items the remediation touched between the versions (label differs, an action names them, or a
    campaign between them holds them) and what was done, as ``action, source, n``."""
    row_a, row_b = (remediation_sql.version_row(store, v) for v in (version_a, version_b))
    low, high = sorted((int(row_a["seq"] or 0), int(row_b["seq"] or 0)))
    acted = sql.acted_between(store, low, high)
    items = {i for listed in acted["items"] for i in listed}
    first, last = sorted((pd.Timestamp(row_a["created_at"]), pd.Timestamp(row_b["created_at"])))
    items |= set(sql.campaign_items_between(store, first.to_pydatetime(), last.to_pydatetime()))
    both = arm_a.index.union(arm_b.index)
    differ = arm_a["label"].reindex(both).fillna(NO_LABEL) != arm_b["label"].reindex(both).fillna(NO_LABEL)
    items |= set(both[differ.to_numpy()])
    return items, acted.drop(columns="items")


def _model_quality(
    store: Store,
    gold: pd.DataFrame,
    arm_a: pd.DataFrame,
    arm_b: pd.DataFrame,
    touched: set,
    slices: pd.DataFrame,
    seed: int,
    opts: dict,
) -> tuple[dict, dict]:
    items = sql.training_items(store).set_index("item_id")
    held = gold[gold["split"].fillna("").str.lower().isin(EVAL_SPLITS) & gold["features"].notna()]
    kept = held.index.difference(pd.Index(sorted(touched)))
    counts = {"held_out": len(kept), "held_out_touched": len(held) - len(kept), "trained": False}
    empty = {
        name: pd.DataFrame()
        for name in ("model_quality", "per_class", "subgroups", "heterogeneity", "reliability")
    }
    if items.empty or len(kept) == 0:
        counts["why_no_model"] = (
            "the items carry no features"
            if items.empty
            else "no gold item of the evaluation split is left once the touched ones are out"
        )
        return {**empty, "class_mix": pd.DataFrame()}, counts
    train_ids = items.index[~items["split"].fillna("").str.lower().isin(EVAL_SPLITS)]
    train_ids = train_ids.difference(held.index)
    # one float32 matrix of every item's features, stacked once and indexed per arm
    matrix = np.stack(items["features"].to_numpy()).astype(np.float32)
    row = pd.Series(np.arange(len(items)), index=items.index)
    x_eval = matrix[row.loc[kept].to_numpy()]
    predictions, mixes = [], []
    for name, arm in (("a", arm_a), ("b", arm_b)):
        usable = arm.reindex(train_ids)
        usable = usable[usable["label"].notna() & ~usable["excluded"].fillna(False).astype(bool)]
        if usable["label"].nunique() < 2:
            counts["why_no_model"] = f"arm {name.upper()} has fewer than two labelled classes to train on"
            return {**empty, "class_mix": pd.DataFrame()}, counts
        model = make_pipeline(
            StandardScaler(),
            LogisticRegression(
                C=MODEL["C"], max_iter=MODEL["max_iter"], solver=MODEL["solver"], random_state=seed
            ),
        )
        model.fit(matrix[row.loc[usable.index].to_numpy()], usable["label"].to_numpy())
        proba = model.predict_proba(x_eval)
        classes = model.classes_
        predictions.append((classes[proba.argmax(axis=1)].astype(object), proba.max(axis=1)))
        mixes.append(usable["label"].value_counts().rename(f"train_{name}"))
        counts[f"trained_{name}"] = len(usable)
    counts["trained"] = True
    y = held.loc[kept, "gold"].to_numpy(dtype=object)
    parts = _scored(
        y, predictions[0][0], predictions[1][0], predictions[0][1], predictions[1][1], kept, slices, opts
    )
    mix = pd.concat([*mixes, pd.Series(y).value_counts().rename("held_out")], axis=1).fillna(0).astype(int)
    return {**parts, "class_mix": mix.rename_axis("label").reset_index()}, counts


def _scored(
    y: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    prob_a: np.ndarray,
    prob_b: np.ndarray,
    items: pd.Index,
    slices: pd.DataFrame,
    opts: dict,
) -> dict:
    """The model-quality frames of two arms' predictions on the held-out items."""
    test = paired.mcnemar_test(y, a, b)
    rows = [
        _delta_row(
            "accuracy",
            paired.paired_bootstrap(y, a, b, metric="accuracy", **opts),
            p_value=test.p_value,
            test=test.method,
        ),
        _delta_row("macro_f1", paired.paired_bootstrap(y, a, b, metric="macro_f1", **opts)),
        _delta_row(
            "ece", paired.paired_bootstrap(y, a, b, metric="ece", prob_a=prob_a, prob_b=prob_b, **opts)
        ),
    ]
    detail = {**opts, "n_boot": min(opts["n_boot"], N_BOOT_DETAIL)}
    per_class = _per_class_f1(y, a, b, n_boot=detail["n_boot"], confidence=opts["confidence"],
                              seed=opts["random_state"])
    reliability = pd.concat(
        [
            metrics.reliability_table(y, a, prob_a).assign(arm="A"),
            metrics.reliability_table(y, b, prob_b).assign(arm="B"),
        ],
        ignore_index=True,
    )
    subgroups = _by_slice(y, a, b, items, slices, detail)
    het = (
        subgroups.groupby("key")
        .agg(q_p_value=("q_p_value", "first"), i_squared=("i_squared", "first"))
        .reset_index()
        if len(subgroups)
        else pd.DataFrame()
    )
    return {
        "model_quality": pd.DataFrame(rows),
        "per_class": pd.DataFrame(per_class),
        "subgroups": subgroups,
        "heterogeneity": het,
        "reliability": reliability,
    }


def _per_class_f1(y: np.ndarray, a: np.ndarray, b: np.ndarray, *, n_boot: int, confidence: float,
                  seed: int) -> pd.DataFrame:
    """F1 of each true class in both arms and its paired bootstrap percentile interval of B − A.

    The items are grouped by their (true, A, B) pattern (at most K³ of them), a replicate is one multinomial
    draw of n items over the patterns, and every class's true positives, predictions and truths follow
    from one matrix product, so the cost does not grow with the items. A class without predictions or
    truths in a replicate has F1 0 there (scikit-learn's ``zero_division=0``).
    """
    labels = sorted({*map(str, y)})
    k = len(labels)
    code = {label: n for n, label in enumerate(labels)}
    other = k  # a prediction of a label no item truly has
    t = np.array([code[str(v)] for v in y])
    pa = np.array([code.get(str(v), other) for v in a])
    pb = np.array([code.get(str(v), other) for v in b])
    patterns, inverse, counts = np.unique(np.column_stack([t, pa, pb]), axis=0, return_inverse=True,
                                          return_counts=True)
    pt, qa, qb = patterns.T
    rows = np.arange(len(patterns))
    features = np.zeros((len(patterns), 5 * (k + 1)))
    for block, column, keep in ((0, pt, None), (1, qa, None), (2, pt, qa == pt), (3, qb, None),
                                (4, pt, qb == pt)):
        where = rows if keep is None else rows[keep]
        np.add.at(features, (where, block * (k + 1) + column[where]), 1.0)

    def f1(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        part = [sums[..., n * (k + 1):(n + 1) * (k + 1)][..., :k] for n in range(5)]
        n_true, pred_a, tp_a, pred_b, tp_b = part
        with np.errstate(divide="ignore", invalid="ignore"):
            fa = np.nan_to_num(2 * tp_a / (pred_a + n_true))
            fb = np.nan_to_num(2 * tp_b / (pred_b + n_true))
        return fa, fb

    point_a, point_b = f1(counts @ features)
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(len(y), counts / counts.sum(), size=n_boot)
    rep_a, rep_b = f1(draws @ features)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(rep_b - rep_a, [tail, 100 - tail], axis=0)
    return pd.DataFrame({"label": labels, "f1_a": point_a, "f1_b": point_b, "delta": point_b - point_a,
                         "ci_low": low, "ci_high": high, "support": np.bincount(t, minlength=k)})
