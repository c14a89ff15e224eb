"""The Agreement page's findings: headline coefficients with intervals and their trend, coefficients per
period / cohort / guideline version (and per cohort over time), the label confusion, annotator reliability,
the Dawid–Skene consensus behind its skills (``consensus_model``). The verdict in words is
``analytics.narrative.agreement``.

Everything is computed from label-count tables aggregated in DuckDB (``analytics.store.agreement``) and
from the per-annotator sums of the same module; only Dawid–Skene (``analytics.consensus.dawid_skene``) reads
ratings.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import pandas as pd

from analytics.agreement import coefficients as agreement
from analytics.agreement import two_way
from analytics.consensus import DawidSkene, TooManyClasses
from analytics.core.schema import EventFilter
from analytics.monitoring import annotators, periods
from analytics.store import Store
from analytics.store import agreement as queries
from analytics.store import consensus as consensus_queries
from analytics.store import overview as overview_queries

#: The chance-corrected coefficients the page leads with, in display order.
HEADLINE_METRICS = ("krippendorff_alpha", "fleiss_kappa", "gwet_ac1")
#: Display names.
METRIC_NAMES = {
    "krippendorff_alpha": "Krippendorff's alpha",
    "fleiss_kappa": "Fleiss' kappa",
    "gwet_ac1": "Gwet's AC1",
    "percent_agreement": "Raw agreement",
}
#: Bootstrap replicates behind the dashboard's intervals (enough for a chart; reports may use 1000).
N_BOOT = 200
#: What the headline intervals can treat as drawn at random (``headline(resample=...)``).
RESAMPLING = ("items", "items and annotators")
#: Below this many annotators an interval over annotators falls well short of its level: in simulation a
#: panel of 3 drawn from a population covered the population's alpha 70–90% of the time, a panel of 10
#: about 95% (``bench/agreement_coverage.py``).
FEW_ANNOTATORS = 10
@dataclass(frozen=True)
class Headline:
    """The headline coefficients of a filter, and of its last ``days`` days against the ``days`` before.

    ``overall`` carries the interval asked for (``resample``: over items, or over items and annotators,
    with the number of annotators in ``annotators``); ``current`` and ``previous`` always resample items,
    as they compare the same annotators' work in two windows.
    """

    overall: dict[str, agreement.AgreementEstimate]
    current: dict[str, agreement.AgreementEstimate]
    previous: dict[str, agreement.AgreementEstimate]
    days: int
    level: str
    resample: str = "items"
    annotators: int = 0

    def change(self, metric: str) -> float | None:
        now, before = self.current.get(metric), self.previous.get(metric)
        if now is None or before is None or math.isnan(now.value) or math.isnan(before.value):
            return None
        return now.value - before.value

    def separated(self, metric: str) -> bool:
        """Whether the 95% intervals of the last ``days`` days and of the days before do not overlap (the
        change is read as more than noise only then)."""
        if self.change(metric) is None:
            return False
        now, before = self.current[metric], self.previous[metric]
        return bool(now.ci_low > before.ci_high or now.ci_high < before.ci_low)


def estimates_frame(
    counts: pd.DataFrame,
    *,
    metrics: Sequence[str] = HEADLINE_METRICS,
    level: str = "nominal",
    order: Sequence | None = None,
    n_boot: int = N_BOOT,
    random_state: int = 0,
) -> pd.DataFrame:
    """Coefficients with intervals, long: ``[grp,] metric, value, ci_low, ci_high, n_items, n_ratings,
    n_pairable, note`` (``AgreementEstimate``'s fields: items rated 2+ times, why a value or interval is
    missing).

    ``counts`` is a label-count table, optionally with a ``grp`` column (``label_counts(by=...)``): then
    one set of estimates per group, each bootstrapped with the same seed.
    """
    columns = ["metric", "value", "ci_low", "ci_high", "n_items", "n_ratings", "n_pairable", "note"]
    if counts.empty:
        return pd.DataFrame({c: [] for c in (["grp", *columns] if "grp" in counts else columns)})
    groups = counts.groupby("grp", sort=True) if "grp" in counts else [(None, counts)]
    rows = []
    for group, part in groups:
        found = agreement.agreement_estimates(
            part.drop(columns="grp", errors="ignore"), metrics=metrics, level=level, order=order,
            n_boot=n_boot, random_state=random_state,
        )
        for estimate in found.values():
            row = {c: getattr(estimate, c) for c in columns}
            rows.append(row if group is None else {"grp": group, **row})
    return pd.DataFrame(rows)


def headline(
    store: Store,
    flt: EventFilter | None = None,
    *,
    level: str = "nominal",
    order: Sequence | None = None,
    days: int = 30,
    n_boot: int = N_BOOT,
    sample_modulus: int = 1,
    resample: str = "items",
) -> Headline:
    """Alpha, Fleiss' kappa and AC1 with bootstrap CIs: over ``flt``, and its last two ``days`` windows.

    ``resample="items"`` gives BCa intervals over items (these annotators); ``"items and annotators"`` gives
    the overall coefficients the crossed bootstrap of ``analytics.agreement.two_way`` (annotators drawn from a
    population), which reads every rating of the filter once more. ``sample_modulus`` m > 1 reads a
    1-in-m sample of items (``analytics.store.agreement``).
    """
    if resample not in RESAMPLING:
        raise ValueError(f"unknown resample {resample!r}; use one of {', '.join(RESAMPLING)}")
    flt = flt or EventFilter()

    def estimates(window: EventFilter) -> dict[str, agreement.AgreementEstimate]:
        counts = queries.label_counts(store, window, sample_modulus=sample_modulus)
        if counts.empty:
            return {}
        return agreement.agreement_estimates(
            counts, metrics=HEADLINE_METRICS, level=level, order=order, n_boot=n_boot, random_state=0
        )

    overall = estimates(flt)
    n_annotators = 0
    if overall and resample == "items and annotators":
        coded = consensus_queries.coded_ratings(store, flt, sample_modulus=sample_modulus)
        n_annotators = len(coded.annotators)
        ratings = pd.DataFrame({
            "item_id": coded.item_codes, "annotator_id": coded.annotator_codes,
            "label": pd.Categorical.from_codes(coded.label_codes, categories=coded.classes),
        })
        overall = two_way.agreement_estimates_two_way(
            ratings, metrics=HEADLINE_METRICS, level=level, order=order, n_boot=n_boot, random_state=0
        )
        if n_annotators < FEW_ANNOTATORS:
            overall = {metric: _few_annotators(found, n_annotators) for metric, found in overall.items()}
    last = overview_queries.event_totals(store, flt)["last_at"]
    current = previous = {}
    if last is not None:
        end = last.date()
        start = end - dt.timedelta(days=days - 1)
        current = estimates(periods.window_filter(flt, start, end))
        before_end = start - dt.timedelta(days=1)
        before_start = before_end - dt.timedelta(days=days - 1)
        previous = estimates(periods.window_filter(flt, before_start, before_end))
    return Headline(overall=overall, current=current, previous=previous, days=days, level=level,
                    resample=resample, annotators=n_annotators)


def _few_annotators(estimate: agreement.AgreementEstimate, n: int) -> agreement.AgreementEstimate:
    words = (f"Only {n} annotator{'s' if n != 1 else ''}: an interval over annotators cannot show how much "
             "another panel would differ (in simulation, 3 annotators gave 70–90% coverage where 95% was "
             "asked). Read it as the least uncertainty there is.")
    return replace(estimate, note=" ".join(part for part in (estimate.note, words) if part))


def cohort_estimates_over_time(
    store: Store,
    flt: EventFilter,
    *,
    cohorts: Sequence[str],
    grain: str,
    level: str = "nominal",
    order: Sequence | None = None,
    sample_modulus: int = 1,
) -> pd.DataFrame:
    """Krippendorff's alpha per period within each cohort (only the cohort's own ratings of an item count).

    Parameters
    ----------
    store : Store
    flt : EventFilter
        The filter; each cohort of ``cohorts`` replaces its cohorts in turn.
    cohorts : sequence of str
        The cohorts, in the order their rows come.
    grain : {"day", "week", "month"}
    level, order
        As ``estimates_frame``.
    sample_modulus : int
        m > 1 reads a 1-in-m sample of items.

    Returns
    -------
    DataFrame
        ``period, cohort, metric, value, ci_low, ci_high, n_items, n_ratings, n_pairable, note`` (empty
        without cohorts).
    """
    frames = []
    for cohort in cohorts:
        counts = queries.label_counts(store, replace(flt, cohorts=(cohort,)), by=grain,
                                      sample_modulus=sample_modulus)
        frame = estimates_frame(counts, metrics=("krippendorff_alpha",), level=level, order=order)
        frames.append(frame.rename(columns={"grp": "period"}).assign(cohort=cohort))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def consensus_model(
    store: Store, flt: EventFilter | None = None, *, sample_modulus: int = 1
) -> tuple[DawidSkene | None, str | None]:
    """Dawid–Skene fitted on the filtered ratings, or why not.

    Ratings come from DuckDB as integer codes (``analytics.store.consensus.coded_ratings``), so no string
    column of millions of rows is ever built in pandas.

    Returns
    -------
    (DawidSkene or None, str or None)
        ``(model, None)``; ``(None, None)`` without ratings; ``(None, reason)`` for a label set too large
        for the model (``analytics.consensus.limits.check_model_size``).
    """
    ratings = consensus_queries.coded_ratings(store, flt, sample_modulus=sample_modulus)
    if len(ratings.item_codes) == 0:
        return None, None
    try:
        return DawidSkene().fit_codes(
            ratings.item_codes, ratings.annotator_codes, ratings.label_codes,
            items=ratings.items, annotators=ratings.annotators, classes=ratings.classes,
        ), None
    except TooManyClasses as exc:
        return None, str(exc)


def label_confusion(store: Store, flt: EventFilter | None = None, *, sample_modulus: int = 1) -> pd.DataFrame:
    """``label_a, label_b, pairs, expected, lift, items`` of the filtered ratings
    (``analytics.agreement.coefficients.label_confusion_from_counts``; no rows without ratings)."""
    counts = queries.label_counts(store, flt, sample_modulus=sample_modulus)
    if counts.empty:
        return pd.DataFrame({c: [] for c in ("label_a", "label_b", "pairs", "expected", "lift", "items")})
    return agreement.label_confusion_from_counts(counts)


def annotator_tables(
    store: Store,
    flt: EventFilter | None = None,
    *,
    skills: pd.Series | None = None,
    sample_modulus: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(annotator reliability table, cohort table)`` of the filtered events
    (``analytics.monitoring.annotators``)."""
    stats = queries.annotator_stats(store, flt, sample_modulus=sample_modulus)
    halves = queries.annotator_stats(store, flt, by="half", sample_modulus=sample_modulus)
    shares = overview_queries.label_distribution(store, flt).set_index("label")["share"]
    table = annotators.annotator_table(stats, halves=halves, label_shares=shares, skills=skills)
    return table, annotators.cohort_table(stats)


def heatmap_annotators(table: pd.DataFrame, top: int) -> list:
    """The annotators the pairs heatmap shows: every flagged one first (least reliable first), then the
    busiest of the others, ``top`` in all (more when more than ``top`` are flagged).

    The flagged annotators are the ones a lead needs to see against the others, and they are rarely the
    busiest: a spammer's few dozen items would not make a top-30 by volume.
    """
    if table.empty:
        return []
    flagged = table[table["flags"].str.len() > 0]["annotator_id"].tolist()
    others = table[table["flags"].str.len() == 0].sort_values(["items", "annotator_id"],
                                                               ascending=[False, True])
    return flagged + others["annotator_id"].head(max(0, top - len(flagged))).tolist()


def disagreements(rows: pd.DataFrame, model: DawidSkene | None) -> pd.DataFrame:
    """One annotator's ratings where they differ from the Dawid–Skene consensus, most confident first.

    Parameters
    ----------
    rows : DataFrame
        The annotator's ratings (``analytics.store.agreement.annotator_ratings``): ``item_id, label, raters,
        agreeing, labeled_at``.
    model : DawidSkene or None
        The fitted consensus; None (no fit) leaves the consensus columns empty.

    Returns
    -------
    DataFrame
        ``item_id, label, consensus, consensus_prob, raters, agreeing, labeled_at``; items the model did
        not see are left out.
    """
    if model is None or rows.empty:
        return rows.assign(consensus=pd.Series(dtype=object), consensus_prob=pd.Series(dtype=float))
    labels = model.labels_.astype(str)
    prob = model.probas_.max(axis=1)
    rows = rows.assign(consensus=rows["item_id"].map(labels), consensus_prob=rows["item_id"].map(prob))
    differing = rows[rows["consensus"].notna() & (rows["label"] != rows["consensus"])]
    columns = ["item_id", "label", "consensus", "consensus_prob", "raters", "agreeing", "labeled_at"]
    return differing.sort_values("consensus_prob", ascending=False)[columns].reset_index(drop=True)
