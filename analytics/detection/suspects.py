"""A detection run over the store, end to end (read, score, cluster, store), and what a stored run says
about the items in view. Used by the CLI's ``score`` command and the Suspects page.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from analytics import consensus, detection
from analytics.core.schema import EventFilter
from analytics.detection import clusters
from analytics.ingest.rules import RuleSet
from analytics.remediation.roles import Actor, Role, recorded_name
from analytics.store import Store, detection_inputs, review_requests
from analytics.store import detection as queries


def run_detection(store: Store, flt: EventFilter | None = None, *, created_by: Actor | str,
                  model_version: str | None = None, rules: RuleSet | None = None, n_splits: int = 5,
                  n_neighbours: int = 10,
                  random_state: int = 0,
                  progress: Callable[[float, str], None] | None = None) -> str:
    """Score every item of the filtered events, cluster the flagged ones, store the run; return its id.

    Parameters
    ----------
    store : Store
        Writable store.
    flt : EventFilter, optional
        The events to read (the dashboard's filter).
    created_by : Actor or str
        Who ran it (kept with the run); an ``Actor`` needs the reviewer role
        (``analytics.remediation.roles.recorded_name``).
    model_version : str, optional
        Use these imported predictions as the model's opinion instead of a cross-validated model.
    rules : analytics.ingest.rules.RuleSet, optional
        Rules whose hits count as a signal.
    n_splits, n_neighbours, random_state
        ``analytics.detection.run.score_items``'s options.
    progress : callable, optional
        ``progress(fraction_done, message)``.

    Raises
    ------
    analytics.remediation.roles.PermissionDenied
        ``created_by`` is an ``Actor`` below the reviewer role; nothing was read or written.
    ValueError
        When no event passes the filter.
    analytics.consensus.limits.TooManyClasses
        When the label set is too large for the models to fit in memory (``consensus.check_model_size``).
    """
    created_by = recorded_name(created_by, Role.REVIEWER, "run detection")

    def step(fraction: float, message: str) -> None:
        if progress is not None:
            progress(fraction, message)

    step(0.0, "reading ratings and features")
    inputs = detection_inputs.detection_inputs(store, flt)
    r = inputs.ratings
    if not len(r):
        raise ValueError("no label events pass the filter: nothing to score")
    # Refused before any model is fitted: the model's, cleanlab's and Dawid–Skene's class probabilities
    # and the annotators' confusion matrices all grow with the label set.
    consensus.check_model_size("Detection", n_items=len(r.items), k=len(r.classes),
                               n_groups=len(r.annotators) + 2)
    pred_probs = None
    if model_version is not None:
        pred_probs = detection_inputs.prediction_matrix(store, model_version, r.items, r.classes)
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
        context = detection_inputs.suspect_context(store, flagged["item_id"].tolist(), flt)
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


# --- what a run says about the items in view --------------------------------------------------------------

#: How the page names each status (``analytics.core.schema.STATUSES``).
STATUS_NAMES = {detection.MISLABELED: "Likely mislabeled", detection.NO_CONSENSUS: "Needs adjudication",
                detection.HOLDS: "Label holds"}

#: The rule behind "no consensus", in the words the page and the reports use.
CONSENSUS_RULE = ("an item has a consensus when one label holds a strict majority (more than half) of its "
                  "annotators' current labels")


@dataclasses.dataclass(frozen=True)
class Proportion:
    """k of n with its Wilson interval (``analytics.core.stats.wilson_interval``); value and bounds are nan
    when n = 0."""

    k: int
    n: int
    value: float
    low: float
    high: float
    confidence: float

    def __str__(self) -> str:
        return (f"{self.k:,} of {self.n:,} ({self.value:.0%}; {self.confidence:.0%} CI "
                f"{self.low:.0%}–{self.high:.0%})")


def send_to_review(store: Store, item_ids: list[str], *, run_id: str | None, cluster_id: str | None,
                   requested_by: str, note: str | None = None) -> int:
    """Ask for a review of ``item_ids`` (a run's, a cluster's or a hand-picked selection) by ``requested_by``.

    One request per item not already requested in this run (``analytics.store.detection.request_review``);
    returns how many were new, so a page can tell a repeated send from a new one.
    """
    return review_requests.request_review(store, item_ids, run_id=run_id, cluster_id=cluster_id,
                                  requested_by=requested_by, note=note)


def proportion(k: int, n: int, *, confidence: float = 0.95) -> Proportion:
    """``k`` of ``n`` as a ``Proportion`` with its Wilson score interval.

    Examples
    --------
    >>> str(proportion(8, 10))
    '8 of 10 (80%; 95% CI 49%–94%)'
    """
    from analytics.core.stats import wilson_interval

    low, high = wilson_interval(k, n, confidence=confidence)
    value = k / n if n else float("nan")
    return Proportion(int(k), int(n), value, float(low), float(high), confidence)


@dataclasses.dataclass(frozen=True)
class RunView:
    """A detection run's items in view (those with a label event passing the global filter), counted.

    Attributes
    ----------
    items : int
        Items of the run in view.
    by_status : dict
        Items in view per status (every status of ``analytics.core.schema.STATUSES``, zeros included).
    score_range : dict
        Status → ``(lowest, highest)`` score in view (absent for a status without items).
    clusters : DataFrame
        ``cluster_id, items, mean_score`` of the likely mislabeled items in view, largest first.
    precision : Proportion
        Of the likely mislabeled items with a gold label, those whose given label the gold rejects.
    recall : Proportion
        Of the items with a consensus and a gold label that rejects their given label, those flagged.
    adjudication : Proportion
        Of the items without consensus with a gold label, those whose suggestion the gold accepts.
    """

    items: int
    by_status: dict
    score_range: dict
    clusters: pd.DataFrame
    precision: Proportion
    recall: Proportion
    adjudication: Proportion

    def count(self, status: str | None, cluster_id: str | None = None) -> int:
        """Items in view of ``status`` (None: any) in ``cluster_id`` (None: any cluster)."""
        if cluster_id is None:
            return self.items if status is None else self.by_status.get(status, 0)
        if status not in (None, detection.MISLABELED):  # clusters group likely mislabeled items only
            return 0
        return int(self.clusters.loc[self.clusters["cluster_id"] == cluster_id, "items"].sum())


def run_view(counts: pd.DataFrame, *, confidence: float = 0.95) -> RunView:
    """Sum ``analytics.store.detection.view_counts`` into the page's numbers.

    Parameters
    ----------
    counts : DataFrame
        ``status, cluster_id, items, score_sum, score_min, score_max, gold_items, gold_given_wrong,
        gold_suggested_right``, one row per status and cluster.
    confidence : float
        Of the Wilson intervals.

    Returns
    -------
    RunView

    Notes
    -----
    Precision is the share of flagged gold items whose given label is indeed wrong, the detector's
    positive predictive value where the truth is known; recall the share of wrong given labels among gold
    items with a consensus that the run flags. Both assume the gold items are a fair sample of the items
    in view (honeypots mixed in at random are; hand-picked hard cases are not). The Wilson interval
    keeps its coverage for the small counts gold items give.

    Examples
    --------
    >>> counts = pd.DataFrame({"status": ["mislabeled", "ok"], "cluster_id": ["1→7 #1", None],
    ...                        "items": [5, 95], "score_sum": [10.0, -500.0], "score_min": [1.0, -9.0],
    ...                        "score_max": [3.0, 0.5], "gold_items": [4, 20], "gold_given_wrong": [3, 1],
    ...                        "gold_suggested_right": [3, 0]})
    >>> view = run_view(counts)
    >>> view.items, str(view.precision), str(view.recall)
    (100, '3 of 4 (75%; 95% CI 30%–95%)', '3 of 4 (75%; 95% CI 30%–95%)')
    """
    by = counts.groupby("status")
    items = by["items"].sum()
    totals = {status: int(items.get(status, 0)) for status in detection.STATUSES}
    ranges = {status: (float(row["score_min"]), float(row["score_max"]))
              for status, row in by.agg(score_min=("score_min", "min"), score_max=("score_max", "max"))
              .iterrows()}
    flagged = counts[counts["status"] == detection.MISLABELED]
    table = (flagged.groupby("cluster_id", dropna=True)[["items", "score_sum"]].sum().reset_index()
             if len(flagged) else pd.DataFrame({"cluster_id": [], "items": [], "score_sum": []}))
    table = table.assign(mean_score=table["score_sum"] / table["items"]).drop(columns="score_sum")
    table = table.sort_values(["items", "mean_score", "cluster_id"], ascending=[False, False, True],
                              ignore_index=True)
    gold = by[["gold_items", "gold_given_wrong", "gold_suggested_right"]].sum()

    def cell(status: str, column: str) -> int:
        return int(gold.loc[status, column]) if status in gold.index else 0

    wrong_with_consensus = cell(detection.MISLABELED, "gold_given_wrong") + cell(detection.HOLDS,
                                                                                  "gold_given_wrong")
    return RunView(
        items=sum(totals.values()), by_status=totals, score_range=ranges, clusters=table,
        precision=proportion(cell(detection.MISLABELED, "gold_given_wrong"),
                             cell(detection.MISLABELED, "gold_items"), confidence=confidence),
        recall=proportion(cell(detection.MISLABELED, "gold_given_wrong"), wrong_with_consensus,
                          confidence=confidence),
        adjudication=proportion(cell(detection.NO_CONSENSUS, "gold_suggested_right"),
                                cell(detection.NO_CONSENSUS, "gold_items"), confidence=confidence),
    )


def table_rows(page: pd.DataFrame, status: str | None) -> pd.DataFrame:
    """A page of ``analytics.store.detection.suspects_page`` as the table shows it: status in words, the
    signals as "2 of 3", and only the columns that say something for ``status`` (None: every status).

    Examples
    --------
    >>> page = pd.DataFrame({"rank": [1], "item_id": ["i1"], "status": ["no_consensus"], "score": [2.5],
    ...                      "given_label": [None], "suggested_label": ["7"], "agreeing": [2],
    ...                      "available": [3], "cluster_id": [None], "explanation": ["…"]})
    >>> table_rows(page, "no_consensus").columns.tolist()
    ['rank', 'item_id', 'score', 'suggested_label', 'signals', 'explanation']
    """
    signals = [f"{a} of {b}" if pd.notna(b) and b else "–"
               for a, b in zip(page["agreeing"], page["available"], strict=True)]
    frame = page.assign(status=page["status"].map(STATUS_NAMES).fillna(page["status"]), signals=signals)
    columns = ["status", "rank", "item_id", "score", "given_label", "suggested_label", "signals",
               "cluster_id", "explanation"]
    if status is not None:
        columns.remove("status")
    if status == detection.NO_CONSENSUS:
        columns = [c for c in columns if c not in ("given_label", "cluster_id")]
    return frame[columns]


def selection_words(status: str | None, cluster_id: str | None, scope: str) -> str:
    """The items a page selection matches, in words, e.g. "likely mislabeled items in cluster 7→1 #1
    (source = fax)".

    Examples
    --------
    >>> selection_words("no_consensus", None, "")
    'items without consensus'
    """
    noun = {detection.MISLABELED: "likely mislabeled items",
            detection.NO_CONSENSUS: "items without consensus",
            detection.HOLDS: "items whose label holds"}.get(status, "scored items")
    return noun + (f" in cluster {cluster_id}" if cluster_id else "") + (f" ({scope})" if scope else "")


def filter_words(fields: EventFilter | Mapping) -> str:
    """A filter in a few words, e.g. "source = fax; cohorts: expert; 2026-03-01 to 2026-05-31"; "" when
    empty.

    Parameters
    ----------
    fields : EventFilter or dict
        A filter, or the dict of its non-empty fields that a run stores (dates as ISO strings).

    Examples
    --------
    >>> filter_words({"attribute": "source", "attribute_value": "fax", "cohorts": ["crowd", "expert"]})
    'source = fax; cohorts: crowd, expert'
    """
    if isinstance(fields, EventFilter):
        fields = dataclasses.asdict(fields)
    parts = []
    if fields.get("dataset"):
        parts.append(f"dataset {fields['dataset']}")
    if fields.get("attribute") and fields.get("attribute_value") is not None:
        parts.append(f"{fields['attribute']} = {fields['attribute_value']}")
    if fields.get("cohorts"):
        parts.append("cohorts: " + ", ".join(str(c) for c in fields["cohorts"]))
    start, end = fields.get("start"), fields.get("end")
    if start and end:
        parts.append(f"labeled {start} to {end}")
    elif start:
        parts.append(f"labeled from {start}")
    elif end:
        parts.append(f"labeled until {end}")
    return "; ".join(parts)


def run_label(run: Mapping) -> str:
    """A run in the run picker: when, on what, how many items it scored and who ran it, e.g.
    "2026-11-28 00:40 · all events · 1,797 items scored · by me". Its findings are left to the page, which
    counts them under the filters."""
    scope = filter_words(run.get("filter") or {}) or "all events"
    return (f"{pd.Timestamp(run['created_at']):%Y-%m-%d %H:%M} · {scope} · {int(run['items']):,} items "
            f"scored · by {run['created_by']}")


def verdict(view: RunView, params: dict, cluster_table: pd.DataFrame, *, run_items: int,
            scope: str = "") -> list[str]:
    """The run's findings about the items in view, in plain sentences, most important first.

    Parameters
    ----------
    view : RunView
        The counts under the global filter.
    params : dict
        The run's stored parameters.
    cluster_table : DataFrame
        The run's cluster summaries (may be empty).
    run_items : int
        Items the whole run scored.
    scope : str
        ``filter_words`` of the global filter ("" without one).
    """
    items = view.items
    lines = []
    if scope:
        lines.append(f"{items:,} of the run's {run_items:,} items are in view ({scope}): those with at least "
                     "one label event that passes the filters. Every number on this page counts them.")
    if params.get("score") != "log10 odds":
        lines.append("This run was stored by an earlier version, whose score was a probability that ties "
                     "at the top: run detection again to rank by the strength of the evidence.")
    flagged, split = view.by_status[detection.MISLABELED], view.by_status[detection.NO_CONSENSUS]
    lines.append(f"{flagged:,} of {items:,} items ({_share(flagged, items)}) look mislabeled: their "
                 "annotators agree on a label and the combined evidence favours another.")
    lines.append(f"{split:,} items ({_share(split, items)}) have no consensus and need adjudication: "
                 f"{CONSENSUS_RULE}, and for these none does.")
    lines.extend(_gold_lines(view))
    pattern = _largest_pattern(view, cluster_table)
    if pattern:
        lines.append(pattern)
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


def _largest_pattern(view: RunView, cluster_table: pd.DataFrame) -> str:
    """The pattern with most flagged items in view, and the context of its largest cluster ("" if none)."""
    if not len(cluster_table) or not len(view.clusters):
        return ""
    named = cluster_table.loc[cluster_table["pattern"] != clusters.OTHER, ["cluster_id", "pattern"]]
    sizes = view.clusters.merge(named, on="cluster_id")
    if not len(sizes):
        return ""
    patterns = sizes.groupby("pattern")["items"].sum().sort_values(ascending=False, kind="stable")
    pattern, size = patterns.index[0], int(patterns.iloc[0])
    members = sizes[sizes["pattern"] == pattern]
    where = "1 cluster" if len(members) == 1 else f"{len(members)} clusters"
    text = f"The largest pattern is {pattern} (given → suggested): {_items(size)} in {where}"
    top = cluster_table.set_index("cluster_id").loc[members["cluster_id"].iloc[0]]
    context = [str(top[c]) for c in ("context", "dominant_guideline_version") if _present(top.get(c))]
    if context:
        text += "; its largest cluster is mostly " + ", ".join(context)
    return text + "."


def _gold_lines(view: RunView) -> list[str]:
    if not view.precision.n and not view.recall.n and not view.adjudication.n:
        return ["No item in view has a gold label, so how often a flag is right cannot be measured here."]
    lines = []
    if view.precision.n:
        lines.append(f"Precision on gold items: {view.precision} of the flagged items with a gold label are "
                     "indeed mislabeled (Wilson interval).")
    else:
        lines.append("No flagged item in view has a gold label: precision cannot be measured here.")
    if view.recall.n:
        lines.append(f"Recall on gold items: the run flags {view.recall} of the gold items whose given label "
                     "is wrong.")
    if view.adjudication.n:
        lines.append(f"For items without consensus the suggestion matches the gold label on "
                     f"{view.adjudication}.")
    return lines


def _items(n: int) -> str:
    return "1 item" if n == 1 else f"{n:,} items"


def _share(k: int, n: int) -> str:
    return f"{k / n:.1%}" if n else "–"


def comparison_sentence(comparison: dict, previous_label: str) -> str:
    """How a run's flags differ from an earlier run's (on the items in view), in one sentence."""
    return (f"Against the run of {previous_label}: {comparison['both']:,} items flagged by both, "
            f"{comparison['new']:,} newly flagged, {comparison['gone']:,} no longer flagged.")


def cluster_sentence(row: Mapping, *, items: int | None = None) -> str:
    """One cluster in a sentence: its size and mean score (in view, when ``items`` is given and differs from
    its size), then what describes it across the whole run: context, people, time and guideline version."""
    size = int(row["size"])
    filtered = items is not None and items != size
    count = f"{items:,} of its {size:,} items in view" if filtered else _items(size)
    head = f"{count} in pattern {row['pattern']}, mean score {float(row['mean_score']):.1f}"
    parts = []
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
    if not parts:
        return head + "."
    return head + ("; across the whole run: " if filtered else "; ") + "; ".join(parts) + "."


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and np.isnan(value)) and str(value) != ""
