"""A detection run over the store, end to end: read, score, cluster, store. Used by the CLI's ``score``
command and the Suspects page's "Run detection" button.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from analytics import clusters, detection
from analytics.schema import EventFilter
from analytics.store import Store
from analytics.store import detection as queries


def run_detection(store: Store, flt: EventFilter | None = None, *, created_by: str,
                  model_version: str | None = None, rules=None, n_splits: int = 5, n_neighbours: int = 10,
                  random_state: int = 0,
                  progress: Callable[[float, str], None] | None = None) -> str:
    """Score every item of the filtered events, cluster the flagged ones, store the run; return its id.

    Parameters
    ----------
    store : Store
        Writable store.
    flt : EventFilter, optional
        The events to read (the dashboard's filter).
    created_by : str
        Who ran it (kept with the run).
    model_version : str, optional
        Use these imported predictions as the model's opinion instead of a cross-validated model.
    rules : analytics.rules.RuleSet, optional
        Rules whose hits count as a signal.
    n_splits, n_neighbours, random_state
        ``analytics.detection.score_items``'s options.
    progress : callable, optional
        ``progress(fraction_done, message)``.

    Raises
    ------
    ValueError
        When no event passes the filter.
    """
    def step(fraction: float, message: str) -> None:
        if progress is not None:
            progress(fraction, message)

    step(0.0, "reading ratings and features")
    inputs = queries.detection_inputs(store, flt)
    r = inputs.ratings
    if not len(r):
        raise ValueError("no label events pass the filter: nothing to score")
    pred_probs = None
    if model_version is not None:
        pred_probs = queries.prediction_matrix(store, model_version, r.items, r.classes)
    hits = {}
    if rules is not None:
        from analytics.store import rules as rule_queries

        found = rule_queries.rule_hits(store, rules, flt)
        hits = found.groupby("item_id")["rule_id"].agg(list).to_dict() if len(found) else {}
    result = detection.score_items(
        r.item_codes, r.annotator_codes, r.label_codes, items=r.items, annotators=r.annotators,
        classes=r.classes, features=inputs.features, has_features=inputs.has_features, pred_probs=pred_probs,
        model_version=model_version, rule_hits=hits, n_splits=n_splits, n_neighbours=n_neighbours,
        random_state=random_state, progress=lambda f, m: step(0.05 + 0.8 * f, m))
    step(0.87, "clustering the suspects")
    flagged = result.items[result.items["flagged"]]
    found = None
    if len(flagged):
        position = r.items.get_indexer(flagged["item_id"])
        features = inputs.features[position] if inputs.features is not None else None
        if features is not None and not inputs.has_features[position].all():
            features = None  # some suspects lack features: cluster on patterns and context only
        context = queries.suspect_context(store, flagged["item_id"].tolist())
        found = clusters.cluster_suspects(
            flagged[["item_id", "given_label", "suggested_label", "score"]].reset_index(drop=True),
            features=None if features is None else np.asarray(features, dtype=float),
            events=context.events, attributes=context.attributes, slice_sizes=context.slice_sizes,
            random_state=random_state)
    step(0.95, "saving the run")
    extra = {"rules_file": getattr(rules, "source", None)} if rules is not None else {}
    run_id = queries.save_run(store, result, clusters=found, created_by=created_by, flt=flt, extra=extra)
    step(1.0, f"stored {run_id}")
    return run_id


# --- words for the page and the CLI ---------------------------------------------------------------------


def run_label(run) -> str:
    """A run in the run picker: "2026-11-28 00:40 · 168 flagged of 1,797 · by me"."""
    return (f"{pd.Timestamp(run['created_at']):%Y-%m-%d %H:%M} · {int(run['flagged']):,} flagged of "
            f"{int(run['items']):,} · by {run['created_by']}")


def verdict(overview: dict, params: dict, cluster_table: pd.DataFrame) -> list[str]:
    """The run's findings in plain sentences, most important first.

    Parameters
    ----------
    overview : dict
        ``analytics.store.detection.run_overview``.
    params : dict
        The run's stored parameters.
    cluster_table : DataFrame
        The run's cluster summaries (may be empty).
    """
    items, flagged = overview["items"], overview["flagged"]
    share = flagged / items if items else 0.0
    lines = [f"{flagged:,} of {items:,} items ({share:.1%}) look mislabeled: the combined evidence favours "
             "another label than the given one."]
    named = cluster_table[cluster_table["pattern"] != clusters.OTHER] if len(cluster_table) else cluster_table
    if len(named):
        patterns = named.groupby("pattern")["size"].sum().sort_values(ascending=False, kind="stable")
        top = named[named["pattern"] == patterns.index[0]].iloc[0]
        pattern, size = patterns.index[0], int(patterns.iloc[0])
        n_clusters = int((named["pattern"] == pattern).sum())
        where = "1 cluster" if n_clusters == 1 else f"{n_clusters} clusters"
        text = f"The largest pattern is {pattern} (given → suggested): {size:,} items in {where}"
        context = [str(top[c]) for c in ("context", "dominant_guideline_version") if _present(top.get(c))]
        if context:
            text += "; its largest cluster is mostly " + ", ".join(context)
        lines.append(text + ".")
    model = params.get("model")
    if model:
        note = "" if params.get("model_used") else " It was left out of the combined score."
        lines.append(model["verdict"] + note)
    else:
        lines.append("No model opinion: the items have no features and no predictions were imported.")
    skill = params.get("signal_skill") or {}
    if skill:
        lines.append("Measured reliability of the signals (Dawid–Skene expected accuracy): " + ", ".join(
            f"{name.strip('()')} {value:.2f}" for name, value in skill.items()) + ".")
    return lines


def comparison_sentence(comparison: dict, previous_label: str) -> str:
    """How a run's flags differ from an earlier run's, in one sentence."""
    return (f"Against the run of {previous_label}: {comparison['both']:,} items flagged by both, "
            f"{comparison['new']:,} newly flagged, {comparison['gone']:,} no longer flagged.")


def cluster_sentence(row) -> str:
    """One cluster in a sentence: its size, pattern, score, context, people, time and guideline version."""
    parts = [f"{int(row['size']):,} items in pattern {row['pattern']}, "
             f"mean score {float(row['mean_score']):.2f}"]
    if _present(row.get("context")):
        text = f"mostly {row['context']}"
        if _present(row.get("slice_share")):
            text += f" ({float(row['slice_share']):.1%} of that slice)"
        parts.append(text)
    if _present(row.get("top_annotators")):
        parts.append(f"given by {row['top_annotators']}")
    if _present(row.get("first_at")) and _present(row.get("last_at")):
        first, last = pd.Timestamp(row["first_at"]), pd.Timestamp(row["last_at"])
        parts.append(f"labeled {first:%Y-%m-%d} – {last:%Y-%m-%d}")
    if _present(row.get("guideline_versions")):
        parts.append(f"guideline {row['guideline_versions']}")
    if _present(row.get("representative_item")):
        parts.append(f"e.g. item {row['representative_item']}")
    return "; ".join(parts) + "."


def _present(value) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value)) and str(value) != ""
