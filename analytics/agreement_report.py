"""The Agreement page's findings: headline coefficients with intervals and their trend, coefficients per
period / cohort / guideline version, annotator reliability, and the verdict in words.

Everything is computed from label-count tables aggregated in DuckDB (``analytics.store.agreement``) and
from the per-annotator sums of the same module; only Dawid–Skene (``analytics.consensus``) reads ratings.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import pandas as pd

from analytics import agreement, annotators, overview
from analytics.schema import EventFilter
from analytics.store import Store
from analytics.store import agreement as queries
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
#: (flag, words for one annotator, words for several) of the verdict, most serious first.
_FLAG_WORDS = (
    ("near chance", "annotator labels near chance", "annotators label near chance"),
    ("declining", "annotator is declining", "annotators are declining"),
    ("below peers", "annotator agrees less than their peers", "annotators agree less than their peers"),
)
#: Bootstrap replicates behind the dashboard's intervals (enough for a chart; reports may use 1000).
N_BOOT = 200
#: Above ``EXACT_EVENT_LIMIT`` filtered events the page reads a sample of items holding about
#: ``SAMPLE_EVENTS`` events: coefficients and rates stay unbiased (items are the sampling unit of every
#: interval here), their intervals widen. The page's first render stays within a few seconds at 1e7 events.
EXACT_EVENT_LIMIT = 500_000
SAMPLE_EVENTS = 250_000


def sample_modulus(events: int) -> int:
    """The m of the 1-in-m item sample the Agreement page reads for ``events`` filtered events."""
    return overview.sample_modulus(events, limit=EXACT_EVENT_LIMIT, sample=SAMPLE_EVENTS)


@dataclass(frozen=True)
class Headline:
    """The headline coefficients of a filter, and of its last ``days`` days against the ``days`` before."""

    overall: dict[str, agreement.AgreementEstimate]
    current: dict[str, agreement.AgreementEstimate]
    previous: dict[str, agreement.AgreementEstimate]
    days: int
    level: str

    def change(self, metric: str) -> float | None:
        now, before = self.current.get(metric), self.previous.get(metric)
        if now is None or before is None or math.isnan(now.value) or math.isnan(before.value):
            return None
        return now.value - before.value


def estimates_frame(
    counts: pd.DataFrame,
    *,
    metrics=HEADLINE_METRICS,
    level: str = "nominal",
    order=None,
    n_boot: int = N_BOOT,
    random_state: int = 0,
) -> pd.DataFrame:
    """Coefficients with intervals, long: ``[grp,] metric, value, ci_low, ci_high, n_items, n_ratings``.

    ``counts`` is a label-count table, optionally with a ``grp`` column (``label_counts(by=...)``): then
    one set of estimates per group, each bootstrapped with the same seed.
    """
    columns = ["metric", "value", "ci_low", "ci_high", "n_items", "n_ratings"]
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
    order=None,
    days: int = 30,
    n_boot: int = N_BOOT,
    sample_modulus: int = 1,
) -> Headline:
    """Alpha, Fleiss' kappa and AC1 with bootstrap CIs: over ``flt``, and its last two ``days`` windows.

    ``sample_modulus`` m > 1 reads a 1-in-m sample of items (``analytics.store.agreement``).
    """
    flt = flt or EventFilter()

    def estimates(window: EventFilter) -> dict[str, agreement.AgreementEstimate]:
        counts = queries.label_counts(store, window, sample_modulus=sample_modulus)
        if counts.empty:
            return {}
        return agreement.agreement_estimates(
            counts, metrics=HEADLINE_METRICS, level=level, order=order, n_boot=n_boot, random_state=0
        )

    overall = estimates(flt)
    last = overview_queries.totals(store, flt, approx_items=True)["last_at"]
    current = previous = {}
    if last is not None:
        end = last.date()
        start = end - dt.timedelta(days=days - 1)
        current = estimates(overview.window_filter(flt, start, end))
        before_end = start - dt.timedelta(days=1)
        before_start = before_end - dt.timedelta(days=days - 1)
        previous = estimates(overview.window_filter(flt, before_start, before_end))
    return Headline(overall=overall, current=current, previous=previous, days=days, level=level)


def reliability(
    store: Store,
    flt: EventFilter | None = None,
    *,
    skills: pd.Series | None = None,
    sample_modulus: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(annotator reliability table, cohort table)`` of the filtered events (``analytics.annotators``)."""
    stats = queries.annotator_stats(store, flt, sample_modulus=sample_modulus)
    halves = queries.annotator_stats(store, flt, by="half", sample_modulus=sample_modulus)
    shares = overview_queries.label_distribution(store, flt).set_index("label")["share"]
    table = annotators.reliability_table(stats, halves=halves, label_shares=shares, skills=skills)
    return table, annotators.cohort_table(stats)


def verdict(head: Headline, table: pd.DataFrame, cohorts: pd.DataFrame) -> list[str]:
    """The page's findings in words, most important first."""
    alpha = head.overall.get("krippendorff_alpha")
    if alpha is None or math.isnan(alpha.value):
        return ["Not enough items rated by two or more annotators to measure agreement."]
    reading = (
        "reliable (≥ 0.8)" if alpha.ci_low >= 0.8 else
        "tentative at best (below 0.8)" if alpha.ci_low >= 0.667 else
        "not reliable enough for conclusions (below 0.667)" if alpha.ci_high < 0.667 else
        "around the 0.667 threshold for tentative conclusions"
    )
    lines = [
        f"Krippendorff's alpha ({head.level}) is {alpha.value:.3f} "
        f"(95% CI {alpha.ci_low:.3f}–{alpha.ci_high:.3f}, {alpha.n_items:,} items): {reading}."
    ]
    change = head.change("krippendorff_alpha")
    if change is not None:
        now, before = head.current["krippendorff_alpha"], head.previous["krippendorff_alpha"]
        separated = now.ci_low > before.ci_high or now.ci_high < before.ci_low
        direction = "up" if change > 0 else "down"
        lines.append(
            f"Over the last {head.days} days it is {direction} {abs(change):.3f} against the {head.days} "
            "days before"
            + (" (intervals do not overlap)." if separated else ", within noise (intervals overlap).")
        )
    for flag, one, many in _FLAG_WORDS:
        names = [row.annotator_id for row in table.itertuples() if flag in row.flags]
        if names:
            shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
            lines.append(f"{len(names)} " + (one if len(names) == 1 else many) + f": {shown}.")
    rated = cohorts[cohorts["loo_agreement"].notna()]  # a cohort with no comparable item has no rate
    if len(rated) > 1:
        worst, best = rated.iloc[0], rated.iloc[-1]
        lines.append(
            f"Least reliable cohort: {worst.cohort} ({worst.loo_agreement:.0%} agreement with the majority, "
            f"against {best.loo_agreement:.0%} for {best.cohort})."
        )
    return lines
